"""One training run of notebook 03 (Zaugg et al., WIVACE 2024): `run` and what it computes -- the balanced subsets
(§4.1), the networks (§4.2), training with CE or eq. 7, the per-epoch evaluation pass (`EvalPass`); its config is a
frozen `RunConfig` (the store keeps the plain dict). The only module of the package the run store's key hashes
(`study.runs.code_sources`). Units: CE in nats (batch mean), MI in bits, widths s in the units of the rows."""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

import numpy as np
import torch
import torch.nn.functional as F
from pydantic import Field, model_validator

from study import checks, data, results, runs, train
from study import information as inf
from study.models.mi_cnn import ResNet18MI, ShallowCNN
from study.params import Declared, ResolvedDevice, parse, rule

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

Dataset = Literal["mnist", "fashion-mnist"]  # study.data.MD5
YhatLayer = Literal["softmax", "logits"]  # YHAT_LAYERS
Stem = Literal["small", "paper"]  # study.models.mi_cnn.STEMS
Positive = Annotated[float, Field(gt=0)]


@rule("[a, b] with 0 < a < b")
def _increasing_pair(v: list[float]) -> list[float]:
    if not v[0] < v[1]:
        raise ValueError("not a < b")
    return v


def size_field(kind: str, description: str, accepted: str = "", low: int = 1, high: int | None = None) -> Any:
    """An integer field in [low, `high` or `checks.CAPS[kind]`]; `accepted`: its relation to other fields in words."""
    high = checks.CAPS[kind] if high is None else high
    if accepted:
        return Field(ge=low, le=high, description=description, json_schema_extra={"accepted": accepted})
    return Field(ge=low, le=high, description=description)


RESNET_FIELDS = tuple("resnet_train_per_class resnet_test_per_class resnet_eval_per_class resnet_stem".split())
#: the multiples of a layer's median distance its candidate widths span ([a, b], 0 < a < b)
WidthRel = Annotated[list[Positive], Field(min_length=2, max_length=2), _increasing_pair]


class RunConfig(Declared):
    """One run's config (`run`; `study.experiments.mi.plan` builds it), with the relations between its fields
    (`_relations`: the ResNet18 fields None for the shallow CNN, ``s_star`` None for "ce", ...)."""

    dataset: Dataset = Field(description="the data set trained on (one of subset_datasets)")
    model: Literal["shallow", "resnet18"] = Field(description="the shallow CNN (§4.2) or ResNet18")
    method: Literal["ce", "mi", "mi_only"] = Field(description="CE, eq. 7 (L) or I(Y;Ŷ) alone")
    seed: int = Field(ge=0, lt=2**63, description="training seed: weights and batch order")
    device: ResolvedDevice = Field(description="where the run trains")
    epochs: int = size_field("epochs", "epochs of training")
    lr: Positive = Field(description="SGD learning rate")
    momentum: float = Field(ge=0, lt=1, description="SGD momentum")
    batch_size: int = size_field("samples", "training batch, also the N of the MI term", low=2)
    data_seed: int = Field(ge=0, lt=2**63, description="seeds the subsets")
    subset_datasets: list[Dataset] = Field(
        min_length=1, description="the data sets the subsets are drawn for, in order"
    )
    train_per_class: int = size_field("samples", "training images per class")
    val_per_class: int = size_field("samples", "validation images per class")
    test_per_class: int = size_field("samples", "test images per class")
    mi_eval_per_class: int = size_field("samples", "MI evaluation images per class")
    resnet_train_per_class: int | None = Field(ge=1, description="ResNet18's training images per class")
    resnet_test_per_class: int | None = Field(ge=1, description="ResNet18's test images per class")
    resnet_eval_per_class: int | None = Field(ge=1, description="ResNet18's MI evaluation images per class")
    resnet_stem: Stem | None = Field(description="ResNet18's stem")
    resnet_bn_cumulative: bool | None = Field(description="ResNet18's BatchNorm keeps cumulative statistics")
    alpha: float = Field(gt=0, le=inf.ALPHA_MAX, description="Rényi order (eq. 4)")
    yhat_layer: YhatLayer = Field(description="the rows Ŷ of the MI term")
    width_low: Positive = Field(description="smallest candidate width of Ŷ")
    width_high: Positive = Field(description="largest candidate width of Ŷ (> width_low)")
    n_widths: int = size_field("grid", "candidate widths of Ŷ", low=2)
    layer_width_rel: WidthRel = Field(description="candidate widths of X and hidden layers / their median distance")
    s_star: Positive | None = Field(description="kernel width of Ŷ inside L (None for CE)")
    grad_batches: int = size_field("samples", "MI evaluation batches of ‖∇θ I‖")
    info_plane: bool = Field(description="compute the information plane (shallow CNN only)")
    tuning: bool = Field(description="a learning-rate selection candidate (validation split only)")

    @model_validator(mode="after")
    def _relations(self) -> RunConfig:
        def need(name: str, ok: bool, accepted: str) -> None:
            if not ok:
                raise checks.out_of_range(name, getattr(self, name), accepted)

        need("dataset", self.dataset in self.subset_datasets, f"one of subset_datasets {self.subset_datasets}")
        need("width_high", self.width_high > self.width_low, f"a finite number > width_low={self.width_low}")
        need(
            "s_star",
            (self.s_star is not None) == (self.method != "ce"),
            "a finite width > 0 for methods 'mi' and 'mi_only', None for 'ce'",
        )
        need("info_plane", self.model == "shallow" or not self.info_plane, "a bool (True only for the shallow CNN)")
        tuning_ok = not self.tuning or (self.model == "shallow" and self.method == "ce" and not self.info_plane)
        need("tuning", tuning_ok, "a bool (True only for a shallow CNN 'ce' run without info_plane)")
        for name in (*RESNET_FIELDS, "resnet_bn_cumulative"):
            need(name, (getattr(self, name) is None) == (self.model == "shallow"), "set for ResNet18, None otherwise")
        return self


