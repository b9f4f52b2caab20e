"""Zaugg, Ingold, Trendafilov & Fischer, *Cross-Entropy Regularization with Mutual Information in Training CNNs*
(WIVACE 2024; ``shared/papers/004_*.txt``): the experiments of notebook ``03_mi_regularization``.

One *run* (`run`) trains one network -- the shallow CNN (§4.2) or ResNet18 -- on a balanced subset of MNIST or
Fashion-MNIST (§4.1) by mini-batch SGD with momentum, with either

* ``method="ce"``: the cross-entropy alone, or
* ``method="mi"``: their eq. 7, L = f(epoch)·CE − (1 − f(epoch))·I_α(Y;Ŷ), f = (1 + epoch)^−0.5, at a fixed kernel
  width s* of the prediction layer (`study.information.mi_regularized_loss`),

and after every epoch (and before the first) runs a fixed evaluation pass: accuracy and CE on train/val/test, the
softmax rows Ŷ of a fixed class-balanced MI evaluation part of the training and test subsets (kept as artifacts so
that I(Y;Ŷ) can be evaluated afterwards at the final s*), the alignment curve of Ŷ with the labels over the candidate
widths (§3.2, Fig. 1), for L-training the ℓ2 norm of ∇θ I(Y;Ŷ) (Fig. 6), I(Y;X) at the input's own
alignment-maximising width, and (beyond the paper) the information plane of the shallow CNN.

The notebook checks every parameter first (`check_params`: types, ranges, relations such as subsets not larger than
the data and non-empty seed lists, unknown names), before any data is loaded. It runs three *stages*: the learning
rate of the shallow CNN chosen per data set on the validation split (`tuning_plan`, `choose_lr`; the paper gives no
optimiser settings); every CE run (`plan` with ``method="ce"``); s* = the mean over CE seeds and epochs ≥ 1 of the
per-epoch alignment maximiser (`width_star`, their Fig. 1), then every L run at that s* (`plan` with
``method="mi"``) and the runs on I(Y;Ŷ) alone (``method="mi_only"``, §5.1's vanishing gradient). The paper's open
choices (`READINGS`, issue 17) are read in more than one way: the learning rate (the CE, L and I-only stages again at
the validation runner-up, `alternative_lr`) and the kernel width of X (analysis only: `input_information_table`).
Everything after `run` (`width_star`, `analysis`, the tables, figures, `claims_list`, `claims_with_readings`,
`training_checks`, `metrics`, `deviations`) analyses stored runs and is not called by `run`: editing it never
invalidates them. The paper gives no numbers, only figures; its claims are typed from its words (`study.claims`) as
stated in each claim's note, each with the runs it depends on.
Units: CE in nats (batch mean), MI in bits, widths s in the units of the rows (eq. 2 divides by s², not 2σ²).
"""

from __future__ import annotations

import functools
import math
import time
from typing import Any

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F

from study import checks, claims, data, results, runs, train
from study import information as inf
from study.models.mi_cnn import STEMS, ResNet18MI, ShallowCNN

PAPER = "Zaugg et al. 2024"
STUDY = "mi_regularization"
MODELS = ("shallow", "resnet18")
#: "ce": cross-entropy; "mi": eq. 7; "mi_only": −I(Y;Ŷ) alone from epoch 0 (f ≡ 0; §5.1 "the maximization of
#: I(Y;Ŷ) raises the problem of a vanishing gradient"), run for ``ionly_epochs``.
METHODS = ("ce", "mi", "mi_only")
YHAT_LAYERS = ("softmax", "logits")
#: The ResNet18 subsets are drawn from the shallow CNN's subsets with a generator seeded ``data_seed + 17``.
RESNET_SUBSET_SEED_OFFSET = 17
#: Rows per forward pass in the evaluation pass (memory only; does not change any number).
EVAL_BATCH = 500

# --------------------------------------------------------------------------------------- the paper's reference numbers
#: §4.2: the paper's epochs (Fig. 3: shallow CNN 50, ResNet18 100) and α (§3.1).
PAPER_EPOCHS = {"shallow": 50, "resnet18": 100}
PAPER_ALPHA = 1.01
#: §4.2: "approximately 44K network parameters"; ResNet18 "roughly 200 times as many".
PAPER_SHALLOW_PARAMETERS = 44_000
PAPER_RESNET_RATIO = 200
#: A network's claims are about the course of training over tens of epochs on 5,000 images: below these a profile
#: cannot answer them and they are `claims.not_tested` (fixed before looking at results).
MIN_EPOCHS_TESTED = 10
MIN_TRAIN_PER_CLASS_TESTED = 100
#: Fig. 6 read as numbers (the paper gives none): ‖∇θ I‖ "vanishes" = last (or epoch-0) / peak at most 0 within the
#: ratio tolerance (0.1); "slowly decreases [...] keeps updating" = last / peak at least 0.2 within it (>= 0.1).
FIG6_VANISHED = 0.0
FIG6_NOT_VANISHED = 0.2
#: DPI (§5.1): Fig. 3b (shallow CNN, 50 epochs) shows no violation, Fig. 3d (ResNet18, 100 epochs) one.
PAPER_DPI_FRACTION = {"shallow": 0.0, "resnet18": 0.01}
#: A DPI "violation" must exceed I(Y;X) by more than this (bits): both estimates saturate at the same H(Y) of a batch
#: when both kernels are nearly diagonal (Silverman's rule on 784-dimensional inputs), and a tie differs by round-off.
DPI_TIE_BITS = 1e-9
#: The readings of the kernel width of X (the paper's open choice for the DPI, issue 17), Ŷ always at s*: one width
#: s* for every MI value (§3.2 "the value of s* sets the scale in Eq. 2 for computing the MI values": the headline),
#: X at its own alignment maximiser (Wickstrøm et al. 2019, our extension) and Silverman's rule per batch (our
#: extension). `DPI_CONVENTIONS` maps each to its (I(Y;X), I(Y;Ŷ)) metrics; "silverman_both" (Silverman's rule for X
#: and Ŷ) is an ablation row of the DPI table only.
X_WIDTH_READINGS = ("s_star", "per_layer_alignment", "silverman")
X_WIDTH_HEADLINE = "s_star"
DPI_CONVENTIONS = {
    "s_star": ("mi_yx_sstar_bits", "mi_yyhat_bits"),
    "per_layer_alignment": ("mi_yx_bits", "mi_yyhat_bits"),
    "silverman": ("mi_yx_silverman_bits", "mi_yyhat_bits"),
    "silverman_both": ("mi_yx_silverman_bits", "mi_yyhat_silverman_bits"),
}
#: A width of X at which every evaluation batch has |I(Y;X) − H(Y)| at most this (bits) makes the DPI vacuous:
#: this estimator's I(Y;Ŷ) never exceeds H(Y) (H(A, B) ≥ max(H(A), H(B)) for the Hadamard joint entropy), so
#: I(Y;Ŷ) > I(Y;X) cannot happen there. Round-off of the 100 x 100 eigenproblems is ~1e-12 bits.
VACUOUS_BITS = 1e-6
#: The learning-rate readings (shallow CNN): the validation grid's best rate (headline) and its runner-up.
LR_READINGS = ("validation-best", "validation-runner-up")
#: What "the loss" of Fig. 5 is (the paper does not define it): the CE of both methods (headline) or the minimised
#: objective (CE for CE-training, L of eq. 7 for L-training).
FIG5_LOSS_READINGS = ("ce", "objective")
#: The paper's open choices read in more than one way, with the headline reading and the rule that picks it, fixed
#: before the test split is read (headline.json ``readings``; every claim they affect is judged under each).
READINGS = {
    "x_width": {
        "readings": list(X_WIDTH_READINGS),
        "headline": X_WIDTH_HEADLINE,
        "our_extension": ["per_layer_alignment", "silverman"],
        "why": "§3.2: 'the value of s* sets the scale in Eq. 2 for computing the MI values' -- the text's only "
        "statement on widths names one width s* (chosen for Ŷ) for every MI value, X included. "
        "Per-layer alignment widths (X at its own alignment maximiser, Wickstrøm et al. 2019) and "
        "Silverman's rule are our extensions. Affects the DPI claims only (analysis-only: I(Y;X) is "
        "recomputed from the stored evaluation images).",
    },
    "fig5_loss": {
        "readings": list(FIG5_LOSS_READINGS),
        "headline": FIG5_LOSS_READINGS[0],
        "why": "Fig. 5 plots 'the loss' without defining it. CE is the one loss both methods share, so the "
        "gap comparison compares like with like (and L's own gap shrinks by construction, × f); "
        "reading the text's 'loss' of L-training as L itself is the other reading. Affects the "
        "Fig. 5 and Fig. 5b claims (analysis only).",
    },
    "lr": {
        "readings": list(LR_READINGS),
        "headline": LR_READINGS[0],
        "why": "the paper names no optimiser or rate: the headline is the rate of lr_grid with the highest "
        "validation accuracy of CE runs (study.selection.RULE, validation split only); the runner-up of "
        "the same grid is the other plausible value; ResNet18's rate is not selected (resnet_lr, its "
        "reading resnet_lr_alt). Every claim is judged under both (CE, L and I-only runs retrained, s* "
        "recomputed by the same rule).",
    },
}
#: "I(Y;Ŷ) saturates after just a few training epochs" (§5.3, Fig. 4a) read as: by epoch `SATURATION_EPOCH` ("a
#: few") I(Y;Ŷ) has made at least `SATURATION_SHARE` of its rise from epoch 0 to the end (mean of the last 3 epochs).
SATURATION_EPOCH = 5
SATURATION_SHARE = 0.9
#: The runs trained on I alone need this many epochs for their claim to be tested.
MIN_IONLY_EPOCHS_TESTED = 3
#: The paper's sentence that predicts the runs trained on I alone not to train (their at-chance accuracy is data for
#: the vanishing-gradient claim, not a divergence that withholds verdicts).
IONLY_PREDICTED = (
    "Zaugg et al. §5.1: 'The maximization of I(Y;Ŷ) raises the problem of a vanishing gradient for both CNNs'"
)

#: The notebook's parameters (all but profile, seed, device, out_dir, executor; same names as the notebook): what
#: `check_params` checks, `plan` reads and headline.json's params record.
PARAMETERS = (
    "datasets",
    "train_per_class",
    "val_per_class",
    "test_per_class",
    "seeds",
    "epochs",
    "batch_size",
    "lr_grid",
    "ionly_epochs",
    "momentum",
    "alpha",
    "yhat_layer",
    "width_low",
    "width_high",
    "n_widths",
    "layer_width_rel",
    "mi_eval_per_class",
    "grad_batches",
    "info_plane",
    "resnet",
    "resnet_stem",
    "resnet_datasets",
    "resnet_seeds",
    "resnet_epochs",
    "resnet_train_per_class",
    "resnet_test_per_class",
    "resnet_eval_per_class",
    "resnet_lr",
    "resnet_lr_alt",
    "resnet_bn_cumulative",
    "bench_sizes",
    "bench_repeats",
)
#: Images of the rarest class per data set and split (the canonical files `study.data` checks: MNIST digit 5 has
#: 5,421 training and 892 test images; Fashion-MNIST 6,000 / 1,000 of every class). The balanced subsets are drawn
#: without replacement, so a per-class size may not exceed these (training + validation: disjoint, same split).
RAREST_CLASS = {"mnist": {"train": 5421, "test": 892}, "fashion-mnist": {"train": 6000, "test": 1000}}
#: The largest benchmark batch of the MI term cost table (N x N Gram matrices, O(N³) eigendecompositions).
BENCH_MAX = 4096

CONFIG_KEYS = (
    "dataset",
    "model",
    "method",
    "seed",
    "device",
    "epochs",
    "lr",
    "momentum",
    "batch_size",
    "data_seed",
    "subset_datasets",
    "train_per_class",
    "val_per_class",
    "test_per_class",
    "mi_eval_per_class",
    "resnet_train_per_class",
    "resnet_test_per_class",
    "resnet_eval_per_class",
    "resnet_stem",
    "resnet_bn_cumulative",
    "alpha",
    "yhat_layer",
    "width_low",
    "width_high",
    "n_widths",
    "layer_width_rel",
    "s_star",
    "grad_batches",
    "info_plane",
    "tuning",
)


# ------------------------------------------------------------------------------------------------------------ data
@functools.lru_cache(maxsize=4)
def subsets(
    data_seed: int,
    datasets: tuple[str, ...],
    train_per_class: int,
    val_per_class: int,
    test_per_class: int,
    mi_eval_per_class: int,
) -> dict[str, dict[str, Any]]:
    """The balanced subsets of §4.1 for every data set in `datasets`, drawn in that order from ONE generator seeded
    `data_seed` (so a data set's subsets depend on the data sets drawn before it, as in the notebook before runs were
    cached; the order is part of every config).

    Per data set: training and validation subsets (disjoint) from the official training split, a test subset from
    the official test split (`train_per_class` / `val_per_class` / `test_per_class` images per class), and the MI
    evaluation part (`mi_eval_per_class` per class) of the training and of the test subset.

    Returns:
        ``{name: {"train"|"val"|"test"|"mi_train"|"mi_test": (x float32 (N, 1, 28, 28) in [0, 1], y int64 (N,)),
        "pos": {"train"|"test": positions (M,) of the MI evaluation images in that subset},
        "indices": {"train"|"val"|"test": indices into the official split, "mi_train_positions"|"mi_test_positions"}}``.
        Cached (a few MB per data set); callers must not modify the tensors in place.

    Raises:
        ValueError: an unknown data set or a per-class count larger than a class (from `study.data`).
        study.data.DataError: data files missing or corrupt.
    """
    gen = torch.Generator().manual_seed(data_seed)
    out = {}
    for name in datasets:
        tr, te = data.load(name, "train"), data.load(name, "test")
        i_tr = data.balanced_indices(tr.labels, train_per_class, generator=gen)
        i_va = data.balanced_indices(tr.labels, val_per_class, generator=gen, exclude=i_tr)
        i_te = data.balanced_indices(te.labels, test_per_class, generator=gen)
        i_mi = torch.arange(len(i_tr))[data.balanced_indices(tr.labels[i_tr], mi_eval_per_class, generator=gen)]
        i_mi_te = torch.arange(len(i_te))[data.balanced_indices(te.labels[i_te], mi_eval_per_class, generator=gen)]
        sets: dict[str, Any] = {
            "train": (tr.subset(i_tr).float(), tr.labels[i_tr]),
            "val": (tr.subset(i_va).float(), tr.labels[i_va]),
            "test": (te.subset(i_te).float(), te.labels[i_te]),
        }
        sets["mi_train"] = (sets["train"][0][i_mi], sets["train"][1][i_mi])
        sets["mi_test"] = (sets["test"][0][i_mi_te], sets["test"][1][i_mi_te])
        sets["pos"] = {"train": i_mi, "test": i_mi_te}
        sets["indices"] = {
            "train": i_tr.tolist(),
            "val": i_va.tolist(),
            "test": i_te.tolist(),
            "mi_train_positions": i_mi.tolist(),
            "mi_test_positions": i_mi_te.tolist(),
        }
        out[name] = sets
    return out


