"""The tables and figures of notebook 00, drawn from each section's `analysis.Findings` (its ``data``): one
``<section>_figures(findings) -> Shown`` per section, and `show`, which displays a section in the notebook. Only this
module imports matplotlib and seaborn."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
import torch

from study import backprop as bp
from study import foundations as fd

from .analysis import Findings, seed_label
from .run import DROPOUT_MC_IMAGES, N_CLASSES, SIMPLEX_HIDDEN

SIMPLEX_VERTICES = np.array([[0.0, 0.0], [1.0, 0.0], [0.5, math.sqrt(3) / 2]])  # the 2-simplex drawn in the plane
CI = ("ci", 95)


@dataclass
class Shown:
    """A section's display: tables (caption -> DataFrame or Styler) and figures (file name without .png ->
    (matplotlib Figure, caption, paper figure it redraws or ""))."""

    tables: dict[str, Any] = field(default_factory=dict)
    figures: dict[str, tuple[Any, str, str]] = field(default_factory=dict)


def show(nb: Any, f: Findings, shown: Shown) -> Findings:
    """Show a section in the notebook: its tables (with their captions), then its figures (each saved with
    ``nb.figure(fig, name, caption=..., paper_ref=...)``), then its findings' text. `nb` is the notebook's
    `study.run.Run`. Returns `f`."""
    from IPython.display import display

    for caption, table in shown.tables.items():
        print(caption)
        display(table)
    for name, (fig, caption, paper_ref) in shown.figures.items():
        nb.figure(fig, name, caption=caption, paper_ref=paper_ref)
        plt.show()
    for line in f.text:
        print(line)
    return f


def _sci(df: pd.DataFrame, cols: Iterable[str], fmt: str = "{:.2e}") -> Any:
    return df.style.format({c: fmt for c in cols}, na_rep="–")


def _boundaries(ax: Any, centre: np.ndarray, corners: np.ndarray, **kw: Any) -> None:
    """The decision-region boundaries of a simplex: from its centre to the middle of every edge."""
    for i, j in [(0, 1), (1, 2), (0, 2)]:
        mid = (corners[i] + corners[j]) / 2
        ax.plot(*zip(centre, mid), **kw)


def simplex_figures(f: Findings) -> Shown:
    """§1, Fig. 1: the 1- and 2-simplex with their decision regions; the test images of the first seed's trained
    3-class network in the 2-simplex."""
    d = f.data
    V, cls, yt, acc = SIMPLEX_VERTICES, d["classes"], d["labels"], d["acc"]
    fig = plt.figure(figsize=(14, 4.3))
    ax = fig.add_subplot(1, 3, 1)
    ax.plot([1, 0.5], [0, 0.5], color="tab:orange", lw=4, label="$P_1$")
    ax.plot([0.5, 0], [0.5, 1], color="tab:green", lw=4, label="$P_2$")
    ax.plot(0.5, 0.5, "o", color="tab:blue", ms=9, label="unit point 1/2")
    ax.set(xlim=(-0.1, 1.15), ylim=(-0.1, 1.15), xlabel="$p_1$", ylabel="$p_2$", aspect="equal")
    ax.set_title("1-simplex (2 classes)")
    ax.legend(loc="upper right")
    ax = fig.add_subplot(1, 3, 2, projection="3d")
    tri = np.eye(3)
    ax.plot_trisurf(tri[:, 0], tri[:, 1], tri[:, 2], color="0.85", alpha=0.6)
    _boundaries(ax, np.full(3, 1 / 3), tri, color="tab:blue", lw=2)
    ax.scatter(*np.full(3, 1 / 3), color="tab:blue", s=40)
    ax.set(xlabel="$p_1$", ylabel="$p_2$", zlabel="$p_3$", title="2-simplex (3 classes), boundaries meet at 1/3")
    ax.view_init(25, 35)
    ax = fig.add_subplot(1, 3, 3)
    xy = d["p3"].numpy() @ V
    for k, digit in enumerate(cls):
        sel = (yt == k).numpy()
        ax.scatter(xy[sel, 0], xy[sel, 1], s=4, alpha=0.35, label=f"digit {digit}")
    ax.plot(*np.vstack([V, V[:1]]).T, color="k", lw=1)
    _boundaries(ax, np.full(3, 1 / 3) @ V, V, color="tab:blue", lw=1.5)
    for k, digit in enumerate(cls):
        ax.annotate(f"$e_{k + 1}$ ({digit})", V[k], textcoords="offset points", xytext=(-10, -14 if k < 2 else 6))
    acc3 = float(acc.iloc[0])
    ax.set(aspect="equal", xticks=[], yticks=[], title=f"test images in the 2-simplex (accuracy {acc3:.3f})")
    ax.legend(loc="upper left", markerscale=3, fontsize=8)
    fig.tight_layout()
    caption = (
        f"Left, middle: the 1- and 2-simplex with the decision-region boundaries meeting at the unit point "
        f"1/e (drawn, no data). Right: soft-max outputs of the {len(yt)} MNIST test images of digits {cls} "
        f"for the 784-{SIMPLEX_HIDDEN}-3 MLP of seed {d['seed']} (one of {seed_label(acc.index)}), "
        "mapped into the 2-simplex with their class regions."
    )
    return Shown(figures={"fig1_softmax_simplex": (fig, caption, "Fig. 1")})


def cross_entropy_figures(f: Findings) -> Shown:
    """§2.1, Fig. 2: the two-class loss ℓ(1, p), ℓ(0, p) in bits, with the crossing found for the first seed."""
    half = f.data["half"]
    p = torch.linspace(1e-3, 1 - 1e-3, 500, dtype=torch.float64)
    h0 = float(half.iloc[0])
    fig, axs = plt.subplots(1, 2, figsize=(10, 3.8))
    axs[0].plot([0, 1], [1, 1], color="tab:blue", lw=4, label="y = 1")
    axs[0].plot([0, 1], [0, 0], color="tab:orange", lw=4, label="y = 0")
    axs[0].set(xlabel="p", ylabel="y", ylim=(-0.3, 1.3), yticks=[0, 1], title="domain {0,1} × [0,1]")
    axs[0].legend()
    axs[1].plot(p, fd.binary_cross_entropy(torch.ones_like(p), p, base=2), label=r"$\ell(1,p) = -\log_2 p$")
    axs[1].plot(p, fd.binary_cross_entropy(torch.zeros_like(p), p, base=2), label=r"$\ell(0,p) = -\log_2(1-p)$")
    axs[1].plot(0.5, h0, "ko")
    axs[1].annotate(f"  crossing: ℓ = {h0:.12g} bit", (0.5, h0))
    axs[1].set(xlabel="p", ylabel="loss (bits)", ylim=(0, 6), title="two-class cross-entropy (Fig. 2)")
    axs[1].legend()
    fig.tight_layout()
    caption = (
        "Left: the domain {0,1} × [0,1] of a two-class loss on soft-max scores. Right: the cross-entropy "
        "loss ℓ(1, p) and ℓ(0, p) in bits on 500 values of p (no data, no seed); the dot is the crossing "
        f"found by bisection from a random bracket (seed {half.index[0]})."
    )
    return Shown(figures={"fig2_cross_entropy": (fig, caption, "Fig. 2")})


def convexity_figures(f: Findings) -> Shown:
    """§2: the Hessian spectra of the first seed, and the eigenvalue table of every seed, model and point."""
    d = f.data
    fig, ax = plt.subplots(figsize=(7.5, 3.8))
    for k, (name, evs) in enumerate(d["spectra"].items()):
        for j, ev in enumerate(evs):
            ax.plot(np.sort(ev.numpy())[::-1], lw=1, color=sns.color_palette()[k], label=name if j == 0 else None)
    ax.set(
        xlabel="eigenvalue rank",
        ylabel="Hessian eigenvalue (symlog)",
        title="Hessian spectra of the cross-entropy risk",
    )
    ax.set_yscale("symlog", linthresh=1e-6)
    ax.axhline(0, color="k", lw=0.8)
    ax.legend(fontsize=8)
    fig.tight_layout()
    caption = (
        f"Sorted Hessian eigenvalues of the cross-entropy training risk (float64) of the three models, at "
        f"{d['points']} random points and one trained point, on {3 * d['per_class']} MNIST training images of digits "
        f"{d['classes']} average-pooled to 7×7; seed {d['seeds'][0]} (the table lists all {len(d['seeds'])} seeds)."
    )
    table = _sci(d["hess"], ["min eigenvalue", "max eigenvalue", "min / max"])
    return Shown(
        tables={"Hessian eigenvalues per seed, model and point": table},
        figures={"fig2b_hessian_spectra": (fig, caption, "")},
    )


def entropy_figures(f: Findings) -> Shown:
    """Appendix A, Fig. 5: the entropy of a coin, H(q, p) ≥ H(q), and Gibbs' gap over random pairs (first seed)."""
    d = f.data
    gibbs0 = d["gibbs0"]
    fig, axs = plt.subplots(1, 3, figsize=(14, 3.8))
    axs[0].plot(d["qs"], d["Hq"])
    axs[0].set(xlabel="q", ylabel="H(q) (bits)", title="entropy (Fig. 5)")
    pp = torch.linspace(1e-3, 1 - 1e-3, 500, dtype=torch.float64)
    for qv, col in zip([0.1, 0.3, 0.5], sns.color_palette()):
        h = float(fd.entropy(fd.bernoulli(torch.tensor(qv, dtype=torch.float64))))
        H = fd.cross_entropy_dist(fd.bernoulli(torch.full_like(pp, qv)), fd.bernoulli(pp))
        axs[1].plot(pp, H, color=col, label=f"H({qv}, p)")
        axs[1].axhline(h, color=col, ls=":")
        axs[1].plot(qv, h, "o", color=col)
    axs[1].set(xlabel="p", ylabel="bits", ylim=(0, 4), title="H(q, p) ≥ H(q) (dotted), equal at p = q")
    axs[1].legend()
    axs[2].hist(gibbs0.numpy(), bins=80)
    title = f"Gibbs, 10 outcomes: min = {float(gibbs0.min()):.2e}"
    axs[2].set(xlabel="H(q, p) − H(q)  (bits)", ylabel="pairs", yscale="log", title=title)
    fig.tight_layout()
    caption = (
        "Left: the entropy H(q) of a coin on 1,001 values of q (Fig. 5). Middle: the cross entropy H(q, p) "
        "for q = 0.1, 0.3, 0.5 against p, with H(q) dotted. Right: histogram of H(q, p) − H(q) over "
        f"{d['pairs']} random pairs of 10-outcome distributions (Dirichlet(1/2), many with p near q), seed "
        f"{d['seeds'][0]} of {seed_label(d['seeds'])}."
    )
    return Shown(
        tables={"entropy checks": pd.Series(d["ent"], name="value").to_frame()},
        figures={"fig5_entropy": (fig, caption, "Fig. 5")},
    )


