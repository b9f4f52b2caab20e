"""SL1 penalty (Yang et al. eqs. 5-7), the losses and the LeNet-style model."""
import pytest
import torch

from study import losses, penalties
from study.models import LeNetSL1



@pytest.fixture(autouse=True)
def float64():
    """Exact comparisons in double precision, restored afterwards (other test files expect float32)."""
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(old)


def h_reference(u: torch.Tensor, alpha: float) -> float:
    """Eq. (5) for a single vector, written out."""
    n = float(torch.linalg.vector_norm(u))
    return n if n >= alpha else n * n / (2 * alpha) + alpha / 2


@pytest.mark.parametrize("alpha", [1e-3, 0.05, 1.0])
def test_h_matches_eq5_columnwise(alpha):
    g = torch.Generator().manual_seed(0)
    # columns with norms spread on both sides of alpha, plus an exact zero column
    w = torch.randn(10, 50, generator=g) * torch.logspace(-3, 1, 50) * alpha
    w[:, 0] = 0
    h = penalties.sl1_h(w, alpha)
    assert h.shape == (50,)
    ref = torch.tensor([h_reference(w[:, k], alpha) for k in range(50)])
    torch.testing.assert_close(h, ref)
    assert h[0] == pytest.approx(alpha / 2)  # h(0) = alpha/2 > 0: the smoothing, not a hard zero


@pytest.mark.parametrize("alpha", [0.01, 0.3])
def test_h_and_gradient_continuous_at_alpha(alpha):
    u = torch.randn(10, 1, generator=torch.Generator().manual_seed(2))
    u = u / torch.linalg.vector_norm(u) * alpha
    eps = 1e-9
    inside, outside = u * (1 - eps), u * (1 + eps)
    assert penalties.sl1_h(inside, alpha).item() == pytest.approx(penalties.sl1_h(outside, alpha).item(), abs=1e-8)
    torch.testing.assert_close(penalties.sl1_grad(inside, alpha), penalties.sl1_grad(outside, alpha),
                               atol=1e-7, rtol=1e-6)
    torch.testing.assert_close(penalties.sl1_grad(u, alpha), u / alpha)
    e = torch.zeros(10, 1)
    e[0] = alpha  # ‖e‖² == α² exactly in floating point: autograd must give e/α there too, not 0
    w = e.clone().requires_grad_()
    penalties.sl1_h(w, alpha).sum().backward()
    torch.testing.assert_close(w.grad, e / alpha)


@pytest.mark.parametrize("alpha", [0.02, 0.5])
def test_autograd_equals_analytic_gradient(alpha):
    g = torch.Generator().manual_seed(1)
    w = (torch.randn(10, 40, generator=g) * torch.logspace(-2, 0.5, 40)).requires_grad_()
    w.data[:, 3] = 0.0
    penalties.sl1_h(w, alpha).sum().backward()
    assert torch.isfinite(w.grad).all()
    torch.testing.assert_close(w.grad, penalties.sl1_grad(w.detach(), alpha))
    assert torch.all(w.grad[:, 3] == 0)  # gradient at u = 0 exists and is 0


def test_gradient_matches_finite_differences():
    w = torch.randn(4, 6, generator=torch.Generator().manual_seed(3)).requires_grad_()
    assert torch.autograd.gradcheck(lambda t: penalties.sl1(t, 0.7, 0.5), (w,))


def test_sl1_approaches_group_l1_as_alpha_vanishes():
    w = torch.randn(10, 30, generator=torch.Generator().manual_seed(4))
    w[:, :3] *= 1e-5  # columns near zero, where the two differ most
    for alpha in (1e-2, 1e-4, 1e-6):
        gap = (penalties.sl1(w, 1.0, alpha) - penalties.group_l1(w, 1.0)).item()
        assert 0 <= gap <= 30 * alpha / 2 + 1e-9  # 0 <= h(u, α) − ‖u‖ <= α/2 per column
    # the gradients converge too, on every column with u != 0 (for ‖u‖ >= α they are equal)
    g0 = penalties.sl1_grad(w, 0.0)
    assert (penalties.sl1_grad(w, 1e-7) - g0).abs().max() < 1e-12
    assert (penalties.sl1_grad(w, 1e-3) - g0)[:, 3:].abs().max() == 0
    assert (penalties.sl1_grad(w, 1e-3) - g0)[:, :3].abs().max() > 0.5  # inside the ball SL1 is smooth, u/α


