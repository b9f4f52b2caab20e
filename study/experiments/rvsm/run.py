"""Xue & Xin (notebook ``02_rvsm_curves``): one training run and only what it computes -- the run config
(`RunConfig`), the data (`load_curve_set`, `split_sets`), the methods (`method_spec`), the initialisation
(`init_weights`) and the end-of-training statistics (`weight_statistics`). The run store's key hashes this module
alone: editing a plan, a claim, a table or a figure never invalidates stored runs."""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping
from typing import Annotated, Any, Literal, get_args

import torch
from pydantic import Field, model_validator

from study import checks, curves, penalties, results, runs, selection, train
from study import rvsm as rv
from study.models.curve_cnn import CurveCNN
from study.params import Declared, ResolvedDevice, parse, rule

Dataset = Literal["letters", "shapes"]
Split = Literal["val", "test"]
Optimizer = Literal["sgd", "adam"]
Init = Literal["torch", "glorot"]
Coupling = Literal["through", "outside"]
Normalize = Literal["none", "max", "unit", "rel", "max_comp"]
#: scales s of Table 3: fraction of dense weights with |w| / max|w| < s
SCALES = (1e-1, 1e-2, 1e-3, 1e-4, 1e-5)
EVAL_SPLITS: tuple[str, ...] = get_args(Split)
OPTIMIZERS: tuple[str, ...] = get_args(Optimizer)
INITS: tuple[str, ...] = get_args(Init)
assert get_args(Dataset) == curves.DATASETS and get_args(Coupling) == rv.COUPLINGS
assert set(get_args(Normalize)) == set(rv.NORMALIZATIONS)
#: The paper's open choices (issue 18) and their candidate readings. A reading changes one choice from the headline;
#: its runs carry the variant label ``"<choice>=<value>"`` (`study.claims.reading_key`). ``normalize`` lists the
#: candidates in the order the text supports them (`plan.choose_normalization`): "max" and "max_comp" rescale w by
#: max|w| after the step (the only normalisation the text names, Table 3 / Fig. 6), "rel" takes the threshold
#: relative to max|w| without rescaling w, "unit" rescales to ‖w‖₂ = 1 (Dinh & Xin's one-layer form), "none" leaves
#: w alone.
OPEN_CHOICES = {
    "normalize": ("max", "max_comp", "rel", "unit", "none"),
    "init": INITS,
    "optimizer": OPTIMIZERS,
    "weight_decay": None,  # any number in [0, 1] (0 here, 5e-4 in the authors' group's public code)
    "epochs": None,  # any integer >= 1 (§3: "after 10 epochs ... within 20 epochs")
}
#: ablations of the headline RVSM-l0 that are not readings of the text but parts of the authors' group's public code
#: (tdinh15/rvsm-rgsm-admm); "lam_val" (λ chosen on validation) is set by `plan.main_plan`
VARIANTS: dict[str, dict[str, Any]] = {
    "coupling_outside": {"coupling": "outside"},
    "epoch_end_H": {"epoch_end_hard": True},
    "public_code_parts": {"normalize": "none", "coupling": "outside", "epoch_end_hard": True, "nesterov": True},
}
#: keys of a config's ``data`` dict: `study.curves.CurveParams` fields we set, plus the generation ``seed``
DATA_KEYS = tuple(
    "image_size n_train n_test amplitude wavelength n_waves elastic_alpha elastic_sigma spacing seed".split()
)
METHODS_TEXT = "'rvsm_l0', 'rvsm_l1', 'rvsm_tl1_a<a>', 'sgd_tl1_a<a>', 'sgd_plain'"


def method_spec(method: str) -> tuple[str, str | None, float | None]:
    """(algorithm "rvsm" | "sgd", penalty "l0" | "l1" | "tl1" | None, TL1 parameter a or None) of a method name.

    Raises:
        ValueError: an unknown method name, or a TL1 a that is not a number > 0.
    """
    fixed = {"rvsm_l0": ("rvsm", "l0", None), "rvsm_l1": ("rvsm", "l1", None), "sgd_plain": ("sgd", None, None)}
    if method in fixed:
        return fixed[method]
    for algorithm in ("rvsm", "sgd"):
        prefix = f"{algorithm}_tl1_a"
        if isinstance(method, str) and method.startswith(prefix):
            try:
                a = float(method[len(prefix) :])
            except ValueError:
                a = float("nan")
            if not (math.isfinite(a) and a > 0):
                raise ValueError(f"method={method!r}: the TL1 parameter a must be a number > 0")
            return (algorithm, "tl1", a)
    raise ValueError(f"method={method!r} is not one of {METHODS_TEXT}")


