"""The RVSM experiment of notebook 02 (study.experiments.rvsm): plans, the run, λ choice, claims."""
import json
import math

import pandas as pd
import pytest
import torch

from study import curves, results, runs
from study.experiments import rvsm

SMOKE = dict(seed=3, image_size=16, n_train=64, n_test=32, letters_amplitude=[0.03, 0.05],
             letters_wavelength=[0.12, 0.24], shapes_amplitude=[0.035, 0.055], shapes_wavelength=[0.12, 0.24],
             n_waves=3, elastic_alpha=20.0, elastic_sigma=4.0, datasets=["letters", "shapes"], optimizer="adam",
             epochs=1, batch_size=32, lr=0.001, momentum=0.9, lam=0.0005, beta=1.0, lam_grid=[5e-4, 1e-4],
             n_val=16, val_tolerance=0.01, max_sparsity=0.99, sgd_lam=0.0001, tl1_a=[0.01, 0.1, 1.0, 100.0],
             n_seeds=2, n_seeds_other=1,
             multi_seed_methods=["rvsm_l0", "rvsm_tl1_a0.01", "rvsm_tl1_a100", "sgd_tl1_a0.01", "sgd_tl1_a100"],
             channels_last=True, bench_steps=2, bench_batch=16)
TINY = dict(SMOKE, image_size=8, n_train=12, n_test=8, n_val=4, batch_size=4, datasets=["shapes"], bench_batch=8)


def params(**over):
    return rvsm.Params.from_namespace({**SMOKE, **over})


# ------------------------------------------------------------------------------------------------------- plans
def test_plans_have_the_expected_runs():
    p = params()
    stage1 = rvsm.lambda_sweep_plan(p, device="cpu")
    assert len(stage1) == 2 * (1 + 6 * 2)
    assert {c["eval_split"] for c in stage1} == {"val"} and {c["seed"] for c in stage1} == {3}
    assert {(c["n_val"], c["val_seed"]) for c in stage1} == {(16, 3)}
    rv = [c for c in stage1 if c["algorithm"] == "rvsm"]
    assert sorted({c["lam"] for c in rv}) == [1e-4, 5e-4] and all(c["beta"] == 1.0 for c in rv)
    assert [c["method"] for c in stage1 if c["algorithm"] == "sgd"] == ["sgd_plain", "sgd_plain"]

    lam_of = {(d, m): 1e-5 * (i + 1) for i, (d, m) in enumerate((d, m) for d in p.datasets for m in p.rvsm_methods)}
    stage2 = rvsm.table_plan(p, lam_of, device=torch.device("cpu"))
    per_method = pd.Series([c["method"] for c in stage2]).value_counts()
    for m in p.methods:
        assert per_method[m] == 2 * (2 if m in p.multi_seed_methods else 1)
    assert {c["eval_split"] for c in stage2} == {"test"} and {c["n_val"] for c in stage2} == {None}
    for c in stage2:
        assert c["seed"] in ([3, 4] if c["method"] in p.multi_seed_methods else [3])
        if c["algorithm"] == "rvsm":
            assert c["lam"] == lam_of[(c["dataset"], c["method"])]
        else:
            assert c["lam"] == (None if c["method"] == "sgd_plain" else 1e-4) and c["beta"] is None
        assert c["momentum"] is None and c["device"] == "cpu" and c["data"]["seed"] == 3
        assert json.loads(runs.canonical(c)) == c  # plain JSON
    assert len({runs.canonical(c) for c in stage1 + stage2}) == len(stage1) + len(stage2)
    assert rvsm.lambda_sweep_plan(params(lam_grid=[]), "cpu") == []
    sgd = rvsm.table_plan(params(optimizer="sgd"), lam_of, "cpu")
    assert {c["momentum"] for c in sgd} == {0.9}


@pytest.mark.parametrize("over,name", [({"datasets": ["digits"]}, "datasets"), ({"optimizer": "rmsprop"}, "optimizer"),
                                       ({"n_val": 64}, "n_val"), ({"multi_seed_methods": ["rvsm_l2"]}, "multi_seed"),
                                       ({"tl1_a": [0.0]}, "tl1_a"), ({"max_sparsity": 1.5}, "max_sparsity")])
def test_bad_parameters_raise_naming_them(over, name):
    with pytest.raises(ValueError, match=name):
        params(**over)
    with pytest.raises(ValueError, match="auto"):
        rvsm.lambda_sweep_plan(params(), device="auto")


# --------------------------------------------------------------------------------------------------------- run
@pytest.fixture()
def tiny(tmp_path, monkeypatch):
    monkeypatch.setattr(curves, "CACHE_DIR", tmp_path)
    return rvsm.Params.from_namespace(TINY)


