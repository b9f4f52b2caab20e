"""Notebook 00's parameters, declared once (`Params`): types, bounds, relations and what each one means. The notebook
parses its parameters cell with `study.params.parse(Params, ...)` before any data is loaded; the README's parameter
table and the YAML schema of the profiles come from the same declaration (``python -m study.params``)."""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal

from pydantic import Field, model_validator

from study.checks import CAPS, out_of_range
from study.params import Declared, Distinct

from .run import DROPOUT_TEST_IMAGES, N_CLASSES, SIMPLEX_BATCH

#: MNIST training images of each digit 0..9 and test images in all (the canonical files `study.data` checks): the
#: class-balanced subsets are drawn without replacement, so a per-class size may not exceed its digit's count.
MNIST_TRAIN_PER_CLASS = (5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949)
MNIST_TEST_SIZE = 10_000
RAREST = min(MNIST_TRAIN_PER_CLASS)  # digit 5
#: §3: Algorithm 1's samples are drawn from the first `BP_POOL` training images, average-pooled to `BP_SIDE` px,
#: and its CNN max-pools 2x2 after a valid convolution (so the kernel is at most BP_SIDE - 1).
BP_POOL, BP_SIDE = 20_000, 14


def _capped(kind: str, description: str, low: int = 1) -> Any:
    """An integer field in [low, `CAPS[kind]`] (the study's cap on `kind`, study.checks.CAPS)."""
    return Field(
        ge=low,
        le=CAPS[kind],
        description=description,
        json_schema_extra={"accepted": f"the study's cap on {kind}, study.checks.CAPS"},
    )


def _per_class(description: str, accepted: str, high: int = RAREST, low: int = 1) -> Any:
    """An integer field of images per digit in [low, `high`], its relation to other parameters in words."""
    return Field(ge=low, le=high, description=description, json_schema_extra={"accepted": accepted})


Positive = Annotated[float, Field(gt=0)]
Momentum = Field(ge=0, lt=1, description="constant momentum μ")
HELD_OUT = "with the lr_val_per_class validation images at most MNIST digit 5's 5421 training images"


