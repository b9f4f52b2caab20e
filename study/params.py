"""Declared parameters (issue 20): each paper's notebook parameters and run config are one pydantic v2 model.

A model derived from `Declared` is the one place a parameter is declared: its type (``int`` is never a bool or a
float, a number is never text; ``Literal`` for closed sets; ``X | None``), its bounds (``Field(ge=, le=, gt=, lt=)``),
its description, and the relations between parameters (``model_validator``). From it come

* the check and its message (`parse`): ``ValueError("<name>=<value!r> is out of range; accepted: <what>")``, the
  study's one error format (`checks.out_of_range`), with what is accepted derived from the declaration (`accepted`);
* the parameter table of the README (`markdown_table`) and the JSON schema of the profiles' YAML files (`schema`),
  both written by ``python -m study.params`` and compared with the committed copies by ``tests/test_params.py``.
"""

from __future__ import annotations

import json
import sys
import types
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar, Union, get_args, get_origin

import annotated_types as at
from pydantic import AfterValidator, BaseModel, ConfigDict, ValidationError
from pydantic.fields import FieldInfo

from study import checks

M = TypeVar("M", bound=BaseModel)
D = TypeVar("D", bound="Declared")


class Declared(BaseModel):
    """Base of every declared parameter set and run config: unknown names refused, values frozen, no coercion (an
    int is not a bool or a float, a number not a string, a list not a tuple), NaN and ±inf refused."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, allow_inf_nan=False)

    @classmethod
    def of(cls: type[D], namespace: Mapping[str, Any]) -> D:
        """The declared parameters taken by name from `namespace` (a notebook's ``globals()``, where papermill put
        them), parsed by `parse` (a name the namespace lacks is reported missing)."""
        return parse(cls, {k: namespace[k] for k in cls.model_fields if k in namespace})


#: validator -> what it requires, in words (`rule`); `accepted` reads it from a field's metadata
RULES: dict[Any, str] = {}


def rule(text: str) -> Any:
    """Decorator: a check ``fn(value) -> value`` (raising ValueError with what is wrong) as a pydantic
    ``AfterValidator`` whose requirement `text` joins the field's accepted text, e.g. ``Annotated[list[float],
    rule("distinct")(no_repeats)]``."""

    def deco(fn: Any) -> AfterValidator:
        RULES[fn] = text
        return AfterValidator(fn)

    return deco


@rule("distinct")
def _distinct(v: list[Any]) -> list[Any]:
    repeated = sorted({repr(x) for x in v if v.count(x) > 1})
    if repeated:
        raise ValueError(f"repeated: {', '.join(repeated)}")
    return v


@rule("strongest first (decreasing)")
def _decreasing(v: list[Any]) -> list[Any]:
    if any(a <= b for a, b in zip(v, v[1:])):
        raise ValueError("not in decreasing order")
    return v


#: `Annotated` markers for lists: no value twice; strictly decreasing
Distinct, Decreasing = _distinct, _decreasing


@rule(checks.DEVICE_ACCEPTED)
def _resolved_device(v: str) -> str:
    if not checks.device_ok(v):
        raise ValueError("not a resolved device present here")
    return v


#: a run config's device: "cpu" or "cuda[:n]" present on this machine (`checks.device_ok`), never "auto"
ResolvedDevice = Annotated[str, _resolved_device]


def _kind(annotation: Any) -> str:
    """What an annotation accepts, in words: "an integer", "a number", "one of ('a', 'b')", "a list of ..."."""
    origin, args = get_origin(annotation), get_args(annotation)
    if origin in (Union, types.UnionType):
        rest = [a for a in args if a is not type(None)]
        text = " or ".join(_kind(a) for a in rest)
        return text + " or None" if len(rest) < len(args) else text
    if origin is Literal:
        return f"one of {args!r}"
    if origin is list:
        item = _kind(args[0]) if args else "values"
        for one, many in (("an integer", "integers"), ("a number", "numbers"), ("one of", "names from")):
            item = many + item[len(one) :] if item.startswith(one) else item
        return f"a list of {item}"
    if origin is dict:
        return "a mapping"
    if get_origin(annotation) is not None and hasattr(annotation, "__metadata__"):  # Annotated[x, ...]
        return _kind(args[0]) + _bounds(list(annotation.__metadata__))
    return {int: "an integer", float: "a number", bool: "True or False", str: "text"}.get(
        annotation, getattr(annotation, "__name__", str(annotation))
    )


def _bounds(metadata: list[Any]) -> str:
    """The bounds in `metadata` as text: " in [1, 10]", " in (0, 1)", " >= 0", " > 0"."""
    lo: Any = None
    hi: Any = None
    lo_open = hi_open = False
    rules = ""
    flat: list[Any] = []
    for m in metadata:  # Annotated[float, Field(gt=0)] keeps its bounds in the FieldInfo
        flat += m.metadata if isinstance(m, FieldInfo) else [m]
    for m in flat:
        if isinstance(m, at.Ge):
            lo = m.ge
        elif isinstance(m, at.Gt):
            lo, lo_open = m.gt, True
        elif isinstance(m, at.Le):
            hi = m.le
        elif isinstance(m, at.Lt):
            hi, hi_open = m.lt, True
        elif isinstance(m, at.MinLen) and m.min_length:
            rules += ", non-empty"
        elif isinstance(m, AfterValidator) and m.func in RULES:
            rules += f", {RULES[m.func]}"
    if lo is not None and hi is not None:
        text = f" in {'(' if lo_open else '['}{lo}, {hi}{')' if hi_open else ']'}"
    elif lo is not None:
        text = f" {'>' if lo_open else '>='} {lo}"
    elif hi is not None:
        text = f" {'<' if hi_open else '<='} {hi}"
    else:
        text = ""
    return text + rules


def accepted(field: FieldInfo) -> str:
    """What `field` accepts, in words, from its declaration (type, bounds) and its ``json_schema_extra["accepted"]``
    when the declaration cannot say it (e.g. "strongest first")."""
    extra = field.json_schema_extra if isinstance(field.json_schema_extra, dict) else {}
    origin, args = get_origin(field.annotation), get_args(field.annotation)
    if origin in (Union, types.UnionType) and type(None) in args:
        rest = [a for a in args if a is not type(None)]
        text = " or ".join(_kind(a) for a in rest) + _bounds(field.metadata) + " or None"
    else:
        text = _kind(field.annotation) + _bounds(field.metadata)
    return text + (f"; {extra['accepted']}" if "accepted" in extra else "")


def _hint(annotation: Any, value: Any) -> str:
    """`checks.text_hint` for a value that arrived as text where a number, flag or list belongs."""
    text = repr(annotation)
    names = "Literal" in text
    if annotation is str or (names and "list" not in text):
        return ""
    if not isinstance(value, str):
        return checks.text_hint(value, "list") if isinstance(value, list) and not names else ""
    kind = "list" if "list" in text else "flag" if annotation is bool else "number"
    return checks.text_hint(value, kind)


def message(model: type[BaseModel], values: Mapping[str, Any], exc: ValidationError) -> str:
    """The study's message for the first problem of `exc` (all unknown and missing names at once)."""
    errors = exc.errors()
    unknown = [str(e["loc"][0]) for e in errors if e["type"] == "extra_forbidden"]
    missing = [str(e["loc"][0]) for e in errors if e["type"] == "missing"]
    if unknown or missing:
        return (
            f"unknown parameter(s) {unknown}, missing parameter(s) {missing}; "
            f"accepted: {list(model.model_fields)} (declared in {model.__module__}.{model.__name__})"
        )
    e = errors[0]
    if not e["loc"]:  # a relation between parameters (model_validator): its own message
        return str(e["msg"]).removeprefix("Value error, ")
    name = str(e["loc"][0])
    value = values.get(name, e.get("input"))
    field = model.model_fields[name]
    what = str(e["msg"]).removeprefix("Value error, ")
    at_ = ".".join(str(x) for x in e["loc"][1:])
    where = f" ({what})" if e["type"] == "value_error" else f" (at {at_}: {what[:1].lower() + what[1:]})" if at_ else ""
    return str(checks.out_of_range(name, value, accepted(field) + where + _hint(field.annotation, value)))


