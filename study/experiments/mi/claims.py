"""The paper's numbers and claims (notebook 03, Zaugg et al. 2024), judged over seeds under every reading that affects
them (`judge`; one reading's claims: `reading_claims`). The paper gives no numbers, only figures; its claims are typed
from its words (`study.claims`) as stated in each claim's note, each with the runs it depends on. The deviations,
measurements and training checks are in `records`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pandas as pd

from study import claims, runs

from .analysis import dpi_fraction, gaps, grad_norm_ratios
from .params import FIG5_LOSS_READINGS, LR_READINGS, X_WIDTH_HEADLINE, X_WIDTH_READINGS, Params
from .run import MODELS

PAPER = "Zaugg et al. 2024"
# --------------------------------------------------------------------------------------- the paper's reference numbers
#: §4.2: the paper's epochs (Fig. 3: shallow CNN 50, ResNet18 100) and α (§3.1).
PAPER_EPOCHS = {"shallow": 50, "resnet18": 100}
PAPER_ALPHA = 1.01
#: §4.2: "approximately 44K network parameters"; ResNet18 "roughly 200 times as many".
PAPER_SHALLOW_PARAMETERS = 44_000
PAPER_RESNET_RATIO = 200
#: A network's claims are about the course of training over tens of epochs on 5,000 images: below these a profile
#: cannot answer them and they are `claims.not_tested` (fixed before looking at results).
MIN_EPOCHS_TESTED = 10
MIN_TRAIN_PER_CLASS_TESTED = 100
#: Fig. 6 read as numbers (the paper gives none): ‖∇θ I‖ "vanishes" = last (or epoch-0) / peak at most 0 within the
#: ratio tolerance (0.1); "slowly decreases [...] keeps updating" = last / peak at least 0.2 within it (>= 0.1).
FIG6_VANISHED = 0.0
FIG6_NOT_VANISHED = 0.2
#: DPI (§5.1): Fig. 3b (shallow CNN, 50 epochs) shows no violation, Fig. 3d (ResNet18, 100 epochs) one.
PAPER_DPI_FRACTION = {"shallow": 0.0, "resnet18": 0.01}
#: A width of X at which every evaluation batch has |I(Y;X) − H(Y)| at most this (bits) makes the DPI vacuous:
#: this estimator's I(Y;Ŷ) never exceeds H(Y) (H(A, B) ≥ max(H(A), H(B)) for the Hadamard joint entropy), so
#: I(Y;Ŷ) > I(Y;X) cannot happen there. Round-off of the 100 x 100 eigenproblems is ~1e-12 bits.
VACUOUS_BITS = 1e-6
#: "I(Y;Ŷ) saturates after just a few training epochs" (§5.3, Fig. 4a) read as: by epoch `SATURATION_EPOCH` ("a
#: few") I(Y;Ŷ) has made at least `SATURATION_SHARE` of its rise from epoch 0 to the end (mean of the last 3 epochs).
SATURATION_EPOCH = 5
SATURATION_SHARE = 0.9
#: The runs trained on I alone need this many epochs for their claim to be tested.
MIN_IONLY_EPOCHS_TESTED = 3


# ------------------------------------------------------------------------------------------------------- claims
def untestable(p: Params, model: str) -> str:
    """Why this profile cannot test `model`'s claims ("" when it can): the network not trained, or trained for fewer
    than `MIN_EPOCHS_TESTED` epochs or on fewer than `MIN_TRAIN_PER_CLASS_TESTED` images per class (the claims are
    about the course of training: paper 50 / 100 epochs on 5,000 images)."""
    if model == "resnet18" and not p.resnet:
        return (
            "ResNet18 not trained in this profile (resnet=False): 100 epochs on 5,000 images do not fit a 2-core "
            "CPU budget; the paper profile trains it (on a CUDA GPU when there is one)"
        )
    epochs = p.epochs if model == "shallow" else p.resnet_epochs
    per_class = p.train_per_class if model == "shallow" else p.resnet_train_per_class
    if epochs < MIN_EPOCHS_TESTED or per_class < MIN_TRAIN_PER_CLASS_TESTED:
        return (
            f"{model} trained {epochs} epoch(s) on {10 * per_class} images (paper: "
            f"{PAPER_EPOCHS[model]} epochs on 5,000; this study tests from {MIN_EPOCHS_TESTED} epochs on "
            f"{10 * MIN_TRAIN_PER_CLASS_TESTED}): too short to show the course of training the claim is about"
        )
    return ""


def _slopes(df: pd.DataFrame, metric: str, method: str, model: str, name: str, direction: str) -> pd.Series:
    # epochs 1..E: the step from the untrained network (epoch 0) would dominate a slope over 0..E
    d = df[
        (df.metric == metric)
        & (df.split == "train")
        & (df.method == method)
        & (df.model == model)
        & (df.dataset == name)
        & (df.epoch >= 1)
    ]
    return claims.slopes(d, "epoch", direction=direction)


def _names_of(p: Params, model: str) -> list[str]:
    if model == "shallow":
        return list(p.datasets)
    return list(p.resnet_datasets) if p.resnet else ["mnist", "fashion-mnist"]


#: Rows beyond the paper's figures: Fig. 5 of the shallow CNN, Fig. 6 of another data set than the paper's
_FIG5_EXT = " [our extension: Fig. 5 shows ResNet18; its caption calls the results of both networks 'similar']"
_FIG6_EXT = " [our extension: the paper's Fig. 6 shows another data set for this network]"


def reading_claims(
    df: pd.DataFrame,
    p: Params,
    configs: list[dict[str, Any]],
    inputs: pd.DataFrame,
    *,
    x_width: str = X_WIDTH_HEADLINE,
    models: tuple[str, ...] = MODELS,
    lenient: bool = False,
    fig5_loss: str = FIG5_LOSS_READINGS[0],
) -> list[dict[str, Any]]:
    """The paper's claims (`study.claims`), typed from its words, judged over seeds, from one reading's tidy frame
    `df` (`analysis`), the parameters `p`, the reading's run `configs` (each claim's ``depends_on`` names
    the runs its values come from, `study.runs.labels_where`) and its `input_information_table` `inputs`.

    Per network and data set trained: Fig. 3 -- I(Y;Ŷ) rises under CE (trend: per-seed least-squares slope over
    epochs); Fig. 4 -- under L, I(Y;Ŷ) rises and CE falls (trends); Fig. 5 -- the train/test CE gap (mean of the last
    5 epochs) is smaller under L than under CE (ordering, paired by seed), under CE the test loss stays above the
    training loss (ordering), under L the two almost coincide (point 0 ± the loss tolerance); Fig. 6 -- ‖∇θ I‖
    vanishes at epoch 0 and by the last epoch for the shallow CNN, does not for ResNet18 (at_most / at_least on
    per-seed ratios to the peak); §5.3 -- I(Y;Ŷ) saturates after a few epochs under L (shallow CNN); §5.1 --
    training on I(Y;Ŷ) alone leads to a vanishing gradient. Per network: the DPI holds (`dpi_claim`, at the width of
    X `x_width`). `fig5_loss` (`FIG5_LOSS_READINGS`): the loss whose train/test gap Fig. 5 reads for the L runs.
    Rows beyond the paper's figures say "[our extension ...]". A network the profile cannot test (`untestable`)
    gets `claims.not_tested` rows; n < 3 seeds gives "inconclusive" (the rule). With `lenient` (a reading's runs) a
    value that cannot be computed gives a "not tested" row instead of an error. Our own timing is
    not a claim (`metrics`, benchmarks/mi_cost.py).
    """
    out: list[dict[str, Any]] = []
    gn = grad_norm_ratios(df)
    if fig5_loss not in FIG5_LOSS_READINGS:
        raise ValueError(f"fig5_loss={fig5_loss!r} is not one of {FIG5_LOSS_READINGS}")
    l_metric = "ce_nats" if fig5_loss == "ce" else "objective_L"
    gap_df = (
        pd.concat([gaps(df[df.method == "ce"], "ce_nats"), gaps(df[df.method == "mi"], l_metric)], ignore_index=True)
        if len(df[df.metric == "ce_nats"])
        else pd.DataFrame()
    )
    for model in models:
        why = untestable(p, model)
        for name in _names_of(p, model):
            tag = f"({model}, {name})"
            fig5_ext = _FIG5_EXT if model == "shallow" else ""
            # Fig. 6a shows the shallow CNN on MNIST, 6b ResNet18 on Fashion-MNIST; other pairs are our extension
            ext = "" if (model, name) in (("shallow", "mnist"), ("resnet18", "fashion-mnist")) else _FIG6_EXT
            ionly_why = why or (
                ""
                if p.ionly_epochs >= MIN_IONLY_EPOCHS_TESTED
                else f"trained on I alone for {p.ionly_epochs} epoch(s) (< {MIN_IONLY_EPOCHS_TESTED}): "
                "too short to show whether the gradient stays vanished"
            )
            # (claim, type, paper value, per-seed values, unit, note, methods of its runs, quantity[, why not tested])
            # fmt: off
            rows: list[tuple[Any, ...]] = [
                (f"Fig. 3 {tag}: minimising CE raises I(Y;Ŷ)", "trend", "I(Y;Ŷ) increases with the epoch",
                 lambda: _slopes(df, "mi_yyhat_bits", "ce", model, name, "increasing"), "bits/epoch",
                 "per-seed least-squares slope of I(Y;Ŷ) (training evaluation batches, at s*) over epochs 1..E",
                 ("ce",), None),
                (f"Fig. 4 {tag}: training with L (eq. 7) raises I(Y;Ŷ)", "trend", "I(Y;Ŷ) increases",
                 lambda: _slopes(df, "mi_yyhat_bits", "mi", model, name, "increasing"), "bits/epoch",
                 "per-seed slope of I(Y;Ŷ) over epochs 1..E under L", ("mi",), None),
                (f"Fig. 4 {tag}: training with L lowers the CE", "trend", "CE decreases",
                 lambda: _slopes(df, "ce_nats", "mi", model, name, "decreasing"), "nats/epoch",
                 "per-seed slope of the training-subset CE over epochs 1..E under L, sign flipped (> 0: falls)",
                 ("mi",), None),
                (f"Fig. 5 {tag}: the train/test CE gap is smaller under L than under CE{fig5_ext}", "ordering",
                 "gap(CE) > gap(L)", lambda: _gap_diff(gap_df, model, name), "nats",
                 "per seed: (test − train CE, mean of the last 5 epochs) under CE minus under L; the L runs share "
                 "the seed (initial weights, batch order) of the CE runs", ("ce", "mi"), None),
                (f"Fig. 5a {tag}: under CE the test loss remains above the training loss{fig5_ext}", "ordering",
                 "test CE > train CE", lambda: _gap(gap_df, model, name, "ce"), "nats",
                 "per seed: test − train CE under CE, mean of the last 5 epochs (§5.2 'the test loss remains above "
                 "the training loss')", ("ce",), None),
                (f"Fig. 5b {tag}: under L the test and the training loss almost coincide{fig5_ext}", "point", 0.0,
                 lambda: _gap(gap_df, model, name, "mi"), None,
                 "per seed: test − train CE under L, mean of the last 5 epochs; 'almost coincide' read as 0 within "
                 "the loss tolerance (§5.2)", ("mi",), "loss"),
                (f"Fig. 6 {tag}: ‖∇θ I(Y;Ŷ)‖ vanishes at epoch 0{ext}", "at_most", FIG6_VANISHED,
                 lambda: _gn(gn, model, name, "first_over_peak"), None,
                 "per seed: ‖∇θ I‖ of the untrained network / its peak (§5.1: 'the gradient at epoch = 0 vanishes')",
                 ("mi",), None),
            ]
            if model == "shallow":
                sat_ext = "" if name == "mnist" else " [our extension: Fig. 4a shows MNIST]"
                rows += [
                    (f"Fig. 6a {tag}: ‖∇θ I(Y;Ŷ)‖ quickly vanishes{ext}", "at_most", FIG6_VANISHED,
                     lambda: _gn(gn, model, name, "last_over_peak"), None,
                     "per seed: ‖∇θ I‖ at the last epoch / its peak; 'vanishes' read as ≤ 0 within the ratio tolerance",
                     ("mi",), None),
                    (f"§5.3 {tag}: I(Y;Ŷ) saturates after just a few training epochs under L{sat_ext}", "at_least",
                     SATURATION_SHARE, lambda: saturation_share(df, model, name), None,
                     f"per seed: share of the rise of I(Y;Ŷ) (training evaluation batches, at s*) from epoch 0 to the "
                     f"end (mean of the last 3 epochs) made by epoch {SATURATION_EPOCH} ('a few'); 'saturates' read "
                     f"as ≥ {SATURATION_SHARE} within the fraction tolerance", ("mi",), "fraction"),
                ]
            else:
                rows.append(
                    (f"Fig. 6b {tag}: ‖∇θ I(Y;Ŷ)‖ decreases slowly, learning goes on{ext}", "at_least",
                     FIG6_NOT_VANISHED, lambda: _gn(gn, model, name, "last_over_peak"), None,
                     "per seed: ‖∇θ I‖ at the last epoch / its peak; 'keeps updating' read as ≥ 0.2 within the ratio "
                     "tolerance", ("mi",), None))
            rows.append(
                (f"§5.1 {tag}: training on I(Y;Ŷ) alone leads to a vanishing gradient", "at_most", FIG6_VANISHED,
                 lambda: ionly_ratio(df, model, name), None,
                 f"per seed: the largest ‖∇θ I(Y;Ŷ)‖ over epochs 0..{p.ionly_epochs} of the network trained on "
                 "−I(Y;Ŷ) alone (f ≡ 0), divided by the peak ‖∇θ I‖ of the L run of the same seed; 'vanishing' read "
                 "as ≤ 0 within the ratio tolerance, as for Fig. 6", ("mi_only", "mi"), None, ionly_why))
            # fmt: on
            for claim, typ, pv, values, unit, note, methods, quantity, *own in rows:
                deps = runs.labels_where(configs, model=model, dataset=name, method=methods)
                kw = {"quantity": quantity, "depends_on": deps, "lenient": lenient}
                out.append(_claim(claim, typ, pv, values, unit, note, own[0] if own else why, **kw))
        out.append(dpi_claim(df, p, configs, inputs, model, x_width, lenient=lenient))
    return out


def dpi_claim(
    df: pd.DataFrame,
    p: Params,
    configs: list[dict[str, Any]],
    inputs: pd.DataFrame,
    model: str,
    x_width: str = X_WIDTH_HEADLINE,
    *,
    lenient: bool = False,
) -> dict[str, Any]:
    """Fig. 3 / §5.1: "the DPI I(Y;X) ≥ I(Y;Ŷ) holds" for `model`, with X at the width `x_width` (one of
    `X_WIDTH_READINGS`) and Ŷ at s*: at_most on the per-seed fraction of (data set, method, epoch) checks that
    violate it. Not tested when the profile cannot test `model` or when the width makes it vacuous (`dpi_vacuity`:
    the reason is generated from the data).

    Raises:
        ValueError: an unknown `x_width`.
    """
    if x_width not in X_WIDTH_READINGS:
        raise ValueError(f"x_width={x_width!r} is not one of {X_WIDTH_READINGS}")
    why = untestable(p, model) or dpi_vacuity(inputs, model, x_width)
    what = {
        "s_star": "X at s* of Ŷ (one width, §3.2)",
        "per_layer_alignment": "X at its own alignment maximiser [our extension]",
        "silverman": "X at Silverman's width per batch [our extension]",
    }[x_width]
    return _claim(
        f"Fig. 3 ({model}): the DPI I(Y;X) ≥ I(Y;Ŷ) holds",
        "at_most",
        PAPER_DPI_FRACTION[model],
        lambda: dpi_fraction(df, x_width, model),
        None,
        f"per seed: fraction of (data set, method, epoch) checks with I(Y;Ŷ) > I(Y;X); paper: "
        f"{'no violation in Fig. 3b' if model == 'shallow' else 'one violation in 100 epochs, Fig. 3d'}; "
        f"Ŷ at s*, {what}",
        why,
        quantity="fraction",
        depends_on=runs.labels_where(configs, model=model, method=("ce", "mi")),
        lenient=lenient,
    )


def dpi_vacuity(inputs: pd.DataFrame, model: str, x_width: str) -> str:
    """ "" or the reason the DPI check of `model` is vacuous at the width `x_width` of X: every MI evaluation batch of
    every data set has |I(Y;X) − H(Y)| ≤ `VACUOUS_BITS` (then I(Y;Ŷ), which never exceeds H(Y), cannot exceed
    I(Y;X)). Generated from `inputs` (`input_information_table`); "" when it has no rows for `model`."""
    t = inputs[(inputs.model == model) & (inputs.x_width == x_width)]
    if t.empty:
        return ""
    dev = float((t.i_yx_bits - t.h_y_bits).abs().max())
    if dev > VACUOUS_BITS:
        return ""
    widths = ", ".join(
        f"{d}: s = {g.width.mean():.3g}, I(Y;X) = {g.i_yx_bits.mean():.3f} bits" for d, g in t.groupby("dataset")
    )
    return (
        f"vacuous: I(Y;X) = H(Y) at this width ({widths}; |I(Y;X) − H(Y)| ≤ {dev:.1e} bits on all {len(t)} MI "
        "evaluation batches): this estimator's I(Y;Ŷ) never exceeds H(Y), so I(Y;Ŷ) > I(Y;X) cannot occur"
    )


def saturation_share(df: pd.DataFrame, model: str, name: str, method: str = "mi") -> pd.Series:
    """Per seed: (I_k − I_0) / (I_end − I_0) of I(Y;Ŷ) on the training evaluation batches, k = `SATURATION_EPOCH`,
    I_end = mean of the last 3 epochs (§5.3 "saturates after just a few training epochs").

    Raises:
        ValueError: no rows, fewer than k + 3 epochs, or no rise (I_end = I_0).
    """
    d = df[
        (df.metric == "mi_yyhat_bits")
        & (df.split == "train")
        & (df.method == method)
        & (df.model == model)
        & (df.dataset == name)
    ]
    if d.empty:
        raise ValueError(f"no I(Y;Ŷ) rows for {model}/{name}/{method}")
    out = {}
    for s, g in d.groupby("seed"):
        v = g.sort_values("epoch").set_index("epoch")["value"]
        if v.index.max() < SATURATION_EPOCH + 3:
            raise ValueError(
                f"{len(v)} epochs: saturation by epoch {SATURATION_EPOCH} needs at least {SATURATION_EPOCH + 3}"
            )
        rise = float(v.iloc[-3:].mean()) - float(v.loc[0])
        if rise == 0:
            raise ValueError(f"seed {s}: I(Y;Ŷ) did not rise; no share to compute")
        out[s] = (float(v.loc[SATURATION_EPOCH]) - float(v.loc[0])) / rise
    return pd.Series(out, dtype=float).sort_index()


def ionly_ratio(df: pd.DataFrame, model: str, name: str) -> pd.Series:
    """Per seed: max over epochs of ‖∇θ I(Y;Ŷ)‖ of the run trained on I alone ("mi_only") / the peak ‖∇θ I‖ of the
    L run of the same seed (§5.1 vanishing gradient).

    Raises:
        ValueError: no I-only or no L rows.
    """
    a = df[(df.metric == "grad_norm_mi") & (df.model == model) & (df.dataset == name)]
    io = a[a.method == "mi_only"].groupby("seed")["value"].max()
    peak = a[a.method == "mi"].groupby("seed")["value"].max()
    common = io.index.intersection(peak.index)
    if len(common) == 0:
        raise ValueError(f"no I-only and L ‖∇I‖ rows of the same seed for {model}/{name}")
    return (io.loc[common] / peak.loc[common]).astype(float).sort_index()


def _gap_diff(gap_df: pd.DataFrame, model: str, name: str) -> pd.Series:
    g = gap_df[(gap_df.model == model) & (gap_df.dataset == name)]
    ce, l_ = (g[g.method == m].set_index("seed")["gap_last5"] for m in ("ce", "mi"))
    return claims.differences(ce, l_, better="higher")


def _gap(gap_df: pd.DataFrame, model: str, name: str, method: str) -> pd.Series:
    g = gap_df[(gap_df.model == model) & (gap_df.dataset == name) & (gap_df.method == method)]
    if g.empty:
        raise ValueError(f"no CE gap rows for {model}/{name}/{method}")
    return g.set_index("seed")["gap_last5"].astype(float).sort_index()


def _gn(gn: pd.DataFrame, model: str, name: str, col: str) -> pd.Series:
    g = gn[(gn.model == model) & (gn.dataset == name)]
    if g.empty:
        raise ValueError(f"no ‖∇I‖ rows for {model}/{name}")
    return g.set_index("seed")[col]


def _claim(
    claim: str, typ: str, paper_value: Any, values: Callable[[], pd.Series], unit: str | None, note: str, why: str,
    quantity: str | None = None, depends_on: list[str] | None = None, lenient: bool = False,
) -> dict[str, Any]:  # fmt: skip
    """One claim row: `claims.not_tested` with `why` when the profile cannot test it, else `claims.judge` with its
    runs `depends_on`. A judged claim without runs, or (with `lenient`) one whose values cannot be computed, is not
    tested with the reason."""
    quantity = quantity or ("ratio" if typ in ("at_most", "at_least") else None)
    deps = list(depends_on or [])
    if not why and not deps:
        why = "no run of this network and data set in this reading"
    if not why:
        try:
            vals = values()
        except ValueError as e:
            if not lenient:
                raise
            why = f"cannot be computed under this reading: {e}"
    if why:
        return claims.not_tested(
            PAPER, claim, typ, why, paper_value=paper_value, quantity=quantity, unit=unit, depends_on=deps
        )
    return claims.judge(
        PAPER, claim, typ, vals, paper_value=paper_value, quantity=quantity, unit=unit, note=note, depends_on=deps
    )


def judge(
    head: tuple[pd.DataFrame, list[dict[str, Any]], pd.DataFrame],
    p: Params,
    lr_alt: tuple[pd.DataFrame, list[dict[str, Any]], pd.DataFrame] | None = None,
) -> list[dict[str, Any]]:
    """Every claim judged under every reading that affects it (`READINGS`, one choice changed at a time):
    `reading_claims` on the headline reading's (frame, configs, input table) `head`; the DPI claims again at every
    other width of X (`X_WIDTH_READINGS`, same runs); the Fig. 5 and 5b claims with L's own gap for the L runs
    (`FIG5_LOSS_READINGS`, same runs); every claim on the runner-up learning rate's runs `lr_alt` (ResNet18 at
    ``resnet_lr_alt``). Returns the headline rows with ``readings``, ``robustness`` and ``flipped_by``
    (`study.claims.across_readings`)."""
    df, configs, inputs = head
    rows = reading_claims(df, p, configs, inputs)
    by: dict[str, list[dict[str, Any]]] = {}
    for w in X_WIDTH_READINGS:
        if w != X_WIDTH_HEADLINE:
            by[claims.reading_key("x_width", w)] = [
                dpi_claim(df, p, configs, inputs, m, w, lenient=True) for m in MODELS
            ]
    fig5 = reading_claims(df, p, configs, inputs, fig5_loss=FIG5_LOSS_READINGS[1], lenient=True)
    by[claims.reading_key("fig5_loss", FIG5_LOSS_READINGS[1])] = [
        c for c in fig5 if c["claim"].startswith(("Fig. 5 ", "Fig. 5b "))
    ]
    if lr_alt is not None:
        by[claims.reading_key("lr", LR_READINGS[1])] = reading_claims(lr_alt[0], p, lr_alt[1], lr_alt[2], lenient=True)
    return claims.across_readings(
        rows,
        by,
        headline_keys=[
            claims.reading_key("x_width", X_WIDTH_HEADLINE),
            claims.reading_key("fig5_loss", FIG5_LOSS_READINGS[0]),
            claims.reading_key("lr", LR_READINGS[0]),
        ],
    )
