"""The relaxed variable splitting method (RVSM) for sparse weights (Dinh & Xin, arXiv 1812.05719; Xue & Xin,
arXiv 1902.07419, §2, Algorithm RVSM).

RVSM minimises the relaxed Lagrangian

    L_β(w, u) = f(w) + λ·P(u) + (β/2)·‖w − u‖²

by alternating, once per mini-batch,

    u ← prox_{λP/β}(w) = argmin_u λ·P(u) + (β/2)‖u − w‖²         (thresholding: `study.penalties.prox`)
    w ← w − η·(∇f(w) + β·(w − u))                               (a gradient step on f + coupling)

for P ∈ {‖·‖₀, ‖·‖₁, Σρ_a (transformed l1)}. Here it acts on one layer's weight (the dense layer of the curve CNN);
all other parameters train by plain SGD on f. The sparse network is the one whose dense layer holds u.

Plugging into `study.train.fit`: ``penalty=rvsm.coupling`` adds (β/2)‖w − u‖² to the loss (autograd then gives the
β(w − u) term of the w step) and ``after_step=rvsm.update_u`` recomputes u from the new w. `RVSM.__init__` sets
u = prox(w₀), so batch k's w step uses u = prox(w_{k−1}): exactly the alternation above.

Normalisation: Xue & Xin's algorithm normalises w after the gradient step (Dinh & Xin's one-layer analysis uses
w/‖w‖ because their network is scale invariant). Our dense layer is followed by ReLU and a trainable output layer:
the network is not invariant to the dense layer's scale, and dividing w by ‖w‖ (‖w‖ ≫ 1 for ~10⁵ weights) would
push every weight under the threshold. We therefore do not normalise; the paper does not give the exact
normalisation, and we say so rather than guess it.
"""
from __future__ import annotations

import contextlib
from typing import Iterator

import torch
import torch.nn as nn

from . import penalties

Tensor = torch.Tensor


class RVSM:
    """RVSM state for one weight tensor.

    Args:
        weight: the parameter w to sparsify (e.g. ``model.fc.weight``, shape (out, in)); trained by the optimiser.
        penalty: "l0", "l1" or "tl1".
        lam: λ >= 0, the penalty weight. beta: β > 0, the coupling. a: the TL1 parameter (> 0, "tl1" only).

    Attributes:
        u: the sparse copy prox_{λP/β}(w), same shape as w (no gradient), on w's device: a model moved after the
            state was built (``model.to("cuda")`` moves w in place) takes u along at its next use.
        steps: number of u-updates so far.

    Raises:
        ValueError: unknown penalty, or λ, β, a outside their ranges (see `check_parameters`).
    """

    def __init__(self, weight: nn.Parameter, penalty: str, lam: float, beta: float, a: float | None = None) -> None:
        lam, beta, a = check_parameters(penalty, lam, beta, a)
        self.weight, self.penalty, self.lam, self.beta, self.a = weight, penalty, lam, beta, a
        self.steps = 0
        self.u = self._prox()

    def _prox(self) -> Tensor:
        with torch.no_grad():
            return penalties.prox(self.weight.detach(), self.penalty, self.lam, self.beta, self.a)

    def _u(self) -> Tensor:
        """u on w's current device (moved there once if the model moved since u was computed)."""
        if self.u.device != self.weight.device:
            self.u = self.u.to(self.weight.device)
        return self.u

    @property
    def threshold(self) -> float:
        """|w| at or below which u = 0 (see `threshold`)."""
        return threshold(self.penalty, self.lam, self.beta, self.a)

    def coupling(self, model: nn.Module | None = None) -> Tensor:
        """(β/2)·‖w − u‖², scalar with gradient β(w − u) w.r.t. w (the `penalty` hook of `fit`); on w's device."""
        return 0.5 * self.beta * (self.weight - self._u()).pow(2).sum()

    def update_u(self, model: nn.Module | None = None) -> None:
        """u ← prox_{λP/β}(w) (the `after_step` hook of `fit`)."""
        self.u = self._prox()
        self.steps += 1

    def lagrangian(self, f_value: float | Tensor) -> float:
        """L_β(w, u) = f + λP(u) + (β/2)‖w − u‖² for a given data term value f (float)."""
        with torch.no_grad():
            pen = penalties.penalty_value(self._u(), self.penalty, self.lam, self.a)
            return float(f_value) + float(pen) + float(self.coupling())

    def sparsity(self) -> float:
        """Fraction of exactly-zero entries of u, in [0, 1]."""
        return (self.u == 0).float().mean().item()

    @contextlib.contextmanager
    def sparse_weights(self) -> Iterator[None]:
        """Within the block the layer holds u instead of w (to evaluate the sparse network); w is restored after."""
        with torch.no_grad():
            saved = self.weight.detach().clone()
            self.weight.copy_(self._u())
        try:
            yield
        finally:
            with torch.no_grad():
                self.weight.copy_(saved)


