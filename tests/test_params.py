"""study.params: declared parameters (issue 20, item 2) -- the checks and messages derived from one declaration, the
README table and YAML schemas generated from it and kept current, and the run modules kept apart from the rest."""

import json
import math
import subprocess
import sys
from typing import Annotated, Literal

import jsonschema
import pytest
import yaml
from notebook_params import profile_values
from pydantic import Field, ValidationError, model_validator

from study import checks, params, runs
from study.params import Declared, Decreasing, Distinct, parse


class Toy(Declared):
    epochs: int = Field(ge=1, le=checks.CAPS["epochs"], description="passes over the data")
    subset: int | None = Field(ge=1, le=60_000)
    lr: float = Field(gt=0)
    momentum: float = Field(ge=0, lt=1)
    loss: Literal["entropy_error", "cross_entropy"]
    lams: Annotated[list[Annotated[float, Field(ge=0)]], Distinct, Decreasing]
    flag: bool
    names: list[Literal["a", "b"]]

    @model_validator(mode="after")
    def _ramp(self) -> "Toy":
        if self.momentum > 0.5 and self.epochs < 2:
            raise checks.out_of_range("momentum", self.momentum, "at most 0.5 with a single epoch")
        return self


GOOD = {"epochs": 2, "subset": None, "lr": 0.1, "momentum": 0.2, "loss": "entropy_error", "lams": [0.1, 0.01],
        "flag": False, "names": ["a"]}


def test_good_values_parse_frozen_and_typed():
    p = parse(Toy, GOOD)
    assert p.lr == 0.1 and isinstance(p.momentum, float) and p.lams == [0.1, 0.01]
    assert isinstance(parse(Toy, {**GOOD, "lr": 1}).lr, float)  # an int is a number
    with pytest.raises(ValidationError, match="frozen"):
        p.epochs = 3  # type: ignore[misc]


@pytest.mark.parametrize("name,value,accepted", [
    ("epochs", 0, "an integer in [1, 1000]"),
    ("epochs", 10**12, "an integer in [1, 1000]"),
    ("epochs", True, "an integer in [1, 1000]"),            # a bool is not an int
    ("epochs", 2.0, "an integer in [1, 1000]"),             # nor is a float with an integral value
    ("subset", 0, "an integer in [1, 60000] or None"),
    ("lr", 0.0, "a number > 0"),
    ("lr", math.nan, "a number > 0"),                       # never a silent NaN
    ("lr", math.inf, "a number > 0"),
    ("lr", "1e-3", "a number > 0; got text: YAML reads 1e-3 as a string"),
    ("momentum", 1.0, "a number in [0, 1)"),
    ("loss", "hinge", "one of ('entropy_error', 'cross_entropy')"),
    ("lams", [0.01, 0.1], "a list of numbers >= 0, distinct, strongest first (decreasing) (not in decreasing order)"),
    ("lams", [0.1, 0.1], "distinct, strongest first (decreasing) (repeated: 0.1)"),
    ("lams", [-1.0], "a list of numbers >= 0"),
    ("lams", (0.1,), "a list of numbers"),
    ("lams", "[0.1]", "papermill -p passes a list as text"),
    ("flag", "yes", "True or False; got text: write True / False"),
    ("names", "a", "a list of names from ('a', 'b'); got text: papermill -p passes a list as text"),
    ("names", ["c"], "a list of names from ('a', 'b') (at 0: input should be 'a' or 'b')"),
])
def test_a_bad_value_is_named_with_what_is_accepted(name, value, accepted):
    with pytest.raises(ValueError) as e:
        parse(Toy, {**GOOD, name: value})
    msg = str(e.value)
    assert msg.startswith(f"{name}={value!r} is out of range; accepted: "), msg
    assert accepted in msg, msg


def test_unknown_and_missing_names_are_all_listed():
    bad = {k: v for k, v in GOOD.items() if k not in ("lr", "flag")} | {"lrr": 0.1, "epoch": 1}
    with pytest.raises(ValueError, match=r"unknown parameter\(s\) \['lrr', 'epoch'\], missing parameter\(s\) "
                                         r"\['lr', 'flag'\]; accepted: \['epochs'"):
        parse(Toy, bad)
    with pytest.raises(ValueError, match=r"params=\[1\] is out of range; accepted: a dict of the parameters"):
        parse(Toy, [1])  # type: ignore[arg-type]


def test_of_takes_the_declared_names_from_a_namespace():
    """`Declared.of(globals())`: the notebook's way; other names in the namespace are ignored, a missing one named."""
    assert Toy.of({**GOOD, "profile": "smoke", "np": object()}) == parse(Toy, GOOD)
    with pytest.raises(ValueError, match=r"missing parameter\(s\) \['flag'\]"):
        Toy.of({k: v for k, v in GOOD.items() if k != "flag"})