def frame_without_timing(df):
    return df[df.metric != "epoch_time_s"].reset_index(drop=True)


def test_run_returns_tidy_finite_rows_and_is_deterministic(tiny):
    cfg = rvsm.run_config(tiny, "shapes", "rvsm_tl1_a0.1", 1, lam=5e-3, eval_split="test", device="cpu")
    a, b = rvsm.run(cfg), rvsm.run(dict(cfg))
    assert list(a.rows.columns) == results.COLUMNS and a.rows["value"].map(math.isfinite).all()
    pd.testing.assert_frame_equal(frame_without_timing(a.rows), frame_without_timing(b.rows))
    for k in ("dense_w", "dense_sparse"):
        assert torch.equal(a.artifacts[k], b.artifacts[k]) and a.artifacts[k].shape == (128, 32)
    last = a.rows[a.rows.epoch == 1].set_index(["metric", "split"])["value"]
    assert last[("sparsity", "-")] == pytest.approx((a.artifacts["dense_sparse"] == 0).float().mean().item())
    assert last[("lambda", "-")] == 5e-3 and 0 <= last[("accuracy_sparse", "test")] <= 1
    fr = [last[(f"frac_sparse_below_{s:g}", "-")] for s in rvsm.SCALES]
    assert fr == sorted(fr, reverse=True) and all(f >= last[("sparsity", "-")] for f in fr)
    assert {("sign_change_frac_conv1", "-"), ("frac_w_below_0.0001", "-")} <= set(last.index)
    assert set(a.rows.split) == {"test", "train", "-"} and set(a.rows.method) == {"rvsm_tl1_a0.1"}
    other = rvsm.run({**cfg, "seed": 2})
    assert not torch.equal(other.artifacts["dense_w"], a.artifacts["dense_w"])


def test_sgd_runs_report_the_same_network_as_sparse_and_val_split(tiny):
    cfg = rvsm.run_config(tiny, "shapes", "sgd_plain", 0, lam=None, eval_split="val", device="cpu")
    r = rvsm.run(cfg)
    assert torch.equal(r.artifacts["dense_w"], r.artifacts["dense_sparse"])
    acc = r.rows[r.rows.metric == "accuracy"]
    sparse = r.rows[r.rows.metric == "accuracy_sparse"]
    assert set(acc.split) == {"val"} and acc["value"].tolist() == sparse["value"].tolist()
    assert "lambda" not in set(r.rows.metric)


def test_val_split_is_a_seeded_partition_of_the_training_split():
    n = 20
    x = torch.arange(n, dtype=torch.uint8).view(n, 1, 1, 1).expand(n, 1, 8, 8).contiguous()
    cs = curves.CurveSet(x, torch.arange(n) % 2, x[:4], torch.arange(4) % 2, curves.CurveParams(), seed=0)
    xtr, ytr, xv, yv = rvsm.split_sets(cs, "val", 5, 7)
    ids_tr, ids_v = set(xtr[:, 0, 0, 0].long().tolist()), set(xv[:, 0, 0, 0].long().tolist())
    assert len(ids_v) == 5 and len(ids_tr) == 15 and ids_tr | ids_v == set(range(n)) and not ids_tr & ids_v
    assert torch.equal(rvsm.split_sets(cs, "val", 5, 7)[2], xv)
    assert not torch.equal(rvsm.split_sets(cs, "val", 5, 8)[2], xv)
    assert torch.equal(rvsm.split_sets(cs, "test", None, None)[2], x[:4].float())
    with pytest.raises(ValueError, match="n_val"):
        rvsm.split_sets(cs, "val", 20, 7)


@pytest.mark.parametrize("key,value", [("method", "rvsm_l2"), ("penalty", "l1"), ("eval_split", "train"),
                                       ("n_val", 5), ("lam", -1.0), ("beta", None), ("device", "auto"),
                                       ("momentum", 0.9), ("epochs", 0), ("data", {"image_size": 8})])
def test_check_config_rejects_bad_values_naming_the_key(key, value):
    p = rvsm.Params.from_namespace(TINY)
    cfg = rvsm.run_config(p, "shapes", "rvsm_l0", 0, lam=1e-3, eval_split="test", device="cpu")
    with pytest.raises(ValueError, match=key):
        rvsm.check_config({**cfg, key: value})
    with pytest.raises(ValueError, match="unknown keys"):
        rvsm.check_config({**cfg, "extra": 1})


def test_code_version_covers_the_computation_not_the_analysis():
    src = runs.code_sources(rvsm.run)
    assert {"module study.curves", "module study.rvsm", "module study.train", "module study.models.curve_cnn",
            "def study.experiments.rvsm.weight_statistics", "const study.experiments.rvsm.SCALES"} <= set(src)
    for analysis in ("claims", "choose_lambda", "table_plan", "tables_1_2", "fig6", "throughput_table"):
        assert f"def study.experiments.rvsm.{analysis}" not in src


