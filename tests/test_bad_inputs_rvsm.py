"""Notebook 02's parameters are all checked before any work (issue 12, item 1; declared once, issue 20):
`study.experiments.rvsm.Params`, parsed by `study.params.parse` as the notebook's first cell does.

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
from pydantic import ValidationError

from study.experiments import rvsm
from study.params import parse

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK = "02_rvsm_curves"
RUN_START = {"profile", "seed", "device", "out_dir", "executor"}  # checked by study.run.Run.start (seed: plans too)


def notebook_params(profile: str) -> dict:
    """The notebook's parameters under `profile`: its parameters cell, overridden by the profile's YAML file."""
    return profile_values(NOTEBOOK, profile)


def checked_keys(ns: dict) -> dict:
    return {k: v for k, v in ns.items() if k not in RUN_START}


SMOKE = checked_keys(notebook_params("smoke"))   # n_train 256, n_val 64, batch_grid [32]

BAD = [  # (parameter, bad value, fragment of the message)
    ("readings", {"normalize": ["l2"]}, "distinct names of ('max', 'max_comp', 'rel', 'unit', 'none')"),
    ("readings", {"normalize": []}, "a non-empty 'normalize' list"),
    ("readings", {"normalize": ["max"], "lr": [0.1]}, "unknown: ['lr']"),
    ("readings", {"normalize": ["max", "max"]}, "distinct names"),
    ("readings", {"normalize": ["max"], "epochs": [0]}, "distinct integers in [1, 1000]"),
    ("readings", {"normalize": ["max"], "epochs": [10**12]}, "distinct integers in [1, 1000]"),
    ("readings", {"normalize": ["max"], "weight_decay": [-1.0]}, "distinct numbers in [0, 1]"),
    ("readings", {"normalize": ["max"], "weight_decay": [1e308]}, "distinct numbers in [0, 1]"),
    ("init", "xavier", "one of ('torch', 'glorot')"),
    ("weight_decay", -0.1, "a number in [0, 1]"),
    ("weight_decay", 1e308, "a number in [0, 1]"),
    ("coupling", "inside", "('through', 'outside')"),
    ("tune_dataset", "digits", "one of ('letters', 'shapes')"),
    ("n_val", 256, "[1, 127]"),
    ("n_val", 128, "[1, 127] (carved out of n_train: the rest then holds more images than one class has"),
    ("n_val", 0, "an integer >= 1; at most n_train // 2 - 1 (carved out of n_train"),
    ("n_val", 16.0, "an integer >= 1; at most n_train // 2 - 1"),
    ("lr_grid", [0, 0.01], "a list of numbers > 0"),
    ("lr_grid", [], "a list of numbers > 0, non-empty"),
    ("lr_grid", ["0.001"], "YAML reads 1e-3 as a string"),
    ("lr_grid", [math.nan], "a list of numbers > 0"),
    ("lr_grid", [0.01, 0.01], "distinct"),
    ("epochs_grid", [True], "a list of integers in [1, 1000]"),
    ("epochs_grid", [0, 3], "a list of integers in [1, 1000]"),
    ("epochs_grid", [10**12], "a list of integers in [1, 1000]"),
    ("n_seeds", 10**12, "an integer in [1, 100]; the upper bound is the study's cap on seeds (study.checks.CAPS)"),
    ("warmup_steps", 10**12, "an integer in [0, 100000]"),
    ("bench_steps", 10**12, "an integer in [1, 100000]"),
    ("image_size", 10**6, "an integer in [8, 1024]"),
    ("n_train", 10**12, "an integer in [4, 1000000]"),
    ("n_train", 2, "an integer in [4, 1000000]"),
    ("n_waves", 10**9, "an integer in [1, 100]"),
    ("batch_grid", [193], "[1, n_train - n_val = 192]"),
    ("batch_grid", [0], "a list of integers >= 1, non-empty, distinct; at most n_train - n_val"),
    ("batch_grid", [16.0], "at most n_train - n_val (at 0: input should be a valid integer)"),
    ("warmup_steps", -1, "an integer in [0, 100000]"),
    ("clip", 0.0, "a number > 0 or None"),
    ("standardize", "yes", "True or False"),
    ("nesterov", 1, "True or False"),
    ("epoch_end_hard", None, "True or False"),
    ("adam_lr", 0, "a number > 0"),
    ("image_size", 20, "a multiple of 8"),
    ("image_size", 4, "an integer in [8, 1024]"),
    ("n_train", 63, "an integer in [4, 1000000]; even (balanced classes)"),
    ("n_test", 0, "an integer in [4, 1000000]"),
    ("n_test", 7, "an integer in [4, 1000000]; even (balanced classes)"),
    ("letters_amplitude", [0.05, 0.03], "0 < min <= max"),
    ("shapes_wavelength", [0.12], "[min, max]"),
    ("letters_wavelength", "[0.12, 0.24]", "papermill -p passes a list as text"),
    ("shapes_amplitude", [0.0, 0.05], "0 < min <= max"),
    ("n_waves", 0, "an integer in [1, 100]"),
    ("elastic_sigma", 0.0, "a number > 0"),
    ("elastic_alpha", -1.0, "a number >= 0"),
    ("datasets", ["letters", "digits"], "(at 1: input should be 'letters' or 'shapes')"),
    ("datasets", [], "a list of names from ('letters', 'shapes'), non-empty"),
    ("datasets", ["shapes", "shapes"], "distinct (repeated: 'shapes')"),
    ("datasets", "letters", "papermill -p passes a list as text"),
    ("momentum", 1.0, "[0, 1)"),
    ("beta", 0, "a number > 0"),
    ("lam", -1e-4, "a number >= 0"),
    ("lam", "5e-4", "YAML reads 1e-3 as a string"),
    ("lam_grid", [1e-4, -1e-4], "numbers >= 0"),
    ("lam_grid", [1e-4, 1e-4], "distinct"),
    ("lam_grid", [1e-4, "5e-4"], "YAML reads 1e-3 as a string"),
    ("val_tolerance", 1.5, "[0, 1]"),
    ("tl1_a", [0.1, 1.0], "smallest 0.01 and largest 100"),
    ("tl1_a", [0.01, 0.1, 0.10000001, 100.0], "distinct as method names"),
    ("tl1_a", [], "smallest 0.01"),
    ("tl1_a", [0.01, -1.0, 100.0], "numbers > 0"),
    ("n_seeds", 0, "an integer in [1, 100]"),
    ("n_seeds", 1.5, "an integer in [1, 100]"),
    ("ablations", ["rvsm_l2"], "names from ('coupling_outside', 'epoch_end_H', 'public_code_parts')"),
    ("ablations", ["epoch_end_H", "epoch_end_H"], "repeated"),
    ("ablations", ["adam"], "names from ('coupling_outside', 'epoch_end_H', 'public_code_parts')"),   # Adam is a reading now, not an ablation
    ("channels_last", "yes", "True or False"),
    ("bench_steps", 0, "an integer in [1, 100000]"),
    ("bench_batch", 257, "at most n_train"),
    ("si_sparsities", [], "non-empty"),
    ("si_sparsities", [0.5, 1.5], "a list of numbers in [0, 1]"),
]


@pytest.mark.parametrize("name,value,fragment", BAD, ids=[f"{n}={v!r}" for n, v, _ in BAD])
def test_a_bad_parameter_is_refused_naming_it_and_its_value(name, value, fragment):
    with pytest.raises(ValueError) as err:
        parse(rvsm.Params, {**SMOKE, name: value})
    msg = str(err.value)
    assert f"{name}={value!r}" in msg and "accepted" in msg and fragment in msg, msg


@pytest.mark.parametrize("seed", [-1, 2**64, 1.0, True])
def test_a_bad_seed_is_refused_by_every_plan_before_any_config(seed):
    """The seed is `study.run.Run.start`'s (not a field of `Params`); the plans that take it check it again."""
    p = parse(rvsm.Params, SMOKE)
    sched = {"lr": 0.003, "batch_size": 16, "epochs": 1}
    for plan in (lambda: rvsm.schedule_plan(p, seed=seed, device="cpu"), lambda: rvsm.normalization_plan(p, sched, seed=seed, device="cpu"),
                 lambda: rvsm.lambda_plan(p, sched, "max", seed=seed, device="cpu"),
                 lambda: rvsm.main_plan(p, sched, {}, "max", seed=seed, device="cpu")):
        with pytest.raises(ValueError, match=r"seed=.* is out of range; accepted: an integer in \[0, 4294967295\]"):
            plan()


