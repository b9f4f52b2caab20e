"""The training runs of notebook 00 (Tomasi's notes) and only what they compute (the only module of the package the run
store's key hashes, `study.runs.code_sources`): one run function per kind, each with its own experiment name and a
frozen config model (a `RunConfig`) parsed first. A run seeds itself from ``seed`` (`study.train.seed_everything`:
the global RNG draws the initial weights and dropout masks, the generator the subset, then the batch order)."""

from __future__ import annotations

import copy
import functools
import math
from collections.abc import Iterable
from typing import Annotated, Any, Literal

import numpy as np
import pandas as pd
import torch
import torch.nn as nn
from pydantic import Field, model_validator

from study import checks, data, results, runs, train
from study import foundations as fd
from study.params import Declared, Distinct, ResolvedDevice, parse

STUDY, DATASET = "00_training_foundations", "mnist"
N_CLASSES, D_IN = 10, 784  # 28 x 28 MNIST pixels
#: §1: the classifier whose soft-max outputs are drawn in the 2-simplex (fixed); §5: risk evaluations per epoch.
SIMPLEX_HIDDEN, SIMPLEX_LR, SIMPLEX_BATCH, SIMPLEX_MU = 64, 0.05, 20, 0.9
MOMENTUM_EVALS_PER_EPOCH = 4
#: §8: `dropout_expectation` averages dropout networks on the first 500 test images and checks one layer on the first
#: `DROPOUT_MC_IMAGES` (few images, many masks: the Monte Carlo noise falls as 1/√M); the variants in the notebook's
#: order; the keys of the two relative Monte Carlo errors of its "mc" records.
DROPOUT_TEST_IMAGES, DROPOUT_MC_IMAGES = 500, 5
DROPOUT_VARIANTS = ("none", "notes", "torch")
MC_NOTES, MC_TORCH = "notes: mean over masks vs weights x p", "torch inverted: mean over masks vs eval()"


Size = Annotated[int, Field(ge=1, le=checks.CAPS["samples"])]
Width = Annotated[int, Field(ge=1, le=checks.CAPS["width"])]
Rate = Annotated[float, Field(gt=0)]
Epochs = Annotated[int | float, Field(gt=0, le=checks.CAPS["epochs"], description="fractions of an epoch allowed")]


class RunConfig(Declared):
    """What every run's config holds (a plan builds it; the store keeps it as a plain dict)."""

    seed: int = Field(ge=0, lt=2**63, description="seeds the global torch RNG and the data generator")
    device: ResolvedDevice = Field(description="where the run trains")
    per_class: Size
    hidden: Width
    epochs: Epochs
    lr: Rate
    batch_size: Size


class SimplexConfig(RunConfig):
    """`simplex_run`'s config (`plan.simplex_plan`): also the three digits and a constant momentum."""

    classes: Annotated[list[Annotated[int, Field(ge=0, le=9)]], Distinct] = Field(
        min_length=3, max_length=3, json_schema_extra={"accepted": "three distinct digits in 0..9"}
    )
    mu: float


class MinibatchConfig(RunConfig):
    """`minibatch_run`'s config (`plan.minibatch_plan`); what `_train_mlp` reads."""

    val_per_class: Size
    evals_per_epoch: Size


class MomentumConfig(MinibatchConfig):
    """`momentum_run`'s config (`plan.momentum_plan`)."""

    momentum: Literal["none", "sutskever"]
    mu_max: float = Field(ge=0, lt=1)


class EarlyStoppingConfig(RunConfig):
    """`early_stopping_run`'s config (`plan.early_stopping_plan`)."""

    val_per_class: Size
    momentum: float
    label_noise: float = Field(ge=0, lt=1)
    test_size: Size


class DropoutConfig(RunConfig):
    """`dropout_run`'s config (`plan.dropout_plan`): ``hidden`` is a list of widths."""

    hidden: Annotated[list[Width], Field(min_length=1)]  # type: ignore[assignment]
    variant: Literal["none", "notes", "torch"]
    momentum: float
    p: float
    input_p: float | None
    test_size: Size
    mc_samples: int | None = Field(ge=1, json_schema_extra={"accepted": "None, or an integer >= 1 for variant 'notes'"})

    @model_validator(mode="after")
    def _mc_only_for_notes(self) -> DropoutConfig:
        if self.mc_samples is not None and self.variant != "notes":
            raise checks.out_of_range("mc_samples", self.mc_samples, "None, or an integer >= 1 for variant 'notes'")
        return self