def backprop_figures(f: Findings) -> Shown:
    """§3, Fig. 3's reading on the first seed: one sample's arg-max positions and every gradient entry of Algorithm 1
    against autograd and finite differences; the error table of every seed, input and tensor."""
    d = f.data
    channels, Xb, Yb, v0, n_par = d["channels"], d["Xb"], d["Yb"], d["v0"], d["n_par"]
    conv, dense = bp.layers(d["params"], (1, 14, 14))  # Fig. 3: the arg-max rule on one sample, and every entry
    dense.forward(conv.forward(Xb[0].reshape(-1)))
    a_map = conv.cache["a"].view(channels, conv.Ho, conv.Wo)[0]
    hit = torch.zeros(channels * conv.Ho * conv.Wo)
    hit[conv.d_act().abs().sum(0) > 0] = 1
    fig, axs = plt.subplots(1, 3, figsize=(13, 4))
    axs[0].imshow(Xb[0, 0], cmap="gray")
    axs[0].set_title(f"input (14×14), label {int(Yb[0])}")
    im = axs[1].imshow(a_map, cmap="RdBu_r", norm=plt.matplotlib.colors.CenteredNorm())
    yy, xx = np.nonzero(hit.view(channels, conv.Ho, conv.Wo)[0].numpy())
    axs[1].scatter(xx, yy, marker="s", facecolors="none", edgecolors="k", s=60)
    for k in range(0, conv.Ho + 1, 2):
        axs[1].axhline(k - 0.5, color="0.6", lw=0.5)
        axs[1].axvline(k - 0.5, color="0.6", lw=0.5)
    axs[1].set_title("map 1 activations a; □ = arg-max with a ≥ 0\n(the only entries with ∂x/∂a ≠ 0)")
    fig.colorbar(im, ax=axs[1], fraction=0.046)
    fa, fb = bp.flatten(d["G_bp"]), bp.flatten(d["G_ag"])
    axs[2].scatter(fb, fa, s=5, label="vs autograd")
    axs[2].scatter(bp.flatten(d["G_fd"]), bp.flatten(d["G_bpf"]), s=5, marker="x", label="vs finite differences")
    lim = float(max(fa.abs().max(), fb.abs().max()))
    axs[2].plot([-lim, lim], [-lim, lim], "k", lw=0.6)
    title = (
        f"all {n_par} entries; max rel. err. {v0['bp_err_ag']:.0e} (autograd),\n"
        f"{v0['bp_err_fd']:.0e} entry-wise / {v0['bp_err_fd_norm']:.0e} norm-wise (finite diff.)"
    )
    axs[2].set(xlabel="reference gradient", ylabel="Algorithm 1 gradient", title=title)
    axs[2].legend()
    fig.tight_layout()
    caption = (
        f"Algorithm 1 on the conv(3×3×{channels})-ReLU-maxpool-dense-soft-max network, seed {d['seeds'][0]} of "
        f"{seed_label(d['ps'].index)}: left, one 14×14 MNIST input; middle, its first activation map with the "
        "pooling windows' arg-max positions (the only entries the Appendix's δ rule lets through); right, "
        f"all {n_par} gradient entries of Algorithm 1 against autograd ({d['samples']} images) and against central "
        f"finite differences (h = {d['h']:g}, {d['fd_samples']} images)."
    )
    errs = d["errs"]
    table = _sci(errs, [c for c in errs.columns if "error" in c or "vs" in c], "{:.1e}")
    return Shown(
        tables={"gradient errors per seed, input and tensor": table},
        figures={"fig3_backprop_check": (fig, caption, "Algorithm 1")},
    )


