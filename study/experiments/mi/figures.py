"""Notebook 03's tables and figures (matplotlib and seaborn are imported here only, when a figure is drawn): the width
demo and the width dependence of I(Y;Ŷ), the cost of one MI term, the DPI and gap tables, Figs. 1 and 3-6 and the
information plane."""

from __future__ import annotations

import math
import time
from typing import Any

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F

from study import information as inf

from .analysis import gaps
from .claims import PAPER_ALPHA


def width_demo(seed: int, alpha: float = PAPER_ALPHA) -> tuple[pd.DataFrame, float, float]:
    """I(Y;Ŷ) against the width s for one balanced batch (N = 100, 10 classes) of softmax rows independent of the
    labels and of rows informative about them (60 widths, 10^-3 .. 10^1.5).

    Returns:
        (frame with columns s, predictions, "I(Y;Ŷ) [bits]"; I of the independent rows at s = 0.001; at s = 30).
    """
    g = torch.Generator().manual_seed(seed)
    y = torch.arange(100) % 10
    independent = torch.softmax(3.0 * torch.randn(100, 10, generator=g), 1)
    informative = torch.softmax(3.0 * F.one_hot(y, 10).float() + 1.0 * torch.randn(100, 10, generator=g), 1)
    demo = pd.DataFrame(
        [
            {"s": float(s), "predictions": nm, "I(Y;Ŷ) [bits]": float(inf.mi_with_labels(p, y, float(s), alpha))}
            for s in torch.logspace(-3, 1.5, 60, dtype=torch.float64)
            for nm, p in [("independent of Y", independent), ("informative", informative)]
        ]
    )
    return (
        demo,
        float(inf.mi_with_labels(independent, y, 1e-3, alpha)),
        float(inf.mi_with_labels(independent, y, 30.0, alpha)),
    )


def width_dependence(
    configs: list[dict[str, Any]], artifacts: list[dict[str, Any] | None], seed: int
) -> tuple[pd.DataFrame, dict[tuple[str, str], float]]:
    """I(Y;Ŷ) of the final CE model (first seed of each (model, data set)) on its MI evaluation batches against s
    (40 widths, 10^-3 .. 10^1), with the true labels and with the labels shuffled within each batch (generator
    seeded `seed` per (model, data set)); and Silverman's width (`study.information.silverman_width`, per batch,
    averaged).

    Returns:
        (frame with columns "net/data", s, labels, "I(Y;Ŷ) [bits]"; {(model, data set): Silverman width}).
    """
    first: dict[tuple[str, str], tuple[dict[str, Any], dict[str, Any]]] = {}
    for cfg, art in zip(configs, artifacts):
        if cfg["method"] == "ce" and art is not None:
            first.setdefault((cfg["model"], cfg["dataset"]), (cfg, art))
    wrows, silver = [], {}
    for key, (cfg, art) in sorted(first.items()):  # panels in sorted order (`plot_width_dependence`)
        bs, alpha = cfg["batch_size"], cfg["alpha"]
        pairs = list(zip(art["yhat"]["train"][-1].split(bs), art["y_mi"]["train"].split(bs)))
        silver[key] = float(
            np.mean([inf.silverman_width(t) for t, _ in pairs if not bool((t == t[:1]).all())] or [float("nan")])
        )
        gsh = torch.Generator().manual_seed(seed)
        for s_ in torch.logspace(-3, 1, 40, dtype=torch.float64):
            for lab, shuffle in (("true labels", False), ("shuffled labels", True)):
                v = torch.stack(
                    [
                        inf.mi_with_labels(
                            t, yb[torch.randperm(len(yb), generator=gsh)] if shuffle else yb, float(s_), alpha
                        )
                        for t, yb in pairs
                    ]
                ).mean()
                wrows.append(
                    {"net/data": f"{key[0]}/{key[1]}", "s": float(s_), "labels": lab, "I(Y;Ŷ) [bits]": float(v)}
                )
    return pd.DataFrame(wrows), silver


