"""study.experiments.mi (notebook 03, Zaugg et al.): the plan, the run on tiny configs, s*, the derived MI rows and
the claim rules on synthetic frames."""
import math

import numpy as np
import pandas as pd
import pytest
import torch

from study import claims, data, results, runs
from study.experiments import mi

PARAMS = dict(datasets=["mnist", "fashion-mnist"], train_per_class=2, val_per_class=1, test_per_class=2, seeds=[0, 1],
              epochs=1, batch_size=10, lr_grid=[0.01, 0.03], momentum=0.9, alpha=1.01, yhat_layer="softmax",
              width_low=0.02, width_high=2.0, n_widths=20, layer_width_rel=[0.05, 3.0], mi_eval_per_class=2, grad_batches=1,
              info_plane=True, resnet=True, resnet_stem="small", resnet_datasets=["mnist"], resnet_seeds=[0],
              resnet_epochs=1, resnet_train_per_class=1, resnet_test_per_class=1, resnet_eval_per_class=1,
              resnet_lr=0.01, resnet_bn_cumulative=True, bench_sizes=[50], bench_repeats=1)
S_STAR = {("shallow", "mnist"): 0.5, ("shallow", "fashion-mnist"): 0.6, ("resnet18", "mnist"): 0.7}
LR = {"mnist": 0.01, "fashion-mnist": 0.03}


def have_data():
    try:
        for name in ("mnist", "fashion-mnist"):
            data.verify(name)
        return True
    except data.DataError:
        return False


needs_data = pytest.mark.skipif(not have_data(), reason="MNIST / Fashion-MNIST not under data/ (run `make data`)")


# ------------------------------------------------------------------------------------------------------------ plan
def test_plan_counts_seeds_and_keys():
    ce = mi.plan(PARAMS, method="ce", seed=3, device="cpu", lr=LR)
    assert len(ce) == 2 * 2 + 1 * 1
    assert [(c["model"], c["dataset"], c["seed"]) for c in ce] == [
        ("shallow", "mnist", 3), ("shallow", "mnist", 4), ("shallow", "fashion-mnist", 3),
        ("shallow", "fashion-mnist", 4), ("resnet18", "mnist", 3)]
    assert all(c["data_seed"] == 3 and c["method"] == "ce" and c["s_star"] is None for c in ce)
    assert [c["info_plane"] for c in ce] == [True, False, True, False, False]  # first shallow seed only
    assert all(c["resnet_stem"] is None for c in ce if c["model"] == "shallow")
    assert all(c["resnet_stem"] == "small" and c["lr"] == PARAMS["resnet_lr"] for c in ce if c["model"] == "resnet18")
    assert [c["lr"] for c in ce if c["model"] == "shallow"] == [0.01, 0.01, 0.03, 0.03]   # the rate chosen per data set
    assert not any(c["tuning"] for c in ce)
    with pytest.raises(ValueError, match="no learning rate for data set"):
        mi.plan(PARAMS, method="ce", seed=0, device="cpu", lr={"mnist": 0.01})
    assert all(set(c) == set(mi.CONFIG_KEYS) for c in ce)
    assert len({runs.canonical(c) for c in ce}) == len(ce)  # plain JSON, all distinct


def test_plan_mi_needs_s_star_and_carries_it():
    with pytest.raises(ValueError, match="s_star"):
        mi.plan(PARAMS, method="mi", seed=0, device="cpu", lr=LR)
    l_plan = mi.plan(PARAMS, method="mi", seed=0, device="cpu", lr=LR, s_star=S_STAR)
    assert [c["s_star"] for c in l_plan] == [0.5, 0.5, 0.6, 0.6, 0.7]
    assert len(mi.plan({**PARAMS, "resnet": False}, method="ce", seed=0, device="cpu", lr=LR)) == 4


