"""The sparse dense layer in CSR (study.sparse_inference): same function, the bytes formula, the break-even logic.
No timing is asserted (timings are measurements of the machine, not properties of the code)."""
import math

import numpy as np
import pandas as pd
import pytest
import torch

from study import sparse_inference as si


def sparse_matrix(shape=(16, 40), sparsity=0.8, seed=0):
    return si.random_sparse(shape, sparsity, seed)


@pytest.mark.parametrize("sparsity", [0.0, 0.5, 0.9, 1.0])
@pytest.mark.parametrize("batch", [1, 7])
def test_csr_forward_equals_dense_forward(sparsity, batch):
    w = sparse_matrix(sparsity=sparsity)
    b = torch.randn(16)
    x = torch.randn(batch, 40)
    fns = si.forward_fns(w, b)
    ref = x @ w.T + b
    for k in si.BACKENDS:
        assert fns[k](x).shape == (batch, 16)
        assert torch.allclose(fns[k](x).float(), ref, atol=1e-5), k


def test_csr_holds_only_the_nonzeros_and_the_bytes_formula_matches_the_arrays():
    w = sparse_matrix((12, 30), 0.75)
    nnz = int((w != 0).sum())
    assert nnz == round(0.25 * w.numel())
    csr, sc = si.to_csr(w), si.to_scipy_csr(w)
    assert csr.values().numel() == nnz and sc.nnz == nnz
    assert torch.equal(csr.to_dense(), w) and np.array_equal(sc.toarray(), w.numpy())
    assert si.csr_bytes_of(csr) == si.csr_bytes(12, nnz, value_bytes=4, index_bytes=8)
    assert si.csr_bytes_of(sc) == si.csr_bytes(12, nnz, value_bytes=4, index_bytes=sc.indices.itemsize)
    assert si.dense_bytes(w) == 12 * 30 * 4
    # an all-zero layer keeps only the row pointers
    assert si.csr_bytes_of(si.to_csr(torch.zeros(5, 9))) == 6 * 8


def test_bytes_breakeven_formula():
    assert si.bytes_breakeven(4, 8) == pytest.approx(2 / 3)
    assert si.bytes_breakeven(4, 4) == pytest.approx(1 / 2)
    # at the break-even sparsity (large layer) CSR and dense bytes agree up to the row pointers
    r, c = 128, 5408
    s = si.bytes_breakeven(4, 8, r, c)
    nnz = (1 - s) * r * c
    assert nnz * 12 + (r + 1) * 8 == pytest.approx(r * c * 4, rel=1e-9)


def test_random_sparse_has_the_requested_zeros_and_refuses_bad_sparsity():
    w = si.random_sparse((10, 10), 0.37, seed=3)
    assert int((w == 0).sum()) == 37 and w.dtype == torch.float32
    with pytest.raises(ValueError, match="sparsity=1.5"):
        si.random_sparse((4, 4), 1.5)
    with pytest.raises(ValueError, match="2-D"):
        si.to_csr(torch.zeros(3))


def test_breakeven_is_the_first_sparsity_from_which_csr_stays_cheaper():
    rows = []
    for s, t in [(0.5, 3.0), (0.8, 0.9), (0.9, 1.1), (0.95, 0.5), (0.99, 0.2)]:
        rows += [{"backend": "dense", "batch": 1, "target_sparsity": s, "time_vs_dense": 1.0, "bytes_vs_dense": 1.0},
                 {"backend": "torch_csr", "batch": 1, "target_sparsity": s, "time_vs_dense": t,
                  "bytes_vs_dense": 3 * (1 - s)}]
    be = si.breakeven(pd.DataFrame(rows))
    (r,) = be.to_dict("records")
    assert r["breakeven_time_sparsity"] == 0.95          # 0.8 is cheaper but 0.9 is not: not yet break-even
    assert r["breakeven_bytes_sparsity"] == 0.8          # 3·(1 − s) <= 1 from s = 2/3 on
    never = pd.DataFrame([{**x, "time_vs_dense": 2.0} for x in rows])
    assert math.isnan(si.breakeven(never)["breakeven_time_sparsity"].iloc[0])


def test_layer_report_rows_and_columns():
    rep = si.layer_report(sparse_matrix((8, 16), 0.5), batches=(1, 3), repeats=1, target_s=1e-5)
    assert len(rep) == 2 * len(si.BACKENDS)
    assert set(rep.columns) >= {"backend", "batch", "sparsity", "nnz", "bytes", "time_us", "time_vs_dense"}
    assert (rep[rep.backend == "dense"]["time_vs_dense"] == 1.0).all()
    assert (rep["sparsity"] == 0.5).all() and (rep["time_us"] > 0).all()
