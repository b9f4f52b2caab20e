"""The one verdict rule (`study.claims`): interval, each claim type, edge cases (issue 11 item 1)."""
import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from study import claims


def test_interval_is_the_student_t_interval_of_the_mean():
    v = [0.1, 0.4, 0.35, 0.2]
    m, (lo, hi), n = claims.interval(v)
    s = np.std(v, ddof=1)
    half = stats.t.ppf(0.975, 3) * s / 2.0
    assert n == 4 and m == pytest.approx(np.mean(v))
    assert (lo, hi) == pytest.approx((m - half, m + half))
    # the interval covers the true mean about 95 % of the time (a property of the construction, checked by simulation)
    rng = np.random.default_rng(0)
    hits = 0
    for _ in range(2000):
        _, (a, b), _ = claims.interval(rng.normal(1.0, 2.0, size=5))
        hits += a <= 1.0 <= b
    assert 0.93 < hits / 2000 < 0.97


def test_interval_edge_cases():
    assert claims.interval([0.5]) == (0.5, None, 1)
    m, ci, n = claims.interval([0.7, 0.7, 0.7])
    assert ci[0] == ci[1] == pytest.approx(0.7) and n == 3  # zero variance: zero width, decided by the mean
    with pytest.raises(ValueError, match="non-finite"):
        claims.interval([0.1, float("nan"), 0.2])
    with pytest.raises(ValueError, match="empty"):
        claims.interval([])
    with pytest.raises(ValueError, match="confidence"):
        claims.interval([1, 2, 3], confidence=1.0)


@pytest.mark.parametrize("values,expected", [
    ([0.985, 0.986, 0.984], "reproduced"),      # whole interval inside 0.99 ± 0.01
    ([0.95, 0.951, 0.949], "not reproduced"),   # whole interval below 0.98
    ([0.96, 0.99, 0.975], "inconclusive"),      # straddles 0.98
    ([0.99, 0.99], "inconclusive"),             # n = 2 < 3
    ([0.99], "inconclusive"),
])
def test_point_claim(values, expected):
    assert claims.verdict("point", values, 0.99, 0.01)[0] == expected


def test_point_claim_is_two_sided():
    assert claims.verdict("point", [1.05, 1.051, 1.049], 0.99, 0.01)[0] == "not reproduced"


def test_bounds_are_one_sided():
    high = [0.999, 0.998, 0.999]
    assert claims.verdict("at_least", high, 0.9, 0.01)[0] == "reproduced"   # far above a lower bound supports it
    assert claims.verdict("at_most", high, 0.9, 0.01)[0] == "not reproduced"
    low = [0.5, 0.51, 0.49]
    assert claims.verdict("at_most", low, 0.9, 0.01)[0] == "reproduced"
    assert claims.verdict("at_least", low, 0.9, 0.01)[0] == "not reproduced"
    # the tolerance counts: 0.895 is within 0.01 of a 0.9 lower bound
    assert claims.verdict("at_least", [0.895, 0.895, 0.895], 0.9, 0.01)[0] == "reproduced"
    assert claims.verdict("at_least", [0.895, 0.895, 0.895], 0.9, 0.0)[0] == "not reproduced"


def test_ordering_and_trend_need_the_whole_interval_above_zero():
    assert claims.verdict("ordering", [0.02, 0.03, 0.025])[0] == "reproduced"
    assert claims.verdict("ordering", [-0.02, -0.03, -0.025])[0] == "not reproduced"
    assert claims.verdict("ordering", [0.02, -0.03, 0.01])[0] == "inconclusive"
    # a tie (all differences exactly 0) does not support "A better than B", and contradicts it
    assert claims.verdict("ordering", [0.0, 0.0, 0.0])[0] == "not reproduced"
    assert claims.verdict("trend", [1.0, 2.0, 1.5])[0] == "reproduced"


def test_verdict_refuses_bad_input():
    with pytest.raises(ValueError, match="type"):
        claims.verdict("roughly", [1, 2, 3], 1.0)
    with pytest.raises(ValueError, match="tolerance"):
        claims.verdict("point", [1, 2, 3], 1.0, -0.1)
    with pytest.raises(ValueError, match="paper_value"):
        claims.verdict("point", [1, 2, 3], None, 0.1)
    with pytest.raises(ValueError, match="non-finite"):
        claims.verdict("ordering", [1, math.inf, 3])


