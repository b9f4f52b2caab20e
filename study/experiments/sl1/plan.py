"""Yang et al. (notebook ``01_sl1_mnist``): from the checked parameters (`Params`) and the choices made so far to run
configs -- the four stages (`tune_base_stage`, `tune_penalty_stage`, `final_stage` with the readings'
`reading_plan`, `alpha_sweep_stage`) -- and the choices between stages (`choose_base`, `choose_penalties`, by
`select` on validation rows only; `lambda_edges`). Every config is a plain dict checked by `run.RunConfig`."""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from study import checks, results, runs, selection, train
from study import claims as claims_mod
from study.experiments.sl1.params import HEADLINE_ERROR_FUNCTION, LAM_GRID, Params
from study.experiments.sl1.run import HEADLINE_MOMENTUM, LAYER, PENALISED, RunConfig
from study.params import parse

Config = dict[str, Any]
#: the notebook's four stages, in order (each sweep depends on the choices of the ones before)
STAGES = ("tune_base", "tune_penalty", "final", "alpha_sweep")


def _config(
    p: Params,
    s: Config,
    *,
    split: str,
    epochs: int,
    seed: int,
    subset_seed: int,
    device: str,
    schedule: str = "ramp_to",
) -> Config:
    """One run's config (a plain dict, checked by `RunConfig`) for the setting `s` (method, lam, alpha, activation,
    lr): candidates and the α sweep (``split="val"``) on ``tune_subset`` / ``val_subset``, final runs (``"test"``) on
    ``train_subset`` / ``test_subset``."""
    train_subset, eval_subset = (p.tune_subset, p.val_subset) if split == "val" else (p.train_subset, p.test_subset)
    config = {
        "method": s["method"],
        "lam": s["lam"],
        "alpha": s["alpha"] if s["method"] == "sl1" else None,
        "activation": s["activation"],
        "loss": p.loss,
        "epochs": epochs,
        "batch_size": p.batch_size,
        "lr": float(s["lr"]),
        "momentum": p.momentum,
        "momentum_ramp_epochs": p.momentum_ramp_epochs,
        "momentum_schedule": schedule,
        "momentum_final": p.momentum_final if schedule == "ramp_from" else None,
        "prune_threshold": p.prune_threshold,
        "split": split,
        "train_subset": train_subset,
        "eval_subset": eval_subset,
        "subset_seed": subset_seed,
        "seed": seed,
        "device": device,
    }
    parse(RunConfig, config)
    return config


def _device(seed: int, device: str) -> str:
    """The resolved device type after checking the notebook `seed` (`study.checks.seed_in`)."""
    checks.seed_in({"seed": seed})
    return train.pick_device(device).type


def base_grid(p: Params) -> list[Config]:
    """Stage 1's grid in plan order: ``[{"activation": a, "lr": lr}]`` for a in `activations`, lr in `lrs`."""
    return [{"activation": a, "lr": lr} for a in p.activations for lr in p.lrs]


def penalty_grids(p: Params) -> dict[str, list[Config]]:
    """Stage 2's grid of each penalised method in `methods`, in plan order (the order the parameter lists give):
    ``{"sl1": [{"method": "sl1", "lam": λ, "alpha": α}, ...], "group_l1": [{"method", "lam"}], "l2": [...]}``."""
    out: dict[str, list[Config]] = {}
    for m in (m for m in PENALISED if m in p.methods):
        lams = getattr(p, LAM_GRID[m])
        if m == "sl1":
            out[m] = [{"method": m, "lam": lam, "alpha": a} for lam in lams for a in p.alphas]
        else:
            out[m] = [{"method": m, "lam": lam} for lam in lams]
    return out


