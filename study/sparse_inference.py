"""The measured pay-off of a sparse dense layer: storage and inference time in CSR against the dense matrix
(issue 11 item 3; Xue & Xin §3 motivate sparsity by efficiency but measure none).

A trained RVSM dense layer u (out, in) with many exact zeros is stored in compressed sparse row (CSR) form: the
non-zero values, their column indices and one row pointer per row (+1). We report

* bytes: dense = out·in·v; CSR = nnz·(v + i) + (out + 1)·i, with v the value size (4 bytes for float32) and i the
  index size (8 bytes for torch's int64 indices, 4 for scipy's int32) -- `csr_bytes` is the formula,
  `csr_bytes_of` counts the arrays actually allocated;
* time of the layer's forward y = x·uᵀ + b at batch 1 and batch 64, dense (`torch.nn.functional.linear`) against
  CSR (torch ``sparse_csr`` @ xᵀ, and scipy.sparse ``csr_matrix`` @ xᵀ), median of repeated calls;
* the break-even sparsity on this machine: the smallest sparsity of a sweep at which CSR is not slower than dense
  (`breakeven`), from random matrices of the layer's shape with a given fraction of zeros.

Timings are measurements of this machine and its load, not claims: they go to the notebook's tables, the headline
metrics and ``benchmarks/sparse_inference.py``, never to a test.
"""

from __future__ import annotations

import contextlib
import time
import warnings
from collections.abc import Callable, Iterator, Sequence

import numpy as np
import pandas as pd
import scipy.sparse as sp
import torch
import torch.nn.functional as F

Tensor = torch.Tensor
BACKENDS = ("dense", "torch_csr", "scipy_csr")


def _check_matrix(weight: Tensor) -> Tensor:
    if not isinstance(weight, Tensor) or weight.dim() != 2 or not weight.is_floating_point():
        raise ValueError(
            f"weight must be a 2-D floating-point tensor (out, in), got {getattr(weight, 'shape', type(weight))}"
        )
    return weight.detach().cpu().contiguous()


def to_csr(weight: Tensor) -> Tensor:
    """The (out, in) weight as a torch CSR tensor holding only its non-zero entries (int64 indices).

    Raises:
        ValueError: `weight` not a 2-D floating-point tensor.
    """
    with warnings.catch_warnings():  # "sparse CSR support is in beta" (torch), once per process otherwise
        warnings.simplefilter("ignore", UserWarning)
        return _check_matrix(weight).to_sparse_csr()


def to_scipy_csr(weight: Tensor) -> sp.csr_matrix:
    """The (out, in) weight as a scipy.sparse CSR matrix (explicit zeros dropped; int32 indices)."""
    m = sp.csr_matrix(_check_matrix(weight).numpy())
    m.eliminate_zeros()
    return m


def csr_bytes(n_rows: int, nnz: int, *, value_bytes: int = 4, index_bytes: int = 8) -> int:
    """CSR storage in bytes: nnz·(value_bytes + index_bytes) + (n_rows + 1)·index_bytes (values, column indices,
    row pointers).

    Raises:
        ValueError: a negative count or a non-positive size.
    """
    if n_rows < 0 or nnz < 0 or value_bytes < 1 or index_bytes < 1:
        raise ValueError(f"n_rows={n_rows}, nnz={nnz} must be >= 0 and sizes >= 1")
    return nnz * (value_bytes + index_bytes) + (n_rows + 1) * index_bytes


def dense_bytes(weight: Tensor) -> int:
    """Bytes of the dense matrix: numel · element size."""
    return weight.numel() * weight.element_size()


def csr_bytes_of(m: Tensor | sp.csr_matrix) -> int:
    """Bytes actually held by a torch CSR tensor (crow, col, values) or a scipy CSR matrix (indptr, indices, data)."""
    if isinstance(m, sp.csr_matrix):
        return int(m.indptr.nbytes + m.indices.nbytes + m.data.nbytes)
    if not (isinstance(m, Tensor) and m.layout == torch.sparse_csr):
        raise ValueError(f"expected a torch sparse_csr tensor or scipy csr_matrix, got {type(m).__name__}")
    return sum(t.numel() * t.element_size() for t in (m.crow_indices(), m.col_indices(), m.values()))