# ------------------------------------------------------------------------------------------- λ choice, claims
def test_choose_lambda_keeps_the_largest_admissible_lambda():
    p = params(datasets=["letters"], lam_grid=[1e-4, 5e-4, 1e-3])
    rows = [("sgd_plain", None, 0.0, 0.90)]
    rows += [("rvsm_l0", 1e-4, 0.50, 0.90), ("rvsm_l0", 5e-4, 0.80, 0.895), ("rvsm_l0", 1e-3, 0.95, 0.85)]
    rows += [("rvsm_l1", 1e-4, 0.30, 0.70), ("rvsm_l1", 5e-4, 0.60, 0.60), ("rvsm_l1", 1e-3, 0.90, 0.55)]
    rows += [("rvsm_tl1_a0.01", 1e-4, 0.70, 0.90), ("rvsm_tl1_a0.01", 5e-4, 0.995, 0.90),
             ("rvsm_tl1_a0.01", 1e-3, 1.0, 0.5)]
    sweep = pd.DataFrame([{"dataset": "letters", "method": m, "λ": l_, "sparsity": s, "val accuracy (sparse)": a}
                          for m, l_, s, a in rows])
    lam_of = rvsm.choose_lambda(sweep, p)
    assert lam_of[("letters", "rvsm_l0")] == 5e-4          # 1e-3 loses 5 points
    assert lam_of[("letters", "rvsm_l1")] == 1e-4          # none within tolerance: the smallest
    assert lam_of[("letters", "rvsm_tl1_a0.01")] == 1e-4   # 5e-4 keeps accuracy but is 99.5 % sparse
    assert lam_of[("letters", "rvsm_tl1_a100")] == p.lam   # no sweep rows: the fallback
    assert set(rvsm.choose_lambda(sweep, params(lam_grid=[])).values()) == {p.lam}


def synthetic_frame(p, *, rvsm_small=0.9, sgd_small=0.05, conv1_frac=0.2, sparsity=0.95, acc=0.99, sgd_acc=0.95):
    """Last-epoch rows of every table run of plan `p` with the metrics the claims read."""
    rows = []
    for d in p.datasets:
        for m in p.methods:
            for s in p.seeds_of(m):
                rv = m.startswith("rvsm")
                vals = {("sparsity", "-"): sparsity, ("accuracy_sparse", "test"): acc if rv else sgd_acc,
                        ("sign_change_frac_conv1", "-"): conv1_frac, ("sign_change_frac_conv2", "-"): 0.1,
                        ("sign_change_frac_conv3", "-"): 0.1,
                        **{(f"frac_w_below_{sc:g}", "-"): rvsm_small if rv else sgd_small for sc in rvsm.SCALES}}
                rows += [{"dataset": d, "method": m, "seed": s, "epoch": p.epochs, "split": sp, "metric": k,
                          "value": v} for (k, sp), v in vals.items()]
    return results.tidy(rows, study="02_rvsm_curves", model="curve_cnn_16px")


def verdict_of(claims, text):
    (c,) = [c for c in claims if text in c["claim"]]
    return c["verdict"]


def test_claims_follow_the_frame():
    p = params(lam_grid=[])
    lam_of = rvsm.choose_lambda(pd.DataFrame(), p)
    data_table = pd.DataFrame([{"dataset": d, "ink_threshold_accuracy": 0.55} for d in p.datasets])
    good = rvsm.claims(synthetic_frame(p), p, lam_of, pd.DataFrame(), data_table)
    bad = rvsm.claims(synthetic_frame(p, rvsm_small=0.05, sgd_small=0.5, conv1_frac=0.01, sparsity=0.6, acc=0.9,
                                      sgd_acc=0.9), p, lam_of, pd.DataFrame(), data_table)
    for text in ("far more weights below", "more sign changes in conv1", "SGD-TL1 is less accurate",
                 "Table 1 (letters), l0: sparsity", "Table 1 (letters), l0: test accuracy"):
        assert verdict_of(good, text) == "reproduced", text
        assert verdict_of(bad, text) == "not reproduced", text
    # one-sided sparsity: 0.80 is below 0.861 − 0.05 but within another 5 points
    partly = rvsm.claims(synthetic_frame(p, sparsity=0.8), p, lam_of, pd.DataFrame(), data_table)
    assert verdict_of(partly, "Table 1 (letters), l0: sparsity") == "partly"
    assert verdict_of(good, "letters: mean ink") == "reproduced"
    # equal sparsity for every a is non-increasing in a at the single λ
    assert verdict_of(good, "smaller a") == "reproduced"
    assert {c["verdict"] for c in good + bad} <= set(results.VERDICTS)
