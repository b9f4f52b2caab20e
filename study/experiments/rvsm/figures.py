"""Xue & Xin (notebook ``02_rvsm_curves``): the data table of §1 (`generate_data`), the tables (`tables_1_2`,
`table_3`, `readings_table`, `ablation_table`, `throughput_table`) and the figures (`samples_figure`, `fig4`,
`fig6`, `readings_figure`). matplotlib and seaborn are imported inside the figure functions only, so that importing
the package (a run worker does) draws nothing in."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd
import torch

from study import claims as claims_mod
from study import curves
from study.experiments.rvsm.claims import PAPER_T3, PAPER_T12, headline_rows, last_rows, values
from study.experiments.rvsm.params import VARIANT_TEXT, Params, fmt_a
from study.experiments.rvsm.plan import data_config, headline_values, reading_keys
from study.experiments.rvsm.run import SCALES, load_curve_set, method_label, method_spec
from study.models.curve_cnn import CurveCNN
from study.rvsm import threshold as rvsm_threshold


def generate_data(p: Params, seed: int) -> tuple[dict[str, curves.CurveSet], pd.DataFrame]:
    """Generate (or load) every data set of the plan with the notebook's `seed`, as the runs will
    (`run.load_curve_set`), and the table of §1: images, size, cache hit, load/generation seconds and the ink
    give-away check (`study.curves.ink_giveaway`)."""
    data: dict[str, curves.CurveSet] = {}
    rows = []
    for d in p.datasets:
        cs = load_curve_set(d, data_config(p, d, seed))
        manifest = curves.CACHE_DIR / f"{d}-{curves.cache_key(cs.params, cs.seed)}.json"
        gen_s = pd.read_json(manifest, typ="series")["generation_seconds"] if manifest.exists() else cs.seconds
        data[d] = cs
        row: dict[str, Any] = {"dataset": d, "images": p.n_train + p.n_test, "size": f"{p.image_size}×{p.image_size}"}
        row |= {"loaded from cache": cs.cached, "this call (s)": round(cs.seconds, 2)}
        row |= {"generation (s)": round(float(gen_s), 2)}
        rows.append(row | {k: round(v, 4) for k, v in curves.ink_giveaway(cs).items()})
    return data, pd.DataFrame(rows)


def threshold_of(method: str, lam: float, beta: float) -> float:
    """|w| at or below which u = 0 for an RVSM method at (λ, β) (`study.rvsm.threshold`)."""
    _, penalty, a = method_spec(method)
    return rvsm_threshold(penalty, lam, beta, a)  # type: ignore[arg-type]  # None refused there


def ci_text(v: pd.Series, scale: float = 100, digits: int = 1) -> str:
    """ "m [lo, hi] (n=k)" (95 % t-interval, `study.claims.interval`) in percent by default; "—" when empty."""
    if len(v) == 0:
        return "—"
    m, ci, n = claims_mod.interval(v)
    if ci is None:
        return f"{m * scale:.{digits}f} (n={n})"
    return f"{m * scale:.{digits}f} [{ci[0] * scale:.{digits}f}, {ci[1] * scale:.{digits}f}] (n={n})"


def reading_range(last: pd.DataFrame, d: str, m: str, metric: str, split: str, readings: Iterable[str]) -> str:
    """ "lo–hi": the smallest and largest per-reading mean (percent, headline included) of one metric of method `m`
    on data set `d` over `readings` (keys of `plan.reading_keys`; readings without runs of `m` are skipped); "—"
    when fewer than two readings have runs."""
    means = [values(last, d, method_label(m, k), metric, split).mean() for k in ["", *readings]]
    means = [v * 100 for v in means if v == v]
    return f"{min(means):.1f}–{max(means):.1f}" if len(means) > 1 else "—"


def tables_1_2(df: pd.DataFrame, p: Params, readings: Iterable[str] = ()) -> dict[str, pd.DataFrame]:
    """Tables 1 (letters) and 2 (shapes): per RVSM penalty at the paper's λ, β: threshold, sparsity of u and test
    accuracy of u and of w (ours: mean [95 % CI] (n) in percent) beside the paper's, plus the dense baseline row;
    keyed by data set. With `readings` (keys of `plan.reading_keys`), the table of ``tune_dataset`` also gives the
    range (min–max of the per-reading means, headline included) of sparsity and sparse accuracy over those
    readings."""
    last = last_rows(df)
    out: dict[str, pd.DataFrame] = {}
    for d in p.datasets:
        rows = []
        for m in p.rvsm_methods + ["sgd_plain"]:
            ps, pa = PAPER_T12[d].get(m, (None, None))
            rv = m.startswith("rvsm")
            row: dict[str, Any] = {"penalty": m.replace("rvsm_", "") if rv else "none (dense baseline)"}
            row |= {"threshold t": round(threshold_of(m, p.lam, p.beta), 5) if rv else None}
            row |= {"sparsity % (paper)": ps, "sparsity % (ours)": ci_text(values(last, d, m, "sparsity", "-"))}
            row |= {"accuracy % (paper)": pa}
            row |= {"accuracy % sparse u (ours)": ci_text(values(last, d, m, "accuracy_sparse", "test"))}
            row |= {"accuracy % w (ours)": ci_text(values(last, d, m, "accuracy", "test"))}
            if readings and d == p.tune_dataset:
                row["sparsity % range over readings"] = reading_range(last, d, m, "sparsity", "-", readings)
                acc_range = reading_range(last, d, m, "accuracy_sparse", "test", readings)
                row["accuracy % (u) range over readings"] = acc_range
            rows.append(row)
        out[d] = pd.DataFrame(rows)
    return out


def _cells(last: pd.DataFrame, d: str, m: str) -> dict[str, str]:
    """Sparsity of u, test accuracy of u and of w of one (data set, method label) (mean [95 % CI] (n), percent)."""
    return {
        "sparsity %": ci_text(values(last, d, m, "sparsity", "-")),
        "accuracy % (u)": ci_text(values(last, d, m, "accuracy_sparse", "test")),
        "accuracy % (w)": ci_text(values(last, d, m, "accuracy", "test")),
    }


def ablation_table(df: pd.DataFrame, p: Params, lam_val: Mapping[str, float]) -> pd.DataFrame:
    """RVSM-l0 headline vs each labelled variant (ablations on ``tune_dataset``, λ-on-validation on every data set):
    sparsity of u, test accuracy of u and of w, max|w| at the end (mean [95 % CI] (n), percent for fractions)."""
    last = last_rows(df)
    rows = []
    variants = [(p.tune_dataset, v) for v in [""] + p.ablations]
    variants += [(d, "") for d in p.datasets if d != p.tune_dataset]
    variants += [(d, "lam_val") for d in p.datasets if d in lam_val]
    for d, v in variants:
        m = method_label("rvsm_l0", v if not (v == "lam_val" and lam_val[d] == p.lam) else "")
        if not len(values(last, d, m, "sparsity", "-")):
            continue
        lam = lam_val[d] if v == "lam_val" else p.lam
        row = {"dataset": d, "variant": v or "headline", "what": VARIANT_TEXT[v], "λ": lam, **_cells(last, d, m)}
        rows.append(row | {"max|w|": ci_text(values(last, d, m, "max_abs_w", "-"), scale=1, digits=3)})
    return pd.DataFrame(rows)


def readings_table(df: pd.DataFrame, p: Params, schedule: Mapping[str, Any], normalize: str) -> pd.DataFrame:
    """Every method on ``tune_dataset`` under the headline reading and under each other reading (one choice
    changed): sparsity of u and the share of the initial weights under the threshold (``sparsity_init``), test
    accuracy of u and of w, and 1 − cos(w_final, w_init) of the dense layer (mean [95 % CI] (n); percent for
    fractions, 1 − cos as is)."""
    last = last_rows(df)
    d = p.tune_dataset
    hv = headline_values(p, schedule, normalize)
    head = "headline: " + ", ".join(claims_mod.reading_key(k, v) for k, v in hv.items())
    rows = []
    for key in [""] + reading_keys(p, schedule, normalize):
        for m in p.methods:
            lbl = method_label(m, key)
            if not len(values(last, d, lbl, "accuracy", "test")):
                continue
            cos = values(last, d, lbl, "cos_init_dense", "-")
            cells = _cells(last, d, lbl)
            row = {"reading": key or head, "method": m, "sparsity %": cells.pop("sparsity %")}
            row |= {"init share under t %": ci_text(values(last, d, lbl, "sparsity_init", "-")), **cells}
            rows.append(row | {"1 − cos dense": ci_text(1 - cos, scale=1, digits=4)})
    return pd.DataFrame(rows)


def table_3(df: pd.DataFrame, p: Params, readings: Iterable[str] = ()) -> pd.DataFrame:
    """Table 3: % of dense weights below each scale of max|w| (w, and u for RVSM) and test accuracy, RVSM vs
    SGD-TL1 at the paper's a = 0.01 and 100, same λ, optimiser, schedule and seeds. With `readings`, each cell of
    ``tune_dataset`` also gives the range over the readings (`reading_range`)."""
    last = last_rows(df)
    readings = list(readings)
    rows = []
    for d in p.datasets:
        for (kind, a), paper_vals in PAPER_T3.items():
            m = f"{kind}_tl1_a{fmt_a(a)}"
            for what in ["w", "sparse"] if kind == "rvsm" else ["w"]:
                row: dict[str, Any] = {"dataset": d, "a": a, "algorithm": kind.upper()}
                row["weights"] = "w" if what == "w" else "u"

                def cell(metric: str, split: str) -> str:
                    text = ci_text(values(last, d, m, metric, split))
                    if readings and d == p.tune_dataset:
                        text += f"; readings {reading_range(last, d, m, metric, split, readings)}"
                    return text

                for sc, pv in zip(SCALES, paper_vals[:5]):
                    row[f"<{sc:g} paper"] = pv
                    row[f"<{sc:g} ours"] = cell(f"frac_{what}_below_{sc:g}", "-")
                row["acc paper"] = paper_vals[5]
                row["acc ours"] = cell("accuracy_sparse", "test")
                rows.append(row)
    return pd.DataFrame(rows)


def readings_figure(df: pd.DataFrame, p: Params, schedule: Mapping[str, Any], normalize: str) -> Any:
    """Sparsity of u against the sparse network's test accuracy for every (penalty, reading) on ``tune_dataset``
    (mean over seeds), the paper's Table 1/2 points marked with black crosses."""
    import matplotlib.pyplot as plt

    last = last_rows(df)
    d = p.tune_dataset
    fig, ax = plt.subplots(figsize=(9, 6))
    keys = [""] + reading_keys(p, schedule, normalize)
    markers = "os^vD<>PX*h"
    for i, key in enumerate(keys):
        xs, ys, names = [], [], []
        for m in p.rvsm_methods:
            sp = values(last, d, method_label(m, key), "sparsity", "-")
            acc = values(last, d, method_label(m, key), "accuracy_sparse", "test")
            if len(sp) and len(acc):
                xs.append(sp.mean())
                ys.append(acc.mean())
                names.append(m.replace("rvsm_", ""))
        ax.scatter(xs, ys, marker=markers[i % len(markers)], s=50, label=key or f"headline (normalize={normalize})")
        for x, y, n in zip(xs, ys, names):
            ax.annotate(n, (x, y), fontsize=7, xytext=(3, 3), textcoords="offset points")
    px = [v[0] / 100 for v in PAPER_T12[d].values()]
    py = [v[1] / 100 for v in PAPER_T12[d].values()]
    ax.scatter(px, py, marker="x", color="black", s=70, label=f"paper (Table {1 if d == 'letters' else 2})")
    ax.set_xlabel("sparsity of u (fraction of exact zeros)")
    ax.set_ylabel("test accuracy of the sparse network")
    ax.set_title(f"{d}: every penalty under every reading (mean over seeds)")
    ax.legend(fontsize=8, loc="lower left")
    fig.tight_layout()
    return fig


