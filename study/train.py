"""One training step for every study (`step`), one pass over the data (`epoch_pass`) and the epoch loop with its
callbacks and evaluations (`fit`): mini-batch SGD (with a momentum schedule) plus hooks. Foundations' step-indexed
momentum training (`study.foundations.train_momentum`) and the throughput benchmark (`throughput`) call `step` too.

Hooks (all optional) are where the science plugs in, each one hop away from the notebook that uses it:

* ``loss_fn(logits, y) -> scalar``       -- the data term (cross-entropy, entropy error, ...), a batch mean;
* ``penalty(model) -> scalar``           -- a regulariser added to the data term (SL1, L1, TL1, RVSM coupling, ...);
* ``after_step(model)``                   -- runs after each optimiser step (proximal/thresholding steps, RVSM's u);
* ``on_epoch_start(epoch)``               -- e.g. to update a loss weight f(epoch);
* ``on_epoch_end(model, epoch) -> dict``  -- extra per-epoch metrics, returned as tidy rows.

`fit` returns tidy rows ``{"epoch", "split", "metric", "value"}`` (see `study.results.tidy`): epoch 0 is the
untrained model, train "loss" is the mean data term over the epoch's batches, "objective" adds the penalty.
A non-finite loss stops the run with `FloatingPointError` naming the epoch and batch.
"""

from __future__ import annotations

import math
import numbers
import os
import random
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from tqdm import tqdm

from . import checks

Tensor = torch.Tensor


def seed_everything(seed: int) -> torch.Generator:
    """Seed Python, NumPy and torch (CPU and CUDA) from one integer; returns a torch.Generator seeded the same.

    Raises:
        ValueError: `seed` not an integer in [0, 2**63).
    """
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool) or not 0 <= seed < 2**63:
        raise ValueError(f"seed={seed!r} must be an integer in [0, 2**63)")
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    g = torch.Generator()
    g.manual_seed(seed)
    return g


def pick_device(device: str = "auto") -> torch.device:
    """ "auto" -> CUDA when available else CPU; otherwise the named device.

    Raises:
        ValueError: "cuda" requested but not available, or an unknown device string.
    """
    if not isinstance(device, (str, torch.device)):
        raise ValueError(f"device={device!r} must be 'auto', 'cpu', 'cuda' or 'cuda:N'")
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(device)
    except RuntimeError as exc:
        raise ValueError(f"device={device!r} is not a torch device ('auto', 'cpu', 'cuda', 'cuda:0')") from exc
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device={device!r} requested but CUDA is not available; use 'auto' or 'cpu'")
    return dev


#: the most torch threads one process is given
MAX_THREADS = checks.CAPS["threads"]


def set_threads(n: int | None = None) -> int:
    """Set torch's intra-op threads (default: `STUDY_THREADS`, else all cores); returns the count in use.

    Raises:
        ValueError: `n` or ``$STUDY_THREADS`` not an integer in [1, `MAX_THREADS`].
    """
    if n is None:
        raw = os.environ.get("STUDY_THREADS", "")
        if raw.strip():
            if not (raw.strip().isascii() and raw.strip().isdigit()) or not 1 <= int(raw) <= MAX_THREADS:
                raise ValueError(f"environment variable STUDY_THREADS={raw!r} must be an integer in [1, {MAX_THREADS}]")
            n = int(raw)
    elif not isinstance(n, int) or isinstance(n, bool) or not 1 <= n <= MAX_THREADS:
        raise ValueError(
            f"threads={n!r} must be an integer in [1, {MAX_THREADS}] (or None: STUDY_THREADS, else all cores)"
        )
    n = n or os.cpu_count() or 1
    torch.set_num_threads(n)
    return torch.get_num_threads()


