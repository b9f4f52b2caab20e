"""study.experiments.sl1: the run function of notebook 01 (Yang et al., SL1 on MNIST), its validation-only tuning
stages, the final and α-sweep stages, and the claims."""
import importlib
import math

import pandas as pd
import pytest
import torch

from study import claims as cl
from study import penalties, results, runs, selection
from study.experiments import sl1
from study.params import parse

RUN = importlib.import_module("study.experiments.sl1.run")  # the module (sl1.run is its run function)


PARAMS = dict(n_seeds=3, epochs=4, batch_size=64, momentum=0.2, momentum_ramp_epochs=2, loss="entropy_error",
              methods=["none", "sl1", "group_l1", "l2"], prune_threshold=1e-2, train_subset=512, test_subset=500,
              tune_seeds=2, tune_epochs=1, tune_subset=256, val_subset=200, activations=["relu", "sigmoid"],
              lrs=[0.03, 0.1], lams_sl1=[1e-2, 1e-3], alphas=[0.1, 0.01], lams_group_l1=[2e-3], lams_l2=[3e-3, 3e-4],
              sweep_alphas=[0.0, 0.001], sweep_lams=[1e-2], sweep_seeds=3, sweep_epochs=2,
              reading_alphas=[0.0, 0.1], momentum_readings=["ramp_to", "ramp_from"], momentum_final=0.9)
WHERE = dict(seed=5, device="cpu")
CHOSEN = {"activation": "relu", "lr": 0.1, "lam": {"none": None, "sl1": 1e-3, "group_l1": 2e-3, "l2": 3e-4},
          "alpha": 0.01}


def params(**over):
    """`PARAMS` with `over`, checked (`sl1.Params`)."""
    return parse(sl1.Params, {**PARAMS, **over})


P = params()


def tiny(**over):
    """A validation-split config that trains in well under a second: 96 fit images, 64 validation images, 1 epoch."""
    c = sl1.tune_penalty_stage(params(tune_subset=96, val_subset=64, tune_seeds=1), {"activation": "relu", "lr": 0.1},
                               **WHERE)[0]
    return {**c, **over}


# ---------------------------------------------------------------------------------------------------------- plan
def test_tuning_stages_cover_the_grids_on_the_validation_split():
    base = sl1.tune_base_stage(P, **WHERE)
    assert [(c["activation"], c["lr"], c["seed"]) for c in base] == [
        (a, lr, 5 + i) for a in ("relu", "sigmoid") for lr in (0.03, 0.1) for i in range(2)]
    assert {c["method"] for c in base} == {"none"} and {c["epochs"] for c in base} == {1}
    pen = sl1.tune_penalty_stage(P, {"activation": "sigmoid", "lr": 0.03}, **WHERE)
    settings = [(c["method"], c["lam"], c["alpha"]) for c in pen if c["seed"] == 5]
    assert settings == [("sl1", 1e-2, 0.1), ("sl1", 1e-2, 0.01), ("sl1", 1e-3, 0.1), ("sl1", 1e-3, 0.01),
                        ("group_l1", 2e-3, None), ("l2", 3e-3, None), ("l2", 3e-4, None)]
    assert len(pen) == 2 * len(settings)
    assert {(c["activation"], c["lr"]) for c in pen} == {("sigmoid", 0.03)}
    for c in base + pen:  # candidates: the fit part and the validation images, never test
        assert (c["split"], c["train_subset"], c["eval_subset"], c["subset_seed"]) == ("val", 256, 200, 5)
    grids = sl1.penalty_grids(P)
    assert list(grids) == ["sl1", "group_l1", "l2"] and grids["group_l1"] == [{"method": "group_l1", "lam": 2e-3}]
    assert sl1.base_grid(P)[0] == {"activation": "relu", "lr": 0.03}
    every = base + pen
    assert len({runs.canonical(c) for c in every}) == len(every)


def test_final_and_alpha_sweep_stages_use_the_chosen_setting():
    final = sl1.final_stage(P, CHOSEN, **WHERE)
    assert [(c["method"], c["seed"]) for c in final] == [(m, 5 + i) for i in range(3) for m in PARAMS["methods"]]
    assert {c["method"]: c["lam"] for c in final} == CHOSEN["lam"]
    assert all((c["alpha"] == 0.01) == (c["method"] == "sl1") for c in final)
    for c in final:  # the only test-split runs: all training images' subset, the test subset
        assert (c["split"], c["train_subset"], c["eval_subset"], c["epochs"]) == ("test", 512, 500, 4)
        assert (c["activation"], c["lr"]) == ("relu", 0.1)
    sweep = sl1.alpha_sweep_stage(P, CHOSEN, **WHERE)
    assert sl1.sweep_alphas(P, CHOSEN) == [0.0, 0.001, 0.01]  # the chosen α is added
    assert sl1.sweep_lambdas(P, CHOSEN) == [1e-3, 1e-2]  # the chosen λ and sweep_lams
    assert [(c["lam"], c["alpha"], c["seed"]) for c in sweep] == [
        (lam, a, 5 + i) for lam in (1e-3, 1e-2) for a in (0.0, 0.001, 0.01) for i in range(3)]
    assert {(c["method"], c["split"], c["epochs"], c["activation"], c["lr"]) for c in sweep} == {
        ("sl1", "val", 2, "relu", 0.1)}
    assert len(sl1.alpha_sweep_stage(params(sweep_lams=[1e-3]), CHOSEN, **WHERE)) == 9  # no duplicate
    assert sl1.alpha_sweep_stage(params(sweep_alphas=[]), CHOSEN, **WHERE) == []
    assert sl1.final_stage(P, CHOSEN, seed=0, device="auto")[0]["device"] in ("cpu", "cuda")


