"""The l0 / l1 / transformed-l1 proximal operators are the argmin of λ·P(u) + (β/2)(u − w)² (Xue & Xin §2)."""
import inspect
import math
import os
import subprocess
import sys
import zlib

import pytest
import torch

from study import penalties as P

A_VALUES = [0.01, 0.1, 1.0, 100.0]


def objective(u, w, lam, beta, kind, a=None):
    """Elementwise λ·P(u) + (β/2)(u − w)² for u (G,) or (N, G) against w (N, 1)."""
    if kind == "l0":
        pen = (u != 0).double()
    elif kind == "l1":
        pen = u.abs()
    else:
        pen = P.tl1_rho(u, a)
    return lam * pen + 0.5 * beta * (u - w) ** 2


def brute_force(w, lam, beta, kind, a=None, n_grid=20001):
    """min and argmin over a fine grid of u in [-(|w|+0.1), |w|+0.1] (the minimiser lies between 0 and w), with 0."""
    r = w.abs().max().item() + 0.1
    grid = torch.cat([torch.linspace(-r, r, n_grid, dtype=torch.float64), torch.zeros(1, dtype=torch.float64)])
    vals = objective(grid.unsqueeze(0), w.unsqueeze(1), lam, beta, kind, a)  # (N, G)
    best, idx = vals.min(dim=1)
    return best, grid[idx], 2 * r / (n_grid - 1)


def random_problems(gen, n=150, a=None):
    """Random (w, λ, β) with μ = λ/β log-uniform over 1e-4 .. 1 (for TL1: over 1e-2 .. 1e2 times the branch point
    a²/(2(a+1)), so both branches of the threshold occur) and w on the scale of the threshold."""
    beta = float(10 ** (torch.rand(1, generator=gen).item() * 2 - 1))          # 0.1 .. 10
    if a is None:
        mu = float(10 ** (torch.rand(1, generator=gen).item() * 4 - 4))        # 1e-4 .. 1
    else:
        mu = a * a / (2 * (a + 1)) * float(10 ** (torch.rand(1, generator=gen).item() * 4 - 2))
    lam = mu * beta
    scale = 3.0 * math.sqrt(2 * mu) + mu
    w = (torch.rand(n, generator=gen, dtype=torch.float64) * 2 - 1) * scale
    return w, lam, beta


OPS = {"l0": lambda w, lam, beta, a: P.hard_threshold(w, lam, beta),
       "l1": lambda w, lam, beta, a: P.soft_threshold(w, lam, beta),
       "tl1": lambda w, lam, beta, a: P.tl1_threshold(w, lam, beta, a)}


def problem_seed(kind, a):
    """A seed fixed by the operator's name and a (CRC-32 of their text): the same random problems in every run,
    whatever PYTHONHASHSEED (Python's `hash` of a str changes from one interpreter to the next)."""
    return zlib.crc32(f"{kind}/{a!r}".encode())


CASES = [("l0", None), ("l1", None)] + [("tl1", a) for a in A_VALUES]


def test_problem_seeds_do_not_depend_on_pythonhashseed():
    code = f"import zlib\n{inspect.getsource(problem_seed)}\nprint([problem_seed(k, a) for k, a in {CASES!r}])"
    outs = {subprocess.run([sys.executable, "-c", code], env={**os.environ, "PYTHONHASHSEED": s}, check=True,
                           capture_output=True, text=True).stdout for s in ("1", "2", "3")}
    assert len(outs) == 1, outs
    assert len(set(problem_seed(k, a) for k, a in CASES)) == len(CASES)  # one problem set per case


@pytest.mark.parametrize("kind,a", CASES)
def test_operator_is_the_argmin(kind, a):
    gen = torch.Generator().manual_seed(problem_seed(kind, a))
    branches = set()
    for _ in range(16):
        w, lam, beta = random_problems(gen, a=a)
        u = OPS[kind](w, lam, beta, a)
        assert u.shape == w.shape and u.dtype == w.dtype
        ours = objective(u, w, lam, beta, kind, a)
        best, u_grid, h = brute_force(w, lam, beta, kind, a)
        # never worse than the grid's best, up to the grid's resolution (objective's slope * half a step)
        slack = (beta * (w.abs() + 0.1) + lam * (a + 1) / a if kind == "tl1" else beta * (w.abs() + 0.1) + lam) * h
        assert torch.all(ours <= best + slack + 1e-12), (kind, a, lam, beta)
        # and the same minimiser, except at near-ties between u = 0 and the nonzero branch
        tie = (objective(torch.zeros_like(w), w, lam, beta, kind, a) - best).abs() < 1e-6 * (1 + best.abs())
        assert torch.all(((u - u_grid).abs() <= 2 * h + 1e-9) | tie)
        if kind == "tl1":
            mu = lam / beta
            branches.add(mu <= a * a / (2 * (a + 1)))
    if kind == "tl1":
        assert branches == {True, False}, branches


