"""Hyper-parameter selection on a validation split only: the test split cannot reach a choice, by construction.

A study that tunes λ, α, the learning rate or the epochs carves a validation split out of the *training* images
(`carve`), trains candidate settings on the rest, and scores them on the validation images. `choose` then picks one
setting from those validation rows by a rule written down before looking (`RULE`). It refuses any frame that holds a
test row, so a choice made through it never saw test data; the chosen setting is trained again (or re-used) and
evaluated on the test split once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd
import torch

#: The selection rule every notebook uses (printed beside each grid).
RULE = (
    "among the settings whose mean validation score over seeds is within `within` of the best (within = 0: the "
    "best, up to 1e-9), the one listed first in the grid; each plan orders its grid from the simplest / most "
    "regularised setting to the least. A penalty strength (λ) is chosen with within = the accuracy tolerance "
    "of study.claims (1 pp): the strongest penalty that costs at most that much validation accuracy, since the "
    "best accuracy alone always favours λ -> 0 and would leave a sparsity claim untested"
)


@dataclass(frozen=True)
class TuningSplit:
    """Indices of a training set split into the images a candidate trains on and the validation images it is scored
    on. There is no test field: selection code that receives a `TuningSplit` cannot see the test split.

    Attributes:
        fit: indices into the training set, shape (n_train - n_val,), int64.
        val: indices into the training set, shape (n_val,), int64; disjoint from `fit`.
    """

    fit: torch.Tensor
    val: torch.Tensor


def carve(n_train: int, n_val: int, *, seed: int | None = None, last: bool = False) -> TuningSplit:
    """Split ``range(n_train)`` training indices into fit / validation parts.

    Args:
        n_train: training images available (> n_val).
        n_val: validation images, 1 <= n_val < n_train.
        seed: the permutation's seed (a random split), or None with ``last=True``.
        last: take the last `n_val` images as validation (e.g. MNIST's last 10,000 training images), no shuffling.

    Raises:
        ValueError: `n_val` outside [1, n_train - 1], or neither `seed` nor `last` given.
    """
    if not isinstance(n_train, int) or not isinstance(n_val, int) or not 1 <= n_val < n_train:
        raise ValueError(f"n_val={n_val!r} must be an int in [1, n_train - 1] with n_train={n_train!r}")
    if last:
        idx = torch.arange(n_train)
    elif seed is None:
        raise ValueError("carve needs seed= (random split) or last=True (the last n_val images)")
    else:
        idx = torch.randperm(n_train, generator=torch.Generator().manual_seed(int(seed)))
    return TuningSplit(fit=idx[: n_train - n_val].clone(), val=idx[n_train - n_val :].clone())


def choose(
    df: pd.DataFrame,
    grid: Sequence[dict[str, Any]],
    *,
    metric: str = "accuracy",
    split: str = "val",
    higher_is_better: bool = True,
    seed: str = "seed",
    within: float = 0.0,
) -> tuple[dict[str, Any], pd.DataFrame]:
    """Pick one setting of `grid` from validation rows by `RULE`.

    Args:
        df: tidy rows of the candidate runs (`study.results.COLUMNS` plus one column per grid key), at the epoch to
            judge (the caller selects it). Only rows with ``split == split`` and ``metric == metric`` are scored.
        grid: the candidate settings in plan order, e.g. ``[{"lam": 1e-4}, {"lam": 1e-3}]``; every setting must have
            rows.
        metric: the score (e.g. "accuracy", "loss").
        split: "val" (or "train"); never "test".
        higher_is_better: False for a loss.
        within: the slack below the best mean score (in the score's unit, >= 0) inside which the first setting of
            the grid wins (`RULE`).

    Returns:
        ``(chosen setting, table)``; the table has one row per setting with mean, std and n of the score and a
        ``chosen`` column, in grid order.

    Raises:
        ValueError: `df` holds any row of the test split (whatever its metric), `split` is "test", the grid is empty,
            or a setting has no row (names it).
    """
    if split == "test":
        raise ValueError("split='test': hyper-parameters are chosen on the validation split, never on test")
    if "split" in df.columns and (df["split"] == "test").any():
        raise ValueError(
            f"choose() got {int((df['split'] == 'test').sum())} test-split row(s): selection sees "
            "validation rows only (pass the candidate runs' val rows)"
        )
    if not grid:
        raise ValueError("grid is empty: nothing to choose from")
    if not within >= 0:
        raise ValueError(f"within={within!r} must be a number >= 0 (the slack below the best score)")
    d = df[(df["split"] == split) & (df["metric"] == metric)]
    rows = []
    for i, setting in enumerate(grid):
        g = d
        for k, v in setting.items():
            if k not in g.columns:
                raise ValueError(f"grid key {k!r} is not a column of the candidate rows {list(df.columns)}")
            g = g[g[k] == v]
        if g.empty:
            raise ValueError(f"no {split} rows of {metric!r} for setting {setting}")
        v = g["value"].astype(float)
        rows.append(
            {
                **setting,
                "mean": float(v.mean()),
                "std": float(v.std()) if len(v) > 1 else 0.0,
                "n": int(g[seed].nunique()) if seed in g.columns else len(v),
                "order": i,
            }
        )
    table = pd.DataFrame(rows)
    score = table["mean"] if higher_is_better else -table["mean"]
    best = score.max()
    pick = int(table.index[(score >= best - within - 1e-9)][0])
    table["chosen"] = table.index == pick
    return dict(grid[pick]), table.drop(columns="order")