def tune_base_stage(p: Params, *, seed: int, device: str) -> list[Config]:
    """Stage 1 (``tune_base``): the unpenalised network for every (activation, lr) of `base_grid` × `tune_seeds`
    seeds (``seed``, ``seed + 1``, ...), `tune_epochs` epochs on `tune_subset` fit images, evaluated on `val_subset`
    validation images (``split="val"``). Subsets are drawn with `seed`.

    Raises:
        ValueError: a bad seed, or CUDA asked for but absent.
    """
    at: dict[str, Any] = dict(split="val", epochs=p.tune_epochs, subset_seed=seed, device=_device(seed, device))
    none = {"method": "none", "lam": None, "alpha": None}
    return [_config(p, {**none, **g}, seed=seed + i, **at) for g in base_grid(p) for i in range(p.tune_seeds)]


def tune_penalty_stage(p: Params, base: Config, *, seed: int, device: str) -> list[Config]:
    """Stage 2 (``tune_penalty``): at the chosen ``base = {"activation", "lr"}`` (`choose_base`), every setting of
    `penalty_grids` × `tune_seeds` seeds, `tune_epochs` epochs, ``split="val"`` (as stage 1).

    Raises:
        ValueError: as `tune_base_stage`, or a bad `base` (`RunConfig` names it).
    """
    at: dict[str, Any] = dict(split="val", epochs=p.tune_epochs, subset_seed=seed, device=_device(seed, device))
    return [
        _config(p, {"alpha": None, **g, "activation": base["activation"], "lr": base["lr"]}, seed=seed + i, **at)
        for grid in penalty_grids(p).values()
        for g in grid
        for i in range(p.tune_seeds)
    ]


def final_stage(
    p: Params, chosen: Config, *, seed: int, device: str, schedule: str = HEADLINE_MOMENTUM
) -> list[Config]:
    """Stage 3 (``final``): for i in 0..n_seeds-1, for each method in `methods`: seed ``seed + i``, `epochs`
    epochs at the `chosen` setting (`choose_penalties`: activation, lr, λ per method, α) and momentum reading
    `schedule` (`run.MOMENTUM_SCHEDULES`), trained on `train_subset` training images and evaluated on `test_subset`
    test images (``split="test"``): the only runs that see the test split.

    Raises:
        ValueError: as `tune_base_stage`, or a chosen value out of range.
    """
    at: dict[str, Any] = dict(
        split="test", epochs=p.epochs, subset_seed=seed, device=_device(seed, device), schedule=schedule
    )
    return [
        _config(
            p, {**chosen, "method": m, "lam": chosen["lam"].get(m), "alpha": chosen.get("alpha")}, seed=seed + i, **at
        )
        for i in range(p.n_seeds)
        for m in p.methods
    ]


def reading_alphas(p: Params, chosen: Config) -> list[float]:
    """The α readings of the final runs: `reading_alphas` plus the chosen α, ascending ([] without α readings)."""
    if not p.reading_alphas or chosen.get("alpha") is None:
        return []
    return sorted(set(p.reading_alphas) | {float(chosen["alpha"])})


def headline_keys(p: Params, chosen: Config) -> list[str]:
    """The `study.claims.reading_key` of the headline reading of each open choice in `READINGS` that this profile
    varies (an α reading needs `reading_alphas`, an activation reading two `activations`, ...)."""
    key = claims_mod.reading_key
    keys = [key("alpha", float(chosen["alpha"]))] if reading_alphas(p, chosen) else []
    keys += [key("activation", chosen["activation"])] if len(p.activations) > 1 else []
    keys += [key("momentum", HEADLINE_MOMENTUM)] if len(p.momentum_readings) > 1 else []
    return keys + [key("error_function", HEADLINE_ERROR_FUNCTION)]


