"""The run store and the sweep: every training run a cached, resumable task.

A *run* is one call of an experiment's run function on one config (a plain JSON-able dict)::

    @runs.experiment("rvsm")
    def run(config: dict) -> runs.Result: ...          # study/experiments/rvsm/run.py

    res = runs.sweep(run, configs, executor="processes")
    res.frame, res.results, res.artifacts, res.counts

**Store** (ours, issue 19). Each finished run is a folder ``$STUDY_RUNS/<experiment>/<kk>/<key>/`` (default
``runs/`` at the repository root; a relative ``STUDY_RUNS`` is taken from the repository root) holding
``result.pkl`` (the `Result`, written with `joblib.dump`) and ``record.json`` (its run record). The key is the
SHA-256 of (experiment, canonical config JSON, code version). An entry is written into a temporary folder and
renamed into place, so a run killed while writing is never read back as finished; a corrupt entry is removed and
re-run with a warning naming it; an entry whose stored config is not the requested one is removed and re-run with a
warning naming it; an entry computed with another torch, numpy or python version is re-run with a warning (another
CPU capability is only reported: `study.machine_check` answers whether it matters). Editing bookkeeping code never
empties the store.

* the **code version** (`code_version`): digests of the *loaded* code objects of the run function, every
  function/class of its own module it references (transitively, also through defaults and dispatch tables), the
  module constants they read, every function, class and constant of every other ``study`` module reached from
  there, and `ROW_SHAPERS` (`study.results.tidy`, which shapes every stored row). Docstrings, comments and line
  numbers do not count. Editing a model, penalty, training, data or estimator function therefore invalidates the
  runs that use it; editing a plan, a claim builder, a table, a figure or a docstring does not. Bookkeeping modules
  (`EXCLUDED_MODULES`: run store, notebook bookkeeping, verdicts, report) never enter the key. A worker process
  recomputes the version from the code *it* loaded and refuses to store under another key (a module edited after
  the notebook imported it makes the worker refuse with a message: restart the kernel);
* the **run record** beside the rows (`Result.meta`): config, code version, wall time, device, threads, torch and
  python versions, git commit, host, when it finished;
* **accounting and failures**: which runs were cached, ran or failed (with config and traceback); a failed run is
  not stored, so re-running a sweep retries only failed and missing runs;
* the **executors**: ``serial`` (in this process), ``processes`` (a spawn-based local pool, one torch thread per
  worker) and ``dask`` (`dask.distributed`: an embedded `LocalCluster` of one-thread worker processes, or the
  scheduler named by ``STUDY_DASK_SCHEDULER``; CUDA runs ask for the worker resource ``GPU=1`` there).

Environment: ``STUDY_RUNS`` (store folder), ``STUDY_EXECUTOR`` (overrides the notebook's executor),
``STUDY_WORKERS`` (workers of ``processes`` / the embedded Dask cluster; default: CPU cores),
``STUDY_DASK_SCHEDULER`` (``tcp://host:8786``).
"""

from __future__ import annotations

import atexit
import contextlib
import hashlib
import inspect
import json
import math
import multiprocessing
import os
import re
import shutil
import socket
import sys
import tempfile
import threading
import time
import traceback
import types
import uuid
import warnings
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import joblib
import pandas as pd
import torch
from tqdm import tqdm

from . import checks, results

REPO_ROOT = Path(__file__).resolve().parent.parent
EXECUTORS = ("serial", "processes", "dask")
#: torch threads of every run, whatever the executor (results then do not depend on it; `_task`). Parallelism
#: comes from running runs side by side: `processes` / `dask` with one worker per core.
RUN_THREADS = 1
#: Modules whose code never changes what a run computes (bookkeeping, tables, verdicts, report): not in the key.
EXCLUDED_MODULES = frozenset(
    {"study.runs", "study.run", "study.results", "study.report", "study.claims", "study.notebook", "study.params"}
)


# ---------------------------------------------------------------------------------------------------------- result
@dataclass
class Result:
    """What one run returns and the store keeps.

    Attributes:
        rows: tidy frame with exactly `study.results.COLUMNS` (one row per observation; values finite).
        artifacts: small picklable objects figures need (CPU tensors, arrays, floats), keyed by name.
        meta: the run record, filled by the store (config, code version, wall time, device, threads, versions).
    """

    rows: pd.DataFrame
    artifacts: dict[str, Any] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)


class SweepError(RuntimeError):
    """Some runs of a sweep failed; the others are stored. Re-running the sweep retries only the failed ones."""


def experiment(
    name: str, *, depends: Iterable[Any] = (), chance: float | None = None
) -> Callable[[Callable], Callable]:
    """Decorator naming a run function's experiment (its store folder) and extra code its results depend on.

    `depends` lists modules or functions the automatic code walk (`code_version`) cannot see. `chance` is the
    accuracy of guessing (1 / number of balanced classes, a fraction) that `divergence` compares a run's final
    accuracy with; None: not checked.

    Raises:
        ValueError: `name` empty or not usable as a folder name; `chance` outside (0, 1).
    """
    if not isinstance(name, str) or not name or not name.replace("_", "").replace("-", "").isalnum():
        raise ValueError(f"experiment name={name!r} must be a non-empty name of letters, digits, '_' or '-'")
    if chance is not None and not 0 < chance < 1:
        raise ValueError(f"chance={chance!r} must be a fraction in (0, 1) (1 / number of classes)")

    def mark(fn: Any) -> Any:
        fn.experiment = name
        fn.depends = tuple(depends)
        fn.chance = chance
        return fn

    return mark


