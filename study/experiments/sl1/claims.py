"""Yang et al. (notebook ``01_sl1_mnist``): the paper's claims judged over seeds under every reading (`judge`,
`judge_reading`), the training checks, the equal-λ ablation, the readings record and the headline metrics. The
paper gives no numbers (only Fig. 3), so its claims are typed as orderings. Where this profile departs from the paper:
`params.deviations`."""

from __future__ import annotations

from typing import Any

import pandas as pd

from study import claims as claims_mod
from study import results
from study.experiments.sl1.params import ERROR_FUNCTIONS, HEADLINE_ERROR_FUNCTION, READINGS, Params
from study.experiments.sl1.plan import headline_keys
from study.experiments.sl1.run import LAYER, TRAIN_EVAL

PAPER = "Yang et al."
Claim = dict[str, Any]
FIG3 = "Fig. 3: SL1"
GENERALISATION = (
    "SL1 mitigates overfitting and improves generalisation (smaller train − test accuracy gap than without penalty)"
)
SMOOTHING = "Smoothing makes the training loss curve smoother than non-smooth group L1 (α → 0)"


# ------------------------------------------------------------------------------------------------------ claims
def _by_method(df: pd.DataFrame, methods: list[str], **where: Any) -> pd.DataFrame:
    """Per-seed values (index seed) of each method (columns), `claims.per_seed` with `where`; seeds where a method
    failed are dropped. An integer ``epoch`` selects that epoch (`claims.per_seed` knows only "last")."""
    if "epoch" in where and where["epoch"] != "last":
        e = where.pop("epoch")
        df = df[df["epoch"] == e]
    return pd.concat({m: claims_mod.per_seed(df, method=m, **where) for m in methods}, axis=1).dropna()


def _vs_best_other(df: pd.DataFrame, methods: list[str], better: str, **where: Any) -> tuple[pd.Series, str]:
    """Per seed, the margin by which SL1 beats the best of the other methods in that seed (> 0: SL1 best), and a
    note with the mean per-method values."""
    tab = _by_method(df, methods, **where)
    others = [m for m in methods if m != "sl1"]
    best = tab[others].min(axis=1) if better == "lower" else tab[others].max(axis=1)
    d = claims_mod.differences(tab["sl1"], best, better=better)
    means = ", ".join(f"{m} {tab[m].mean():.4g}" for m in methods)
    return d, f"means over seeds: {means}"


def _runs_of(df: pd.DataFrame, methods: list[str] | None = None) -> list[str]:
    """The run labels (``run`` column, `plan.config_rows`) of the rows of `methods` (all when None): a claim's
    ``depends_on``."""
    if "run" not in df.columns:
        raise ValueError(
            "the frame has no 'run' column: build it with config_rows() so that claims can name their runs"
        )
    d = df if methods is None else df[df["method"].isin(methods)]
    return sorted(set(d["run"].dropna()))


