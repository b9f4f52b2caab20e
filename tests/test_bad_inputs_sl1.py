"""Notebook 01's parameters are all checked before any work (issue 12, item 1): `study.experiments.sl1.Params`, parsed
by `study.params.parse`.

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
from study.params import parse

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK = "01_sl1_mnist"
RUN_START = {"profile", "seed", "device", "out_dir", "executor"}  # checked by study.run.Run.start


def notebook_params(profile: str) -> dict:
    """The notebook's parameters under `profile`: its parameters cell, overridden by the profile's YAML file."""
    return profile_values(NOTEBOOK, profile)


def checked_keys(ns: dict) -> dict:
    return {k: v for k, v in ns.items() if k not in RUN_START}


SMOKE = checked_keys(notebook_params("smoke"))   # train_subset 1000, tune_subset 1000, batch_size 32
CHOSEN = {"activation": "relu", "lr": 0.1, "lam": {"none": None, "sl1": 1e-3, "group_l1": 1e-3, "l2": 1e-3},
          "alpha": 0.05}

BAD = [  # (parameter, bad value, fragment of the message)
    ("train_subset", 0, "[1, 60000] or None"),
    ("train_subset", 60_001, "[1, 60000]"),
    ("train_subset", 100.0, "an integer"),
    ("test_subset", 0, "[1, 10000] or None"),
    ("test_subset", 10_001, "[1, 10000]"),
    ("tune_subset", 50_001, "[1, 50000] or None; None for all 50,000 (the fit part of MNIST train)"),
    ("val_subset", 10_001, "the validation part of MNIST train"),
    ("batch_size", 0, "an integer >= 1; at most the training images"),
    ("batch_size", 1001, "at most the training images"),
    ("n_seeds", 0, "an integer in [1, 100]"),
    ("n_seeds", True, "an integer in [1, 100]"),
    ("tune_seeds", 0, "an integer in [1, 100]"),
    ("sweep_seeds", 0, "an integer in [1, 100]"),
    ("epochs", 2.0, "an integer in [1, 1000]"),
    ("epochs", 0, "an integer in [1, 1000]"),
    ("epochs", 10**12, "an integer in [1, 1000]"),
    ("n_seeds", 10**12, "an integer in [1, 100]"),
    ("tune_epochs", 0, "an integer in [1, 1000]"),
    ("sweep_epochs", 0, "an integer in [1, 1000]"),
    ("momentum_ramp_epochs", -1, "an integer in [0, 1000]"),
    ("momentum", 1.0, "[0, 1)"),
    ("momentum", "0.2", "YAML reads 1e-3 as a string"),
    ("prune_threshold", -0.01, "a number >= 0"),
    ("loss", "hinge", "('entropy_error', 'cross_entropy')"),
    ("lrs", [0.0], "a list of numbers > 0"),
    ("lrs", [], "non-empty"),
    ("lrs", 0.1, "a list of numbers > 0, non-empty"),
    ("lrs", [0.1, "0.3"], "YAML reads 1e-3 as a string"),
    ("lrs", [0.1, 0.1], "distinct"),
    ("lrs", [math.nan], "numbers > 0"),
    ("alphas", [0.0], "SL1's α > 0"),
    ("alphas", [], "non-empty: 'sl1' is in methods"),
    ("lams_sl1", [-1e-3], "numbers >= 0"),
    ("lams_sl1", [], "non-empty: 'sl1' is in methods"),
    ("lams_sl1", [1e-4, 1e-3], "decreasing order"),
    ("lams_group_l1", "1e-3", "papermill -p passes a list as text"),
    ("lams_l2", [math.inf], "numbers >= 0"),
    ("lams_l2", [1e-3, 1.0000001e-3], "distinct also as printed"),
    ("activations", ["tanh"], "names from ('relu', 'sigmoid')"),
    ("activations", [], "non-empty"),
    ("activations", ["relu", "relu"], "repeated: 'relu'"),
    ("methods", ["sl1", "l1"], "names from ('none', 'sl1', 'group_l1', 'l2')"),
    ("methods", [], "non-empty"),
    ("methods", ["sl1", "sl1"], "repeated: 'sl1'"),
    ("methods", "sl1", "papermill -p passes a list as text"),
    ("sweep_alphas", [0.01, 0.1], "holds 0 (the non-smooth limit"),
    ("sweep_alphas", [-1e-3, 0.0], "numbers >= 0"),
    ("sweep_alphas", 0.0, "a list"),
    ("sweep_lams", [-1.0], "numbers >= 0"),
    ("sweep_lams", [0.01, 0.01], "distinct"),
    ("reading_alphas", [0.01, 0.1], "holds 0 (the non-smooth limit"),
    ("reading_alphas", [-0.1, 0.0], "numbers >= 0"),
    ("momentum_readings", ["ramp_from"], "holds the headline reading 'ramp_to'"),
    ("momentum_readings", ["ramp_to", "constant"], "names from ('ramp_to', 'ramp_from')"),
    ("momentum_readings", [], "non-empty"),
    ("momentum_final", 0.1, "(momentum=0.2, 1)"),
    ("momentum_final", 1.0, "a number in (0, 1); above momentum"),
    ("momentum_final", "0.9", "YAML reads 1e-3 as a string"),
]


@pytest.mark.parametrize("name,value,fragment", BAD, ids=[f"{n}={v!r}" for n, v, _ in BAD])
def test_a_bad_parameter_is_refused_naming_it_and_its_value(name, value, fragment):
    with pytest.raises(ValueError) as err:
        parse(sl1.Params, {**SMOKE, name: value})
    msg = str(err.value)
    assert msg.startswith(f"{name}={value!r} is out of range; accepted: ") and fragment in msg, msg


def test_relations_between_parameters():
    # a method's λ grid may be empty only when the method is not compared; SL1's α grid likewise
    p = parse(sl1.Params, {**SMOKE, "methods": ["none", "l2"], "lams_sl1": [], "lams_group_l1": [], "alphas": [],
                           "sweep_alphas": [], "reading_alphas": []})
    assert p.methods == ["none", "l2"] and p.alphas == []
    # the α sweep needs SL1 among the methods
    with pytest.raises(ValueError, match=r"sweep_alphas=.*unless methods include 'sl1'"):
        parse(sl1.Params, {**SMOKE, "methods": ["none", "l2"]})
    with pytest.raises(ValueError, match=r"reading_alphas=.*unless methods include 'sl1'"):
        parse(sl1.Params, {**SMOKE, "methods": ["none", "l2"], "sweep_alphas": []})
    # the momentum readings must hold the headline reading; ramp_from's end lies above the momentum
    with pytest.raises(ValueError, match=r"momentum_final=0.9 .*\(momentum=0.95, 1\)"):
        parse(sl1.Params, {**SMOKE, "momentum": 0.95})
    # the batch may be as large as the smaller training pool: candidates (tune_subset) and final runs (train_subset)
    assert parse(sl1.Params, {**SMOKE, "batch_size": 1000}).batch_size == 1000
    with pytest.raises(ValueError, match=r"batch_size=801 .*\[1, 800\]"):
        parse(sl1.Params, {**SMOKE, "tune_subset": 800, "batch_size": 801})
    assert parse(sl1.Params, {**SMOKE, "train_subset": None, "tune_subset": None, "batch_size": 50_000})
    with pytest.raises(ValueError, match=r"batch_size=50001 .*\[1, 50000\]"):
        parse(sl1.Params, {**SMOKE, "train_subset": None, "tune_subset": None, "batch_size": 50_001})


def test_unknown_and_missing_names_are_listed():
    with pytest.raises(ValueError, match=r"unknown parameter\(s\) \['lrr'\], missing parameter\(s\) \['lrs'\]"):
        parse(sl1.Params, {**{k: v for k, v in SMOKE.items() if k != "lrs"}, "lrr": 0.1})
    with pytest.raises(ValueError, match=r"unknown parameter\(s\) \['seed'\]"):  # Run.start's, not this check's
        parse(sl1.Params, {**SMOKE, "seed": 0})
    with pytest.raises(ValueError, match="seed=-1"):
        sl1.tune_base_stage(parse(sl1.Params, SMOKE), seed=-1, device="cpu")


@pytest.mark.parametrize("profile", ["smoke", "default", "paper"])
def test_every_profile_passes_and_is_returned_normalised(profile):
    ns = notebook_params(profile)
    assert set(checked_keys(ns)) == set(sl1.Params.model_fields)  # the check covers every notebook parameter
    p = parse(sl1.Params, checked_keys(ns))
    assert p.model_dump() == checked_keys(ns) and parse(sl1.Params, p.model_dump()) == p
    for name in ("momentum", "prune_threshold", "momentum_final"):
        assert type(getattr(p, name)) is float
    for name in ("lrs", "alphas", "lams_sl1", "lams_group_l1", "lams_l2", "sweep_alphas", "sweep_lams",
                 "reading_alphas"):
        assert all(type(v) is float for v in getattr(p, name)), name
    assert parse(sl1.Params, {**checked_keys(ns), "momentum": 0}).momentum == 0.0


def test_the_notebook_checks_its_parameters_right_after_run_start():
    nb = json.loads((ROOT / "notebooks" / f"{NOTEBOOK}.ipynb").read_text())
    code = [c for c in nb["cells"] if c["cell_type"] == "code" and "parameters" not in c["metadata"].get("tags", [])]
    first = [ln for ln in "".join(code[0]["source"]).splitlines() if ln and not ln.startswith(("import", "from"))]
    assert "Run.start(" in first[0] and "sl1.Params.of(globals())" in first[1], first[:2]
    rest = "".join("".join(c["source"]) for c in code)
    for call in ("sl1.tune_base_stage(params", "sl1.tune_penalty_stage(params, base",
                 "sl1.reading_plan(params, chosen, ", "sl1.alpha_sweep_stage(params, chosen",
                 "sl1.headline_keys(params, chosen", 'mnist_tensors("test", params.train_subset, params.test_subset',
                 "print(\"selection rule:\"",
                 "## Reproducibility summary"):
        assert call in rest or any(call in "".join(c["source"]) for c in nb["cells"]), call
    # the test split is used once: only the final stage's runs (headline and readings, one plan) are evaluated on
    # it, after the readings and the rule for the headline are declared
    assert rest.count("reading_plan(") == 1 and "final_stage(" not in rest
    cells = ["".join(c["source"]) for c in nb["cells"]]
    rule = next(i for i, c in enumerate(cells) if "rule for the headline" in c)
    assert rule < next(i for i, c in enumerate(cells) if "sl1.reading_plan(" in c)


def test_deviations_record_the_momentum_a_short_run_reached():
    p = parse(sl1.Params, {**SMOKE, "momentum_ramp_epochs": 4, "epochs": 2, "tune_epochs": 1, "sweep_epochs": 1,
                           "momentum": 0.2})
    text = "\n".join(d["ours"] for d in sl1.deviations(p, CHOSEN, n_train=1000, n_test=500))
    assert "final runs (2 epochs) reach 0.1" in text and "candidate runs (1 epochs) reach 0.05" in text
    assert "α-sweep runs (1 epochs) reach 0.05" in text
    smoke = parse(sl1.Params, SMOKE)
    assert " reach " not in "\n".join(d["ours"] for d in sl1.deviations(smoke, CHOSEN, n_train=1000, n_test=500))