def test_a_relation_keeps_its_own_message():
    with pytest.raises(ValueError, match=r"^momentum=0.7 is out of range; accepted: at most 0.5 with a single epoch$"):
        parse(Toy, {**GOOD, "momentum": 0.7, "epochs": 1})
    assert parse(Toy, {**GOOD, "momentum": 0.7}).momentum == 0.7


def test_table_and_schema_come_from_the_declaration():
    table = params.markdown_table(Toy)
    assert "| `epochs` | an integer in [1, 1000] | passes over the data |" in table
    assert table.count("\n") == 2 + len(Toy.model_fields) - 1
    s = params.schema(Toy)
    assert s["additionalProperties"] is False and "required" not in s
    assert s["properties"]["epochs"]["maximum"] == 1000 and "seed" in s["properties"]


# ------------------------------------------------------------------------------------------- the four notebooks
NOTEBOOKS = sorted(params.NOTEBOOK_MODELS)
RUN_START = {"profile", "seed", "device", "out_dir", "executor"}


@pytest.mark.parametrize("nb", NOTEBOOKS)
@pytest.mark.parametrize("profile", ["smoke", "default", "paper"])
def test_every_profile_parses_and_its_yaml_fits_the_schema(nb, profile):
    model = params.load(params.NOTEBOOK_MODELS[nb])
    values = {k: v for k, v in profile_values(nb, profile).items() if k not in RUN_START}
    assert set(values) == set(model.model_fields)  # the parameters cell declares exactly the model's fields
    assert parse(model, values).model_dump() == values  # and parses to the same values
    text = (params.ROOT / "notebooks" / "params" / profile / f"{nb}.yaml").read_text()
    assert text.startswith(f"# yaml-language-server: $schema=../schema/{nb}.schema.json\n")  # editors validate
    schema = json.loads((params.SCHEMA_DIR / f"{nb}.schema.json").read_text())
    jsonschema.validate(yaml.safe_load(text) or {}, schema)  # the file itself, as an editor would check it
    with pytest.raises(jsonschema.ValidationError):  # and the schema does refuse
        jsonschema.validate({**(yaml.safe_load(text) or {}), "no_such_parameter": 1}, schema)


def test_generated_files_are_current():
    """`python -m study.params` would change nothing: the README's tables and the schemas match the declarations."""
    stale = [str(p.relative_to(params.ROOT)) for p, text in params.generated().items()
             if not p.exists() or p.read_text() != text]
    assert not stale, f"run `python -m study.params`: stale {stale}"


#: what a run's key must also reach (a class the run calls through an instance, not by name)
REACHED = {"mi": ("def study.experiments.mi.run.EvalPass.__call__",)}


@pytest.mark.parametrize("paper", ["foundations", "sl1", "rvsm", "mi"])
def test_run_modules_hold_only_what_computes_a_run(paper):
    """A paper's run.py imports no plotting, and its run functions' key reaches none of the package's other modules
    (editing a claim, a plan, a parameter's description or a figure never re-trains a network)."""
    code = (f"import sys, study.experiments.{paper}.run as r; "
            "print(any(m.split('.')[0] in ('matplotlib', 'seaborn') for m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
    import importlib
    mod = importlib.import_module(f"study.experiments.{paper}.run")
    fns = [f for f in vars(mod).values() if callable(f) and isinstance(getattr(f, "experiment", None), str)]
    assert fns, f"no run function in study.experiments.{paper}.run"
    configs = [c for c in vars(mod).values() if isinstance(c, type) and issubclass(c, Declared) and c is not Declared]
    assert configs, f"no run config model in study.experiments.{paper}.run"
    for c in configs:  # every value a run reads is in its stored config, so in its key: no default fills one in
        assert not [k for k, f in c.model_fields.items() if not f.is_required()], c.__name__
    folder = params.ROOT / "study" / "experiments" / paper
    others = tuple(f"study.experiments.{paper}.{p.stem}" for p in folder.glob("*.py") if p.stem not in ("run", "__init__"))
    assert {f"study.experiments.{paper}.{m}" for m in ("params", "plan", "claims", "figures")} <= set(others)
    for f in fns:
        src = runs.code_sources(f)
        assert f"def study.experiments.{paper}.run.{f.__qualname__}" in src
        assert all(k in src for k in REACHED.get(paper, ())), REACHED[paper]
        reached = [k for k in src if any(f"{o}." in k or k.endswith(o) for o in others)]
        assert not reached, (f.__name__, reached)


@pytest.mark.parametrize("paper", ["foundations", "sl1", "rvsm", "mi"])
def test_every_paper_package_has_the_five_modules_none_over_400_lines(paper):
    """Issue 20: run, params, plan, claims, figures in every package; a larger paper adds modules, never lines."""
    folder = params.ROOT / "study" / "experiments" / paper
    assert {"run.py", "params.py", "plan.py", "claims.py", "figures.py"} <= {p.name for p in folder.glob("*.py")}
    long = {p.name: n for p in folder.glob("*.py") if (n := len(p.read_text().splitlines())) > 400}
    assert not long, long
