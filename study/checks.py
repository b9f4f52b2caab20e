"""Parameter and config checks shared by the experiments: one error format, exact key sets, number tests.

Every refusal names the parameter, the value and what is accepted, before any work starts (CONTRIBUTING.md).
"""
from __future__ import annotations

import math
from typing import Any, Iterable


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


def is_int(v: Any, low: int | None = None) -> bool:
    """An int (not a bool), at least `low` when given."""
    return isinstance(v, int) and not isinstance(v, bool) and (low is None or v >= low)


def is_num(v: Any) -> bool:
    """A finite int or float (not a bool)."""
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
