"""Soft-max, cross-entropy, entropy (bits/nats), the Sutskever momentum schedule, the momentum step and dropout of
study.foundations (Tomasi's notes §1-§5, Appendix A)."""
import math

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from study import foundations as fd


pytestmark = pytest.mark.usefixtures("one_thread")  # tests/conftest.py


def test_softmax_on_simplex_and_stable():
    g = torch.Generator().manual_seed(0)
    z = torch.randn(20, 7, generator=g, dtype=torch.float64) * 30
    p = fd.softmax(z)
    torch.testing.assert_close(p, torch.softmax(z, -1))
    assert (p >= 0).all() and torch.allclose(p.sum(-1), torch.ones(20, dtype=torch.float64))
    big = fd.softmax(torch.tensor([1000.0, 1000.0, -1000.0]))
    assert torch.isfinite(big).all() and big[0] == pytest.approx(0.5)
    # the unit point 1/e is on every decision-region boundary
    assert torch.allclose(fd.softmax(torch.zeros(3)), torch.full((3,), 1 / 3))


def test_cross_entropy_forms_agree():
    g = torch.Generator().manual_seed(1)
    z = torch.randn(50, 10, generator=g, dtype=torch.float64)
    y = torch.randint(0, 10, (50,), generator=g)
    p = fd.softmax(z)
    nats = fd.cross_entropy(p, y)
    torch.testing.assert_close(nats.mean(), F.cross_entropy(z, y))
    q = F.one_hot(y, 10).double()
    torch.testing.assert_close(nats, fd.cross_entropy_dist(q, p, base=math.e))      # -log p_y = -Σ q log p
    torch.testing.assert_close(fd.cross_entropy(p, y, base=2), nats / math.log(2))  # bits = nats / ln 2
    assert (fd.entropy(q) == 0).all()                                                # A.4: H(one-hot) = 0
    with pytest.raises(ValueError, match="labels"):
        fd.cross_entropy(p, y + 10)
    with pytest.raises(ValueError, match="base"):
        fd.cross_entropy(p, y, base=1.0)


def test_binary_cross_entropy_symmetry_and_one_bit():
    p = torch.linspace(0.01, 0.99, 99, dtype=torch.float64)
    one, zero = torch.ones_like(p), torch.zeros_like(p)
    torch.testing.assert_close(fd.binary_cross_entropy(one, p), fd.binary_cross_entropy(zero, 1 - p))
    assert float(fd.binary_cross_entropy(torch.tensor(1.0), torch.tensor(0.5), base=2)) == pytest.approx(1.0)
    torch.testing.assert_close(fd.binary_cross_entropy(one, p), F.binary_cross_entropy(p, one, reduction="none"))
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        fd.binary_cross_entropy(one[:1], torch.tensor([1.5], dtype=torch.float64))


def test_entropy_bounds_and_gibbs():
    assert float(fd.entropy(fd.bernoulli(torch.tensor(0.5)))) == pytest.approx(1.0)
    assert float(fd.entropy(fd.bernoulli(torch.tensor(0.0)))) == 0.0
    q = torch.linspace(0, 1, 101, dtype=torch.float64)
    H = fd.entropy(fd.bernoulli(q))
    assert (H <= 1 + 1e-12).all() and torch.allclose(H, H.flip(0))                  # H <= 1, H(q) = H(1-q)
    g = torch.Generator().manual_seed(2)
    Q = torch.distributions.Dirichlet(torch.ones(6, dtype=torch.float64)).sample((500,))
    P = torch.distributions.Dirichlet(torch.ones(6, dtype=torch.float64)).sample((500,))
    gap = fd.cross_entropy_dist(Q, P) - fd.entropy(Q)
    assert (gap >= 0).all()                                                           # Gibbs' inequality
    assert torch.allclose(fd.cross_entropy_dist(Q, Q), fd.entropy(Q))                 # equality at p = q
    assert (fd.entropy(Q) <= math.log2(6) + 1e-12).all()
    with pytest.raises(ValueError, match="sum to 1"):
        fd.entropy(torch.tensor([0.5, 0.6]))