def width_dependence_summary(wdf: pd.DataFrame, s_star: dict, silver: dict) -> list[str]:
    """One line per (model, data set): I(Y;Ŷ) with true / shuffled labels at s* and at Silverman's width."""
    lines = []
    for key in sorted(silver):
        sub = wdf[wdf["net/data"] == f"{key[0]}/{key[1]}"]

        def at(s_: float, lab: str) -> float:
            cur = sub[sub.labels == lab]
            return float(np.interp(np.log(s_), np.log(cur["s"]), cur["I(Y;Ŷ) [bits]"]))

        lines.append(
            f"{key}: s* = {s_star[key]:.3f}, Silverman = {silver[key]:.3f}; I(Y;Ŷ) true/shuffled labels at "
            f"s*: {at(s_star[key], 'true labels'):.2f}/{at(s_star[key], 'shuffled labels'):.2f} bits, at "
            f"Silverman: {at(silver[key], 'true labels'):.2f}/{at(silver[key], 'shuffled labels'):.2f} bits"
        )
    return lines


# ------------------------------------------------------------------------------------------- cost of one MI term
def mi_term_seconds(n: int, repeats: int, device: torch.device | str = "cpu", alpha: float = PAPER_ALPHA) -> float:
    """Median wall seconds of one I(Y;Ŷ) term, forward + backward, on softmax rows (n, 10) of random logits (three
    Gram matrices and three eigendecompositions, float64; O(n³)). One untimed warm-up call, then `repeats` timed.
    Runs with the calling process's torch threads (a measurement, not a cached run).

    Raises:
        ValueError: n < 2 or repeats < 1.
    """
    if n < 2 or repeats < 1:
        raise ValueError(f"n={n} must be >= 2 and repeats={repeats} >= 1")
    device = torch.device(device)
    g = torch.Generator().manual_seed(n)
    logits = torch.randn(n, 10, generator=g).to(device).requires_grad_(True)
    y = torch.randint(0, 10, (n,), generator=g).to(device)
    times = []
    for r in range(repeats + 1):
        if device.type == "cuda":
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        inf.mi_with_labels(F.softmax(logits, 1), y, 0.5, alpha).backward()
        if device.type == "cuda":
            torch.cuda.synchronize()
        if r:  # the first call is a warm-up
            times.append(time.perf_counter() - t0)
    return float(np.median(times))


def mi_cost_table(
    sizes: list[int], repeats: int, device: torch.device | str = "cpu", alpha: float = PAPER_ALPHA
) -> tuple[pd.DataFrame, float]:
    """(frame N, ms of `mi_term_seconds` per batch size; fitted exponent b of time ∝ N^b, NaN for one size)."""
    cost = pd.DataFrame([{"N": n, "ms": 1e3 * mi_term_seconds(n, repeats, device, alpha)} for n in sizes])
    slope = float(np.polyfit(np.log(cost["N"]), np.log(cost["ms"]), 1)[0]) if len(cost) > 1 else float("nan")
    return cost, slope


# ------------------------------------------------------------------------------------------------------- tables
def input_widths_summary(table: pd.DataFrame) -> pd.DataFrame:
    """Per (model, data set, width of X): the mean width, I(Y;X) and H(Y) (bits), the largest |I(Y;X) − H(Y)| over
    the batches (≤ `VACUOUS_BITS`: the DPI check is vacuous there) and the number of batches."""
    t = table.assign(dev=(table.i_yx_bits - table.h_y_bits).abs())
    aggs = {"width": ("width", "mean"), "i_yx_bits": ("i_yx_bits", "mean"), "h_y_bits": ("h_y_bits", "mean")}
    aggs |= {"max_abs_i_minus_h": ("dev", "max"), "batches": ("batch", "size")}
    return t.groupby(["model", "dataset", "x_width"]).agg(**aggs).reset_index()