@functools.lru_cache(maxsize=4)
def resnet_subsets(
    data_seed: int,
    datasets: tuple[str, ...],
    train_per_class: int,
    val_per_class: int,
    test_per_class: int,
    mi_eval_per_class: int,
    name: str,
    resnet_train_per_class: int,
    resnet_test_per_class: int,
    resnet_eval_per_class: int,
) -> dict[str, Any]:
    """ResNet18's smaller balanced subsets of data set `name`: `resnet_train_per_class` / `resnet_test_per_class`
    per class drawn from the shallow CNN's training / test subsets (`subsets`), and `resnet_eval_per_class` per class
    of each as its MI evaluation part; one generator seeded ``data_seed + RESNET_SUBSET_SEED_OFFSET``. No validation
    set (no result uses it). Same return layout as one entry of `subsets`, without "val" and "indices".

    Raises:
        ValueError: `name` not in `datasets`, or a per-class count larger than the shallow subset's.
    """
    if name not in datasets:
        raise ValueError(f"dataset={name!r} must be one of the subset data sets {list(datasets)}")
    base = subsets(data_seed, datasets, train_per_class, val_per_class, test_per_class, mi_eval_per_class)[name]
    gen = torch.Generator().manual_seed(data_seed + RESNET_SUBSET_SEED_OFFSET)
    sets: dict[str, Any] = {"pos": {}}
    for split, per in (("train", resnet_train_per_class), ("test", resnet_test_per_class)):
        x, y = base[split]
        keep = data.balanced_indices(y, per, generator=gen)
        pos = data.balanced_indices(y[keep], resnet_eval_per_class, generator=gen)
        sets[split] = (x[keep], y[keep])
        sets["pos"][split] = pos
        sets["mi_" + split] = (x[keep][pos], y[keep][pos])
    return sets


def run_sets(c: dict[str, Any]) -> dict[str, Any]:
    """The data of one run's config `c`: `subsets` for the shallow CNN, `resnet_subsets` for ResNet18."""
    key = (
        c["data_seed"],
        tuple(c["subset_datasets"]),
        c["train_per_class"],
        c["val_per_class"],
        c["test_per_class"],
        c["mi_eval_per_class"],
    )
    if c["model"] == "shallow":
        return subsets(*key)[c["dataset"]]
    return resnet_subsets(
        *key, c["dataset"], c["resnet_train_per_class"], c["resnet_test_per_class"], c["resnet_eval_per_class"]
    )


# ---------------------------------------------------------------------------------------------------------- the run
def make_model(model: str, stem: str | None = None, bn_cumulative: bool | None = None) -> torch.nn.Module:
    """A fresh network: `ShallowCNN` (44,050 parameters) or `ResNet18MI(stem)`; with `bn_cumulative` every
    BatchNorm keeps its running statistics as the cumulative average (momentum None; for short runs).

    Raises:
        ValueError: unknown `model` or `stem`.
    """
    if model == "shallow":
        return ShallowCNN()
    if model != "resnet18":
        raise ValueError(f"model={model!r} is not one of {MODELS}")
    net = ResNet18MI(stem)  # type: ignore[arg-type]  # None refused there
    if bn_cumulative:
        for m in net.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.momentum = None
    return net


def mi_batches(x: torch.Tensor, y: torch.Tensor, batch_size: int) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """(x, y) cut into consecutive batches of `batch_size` rows (the N of the MI estimator)."""
    return list(zip(x.split(batch_size), y.split(batch_size)))


def layer_width(
    t_batches: list[torch.Tensor], y_batches: list[torch.Tensor], rel: tuple[float, float] | list[float], n_widths: int
) -> float:
    """Alignment-maximising width s of one layer (rows flattened, batch mean of the alignment, §3.2) over `n_widths`
    candidates in [rel[0], rel[1]] × the layer's median pairwise distance (Wickstrøm et al. 2019 for hidden layers;
    our choice for X, whose width the paper does not give). Batches: t (N, ...), y (N,).
    """
    d = torch.cat([inf.pairwise_sq_distances(t.flatten(1)).flatten() for t in t_batches])
    med = float(d[d > 0].median().sqrt()) if bool((d > 0).any()) else 1.0
    cand = inf.candidate_widths(rel[0] * med, rel[1] * med, n_widths)
    return inf.width_search([(t.flatten(1), y) for t, y in zip(t_batches, y_batches)], cand).best


@torch.inference_mode()
def forward_eval(model: torch.nn.Module, x: torch.Tensor, device: torch.device) -> torch.Tensor:
    """Logits (N, C) float32 on `device` of `x` (N, 1, 28, 28), model in eval mode, `EVAL_BATCH` rows at a time."""
    model.eval()
    return torch.cat([model(x[i : i + EVAL_BATCH].to(device)).float() for i in range(0, len(x), EVAL_BATCH)])


@runs.experiment("mi", chance=0.1)  # 10 classes
def run(config: dict[str, Any]) -> runs.Result:
    """One training run of Zaugg et al.'s networks with CE or with their eq. 7, plus the per-epoch evaluation pass.

    Args:
        config: a plain dict with exactly the keys of `check_config`; `plan` builds them.

    Returns:
        `runs.Result` with
        ``rows`` (`study.results.COLUMNS`; study "mi_regularization", dataset/model/method/seed from the config), per
        epoch 0..E (0 = untrained) and split train/val/test (ResNet18: train/test): ``accuracy`` (fraction),
        ``ce_nats``; split train: ``width_best_yhat`` (alignment maximiser of Ŷ), ``f_transition`` (f of eq. 7 in the
        epoch that produced the model), ``mi_yx_bits`` (I(Y;X) at the input's width, the same every epoch), for
        ``method="mi"`` and every epoch ≥ 0 ``grad_norm_mi`` (‖∇θ I(Y;Ŷ)‖₂ of the batch-mean I over `grad_batches`
        evaluation batches at s*), with ``info_plane`` ``plane_ixt_bits/<layer>``, ``plane_ity_bits/<layer>``,
        ``plane_width/<layer>`` (layers conv1, conv2, fc1, fc2, yhat) and at epoch 0 ``plane_width/x``; per epoch
        1..E ``objective_batches`` (mean training objective over the epoch's batches, CE in nats or L in mixed units)
        and (split "-") ``epoch_time_s`` (wall seconds of the epoch's training steps, a measurement); at the last
        epoch (split "-") ``cos_init_<layer>`` (`study.train.cos_init` of the last hidden layer's final and initial
        weights: "fc2" for the shallow CNN, "layer4" for ResNet18; issue 17's training check). ``method="mi_only"``
        trains on −I(Y;Ŷ) alone (f ≡ 0) and records what an L run records.
        With ``tuning`` (a candidate of the learning-rate selection, `study.selection`): only ``accuracy`` and
        ``ce_nats`` on split "val" per epoch (plus ``objective_batches``, ``epoch_time_s``) -- no test row, no MI pass,
        no artifacts.
        ``artifacts``: ``yhat`` {"train"|"test": float32 (E+1, M, C) Ŷ rows of the MI evaluation images per epoch},
        ``y_mi`` {"train"|"test": int64 (M,) their labels}, ``widths`` float64 (S,) candidate widths,
        ``alignment`` float64 (E+1, S) batch-mean alignment of Ŷ per epoch, ``width_best`` float64 (E+1,),
        ``s_x`` (the input's width), ``i_yx_bits`` (I(Y;X)).

    Raises:
        ValueError: a bad config (`check_config`).
        FloatingPointError: the training objective became NaN or infinite (`study.train.fit`).
    """
    c = check_config(config)
    dev = torch.device(c["device"])
    sets = run_sets(c)
    widths = inf.candidate_widths(c["width_low"], c["width_high"], c["n_widths"])
    bs, alpha, layer, s_star = c["batch_size"], c["alpha"], c["yhat_layer"], c["s_star"]
    rel, n_widths = c["layer_width_rel"], c["n_widths"]
    gen = train.seed_everything(c["seed"])
    model = make_model(c["model"], c["resnet_stem"], c["resnet_bn_cumulative"]).to(dev)
    last_name, last_w = model.last_hidden()  # type: ignore[operator]  # both models of make_model define it
    w_init = last_w.detach().clone()
    state = {"f": 0.0 if c["method"] == "mi_only" else 1.0}
    rows: list[dict[str, Any]] = []
    yhat: dict[str, list[torch.Tensor]] = {split: [] for split in sets["pos"]}
    align, width_best = [], []
    batches_mi = mi_batches(sets["mi_train"][0].to(dev), sets["mi_train"][1].to(dev), bs)
    ys = [yb for _, yb in batches_mi]
    if not c["tuning"]:
        s_x = layer_width([b[0] for b in batches_mi], ys, rel, n_widths)
        i_yx = float(torch.stack([inf.mi_with_labels(xb.flatten(1), yb, s_x, alpha) for xb, yb in batches_mi]).mean())
    if c["info_plane"]:
        a_x = [inf.normalize_gram(inf.gram_matrix(xb.flatten(1), s_x)) for xb, _ in batches_mi]

    def loss_fn(logits, y):
        if c["method"] == "ce":
            return F.cross_entropy(logits, y)
        if c["method"] == "mi_only":
            return inf.mi_regularized_loss(logits, y, f=0.0, width=s_star, alpha=alpha, layer=layer)[0]
        return inf.mi_regularized_loss(logits, y, f=state["f"], width=s_star, alpha=alpha, layer=layer)[0]

    def on_epoch_start(epoch):  # fit counts epochs from 1; eq. 7 from 0
        if c["method"] == "mi":
            state["f"] = inf.transition_factor(epoch - 1)

    def on_epoch_end(model, epoch):
        if c["tuning"]:  # a selection candidate: the validation split only, never test
            x, y = sets["val"]
            logits = forward_eval(model, x, dev)
            rows.append(
                {
                    "epoch": epoch,
                    "split": "val",
                    "metric": "accuracy",
                    "value": float((logits.argmax(1).cpu() == y).float().mean()),
                }
            )
            rows.append(
                {
                    "epoch": epoch,
                    "split": "val",
                    "metric": "ce_nats",
                    "value": float(F.cross_entropy(logits, y.to(dev))),
                }
            )
            return {}
        for split in [s for s in ("train", "val", "test") if s in sets]:
            x, y = sets[split]
            logits = forward_eval(model, x, dev)
            rows.append(
                {
                    "epoch": epoch,
                    "split": split,
                    "metric": "accuracy",
                    "value": float((logits.argmax(1).cpu() == y).float().mean()),
                }
            )
            rows.append(
                {
                    "epoch": epoch,
                    "split": split,
                    "metric": "ce_nats",
                    "value": float(F.cross_entropy(logits, y.to(dev))),
                }
            )
            if split in sets["pos"]:  # Ŷ rows of the fixed MI evaluation images
                yhat[split].append(inf.prediction_rows(logits[sets["pos"][split].to(dev)], layer).cpu())
        res = inf.width_search(list(zip(yhat["train"][-1].to(dev).split(bs), ys)), widths)
        align.append(res.alignment.numpy())
        width_best.append(res.best)
        rows.append({"epoch": epoch, "split": "train", "metric": "width_best_yhat", "value": res.best})
        rows.append({"epoch": epoch, "split": "train", "metric": "f_transition", "value": state["f"]})
        rows.append({"epoch": epoch, "split": "train", "metric": "mi_yx_bits", "value": i_yx})
        if c["method"] in ("mi", "mi_only"):  # epoch 0 too: the paper's "the gradient at epoch = 0 vanishes" (Fig. 6)
            model.eval()
            model.zero_grad(set_to_none=True)
            mis = [
                inf.mi_with_labels(inf.prediction_rows(model(xb), layer), yb, s_star, alpha)
                for xb, yb in batches_mi[: c["grad_batches"]]
            ]
            torch.stack(mis).mean().backward()
            gn = torch.sqrt(sum((p.grad.double() ** 2).sum() for p in model.parameters() if p.grad is not None))
            model.zero_grad(set_to_none=True)
            rows.append({"epoch": epoch, "split": "train", "metric": "grad_norm_mi", "value": float(gn)})
        if c["info_plane"]:
            with torch.inference_mode():
                model.eval()
                hidden = [model.hidden(xb) for xb, _ in batches_mi]
            for li, lname in enumerate(model.layer_names):
                ts = [inf.prediction_rows(h[li], layer) if lname == "logits" else h[li].flatten(1) for h in hidden]
                s_t = layer_width(ts, ys, rel, n_widths)
                a_t = [inf.normalize_gram(inf.gram_matrix(t, s_t)) for t in ts]
                ixt = torch.stack([inf.mutual_information(ax, at, alpha) for ax, at in zip(a_x, a_t)])
                ity = torch.stack(
                    [inf.mutual_information(inf.normalize_gram(inf.label_gram(y)), at, alpha) for y, at in zip(ys, a_t)]
                )
                name = "yhat" if lname == "logits" else lname
                rows.append(
                    {"epoch": epoch, "split": "train", "metric": f"plane_ixt_bits/{name}", "value": float(ixt.mean())}
                )
                rows.append(
                    {"epoch": epoch, "split": "train", "metric": f"plane_ity_bits/{name}", "value": float(ity.mean())}
                )
                rows.append({"epoch": epoch, "split": "train", "metric": f"plane_width/{name}", "value": s_t})
        return {}

    on_epoch_end(model, 0)
    hist = train.fit(
        model,
        *sets["train"],
        epochs=c["epochs"],
        batch_size=bs,
        lr=c["lr"],
        momentum=c["momentum"],
        loss_fn=loss_fn,
        on_epoch_start=on_epoch_start,
        on_epoch_end=on_epoch_end,
        generator=gen,
        device=dev,
        eval_at_start=False,
        progress=False,
    )
    rows += [
        {**r, "metric": "objective_batches"} if r["metric"] == "loss" else r
        for r in hist
        if r["metric"] in ("loss", "epoch_time_s")
    ]
    if c["info_plane"]:
        rows.append({"epoch": 0, "split": "train", "metric": "plane_width/x", "value": s_x})
    rows.append(
        {"epoch": c["epochs"], "split": "-", "metric": f"cos_init_{last_name}", "value": train.cos_init(w_init, last_w)}
    )  # issue 17: did the last hidden layer train?
    df = results.tidy(rows, study=STUDY, dataset=c["dataset"], model=c["model"], method=c["method"], seed=c["seed"])
    if c["tuning"]:
        return runs.Result(rows=df, artifacts={})
    artifacts = {
        "yhat": {k: torch.stack(v) for k, v in yhat.items()},
        "y_mi": {k: sets["mi_" + k][1].clone() for k in yhat},
        "widths": widths,
        "alignment": np.stack(align),
        "width_best": np.asarray(width_best, dtype=np.float64),
        "s_x": s_x,
        "i_yx_bits": i_yx,
    }
    return runs.Result(rows=df, artifacts=artifacts)


