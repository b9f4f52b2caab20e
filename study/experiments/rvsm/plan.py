"""Xue & Xin (notebook ``02_rvsm_curves``): `Params`, seed and earlier choices to run configs (stages `schedule_plan`,
`normalization_plan`, `lambda_plan`, `main_plan`; readings `reading_keys`), and the choices between stages on
validation rows only (`choose_schedule`, `choose_normalization`, `choose_lambda`); each config checked by `RunConfig`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd
import torch

from study import checks, results, runs, selection
from study import claims as claims_mod
from study.experiments.rvsm.params import HEADLINE_OPTIMIZER, READING_ACCEPTED, Params, check_readings
from study.experiments.rvsm.run import EVAL_SPLITS, OPEN_CHOICES, VARIANTS, RunConfig, method_spec
from study.params import parse
from study.rvsm import NORMALIZATIONS

Config = dict[str, Any]
#: methods whose validation accuracy chooses the schedule: the dense network alone, so that the schedule does not
#: depend on the normalisation reading that is chosen after it (`normalization_plan`)
TUNE_METHODS = ("sgd_plain",)
#: choices that only RVSM runs have (SGD-TL1 and the dense baseline are the same runs under every reading of these)
RVSM_ONLY_CHOICES = ("normalize",)
#: methods whose validation runs decide the headline normalisation (`choose_normalization`)
NORM_CHECK_METHODS = ("rvsm_l0", "rvsm_l1")
#: rule (c) of `choose_normalization`: the sparse validation accuracy may trail the dense baseline's by at most this
COLLAPSE_MARGIN = 0.05


def seeds(p: Params, seed: int) -> list[int]:
    """Seeds of every row of the main stage: seed, seed + 1, ..., seed + n_seeds − 1 (`seed`: the notebook's).

    Raises:
        ValueError: `seed` not an integer in [0, 2**32) (`study.checks.seed_in`).
    """
    checks.seed_in({"seed": seed})
    return list(range(seed, seed + p.n_seeds))


def data_config(p: Params, dataset: str, seed: int) -> Config:
    """A config's ``data`` dict (`run.DATA_KEYS`) for `dataset`, generated with the notebook's `seed`; the outline
    spacing is min(0.004, λ_min/4)."""
    amp = p.letters_amplitude if dataset == "letters" else p.shapes_amplitude
    wl = p.letters_wavelength if dataset == "letters" else p.shapes_wavelength
    out: Config = {
        "image_size": p.image_size,
        "n_train": p.n_train,
        "n_test": p.n_test,
        "amplitude": [float(v) for v in amp],
    }
    out |= {"wavelength": [float(v) for v in wl], "n_waves": p.n_waves, "elastic_alpha": float(p.elastic_alpha)}
    return out | {"elastic_sigma": float(p.elastic_sigma), "spacing": min(0.004, float(wl[0]) / 4), "seed": seed}


def resolve_device(device: str | torch.device) -> str:
    """ "cpu", "cuda" or "cuda:<n>" from a torch device or its name.

    Raises:
        ValueError: "auto" (resolve it first, e.g. `study.train.pick_device`) or another device type.
    """
    dev = torch.device(device) if str(device) != "auto" else None
    if dev is None or dev.type not in ("cpu", "cuda"):
        raise ValueError(f"device={device!r} must be a resolved 'cpu' or 'cuda[:n]' device")
    return dev.type if dev.index is None else str(dev)


def run_config(
    p: Params,
    dataset: str,
    method: str,
    seed: int,
    *,
    data_seed: int,
    schedule: Mapping[str, Any],
    eval_split: str,
    device: str | torch.device,
    normalize: str,
    lam: float | None = None,
    variant: str = "",
    curves: bool | None = None,
) -> Config:
    """The config of one run (`run.RunConfig`): `method` on `dataset` with training seed `seed`.

    Args:
        data_seed: the notebook's seed: the data sets' generation seed and, for "val", the carving seed.
        schedule: {"lr", "batch_size", "epochs"} (`choose_schedule`, or a candidate of `schedule_grid`).
        eval_split: "val" carves ``n_val`` images (seed `data_seed`) out of the training split; "test".
        normalize: the headline normalisation (`choose_normalization`); RVSM methods only.
        lam: λ of a penalised method (default ``p.lam``, the paper's; ignored for sgd_plain).
        variant: "" (headline settings), a reading ``"<choice>=<value>"`` of `run.OPEN_CHOICES` (that one choice
            changed: "normalize" for RVSM methods only; "optimizer=adam" also sets lr ``adam_lr``), a key of
            `run.VARIANTS` (its overrides, RVSM only), or "lam_val".
        curves: evaluate after every epoch; default: the headline RVSM runs on test only (Fig. 4 draws them).

    Raises:
        ValueError: a bad method, split, variant, reading or device.
    """
    algorithm, penalty, a = method_spec(method)
    if eval_split not in EVAL_SPLITS:
        raise ValueError(f"eval_split={eval_split!r} is not one of {EVAL_SPLITS}")
    if normalize not in NORMALIZATIONS:
        raise ValueError(f"normalize={normalize!r} is out of range; accepted: one of {NORMALIZATIONS}")
    rv = algorithm == "rvsm"
    val = eval_split == "val"
    c: Config = {"dataset": dataset, "data": data_config(p, dataset, data_seed), "eval_split": eval_split}
    c |= {"n_val": p.n_val if val else None, "val_seed": data_seed if val else None, "method": method}
    c |= {"algorithm": algorithm, "penalty": penalty, "a": a}
    c |= {"lam": (float(p.lam if lam is None else lam) if penalty is not None else None)}
    c |= {"beta": float(p.beta) if rv else None, "variant": variant, "optimizer": HEADLINE_OPTIMIZER}
    c |= {"lr": float(schedule["lr"]), "momentum": float(p.momentum), "nesterov": bool(p.nesterov)}
    c |= {"warmup_steps": int(p.warmup_steps), "clip": p.clip, "weight_decay": float(p.weight_decay)}
    c |= {"init": p.init, "standardize": bool(p.standardize), "coupling": p.coupling if rv else None}
    c |= {"normalize": normalize if rv else None, "epoch_end_hard": bool(p.epoch_end_hard) if rv else False}
    c |= {"epochs": int(schedule["epochs"]), "batch_size": int(schedule["batch_size"])}
    c |= {"channels_last": bool(p.channels_last), "seed": seed, "device": resolve_device(device)}
    c |= {"curves": (variant == "" and eval_split == "test" and rv) if curves is None else bool(curves)}
    if variant and "=" in variant:
        choice, value = parse_reading(variant)
        if choice in RVSM_ONLY_CHOICES and not rv:
            raise ValueError(f"variant={variant!r}: the {choice} reading applies to RVSM methods only")
        c[choice] = value
    elif variant and variant != "lam_val":
        if variant not in VARIANTS or not rv:
            raise ValueError(
                f"variant={variant!r} is out of range; accepted: '' or 'lam_val' or a reading "
                f"'<choice>=<value>' or one of {list(VARIANTS)} (RVSM methods only)"
            )
        c.update(VARIANTS[variant])
    if c["optimizer"] == "adam":
        c.update(lr=float(p.adam_lr), momentum=None, nesterov=False, warmup_steps=0, clip=None)
    parse(RunConfig, c)
    return c


def parse_reading(key: str) -> tuple[str, Any]:
    """(choice, value) of a reading key ``"<choice>=<value>"`` (`study.claims.reading_key`): weight_decay a float,
    epochs an int, the others names.

    Raises:
        ValueError: not of that form, an unknown choice, or a value out of the choice's range.
    """
    if not isinstance(key, str) or "=" not in key:
        raise ValueError(f"reading {key!r} is not '<choice>=<value>'")
    choice, text = key.split("=", 1)
    if choice not in OPEN_CHOICES:
        raise ValueError(f"reading {key!r}: choice {choice!r} is not one of {list(OPEN_CHOICES)}")
    try:
        value = float(text) if choice == "weight_decay" else int(text) if choice == "epochs" else text
    except ValueError:
        raise ValueError(f"reading {key!r}: {text!r} is not a value of {choice}") from None
    try:
        check_readings({"normalize": ["max"], choice: [value]} if choice != "normalize" else {"normalize": [value]})
    except ValueError:
        raise checks.out_of_range(f"readings[{choice!r}]", [value], READING_ACCEPTED[choice]) from None
    return choice, value


def headline_values(p: Params, schedule: Mapping[str, Any], normalize: str) -> dict[str, Any]:
    """The headline reading of every open choice: the chosen normalisation, ``init``, SGD, ``weight_decay`` and the
    schedule's epochs."""
    hv = {"normalize": normalize, "init": p.init, "optimizer": HEADLINE_OPTIMIZER}
    return hv | {"weight_decay": float(p.weight_decay), "epochs": int(schedule["epochs"])}


def reading_keys(p: Params, schedule: Mapping[str, Any], normalize: str) -> list[str]:
    """The readings this profile runs besides the headline: every value of ``readings`` that differs from the
    headline's, as ``"<choice>=<value>"`` keys, in the order of `run.OPEN_CHOICES`."""
    head = headline_values(p, schedule, normalize)
    return [claims_mod.reading_key(ch, v) for ch in OPEN_CHOICES for v in p.readings.get(ch, []) if v != head[ch]]


def schedule_grid(p: Params) -> list[Config]:
    """The candidate schedules in `study.selection.RULE` order (simplest first): fewer epochs, smaller lr, larger
    batch first."""
    return [
        {"epochs": e, "lr": lr, "batch_size": b}
        for e in sorted(p.epochs_grid)
        for lr in sorted(p.lr_grid)
        for b in sorted(p.batch_grid, reverse=True)
    ]


def schedule_plan(p: Params, *, seed: int, device: str | torch.device) -> list[Config]:
    """Stage 1: `TUNE_METHODS` × lr_grid × batch_grid on the validation split of ``tune_dataset``, seed `seed` (the
    notebook's), each trained for max(epochs_grid) epochs (the shorter candidates are read from the same runs' epoch
    rows). Length: len(TUNE_METHODS) · len(lr_grid) · len(batch_grid).

    Raises:
        ValueError: a bad seed or device.
    """
    e, curves = max(p.epochs_grid), len(p.epochs_grid) > 1
    norm = p.readings["normalize"][0]  # unused by the dense baseline; any RVSM tune method would use it
    kw = _val(seed, device, normalize=norm, curves=curves)
    return [
        run_config(p, p.tune_dataset, m, seed, **kw, schedule={"lr": lr, "batch_size": b, "epochs": e})
        for lr in sorted(p.lr_grid)
        for b in sorted(p.batch_grid, reverse=True)
        for m in TUNE_METHODS
    ]


def _val(seed: int, device: str | torch.device, **kw: Any) -> dict[str, Any]:
    """`run_config`'s keywords of a validation stage run with the notebook's `seed` (checked here)."""
    checks.seed_in({"seed": seed})
    return dict(data_seed=seed, eval_split="val", device=device, **kw)


def candidate_rows(configs: list[Config], sweep: runs.Sweep, keys: tuple[str, ...]) -> pd.DataFrame:
    """The validation rows of candidate runs with the config values `keys` as columns (and ``epochs`` = epoch)."""
    frames = []
    for c, r in zip(configs, sweep.results):
        if r is None:
            continue
        if c["eval_split"] != "val":
            raise ValueError(f"candidate run {c['method']} was evaluated on {c['eval_split']!r}, not 'val'")
        f = r.rows.copy()
        for k in keys:
            f[k] = c[k]
        f["epochs"] = f["epoch"]
        frames.append(f)
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=results.COLUMNS)


def choose_schedule(configs: list[Config], sweep: runs.Sweep, p: Params) -> tuple[Config, pd.DataFrame]:
    """(chosen {"epochs", "lr", "batch_size"}, table) by `study.selection.choose` on the mean validation accuracy
    of the sparse network (RVSM-l0; the dense network for sgd_plain) over `TUNE_METHODS`, at each epoch count of
    ``epochs_grid``.

    Raises:
        ValueError: a candidate run with test rows, or a grid setting without rows (`selection.choose`).
    """
    rows = candidate_rows(configs, sweep, ("lr", "batch_size"))
    return selection.choose(rows, schedule_grid(p), metric="accuracy_sparse", split="val")


def normalization_plan(
    p: Params, schedule: Mapping[str, Any], *, seed: int, device: str | torch.device
) -> list[Config]:
    """Stage 1b: the dense baseline and `NORM_CHECK_METHODS` under each candidate of ``readings["normalize"]`` on
    the validation split of ``tune_dataset`` at the chosen schedule, seed `seed`. Length 1 + candidates."""
    kw = _val(seed, device, schedule=schedule)
    cands = p.readings["normalize"]
    return [run_config(p, p.tune_dataset, "sgd_plain", seed, normalize=cands[0], **kw)] + [
        run_config(p, p.tune_dataset, m, seed, normalize=n, **kw) for n in cands for m in NORM_CHECK_METHODS
    ]


def choose_normalization(configs: list[Config], sweep: runs.Sweep, p: Params) -> tuple[str, pd.DataFrame]:
    """The headline normalisation, by the rule stated in notebook 02 before any test run: the first candidate of
    ``readings["normalize"]`` (the order the text supports them) whose validation runs (a) move the dense layer at
    least `study.claims.TRAINS_FRACTION` of the dense baseline's 1 − cos(w_final, w_init) under the same schedule
    and (b) end with a sparsity of u more than 1 pp away from the share of the initial weights under the threshold
    (``sparsity_init``: a layer that does not train keeps it) and (c) keep the sparse network's validation accuracy
    within `COLLAPSE_MARGIN` of the dense baseline's (no collapse). If none passes, the first that passes (a) and
    (c), then the first that passes (a), then the candidate that moves most.

    Returns:
        (normalisation, table: candidate, 1 − cos, baseline's 1 − cos, ratio, sparsity, sparsity_init, trains,
        passes, chosen).

    Raises:
        ValueError: a candidate run with test rows, or the baseline run missing.
    """
    last = {}
    for c, r in zip(configs, sweep.results):
        if r is None:
            continue
        if c["eval_split"] != "val":
            raise ValueError(f"normalisation check run {c['method']} was evaluated on {c['eval_split']!r}, not 'val'")
        f = r.rows[(r.rows.epoch == r.rows.epoch.max()) & (r.rows.split == "-")].set_index("metric")["value"]
        last[(c["method"], c["normalize"])] = f
    base = [v for (m, _), v in last.items() if m == "sgd_plain"]
    if not base:
        raise ValueError("the dense baseline's validation run is missing: no movement check")
    b = 1 - float(base[0]["cos_init_dense"])
    base_acc = [
        float(
            r.rows[(r.rows.epoch == r.rows.epoch.max()) & (r.rows.metric == "accuracy") & (r.rows.split == "val")][
                "value"
            ].iloc[0]
        )
        for c, r in zip(configs, sweep.results)
        if r is not None and c["method"] == "sgd_plain"
    ][0]
    rows = []
    for n in p.readings["normalize"]:
        for m in NORM_CHECK_METHODS:
            f = last.get((m, n))
            if f is None:
                rows.append({"normalize": n, "method": m, "1-cos dense": None})
                continue
            moved = 1 - float(f["cos_init_dense"])
            ratio = moved / b if b > 0 else float("nan")
            gap = abs(float(f["sparsity"]) - float(f["sparsity_init"]))
            run_ = sweep.results[[i for i, c in enumerate(configs) if (c["method"], c["normalize"]) == (m, n)][0]]
            rows_ = run_.rows.query("metric == 'accuracy_sparse' and split == 'val'")  # type: ignore[union-attr]
            acc = float(rows_.sort_values("epoch")["value"].iloc[-1])
            sp, sp0 = float(f["sparsity"]), float(f["sparsity_init"])
            rows.append(
                {"normalize": n, "method": m, "1-cos dense": moved, "baseline 1-cos": b, "ratio": ratio}
                | {"sparsity": sp, "sparsity_init": sp0, "sparse val acc": acc, "baseline val acc": base_acc}
                | {"trains": ratio >= claims_mod.TRAINS_FRACTION, "off init share": gap > 0.01}
                | {"no collapse": acc >= base_acc - COLLAPSE_MARGIN}
            )
    table = pd.DataFrame(rows)
    for col in ("trains", "off init share", "no collapse"):
        if col not in table:
            table[col] = False
        table[col] = table[col].fillna(False).astype(bool)
    table["passes"] = table["trains"] & table["off init share"] & table["no collapse"]
    ok = table.groupby("normalize", sort=False)["passes"].all()
    order = p.readings["normalize"]
    weaker = table.groupby("normalize", sort=False).apply(lambda g: bool((g["trains"] & g["no collapse"]).all()))
    trains = table.groupby("normalize", sort=False)["trains"].all()
    passing = (
        [n for n in order if ok.get(n, False)]
        or [n for n in order if weaker.get(n, False)]
        or [n for n in order if trains.get(n, False)]
    )
    chosen = passing[0] if passing else str(table.groupby("normalize")["1-cos dense"].mean().idxmax())
    table["chosen"] = table["normalize"] == chosen
    return chosen, table


def lambda_plan(
    p: Params, schedule: Mapping[str, Any], normalize: str, *, seed: int, device: str | torch.device
) -> list[Config]:
    """Stage 2: RVSM-l0 (headline settings) at each λ of ``lam_grid`` on each data set's validation split, seed
    `seed`. Empty when ``lam_grid`` is empty. Length len(datasets) · len(lam_grid)."""
    kw = _val(seed, device, schedule=schedule, normalize=normalize)
    return [
        run_config(p, d, "rvsm_l0", seed, lam=l_, **kw) for d in p.datasets for l_ in sorted(p.lam_grid, reverse=True)
    ]


def choose_lambda(configs: list[Config], sweep: runs.Sweep, p: Params) -> tuple[dict[str, float], pd.DataFrame]:
    """λ per data set for the "lam_val" variant, by `study.selection.choose` on a score per candidate run at its
    last epoch: 1 when the sparse network's validation accuracy is within ``val_tolerance`` of its own w's, else
    that accuracy − 1 (< 0). The grid lists λ from largest to smallest, so ties (every admissible λ scores 1) go to
    the largest admissible λ; if none is admissible the most accurate wins.

    Returns:
        ({dataset: λ}, table with dataset, λ, score, chosen); ({}, empty) when ``lam_grid`` is empty.
    """
    if not p.lam_grid:
        return {}, pd.DataFrame()
    rows = candidate_rows(configs, sweep, ("lam",))
    rows = rows[rows.epoch == rows.groupby("method")["epoch"].transform("max")]
    out: dict[str, float] = {}
    tables = []
    for d in p.datasets:
        r = rows[rows.dataset == d]
        score = []
        for l_, g in r.groupby("lam"):
            acc = g.set_index(["metric", "split"])["value"]
            sp, w = float(acc[("accuracy_sparse", "val")]), float(acc[("accuracy", "val")])
            value = 1.0 if sp >= w - p.val_tolerance else sp - 1.0
            score.append(
                {"lam": l_, "seed": int(g.seed.iloc[0]), "split": "val", "metric": "lambda_score"} | {"value": value}
            )
        grid = [{"lam": l_} for l_ in sorted(p.lam_grid, reverse=True)]
        chosen, table = selection.choose(pd.DataFrame(score), grid, metric="lambda_score")
        out[d] = float(chosen["lam"])
        tables.append(table.assign(dataset=d))
    return out, pd.concat(tables, ignore_index=True)


def main_plan(
    p: Params,
    schedule: Mapping[str, Any],
    lam_val: Mapping[str, float],
    normalize: str,
    *,
    seed: int,
    device: str | torch.device,
) -> list[Config]:
    """Stage 3, test split, every row with ``n_seeds`` seeds (`seeds`): per data set every method of Tables 1-3 at
    the paper's λ = ``lam``, β = ``beta`` (SGD-TL1 at the same λ) and the dense baseline under the headline reading
    (normalisation `normalize`); on ``tune_dataset`` every method again under each other reading of `reading_keys`
    (one choice changed; the normalisation readings for the RVSM methods only: the others do not normalise);
    RVSM-l0 with each ablation of ``ablations`` on ``tune_dataset``; RVSM-l0 with the λ chosen on validation
    (variant "lam_val") per data set where that λ differs from ``lam``.
    Length n_seeds · (len(datasets) · len(methods) + Σ_readings methods of the reading + len(ablations) + data
    sets whose chosen λ differs)."""
    ss = seeds(p, seed)
    kw: dict[str, Any] = dict(data_seed=seed, schedule=schedule, eval_split="test", device=device, normalize=normalize)
    out = [run_config(p, d, m, s, **kw) for d in p.datasets for m in p.methods for s in ss]
    for key in reading_keys(p, schedule, normalize):
        ms = p.rvsm_methods if key.split("=")[0] in RVSM_ONLY_CHOICES else p.methods
        out += [run_config(p, p.tune_dataset, m, s, variant=key, **kw) for m in ms for s in ss]
    out += [run_config(p, p.tune_dataset, "rvsm_l0", s, variant=v, **kw) for v in p.ablations for s in ss]
    out += [
        run_config(p, d, "rvsm_l0", s, lam=lam_val[d], variant="lam_val", **kw)
        for d in p.datasets
        if d in lam_val and lam_val[d] != p.lam
        for s in ss
    ]
    return out