def samples_figure(cs: curves.CurveSet, name: str) -> Any:
    """The first 20 training images of each class (rows 1-2 regular, rows 3-4 shaky), as a matplotlib figure."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(4, 10, figsize=(12, 5))
    for ax in axes.flat:
        ax.set_xticks([])
        ax.set_yticks([])
    for c in (0, 1):
        idx = (cs.y_train == c).nonzero().flatten()[:20]
        for j, i in enumerate(idx.tolist()):
            axes[2 * c + j // 10, j % 10].imshow(cs.x_train[i, 0], cmap="gray_r", interpolation="nearest")
        axes[2 * c, 0].set_ylabel(curves.CLASS_NAMES[c])
    fig.suptitle(f"{name}: rows 1-2 regular (class 0), rows 3-4 shaky (class 1)")
    return fig


def fig4(df: pd.DataFrame, p: Params) -> Any:
    """Fig. 4: test accuracy of the sparse network and sparsity of u per epoch, per RVSM penalty (headline rows,
    mean ± sd over seeds)."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    h = headline_rows(df)
    curve = h[
        (h.method.isin(p.rvsm_methods))
        & (((h.metric == "accuracy_sparse") & (h.split == "test")) | (h.metric == "sparsity"))
    ].copy()
    curve["penalty"] = curve["method"].str.replace("rvsm_", "")
    n = len(p.datasets)
    fig, axes = plt.subplots(2, n, figsize=(6 * n, 7), squeeze=False)
    panels = [("accuracy_sparse", "test accuracy (sparse u)"), ("sparsity", "sparsity of u")]
    for j, d in enumerate(p.datasets):
        for i, (metric, label) in enumerate(panels):
            sub = curve[(curve.dataset == d) & (curve.metric == metric)]
            sns.lineplot(data=sub, x="epoch", y="value", hue="penalty", marker="o", ax=axes[i, j], errorbar="sd")
            axes[i, j].set_title(f"Fig. 4 ({d}): {label}")
            axes[i, j].set_ylabel("fraction")
    fig.tight_layout()
    return fig


