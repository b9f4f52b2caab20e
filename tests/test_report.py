"""The report index: reads headline.json files, shows metrics, verdicts and environment, flags notebooks not run."""
import json

from study import report, results


def test_index_shows_metrics_claims_env_and_missing_runs(tmp_path):
    ok = tmp_path / "01_demo"
    ok.mkdir()
    claim = results.claim("Paper A", "Table 1 accuracy", 0.99, 0.95, ours_std=0.001, n=3, unit="fraction", tol=0.005)
    results.write_headline(ok, notebook="01_demo", profile="default", wall_s=123.4,
                           env={"torch": "2.x", "device": "cpu", "threads": 2, "git": "abc1234"},
                           runs={"total": 12, "cached": 9, "ran": 3, "failed": 0, "executor": "processes"},
                           metrics={"test_accuracy/sl1": {"mean": 0.9876, "std": 0.001, "n": 3, "unit": "fraction"}},
                           claims=[claim], deviations=["28 px instead of 104 px"])
    (tmp_path / "02_never_ran").mkdir()
    index = report.build(tmp_path, render=False)
    page = index.read_text()
    assert "98.76 %" in page and "abc1234" in page and "28 px instead of 104 px" in page
    assert claim["verdict"] == "not reproduced" and "not reproduced" in page
    assert "12: 9 cached / 3 ran / 0 failed (processes)" in page
    assert "02_never_ran" in page and "not run" in page.lower()
    assert json.loads((ok / "headline.json").read_text())["wall_s"] == 123.4
