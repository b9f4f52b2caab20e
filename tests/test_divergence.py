"""A real run that diverges (a huge learning rate on a tiny SL1 run) yields no verdict for the claims that rest on it,
and only for those (issues 12 and 17)."""
import json

import pytest
from test_experiments_sl1 import tiny

from study import claims as claims_mod
from study import runs
from study.experiments import sl1
from study.run import Run


@pytest.mark.parametrize("lr", [50.0, 1000.0])
def test_huge_learning_rate_gives_no_verdict(tmp_path, monkeypatch, lr):
    monkeypatch.setenv("STUDY_RUNS", str(tmp_path / "runs"))
    monkeypatch.delenv("STUDY_EXECUTOR", raising=False)
    nb = Run.start("99_divergence", profile="smoke", out_dir=tmp_path / "out")
    configs = [tiny(lr=0.05, seed=0), tiny(lr=lr, seed=1)]
    try:
        res = nb.sweep(sl1.run, configs)
    except runs.SweepError as exc:  # a non-finite loss: the run failed, the notebook stops before any claim
        assert "FloatingPointError" in str(exc) or "non-finite" in str(exc)
        return
    assert res.counts["diverged"] >= 1, f"a run at lr={lr:g} neither failed nor was flagged"
    assert any(d["config"]["lr"] == lr for d in res.diverged)
    df = sl1.config_rows(res)
    bad = next(d["run"] for d in res.diverged if d["config"]["lr"] == lr)
    # a claim on the diverged run (and the notebook's own claims, which use every run here) keep no verdict ...
    on_bad = claims_mod.judge("Yang et al.", "accuracy", "point", [0.9, 0.9, 0.9], paper_value=0.9,
                              quantity="accuracy", depends_on=[bad])
    # ... while one that does not rest on it keeps its verdict
    good = "sl1/a-run-of-another-sweep#00000000"  # (the tiny lr = 0.05 run may sit at chance too)
    on_good = claims_mod.judge("Yang et al.", "accuracy of another run", "point", [0.9, 0.9, 0.9],
                               paper_value=0.9, quantity="accuracy", depends_on=[good])
    claims = [on_bad, on_good] + sl1.judge_reading(df, methods=["sl1"], epochs=1)
    nb.save(res.frame, metrics={}, claims=claims)
    saved = {c["claim"]: c for c in json.loads((tmp_path / "out" / "headline.json").read_text())["claims"]}
    assert saved["accuracy"]["verdict"] == "inconclusive" and bad in saved["accuracy"]["note"]
    assert saved["accuracy of another run"]["verdict"] == "reproduced"
    judged = [c for k, c in saved.items() if c["verdict"] != "not tested" and k != "accuracy of another run"]
    assert judged and all(c["verdict"] == "inconclusive" and "diverged" in c["note"] for c in judged
                          if bad in c["depends_on"])