@pytest.mark.parametrize("a", A_VALUES)
def test_tl1_both_threshold_branches(a):
    """Each branch of t(μ, a) separately: just below and above t the prox jumps from 0 to a nonzero minimiser."""
    for mu in [0.5 * a * a / (2 * (a + 1)), 4.0 * a * a / (2 * (a + 1)) + 1e-3]:
        t = P.tl1_threshold_value(mu, a)
        w = torch.tensor([t * (1 - 1e-6), t * (1 + 1e-6) + 1e-12, -t * (1 + 1e-6) - 1e-12], dtype=torch.float64)
        u = P.tl1_threshold(w, mu, 1.0, a)
        assert u[0] == 0 and u[1] > 0 and u[2] < 0
        best, _, h = brute_force(w, mu, 1.0, "tl1", a)
        ours = objective(u, w, mu, 1.0, "tl1", a)
        assert torch.all(ours <= best + 1e-6)


def test_tl1_tends_to_l0_as_a_to_zero():
    gen = torch.Generator().manual_seed(1)
    lam, beta = 0.005, 1.0
    w = (torch.rand(2000, generator=gen, dtype=torch.float64) * 2 - 1) * 0.5
    hard = P.hard_threshold(w, lam, beta)
    errs = [(P.tl1_threshold(w, lam, beta, a) - hard).abs().max().item() for a in [1e-2, 1e-4, 1e-6]]
    # away from the threshold itself, the error shrinks with a (the nonzero branch is w minus O(a))
    assert errs[0] > errs[1] > errs[2] and errs[2] < 1e-4, errs
    assert abs(P.tl1_threshold_value(lam / beta, 1e-8) - math.sqrt(2 * lam / beta)) < 1e-6


def test_tl1_tends_to_scaled_l1_as_a_to_infinity():
    gen = torch.Generator().manual_seed(2)
    lam, beta = 0.01, 2.0
    w = (torch.rand(2000, generator=gen, dtype=torch.float64) * 2 - 1) * 0.5
    errs = []
    for a in [1e1, 1e3, 1e5]:
        soft = P.soft_threshold(w, lam * (a + 1) / a, beta)  # ρ_a ~ (a+1)/a |x| for |x| << a
        errs.append((P.tl1_threshold(w, lam, beta, a) - soft).abs().max().item())
    assert errs[0] > errs[1] > errs[2] and errs[2] < 1e-6, errs
    assert torch.allclose(P.tl1_rho(w, 1e9), w.abs(), atol=1e-9)
    assert torch.allclose(P.tl1_rho(w[w.abs() > 1e-3], 1e-9), torch.ones_like(w[w.abs() > 1e-3]), atol=1e-5)


def test_operators_keep_shape_dtype_and_zero():
    w = torch.randn(4, 5, 6, generator=torch.Generator().manual_seed(3))
    for name in ("l0", "l1", "tl1"):
        u = P.prox(w, name, 0.01, 1.0, a=1.0)
        assert u.shape == w.shape and u.dtype == torch.float32
        assert P.prox(torch.zeros(3), name, 0.01, 1.0, a=1.0).eq(0).all()
        # λ = 0: prox is the identity
        assert torch.allclose(P.prox(w, name, 0.0, 1.0, a=1.0), w, atol=1e-6)


@pytest.mark.parametrize("bad", [dict(lam=-1e-3), dict(beta=0.0), dict(beta=-1.0), dict(a=0.0), dict(a=-2.0),
                                 dict(lam=math.nan), dict(lam=math.inf), dict(beta=math.inf), dict(a=math.nan),
                                 dict(lam="0.01"), dict(beta=None), dict(a=True)])
def test_bad_parameters_raise(bad):
    """Refused with ValueError naming the parameter, its value and the accepted range (NaN and ±inf included: an
    infinite λ or β made 0·inf = NaN in the coupling)."""
    (name, value), = bad.items()
    match = rf"{name}={value!r} is out of range; accepted: a finite number"
    args = {"lam": 0.01, "beta": 1.0, "a": 1.0, **bad}
    w = torch.randn(5, generator=torch.Generator().manual_seed(4))
    with pytest.raises(ValueError, match=match):
        P.tl1_threshold(w, args["lam"], args["beta"], args["a"])
    if "a" not in bad:
        with pytest.raises(ValueError, match=match):
            P.hard_threshold(w, args["lam"], args["beta"])
        with pytest.raises(ValueError, match=match):
            P.soft_threshold(w, args["lam"], args["beta"])
    else:
        with pytest.raises(ValueError, match=match):
            P.tl1_rho(w, args["a"])


def test_penalty_values():
    w = torch.tensor([0.0, 0.5, -2.0])
    assert P.l0(w, 2.0).item() == 4.0
    assert abs(P.tl1(w, 1.0, 1.0).item() - (2 * 0.5 / 1.5 + 2 * 2 / 3)) < 1e-6
    with pytest.raises(ValueError):
        P.prox(w, "l2", 0.1, 1.0)
    with pytest.raises(ValueError):
        P.prox(w, "tl1", 0.1, 1.0)
