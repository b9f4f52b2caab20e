"""Selection on a validation split only (`study.selection`, issue 11 item 7)."""
import pandas as pd
import pytest
import torch

from study import selection


def test_carve_gives_disjoint_parts_covering_the_training_set():
    s = selection.carve(100, 20, seed=3)
    assert len(s.fit) == 80 and len(s.val) == 20
    assert set(s.fit.tolist()).isdisjoint(s.val.tolist())
    assert sorted(s.fit.tolist() + s.val.tolist()) == list(range(100))
    assert torch.equal(selection.carve(100, 20, seed=3).val, s.val)  # one seed, one split
    last = selection.carve(60000, 10000, last=True)
    assert last.val[0] == 50000 and last.val[-1] == 59999
    assert not hasattr(s, "test")  # there is nothing to leak the test split through
    for bad in (0, 100, 150):
        with pytest.raises(ValueError, match="n_val"):
            selection.carve(100, bad, seed=0)
    with pytest.raises(ValueError, match="seed"):
        selection.carve(100, 10)


def _rows(split="val"):
    rows = []
    for seed in range(3):
        for lam, acc in ((1e-4, 0.95), (1e-3, 0.97), (1e-2, 0.97)):
            rows.append({"seed": seed, "lam": lam, "split": split, "metric": "accuracy", "value": acc + 0.001 * seed})
    return pd.DataFrame(rows)


def test_choose_takes_the_best_mean_and_breaks_ties_by_grid_order():
    grid = [{"lam": 1e-4}, {"lam": 1e-3}, {"lam": 1e-2}]
    chosen, table = selection.choose(_rows(), grid)
    assert chosen == {"lam": 1e-3} and table["chosen"].tolist() == [False, True, False]
    assert table["n"].tolist() == [3, 3, 3]
    chosen, _ = selection.choose(_rows(), list(reversed(grid)))
    assert chosen == {"lam": 1e-2}
    lo, _ = selection.choose(_rows(), grid, higher_is_better=False)
    assert lo == {"lam": 1e-4}


def test_choose_within_takes_the_first_setting_close_enough_to_the_best():
    grid = [{"lam": 1e-2}, {"lam": 1e-3}, {"lam": 1e-4}]  # most regularised first
    rows = pd.DataFrame([{"seed": s, "lam": lam, "split": "val", "metric": "accuracy", "value": acc}
                         for s in range(3) for lam, acc in ((1e-2, 0.955), (1e-3, 0.962), (1e-4, 0.965))])
    assert selection.choose(rows, grid)[0] == {"lam": 1e-4}
    assert selection.choose(rows, grid, within=0.005)[0] == {"lam": 1e-3}
    assert selection.choose(rows, grid, within=0.01)[0] == {"lam": 1e-2}
    with pytest.raises(ValueError, match="within"):
        selection.choose(rows, grid, within=-0.1)


def test_choose_never_sees_the_test_split():
    grid = [{"lam": 1e-4}, {"lam": 1e-3}]
    mixed = pd.concat([_rows(), _rows("test")])
    with pytest.raises(ValueError, match="test-split row"):
        selection.choose(mixed, grid)
    with pytest.raises(ValueError, match="never on test"):
        selection.choose(_rows(), grid, split="test")
    with pytest.raises(ValueError, match="no val rows"):
        selection.choose(_rows(), [{"lam": 5.0}])
    with pytest.raises(ValueError, match="empty"):
        selection.choose(_rows(), [])