@pytest.mark.parametrize("over,name", [({"alphas": [0.0]}, "alphas"), ({"lams_sl1": [-1e-3]}, "lams_sl1"),
                                       ({"lams_l2": [float("nan")]}, "lams_l2"),
                                       ({"methods": ["sl1", "l0"]}, "methods"),
                                       ({"n_seeds": 0}, "n_seeds"), ({"epochs": 0}, "epochs"),
                                       ({"activations": ["tanh"]}, "activations"), ({"loss": "hinge"}, "loss"),
                                       ({"momentum": 1.0}, "momentum"), ({"train_subset": -3}, "train_subset"),
                                       ({"tune_subset": 50_001}, "tune_subset"), ({"lrs": []}, "lrs"),
                                       ({"sweep_alphas": [0.01]}, "sweep_alphas")])
def test_bad_parameters_are_refused_naming_them(over, name):
    with pytest.raises(ValueError, match=name):
        params(**over)


@pytest.mark.parametrize("over,name", [({"method": "l0"}, "method"), ({"device": "auto"}, "device"),
                                       ({"alpha": None}, "alpha"), ({"alpha": -0.1}, "alpha"), ({"lam": -1.0}, "lam"),
                                       ({"batch_size": 0}, "batch_size"), ({"seed": -1}, "seed"),
                                       ({"epochs": 1.5}, "epochs"), ({"split": "train"}, "split"),
                                       ({"train_subset": 50_001}, "train_subset"),
                                       ({"eval_subset": 10_001}, "eval_subset"),
                                       ({"epochs": 10**12}, "epochs"),
                                       ({"batch_size": 10**12}, r"batch_size=1000000000000 .*training images")])
def test_run_config_rejects_bad_values_naming_the_key(over, name):
    with pytest.raises(ValueError, match=name):
        parse(sl1.RunConfig, tiny(**over))
    with pytest.raises(ValueError, match=r"missing parameter\(s\) \['lr'\]"):
        parse(sl1.RunConfig, {k: v for k, v in tiny().items() if k != "lr"})
    assert parse(sl1.RunConfig, tiny(alpha=0.0)).alpha == 0.0  # α = 0: group L1, the α sweep's limit
    assert parse(sl1.RunConfig, tiny(split="test", train_subset=60_000)).train_subset == 60_000


def test_penalty_hook_is_the_papers_penalty_on_fc():
    m = torch.nn.Module()
    m.fc = torch.nn.Linear(192, 10)
    w = m.fc.weight
    assert sl1.penalty_hook("none", None, None) is None
    torch.testing.assert_close(sl1.penalty_hook("sl1", 0.3, 0.05)(m), penalties.sl1(w, 0.3, 0.05))
    torch.testing.assert_close(sl1.penalty_hook("sl1", 0.3, 0.0)(m), penalties.group_l1(w, 0.3))
    torch.testing.assert_close(sl1.penalty_hook("group_l1", 0.3, None)(m), penalties.group_l1(w, 0.3))
    torch.testing.assert_close(sl1.penalty_hook("l2", 0.3, None)(m), penalties.l2(w, 0.3))
    with pytest.raises(ValueError, match="alpha"):
        sl1.penalty_hook("sl1", 0.3, -0.1)


def test_total_variation():
    assert sl1.total_variation(torch.tensor([3.0, 2.0, 1.0])) == pytest.approx(1.0)  # monotone: drop / steps
    assert sl1.total_variation(torch.tensor([1.0, 2.0, 1.0, 2.0])) == pytest.approx(1.0)
    assert sl1.total_variation(torch.tensor([1.0])) == 0.0
    with pytest.raises(ValueError, match="1-D"):
        sl1.total_variation(torch.ones(2, 2))


# ------------------------------------------------------------------------- the test split never reaches selection
def fake_sweep(configs, score=lambda c: 0.5, fail=(), cos=lambda c: 0.5):
    """A sweep whose run i returns validation/test rows (split from its config) with `score(config)` as accuracy
    and `cos(config)` as cos_init_fc."""
    out = []
    for i, c in enumerate(configs):
        if i in fail:
            out.append(None)
            continue
        e, s = c["epochs"], c["split"]
        r = [{"epoch": e, "split": s, "metric": "accuracy", "value": score(c)},
             {"epoch": e, "split": s, "metric": "accuracy_pruned", "value": score(c) - 0.01},
             {"epoch": e, "split": "-", "metric": "pruned_nodes", "value": 7},
             {"epoch": e, "split": "train", "metric": "loss", "value": 0.1},
             {"epoch": e, "split": "-", "metric": "cos_init_fc", "value": cos(c)}]
        df = results.tidy(r, study="sl1", dataset="mnist", model=f"lenet_sl1_{c['activation']}",
                          method=c["method"], seed=c["seed"])
        out.append(runs.Result(rows=df, artifacts={"group_norms": torch.rand(192)}))
    return runs.Sweep(configs, out, {}, [])


def test_selection_sees_validation_rows_only():
    base = sl1.tune_base_stage(P, **WHERE)
    best = {"activation": "sigmoid", "lr": 0.03}
    sw = fake_sweep(base, score=lambda c: 0.9 if (c["activation"], c["lr"]) == ("sigmoid", 0.03) else 0.8)
    assert "test" not in set(sw.frame["split"])
    chosen, table = sl1.choose_base(P, sw)
    assert chosen == best and table["chosen"].sum() == 1 and list(table["n"]) == [2, 2, 2, 2]
    # a test-split run among the candidates is refused, whatever its score
    leak = fake_sweep(base + [{**base[0], "split": "test"}])
    with pytest.raises(ValueError, match="split != 'val'"):
        sl1.choose_base(P, leak)
    # and the selection itself refuses a test row
    rows = sl1.config_rows(fake_sweep(base))
    rows.loc[0, "split"] = "test"
    with pytest.raises(ValueError, match="test-split row"):
        selection.choose(rows, sl1.base_grid(P), metric="accuracy")
    with pytest.raises(ValueError, match="never on test"):
        selection.choose(rows, sl1.base_grid(P), metric="accuracy", split="test")


