"""study.experiments.mi (notebook 03, Zaugg et al.): the plan, the run on tiny configs, s*, the derived MI rows and
the claim rules on synthetic frames."""
import math
import re

import numpy as np
import pandas as pd
import pytest
import torch

from study import claims, data, results, runs
from study import information as inf
from study.experiments import mi
from study.params import parse


def check_params(params):
    """`params` parsed into `mi.Params` (what the notebook does first)."""
    return parse(mi.Params, params)


def check_config(config):
    """`config` parsed into `mi.RunConfig` (what `mi.run` does first)."""
    return parse(mi.RunConfig, config)

PARAMS = dict(datasets=["mnist", "fashion-mnist"], train_per_class=2, val_per_class=1, test_per_class=2, seeds=[0, 1],
              epochs=1, batch_size=10, lr_grid=[0.01, 0.03], momentum=0.9, alpha=1.01, yhat_layer="softmax",
              width_low=0.02, width_high=2.0, n_widths=20, layer_width_rel=[0.05, 3.0], mi_eval_per_class=2, grad_batches=1,
              info_plane=True, resnet=True, resnet_stem="small", resnet_datasets=["mnist"], resnet_seeds=[0],
              resnet_epochs=1, resnet_train_per_class=1, resnet_test_per_class=1, resnet_eval_per_class=1,
              resnet_lr=0.01, resnet_lr_alt=0.03, resnet_bn_cumulative=True, bench_sizes=[50], bench_repeats=1, ionly_epochs=1)
S_STAR = {("shallow", "mnist"): 0.5, ("shallow", "fashion-mnist"): 0.6, ("resnet18", "mnist"): 0.7}
LR = {"mnist": 0.01, "fashion-mnist": 0.03}
P = parse(mi.Params, PARAMS)   # the plan builders take the parsed parameters


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
    ce = mi.plan(P, LR, method="ce", seed=3, device="cpu")
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
    with pytest.raises(ValueError, match=r"lr=\{'mnist': 0.01\} is out of range.*no learning rate for data set"):
        mi.plan(P, {"mnist": 0.01}, method="ce", seed=0, device="cpu")
    assert all(set(c) == set(mi.RunConfig.model_fields) for c in ce)
    assert len({runs.canonical(c) for c in ce}) == len(ce)  # plain JSON, all distinct


def test_plan_mi_needs_s_star_and_carries_it():
    with pytest.raises(ValueError, match="s_star=None is out of range"):
        mi.plan(P, LR, method="mi", seed=0, device="cpu")
    l_plan = mi.plan(P, LR, S_STAR, method="mi", seed=0, device="cpu")
    assert [c["s_star"] for c in l_plan] == [0.5, 0.5, 0.6, 0.6, 0.7]
    assert len(mi.plan(check_params({**PARAMS, "resnet": False}), LR, method="ce", seed=0, device="cpu")) == 4


def test_stage2_plan_has_l_and_i_only_and_a_reading_skips_pairs_without_a_width():
    full = mi.stage2_plan(P, LR, S_STAR, seed=0, device="cpu")
    assert [c["method"] for c in full] == ["mi"] * 5 + ["mi_only"] * 5
    assert all(c["epochs"] == PARAMS["ionly_epochs"] for c in full if c["method"] == "mi_only")
    alt = mi.stage2_plan(P, LR, {("shallow", "mnist"): 0.4, ("resnet18", "mnist"): 0.7}, seed=0, device="cpu",
                         resnet_lr=PARAMS["resnet_lr_alt"], reading=True)
    assert {(c["model"], c["dataset"]) for c in alt} == {("shallow", "mnist"), ("resnet18", "mnist")} and len(alt) == 6
    assert all(c["subset_datasets"] == PARAMS["datasets"] for c in alt)   # the same subsets as the headline's
    assert {c["lr"] for c in alt if c["model"] == "resnet18"} == {PARAMS["resnet_lr_alt"]}
    assert mi.stage2_plan(P, LR, {}, seed=0, device="cpu", reading=True) == []
    with pytest.raises(ValueError, match=r"s_star=\{\('shallow', 'mnist'\): 0.4\} is out of range"):
        mi.stage2_plan(P, LR, {("shallow", "mnist"): 0.4}, seed=0, device="cpu")


