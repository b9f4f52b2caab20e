"""Yang et al., *Entropy Error-based Convolutional Neural Network Sparse Optimization and Application*
(``shared/papers/000_*.txt``; other extraction ``001_*.txt``): the experiments of notebook ``01_sl1_mnist``.

One *run* (`run.run`) trains the LeNet-style CNN of their Table 1 (`study.models.LeNetSL1`) on MNIST with the entropy
error (eq. 4) plus one penalty on the fully connected weights -- none, SL1 (eqs. 5-7; α = 0 is its non-smooth limit,
group L1), group L1 or L2 -- by SGD with the momentum ramp of their §3(2), then counts the input nodes k of the fully
connected layer whose outgoing weight vector u_k has ‖u_k‖ below a threshold ("pruned") and measures the accuracy
after zeroing them. A run is evaluated on exactly one split, named in its config:

* ``split="val"`` (candidate and analysis runs): trains on the *fit* part of MNIST train and evaluates on its last
  10,000 images (`tuning_split`, `study.selection.carve`); the test images are never loaded;
* ``split="test"`` (final runs): trains on all 60,000 training images and evaluates on the 10,000 test images.

The notebook runs four *stages* (`plan`); each later one depends on the choices of the earlier ones (one sweep each):

1. ``tune_base``    -- unpenalised network, activation × learning rate grid, on val: `choose_base`;
2. ``tune_penalty`` -- at that activation and lr, each penalty's λ grid (SL1: λ × α), on val: `choose_penalties`;
3. ``final``        -- every method at its chosen setting × ``n_seeds`` seeds, on test (the only test rows), under
   the headline reading of the paper's open choices (`READINGS`: α, activation, momentum schedule) and under each
   other reading, one choice changed at a time (`reading_plan`); every claim is judged under every reading
   (`claims.judge`, `study.claims.across_readings`) and names its runs (``depends_on``);
4. ``alpha_sweep``  -- SL1 for each α of ``sweep_alphas`` (including 0 and the chosen α) at the chosen λ and at
   each λ of ``sweep_lams`` × ``sweep_seeds`` seeds, on val: what smoothing changes (an analysis, not a choice).

Every run records ``cos_init_fc`` (cosine of the fc layer's final and initial weights, issue 17): a reading whose
SL1 runs move that layer less than half as far as the unpenalised runs' does not train it (`training_checks`), and
such a candidate is never chosen (`choose_penalties`).

Modules: `run` (the run function and only what it computes: the run store's key hashes it alone), `params` (the
declared parameters `Params`, the readings, the deviations), `plan` (stages and choices), `claims` (claims, checks,
metrics), `figures` (tables and plots). Choices use `study.selection.choose` (rule `study.selection.RULE`), which
refuses test rows.
"""

from study.experiments.sl1.claims import (
    FIG3,
    GENERALISATION,
    PAPER,
    SMOOTHING,
    judge,
    judge_reading,
    metrics,
    readings_record,
    sweep_label,
    training_checks,
)
from study.experiments.sl1.figures import (
    alpha_table,
    epoch_tv,
    equal_lambda_ablation,
    final_table,
    group_norm_frame,
    plot_alpha_sweep,
    plot_fig3,
    plot_penalty,
    reading_frames,
    reading_rows,
    sub_sweep,
    tune_label,
)
from study.experiments.sl1.params import (
    ERROR_FUNCTIONS,
    HEADLINE_ERROR_FUNCTION,
    LAM_GRID,
    READINGS,
    Params,
    deviations,
    lambda_edges,
    momentum_reached,
)
from study.experiments.sl1.plan import (
    STAGES,
    alpha_sweep_stage,
    base_by_activation,
    base_grid,
    choose_base,
    choose_penalties,
    config_rows,
    final_stage,
    headline_keys,
    penalty_grids,
    plan_configs,
    reading_alphas,
    reading_configs,
    reading_plan,
    select,
    sweep_alphas,
    sweep_lambdas,
    tune_base_stage,
    tune_penalty_stage,
)
from study.experiments.sl1.run import (
    HEADLINE_MOMENTUM,
    LAYER,
    MNIST_TEST,
    MNIST_TRAIN,
    MOMENTUM_SCHEDULES,
    N_FIT,
    N_INPUT_NODES,
    N_VAL,
    PENALISED,
    SPLITS,
    TRAIN_EVAL,
    RunConfig,
    mnist_tensors,
    momentum_schedule,
    penalty_hook,
    run,
    total_variation,
    tuning_split,
)

__all__ = [
    "FIG3",
    "GENERALISATION",
    "PAPER",
    "SMOOTHING",
    "judge",
    "judge_reading",
    "metrics",
    "readings_record",
    "sweep_label",
    "training_checks",
    "alpha_table",
    "epoch_tv",
    "equal_lambda_ablation",
    "final_table",
    "group_norm_frame",
    "plot_alpha_sweep",
    "plot_fig3",
    "plot_penalty",
    "reading_frames",
    "reading_rows",
    "sub_sweep",
    "tune_label",
    "ERROR_FUNCTIONS",
    "HEADLINE_ERROR_FUNCTION",
    "LAM_GRID",
    "READINGS",
    "Params",
    "deviations",
    "lambda_edges",
    "momentum_reached",
    "alpha_sweep_stage",
    "base_by_activation",
    "base_grid",
    "choose_base",
    "choose_penalties",
    "config_rows",
    "final_stage",
    "headline_keys",
    "penalty_grids",
    "plan_configs",
    "reading_alphas",
    "reading_configs",
    "reading_plan",
    "select",
    "sweep_alphas",
    "sweep_lambdas",
    "tune_base_stage",
    "tune_penalty_stage",
    "HEADLINE_MOMENTUM",
    "LAYER",
    "MNIST_TEST",
    "MNIST_TRAIN",
    "MOMENTUM_SCHEDULES",
    "N_FIT",
    "N_INPUT_NODES",
    "N_VAL",
    "PENALISED",
    "SPLITS",
    "STAGES",
    "TRAIN_EVAL",
    "RunConfig",
    "mnist_tensors",
    "momentum_schedule",
    "penalty_hook",
    "run",
    "total_variation",
    "tuning_split",
]