class Params(Declared):
    """Every parameter of notebook 00 but the `study.run.Run.start` ones (profile, seed, device, out_dir,
    executor). Relations (`_relations`): per-class sizes within the rarest chosen digit's count (training and
    validation disjoint), batch sizes at most the training subset, ``bp_fd_samples`` <= ``bp_samples``,
    ``mb_batch_sizes`` increasing and ending at N."""

    threads: int | None = Field(
        ge=1, le=CAPS["threads"], description="torch threads of this process (None: $STUDY_THREADS, else every core)"
    )
    test_size: int = Field(
        ge=DROPOUT_TEST_IMAGES,
        le=MNIST_TEST_SIZE,
        description="MNIST test images used for test errors",
        json_schema_extra={"accepted": f"MNIST has {MNIST_TEST_SIZE} test images; §8 uses the first 500"},
    )
    # §1-§2: three digits
    simplex_classes: Annotated[list[Annotated[int, Field(ge=0, le=9)]], Distinct] = Field(
        min_length=3,
        max_length=3,
        description="the three digits of the soft-max simplex (and of the convexity check)",
        json_schema_extra={"accepted": "three distinct digits in 0..9"},
    )
    simplex_per_class: int = _per_class(
        "training images per digit of the simplex network",
        f"3 x simplex_per_class images fill at least one batch of {SIMPLEX_BATCH}; at most the training images of "
        "the rarest digit of simplex_classes",
        max(MNIST_TRAIN_PER_CLASS),
        math.ceil(SIMPLEX_BATCH / 3),
    )
    simplex_epochs: int = _capped("epochs", "epochs of the simplex network")
    convex_per_class: int = _per_class(
        "training images per digit of the convexity check (inputs average-pooled to 7x7)",
        "at most the training images of the rarest digit of simplex_classes",
        max(MNIST_TRAIN_PER_CLASS),
    )
    convex_points: int = _capped("samples", "random points at which the Hessian spectra are computed")
    # §3: back-propagation
    bp_samples: int = Field(
        ge=1,
        le=BP_POOL,
        description="MNIST images (average-pooled to 14x14) of the back-propagation check",
        json_schema_extra={"accepted": f"drawn from the first {BP_POOL} training images"},
    )
    bp_fd_samples: int = Field(
        ge=1,
        le=BP_POOL,
        description="the first bp_fd_samples of them, checked by central finite differences",
        json_schema_extra={"accepted": "<= bp_samples"},
    )
    bp_channels: int = _capped("width", "convolution maps of the back-propagation network")
    bp_kernel: int = Field(
        ge=1,
        le=BP_SIDE - 1,
        description="convolution kernel side",
        json_schema_extra={"accepted": f"a valid convolution of {BP_SIDE}x{BP_SIDE} inputs, then 2x2 pooling"},
    )
    bp_random_trials: int = _capped("repeats", "Gaussian inputs with fresh parameters (autograd check)", low=0)
    bp_fd_h: float = Field(gt=0, lt=1, description="central-difference step (float64: about the cube root of eps)")
    # §5-§6: the validation images that choose the learning rate, then momentum and learning rate
    lr_val_per_class: int = _per_class(
        "validation images per digit, held out of the MNIST training split",
        f"validation images per digit held out of the training split, besides >= 1 training image; MNIST digit 5 "
        f"has {RAREST}",
        RAREST - 1,
    )
    opt_per_class: int = _per_class("training images per digit (§5 momentum)", HELD_OUT, RAREST - 1)
    opt_hidden: int = _capped("width", "hidden units of the §5-§6 MLP")
    opt_batch: int = Field(
        ge=1, description="batch size (§5)", json_schema_extra={"accepted": "at most 10 x opt_per_class"}
    )
    opt_epochs: int = _capped("epochs", "epochs (§5)")
    lr_grid: Annotated[list[Positive], Distinct] = Field(
        min_length=2,
        description="learning rates (§5), chosen on validation",
        json_schema_extra={"accepted": "at least 2 (the claim compares the smallest and the largest)"},
    )
    mu_max: float = Field(ge=0, lt=1, description="cap of the Sutskever momentum schedule")
    # §6: mini-batches
    mb_per_class: int = _per_class("training images per digit (§6 mini-batches)", HELD_OUT, RAREST - 1)
    mb_batch_sizes: list[Annotated[int, Field(ge=1)] | Literal["full"]] = Field(
        min_length=3,
        description="batch sizes: online, mini-batch(es), batch",
        json_schema_extra={
            "accepted": "at least 3 increasing batch sizes (online, mini-batch(es), batch) ending at N = "
            "10 x mb_per_class or 'full'"
        },
    )
    mb_lrs: Annotated[list[Positive], Distinct] = Field(min_length=1, description="learning rates (§6)")
    mb_epochs: int = _capped("epochs", "epochs (§6)")
    # §7: early termination
    es_per_class: int = _per_class(
        "training images per digit (§7 early termination)",
        f"with es_val_per_class >= 1 disjoint images; MNIST digit 5 has {RAREST} training images",
        RAREST - 1,
    )
    es_val_per_class: int = _per_class(
        "validation images per digit (§7)", "drawn from the training images not in the es_per_class subset", RAREST - 1
    )
    es_hidden: int = _capped("width", "hidden units (§7)")
    es_epochs: int = _capped("epochs", "epochs (§7)")
    es_lr: Positive = Field(description="learning rate (§7)")
    es_batch: int = Field(
        ge=1, description="batch size (§7)", json_schema_extra={"accepted": "at most 10 x es_per_class"}
    )
    es_momentum: float = Momentum
    es_label_noise: Annotated[list[Annotated[float, Field(ge=0, lt=1)]], Distinct] = Field(
        min_length=1, description="fractions of training labels replaced by a random wrong one"
    )
    # §8: dropout
    do_per_class: int = _per_class(
        "training images per digit (§8 dropout)", f"MNIST digit 5 has {RAREST} training images"
    )
    do_hidden: list[Annotated[int, Field(ge=1, le=CAPS["width"])]] = Field(
        min_length=1, description="hidden widths (§8)"
    )
    do_epochs: int = _capped("epochs", "epochs (§8)")
    do_lr: Positive = Field(description="learning rate (§8)")
    do_batch: int = Field(
        ge=1, description="batch size (§8)", json_schema_extra={"accepted": "at most 10 x do_per_class"}
    )
    do_momentum: float = Momentum
    do_p: float = Field(
        gt=0,
        lt=1,
        description="keep probability of the hidden units",
        json_schema_extra={
            "accepted": "keep probability; 1 would make the dropout variants the network without dropout"
        },
    )
    do_input_p: float | None = Field(
        gt=0, le=1, description="keep probability of the input units (Srivastava et al.); None: no input dropout"
    )
    do_mc_samples: int = _capped("samples", "dropout masks of the expectation check")
    n_seeds: int = _capped("seeds", "seeds of every section (seed * 1000 + s)")

    @model_validator(mode="after")
    def _relations(self) -> Params:
        """The bounds that depend on other parameters, in the notebook's order."""
        most = min(MNIST_TRAIN_PER_CLASS[d] for d in self.simplex_classes)
        rarest_of = f"MNIST has {most} training images of the rarest digit of {self.simplex_classes}"
        low = math.ceil(SIMPLEX_BATCH / 3)
        batch = f"3 x simplex_per_class images fill at least one batch of {SIMPLEX_BATCH}; {rarest_of}"
        _within("simplex_per_class", self.simplex_per_class, low, most, batch)
        _within("convex_per_class", self.convex_per_class, 1, most, rarest_of)
        _within("bp_fd_samples", self.bp_fd_samples, 1, self.bp_samples, "the first bp_fd_samples of the bp_samples")
        left = RAREST - self.lr_val_per_class
        held = f"MNIST digit 5 has {RAREST} training images, lr_val_per_class={self.lr_val_per_class} of them held out"
        _within("opt_per_class", self.opt_per_class, 1, left, held + " for validation")
        n = N_CLASSES * self.opt_per_class
        _within("opt_batch", self.opt_batch, 1, n, f"at most the {n} training images, 10 x opt_per_class")
        _within("mb_per_class", self.mb_per_class, 1, left, held + " for validation")
        n = N_CLASSES * self.mb_per_class
        sizes = [n if b == "full" else b for b in self.mb_batch_sizes]
        if not (all(b <= n for b in sizes) and all(a < b for a, b in zip(sizes, sizes[1:])) and sizes[-1] == n):
            raise out_of_range(
                "mb_batch_sizes",
                self.mb_batch_sizes,
                f"at least 3 increasing batch sizes in [1, {n}] (online, mini-batch(es), batch) ending at {n} or "
                "'full' (N = 10 x mb_per_class)",
            )
        es_left = RAREST - self.es_per_class
        not_in = f"drawn from the training images not in the es_per_class={self.es_per_class} subset"
        _within("es_val_per_class", self.es_val_per_class, 1, es_left, f"{not_in}; MNIST digit 5 has {RAREST}")
        n = N_CLASSES * self.es_per_class
        _within("es_batch", self.es_batch, 1, n, f"at most the {n} training images, 10 x es_per_class")
        n = N_CLASSES * self.do_per_class
        _within("do_batch", self.do_batch, 1, n, f"at most the {n} training images, 10 x do_per_class")
        return self


def _within(name: str, value: int, low: int, high: int, why: str) -> None:
    """Refuse `value` outside [low, high] (bounds that depend on other parameters), naming the relation `why`."""
    if not low <= value <= high:
        raise out_of_range(name, value, f"an integer in [{low}, {high}] ({why})")