@functools.lru_cache(maxsize=4)
def subsets(
    data_seed: int, datasets: tuple[str, ...], train_per_class: int, val_per_class: int, test_per_class: int,
    mi_eval_per_class: int,
) -> dict[str, dict[str, Any]]:  # fmt: skip
    """The balanced subsets of §4.1 for every data set in `datasets`, drawn in that order from ONE generator seeded
    `data_seed` (a data set's subsets depend on those drawn before it; the order is part of every config). Per data
    set: training and validation subsets (disjoint) from the official training split, a test subset from the official
    test split (`train_per_class` / `val_per_class` / `test_per_class` images per class), and the MI evaluation part
    (`mi_eval_per_class` per class) of the training and of the test subset.

    Returns:
        ``{name: {"train"|"val"|"test"|"mi_train"|"mi_test": (x float32 (N, 1, 28, 28) in [0, 1], y int64 (N,)),
        "pos": {"train"|"test": positions (M,) of the MI evaluation images in that subset},
        "indices": {"train"|"val"|"test": indices into the official split, "mi_train_positions"|"mi_test_positions"}}``.
        Cached (a few MB per data set); callers must not modify the tensors in place.

    Raises:
        ValueError: a per-class count larger than a class (`study.data`); study.data.DataError: data files missing.
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
            k: (s.subset(i).float(), s.labels[i])
            for k, s, i in (("train", tr, i_tr), ("val", tr, i_va), ("test", te, i_te))
        }
        sets["mi_train"] = (sets["train"][0][i_mi], sets["train"][1][i_mi])
        sets["mi_test"] = (sets["test"][0][i_mi_te], sets["test"][1][i_mi_te])
        sets["pos"] = {"train": i_mi, "test": i_mi_te}
        named = {"train": i_tr, "val": i_va, "test": i_te, "mi_train_positions": i_mi, "mi_test_positions": i_mi_te}
        sets["indices"] = {k: v.tolist() for k, v in named.items()}
        out[name] = sets
    return out


@functools.lru_cache(maxsize=4)
def resnet_subsets(
    data_seed: int, datasets: tuple[str, ...], train_per_class: int, val_per_class: int, test_per_class: int,
    mi_eval_per_class: int, name: str, resnet_train_per_class: int, resnet_test_per_class: int,
    resnet_eval_per_class: int,
) -> dict[str, Any]:  # fmt: skip
    """ResNet18's smaller balanced subsets of `name`: `resnet_train/test_per_class` per class drawn from the shallow
    CNN's training / test subsets (`subsets`), `resnet_eval_per_class` per class of each its MI evaluation part; one
    generator seeded ``data_seed + RESNET_SUBSET_SEED_OFFSET``; the layout of `subsets` without "val", "indices".
    Raises ValueError: `name` not in `datasets`, or a per-class count larger than the shallow subset's."""
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


