"""Tomasi, *Training Convolutional Neural Networks* (lecture notes, Duke, 2019; ``shared/papers/003_*.txt``): the
checks of notebook ``00_training_foundations``.

The notes have no experiments and no numbers; every check here is ours, and every claim is qualitative with the test
that decides it written in its note. Two kinds of computation:

* **training runs** -- cached, resumable tasks of the run store (`study.runs`), one config each, one decorated run
  function per kind (its own experiment name, so that editing one kind never invalidates the others):

  ========================  ===============================  ==============================================
  run function              experiment                       what one run trains (notes section)
  ========================  ===============================  ==============================================
  `simplex_run`             ``foundations_simplex``          784-64-3 ReLU MLP on three digits (§1, Fig. 1)
  `momentum_run`            ``foundations_momentum``         784-h-10 MLP, one lr, μ = 0 or Sutskever (§4)
  `minibatch_run`           ``foundations_minibatch``        784-h-10 MLP, one batch size B and lr, μ = 0 (§4)
  `early_stopping_run`      ``foundations_early_stopping``   784-h-10 MLP with label noise, val/test curves (§4)
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
the merged values into the paper-vs-ours rows. None of that is called by a run function, so editing an analysis, a
table or a figure never re-trains a network.

Seeds. A run seeds itself from ``config["seed"]`` (`study.train.seed_everything`: the global torch RNG, which
draws the initial weights and PyTorch's dropout masks, and the generator that draws the data subset and then the
mini-batch order). Early-stopping and dropout runs get ``seed * 1000 + s`` for their s-th seed (dropout draws its
subset and batch order from ``config["seed"] + 100``), as the notebook did before the run store; the §1, §5 and §6
runs get the notebook's seed, so every run of the learning-rate and batch-size grids starts from the same weights
and sees the same subset and batch order.
"""
from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field
from typing import Any, Iterable

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
import torch
import torch.nn as nn
import torch.nn.functional as F

from study import backprop as bp
from study import checks, data, results, runs, train
from study import foundations as fd

PAPER = "Tomasi 2019"
STUDY = "00_training_foundations"
DATASET = "mnist"
N_CLASSES = 10
D_IN = 784                                   # 28 x 28 MNIST pixels

#: The notebook's parameters (all but profile, seed, device, out_dir, executor): `check_params` checks exactly these,
#: and headline.json records what it returns.
PARAMETERS = (
    "test_size", "threads", "simplex_classes", "simplex_per_class", "simplex_epochs", "convex_per_class",
    "convex_points", "bp_samples", "bp_fd_samples", "bp_channels", "bp_kernel", "bp_random_trials", "bp_fd_h",
    "opt_per_class", "opt_hidden", "opt_batch", "opt_epochs", "lr_grid", "mu_max", "mb_per_class", "mb_batch_sizes",
    "mb_lrs", "mb_epochs", "es_per_class", "es_val_per_class", "es_hidden", "es_epochs", "es_lr", "es_batch",
    "es_momentum", "es_label_noise", "do_per_class", "do_hidden", "do_epochs", "do_lr", "do_batch", "do_momentum",
    "do_p", "do_input_p", "do_mc_samples", "n_seeds")

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
#: §8: `dropout_expectation` averages the dropout networks on the first 500 test images.
DROPOUT_TEST_IMAGES = 500
#: §8: the three dropout variants, in the notebook's order.
DROPOUT_VARIANTS = ("none", "notes", "torch")

#: Where this study departs from the notes (headline.json).
DEVIATIONS = [
    "No experiments in the notes: all checks are ours; items 5-8 on class-balanced MNIST subsets with small MLPs.",
    "Back-propagation checked on a small CNN (conv 3x3x4, ReLU, 2x2 max-pool, dense 10, soft-max) on 14x14 images.",
    "Algorithm 1's loop k = K..2 read as a typo for the parameter gradients (computed for k = K..1).",
    "Convexity checked on 7x7 average-pooled standardised inputs.",
    "Early termination also run with 20% random wrong training labels.",
]


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


def subset(labels: torch.Tensor, per_class: int, generator: torch.Generator, *, classes: Iterable[int] | None = None,
           exclude: torch.Tensor | None = None) -> torch.Tensor:
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
        raise ValueError(f"{kind} config={config!r}: missing keys {sorted(need - got)}, unknown keys "
                         f"{sorted(got - need)}")
    if not isinstance(config["seed"], int) or isinstance(config["seed"], bool) or config["seed"] < 0:
        raise ValueError(f"config['seed']={config['seed']!r} is out of range; accepted: an integer >= 0")
    if not (isinstance(config["device"], str) and config["device"].split(":")[0] in ("cpu", "cuda")):
        raise ValueError(f"config['device']={config['device']!r} is out of range; accepted: 'cpu' or 'cuda[:n]' "
                         "(resolved, never 'auto')")
    for key in ("per_class", "val_per_class", "hidden", "batch_size", "test_size", "epochs", "evals_per_epoch"):
        vals = config.get(key, 1) if isinstance(config.get(key), list) else [config.get(key, 1)]
        if not vals or not all(isinstance(x, (int, float)) and not isinstance(x, bool) and x > 0 for x in vals):
            raise ValueError(f"config[{key!r}]={config[key]!r} is out of range; accepted: a number > 0 (a non-empty "
                             "list of them for 'hidden')")
    if "lr" in config and not (isinstance(config["lr"], (int, float)) and config["lr"] > 0):
        raise ValueError(f"config['lr']={config['lr']!r} is out of range; accepted: a number > 0")
    return config