def test_collect_requires_every_headline_run():
    cfgs = mi.plan(P, LR, method="ce", seed=0, device="cpu")[:2]
    ok = runs.Result(rows=pd.DataFrame(columns=results.COLUMNS), artifacts={"a": 1})
    sw = runs.Sweep(configs=cfgs, results=[ok, None], counts={}, failures=[])
    frame, arts = mi.collect([sw], cfgs)
    assert arts == [{"a": 1}, None]
    with pytest.raises(runs.SweepError, match="1 headline run"):
        mi.collect([sw], cfgs, required=True)


def test_plan_rejects_bad_parameters():
    # the run's arguments: refused by `RunConfig` when the plan builds the config (the plan never emits a bad one)
    with pytest.raises(ValueError, match="method='l2' is out of range"):
        mi.plan(P, LR, method="l2", seed=0, device="cpu")
    with pytest.raises(ValueError, match="device='auto' is out of range"):
        mi.plan(P, LR, method="ce", seed=0, device="auto")
    with pytest.raises(ValueError, match="seed=-1 is out of range"):
        mi.tuning_plan(P, seed=-1, device="cpu")
    # the notebook's parameters: refused by `Params` before any plan is built
    with pytest.raises(ValueError, match=re.escape("resnet_datasets=['mnist'] is out of range")):
        check_params({**PARAMS, "datasets": ["fashion-mnist"]})
    with pytest.raises(ValueError, match=r"missing parameter\(s\) \['alpha'\]"):
        check_params({k: v for k, v in PARAMS.items() if k != "alpha"})
    with pytest.raises(ValueError, match=re.escape("seeds=[] is out of range")):
        check_params({**PARAMS, "seeds": []})


@pytest.mark.parametrize("key, value", [("epochs", 0), ("batch_size", 1), ("lr", -0.1), ("momentum", 1.0),
                                        ("yhat_layer", "probs"), ("layer_width_rel", [3.0, 0.05]),
                                        ("width_high", 0.01), ("s_star", 0.5), ("model", "vgg"),
                                        ("dataset", "cifar10"), ("resnet_stem", "small"), ("epochs", 10**12),
                                        ("n_widths", 10**12), ("batch_size", 10**12), ("train_per_class", 10**12),
                                        ("subset_datasets", [[1]]), ("alpha", 1e4)])
def test_run_config_names_the_bad_key(key, value):
    cfg = mi.plan(P, LR, method="ce", seed=0, device="cpu")[0]
    with pytest.raises(ValueError, match=key):
        check_config({**cfg, key: value})
    with pytest.raises(ValueError, match=r"unknown parameter\(s\) \[.extra.\]"):
        check_config({**cfg, "extra": 1})


# ------------------------------------------------------------------------------------------------------------- run
@needs_data
def test_run_tiny_rows_artifacts_and_determinism():
    cfg = mi.plan(P, LR, S_STAR, method="mi", seed=0, device="cpu")[0]
    a, b = mi.run(cfg), mi.run(dict(cfg))
    rows = a.rows
    assert list(rows.columns) == results.COLUMNS
    assert np.isfinite(rows["value"]).all()
    metrics = set(rows.metric)
    assert {"accuracy", "ce_nats", "width_best_yhat", "f_transition", "mi_yx_bits", "grad_norm_mi", "objective_batches",
            "epoch_time_s", "plane_ixt_bits/conv1", "plane_ity_bits/yhat", "plane_width/x", "cos_init_fc2"} <= metrics
    cos = rows[rows.metric == "cos_init_fc2"]   # issue 17: one row, last epoch, split "-", a cosine
    assert len(cos) == 1 and cos.epoch.item() == cfg["epochs"] and cos.split.item() == "-"
    assert -1.0 <= cos.value.item() < 1.0       # the last hidden layer moved
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
def test_run_on_i_alone_has_f_zero_and_records_the_gradient():
    cfg = mi.plan(P, LR, S_STAR, method="mi_only", seed=0, device="cpu")[0]
    assert cfg["epochs"] == PARAMS["ionly_epochs"] and not cfg["info_plane"] and cfg["s_star"] == 0.5
    rows = mi.run(cfg).rows
    assert (rows[rows.metric == "f_transition"].value == 0.0).all()       # never CE, from epoch 0 on
    assert set(rows[rows.metric == "grad_norm_mi"].epoch) == {0, 1}
    assert len(rows[rows.metric == "cos_init_fc2"]) == 1
    with pytest.raises(ValueError, match="s_star"):
        check_config({**cfg, "s_star": None})