def momentum_figures(f: Findings) -> Shown:
    """§4, Fig. 4: the Sutskever schedule and the training-risk curves per lr and momentum (mean over seeds); the
    choice of the learning rate on validation and the final training risks."""
    d = f.data
    c0, risk, fin = d["config"], d["risk"], d["fin"]
    fig, axs = plt.subplots(1, 2, figsize=(13, 3.8))
    ts = np.arange(0, 30001)
    for mm in [0.9, 0.99, 0.995, 0.999]:
        mu = fd.sutskever_momentum(torch.tensor(ts), mu_max=mm)
        axs[0].plot(ts, mu.numpy(), label=f"μ_max = {mm}")  # type: ignore[union-attr]  # tensor in, tensor out
    axs[0].set(xlabel="step t", ylabel="μ_t", title="Sutskever et al. momentum schedule (Fig. 4)", ylim=(0.45, 1.01))
    axs[0].legend()
    norm = plt.matplotlib.colors.LogNorm()
    kw = dict(hue="lr", style="momentum", palette="viridis", hue_norm=norm, ax=axs[1], errorbar=CI)
    sns.lineplot(data=risk, x="step", y="value", **kw)
    n = N_CLASSES * c0["per_class"]
    axs[1].set(yscale="log", ylabel="training risk (nats)", title=f"MNIST subset N={n}, B={c0['batch_size']}")
    axs[1].legend(loc="center left", bbox_to_anchor=(1.01, 0.5), fontsize=8)
    fig.tight_layout()
    table5 = fin.groupby(level=["lr", "momentum"]).mean().unstack("momentum")
    table5 = table5.rename(columns=lambda c: f"final training risk, μ: {c} (mean over seeds)")
    caption = (
        f"Left: the Sutskever et al. momentum schedule μ_t for four caps (no data; Fig. 4). Right: training "
        f"risk against SGD steps of the 784-{c0['hidden']}-10 MLP on {n} MNIST "
        f"training images, B = {c0['batch_size']}, per learning rate (colour) with μ = 0 or the schedule "
        f"capped at {c0['mu_max']} (line style); mean and 95 % interval over "
        f"{seed_label(fin.index.get_level_values('seed'))}."
    )
    return Shown(
        figures={"fig4_momentum_and_learning_rate": (fig, caption, "Fig. 4")},
        tables={
            "learning rate chosen on validation (final validation risk, nats)": d["sel"],
            "final training risk (a diverged run counts as its initial risk)": table5.style.format("{:.4f}"),
        },
    )


