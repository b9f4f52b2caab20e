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

Variants (each an option of `fit_rvsm`, run as labelled rows by notebook 02):

* **w step.** Xue & Xin §2: "In the actual training, SGD and the sample averaged empirical loss function will be
  implemented"; "the w step is gradient descent followed by a normalization". The optimiser is SGD (`ScheduledSGD`:
  momentum, optional Nesterov, a linear learning-rate warm-up over the first steps and optional gradient-norm
  clipping, i.e. schedule controls that leave the method alone). The text does not mention momentum; it allows it
  (SGD "as implemented" in practice) and the authors' group's public code uses Nesterov momentum 0.9.
* **coupling** "through" (default): β(w − u) is a gradient of the loss, so it passes through the optimiser's
  momentum; "outside": the authors' public code (tdinh15/rvsm-rgsm-admm, ``main.py``) runs only ∇f through SGD and
  applies ``w -= lr·β·(w − u)`` as a separate plain step before ``optimizer.step()``. With momentum 0 they agree.
* **normalize** (`NORMALIZATIONS`; the text says only "gradient descent followed by a normalization", §2):
  - "none": w is never rescaled; the threshold √(2λ/β) is in the weights' own units.
  - "max" | "unit" (`normalize_layer`): after every w step rescale w to max|w| = 1 or ‖w‖₂ = 1 and move the inverse
    scale into the next layer (dense bias divided, next weight multiplied). ReLU is positively homogeneous, so the
    network's function is unchanged while the fixed threshold becomes relative to the weights' scale. With W' = W/s
    the gradient is ∂f/∂W' = s·∂f/∂W, so one step in raw units is −lr·s²·∂f/∂W: at s ≈ max|W₀| ≈ 1/√fan_in the
    dense layer barely moves (issue 18).
  - "max_comp": the same max|w| rescaling with the learning rate compensated so that the raw step is unchanged
    (dense weight and bias at lr/s², the next layer at lr·s² for SGD; Adam's step is scale-free up to a factor s).
    Computed in raw units, which is the same trajectory: w is kept unrescaled, u = s·prox(w/s) with s = max|w|,
    and the coupling is (β/2)‖w/s − u/s‖² (β in normalised units). The sparse network and every scale-free
    statistic are those of the rescaled network; `tests/test_rvsm.py` checks one step against the literal
    rescaled form with compensated learning rates.
  - "rel": a threshold relative to the layer's scale with w never rescaled: u = s·prox(w/s), s = max|w|, and the
    coupling (β/2)‖w − u‖² in raw units.
* **epoch_end_hard**: at the end of every epoch w ← u (the public code's w ← H(w)).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

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
        scale: "abs" (the threshold in w's units), "rel" (u = s·prox(w/s) with s = max|w|: a threshold relative to
            the layer's scale, coupling β(w − u)) or "comp" (the same u, coupling (β/s²)(w − u): the raw-units form
            of max|w| rescaling with a compensated learning rate, module docstring).

    Attributes:
        u: the sparse copy prox_{λP/β}(w), same shape as w (no gradient), on w's device: a model moved after the
            state was built (``model.to("cuda")`` moves w in place) takes u along at its next use.
        steps: number of u-updates so far.

    Raises:
        ValueError: unknown penalty, or λ, β, a outside their ranges (see `check_parameters`).
    """

    def __init__(
        self, weight: torch.Tensor, penalty: str, lam: float, beta: float, a: float | None = None, scale: str = "abs"
    ) -> None:
        lam, beta, a = check_parameters(penalty, lam, beta, a)
        if scale not in SCALE_MODES:
            raise ValueError(f"scale={scale!r} is out of range; accepted: one of {SCALE_MODES}")
        self.weight, self.penalty, self.lam, self.beta, self.a = weight, penalty, lam, beta, a
        self.scale_mode = scale
        self.s = 1.0  # max|w| at the last u update ("rel", "comp"); 1 for "abs"
        self.steps = 0
        self.u = self._prox()

    def _prox(self) -> Tensor:
        with torch.no_grad():
            w = self.weight.detach()
            if self.scale_mode == "abs":
                return penalties.prox(w, self.penalty, self.lam, self.beta, self.a)
            m = float(w.abs().max())
            self.s = m if m > 0 else 1.0
            return self.s * penalties.prox(w / self.s, self.penalty, self.lam, self.beta, self.a)

    @property
    def coupling_weight(self) -> float:
        """β in raw units: β ("abs", "rel") or β/s² ("comp": the coupling of the rescaled network, s = max|w|)."""
        return self.beta / self.s**2 if self.scale_mode == "comp" else self.beta

    def _u(self) -> Tensor:
        """u on w's current device (moved there once if the model moved since u was computed)."""
        if self.u.device != self.weight.device:
            self.u = self.u.to(self.weight.device)
        return self.u

    @property
    def threshold(self) -> float:
        """|w| at or below which u = 0 (see `threshold`), in w's units (× s = max|w| for "rel" and "comp")."""
        return threshold(self.penalty, self.lam, self.beta, self.a) * self.s

    def coupling(self, model: nn.Module | None = None) -> Tensor:
        """(β/2)·‖w − u‖², scalar with gradient β(w − u) w.r.t. w (the `penalty` hook of `fit`); on w's device."""
        return 0.5 * self.coupling_weight * (self.weight - self._u()).pow(2).sum()

    def update_u(self, model: nn.Module | None = None) -> None:
        """u ← prox_{λP/β}(w) (the `after_step` hook of `fit`)."""
        self.u = self._prox()
        self.steps += 1

    def coupling_step(self, lr: float) -> None:
        """The coupling as a plain step outside the optimiser: w ← w − lr·β·(w − u) (the authors' public code,
        applied before ``optimizer.step()``; `ScheduledSGD.pre_step`)."""
        with torch.no_grad():
            self.weight.sub_(lr * self.coupling_weight * (self.weight - self._u()))

    def harden(self) -> None:
        """w ← u = prox(w) (the public code's end-of-epoch w ← H(w) for l0)."""
        with torch.no_grad():
            self.weight.copy_(self._u())

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


#: how the threshold meets the weights' scale (`RVSM`): absolute, relative to max|w|, relative + coupling in the
#: normalised units
SCALE_MODES = ("abs", "rel", "comp")
NORMALIZATIONS = ("none", "max", "unit", "rel", "max_comp")
#: the normalisations that rescale w (and the next layer) after each step (`normalize_layer`)
RESCALING = ("max", "unit")
#: the `RVSM` scale mode of each normalisation
SCALE_OF = {"none": "abs", "max": "abs", "unit": "abs", "rel": "rel", "max_comp": "comp"}
COUPLINGS = ("through", "outside")


def normalize_layer(
    layer: nn.Linear, next_layer: nn.Linear, mode: str, optimizer: torch.optim.Optimizer | None = None
) -> float:
    """Rescale `layer` so that max|w| = 1 ("max") or ‖w‖₂ = 1 ("unit") without changing the network's function.

    With s the scale: w ← w/s, b ← b/s, next.weight ← s·next.weight. For y = next(σ(layer(x))) with σ positively
    homogeneous (ReLU: σ(z/s) = σ(z)/s for s > 0) the output is unchanged. Momentum buffers of the optimiser move with
    their parameters (SGD ``momentum_buffer`` and Adam's ``exp_avg`` scaled like the parameter, ``exp_avg_sq`` by the
    square) so that the next step is the same step in the new units.

    Args:
        layer: the dense layer (weight (out, in), bias (out,) or None); next_layer: the layer fed by σ(layer(·)),
            weight (k, out). mode: one of `NORMALIZATIONS` (anything but "max"/"unit" does nothing here and returns
            1: "rel" and "max_comp" never rescale w, `RVSM` takes their scale into the threshold).
        optimizer: the optimiser holding their state, or None.

    Returns:
        the scale s (> 0; 1.0 for "none" or an all-zero weight, which is left alone).

    Raises:
        ValueError: unknown `mode`, or `next_layer`'s input size differs from `layer`'s output size.
    """
    if mode not in NORMALIZATIONS:
        raise ValueError(f"normalize={mode!r} is out of range; accepted: one of {NORMALIZATIONS}")
    if next_layer.weight.shape[1] != layer.weight.shape[0]:
        raise ValueError(
            f"next_layer takes {next_layer.weight.shape[1]} inputs but layer gives {layer.weight.shape[0]} outputs"
        )
    if mode not in RESCALING:
        return 1.0
    with torch.no_grad():
        w = layer.weight
        s = float(w.abs().max() if mode == "max" else torch.linalg.vector_norm(w))
        if not s > 0:
            return 1.0
        moves = [(w, 1.0 / s), (next_layer.weight, s)] + ([(layer.bias, 1.0 / s)] if layer.bias is not None else [])
        for p, f in moves:
            p.mul_(f)
            st = optimizer.state.get(p, {}) if optimizer is not None else {}
            for key, power in (("momentum_buffer", 1), ("exp_avg", 1), ("exp_avg_sq", 2)):
                if st.get(key) is not None:
                    st[key].mul_(f**power)
    return s


class ScheduledSGD(torch.optim.SGD):
    """SGD (momentum, optional Nesterov) with a linear learning-rate warm-up, optional gradient-norm clipping and
    hooks run just before each step (RVSM's coupling "outside" the optimiser).

    Step k (from 0) uses lr·min(1, (k + 1)/warmup_steps) (lr when warmup_steps = 0). With `clip` the gradients of
    all parameters are rescaled to global norm <= clip first (`torch.nn.utils.clip_grad_norm_`).

    Args:
        params: parameters; lr > 0; momentum in [0, 1); nesterov: needs momentum > 0 (else ignored);
        warmup_steps: integer >= 0; clip: None or a number > 0; weight_decay: >= 0 (torch's L2 term in the step).

    Attributes:
        pre_step: callables hook(lr) run after clipping, before the SGD update, with this step's lr.
        steps: steps taken so far.

    Raises:
        ValueError: a value out of range (names it).
    """

    def __init__(
        self,
        params,
        lr: float,
        momentum: float = 0.0,
        nesterov: bool = False,
        warmup_steps: int = 0,
        clip: float | None = None,
        weight_decay: float = 0.0,
    ) -> None:
        if not (isinstance(warmup_steps, int) and not isinstance(warmup_steps, bool) and warmup_steps >= 0):
            raise ValueError(f"warmup_steps={warmup_steps!r} is out of range; accepted: an integer >= 0")
        if clip is not None and not (isinstance(clip, (int, float)) and clip > 0):
            raise ValueError(f"clip={clip!r} is out of range; accepted: None or a number > 0")
        super().__init__(
            params, lr=lr, momentum=momentum, nesterov=bool(nesterov and momentum > 0), weight_decay=weight_decay
        )
        self.base_lr, self.warmup_steps, self.clip = float(lr), warmup_steps, clip
        self.pre_step: list = []
        self.steps = 0

    def current_lr(self) -> float:
        """The learning rate of the next step (warm-up applied)."""
        if self.warmup_steps:
            return self.base_lr * min(1.0, (self.steps + 1) / self.warmup_steps)
        return self.base_lr

    def step(self, closure=None):
        lr = self.current_lr()
        for g in self.param_groups:
            g["lr"] = lr
        if self.clip is not None:
            torch.nn.utils.clip_grad_norm_(
                [p for g in self.param_groups for p in g["params"] if p.grad is not None], self.clip
            )
        for hook in self.pre_step:
            hook(lr)
        self.steps += 1
        return super().step(closure)

    # torch wraps an optimiser class's `step` in its profiling hook at the class's first instance
    # (`Optimizer._patch_step_function`), which would change this class -- and with it the run store's code version
    # (`study.runs.code_version`) -- after the first run in a process: a worker's key would then differ from the
    # notebook's. Marked as hooked, the method stays ours (no profiler record or global optimiser step hooks, which
    # the study does not use).
    step.hooked = True  # type: ignore[attr-defined]  # a marker attribute on the function


def check_parameters(
    penalty: str, lam: float, beta: float, a: float | None = None
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
    return penalties.tl1_threshold_value(mu, a)  # type: ignore[arg-type]  # check_parameters sets a for tl1


def sparsity(weight: Tensor) -> float:
    """Fraction of exactly-zero entries of a tensor, in [0, 1]."""
    return (weight == 0).float().mean().item()


def normalized_magnitude_fractions(
    weight: Tensor, scales: tuple[float, ...] = (1e-1, 1e-2, 1e-3, 1e-4, 1e-5)
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


def fit_rvsm(
    model: nn.Module,
    layer: nn.Linear,
    x: Tensor,
    y: Tensor,
    *,
    penalty: str,
    lam: float,
    beta: float,
    a: float | None = None,
    coupling: str = "through",
    normalize: str = "none",
    next_layer: nn.Linear | None = None,
    epoch_end_hard: bool = False,
    eval_sets: dict[str, tuple[Tensor, Tensor]] | None = None,
    **fit_kwargs,
) -> tuple[list[dict], RVSM]:
    """Train `model` by RVSM on `layer.weight` (all other parameters by the optimiser on f) with `study.train.fit`.

    Per batch: the optimiser's w step (coupling through or outside it), then `normalize` (if not "none"), then
    u ← prox(w). Per epoch it records, besides `fit`'s rows (accuracy of the network with w: metric "accuracy"), the
    accuracy of the sparse network (u in `layer`; metric "accuracy_sparse", split of each eval set), the sparsity of
    u ("sparsity", split "-", fraction of exact zeros), the fraction of exact zeros of w ("sparsity_w"), max|w|
    ("max_abs_w") and the sparsity of u₀ = prox(w₀) at the start ("sparsity_init": the share of the initial weights
    under the threshold, which a layer that does not train would keep). With `epoch_end_hard`, w ← u after each epoch's evaluation of w (before the sparse rows). With ``eval_last_only`` (a `fit` argument) both
    networks are evaluated after the last epoch alone.

    Args:
        model, layer: the network and its layer to sparsify (e.g. ``model.fc``).
        x, y: training inputs (N, 1, S, S) float and labels (N,) int64.
        penalty, lam, beta, a: see `RVSM`.
        coupling: one of `COUPLINGS` (module docstring); "outside" needs a `ScheduledSGD` optimiser (made from
            ``lr``/``momentum`` when ``optimizer`` is not given).
        normalize: one of `NORMALIZATIONS`; "max" and "unit" need `next_layer` (e.g. ``model.out``), fed by
            ReLU(layer(·)).
        epoch_end_hard: w ← u at the end of every epoch.
        eval_sets: {"test": (x, y), ...}.
        fit_kwargs: passed to `study.train.fit` (epochs, batch_size, lr, momentum, optimizer, generator, device, ...).
            Without ``optimizer`` a `ScheduledSGD` (lr, momentum, no warm-up) is used, as `fit` would.

    Returns:
        (tidy rows, the `RVSM` state, whose `u` is the final sparse weight).

    Raises:
        ValueError: bad penalty parameters (see `RVSM`), `layer` not a module of `model`, an unknown coupling or
            normalize, normalize without `next_layer`, coupling "outside" with another optimiser, bad `fit` arguments.
    """
    from .train import evaluate, fit

    _check_layer(model, layer)
    if coupling not in COUPLINGS:
        raise ValueError(f"coupling={coupling!r} is out of range; accepted: one of {COUPLINGS}")
    if normalize not in NORMALIZATIONS:
        raise ValueError(f"normalize={normalize!r} is out of range; accepted: one of {NORMALIZATIONS}")
    if normalize in RESCALING:
        if next_layer is None:
            raise ValueError(f"normalize={normalize!r} needs next_layer (the layer after ReLU(layer), e.g. model.out)")
        _check_layer(model, next_layer)
    device = torch.device(fit_kwargs.get("device", "cpu"))
    model.to(device)  # before RVSM: u is computed from w where w lives
    opt = fit_kwargs.pop("optimizer", None)
    if opt is None:
        opt = ScheduledSGD(model.parameters(), lr=fit_kwargs.get("lr", 0.01), momentum=fit_kwargs.get("momentum", 0.0))
    if coupling == "outside" and not isinstance(opt, ScheduledSGD):
        raise ValueError(f"coupling='outside' needs a ScheduledSGD optimiser, got {type(opt).__name__}")
    if normalize in RESCALING:  # w₀ normalised too, so u₀ = prox(w₀) is taken at the same scale as every later u
        normalize_layer(layer, next_layer, normalize, opt)  # type: ignore[arg-type]  # next_layer checked above
    state = RVSM(layer.weight, penalty, lam, beta, a, scale=SCALE_OF[normalize])
    sparsity_init = state.sparsity()
    if coupling == "outside":
        opt.pre_step.append(state.coupling_step)
    eval_sets = eval_sets or {}
    cl = fit_kwargs.get("channels_last", False)
    user_end = fit_kwargs.pop("on_epoch_end", None)
    last_only = bool(fit_kwargs.get("eval_last_only", False))

    def after_step(m: nn.Module) -> None:
        if normalize in RESCALING:
            normalize_layer(layer, next_layer, normalize, opt)  # type: ignore[arg-type]  # next_layer checked above
        state.update_u()

    def on_epoch_end(m: nn.Module, epoch: int) -> dict[str, float]:
        out = {"max_abs_w": float(layer.weight.detach().abs().max()), "sparsity_init": sparsity_init}
        if epoch_end_hard:
            state.harden()
        out.update({"sparsity": state.sparsity(), "sparsity_w": sparsity(layer.weight.detach())})
        eval_now = {} if last_only and epoch < fit_kwargs["epochs"] else eval_sets
        with state.sparse_weights():
            for split, (xe, ye) in eval_now.items():
                out[f"accuracy_sparse_{split}"] = evaluate(m, xe, ye, device=device, channels_last=cl)["accuracy"]
        if user_end is not None:
            out.update(user_end(m, epoch) or {})
        return out

    rows = fit(
        model,
        x,
        y,
        penalty=state.coupling if coupling == "through" else None,
        after_step=after_step,
        on_epoch_end=on_epoch_end,
        eval_sets=eval_sets,
        optimizer=opt,
        **fit_kwargs,
    )
    for r in rows:  # rename "accuracy_sparse_<split>" rows into metric "accuracy_sparse" with that split
        if r["metric"].startswith("accuracy_sparse_"):
            r["split"] = r["metric"][len("accuracy_sparse_") :]
            r["metric"] = "accuracy_sparse"
    return rows, state


def train_step_throughput(
    model: nn.Module,
    layer: nn.Linear,
    x: Tensor,
    y: Tensor,
    *,
    batch_size: int,
    penalty: str = "l0",
    lam: float = 5e-4,
    beta: float = 1.0,
    a: float | None = None,
    momentum: float = 0.9,
    channels_last: bool = False,
    device: torch.device | str = "cpu",
    **timing: Any,
) -> float:
    """Images per second of our RVSM training step (forward, loss + coupling, backward, SGD step, prox update of
    u), on the first `batch_size` rows of (x, y) repeated; compare with `study.train.throughput` (a bare loop).

    The model is moved to `device` (and to channels_last) *before* u = prox(w) is computed, so that u, w and the
    batch share one device (on CUDA, u computed from the CPU weights made the coupling term fail).

    Args:
        model, layer: the network and its layer to sparsify (``layer`` a module of ``model``, e.g. ``model.fc``).
        x, y: inputs (N, C, H, W) float and labels (N,) int64 (any device; the first `batch_size` rows are used).
        batch_size, momentum, channels_last, device, and in `timing` steps, warmup, lr: see `study.train.throughput`.
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
    return throughput(
        model, x, y, batch_size=batch_size, momentum=momentum, channels_last=channels_last, device=device,
        penalty=lambda m: state.coupling(), after_step=lambda m: state.update_u(), **timing,
    )  # fmt: skip


def _check_layer(model: nn.Module, layer: nn.Module) -> None:
    """Raise ValueError unless `layer` is one of `model`'s modules (its weight must be what the model trains)."""
    if not any(m is layer for m in model.modules()):
        raise ValueError(
            f"layer={type(layer).__name__} is out of range; accepted: a module of model "
            f"({type(model).__name__}), e.g. model.fc"
        )
