"""The run store and the sweep (study.runs): keys, invalidation, atomic writes, corrupt entries, failures, executors.

A toy experiment package is written into a temporary folder so that the tests can edit its source, as a developer
would, and watch which edits invalidate stored runs.
"""
import importlib
import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pandas as pd
import pytest
import torch

from study import claims, results, runs

ROOT = Path(__file__).resolve().parent.parent

MODEL = '''
import torch

def make(width):
    """A tiny network; the test edits this line's scale to simulate a model change."""
    torch.manual_seed(0)
    return torch.nn.Linear(4, width)
'''

EXP = '''
import functools
import math
import os
import time
import torch
from study import results, runs
from . import model

SCALE = 1.0
TABLE = [1.0, 2.0]  # a mutable constant the run reads: enters the key by its content

@functools.lru_cache(maxsize=None)
def _offset(a):
    return 0.0 * a

def _score(x, config):
    if config.get("sleep"):  # a long run, for the orphan test: say who runs it, then wait
        open(config["pidfile"], "w").write(str(os.getpid()))
        time.sleep(config["sleep"])
    _ = TABLE[0]
    if config.get("fail"):
        raise RuntimeError("asked to fail")
    if config.get("nan"):
        return float("nan")
    return float(x.detach().sum()) * SCALE + _offset(config["a"])

@runs.experiment("toy")
def run(config):
    g = torch.Generator().manual_seed(config["seed"])
    x = torch.randn(8, 4, generator=g) * config["a"]
    m = model.make(3)
    v = _score(m(x), config)
    rows = results.tidy([{"epoch": 1, "split": "test", "metric": "score", "value": v}],
                        study="toy", dataset="-", model="lin", method=str(config["a"]), seed=config["seed"])
    return runs.Result(rows=rows, artifacts={"x": x})

def claims(frame):
    """Analysis only: editing it must not invalidate stored runs."""
    return float(frame["value"].mean())
'''


@pytest.fixture
def toy(tmp_path, monkeypatch):
    """A fresh importable package `toypkg_<n>` with a model module and an experiment module; returns a namespace."""
    name = f"toypkg_{tmp_path.name.replace('-', '_')}"
    pkg = tmp_path / "src" / name
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "model.py").write_text(MODEL)
    (pkg / "exp.py").write_text(EXP)
    monkeypatch.syspath_prepend(str(tmp_path / "src"))
    monkeypatch.setenv("STUDY_RUNS", str(tmp_path / "runs"))
    monkeypatch.delenv("STUDY_EXECUTOR", raising=False)
    importlib.invalidate_caches()
    exp = importlib.import_module(f"{name}.exp")

    class Toy:
        store = tmp_path / "runs"
        module = exp

        @staticmethod
        def edit(module: str, old: str, new: str):
            f = pkg / f"{module}.py"
            text = f.read_text()
            assert old in text
            f.write_text(text.replace(old, new))
            importlib.reload(importlib.import_module(f"{name}.{module}"))
            if module != "exp":
                importlib.reload(importlib.import_module(f"{name}.exp"))
            Toy.module = importlib.import_module(f"{name}.exp")

    yield Toy
    for m in [m for m in sys.modules if m.startswith(name)]:
        del sys.modules[m]


def configs(n=3):
    return [{"seed": s, "a": 1.0 + s} for s in range(n)]


# ------------------------------------------------------------------------------------------------ keys and versions
def test_canonical_config_is_order_independent_and_refuses_non_json():
    assert runs.canonical({"b": 1, "a": [1, 2]}) == runs.canonical({"a": [1, 2], "b": 1})
    assert runs.canonical({"a": 1}) != runs.canonical({"a": 1.5})
    for bad in ({"a": float("nan")}, {"a": object()}, [1, 2]):
        with pytest.raises(ValueError, match="config"):
            runs.canonical(bad)


def test_code_version_is_stable_across_processes(toy):
    v = runs.code_version(toy.module.run)
    assert v == runs.code_version(toy.module.run)
    name = toy.module.__name__
    out = subprocess.run([sys.executable, "-c", f"import {name} as m; from study import runs; "
                          f"print(runs.code_version(m.run))"], capture_output=True, text=True, check=True,
                         env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    assert out.stdout.strip() == v


def test_real_run_functions_have_the_same_code_version_in_every_process():
    """A worker process (other str hash seed: set literals iterate in another order) computes the notebook's key."""
    from study.experiments import foundations, mi, rvsm, sl1
    fns = {"foundations.simplex_run": foundations.simplex_run, "foundations.dropout_run": foundations.dropout_run,
           "sl1.run": sl1.run, "rvsm.run": rvsm.run, "mi.run": mi.run}
    here = {k: runs.code_version(f) for k, f in fns.items()}
    script = ("import json; from study import runs; from study.experiments import foundations, mi, rvsm, sl1; "
              "print(json.dumps({k: runs.code_version(eval(k)) for k in " + repr(list(fns)) + "}))")
    for seed in ("1", "2"):
        out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True,
                             env={**os.environ, "PYTHONHASHSEED": seed})
        assert json.loads(out.stdout) == here