def run_sets(c: RunConfig) -> dict[str, Any]:
    """The data of one run's config `c`: `subsets` for the shallow CNN, `resnet_subsets` for ResNet18."""
    key = (c.data_seed, tuple(c.subset_datasets), c.train_per_class, c.val_per_class, c.test_per_class)
    if c.model == "shallow":
        return subsets(*key, c.mi_eval_per_class)[c.dataset]
    return resnet_subsets(
        *key, c.mi_eval_per_class, c.dataset, c.resnet_train_per_class, c.resnet_test_per_class, c.resnet_eval_per_class
    )


def make_model(model: str, stem: str | None = None, bn_cumulative: bool | None = None) -> torch.nn.Module:
    """A fresh network: `ShallowCNN` (44,050 parameters) or `ResNet18MI(stem)`; with `bn_cumulative` every
    BatchNorm keeps its running statistics as the cumulative average (momentum None). Raises ValueError: unknown
    `model` or `stem`."""
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


def layer_width(t_batches: list[torch.Tensor], y_batches: list[torch.Tensor], rel: list[float], n_widths: int) -> float:
    """Alignment-maximising width s of one layer (rows flattened, batch mean of the alignment, §3.2) over `n_widths`
    candidates in [rel[0], rel[1]] × the layer's median pairwise distance (Wickstrøm et al. 2019 for hidden layers;
    our choice for X, whose width the paper does not give). Batches: t (N, ...), y (N,).
    """
    d = torch.cat([inf.pairwise_sq_distances(t.flatten(1)).flatten() for t in t_batches])
    med = float(d[d > 0].median().sqrt()) if bool((d > 0).any()) else 1.0
    cand = inf.candidate_widths(rel[0] * med, rel[1] * med, n_widths)
    return inf.width_search([(t.flatten(1), y) for t, y in zip(t_batches, y_batches)], cand).best