def test_sutskever_schedule():
    assert fd.sutskever_momentum(0) == 0.5
    assert fd.sutskever_momentum(249) == 0.5
    assert fd.sutskever_momentum(250) == pytest.approx(0.75)
    assert fd.sutskever_momentum(750) == pytest.approx(0.875)
    assert fd.sutskever_momentum(10 ** 6, mu_max=0.9) == 0.9
    t = torch.arange(0, 20000, 50)
    mu = fd.sutskever_momentum(t, mu_max=0.99)
    assert (mu.diff() >= 0).all() and float(mu.max()) == pytest.approx(0.99)
    assert all(float(m) == pytest.approx(fd.sutskever_momentum(int(s), 0.99)) for s, m in zip(t[::40], mu[::40]))
    with pytest.raises(ValueError, match="mu_max"):
        fd.sutskever_momentum(0, mu_max=1.0)
    with pytest.raises(ValueError, match="t"):
        fd.sutskever_momentum(-1)


def test_momentum_step_equals_torch_sgd():
    torch.manual_seed(0)
    a, b = nn.Linear(5, 3), nn.Linear(5, 3)
    b.load_state_dict(a.state_dict())
    x, y = torch.randn(16, 5), torch.randint(0, 3, (16,))
    opt = torch.optim.SGD(b.parameters(), lr=0.1, momentum=0.8)
    vel = [torch.zeros_like(p) for p in a.parameters()]
    for _ in range(5):
        for m in (a, b):
            m.zero_grad()
            F.cross_entropy(m(x), y).backward()
        fd.momentum_step(list(a.parameters()), vel, lr=0.1, mu=0.8)
        opt.step()
    for pa, pb in zip(a.parameters(), b.parameters()):
        torch.testing.assert_close(pa, pb)
    with pytest.raises(ValueError, match="lr"):
        fd.momentum_step(list(a.parameters()), vel, lr=0.0, mu=0.5)


def test_dropout_modes_and_expectation():
    x = torch.ones(200_000)
    d = fd.Dropout(0.5, generator=torch.Generator().manual_seed(0))
    out = d(x)
    assert set(out.unique().tolist()) <= {0.0, 1.0} and abs(float(out.mean()) - 0.5) < 0.01
    d.eval()
    assert torch.equal(d(x), 0.5 * x)                                   # test-time scaling by p
    inv = fd.Dropout(0.5, mode="inverted", generator=torch.Generator().manual_seed(0))
    out = inv(x)
    assert set(out.unique().tolist()) <= {0.0, 2.0} and abs(float(out.mean()) - 1.0) < 0.02
    inv.eval()
    assert torch.equal(inv(x), x)
    # in expectation, classic dropout followed by a linear map equals the test-time network
    torch.manual_seed(1)
    lin = nn.Linear(30, 4)
    h = torch.rand(1, 30)
    d.train()
    mc = torch.stack([lin(d(h)) for _ in range(4000)]).mean(0)
    d.eval()
    torch.testing.assert_close(mc, lin(d(h)), atol=0.05, rtol=0)
    with pytest.raises(ValueError, match="p="):
        fd.Dropout(0.0)
    with pytest.raises(ValueError, match="mode"):
        fd.Dropout(0.5, mode="x")


def test_train_momentum_learns():
    g = torch.Generator().manual_seed(0)
    torch.manual_seed(0)
    x = torch.randn(200, 2, generator=g)
    y = (x[:, 0] + x[:, 1] > 0).long()
    m = fd.mlp([2, 16, 2])
    rows = fd.train_momentum(m, x, y, lr=0.1, batch_size=20, epochs=20, mu=fd.sutskever_momentum, generator=g,
                             eval_sets={"train": (x, y)})
    err = [r["value"] for r in rows if r["metric"] == "error"]
    assert err[-1] < 0.05 < err[0]
    assert not any(r["metric"] == "diverged" for r in rows)
    with pytest.raises(ValueError, match="batch_size"):
        fd.train_momentum(m, x, y, lr=0.1, batch_size=0, epochs=1)