def test_judge_row_has_every_field_and_uses_the_quantity_tolerance():
    c = claims.judge("P", "acc", "point", [0.985, 0.986, 0.984], paper_value=0.99, quantity="accuracy", note="epoch 10",
                     depends_on=["r1", "r0", "r1"])
    assert c["depends_on"] == ["r0", "r1"]
    assert set(c) == set(claims.CLAIM_FIELDS)
    assert c["tolerance"] == claims.TOLERANCES["accuracy"][0] and c["unit"] == "fraction"
    assert c["verdict"] == "reproduced" and c["n"] == 3 and c["ci95"][0] < c["mean"] < c["ci95"][1]
    assert c["note"].startswith("epoch 10; ")
    claims.check_claim(c)
    o = claims.judge("P", "A beats B", "ordering", [0.1, 0.2, 0.15], paper_value="A > B", unit="pp")
    assert o["tolerance"] is None and o["verdict"] == "reproduced" and o["unit"] == "pp"
    with pytest.raises(ValueError, match="quantity"):
        claims.judge("P", "acc", "point", [1, 1, 1], paper_value=1.0, quantity="accurasy")
    one = claims.judge("P", "acc", "point", [0.99], paper_value=0.99, quantity="accuracy")
    assert one["verdict"] == "inconclusive" and one["ci95"] is None and "n = 1 < 3" in one["note"]


def test_not_tested_has_no_numbers_and_needs_a_reason():
    c = claims.not_tested("P", "ResNet18 accuracy", "point", "3 epochs on 300 images", paper_value=0.9,
                          quantity="accuracy")
    assert c["verdict"] == "not tested" and c["mean"] is None and c["ci95"] is None and c["n"] == 0
    claims.check_claim(c)
    with pytest.raises(ValueError, match="reason"):
        claims.not_tested("P", "x", "point", "")


def test_check_claim_refuses_a_verdict_without_an_interval():
    c = claims.judge("P", "acc", "point", [0.985, 0.986, 0.984], paper_value=0.99, quantity="accuracy",
                     depends_on=["r0"])
    with pytest.raises(ValueError, match="interval"):
        claims.check_claim({**c, "n": 1, "ci95": None})
    with pytest.raises(ValueError, match="partly"):
        claims.check_claim({**c, "verdict": "partly"})
    with pytest.raises(ValueError, match="lacks"):
        claims.check_claim({k: v for k, v in c.items() if k != "ci95"})


def _frame():
    rows = []
    for seed in range(3):
        for method, base in (("sl1", 0.95), ("none", 0.93)):
            for epoch in (1, 2):
                rows.append({"seed": seed, "method": method, "epoch": epoch, "split": "test", "metric": "accuracy",
                             "value": base + 0.01 * epoch + 0.001 * seed})
    return pd.DataFrame(rows)


def test_per_seed_and_paired_differences():
    df = _frame()
    a = claims.per_seed(df, metric="accuracy", method="sl1", epoch="last")
    b = claims.per_seed(df, metric="accuracy", method="none", epoch="last")
    assert list(a.index) == [0, 1, 2] and a.iloc[0] == pytest.approx(0.97)
    d = claims.differences(a, b, better="higher")
    assert d.to_numpy() == pytest.approx([0.02] * 3)
    assert claims.differences(a, b, better="lower").to_numpy() == pytest.approx([-0.02] * 3)
    assert claims.per_seed(df, metric="accuracy", method="sl1", epoch=1).iloc[0] == pytest.approx(0.96)
    with pytest.raises(ValueError, match="several rows per seed"):
        claims.per_seed(df, metric="accuracy", method="sl1")
    with pytest.raises(ValueError, match="no rows"):
        claims.per_seed(df, metric="loss")


def test_slopes_recover_a_linear_trend_per_seed():
    df = pd.DataFrame([{"seed": s, "lam": x, "value": 2.0 * x + s} for s in range(3) for x in (0.0, 1.0, 2.0)])
    assert claims.slopes(df, "lam").to_numpy() == pytest.approx([2.0] * 3)
    assert claims.slopes(df, "lam", direction="decreasing").to_numpy() == pytest.approx([-2.0] * 3)
    with pytest.raises(ValueError, match="distinct"):
        claims.slopes(df[df["lam"] == 0.0], "lam")


def test_deviation_rows_name_an_empty_field():
    d = claims.deviation("optimiser", "SGD", "SGD", "the paper's", "none")
    assert list(d) == list(claims.DEVIATION_FIELDS)
    with pytest.raises(ValueError, match="'why'"):
        claims.deviation("optimiser", "SGD", "Adam", "", "changes the method")