@functools.lru_cache(maxsize=2)
def mnist(split: str) -> tuple[torch.Tensor, torch.Tensor]:
    """A whole MNIST split ("train": 60,000 images, "test": 10,000) as (float32 (N, 1, 28, 28) in [0, 1], int64 (N,)),
    on the CPU, loaded once per process (`study.data.load`). Raises ValueError (unknown `split`) and
    `study.data.DataError` (files missing or corrupt: ``make data``)."""
    s = data.load(DATASET, split)
    return s.float(), s.labels


def subset(
    labels: torch.Tensor, per_class: int, generator: torch.Generator, *,
    classes: Iterable[int] | None = None, exclude: torch.Tensor | None = None,
) -> torch.Tensor:  # fmt: skip
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


def _test_set(test_size: int, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """The first `test_size` MNIST test images and labels on `device`."""
    x, y = mnist("test")
    return x[:test_size].to(device), y[:test_size].to(device)


def _tidy(rows: list[dict[str, Any]], seed: int, **fixed: Any) -> pd.DataFrame:
    """`study.results.tidy` with this study's study, dataset and the run's seed."""
    return results.tidy(rows, study=STUDY, dataset=DATASET, seed=seed, **fixed)


def _final(epoch: Any, split: str, **metrics: float) -> list[dict[str, Any]]:
    """One row per metric at `epoch` on `split`."""
    return [{"epoch": epoch, "split": split, "metric": m, "value": v} for m, v in metrics.items()]


@runs.experiment("foundations_simplex", chance=1 / 3)  # 3 digits
def simplex_run(config: dict[str, Any]) -> runs.Result:
    """§1, Fig. 1 (`SimplexConfig`): a ReLU MLP 784-``hidden``-3 trained on ``per_class`` images of each of the
    three digits ``classes``, each test image of those digits mapped into the 2-simplex; ValueError: a bad config.

    Returns:
        `runs.Result`: rows (model ``mlp-784-<hidden>-3``, method "simplex", split "test") ``accuracy`` (fraction of
        test images inside their class's region P_c) and ``max_abs_sum_minus_1`` (max |Σ p - 1|); artifacts
        ``logits`` float64 (M, 3) and ``labels`` int64 (M,) in 0..2 (index into ``classes``) of the M test images.
    """
    c = parse(SimplexConfig, config)
    g = train.seed_everything(c.seed)
    dev = torch.device(c.device)
    x_train, y_train = mnist("train")
    x_test, y_test = mnist("test")
    cls = list(c.classes)
    relabel = {d: i for i, d in enumerate(cls)}
    idx = subset(y_train, c.per_class, g, classes=cls)
    x, y = x_train[idx].to(dev), torch.tensor([relabel[int(v)] for v in y_train[idx]], device=dev)
    model = fd.mlp([D_IN, c.hidden, len(cls)]).to(dev)
    fd.train_momentum(model, x, y, lr=c.lr, batch_size=c.batch_size, epochs=c.epochs, mu=c.mu, generator=g)
    mask = torch.isin(y_test, torch.tensor(cls))
    yt = torch.tensor([relabel[int(v)] for v in y_test[mask]])
    with torch.inference_mode():
        model.eval()
        logits = model(x_test[mask].to(dev)).double().cpu()
    p = fd.softmax(logits)
    acc = float((fd.decision_region(p) == yt).double().mean())
    on_simplex = float((p.sum(1) - 1).abs().max())
    rows = [{"metric": "accuracy", "value": acc}, {"metric": "max_abs_sum_minus_1", "value": on_simplex}]
    df = _tidy(rows, c.seed, model=f"mlp-784-{c.hidden}-{len(cls)}", method="simplex", split="test")
    return runs.Result(rows=df, artifacts={"logits": logits, "labels": yt})


def _train_mlp(c: MinibatchConfig, mu: Any) -> list[dict[str, Any]]:
    """Shared body of `momentum_run` and `minibatch_run`, returning tidy rows without model/method:
    ``per_class`` training and ``val_per_class`` disjoint validation images per digit, both from the MNIST training
    split, a 784-``hidden``-10 ReLU MLP trained by `study.foundations.train_momentum` (train risk and error
    ``evals_per_epoch`` times per epoch), then the validation risk and error (never the test split: these runs compete
    in a learning-rate choice). A non-finite loss is recorded, not raised (a "diverged" row; validation risk +inf and
    error 1, so that a choice never falls on it): the grids include rates too large on purpose."""
    g = train.seed_everything(c.seed)
    dev = torch.device(c.device)
    x_train, y_train = mnist("train")
    idx = subset(y_train, c.per_class, g)
    va_idx = subset(y_train, c.val_per_class, g, exclude=idx)
    x, y = x_train[idx].to(dev), y_train[idx].to(dev)
    model = fd.mlp([D_IN, c.hidden, N_CLASSES]).to(dev)
    rows = fd.train_momentum(
        model, x, y, lr=c.lr, batch_size=c.batch_size, epochs=c.epochs, mu=mu, generator=g,
        eval_sets={"train": (x, y)}, evals_per_epoch=c.evals_per_epoch, on_non_finite="record",
    )  # fmt: skip
    if any(r["metric"] == "diverged" for r in rows):
        v_risk, v_err = math.inf, 1.0
    else:
        v_risk, v_err = fd.risk_and_error(model, x_train[va_idx].to(dev), y_train[va_idx].to(dev))
    return rows + _final(c.epochs, "val", risk_nats=v_risk, error=v_err)


@runs.experiment("foundations_momentum", chance=1 / N_CLASSES)  # 10 balanced digits
def momentum_run(config: dict[str, Any]) -> runs.Result:
    """§4, Fig. 4 (`MomentumConfig`): one learning rate α, with the momentum method at μ = 0
    (``momentum = "none"``) or the Sutskever et al. schedule capped at ``mu_max`` (``"sutskever"``). Raises ValueError
    (a bad config).

    Returns:
        `runs.Result`: rows (model ``mlp-784-<hidden>-10``, method ``lr=<lr>,momentum=<momentum>``) of `_train_mlp`
        (epoch = samples seen / N; train ``risk_nats`` and ``error`` (fraction); ``step``; ``wall_s``; ``diverged``;
        the final validation ``risk_nats`` and ``error``); no test rows, no artifacts.
    """
    c = parse(MomentumConfig, config)
    mu = 0.0 if c.momentum == "none" else (lambda t: fd.sutskever_momentum(t, c.mu_max))
    method = f"lr={c.lr},momentum={c.momentum}"
    return runs.Result(rows=_tidy(_train_mlp(c, mu), c.seed, model=f"mlp-784-{c.hidden}-10", method=method))


@runs.experiment("foundations_minibatch", chance=1 / N_CLASSES)  # 10 balanced digits
def minibatch_run(config: dict[str, Any]) -> runs.Result:
    """§4 (`MinibatchConfig`): online (B = 1), mini-batch and batch (B = N) learning at one learning rate,
    μ = 0, the same number of per-sample gradients for every B. Returns `runs.Result` rows (model
    ``mlp-784-<hidden>-10``, method ``B=<B>,lr=<lr>``) of `_train_mlp`; raises ValueError (a bad config)."""
    c = parse(MinibatchConfig, config)
    method = f"B={c.batch_size},lr={c.lr}"
    return runs.Result(rows=_tidy(_train_mlp(c, 0.0), c.seed, model=f"mlp-784-{c.hidden}-10", method=method))


@runs.experiment("foundations_early_stopping", chance=1 / N_CLASSES)  # 10 balanced digits
def early_stopping_run(config: dict[str, Any]) -> runs.Result:
    """§4, early termination (`EarlyStoppingConfig`): a 784-``hidden``-10 MLP with constant momentum on
    ``per_class`` images per digit, a fraction ``label_noise`` of whose labels replaced by a random wrong one; train
    and validation (``val_per_class`` disjoint training images per digit) error and risk after every epoch; the
    network kept at the first epoch >= 1 with the lowest validation error. Only then the first ``test_size`` test
    images, with the stopped and the final network. The generator draws the training subset, the validation subset,
    the flipped labels and the batch order. Raises ValueError (a bad config).

    Returns:
        `runs.Result`: rows (model ``mlp-784-<hidden>-10``, method ``label_noise=<label_noise>``) of
        `study.foundations.train_momentum` (train/val), plus test rows ``error_at_stop`` and ``risk_nats_at_stop``
        (epoch = the stop epoch), ``error`` and ``risk_nats`` (epoch = ``epochs``); no artifacts.
    """
    c = parse(EarlyStoppingConfig, config)
    g = train.seed_everything(c.seed)
    dev = torch.device(c.device)
    x_train, y_train = mnist("train")
    tr_idx = subset(y_train, c.per_class, g)
    va_idx = subset(y_train, c.val_per_class, g, exclude=tr_idx)
    x, y = x_train[tr_idx].to(dev), y_train[tr_idx].clone()
    flip = torch.rand(len(y), generator=g) < c.label_noise
    y[flip] = (y[flip] + torch.randint(1, N_CLASSES, (int(flip.sum()),), generator=g)) % N_CLASSES  # a wrong label
    y = y.to(dev)
    xv, yv = x_train[va_idx].to(dev), y_train[va_idx].to(dev)
    model = fd.mlp([D_IN, c.hidden, N_CLASSES]).to(dev)
    best: dict[str, Any] = {"err": math.inf, "epoch": 0, "state": None}

    def checkpoint(net: nn.Module, epoch: float, rows_so_far: list[dict[str, Any]]) -> None:
        v_err = next(r["value"] for r in reversed(rows_so_far) if r["split"] == "val" and r["metric"] == "error")
        if epoch > 0 and v_err < best["err"]:
            best.update(err=v_err, epoch=epoch, state=copy.deepcopy(net.state_dict()))

    rows = fd.train_momentum(
        model, x, y, lr=c.lr, batch_size=c.batch_size, epochs=c.epochs, mu=c.momentum, generator=g,
        eval_sets={"train": (x, y), "val": (xv, yv)}, callback=checkpoint,
    )  # fmt: skip
    xt, yt = _test_set(c.test_size, dev)
    te_risk, te_err = fd.risk_and_error(model, xt, yt)
    model.load_state_dict(best["state"])
    st_risk, st_err = fd.risk_and_error(model, xt, yt)
    rows += _final(best["epoch"], "test", error_at_stop=st_err, risk_nats_at_stop=st_risk)
    rows += _final(c.epochs, "test", error=te_err, risk_nats=te_risk)
    df = _tidy(rows, c.seed, model=f"mlp-784-{c.hidden}-10", method=f"label_noise={c.label_noise}")
    return runs.Result(rows=df)


def dropout_variant_name(variant: str, p: float) -> str:
    """The ``method`` label of a dropout variant with keep probability `p`; ValueError if unknown."""
    names = {
        "none": "no dropout",
        "notes": f"p={p}, weights x p at test (notes)",
        "torch": f"p={p}, torch inverted dropout",
    }
    checks.need(variant in names, "variant", variant, str(list(names)))
    return names[variant]


def dropout_expectation(
    net: nn.Sequential, x_test: torch.Tensor, p: float, mc_samples: int, seed: int
) -> dict[str, Any]:
    """§5, on the CPU in float32: for a network trained with the notes' dropout (keep probability `p`),
    the notes' rule (weights × p at test) and PyTorch's inverted dropout agree in expectation: the Monte Carlo mean
    over M masks (log grid up to `mc_samples`) of the pre-activations after the first hidden dropout layer, on the
    first `DROPOUT_MC_IMAGES` of `x_test` (M, 1, 28, 28), against the test-time value; then the average soft-max of
    min(`mc_samples`, 500) dropout networks on the first 500 images against the weight-scaled network. `seed` seeds
    the notes' masks (+ 4) and the global RNG for the whole-network masks (+ 5). Raises AssertionError if the two
    conventions' test-time pre-activations differ.

    Returns:
        {"mc": [{"M", `MC_NOTES`, `MC_TORCH`}] relative errors, "M_final", "exact_eval" (max |scaled - eval| / max
        |eval|), "agree" (argmax agreement, fraction), "tv" (mean total-variation distance), "n_avg"}.
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
            mc.append({"M": int(m), MC_NOTES: err_n, MC_TORCH: err_t})
        scaled = fd.scale_weights(net)  # whole network: average of M dropout nets vs scaled net
        net.train()
        torch.manual_seed(seed + 5)
        xq = x_test[:500].cpu()
        n_avg = min(mc_samples, 500)
        p_avg = torch.stack([torch.softmax(net(xq), 1) for _ in range(n_avg)]).mean(0)
        net.eval()
        p_scaled = torch.softmax(scaled(xq), 1)
        exact_eval = float((scaled(xq) - net(xq)).abs().max() / net(xq).abs().max())
    agree = float((p_avg.argmax(1) == p_scaled.argmax(1)).double().mean())
    tv = float(0.5 * (p_avg - p_scaled).abs().sum(1).mean())
    return {"mc": mc, "M_final": int(ms[-1]), "exact_eval": exact_eval, "n_avg": n_avg, "agree": agree, "tv": tv}


@runs.experiment("foundations_dropout", chance=1 / N_CLASSES)  # 10 balanced digits
def dropout_run(config: dict[str, Any]) -> runs.Result:
    """§5 (`DropoutConfig`): a 784-``hidden``-10 ReLU MLP without dropout (``variant = "none"``), with the
    notes' dropout (keep probability ``p``, ``input_p`` on the inputs or None; test network
    `study.foundations.scale_weights`; ``"notes"``) or PyTorch's `nn.Dropout(1 - p)` (``"torch"``); subset and batch
    order drawn from ``seed + 100`` (shared by a seed's variants). Raises ValueError (a bad config, ``mc_samples`` on
    a run that is not "notes" included).

    Returns:
        `runs.Result`: rows (model ``mlp-784-<h1>-<h2>-10``, method `dropout_variant_name`) of
        `study.foundations.train_momentum`, the test ``risk_nats`` and ``error`` of the test-time network (the test
        split once, at the end), with ``mc_samples`` rows (method "dropout_expectation") ``mc_rel_error_notes``,
        ``mc_rel_error_torch_inverted``, ``argmax_agreement_avg_vs_scaled``; artifacts ``summary`` (train/test error,
        their gap (fractions), "risk gap (nats)") and ``expectation`` (`dropout_expectation`'s dict, or None).
    """
    c = parse(DropoutConfig, config)
    name = dropout_variant_name(c.variant, c.p)
    train.seed_everything(c.seed)
    g = torch.Generator().manual_seed(c.seed + 100)
    dev = torch.device(c.device)
    x_train, y_train = mnist("train")
    idx = subset(y_train, c.per_class, g)
    x, y = x_train[idx].to(dev), y_train[idx].to(dev)
    xt, yt = _test_set(c.test_size, dev)
    kw: dict[str, Any] = {"none": {"dropout": None}, "notes": {"dropout": c.p, "input_dropout": c.input_p},
                          "torch": {"dropout": c.p, "input_dropout": c.input_p, "mode": "torch"}}[c.variant]  # type: ignore[assignment]  # fmt: skip
    model = fd.mlp([D_IN, *c.hidden, N_CLASSES], **kw).to(dev)
    rows = fd.train_momentum(
        model, x, y, lr=c.lr, batch_size=c.batch_size, epochs=c.epochs, mu=c.momentum, generator=g,
        eval_sets={"train": (x, y)},
    )  # fmt: skip
    test_model = fd.scale_weights(model) if c.variant == "notes" else model  # the notes' test-time network
    tr_risk, tr_err = fd.risk_and_error(test_model, x, y)
    te_risk, te_err = fd.risk_and_error(test_model, xt, yt)  # the test split, once, at the end
    rows += _final(c.epochs, "test", risk_nats=te_risk, error=te_err)
    summary = {"train error": tr_err, "test error": te_err, "gap (test - train)": te_err - tr_err}
    summary["risk gap (nats)"] = te_risk - tr_risk
    model_name = "mlp-784-" + "-".join(map(str, c.hidden)) + "-10"
    df = _tidy(rows, c.seed, model=model_name, method=name)
    expectation = None
    if c.mc_samples is not None:
        expectation = dropout_expectation(model, xt, c.p, c.mc_samples, c.seed)
        mc = expectation["mc"][-1]
        names = ("mc_rel_error_notes", "mc_rel_error_torch_inverted", "argmax_agreement_avg_vs_scaled")
        extra = [{"metric": m, "value": v} for m, v in zip(names, (mc[MC_NOTES], mc[MC_TORCH], expectation["agree"]))]
        df = pd.concat([df, _tidy(extra, c.seed, method="dropout_expectation")], ignore_index=True)
    return runs.Result(rows=df, artifacts={"summary": summary, "expectation": expectation})
