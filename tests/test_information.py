"""Tests of the Rényi matrix-based entropy / mutual information estimator (study.information) and the MI networks."""
import math

import pytest
import torch

from study import information as inf
from study.models.mi_cnn import ResNet18MI, ShallowCNN, count_parameters

ALPHAS = [0.5, 1.0, 1.01, 2.0]


def gen(seed=0):
    g = torch.Generator()
    g.manual_seed(seed)
    return g


def A_of(x, s):
    return inf.normalize_gram(inf.gram_matrix(x, s))


def renyi_p(p, alpha):
    p = torch.as_tensor(p, dtype=torch.float64)
    p = p[p > 0]
    if alpha == 1.0:
        return float(-(p * torch.log2(p)).sum())
    return float(torch.log2((p ** alpha).sum()) / (1 - alpha))


# ------------------------------------------------------------------------------------------------ Gram matrices
def test_gram_uses_s_squared_convention():
    x = torch.tensor([[0.0, 0.0], [3.0, 4.0]])  # distance 5
    k = inf.gram_matrix(x, 2.0)
    assert k[0, 1].item() == pytest.approx(math.exp(-25.0 / 4.0), rel=1e-12)
    assert torch.allclose(torch.diagonal(k), torch.ones(2, dtype=torch.float64))


def test_normalized_gram_unit_trace_psd_and_batched():
    x = torch.randn(3, 40, 7, generator=gen())
    a = A_of(x, 1.5)
    assert a.shape == (3, 40, 40)
    assert torch.allclose(torch.diagonal(a, dim1=-2, dim2=-1).sum(-1), torch.ones(3, dtype=torch.float64))
    lam = torch.linalg.eigvalsh(a)
    assert lam.min() > -1e-12
    # batched entropy equals the per-matrix entropies
    h = inf.renyi_entropy(a)
    assert torch.allclose(h, torch.stack([inf.renyi_entropy(a[i]) for i in range(3)]))
    # a (S,) width tensor gives one matrix per width
    ks = inf.gram_matrix(x[0], torch.tensor([0.5, 1.0, 2.0]))
    assert ks.shape == (3, 40, 40)
    assert torch.allclose(ks[1], inf.gram_matrix(x[0], 1.0))


def test_normalize_gram_eq3_for_non_unit_diagonal():
    k = torch.tensor([[4.0, 1.0], [1.0, 9.0]], dtype=torch.float64)
    a = inf.normalize_gram(k)
    expected = torch.tensor([[1.0, 1.0 / 6.0], [1.0 / 6.0, 1.0]], dtype=torch.float64) / 2.0
    assert torch.allclose(a, expected)


# ------------------------------------------------------------------------------------------- analytic cases
@pytest.mark.parametrize("d,s", [(0.3, 1.0), (1.0, 1.0), (2.0, 0.7), (0.05, 3.0)])
def test_two_points_eigenvalues(d, s):
    x = torch.tensor([[0.0, 0.0, 0.0], [d, 0.0, 0.0]], dtype=torch.float64)
    lam = torch.linalg.eigvalsh(A_of(x, s))
    k = math.exp(-d * d / (s * s))
    assert lam.tolist() == pytest.approx([(1 - k) / 2, (1 + k) / 2], abs=1e-12)
    for alpha in ALPHAS:
        assert inf.renyi_entropy(A_of(x, s), alpha).item() == pytest.approx(renyi_p([(1 - k) / 2, (1 + k) / 2],
                                                                                    alpha), abs=1e-9)