def test_claims_table_prints_interval_and_no_nan():
    cs = [claims.judge("P", "acc", "point", [0.985, 0.986, 0.984], paper_value=0.99, quantity="accuracy"),
          claims.not_tested("P", "big", "point", "too small a run", paper_value=0.9, quantity="accuracy")]
    t = claims.claims_table(cs)
    assert t.loc[0, "ours"].startswith("0.985 [") and t.loc[0, "ours"].endswith("(n=3)")
    assert t.loc[1, "ours"] == "—"
    assert not t.astype(str).apply(lambda col: col.str.contains("nan|None")).any().any()


def test_readings_give_robustness_and_the_flipping_readings():
    head = claims.judge("P", "sparsity", "at_least", [0.9, 0.91, 0.92], paper_value=0.86, quantity="sparsity",
                        depends_on=["h"])
    same = claims.judge("P", "sparsity", "at_least", [0.88, 0.9, 0.89], paper_value=0.86, quantity="sparsity",
                        depends_on=["a"])
    flip = claims.judge("P", "sparsity", "at_least", [0.1, 0.11, 0.12], paper_value=0.86, quantity="sparsity",
                        depends_on=["b"])
    r = claims.with_readings(head, {"norm=none": head, "norm=max": same})
    assert r["robustness"] == "robust" and r["flipped_by"] == [] and set(r["readings"]) == {"norm=none", "norm=max"}
    assert r["readings"]["norm=max"] == {k: same[k] for k in claims.READING_FIELDS}
    r = claims.with_readings(head, {"norm=none": head, "norm=max": same, "init=glorot": flip, "epochs=20": None})
    assert r["robustness"] == "reading-dependent" and r["flipped_by"] == ["init=glorot"]
    assert r["readings"]["epochs=20"]["verdict"] == "not tested"  # not computable there: no say in robustness
    assert claims.with_readings(head, {})["robustness"] == "no open choice"
    nt = claims.not_tested("P", "big", "point", "too small", paper_value=1.0, quantity="accuracy")
    assert claims.with_readings(nt, {"norm=max": same})["robustness"] == "not judged"
    # across_readings: matched by claim text, the headline entered under its own key for each choice
    rows = claims.across_readings([head, nt], {"norm=max": [same], "init=glorot": [flip]},
                                  headline_keys=["norm=none", "init=pytorch"])
    assert set(rows[0]["readings"]) == {"norm=none", "norm=max", "init=pytorch", "init=glorot"}
    assert rows[0]["flipped_by"] == ["init=glorot"] and rows[1]["readings"] == {}
    assert claims.reading_key("a", 0.01) == "a=0.01"


def test_training_check_flags_a_layer_that_does_not_move():
    ok = claims.training_check("norm=none", "dense", [0.2, 0.22], [0.3, 0.32], headline=True)
    assert ok["trains"] and abs(ok["ratio"] - 0.21 / 0.31) < 1e-12
    frozen = claims.training_check("norm=max", "dense", [0.01, 0.012], [0.3, 0.32])
    assert not frozen["trains"] and frozen["ratio"] < claims.TRAINS_FRACTION
    with pytest.raises(ValueError, match="did not train"):
        claims.training_check("x", "dense", [0.1], [0.0])


def test_readings_table_lists_each_reading_verdict_and_the_flips():
    head = claims.judge("P", "sparsity", "at_least", [0.9, 0.91, 0.92], paper_value=0.86, quantity="sparsity",
                        depends_on=["h"])
    flip = claims.judge("P", "sparsity", "at_least", [0.1, 0.11, 0.12], paper_value=0.86, quantity="sparsity",
                        depends_on=["b"])
    rows = [claims.with_readings(head, {"norm=rel": head, "init=glorot": flip}),
            claims.not_tested("P", "big", "point", "too small", paper_value=1.0, quantity="accuracy")]
    tab = claims.readings_table(rows)
    assert list(tab.index) == ["sparsity", "big"] and list(tab.columns) == ["init=glorot", "norm=rel", "robustness",
                                                                           "flipped by"]
    assert tab.loc["sparsity", "init=glorot"] == "not reproduced" and tab.loc["sparsity", "flipped by"] == "init=glorot"
    assert tab.loc["big", "norm=rel"] == "—"