@needs_data
def test_at_one_small_width_i_yx_equals_h_y_on_real_images():
    # the headline reading of X's width: X at s* of softmax rows (< √2), 784-dimensional images lie far apart, the
    # input kernel is diagonal and I(Y;X) = H(Y) to round-off; at X's own alignment width it is not
    cfg = mi.plan(P, LR, method="ce", seed=0, device="cpu")[1]
    art = {"s_x": 10.0}
    tab = mi.input_information_table([cfg], [art], {("shallow", cfg["dataset"]): 0.3})
    assert set(tab.x_width) == set(mi.X_WIDTH_READINGS) and len(tab) == 3 * 2   # 20 images, batches of 10
    at_s = tab[tab.x_width == "s_star"]
    assert ((at_s.i_yx_bits - at_s.h_y_bits).abs() <= mi.VACUOUS_BITS).all()
    assert mi.dpi_vacuity(tab, "shallow", "s_star").startswith("vacuous: I(Y;X) = H(Y) at this width")
    wide = tab[tab.x_width == "per_layer_alignment"]
    assert ((wide.h_y_bits - wide.i_yx_bits) > 1e-3).all()
    assert mi.dpi_vacuity(tab, "shallow", "per_layer_alignment") == ""
    # I(Y;Ŷ) never exceeds H(Y), whatever the rows and the width: what makes the check vacuous
    g = torch.Generator().manual_seed(0)
    y = torch.arange(10) % 5
    for s_ in (0.01, 0.3, 3.0):
        t = torch.softmax(3 * torch.randn(10, 10, generator=g, dtype=torch.float64), 1)
        h = float(inf.renyi_entropy(inf.normalize_gram(inf.label_gram(y)), 1.01))
        assert float(inf.mi_with_labels(t, y, s_, 1.01)) <= h + 1e-9


@needs_data
def test_silverman_frame_gives_the_second_dpi_convention():
    cfg = mi.plan(P, LR, method="ce", seed=0, device="cpu")[1]    # shallow CNN, no information plane
    res = mi.run(cfg)
    out = mi.silverman_frame([cfg, cfg], [res.artifacts, None])          # a failed run (None) is skipped
    assert set(out.metric) == {"mi_yyhat_silverman_bits", "mi_yx_silverman_bits"} and set(out.split) == {"train"}
    assert len(out) == 2 * (cfg["epochs"] + 1)
    assert ((out.value >= -1e-9) & (out.value <= math.log2(10) + 1e-9)).all()   # 0 <= I <= H(Y), balanced batch
    assert out[out.metric == "mi_yx_silverman_bits"].value.nunique() == 1       # X does not change


@needs_data
def test_run_tiny_resnet18_ce():
    cfg = mi.plan(P, LR, method="ce", seed=0, device="cpu")[-1]
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
    tp = mi.tuning_plan(P, seed=0, device="cpu")
    assert [(c["dataset"], c["lr"]) for c in tp] == [("mnist", 0.01), ("mnist", 0.03), ("fashion-mnist", 0.01),
                                                     ("fashion-mnist", 0.03)]
    assert all(c["tuning"] and c["method"] == "ce" and c["model"] == "shallow" and not c["info_plane"] for c in tp)
    with pytest.raises(ValueError, match="tuning"):
        check_config({**mi.plan(P, LR, S_STAR, method="mi", seed=0, device="cpu")[0], "tuning": True})


def test_choose_lr_picks_by_validation_accuracy_and_never_sees_test():
    acc = {("mnist", 0.01): 0.90, ("mnist", 0.03): 0.95, ("fashion-mnist", 0.01): 0.85, ("fashion-mnist", 0.03): 0.80}
    rows = [dict(dataset=n, seed=0, epoch=e, split="val", metric="accuracy", value=a if e else 0.1)
            for (n, _), a in acc.items() for e in (0, 1)]
    frames = [results.tidy([r for r in rows[2 * i:2 * i + 2]], study=mi.STUDY, model="shallow", method="ce")
              for i in range(4)]
    cfgs = [{"lr": lr} for (_, lr) in acc]
    chosen, table = mi.choose_lr(P, mi.tuning_frame(cfgs, frames))
    assert chosen == {"mnist": 0.03, "fashion-mnist": 0.01}      # judged at the last epoch, on val
    assert table["chosen"].sum() == 2 and set(table.dataset) == {"mnist", "fashion-mnist"}
    # a test row anywhere in the candidates' rows: the selection refuses to look
    leak = frames[0].iloc[[1]].assign(split="test", value=1.0)
    with pytest.raises(ValueError, match="test"):
        mi.choose_lr(P, mi.tuning_frame(cfgs, [pd.concat([frames[0], leak]), *frames[1:]]))