#: A final accuracy at most chance + AT_CHANCE_MARGIN · (1 − chance) counts as "at chance" (10 classes: ≤ 14.5 %,
#: 2 classes: ≤ 52.5 %).
AT_CHANCE_MARGIN = 0.05


#: Training-loss metrics `divergence` reads (nats), and error metrics (a fraction: 1 − accuracy).
LOSS_METRICS = ("loss", "risk_nats")
ERROR_METRICS = ("error",)


def divergence(rows: pd.DataFrame, chance: float | None = None) -> str | None:
    """Why a finished run counts as diverged, or None (study rule; issues 12 and 19).

    A run diverged when its training loss (metric "loss" or "risk_nats", split "train", in nats) is non-finite or
    at its last epoch above its first epoch's, or when its final accuracy (metric "accuracy", or 1 − "error") on
    every evaluated split ("test" or "val") is at chance (`AT_CHANCE_MARGIN`). Rows without those metrics are not
    judged. It is a flag, not a failure: the run stays stored, the sweep lists it, and the notebook's headline
    records it.

    Args:
        rows: one run's tidy rows (`results.COLUMNS`; accuracy and error fractions, loss in nats).
        chance: 1 / number of classes, or None to skip the accuracy test.
    """
    reasons = []
    for metric in LOSS_METRICS:
        loss = rows[(rows["metric"] == metric) & (rows["split"] == "train")].sort_values("epoch")
        if len(loss) >= 2 and float(loss["value"].iloc[-1]) > float(loss["value"].iloc[0]):
            reasons.append(
                f"training {'loss' if metric == 'loss' else 'risk'} rose from "
                f"{float(loss['value'].iloc[0]):.4g} (epoch {loss['epoch'].iloc[0]:g}) to "
                f"{float(loss['value'].iloc[-1]):.4g} (epoch {loss['epoch'].iloc[-1]:g})"
            )
            break
    if chance is not None:
        ev = rows[rows["split"].isin(["test", "val"])]
        acc = ev[ev["metric"] == "accuracy"][["epoch", "split", "value"]]
        err = ev[ev["metric"].isin(ERROR_METRICS)][["epoch", "split", "value"]]
        acc = pd.concat([acc, err.assign(value=1.0 - err["value"])]) if len(err) else acc
        if len(acc):
            last = acc[acc["epoch"] == acc["epoch"].max()]
            limit = chance + AT_CHANCE_MARGIN * (1 - chance)
            if len(last) and (last["value"] <= limit).all():
                shown = ", ".join(f"{s} {v:.3f}" for s, v in zip(last["split"], last["value"]))
                reasons.append(f"final accuracy at chance ({shown}; chance {chance:.3g})")
    return "; ".join(reasons) or None


# ------------------------------------------------------------------------------------------------------ run labels
#: Config fields shown in a run's label, in this order, when present (the rest is in the label's hash).
LABEL_KEYS = (
    "dataset",
    "model",
    "method",
    "variant",
    "reading",
    "activation",
    "penalty",
    "lam",
    "alpha",
    "a",
    "lr",
    "epochs",
    "seed",
)


def run_label(config: dict[str, Any]) -> str:
    """A short readable name of one run, unique per config: the `LABEL_KEYS` fields present in `config` and 8 hex
    digits of the canonical config's hash, e.g. ``"letters/rvsm_l0/seed=0#1a2b3c4d"``. Claims name the runs they
    depend on by it (``depends_on``).

    Raises:
        ValueError: as `canonical`.
    """
    text = canonical(config)
    parts = []
    for k in LABEL_KEYS:
        v = config.get(k)
        if v in (None, "", "-"):
            continue
        parts.append(str(v) if k in ("dataset", "model", "method", "variant", "reading") else f"{k}={v}")
    return "/".join(parts) + "#" + hashlib.sha256(text.encode()).hexdigest()[:8]


def labels_where(configs: Iterable[dict[str, Any]], **match: Any) -> list[str]:
    """The `run_label` of every config whose fields equal `match` (a tuple/list/set value: any of them), sorted.

    Used for a claim's ``depends_on``: ``labels_where(plan, dataset="letters", method="rvsm_l0")``.
    """

    def ok(c: dict[str, Any]) -> bool:
        for k, want in match.items():
            v = c.get(k)
            if isinstance(want, (tuple, list, set, frozenset)):
                if v not in want:
                    return False
            elif v != want:
                return False
        return True

    return sorted({run_label(c) for c in configs if ok(c)})


cpu_capability = results.cpu_capability


# ---------------------------------------------------------------------------------------------------- code version
#: Module-level values a run reads that enter the code version by their value (`_value_digest`). Mutable containers
#: enter by their content at hashing time (`_mutable_digest`): a dict used as an in-process cache would change the key
#: as it fills, so cache with `functools.lru_cache`.
IMMUTABLE_CONSTANTS = (bool, int, float, complex, str, bytes, tuple, frozenset, type(None), types.MappingProxyType)