def fig6(weights: Mapping[tuple[str, str, int], dict], p: Params, seed: int) -> Any:
    """Fig. 6: histograms (log counts) of the normalised dense weights w/max|w| of seed `seed` (the first one, the
    notebook's): RVSM l0's u and w, and the dense baseline's w."""
    import matplotlib.pyplot as plt

    n = len(p.datasets)
    fig, axes = plt.subplots(n, 3, figsize=(15, 3.6 * n), squeeze=False)
    panels = [
        ("rvsm_l0", "dense_sparse", "RVSM l0: u (sparse)"),
        ("rvsm_l0", "dense_w", "RVSM l0: w"),
        ("sgd_plain", "dense_w", "dense baseline: w (non-sparse)"),
    ]
    for j, d in enumerate(p.datasets):
        for k, (m, what, title) in enumerate(panels):
            v = weights[(d, m, seed)][what].flatten()
            mx = v.abs().max()
            v = (v / mx).numpy() if mx > 0 else v.numpy()
            axes[j, k].hist(v, bins=101, range=(-1, 1), color="C0" if k < 2 else "C3")
            axes[j, k].set_yscale("log")
            axes[j, k].set_title(f"Fig. 6 ({d}): {title}\nexact zeros {np.mean(v == 0):.1%}")
            axes[j, k].set_xlabel("w / max|w|")
    fig.tight_layout()
    return fig


