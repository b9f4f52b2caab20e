"""Notebook 02's parameters are all checked before any work (issue 12, item 1): `study.experiments.rvsm.check_params`
(which `rvsm.Params` runs however it is made).

Every bad input starts from the notebook's own smoke parameters (its parameters cell, then
``notebooks/params/smoke/02_rvsm_curves.yaml``, as papermill would inject them) and changes one value; the error must
be a ValueError that names the parameter and the value (``name=value!r``) and says what is accepted. No data is
generated and nothing is trained.
"""
import json
import math
from pathlib import Path

import pytest
from notebook_params import profile_values

from study.experiments import rvsm

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK = "02_rvsm_curves"
RUN_START = {"profile", "device", "out_dir", "executor"}  # checked by study.run.Run.start (seed: by both)


def notebook_params(profile: str) -> dict:
    """The notebook's parameters under `profile`: its parameters cell, overridden by the profile's YAML file."""
    return profile_values(NOTEBOOK, profile)


def checked_keys(ns: dict) -> dict:
    return {k: v for k, v in ns.items() if k not in RUN_START}


SMOKE = checked_keys(notebook_params("smoke"))   # n_train 64, n_val 16, batch_size 32, lam_grid not empty

BAD = [  # (parameter, bad value, fragment of the message)
    ("optimizer", "rmsprop", "('adam', 'sgd')"),
    ("optimizer", "SGD", "('adam', 'sgd')"),
    ("n_val", 64, "[1, n_train - 1 = 63] when lam_grid is not empty"),   # n_val = n_train: empty training split
    ("n_val", 100, "[1, n_train - 1 = 63]"),
    ("n_val", 0, "an integer >= 1"),
    ("n_val", 16.0, "an integer >= 1"),
    ("lr", 0, "a number > 0"),
    ("lr", -1e-3, "a number > 0"),
    ("lr", "0.001", "YAML reads 1e-3 as a string"),
    ("lr", math.nan, "a number > 0"),
    ("epochs", True, "an integer >= 1"),
    ("epochs", 0, "an integer >= 1"),
    ("batch_size", 49, "n_train - n_val = 64 - 16"),
    ("batch_size", 0, "an integer in [1, 48]"),
    ("image_size", 20, "a multiple of 8"),
    ("image_size", 4, "an integer >= 8"),
    ("n_train", 63, "an even integer"),
    ("n_test", 0, "an integer >= 2"),
    ("letters_amplitude", [0.05, 0.03], "0 < min <= max"),
    ("shapes_wavelength", [0.12], "[min, max]"),
    ("letters_wavelength", "[0.12, 0.24]", "papermill -p passes a list as text"),
    ("shapes_amplitude", [0.0, 0.05], "0 < min <= max"),
    ("n_waves", 0, "an integer >= 1"),
    ("elastic_sigma", 0.0, "a number > 0"),
    ("elastic_alpha", -1.0, "a number >= 0"),
    ("datasets", ["letters", "digits"], "unknown: ['digits']"),
    ("datasets", [], "a non-empty list"),
    ("datasets", ["shapes", "shapes"], "repeated: ['shapes']"),
    ("datasets", "letters", "papermill -p passes a list as text"),
    ("momentum", 1.0, "[0, 1)"),
    ("beta", 0, "a number > 0"),
    ("lam", -1e-4, "a number >= 0"),
    ("sgd_lam", "1e-4", "YAML reads 1e-3 as a string"),
    ("lam_grid", [1e-4, -1e-4], "numbers >= 0"),
    ("lam_grid", [1e-4, 1e-4], "distinct"),
    ("lam_grid", [1e-4, "5e-4"], "YAML reads 1e-3 as a string"),
    ("val_tolerance", 1.5, "[0, 1]"),
    ("max_sparsity", -0.1, "[0, 1]"),
    ("tl1_a", [0.1, 1.0], "smallest 0.01 and largest 100"),
    ("tl1_a", [0.01, 0.1, 0.10000001, 100.0], "distinct as method names"),
    ("tl1_a", [], "smallest 0.01"),
    ("tl1_a", [0.01, -1.0, 100.0], "numbers > 0"),
    ("n_seeds", 0, "an integer >= 1"),
    ("n_seeds_other", 1.5, "an integer >= 1"),
    ("multi_seed_methods", ["rvsm_l2"], "unknown: ['rvsm_l2']"),
    ("multi_seed_methods", ["rvsm_l0", "rvsm_l0"], "repeated"),
    ("channels_last", "yes", "True or False"),
    ("bench_steps", 0, "an integer >= 1"),
    ("bench_batch", 65, "at most n_train"),
    ("seed", -1, "an integer >= 0"),
]


