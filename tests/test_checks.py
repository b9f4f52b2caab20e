"""study.checks: the one error format and the number tests the experiments' config checks share."""
import math

import pytest

from study import checks


def test_exact_keys_lists_missing_and_unknown_keys():
    assert checks.exact_keys({"a": 1, "b": 2}, ["a", "b"]) == {"a": 1, "b": 2}
    with pytest.raises(ValueError, match=r"missing keys \['b'\], unknown keys \['c'\]"):
        checks.exact_keys({"a": 1, "c": 3}, ["a", "b"])
    with pytest.raises(ValueError, match="missing keys"):
        checks.exact_keys([("a", 1)], ["a"])


def test_number_tests_refuse_bools_and_non_finite_values():
    assert checks.is_int(3) and checks.is_int(3, low=3) and not checks.is_int(2, low=3)
    assert not checks.is_int(True) and not checks.is_int(3.0)
    assert checks.is_num(0.5) and checks.is_num(2)
    assert not any(checks.is_num(v) for v in (True, math.nan, math.inf, "1"))


def test_out_of_range_names_parameter_value_and_accepted_range():
    err = checks.out_of_range("config['lr']", -1.0, "a number > 0")
    assert str(err) == "config['lr']=-1.0 is out of range; accepted: a number > 0"


def test_int_in_names_the_bounds_and_hints_at_text():
    with pytest.raises(ValueError, match=r"n=0 is out of range; accepted: an integer in \[1, 60000\] \(why\)"):
        checks.int_in({"n": 0}, "n", 1, 60_000, " (why)")
    with pytest.raises(ValueError, match="YAML reads 1e-3 as a string"):
        checks.int_in({"n": "3"}, "n", 1)
    assert checks.int_in({"n": 5}, "n", 1, 5) == 5
