"""Algorithm 1 written out (study.backprop) against torch.autograd, central differences and the layer Jacobians
that torch computes; float64 throughout."""
import pytest
import torch
import torch.nn.functional as F

from study import backprop as bp


pytestmark = pytest.mark.usefixtures("one_thread")  # tests/conftest.py


def _problem(seed=0, in_shape=(1, 10, 10), channels=3, kernel=3, pool=2, classes=5, n=6):
    g = torch.Generator().manual_seed(seed)
    params = bp.init_params(in_shape, channels, kernel, pool, classes, generator=g)
    X = torch.randn(n, *in_shape, generator=g, dtype=torch.float64)
    y = torch.randint(0, classes, (n,), generator=g)
    return params, X, y


@pytest.mark.parametrize("cfg", [
    dict(),
    dict(in_shape=(2, 9, 11), channels=2, kernel=2, pool=3, classes=4, n=5),
    dict(in_shape=(1, 8, 8), channels=5, kernel=3, pool=1, classes=3, n=4),
    dict(seed=7, in_shape=(3, 7, 7), channels=2, kernel=4, pool=2, classes=10, n=3),
])
def test_backprop_matches_autograd(cfg):
    pool = cfg.get("pool", 2)
    params, X, y = _problem(**cfg)
    L, G = bp.backprop(params, X, y, pool=pool)
    La, Ga = bp.autograd_gradients(params, X, y, pool=pool)
    assert L == pytest.approx(La, rel=1e-12)
    for name in bp.PARAM_NAMES:
        assert G[name].shape == params[name].shape
        assert bp.relative_error(G[name], Ga[name], floor=1e-12) < 1e-9, name


def test_backprop_matches_central_differences():
    params, X, y = _problem(seed=3, in_shape=(1, 6, 6), channels=2, classes=3, n=3)
    _, G = bp.backprop(params, X, y)
    Gf = bp.finite_differences(params, X, y, h=1e-6)
    assert bp.normwise_error(bp.flatten(G), bp.flatten(Gf)) < 1e-6
    assert bp.relative_error(bp.flatten(G), bp.flatten(Gf), floor=1e-4) < 1e-6


def test_gradient_is_the_average_of_per_sample_gradients():
    params, X, y = _problem(seed=1, n=4)
    _, G = bp.backprop(params, X, y)
    per = [bp.flatten(bp.backprop(params, X[i:i + 1], y[i:i + 1])[1]) for i in range(4)]
    torch.testing.assert_close(bp.flatten(G), torch.stack(per).mean(0), rtol=1e-12, atol=1e-14)


def test_layer_jacobians_match_torch_jacobian():
    params, X, y = _problem(seed=2, in_shape=(2, 8, 8), channels=3, classes=4, n=1)
    conv, dense = bp.layers(params, (2, 8, 8))
    x0 = X[0].reshape(-1)

    def f1(x, w, b):
        h = F.max_pool2d(F.relu(F.conv2d(x.view(1, 2, 8, 8), w, b)), 2)
        return h.reshape(-1)

    x1 = conv.forward(x0)
    torch.testing.assert_close(x1, f1(x0, params["conv.weight"], params["conv.bias"]))
    Jx, Jw, Jb = torch.autograd.functional.jacobian(f1, (x0, params["conv.weight"], params["conv.bias"]))
    torch.testing.assert_close(conv.jac_x(), Jx)
    torch.testing.assert_close(conv.jac_w(), torch.cat([Jw.reshape(len(x1), -1), Jb], 1))
    # the argmax rule: each pooled output depends on exactly one activation (one non-zero per row of D at most)
    assert int((conv.d_act() != 0).sum(1).max()) <= 1

    def f2(x, w, b):
        return torch.softmax(w @ x + b, 0)

    p = dense.forward(x1)
    Jx, Jw, Jb = torch.autograd.functional.jacobian(f2, (x1, params["fc.weight"], params["fc.bias"]))
    torch.testing.assert_close(dense.jac_x(), Jx)
    torch.testing.assert_close(dense.jac_w(), torch.cat([Jw.reshape(len(p), -1), Jb], 1))
    # the soft-max Jacobian has rows summing to 0 (the output stays on the simplex)
    assert dense.d_act().sum(1).abs().max() < 1e-15


def test_maxpool_tie_goes_to_one_input():
    # constant input -> every pooling window is a tie; the gradient must still match autograd (first maximum)
    params, _, _ = _problem(seed=4, in_shape=(1, 6, 6), channels=2, classes=3)
    params["conv.bias"] = params["conv.bias"].abs() + 0.1
    X = torch.zeros(2, 1, 6, 6, dtype=torch.float64)
    y = torch.tensor([0, 2])
    _, G = bp.backprop(params, X, y)
    _, Ga = bp.autograd_gradients(params, X, y)
    assert bp.relative_error(bp.flatten(G), bp.flatten(Ga), floor=1e-12) < 1e-9


def test_errors_and_helpers():
    params, X, y = _problem()
    with pytest.raises(ValueError, match="labels"):
        bp.backprop(params, X, y + 10)
    with pytest.raises(ValueError, match="X must be"):
        bp.backprop(params, X[0], y)
    with pytest.raises(ValueError, match="params lacks"):
        bp.backprop({"conv.weight": params["conv.weight"]}, X, y)
    with pytest.raises(ValueError, match="too small"):
        bp.init_params((1, 3, 3), kernel=3, pool=2)
    with pytest.raises(ValueError, match="h="):
        bp.finite_differences(params, X, y, h=0)
    a = torch.tensor([1.0, 0.0, -2.0])
    assert bp.relative_error(a, a) == 0.0
    assert bp.relative_error(a, a * 1.01) == pytest.approx(0.01 / 1.01)
    with pytest.raises(ValueError, match="shapes differ"):
        bp.relative_error(a, a[:2])
