"""Tidy result tables, paper-vs-ours verdicts, the environment record and the two artifacts every notebook writes.

Artifacts of a notebook in ``reports/<notebook>/`` (read by `study.report`):

* ``results.csv`` -- tidy, one row per observation with the columns `COLUMNS`:
  ``study, dataset, model, method, seed, epoch, split, metric, value``. ``split`` is train/val/test (or "-" for
  quantities of the model itself, e.g. sparsity); metric names carry their unit where it is not obvious
  (``accuracy`` and ``sparsity`` are fractions in [0, 1], ``mi_bits`` in bits).
* ``headline.json`` -- ``{notebook, profile, wall_s, env, runs, params, metrics, claims}``, see `write_headline`.

**The verdict rule, used by every notebook** (`verdict`): with the paper's value p, our mean m over n seeds and our
standard deviation s, and a tolerance `tol` in the metric's own unit stated per claim,

* "reproduced"      if |m - p| <= max(tol, 2 s),
* "partly"          if |m - p| <= 2 max(tol, 2 s),
* "not reproduced"  otherwise,
* "inconclusive"    if m is missing / not finite, or for a qualitative claim the caller cannot decide.

Qualitative claims (no paper number) carry the verdict the notebook computed from an explicit test, with the test in
the claim's ``note``.
"""
from __future__ import annotations

import json
import math
import os
import platform
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any, Iterable

import pandas as pd
import torch

