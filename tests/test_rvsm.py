"""RVSM (Xue & Xin §2; Dinh & Xin): the alternation u ← prox(w), w ← w − η(∇f + β(w − u)) and its bookkeeping."""
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from study import penalties, rvsm
from study.models.curve_cnn import CurveCNN
from study.rvsm import RVSM, fit_rvsm, normalized_magnitude_fractions, sign_changes, sparsity
from test_train_results import DeviceGuard


def test_coupling_gradient_is_beta_w_minus_u():
    torch.manual_seed(0)
    w = nn.Parameter(torch.randn(6, 7) * 0.1)
    r = RVSM(w, "tl1", lam=0.002, beta=0.7, a=0.5)
    assert torch.equal(r.u, penalties.tl1_threshold(w.detach(), 0.002, 0.7, 0.5))
    r.coupling().backward()
    assert torch.allclose(w.grad, 0.7 * (w.detach() - r.u), atol=1e-7)


@pytest.mark.parametrize("pen,a", [("l0", None), ("l1", None), ("tl1", 0.01), ("tl1", 100.0)])
def test_one_fit_step_matches_the_algorithm(pen, a):
    """One full-batch step through `fit_rvsm` equals u0 = prox(w0); w1 = w0 − η(∇f(w0) + β(w0 − u0)); u1 = prox(w1)."""
    torch.manual_seed(1)
    x, y = torch.randn(20, 5), torch.randint(0, 2, (20,))
    model = nn.Sequential(nn.Linear(5, 2))
    lam, beta, lr = 0.01, 2.0, 0.1
    w0 = model[0].weight.detach().clone()
    u0 = penalties.prox(w0, pen, lam, beta, a)
    wv = w0.clone().requires_grad_(True)
    f = F.cross_entropy(F.linear(x, wv, model[0].bias.detach()), y)
    (gf,) = torch.autograd.grad(f, wv)
    w1 = w0 - lr * (gf + beta * (w0 - u0))
    rows, state = fit_rvsm(model, model[0], x, y, penalty=pen, lam=lam, beta=beta, a=a, epochs=1, batch_size=20,
                           lr=lr, momentum=0.0, progress=False, eval_sets={"test": (x, y)})
    assert torch.allclose(model[0].weight.detach(), w1, atol=1e-6)
    assert torch.allclose(state.u, penalties.prox(w1, pen, lam, beta, a), atol=1e-6)
    metrics = {(r["metric"], r["split"]) for r in rows}
    assert {("sparsity", "-"), ("accuracy_sparse", "test"), ("accuracy", "test")} <= metrics


def test_lagrangian_descends_and_l0_recovers_support():
    """Full-batch RVSM with a small step on least squares with a 5-sparse truth: L_β(w, u) is non-increasing
    (Dinh & Xin's descent property) and u ends on the true support."""
    g = torch.Generator().manual_seed(3)
    n, d = 200, 40
    X = torch.randn(n, d, generator=g, dtype=torch.float64)
    w_true = torch.zeros(d, dtype=torch.float64)
    w_true[[2, 9, 17, 25, 33]] = torch.tensor([1.5, -2.0, 1.0, -1.2, 2.5], dtype=torch.float64)
    yv = X @ w_true
    w = nn.Parameter(torch.zeros(d, dtype=torch.float64))
    r = RVSM(w, "l0", lam=0.02, beta=1.0)
    f = lambda: 0.5 * ((X @ w - yv) ** 2).mean()  # noqa: E731
    lr = 0.05
    prev = float("inf")
    for _ in range(400):
        # the Lagrangian after the u-update must not exceed the previous one
        L = r.lagrangian(f().item())
        assert L <= prev + 1e-9
        prev = L
        loss = f() + r.coupling()
        w.grad = None
        loss.backward()
        with torch.no_grad():
            w -= lr * w.grad
        L_after_w = r.lagrangian(f().item())
        assert L_after_w <= L + 1e-9
        r.update_u()
    assert set(torch.nonzero(r.u).flatten().tolist()) == {2, 9, 17, 25, 33}
    assert r.sparsity() == pytest.approx(35 / 40)