def _test_set(test_size: int, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """The first `test_size` MNIST test images and labels on `device`."""
    x, y = mnist("test")
    return x[:test_size].to(device), y[:test_size].to(device)



# ------------------------------------------------------------------------------------------- training runs
@runs.experiment("foundations_simplex")
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
    c = _check(config, {"seed", "device", "classes", "per_class", "hidden", "epochs", "lr", "batch_size", "mu"},
               "simplex")
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
    fd.train_momentum(model, x, y, lr=c["lr"], batch_size=c["batch_size"], epochs=c["epochs"], mu=c["mu"],
                      generator=g)
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
    df = results.tidy(rows, study=STUDY, dataset=DATASET, model=model_name, method="simplex", split="test",
                      seed=c["seed"])
    return runs.Result(rows=df, artifacts={"logits": logits, "labels": yt})


def _train_mlp(c: dict[str, Any], mu: Any, evals_per_epoch: int) -> tuple[nn.Module, list[dict[str, Any]],
                                                                            torch.device]:
    """Shared body of `momentum_run` and `minibatch_run`: a class-balanced subset of ``per_class`` images per digit
    (generator seeded with ``seed``), a 784-``hidden``-10 ReLU MLP (global RNG seeded with ``seed``), trained by
    `study.foundations.train_momentum` with the training risk and error recorded `evals_per_epoch` times per epoch.
    Their learning-rate grids include rates too large on purpose: a non-finite loss stops training and is recorded
    (``on_non_finite="record"``: a "diverged" row, which `momentum_findings` and `minibatch_findings` count as an
    infinitely bad run) instead of failing the run; the other runs keep the default (a `FloatingPointError`).

    Returns:
        (the trained model, its tidy rows without model/method, the device).
    """
    g = train.seed_everything(c["seed"])
    dev = torch.device(c["device"])
    x_train, y_train = mnist("train")
    idx = subset(y_train, c["per_class"], g)
    x, y = x_train[idx].to(dev), y_train[idx].to(dev)
    model = fd.mlp([D_IN, c["hidden"], N_CLASSES]).to(dev)
    rows = fd.train_momentum(model, x, y, lr=c["lr"], batch_size=c["batch_size"], epochs=c["epochs"], mu=mu,
                             generator=g, eval_sets={"train": (x, y)}, evals_per_epoch=evals_per_epoch,
                             on_non_finite="record")
    return model, rows, dev


@runs.experiment("foundations_momentum")
def momentum_run(config: dict[str, Any]) -> runs.Result:
    """§4, Fig. 4: one learning rate α, with the momentum method (`study.foundations.momentum_step`) at μ = 0
    (``momentum = "none"``) or the Sutskever et al. schedule capped at ``mu_max`` (``"sutskever"``).

    Config keys: ``seed``, ``device``, ``per_class``, ``hidden``, ``batch_size``, ``epochs``, ``lr``, ``momentum``,
    ``mu_max``, ``evals_per_epoch``, ``test_size``; `momentum_plan` builds them.

    Returns:
        `runs.Result`: rows (model ``mlp-784-<hidden>-10``, method ``lr=<lr>,momentum=<momentum>``) of
        `study.foundations.train_momentum` (epoch = samples seen / N; train ``risk_nats`` and ``error``; ``step``;
        ``wall_s``; ``diverged`` = 1 if the loss became non-finite) and the final test ``error`` on the first
        ``test_size`` test images; no artifacts.

    Raises:
        ValueError: a bad config.
    """
    c = _check(config, {"seed", "device", "per_class", "hidden", "batch_size", "epochs", "lr", "momentum", "mu_max",
                        "evals_per_epoch", "test_size"}, "momentum")
    if c["momentum"] not in ("none", "sutskever"):
        raise ValueError(f"config['momentum']={c['momentum']!r} is out of range; accepted: 'none', 'sutskever'")
    if not 0 <= c["mu_max"] < 1:
        raise ValueError(f"config['mu_max']={c['mu_max']!r} is out of range; accepted: [0, 1)")
    mu_max = c["mu_max"]
    mu = 0.0 if c["momentum"] == "none" else (lambda t: fd.sutskever_momentum(t, mu_max))
    model, rows, dev = _train_mlp(c, mu, c["evals_per_epoch"])
    _, test_err = fd.risk_and_error(model, *_test_set(c["test_size"], dev))
    rows.append({"epoch": c["epochs"], "split": "test", "metric": "error", "value": test_err})
    df = results.tidy(rows, study=STUDY, dataset=DATASET, model=f"mlp-784-{c['hidden']}-10",
                      method=f"lr={c['lr']},momentum={c['momentum']}", seed=c["seed"])
    return runs.Result(rows=df)


@runs.experiment("foundations_minibatch")
def minibatch_run(config: dict[str, Any]) -> runs.Result:
    """§4: online (B = 1), mini-batch and batch (B = N) learning at one learning rate, μ = 0, for ``epochs`` passes
    (the same number of per-sample gradients for every B).

    Config keys: ``seed``, ``device``, ``per_class``, ``hidden``, ``batch_size`` (B, 1..10·per_class), ``epochs``,
    ``lr``, ``evals_per_epoch``; `minibatch_plan` builds them.

    Returns:
        `runs.Result`: rows (model ``mlp-784-<hidden>-10``, method ``B=<B>,lr=<lr>``) of
        `study.foundations.train_momentum` (train ``risk_nats``, ``error``, ``step``, ``wall_s``, ``diverged``);
        no artifacts.

    Raises:
        ValueError: a bad config (B larger than the subset included).
    """
    c = _check(config, {"seed", "device", "per_class", "hidden", "batch_size", "epochs", "lr", "evals_per_epoch"},
               "minibatch")
    _, rows, _ = _train_mlp(c, 0.0, c["evals_per_epoch"])
    df = results.tidy(rows, study=STUDY, dataset=DATASET, model=f"mlp-784-{c['hidden']}-10",
                      method=f"B={c['batch_size']},lr={c['lr']}", seed=c["seed"])
    return runs.Result(rows=df)


@runs.experiment("foundations_early_stopping")
def early_stopping_run(config: dict[str, Any]) -> runs.Result:
    """§4, early termination: train a 784-``hidden``-10 MLP with constant momentum for ``epochs`` epochs on
    ``per_class`` images per digit, a fraction ``label_noise`` of whose labels is replaced by a random wrong one, and
    record the zero-one error and risk on the training subset, a disjoint validation subset (``val_per_class`` per
    digit, from the training split) and the first ``test_size`` test images after every epoch.

    Config keys: ``seed``, ``device``, ``per_class``, ``val_per_class``, ``hidden``, ``epochs``, ``lr``,
    ``batch_size``, ``momentum``, ``label_noise`` (in [0, 1)), ``test_size``; `early_stopping_plan` builds them. The
    generator seeded with ``seed`` draws, in order, the training subset, the validation subset, the flipped labels
    and the batch order.

    Returns:
        `runs.Result`: rows (model ``mlp-784-<hidden>-10``, method ``label_noise=<label_noise>``) of
        `study.foundations.train_momentum` for splits train/val/test; no artifacts (`early_stopping_findings` finds
        the stop epoch from the rows).

    Raises:
        ValueError: a bad config.
    """
    c = _check(config, {"seed", "device", "per_class", "val_per_class", "hidden", "epochs", "lr", "batch_size",
                        "momentum", "label_noise", "test_size"}, "early_stopping")
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
    rows = fd.train_momentum(model, x, y, lr=c["lr"], batch_size=c["batch_size"], epochs=c["epochs"],
                             mu=c["momentum"], generator=g,
                             eval_sets={"train": (x, y), "val": (xv, yv), "test": _test_set(c["test_size"], dev)})
    df = results.tidy(rows, study=STUDY, dataset=DATASET, model=f"mlp-784-{c['hidden']}-10",
                      method=f"label_noise={c['label_noise']}", seed=c["seed"])
    return runs.Result(rows=df)


def dropout_variant_name(variant: str, p: float) -> str:
    """The ``method`` label of a dropout variant ("none", "notes", "torch") with keep probability `p`.

    Raises:
        ValueError: unknown `variant`.
    """
    names = {"none": "no dropout", "notes": f"p={p}, weights x p at test (notes)",
             "torch": f"p={p}, torch inverted dropout"}
    if variant not in names:
        raise ValueError(f"variant={variant!r} is out of range; accepted: {list(names)}")
    return names[variant]


def dropout_expectation(net: nn.Sequential, x_test: torch.Tensor, p: float, mc_samples: int, seed: int
                        ) -> dict[str, Any]:
    """§5: for a network trained with the notes' dropout (`study.foundations.Dropout`, keep probability `p`), check
    that the notes' rule (weights leaving a unit × p at test time) and PyTorch's inverted dropout agree in
    expectation, on the CPU in float32.

    For the first dropout layer after a hidden ReLU and the `nn.Linear` after it, on the first 100 images of
    `x_test`: the Monte Carlo mean over M masks (M on a log grid up to `mc_samples`) of the pre-activations with the
    notes' dropout and weights W, and with `nn.Dropout(1 - p)` and weights pW, against the test-time value; then, on
    the first 500 images, the average soft-max of min(`mc_samples`, 500) dropout networks against the
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
    lin2 = net[j + 1]                                   # the Linear after the first hidden dropout layer
    with torch.inference_mode():
        h1 = net[:j](x_test[:100].cpu())                # (100, hidden) outputs of hidden layer 1
        target_notes = lin2(h1 * p)                     # notes: weights leaving the units multiplied by p
        w_inv = nn.Linear(lin2.in_features, lin2.out_features)
        w_inv.load_state_dict({"weight": lin2.weight * p, "bias": lin2.bias})   # the inverted-dropout weights
        target_inv = w_inv(h1)                          # inverted dropout: nothing to do at test time
        assert torch.allclose(target_notes, target_inv, rtol=1e-5, atol=1e-6)
        drop_notes = fd.Dropout(p, generator=torch.Generator().manual_seed(seed + 4)).train()
        drop_torch = nn.Dropout(1 - p).train()
        ms = np.unique(np.logspace(0, math.log10(mc_samples), 12).astype(int))
        acc_n, acc_t = torch.zeros_like(target_notes), torch.zeros_like(target_notes)
        mc, m_done = [], 0
        scale = float(target_notes.abs().mean())
        for m in ms:
            for _ in range(m - m_done):
                acc_n += lin2(drop_notes(h1))           # classic dropout, weights W
                acc_t += w_inv(drop_torch(h1))          # PyTorch inverted dropout, weights p W
            m_done = m
            err_n = float((acc_n / m - target_notes).abs().mean()) / scale
            err_t = float((acc_t / m - target_inv).abs().mean()) / scale
            mc.append({"M": int(m), "notes: mean over masks vs weights x p": err_n,
                       "torch inverted: mean over masks vs eval()": err_t})
        scaled = fd.scale_weights(net)                  # whole network: average of M dropout nets vs scaled net
        net.train()
        torch.manual_seed(seed + 5)
        xq = x_test[:500].cpu()
        n_avg = min(mc_samples, 500)
        p_avg = torch.stack([torch.softmax(net(xq), 1) for _ in range(n_avg)]).mean(0)
        net.eval()
        p_scaled = torch.softmax(scaled(xq), 1)
        exact_eval = float((scaled(xq) - net(xq)).abs().max() / net(xq).abs().max())
    return {"mc": mc, "M_final": int(ms[-1]), "exact_eval": exact_eval, "n_avg": n_avg,
            "agree": float((p_avg.argmax(1) == p_scaled.argmax(1)).double().mean()),
            "tv": float(0.5 * (p_avg - p_scaled).abs().sum(1).mean())}


@runs.experiment("foundations_dropout")
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
        `study.foundations.train_momentum` (train/test ``risk_nats`` and ``error`` per epoch, ``step``, ``wall_s``),
        plus, with ``mc_samples``, rows (method "dropout_expectation") ``mc_rel_error_notes``,
        ``mc_rel_error_torch_inverted``, ``argmax_agreement_avg_vs_scaled``; artifacts ``summary`` ({"train error",
        "test error", "gap (test - train)", "risk gap (nats)"} of the test-time network) and ``expectation`` (what
        `dropout_expectation` returns, or None).

    Raises:
        ValueError: a bad config (``mc_samples`` on a run that is not "notes" included).
    """
    c = _check(config, {"seed", "device", "variant", "per_class", "hidden", "epochs", "lr", "batch_size", "momentum",
                        "p", "input_p", "test_size", "mc_samples"}, "dropout")
    name = dropout_variant_name(c["variant"], c["p"])
    if c["mc_samples"] is not None and (c["variant"] != "notes" or c["mc_samples"] < 1):
        raise ValueError(f"config['mc_samples']={c['mc_samples']!r} is out of range; accepted: None, or an integer "
                         ">= 1 for variant 'notes'")
    train.seed_everything(c["seed"])
    g = torch.Generator().manual_seed(c["seed"] + 100)
    dev = torch.device(c["device"])
    x_train, y_train = mnist("train")
    idx = subset(y_train, c["per_class"], g)
    x, y = x_train[idx].to(dev), y_train[idx].to(dev)
    xt, yt = _test_set(c["test_size"], dev)
    kw = {"none": {"dropout": None},
          "notes": {"dropout": c["p"], "input_dropout": c["input_p"]},
          "torch": {"dropout": c["p"], "input_dropout": c["input_p"], "mode": "torch"}}[c["variant"]]
    model = fd.mlp([D_IN, *c["hidden"], N_CLASSES], **kw).to(dev)
    rows = fd.train_momentum(model, x, y, lr=c["lr"], batch_size=c["batch_size"], epochs=c["epochs"],
                             mu=c["momentum"], generator=g, eval_sets={"train": (x, y), "test": (xt, yt)})
    test_model = fd.scale_weights(model) if c["variant"] == "notes" else model   # the notes' test-time network
    tr_risk, tr_err = fd.risk_and_error(test_model, x, y)
    te_risk, te_err = fd.risk_and_error(test_model, xt, yt)
    summary = {"train error": tr_err, "test error": te_err, "gap (test - train)": te_err - tr_err,
               "risk gap (nats)": te_risk - tr_risk}
    model_name = "mlp-784-" + "-".join(map(str, c["hidden"])) + "-10"
    df = results.tidy(rows, study=STUDY, dataset=DATASET, model=model_name, method=name, seed=c["seed"])
    expectation = None
    if c["mc_samples"] is not None:
        expectation = dropout_expectation(model, xt, c["p"], c["mc_samples"], c["seed"])
        mc = expectation["mc"][-1]
        extra = [{"metric": "mc_rel_error_notes", "value": mc["notes: mean over masks vs weights x p"]},
                 {"metric": "mc_rel_error_torch_inverted", "value": mc["torch inverted: mean over masks vs eval()"]},
                 {"metric": "argmax_agreement_avg_vs_scaled", "value": expectation["agree"]}]
        df = pd.concat([df, results.tidy(extra, study=STUDY, dataset=DATASET, method="dropout_expectation",
                                         seed=c["seed"])], ignore_index=True)
    return runs.Result(rows=df, artifacts={"summary": summary, "expectation": expectation})


# ------------------------------------------------------------------------------------------------------- plans
def _device(device: str | torch.device) -> str:
    """"cpu" or "cuda" ("auto" resolved by `study.train.pick_device`)."""
    return train.pick_device(str(device)).type


def _positive_int(**kw: Any) -> None:
    for k, v in kw.items():
        if not isinstance(v, int) or isinstance(v, bool) or v < 1:
            raise ValueError(f"{k}={v!r} is out of range; accepted: an integer >= 1")


# ------------------------------------------------------------------------------------------ notebook parameters
_need, _int_in = checks.need, checks.int_in


def _num_in(p: dict[str, Any], name: str, low: float, high: float | None, *, closed_low: bool = False,
            closed_high: bool = False, why: str = "") -> float:
    """float(p[name]) when it is a finite number (not a bool, not a string) in the interval given."""
    v = p[name]
    ok = checks.is_num(v) and (v >= low if closed_low else v > low) and (
        high is None or (v <= high if closed_high else v < high))
    interval = "a number > {}".format(low) if high is None else "a number in {}{}, {}{}".format(
        "[" if closed_low else "(", low, high, "]" if closed_high else ")")
    _need(ok, name, v, interval + why)
    return float(v)


def _distinct_list(p: dict[str, Any], name: str, item_ok: Any, accepted: str, min_len: int = 1,
                   distinct: bool = True) -> list[Any]:
    """list(p[name]) when it is a list (or tuple) of at least `min_len` items that pass `item_ok`, all different
    when `distinct` (a repeated value would repeat a run and merge its rows with the other's)."""
    v = p[name]
    ok = (isinstance(v, (list, tuple)) and len(v) >= min_len and all(item_ok(x) for x in v)
          and (not distinct or len(set(v)) == len(v)))
    _need(ok, name, v, f"a {'non-empty ' if min_len == 1 else ''}list of "
                       f"{'at least ' + str(min_len) + ' ' if min_len > 1 else ''}{'distinct ' if distinct else ''}"
                       f"{accepted}")
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
    * §5-§8 per-class sizes <= 5,421 (digit 5; early stopping: training + validation, disjoint), batch sizes in
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
    _need(p["threads"] is None or checks.is_int(p["threads"], 1), "threads", p["threads"],
          "None ($STUDY_THREADS, else every core) or an integer >= 1")
    _int_in(p, "test_size", DROPOUT_TEST_IMAGES, MNIST_TEST_SIZE,
            f" (MNIST has {MNIST_TEST_SIZE} test images; §8 uses the first {DROPOUT_TEST_IMAGES})")
    # §1-§2: three digits
    cls = p["simplex_classes"]
    _need(isinstance(cls, (list, tuple)) and len(cls) == 3 and all(checks.is_int(d, 0) and d <= 9 for d in cls)
          and len(set(cls)) == 3, "simplex_classes", cls, "three distinct digits in 0..9")
    p["simplex_classes"] = list(cls)
    most = min(MNIST_TRAIN_PER_CLASS[d] for d in cls)
    _int_in(p, "simplex_per_class", math.ceil(SIMPLEX_BATCH / 3), most,
            f" (3 x simplex_per_class images fill at least one batch of {SIMPLEX_BATCH}; MNIST has {most} training "
            f"images of the rarest digit of {list(cls)})")
    _int_in(p, "simplex_epochs", 1)
    _int_in(p, "convex_per_class", 1, most, f" (MNIST has {most} training images of the rarest digit of {list(cls)})")
    _int_in(p, "convex_points", 1)
    # §3: back-propagation
    _int_in(p, "bp_samples", 1, BP_POOL, f" (drawn from the first {BP_POOL} training images)")
    _int_in(p, "bp_fd_samples", 1, p["bp_samples"], " (the first bp_fd_samples of the bp_samples)")
    _int_in(p, "bp_channels", 1)
    _int_in(p, "bp_kernel", 1, BP_SIDE - 1, f" (a valid convolution of {BP_SIDE}x{BP_SIDE} inputs, then 2x2 pooling)")
    _int_in(p, "bp_random_trials", 0)
    p["bp_fd_h"] = _num_in(p, "bp_fd_h", 0, 1, why=" (central-difference step)")
    # §5: momentum and learning rate
    _int_in(p, "opt_per_class", 1, rarest, f" (MNIST digit 5 has {rarest} training images)")
    _int_in(p, "opt_hidden", 1)
    n = N_CLASSES * p["opt_per_class"]
    _int_in(p, "opt_batch", 1, n, f" (at most the {n} training images, 10 x opt_per_class)")
    _int_in(p, "opt_epochs", 1)
    p["lr_grid"] = [float(v) for v in _distinct_list(
        p, "lr_grid", lambda v: checks.is_num(v) and v > 0, "numbers > 0 (the claim compares the smallest and the "
        "largest)", min_len=2)]
    p["mu_max"] = _num_in(p, "mu_max", 0, 1, closed_low=True)
    # §6: mini-batches
    _int_in(p, "mb_per_class", 1, rarest, f" (MNIST digit 5 has {rarest} training images)")
    n = N_CLASSES * p["mb_per_class"]
    bs = p["mb_batch_sizes"]
    sizes = [n if b == "full" else b for b in bs] if isinstance(bs, (list, tuple)) else []
    _need(len(sizes) >= 3 and all(checks.is_int(b, 1) and b <= n for b in sizes)
          and all(a < b for a, b in zip(sizes, sizes[1:])) and sizes[-1] == n, "mb_batch_sizes", bs,
          f"at least 3 increasing batch sizes in [1, {n}] (online, mini-batch(es), batch) ending at {n} or 'full' "
          "(N = 10 x mb_per_class)")
    p["mb_batch_sizes"] = list(bs)
    p["mb_lrs"] = [float(v) for v in _distinct_list(p, "mb_lrs", lambda v: checks.is_num(v) and v > 0, "numbers > 0")]
    _int_in(p, "mb_epochs", 1)
    # §7: early termination
    _int_in(p, "es_per_class", 1, rarest - 1, f" (with es_val_per_class >= 1 disjoint images; MNIST digit 5 has "
                                             f"{rarest} training images)")
    _int_in(p, "es_val_per_class", 1, rarest - p["es_per_class"],
            f" (drawn from the training images not in the es_per_class={p['es_per_class']} subset; MNIST digit 5 has "
            f"{rarest})")
    _int_in(p, "es_hidden", 1)
    _int_in(p, "es_epochs", 1)
    p["es_lr"] = _num_in(p, "es_lr", 0, None)
    n = N_CLASSES * p["es_per_class"]
    _int_in(p, "es_batch", 1, n, f" (at most the {n} training images, 10 x es_per_class)")
    p["es_momentum"] = _num_in(p, "es_momentum", 0, 1, closed_low=True)
    p["es_label_noise"] = [float(v) for v in _distinct_list(
        p, "es_label_noise", lambda v: checks.is_num(v) and 0 <= v < 1, "fractions in [0, 1)")]
    # §8: dropout
    _int_in(p, "do_per_class", 1, rarest, f" (MNIST digit 5 has {rarest} training images)")
    p["do_hidden"] = _distinct_list(p, "do_hidden", lambda v: checks.is_int(v, 1), "hidden widths >= 1 (integers)",
                                    distinct=False)
    _int_in(p, "do_epochs", 1)
    p["do_lr"] = _num_in(p, "do_lr", 0, None)
    n = N_CLASSES * p["do_per_class"]
    _int_in(p, "do_batch", 1, n, f" (at most the {n} training images, 10 x do_per_class)")
    p["do_momentum"] = _num_in(p, "do_momentum", 0, 1, closed_low=True)
    p["do_p"] = _num_in(p, "do_p", 0, 1, why=" (keep probability; 1 would make the dropout variants the network "
                                             "without dropout)")
    if p["do_input_p"] is not None:
        _need(checks.is_num(p["do_input_p"]) and 0 < p["do_input_p"] <= 1, "do_input_p", p["do_input_p"],
              "None (no input dropout) or a keep probability in (0, 1]")
        p["do_input_p"] = float(p["do_input_p"])
    _int_in(p, "do_mc_samples", 1)
    _int_in(p, "n_seeds", 1)
    return p


def simplex_plan(*, seed: int, device: str | torch.device, classes: list[int], per_class: int, epochs: float
                 ) -> list[dict[str, Any]]:
    """The one §1 run: digits `classes` (three of 0..9), `per_class` training images each, `epochs` epochs of a
    784-64-3 MLP (lr 0.05, B = 20, μ = 0.9, the module constants ``SIMPLEX_*``), seed `seed`.

    Raises:
        ValueError: not three distinct digits, or a size out of range.
    """
    if len(set(classes)) != 3 or not all(isinstance(d, int) and 0 <= d <= 9 for d in classes):
        raise ValueError(f"classes={classes!r} is out of range; accepted: three distinct digits in 0..9")
    _positive_int(per_class=per_class)
    return [{"seed": seed, "device": _device(device), "classes": list(classes), "per_class": per_class,
             "hidden": SIMPLEX_HIDDEN, "epochs": epochs, "lr": SIMPLEX_LR, "batch_size": SIMPLEX_BATCH,
             "mu": SIMPLEX_MU}]


def momentum_plan(*, seed: int, device: str | torch.device, per_class: int, hidden: int, batch_size: int,
                  epochs: float, lrs: list[float], mu_max: float, test_size: int) -> list[dict[str, Any]]:
    """§5 of the notebook: for each lr in `lrs`, μ = 0 ("none") and the Sutskever schedule ("sutskever"), in that
    order: 2·len(lrs) runs, all seed `seed` (same subset, initial weights and batch order).

    Raises:
        ValueError: an empty or non-positive lr grid, `mu_max` outside [0, 1), or a size out of range.
    """
    if not lrs or any(not lr > 0 for lr in lrs):
        raise ValueError(f"lrs={lrs!r} is out of range; accepted: a non-empty list of numbers > 0")
    if not 0 <= mu_max < 1:
        raise ValueError(f"mu_max={mu_max!r} is out of range; accepted: [0, 1)")
    _positive_int(per_class=per_class, hidden=hidden, batch_size=batch_size, test_size=test_size)
    dev = _device(device)
    return [{"seed": seed, "device": dev, "per_class": per_class, "hidden": hidden, "batch_size": batch_size,
             "epochs": epochs, "lr": lr, "momentum": m, "mu_max": mu_max, "evals_per_epoch": MOMENTUM_EVALS_PER_EPOCH,
             "test_size": test_size} for lr in lrs for m in ("none", "sutskever")]


def minibatch_plan(*, seed: int, device: str | torch.device, per_class: int, hidden: int, batch_sizes: list,
                   lrs: list[float], epochs: float) -> list[dict[str, Any]]:
    """§6 of the notebook: for each B in `batch_sizes` ("full" = N = 10·per_class), each lr in `lrs`: μ = 0,
    `epochs` epochs, min(10, ⌈N/B⌉) evaluations per epoch, seed `seed`.

    Raises:
        ValueError: a batch size outside [1, N] (or not "full"), or an empty / non-positive lr grid.
    """
    _positive_int(per_class=per_class, hidden=hidden)
    if not lrs or any(not lr > 0 for lr in lrs):
        raise ValueError(f"lrs={lrs!r} is out of range; accepted: a non-empty list of numbers > 0")
    n = N_CLASSES * per_class
    bs = [n if b == "full" else b for b in batch_sizes]
    if not bs or any(not (isinstance(b, int) and 1 <= b <= n) for b in bs):
        raise ValueError(f"batch_sizes={batch_sizes!r} is out of range; accepted: integers in [1, {n}] or 'full'")
    dev = _device(device)
    return [{"seed": seed, "device": dev, "per_class": per_class, "hidden": hidden, "batch_size": b, "epochs": epochs,
             "lr": lr, "evals_per_epoch": min(10, math.ceil(n / b))} for b in bs for lr in lrs]


def early_stopping_plan(*, seed: int, device: str | torch.device, per_class: int, val_per_class: int, hidden: int,
                        epochs: float, lr: float, batch_size: int, momentum: float, label_noise: list[float],
                        n_seeds: int, test_size: int) -> list[dict[str, Any]]:
    """§7 of the notebook: for each noise level in `label_noise`, seeds ``seed * 1000 + s`` for s < `n_seeds`.

    Raises:
        ValueError: a noise level outside [0, 1) or a size out of range.
    """
    _positive_int(per_class=per_class, val_per_class=val_per_class, hidden=hidden, batch_size=batch_size,
                  n_seeds=n_seeds, test_size=test_size)
    if not label_noise or any(not 0 <= v < 1 for v in label_noise):
        raise ValueError(f"label_noise={label_noise!r} is out of range; accepted: a non-empty list in [0, 1)")
    dev = _device(device)
    return [{"seed": seed * 1000 + s, "device": dev, "per_class": per_class, "val_per_class": val_per_class,
             "hidden": hidden, "epochs": epochs, "lr": lr, "batch_size": batch_size, "momentum": momentum,
             "label_noise": noise, "test_size": test_size} for noise in label_noise for s in range(n_seeds)]


def dropout_plan(*, seed: int, device: str | torch.device, per_class: int, hidden: list[int], epochs: float,
                 lr: float, batch_size: int, momentum: float, p: float, input_p: float | None, mc_samples: int,
                 n_seeds: int, test_size: int) -> list[dict[str, Any]]:
    """§8 of the notebook: for s < `n_seeds` (seed ``seed * 1000 + s``), the variants `DROPOUT_VARIANTS` in order;
    the "notes" run of s = 0 also runs `dropout_expectation` with `mc_samples` masks.

    Raises:
        ValueError: `p` or `input_p` outside (0, 1], or a size out of range.
    """
    _positive_int(per_class=per_class, batch_size=batch_size, mc_samples=mc_samples, n_seeds=n_seeds,
                  test_size=test_size, **{f"hidden[{i}]": h for i, h in enumerate(hidden)})
    for k, v in (("p", p), ("input_p", 1.0 if input_p is None else input_p)):
        if not 0 < v <= 1:
            raise ValueError(f"{k}={v!r} is out of range; accepted: (0, 1] (keep probability)")
    dev = _device(device)
    return [{"seed": seed * 1000 + s, "device": dev, "variant": v, "per_class": per_class, "hidden": list(hidden),
             "epochs": epochs, "lr": lr, "batch_size": batch_size, "momentum": momentum, "p": p, "input_p": input_p,
             "test_size": test_size, "mc_samples": mc_samples if (v == "notes" and s == 0) else None}
            for s in range(n_seeds) for v in DROPOUT_VARIANTS]


# ------------------------------------------------------------------------------------------------- findings
@dataclass
class Findings:
    """What one section of the notebook found.

    Attributes:
        values: named numbers (and small objects) the claims are built from (`claims`).
        rows: tidy rows (dicts with some of `study.results.COLUMNS`) of the checks that are not runs; `frame` adds
            study/dataset/seed.
        runs: tidy frame of the section's training runs (`study.runs.Sweep.frame`), or None.
        metrics: headline metrics ``{"name/method": {mean, std, n, unit}}``.
        tables: caption -> DataFrame or Styler, shown by `report`.
        figures: file name (without .png) -> matplotlib Figure, saved and shown by `report`.
        text: lines printed by `report`.
    """
    values: dict[str, Any] = field(default_factory=dict)
    rows: list[dict[str, Any]] = field(default_factory=list)
    runs: pd.DataFrame | None = None
    metrics: dict[str, dict[str, Any]] = field(default_factory=dict)
    tables: dict[str, Any] = field(default_factory=dict)
    figures: dict[str, Any] = field(default_factory=dict)
    text: list[str] = field(default_factory=list)


def report(nb: Any, f: Findings) -> Findings:
    """Show a section's findings in the notebook: its tables, then its figures (each saved with ``nb.figure``),
    then its text. `nb` is the notebook's `study.run.Run`. Returns `f`."""
    from IPython.display import display
    for table in f.tables.values():
        display(table)
    for name, fig in f.figures.items():
        nb.figure(fig, name)
        plt.show()
    for line in f.text:
        print(line)
    return f


def merge(*sections: Findings, seed: int) -> tuple[dict[str, Any], pd.DataFrame, dict[str, dict[str, Any]]]:
    """Join the sections' findings, in order.

    Returns:
        (values, tidy frame with exactly `study.results.COLUMNS` -- each section's check rows, seed `seed`, then its
        run rows --, headline metrics).

    Raises:
        ValueError: two sections define the same value name.
    """
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
        raise RuntimeError(f"{len(missing)} of {len(sweep.configs)} runs failed, first config {missing[0]}; "
                           "re-run the sweep (it retries only the failed runs)")
    return pd.concat([r.rows.assign(**{k: c[v] for k, v in columns.items()})
                      for c, r in zip(sweep.configs, sweep.results)], ignore_index=True)


def _style_sci(df: pd.DataFrame, cols: Iterable[str], fmt: str = "{:.2e}"):
    return df.style.format({c: fmt for c in cols}, na_rep="–")


# §1 --------------------------------------------------------------------------------------------------------------
SIMPLEX_VERTICES = np.array([[0.0, 0.0], [1.0, 0.0], [0.5, math.sqrt(3) / 2]])   # the 2-simplex drawn in the plane


def simplex_findings(sweep: runs.Sweep) -> Findings:
    """§1: Fig. 1 (the 1- and 2-simplex with their decision regions; the test images of the trained 3-class network
    in the 2-simplex), its accuracy and max |Σ p - 1|. `sweep`: the one run of `simplex_plan`."""
    (config,), (res,) = sweep.configs, sweep.results
    V = SIMPLEX_VERTICES
    cls, logits, yt = config["classes"], res.artifacts["logits"], res.artifacts["labels"]
    p3 = fd.softmax(logits)
    acc3 = float(res.rows.query("metric == 'accuracy'").value.iloc[0])
    on_simplex = float(res.rows.query("metric == 'max_abs_sum_minus_1'").value.iloc[0])

    fig = plt.figure(figsize=(14, 4.3))
    ax = fig.add_subplot(1, 3, 1)
    ax.plot([1, 0.5], [0, 0.5], color="tab:orange", lw=4, label="$P_1$")
    ax.plot([0.5, 0], [0.5, 1], color="tab:green", lw=4, label="$P_2$")
    ax.plot(0.5, 0.5, "o", color="tab:blue", ms=9, label="unit point 1/2")
    ax.set(xlim=(-0.1, 1.15), ylim=(-0.1, 1.15), xlabel="$p_1$", ylabel="$p_2$", aspect="equal",
           title="1-simplex (2 classes)")
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
    return Findings(values={"on_simplex": on_simplex, "acc3": acc3, "classes": cls}, runs=sweep.frame,
                    figures={"fig1_softmax_simplex": fig},
                    text=[f"{len(yt)} test images of digits {cls}: accuracy {acc3:.4f}; max |sum p - 1| = "
                          f"{on_simplex:.1e}"])


# §2 --------------------------------------------------------------------------------------------------------------
def cross_entropy_findings(logits: torch.Tensor, labels: torch.Tensor) -> Findings:
    """§2.1-2.2, Fig. 2: the two-class loss ℓ(1, p), ℓ(0, p) in bits, ℓ(1, 1/2), its symmetry, and the multi-class
    forms -log p_y, -Σ q log p and `F.cross_entropy` on the §1 test outputs (`logits` float64 (M, K), `labels` (M,))."""
    p = torch.linspace(1e-3, 1 - 1e-3, 500, dtype=torch.float64)
    l1 = fd.binary_cross_entropy(torch.ones_like(p), p, base=2)
    l0 = fd.binary_cross_entropy(torch.zeros_like(p), p, base=2)
    half = float(fd.binary_cross_entropy(torch.tensor(1.0), torch.tensor(0.5), base=2))
    sym = float((fd.binary_cross_entropy(torch.ones_like(p), p)
                 - fd.binary_cross_entropy(torch.zeros_like(p), 1 - p)).abs().max())
    fig, axs = plt.subplots(1, 2, figsize=(10, 3.8))
    axs[0].plot([0, 1], [1, 1], color="tab:blue", lw=4, label="y = 1")
    axs[0].plot([0, 1], [0, 0], color="tab:orange", lw=4, label="y = 0")
    axs[0].set(xlabel="p", ylabel="y", ylim=(-0.3, 1.3), yticks=[0, 1], title="domain {0,1} × [0,1]")
    axs[0].legend()
    axs[1].plot(p, l1, color="tab:blue", label=r"$\ell(1,p) = -\log_2 p$")
    axs[1].plot(p, l0, color="tab:orange", label=r"$\ell(0,p) = -\log_2(1-p)$")
    axs[1].plot(0.5, half, "ko")
    axs[1].annotate(f"  ℓ(1, 1/2) = {half:g} bit", (0.5, half))
    axs[1].set(xlabel="p", ylabel="loss (bits)", ylim=(0, 6), title="two-class cross-entropy (Fig. 2)")
    axs[1].legend()
    fig.tight_layout()
    P = fd.softmax(logits)
    q = F.one_hot(labels, logits.shape[1]).double()
    ce_py = fd.cross_entropy(P, labels)
    ce_sum = fd.cross_entropy_dist(q, P, base=math.e)
    forms_gap = max(float((ce_py - ce_sum).abs().max()), abs(float(ce_py.mean() - F.cross_entropy(logits, labels))))
    return Findings(values={"half": half, "forms_gap": forms_gap},
                    rows=[{"method": "cross_entropy", "metric": "loss_1_half_bits", "value": half},
                          {"method": "cross_entropy", "metric": "max_abs_form_gap_nats", "value": forms_gap}],
                    figures={"fig2_cross_entropy": fig},
                    text=[f"ℓ(1,1/2) = {half} bit; max |ℓ(1,p) - ℓ(0,1-p)| = {sym:.1e}; max |−log p_y − (−Σ q log p)| "
                          f"and |mean − F.cross_entropy| = {forms_gap:.1e} nats"])


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
        return F.cross_entropy(z @ w[:K * d].view(K, d).T + w[K * d:], y)

    def risk_mlp(w):
        i = 0
        W1 = w[i:i + H * d].view(H, d); i += H * d
        b1 = w[i:i + H]; i += H
        W2 = w[i:i + K * H].view(K, H); i += K * H
        return F.cross_entropy(torch.tanh(z @ W1.T + b1) @ W2.T + w[i:i + K], y)

    return dict(zip(CONVEX_MODELS, [(risk_logistic, d + 1), (risk_softmax, K * d + K),
                                    (risk_mlp, H * d + H + K * H + K)]))


def convexity_findings(*, seed: int, classes: list[int], per_class: int, points: int) -> Findings:
    """§2 (footnote 2): Hessian spectra (float64, `torch.func.hessian`) of the cross-entropy risks of
    `convexity_risks` on `per_class` training images of each digit in `classes` (drawn by a generator seeded with
    `seed`), average-pooled to 7×7 and standardised, at `points` random points (N(0, 0.5²), generator seed + 1)
    and at a trained point (200 gradient steps of size 0.5 from the first).

    Raises:
        ValueError: `points` or `per_class` < 1.
    """
    from torch.func import hessian
    _positive_int(points=points, per_class=per_class)
    x_train, y_train = mnist("train")
    idx = subset(y_train, per_class, torch.Generator().manual_seed(seed), classes=classes)
    relabel = {d: i for i, d in enumerate(classes)}
    z = F.avg_pool2d(x_train[idx], 4).flatten(1).double()                       # (N, 49)
    z = (z - z.mean(0)) / (z.std(0) + 1e-6)
    yk = torch.tensor([relabel[int(v)] for v in y_train[idx]])
    gH = torch.Generator().manual_seed(seed + 1)
    hess_rows, spectra = [], {}
    for name, (f, n_par) in convexity_risks(z, yk).items():
        starts = [("random", torch.randn(n_par, generator=gH, dtype=torch.float64) * 0.5) for _ in range(points)]
        w = starts[0][1].clone().requires_grad_(True)
        for _ in range(200):
            g_, = torch.autograd.grad(f(w), w)
            with torch.no_grad():
                w -= 0.5 * g_
        starts.append(("trained", w.detach()))
        for kind, w0 in starts:
            ev = torch.linalg.eigvalsh(hessian(f)(w0))
            spectra.setdefault(name, []).append(ev)
            hess_rows.append({"model": name, "point": kind, "params": n_par, "min eigenvalue": float(ev.min()),
                              "max eigenvalue": float(ev.max()), "min / max": float(ev.min() / ev.max())})
    hess = pd.DataFrame(hess_rows)
    fig, ax = plt.subplots(figsize=(7.5, 3.8))
    for k, (name, evs) in enumerate(spectra.items()):
        for j, ev in enumerate(evs):
            ax.plot(np.sort(ev.numpy())[::-1], lw=1, color=sns.color_palette()[k], label=name if j == 0 else None)
    ax.set(xlabel="eigenvalue rank", ylabel="Hessian eigenvalue (symlog)",
           title="Hessian spectra of the cross-entropy risk")
    ax.set_yscale("symlog", linthresh=1e-6)
    ax.axhline(0, color="k", lw=0.8)
    ax.legend(fontsize=8)
    fig.tight_layout()
    ratio = {n: float(hess[hess.model == n]["min / max"].min()) for n in CONVEX_MODELS}
    return Findings(values={"convex_ratio": ratio},
                    rows=[{"model": n, "method": "hessian", "metric": "min_over_max_eigenvalue", "value": v}
                          for n, v in ratio.items()],
                    tables={"hessian": _style_sci(hess, ["min eigenvalue", "max eigenvalue", "min / max"])},
                    figures={"fig2b_hessian_spectra": fig})


# §3 --------------------------------------------------------------------------------------------------------------
def entropy_findings(*, seed: int, logits: torch.Tensor, labels: torch.Tensor, pairs: int = 20000) -> Findings:
    """Appendix A.2-A.4, Fig. 5: H(q) of a coin, H(q, p) ≥ H(q), Gibbs' inequality on `pairs` random pairs of
    10-outcome distributions (Dirichlet(1/2), many with p close to q; drawn under ``torch.manual_seed(seed + 2)``
    inside `torch.random.fork_rng`, so the caller's RNG is untouched), nats/bits = ln 2, and A.4's excess cost on the
    §1 test outputs (`logits` float64 (M, K), `labels` (M,))."""
    qs = torch.linspace(0, 1, 1001, dtype=torch.float64)
    Hq = fd.entropy(fd.bernoulli(qs))
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed + 2)
        dirichlet = torch.distributions.Dirichlet(torch.full((10,), 0.5, dtype=torch.float64))
        Q, Pd = dirichlet.sample((pairs,)), dirichlet.sample((pairs,))
        mix = torch.rand(pairs, 1, dtype=torch.float64) ** 4                      # many pairs with p close to q
    Pd = (1 - mix) * Q + mix * Pd
    gibbs = fd.cross_entropy_dist(Q, Pd) - fd.entropy(Q)                          # bits, must be >= 0
    fig, axs = plt.subplots(1, 3, figsize=(14, 3.8))
    axs[0].plot(qs, Hq)
    axs[0].set(xlabel="q", ylabel="H(q) (bits)", title="entropy (Fig. 5)")
    pp = torch.linspace(1e-3, 1 - 1e-3, 500, dtype=torch.float64)
    for qv, col in zip([0.1, 0.3, 0.5], sns.color_palette()):
        h = float(fd.entropy(fd.bernoulli(torch.tensor(qv, dtype=torch.float64))))
        axs[1].plot(pp, fd.cross_entropy_dist(fd.bernoulli(torch.full_like(pp, qv)), fd.bernoulli(pp)), color=col,
                    label=f"H({qv}, p)")
        axs[1].axhline(h, color=col, ls=":")
        axs[1].plot(qv, h, "o", color=col)
    axs[1].set(xlabel="p", ylabel="bits", ylim=(0, 4), title="H(q, p) ≥ H(q) (dotted), equal at p = q")
    axs[1].legend()
    axs[2].hist(gibbs.numpy(), bins=80)
    axs[2].set(xlabel="H(q, p) − H(q)  (bits)", ylabel="pairs", yscale="log",
               title=f"Gibbs, 10 outcomes: min = {float(gibbs.min()):.2e}")
    fig.tight_layout()
    P = fd.softmax(logits)
    q = F.one_hot(labels, logits.shape[1]).double()
    ln2_ratio = float(fd.cross_entropy(P, labels, base=math.e).sum() / fd.cross_entropy(P, labels, base=2).sum())
    a4_gap = float((fd.cross_entropy_dist(q, P) - fd.entropy(q) - fd.cross_entropy(P, labels, base=2)).abs().max())
    gibbs_key = f"min H(q,p) - H(q) over {pairs} pairs"
    ent = {"H(1/2) bits": float(fd.entropy(fd.bernoulli(torch.tensor(0.5)))), "max H(q) bits": float(Hq.max()),
           "H(0), H(1)": (float(Hq[0]) + 0.0, float(Hq[-1]) + 0.0),
           "max |H(q) - H(1-q)|": float((Hq - Hq.flip(0)).abs().max()), gibbs_key: float(gibbs.min()),
           "nats / bits": ln2_ratio, "ln 2": math.log(2), "A.4: max |H(q,p) - H(q) - loss| (one-hot q, bits)": a4_gap}
    return Findings(values={"H_max": ent["max H(q) bits"], "gibbs_min": float(gibbs.min()), "gibbs_pairs": pairs,
                            "a4_gap": a4_gap},
                    rows=[{"method": "entropy", "metric": "H_half_bits", "value": ent["H(1/2) bits"]},
                          {"method": "entropy", "metric": "gibbs_min_gap_bits", "value": float(gibbs.min())},
                          {"method": "entropy", "metric": "a4_max_gap_bits", "value": a4_gap}],
                    tables={"entropy": pd.Series(ent, name="value").to_frame()}, figures={"fig5_entropy": fig})


