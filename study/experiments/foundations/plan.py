"""The plans of notebook 00: which run configs (plain dicts, the run store's part of the key) each section runs.
Every plan reads the checked parameters (`params.Params`) and every config it returns is checked by its run's config
model (`run.SimplexConfig`, ...), so that a plan never emits a config the run refuses. Every section runs
``n_seeds`` seeds ``seed * 1000 + s`` (`run_seeds`); within a seed every run of a learning-rate, batch-size or
variant grid starts from the same weights and sees the same subset and batch order."""

from __future__ import annotations

import math
from typing import Any

import torch

from study import checks, train
from study.params import parse

from . import run
from .params import Params

Config = dict[str, Any]


def _device(seed: int, device: str | torch.device) -> str:
    """ "cpu" or "cuda" ("auto" resolved by `study.train.pick_device`) after checking the notebook `seed`
    (`study.checks.seed_in`)."""
    checks.seed_in({"seed": seed})
    return train.pick_device(str(device)).type


def _checked(model: type[run.RunConfig], configs: list[Config]) -> list[Config]:
    """`configs`, each checked by the run's config `model` (`study.params.parse`: ValueError naming the value)."""
    for c in configs:
        parse(model, c)
    return configs


def run_seeds(p: Params, *, seed: int) -> list[int]:
    """The run seeds of a section: ``seed * 1000 + s`` for s < `n_seeds`.

    Raises:
        ValueError: a bad `seed` (`study.checks.seed_in`).
    """
    checks.seed_in({"seed": seed})
    return [seed * 1000 + s for s in range(p.n_seeds)]


def simplex_plan(p: Params, *, seed: int, device: str | torch.device) -> list[Config]:
    """The §1 runs, one per seed of `run_seeds`: digits `simplex_classes`, `simplex_per_class` training images each,
    `simplex_epochs` epochs of a 784-64-3 MLP (lr 0.05, B = 20, μ = 0.9, the constants ``run.SIMPLEX_*``).

    Raises:
        ValueError: a bad seed, or CUDA asked for but absent.
    """
    fixed = dict(hidden=run.SIMPLEX_HIDDEN, lr=run.SIMPLEX_LR, batch_size=run.SIMPLEX_BATCH, mu=run.SIMPLEX_MU)
    base = dict(device=_device(seed, device), classes=list(p.simplex_classes), per_class=p.simplex_per_class)
    base.update(epochs=p.simplex_epochs, **fixed)
    return _checked(run.SimplexConfig, [{"seed": s, **base} for s in run_seeds(p, seed=seed)])


def momentum_plan(p: Params, *, seed: int, device: str | torch.device) -> list[Config]:
    """§5 of the notebook: for each seed of `run_seeds`, each lr in `lr_grid`, μ = 0 ("none") and the Sutskever
    schedule capped at `mu_max` ("sutskever"), in that order: 2·len(lr_grid)·n_seeds runs of `opt_epochs` epochs on
    `opt_per_class` training and `lr_val_per_class` validation images per digit; the runs of one seed share subset,
    initial weights and batch order.

    Raises:
        ValueError: a bad seed, or CUDA asked for but absent.
    """
    base = dict(device=_device(seed, device), per_class=p.opt_per_class, val_per_class=p.lr_val_per_class)
    base.update(hidden=p.opt_hidden, batch_size=p.opt_batch, epochs=p.opt_epochs, mu_max=p.mu_max)
    base.update(evals_per_epoch=run.MOMENTUM_EVALS_PER_EPOCH)
    return _checked(
        run.MomentumConfig,
        [
            {"seed": s, **base, "lr": lr, "momentum": m}
            for s in run_seeds(p, seed=seed)
            for lr in p.lr_grid
            for m in ("none", "sutskever")
        ],
    )


def minibatch_plan(p: Params, *, seed: int, device: str | torch.device) -> list[Config]:
    """§6 of the notebook: for each seed of `run_seeds`, each B in `mb_batch_sizes` ("full" = N = 10·mb_per_class),
    each lr in `mb_lrs`: μ = 0, `mb_epochs` epochs, min(10, ⌈N/B⌉) evaluations per epoch, on `mb_per_class`
    training and `lr_val_per_class` validation images per digit (`opt_hidden` hidden units).

    Raises:
        ValueError: a bad seed, or CUDA asked for but absent.
    """
    n = run.N_CLASSES * p.mb_per_class
    bs = [n if b == "full" else b for b in p.mb_batch_sizes]
    base = dict(device=_device(seed, device), per_class=p.mb_per_class, val_per_class=p.lr_val_per_class)
    base.update(hidden=p.opt_hidden, epochs=p.mb_epochs)
    return _checked(
        run.MinibatchConfig,
        [
            {"seed": s, **base, "batch_size": b, "lr": lr, "evals_per_epoch": min(10, math.ceil(n / b))}
            for s in run_seeds(p, seed=seed)
            for b in bs
            for lr in p.mb_lrs
        ],
    )


def early_stopping_plan(p: Params, *, seed: int, device: str | torch.device) -> list[Config]:
    """§7 of the notebook: for each noise level in `es_label_noise`, the seeds of `run_seeds`: `es_epochs` epochs
    of a 784-`es_hidden`-10 MLP on `es_per_class` training and `es_val_per_class` validation images per digit, then
    the first `test_size` test images.

    Raises:
        ValueError: a bad seed, or CUDA asked for but absent.
    """
    sizes = dict(per_class=p.es_per_class, val_per_class=p.es_val_per_class, hidden=p.es_hidden, batch_size=p.es_batch)
    base = dict(device=_device(seed, device), epochs=p.es_epochs, lr=p.es_lr, momentum=p.es_momentum)
    base.update(test_size=p.test_size, **sizes)
    configs = [{"seed": s, **base, "label_noise": noise} for noise in p.es_label_noise for s in run_seeds(p, seed=seed)]
    return _checked(run.EarlyStoppingConfig, configs)


def dropout_plan(p: Params, *, seed: int, device: str | torch.device) -> list[Config]:
    """§8 of the notebook: for each seed of `run_seeds`, the variants `run.DROPOUT_VARIANTS` in order; every "notes"
    run also runs `run.dropout_expectation` with `do_mc_samples` masks (one value per seed for the claims).

    Raises:
        ValueError: a bad seed, or CUDA asked for but absent.
    """
    base = dict(device=_device(seed, device), per_class=p.do_per_class, hidden=list(p.do_hidden), epochs=p.do_epochs)
    base.update(lr=p.do_lr, batch_size=p.do_batch, momentum=p.do_momentum, p=p.do_p, input_p=p.do_input_p)
    base.update(test_size=p.test_size)
    return _checked(
        run.DropoutConfig,
        [
            {"seed": s, **base, "variant": v, "mc_samples": p.do_mc_samples if v == "notes" else None}
            for s in run_seeds(p, seed=seed)
            for v in run.DROPOUT_VARIANTS
        ],
    )
