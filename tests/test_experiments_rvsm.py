"""The RVSM experiment of notebook 02 (study.experiments.rvsm): plans, the run, the selections, claims."""
import json
import math

import pandas as pd
import pytest
import torch

from study import claims as C
from study import curves, results, runs, selection
from study.experiments import rvsm
from study.params import parse

SEED = 3  # the notebook's seed (study.run.Run.start's, not a field of rvsm.Params)
SMOKE = dict(image_size=16, n_train=64, n_test=32, letters_amplitude=[0.03, 0.05],
             letters_wavelength=[0.12, 0.24], shapes_amplitude=[0.035, 0.055], shapes_wavelength=[0.12, 0.24],
             n_waves=3, elastic_alpha=20.0, elastic_sigma=4.0, datasets=["letters", "shapes"], lr_grid=[0.003, 0.01],
             batch_grid=[16, 32], epochs_grid=[1, 2], momentum=0.9, nesterov=False, warmup_steps=2, clip=None,
             standardize=True, adam_lr=0.001, weight_decay=0.0, init="torch", lam=0.0005, beta=0.1,
             readings={"normalize": ["max", "max_comp", "rel", "none"], "init": ["torch", "glorot"],
                       "optimizer": ["sgd", "adam"], "weight_decay": [0.0, 0.0005], "epochs": [20]},
             coupling="through",
             epoch_end_hard=False, tune_dataset="letters", n_val=16, lam_grid=[0.005, 0.0005], val_tolerance=0.01,
             tl1_a=[0.01, 0.1, 1.0, 100.0], n_seeds=3, ablations=list(rvsm.VARIANTS), channels_last=True,
             bench_steps=2, bench_batch=16, si_sparsities=[0.5, 0.9])
TINY = dict(SMOKE, image_size=8, n_train=12, n_test=8, n_val=4, batch_grid=[4], datasets=["shapes"],
            tune_dataset="shapes", bench_batch=8)
SCHED = {"lr": 0.01, "batch_size": 4, "epochs": 1}


def params(**over):
    return parse(rvsm.Params, {**SMOKE, **over})