def test_only_the_final_stage_carries_the_test_split():
    stages = {"tune_base": sl1.tune_base_stage(P, **WHERE),
              "tune_penalty": sl1.tune_penalty_stage(P, {"activation": "relu", "lr": 0.1}, **WHERE),
              "final": sl1.final_stage(P, CHOSEN, **WHERE),
              "alpha_sweep": sl1.alpha_sweep_stage(P, CHOSEN, **WHERE)}
    assert list(stages) == list(sl1.STAGES)
    assert {k: {c["split"] for c in v} for k, v in stages.items()} == {
        "tune_base": {"val"}, "tune_penalty": {"val"}, "final": {"test"}, "alpha_sweep": {"val"}}


def test_choose_penalties_per_method_and_failed_candidates_are_never_chosen():
    pen = sl1.tune_penalty_stage(P, {"activation": "relu", "lr": 0.1}, **WHERE)
    score = {("sl1", 1e-2, 0.1): 0.7, ("sl1", 1e-2, 0.01): 0.99, ("sl1", 1e-3, 0.1): 0.8, ("sl1", 1e-3, 0.01): 0.8,
             ("group_l1", 2e-3, None): 0.5, ("l2", 3e-3, None): 0.6, ("l2", 3e-4, None): 0.95}
    fail = [i for i, c in enumerate(pen) if (c["method"], c["lam"], c["alpha"]) == ("sl1", 1e-2, 0.01)]
    sw = fake_sweep(pen, score=lambda c: score[(c["method"], c["lam"], c["alpha"])], fail=fail)
    chosen, tables = sl1.choose_penalties(P, sw, {"activation": "relu", "lr": 0.1})
    # the failed (diverged) best setting is listed with n = 0 and not chosen; the tie 0.8 / 0.8 goes to the first
    assert chosen == {"activation": "relu", "lr": 0.1, "lam": {"none": None, "sl1": 1e-3, "group_l1": 2e-3,
                                                                "l2": 3e-4}, "alpha": 0.1}
    t = tables["sl1"]
    assert t.loc[t["alpha"] == 0.01].query("lam == 0.01")["n"].item() == 0
    assert list(tables) == ["sl1", "group_l1", "l2"]
    with pytest.raises(ValueError, match="no setting"):
        sl1.choose_base(P, fake_sweep(sl1.tune_base_stage(P, **WHERE), fail=range(8)))


@pytest.mark.needs_mnist
def test_validation_runs_never_load_the_test_split(monkeypatch):
    real = RUN._mnist_split

    def guarded(split):
        if split == "test":
            raise AssertionError("a validation run read the test split")
        return real(split)

    monkeypatch.setattr(RUN, "_mnist_split", guarded)
    out = sl1.run(tiny())
    assert set(out.rows["split"]) == {"train", "val", "-"}
    assert set(out.rows[out.rows.metric.isin(["accuracy", "accuracy_pruned"])]["split"]) == {"val", "train"}
    assert set(out.rows[(out.rows.split == "train") & (out.rows.metric == "accuracy")]["epoch"]) == {1}  # the gap
    x_tr, y_tr, x_val, y_val = sl1.mnist_tensors("val", None, None, 0)
    full = real("train")
    assert len(x_tr) == 50_000 and len(x_val) == 10_000
    assert torch.equal(y_val, full.labels[50_000:]) and torch.equal(y_tr, full.labels[:50_000])
    torch.testing.assert_close(x_val, full.subset(torch.arange(50_000, 60_000)).float(0.1307, 0.3081))


# ----------------------------------------------------------------------------------------------------------- run
@pytest.mark.needs_mnist
def test_mnist_tensors_subsets_are_seeded_and_standardised():
    a = sl1.mnist_tensors("test", 100, 50, 0)
    b = sl1.mnist_tensors("test", 100, 50, 0)
    c = sl1.mnist_tensors("test", 100, 50, 1)
    assert [t.shape for t in a] == [(100, 1, 28, 28), (100,), (50, 1, 28, 28), (50,)]
    assert all(torch.equal(s, t) for s, t in zip(a, b)) and not torch.equal(a[1], c[1])
    full = sl1.mnist_tensors("test", None, None, 0)
    assert len(full[0]) == sl1.MNIST_TRAIN and len(full[2]) == sl1.MNIST_TEST
    assert abs(full[0].mean().item()) < 1e-2 and abs(full[0].std().item() - 1) < 1e-2  # the training set's mean/std
    with pytest.raises(ValueError, match="eval_subset"):
        sl1.mnist_tensors("test", 10, 10_001, 0)
    with pytest.raises(ValueError, match="train_subset"):
        sl1.mnist_tensors("val", 50_001, 10, 0)
    with pytest.raises(ValueError, match="split"):
        sl1.mnist_tensors("train", 10, 10, 0)