def _global_names(code: types.CodeType) -> set[str]:
    names = set(code.co_names)
    for c in code.co_consts:
        if isinstance(c, types.CodeType):
            names |= _global_names(c)
    return names


def _ours(obj: Any, roots: tuple[str, ...]) -> str | None:
    """The module name behind `obj` when it belongs to one of the packages `roots` (module, function or class)."""
    if isinstance(obj, types.ModuleType):
        name = obj.__name__
    elif inspect.isfunction(obj) or inspect.isclass(obj):
        name = getattr(obj, "__module__", None) or ""
    else:
        return None
    return name if any(name == r or name.startswith(r + ".") for r in roots) else None


def _label(module: str) -> str:
    # a script's run function is __main__ in the script and __mp_main__ in a spawned worker: one name for both
    return "__main__" + module[len("__mp_main__") :] if module.startswith("__mp_main__") else module


#: Functions outside a run's own package whose code shapes every stored row (issue 19): always in the key.
ROW_SHAPERS = ("study.results.tidy", "study.results.COLUMNS")


def _code_digest(code: types.CodeType) -> str:
    """What a code object computes, without its docstring, comments or line numbers: bytecode, names, constants
    (nested code objects by their own digest), argument layout."""
    h = hashlib.sha256()
    consts = list(code.co_consts)
    if consts and isinstance(consts[0], str) and not code.co_name.startswith("<"):
        consts = consts[1:]  # a def's first constant is its docstring (or None)
    h.update(code.co_code)
    h.update(
        repr(
            (
                code.co_names,
                code.co_varnames,
                code.co_freevars,
                code.co_cellvars,
                code.co_argcount,
                code.co_posonlyargcount,
                code.co_kwonlyargcount,
                code.co_flags,
            )
        ).encode()
    )
    for c in consts:  # a set literal compiles to a frozenset, whose repr order follows the per-process str hash
        h.update(_code_digest(c).encode() if isinstance(c, types.CodeType) else (_value_digest(c) or repr(c)).encode())
    return h.hexdigest()


def _value_digest(v: Any) -> str | None:
    """A digest of a plain value (default argument, module constant); None when it is not plain data."""
    if isinstance(v, IMMUTABLE_CONSTANTS) and not isinstance(v, (tuple, frozenset, types.MappingProxyType)):
        return repr(v)
    if isinstance(v, (tuple, frozenset)):
        parts: list[Any] = [_value_digest(x) for x in (sorted(v, key=repr) if isinstance(v, frozenset) else v)]
        return None if any(p is None for p in parts) else "(" + ",".join(parts) + ")"
    if isinstance(v, types.MappingProxyType):
        parts = [(_value_digest(k), _value_digest(x)) for k, x in sorted(v.items(), key=lambda kv: repr(kv[0]))]
        return (
            None if any(p is None for kv in parts for p in kv) else "{" + ",".join(f"{k}:{x}" for k, x in parts) + "}"
        )
    return None


def _function_digest(fn: Callable) -> str:
    """`_code_digest` of a function plus its default arguments (a default is a constant the call reads)."""
    parts = [_code_digest(fn.__code__)]
    for d in fn.__defaults__ or ():
        parts.append(_value_digest(d) or f"<{type(d).__name__}>")
    for k, d in sorted((fn.__kwdefaults__ or {}).items()):
        parts.append(f"{k}={_value_digest(d) or '<' + type(d).__name__ + '>'}")
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()


def _mutable_digest(v: Any) -> str:
    """A mutable module global (dict, list, set) a run's code reads, by its content at hashing time (functions in
    it by their digest). Sound, but an in-process cache that fills would change the key between sweeps: cache with
    `functools.lru_cache` instead (its function is walked, not its content)."""

    def one(x: Any) -> str:
        if inspect.isfunction(x):
            return _function_digest(x)
        if isinstance(x, (dict, list, set, tuple, frozenset, types.MappingProxyType)):
            return _mutable_digest(x)
        return _value_digest(x) or f"<{type(x).__name__}>"

    if isinstance(v, (dict, types.MappingProxyType)):
        return "{" + ",".join(f"{one(k)}:{one(x)}" for k, x in sorted(v.items(), key=lambda kv: repr(kv[0]))) + "}"
    items = sorted(v, key=repr) if isinstance(v, (set, frozenset)) else list(v)
    return "[" + ",".join(one(x) for x in items) + "]"


def _callables_in(v: Any) -> list[Any]:
    """Functions and classes held by a container (dict, list, tuple, set, MappingProxyType), one level deep and
    nested: a function reached through a dispatch table is reached."""
    if inspect.isfunction(v) or inspect.isclass(v) or isinstance(v, types.ModuleType):
        return [v]
    items = (
        v.values()
        if isinstance(v, (dict, types.MappingProxyType))
        else v
        if isinstance(v, (list, tuple, set, frozenset))
        else ()
    )
    out = []
    for x in items:
        out += _callables_in(x)
    return out


