"""Tidy result tables, paper-vs-ours verdicts, the environment record and the two artifacts every notebook writes.

Artifacts of a notebook in ``reports/<notebook>/`` (read by `study.report`):

* ``results.csv`` -- tidy, one row per observation with the columns `COLUMNS`:
  ``study, dataset, model, method, seed, epoch, split, metric, value``. ``split`` is train/val/test (or "-" for
  quantities of the model itself, e.g. sparsity); metric names carry their unit where it is not obvious
  (``accuracy`` and ``sparsity`` are fractions in [0, 1], ``mi_bits`` in bits).
* ``headline.json`` -- ``{notebook, profile, wall_s, env, runs, params, metrics, claims}``, see `write_headline`.

Claims and their verdicts are `study.claims` (the one verdict rule); this module writes them.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import platform
import subprocess
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pandas as pd
import torch

from . import claims as claims_mod

COLUMNS = ["study", "dataset", "model", "method", "seed", "epoch", "split", "metric", "value"]
REPO_ROOT = Path(__file__).resolve().parent.parent


# ---------------------------------------------------------------------------------------------- files, written whole
def atomic_write_text(path: Path | str, text: str) -> Path:
    """Write `text` to `path` via a temporary file in the same folder and `os.replace` (never half-written)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".part", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def cell_digest(source: str) -> str:
    """The digest (16 hex digits of SHA-256) of a notebook cell's source, surrounding white space ignored: what
    `study.run.Run.figure` records of the cell that drew a figure and `study.report.figure_cells` looks up."""
    return hashlib.sha256(source.strip().encode("utf-8")).hexdigest()[:16]


#: the cell IPython runs now, from its ``pre_run_cell`` event (`watch_cells`): its raw source and, where the
#: front end sends one (JupyterLab), its id
_CELL: dict[str, Any] = {}


def _remember_cell(info: Any) -> None:
    _CELL.clear()
    _CELL.update(raw=str(getattr(info, "raw_cell", "") or ""), cell_id=getattr(info, "cell_id", None))


def watch_cells() -> None:
    """Follow the cells IPython runs (``pre_run_cell``, which fires whether or not the front end stores history:
    nbval does not), so that `current_cell` can name the cell that draws a figure; nothing outside IPython."""
    try:
        from IPython import get_ipython
    except ImportError:
        return
    ip = get_ipython()
    if ip is None:
        return
    callbacks = ip.events.callbacks["pre_run_cell"]
    for cb in [cb for cb in callbacks if getattr(cb, "__qualname__", "") == _remember_cell.__qualname__]:
        ip.events.unregister("pre_run_cell", cb)  # one watcher, also after a reload of this module
    ip.events.register("pre_run_cell", _remember_cell)


def current_cell() -> dict[str, Any]:
    """The code cell IPython is running (`watch_cells`): ``{"cell_sha256": cell_digest(its source)}`` plus
    ``"cell_id"`` where the front end sent one; {} when no cell is watched (a script, a worker process)."""
    if not _CELL:
        return {}
    out: dict[str, Any] = {"cell_sha256": cell_digest(_CELL["raw"])}
    if _CELL.get("cell_id"):
        out["cell_id"] = str(_CELL["cell_id"])
    return out