def reading_plan(
    p: Params, chosen: Config, base_lrs: dict[str, float], *, seed: int, device: str
) -> dict[str, list[Config]]:
    """The final runs of the headline reading and of every other reading, one choice changed at a time.

    Args:
        chosen: `choose_penalties`' result (the headline: its α, activation and lr; momentum `HEADLINE_MOMENTUM`).
        base_lrs: ``{activation: lr}``, the validation-chosen lr of each activation (`base_by_activation`).

    Returns:
        ``{"headline": final_stage(chosen), "<choice>=<reading>": final runs of that reading}``: ``alpha=<a>`` for
        every other α of `reading_alphas` (only the SL1 runs change), ``activation=<a>`` for the other activations
        (activation and its own lr change), ``momentum=<m>`` for the other `momentum_readings` (the schedule
        changes). Shared runs are the same configs (the run store trains them once).

    Raises:
        ValueError: as `final_stage`, or an activation missing from `base_lrs`.
    """
    key = claims_mod.reading_key
    out = {"headline": final_stage(p, chosen, seed=seed, device=device)}
    for a in reading_alphas(p, chosen):
        if a != float(chosen["alpha"]):
            out[key("alpha", a)] = final_stage(p, {**chosen, "alpha": a}, seed=seed, device=device)
    for act in p.activations:
        if act != chosen["activation"]:
            if act not in base_lrs:
                raise ValueError(f"base_lrs={base_lrs!r} lacks activation {act!r}; accepted: a lr per activation")
            at = {**chosen, "activation": act, "lr": base_lrs[act]}
            out[key("activation", act)] = final_stage(p, at, seed=seed, device=device)
    for m in p.momentum_readings:
        if m != HEADLINE_MOMENTUM:
            out[key("momentum", m)] = final_stage(p, chosen, seed=seed, device=device, schedule=m)
    return out


def plan_configs(plan: dict[str, list[Config]]) -> list[Config]:
    """Every config of a `reading_plan`, each once (headline first, then the readings in order)."""
    seen: dict[str, Config] = {}
    for cfgs in plan.values():
        for c in cfgs:
            seen.setdefault(runs.canonical(c), c)
    return list(seen.values())


def reading_configs(plan: dict[str, list[Config]]) -> list[Config]:
    """The configs of the readings' runs that the headline does not share, each once (`plan_configs` minus the
    headline's): the second sweep of stage 3."""
    head = {runs.canonical(c) for c in plan["headline"]}
    return [c for c in plan_configs(plan) if runs.canonical(c) not in head]


def sweep_alphas(p: Params, chosen: Config) -> list[float]:
    """The α values of the α sweep: `sweep_alphas` plus the chosen α, ascending ([] without a sweep)."""
    return sorted(set(p.sweep_alphas) | {float(chosen["alpha"])}) if p.sweep_alphas else []


def sweep_lambdas(p: Params, chosen: Config) -> list[float]:
    """The λ values of the α sweep: the chosen SL1 λ plus `sweep_lams`, ascending ([] without a sweep)."""
    return sorted(set(p.sweep_lams) | {float(chosen["lam"]["sl1"])}) if p.sweep_alphas else []


def alpha_sweep_stage(p: Params, chosen: Config, *, seed: int, device: str) -> list[Config]:
    """Stage 4 (``alpha_sweep``): SL1 at the chosen activation and lr, for every λ of `sweep_lambdas` (the chosen λ
    and `sweep_lams`), every α of `sweep_alphas` (0 = group L1 by subgradient, and the chosen α) × `sweep_seeds`
    seeds, `sweep_epochs` epochs on the candidates' data (``split="val"``). An analysis of what smoothing changes,
    not a choice: it never sees the test split either. (Smoothing acts only on columns with ‖u_k‖ < α: at a λ too
    small to bring any column there, every α ≤ min_k ‖u_k‖ trains exactly as group L1; hence the larger λ.)

    Raises:
        ValueError: as `tune_base_stage`.
    """
    at: dict[str, Any] = dict(split="val", epochs=p.sweep_epochs, subset_seed=seed, device=_device(seed, device))
    return [
        _config(p, {**chosen, "method": "sl1", "lam": lam, "alpha": a}, seed=seed + i, **at)
        for lam in sweep_lambdas(p, chosen)
        for a in sweep_alphas(p, chosen)
        for i in range(p.sweep_seeds)
    ]


