"""Penalties and their proximal (thresholding) operators.

Group penalties on a fully connected layer (Yang et al., "Entropy Error-based CNN Sparse Optimization", eqs. 5-7):
the groups are the weight vectors u_k *leaving* input node k, i.e. the columns of the (out, in) weight matrix, so a
zero group prunes input node k.
"""
from __future__ import annotations

import torch

Tensor = torch.Tensor


def _check_alpha(alpha: float) -> float:
    if not alpha > 0:
        raise ValueError(f"alpha={alpha} must be > 0 (the smoothing radius of SL1)")
    return float(alpha)


def _check_lam(lam: float) -> float:
    if not lam >= 0:
        raise ValueError(f"lam={lam} must be >= 0 (the penalty weight)")
    return float(lam)


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

    Args:
        weight: (out, in) matrix; column k is u_k.
        alpha: smoothing radius α > 0 (same unit as the weights).

    Raises:
        ValueError: `alpha` <= 0 or `weight` not 2-D.
    """
    alpha = _check_alpha(alpha)
    if weight.dim() != 2:
        raise ValueError(f"weight must be a 2-D (out, in) matrix, got shape {tuple(weight.shape)}")
    sq = (weight * weight).sum(dim=0)
    outer = torch.sqrt(torch.clamp(sq, min=alpha * alpha))  # clamp keeps sqrt's gradient finite in the unused branch
    inner = sq / (2.0 * alpha) + alpha / 2.0
    return torch.where(sq >= alpha * alpha, outer, inner)


def sl1_grad(weight: Tensor, alpha: float) -> Tensor:
    """Analytic gradient of Σ_k h(u_k, α) w.r.t. `weight` (Yang et al. eq. 6): u/‖u‖ if ‖u‖ ≥ α, else u/α.

    Shape of `weight`, (out, in). Raises ValueError as `sl1_h`.
    """
    alpha = _check_alpha(alpha)
    norms = group_norms(weight)
    scale = torch.where(norms >= alpha, 1.0 / torch.clamp(norms, min=alpha), torch.full_like(norms, 1.0 / alpha))
    return weight * scale.unsqueeze(0)


def sl1(weight: Tensor, lam: float, alpha: float) -> Tensor:
    """λ · Σ_k h(u_k, α): the SL1 term of the total loss E + λ Σ_k h(u_k, α) (Yang et al. eq. 7). Scalar."""
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