def test_relations_between_parameters():
    # the batch grid must fit the training images left after carving out n_val
    assert parse(rvsm.Params, {**SMOKE, "n_val": 32, "batch_grid": [32]}).batch_grid == [32]
    with pytest.raises(ValueError, match=r"batch_grid=\[130\] .*n_train - n_val = 129"):
        parse(rvsm.Params, {**SMOKE, "n_val": 127, "batch_grid": [130]})
    # the tuning data set must be one of the data sets run
    with pytest.raises(ValueError, match=r"tune_dataset='letters'.*one of \('shapes',\)"):
        parse(rvsm.Params, {**SMOKE, "datasets": ["shapes"], "tune_dataset": "letters"})
    # clip None is allowed (off)
    assert parse(rvsm.Params, {**SMOKE, "clip": None}).clip is None


def test_unknown_and_missing_names_are_listed_and_params_is_always_checked():
    with pytest.raises(ValueError, match=r"unknown parameter\(s\) \['lrr'\], missing parameter\(s\) \['lr_grid'\]"):
        parse(rvsm.Params, {**{k: v for k, v in SMOKE.items() if k != "lr_grid"}, "lrr": 0.1})
    with pytest.raises(ValueError, match=r"unknown parameter\(s\) \['seed'\]"):  # Run.start's, not a parameter here
        parse(rvsm.Params, {**SMOKE, "seed": 0})
    with pytest.raises(ValidationError):  # built directly, not parsed: still validated (pydantic)
        rvsm.Params(**{**SMOKE, "init": "l2"})
    with pytest.raises(ValidationError):  # frozen
        parse(rvsm.Params, SMOKE).lam = 1.0


