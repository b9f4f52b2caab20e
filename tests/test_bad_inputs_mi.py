"""Notebook 03's parameters are checked before any work (issue 12): `mi.Params` refuses every bad input below
with a ValueError naming the parameter and the value, starting from the notebook's own smoke parameters; the smoke,
default and paper profiles pass. No data, no training."""
import re

import pytest
from notebook_params import cell_values, profile_values

from study.experiments import mi
from study.params import parse


def check_params(params):
    """`params` parsed into `mi.Params` (what the notebook does first)."""
    return parse(mi.Params, params)

NOTEBOOK = "03_mi_regularization"


notebook_parameters = cell_values


def profile_parameters(profile: str) -> dict:
    """The experiment parameters (`mi.Params.model_fields`) of a profile: the notebook's, overridden by its yaml."""
    merged = profile_values(NOTEBOOK, profile)
    return {k: merged[k] for k in mi.Params.model_fields}


SMOKE = profile_parameters("smoke")   # train 20/class, val 5, test 10, MI 5, batch 10, ResNet18 2/2/2 on mnist


def test_the_notebook_declares_exactly_the_checked_parameters():
    declared = set(notebook_parameters(NOTEBOOK)) - {"profile", "seed", "device", "out_dir", "executor"}
    assert declared == set(mi.Params.model_fields)


@pytest.mark.parametrize("profile", ["smoke", "default", "paper"])
def test_every_profile_passes_and_comes_back_unchanged(profile):
    params = profile_parameters(profile)
    p = check_params(params)
    assert p.model_dump() == params
    lr = {name: params["lr_grid"][0] for name in params["datasets"]}
    assert mi.plan(p, lr, method="ce", seed=0, device="cpu")   # the plan builder accepts what it returned
    assert mi.tuning_plan(p, seed=0, device="cpu")


