"""The report index: reads headline.json files, shows metrics, verdicts and environment, flags notebooks not run,
failed, interrupted or outdated; a notebook's outputs are replaced as a unit (`install`, `mark_failed`)."""
import json

import pytest

from study import report, results


def test_index_shows_metrics_claims_env_and_missing_runs(tmp_path):
    ok = tmp_path / "01_demo"
    ok.mkdir()
    claim = results.claim("Paper A", "Table 1 accuracy", 0.99, 0.95, ours_std=0.001, n=3, unit="fraction", tol=0.005)
    results.write_headline(ok, notebook="01_demo", profile="default", wall_s=123.4,
                           env={"torch": "2.x", "device": "cpu", "threads": 2, "git": "abc1234"},
                           runs={"total": 12, "cached": 9, "ran": 3, "failed": 0, "executor": "processes"},
                           metrics={"test_accuracy/sl1": {"mean": 0.9876, "std": 0.001, "n": 3, "unit": "fraction"}},
                           claims=[claim], deviations=["28 px instead of 104 px"])
    (tmp_path / "02_never_ran").mkdir()
    index = report.build(tmp_path, render=False)
    page = index.read_text()
    assert "98.76 %" in page and "abc1234" in page and "28 px instead of 104 px" in page
    assert claim["verdict"] == "not reproduced"
    assert f"<td style='background:{report.VERDICT_COLOUR['not reproduced']}'>not reproduced</td>" in page
    assert "12: 9 cached / 3 ran / 0 failed (processes)" in page
    flagged = report.runs_cell({"total": 2, "cached": 0, "ran": 2, "failed": 0, "diverged": 1, "executor": "serial",
                                "diverged_runs": [{"experiment": "sl1", "reason": "final accuracy at chance"}]})
    assert "2: 0 cached / 2 ran / 0 failed / 1 diverged (serial)" in flagged and "sl1: final accuracy at chance" in flagged
    assert "02_never_ran" in page and "not run" in page.lower()
    assert json.loads((ok / "headline.json").read_text())["wall_s"] == 123.4


def _headline(folder, run: str, verdict: str = "reproduced"):
    claim = {"paper": "P", "claim": f"claim of run {run}", "paper_value": 1.0, "ours": 1.0, "verdict": verdict,
             "unit": "", "note": ""}
    results.write_headline(folder, notebook=folder.name, profile="smoke", wall_s=1.0, env={"git": "abc"},
                           metrics={}, claims=[claim], params={"run": run})


def _repo(tmp_path, name="01_demo"):
    """A repository with one notebook, its smoke parameters and a study/ package."""
    root = tmp_path / "repo"
    (root / "notebooks" / "params" / "smoke").mkdir(parents=True)
    (root / "notebooks" / f"{name}.ipynb").write_text('{"cells": []}')
    (root / "notebooks" / "params" / "smoke" / f"{name}.yaml").write_text("epochs: 1\n")
    (root / "study").mkdir()
    (root / "study" / "a.py").write_text("x = 1\n")
    return root


def test_install_replaces_the_whole_folder_and_refuses_an_unfinished_execution(tmp_path):
    dest, tmp = tmp_path / "01_demo", tmp_path / ".01_demo.tmp"
    dest.mkdir()
    _headline(dest, "1")
    (dest / "old_figure.png").write_bytes(b"x")
    tmp.mkdir()
    (tmp / "papermill.log").write_text("ok\n")
    with pytest.raises(FileNotFoundError, match=r"\.01_demo\.tmp/headline\.json"):
        report.install(tmp, dest)
    assert (dest / "old_figure.png").exists() and tmp.exists()
    (tmp / "headline.json").write_text("{not json")
    with pytest.raises(ValueError, match="headline.json"):
        report.install(tmp, dest)
    _headline(tmp, "2")
    report.install(tmp, dest)
    assert sorted(f.name for f in dest.iterdir()) == ["headline.json", "papermill.log"]
    assert json.loads((dest / "headline.json").read_text())["params"]["run"] == "2"
    assert sorted(f.name for f in tmp_path.iterdir()) == ["01_demo"]