@pytest.mark.needs_mnist
def test_run_rows_artifacts_and_pruning_are_consistent():
    cfg = tiny()
    out = sl1.run(cfg)
    df = out.rows
    assert list(df.columns) == results.COLUMNS
    assert df["value"].map(math.isfinite).all()
    assert set(df["method"]) == {"sl1"} and set(df["model"]) == {"lenet_sl1_relu"} and set(df["seed"]) == {5}
    assert {"loss", "objective", "accuracy", "pruned_nodes", "pruned_fraction", "accuracy_pruned",
            "tv_batch_loss", "tv_batch_penalty", "tv_batch_objective", "cos_init_fc", "loss_eval"} <= set(df.metric)
    norms = out.artifacts["group_norms"]
    assert norms.shape == (sl1.N_INPUT_NODES,) and norms.device.type == "cpu" and (norms >= 0).all()
    steps = math.ceil(96 / cfg["batch_size"]) * cfg["epochs"]
    bl, bo = out.artifacts["batch_loss"], out.artifacts["batch_objective"]
    assert bl.shape == bo.shape == (steps,) and (bo > bl).all()  # the SL1 penalty is positive
    last = df[df.epoch == 1].set_index(["split", "metric"])["value"]
    assert last[("-", "pruned_nodes")] == int((norms < cfg["prune_threshold"]).sum())
    assert last[("-", "pruned_fraction")] == pytest.approx(last[("-", "pruned_nodes")] / sl1.N_INPUT_NODES)
    assert last[("train", "tv_batch_loss")] == pytest.approx(sl1.total_variation(bl))
    assert last[("train", "tv_batch_objective")] == pytest.approx(sl1.total_variation(bo))
    # the epoch's training loss is the mean of its batches' data terms
    assert last[("train", "loss")] == pytest.approx(bl.mean().item(), rel=1e-5)
    assert last[("train", "objective")] > last[("train", "loss")]
    # the training check: cos(final, initial) of fc is a cosine, below 1 after training; train accuracy a fraction
    assert -1.0 <= last[("-", "cos_init_fc")] < 1.0 and 0.0 <= last[("train", "accuracy")] <= 1.0
    # threshold 0 prunes nothing (accuracy unchanged), a huge one prunes all 192 nodes
    none = sl1.run(tiny(prune_threshold=0.0)).rows.set_index(["split", "metric"])["value"]
    assert none[("-", "pruned_nodes")] == 0
    # (the pruned model is evaluated in the default memory format, training's evaluation in channels-last: allow
    # one validation image of difference for a tie broken the other way)
    acc = df[(df.metric == "accuracy") & (df.epoch == 1)].value.iloc[0]
    assert abs(none[("val", "accuracy_pruned")] - acc) <= 1 / 64
    assert sl1.run(tiny(prune_threshold=1e9)).rows.set_index("metric")["value"]["pruned_nodes"] == 192
    # an unpenalised run has a zero penalty curve
    plain = sl1.run(tiny(method="none", lam=None, alpha=None))
    assert torch.equal(plain.artifacts["batch_loss"], plain.artifacts["batch_objective"])


@pytest.mark.needs_mnist
def test_run_is_deterministic_and_depends_on_seed_method_and_alpha():
    def values(cfg):
        r = sl1.run(cfg)
        d = r.rows[r.rows.metric != "epoch_time_s"]  # wall time is a measurement
        return d.reset_index(drop=True), r.artifacts["group_norms"]

    a, na = values(tiny())
    b, nb = values(tiny())
    pd.testing.assert_frame_equal(a, b)
    assert torch.equal(na, nb)
    c, _ = values(tiny(seed=6))
    assert not a["value"].equals(c["value"])
    _, n_none = values(tiny(method="none", lam=None, alpha=None))
    assert not torch.equal(na, n_none)
    # α = 0 (SL1's limit) trains as group L1 at the same λ (to rounding: ‖u‖ is computed two ways)
    g0, n0 = values(tiny(alpha=0.0, lam=1e-2))
    gl, ngl = values(tiny(method="group_l1", alpha=None, lam=1e-2))
    pd.testing.assert_frame_equal(g0.drop(columns="method"), gl.drop(columns="method"))
    torch.testing.assert_close(n0, ngl)
    assert not torch.allclose(n0, values(tiny(alpha=1.0, lam=1e-2))[1])  # a large α trains differently


@pytest.mark.needs_mnist
def test_code_version_covers_the_science_not_the_analysis():
    src = runs.code_sources(sl1.run)
    for key in ("module study.penalties", "module study.models.lenet_sl1", "module study.losses",
                "module study.train", "module study.data", "module study.selection",
                "def study.experiments.sl1.run.mnist_tensors", "def study.experiments.sl1.run.penalty_hook",
                "def study.experiments.sl1.run.total_variation", "def study.experiments.sl1.run.tuning_split",
                "def study.experiments.sl1.run.RunConfig"):
        assert key in src
    assert not any(k.endswith((".claims", ".final_stage", ".select", ".choose_penalties", ".final_table",
                               ".plot_fig3", ".deviations")) for k in src)
    v = runs.code_version(sl1.run)
    sl1.mnist_tensors("val", 10, 10, 0)  # loading data must not change the key (no mutable state in the walk)
    assert runs.code_version(sl1.run) == v


# ------------------------------------------------------------------------------------------------------ analysis
def final_rows(method, seed, loss1, loss_e, acc, pruned, acc_pruned, epochs=4, gap=0.01, cos=0.5, tag=""):
    """A synthetic final-stage frame for one run: train loss at epoch 1 and `epochs`, test accuracy, pruning, the
    train accuracy (test accuracy + `gap`), cos_init_fc, and a ``run`` label (as `sl1.config_rows` gives)."""
    pen = 0.0 if method == "none" else 0.001  # the objective adds the method's own penalty to the data term
    r = [{"epoch": 1, "split": "train", "metric": "loss", "value": loss1},
         {"epoch": epochs, "split": "train", "metric": "loss", "value": loss_e},
         {"epoch": 1, "split": "train", "metric": "objective", "value": loss1 + pen},
         {"epoch": epochs, "split": "train", "metric": "objective", "value": loss_e + pen},
         {"epoch": epochs, "split": "test", "metric": "accuracy", "value": acc},
         {"epoch": epochs, "split": "train", "metric": "accuracy", "value": acc + gap},
         {"epoch": epochs, "split": "-", "metric": "pruned_nodes", "value": pruned},
         {"epoch": epochs, "split": "-", "metric": "cos_init_fc", "value": cos},
         {"epoch": epochs, "split": "test", "metric": "accuracy_pruned", "value": acc_pruned}]
    return results.tidy(r, study="sl1", dataset="mnist", model="lenet_sl1_relu", method=method, seed=seed
                        ).assign(run=f"{method}{tag}/seed={seed}")


