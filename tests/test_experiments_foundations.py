"""study.experiments.foundations: the run functions of notebook 00 (Tomasi's notes), their plans, the analyses that
turn a sweep into findings, the validation-only choices, the claim builder (study.claims rows) and the deviations;
the package's layout (run.py alone in the run-store key, no plotting) and the profiles' declared parameters."""
import math

import matplotlib
import matplotlib.pyplot as plt
import pandas as pd
import pytest
import torch
from notebook_params import profile_values

from study import claims as cl
from study import foundations as fd
from study import results, runs, selection
from study.experiments import foundations as fx
from study.params import parse

matplotlib.use("Agg")
pytestmark = pytest.mark.usefixtures("one_thread")  # tests/conftest.py: tiny networks, one intra-op thread


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


#: the smoke profile's parameters (`fx.Params`) made tiny: a handful of images, one to three epochs
TINY = {
    **{k: v for k, v in profile_values(fx.STUDY, "smoke").items() if k in fx.Params.model_fields},
    "simplex_classes": [1, 4, 7], "simplex_per_class": 8, "simplex_epochs": 1,
    "lr_val_per_class": 3, "opt_per_class": 4, "opt_hidden": 8, "opt_batch": 10, "opt_epochs": 1,
    "lr_grid": [0.01, 0.3, 30.0], "mu_max": 0.9,
    "mb_per_class": 2, "mb_batch_sizes": [1, 5, "full"], "mb_lrs": [0.05, 0.5], "mb_epochs": 1,
    "es_per_class": 3, "es_val_per_class": 2, "es_hidden": 8, "es_epochs": 3, "es_lr": 0.05, "es_batch": 10,
    "es_momentum": 0.9, "es_label_noise": [0.0, 0.5],
    "do_per_class": 3, "do_hidden": [8, 8], "do_epochs": 2, "do_lr": 0.05, "do_batch": 10, "do_momentum": 0.9,
    "do_p": 0.5, "do_input_p": 0.8, "do_mc_samples": 30,
    "test_size": fx.DROPOUT_TEST_IMAGES, "n_seeds": 2,
}


def tiny_params(**over):
    """`TINY` (with `over`) as checked `fx.Params`."""
    return parse(fx.Params, {**TINY, **over})