def test_code_sources_follow_the_run_not_the_analysis(toy):
    src = runs.code_sources(toy.module.run)
    name = toy.module.__name__
    pkg = name.rsplit(".", 1)[0]
    assert f"def {name}.run" in src and f"def {name}._score" in src and f"const {name}.SCALE" in src
    assert f"module {pkg}.model" in src
    assert f"def {name}._offset" in src  # unwrapped from its lru_cache
    assert f"def {name}.claims" not in src and f"const {name}.TABLE" in src
    assert "shaper study.results.tidy" in src  # what shapes every stored row is in the key
    # bookkeeping never enters the key
    assert not any(k.startswith("module study.") for k in src), sorted(src)


def test_real_experiments_reach_their_science_modules():
    from study import train
    src = runs.code_sources(train.fit)  # a study function: its module is "home", its imports are followed
    assert "def study.train.fit" in src
    assert not {"module study.results", "module study.report", "module study.runs"} & set(src)


# ------------------------------------------------------------------------------------------- cache and invalidation
def test_cached_run_equals_fresh_run_and_is_not_recomputed(toy, capsys):
    first = runs.sweep(toy.module.run, configs())
    assert first.counts == {"total": 3, "cached": 0, "ran": 3, "failed": 0, "diverged": 0,
                            "executor": "serial"}
    second = runs.sweep(toy.module.run, configs())
    assert second.counts["cached"] == 3 and second.counts["ran"] == 0
    pd.testing.assert_frame_equal(first.frame, second.frame)
    assert all(torch.equal(a["x"], b["x"]) for a, b in zip(first.artifacts, second.artifacts))
    assert "3 runs: 3 cached, 0 ran, 0 failed" in capsys.readouterr().out
    meta = second.meta[0]
    assert meta["config"] == configs()[0] and meta["torch"] == torch.__version__.split("+")[0]
    assert {"code_version", "wall_s", "device", "threads", "git", "python"} <= set(meta)


def test_config_change_runs_only_the_new_config(toy):
    runs.sweep(toy.module.run, configs(2))
    res = runs.sweep(toy.module.run, configs(3))
    assert (res.counts["cached"], res.counts["ran"]) == (2, 1)


@pytest.mark.parametrize("module,old,new,invalidates", [
    ("model", "torch.nn.Linear(4, width)", "torch.nn.Linear(4, width, bias=False)", True),   # model code
    ("exp", "SCALE = 1.0", "SCALE = 2.0", True),                                           # a constant the run reads
    ("exp", "return float(x.detach().sum()) * SCALE", "return float(x.detach().sum()) * SCALE * 1", True),    # a helper of the run
    ("exp", "return 0.0 * a", "return 0.0 * a + 0.0", True),                               # behind an lru_cache
    ("exp", "return float(frame[\"value\"].mean())", "return float(frame[\"value\"].median())", False),  # analysis
    ("exp", "TABLE = [1.0, 2.0]", "TABLE = [1.0, 3.0]", True),                              # a mutable constant
    ("model", '"""A tiny network; the test', '"""A tiny network (docstring edit); the test', False),  # docstring
    ("exp", "    _ = TABLE[0]", "    _ = TABLE[0]  # a comment", False),                      # comment
    ("exp", "def _offset(a):", "\n\ndef _offset(a):", False),                                 # line numbers
])
def test_code_edits_invalidate_exactly_the_runs_they_affect(toy, module, old, new, invalidates):
    v0 = runs.code_version(toy.module.run)
    runs.sweep(toy.module.run, configs(2))
    toy.edit(module, old, new)
    assert (runs.code_version(toy.module.run) != v0) is invalidates
    res = runs.sweep(toy.module.run, configs(2))
    assert res.counts["ran"] == (2 if invalidates else 0)


