"""Yang et al. (notebook ``01_sl1_mnist``): from runs to frames and tables (the readings' frames, group norms, the
final and α-sweep tables, the equal-λ ablation) and the plots (h(u, α), Fig. 3, the α sweep). matplotlib and seaborn
are imported here only, inside the plotting functions."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import torch

from study import claims as claims_mod
from study import penalties, results, runs
from study.experiments.sl1.plan import config_rows
from study.experiments.sl1.run import total_variation


# ------------------------------------------------------------------------------------------- frames per reading
def sub_sweep(sweeps: runs.Sweep | list[runs.Sweep], configs: list[dict[str, Any]]) -> runs.Sweep:
    """The part of `sweeps` (one sweep or several) that ran `configs` (each must be one of their configs), as a
    `study.runs.Sweep`."""
    swept = sweeps if isinstance(sweeps, list) else [sweeps]
    by = {runs.canonical(c): r for sw in swept for c, r in zip(sw.configs, sw.results)}
    return runs.Sweep(list(configs), [by[runs.canonical(c)] for c in configs], {}, [])


def reading_frames(
    sweeps: runs.Sweep | list[runs.Sweep], plan: dict[str, list[dict[str, Any]]]
) -> dict[str, pd.DataFrame]:
    """``{key: config_rows of that reading's runs}`` for every key of `plan`, from the sweeps that ran
    `plan.plan_configs(plan)` (runs that failed are missing)."""
    return {key: config_rows(sub_sweep(sweeps, cfgs)) for key, cfgs in plan.items()}


def reading_rows(frames: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """The tidy rows (`study.results.COLUMNS`) of the readings' runs that the headline does not share, ``method``
    relabelled ``<method>@<choice>=<reading>`` (e.g. ``sl1@alpha=0``), for ``results.csv``."""
    head = set(frames["headline"]["run"]) if not frames["headline"].empty else set()
    parts = [
        f[~f["run"].isin(head)].assign(method=lambda d, k=k: d["method"] + "@" + k)[results.COLUMNS]
        for k, f in frames.items()
        if k != "headline" and not f.empty
    ]
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=results.COLUMNS)


# -------------------------------------------------------------------------------------- from runs to tables
def tune_label(c: dict[str, Any]) -> str:
    """The ``method`` label of a candidate run in the results, e.g. ``tune_sl1_relu_lr0.1_lam0.001_alpha0.05``."""
    s = f"tune_{c['method']}_{c['activation']}_lr{c['lr']:g}"
    s += "" if c["lam"] is None else f"_lam{c['lam']:g}"
    return s + ("" if c["alpha"] is None else f"_alpha{c['alpha']:g}")


def group_norm_frame(sweep: runs.Sweep) -> pd.DataFrame:
    """Frame (method, seed, node, norm) of the final ‖u_k‖ of a sweep's successful runs (192 rows per run)."""
    parts = [
        pd.DataFrame(
            {
                "method": c["method"],
                "seed": c["seed"],
                "node": range(len(r.artifacts["group_norms"])),
                "norm": r.artifacts["group_norms"].numpy(),
            }
        )
        for c, r in zip(sweep.configs, sweep.results)
        if r is not None
    ]
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=["method", "seed", "node", "norm"])


def epoch_tv(df: pd.DataFrame, by: list[str], metric: str = "loss") -> pd.DataFrame:
    """Total variation per epoch (`total_variation`) of each run's per-epoch training `metric` (epochs 1..E).

    Args:
        df: tidy rows (with the columns of `by` and "seed").
        by: the columns that identify a setting, e.g. ["alpha"] or ["method"].

    Returns:
        frame with `by` + ["seed", "value"] (nats per epoch).
    """
    d = df[(df["split"] == "train") & (df["metric"] == metric) & (df["epoch"] >= 1)]
    rows = [
        {
            **dict(zip(by + ["seed"], key)),
            "value": total_variation(torch.tensor(g.sort_values("epoch")["value"].to_numpy())),
        }
        for key, g in d.groupby(by + ["seed"])
    ]
    return pd.DataFrame(rows, columns=by + ["seed", "value"])