# §4 --------------------------------------------------------------------------------------------------------------
BP_MODEL = "cnn-conv3x3x4-maxpool-fc10"


def backprop_findings(*, seed: int, samples: int, fd_samples: int, channels: int, kernel: int, random_trials: int,
                      h: float) -> Findings:
    """§3, Algorithm 1 (`study.backprop`) against `torch.autograd` and central finite differences (step `h`), in
    float64, on `samples` MNIST training images average-pooled to 14×14 (the first `fd_samples` of them for the
    finite differences) and on `random_trials` Gaussian inputs with fresh parameters; one generator seeded with
    seed + 3 draws everything. Also Fig. 3: one sample's arg-max positions and all gradient entries.

    Raises:
        ValueError: a size < 1, `samples` > `BP_POOL`, `fd_samples` > `samples`, or `h` not positive.
    """
    import time
    _positive_int(samples=samples, fd_samples=fd_samples, channels=channels, kernel=kernel)
    if samples > BP_POOL or fd_samples > samples:
        raise checks.out_of_range("samples, fd_samples", (samples, fd_samples),
                                  f"1 <= fd_samples <= samples <= {BP_POOL} (the first {BP_POOL} training images)")
    if random_trials < 0 or not h > 0:
        raise ValueError(f"random_trials={random_trials}, h={h}: accepted random_trials >= 0, h > 0")
    gB = torch.Generator().manual_seed(seed + 3)
    x_train, y_train = mnist("train")
    X14 = F.avg_pool2d(x_train[:BP_POOL], 2).double()                             # (N, 1, 14, 14)
    sel = torch.randperm(len(X14), generator=gB)[:samples]
    Xb, Yb = X14[sel], y_train[:BP_POOL][sel]
    params = bp.init_params((1, 14, 14), channels, kernel, 2, 10, generator=gB)
    n_par = sum(v.numel() for v in params.values())
    t = time.perf_counter(); L_bp, G_bp = bp.backprop(params, Xb, Yb); t_bp = time.perf_counter() - t
    t = time.perf_counter(); L_ag, G_ag = bp.autograd_gradients(params, Xb, Yb); t_ag = time.perf_counter() - t
    Xf, Yf = Xb[:fd_samples], Yb[:fd_samples]
    _, G_bpf = bp.backprop(params, Xf, Yf)
    _, G_ag_f = bp.autograd_gradients(params, Xf, Yf)
    t = time.perf_counter(); G_fd = bp.finite_differences(params, Xf, Yf, h=h); t_fd = time.perf_counter() - t
    err_rows = [{"input": "MNIST 14x14", "tensor": name, "entries": params[name].numel(),
                 "rel. error vs autograd": bp.relative_error(G_bp[name], G_ag[name]),
                 "norm-wise vs autograd": bp.normwise_error(G_bp[name], G_ag[name]),
                 "rel. error vs finite diff.": bp.relative_error(G_bpf[name], G_fd[name]),
                 "max abs. error vs finite diff.": float((G_bpf[name] - G_fd[name]).abs().max()),
                 "norm-wise vs finite diff.": bp.normwise_error(G_bpf[name], G_fd[name]),
                 "autograd vs finite diff.": bp.relative_error(G_ag_f[name], G_fd[name])} for name in bp.PARAM_NAMES]
    for trial in range(random_trials):              # random inputs and parameters (autograd only: FD are slow)
        pr = bp.init_params((1, 14, 14), channels, kernel, 2, 10, generator=gB)
        Xr = torch.randn(samples, 1, 14, 14, generator=gB, dtype=torch.float64)
        Yr = torch.randint(0, 10, (samples,), generator=gB)
        _, Gr = bp.backprop(pr, Xr, Yr)
        _, Gra = bp.autograd_gradients(pr, Xr, Yr)
        err_rows += [{"input": f"Gaussian #{trial}", "tensor": name, "entries": pr[name].numel(),
                      "rel. error vs autograd": bp.relative_error(Gr[name], Gra[name]),
                      "norm-wise vs autograd": bp.normwise_error(Gr[name], Gra[name])} for name in bp.PARAM_NAMES]
    errs = pd.DataFrame(err_rows)
    v = {"bp_err_ag": float(errs["rel. error vs autograd"].max()),
         "bp_err_fd": float(errs["rel. error vs finite diff."].max()),
         "bp_err_fd_norm": bp.normwise_error(bp.flatten(G_bpf), bp.flatten(G_fd)),
         "bp_abs_fd": float(errs["max abs. error vs finite diff."].max()), "bp_fd_h": h}

    conv, dense = bp.layers(params, (1, 14, 14))    # Fig. 3: the arg-max rule on one sample, and every entry
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
    axs[2].set(xlabel="reference gradient", ylabel="Algorithm 1 gradient",
               title=f"all {n_par} entries; max rel. err. {v['bp_err_ag']:.0e} (autograd),\n"
                     f"{v['bp_err_fd']:.0e} entry-wise / {v['bp_err_fd_norm']:.0e} norm-wise (finite diff.)")
    axs[2].legend()
    fig.tight_layout()
    rows = [{"model": BP_MODEL, "method": "backprop", "metric": m, "value": x} for m, x in [
        ("max_rel_error_vs_autograd", v["bp_err_ag"]), ("max_rel_error_vs_finite_diff", v["bp_err_fd"]),
        ("normwise_error_vs_finite_diff", v["bp_err_fd_norm"]), ("risk_gap_nats", abs(L_bp - L_ag))]]
    metrics = {"backprop_max_rel_error/vs_autograd": {"mean": v["bp_err_ag"], "std": 0.0, "n": len(errs),
                                                      "unit": "ratio"},
               "backprop_normwise_rel_error/vs_finite_differences": {"mean": v["bp_err_fd_norm"], "std": 0.0, "n": 1,
                                                                    "unit": "ratio"}}
    return Findings(values=v, rows=rows, metrics=metrics,
                    tables={"errors": _style_sci(errs, [c for c in errs.columns if "error" in c or "vs" in c],
                                                 "{:.1e}")},
                    figures={"fig3_backprop_check": fig},
                    text=[f"{n_par} parameters; risk: Algorithm 1 {L_bp:.12f} vs torch {L_ag:.12f} nats",
                          f"max entry-wise relative error: vs autograd {v['bp_err_ag']:.1e}, vs finite differences "
                          f"{v['bp_err_fd']:.1e} (max absolute {v['bp_abs_fd']:.1e}); norm-wise vs finite differences "
                          f"{v['bp_err_fd_norm']:.1e}",
                          f"time: Algorithm 1 {t_bp / len(Xb) * 1e3:.1f} ms/sample (explicit dense Jacobians), "
                          f"autograd {t_ag / len(Xb) * 1e3:.2f} ms/sample, finite differences {t_fd:.1f} s for "
                          f"{fd_samples} samples"])


