"""Tomasi, *Training Convolutional Neural Networks* (lecture notes, Duke, 2019; ``shared/papers/003_*.txt``): the
checks of notebook ``00_training_foundations``.

| module | holds |
| --- | --- |
| `run` | the five run functions (`simplex_run`, `momentum_run`, `minibatch_run`, `early_stopping_run`, `dropout_run`), their config models and what they compute: the only module the run store's key hashes |
| `params` | `Params`: the notebook's parameters, declared (types, bounds, relations) |
| `plan` | the plans: which run configs each section runs |
| `analysis` | `Findings`, `merge`; the cheap deterministic checks of §1-§4 computed in the notebook's process |
| `sweeps` | what each training sweep shows (§1, §5-§8): the claims' values and the choices made on validation |
| `claims` | `judge` (the notes' claims as `study.claims` rows), `deviations`, `ablations`, `metrics` |
| `figures` | the tables and figures of every section (``<section>_figures``) and `show` |

``from study.experiments import foundations as fx`` gives every public name of these modules.
"""

from .analysis import (
    BP_METRICS,
    BP_MODEL,
    CONVEX_MODELS,
    Findings,
    backprop_findings,
    by_config,
    convexity_findings,
    convexity_risks,
    entropy_findings,
    merge,
    over_seeds,
    seed_label,
)
from .claims import (
    CLAIM_QUANTITY,
    COMPROMISE,
    DROP_AGREE,
    DROP_MC,
    HEADLINE_METRICS,
    IDENTITIES,
    MOM,
    PAPER,
    ablations,
    deviations,
    judge,
    metrics,
)
from .params import BP_POOL, BP_SIDE, MNIST_TEST_SIZE, MNIST_TRAIN_PER_CLASS, RAREST, Params
from .plan import dropout_plan, early_stopping_plan, minibatch_plan, momentum_plan, run_seeds, simplex_plan
from .run import (
    D_IN,
    DATASET,
    DROPOUT_MC_IMAGES,
    DROPOUT_TEST_IMAGES,
    DROPOUT_VARIANTS,
    MC_NOTES,
    MC_TORCH,
    MOMENTUM_EVALS_PER_EPOCH,
    N_CLASSES,
    SIMPLEX_BATCH,
    SIMPLEX_HIDDEN,
    SIMPLEX_LR,
    SIMPLEX_MU,
    STUDY,
    DropoutConfig,
    EarlyStoppingConfig,
    MinibatchConfig,
    MomentumConfig,
    RunConfig,
    SimplexConfig,
    dropout_expectation,
    dropout_run,
    dropout_variant_name,
    early_stopping_run,
    minibatch_run,
    mnist,
    momentum_run,
    simplex_run,
    subset,
)
from .sweeps import (
    choose_on_validation,
    cross_entropy_findings,
    dropout_findings,
    early_stopping_findings,
    early_stopping_summary,
    final_train_risk,
    loss_crossing_bits,
    minibatch_findings,
    momentum_findings,
    simplex_findings,
    simplex_outputs,
)

#: the names of `figures`, imported on first use (PEP 562) so that importing `run` never imports matplotlib
_FIGURES = (
    "backprop_figures",
    "convexity_figures",
    "cross_entropy_figures",
    "dropout_figures",
    "early_stopping_figures",
    "entropy_figures",
    "minibatch_figures",
    "momentum_figures",
    "show",
    "Shown",
    "simplex_figures",
    "SIMPLEX_VERTICES",
)


def __getattr__(name: str) -> object:
    if name in _FIGURES:
        from . import figures

        return getattr(figures, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "ablations",
    "backprop_figures",
    "backprop_findings",
    "BP_METRICS",
    "BP_MODEL",
    "BP_POOL",
    "BP_SIDE",
    "by_config",
    "choose_on_validation",
    "CLAIM_QUANTITY",
    "COMPROMISE",
    "CONVEX_MODELS",
    "convexity_figures",
    "convexity_findings",
    "convexity_risks",
    "cross_entropy_figures",
    "cross_entropy_findings",
    "D_IN",
    "DATASET",
    "deviations",
    "DROP_AGREE",
    "DROP_MC",
    "dropout_expectation",
    "dropout_figures",
    "dropout_findings",
    "DROPOUT_MC_IMAGES",
    "dropout_plan",
    "dropout_run",
    "DROPOUT_TEST_IMAGES",
    "dropout_variant_name",
    "DROPOUT_VARIANTS",
    "DropoutConfig",
    "early_stopping_figures",
    "early_stopping_findings",
    "early_stopping_plan",
    "early_stopping_run",
    "early_stopping_summary",
    "EarlyStoppingConfig",
    "entropy_figures",
    "entropy_findings",
    "final_train_risk",
    "Findings",
    "HEADLINE_METRICS",
    "IDENTITIES",
    "judge",
    "loss_crossing_bits",
    "MC_NOTES",
    "MC_TORCH",
    "merge",
    "metrics",
    "minibatch_figures",
    "minibatch_findings",
    "minibatch_plan",
    "minibatch_run",
    "MinibatchConfig",
    "mnist",
    "MNIST_TEST_SIZE",
    "MNIST_TRAIN_PER_CLASS",
    "MOM",
    "MOMENTUM_EVALS_PER_EPOCH",
    "momentum_figures",
    "momentum_findings",
    "momentum_plan",
    "momentum_run",
    "MomentumConfig",
    "N_CLASSES",
    "over_seeds",
    "PAPER",
    "Params",
    "RAREST",
    "run_seeds",
    "RunConfig",
    "seed_label",
    "show",
    "Shown",
    "SIMPLEX_BATCH",
    "simplex_figures",
    "simplex_findings",
    "SIMPLEX_HIDDEN",
    "SIMPLEX_LR",
    "SIMPLEX_MU",
    "simplex_outputs",
    "simplex_plan",
    "simplex_run",
    "SIMPLEX_VERTICES",
    "SimplexConfig",
    "STUDY",
    "subset",
]