def code_sources(run_fn: Callable, extra: Iterable[Any] = ()) -> dict[str, str]:
    """What a run function's results depend on, by name, as digests of the loaded code (issue 19).

    The walk: the run function, every function or class of its own module it references (also through default
    arguments and containers such as a dispatch dict), the module constants they read, every other
    ``study`` (or own-package) module reached from there (each function, class and immutable constant of it), and
    `ROW_SHAPERS`. Each function counts by `_function_digest` of its *loaded* code object: bytecode, constants and
    defaults, not its docstring, comments or line numbers. Bookkeeping modules (`EXCLUDED_MODULES`) stay out.

    Returns:
        ``{"def <module>.<qualname>": digest, "module <name>": digest, "const <module>.<name>": repr}``.

    A mutable module global the code reads (dict, list, set) enters by its content at hashing time
    (`_mutable_digest`).
    """
    home = run_fn.__module__
    root = (home.split(".")[0], __name__.split(".")[0])  # the run's own package, and always `study`
    out: dict[str, str] = {}
    todo: list[Any] = [run_fn, *extra, *getattr(run_fn, "depends", ())]
    mod: str | None
    for path in ROW_SHAPERS:
        mod, _, attr = path.rpartition(".")
        v = getattr(sys.modules.get(mod) or __import__(mod, fromlist=[attr]), attr)
        out[f"shaper {path}"] = _function_digest(v) if inspect.isfunction(v) else repr(v)

    def walk_function(key: str, fn: Callable, g: dict[str, Any], mod: str) -> None:
        out[key] = _function_digest(fn)
        for d in list(fn.__defaults__ or ()) + list((fn.__kwdefaults__ or {}).values()):
            todo.extend(x for x in _callables_in(d) if _ours(x, root))
        for n in sorted({n for n in _global_names(fn.__code__) if n in g}):
            v = inspect.unwrap(g[n]) if hasattr(g[n], "__wrapped__") else g[n]
            if _ours(v, root):
                todo.append(v)
            elif isinstance(v, IMMUTABLE_CONSTANTS):
                digest = _value_digest(v)
                out[f"const {_label(mod)}.{n}"] = digest if digest is not None else f"<{type(v).__name__}>"
                todo.extend(x for x in _callables_in(v) if _ours(x, root))
            elif isinstance(v, (dict, list, set)):
                todo.extend(x for x in _callables_in(v) if _ours(x, root))  # a dispatch table: walked
                out[f"const {_label(mod)}.{n}"] = _mutable_digest(v)

    while todo:
        obj = todo.pop()
        if hasattr(obj, "__wrapped__"):  # functools.wraps / lru_cache wrappers: the function they wrap
            obj = inspect.unwrap(obj)
        mod = _ours(obj, root)
        if mod is None or mod in EXCLUDED_MODULES:
            continue
        if isinstance(obj, types.ModuleType) or mod != home:
            m = obj if isinstance(obj, types.ModuleType) else sys.modules[mod]
            if m.__name__ == home or f"module {_label(m.__name__)}" in out:
                continue
            parts = []
            for n, v in sorted(vars(m).items()):
                v = inspect.unwrap(v) if hasattr(v, "__wrapped__") else v
                if inspect.isfunction(v) and v.__module__ == m.__name__:
                    parts.append(f"{n}:{_function_digest(v)}")
                elif inspect.isclass(v) and v.__module__ == m.__name__:
                    methods = {k: inspect.unwrap(f) if hasattr(f, "__wrapped__") else f for k, f in vars(v).items()}
                    parts.append(
                        f"{n}:"
                        + ",".join(
                            f"{k}={_function_digest(f)}" for k, f in sorted(methods.items()) if inspect.isfunction(f)
                        )
                        + f";{_value_digest(v.__bases__) or ''}"
                    )
                elif not n.startswith("__") and _value_digest(v) is not None:
                    parts.append(f"{n}={_value_digest(v)}")
            out[f"module {_label(m.__name__)}"] = hashlib.sha256("\n".join(parts).encode()).hexdigest()
            todo.extend(v for v in vars(m).values() if _ours(v, root))
            continue
        key = f"def {_label(mod)}.{obj.__qualname__}"
        if key in out:
            continue
        g = sys.modules[mod].__dict__
        if inspect.isfunction(obj):
            walk_function(key, obj, g, mod)
        else:  # a class of the run's module: every method (unwrapped: torch wraps optimiser steps at run time)
            for k, f in sorted(vars(obj).items()):
                f = inspect.unwrap(f) if hasattr(f, "__wrapped__") else f
                if inspect.isfunction(f):
                    walk_function(f"{key}.{k}", f, g, mod)
            out[key] = ",".join(sorted(f"{k}" for k, f in vars(obj).items() if inspect.isfunction(f)))
    return out


def code_version(run_fn: Callable, extra: Iterable[Any] = ()) -> str:
    """Hash (16 hex digits) of `code_sources`: changes whenever the loaded code that computes the run changes (not
    with docstrings, comments or line numbers)."""
    h = hashlib.sha256()
    for name, text in sorted(code_sources(run_fn, extra).items()):
        h.update(name.encode() + b"\0" + text.encode() + b"\0")
    return h.hexdigest()[:16]


# ------------------------------------------------------------------------------------------------------- the store
def canonical(config: Any) -> str:
    """A config as canonical JSON (sorted keys, no whitespace): the config's part of the store key.

    Raises:
        ValueError: `config` not a dict, or holds something JSON cannot represent (or a non-finite float).
    """
    if not isinstance(config, dict):
        raise ValueError(f"config must be a dict, got {type(config).__name__}: {config!r}")
    try:
        return json.dumps(config, sort_keys=True, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"config {config!r} is not plain JSON (str/int/float/bool/None/list/dict): {exc}") from exc