COLUMNS = ["study", "dataset", "model", "method", "seed", "epoch", "split", "metric", "value"]
VERDICTS = ("reproduced", "partly", "not reproduced", "inconclusive")
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
        rev = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True,
                             text=True, timeout=10)
        if rev.returncode != 0:
            return "unknown"
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=root,
                               capture_output=True, text=True, timeout=10).stdout.strip()
        return rev.stdout.strip() + ("+dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def env_record(device: torch.device | str | None = None) -> dict[str, Any]:
    """torch version, device (with GPU name), thread count, git commit, python version and host CPU count."""
    device = torch.device(device) if device is not None else torch.device("cpu")
    dev = str(device)
    if device.type == "cuda" and torch.cuda.is_available():
        dev = f"cuda ({torch.cuda.get_device_name(device)})"
    return {
        "torch": torch.__version__.split("+")[0],
        "device": dev,
        "threads": torch.get_num_threads(),
        "cpus": os.cpu_count(),
        "git": git_commit(),
        "python": platform.python_version(),
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
    """"m ± s (n=k)" with values multiplied by `scale` (e.g. 100 for percent)."""
    if mean is None or not math.isfinite(mean):
        return "n/a"
    n = int(n)  # pandas hands row-wise counts over as floats
    if n <= 1:
        return f"{mean * scale:.{digits}f} (n=1)"
    return f"{mean * scale:.{digits}f} ± {std * scale:.{digits}f} (n={n})"


# ---------------------------------------------------------------------------------------------------------- verdicts
def verdict(paper_value: float, ours: float | None, ours_std: float = 0.0, tol: float = 0.0) -> str:
    """The study-wide verdict rule (module docstring): compare our mean with the paper's value.

    Args:
        paper_value: the paper's number, in the same unit as `ours`.
        ours, ours_std: our mean and sample standard deviation over seeds.
        tol: absolute tolerance in the metric's unit (>= 0).

    Raises:
        ValueError: `tol` or `ours_std` negative.
    """
    if tol < 0:
        raise ValueError(f"tol={tol} must be >= 0")
    if ours_std is not None and ours_std < 0:
        raise ValueError(f"ours_std={ours_std} must be >= 0")
    if ours is None or paper_value is None or not math.isfinite(ours):
        return "inconclusive"
    band = max(tol, 2.0 * (ours_std or 0.0))
    gap = abs(ours - paper_value)
    if gap <= band:
        return "reproduced"
    if gap <= 2.0 * band:
        return "partly"
    return "not reproduced"


def verdict_at_least(target: float, ours: float | None, partly_below: float) -> str:
    """One-sided verdict for claims of the form "reaches at least `target`" (a higher value supports the claim):
    reproduced if ours >= target, partly if ours >= target - partly_below, else not reproduced; inconclusive when
    `ours` is missing or not finite.

    Raises:
        ValueError: `partly_below` negative.
    """
    if partly_below < 0:
        raise ValueError(f"partly_below={partly_below} must be >= 0")
    if ours is None or not math.isfinite(ours):
        return "inconclusive"
    return "reproduced" if ours >= target else ("partly" if ours >= target - partly_below else "not reproduced")


def claim(paper: str, claim: str, paper_value: Any, ours: Any, *, ours_std: float | None = None,
          n: int | None = None, unit: str = "", tol: float | None = None, verdict_: str | None = None,
          note: str = "") -> dict[str, Any]:
    """One paper-vs-ours row for ``headline.json``.

    Numeric claims get their verdict from `verdict` (needs `tol`); qualitative ones pass `verdict_` explicitly,
    and say in `note` what test decided it.

    Raises:
        ValueError: neither `tol` (numeric) nor `verdict_` given, or `verdict_` not in `VERDICTS`.
    """
    if verdict_ is None:
        if tol is None:
            raise ValueError("claim() needs tol= for a numeric comparison or verdict_= for a qualitative claim")
        verdict_ = verdict(float(paper_value), None if ours is None else float(ours), ours_std or 0.0, tol)
    if verdict_ not in VERDICTS:
        raise ValueError(f"verdict_={verdict_!r} not in {VERDICTS}")
    return {"paper": paper, "claim": claim, "paper_value": paper_value, "ours": ours, "ours_std": ours_std,
            "n": n, "unit": unit, "tol": tol, "verdict": verdict_, "note": note}


def claims_table(claims: list[dict[str, Any]]) -> pd.DataFrame:
    """The claims as a display frame (paper value, ours ± std, verdict, note)."""
    rows = []
    for c in claims:
        ours = c["ours"]
        if isinstance(ours, float):
            ours = f"{ours:.4g}" + (f" ± {c['ours_std']:.2g}" if c.get("ours_std") else "")
        rows.append({"paper": c["paper"], "claim": c["claim"], "paper value": c["paper_value"], "ours": ours,
                     "n": c.get("n"), "unit": c.get("unit", ""), "verdict": c["verdict"], "note": c.get("note", "")})
    out = pd.DataFrame(rows)
    out["n"] = out["n"].astype("Int64")  # seed counts stay integers beside claims without one (<NA>)
    return out


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


def write_headline(out_dir: Path | str, *, notebook: str, profile: str, wall_s: float, env: dict[str, Any],
                   runs: dict[str, Any] | None = None, metrics: dict[str, dict[str, Any]], claims: list[dict[str, Any]],
                   params: dict[str, Any] | None = None, deviations: list[str] | None = None) -> Path:
    """Write ``<out_dir>/headline.json`` whole (format in the module docstring and ../shared/DESIGN.md).

    `runs` is the notebook's run record ``{"total", "cached", "ran", "failed", "executor"}`` (`study.runs.sweep`).
    `metrics` maps "name/method" to ``{"mean", "std", "n", "unit"}``; `claims` are `claim` rows; `deviations` lists,
    in words, where this run departs from the paper and why.

    Raises:
        ValueError: a claim's verdict outside `VERDICTS`.
    """
    for c in claims:
        if c.get("verdict") not in VERDICTS:
            raise ValueError(f"claim {c.get('claim')!r}: verdict {c.get('verdict')!r} not in {VERDICTS}")
    doc = {"notebook": notebook, "profile": profile, "wall_s": round(float(wall_s), 1), "env": env,
           "runs": runs or {"total": 0, "cached": 0, "ran": 0, "failed": 0, "executor": "none"},
           "params": params or {}, "metrics": metrics, "claims": claims, "deviations": deviations or []}
    return atomic_write_text(Path(out_dir) / "headline.json", json.dumps(_jsonable(doc), indent=2))


def metric_summary(df: pd.DataFrame, metric: str, *, split: str | None = None, epoch: str | int = "last",
                   unit: str = "fraction", by: str = "method") -> dict[str, dict[str, Any]]:
    """``{"<metric>/<method>": {mean, std, n, unit}}`` over seeds, from a tidy frame, at the last (or a given) epoch.

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
        out[f"{metric}/{key}"] = {"mean": float(v.mean()), "std": float(v.std()) if len(v) > 1 else 0.0,
                                  "n": int(len(v)), "unit": unit}
    return out
