"""Yang et al. (notebook ``01_sl1_mnist``): one training run and only what it computes -- the run config
(`RunConfig`), the data (`mnist_tensors`), the penalty (`penalty_hook`), the momentum readings
(`momentum_schedule`) and the curve smoothness (`total_variation`). The run store's key hashes this module alone."""

from __future__ import annotations

import copy
import functools
from collections.abc import Callable
from typing import Any, Literal, get_args

import torch
import torch.nn as nn
from pydantic import Field, model_validator

from study import checks, data, losses, penalties, results, runs, selection, train
from study.models import LeNetSL1
from study.params import Declared, ResolvedDevice, parse

Method = Literal["none", "sl1", "group_l1", "l2"]
Activation = Literal["relu", "sigmoid"]
Loss = Literal["entropy_error", "cross_entropy"]
Split = Literal["val", "test"]
#: the two readings of §3(2)'s momentum sentence (issue 17): "ramp_to" -- the momentum *is* 0.2 and is ramped up to
#: it over the first R epochs (`study.train.momentum_ramp`); "ramp_from" -- it *starts* at 0.2 and is increased to
#: ``momentum_final`` over the first R epochs (`momentum_schedule`)
Schedule = Literal["ramp_to", "ramp_from"]
PENALISED = ("sl1", "group_l1", "l2")
SPLITS: tuple[str, ...] = get_args(Split)
MOMENTUM_SCHEDULES: tuple[str, ...] = get_args(Schedule)
HEADLINE_MOMENTUM = "ramp_to"  # the headline reading (`READINGS`)
N_INPUT_NODES = 192  # input nodes of the fully connected layer (4 × 4 × 12), Table 1
MNIST_TRAIN, MNIST_TEST = 60_000, 10_000
N_VAL = 10_000  # validation images: the last 10,000 of MNIST train
N_FIT = MNIST_TRAIN - N_VAL
#: training images (the first ones of the run's training pool) evaluated after the last epoch for the train-test gap
TRAIN_EVAL = 10_000
#: the layer the paper studies (its SL1 groups), named as in `cos_init_<layer>`
LAYER = "fc"


def _pools(split: str) -> tuple[int, int]:
    """(training pool, evaluation images) of a run's split: the fit / validation parts of MNIST train for "val",
    all of MNIST train / test for "test"."""
    return (N_FIT, N_VAL) if split == "val" else (MNIST_TRAIN, MNIST_TEST)


class RunConfig(Declared):
    """One run's config (a plain dict in the run store; the stage builders of `plan` make it)."""

    method: Method = Field(description="the penalty on fc.weight")
    lam: float | None = Field(ge=0, description="penalty weight λ (None or 0 for 'none')")
    alpha: float | None = Field(ge=0, description="SL1's smoothing radius α, eq. 5 (0: group L1; None unless 'sl1')")
    activation: Activation
    loss: Loss
    epochs: int = Field(ge=1, le=checks.CAPS["epochs"])
    batch_size: int = Field(ge=1, description="at most the training images")
    lr: float = Field(gt=0)
    momentum: float = Field(ge=0, lt=1)
    momentum_ramp_epochs: int = Field(ge=0, le=checks.CAPS["epochs"])
    momentum_schedule: Schedule
    momentum_final: float | None = Field(description="None for 'ramp_to', in (momentum, 1) for 'ramp_from'")
    prune_threshold: float = Field(ge=0, description="same unit as the weights")
    split: Split = Field(description="'val' (candidate / analysis runs) or 'test' (final runs)")
    train_subset: int | None = Field(ge=1, le=MNIST_TRAIN, description="training images drawn, None: all")
    eval_subset: int | None = Field(ge=1, le=MNIST_TEST, description="evaluation images drawn, None: all")
    subset_seed: int = Field(ge=0)
    seed: int = Field(ge=0, lt=2**63)
    device: ResolvedDevice = Field(description="resolved device")

    @model_validator(mode="after")
    def _relations(self) -> RunConfig:
        bad = checks.out_of_range
        if self.method == "none" and self.lam not in (None, 0.0):
            raise bad("lam", self.lam, "None (or 0) for method 'none'")
        if self.method != "none" and self.lam is None:
            raise bad("lam", self.lam, "a number >= 0")
        if self.method == "sl1" and self.alpha is None:
            raise bad("alpha", self.alpha, "a number >= 0 for method 'sl1' (0: the non-smooth limit, group L1)")
        if self.method != "sl1" and self.alpha is not None:
            raise bad("alpha", self.alpha, "None unless method is 'sl1'")
        if self.momentum_schedule == "ramp_to" and self.momentum_final is not None:
            raise bad("momentum_final", self.momentum_final, "None for momentum_schedule 'ramp_to'")
        final = self.momentum_final
        if self.momentum_schedule == "ramp_from" and not (final is not None and self.momentum < final < 1):
            raise bad("momentum_final", final, "a number in (momentum, 1) for momentum_schedule 'ramp_from'")
        n_pool, n_eval = _pools(self.split)
        for name, n, size in (("train_subset", self.train_subset, n_pool), ("eval_subset", self.eval_subset, n_eval)):
            if n is not None and n > size:
                raise bad(name, n, f"None or an integer in [1, {size:,}] for split {self.split!r}")
        n_images = self.train_subset or n_pool
        if self.batch_size > n_images:
            why = "the training images: a larger batch would silently be the whole set"
            raise bad("batch_size", self.batch_size, f"an integer in [1, {n_images:,}] ({why})")
        return self


