"""The sections' findings of notebook 00 (`Findings`, joined by `merge`) and the cheap deterministic checks computed in
the notebook's process, not cached: the Hessian spectra of the risk (§2), entropy and Gibbs' inequality (App. A),
Algorithm 1 against autograd and finite differences (§3). Each draws its data and parameters from generators seeded
with the per-seed values. No run function calls any of this: editing an analysis never re-trains a network."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F

from study import backprop as bp
from study import checks, results, runs
from study import claims as cl
from study import foundations as fd

from .params import BP_POOL
from .run import DATASET, STUDY, mnist, subset

Outputs = dict[int, tuple[torch.Tensor, torch.Tensor]]


@dataclass
class Findings:
    """What one section of the notebook found. Attributes:
    values: named numbers (and small objects) the claims are built from (`claims.judge`).
    rows: tidy rows of the checks that are not runs (`study.results.COLUMNS`; `merge` adds study/dataset/seed).
    runs: tidy frame of the section's training runs (`study.runs.Sweep.frame`), or None.
    metrics: headline metrics ``{"name/method": {mean, std, ci95, n, unit}}`` over seeds (`over_seeds`).
    text: lines printed by `figures.show`.
    data: what the section's figures and tables are drawn from (`figures`).
    """

    values: dict[str, Any] = field(default_factory=dict)
    rows: list[dict[str, Any]] = field(default_factory=list)
    runs: pd.DataFrame | None = None
    metrics: dict[str, dict[str, Any]] = field(default_factory=dict)
    text: list[str] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)


def over_seeds(values: pd.Series, unit: str) -> dict[str, Any]:
    """A headline metric over seeds: {mean, std, ci95, n, unit} (`study.claims.interval`)."""
    m, ci, n = cl.interval(values)
    std = float(np.std(values, ddof=1)) if n > 1 else 0.0
    return {"mean": m, "std": std, "ci95": list(ci) if ci is not None else None, "n": n, "unit": unit}


def seed_label(seeds: Any) -> str:
    """ "3 seeds (0, 1, 2)"."""
    s = sorted(set(int(x) for x in seeds))
    return f"{len(s)} seed{'s' if len(s) != 1 else ''} ({', '.join(map(str, s))})"


def merge(*sections: Findings, seed: int) -> tuple[dict[str, Any], pd.DataFrame, dict[str, dict[str, Any]]]:
    """Join the sections' findings, in order.

    Returns:
        (values, tidy frame with exactly `study.results.COLUMNS` -- each section's check rows, seed `seed`, then its
        run rows --, headline metrics).

    Raises:
        ValueError: two sections define the same value name.
    """
    values: dict[str, Any] = {}
    parts: list[pd.DataFrame] = []
    metrics: dict[str, Any] = {}
    for f in sections:
        clash = set(values) & set(f.values)
        if clash:
            raise ValueError(f"value names {sorted(clash)} are defined by two sections")
        values.update(f.values)
        metrics.update(f.metrics)
        if f.rows:
            parts.append(results.tidy(f.rows, study=STUDY, dataset=DATASET, seed=seed))
        if f.runs is not None and len(f.runs):
            parts.append(f.runs)
    frame = pd.concat(parts, ignore_index=True) if parts else results.tidy([])
    return values, frame, metrics


def done(sweep: runs.Sweep) -> list[tuple[dict[str, Any], runs.Result]]:
    """(config, result) of every run of `sweep`.

    Raises:
        RuntimeError: a run of the sweep failed (its section cannot be analysed).
    """
    missing = [c for c, r in zip(sweep.configs, sweep.results) if r is None]
    if missing:
        raise RuntimeError(
            f"{len(missing)} of {len(sweep.configs)} runs failed, first config {missing[0]}; "
            "re-run the sweep (it retries only the failed runs)"
        )
    return [(c, r) for c, r in zip(sweep.configs, sweep.results) if r is not None]


def by_config(sweep: runs.Sweep, **columns: str) -> pd.DataFrame:
    """The sweep's rows with config values as extra columns (``columns``: new column -> config key).

    Raises:
        RuntimeError: a run of the sweep failed.
    """
    pairs = done(sweep)
    return pd.concat([r.rows.assign(**{k: c[v] for k, v in columns.items()}) for c, r in pairs], ignore_index=True)


def seed_rows(method: str, named: dict[str, pd.Series], **fixed: Any) -> list[dict[str, Any]]:
    """Tidy rows {seed, method, metric, value} of per-seed series, metric by metric."""
    return [
        {"seed": s, **fixed, "method": method, "metric": m, "value": float(ser[s])}
        for m, ser in named.items()
        for s in ser.index
    ]


def series(*dicts: dict[int, float]) -> list[pd.Series]:
    return [pd.Series(d, dtype=float).sort_index() for d in dicts]


# §2 --------------------------------------------------------------------------------------------------------------
CONVEX_MODELS = ("logistic regression (2 classes)", "soft-max regression (3 classes)", "tanh network 49-10-3")


def convexity_risks(z: torch.Tensor, y: torch.Tensor, hidden: int = 10) -> dict[str, tuple[Any, int]]:
    """The three training risks of §2's convexity check as functions of one flat float64 parameter vector.

    Args:
        z: (N, d) standardised inputs; y: (N,) labels in 0..K-1 (K = 3 here); the binary problem is class 0 vs rest.

    Returns:
        {name in `CONVEX_MODELS`: (risk(w) -> scalar nats, number of parameters)}: binary logistic regression
        (w = [weights (d), bias]), multinomial soft-max regression (W (K×d), b (K)), and a one-hidden-layer tanh
        network d-`hidden`-K (not convex).
    """
    d, K, H = z.shape[1], int(y.max()) + 1, hidden
    ybin = (y == 0).double()

    def risk_logistic(w):
        return F.binary_cross_entropy_with_logits(z @ w[:d] + w[d], ybin)

    def risk_softmax(w):
        return F.cross_entropy(z @ w[: K * d].view(K, d).T + w[K * d :], y)

    def risk_mlp(w):
        W1, b1 = w[: H * d].view(H, d), w[H * d : H * d + H]
        i = H * d + H
        W2 = w[i : i + K * H].view(K, H)
        i += K * H
        return F.cross_entropy(torch.tanh(z @ W1.T + b1) @ W2.T + w[i : i + K], y)

    sizes = [(risk_logistic, d + 1), (risk_softmax, K * d + K), (risk_mlp, H * d + H + K * H + K)]
    return dict(zip(CONVEX_MODELS, sizes))


def convexity_findings(*, seeds: list[int], classes: list[int], per_class: int, points: int) -> Findings:
    """§2 (the notes prove the cross-entropy risk convex for the linear classifier): Hessian spectra (float64,
    `torch.func.hessian`) of the risks of `convexity_risks`, per seed s of `seeds`: on `per_class` training images
    of each digit in `classes` (drawn by a generator seeded with s), average-pooled to 7×7 and standardised, at
    `points` random points (N(0, 0.5²), generator s + 1) and at a trained point (200 gradient steps of size 0.5 from
    the first). The value per seed and model is the smallest min/max eigenvalue ratio over its points.

    Raises:
        ValueError: `points` or `per_class` < 1, or no seed.
    """
    from torch.func import hessian

    for key, size in dict(points=points, per_class=per_class, n_seeds=len(seeds)).items():
        checks.need(checks.is_int(size, 1), key, size, "an integer >= 1")
    x_train, y_train = mnist("train")
    relabel = {d: i for i, d in enumerate(classes)}
    hess_rows: list[dict[str, Any]] = []
    spectra: dict[Any, list[Any]] = {}
    for s in seeds:
        idx = subset(y_train, per_class, torch.Generator().manual_seed(s), classes=classes)
        z = F.avg_pool2d(x_train[idx], 4).flatten(1).double()  # (N, 49)
        z = (z - z.mean(0)) / (z.std(0) + 1e-6)
        yk = torch.tensor([relabel[int(v)] for v in y_train[idx]])
        gH = torch.Generator().manual_seed(s + 1)
        for name, (f, n_par) in convexity_risks(z, yk).items():
            starts = [("random", torch.randn(n_par, generator=gH, dtype=torch.float64) * 0.5) for _ in range(points)]
            w = starts[0][1].clone().requires_grad_(True)
            for _ in range(200):
                (g_,) = torch.autograd.grad(f(w), w)
                with torch.no_grad():
                    w -= 0.5 * g_
            starts.append(("trained", w.detach()))
            for kind, w0 in starts:
                ev = torch.linalg.eigvalsh(hessian(f)(w0))
                if s == seeds[0]:
                    spectra.setdefault(name, []).append(ev)
                lo, hi = float(ev.min()), float(ev.max())
                row = {"seed": s, "model": name, "point": kind, "params": n_par, "min eigenvalue": lo}
                hess_rows.append({**row, "max eigenvalue": hi, "min / max": float(ev.min() / ev.max())})
    hess = pd.DataFrame(hess_rows)
    ratio = hess.groupby(["model", "seed"])["min / max"].min()
    lin = pd.concat([ratio[CONVEX_MODELS[0]], ratio[CONVEX_MODELS[1]]], axis=1).min(axis=1).sort_index()
    tanh = ratio[CONVEX_MODELS[2]].sort_index()
    return Findings(
        values={"convex_lin": lin, "convex_tanh": tanh},
        rows=[
            {
                "seed": s,
                "model": n,
                "method": "hessian",
                "metric": "min_over_max_eigenvalue",
                "value": float(ratio[(n, s)]),
            }
            for n in CONVEX_MODELS
            for s in seeds
        ],
        data={
            "hess": hess,
            "spectra": spectra,
            "points": points,
            "per_class": per_class,
            "classes": classes,
            "seeds": seeds,
        },
    )


# §3 --------------------------------------------------------------------------------------------------------------
def entropy_findings(*, outputs: Outputs, pairs: int = 20000, draws: int = 1000) -> Findings:
    """Appendix A.2-A.4, Fig. 5: H(q) of a coin, H(q, p) ≥ H(q), nats/bits = ln 2; per seed s of `outputs`
    (`simplex_outputs`): the largest H over q = 1/2 and `draws` random q, the smallest H(q, p) − H(q) over `pairs`
    random pairs of 10-outcome distributions (Dirichlet(1/2), many with p close to q), both drawn under
    ``torch.manual_seed(s + 2)`` inside `torch.random.fork_rng` (the caller's RNG is untouched), and A.4's
    |H(q, p) − H(q) − loss| on that seed's §1 test outputs (logits float64 (M, K), labels (M,)); all in bits."""
    qs = torch.linspace(0, 1, 1001, dtype=torch.float64)
    Hq = fd.entropy(fd.bernoulli(qs))
    hmax, gmin, a4, gibbs0 = {}, {}, {}, None
    for s, (logits, labels) in outputs.items():
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(s + 2)
            qr = torch.cat([torch.tensor([0.5], dtype=torch.float64), torch.rand(draws, dtype=torch.float64)])
            dirichlet = torch.distributions.Dirichlet(torch.full((10,), 0.5, dtype=torch.float64))
            Q, Pd = dirichlet.sample((pairs,)), dirichlet.sample((pairs,))
            mix = torch.rand(pairs, 1, dtype=torch.float64) ** 4  # many pairs with p close to q
        Pd = (1 - mix) * Q + mix * Pd
        gibbs = fd.cross_entropy_dist(Q, Pd) - fd.entropy(Q)  # bits, must be >= 0
        gibbs0 = gibbs if gibbs0 is None else gibbs0
        hmax[s] = float(fd.entropy(fd.bernoulli(qr)).max())
        gmin[s] = float(gibbs.min())
        P = fd.softmax(logits)
        q = F.one_hot(labels, logits.shape[1]).double()
        a4[s] = float((fd.cross_entropy_dist(q, P) - fd.entropy(q) - fd.cross_entropy(P, labels, base=2)).abs().max())
        ln2_ratio = float(fd.cross_entropy(P, labels, base=math.e).sum() / fd.cross_entropy(P, labels, base=2).sum())
    hmax_, gmin_, a4_ = series(hmax, gmin, a4)
    ent = {
        "H(1/2) bits": float(fd.entropy(fd.bernoulli(torch.tensor(0.5)))),
        "max H(q) bits (grid)": float(Hq.max()),
        "H(0), H(1)": (float(Hq[0]) + 0.0, float(Hq[-1]) + 0.0),
        "max |H(q) - H(1-q)|": float((Hq - Hq.flip(0)).abs().max()),
        f"min H(q,p) - H(q) over {pairs} pairs, worst seed": float(gmin_.min()),
        "nats / bits (last seed's §1 outputs)": ln2_ratio,
        "ln 2": math.log(2),
        "A.4: max |H(q,p) - H(q) - loss| (one-hot q, bits), worst seed": float(a4_.max()),
    }
    named = {"H_max_bits": hmax_, "gibbs_min_gap_bits": gmin_, "a4_max_gap_bits": a4_}
    return Findings(
        values={"H_max": hmax_, "gibbs_min": gmin_, "gibbs_pairs": pairs, "a4_gap": a4_},
        rows=seed_rows("entropy", named),
        data={"qs": qs, "Hq": Hq, "gibbs0": gibbs0, "ent": ent, "pairs": pairs, "seeds": hmax_.index},
    )


# §4 --------------------------------------------------------------------------------------------------------------
BP_MODEL = "cnn-conv3x3x4-maxpool-fc10"
#: the tidy row metric of each per-seed backprop value
BP_METRICS = tuple(zip(
    ("max_rel_error_vs_autograd", "max_rel_error_vs_finite_diff", "normwise_error_vs_finite_diff", "risk_gap_nats"),
    ("bp_err_ag", "bp_err_fd", "bp_err_fd_norm", "risk_gap"),
))  # fmt: skip


def _gradient_rows(s: int, what: str, params: dict[str, Any], G: Any, G_ref: Any) -> list[dict[str, Any]]:
    """One error row per parameter tensor: Algorithm 1's gradients `G` against autograd's `G_ref`."""
    return [
        {
            "seed": s,
            "input": what,
            "tensor": name,
            "entries": params[name].numel(),
            "rel. error vs autograd": bp.relative_error(G[name], G_ref[name]),
            "norm-wise vs autograd": bp.normwise_error(G[name], G_ref[name]),
        }
        for name in bp.PARAM_NAMES
    ]


def backprop_findings(
    *, seeds: list[int], samples: int, fd_samples: int, channels: int, kernel: int, random_trials: int, h: float
) -> Findings:
    """§3, Algorithm 1 (`study.backprop`) against `torch.autograd` and central finite differences (step `h`), in
    float64, per seed s of `seeds`: fresh parameters and `samples` MNIST training images average-pooled to 14×14 (the
    first `fd_samples` of them for the finite differences), plus `random_trials` Gaussian inputs with fresh
    parameters; one generator seeded with s + 3 draws everything of seed s. Per seed: the largest entry-wise relative
    error vs autograd (over every input) and the norm-wise error vs finite differences (ratios). Also Fig. 3's data
    on the first seed: one sample's arg-max positions and all gradient entries.

    Raises:
        ValueError: a size < 1, no seed, `samples` > `BP_POOL`, `fd_samples` > `samples`, or `h` not positive.
    """
    sizes = dict(samples=samples, fd_samples=fd_samples, channels=channels, kernel=kernel, n_seeds=len(seeds))
    for key, size in sizes.items():
        checks.need(checks.is_int(size, 1), key, size, "an integer >= 1")
    if samples > BP_POOL or fd_samples > samples:
        raise checks.out_of_range(
            "samples, fd_samples",
            (samples, fd_samples),
            f"1 <= fd_samples <= samples <= {BP_POOL} (the first {BP_POOL} training images)",
        )
    if random_trials < 0 or not h > 0:
        raise ValueError(f"random_trials={random_trials}, h={h}: accepted random_trials >= 0, h > 0")
    x_train, y_train = mnist("train")
    X14 = F.avg_pool2d(x_train[:BP_POOL], 2).double()  # (N, 1, 14, 14)
    err_rows, per_seed, text = [], {}, []
    for s in seeds:
        gB = torch.Generator().manual_seed(s + 3)
        sel = torch.randperm(len(X14), generator=gB)[:samples]
        Xb, Yb = X14[sel], y_train[:BP_POOL][sel]
        params = bp.init_params((1, 14, 14), channels, kernel, 2, 10, generator=gB)
        n_par = sum(v.numel() for v in params.values())
        t = time.perf_counter()
        L_bp, G_bp = bp.backprop(params, Xb, Yb)
        t_bp = time.perf_counter() - t
        t = time.perf_counter()
        L_ag, G_ag = bp.autograd_gradients(params, Xb, Yb)
        t_ag = time.perf_counter() - t
        Xf, Yf = Xb[:fd_samples], Yb[:fd_samples]
        _, G_bpf = bp.backprop(params, Xf, Yf)
        _, G_ag_f = bp.autograd_gradients(params, Xf, Yf)
        t = time.perf_counter()
        G_fd = bp.finite_differences(params, Xf, Yf, h=h)
        t_fd = time.perf_counter() - t
        rows_s = [
            {
                **row,
                "rel. error vs finite diff.": bp.relative_error(G_bpf[n], G_fd[n]),
                "max abs. error vs finite diff.": float((G_bpf[n] - G_fd[n]).abs().max()),
                "norm-wise vs finite diff.": bp.normwise_error(G_bpf[n], G_fd[n]),
                "autograd vs finite diff.": bp.relative_error(G_ag_f[n], G_fd[n]),
            }
            for n, row in zip(bp.PARAM_NAMES, _gradient_rows(s, "MNIST 14x14", params, G_bp, G_ag))
        ]
        for trial in range(random_trials):  # random inputs and parameters (autograd only: FD are slow)
            pr = bp.init_params((1, 14, 14), channels, kernel, 2, 10, generator=gB)
            Xr = torch.randn(samples, 1, 14, 14, generator=gB, dtype=torch.float64)
            Yr = torch.randint(0, 10, (samples,), generator=gB)
            _, Gr = bp.backprop(pr, Xr, Yr)
            _, Gra = bp.autograd_gradients(pr, Xr, Yr)
            rows_s += _gradient_rows(s, f"Gaussian #{trial}", pr, Gr, Gra)
        e = pd.DataFrame(rows_s)
        per_seed[s] = {
            "bp_err_ag": float(e["rel. error vs autograd"].max()),
            "bp_err_fd": float(e["rel. error vs finite diff."].max()),
            "bp_err_fd_norm": bp.normwise_error(bp.flatten(G_bpf), bp.flatten(G_fd)),
            "bp_abs_fd": float(e["max abs. error vs finite diff."].max()),
            "risk_gap": abs(L_bp - L_ag),
        }
        err_rows += rows_s
        text.append(
            f"seed {s}: {n_par} parameters; risk: Algorithm 1 {L_bp:.12f} vs torch {L_ag:.12f} nats; time: "
            f"Algorithm 1 {t_bp / len(Xb) * 1e3:.1f} ms/sample (explicit dense Jacobians), autograd "
            f"{t_ag / len(Xb) * 1e3:.2f} ms/sample, finite differences {t_fd:.1f} s for {fd_samples} samples"
        )
        if s == seeds[0]:
            first = dict(params=params, Xb=Xb, Yb=Yb, G_bp=G_bp, G_ag=G_ag, G_fd=G_fd, G_bpf=G_bpf, n_par=n_par)
            first["v0"] = per_seed[s]
    ps = pd.DataFrame(per_seed).T.sort_index()
    v = {
        "bp_err_ag": ps["bp_err_ag"],
        "bp_err_fd_norm": ps["bp_err_fd_norm"],
        "bp_err_fd": float(ps["bp_err_fd"].max()),
        "bp_abs_fd": float(ps["bp_abs_fd"].max()),
        "bp_fd_h": h,
    }
    rows = [
        {"seed": s, "model": BP_MODEL, "method": "backprop", "metric": m, "value": float(ps.loc[s, k])}
        for s in ps.index
        for m, k in BP_METRICS
    ]
    metrics = {
        "backprop_max_rel_error/vs_autograd": over_seeds(ps["bp_err_ag"], "ratio"),
        "backprop_normwise_rel_error/vs_finite_differences": over_seeds(ps["bp_err_fd_norm"], "ratio"),
    }
    worst = (
        f"worst seed: max entry-wise relative error vs autograd {ps['bp_err_ag'].max():.1e}, "
        f"vs finite differences {v['bp_err_fd']:.1e} (max absolute {v['bp_abs_fd']:.1e}); "
        f"norm-wise vs finite differences {ps['bp_err_fd_norm'].max():.1e}"
    )
    first.update(errs=pd.DataFrame(err_rows), channels=channels, seeds=seeds, ps=ps, samples=samples, h=h)
    first.update(fd_samples=fd_samples)
    return Findings(values=v, rows=rows, metrics=metrics, text=text + [worst], data=first)
