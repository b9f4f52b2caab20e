"""Notebook 00's parameters are checked before any work (issues 12, 20): `study.params.parse(foundations.Params, ...)`
refuses every bad input below with a ValueError naming the parameter and the value, starting from the notebook's own
smoke parameters; the smoke, default and paper profiles pass. No data, no training."""
import re

import pytest
from notebook_params import cell_values, profile_values

from study.experiments import foundations as fx
from study.params import parse

NOTEBOOK = "00_training_foundations"


notebook_parameters = cell_values


def profile_parameters(profile: str) -> dict:
    """The experiment parameters (`fx.Params`) of a profile: the notebook's, overridden by its yaml."""
    merged = profile_values(NOTEBOOK, profile)
    return {k: merged[k] for k in fx.Params.model_fields}


def check(params):
    return parse(fx.Params, params).model_dump()


SMOKE = profile_parameters("smoke")


def test_the_notebook_declares_exactly_the_checked_parameters():
    declared = set(notebook_parameters(NOTEBOOK)) - {"profile", "seed", "device", "out_dir", "executor"}
    assert declared == set(fx.Params.model_fields)


@pytest.mark.parametrize("profile", ["smoke", "default", "paper"])
def test_every_profile_passes_and_comes_back_unchanged(profile):
    params = profile_parameters(profile)
    assert check(params) == params


BAD = [  # (parameter, bad value, fragment of the accepted range in the message)
    ("threads", 0, "integer in [1, 1024]"),
    ("threads", 1.5, "integer in [1, 1024]"),
    ("threads", 10**6, "integer in [1, 1024]"),
    ("test_size", 0, "[500, 10000]"),
    ("test_size", 10_001, "10000 test images"),
    ("test_size", 400, "first 500"),                           # §8 averages on the first 500 test images
    ("test_size", "1000", "an integer"),
    ("simplex_classes", [3, 5, 5], "three distinct digits"),
    ("simplex_classes", [3, 5, 10], "three distinct digits"),
    ("simplex_classes", [3, 5, True], "three distinct digits"),
    ("simplex_per_class", 0, "[7, 6742]"),
    ("simplex_per_class", 6, "batch of 20"),                    # 18 images cannot fill the fixed batch of 20
    ("simplex_per_class", 5422, "5421 training"),               # digit 5 is among [3, 5, 8]
    ("simplex_epochs", 0, "integer in [1, 1000]"),
    ("simplex_epochs", 2.0, "integer in [1, 1000]"),                    # a float where an int belongs
    ("convex_per_class", 0, "[1, 6742]"),
    ("convex_per_class", 6000, "5421"),
    ("convex_points", 0, "integer in [1, 1000000]"),
    ("bp_samples", 0, "integer in [1, 20000]"),
    ("bp_samples", 20_001, "first 20000"),
    ("bp_fd_samples", 5, "[1, 4]"),                             # more than bp_samples=4
    ("bp_channels", 0, "integer in [1, 16384]"),
    ("bp_kernel", 14, "[1, 13]"),
    ("bp_random_trials", -1, "integer in [0, 1000]"),
    ("bp_fd_h", 0.0, "(0, 1)"),
    ("bp_fd_h", float("nan"), "(0, 1)"),
    ("lr_val_per_class", 0, "[1, 5420]"),
    ("lr_val_per_class", 5421, "besides >= 1 training image"),
    ("lr_val_per_class", 10.0, "an integer"),
    ("opt_per_class", 0, "[1, 5420]"),
    ("opt_per_class", 5412, "[1, 5411]"),                       # 5421 - lr_val_per_class=10 held out
    ("opt_per_class", 5412, "held out for validation"),
    ("opt_hidden", False, "integer in [1, 16384]"),
    ("opt_hidden", 10**12, "integer in [1, 16384]"),                      # a bool where an int belongs
    ("opt_batch", 0, "integer >= 1"),
    ("opt_batch", 201, "200 training images"),                  # 10 x opt_per_class = 200
    ("opt_epochs", 0, "integer in [1, 1000]"),
    ("lr_grid", [], "at least 2"),
    ("lr_grid", [0.3], "at least 2"),
    ("lr_grid", [0.03, 0.0], "numbers > 0"),
    ("lr_grid", [0.03, "0.3"], "numbers > 0"),                  # a string where a number belongs
    ("lr_grid", [0.03, 0.03], "distinct"),
    ("lr_grid", 0.3, "list"),
    ("lr_grid", (0.03, 0.3), "a list"),                         # a tuple is not a list (no coercion)
    ("mu_max", 1.0, "[0, 1)"),
    ("mu_max", -0.1, "[0, 1)"),
    ("mb_per_class", 0, "[1, 5420]"),
    ("mb_per_class", 5412, "held out for validation"),
    ("mb_batch_sizes", [], "at least 3"),
    ("mb_batch_sizes", [1, "full"], "at least 3"),
    ("mb_batch_sizes", [0, 20, "full"], "integers >= 1"),
    ("mb_batch_sizes", [1, 200, "full"], "[1, 100]"),           # larger than N = 10 x mb_per_class = 100
    ("mb_batch_sizes", [20, 1, "full"], "increasing"),
    ("mb_batch_sizes", [1, 20, 50], "ending at 100"),
    ("mb_batch_sizes", [1, 20, "all"], "'full'"),
    ("mb_lrs", [], "non-empty"),
    ("mb_lrs", [0.1, -1.0], "numbers > 0"),
    ("mb_epochs", 0, "integer in [1, 1000]"),
    ("es_per_class", 0, "[1, 5420]"),
    ("es_val_per_class", 0, "[1, 5420]"),
    ("es_val_per_class", 5402, "[1, 5401]"),
    ("es_val_per_class", 5402, "not in the es_per_class=20"),   # training + validation > digit 5's 5421
    ("es_hidden", 0, "integer in [1, 16384]"),
    ("es_epochs", 0, "integer in [1, 1000]"),
    ("es_lr", 0, "number > 0"),
    ("es_lr", "0.02", "number > 0"),
    ("es_batch", 0, "integer >= 1"),
    ("es_batch", 201, "200 training images"),
    ("es_momentum", 1.0, "[0, 1)"),
    ("es_label_noise", [], "non-empty"),
    ("es_label_noise", [0.0, 1.0], "[0, 1)"),
    ("es_label_noise", [0.2, 0.2], "distinct"),
    ("do_per_class", 0, "[1, 5421]"),
    ("do_hidden", [], "non-empty"),
    ("do_hidden", [256, 0], "integers in [1, 16384]"),
    ("do_hidden", [10**12], "integers in [1, 16384]"),
    ("do_hidden", 256, "list"),
    ("do_epochs", 0, "integer in [1, 1000]"),
    ("do_lr", -0.05, "number > 0"),
    ("do_batch", 0, "integer >= 1"),
    ("do_batch", 201, "200 training images"),
    ("do_momentum", 1.0, "[0, 1)"),
    ("do_p", 0.0, "keep probability"),
    ("do_p", 1.0, "keep probability"),
    ("do_input_p", 0.0, "(0, 1]"),
    ("do_input_p", 1.5, "(0, 1]"),
    ("do_mc_samples", 0, "integer in [1, 1000000]"),
    ("n_seeds", 0, "integer in [1, 100]"),
    ("n_seeds", 1.0, "integer in [1, 100]"),
]


