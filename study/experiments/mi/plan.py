"""What turns notebook 03's parameters (`Params`) and the choices made on the way (the learning rate per data set,
s*) into run configs: stage 0 (`tuning_plan`, `choose_lr`), stage 1 (`plan` with "ce"), s* (`width_star`, `widths`),
stage 2 (`stage2_plan`), the learning-rate reading (`alternative_lr`), and the lookup of finished runs (`collect`).

Every plan builder takes the parsed parameters first, the settings chosen earlier next and where to run as keywords
(``seed``, ``device``); `Params` checked the parameters, and every config is a plain dict (the run store keeps it)
checked by `RunConfig` when it is built (`_config`): a plan never emits a config the run refuses."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from study import checks, results, runs
from study.params import parse

from .params import Params
from .run import METHODS, MODELS, RunConfig

if TYPE_CHECKING:
    import torch

IONLY_PREDICTED = (
    "Zaugg et al. §5.1: 'The maximization of I(Y;Ŷ) raises the problem of a vanishing gradient for both CNNs'"
)
#: the methods trained at a width s* of Ŷ (stage 2)
WIDTH_METHODS = tuple(m for m in METHODS if m != "ce")


# ------------------------------------------------------------------------------------------------------------- plan
def _config(
    p: Params,
    *,
    model: str,
    dataset: str,
    method: str,
    seed: int,
    data_seed: int,
    device: str | torch.device,
    epochs: int,
    lr: float,
    s_star: float | None = None,
    info_plane: bool = False,
    tuning: bool = False,
) -> dict[str, Any]:
    """One run's config (a plain dict) of `model` on `dataset`, run seed `seed`, subsets drawn with `data_seed`.

    Raises:
        ValueError: a config `RunConfig` refuses (naming the key, the value and what is accepted).
    """
    is_resnet = model == "resnet18"
    config = {
        "dataset": dataset,
        "model": model,
        "method": method,
        "seed": int(seed),
        "device": str(device),
        "epochs": int(epochs),
        "lr": float(lr),
        "momentum": float(p.momentum),
        "batch_size": int(p.batch_size),
        "data_seed": int(data_seed),
        "subset_datasets": list(p.datasets),
        "train_per_class": int(p.train_per_class),
        "val_per_class": int(p.val_per_class),
        "test_per_class": int(p.test_per_class),
        "mi_eval_per_class": int(p.mi_eval_per_class),
        "resnet_train_per_class": int(p.resnet_train_per_class) if is_resnet else None,
        "resnet_test_per_class": int(p.resnet_test_per_class) if is_resnet else None,
        "resnet_eval_per_class": int(p.resnet_eval_per_class) if is_resnet else None,
        "resnet_stem": str(p.resnet_stem) if is_resnet else None,
        "resnet_bn_cumulative": bool(p.resnet_bn_cumulative) if is_resnet else None,
        "alpha": float(p.alpha),
        "yhat_layer": str(p.yhat_layer),
        "width_low": float(p.width_low),
        "width_high": float(p.width_high),
        "n_widths": int(p.n_widths),
        "layer_width_rel": [float(v) for v in p.layer_width_rel],
        "s_star": None if s_star is None else float(s_star),
        "grad_batches": int(p.grad_batches),
        "info_plane": bool(info_plane),
        "tuning": bool(tuning),
    }
    parse(RunConfig, config)
    return config


def tuning_plan(p: Params, *, seed: int, device: str | torch.device) -> list[dict[str, Any]]:
    """Stage 0, the learning-rate selection (`study.selection`): the shallow CNN trained with CE on the training
    subset at every rate of ``lr_grid``, per data set, with the first seed of ``seeds``, for ``epochs`` epochs,
    evaluated on the validation subset only (``tuning=True``: no test row). Grid order = ``lr_grid`` order.

    Raises:
        ValueError: a config `RunConfig` refuses (a bad `seed` or `device`).
    """
    at: dict[str, Any] = dict(model="shallow", method="ce", data_seed=seed, device=device, epochs=p.epochs)
    return [
        _config(p, **at, dataset=name, seed=seed + p.seeds[0], lr=lr, tuning=True)
        for name in p.datasets
        for lr in p.lr_grid
    ]


def tuning_frame(configs: list[dict[str, Any]], frames: list[pd.DataFrame | None]) -> pd.DataFrame:
    """The rows of the `tuning_plan` runs with their learning rate as a column ``lr`` (failed runs skipped)."""
    parts = [f.assign(lr=c["lr"]) for c, f in zip(configs, frames) if f is not None]
    return pd.concat(parts, ignore_index=True)


def choose_lr(p: Params, frame: pd.DataFrame) -> tuple[dict[str, float], pd.DataFrame]:
    """The learning rate per data set by `study.selection.choose` (its `RULE`): highest validation accuracy at the
    last epoch of the `tuning_plan` runs, ties to the first rate of ``lr_grid``.

    Args:
        frame: `tuning_frame` of the `tuning_plan` runs (validation rows only; a test row makes `choose` raise).

    Returns:
        ({data set: lr}, the grid table with columns dataset, lr, mean, std, n, chosen).

    Raises:
        ValueError: a test row in `frame` (from `selection.choose`), or a data set / rate without rows.
    """
    from study import selection

    last = frame[frame.epoch == frame.groupby(["dataset", "seed", "lr"])["epoch"].transform("max")]
    chosen: dict[str, float] = {}
    tables = []
    for name in p.datasets:
        grid = [{"lr": lr} for lr in p.lr_grid]
        pick, tab = selection.choose(last[last.dataset == name], grid, metric="accuracy", split="val")
        chosen[name] = float(pick["lr"])
        tables.append(tab.assign(dataset=name))
    tab = pd.concat(tables, ignore_index=True)
    return chosen, tab[["dataset", "lr", "mean", "std", "n", "chosen"]]


def plan(
    p: Params,
    lr: dict[str, float],
    s_star: dict[tuple[str, str], float] | None = None,
    *,
    method: str,
    seed: int,
    device: str | torch.device,
    shallow_only: bool = False,
    resnet_lr: float | None = None,
) -> list[dict[str, Any]]:
    """The configs of one stage: every (network, data set, seed) trained with `method`.

    Shallow CNN on every data set of ``datasets`` × ``seeds`` at the learning rate `lr` chose for the data set
    (`choose_lr`); ResNet18 (if ``resnet``) on ``resnet_datasets`` × ``resnet_seeds`` at ``resnet_lr``. Run seed =
    `seed` + s; the subsets are drawn with `seed` (the notebook's). The information plane is computed for the shallow
    CNN's first seed when ``info_plane``.

    Args:
        p: the notebook's parameters.
        lr: {data set: learning rate of the shallow CNN} (`choose_lr`).
        s_star: {(model, dataset): s*} from `width_star` (methods "mi", "mi_only").
        method: "ce" (stage 1), "mi" or "mi_only" (stage 2, need `s_star`; "mi_only" runs ``ionly_epochs``
            epochs, both networks, no information plane).
        seed: the notebook's seed; device: "cpu" or "cuda[:n]" (already resolved).
        shallow_only: leave ResNet18 out.
        resnet_lr: ResNet18's rate instead of ``resnet_lr`` (the learning-rate reading: ``resnet_lr_alt``).

    Raises:
        ValueError: no rate in `lr` for a data set, no width in `s_star` for a (network, data set) of "mi" /
            "mi_only", or a config `RunConfig` refuses (a bad `method`, `seed` or `device`).
    """
    missing = [name for name in p.datasets if name not in (lr or {})]
    if missing:
        accepted = f"a learning rate for every data set of datasets={p.datasets} (choose_lr)"
        raise checks.out_of_range("lr", lr, f"{accepted}; no learning rate for data set(s) {missing}")
    groups = [("shallow", name, p.seeds, p.epochs, lr[name]) for name in p.datasets]
    if p.resnet and not shallow_only:
        rate = p.resnet_lr if resnet_lr is None else resnet_lr
        groups += [("resnet18", name, p.resnet_seeds, p.resnet_epochs, rate) for name in p.resnet_datasets]
    out = []
    for model, name, seeds, epochs, lr_ in groups:
        width: float | None = None
        if method in WIDTH_METHODS:
            if s_star is None or (model, name) not in s_star:
                accepted = f"a width s* for every (network, data set) of method {method!r} (CE stage, width_star)"
                raise checks.out_of_range("s_star", s_star, f"{accepted}; none for ({model!r}, {name!r})")
            width = s_star[(model, name)]
        for s in seeds:
            out.append(
                _config(
                    p,
                    model=model,
                    dataset=name,
                    method=method,
                    seed=seed + s,
                    data_seed=seed,
                    device=device,
                    epochs=p.ionly_epochs if method == "mi_only" else epochs,
                    lr=lr_,
                    s_star=width,
                    info_plane=p.info_plane and model == "shallow" and s == seeds[0] and method != "mi_only",
                )
            )
    return out


def width_star(
    configs: list[dict[str, Any]], artifacts: list[dict[str, Any] | None]
) -> tuple[dict[tuple[str, str], float], dict[tuple[str, str], float]]:
    """s* per (model, data set), Fig. 1: the mean of the per-epoch alignment maximisers (epochs ≥ 1) over the CE runs,
    in plan order; and the fraction of those maximisers at an end of the candidate interval (a warning sign).

    Raises:
        ValueError: a CE run's artifacts are missing (it failed).
    """
    bests: dict[tuple[str, str], list[float]] = {}
    edge: dict[tuple[str, str], list[bool]] = {}
    for cfg, art in zip(configs, artifacts):
        if cfg["method"] != "ce":
            continue
        if art is None:
            raise ValueError(f"no artifacts for the CE run {cfg['model']}/{cfg['dataset']} seed {cfg['seed']}")
        key = (cfg["model"], cfg["dataset"])
        ends = (float(art["widths"][0]), float(art["widths"][-1]))
        b = [float(v) for v in art["width_best"][1:]]
        bests.setdefault(key, []).extend(b)
        edge.setdefault(key, []).extend(v in ends for v in b)
    return ({k: float(np.mean(v)) for k, v in bests.items()}, {k: float(np.mean(v)) for k, v in edge.items()})


def collect(
    sweeps: list[runs.Sweep], configs: list[dict[str, Any]], *, required: bool = False
) -> tuple[pd.DataFrame, list[dict[str, Any] | None]]:
    """The rows (concatenated) and the artifacts (aligned with `configs`, None for a failed or missing run) of
    `configs`, looked up in `sweeps` by canonical config.

    Raises:
        study.runs.SweepError: with `required` (the headline reading's runs), a run that failed or is missing.
    """
    idx = {runs.canonical(c): r for sw in sweeps for c, r in zip(sw.configs, sw.results)}
    got = [idx.get(runs.canonical(c)) for c in configs]
    missing = [runs.run_label(c) for c, r in zip(configs, got) if r is None]
    if required and missing:
        raise runs.SweepError(
            f"{len(missing)} headline run(s) failed or are missing, e.g. {missing[0]}: the "
            "headline verdicts need every one of them (see the sweep's failure list above)"
        )
    parts = [r.rows for r in got if r is not None]
    frame = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=results.COLUMNS)
    return frame, [None if r is None else r.artifacts for r in got]


def widths(
    ce: runs.Sweep, ce_plan: list[dict[str, Any]], ce_alt: list[dict[str, Any]]
) -> tuple[dict[tuple[str, str], float], dict[tuple[str, str], float], dict[tuple[str, str], float]]:
    """s* per (model, data set) of the headline CE runs `ce_plan` with the share of maximisers at an interval end
    (`width_star`), and s* of the learning-rate reading's CE runs `ce_alt` from those that finished (a (model,
    data set) whose reading runs all failed has none).

    Raises:
        study.runs.SweepError: a headline CE run failed.
    """
    s_star, at_edge = width_star(ce_plan, collect([ce], ce_plan, required=True)[1])
    arts = collect([ce], ce_alt)[1]
    done = [(c, a) for c, a in zip(ce_alt, arts) if a is not None]
    s_alt = width_star([c for c, _ in done], [a for _, a in done])[0] if done else {}
    return s_star, at_edge, s_alt


def stage2_plan(
    p: Params,
    lr: dict[str, float],
    s_star: dict[tuple[str, str], float],
    *,
    seed: int,
    device: str | torch.device,
    resnet_lr: float | None = None,
    reading: bool = False,
) -> list[dict[str, Any]]:
    """Stage 2: the L runs and the runs on I alone (`plan` with "mi" and "mi_only") at the widths `s_star`
    (`resnet_lr` as in `plan`); for a `reading` only the (network, data set) pairs that have a width (their CE runs
    finished).

    Raises:
        ValueError: as `plan` (a missing width of the headline reading included).
    """
    keep = set(s_star)
    if reading:  # the data sets stay in the configs (they decide the subsets); pairs without a width are left out
        s_star = {**{(m, d): 1.0 for m in MODELS for d in p.datasets}, **s_star}
    return [
        c
        for m in ("mi", "mi_only")
        for c in plan(p, lr, s_star, method=m, seed=seed, device=device, resnet_lr=resnet_lr)
        if not reading or (c["model"], c["dataset"]) in keep
    ]


def alternative_lr(lr_table: pd.DataFrame, chosen: dict[str, float]) -> dict[str, float]:
    """The "validation-runner-up" reading of the learning rate: per data set, the rate of the `choose_lr` grid table
    with the highest validation accuracy other than the chosen one (ties to the first in grid order).

    Raises:
        ValueError: a data set whose grid has a single rate (no other reading).
    """
    out = {}
    for name, lr in chosen.items():
        g = lr_table[(lr_table.dataset == name) & (lr_table.lr != lr)]
        if g.empty:
            raise ValueError(f"lr_grid has no rate besides {lr} for {name}: the learning-rate reading needs two")
        out[name] = float(g.loc[g["mean"].idxmax(), "lr"])
    return out


def predicted_collapse(config: dict[str, Any]) -> str | None:
    """For `study.run.Run.sweep(predicted=...)`: the paper's sentence predicting that a run trained on I(Y;Ŷ)
    alone does not train (`IONLY_PREDICTED`), None for the others."""
    return IONLY_PREDICTED if config.get("method") == "mi_only" else None