# ------------------------------------------------------------------------------------------------------ the run
@runs.experiment("sl1", chance=0.1)  # 10 digits
def run(config: dict[str, Any]) -> runs.Result:
    """One training run of Yang et al.'s CNN on MNIST (entropy error + one penalty on `fc.weight`), then pruning.

    Args:
        config: a plain dict with the fields of `RunConfig`; the stage builders (`plan.tune_base_stage`, ...) make
            them.

    Returns:
        `runs.Result` with
        ``rows``: tidy frame (`study.results.COLUMNS`; study "sl1", dataset "mnist", model
        ``lenet_sl1_<activation>``, method ``config["method"]``, seed ``config["seed"]``). S = ``config["split"]``
        ("val" or "test"; no other evaluation split ever appears): per epoch 0..E the S accuracy / loss, per epoch
        1..E the train loss (data term, nats/example, mean over the epoch's batches) / objective and epoch_time_s
        (from `study.train.fit`); at epoch E ``pruned_nodes`` (count of the 192, split "-"), ``pruned_fraction``,
        S ``accuracy_pruned`` (after zeroing the columns u_k with ‖u_k‖ < prune_threshold), ``cos_init_fc`` (split
        "-": cosine of the final and initial fc weights, `study.train.cos_init`), the train-split ``accuracy`` and
        ``loss_eval`` of the final network on the first `TRAIN_EVAL` training images (for the train-test gap), the
        smoothness of
        the per-batch training curves, split "train": ``tv_batch_loss`` / ``tv_batch_penalty`` /
        ``tv_batch_objective`` = mean |change| from one batch to the next of the data term / the penalty / their
        sum (nats per step; the penalty's is 0 for "none");
        ``artifacts``: ``{"group_norms": float32 (192,) ‖u_k‖ of the final network, "batch_loss": float32 (steps,)
        the data term of every training batch, "batch_objective": float32 (steps,) data term + penalty}``, on the CPU.

    Raises:
        ValueError: a bad config (`RunConfig`: names the key, the value and what is accepted).
        FloatingPointError: the training objective became NaN or infinite.
    """
    c = parse(RunConfig, config)
    split = c.split
    x_train, y_train, x_eval, y_eval = mnist_tensors(split, c.train_subset, c.eval_subset, c.subset_seed)
    device = torch.device(c.device)
    g = train.seed_everything(c.seed)
    model = LeNetSL1(c.activation)
    w0 = model.fc.weight.detach().clone()  # for cos_init: the layer the paper studies, before training
    data_term, penalty = losses.get(c.loss), penalty_hook(c.method, c.lam, c.alpha)
    batch_loss: list[torch.Tensor] = []
    batch_penalty: list[torch.Tensor] = []

    def loss_fn(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        value = data_term(logits, y)
        if logits.requires_grad:  # a training batch (evaluation runs under inference mode)
            batch_loss.append(value.detach())
        return value

    def penalty_fn(m: nn.Module) -> torch.Tensor:
        value = penalty(m)  # type: ignore[misc]  # penalty_fn is passed only when penalty is set
        batch_penalty.append(value.detach())
        return value

    rows = train.fit(
        model,
        x_train,
        y_train,
        epochs=c.epochs,
        batch_size=c.batch_size,
        lr=c.lr,
        momentum=momentum_schedule(c.momentum_schedule, c.momentum, c.momentum_ramp_epochs, c.momentum_final),
        loss_fn=loss_fn,
        penalty=penalty_fn if penalty is not None else None,
        eval_sets={split: (x_eval, y_eval)},
        generator=g,
        device=device,
        channels_last=True,
        progress=False,
    )
    norms = penalties.group_norms(model.fc.weight.detach().cpu())
    pruned = norms < c.prune_threshold
    zeroed = copy.deepcopy(model)
    with torch.no_grad():
        zeroed.fc.weight[:, pruned.to(zeroed.fc.weight.device)] = 0.0
    acc_pruned = train.evaluate(zeroed, x_eval, y_eval, device=device)["accuracy"]
    on_train = train.evaluate(
        model, x_train[:TRAIN_EVAL], y_train[:TRAIN_EVAL], loss_fn=data_term, device=device, channels_last=True
    )
    bl = torch.stack(batch_loss).float().cpu()
    bp = torch.stack(batch_penalty).float().cpu() if batch_penalty else torch.zeros_like(bl)
    e = c.epochs
    rows += [
        {"epoch": e, "split": "-", "metric": "pruned_nodes", "value": int(pruned.sum())},
        {"epoch": e, "split": "-", "metric": "pruned_fraction", "value": float(pruned.float().mean())},
        {"epoch": e, "split": split, "metric": "accuracy_pruned", "value": acc_pruned},
        {
            "epoch": e,
            "split": "-",
            "metric": f"cos_init_{LAYER}",
            "value": train.cos_init(w0, model.fc.weight.detach().cpu()),
        },
        {"epoch": e, "split": "train", "metric": "accuracy", "value": on_train["accuracy"]},
        {"epoch": e, "split": "train", "metric": "loss_eval", "value": on_train["loss"]},
    ]
    rows += [
        {"epoch": e, "split": "train", "metric": f"tv_batch_{k}", "value": total_variation(v)}
        for k, v in (("loss", bl), ("penalty", bp), ("objective", bl + bp))
    ]
    df = results.tidy(
        rows, study="sl1", dataset="mnist", model=f"lenet_sl1_{c.activation}", method=c.method, seed=c.seed
    )
    return runs.Result(rows=df, artifacts={"group_norms": norms, "batch_loss": bl, "batch_objective": bl + bp})


def total_variation(curve: torch.Tensor) -> float:
    """Mean absolute change between consecutive points of a 1-D curve, Σ_t |x_{t+1} − x_t| / (T − 1) (0 for T < 2):
    the total variation per step, in the curve's unit. A smooth monotone curve has TV = |x_T − x_1| / (T − 1);
    oscillation adds to it."""
    if curve.dim() != 1:
        raise ValueError(f"curve must be 1-D, got shape {tuple(curve.shape)}")
    if len(curve) < 2:
        return 0.0
    return float(curve.double().diff().abs().mean())


def momentum_schedule(kind: str, momentum: float, ramp_epochs: int, final: float | None) -> Callable[[int], float]:
    """The momentum mu(epoch) (epochs from 1) under one reading of Yang et al. §3(2) (`MOMENTUM_SCHEDULES`):

    * "ramp_to": linear from momentum/R up to `momentum` at epoch R = `ramp_epochs`, then constant
      (`study.train.momentum_ramp`; R = 0: constant);
    * "ramp_from": `momentum` at epoch 1, linear up to `final` at epoch R + 1, then constant,
      mu(e) = m + (final − m) · min(1, (e − 1) / R) (R = 0: `final` throughout).

    Raises:
        ValueError: an unknown `kind`; `final` given for "ramp_to", or not in (momentum, 1) for "ramp_from".
    """
    if kind == "ramp_to":
        if final is not None:
            raise ValueError(f"momentum_final={final!r} must be None for momentum_schedule 'ramp_to'")
        return train.momentum_ramp(momentum, ramp_epochs)
    if kind == "ramp_from":
        if not (checks.is_num(final) and momentum < final < 1):
            raise ValueError(
                f"momentum_final={final!r} is out of range; accepted: a number in (momentum={momentum:g},"
                " 1) for momentum_schedule 'ramp_from'"
            )
        if ramp_epochs == 0:
            return lambda epoch: float(final)
        return lambda epoch: momentum + (final - momentum) * min(1.0, (epoch - 1) / ramp_epochs)
    raise ValueError(f"momentum_schedule={kind!r} is out of range; accepted: one of {MOMENTUM_SCHEDULES}")


def penalty_hook(method: str, lam: float | None, alpha: float | None) -> Callable[[nn.Module], torch.Tensor] | None:
    """The penalty on the fully connected weights `model.fc.weight` (10, 192) as a `study.train.fit` hook.

    * "none": None (plain entropy error);
    * "sl1": λ Σ_k h(u_k, α), Yang et al. eq. (7) with h of eq. (5) (`study.penalties.sl1`); α = 0 is group L1;
    * "group_l1": λ Σ_k ‖u_k‖ (`study.penalties.group_l1`, subgradient 0 at u = 0), the α → 0 limit of SL1;
    * "l2": (λ/2) Σ w² (`study.penalties.l2`).

    Raises:
        ValueError: unknown `method`, or λ / α out of range (from `study.penalties`).
    """
    if method == "none":
        return None
    if method == "sl1":
        penalties.sl1(torch.zeros(1, 1), lam, alpha)  # type: ignore[arg-type]  # validates λ and α now (None refused)
        return lambda m: penalties.sl1(m.fc.weight, lam, alpha)  # type: ignore[union-attr,arg-type]  # m: the LeNet
    if method == "group_l1":
        penalties.group_l1(torch.zeros(1, 1), lam)  # type: ignore[arg-type]  # None refused there
        return lambda m: penalties.group_l1(m.fc.weight, lam)  # type: ignore[union-attr,arg-type]  # m: the LeNet
    if method == "l2":
        penalties.l2(torch.zeros(1, 1), lam)  # type: ignore[arg-type]  # None refused there
        return lambda m: penalties.l2(m.fc.weight, lam)  # type: ignore[union-attr,arg-type]  # m: the LeNet
    raise ValueError(f"method={method!r} is not one of 'none', 'sl1', 'group_l1', 'l2'")


@functools.lru_cache(maxsize=2)
def _mnist_split(split: str) -> data.Split:
    """A whole MNIST split ("train" or "test") as uint8 tensors, loaded once per process (`study.data.load`).

    Pure file reading: the science (subset draw, scaling) is in `mnist_tensors`. The run store's code walk looks
    through the cache to this function and so reaches `study.data`."""
    return data.load("mnist", split)


def tuning_split() -> selection.TuningSplit:
    """MNIST train's fit / validation indices: the last 10,000 training images are the validation split
    (`study.selection.carve(60000, 10000, last=True)`), the first 50,000 the fit part. No test field."""
    return selection.carve(MNIST_TRAIN, N_VAL, last=True)


def mnist_tensors(
    split: str, train_subset: int | None, eval_subset: int | None, subset_seed: int
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """MNIST as standardised tensors for one run: a training pool and one evaluation split, optionally subsets.

    * ``split="val"``: training pool = the fit part of MNIST train (its first 50,000 images), evaluation = the
      validation part (its last 10,000; `tuning_split`). The test file is never read.
    * ``split="test"``: training pool = all 60,000 training images, evaluation = the 10,000 test images.

    Images are scaled to [0, 1] and standardised with the fixed constants mean 0.1307 and std 0.3081 (MNIST train's
    usual statistics; the paper does not say how it scales inputs). The subsets are drawn without replacement by
    one generator seeded with `subset_seed`: first the training subset (if any), then the evaluation subset.

    Args:
        split: "val" or "test".
        train_subset: images to keep from the training pool (1..50,000 for "val", 1..60,000 for "test"), or None.
        eval_subset: images to keep from the evaluation split (1..10,000), or None.
        subset_seed: seed of the draw (>= 0).

    Returns:
        x_train float32 (N, 1, 28, 28), y_train int64 (N,), x_eval float32 (M, 1, 28, 28), y_eval int64 (M,), on
        the CPU.

    Raises:
        ValueError: an unknown split or a subset size outside its range.
        study.data.DataError: the MNIST files are missing or corrupt (run ``make data``).
    """
    if split not in SPLITS:
        raise ValueError(f"split={split!r} is out of range; accepted: 'val' or 'test'")
    n_pool, n_eval = _pools(split)
    for name, n, size in (("train_subset", train_subset, n_pool), ("eval_subset", eval_subset, n_eval)):
        if n is not None and not 1 <= n <= size:
            raise ValueError(f"{name}={n} is out of range for split {split!r}; accepted: None or [1, {size:,}]")
    full = _mnist_split("train")
    if split == "val":
        ts = tuning_split()
        pool, evaluation = full.subset(ts.fit), full.subset(ts.val)
    else:
        pool, evaluation = full, _mnist_split("test")
    g = torch.Generator().manual_seed(subset_seed)
    if train_subset:
        pool = pool.subset(torch.randperm(len(pool), generator=g)[:train_subset])
    if eval_subset:
        evaluation = evaluation.subset(torch.randperm(len(evaluation), generator=g)[:eval_subset])
    mean, std = 0.1307, 0.3081
    return pool.float(mean, std), pool.labels, evaluation.float(mean, std), evaluation.labels
