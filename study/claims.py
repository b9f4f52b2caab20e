"""Claims and the one verdict rule of the study: mean over seeds, its 95 % t-interval, and a verdict per claim type.

A claim is what a paper says, typed from its wording:

* ``point``     -- "the value is p": our mean should lie within p ± tolerance;
* ``at_least``  -- "reaches at least p" (higher supports the claim): our value ≥ p − tolerance;
* ``at_most``   -- "at most p" (lower supports the claim): our value ≤ p + tolerance;
* ``ordering``  -- "A is better than B": the per-seed differences (oriented so that > 0 supports the claim) are > 0;
* ``trend``     -- "the value rises (or falls) with a parameter": the per-seed slopes (oriented so that > 0 supports
  the claim, see `slopes`) are > 0.

**The rule** (`verdict`). Over n seeds with mean m and sample standard deviation s, the 95 % interval is
m ± t(0.975, n − 1) · s / √n (Student's t, `scipy.stats.t`). The claim's accepted region is
[p − tol, p + tol] (point), [p − tol, ∞) (at_least), (−∞, p + tol] (at_most), (0, ∞) (ordering, trend). Then

* ``reproduced``     -- the whole interval lies in the accepted region;
* ``not reproduced`` -- the whole interval lies outside it;
* ``inconclusive``   -- the interval straddles its edge, or n < 3 (`MIN_SEEDS`; the reason is in the note);
* ``not tested``     -- the profile cannot answer the question (too few epochs, images or runs); `not_tested` gives
  the reason and no verdict is computed.

Zero variance over n ≥ 3 seeds gives a zero-width interval, decided by where the mean lies. A non-finite value is an
error, never a verdict.

**Tolerances** are defined once, per quantity (`TOLERANCES`, in the quantity's unit) and printed in the report;
ordering and trend claims have none (the sign decides). Each claim row (`judge`) has the fields of
``headline.json``: ``paper, claim, type, paper_value, unit, tolerance, n, mean, ci95, verdict, note``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd

TYPES = ("point", "at_least", "at_most", "ordering", "trend")
VERDICTS = ("reproduced", "not reproduced", "inconclusive", "not tested")
#: Fewer seeds than this give "inconclusive" (a 95 % t-interval needs n - 1 >= 2 degrees of freedom to mean much).
MIN_SEEDS = 3
CONFIDENCE = 0.95

#: Tolerance per quantity, in the quantity's unit: how far from the paper's number still counts as the same result.
#: ``(tolerance, unit, why)``. Chosen before looking at our results (issue 11).
TOLERANCES: dict[str, tuple[float, str, str]] = {
    "accuracy": (
        0.01,
        "fraction",
        "1 percentage point: the spread of test accuracy over seeds and data-loading orders in the papers' own tables",
    ),
    "error": (0.01, "fraction", "1 percentage point, as for accuracy"),
    "sparsity": (0.02, "fraction", "2 percentage points of zero weights"),
    "nodes": (2.0, "nodes", "2 nodes of the layer"),
    "loss": (0.02, "nats", "0.02 nats of cross-entropy"),
    "bits": (0.05, "bits", "0.05 bits of mutual information (the estimator's bias at N = 100 samples)"),
    "ratio": (0.1, "ratio", "10 % of a ratio"),
    "fraction": (0.02, "fraction", "2 percentage points of a fraction"),
    "identity": (1e-9, "absolute error", "an exact identity computed in float64 (rounding errors are ~1e-12)"),
    "rel_error": (
        1e-6,
        "relative error",
        "a gradient check in float64: central finite differences are accurate to about 1e-6 relative",
    ),
}


# ------------------------------------------------------------------------------------------------ interval and rule
def _values(values: Iterable[float], name: str = "values") -> np.ndarray:
    v = np.asarray(list(values), dtype=float).ravel()
    if not np.all(np.isfinite(v)):
        raise ValueError(f"{name} contains a non-finite value ({v.tolist()}); a claim needs finite per-seed values")
    return v


def interval(values: Iterable[float], confidence: float = CONFIDENCE) -> tuple[float, tuple[float, float] | None, int]:
    """Mean, two-sided `confidence` t-interval ``(low, high)`` of the mean, and n, over per-seed values.

    Args:
        values: one number per seed (shape (n,)), in the claim's unit.
        confidence: in (0, 1).

    Returns:
        ``(mean, (low, high), n)``; the interval is None for n < 2 (no spread to estimate) and has zero width when
        every value is equal.

    Raises:
        ValueError: no value, a non-finite value, or `confidence` outside (0, 1).
    """
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence={confidence} must be in (0, 1)")
    v = _values(values)
    n = len(v)
    if n == 0:
        raise ValueError("values is empty: a claim needs at least one per-seed value")
    m = float(v.mean())
    if n < 2:
        return m, None, n
    s = 0.0 if np.ptp(v) == 0 else float(v.std(ddof=1))  # equal values: exactly zero width, no rounding residue
    from scipy import stats  # here, not at import: scipy.stats costs ~0.6 s in every worker process

    half = float(stats.t.ppf(0.5 + confidence / 2.0, n - 1)) * s / math.sqrt(n)
    return m, (m - half, m + half), n


def region(type: str, paper_value: float | None = None, tolerance: float = 0.0) -> tuple[float, float]:
    """The accepted region ``(low, high)`` of a claim type (module docstring); the bounds are inclusive for point,
    at_least and at_most, and exclusive (0, ∞) for ordering and trend.

    Raises:
        ValueError: an unknown `type`, a negative `tolerance`, or no `paper_value` for a point / bound claim.
    """
    if type not in TYPES:
        raise ValueError(f"type={type!r} not in {TYPES}")
    if tolerance < 0 or not math.isfinite(tolerance):
        raise ValueError(f"tolerance={tolerance} must be a finite number >= 0")
    if type in ("ordering", "trend"):
        return 0.0, math.inf
    if paper_value is None or not math.isfinite(float(paper_value)):
        raise ValueError(f"a {type} claim needs a finite numeric paper_value, got {paper_value!r}")
    p = float(paper_value)
    return {
        "point": (p - tolerance, p + tolerance),
        "at_least": (p - tolerance, math.inf),
        "at_most": (-math.inf, p + tolerance),
    }[type]


def verdict(
    type: str, values: Iterable[float], paper_value: float | None = None, tolerance: float = 0.0
) -> tuple[str, str]:
    """The study's verdict rule (module docstring) on per-seed `values`: ``(verdict, reason)``.

    Raises:
        ValueError: as `interval` and `region`.
    """
    lo_ok, hi_ok = region(type, paper_value, tolerance)
    m, ci, n = interval(values)
    if n < MIN_SEEDS:
        return "inconclusive", f"n = {n} < {MIN_SEEDS} seeds: no interval to judge by"
    lo, hi = ci  # type: ignore[misc]  # n >= MIN_SEEDS: interval gives one
    open_ = type in ("ordering", "trend")
    inside = (lo > lo_ok if open_ else lo >= lo_ok) and hi <= hi_ok
    outside = (hi <= lo_ok if open_ else hi < lo_ok) or lo > hi_ok
    if inside:
        return "reproduced", "the whole 95 % interval satisfies the claim"
    if outside:
        return "not reproduced", "the whole 95 % interval contradicts the claim"
    return "inconclusive", "the 95 % interval straddles the claim's edge"


# ---------------------------------------------------------------------------------------------------- claim rows
def tolerance_of(quantity: str | None) -> tuple[float, str]:
    """``(tolerance, unit)`` of a quantity in `TOLERANCES`.

    Raises:
        ValueError: an unknown quantity (lists the known ones).
    """
    if quantity not in TOLERANCES:
        raise ValueError(f"quantity={quantity!r} not in TOLERANCES {sorted(TOLERANCES)}")
    tol, unit, _ = TOLERANCES[quantity]
    return tol, unit


def judge(
    paper: str,
    claim: str,
    type: str,
    values: Iterable[float],
    *,
    paper_value: Any = None,
    quantity: str | None = None,
    unit: str | None = None,
    note: str = "",
    depends_on: Iterable[str] = (),
) -> dict[str, Any]:
    """One claim row for ``headline.json``, judged by `verdict`.

    Args:
        paper: who claims it, e.g. "Xue & Xin, Table 1".
        claim: the claim in words.
        type: one of `TYPES`.
        values: per-seed values, shape (n,): the metric (point/at_least/at_most), the difference A − B oriented so
            that > 0 supports the claim (ordering), or the per-seed slope oriented likewise (trend).
        paper_value: the paper's number (point/bound, in the quantity's unit), or a text such as "SL1 < group-L1"
            for ordering/trend claims.
        quantity: a key of `TOLERANCES` (required for point/at_least/at_most; gives the tolerance and unit).
        unit: the unit of `values` for ordering/trend claims (default: the quantity's unit, else "").
        note: how the values were measured (epoch, split, ...); the rule's reason is appended.
        depends_on: the labels of the runs the values are computed from (`study.runs.run_label`); a claim is
            withheld only when one of these diverged unexpectedly (`study.run.Run.save`).

    Raises:
        ValueError: an unknown type or quantity, a non-finite value, no value.
    """
    values = _values(values, f"values of claim {claim!r}")
    if type in ("point", "at_least", "at_most"):
        tol, qunit = tolerance_of(quantity)
        pv = float(paper_value) if paper_value is not None else None
    else:
        tol, qunit = 0.0, (tolerance_of(quantity)[1] if quantity else "")
        pv = None
    v, reason = verdict(type, values, pv, tol)
    m, ci, n = interval(values)
    unit = unit if unit is not None else qunit
    ci95 = list(ci) if ci is not None else None
    return _row(paper, claim, type, paper_value, unit, tol, n, m, ci95, v, "; ".join(x for x in (note, reason) if x), depends_on)  # fmt: skip


def _row(
    paper: str,
    claim: str,
    type: str,
    paper_value: Any,
    unit: str,
    tol: float | None,
    n: int,
    mean: float | None,
    ci95: list[float] | None,
    verdict: str,
    note: str,
    depends_on: Iterable[str],
) -> dict[str, Any]:
    """A claim row with the fields of `CLAIM_FIELDS` (the tolerance kept for point / bound types only)."""
    return {
        "paper": paper,
        "claim": claim,
        "type": type,
        "paper_value": paper_value,
        "unit": unit,
        "tolerance": tol if type in TYPES[:3] else None,
        "n": n,
        "mean": mean,
        "ci95": ci95,
        "verdict": verdict,
        "note": note,
        "depends_on": sorted(set(depends_on)),
    }


def not_tested(
    paper: str,
    claim: str,
    type: str,
    reason: str,
    *,
    paper_value: Any = None,
    quantity: str | None = None,
    unit: str | None = None,
    depends_on: Iterable[str] = (),
) -> dict[str, Any]:
    """A claim row the profile cannot answer: verdict "not tested", `reason` in the note, no mean or interval.

    Raises:
        ValueError: an unknown `type`, or an empty `reason`.
    """
    if type not in TYPES:
        raise ValueError(f"type={type!r} not in {TYPES}")
    if not reason:
        raise ValueError("a 'not tested' claim needs a reason")
    tol, qunit = tolerance_of(quantity) if quantity else (None, "")
    unit = unit if unit is not None else qunit
    return _row(paper, claim, type, paper_value, unit, tol, 0, None, None, "not tested", reason, depends_on)


# ------------------------------------------------------------------------------------------ per-seed value helpers
def per_seed(df: pd.DataFrame, *, value: str = "value", seed: str = "seed", **where: Any) -> pd.Series:
    """The rows of a tidy frame matching ``column == value`` for each keyword in `where` (``epoch="last"`` picks
    each seed's last epoch), as one value per seed (indexed by seed, sorted).

    Raises:
        ValueError: no row matches, or a seed has several rows after the selection (name more columns).
    """
    d = df
    last = where.get("epoch") == "last"
    if last:
        del where["epoch"]
    for col, want in where.items():
        d = d[d[col] == want]
    if last:
        d = d[d["epoch"] == d.groupby(seed)["epoch"].transform("max")]
    if d.empty:
        raise ValueError(f"no rows match {where}" + (" at the last epoch" if last else ""))
    if d[seed].duplicated().any():
        raise ValueError(f"several rows per seed match {where}; select by more columns")
    return d.set_index(seed)[value].astype(float).sort_index()


def differences(a: pd.Series, b: pd.Series, *, better: str = "higher") -> pd.Series:
    """Per-seed paired differences for an ordering claim "A better than B", oriented so that > 0 supports it:
    a − b when `better` is "higher", b − a when "lower". Only seeds present in both are paired.

    Raises:
        ValueError: `better` not higher/lower, or no seed in common.
    """
    if better not in ("higher", "lower"):
        raise ValueError(f"better={better!r} must be 'higher' or 'lower'")
    common = a.index.intersection(b.index)
    if len(common) == 0:
        raise ValueError(f"no seed in common between {list(a.index)} and {list(b.index)}")
    d = a.loc[common] - b.loc[common]
    return d if better == "higher" else -d


def slopes(
    df: pd.DataFrame, x: str, *, value: str = "value", seed: str = "seed", direction: str = "increasing"
) -> pd.Series:
    """Per-seed least-squares slope of `value` against column `x` (for a trend claim), oriented so that > 0
    supports a trend in `direction` ("increasing" or "decreasing"). `df` holds the rows of one quantity.

    Raises:
        ValueError: an unknown direction, or a seed with fewer than 2 distinct x.
    """
    if direction not in ("increasing", "decreasing"):
        raise ValueError(f"direction={direction!r} must be 'increasing' or 'decreasing'")
    out = {}
    for s, g in df.groupby(seed):
        xs, ys = g[x].astype(float).to_numpy(), g[value].astype(float).to_numpy()
        if len(np.unique(xs)) < 2:
            raise ValueError(f"seed {s}: a trend needs at least 2 distinct {x}, got {np.unique(xs).tolist()}")
        k = float(np.polyfit(xs, ys, 1)[0])
        out[s] = k if direction == "increasing" else -k
    return pd.Series(out, dtype=float).sort_index()


# ------------------------------------------------------------------------------------------------------ display
def fmt_ci(c: dict[str, Any], scale: float = 1.0, digits: int = 3) -> str:
    """ "m [lo, hi] (n=k)" of a claim row (values times `scale`), "—" when not tested."""
    if c.get("mean") is None:
        return "—"
    m = c["mean"] * scale
    if c.get("ci95") is None:
        return f"{m:.{digits}g} (n={c['n']})"
    lo, hi = (x * scale for x in c["ci95"])
    return f"{m:.{digits}g} [{lo:.{digits}g}, {hi:.{digits}g}] (n={c['n']})"


def claims_table(claims: Sequence[dict[str, Any]]) -> pd.DataFrame:
    """The claims as a display frame: claim, type, paper value, ours (mean [95 % CI] (n)), tolerance, verdict,
    robustness (with the readings that flip the verdict), note."""

    def robustness(c: dict[str, Any]) -> str:
        r = c.get("robustness") or ("not judged" if c["verdict"] == "not tested" else "no open choice")
        flips = c.get("flipped_by") or []
        return r + (f" ({', '.join(flips)})" if flips else "")

    rows = [
        {
            "paper": c["paper"],
            "claim": c["claim"],
            "type": c["type"],
            "paper value": c.get("paper_value"),
            "ours": fmt_ci(c),
            "unit": c.get("unit", ""),
            "tolerance": "" if c.get("tolerance") is None else f"±{c['tolerance']:g}",
            "verdict": c["verdict"],
            "robustness": robustness(c),
            "note": c.get("note", ""),
        }
        for c in claims
    ]
    return pd.DataFrame(
        rows,
        columns=["paper", "claim", "type", "paper value", "ours", "unit", "tolerance", "verdict", "robustness", "note"],
    )


def readings_table(claims: Sequence[dict[str, Any]]) -> pd.DataFrame:
    """Claims (rows, by claim text) × readings (columns "<choice>=<reading>", sorted): the verdict under each
    reading, then robustness and the readings that flip the headline verdict; "—" where a claim has no such
    reading."""
    rows = {
        c["claim"]: {
            **{k: r["verdict"] for k, r in (c.get("readings") or {}).items()},
            "robustness": c.get("robustness", ""),
            "flipped by": ", ".join(c.get("flipped_by") or []),
        }
        for c in claims
    }
    tab = pd.DataFrame(rows).T
    front = [c for c in tab.columns if c not in ("robustness", "flipped by")]
    return tab[sorted(front) + ["robustness", "flipped by"]].fillna("—")


def tolerances_table() -> pd.DataFrame:
    """`TOLERANCES` as a frame (quantity, tolerance, unit, why), for the report."""
    return pd.DataFrame([{"quantity": q, "tolerance": t, "unit": u, "why": w} for q, (t, u, w) in TOLERANCES.items()])


CLAIM_FIELDS = (
    "paper",
    "claim",
    "type",
    "paper_value",
    "unit",
    "tolerance",
    "n",
    "mean",
    "ci95",
    "verdict",
    "note",
    "depends_on",
)
DEVIATION_FIELDS = ("setting", "paper", "ours", "why", "effect")


def deviation(setting: str, paper: str, ours: str, why: str, effect: str) -> dict[str, str]:
    """One row of a notebook's deviations table: where our run departs from the paper (or the paper is silent:
    `paper` says "not given"), why, and the expected effect on the verdicts (naming the ablation that tests it, or
    why none can).

    Raises:
        ValueError: an empty field (names it).
    """
    row = {"setting": setting, "paper": paper, "ours": ours, "why": why, "effect": effect}
    for k, v in row.items():
        if not isinstance(v, str) or not v.strip():
            raise ValueError(f"deviation {setting!r}: field {k!r} must be a non-empty text, got {v!r}")
    return row


def check_claim(c: dict[str, Any]) -> None:
    """Raise ValueError naming the claim and field when a claim row lacks a field of `CLAIM_FIELDS`, has an unknown
    type or verdict, or a verdict other than "not tested" / n < 3 "inconclusive" without a mean and interval."""
    name = c.get("claim")
    missing = [k for k in CLAIM_FIELDS if k not in c]
    if missing:
        raise ValueError(f"claim {name!r} lacks field(s) {missing}")
    if c["type"] not in TYPES:
        raise ValueError(f"claim {name!r}: type {c['type']!r} not in {TYPES}")
    if c["verdict"] not in VERDICTS:
        raise ValueError(f"claim {name!r}: verdict {c['verdict']!r} not in {VERDICTS}")
    if c["verdict"] in ("reproduced", "not reproduced") and (c["ci95"] is None or (c["n"] or 0) < MIN_SEEDS):
        raise ValueError(f"claim {name!r}: verdict {c['verdict']!r} without a 95 % interval over >= {MIN_SEEDS} seeds")
    if c["verdict"] in ("reproduced", "not reproduced"):
        ci = c["ci95"]
        finite = [
            isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
            for v in (c["mean"], *(ci if isinstance(ci, (list, tuple)) else [None, None]))
        ]
        if not all(finite) or len(ci) != 2 or ci[0] > ci[1]:
            raise ValueError(
                f"claim {name!r}: verdict {c['verdict']!r} needs a finite mean and a finite interval "
                f"[low, high]; got mean {c['mean']!r}, ci95 {ci!r}"
            )
    deps = c.get("depends_on")
    if not isinstance(deps, list) or not all(isinstance(d, str) and d for d in deps):
        raise ValueError(f"claim {name!r}: depends_on must be a list of run labels, got {deps!r}")
    if c["verdict"] != "not tested" and not deps:
        raise ValueError(f"claim {name!r}: a judged claim must name the runs it depends on (depends_on is empty)")
    if c.get("robustness", "no open choice") not in ROBUSTNESS:
        raise ValueError(f"claim {name!r}: robustness {c.get('robustness')!r} not in {ROBUSTNESS}")


# ------------------------------------------------------------------------------- provenance and readings (issue 17)
#: What `robustness` can say of a claim: the same verdict under every reading of the paper's open choices that
#: affect it ("robust"), another verdict under at least one ("reading-dependent", the flipping readings are in
#: ``flipped_by``), no open choice declared for it ("no open choice"), or no verdict to compare ("not judged").
ROBUSTNESS = ("robust", "reading-dependent", "no open choice", "not judged")
#: The summary of a claim under one reading, as stored in its ``readings`` field.
READING_FIELDS = ("mean", "ci95", "n", "verdict")


def reading_key(choice: str, value: Any) -> str:
    """``"<choice>=<value>"``: the name of one reading of one open choice (e.g. ``"normalize=none"``).

    Raises:
        ValueError: an empty `choice`, or one containing "=".
    """
    if not isinstance(choice, str) or not choice or "=" in choice:
        raise ValueError(f"choice={choice!r} must be a non-empty name without '='")
    return f"{choice}={value:g}" if isinstance(value, float) else f"{choice}={value}"


def with_readings(claim: dict[str, Any], readings: dict[str, dict[str, Any] | None]) -> dict[str, Any]:
    """The headline claim row with its verdict under each reading of the paper's open choices (issue 17).

    Args:
        claim: the row judged under the headline reading (`judge` / `not_tested`).
        readings: ``{"<choice>=<reading>": row}``: the same claim judged (by the same builder) on the runs of that
            reading, changing one choice at a time from the headline. The headline reading of each choice is an
            entry too (its row is `claim` itself). A None row, or a "not tested" one, is a reading the claim cannot
            be computed under; it is kept with verdict "not tested" and does not decide robustness.

    Returns:
        A copy of `claim` with ``readings`` ``{key: {mean, ci95, n, verdict}}``, ``robustness`` (one of
        `ROBUSTNESS`) and ``flipped_by`` (the reading keys whose verdict differs from the headline's).

    Raises:
        ValueError: a key that is not ``choice=reading``.
    """
    out = dict(claim)
    summary: dict[str, dict[str, Any]] = {}
    for key, row in readings.items():
        if not isinstance(key, str) or key.count("=") < 1 or key.startswith("="):
            raise ValueError(f"reading key {key!r} must be '<choice>=<reading>'")
        if row is None:
            summary[key] = {"mean": None, "ci95": None, "n": 0, "verdict": "not tested"}
        else:
            summary[key] = {k: row.get(k) for k in READING_FIELDS}
    out["readings"] = summary
    judged = {k: r for k, r in summary.items() if r["verdict"] != "not tested"}
    if claim["verdict"] == "not tested":
        out["robustness"], out["flipped_by"] = "not judged", []
    elif len(judged) < 2:
        out["robustness"], out["flipped_by"] = "no open choice", []
    else:
        flips = sorted(k for k, r in judged.items() if r["verdict"] != claim["verdict"])
        out["robustness"] = "reading-dependent" if flips else "robust"
        out["flipped_by"] = flips
    return out


def across_readings(
    headline: list[dict[str, Any]], by_reading: dict[str, list[dict[str, Any]]], headline_keys: Iterable[str] = ()
) -> list[dict[str, Any]]:
    """Attach readings to every headline claim, matching claims by their ``claim`` text.

    Args:
        headline: the claim rows built on the headline reading's runs.
        by_reading: ``{"<choice>=<reading>": rows}``: the claim rows the same builder gives on that reading's runs
            (claims it cannot compute there may be missing). Only claims present in some reading get readings.
        headline_keys: the keys naming the headline reading of each open choice (``"normalize=none"``); each
            claim that appears under another reading of that choice gets the headline row under this key too.

    Returns:
        The headline rows, each through `with_readings` (claims that no reading computes: ``readings`` {},
        robustness "no open choice", or "not judged" when not tested).
    """
    index = {k: {c["claim"]: c for c in rows} for k, rows in by_reading.items()}
    heads = {k.split("=", 1)[0]: k for k in headline_keys}
    out = []
    for c in headline:
        rs: dict[str, dict[str, Any] | None] = {}
        for key, rows in index.items():
            if c["claim"] in rows:
                choice = key.split("=", 1)[0]
                if choice in heads and heads[choice] not in rs:
                    rs[heads[choice]] = c
                rs[key] = rows[c["claim"]]
        out.append(with_readings(c, rs))
    return out


def counts(claims: Sequence[dict[str, Any]]) -> dict[str, int]:
    """``{verdict: count}`` over `VERDICTS` and ``{robustness: count}`` over `ROBUSTNESS` (keys prefixed
    "robustness:"), plus "machine-sensitive" (claims whose ``machine`` record says the verdict changed)."""
    out = {v: sum(c["verdict"] == v for c in claims) for v in VERDICTS}
    for r in ROBUSTNESS:
        out[f"robustness:{r}"] = sum(c.get("robustness") == r for c in claims)
    out["machine-sensitive"] = sum(bool((c.get("machine") or {}).get("sensitive")) for c in claims)
    return out


#: A reading trains the layer it studies when its mean 1 − cos(final, initial) is at least this fraction of the plain
#: baseline's under the same schedule (issue 17); below it the reading is flagged and cannot be a headline.
TRAINS_FRACTION = 0.5


def training_check(
    reading: str, layer: str, moved: Iterable[float], baseline: Iterable[float], *, headline: bool = False
) -> dict[str, Any]:
    """Does a reading train the layer a paper studies? One row of ``headline.json``'s ``training_checks``.

    Args:
        reading: the reading's key (``"normalize=max"``) or "headline".
        layer: the layer's name (``"dense"``, ``"fc1"``).
        moved: per-seed ``1 - cos_init_<layer>`` of the reading's runs (`study.train.cos_init`), shape (n,).
        baseline: per-seed ``1 - cos_init_<layer>`` of the plain baseline (no penalty, same schedule), shape (m,).
        headline: whether this reading is the headline reading.

    Returns:
        ``{reading, layer, moved, baseline, ratio, trains, headline}``: the means, their ratio and whether
        ratio >= `TRAINS_FRACTION`.

    Raises:
        ValueError: no or non-finite values, or a baseline that did not move at all.
    """
    m = float(_values(moved, f"moved of {reading}").mean())
    b = float(_values(baseline, f"baseline of {reading}").mean())
    if not b > 0:
        raise ValueError(f"training_check {reading!r}/{layer!r}: the baseline's 1 - cos is {b}; it did not train")
    ratio = m / b
    return {
        "reading": reading,
        "layer": layer,
        "moved": m,
        "baseline": b,
        "ratio": ratio,
        "trains": ratio >= TRAINS_FRACTION,
        "headline": bool(headline),
    }
