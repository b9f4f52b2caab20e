"""Tomasi, *Training Convolutional Neural Networks* (lecture notes, Duke, 2019; ``shared/papers/003_*.txt``): the
checks of notebook ``00_training_foundations``.

The notes have no experiments and no numbers; every check here is ours. Every claim is a `study.claims` row typed
from the notes' wording (identities ``point``, inequalities ``at_least``, comparisons ``ordering``) and judged on one
value per seed by the shared rule; what the value is per seed is written in the row's note. Two kinds of
computation:

* **training runs** -- cached, resumable tasks of the run store (`study.runs`), one config each, one decorated run
  function per kind (its own experiment name, so that editing one kind never invalidates the others):

  ========================  ===============================  ==============================================
  run function              experiment                       what one run trains (notes section)
  ========================  ===============================  ==============================================
  `simplex_run`             ``foundations_simplex``          784-64-3 ReLU MLP on three digits (§1, Fig. 1)
  `momentum_run`            ``foundations_momentum``         784-h-10 MLP, one lr, μ = 0 or Sutskever (§4)
  `minibatch_run`           ``foundations_minibatch``        784-h-10 MLP, one batch size B and lr, μ = 0 (§4)
  `early_stopping_run`      ``foundations_early_stopping``   784-h-10 MLP with label noise, stop on val (§4)
  `dropout_run`             ``foundations_dropout``          784-h-h-10 MLP, one dropout variant (§5)
  ========================  ===============================  ==============================================

  The notebook checks every parameter first (`check_params`: types, ranges, relations, unknown names), before any
  data is loaded; the plans (`simplex_plan`, `momentum_plan`, `minibatch_plan`, `early_stopping_plan`,
  `dropout_plan`) turn the checked parameters into configs;
* **cheap deterministic checks** computed in the notebook's process, not cached: the cross-entropy forms
  (`cross_entropy_findings`), the Hessian spectra of the risk (`convexity_findings`), entropy and Gibbs' inequality
  (`entropy_findings`) and Algorithm 1 against autograd and finite differences (`backprop_findings`).

Every ``*_findings`` function returns a `Findings` (named values for the claims, tidy rows, headline metrics,
tables, figures, a few lines of text); `report` shows one in the notebook, `merge` joins them, and `claims` turns
the merged values into the paper-vs-ours rows; `deviations` lists where the study departs from the notes. None of
that is called by a run function, so editing an analysis, a table or a figure never re-trains a network.

Seeds. A run seeds itself from ``config["seed"]`` (`study.train.seed_everything`: the global torch RNG, which
draws the initial weights and PyTorch's dropout masks, and the generator that draws the data subset and then the
mini-batch order). Every section runs ``n_seeds`` seeds ``seed * 1000 + s`` (s < n_seeds); within a seed every run of
a learning-rate, batch-size or variant grid starts from the same weights and sees the same subset and batch order
(dropout draws its subset and batch order from ``config["seed"] + 100``). The in-process checks draw their data and
parameters from generators seeded with the same per-seed values. Verdicts use `study.claims` (mean over the seeds,
95 % t-interval, n >= 3); every hyper-parameter chosen by looking at results (the learning rate of §5/§6, the stop
epoch of §7) is chosen on a validation split held out of the MNIST training images (`study.selection.choose`), and
the runs that compete in a choice never evaluate the test split.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
import torch
import torch.nn as nn
import torch.nn.functional as F

from study import backprop as bp
from study import checks, data, results, runs, selection, train
from study import claims as cl
from study import foundations as fd

PAPER = "Tomasi 2019"
STUDY = "00_training_foundations"
DATASET = "mnist"
N_CLASSES = 10
D_IN = 784  # 28 x 28 MNIST pixels

#: The notebook's parameters (all but profile, seed, device, out_dir, executor): `check_params` checks exactly these,
#: and headline.json records what it returns.
PARAMETERS = (
    "test_size",
    "threads",
    "simplex_classes",
    "simplex_per_class",
    "simplex_epochs",
    "convex_per_class",
    "convex_points",
    "bp_samples",
    "bp_fd_samples",
    "bp_channels",
    "bp_kernel",
    "bp_random_trials",
    "bp_fd_h",
    "lr_val_per_class",
    "opt_per_class",
    "opt_hidden",
    "opt_batch",
    "opt_epochs",
    "lr_grid",
    "mu_max",
    "mb_per_class",
    "mb_batch_sizes",
    "mb_lrs",
    "mb_epochs",
    "es_per_class",
    "es_val_per_class",
    "es_hidden",
    "es_epochs",
    "es_lr",
    "es_batch",
    "es_momentum",
    "es_label_noise",
    "do_per_class",
    "do_hidden",
    "do_epochs",
    "do_lr",
    "do_batch",
    "do_momentum",
    "do_p",
    "do_input_p",
    "do_mc_samples",
    "n_seeds",
)

#: §1: the small classifier whose soft-max outputs are drawn in the 2-simplex (fixed, not notebook parameters).
SIMPLEX_HIDDEN, SIMPLEX_LR, SIMPLEX_BATCH, SIMPLEX_MU = 64, 0.05, 20, 0.9
#: §5: evaluations of the training risk per epoch (the curves of Fig. 4).
MOMENTUM_EVALS_PER_EPOCH = 4
#: MNIST training images of each digit 0..9 and test images in all (the canonical files `study.data` checks): the
#: class-balanced subsets are drawn without replacement, so a per-class size may not exceed its digit's count.
MNIST_TRAIN_PER_CLASS = (5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949)
MNIST_TEST_SIZE = 10_000
#: §3: Algorithm 1's samples are drawn from the first `BP_POOL` training images, average-pooled to `BP_SIDE` px,
#: and its CNN max-pools 2x2 after a valid convolution (so the kernel is at most BP_SIDE - 1).
BP_POOL, BP_SIDE = 20_000, 14
#: §8: `dropout_expectation` averages the dropout networks on the first 500 test images, and checks one layer's
#: expectation on the first `DROPOUT_MC_IMAGES` of them (few images, many masks: the Monte Carlo noise falls as 1/√M).
DROPOUT_TEST_IMAGES = 500
DROPOUT_MC_IMAGES = 5
#: §8: the three dropout variants, in the notebook's order.
DROPOUT_VARIANTS = ("none", "notes", "torch")


# ---------------------------------------------------------------------------------------------------------- data
@functools.lru_cache(maxsize=2)
def mnist(split: str) -> tuple[torch.Tensor, torch.Tensor]:
    """A whole MNIST split ("train": 60,000 images, "test": 10,000) as (float32 (N, 1, 28, 28) in [0, 1], int64 (N,)),
    on the CPU, loaded once per process (`study.data.load`).

    Raises:
        ValueError: unknown `split`.
        study.data.DataError: the MNIST files are missing or corrupt (run ``make data``).
    """
    s = data.load(DATASET, split)
    return s.float(), s.labels


def subset(
    labels: torch.Tensor,
    per_class: int,
    generator: torch.Generator,
    *,
    classes: Iterable[int] | None = None,
    exclude: torch.Tensor | None = None,
) -> torch.Tensor:
    """Indices into `labels` (N,) of a class-balanced random subset: `per_class` of every class (of `classes` only,
    if given), never one of `exclude`, shuffled; drawn by `generator` (`study.data.balanced_indices`).

    Raises:
        ValueError: a class has fewer than `per_class` available examples.
    """
    pool = torch.arange(len(labels))
    if classes is not None:
        pool = pool[torch.isin(labels, torch.tensor(list(classes)))]
    if exclude is not None:
        keep = torch.ones(len(labels), dtype=torch.bool)
        keep[exclude] = False
        pool = pool[keep[pool]]
    return pool[data.balanced_indices(labels[pool], per_class, generator=generator)]


def _check(config: dict[str, Any], need: set[str], kind: str) -> dict[str, Any]:
    """Validate a run's config: exactly the keys `need`, a non-negative integer seed, a resolved device, positive
    sizes. Returns it unchanged.

    Raises:
        ValueError: a missing or unknown key, or a value out of range (names the key, the value and the range).
    """
    got = set(config) if isinstance(config, dict) else set()
    if got != need:
        raise ValueError(
            f"{kind} config={config!r}: missing keys {sorted(need - got)}, unknown keys {sorted(got - need)}"
        )
    if not checks.is_int(config["seed"], 0) or config["seed"] >= 2**63:
        raise ValueError(f"config['seed']={config['seed']!r} is out of range; accepted: an integer in [0, 2**63)")
    if not checks.device_ok(config["device"]):
        raise ValueError(f"config['device']={config['device']!r} is out of range; accepted: {checks.DEVICE_ACCEPTED}")
    sizes = {
        "per_class": "samples",
        "val_per_class": "samples",
        "hidden": "width",
        "batch_size": "samples",
        "test_size": "samples",
        "evals_per_epoch": "samples",
    }
    for key, kind in sizes.items():  # integers (a non-empty list of them for "hidden"), capped
        vals = config.get(key, 1) if isinstance(config.get(key), list) else [config.get(key, 1)]
        if not vals or not all(checks.is_int(x, 1) and x <= checks.CAPS[kind] for x in vals):
            raise ValueError(
                f"config[{key!r}]={config[key]!r} is out of range; accepted: an integer in [1, "
                f"{checks.CAPS[kind]}] (a non-empty list of them for 'hidden')"
            )
    if "epochs" in config and not (checks.is_num(config["epochs"]) and 0 < config["epochs"] <= checks.CAPS["epochs"]):
        raise ValueError(
            f"config['epochs']={config['epochs']!r} is out of range; accepted: a number in (0, "
            f"{checks.CAPS['epochs']}] (fractions of an epoch allowed)"
        )
    if "lr" in config and not (checks.is_num(config["lr"]) and config["lr"] > 0):
        raise ValueError(f"config['lr']={config['lr']!r} is out of range; accepted: a finite number > 0")
    if "classes" in config:
        cls = config["classes"]
        if not (
            isinstance(cls, list)
            and len(cls) == 3
            and all(checks.is_int(d, 0) and d <= 9 for d in cls)
            and len(set(cls)) == 3
        ):
            raise ValueError(f"config['classes']={cls!r} is out of range; accepted: three distinct digits in 0..9")
    return config


def _test_set(test_size: int, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """The first `test_size` MNIST test images and labels on `device`."""
    x, y = mnist("test")
    return x[:test_size].to(device), y[:test_size].to(device)


# ------------------------------------------------------------------------------------------- training runs
@runs.experiment("foundations_simplex", chance=1 / 3)  # 3 digits
def simplex_run(config: dict[str, Any]) -> runs.Result:
    """§1, Fig. 1: train a ReLU MLP 784-``hidden``-3 on three MNIST digits and map every test image of those digits
    into the 2-simplex.

    Config keys: ``seed``, ``device``, ``classes`` (the three digits), ``per_class`` (training images per digit),
    ``hidden``, ``epochs``, ``lr``, ``batch_size``, ``mu`` (constant momentum); `simplex_plan` builds it. The
    generator seeded with ``seed`` draws the subset, then the batch order; the global RNG the initial weights.

    Returns:
        `runs.Result`: rows (model ``mlp-784-<hidden>-3``, method "simplex", split "test") ``accuracy`` (fraction of
        test images inside their class's region P_c) and ``max_abs_sum_minus_1`` (max |Σ p - 1|); artifacts
        ``logits`` float64 (M, 3) and ``labels`` int64 (M,) in 0..2 (index into ``classes``) of the M test images.

    Raises:
        ValueError: a bad config.
    """
    c = _check(
        config, {"seed", "device", "classes", "per_class", "hidden", "epochs", "lr", "batch_size", "mu"}, "simplex"
    )
    g = train.seed_everything(c["seed"])
    dev = torch.device(c["device"])
    x_train, y_train = mnist("train")
    x_test, y_test = mnist("test")
    cls = list(c["classes"])
    relabel = {d: i for i, d in enumerate(cls)}
    idx = subset(y_train, c["per_class"], g, classes=cls)
    x = x_train[idx].to(dev)
    y = torch.tensor([relabel[int(v)] for v in y_train[idx]], device=dev)
    model = fd.mlp([D_IN, c["hidden"], len(cls)]).to(dev)
    fd.train_momentum(model, x, y, lr=c["lr"], batch_size=c["batch_size"], epochs=c["epochs"], mu=c["mu"], generator=g)
    mask = torch.isin(y_test, torch.tensor(cls))
    yt = torch.tensor([relabel[int(v)] for v in y_test[mask]])
    with torch.inference_mode():
        model.eval()
        logits = model(x_test[mask].to(dev)).double().cpu()
    p = fd.softmax(logits)
    acc = float((fd.decision_region(p) == yt).double().mean())
    on_simplex = float((p.sum(1) - 1).abs().max())
    model_name = f"mlp-784-{c['hidden']}-{len(cls)}"
    rows = [{"metric": "accuracy", "value": acc}, {"metric": "max_abs_sum_minus_1", "value": on_simplex}]
    df = results.tidy(
        rows, study=STUDY, dataset=DATASET, model=model_name, method="simplex", split="test", seed=c["seed"]
    )
    return runs.Result(rows=df, artifacts={"logits": logits, "labels": yt})


def _train_mlp(
    c: dict[str, Any], mu: Any, evals_per_epoch: int
) -> tuple[nn.Module, list[dict[str, Any]], torch.device]:
    """Shared body of `momentum_run` and `minibatch_run`: a class-balanced subset of ``per_class`` images per digit
    and a disjoint validation subset of ``val_per_class`` per digit, both from the MNIST *training* split (generator
    seeded with ``seed``, in that order, then the batch order), a 784-``hidden``-10 ReLU MLP (global RNG seeded with
    ``seed``), trained by `study.foundations.train_momentum` with the training risk and error recorded
    `evals_per_epoch` times per epoch, and the validation risk and error at the end (split "val"; the test split is
    never touched: these runs compete in a learning-rate choice). Their learning-rate grids include rates too large
    on purpose: a non-finite loss stops training and is recorded (``on_non_finite="record"``: a "diverged" row, and
    validation risk +inf and error 1, so that a choice can never fall on it) instead of failing the run.

    Returns:
        (the trained model, its tidy rows without model/method, the device).
    """
    g = train.seed_everything(c["seed"])
    dev = torch.device(c["device"])
    x_train, y_train = mnist("train")
    idx = subset(y_train, c["per_class"], g)
    va_idx = subset(y_train, c["val_per_class"], g, exclude=idx)
    x, y = x_train[idx].to(dev), y_train[idx].to(dev)
    model = fd.mlp([D_IN, c["hidden"], N_CLASSES]).to(dev)
    rows = fd.train_momentum(
        model,
        x,
        y,
        lr=c["lr"],
        batch_size=c["batch_size"],
        epochs=c["epochs"],
        mu=mu,
        generator=g,
        eval_sets={"train": (x, y)},
        evals_per_epoch=evals_per_epoch,
        on_non_finite="record",
    )
    if any(r["metric"] == "diverged" for r in rows):
        v_risk, v_err = math.inf, 1.0
    else:
        v_risk, v_err = fd.risk_and_error(model, x_train[va_idx].to(dev), y_train[va_idx].to(dev))
    rows += [
        {"epoch": c["epochs"], "split": "val", "metric": "risk_nats", "value": v_risk},
        {"epoch": c["epochs"], "split": "val", "metric": "error", "value": v_err},
    ]
    return model, rows, dev


@runs.experiment("foundations_momentum", chance=1 / N_CLASSES)  # 10 balanced digits
def momentum_run(config: dict[str, Any]) -> runs.Result:
    """§4, Fig. 4: one learning rate α, with the momentum method (`study.foundations.momentum_step`) at μ = 0
    (``momentum = "none"``) or the Sutskever et al. schedule capped at ``mu_max`` (``"sutskever"``).

    Config keys: ``seed``, ``device``, ``per_class``, ``val_per_class``, ``hidden``, ``batch_size``, ``epochs``,
    ``lr``, ``momentum``, ``mu_max``, ``evals_per_epoch``; `momentum_plan` builds them.

    Returns:
        `runs.Result`: rows (model ``mlp-784-<hidden>-10``, method ``lr=<lr>,momentum=<momentum>``) of
        `study.foundations.train_momentum` (epoch = samples seen / N; train ``risk_nats`` and ``error``; ``step``;
        ``wall_s``; ``diverged`` = 1 if the loss became non-finite) and the final validation ``risk_nats`` and
        ``error`` (see `_train_mlp`); no test rows, no artifacts.

    Raises:
        ValueError: a bad config.
    """
    c = _check(
        config,
        {
            "seed",
            "device",
            "per_class",
            "val_per_class",
            "hidden",
            "batch_size",
            "epochs",
            "lr",
            "momentum",
            "mu_max",
            "evals_per_epoch",
        },
        "momentum",
    )
    if c["momentum"] not in ("none", "sutskever"):
        raise ValueError(f"config['momentum']={c['momentum']!r} is out of range; accepted: 'none', 'sutskever'")
    if not 0 <= c["mu_max"] < 1:
        raise ValueError(f"config['mu_max']={c['mu_max']!r} is out of range; accepted: [0, 1)")
    mu_max = c["mu_max"]
    mu = 0.0 if c["momentum"] == "none" else (lambda t: fd.sutskever_momentum(t, mu_max))
    _, rows, _ = _train_mlp(c, mu, c["evals_per_epoch"])
    df = results.tidy(
        rows,
        study=STUDY,
        dataset=DATASET,
        model=f"mlp-784-{c['hidden']}-10",
        method=f"lr={c['lr']},momentum={c['momentum']}",
        seed=c["seed"],
    )
    return runs.Result(rows=df)


@runs.experiment("foundations_minibatch", chance=1 / N_CLASSES)  # 10 balanced digits
def minibatch_run(config: dict[str, Any]) -> runs.Result:
    """§4: online (B = 1), mini-batch and batch (B = N) learning at one learning rate, μ = 0, for ``epochs`` passes
    (the same number of per-sample gradients for every B).

    Config keys: ``seed``, ``device``, ``per_class``, ``val_per_class``, ``hidden``, ``batch_size`` (B,
    1..10·per_class), ``epochs``, ``lr``, ``evals_per_epoch``; `minibatch_plan` builds them.

    Returns:
        `runs.Result`: rows (model ``mlp-784-<hidden>-10``, method ``B=<B>,lr=<lr>``) of
        `study.foundations.train_momentum` (train ``risk_nats``, ``error``, ``step``, ``wall_s``, ``diverged``) and
        the final validation ``risk_nats`` and ``error`` (see `_train_mlp`); no test rows, no artifacts.

    Raises:
        ValueError: a bad config (B larger than the subset included).
    """
    c = _check(
        config,
        {"seed", "device", "per_class", "val_per_class", "hidden", "batch_size", "epochs", "lr", "evals_per_epoch"},
        "minibatch",
    )
    _, rows, _ = _train_mlp(c, 0.0, c["evals_per_epoch"])
    df = results.tidy(
        rows,
        study=STUDY,
        dataset=DATASET,
        model=f"mlp-784-{c['hidden']}-10",
        method=f"B={c['batch_size']},lr={c['lr']}",
        seed=c["seed"],
    )
    return runs.Result(rows=df)


@runs.experiment("foundations_early_stopping", chance=1 / N_CLASSES)  # 10 balanced digits
def early_stopping_run(config: dict[str, Any]) -> runs.Result:
    """§4, early termination: train a 784-``hidden``-10 MLP with constant momentum for ``epochs`` epochs on
    ``per_class`` images per digit, a fraction ``label_noise`` of whose labels is replaced by a random wrong one,
    record the zero-one error and risk on the training subset and on a disjoint validation subset (``val_per_class``
    per digit, from the training split) after every epoch, and keep a copy of the network at the stop epoch: the
    first epoch >= 1 with the lowest validation error (a copy is taken whenever the validation error falls strictly).
    Only after training are the first ``test_size`` test images evaluated, once with the stopped network and once
    with the final one.

    Config keys: ``seed``, ``device``, ``per_class``, ``val_per_class``, ``hidden``, ``epochs``, ``lr``,
    ``batch_size``, ``momentum``, ``label_noise`` (in [0, 1)), ``test_size``; `early_stopping_plan` builds them. The
    generator seeded with ``seed`` draws, in order, the training subset, the validation subset, the flipped labels
    and the batch order.

    Returns:
        `runs.Result`: rows (model ``mlp-784-<hidden>-10``, method ``label_noise=<label_noise>``) of
        `study.foundations.train_momentum` for splits train/val, plus test rows ``error_at_stop`` and
        ``risk_nats_at_stop`` (epoch = the stop epoch) and ``error`` and ``risk_nats`` (epoch = ``epochs``, the
        network trained to the end); no artifacts (`early_stopping_summary` reads the rows).

    Raises:
        ValueError: a bad config.
    """
    import copy

    c = _check(
        config,
        {
            "seed",
            "device",
            "per_class",
            "val_per_class",
            "hidden",
            "epochs",
            "lr",
            "batch_size",
            "momentum",
            "label_noise",
            "test_size",
        },
        "early_stopping",
    )
    if not 0 <= c["label_noise"] < 1:
        raise ValueError(f"config['label_noise']={c['label_noise']!r} is out of range; accepted: [0, 1)")
    g = train.seed_everything(c["seed"])
    dev = torch.device(c["device"])
    x_train, y_train = mnist("train")
    tr_idx = subset(y_train, c["per_class"], g)
    va_idx = subset(y_train, c["val_per_class"], g, exclude=tr_idx)
    x, y = x_train[tr_idx].to(dev), y_train[tr_idx].clone()
    flip = torch.rand(len(y), generator=g) < c["label_noise"]
    y[flip] = (y[flip] + torch.randint(1, N_CLASSES, (int(flip.sum()),), generator=g)) % N_CLASSES  # a wrong label
    y = y.to(dev)
    xv, yv = x_train[va_idx].to(dev), y_train[va_idx].to(dev)
    model = fd.mlp([D_IN, c["hidden"], N_CLASSES]).to(dev)
    best: dict[str, Any] = {"err": math.inf, "epoch": 0, "state": None}

    def checkpoint(net: nn.Module, epoch: float, rows_so_far: list[dict[str, Any]]) -> None:
        v_err = next(r["value"] for r in reversed(rows_so_far) if r["split"] == "val" and r["metric"] == "error")
        if epoch > 0 and v_err < best["err"]:
            best.update(err=v_err, epoch=epoch, state=copy.deepcopy(net.state_dict()))

    rows = fd.train_momentum(
        model,
        x,
        y,
        lr=c["lr"],
        batch_size=c["batch_size"],
        epochs=c["epochs"],
        mu=c["momentum"],
        generator=g,
        eval_sets={"train": (x, y), "val": (xv, yv)},
        callback=checkpoint,
    )
    xt, yt = _test_set(c["test_size"], dev)
    te_risk, te_err = fd.risk_and_error(model, xt, yt)
    model.load_state_dict(best["state"])
    st_risk, st_err = fd.risk_and_error(model, xt, yt)
    rows += [
        {"epoch": best["epoch"], "split": "test", "metric": "error_at_stop", "value": st_err},
        {"epoch": best["epoch"], "split": "test", "metric": "risk_nats_at_stop", "value": st_risk},
        {"epoch": c["epochs"], "split": "test", "metric": "error", "value": te_err},
        {"epoch": c["epochs"], "split": "test", "metric": "risk_nats", "value": te_risk},
    ]
    df = results.tidy(
        rows,
        study=STUDY,
        dataset=DATASET,
        model=f"mlp-784-{c['hidden']}-10",
        method=f"label_noise={c['label_noise']}",
        seed=c["seed"],
    )
    return runs.Result(rows=df)


def dropout_variant_name(variant: str, p: float) -> str:
    """The ``method`` label of a dropout variant ("none", "notes", "torch") with keep probability `p`.

    Raises:
        ValueError: unknown `variant`.
    """
    names = {
        "none": "no dropout",
        "notes": f"p={p}, weights x p at test (notes)",
        "torch": f"p={p}, torch inverted dropout",
    }
    if variant not in names:
        raise ValueError(f"variant={variant!r} is out of range; accepted: {list(names)}")
    return names[variant]


def dropout_expectation(
    net: nn.Sequential, x_test: torch.Tensor, p: float, mc_samples: int, seed: int
) -> dict[str, Any]:
    """§5: for a network trained with the notes' dropout (`study.foundations.Dropout`, keep probability `p`), check
    that the notes' rule (weights leaving a unit × p at test time) and PyTorch's inverted dropout agree in
    expectation, on the CPU in float32.

    For the first dropout layer after a hidden ReLU and the `nn.Linear` after it, on the first `DROPOUT_MC_IMAGES`
    images of `x_test`: the Monte Carlo mean over M masks (M on a log grid up to `mc_samples`) of the pre-activations
    with the notes' dropout and weights W, and with `nn.Dropout(1 - p)` and weights pW, against the test-time value;
    then, on the first 500 images, the average soft-max of min(`mc_samples`, 500) dropout networks against the
    weight-scaled network (`study.foundations.scale_weights`).

    Args:
        net: trained, with `Dropout(mode="scale_at_test")` layers (moved to the CPU in place).
        x_test: (M, 1, 28, 28) test images; seed: seeds the notes' masks (seed + 4) and the global RNG for the
            whole-network masks (seed + 5); PyTorch's masks in between come from the global RNG as it stands.

    Returns:
        {"mc": list of {"M", "notes: ...", "torch inverted: ..."} relative errors, "M_final", "exact_eval"
        (max |scaled - eval| / max |eval|), "agree" (argmax agreement, fraction), "tv" (mean total-variation
        distance), "n_avg" (dropout networks averaged)}.

    Raises:
        AssertionError: the two conventions' test-time pre-activations differ (they are the same network).
    """
    net = net.cpu().eval()
    j = next(i for i in range(1, len(net)) if isinstance(net[i], fd.Dropout) and isinstance(net[i - 1], nn.ReLU))
    lin2: nn.Linear = net[j + 1]  # type: ignore[assignment]  # the Linear after the first hidden dropout layer
    with torch.inference_mode():
        h1 = net[:j](x_test[:DROPOUT_MC_IMAGES].cpu())  # (images, hidden) outputs of hidden layer 1
        target_notes = lin2(h1 * p)  # notes: weights leaving the units multiplied by p
        w_inv = nn.Linear(lin2.in_features, lin2.out_features)
        w_inv.load_state_dict({"weight": lin2.weight * p, "bias": lin2.bias})  # the inverted-dropout weights
        target_inv = w_inv(h1)  # inverted dropout: nothing to do at test time
        assert torch.allclose(target_notes, target_inv, rtol=1e-5, atol=1e-6)
        drop_notes = fd.Dropout(p, generator=torch.Generator().manual_seed(seed + 4)).train()
        drop_torch = nn.Dropout(1 - p).train()
        ms = np.unique(np.logspace(0, math.log10(mc_samples), 12).astype(int))
        acc_n, acc_t = torch.zeros_like(target_notes), torch.zeros_like(target_notes)
        mc, m_done = [], 0
        scale = float(target_notes.abs().mean())
        for m in ms:
            for _ in range(m - m_done):
                acc_n += lin2(drop_notes(h1))  # classic dropout, weights W
                acc_t += w_inv(drop_torch(h1))  # PyTorch inverted dropout, weights p W
            m_done = m
            err_n = float((acc_n / m - target_notes).abs().mean()) / scale
            err_t = float((acc_t / m - target_inv).abs().mean()) / scale
            mc.append(
                {
                    "M": int(m),
                    "notes: mean over masks vs weights x p": err_n,
                    "torch inverted: mean over masks vs eval()": err_t,
                }
            )
        scaled = fd.scale_weights(net)  # whole network: average of M dropout nets vs scaled net
        net.train()
        torch.manual_seed(seed + 5)
        xq = x_test[:500].cpu()
        n_avg = min(mc_samples, 500)
        p_avg = torch.stack([torch.softmax(net(xq), 1) for _ in range(n_avg)]).mean(0)
        net.eval()
        p_scaled = torch.softmax(scaled(xq), 1)
        exact_eval = float((scaled(xq) - net(xq)).abs().max() / net(xq).abs().max())
    return {
        "mc": mc,
        "M_final": int(ms[-1]),
        "exact_eval": exact_eval,
        "n_avg": n_avg,
        "agree": float((p_avg.argmax(1) == p_scaled.argmax(1)).double().mean()),
        "tv": float(0.5 * (p_avg - p_scaled).abs().sum(1).mean()),
    }


@runs.experiment("foundations_dropout", chance=1 / N_CLASSES)  # 10 balanced digits
def dropout_run(config: dict[str, Any]) -> runs.Result:
    """§5: train a 784-``hidden``-10 ReLU MLP without dropout (``variant = "none"``), with the notes' dropout (keep
    probability ``p`` on hidden units, ``input_p`` on the inputs; test network `study.foundations.scale_weights`;
    ``"notes"``) or with PyTorch's inverted `nn.Dropout(1 - p)` (``"torch"``), and measure its train/test gap.

    Config keys: ``seed`` (initial weights and dropout masks), ``device``, ``variant``, ``per_class``, ``hidden``
    (list of hidden widths), ``epochs``, ``lr``, ``batch_size``, ``momentum``, ``p``, ``input_p`` (None: no input
    dropout), ``test_size``, ``mc_samples`` (None, or the masks of `dropout_expectation`, run on the trained network;
    only for a "notes" run); `dropout_plan` builds them. The subset and the batch order are drawn by a generator
    seeded with ``seed + 100``, so the variants of one seed share both.

    Returns:
        `runs.Result`: rows (model ``mlp-784-<h1>-<h2>-10``, method `dropout_variant_name`) of
        `study.foundations.train_momentum` (train ``risk_nats`` and ``error`` per epoch, ``step``, ``wall_s``), the
        test ``risk_nats`` and ``error`` of the test-time network at the end (the test split is evaluated once),
        plus, with ``mc_samples``, rows (method "dropout_expectation") ``mc_rel_error_notes``,
        ``mc_rel_error_torch_inverted``, ``argmax_agreement_avg_vs_scaled``; artifacts ``summary`` ({"train error",
        "test error", "gap (test - train)", "risk gap (nats)"} of the test-time network) and ``expectation`` (what
        `dropout_expectation` returns, or None).

    Raises:
        ValueError: a bad config (``mc_samples`` on a run that is not "notes" included).
    """
    c = _check(
        config,
        {
            "seed",
            "device",
            "variant",
            "per_class",
            "hidden",
            "epochs",
            "lr",
            "batch_size",
            "momentum",
            "p",
            "input_p",
            "test_size",
            "mc_samples",
        },
        "dropout",
    )
    name = dropout_variant_name(c["variant"], c["p"])
    if c["mc_samples"] is not None and (c["variant"] != "notes" or c["mc_samples"] < 1):
        raise ValueError(
            f"config['mc_samples']={c['mc_samples']!r} is out of range; accepted: None, or an integer "
            ">= 1 for variant 'notes'"
        )
    train.seed_everything(c["seed"])
    g = torch.Generator().manual_seed(c["seed"] + 100)
    dev = torch.device(c["device"])
    x_train, y_train = mnist("train")
    idx = subset(y_train, c["per_class"], g)
    x, y = x_train[idx].to(dev), y_train[idx].to(dev)
    xt, yt = _test_set(c["test_size"], dev)
    kw = {
        "none": {"dropout": None},
        "notes": {"dropout": c["p"], "input_dropout": c["input_p"]},
        "torch": {"dropout": c["p"], "input_dropout": c["input_p"], "mode": "torch"},
    }[c["variant"]]
    model = fd.mlp([D_IN, *c["hidden"], N_CLASSES], **kw).to(dev)
    rows = fd.train_momentum(
        model,
        x,
        y,
        lr=c["lr"],
        batch_size=c["batch_size"],
        epochs=c["epochs"],
        mu=c["momentum"],
        generator=g,
        eval_sets={"train": (x, y)},
    )
    test_model = fd.scale_weights(model) if c["variant"] == "notes" else model  # the notes' test-time network
    tr_risk, tr_err = fd.risk_and_error(test_model, x, y)
    te_risk, te_err = fd.risk_and_error(test_model, xt, yt)  # the test split, once, at the end
    rows += [
        {"epoch": c["epochs"], "split": "test", "metric": "risk_nats", "value": te_risk},
        {"epoch": c["epochs"], "split": "test", "metric": "error", "value": te_err},
    ]
    summary = {
        "train error": tr_err,
        "test error": te_err,
        "gap (test - train)": te_err - tr_err,
        "risk gap (nats)": te_risk - tr_risk,
    }
    model_name = "mlp-784-" + "-".join(map(str, c["hidden"])) + "-10"
    df = results.tidy(rows, study=STUDY, dataset=DATASET, model=model_name, method=name, seed=c["seed"])
    expectation = None
    if c["mc_samples"] is not None:
        expectation = dropout_expectation(model, xt, c["p"], c["mc_samples"], c["seed"])
        mc = expectation["mc"][-1]
        extra = [
            {"metric": "mc_rel_error_notes", "value": mc["notes: mean over masks vs weights x p"]},
            {"metric": "mc_rel_error_torch_inverted", "value": mc["torch inverted: mean over masks vs eval()"]},
            {"metric": "argmax_agreement_avg_vs_scaled", "value": expectation["agree"]},
        ]
        df = pd.concat(
            [df, results.tidy(extra, study=STUDY, dataset=DATASET, method="dropout_expectation", seed=c["seed"])],
            ignore_index=True,
        )
    return runs.Result(rows=df, artifacts={"summary": summary, "expectation": expectation})


# ------------------------------------------------------------------------------------------------------- plans
def _device(device: str | torch.device) -> str:
    """ "cpu" or "cuda" ("auto" resolved by `study.train.pick_device`)."""
    return train.pick_device(str(device)).type


def _positive_int(**kw: Any) -> None:
    for k, v in kw.items():
        if not isinstance(v, int) or isinstance(v, bool) or v < 1:
            raise ValueError(f"{k}={v!r} is out of range; accepted: an integer >= 1")


# ------------------------------------------------------------------------------------------ notebook parameters
_need, _int_in = checks.need, checks.int_in


def _num_in(
    p: dict[str, Any],
    name: str,
    low: float,
    high: float | None,
    *,
    closed_low: bool = False,
    closed_high: bool = False,
    why: str = "",
) -> float:
    """float(p[name]) when it is a finite number (not a bool, not a string) in the interval given."""
    v = p[name]
    ok = (
        checks.is_num(v)
        and (v >= low if closed_low else v > low)
        and (high is None or (v <= high if closed_high else v < high))
    )
    interval = (
        f"a number > {low}"
        if high is None
        else "a number in {}{}, {}{}".format("[" if closed_low else "(", low, high, "]" if closed_high else ")")
    )
    _need(ok, name, v, interval + why)
    return float(v)


def _distinct_list(
    p: dict[str, Any], name: str, item_ok: Any, accepted: str, min_len: int = 1, distinct: bool = True
) -> list[Any]:
    """list(p[name]) when it is a list (or tuple) of at least `min_len` items that pass `item_ok`, all different
    when `distinct` (a repeated value would repeat a run and merge its rows with the other's)."""
    v = p[name]
    ok = (
        isinstance(v, (list, tuple))
        and len(v) >= min_len
        and all(item_ok(x) for x in v)
        and (not distinct or len(set(v)) == len(v))
    )
    _need(
        ok,
        name,
        v,
        f"a {'non-empty ' if min_len == 1 else ''}list of "
        f"{'at least ' + str(min_len) + ' ' if min_len > 1 else ''}{'distinct ' if distinct else ''}"
        f"{accepted}",
    )
    return list(v)


def check_params(params: dict[str, Any]) -> dict[str, Any]:
    """Check every experiment parameter of notebook 00 before any work, and return them checked.

    `params` must hold exactly the names of `PARAMETERS` (a misspelt or missing name is refused). Types: sizes,
    counts and epochs are ints (a bool, a float or a string is refused; epochs are whole passes), rates and
    probabilities finite numbers (returned as floats). Ranges and relations (MNIST per-digit counts in
    `MNIST_TRAIN_PER_CLASS`):

    * ``threads`` None (``$STUDY_THREADS``, else every core) or >= 1; ``test_size`` in [`DROPOUT_TEST_IMAGES`,
      10,000] (§8 averages dropout networks on the first 500 test images; there are 10,000);
    * §1 ``simplex_classes`` three distinct digits; ``simplex_per_class`` at least ⌈`SIMPLEX_BATCH` / 3⌉ (one
      batch) and at most the rarest chosen digit's count; §2 ``convex_per_class`` likewise (same digits);
    * §3 ``bp_samples`` <= `BP_POOL`, ``bp_fd_samples`` <= ``bp_samples``, ``bp_kernel`` <= `BP_SIDE` - 1 (a 2x2
      pool after a valid convolution), ``bp_random_trials`` >= 0, ``bp_fd_h`` in (0, 1);
    * §5-§8 per-class sizes <= 5,421 (digit 5; training + validation, disjoint, where a section has both:
      ``lr_val_per_class`` with ``opt_per_class`` and with ``mb_per_class``, ``es_val_per_class`` with
      ``es_per_class``), batch sizes in
      [1, 10 x per_class], every epoch count, hidden width, seed count and ``do_mc_samples`` >= 1;
      ``lr_grid`` >= 2 distinct learning rates (the claim compares its ends), ``mb_lrs`` and ``es_label_noise``
      distinct; ``mb_batch_sizes`` >= 3 increasing sizes (online, mini-batch, batch: the claims read them in that
      order) ending at N = 10 x ``mb_per_class`` ("full"); momenta in [0, 1); ``do_p`` (keep probability) in
      (0, 1) (1 would make the dropout variants the same network as "none"), ``do_input_p`` None or in (0, 1].

    Returns:
        a new dict: the same names and values, lists as lists, rates and probabilities as floats, "full" kept.

    Raises:
        ValueError: the first bad parameter: unknown or missing names (all listed, with the accepted ones), or
            ``name=value is out of range; accepted: ...``.
    """
    p = checks.parameter_names(params, PARAMETERS)
    rarest = min(MNIST_TRAIN_PER_CLASS)
    _need(
        p["threads"] is None or (checks.is_int(p["threads"], 1) and p["threads"] <= checks.CAPS["threads"]),
        "threads",
        p["threads"],
        f"None ($STUDY_THREADS, else every core) or an integer in [1, {checks.CAPS['threads']}]",
    )
    _int_in(
        p,
        "test_size",
        DROPOUT_TEST_IMAGES,
        MNIST_TEST_SIZE,
        f" (MNIST has {MNIST_TEST_SIZE} test images; §8 uses the first {DROPOUT_TEST_IMAGES})",
    )
    # §1-§2: three digits
    cls = p["simplex_classes"]
    _need(
        isinstance(cls, (list, tuple))
        and len(cls) == 3
        and all(checks.is_int(d, 0) and d <= 9 for d in cls)
        and len(set(cls)) == 3,
        "simplex_classes",
        cls,
        "three distinct digits in 0..9",
    )
    p["simplex_classes"] = list(cls)
    most = min(MNIST_TRAIN_PER_CLASS[d] for d in cls)
    _int_in(
        p,
        "simplex_per_class",
        math.ceil(SIMPLEX_BATCH / 3),
        most,
        f" (3 x simplex_per_class images fill at least one batch of {SIMPLEX_BATCH}; MNIST has {most} training "
        f"images of the rarest digit of {list(cls)})",
    )
    checks.capped(p, "simplex_epochs", 1, "epochs")
    _int_in(p, "convex_per_class", 1, most, f" (MNIST has {most} training images of the rarest digit of {list(cls)})")
    checks.capped(p, "convex_points", 1, "samples")
    # §3: back-propagation
    _int_in(p, "bp_samples", 1, BP_POOL, f" (drawn from the first {BP_POOL} training images)")
    _int_in(p, "bp_fd_samples", 1, p["bp_samples"], " (the first bp_fd_samples of the bp_samples)")
    checks.capped(p, "bp_channels", 1, "width")
    _int_in(p, "bp_kernel", 1, BP_SIDE - 1, f" (a valid convolution of {BP_SIDE}x{BP_SIDE} inputs, then 2x2 pooling)")
    checks.capped(p, "bp_random_trials", 0, "repeats")
    p["bp_fd_h"] = _num_in(p, "bp_fd_h", 0, 1, why=" (central-difference step)")
    # §5-§6: the validation images that choose the learning rate, then momentum and learning rate
    _int_in(
        p,
        "lr_val_per_class",
        1,
        rarest - 1,
        f" (validation images per digit held out of the training split, "
        f"besides >= 1 training image; MNIST digit 5 has {rarest})",
    )
    left = rarest - p["lr_val_per_class"]
    _int_in(
        p,
        "opt_per_class",
        1,
        left,
        f" (MNIST digit 5 has {rarest} training images, lr_val_per_class="
        f"{p['lr_val_per_class']} of them held out for validation)",
    )
    checks.capped(p, "opt_hidden", 1, "width")
    n = N_CLASSES * p["opt_per_class"]
    _int_in(p, "opt_batch", 1, n, f" (at most the {n} training images, 10 x opt_per_class)")
    checks.capped(p, "opt_epochs", 1, "epochs")
    p["lr_grid"] = [
        float(v)
        for v in _distinct_list(
            p,
            "lr_grid",
            lambda v: checks.is_num(v) and v > 0,
            "numbers > 0 (the claim compares the smallest and the largest)",
            min_len=2,
        )
    ]
    p["mu_max"] = _num_in(p, "mu_max", 0, 1, closed_low=True)
    # §6: mini-batches
    _int_in(
        p,
        "mb_per_class",
        1,
        left,
        f" (MNIST digit 5 has {rarest} training images, lr_val_per_class="
        f"{p['lr_val_per_class']} of them held out for validation)",
    )
    n = N_CLASSES * p["mb_per_class"]
    bs = p["mb_batch_sizes"]
    sizes = [n if b == "full" else b for b in bs] if isinstance(bs, (list, tuple)) else []
    _need(
        len(sizes) >= 3
        and all(checks.is_int(b, 1) and b <= n for b in sizes)
        and all(a < b for a, b in zip(sizes, sizes[1:]))
        and sizes[-1] == n,
        "mb_batch_sizes",
        bs,
        f"at least 3 increasing batch sizes in [1, {n}] (online, mini-batch(es), batch) ending at {n} or 'full' "
        "(N = 10 x mb_per_class)",
    )
    p["mb_batch_sizes"] = list(bs)
    p["mb_lrs"] = [float(v) for v in _distinct_list(p, "mb_lrs", lambda v: checks.is_num(v) and v > 0, "numbers > 0")]
    checks.capped(p, "mb_epochs", 1, "epochs")
    # §7: early termination
    _int_in(
        p,
        "es_per_class",
        1,
        rarest - 1,
        f" (with es_val_per_class >= 1 disjoint images; MNIST digit 5 has {rarest} training images)",
    )
    _int_in(
        p,
        "es_val_per_class",
        1,
        rarest - p["es_per_class"],
        f" (drawn from the training images not in the es_per_class={p['es_per_class']} subset; MNIST digit 5 has "
        f"{rarest})",
    )
    checks.capped(p, "es_hidden", 1, "width")
    checks.capped(p, "es_epochs", 1, "epochs")
    p["es_lr"] = _num_in(p, "es_lr", 0, None)
    n = N_CLASSES * p["es_per_class"]
    _int_in(p, "es_batch", 1, n, f" (at most the {n} training images, 10 x es_per_class)")
    p["es_momentum"] = _num_in(p, "es_momentum", 0, 1, closed_low=True)
    p["es_label_noise"] = [
        float(v)
        for v in _distinct_list(p, "es_label_noise", lambda v: checks.is_num(v) and 0 <= v < 1, "fractions in [0, 1)")
    ]
    # §8: dropout
    _int_in(p, "do_per_class", 1, rarest, f" (MNIST digit 5 has {rarest} training images)")
    p["do_hidden"] = _distinct_list(
        p,
        "do_hidden",
        lambda v: checks.is_int(v, 1) and v <= checks.CAPS["width"],
        f"hidden widths in [1, {checks.CAPS['width']}] (integers)",
        distinct=False,
    )
    checks.capped(p, "do_epochs", 1, "epochs")
    p["do_lr"] = _num_in(p, "do_lr", 0, None)
    n = N_CLASSES * p["do_per_class"]
    _int_in(p, "do_batch", 1, n, f" (at most the {n} training images, 10 x do_per_class)")
    p["do_momentum"] = _num_in(p, "do_momentum", 0, 1, closed_low=True)
    p["do_p"] = _num_in(
        p, "do_p", 0, 1, why=" (keep probability; 1 would make the dropout variants the network without dropout)"
    )
    if p["do_input_p"] is not None:
        _need(
            checks.is_num(p["do_input_p"]) and 0 < p["do_input_p"] <= 1,
            "do_input_p",
            p["do_input_p"],
            "None (no input dropout) or a keep probability in (0, 1]",
        )
        p["do_input_p"] = float(p["do_input_p"])
    checks.capped(p, "do_mc_samples", 1, "samples")
    checks.capped(p, "n_seeds", 1, "seeds")
    return p


def run_seeds(seed: int, n_seeds: int) -> list[int]:
    """The run seeds of a section: ``seed * 1000 + s`` for s < `n_seeds`.

    Raises:
        ValueError: `n_seeds` < 1 or `seed` < 0.
    """
    _positive_int(n_seeds=n_seeds)
    if not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed={seed!r} is out of range; accepted: an integer >= 0")
    return [seed * 1000 + s for s in range(n_seeds)]


def simplex_plan(
    *, seed: int, device: str | torch.device, classes: list[int], per_class: int, epochs: float, n_seeds: int = 1
) -> list[dict[str, Any]]:
    """The §1 runs, one per seed of `run_seeds`: digits `classes` (three of 0..9), `per_class` training images each,
    `epochs` epochs of a 784-64-3 MLP (lr 0.05, B = 20, μ = 0.9, the module constants ``SIMPLEX_*``).

    Raises:
        ValueError: not three distinct digits, or a size out of range.
    """
    if len(set(classes)) != 3 or not all(isinstance(d, int) and 0 <= d <= 9 for d in classes):
        raise ValueError(f"classes={classes!r} is out of range; accepted: three distinct digits in 0..9")
    _positive_int(per_class=per_class)
    return [
        {
            "seed": s,
            "device": _device(device),
            "classes": list(classes),
            "per_class": per_class,
            "hidden": SIMPLEX_HIDDEN,
            "epochs": epochs,
            "lr": SIMPLEX_LR,
            "batch_size": SIMPLEX_BATCH,
            "mu": SIMPLEX_MU,
        }
        for s in run_seeds(seed, n_seeds)
    ]


def momentum_plan(
    *,
    seed: int,
    device: str | torch.device,
    per_class: int,
    val_per_class: int,
    hidden: int,
    batch_size: int,
    epochs: float,
    lrs: list[float],
    mu_max: float,
    n_seeds: int = 1,
) -> list[dict[str, Any]]:
    """§5 of the notebook: for each seed of `run_seeds`, each lr in `lrs`, μ = 0 ("none") and the Sutskever schedule
    ("sutskever"), in that order: 2·len(lrs)·n_seeds runs; the runs of one seed share subset, initial weights and
    batch order.

    Raises:
        ValueError: an empty or non-positive lr grid, `mu_max` outside [0, 1), or a size out of range.
    """
    if not lrs or any(not lr > 0 for lr in lrs):
        raise ValueError(f"lrs={lrs!r} is out of range; accepted: a non-empty list of numbers > 0")
    if not 0 <= mu_max < 1:
        raise ValueError(f"mu_max={mu_max!r} is out of range; accepted: [0, 1)")
    _positive_int(per_class=per_class, val_per_class=val_per_class, hidden=hidden, batch_size=batch_size)
    dev = _device(device)
    return [
        {
            "seed": s,
            "device": dev,
            "per_class": per_class,
            "val_per_class": val_per_class,
            "hidden": hidden,
            "batch_size": batch_size,
            "epochs": epochs,
            "lr": lr,
            "momentum": m,
            "mu_max": mu_max,
            "evals_per_epoch": MOMENTUM_EVALS_PER_EPOCH,
        }
        for s in run_seeds(seed, n_seeds)
        for lr in lrs
        for m in ("none", "sutskever")
    ]


def minibatch_plan(
    *,
    seed: int,
    device: str | torch.device,
    per_class: int,
    val_per_class: int,
    hidden: int,
    batch_sizes: list,
    lrs: list[float],
    epochs: float,
    n_seeds: int = 1,
) -> list[dict[str, Any]]:
    """§6 of the notebook: for each seed of `run_seeds`, each B in `batch_sizes` ("full" = N = 10·per_class), each lr in
    `lrs`: μ = 0, `epochs` epochs, min(10, ⌈N/B⌉) evaluations per epoch.

    Raises:
        ValueError: a batch size outside [1, N] (or not "full"), or an empty / non-positive lr grid.
    """
    _positive_int(per_class=per_class, val_per_class=val_per_class, hidden=hidden)
    if not lrs or any(not lr > 0 for lr in lrs):
        raise ValueError(f"lrs={lrs!r} is out of range; accepted: a non-empty list of numbers > 0")
    n = N_CLASSES * per_class
    bs = [n if b == "full" else b for b in batch_sizes]
    if not bs or any(not (isinstance(b, int) and 1 <= b <= n) for b in bs):
        raise ValueError(f"batch_sizes={batch_sizes!r} is out of range; accepted: integers in [1, {n}] or 'full'")
    dev = _device(device)
    return [
        {
            "seed": s,
            "device": dev,
            "per_class": per_class,
            "val_per_class": val_per_class,
            "hidden": hidden,
            "batch_size": b,
            "epochs": epochs,
            "lr": lr,
            "evals_per_epoch": min(10, math.ceil(n / b)),
        }
        for s in run_seeds(seed, n_seeds)
        for b in bs
        for lr in lrs
    ]


def early_stopping_plan(
    *,
    seed: int,
    device: str | torch.device,
    per_class: int,
    val_per_class: int,
    hidden: int,
    epochs: int,
    lr: float,
    batch_size: int,
    momentum: float,
    label_noise: list[float],
    n_seeds: int,
    test_size: int,
) -> list[dict[str, Any]]:
    """§7 of the notebook: for each noise level in `label_noise`, the seeds of `run_seeds`.

    Raises:
        ValueError: a noise level outside [0, 1) or a size out of range.
    """
    _positive_int(
        per_class=per_class,
        val_per_class=val_per_class,
        hidden=hidden,
        batch_size=batch_size,
        n_seeds=n_seeds,
        test_size=test_size,
        epochs=epochs,
    )
    if not label_noise or any(not 0 <= v < 1 for v in label_noise):
        raise ValueError(f"label_noise={label_noise!r} is out of range; accepted: a non-empty list in [0, 1)")
    dev = _device(device)
    return [
        {
            "seed": s,
            "device": dev,
            "per_class": per_class,
            "val_per_class": val_per_class,
            "hidden": hidden,
            "epochs": epochs,
            "lr": lr,
            "batch_size": batch_size,
            "momentum": momentum,
            "label_noise": noise,
            "test_size": test_size,
        }
        for noise in label_noise
        for s in run_seeds(seed, n_seeds)
    ]


def dropout_plan(
    *,
    seed: int,
    device: str | torch.device,
    per_class: int,
    hidden: list[int],
    epochs: float,
    lr: float,
    batch_size: int,
    momentum: float,
    p: float,
    input_p: float | None,
    mc_samples: int,
    n_seeds: int,
    test_size: int,
) -> list[dict[str, Any]]:
    """§8 of the notebook: for each seed of `run_seeds`, the variants `DROPOUT_VARIANTS` in order; every "notes" run
    also runs `dropout_expectation` with `mc_samples` masks (one value per seed for the claims).

    Raises:
        ValueError: `p` or `input_p` outside (0, 1], or a size out of range.
    """
    _positive_int(
        per_class=per_class,
        batch_size=batch_size,
        mc_samples=mc_samples,
        n_seeds=n_seeds,
        test_size=test_size,
        **{f"hidden[{i}]": h for i, h in enumerate(hidden)},
    )
    for k, v in (("p", p), ("input_p", 1.0 if input_p is None else input_p)):
        if not 0 < v <= 1:
            raise ValueError(f"{k}={v!r} is out of range; accepted: (0, 1] (keep probability)")
    dev = _device(device)
    return [
        {
            "seed": s,
            "device": dev,
            "variant": v,
            "per_class": per_class,
            "hidden": list(hidden),
            "epochs": epochs,
            "lr": lr,
            "batch_size": batch_size,
            "momentum": momentum,
            "p": p,
            "input_p": input_p,
            "test_size": test_size,
            "mc_samples": mc_samples if v == "notes" else None,
        }
        for s in run_seeds(seed, n_seeds)
        for v in DROPOUT_VARIANTS
    ]


# ------------------------------------------------------------------------------------------------- findings
@dataclass
class Findings:
    """What one section of the notebook found.

    Attributes:
        values: named numbers (and small objects) the claims are built from (`claims`).
        rows: tidy rows (dicts with some of `study.results.COLUMNS`) of the checks that are not runs; `frame` adds
            study/dataset/seed.
        runs: tidy frame of the section's training runs (`study.runs.Sweep.frame`), or None.
        metrics: headline metrics ``{"name/method": {mean, std, ci95, n, unit}}`` over seeds (`_metric`).
        tables: caption -> DataFrame or Styler, shown by `report`.
        figures: file name (without .png) -> (matplotlib Figure, caption, paper figure it redraws or ""), saved and
            shown by `report` (`study.run.Run.figure`).
        text: lines printed by `report`.
    """

    values: dict[str, Any] = field(default_factory=dict)
    rows: list[dict[str, Any]] = field(default_factory=list)
    runs: pd.DataFrame | None = None
    metrics: dict[str, dict[str, Any]] = field(default_factory=dict)
    tables: dict[str, Any] = field(default_factory=dict)
    figures: dict[str, tuple[Any, str, str]] = field(default_factory=dict)
    text: list[str] = field(default_factory=list)


def report(nb: Any, f: Findings) -> Findings:
    """Show a section's findings in the notebook: its tables (with their captions), then its figures (each saved
    with ``nb.figure(fig, name, caption=..., paper_ref=...)``), then its text. `nb` is the notebook's
    `study.run.Run`. Returns `f`."""
    from IPython.display import display

    for caption, table in f.tables.items():
        print(caption)
        display(table)
    for name, (fig, caption, paper_ref) in f.figures.items():
        nb.figure(fig, name, caption=caption, paper_ref=paper_ref)
        plt.show()
    for line in f.text:
        print(line)
    return f


def _metric(values: pd.Series, unit: str) -> dict[str, Any]:
    """A headline metric over seeds: {mean, std, ci95, n, unit} (`study.claims.interval`)."""
    m, ci, n = cl.interval(values)
    return {
        "mean": m,
        "std": float(np.std(values, ddof=1)) if n > 1 else 0.0,
        "ci95": list(ci) if ci is not None else None,
        "n": n,
        "unit": unit,
    }


def _seed_label(seeds: Iterable[int]) -> str:
    s = sorted(set(int(x) for x in seeds))
    return f"{len(s)} seed{'s' if len(s) != 1 else ''} ({', '.join(map(str, s))})"


def merge(*sections: Findings, seed: int) -> tuple[dict[str, Any], pd.DataFrame, dict[str, dict[str, Any]]]:
    """Join the sections' findings, in order.

    Returns:
        (values, tidy frame with exactly `study.results.COLUMNS` -- each section's check rows, seed `seed`, then its
        run rows --, headline metrics).

    Raises:
        ValueError: two sections define the same value name.
    """
    values: dict[str, Any]
    parts: list[pd.DataFrame]
    metrics: dict[str, Any]
    values, parts, metrics = {}, [], {}
    for f in sections:
        clash = set(values) & set(f.values)
        if clash:
            raise ValueError(f"value names {sorted(clash)} are defined by two sections")
        values.update(f.values)
        metrics.update(f.metrics)
        if f.rows:
            parts.append(results.tidy(f.rows, study=STUDY, dataset=DATASET, seed=seed))
        if f.runs is not None and len(f.runs):
            parts.append(f.runs)
    frame = pd.concat(parts, ignore_index=True) if parts else results.tidy([])
    return values, frame, metrics


def _by_config(sweep: runs.Sweep, **columns: str) -> pd.DataFrame:
    """The sweep's rows with config values as extra columns (``columns``: new column -> config key).

    Raises:
        RuntimeError: a run of the sweep failed (its section cannot be analysed).
    """
    missing = [c for c, r in zip(sweep.configs, sweep.results) if r is None]
    if missing:
        raise RuntimeError(
            f"{len(missing)} of {len(sweep.configs)} runs failed, first config {missing[0]}; "
            "re-run the sweep (it retries only the failed runs)"
        )
    return pd.concat(
        [r.rows.assign(**{k: c[v] for k, v in columns.items()}) for c, r in zip(sweep.configs, sweep.results)],  # type: ignore[union-attr]  # failed runs raise first (sweep, `_by_config`)
        ignore_index=True,
    )


def _style_sci(df: pd.DataFrame, cols: Iterable[str], fmt: str = "{:.2e}"):
    return df.style.format({c: fmt for c in cols}, na_rep="–")


# §1 --------------------------------------------------------------------------------------------------------------
SIMPLEX_VERTICES = np.array([[0.0, 0.0], [1.0, 0.0], [0.5, math.sqrt(3) / 2]])  # the 2-simplex drawn in the plane


def simplex_outputs(sweep: runs.Sweep) -> dict[int, tuple[torch.Tensor, torch.Tensor]]:
    """{run seed: (test logits float64 (M, 3), labels int64 (M,))} of the §1 runs, reused by §2 and §3.

    Raises:
        RuntimeError: a run failed.
    """
    _by_config(sweep)  # raises on a failed run
    return {c["seed"]: (r.artifacts["logits"], r.artifacts["labels"]) for c, r in zip(sweep.configs, sweep.results)}  # type: ignore[union-attr]  # failed runs raise first (sweep, `_by_config`)


def simplex_findings(sweep: runs.Sweep) -> Findings:
    """§1: Fig. 1 (the 1- and 2-simplex with their decision regions; the test images of the first seed's trained
    3-class network in the 2-simplex), and per seed the test accuracy and max |Σ p - 1|. `sweep`: the runs of
    `simplex_plan`."""
    frame = _by_config(sweep)
    config, res = sweep.configs[0], sweep.results[0]
    V = SIMPLEX_VERTICES
    cls, logits, yt = config["classes"], res.artifacts["logits"], res.artifacts["labels"]  # type: ignore[union-attr]  # failed runs raise first (sweep, `_by_config`)
    p3 = fd.softmax(logits)
    acc = cl.per_seed(frame, metric="accuracy")
    on = cl.per_seed(frame, metric="max_abs_sum_minus_1")
    acc3 = float(acc.iloc[0])

    fig = plt.figure(figsize=(14, 4.3))
    ax = fig.add_subplot(1, 3, 1)
    ax.plot([1, 0.5], [0, 0.5], color="tab:orange", lw=4, label="$P_1$")
    ax.plot([0.5, 0], [0.5, 1], color="tab:green", lw=4, label="$P_2$")
    ax.plot(0.5, 0.5, "o", color="tab:blue", ms=9, label="unit point 1/2")
    ax.set(
        xlim=(-0.1, 1.15),
        ylim=(-0.1, 1.15),
        xlabel="$p_1$",
        ylabel="$p_2$",
        aspect="equal",
        title="1-simplex (2 classes)",
    )
    ax.legend(loc="upper right")
    ax = fig.add_subplot(1, 3, 2, projection="3d")
    tri = np.eye(3)
    ax.plot_trisurf(tri[:, 0], tri[:, 1], tri[:, 2], color="0.85", alpha=0.6)
    c = np.full(3, 1 / 3)
    for i, j in [(0, 1), (1, 2), (0, 2)]:
        ax.plot(*zip(c, (tri[i] + tri[j]) / 2), color="tab:blue", lw=2)
    ax.scatter(*c, color="tab:blue", s=40)
    ax.set(xlabel="$p_1$", ylabel="$p_2$", zlabel="$p_3$", title="2-simplex (3 classes), boundaries meet at 1/3")
    ax.view_init(25, 35)
    ax = fig.add_subplot(1, 3, 3)
    xy = p3.numpy() @ V
    for k, d in enumerate(cls):
        sel = (yt == k).numpy()
        ax.scatter(xy[sel, 0], xy[sel, 1], s=4, alpha=0.35, label=f"digit {d}")
    ax.plot(*np.vstack([V, V[:1]]).T, color="k", lw=1)
    cc = np.full(3, 1 / 3) @ V
    for i, j in [(0, 1), (1, 2), (0, 2)]:
        mid = (V[i] + V[j]) / 2
        ax.plot([cc[0], mid[0]], [cc[1], mid[1]], color="tab:blue", lw=1.5)
    for k, d in enumerate(cls):
        ax.annotate(f"$e_{k + 1}$ ({d})", V[k], textcoords="offset points", xytext=(-10, -14 if k < 2 else 6))
    ax.set(aspect="equal", xticks=[], yticks=[], title=f"test images in the 2-simplex (accuracy {acc3:.3f})")
    ax.legend(loc="upper left", markerscale=3, fontsize=8)
    fig.tight_layout()
    caption = (
        f"Left, middle: the 1- and 2-simplex with the decision-region boundaries meeting at the unit point "
        f"1/e (drawn, no data). Right: soft-max outputs of the {len(yt)} MNIST test images of digits {cls} "
        f"for the 784-{SIMPLEX_HIDDEN}-3 MLP of seed {config['seed']} (one of {_seed_label(acc.index)}), "
        "mapped into the 2-simplex with their class regions."
    )
    return Findings(
        values={"on_simplex": on, "acc3": acc, "classes": cls, "deps_simplex": sweep.labels},
        runs=sweep.frame,
        figures={"fig1_softmax_simplex": (fig, caption, "Fig. 1")},
        text=[
            f"{len(yt)} test images of digits {cls}; per seed: accuracy "
            f"{acc.round(4).to_dict()}, max |sum p - 1| {on.to_dict()}"
        ],
    )


# §2 --------------------------------------------------------------------------------------------------------------
def loss_crossing_bits(generator: torch.Generator, iters: int = 200) -> tuple[float, float]:
    """§2.1: where the two-class loss curves ℓ(1, p) = −log₂ p and ℓ(0, p) = −log₂(1 − p) cross, found by bisection
    from a random bracket [a, b] (a ~ U(0.01, 0.49), b ~ U(0.51, 0.99), drawn by `generator`), in float64.

    Returns:
        (p at the crossing, ℓ(1, p) there in bits); the notes: p = 1/2 and 1 bit.
    """
    a, b = (0.01 + 0.48 * torch.rand(2, generator=generator, dtype=torch.float64)).tolist()
    lo, hi = a, 0.5 + b  # ℓ(1,p) - ℓ(0,p) > 0 at lo, < 0 at hi

    def f(p: float) -> float:
        t = torch.tensor(p, dtype=torch.float64)
        return float(
            fd.binary_cross_entropy(torch.tensor(1.0, dtype=torch.float64), t, base=2)
            - fd.binary_cross_entropy(torch.tensor(0.0, dtype=torch.float64), t, base=2)
        )

    for _ in range(iters):
        mid = 0.5 * (lo + hi)
        if mid in (lo, hi):
            break
        lo, hi = (mid, hi) if f(mid) > 0 else (lo, mid)
    p = 0.5 * (lo + hi)
    return p, float(
        fd.binary_cross_entropy(torch.tensor(1.0, dtype=torch.float64), torch.tensor(p, dtype=torch.float64), base=2)
    )


def cross_entropy_findings(outputs: dict[int, tuple[torch.Tensor, torch.Tensor]], draws: int = 1000) -> Findings:
    """§2.1-2.2, Fig. 2: the two-class loss ℓ(1, p), ℓ(0, p) in bits; per seed of `outputs` (`simplex_outputs`): the
    crossing of the two curves (`loss_crossing_bits`, generator seeded with the seed), the symmetry gap
    max |ℓ(1, p) − ℓ(0, 1 − p)| over `draws` random p, and the gap between the multi-class forms −log p_y,
    −Σ q log p and `F.cross_entropy` on that seed's §1 test outputs (logits float64 (M, K), labels (M,))."""
    p = torch.linspace(1e-3, 1 - 1e-3, 500, dtype=torch.float64)
    l1 = fd.binary_cross_entropy(torch.ones_like(p), p, base=2)
    l0 = fd.binary_cross_entropy(torch.zeros_like(p), p, base=2)
    half, sym, forms, cross_p = {}, {}, {}, {}
    for s, (logits, labels) in outputs.items():
        g = torch.Generator().manual_seed(s)
        cross_p[s], half[s] = loss_crossing_bits(g)
        pr = torch.rand(draws, generator=g, dtype=torch.float64).clamp(1e-6, 1 - 1e-6)
        sym[s] = float(
            (fd.binary_cross_entropy(torch.ones_like(pr), pr) - fd.binary_cross_entropy(torch.zeros_like(pr), 1 - pr))
            .abs()
            .max()
        )
        P = fd.softmax(logits)
        q = F.one_hot(labels, logits.shape[1]).double()
        ce_py = fd.cross_entropy(P, labels)
        ce_sum = fd.cross_entropy_dist(q, P, base=math.e)
        forms[s] = max(float((ce_py - ce_sum).abs().max()), abs(float(ce_py.mean() - F.cross_entropy(logits, labels))))
    half, sym, forms = (pd.Series(d, dtype=float).sort_index() for d in (half, sym, forms))
    h0 = float(half.iloc[0])
    fig, axs = plt.subplots(1, 2, figsize=(10, 3.8))
    axs[0].plot([0, 1], [1, 1], color="tab:blue", lw=4, label="y = 1")
    axs[0].plot([0, 1], [0, 0], color="tab:orange", lw=4, label="y = 0")
    axs[0].set(xlabel="p", ylabel="y", ylim=(-0.3, 1.3), yticks=[0, 1], title="domain {0,1} × [0,1]")
    axs[0].legend()
    axs[1].plot(p, l1, color="tab:blue", label=r"$\ell(1,p) = -\log_2 p$")
    axs[1].plot(p, l0, color="tab:orange", label=r"$\ell(0,p) = -\log_2(1-p)$")
    axs[1].plot(0.5, h0, "ko")
    axs[1].annotate(f"  crossing: ℓ = {h0:.12g} bit", (0.5, h0))
    axs[1].set(xlabel="p", ylabel="loss (bits)", ylim=(0, 6), title="two-class cross-entropy (Fig. 2)")
    axs[1].legend()
    fig.tight_layout()
    caption = (
        "Left: the domain {0,1} × [0,1] of a two-class loss on soft-max scores. Right: the cross-entropy "
        "loss ℓ(1, p) and ℓ(0, p) in bits on 500 values of p (no data, no seed); the dot is the crossing "
        f"found by bisection from a random bracket (seed {half.index[0]})."
    )
    rows = [
        {"seed": s, "method": "cross_entropy", "metric": m, "value": float(ser[s])}
        for m, ser in (
            ("loss_crossing_bits", half),
            ("max_abs_symmetry_gap_nats", sym),
            ("max_abs_form_gap_nats", forms),
        )
        for s in ser.index
    ]
    return Findings(
        values={"half": half, "sym_gap": sym, "forms_gap": forms},
        rows=rows,
        figures={"fig2_cross_entropy": (fig, caption, "Fig. 2")},
        text=[
            f"per seed: crossing at p = {dict((k, round(v, 12)) for k, v in cross_p.items())}, "
            f"ℓ there {half.to_dict()} bits; max |ℓ(1,p) − ℓ(0,1−p)| {sym.max():.1e} nats; "
            f"max |−log p_y − (−Σ q log p)| and |mean − F.cross_entropy| {forms.max():.1e} nats"
        ],
    )


CONVEX_MODELS = ("logistic regression (2 classes)", "soft-max regression (3 classes)", "tanh network 49-10-3")


def convexity_risks(z: torch.Tensor, y: torch.Tensor, hidden: int = 10) -> dict[str, tuple[Any, int]]:
    """The three training risks of §2's convexity check as functions of one flat float64 parameter vector.

    Args:
        z: (N, d) standardised inputs; y: (N,) labels in 0..K-1 (K = 3 here); the binary problem is class 0 vs rest.

    Returns:
        {name in `CONVEX_MODELS`: (risk(w) -> scalar nats, number of parameters)}: binary logistic regression
        (w = [weights (d), bias]), multinomial soft-max regression (W (K×d), b (K)), and a one-hidden-layer tanh
        network d-`hidden`-K (not convex).
    """
    d, K, H = z.shape[1], int(y.max()) + 1, hidden
    ybin = (y == 0).double()

    def risk_logistic(w):
        return F.binary_cross_entropy_with_logits(z @ w[:d] + w[d], ybin)

    def risk_softmax(w):
        return F.cross_entropy(z @ w[: K * d].view(K, d).T + w[K * d :], y)

    def risk_mlp(w):
        i = 0
        W1 = w[i : i + H * d].view(H, d)
        i += H * d
        b1 = w[i : i + H]
        i += H
        W2 = w[i : i + K * H].view(K, H)
        i += K * H
        return F.cross_entropy(torch.tanh(z @ W1.T + b1) @ W2.T + w[i : i + K], y)

    return dict(
        zip(CONVEX_MODELS, [(risk_logistic, d + 1), (risk_softmax, K * d + K), (risk_mlp, H * d + H + K * H + K)])
    )


def convexity_findings(*, seeds: list[int], classes: list[int], per_class: int, points: int) -> Findings:
    """§2 (the notes prove the cross-entropy risk convex for the linear classifier): Hessian spectra (float64,
    `torch.func.hessian`) of the risks of `convexity_risks`, per seed s of `seeds`: on `per_class` training images
    of each digit in `classes` (drawn by a generator seeded with s), average-pooled to 7×7 and standardised, at
    `points` random points (N(0, 0.5²), generator s + 1) and at a trained point (200 gradient steps of size 0.5 from
    the first). The value per seed and model is the smallest min/max eigenvalue ratio over its points.

    Raises:
        ValueError: `points` or `per_class` < 1, or no seed.
    """
    from torch.func import hessian

    _positive_int(points=points, per_class=per_class, n_seeds=len(seeds))
    x_train, y_train = mnist("train")
    relabel = {d: i for i, d in enumerate(classes)}
    hess_rows: list[dict[str, Any]]
    spectra: dict[Any, list[Any]]
    hess_rows, spectra = [], {}
    for s in seeds:
        idx = subset(y_train, per_class, torch.Generator().manual_seed(s), classes=classes)
        z = F.avg_pool2d(x_train[idx], 4).flatten(1).double()  # (N, 49)
        z = (z - z.mean(0)) / (z.std(0) + 1e-6)
        yk = torch.tensor([relabel[int(v)] for v in y_train[idx]])
        gH = torch.Generator().manual_seed(s + 1)
        for name, (f, n_par) in convexity_risks(z, yk).items():
            starts = [("random", torch.randn(n_par, generator=gH, dtype=torch.float64) * 0.5) for _ in range(points)]
            w = starts[0][1].clone().requires_grad_(True)
            for _ in range(200):
                (g_,) = torch.autograd.grad(f(w), w)
                with torch.no_grad():
                    w -= 0.5 * g_
            starts.append(("trained", w.detach()))
            for kind, w0 in starts:
                ev = torch.linalg.eigvalsh(hessian(f)(w0))
                if s == seeds[0]:
                    spectra.setdefault(name, []).append(ev)
                hess_rows.append(
                    {
                        "seed": s,
                        "model": name,
                        "point": kind,
                        "params": n_par,
                        "min eigenvalue": float(ev.min()),
                        "max eigenvalue": float(ev.max()),
                        "min / max": float(ev.min() / ev.max()),
                    }
                )
    hess = pd.DataFrame(hess_rows)
    fig, ax = plt.subplots(figsize=(7.5, 3.8))
    for k, (name, evs) in enumerate(spectra.items()):
        for j, ev in enumerate(evs):
            ax.plot(np.sort(ev.numpy())[::-1], lw=1, color=sns.color_palette()[k], label=name if j == 0 else None)
    ax.set(
        xlabel="eigenvalue rank",
        ylabel="Hessian eigenvalue (symlog)",
        title="Hessian spectra of the cross-entropy risk",
    )
    ax.set_yscale("symlog", linthresh=1e-6)
    ax.axhline(0, color="k", lw=0.8)
    ax.legend(fontsize=8)
    fig.tight_layout()
    ratio = hess.groupby(["model", "seed"])["min / max"].min()
    lin = pd.concat([ratio[CONVEX_MODELS[0]], ratio[CONVEX_MODELS[1]]], axis=1).min(axis=1).sort_index()
    tanh = ratio[CONVEX_MODELS[2]].sort_index()
    caption = (
        f"Sorted Hessian eigenvalues of the cross-entropy training risk (float64) of the three models, at "
        f"{points} random points and one trained point, on {3 * per_class} MNIST training images of digits "
        f"{classes} average-pooled to 7×7; seed {seeds[0]} (the table lists all {len(seeds)} seeds)."
    )
    return Findings(
        values={"convex_lin": lin, "convex_tanh": tanh},
        rows=[
            {
                "seed": s,
                "model": n,
                "method": "hessian",
                "metric": "min_over_max_eigenvalue",
                "value": float(ratio[(n, s)]),
            }
            for n in CONVEX_MODELS
            for s in seeds
        ],
        tables={
            "Hessian eigenvalues per seed, model and point": _style_sci(
                hess, ["min eigenvalue", "max eigenvalue", "min / max"]
            )
        },
        figures={"fig2b_hessian_spectra": (fig, caption, "")},
    )


# §3 --------------------------------------------------------------------------------------------------------------
def entropy_findings(
    *, outputs: dict[int, tuple[torch.Tensor, torch.Tensor]], pairs: int = 20000, draws: int = 1000
) -> Findings:
    """Appendix A.2-A.4, Fig. 5: H(q) of a coin, H(q, p) ≥ H(q), nats/bits = ln 2; per seed s of `outputs`
    (`simplex_outputs`): the largest H over q = 1/2 and `draws` random q, the smallest H(q, p) − H(q) over `pairs`
    random pairs of 10-outcome distributions (Dirichlet(1/2), many with p close to q), both drawn under
    ``torch.manual_seed(s + 2)`` inside `torch.random.fork_rng` (the caller's RNG is untouched), and A.4's
    |H(q, p) − H(q) − loss| on that seed's §1 test outputs (logits float64 (M, K), labels (M,))."""
    qs = torch.linspace(0, 1, 1001, dtype=torch.float64)
    Hq = fd.entropy(fd.bernoulli(qs))
    hmax, gmin, a4, gibbs0 = {}, {}, {}, None
    for s, (logits, labels) in outputs.items():
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(s + 2)
            qr = torch.cat([torch.tensor([0.5], dtype=torch.float64), torch.rand(draws, dtype=torch.float64)])
            dirichlet = torch.distributions.Dirichlet(torch.full((10,), 0.5, dtype=torch.float64))
            Q, Pd = dirichlet.sample((pairs,)), dirichlet.sample((pairs,))
            mix = torch.rand(pairs, 1, dtype=torch.float64) ** 4  # many pairs with p close to q
        Pd = (1 - mix) * Q + mix * Pd
        gibbs = fd.cross_entropy_dist(Q, Pd) - fd.entropy(Q)  # bits, must be >= 0
        gibbs0 = gibbs if gibbs0 is None else gibbs0
        hmax[s] = float(fd.entropy(fd.bernoulli(qr)).max())
        gmin[s] = float(gibbs.min())
        P = fd.softmax(logits)
        q = F.one_hot(labels, logits.shape[1]).double()
        a4[s] = float((fd.cross_entropy_dist(q, P) - fd.entropy(q) - fd.cross_entropy(P, labels, base=2)).abs().max())
        ln2_ratio = float(fd.cross_entropy(P, labels, base=math.e).sum() / fd.cross_entropy(P, labels, base=2).sum())
    hmax, gmin, a4 = (pd.Series(d, dtype=float).sort_index() for d in (hmax, gmin, a4))
    fig, axs = plt.subplots(1, 3, figsize=(14, 3.8))
    axs[0].plot(qs, Hq)
    axs[0].set(xlabel="q", ylabel="H(q) (bits)", title="entropy (Fig. 5)")
    pp = torch.linspace(1e-3, 1 - 1e-3, 500, dtype=torch.float64)
    for qv, col in zip([0.1, 0.3, 0.5], sns.color_palette()):
        h = float(fd.entropy(fd.bernoulli(torch.tensor(qv, dtype=torch.float64))))
        axs[1].plot(
            pp,
            fd.cross_entropy_dist(fd.bernoulli(torch.full_like(pp, qv)), fd.bernoulli(pp)),
            color=col,
            label=f"H({qv}, p)",
        )
        axs[1].axhline(h, color=col, ls=":")
        axs[1].plot(qv, h, "o", color=col)
    axs[1].set(xlabel="p", ylabel="bits", ylim=(0, 4), title="H(q, p) ≥ H(q) (dotted), equal at p = q")
    axs[1].legend()
    axs[2].hist(gibbs0.numpy(), bins=80)  # type: ignore[union-attr]  # set in the loop above
    axs[2].set(
        xlabel="H(q, p) − H(q)  (bits)",
        ylabel="pairs",
        yscale="log",
        title=f"Gibbs, 10 outcomes: min = {float(gibbs0.min()):.2e}",  # type: ignore[union-attr]  # set in the loop above
    )
    fig.tight_layout()
    ent = {
        "H(1/2) bits": float(fd.entropy(fd.bernoulli(torch.tensor(0.5)))),
        "max H(q) bits (grid)": float(Hq.max()),
        "H(0), H(1)": (float(Hq[0]) + 0.0, float(Hq[-1]) + 0.0),
        "max |H(q) - H(1-q)|": float((Hq - Hq.flip(0)).abs().max()),
        f"min H(q,p) - H(q) over {pairs} pairs, worst seed": float(gmin.min()),
        "nats / bits (last seed's §1 outputs)": ln2_ratio,
        "ln 2": math.log(2),
        "A.4: max |H(q,p) - H(q) - loss| (one-hot q, bits), worst seed": float(a4.max()),
    }
    caption = (
        "Left: the entropy H(q) of a coin on 1,001 values of q (Fig. 5). Middle: the cross entropy H(q, p) "
        "for q = 0.1, 0.3, 0.5 against p, with H(q) dotted. Right: histogram of H(q, p) − H(q) over "
        f"{pairs} random pairs of 10-outcome distributions (Dirichlet(1/2), many with p near q), seed "
        f"{hmax.index[0]} of {_seed_label(hmax.index)}."
    )
    rows = [
        {"seed": s, "method": "entropy", "metric": m, "value": float(ser[s])}
        for m, ser in (("H_max_bits", hmax), ("gibbs_min_gap_bits", gmin), ("a4_max_gap_bits", a4))
        for s in ser.index
    ]
    return Findings(
        values={"H_max": hmax, "gibbs_min": gmin, "gibbs_pairs": pairs, "a4_gap": a4},
        rows=rows,
        tables={"entropy checks": pd.Series(ent, name="value").to_frame()},
        figures={"fig5_entropy": (fig, caption, "Fig. 5")},
    )


# §4 --------------------------------------------------------------------------------------------------------------
BP_MODEL = "cnn-conv3x3x4-maxpool-fc10"


def backprop_findings(
    *, seeds: list[int], samples: int, fd_samples: int, channels: int, kernel: int, random_trials: int, h: float
) -> Findings:
    """§3, Algorithm 1 (`study.backprop`) against `torch.autograd` and central finite differences (step `h`), in
    float64, per seed s of `seeds`: fresh parameters and `samples` MNIST training images average-pooled to 14×14 (the
    first `fd_samples` of them for the finite differences), plus `random_trials` Gaussian inputs with fresh
    parameters; one generator seeded with s + 3 draws everything of seed s. Per seed: the largest entry-wise relative
    error vs autograd (over every input) and the norm-wise error vs finite differences. Also Fig. 3's reading on the
    first seed: one sample's arg-max positions and all gradient entries.

    Raises:
        ValueError: a size < 1, no seed, `samples` > `BP_POOL`, `fd_samples` > `samples`, or `h` not positive.
    """
    import time

    _positive_int(samples=samples, fd_samples=fd_samples, channels=channels, kernel=kernel, n_seeds=len(seeds))
    if samples > BP_POOL or fd_samples > samples:
        raise checks.out_of_range(
            "samples, fd_samples",
            (samples, fd_samples),
            f"1 <= fd_samples <= samples <= {BP_POOL} (the first {BP_POOL} training images)",
        )
    if random_trials < 0 or not h > 0:
        raise ValueError(f"random_trials={random_trials}, h={h}: accepted random_trials >= 0, h > 0")
    x_train, y_train = mnist("train")
    X14 = F.avg_pool2d(x_train[:BP_POOL], 2).double()  # (N, 1, 14, 14)
    err_rows, per_seed, text = [], {}, []
    for s in seeds:
        gB = torch.Generator().manual_seed(s + 3)
        sel = torch.randperm(len(X14), generator=gB)[:samples]
        Xb, Yb = X14[sel], y_train[:BP_POOL][sel]
        params = bp.init_params((1, 14, 14), channels, kernel, 2, 10, generator=gB)
        n_par = sum(v.numel() for v in params.values())
        t = time.perf_counter()
        L_bp, G_bp = bp.backprop(params, Xb, Yb)
        t_bp = time.perf_counter() - t
        t = time.perf_counter()
        L_ag, G_ag = bp.autograd_gradients(params, Xb, Yb)
        t_ag = time.perf_counter() - t
        Xf, Yf = Xb[:fd_samples], Yb[:fd_samples]
        _, G_bpf = bp.backprop(params, Xf, Yf)
        _, G_ag_f = bp.autograd_gradients(params, Xf, Yf)
        t = time.perf_counter()
        G_fd = bp.finite_differences(params, Xf, Yf, h=h)
        t_fd = time.perf_counter() - t
        rows_s = [
            {
                "seed": s,
                "input": "MNIST 14x14",
                "tensor": name,
                "entries": params[name].numel(),
                "rel. error vs autograd": bp.relative_error(G_bp[name], G_ag[name]),
                "norm-wise vs autograd": bp.normwise_error(G_bp[name], G_ag[name]),
                "rel. error vs finite diff.": bp.relative_error(G_bpf[name], G_fd[name]),
                "max abs. error vs finite diff.": float((G_bpf[name] - G_fd[name]).abs().max()),
                "norm-wise vs finite diff.": bp.normwise_error(G_bpf[name], G_fd[name]),
                "autograd vs finite diff.": bp.relative_error(G_ag_f[name], G_fd[name]),
            }
            for name in bp.PARAM_NAMES
        ]
        for trial in range(random_trials):  # random inputs and parameters (autograd only: FD are slow)
            pr = bp.init_params((1, 14, 14), channels, kernel, 2, 10, generator=gB)
            Xr = torch.randn(samples, 1, 14, 14, generator=gB, dtype=torch.float64)
            Yr = torch.randint(0, 10, (samples,), generator=gB)
            _, Gr = bp.backprop(pr, Xr, Yr)
            _, Gra = bp.autograd_gradients(pr, Xr, Yr)
            rows_s += [
                {
                    "seed": s,
                    "input": f"Gaussian #{trial}",
                    "tensor": name,
                    "entries": pr[name].numel(),
                    "rel. error vs autograd": bp.relative_error(Gr[name], Gra[name]),
                    "norm-wise vs autograd": bp.normwise_error(Gr[name], Gra[name]),
                }
                for name in bp.PARAM_NAMES
            ]
        e = pd.DataFrame(rows_s)
        per_seed[s] = {
            "bp_err_ag": float(e["rel. error vs autograd"].max()),
            "bp_err_fd": float(e["rel. error vs finite diff."].max()),
            "bp_err_fd_norm": bp.normwise_error(bp.flatten(G_bpf), bp.flatten(G_fd)),
            "bp_abs_fd": float(e["max abs. error vs finite diff."].max()),
            "risk_gap": abs(L_bp - L_ag),
        }
        err_rows += rows_s
        text.append(
            f"seed {s}: {n_par} parameters; risk: Algorithm 1 {L_bp:.12f} vs torch {L_ag:.12f} nats; time: "
            f"Algorithm 1 {t_bp / len(Xb) * 1e3:.1f} ms/sample (explicit dense Jacobians), autograd "
            f"{t_ag / len(Xb) * 1e3:.2f} ms/sample, finite differences {t_fd:.1f} s for {fd_samples} samples"
        )
        if s == seeds[0]:
            first = (params, Xb, Yb, G_bp, G_ag, G_fd, G_bpf, n_par, per_seed[s])
    errs = pd.DataFrame(err_rows)
    ps = pd.DataFrame(per_seed).T.sort_index()
    v = {
        "bp_err_ag": ps["bp_err_ag"],
        "bp_err_fd_norm": ps["bp_err_fd_norm"],
        "bp_err_fd": float(ps["bp_err_fd"].max()),
        "bp_abs_fd": float(ps["bp_abs_fd"].max()),
        "bp_fd_h": h,
    }

    params, Xb, Yb, G_bp, G_ag, G_fd, G_bpf, n_par, v0 = first
    conv, dense = bp.layers(params, (1, 14, 14))  # Fig. 3: the arg-max rule on one sample, and every entry
    dense.forward(conv.forward(Xb[0].reshape(-1)))
    a_map = conv.cache["a"].view(channels, conv.Ho, conv.Wo)[0]
    hit = torch.zeros(channels * conv.Ho * conv.Wo)
    hit[conv.d_act().abs().sum(0) > 0] = 1
    fig, axs = plt.subplots(1, 3, figsize=(13, 4))
    axs[0].imshow(Xb[0, 0], cmap="gray")
    axs[0].set_title(f"input (14×14), label {int(Yb[0])}")
    im = axs[1].imshow(a_map, cmap="RdBu_r", norm=plt.matplotlib.colors.CenteredNorm())
    yy, xx = np.nonzero(hit.view(channels, conv.Ho, conv.Wo)[0].numpy())
    axs[1].scatter(xx, yy, marker="s", facecolors="none", edgecolors="k", s=60)
    for k in range(0, conv.Ho + 1, 2):
        axs[1].axhline(k - 0.5, color="0.6", lw=0.5)
        axs[1].axvline(k - 0.5, color="0.6", lw=0.5)
    axs[1].set_title("map 1 activations a; □ = arg-max with a ≥ 0\n(the only entries with ∂x/∂a ≠ 0)")
    fig.colorbar(im, ax=axs[1], fraction=0.046)
    fa, fb = bp.flatten(G_bp), bp.flatten(G_ag)
    axs[2].scatter(fb, fa, s=5, label="vs autograd")
    axs[2].scatter(bp.flatten(G_fd), bp.flatten(G_bpf), s=5, marker="x", label="vs finite differences")
    lim = float(max(fa.abs().max(), fb.abs().max()))
    axs[2].plot([-lim, lim], [-lim, lim], "k", lw=0.6)
    axs[2].set(
        xlabel="reference gradient",
        ylabel="Algorithm 1 gradient",
        title=f"all {n_par} entries; max rel. err. {v0['bp_err_ag']:.0e} (autograd),\n"
        f"{v0['bp_err_fd']:.0e} entry-wise / {v0['bp_err_fd_norm']:.0e} norm-wise (finite diff.)",
    )
    axs[2].legend()
    fig.tight_layout()
    rows = [
        {"seed": s, "model": BP_MODEL, "method": "backprop", "metric": m, "value": float(ps.loc[s, k])}
        for s in ps.index
        for m, k in (
            ("max_rel_error_vs_autograd", "bp_err_ag"),
            ("max_rel_error_vs_finite_diff", "bp_err_fd"),
            ("normwise_error_vs_finite_diff", "bp_err_fd_norm"),
            ("risk_gap_nats", "risk_gap"),
        )
    ]
    metrics = {
        "backprop_max_rel_error/vs_autograd": _metric(ps["bp_err_ag"], "ratio"),
        "backprop_normwise_rel_error/vs_finite_differences": _metric(ps["bp_err_fd_norm"], "ratio"),
    }
    caption = (
        f"Algorithm 1 on the conv(3×3×{channels})-ReLU-maxpool-dense-soft-max network, seed {seeds[0]} of "
        f"{_seed_label(ps.index)}: left, one 14×14 MNIST input; middle, its first activation map with the "
        "pooling windows' arg-max positions (the only entries the Appendix's δ rule lets through); right, "
        f"all {n_par} gradient entries of Algorithm 1 against autograd ({samples} images) and against central "
        f"finite differences (h = {h:g}, {fd_samples} images)."
    )
    return Findings(
        values=v,
        rows=rows,
        metrics=metrics,
        tables={
            "gradient errors per seed, input and tensor": _style_sci(
                errs, [c for c in errs.columns if "error" in c or "vs" in c], "{:.1e}"
            )
        },
        figures={"fig3_backprop_check": (fig, caption, "Algorithm 1")},
        text=text
        + [
            f"worst seed: max entry-wise relative error vs autograd {ps['bp_err_ag'].max():.1e}, "
            f"vs finite differences {v['bp_err_fd']:.1e} (max absolute {v['bp_abs_fd']:.1e}); "
            f"norm-wise vs finite differences {ps['bp_err_fd_norm'].max():.1e}"
        ],
    )


# §5 --------------------------------------------------------------------------------------------------------------
def final_train_risk(frame: pd.DataFrame, keys: list[str]) -> pd.Series:
    """The last training risk (nats) of every run of `frame`, indexed by `keys` + ["seed"]. A run that diverged (a
    "diverged" row) or ended non-finite counts as having made no progress: its final risk is its initial (epoch 0)
    risk, a conservative stand-in for +inf that keeps every claim value finite.

    Raises:
        ValueError: `frame` has no training risk rows.
    """
    r = frame[(frame.metric == "risk_nats") & (frame.split == "train")]
    if r.empty:
        raise ValueError("frame has no training risk rows (metric 'risk_nats', split 'train')")
    idx = keys + ["seed"]
    last = r.sort_values("epoch").groupby(idx).tail(1).set_index(idx)["value"].astype(float)
    init = r[r.epoch == 0].set_index(idx)["value"].astype(float)
    bad = set(frame[frame.metric == "diverged"].set_index(idx).index) | set(last.index[~np.isfinite(last)])
    for k in bad:
        last[k] = init[k]
    return last.sort_index()


def choose_on_validation(
    frame: pd.DataFrame, key: str, grid: list[Any], *, metric: str = "risk_nats", higher_is_better: bool = False
) -> tuple[Any, pd.DataFrame]:
    """One hyper-parameter `key` chosen from `grid` by `study.selection.choose` on the validation rows of `frame` at
    each run's last epoch (only rows with split "val" are passed; `choose` refuses a test row anyway).

    Returns:
        (chosen value, the selection table of `choose`).
    """
    val = frame[frame.split == "val"]
    chosen, table = selection.choose(
        val, [{key: g} for g in grid], metric=metric, split="val", higher_is_better=higher_is_better
    )
    return chosen[key], table


def momentum_findings(sweep: runs.Sweep) -> Findings:
    """§4, Fig. 4: the Sutskever schedule, the training-risk curves per lr and momentum (mean over seeds), the
    learning rate chosen on validation (`choose_on_validation`, lowest mean final validation risk, grid in increasing
    order) for the schedule (α*) and for μ = 0, and per seed the values of the claims (final training risk,
    `final_train_risk`): μ = 0 minus schedule at α*, μ = 0 at its own chosen α minus schedule at α*, the largest lr
    minus α*, the smallest lr minus α* (all with the schedule). `sweep`: the runs of `momentum_plan`."""
    c0 = sweep.configs[0]
    lr_grid = sorted(dict.fromkeys(c["lr"] for c in sweep.configs))
    lrdf = _by_config(sweep, lr="lr", momentum="momentum")
    if (lrdf.split == "test").any():
        raise RuntimeError("momentum runs must not evaluate the test split (they compete in a learning-rate choice)")
    lr_star, table_s = choose_on_validation(lrdf[lrdf.momentum == "sutskever"], "lr", lr_grid)
    lr_none, table_n = choose_on_validation(lrdf[lrdf.momentum == "none"], "lr", lr_grid)
    fin = final_train_risk(lrdf, ["lr", "momentum"])

    def at(lr: float, m: str) -> pd.Series:
        return fin.xs((lr, m), level=["lr", "momentum"])

    lr_lo, lr_hi = lr_grid[0], lr_grid[-1]
    v = {
        "lr_star": lr_star,
        "lr_none": lr_none,
        "lr_lo": lr_lo,
        "lr_hi": lr_hi,
        "mom_gain": cl.differences(at(lr_star, "sutskever"), at(lr_star, "none"), better="lower"),
        "mom_gain_own": cl.differences(at(lr_star, "sutskever"), at(lr_none, "none"), better="lower"),
        "overshoot": cl.differences(at(lr_star, "sutskever"), at(lr_hi, "sutskever"), better="lower"),
        "crawl": cl.differences(at(lr_star, "sutskever"), at(lr_lo, "sutskever"), better="lower"),
        "deps_mom_gain": runs.labels_where(sweep.configs, lr=lr_star),
        "deps_mom_gain_own": (
            runs.labels_where(sweep.configs, lr=lr_star, momentum="sutskever")
            + runs.labels_where(sweep.configs, lr=lr_none, momentum="none")
        ),
        "deps_overshoot": runs.labels_where(sweep.configs, lr=(lr_star, lr_hi), momentum="sutskever"),
        "deps_crawl": runs.labels_where(sweep.configs, lr=(lr_star, lr_lo), momentum="sutskever"),
    }
    fig, axs = plt.subplots(1, 2, figsize=(13, 3.8))
    ts = np.arange(0, 30001)
    for mm in [0.9, 0.99, 0.995, 0.999]:
        axs[0].plot(ts, fd.sutskever_momentum(torch.tensor(ts), mu_max=mm).numpy(), label=f"μ_max = {mm}")  # type: ignore[union-attr]  # tensor in, tensor out
    axs[0].set(xlabel="step t", ylabel="μ_t", title="Sutskever et al. momentum schedule (Fig. 4)", ylim=(0.45, 1.01))
    axs[0].legend()
    risk = lrdf[(lrdf.metric == "risk_nats") & (lrdf.split == "train")]
    steps = lrdf[lrdf.metric == "step"][["epoch", "lr", "momentum", "seed", "value"]].rename(columns={"value": "step"})
    risk = risk.merge(steps, on=["epoch", "lr", "momentum", "seed"])
    sns.lineplot(
        data=risk,
        x="step",
        y="value",
        hue="lr",
        style="momentum",
        palette="viridis",
        hue_norm=plt.matplotlib.colors.LogNorm(),
        ax=axs[1],
        errorbar=("ci", 95),
    )
    axs[1].set(
        yscale="log",
        ylabel="training risk (nats)",
        title=f"MNIST subset N={N_CLASSES * c0['per_class']}, B={c0['batch_size']}",
    )
    axs[1].legend(loc="center left", bbox_to_anchor=(1.01, 0.5), fontsize=8)
    fig.tight_layout()
    init_risk = float(risk[risk.step == 0].value.mean())
    diverged = lrdf[lrdf.metric == "diverged"].groupby(["lr", "momentum"])["seed"].nunique()
    table5 = (
        fin.groupby(level=["lr", "momentum"])
        .mean()
        .unstack("momentum")
        .rename(columns=lambda c: f"final training risk, μ: {c} (mean over seeds)")
    )
    sel = pd.concat([table_s.assign(momentum="sutskever"), table_n.assign(momentum="none")], ignore_index=True)
    caption = (
        f"Left: the Sutskever et al. momentum schedule μ_t for four caps (no data; Fig. 4). Right: training "
        f"risk against SGD steps of the 784-{c0['hidden']}-10 MLP on {N_CLASSES * c0['per_class']} MNIST "
        f"training images, B = {c0['batch_size']}, per learning rate (colour) with μ = 0 or the schedule "
        f"capped at {c0['mu_max']} (line style); mean and 95 % interval over "
        f"{_seed_label(fin.index.get_level_values('seed'))}."
    )
    return Findings(
        values=v,
        runs=sweep.frame,
        figures={"fig4_momentum_and_learning_rate": (fig, caption, "Fig. 4")},
        tables={
            "learning rate chosen on validation (final validation risk, nats)": sel,
            "final training risk (a diverged run counts as its initial risk)": table5.style.format("{:.4f}"),
        },
        text=[
            f"selection rule: {selection.RULE}",
            f"chosen on validation: α* = {lr_star} with the schedule, {lr_none} with μ = 0; initial risk "
            f"{init_risk:.3f} nats; diverged runs (lr, μ: seeds): "
            f"{diverged.to_dict() if len(diverged) else 'none'}",
        ],
    )


# §6 --------------------------------------------------------------------------------------------------------------
def minibatch_findings(sweep: runs.Sweep) -> Findings:
    """§4, online / mini-batch / batch learning at equal gradient evaluations: per B the learning rate chosen on
    validation (`choose_on_validation`), the final training risk per B and lr (`final_train_risk`), risk against
    samples seen and against wall time at the chosen lr, and per seed the values of the claims: batch (B = N) minus
    online (B = first size), and online minus each mini-batch size. `sweep`: the runs of `minibatch_plan`."""
    mbdf = _by_config(sweep, B="batch_size", lr="lr")
    if (mbdf.split == "test").any():
        raise RuntimeError("mini-batch runs must not evaluate the test split (they compete in a learning-rate choice)")
    Bs = list(dict.fromkeys(c["batch_size"] for c in sweep.configs))
    lrs = sorted(dict.fromkeys(c["lr"] for c in sweep.configs))
    N = N_CLASSES * sweep.configs[0]["per_class"]
    chosen, tables_sel = {}, []
    for B in Bs:
        chosen[B], t = choose_on_validation(mbdf[mbdf.B == B], "lr", lrs)
        tables_sel.append(t.assign(B=B))
    fin = final_train_risk(mbdf, ["B", "lr"])

    def at(B: int) -> pd.Series:
        return fin.xs((B, chosen[B]), level=["B", "lr"])

    v = {
        "Bs": Bs,
        "mb_lr": chosen,
        "N": N,
        "mb_online_vs_batch": cl.differences(at(Bs[0]), at(Bs[-1]), better="lower"),
        "mb_mini_vs_online": {B: cl.differences(at(B), at(Bs[0]), better="lower") for B in Bs[1:-1]},
        "deps_mb": {B: runs.labels_where(sweep.configs, batch_size=B, lr=chosen[B]) for B in Bs},
    }
    mrisk = mbdf[(mbdf.metric == "risk_nats") & (mbdf.split == "train")]
    mwall = mbdf[mbdf.metric == "wall_s"][["epoch", "B", "lr", "seed", "value"]].rename(columns={"value": "wall_s"})
    mrisk = mrisk.merge(mwall, on=["epoch", "B", "lr", "seed"])
    best = pd.concat([mrisk[(mrisk.B == B) & (mrisk.lr == chosen[B])] for B in Bs])
    best["setting"] = best.apply(lambda r: f"B={'N' if r.B == N else r.B} (lr={r.lr})", axis=1)
    fig, axs = plt.subplots(1, 2, figsize=(13, 3.8))
    sns.lineplot(data=best, x="epoch", y="value", hue="setting", marker="o", ms=3, ax=axs[0], errorbar=("ci", 95))
    axs[0].set(
        xlabel=f"samples seen / N  (N = {N})",
        ylabel="training risk (nats)",
        yscale="log",
        title="equal gradient evaluations",
    )
    sns.lineplot(
        data=best,
        x="wall_s",
        y="value",
        hue="setting",
        marker="o",
        ms=3,
        ax=axs[1],
        legend=False,
        errorbar=None,
        estimator=None,
        units="seed",
    )
    axs[1].set(
        xlabel="wall time (s, incl. evaluations; this machine)",
        ylabel="training risk (nats)",
        yscale="log",
        xscale="log",
        title="the same runs against wall time",
    )
    fig.tight_layout()
    wall = mrisk.sort_values("epoch").groupby(["B", "lr", "seed"]).tail(1).groupby(["B", "lr"])["wall_s"].mean()
    summary = pd.DataFrame(
        {
            "lr chosen on validation": pd.Series(chosen),
            "final training risk (nats, mean over seeds)": pd.Series({B: at(B).mean() for B in Bs}),
            "wall time (s, mean; a timing, not a claim)": pd.Series({B: wall[(B, chosen[B])] for B in Bs}),
        }
    ).rename_axis("B")
    caption = (
        f"Training risk of the 784-{sweep.configs[0]['hidden']}-10 MLP (μ = 0) on N = {N} MNIST training "
        f"images for B = {', '.join(str(b) for b in Bs)}, each at its learning rate chosen on validation; "
        f"left against samples seen (equal gradient evaluations; mean and 95 % interval over "
        f"{_seed_label(fin.index.get_level_values('seed'))}), right against this machine's wall time (one line "
        "per seed)."
    )
    return Findings(
        values=v,
        runs=sweep.frame,
        figures={"fig6_minibatch": (fig, caption, "")},
        tables={
            "learning rate per B chosen on validation (final validation risk, nats)": pd.concat(
                tables_sel, ignore_index=True
            ),
            "final training risk (nats, mean over seeds; a diverged run counts as its initial risk)": fin.groupby(
                level=["B", "lr"]
            )
            .mean()
            .unstack("lr")
            .style.format("{:.4f}"),
            "chosen settings": summary,
        },
        text=[f"selection rule: {selection.RULE}"],
    )


# §7 --------------------------------------------------------------------------------------------------------------
def early_stopping_summary(frame: pd.DataFrame) -> dict[str, float]:
    """One early-termination run's decision from its tidy rows (`early_stopping_run`): the stop epoch is chosen by
    `study.selection.choose` on the run's validation zero-one error at epochs >= 1 (lowest error; a tie goes to the
    earliest epoch, the most regularised) -- only the validation rows are passed to it -- and must be the epoch of
    the network the run kept (its ``error_at_stop`` test row).

    Returns:
        {"stop epoch", "val error at stop", "test error at stop", "test error at end", "train error at end",
        "gain (end - stop)"} (errors as fractions).

    Raises:
        ValueError: no validation error after epoch 0, or no test rows of the stopped and final networks.
        RuntimeError: the run's kept network is not the one of the chosen epoch.
    """
    val = frame[(frame.split == "val") & (frame.metric == "error") & (frame.epoch > 0)]
    if val.empty:
        raise ValueError("frame has no validation error rows after epoch 0")
    epochs = sorted(val.epoch.unique())
    chosen, _ = selection.choose(val, [{"epoch": e} for e in epochs], metric="error", higher_is_better=False)
    stop = float(chosen["epoch"])
    test = frame[frame.split == "test"]
    at_stop, at_end = test[test.metric == "error_at_stop"], test[test.metric == "error"]
    if at_stop.empty or at_end.empty:
        raise ValueError("frame lacks the test rows 'error_at_stop' and 'error' of the stopped and final networks")
    if float(at_stop.epoch.iloc[0]) != stop:
        raise RuntimeError(
            f"the run kept the network of epoch {at_stop.epoch.iloc[0]}, but the validation rows choose epoch {stop}"
        )
    tr = frame[(frame.split == "train") & (frame.metric == "error")].sort_values("epoch")
    te_stop, te_end = float(at_stop.value.iloc[0]), float(at_end.value.iloc[0])
    return {
        "stop epoch": stop,
        "val error at stop": float(val[val.epoch == stop].value.iloc[0]),
        "test error at stop": te_stop,
        "test error at end": te_end,
        "train error at end": float(tr.value.iloc[-1]),
        "gain (end - stop)": te_end - te_stop,
    }


def early_stopping_findings(sweep: runs.Sweep) -> Findings:
    """§4, early termination: per run the stop epoch chosen on validation and the test error there and at the end
    (`early_stopping_summary`), the training and validation error curves per noise level (Fig. 7 of this study), and
    per noise level and seed the claim's value (test error at the end minus at the stop epoch). `sweep`: the runs of
    `early_stopping_plan`."""
    esdf = _by_config(sweep, noise="label_noise")
    es = pd.DataFrame(
        [
            {"label noise": c["label_noise"], "seed": c["seed"], **early_stopping_summary(r.rows)}  # type: ignore[union-attr]  # failed runs raise first (sweep, `_by_config`)
            for c, r in zip(sweep.configs, sweep.results)
        ]
    )
    noises = list(dict.fromkeys(es["label noise"]))
    fig, axs = plt.subplots(1, len(noises), figsize=(6.5 * len(noises), 3.8), squeeze=False)
    for ax, noise in zip(axs[0], noises):
        e = esdf[(esdf.metric == "error") & (esdf.noise == noise) & (esdf.epoch > 0) & (esdf.split != "test")]
        sns.lineplot(data=e, x="epoch", y="value", hue="split", ax=ax, errorbar=("ci", 95))
        g = es[es["label noise"] == noise]
        ax.scatter(g["stop epoch"], g["test error at stop"], marker="v", color="k", label="test, stopped net", zorder=3)
        ax.scatter(
            [sweep.configs[0]["epochs"]] * len(g),
            g["test error at end"],
            marker="s",
            color="tab:red",
            label="test, final net",
            zorder=3,
        )
        ax.set(ylabel="zero-one error", title=f"label noise {noise:.0%}", yscale="log")
        ax.legend(fontsize=8)
    fig.tight_layout()
    metrics, gain, stop = {}, {}, {}
    for noise, g in es.groupby("label noise", sort=False):
        gain[noise] = g.set_index("seed")["gain (end - stop)"].sort_index()
        stop[noise] = g.set_index("seed")["stop epoch"].sort_index()
        metrics[f"early_stopping_epoch/noise{noise:g}"] = _metric(stop[noise], "epoch")
    c0 = sweep.configs[0]
    caption = (
        f"Training and validation zero-one error per epoch (mean and 95 % interval over "
        f"{_seed_label(es.seed)}) of the 784-{c0['hidden']}-10 MLP on {N_CLASSES * c0['per_class']} MNIST "
        f"training images, validation {N_CLASSES * c0['val_per_class']} held-out training images, per label-"
        f"noise level; triangles: test error of the network kept at the validation minimum (per seed), "
        f"squares: test error after all {c0['epochs']} epochs (first {c0['test_size']} test images)."
    )
    return Findings(
        values={"es_gain": gain, "es_stop": stop, "es_epochs": c0["epochs"], "deps_es": sweep.labels},
        runs=sweep.frame,
        metrics=metrics,
        tables={
            "early termination per run (stop epoch chosen on validation)": es.style.format(
                {c: "{:.4f}" for c in es.columns if "error" in c or "gain" in c}
            )
        },
        figures={"fig7_early_termination": (fig, caption, "")},
        text=[f"selection rule (stop epoch): {selection.RULE}"],
    )


# §8 --------------------------------------------------------------------------------------------------------------
def dropout_findings(sweep: runs.Sweep) -> Findings:
    """§5, dropout: train/test zero-one error and risk gaps per variant (mean, std over seeds), the training curves
    and per-seed gaps (Fig. 8a of this study), the expectation check of every "notes" run (Fig. 8b for the first
    seed), and per seed the claims' values: the no-dropout gap minus each dropout variant's gap, the relative Monte
    Carlo error at the largest M, and the arg-max agreement of the averaged dropout networks with the weight-scaled
    network. `sweep`: the runs of `dropout_plan`."""
    c0 = sweep.configs[0]
    p = c0["p"]
    dodf = _by_config(sweep, variant="variant")
    dodf = dodf[dodf.method != "dropout_expectation"]
    dodf["variant"] = [dropout_variant_name(x, p) for x in dodf.variant]
    dos = pd.DataFrame(
        [
            {
                "variant": dropout_variant_name(c["variant"], p),
                "key": c["variant"],
                "seed": c["seed"],
                **r.artifacts["summary"],  # type: ignore[union-attr]  # failed runs raise first (sweep, `_by_config`)
            }
            for c, r in zip(sweep.configs, sweep.results)
        ]
    )
    cols = ["train error", "test error", "gap (test - train)", "risk gap (nats)"]
    dsum = dos.groupby("variant", sort=False)[cols].agg(["mean", "std"])
    gap = {k: g.set_index("seed")["gap (test - train)"].sort_index() for k, g in dos.groupby("key")}
    fig_a, axs = plt.subplots(1, 2, figsize=(13, 3.8))
    e = dodf[(dodf.metric == "error") & (dodf.epoch > 0) & (dodf.split == "train")]
    sns.lineplot(data=e, x="epoch", y="value", hue="variant", ax=axs[0], errorbar=("ci", 95))
    axs[0].set(
        yscale="log",
        ylabel="training zero-one error",
        title=f"dropout on an MNIST subset (N = {N_CLASSES * c0['per_class']})",
    )
    axs[0].legend(fontsize=8)
    sns.stripplot(data=dos, x="variant", y="gap (test - train)", ax=axs[1], size=7)
    axs[1].set(xlabel="", ylabel="test − train error (test-time network)", title="generalisation gap per seed")
    axs[1].tick_params(axis="x", labelsize=7)
    fig_a.tight_layout()
    metrics = {}
    for key in DROPOUT_VARIANTS:
        metrics[f"dropout_gap_test_minus_train_error/{key if key == 'none' else f'{key}_p{p}'}"] = _metric(
            gap[key], "fraction"
        )
    notes = [
        (c, r.artifacts["expectation"])  # type: ignore[union-attr]  # failed runs raise first (sweep, `_by_config`)
        for c, r in zip(sweep.configs, sweep.results)
        if r.artifacts["expectation"] is not None  # type: ignore[union-attr]  # failed runs raise first (sweep, `_by_config`)
    ]
    if not notes:
        raise ValueError("no 'notes' run with the expectation check (mc_samples) in the sweep")
    mc_err = pd.Series(
        {
            c["seed"]: max(
                ex["mc"][-1]["notes: mean over masks vs weights x p"],
                ex["mc"][-1]["torch inverted: mean over masks vs eval()"],
            )
            for c, ex in notes
        },
        dtype=float,
    ).sort_index()
    agree = pd.Series({c["seed"]: ex["agree"] for c, ex in notes}, dtype=float).sort_index()
    ex = notes[0][1]
    mcdf = pd.DataFrame(ex["mc"])
    fig_b, ax = plt.subplots(figsize=(6.5, 3.8))
    for col in mcdf.columns[1:]:
        ax.plot(mcdf.M, mcdf[col], "o-", label=col)
    ax.plot(mcdf.M, mcdf.iloc[0, 1] / np.sqrt(mcdf.M), "k:", label="∝ 1/√M")
    ax.set(
        xscale="log",
        yscale="log",
        xlabel="masks M",
        ylabel="mean |MC mean − test-time| / mean |test-time|",
        title="dropout in expectation = test-time scaling",
    )
    ax.legend(fontsize=8)
    fig_b.tight_layout()
    v = {
        "do_gain": {k: cl.differences(gap[k], gap["none"], better="lower") for k in ("notes", "torch")},
        "deps_do": {k: runs.labels_where(sweep.configs, variant=(k, "none")) for k in ("notes", "torch")},
        "deps_do_mc": runs.labels_where(sweep.configs, variant="notes"),
        "rgap": dos.groupby("variant", sort=False)["risk gap (nats)"].mean(),
        "p": p,
        "mc_err": mc_err,
        "agree": agree,
        "M_final": ex["M_final"],
        "n_avg": ex["n_avg"],
        "exact_eval": max(e_["exact_eval"] for _, e_ in notes),
        "tv": float(np.mean([e_["tv"] for _, e_ in notes])),
    }
    n_img = N_CLASSES * c0["per_class"]
    cap_a = (
        f"Left: training zero-one error per epoch (mean and 95 % interval over {_seed_label(dos.seed)}) of the "
        f"784-{'-'.join(map(str, c0['hidden']))}-10 MLP on {n_img} MNIST training images without dropout, with "
        f"the notes' dropout (keep p = {p}, weights × p at test) and with PyTorch's inverted dropout. Right: the "
        f"test − train error gap of the test-time network per seed (first {c0['test_size']} test images)."
    )
    cap_b = (
        f"Relative Monte Carlo error of the mean over M dropout masks of the pre-activations after the first "
        f"hidden dropout layer against the test-time value (notes: weights × p; PyTorch: inverted dropout), on "
        f"{DROPOUT_MC_IMAGES} test images, for the trained 'notes' network of seed {notes[0][0]['seed']}; "
        "dotted: 1/√M."
    )
    return Findings(
        values=v,
        runs=sweep.frame,
        metrics=metrics,
        tables={
            "train/test error and gaps per variant (mean, std over seeds)": dsum.style.format("{:.4f}", na_rep="–")
        },
        figures={"fig8a_dropout_training": (fig_a, cap_a, ""), "fig8b_dropout_expectation": (fig_b, cap_b, "")},
        text=[
            f"relative MC error at M={v['M_final']} per seed (worse of the two conventions): "
            f"{mc_err.round(4).to_dict()}; scale_weights(net) vs net.eval(): max |diff| / max |output| "
            f"= {v['exact_eval']:.1e} (float32)",
            f"whole network, 500 test images: average of {v['n_avg']} dropout nets vs the weight-scaled "
            f"net: same class per seed {agree.round(3).to_dict()}, mean total-variation distance "
            f"{v['tv']:.3f}",
        ],
    )


# ------------------------------------------------------------------------------------------------------- claims
HEADLINE_METRICS = (
    "momentum_gain_own_alpha/ablation",
    "backprop_max_rel_error/vs_autograd",
    "backprop_normwise_rel_error/vs_finite_differences",
    "early_stopping_epoch/*",
    "dropout_gap_test_minus_train_error/*",
)

#: The quantity of `study.claims.TOLERANCES` each numeric claim is judged with. The notes give no numbers; their
#: identities are exact, judged at float64 rounding ("identity", 1e-9) or a gradient check's accuracy ("rel_error").
CLAIM_QUANTITY = {
    "simplex": "identity",
    "crossing": "identity",
    "symmetry": "identity",
    "forms": "identity",
    "convexity": "identity",
    "entropy": "identity",
    "gibbs": "identity",
    "a4": "identity",
    "backprop": "rel_error",
    "dropout_mc": "fraction",
    "dropout_agree": "fraction",
}


def claims(v: dict[str, Any]) -> list[dict[str, Any]]:
    """The notes' claims as `study.claims` rows, from the merged `Findings.values` of every section (`merge`).

    Every claim is judged by the shared rule on per-seed values (one value per seed; n >= 3 for a verdict): exact
    identities are ``point`` claims (paper value 0, or 1 bit) with the tolerance of their quantity (`CLAIM_QUANTITY`),
    inequalities ``at_least`` claims, and the notes' comparisons ("momentum accelerates descent", "online converges
    faster than batch", "stopping at the validation minimum improves generalisation", "dropout avoids overfitting")
    ``ordering`` claims on paired per-seed differences oriented so that > 0 supports the notes.

    Raises:
        KeyError: a section's values are missing.
    """
    Q = CLAIM_QUANTITY
    Bs, N = v["Bs"], v["N"]
    seeds = sorted(int(s) for s in v["on_simplex"].index)

    def analysis(name: str) -> list[str]:
        """Labels of checks computed in the notebook (no training run): one per seed."""
        return [f"analysis:{name}/seed={s}" for s in seeds]

    def j(depends_on: list[str], claim: str, type: str, values: Any, **kw: Any) -> dict[str, Any]:
        return cl.judge(PAPER, claim, type, values, depends_on=depends_on, **kw)

    simplex = v["deps_simplex"]
    out = [
        j(
            simplex,
            "§1: soft-max outputs lie on the simplex (Σ p = 1)",
            "point",
            v["on_simplex"],
            paper_value=0.0,
            quantity=Q["simplex"],
            unit="max |Σp − 1|",
            note=f"per seed: max over the MNIST test images of digits {v['classes']} of the trained 3-class MLP's "
            f"|Σ p − 1|; its test accuracy (in its class region P_c) {v['acc3'].mean():.3f} on average",
        ),
        j(
            analysis("loss_crossing"),
            "§2.1: the two loss curves meet at p = 1/2, ℓ(1, 1/2) = ℓ(0, 1/2) = 1 bit",
            "point",
            v["half"],
            paper_value=1.0,
            quantity=Q["crossing"],
            note="per seed: ℓ(1, p) in bits at the crossing found by bisection from a random bracket",
        ),
        j(
            analysis("loss_symmetry"),
            "§2.1: ℓ(1, p) = ℓ(0, 1 − p)",
            "point",
            v["sym_gap"],
            paper_value=0.0,
            quantity=Q["symmetry"],
            note="per seed: max |ℓ(1, p) − ℓ(0, 1 − p)| over 1,000 random p",
        ),
        j(
            simplex,
            "§2.2: −log p_y = −Σ q_k log p_k (one-hot q)",
            "point",
            v["forms_gap"],
            paper_value=0.0,
            quantity=Q["forms"],
            note="per seed: max |difference| on the §1 test outputs, and vs F.cross_entropy",
        ),
        j(
            analysis("hessian_convexity"),
            "§2: the cross-entropy risk of the linear soft-max classifier is convex (Hessian ⪰ 0)",
            "at_least",
            v["convex_lin"],
            paper_value=0.0,
            quantity=Q["convexity"],
            unit="min eig / max eig",
            note="per seed: smallest min/max Hessian eigenvalue ratio over random and trained points of binary "
            "logistic and 3-class soft-max regression on 7×7 MNIST; contrast, tanh net 49-10-3 (not claimed "
            f"convex): {v['convex_tanh'].mean():.2f} on average",
        ),
        j(
            analysis("coin_entropy"),
            "App. A.2: H(1/2) = 1 bit is the largest entropy of a coin",
            "point",
            v["H_max"],
            paper_value=1.0,
            quantity=Q["entropy"],
            note="per seed: max of H over q = 1/2 and 1,000 random q",
        ),
        j(
            analysis("gibbs"),
            "App. A.3: H(q, p) ≥ H(q) (Gibbs)",
            "at_least",
            v["gibbs_min"],
            paper_value=0.0,
            quantity=Q["gibbs"],
            note=f"per seed: smallest H(q, p) − H(q) over {v['gibbs_pairs']} random 10-outcome pairs (many with p near "
            "q)",
        ),
        j(
            simplex,
            "App. A.4: with one-hot q, H(q, p) − H(q) is the cross-entropy loss",
            "point",
            v["a4_gap"],
            paper_value=0.0,
            quantity=Q["a4"],
            note="per seed: max |difference| on the §1 test outputs",
        ),
        j(
            analysis("backprop_autograd"),
            "§3 Alg. 1: back-propagation computes the gradient (vs autograd)",
            "point",
            v["bp_err_ag"],
            paper_value=0.0,
            quantity=Q["backprop"],
            unit="max rel. error",
            note="per seed: largest entry-wise relative error, float64, conv-ReLU-maxpool-dense-softmax-CE, MNIST and "
            "Gaussian inputs",
        ),
        j(
            analysis("backprop_finite_differences"),
            "§3 Alg. 1: back-propagation computes the gradient (vs finite differences)",
            "point",
            v["bp_err_fd_norm"],
            paper_value=0.0,
            quantity=Q["backprop"],
            unit="norm-wise rel. error",
            note=f"per seed: central differences h = {v['bp_fd_h']:g}, float64; entry-wise max {v['bp_err_fd']:.1e} "
            f"(limited by the differences' own absolute error {v['bp_abs_fd']:.0e})",
        ),
        j(
            v["deps_mom_gain"],
            "§4: momentum accelerates descent (the schedule vs μ = 0 at the same α)",
            "ordering",
            v["mom_gain"],
            paper_value="final training risk: schedule < μ = 0",
            unit="nats",
            note=f"per seed: final training risk with μ = 0 minus with the Sutskever schedule at α* = {v['lr_star']} "
            "(chosen on validation for the schedule)",
        ),
    ]
    for claim, key, end, word in (
        ("§4: a learning rate that is too large overshoots", "overshoot", "lr_hi", "largest"),
        ("§4: a learning rate that is too small makes very slow progress", "crawl", "lr_lo", "smallest"),
    ):
        pv = f"final training risk: {word} α > α*"
        if v[end] == v["lr_star"]:
            too = "large" if word == "largest" else "small"
            out.append(
                cl.not_tested(
                    PAPER,
                    claim,
                    "ordering",
                    f"the grid's {word} α = {v[end]} is the one chosen on "
                    f"validation: the grid holds no α that is too {too}",
                    paper_value=pv,
                    unit="nats",
                )
            )
        else:
            out.append(
                j(
                    v[f"deps_{key}"],
                    claim,
                    "ordering",
                    v[key],
                    paper_value=pv,
                    unit="nats",
                    note=f"per seed: final training risk at the grid's {word} α = {v[end]} minus at α* = "
                    f"{v['lr_star']} (schedule); a diverged run counts as its initial risk",
                )
            )
    out += [
        j(
            v["deps_mb"][Bs[0]] + v["deps_mb"][Bs[-1]],
            "§4: online learning converges faster than batch learning at equal computational effort",
            "ordering",
            v["mb_online_vs_batch"],
            paper_value=f"final training risk: B = {Bs[0]} < B = N",
            unit="nats",
            note=f"per seed: final training risk after the same epochs at B = N = {N} minus at B = {Bs[0]}, each at "
            f"its learning rate chosen on validation ({v['mb_lr'][Bs[-1]]}, {v['mb_lr'][Bs[0]]}), μ = 0",
        ),
    ]
    for B, d in v["mb_mini_vs_online"].items():
        out.append(
            j(
                v["deps_mb"][Bs[0]] + v["deps_mb"][B],
                f"§4: mini-batches (B = {B}) improve convergence further (vs online)",
                "ordering",
                d,
                paper_value=f"final training risk: B = {B} < B = {Bs[0]}",
                unit="nats",
                note=f"per seed: final training risk at B = {Bs[0]} minus at B = {B} after the same epochs, each "
                f"at its learning rate chosen on validation ({v['mb_lr'][Bs[0]]}, {v['mb_lr'][B]}), μ = 0",
            )
        )
    out.append(
        cl.not_tested(
            PAPER,
            "§4: small B (a few dozen) is the best compromise between variance and flexible steps",
            "ordering",
            "the notes give no measure of the compromise; comparing wall times would judge this machine, not the claim "
            "(the wall time per B is shown in §6 as a timing)",
        )
    )
    for noise, d in v["es_gain"].items():
        claim = (
            f"§4: early termination at the validation-error minimum improves generalisation (label noise {noise:.0%})"
        )
        if (v["es_stop"][noise] == v["es_epochs"]).all():
            out.append(
                cl.not_tested(
                    PAPER,
                    claim,
                    "ordering",
                    f"the validation error was lowest at the last of the "
                    f"{v['es_epochs']} epochs for every seed: the schedule is too short for it to "
                    "bottom out",
                    paper_value="test error: stopped < trained to the end",
                    unit="fraction",
                )
            )
            continue
        out.append(
            j(
                v["deps_es"],
                claim,
                "ordering",
                d,
                paper_value="test error: stopped < trained to the end",
                unit="fraction",
                note=f"per seed: test error after all {v['es_epochs']} epochs minus at the stop epoch chosen on "
                f"validation (mean stop epoch {v['es_stop'][noise].mean():.1f})",
            )
        )
    p = v["p"]
    dropout_claim = f"§5: dropout (p = {p:g}) reduces overfitting: smaller train/test error gap"
    inverted = j(
        v["deps_do"]["torch"],
        dropout_claim,
        "ordering",
        v["do_gain"]["torch"],
        paper_value="gap: dropout < no dropout",
        unit="fraction",
        note="per seed: test − train error gap without dropout minus with nn.Dropout(1 − p) (same seeds and data)",
    )
    notes_row = j(
        v["deps_do"]["notes"],
        dropout_claim,
        "ordering",
        v["do_gain"]["notes"],
        paper_value="gap: dropout < no dropout",
        unit="fraction",
        note="per seed: test − train error gap without dropout minus with the notes' dropout (weights × p at test); "
        "risk gap (nats) per variant: "
        + "; ".join(f"{k.split(',')[-1].strip()} {x:.3f}" for k, x in v["rgap"].items()),
    )
    out += [
        cl.with_readings(notes_row, {"dropout_convention=notes": notes_row, "dropout_convention=inverted": inverted}),
        j(
            v["deps_do_mc"],
            "§5: multiplying the weights by p at test time gives the average over dropout masks (one layer)",
            "point",
            v["mc_err"],
            paper_value=0.0,
            quantity=Q["dropout_mc"],
            unit="rel. MC error",
            note=f"per seed: relative error of the mean over M = {v['M_final']} masks (worse of the notes' and PyTorch's "
            f"convention; Monte Carlo noise ∝ 1/√M); scale_weights == eval() to {v['exact_eval']:.0e} (float32)",
        ),
        j(
            v["deps_do_mc"],
            "§5: the weight-scaled network effectively averages the dropout networks (same predicted class)",
            "at_least",
            v["agree"],
            paper_value=1.0,
            quantity=Q["dropout_agree"],
            unit="arg-max agreement",
            note=f"per seed: {v['n_avg']} dropout networks averaged vs the scaled network on 500 test images; mean "
            f"total-variation distance {v['tv']:.3f}",
        ),
    ]
    return out


def deviations(params: dict[str, Any] | None = None) -> list[dict[str, str]]:
    """Where this study departs from the notes, or fills in what they leave open, as `study.claims.deviation` rows
    {setting, paper, ours, why, effect} (headline.json). `params`: the checked notebook parameters (`check_params`),
    to name the sizes; None gives the rows with the sizes left generic."""
    q = params or {}

    def sz(k: str, default: str = "see the parameters") -> str:
        return str(q[k]) if k in q else default

    D = cl.deviation
    return [
        D(
            "experiments",
            "none: lecture notes with definitions and qualitative claims, no numbers",
            "our own checks on MNIST subsets and small networks, every claim over n_seeds = "
            + sz("n_seeds")
            + " seeds",
            "the notes give nothing to re-run",
            "every verdict is about our checks of the notes' statements; no row "
            "can compare with a number the notes do not give",
        ),
        D(
            "tolerances of the identities",
            "not given (exact identities)",
            "1e-9 absolute (study.claims 'identity') and 1e-6 relative for the gradient checks ('rel_error')",
            "float64 rounding and the accuracy of central finite differences",
            "none expected: the measured errors (1e-10 or smaller) are in the rows' notes",
        ),
        D(
            "back-propagation network",
            "generic K-layer network, Algorithm 1",
            f"conv {sz('bp_kernel', '3')}×{sz('bp_kernel', '3')}×{sz('bp_channels', '4')}, ReLU, 2×2 max-pool, dense "
            "10, soft-max on 14×14 average-pooled MNIST, float64",
            "explicit Jacobians are dense matrices: a small network keeps them affordable",
            "none expected (an identity); the Gaussian-input trials test other inputs and parameters",
        ),
        D(
            "Algorithm 1 loop bound",
            "k = K, …, 2 for both eq. (2) and eq. (3)",
            "eq. (2) for k = K, …, 1",
            "read literally the loop never computes the first layer's gradient (a typo)",
            "without it the first layer's gradient would be missing; no ablation (it would fail by construction)",
        ),
        D(
            "convexity check",
            "proof for the cross-entropy risk (logistic regression)",
            "Hessian spectra on 7×7 average-pooled, standardised MNIST of 3 digits, random and trained points",
            "a 784-input Hessian is large; the proof's claim does not depend on the input size",
            "none expected; the tanh network is shown as the non-convex contrast",
        ),
        D(
            "learning rate",
            '"chosen by cross-validation" (no value)',
            f"grid {sz('lr_grid')} (§5) and {sz('mb_lrs')} (§6), chosen on a validation split of "
            f"{sz('lr_val_per_class')} training images per digit (lowest final validation risk)",
            "the notes give no value; the test split must not choose",
            "the ordering claims compare at the chosen α; our stricter reading, each method at its own chosen α, is "
            "an ablation row (metric momentum_gain_own_alpha/ablation), not a claim",
        ),
        D(
            "momentum schedule",
            "Sutskever et al. schedule (Fig. 4), cap not given",
            f"μ_t = min(1 − 2^(−1 − log2(⌊t/250⌋ + 1)), {sz('mu_max')})",
            "Fig. 4 shows the schedule, not the cap",
            "a lower cap would weaken the momentum rows; no ablation of the cap (the default profile's 2-minute "
            "budget)",
        ),
        D(
            "training length",
            '"between hours and weeks"',
            f"{sz('opt_epochs')} epochs (§5), {sz('mb_epochs')} (§6), {sz('es_epochs')} (§7), {sz('do_epochs')} (§8) on "
            "subsets of a few thousand images",
            "the default profile must run in about 2 minutes on 2 CPU cores",
            "short schedules favour the 'too small α crawls' and 'online beats batch' rows; the paper profile runs "
            "longer on larger subsets",
        ),
        D(
            "diverged runs",
            "not discussed",
            "a diverged run's final training risk counts as its initial risk",
            "the claims need finite per-seed values; +inf would only strengthen the 'too large α overshoots' row",
            "conservative for that row; the diverged runs are listed in headline.json runs.diverged_runs",
        ),
        D(
            "early termination setting",
            "monitor the validation zero-one error and stop at its minimum",
            "the network is kept at the first epoch with the lowest validation error (held-out training images); "
            f"runs with label noise {sz('es_label_noise')}",
            "on clean labels a small network's validation error barely "
            "rises after its minimum; noisy labels are the classic regime where memorising hurts",
            "the clean-label row tests the notes' setting as written; the noisy-label row is our added regime",
        ),
        D(
            "dropout",
            "drop every node with probability 1 − p, p typically 1/2; weights × p at test",
            f"hidden units p = {sz('do_p')}, input units p = {sz('do_input_p')}; the notes' convention and PyTorch's "
            "inverted dropout",
            "Srivastava et al.'s input keep probability; PyTorch is what practitioners run",
            "the PyTorch variant is the ablation row of the dropout claim",
        ),
        D(
            "hyper-parameters not tuned",
            "not given",
            "§1, §7 and §8 learning rates, batch sizes and widths fixed in the parameters before the runs, not chosen "
            "on any split",
            "the notes' claims are qualitative and should hold for any reasonable setting",
            "an untuned setting could hide an effect (e.g. dropout needing more epochs); no ablation in default "
            "(its 2-minute budget); the paper profile trains longer on larger subsets",
        ),
    ]


def ablations(v: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Our own stricter readings, as headline metrics (not claims; issue 17): per seed, the final training risk
    (nats) of μ = 0 at its own validation-chosen α minus the schedule's at α* (> 0: momentum still ahead)."""
    return {
        "momentum_gain_own_alpha/ablation": {**_metric(v["mom_gain_own"], "nats"), "depends_on": v["deps_mom_gain_own"]}
    }


def headline_metrics(metrics: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The metrics written to headline.json, in the order of `HEADLINE_METRICS` ("prefix/*" takes every metric with
    that prefix); names not found are left out."""
    out = {}
    for k in HEADLINE_METRICS:
        if k.endswith("/*"):
            out.update({m: x for m, x in metrics.items() if m.startswith(k[:-1])})
        elif k in metrics:
            out[k] = metrics[k]
    return out