@pytest.mark.parametrize("sizes", [[5, 5], [10, 3, 7], [1, 2, 3, 4, 20], [8] * 10])
@pytest.mark.parametrize("alpha", ALPHAS)
def test_far_apart_groups_give_renyi_entropy_of_proportions(sizes, alpha):
    k = len(sizes)
    centers = 100.0 * torch.randn(k, 6, generator=gen(k))  # far apart relative to s = 1
    x = torch.cat([centers[i].expand(n, -1) for i, n in enumerate(sizes)])
    x = x[torch.randperm(len(x), generator=gen(1))]
    p = torch.tensor(sizes, dtype=torch.float64) / sum(sizes)
    h = inf.renyi_entropy(A_of(x, 1.0), alpha).item()
    assert h == pytest.approx(renyi_p(p, alpha), abs=1e-9)
    assert h == pytest.approx(inf.renyi_entropy_of_distribution(p, alpha).item(), abs=1e-9)


@pytest.mark.parametrize("alpha", ALPHAS)
def test_label_kernel_entropy_is_renyi_entropy_of_class_proportions(alpha):
    y = torch.randint(0, 10, (137,), generator=gen(3))
    p = torch.bincount(y, minlength=10).double() / len(y)
    h = inf.renyi_entropy(inf.normalize_gram(inf.label_gram(y)), alpha).item()
    assert h == pytest.approx(renyi_p(p, alpha), abs=1e-9)
    # balanced 10-class batch: log2(10) = 3.32 bits for every alpha
    yb = torch.arange(100) % 10
    assert inf.renyi_entropy(inf.normalize_gram(inf.label_gram(yb)), alpha).item() == pytest.approx(math.log2(10))
    # one-hot rows with a small width give the same matrix
    onehot = torch.nn.functional.one_hot(yb, 10).double()
    assert torch.allclose(A_of(onehot, 0.05), inf.normalize_gram(inf.label_gram(yb)), atol=1e-12)


# ----------------------------------------------------------------------------------------------- properties
@pytest.mark.parametrize("alpha", ALPHAS)
@pytest.mark.parametrize("s", [0.1, 1.0, 3.0, 30.0])
def test_entropy_bounds(alpha, s):
    n = 60
    x = torch.randn(n, 5, generator=gen(int(10 * s)))
    h = inf.renyi_entropy(A_of(x, s), alpha).item()
    assert -1e-9 <= h <= math.log2(n) + 1e-9
    # the extremes: identical rows -> 0 bits; far-apart distinct rows -> log2 N bits
    assert inf.renyi_entropy(A_of(torch.zeros(n, 5), s), alpha).item() == pytest.approx(0.0, abs=1e-9)
    assert inf.renyi_entropy(A_of(1e3 * x, s), alpha).item() == pytest.approx(math.log2(n), abs=1e-9)


@pytest.mark.parametrize("alpha", [1.01, 2.0])
def test_mutual_information_symmetric_bounded_and_permutation_invariant(alpha):
    g = gen(5)
    x = torch.randn(80, 4, generator=g)
    t = x[:, :2] + 0.3 * torch.randn(80, 2, generator=g)
    a, b = A_of(x, 1.5), A_of(t, 1.0)
    i_ab = inf.mutual_information(a, b, alpha)
    assert i_ab.item() == pytest.approx(inf.mutual_information(b, a, alpha).item(), abs=1e-10)
    ha, hb = inf.renyi_entropy(a, alpha).item(), inf.renyi_entropy(b, alpha).item()
    hab = inf.joint_entropy(a, b, alpha).item()
    assert max(ha, hb) - 1e-9 <= hab <= ha + hb + 1e-9  # Sánchez Giraldo et al. 2014, Cor. 4.2
    assert -1e-9 <= i_ab.item() <= min(ha, hb) + 1e-9
    perm = torch.randperm(80, generator=g)
    i_perm = inf.mutual_information(A_of(x[perm], 1.5), A_of(t[perm], 1.0), alpha)
    assert i_perm.item() == pytest.approx(i_ab.item(), abs=1e-9)
    assert inf.renyi_entropy(A_of(x[perm], 1.5), alpha).item() == pytest.approx(ha, abs=1e-9)