@needs_data
def test_tuning_run_has_validation_rows_only():
    cfg = {**mi.tuning_plan(P, seed=0, device="cpu")[0]}
    res = mi.run(cfg)
    assert "test" not in set(res.rows.split) and "val" in set(res.rows.split)
    assert set(res.rows[res.rows.split == "val"].metric) == {"accuracy", "ce_nats"}
    assert res.artifacts == {}


# ---------------------------------------------------------------------------------------------------------- claims
TESTED = {**PARAMS, "epochs": 12, "train_per_class": 100, "val_per_class": 10, "test_per_class": 20, "seeds": [0, 1, 2],
          "datasets": ["mnist"], "resnet": False, "resnet_datasets": [], "resnet_seeds": [], "ionly_epochs": 5}
H_Y = math.log2(10)


def synthetic_frame(mi_rises=True, gap_ce=0.5, gap_l=0.1, grad_decay=True, violations=0, epochs=12, seeds=(0, 1, 2),
                    silverman_violations=0, ionly_grad=0.001, gap_jitter=0.01):
    """A tidy frame for the shallow CNN on MNIST with every metric `claims_list` reads: I(Y;Ŷ) saturating within a
    few epochs (or falling), the CE gaps, ‖∇I‖ with a bump (or not), I(Y;X) at its own alignment width (violated
    in the first `violations` epochs), at Silverman's and at s* (= H(Y): the DPI cannot fail), and runs on I alone
    whose ‖∇I‖ stays at `ionly_grad`."""
    rows = []
    for method in ("ce", "mi", "mi_only"):
        for s in seeds:
            for e in range(epochs + 1 if method != "mi_only" else 6):
                jitter = 0.001 * s
                i = (3.0 - 2.0 * math.exp(-e / 1.5) if mi_rises else 3.0 - 0.2 * e) + jitter
                ce = 2.3 - 0.15 * e + jitter
                gap = (gap_ce if method == "ce" else gap_l) + gap_jitter * s
                tr = dict(method=method, seed=s, epoch=e, split="train")
                rows += [dict(tr, metric="mi_yyhat_bits", value=i),
                         dict(tr, split="test", metric="mi_yyhat_bits", value=i - 0.1),
                         dict(tr, metric="mi_yx_bits", value=i - 1.0 if e < violations else 9.0),
                         dict(tr, metric="mi_yx_sstar_bits", value=H_Y),
                         dict(tr, metric="mi_yyhat_silverman_bits", value=1.0),
                         dict(tr, metric="mi_yx_silverman_bits", value=0.5 if e < silverman_violations else 3.3),
                         dict(tr, metric="ce_nats", value=ce),
                         dict(tr, split="test", metric="ce_nats", value=ce + gap),
                         dict(tr, split="test", metric="accuracy", value=0.9)]
                if e >= 1:
                    rows.append(dict(tr, split="-", metric="epoch_time_s", value=1.2 if method == "mi" else 1.0))
                if method == "mi":  # bump: small at epoch 0, peak at 2, then decays (or stays up)
                    g = 0.01 if e == 0 else (1.0 / (1 + abs(e - 2)) ** 2 if grad_decay else 1.0 - 0.01 * e)
                    rows.append(dict(tr, metric="grad_norm_mi", value=g * (1 + 0.01 * s)))
                if method == "mi_only":
                    rows.append(dict(tr, metric="grad_norm_mi", value=ionly_grad * (1 + 0.01 * s)))
            last = epochs if method != "mi_only" else 5
            rows.append(dict(method=method, seed=s, epoch=last, split="-", metric="cos_init_fc2",
                             value={"ce": 0.6, "mi": 0.62, "mi_only": 0.99999}[method]))
    df = results.tidy(rows, study=mi.STUDY, dataset="mnist", model="shallow")
    return pd.concat([df, mi.objective_frame(df)], ignore_index=True)


def synthetic_configs(seeds=(0, 1, 2), lr=0.01):
    """Stand-ins for the run configs of `synthetic_frame` (what `depends_on` labels are made of)."""
    return [{"model": "shallow", "dataset": "mnist", "method": m, "seed": s, "lr": lr, "epochs": 5 if m == "mi_only"
             else 12} for m in ("ce", "mi", "mi_only") for s in seeds]


