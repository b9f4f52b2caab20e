"""The plans of notebook 00: which run configs (plain dicts, the run store's part of the key) each section runs.
Every section runs ``n_seeds`` seeds ``seed * 1000 + s`` (`run_seeds`); within a seed every run of a learning-rate,
batch-size or variant grid starts from the same weights and sees the same subset and batch order."""

from __future__ import annotations

import math
from typing import Any

import torch

from study import checks, train

from . import run


def _device(device: str | torch.device) -> str:
    """ "cpu" or "cuda" ("auto" resolved by `study.train.pick_device`)."""
    return train.pick_device(str(device)).type


def _positive_int(**kw: Any) -> None:
    for k, v in kw.items():
        checks.need(checks.is_int(v, 1), k, v, "an integer >= 1")


def _rates(name: str, values: list[float], low_closed: bool = False, high: float = math.inf, what: str = "") -> None:
    """Refuse an empty list `values` or one with a value outside ([0 if `low_closed`, (0 otherwise, `high`)."""
    ok = bool(values) and all((0 <= v if low_closed else 0 < v) and v < high for v in values)
    checks.need(ok, name, values, what or "a non-empty list of numbers > 0")


def run_seeds(seed: int, n_seeds: int) -> list[int]:
    """The run seeds of a section: ``seed * 1000 + s`` for s < `n_seeds`.

    Raises:
        ValueError: `n_seeds` < 1 or `seed` < 0.
    """
    _positive_int(n_seeds=n_seeds)
    checks.need(isinstance(seed, int) and seed >= 0, "seed", seed, "an integer >= 0")
    return [seed * 1000 + s for s in range(n_seeds)]


def simplex_plan(
    *, seed: int, device: str | torch.device, classes: list[int], per_class: int, epochs: float, n_seeds: int = 1,
) -> list[dict[str, Any]]:  # fmt: skip
    """The §1 runs, one per seed of `run_seeds`: digits `classes` (three of 0..9), `per_class` training images each,
    `epochs` epochs of a 784-64-3 MLP (lr 0.05, B = 20, μ = 0.9, the constants ``run.SIMPLEX_*``).

    Raises:
        ValueError: not three distinct digits, or a size out of range.
    """
    ok = len(set(classes)) == 3 and all(isinstance(d, int) and 0 <= d <= 9 for d in classes)
    checks.need(ok, "classes", classes, "three distinct digits in 0..9")
    _positive_int(per_class=per_class)
    fixed = dict(hidden=run.SIMPLEX_HIDDEN, lr=run.SIMPLEX_LR, batch_size=run.SIMPLEX_BATCH, mu=run.SIMPLEX_MU)
    base = dict(device=_device(device), classes=list(classes), per_class=per_class, epochs=epochs, **fixed)
    return [{"seed": s, **base} for s in run_seeds(seed, n_seeds)]


def momentum_plan(
    *, seed: int, device: str | torch.device, per_class: int, val_per_class: int, hidden: int, batch_size: int,
    epochs: float, lrs: list[float], mu_max: float, n_seeds: int = 1,
) -> list[dict[str, Any]]:  # fmt: skip
    """§5 of the notebook: for each seed of `run_seeds`, each lr in `lrs`, μ = 0 ("none") and the Sutskever schedule
    ("sutskever"), in that order: 2·len(lrs)·n_seeds runs; the runs of one seed share subset, initial weights and
    batch order.

    Raises:
        ValueError: an empty or non-positive lr grid, `mu_max` outside [0, 1), or a size out of range.
    """
    _rates("lrs", lrs)
    _rates("mu_max", [mu_max], low_closed=True, high=1, what="[0, 1)")
    _positive_int(per_class=per_class, val_per_class=val_per_class, hidden=hidden, batch_size=batch_size)
    base = dict(device=_device(device), per_class=per_class, val_per_class=val_per_class, hidden=hidden)
    base.update(batch_size=batch_size, epochs=epochs, mu_max=mu_max, evals_per_epoch=run.MOMENTUM_EVALS_PER_EPOCH)
    return [
        {"seed": s, **base, "lr": lr, "momentum": m}
        for s in run_seeds(seed, n_seeds)
        for lr in lrs
        for m in ("none", "sutskever")
    ]


