"""The Makefile: only notebook targets record the profile; a notebook's outputs are replaced as a unit; a failed
execution keeps the previous outputs marked stale and the report shows it as failed; `make lab` works as root.

Each test runs `make` in a small copy of the repository (the Makefile and study/, two tiny notebooks) with a fake
papermill (`PAPERMILL=...`) that writes a headline or fails, so no kernel starts; the environment and data stamps are
up to date."""
import json
import os
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from study import report

ROOT = Path(__file__).resolve().parent.parent
NAMES = ("00_alpha", "01_beta")

# Arguments as the Makefile passes them: ... IN.ipynb OUT.ipynb -f params.yaml -p profile P -p out_dir DIR
FAKE_PAPERMILL = textwrap.dedent("""\
    #!{python}
    import json, os, sys
    from pathlib import Path
    args = sys.argv[1:]
    src, out = [a for a in args if a.endswith(".ipynb")]
    out_dir = Path(args[args.index("out_dir") + 1])
    name = Path(src).stem
    with open(os.environ["FAKE_CALLS"], "a") as f:
        f.write(name + "\\n")
    print("Executing notebook", name)
    Path(out).write_text(Path(src).read_text())
    if name in os.environ.get("FAKE_FAIL", "").split(","):
        print("RuntimeError: boom in", name)
        sys.exit(1)
    if name in os.environ.get("FAKE_NO_HEADLINE", "").split(","):
        sys.exit(0)
    run = os.environ.get("FAKE_RUN", "1")
    (out_dir / "results.csv").write_text("study,metric,value\\n" + name + ",accuracy," + run + "\\n")
    (out_dir / ("figure_" + run + ".png")).write_bytes(b"png")
    claim = dict(paper="P", claim="claim of " + name + " run " + run, paper_value=1.0, ours=1.0,
                 verdict="reproduced", unit="", note="")
    head = dict(notebook=name, profile=args[args.index("profile") + 1], wall_s=1.0, env=dict(git="fake"),
                runs=dict(total=1, cached=0, ran=1, failed=0, executor="serial"), params=dict(run=run),
                metrics={{}}, claims=[claim], deviations=[])
    (out_dir / "headline.json").write_text(json.dumps(head))
""")


