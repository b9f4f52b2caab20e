"""Penalties and their proximal (thresholding) operators.

Group penalties on a fully connected layer (Yang et al., "Entropy Error-based CNN Sparse Optimization", eqs. 5-7):
the groups are the weight vectors u_k *leaving* input node k, i.e. the columns of the (out, in) weight matrix, so a
zero group prunes input node k.

Every weight and shape parameter (λ ``lam`` and SL1's α ``alpha`` >= 0; β ``beta``, TL1 ``a`` > 0) must be a finite
real number: anything else (negative, NaN, ±inf, a string, a bool) raises ValueError naming the parameter, the value and
the accepted range, before any tensor work.
"""

from __future__ import annotations

import math
import numbers

import torch

from .checks import out_of_range

Tensor = torch.Tensor


def _check_number(name: str, value: float, *, positive: bool, meaning: str) -> float:
    """`value` as a float when it is a finite real number (not a bool) > 0 (`positive`) or >= 0.

    Raises:
        ValueError: naming `name`, the value and the accepted range (NaN, ±inf, negative, strings refused).
    """
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value)
    if not (ok and (value > 0 if positive else value >= 0)):
        raise out_of_range(name, value, f"a finite number {'> 0' if positive else '>= 0'} ({meaning})")
    return float(value)


def _check_alpha(alpha: float) -> float:
    return _check_number(
        "alpha", alpha, positive=False, meaning="the smoothing radius of SL1; 0 is the non-smooth limit, group L1"
    )


def _check_lam(lam: float) -> float:
    return _check_number("lam", lam, positive=False, meaning="the penalty weight λ")


def group_norms(weight: Tensor) -> Tensor:
    """Euclidean norms ‖u_k‖ of the columns of a (out, in) weight matrix; shape (in,)."""
    if weight.dim() != 2:
        raise ValueError(f"weight must be a 2-D (out, in) matrix, got shape {tuple(weight.shape)}")
    return torch.linalg.vector_norm(weight, dim=0)


def sl1_h(weight: Tensor, alpha: float) -> Tensor:
    """Smoothing L1 of each column u_k of `weight` (Yang et al. eq. 5); shape (in,).

    h(u, α) = ‖u‖                   if ‖u‖ ≥ α,
              ‖u‖² / (2α) + α / 2   if ‖u‖ < α.

    h and its gradient are continuous at ‖u‖ = α (both branches give α and u/α there), and the gradient is finite
    at u = 0 (it is 0), which is the point of the smoothing: the group-L1 norm ‖u‖ has no gradient at 0.

    α = 0 is the non-smooth limit (the paper requires α > 0; we add it for the α sweep): h(u, 0) = ‖u‖, the group-L1
    norm, with autograd's gradient u/‖u‖ for u ≠ 0 and the subgradient 0 at u = 0 (the same as `group_l1`).
    0 ≤ h(u, α) − ‖u‖ ≤ α/2 for every u, so Σ_k h(u_k, α) → Σ_k ‖u_k‖ as α → 0.

    Args:
        weight: (out, in) matrix; column k is u_k.
        alpha: smoothing radius α >= 0 (same unit as the weights).

    Raises:
        ValueError: `alpha` negative or not a finite number, or `weight` not 2-D.
    """
    alpha = _check_alpha(alpha)
    if weight.dim() != 2:
        raise ValueError(f"weight must be a 2-D (out, in) matrix, got shape {tuple(weight.shape)}")
    sq = (weight * weight).sum(dim=0)
    if alpha == 0.0:
        # ‖u‖ with gradient u/‖u‖, and 0 (not NaN) at u = 0: sqrt only of positive values
        pos = sq > 0
        return torch.where(pos, torch.sqrt(torch.where(pos, sq, torch.ones_like(sq))), torch.zeros_like(sq))
    outside = sq >= alpha * alpha
    # sqrt only of values >= α² (finite gradient in the unused branch); `where`, not `clamp`, so that the gradient
    # also flows at ‖u‖ = α exactly (clamp's gradient is 0 at its bound)
    outer = torch.sqrt(torch.where(outside, sq, torch.full_like(sq, alpha * alpha)))
    inner = sq / (2.0 * alpha) + alpha / 2.0
    return torch.where(outside, outer, inner)


def sl1_grad(weight: Tensor, alpha: float) -> Tensor:
    """Analytic gradient of Σ_k h(u_k, α) w.r.t. `weight` (Yang et al. eq. 6): u/‖u‖ if ‖u‖ ≥ α, else u/α.

    With α = 0: the group-L1 subgradient u/‖u‖, and 0 at u = 0. Shape of `weight`, (out, in). Raises ValueError as
    `sl1_h`.
    """
    alpha = _check_alpha(alpha)
    norms = group_norms(weight)
    if alpha == 0.0:
        scale = torch.where(
            norms > 0, 1.0 / torch.where(norms > 0, norms, torch.ones_like(norms)), torch.zeros_like(norms)
        )
        return weight * scale.unsqueeze(0)
    scale = torch.where(norms >= alpha, 1.0 / torch.clamp(norms, min=alpha), torch.full_like(norms, 1.0 / alpha))
    return weight * scale.unsqueeze(0)