# §5 --------------------------------------------------------------------------------------------------------------
def momentum_findings(sweep: runs.Sweep) -> Findings:
    """§4, Fig. 4: the Sutskever schedule, training-risk curves per lr and momentum, the final risks and test errors,
    and the decisions for the claims: the lr extremes (too large: ends above half the initial risk or diverges; too
    small: ends above 5× the best) and momentum vs none at every lr that learns (ends below 0.9× the initial risk).
    A diverged run counts as infinitely bad. `sweep`: the runs of `momentum_plan`."""
    c0 = sweep.configs[0]
    lr_grid = list(dict.fromkeys(c["lr"] for c in sweep.configs))
    lrdf = _by_config(sweep, lr="lr", momentum="momentum")
    fig, axs = plt.subplots(1, 2, figsize=(13, 3.8))
    ts = np.arange(0, 30001)
    for mm in [0.9, 0.99, 0.995, 0.999]:
        axs[0].plot(ts, fd.sutskever_momentum(torch.tensor(ts), mu_max=mm).numpy(), label=f"μ_max = {mm}")
    axs[0].set(xlabel="step t", ylabel="μ_t", title="Sutskever et al. momentum schedule (Fig. 4)", ylim=(0.45, 1.01))
    axs[0].legend()
    risk = lrdf[(lrdf.metric == "risk_nats") & (lrdf.split == "train")]
    steps = lrdf[lrdf.metric == "step"][["epoch", "lr", "momentum", "value"]].rename(columns={"value": "step"})
    risk = risk.merge(steps, on=["epoch", "lr", "momentum"])
    sns.lineplot(data=risk, x="step", y="value", hue="lr", style="momentum", palette="viridis",
                 hue_norm=plt.matplotlib.colors.LogNorm(), ax=axs[1])
    axs[1].set(yscale="log", ylabel="training risk (nats)",
               title=f"MNIST subset N={N_CLASSES * c0['per_class']}, B={c0['batch_size']}")
    axs[1].legend(loc="center left", bbox_to_anchor=(1.01, 0.5), fontsize=8)
    fig.tight_layout()

    init_risk = float(risk[risk.step == 0].value.mean())
    final = risk.sort_values("step").groupby(["lr", "momentum"]).tail(1)
    diverged = lrdf[lrdf.metric == "diverged"].groupby(["lr", "momentum"]).size()
    table5 = final.pivot(index="lr", columns="momentum", values="value").rename(columns=lambda c: f"final risk, μ: {c}")
    for m in ("sutskever", "none"):
        table5[f"test error, μ: {m}"] = lrdf[(lrdf.split == "test") & (lrdf.momentum == m)].set_index("lr").value
    fin = final.set_index(["lr", "momentum"]).value.copy()
    for key in diverged.index:
        fin[key] = np.inf
    lr_lo, lr_hi = min(lr_grid), max(lr_grid)
    best_lr = fin.xs("sutskever", level="momentum").idxmin()
    learning = [lr for lr in lr_grid if fin[(lr, "none")] < 0.9 * init_risk or fin[(lr, "sutskever")] < 0.9 * init_risk]
    speedup = {lr: fin[(lr, "none")] / fin[(lr, "sutskever")] for lr in learning}
    v = {"init_risk": init_risk, "fin": fin, "lr_lo": lr_lo, "lr_hi": lr_hi, "best_lr": best_lr, "learning": learning,
         "mom_wins": [lr for lr in learning if fin[(lr, "sutskever")] < fin[(lr, "none")]], "speedup": speedup,
         "too_large": bool(fin[(lr_hi, "sutskever")] > 0.5 * init_risk or (lr_hi, "sutskever") in diverged.index),
         "too_small": bool(fin[(lr_lo, "sutskever")] > 5 * fin[(best_lr, "sutskever")])}
    return Findings(values=v, runs=sweep.frame, tables={"final risk and test error": table5.style.format("{:.4f}")},
                    figures={"fig4_momentum_and_learning_rate": fig},
                    text=[f"initial risk {init_risk:.3f} nats; diverged runs: "
                          f"{dict(diverged) if len(diverged) else 'none'}",
                          f"best lr (momentum): {best_lr}; lr={lr_hi}: final risk {fin[(lr_hi, 'sutskever')]:.3f} "
                          f"(init {init_risk:.3f}); lr={lr_lo}: {fin[(lr_lo, 'sutskever')]:.3f} vs best "
                          f"{fin[(best_lr, 'sutskever')]:.3f}",
                          "final-risk ratio none / momentum at the learning rates that learn: "
                          f"{ {k: round(float(x), 2) for k, x in speedup.items()} }"])