# ---------------------------------------------------------------------------------- crashes, corruption, failures
def test_a_run_killed_while_writing_is_not_read_back(toy):
    name = toy.module.__name__
    script = textwrap.dedent(f"""
        import os, signal, joblib
        def half_then_die(obj, path, **kw):
            open(path, "wb").write(b"\\x80\\x04partial")
            os.kill(os.getpid(), signal.SIGKILL)
        joblib.dump = half_then_die
        import {name} as m
        from study import runs
        runs.sweep(m.run, [{{"seed": 0, "a": 1.0}}])
    """)
    proc = subprocess.run([sys.executable, "-c", script], env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
                          capture_output=True, text=True)
    assert proc.returncode == -9, proc.stderr
    assert list(toy.store.rglob(".*.tmp-*/result.pkl")), "the killed write left no partial file: the test did not bite"
    assert not list(toy.store.rglob("result.pkl")) or all(".tmp-" in str(p) for p in toy.store.rglob("result.pkl")), \
        "a half-written run was stored under its final name"
    res = runs.sweep(toy.module.run, [{"seed": 0, "a": 1.0}])
    assert (res.counts["cached"], res.counts["ran"]) == (0, 1)


def test_a_corrupt_entry_is_rerun_with_a_warning_naming_it(toy):
    fresh = runs.sweep(toy.module.run, configs(1))
    (out,) = toy.store.rglob("result.pkl")
    out.write_bytes(out.read_bytes()[:20])
    with pytest.warns(UserWarning, match=f"corrupt run entry {out.parent}"):
        res = runs.sweep(toy.module.run, configs(1))
    assert (res.counts["cached"], res.counts["ran"]) == (0, 1)
    pd.testing.assert_frame_equal(res.frame, fresh.frame)
    assert runs.sweep(toy.module.run, configs(1)).counts["cached"] == 1


def test_failed_runs_are_reported_keep_the_others_and_are_retried_alone(toy, capsys):
    cfgs = configs(3) + [{"seed": 9, "a": 1.0, "fail": True}, {"seed": 8, "a": 1.0, "nan": True}]
    with pytest.raises(runs.SweepError, match="2 of 5 runs failed"):
        runs.sweep(toy.module.run, cfgs)
    out = capsys.readouterr().out
    assert "5 runs: 0 cached, 3 ran, 2 failed" in out
    assert 'FAILED toy {"a": 1.0, "fail": true, "seed": 9}' in out and "RuntimeError: asked to fail" in out
    assert "FloatingPointError" in out  # a non-finite value stops that run, never a silent NaN
    res = runs.sweep(toy.module.run, cfgs, raise_on_failure=False)
    assert res.counts == {"total": 5, "cached": 3, "ran": 0, "failed": 2, "diverged": 0,
                          "executor": "serial"}
    assert res.results[3] is None and res.results[0] is not None and len(res.frame) == 3


def test_bad_arguments_and_environment_are_refused_by_name(toy, monkeypatch):
    with pytest.raises(ValueError, match="not decorated"):
        runs.sweep(lambda c: None, configs(1))
    with pytest.raises(ValueError, match="executor='threads'"):
        runs.sweep(toy.module.run, configs(1), executor="threads")
    with pytest.raises(ValueError, match="workers=0"):
        runs.sweep(toy.module.run, configs(1), workers=0)
    monkeypatch.setenv("STUDY_EXECUTOR", "gpu")
    with pytest.raises(ValueError, match="STUDY_EXECUTOR='gpu'"):
        runs.resolve_executor("serial")
    monkeypatch.setenv("STUDY_WORKERS", "two")
    with pytest.raises(ValueError, match="STUDY_WORKERS='two'"):
        runs.default_workers()
    with pytest.raises(ValueError, match="experiment name"):
        runs.experiment("a/b")


# ------------------------------------------------------------------------------------------------------- executors
def _training_configs():
    return [{"seed": s, "epochs": 2, "lr": 0.1} for s in range(2)]


def test_same_stored_rows_whatever_the_executor(tmp_path, monkeypatch):
    """A real (tiny) training run gives identical rows with serial, processes and Dask (each with an empty store)."""
    monkeypatch.delenv("STUDY_EXECUTOR", raising=False)
    from tests_support_training import train_tiny  # noqa: F401  (importable by spawned workers too)
    frames = {}
    prev = torch.get_num_threads()
    torch.set_num_threads(2)  # not the runs' 1 thread: a count the sweep failed to restore would show
    try:
        for ex in runs.EXECUTORS:
            res = runs.sweep(train_tiny, _training_configs(), executor=ex, workers=2, store=tmp_path / ex)
            assert res.counts["ran"] == 2 and res.counts["executor"] == ex
            assert torch.get_num_threads() == 2, f"the {ex} sweep changed the notebook's thread count"
            frames[ex] = res.frame
    finally:
        torch.set_num_threads(prev)
    pd.testing.assert_frame_equal(frames["serial"], frames["processes"], check_exact=True)
    pd.testing.assert_frame_equal(frames["serial"], frames["dask"], check_exact=True)