# ------------------------------------------------------------------------------------------------ the selection
def config_rows(sweep: runs.Sweep, *, label: Any = None) -> pd.DataFrame:
    """The rows of a sweep's successful runs with their config's ``activation``, ``lr``, ``lam`` and ``alpha`` as
    extra columns (NaN where None) and the run's label ``run`` (`study.runs.run_label`, what claims name in
    ``depends_on``), ``method`` relabelled by `label(config)` when given (a callable config -> str).

    Returns:
        frame with `study.results.COLUMNS` + ["activation", "lr", "lam", "alpha", "run"] (empty when every run
        failed).
    """
    parts = []
    for c, r in zip(sweep.configs, sweep.results):
        if r is None:
            continue
        nan = {k: math.nan if c[k] is None else float(c[k]) for k in ("lam", "alpha")}
        d = r.rows.assign(activation=c["activation"], lr=c["lr"], **nan, run=runs.run_label(c))
        parts.append(d.assign(method=label(c)) if label else d)
    cols = results.COLUMNS + ["activation", "lr", "lam", "alpha", "run"]
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=cols)


def _with_dropped(table: pd.DataFrame, dropped: list[Config]) -> pd.DataFrame:
    """`table` with the settings `dropped` appended as never chosen (n = 0)."""
    rows = pd.DataFrame([{**g, "mean": math.nan, "std": math.nan, "n": 0, "chosen": False} for g in dropped])
    return pd.concat([table, rows], ignore_index=True) if dropped else table


def select(sweep: runs.Sweep, grid: list[Config], *, metric: str, within: float = 0.0) -> tuple[Config, pd.DataFrame]:
    """Choose one setting of `grid` from a tuning sweep's validation rows at each run's last epoch, by
    `study.selection.choose` (rule `study.selection.RULE`, higher `metric` is better).

    A setting whose runs all failed (diverged to NaN) is listed in the table with n = 0 and never chosen.

    Args:
        sweep: the sweep of a tuning stage (every config ``split="val"``).
        grid: the candidate settings in plan order (`base_grid` or one list of `penalty_grids`).
        metric: "accuracy" or "accuracy_pruned" (a fraction, split "val").
        within: `study.selection.choose`'s slack below the best score (a fraction).

    Returns:
        ``(chosen setting, table)``: the table has the grid's keys, mean / std / n of the score over seeds and
        ``chosen``.

    Raises:
        ValueError: a config of the sweep is not a validation run, or a test row reaches the selection (from
            `choose`), or no setting of the grid has a successful run.
    """
    wrong = [c for c in sweep.configs if c["split"] != "val"]
    if wrong:
        raise ValueError(
            f"select() got {len(wrong)} config(s) with split != 'val' (e.g. {wrong[0]}): candidate "
            "runs are evaluated on the validation split only"
        )
    df = config_rows(sweep)
    if not df.empty:
        by = ["method", "activation", "lr", "lam", "alpha", "seed"]
        df = df[df["epoch"] == df.groupby(by, dropna=False)["epoch"].transform("max")]
    ok: list[Any]
    failed: list[Any]
    ok, failed = [], []
    for g in grid:
        d = df
        for k, v in g.items():
            d = d[d[k] == v]
        (ok if len(d) else failed).append(g)
    if not ok:
        raise ValueError(f"no setting of the grid {grid} has a successful run")
    chosen, table = selection.choose(df, ok, metric=metric, split="val", higher_is_better=True, within=within)
    return chosen, _with_dropped(table, failed)


def choose_base(p: Params, sweep: runs.Sweep) -> tuple[Config, pd.DataFrame]:
    """Stage 1's choice: the (activation, lr) of `base_grid` with the highest mean validation accuracy of the
    unpenalised network (`select`). Returns ``({"activation", "lr"}, table)``."""
    return select(sweep, base_grid(p), metric="accuracy")