def check_parameters(penalty: str, lam: float, beta: float, a: float | None = None
                     ) -> tuple[float, float, float | None]:
    """(λ, β, a) as floats (a None unless "tl1") when `penalty` is one of `study.penalties.PROX_OPERATORS` and
    λ >= 0, β > 0 and, for "tl1", a > 0, each a finite real number (Xue & Xin §2: λ, β, a > 0; λ = 0 allowed).

    Raises:
        ValueError: naming the parameter, its value and the accepted range (an `a` given for "l0"/"l1" is ignored).
    """
    if penalty not in penalties.PROX_OPERATORS:
        raise ValueError(f"penalty={penalty!r} is out of range; accepted: one of {penalties.PROX_OPERATORS}")
    lam, beta = penalties._check_lam(lam), penalties._check_beta(beta)
    return lam, beta, (penalties._check_a(a) if penalty == "tl1" else a)


def threshold(penalty: str, lam: float, beta: float, a: float | None = None) -> float:
    """|w| at or below which prox_{λP/β}(w) = 0, with μ = λ/β: √(2μ) (l0), μ (l1), t(μ, a) (TL1, Xue & Xin eq. 2.4).
    Same unit as the weights; a real number >= 0.

    Raises:
        ValueError: unknown penalty, or λ < 0, β <= 0, a <= 0 (or missing for "tl1"), or any of them not a finite
            number (`check_parameters`; a negative λ would otherwise give the complex √(2μ)).
    """
    lam, beta, a = check_parameters(penalty, lam, beta, a)
    mu = lam / beta
    if penalty == "l0":
        return (2 * mu) ** 0.5
    if penalty == "l1":
        return mu
    return penalties.tl1_threshold_value(mu, a)


def sparsity(weight: Tensor) -> float:
    """Fraction of exactly-zero entries of a tensor, in [0, 1]."""
    return (weight == 0).float().mean().item()


def normalized_magnitude_fractions(weight: Tensor, scales: tuple[float, ...] = (1e-1, 1e-2, 1e-3, 1e-4, 1e-5)
                                   ) -> dict[float, float]:
    """Fraction of entries with |w| / max|w| < s, for each scale s (Xue & Xin Table 3). Fractions in [0, 1].

    Raises:
        ValueError: `weight` is all zero (the normalisation is undefined).
    """
    m = weight.abs().max()
    if not m > 0:
        raise ValueError("weight is all zero: |w|/max|w| is undefined")
    r = weight.abs() / m
    return {s: (r < s).float().mean().item() for s in scales}


def sign_changes(before: Tensor, after: Tensor) -> int:
    """Number of entries whose sign differs between two tensors of the same shape (zeros count as their own sign).
    The tensors may lie on different devices (e.g. a CPU copy of the initial weights and the trained CUDA ones):
    `before` is compared on `after`'s device.

    Raises:
        ValueError: shapes differ.
    """
    if before.shape != after.shape:
        raise ValueError(f"shapes differ: {tuple(before.shape)} vs {tuple(after.shape)}")
    return int((torch.sign(before.to(after.device)) != torch.sign(after)).sum().item())