def parse(model: type[M], values: Mapping[str, Any]) -> M:
    """`values` as a validated, frozen `model`.

    Raises:
        ValueError: `values` not a mapping; unknown or missing names (all listed, with the accepted ones); or the first
            bad value, naming the parameter, the value and what is accepted (`message`).
    """
    if not isinstance(values, Mapping):
        raise checks.out_of_range("params", values, f"a dict of the parameters {list(model.model_fields)}")
    try:
        return model.model_validate(dict(values))
    except ValidationError as exc:
        raise ValueError(message(model, values, exc)) from None


def markdown_table(model: type[BaseModel]) -> str:
    """The README's table of `model`'s parameters: name, what is accepted, description."""
    rows = ["| parameter | accepted | meaning |", "| --- | --- | --- |"]
    for name, f in model.model_fields.items():
        rows.append(f"| `{name}` | {accepted(f).replace('|', '/')} | {(f.description or '').replace('|', '/')} |")
    return "\n".join(rows)


def schema(model: type[BaseModel]) -> dict[str, Any]:
    """JSON schema of a profile's YAML file for `model`: every parameter optional (a profile overrides the notebook's
    parameters cell), none other allowed."""
    s = model.model_json_schema()
    s.pop("required", None)
    s["additionalProperties"] = False
    for name in ("profile", "seed", "device", "out_dir", "executor"):  # read by study.run.Run.start
        s["properties"].setdefault(name, {"description": "notebook bookkeeping (study.run.Run.start)"})
    return s