def check_config(config: dict[str, Any]) -> dict[str, Any]:
    """Validate one run's config and return it (unchanged).

    Keys (`CONFIG_KEYS`): ``dataset`` (one of ``subset_datasets``); ``model`` ("shallow" | "resnet18"); ``method``
    ("ce" | "mi" | "mi_only"); ``seed`` (training seed >= 0: weights and batch order); ``device`` ("cpu" | "cuda[:n]");
    ``epochs`` (>= 1); ``lr`` (> 0); ``momentum`` ([0, 1)); ``batch_size`` (>= 2: also the N of the MI term);
    ``data_seed`` (>= 0) and ``subset_datasets`` (list, in draw order) with ``train/val/test/mi_eval_per_class``
    (>= 1) -- the subsets of `subsets`; ``resnet_train/test/eval_per_class`` (>= 1), ``resnet_stem`` (`STEMS`),
    ``resnet_bn_cumulative`` (bool) for ResNet18, all None for the shallow CNN; ``alpha`` (> 0, eq. 4);
    ``yhat_layer`` ("softmax" | "logits"); ``width_low`` / ``width_high`` / ``n_widths`` (candidate widths of Ŷ,
    0 < low < high, n >= 2); ``layer_width_rel`` ([a, b], 0 < a < b: candidates for X and hidden layers relative to
    their median distance); ``s_star`` (> 0 for "mi" and "mi_only", None for "ce"); ``grad_batches`` (>= 1);
    ``info_plane`` (bool, shallow CNN only); ``tuning`` (bool: a learning-rate selection candidate, shallow CNN and
    "ce" only, evaluated on the validation split only).

    Raises:
        ValueError: a missing or unknown key, or a value out of range (names the key, the value and the range).
    """
    c = checks.exact_keys(config, CONFIG_KEYS)

    def need(key: str, ok: bool, accepted: str) -> None:
        if not ok:
            raise checks.out_of_range(f"config[{key!r}]", c[key], accepted)

    is_int = checks.is_int

    def is_pos(v: Any) -> bool:
        return checks.is_num(v) and v > 0

    need(
        "subset_datasets",
        isinstance(c["subset_datasets"], list)
        and len(c["subset_datasets"]) > 0
        and all(isinstance(d, str) and d in data.MD5 for d in c["subset_datasets"]),
        f"a non-empty list of {sorted(data.MD5)}",
    )
    need("dataset", c["dataset"] in c["subset_datasets"], f"one of subset_datasets {c['subset_datasets']}")
    need("model", c["model"] in MODELS, str(MODELS))
    need("method", c["method"] in METHODS, str(METHODS))
    for key in ("seed", "data_seed"):
        need(key, is_int(c[key], 0) and c[key] < 2**63, "an integer in [0, 2**63)")
    need(
        "device",
        checks.device_ok(c["device"]),
        checks.DEVICE_ACCEPTED,
    )
    caps = checks.CAPS
    for key, kind in (
        ("epochs", "epochs"),
        ("train_per_class", "samples"),
        ("val_per_class", "samples"),
        ("test_per_class", "samples"),
        ("mi_eval_per_class", "samples"),
        ("grad_batches", "samples"),
        ("n_widths", "grid"),
    ):
        need(key, is_int(c[key], 1) and c[key] <= caps[kind], f"an integer in [1, {caps[kind]}] (study.checks.CAPS)")
    need(
        "batch_size",
        is_int(c["batch_size"], 2) and c["batch_size"] <= caps["samples"],
        f"an integer in [2, {caps['samples']}] (the N of the MI term)",
    )
    need("n_widths", c["n_widths"] >= 2, "an integer >= 2")
    need("lr", is_pos(c["lr"]), "a finite number > 0")
    need("momentum", isinstance(c["momentum"], (int, float)) and 0 <= c["momentum"] < 1, "[0, 1)")
    need("alpha", is_pos(c["alpha"]) and c["alpha"] <= inf.ALPHA_MAX, f"a number in (0, {inf.ALPHA_MAX:g}]")
    need("yhat_layer", c["yhat_layer"] in YHAT_LAYERS, str(YHAT_LAYERS))
    need("width_low", is_pos(c["width_low"]), "a finite number > 0")
    need("width_high", is_pos(c["width_high"]) and c["width_high"] > c["width_low"], "a finite number > width_low")
    rel = c["layer_width_rel"]
    need(
        "layer_width_rel",
        isinstance(rel, list) and len(rel) == 2 and all(is_pos(v) for v in rel) and rel[0] < rel[1],
        "[a, b] with 0 < a < b",
    )
    need(
        "s_star",
        is_pos(c["s_star"]) if c["method"] != "ce" else c["s_star"] is None,
        "a finite width > 0 for methods 'mi' and 'mi_only', None for 'ce'",
    )
    need(
        "info_plane",
        isinstance(c["info_plane"], bool) and (c["model"] == "shallow" or not c["info_plane"]),
        "a bool (True only for the shallow CNN)",
    )
    tuning_ok = not c["tuning"] or (c["model"] == "shallow" and c["method"] == "ce" and not c["info_plane"])
    need(
        "tuning",
        isinstance(c["tuning"], bool) and tuning_ok,
        "a bool (True only for a shallow CNN 'ce' run without info_plane)",
    )
    resnet_keys = ("resnet_train_per_class", "resnet_test_per_class", "resnet_eval_per_class")
    if c["model"] == "resnet18":
        for key in resnet_keys:
            need(key, is_int(c[key], 1), "an integer >= 1 for ResNet18")
        need("resnet_stem", c["resnet_stem"] in STEMS, str(STEMS))
        need("resnet_bn_cumulative", isinstance(c["resnet_bn_cumulative"], bool), "a bool for ResNet18")
    else:
        for key in (*resnet_keys, "resnet_stem", "resnet_bn_cumulative"):
            need(key, c[key] is None, "None for the shallow CNN")
    return c


# ------------------------------------------------------------------------------------------- notebook parameters
_need, _int_in = checks.need, checks.int_in


def _positive(p: dict[str, Any], name: str) -> float:
    _need(checks.is_num(p[name]) and p[name] > 0, name, p[name], "a finite number > 0")
    return float(p[name])


def _names(p: dict[str, Any], name: str, non_empty: bool) -> list[str]:
    v = p[name]
    _need(
        isinstance(v, (list, tuple))
        and (len(v) > 0 or not non_empty)
        and all(isinstance(d, str) and d in data.MD5 for d in v)
        and len(set(v)) == len(v),
        name,
        v,
        f"a {'non-empty ' if non_empty else ''}list of distinct data sets from {sorted(data.MD5)}",
    )
    return list(v)


def _seeds(p: dict[str, Any], name: str, non_empty: bool, why: str = "") -> list[int]:
    v = p[name]
    cap = checks.CAPS["seeds"]
    _need(
        isinstance(v, (list, tuple))
        and (len(v) > 0 or not non_empty)
        and len(v) <= cap
        and all(checks.is_int(s, 0) and s < checks.SEED_LIMIT for s in v)
        and len(set(v)) == len(v),
        name,
        v,
        f"a {'non-empty ' if non_empty else ''}list of at most {cap} distinct integers in [0, 2**32)" + why,
    )
    return list(v)


def _batches(rows: int, batch_size: int) -> list[int]:
    """Sizes of the consecutive batches of `batch_size` that `rows` rows are cut into (`mi_batches`, `train.fit`)."""
    return [min(batch_size, rows - i) for i in range(0, rows, batch_size)]


def check_params(params: dict[str, Any]) -> dict[str, Any]:
    """Check every experiment parameter of notebook 03 before any work, and return them checked.

    `params` must hold exactly the names of `PARAMETERS` (a misspelt or missing name is refused). Types: sizes,
    counts, epochs and seeds are ints (a bool, a float or a string is refused), rates and widths finite numbers
    (returned as floats), ``info_plane``, ``resnet`` and ``resnet_bn_cumulative`` bools. Ranges and relations:

    * ``datasets``: a non-empty list of distinct data sets; ``train_per_class`` + ``val_per_class`` (disjoint, from
      the training split) and ``test_per_class`` at most the rarest class of every chosen data set
      (`RAREST_CLASS`); ``seeds``: a non-empty list of distinct integers >= 0 (run seed = notebook seed + s);
    * ``batch_size`` in [2, 10 x ``train_per_class``] (it is also the N of the MI term) and no training batch of a
      single image; ``mi_eval_per_class`` at most ``train_per_class`` and ``test_per_class``, with 10 x
      ``mi_eval_per_class`` a multiple of ``batch_size`` (every MI evaluation batch has N = ``batch_size`` rows);
      ``grad_batches`` at most the number of those batches;
    * ``lr_grid`` a non-empty list of distinct numbers > 0 (ordered from the most conservative; ties go to the first);
    * ``epochs``, ``n_widths`` (>= 2), ``bench_repeats`` >= 1; ``alpha``, ``width_low`` > 0,
      ``width_high`` > ``width_low``, ``layer_width_rel`` = [a, b] with 0 < a < b, ``momentum`` in [0, 1);
      ``yhat_layer`` in `YHAT_LAYERS`; ``bench_sizes`` a non-empty list of distinct integers in [2, `BENCH_MAX`];
    * ResNet18 parameters are type- and range-checked always; with ``resnet`` true also: ``resnet_datasets`` a
      non-empty subset of ``datasets``, ``resnet_seeds`` non-empty, ``resnet_train/test_per_class`` at most the
      shallow subsets' ``train/test_per_class`` (drawn from them), ``resnet_eval_per_class`` at most both, no
      training batch of a single image (BatchNorm), and the MI evaluation rows (10 x ``resnet_eval_per_class``)
      fewer than ``batch_size`` (one batch) or a multiple of it. ResNet18's smaller subsets may be smaller than
      ``batch_size`` and hold fewer evaluation batches than ``grad_batches``: then the run uses one batch of the
      whole subset and every evaluation batch; `resnet_used` gives the values used and `deviations` records them.

    Returns:
        a new dict: the same names and values, lists as lists, rates and widths as floats.

    Raises:
        ValueError: the first bad parameter: unknown or missing names (all listed, with the accepted ones), or
            ``name=value is out of range; accepted: ...``.
    """
    p = checks.parameter_names(params, PARAMETERS)
    # data
    p["datasets"] = _names(p, "datasets", non_empty=True)
    tr = min(RAREST_CLASS[d]["train"] for d in p["datasets"])
    te = min(RAREST_CLASS[d]["test"] for d in p["datasets"])
    where = f" (the rarest class of {p['datasets']} has {tr} training and {te} test images)"
    _int_in(p, "train_per_class", 1, tr - 1, where[:-1] + "; val_per_class >= 1 more are drawn from them)")
    _int_in(
        p,
        "val_per_class",
        1,
        tr - p["train_per_class"],
        f" (drawn from the training images not in the train_per_class={p['train_per_class']} subset; " + where[2:],
    )
    _int_in(p, "test_per_class", 1, te, where)
    # shallow CNN
    p["seeds"] = _seeds(p, "seeds", non_empty=True, why=" (run seed = notebook seed + s)")
    checks.capped(p, "epochs", 1, "epochs")
    _int_in(
        p,
        "ionly_epochs",
        1,
        checks.CAPS["epochs"],
        " (epochs of the runs trained on I(Y;Ŷ) alone; the study's cap on epochs, study.checks.CAPS)",
    )
    n_train = 10 * p["train_per_class"]
    _int_in(p, "batch_size", 2, n_train, f" (the N of the MI term; at most the {n_train} training images)")
    _need(
        n_train % p["batch_size"] != 1,
        "batch_size",
        p["batch_size"],
        f"a batch size that leaves no training batch of a single image ({n_train} training images)",
    )
    g = p["lr_grid"]
    _need(
        isinstance(g, (list, tuple))
        and len(g) > 0
        and all(checks.is_num(v) and v > 0 for v in g)
        and len(set(g)) == len(g),
        "lr_grid",
        g,
        "a non-empty list of distinct finite numbers > 0 (the learning rates the validation split chooses from)",
    )
    p["lr_grid"] = [float(v) for v in g]
    _need(checks.is_num(p["momentum"]) and 0 <= p["momentum"] < 1, "momentum", p["momentum"], "a number in [0, 1)")
    p["momentum"] = float(p["momentum"])
    # estimator
    p["alpha"] = _positive(p, "alpha")
    _need(
        p["alpha"] <= inf.ALPHA_MAX,
        "alpha",
        p["alpha"],
        f"a number in (0, {inf.ALPHA_MAX:g}] "
        "(the Rényi order; the paper uses 1.01; beyond it the Gram matrices' eigenvalues underflow, "
        "study.inf.ALPHA_MAX)",
    )
    _need(p["yhat_layer"] in YHAT_LAYERS, "yhat_layer", p["yhat_layer"], str(YHAT_LAYERS))
    p["width_low"] = _positive(p, "width_low")
    _need(
        checks.is_num(p["width_high"]) and p["width_high"] > p["width_low"],
        "width_high",
        p["width_high"],
        f"a finite number > width_low={p['width_low']}",
    )
    p["width_high"] = float(p["width_high"])
    _int_in(p, "n_widths", 2, checks.CAPS["grid"], " (widths searched; the study's cap on a grid, study.checks.CAPS)")
    rel = p["layer_width_rel"]
    _need(
        isinstance(rel, (list, tuple))
        and len(rel) == 2
        and all(checks.is_num(v) and v > 0 for v in rel)
        and rel[0] < rel[1],
        "layer_width_rel",
        rel,
        "[a, b] with 0 < a < b (multiples of the median distance)",
    )
    p["layer_width_rel"] = [float(v) for v in rel]
    most = min(p["train_per_class"], p["test_per_class"])
    _int_in(
        p,
        "mi_eval_per_class",
        1,
        most,
        " (part of the training and of the test subsets: at most train_per_class and test_per_class)",
    )
    rows = 10 * p["mi_eval_per_class"]
    _need(
        rows % p["batch_size"] == 0,
        "mi_eval_per_class",
        p["mi_eval_per_class"],
        f"a size whose {rows} evaluation rows (10 x mi_eval_per_class) are a multiple of batch_size="
        f"{p['batch_size']} (every MI evaluation batch has N = batch_size rows)",
    )
    _int_in(
        p,
        "grad_batches",
        1,
        rows // p["batch_size"],
        f" (the MI evaluation batches: 10 x mi_eval_per_class / batch_size = {rows // p['batch_size']})",
    )
    for key in ("info_plane", "resnet", "resnet_bn_cumulative"):
        _need(isinstance(p[key], bool), key, p[key], "True or False")
    # ResNet18
    _need(p["resnet_stem"] in STEMS, "resnet_stem", p["resnet_stem"], str(STEMS))
    checks.capped(p, "resnet_epochs", 1, "epochs")
    p["resnet_lr"] = _positive(p, "resnet_lr")
    p["resnet_lr_alt"] = _positive(p, "resnet_lr_alt")
    _need(
        p["resnet_lr_alt"] != p["resnet_lr"],
        "resnet_lr_alt",
        p["resnet_lr_alt"],
        f"a rate other than resnet_lr={p['resnet_lr']} (ResNet18's learning-rate reading)",
    )
    for key in ("resnet_train_per_class", "resnet_test_per_class", "resnet_eval_per_class"):
        checks.capped(p, key, 1, "samples")
    p["resnet_datasets"] = _names(p, "resnet_datasets", non_empty=p["resnet"])
    p["resnet_seeds"] = _seeds(
        p, "resnet_seeds", non_empty=p["resnet"], why=" (non-empty when resnet is True; run seed = notebook seed + s)"
    )
    if p["resnet"]:
        _need(
            set(p["resnet_datasets"]) <= set(p["datasets"]),
            "resnet_datasets",
            p["resnet_datasets"],
            f"a non-empty subset of datasets={p['datasets']} (ResNet18's subsets come from the shallow CNN's)",
        )
        _int_in(
            p,
            "resnet_train_per_class",
            1,
            p["train_per_class"],
            " (drawn from the shallow CNN's training subset: at most train_per_class)",
        )
        _int_in(
            p,
            "resnet_test_per_class",
            1,
            p["test_per_class"],
            " (drawn from the shallow CNN's test subset: at most test_per_class)",
        )
        _int_in(
            p,
            "resnet_eval_per_class",
            1,
            min(p["resnet_train_per_class"], p["resnet_test_per_class"]),
            " (part of ResNet18's training and test subsets)",
        )
        n = 10 * p["resnet_train_per_class"]
        _need(
            _batches(n, p["batch_size"])[-1] != 1,
            "resnet_train_per_class",
            p["resnet_train_per_class"],
            f"a size whose {n} training images leave no batch of a single image with batch_size={p['batch_size']} "
            "(BatchNorm cannot normalise one image)",
        )
        m = 10 * p["resnet_eval_per_class"]
        _need(
            m <= p["batch_size"] or m % p["batch_size"] == 0,
            "resnet_eval_per_class",
            p["resnet_eval_per_class"],
            f"a size whose {m} evaluation rows are at most batch_size={p['batch_size']} (one batch) or a multiple "
            "of it (MI evaluation batches of equal N)",
        )
    _need(
        isinstance(p["bench_sizes"], (list, tuple))
        and len(p["bench_sizes"]) > 0
        and all(checks.is_int(n, 2) and n <= BENCH_MAX for n in p["bench_sizes"])
        and len(set(p["bench_sizes"])) == len(p["bench_sizes"]),
        "bench_sizes",
        p["bench_sizes"],
        f"a non-empty list of distinct integers in [2, {BENCH_MAX}] (batch sizes N of the MI term)",
    )
    p["bench_sizes"] = list(p["bench_sizes"])
    checks.capped(p, "bench_repeats", 1, "repeats")
    return p


