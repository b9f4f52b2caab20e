"""Xue & Xin (notebook ``02_rvsm_curves``): the notebook's parameters, declared once (`Params`), and the paper's open
choices with their readings (`READING_TYPES`, `READING_TEXT`, `READING_WHY`) and the ablations (`VARIANT_TEXT`)."""

from __future__ import annotations

from typing import Annotated, Any, Literal, get_args

from pydantic import Field, TypeAdapter, ValidationError, model_validator

from study import checks
from study.experiments.rvsm.run import (
    OPEN_CHOICES,
    VARIANTS,
    Coupling,
    Dataset,
    Init,
    Normalize,
    Optimizer,
)
from study.params import Declared, Distinct, rule

#: the optimiser of every headline row (Xue & Xin §2: "In the actual training, SGD ... will be implemented")
HEADLINE_OPTIMIZER = "sgd"
#: the TL1 parameters a of Table 3, compared (RVSM vs SGD-TL1) by `figures.table_3` and `claims`: ``tl1_a`` runs both
TABLE3_A = (0.01, 100.0)
Variant = Literal["coupling_outside", "epoch_end_H", "public_code_parts"]
assert set(get_args(Variant)) == set(VARIANTS)
#: per open choice (`run.OPEN_CHOICES`) the declared type of its list of readings (``readings`` parameter)
READING_TYPES: dict[str, Any] = {
    "normalize": Annotated[list[Normalize], Field(min_length=1), Distinct],
    "init": Annotated[list[Init], Distinct],
    "optimizer": Annotated[list[Optimizer], Distinct],
    "weight_decay": Annotated[list[Annotated[float, Field(ge=0, le=1)]], Distinct],
    "epochs": Annotated[list[Annotated[int, Field(ge=1, le=checks.CAPS["epochs"])]], Distinct],
}
READING_ACCEPTED = {
    "normalize": f"distinct names of {OPEN_CHOICES['normalize']}",
    "init": f"distinct names of {OPEN_CHOICES['init']}",
    "optimizer": f"distinct names of {OPEN_CHOICES['optimizer']}",
    "weight_decay": "distinct numbers in [0, 1]",
    "epochs": f"distinct integers in [1, {checks.CAPS['epochs']}]",
}
_ADAPTERS = {ch: TypeAdapter(t) for ch, t in READING_TYPES.items()}
READING_TEXT = {
    "normalize=max": "max|w| = 1 after every step, inverse scale into the output layer (raw step × s²)",
    "normalize=max_comp": "max|w| = 1 after every step with the learning rate compensated (raw step unchanged)",
    "normalize=rel": "threshold × max|w|, w never rescaled",
    "normalize=unit": "‖w‖₂ = 1 after every step (raw step × s²)",
    "normalize=none": "no normalisation: the threshold in the weights' own units",
    "init=torch": "PyTorch's default initialisation U(±1/√fan_in)",
    "init=glorot": "Glorot-uniform weights, zero biases (Keras' default)",
    "optimizer=sgd": "SGD with momentum (the text's 'SGD')",
    "optimizer=adam": "Adam, lr adam_lr",
}
#: why each headline reading, written before any test run (the notebook's selection rules)
READING_WHY = {
    "normalize": "the text says only 'gradient descent followed by a normalization' (§2); the headline is the first "
    "candidate, in the order the text supports them (max|w| rescaling as the tables display it; the "
    "same with the raw step kept; a threshold relative to max|w|; ‖w‖₂; none), whose validation runs of "
    "RVSM-l0 and -l1 move the dense layer at least half as far as the dense baseline (1 − cos), end "
    "more than 1 pp away from the initial weights' share under the threshold and keep the sparse "
    "accuracy within 5 pp of the baseline's; if none passes all three, the first that trains without a "
    "collapse (rvsm.choose_normalization)",
    "init": "'randomly initialized with mean zero' gives no scale; PyTorch's default is what the framework does unasked",
    "optimizer": "'In the actual training, SGD ... will be implemented' (§2)",
    "weight_decay": "the text has none (the authors' group's public code uses 5e-4 on CIFAR-10 ResNets)",
    "epochs": "not given; 10 epochs is the default profile's budget ('in most of the cases … after 10 epochs', §3, is "
    "about accuracy); 20 is 'within 20 epochs' (Fig. 4)",
}
VARIANT_TEXT = {
    "": "headline reading",
    "coupling_outside": "coupling as a plain step outside momentum (public code)",
    "epoch_end_H": "w ← u at every epoch end (public code)",
    "public_code_parts": "three parts of the public code's loop (no normalisation, Nesterov, coupling outside, "
    "w ← H(w) per epoch) with OUR lr, epochs, λ, β and no weight decay — not the public code's "
    "settings (lr 0.1 step decay, wd 5e-4, 200 epochs, λ = 1e-6, β = 1e-2, ResNets/CIFAR-10)",
    "lam_val": "λ chosen on the validation split (lam_grid), else headline",
}


