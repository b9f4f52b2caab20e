"""Runs per second of one fixed sweep under each executor of `study.runs.sweep` (a benchmark, not a test).

    python benchmarks/sweep_executors.py [--runs 8] [--images 512] [--size 32] [--epochs 3]

The sweep: `--runs` short trainings of the curve CNN of notebook 02 (`study.models.CurveCNN`) on random binary
images, SGD, one config per seed. Each executor starts from an empty store in a temporary folder, so every run is
computed; the time includes starting the worker processes / the Dask cluster (what a notebook pays once per sweep
in a fresh kernel). Executors: serial (one torch thread per run, as every executor runs it), processes and Dask
`LocalCluster` at 1 and 2 workers, and, for reference, serial with all cores' torch threads (the notebooks' loop
before the run store; its rows differ in the last bits from the others, see `study.runs.RUN_THREADS`).
Prints a table: seconds, runs/s, speed-up over serial.
"""
from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
from pathlib import Path

import torch

from study import results, runs
from study.models.curve_cnn import CurveCNN
from study.train import fit


@runs.experiment("bench_curve_cnn")
def short_run(config: dict) -> runs.Result:
    """One short training of CurveCNN(size) on random binary images (content does not change the cost)."""
    g = torch.Generator().manual_seed(config["seed"])
    x = (torch.rand(config["images"], 1, config["size"], config["size"], generator=g) < 0.2).float()
    y = torch.randint(0, 2, (config["images"],), generator=g)
    torch.manual_seed(config["seed"])
    model = CurveCNN(config["size"])
    rows = fit(model, x, y, epochs=config["epochs"], batch_size=64, lr=0.01, momentum=0.9, generator=g,
               channels_last=True, eval_at_start=False, progress=False)
    return runs.Result(rows=results.tidy(rows, study="bench", dataset="random", model="curve_cnn", method="sgd",
                                         seed=config["seed"]))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=8)
    ap.add_argument("--images", type=int, default=512)
    ap.add_argument("--size", type=int, default=32)
    ap.add_argument("--epochs", type=int, default=3)
    args = ap.parse_args()
    os.environ.pop("STUDY_EXECUTOR", None)
    configs = [{"seed": s, "images": args.images, "size": args.size, "epochs": args.epochs} for s in range(args.runs)]
    cases = [("serial, all-core threads (old loop)", "serial", None, torch.get_num_threads()),
             ("serial", "serial", None, 1),
             ("processes, 1 worker", "processes", 1, 1), ("processes, 2 workers", "processes", 2, 1),
             ("dask LocalCluster, 1 worker", "dask", 1, 1), ("dask LocalCluster, 2 workers", "dask", 2, 1)]
    print(f"{args.runs} runs of CurveCNN({args.size}) on {args.images} images x {args.epochs} epochs; "
          f"{os.cpu_count()} CPUs, torch {torch.__version__}, python {platform.python_version()}")
    table = []
    with tempfile.TemporaryDirectory() as tmp:
        for label, ex, workers, threads in cases:
            runs.RUN_THREADS = threads
            t0 = time.perf_counter()
            res = runs.sweep(short_run, configs, executor=ex, workers=workers, store=Path(tmp) / label.replace(" ", "_"))
            secs = time.perf_counter() - t0
            assert res.counts["ran"] == args.runs
            table.append((label, secs))
            runs._shutdown()
            runs._POOLS.clear()
            runs._DASK.clear()
    base = dict(table)["serial"]
    print(f"\n{'executor':40s} {'s':>7s} {'runs/s':>7s} {'speed-up':>9s}")
    for label, secs in table:
        print(f"{label:40s} {secs:7.1f} {args.runs / secs:7.2f} {base / secs:8.2f}x")


if __name__ == "__main__":
    # run the module imported by name, so that workers (spawned processes, Dask) import `short_run` by reference
    import sweep_executors
    sweep_executors.main()
