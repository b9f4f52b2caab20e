"""The machine check (study.machine_check): which runs it re-runs, how verdicts are compared, how the report shows it."""
import json
from pathlib import Path

from study import claims as cl
from study import machine_check, results, runs


def test_sample_takes_the_lowest_seed_of_every_run_family():
    cfgs = [{"method": m, "lr": lr, "seed": s} for m in ("a", "b") for lr in (0.1, 1.0) for s in (2, 0, 1)]
    chosen = machine_check.sample([(Path(f"e{i}"), c) for i, c in enumerate(cfgs)])
    assert len(chosen) == 4 and {c["seed"] for _, c in chosen} == {0}
    assert {(c["method"], c["lr"]) for _, c in chosen} == {("a", 0.1), ("a", 1.0), ("b", 0.1), ("b", 1.0)}


def test_entries_are_read_from_a_real_store(tmp_path):
    res = runs.Result(rows=results.tidy([{"metric": "m", "value": 1.0}]),
                      meta={"config": {"seed": 3, "lr": 0.1}, "cpu_capability": "AVX2"})
    runs._write_entry(tmp_path, "toy", "ab" * 16, res)
    ((path, config),) = machine_check._entries(tmp_path)
    assert config == {"seed": 3, "lr": 0.1} and path == runs.entry_dir(tmp_path, "toy", "ab" * 16)


def _claim(name, values, deps=("r",)):
    return cl.judge("P", name, "point", values, paper_value=1.0, quantity="ratio", depends_on=list(deps))


def test_compare_marks_changed_verdicts_and_the_report_shows_them(tmp_path):
    from study import report
    same, flips = _claim("stays", [1.0, 1.0, 1.0]), _claim("flips", [1.0, 1.0, 1.0])
    original = {"env": {"cpu_capability": "AVX512", "git": "abc"}, "claims": [same, flips]}
    other = {"claims": [same, _claim("flips", [0.5, 0.5, 0.5])]}
    r = machine_check.compare(original, other, to="DEFAULT", sample_text="seed 0 of 2 families re-run")
    assert r["sensitive"] == ["flips"] and r["claims"]["flips"]["verdict"] == "not reproduced"
    assert not r["claims"]["stays"]["sensitive"] and r["from"] == "AVX512"
    folder = tmp_path / "02_x"
    results.write_headline(folder, notebook="02_x", profile="smoke", wall_s=1.0,
                           env={"cpu_capability": "AVX512", "git": "abc"}, metrics={}, claims=[same, flips])
    (folder / machine_check.RESULT).write_text(json.dumps(r))
    head, problems = report.load_headline(folder / "headline.json")
    assert problems == [] and head["claims"][1]["machine"]["sensitive"] is True
    assert report.fmt_machine(head["claims"][1]).startswith("machine-sensitive (AVX512 → DEFAULT")
    assert cl.counts(head["claims"])["machine-sensitive"] == 1
    # a check made for another commit is not applied
    (folder / machine_check.RESULT).write_text(json.dumps({**r, "git": "other"}))
    head, problems = report.load_headline(folder / "headline.json")
    assert "machine" not in head["claims"][1] and "not this headline's" in problems[0]


def test_reran_counts_the_entries_computed_under_the_other_capability(tmp_path):
    for key, cap in (("aa" * 16, "AVX512"), ("bb" * 16, "DEFAULT")):
        runs._write_entry(tmp_path, "toy", key, runs.Result(rows=results.tidy([{"metric": "m", "value": 1.0}]),
                                                            meta={"config": {"seed": 0}, "cpu_capability": cap}))
    assert machine_check.reran(tmp_path, "default") == 1 and machine_check.reran(tmp_path, "avx2") == 0