def check_readings(readings: dict[str, Any]) -> dict[str, list[Any]]:
    """The ``readings`` parameter, each choice's list validated by its declared type (`READING_TYPES`) and
    normalised (floats for weight_decay, ints for epochs).

    Raises:
        ValueError: an unknown choice, no "normalize" candidates, or a bad or repeated reading (names the choice,
            the value and what is accepted).
    """
    unknown = sorted(set(readings) - set(OPEN_CHOICES))
    if unknown:
        raise ValueError(f"unknown: {unknown}")
    if not readings.get("normalize"):
        raise ValueError("a non-empty 'normalize' list: the headline is chosen from it, `plan.choose_normalization`")
    out: dict[str, list[Any]] = {}
    for choice, values in readings.items():
        try:
            out[choice] = _ADAPTERS[choice].validate_python(values, strict=True)
        except ValidationError:
            raise ValueError(f"readings[{choice!r}]={values!r}: {READING_ACCEPTED[choice]}") from None
    return out


_readings = rule(f"choices of {list(OPEN_CHOICES)} to lists of distinct readings, a non-empty 'normalize' list")(
    check_readings
)


@rule("[min, max] with 0 < min <= max")
def _min_max(v: list[float]) -> list[float]:
    if len(v) != 2 or v[0] > v[1]:
        raise ValueError("not [min, max]")
    return v


@rule(f"distinct as method names (:g), smallest {TABLE3_A[0]:g} and largest {TABLE3_A[1]:g}: Table 3 compares these")
def _tl1_a(v: list[float]) -> list[float]:
    if not v or len({f"{x:g}" for x in v}) != len(v) or min(v) != TABLE3_A[0] or max(v) != TABLE3_A[1]:
        raise ValueError("not Table 3's range")
    return v


def _cap(kind: str, low: int, what: str, more: str = "", **bounds: Any) -> Any:
    """An integer field in [low, `study.checks.CAPS`[kind]], the cap named in what is accepted (with `more`)."""
    cap = f"the upper bound is the study's cap on {kind} (study.checks.CAPS)"
    return Field(ge=low, le=checks.CAPS[kind], description=what, json_schema_extra={"accepted": more + cap}, **bounds)


def _accepts(text: str, what: str, **bounds: Any) -> Any:
    return Field(**bounds, description=what, json_schema_extra={"accepted": text})


_Positive = Annotated[float, Field(gt=0)]
_Fraction = Annotated[float, Field(ge=0, le=1)]
_Range = Annotated[list[_Positive], _min_max]
_EVEN = "even (balanced classes); "
_N_VAL = "at most n_train // 2 - 1 (carved out of n_train: the rest then holds more images than one class has)"


