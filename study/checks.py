"""Parameter and config checks shared by the experiments: one error format, exact key sets, number tests.

Every refusal names the parameter, the value and what is accepted, before any work starts (CONTRIBUTING.md).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any, TypeGuard


def out_of_range(name: str, value: Any, accepted: str) -> ValueError:
    """The study's error for a bad parameter: ``ValueError("<name>=<value!r> is out of range; accepted: ...")``."""
    return ValueError(f"{name}={value!r} is out of range; accepted: {accepted}")


def exact_keys(config: Any, keys: Iterable[str], what: str = "config") -> dict[str, Any]:
    """`config` itself when it is a dict with exactly the keys `keys`.

    Raises:
        ValueError: not a dict, or keys missing / unknown (both listed).
    """
    keys = set(keys)
    if not isinstance(config, dict) or set(config) != keys:
        got = set(config) if isinstance(config, dict) else set()
        raise ValueError(f"{what}={config!r}: missing keys {sorted(keys - got)}, unknown keys {sorted(got - keys)}")
    return config


def parameter_names(params: Any, names: Iterable[str]) -> dict[str, Any]:
    """A copy of a notebook's parameters `params` when they are a dict with exactly the names `names`.

    Raises:
        ValueError: not a dict, or unknown / missing names (all listed, with the accepted ones).
    """
    names = list(names)
    if not isinstance(params, dict):
        raise out_of_range("params", params, f"a dict of the parameters {names}")
    unknown, missing = [k for k in params if k not in names], [k for k in names if k not in params]
    if unknown or missing:
        raise ValueError(f"unknown parameter(s) {unknown}, missing parameter(s) {missing}; accepted: {names}")
    return dict(params)


def is_int(v: Any, low: int | None = None) -> bool:
    """An int (not a bool), at least `low` when given."""
    return isinstance(v, int) and not isinstance(v, bool) and (low is None or v >= low)


def is_num(v: Any) -> TypeGuard[float]:
    """A finite int or float (not a bool)."""
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def need(ok: bool, name: str, value: Any, accepted: str) -> None:
    """Raise `out_of_range(name, value, accepted)` unless `ok`."""
    if not ok:
        raise out_of_range(name, value, accepted)


#: Documented caps on the sizes no data set bounds (issue 19). Far above every profile (the paper profiles use at most
#: 5 seeds, 100 epochs, 1,024 hidden units, 20,000 Monte-Carlo samples), low enough that a slip such as 10**12 is
#: refused by name before any work instead of meeting a MemoryError after it or a run that never ends.
CAPS = {
    "seeds": 100,  # seeds of one row
    "epochs": 1_000,  # epochs of one run
    "steps": 100_000,  # warm-up or benchmark steps
    "width": 16_384,  # hidden units or channels of one layer
    "samples": 1_000_000,  # Monte-Carlo samples, points, images drawn or generated
    "repeats": 1_000,  # benchmark repetitions
    "grid": 10_000,  # candidate values of one grid (widths searched)
    "pixels": 1_024,  # side of a generated image
    "waves": 100,  # sine components of one generated curve
    "threads": 1_024,  # torch threads of one process
}
#: notebook seeds lie in [0, SEED_LIMIT): derived run seeds (seed·1000 + s + 100 at most) stay below torch's 2**63
SEED_LIMIT = 2**32


#: what a run config's device may be: resolved, present on this machine
DEVICE_ACCEPTED = "'cpu' or 'cuda[:n]' with a CUDA device n present here (resolved, never 'auto')"


def device_ok(device: Any) -> bool:
    """`device` is "cpu", or "cuda" / "cuda:n" with CUDA available and n < the number of devices."""
    import torch

    if device == "cpu":
        return True
    if not isinstance(device, str) or not device.startswith("cuda") or not torch.cuda.is_available():
        return False
    index = device[len("cuda") :]
    if index == "":
        return True
    return (
        index[0] == ":" and index[1:].isascii() and index[1:].isdigit() and int(index[1:]) < torch.cuda.device_count()
    )


def capped(p: dict[str, Any], name: str, low: int, kind: str) -> int:
    """p[name] when it is an int in [low, `CAPS[kind]`], the cap named in the message.

    Raises:
        ValueError: otherwise (`int_in`'s message, with the cap's reason).
    """
    return int_in(p, name, low, CAPS[kind], f" (the study's cap on {kind}, study.checks.CAPS)")


def seed_in(p: dict[str, Any], name: str = "seed") -> int:
    """p[name] when it is an int in [0, `SEED_LIMIT`).

    Raises:
        ValueError: otherwise, naming the parameter, the value and the range.
    """
    return int_in(p, name, 0, SEED_LIMIT - 1, " (2**32 - 1: the run seeds derived from it stay below 2**63)")


def int_in(p: dict[str, Any], name: str, low: int, high: int | None = None, why: str = "") -> int:
    """p[name] when it is an int (not a bool, not a float) in [low, high]; `why` explains the bounds.

    Raises:
        ValueError: otherwise (`out_of_range`, plus `text_hint` for a value that arrived as text).
    """
    v = p[name]
    accepted = f"an integer >= {low}" if high is None else f"an integer in [{low}, {high}]"
    need(is_int(v, low) and (high is None or v <= high), name, v, accepted + why + text_hint(v, "number"))
    return v


#: what text is usually a slip for, added to the message when a number, flag or list arrives as a string
TEXT_HINTS = {
    "number": "; got text: YAML reads 1e-3 as a string (write 1.0e-3)",
    "flag": "; got text: write True / False (YAML: true / false)",
    "list": "; got text: papermill -p passes a list as text (use -y, or the profile's YAML file)",
}


def text_hint(value: Any, kind: str) -> str:
    """The `TEXT_HINTS` line for a value that arrived as text: `value` a string where a "number", "flag", "list" (of
    numbers) or "names" (a list of names) belongs, or a string inside a "list"; "" otherwise and for kind "name"."""
    if isinstance(value, str) and kind != "name":
        return TEXT_HINTS["list" if kind == "names" else kind]
    if kind == "list" and isinstance(value, (list, tuple)) and any(isinstance(v, str) for v in value):
        return TEXT_HINTS["number"]
    return ""


def names_problem(value: Any, allowed: Any, *, empty_ok: bool) -> str | None:
    """None when `value` is a list of distinct names from `allowed` (non-empty unless `empty_ok`), else what is
    wrong with it (" (unknown: [...])", " (repeated: [...])" or "")."""
    if not isinstance(value, (list, tuple)) or not (value or empty_ok) or not all(isinstance(v, str) for v in value):
        return ""
    unknown = [v for v in value if v not in allowed]
    repeated = sorted({v for v in value if value.count(v) > 1})
    if unknown or repeated:
        return f" (unknown: {unknown})" if unknown else f" (repeated: {repeated})"
    return None