def test_self_information_equals_entropy():
    y = torch.randint(0, 7, (90,), generator=gen(6))
    ay = inf.normalize_gram(inf.label_gram(y))
    assert inf.mutual_information(ay, ay).item() == pytest.approx(inf.renyi_entropy(ay).item(), abs=1e-9)
    # groups far apart: A∘A ∝ A as well, so I(A;A) = H(A)
    x = 100.0 * torch.randn(6, 3, generator=gen(7))[y % 6]
    a = A_of(x, 1.0)
    assert inf.mutual_information(a, a).item() == pytest.approx(inf.renyi_entropy(a).item(), abs=1e-9)
    # a Gaussian kernel in general: A∘A is the Gram matrix at width s/√2, so I(A;A) = 2H(A) - H(A at s/√2)
    z = torch.randn(50, 3, generator=gen(8))
    a, a2 = A_of(z, 1.0), A_of(z, 1.0 / math.sqrt(2.0))
    assert inf.mutual_information(a, a).item() == pytest.approx(
        2 * inf.renyi_entropy(a).item() - inf.renyi_entropy(a2).item(), abs=1e-9)


def test_independent_labels_give_small_mi_and_width_extremes():
    """Small s saturates I(Y;Ŷ) at H(Y) even for predictions independent of the labels; large s sends it to 0."""
    g = gen(9)
    y = torch.arange(100) % 10
    p = torch.softmax(3 * torch.randn(100, 10, generator=g), 1)  # independent of y
    hy = math.log2(10)
    assert inf.mi_with_labels(p, y, 1e-3).item() == pytest.approx(hy, abs=1e-6)
    assert inf.mi_with_labels(p, y, 1e3).item() == pytest.approx(0.0, abs=1e-4)
    perfect = torch.nn.functional.one_hot(y, 10).double()
    assert inf.mi_with_labels(perfect, y, 0.5).item() == pytest.approx(hy, abs=1e-6)


def test_von_neumann_limit_is_continuous():
    x = torch.randn(30, 3, generator=gen(10))
    a = A_of(x, 1.0)
    h1 = inf.renyi_entropy(a, 1.0).item()
    assert inf.renyi_entropy(a, 1.0 + 1e-5).item() == pytest.approx(h1, abs=1e-3)
    assert inf.renyi_entropy(a, 1.0 - 1e-5).item() == pytest.approx(h1, abs=1e-3)


# ----------------------------------------------------------------------------------------------- gradients
def test_gradients_finite_with_repeated_rows():
    g = gen(11)
    base = torch.randn(10, 10, generator=g)
    logits = base[torch.randint(0, 10, (64,), generator=g)].clone().requires_grad_(True)  # many repeated rows
    y = torch.randint(0, 10, (64,), generator=g)
    for alpha in ALPHAS:
        logits.grad = None
        for layer in ("softmax", "logits"):
            mi = inf.mi_with_labels(inf.prediction_rows(logits, layer), y, 0.8, alpha)
            mi.backward()
            assert torch.isfinite(logits.grad).all(), (alpha, layer)
    # all rows identical: every entropy 0, gradient still finite
    same = torch.zeros(20, 10, requires_grad=True)
    inf.mi_with_labels(same, torch.arange(20) % 4, 1.0).backward()
    assert torch.isfinite(same.grad).all()


def test_gradient_matches_finite_differences():
    g = gen(12)
    x = torch.randn(12, 3, dtype=torch.float64, generator=g, requires_grad=True)
    y = torch.randint(0, 3, (12,), generator=g)

    def fn(z):
        return inf.mi_with_labels(z, y, 1.3)

    assert torch.autograd.gradcheck(fn, (x,), eps=1e-6, atol=1e-5)