def sweep_rows(tv, lam=1e-3):
    """A synthetic α-sweep frame: {α: [tv per seed]} of tv_batch_objective (with ``lam``, ``alpha``, ``run``)."""
    parts = [results.tidy([{"epoch": 2, "split": "train", "metric": "tv_batch_objective", "value": v}],
                          study="sl1", dataset="mnist", model="lenet_sl1_relu", method="sl1", seed=s
                          ).assign(lam=lam, alpha=a, run=f"sl1/lam={lam}/alpha={a}/seed={s}")
             for a, vs in tv.items() for s, v in enumerate(vs)]
    return pd.concat(parts, ignore_index=True)


def verdicts(final, sweep=None, methods=("none", "sl1", "l2"), alpha=0.01, epochs=4, **kw):
    out = sl1.judge_reading(final, sweep, methods=list(methods), epochs=epochs, chosen_alpha=alpha, **kw)
    for c in out:
        cl.check_claim(c)
    return [c["verdict"] for c in out], out


def best_sl1(tag="", sl1_gap=0.002):
    """Final rows where SL1 is clearly best in every respect (3 seeds; none and l2 behind)."""
    return pd.concat([final_rows("sl1", s, 0.10 + 0.001 * s, 0.05 + 0.001 * s, 0.990 + 0.001 * s, 40 + s,
                                 0.990 + 0.001 * s, gap=sl1_gap + 0.0001 * s, tag=tag) for s in range(3)]
                     + [final_rows(m, s, 0.20 + 0.002 * s, 0.08, 0.980 + 0.002 * s, 0, 0.980, gap=0.01 + 0.001 * s,
                                   tag=tag) for m in ("none", "l2") for s in range(3)])


def test_claims_reproduced_when_sl1_is_clearly_best():
    v, out = verdicts(best_sl1(), sweep_rows({0.0: [0.30, 0.31, 0.33], 0.01: [0.20, 0.22, 0.21]}))
    assert v == ["reproduced"] * 7  # Fig. 3 x2, precision, prunes, no cost, generalisation, smoothness
    assert [c["type"] for c in out] == ["ordering"] * 4 + ["point", "ordering", "ordering"]
    assert all(c["n"] == 3 and c["ci95"] is not None for c in out)
    assert out[0]["mean"] == pytest.approx(0.101)  # lowest other (none = l2) minus SL1, per seed
    assert out[4]["tolerance"] == 0.01 and out[4]["paper_value"] == 0.0
    assert out[5]["claim"] == sl1.GENERALISATION and out[5]["mean"] == pytest.approx(0.01 + 0.001 - 0.002 - 0.0001)
    # provenance: every judged claim names exactly the runs its values come from
    assert all(c["depends_on"] for c in out)
    assert out[0]["depends_on"] == sorted(f"{m}/seed={s}" for m in ("none", "sl1", "l2") for s in range(3))
    assert out[3]["depends_on"] == sorted(f"{m}/seed={s}" for m in ("none", "sl1") for s in range(3))
    assert out[4]["depends_on"] == [f"sl1/seed={s}" for s in range(3)]
    assert all("alpha=0.01" in r or "alpha=0.0" in r for r in out[6]["depends_on"]) and len(out[6]["depends_on"]) == 6
    # the error-function reading: Fig. 3 on eq. 7's objective (SL1's penalty is added, the gap stays)
    v2, out2 = verdicts(best_sl1(), None, error_function="objective")
    assert v2[:2] == ["reproduced"] * 2 and out2[0]["mean"] == pytest.approx(0.101 - 0.001)
    with pytest.raises(ValueError, match="error_function"):
        verdicts(best_sl1(), None, error_function="penalty")
    with pytest.raises(ValueError, match="run"):
        verdicts(best_sl1().drop(columns="run"), None)


def test_claims_not_reproduced_inconclusive_and_not_tested():
    # SL1 worse than L2 in every seed; pruning costs 5 points; no more pruned nodes than without penalty; SL1
    # overfits more than no penalty
    df = pd.concat([final_rows("sl1", s, 0.30, 0.10 + 0.001 * s, 0.95, 1, 0.90, gap=0.03 + 0.001 * s)
                    for s in range(3)]
                   + [final_rows("l2", s, 0.20, 0.05 + 0.002 * s, 0.97, 0, 0.97) for s in range(3)]
                   + [final_rows("none", s, 0.25, 0.06, 0.96, 3, 0.96) for s in range(3)])
    v, _ = verdicts(df, sweep_rows({0.0: [0.2, 0.2, 0.2], 0.01: [0.3, 0.3, 0.31]}))
    assert v == ["not reproduced"] * 7
    # differences that change sign over seeds are inconclusive; two seeds are inconclusive whatever the values
    df = pd.concat([final_rows("sl1", s, 0.20 + 0.05 * s, 0.05 + 0.05 * s, 0.98, 10 * s, 0.98, gap=0.01 * s)
                    for s in range(3)]
                   + [final_rows("none", s, 0.21 + 0.04 * s, 0.06 + 0.03 * s, 0.98 - 0.01 * (s - 1), 5, 0.98,
                                 gap=0.01) for s in range(3)])
    v, _ = verdicts(df, sweep_rows({0.0: [0.2, 0.3], 0.01: [0.25, 0.25]}), methods=("none", "sl1"))
    assert v[:4] == ["inconclusive"] * 4 and v[5:] == ["inconclusive"] * 2
    # without an α sweep, or without SL1, the claims are not tested (with the reason)
    v, out = verdicts(df, None, methods=("none", "sl1"))
    assert v[6] == "not tested" and "α sweep" in out[6]["note"]
    v, out = verdicts(df[df.method == "none"], None, methods=("none",))
    assert v == ["not tested"] * 7
    v, _ = verdicts(df, None, methods=("none", "sl1"), epochs=1)
    assert v[1] == "not tested"
    # nothing pruned in any seed: the "no accuracy lost by pruning" claim has nothing to test
    v, out = verdicts(df.assign(value=df["value"].where(df["metric"] != "pruned_nodes", 0.0)), None,
                      methods=("none", "sl1"))
    assert v[3:5] == ["not reproduced", "not tested"] and "pruned no node" in out[4]["note"]


