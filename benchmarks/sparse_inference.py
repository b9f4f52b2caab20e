"""Bytes and forward time of a sparse dense layer in CSR vs the dense matrix, and the break-even sparsity here.

    python benchmarks/sparse_inference.py [--shapes 128x512 128x5408] [--threads 1] [--weights u.pt]

Random (out, in) float32 matrices with a given fraction of exact zeros (`study.sparse_inference.sparsity_sweep`),
forward y = x·Wᵀ + b at batch 1 and 64: torch dense, torch ``sparse_csr`` (int64 indices), scipy ``csr_matrix``
(int32). ``--weights`` also reports a saved (out, in) tensor (e.g. an RVSM layer u from the run store's artifacts).
The same tables appear in notebooks/02_rvsm_curves.ipynb §8. Timings depend on the machine and its load.
"""
from __future__ import annotations

import argparse
import time

import pandas as pd
import torch

from study import sparse_inference as si


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shapes", nargs="+", default=["128x512", "128x5408"], help="OUTxIN of the dense layer")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--weights", default=None, help="a torch.save'd (out, in) tensor to report as well")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    pd.set_option("display.width", 200, "display.max_columns", 20)
    t0 = time.perf_counter()
    print(f"threads={torch.get_num_threads()}; bytes break-even from the formula: float32 + int64 indices "
          f"{si.bytes_breakeven(4, 8):.3f}, + int32 {si.bytes_breakeven(4, 4):.3f}")
    for text in args.shapes:
        shape = tuple(int(v) for v in text.lower().split("x"))
        sweep = si.sparsity_sweep(shape)
        print(f"\n== {shape}: forward µs per call (median)")
        print(sweep.pivot_table(index="target_sparsity", columns=["batch", "backend"], values="time_us").round(1))
        print(si.breakeven(sweep).to_string(index=False))
    if args.weights:
        w = torch.load(args.weights)
        print(f"\n== {args.weights} {tuple(w.shape)}")
        print(si.layer_report(w).round(3).to_string(index=False))
    print(f"\n{time.perf_counter() - t0:.1f} s")


if __name__ == "__main__":
    main()