def synthetic_inputs(i_at_s_star=H_Y, i_alignment=1.0, i_silverman=H_Y):
    """An `input_information_table` of 2 batches with balanced labels (H(Y) = log2 10)."""
    return pd.DataFrame([{"model": "shallow", "dataset": "mnist", "x_width": w, "batch": b, "width": 0.3,
                          "i_yx_bits": v, "h_y_bits": H_Y}
                         for w, v in (("s_star", i_at_s_star), ("per_layer_alignment", i_alignment),
                                      ("silverman", i_silverman)) for b in (0, 1)])


def claim_rows(df, params=TESTED, configs=None, inputs=None, **kw):
    out = mi.reading_claims(df, check_params(params), synthetic_configs() if configs is None else configs,
                         synthetic_inputs() if inputs is None else inputs, **kw)
    for c in out:
        claims.check_claim(c)   # every row carries the headline fields, judged rows name their runs
    return out


def verdicts(df, params=TESTED, **kw):
    return {c["claim"].split(":")[0] + (" epoch0" if "epoch 0" in c["claim"] else ""): c
            for c in claim_rows(df, params, **kw)}


def test_claims_reproduced_on_a_frame_that_shows_the_papers_effects():
    v = {k: c["verdict"] for k, c in verdicts(synthetic_frame()).items()}
    assert v["Fig. 3 (shallow, mnist)"] == v["Fig. 4 (shallow, mnist)"] == "reproduced"
    assert v["Fig. 5 (shallow, mnist)"] == "reproduced"        # CE gap 0.5 vs L gap 0.1, every seed
    assert v["Fig. 5a (shallow, mnist)"] == "reproduced"       # the CE gap stays > 0
    assert v["Fig. 5b (shallow, mnist)"] == "not reproduced"   # the L gap (0.1) is far from 0 ± 0.02 nats
    assert v["Fig. 6a (shallow, mnist)"] == "reproduced"       # last/peak = 1/121
    assert v["Fig. 6 (shallow, mnist) epoch0"] == "reproduced"  # 0.01 of the peak at epoch 0
    assert v["§5.3 (shallow, mnist)"] == "reproduced"          # 1 − e^(−5/1.5) of the rise by epoch 5
    assert v["§5.1 (shallow, mnist)"] == "reproduced"          # I alone: ‖∇I‖ 0.001 of the L peak
    assert not any(k.startswith("cost") for k in v)            # our speed target is not a paper claim
    close = {k: c["verdict"] for k, c in verdicts(synthetic_frame(gap_l=0.0, gap_jitter=0.001)).items()}
    assert close["Fig. 5b (shallow, mnist)"] == "reproduced"   # gaps 0, 0.001, 0.002 nats: within the tolerance


def test_claims_not_reproduced_when_the_effects_are_absent():
    v = {k: c["verdict"] for k, c in verdicts(synthetic_frame(mi_rises=False, gap_l=0.6, grad_decay=False,
                                                              ionly_grad=0.8)).items()}
    assert v["Fig. 3 (shallow, mnist)"] == "not reproduced"
    assert v["Fig. 5 (shallow, mnist)"] == "not reproduced"
    assert v["Fig. 6a (shallow, mnist)"] == "not reproduced"   # last/peak ≈ 0.89
    assert v["§5.3 (shallow, mnist)"] == "not reproduced"      # a steady fall: 5 of 11 epochs' change by epoch 5
    assert v["§5.1 (shallow, mnist)"] == "not reproduced"      # I alone keeps a gradient of 0.8 of L's peak