# §6 --------------------------------------------------------------------------------------------------------------
def minibatch_findings(sweep: runs.Sweep) -> Findings:
    """§4, online / mini-batch / batch learning: final training risk per B and lr (a diverged or non-finite run counts
    as infinitely bad), the best lr per B, risk against samples seen and against wall time (Fig. 6 of this study).
    `sweep`: the runs of `minibatch_plan`."""
    mbdf = _by_config(sweep, B="batch_size", lr="lr")
    Bs = list(dict.fromkeys(c["batch_size"] for c in sweep.configs))
    N = N_CLASSES * sweep.configs[0]["per_class"]
    mrisk = mbdf[(mbdf.metric == "risk_nats") & (mbdf.split == "train")]
    mwall = mbdf[mbdf.metric == "wall_s"][["epoch", "B", "lr", "value"]].rename(columns={"value": "wall_s"})
    mrisk = mrisk.merge(mwall, on=["epoch", "B", "lr"])
    mfinal = mrisk.sort_values("epoch").groupby(["B", "lr"]).tail(1).set_index(["B", "lr"])
    mfinal.loc[mfinal.value.isna(), "value"] = np.inf
    for key in mbdf[mbdf.metric == "diverged"].groupby(["B", "lr"]).size().index:
        mfinal.loc[key, "value"] = np.inf
    best_lr_B = mfinal.value.groupby(level="B").idxmin().map(lambda t: t[1])
    best = pd.concat([mrisk[(mrisk.B == B) & (mrisk.lr == best_lr_B[B])] for B in Bs])
    best["setting"] = best.apply(lambda r: f"B={'N' if r.B == N else r.B} (lr={r.lr})", axis=1)
    fig, axs = plt.subplots(1, 2, figsize=(13, 3.8))
    sns.lineplot(data=best, x="epoch", y="value", hue="setting", marker="o", ms=3, ax=axs[0])
    axs[0].set(xlabel=f"samples seen / N  (N = {N})", ylabel="training risk (nats)", yscale="log",
               title="equal gradient evaluations")
    sns.lineplot(data=best, x="wall_s", y="value", hue="setting", marker="o", ms=3, ax=axs[1], legend=False)
    axs[1].set(xlabel="wall time (s, incl. evaluations)", ylabel="training risk (nats)", yscale="log", xscale="log",
               title="the same runs against wall time")
    fig.tight_layout()
    mb_best = {B: float(mfinal.value[(B, best_lr_B[B])]) for B in Bs}
    mb_wall = {B: float(mfinal.wall_s[(B, best_lr_B[B])]) for B in Bs}
    tables = {"final risk": mfinal.value.unstack("lr").style.format("{:.4f}").set_caption(
                  "final training risk (nats) per B and lr"),
              "best": pd.DataFrame({"best lr": best_lr_B, "final risk (nats)": pd.Series(mb_best),
                                    "wall time (s)": pd.Series(mb_wall)}).rename_axis("B")}
    return Findings(values={"Bs": Bs, "mb_best": mb_best, "mb_wall": mb_wall}, runs=sweep.frame, tables=tables,
                    figures={"fig6_minibatch": fig})