def momentum_ramp(target: float, ramp_epochs: int) -> Callable[[int], float]:
    """Momentum schedule mu(epoch), epochs counted from 1: linear from target/ramp_epochs up to `target` at epoch
    `ramp_epochs`, constant after (Yang et al. §3(2): momentum 0.2 "gradually increased over the first 20
    iterations"). ``ramp_epochs = 0`` gives a constant `target`.

    Raises:
        ValueError: `target` outside [0, 1) or `ramp_epochs` negative.
    """
    if not 0.0 <= target < 1.0:
        raise ValueError(f"momentum target={target} must be in [0, 1)")
    if ramp_epochs < 0:
        raise ValueError(f"ramp_epochs={ramp_epochs} must be >= 0")
    if ramp_epochs == 0:
        return lambda epoch: target
    return lambda epoch: target * min(1.0, epoch / ramp_epochs)


def momentum_values(momentum: float | Callable[[int], float], epochs: int) -> list[float]:
    """The momentum of epochs 1..`epochs` (a constant, or a schedule mu(epoch) called once per epoch), each checked.

    Raises:
        ValueError: a value that is not a number in [0, 1), naming the epoch and the value (a constant is named
            as ``momentum=...``).
    """
    out = []
    for epoch in range(1, epochs + 1):
        v = momentum(epoch) if callable(momentum) else momentum
        ok = (
            not isinstance(v, bool)
            and isinstance(v, (numbers.Real, Tensor))
            and (not isinstance(v, Tensor) or v.numel() == 1)
        )
        if ok:
            v = float(v)
        if not (ok and 0.0 <= v < 1.0):
            if callable(momentum):
                raise ValueError(
                    f"momentum schedule gives momentum={v!r} at epoch {epoch} (of {epochs}), out of "
                    "range; accepted: a number in [0, 1) at every epoch"
                )
            raise ValueError(f"momentum={v!r} is out of range; accepted: a number in [0, 1) or a schedule mu(epoch)")
        out.append(v)
    return out


def batches(n: int, batch_size: int, generator: torch.Generator | None = None) -> list[Tensor]:
    """Index tensors of one epoch's mini-batches: a random permutation of range(n) (sequential when no generator)
    cut into chunks of `batch_size` (the last one may be shorter)."""
    if batch_size < 1:
        raise ValueError(f"batch_size={batch_size} must be >= 1")
    order = torch.randperm(n, generator=generator) if generator is not None else torch.arange(n)
    return list(order.split(batch_size))


#: evaluation batch: activations of 128 images stay in a CPU core's cache (measured 2026-12-04, one thread: the
#: curve CNN at 32 px 0.30 s per 1,000 images at 128 vs 0.47 s at 2,000; the SL1 LeNet 0.039 s vs 0.093 s per 2,000)
EVAL_BATCH = 128


@torch.inference_mode()
def predict(
    model: nn.Module,
    x: Tensor,
    *,
    batch_size: int = EVAL_BATCH,
    device: torch.device | None = None,
    channels_last: bool = False,
) -> Tensor:
    """Logits for inputs `x` (N, ...) in evaluation mode, batched; returns (N, classes) float32 on the CPU."""
    device = device or next(model.parameters()).device
    was = model.training
    model.eval()
    out = []
    for i in range(0, len(x), batch_size):
        xb = x[i : i + batch_size].to(device, non_blocking=True)
        if channels_last and xb.dim() == 4:
            xb = xb.contiguous(memory_format=torch.channels_last)
        out.append(model(xb).float().cpu())
    model.train(was)
    return torch.cat(out)


@torch.inference_mode()
def evaluate(
    model: nn.Module,
    x: Tensor,
    y: Tensor,
    *,
    loss_fn: Callable[[Tensor, Tensor], Tensor] | None = None,
    batch_size: int = EVAL_BATCH,
    device: torch.device | None = None,
    channels_last: bool = False,
) -> dict[str, float]:
    """Accuracy (fraction in [0, 1]) and mean loss of `model` on (x (N, ...), y (N,) int64)."""
    logits = predict(model, x, batch_size=batch_size, device=device, channels_last=channels_last)
    out = {"accuracy": (logits.argmax(1) == y.cpu()).float().mean().item()}
    if loss_fn is not None:
        out["loss"] = float(loss_fn(logits, y.cpu()))
    return out