def test_every_judged_claim_names_exactly_the_runs_it_is_computed_from():
    cfgs = synthetic_configs()
    label = {(c["method"], c["seed"]): runs.run_label(c) for c in cfgs}
    out = {c["claim"]: c for c in claim_rows(synthetic_frame(), inputs=synthetic_inputs(i_at_s_star=1.0))}
    judged = [c for c in out.values() if c["verdict"] != "not tested"]
    assert judged and all(c["depends_on"] for c in judged)
    fig3 = out["Fig. 3 (shallow, mnist): minimising CE raises I(Y;Ŷ)"]["depends_on"]
    assert fig3 == sorted(label[("ce", s)] for s in (0, 1, 2))              # CE runs only
    fig5 = next(c for k, c in out.items() if k.startswith("Fig. 5 (shallow, mnist)"))["depends_on"]
    assert set(fig5) == {label[(m, s)] for m in ("ce", "mi") for s in (0, 1, 2)}
    ionly = next(c for k, c in out.items() if k.startswith("§5.1"))["depends_on"]
    assert {label[("mi_only", s)] for s in (0, 1, 2)} <= set(ionly)
    assert not any(label[("mi_only", 0)] in c["depends_on"] for k, c in out.items() if k.startswith("Fig. 3"))
    # a claim whose runs are not in the plan is not tested, never judged without provenance
    none = {c["claim"]: c for c in claim_rows(synthetic_frame(), configs=[])}
    assert all(c["verdict"] == "not tested" for c in none.values())


def test_dpi_at_the_single_width_is_not_tested_when_vacuous():
    # I(Y;X) = H(Y) on every batch at s*: I(Y;Ŷ) cannot exceed it, the check is vacuous and says why
    c = verdicts(synthetic_frame(violations=13))["Fig. 3 (shallow)"]
    assert c["verdict"] == "not tested"
    assert c["note"].startswith("vacuous: I(Y;X) = H(Y) at this width")
    assert "2 MI evaluation batches" in c["note"]
    # one batch away from H(Y) by more than the round-off: judged (here every epoch violates at that I(Y;X))
    inputs = synthetic_inputs()
    inputs.loc[(inputs.x_width == "s_star") & (inputs.batch == 1), "i_yx_bits"] = H_Y - 1e-3
    frame = synthetic_frame()
    frame.loc[frame.metric == "mi_yx_sstar_bits", "value"] = 0.5
    judged = verdicts(frame, inputs=inputs)["Fig. 3 (shallow)"]
    assert judged["verdict"] == "not reproduced" and judged["depends_on"]
    # the other widths of X are judged on the same runs: alignment violated in every epoch, Silverman vacuous too
    align = verdicts(synthetic_frame(violations=13), x_width="per_layer_alignment")["Fig. 3 (shallow)"]
    assert align["verdict"] == "not reproduced" and "[our extension]" in align["note"]
    assert verdicts(synthetic_frame(), x_width="silverman")["Fig. 3 (shallow)"]["verdict"] == "not tested"
    with pytest.raises(ValueError, match="x_width"):
        mi.dpi_claim(synthetic_frame(), check_params(TESTED), synthetic_configs(), synthetic_inputs(), "shallow",
                     "median")


def test_every_claim_is_judged_under_every_reading_that_affects_it():
    p = check_params(TESTED)
    head = (synthetic_frame(violations=13), synthetic_configs(), synthetic_inputs())
    alt = (synthetic_frame(gap_l=0.6), synthetic_configs(lr=0.03), synthetic_inputs())   # L's gap as large as CE's
    out = {c["claim"]: c for c in mi.judge(head, p, alt)}
    for c in out.values():
        claims.check_claim(c)
    dpi = out["Fig. 3 (shallow): the DPI I(Y;X) ≥ I(Y;Ŷ) holds"]
    x_keys = [k for k in dpi["readings"] if k.startswith("x_width=")]
    assert len(x_keys) >= 2 and set(x_keys) == {f"x_width={w}" for w in mi.X_WIDTH_READINGS}
    assert dpi["verdict"] == "not tested" and dpi["robustness"] == "not judged"
    assert dpi["readings"]["x_width=per_layer_alignment"]["verdict"] == "not reproduced"
    shallow = [c for k, c in out.items() if "(shallow, mnist)" in k]
    assert shallow and all({"lr=validation-best", "lr=validation-runner-up"} <= set(c["readings"]) for c in shallow)
    assert all(not any(k.startswith("x_width") for k in c["readings"]) for c in shallow)   # X's width: DPI only
    fig5 = next(c for k, c in out.items() if k.startswith("Fig. 5 (shallow, mnist)"))
    assert fig5["verdict"] == "reproduced" and fig5["robustness"] == "reading-dependent"
    assert fig5["flipped_by"] == ["lr=validation-runner-up"]
    assert out["Fig. 3 (shallow, mnist): minimising CE raises I(Y;Ŷ)"]["robustness"] == "robust"
    assert {"fig5_loss=ce", "fig5_loss=objective"} <= set(fig5["readings"])          # Fig. 5's undefined "loss"
    fig5a = next(c for k, c in out.items() if k.startswith("Fig. 5a (shallow, mnist)"))
    assert not any(k.startswith("fig5_loss") for k in fig5a["readings"])              # CE runs only: unaffected
    assert not any(k.startswith("fig5_loss") for k in dpi["readings"])
    with pytest.raises(ValueError, match="fig5_loss"):
        mi.reading_claims(*head[:1], p, *head[1:], fig5_loss="L")
    assert set(mi.READINGS) == {"x_width", "fig5_loss", "lr"} and all(
        len(r["readings"]) >= 2 and r["headline"] in r["readings"] and r["why"] for r in mi.READINGS.values())