def minibatch_figures(f: Findings) -> Shown:
    """§4: risk against samples seen and against wall time at each B's chosen lr; the choices and final risks."""
    d = f.data
    best, N, fin = d["best"], d["N"], d["fin"]
    fig, axs = plt.subplots(1, 2, figsize=(13, 3.8))
    sns.lineplot(data=best, x="epoch", y="value", hue="setting", marker="o", ms=3, ax=axs[0], errorbar=CI)
    xlabel = f"samples seen / N  (N = {N})"
    axs[0].set(xlabel=xlabel, ylabel="training risk (nats)", yscale="log", title="equal gradient evaluations")
    kw = dict(hue="setting", marker="o", ms=3, ax=axs[1], legend=False, errorbar=None, estimator=None, units="seed")
    sns.lineplot(data=best, x="wall_s", y="value", **kw)
    axs[1].set(
        xlabel="wall time (s, incl. evaluations; this machine)",
        ylabel="training risk (nats)",
        yscale="log",
        xscale="log",
        title="the same runs against wall time",
    )
    fig.tight_layout()
    caption = (
        f"Training risk of the 784-{d['hidden']}-10 MLP (μ = 0) on N = {N} MNIST training "
        f"images for B = {', '.join(str(b) for b in d['Bs'])}, each at its learning rate chosen on validation; "
        f"left against samples seen (equal gradient evaluations; mean and 95 % interval over "
        f"{seed_label(fin.index.get_level_values('seed'))}), right against this machine's wall time (one line "
        "per seed)."
    )
    final = fin.groupby(level=["B", "lr"]).mean().unstack("lr").style.format("{:.4f}")
    return Shown(
        figures={"fig6_minibatch": (fig, caption, "")},
        tables={
            "learning rate per B chosen on validation (final validation risk, nats)": d["sel"],
            "final training risk (nats, mean over seeds; a diverged run counts as its initial risk)": final,
            "chosen settings": d["summary"],
        },
    )