def judge_reading(
    final: pd.DataFrame,
    sweep: pd.DataFrame | None = None,
    *,
    methods: list[str],
    epochs: int,
    chosen_alpha: float | None = None,
    error_function: str = HEADLINE_ERROR_FUNCTION,
) -> list[Claim]:
    """Yang et al.'s claims (abstract, §1, §2(3), §3(3) with Fig. 3, §4) on one reading's runs, typed from their
    words and judged by `study.claims.judge` over seeds, each naming the runs its values come from (``depends_on``).

    * Fig. 3, early / final (ordering): per seed, the lowest training error of the other methods minus SL1's, after
      epoch 1 / at `epochs` (> 0: SL1 lowest); the training error is the data term (``error_function`` reading
      "data_term") or eq. 7's objective with each method's own penalty ("objective"), mean over the epoch's batches;
    * "higher precision" (ordering): SL1's test accuracy minus the best other method's, per seed;
    * "prunes nodes" (ordering): SL1's pruned nodes minus the unpenalised network's, per seed;
    * "without loss of accuracy" (point, 0 ± the accuracy tolerance): SL1's test accuracy minus its accuracy after
      zeroing the pruned nodes, per seed ("not tested" when SL1 pruned no node in any seed);
    * "mitigates overfitting, improves generalisation" (ordering; abstract and §4): per seed, the unpenalised
      network's train − test accuracy gap minus SL1's (train accuracy on the first `TRAIN_EVAL` training images);
    * "smoothing makes the loss smoother" (ordering, α sweep on the validation runs), one claim per λ of the sweep:
      per seed, the total variation per batch of the training objective at α = 0 (group L1) minus at the chosen α.

    Args:
        final: `plan.config_rows` of the final runs of one reading (split "test"; methods as their names; ``run``).
        sweep: `plan.config_rows` of the α sweep (``lam``, ``alpha``, ``run`` columns), or None / empty.
        methods: the compared methods; epochs: the final runs' epochs; chosen_alpha: SL1's α (of this reading).
        error_function: a key of `ERROR_FUNCTIONS` (the Fig. 3 quantity, an open choice in `READINGS`).

    Returns:
        claim rows (`study.claims.judge` / `study.claims.not_tested`).

    Raises:
        ValueError: an unknown `error_function`; a frame without the ``run`` column.
    """
    if error_function not in ERROR_FUNCTIONS:
        raise ValueError(f"error_function={error_function!r} is out of range; accepted: {list(ERROR_FUNCTIONS)}")
    quantity = ERROR_FUNCTIONS[error_function]
    out = []
    has_sl1 = "sl1" in methods and len(methods) > 1
    both = "sl1" in methods and "none" in methods
    why_no = f"needs 'sl1' and another method in methods (methods={methods})"
    curve = "entropy error, eq. 4, without penalty"
    curve = curve if quantity == "loss" else "eq. 7's objective: data term + the method's own penalty"
    ref, lower = PAPER + ", §3(3) Fig. 3", "SL1 < every other method"
    every = _runs_of(final, methods) if has_sl1 else []
    for e, name, what in (
        (1, "early", "reduces the training error fastest early on (lowest after epoch 1)"),
        (epochs, "final", "converges best (lowest training error at the last epoch)"),
    ):
        if not has_sl1 or (name == "final" and epochs < 2):
            why = why_no if not has_sl1 else "1 epoch: the final error is the early one"
            out.append(_claim(ref, f"{FIG3} {what}", "ordering", why, lower, unit="nats"))
            continue
        d, note = _vs_best_other(final, methods, "lower", metric=quantity, split="train", epoch=e)
        note = (
            f"per seed: lowest other training error − SL1's ({curve}, nats/example, mean over the epoch's "
            f"batches; > 0: SL1 lowest); final runs, epoch {e}; {note}"
        )
        out.append(_claim(ref, f"{FIG3} {what}", "ordering", d, lower, note=note, runs=every, unit="nats"))
    claim, higher = "SL1 achieves higher precision (highest test accuracy)", "SL1 > every other method"
    if has_sl1:
        d, note = _vs_best_other(final, methods, "higher", metric="accuracy", split="test", epoch="last")
        note = f"per seed: SL1 test accuracy − best other's (final runs, last epoch); {note}"
        out.append(_claim(PAPER + ", §3(3)", claim, "ordering", d, higher, note=note, runs=every, unit="fraction"))
    else:
        out.append(_claim(PAPER + ", §3(3)", claim, "ordering", why_no, higher, unit="fraction"))
    ref = PAPER + ", §1, §4"
    claim = "SL1 prunes nodes of the fully connected layer (more near-zero ‖u_k‖ than without penalty)"
    d, note = f"needs 'sl1' and 'none' in methods (methods={methods})", ""
    if both:
        tab = _by_method(final, ["sl1", "none"], metric="pruned_nodes", split="-", epoch="last")
        d = claims_mod.differences(tab["sl1"], tab["none"], better="higher")
        means = f"SL1 mean {tab['sl1'].mean():.1f}, none {tab['none'].mean():.1f}"
        note = f"per seed: pruned nodes (of 192) SL1 − none; {means}"
    runs_both = _runs_of(final, ["sl1", "none"]) if both else []
    out.append(_claim(ref, claim, "ordering", d, "SL1 > no penalty", note=note, runs=runs_both, unit="nodes"))
    claim, d, note, runs_sl1 = "Pruning SL1's near-zero nodes costs no accuracy", "needs 'sl1' in methods", "", []
    if "sl1" in methods:
        runs_sl1 = _runs_of(final, ["sl1"])
        sl1 = final[final.method == "sl1"]
        d = "SL1 pruned no node in any seed at this setting: there is nothing to zero, so the claim cannot be tested"
        if not (claims_mod.per_seed(sl1, metric="pruned_nodes", split="-", epoch="last") == 0).all():
            acc = {
                k: claims_mod.per_seed(sl1, metric=k, split="test", epoch="last")
                for k in ("accuracy", "accuracy_pruned")
            }
            tab = pd.concat(acc, axis=1).dropna()
            d = tab["accuracy"] - tab["accuracy_pruned"]
            note = "per seed: SL1 test accuracy − test accuracy after zeroing its pruned columns u_k (final runs)"
    out.append(_claim(ref, claim, "point", d, 0.0, note=note, runs=runs_sl1, quantity="accuracy"))
    ref, smaller = PAPER + ", abstract, §4", "gap(SL1) < gap(no penalty)"
    d, note = f"needs 'sl1' and 'none' in methods and their train accuracy (methods={methods})", ""
    if both and ((final["metric"] == "accuracy") & (final["split"] == "train")).any():
        acc = {s: final[final.split == s] for s in ("train", "test")}
        gap = {
            m: claims_mod.per_seed(acc["train"], method=m, metric="accuracy", epoch="last")
            - claims_mod.per_seed(acc["test"], method=m, metric="accuracy", epoch="last")
            for m in ("sl1", "none")
        }
        d = claims_mod.differences(gap["sl1"], gap["none"], better="lower").dropna()
        note = (
            f"per seed: (train − test accuracy) without penalty minus SL1's, final runs at the last epoch, train "
            f"accuracy on the first {TRAIN_EVAL:,} training images; mean gap SL1 {gap['sl1'].mean():.4f}, none "
            f"{gap['none'].mean():.4f}"
        )
    else:
        runs_both = []
    out.append(_claim(ref, GENERALISATION, "ordering", d, smaller, note=note, runs=runs_both, unit="fraction"))
    return out + _smoothing(sweep, chosen_alpha)