@dataclass(eq=False, repr=False)
class EvalPass:
    """The per-epoch evaluation pass of one run (``on_epoch_end`` of `study.train.fit`, and epoch 0): tidy rows to
    `rows`, Ŷ rows, alignment curves and maximisers to `yhat`, `align`, `width_best`; `state`: f of eq. 7."""

    c: RunConfig
    sets: dict[str, Any]
    dev: torch.device
    widths: torch.Tensor
    batches_mi: list[tuple[torch.Tensor, torch.Tensor]]
    state: dict[str, float]
    i_yx: float = float("nan")
    a_x: list[torch.Tensor] = field(default_factory=list)
    rows: list[dict[str, Any]] = field(default_factory=list)
    yhat: dict[str, list[torch.Tensor]] = field(default_factory=dict)
    align: list[np.ndarray] = field(default_factory=list)
    width_best: list[float] = field(default_factory=list)

    def add(self, epoch: int, split: str, metric: str, value: float) -> None:
        self.rows.append({"epoch": epoch, "split": split, "metric": metric, "value": value})

    def accuracy_ce(self, model: torch.nn.Module, epoch: int, split: str) -> torch.Tensor:
        """Rows ``accuracy`` and ``ce_nats`` of `split`; returns its logits (N, C) float32 on the run's device."""
        x, y = self.sets[split]
        with torch.inference_mode():  # `study.train.predict`: eval mode, `EVAL_BATCH` rows at a time
            logits = train.predict(model, x, batch_size=EVAL_BATCH, device=self.dev).to(self.dev)
        self.add(epoch, split, "accuracy", float((logits.argmax(1).cpu() == y).float().mean()))
        self.add(epoch, split, "ce_nats", float(F.cross_entropy(logits, y.to(self.dev))))
        return logits

    def __call__(self, model: Any, epoch: int) -> dict[str, float]:
        c, sets, dev, layer = self.c, self.sets, self.dev, self.c.yhat_layer
        ys = [yb for _, yb in self.batches_mi]
        if c.tuning:  # a selection candidate: the validation split only, never test
            self.accuracy_ce(model, epoch, "val")
            return {}
        for split in [s for s in ("train", "val", "test") if s in sets]:
            logits = self.accuracy_ce(model, epoch, split)
            if split in sets["pos"]:  # Ŷ rows of the fixed MI evaluation images
                self.yhat[split].append(inf.prediction_rows(logits[sets["pos"][split].to(dev)], layer).cpu())
        res = inf.width_search(list(zip(self.yhat["train"][-1].to(dev).split(c.batch_size), ys)), self.widths)
        self.align.append(res.alignment.numpy())
        self.width_best.append(res.best)
        self.add(epoch, "train", "width_best_yhat", res.best)
        self.add(epoch, "train", "f_transition", self.state["f"])
        self.add(epoch, "train", "mi_yx_bits", self.i_yx)
        if c.s_star is not None:  # "mi", "mi_only"; epoch 0 too: "the gradient at epoch = 0 vanishes" (Fig. 6)
            model.eval()
            model.zero_grad(set_to_none=True)
            mis = [
                inf.mi_with_labels(inf.prediction_rows(model(xb), layer), yb, c.s_star, c.alpha)
                for xb, yb in self.batches_mi[: c.grad_batches]
            ]
            torch.stack(mis).mean().backward()
            gn = torch.sqrt(sum((p.grad.double() ** 2).sum() for p in model.parameters() if p.grad is not None))
            model.zero_grad(set_to_none=True)
            self.add(epoch, "train", "grad_norm_mi", float(gn))
        if c.info_plane:
            self.information_plane(model, epoch, ys)
        return {}

    def information_plane(self, model: Any, epoch: int, ys: list[torch.Tensor]) -> None:
        """Rows ``plane_ixt_bits/<layer>``, ``plane_ity_bits/<layer>``, ``plane_width/<layer>`` (beyond the paper)."""
        c, alpha = self.c, self.c.alpha
        with torch.inference_mode():
            model.eval()
            hidden = [model.hidden(xb) for xb, _ in self.batches_mi]
        a_y = [inf.normalize_gram(inf.label_gram(y)) for y in ys]
        for li, lname in enumerate(model.layer_names):
            ts = [inf.prediction_rows(h[li], c.yhat_layer) if lname == "logits" else h[li].flatten(1) for h in hidden]
            s_t = layer_width(ts, ys, c.layer_width_rel, c.n_widths)
            a_t = [inf.normalize_gram(inf.gram_matrix(t, s_t)) for t in ts]
            ixt = torch.stack([inf.mutual_information(ax, at, alpha) for ax, at in zip(self.a_x, a_t)])
            ity = torch.stack([inf.mutual_information(ay, at, alpha) for ay, at in zip(a_y, a_t)])
            name = "yhat" if lname == "logits" else lname
            self.add(epoch, "train", f"plane_ixt_bits/{name}", float(ixt.mean()))
            self.add(epoch, "train", f"plane_ity_bits/{name}", float(ity.mean()))
            self.add(epoch, "train", f"plane_width/{name}", s_t)