class Params(Declared):
    """The parameters of notebook ``02_rvsm_curves`` (its parameters cell minus profile, seed, device, out_dir and
    executor, which `study.run.Run.start` checks). Lengths of the tremor in units of the glyph size (letters) or image
    side (shapes), image_size in pixels. Relations: ``tune_dataset`` one of ``datasets``; ``n_val`` below half of
    ``n_train``; ``batch_grid`` at most n_train − n_val; ``bench_batch`` at most ``n_train``.

    Raises (`study.params.parse`):
        ValueError: unknown or missing names, or the first bad value (names the parameter, the value and what is
            accepted).
    """

    image_size: int = _cap("pixels", 8, "side of the images (px)", "a multiple of 8 (3 poolings); ", multiple_of=8)
    n_train: int = _cap("samples", 4, "training images", _EVEN, multiple_of=2)
    n_test: int = _cap("samples", 4, "test images", _EVEN, multiple_of=2)
    letters_amplitude: _Range = Field(description="letters: tremor amplitude [min, max]")
    letters_wavelength: _Range = Field(description="letters: tremor wavelength [min, max]")
    shapes_amplitude: _Range = Field(description="shapes: tremor amplitude [min, max]")
    shapes_wavelength: _Range = Field(description="shapes: tremor wavelength [min, max]")
    n_waves: int = _cap("waves", 1, "sine components of the tremor")
    elastic_alpha: float = Field(ge=0, description="elastic distortion strength (pixels)")
    elastic_sigma: float = Field(gt=0, description="elastic distortion smoothness (pixels)")
    datasets: Annotated[list[Dataset], Field(min_length=1), Distinct] = Field(description="data sets run")
    lr_grid: Annotated[list[_Positive], Field(min_length=1), Distinct] = Field(description="SGD learning rates")
    batch_grid: Annotated[list[Annotated[int, Field(ge=1)]], Field(min_length=1), Distinct] = _accepts(
        "at most n_train - n_val", "batch sizes"
    )
    epochs_grid: Annotated[
        list[Annotated[int, Field(ge=1, le=checks.CAPS["epochs"])]], Field(min_length=1), Distinct
    ] = Field(description="epoch counts (read from the same runs' epoch rows)")
    momentum: float = Field(ge=0, lt=1, description="SGD momentum")
    nesterov: bool = Field(description="Nesterov momentum")
    warmup_steps: int = _cap("steps", 0, "linear learning-rate warm-up over the first steps")
    clip: _Positive | None = Field(description="gradient-norm clipping (None: off)")
    standardize: bool = Field(description="inputs scaled by the training images' mean and std")
    adam_lr: _Positive = Field(description="the Adam reading only")
    weight_decay: float = Field(ge=0, le=1, description="headline L2 coefficient: the text has none")
    init: Init = Field(description="headline initialisation: PyTorch default or Glorot-uniform")
    lam: float = Field(ge=0, description="RVSM penalty weight λ (paper: 5e-4)")
    beta: _Positive = Field(description="RVSM coupling β (paper: 0.1)")
    readings: Annotated[dict[str, list[Any]], _readings] = Field(
        description="open choices and readings run; normalize: candidates in text order"
    )
    coupling: Coupling = Field(description="β(w − u) through the optimiser's momentum, or 'outside' (public code)")
    epoch_end_hard: bool = Field(description="w ← u at every epoch end (public code)")
    tune_dataset: Dataset = _accepts("one of datasets", "data set of the validation stages")
    n_val: int = _accepts(_N_VAL, "training images carved out as the validation split", ge=1)
    lam_grid: Annotated[list[Annotated[float, Field(ge=0)]], Distinct] = _accepts(
        "may be empty: no λ-on-validation variant", "λ candidates of the λ-on-validation variant"
    )
    val_tolerance: _Fraction = Field(description="admissible: sparse validation accuracy within this of w's own")
    tl1_a: Annotated[list[_Positive], _tl1_a] = Field(description="TL1 parameters a of Tables 1-3")
    n_seeds: int = _cap("seeds", 1, "seeds of every main-stage row")
    ablations: Annotated[list[Variant], Distinct] = Field(description="parts of the public code (not readings)")
    channels_last: bool = Field(description="channels_last memory layout")
    bench_steps: int = _cap("steps", 1, "timed steps of the throughput benchmark")
    bench_batch: int = _accepts("at most n_train", "batch of the throughput benchmark", ge=1)
    si_sparsities: Annotated[list[_Fraction], Field(min_length=1), Distinct] = Field(
        description="sparsities of the CSR break-even sweep (random matrices)"
    )

    @model_validator(mode="after")
    def _relations(self) -> Params:
        bad = checks.out_of_range
        if self.tune_dataset not in self.datasets:
            raise bad("tune_dataset", self.tune_dataset, f"one of {tuple(self.datasets)}")
        high = self.n_train // 2 - 1
        if self.n_val > high:
            why = "carved out of n_train: the rest then holds more images than one class has, so both classes train"
            raise bad("n_val", self.n_val, f"an integer in [1, {high}] ({why})")
        n_fit = self.n_train - self.n_val
        if max(self.batch_grid) > n_fit:
            raise bad("batch_grid", self.batch_grid, f"a list of integers in [1, n_train - n_val = {n_fit}]")
        if self.bench_batch > self.n_train:
            why = "at most n_train: the benchmark times the first bench_batch training images"
            raise bad("bench_batch", self.bench_batch, f"an integer in [1, {self.n_train}] ({why})")
        return self

    @property
    def rvsm_methods(self) -> list[str]:
        """RVSM rows of Tables 1-2: l0, TL1 for each a of ``tl1_a``, l1."""
        return ["rvsm_l0"] + [f"rvsm_tl1_a{fmt_a(a)}" for a in self.tl1_a] + ["rvsm_l1"]

    @property
    def sgd_methods(self) -> list[str]:
        """SGD-TL1 at the smallest and largest a (Table 3) and the dense baseline ``sgd_plain``."""
        return [f"sgd_tl1_a{fmt_a(a)}" for a in (min(self.tl1_a), max(self.tl1_a))] + ["sgd_plain"]

    @property
    def methods(self) -> list[str]:
        return self.rvsm_methods + self.sgd_methods

    def headline(self) -> dict[str, Any]:
        """The parameters as written to headline.json, with ``optimizer`` = "sgd" (every headline row; Adam only in
        the "optimizer=adam" reading)."""
        return {"optimizer": HEADLINE_OPTIMIZER, **self.model_dump()}