def early_stopping_figures(f: Findings) -> Shown:
    """§4, early termination: training and validation error per epoch and noise level, with each seed's test error
    of the stopped and the final network (Fig. 7 of this study); the decision of every run."""
    d = f.data
    esdf, es, c0 = d["esdf"], d["es"], d["config"]
    noises = list(dict.fromkeys(es["label noise"]))
    fig, axs = plt.subplots(1, len(noises), figsize=(6.5 * len(noises), 3.8), squeeze=False)
    for ax, noise in zip(axs[0], noises):
        e = esdf[(esdf.metric == "error") & (esdf.noise == noise) & (esdf.epoch > 0) & (esdf.split != "test")]
        sns.lineplot(data=e, x="epoch", y="value", hue="split", ax=ax, errorbar=CI)
        g = es[es["label noise"] == noise]
        ax.scatter(g["stop epoch"], g["test error at stop"], marker="v", color="k", label="test, stopped net", zorder=3)
        end = [c0["epochs"]] * len(g)
        ax.scatter(end, g["test error at end"], marker="s", color="tab:red", label="test, final net", zorder=3)
        ax.set(ylabel="zero-one error", title=f"label noise {noise:.0%}", yscale="log")
        ax.legend(fontsize=8)
    fig.tight_layout()
    caption = (
        f"Training and validation zero-one error per epoch (mean and 95 % interval over "
        f"{seed_label(es.seed)}) of the 784-{c0['hidden']}-10 MLP on {N_CLASSES * c0['per_class']} MNIST "
        f"training images, validation {N_CLASSES * c0['val_per_class']} held-out training images, per label-"
        f"noise level; triangles: test error of the network kept at the validation minimum (per seed), "
        f"squares: test error after all {c0['epochs']} epochs (first {c0['test_size']} test images)."
    )
    styled = es.style.format({c: "{:.4f}" for c in es.columns if "error" in c or "gain" in c})
    return Shown(
        tables={"early termination per run (stop epoch chosen on validation)": styled},
        figures={"fig7_early_termination": (fig, caption, "")},
    )