def test_sparse_weights_context_swaps_and_restores():
    torch.manual_seed(4)
    m = CurveCNN(16)
    r = RVSM(m.fc.weight, "l0", lam=5e-4, beta=1.0)
    w = m.fc.weight.detach().clone()
    with r.sparse_weights():
        assert torch.equal(m.fc.weight.detach(), r.u)
        assert sparsity(m.fc.weight.detach()) == r.sparsity() > 0
    assert torch.equal(m.fc.weight.detach(), w)
    assert r.threshold == pytest.approx((2 * 5e-4) ** 0.5)


def test_helpers_and_errors():
    w = torch.tensor([1.0, -0.05, 0.005, 0.0, -0.0004])
    fr = normalized_magnitude_fractions(w, (1e-1, 1e-2, 1e-3))
    assert fr == {1e-1: pytest.approx(0.8), 1e-2: pytest.approx(0.6), 1e-3: pytest.approx(0.4)}
    assert sign_changes(torch.tensor([1.0, -1.0, 2.0]), torch.tensor([-1.0, -3.0, 2.0])) == 1
    with pytest.raises(ValueError):
        sign_changes(torch.ones(2), torch.ones(3))
    with pytest.raises(ValueError):
        normalized_magnitude_fractions(torch.zeros(3))
    p = nn.Parameter(torch.randn(3, generator=torch.Generator().manual_seed(5)))
    with pytest.raises(ValueError):
        RVSM(p, "l2", 0.1, 1.0)
    with pytest.raises(ValueError):
        RVSM(p, "tl1", 0.1, 1.0)  # a missing
    with pytest.raises(ValueError):
        RVSM(p, "l0", 0.1, 0.0)


def test_curve_cnn_shapes():
    torch.manual_seed(6)  # the initial weights
    m = CurveCNN(104)
    assert m.fc.weight.numel() == 692_224
    assert [c.weight.numel() for c in m.conv_layers().values()] == [288, 9216, 9216]
    assert m(torch.zeros(2, 1, 104, 104)).shape == (2, 2)
    with pytest.raises(ValueError):
        CurveCNN(30)


@pytest.mark.parametrize("penalty,a", [("l0", None), ("l1", None), ("tl1", 0.01), ("tl1", 1.0), ("tl1", 100.0)])
@pytest.mark.parametrize("lam", [3e-5, 5e-4])
def test_threshold_is_where_the_prox_turns_zero(penalty, a, lam):
    t = rvsm.threshold(penalty, lam, 1.0, a)
    w = torch.tensor([t * 0.999, t * 1.001], dtype=torch.float64)
    u = penalties.prox(w, penalty, lam, 1.0, a)
    assert u[0] == 0 and u[1] != 0
    with pytest.raises(ValueError, match="beta"):
        rvsm.threshold(penalty, lam, 0.0, a)


# ------------------------------------------------------------------------------ bad λ, β, a
GOOD = {"lam": 5e-4, "beta": 1.0, "a": 1.0}


@pytest.mark.parametrize("penalty", ["l0", "l1", "tl1"])
@pytest.mark.parametrize("name,value,accepted", [
    ("lam", -1e-3, ">= 0"), ("lam", float("nan"), ">= 0"), ("lam", float("inf"), ">= 0"), ("lam", "0.1", ">= 0"),
    ("lam", True, ">= 0"),
    ("beta", 0.0, "> 0"), ("beta", -1.0, "> 0"), ("beta", float("inf"), "> 0"), ("beta", None, "> 0"),
    ("a", 0.0, "> 0"), ("a", -2.0, "> 0"), ("a", None, "> 0"), ("a", float("nan"), "> 0"),
])
def test_threshold_and_rvsm_refuse_bad_parameters(penalty, name, value, accepted):
    """A negative λ gave the complex √(2λ/β) for l0; every bad λ, β, a is refused, naming it, its value and the
    range. `a` matters for "tl1" only."""
    args = {**GOOD, name: value}
    if name == "a" and penalty != "tl1":
        assert rvsm.threshold(penalty, **args) == rvsm.threshold(penalty, **GOOD)  # a (even a bad one) is ignored
        return
    pattern = rf"{name}={value!r}.*accepted: a finite number {accepted}".replace("(", r"\(").replace(")", r"\)")
    with pytest.raises(ValueError, match=pattern):
        rvsm.threshold(penalty, **args)
    p = nn.Parameter(torch.randn(4, generator=torch.Generator().manual_seed(7)))
    with pytest.raises(ValueError, match=pattern):
        RVSM(p, penalty, **args)