def test_one_smoothness_claim_per_swept_lambda():
    df = pd.concat([final_rows(m, s, 0.2, 0.1, 0.98, 0, 0.98) for m in ("none", "sl1") for s in range(3)])
    sweep = pd.concat([sweep_rows({0.0: [0.3, 0.3, 0.3], 0.01: [0.3, 0.3, 0.3]}, lam=1e-3),
                       sweep_rows({0.0: [0.30, 0.31, 0.33], 0.01: [0.20, 0.22, 0.21], 0.1: [0.1] * 3}, lam=1e-2)])
    v, out = verdicts(df, sweep, methods=("none", "sl1"))
    smooth = [c for c in out if c["claim"].startswith("Smoothing")]
    assert [c["claim"].split(", at ")[1] for c in smooth] == ["λ = 0.001", "λ = 0.01"]
    assert [c["verdict"] for c in smooth] == ["not tested", "reproduced"]  # identical curves: SL1 = group L1 there
    tab = sl1.alpha_table(sweep.assign(metric="tv_batch_objective"))
    assert list(tab.index) == [(1e-3, 0.0), (1e-3, 0.01), (1e-2, 0.0), (1e-2, 0.01), (1e-2, 0.1)]


def test_config_rows_tables_and_metrics():
    fin = sl1.final_stage(params(methods=["none", "sl1"]), CHOSEN, **WHERE)
    sw = fake_sweep(fin, score=lambda c: 0.9 if c["method"] == "sl1" else 0.8)
    rows = sl1.config_rows(sw)
    assert {"activation", "lr", "lam", "alpha"} <= set(rows.columns)
    assert rows[rows.method == "none"]["lam"].isna().all() and set(rows[rows.method == "sl1"]["alpha"]) == {0.01}
    labelled = sl1.config_rows(sw, label=sl1.tune_label)
    assert set(labelled.method) == {"tune_none_relu_lr0.1", "tune_sl1_relu_lr0.1_lam0.001_alpha0.01"}
    assert sl1.sweep_label(0.01, 0.0) == "sl1_lam0.01_alpha0" and sl1.sweep_label(3e-4, 0.1) == "sl1_lam0.0003_alpha0.1"
    m = sl1.metrics(sw.frame)
    assert m["test_accuracy/sl1"]["mean"] == pytest.approx(0.9) and m["test_accuracy/sl1"]["n"] == 3
    assert m["pruned_nodes/none"]["unit"] == "nodes"
    norms = sl1.group_norm_frame(sw)
    assert len(norms) == 6 * 192 and set(norms.method) == {"none", "sl1"}


def test_deviations_are_rows_that_say_what_the_paper_does_not_give():
    p = params(momentum_ramp_epochs=6, epochs=4, tune_epochs=2)
    rows = sl1.deviations(p, CHOSEN, n_train=512, n_test=500)
    for r in rows:
        assert set(r) == set(cl.DEVIATION_FIELDS) and all(isinstance(v, str) and v for v in r.values())
    by = {r["setting"]: r for r in rows}
    assert by["learning rate, λ, α, activation"]["paper"].startswith("not given")
    assert "activation relu, lr 0.1" in by["learning rate, λ, α, activation"]["ours"]
    assert "validation" in by["learning rate, λ, α, activation"]["ours"]
    assert by["epochs"]["paper"] == "not given" and by["batch size"]["paper"] == "not given"
    assert "final runs (4 epochs) reach 0.133333" in by["momentum schedule"]["ours"]
    assert "candidate runs (2 epochs) reach 0.0666667" in by["momentum schedule"]["ours"]
    assert "data size" in by  # subsets
    full = sl1.deviations(P, CHOSEN, n_train=60_000, n_test=10_000)
    assert "data size" not in {r["setting"] for r in full}
    assert not any("leak" in r["ours"] for r in full)  # the leak is fixed; the why column says what was replaced


# ------------------------------------------------------------------------------------------------- readings
BASE_LRS = {"relu": 0.1, "sigmoid": 0.03}
CHOICE_FIELDS = {"alpha": {"alpha"}, "activation": {"activation", "lr"},
                 "momentum": {"momentum_schedule", "momentum_final"}}


def test_reading_plan_changes_one_choice_per_reading():
    plan = sl1.reading_plan(P, CHOSEN, BASE_LRS, **WHERE)
    assert list(plan) == ["headline", "alpha=0", "alpha=0.1", "activation=sigmoid", "momentum=ramp_from"]
    assert sl1.headline_keys(P, CHOSEN) == ["alpha=0.01", "activation=relu", "momentum=ramp_to",
                                                   "error_function=data_term"]
    head = {(c["method"], c["seed"]): c for c in plan["headline"]}
    assert plan["headline"] == sl1.final_stage(P, CHOSEN, **WHERE)
    assert {c["momentum_schedule"] for c in plan["headline"]} == {"ramp_to"}
    for key, cfgs in plan.items():
        assert {c["split"] for c in cfgs} == {"test"} and len(cfgs) == len(plan["headline"])
        if key == "headline":
            continue
        choice, value = key.split("=")
        changed = set()
        for c in cfgs:  # each run differs from its headline twin in the fields of one choice only
            diff = {k for k in c if c[k] != head[(c["method"], c["seed"])][k]}
            assert diff <= CHOICE_FIELDS[choice], (key, diff)
            changed |= diff
            if choice == "alpha":  # only SL1's runs change with α
                assert bool(diff) == (c["method"] == "sl1")
        assert changed, key
    assert {c["alpha"] for c in plan["alpha=0"] if c["method"] == "sl1"} == {0.0}
    assert {(c["activation"], c["lr"]) for c in plan["activation=sigmoid"]} == {("sigmoid", 0.03)}
    assert {(c["momentum_schedule"], c["momentum_final"]) for c in plan["momentum=ramp_from"]} == {("ramp_from", 0.9)}
    # shared runs are one config: 12 headline + 2 x 3 SL1 α runs + 12 + 12
    assert len(sl1.plan_configs(plan)) == 42
    # a profile that varies nothing has the headline only (and the error-function reading, which needs no run)
    one = params(reading_alphas=[], activations=["relu"], momentum_readings=["ramp_to"])
    assert list(sl1.reading_plan(one, CHOSEN, BASE_LRS, **WHERE)) == ["headline"]
    assert sl1.headline_keys(one, CHOSEN) == ["error_function=data_term"]
    with pytest.raises(ValueError, match="base_lrs"):
        sl1.reading_plan(P, CHOSEN, {"relu": 0.1}, **WHERE)