class NonFinite(FloatingPointError):
    """A NaN or infinite training objective; `values` holds its first elements (for the caller's message)."""

    def __init__(self, message: str, values: list[float]) -> None:
        super().__init__(message)
        self.values = values


def check_finite(value: Tensor, *, what: str, epoch: int, batch: int) -> None:
    """Raise `NonFinite` (a `FloatingPointError`) if `value` is NaN or infinite (never continue on a silent NaN)."""
    if not torch.isfinite(value).all():
        values = value.detach().flatten()[:4].tolist()
        raise NonFinite(
            f"non-finite {what} ({values}) at epoch {epoch}, batch {batch}: "
            "lower the learning rate or the penalty weight, or check the inputs",
            values,
        )


def step(
    model: nn.Module,
    xb: Tensor,
    yb: Tensor,
    optimizer: torch.optim.Optimizer,
    *,
    loss_fn: Callable[[Tensor, Tensor], Tensor] = F.cross_entropy,
    penalty: Callable[[nn.Module], Tensor] | None = None,
    after_step: Callable[[nn.Module], Any] | None = None,
    epoch: int | float = 0,
    batch: int = 0,
) -> tuple[Tensor, Tensor]:
    """One training step of every study: forward, data term, + penalty, finite check, backward, optimiser step, then
    the `after_step` hook (a proximal or thresholding step, RVSM's u update).

    Args:
        model: in training mode, on the device of `xb`; xb: a mini-batch (B, ...); yb: its labels (B,) int64.
        optimizer: any torch optimiser over the model's parameters (SGD, Adam, §4's `foundations.Momentum`).
        loss_fn, penalty, after_step: the hooks of the module docstring; epoch, batch: where, for the error message.

    Returns:
        (data term, objective): both detached scalars (the objective adds the penalty).

    Raises:
        FloatingPointError: the objective is NaN or infinite (`check_finite`); nothing was updated.
    """
    loss = loss_fn(model(xb), yb)
    obj = loss + penalty(model) if penalty is not None else loss
    check_finite(obj, what="training objective", epoch=int(epoch), batch=batch)
    optimizer.zero_grad(set_to_none=True)
    obj.backward()
    optimizer.step()
    if after_step is not None:
        after_step(model)
    return loss.detach(), obj.detach()


def epoch_pass(
    model: nn.Module,
    x: Tensor,
    y: Tensor,
    optimizer: torch.optim.Optimizer,
    *,
    batch_size: int,
    generator: torch.Generator | None = None,
    channels_last: bool = False,
    epoch: int = 1,
    **hooks: Any,
) -> tuple[float, float]:
    """One pass over (x (N, ...), y (N,)) on their device in mini-batches (`batches`), one `step` each.

    Returns:
        (mean data term, mean objective) over the pass's batches.

    Raises:
        FloatingPointError: as `step`.
    """
    model.train()
    sum_loss = torch.zeros((), device=x.device)
    sum_obj = torch.zeros((), device=x.device)
    n_batches = 0
    for b, idx in enumerate(batches(len(x), batch_size, generator)):
        idx = idx.to(x.device)
        xb = x[idx]
        if channels_last and xb.dim() == 4:
            xb = xb.contiguous(memory_format=torch.channels_last)
        loss, obj = step(model, xb, y[idx], optimizer, epoch=epoch, batch=b, **hooks)
        sum_loss += loss
        sum_obj += obj
        n_batches += 1
    return sum_loss.item() / n_batches, sum_obj.item() / n_batches