# ------------------------------------------------------------------------------------------------------- plans
def test_plans_have_the_expected_runs():
    p = params()
    tune = rvsm.schedule_plan(p, seed=SEED, device="cpu")
    assert len(tune) == len(rvsm.TUNE_METHODS) * 2 * 2 and {c["eval_split"] for c in tune} == {"val"}
    assert {c["method"] for c in tune} == set(rvsm.TUNE_METHODS) and {c["epochs"] for c in tune} == {2}
    assert {(c["n_val"], c["val_seed"], c["dataset"]) for c in tune} == {(16, 3, "letters")}
    assert len(rvsm.schedule_grid(p)) == 8 and rvsm.schedule_grid(p)[0] == {"epochs": 1, "lr": 0.003, "batch_size": 32}

    lam = rvsm.lambda_plan(p, SCHED, "rel", seed=SEED, device="cpu")
    assert [c["lam"] for c in lam] == [0.005, 0.0005] * 2 and {c["eval_split"] for c in lam} == {"val"}

    main = rvsm.main_plan(p, SCHED, {"letters": 0.005, "shapes": 0.0005}, "rel", seed=SEED, device=torch.device("cpu"))
    labels = pd.Series([rvsm.method_label(c["method"], c["variant"]) for c in main])
    assert (labels.value_counts() == 3 * labels.value_counts().map(lambda n: n // 3)).all()
    head = [c for c in main if not c["variant"]]
    assert len(head) == 2 * len(p.methods) * 3 and {c["eval_split"] for c in main} == {"test"}
    assert {c["optimizer"] for c in head} == {"sgd"} and {c["seed"] for c in main} == {3, 4, 5}
    for c in head:
        assert c["lam"] == (None if c["method"] == "sgd_plain" else 0.0005)   # SGD-TL1 at RVSM's λ
        assert (c["beta"] == 0.1) == (c["algorithm"] == "rvsm") and c["lr"] == 0.01 and c["epochs"] == 1
        assert c["normalize"] == ("rel" if c["algorithm"] == "rvsm" else None) and c["init"] == "torch"
        assert json.loads(runs.canonical(c)) == c  # plain JSON
    lam_val = [c for c in main if c["variant"] == "lam_val"]
    assert {(c["dataset"], c["lam"]) for c in lam_val} == {("letters", 0.005)}  # shapes: the headline λ, not rerun
    abl = {c["variant"]: c for c in main if c["variant"] in rvsm.VARIANTS and c["seed"] == 3}
    assert abl["public_code_parts"]["coupling"] == "outside" and abl["public_code_parts"]["nesterov"] is True
    assert abl["public_code_parts"]["normalize"] == "none" and abl["public_code_parts"]["epoch_end_hard"] is True
    assert {c["dataset"] for c in abl.values()} == {"letters"}
    # readings: one choice changed from the headline, on tune_dataset, every penalty, n_seeds each
    keys = rvsm.reading_keys(p, SCHED, "rel")
    assert keys == ["normalize=max", "normalize=max_comp", "normalize=none", "init=glorot", "optimizer=adam",
                    "weight_decay=0.0005", "epochs=20"]
    by = {k: [c for c in main if c["variant"] == k] for k in keys}
    assert {c["method"] for c in by["normalize=none"]} == set(p.rvsm_methods)   # SGD runs do not normalise
    assert {c["method"] for c in by["init=glorot"]} == set(p.methods)
    for k, cs in by.items():
        assert len(cs) == 3 * len({c["method"] for c in cs}) and {c["dataset"] for c in cs} == {"letters"}
        choice, value = rvsm.parse_reading(k)
        head = [c for c in main if not c["variant"] and c["method"] == cs[0]["method"] and c["seed"] == cs[0]["seed"]
                and c["dataset"] == "letters"][0]
        changed = {f for f in rvsm.RunConfig.model_fields if cs[0][f] != head[f]} - {"variant"}
        assert cs[0][choice] == value and changed <= {choice, "lr", "momentum", "warmup_steps", "curves"}, (k, changed)
        assert not cs[0]["curves"] and head["curves"] == head["method"].startswith("rvsm")  # Fig. 4: RVSM, headline
    assert all(c["curves"] for c in tune) and len(p.epochs_grid) > 1   # shorter candidates read from epoch rows
    one = rvsm.schedule_plan(params(epochs_grid=[2]), seed=SEED, device="cpu")
    assert not any(c["curves"] for c in one)   # one epoch count: the validation runs are read at their end
    adam = by["optimizer=adam"][0]
    assert adam["lr"] == 0.001 and adam["momentum"] is None
    assert len(rvsm.run_labels(main)) == len(main) and len(set(rvsm.run_labels(main).values())) == len(main)
    assert len({runs.canonical(c) for c in tune + lam + main}) == len(tune) + len(lam) + len(main)
    assert params().headline()["optimizer"] == "sgd"


@pytest.mark.parametrize("over,name", [({"datasets": ["digits"]}, "datasets"), ({"readings": {"normalize": ["l2"]}}, "readings"),
                                       ({"n_val": 64}, "n_val"), ({"ablations": ["rvsm_l2"]}, "ablations"),
                                       ({"tl1_a": [0.0]}, "tl1_a"), ({"tune_dataset": "digits"}, "tune_dataset"),
                                       ({"batch_grid": [64]}, "batch_grid"), ({"clip": -1.0}, "clip")])
def test_bad_parameters_raise_naming_them(over, name):
    with pytest.raises(ValueError, match=name):
        params(**over)
    with pytest.raises(ValueError, match="auto"):
        rvsm.schedule_plan(params(), seed=SEED, device="auto")


# --------------------------------------------------------------------------------------------------------- run
@pytest.fixture()
def tiny(tmp_path, monkeypatch):
    monkeypatch.setattr(curves, "CACHE_DIR", tmp_path)
    return parse(rvsm.Params, TINY)


def frame_without_timing(df):
    return df[df.metric != "epoch_time_s"].reset_index(drop=True)


def test_run_returns_tidy_finite_rows_and_is_deterministic(tiny):
    cfg = rvsm.run_config(tiny, "shapes", "rvsm_tl1_a0.1", 1, data_seed=SEED, lam=5e-3, schedule=SCHED, eval_split="test",
                          device="cpu", normalize="max")
    a, b = rvsm.run(cfg), rvsm.run(dict(cfg))
    assert list(a.rows.columns) == results.COLUMNS and a.rows["value"].map(math.isfinite).all()
    pd.testing.assert_frame_equal(frame_without_timing(a.rows), frame_without_timing(b.rows))
    for k in ("dense_w", "dense_sparse"):
        assert torch.equal(a.artifacts[k], b.artifacts[k]) and a.artifacts[k].shape == (128, 32)
    last = a.rows[a.rows.epoch == 1].set_index(["metric", "split"])["value"]
    assert last[("sparsity", "-")] == pytest.approx((a.artifacts["dense_sparse"] == 0).float().mean().item())
    assert last[("lambda", "-")] == 5e-3 and 0 <= last[("accuracy_sparse", "test")] <= 1
    assert last[("max_abs_w", "-")] == pytest.approx(1.0)  # the headline normalisation
    fr = [last[(f"frac_sparse_below_{s:g}", "-")] for s in rvsm.SCALES]
    assert fr == sorted(fr, reverse=True) and all(f >= last[("sparsity", "-")] for f in fr)
    assert {("sign_change_frac_conv1", "-"), ("frac_w_below_0.0001", "-")} <= set(last.index)
    assert set(a.rows.split) == {"test", "train", "-"} and set(a.rows.method) == {"rvsm_tl1_a0.1"}
    other = rvsm.run({**cfg, "seed": 2})
    assert not torch.equal(other.artifacts["dense_w"], a.artifacts["dense_w"])
    adam = rvsm.run(rvsm.run_config(tiny, "shapes", "rvsm_l0", 1, data_seed=SEED, schedule=SCHED, eval_split="test", device="cpu",
                                    variant="optimizer=adam", normalize="max"))
    assert set(adam.rows.method) == {"rvsm_l0|optimizer=adam"}
    # every run records how far each studied layer moved from its initialisation (issue 17), in [-1, 1]
    for k in ("dense", "conv1", "conv2", "conv3"):
        assert -1 <= last[(f"cos_init_{k}", "-")] <= 1
    assert 0 <= last[("sparsity_init", "-")] <= 1


def test_sgd_runs_report_the_same_network_as_sparse_and_val_split(tiny):
    cfg = rvsm.run_config(tiny, "shapes", "sgd_plain", 0, data_seed=SEED, schedule=SCHED, eval_split="val", device="cpu",
                          normalize="max")
    r = rvsm.run(cfg)
    assert torch.equal(r.artifacts["dense_w"], r.artifacts["dense_sparse"])
    acc = r.rows[r.rows.metric == "accuracy"]
    sparse = r.rows[r.rows.metric == "accuracy_sparse"]
    assert set(acc.split) == {"val"} and acc["value"].tolist() == sparse["value"].tolist()
    assert "lambda" not in set(r.rows.metric) and "test" not in set(r.rows.split)
    assert ("cos_init_dense" in set(r.rows.metric)) and "sparsity_init" not in set(r.rows.metric)
    glorot = rvsm.run({**cfg, "init": "glorot"})
    assert not torch.equal(glorot.artifacts["dense_w"], r.artifacts["dense_w"])


def test_a_run_without_curves_ends_exactly_where_the_run_with_curves_ends(tiny):
    """Evaluating after every epoch must not change training: the last epoch's rows and the weights agree exactly;
    without curves the two networks are evaluated at the last epoch alone."""
    for method in ("rvsm_l1", "sgd_tl1_a100"):
        cfg = rvsm.run_config(tiny, "shapes", method, 0, data_seed=SEED, schedule={**SCHED, "epochs": 3}, eval_split="test",
                              device="cpu", normalize="rel", curves=True)
        full, short = rvsm.run(cfg), rvsm.run({**cfg, "curves": False})
        assert torch.equal(full.artifacts["dense_sparse"], short.artifacts["dense_sparse"])
        evals = short.rows[short.rows.metric.isin(["accuracy", "accuracy_sparse"])]
        assert set(evals.epoch) == {3} and set(evals.metric) == {"accuracy", "accuracy_sparse"}
        assert set(full.rows[full.rows.metric == "accuracy"].epoch) == {0, 1, 2, 3}
        key = ["epoch", "split", "metric"]
        a = frame_without_timing(full.rows).set_index(key)["value"]
        b = frame_without_timing(short.rows).set_index(key)["value"]
        assert set(b.index) <= set(a.index) and len(b) < len(a)
        pd.testing.assert_series_equal(a.loc[b.index], b)


def test_val_split_is_the_carved_partition_of_the_training_split():
    n = 20
    x = torch.arange(n, dtype=torch.uint8).view(n, 1, 1, 1).expand(n, 1, 8, 8).contiguous()
    cs = curves.CurveSet(x, torch.arange(n) % 2, x[:4] + 100, torch.arange(4) % 2, curves.CurveParams(), seed=0)
    xtr, ytr, xv, yv = rvsm.split_sets(cs, "val", 5, 7)
    ids_tr, ids_v = set(xtr[:, 0, 0, 0].long().tolist()), set(xv[:, 0, 0, 0].long().tolist())
    assert len(ids_v) == 5 and len(ids_tr) == 15 and ids_tr | ids_v == set(range(n)) and not ids_tr & ids_v
    assert ids_v == set(selection.carve(n, 5, seed=7).val.tolist())   # the study's one carving rule
    assert not torch.equal(rvsm.split_sets(cs, "val", 5, 8)[2], xv)
    assert torch.equal(rvsm.split_sets(cs, "test", None, None)[2], (x[:4] + 100).float())
    with pytest.raises(ValueError, match="n_val"):
        rvsm.split_sets(cs, "val", 20, 7)


@pytest.mark.parametrize("key,value", [("method", "rvsm_l2"), ("penalty", "l1"), ("eval_split", "train"),
                                       ("n_val", 5), ("lam", -1.0), ("beta", None), ("device", "auto"),
                                       ("momentum", None), ("epochs", 0), ("data", {"image_size": 8}),
                                       ("normalize", "l2"), ("coupling", "inside"), ("variant", "mine"),
                                       ("warmup_steps", -1), ("clip", 0), ("standardize", "yes"), ("init", "he"),
                                       ("weight_decay", -1.0), ("variant", "lr=0.1"), ("curves", "yes"),
                                       ("variant", []), ("variant", {}), ("epochs", 10**12), ("batch_size", 10**12),
                                       ("seed", 2**64), ("weight_decay", 1e308), ("device", "cuda:99")])
def test_run_config_rejects_bad_values_naming_the_key(key, value):
    p = parse(rvsm.Params, TINY)
    cfg = rvsm.run_config(p, "shapes", "rvsm_l0", 0, data_seed=SEED, lam=1e-3, schedule=SCHED, eval_split="test", device="cpu",
                          normalize="max")
    with pytest.raises(ValueError, match=key):
        parse(rvsm.RunConfig, {**cfg, key: value})
    with pytest.raises(ValueError, match=r"unknown parameter\(s\) \['extra'\]"):
        parse(rvsm.RunConfig, {**cfg, "extra": 1})
    with pytest.raises(ValueError, match="coupling"):  # outside momentum needs SGD
        parse(rvsm.RunConfig, {**cfg, "optimizer": "adam", "momentum": None, "warmup_steps": 0, "coupling": "outside"})
    assert parse(rvsm.RunConfig, cfg).model_dump() == cfg  # the plans emit exactly the declared fields


def test_code_version_covers_the_computation_not_the_analysis():
    src = runs.code_sources(rvsm.run)
    assert {"module study.curves", "module study.rvsm", "module study.train", "module study.models.curve_cnn",
            "def study.experiments.rvsm.run.weight_statistics", "const study.experiments.rvsm.run.SCALES",
            "def study.experiments.rvsm.run.RunConfig"} <= set(src)
    for analysis in ("judge", "judge_frame", "choose_lambda", "main_plan", "tables_1_2", "fig6", "throughput_table",
                     "choose_normalization", "training_checks", "predicted", "Params"):
        assert not [k for k in src if k.endswith(f".{analysis}")], analysis


# --------------------------------------------------------------------------------------- selection (issue 11.7)
class FakeSweep:
    def __init__(self, frames):
        self.results = [runs.Result(rows=f, artifacts={}) for f in frames]


def candidate(cfg, accs, *, metric_splits=("val",), w_accs=None):
    rows = []
    for e, a in enumerate(accs, start=1):
        for split in metric_splits:
            rows += [{"epoch": e, "split": split, "metric": "accuracy_sparse", "value": a},
                     {"epoch": e, "split": split, "metric": "accuracy", "value": (w_accs or accs)[e - 1]}]
    return results.tidy(rows, study="02_rvsm_curves", dataset=cfg["dataset"], model="m", method=cfg["method"],
                        seed=cfg["seed"])


def test_choose_schedule_reads_validation_rows_only_and_follows_the_rule():
    p = params()
    cfgs = rvsm.schedule_plan(p, seed=SEED, device="cpu")
    best = {"lr": 0.01, "batch_size": 16}
    frames = [candidate(c, [0.9, 0.97] if {k: c[k] for k in best} == best else [0.8, 0.9]) for c in cfgs]
    chosen, table = rvsm.choose_schedule(cfgs, FakeSweep(frames), p)
    assert chosen == {"epochs": 2, "lr": 0.01, "batch_size": 16} and table["chosen"].sum() == 1, table
    # ties go to the simplest setting: fewer epochs first
    flat = [candidate(c, [0.95, 0.95]) for c in cfgs]
    assert rvsm.choose_schedule(cfgs, FakeSweep(flat), p)[0] == {"epochs": 1, "lr": 0.003, "batch_size": 32}
    # a candidate with test rows never reaches a choice
    leaky = [candidate(c, [0.9, 0.9], metric_splits=("val", "test")) for c in cfgs]
    with pytest.raises(ValueError, match="test-split row"):
        rvsm.choose_schedule(cfgs, FakeSweep(leaky), p)
    with pytest.raises(ValueError, match="not 'val'"):
        rvsm.choose_schedule([{**cfgs[0], "eval_split": "test"}], FakeSweep(frames[:1]), p)


def test_choose_lambda_keeps_the_largest_admissible_lambda():
    p = params(lam_grid=[0.05, 0.02, 0.005])
    cfgs = rvsm.lambda_plan(p, SCHED, "rel", seed=SEED, device="cpu")
    acc = {("letters", 0.05): (0.6, 0.99), ("letters", 0.02): (0.985, 0.99), ("letters", 0.005): (0.99, 0.99),
           ("shapes", 0.05): (0.5, 0.99), ("shapes", 0.02): (0.7, 0.99), ("shapes", 0.005): (0.9, 0.99)}
    frames = [candidate(c, [acc[(c["dataset"], c["lam"])][0]], w_accs=[acc[(c["dataset"], c["lam"])][1]])
              for c in cfgs]
    frames = [f.assign(seed=3) for f in frames]
    lam_val, table = rvsm.choose_lambda(cfgs, FakeSweep(frames), p)
    assert lam_val == {"letters": 0.02, "shapes": 0.005}  # shapes: none admissible -> the most accurate
    assert set(table.columns) >= {"dataset", "lam", "mean", "chosen"}
    none, empty = rvsm.choose_lambda([], FakeSweep([]), params(lam_grid=[]))
    assert none == {} and empty.empty


# ------------------------------------------------------------------------------------------------------ claims
def synthetic_frame(p, *, sparsity=0.86, acc=0.995, dense_acc=0.99, sgd_acc=0.95, rvsm_small=0.9, sgd_small=0.05,
                    conv1=0.2, noise=0.001, epoch=10, l1_gap=0.05, variant="", datasets=None, moved=0.01):
    """Last-epoch rows of every headline run of plan `p` with the metrics the claims read (3 seeds, small noise);
    with `variant` the methods are labelled ``m|variant``."""
    rows = []
    for d in datasets or p.datasets:
        for m in p.methods:
            for i, s in enumerate(rvsm.seeds(p, SEED)):
                rv, e = m.startswith("rvsm"), noise * (i - 1)
                a = rvsm.method_spec(m)[2]
                sp = (sparsity - 0.01 * math.log10(a)) if (rv and a) else (sparsity if rv else 0.0)
                sp -= l1_gap if m == "rvsm_l1" else 0.0
                vals = {("sparsity", "-"): sp + e,
                        ("accuracy_sparse", "test"): (acc if rv else dense_acc if m == "sgd_plain" else sgd_acc) + e,
                        ("sign_change_frac_conv1", "-"): conv1 + e, ("sign_change_frac_conv2", "-"): 0.1,
                        ("sign_change_frac_conv3", "-"): 0.1, ("cos_init_dense", "-"): 1 - (moved if rv else 0.01) + e,
                        **{(f"frac_w_below_{sc:g}", "-"): (rvsm_small if rv else sgd_small) + e for sc in rvsm.SCALES}}
                vals[("accuracy", "test")] = vals[("accuracy_sparse", "test")]
                rows += [{"dataset": d, "method": rvsm.method_label(m, variant), "seed": s, "epoch": epoch,
                          "split": sp_, "metric": k, "value": v} for (k, sp_), v in vals.items()]
    return results.tidy(rows, study="02_rvsm_curves", model="curve_cnn_16px")


def labels_of(df):
    return {(d, m, s): f"{d}/{m}/seed={s}" for d, m, s in df[["dataset", "method", "seed"]].drop_duplicates()
            .itertuples(index=False)}


def judged(p, df):
    return rvsm.judge_frame(df, p, labels_of(df))


def verdict_of(claims, text):
    (c,) = [c for c in claims if text in c["claim"]]
    return c["verdict"]


def test_tables_give_the_range_over_readings_on_the_tuning_data_set():
    p = params()
    df = pd.concat([synthetic_frame(p), synthetic_frame(p, sparsity=0.40, rvsm_small=0.5, variant="init=glorot",
                                                         datasets=["letters"]),
                    synthetic_frame(p, sparsity=0.70, rvsm_small=0.7, variant="epochs=20", datasets=["letters"])],
                   ignore_index=True)
    keys = ["init=glorot", "epochs=20"]
    t12 = rvsm.tables_1_2(df, p, keys)
    l0 = t12["letters"].set_index("penalty").loc["l0"]
    assert l0["sparsity % range over readings"] == "40.0–86.0"   # the headline's 86 % and the two readings' means
    assert "sparsity % range over readings" not in t12["shapes"]
    t3 = rvsm.table_3(df, p, keys)
    row = t3[(t3.dataset == "letters") & (t3.algorithm == "RVSM") & (t3.a == 0.01) & (t3.weights == "w")].iloc[0]
    assert row["<0.1 ours"].endswith("; readings 50.0–90.0")
    sgd = t3[(t3.dataset == "letters") & (t3.algorithm == "SGD") & (t3.a == 0.01)].iloc[0]
    assert sgd["<0.1 ours"].endswith("; readings 5.0–5.0")       # SGD-TL1 is the same under every reading here
    assert "readings" not in t3[t3.dataset == "shapes"].iloc[0]["<0.1 ours"]
    assert "readings" not in rvsm.table_3(df, p).iloc[0]["<0.1 ours"]


def test_claims_follow_the_frame_and_carry_every_field():
    p = params()
    good = judged(p, synthetic_frame(p))
    bad = judged(p, synthetic_frame(p, sparsity=0.10, acc=0.85, rvsm_small=0.01, sgd_small=0.5, conv1=0.01,
                                     sgd_acc=0.99, dense_acc=0.9, l1_gap=-0.05))
    for text in ("Table 1 (letters), l0: sparsity", "Table 1 (letters), l0: test accuracy",
                 "letters, l0: sparse accuracy ≈ dense", "letters, a=0.01: RVSM beats SGD on the TL1-penalised loss "
                 "in test accuracy", "more sign changes in conv1", "letters, a=100: RVSM beats SGD on the "
                 "TL1-penalised loss in fraction", "Table 1 (letters): l0 gives more sparsity than l1",
                 "letters: SGD on the TL1 loss at a = 0.01 hurts accuracy"):
        assert verdict_of(good, text) == "reproduced", text
        assert verdict_of(bad, text) == "not reproduced", text
    # sparsity is a point claim now: a much sparser layer is not the paper's result either
    assert verdict_of(judged(p, synthetic_frame(p, sparsity=0.99)), "Table 1 (letters), l0: sparsity") \
        == "not reproduced"
    assert verdict_of(good, "letters: smaller TL1 a") == "reproduced"
    assert verdict_of(good, "within 20 epochs (l0) (letters)") == "not tested"   # 10 epochs cannot show epoch 20
    assert verdict_of(good, "within 20 epochs (l0) (shapes)") == "not tested"
    # sparsity read before 10 epochs gives no sparsity verdict, accuracy is still judged
    short = judged(p, synthetic_frame(p, epoch=3))
    assert verdict_of(short, "Table 1 (letters), l0: sparsity") == "not tested"
    assert verdict_of(short, "Table 3 (letters), RVSM a=0.01: |w|/max|w| < 0.01") == "not tested"
    assert verdict_of(short, "Table 1 (letters), l0: test accuracy") == "reproduced"
    assert not [c for c in good if c["claim"].startswith("Table 3 (shapes)")]  # Table 3 is the letters table
    for c in good + bad:
        C.check_claim(c)   # a judged claim without depends_on raises here
    # provenance: each claim names exactly the runs of its own methods and data set
    (l0l1,) = [c for c in good if c["claim"] == "Table 2 (shapes): l0 gives more sparsity than l1"]
    assert l0l1["depends_on"] == sorted(f"shapes/{m}/seed={s}" for m in ("rvsm_l0", "rvsm_l1") for s in (3, 4, 5))
    (hurt,) = [c for c in good if c["claim"] == "letters: SGD on the TL1 loss at a = 0.01 hurts accuracy"]
    assert {d.split("/")[1] for d in hurt["depends_on"]} == {"sgd_plain", "sgd_tl1_a0.01"}
    # fewer than 3 seeds: inconclusive, never a verdict
    one = judged(params(n_seeds=1), synthetic_frame(params(n_seeds=1)))
    assert {c["verdict"] for c in one} <= {"inconclusive", "not tested"}


def test_a_predicted_collapse_is_data_and_withholds_nothing(tmp_path):
    from study.run import Run
    p = params()
    df = synthetic_frame(p, sgd_acc=0.5)  # SGD-TL1 collapsed to chance: the paper's prediction comes true
    cl = judged(p, df)
    cfg = rvsm.run_config(p, "letters", "sgd_tl1_a0.01", 3, data_seed=SEED, schedule=SCHED, eval_split="test", device="cpu",
                          normalize="rel")
    assert rvsm.predicted(cfg) and "hurt the accuracy" in rvsm.predicted(cfg)
    assert rvsm.predicted({**cfg, "method": "sgd_tl1_a100", "a": 100.0}) is None
    assert rvsm.predicted(rvsm.run_config(p, "letters", "rvsm_tl1_a0.01", 3, data_seed=SEED, schedule=SCHED, eval_split="test",
                                          device="cpu", normalize="rel")) is None
    nb = Run("02_rvsm_curves", "smoke", 0, torch.device("cpu"), tmp_path, torch.Generator(), {})
    label = "letters/sgd_tl1_a0.01/seed=3"
    nb.diverged = [{"run": label, "reason": "final accuracy at chance", "config": cfg,
                    "expected": bool(rvsm.predicted(cfg)), "predicted_by": rvsm.predicted(cfg)}]
    kept = nb.withhold_verdicts(cl)
    assert [c["verdict"] for c in kept] == [c["verdict"] for c in cl]
    assert verdict_of(kept, "letters: SGD on the TL1 loss at a = 0.01 hurts accuracy") == "reproduced"
    # the same collapse unpredicted withholds only the claims that name that run
    nb.diverged[0]["expected"] = False
    out = nb.withhold_verdicts(cl)
    hit = [c for c in out if c.get("withheld_by")]
    assert hit and all(label in c["depends_on"] for c in hit)
    assert all(c["verdict"] == k["verdict"] for c, k in zip(out, cl) if label not in c["depends_on"])


def test_every_claim_is_judged_under_every_reading():
    p = params()
    sched = {"lr": 0.01, "batch_size": 4, "epochs": 10}
    keys = rvsm.reading_keys(p, sched, "rel")
    frames = [synthetic_frame(p)]
    for k in keys:   # the tune data set under each reading; normalize=none: the sparsity falls to 10 %
        f = synthetic_frame(p, variant=k, datasets=["letters"], sparsity=0.1 if k == "normalize=none" else 0.86,
                            epoch=20 if k == "epochs=20" else 10)
        if k.startswith("normalize="):
            f = f[f.method.str.startswith("rvsm")]
        frames.append(f)
    df = pd.concat(frames, ignore_index=True)
    out = rvsm.judge(df, p, labels_of(df), sched, "rel")
    (c,) = [c for c in out if c["claim"] == "Table 1 (letters), l0: sparsity of the dense layer"]
    norm = [k for k in c["readings"] if k.startswith("normalize=")]
    assert len(norm) >= 2 and "normalize=rel" in norm and "init=glorot" in c["readings"]
    assert c["robustness"] == "reading-dependent" and c["flipped_by"] == ["normalize=none"]
    (a,) = [c for c in out if c["claim"] == "Table 1 (letters), l0: test accuracy of the sparse network"]
    assert a["robustness"] == "robust"
    # a normalisation reading keeps the headline's SGD runs (they do not normalise)
    (h,) = [c for c in out if c["claim"] == "letters: SGD on the TL1 loss at a = 0.01 hurts accuracy"]
    assert h["readings"]["normalize=none"]["mean"] == pytest.approx(h["mean"])
    # Fig. 4's 20-epoch claim: not tested by the 10-epoch headline, judged under the 20-epoch reading (letters)
    (f4,) = [c for c in out if c["claim"] == "Fig. 4: sparse test accuracy reaches 0.99 within 20 epochs (l0) (letters)"]
    assert f4["verdict"] == "not tested" and f4["readings"]["epochs=20"]["verdict"] == "reproduced"
    assert f4["readings"]["epochs=20"]["n"] == 3
    for c in out:
        C.check_claim(c)
    checks = rvsm.training_checks(df, p, labels_of(df), sched, "rel")
    assert [t["reading"] for t in checks if t["headline"]] == ["normalize=rel"] * 2
    assert {t["reading"] for t in checks if not t["headline"]} == set(keys) and all(t["trains"] for t in checks)


def test_choose_normalization_takes_the_first_candidate_that_trains_by_the_written_rule():
    p = params()
    sched = {"lr": 0.01, "batch_size": 4, "epochs": 2}
    cfgs = rvsm.normalization_plan(p, sched, seed=SEED, device="cpu")
    assert [(c["method"], c["normalize"]) for c in cfgs][:3] == [("sgd_plain", None), ("rvsm_l0", "max"),
                                                                  ("rvsm_l1", "max")]
    assert {c["eval_split"] for c in cfgs} == {"val"}
    # (1 - cos, sparsity, sparsity_init, sparse val accuracy) per (method, normalize)
    outcome = {"max": (0.0005, 0.10, 0.10, 0.99), "max_comp": (0.9, 0.02, 0.01, 0.50),   # frozen; collapsed
               "rel": (0.012, 0.18, 0.10, 0.99), "none": (0.13, 1.0, 1.0, 0.50)}
    frames = []
    for c in cfgs:
        moved, sp, sp0, acc = outcome.get(c["normalize"], (0.011, 0.0, 0.0, 0.99))
        rows = [{"epoch": 2, "split": "-", "metric": "cos_init_dense", "value": 1 - moved},
                {"epoch": 2, "split": "-", "metric": "sparsity", "value": sp},
                {"epoch": 2, "split": "val", "metric": "accuracy", "value": 0.99},
                {"epoch": 2, "split": "val", "metric": "accuracy_sparse", "value": acc}]
        if c["algorithm"] == "rvsm":
            rows.append({"epoch": 2, "split": "-", "metric": "sparsity_init", "value": sp0})
        frames.append(results.tidy(rows, study="02", dataset=c["dataset"], model="m", method=c["method"], seed=3))
    chosen, table = rvsm.choose_normalization(cfgs, FakeSweep(frames), p)
    assert chosen == "rel" and table[table.chosen].normalize.unique().tolist() == ["rel"]
    assert not table[table.normalize == "max"].trains.any() and not table[table.normalize == "max_comp"]["no collapse"].all()
    with pytest.raises(ValueError, match="not 'val'"):
        rvsm.choose_normalization([{**cfgs[0], "eval_split": "test"}], FakeSweep(frames[:1]), p)


def test_deviations_are_rows_naming_their_reading():
    p = params()
    devs = rvsm.deviations(p, {"lr": 0.01, "batch_size": 32, "epochs": 3}, {"letters": 0.02}, "rel")
    for d in devs:
        assert set(d) == set(C.DEVIATION_FIELDS) and all(v.strip() for v in d.values())
    text = {d["setting"]: d for d in devs}
    assert "normalize=max" in text["normalization after the w step"]["effect"]
    assert "init=glorot" in text["initialisation"]["effect"] and "5e-4" in text["weight decay"]["why"]
    assert "inference" in text["image size"]["ours"] and "200 epochs" in text["the public code's loop"]["why"]
    assert "λ = 0.0005, β = 0.1" in text["λ, β"]["paper"] and "lam_val" in text["λ, β"]["effect"]
    assert text["learning rate, batch size, epochs"]["paper"].startswith("not given")


def test_the_summary_cites_facts_only_through_placeholders_that_name_real_claims():
    """Issue 17.6: the reproducibility summary states no count, verdict or number of ours literally; every
    placeholder names a claim the notebook's claim builder makes (exact text) or a verdict / robustness count."""
    import re
    from pathlib import Path
    nb = json.loads((Path(__file__).resolve().parents[1] / "notebooks" / "02_rvsm_curves.ipynb").read_text())
    (summary,) = ["".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown"
                  and "".join(c["source"]).startswith("## Reproducibility summary")]
    p = params()
    texts = {c["claim"] for c in judged(p, synthetic_frame(p))}
    found = re.findall(r"\{\{(count|verdict|ours):([^}]*)\}\}", summary)
    assert found
    for kind, arg in found:
        if kind == "count":
            assert arg in C.VERDICTS or arg in ("robust", "reading-dependent"), arg
        else:
            assert arg in texts, arg
    results_part = summary.split("### Results", 1)[1]
    prose = re.sub(r"\{\{[^}]*\}\}", "", re.sub(r"\{\{count:([^}]*)\}\}\s*\1", "", results_part))
    assert not re.search(r"\d+(\.\d+)?\s*%", prose)          # no percentage of ours written out
    assert not re.search(r"\b(reproduced|inconclusive)\b", prose)  # verdicts only through placeholders


def test_throughput_table_compares_like_with_like_and_alternates_rounds():
    x, y = (torch.rand(8, 1, 16, 16) > 0.8).float(), torch.randint(0, 2, (8,))
    t = rvsm.throughput_table(x, y, batch_size=8, steps=1, repeats=2)
    assert list(t["loop"]) == ["bare PyTorch loop", "RVSM step (ours)"] * 2
    assert t.loc[t.loop == "bare PyTorch loop", "vs bare same layout"].tolist() == [1.0, 1.0]
    assert (t["images/s"] > 0).all()
    with pytest.raises(ValueError, match="repeats=0"):
        rvsm.throughput_table(x, y, batch_size=8, steps=1, repeats=0)