def save_figure(fig, path: Path | str, dpi: int = 110) -> Path:
    """Save a matplotlib figure whole (temporary file + rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.stem + ".part" + path.suffix)
    fig.savefig(tmp, dpi=dpi, bbox_inches="tight")
    os.replace(tmp, path)
    return path


# ------------------------------------------------------------------------------------------------------- environment
def git_commit(root: Path | str = REPO_ROOT) -> str:
    """The short HEAD commit of the repository at `root` (default: the one holding this package), with "+dirty"
    when tracked files changed, or "unknown"."""
    try:
        rev = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True, text=True, timeout=10
        )
        if rev.returncode != 0:
            return "unknown"
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout.strip()
        return rev.stdout.strip() + ("+dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def cpu_capability() -> str:
    """The CPU kernels torch dispatches to (``torch.backends.cpu.get_cpu_capability()``: "AVX512", "AVX2",
    "DEFAULT", ...; set by ``ATEN_CPU_CAPABILITY``). Results of the same config can differ between them."""
    try:
        return str(torch.backends.cpu.get_cpu_capability())
    except Exception:  # noqa: BLE001 -- an old torch without the query
        return "unknown"


def library_versions() -> dict[str, str]:
    """What changes numbers besides the code: torch, numpy and python versions, and the CPU capability."""
    import numpy

    return {
        "torch": torch.__version__.split("+")[0],
        "numpy": numpy.__version__,
        "python": platform.python_version(),
        "cpu_capability": cpu_capability(),
    }


def env_record(device: torch.device | str | None = None) -> dict[str, Any]:
    """torch and numpy versions, the CPU capability torch dispatches to, device (with GPU name), thread count, git
    commit, python version and host CPU count."""
    device = torch.device(device) if device is not None else torch.device("cpu")
    dev = str(device)
    if device.type == "cuda" and torch.cuda.is_available():
        dev = f"cuda ({torch.cuda.get_device_name(device)})"
    return {
        **library_versions(),
        "device": dev,
        "threads": torch.get_num_threads(),
        "cpus": os.cpu_count(),
        "git": git_commit(),
    }


class Timer:
    """Wall-clock timer: ``t = Timer(); ...; t.s`` -> seconds elapsed since creation."""

    def __init__(self) -> None:
        self.t0 = time.perf_counter()

    @property
    def s(self) -> float:
        return time.perf_counter() - self.t0


# ------------------------------------------------------------------------------------------------------- tidy tables
def tidy(rows: Iterable[dict[str, Any]], **fixed: Any) -> pd.DataFrame:
    """Rows (dicts with some of `COLUMNS`) plus the fixed columns `fixed`, as a frame with exactly `COLUMNS`.

    Missing columns are filled with "-" (text) so that every frame concatenates cleanly.

    Raises:
        ValueError: a key outside `COLUMNS`, or a row without "metric" and "value".
    """
    out = []
    for r in rows:
        r = {**fixed, **r}
        extra = set(r) - set(COLUMNS)
        if extra:
            raise ValueError(f"row keys {sorted(extra)} are not result columns {COLUMNS}")
        if "metric" not in r or "value" not in r:
            raise ValueError(f"row {r} lacks 'metric' or 'value'")
        out.append(r)
    df = pd.DataFrame(out, columns=COLUMNS)
    for c in COLUMNS:
        if c not in ("value", "seed", "epoch"):
            df[c] = df[c].fillna("-").astype(str)
    df["value"] = df["value"].astype(float)
    return df


def write_results(df: pd.DataFrame, out_dir: Path | str) -> Path:
    """Write the tidy frame to ``<out_dir>/results.csv`` whole.

    Raises:
        ValueError: the frame's columns are not `COLUMNS`.
    """
    if list(df.columns) != COLUMNS:
        raise ValueError(f"results columns {list(df.columns)} differ from {COLUMNS}")
    return atomic_write_text(Path(out_dir) / "results.csv", df.to_csv(index=False))


def mean_std(df: pd.DataFrame, by: list[str], value: str = "value") -> pd.DataFrame:
    """Mean, sample standard deviation (0 for a single seed) and count of `value` over the rows grouped by `by`."""
    g = df.groupby(by, sort=False)[value]
    out = g.agg(mean="mean", std="std", n="count").reset_index()
    out["std"] = out["std"].fillna(0.0)
    return out


def fmt_pm(mean: float, std: float, n: int, scale: float = 1.0, digits: int = 2) -> str:
    """ "m ± s (n=k)" with values multiplied by `scale` (e.g. 100 for percent)."""
    if mean is None or not math.isfinite(mean):
        return "n/a"
    n = int(n)  # pandas hands row-wise counts over as floats
    if n <= 1:
        return f"{mean * scale:.{digits}f} (n=1)"
    return f"{mean * scale:.{digits}f} ± {std * scale:.{digits}f} (n={n})"


def _jsonable(x: Any) -> Any:
    if isinstance(x, dict):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    if isinstance(x, torch.Tensor):
        return _jsonable(x.tolist())
    if hasattr(x, "item") and not isinstance(x, (str, bytes)):
        try:
            return x.item()
        except (ValueError, AttributeError):
            pass
    if isinstance(x, float) and not math.isfinite(x):
        return None
    if isinstance(x, Path):
        return str(x)
    return x


def peak_rss_mb() -> float:
    """Peak resident memory in MiB of this process and its finished children (`resource.getrusage`; Linux units)."""
    try:
        import resource
    except ImportError:  # not on Windows
        return float("nan")
    kb = max(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
    return round(kb / 1024.0, 1)


def write_headline(
    out_dir: Path | str,
    *,
    notebook: str,
    profile: str,
    wall_s: float,
    env: dict[str, Any],
    runs: dict[str, Any] | None = None,
    metrics: dict[str, dict[str, Any]],
    claims: list[dict[str, Any]],
    params: dict[str, Any] | None = None,
    deviations: list[dict[str, str]] | None = None,
    figures: list[dict[str, Any]] | None = None,
    compute: dict[str, Any] | None = None,
    training_checks: list[dict[str, Any]] | None = None,
    readings: dict[str, Any] | None = None,
) -> Path:
    """Write ``<out_dir>/headline.json`` whole (format in ../shared/DESIGN.md).

    `runs` is the notebook's run record ``{"total", "cached", "ran", "failed", "executor", ...}`` (`study.runs.sweep`).
    `metrics` maps "name/method" to ``{"mean", "ci95", "n", "unit", ...}``; `claims` are `study.claims.judge` /
    `study.claims.not_tested` rows; `deviations` are `study.claims.deviation` rows ``{setting, paper, ours, why,
    effect}``; `figures` ``[{name, file, caption, paper_ref}]``; `compute` the compute record (wall time, peak memory,
    summed per-run CPU / GPU seconds).

    Raises:
        ValueError: a claim that `study.claims.check_claim` refuses, or a deviation lacking a field.
    """
    claims = [dict(c) for c in claims]
    for c in claims:
        claims_mod.check_claim(c)
        c.setdefault("readings", {})
        c.setdefault("robustness", "not judged" if c["verdict"] == "not tested" else "no open choice")
        c.setdefault("flipped_by", [])
    for d in deviations or []:
        if not isinstance(d, dict) or set(d) != set(claims_mod.DEVIATION_FIELDS):
            raise ValueError(f"deviation {d!r} must have exactly the fields {claims_mod.DEVIATION_FIELDS}")
    doc = {
        "notebook": notebook,
        "profile": profile,
        "wall_s": round(float(wall_s), 1),
        "env": env,
        "runs": runs or {"total": 0, "cached": 0, "ran": 0, "failed": 0, "executor": "none"},
        "compute": compute or {},
        "params": params or {},
        "metrics": metrics,
        "claims": claims,
        "deviations": deviations or [],
        "figures": figures or [],
        "training_checks": training_checks or [],
        "readings": readings or {},
    }
    return atomic_write_text(Path(out_dir) / "headline.json", json.dumps(_jsonable(doc), indent=2))


def metric_summary(
    df: pd.DataFrame,
    metric: str,
    *,
    split: str | None = None,
    epoch: str | int = "last",
    unit: str = "fraction",
    by: str = "method",
) -> dict[str, dict[str, Any]]:
    """``{"<metric>/<method>": {mean, std, ci95, n, unit}}`` over seeds (ci95: `study.claims.interval`, None for n=1), from a tidy frame, at the last (or a given) epoch.

    Raises:
        ValueError: no row matches `metric` (and `split`).
    """
    d = df[df["metric"] == metric]
    if split is not None:
        d = d[d["split"] == split]
    if d.empty:
        raise ValueError(f"no rows with metric={metric!r} split={split!r}")
    if epoch == "last":
        last = d.groupby([by, "seed"])["epoch"].transform("max")
        d = d[d["epoch"] == last]
    else:
        d = d[d["epoch"] == epoch]
    out = {}
    for key, g in d.groupby(by, sort=False):
        v = g["value"].astype(float)
        m, ci, n = claims_mod.interval(v)
        out[f"{metric}/{key}"] = {
            "mean": m,
            "std": float(v.std()) if len(v) > 1 else 0.0,
            "ci95": list(ci) if ci is not None else None,
            "n": n,
            "unit": unit,
        }
    return out
