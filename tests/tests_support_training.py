"""A tiny real training run for the executor tests (a module of its own so that spawned workers can import it)."""
import torch

from study import results, runs
from study.train import fit


@runs.experiment("tiny_cnn")
def train_tiny(config):
    """A 2-layer CNN on 64 random 8×8 images, `config["epochs"]` epochs of SGD: rows in results.COLUMNS."""
    g = torch.Generator().manual_seed(config["seed"])
    x = torch.randn(64, 1, 8, 8, generator=g)
    y = (x.mean(dim=(1, 2, 3)) > 0).long()
    torch.manual_seed(config["seed"])
    model = torch.nn.Sequential(torch.nn.Conv2d(1, 4, 3, padding=1), torch.nn.ReLU(), torch.nn.Flatten(),
                                torch.nn.Linear(256, 2))
    rows = fit(model, x, y, epochs=config["epochs"], batch_size=16, lr=config["lr"], momentum=0.9, generator=g,
               eval_sets={"test": (x, y)}, progress=False)
    rows = [r for r in rows if not r["metric"].endswith("_time_s")]  # wall times are measurements, not results
    return runs.Result(rows=results.tidy(rows, study="tiny", dataset="-", model="cnn", method="sgd",
                                         seed=config["seed"]), artifacts={"w": model[3].weight.detach().clone()})