BAD = [  # (parameter, bad value, fragment of the accepted range in the message)
    ("datasets", [], "non-empty, distinct"),
    ("datasets", ["mnist", "cifar10"], "names from ('mnist', 'fashion-mnist')"),
    ("datasets", ["mnist", "mnist"], "distinct"),
    ("datasets", "mnist", "list"),
    ("train_per_class", 0, "[1, 5999]; train_per_class + val_per_class at most the rarest class"),
    ("train_per_class", "20", "an integer"),                   # a string where a number belongs
    ("train_per_class", 20.0, "an integer"),                   # a float where an int belongs
    ("train_per_class", 5421, "5421 training"),                # MNIST digit 5, and val_per_class >= 1 more
    ("val_per_class", 0, "[1, 5999]; train_per_class + val_per_class at most the rarest class"),
    ("val_per_class", 5402, "not in the train_per_class=20"),
    ("test_per_class", 0, "[1, 1000]; at most the rarest class of every chosen data set's test split"),
    ("test_per_class", 893, "892 test images"),                # MNIST digit 5 in the test split
    ("seeds", [], "non-empty"),                           # used to skip the shallow CNN silently
    ("seeds", [0, 0], "distinct"),
    ("seeds", [-1], "integers in [0, 4294967296)"),
    ("seeds", [2**63], "integers in [0, 4294967296)"),
    ("seeds", list(range(101)), "at most 100 seeds"),
    ("seeds", [True], "integers in [0, 4294967296)"),
    ("seeds", 0, "list"),
    ("epochs", 0, "integer in [1, 1000]"),
    ("epochs", 1.5, "integer in [1, 1000]"),                            # plan used to truncate it to 1 with int()
    ("ionly_epochs", 0, "integer in [1, 1000]"),
    ("ionly_epochs", "5", "an integer"),
    ("batch_size", 1, "[2, 1000000]; at most the training images"),
    ("batch_size", 201, "200 training images"),               # fit used to train on one batch of 200 instead
    ("batch_size", 199, "single image"),                       # 200 = 199 + 1
    ("lr_grid", [], "non-empty"),
    ("lr_grid", [0.01, 0], "numbers > 0"),
    ("lr_grid", ["0.01"], "numbers > 0"),
    ("lr_grid", [float("inf")], "finite"),
    ("lr_grid", [0.01, 0.01], "distinct"),
    ("lr_grid", 0.01, "list"),
    ("momentum", 1.0, "[0, 1)"),
    ("momentum", None, "[0, 1)"),
    ("alpha", 0, "a number in (0, 10.0]"),
    ("alpha", 1e4, "a number in (0, 10.0]"),
    ("datasets", [["mnist"]], "list of names from"),
    ("resnet_datasets", [[1]], "list of names from"),
    ("alpha", float("nan"), "a number in (0, 10.0]"),
    ("yhat_layer", "probs", "('softmax', 'logits')"),
    ("width_low", 0, "number > 0"),
    ("width_high", 0.01, "> width_low=0.02"),
    ("n_widths", 1, "integer in [2, 10000]"),
    ("layer_width_rel", [3.0, 0.05], "0 < a < b"),
    ("layer_width_rel", [0.05], "0 < a < b"),
    ("mi_eval_per_class", 0, "[1, 1000000]; at most train_per_class and test_per_class"),
    ("mi_eval_per_class", 11, "test_per_class"),               # part of the 10-per-class test subset
    ("grad_batches", 0, "[1, 1000000]; at most 10 x mi_eval_per_class / batch_size"),
    ("grad_batches", 6, "10 x mi_eval_per_class / batch_size = 5"),   # used to be cut to 5 silently
    ("info_plane", "yes", "True or False"),
    ("info_plane", 1, "True or False"),
    ("resnet", "false", "True or False"),
    ("resnet_stem", "big", "('small', 'paper')"),
    ("resnet_datasets", [], "non-empty"),
    ("resnet_datasets", ["cifar10"], "list of names from"),
    ("resnet_seeds", [], "non-empty when resnet is True"),
    ("resnet_seeds", [0.0], "integers in [0, 4294967296)"),
    ("resnet_epochs", 0, "integer in [1, 1000]"),
    ("resnet_train_per_class", 0, "integer in [1, 1000000]"),
    ("resnet_train_per_class", 21, "at most train_per_class"),
    ("resnet_test_per_class", 11, "at most test_per_class"),
    ("resnet_eval_per_class", 3, "[1, 2]"),
    ("resnet_lr", -0.01, "number > 0"),
    ("resnet_lr_alt", 0, "number > 0"),
    ("resnet_lr_alt", 0.01, "other than resnet_lr=0.01"),
    ("resnet_bn_cumulative", None, "True or False"),
    ("bench_sizes", [], "non-empty"),
    ("bench_sizes", [1, 100], "[2, 4096]"),
    ("bench_sizes", [100, 100], "distinct"),
    ("bench_sizes", [50, 10_000], "[2, 4096]"),
    ("bench_repeats", 0, "integer in [1, 1000]"),
    ("bench_repeats", 10**12, "integer in [1, 1000]"),
    ("epochs", 10**12, "integer in [1, 1000]"),
]


@pytest.mark.parametrize("name, value, accepted", BAD, ids=[f"{n}={v!r}" for n, v, _ in BAD])
def test_a_bad_parameter_is_refused_by_name_and_value(name, value, accepted):
    with pytest.raises(ValueError) as err:
        check_params({**SMOKE, name: value})
    msg = str(err.value)
    assert msg.startswith(f"{name}={value!r} is out of range; accepted: "), msg
    assert accepted in msg, msg