def base_by_activation(p: Params, sweep: runs.Sweep) -> dict[str, float]:
    """Stage 1's choice of the learning rate *per activation* (`select` on that activation's part of `base_grid`):
    ``{activation: lr}``, for the activation readings (`reading_plan`). An activation whose every candidate failed is
    left out."""
    out: dict[str, float] = {}
    for act in p.activations:
        try:
            out[act] = select(sweep, [g for g in base_grid(p) if g["activation"] == act], metric="accuracy")[0]["lr"]
        except ValueError:
            continue
    return out


def _moved(df: pd.DataFrame, setting: Config) -> float:
    """Mean over seeds of 1 − cos_init_fc at each run's last epoch of the rows of `df` (`config_rows`) matching
    `setting`; NaN when there is none."""
    d = df[df["metric"] == f"cos_init_{LAYER}"]
    for k, v in setting.items():
        d = d[d[k].isna()] if v is None else d[d[k] == v]
    return float((1.0 - d["value"]).mean()) if len(d) else math.nan


def choose_penalties(
    p: Params, sweep: runs.Sweep, base: Config, base_sweep: runs.Sweep | None = None
) -> tuple[Config, dict[str, pd.DataFrame]]:
    """Stage 2's choice, per penalised method: the strongest λ (the grid lists λ from large to small; SL1: λ and α)
    whose mean validation accuracy *after pruning* (``accuracy_pruned``: the network one would deploy) is within the
    accuracy tolerance (`study.claims.TOLERANCES`, 1 pp) of the best setting's (`select`, `study.selection.RULE`),
    among the candidates that train the fc layer: with `base_sweep` (stage 1), a candidate whose mean 1 − cos_init_fc
    is below `study.claims.TRAINS_FRACTION` of the unpenalised network's at `base` (same schedule) is left out
    (issue 17: such a setting cannot be a headline reading).

    Returns:
        ``(chosen, tables)``: chosen = ``{"activation", "lr", "lam": {method: λ, "none": None}, "alpha": α or
        None}``; tables = {method: selection table, with ``moved_fc`` (1 − cos) and ``trains_fc`` when
        `base_sweep` is given}.

    Raises:
        ValueError: as `select`; no candidate of a method trains the fc layer.
    """
    chosen: Config = {"activation": base["activation"], "lr": base["lr"], "lam": {"none": None}, "alpha": None}
    tables = {}
    rows = config_rows(sweep)
    at_base = {"method": "none", "activation": base["activation"], "lr": base["lr"]}
    baseline = _moved(config_rows(base_sweep), at_base) if base_sweep is not None else math.nan

    def trains(x: float) -> bool:
        return not (baseline > 0) or not math.isfinite(x) or x >= claims_mod.TRAINS_FRACTION * baseline

    for m, grid in penalty_grids(p).items():
        moved = [_moved(rows, g) if not rows.empty else math.nan for g in grid]
        keep = [g for g, x in zip(grid, moved) if trains(x)]
        if not keep:
            raise ValueError(
                f"no candidate of {m!r} trains the fc layer (1 - cos_init_fc >= "
                f"{claims_mod.TRAINS_FRACTION} x the baseline's {baseline:.3g})"
            )
        pick, table = select(sweep, keep, metric="accuracy_pruned", within=claims_mod.TOLERANCES["accuracy"][0])
        if base_sweep is not None:
            table = _with_dropped(table, [g for g in grid if g not in keep])
            mv = [
                _moved(rows, {k: r[k] for k in grid[0]}) if not rows.empty else math.nan
                for r in table.to_dict("records")
            ]
            table = table.assign(moved_fc=mv, trains_fc=[trains(x) for x in mv])
        tables[m] = table
        chosen["lam"][m] = pick["lam"]
        if m == "sl1":
            chosen["alpha"] = pick["alpha"]
    return chosen, tables