def test_threshold_is_a_real_number_at_lambda_zero_and_refuses_unknown_penalties():
    for penalty, a in [("l0", None), ("l1", None), ("tl1", 2.0)]:
        assert rvsm.threshold(penalty, 0.0, 1.0, a) == 0.0
    with pytest.raises(ValueError, match=r"penalty='l2'.*accepted"):
        rvsm.threshold("l2", 0.1, 1.0)


# ------------------------------------------------------------------------------ device paths without a GPU
@pytest.mark.parametrize("channels_last", [False, True])
@pytest.mark.parametrize("penalty,a", [("l0", None), ("l1", None), ("tl1", 1.0)])
def test_train_step_throughput_builds_u_on_the_model_device(moves_params_in_place, penalty, a, channels_last):
    """The benchmark's RVSM step with CPU data and the model sent to another device (`meta` standing in for CUDA):
    u = prox(w) is computed after the move, so no op combines the CPU and the device (it did: u was computed
    from the CPU weights, and the coupling β/2‖w − u‖² failed on CUDA; notebook 02 §7 and
    benchmarks/rvsm_throughput.py)."""
    g = torch.Generator().manual_seed(8)
    x, y = torch.rand(6, 1, 16, 16, generator=g), torch.randint(0, 2, (6,), generator=g)
    torch.manual_seed(8)
    m = CurveCNN(16)
    guard = DeviceGuard()
    with guard:
        ips = rvsm.train_step_throughput(m, m.fc, x, y, batch_size=6, steps=2, warmup=1, penalty=penalty,
                                         lam=1e-3, a=a, device="meta", channels_last=channels_last)
    assert guard.mixed == []
    assert ips > 0 and all(p.is_meta for p in m.parameters())


def test_throughput_benchmark_runs_on_a_non_cpu_device(moves_params_in_place, monkeypatch, capsys):
    """benchmarks/rvsm_throughput.py (and `study.experiments.rvsm.figures.throughput_table`, notebook 02 §7) end to end
    with ``--device meta``: every loop runs and no op combines two devices."""
    import importlib.util
    import pathlib
    path = pathlib.Path(__file__).resolve().parents[1] / "benchmarks" / "rvsm_throughput.py"
    spec = importlib.util.spec_from_file_location("rvsm_throughput_benchmark", path)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    monkeypatch.setattr("sys.argv", ["rvsm_throughput.py", "--device", "meta", "--size", "16", "--batch", "4",
                                     "--steps", "1"])
    guard = DeviceGuard()
    torch.manual_seed(12)  # the warm-up model (the measured ones are seeded by throughput_table)
    with guard:
        bench.main()
    assert guard.mixed == []
    out = capsys.readouterr().out
    assert "device=meta" in out and out.count("RVSM step (ours)") == 2


def test_fit_rvsm_keeps_u_on_the_model_device(moves_params_in_place):
    """`fit_rvsm` (coupling, prox update, sparse evaluation) on CPU data with the model on `meta`."""
    g = torch.Generator().manual_seed(9)
    x, y = torch.rand(8, 1, 16, 16, generator=g), torch.randint(0, 2, (8,), generator=g)
    torch.manual_seed(9)
    m = CurveCNN(16)
    guard = DeviceGuard()
    with guard:
        rows, state = fit_rvsm(m, m.fc, x, y, penalty="tl1", lam=1e-3, beta=1.0, a=1.0, epochs=2, batch_size=4,
                               lr=0.1, momentum=0.5, eval_sets={"test": (x, y)}, device="meta", progress=False,
                               generator=g)
    assert guard.mixed == []
    assert state.weight is m.fc.weight and state.u.is_meta and state.steps == 4
    assert {("accuracy_sparse", "test"), ("sparsity", "-")} <= {(r["metric"], r["split"]) for r in rows}


def test_rvsm_state_follows_a_model_moved_after_it_was_built(moves_params_in_place):
    """u computed on the CPU, then the model moved (as `fit` does with ``device=``): the coupling, the Lagrangian
    and the sparse network use u on w's new device."""
    torch.manual_seed(10)
    m = CurveCNN(16)
    state = RVSM(m.fc.weight, "l1", lam=1e-3, beta=2.0)
    assert state.u.device.type == "cpu"
    m.to("meta")
    guard = DeviceGuard()
    with guard:
        c = state.coupling()
        state.lagrangian(0.5)
        with state.sparse_weights():
            pass
    assert guard.mixed == [] and c.is_meta and state.u.is_meta