def _smoothing(sweep: pd.DataFrame | None, chosen_alpha: float | None) -> list[Claim]:
    """The smoothness claims of `judge_reading`: one per λ of the α sweep holding α = 0 and the chosen α."""
    ref, smoother, out = PAPER + ", §1, §2(3)", "TV(SL1, α > 0) < TV(group L1, α = 0)", []
    lams = sorted(sweep["lam"].dropna().unique()) if sweep is not None and not sweep.empty else []
    for lam in lams:
        d = sweep[sweep["lam"] == lam]  # type: ignore[index]  # lams is empty when sweep is None
        if chosen_alpha is None or not {0.0, float(chosen_alpha)} <= set(d["alpha"].dropna()):
            continue
        used = _runs_of(d[d["alpha"].isin([0.0, float(chosen_alpha)])])
        tv = {
            a: claims_mod.per_seed(d[d["alpha"] == a], metric="tv_batch_objective", split="train", epoch="last")
            for a in (0.0, float(chosen_alpha))
        }
        diff: Any = claims_mod.differences(tv[float(chosen_alpha)], tv[0.0], better="lower")
        note = (
            f"α sweep (validation runs, training curves) at λ = {lam:g}: per seed, total variation per batch "
            f"of the training objective at α = 0 minus at α = {chosen_alpha:g}; the paper does not measure smoothness"
        )
        if (diff == 0).all():  # SL1 at α equals group L1 exactly when no ‖u_k‖ fell below α: nothing to compare
            diff = (
                f"at λ = {lam:g} the runs at α = {chosen_alpha:g} and α = 0 are identical in every seed (no ‖u_k‖ "
                "fell below α, where the smoothing acts)"
            )
        claim = f"{SMOOTHING}, at λ = {lam:g}"
        out.append(_claim(ref, claim, "ordering", diff, smoother, note=note, runs=used, unit="nats/step"))
    if not out:
        why = "no α sweep with α = 0 and the chosen α in this profile"
        out.append(_claim(ref, SMOOTHING, "ordering", why, smoother, unit="nats/step"))
    return out