def test_dask_local_cluster_with_two_workers(toy):
    from dask.distributed import Client, LocalCluster
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
            Client(cluster) as client:
        runs._DASK[f"local:2"] = client
        try:
            res = runs.sweep(toy.module.run, configs(4), executor="dask", workers=2)
        finally:
            runs._DASK.pop("local:2", None)
        assert res.counts == {"total": 4, "cached": 0, "ran": 4, "failed": 0, "diverged": 0, "executor": "dask"}
        assert len(client.scheduler_info()["workers"]) == 2
        # each result carries its own run's record, and the run saw the sweep's one torch thread
        assert [m["config"] for m in res.meta] == configs(4) and all(m["threads"] == 1 for m in res.meta)
    again = runs.sweep(toy.module.run, configs(4))  # the serial executor reads what the Dask workers stored
    assert again.counts["cached"] == 4
    pd.testing.assert_frame_equal(again.frame, res.frame)


def test_headline_records_the_runs(tmp_path, toy):
    from study.run import Run
    nb = Run.start("99_toy", profile="smoke", out_dir=tmp_path / "out", executor="serial")
    nb.sweep(toy.module.run, configs(2))
    nb.sweep(toy.module.run, configs(3))
    nb.save(results.tidy([{"metric": "m", "value": 1.0}]), metrics={}, claims=[])
    doc = json.loads((tmp_path / "out" / "headline.json").read_text())
    assert doc["runs"] == {"total": 5, "cached": 2, "ran": 3, "failed": 0, "diverged": 0, "executor": "serial",
                           "threads_per_run": 1, "diverged_runs": []}


def test_a_worker_with_other_code_refuses_to_store_under_the_sweeps_key(toy):
    text = runs.canonical({"seed": 0, "a": 1.0})
    with pytest.raises(RuntimeError, match="differs from the sweep's"):
        runs._execute("toy", text, "0123456789abcdef", toy.module.run)
    assert not list(toy.store.rglob("result.pkl"))


def test_an_entry_holding_another_config_is_rerun_with_a_warning_naming_it(toy):
    runs.sweep(toy.module.run, configs(2))
    a, b = (runs.entry_dir(toy.store, "toy", runs.entry_key("toy", runs.canonical(c),
                                                               runs.code_version(toy.module.run)))
            for c in configs(2))
    (a / "result.pkl").write_bytes((b / "result.pkl").read_bytes())  # a valid pickle of another run
    with pytest.warns(UserWarning, match=f"corrupt run entry {a}.*another config"):
        res = runs.sweep(toy.module.run, configs(2))
    assert (res.counts["cached"], res.counts["ran"]) == (1, 1)
    (a / "record.json").write_text((b / "record.json").read_text())  # and a record of another run too
    with pytest.warns(UserWarning, match=f"run entry {a} holds config .*seed.:1.*not the requested"):
        res = runs.sweep(toy.module.run, configs(2))
    assert res.meta[0]["config"] == configs(2)[0] and (res.counts["cached"], res.counts["ran"]) == (1, 1)


def test_other_library_versions_rerun_other_cpu_capability_is_reported(toy, capsys):
    runs.sweep(toy.module.run, configs(1))
    (rec,) = toy.store.rglob("record.json")
    doc = json.loads(rec.read_text())
    rec.write_text(json.dumps({**doc, "cpu_capability": "DEFAULT-ELSEWHERE"}))
    res = runs.sweep(toy.module.run, configs(1))
    assert res.counts["cached"] == 1 and "computed under CPU capability DEFAULT-ELSEWHERE" in capsys.readouterr().out
    rec.write_text(json.dumps({**doc, "torch": "0.0.1"}))
    with pytest.warns(UserWarning, match=r"other library versions \(torch 0.0.1 -> "):
        res = runs.sweep(toy.module.run, configs(1))
    assert res.counts["ran"] == 1


def test_a_module_edited_after_import_is_never_stored_under_the_new_key(toy):
    """The notebook imported the code; then study/ was edited on disk (not reloaded). A worker loads the new code:
    it refuses, and the sweep stores nothing under either key."""
    import pathlib
    f = pathlib.Path(toy.module.__file__)
    f.write_text(f.read_text().replace("SCALE = 1.0", "SCALE = 5.0"))
    with pytest.raises(runs.SweepError, match="differs from the sweep's"):
        runs.sweep(toy.module.run, configs(1), executor="processes", workers=1)
    assert not list(toy.store.rglob("result.pkl"))


