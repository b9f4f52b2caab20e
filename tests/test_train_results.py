"""The training loop and the artifact writers (the verdict rule: tests/test_claims.py)."""
import json
import math

import pandas as pd
import pytest
import torch
import torch.nn as nn

from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_flatten

from study import claims, results, train
from study.run import Run


# ------------------------------------------------------------------------------ device paths without a GPU
class DeviceGuard(TorchDispatchMode):
    """Watches every aten op and lists those whose tensor inputs lie on more than one device (a 0-dim CPU tensor,
    which torch lets any device read, excepted; copies between devices are what `.to` is for, also excepted).

    With the model on ``meta`` (shapes without data) it stands in for a GPU: a tensor left on the CPU and combined
    with the model's shows up here as it would fail on CUDA. So that whole training loops run, it answers the two
    things ``meta`` cannot do: ``.item()`` / ``bool()`` of a meta tensor (1 / True) and a copy of a meta tensor to
    the CPU (zeros). Values are therefore meaningless inside the block; only devices are checked.
    """
    COPIES = {"aten::_to_copy", "aten::copy_", "aten::to", "aten::_copy_from", "aten::_copy_from_and_resize"}

    def __init__(self):
        super().__init__()
        self.mixed: list[tuple[str, list[str]]] = []
        self.devices: set[str] = set()

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        tensors = [t for t in tree_flatten((args, kwargs))[0] if isinstance(t, torch.Tensor)]
        name = func._schema.name
        if name not in self.COPIES:
            devs = {str(t.device) for t in tensors if not (t.device.type == "cpu" and t.dim() == 0)}
            self.devices |= devs
            if len(devs) > 1:
                self.mixed.append((str(func), sorted(devs)))
        if tensors and all(t.is_meta for t in tensors):
            if name == "aten::_local_scalar_dense":
                return True if tensors[0].dtype == torch.bool else 1
            if name in self.COPIES and torch.device(kwargs.get("device", "meta")).type == "cpu":
                return torch.zeros(tensors[0].shape, dtype=kwargs.get("dtype") or tensors[0].dtype)
        return func(*args, **kwargs)


def small_cnn():
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(1, 3, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(3 * 8 * 8, 2))


def test_device_guard_sees_a_cpu_tensor_combined_with_the_models(moves_params_in_place):
    """The guard itself: a CPU tensor added to a parameter moved to meta is reported (what CUDA refuses)."""
    torch.manual_seed(0)
    lin = nn.Linear(3, 2)
    stale = lin.weight.detach().clone()  # computed before the move, as rvsm.train_step_throughput once did
    lin.to("meta")
    guard = DeviceGuard()
    with guard, pytest.raises(RuntimeError, match="device"):
        lin.weight - stale
    assert guard.mixed and guard.mixed[0][1] == ["cpu", "meta"]


@pytest.mark.parametrize("channels_last", [False, True])
def test_fit_and_throughput_keep_every_tensor_on_the_model_device(moves_params_in_place, channels_last):
    """`fit` (batches, penalty, hooks, evaluation) and `throughput` on CPU data with the model sent to another device
    (`meta` standing in for CUDA): no op combines tensors of two devices."""
    g = torch.Generator().manual_seed(1)
    x, y = torch.rand(12, 1, 8, 8, generator=g), torch.randint(0, 2, (12,), generator=g)
    guard = DeviceGuard()
    with guard:
        m = small_cnn()
        rows = train.fit(m, x, y, epochs=2, batch_size=5, lr=0.1, momentum=train.momentum_ramp(0.5, 2),
                         penalty=lambda mod: 1e-3 * mod[3].weight.pow(2).sum(), after_step=lambda mod: None,
                         eval_sets={"test": (x, y)}, generator=g, device="meta", channels_last=channels_last,
                         progress=False)
        train.throughput(small_cnn(), x, y, batch_size=6, steps=2, warmup=1, momentum=0.9, device="meta",
                         channels_last=channels_last)
    assert guard.mixed == []
    assert "meta" in guard.devices and all(p.is_meta for p in m.parameters())
    assert {r["metric"] for r in rows} >= {"loss", "objective", "accuracy"}