def test_mi_regularized_loss_eq7():
    assert inf.transition_factor(3) == pytest.approx(0.5) and inf.transition_factor(0) == 1.0
    # f = 1 (epoch 0): pure cross-entropy, whatever the MI term
    g = gen(13)
    logits = torch.randn(50, 10, generator=g)
    y = torch.randint(0, 10, (50,), generator=g)
    loss, _, _ = inf.mi_regularized_loss(logits, y, f=1.0, width=0.5)
    assert loss.item() == pytest.approx(torch.nn.functional.cross_entropy(logits, y).item(), rel=1e-6)
    # a 2-sample toy batch by hand: logits (ln 3, 0) and (0, ln 3), labels 0 and 1, so softmax rows (3/4, 1/4) and
    # (1/4, 3/4), ‖p1 − p2‖² = 1/2; with s² = (1/2)/ln 2 the kernel's off-diagonal is 1/2 and A has eigenvalues 1/4,
    # 3/4. K_y = I: H(Y) = 1 bit = H(Y, Ŷ), so I(Y; Ŷ) = H(Ŷ) = −log2(1/16 + 9/16) = log2 1.6 = 0.6780719051 bits
    # (α = 2); CE = ln(4/3) = 0.2876820725 nats. L = ½·CE − ½·I = −0.1951949163.
    toy = torch.tensor([[math.log(3), 0.0], [0.0, math.log(3)]], dtype=torch.float64)
    loss, ce, mi = inf.mi_regularized_loss(toy, torch.tensor([0, 1]), f=0.5, width=0.8493218003, alpha=2.0)
    assert ce.item() == pytest.approx(0.2876820725, rel=1e-9)
    assert mi.item() == pytest.approx(0.6780719051, rel=1e-8)
    assert loss.item() == pytest.approx(-0.1951949163, rel=1e-8)
    # the gradient the training step follows is the loss's (finite differences, float64, f strictly inside (0, 1))
    x = torch.randn(8, 4, generator=gen(14), dtype=torch.float64, requires_grad=True)
    yx = torch.tensor([0, 1, 2, 3, 0, 1, 2, 3])
    assert torch.autograd.gradcheck(lambda z: inf.mi_regularized_loss(z, yx, f=0.3, width=0.5)[0], (x,),
                                    eps=1e-6, atol=1e-5)


# -------------------------------------------------------------------------------------------- kernel width
def test_alignment_and_width_search():
    y = torch.arange(60) % 3
    k_y = inf.label_gram(y)
    assert inf.kernel_target_alignment(k_y, k_y).item() == pytest.approx(1.0)
    k = torch.rand(60, 60, generator=gen(14), dtype=torch.float64)
    ref = (k * k_y).sum() / (k.norm() * k_y.norm())
    assert inf.kernel_target_alignment(k, k_y).item() == pytest.approx(ref.item())
    # well-separated classes with spread 0.1: the best width is neither the smallest nor the largest candidate
    g = gen(15)
    t = 3.0 * torch.nn.functional.one_hot(y, 3).double() + 0.1 * torch.randn(60, 3, generator=g, dtype=torch.float64)
    widths = inf.candidate_widths(0.01, 20.0, 100)
    assert len(widths) == 100 and widths[1] - widths[0] == pytest.approx(widths[-1] - widths[-2])
    res = inf.width_search([(t, y), (t.flip(0), y.flip(0))], widths)
    assert res.alignment.shape == (100,)
    assert res.best == pytest.approx(float(widths[int(res.alignment.argmax())]))
    assert widths[0] < res.best < widths[-1]
    curve = inf.alignment_curve(t, y, widths)
    assert curve.max() > 0.95 and torch.all((curve >= 0) & (curve <= 1 + 1e-12))