def gap_table(df: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(per-run gaps of CE for both methods and of L for L-training; their mean ± std over seeds)."""
    gap_df = pd.concat([gaps(df, "ce_nats"), gaps(df[df.method == "mi"], "objective_L")])
    aggs = {f"{k}_{s}": (f"gap_{k}", s) for k in ("final", "last5") for s in ("mean", "std")}
    tab = gap_df.groupby(["model", "dataset", "metric", "method"]).agg(**aggs, n=("seed", "size")).reset_index()
    return gap_df, tab


# ------------------------------------------------------------------------------------------------------- figures
def _sns():
    import matplotlib.pyplot as plt
    import seaborn as sns

    return plt, sns


_UNSHARED = {"sharey": False, "sharex": False}


def _panels(rows: pd.DataFrame, methods: dict[str, str]) -> pd.DataFrame:
    """A copy of `rows` with a panel column "net/data" and the methods renamed by `methods`."""
    sel = rows.copy()
    sel["net/data"] = sel["model"] + " / " + sel["dataset"]
    sel["method"] = sel["method"].map(methods)
    return sel


def _epoch_lines(data: pd.DataFrame, **kw: Any) -> Any:
    """seaborn line panels of ``value`` per epoch, mean ± std over seeds (band); `kw` for `seaborn.relplot`."""
    _, sns = _sns()
    return sns.relplot(data=data, x="epoch", y="value", kind="line", errorbar="sd", **kw)


def plot_width_demo(demo: pd.DataFrame):
    """Figure: I(Y;Ŷ) against s for `width_demo`'s two kinds of predictions (log s axis, H(Y) dashed)."""
    plt, sns = _sns()
    fig, ax = plt.subplots(figsize=(6.5, 3.6))
    sns.lineplot(data=demo, x="s", y="I(Y;Ŷ) [bits]", hue="predictions", ax=ax)
    ax.axhline(math.log2(10), ls="--", c="grey", lw=1)
    ax.text(1.2e-3, math.log2(10) + 0.05, "H(Y) = log₂10", color="grey")
    ax.set_xscale("log")
    ax.set_title("Softmax predictions of one balanced batch (N = 100), α = 1.01")
    return fig


def plot_alignment(configs: list[dict], artifacts: list[dict | None], s_star: dict):
    """Fig. 1: per (model, data set) one grey alignment curve per CE run and epoch ≥ 1, black dots at the maxima,
    red line at s*."""
    plt, _ = _sns()
    keys = sorted(s_star)
    fig, axes = plt.subplots(1, len(keys), figsize=(5 * len(keys), 3.6), squeeze=False)
    for ax, key in zip(axes[0], keys):
        for cfg, art in zip(configs, artifacts):
            if cfg["method"] != "ce" or (cfg["model"], cfg["dataset"]) != key or art is None:
                continue
            for e in range(1, len(art["width_best"])):
                ax.plot(art["widths"].numpy(), art["alignment"][e], c="grey", lw=0.6, alpha=0.6)
                ax.plot(art["width_best"][e], art["alignment"][e].max(), "k.", ms=5)
        ax.axvline(s_star[key], c="tab:red", lw=1.5, label=f"s* = {s_star[key]:.3f}")
        ax.set(title=f"{key[0]} / {key[1]}", xlabel="kernel width s (Ŷ = softmax rows)", ylabel="alignment")
        ax.legend()
    return fig


def plot_width_dependence(wdf: pd.DataFrame, s_star: dict, silver: dict):
    """I(Y;Ŷ) against s of the final CE models, true vs shuffled labels, with s* (red) and Silverman (green)."""
    _, sns = _sns()
    g = sns.relplot(
        data=wdf, x="s", y="I(Y;Ŷ) [bits]", hue="labels", col="net/data", kind="line", height=3.3, aspect=1.2
    )
    for ax, key in zip(g.axes.flat, sorted(silver)):
        ax.set_xscale("log")
        ax.axvline(s_star[key], c="tab:red", lw=1, label="s*")
        ax.axvline(silver[key], c="tab:green", lw=1, ls="--", label="Silverman")
        ax.axhline(math.log2(10), c="grey", lw=1, ls=":")
        ax.legend(fontsize=8)
    return g.figure


def plot_curves(df: pd.DataFrame, metric: str, split: str, ylabel: str, hline: dict | None = None):
    """Figs. 3/4: `metric` on `split` per epoch, CE vs L, one panel per (model, data set), mean ± std over seeds;
    `hline` {(model, data set): (value, ...)} draws I(Y;X) dashed."""
    sel = _panels(df[(df.metric == metric) & (df.split == split)], {"ce": "CE", "mi": "L (eq. 7)", "mi_only": "I only"})
    g = _epoch_lines(sel, hue="method", col="net/data", height=3.2, aspect=1.15, facet_kws=_UNSHARED)
    g.set_ylabels(ylabel)
    g.set_titles("{col_name}")
    if hline is not None:
        for ax, (nd, _) in zip(g.axes.flat, sel.groupby("net/data", sort=False)):
            m_, n_ = nd.split(" / ")
            ax.axhline(hline[(m_, n_)][0], c="grey", ls="--", lw=1, label="I(Y;X)")
    return g.figure


def plot_train_test(df: pd.DataFrame) -> dict[str, Any]:
    """Fig. 5: per (model, data set) train vs test CE for both methods and L for L-training; {figure name: figure}."""
    sel = df[
        df.split.isin(["train", "test"])
        & df.method.isin(["ce", "mi"])
        & ((df.metric == "ce_nats") | ((df.metric == "objective_L") & (df.method == "mi")))
    ].copy()
    sel["curve"] = (
        sel["method"].map({"ce": "CE-trained", "mi": "L-trained"})
        + ": "
        + sel["metric"].map({"ce_nats": "CE", "objective_L": "L"})
    )
    figs = {}
    for key in sorted(set(zip(sel.model, sel.dataset))):
        sub = sel[(sel.model == key[0]) & (sel.dataset == key[1])]
        g = _epoch_lines(sub, hue="split", col="curve", height=3.0, aspect=1.1, facet_kws={"sharey": False})
        g.figure.suptitle(f"{key[0]} / {key[1]}", y=1.03)
        figs[f"fig5_train_test_{key[0]}_{key[1]}"] = g.figure
    return figs


def plot_grad_norm(df: pd.DataFrame):
    """Fig. 6: ‖∇θ I(Y;Ŷ)‖₂ per epoch under L (and, beyond the figure, under I alone), one panel per (model, data
    set), mean ± std over seeds."""
    gn = _panels(df[df.metric == "grad_norm_mi"], {"mi": "L (eq. 7)", "mi_only": "I only"})
    g = _epoch_lines(gn, col="net/data", hue="method", height=3.0, aspect=1.1, facet_kws=_UNSHARED)
    g.set_ylabels("‖∇θ I(Y;Ŷ)‖₂")
    return g.figure


def plot_information_plane(df: pd.DataFrame):
    """I(X;T) against I(T;Y) per layer T and epoch (colour), CE vs L, one row per data set; None without rows."""
    _, sns = _sns()
    pl = df[df.metric.str.startswith("plane_i")].copy()
    if not len(pl):
        return None
    pl["layer"] = pl.metric.str.split("/").str[1]
    pl["q"] = pl.metric.str.split("/").str[0]
    pw = pl.pivot_table(
        index=["dataset", "method", "seed", "epoch", "layer"], columns="q", values="value"
    ).reset_index()
    pw["method"] = pw["method"].map({"ce": "CE", "mi": "L"})
    style = {"hue": "epoch", "style": "layer", "col": "method", "row": "dataset", "palette": "viridis"}
    g = sns.relplot(data=pw, x="plane_ixt_bits", y="plane_ity_bits", height=3.2, aspect=1.1, s=40, **style)
    g.set_axis_labels("I(X;T) [bits]", "I(T;Y) [bits]")
    g.set_titles("{row_name} | {col_name}")
    return g.figure