def resnet_used(p: dict[str, Any]) -> dict[str, int] | None:
    """What ResNet18's runs use where its small subsets cannot hold the requested sizes (None without ResNet18):
    ``train_batch`` (min(batch_size, training images)), ``mi_batch_rows`` (N of its MI evaluation batches),
    ``mi_batches`` and ``grad_batches`` (min(grad_batches, mi_batches)). `p`: checked parameters."""
    if not p["resnet"]:
        return None
    sizes = _batches(10 * p["resnet_eval_per_class"], p["batch_size"])
    return {
        "train_batch": min(p["batch_size"], 10 * p["resnet_train_per_class"]),
        "mi_batch_rows": sizes[0],
        "mi_batches": len(sizes),
        "grad_batches": min(p["grad_batches"], len(sizes)),
    }


# ------------------------------------------------------------------------------------------------------------- plan
def tuning_plan(params: dict[str, Any], *, seed: int, device: str) -> list[dict[str, Any]]:
    """Stage 0, the learning-rate selection (`study.selection`): the shallow CNN trained with CE on the training
    subset at every rate of ``lr_grid``, per data set, with the first seed of ``seeds``, for ``epochs`` epochs,
    evaluated on the validation subset only (``tuning=True``: no test row). Grid order = ``lr_grid`` order.

    Raises:
        ValueError: a parameter `check_params` refuses.
    """
    p = check_params(params)
    return [
        check_config(
            {
                **_config(p, "shallow", name, "ce", seed, p["seeds"][0], device, p["epochs"], lr, None, False),
                "tuning": True,
            }
        )
        for name in p["datasets"]
        for lr in p["lr_grid"]
    ]


def tuning_frame(configs: list[dict[str, Any]], frames: list[pd.DataFrame | None]) -> pd.DataFrame:
    """The rows of the `tuning_plan` runs with their learning rate as a column ``lr`` (failed runs skipped)."""
    parts = [f.assign(lr=c["lr"]) for c, f in zip(configs, frames) if f is not None]
    return pd.concat(parts, ignore_index=True)


def choose_lr(frame: pd.DataFrame, params: dict[str, Any]) -> tuple[dict[str, float], pd.DataFrame]:
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

    p = check_params(params)
    last = frame[frame.epoch == frame.groupby(["dataset", "seed", "lr"])["epoch"].transform("max")]
    chosen, tables = {}, []
    for name in p["datasets"]:
        grid = [{"lr": lr} for lr in p["lr_grid"]]
        pick, tab = selection.choose(last[last.dataset == name], grid, metric="accuracy", split="val")
        chosen[name] = float(pick["lr"])
        tables.append(tab.assign(dataset=name))
    tab = pd.concat(tables, ignore_index=True)
    return chosen, tab[["dataset", "lr", "mean", "std", "n", "chosen"]]


def _config(
    p: dict[str, Any],
    model: str,
    name: str,
    method: str,
    seed: int,
    s: int,
    device: str,
    epochs: int,
    lr: float,
    s_star: float | None,
    info_plane: bool,
) -> dict[str, Any]:
    is_resnet = model == "resnet18"
    return {
        "dataset": name,
        "model": model,
        "method": method,
        "seed": int(seed + s),
        "device": str(device),
        "epochs": int(epochs),
        "lr": float(lr),
        "momentum": float(p["momentum"]),
        "batch_size": int(p["batch_size"]),
        "data_seed": int(seed),
        "subset_datasets": list(p["datasets"]),
        "train_per_class": int(p["train_per_class"]),
        "val_per_class": int(p["val_per_class"]),
        "test_per_class": int(p["test_per_class"]),
        "mi_eval_per_class": int(p["mi_eval_per_class"]),
        "resnet_train_per_class": int(p["resnet_train_per_class"]) if is_resnet else None,
        "resnet_test_per_class": int(p["resnet_test_per_class"]) if is_resnet else None,
        "resnet_eval_per_class": int(p["resnet_eval_per_class"]) if is_resnet else None,
        "resnet_stem": str(p["resnet_stem"]) if is_resnet else None,
        "resnet_bn_cumulative": bool(p["resnet_bn_cumulative"]) if is_resnet else None,
        "alpha": float(p["alpha"]),
        "yhat_layer": str(p["yhat_layer"]),
        "width_low": float(p["width_low"]),
        "width_high": float(p["width_high"]),
        "n_widths": int(p["n_widths"]),
        "layer_width_rel": [float(v) for v in p["layer_width_rel"]],
        "s_star": None if s_star is None else float(s_star),
        "grad_batches": int(p["grad_batches"]),
        "info_plane": bool(info_plane),
        "tuning": False,
    }


def plan(
    params: dict[str, Any],
    *,
    method: str,
    seed: int,
    device: str,
    lr: dict[str, float],
    s_star: dict[tuple[str, str], float] | None = None,
    shallow_only: bool = False,
    resnet_lr: float | None = None,
) -> list[dict[str, Any]]:
    """The configs of one stage: every (network, data set, seed) trained with `method`.

    Shallow CNN on every data set of ``datasets`` × ``seeds`` at the learning rate `lr` chose for the data set
    (`choose_lr`); ResNet18 (if ``resnet``) on ``resnet_datasets`` × ``resnet_seeds`` at ``resnet_lr``. Run seed =
    `seed` + s; the subsets are drawn with `seed` (the notebook's). The information plane is computed for the shallow
    CNN's first seed when ``info_plane``.

    Args:
        params: the notebook's parameters, exactly `PARAMETERS` (checked again by `check_params`).
        method: "ce" (stage 1), "mi" or "mi_only" (stage 2, need `s_star`; "mi_only" runs ``ionly_epochs``
            epochs, both networks, no information plane).
        seed: the notebook's seed (>= 0); device: "cpu" or "cuda" (already resolved).
        lr: {data set: learning rate of the shallow CNN} (`choose_lr`).
        s_star: {(model, dataset): s*} from `width_star` (methods "mi", "mi_only").
        shallow_only: leave ResNet18 out.
        resnet_lr: ResNet18's rate instead of ``resnet_lr`` (the learning-rate reading: ``resnet_lr_alt``).

    Raises:
        ValueError: bad `method`, a parameter `check_params` refuses, no rate for a data set, a missing s* for "mi",
            or a config `check_config` rejects.
    """
    if method not in METHODS:
        raise ValueError(f"method={method!r} is not one of {METHODS}")
    p = check_params(params)
    missing = [name for name in p["datasets"] if name not in (lr or {})]
    if missing:
        raise ValueError(f"lr={lr!r} has no learning rate for data set(s) {missing}; run the selection (choose_lr)")
    groups = [("shallow", name, p["seeds"], p["epochs"], lr[name]) for name in p["datasets"]]
    if p["resnet"] and not shallow_only:
        groups += [
            (
                "resnet18",
                name,
                p["resnet_seeds"],
                p["resnet_epochs"],
                p["resnet_lr"] if resnet_lr is None else float(resnet_lr),
            )
            for name in p["resnet_datasets"]
        ]
    out = []
    for model, name, seeds, epochs, lr_ in groups:
        epochs = p["ionly_epochs"] if method == "mi_only" else epochs
        if method != "ce" and (s_star is None or (model, name) not in s_star):
            raise ValueError(f"s_star has no width for ({model!r}, {name!r}); run the CE stage and `width_star` first")
        for s in seeds:
            cfg = _config(
                p,
                model,
                name,
                method,
                seed,
                s,
                device,
                epochs,
                lr_,
                s_star[(model, name)] if method != "ce" else None,  # type: ignore[index]  # given for mi methods
                bool(p["info_plane"]) and model == "shallow" and s == seeds[0] and method != "mi_only",
            )
            out.append(check_config(cfg))
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


# ------------------------------------------------------------------------------------------- derived quantities
def information_frame(
    configs: list[dict[str, Any]], artifacts: list[dict[str, Any] | None], s_star: dict[tuple[str, str], float]
) -> pd.DataFrame:
    """Tidy rows ``mi_yyhat_bits`` (I(Y;Ŷ) per run, epoch and split train/test, the mean over the MI evaluation
    batches at s* of the run's (model, data set): the same width for CE and L, as in Figs. 3 and 4). Failed runs
    (artifacts None) are skipped.
    """
    extra = []
    for cfg, art in zip(configs, artifacts):
        key = (cfg["model"], cfg["dataset"])
        if art is None or key not in s_star:
            continue
        bs = cfg["batch_size"]
        for split, stack in art["yhat"].items():
            for epoch, yhat in enumerate(stack):
                mi = torch.stack(
                    [
                        inf.mi_with_labels(t, yb, s_star[key], cfg["alpha"])
                        for t, yb in zip(yhat.split(bs), art["y_mi"][split].split(bs))
                    ]
                ).mean()
                extra.append(
                    {
                        "dataset": cfg["dataset"],
                        "model": cfg["model"],
                        "method": cfg["method"],
                        "seed": cfg["seed"],
                        "epoch": epoch,
                        "split": split,
                        "metric": "mi_yyhat_bits",
                        "value": float(mi),
                    }
                )
    return results.tidy(extra, study=STUDY)


def silverman_frame(configs: list[dict[str, Any]], artifacts: list[dict[str, Any] | None]) -> pd.DataFrame:
    """The DPI check's second kernel-width convention (an ablation of the paper's alignment widths): Silverman's rule
    (`study.information.silverman_width`) for X and for Ŷ, per MI evaluation batch of the training subset.

    Tidy rows per run and epoch, split "train": ``mi_yyhat_silverman_bits`` (I(Y;Ŷ), mean over the batches, from the
    stored Ŷ rows) and ``mi_yx_silverman_bits`` (I(Y;X) of the run's MI evaluation images, the same every epoch).
    Loads the run's data (`run_sets`). Failed runs (artifacts None) are skipped.
    """
    extra, iyx = [], {}
    for cfg, art in zip(configs, artifacts):
        if art is None:
            continue
        bs, alpha = cfg["batch_size"], cfg["alpha"]
        dkey = (cfg["model"], cfg["dataset"], cfg["data_seed"], bs)
        if dkey not in iyx:
            x, y = run_sets(cfg)["mi_train"]
            iyx[dkey] = float(
                torch.stack(
                    [
                        inf.mi_with_labels(xb.flatten(1), yb, inf.silverman_width(xb.flatten(1)), alpha)
                        for xb, yb in mi_batches(x, y, bs)
                    ]
                ).mean()
            )
        y_mi = art["y_mi"]["train"]
        for epoch, yhat in enumerate(art["yhat"]["train"]):
            mi = np.mean([_silverman_mi(t, yb, alpha) for t, yb in zip(yhat.split(bs), y_mi.split(bs))])
            base = {
                "dataset": cfg["dataset"],
                "model": cfg["model"],
                "method": cfg["method"],
                "seed": cfg["seed"],
                "epoch": epoch,
                "split": "train",
            }
            extra += [
                {**base, "metric": "mi_yyhat_silverman_bits", "value": float(mi)},
                {**base, "metric": "mi_yx_silverman_bits", "value": iyx[dkey]},
            ]
    return results.tidy(extra, study=STUDY)


def _silverman_mi(t: torch.Tensor, y: torch.Tensor, alpha: float) -> float:
    """I(Y;T) in bits at Silverman's width of the batch `t`; 0 when its rows are all equal (a collapsed network:
    every kernel entry is 1 at any width, so T carries no information and Silverman's width is undefined)."""
    if bool((t == t[:1]).all()):
        return 0.0
    return float(inf.mi_with_labels(t, y, inf.silverman_width(t), alpha))


def objective_frame(df: pd.DataFrame) -> pd.DataFrame:
    """Tidy rows ``objective_L``: L = f·CE − (1 − f)·I(Y;Ŷ) on train and test per run and epoch (f of the epoch that
    produced the model, f(0) = 1; mixed units as in eq. 7), from the ``ce_nats`` and ``mi_yyhat_bits`` rows."""
    piv = (
        df[df.metric.isin(["ce_nats", "mi_yyhat_bits"]) & df.split.isin(["train", "test"])]
        .pivot_table(index=["dataset", "model", "method", "seed", "epoch", "split"], columns="metric", values="value")
        .reset_index()
    )
    piv["f"] = [inf.transition_factor(max(int(e) - 1, 0)) for e in piv["epoch"]]
    piv["value"] = piv["f"] * piv["ce_nats"] - (1 - piv["f"]) * piv["mi_yyhat_bits"]
    piv["metric"] = "objective_L"
    cols = ["dataset", "model", "method", "seed", "epoch", "split", "metric", "value"]
    return results.tidy(piv[cols].to_dict("records"), study=STUDY)


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