# §7 --------------------------------------------------------------------------------------------------------------
def early_stopping_summary(frame: pd.DataFrame) -> dict[str, float]:
    """One early-termination run's decision from its tidy rows (splits train/val/test, metric "error"): the stop
    epoch is the first epoch >= 1 with the lowest validation error.

    Returns:
        {"stop epoch", "val error at stop", "test error at stop", "test error at end", "train error at end",
        "gain (end - stop)"} (errors as fractions).

    Raises:
        ValueError: no validation error after epoch 0.
    """
    err = frame[frame.metric == "error"].pivot_table(index="epoch", columns="split", values="value")
    err = err[err.index > 0]
    if err.empty or "val" not in err:
        raise ValueError("frame has no validation error rows after epoch 0")
    stop = float(err["val"].idxmin())
    return {"stop epoch": stop, "val error at stop": err.loc[stop, "val"], "test error at stop": err.loc[stop, "test"],
            "test error at end": err["test"].iloc[-1], "train error at end": err["train"].iloc[-1],
            "gain (end - stop)": err["test"].iloc[-1] - err.loc[stop, "test"]}


def early_stopping_findings(sweep: runs.Sweep, seed: int) -> Findings:
    """§4, early termination: per run the stop epoch and the test error there and at the end
    (`early_stopping_summary`), the error curves per noise level (Fig. 7), and the stop epochs as headline metrics.
    `sweep`: the runs of `early_stopping_plan` with notebook seed `seed`."""
    esdf = _by_config(sweep, noise="label_noise")
    es = pd.DataFrame([{"label noise": c["label_noise"], "seed": c["seed"] - seed * 1000,
                        **early_stopping_summary(r.rows)} for c, r in zip(sweep.configs, sweep.results)])
    noises = list(dict.fromkeys(es["label noise"]))
    n_seeds = es.groupby("label noise").size().max()
    fig, axs = plt.subplots(1, len(noises), figsize=(6.5 * len(noises), 3.8), squeeze=False)
    for ax, noise in zip(axs[0], noises):
        e = esdf[(esdf.metric == "error") & (esdf.noise == noise) & (esdf.epoch > 0)]
        sns.lineplot(data=e, x="epoch", y="value", hue="split", ax=ax, errorbar=("sd", 1) if n_seeds > 1 else None)
        for st in es[es["label noise"] == noise]["stop epoch"]:
            ax.axvline(st, color="k", ls=":", lw=1)
        ax.set(ylabel="zero-one error", title=f"label noise {noise:.0%} (dotted: stop epoch per seed)", yscale="log")
    fig.tight_layout()
    metrics = {}
    for noise, g in es.groupby("label noise", sort=False):
        metrics[f"early_stopping_epoch/noise{noise:g}"] = {
            "mean": float(g["stop epoch"].mean()), "std": float(g["stop epoch"].std()) if len(g) > 1 else 0.0,
            "n": len(g), "unit": "epoch"}
    return Findings(values={"es": es, "es_epochs": sweep.configs[0]["epochs"]}, runs=sweep.frame, metrics=metrics,
                    tables={"early stopping": es.style.format({c: "{:.4f}" for c in es.columns
                                                               if "error" in c or "gain" in c})},
                    figures={"fig7_early_termination": fig})