def test_alpha_zero_is_group_l1_with_its_subgradient():
    g = torch.Generator().manual_seed(7)
    w = torch.randn(10, 20, generator=g)
    w[:, 5] = 0.0
    torch.testing.assert_close(penalties.sl1(w, 0.3, 0.0), penalties.group_l1(w, 0.3))
    torch.testing.assert_close(penalties.sl1_h(w, 0.0), torch.linalg.vector_norm(w, dim=0))
    wa = w.clone().requires_grad_()
    penalties.sl1(wa, 0.3, 0.0).backward()
    wb = w.clone().requires_grad_()
    penalties.group_l1(wb, 0.3).backward()
    # the group-L1 subgradient: λ u/‖u‖ for u != 0, and 0 (a valid subgradient, the one we train with) at u = 0
    expected = 0.3 * w / torch.linalg.vector_norm(w, dim=0).clamp(min=1e-300)
    expected[:, 5] = 0.0
    assert torch.isfinite(wa.grad).all()
    torch.testing.assert_close(wa.grad, expected)
    torch.testing.assert_close(wa.grad, wb.grad)
    torch.testing.assert_close(0.3 * penalties.sl1_grad(w, 0.0), expected)
    # the subgradient at 0 lies in the subdifferential {v : ‖v‖ <= λ}; elsewhere its norm is exactly λ
    norms = torch.linalg.vector_norm(wa.grad, dim=0)
    torch.testing.assert_close(norms[torch.arange(20) != 5], torch.full((19,), 0.3))


@pytest.mark.parametrize("call,name", [
    (lambda: penalties.sl1(torch.ones(2, 2), 1.0, -1e-9), "alpha"),
    (lambda: penalties.sl1(torch.ones(2, 2), 1.0, -1.0), "alpha"),
    (lambda: penalties.sl1(torch.ones(2, 2), 1.0, float("nan")), "alpha"),
    (lambda: penalties.sl1_grad(torch.ones(2, 2), -0.5), "alpha"),
    (lambda: penalties.sl1(torch.ones(2, 2), -0.1, 0.1), "lam"),
    (lambda: penalties.l2(torch.ones(2, 2), -1.0), "lam"),
    (lambda: penalties.sl1_h(torch.ones(2), 0.1), "weight"),
    (lambda: penalties.sl1_h(torch.ones(2), 0.0), "weight"),
    (lambda: LeNetSL1(activation="tanh"), "activation"),
    (lambda: losses.get("hinge"), "loss"),
])
def test_bad_parameters_raise_value_error_naming_them(call, name):
    with pytest.raises(ValueError, match=name):
        call()


def test_entropy_error_is_summed_binary_cross_entropy():
    g = torch.Generator().manual_seed(5)
    z = torch.randn(5, 10, generator=g)
    y = torch.randint(0, 10, (5,), generator=g)
    t = torch.nn.functional.one_hot(y, 10).double()
    p = torch.sigmoid(z)
    ref = -(t * p.log() + (1 - t) * (1 - p).log()).sum(1).mean()
    torch.testing.assert_close(losses.entropy_error(z, y), ref)


@pytest.mark.parametrize("activation", ["relu", "sigmoid"])
def test_model_shapes_and_parameter_count(activation):
    torch.manual_seed(6)  # the initial weights
    g = torch.Generator().manual_seed(6)
    m = LeNetSL1(activation).double()
    out = m(torch.randn(3, 1, 28, 28, generator=g))
    assert out.shape == (3, 10)
    assert m.features(torch.randn(2, 1, 28, 28, generator=g)).shape == (2, 192)  # 4 x 4 x 12 flattened
    expected = (6 * (1 * 25) + 6) + (12 * (6 * 25) + 12) + (10 * 192 + 10)
    assert sum(p.numel() for p in m.parameters()) == expected
    assert m.fc.weight.shape == (10, 192)