def test_silverman_width():
    """Silverman (1986, eq. 4.14): σ = σ̂ (4 / ((d + 2) N))^(1/(d+4)), and our s = √2 σ; values worked out by hand."""
    # d = 1, N = 2, rows 0 and 2: σ̂ = √2 (sample std), σ = √2 (2/3)^(1/5), s = 2 (2/3)^(1/5) = 1.8442158230
    assert inf.silverman_width(torch.tensor([[0.0], [2.0]], dtype=torch.float64)) == pytest.approx(1.8442158230)
    # d = 2, N = 4, the corners of a 2 × 4 rectangle: σ̂ = (2/√3 + 4/√3) / 2 = √3, σ = √3 · 4^(-1/6),
    # s = √6 · 2^(-1/3) = 1.9441612972
    corners = torch.tensor([[0.0, 0.0], [2.0, 0.0], [0.0, 4.0], [2.0, 4.0]], dtype=torch.float64)
    assert inf.silverman_width(corners) == pytest.approx(1.9441612972)
    # properties: the width scales with the data and ignores a shift; at a fixed spread it falls as N^(-1/(d+4))
    x = torch.randn(500, 3, generator=gen(16), dtype=torch.float64)
    s = inf.silverman_width(x)
    assert inf.silverman_width(7.5 * x + 3.0) == pytest.approx(7.5 * s)
    x4 = (x - x.mean(0)) / x.std(0)                    # unit sample std per dimension, N = 500 and N = 1000
    x8 = torch.cat([x4, -x4]) * math.sqrt(999 / 998)   # same per-dimension sample std (1), twice the rows
    assert inf.silverman_width(x8) / inf.silverman_width(x4) == pytest.approx(2 ** (-1 / 7))
    # in 1-D it is the familiar 1.06 σ̂ N^(-1/5), times √2: (4/3)^(1/5) = 1.0592
    x1 = torch.randn(500, 1, generator=gen(17), dtype=torch.float64)
    assert inf.silverman_width(x1) / math.sqrt(2) == pytest.approx(1.06 * float(x1.std()) * 500 ** -0.2, rel=1e-3)


# --------------------------------------------------------------------------------------------------- errors
@pytest.mark.parametrize("alpha", [0.0, -1.0, float("nan"), float("inf"), "two", 1e6, 10.5])
def test_bad_alpha_raises(alpha):
    a = A_of(torch.randn(5, 2, generator=gen(17)), 1.0)
    with pytest.raises(ValueError, match="alpha"):
        inf.renyi_entropy(a, alpha)
    with pytest.raises(ValueError, match="alpha"):
        inf.mutual_information(a, a, alpha)


@pytest.mark.parametrize("width", [0.0, -1.0, float("nan"), float("inf"), torch.tensor([1.0, 0.0])])
def test_bad_width_raises(width):
    x = torch.randn(5, 2, generator=gen(18))
    with pytest.raises(ValueError, match="width"):
        inf.gram_matrix(x, width)
    with pytest.raises(ValueError, match="width"):
        inf.mi_with_labels(x, torch.arange(5), width)


def test_other_bad_inputs_raise():
    g = gen(19)
    with pytest.raises(ValueError):
        inf.candidate_widths(0.0, 1.0)
    with pytest.raises(ValueError):
        inf.candidate_widths(2.0, 1.0)
    with pytest.raises(ValueError):
        inf.renyi_entropy(torch.ones(3, 4))
    with pytest.raises(ValueError):
        inf.mutual_information(torch.eye(3) / 3, torch.eye(4) / 4)
    with pytest.raises(ValueError):
        inf.transition_factor(-1)
    with pytest.raises(ValueError):
        inf.mi_regularized_loss(torch.randn(4, 3, generator=g), torch.arange(4) % 3, f=1.5, width=1.0)
    with pytest.raises(ValueError):
        inf.prediction_rows(torch.randn(4, 3, generator=g), "probits")


# -------------------------------------------------------------------------------------------------- networks
def test_shallow_cnn_size_and_layers():
    torch.manual_seed(20)  # the initial weights
    m = ShallowCNN()
    assert count_parameters(m) == 44_050
    x = torch.rand(4, 1, 28, 28, generator=gen(20))
    hs = m.hidden(x)
    assert [tuple(h.shape[1:]) for h in hs] == [(10, 12, 12), (20, 4, 4), (100,), (60,), (10,)]
    assert torch.allclose(hs[-1], m(x))