# §8 --------------------------------------------------------------------------------------------------------------
def dropout_findings(sweep: runs.Sweep) -> Findings:
    """§5, dropout: train/test zero-one error and risk gaps per variant (mean, std over seeds), the error curves
    (Fig. 8a), and the expectation check of the seed-0 "notes" run (Fig. 8b). `sweep`: the runs of
    `dropout_plan`."""
    c0 = sweep.configs[0]
    p = c0["p"]
    dodf = _by_config(sweep, variant="variant")
    dodf = dodf[dodf.method != "dropout_expectation"]
    dodf["variant"] = [dropout_variant_name(x, p) for x in dodf.variant]
    dos = pd.DataFrame([{"variant": dropout_variant_name(c["variant"], p), "seed": c["seed"],
                         **r.artifacts["summary"]} for c, r in zip(sweep.configs, sweep.results)])
    cols = ["train error", "test error", "gap (test - train)", "risk gap (nats)"]
    dsum = dos.groupby("variant", sort=False)[cols].agg(["mean", "std"])
    fig_a, ax = plt.subplots(figsize=(8, 3.8))
    e = dodf[(dodf.metric == "error") & (dodf.epoch > 0)]
    sns.lineplot(data=e, x="epoch", y="value", hue="variant", style="split", ax=ax, errorbar=None)
    ax.set(yscale="log", ylabel="zero-one error",
           title=f"dropout on an MNIST subset (N = {N_CLASSES * c0['per_class']})")
    ax.legend(fontsize=8)
    fig_a.tight_layout()
    gap = dos.groupby("variant", sort=False)["gap (test - train)"].mean()
    n = {"none": "no dropout", "notes": dropout_variant_name("notes", p), "torch": dropout_variant_name("torch", p)}
    metrics = {}
    for key, name in [("none", n["none"]), (f"notes_p{p}", n["notes"]), (f"torch_p{p}", n["torch"])]:
        g = dos[dos.variant == name]["gap (test - train)"]
        metrics[f"dropout_gap_test_minus_train_error/{key}"] = {
            "mean": float(g.mean()), "std": float(g.std()) if len(g) > 1 else 0.0, "n": len(g), "unit": "fraction"}

    ex = next(r.artifacts["expectation"] for r in sweep.results if r.artifacts["expectation"] is not None)
    mcdf = pd.DataFrame(ex["mc"])
    fig_b, ax = plt.subplots(figsize=(6.5, 3.8))
    for col in mcdf.columns[1:]:
        ax.plot(mcdf.M, mcdf[col], "o-", label=col)
    ax.plot(mcdf.M, mcdf.iloc[0, 1] / np.sqrt(mcdf.M), "k:", label="∝ 1/√M")
    ax.set(xscale="log", yscale="log", xlabel="masks M", ylabel="mean |MC mean − test-time| / mean |test-time|",
           title="dropout in expectation = test-time scaling")
    ax.legend(fontsize=8)
    fig_b.tight_layout()
    v = {"gap_none": gap[n["none"]], "gap_notes": gap[n["notes"]], "gap_torch": gap[n["torch"]],
         "rgap": dos.groupby("variant", sort=False)["risk gap (nats)"].mean(),
         "n_seeds": len({c["seed"] for c in sweep.configs}),
         "mc_final_notes": float(mcdf.iloc[-1, 1]), "mc_final_torch": float(mcdf.iloc[-1, 2]),
         "M_final": ex["M_final"], "exact_eval": ex["exact_eval"], "agree": ex["agree"], "tv": ex["tv"],
         "n_avg": ex["n_avg"]}
    return Findings(values=v, runs=sweep.frame, metrics=metrics,
                    tables={"dropout": dsum.style.format("{:.4f}", na_rep="–")},
                    figures={"fig8a_dropout_training": fig_a, "fig8b_dropout_expectation": fig_b},
                    text=[f"relative MC error at M={v['M_final']}: notes {v['mc_final_notes']:.2e}, torch inverted "
                          f"{v['mc_final_torch']:.2e}; scale_weights(net) vs net.eval(): max |diff| / max |output| = "
                          f"{v['exact_eval']:.1e} (float32)",
                          f"whole network, 500 test images: average of {v['n_avg']} dropout nets vs the weight-scaled "
                          f"net: same class for {v['agree']:.3f}, mean total-variation distance {v['tv']:.3f}"])