def test_plan_rejects_bad_parameters():
    with pytest.raises(ValueError, match="method"):
        mi.plan(PARAMS, method="l2", seed=0, device="cpu", lr=LR)
    with pytest.raises(ValueError, match="resnet_datasets"):
        mi.plan({**PARAMS, "datasets": ["fashion-mnist"]}, method="ce", seed=0, device="cpu", lr=LR)
    with pytest.raises(ValueError, match="device"):
        mi.plan(PARAMS, method="ce", seed=0, device="auto", lr=LR)
    with pytest.raises(ValueError, match=r"missing parameter\(s\) \['alpha'\]"):
        mi.plan({k: v for k, v in PARAMS.items() if k != "alpha"}, method="ce", seed=0, device="cpu", lr=LR)
    with pytest.raises(ValueError, match="seeds=\\[\\]"):          # checked by `check_params` inside `plan`
        mi.plan({**PARAMS, "seeds": []}, method="ce", seed=0, device="cpu", lr=LR)


@pytest.mark.parametrize("key, value", [("epochs", 0), ("batch_size", 1), ("lr", -0.1), ("momentum", 1.0),
                                        ("yhat_layer", "probs"), ("layer_width_rel", [3.0, 0.05]),
                                        ("width_high", 0.01), ("s_star", 0.5), ("model", "vgg"),
                                        ("dataset", "cifar10"), ("resnet_stem", "small")])
def test_check_config_names_the_bad_key(key, value):
    cfg = mi.plan(PARAMS, method="ce", seed=0, device="cpu", lr=LR)[0]
    with pytest.raises(ValueError, match=key):
        mi.check_config({**cfg, key: value})
    with pytest.raises(ValueError, match="unknown keys"):
        mi.check_config({**cfg, "extra": 1})


# ------------------------------------------------------------------------------------------------------------- run
@needs_data
def test_run_tiny_rows_artifacts_and_determinism():
    cfg = mi.plan(PARAMS, method="mi", seed=0, device="cpu", lr=LR, s_star=S_STAR)[0]
    a, b = mi.run(cfg), mi.run(dict(cfg))
    rows = a.rows
    assert list(rows.columns) == results.COLUMNS
    assert np.isfinite(rows["value"]).all()
    metrics = set(rows.metric)
    assert {"accuracy", "ce_nats", "width_best_yhat", "f_transition", "mi_yx_bits", "grad_norm_mi", "objective_batches",
            "epoch_time_s", "plane_ixt_bits/conv1", "plane_ity_bits/yhat", "plane_width/x"} <= metrics
    assert set(rows.epoch) == {0, 1} and set(rows.split) == {"train", "val", "test", "-"}
    acc = rows[rows.metric == "accuracy"]["value"]
    assert ((acc >= 0) & (acc <= 1)).all()
    assert set(rows[rows.metric == "grad_norm_mi"].epoch) == {0, 1}   # epoch 0 too (Fig. 6: vanishes at epoch 0)
    iyx = rows[rows.metric == "mi_yx_bits"]["value"]
    assert (iyx >= 0).all() and (iyx <= math.log2(10) + 1e-9).all()  # I(Y;X) <= H(Y) for a balanced batch
    art = a.artifacts
    assert art["yhat"]["train"].shape == (2, 20, 10) and art["yhat"]["test"].shape == (2, 20, 10)
    assert torch.allclose(art["yhat"]["train"].sum(-1), torch.ones(2, 20))  # softmax rows
    assert art["alignment"].shape == (2, 20) and art["width_best"].shape == (2,)
    # a pure function of its config: same rows (timings aside) and artifacts
    keep = lambda r: r.rows[r.rows.metric != "epoch_time_s"].reset_index(drop=True)  # noqa: E731
    pd.testing.assert_frame_equal(keep(a), keep(b))
    assert torch.equal(a.artifacts["yhat"]["test"], b.artifacts["yhat"]["test"])
    # ... and the seed matters
    c = mi.run({**cfg, "seed": cfg["seed"] + 1})
    assert not torch.equal(a.artifacts["yhat"]["test"][0], c.artifacts["yhat"]["test"][0])