def frames_where(sl1_best_under):
    """Synthetic reading frames: SL1 clearly best under the readings in `sl1_best_under`, clearly worst otherwise
    (accuracy, errors, pruning and gap all flipped)."""
    worst = pd.concat([final_rows("sl1", s, 0.30, 0.10 + 0.001 * s, 0.95 - 0.001 * s, 0, 0.90, gap=0.03)
                       for s in range(3)]
                      + [final_rows(m, s, 0.20, 0.05, 0.98, 3, 0.98, gap=0.01 + 0.001 * s)
                         for m in ("none", "l2") for s in range(3)])
    keys = ["headline", "alpha=0", "alpha=0.1", "activation=sigmoid", "momentum=ramp_from"]
    return {k: (best_sl1() if k in sl1_best_under else worst).assign(run=lambda d, k=k: d["run"] + "@" + k)
            for k in keys}


def test_every_claim_is_judged_under_every_reading():
    frames = frames_where({"headline", "alpha=0.1", "momentum=ramp_from"})
    sweep = sweep_rows({0.0: [0.30, 0.31, 0.33], 0.01: [0.20, 0.22, 0.21], 0.1: [0.4, 0.41, 0.42]})
    keys = sl1.headline_keys(P, CHOSEN)
    out = sl1.judge(frames, sweep, methods=["none", "sl1", "l2"], epochs=4, chosen=CHOSEN, keys=keys)
    for c in out:
        cl.check_claim(c)
    judged = [c for c in out if c["verdict"] != "not tested"]
    assert len(judged) == 7 and all(c["depends_on"] for c in judged)
    assert all(r.endswith("@headline") for c in judged[:6] for r in c["depends_on"])  # the headline's runs only
    for c in judged:
        alpha = [k for k in c["readings"] if k.startswith("alpha=")]
        assert len(alpha) >= 2 and "alpha=0.01" in alpha, c["claim"]  # the headline α is a reading too
        assert c["readings"]["alpha=0.01"]["verdict"] == c["verdict"]
        assert ("error_function=objective" in c["readings"]) == c["claim"].startswith("Fig. 3")
    by = {c["claim"]: c for c in out}
    prec = by["SL1 achieves higher precision (highest test accuracy)"]
    assert prec["verdict"] == "reproduced" and prec["robustness"] == "reading-dependent"
    assert prec["flipped_by"] == ["activation=sigmoid", "alpha=0"]
    assert {k: r["verdict"] for k, r in prec["readings"].items()} == {
        "alpha=0.01": "reproduced", "alpha=0": "not reproduced", "alpha=0.1": "reproduced",
        "activation=relu": "reproduced", "activation=sigmoid": "not reproduced", "momentum=ramp_to": "reproduced",
        "momentum=ramp_from": "reproduced"}
    smooth = next(c for c in judged if c["claim"].startswith("Smoothing"))
    assert set(smooth["readings"]) == {"alpha=0", "alpha=0.01", "alpha=0.1"}  # only the α sweep varies it
    assert smooth["readings"]["alpha=0"]["verdict"] == "not tested"  # α = 0 against itself: vacuous
    assert smooth["readings"]["alpha=0.1"]["verdict"] == "not reproduced"
    # under readings that all agree, every claim is robust
    same = sl1.judge(frames_where(set(frames)), None, methods=["none", "sl1", "l2"], epochs=4,
                                    chosen=CHOSEN, keys=keys)
    assert {c["robustness"] for c in same if c["verdict"] != "not tested"} == {"robust"}
    tab = cl.readings_table(out)
    assert list(tab.index) == [c["claim"] for c in out]
    assert tab.loc[prec["claim"], "activation=sigmoid"] == "not reproduced"
    rec = sl1.readings_record(P, CHOSEN, frames)
    assert set(rec) == {"alpha", "activation", "momentum", "error_function"}
    assert rec["alpha"]["readings"] == ["0", "0.01", "0.1"] and rec["alpha"]["headline"] == "0.01"
    assert rec["momentum"]["headline"] == "ramp_to" and all(r["why"] for r in rec.values())