def test_resnet18_adapters():
    torch.manual_seed(21)  # the initial weights
    small = ResNet18MI("small")
    assert small.net.conv1.in_channels == 1 and small.net.conv1.stride == (1, 1)
    assert isinstance(small.net.maxpool, torch.nn.Identity)
    assert small.eval()(torch.rand(2, 1, 28, 28, generator=gen(21))).shape == (2, 10)
    paper = ResNet18MI("paper")
    assert paper.net.conv1.in_channels == 3 and paper.net.conv1.kernel_size == (7, 7)
    assert 200 < count_parameters(paper) / count_parameters(ShallowCNN()) < 300  # "roughly 200 times as many"
    with pytest.raises(ValueError):
        ResNet18MI("big")


# ------------------------------------------------------------------ the eigenvalue floor: gradient only, not value
def known_spectrum(lam, seed=30):
    """A (N, N) float64 symmetric matrix Q diag(lam) Qᵀ with a random orthogonal Q: eigenvalues exactly `lam`."""
    lam = torch.as_tensor(lam, dtype=torch.float64)
    q, _ = torch.linalg.qr(torch.randn(len(lam), len(lam), dtype=torch.float64, generator=gen(seed)))
    return q @ torch.diag(lam) @ q.T


@pytest.mark.parametrize("alpha", [0.3, 0.5, 0.9, 1.0])
def test_tiny_eigenvalues_count_in_the_value(alpha):
    # eigenvalues between 1e-16 and 1e-12 (below the gradient floor EIG_TINY, far above float64 round-off of a
    # unit-trace matrix): the old floor dropped them and biased H low by ~1e-6 bits at alpha = 0.5
    tiny = [5e-13, 2e-13, 1e-13, 5e-14, 2e-14, 1e-14]
    big = torch.tensor([0.5, 0.3, 0.15], dtype=torch.float64)
    lam = torch.cat([big / big.sum() * (1 - sum(tiny)), torch.tensor(tiny, dtype=torch.float64)])
    ref = renyi_p(lam, alpha)                    # float64 reference from the exact spectrum, no floor
    floored = renyi_p(lam[lam > inf.EIG_TINY], alpha)
    h = inf.renyi_entropy(known_spectrum(lam), alpha).item()
    assert h == pytest.approx(ref, abs=1e-7)      # eigvalsh's own accuracy on λ ~ 1e-14 at alpha = 0.3
    if alpha < 1:
        assert abs(floored - ref) > 100 * abs(h - ref)    # the floor in the value would be the larger error


@pytest.mark.parametrize("alpha", [0.5, 1.0, 1.01])
def test_gradient_finite_with_zero_and_tiny_eigenvalues(alpha):
    # 1-D points, two of them repeated: the normalised Gram matrix is singular (exact zero eigenvalues) and has
    # eigenvalues below 1e-12 (geometric decay of a Gaussian kernel on a line)
    x = torch.tensor([0.0, 0.0, 0.1, 0.2, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7], dtype=torch.float64, requires_grad=True)
    lam = torch.linalg.eigvalsh(A_of(x.detach(), 1.0))
    assert (lam < inf.EIG_TINY).sum() >= 3
    h = inf.renyi_entropy(A_of(x, 1.0), alpha)
    h.backward()
    assert torch.isfinite(h) and torch.isfinite(x.grad).all()
    mi = inf.mi_with_labels(x, torch.arange(10) % 3, 1.0, alpha)
    (g,) = torch.autograd.grad(mi, x)
    assert torch.isfinite(g).all()


def test_identical_rows_far_from_the_origin_have_distance_exactly_zero():
    # the Gram trick ‖a‖² + ‖b‖² − 2a·b cancels badly there; below its round-off a distance is set to exactly 0
    row = 100.0 * torch.randn(1, 6, dtype=torch.float64, generator=gen(31))
    x = torch.cat([row, row, row + 1.0])
    d = inf.pairwise_sq_distances(x)
    assert d[0, 1].item() == 0.0 and d[1, 0].item() == 0.0
    assert d[0, 2].item() == pytest.approx(6.0, rel=1e-9)        # a real distance is kept