@needs_data
def test_silverman_frame_gives_the_second_dpi_convention():
    cfg = mi.plan(PARAMS, method="ce", seed=0, device="cpu", lr=LR)[1]    # shallow CNN, no information plane
    res = mi.run(cfg)
    out = mi.silverman_frame([cfg, cfg], [res.artifacts, None])          # a failed run (None) is skipped
    assert set(out.metric) == {"mi_yyhat_silverman_bits", "mi_yx_silverman_bits"} and set(out.split) == {"train"}
    assert len(out) == 2 * (cfg["epochs"] + 1)
    assert ((out.value >= -1e-9) & (out.value <= math.log2(10) + 1e-9)).all()   # 0 <= I <= H(Y), balanced batch
    assert out[out.metric == "mi_yx_silverman_bits"].value.nunique() == 1       # X does not change


@needs_data
def test_run_tiny_resnet18_ce():
    cfg = mi.plan(PARAMS, method="ce", seed=0, device="cpu", lr=LR)[-1]
    assert cfg["model"] == "resnet18"
    res = mi.run(cfg)
    rows = res.rows
    assert list(rows.columns) == results.COLUMNS and np.isfinite(rows["value"]).all()
    assert set(rows.split) == {"train", "test", "-"}                # no validation set for ResNet18
    assert not rows.metric.str.startswith(("plane_", "grad_norm")).any()  # CE run, no information plane
    assert res.artifacts["yhat"]["train"].shape == (2, 10, 10)     # 1 evaluation image per class, epochs 0 and 1


@needs_data
def test_resnet_subsets_come_from_the_shallow_subsets():
    key = (0, ("mnist", "fashion-mnist"), 2, 1, 2, 2)
    base = mi.subsets(*key)["mnist"]
    rs = mi.resnet_subsets(*key, "mnist", 1, 1, 1)
    assert "val" not in rs and torch.bincount(rs["train"][1], minlength=10).tolist() == [1] * 10
    flat = {tuple(x.flatten().tolist()) for x in base["train"][0]}
    assert all(tuple(x.flatten().tolist()) in flat for x in rs["train"][0])
    assert not set(base["indices"]["train"]) & set(base["indices"]["val"])
    with pytest.raises(ValueError, match="dataset"):
        mi.resnet_subsets(0, ("mnist",), 2, 1, 2, 2, "fashion-mnist", 1, 1, 1)


# ------------------------------------------------------------------------------------------------ s* and derived MI
def fake_artifacts(best, widths=(0.1, 0.2, 0.3, 0.4)):
    return {"widths": torch.tensor(widths, dtype=torch.float64), "width_best": np.asarray(best, dtype=np.float64)}


def test_width_star_is_the_mean_of_ce_maximisers_after_epoch_0():
    cfgs = [{"model": "shallow", "dataset": "mnist", "method": m, "seed": s} for m, s in
            (("ce", 0), ("ce", 1), ("mi", 0))]
    arts = [fake_artifacts([9.0, 0.2, 0.4]), fake_artifacts([9.0, 0.3, 0.1]), fake_artifacts([5.0, 5.0, 5.0])]
    s_star, at_edge = mi.width_star(cfgs, arts)
    assert s_star == {("shallow", "mnist"): pytest.approx(0.25)}
    assert at_edge == {("shallow", "mnist"): pytest.approx(0.5)}  # 0.4 and 0.1 are the interval's ends
    with pytest.raises(ValueError, match="CE run"):
        mi.width_star(cfgs, [None, *arts[1:]])


def test_information_frame_perfect_predictions_reach_h_y():
    y = torch.arange(20) % 10
    perfect = torch.nn.functional.one_hot(y, 10).float()
    blind = torch.full((20, 10), 0.1)
    cfg = {"model": "shallow", "dataset": "mnist", "method": "ce", "seed": 0, "batch_size": 10, "alpha": 1.01}
    art = {"yhat": {"train": torch.stack([blind, perfect])}, "y_mi": {"train": y}}
    out = mi.information_frame([cfg], [art], {("shallow", "mnist"): 0.1})
    assert list(out.columns) == results.COLUMNS and set(out.metric) == {"mi_yyhat_bits"}
    v = out.set_index("epoch")["value"]
    assert v[0] == pytest.approx(0.0, abs=1e-9)              # constant predictions carry no information
    assert v[1] == pytest.approx(math.log2(10), abs=1e-6)    # one-hot of the labels: I(Y;Ŷ) = H(Y)