def minibatch_plan(
    *, seed: int, device: str | torch.device, per_class: int, val_per_class: int, hidden: int, batch_sizes: list,
    lrs: list[float], epochs: float, n_seeds: int = 1,
) -> list[dict[str, Any]]:  # fmt: skip
    """§6 of the notebook: for each seed of `run_seeds`, each B in `batch_sizes` ("full" = N = 10·per_class), each lr
    in `lrs`: μ = 0, `epochs` epochs, min(10, ⌈N/B⌉) evaluations per epoch.

    Raises:
        ValueError: a batch size outside [1, N] (or not "full"), or an empty / non-positive lr grid.
    """
    _positive_int(per_class=per_class, val_per_class=val_per_class, hidden=hidden)
    _rates("lrs", lrs)
    n = run.N_CLASSES * per_class
    bs = [n if b == "full" else b for b in batch_sizes]
    ok = bool(bs) and all(isinstance(b, int) and 1 <= b <= n for b in bs)
    checks.need(ok, "batch_sizes", batch_sizes, f"integers in [1, {n}] or 'full'")
    base = dict(device=_device(device), per_class=per_class, val_per_class=val_per_class, hidden=hidden, epochs=epochs)
    return [
        {"seed": s, **base, "batch_size": b, "lr": lr, "evals_per_epoch": min(10, math.ceil(n / b))}
        for s in run_seeds(seed, n_seeds)
        for b in bs
        for lr in lrs
    ]


def early_stopping_plan(
    *, seed: int, device: str | torch.device, per_class: int, val_per_class: int, hidden: int, epochs: int, lr: float,
    batch_size: int, momentum: float, label_noise: list[float], n_seeds: int, test_size: int,
) -> list[dict[str, Any]]:  # fmt: skip
    """§7 of the notebook: for each noise level in `label_noise`, the seeds of `run_seeds`.

    Raises:
        ValueError: a noise level outside [0, 1) or a size out of range.
    """
    sizes = dict(per_class=per_class, val_per_class=val_per_class, hidden=hidden, batch_size=batch_size)
    _positive_int(**sizes, n_seeds=n_seeds, test_size=test_size, epochs=epochs)
    _rates("label_noise", label_noise, low_closed=True, high=1, what="a non-empty list in [0, 1)")
    base = dict(device=_device(device), epochs=epochs, lr=lr, momentum=momentum, test_size=test_size, **sizes)
    return [{"seed": s, **base, "label_noise": noise} for noise in label_noise for s in run_seeds(seed, n_seeds)]


def dropout_plan(
    *, seed: int, device: str | torch.device, per_class: int, hidden: list[int], epochs: float, lr: float,
    batch_size: int, momentum: float, p: float, input_p: float | None, mc_samples: int, n_seeds: int, test_size: int,
) -> list[dict[str, Any]]:  # fmt: skip
    """§8 of the notebook: for each seed of `run_seeds`, the variants `run.DROPOUT_VARIANTS` in order; every "notes"
    run also runs `run.dropout_expectation` with `mc_samples` masks (one value per seed for the claims).

    Raises:
        ValueError: `p` or `input_p` outside (0, 1], or a size out of range.
    """
    hidden_sizes = {f"hidden[{i}]": h for i, h in enumerate(hidden)}
    _positive_int(
        per_class=per_class,
        batch_size=batch_size,
        mc_samples=mc_samples,
        n_seeds=n_seeds,
        test_size=test_size,
        **hidden_sizes,
    )
    for k, v in (("p", p), ("input_p", 1.0 if input_p is None else input_p)):
        checks.need(0 < v <= 1, k, v, "(0, 1] (keep probability)")
    base = dict(device=_device(device), per_class=per_class, hidden=list(hidden), epochs=epochs, lr=lr)
    base.update(batch_size=batch_size, momentum=momentum, p=p, input_p=input_p, test_size=test_size)
    return [
        {"seed": s, **base, "variant": v, "mc_samples": mc_samples if v == "notes" else None}
        for s in run_seeds(seed, n_seeds)
        for v in run.DROPOUT_VARIANTS
    ]