def method_label(method: str, variant: str) -> str:
    """The frame's method name: ``method`` for a headline row, ``method|variant`` for a labelled variant."""
    return f"{method}|{variant}" if variant else method


@rule(METHODS_TEXT)
def _method(v: str) -> str:
    method_spec(v)
    return v


@rule(f"'' or one of {sorted(VARIANTS) + ['lam_val']} or '<choice>=<reading>' with a choice of {list(OPEN_CHOICES)}")
def _variant(v: str) -> str:
    if not (v in ("", "lam_val") or v in VARIANTS or ("=" in v and v.split("=", 1)[0] in OPEN_CHOICES)):
        raise ValueError("not a variant label")
    return v


@rule(f"a dict with exactly the keys {sorted(DATA_KEYS)}")
def _data(v: dict[str, Any]) -> dict[str, Any]:
    if set(v) != set(DATA_KEYS):
        raise ValueError(f"keys {sorted(v)}")
    return v


class RunConfig(Declared):
    """One run's config (a plain dict in the run store; `plan.run_config` builds it). ``eval_split`` "val" carves
    ``n_val`` training images (seed ``val_seed``, `study.selection.carve`) out as the evaluation set; "test" trains
    on the training split and evaluates on the test split. ``curves``: True evaluates both networks after every
    epoch (Fig. 4's curves, the schedule's epoch candidates), False after the last epoch alone."""

    dataset: Dataset
    data: Annotated[dict[str, Any], _data] = Field(description="the generator's parameters and seed (`DATA_KEYS`)")
    eval_split: Split
    n_val: int | None = Field(ge=1, description="an integer in [1, n_train - 1] for 'val', None for 'test'")
    val_seed: int | None = Field(ge=0, description="an integer for 'val', None for 'test'")
    method: Annotated[str, _method]
    algorithm: Literal["rvsm", "sgd"] = Field(description="the method's (`method_spec`)")
    penalty: Literal["l0", "l1", "tl1"] | None = Field(description="the method's (`method_spec`)")
    a: float | None = Field(gt=0, description="the method's TL1 parameter (`method_spec`)")
    lam: float | None = Field(ge=0, description="penalty weight λ (None for sgd_plain)")
    beta: float | None = Field(gt=0, description="RVSM coupling β (None for SGD methods)")
    variant: Annotated[str, _variant] = Field(description="a label; the settings themselves are the other keys")
    optimizer: Optimizer
    lr: float = Field(gt=0)
    momentum: float | None = Field(ge=0, lt=1, description="None for 'adam'")
    nesterov: bool = Field(description="False for 'adam'")
    warmup_steps: int = Field(ge=0, description="0 for 'adam'")
    clip: float | None = Field(gt=0, description="None for 'adam'")
    weight_decay: float = Field(ge=0, le=1)
    init: Init
    standardize: bool = Field(description="inputs scaled by the training images' mean and std")
    coupling: Coupling | None = Field(description="RVSM ('outside' with 'sgd' only); None for SGD methods")
    normalize: Normalize | None = Field(description="RVSM; None for SGD methods")
    epoch_end_hard: bool = Field(description="False for SGD methods")
    epochs: int = Field(ge=1, le=checks.CAPS["epochs"])
    batch_size: int = Field(ge=1, description="at most the training images")
    channels_last: bool
    seed: int = Field(ge=0, lt=2**63, description="initialisation and batch order")
    device: ResolvedDevice = Field(description="resolved device")
    curves: bool

    @model_validator(mode="after")
    def _relations(self) -> RunConfig:
        bad = checks.out_of_range
        for key, v in zip(("algorithm", "penalty", "a"), method_spec(self.method)):
            if getattr(self, key) != v:
                raise bad(key, getattr(self, key), f"{v!r} (the value of method {self.method!r})")
        n_train = self.data["n_train"]
        if self.eval_split == "val":
            if not (self.n_val is not None and checks.is_int(n_train) and self.n_val < n_train):
                raise bad("n_val", self.n_val, f"an integer in [1, n_train - 1 = {n_train - 1}] for eval_split 'val'")
            if self.val_seed is None:
                raise bad("val_seed", self.val_seed, "an integer >= 0 for eval_split 'val'")
        for key in ("n_val", "val_seed") if self.eval_split == "test" else ():
            if getattr(self, key) is not None:
                raise bad(key, getattr(self, key), "None for eval_split 'test'")
        if (self.lam is None) != (self.method == "sgd_plain"):
            raise bad("lam", self.lam, "None for method 'sgd_plain'" if self.lam is not None else "a number >= 0")
        is_rvsm = self.algorithm == "rvsm"
        for key in ("beta", "coupling", "normalize"):
            if (getattr(self, key) is None) == is_rvsm:
                raise bad(key, getattr(self, key), "a value for RVSM" if is_rvsm else "None for SGD methods")
        if self.coupling == "outside" and self.optimizer != "sgd":
            raise bad(
                "coupling", self.coupling, f"one of {rv.COUPLINGS} for RVSM ('outside' with optimizer 'sgd' only)"
            )
        if not is_rvsm and self.epoch_end_hard:
            raise bad("epoch_end_hard", self.epoch_end_hard, "False for SGD methods")
        if self.optimizer == "sgd" and self.momentum is None:
            raise bad("momentum", self.momentum, "a number in [0, 1) for optimizer 'sgd'")
        for key, want in (("momentum", None), ("nesterov", False), ("warmup_steps", 0), ("clip", None)):
            if self.optimizer == "adam" and getattr(self, key) != want:
                raise bad(key, getattr(self, key), f"{want!r} for optimizer 'adam'")
        n_images = (n_train - (self.n_val or 0)) if checks.is_int(n_train) else checks.CAPS["samples"]
        if self.batch_size > n_images:
            why = "the training images: a larger batch would silently be the whole set"
            raise bad("batch_size", self.batch_size, f"an integer in [1, {n_images}] ({why})")
        return self