def _notebook(name: str) -> str:
    cells = [{"cell_type": "markdown", "metadata": {}, "source": [f"# Notebook {name}"]},
             {"cell_type": "code", "metadata": {"tags": ["parameters"]}, "execution_count": None, "outputs": [],
              "source": ["profile = 'smoke'\n", "out_dir = None\n"]}]
    return json.dumps({"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5})


@pytest.fixture
def repo(tmp_path):
    """A copy of the repository's Makefile, study/ and package files with two tiny notebooks, a `.venv` whose python
    runs this one, and up-to-date environment and data stamps (so make never installs or downloads anything).
    study/ is copied so that edits made to the real one while the test runs do not make notebooks out of date."""
    r = tmp_path / "repo"
    (r / "notebooks").mkdir(parents=True)
    for f in ("Makefile", "requirements.txt", "pyproject.toml"):
        shutil.copy(ROOT / f, r / f)
    shutil.copytree(ROOT / "study", r / "study", ignore=shutil.ignore_patterns("__pycache__"))
    (r / ".venv" / "bin").mkdir(parents=True)
    (r / ".venv" / "bin" / "python").write_text(  # never let a test install into, or fetch data with, the real venv
        f'#!/bin/sh\ncase "$1 $2" in "-m pip"|"-m ipykernel") echo "refused: $*" >&2; exit 97;;\n'
        f'  "-m study.data") echo "data check skipped in this test"; exit 0;; esac\n'
        f'exec "{sys.executable}" "$@"\n')
    (r / ".venv" / "bin" / "python").chmod(0o755)
    (r / "data").mkdir()
    for n in NAMES:
        (r / "notebooks" / f"{n}.ipynb").write_text(_notebook(n))
        for profile in ("smoke", "default"):
            p = r / "notebooks" / "params" / profile / f"{n}.yaml"
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_text(f"epochs: {1 if profile == 'smoke' else 5}\n")
    fake = tmp_path / "papermill"
    fake.write_text(FAKE_PAPERMILL.format(python=sys.executable))
    fake.chmod(0o755)
    (r / ".venv" / ".installed").touch()
    (r / "data" / ".verified").touch()
    return r


def make(repo, *args, ok=True, fake=True, **env):
    """`make ARGS` in `repo` with the fake papermill (unless not `fake`); returns the completed process."""
    calls = repo.parent / "calls.txt"
    full_env = {**os.environ, "FAKE_CALLS": str(calls), **env}
    for var in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "PROFILE", "VENV", "PY", "PAPERMILL", "LAB_ARGS"):
        full_env.pop(var, None)  # e.g. `make test PROFILE=paper` passes these down to the tests
    cmd = ["make", "--no-print-directory", *([f"PAPERMILL={repo.parent / 'papermill'}"] if fake else []), *args]
    p = subprocess.run(cmd, cwd=repo, env=full_env, capture_output=True, text=True, timeout=120)
    if ok:
        assert p.returncode == 0, f"{' '.join(args)} failed:\n{p.stdout}\n{p.stderr}"
    return p


def calls(repo) -> list[str]:
    f = repo.parent / "calls.txt"
    return f.read_text().split() if f.exists() else []


def touch(path: Path):
    """Make `path` newer than anything make wrote so far."""
    os.utime(path)


def test_help_report_data_lab_leave_the_profile_stamp_alone(repo):
    stamp = repo / "build" / "profile"
    stamp.parent.mkdir()
    stamp.write_text("paper\n")
    before = stamp.stat().st_mtime_ns
    out = make(repo, "help").stdout
    assert "LAB_ARGS" in out
    make(repo, "help", "PROFILE=smoke")
    make(repo, "-n", "report", "PROFILE=smoke")
    make(repo, "-n", "data", "PROFILE=default")
    make(repo, "-n", "lab")
    make(repo, "-n", "reproduce", "PROFILE=smoke")  # -n: shows what it would do, changes nothing
    make(repo, "report", "PROFILE=smoke")            # really runs: reads build/profile, writes reports/index.html
    assert stamp.read_text() == "paper\n" and stamp.stat().st_mtime_ns == before
    assert "current profile: paper" in (repo / "reports" / "index.html").read_text()


def test_lab_gets_allow_root_as_root_and_takes_lab_args(repo):
    line = make(repo, "-n", "lab").stdout
    assert ("--allow-root" in line) == (os.geteuid() == 0), line
    line = make(repo, "-n", "lab", "LAB_ARGS=--port=9999 --no-browser").stdout
    assert "--port=9999 --no-browser notebooks" in line and ("--allow-root" in line) == (os.geteuid() == 0), line
    assert "--port=9999" in make(repo, "help", "LAB_ARGS=--port=9999").stdout


def test_papermill_and_jupyter_path_are_found_from_notebooks_for_relative_and_absolute_venvs(repo, tmp_path):
    # the recipe runs papermill from notebooks/; VENV may be relative (.venv) or absolute (VENV=$CONDA_PREFIX)
    out = make(repo, "-n", "reports/00_alpha/headline.json", "PROFILE=smoke", fake=False).stdout
    assert f"{repo}/.venv/bin/papermill " in out
    conda = tmp_path / "conda"
    out = make(repo, "-n", "reports/00_alpha/headline.json", "PROFILE=smoke", f"VENV={conda}", fake=False).stdout
    assert f" {conda}/bin/papermill " in out and f"{repo}/{conda}" not in out
    show = "show-jupyter-path: ; @echo $(JUPYTER_PATH)"
    assert make(repo, "--eval", show, "show-jupyter-path").stdout.strip() == f"{repo}/.venv/share/jupyter"
    assert make(repo, "--eval", show, "show-jupyter-path", f"VENV={conda}").stdout.strip() == f"{conda}/share/jupyter"


def test_notebooks_rerun_only_when_their_inputs_or_the_profile_change(repo):
    make(repo, "notebooks", "PROFILE=smoke")
    assert sorted(calls(repo)) == list(NAMES)
    for n in NAMES:
        inputs = json.loads((repo / "reports" / n / "inputs.json").read_text())
        assert inputs["profile"] == "smoke" and inputs["notebook_file"] == f"notebooks/{n}.ipynb"
        assert len(inputs["params_sha256"]) == 64 and (repo / "reports" / n / "papermill.log").exists()
    assert not list((repo / "reports").glob(".*"))          # no temporary folder left
    make(repo, "help")                                      # default PROFILE: must not invalidate anything
    make(repo, "data")                                      # (make report: see the test above)
    make(repo, "notebooks", "PROFILE=smoke")
    assert len(calls(repo)) == 2, "up-to-date notebooks were re-executed after make help / make data"
    touch(repo / "notebooks" / "params" / "smoke" / "01_beta.yaml")
    make(repo, "notebooks", "PROFILE=smoke")
    assert calls(repo)[2:] == ["01_beta"]
    make(repo, "notebooks", "PROFILE=default")
    assert sorted(calls(repo)[3:]) == list(NAMES)
    assert json.loads((repo / "reports" / "00_alpha" / "headline.json").read_text())["profile"] == "default"


def test_an_edit_inside_a_paper_package_reruns_every_notebook_and_marks_the_report(repo):
    """study/experiments/<paper>/*.py is in the notebooks' inputs (Makefile STUDY_SRC, `report.study_sha256`)."""
    make(repo, "notebooks", "PROFILE=smoke")
    n = len(calls(repo))
    plan = repo / "study" / "experiments" / "sl1" / "plan.py"
    with open(plan, "a") as f:
        f.write("\n")
    assert index(repo, "smoke").count("the study/ package changed since") == 2
    make(repo, "notebooks", "PROFILE=smoke")
    assert sorted(calls(repo)[n:]) == list(NAMES)
    assert "Outdated" not in index(repo, "smoke")


def test_a_failed_execution_keeps_the_previous_outputs_marked_failed_and_the_report_says_so(repo):
    make(repo, "notebooks", "PROFILE=smoke", FAKE_RUN="1")
    out = repo / "reports" / "00_alpha"
    touch(repo / "notebooks" / "00_alpha.ipynb")
    p = make(repo, "notebooks", "PROFILE=smoke", ok=False, FAKE_RUN="2", FAKE_FAIL="00_alpha")
    assert p.returncode != 0 and "boom in 00_alpha" in p.stdout + p.stderr
    # the previous outputs are all still there, untouched ...
    head = json.loads((out / "headline.json").read_text())
    assert head["params"]["run"] == "1" and (out / "figure_1.png").exists() and "00_alpha,accuracy,1" in (
        out / "results.csv").read_text()
    # ... marked stale, with the failed execution and its log beside them
    failed = json.loads((out / report.FAILED).read_text())
    assert failed["exit_code"] == 1 and any("boom in 00_alpha" in line for line in failed["log_tail"])
    assert failed["previous"]["headline"] and failed["inputs"]["profile"] == "smoke"
    assert "boom" in (out / "failed" / "papermill.log").read_text() and (out / "failed" / "00_alpha.ipynb").exists()
    assert not (repo / "reports" / ".00_alpha.tmp").exists()
    # the report shows the notebook as failed with its log, never its previous verdicts
    page = index(repo)
    assert "claim of 00_alpha" not in page and "claim of 01_beta run 1" in page
    assert "Failed" in page and "00_alpha/failed/papermill.log" in page and "boom in 00_alpha" in page
    # a notebook that finishes without writing its headline counts as failed too
    touch(repo / "notebooks" / "01_beta.ipynb")
    p = make(repo, "reports/01_beta/headline.json", "PROFILE=smoke", ok=False, FAKE_RUN="2",
             FAKE_NO_HEADLINE="01_beta")
    assert p.returncode != 0 and "headline.json" in p.stderr
    assert (repo / "reports" / "01_beta" / report.FAILED).exists()
    # the next successful execution replaces the whole folder: no stale figure, no failure marker, no leftovers
    make(repo, "notebooks", "PROFILE=smoke", FAKE_RUN="3")
    assert sorted(f.name for f in out.iterdir()) == ["00_alpha.ipynb", "figure_3.png", "headline.json",
                                                     "inputs.json", "papermill.log", "results.csv"]
    assert json.loads((out / "headline.json").read_text())["params"]["run"] == "3"
    assert not list((repo / "reports").glob(".*"))
    page = index(repo)
    assert "claim of 00_alpha run 3" in page and "Failed" not in page and "outdated" not in page


def test_reproduce_runs_every_notebook_and_reports_a_failed_one_as_failed(repo):
    make(repo, "notebooks", "PROFILE=smoke", FAKE_RUN="1")
    touch(repo / "notebooks" / "00_alpha.ipynb")
    touch(repo / "notebooks" / "01_beta.ipynb")
    p = make(repo, "reproduce", "PROFILE=smoke", ok=False, FAKE_RUN="2", FAKE_FAIL="00_alpha")
    assert p.returncode != 0 and "a notebook failed" in p.stdout
    assert calls(repo)[2:] == list(NAMES), "-k: the notebook after the failed one is executed all the same"
    page = (repo / "reports" / "index.html").read_text()  # re-rendered although a notebook failed
    assert "claim of 01_beta run 2" in page and "claim of 00_alpha" not in page
    assert "00_alpha/failed/papermill.log" in page


def test_report_flags_results_of_other_inputs_as_outdated(repo):
    make(repo, "notebooks", "PROFILE=smoke")
    page = index(repo, "smoke")
    assert "Outdated" not in page and page.count("<td>current</td>") == 2
    # edited without re-executing (make report alone does not re-run notebooks)
    (repo / "notebooks" / "params" / "smoke" / "01_beta.yaml").write_text("epochs: 2\n")
    page = index(repo, "smoke")
    assert page.count("Outdated") == 1 and "notebooks/params/smoke/01_beta.yaml changed" in page
    assert "re-run <code>make reproduce PROFILE=smoke</code>" in page
    # a comment in the parameter file is not a change of parameters
    (repo / "notebooks" / "params" / "smoke" / "01_beta.yaml").write_text("# one epoch\nepochs: 1\n")
    assert "Outdated" not in index(repo, "smoke")
    # the notebook or study/ edited
    with open(repo / "notebooks" / "00_alpha.ipynb", "a") as f:
        f.write("\n")
    with open(repo / "study" / "losses.py", "a") as f:
        f.write("\n")
    page = index(repo, "smoke")
    assert "notebooks/00_alpha.ipynb changed since" in page and page.count("the study/ package changed since") == 2
    # another profile was executed last (build/profile), e.g. a `make reproduce PROFILE=default` that stopped early
    page = index(repo, "default")
    assert page.count("ran with profile smoke, the current profile is default") == 2


def index(repo, profile=None) -> str:
    """reports/index.html as `make report` writes it (without rendering the notebooks), with `profile` current."""
    return report.build(repo / "reports", render=False, root=repo, profile=profile).read_text()


def test_a_failed_notebook_is_retried_by_the_next_reproduce(repo):
    make(repo, "notebooks", "PROFILE=smoke", FAKE_RUN="1")
    touch(repo / "notebooks" / "00_alpha.ipynb")
    make(repo, "reproduce", "PROFILE=smoke", ok=False, FAKE_RUN="2", FAKE_FAIL="00_alpha")
    assert (repo / "reports" / "00_alpha" / "FAILED.json").exists()
    before = len(calls(repo))
    make(repo, "reproduce", "PROFILE=smoke", FAKE_RUN="3")  # nothing changed on disk: the failed one is retried
    assert calls(repo)[before:] == ["00_alpha"]
    assert not (repo / "reports" / "00_alpha" / "FAILED.json").exists()
    make(repo, "reproduce", "PROFILE=smoke", FAKE_RUN="4")
    assert calls(repo)[before + 1:] == []  # and then it is up to date


def test_a_second_reproduce_refuses_while_one_holds_the_lock(repo):
    (repo / "build").mkdir(exist_ok=True)
    holder = subprocess.Popen(["flock", str(repo / "build" / ".reproduce.lock"), "sleep", "30"],
                              start_new_session=True)
    try:
        time.sleep(0.5)
        p = make(repo, "reproduce", "PROFILE=smoke", ok=False)
        assert p.returncode == 2 and "another make reproduce is running in this checkout" in p.stdout
        assert calls(repo) == []
    finally:
        os.killpg(holder.pid, 9)  # flock and the sleep that inherited the lock
        holder.wait()
    make(repo, "reproduce", "PROFILE=smoke")
    assert calls(repo) == list(NAMES)