def input_information_table(
    configs: list[dict[str, Any]], artifacts: list[dict[str, Any] | None], s_star: dict[tuple[str, str], float]
) -> pd.DataFrame:
    """I(Y;X) under every reading of the width of X (`X_WIDTH_READINGS`), per (model, data set) and MI evaluation
    batch of the training subset, with the batch's H(Y) (the label kernel's entropy), all in bits.

    Widths: "s_star" -- s* of the (model, data set) (`width_star`); "per_layer_alignment" -- the input's own
    alignment maximiser s_X stored by the runs; "silverman" -- `study.information.silverman_width` of the batch.
    Analysis only: loads the run's data (`run_sets`); the first run with artifacts of each (model, data set) serves.

    Returns:
        frame with columns model, dataset, x_width, batch, width, i_yx_bits, h_y_bits (empty without runs).
    """
    out, seen = [], set()
    for cfg, art in zip(configs, artifacts):
        key = (cfg["model"], cfg["dataset"])
        if art is None or key in seen or key not in s_star:
            continue
        seen.add(key)
        x, y = run_sets(cfg)["mi_train"]
        for b, (xb, yb) in enumerate(mi_batches(x, y, cfg["batch_size"])):
            t = xb.flatten(1)
            h = float(inf.renyi_entropy(inf.normalize_gram(inf.label_gram(yb)), cfg["alpha"]))
            for reading, w in (
                ("s_star", s_star[key]),
                ("per_layer_alignment", float(art["s_x"])),
                ("silverman", inf.silverman_width(t)),
            ):
                out.append(
                    {
                        "model": key[0],
                        "dataset": key[1],
                        "x_width": reading,
                        "batch": b,
                        "width": float(w),
                        "i_yx_bits": float(inf.mi_with_labels(t, yb, w, cfg["alpha"])),
                        "h_y_bits": h,
                    }
                )
    return pd.DataFrame(out, columns=["model", "dataset", "x_width", "batch", "width", "i_yx_bits", "h_y_bits"])


def input_widths_summary(table: pd.DataFrame) -> pd.DataFrame:
    """Per (model, data set, width of X): the mean width, I(Y;X) and H(Y) (bits), the largest |I(Y;X) − H(Y)| over
    the batches (≤ `VACUOUS_BITS`: the DPI check is vacuous there) and the number of batches."""
    t = table.assign(dev=(table.i_yx_bits - table.h_y_bits).abs())
    return (
        t.groupby(["model", "dataset", "x_width"])
        .agg(
            width=("width", "mean"),
            i_yx_bits=("i_yx_bits", "mean"),
            h_y_bits=("h_y_bits", "mean"),
            max_abs_i_minus_h=("dev", "max"),
            batches=("batch", "size"),
        )
        .reset_index()
    )


def x_width_frame(
    configs: list[dict[str, Any]], artifacts: list[dict[str, Any] | None], table: pd.DataFrame
) -> pd.DataFrame:
    """Tidy rows ``mi_yx_sstar_bits`` (I(Y;X) with X at s*, mean over the evaluation batches of `table`, the same
    every epoch) per run and epoch, split train: the headline reading of the DPI."""
    rows: list[dict[str, Any]] = []
    if table.empty:
        return results.tidy(rows, study=STUDY)
    mean = table[table.x_width == "s_star"].groupby(["model", "dataset"])["i_yx_bits"].mean()
    for cfg, art in zip(configs, artifacts):
        key = (cfg["model"], cfg["dataset"])
        if art is None or key not in mean.index:
            continue
        rows += [
            {
                "dataset": cfg["dataset"],
                "model": cfg["model"],
                "method": cfg["method"],
                "seed": cfg["seed"],
                "epoch": e,
                "split": "train",
                "metric": "mi_yx_sstar_bits",
                "value": float(mean[key]),
            }
            for e in range(len(art["yhat"]["train"]))
        ]
    return results.tidy(rows, study=STUDY)