def _claim(
    ref: str, claim: str, type: str, values: Any, paper_value: Any, *, note: str = "", runs: Any = (), **unit: Any
) -> Claim:
    """`study.claims.judge` of the per-seed `values`, or `study.claims.not_tested` when `values` is the reason (a
    string); `unit` is ``unit=`` or ``quantity=``."""
    if isinstance(values, str):
        return claims_mod.not_tested(ref, claim, type, values, paper_value=paper_value, depends_on=runs, **unit)
    return claims_mod.judge(ref, claim, type, values, paper_value=paper_value, note=note, depends_on=runs, **unit)


def judge(
    frames: dict[str, pd.DataFrame],
    sweep: pd.DataFrame | None,
    *,
    methods: list[str],
    epochs: int,
    chosen: dict[str, Any],
    keys: list[str],
    diverged: Any = (),
) -> list[Claim]:
    """The notebook's claim list: every claim judged under every reading (issue 17), `judge_reading` on the
    headline runs, then on each reading's runs (`figures.reading_frames`; one choice changed), and
    `study.claims.across_readings`.

    * ``alpha=<a>``: the final runs with SL1 at α = a, and the α sweep's smoothness claims read at α = a;
    * ``activation=<a>`` / ``momentum=<m>``: that reading's final runs (no α sweep: its smoothness claims have no
      such reading);
    * ``error_function=objective``: the headline runs, Fig. 3's claims on eq. 7's objective (the only claims this
      choice affects).

    A reading's claim that rests on a run in `diverged` (labels of runs that diverged unexpectedly) is
    "inconclusive" under that reading; a reading whose runs failed so that a claim cannot be computed gives it
    "not tested" there (with_readings: it does not decide robustness).

    Args:
        frames: `figures.reading_frames` (``"headline"`` and ``"<choice>=<reading>"`` keys); sweep: the α sweep's
            `plan.config_rows` or None; chosen: `plan.choose_penalties`' result; keys: `plan.headline_keys`.
    """
    alpha = chosen.get("alpha")
    bad = set(diverged)
    head = judge_reading(frames["headline"], sweep, methods=methods, epochs=epochs, chosen_alpha=alpha)
    by: dict[str, list[Claim]] = {}
    for key, df in frames.items():
        if key == "headline":
            continue
        choice, value = key.split("=", 1)
        a = float(value) if choice == "alpha" else alpha
        try:
            rows = judge_reading(
                df, sweep if choice == "alpha" else None, methods=methods, epochs=epochs, chosen_alpha=a
            )
        except ValueError as err:  # the reading's runs failed: nothing to judge there
            why = f"the runs of reading {key} failed: {err}"
            rows = [
                claims_mod.not_tested(
                    c["paper"], c["claim"], c["type"], why, paper_value=c["paper_value"], unit=c["unit"]
                )
                for c in head
            ]
        if choice != "alpha":  # the smoothness claims come from the α sweep, which only the α readings vary
            rows = [c for c in rows if not c["claim"].startswith("Smoothing")]
        by[key] = [
            {**c, "verdict": "inconclusive"} if c["verdict"] != "not tested" and bad & set(c["depends_on"]) else c
            for c in rows
        ]
    for ef in ERROR_FUNCTIONS:
        if ef != HEADLINE_ERROR_FUNCTION:
            kw: dict[str, Any] = dict(methods=methods, epochs=epochs, chosen_alpha=alpha, error_function=ef)
            rows = judge_reading(frames["headline"], None, **kw)
            by[claims_mod.reading_key("error_function", ef)] = [c for c in rows if c["claim"].startswith(FIG3)]
    return claims_mod.across_readings(head, by, headline_keys=keys)


