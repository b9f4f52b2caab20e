"""The small pieces of Tomasi, "Training Convolutional Neural Networks" (lecture notes, 2019) that the foundations
notebook checks: soft-max (§1), cross-entropy (§2, eqs. in §2.1-2.2), entropy and cross entropy (Appendix A.2-A.4),
the momentum method with the Sutskever et al. schedule (§4, Fig. 4), and dropout with test-time weight scaling (§5).

Logarithms: ``base=2`` gives bits (the notes' Appendix A), ``base=math.e`` nats (what `torch.nn.functional.
cross_entropy` returns); the two differ by the factor ln 2.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable
from typing import Any

import torch
import torch.nn as nn
import torch.nn.functional as F

from . import train

Tensor = torch.Tensor


def _log(x: Tensor, base: float) -> Tensor:
    if not (base > 0 and base != 1):
        raise ValueError(f"base={base} must be positive and != 1 (2 for bits, math.e for nats)")
    return torch.log(x) / math.log(base)


def _check_dist(q: Tensor, name: str) -> None:
    if (q < 0).any() or not torch.allclose(q.sum(-1), torch.ones((), dtype=q.dtype), atol=1e-6):
        raise ValueError(f"{name} must be non-negative and sum to 1 along the last axis")


# -------------------------------------------------------------------------------------------------- §1 soft-max
def softmax(z: Tensor, dim: int = -1) -> Tensor:
    """p_i = exp(z_i - max z) / Σ_j exp(z_j - max z): a point of the soft-max simplex P (§1). Shape of `z`."""
    e = torch.exp(z - z.amax(dim=dim, keepdim=True))
    return e / e.sum(dim=dim, keepdim=True)


def decision_region(p: Tensor) -> Tensor:
    """The class c with p in P_c = {p_c >= p_j for all j} (§1), i.e. argmax p along the last axis; int64."""
    return p.argmax(-1)


# ------------------------------------------------------------------------------------------- §2 cross-entropy loss
def cross_entropy(p: Tensor, y: Tensor, *, base: float = math.e) -> Tensor:
    """Multi-class cross-entropy loss ℓ(y, p) = -log p_y (§2.2), per sample.

    Args:
        p: soft-max outputs (N, K), rows on the simplex; y: int64 labels (N,).
        base: logarithm base (2: bits, e: nats).

    Returns:
        (N,) losses; +inf where p_y = 0 (the loss is unbounded, Fig. 2).

    Raises:
        ValueError: labels out of range or p not on the simplex.
    """
    if p.dim() != 2 or y.shape != (p.shape[0],):
        raise ValueError(f"p must be (N, K) and y (N,), got {tuple(p.shape)} and {tuple(y.shape)}")
    if len(y) and (int(y.min()) < 0 or int(y.max()) >= p.shape[1]):
        raise ValueError(f"labels must lie in [0, {p.shape[1] - 1}]")
    _check_dist(p, "p")
    return -_log(p.gather(1, y[:, None]).squeeze(1), base)


def binary_cross_entropy(y: Tensor, p: Tensor, *, base: float = math.e) -> Tensor:
    """Two-class loss ℓ(y, p) = -y log p - (1 - y) log(1 - p) (§2.1), with 0·log 0 = 0; y ∈ {0, 1}, p ∈ [0, 1].

    Raises:
        ValueError: p outside [0, 1].
    """
    if ((p < 0) | (p > 1)).any():
        raise ValueError("p must lie in [0, 1]")
    y = y.to(p.dtype)
    return -(torch.xlogy(y, p) + torch.xlogy(1 - y, 1 - p)) / math.log(base)


def entropy(q: Tensor, *, base: float = 2.0) -> Tensor:
    """H(q) = -Σ_i q_i log q_i with 0 log 0 = 0 (Appendix A.2); bits by default. q (..., K) -> (...).

    Raises:
        ValueError: q not a distribution along the last axis.
    """
    _check_dist(q, "q")
    return -torch.xlogy(q, q).sum(-1) / math.log(base)


def cross_entropy_dist(q: Tensor, p: Tensor, *, base: float = 2.0) -> Tensor:
    """H(q, p) = -Σ_i q_i log p_i (Appendix A.3), bits by default; +inf when some q_i > 0 has p_i = 0.

    Args:
        q: the true distribution, p: the estimated one, both (..., K).

    Raises:
        ValueError: shapes differ, or either is not a distribution.
    """
    if q.shape != p.shape:
        raise ValueError(f"q and p shapes differ: {tuple(q.shape)} vs {tuple(p.shape)}")
    _check_dist(q, "q")
    _check_dist(p, "p")
    return -torch.xlogy(q, p).sum(-1) / math.log(base)


def bernoulli(q: Tensor) -> Tensor:
    """The Bernoulli distribution (1 - q, q) as (..., 2)."""
    return torch.stack([1 - q, q], dim=-1)


# --------------------------------------------------------------------------------------------------- §4 momentum
def sutskever_momentum(t: int | Tensor, mu_max: float = 0.99) -> float | Tensor:
    """μ_t = min(1 - 2^(-1 - log2(⌊t/250⌋ + 1)), μ_max) (Sutskever et al. 2013, eq. 5; Tomasi Fig. 4).

    Args:
        t: step index (>= 0), an int or an integer tensor.
        mu_max: the cap, in [0, 1).

    Raises:
        ValueError: t negative or mu_max outside [0, 1).
    """
    if not 0.0 <= mu_max < 1.0:
        raise ValueError(f"mu_max={mu_max} must be in [0, 1)")
    if isinstance(t, Tensor):
        if (t < 0).any():
            raise ValueError("t must be >= 0")
        mu = 1 - 2.0 ** (-1 - torch.log2(torch.div(t, 250, rounding_mode="floor").double() + 1))
        return torch.clamp(mu, max=mu_max)
    if t < 0:
        raise ValueError(f"t={t} must be >= 0")
    return min(1 - 2.0 ** (-1 - math.log2(t // 250 + 1)), mu_max)


@torch.no_grad()
def momentum_step(params: Iterable[Tensor], velocities: list[Tensor], lr: float, mu: float) -> None:
    """One step of the momentum method (§4): v <- μ v - α ∇L, w <- w + v, in place, from each param's ``.grad``.

    `velocities` holds one tensor per parameter (zeros at the start). With μ = 0 this is gradient descent.
    (PyTorch's SGD keeps u = -v/α instead; for a constant α the iterates are the same.)

    Raises:
        ValueError: lr not positive or mu outside [0, 1].
    """
    if not lr > 0:
        raise ValueError(f"lr={lr} must be > 0")
    if not 0.0 <= mu <= 1.0:
        raise ValueError(f"mu={mu} must be in [0, 1]")
    for w, v in zip(params, velocities):
        if w.grad is None:
            continue
        v.mul_(mu).add_(w.grad, alpha=-lr)
        w.add_(v)


class Momentum(torch.optim.Optimizer):
    """The momentum method of §4 as a torch optimiser, so that `study.train.step` drives it: each `step` applies
    `momentum_step` with μ = `mu`(t) at step index t = 0, 1, ... (a constant μ: ``lambda t: μ``).

    Args:
        params: the tensors trained (leaf tensors with gradients); velocities start at zero.
        lr: α > 0; mu: the schedule μ(t) in [0, 1] (e.g. `sutskever_momentum`).
    """

    def __init__(self, params: list[Tensor], *, lr: float, mu: Callable[[int], float]) -> None:
        super().__init__(params, {"lr": lr})
        self.mu, self.t = mu, 0
        self.velocities = [torch.zeros_like(p) for p in params]

    @torch.no_grad()
    def step(self, closure: Any = None) -> None:  # type: ignore[override]  # no closure: one gradient per step
        params = [p for g in self.param_groups for p in g["params"]]
        momentum_step(params, self.velocities, self.param_groups[0]["lr"], self.mu(self.t))
        self.t += 1


# ----------------------------------------------------------------------------------------------------- §5 dropout
class Dropout(nn.Module):
    """Dropout as in the notes (§5) and Srivastava et al. (2014): during training each unit is kept with probability
    `p` and zeroed otherwise, *without* rescaling; at test time the unit's output is multiplied by `p`, which equals
    multiplying all the weights leaving it by `p` (the notes' "all the weights ... are multiplied by p").

    ``mode="inverted"`` is what `torch.nn.Dropout(1 - p)` does instead: scale kept units by 1/p during training and do
    nothing at test time. Input and output: any shape.

    Raises:
        ValueError: p outside (0, 1] or an unknown mode.
    """

    def __init__(self, p: float = 0.5, mode: str = "scale_at_test", generator: torch.Generator | None = None):
        super().__init__()
        if not 0.0 < p <= 1.0:
            raise ValueError(f"p={p} (keep probability) must be in (0, 1]")
        if mode not in ("scale_at_test", "inverted"):
            raise ValueError(f"mode={mode!r} is not 'scale_at_test' or 'inverted'")
        self.p, self.mode, self.generator = p, mode, generator

    def forward(self, x: Tensor) -> Tensor:
        if self.training:
            if self.generator is not None:
                u = torch.rand(x.shape, generator=self.generator, device=self.generator.device).to(x.device)
            else:
                u = torch.rand_like(x)
            keep = u < self.p
            out = x * keep
            return out / self.p if self.mode == "inverted" else out
        return x * self.p if self.mode == "scale_at_test" else x

    def extra_repr(self) -> str:
        return f"p={self.p} (keep), mode={self.mode}"


def mlp(
    sizes: list[int], *, dropout: float | None = None, mode: str = "scale_at_test", input_dropout: float | None = None
) -> nn.Sequential:
    """A fully connected ReLU network with `sizes` = [d_in, hidden..., classes]; optional `Dropout(p)` after each
    hidden ReLU (keep probability `dropout`) and on the input (keep probability `input_dropout`). Input (N, ...) is
    flattened; output (N, classes) logits. ``mode="torch"`` uses `torch.nn.Dropout(1 - p)` (inverted dropout).

    Raises:
        ValueError: fewer than two sizes, or an unknown mode.
    """
    if len(sizes) < 2:
        raise ValueError(f"sizes={sizes} needs at least [d_in, classes]")
    if mode not in ("scale_at_test", "inverted", "torch"):
        raise ValueError(f"mode={mode!r} is not 'scale_at_test', 'inverted' or 'torch'")

    def drop(p: float) -> nn.Module:
        return nn.Dropout(1.0 - p) if mode == "torch" else Dropout(p, mode)

    mods: list[nn.Module] = [nn.Flatten()]
    if input_dropout is not None:
        mods.append(drop(input_dropout))
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        mods.append(nn.Linear(a, b))
        if i < len(sizes) - 2:
            mods.append(nn.ReLU())
            if dropout is not None:
                mods.append(drop(dropout))
    return nn.Sequential(*mods)


def scale_weights(model: nn.Sequential) -> nn.Sequential:
    """The notes' test-time network (§5): a copy of `model` without its dropout layers, in which the weights leaving
    every dropped unit (the `nn.Linear` right after a `Dropout(p)`) are multiplied by p; biases are unchanged.

    For a model trained with `Dropout(mode="scale_at_test")` the copy computes exactly what ``model.eval()`` does.

    Raises:
        ValueError: a dropout layer not followed by an `nn.Linear` (directly or after a Flatten).
    """
    import copy

    mods = list(copy.deepcopy(model))
    out: list[nn.Module] = []
    pending: float | None = None
    for m in mods:
        if isinstance(m, Dropout):
            if m.mode != "scale_at_test":
                raise ValueError("scale_weights expects Dropout(mode='scale_at_test') layers")
            pending = m.p if pending is None else pending * m.p
            continue
        if pending is not None and isinstance(m, nn.Linear):
            with torch.no_grad():
                m.weight.mul_(pending)
            pending = None
        elif pending is not None and not isinstance(m, nn.Flatten):
            raise ValueError(f"a Dropout layer is followed by {type(m).__name__}, not by nn.Linear")
        out.append(m)
    if pending is not None:
        raise ValueError("the last layer is a Dropout; there are no weights leaving it to scale")
    return nn.Sequential(*out)


# ------------------------------------------------------------------------------------------- a plain training loop
@torch.inference_mode()
def risk_and_error(model: nn.Module, x: Tensor, y: Tensor, batch_size: int = 4096) -> tuple[float, float]:
    """(mean cross-entropy in nats, zero-one error as a fraction) of `model` in eval mode on (x, y)."""
    was = model.training
    model.eval()
    loss, wrong = 0.0, 0
    for i in range(0, len(x), batch_size):
        logits = model(x[i : i + batch_size])
        loss += float(F.cross_entropy(logits, y[i : i + batch_size], reduction="sum"))
        wrong += int((logits.argmax(1) != y[i : i + batch_size]).sum())
    model.train(was)
    return loss / len(x), wrong / len(x)


NON_FINITE_ACTIONS = ("raise", "record")


def train_momentum(
    model: nn.Module,
    x: Tensor,
    y: Tensor,
    *,
    lr: float,
    batch_size: int,
    epochs: float,
    mu: float | Callable[[int], float] = 0.0,
    generator: torch.Generator | None = None,
    eval_sets: dict[str, tuple[Tensor, Tensor]] | None = None,
    evals_per_epoch: int = 1,
    progress: Any = None,
    on_non_finite: str = "raise",
    callback: Callable[[nn.Module, float, list[dict[str, Any]]], None] | None = None,
) -> list[dict[str, Any]]:
    """Mini-batch SGD with the momentum method of §4 (`momentum_step`), evaluated on `eval_sets` along the way.

    Args:
        model: trained in place (on the device of `x`).
        x, y: training inputs (N, ...) float and int64 labels (N,) (kept in memory).
        lr: α > 0; batch_size: B (1 = online learning, len(x) = batch learning).
        epochs: passes over the data (may be fractional, >= 1/len(x)·B).
        mu: a constant μ or a schedule μ(t) of the step index t (e.g. `sutskever_momentum`).
        eval_sets: {"train": (x, y), "val": ...}; evaluated `evals_per_epoch` times per epoch and at the start.
        progress: a tqdm bar to advance by one per step (optional).
        on_non_finite: what a NaN or infinite training loss does, as in `study.train.fit`: "raise" (default) stops
            the run with `FloatingPointError` naming the step, the epoch and lr (the run store then lists the run as
            failed with its config); "record" stops training and adds a row metric "diverged" = 1 (split "train"),
            for a caller to whom divergence is an expected finding (e.g. a learning-rate grid that includes a
            too-large rate); the rows then end at the last finite step.
        callback: called as ``callback(model, epoch, rows)`` after every evaluation (the start included), with the
            rows so far (e.g. to keep a copy of the network at the lowest validation error: early termination).

    Returns:
        tidy rows {"epoch" (float, samples seen / N), "split", "metric" ("risk_nats" (nats)|"error" (fraction)|
        "step"|"wall_s" (s)|"diverged" (with ``on_non_finite="record"`` only)), "value"}.

    Raises:
        ValueError: a bad lr, batch_size, epochs or on_non_finite.
        FloatingPointError: the training loss became NaN or infinite (``on_non_finite="raise"``).
    """
    if on_non_finite not in NON_FINITE_ACTIONS:
        raise ValueError(f"on_non_finite={on_non_finite!r} is out of range; accepted: one of {NON_FINITE_ACTIONS}")
    if not lr > 0:
        raise ValueError(f"lr={lr} must be > 0")
    n = len(x)
    if not 1 <= batch_size <= n:
        raise ValueError(f"batch_size={batch_size} must be in [1, {n}]")
    steps_per_epoch = math.ceil(n / batch_size)
    total = int(round(epochs * steps_per_epoch))
    if total < 1:
        raise ValueError(f"epochs={epochs} gives no step")
    mu_fn = mu if callable(mu) else (lambda t, m=float(mu): m)
    eval_sets = eval_sets or {}
    optimizer = Momentum([p for p in model.parameters() if p.requires_grad], lr=lr, mu=mu_fn)
    every = max(1, steps_per_epoch // max(1, evals_per_epoch))
    rows: list[dict[str, Any]] = []
    seen = 0
    t0 = time.perf_counter()

    def record(step: int) -> None:
        ep = seen / n
        rows.append({"epoch": ep, "split": "-", "metric": "step", "value": step})
        rows.append({"epoch": ep, "split": "-", "metric": "wall_s", "value": time.perf_counter() - t0})
        for split, (xe, ye) in eval_sets.items():
            r, e = risk_and_error(model, xe, ye)
            rows.append({"epoch": ep, "split": split, "metric": "risk_nats", "value": r})
            rows.append({"epoch": ep, "split": split, "metric": "error", "value": e})
        if callback is not None:
            callback(model, ep, rows)

    record(0)
    model.train()
    step = 0
    while step < total:
        for idx in torch.randperm(n, generator=generator).to(x.device).split(batch_size):
            try:
                train.step(model, x[idx], y[idx], optimizer, epoch=seen / n, batch=step % steps_per_epoch)
            except train.NonFinite as exc:
                if on_non_finite == "raise":
                    raise FloatingPointError(
                        f"non-finite training loss ({exc.values[0]}) at step {step + 1} of {total} (epoch "
                        f"{seen / n:.4g}, batch {step % steps_per_epoch}), lr={lr}: lower the learning rate or check "
                        "the inputs (on_non_finite='record' records the divergence instead)"
                    ) from exc
                rows.append({"epoch": seen / n, "split": "train", "metric": "diverged", "value": 1.0})
                return rows
            step += 1
            seen += len(idx)
            if progress is not None:
                progress.update(1)
            if step % every == 0 or step == total:
                record(step)
            if step == total:
                break
    return rows
