"""What notebook 03's tables and claims read, derived from stored runs (analysis only: never called by `run`, so
editing it never invalidates a run): I(Y;Ŷ) at s* (`information_frame`), the Silverman ablation (`silverman_frame`),
L of eq. 7 (`objective_frame`), I(Y;X) under every reading of X's width (`input_information_table`,
`x_width_frame`), all of them for one reading (`analysis`); the DPI check (`dpi_frame`), the train/test gaps of
Fig. 5 (`gaps`), the ratios of Fig. 6 (`grad_norm_ratios`), final accuracies and epoch times. Bits and nats as in
`run`."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import torch

from study import information as inf
from study import results, runs
from study.params import parse

from .plan import collect
from .run import STUDY, RunConfig, mi_batches, run_sets

#: A DPI "violation" must exceed I(Y;X) by more than this (bits): both estimates saturate at the same H(Y) of a batch
#: when both kernels are nearly diagonal (Silverman's rule on 784-dimensional inputs), and a tie differs by round-off.
DPI_TIE_BITS = 1e-9
#: The (I(Y;X), I(Y;Ŷ)) metrics of each reading of the width of X (`X_WIDTH_READINGS`) and of the ablation
#: "silverman_both" (Silverman's rule for X and Ŷ, a row of the DPI table only).
DPI_CONVENTIONS = {
    "s_star": ("mi_yx_sstar_bits", "mi_yyhat_bits"),
    "per_layer_alignment": ("mi_yx_bits", "mi_yyhat_bits"),
    "silverman": ("mi_yx_silverman_bits", "mi_yyhat_bits"),
    "silverman_both": ("mi_yx_silverman_bits", "mi_yyhat_silverman_bits"),
}


# ------------------------------------------------------------------------------------------- derived quantities
def _row(cfg: dict[str, Any], epoch: int, split: str, metric: str, value: float) -> dict[str, Any]:
    """One tidy row of the run `cfg` (its data set, model, method and seed)."""
    run = {k: cfg[k] for k in ("dataset", "model", "method", "seed")}
    return {**run, "epoch": epoch, "split": split, "metric": metric, "value": value}


def information_frame(
    configs: list[dict[str, Any]], artifacts: list[dict[str, Any] | None], s_star: dict[tuple[str, str], float]
) -> pd.DataFrame:
    """Tidy rows ``mi_yyhat_bits`` (I(Y;Ŷ) per run, epoch and split train/test, the mean over the MI evaluation
    batches at s* of the run's (model, data set): the same width for CE and L, as in Figs. 3 and 4). Failed runs
    (artifacts None) are skipped.
    """
    extra = []
    for cfg, art in zip(configs, artifacts):
        key = (cfg["model"], cfg["dataset"])
        if art is None or key not in s_star:
            continue
        bs = cfg["batch_size"]
        for split, stack in art["yhat"].items():
            for epoch, yhat in enumerate(stack):
                pairs = zip(yhat.split(bs), art["y_mi"][split].split(bs))
                mi = torch.stack([inf.mi_with_labels(t, yb, s_star[key], cfg["alpha"]) for t, yb in pairs]).mean()
                extra.append(_row(cfg, epoch, split, "mi_yyhat_bits", float(mi)))
    return results.tidy(extra, study=STUDY)


def silverman_frame(configs: list[dict[str, Any]], artifacts: list[dict[str, Any] | None]) -> pd.DataFrame:
    """The DPI check's second kernel-width convention (an ablation of the paper's alignment widths): Silverman's rule
    (`study.information.silverman_width`) for X and for Ŷ, per MI evaluation batch of the training subset.

    Tidy rows per run and epoch, split "train": ``mi_yyhat_silverman_bits`` (I(Y;Ŷ), mean over the batches, from the
    stored Ŷ rows) and ``mi_yx_silverman_bits`` (I(Y;X) of the run's MI evaluation images, the same every epoch).
    Loads the run's data (`run_sets`). Failed runs (artifacts None) are skipped.
    """
    extra, iyx = [], {}
    for cfg, art in zip(configs, artifacts):
        if art is None:
            continue
        bs, alpha = cfg["batch_size"], cfg["alpha"]
        dkey = (cfg["model"], cfg["dataset"], cfg["data_seed"], bs)
        if dkey not in iyx:
            x, y = run_sets(parse(RunConfig, cfg))["mi_train"]
            iyx[dkey] = float(
                torch.stack(
                    [
                        inf.mi_with_labels(xb.flatten(1), yb, inf.silverman_width(xb.flatten(1)), alpha)
                        for xb, yb in mi_batches(x, y, bs)
                    ]
                ).mean()
            )
        y_mi = art["y_mi"]["train"]
        for epoch, yhat in enumerate(art["yhat"]["train"]):
            mi = np.mean([_silverman_mi(t, yb, alpha) for t, yb in zip(yhat.split(bs), y_mi.split(bs))])
            extra += [
                _row(cfg, epoch, "train", "mi_yyhat_silverman_bits", float(mi)),
                _row(cfg, epoch, "train", "mi_yx_silverman_bits", iyx[dkey]),
            ]
    return results.tidy(extra, study=STUDY)


def _silverman_mi(t: torch.Tensor, y: torch.Tensor, alpha: float) -> float:
    """I(Y;T) in bits at Silverman's width of the batch `t`; 0 when its rows are all equal (a collapsed network:
    every kernel entry is 1 at any width, so T carries no information and Silverman's width is undefined)."""
    if bool((t == t[:1]).all()):
        return 0.0
    return float(inf.mi_with_labels(t, y, inf.silverman_width(t), alpha))


def objective_frame(df: pd.DataFrame) -> pd.DataFrame:
    """Tidy rows ``objective_L``: L = f·CE − (1 − f)·I(Y;Ŷ) on train and test per run and epoch (f of the epoch that
    produced the model, f(0) = 1; mixed units as in eq. 7), from the ``ce_nats`` and ``mi_yyhat_bits`` rows."""
    piv = (
        df[df.metric.isin(["ce_nats", "mi_yyhat_bits"]) & df.split.isin(["train", "test"])]
        .pivot_table(index=["dataset", "model", "method", "seed", "epoch", "split"], columns="metric", values="value")
        .reset_index()
    )
    piv["f"] = [inf.transition_factor(max(int(e) - 1, 0)) for e in piv["epoch"]]
    piv["value"] = piv["f"] * piv["ce_nats"] - (1 - piv["f"]) * piv["mi_yyhat_bits"]
    piv["metric"] = "objective_L"
    cols = ["dataset", "model", "method", "seed", "epoch", "split", "metric", "value"]
    return results.tidy(piv[cols].to_dict("records"), study=STUDY)


def input_information_table(
    configs: list[dict[str, Any]], artifacts: list[dict[str, Any] | None], s_star: dict[tuple[str, str], float]
) -> pd.DataFrame:
    """I(Y;X) under every reading of the width of X (`X_WIDTH_READINGS`), per (model, data set) and MI evaluation
    batch of the training subset, with the batch's H(Y) (the label kernel's entropy), all in bits.

    Widths: "s_star" -- s* of the (model, data set) (`width_star`); "per_layer_alignment" -- the input's own
    alignment maximiser s_X stored by the runs; "silverman" -- `study.information.silverman_width` of the batch.
    Analysis only: loads the run's data (`run_sets`); the first run with artifacts of each (model, data set) serves.

    Returns:
        frame with columns model, dataset, x_width, batch, width, i_yx_bits, h_y_bits (empty without runs).
    """
    out, seen = [], set()
    for cfg, art in zip(configs, artifacts):
        key = (cfg["model"], cfg["dataset"])
        if art is None or key in seen or key not in s_star:
            continue
        seen.add(key)
        x, y = run_sets(parse(RunConfig, cfg))["mi_train"]
        for b, (xb, yb) in enumerate(mi_batches(x, y, cfg["batch_size"])):
            t = xb.flatten(1)
            h = float(inf.renyi_entropy(inf.normalize_gram(inf.label_gram(yb)), cfg["alpha"]))
            for reading, w in (
                ("s_star", s_star[key]),
                ("per_layer_alignment", float(art["s_x"])),
                ("silverman", inf.silverman_width(t)),
            ):
                out.append(
                    {
                        "model": key[0],
                        "dataset": key[1],
                        "x_width": reading,
                        "batch": b,
                        "width": float(w),
                        "i_yx_bits": float(inf.mi_with_labels(t, yb, w, cfg["alpha"])),
                        "h_y_bits": h,
                    }
                )
    return pd.DataFrame(out, columns=["model", "dataset", "x_width", "batch", "width", "i_yx_bits", "h_y_bits"])


def x_width_frame(
    configs: list[dict[str, Any]], artifacts: list[dict[str, Any] | None], table: pd.DataFrame
) -> pd.DataFrame:
    """Tidy rows ``mi_yx_sstar_bits`` (I(Y;X) with X at s*, mean over the evaluation batches of `table`, the same
    every epoch) per run and epoch, split train: the headline reading of the DPI."""
    rows: list[dict[str, Any]] = []
    if table.empty:
        return results.tidy(rows, study=STUDY)
    mean = table[table.x_width == "s_star"].groupby(["model", "dataset"])["i_yx_bits"].mean()
    for cfg, art in zip(configs, artifacts):
        key = (cfg["model"], cfg["dataset"])
        if art is None or key not in mean.index:
            continue
        rows += [_row(cfg, e, "train", "mi_yx_sstar_bits", float(mean[key])) for e in range(len(art["yhat"]["train"]))]
    return results.tidy(rows, study=STUDY)


def analysis(
    configs: list[dict[str, Any]],
    sweeps: list[runs.Sweep],
    s_star: dict[tuple[str, str], float],
    *,
    required: bool = True,
) -> tuple[pd.DataFrame, pd.DataFrame, list[dict[str, Any] | None]]:
    """Everything the tables and claims read for one reading's runs `configs` (found in `sweeps`) at its widths
    `s_star`: (tidy frame = run rows + `information_frame` + `silverman_frame` + `x_width_frame` + `objective_frame`;
    `input_information_table`; the artifacts aligned with `configs`). `required`: every run must have finished
    (the headline reading; a reading's failed run is left out and its claims say so).

    Raises:
        study.runs.SweepError: a failed run with `required`.
    """
    frame, arts = collect(sweeps, configs, required=required)
    table = input_information_table(configs, arts, s_star)
    df = pd.concat(
        [
            frame,
            information_frame(configs, arts, s_star),
            silverman_frame(configs, arts),
            x_width_frame(configs, arts, table),
        ],
        ignore_index=True,
    )
    if not len(df):  # every run of a reading failed: its claims say so ("not tested")
        return df, table, arts
    return pd.concat([df, objective_frame(df)], ignore_index=True), table, arts


def input_information(
    configs: list[dict[str, Any]], artifacts: list[dict[str, Any] | None]
) -> dict[tuple[str, str], tuple[float, float]]:
    """{(model, data set): (I(Y;X) in bits, s_X)} from the first stored run of each (the same for every run)."""
    out: dict[tuple[str, str], tuple[float, float]] = {}
    for cfg, art in zip(configs, artifacts):
        if art is not None:
            out.setdefault((cfg["model"], cfg["dataset"]), (art["i_yx_bits"], art["s_x"]))
    return out


# ------------------------------------------------------------------------------------------------------- tables
def dpi_frame(df: pd.DataFrame, convention: str = "alignment") -> pd.DataFrame:
    """DPI check (§5.1, eq. 1) under one kernel-width `convention` of `DPI_CONVENTIONS`: per (run, epoch) the
    training-batch I(Y;Ŷ) and I(Y;X) (bits) and ``violation`` = I(Y;Ŷ) > I(Y;X) + `DPI_TIE_BITS`.

    Raises:
        ValueError: an unknown convention.
    """
    if convention not in DPI_CONVENTIONS:
        raise ValueError(f"convention={convention!r} is not one of {list(DPI_CONVENTIONS)}")
    m_yx, m_yyhat = DPI_CONVENTIONS[convention]
    keys = ["dataset", "model", "method", "seed", "epoch"]
    d = df[df.method.isin(["ce", "mi"]) & (df.split == "train")]  # Figs. 3-4: CE and L training
    a = d[d.metric == m_yyhat][keys + ["value"]]
    b = d[d.metric == m_yx][keys + ["value"]]
    dpi = a.merge(b, on=keys, suffixes=("_yyhat", "_yx"))
    dpi["violation"] = dpi["value_yyhat"] > dpi["value_yx"] + DPI_TIE_BITS
    return dpi.assign(convention=convention)


def dpi_table(df: pd.DataFrame, conventions=tuple(DPI_CONVENTIONS)) -> pd.DataFrame:
    """Per convention, network, data set and method: (run, epoch) pairs checked, violations, max I(Y;Ŷ) and the
    mean I(Y;X) (bits)."""
    d = pd.concat([dpi_frame(df, c) for c in conventions], ignore_index=True)
    d["violation"] = d["violation"].astype(bool)
    return (
        d.groupby(["convention", "model", "dataset", "method"])
        .agg(
            checked=("violation", "size"),
            violations=("violation", "sum"),
            max_I_yyhat=("value_yyhat", "max"),
            I_yx=("value_yx", "mean"),
        )
        .reset_index()
    )


def dpi_fraction(df: pd.DataFrame, convention: str, model: str) -> pd.Series:
    """Per seed: the fraction of `model`'s (data set, method, epoch) checks that violate the DPI (`dpi_frame`)."""
    d = dpi_frame(df, convention)
    d = d[d.model == model]
    return d.groupby("seed")["violation"].mean().astype(float)


def gaps(df: pd.DataFrame, metric: str) -> pd.DataFrame:
    """Per run: test − train of `metric` at the final epoch and the mean over the last 5 epochs (Fig. 5)."""
    sel = df[(df.metric == metric) & df.split.isin(["train", "test"])]
    w = sel.pivot_table(
        index=["model", "dataset", "method", "seed", "epoch"], columns="split", values="value"
    ).reset_index()
    w["gap"] = w["test"] - w["train"]
    out = []
    run = ["model", "dataset", "method", "seed"]
    for keys, grp in w.groupby(run):
        gap = grp.sort_values("epoch")["gap"]
        out.append(
            {**dict(zip(run, keys)), "metric": metric, "gap_final": gap.iloc[-1], "gap_last5": gap.iloc[-5:].mean()}
        )
    return pd.DataFrame(out)


def grad_norm_ratios(df: pd.DataFrame, method: str = "mi") -> pd.DataFrame:
    """Fig. 6 per L run (or per run of `method`): ‖∇θ I(Y;Ŷ)‖ at epoch 0, its peak (and the epoch of it), at the
    last epoch, and the ratios ``first_over_peak``, ``last_over_peak`` (columns model, dataset, seed, ...)."""
    gn = df[(df.metric == "grad_norm_mi") & (df.method == method)]
    out = []
    run = ["model", "dataset", "seed"]
    for keys, g in gn.groupby(run):
        v = g.sort_values("epoch").set_index("epoch")["value"]
        peak, first, last = float(v.max()), float(v.iloc[0]), float(v.iloc[-1])
        row = {**dict(zip(run, keys)), "first": first, "peak": peak, "peak_epoch": int(v.idxmax()), "last": last}
        nan = float("nan")
        out.append(
            {
                **row,
                "first_over_peak": first / peak if peak > 0 else nan,
                "last_over_peak": last / peak if peak > 0 else nan,
            }
        )
    return pd.DataFrame(out)


def final_accuracy(df: pd.DataFrame) -> pd.DataFrame:
    """The test accuracy rows of each run's last epoch."""
    acc = df[(df.metric == "accuracy") & (df.split == "test")]
    last = acc.groupby(["model", "dataset", "method", "seed"])["epoch"].transform("max")
    return acc[acc.epoch == last]


def epoch_time_table(df: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, float]]:
    """Mean epoch time per (model, data set) and method, epochs ≥ 2 when there are any (the first includes warm-up),
    with the ratio L / CE; and that ratio averaged over data sets per model (a measurement for the compute record,
    not a claim: it moves with machine load)."""
    et = df[df.metric == "epoch_time_s"]
    et = et[et.epoch >= 2] if (et.epoch >= 2).any() else et
    tab = et.groupby(["model", "dataset", "method"])["value"].mean().unstack("method")
    if not {"ce", "mi"} <= set(tab.columns):
        return tab, {}
    tab["L / CE"] = tab["mi"] / tab["ce"]
    return tab, {m_: float(tab.xs(m_, level="model")["L / CE"].mean()) for m_ in tab.index.get_level_values(0)}