def test_fig5_rows_of_the_shallow_cnn_are_labelled_our_extension():
    out = [c["claim"] for c in claim_rows(synthetic_frame())]
    fig5 = [c for c in out if c.startswith("Fig. 5")]
    assert fig5 and all("(shallow" not in c or "[our extension" in c for c in fig5)
    assert all("[our extension" not in c for c in out if c.startswith("Fig. 5") and "(resnet18, mnist)" in c)


def test_training_checks_compare_l_with_ce_at_the_same_rate():
    df = synthetic_frame()
    checks = mi.training_checks(df, df)
    assert [t["headline"] for t in checks] == [True, False]
    t = checks[0]
    assert t["layer"] == "fc2" and t["moved"] == pytest.approx(0.38) and t["baseline"] == pytest.approx(0.4)
    assert t["trains"] and t["reading"].startswith("lr=validation-best")
    stuck = df.copy()
    stuck.loc[(stuck.metric == "cos_init_fc2") & (stuck.method == "mi"), "value"] = 0.99
    assert not mi.training_checks(stuck)[0]["trains"]   # L that barely moves fc2 is flagged


def test_saturation_and_i_only_ratios_per_seed():
    df = synthetic_frame()
    share = mi.saturation_share(df, "shallow", "mnist")
    assert len(share) == 3 and (share > 0.9).all() and (share <= 1.05).all()
    r = mi.ionly_ratio(df, "shallow", "mnist")
    assert r.tolist() == pytest.approx([0.001 / 1.0, 0.00101 / 1.01, 0.00102 / 1.02])
    with pytest.raises(ValueError, match="epochs"):
        mi.saturation_share(df[df.epoch <= 6], "shallow", "mnist")
    with pytest.raises(ValueError, match="I-only"):
        mi.ionly_ratio(df[df.method != "mi_only"], "shallow", "mnist")


def test_alternative_lr_is_the_validation_runner_up():
    tab = pd.DataFrame({"dataset": ["mnist"] * 3 + ["fashion-mnist"] * 2, "lr": [0.01, 0.03, 0.1, 0.01, 0.03],
                        "mean": [0.90, 0.95, 0.93, 0.80, 0.85]})
    assert mi.alternative_lr(tab, {"mnist": 0.03, "fashion-mnist": 0.03}) == {"mnist": 0.1, "fashion-mnist": 0.01}
    with pytest.raises(ValueError, match="needs two"):
        mi.alternative_lr(tab[tab.lr == 0.03], {"mnist": 0.03})
    assert mi.predicted_collapse({"method": "mi_only"}).startswith("Zaugg et al. §5.1")
    assert mi.predicted_collapse({"method": "mi"}) is None


def test_results_frame_keeps_one_row_per_observation():
    df = synthetic_frame()
    out = mi.results_frame(df, df)
    keys = list(results.COLUMNS[:-1])
    assert len(out) == 2 * len(df) and not out.duplicated(keys).any()
    assert set(out.method) >= {"ce@lr=validation-runner-up", "mi_only@lr=validation-runner-up"}


def test_dpi_conventions_are_counted_separately():
    df = synthetic_frame(violations=2, silverman_violations=5)
    tab = mi.dpi_table(df)
    per = tab.groupby("convention")[["violations", "checked"]].sum()
    assert per.loc["per_layer_alignment"].tolist() == [2 * 3 * 2, 2 * 3 * 13]
    assert per.loc["silverman_both"].tolist() == [5 * 3 * 2, 2 * 3 * 13]
    assert per.loc["s_star"].tolist() == [0, 2 * 3 * 13]                         # I(Y;Ŷ) < H(Y) = I(Y;X)
    assert mi.dpi_fraction(df, "silverman_both", "shallow").tolist() == pytest.approx([10 / 26] * 3)
    with pytest.raises(ValueError, match="convention"):
        mi.dpi_frame(df, "median")
    # both estimates saturated at the same H(Y): a round-off tie is not a violation, a real excess is
    tie = df.copy()
    sel = tie.metric == "mi_yyhat_silverman_bits"
    tie.loc[sel, "value"] = 3.3 + 1e-13
    assert mi.dpi_frame(tie, "silverman_both")["violation"].sum() == 5 * 3 * 2     # only the epochs with I(Y;X) = 0.5
    tie.loc[sel, "value"] = 3.3 + 1e-6
    assert mi.dpi_frame(tie, "silverman_both")["violation"].all()