def fit(
    model: nn.Module,
    x: Tensor,
    y: Tensor,
    *,
    epochs: int,
    batch_size: int,
    lr: float,
    momentum: float | Callable[[int], float] = 0.0,
    weight_decay: float = 0.0,
    loss_fn: Callable[[Tensor, Tensor], Tensor] = F.cross_entropy,
    penalty: Callable[[nn.Module], Tensor] | None = None,
    after_step: Callable[[nn.Module], Any] | None = None,
    on_epoch_start: Callable[[int], Any] | None = None,
    on_epoch_end: Callable[[nn.Module, int], dict[str, float] | None] | None = None,
    eval_sets: dict[str, tuple[Tensor, Tensor]] | None = None,
    optimizer: torch.optim.Optimizer | None = None,
    generator: torch.Generator | None = None,
    device: torch.device | str = "cpu",
    channels_last: bool = False,
    eval_at_start: bool = True,
    eval_last_only: bool = False,
    progress: bool = True,
    desc: str = "train",
) -> list[dict[str, Any]]:
    """Train `model` in place by mini-batch SGD on (x, y) and return the history as tidy rows: the epoch loop over
    `epoch_pass` (one `step` per batch) with its callbacks and evaluations.

    Args:
        model: the network; moved to `device`.
        x: inputs, float32 (N, C, H, W) or (N, D); y: int64 labels (N,). Kept in memory, sliced per batch.
        epochs: passes over the data (>= 1); batch_size: examples per step (>= 1); lr: learning rate (> 0).
        momentum: a constant in [0, 1) or a schedule mu(epoch) (epochs from 1), e.g. `momentum_ramp`.
        weight_decay: L2 coefficient handed to SGD (the "L2" baseline).
        loss_fn, penalty, after_step, on_epoch_start, on_epoch_end: callbacks (module docstring).
        eval_sets: {"val": (x, y), "test": (x, y), ...} evaluated after every epoch (accuracy, loss), and before
            the first when `eval_at_start`; with `eval_last_only` after the last epoch alone (runs whose curves
            nobody reads: the evaluation costs about as much as the training at 10 epochs of 1,800 images).
        optimizer: use this instead of SGD(lr, momentum, weight_decay); the momentum schedule is then not applied.
        generator: seeded source of the batch order (see `seed_everything`).
        channels_last: NHWC memory format for 4-D inputs (faster convolutions on CPU for some models).

    Returns:
        list of {"epoch", "split", "metric", "value"}; metrics: train loss/objective, <split> accuracy/loss,
        "-" epoch_time_s, plus whatever `on_epoch_end` returns (split "-").

    Raises:
        ValueError: a bad argument (names it and the accepted range); a momentum schedule is checked at every
            epoch 1..`epochs` before training starts (the message names the epoch and the value).
        FloatingPointError: the loss became NaN or infinite.
    """
    if not isinstance(epochs, numbers.Integral) or isinstance(epochs, bool) or epochs < 1:
        raise ValueError(f"epochs={epochs!r} is out of range; accepted: an integer >= 1")
    if not (isinstance(lr, numbers.Real) and not isinstance(lr, bool) and math.isfinite(lr) and lr > 0):
        raise ValueError(f"lr={lr!r} is out of range; accepted: a finite number > 0")
    if not isinstance(batch_size, numbers.Integral) or isinstance(batch_size, bool) or batch_size < 1:
        raise ValueError(f"batch_size={batch_size!r} is out of range; accepted: an integer >= 1")
    if len(x) != len(y):
        raise ValueError(f"x has {len(x)} rows but y has {len(y)}")
    mus = momentum_values(momentum, epochs) if optimizer is None else None
    device = torch.device(device)
    model.to(device)
    if channels_last:
        model.to(memory_format=torch.channels_last)
    if optimizer is None:
        optimizer = torch.optim.SGD(model.parameters(), lr=lr, momentum=mus[0], weight_decay=weight_decay)
    eval_sets = eval_sets or {}
    xd, yd = x.to(device), y.to(device)
    rows: list[dict[str, Any]] = []

    def record(epoch: int) -> dict[str, float]:
        shown = {}
        for split, (xe, ye) in eval_sets.items():
            res = evaluate(model, xe, ye, loss_fn=loss_fn, device=device, channels_last=channels_last)
            for k, v in res.items():
                rows.append({"epoch": epoch, "split": split, "metric": k, "value": v})
            shown[f"{split}_acc"] = res["accuracy"]
        return shown

    if eval_at_start and not eval_last_only:
        record(0)
    bar = tqdm(range(1, epochs + 1), desc=desc, disable=not progress, leave=True, mininterval=1.0)
    for epoch in bar:
        t0 = time.perf_counter()
        if on_epoch_start is not None:
            on_epoch_start(epoch)
        if mus is not None:
            for g in optimizer.param_groups:
                g["momentum"] = mus[epoch - 1]
        loss, obj = epoch_pass(
            model, xd, yd, optimizer, batch_size=batch_size, generator=generator, channels_last=channels_last,
            epoch=epoch, loss_fn=loss_fn, penalty=penalty, after_step=after_step,
        )  # fmt: skip
        rows += [
            {"epoch": epoch, "split": "train", "metric": "loss", "value": loss},
            {"epoch": epoch, "split": "train", "metric": "objective", "value": obj},
            {"epoch": epoch, "split": "-", "metric": "epoch_time_s", "value": time.perf_counter() - t0},
        ]
        shown = record(epoch) if epoch == epochs or not eval_last_only else {}
        if on_epoch_end is not None:
            for k, v in (on_epoch_end(model, epoch) or {}).items():
                rows.append({"epoch": epoch, "split": "-", "metric": k, "value": float(v)})
        bar.set_postfix(loss=f"{loss:.4f}", **{k: f"{v:.4f}" for k, v in shown.items()})
    return rows


