"""What the training sweeps of notebook 00 show (and §2's cross-entropy checks on the §1 runs' test outputs): per
section the values of the claims (one per seed), the choices made
on validation (the learning rates of §5/§6 by `choose_on_validation`, the stop epoch of §7 by
`early_stopping_summary`; the runs that compete in a choice never evaluate the test split), and the data the
section's figures are drawn from (`figures`). Each ``*_findings`` function takes the sweep of its plan and returns an
`analysis.Findings`."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F

from study import claims as cl
from study import foundations as fd
from study import runs, selection

from .analysis import Findings, Outputs, by_config, done, over_seeds, seed_rows, series
from .run import DROPOUT_VARIANTS, MC_NOTES, MC_TORCH, N_CLASSES, dropout_variant_name


# §1 --------------------------------------------------------------------------------------------------------------
def simplex_outputs(sweep: runs.Sweep) -> Outputs:
    """{run seed: (test logits float64 (M, 3), labels int64 (M,))} of the §1 runs, reused by §2 and §3.

    Raises:
        RuntimeError: a run failed.
    """
    return {c["seed"]: (r.artifacts["logits"], r.artifacts["labels"]) for c, r in done(sweep)}


def simplex_findings(sweep: runs.Sweep) -> Findings:
    """§1: per seed the test accuracy and max |Σ p - 1| of the §1 runs (`plan.simplex_plan`), and the first seed's
    test outputs for Fig. 1 (`figures.simplex_figures`)."""
    frame = by_config(sweep)
    config, res = done(sweep)[0]
    cls, logits, yt = config["classes"], res.artifacts["logits"], res.artifacts["labels"]
    acc = cl.per_seed(frame, metric="accuracy")
    on = cl.per_seed(frame, metric="max_abs_sum_minus_1")
    return Findings(
        values={"on_simplex": on, "acc3": acc, "classes": cls, "deps_simplex": sweep.labels},
        runs=sweep.frame,
        text=[
            f"{len(yt)} test images of digits {cls}; per seed: accuracy "
            f"{acc.round(4).to_dict()}, max |sum p - 1| {on.to_dict()}"
        ],
        data={"p3": fd.softmax(logits), "labels": yt, "classes": cls, "acc": acc, "seed": config["seed"]},
    )


# §2 --------------------------------------------------------------------------------------------------------------
def _bce_bits(y: float, p: float) -> torch.Tensor:
    """ℓ(y, p) in bits, float64."""
    return fd.binary_cross_entropy(torch.tensor(y, dtype=torch.float64), torch.tensor(p, dtype=torch.float64), base=2)


def loss_crossing_bits(generator: torch.Generator, iters: int = 200) -> tuple[float, float]:
    """§2.1: where the two-class loss curves ℓ(1, p) = −log₂ p and ℓ(0, p) = −log₂(1 − p) cross, found by bisection
    from a random bracket [a, b] (a ~ U(0.01, 0.49), b ~ U(0.51, 0.99), drawn by `generator`), in float64.

    Returns:
        (p at the crossing, ℓ(1, p) there in bits); the notes: p = 1/2 and 1 bit.
    """
    a, b = (0.01 + 0.48 * torch.rand(2, generator=generator, dtype=torch.float64)).tolist()
    lo, hi = a, 0.5 + b  # ℓ(1,p) - ℓ(0,p) > 0 at lo, < 0 at hi
    for _ in range(iters):
        mid = 0.5 * (lo + hi)
        if mid in (lo, hi):
            break
        lo, hi = (mid, hi) if float(_bce_bits(1.0, mid) - _bce_bits(0.0, mid)) > 0 else (lo, mid)
    p = 0.5 * (lo + hi)
    return p, float(_bce_bits(1.0, p))


def cross_entropy_findings(outputs: Outputs, draws: int = 1000) -> Findings:
    """§2.1-2.2, Fig. 2: per seed of `outputs` (`simplex_outputs`): the crossing of the two-class loss curves
    (`loss_crossing_bits`, generator seeded with the seed), the symmetry gap max |ℓ(1, p) − ℓ(0, 1 − p)| over `draws`
    random p, and the gap between the multi-class forms −log p_y, −Σ q log p and `F.cross_entropy` on that seed's §1
    test outputs (logits float64 (M, K), labels (M,)); values in bits (crossing) and nats (gaps)."""
    half, sym, forms, cross_p = {}, {}, {}, {}
    for s, (logits, labels) in outputs.items():
        g = torch.Generator().manual_seed(s)
        cross_p[s], half[s] = loss_crossing_bits(g)
        pr = torch.rand(draws, generator=g, dtype=torch.float64).clamp(1e-6, 1 - 1e-6)
        gap = fd.binary_cross_entropy(torch.ones_like(pr), pr) - fd.binary_cross_entropy(torch.zeros_like(pr), 1 - pr)
        sym[s] = float(gap.abs().max())
        P = fd.softmax(logits)
        q = F.one_hot(labels, logits.shape[1]).double()
        ce_py = fd.cross_entropy(P, labels)
        ce_sum = fd.cross_entropy_dist(q, P, base=math.e)
        forms[s] = max(float((ce_py - ce_sum).abs().max()), abs(float(ce_py.mean() - F.cross_entropy(logits, labels))))
    half_, sym_, forms_ = series(half, sym, forms)
    named = {"loss_crossing_bits": half_, "max_abs_symmetry_gap_nats": sym_, "max_abs_form_gap_nats": forms_}
    return Findings(
        values={"half": half_, "sym_gap": sym_, "forms_gap": forms_},
        rows=seed_rows("cross_entropy", named),
        text=[
            f"per seed: crossing at p = {dict((k, round(v, 12)) for k, v in cross_p.items())}, "
            f"ℓ there {half_.to_dict()} bits; max |ℓ(1,p) − ℓ(0,1−p)| {sym_.max():.1e} nats; "
            f"max |−log p_y − (−Σ q log p)| and |mean − F.cross_entropy| {forms_.max():.1e} nats"
        ],
        data={"half": half_},
    )


# §5 --------------------------------------------------------------------------------------------------------------
def final_train_risk(frame: pd.DataFrame, keys: list[str]) -> pd.Series:
    """The last training risk (nats) of every run of `frame`, indexed by `keys` + ["seed"]. A run that diverged (a
    "diverged" row) or ended non-finite counts as having made no progress: its final risk is its initial (epoch 0)
    risk, a conservative stand-in for +inf that keeps every claim value finite.

    Raises:
        ValueError: `frame` has no training risk rows.
    """
    r = frame[(frame.metric == "risk_nats") & (frame.split == "train")]
    if r.empty:
        raise ValueError("frame has no training risk rows (metric 'risk_nats', split 'train')")
    idx = keys + ["seed"]
    last = r.sort_values("epoch").groupby(idx).tail(1).set_index(idx)["value"].astype(float)
    init = r[r.epoch == 0].set_index(idx)["value"].astype(float)
    bad = set(frame[frame.metric == "diverged"].set_index(idx).index) | set(last.index[~np.isfinite(last)])
    for k in bad:
        last[k] = init[k]
    return last.sort_index()


def choose_on_validation(
    frame: pd.DataFrame, key: str, grid: list[Any], *, metric: str = "risk_nats", higher_is_better: bool = False
) -> tuple[Any, pd.DataFrame]:
    """One hyper-parameter `key` chosen from `grid` by `study.selection.choose` on the validation rows of `frame` at
    each run's last epoch (only rows with split "val" are passed; `choose` refuses a test row anyway).

    Returns:
        (chosen value, the selection table of `choose`).
    """
    val = frame[frame.split == "val"]
    chosen, table = selection.choose(
        val, [{key: g} for g in grid], metric=metric, split="val", higher_is_better=higher_is_better
    )
    return chosen[key], table


def _no_test(frame: pd.DataFrame, what: str) -> pd.DataFrame:
    if (frame.split == "test").any():
        raise RuntimeError(f"{what} runs must not evaluate the test split (they compete in a learning-rate choice)")
    return frame


def momentum_findings(sweep: runs.Sweep) -> Findings:
    """§4, Fig. 4: the learning rate chosen on validation (`choose_on_validation`, lowest mean final validation risk,
    grid in increasing order) for the schedule (α*) and for μ = 0, and per seed the values of the claims (final
    training risk in nats, `final_train_risk`): μ = 0 minus schedule at α*, μ = 0 at its own chosen α minus schedule
    at α*, the largest lr minus α*, the smallest lr minus α* (all with the schedule). `sweep`: the runs of
    `plan.momentum_plan`.

    Raises:
        RuntimeError: a run failed, or a run evaluated the test split.
    """
    lr_grid = sorted(dict.fromkeys(c["lr"] for c in sweep.configs))
    lrdf = _no_test(by_config(sweep, lr="lr", momentum="momentum"), "momentum")
    lr_star, table_s = choose_on_validation(lrdf[lrdf.momentum == "sutskever"], "lr", lr_grid)
    lr_none, table_n = choose_on_validation(lrdf[lrdf.momentum == "none"], "lr", lr_grid)
    fin = final_train_risk(lrdf, ["lr", "momentum"])

    def at(lr: float, m: str) -> pd.Series:
        return fin.xs((lr, m), level=["lr", "momentum"])

    def gain(lr: float, m: str) -> pd.Series:
        return cl.differences(at(lr_star, "sutskever"), at(lr, m), better="lower")

    lr_lo, lr_hi = lr_grid[0], lr_grid[-1]
    where = runs.labels_where
    v = {
        "lr_star": lr_star,
        "lr_none": lr_none,
        "lr_lo": lr_lo,
        "lr_hi": lr_hi,
        "mom_gain": gain(lr_star, "none"),
        "mom_gain_own": gain(lr_none, "none"),
        "overshoot": gain(lr_hi, "sutskever"),
        "crawl": gain(lr_lo, "sutskever"),
        "deps_mom_gain": where(sweep.configs, lr=lr_star),
        "deps_mom_gain_own": (
            where(sweep.configs, lr=lr_star, momentum="sutskever") + where(sweep.configs, lr=lr_none, momentum="none")
        ),
        "deps_overshoot": where(sweep.configs, lr=(lr_star, lr_hi), momentum="sutskever"),
        "deps_crawl": where(sweep.configs, lr=(lr_star, lr_lo), momentum="sutskever"),
    }
    risk = lrdf[(lrdf.metric == "risk_nats") & (lrdf.split == "train")]
    steps = lrdf[lrdf.metric == "step"][["epoch", "lr", "momentum", "seed", "value"]].rename(columns={"value": "step"})
    risk = risk.merge(steps, on=["epoch", "lr", "momentum", "seed"])
    init_risk = float(risk[risk.step == 0].value.mean())
    diverged = lrdf[lrdf.metric == "diverged"].groupby(["lr", "momentum"])["seed"].nunique()
    sel = pd.concat([table_s.assign(momentum="sutskever"), table_n.assign(momentum="none")], ignore_index=True)
    return Findings(
        values=v,
        runs=sweep.frame,
        text=[
            f"selection rule: {selection.RULE}",
            f"chosen on validation: α* = {lr_star} with the schedule, {lr_none} with μ = 0; initial risk "
            f"{init_risk:.3f} nats; diverged runs (lr, μ: seeds): "
            f"{diverged.to_dict() if len(diverged) else 'none'}",
        ],
        data={"risk": risk, "fin": fin, "sel": sel, "config": sweep.configs[0]},
    )


# §6 --------------------------------------------------------------------------------------------------------------
def minibatch_findings(sweep: runs.Sweep) -> Findings:
    """§4, online / mini-batch / batch learning at equal gradient evaluations: per B the learning rate chosen on
    validation (`choose_on_validation`), the final training risk (nats) per B and lr (`final_train_risk`), and per
    seed the values of the claims: batch (B = N) minus online (B = first size), and online minus each mini-batch
    size. `sweep`: the runs of `plan.minibatch_plan`.

    Raises:
        RuntimeError: a run failed, or a run evaluated the test split.
    """
    mbdf = _no_test(by_config(sweep, B="batch_size", lr="lr"), "mini-batch")
    Bs = list(dict.fromkeys(c["batch_size"] for c in sweep.configs))
    lrs = sorted(dict.fromkeys(c["lr"] for c in sweep.configs))
    N = N_CLASSES * sweep.configs[0]["per_class"]
    chosen, tables_sel = {}, []
    for B in Bs:
        chosen[B], t = choose_on_validation(mbdf[mbdf.B == B], "lr", lrs)
        tables_sel.append(t.assign(B=B))
    fin = final_train_risk(mbdf, ["B", "lr"])

    def at(B: int) -> pd.Series:
        return fin.xs((B, chosen[B]), level=["B", "lr"])

    v = {
        "Bs": Bs,
        "mb_lr": chosen,
        "N": N,
        "mb_online_vs_batch": cl.differences(at(Bs[0]), at(Bs[-1]), better="lower"),
        "mb_mini_vs_online": {B: cl.differences(at(B), at(Bs[0]), better="lower") for B in Bs[1:-1]},
        "deps_mb": {B: runs.labels_where(sweep.configs, batch_size=B, lr=chosen[B]) for B in Bs},
    }
    mrisk = mbdf[(mbdf.metric == "risk_nats") & (mbdf.split == "train")]
    mwall = mbdf[mbdf.metric == "wall_s"][["epoch", "B", "lr", "seed", "value"]].rename(columns={"value": "wall_s"})
    mrisk = mrisk.merge(mwall, on=["epoch", "B", "lr", "seed"])
    best = pd.concat([mrisk[(mrisk.B == B) & (mrisk.lr == chosen[B])] for B in Bs])
    best["setting"] = best.apply(lambda r: f"B={'N' if r.B == N else r.B} (lr={r.lr})", axis=1)
    wall = mrisk.sort_values("epoch").groupby(["B", "lr", "seed"]).tail(1).groupby(["B", "lr"])["wall_s"].mean()
    summary = pd.DataFrame(
        {
            "lr chosen on validation": pd.Series(chosen),
            "final training risk (nats, mean over seeds)": pd.Series({B: at(B).mean() for B in Bs}),
            "wall time (s, mean; a timing, not a claim)": pd.Series({B: wall[(B, chosen[B])] for B in Bs}),
        }
    ).rename_axis("B")
    data = {"best": best, "fin": fin, "N": N, "Bs": Bs, "sel": pd.concat(tables_sel, ignore_index=True)}
    data.update(summary=summary, hidden=sweep.configs[0]["hidden"])
    return Findings(values=v, runs=sweep.frame, text=[f"selection rule: {selection.RULE}"], data=data)


# §7 --------------------------------------------------------------------------------------------------------------
def early_stopping_summary(frame: pd.DataFrame) -> dict[str, float]:
    """One early-termination run's decision from its tidy rows (`run.early_stopping_run`): the stop epoch is chosen by
    `study.selection.choose` on the run's validation zero-one error at epochs >= 1 (lowest error; a tie goes to the
    earliest epoch, the most regularised) -- only the validation rows are passed to it -- and must be the epoch of
    the network the run kept (its ``error_at_stop`` test row).

    Returns:
        {"stop epoch", "val error at stop", "test error at stop", "test error at end", "train error at end",
        "gain (end - stop)"} (errors as fractions).

    Raises:
        ValueError: no validation error after epoch 0, or no test rows of the stopped and final networks.
        RuntimeError: the run's kept network is not the one of the chosen epoch.
    """
    val = frame[(frame.split == "val") & (frame.metric == "error") & (frame.epoch > 0)]
    if val.empty:
        raise ValueError("frame has no validation error rows after epoch 0")
    epochs = sorted(val.epoch.unique())
    chosen, _ = selection.choose(val, [{"epoch": e} for e in epochs], metric="error", higher_is_better=False)
    stop = float(chosen["epoch"])
    test = frame[frame.split == "test"]
    at_stop, at_end = test[test.metric == "error_at_stop"], test[test.metric == "error"]
    if at_stop.empty or at_end.empty:
        raise ValueError("frame lacks the test rows 'error_at_stop' and 'error' of the stopped and final networks")
    if float(at_stop.epoch.iloc[0]) != stop:
        raise RuntimeError(
            f"the run kept the network of epoch {at_stop.epoch.iloc[0]}, but the validation rows choose epoch {stop}"
        )
    tr = frame[(frame.split == "train") & (frame.metric == "error")].sort_values("epoch")
    te_stop, te_end = float(at_stop.value.iloc[0]), float(at_end.value.iloc[0])
    return {
        "stop epoch": stop,
        "val error at stop": float(val[val.epoch == stop].value.iloc[0]),
        "test error at stop": te_stop,
        "test error at end": te_end,
        "train error at end": float(tr.value.iloc[-1]),
        "gain (end - stop)": te_end - te_stop,
    }


def early_stopping_findings(sweep: runs.Sweep) -> Findings:
    """§4, early termination: per run the stop epoch chosen on validation and the test error there and at the end
    (`early_stopping_summary`), and per noise level and seed the claim's value (test error at the end minus at the
    stop epoch, a fraction). `sweep`: the runs of `plan.early_stopping_plan`."""
    esdf = by_config(sweep, noise="label_noise")
    es = pd.DataFrame(
        [{"label noise": c["label_noise"], "seed": c["seed"], **early_stopping_summary(r.rows)} for c, r in done(sweep)]
    )
    metrics, gain, stop = {}, {}, {}
    for noise, g in es.groupby("label noise", sort=False):
        gain[noise] = g.set_index("seed")["gain (end - stop)"].sort_index()
        stop[noise] = g.set_index("seed")["stop epoch"].sort_index()
        metrics[f"early_stopping_epoch/noise{noise:g}"] = over_seeds(stop[noise], "epoch")
    c0 = sweep.configs[0]
    return Findings(
        values={"es_gain": gain, "es_stop": stop, "es_epochs": c0["epochs"], "deps_es": sweep.labels},
        runs=sweep.frame,
        metrics=metrics,
        text=[f"selection rule (stop epoch): {selection.RULE}"],
        data={"esdf": esdf, "es": es, "config": c0},
    )


# §8 --------------------------------------------------------------------------------------------------------------
def dropout_findings(sweep: runs.Sweep) -> Findings:
    """§5, dropout: train/test zero-one error and risk gaps per variant, the expectation check of every "notes" run,
    and per seed the claims' values: the no-dropout gap minus each dropout variant's gap (fractions), the relative
    Monte Carlo error at the largest M, and the arg-max agreement of the averaged dropout networks with the
    weight-scaled network. `sweep`: the runs of `plan.dropout_plan`.

    Raises:
        RuntimeError: a run failed.
        ValueError: no "notes" run with the expectation check.
    """
    c0 = sweep.configs[0]
    p = c0["p"]
    dodf = by_config(sweep, variant="variant")
    dodf = dodf[dodf.method != "dropout_expectation"]
    dodf["variant"] = [dropout_variant_name(x, p) for x in dodf.variant]
    dos = pd.DataFrame(
        [
            {
                "variant": dropout_variant_name(c["variant"], p),
                "key": c["variant"],
                "seed": c["seed"],
                **r.artifacts["summary"],
            }
            for c, r in done(sweep)
        ]
    )
    gap = {k: g.set_index("seed")["gap (test - train)"].sort_index() for k, g in dos.groupby("key")}
    metrics = {}
    for key in DROPOUT_VARIANTS:
        metrics[f"dropout_gap_test_minus_train_error/{key if key == 'none' else f'{key}_p{p}'}"] = over_seeds(
            gap[key], "fraction"
        )
    notes = [(c, r.artifacts["expectation"]) for c, r in done(sweep) if r.artifacts["expectation"] is not None]
    if not notes:
        raise ValueError("no 'notes' run with the expectation check (mc_samples) in the sweep")
    mc_err = pd.Series(
        {c["seed"]: max(ex["mc"][-1][MC_NOTES], ex["mc"][-1][MC_TORCH]) for c, ex in notes}, dtype=float
    ).sort_index()
    agree = pd.Series({c["seed"]: ex["agree"] for c, ex in notes}, dtype=float).sort_index()
    ex = notes[0][1]
    v = {
        "do_gain": {k: cl.differences(gap[k], gap["none"], better="lower") for k in ("notes", "torch")},
        "deps_do": {k: runs.labels_where(sweep.configs, variant=(k, "none")) for k in ("notes", "torch")},
        "deps_do_mc": runs.labels_where(sweep.configs, variant="notes"),
        "rgap": dos.groupby("variant", sort=False)["risk gap (nats)"].mean(),
        "p": p,
        "mc_err": mc_err,
        "agree": agree,
        "M_final": ex["M_final"],
        "n_avg": ex["n_avg"],
        "exact_eval": max(e_["exact_eval"] for _, e_ in notes),
        "tv": float(np.mean([e_["tv"] for _, e_ in notes])),
    }
    return Findings(
        values=v,
        runs=sweep.frame,
        metrics=metrics,
        text=[
            f"relative MC error at M={v['M_final']} per seed (worse of the two conventions): "
            f"{mc_err.round(4).to_dict()}; scale_weights(net) vs net.eval(): max |diff| / max |output| "
            f"= {v['exact_eval']:.1e} (float32)",
            f"whole network, 500 test images: average of {v['n_avg']} dropout nets vs the weight-scaled "
            f"net: same class per seed {agree.round(3).to_dict()}, mean total-variation distance "
            f"{v['tv']:.3f}",
        ],
        data={"dodf": dodf, "dos": dos, "mc": pd.DataFrame(ex["mc"]), "config": c0, "mc_seed": notes[0][0]["seed"]},
    )