# ------------------------------------------------------------------------------------------------------ the run
@runs.experiment("rvsm", chance=0.5)  # regular vs shaky, balanced
def run(config: dict[str, Any]) -> runs.Result:
    """One training run of Xue & Xin's curve CNN (§3) with one method on one data set:

    * ``rvsm_l0``, ``rvsm_l1``, ``rvsm_tl1_a<a>`` -- RVSM on the dense layer's weight (§2, `study.rvsm.fit_rvsm`):
      per mini-batch an SGD step on f(w) + (β/2)‖w − u‖², the normalisation of w, then u ← prox_{λP/β}(w)
      (eqs. 2.1-2.4);
    * ``sgd_tl1_a<a>`` -- the baseline of their Table 3: the same SGD on f(w) + λ Σ ρ_a(w) (no splitting), same λ;
    * ``sgd_plain`` -- the same SGD on f alone: the dense (non-sparse) baseline of Fig. 6 and of "sparse ≈ dense".

    Args:
        config: a plain dict with the fields of `RunConfig` (`plan.run_config` builds them).

    Returns:
        `runs.Result` with
        ``rows``: tidy frame (`study.results.COLUMNS`; study "02_rvsm_curves", dataset ``config["dataset"]``, model
        ``curve_cnn_<S>px``, method ``config["method"]`` or ``<method>|<variant>``, seed ``config["seed"]``): per
        epoch 0..E the evaluation split's "accuracy" of the network with w (fraction in [0, 1]) and "loss" (nats);
        per epoch its "accuracy_sparse" (RVSM: dense layer = u, epochs 1..E; SGD methods: a copy of "accuracy");
        both at epoch E alone when ``config["curves"]`` is False;
        per epoch 1..E train loss / objective, epoch_time_s (s), "sparsity" (fraction of exact zeros of u for RVSM,
        of w otherwise; split "-"), for RVSM "sparsity_w" and "max_abs_w"; at epoch E (split "-"):
        ``frac_w_below_<s>`` and ``frac_sparse_below_<s>`` for s in `SCALES`, ``sign_changes_conv<k>`` (count) and
        ``sign_change_frac_conv<k>`` (fraction) between initialisation and the end, ``cos_init_<layer>`` and
        ``lambda`` (penalised runs);
        ``artifacts``: ``{"dense_w": w, "dense_sparse": u (RVSM) or w}``, float32 CPU tensors (128, 32·(S/8)²).

    Raises:
        ValueError: a bad config (`RunConfig`: names the key, the value and what is accepted;
            `study.curves.CurveParams.validate`).
        FloatingPointError: the training objective became NaN or infinite.
    """
    c = parse(RunConfig, config)
    cs = load_curve_set(c.dataset, c.data)
    x_train, y_train, x_eval, y_eval = split_sets(cs, c.eval_split, c.n_val, c.val_seed)
    if c.standardize:  # one mean and std over the training images' pixels (never the evaluation images)
        mean, std = x_train.mean(), x_train.std().clamp_min(1e-6)
        x_train, x_eval = (x_train - mean) / std, (x_eval - mean) / std
    device = torch.device(c.device)
    algorithm, penalty, a = method_spec(c.method)
    train.seed_everything(c.seed)
    model = CurveCNN(c.data["image_size"])
    init_weights(model, c.init)
    conv0 = {k: conv.weight.detach().clone() for k, conv in model.conv_layers().items()}
    layers0 = {k: m.weight.detach().clone() for k, m in studied_layers(model).items()}
    g = torch.Generator().manual_seed(c.seed)
    model.to(device)
    opt: torch.optim.Optimizer
    if c.optimizer == "adam":
        opt = torch.optim.Adam(model.parameters(), lr=c.lr, weight_decay=c.weight_decay)
    else:
        sgd = dict(momentum=c.momentum, nesterov=c.nesterov, warmup_steps=c.warmup_steps, clip=c.clip)
        opt = rv.ScheduledSGD(model.parameters(), lr=c.lr, **sgd, weight_decay=c.weight_decay)  # type: ignore[arg-type]
    kw: dict[str, Any] = dict(epochs=c.epochs, batch_size=c.batch_size, lr=c.lr, optimizer=opt, generator=g)
    kw.update(device=device, channels_last=c.channels_last, eval_sets={c.eval_split: (x_eval, y_eval)})
    kw.update(eval_last_only=not c.curves, progress=False)
    if algorithm == "rvsm":
        rvsm_kw: dict[str, Any] = dict(
            penalty=penalty, lam=c.lam, beta=c.beta, a=a, coupling=c.coupling, normalize=c.normalize
        )
        rvsm_kw.update(next_layer=model.out, epoch_end_hard=c.epoch_end_hard)
        rows, state = rv.fit_rvsm(model, model.fc, x_train, y_train, **rvsm_kw, **kw)
        dense_sparse = state.u.detach().cpu()
    else:
        lam = c.lam
        hook = (lambda m_: penalties.tl1(m_.fc.weight, lam, a)) if penalty == "tl1" else None  # type: ignore[arg-type]  # tl1 sets a
        on_end = lambda m_, e: {"sparsity": rv.sparsity(m_.fc.weight.detach())}  # noqa: E731
        rows = train.fit(model, x_train, y_train, penalty=hook, on_epoch_end=on_end, **kw)
        dense_sparse = model.fc.weight.detach().cpu()
        rows += [{**r, "metric": "accuracy_sparse"} for r in rows if r["metric"] == "accuracy"]  # same network
    w = model.fc.weight.detach().cpu()
    final = weight_statistics(w, dense_sparse, conv0, {k: cv.weight.detach() for k, cv in model.conv_layers().items()})
    for k, m in studied_layers(model).items():  # issue 17: did the layer train? (scale-free: survives rescaling)
        final[f"cos_init_{k}"] = train.cos_init(layers0[k], m.weight.detach().cpu())
    if c.lam is not None:
        final["lambda"] = c.lam
    rows += [{"epoch": c.epochs, "split": "-", "metric": k, "value": float(v)} for k, v in final.items()]
    df = results.tidy(
        rows,
        study="02_rvsm_curves",
        dataset=c.dataset,
        model=f"curve_cnn_{c.data['image_size']}px",
        method=method_label(c.method, c.variant),
        seed=c.seed,
    )
    return runs.Result(rows=df, artifacts={"dense_w": w, "dense_sparse": dense_sparse})