def fit_rvsm(model: nn.Module, layer: nn.Linear, x: Tensor, y: Tensor, *, penalty: str, lam: float, beta: float,
             a: float | None = None, eval_sets: dict[str, tuple[Tensor, Tensor]] | None = None,
             **fit_kwargs) -> tuple[list[dict], RVSM]:
    """Train `model` by RVSM on `layer.weight` (all other parameters by plain SGD) with `study.train.fit`.

    Per epoch it records, besides `fit`'s rows (accuracy of the network with w: metric "accuracy"), the accuracy of
    the sparse network (u in `layer`; metric "accuracy_sparse", split of each eval set), the sparsity of u
    ("sparsity", split "-", fraction of exact zeros) and the fraction of exact zeros of w ("sparsity_w").

    Args:
        model, layer: the network and its layer to sparsify (e.g. ``model.fc``).
        x, y: training inputs (N, 1, S, S) float and labels (N,) int64.
        penalty, lam, beta, a: see `RVSM`.
        eval_sets: {"test": (x, y), ...}.
        fit_kwargs: passed to `study.train.fit` (epochs, batch_size, lr, momentum, generator, device, ...).

    Returns:
        (tidy rows, the `RVSM` state, whose `u` is the final sparse weight).

    Raises:
        ValueError: bad penalty parameters (see `RVSM`), `layer` not a module of `model`, or bad `fit` arguments.
    """
    from .train import evaluate, fit
    _check_layer(model, layer)
    device = torch.device(fit_kwargs.get("device", "cpu"))
    model.to(device)  # before RVSM: u is computed from w where w lives
    state = RVSM(layer.weight, penalty, lam, beta, a)
    eval_sets = eval_sets or {}
    cl = fit_kwargs.get("channels_last", False)
    user_end = fit_kwargs.pop("on_epoch_end", None)

    def on_epoch_end(m: nn.Module, epoch: int) -> dict[str, float]:
        out = {"sparsity": state.sparsity(), "sparsity_w": sparsity(layer.weight.detach())}
        with state.sparse_weights():
            for split, (xe, ye) in eval_sets.items():
                out[f"accuracy_sparse_{split}"] = evaluate(m, xe, ye, device=device, channels_last=cl)["accuracy"]
        if user_end is not None:
            out.update(user_end(m, epoch) or {})
        return out

    rows = fit(model, x, y, penalty=state.coupling, after_step=state.update_u, on_epoch_end=on_epoch_end,
               eval_sets=eval_sets, **fit_kwargs)
    for r in rows:  # rename "accuracy_sparse_<split>" rows into metric "accuracy_sparse" with that split
        if r["metric"].startswith("accuracy_sparse_"):
            r["split"] = r["metric"][len("accuracy_sparse_"):]
            r["metric"] = "accuracy_sparse"
    return rows, state


def train_step_throughput(model: nn.Module, layer: nn.Linear, x: Tensor, y: Tensor, *, batch_size: int,
                          penalty: str = "l0", lam: float = 5e-4, beta: float = 1.0, a: float | None = None,
                          lr: float = 0.01, momentum: float = 0.9, steps: int = 20, warmup: int = 3,
                          channels_last: bool = False, device: torch.device | str = "cpu") -> float:
    """Images per second of our RVSM training step (forward, loss + coupling, backward, SGD step, prox update of
    u), on the first `batch_size` rows of (x, y) repeated; compare with `study.train.throughput` (a bare loop).

    The model is moved to `device` (and to channels_last) *before* u = prox(w) is computed, so that u, w and the
    batch share one device (on CUDA, u computed from the CPU weights made the coupling term fail).

    Args:
        model, layer: the network and its layer to sparsify (``layer`` a module of ``model``, e.g. ``model.fc``).
        x, y: inputs (N, C, H, W) float and labels (N,) int64 (any device; the first `batch_size` rows are used).
        batch_size, steps, warmup, lr, momentum, channels_last, device: see `study.train.throughput`.
        penalty, lam, beta, a: see `RVSM`.

    Returns:
        images per second (float, > 0), wall-clock over `steps` timed steps.

    Raises:
        ValueError: bad penalty parameters (see `RVSM`) or `layer` not a module of `model`.
    """
    from .train import throughput
    _check_layer(model, layer)
    device = torch.device(device)
    model.to(device)
    if channels_last:
        model.to(memory_format=torch.channels_last)
    state = RVSM(layer.weight, penalty, lam, beta, a)  # after the move: u on w's device, w the model's own tensor
    return throughput(model, x, y, batch_size=batch_size, steps=steps, warmup=warmup, lr=lr, momentum=momentum,
                      channels_last=channels_last, device=device, penalty=lambda m: state.coupling(),
                      after_step=lambda m: state.update_u())


def _check_layer(model: nn.Module, layer: nn.Module) -> None:
    """Raise ValueError unless `layer` is one of `model`'s modules (its weight must be what the model trains)."""
    if not any(m is layer for m in model.modules()):
        raise ValueError(f"layer={type(layer).__name__} is out of range; accepted: a module of model "
                         f"({type(model).__name__}), e.g. model.fc")