def test_sign_changes_across_devices():
    """The initial weights kept on the CPU against trained ones on the device: compared on the latter's device."""
    before = torch.tensor([1.0, -1.0, 2.0])
    guard = DeviceGuard()
    with guard:
        sign_changes(before, torch.tensor([-1.0, -3.0, 2.0], device="meta"))
    assert guard.mixed == []


def test_layer_must_belong_to_the_model():
    torch.manual_seed(11)
    m, other = CurveCNN(16), CurveCNN(16)
    x, y = torch.zeros(2, 1, 16, 16), torch.zeros(2, dtype=torch.long)
    with pytest.raises(ValueError, match="layer=Linear.*accepted: a module of model"):
        rvsm.train_step_throughput(m, other.fc, x, y, batch_size=2, steps=1, warmup=0)
    with pytest.raises(ValueError, match="layer=Linear.*accepted: a module of model"):
        fit_rvsm(m, other.fc, x, y, penalty="l0", lam=1e-3, beta=1.0, epochs=1, batch_size=2, lr=0.1,
                 progress=False)


# ------------------------------------------------------------------ normalisation, optimiser, coupling variants
@pytest.mark.parametrize("mode", ["max", "unit"])
def test_normalize_layer_leaves_the_network_function_unchanged(mode):
    """w/s, b/s in the dense layer and s·W in the next one: ReLU(z/s) = ReLU(z)/s for s > 0, so the logits stay."""
    torch.manual_seed(12)
    m = CurveCNN(16)
    with torch.no_grad():
        m.fc.weight.mul_(7.0)  # a scale far from 1, so the test can fail
    x = torch.rand(6, 1, 16, 16)
    opt = rvsm.ScheduledSGD(m.parameters(), lr=0.1, momentum=0.9)
    F.cross_entropy(m(x), torch.tensor([0, 1, 0, 1, 0, 1])).backward()
    opt.step()
    before = m(x).detach()
    buf = opt.state[m.fc.weight]["momentum_buffer"].clone()
    s = rvsm.normalize_layer(m.fc, m.out, mode, opt)
    w = m.fc.weight.detach()
    assert (w.abs().max() if mode == "max" else torch.linalg.vector_norm(w)).item() == pytest.approx(1.0, rel=1e-6)
    assert torch.allclose(m(x).detach(), before, rtol=1e-4, atol=1e-5)
    assert torch.allclose(opt.state[m.fc.weight]["momentum_buffer"], buf / s, rtol=1e-6)
    assert rvsm.normalize_layer(m.fc, m.out, "none") == 1.0
    with pytest.raises(ValueError, match="normalize='l2'"):
        rvsm.normalize_layer(m.fc, m.out, "l2")
    with pytest.raises(ValueError, match="next_layer takes 3 inputs"):
        rvsm.normalize_layer(m.fc, nn.Linear(3, 2), "max")


def test_scheduled_sgd_warms_up_clips_and_runs_pre_step_hooks():
    p = nn.Parameter(torch.zeros(3))
    opt = rvsm.ScheduledSGD([p], lr=1.0, momentum=0.0, warmup_steps=4, clip=0.5)
    seen = []
    opt.pre_step.append(seen.append)
    for k in range(5):
        p.grad = torch.tensor([3.0, 4.0, 0.0])  # norm 5, clipped to 0.5
        before = p.detach().clone()
        opt.step()
        step = before - p.detach()
        assert torch.allclose(step, min(1.0, (k + 1) / 4) * torch.tensor([0.3, 0.4, 0.0]), atol=1e-6)
    assert seen == [0.25, 0.5, 0.75, 1.0, 1.0]
    with pytest.raises(ValueError, match="warmup_steps=-1"):
        rvsm.ScheduledSGD([p], lr=0.1, warmup_steps=-1)
    with pytest.raises(ValueError, match="clip=0"):
        rvsm.ScheduledSGD([p], lr=0.1, clip=0)