def tiny_plans(seed=3, n_seeds=2):
    """One small plan per run kind (`TINY`)."""
    p = tiny_params(n_seeds=n_seeds)
    return {
        "simplex": (fx.simplex_run, fx.simplex_plan(p, seed=seed, device="cpu")),
        "momentum": (fx.momentum_run, fx.momentum_plan(p, seed=seed, device="cpu")),
        "minibatch": (fx.minibatch_run, fx.minibatch_plan(p, seed=seed, device="cpu")),
        "early": (fx.early_stopping_run, fx.early_stopping_plan(p, seed=seed, device="cpu")),
        "dropout": (fx.dropout_run, fx.dropout_plan(p, seed=seed, device="cpu")),
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
    assert fx.run_seeds(tiny_params(), seed=3) == [3000, 3001]
    mom = p["momentum"][1]
    assert [(c["seed"], c["lr"], c["momentum"]) for c in mom] == [
        (s, lr, m) for s in (3000, 3001) for lr in (0.01, 0.3, 30.0) for m in ("none", "sutskever")]
    assert {c["device"] for c in mom} == {"cpu"} and {c["val_per_class"] for c in mom} == {3}
    mb = p["minibatch"][1]
    assert [(c["batch_size"], c["lr"]) for c in mb[:6]] == [(b, lr) for b in (1, 5, 20) for lr in (0.05, 0.5)]
    assert [c["evals_per_epoch"] for c in mb[:6:2]] == [10, 4, 1]                 # min(10, ceil(N / B))
    assert [c["seed"] for c in mb] == [3000] * 6 + [3001] * 6
    es = p["early"][1]
    assert [(c["label_noise"], c["seed"]) for c in es] == [(0.0, 3000), (0.0, 3001), (0.5, 3000), (0.5, 3001)]
    do = p["dropout"][1]
    assert [(c["variant"], c["seed"]) for c in do] == [(v, 3000 + s) for s in range(2) for v in fx.DROPOUT_VARIANTS]
    assert [c["mc_samples"] for c in do] == [None, 30, None] * 2                  # every "notes" run checks
    sx = p["simplex"][1]
    assert [c["seed"] for c in sx] == [3000, 3001]
    assert (sx[0]["classes"], sx[0]["hidden"], sx[0]["batch_size"]) == ([1, 4, 7], fx.SIMPLEX_HIDDEN,
                                                                        fx.SIMPLEX_BATCH)
    for _, plan in p.values():                    # plain JSON, distinct: one store entry per config
        assert len({runs.canonical(c) for c in plan}) == len(plan)
    auto = fx.momentum_plan(tiny_params(), seed=0, device="auto")
    assert {c["device"] for c in auto} <= {"cpu", "cuda"}


PLANS = (fx.simplex_plan, fx.momentum_plan, fx.minibatch_plan, fx.early_stopping_plan, fx.dropout_plan)


@pytest.mark.parametrize("fn,kw,name", [  # a plan reads checked Params: its parameters are refused there, by name
    (fx.momentum_plan, dict(lr_grid=[]), "lr_grid"), (fx.momentum_plan, dict(mu_max=1.0), "mu_max"),
    (fx.momentum_plan, dict(lr_val_per_class=0), "lr_val_per_class"), (fx.momentum_plan, dict(n_seeds=0), "n_seeds"),
    (fx.minibatch_plan, dict(mb_batch_sizes=[0]), "mb_batch_sizes"),
    (fx.minibatch_plan, dict(mb_batch_sizes=[1, 5, 21]), "mb_batch_sizes"),    # larger than N = 10 x 2
    (fx.minibatch_plan, dict(lr_val_per_class=0), "lr_val_per_class"),
    (fx.early_stopping_plan, dict(es_label_noise=[1.0]), "es_label_noise"),
    (fx.early_stopping_plan, dict(n_seeds=0), "n_seeds"),
    (fx.dropout_plan, dict(do_p=0.0), "do_p"), (fx.dropout_plan, dict(do_input_p=1.5), "do_input_p"),
    (fx.simplex_plan, dict(simplex_classes=[1, 1, 2]), "simplex_classes"), (fx.simplex_plan, dict(n_seeds=0), "n_seeds"),
])
def test_plans_reject_bad_parameters(fn, kw, name):
    assert fn(tiny_params(), seed=0, device="cpu")    # the valid base passes
    with pytest.raises(ValueError) as err:
        tiny_params(**kw)
    assert str(err.value).startswith(f"{name}={kw[name]!r} is out of range; accepted: "), err.value


@pytest.mark.parametrize("fn", PLANS)
def test_plans_refuse_a_bad_seed_and_check_every_config_with_the_runs_model(fn, monkeypatch):
    for seed in (-1, 1.5, True, 2**32):
        with pytest.raises(ValueError, match=rf"^seed={seed!r} is out of range"):
            fn(tiny_params(), seed=seed, device="cpu")
    monkeypatch.setattr(fx.plan.train, "pick_device", lambda d: torch.device("meta"))
    with pytest.raises(ValueError, match=r"^device='meta' is out of range"):  # what the run refuses, the plan does
        fn(tiny_params(), seed=0, device="cpu")


def test_run_configs_are_validated():
    c = tiny_plans()["momentum"][1][0]
    with pytest.raises(ValueError, match=r"unknown parameter\(s\) \['threads'\]"):
        fx.momentum_run({**c, "threads": 2})
    with pytest.raises(ValueError, match=r"missing parameter\(s\) \['val_per_class'\]"):
        fx.momentum_run({k: x for k, x in c.items() if k != "val_per_class"})
    with pytest.raises(ValueError, match="device"):
        fx.momentum_run({**c, "device": "auto"})
    with pytest.raises(ValueError, match="momentum"):
        fx.momentum_run({**c, "momentum": "nesterov"})
    s = tiny_plans()["simplex"][1][0]
    for key, bad in (("classes", [3, 5, 42]), ("classes", [3, 3, 3]), ("hidden", 1.5), ("lr", float("inf")),
                     ("hidden", 10**9), ("epochs", 10**12)):
        with pytest.raises(ValueError, match=rf"^{key}=.* is out of range; accepted: "):
            fx.simplex_run({**s, key: bad})
    d = tiny_plans()["dropout"][1][0]                 # a "none" run
    with pytest.raises(ValueError, match="mc_samples"):
        fx.dropout_run({**d, "mc_samples": 10})


# ----------------------------------------------------------------------------------------------------------- runs
@pytest.mark.needs_mnist
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


@pytest.mark.needs_mnist
def test_learning_rate_candidates_never_touch_the_test_split(monkeypatch):
    """Momentum and mini-batch runs compete in a learning-rate choice: they evaluate the validation split (held out
    of the training images) and never the test split; a diverged run reads as infinitely bad on validation."""
    for kind in ("momentum", "minibatch"):
        fn, plan = tiny_plans()[kind]
        for c in plan[:3]:
            rows = fn(c).rows
            assert "test" not in set(rows.split), kind
            val = rows[rows.split == "val"]
            assert set(val.metric) == {"risk_nats", "error"} and len(val) == 2
    train_momentum = fd.train_momentum

    def diverging(*a, **kw):                          # a run whose loss became non-finite (recorded, not raised)
        assert kw["on_non_finite"] == "record"
        return train_momentum(*a, **kw) + [{"epoch": 1.0, "split": "train", "metric": "diverged", "value": 1.0}]
    monkeypatch.setattr(fd, "train_momentum", diverging)
    fn, plan = tiny_plans()["momentum"]
    bad = fn(plan[5]).rows
    val = bad[bad.split == "val"].set_index("metric").value
    assert val["risk_nats"] == math.inf and val["error"] == 1.0


@pytest.mark.needs_mnist
def test_the_choice_refuses_test_rows_and_the_findings_refuse_a_run_that_saw_test():
    sw = sweep_of(*tiny_plans(n_seeds=1)["momentum"])
    frame = pd.concat([r.rows.assign(lr=c["lr"]) for c, r in zip(sw.configs, sw.results)], ignore_index=True)
    lr, table = fx.choose_on_validation(frame, "lr", [0.01, 0.3, 30.0])
    assert lr in (0.01, 0.3) and list(table["lr"]) == [0.01, 0.3, 30.0] and table["chosen"].sum() == 1
    leak = pd.concat([frame, frame.head(1).assign(split="test")], ignore_index=True)
    with pytest.raises(ValueError, match="test"):
        selection.choose(leak, [{"lr": 0.01}], metric="risk_nats", higher_is_better=False)
    first = sw.results[0]
    leaked = runs.Result(rows=pd.concat([first.rows, first.rows.head(1).assign(split="test")], ignore_index=True))
    with pytest.raises(RuntimeError, match="test split"):
        fx.momentum_findings(runs.Sweep(sw.configs, [leaked] + sw.results[1:], {}, []))


@pytest.mark.needs_mnist
def test_a_run_depends_on_its_seed_and_the_variants_of_a_seed_share_data_and_initial_weights():
    fn, plan = tiny_plans()["early"]
    a, b = fn(plan[0]), fn(plan[1])                   # seeds 3000 and 3001, same noise
    assert not measured(a.rows).value.equals(measured(b.rows).value)
    fn, plan = tiny_plans()["dropout"]
    none, notes, torch_ = (fn(c) for c in plan[:3])
    # PyTorch's dropout is the identity in eval mode: before training, "none" and "torch" are the same network on
    # the same subset, so their epoch-0 train risks agree; the seed-1 "none" run differs
    start = [r.rows[(r.rows.epoch == 0) & (r.rows.metric == "risk_nats")].value.tolist()
             for r in (none, torch_, fn(plan[3]))]
    assert start[0] == start[1] != start[2]
    assert none.artifacts["expectation"] is None and notes.artifacts["expectation"] is not None
    s = none.artifacts["summary"]
    test = none.rows[none.rows.split == "test"]       # the test split once, at the end
    assert set(test.epoch) == {plan[0]["epochs"]} and set(test.metric) == {"risk_nats", "error"}
    # the summary of a "none" run (its test-time network is the trained one) agrees with its last-epoch rows
    last = none.rows[none.rows.epoch == plan[0]["epochs"]].set_index(["split", "metric"])["value"]
    assert s["train error"] == pytest.approx(last[("train", "error")])
    assert s["test error"] == pytest.approx(last[("test", "error")])
    assert s["gap (test - train)"] == pytest.approx(last[("test", "error")] - last[("train", "error")])
    assert s["risk gap (nats)"] == pytest.approx(last[("test", "risk_nats")] - last[("train", "risk_nats")])


@pytest.mark.needs_mnist
def test_early_stopping_keeps_the_network_of_the_validation_minimum():
    fn, plan = tiny_plans()["early"]
    c = {**plan[2], "epochs": 4}
    rows = fn(c).rows
    val = rows[(rows.split == "val") & (rows.metric == "error") & (rows.epoch > 0)].sort_values("epoch")
    stop = float(val.epoch.iloc[int(val.value.to_numpy().argmin())])          # first minimum
    assert rows[rows.metric == "error_at_stop"].epoch.iloc[0] == stop
    s = fx.early_stopping_summary(rows)
    assert s["stop epoch"] == stop and s["val error at stop"] == val.value.min()
    te = rows[rows.split == "test"]
    assert set(te.metric) == {"error_at_stop", "risk_nats_at_stop", "error", "risk_nats"}
    assert s["gain (end - stop)"] == pytest.approx(te[te.metric == "error"].value.iloc[0]
                                                   - te[te.metric == "error_at_stop"].value.iloc[0])
    if stop == c["epochs"]:                           # stopped at the end: the two test evaluations agree
        assert s["gain (end - stop)"] == 0.0


@pytest.mark.needs_mnist
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
    assert ex["exact_eval"] < 1e-5 and ex["n_avg"] == 400
    # the scaled network approximates the 400-mask average (same argmax) without being it (ReLU is not linear)
    assert ex["agree"] >= 0.9 and 0 < ex["tv"] < 0.05


# ------------------------------------------------------------------------------------------------------- analyses
def es_rows(val_errors, test_stop, test_end, stop_epoch):
    rows = []
    for ep, va in enumerate(val_errors):
        rows += [{"epoch": ep, "split": "train", "metric": "error", "value": [0.9, 0.5, 0.2, 0.0][ep]},
                 {"epoch": ep, "split": "val", "metric": "error", "value": va},
                 {"epoch": ep, "split": "val", "metric": "risk_nats", "value": 9.0}]
    rows += [{"epoch": stop_epoch, "split": "test", "metric": "error_at_stop", "value": test_stop},
             {"epoch": len(val_errors) - 1, "split": "test", "metric": "error", "value": test_end}]
    return pd.DataFrame(rows).assign(seed=0)


def test_early_stopping_summary_chooses_the_first_validation_minimum_on_validation_rows_only():
    s = fx.early_stopping_summary(es_rows([0.9, 0.3, 0.3, 0.4], 0.35, 0.45, 1))
    assert s["stop epoch"] == 1 and s["test error at stop"] == 0.35 and s["test error at end"] == 0.45
    assert s["gain (end - stop)"] == pytest.approx(0.10) and s["train error at end"] == 0.0
    assert s["val error at stop"] == 0.3
    with pytest.raises(RuntimeError, match="kept the network of epoch 2"):   # the run's checkpoint disagrees
        fx.early_stopping_summary(es_rows([0.9, 0.3, 0.3, 0.4], 0.35, 0.45, 2))
    with pytest.raises(ValueError, match="validation"):
        fx.early_stopping_summary(es_rows([0.9], 0.35, 0.45, 0))


def test_final_train_risk_counts_a_diverged_run_as_its_initial_risk():
    rows = []
    for lr, last, div in ((0.1, 0.5, False), (10.0, 7.0, True), (1.0, math.nan, False)):
        rows += [{"lr": lr, "seed": 0, "epoch": 0, "split": "train", "metric": "risk_nats", "value": 2.3},
                 {"lr": lr, "seed": 0, "epoch": 1, "split": "train", "metric": "risk_nats", "value": last}]
        if div:
            rows.append({"lr": lr, "seed": 0, "epoch": 1, "split": "train", "metric": "diverged", "value": 1.0})
    fin = fx.final_train_risk(pd.DataFrame(rows), ["lr"])
    assert fin[(0.1, 0)] == 0.5 and fin[(10.0, 0)] == 2.3 and fin[(1.0, 0)] == 2.3
    with pytest.raises(ValueError, match="training risk"):
        fx.final_train_risk(pd.DataFrame(rows).assign(split="val"), ["lr"])


def test_loss_curves_cross_at_one_half_and_one_bit():
    for s in range(3):
        p, bits = fx.loss_crossing_bits(torch.Generator().manual_seed(s))
        assert p == pytest.approx(0.5, abs=1e-12) and bits == pytest.approx(1.0, abs=1e-12)


def test_a_failed_run_stops_its_section_with_a_clear_error():
    sw = runs.Sweep([{"lr": 0.1}], [None], {}, [])
    with pytest.raises(RuntimeError, match="1 of 1 runs failed"):
        fx.momentum_findings(sw)


@pytest.mark.needs_mnist
def test_findings_from_tiny_sweeps_feed_the_claims():
    p = tiny_plans(n_seeds=3)
    sw = {k: sweep_of(fn, plan) for k, (fn, plan) in p.items()}
    seeds = fx.run_seeds(tiny_params(n_seeds=3), seed=3)
    outputs = fx.simplex_outputs(sw["simplex"])
    assert sorted(outputs) == seeds
    sections = [fx.simplex_findings(sw["simplex"]), fx.cross_entropy_findings(outputs),
                fx.convexity_findings(seeds=seeds, classes=[1, 4, 7], per_class=4, points=1),
                fx.entropy_findings(outputs=outputs, pairs=500),
                fx.backprop_findings(seeds=seeds, samples=2, fd_samples=1, channels=2, kernel=3, random_trials=1,
                                     h=1e-5),
                fx.momentum_findings(sw["momentum"]), fx.minibatch_findings(sw["minibatch"]),
                fx.early_stopping_findings(sw["early"]), fx.dropout_findings(sw["dropout"])]
    drawers = [fx.simplex_figures, fx.cross_entropy_figures, fx.convexity_figures, fx.entropy_figures,
               fx.backprop_figures, fx.momentum_figures, fx.minibatch_figures, fx.early_stopping_figures,
               fx.dropout_figures]
    for f, draw in zip(sections, drawers):            # every section draws; every figure has a caption
        shown = draw(f)
        assert shown.figures and all(isinstance(cap, str) and cap.strip() for _, cap, _ in shown.figures.values())
    values, frame, metrics = fx.merge(*sections, seed=3)
    assert list(frame.columns) == results.COLUMNS
    assert len(frame) == sum(len(f.rows) + (0 if f.runs is None else len(f.runs)) for f in sections)
    for key in ("on_simplex", "half", "forms_gap", "convex_lin", "gibbs_min", "bp_err_ag", "mom_gain",
                "mb_online_vs_batch", "mc_err", "agree"):       # one value per seed
        assert list(values[key].index) == seeds, key
    assert values["Bs"] == [1, 5, 20] and values["lr_star"] in (0.01, 0.3, 30.0)
    assert set(values["es_gain"]) == {0.0, 0.5} and list(values["do_gain"]) == ["notes", "torch"]
    assert (values["gibbs_min"] >= -1e-12).all() and (values["bp_err_ag"] < 1e-8).all()   # identities hold
    head = fx.metrics(metrics)
    assert list(head)[:2] == ["backprop_max_rel_error/vs_autograd",
                              "backprop_normwise_rel_error/vs_finite_differences"]
    assert head["backprop_max_rel_error/vs_autograd"]["n"] == 3 and head["backprop_max_rel_error/vs_autograd"]["ci95"]
    assert {"early_stopping_epoch/noise0", "early_stopping_epoch/noise0.5",
            "dropout_gap_test_minus_train_error/notes_p0.5"} <= set(head)
    claims = fx.judge(values)
    for c in claims:
        cl.check_claim(c)
    assert {c["verdict"] for c in claims} <= set(cl.VERDICTS) and "partly" not in {c["verdict"] for c in claims}
    judged = [c for c in claims if c["verdict"] != "not tested"]
    assert all(c["n"] == 3 and c["ci95"] is not None for c in judged)
    with pytest.raises(ValueError, match="two sections"):
        fx.merge(sections[0], sections[0], seed=3)


# --------------------------------------------------------------------------------------------------------- claims
SEEDS = [0, 1, 2]


def ser(*xs):
    return pd.Series(list(xs), index=SEEDS[:len(xs)], dtype=float)


def synthetic_values(**over):
    """Per-seed values of every section, chosen so that every claim is reproduced."""
    v = dict(on_simplex=ser(1e-16, 2e-16, 0.0), acc3=ser(0.9, 0.91, 0.92), classes=[3, 5, 8],
             half=ser(1.0, 1.0, 1.0), sym_gap=ser(0, 0, 0), forms_gap=ser(0, 1e-16, 0),
             convex_lin=ser(1e-16, -1e-17, 2e-16), convex_tanh=ser(-0.4, -0.3, -0.5),
             H_max=ser(1, 1, 1), gibbs_min=ser(0, 1e-12, 0), gibbs_pairs=100, a4_gap=ser(0, 0, 1e-16),
             bp_err_ag=ser(1e-12, 2e-12, 1e-12), bp_err_fd_norm=ser(1e-10, 2e-10, 1e-10), bp_err_fd=1e-7,
             bp_abs_fd=1e-11, bp_fd_h=1e-5, lr_star=0.1, lr_none=0.3, lr_lo=0.01, lr_hi=10.0,
             mom_gain=ser(0.2, 0.25, 0.22), mom_gain_own=ser(0.1, 0.12, 0.11), overshoot=ser(2.0, 2.1, 2.05),
             crawl=ser(1.0, 0.9, 1.1), Bs=[1, 20, 1000], N=1000, mb_lr={1: 0.01, 20: 0.1, 1000: 1.0},
             mb_online_vs_batch=ser(1.0, 1.2, 1.1), mb_mini_vs_online={20: ser(0.05, 0.06, 0.04)},
             es_gain={0.0: ser(0.01, 0.02, 0.015), 0.2: ser(0.05, 0.07, 0.06)},
             es_stop={0.0: ser(5, 7, 6), 0.2: ser(4, 6, 5)}, es_epochs=40,
             do_gain={"notes": ser(0.01, 0.012, 0.011), "torch": ser(0.008, 0.01, 0.009)},
             rgap=pd.Series({"no dropout": 0.5, "p=0.5, torch inverted dropout": 0.2}), p=0.5,
             mc_err=ser(0.005, 0.006, 0.0055), agree=ser(0.998, 0.996, 0.997), M_final=5000, n_avg=500,
             exact_eval=1e-7, tv=0.01, deps_simplex=["s0"], deps_mom_gain=["m0"], deps_mom_gain_own=["m1"],
             deps_overshoot=["m2"], deps_crawl=["m3"], deps_mb={1: ["b1"], 20: ["b20"], 1000: ["b1000"]},
             deps_es=["e0"], deps_do={"notes": ["d0"], "torch": ["d1"]}, deps_do_mc=["d0"])
    return {**v, **over}


def rows(**over):
    return {c["claim"]: c for c in fx.judge(synthetic_values(**over))}


def verdicts(**over):
    return {k: c["verdict"] for k, c in rows(**over).items()}


MOM = "§4: momentum accelerates descent (the schedule vs μ = 0 at the same α)"
OVER = "§4: a learning rate that is too large overshoots"
CRAWL = "§4: a learning rate that is too small makes very slow progress"
ES0 = "§4: early termination at the validation-error minimum improves generalisation (label noise 0%)"
DROP = "§5: dropout (p = 0.5) reduces overfitting: smaller train/test error gap"
COMPROMISE = "§4: small B (a few dozen) is the best compromise between variance and flexible steps"


def test_claims_reproduced_on_values_that_satisfy_every_claim_and_rows_have_the_shared_fields():
    r = rows()
    assert {k: c["verdict"] for k, c in r.items() if k != COMPROMISE} == {k: "reproduced" for k in r if
                                                                          k != COMPROMISE}
    assert r[COMPROMISE]["verdict"] == "not tested" and r[COMPROMISE]["note"]
    assert len(r) == 21  # the stricter momentum reading and inverted dropout are no longer claims (issue 17)
    for c in r.values():
        cl.check_claim(c)
        assert set(cl.CLAIM_FIELDS) <= set(c)
        assert c["depends_on"] or c["verdict"] == "not tested"
    dropout = r["§5: dropout (p = 0.5) reduces overfitting: smaller train/test error gap"]
    assert set(dropout["readings"]) == {"dropout_convention=notes", "dropout_convention=inverted"}
    assert dropout["robustness"] == "robust" and dropout["depends_on"] == ["d0"]
    assert r[MOM]["depends_on"] == ["m0"]
    assert fx.ablations(synthetic_values())["momentum_gain_own_alpha/ablation"]["depends_on"] == ["m1"]
    types = {c["type"] for c in r.values()}
    assert types == {"point", "at_least", "ordering"}
    assert r["§1: soft-max outputs lie on the simplex (Σ p = 1)"]["tolerance"] == cl.TOLERANCES["identity"][0]
    assert r[MOM]["tolerance"] is None and r[MOM]["n"] == 3


@pytest.mark.parametrize("over,claim,verdict", [
    (dict(convex_lin=ser(-0.5, -0.4, -0.45)),
     "§2: the cross-entropy risk of the linear soft-max classifier is convex (Hessian ⪰ 0)", "not reproduced"),
    (dict(gibbs_min=ser(-0.2, -0.3, -0.25)), "App. A.3: H(q, p) ≥ H(q) (Gibbs)", "not reproduced"),
    (dict(bp_err_ag=ser(0.5, 0.6, 0.7)), "§3 Alg. 1: back-propagation computes the gradient (vs autograd)",
     "not reproduced"),
    (dict(half=ser(0.9, 1.1, 1.0)), "§2.1: the two loss curves meet at p = 1/2, ℓ(1, 1/2) = ℓ(0, 1/2) = 1 bit",
     "inconclusive"),
    (dict(mom_gain=ser(-0.2, -0.1, -0.15)), MOM, "not reproduced"),
    (dict(mom_gain=ser(0.2, -0.1, 0.05)), MOM, "inconclusive"),
    (dict(mom_gain=ser(0.2, 0.25)), MOM, "inconclusive"),                     # n = 2 < 3
    (dict(overshoot=ser(0.0, 0.0, 0.0)), OVER, "not reproduced"),             # zero-width interval at the edge
    (dict(lr_star=10.0), OVER, "not tested"),                                 # the grid's largest α was best
    (dict(lr_star=0.01), CRAWL, "not tested"),
    (dict(es_gain={0.0: ser(-0.01, -0.02, -0.015), 0.2: ser(0.05, 0.07, 0.06)}), ES0, "not reproduced"),
    (dict(es_stop={0.0: ser(40, 40, 40), 0.2: ser(4, 6, 5)}), ES0, "not tested"),   # never bottomed out
    (dict(do_gain={"notes": ser(-0.01, -0.012, -0.011), "torch": ser(0.008, 0.01, 0.009)}), DROP, "not reproduced"),
    (dict(mc_err=ser(0.1, 0.12, 0.11)),
     "§5: multiplying the weights by p at test time gives the average over dropout masks (one layer)",
     "not reproduced"),
    (dict(agree=ser(0.9, 0.92, 0.91)),
     "§5: the weight-scaled network effectively averages the dropout networks (same predicted class)",
     "not reproduced"),
])
def test_claims_follow_the_shared_rule(over, claim, verdict):
    assert verdicts(**over)[claim] == verdict


def test_claims_name_the_batch_sizes_and_learning_rates_that_ran():
    r = rows(Bs=[2, 16, 500], N=500, mb_lr={2: 0.03, 16: 0.3, 500: 1.0}, mb_mini_vs_online={16: ser(0.1, 0.2, 0.1)},
             deps_mb={2: ["b2"], 16: ["b16"], 500: ["b500"]})
    assert "§4: mini-batches (B = 16) improve convergence further (vs online)" in r
    online = r["§4: online learning converges faster than batch learning at equal computational effort"]
    assert online["paper_value"] == "final training risk: B = 2 < B = N" and "B = N = 500" in online["note"]
    assert "(1.0, 0.03)" in online["note"]
    assert "α* = 0.1" in r[MOM]["note"]


def test_non_finite_values_are_an_error_not_a_verdict():
    with pytest.raises(ValueError, match="non-finite"):
        fx.judge(synthetic_values(mom_gain=ser(0.1, math.inf, 0.2)))


def test_deviations_are_rows_of_the_shared_shape_and_name_the_parameters():
    P = {"n_seeds": 3, "lr_grid": [0.003, 0.03], "mb_lrs": [0.1, 1.0], "lr_val_per_class": 100, "mu_max": 0.99,
         "opt_epochs": 10, "mb_epochs": 3, "es_epochs": 40, "do_epochs": 30, "es_label_noise": [0.0, 0.2],
         "do_p": 0.5, "do_input_p": 0.8, "bp_kernel": 3, "bp_channels": 4}
    devs = fx.deviations(P)
    assert len(devs) >= 10
    for d in devs:
        assert set(d) == set(cl.DEVIATION_FIELDS) and all(isinstance(x, str) and x.strip() for x in d.values())
    text = " ".join(d["ours"] for d in devs)
    assert "[0.003, 0.03]" in text and "100 training images per digit" in text
    assert any(d["paper"].startswith("not given") for d in devs)
    assert [d["setting"] for d in fx.deviations()] == [d["setting"] for d in devs]


@pytest.mark.parametrize("kw", [dict(samples=fx.BP_POOL + 1, fd_samples=1), dict(samples=2, fd_samples=3)])
def test_backprop_check_refuses_samples_it_would_truncate(kw):
    with pytest.raises(ValueError, match="samples, fd_samples"):       # before any data is loaded
        fx.backprop_findings(seeds=[0], channels=2, kernel=3, random_trials=0, h=1e-5, **kw)