#: notebook -> the model of its parameters ("module:Class"), for the README table and the YAML schemas
NOTEBOOK_MODELS = {
    "00_training_foundations": "study.experiments.foundations.params:Params",
    "01_sl1_mnist": "study.experiments.sl1.params:Params",
    "02_rvsm_curves": "study.experiments.rvsm.params:Params",
    "03_mi_regularization": "study.experiments.mi.params:Params",
}
ROOT = Path(__file__).resolve().parent.parent
SCHEMA_DIR = ROOT / "notebooks" / "params" / "schema"
README_BEGIN, README_END = "<!-- parameters: begin (python -m study.params) -->", "<!-- parameters: end -->"


def load(spec: str) -> type[BaseModel]:
    """The model named by ``"module:Class"``."""
    import importlib

    module, _, name = spec.partition(":")
    return getattr(importlib.import_module(module), name)


def generated() -> dict[Path, str]:
    """What ``python -m study.params`` writes: one schema per notebook and the README's parameter section."""
    out, section = {}, [README_BEGIN]
    for nb, spec in NOTEBOOK_MODELS.items():
        model = load(spec)
        out[SCHEMA_DIR / f"{nb}.schema.json"] = json.dumps(schema(model), indent=1, sort_keys=True) + "\n"
        section += ["", f"#### `{nb}` (`{spec.replace(':', '.')}`)", "", markdown_table(model)]
    readme = (ROOT / "README.md").read_text()
    head, _, rest = readme.partition(README_BEGIN)
    _, _, tail = rest.partition(README_END)
    if not rest:
        raise ValueError(f"README.md lacks the marker {README_BEGIN!r}")
    out[ROOT / "README.md"] = head + "\n".join(section) + "\n\n" + README_END + tail
    return out


def write() -> None:
    """Write `generated`, each file whole (`study.results.atomic_write_text`)."""
    from study import results

    for path, text in generated().items():
        results.atomic_write_text(path, text)
        print("wrote", path.relative_to(ROOT), file=sys.stderr)


if __name__ == "__main__":  # python -m study.params: through the imported module (its RULES are the ones in use)
    from study.params import write as _write

    _write()