def test_coupling_outside_momentum_is_the_public_codes_step():
    """coupling="outside": w ← w − lr·β(w − u) before a momentum SGD step on ∇f alone, then u ← prox(w)
    (tdinh15/rvsm-rgsm-admm main.py); "through" puts β(w − u) into the momentum buffer instead and differs."""
    torch.manual_seed(13)
    x, y = torch.randn(10, 5), torch.randint(0, 2, (10,))
    lam, beta, lr, mom = 0.02, 0.5, 0.1, 0.9

    def model():
        torch.manual_seed(14)
        return nn.Sequential(nn.Linear(5, 2))

    ref = model()
    w = ref[0].weight
    opt = torch.optim.SGD(ref.parameters(), lr=lr, momentum=mom)
    u = penalties.hard_threshold(w.detach(), lam, beta)
    for _ in range(3):  # 3 full-batch steps of the public loop
        loss = F.cross_entropy(ref(x), y)
        opt.zero_grad()
        loss.backward()
        with torch.no_grad():
            w -= lr * beta * (w - u)
        opt.step()
        u = penalties.hard_threshold(w.detach(), lam, beta)
    out = {}
    for coupling in ("outside", "through"):
        m = model()
        _, state = fit_rvsm(m, m[0], x, y, penalty="l0", lam=lam, beta=beta, coupling=coupling, epochs=3,
                            batch_size=10, lr=lr, optimizer=rvsm.ScheduledSGD(m.parameters(), lr=lr, momentum=mom),
                            progress=False)
        out[coupling] = (m[0].weight.detach(), state.u)
    assert torch.allclose(out["outside"][0], w.detach(), atol=1e-6) and torch.equal(out["outside"][1], u)
    assert not torch.allclose(out["through"][0], w.detach(), atol=1e-6)
    with pytest.raises(ValueError, match="ScheduledSGD"):
        m = model()
        fit_rvsm(m, m[0], x, y, penalty="l0", lam=lam, beta=beta, coupling="outside", epochs=1, batch_size=10,
                 lr=lr, optimizer=torch.optim.Adam(m.parameters()), progress=False)


def test_fit_rvsm_with_normalisation_and_epoch_end_hardening():
    torch.manual_seed(15)
    x, y = torch.rand(16, 1, 16, 16), torch.randint(0, 2, (16,))
    m = CurveCNN(16)
    rows, state = fit_rvsm(m, m.fc, x, y, penalty="l0", lam=5e-4, beta=0.1, normalize="max", next_layer=m.out,
                           epoch_end_hard=True, epochs=2, batch_size=8, lr=0.05, momentum=0.9, progress=False,
                           eval_sets={"test": (x, y)})
    w = m.fc.weight.detach()
    assert w.abs().max().item() == pytest.approx(1.0, rel=1e-6)   # max|w| = 1 survives the hard threshold
    assert torch.equal(w, state.u)                                  # w ← u at the epoch end
    assert state.sparsity() == pytest.approx(float((w.abs() <= 0.1).float().mean()))  # threshold √(2λ/β) = 0.1
    got = {(r["metric"], r["split"]) for r in rows}
    assert {("max_abs_w", "-"), ("sparsity_w", "-"), ("accuracy_sparse", "test")} <= got
    with pytest.raises(ValueError, match="next_layer"):
        fit_rvsm(m, m.fc, x, y, penalty="l0", lam=5e-4, beta=0.1, normalize="max", epochs=1, batch_size=8, lr=0.1,
                 progress=False)
    with pytest.raises(ValueError, match="coupling='inside'"):
        fit_rvsm(m, m.fc, x, y, penalty="l0", lam=5e-4, beta=0.1, coupling="inside", epochs=1, batch_size=8,
                 lr=0.1, progress=False)