def forward_fns(weight: Tensor, bias: Tensor | None = None) -> dict[str, Callable[[Tensor], Tensor]]:
    """The layer's forward y = x·Wᵀ + b, x (B, in) float32 → (B, out), for each backend of `BACKENDS`.

    All three compute the same function (up to float rounding); only the storage of W differs.
    """
    w = _check_matrix(weight)
    b = torch.zeros(w.shape[0], dtype=w.dtype) if bias is None else bias.detach().cpu()
    csr, sc = to_csr(w), to_scipy_csr(w)
    bn = b.numpy()[:, None]

    def dense(x: Tensor) -> Tensor:
        return F.linear(x, w, b)

    def torch_csr(x: Tensor) -> Tensor:
        return (csr @ x.T).T + b

    def scipy_csr(x: Tensor) -> Tensor:
        return torch.from_numpy(np.ascontiguousarray((sc @ x.numpy().T + bn).T))

    return {"dense": dense, "torch_csr": torch_csr, "scipy_csr": scipy_csr}


def time_call(fn: Callable[[], object], *, repeats: int = 7, target_s: float = 0.002) -> float:
    """Median seconds per call of `fn` over `repeats` timings, each of as many calls as fill about `target_s`
    seconds (at least one; the count is set from one warm-up call)."""
    t0 = time.perf_counter()
    fn()
    first = time.perf_counter() - t0
    number = max(1, int(target_s / max(first, 1e-7)))
    times = []
    for _ in range(repeats + 1):
        t0 = time.perf_counter()
        for _ in range(number):
            fn()
        times.append((time.perf_counter() - t0) / number)
    return float(np.median(times[1:]))


def random_sparse(shape: tuple[int, int], sparsity: float, seed: int = 0) -> Tensor:
    """A float32 (out, in) matrix of N(0, 0.05²) entries with round(sparsity·numel) of them exactly zero (chosen at
    random).

    Raises:
        ValueError: `sparsity` outside [0, 1].
    """
    if not 0.0 <= sparsity <= 1.0:
        raise ValueError(f"sparsity={sparsity!r} is out of range; accepted: a fraction in [0, 1]")
    g = torch.Generator().manual_seed(seed)
    w = torch.randn(shape, generator=g) * 0.05
    n_zero = int(round(sparsity * w.numel()))
    idx = torch.randperm(w.numel(), generator=g)[:n_zero]
    w.view(-1)[idx] = 0.0
    return w


@contextlib.contextmanager
def torch_threads(n: int | None) -> Iterator[None]:
    """Within the block torch uses `n` intra-op threads (None: unchanged); restored after."""
    old = torch.get_num_threads()
    if n is not None:
        torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(old)


def layer_report(
    weight: Tensor,
    bias: Tensor | None = None,
    *,
    batches: Sequence[int] = (1, 64),
    repeats: int = 7,
    target_s: float = 0.002,
    seed: int = 0,
    threads: int | None = 1,
) -> pd.DataFrame:
    """Bytes and forward time of one layer per backend and batch size, timed with `threads` torch threads (default
    one: a small layer on a loaded machine times its thread hand-offs more than its arithmetic).

    Returns:
        frame: backend, batch, sparsity (fraction of exact zeros), nnz, bytes, bytes_vs_dense, time_us (median
        microseconds per forward), time_vs_dense (CSR time / dense time at the same batch; < 1 means CSR is faster).
    """
    w = _check_matrix(weight)
    fns = forward_fns(w, bias)
    nnz = int((w != 0).sum())
    sizes = {"dense": dense_bytes(w), "torch_csr": csr_bytes_of(to_csr(w)), "scipy_csr": csr_bytes_of(to_scipy_csr(w))}
    g = torch.Generator().manual_seed(seed)
    rows = []
    for b in batches:
        x = torch.randn(b, w.shape[1], generator=g)
        with torch_threads(threads):
            t = {k: time_call(lambda f=f: f(x), repeats=repeats, target_s=target_s) for k, f in fns.items()}  # type: ignore[misc]  # default-bound lambda
        for k in BACKENDS:
            rows.append(
                {
                    "backend": k,
                    "batch": b,
                    "sparsity": 1 - nnz / w.numel(),
                    "nnz": nnz,
                    "bytes": sizes[k],
                    "bytes_vs_dense": sizes[k] / sizes["dense"],
                    "time_us": t[k] * 1e6,
                    "time_vs_dense": t[k] / t["dense"],
                }
            )
    return pd.DataFrame(rows)