# ------------------------------------------------------------------------------------ checks, records, metrics
def training_checks(frames: dict[str, pd.DataFrame], method: str = "sl1") -> list[dict[str, Any]]:
    """`study.claims.training_check` of every reading's final runs (`figures.reading_frames`): the mean 1 − cos_init_fc
    of `method`'s runs against the unpenalised runs of the same reading (same activation, lr and schedule). The
    headline reading is ``headline=True``. Readings without runs of both are left out."""
    out = []
    for key, df in frames.items():
        if df.empty:
            continue
        d = df[(df["metric"] == f"cos_init_{LAYER}")]
        moved, base = 1.0 - d[d.method == method]["value"], 1.0 - d[d.method == "none"]["value"]
        if len(moved) and len(base):
            out.append(claims_mod.training_check(key, LAYER, moved, base, headline=key == "headline"))
    return out


def readings_record(p: Params, chosen: dict[str, Any], frames: dict[str, pd.DataFrame]) -> dict[str, Any]:
    """``headline.json``'s ``readings``: per open choice of `READINGS` that this profile varies, the readings run,
    the headline reading and why (the rule and the text's evidence, fixed before the test split is touched)."""
    keys = set(frames) | {claims_mod.reading_key("error_function", e) for e in ERROR_FUNCTIONS}
    heads = dict(k.split("=", 1) for k in headline_keys(p, chosen))
    out = {}
    for choice, spec in READINGS.items():
        if choice not in heads:
            continue
        vals = sorted({k.split("=", 1)[1] for k in keys if k.startswith(choice + "=")} | {heads[choice]})
        why = f"rule: {spec['headline']}; evidence: {spec['why']}"
        out[choice] = {"readings": vals, "headline": heads[choice], "why": why}
    return out


def metrics(final: pd.DataFrame, sweep: pd.DataFrame | None = None) -> dict[str, dict[str, Any]]:
    """Headline metrics over seeds, by method, from the final runs at each run's last epoch: ``test_accuracy/<m>``,
    ``test_accuracy_pruned/<m>`` (fractions), ``pruned_nodes/<m>`` (nodes of 192), ``train_loss/<m>`` (nats);
    ``cos_init_fc/<m>`` (cosine, 1 = the layer did not move), ``train_eval_accuracy/<m>`` (on `TRAIN_EVAL`
    training images); and from the α sweep (`plan.config_rows`, relabelled by `sweep_label`), per (λ, α):
    ``val_accuracy/sl1_lam<λ>_alpha<α>``, ``pruned_nodes/...``, ``tv_batch_objective/...`` (nats/step)."""
    out = {}
    for name, split, unit in [
        ("accuracy", "test", "fraction"),
        ("accuracy_pruned", "test", "fraction"),
        ("pruned_nodes", "-", "nodes"),
        ("loss", "train", "nats"),
        (f"cos_init_{LAYER}", "-", "cosine"),
        ("accuracy", "train", "fraction"),
    ]:
        if not ((final["metric"] == name) & (final["split"] == split)).any():
            continue
        for k, v in results.metric_summary(final, name, split=split, unit=unit).items():
            pre = {"test": "test_", "-": "", "train": "train_eval_" if name == "accuracy" else "train_"}[split]
            out[pre + k] = v
    if sweep is not None and not sweep.empty:
        s = sweep.assign(method=[sweep_label(lam, a) for lam, a in zip(sweep["lam"], sweep["alpha"])])
        for name, split, unit in [
            ("accuracy", "val", "fraction"),
            ("pruned_nodes", "-", "nodes"),
            ("tv_batch_objective", "train", "nats/step"),
        ]:
            for k, v in results.metric_summary(s, name, split=split, unit=unit).items():
                out[("val_" if split == "val" else "") + k] = v
    return out


def sweep_label(lam: float, alpha: float) -> str:
    """The ``method`` label of an α-sweep run in the results, e.g. ``sl1_lam0.01_alpha0.1`` (``_alpha0``: group
    L1)."""
    return f"sl1_lam{lam:g}_alpha{alpha:g}"