def _diverging_run(**kw):
    """A huge learning rate on large inputs: the loss is NaN within a few steps (seeded)."""
    g = torch.Generator().manual_seed(0)
    torch.manual_seed(0)
    x = torch.randn(200, 2, generator=g)
    y = (x[:, 0] + x[:, 1] > 0).long()
    m = fd.mlp([2, 16, 2])
    return fd.train_momentum(m, x * 1e3, y, lr=1e4, batch_size=20, epochs=5, mu=0.9, generator=g,
                             eval_sets={"train": (x, y)}, **kw)


def test_train_momentum_stops_on_a_non_finite_loss_like_fit():
    """Default: `FloatingPointError` naming the step, the epoch and lr (as `study.train.fit`), no "diverged" row."""
    with pytest.raises(FloatingPointError, match=r"non-finite training loss .* at step \d+ of 50 \(epoch [\d.]+, "
                                                 r"batch \d+\), lr=10000"):
        _diverging_run()


def test_train_momentum_records_divergence_when_asked():
    """``on_non_finite="record"``: training stops at the first non-finite loss and one "diverged" row is added."""
    rows = _diverging_run(on_non_finite="record")
    div = [r for r in rows if r["metric"] == "diverged"]
    assert len(div) == 1 and div[0]["value"] == 1.0 and div[0]["split"] == "train"
    steps = [r["value"] for r in rows if r["metric"] == "step"]
    assert steps[-1] < 50  # stopped early
    with pytest.raises(ValueError, match=r"on_non_finite='ignore'.*accepted.*'raise', 'record'"):
        _diverging_run(on_non_finite="ignore")


def test_scale_weights_equals_eval_mode():
    torch.manual_seed(3)
    m = fd.mlp([12, 8, 8, 3], dropout=0.5, input_dropout=0.8)
    m.eval()
    s = fd.scale_weights(m)
    assert not any(isinstance(k, fd.Dropout) for k in s)
    x = torch.randn(5, 12)
    torch.testing.assert_close(s(x), m(x))
    # classic dropout with weights W is inverted dropout with weights p W, mask by mask
    lin = nn.Linear(8, 3)
    h, keep = torch.randn(4, 8), (torch.rand(4, 8) < 0.5)
    scaled = nn.Linear(8, 3)
    scaled.load_state_dict({"weight": 0.5 * lin.weight.detach(), "bias": lin.bias.detach()})
    torch.testing.assert_close(lin(h * keep), scaled(h * keep / 0.5))
    with pytest.raises(ValueError, match="mode"):
        fd.mlp([4, 2], mode="bogus")


def test_train_momentum_calls_back_after_every_evaluation_with_the_rows_so_far():
    """The callback (early termination keeps its checkpoint with it) sees the model, the epoch and every row so far,
    once at the start and once per evaluation; the weights it sees are the ones the evaluation measured."""
    g = torch.Generator().manual_seed(0)
    torch.manual_seed(0)
    x = torch.randn(60, 2, generator=g)
    y = (x[:, 0] > 0).long()
    m = fd.mlp([2, 8, 2])
    seen = []

    def cb(model, epoch, rows):
        assert model is m
        seen.append((epoch, len(rows), fd.risk_and_error(model, x, y)[1], rows[-1]))
    rows = fd.train_momentum(m, x, y, lr=0.1, batch_size=20, epochs=3, mu=0.5, generator=g,
                             eval_sets={"train": (x, y)}, callback=cb)
    assert [s[0] for s in seen] == [0.0, 1.0, 2.0, 3.0]
    assert seen[-1][1] == len(rows)                              # the rows so far, the last call sees them all
    for _, _, err, last in seen:                                 # the last row is this evaluation's error
        assert last["metric"] == "error" and last["value"] == pytest.approx(err)