RELATIONS = [  # (changed parameters, the parameter refused or None if accepted, fragment of the message)
    ({"datasets": ["fashion-mnist"]}, "resnet_datasets", "subset of datasets=['fashion-mnist']"),
    ({"batch_size": 50, "mi_eval_per_class": 6}, "mi_eval_per_class", "multiple of batch_size=50"),  # last N = 10
    ({"datasets": ["fashion-mnist"], "resnet_datasets": ["fashion-mnist"], "train_per_class": 5995}, None, ""),
    ({"datasets": ["fashion-mnist"], "resnet_datasets": ["fashion-mnist"], "train_per_class": 5996}, "val_per_class",
     "[1, 4]"),                                              # 6,000 per class: 5,996 + 5 do not fit
    ({"batch_size": 3, "mi_eval_per_class": 3, "resnet_train_per_class": 1, "resnet_eval_per_class": 1},
     "resnet_train_per_class", "BatchNorm"),                 # 10 ResNet18 images: batches 3, 3, 3 and 1
    ({"batch_size": 20, "mi_eval_per_class": 2, "resnet_train_per_class": 3, "resnet_test_per_class": 3,
      "resnet_eval_per_class": 3}, "resnet_eval_per_class", "multiple"),     # 30 MI rows: N = 20, then 10
    ({"batch_size": 10, "mi_eval_per_class": 1, "resnet_train_per_class": 3, "resnet_test_per_class": 3,
      "resnet_eval_per_class": 2}, None, ""),                                # 20 MI rows: 2 batches of 10
]


@pytest.mark.parametrize("change, name, fragment", RELATIONS)
def test_relations_between_parameters(change, name, fragment):
    params = {**SMOKE, **change}
    if name is None:
        assert check_params(params).model_dump() == params
        return
    with pytest.raises(ValueError) as err:
        check_params(params)
    assert str(err.value).startswith(f"{name}={params[name]!r} is out of range") and fragment in str(err.value)


def test_resnet_parameters_unused_without_resnet():
    p = check_params({**SMOKE, "resnet": False, "resnet_seeds": [], "resnet_datasets": [],
                         "resnet_train_per_class": 1000})
    assert mi.resnet_used(p) is None
    lr = {"mnist": 0.01, "fashion-mnist": 0.01}
    assert not any(c["model"] == "resnet18" for c in mi.plan(p, lr, method="ce", seed=0, device="cpu"))
    (row,) = [d for d in mi.deviations(p, lr, "cpu") if d["setting"] == "ResNet18"]
    assert row["ours"] == "not trained" and "not tested" in row["effect"]
    with pytest.raises(ValueError, match=re.escape("resnet_epochs=0 is out of range")):   # still type-checked
        check_params({**SMOKE, "resnet": False, "resnet_epochs": 0})


def test_resnet_sizes_it_cannot_hold_are_recorded():
    # smoke at batch_size=50: ResNet18 has 20 training images and 20 MI rows; default: 1 MI batch, grad_batches=2
    lr = {"mnist": 0.01, "fashion-mnist": 0.01}

    def resnet_row(p, device="cpu"):
        return next(d for d in mi.deviations(p, lr, device) if d["setting"] == "ResNet18")["ours"]
    assert mi.resnet_used(check_params(SMOKE)) == {"train_batch": 10, "mi_batch_rows": 10, "mi_batches": 2,
                                                     "grad_batches": 1}   # smoke itself: batch_size=10
    smoke = check_params({**SMOKE, "batch_size": 50})
    assert mi.resnet_used(smoke) == {"train_batch": 20, "mi_batch_rows": 20, "mi_batches": 1, "grad_batches": 1}
    assert "one batch of 20 images" in resnet_row(smoke)
    default = check_params({**profile_parameters("default"), "resnet": True})
    assert mi.resnet_used(default)["grad_batches"] == 1
    assert "‖∇I‖ over 1 evaluation batch(es)" in resnet_row(default)
    paper = check_params(profile_parameters("paper"))
    assert mi.resnet_used(paper) == {"train_batch": 100, "mi_batch_rows": 100, "mi_batches": 10, "grad_batches": 10}
    assert "one batch" not in resnet_row(paper)
    # the paper profile without a GPU says so; with one it does not
    assert any(d["setting"] == "device" for d in mi.deviations(paper, lr, "cpu"))
    assert not any(d["setting"] == "device" for d in mi.deviations(paper, lr, "cuda"))


def test_unknown_and_missing_parameters_are_named():
    with pytest.raises(ValueError, match=r"unknown parameter\(s\) \['train_per_clas'\].*'train_per_class'"):
        check_params({**SMOKE, "train_per_clas": 20})
    without = {k: v for k, v in SMOKE.items() if k != "bench_repeats"}
    with pytest.raises(ValueError, match=re.escape("missing parameter(s) ['bench_repeats']")):
        check_params(without)