def _cell(v: pd.Series, scale: float, digits: int) -> str:
    v = v.astype(float)
    return results.fmt_pm(float(v.mean()), float(v.std()) if len(v) > 1 else 0.0, len(v), scale, digits)


def final_table(df: pd.DataFrame) -> pd.DataFrame:
    """Per method, from the final runs' rows at each run's last epoch: test accuracy (%), accuracy after pruning
    (%), pruned nodes (of 192), training error after epoch 1 and at the last epoch (data term, nats/example), each
    "mean ± std (n=seeds)"."""
    out = {}
    for m, d in df.groupby("method", sort=False):
        last = d[d["epoch"] == d["epoch"].max()]
        pick = lambda frame, metric, split: frame[(frame.metric == metric) & (frame.split == split)].value  # noqa: E731
        out[m] = {
            "test accuracy (%)": _cell(pick(last, "accuracy", "test"), 100, 2),
            "accuracy after pruning (%)": _cell(pick(last, "accuracy_pruned", "test"), 100, 2),
            "pruned nodes (of 192)": _cell(pick(last, "pruned_nodes", "-"), 1, 1),
            "training error, epoch 1": _cell(pick(d[d.epoch == 1], "loss", "train"), 1, 4),
            "training error, last epoch": _cell(pick(last, "loss", "train"), 1, 4),
        }
    return pd.DataFrame(out).T


def alpha_table(df: pd.DataFrame) -> pd.DataFrame:
    """Per (λ, α) of the α sweep (rows of `config_rows`, with ``lam`` and ``alpha`` columns), at each run's last
    epoch: smoothness of the training curves (TV per batch of the objective / penalty / data term, TV per epoch of
    the data term), pruned nodes, validation accuracy before / after pruning (%) and the final training error,
    "mean ± std (n)"."""
    tv_epoch = epoch_tv(df, ["lam", "alpha"])
    out = {}
    for (lam, a), d in df.groupby(["lam", "alpha"], sort=True):
        last = d[d["epoch"] == d["epoch"].max()]
        pick = lambda metric, split: last[(last.metric == metric) & (last.split == split)].value  # noqa: E731
        out[(lam, a)] = {
            "TV/batch objective": _cell(pick("tv_batch_objective", "train"), 1, 4),
            "TV/batch penalty (×1e-6)": _cell(pick("tv_batch_penalty", "train") * 1e6, 1, 2),
            "TV/batch data term": _cell(pick("tv_batch_loss", "train"), 1, 4),
            "TV/epoch data term": _cell(tv_epoch[(tv_epoch.lam == lam) & (tv_epoch.alpha == a)].value, 1, 4),
            "pruned nodes": _cell(pick("pruned_nodes", "-"), 1, 1),
            "val accuracy (%)": _cell(pick("accuracy", "val"), 100, 2),
            "val accuracy after pruning (%)": _cell(pick("accuracy_pruned", "val"), 100, 2),
            "final training error": _cell(pick("loss", "train"), 1, 4),
        }
    tab = pd.DataFrame(out).T
    tab.index.names = ["lambda", "alpha"]
    return tab