def sl1(weight: Tensor, lam: float, alpha: float) -> Tensor:
    """λ · Σ_k h(u_k, α): the SL1 term of the total loss E + λ Σ_k h(u_k, α) (Yang et al. eq. 7). Scalar.

    α = 0 gives `group_l1` (same value and gradient, subgradient 0 at u = 0)."""
    return _check_lam(lam) * sl1_h(weight, alpha).sum()


def group_l1(weight: Tensor, lam: float) -> Tensor:
    """λ · Σ_k ‖u_k‖: the non-smooth group-L1 (group lasso) penalty that SL1 smooths (the α → 0 limit of SL1).

    Trained by subgradient: autograd's gradient of ‖u‖ at u = 0 is taken as 0. Scalar.
    """
    return _check_lam(lam) * group_norms(weight).sum()


def l1(weight: Tensor, lam: float) -> Tensor:
    """λ · Σ_ij |w_ij|: the elementwise L1 penalty (subgradient sign(w), 0 at 0). Scalar."""
    return _check_lam(lam) * weight.abs().sum()


def l2(weight: Tensor, lam: float) -> Tensor:
    """(λ/2) · Σ_ij w_ij²: the L2 penalty (weight decay with coefficient λ on these weights). Scalar."""
    return 0.5 * _check_lam(lam) * (weight * weight).sum()


# --------------------------------------------------------------------------------------------------------------------
# l0 / l1 / transformed-l1 penalties and their proximal (thresholding) operators, for RVSM (Xue & Xin, arXiv
# 1902.07419, §2, eqs. 2.1-2.4; Dinh & Xin, arXiv 1812.05719). For the u-update of RVSM,
#
#     prox_{λP/β}(w) = argmin_u  λ·P(u) + (β/2)·(u − w)²        (elementwise, μ = λ/β),
#
# each operator below takes the dense layer's weights w (any shape) and returns u of the same shape and dtype.


def _check_beta(beta: float) -> float:
    return _check_number("beta", beta, positive=True, meaning="the RVSM coupling weight β")


def _check_a(a: float | None) -> float:
    return _check_number("a", a, positive=True, meaning="the transformed-l1 shape parameter")  # type: ignore[arg-type]  # None refused there


def tl1_rho(x: Tensor, a: float) -> Tensor:
    """The transformed-l1 function ρ_a(x) = (a+1)|x| / (a+|x|), elementwise; same shape as `x`, values in [0, a+1).

    Zhang & Xin 2017 (Comm. Math. Sci. 15(2)); Xue & Xin eq. (2.3). ρ_a(0) = 0; as a → 0⁺ it tends to the indicator
    1[x ≠ 0] (l0), as a → ∞ to |x| (l1); ρ_a(x) ≤ (a+1)/a·|x| everywhere.

    Raises:
        ValueError: `a` <= 0.
    """
    a = _check_a(a)
    ax = x.abs()
    return (a + 1.0) * ax / (a + ax)


def tl1(weight: Tensor, lam: float, a: float) -> Tensor:
    """λ · Σ_ij ρ_a(w_ij): the transformed-l1 penalty (Xue & Xin eq. 2.3). Scalar; differentiable except at 0
    (autograd's subgradient there is 0). This is the penalty placed inside the loss in the SGD baseline.

    Raises:
        ValueError: `lam` < 0 or `a` <= 0.
    """
    return _check_lam(lam) * tl1_rho(weight, a).sum()


def l0(weight: Tensor, lam: float) -> Tensor:
    """λ · ‖w‖₀ = λ · #{w_ij ≠ 0}. Scalar (a count, float). Discontinuous: used in RVSM only through its prox,
    `hard_threshold`; no useful gradient.

    Raises:
        ValueError: `lam` < 0.
    """
    return _check_lam(lam) * (weight != 0).sum().to(weight.dtype if weight.is_floating_point() else torch.float32)


def hard_threshold(w: Tensor, lam: float, beta: float) -> Tensor:
    """prox of λ‖·‖₀ with coupling β: u = w where |w| > √(2λ/β), else 0 (Xue & Xin eq. 2.1; Blumensath & Davies
    2008). At |w| = √(2λ/β) both 0 and w are minimisers; we return 0.

    Args: w: weights, any shape; lam: λ >= 0; beta: β > 0. Returns: u, the shape and dtype of `w`.

    Raises:
        ValueError: `lam` < 0 or `beta` <= 0.
    """
    lam, beta = _check_lam(lam), _check_beta(beta)
    t = (2.0 * lam / beta) ** 0.5
    return torch.where(w.abs() > t, w, torch.zeros_like(w))