@pytest.mark.parametrize("profile", ["smoke", "default", "paper"])
def test_every_profile_passes_and_is_returned_normalised(profile):
    ns = checked_keys(notebook_params(profile))
    assert set(ns) == set(rvsm.Params.model_fields)  # the declaration covers every notebook parameter
    P = parse(rvsm.Params, ns)
    assert P.model_dump() == ns and parse(rvsm.Params, P.model_dump()) == P
    assert all(type(v) is float for k in ("tl1_a", "lam_grid", "letters_amplitude", "lr_grid") for v in getattr(P, k))
    assert type(parse(rvsm.Params, {**ns, "beta": 1}).beta) is float


@pytest.mark.parametrize("profile", ["default", "paper"])
def test_default_and_paper_profiles_run_the_papers_protocol(profile):
    """SGD headline rows at the paper's λ = 5e-4, β = 0.1, >= 3 seeds per row; paper: >= 20 epochs, 104 px."""
    P = parse(rvsm.Params, checked_keys(notebook_params(profile)))
    assert P.headline()["optimizer"] == "sgd" and (P.lam, P.beta) == (rvsm.PAPER_LAM, rvsm.PAPER_BETA)
    assert P.n_seeds >= 3
    # the normalisation and the initialisation are run under >= 2 readings (issue 18), max|w| as written included
    assert len(P.readings["normalize"]) >= 2 and "max" in P.readings["normalize"]
    assert "none" in P.readings["normalize"] and set(P.readings["init"]) == set(rvsm.INITS)
    if profile == "paper":
        assert min(P.epochs_grid) >= 20 and P.image_size == 104
        assert set(P.readings) == set(rvsm.OPEN_CHOICES) and {10, 20} <= set(P.readings["epochs"])


def test_the_notebook_checks_its_parameters_right_after_run_start():
    nb = json.loads((ROOT / "notebooks" / f"{NOTEBOOK}.ipynb").read_text())
    code = [c for c in nb["cells"] if c["cell_type"] == "code" and "parameters" not in c["metadata"].get("tags", [])]
    first = [ln for ln in "".join(code[0]["source"]).splitlines() if ln and not ln.startswith(("import", "from"))]
    assert "Run.start(" in first[0] and "rvsm.Params.of(globals())" \
        in first[1], first[:2]
