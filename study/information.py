"""Rényi's α-order matrix-based entropy functional and the mutual information built on it, in **bits**.

Sources: Sánchez Giraldo, Rao & Príncipe, "Measures of entropy from data using infinitely divisible kernels",
IEEE Trans. Inf. Theory 61(1), 2014; Yu & Príncipe, "Understanding autoencoders with information theoretic
concepts", Neural Networks 117, 2019; used as in Zaugg, Ingold, Trendafilov & Fischer, "Cross-Entropy
Regularization with Mutual Information in Training CNNs", WIVACE 2024 (equation numbers below are theirs).
One formula per function (in the spirit of repitl's ``matrix_itl.py``):

* `pairwise_sq_distances` ‖a_i − a_j‖²                              (inside eq. 2)
* `gram_matrix`           K_ij = exp(−‖a_i − a_j‖² / s²)             eq. 2  (**s², not 2σ²**: s = √2·σ)
* `normalize_gram`        A_ij = K_ij / √(K_ii K_jj), then A / tr(A)  eq. 3 (+ unit trace)
* `label_gram`            K^Y_ij = 1[y_i = y_j]  (= the Gram matrix of one-hot rows for any width)
* `renyi_entropy`         H_α(A) = 1/(1−α) · log₂ Σ_i λ_i(A)^α        eq. 4
* `joint_entropy`         H_α(A, B) = H_α(A∘B / tr(A∘B))              eq. 5
* `mutual_information`    I_α(A; B) = H_α(A) + H_α(B) − H_α(A, B)     eq. 6
* `kernel_target_alignment`  ⟨K, K_Y⟩_F / (‖K‖_F ‖K_Y‖_F)           (Cristianini et al. 2001; §3.2)
* `alignment_curve`, `width_search`  s* over 100 equidistant candidate widths (§3.2, Fig. 1)
* `silverman_width`       Silverman's rule of thumb, in the s convention
* `transition_factor`, `mi_regularized_loss`  f(epoch) = (1 + epoch)^−0.5 and L = f·CE − (1 − f)·I(Y;Ŷ)  eq. 7

Everything is differentiable (used inside the loss) and batched: a leading batch shape ``...`` on the (..., N, D)
rows or (..., N, N) matrices is carried through; eigenvalues come from `torch.linalg.eigvalsh`, whose backward needs
only the eigenvectors' outer products (no 1/(λ_i − λ_j) terms), so repeated rows (repeated eigenvalues) keep finite
gradients. Gram matrices are built in float64 from float32 activations (the cast is differentiable); entropies are
returned in float64. Cost: O(N²·D) for a Gram matrix, O(N³) per eigendecomposition.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

import torch
import torch.nn.functional as F

Tensor = torch.Tensor

#: α of the paper (§3.1, "using α = 1.01").
ALPHA = 1.01
#: Eigenvalues at or below this count fully in the value of H_α but get no gradient (`_power_sum_entropy`).
EIG_TINY = 1e-12


# ------------------------------------------------------------------------------------------------------ validation
def _check_alpha(alpha: float) -> float:
    try:
        a = float(alpha)
    except (TypeError, ValueError):
        raise ValueError(f"alpha={alpha!r} must be a real number > 0 (α = 1: the von Neumann limit)") from None
    if not (math.isfinite(a) and 0 < a <= ALPHA_MAX):
        raise ValueError(
            f"alpha={alpha!r} must be a real number in (0, {ALPHA_MAX:g}] (α = 1: the von Neumann limit; "
            f"beyond {ALPHA_MAX:g}, λ^α of the eigenvalues of an N-sample Gram matrix, λ ≥ 1/N, can "
            "underflow float64)"
        )
    return a


#: the largest Rényi order accepted (`_check_alpha`); the papers use α = 1.01
ALPHA_MAX = 10.0


def _check_width(width: float | Tensor, name: str = "width") -> Tensor:
    w = torch.as_tensor(width, dtype=torch.float64)
    if w.numel() == 0 or not bool(torch.isfinite(w).all()) or not bool((w > 0).all()):
        shown = w.flatten()[:5].tolist() if w.numel() else "[]"
        raise ValueError(f"{name}={shown} must be finite and > 0 (the s of exp(-d²/s²))")
    return w


def _check_square(m: Tensor, name: str) -> None:
    if m.dim() < 2 or m.shape[-1] != m.shape[-2]:
        raise ValueError(f"{name} must be a (..., N, N) matrix, got shape {tuple(m.shape)}")


def _check_pair(a: Tensor, b: Tensor, names: tuple[str, str]) -> None:
    """Both (..., N, N) Gram matrices of one batch (the same N)."""
    _check_square(a, names[0])
    _check_square(b, names[1])
    if a.shape[-1] != b.shape[-1]:
        raise ValueError(f"{names[0]} and {names[1]} must describe the same batch: N={a.shape[-1]} vs N={b.shape[-1]}")


def _rows(x: Tensor) -> Tensor:
    """(..., N, D) float64 rows; a (N,) vector becomes (N, 1)."""
    if x.dim() == 1:
        x = x[:, None]
    return x.to(torch.float64)


# ------------------------------------------------------------------------------------------------- Gram matrices
def pairwise_sq_distances(x: Tensor) -> Tensor:
    """Squared Euclidean distances ‖a_i − a_j‖² between the rows of `x`.

    Args:
        x: (..., N, D) rows (any float dtype; a (N,) vector is one feature per row). Layers with more dimensions
            must be flattened by the caller, e.g. ``x.flatten(1)``.

    Returns:
        (..., N, N) float64, symmetric, zero diagonal, ≥ 0; entries below the formula's round-off are exactly 0 (no
        sqrt: finite gradients for repeated rows).
    """
    x = _rows(x)
    sq = (x * x).sum(-1)
    norms = sq[..., :, None] + sq[..., None, :]
    d = norms - 2.0 * (x @ x.transpose(-1, -2))
    # below the cancellation error of this formula (~eps·(‖a_i‖² + ‖a_j‖²)) a distance cannot be told from 0:
    # set it to exactly 0 (identical rows far from the origin would otherwise give K_ij = 1 − 1e-11 and spurious
    # eigenvalues of ~1e-13, which α < 1 amplifies)
    d = torch.where(d > 8 * torch.finfo(torch.float64).eps * norms, d, torch.zeros_like(d))
    n = d.shape[-1]
    eye = torch.eye(n, dtype=torch.bool, device=d.device)
    return d.masked_fill(eye, 0.0)


def gram_matrix(x: Tensor, width: float | Tensor) -> Tensor:
    """Gaussian Gram matrix, Zaugg et al. eq. 2: K_ij = exp(−‖a_i − a_j‖² / s²).

    Convention: the width enters as **s²** (not 2σ²): s = √2·σ of the usual exp(−d²/(2σ²)) kernel.

    Args:
        x: (..., N, D) rows.
        width: s > 0, a float or a tensor broadcast against the leading batch shape (a (S,) tensor with a (N, D)
            `x` gives S matrices (S, N, N), one per candidate width).

    Returns:
        float64 (..., N, N) with unit diagonal.

    Raises:
        ValueError: a width that is not finite and > 0.
    """
    s = _check_width(width).to(x.device)
    d = pairwise_sq_distances(x)
    return torch.exp(-d / (s * s)[..., None, None])


def normalize_gram(k: Tensor) -> Tensor:
    """Eq. 3 and unit trace: A_ij = K_ij / √(K_ii K_jj), then A / tr(A), so that tr(A) = 1.

    Args:
        k: (..., N, N) symmetric positive semi-definite, positive diagonal.

    Returns:
        (..., N, N), same dtype; its eigenvalues are ≥ 0 and sum to 1.

    Raises:
        ValueError: not square, or a diagonal entry ≤ 0.
    """
    _check_square(k, "k")
    diag = torch.diagonal(k, dim1=-2, dim2=-1)
    if not bool((diag > 0).all()):
        raise ValueError("normalize_gram: the Gram matrix has a diagonal entry <= 0 (cannot normalise by √(K_ii K_jj))")
    r = diag.rsqrt()
    a = k * r[..., :, None] * r[..., None, :]
    return a / torch.diagonal(a, dim1=-2, dim2=-1).sum(-1)[..., None, None]


def label_gram(y: Tensor, num_classes: int | None = None) -> Tensor:
    """Label Gram matrix K^Y_ij = 1[y_i = y_j] (§3.2), float64 (..., N, N).

    Equals the Gaussian Gram matrix of one-hot rows for s → 0, and its normalised form does not depend on s for
    any s small against √2, the distance between two one-hot rows.

    Args:
        y: (..., N) integer class labels, or (..., N, C) one-hot / probability rows (then K^Y = Y Yᵀ as 0/1 after
            taking the arg-max; `num_classes` is ignored).
    """
    if y.is_floating_point() and y.dim() >= 2:
        y = y.argmax(-1)
    y = y.long()
    return (y[..., :, None] == y[..., None, :]).to(torch.float64)


# --------------------------------------------------------------------------------------------------- entropies
def _power_sum_entropy(lam: Tensor, alpha: float) -> Tensor:
    """H_α in bits from eigenvalues (..., N) that sum to 1.

    **Value**: every eigenvalue above the eigensolver's round-off, N · eps(float64) · max λ (`roundoff_level`; below
    it a computed eigenvalue is noise around an exact 0 of a rank-deficient matrix, and counting the noise would add
    up to N · (noise)^α for α < 1). No fixed floor: dropping every λ ≤ 1e-12 biased H and I low by up to ~1e-5 bits
    for α < 1 on low-dimensional data. **Gradient**: only eigenvalues > `EIG_TINY` get one; smaller ones enter
    through a detached term, so the unbounded derivative α·λ^(α−1) (α < 1) or log λ (α = 1) at λ → 0 never reaches
    the backward pass.
    """
    lam = lam.clamp_min(0.0)
    resolved = lam > roundoff_level(lam)
    keep = lam > EIG_TINY
    safe = torch.where(keep, lam, torch.ones_like(lam))
    tiny = torch.where(resolved & ~keep, lam, torch.zeros_like(lam)).detach()  # value only, no gradient
    tiny_pos = torch.where(tiny > 0, tiny, torch.ones_like(tiny))
    if alpha == 1.0:  # von Neumann limit: −Σ λ log₂ λ
        h = -(torch.where(keep, safe * torch.log2(safe), torch.zeros_like(lam))).sum(-1)
        return h - torch.where(tiny > 0, tiny_pos * torch.log2(tiny_pos), torch.zeros_like(tiny)).sum(-1)
    s = torch.where(keep, safe.pow(alpha), torch.zeros_like(lam)).sum(-1)
    s = s + torch.where(tiny > 0, tiny_pos.pow(alpha), torch.zeros_like(tiny)).sum(-1)
    if not bool(torch.isfinite(s).all() and (s > 0).all()):
        raise FloatingPointError(
            f"Σλ^α = {s.detach().flatten()[:3].tolist()} at alpha={alpha!r}: the power sum "
            "under- or overflowed float64 (a smaller alpha, or fewer samples per Gram matrix)"
        )
    return torch.log2(s) / (1.0 - alpha)


def roundoff_level(lam: Tensor) -> Tensor:
    """N · eps(float64) · max λ, shape (..., 1): the absolute accuracy of `torch.linalg.eigvalsh` on a symmetric
    (..., N, N) matrix with eigenvalues `lam` (..., N); a computed eigenvalue below it cannot be told from 0."""
    return lam.shape[-1] * torch.finfo(torch.float64).eps * lam.detach().abs().amax(-1, keepdim=True)


def renyi_entropy(a: Tensor, alpha: float = ALPHA) -> Tensor:
    """Rényi's α-order matrix-based entropy, Zaugg et al. eq. 4: H_α(A) = 1/(1−α) · log₂ Σ_i λ_i(A)^α, in bits.

    Args:
        a: (..., N, N) normalised Gram matrix (unit trace, PSD; see `normalize_gram`). Eigenvalues by
            `torch.linalg.eigvalsh` in float64; tiny negative ones (round-off) are clamped to 0.
        alpha: order α > 0; α = 1 gives the von Neumann limit −Σ λ log₂ λ. Default 1.01 (the paper's).

    Returns:
        (...) float64 entropies in bits, 0 ≤ H ≤ log₂ N.

    Raises:
        ValueError: α not a finite number > 0, or `a` not square.
    """
    alpha = _check_alpha(alpha)
    _check_square(a, "a")
    lam = torch.linalg.eigvalsh(a.to(torch.float64))
    return _power_sum_entropy(lam, alpha)


def renyi_entropy_of_distribution(p: Tensor, alpha: float = ALPHA) -> Tensor:
    """Rényi entropy of a discrete distribution, H_α(p) = 1/(1−α) log₂ Σ p_k^α, in bits (α = 1: Shannon).

    The reference value for a label Gram matrix (its eigenvalues are the class proportions).

    Raises:
        ValueError: bad α, or `p` negative or not summing to 1 (within 1e-6).
    """
    alpha = _check_alpha(alpha)
    p = torch.as_tensor(p, dtype=torch.float64)
    if bool((p < 0).any()) or not torch.allclose(p.sum(-1), torch.ones((), dtype=torch.float64), atol=1e-6):
        raise ValueError("p must be non-negative and sum to 1 along its last axis")
    return _power_sum_entropy(p, alpha)


def hadamard_normalize(a: Tensor, b: Tensor) -> Tensor:
    """A∘B / tr(A∘B), the matrix whose entropy is the joint entropy (eq. 5). Shapes broadcast: (..., N, N).

    Raises:
        ValueError: not square, or the sizes N differ.
    """
    _check_pair(a, b, ("a", "b"))
    ab = a.to(torch.float64) * b.to(torch.float64)
    return ab / torch.diagonal(ab, dim1=-2, dim2=-1).sum(-1)[..., None, None]


def joint_entropy(a: Tensor, b: Tensor, alpha: float = ALPHA) -> Tensor:
    """Joint entropy, Zaugg et al. eq. 5: H_α(A, B) = H_α(A∘B / tr(A∘B)), in bits, (...).

    Raises:
        ValueError: bad α, non-square or mismatched matrices.
    """
    return renyi_entropy(hadamard_normalize(a, b), alpha)


def mutual_information(a: Tensor, b: Tensor, alpha: float = ALPHA) -> Tensor:
    """Mutual information, Zaugg et al. eq. 6: I_α(A; B) = H_α(A) + H_α(B) − H_α(A, B), in bits, (...).

    For normalised infinitely divisible kernels 0 ≤ I ≤ min(H(A), H(B)) (Sánchez Giraldo et al. 2014, Prop. 4.1 /
    Cor. 4.2 for the joint entropy bounds); I(A; A) = H(A) only when A∘A ∝ A (0/1 kernels such as `label_gram`): for
    a Gaussian A, A∘A is the Gram matrix at width s/√2.

    Raises:
        ValueError: bad α, non-square or mismatched matrices.
    """
    return renyi_entropy(a, alpha) + renyi_entropy(b, alpha) - joint_entropy(a, b, alpha)


def mi_with_labels(t: Tensor, y: Tensor, width: float | Tensor, alpha: float = ALPHA) -> Tensor:
    """I_α(Y; T) in bits between labels `y` (..., N) and a layer's rows `t` (..., N, D) at kernel width s = `width`.

    The label side is `label_gram` (one-hot rows), the layer side `normalize_gram(gram_matrix(t, width))`.

    Raises:
        ValueError: bad α or width, or `t` and `y` with different N.
    """
    t = _rows(t)
    if t.shape[-2] != y.shape[-1]:
        raise ValueError(f"t has N={t.shape[-2]} rows but y has N={y.shape[-1]} labels")
    return mutual_information(normalize_gram(label_gram(y).to(t.device)), normalize_gram(gram_matrix(t, width)), alpha)


# ------------------------------------------------------------------------------------------------- kernel width
def kernel_target_alignment(k: Tensor, k_y: Tensor) -> Tensor:
    """Kernel-target alignment (Cristianini et al. 2001): ⟨K, K_Y⟩_F / (‖K‖_F ‖K_Y‖_F), in [0, 1] for K, K_Y ≥ 0.

    O(N²) elementwise sums (no matrix product). Shapes broadcast: (..., N, N) -> (...).

    Raises:
        ValueError: not square, or the sizes N differ.
    """
    _check_pair(k, k_y, ("k", "k_y"))
    k, k_y = k.to(torch.float64), k_y.to(torch.float64)
    num = (k * k_y).sum((-2, -1))
    return num / (k.pow(2).sum((-2, -1)).sqrt() * k_y.pow(2).sum((-2, -1)).sqrt())


def candidate_widths(low: float, high: float, n: int = 100) -> Tensor:
    """`n` equidistant candidate widths s in [low, high] (§3.2, Fig. 1: "100 equidistant kernel width candidates").

    Raises:
        ValueError: low ≤ 0, high ≤ low, a non-finite bound, or n < 2.
    """
    if not (math.isfinite(low) and math.isfinite(high) and 0 < low < high):
        raise ValueError(f"widths interval [low={low}, high={high}] must satisfy 0 < low < high < inf")
    if n < 2:
        raise ValueError(f"n={n} candidate widths must be >= 2")
    return torch.linspace(low, high, n, dtype=torch.float64)


def alignment_curve(t: Tensor, y: Tensor, widths: Tensor) -> Tensor:
    """Alignment between the label Gram matrix of `y` (N,) and the Gram matrix of `t` (N, D) at every candidate
    width in `widths` (S,) -> (S,) in [0, 1]. One batch; average over batches for the batch-mean of Fig. 1.

    Raises:
        ValueError: a width not finite and > 0.
    """
    widths = _check_width(widths, "widths").to(t.device).reshape(-1)
    d = pairwise_sq_distances(t.detach())
    k = torch.exp(-d[None] / (widths * widths)[:, None, None])
    return kernel_target_alignment(k, label_gram(y).to(t.device)[None])


@dataclass
class WidthSearch:
    """Result of `width_search`: the candidates (S,), the batch-mean alignment per candidate (S,) and the maximiser."""

    widths: Tensor
    alignment: Tensor
    best: float


def width_search(batches: Iterable[tuple[Tensor, Tensor]], widths: Tensor) -> WidthSearch:
    """s maximising the batch-mean kernel-target alignment between labels and a layer (§3.2; one grey curve and its
    black dot of Fig. 1).

    Args:
        batches: (t (N, D), y (N,)) pairs, e.g. one evaluation pass of the prediction layer.
        widths: (S,) candidate widths (`candidate_widths`).

    Raises:
        ValueError: no batch, or a bad width.
    """
    curves = [alignment_curve(t, y, widths) for t, y in batches]
    if not curves:
        raise ValueError("width_search needs at least one (t, y) batch")
    mean = torch.stack(curves).mean(0).cpu()
    w = torch.as_tensor(widths, dtype=torch.float64).reshape(-1).cpu()
    return WidthSearch(w, mean, float(w[int(mean.argmax())]))


def silverman_width(t: Tensor) -> float:
    """Silverman's rule of thumb (Silverman 1986, eq. 4.14, a Gaussian kernel in d dimensions), as our s:
    σ = σ̂ · (4 / ((d + 2) N))^(1/(d + 4)) with σ̂ the mean per-dimension standard deviation, and s = √2 · σ
    (because eq. 2 divides by s², not 2σ²).

    Args:
        t: (N, D) rows of one batch (N ≥ 2).

    Raises:
        ValueError: fewer than two rows, or all rows identical (σ̂ = 0).
    """
    t = _rows(t.detach())
    n, d = t.shape[-2], t.shape[-1]
    if n < 2:
        raise ValueError(f"silverman_width needs N >= 2 rows, got {n}")
    sigma_hat = float(t.std(dim=-2).mean())
    if not sigma_hat > 0:
        raise ValueError("silverman_width: all rows are identical (zero spread)")
    sigma = sigma_hat * (4.0 / ((d + 2) * n)) ** (1.0 / (d + 4))
    return math.sqrt(2.0) * sigma


# --------------------------------------------------------------------------------------- the regularised loss (eq. 7)
def transition_factor(epoch: int, power: float = 0.5) -> float:
    """f(epoch) = (1 + epoch)^(−power), epochs counted from 0 (so f(0) = 1: L starts as pure cross-entropy). Eq. 7.

    Raises:
        ValueError: negative epoch or power.
    """
    if epoch < 0:
        raise ValueError(f"epoch={epoch} must be >= 0 (counted from 0)")
    if power < 0:
        raise ValueError(f"power={power} must be >= 0")
    return float((1.0 + epoch) ** (-power))


def prediction_rows(logits: Tensor, layer: str = "softmax") -> Tensor:
    """The rows of the prediction layer Ŷ used for the kernel: "softmax" probabilities or raw "logits" (N, C).

    Raises:
        ValueError: unknown `layer`.
    """
    if layer == "softmax":
        return F.softmax(logits, dim=-1)
    if layer == "logits":
        return logits
    raise ValueError(f"layer={layer!r} must be 'softmax' or 'logits'")


def mi_regularized_loss(
    logits: Tensor, y: Tensor, *, f: float, width: float, alpha: float = ALPHA, layer: str = "softmax"
) -> tuple[Tensor, Tensor, Tensor]:
    """Zaugg et al. eq. 7 on one batch: L = f · CE − (1 − f) · I_α(Y; Ŷ).

    Args:
        logits: (N, C) network outputs; y: (N,) int64 labels.
        f: the transition factor in [0, 1] (`transition_factor`).
        width: s of the prediction layer's kernel; layer: what Ŷ is (`prediction_rows`).

    Returns:
        (L, CE, I) scalars: L in mixed units (CE in nats, I in bits, as the paper adds them), CE in nats
        (batch mean), I in bits. L is float32 (the logits' dtype), differentiable.

    Raises:
        ValueError: f outside [0, 1], bad width or α.
    """
    if not 0.0 <= f <= 1.0:
        raise ValueError(f"f={f} must be in [0, 1]")
    ce = F.cross_entropy(logits, y)
    mi = mi_with_labels(prediction_rows(logits, layer), y, width, alpha)
    loss = f * ce - (1.0 - f) * mi.to(ce.dtype)
    return loss, ce, mi