def test_training_checks_and_the_equal_lambda_ablation():
    frames = frames_where({"headline", "alpha=0"})
    frames["alpha=0.1"] = frames["alpha=0.1"].assign(  # SL1's fc layer barely moved under this reading
        value=lambda d: d["value"].where(~((d.metric == "cos_init_fc") & (d.method == "sl1")), 0.99))
    checks = {c["reading"]: c for c in sl1.training_checks(frames)}
    assert set(checks) == set(frames) and checks["headline"]["headline"] and not checks["alpha=0"]["headline"]
    assert checks["headline"]["trains"] and checks["headline"]["ratio"] == pytest.approx(1.0)
    assert not checks["alpha=0.1"]["trains"] and checks["alpha=0.1"]["ratio"] == pytest.approx(0.02)
    # SL1 at the chosen α against SL1 at α = 0 (group L1) at the same λ: per-seed differences of the same runs
    frames["alpha=0"] = frames["alpha=0"].assign(value=lambda d: d["value"].where(
        ~((d.metric == "pruned_nodes") & (d.method == "sl1")), d["value"] + 5))
    ab = sl1.equal_lambda_ablation(frames, CHOSEN).set_index("quantity")
    assert ab.loc["pruned nodes", "mean"] == pytest.approx(-5.0) and ab.loc["pruned nodes", "n"] == 3
    assert ab.loc["test accuracy", "mean"] == pytest.approx(0.0) and "[our extension]" in ab["comparison"].iloc[0]
    assert sl1.equal_lambda_ablation({k: v for k, v in frames.items() if k != "alpha=0"}, CHOSEN).empty


def test_momentum_readings():
    to, fr = sl1.momentum_schedule("ramp_to", 0.2, 3, None), sl1.momentum_schedule("ramp_from", 0.2, 3, 0.9)
    assert [to(e) for e in range(1, 6)] == pytest.approx([0.2 / 3, 0.4 / 3, 0.2, 0.2, 0.2])
    assert [fr(e) for e in range(1, 6)] == pytest.approx([0.2, 0.2 + 0.7 / 3, 0.2 + 1.4 / 3, 0.9, 0.9])
    assert sl1.momentum_schedule("ramp_from", 0.2, 0, 0.9)(1) == 0.9
    for kind, final, name in (("ramp_to", 0.9, "momentum_final"), ("ramp_from", 0.1, "momentum_final"),
                              ("ramp_from", None, "momentum_final"), ("cosine", None, "momentum_schedule")):
        with pytest.raises(ValueError, match=name):
            sl1.momentum_schedule(kind, 0.2, 3, final)
    for over in ({"momentum_schedule": "ramp_to", "momentum_final": 0.9},
                 {"momentum_schedule": "ramp_from", "momentum_final": None},
                 {"momentum_schedule": "ramp_from", "momentum_final": 0.1}):
        with pytest.raises(ValueError, match="momentum_final"):
            parse(sl1.RunConfig, tiny(**over))
    with pytest.raises(ValueError, match="momentum_schedule"):
        parse(sl1.RunConfig, tiny(momentum_schedule="cosine"))


def test_candidates_that_do_not_train_fc_are_left_out_and_grid_edges_are_reported():
    base = {"activation": "relu", "lr": 0.1}
    s1 = fake_sweep(sl1.tune_base_stage(P, **WHERE), cos=lambda c: 0.6)  # baseline 1 − cos = 0.4
    pen = sl1.tune_penalty_stage(P, base, **WHERE)
    # the strongest SL1 and L2 settings score best but barely move fc (1 − cos = 0.1 < 0.5 × 0.4)
    frozen = lambda c: c["lam"] in (1e-2, 3e-3)  # noqa: E731
    sw = fake_sweep(pen, score=lambda c: 0.9, cos=lambda c: 0.9 if frozen(c) else 0.6)
    chosen, tables = sl1.choose_penalties(P, sw, base, s1)
    assert chosen["lam"] == {"none": None, "sl1": 1e-3, "group_l1": 2e-3, "l2": 3e-4}
    t = tables["sl1"]
    assert list(t.loc[t["lam"] == 1e-2, "trains_fc"]) == [False, False] and t.loc[t["lam"] == 1e-2, "n"].eq(0).all()
    assert t.loc[t["chosen"], "moved_fc"].item() == pytest.approx(0.4)
    assert sl1.choose_penalties(P, sw, base)[0]["lam"]["sl1"] == 1e-2  # without the check: the strongest
    with pytest.raises(ValueError, match="trains the fc layer"):
        sl1.choose_penalties(P, fake_sweep(pen, cos=lambda c: 0.99), base, s1)
    assert sl1.lambda_edges(P, chosen) == {"sl1": "smallest of the grid", "group_l1": "only value",
                                                  "l2": "smallest of the grid"}
    wide = params(lams_sl1=[1e-2, 1e-3, 1e-4])
    assert sl1.lambda_edges(wide, {**chosen, "lam": {**chosen["lam"], "sl1": 1e-3}})["sl1"] == "inside"
    assert sl1.lambda_edges(wide, {**chosen, "lam": {**chosen["lam"], "sl1": 1e-2}})["sl1"] == "largest of the grid"


def test_a_diverged_or_failed_reading_run_touches_only_that_reading():
    frames = frames_where(set(["headline", "alpha=0", "alpha=0.1", "activation=sigmoid", "momentum=ramp_from"]))
    keys = sl1.headline_keys(P, CHOSEN)
    kw = dict(methods=["none", "sl1", "l2"], epochs=4, chosen=CHOSEN, keys=keys)
    # one SL1 run of the momentum reading diverged: that reading's SL1 claims are inconclusive, the headline keeps
    # its verdicts, and the claims whose runs in that reading did not diverge are untouched
    out = sl1.judge(frames, None, diverged={"sl1/seed=1@momentum=ramp_from"}, **kw)
    for c in out:
        if c["verdict"] == "not tested":
            continue
        assert c["verdict"] == "reproduced"
        assert c["readings"]["momentum=ramp_from"]["verdict"] == "inconclusive"
        assert c["robustness"] == "reading-dependent" and c["flipped_by"] == ["momentum=ramp_from"]
    # every run of a reading failed: its claims are not tested there and do not decide robustness
    gone = {**frames, "activation=sigmoid": frames["activation=sigmoid"].iloc[0:0]}
    out = sl1.judge(gone, None, **kw)
    judged = [c for c in out if c["verdict"] != "not tested"]
    assert judged and all(c["readings"]["activation=sigmoid"]["verdict"] == "not tested" for c in judged)
    assert {c["robustness"] for c in judged} == {"robust"}