@pytest.mark.parametrize("schedule,epoch,value", [
    (lambda e: 0.5 if e < 3 else 1.5, 3, "1.5"),           # fine at epoch 1, out of range from epoch 3
    (lambda e: -0.1 if e == 2 else 0.9, 2, "-0.1"),
    (lambda e: float("nan") if e == 4 else 0.0, 4, "nan"),
    (lambda e: 1.0 if e == 4 else 0.0, 4, "1.0"),
])
def test_momentum_schedule_is_checked_at_every_epoch_before_training(schedule, epoch, value):
    x, y = blobs()
    torch.manual_seed(0)
    model = nn.Linear(2, 2)
    w0 = model.weight.detach().clone()
    with pytest.raises(ValueError, match=rf"momentum={value}.*epoch {epoch}\b.*\[0, 1\)"):
        train.fit(model, x, y, epochs=4, batch_size=50, lr=0.1, momentum=schedule, progress=False)
    assert torch.equal(model.weight.detach(), w0)  # refused before any step


def test_momentum_schedule_values_are_the_ones_used():
    x, y = blobs()
    seen = []

    class Spy(torch.optim.SGD):
        def step(self, closure=None):
            seen.append(self.param_groups[0]["momentum"])
            return super().step(closure)

    mu = train.momentum_ramp(0.6, 3)
    assert train.momentum_values(mu, 4) == pytest.approx([0.2, 0.4, 0.6, 0.6])
    torch.manual_seed(0)
    model = nn.Linear(2, 2)
    orig, torch.optim.SGD = torch.optim.SGD, Spy
    try:
        train.fit(model, x, y, epochs=4, batch_size=100, lr=0.1, momentum=mu, progress=False)
    finally:
        torch.optim.SGD = orig
    assert seen == pytest.approx([0.2, 0.2, 0.4, 0.4, 0.6, 0.6, 0.6, 0.6])  # 2 steps per epoch


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
    torch.manual_seed(0)  # the initial weights
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


@pytest.mark.parametrize("kwargs,name", [({"epochs": 0}, "epochs"), ({"epochs": 1.5}, "epochs"), ({"lr": 0.0}, "lr"),
                                          ({"lr": float("inf")}, "lr"), ({"lr": float("nan")}, "lr"),
                                          ({"batch_size": 0}, "batch_size"), ({"batch_size": "10"}, "batch_size"),
                                          ({"momentum": 1.0}, "momentum"), ({"momentum": "0.5"}, "momentum")])
def test_bad_training_parameters(kwargs, name):
    x, y = blobs()
    args = dict(epochs=1, batch_size=10, lr=0.1, progress=False) | kwargs
    torch.manual_seed(0)  # the initial weights
    with pytest.raises(ValueError, match=rf"{name}=.*accepted"):
        train.fit(nn.Linear(2, 2), x, y, **args)


def test_momentum_ramp_is_linear_then_constant():
    mu = train.momentum_ramp(0.2, 20)
    assert mu(1) == pytest.approx(0.01) and mu(10) == pytest.approx(0.1)
    assert mu(20) == pytest.approx(0.2) and mu(50) == pytest.approx(0.2)
    with pytest.raises(ValueError, match="momentum"):
        train.momentum_ramp(1.2, 5)


def test_run_writes_both_artifacts_whole(tmp_path):
    run = Run.start("99_test", profile="smoke", seed=1, device="cpu", out_dir=tmp_path)
    df = results.tidy([{"epoch": 1, "split": "test", "metric": "accuracy", "value": 0.9}], study="t", seed=1)
    c = claims.judge("P", "acc", "point", [0.9, 0.9, 0.9], paper_value=0.9, quantity="accuracy", depends_on=["r0"])
    dev = claims.deviation("epochs", "20", "2", "CPU budget", "accuracy lower; see the epochs ablation")
    run.save(df, metrics=results.metric_summary(df, "accuracy", split="test", by="study"), claims=[c],
             deviations=[dev])
    head = json.loads((tmp_path / "headline.json").read_text())
    assert head["claims"][0]["verdict"] == "reproduced" and head["env"]["seed"] == 1
    assert head["deviations"] == [dev] and head["compute"]["wall_s"] >= 0 and head["compute"]["peak_rss_mb"] > 0
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


def test_seed_refuses_bools_and_negatives():
    from study.train import seed_everything
    for bad in (True, -1, 1.5, "0"):
        with pytest.raises(ValueError, match="seed="):
            seed_everything(bad)
