"""Training throughput (images/s) of the curve CNN: our RVSM step vs a bare PyTorch loop, NCHW vs channels_last.

    python benchmarks/rvsm_throughput.py [--size 32] [--batch 64] [--steps 30] [--threads 2] [--device auto]
                                         [--repeats 5]

Random binary images of the given size (the throughput does not depend on the content). The table is
`study.experiments.rvsm.figures.throughput_table`, the same one notebooks/02_rvsm_curves.ipynb §7 shows on the generated data;
``--repeats`` times the four loops in turn that many rounds and keeps each one's median (issue 18's target: the RVSM
step at >= 0.95x the bare loop in both layouts, column "vs bare same layout").
"""
from __future__ import annotations

import argparse

import torch

from study.experiments.rvsm.figures import throughput_table
from study.train import pick_device


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, default=32)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--steps", type=int, default=30)
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--device", default="auto")
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    dev = pick_device(args.device)
    g = torch.Generator().manual_seed(0)
    x = (torch.rand(args.batch, 1, args.size, args.size, generator=g) > 0.85).float()
    y = torch.randint(0, 2, (args.batch,), generator=g)
    print(f"device={dev} threads={torch.get_num_threads()} size={args.size} batch={args.batch} steps={args.steps}")
    print(throughput_table(x, y, batch_size=args.batch, steps=args.steps, device=dev,
                           repeats=args.repeats).to_string(index=False))


if __name__ == "__main__":
    main()