def soft_threshold(w: Tensor, lam: float, beta: float) -> Tensor:
    """prox of λ‖·‖₁ with coupling β: u = sign(w)·max(|w| − λ/β, 0) (Xue & Xin eq. 2.2; Daubechies et al. 2004).

    Args:
        w: weights, any shape. lam: λ >= 0. beta: β > 0.

    Returns:
        u, same shape and dtype as `w`.

    Raises:
        ValueError: `lam` < 0 or `beta` <= 0.
    """
    lam, beta = _check_lam(lam), _check_beta(beta)
    return torch.sign(w) * torch.clamp(w.abs() - lam / beta, min=0.0)


def tl1_threshold_value(mu: float, a: float) -> float:
    """The TL1 thresholding level t(μ, a) (Zhang & Xin 2017, Thm 3.1; Xue & Xin eq. 2.4), μ = λ/β:

        t = μ(a+1)/a                 if μ ≤ a² / (2(a+1)),
        t = √(2μ(a+1)) − a/2         otherwise.

    |w| <= t gives u = 0. Raises ValueError for μ < 0 or a <= 0 (or either not a finite number).
    """
    a = _check_a(a)
    mu = _check_number("mu", mu, positive=False, meaning="mu = lam / beta")
    if mu <= a * a / (2.0 * (a + 1.0)):
        return mu * (a + 1.0) / a
    return (2.0 * mu * (a + 1.0)) ** 0.5 - a / 2.0


def tl1_threshold(w: Tensor, lam: float, beta: float, a: float) -> Tensor:
    """prox of λ·Σρ_a with coupling β (Zhang & Xin 2017, closed form; Xue & Xin eqs. 2.3-2.4). With μ = λ/β:

        u = sign(w)·( (2/3)(a+|w|)·cos(φ/3) − 2a/3 + |w|/3 ),   φ = arccos(1 − 27μa(a+1) / (2(a+|w|)³)),
            for |w| > t(μ, a) (see `tl1_threshold_value`), else u = 0.

    The arccos argument is clamped to [−1, 1] (it can leave it by rounding). Interpolates hard thresholding
    (a → 0⁺, threshold √(2μ)) and soft thresholding with μ(a+1)/a (a → ∞).

    Args:
        w: weights, any shape. lam: λ >= 0. beta: β > 0. a: a > 0.

    Returns:
        u, same shape and dtype as `w`.

    Raises:
        ValueError: `lam` < 0, `beta` <= 0 or `a` <= 0.
    """
    lam, beta, a = _check_lam(lam), _check_beta(beta), _check_a(a)
    mu = lam / beta
    t = tl1_threshold_value(mu, a)
    aw = w.abs()
    # compute in float64 for the cubic's trigonometric form (cancellation for large a), return w's dtype
    awd = aw.double()
    arg = 1.0 - 27.0 * mu * a * (a + 1.0) / (2.0 * (a + awd) ** 3)
    phi = torch.arccos(torch.clamp(arg, -1.0, 1.0))
    g = (2.0 / 3.0) * (a + awd) * torch.cos(phi / 3.0) - 2.0 * a / 3.0 + awd / 3.0
    u = torch.where(awd > t, torch.sign(w.double()) * g, torch.zeros_like(awd))
    return u.to(w.dtype)


PROX_OPERATORS = ("l0", "l1", "tl1")


def prox(w: Tensor, penalty: str, lam: float, beta: float, a: float | None = None) -> Tensor:
    """Dispatch to `hard_threshold` ("l0"), `soft_threshold` ("l1") or `tl1_threshold` ("tl1", needs `a`).

    Raises:
        ValueError: unknown `penalty`, "tl1" without `a`, or bad λ, β, a (see the operators).
    """
    if penalty == "l0":
        return hard_threshold(w, lam, beta)
    if penalty == "l1":
        return soft_threshold(w, lam, beta)
    if penalty == "tl1":
        if a is None:
            raise ValueError("penalty='tl1' needs a > 0, got a=None")
        return tl1_threshold(w, lam, beta, a)
    raise ValueError(f"penalty={penalty!r} is not one of {PROX_OPERATORS}")


def penalty_value(w: Tensor, penalty: str, lam: float, a: float | None = None) -> Tensor:
    """λ·P(w) for P = ‖·‖₀ ("l0"), ‖·‖₁ ("l1") or Σρ_a ("tl1"). Scalar.

    Raises:
        ValueError: unknown `penalty`, "tl1" without `a`, λ < 0 or a <= 0.
    """
    if penalty == "l0":
        return l0(w, lam)
    if penalty == "l1":
        return l1(w, lam)
    if penalty == "tl1":
        if a is None:
            raise ValueError("penalty='tl1' needs a > 0, got a=None")
        return tl1(w, lam, a)
    raise ValueError(f"penalty={penalty!r} is not one of {PROX_OPERATORS}")