def equal_lambda_ablation(frames: dict[str, pd.DataFrame], chosen: dict[str, Any]) -> pd.DataFrame:
    """[our extension] SL1 at the chosen α against group L1 (SL1 at α = 0, which trains exactly as group L1) at the
    *same* λ (SL1's chosen λ), on the final runs of the headline and of the ``alpha=0`` reading: per seed, SL1 −
    group L1 of test accuracy, test accuracy after pruning, pruned nodes, train − test accuracy gap and final
    training error; mean and 95 % interval (`study.claims.interval`). An ablation, not a claim: the paper never
    compares them at equal λ. Empty without the ``alpha=0`` reading.

    Returns:
        frame with columns comparison, quantity, unit, mean, ci95, n.
    """
    cols = ["comparison", "quantity", "unit", "mean", "ci95", "n"]
    zero = frames.get(claims_mod.reading_key("alpha", 0.0))
    if zero is None or zero.empty or chosen.get("alpha") in (None, 0.0):
        return pd.DataFrame(columns=cols)
    a, b = frames["headline"], zero
    label = f"[our extension] SL1 (α = {chosen['alpha']:g}) − group L1 (α = 0), both at λ = {chosen['lam']['sl1']:g}"
    rows = []
    for q, metric, split, unit in (
        ("test accuracy", "accuracy", "test", "fraction"),
        ("test accuracy after pruning", "accuracy_pruned", "test", "fraction"),
        ("pruned nodes", "pruned_nodes", "-", "nodes"),
        ("final training error", "loss", "train", "nats"),
    ):
        d = (
            claims_mod.per_seed(a[a.method == "sl1"], metric=metric, split=split, epoch="last")
            - claims_mod.per_seed(b[b.method == "sl1"], metric=metric, split=split, epoch="last")
        ).dropna()
        if len(d):
            m, ci, n = claims_mod.interval(d)
            ci95 = None if ci is None else list(ci)
            rows.append({"comparison": label, "quantity": q, "unit": unit, "mean": m, "ci95": ci95, "n": n})
    return pd.DataFrame(rows, columns=cols)


# ------------------------------------------------------------------------------------------------------ figures
def _running_mean(x: np.ndarray, window: int) -> np.ndarray:
    """Mean over a sliding `window` of consecutive points (shorter at the start), same length as `x`."""
    c = np.cumsum(np.insert(np.asarray(x, dtype=float), 0, 0.0))
    i = np.arange(1, len(x) + 1)
    lo = np.maximum(0, i - window)
    return (c[i] - c[lo]) / (i - lo)


def plot_penalty(alpha: float):
    """SL1's h(u, α) (eq. 5) and the norm of its autograd gradient against ‖u‖ for a random unit direction scaled from
    0 to 3α, at α = 0 (group L1), α/2 and α; prints the largest |autograd − eq. (6)|. Returns the figure."""
    import matplotlib.pyplot as plt

    u0 = torch.randn(10, 1, dtype=torch.float64)
    u0 /= u0.norm()
    r = torch.linspace(0, 3 * alpha, 301, dtype=torch.float64)
    fig, ax = plt.subplots(1, 2, figsize=(10, 3.2))
    for a in (0.0, alpha / 2, alpha):
        w = (u0 * r).requires_grad_()
        h = penalties.sl1_h(w, a)
        h.sum().backward()
        err = (w.grad - penalties.sl1_grad(w.detach(), a)).abs().max().item()  # type: ignore[operator]  # set by backward()
        print(f"α = {a:g}: max |autograd − eq. (6)| = {err:.1e}")
        ax[0].plot(r, h.detach(), label=f"α = {a:g}" + (" (group L1)" if a == 0 else ""))
        ax[1].plot(r, w.grad.norm(dim=0), label=f"α = {a:g}")  # type: ignore[union-attr]  # set by backward()
    ax[0].set(xlabel="‖u‖", ylabel="h(u, α)", title="h is smooth at 0 and equals ‖u‖ beyond α")
    ax[1].set(xlabel="‖u‖", ylabel="‖∇h‖", title="gradient norm: min(‖u‖/α, 1)")
    for x in ax:
        x.legend()
    fig.tight_layout()
    return fig