def store_root(root: str | Path | None = None) -> Path:
    """The run store's folder: `root`, else ``$STUDY_RUNS``, else ``runs/`` at the repository root (created).

    Raises:
        ValueError: the folder (named with where it came from) is a file or cannot be created.
    """
    source = "store" if root else ("environment variable STUDY_RUNS" if os.environ.get("STUDY_RUNS") else "store")
    raw = root or os.environ.get("STUDY_RUNS") or REPO_ROOT / "runs"
    if isinstance(raw, str) and raw != raw.strip():
        raise ValueError(
            f"{source}={raw!r} begins or ends with white space (accepted: a folder path; write it without the spaces)"
        )
    try:
        path = Path(raw).expanduser()
        path = (path if path.is_absolute() else REPO_ROOT / path).resolve()  # relative: from the repository root
        path.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(dir=path, prefix=".write-probe-")  # a read-only store fails here, by name
        os.close(fd)
        os.unlink(probe)
    except (OSError, RuntimeError) as exc:  # RuntimeError: "~user" of no known user
        raise ValueError(
            f"{source}={str(raw)!r} cannot be used as the run store folder (accepted: a folder this "
            f"user can create and write): {exc}"
        ) from exc
    return path


RESULT_FILE = "result.pkl"
RECORD_FILE = "record.json"
#: Library versions that change numbers: a stored run computed under others is re-run (`_load_cached`).
RERUN_ON = ("torch", "numpy", "python")


def entry_key(experiment_name: str, config_json: str, version: str) -> str:
    """The store key of one run: SHA-256 (32 hex digits) of experiment, canonical config and code version."""
    return hashlib.sha256(f"{experiment_name}\0{config_json}\0{version}".encode()).hexdigest()[:32]


def entry_dir(root: Path, experiment_name: str, key: str) -> Path:
    """The folder of one stored run."""
    return Path(root) / experiment_name / key[:2] / key


def _write_entry(root: Path, experiment_name: str, key: str, result: Result) -> Path:
    """Store `result` whole: into a temporary folder, then renamed into place (a concurrent writer of the same key
    that finished first wins; both computed the same run)."""
    final = entry_dir(root, experiment_name, key)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = final.parent / f".{key}.tmp-{uuid.uuid4().hex}"
    tmp.mkdir()
    try:
        joblib.dump(result, tmp / RESULT_FILE)
        (tmp / RECORD_FILE).write_text(json.dumps(result.meta, sort_keys=True, default=str), encoding="utf-8")
        try:
            os.rename(tmp, final)
        except OSError:
            if not (final / RESULT_FILE).is_file():
                raise
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return final


def _run_record(config: dict[str, Any], version: str, wall_s: float) -> dict[str, Any]:
    dev = str(config.get("device", "cpu"))
    if dev.startswith("cuda") and torch.cuda.is_available():
        dev = f"{dev} ({torch.cuda.get_device_name(torch.device(dev))})"
    return {
        "config": config,
        "code_version": version,
        "wall_s": round(wall_s, 3),
        "device": dev,
        "threads": torch.get_num_threads(),
        **results.library_versions(),
        "git": results.git_commit(),
        "host": socket.gethostname(),
        "finished": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }


def _execute(experiment_name: str, config_json: str, version: str, run_fn: Callable) -> Result:
    """One run: seed from the config, call `run_fn`, check the rows, attach the record (`_task` stores it).

    Raises:
        RuntimeError: the code here differs from the code version the sweep computed (another checkout).
        TypeError: `run_fn` did not return a `Result`.
        ValueError: its rows are not `results.COLUMNS`.
        FloatingPointError: a non-finite value in its rows.
    """
    from .train import seed_everything

    here = code_version(run_fn)
    if here != version:  # e.g. a Dask worker on another host with another checkout: never store under a wrong key
        raise RuntimeError(
            f"{experiment_name}: this worker's code version {here} differs from the sweep's {version} "
            f"(host {socket.gethostname()}): the code the worker loaded is not the code the sweep was "
            "keyed with -- a study/ module edited after the notebook imported it (restart the kernel), "
            "or another checkout on a Dask worker (check out the same commit on every machine)"
        )
    config = json.loads(config_json)
    seed_everything(int(config.get("seed", 0)))
    t0 = time.perf_counter()
    out = run_fn(config)
    wall = time.perf_counter() - t0
    check_result(experiment_name, out)
    out.meta = _run_record(config, version, wall)
    return out


def check_result(experiment_name: str, out: Any) -> None:
    """What a run function returns, and what the store gives back, must be a `Result` whose rows have the columns
    `results.COLUMNS` and finite values.

    Raises:
        TypeError: not a `Result`. ValueError: other columns. FloatingPointError: a non-finite value (the first named).
    """
    if not isinstance(out, Result):
        raise TypeError(f"{experiment_name}: the run function returned {type(out).__name__}, not runs.Result")
    if not isinstance(out.rows, pd.DataFrame) or list(out.rows.columns) != results.COLUMNS:
        cols = list(out.rows.columns) if isinstance(out.rows, pd.DataFrame) else type(out.rows).__name__
        raise ValueError(f"{experiment_name}: rows have columns {cols}, not {results.COLUMNS}")
    bad = out.rows[~pd.to_numeric(out.rows["value"], errors="coerce").map(math.isfinite)]
    if len(bad):
        raise FloatingPointError(f"{experiment_name}: {len(bad)} non-finite values, first: {bad.iloc[0].to_dict()}")