# ------------------------------------------------------------------------------------------------------- claims
HEADLINE_METRICS = ("backprop_max_rel_error/vs_autograd", "backprop_normwise_rel_error/vs_finite_differences",
                    "early_stopping_epoch/*", "dropout_gap_test_minus_train_error/*")


def claims(v: dict[str, Any]) -> list[dict[str, Any]]:
    """The notes' claims as `study.results.claim` rows, from the merged `Findings.values` of every section (`merge`).

    The notes give no numbers: the numeric rows use the study-wide rule with the tolerance shown (exact identities,
    tol 1e-12; gradients, 1e-6), every other row carries the verdict of the explicit test written in its note.

    Raises:
        KeyError: a section's values are missing.
    """
    cr = v["convex_ratio"]
    lin = min(cr["logistic regression (2 classes)"], cr["soft-max regression (3 classes)"])
    fin, best_lr, lr_lo, lr_hi = v["fin"], v["best_lr"], v["lr_lo"], v["lr_hi"]
    learning, mom_wins, Bs, mb_best, mb_wall = v["learning"], v["mom_wins"], v["Bs"], v["mb_best"], v["mb_wall"]
    gaps = (v["gap_none"], v["gap_notes"], v["gap_torch"])
    mc = max(v["mc_final_notes"], v["mc_final_torch"])
    out = [
        results.claim(PAPER, "§1: soft-max outputs lie on the simplex; arg-max regions meet at 1/e",
                      0.0, v["on_simplex"], unit="max |Σp − 1|", tol=1e-12,
                      note=f"trained 3-class MLP on MNIST digits {v['classes']}: test accuracy {v['acc3']:.3f}"),
        results.claim(PAPER, "§2.1: ℓ(1, 1/2) = ℓ(0, 1/2) = 1 bit", 1.0, v["half"], unit="bits", tol=1e-12),
        results.claim(PAPER, "§2.2: −log p_y = −Σ q_k log p_k (one-hot q)", 0.0, v["forms_gap"], unit="nats",
                      tol=1e-12, note="max |difference| on the §1 test outputs, and vs F.cross_entropy"),
        results.claim(PAPER, "§2: CE risk of logistic regression is convex", "Hessian ⪰ 0", lin,
                      unit="min eig / max eig", verdict_="reproduced" if lin > -1e-10 else "not reproduced",
                      note=f"test: min/max eigenvalue > −1e-10 at random and trained points (binary and soft-max "
                           f"regression); tanh net 49-10-3: {cr['tanh network 49-10-3']:.2f} (not convex)"),
        results.claim(PAPER, "App. A.2: H(1/2) = 1 bit = max H", 1.0, v["H_max"], unit="bits", tol=1e-12),
        results.claim(PAPER, "App. A.3: H(q, p) ≥ H(q) (Gibbs)", "≥ 0", v["gibbs_min"], unit="bits",
                      verdict_="reproduced" if v["gibbs_min"] >= -1e-12 else "not reproduced",
                      note=f"test: smallest gap over {v['gibbs_pairs']} random 10-outcome pairs (many with p near q) "
                           "≥ −1e-12"),
        results.claim(PAPER, "App. A.4: with one-hot q, H(q,p) − H(q) is the CE loss", 0.0, v["a4_gap"], unit="bits",
                      tol=1e-12),
        results.claim(PAPER, "§3 Alg. 1: back-propagation = gradient (vs autograd)", 0.0, v["bp_err_ag"],
                      unit="max rel. error", tol=1e-6, note="float64, conv-ReLU-maxpool-dense-softmax-CE; goal < 1e-6"),
        results.claim(PAPER, "§3 Alg. 1: back-propagation = gradient (vs finite differences)", 0.0,
                      v["bp_err_fd_norm"], unit="norm-wise rel. error", tol=1e-6,
                      note=f"central differences h = {v['bp_fd_h']:g}, float64; entry-wise max {v['bp_err_fd']:.1e} "
                           f"(limited by the differences' own absolute error {v['bp_abs_fd']:.0e} on entries of size "
                           "~1e-5)"),
        results.claim(PAPER, "§4: momentum speeds up descent", "faster",
                      float(v["speedup"].get(best_lr, float("nan"))), unit="final risk ratio μ=0 / schedule",
                      verdict_=("reproduced" if learning and len(mom_wins) == len(learning) else
                                "partly" if mom_wins else "not reproduced"),
                      note=f"test: lower final training risk with the Sutskever schedule at every lr that learns "
                           f"({len(mom_wins)}/{len(learning)}); ratio shown at the best lr {best_lr}"),
        results.claim(PAPER, "§4: too large a learning rate overshoots, too small crawls", "qualitative",
                      f"lr={lr_hi}: {fin[(lr_hi, 'sutskever')]:.2f}; lr={lr_lo}: {fin[(lr_lo, 'sutskever')]:.2f}; "
                      f"best {fin[(best_lr, 'sutskever')]:.3f} nats",
                      verdict_="reproduced" if v["too_large"] and v["too_small"] else
                      "partly" if v["too_large"] or v["too_small"] else "not reproduced",
                      note=f"test: largest lr ends above half the initial risk {v['init_risk']:.2f} (or diverges); "
                           "smallest ends above 5x the best"),
        results.claim(PAPER, "§4: online/mini-batch beat batch learning at equal gradient evaluations",
                      "B=1, B≈20 < B=N",
                      f"B={Bs[0]}: {mb_best[Bs[0]]:.3f}; B={Bs[1]}: {mb_best[Bs[1]]:.3f}; B=N: {mb_best[Bs[-1]]:.3f} "
                      "nats",
                      verdict_="reproduced" if max(mb_best[Bs[0]], mb_best[Bs[1]]) < mb_best[Bs[-1]]
                      else "not reproduced",
                      note="test: final training risk at the best lr of each B after the same number of epochs"),
        results.claim(PAPER, "§4: mini-batches are the best compromise", "B≈dozens",
                      f"B={Bs[1]}: {mb_best[Bs[1]]:.3f} nats in {mb_wall[Bs[1]]:.1f} s; "
                      f"B={Bs[0]}: {mb_best[Bs[0]]:.3f} in {mb_wall[Bs[0]]:.1f} s",
                      verdict_=("reproduced" if mb_best[Bs[1]] <= 1.25 * mb_best[Bs[0]]
                                and mb_wall[Bs[1]] < mb_wall[Bs[0]] else "partly"),
                      note="test: mini-batch risk within 25% of online (or lower) at less wall time"),
    ]
    for noise, g in v["es"].groupby("label noise"):
        gain = float(g["gain (end - stop)"].mean())
        out.append(results.claim(
            PAPER,
            f"§4: early termination: test error at the validation minimum ≤ at the end (label noise {noise:.0%})",
            "≤", gain, ours_std=float(g["gain (end - stop)"].std()) if len(g) > 1 else None, n=len(g),
            unit="test error end − at stop",
            verdict_="reproduced" if gain > 0.002 else "inconclusive" if gain >= -0.002 else "not reproduced",
            note=f"stop epoch {g['stop epoch'].mean():.0f} of {v['es_epochs']}; test: gain > 0.002 reproduced, |gain| "
                 "≤ 0.002 inconclusive (within noise)"))
    out += [
        results.claim(PAPER, "§5: dropout (p = 1/2) narrows the train/test gap", "smaller gap",
                      f"none {gaps[0]:.4f}; notes {gaps[1]:.4f}; torch {gaps[2]:.4f}", n=v["n_seeds"],
                      unit="test − train error",
                      verdict_="reproduced" if max(gaps[1:]) < gaps[0] else
                      "partly" if min(gaps[1:]) < gaps[0] else "not reproduced",
                      note="test: mean gap of both dropout variants below the no-dropout gap; risk gap (nats): "
                           + "; ".join(f"{k.split(',')[-1].strip()} {x:.3f}" for k, x in v["rgap"].items())),
        results.claim(PAPER, "§5: weights × p at test = inverted dropout in expectation", 0.0, mc,
                      unit="rel. MC error",
                      verdict_="reproduced" if mc < 3 / math.sqrt(v["M_final"]) and v["exact_eval"] < 1e-5
                      else "not reproduced",
                      note=f"M={v['M_final']} masks, error decays as 1/√M (test: < 3/√M); scale_weights == eval() to "
                           f"{v['exact_eval']:.0e} relative (float32)"),
        results.claim(PAPER, "§5: weight scaling ≈ averaging the dropout networks", "≈", v["agree"],
                      unit="argmax agreement", verdict_="reproduced" if v["agree"] >= 0.95 else "partly",
                      note=f"{v['n_avg']} dropout nets vs the scaled net on 500 test images; mean TV distance "
                           f"{v['tv']:.3f}; test: agreement ≥ 0.95"),
    ]
    return out


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