def test_editing_bookkeeping_code_keeps_the_store(toy):
    """The key holds what computes a run, not how it is stored or run: `_execute`, `_task` and the report are out."""
    src = runs.code_sources(toy.module.run)
    assert not any("_execute" in k or "_task" in k or k.startswith("module study.runs") for k in src)


def test_every_store_a_process_writes_is_read_back_whole_by_the_next_process(toy, tmp_path):
    for store in ("a", "b"):  # two stores in one process (joblib's per-process code check must not skip the second)
        runs.sweep(toy.module.run, configs(2), store=tmp_path / store)
    name = toy.module.__name__
    for store in ("a", "b"):
        out = subprocess.run([sys.executable, "-c", f"import {name} as m; from study import runs; "
                              f"print(runs.sweep(m.run, {configs(2)!r}, store={str(tmp_path / store)!r}).counts)"],
                             capture_output=True, text=True, check=True,
                             env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
        assert "'cached': 2, 'ran': 0" in out.stdout, (store, out.stdout, out.stderr)


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False
    return "\tZ" not in state.split("State:")[1].splitlines()[0]  # a zombie has stopped


@pytest.mark.skipif(not Path("/proc").exists(), reason="needs /proc to watch the worker")
def test_a_killed_notebook_leaves_no_worker_training(toy, tmp_path):
    pidfile = tmp_path / "worker.pid"
    name = toy.module.__name__
    cfg = {"seed": 0, "a": 1.0, "sleep": 120, "pidfile": str(pidfile)}
    proc = subprocess.Popen([sys.executable, "-c", f"import {name} as m; from study import runs; "
                             f"runs.sweep(m.run, [{cfg!r}], executor='processes', workers=1)"],
                            env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    try:
        for _ in range(600):
            if pidfile.exists() and pidfile.read_text():
                break
            time.sleep(0.1)
        worker = int(pidfile.read_text())
        assert _alive(worker)
    finally:
        proc.kill()  # SIGKILL: no clean-up code runs in the sweep's process
        proc.wait()
    for _ in range(100):
        if not _alive(worker):
            break
        time.sleep(0.1)
    assert not _alive(worker), "the pool worker kept running after its notebook was killed"


def test_unknown_injected_parameters_are_refused_by_name():
    from study.run import check_injected_parameters
    params = 'profile = "smoke"\nseed = 0\nepochs = 1  # comment\n'
    check_injected_parameters([params, "# Parameters\nprofile = \"default\"\nepochs = 3\n", "x = 1"])
    check_injected_parameters([params, "import torch"])  # no injected cell: nothing to check
    with pytest.raises(ValueError, match=r"unknown notebook parameter\(s\) \['epoch'\].*accepted: \['epochs', "
                                         r"'profile', 'seed'\]"):
        check_injected_parameters([params, "# Parameters\nprofile = \"default\"\nepoch = 3\n"])


def test_threads_from_the_environment_are_checked(monkeypatch):
    from study.train import set_threads
    prev = torch.get_num_threads()
    try:
        monkeypatch.setenv("STUDY_THREADS", "two")
        with pytest.raises(ValueError, match="STUDY_THREADS='two'"):
            set_threads()
        monkeypatch.setenv("STUDY_THREADS", "1")
        assert set_threads() == 1
        with pytest.raises(ValueError, match="threads=0"):
            set_threads(0)
    finally:
        torch.set_num_threads(prev)


def _history(losses, accs, split="test"):
    rows = [{"epoch": e + 1, "split": "train", "metric": "loss", "value": v} for e, v in enumerate(losses)]
    rows += [{"epoch": e + 1, "split": split, "metric": "accuracy", "value": v} for e, v in enumerate(accs)]
    return results.tidy(rows)


@pytest.mark.parametrize("losses,accs,chance,expect", [
    ([2.3, 0.5, 0.3], [0.5, 0.9, 0.95], 0.1, None),                       # a healthy run
    ([2.3, 0.5, 7.9], [0.5, 0.9, 0.95], 0.1, "training loss rose from 2.3"),
    ([0.7, 0.69, 0.69], [0.6, 0.5, 0.5], 0.5, "final accuracy at chance (test 0.500"),
    ([2.3, 2.2, 2.1], [0.1, 0.11, 0.113], 0.1, "final accuracy at chance"),  # always guessing the commonest digit
    ([2.3, 2.2, 2.1], [0.1, 0.11, 0.113], None, None),                    # chance unknown: not judged
    ([2.3], [0.5], 0.1, None),                                             # one epoch: no trend to judge
])
def test_divergence_rule(losses, accs, chance, expect):
    why = runs.divergence(_history(losses, accs), chance)
    assert (why is None) if expect is None else (expect in why)


@runs.experiment("toy_diverging", chance=0.5)
def _diverging_run(config):
    lr = config["lr"]
    return runs.Result(rows=_history([0.7, 0.7 * (1 + lr) if lr > 1 else 0.3], [0.8, 0.5 if lr > 1 else 0.9]))


def test_a_sweep_flags_diverged_runs_and_the_headline_records_them(tmp_path, monkeypatch, capsys):
    from study.run import Run
    monkeypatch.setenv("STUDY_RUNS", str(tmp_path / "runs"))
    nb = Run.start("99_toy", profile="smoke", out_dir=tmp_path / "out")
    res = nb.sweep(_diverging_run, [{"seed": 0, "lr": 0.1}, {"seed": 0, "lr": 1000.0}])
    assert res.counts["diverged"] == 1 and res.diverged[0]["config"]["lr"] == 1000.0
    assert "training loss rose" in res.diverged[0]["reason"] and "at chance" in res.diverged[0]["reason"]
    assert "2 runs: 0 cached, 2 ran, 0 failed, 1 diverged" in capsys.readouterr().out
    # claim-level provenance (issue 17): only the claim that depends on the diverged run is withheld
    bad, good = runs.run_label({"seed": 0, "lr": 1000.0}), runs.run_label({"seed": 0, "lr": 0.1})
    assert res.diverged[0]["run"] == bad and bad != good and "lr=1000.0" in bad
    on_bad = claims.judge("Paper", "accuracy at lr 1000", "point", [0.9, 0.9, 0.9], paper_value=0.9,
                          quantity="accuracy", depends_on=[good, bad])
    on_good = claims.judge("Paper", "accuracy at lr 0.1", "point", [0.9, 0.9, 0.9], paper_value=0.9,
                           quantity="accuracy", depends_on=[good])
    assert on_bad["verdict"] == on_good["verdict"] == "reproduced"
    nb.save(res.frame, metrics={}, claims=[on_bad, on_good, claims.not_tested(
        "Paper", "big net", "point", "too few epochs", paper_value=0.9, quantity="accuracy", depends_on=[bad])])
    doc = json.loads((tmp_path / "out" / "headline.json").read_text())
    assert doc["runs"]["diverged"] == 1 and doc["runs"]["diverged_runs"][0]["experiment"] == "toy_diverging"
    withheld, kept, untested = doc["claims"]
    assert withheld["verdict"] == "inconclusive" and withheld["withheld_by"] == [bad]
    assert withheld["note"].startswith(f"verdict withheld: 1 of its runs diverged, e.g. {bad}")
    assert kept["verdict"] == "reproduced" and "withheld" not in kept["note"]
    assert untested["verdict"] == "not tested" and untested["note"] == "too few epochs"
    assert doc["env"]["cpu_capability"] == runs.cpu_capability() != "unknown"
    # the same divergence inside a sweep that explores it (an lr grid) is recorded but withholds nothing
    nb2 = Run.start("99_toy", profile="smoke", out_dir=tmp_path / "out2")
    nb2.sweep(_diverging_run, [{"seed": 0, "lr": 1000.0}], divergence_expected=True)
    nb2.save(res.frame, metrics={}, claims=[on_bad])
    doc2 = json.loads((tmp_path / "out2" / "headline.json").read_text())
    assert doc2["claims"][0]["verdict"] == "reproduced" and doc2["runs"]["diverged_runs"][0]["expected"] is True
    # a collapse the paper predicts is data: recorded with the paper's sentence, withholds nothing
    nbp = Run.start("99_toy", profile="smoke", out_dir=tmp_path / "outp")
    nbp.sweep(_diverging_run, [{"seed": 0, "lr": 1000.0}],
              predicted=lambda c: "§3: a large rate may hurt the accuracy a lot" if c["lr"] > 1 else None)
    nbp.save(res.frame, metrics={}, claims=[on_bad])
    docp = json.loads((tmp_path / "outp" / "headline.json").read_text())
    assert docp["claims"][0]["verdict"] == "reproduced"
    assert docp["runs"]["diverged_runs"][0]["predicted_by"].startswith("§3")


def test_run_store_and_scheduler_variables_are_checked_by_name(tmp_path, monkeypatch):
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("STUDY_RUNS", str(blocker))
    with pytest.raises(ValueError, match="environment variable STUDY_RUNS=.*a_file.*cannot be used"):
        runs.store_root()
    # a store this user cannot write (as root nothing is read-only, so the probe's refusal stands in for it)
    monkeypatch.setenv("STUDY_RUNS", str(tmp_path / "store"))

    def refuse(*a, **k):
        raise PermissionError(13, "Permission denied")
    with monkeypatch.context() as m:
        m.setattr(runs.tempfile, "mkstemp", refuse)
        with pytest.raises(ValueError, match="STUDY_RUNS=.*store.*can create and write.*Permission denied"):
            runs.store_root()
    assert runs.store_root() == (tmp_path / "store").resolve() and not list((tmp_path / "store").iterdir())
    for bad in ("head-node", "tcp://", "tcp://head:port", "head:99999", "tcp://head:0", "http://head:8786"):
        monkeypatch.setenv("STUDY_DASK_SCHEDULER", bad)
        with pytest.raises(ValueError, match=f"STUDY_DASK_SCHEDULER / address={bad!r}.*port in 1..65535"):
            runs.dask_client()
    assert all(runs.SCHEDULER_ADDRESS.fullmatch(a) for a in ("tcp://head:8786", "10.0.0.2:8786", "tls://h.x:1"))


@pytest.mark.parametrize("rows,chance,diverged", [
    # 00's metrics (issue 19): risk_nats rising, error at chance
    ([("train", "risk_nats", 1, 2.3), ("train", "risk_nats", 5, 5.7e5), ("test", "error", 5, 0.9)], 0.1, True),
    ([("train", "risk_nats", 1, 2.3), ("train", "risk_nats", 5, 0.2), ("test", "error", 5, 0.05)], 0.1, False),
    ([("train", "risk_nats", 1, 2.3), ("train", "risk_nats", 5, 0.2), ("val", "error", 5, 0.88)], 0.1, True),
])
def test_divergence_reads_risk_and_error_too(rows, chance, diverged):
    df = results.tidy([{"split": s, "metric": m, "epoch": e, "value": v} for s, m, e, v in rows])
    assert (runs.divergence(df, chance) is not None) is diverged


def test_a_grid_whose_every_candidate_diverged_stops_naming_the_grid(tmp_path, monkeypatch):
    from study.run import Run
    monkeypatch.setenv("STUDY_RUNS", str(tmp_path / "runs"))
    nb = Run.start("99_toy", profile="smoke", out_dir=tmp_path / "out")
    with pytest.raises(runs.SweepError, match=r"every one of the 2 runs of this grid diverged \(over lr"):
        nb.sweep(_diverging_run, [{"seed": 0, "lr": 1000.0}, {"seed": 0, "lr": 3000.0}], divergence_expected=True)
    nb.sweep(_diverging_run, [{"seed": 0, "lr": 0.1}, {"seed": 0, "lr": 3000.0}], divergence_expected=True)


def test_bounds_and_names_of_seed_device_and_environment(monkeypatch, toy, tmp_path):
    from study import train
    from study.run import Run
    with pytest.raises(ValueError, match=r"seed=9223372036854775808 must be an integer in \[0, 2\*\*63\)"):
        train.seed_everything(2**63)
    # a notebook seed whose derived run seeds (seed·1000 + s) would pass 2**63 is refused before any work
    with pytest.raises(ValueError, match=r"seed=4294967296 is out of range; accepted: an integer in \[0, 4294967295\]"):
        Run.start("99_toy", profile="smoke", seed=2**32, out_dir=tmp_path / "out-seed")
    with pytest.raises(ValueError, match="device=None must be"):
        train.pick_device(None)
    monkeypatch.setenv("STUDY_THREADS", "²")
    with pytest.raises(ValueError, match="STUDY_THREADS='²' must be an integer"):
        train.set_threads()
    monkeypatch.setenv("STUDY_WORKERS", "0")
    with pytest.raises(ValueError, match=r"STUDY_WORKERS='0' must be an integer in \[1, 1024\]"):
        runs.sweep(toy.module.run, configs(1), executor="serial")
    monkeypatch.setenv("STUDY_WORKERS", str(10**20))
    with pytest.raises(ValueError, match=r"STUDY_WORKERS='100000000000000000000' must be an integer in \[1, 1024\]"):
        runs.default_workers()
    monkeypatch.setenv("STUDY_THREADS", str(10**12))
    with pytest.raises(ValueError, match=r"STUDY_THREADS='1000000000000' must be an integer in \[1, 1024\]"):
        train.set_threads()
    monkeypatch.delenv("STUDY_THREADS")
    for bad in (" /tmp/x", "/tmp/x "):
        monkeypatch.setenv("STUDY_RUNS", bad)
        with pytest.raises(ValueError, match="STUDY_RUNS=.*white space"):
            runs.store_root()
    monkeypatch.setenv("STUDY_RUNS", "~no_such_user_here/runs")
    with pytest.raises(ValueError, match="STUDY_RUNS='~no_such_user_here/runs' cannot be used"):
        runs.store_root()


def test_a_damaged_store_entry_is_re_run_never_served(toy, tmp_path):
    """What the store gives back is what was asked for, computed by the running code, finite; a damaged entry is
    removed and re-run with a warning naming it (issue 19)."""
    import joblib
    store = tmp_path / "store"
    cfg = configs(1)
    first = runs.sweep(toy.module.run, cfg, executor="serial", store=store)
    version = runs.code_version(toy.module.run)
    text = runs.canonical(cfg[0])
    entry = runs.entry_dir(store, "toy", runs.entry_key("toy", text, version))
    assert (entry / runs.RESULT_FILE).is_file()

    def again():
        return runs.sweep(toy.module.run, cfg, executor="serial", store=store)

    def damage(kind):
        if kind == "code_version in record":
            rec = json.loads((entry / runs.RECORD_FILE).read_text())
            (entry / runs.RECORD_FILE).write_text(json.dumps({**rec, "code_version": "0" * 16}))
        elif kind == "code_version in result":
            res = joblib.load(entry / runs.RESULT_FILE)
            res.meta["code_version"] = "0" * 16
            res.rows["value"] = 12345.0
            joblib.dump(res, entry / runs.RESULT_FILE)
        elif kind == "NaN row":
            res = joblib.load(entry / runs.RESULT_FILE)
            res.rows.loc[0, "value"] = float("nan")
            joblib.dump(res, entry / runs.RESULT_FILE)
        elif kind == "file for the entry":
            import shutil
            shutil.rmtree(entry)
            entry.write_text("not a folder")
        elif kind == "folder for the result":
            (entry / runs.RESULT_FILE).unlink()
            (entry / runs.RESULT_FILE).mkdir()
            (entry / runs.RESULT_FILE / "x").write_text("x")

    for kind, says in [("code_version in record", "code version '0000000000000000'"),
                       ("code_version in result", "code version '0000000000000000'"),
                       ("NaN row", "non-finite"), ("file for the entry", "is not a folder"),
                       ("folder for the result", f"has no {runs.RESULT_FILE} file")]:
        damage(kind)
        with pytest.warns(UserWarning, match=says):
            res = again()
        assert res.counts["ran"] == 1 and res.counts["failed"] == 0, kind
        pd.testing.assert_frame_equal(res.frame, first.frame)
        assert again().counts["cached"] == 1, kind   # the re-run was stored whole
    # a file where the experiment's folder belongs is refused before any run
    import shutil
    shutil.rmtree(store / "toy")
    (store / "toy").write_text("x")
    with pytest.raises(ValueError, match="toy is not a folder"):
        again()


def test_a_relative_store_is_taken_from_the_repository_root(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("STUDY_RUNS", "build/test-relative-store")
    assert runs.store_root() == (ROOT / "build" / "test-relative-store").resolve()
    import shutil
    shutil.rmtree(ROOT / "build" / "test-relative-store")


def test_a_notebook_runs_with_its_profiles_parameters():
    """Issue 19: interactively, setting profile = "default" loads that profile's file; under papermill a profile label
    whose values are another profile's is refused by name."""
    from study.run import INJECTED_HEADER, params_file, sync_profile
    import yaml
    default = yaml.safe_load(params_file("02_rvsm_curves", "default").read_text())
    smoke = yaml.safe_load(params_file("02_rvsm_curves", "smoke").read_text())
    ns = dict(smoke, profile="default")
    loaded = sync_profile("02_rvsm_curves", "default", inputs=["", "profile = 'default'"], namespace=ns)
    assert loaded == default and all(ns[k] == v for k, v in default.items())
    ns = dict(smoke, profile="paper")
    injected = ["", "profile = 'smoke'", f"{INJECTED_HEADER}\nprofile = 'paper'\n"]
    with pytest.raises(ValueError, match=r"profile='paper', but \w+=.* is not the .* of notebooks/params/paper/"):
        sync_profile("02_rvsm_curves", "paper", inputs=injected, namespace=ns)
    ns = dict(smoke, profile="smoke")
    assert sync_profile("02_rvsm_curves", "smoke", inputs=injected, namespace=ns) == {}
