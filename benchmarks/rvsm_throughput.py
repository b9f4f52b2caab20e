"""Training throughput (images/s) of the curve CNN: our RVSM step vs a bare PyTorch loop, NCHW vs channels_last.

    python benchmarks/rvsm_throughput.py [--size 32] [--batch 64] [--steps 30] [--threads 2] [--device auto]

Random binary images of the given size (the throughput does not depend on the content). The same measurement runs
in notebooks/02_rvsm_curves.ipynb §7 on the generated data.
"""
from __future__ import annotations

import argparse

import torch

from study.models.curve_cnn import CurveCNN
from study.rvsm import train_step_throughput
from study.train import pick_device, throughput


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, default=32)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--steps", type=int, default=30)
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--device", default="auto")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    dev = pick_device(args.device)
    g = torch.Generator().manual_seed(0)
    x = (torch.rand(args.batch, 1, args.size, args.size, generator=g) > 0.85).float()
    y = torch.randint(0, 2, (args.batch,), generator=g)
    throughput(CurveCNN(args.size), x, y, batch_size=args.batch, steps=3, device=dev)  # warm-up
    print(f"device={dev} threads={torch.get_num_threads()} size={args.size} batch={args.batch} steps={args.steps}")
    for cl in (False, True):
        torch.manual_seed(0)
        bare = throughput(CurveCNN(args.size), x, y, batch_size=args.batch, steps=args.steps, channels_last=cl,
                          device=dev)
        torch.manual_seed(0)
        m = CurveCNN(args.size)
        ours = train_step_throughput(m, m.fc, x, y, batch_size=args.batch, steps=args.steps, channels_last=cl,
                                     device=dev)
        print(f"channels_last={cl!s:5}  bare loop {bare:8.1f} img/s   RVSM step {ours:8.1f} img/s")


if __name__ == "__main__":
    main()
