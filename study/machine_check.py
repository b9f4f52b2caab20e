"""Are the verdicts stable across machines? Re-run a sample of a notebook's stored runs under other CPU kernels.

The same config can give other numbers under another instruction set: torch picks its CPU kernels by
``ATEN_CPU_CAPABILITY`` ("avx512", "avx2", "default" = scalar; `study.runs.cpu_capability`), and summation orders
differ between them. In issue 17 one 02 run collapsed under AVX2/AVX512 and not under scalar kernels, which flipped
every verdict of the notebook. This check (outside `make reproduce`, `make machine-check NB=...`):

1. copies the run store (``$STUDY_RUNS`` or ``runs/``) to ``build/machine/<notebook>-<capability>/runs``;
2. deletes from the copy the entries of a sample of runs: the lowest seed of every run family (configs equal but
   for the seed), so every claim family has at least one run re-computed;
3. executes the notebook with the same profile parameters under ``ATEN_CPU_CAPABILITY=<capability>`` against that
   copy (the other runs are read back from it unchanged);
4. compares every claim's verdict with ``reports/<notebook>/headline.json`` and writes
   ``reports/<notebook>/machine_check.json``; the report marks a claim whose verdict changed "machine-sensitive".

The original store and outputs are never modified (except for the written ``machine_check.json``).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from . import results, runs

REPO_ROOT = Path(__file__).resolve().parent.parent
CAPABILITIES = ("default", "avx2", "avx512")
RESULT = "machine_check.json"


def _records(store: Path) -> list[tuple[Path, dict[str, Any]]]:
    """Every stored run under `store` as (entry folder, its record.json); unreadable records are skipped."""
    out = []
    for rec in Path(store).glob(f"*/*/*/{runs.RECORD_FILE}"):
        try:
            record = json.loads(rec.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(record, dict):
            out.append((rec.parent, record))
    return out


def _entries(store: Path) -> list[tuple[Path, dict[str, Any]]]:
    """Every stored run under `store`: (entry folder, config)."""
    return [(path, r["config"]) for path, r in _records(store) if isinstance(r.get("config"), dict)]


def sample(entries: list[tuple[Path, dict[str, Any]]]) -> list[tuple[Path, dict[str, Any]]]:
    """The lowest-seed entry of every run family (configs equal but for "seed"), in a stable order."""
    families: dict[str, list[tuple[Path, dict[str, Any]]]] = defaultdict(list)
    for path, config in entries:
        key = json.dumps({k: v for k, v in config.items() if k != "seed"}, sort_keys=True)
        families[key].append((path, config))
    return [min(v, key=lambda e: (int(e[1].get("seed", 0) or 0), str(e[0]))) for _, v in sorted(families.items())]


def reran(store: Path, capability: str) -> int:
    """How many entries of `store` were computed under `capability` (the runs the check re-ran: the sample of the
    notebook's own experiments; samples of other experiments in a shared store are deleted but never re-run)."""
    return sum(str(r.get("cpu_capability", "")).lower() == capability for _, r in _records(store))


def compare(original: dict[str, Any], other: dict[str, Any], *, to: str, sample_text: str) -> dict[str, Any]:
    """Per claim (by its text): the verdict and mean under the other capability and whether the verdict changed."""
    frm = (original.get("env") or {}).get("cpu_capability", "unknown")
    new = {c["claim"]: c for c in other.get("claims") or []}
    rows = {}
    for c in original.get("claims") or []:
        o = new.get(c["claim"])
        rows[c["claim"]] = {
            "from": frm,
            "to": to,
            "sample": sample_text,
            "verdict": o["verdict"] if o else "missing",
            "mean": o.get("mean") if o else None,
            "sensitive": (o is None) or o["verdict"] != c["verdict"],
        }
    return {
        "from": frm,
        "to": to,
        "sample": sample_text,
        "git": (original.get("env") or {}).get("git"),
        "claims": rows,
        "sensitive": sorted(k for k, r in rows.items() if r["sensitive"]),
    }


def check(
    notebook: str,
    capability: str = "default",
    *,
    profile: str | None = None,
    reports: Path | str = REPO_ROOT / "reports",
    store: Path | str | None = None,
    work: Path | str = REPO_ROOT / "build" / "machine",
) -> dict[str, Any]:
    """Run the check on one notebook (module docstring) and write ``reports/<notebook>/machine_check.json``.

    Raises:
        ValueError: an unknown capability, no headline.json for the notebook, or an empty run store (`store`, else
            ``$STUDY_RUNS``, else ``runs/``, as `study.runs.store_root`).
        RuntimeError: the notebook failed under the other capability (its log is named).
    """
    if capability not in CAPABILITIES:
        raise ValueError(f"capability={capability!r} not in {CAPABILITIES}")
    reports = Path(reports)
    head_path = reports / notebook / "headline.json"
    if not head_path.is_file():
        raise ValueError(f"{head_path} does not exist: run `make reproduce` (or the notebook) first")
    original = json.loads(head_path.read_text(encoding="utf-8"))
    profile = profile or original.get("profile") or "default"
    src = runs.store_root(store)
    base = Path(work) / f"{notebook}-{capability}"
    shutil.rmtree(base, ignore_errors=True)
    copy = base / "runs"
    shutil.copytree(src, copy)
    chosen = sample(_entries(copy))
    if not chosen:
        raise ValueError(f"the run store {src} holds no run to re-run")
    for path, _ in chosen:
        shutil.rmtree(path)
    out = base / "out"
    out.mkdir(parents=True)
    env = {**os.environ, "ATEN_CPU_CAPABILITY": capability, "STUDY_RUNS": str(copy)}
    papermill = Path(sys.executable).parent / "papermill"
    cmd = [
        str(papermill),
        "--no-progress-bar",
        "-k",
        "study",
        "--cwd",
        ".",
        f"{notebook}.ipynb",
        str(out / f"{notebook}.ipynb"),
        "-f",
        f"params/{profile}/{notebook}.yaml",
        "-p",
        "profile",
        profile,
        "-p",
        "out_dir",
        str(out),
    ]
    t0 = time.perf_counter()
    with open(base / "papermill.log", "w") as log:
        rc = subprocess.run(cmd, cwd=REPO_ROOT / "notebooks", env=env, stdout=log, stderr=subprocess.STDOUT).returncode
    if rc != 0 or not (out / "headline.json").is_file():
        raise RuntimeError(
            f"{notebook} failed under ATEN_CPU_CAPABILITY={capability} (exit {rc}); log: {base / 'papermill.log'}"
        )
    other = json.loads((out / "headline.json").read_text(encoding="utf-8"))
    n = reran(copy, capability)
    sample_text = f"{n} runs re-run (the lowest seed of each run family), the others read from the store"
    result = compare(
        original, other, to=str((other.get("env") or {}).get("cpu_capability", capability)), sample_text=sample_text
    )
    result["wall_s"] = round(time.perf_counter() - t0, 1)
    result["reran"] = n
    results.atomic_write_text(reports / notebook / RESULT, json.dumps(result, indent=2))
    return result


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m study.machine_check", description=__doc__.splitlines()[0])
    ap.add_argument("notebook", help="e.g. 02_rvsm_curves (its reports/<notebook>/headline.json must exist)")
    ap.add_argument(
        "--capability",
        default="default",
        choices=CAPABILITIES,
        help="the other CPU kernels (ATEN_CPU_CAPABILITY), default: scalar",
    )
    ap.add_argument("--profile", default=None, help="parameter profile (default: the headline's)")
    ap.add_argument("--reports", default=str(REPO_ROOT / "reports"))
    a = ap.parse_args(argv)
    try:
        r = check(a.notebook, a.capability, profile=a.profile, reports=a.reports)
    except (ValueError, RuntimeError) as e:
        print(f"machine check: {e}", file=sys.stderr)
        return 1
    print(
        f"{a.notebook}: {r['from']} -> {r['to']}, {r['sample']}, {r['wall_s']} s; "
        f"{len(r['sensitive'])} of {len(r['claims'])} verdicts machine-sensitive"
    )
    for k in r["sensitive"]:
        c = r["claims"][k]
        print(f"  machine-sensitive: {k}: -> {c['verdict']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