def test_objective_frame_is_eq7():
    rows = [{"dataset": "mnist", "model": "shallow", "method": "mi", "seed": 0, "epoch": e, "split": "train",
             "metric": m, "value": v} for e in (0, 3) for m, v in (("ce_nats", 2.0), ("mi_yyhat_bits", 1.5))]
    out = mi.objective_frame(results.tidy(rows, study=mi.STUDY)).set_index("epoch")["value"]
    f3 = (1 + 2) ** -0.5  # the model of epoch 3 was trained with f(epoch 2), epochs of eq. 7 counted from 0
    assert out[0] == pytest.approx(2.0)
    assert out[3] == pytest.approx(f3 * 2.0 - (1 - f3) * 1.5)


# ------------------------------------------------------------------------------------- learning-rate selection
def test_tuning_plan_is_ce_shallow_per_rate_and_data_set():
    tp = mi.tuning_plan(PARAMS, seed=0, device="cpu")
    assert [(c["dataset"], c["lr"]) for c in tp] == [("mnist", 0.01), ("mnist", 0.03), ("fashion-mnist", 0.01),
                                                     ("fashion-mnist", 0.03)]
    assert all(c["tuning"] and c["method"] == "ce" and c["model"] == "shallow" and not c["info_plane"] for c in tp)
    with pytest.raises(ValueError, match="tuning"):
        mi.check_config({**mi.plan(PARAMS, method="mi", seed=0, device="cpu", lr=LR, s_star=S_STAR)[0],
                         "tuning": True})


def test_choose_lr_picks_by_validation_accuracy_and_never_sees_test():
    acc = {("mnist", 0.01): 0.90, ("mnist", 0.03): 0.95, ("fashion-mnist", 0.01): 0.85, ("fashion-mnist", 0.03): 0.80}
    rows = [dict(dataset=n, seed=0, epoch=e, split="val", metric="accuracy", value=a if e else 0.1)
            for (n, _), a in acc.items() for e in (0, 1)]
    frames = [results.tidy([r for r in rows[2 * i:2 * i + 2]], study=mi.STUDY, model="shallow", method="ce")
              for i in range(4)]
    cfgs = [{"lr": lr} for (_, lr) in acc]
    chosen, table = mi.choose_lr(mi.tuning_frame(cfgs, frames), PARAMS)
    assert chosen == {"mnist": 0.03, "fashion-mnist": 0.01}      # judged at the last epoch, on val
    assert table["chosen"].sum() == 2 and set(table.dataset) == {"mnist", "fashion-mnist"}
    # a test row anywhere in the candidates' rows: the selection refuses to look
    leak = frames[0].iloc[[1]].assign(split="test", value=1.0)
    with pytest.raises(ValueError, match="test"):
        mi.choose_lr(mi.tuning_frame(cfgs, [pd.concat([frames[0], leak]), *frames[1:]]), PARAMS)


@needs_data
def test_tuning_run_has_validation_rows_only():
    cfg = {**mi.tuning_plan(PARAMS, seed=0, device="cpu")[0]}
    res = mi.run(cfg)
    assert "test" not in set(res.rows.split) and "val" in set(res.rows.split)
    assert set(res.rows[res.rows.split == "val"].metric) == {"accuracy", "ce_nats"}
    assert res.artifacts == {}


# ---------------------------------------------------------------------------------------------------------- claims
TESTED = {**PARAMS, "epochs": 12, "train_per_class": 100, "val_per_class": 10, "test_per_class": 20, "seeds": [0, 1, 2],
          "datasets": ["mnist"], "resnet": False, "resnet_datasets": [], "resnet_seeds": []}