@pytest.mark.parametrize("name,value,fragment", BAD, ids=[f"{n}={v!r}" for n, v, _ in BAD])
def test_a_bad_parameter_is_refused_naming_it_and_its_value(name, value, fragment):
    with pytest.raises(ValueError) as err:
        rvsm.check_params({**SMOKE, name: value})
    msg = str(err.value)
    assert f"{name}={value!r}" in msg and "accepted" in msg and fragment in msg, msg
    with pytest.raises(ValueError, match=name):  # the notebook's way in refuses it the same way
        rvsm.Params.from_namespace({**SMOKE, name: value})


def test_relations_between_parameters():
    # without a λ sweep n_val is unused and the batch may take the whole training set
    p = rvsm.check_params({**SMOKE, "lam_grid": [], "n_val": 64, "batch_size": 64})
    assert (p["n_val"], p["batch_size"]) == (64, 64)
    # with one, n_val must leave at least a batch of training images
    assert rvsm.check_params({**SMOKE, "n_val": 32})["n_val"] == 32
    with pytest.raises(ValueError, match=r"batch_size=32 .*\[1, 31\].*n_train - n_val = 64 - 33"):
        rvsm.check_params({**SMOKE, "n_val": 33})
    # the multi-seed rows must be methods of this plan, which tl1_a decides
    with pytest.raises(ValueError, match=r"multi_seed_methods=.*unknown: \['rvsm_tl1_a0.1'\]"):
        rvsm.check_params({**SMOKE, "tl1_a": [0.01, 100.0], "multi_seed_methods": ["rvsm_tl1_a0.1"]})


def test_unknown_and_missing_names_are_listed_and_params_is_always_checked():
    with pytest.raises(ValueError, match=r"unknown parameter\(s\) \['lrr'\], missing parameter\(s\) \['lr'\]"):
        rvsm.check_params({**{k: v for k, v in SMOKE.items() if k != "lr"}, "lrr": 0.1})
    with pytest.raises(ValueError, match=r"parameters \['lr'\] are not defined"):
        rvsm.Params.from_namespace({k: v for k, v in SMOKE.items() if k != "lr"})
    with pytest.raises(ValueError, match="optimizer='rmsprop'"):  # built directly, not from a namespace
        rvsm.Params(**{**SMOKE, "optimizer": "rmsprop"})


@pytest.mark.parametrize("profile", ["smoke", "default", "paper"])
def test_every_profile_passes_and_is_returned_normalised(profile):
    ns = notebook_params(profile)
    assert set(checked_keys(ns)) == set(rvsm.PARAM_NAMES)  # the check covers every notebook parameter
    p = rvsm.check_params(checked_keys(ns))
    assert p == checked_keys(ns) and rvsm.check_params(p) == p
    P = rvsm.Params.from_namespace(ns)
    assert {k: getattr(P, k) for k in rvsm.PARAM_NAMES} == p
    assert all(type(v) is float for k in ("tl1_a", "lam_grid", "letters_amplitude") for v in p[k])
    assert type(rvsm.check_params({**checked_keys(ns), "beta": 1})["beta"]) is float


def test_headline_records_momentum_only_where_it_is_used():
    assert rvsm.Params.from_namespace({**SMOKE, "optimizer": "adam"}).headline()["momentum"] is None
    assert rvsm.Params.from_namespace({**SMOKE, "optimizer": "sgd"}).headline()["momentum"] == SMOKE["momentum"]


def test_the_notebook_checks_its_parameters_right_after_run_start():
    nb = json.loads((ROOT / "notebooks" / f"{NOTEBOOK}.ipynb").read_text())
    code = [c for c in nb["cells"] if c["cell_type"] == "code" and "parameters" not in c["metadata"].get("tags", [])]
    first = [ln for ln in "".join(code[0]["source"]).splitlines() if ln and not ln.startswith(("import", "from"))]
    assert "Run.start(" in first[0] and "rvsm.Params.from_namespace(" in first[1], first[:2]