def throughput(
    model: nn.Module,
    x: Tensor,
    y: Tensor,
    *,
    batch_size: int,
    steps: int = 20,
    warmup: int = 3,
    lr: float = 0.01,
    momentum: float = 0.0,
    channels_last: bool = False,
    device: torch.device | str = "cpu",
    loss_fn: Callable[[Tensor, Tensor], Tensor] = F.cross_entropy,
    penalty: Callable[[nn.Module], Tensor] | None = None,
    after_step: Callable[[nn.Module], Any] | None = None,
) -> float:
    """Training throughput in images per second of `step` (SGD) on `model` (a benchmark helper, not a test).

    Uses the first `batch_size` rows of (x, y) repeatedly; `warmup` steps are not timed.
    """
    device = torch.device(device)
    model = model.to(device)
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
    opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=momentum)
    xb, yb = x[:batch_size].to(device), y[:batch_size].to(device)
    if channels_last and xb.dim() == 4:
        xb = xb.contiguous(memory_format=torch.channels_last)
    t0 = 0.0
    for i in range(warmup + steps):
        if i == warmup:
            if device.type == "cuda":
                torch.cuda.synchronize()
            t0 = time.perf_counter()
        step(model, xb, yb, opt, loss_fn=loss_fn, penalty=penalty, after_step=after_step, batch=i)
    if device.type == "cuda":
        torch.cuda.synchronize()
    return steps * len(xb) / (time.perf_counter() - t0)


def cos_init(initial: torch.Tensor, final: torch.Tensor) -> float:
    """Cosine similarity of a layer's final and initial weights (issue 17's training check).

    Scale-free, so it survives any rescaling of the layer (e.g. RVSM's max|w| normalisation): 1 means the layer
    did not move in direction; ``1 - cos_init`` is how far it trained. Both tensors are flattened (any shape, same
    number of elements).

    Returns:
        a float in [-1, 1]; 1.0 when both are zero, 0.0 when exactly one is.

    Raises:
        ValueError: the two tensors have different numbers of elements, or a non-finite value.
    """
    a = initial.detach().reshape(-1).double()
    b = final.detach().reshape(-1).double()
    if a.numel() != b.numel():
        raise ValueError(f"initial has {a.numel()} weights, final {b.numel()}: not the same layer")
    if not (torch.isfinite(a).all() and torch.isfinite(b).all()):
        raise ValueError("cos_init: a non-finite weight")
    na, nb = float(a.norm()), float(b.norm())
    if na == 0.0 and nb == 0.0:
        return 1.0
    if na == 0.0 or nb == 0.0:
        return 0.0
    return max(-1.0, min(1.0, float(a @ b) / (na * nb)))