def _task(
    root: str, experiment_name: str, config_json: str, version: str, run_fn: Callable, threads: int = 1
) -> tuple[str, Any]:
    """Worker side of a sweep: ("ok", Result) or ("failed", "error + traceback"). Never raises.

    The run sees `threads` torch threads whatever the executor (the count is restored afterwards): CPU kernels sum
    in an order that depends on the thread count, so this is what makes stored rows identical across executors.
    """
    prev = torch.get_num_threads()
    try:
        torch.set_num_threads(threads)
        out = _execute(experiment_name, config_json, version, run_fn)
        _write_entry(Path(root), experiment_name, entry_key(experiment_name, config_json, version), out)
        return "ok", out
    except Exception as exc:  # noqa: BLE001 -- a failed run is reported, it does not stop the others
        return "failed", f"{type(exc).__name__}: {exc}\n{traceback.format_exc()}"
    finally:
        torch.set_num_threads(prev)


def _drop(entry: Path) -> None:
    if entry.is_dir() and not entry.is_symlink():
        shutil.rmtree(entry, ignore_errors=True)
    else:
        with contextlib.suppress(OSError):
            entry.unlink()


def _load_cached(
    root: Path, experiment_name: str, config_json: str, version: str, now: dict[str, str]
) -> Result | None:
    """The stored result of this run, or None when it must run: absent; corrupt (removed, with a warning naming
    the entry); holding another config than the one asked for (removed, warning); computed with another torch,
    numpy or python version than `now` (`results.library_versions`; `RERUN_ON`; removed, warning). Another CPU
    capability is kept (see the module docstring) and marked in ``meta["other_cpu_capability"]``."""
    entry = entry_dir(root, experiment_name, entry_key(experiment_name, config_json, version))
    if not os.path.lexists(entry):
        return None
    if not entry.is_dir() or not (entry / RESULT_FILE).is_file():
        what = "is not a folder" if not entry.is_dir() else f"has no {RESULT_FILE} file"
        warnings.warn(
            f"corrupt run entry {entry} (config {config_json}): it {what}; it is removed and re-run", stacklevel=3
        )
        _drop(entry)
        return None
    try:
        record = json.loads((entry / RECORD_FILE).read_text(encoding="utf-8"))
        stored = canonical(record["config"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        warnings.warn(
            f"corrupt run entry {entry} (config {config_json}): unreadable {RECORD_FILE} "
            f"({type(exc).__name__}: {exc}); it is removed and re-run",
            stacklevel=3,
        )
        _drop(entry)
        return None
    if stored != config_json:
        warnings.warn(
            f"run entry {entry} holds config {stored}, not the requested {config_json}; it is removed and re-run",
            stacklevel=3,
        )
        _drop(entry)
        return None
    if record.get("code_version") != version:
        warnings.warn(
            f"run entry {entry} was computed by code version {record.get('code_version')!r}, not the "
            f"running {version!r}; it is removed and re-run",
            stacklevel=3,
        )
        _drop(entry)
        return None
    changed = [f"{k} {record.get(k)} -> {now[k]}" for k in RERUN_ON if record.get(k) != now[k]]
    if changed:
        warnings.warn(
            f"run entry {entry} was computed with other library versions ({', '.join(changed)}); it is re-run",
            stacklevel=3,
        )
        _drop(entry)
        return None
    try:
        out = joblib.load(entry / RESULT_FILE)
        if not isinstance(out, Result):
            raise TypeError(f"stored object is {type(out).__name__}, not Result")
        if canonical(out.meta.get("config")) != config_json:
            raise ValueError("its result's record names another config")
        if out.meta.get("code_version") != version:
            raise ValueError(
                f"its result's record names code version {out.meta.get('code_version')!r}, not the running {version!r}"
            )
        check_result(experiment_name, out)  # a stored NaN is never served as a result
    except Exception as exc:  # noqa: BLE001
        warnings.warn(
            f"corrupt run entry {entry} (config {config_json}): {type(exc).__name__}: {exc}; it is removed and re-run",
            stacklevel=3,
        )
        _drop(entry)
        return None
    if record.get("cpu_capability") not in (None, now["cpu_capability"]):
        out.meta["other_cpu_capability"] = record.get("cpu_capability")
    return out


# ------------------------------------------------------------------------------------------------------- executors
def _env_int(name: str, low: int, high: int = checks.CAPS["threads"]) -> int | None:
    raw = os.environ.get(name)
    if raw in (None, ""):
        return None
    try:
        v = int(raw) if raw.strip().isascii() else None
    except ValueError:
        v = None
    if v is None or not low <= v <= high:
        raise ValueError(f"environment variable {name}={raw!r} must be an integer in [{low}, {high}]")
    return v


def resolve_executor(executor: str | None = None) -> str:
    """``$STUDY_EXECUTOR`` if set, else `executor` (default "serial").

    Raises:
        ValueError: the value (naming where it came from) is not one of `EXECUTORS`.
    """
    env = os.environ.get("STUDY_EXECUTOR")
    value, source = (env, "environment variable STUDY_EXECUTOR") if env else (executor or "serial", "executor")
    if value not in EXECUTORS:
        raise ValueError(f"{source}={value!r} is not one of {EXECUTORS}")
    return value


def default_workers() -> int:
    """``$STUDY_WORKERS``, else the number of CPU cores."""
    return _env_int("STUDY_WORKERS", 1) or os.cpu_count() or 1


_POOLS: dict[int, ProcessPoolExecutor] = {}
_DASK: dict[str, Any] = {}


def _watch_parent(parent: int, every_s: float = 1.0) -> None:
    """Start of a `processes` worker: exit as soon as the process that started the pool is gone, so that a killed
    notebook (kill -9, a crashed kernel) leaves no worker training orphaned runs."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(every_s)
        os._exit(1)

    threading.Thread(target=watch, daemon=True, name="study-parent-watch").start()


def _process_pool(workers: int) -> ProcessPoolExecutor:
    pool = _POOLS.get(workers)
    if pool is None:
        # spawn: a fresh interpreter per worker (forking a process whose torch thread pools exist can deadlock)
        pool = ProcessPoolExecutor(
            max_workers=workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_watch_parent,
            initargs=(os.getpid(),),
        )
        _POOLS[workers] = pool
    return pool


#: a Dask scheduler address: optional tcp:// or tls://, a host name or IPv4 address (or [IPv6]), a port 1..65535
SCHEDULER_ADDRESS = re.compile(
    r"(?:(?:tcp|tls)://)?(?:[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?|\[[0-9A-Fa-f:.]+\])"
    r":(?:6553[0-5]|655[0-2]\d|65[0-4]\d\d|6[0-4]\d{3}|[1-5]\d{4}|[1-9]\d{0,3})"
)


def dask_client(address: str | None = None, workers: int | None = None):
    """A `dask.distributed.Client`: to `address` / ``$STUDY_DASK_SCHEDULER`` if given, else to an embedded
    `LocalCluster` (processes, one thread per worker, `workers` workers). Kept for the life of this process."""
    from dask.distributed import Client, LocalCluster

    address = address or os.environ.get("STUDY_DASK_SCHEDULER") or None
    key = address or f"local:{workers or default_workers()}"
    client = _DASK.get(key)
    if client is None or client.status not in ("running", "connecting"):
        if address:
            if not SCHEDULER_ADDRESS.fullmatch(address):
                raise ValueError(
                    f"STUDY_DASK_SCHEDULER / address={address!r} is not a scheduler address "
                    "(accepted: [tcp://|tls://]host:port with a port in 1..65535, e.g. tcp://head:8786)"
                )
            try:
                client = Client(address, timeout="30s")
            except (OSError, TimeoutError) as exc:
                raise RuntimeError(
                    f"no Dask scheduler answered at STUDY_DASK_SCHEDULER / address={address!r} within "
                    f"30 s ({type(exc).__name__}: {exc}); start one with `dask scheduler` or unset "
                    "the variable for a local cluster"
                ) from exc
        else:
            cluster = LocalCluster(
                n_workers=workers or default_workers(), threads_per_worker=1, processes=True, dashboard_address=None
            )
            client = Client(cluster)
        _DASK[key] = client
    return client


@atexit.register
def _shutdown() -> None:
    for pool in _POOLS.values():
        pool.shutdown(wait=False, cancel_futures=True)
    for client in _DASK.values():
        try:
            cluster = client.cluster
            client.close()
            if cluster is not None:
                cluster.close()
        except Exception:  # noqa: BLE001 -- best effort at interpreter exit
            pass


# ----------------------------------------------------------------------------------------------------------- sweep
@dataclass
class Sweep:
    """What `sweep` returns. `results`/`artifacts`/`meta` are aligned with the configs (None where a run failed)."""

    configs: list[dict[str, Any]]
    results: list[Result | None]
    counts: dict[str, Any]
    failures: list[dict[str, Any]]

    @property
    def frame(self) -> pd.DataFrame:
        """The rows of every successful run, concatenated (`results.COLUMNS`)."""
        parts = [r.rows for r in self.results if r is not None]
        return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=results.COLUMNS)

    @property
    def artifacts(self) -> list[dict[str, Any] | None]:
        return [None if r is None else r.artifacts for r in self.results]

    @property
    def meta(self) -> list[dict[str, Any] | None]:
        return [None if r is None else r.meta for r in self.results]

    @property
    def labels(self) -> list[str]:
        """`run_label` of every config, aligned with `configs`."""
        return [run_label(c) for c in self.configs]

    diverged: list[dict[str, Any]] = field(default_factory=list)
    """``[{"config", "run", "reason"}]``: finished runs that `divergence` flags (stored and in `frame`)."""


def sweep(
    run_fn: Callable[[dict], Result],
    configs: Iterable[dict[str, Any]],
    *,
    executor: str | None = "serial",
    workers: int | None = None,
    store: str | Path | None = None,
    raise_on_failure: bool = True,
    desc: str | None = None,
) -> Sweep:
    """Run every config through `run_fn`, reusing stored runs; returns rows, artifacts and counts.

    Prints ``N runs: C cached, R ran, F failed`` and each failure with its config. Identical configs run once.

    Args:
        run_fn: a function decorated with `experiment`.
        configs: plain JSON-able dicts (see `canonical`), each a whole description of one run.
        executor: "serial", "processes" or "dask" (``$STUDY_EXECUTOR`` overrides it; see `resolve_executor`).
        workers: processes / embedded Dask workers (default `default_workers`).
        store: the store folder (default `store_root`).
        raise_on_failure: raise `SweepError` after all runs finished if any failed (the others stay stored).

    Raises:
        ValueError: `run_fn` not decorated with `experiment`, a bad config, executor or worker count.
        SweepError: some runs failed (only with `raise_on_failure`).
    """
    name = getattr(run_fn, "experiment", None)
    if name is None:
        raise ValueError(
            f"run_fn={getattr(run_fn, '__qualname__', run_fn)!r} is not decorated with @runs.experiment(name)"
        )
    executor = resolve_executor(executor)
    default_workers()  # STUDY_WORKERS is checked whatever the executor (issue 19: 0 was silently ignored)
    if workers is not None and (not isinstance(workers, int) or workers < 1):
        raise ValueError(f"workers={workers!r} must be an integer >= 1")
    configs = list(configs)
    texts = [canonical(c) for c in configs]
    root = store_root(store)
    if os.path.lexists(root / name) and not (root / name).is_dir():
        raise ValueError(
            f"{root / name} is not a folder: the run store keeps experiment {name!r}'s runs there "
            "(move the file away, or set STUDY_RUNS to another store)"
        )
    version = code_version(run_fn)

    done: dict[str, Result] = {}
    failed: dict[str, str] = {}
    futs: Any  # a dict of futures (processes) or a list of dask futures
    f: Any
    todo = []
    now = results.library_versions()
    for t in dict.fromkeys(texts):
        hit = _load_cached(root, name, t, version, now)
        if hit is not None:
            done[t] = hit
        else:
            todo.append(t)
    cached = len(done)

    bar = tqdm(total=len(done) + len(todo), initial=cached, desc=desc or name, unit="run", mininterval=2.0)

    def collect(t: str, status: str, payload: Any) -> None:
        if status == "ok":
            done[t] = payload
        else:
            failed[t] = payload
        bar.update(1)

    if todo and executor == "serial":
        for t in todo:
            collect(t, *_task(str(root), name, t, version, run_fn, RUN_THREADS))
    elif todo and executor == "processes":
        pool = _process_pool(workers or default_workers())
        futs = {pool.submit(_task, str(root), name, t, version, run_fn, RUN_THREADS): t for t in todo}
        for f in as_completed(futs):
            collect(futs[f], *f.result())
    elif todo:
        client = dask_client(workers=workers)
        remote = bool(os.environ.get("STUDY_DASK_SCHEDULER"))
        futs = []
        for t in todo:
            gpu = remote and str(json.loads(t).get("device", "cpu")).startswith("cuda")
            futs.append(
                client.submit(
                    _task,
                    str(root),
                    name,
                    t,
                    version,
                    run_fn,
                    RUN_THREADS,
                    key=f"{name}-{uuid.uuid4().hex}",
                    resources={"GPU": 1} if gpu else None,
                    pure=False,
                )
            )
        from dask.distributed import as_completed as dask_completed

        index = {f.key: t for f, t in zip(futs, todo)}
        for f in dask_completed(futs):
            collect(index[f.key], *f.result())
    bar.close()

    diverged = []
    for t, r in done.items():
        why = divergence(r.rows, getattr(run_fn, "chance", None))
        if why:
            diverged.append({"config": json.loads(t), "run": run_label(json.loads(t)), "reason": why})
    other = sorted(
        {str(r.meta.get("other_cpu_capability")) for r in done.values() if r.meta.get("other_cpu_capability")}
    )
    if other:
        print(
            f"{name}: stored runs computed under CPU capability {', '.join(other)} (this machine: "
            f"{cpu_capability()}) are reused; `make machine-check` tells whether a verdict depends on it"
        )
    counts = {
        "total": len(done) + len(failed),
        "cached": cached,
        "ran": len(todo) - len(failed),
        "failed": len(failed),
        "diverged": len(diverged),
        "executor": executor,
    }
    print(
        f"{name}: {counts['total']} runs: {cached} cached, {counts['ran']} ran, {counts['failed']} failed"
        + (f", {len(diverged)} diverged" if diverged else "")
        + ("" if len(set(texts)) == len(texts) else f" ({len(texts) - len(set(texts))} duplicate configs)")
        + f" [{executor}, store {root / name}]"
    )
    failures = [{"config": json.loads(t), "error": e} for t, e in failed.items()]
    for f in failures:
        print(f"FAILED {name} {json.dumps(f['config'], sort_keys=True)}\n  {f['error'].splitlines()[0]}")
    for d in diverged:
        print(f"DIVERGED {name} {json.dumps(d['config'], sort_keys=True)}\n  {d['reason']}")
    out = Sweep(configs, [done.get(t) for t in texts], counts, failures, diverged)
    if failures and raise_on_failure:
        raise SweepError(
            f"{name}: {len(failures)} of {len(set(texts))} runs failed (listed above; the others are "
            f"stored, re-running retries only the failed ones). First: {failures[0]['error'].splitlines()[0]}"
        )
    return out