# ------------------------------------------------------------- readings of the normalisation (issue 18)
class TwoLayer(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc, self.out = nn.Linear(6, 5), nn.Linear(5, 2)

    def forward(self, x):
        return self.out(F.relu(self.fc(x)))


@pytest.mark.parametrize("pen,a", [("l0", None), ("l1", None), ("tl1", 0.01)])
def test_max_comp_is_max_rescaling_with_the_raw_step_unchanged(pen, a):
    """One full-batch SGD step of `fit_rvsm(normalize="max_comp")` equals, in raw units, the literal form: rescale
    (w, b) by 1/s and the next layer by s (s = max|w|), take u' = prox(w') at the fixed threshold, step on
    f + (β/2)‖w' − u'‖² with the learning rate compensated (lr/s² for w', b'; lr·s² for the next weight), map back.
    The sparse layers agree (u = s·u') and the step is the raw step, not the s²-shrunk one of "max"."""
    torch.manual_seed(3)
    x, y = torch.randn(32, 6), torch.randint(0, 2, (32,))
    model = TwoLayer()
    with torch.no_grad():
        model.fc.weight.mul_(0.2)   # a small scale s, so that an uncompensated step would differ a lot
    lam, beta, lr = 5e-4, 0.1, 0.05
    lit = TwoLayer()
    lit.load_state_dict(model.state_dict())
    s = float(lit.fc.weight.detach().abs().max())
    assert rvsm.normalize_layer(lit.fc, lit.out, "max") == pytest.approx(s)
    u_lit = penalties.prox(lit.fc.weight.detach(), pen, lam, beta, a)
    loss = F.cross_entropy(lit(x), y) + 0.5 * beta * (lit.fc.weight - u_lit).pow(2).sum()
    loss.backward()
    with torch.no_grad():
        for p_, f in ((lit.fc.weight, 1 / s ** 2), (lit.fc.bias, 1 / s ** 2), (lit.out.weight, s ** 2),
                      (lit.out.bias, 1.0)):
            p_.sub_(lr * f * p_.grad)
    raw_w, raw_b, raw_out = s * lit.fc.weight.detach(), s * lit.fc.bias.detach(), lit.out.weight.detach() / s
    ref = TwoLayer()
    ref.load_state_dict(model.state_dict())
    _, state = fit_rvsm(model, model.fc, x, y, penalty=pen, lam=lam, beta=beta, a=a, normalize="max_comp",
                        epochs=1, batch_size=32, lr=lr, momentum=0.0, progress=False)
    assert torch.allclose(state.u.new_tensor(s) * u_lit, RVSM(ref.fc.weight, pen, lam, beta, a, scale="comp").u,
                          atol=1e-7)   # u₀ = s·prox(w₀/s)
    assert torch.allclose(model.fc.weight.detach(), raw_w, atol=1e-6)
    assert torch.allclose(model.fc.bias.detach(), raw_b, atol=1e-6)
    assert torch.allclose(model.out.weight.detach(), raw_out, atol=1e-6)
    assert torch.allclose(model(x), lit(x), atol=1e-5)   # the same network
    # the uncompensated "max" form moves the dense weight s² less (in direction): here clearly not the same step
    shrunk = TwoLayer()
    shrunk.load_state_dict(ref.state_dict())
    fit_rvsm(shrunk, shrunk.fc, x, y, penalty=pen, lam=lam, beta=beta, a=a, normalize="max", next_layer=shrunk.out,
             epochs=1, batch_size=32, lr=lr, momentum=0.0, progress=False)
    moved_comp = (model.fc.weight.detach() / model.fc.weight.detach().abs().max()
                  - ref.fc.weight.detach() / s).norm()
    moved_max = (shrunk.fc.weight.detach() - ref.fc.weight.detach() / s).norm()
    assert moved_max < 0.5 * moved_comp


def test_rel_takes_the_threshold_relative_to_max_abs_w_and_keeps_w_unscaled():
    torch.manual_seed(4)
    w = nn.Parameter(torch.randn(8, 9) * 0.03)
    st = RVSM(w, "l0", lam=5e-4, beta=0.1, scale="rel")
    s = float(w.detach().abs().max())
    assert st.threshold == pytest.approx(0.1 * s)
    assert torch.equal(st.u == 0, w.detach().abs() <= 0.1 * s)   # hard threshold at 0.1·max|w|
    assert torch.equal(RVSM(w, "l0", lam=5e-4, beta=0.1).u, torch.zeros_like(w))  # absolute 0.1 > every |w|
    st.coupling().backward()
    assert torch.allclose(w.grad, 0.1 * (w.detach() - st.u))        # β in raw units ("comp": β/s²)
    with pytest.raises(ValueError, match="scale='half'"):
        RVSM(w, "l0", lam=5e-4, beta=0.1, scale="half")