def test_fig6_is_judged_over_seeds_not_one_run():
    c = verdicts(synthetic_frame())["Fig. 6a (shallow, mnist)"]
    assert c["type"] == "at_most" and c["n"] == 3 and c["ci95"] is not None and c["tolerance"] == 0.1
    one = verdicts(synthetic_frame(seeds=(0,)), {**TESTED, "seeds": [0]},
                   configs=synthetic_configs(seeds=(0,)))["Fig. 6a (shallow, mnist)"]
    assert one["verdict"] == "inconclusive" and one["n"] == 1   # n < 3: no verdict


def test_short_or_missing_networks_are_not_tested():
    v = verdicts(synthetic_frame(epochs=1), {**TESTED, "epochs": 1})
    shallow = [c for k, c in v.items() if "shallow" in k]
    assert shallow and all(c["verdict"] == "not tested" and "epoch" in c["note"] for c in shallow)
    resnet = [c for k, c in v.items() if "resnet18" in k]    # resnet=False: the paper's ResNet18 claims, not tested
    assert resnet and all(c["verdict"] == "not tested" and "not trained" in c["note"] for c in resnet)
    assert {c["claim"].split(" (")[0] for c in resnet} >= {"Fig. 3", "Fig. 4", "Fig. 5", "Fig. 6b", "§5.1"}
    short = verdicts(synthetic_frame(), {**TESTED, "ionly_epochs": 2})["§5.1 (shallow, mnist)"]
    assert short["verdict"] == "not tested" and "alone for 2 epoch" in short["note"]


def test_metrics_hold_measurements_not_claims():
    m = mi.metrics(synthetic_frame(), pd.DataFrame({"N": [100], "ms": [3.0]}))
    assert m["epoch_time_ratio_L_over_CE/shallow"]["mean"] == pytest.approx(1.2)
    assert m["test_accuracy/shallow_mnist_CE"]["n"] == 3 and m["test_accuracy/shallow_mnist_I-only"]["n"] == 3
    assert m["dpi_violations/per_layer_alignment"]["mean"] == 0 and m["mi_term_ms/N=100"]["mean"] == 3.0


def test_grad_norm_ratios_per_seed():
    r = mi.grad_norm_ratios(synthetic_frame())
    assert len(r) == 3 and (r.peak_epoch == 2).all()          # the L runs only, not the runs on I alone
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


def test_a_diverged_run_withholds_only_the_claims_that_depend_on_it():
    from study.run import Run
    cfgs = synthetic_configs()
    rows = claim_rows(synthetic_frame())
    l_run = runs.run_label(next(c for c in cfgs if c["method"] == "mi" and c["seed"] == 1))
    io_run = runs.run_label(next(c for c in cfgs if c["method"] == "mi_only"))
    nb = Run.__new__(Run)
    nb.diverged = [{"run": l_run, "expected": False, "reason": "training loss rose"},
                   {"run": io_run, "expected": True, "reason": "final accuracy at chance",      # the paper predicts
                    "predicted_by": mi.predicted_collapse({"method": "mi_only"})}]            # it: data, not a stop
    out = {c["claim"]: c for c in nb.withhold_verdicts(rows)}
    before = {c["claim"]: c for c in rows}
    for claim, c in out.items():
        if l_run in before[claim]["depends_on"] and before[claim]["verdict"] != "not tested":
            assert c["verdict"] == "inconclusive" and c["withheld_by"] == [l_run]
        else:
            assert c["verdict"] == before[claim]["verdict"] and not c.get("withheld_by")
    assert out["Fig. 3 (shallow, mnist): minimising CE raises I(Y;Ŷ)"]["verdict"] == "reproduced"   # CE runs only
    assert out["Fig. 4 (shallow, mnist): training with L lowers the CE"]["verdict"] == "inconclusive"