@pytest.mark.parametrize("name, value, accepted", BAD, ids=[f"{n}={v!r}" for n, v, _ in BAD])
def test_a_bad_parameter_is_refused_by_name_and_value(name, value, accepted):
    with pytest.raises(ValueError) as err:
        check({**SMOKE, name: value})
    msg = str(err.value)
    assert msg.startswith(f"{name}={value!r} is out of range; accepted: "), msg
    assert accepted in msg, msg


def test_unknown_and_missing_parameters_are_named():
    with pytest.raises(ValueError, match=r"unknown parameter\(s\) \['lr_gird'\].*accepted: .*'lr_grid'"):
        check({**SMOKE, "lr_gird": [0.1, 1.0]})
    without = {k: v for k, v in SMOKE.items() if k != "es_lr"}
    with pytest.raises(ValueError, match=re.escape("missing parameter(s) ['es_lr']")):
        check(without)
    with pytest.raises(ValueError, match="params="):
        check([("lr_grid", [0.1])])


def test_values_are_normalised_not_changed():
    p = check({**SMOKE, "lr_grid": [1, 3], "simplex_classes": [1, 4, 7], "do_input_p": None,
               "mb_batch_sizes": [1, 20, 100], "threads": None})
    assert p["lr_grid"] == [1.0, 3.0] and all(isinstance(v, float) for v in p["lr_grid"])
    assert p["simplex_classes"] == [1, 4, 7] and p["do_input_p"] is None and p["mb_batch_sizes"] == [1, 20, 100]
    assert SMOKE["lr_grid"] == notebook_parameters(NOTEBOOK)["lr_grid"]          # the input is not modified