def fmt_a(a: float) -> str:
    """The TL1 parameter as it appears in method names: 0.01, 0.1, 1, 100."""
    return f"{a:g}"


#: Where a profile departs from the paper or the paper is silent: (setting, paper, ours, why, effect) templates that
#: `claims.deviations` fills (``str.format``: ``p`` the parameters, ``s`` the chosen schedule, ``rd_<choice>`` the
#: readings that test a choice, ``row_<ablation>`` the ablation rows, and the values it computes).
DEVIATIONS = (
    (
        "data",
        "Parkinson's font (dafont) letters and shaky planar shapes, 5,000/1,000 binary images",
        "synthetic: DejaVu glyph outlines (13 faces) and random triangles/quadrangles with our normal-direction "
        "tremor, {p.n_train}/{p.n_test} images",
        "the font cannot be downloaded here",
        "absolute accuracies may differ; no reading can test it (no copy of the paper's data)",
    ),
    (
        "image size",
        'not stated; the dense layer has "about 700,000" weights',
        "{p.image_size} px (dense layer {dense:,} weights); 104 px (692,224 weights) is OUR inference from the "
        "dense layer's size, run by the paper profile",
        "{size_why}",
        "{size_effect}",
    ),
    (
        "training images",
        "5,000",
        "{p.n_train} (of which {p.n_val} carved out for the validation stages)",
        "2-core CPU budget: the default profile's 02 must fit 18 min with its readings",
        "fewer images may lower accuracy; not tested by a reading",
    ),
    (
        "λ, β",
        "table headers lost; first row of Tables 1-2 reads λ = 0.0005, β = 0.1",
        "λ = {p.lam:g}, β = {p.beta:g} for every penalty (headline) and for SGD-TL1",
        "inferred: the other order gives an l0 threshold √(2·0.1/0.0005) = 20 that would zero every weight; the "
        "cells look merged over the TL1 rows",
        "per-row λ may have differed; tested by the 'lam_val' variant rows (λ chosen on validation from "
        "{p.lam_grid}: {lam_val})",
    ),
    (
        "normalization after the w step",
        '"gradient descent followed by a normalization" (§2); the form is not given. |w|/max|w| appears only as a '
        "display convention (Table 3 'normalized weights', Fig. 6 'normalized for better viewing')",
        "headline normalize = {normalize!r} ({norm_text}), chosen on validation by the rule stated in the notebook "
        "before any test run, from {p.readings[normalize]}",
        "max|w| rescaling as written shrinks the raw step by max|w|² (≈ 1/fan_in) and freezes the dense layer "
        "(issue 18); the rule takes the first candidate, in the order the text supports them, that trains the "
        "layer, moves its sparsity off the initial share and keeps the sparse network's accuracy",
        "decides the sparsity verdicts; {rd_normalize}",
    ),
    (
        "initialisation",
        '"randomly initialized with mean zero" (distribution and scale not given)',
        "headline init = {p.init!r} (PyTorch's default U(±1/√fan_in): bound {torch_bound:.4f} on the dense layer "
        "here; Glorot-uniform, Keras' default, would give {glorot_bound:.4f})",
        "the text does not say; PyTorch's default is what our framework does unasked",
        "the scale decides which weights start under an absolute threshold; {rd_init}",
    ),
    (
        "optimiser of the w step",
        '"SGD ... will be implemented" (momentum not mentioned)',
        "SGD, momentum {p.momentum:g}, Nesterov {p.nesterov}, warm-up {p.warmup_steps} steps, clip {p.clip}",
        "SGD with momentum is the usual implementation; the authors' group's public code uses Nesterov 0.9",
        "{rd_optimizer} (Adam lr {p.adam_lr:g}, not the paper's optimiser)",
    ),
    (
        "weight decay",
        "not given",
        "{p.weight_decay:g}",
        "the text has none; the authors' group's public code (tdinh15/rvsm-rgsm-admm, ResNets on CIFAR-10) uses 5e-4",
        "{rd_weight_decay}",
    ),
    (
        "learning rate, batch size, epochs",
        'not given ("in most of the cases … after 10 epochs … within 20 epochs … some models achieve a sparsity of '
        'around … eventually", §3)',
        "lr {s[lr]:g}, batch {s[batch_size]}, {s[epochs]} epochs, chosen on {p.n_val} validation images of "
        "{p.tune_dataset} from lr {p.lr_grid} × batch {p.batch_grid} × epochs {p.epochs_grid} by the dense "
        "baseline's accuracy",
        "the paper does not give them; §3 does not say the tables are read after 10 epochs (only that most models "
        "reach their accuracy by then), so 10 epochs is our budget, not the paper's protocol; the lr grid stops at "
        "0.003 (at 0.01 SGD diverged in a trial run)",
        "Fig. 4's 20-epoch claim is not tested below 20 epochs; {rd_epochs}",
    ),
    (
        "the public code's loop",
        "not in the paper",
        "'public_code_parts': no normalisation, Nesterov, coupling outside momentum, w ← H(w) per epoch, with OUR lr "
        "{s[lr]:g}, {s[epochs]} epochs, no weight decay and the paper's λ, β",
        "the authors' group's public code (ResNets on CIFAR-10) uses lr 0.1 with step decay, weight decay 5e-4, 200 "
        "epochs, λ = 1e-6, β = 1e-2: only the loop's structure is copied, not its settings",
        "{row_public_code_parts}, {row_coupling_outside}, {row_epoch_end_H}",
    ),
    (
        "input scaling",
        "binary images (scaling not given)",
        "{scaling}",
        "SGD + momentum on raw 0/1 images fell back to chance after a few epochs (issue 11); a schedule fix, not a "
        "method change",
        "none expected on sparsity; no reading (the raw-input collapse is a training failure, not a reading of the "
        "method)",
    ),
    ("seeds", "not given", "{p.n_seeds} seeds for every row", "a verdict needs n >= 3", "none"),
    (
        "when sparsity is read",
        "\"after 10 epochs\" for accuracy in most cases; sparsity 'eventually' (§3)",
        "at the last of {s[epochs]} epochs; sparsity claims are 'not tested' below {sparsity_epochs}",
        "sparsity still grows over the first epochs (issue 11: 16 → 64 % over 10 epochs at TL1 a = 100)",
        "a longer run may be sparser; {rd_epochs}",
    ),
    (
        "Table 3 data set",
        'not named ("As shown in Table 4"; it follows the letters table)',
        "judged on letters only; shapes' fractions are in the tables and figures",
        "the paper gives one Table 3",
        "none on letters; shapes get no Table 3 verdict",
    ),
    (
        "sign changes",
        '"more weights changed signs" in conv1 (count or fraction not said)',
        "fraction of each layer's weights whose sign differs from initialisation",
        "conv1 has 9·C weights, conv2/conv3 9·C² (a count would favour the larger layers)",
        "a count could reverse the ordering; no reading (the fraction is the only size-fair reading)",
    ),
    (
        "Table 3 SGD rows",
        "four numbers for five scales in the extracted text",
        "read as scales 1e-1..1e-4; the 1e-5 cell left out",
        "text extraction",
        "only the 1e-5 claims are missing",
    ),
)