def test_failed_execution_is_shown_as_failed_with_its_log_not_with_the_previous_verdicts(tmp_path):
    reports = tmp_path / "reports"
    dest, tmp = reports / "01_demo", report.tmp_dir(reports, "01_demo")
    dest.mkdir(parents=True)
    _headline(dest, "1")
    tmp.mkdir()
    (tmp / "papermill.log").write_text("".join(f"line {i}\n" for i in range(100)) + "RuntimeError: boom\n")
    marker = report.mark_failed(tmp, dest, exit_code=1)
    doc = json.loads(marker.read_text())
    assert marker == dest / "FAILED.json" and doc["exit_code"] == 1 and doc["previous"]["headline"]
    assert doc["log_tail"][-1] == "RuntimeError: boom" and len(doc["log_tail"]) == report.TAIL_LINES
    assert (dest / "failed" / "papermill.log").exists() and not tmp.exists() and (dest / "headline.json").exists()
    assert report.notebook_state(reports, "01_demo", root=tmp_path)["state"] == "failed"
    page = report.build(reports, render=False, root=tmp_path).read_text()
    assert "claim of run 1" not in page and "Failed" in page and "RuntimeError: boom" in page
    assert "href='01_demo/failed/papermill.log'" in page and "are stale" in page
    # a first execution that fails has no previous outputs
    tmp2 = report.tmp_dir(reports, "02_new")
    tmp2.mkdir()
    report.mark_failed(tmp2, reports / "02_new", exit_code=2, reason="kernel died")
    page = report.build(reports, render=False, root=tmp_path).read_text()
    assert "kernel died" in page and page.count("last execution failed") == 2


def test_an_execution_left_unfinished_hides_the_previous_verdicts(tmp_path):
    reports = tmp_path / "reports"
    _headline(reports / "01_demo", "1")
    report.tmp_dir(reports, "01_demo").mkdir()       # what a killed `make reproduce` leaves
    report.tmp_dir(reports, "02_first").mkdir()      # ... also when it was the notebook's first execution
    page = report.build(reports, render=False, root=tmp_path).read_text()
    assert "claim of run 1" not in page and page.count("Interrupted") == 2
    assert "href='.01_demo.tmp/papermill.log'" in page and "02_first" in page


def test_outdated_inputs_are_flagged_with_what_changed(tmp_path):
    root = _repo(tmp_path)
    rec = report.inputs_record("01_demo", "smoke", root)
    assert rec["notebook_file"] == "notebooks/01_demo.ipynb" and rec["profile"] == "smoke"
    assert report.outdated_reasons(rec, root) == [] and report.outdated_reasons(rec, root, "smoke") == []
    assert report.outdated_reasons(rec, root, "paper") == ["ran with profile smoke, the current profile is paper"]
    (root / "study" / "a.py").write_text("x = 2\n")
    (root / "notebooks" / "params" / "smoke" / "01_demo.yaml").write_text("epochs: 3\n")
    assert report.outdated_reasons(rec, root) == ["the parameters in notebooks/params/smoke/01_demo.yaml changed since",
                                                  "the study/ package changed since"]
    (root / "notebooks" / "01_demo.ipynb").unlink()
    assert "notebooks/01_demo.ipynb no longer exists" in report.outdated_reasons(rec, root)
    # in the index
    reports = root / "reports"
    _headline(reports / "01_demo", "1")
    (reports / "01_demo" / "inputs.json").write_text(json.dumps(rec))
    page = report.build(reports, render=False).read_text()
    assert "Outdated" in page and "no longer exists" in page and "claim of run 1" in page
    assert "re-run <code>make reproduce</code>" in page


def test_inputs_refuse_missing_files_and_bad_parameters_naming_the_file(tmp_path):
    root = _repo(tmp_path)
    with pytest.raises(FileNotFoundError, match=r"notebooks/params/paper/01_demo\.yaml"):
        report.inputs_record("01_demo", "paper", root)
    (root / "notebooks" / "params" / "smoke" / "01_demo.yaml").write_text("- a list\n")
    with pytest.raises(ValueError, match=r"01_demo\.yaml: expected a mapping"):
        report.inputs_record("01_demo", "smoke", root)
    assert report.main(["inputs", "02_none", "--profile", "smoke", "--root", str(root)]) == 1