def init_weights(model: torch.nn.Module, init: str) -> None:
    """Initialise the curve CNN in place: "torch" keeps PyTorch's default (weights U(±1/√fan_in), biases likewise);
    "glorot" draws every conv and dense weight Glorot-uniform, U(±√(6/(fan_in + fan_out))), with zero biases (the
    Keras default; Xue & Xin say only "randomly initialized with mean zero").

    Raises:
        ValueError: an unknown `init`.
    """
    if init not in INITS:
        raise ValueError(f"init={init!r} is out of range; accepted: one of {INITS}")
    if init == "glorot":
        for m in model.modules():
            if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear)):
                torch.nn.init.xavier_uniform_(m.weight)
                if m.bias is not None:
                    torch.nn.init.zeros_(m.bias)


def studied_layers(model: CurveCNN) -> dict[str, torch.nn.Linear | torch.nn.Conv2d]:
    """The layers whose movement from initialisation a run records (``cos_init_<name>``): dense (RVSM's), conv1-3."""
    return {"dense": model.fc, **model.conv_layers()}


def curve_params(dataset: str, data: Mapping[str, Any]) -> curves.CurveParams:
    """The `study.curves.CurveParams` of one data set from a config's ``data`` dict (`DATA_KEYS`; ``seed`` is not
    a generator parameter and is ignored here).

    Raises:
        ValueError: bad generator parameters (`study.curves.CurveParams.validate`).
    """
    return curves.CurveParams(
        dataset=dataset,
        image_size=int(data["image_size"]),
        n_train=int(data["n_train"]),
        n_test=int(data["n_test"]),
        amplitude=tuple(float(v) for v in data["amplitude"]),  # type: ignore[arg-type]  # (min, max): checked by CurveParams
        wavelength=tuple(float(v) for v in data["wavelength"]),  # type: ignore[arg-type]  # (min, max): as amplitude
        n_waves=int(data["n_waves"]),
        elastic_alpha=float(data["elastic_alpha"]),
        elastic_sigma=float(data["elastic_sigma"]),
        spacing=float(data["spacing"]),
    ).validate()