def synthetic_frame(mi_rises=True, gap_ce=0.5, gap_l=0.1, grad_decay=True, violations=0, epochs=12, seeds=(0, 1, 2),
                    silverman_violations=0):
    """A tidy frame for the shallow CNN on MNIST with every metric `claims_list` reads."""
    rows = []
    for method in ("ce", "mi"):
        for s in seeds:
            for e in range(epochs + 1):
                jitter = 0.001 * s
                i = (1.0 + 0.2 * e if mi_rises else 3.0 - 0.2 * e) + jitter
                ce = 2.3 - 0.15 * e + jitter
                gap = (gap_ce if method == "ce" else gap_l) + 0.01 * s
                rows += [dict(method=method, seed=s, epoch=e, split="train", metric="mi_yyhat_bits", value=i),
                         dict(method=method, seed=s, epoch=e, split="test", metric="mi_yyhat_bits", value=i - 0.1),
                         dict(method=method, seed=s, epoch=e, split="train", metric="mi_yx_bits",
                              value=i - 1.0 if e < violations else 9.0),
                         dict(method=method, seed=s, epoch=e, split="train", metric="mi_yyhat_silverman_bits",
                              value=1.0),
                         dict(method=method, seed=s, epoch=e, split="train", metric="mi_yx_silverman_bits",
                              value=0.5 if e < silverman_violations else 3.3),
                         dict(method=method, seed=s, epoch=e, split="train", metric="ce_nats", value=ce),
                         dict(method=method, seed=s, epoch=e, split="test", metric="ce_nats", value=ce + gap),
                         dict(method=method, seed=s, epoch=e, split="test", metric="accuracy", value=0.9)]
                if e >= 1:
                    rows.append(dict(method=method, seed=s, epoch=e, split="-", metric="epoch_time_s",
                                     value=1.2 if method == "mi" else 1.0))
                if method == "mi":  # bump: small at epoch 0, peak at 2, then decays (or stays up)
                    g = 0.01 if e == 0 else (1.0 / (1 + abs(e - 2)) ** 2 if grad_decay else 1.0 - 0.01 * e)
                    rows.append(dict(method=method, seed=s, epoch=e, split="train", metric="grad_norm_mi",
                                     value=g * (1 + 0.01 * s)))
    df = results.tidy(rows, study=mi.STUDY, dataset="mnist", model="shallow")
    return pd.concat([df, mi.objective_frame(df)], ignore_index=True)


def verdicts(df, params=TESTED):
    out = mi.claims_list(df, mi.check_params(params))
    for c in out:
        claims.check_claim(c)   # every row carries the headline fields
    return {c["claim"].split(":")[0] + (" silverman" if "Silverman" in c["claim"] else "")
            + (" epoch0" if "epoch 0" in c["claim"] else ""): c for c in out}


def test_claims_reproduced_on_a_frame_that_shows_the_papers_effects():
    v = {k: c["verdict"] for k, c in verdicts(synthetic_frame()).items()}
    assert v["Fig. 3 (shallow, mnist)"] == v["Fig. 4 (shallow, mnist)"] == "reproduced"
    assert v["Fig. 5 (shallow, mnist)"] == "reproduced"        # CE gap 0.5 vs L gap 0.1, every seed
    assert v["Fig. 6a (shallow, mnist)"] == "reproduced"       # last/peak = 1/121
    assert v["Fig. 6 (shallow, mnist) epoch0"] == "reproduced"  # 0.01 of the peak at epoch 0
    assert v["Fig. 3 (shallow)"] == v["Fig. 3 (shallow) silverman"] == "reproduced"   # DPI, both conventions
    assert not any(k.startswith("cost") for k in v)            # our speed target is not a paper claim


def test_claims_not_reproduced_when_the_effects_are_absent():
    v = {k: c["verdict"] for k, c in verdicts(synthetic_frame(mi_rises=False, gap_l=0.6, grad_decay=False,
                                                              violations=13, silverman_violations=0)).items()}
    assert v["Fig. 3 (shallow, mnist)"] == "not reproduced"
    assert v["Fig. 5 (shallow, mnist)"] == "not reproduced"
    assert v["Fig. 6a (shallow, mnist)"] == "not reproduced"   # last/peak ≈ 0.89
    assert v["Fig. 3 (shallow)"] == "not reproduced"           # every epoch violates with alignment widths ...
    assert v["Fig. 3 (shallow) silverman"] == "reproduced"     # ... none with Silverman's: judged separately