@runs.experiment("mi", chance=0.1)  # 10 classes
def run(config: dict[str, Any]) -> runs.Result:
    """One training run of Zaugg et al.'s networks with CE or with their eq. 7, plus the per-epoch evaluation pass.

    Args:
        config: a plain dict with exactly the fields of `RunConfig`; `study.experiments.mi.plan` builds it.

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
        With ``tuning`` (a learning-rate candidate, `study.selection`): ``accuracy``, ``ce_nats`` on split "val" only
        (and ``objective_batches``, ``epoch_time_s``); no test row, no MI pass, no artifacts.
        ``artifacts``: ``yhat`` {"train"|"test": float32 (E+1, M, C) Ŷ rows of the MI evaluation images per epoch},
        ``y_mi`` {"train"|"test": int64 (M,) their labels}, ``widths`` float64 (S,) candidate widths,
        ``alignment`` float64 (E+1, S) batch-mean alignment of Ŷ per epoch, ``width_best`` float64 (E+1,),
        ``s_x`` (the input's width), ``i_yx_bits`` (I(Y;X)).

    Raises:
        ValueError: a bad config (`RunConfig`: the key, the value and what is accepted).
        FloatingPointError: the training objective became NaN or infinite (`study.train.fit`).
    """
    c = parse(RunConfig, config)
    dev = torch.device(c.device)
    sets = run_sets(c)
    widths = inf.candidate_widths(c.width_low, c.width_high, c.n_widths)
    bs, alpha, s_star = c.batch_size, c.alpha, c.s_star
    gen = train.seed_everything(c.seed)
    model = make_model(c.model, c.resnet_stem, c.resnet_bn_cumulative).to(dev)
    last_name, last_w = model.last_hidden()  # type: ignore[operator]  # both models of make_model define it
    w_init = last_w.detach().clone()
    state = {"f": 0.0 if c.method == "mi_only" else 1.0}
    batches_mi = mi_batches(sets["mi_train"][0].to(dev), sets["mi_train"][1].to(dev), bs)
    ev = EvalPass(c, sets, dev, widths, batches_mi, state, yhat={split: [] for split in sets["pos"]})
    ys = [yb for _, yb in batches_mi]
    if not c.tuning:
        s_x = layer_width([b[0] for b in batches_mi], ys, c.layer_width_rel, c.n_widths)
        i_yx = [inf.mi_with_labels(xb.flatten(1), yb, s_x, alpha) for xb, yb in batches_mi]
        ev.i_yx = float(torch.stack(i_yx).mean())
    if c.info_plane:
        ev.a_x = [inf.normalize_gram(inf.gram_matrix(xb.flatten(1), s_x)) for xb, _ in batches_mi]

    def loss_fn(logits, y):
        if c.method == "ce":
            return F.cross_entropy(logits, y)
        f = 0.0 if c.method == "mi_only" else state["f"]
        return inf.mi_regularized_loss(logits, y, f=f, width=s_star, alpha=alpha, layer=c.yhat_layer)[0]

    def on_epoch_start(epoch):  # fit counts epochs from 1; eq. 7 from 0
        if c.method == "mi":
            state["f"] = inf.transition_factor(epoch - 1)

    ev(model, 0)
    hist = train.fit(
        model, *sets["train"], epochs=c.epochs, batch_size=bs, lr=c.lr, momentum=c.momentum, loss_fn=loss_fn,
        on_epoch_start=on_epoch_start, on_epoch_end=ev, generator=gen, device=dev, eval_at_start=False, progress=False,
    )  # fmt: skip
    renamed = {"loss": "objective_batches", "epoch_time_s": "epoch_time_s"}
    ev.rows += [{**r, "metric": renamed[r["metric"]]} for r in hist if r["metric"] in renamed]
    if c.info_plane:
        ev.add(0, "train", "plane_width/x", s_x)
    ev.add(c.epochs, "-", f"cos_init_{last_name}", train.cos_init(w_init, last_w))  # issue 17: did it train?
    df = results.tidy(ev.rows, study=STUDY, dataset=c.dataset, model=c.model, method=c.method, seed=c.seed)
    if c.tuning:
        return runs.Result(rows=df, artifacts={})
    artifacts = {
        "yhat": {k: torch.stack(v) for k, v in ev.yhat.items()},
        "y_mi": {k: sets["mi_" + k][1].clone() for k in ev.yhat},
        "widths": widths,
        "alignment": np.stack(ev.align),
        "width_best": np.asarray(ev.width_best, dtype=np.float64),
        "s_x": s_x,
        "i_yx_bits": ev.i_yx,
    }
    return runs.Result(rows=df, artifacts=artifacts)