def plot_fig3(sweep: runs.Sweep, final: pd.DataFrame):
    """Yang et al. Fig. 3 redrawn from the final runs: (a) the training error of every mini-batch (running mean over
    a tenth of an epoch), mean over seeds, per method, x in epochs; (b) the training error per epoch (mean over the
    epoch's batches), mean ± sd over seeds; (c) test accuracy per epoch. Returns the matplotlib figure."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    fig, ax = plt.subplots(1, 3, figsize=(15, 4))
    curves: dict[str, list[np.ndarray]] = {}
    epochs = {}
    for c, r in zip(sweep.configs, sweep.results):
        if r is not None:
            curves.setdefault(c["method"], []).append(r.artifacts["batch_loss"].numpy())
            epochs[c["method"]] = c["epochs"]
    for m, cs in curves.items():
        n = min(len(x) for x in cs)
        per_epoch = n / epochs[m]
        mean = np.mean([_running_mean(x[:n], max(1, int(per_epoch / 10))) for x in cs], axis=0)
        ax[0].plot(np.arange(1, n + 1) / per_epoch, mean, lw=1, label=m)
    ax[0].set(
        yscale="log", xlabel="epoch", ylabel="training error (nats/example)", title="(a) per mini-batch (running mean)"
    )
    ax[0].legend()
    d = final[(final.epoch >= 1) & (final.split == "train") & (final.metric == "loss")]
    sns.lineplot(data=d, x="epoch", y="value", hue="method", errorbar="sd", marker="o", ax=ax[1])
    ax[1].set(yscale="log", ylabel="training error (nats/example)", title="(b) per epoch, mean ± sd over seeds")
    d = final[(final.epoch >= 1) & (final.split == "test") & (final.metric == "accuracy")]
    sns.lineplot(data=d, x="epoch", y="value", hue="method", errorbar="sd", marker="o", ax=ax[2])
    ax[2].set(ylabel="test accuracy (fraction)", title="(c) test accuracy per epoch")
    fig.suptitle("Fig. 3 — training error per method (final runs)")
    fig.tight_layout()
    return fig


def plot_alpha_sweep(sweep: runs.Sweep, df: pd.DataFrame, chosen_alpha: float):
    """The α sweep (validation runs), one colour per λ: (a) total variation per batch of the training objective,
    (b) pruned nodes, (c) validation accuracy (solid) and after pruning (dashed), each against α (symmetric-log
    axis, α = 0 at the left; dots: seeds, line: mean); (d) the per-batch training objective over the first seed's
    last epoch at α = 0 and at the chosen α, at the largest λ. `df`: `config_rows` of the sweep. Returns the
    matplotlib figure."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(1, 4, figsize=(19, 3.9))
    last = df[df["epoch"] == df.groupby(["lam", "alpha", "seed"])["epoch"].transform("max")]
    pos = sorted(a for a in df["alpha"].unique() if a > 0)
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for j, (lam, dl) in enumerate(last.groupby("lam")):
        col = colours[j % len(colours)]
        for i, (metric, split) in enumerate(
            [("tv_batch_objective", "train"), ("pruned_nodes", "-"), ("accuracy", "val")]
        ):
            d = dl[(dl.metric == metric) & (dl.split == split)]
            ax[i].scatter(d["alpha"], d["value"], s=10, alpha=0.5, color=col)
            mean = d.groupby("alpha")["value"].mean()
            ax[i].plot(mean.index, mean.values, "-o", color=col, label=f"λ = {lam:g}")
        dp = dl[(dl.metric == "accuracy_pruned") & (dl.split == "val")].groupby("alpha")["value"].mean()
        ax[2].plot(dp.index, dp.values, "--s", color=col, mfc="none", label=f"λ = {lam:g}, after pruning")
    for i, title in enumerate(
        ["(a) TV per batch of the objective", "(b) pruned nodes (of 192)", "(c) validation accuracy"]
    ):
        ax[i].axvline(chosen_alpha, color="grey", lw=0.8, ls=":")
        ax[i].set_xscale("symlog", linthresh=pos[0] if pos else 1e-3)
        ax[i].set_xlim(left=-0.3 * (pos[0] if pos else 1e-3))
        ax[i].set(xlabel="α (0 = group L1)", title=title)
        ax[i].legend(fontsize=7)
    first, top = min(c["seed"] for c in sweep.configs), max(c["lam"] for c in sweep.configs)
    for c, r in zip(sweep.configs, sweep.results):
        if r is not None and c["seed"] == first and c["lam"] == top and c["alpha"] in (0.0, chosen_alpha):
            y = r.artifacts["batch_objective"].numpy()
            steps = len(y) // c["epochs"]
            ax[3].plot(np.arange(len(y) - steps, len(y)), y[-steps:], lw=0.7, label=f"α = {c['alpha']:g}")
    ax[3].set(xlabel="mini-batch step", ylabel="objective (nats)", title=f"(d) last epoch, λ = {top:g}, seed {first}")
    ax[3].legend()
    fig.tight_layout()
    return fig