def test_dpi_conventions_are_counted_separately():
    df = synthetic_frame(violations=2, silverman_violations=5)
    tab = mi.dpi_table(df)
    per = tab.groupby("convention")[["violations", "checked"]].sum()
    assert per.loc["alignment"].tolist() == [2 * 3 * 2, 2 * 3 * 13]
    assert per.loc["silverman"].tolist() == [5 * 3 * 2, 2 * 3 * 13]
    assert mi.dpi_fraction(df, "silverman", "shallow").tolist() == pytest.approx([10 / 26] * 3)
    with pytest.raises(ValueError, match="convention"):
        mi.dpi_frame(df, "median")
    # both estimates saturated at the same H(Y): a round-off tie is not a violation, a real excess is
    tie = df.copy()
    sel = tie.metric == "mi_yyhat_silverman_bits"
    tie.loc[sel, "value"] = 3.3 + 1e-13
    assert mi.dpi_frame(tie, "silverman")["violation"].sum() == 5 * 3 * 2     # only the epochs with I(Y;X) = 0.5
    tie.loc[sel, "value"] = 3.3 + 1e-6
    assert mi.dpi_frame(tie, "silverman")["violation"].all()


def test_fig6_is_judged_over_seeds_not_one_run():
    c = verdicts(synthetic_frame())["Fig. 6a (shallow, mnist)"]
    assert c["type"] == "at_most" and c["n"] == 3 and c["ci95"] is not None and c["tolerance"] == 0.1
    one = verdicts(synthetic_frame(seeds=(0,)), {**TESTED, "seeds": [0]})["Fig. 6a (shallow, mnist)"]
    assert one["verdict"] == "inconclusive" and one["n"] == 1   # n < 3: no verdict


def test_short_or_missing_networks_are_not_tested():
    v = verdicts(synthetic_frame(epochs=1), {**TESTED, "epochs": 1})
    shallow = [c for k, c in v.items() if "shallow" in k]
    assert shallow and all(c["verdict"] == "not tested" and "epoch" in c["note"] for c in shallow)
    resnet = [c for k, c in v.items() if "resnet18" in k]    # resnet=False: the paper's ResNet18 claims, not tested
    assert resnet and all(c["verdict"] == "not tested" and "not trained" in c["note"] for c in resnet)
    assert {c["claim"].split(" (")[0] for c in resnet} >= {"Fig. 3", "Fig. 4", "Fig. 5", "Fig. 6b"}


def test_metrics_hold_measurements_not_claims():
    m = mi.metrics(synthetic_frame(), pd.DataFrame({"N": [100], "ms": [3.0]}))
    assert m["epoch_time_ratio_L_over_CE/shallow"]["mean"] == pytest.approx(1.2)
    assert m["test_accuracy/shallow_mnist_CE"]["n"] == 3
    assert m["dpi_violations/alignment"]["mean"] == 0 and m["mi_term_ms/N=100"]["mean"] == 3.0


def test_grad_norm_ratios_per_seed():
    r = mi.grad_norm_ratios(synthetic_frame())
    assert len(r) == 3 and (r.peak_epoch == 2).all()
    assert r.last_over_peak.tolist() == pytest.approx([1 / 121] * 3)
    assert r.first_over_peak.tolist() == pytest.approx([0.01] * 3)


def test_mi_term_seconds_rejects_bad_sizes():
    with pytest.raises(ValueError, match="n=1"):
        mi.mi_term_seconds(1, 2)
    assert mi.mi_term_seconds(20, 1) > 0


def test_trend_slopes_leave_out_the_untrained_epoch():
    # I(Y;Ŷ) jumps from the untrained network (epoch 0) and then declines: "I rises" must not read as reproduced
    rows = [{"metric": "mi_yyhat_bits", "split": "train", "method": "ce", "model": "shallow", "dataset": "mnist",
             "seed": s, "epoch": e, "value": (0.0 if e == 0 else 3.0 - 0.1 * e) + 0.01 * s}
            for s in range(3) for e in range(6)]
    from study.experiments import mi as mi_exp
    k = mi_exp._slopes(pd.DataFrame(rows), "mi_yyhat_bits", "ce", "shallow", "mnist", "increasing")
    assert (k < 0).all()
