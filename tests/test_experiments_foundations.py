"""study.experiments.foundations: the run functions of notebook 00 (Tomasi's notes), their plans, the analyses that
turn a sweep into findings, and the claim builder."""
import math

import matplotlib
import matplotlib.pyplot as plt
import pandas as pd
import pytest
import torch

from study import data, results, runs
from study import foundations as fd
from study.experiments import foundations as fx

matplotlib.use("Agg")
HAVE_MNIST = (data.raw_folder("mnist") / "t10k-labels-idx1-ubyte").exists()
needs_mnist = pytest.mark.skipif(not HAVE_MNIST, reason="run `make data`")


@pytest.fixture(autouse=True)
def one_thread():
    """Tiny networks: one intra-op thread is faster and fair to a shared 2-core machine."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)
    plt.close("all")


def tiny_plans(seed=3):
    """One small plan per run kind: a handful of images, one or two epochs."""
    return {
        "simplex": (fx.simplex_run, fx.simplex_plan(seed=seed, device="cpu", classes=[1, 4, 7], per_class=8,
                                                    epochs=1)),
        "momentum": (fx.momentum_run, fx.momentum_plan(seed=seed, device="cpu", per_class=4, hidden=8, batch_size=10,
                                                       epochs=1, lrs=[0.01, 0.3, 30.0], mu_max=0.9, test_size=40)),
        "minibatch": (fx.minibatch_run, fx.minibatch_plan(seed=seed, device="cpu", per_class=2, hidden=8,
                                                          batch_sizes=[1, 5, "full"], lrs=[0.05, 0.5], epochs=1)),
        "early": (fx.early_stopping_run, fx.early_stopping_plan(
            seed=seed, device="cpu", per_class=3, val_per_class=2, hidden=8, epochs=3, lr=0.05, batch_size=10,
            momentum=0.9, label_noise=[0.0, 0.5], n_seeds=2, test_size=40)),
        "dropout": (fx.dropout_run, fx.dropout_plan(
            seed=seed, device="cpu", per_class=3, hidden=[8, 8], epochs=2, lr=0.05, batch_size=10, momentum=0.9,
            p=0.5, input_p=0.8, mc_samples=30, n_seeds=2, test_size=40)),
    }


def sweep_of(fn, configs):
    """What `runs.sweep` returns, built by calling the run function directly (no store)."""
    return runs.Sweep(configs, [fn(c) for c in configs], {"total": len(configs)}, [])


def measured(df):
    """The rows that are results, not timings."""
    return df[df.metric != "wall_s"].reset_index(drop=True)


# ---------------------------------------------------------------------------------------------------------- plans
def test_plans_have_the_expected_configs():
    p = tiny_plans(seed=3)
    mom = p["momentum"][1]
    assert [(c["lr"], c["momentum"]) for c in mom] == [(lr, m) for lr in (0.01, 0.3, 30.0)
                                                       for m in ("none", "sutskever")]
    assert {c["seed"] for c in mom} == {3} and {c["device"] for c in mom} == {"cpu"}
    mb = p["minibatch"][1]
    assert [(c["batch_size"], c["lr"]) for c in mb] == [(b, lr) for b in (1, 5, 20) for lr in (0.05, 0.5)]  # full=N
    assert [c["evals_per_epoch"] for c in mb[::2]] == [10, 4, 1]                  # min(10, ceil(N / B))
    es = p["early"][1]
    assert [(c["label_noise"], c["seed"]) for c in es] == [(0.0, 3000), (0.0, 3001), (0.5, 3000), (0.5, 3001)]
    do = p["dropout"][1]
    assert [(c["variant"], c["seed"]) for c in do] == [(v, 3000 + s) for s in range(2) for v in fx.DROPOUT_VARIANTS]
    assert [c["mc_samples"] for c in do] == [None, 30, None, None, None, None]      # only the seed-0 notes run
    (sx,) = p["simplex"][1]
    assert (sx["classes"], sx["hidden"], sx["batch_size"]) == ([1, 4, 7], fx.SIMPLEX_HIDDEN, fx.SIMPLEX_BATCH)
    for _, plan in p.values():                    # plain JSON, distinct: one store entry per config
        assert len({runs.canonical(c) for c in plan}) == len(plan)
    auto = fx.momentum_plan(seed=0, device="auto", per_class=1, hidden=1, batch_size=1, epochs=1, lrs=[0.1],
                            mu_max=0.5, test_size=1)
    assert {c["device"] for c in auto} <= {"cpu", "cuda"}


@pytest.mark.parametrize("fn,kw,name", [
    (fx.momentum_plan, dict(lrs=[]), "lrs"), (fx.momentum_plan, dict(mu_max=1.0), "mu_max"),
    (fx.minibatch_plan, dict(batch_sizes=[0]), "batch_sizes"),
    (fx.minibatch_plan, dict(batch_sizes=[21]), "batch_sizes"),
    (fx.early_stopping_plan, dict(label_noise=[1.0]), "label_noise"),
    (fx.early_stopping_plan, dict(n_seeds=0), "n_seeds"),
    (fx.dropout_plan, dict(p=0.0), "p"), (fx.dropout_plan, dict(input_p=1.5), "input_p"),
    (fx.simplex_plan, dict(classes=[1, 1, 2]), "classes"),
])
def test_plans_reject_bad_parameters(fn, kw, name):
    full = {fx.momentum_plan: dict(seed=0, device="cpu", per_class=2, hidden=4, batch_size=2, epochs=1, lrs=[0.1],
                                   mu_max=0.9, test_size=5),
            fx.minibatch_plan: dict(seed=0, device="cpu", per_class=2, hidden=4, batch_sizes=[1], lrs=[0.1], epochs=1),
            fx.early_stopping_plan: dict(seed=0, device="cpu", per_class=2, val_per_class=2, hidden=4, epochs=1, lr=0.1,
                                         batch_size=2, momentum=0.9, label_noise=[0.0], n_seeds=1, test_size=5),
            fx.dropout_plan: dict(seed=0, device="cpu", per_class=2, hidden=[4], epochs=1, lr=0.1, batch_size=2,
                                  momentum=0.9, p=0.5, input_p=None, mc_samples=5, n_seeds=1, test_size=5),
            fx.simplex_plan: dict(seed=0, device="cpu", classes=[0, 1, 2], per_class=2, epochs=1)}[fn]
    fn(**full)                                       # the valid base passes
    with pytest.raises(ValueError, match=name):
        fn(**{**full, **kw})


def test_run_configs_are_validated():
    c = tiny_plans()["momentum"][1][0]
    with pytest.raises(ValueError, match="unknown keys"):
        fx.momentum_run({**c, "threads": 2})
    with pytest.raises(ValueError, match="device"):
        fx.momentum_run({**c, "device": "auto"})
    with pytest.raises(ValueError, match="momentum"):
        fx.momentum_run({**c, "momentum": "nesterov"})
    d = tiny_plans()["dropout"][1][0]                 # a "none" run
    with pytest.raises(ValueError, match="mc_samples"):
        fx.dropout_run({**d, "mc_samples": 10})


# ----------------------------------------------------------------------------------------------------------- runs
@needs_mnist
def test_every_run_kind_returns_tidy_finite_rows_and_is_deterministic():
    for kind, (fn, plan) in tiny_plans().items():
        c = plan[1] if kind == "dropout" else plan[0]             # the dropout run with the expectation check
        a, b = fn(c), fn(c)
        assert list(a.rows.columns) == results.COLUMNS, kind
        assert a.rows.value.map(math.isfinite).all(), kind
        assert set(a.rows.seed) == {c["seed"]} and set(a.rows.study) == {fx.STUDY}
        pd.testing.assert_frame_equal(measured(a.rows), measured(b.rows))
    sx = fx.simplex_run(tiny_plans()["simplex"][1][0])
    logits, labels = sx.artifacts["logits"], sx.artifacts["labels"]
    assert logits.dtype == torch.float64 and logits.shape == (len(labels), 3) and set(labels.tolist()) <= {0, 1, 2}
    acc = float(sx.rows.query("metric == 'accuracy'").value.iloc[0])
    assert acc == pytest.approx(float((logits.argmax(1) == labels).double().mean()))
    assert float(sx.rows.query("metric == 'max_abs_sum_minus_1'").value.iloc[0]) < 1e-12


@needs_mnist
def test_a_run_depends_on_its_seed_and_the_variants_of_a_seed_share_data_and_initial_weights():
    fn, plan = tiny_plans()["early"]
    a, b = fn(plan[0]), fn(plan[1])                   # seeds 3000 and 3001, same noise
    assert not measured(a.rows).value.equals(measured(b.rows).value)
    fn, plan = tiny_plans()["dropout"]
    none, notes, torch_ = (fn(c) for c in plan[:3])
    # PyTorch's dropout is the identity in eval mode: before training, "none" and "torch" are the same network on
    # the same subset, so their epoch-0 train and test risks agree; the seed-1 "none" run differs
    start = [r.rows[(r.rows.epoch == 0) & (r.rows.metric == "risk_nats")].value.tolist()
             for r in (none, torch_, fn(plan[3]))]
    assert start[0] == start[1] != start[2]
    assert none.artifacts["expectation"] is None and notes.artifacts["expectation"] is not None
    s = none.artifacts["summary"]
    assert s["gap (test - train)"] == pytest.approx(s["test error"] - s["train error"])


@needs_mnist
def test_dropout_expectation_converges_and_scaling_is_exact():
    torch.manual_seed(0)
    net = fd.mlp([784, 16, 16, 10], dropout=0.5, input_dropout=0.8)
    x = torch.rand(120, 1, 28, 28)
    ex = fx.dropout_expectation(net, x, 0.5, 400, seed=1)
    mc = pd.DataFrame(ex["mc"])
    assert mc.M.iloc[0] == 1 and mc.M.iloc[-1] == ex["M_final"] == 400
    for col in mc.columns[1:]:                        # the Monte Carlo error falls roughly as 1/sqrt(M)
        assert mc[col].iloc[-1] < mc[col].iloc[0] / 5
        assert mc[col].iloc[-1] < 3 / math.sqrt(400)
    assert ex["exact_eval"] < 1e-5 and 0 <= ex["agree"] <= 1 and ex["tv"] >= 0 and ex["n_avg"] == 400


# ------------------------------------------------------------------------------------------------------- analyses
def test_early_stopping_summary_takes_the_first_validation_minimum():
    rows = []
    for ep, (tr, va, te) in enumerate([(0.9, 0.9, 0.9), (0.5, 0.3, 0.35), (0.2, 0.3, 0.30), (0.0, 0.4, 0.45)]):
        rows += [{"epoch": ep, "split": s, "metric": "error", "value": v} for s, v in zip(("train", "val", "test"),
                                                                                        (tr, va, te))]
        rows.append({"epoch": ep, "split": "val", "metric": "risk_nats", "value": 9.0})
    s = fx.early_stopping_summary(pd.DataFrame(rows))
    assert s["stop epoch"] == 1 and s["test error at stop"] == 0.35 and s["test error at end"] == 0.45
    assert s["gain (end - stop)"] == pytest.approx(0.10) and s["train error at end"] == 0.0
    with pytest.raises(ValueError, match="validation"):
        fx.early_stopping_summary(pd.DataFrame(rows[:4]))


def test_a_failed_run_stops_its_section_with_a_clear_error():
    sw = runs.Sweep([{"lr": 0.1}], [None], {}, [])
    with pytest.raises(RuntimeError, match="1 of 1 runs failed"):
        fx.momentum_findings(sw)


@needs_mnist
def test_findings_from_tiny_sweeps_feed_the_claims():
    p = tiny_plans()
    sw = {k: sweep_of(fn, plan) for k, (fn, plan) in p.items()}
    f1 = fx.simplex_findings(sw["simplex"])
    logits, labels = sw["simplex"].artifacts[0]["logits"], sw["simplex"].artifacts[0]["labels"]
    sections = [f1, fx.cross_entropy_findings(logits, labels),
                fx.convexity_findings(seed=0, classes=[1, 4, 7], per_class=4, points=1),
                fx.entropy_findings(seed=0, logits=logits, labels=labels, pairs=500),
                fx.backprop_findings(seed=0, samples=2, fd_samples=1, channels=2, kernel=3, random_trials=1, h=1e-5),
                fx.momentum_findings(sw["momentum"]), fx.minibatch_findings(sw["minibatch"]),
                fx.early_stopping_findings(sw["early"], 3), fx.dropout_findings(sw["dropout"])]
    values, frame, metrics = fx.merge(*sections, seed=3)
    assert list(frame.columns) == results.COLUMNS
    assert len(frame) == sum(len(f.rows) + (0 if f.runs is None else len(f.runs)) for f in sections)
    assert values["learning"] == [lr for lr in (0.01, 0.3, 30.0) if lr in values["learning"]]
    assert values["Bs"] == [1, 5, 20] and values["n_seeds"] == 2
    assert set(values["es"]["label noise"]) == {0.0, 0.5} and list(values["es"]["seed"]) == [0, 1, 0, 1]
    assert values["gibbs_min"] >= -1e-12 and values["bp_err_ag"] < 1e-8         # identities hold exactly
    head = fx.headline_metrics(metrics)
    assert list(head)[:2] == ["backprop_max_rel_error/vs_autograd",
                              "backprop_normwise_rel_error/vs_finite_differences"]
    assert {"early_stopping_epoch/noise0", "early_stopping_epoch/noise0.5",
            "dropout_gap_test_minus_train_error/notes_p0.5"} <= set(head)
    cl = fx.claims(values)
    assert len(cl) == 13 + 2 + 3 and all(c["verdict"] in results.VERDICTS for c in cl)
    with pytest.raises(ValueError, match="two sections"):
        fx.merge(f1, f1, seed=3)


# --------------------------------------------------------------------------------------------------------- claims
def synthetic_values(**over):
    """Values of every section, chosen so that every qualitative claim is reproduced."""
    fin = pd.Series({(0.01, "none"): 2.2, (0.01, "sutskever"): 1.5, (0.1, "none"): 0.6, (0.1, "sutskever"): 0.2,
                     (10.0, "none"): math.inf, (10.0, "sutskever"): math.inf})
    es = pd.DataFrame({"label noise": [0.0, 0.0, 0.2, 0.2], "stop epoch": [5, 7, 4, 6],
                       "gain (end - stop)": [0.01, 0.02, 0.05, 0.07]})
    v = dict(on_simplex=1e-16, acc3=0.9, classes=[3, 5, 8], half=1.0, forms_gap=0.0,
             convex_ratio={fx.CONVEX_MODELS[0]: 1e-3, fx.CONVEX_MODELS[1]: -1e-17, fx.CONVEX_MODELS[2]: -0.4},
             H_max=1.0, gibbs_min=0.0, gibbs_pairs=100, a4_gap=0.0, bp_err_ag=1e-12, bp_err_fd_norm=1e-10,
             bp_err_fd=1e-7, bp_abs_fd=1e-11, bp_fd_h=1e-5, init_risk=2.3, fin=fin, lr_lo=0.01, lr_hi=10.0,
             best_lr=0.1, learning=[0.01, 0.1], mom_wins=[0.01, 0.1], speedup={0.01: 1.5, 0.1: 3.0},
             too_large=True, too_small=True, Bs=[1, 20, 2000], mb_best={1: 0.30, 20: 0.32, 2000: 1.9},
             mb_wall={1: 9.0, 20: 1.0, 2000: 0.2}, es=es, es_epochs=40, gap_none=0.10, gap_notes=0.05,
             gap_torch=0.06, rgap=pd.Series({"no dropout": 0.5, "p=0.5, torch inverted dropout": 0.2}), n_seeds=2,
             mc_final_notes=0.01, mc_final_torch=0.02, M_final=2000, exact_eval=1e-7, agree=0.99, tv=0.01,
             n_avg=500)
    return {**v, **over}


def verdicts(**over):
    return {c["claim"]: c["verdict"] for c in fx.claims(synthetic_values(**over))}


def test_claims_reproduced_on_values_that_satisfy_every_test():
    v = verdicts()
    assert set(v.values()) == {"reproduced"}, v
    assert len(v) == 18


@pytest.mark.parametrize("over,claim,verdict", [
    (dict(convex_ratio={fx.CONVEX_MODELS[0]: -1e-6, fx.CONVEX_MODELS[1]: 0.0, fx.CONVEX_MODELS[2]: -0.4}),
     "§2: CE risk of logistic regression is convex", "not reproduced"),
    (dict(gibbs_min=-1e-9), "App. A.3: H(q, p) ≥ H(q) (Gibbs)", "not reproduced"),
    (dict(bp_err_ag=1e-3), "§3 Alg. 1: back-propagation = gradient (vs autograd)", "not reproduced"),
    (dict(mom_wins=[0.1]), "§4: momentum speeds up descent", "partly"),
    (dict(too_small=False), "§4: too large a learning rate overshoots, too small crawls", "partly"),
    (dict(mb_best={1: 0.3, 20: 2.5, 2000: 1.9}), "§4: online/mini-batch beat batch learning at equal gradient "
                                                  "evaluations", "not reproduced"),
    (dict(mb_wall={1: 1.0, 20: 2.0, 2000: 0.2}), "§4: mini-batches are the best compromise", "partly"),
    (dict(es=pd.DataFrame({"label noise": [0.0, 0.2], "stop epoch": [5, 4], "gain (end - stop)": [0.001, -0.01]})),
     "§4: early termination: test error at the validation minimum ≤ at the end (label noise 20%)", "not reproduced"),
    (dict(es=pd.DataFrame({"label noise": [0.0, 0.2], "stop epoch": [5, 4], "gain (end - stop)": [0.001, -0.01]})),
     "§4: early termination: test error at the validation minimum ≤ at the end (label noise 0%)", "inconclusive"),
    (dict(gap_torch=0.2), "§5: dropout (p = 1/2) narrows the train/test gap", "partly"),
    (dict(gap_torch=0.2, gap_notes=0.11), "§5: dropout (p = 1/2) narrows the train/test gap", "not reproduced"),
    (dict(mc_final_torch=0.1), "§5: weights × p at test = inverted dropout in expectation", "not reproduced"),
    (dict(agree=0.9), "§5: weight scaling ≈ averaging the dropout networks", "partly"),
])
def test_claims_follow_their_stated_tests(over, claim, verdict):
    assert verdicts(**over)[claim] == verdict


def test_minibatch_claims_name_the_batch_sizes_that_ran():
    # the first batch size is named as it ran (it used to be written "B=1" whatever it was)
    cl = {c["claim"]: c for c in fx.claims(synthetic_values(Bs=[2, 20, 2000],
                                                            mb_best={2: 0.30, 20: 0.32, 2000: 1.9},
                                                            mb_wall={2: 9.0, 20: 1.0, 2000: 0.2}))}
    assert cl["§4: online/mini-batch beat batch learning at equal gradient evaluations"]["ours"].startswith("B=2: ")
    assert "B=2: 0.300 in 9.0 s" in cl["§4: mini-batches are the best compromise"]["ours"]


@pytest.mark.parametrize("kw", [dict(samples=fx.BP_POOL + 1, fd_samples=1), dict(samples=2, fd_samples=3)])
def test_backprop_check_refuses_samples_it_would_truncate(kw):
    with pytest.raises(ValueError, match="samples, fd_samples"):       # before any data is loaded
        fx.backprop_findings(seed=0, channels=2, kernel=3, random_trials=0, h=1e-5, **kw)
