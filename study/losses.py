"""Data terms of the training objective, each a batch mean over examples.

* `entropy_error` -- Yang et al. eq. (4): the "entropy error function", i.e. the binary cross-entropy of each of the
  C sigmoid outputs against the one-hot target, summed over the C outputs (nats per example).
* `cross_entropy` -- soft-max cross-entropy -log p_y (nats per example); Tomasi §2.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

Tensor = torch.Tensor


def entropy_error(logits: Tensor, y: Tensor) -> Tensor:
    """Entropy error (Yang et al. eq. 4): -Σ_c [t_c log σ(z_c) + (1 - t_c) log(1 - σ(z_c))], mean over the batch.

    Args:
        logits: (N, C) pre-sigmoid outputs z; y: (N,) int64 class indices in [0, C).
    Returns:
        scalar, nats per example (computed from logits, numerically stable).
    """
    target = F.one_hot(y, logits.shape[1]).to(logits.dtype)
    return F.binary_cross_entropy_with_logits(logits, target, reduction="sum") / logits.shape[0]


def cross_entropy(logits: Tensor, y: Tensor) -> Tensor:
    """Soft-max cross-entropy -log softmax(z)_y, mean over the batch (nats). logits (N, C), y (N,) int64."""
    return F.cross_entropy(logits, y)


LOSSES: dict[str, Callable[[Tensor, Tensor], Tensor]] = {"entropy_error": entropy_error, "cross_entropy": cross_entropy}


def get(name: str) -> Callable[[Tensor, Tensor], Tensor]:
    """The loss called `name` ("entropy_error" or "cross_entropy").

    Raises:
        ValueError: unknown `name`.
    """
    if name not in LOSSES:
        raise ValueError(f"loss={name!r} is not one of {sorted(LOSSES)}")
    return LOSSES[name]