def analysis(
    configs: list[dict[str, Any]],
    sweeps: list[runs.Sweep],
    s_star: dict[tuple[str, str], float],
    *,
    required: bool = True,
) -> tuple[pd.DataFrame, pd.DataFrame, list[dict[str, Any] | None]]:
    """Everything the tables and claims read for one reading's runs `configs` (found in `sweeps`) at its widths
    `s_star`: (tidy frame = run rows + `information_frame` + `silverman_frame` + `x_width_frame` + `objective_frame`;
    `input_information_table`; the artifacts aligned with `configs`). `required`: every run must have finished
    (the headline reading; a reading's failed run is left out and its claims say so).

    Raises:
        study.runs.SweepError: a failed run with `required`.
    """
    frame, arts = collect(sweeps, configs, required=required)
    table = input_information_table(configs, arts, s_star)
    df = pd.concat(
        [
            frame,
            information_frame(configs, arts, s_star),
            silverman_frame(configs, arts),
            x_width_frame(configs, arts, table),
        ],
        ignore_index=True,
    )
    if not len(df):  # every run of a reading failed: its claims say so ("not tested")
        return df, table, arts
    return pd.concat([df, objective_frame(df)], ignore_index=True), table, arts


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
    params: dict[str, Any],
    *,
    seed: int,
    device: str,
    lr: dict[str, float],
    s_star: dict[tuple[str, str], float],
    resnet_lr: float | None = None,
    reading: bool = False,
) -> list[dict[str, Any]]:
    """Stage 2: the L runs and the runs on I alone (`plan` with "mi" and "mi_only") at the widths `s_star`
    (`resnet_lr` as in `plan`); for a `reading` only the (network, data set) pairs that have a width (their CE runs
    finished).

    Raises:
        ValueError: as `plan` (a missing width of the headline reading included).
    """
    p = check_params(params)
    keep = set(s_star)
    if reading:  # the data sets stay in the configs (they decide the subsets); pairs without a width are left out
        s_star = {**{(m, d): 1.0 for m in MODELS for d in p["datasets"]}, **s_star}
    return [
        c
        for m in ("mi", "mi_only")
        for c in plan(p, method=m, seed=seed, device=device, lr=lr, s_star=s_star, resnet_lr=resnet_lr)
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


def input_information(
    configs: list[dict[str, Any]], artifacts: list[dict[str, Any] | None]
) -> dict[tuple[str, str], tuple[float, float]]:
    """{(model, data set): (I(Y;X) in bits, s_X)} from the first stored run of each (the same for every run)."""
    out: dict[tuple[str, str], tuple[float, float]] = {}
    for cfg, art in zip(configs, artifacts):
        if art is not None:
            out.setdefault((cfg["model"], cfg["dataset"]), (art["i_yx_bits"], art["s_x"]))
    return out


def width_demo(seed: int, alpha: float = PAPER_ALPHA) -> tuple[pd.DataFrame, float, float]:
    """I(Y;Ŷ) against the width s for one balanced batch (N = 100, 10 classes) of softmax rows independent of the
    labels and of rows informative about them (60 widths, 10^-3 .. 10^1.5).

    Returns:
        (frame with columns s, predictions, "I(Y;Ŷ) [bits]"; I of the independent rows at s = 0.001; at s = 30).
    """
    g = torch.Generator().manual_seed(seed)
    y = torch.arange(100) % 10
    independent = torch.softmax(3.0 * torch.randn(100, 10, generator=g), 1)
    informative = torch.softmax(3.0 * F.one_hot(y, 10).float() + 1.0 * torch.randn(100, 10, generator=g), 1)
    demo = pd.DataFrame(
        [
            {"s": float(s), "predictions": nm, "I(Y;Ŷ) [bits]": float(inf.mi_with_labels(p, y, float(s), alpha))}
            for s in torch.logspace(-3, 1.5, 60, dtype=torch.float64)
            for nm, p in [("independent of Y", independent), ("informative", informative)]
        ]
    )
    return (
        demo,
        float(inf.mi_with_labels(independent, y, 1e-3, alpha)),
        float(inf.mi_with_labels(independent, y, 30.0, alpha)),
    )


def width_dependence(
    configs: list[dict[str, Any]], artifacts: list[dict[str, Any] | None], seed: int
) -> tuple[pd.DataFrame, dict[tuple[str, str], float]]:
    """I(Y;Ŷ) of the final CE model (first seed of each (model, data set)) on its MI evaluation batches against s
    (40 widths, 10^-3 .. 10^1), with the true labels and with the labels shuffled within each batch (generator
    seeded `seed` per (model, data set)); and Silverman's width (`study.information.silverman_width`, per batch,
    averaged).

    Returns:
        (frame with columns "net/data", s, labels, "I(Y;Ŷ) [bits]"; {(model, data set): Silverman width}).
    """
    first: dict[tuple[str, str], tuple[dict[str, Any], dict[str, Any]]] = {}
    for cfg, art in zip(configs, artifacts):
        if cfg["method"] == "ce" and art is not None:
            first.setdefault((cfg["model"], cfg["dataset"]), (cfg, art))
    wrows, silver = [], {}
    for key, (cfg, art) in sorted(first.items()):  # panels in sorted order (`plot_width_dependence`)
        bs, alpha = cfg["batch_size"], cfg["alpha"]
        pairs = list(zip(art["yhat"]["train"][-1].split(bs), art["y_mi"]["train"].split(bs)))
        silver[key] = float(
            np.mean([inf.silverman_width(t) for t, _ in pairs if not bool((t == t[:1]).all())] or [float("nan")])
        )
        gsh = torch.Generator().manual_seed(seed)
        for s_ in torch.logspace(-3, 1, 40, dtype=torch.float64):
            for lab, shuffle in (("true labels", False), ("shuffled labels", True)):
                v = torch.stack(
                    [
                        inf.mi_with_labels(
                            t, yb[torch.randperm(len(yb), generator=gsh)] if shuffle else yb, float(s_), alpha
                        )
                        for t, yb in pairs
                    ]
                ).mean()
                wrows.append(
                    {"net/data": f"{key[0]}/{key[1]}", "s": float(s_), "labels": lab, "I(Y;Ŷ) [bits]": float(v)}
                )
    return pd.DataFrame(wrows), silver


def width_dependence_summary(wdf: pd.DataFrame, s_star: dict, silver: dict) -> list[str]:
    """One line per (model, data set): I(Y;Ŷ) with true / shuffled labels at s* and at Silverman's width."""
    lines = []
    for key in sorted(silver):
        sub = wdf[wdf["net/data"] == f"{key[0]}/{key[1]}"]

        def at(s_: float, lab: str) -> float:
            cur = sub[sub.labels == lab]
            return float(np.interp(np.log(s_), np.log(cur["s"]), cur["I(Y;Ŷ) [bits]"]))

        lines.append(
            f"{key}: s* = {s_star[key]:.3f}, Silverman = {silver[key]:.3f}; I(Y;Ŷ) true/shuffled labels at "
            f"s*: {at(s_star[key], 'true labels'):.2f}/{at(s_star[key], 'shuffled labels'):.2f} bits, at "
            f"Silverman: {at(silver[key], 'true labels'):.2f}/{at(silver[key], 'shuffled labels'):.2f} bits"
        )
    return lines


# ------------------------------------------------------------------------------------------- cost of one MI term
def mi_term_seconds(n: int, repeats: int, device: torch.device | str = "cpu", alpha: float = PAPER_ALPHA) -> float:
    """Median wall seconds of one I(Y;Ŷ) term, forward + backward, on softmax rows (n, 10) of random logits (three
    Gram matrices and three eigendecompositions, float64; O(n³)). One untimed warm-up call, then `repeats` timed.
    Runs with the calling process's torch threads (a measurement, not a cached run).

    Raises:
        ValueError: n < 2 or repeats < 1.
    """
    if n < 2 or repeats < 1:
        raise ValueError(f"n={n} must be >= 2 and repeats={repeats} >= 1")
    device = torch.device(device)
    g = torch.Generator().manual_seed(n)
    logits = torch.randn(n, 10, generator=g).to(device).requires_grad_(True)
    y = torch.randint(0, 10, (n,), generator=g).to(device)
    times = []
    for r in range(repeats + 1):
        if device.type == "cuda":
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        inf.mi_with_labels(F.softmax(logits, 1), y, 0.5, alpha).backward()
        if device.type == "cuda":
            torch.cuda.synchronize()
        if r:  # the first call is a warm-up
            times.append(time.perf_counter() - t0)
    return float(np.median(times))


def mi_cost_table(
    sizes: list[int], repeats: int, device: torch.device | str = "cpu", alpha: float = PAPER_ALPHA
) -> tuple[pd.DataFrame, float]:
    """(frame N, ms of `mi_term_seconds` per batch size; fitted exponent b of time ∝ N^b, NaN for one size)."""
    cost = pd.DataFrame([{"N": n, "ms": 1e3 * mi_term_seconds(n, repeats, device, alpha)} for n in sizes])
    slope = float(np.polyfit(np.log(cost["N"]), np.log(cost["ms"]), 1)[0]) if len(cost) > 1 else float("nan")
    return cost, slope


# ------------------------------------------------------------------------------------------------------- tables
def dpi_frame(df: pd.DataFrame, convention: str = "alignment") -> pd.DataFrame:
    """DPI check (§5.1, eq. 1) under one kernel-width `convention` of `DPI_CONVENTIONS`: per (run, epoch) the
    training-batch I(Y;Ŷ) and I(Y;X) (bits) and ``violation`` = I(Y;Ŷ) > I(Y;X) + `DPI_TIE_BITS`.

    Raises:
        ValueError: an unknown convention.
    """
    if convention not in DPI_CONVENTIONS:
        raise ValueError(f"convention={convention!r} is not one of {list(DPI_CONVENTIONS)}")
    m_yx, m_yyhat = DPI_CONVENTIONS[convention]
    keys = ["dataset", "model", "method", "seed", "epoch"]
    d = df[df.method.isin(["ce", "mi"]) & (df.split == "train")]  # Figs. 3-4: CE and L training
    a = d[d.metric == m_yyhat][keys + ["value"]]
    b = d[d.metric == m_yx][keys + ["value"]]
    dpi = a.merge(b, on=keys, suffixes=("_yyhat", "_yx"))
    dpi["violation"] = dpi["value_yyhat"] > dpi["value_yx"] + DPI_TIE_BITS
    return dpi.assign(convention=convention)


def dpi_table(df: pd.DataFrame, conventions=tuple(DPI_CONVENTIONS)) -> pd.DataFrame:
    """Per convention, network, data set and method: (run, epoch) pairs checked, violations, max I(Y;Ŷ) and the
    mean I(Y;X) (bits)."""
    d = pd.concat([dpi_frame(df, c) for c in conventions], ignore_index=True)
    d["violation"] = d["violation"].astype(bool)
    return (
        d.groupby(["convention", "model", "dataset", "method"])
        .agg(
            checked=("violation", "size"),
            violations=("violation", "sum"),
            max_I_yyhat=("value_yyhat", "max"),
            I_yx=("value_yx", "mean"),
        )
        .reset_index()
    )


def dpi_fraction(df: pd.DataFrame, convention: str, model: str) -> pd.Series:
    """Per seed: the fraction of `model`'s (data set, method, epoch) checks that violate the DPI (`dpi_frame`)."""
    d = dpi_frame(df, convention)
    d = d[d.model == model]
    return d.groupby("seed")["violation"].mean().astype(float)


def gaps(df: pd.DataFrame, metric: str) -> pd.DataFrame:
    """Per run: test − train of `metric` at the final epoch and the mean over the last 5 epochs (Fig. 5)."""
    sel = df[(df.metric == metric) & df.split.isin(["train", "test"])]
    w = sel.pivot_table(
        index=["model", "dataset", "method", "seed", "epoch"], columns="split", values="value"
    ).reset_index()
    w["gap"] = w["test"] - w["train"]
    out = []
    for (m_, n_, me, s), grp in w.groupby(["model", "dataset", "method", "seed"]):
        grp = grp.sort_values("epoch")
        out.append(
            {
                "model": m_,
                "dataset": n_,
                "method": me,
                "seed": s,
                "metric": metric,
                "gap_final": grp["gap"].iloc[-1],
                "gap_last5": grp["gap"].iloc[-5:].mean(),
            }
        )
    return pd.DataFrame(out)


def gap_table(df: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(per-run gaps of CE for both methods and of L for L-training; their mean ± std over seeds)."""
    gap_df = pd.concat([gaps(df, "ce_nats"), gaps(df[df.method == "mi"], "objective_L")])
    tab = (
        gap_df.groupby(["model", "dataset", "metric", "method"])
        .agg(
            final_mean=("gap_final", "mean"),
            final_std=("gap_final", "std"),
            last5_mean=("gap_last5", "mean"),
            last5_std=("gap_last5", "std"),
            n=("seed", "size"),
        )
        .reset_index()
    )
    return gap_df, tab


def grad_norm_ratios(df: pd.DataFrame, method: str = "mi") -> pd.DataFrame:
    """Fig. 6 per L run (or per run of `method`): ‖∇θ I(Y;Ŷ)‖ at epoch 0, its peak (and the epoch of it), at the
    last epoch, and the ratios ``first_over_peak``, ``last_over_peak`` (columns model, dataset, seed, ...)."""
    gn = df[(df.metric == "grad_norm_mi") & (df.method == method)]
    out = []
    for (m_, n_, s), g in gn.groupby(["model", "dataset", "seed"]):
        v = g.sort_values("epoch").set_index("epoch")["value"]
        peak = float(v.max())
        out.append(
            {
                "model": m_,
                "dataset": n_,
                "seed": s,
                "first": float(v.iloc[0]),
                "peak": peak,
                "peak_epoch": int(v.idxmax()),
                "last": float(v.iloc[-1]),
                "first_over_peak": float(v.iloc[0]) / peak if peak > 0 else float("nan"),
                "last_over_peak": float(v.iloc[-1]) / peak if peak > 0 else float("nan"),
            }
        )
    return pd.DataFrame(out)


def final_accuracy(df: pd.DataFrame) -> pd.DataFrame:
    """The test accuracy rows of each run's last epoch."""
    acc = df[(df.metric == "accuracy") & (df.split == "test")]
    last = acc.groupby(["model", "dataset", "method", "seed"])["epoch"].transform("max")
    return acc[acc.epoch == last]


def epoch_time_table(df: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, float]]:
    """Mean epoch time per (model, data set) and method, epochs ≥ 2 when there are any (the first includes warm-up),
    with the ratio L / CE; and that ratio averaged over data sets per model (a measurement for the compute record,
    not a claim: it moves with machine load)."""
    et = df[df.metric == "epoch_time_s"]
    et = et[et.epoch >= 2] if (et.epoch >= 2).any() else et
    tab = et.groupby(["model", "dataset", "method"])["value"].mean().unstack("method")
    if not {"ce", "mi"} <= set(tab.columns):
        return tab, {}
    tab["L / CE"] = tab["mi"] / tab["ce"]
    return tab, {m_: float(tab.xs(m_, level="model")["L / CE"].mean()) for m_ in tab.index.get_level_values(0)}


# ------------------------------------------------------------------------------------------------------- claims
def untestable(p: dict[str, Any], model: str) -> str:
    """Why this profile cannot test `model`'s claims ("" when it can): the network not trained, or trained for fewer
    than `MIN_EPOCHS_TESTED` epochs or on fewer than `MIN_TRAIN_PER_CLASS_TESTED` images per class (the claims are
    about the course of training: paper 50 / 100 epochs on 5,000 images). `p`: checked parameters."""
    if model == "resnet18" and not p["resnet"]:
        return (
            "ResNet18 not trained in this profile (resnet=False): 100 epochs on 5,000 images do not fit a 2-core "
            "CPU budget; the paper profile trains it (on a CUDA GPU when there is one)"
        )
    epochs = p["epochs"] if model == "shallow" else p["resnet_epochs"]
    per_class = p["train_per_class"] if model == "shallow" else p["resnet_train_per_class"]
    if epochs < MIN_EPOCHS_TESTED or per_class < MIN_TRAIN_PER_CLASS_TESTED:
        return (
            f"{model} trained {epochs} epoch(s) on {10 * per_class} images (paper: "
            f"{PAPER_EPOCHS[model]} epochs on 5,000; this study tests from {MIN_EPOCHS_TESTED} epochs on "
            f"{10 * MIN_TRAIN_PER_CLASS_TESTED}): too short to show the course of training the claim is about"
        )
    return ""


def _slopes(df: pd.DataFrame, metric: str, method: str, model: str, name: str, direction: str) -> pd.Series:
    # epochs 1..E: the step from the untrained network (epoch 0) would dominate a slope over 0..E
    d = df[
        (df.metric == metric)
        & (df.split == "train")
        & (df.method == method)
        & (df.model == model)
        & (df.dataset == name)
        & (df.epoch >= 1)
    ]
    return claims.slopes(d, "epoch", direction=direction)


def _names_of(p: dict[str, Any], model: str) -> list[str]:
    if model == "shallow":
        return p["datasets"]
    return p["resnet_datasets"] if p["resnet"] else ["mnist", "fashion-mnist"]


def claims_list(
    df: pd.DataFrame,
    p: dict[str, Any],
    configs: list[dict[str, Any]],
    inputs: pd.DataFrame,
    *,
    x_width: str = X_WIDTH_HEADLINE,
    models: tuple[str, ...] = MODELS,
    lenient: bool = False,
    fig5_loss: str = FIG5_LOSS_READINGS[0],
) -> list[dict[str, Any]]:
    """The paper's claims (`study.claims`), typed from its words, judged over seeds, from one reading's tidy frame
    `df` (`analysis`), the checked parameters `p`, the reading's run `configs` (each claim's ``depends_on`` names
    the runs its values come from, `study.runs.labels_where`) and its `input_information_table` `inputs`.

    Per network and data set trained: Fig. 3 -- I(Y;Ŷ) rises under CE (trend: per-seed least-squares slope over
    epochs); Fig. 4 -- under L, I(Y;Ŷ) rises and CE falls (trends); Fig. 5 -- the train/test CE gap (mean of the last
    5 epochs) is smaller under L than under CE (ordering, paired by seed), under CE the test loss stays above the
    training loss (ordering), under L the two almost coincide (point 0 ± the loss tolerance); Fig. 6 -- ‖∇θ I‖
    vanishes at epoch 0 and by the last epoch for the shallow CNN, does not for ResNet18 (at_most / at_least on
    per-seed ratios to the peak); §5.3 -- I(Y;Ŷ) saturates after a few epochs under L (shallow CNN); §5.1 --
    training on I(Y;Ŷ) alone leads to a vanishing gradient. Per network: the DPI holds (`dpi_claim`, at the width of
    X `x_width`). `fig5_loss` (`FIG5_LOSS_READINGS`): the loss whose train/test gap Fig. 5 reads for the L runs.
    Rows beyond the paper's figures say "[our extension ...]". A network the profile cannot test (`untestable`)
    gets `claims.not_tested` rows; n < 3 seeds gives "inconclusive" (the rule). With `lenient` (a reading's runs) a
    value that cannot be computed gives a "not tested" row instead of an error. Our own timing is
    not a claim (`metrics`, benchmarks/mi_cost.py).
    """
    out: list[dict[str, Any]] = []
    gn = grad_norm_ratios(df)
    if fig5_loss not in FIG5_LOSS_READINGS:
        raise ValueError(f"fig5_loss={fig5_loss!r} is not one of {FIG5_LOSS_READINGS}")
    l_metric = "ce_nats" if fig5_loss == "ce" else "objective_L"
    gap_df = (
        pd.concat([gaps(df[df.method == "ce"], "ce_nats"), gaps(df[df.method == "mi"], l_metric)], ignore_index=True)
        if len(df[df.metric == "ce_nats"])
        else pd.DataFrame()
    )
    for model in models:
        why = untestable(p, model)
        for name in _names_of(p, model):
            tag = f"({model}, {name})"

            def deps(*methods: str, _m=model, _n=name) -> list[str]:
                return runs.labels_where(configs, model=_m, dataset=_n, method=methods)

            fig5_ext = (
                " [our extension: Fig. 5 shows ResNet18; its caption calls the results of both networks 'similar']"
                if model == "shallow"
                else ""
            )
            rows: list[tuple[Any, ...]] = [
                (
                    f"Fig. 3 {tag}: minimising CE raises I(Y;Ŷ)",
                    "trend",
                    "I(Y;Ŷ) increases with the epoch",
                    lambda: _slopes(df, "mi_yyhat_bits", "ce", model, name, "increasing"),
                    "bits/epoch",
                    "per-seed least-squares slope of I(Y;Ŷ) (training evaluation batches, at s*) over epochs 1..E",
                    deps("ce"),
                    None,
                ),
                (
                    f"Fig. 4 {tag}: training with L (eq. 7) raises I(Y;Ŷ)",
                    "trend",
                    "I(Y;Ŷ) increases",
                    lambda: _slopes(df, "mi_yyhat_bits", "mi", model, name, "increasing"),
                    "bits/epoch",
                    "per-seed slope of I(Y;Ŷ) over epochs 1..E under L",
                    deps("mi"),
                    None,
                ),
                (
                    f"Fig. 4 {tag}: training with L lowers the CE",
                    "trend",
                    "CE decreases",
                    lambda: _slopes(df, "ce_nats", "mi", model, name, "decreasing"),
                    "nats/epoch",
                    "per-seed slope of the training-subset CE over epochs 1..E under L, sign flipped (> 0: falls)",
                    deps("mi"),
                    None,
                ),
                (
                    f"Fig. 5 {tag}: the train/test CE gap is smaller under L than under CE{fig5_ext}",
                    "ordering",
                    "gap(CE) > gap(L)",
                    lambda: _gap_diff(gap_df, model, name),
                    "nats",
                    "per seed: (test − train CE, mean of the last 5 epochs) under CE minus under L; the L runs share "
                    "the seed (initial weights, batch order) of the CE runs",
                    deps("ce", "mi"),
                    None,
                ),
                (
                    f"Fig. 5a {tag}: under CE the test loss remains above the training loss{fig5_ext}",
                    "ordering",
                    "test CE > train CE",
                    lambda: _gap(gap_df, model, name, "ce"),
                    "nats",
                    "per seed: test − train CE under CE, mean of the last 5 epochs (§5.2 'the test loss remains above "
                    "the training loss')",
                    deps("ce"),
                    None,
                ),
                (
                    f"Fig. 5b {tag}: under L the test and the training loss almost coincide{fig5_ext}",
                    "point",
                    0.0,
                    lambda: _gap(gap_df, model, name, "mi"),
                    None,
                    "per seed: test − train CE under L, mean of the last 5 epochs; 'almost coincide' read as 0 within "
                    "the loss tolerance (§5.2)",
                    deps("mi"),
                    "loss",
                ),
            ]
            # Fig. 6a shows the shallow CNN on MNIST, 6b ResNet18 on Fashion-MNIST; other pairs are our extension
            ext = (
                ""
                if (model, name) in (("shallow", "mnist"), ("resnet18", "fashion-mnist"))
                else " [our extension: the paper's Fig. 6 shows another data set for this network]"
            )
            rows.append(
                (
                    f"Fig. 6 {tag}: ‖∇θ I(Y;Ŷ)‖ vanishes at epoch 0{ext}",
                    "at_most",
                    FIG6_VANISHED,
                    lambda: _gn(gn, model, name, "first_over_peak"),
                    None,
                    "per seed: ‖∇θ I‖ of the untrained network / its peak (§5.1: 'the gradient at epoch = 0 vanishes')",
                    deps("mi"),
                    None,
                )
            )
            if model == "shallow":
                rows.append(
                    (
                        f"Fig. 6a {tag}: ‖∇θ I(Y;Ŷ)‖ quickly vanishes{ext}",
                        "at_most",
                        FIG6_VANISHED,
                        lambda: _gn(gn, model, name, "last_over_peak"),
                        None,
                        "per seed: ‖∇θ I‖ at the last epoch / its peak; 'vanishes' read as ≤ 0 within the "
                        "ratio tolerance",
                        deps("mi"),
                        None,
                    )
                )
                sat_ext = "" if name == "mnist" else " [our extension: Fig. 4a shows MNIST]"
                rows.append(
                    (
                        f"§5.3 {tag}: I(Y;Ŷ) saturates after just a few training epochs under L{sat_ext}",
                        "at_least",
                        SATURATION_SHARE,
                        lambda: saturation_share(df, model, name),
                        None,
                        f"per seed: share of the rise of I(Y;Ŷ) (training evaluation batches, at s*) from epoch "
                        f"0 to the end (mean of the last 3 epochs) made by epoch {SATURATION_EPOCH} ('a few'); "
                        f"'saturates' read as ≥ {SATURATION_SHARE} within the fraction tolerance",
                        deps("mi"),
                        "fraction",
                    )
                )
            else:
                rows += [
                    (
                        f"Fig. 6b {tag}: ‖∇θ I(Y;Ŷ)‖ decreases slowly, learning goes on{ext}",
                        "at_least",
                        FIG6_NOT_VANISHED,
                        lambda: _gn(gn, model, name, "last_over_peak"),
                        None,
                        "per seed: ‖∇θ I‖ at the last epoch / its peak; 'keeps updating' read as ≥ 0.2 within the "
                        "ratio tolerance",
                        deps("mi"),
                        None,
                    )
                ]
            ionly_why = why or (
                ""
                if p["ionly_epochs"] >= MIN_IONLY_EPOCHS_TESTED
                else f"trained on I alone for {p['ionly_epochs']} epoch(s) (< {MIN_IONLY_EPOCHS_TESTED}): "
                "too short to show whether the gradient stays vanished"
            )
            rows.append(
                (
                    f"§5.1 {tag}: training on I(Y;Ŷ) alone leads to a vanishing gradient",
                    "at_most",
                    FIG6_VANISHED,
                    lambda: ionly_ratio(df, model, name),
                    None,
                    f"per seed: the largest ‖∇θ I(Y;Ŷ)‖ over epochs 0..{p['ionly_epochs']} of the network "
                    "trained on −I(Y;Ŷ) alone (f ≡ 0), divided by the peak ‖∇θ I‖ of the L run of the same seed; "
                    "'vanishing' read as ≤ 0 within the ratio tolerance, as for Fig. 6",
                    deps("mi_only", "mi"),
                    None,
                    ionly_why,
                )
            )
            for row in rows:
                claim, typ, pv, values, unit, note, dep, quantity = row[:8]
                out.append(
                    _claim(
                        claim,
                        typ,
                        pv,
                        values,
                        unit,
                        note,
                        row[8] if len(row) > 8 else why,
                        quantity=quantity,
                        depends_on=dep,
                        lenient=lenient,
                    )
                )
        out.append(dpi_claim(df, p, configs, inputs, model, x_width, lenient=lenient))
    return out


def dpi_claim(
    df: pd.DataFrame,
    p: dict[str, Any],
    configs: list[dict[str, Any]],
    inputs: pd.DataFrame,
    model: str,
    x_width: str = X_WIDTH_HEADLINE,
    *,
    lenient: bool = False,
) -> dict[str, Any]:
    """Fig. 3 / §5.1: "the DPI I(Y;X) ≥ I(Y;Ŷ) holds" for `model`, with X at the width `x_width` (one of
    `X_WIDTH_READINGS`) and Ŷ at s*: at_most on the per-seed fraction of (data set, method, epoch) checks that
    violate it. Not tested when the profile cannot test `model` or when the width makes it vacuous (`dpi_vacuity`:
    the reason is generated from the data).

    Raises:
        ValueError: an unknown `x_width`.
    """
    if x_width not in X_WIDTH_READINGS:
        raise ValueError(f"x_width={x_width!r} is not one of {X_WIDTH_READINGS}")
    why = untestable(p, model) or dpi_vacuity(inputs, model, x_width)
    what = {
        "s_star": "X at s* of Ŷ (one width, §3.2)",
        "per_layer_alignment": "X at its own alignment maximiser [our extension]",
        "silverman": "X at Silverman's width per batch [our extension]",
    }[x_width]
    return _claim(
        f"Fig. 3 ({model}): the DPI I(Y;X) ≥ I(Y;Ŷ) holds",
        "at_most",
        PAPER_DPI_FRACTION[model],
        lambda: dpi_fraction(df, x_width, model),
        None,
        f"per seed: fraction of (data set, method, epoch) checks with I(Y;Ŷ) > I(Y;X); paper: "
        f"{'no violation in Fig. 3b' if model == 'shallow' else 'one violation in 100 epochs, Fig. 3d'}; "
        f"Ŷ at s*, {what}",
        why,
        quantity="fraction",
        depends_on=runs.labels_where(configs, model=model, method=("ce", "mi")),
        lenient=lenient,
    )


def dpi_vacuity(inputs: pd.DataFrame, model: str, x_width: str) -> str:
    """ "" or the reason the DPI check of `model` is vacuous at the width `x_width` of X: every MI evaluation batch of
    every data set has |I(Y;X) − H(Y)| ≤ `VACUOUS_BITS` (then I(Y;Ŷ), which never exceeds H(Y), cannot exceed
    I(Y;X)). Generated from `inputs` (`input_information_table`); "" when it has no rows for `model`."""
    t = inputs[(inputs.model == model) & (inputs.x_width == x_width)]
    if t.empty:
        return ""
    dev = float((t.i_yx_bits - t.h_y_bits).abs().max())
    if dev > VACUOUS_BITS:
        return ""
    widths = ", ".join(
        f"{d}: s = {g.width.mean():.3g}, I(Y;X) = {g.i_yx_bits.mean():.3f} bits" for d, g in t.groupby("dataset")
    )
    return (
        f"vacuous: I(Y;X) = H(Y) at this width ({widths}; |I(Y;X) − H(Y)| ≤ {dev:.1e} bits on all {len(t)} MI "
        "evaluation batches): this estimator's I(Y;Ŷ) never exceeds H(Y), so I(Y;Ŷ) > I(Y;X) cannot occur"
    )


def saturation_share(df: pd.DataFrame, model: str, name: str, method: str = "mi") -> pd.Series:
    """Per seed: (I_k − I_0) / (I_end − I_0) of I(Y;Ŷ) on the training evaluation batches, k = `SATURATION_EPOCH`,
    I_end = mean of the last 3 epochs (§5.3 "saturates after just a few training epochs").

    Raises:
        ValueError: no rows, fewer than k + 3 epochs, or no rise (I_end = I_0).
    """
    d = df[
        (df.metric == "mi_yyhat_bits")
        & (df.split == "train")
        & (df.method == method)
        & (df.model == model)
        & (df.dataset == name)
    ]
    if d.empty:
        raise ValueError(f"no I(Y;Ŷ) rows for {model}/{name}/{method}")
    out = {}
    for s, g in d.groupby("seed"):
        v = g.sort_values("epoch").set_index("epoch")["value"]
        if v.index.max() < SATURATION_EPOCH + 3:
            raise ValueError(
                f"{len(v)} epochs: saturation by epoch {SATURATION_EPOCH} needs at least {SATURATION_EPOCH + 3}"
            )
        rise = float(v.iloc[-3:].mean()) - float(v.loc[0])
        if rise == 0:
            raise ValueError(f"seed {s}: I(Y;Ŷ) did not rise; no share to compute")
        out[s] = (float(v.loc[SATURATION_EPOCH]) - float(v.loc[0])) / rise
    return pd.Series(out, dtype=float).sort_index()


def ionly_ratio(df: pd.DataFrame, model: str, name: str) -> pd.Series:
    """Per seed: max over epochs of ‖∇θ I(Y;Ŷ)‖ of the run trained on I alone ("mi_only") / the peak ‖∇θ I‖ of the
    L run of the same seed (§5.1 vanishing gradient).

    Raises:
        ValueError: no I-only or no L rows.
    """
    a = df[(df.metric == "grad_norm_mi") & (df.model == model) & (df.dataset == name)]
    io = a[a.method == "mi_only"].groupby("seed")["value"].max()
    peak = a[a.method == "mi"].groupby("seed")["value"].max()
    common = io.index.intersection(peak.index)
    if len(common) == 0:
        raise ValueError(f"no I-only and L ‖∇I‖ rows of the same seed for {model}/{name}")
    return (io.loc[common] / peak.loc[common]).astype(float).sort_index()


def _gap_diff(gap_df: pd.DataFrame, model: str, name: str) -> pd.Series:
    g = gap_df[(gap_df.model == model) & (gap_df.dataset == name)]
    ce, l_ = (g[g.method == m].set_index("seed")["gap_last5"] for m in ("ce", "mi"))
    return claims.differences(ce, l_, better="higher")


def _gap(gap_df: pd.DataFrame, model: str, name: str, method: str) -> pd.Series:
    g = gap_df[(gap_df.model == model) & (gap_df.dataset == name) & (gap_df.method == method)]
    if g.empty:
        raise ValueError(f"no CE gap rows for {model}/{name}/{method}")
    return g.set_index("seed")["gap_last5"].astype(float).sort_index()


def _gn(gn: pd.DataFrame, model: str, name: str, col: str) -> pd.Series:
    g = gn[(gn.model == model) & (gn.dataset == name)]
    if g.empty:
        raise ValueError(f"no ‖∇I‖ rows for {model}/{name}")
    return g.set_index("seed")[col]


def _claim(
    claim: str,
    typ: str,
    paper_value: Any,
    values,
    unit: str | None,
    note: str,
    why: str,
    quantity: str | None = None,
    depends_on: list[str] | None = None,
    lenient: bool = False,
) -> dict[str, Any]:
    """One claim row: `claims.not_tested` with `why` when the profile cannot test it, else `claims.judge` with its
    runs `depends_on`. A judged claim without runs, or (with `lenient`) one whose values cannot be computed, is not
    tested with the reason."""
    quantity = quantity or ("ratio" if typ in ("at_most", "at_least") else None)
    deps = list(depends_on or [])
    if not why and not deps:
        why = "no run of this network and data set in this reading"
    if not why:
        try:
            vals = values()
        except ValueError as e:
            if not lenient:
                raise
            why = f"cannot be computed under this reading: {e}"
    if why:
        return claims.not_tested(
            PAPER, claim, typ, why, paper_value=paper_value, quantity=quantity, unit=unit, depends_on=deps
        )
    return claims.judge(
        PAPER, claim, typ, vals, paper_value=paper_value, quantity=quantity, unit=unit, note=note, depends_on=deps
    )


def claims_with_readings(
    head: tuple[pd.DataFrame, list[dict[str, Any]], pd.DataFrame],
    p: dict[str, Any],
    lr_alt: tuple[pd.DataFrame, list[dict[str, Any]], pd.DataFrame] | None = None,
) -> list[dict[str, Any]]:
    """Every claim judged under every reading that affects it (`READINGS`, one choice changed at a time):
    `claims_list` on the headline reading's (frame, configs, input table) `head`; the DPI claims again at every
    other width of X (`X_WIDTH_READINGS`, same runs); the Fig. 5 and 5b claims with L's own gap for the L runs
    (`FIG5_LOSS_READINGS`, same runs); every claim on the runner-up learning rate's runs `lr_alt` (ResNet18 at
    ``resnet_lr_alt``). Returns the headline rows with ``readings``, ``robustness`` and ``flipped_by``
    (`study.claims.across_readings`)."""
    df, configs, inputs = head
    rows = claims_list(df, p, configs, inputs)
    by: dict[str, list[dict[str, Any]]] = {}
    for w in X_WIDTH_READINGS:
        if w != X_WIDTH_HEADLINE:
            by[claims.reading_key("x_width", w)] = [
                dpi_claim(df, p, configs, inputs, m, w, lenient=True) for m in MODELS
            ]
    fig5 = claims_list(df, p, configs, inputs, fig5_loss=FIG5_LOSS_READINGS[1], lenient=True)
    by[claims.reading_key("fig5_loss", FIG5_LOSS_READINGS[1])] = [
        c for c in fig5 if c["claim"].startswith(("Fig. 5 ", "Fig. 5b "))
    ]
    if lr_alt is not None:
        by[claims.reading_key("lr", LR_READINGS[1])] = claims_list(lr_alt[0], p, lr_alt[1], lr_alt[2], lenient=True)
    return claims.across_readings(
        rows,
        by,
        headline_keys=[
            claims.reading_key("x_width", X_WIDTH_HEADLINE),
            claims.reading_key("fig5_loss", FIG5_LOSS_READINGS[0]),
            claims.reading_key("lr", LR_READINGS[0]),
        ],
    )


def training_checks(df: pd.DataFrame, df_alt: pd.DataFrame | None = None) -> list[dict[str, Any]]:
    """issue 17's training check for the readings that change training (the learning rate): per (network, data set)
    and reading, `study.claims.training_check` of the L runs' 1 − cos_init of the last hidden layer against the CE
    runs' at the same rate and schedule (the plain baseline); the headline rate's row is the headline."""
    out = []
    for frame, reading, head in ((df, LR_READINGS[0], True), (df_alt, LR_READINGS[1], False)):
        if frame is None:
            continue
        cos = frame[frame.metric.str.startswith("cos_init_")]
        for (model, name, metric), g in cos.groupby(["model", "dataset", "metric"]):
            moved, base = 1 - g[g.method == "mi"]["value"], 1 - g[g.method == "ce"]["value"]
            if len(moved) and len(base) and base.mean() > 0:
                key = claims.reading_key("lr", reading) + ("" if model == "shallow" else " (resnet_lr / resnet_lr_alt)")
                t = claims.training_check(
                    f"{key} ({model}, {name}: L vs CE)", metric.removeprefix("cos_init_"), moved, base, headline=head
                )
                out.append(t)
    return out


METHOD_LABEL = {"ce": "CE", "mi": "L", "mi_only": "I-only"}


def results_frame(df: pd.DataFrame, df_alt: pd.DataFrame | None = None) -> pd.DataFrame:
    """results.csv: the headline reading's rows and the learning-rate reading's, whose method is suffixed
    "@lr=validation-runner-up" (tidy: one row per observation, no two rows with the same keys)."""
    if df_alt is None or df_alt.empty:
        return df
    return pd.concat(
        [df, df_alt.assign(method=df_alt["method"] + "@" + claims.reading_key("lr", LR_READINGS[1]))], ignore_index=True
    )


def metrics(df: pd.DataFrame, cost: pd.DataFrame) -> dict[str, dict[str, Any]]:
    """headline.json metrics (measurements, not claims): final test accuracy per (model, data set, method) with its
    95 % interval over seeds (the paper reports none), DPI violations per convention, the measured epoch-time ratio
    L / CE and the MI term's cost at N = 100 and 256 (when measured; benchmarks/mi_cost.py times more)."""
    out = {}
    for (model, name, method), a in final_accuracy(df).groupby(["model", "dataset", "method"])["value"]:
        m, ci, n = claims.interval(a)
        out[f"test_accuracy/{model}_{name}_{METHOD_LABEL[method]}"] = {
            "mean": m,
            "std": float(a.std()) if n > 1 else 0.0,
            "ci95": None if ci is None else list(ci),
            "n": n,
            "unit": "fraction",
        }
    tab = dpi_table(df)
    for conv, g in tab.groupby("convention"):
        out[f"dpi_violations/{conv}"] = {
            "mean": int(g.violations.sum()),
            "n": int(g.checked.sum()),
            "ci95": None,
            "unit": "epochs",
        }
    for model, r in epoch_time_table(df)[1].items():
        out[f"epoch_time_ratio_L_over_CE/{model}"] = {"mean": r, "n": 1, "ci95": None, "unit": "ratio"}
    for r in cost[cost.N.isin([100, 256])].itertuples():
        out[f"mi_term_ms/N={int(r.N)}"] = {"mean": r.ms, "n": 1, "ci95": None, "unit": "ms"}
    return out


def deviations(p: dict[str, Any], lr: dict[str, float], device: str) -> list[dict[str, str]]:
    """Where this profile departs from the paper, or the paper is silent (`claims.deviation` rows), from the checked
    parameters `p`, the chosen learning rates `lr` ({data set: lr}) and the resolved `device`."""
    dev = claims.deviation
    used = resnet_used(p)
    out = []
    if p["epochs"] != PAPER_EPOCHS["shallow"]:
        out.append(
            dev(
                "shallow CNN epochs",
                "50 (Fig. 3a)",
                str(p["epochs"]),
                "fits the 9-min budget of 03 on 2 CPU cores (one 50-epoch run takes ~1 min on one core; "
                "42 runs with the selection, the learning-rate reading and the runs on I alone)",
                "Figs. 3–6 judged over a shorter course: a slope or last/peak ratio can change with E; the "
                "paper profile (50 epochs) is the ablation that tests it",
            )
        )
    if used is None:
        out.append(
            dev(
                "ResNet18",
                "100 epochs, 3×224×224 inputs, MNIST and Fashion-MNIST",
                "not trained",
                "one epoch on 5,000 images costs minutes on a CPU core; the paper profile trains it",
                "its claims (Figs. 3c–d, 4c–d, 5, 6b, DPI of Fig. 3d) are 'not tested' here",
            )
        )
    else:
        what = (
            f"{p['resnet_epochs']} epochs, stem '{p['resnet_stem']}', {p['resnet_train_per_class'] * 10} "
            f"training images, data sets {p['resnet_datasets']}, seeds {p['resnet_seeds']}, lr {p['resnet_lr']} "
            f"(not selected: no validation split for ResNet18; reading {p['resnet_lr_alt']})"
        )
        if used["train_batch"] < p["batch_size"]:
            what += f"; one batch of {used['train_batch']} images"
        if used["mi_batch_rows"] < p["batch_size"]:
            what += f"; MI evaluation batch N = {used['mi_batch_rows']}"
        if used["grad_batches"] < p["grad_batches"]:
            what += f"; ‖∇I‖ over {used['grad_batches']} evaluation batch(es)"
        out.append(
            dev(
                "ResNet18",
                "100 epochs, 3×224×224 inputs (torchvision ResNet18), lr not given",
                what,
                "budget; 'small' stem = 28×28 inputs on CPU",
                "claims of a network trained < 10 epochs or on < 1,000 images are 'not tested'; at the "
                "paper's size they are judged; the lr reading resnet_lr_alt retrains it",
            )
        )
        if p["resnet_stem"] == "paper" and not device.startswith("cuda"):
            out.append(
                dev(
                    "device",
                    "not given (GPU implied by 224 px ResNet18)",
                    "CPU: no CUDA GPU was found",
                    "the notebook's device is 'auto' and no GPU is present",
                    "same numbers, far more time; no effect on verdicts",
                )
            )
    out += [
        dev(
            "optimiser and learning rate",
            "not given",
            f"SGD, momentum {p['momentum']}; shallow CNN lr chosen per "
            f"data set from {p['lr_grid']} by highest validation accuracy (1,000 validation images from the training "
            f"split) of CE runs at the last epoch: {lr}",
            "the paper names no optimiser or rate; the rule is fixed before looking (study.selection.RULE)",
            "CE and L share the chosen rate, so the CE-vs-L claims compare like with like; the grid table is the "
            "ablation over rates (CE, validation split)",
        ),
        dev(
            "momentum, batch size",
            "not given",
            f"momentum {p['momentum']}, batch {p['batch_size']} (= N of the MI term), fixed",
            "common defaults; the O(N³) MI term stays cheap at N = 100",
            "N sets the estimator's bias (bits tolerance 0.05 at N = 100); no ablation: each batch size is a "
            "full set of runs beyond the budget",
        ),
        dev(
            "shallow CNN layer sizes",
            "4 hidden layers, ~44K parameters, sizes not given",
            "10c5-pool-20c5-pool-100-60-10 (44,050 parameters)",
            "the paper gives structure and size only",
            "none expected on the qualitative claims; no ablation: the paper gives no sizes to compare with",
        ),
        dev(
            "MI weight, α",
            "f(epoch) = (1 + epoch)^−0.5 (eq. 7), α = 1.01",
            "the paper's values",
            "given by the paper",
            "none",
        ),
        dev(
            "kernel width of X",
            "one width s* 'sets the scale in Eq. 2 for computing the MI values' (§3.2)",
            "headline: X at s* of Ŷ (the paper's reading); readings: X at its own alignment maximiser over "
            f"{p['n_widths']} widths in {p['layer_width_rel']} × its median distance, and Silverman's rule per "
            "batch (both our extensions)",
            "the text names one width; the per-layer rule (Wickstrøm et al. 2019) and Silverman's are common "
            "alternatives",
            "decides the DPI verdict: at s* the 784-dimensional input kernel is diagonal, I(Y;X) = H(Y) and the DPI "
            "check is vacuous (not tested, the reason computed from the data); the other readings are in the "
            "claim's readings; Silverman's rule for X and Ŷ is an ablation row of the DPI table",
        ),
        dev(
            "learning-rate reading",
            "not given",
            f"headline: the validation-best rate {lr}; reading: the "
            f"validation runner-up of the same grid (CE, L and I-only runs retrained, s* recomputed); ResNet18 "
            f"{p['resnet_lr']}, reading {p['resnet_lr_alt']}",
            "a second plausible rate shows whether a verdict rests on the rate",
            "every claim carries both verdicts (robust / reading-dependent)",
        ),
        dev(
            "training on I alone (§5.1)",
            "'raises the problem of a vanishing gradient', no run shown",
            f"{p['ionly_epochs']} epochs on −I(Y;Ŷ) alone (f ≡ 0) at s*, same rate and seeds as L",
            "the claim needs a run that trains on I alone; a few epochs show whether the gradient stays vanished",
            "a longer run could escape later; the paper profile runs more epochs",
        ),
        dev(
            "candidate widths of Ŷ",
            "100 equidistant candidates, interval not given (Fig. 1)",
            f"[{p['width_low']}, {p['width_high']}] × {p['n_widths']} on {p['yhat_layer']} rows",
            "softmax rows are at most √2 apart; Ŷ = softmax rows (the paper does not say)",
            "none while s* lies inside the interval (the share of maximisers at an end is printed): a wider "
            "interval would not move the maximum",
        ),
        dev(
            "width s* inside L",
            "s* per epoch, valid over an observation horizon (§3.2)",
            "s* = mean of the per-epoch maximisers of the CE runs, fixed for L",
            "L needs one width before training",
            "a different width rescales I(Y;Ŷ) and its gradient; no "
            "ablation: the paper does not say how its per-epoch s* enters L",
        ),
        dev(
            "reading of Fig. 6",
            "'vanishes', 'slowly decreases' (no numbers)",
            f"‖∇θ I‖ at the last epoch (or "
            f"epoch 0) / its peak ≤ {FIG6_VANISHED} within the ratio tolerance 0.1 = vanished; ≥ "
            f"{FIG6_NOT_VANISHED} within it = not vanished",
            "a typed claim needs a number; fixed before the runs",
            "another threshold could change the Fig. 6 verdicts: the per-seed ratios are shown so that a reader "
            "can apply another; no ablation",
        ),
        dev(
            "I per epoch",
            "mean over the training batches",
            f"mean over a fixed evaluation pass of "
            f"{10 * p['mi_eval_per_class']} training images (batches of {p['batch_size']}), model in eval mode",
            "a fixed sample makes epochs comparable",
            "less noise, same estimator; no effect on signs expected",
        ),
        dev(
            "Fig. 5 'loss'",
            "not defined",
            "CE on train and test for both methods (L shown for L-training)",
            "CE is the loss both methods share",
            "the Fig. 5 and 5b claims compare CE gaps (headline); under the "
            "reading fig5_loss=objective they use L's own gap for L-training, which shrinks by construction (× f): "
            "both verdicts are in the claims' readings",
        ),
    ]
    return out


def headline_params(
    p: dict[str, Any],
    lr: dict[str, float],
    s_star: dict,
    at_edge: dict,
    silver: dict,
    iyx: dict,
    lr_alt: dict[str, float] | None = None,
    s_star_alt: dict | None = None,
) -> dict[str, Any]:
    """headline.json params: the notebook's `PARAMETERS`, the chosen learning rates, what ResNet18 used
    (`resnet_used`), s*, the share of maximisers at an interval end, Silverman's widths and I(Y;X), keyed
    "model/data set"."""

    def keyed(d: dict, f=lambda v: v) -> dict[str, Any]:
        return {f"{k[0]}/{k[1]}": f(v) for k, v in d.items()}

    return {
        **{k: p[k] for k in PARAMETERS},
        "optimizer": "sgd",
        "lr_chosen": dict(lr),
        "resnet_used": resnet_used(p),
        "s_star": keyed(s_star),
        "s_star_maximisers_at_interval_end": keyed(at_edge),
        "silverman": keyed(silver),
        "i_yx_bits": keyed(iyx, lambda v: v[0]),
        "lr_runner_up": dict(lr_alt or {}),
        "s_star_lr_runner_up": keyed(s_star_alt or {}),
    }


# ------------------------------------------------------------------------------------------------------- figures
def _sns():
    import matplotlib.pyplot as plt
    import seaborn as sns

    return plt, sns


def plot_width_demo(demo: pd.DataFrame):
    """Figure: I(Y;Ŷ) against s for `width_demo`'s two kinds of predictions (log s axis, H(Y) dashed)."""
    plt, sns = _sns()
    fig, ax = plt.subplots(figsize=(6.5, 3.6))
    sns.lineplot(data=demo, x="s", y="I(Y;Ŷ) [bits]", hue="predictions", ax=ax)
    ax.axhline(math.log2(10), ls="--", c="grey", lw=1)
    ax.text(1.2e-3, math.log2(10) + 0.05, "H(Y) = log₂10", color="grey")
    ax.set_xscale("log")
    ax.set_title("Softmax predictions of one balanced batch (N = 100), α = 1.01")
    return fig


def plot_alignment(configs: list[dict], artifacts: list[dict | None], s_star: dict):
    """Fig. 1: per (model, data set) one grey alignment curve per CE run and epoch ≥ 1, black dots at the maxima,
    red line at s*."""
    plt, _ = _sns()
    keys = sorted(s_star)
    fig, axes = plt.subplots(1, len(keys), figsize=(5 * len(keys), 3.6), squeeze=False)
    for ax, key in zip(axes[0], keys):
        for cfg, art in zip(configs, artifacts):
            if cfg["method"] != "ce" or (cfg["model"], cfg["dataset"]) != key or art is None:
                continue
            for e in range(1, len(art["width_best"])):
                ax.plot(art["widths"].numpy(), art["alignment"][e], c="grey", lw=0.6, alpha=0.6)
                ax.plot(art["width_best"][e], art["alignment"][e].max(), "k.", ms=5)
        ax.axvline(s_star[key], c="tab:red", lw=1.5, label=f"s* = {s_star[key]:.3f}")
        ax.set(title=f"{key[0]} / {key[1]}", xlabel="kernel width s (Ŷ = softmax rows)", ylabel="alignment")
        ax.legend()
    return fig


def plot_width_dependence(wdf: pd.DataFrame, s_star: dict, silver: dict):
    """I(Y;Ŷ) against s of the final CE models, true vs shuffled labels, with s* (red) and Silverman (green)."""
    _, sns = _sns()
    g = sns.relplot(
        data=wdf, x="s", y="I(Y;Ŷ) [bits]", hue="labels", col="net/data", kind="line", height=3.3, aspect=1.2
    )
    for ax, key in zip(g.axes.flat, sorted(silver)):
        ax.set_xscale("log")
        ax.axvline(s_star[key], c="tab:red", lw=1, label="s*")
        ax.axvline(silver[key], c="tab:green", lw=1, ls="--", label="Silverman")
        ax.axhline(math.log2(10), c="grey", lw=1, ls=":")
        ax.legend(fontsize=8)
    return g.figure


def plot_curves(df: pd.DataFrame, metric: str, split: str, ylabel: str, hline: dict | None = None):
    """Figs. 3/4: `metric` on `split` per epoch, CE vs L, one panel per (model, data set), mean ± std over seeds;
    `hline` {(model, data set): (value, ...)} draws I(Y;X) dashed."""
    _, sns = _sns()
    sel = df[(df.metric == metric) & (df.split == split)].copy()
    sel["net/data"] = sel["model"] + " / " + sel["dataset"]
    sel["method"] = sel["method"].map({"ce": "CE", "mi": "L (eq. 7)", "mi_only": "I only"})
    g = sns.relplot(
        data=sel,
        x="epoch",
        y="value",
        hue="method",
        col="net/data",
        kind="line",
        errorbar="sd",
        height=3.2,
        aspect=1.15,
        facet_kws={"sharey": False, "sharex": False},
    )
    g.set_ylabels(ylabel)
    g.set_titles("{col_name}")
    if hline is not None:
        for ax, (nd, _) in zip(g.axes.flat, sel.groupby("net/data", sort=False)):
            m_, n_ = nd.split(" / ")
            ax.axhline(hline[(m_, n_)][0], c="grey", ls="--", lw=1, label="I(Y;X)")
    return g.figure


def plot_train_test(df: pd.DataFrame) -> dict[str, Any]:
    """Fig. 5: per (model, data set) train vs test CE for both methods and L for L-training; {figure name: figure}."""
    _, sns = _sns()
    sel = df[
        df.split.isin(["train", "test"])
        & df.method.isin(["ce", "mi"])
        & ((df.metric == "ce_nats") | ((df.metric == "objective_L") & (df.method == "mi")))
    ].copy()
    sel["curve"] = (
        sel["method"].map({"ce": "CE-trained", "mi": "L-trained"})
        + ": "
        + sel["metric"].map({"ce_nats": "CE", "objective_L": "L"})
    )
    figs = {}
    for key in sorted(set(zip(sel.model, sel.dataset))):
        sub = sel[(sel.model == key[0]) & (sel.dataset == key[1])]
        g = sns.relplot(
            data=sub,
            x="epoch",
            y="value",
            hue="split",
            col="curve",
            kind="line",
            errorbar="sd",
            height=3.0,
            aspect=1.1,
            facet_kws={"sharey": False},
        )
        g.figure.suptitle(f"{key[0]} / {key[1]}", y=1.03)
        figs[f"fig5_train_test_{key[0]}_{key[1]}"] = g.figure
    return figs


def plot_grad_norm(df: pd.DataFrame):
    """Fig. 6: ‖∇θ I(Y;Ŷ)‖₂ per epoch under L (and, beyond the figure, under I alone), one panel per (model, data
    set), mean ± std over seeds."""
    _, sns = _sns()
    gn = df[df.metric == "grad_norm_mi"].copy()
    gn["net/data"] = gn["model"] + " / " + gn["dataset"]
    gn["method"] = gn["method"].map({"mi": "L (eq. 7)", "mi_only": "I only"})
    g = sns.relplot(
        data=gn,
        x="epoch",
        y="value",
        col="net/data",
        hue="method",
        kind="line",
        errorbar="sd",
        height=3.0,
        aspect=1.1,
        facet_kws={"sharey": False, "sharex": False},
    )
    g.set_ylabels("‖∇θ I(Y;Ŷ)‖₂")
    return g.figure


def plot_information_plane(df: pd.DataFrame):
    """I(X;T) against I(T;Y) per layer T and epoch (colour), CE vs L, one row per data set; None without rows."""
    _, sns = _sns()
    pl = df[df.metric.str.startswith("plane_i")].copy()
    if not len(pl):
        return None
    pl["layer"] = pl.metric.str.split("/").str[1]
    pl["q"] = pl.metric.str.split("/").str[0]
    pw = pl.pivot_table(
        index=["dataset", "method", "seed", "epoch", "layer"], columns="q", values="value"
    ).reset_index()
    pw["method"] = pw["method"].map({"ce": "CE", "mi": "L"})
    g = sns.relplot(
        data=pw,
        x="plane_ixt_bits",
        y="plane_ity_bits",
        hue="epoch",
        style="layer",
        col="method",
        row="dataset",
        palette="viridis",
        height=3.2,
        aspect=1.1,
        s=40,
    )
    g.set_axis_labels("I(X;T) [bits]", "I(T;Y) [bits]")
    g.set_titles("{row_name} | {col_name}")
    return g.figure
