"""The training loop, the verdict rule and the artifact writers."""
import json
import math

import pandas as pd
import pytest
import torch
import torch.nn as nn

from study import results, train
from study.run import Run


def blobs(n=200, seed=0):
    g = torch.Generator().manual_seed(seed)
    y = torch.randint(0, 2, (n,), generator=g)
    x = torch.randn(n, 2, generator=g) * 0.3 + (y.float() * 2 - 1).unsqueeze(1) * 1.5
    return x, y


def test_fit_learns_and_returns_tidy_rows():
    x, y = blobs()
    g = train.seed_everything(0)
    model = nn.Linear(2, 2)
    rows = train.fit(model, x, y, epochs=3, batch_size=16, lr=0.1, momentum=train.momentum_ramp(0.5, 2),
                     eval_sets={"test": (x, y)}, generator=g, progress=False)
    df = results.tidy(rows, study="t", method="sgd", seed=0)
    acc = df[(df.metric == "accuracy")].sort_values("epoch")["value"].tolist()
    assert len(acc) == 4 and acc[-1] > 0.95 and acc[-1] >= acc[0]
    assert set(df.split) == {"train", "test", "-"}
    assert list(df.columns) == results.COLUMNS


def test_same_seed_same_history():
    x, y = blobs()
    runs = []
    for _ in range(2):
        g = train.seed_everything(3)
        runs.append(train.fit(nn.Linear(2, 2), x, y, epochs=2, batch_size=8, lr=0.05, generator=g,
                              progress=False, eval_sets={"t": (x, y)}))
    strip = lambda rs: [r for r in rs if r["metric"] != "epoch_time_s"]  # noqa: E731
    assert strip(runs[0]) == strip(runs[1])


def test_non_finite_loss_stops_the_run():
    x, y = blobs()
    x[5] = float("nan")
    with pytest.raises(FloatingPointError, match="epoch 1"):
        train.fit(nn.Linear(2, 2), x, y, epochs=1, batch_size=len(x), lr=0.1, progress=False)


def test_penalty_and_after_step_hooks_are_applied():
    x, y = blobs()
    norms = {}
    for lam in (0.0, 1.0):
        torch.manual_seed(0)
        model = nn.Linear(2, 2)
        calls = []
        train.fit(model, x, y, epochs=2, batch_size=50, lr=0.2, progress=False,
                  penalty=lambda m: lam * m.weight.pow(2).sum(), after_step=lambda m: calls.append(1))
        assert len(calls) == 8  # 200 / 50 steps per epoch, 2 epochs
        norms[lam] = model.weight.norm().item()
    assert norms[1.0] < 0.7 * norms[0.0]  # the L2 penalty shrinks the weights


@pytest.mark.parametrize("kwargs,name", [({"epochs": 0}, "epochs"), ({"lr": 0.0}, "lr"),
                                          ({"batch_size": 0}, "batch_size"), ({"momentum": 1.0}, "momentum")])
def test_bad_training_parameters(kwargs, name):
    x, y = blobs()
    args = dict(epochs=1, batch_size=10, lr=0.1, progress=False) | kwargs
    with pytest.raises(ValueError, match=name):
        train.fit(nn.Linear(2, 2), x, y, **args)


def test_momentum_ramp_is_linear_then_constant():
    mu = train.momentum_ramp(0.2, 20)
    assert mu(1) == pytest.approx(0.01) and mu(10) == pytest.approx(0.1)
    assert mu(20) == pytest.approx(0.2) and mu(50) == pytest.approx(0.2)
    with pytest.raises(ValueError, match="momentum"):
        train.momentum_ramp(1.2, 5)


def test_verdict_rule():
    assert results.verdict(0.99, 0.985, 0.0, tol=0.01) == "reproduced"
    assert results.verdict(0.99, 0.975, 0.0, tol=0.01) == "partly"
    assert results.verdict(0.99, 0.90, 0.0, tol=0.01) == "not reproduced"
    assert results.verdict(0.99, 0.95, 0.03, tol=0.01) == "reproduced"  # 2 std band is wider than tol
    assert results.verdict(0.99, math.nan, 0.0, tol=0.01) == "inconclusive"
    with pytest.raises(ValueError, match="tol"):
        results.verdict(1.0, 1.0, 0.0, tol=-1)


def test_run_writes_both_artifacts_whole(tmp_path):
    run = Run.start("99_test", profile="smoke", seed=1, device="cpu", out_dir=tmp_path)
    df = results.tidy([{"epoch": 1, "split": "test", "metric": "accuracy", "value": 0.9}], study="t", seed=1)
    c = results.claim("P", "acc", 0.9, 0.9, ours_std=0.0, n=1, unit="fraction", tol=0.01)
    run.save(df, metrics=results.metric_summary(df, "accuracy", split="test", by="study"), claims=[c])
    head = json.loads((tmp_path / "headline.json").read_text())
    assert head["claims"][0]["verdict"] == "reproduced" and head["env"]["seed"] == 1
    assert {"torch", "device", "threads", "git", "python"} <= set(head["env"])
    assert pd.read_csv(tmp_path / "results.csv").shape == (1, len(results.COLUMNS))
    assert not list(tmp_path.glob("*.part"))
    with pytest.raises(ValueError, match="profile"):
        Run.start("99_test", profile="fast", out_dir=tmp_path)


def test_mean_std_and_fmt_pm_print_integer_counts():
    d = pd.DataFrame({"method": ["a", "a", "a", "b"], "value": [0.9, 0.92, 0.94, 0.5]})
    s = results.mean_std(d, ["method"]).set_index("method")
    # a row of a numeric frame arrives as floats: the count must still print as an integer
    text = s.apply(lambda r: results.fmt_pm(r["mean"], r["std"], r["n"], 100), axis=1)
    assert text["a"] == "92.00 ± 2.00 (n=3)"
    assert text["b"] == "50.00 (n=1)"
    assert results.fmt_pm(float("nan"), 0.0, 3) == "n/a"


def test_claims_table_keeps_integer_counts():
    cs = [results.claim("P", "a", 1.0, 0.9, ours_std=0.1, n=3, tol=0.2),
          results.claim("P", "b", "qualitative", "yes", verdict_="reproduced")]
    t = results.claims_table(cs)
    assert str(t["n"].dtype) == "Int64" and t["n"].iloc[0] == 3 and pd.isna(t["n"].iloc[1])


def test_verdict_at_least_is_one_sided():
    assert results.verdict_at_least(0.9, 0.99, 0.05) == "reproduced"  # above the target is support, not a miss
    assert results.verdict_at_least(0.9, 0.9, 0.05) == "reproduced"
    assert results.verdict_at_least(0.9, 0.87, 0.05) == "partly"
    assert results.verdict_at_least(0.9, 0.84, 0.05) == "not reproduced"
    assert results.verdict_at_least(0.9, float("nan"), 0.05) == "inconclusive"
    with pytest.raises(ValueError, match="partly_below"):
        results.verdict_at_least(0.9, 0.9, -0.1)
