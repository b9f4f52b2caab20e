"""Notebook 01's parameters are all checked before any work (issue 12, item 1): `study.experiments.sl1.check_params`.

Every bad input starts from the notebook's own smoke parameters (its parameters cell, then
``notebooks/params/smoke/01_sl1_mnist.yaml``, as papermill would inject them) and changes one value; the error must be
a ValueError that names the parameter and the value (``name=value!r``) and says what is accepted. No data is loaded
and nothing is trained.
"""
import json
import math
from pathlib import Path

import pytest
from notebook_params import profile_values

from study.experiments import sl1

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK = "01_sl1_mnist"
RUN_START = {"profile", "seed", "device", "out_dir", "executor"}  # checked by study.run.Run.start


def notebook_params(profile: str) -> dict:
    """The notebook's parameters under `profile`: its parameters cell, overridden by the profile's YAML file."""
    return profile_values(NOTEBOOK, profile)


def checked_keys(ns: dict) -> dict:
    return {k: v for k, v in ns.items() if k not in RUN_START}


SMOKE = checked_keys(notebook_params("smoke"))   # train_subset 512, test_subset 500, batch_size 64

BAD = [  # (parameter, bad value, fragment of the message)
    ("train_subset", 0, "[1, 60,000] or None"),
    ("train_subset", 60_001, "60,000"),
    ("train_subset", 100.0, "an integer"),
    ("test_subset", 0, "[1, 10,000] or None"),
    ("test_subset", 10_001, "10,000"),
    ("batch_size", 0, "an integer in [1, 512]"),
    ("batch_size", 513, "at most the training images"),
    ("n_seeds", 0, "an integer >= 1"),
    ("n_seeds", True, "an integer >= 1"),
    ("epochs", 2.0, "an integer >= 1"),
    ("epochs", 0, "an integer >= 1"),
    ("sweep_epochs", 0, "an integer >= 1"),
    ("momentum_ramp_epochs", -1, "an integer >= 0"),
    ("lr", "0.1", "YAML reads 1e-3 as a string"),
    ("lr", 0, "a number > 0"),
    ("lr", math.nan, "a number > 0"),
    ("momentum", 1.0, "[0, 1)"),
    ("alpha", 0.0, "a number > 0"),
    ("lam_sl1", -1e-3, "a number >= 0"),
    ("lam_group_l1", "1e-3", "YAML reads 1e-3 as a string"),
    ("lam_l2", math.inf, "a number >= 0"),
    ("prune_threshold", -0.01, "a number >= 0"),
    ("activation", "tanh", "('relu', 'sigmoid')"),
    ("loss", "hinge", "('entropy_error', 'cross_entropy')"),
    ("methods", ["sl1", "l1"], "unknown: ['l1']"),
    ("methods", [], "a non-empty list"),
    ("methods", ["sl1", "sl1"], "repeated: ['sl1']"),
    ("methods", "sl1", "papermill -p passes a list as text"),
    ("sweep_lams", [-1e-3], "numbers >= 0"),
    ("sweep_lams", 0.001, "a list"),
    ("sweep_lams", [1e-3, 1e-3], "distinct"),
    ("sweep_lams", [1e-3, "3e-3"], "YAML reads 1e-3 as a string"),
    ("check_activations", "False", "True or False"),
]


@pytest.mark.parametrize("name,value,fragment", BAD, ids=[f"{n}={v!r}" for n, v, _ in BAD])
def test_a_bad_parameter_is_refused_naming_it_and_its_value(name, value, fragment):
    with pytest.raises(ValueError) as err:
        sl1.check_params({**SMOKE, name: value})
    msg = str(err.value)
    assert f"{name}={value!r}" in msg and "accepted" in msg and fragment in msg, msg
    with pytest.raises(ValueError, match=name):  # the plan builder refuses it the same way
        sl1.stages(**{**SMOKE, name: value}, seed=0, device="cpu")


def test_relations_between_parameters():
    # the other activation is compared with the main stage's unpenalised run: it needs "none"
    with pytest.raises(ValueError, match=r"check_activations=True .*methods include 'none'"):
        sl1.check_params({**SMOKE, "methods": ["sl1", "l2"]})
    assert sl1.check_params({**SMOKE, "methods": ["sl1", "l2"], "check_activations": False})["methods"] == ["sl1", "l2"]
    # the batch may be as large as the training set: the subset, or all 60,000 images
    assert sl1.check_params({**SMOKE, "batch_size": 512})["batch_size"] == 512
    assert sl1.check_params({**SMOKE, "train_subset": None, "batch_size": 60_000})["train_subset"] is None
    with pytest.raises(ValueError, match=r"batch_size=60001 .*\[1, 60,000\]"):
        sl1.check_params({**SMOKE, "train_subset": None, "batch_size": 60_001})
    # λ values that print alike would share one result label
    with pytest.raises(ValueError, match="sweep_lams=.*distinct"):
        sl1.check_params({**SMOKE, "sweep_lams": [1e-3, 1.0000001e-3]})


def test_unknown_and_missing_names_are_listed():
    with pytest.raises(ValueError, match=r"unknown parameter\(s\) \['lrr'\], missing parameter\(s\) \['lr'\]"):
        sl1.check_params({**{k: v for k, v in SMOKE.items() if k != "lr"}, "lrr": 0.1})
    with pytest.raises(ValueError, match=r"unknown parameter\(s\) \['seed'\]"):  # Run.start's, not this check's
        sl1.check_params({**SMOKE, "seed": 0})
    with pytest.raises(ValueError, match="seed=-1"):
        sl1.stages(**SMOKE, seed=-1, device="cpu")


@pytest.mark.parametrize("profile", ["smoke", "default", "paper"])
def test_every_profile_passes_and_is_returned_normalised(profile):
    ns = notebook_params(profile)
    assert set(checked_keys(ns)) == set(sl1.PARAM_NAMES)  # the check covers every notebook parameter
    p = sl1.check_params(checked_keys(ns))
    assert p == checked_keys(ns) and sl1.check_params(p) == p
    for name in ("lr", "momentum", "alpha", "lam_sl1", "lam_group_l1", "lam_l2", "prune_threshold"):
        assert type(p[name]) is float
    assert all(type(v) is float for v in p["sweep_lams"])
    assert sl1.check_params({**checked_keys(ns), "momentum": 0})["momentum"] == 0.0


def test_the_notebook_checks_its_parameters_right_after_run_start():
    nb = json.loads((ROOT / "notebooks" / f"{NOTEBOOK}.ipynb").read_text())
    code = [c for c in nb["cells"] if c["cell_type"] == "code" and "parameters" not in c["metadata"].get("tags", [])]
    first = [ln for ln in "".join(code[0]["source"]).splitlines() if ln and not ln.startswith(("import", "from"))]
    assert "Run.start(" in first[0] and "sl1.check_params(" in first[1], first[:2]
    rest = "".join("".join(c["source"]) for c in code)
    assert "sl1.stages(**params" in rest and 'mnist_tensors(params["train_subset"], params["test_subset"]' in rest


def test_deviations_record_the_momentum_a_short_run_reached():
    p = sl1.check_params({**SMOKE, "momentum_ramp_epochs": 4, "epochs": 2, "sweep_epochs": 1, "momentum": 0.2})
    text = "\n".join(sl1.deviations(**p, n_train=512, n_test=500))
    assert "main runs (2 epochs)" in text and "momentum reached 0.1, not 0.2" in text
    assert "λ-sweep runs (1 epochs)" in text and "momentum reached 0.05" in text
    assert "momentum reached" not in "\n".join(sl1.deviations(**SMOKE, n_train=512, n_test=500))