def dropout_figures(f: Findings) -> Shown:
    """§5, dropout: the training curves and per-seed gaps per variant (Fig. 8a of this study), the Monte Carlo
    convergence of the first seed's expectation check (Fig. 8b), and the gaps per variant (mean, std over seeds)."""
    d = f.data
    dodf, dos, c0, mcdf = d["dodf"], d["dos"], d["config"], d["mc"]
    p = c0["p"]
    cols = ["train error", "test error", "gap (test - train)", "risk gap (nats)"]
    dsum = dos.groupby("variant", sort=False)[cols].agg(["mean", "std"])
    fig_a, axs = plt.subplots(1, 2, figsize=(13, 3.8))
    e = dodf[(dodf.metric == "error") & (dodf.epoch > 0) & (dodf.split == "train")]
    sns.lineplot(data=e, x="epoch", y="value", hue="variant", ax=axs[0], errorbar=CI)
    title = f"dropout on an MNIST subset (N = {N_CLASSES * c0['per_class']})"
    axs[0].set(yscale="log", ylabel="training zero-one error", title=title)
    axs[0].legend(fontsize=8)
    sns.stripplot(data=dos, x="variant", y="gap (test - train)", ax=axs[1], size=7)
    axs[1].set(xlabel="", ylabel="test − train error (test-time network)", title="generalisation gap per seed")
    axs[1].tick_params(axis="x", labelsize=7)
    fig_a.tight_layout()
    fig_b, ax = plt.subplots(figsize=(6.5, 3.8))
    for col in mcdf.columns[1:]:
        ax.plot(mcdf.M, mcdf[col], "o-", label=col)
    ax.plot(mcdf.M, mcdf.iloc[0, 1] / np.sqrt(mcdf.M), "k:", label="∝ 1/√M")
    ylabel = "mean |MC mean − test-time| / mean |test-time|"
    ax.set(
        xscale="log", yscale="log", xlabel="masks M", ylabel=ylabel, title="dropout in expectation = test-time scaling"
    )
    ax.legend(fontsize=8)
    fig_b.tight_layout()
    cap_a = (
        f"Left: training zero-one error per epoch (mean and 95 % interval over {seed_label(dos.seed)}) of the "
        f"784-{'-'.join(map(str, c0['hidden']))}-10 MLP on {N_CLASSES * c0['per_class']} MNIST training images "
        f"without dropout, with the notes' dropout (keep p = {p}, weights × p at test) and with PyTorch's inverted "
        f"dropout. Right: the test − train error gap of the test-time network per seed (first {c0['test_size']} "
        "test images)."
    )
    cap_b = (
        f"Relative Monte Carlo error of the mean over M dropout masks of the pre-activations after the first "
        f"hidden dropout layer against the test-time value (notes: weights × p; PyTorch: inverted dropout), on "
        f"{DROPOUT_MC_IMAGES} test images, for the trained 'notes' network of seed {d['mc_seed']}; dotted: 1/√M."
    )
    return Shown(
        tables={
            "train/test error and gaps per variant (mean, std over seeds)": dsum.style.format("{:.4f}", na_rep="–")
        },
        figures={"fig8a_dropout_training": (fig_a, cap_a, ""), "fig8b_dropout_expectation": (fig_b, cap_b, "")},
    )