def throughput_table(
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    batch_size: int,
    steps: int,
    lam: float = 5e-4,
    beta: float = 1.0,
    device: str | torch.device = "cpu",
    repeats: int = 1,
    lr: float = 0.01,
    momentum: float = 0.9,
) -> pd.DataFrame:
    """Images per second of one training step on the curve CNN (a timing, not a stored run): a bare PyTorch loop
    (`study.train.throughput`: forward, cross-entropy, backward, SGD step) vs our RVSM step
    (`study.rvsm.train_step_throughput`: the same plus the coupling term and the prox update of u at λ, β), each
    NCHW and channels_last, on the first `batch_size` images of x (N, 1, S, S) float / y (N,) int64, `steps` timed
    steps after one discarded warm-up, both with the same SGD (`lr`, `momentum`: 0.9 as the notebook trains). With
    `repeats` > 1 the four loops are timed in turn that many rounds and the median of each is kept (a shared or busy
    machine drifts between loops; alternating spreads the drift evenly).

    Returns:
        frame with columns loop, channels_last, images/s, "vs bare NCHW" (ratio to the first row), "vs bare same
        layout" (RVSM over the bare loop in the same memory layout: issue 18's ≥ 0.95 target).

    Seeds torch's global RNG (0) before each model: call it from a notebook or script, not from a run function.
    Used by the notebook (§7) and by ``benchmarks/rvsm_throughput.py``.

    Raises:
        ValueError: `repeats` < 1.
    """
    from study.rvsm import train_step_throughput
    from study.train import throughput

    if not (isinstance(repeats, int) and repeats >= 1):
        raise ValueError(f"repeats={repeats!r} is out of range; accepted: an integer >= 1")
    size = x.shape[-1]
    throughput(CurveCNN(size), x, y, batch_size=batch_size, steps=steps, device=device)  # warm-up, discarded
    loops = [(cl, name) for cl in (False, True) for name in ("bare PyTorch loop", "RVSM step (ours)")]
    seen: dict[tuple[bool, str], list[float]] = {k: [] for k in loops}
    common = dict(batch_size=batch_size, steps=steps, device=device, lr=lr, momentum=momentum)
    for _ in range(repeats):
        for cl, name in loops:
            torch.manual_seed(0)
            m = CurveCNN(size)
            if name.startswith("bare"):
                ips = throughput(m, x, y, channels_last=cl, **common)  # type: ignore[arg-type]
            else:
                ips = train_step_throughput(m, m.fc, x, y, channels_last=cl, lam=lam, beta=beta, **common)  # type: ignore[arg-type]
            seen[(cl, name)].append(ips)
    rows = [
        {"loop": name, "channels_last": cl, "images/s": round(float(np.median(seen[(cl, name)])), 1)}
        for cl, name in loops
    ]
    out = pd.DataFrame(rows)
    out["vs bare NCHW"] = (out["images/s"] / out["images/s"].iloc[0]).round(2)
    bare = out.groupby("channels_last")["images/s"].transform("first")
    out["vs bare same layout"] = (out["images/s"] / bare).round(2)
    return out
