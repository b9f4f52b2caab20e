"""A real run that diverges (a huge learning rate on a tiny SL1 run) never yields a verdict (issue 12)."""
import json

import pytest

from study import claims as claims_mod, runs
from study.experiments import sl1
from study.run import Run
from test_experiments_sl1 import tiny


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
    assert res.counts["diverged"] >= 1, "a run at lr=%g neither failed nor was flagged" % lr
    assert any(d["config"]["lr"] == lr for d in res.diverged)
    df = res.frame
    # whatever the claims (a judged one that would be reproduced, and the notebook's own), none keeps a verdict
    claims = [claims_mod.judge("Yang et al.", "accuracy", "point", [0.9, 0.9, 0.9], paper_value=0.9,
                               quantity="accuracy")] + sl1.claims(df, methods=["sl1"], epochs=1)
    nb.save(df, metrics={}, claims=claims)
    saved = json.loads((tmp_path / "out" / "headline.json").read_text())["claims"]
    judged = [c for c in saved if c["verdict"] != "not tested"]  # a claim the run cannot answer stays not tested
    assert judged and all(c["verdict"] == "inconclusive" and "diverged" in c["note"] for c in judged)