def sparsity_sweep(
    shape: tuple[int, int],
    sparsities: Sequence[float] = (0.5, 0.7, 0.8, 0.9, 0.95, 0.98, 0.99),
    *,
    batches: Sequence[int] = (1, 64),
    repeats: int = 5,
    target_s: float = 0.002,
    seed: int = 0,
) -> pd.DataFrame:
    """`layer_report` of random (out, in) matrices at each sparsity (`random_sparse`); rows as `layer_report`."""
    frames = [
        layer_report(
            random_sparse(shape, s, seed), batches=batches, repeats=repeats, target_s=target_s, seed=seed
        ).assign(target_sparsity=s)
        for s in sparsities
    ]
    return pd.concat(frames, ignore_index=True)


def breakeven(sweep: pd.DataFrame) -> pd.DataFrame:
    """Per (backend, batch) of a `sparsity_sweep`: the smallest swept sparsity from which on CSR is not slower than
    dense (time_vs_dense <= 1 there and at every larger sparsity), NaN if none; and the same for bytes.

    Returns:
        frame: backend, batch, breakeven_time_sparsity, breakeven_bytes_sparsity.
    """
    rows = []
    for (k, b), g in sweep[sweep.backend != "dense"].groupby(["backend", "batch"], sort=False):
        g = g.sort_values("target_sparsity")

        def first_from(ok: np.ndarray) -> float:
            for i in range(len(ok)):
                if ok[i:].all():
                    return float(g["target_sparsity"].iloc[i])
            return float("nan")

        rows.append(
            {
                "backend": k,
                "batch": b,
                "breakeven_time_sparsity": first_from((g["time_vs_dense"] <= 1).to_numpy()),
                "breakeven_bytes_sparsity": first_from((g["bytes_vs_dense"] <= 1).to_numpy()),
            }
        )
    return pd.DataFrame(rows)


def bytes_breakeven(value_bytes: int = 4, index_bytes: int = 8, n_rows: int = 0, n_cols: int = 1) -> float:
    """The sparsity above which CSR takes fewer bytes than dense, from the formula: nnz·(v + i) + (r + 1)·i <
    r·c·v, i.e. sparsity > 1 − v/(v + i) + (r + 1)·i / (r·c·(v + i)) (→ i/(v + i) for a large matrix; 2/3 for
    float32 with int64 indices, 1/2 with int32)."""
    base = index_bytes / (value_bytes + index_bytes)
    if n_rows <= 0:
        return base
    return base + (n_rows + 1) * index_bytes / (n_rows * n_cols * (value_bytes + index_bytes))


def figure(sweep: pd.DataFrame, measured: pd.DataFrame | None = None, title: str = ""):
    """Forward time (µs, log scale) against sparsity per backend, one panel per batch size; the trained layer's
    measurement (`layer_report`) as large markers when given."""
    import matplotlib.pyplot as plt

    batches = sorted(sweep.batch.unique())
    fig, axes = plt.subplots(1, len(batches), figsize=(6 * len(batches), 4), squeeze=False)
    for ax, b in zip(axes[0], batches):
        for i, k in enumerate(BACKENDS):
            g = sweep[(sweep.batch == b) & (sweep.backend == k)].sort_values("target_sparsity")
            ax.plot(g["target_sparsity"], g["time_us"], marker="o", color=f"C{i}", label=k)
            if measured is not None:
                m = measured[(measured.batch == b) & (measured.backend == k)]
                ax.scatter(m["sparsity"], m["time_us"], s=120, marker="*", color=f"C{i}", edgecolor="k", zorder=5)
        ax.set_yscale("log")
        ax.set_xlabel("sparsity (fraction of exact zeros)")
        ax.set_ylabel("µs per forward")
        ax.set_title(f"{title} batch {b}")
        ax.legend()
    fig.tight_layout()
    return fig