# generated sets, cached in this process too (the last four; the disk cache under data/curves/ is shared)
_generate_cached = functools.lru_cache(maxsize=4)(curves.generate)


def load_curve_set(dataset: str, data: Mapping[str, Any]) -> curves.CurveSet:
    """Generate, or load from ``study.curves.CACHE_DIR``, the data set a config describes (`curve_params`,
    seed ``data["seed"]``); also cached in this process. Shared with later callers: do not modify it in place.

    Safe to call from several processes at once (`study.curves.generate` writes its files whole).

    Raises:
        ValueError: bad generator parameters or seed.
    """
    return _generate_cached(curve_params(dataset, data), int(data["seed"]), cache_dir=curves.CACHE_DIR, progress=False)


def split_sets(
    cs: curves.CurveSet, eval_split: str, n_val: int | None, val_seed: int | None
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """(x_train, y_train, x_eval, y_eval): float32 images (N, 1, S, S) in {0, 1} and int64 labels (N,).

    "test": the whole training split and the test split. "val": `study.selection.carve` (seed `val_seed`) of the
    training split: its ``fit`` images train, its ``val`` images evaluate; the test split is not touched.

    Raises:
        ValueError: `eval_split` not "val"/"test", or `n_val` outside [1, n_train - 1] for "val".
    """
    x, y = cs.float("train")
    if eval_split == "test":
        return (x, y, *cs.float("test"))
    if eval_split != "val":
        raise ValueError(f"eval_split={eval_split!r} is not one of {EVAL_SPLITS}")
    if n_val is None or not 1 <= n_val < len(y):
        raise ValueError(f"n_val={n_val!r} must be in [1, {len(y) - 1}] (the training split has {len(y)} images)")
    split = selection.carve(len(y), int(n_val), seed=int(val_seed))  # type: ignore[arg-type]  # None refused by int()
    return x[split.fit], y[split.fit], x[split.val], y[split.val]


def weight_statistics(
    w: torch.Tensor,
    dense_sparse: torch.Tensor,
    conv_before: dict[str, torch.Tensor],
    conv_after: dict[str, torch.Tensor],
) -> dict[str, float]:
    """The end-of-training statistics of one run (Xue & Xin Table 3 and the sign-change remark of §3).

    Args:
        w: the dense weight (out, in); dense_sparse: the sparse dense layer (u for RVSM, else w), same shape.
        conv_before, conv_after: {"conv1": weight, ...} at initialisation and at the end.

    Returns:
        ``frac_w_below_<s>`` / ``frac_sparse_below_<s>``: fraction of entries with |·|/max|·| < s for s in `SCALES`
        (1 for an all-zero tensor: every weight is below any scale); ``sign_changes_<layer>`` (count) and
        ``sign_change_frac_<layer>`` (fraction of the layer's weights).
    """
    final: dict[str, float] = {}
    for name, t in (("w", w), ("sparse", dense_sparse)):
        all_zero = not t.abs().max() > 0
        fr = {s: 1.0 for s in SCALES} if all_zero else rv.normalized_magnitude_fractions(t, SCALES)
        for s in SCALES:
            final[f"frac_{name}_below_{s:g}"] = fr[s]
    for k, after in conv_after.items():
        n = rv.sign_changes(conv_before[k].cpu(), after.cpu())
        final[f"sign_changes_{k}"] = n
        final[f"sign_change_frac_{k}"] = n / after.numel()
    return final
