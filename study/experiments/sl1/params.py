"""Yang et al. (notebook ``01_sl1_mnist``): the notebook's parameters, declared once (`Params`), the paper's open
choices with their readings (`READINGS`), and where the chosen setting and the profile depart from the paper or the
paper is silent (`lambda_edges`, `deviations`)."""

from __future__ import annotations

from types import MappingProxyType
from typing import Annotated, Any

from pydantic import Field, model_validator

from study import checks, train
from study import claims as claims_mod
from study.experiments.sl1.run import (
    HEADLINE_MOMENTUM,
    MNIST_TEST,
    MNIST_TRAIN,
    N_FIT,
    N_VAL,
    PENALISED,
    Activation,
    Loss,
    Method,
    Schedule,
)
from study.params import Declared, Decreasing, Distinct, rule


@rule("distinct also as printed with :g")
def _distinct_printed(v: list[float]) -> list[float]:
    Distinct.func(v)
    if len({f"{x:g}" for x in v}) != len(v):
        raise ValueError("equal as printed with :g")
    return v


Numbers = Annotated[list[Annotated[float, Field(ge=0)]], _distinct_printed]
#: the λ grid parameter of each penalised method
LAM_GRID = {"sl1": "lams_sl1", "group_l1": "lams_group_l1", "l2": "lams_l2"}
STRONGEST_FIRST = (
    "non-empty when its method is in methods; the selection rule takes the first λ of the grid within the accuracy "
    "tolerance of the best"
)


def _seeds(what: str) -> Any:
    return Field(ge=1, le=checks.CAPS["seeds"], description=what)


def _epochs(what: str, low: int = 1) -> Any:
    return Field(ge=low, le=checks.CAPS["epochs"], description=what)


def _subset(size: int, what: str, description: str) -> Any:
    return Field(
        ge=1, le=size, description=description, json_schema_extra={"accepted": f"None for all {size:,} ({what})"}
    )


def _lams(method: str) -> Any:
    return Field(
        description=f"stage 2 grid: λ of {method}, strongest first", json_schema_extra={"accepted": STRONGEST_FIRST}
    )


class Params(Declared):
    """The parameters of notebook ``01_sl1_mnist`` (its parameters cell minus profile, seed, device, out_dir and
    executor, which `study.run.Run.start` checks). Relations: a method's λ grid (and SL1's α grid) non-empty when the
    method is compared; ``batch_size`` at most the smaller training pool; the α sweep and α readings empty or holding
    0, and then with "sl1" among the methods; the momentum readings hold the headline "ramp_to"; ``momentum_final``
    above ``momentum``.

    Raises (`study.params.parse`):
        ValueError: unknown or missing names, or the first bad value (names the parameter, the value and what is
            accepted).
    """

    n_seeds: int = _seeds("final runs: seeds seed, seed+1, ... per method")
    epochs: int = _epochs("final runs: epochs")
    batch_size: int = Field(
        ge=1,
        description="mini-batch size",
        json_schema_extra={"accepted": "at most the training images: the smaller of train_subset and tune_subset"},
    )
    momentum: float = Field(ge=0, lt=1, description="Yang et al. §3(2)")
    momentum_ramp_epochs: int = _epochs("ramp from momentum/ramp to momentum over the first epochs", low=0)
    loss: Loss = Field(description="'entropy_error' (eq. 4) or 'cross_entropy'")
    methods: Annotated[list[Method], Field(min_length=1), Distinct] = Field(description="the compared penalties")
    prune_threshold: float = Field(ge=0, description="input node k counts as pruned when ‖u_k‖ is below this")
    train_subset: int | None = _subset(MNIST_TRAIN, "MNIST's training split", "final runs: training images")
    test_subset: int | None = _subset(MNIST_TEST, "MNIST's test split", "final runs: test images")
    tune_seeds: int = _seeds("candidate runs (stages 1-2): seeds per setting")
    tune_epochs: int = _epochs("candidate runs: epochs")
    tune_subset: int | None = _subset(N_FIT, "the fit part of MNIST train", "candidates and α sweep: fit images")
    val_subset: int | None = _subset(N_VAL, "the validation part of MNIST train", "candidates and α sweep: val images")
    activations: Annotated[list[Activation], Field(min_length=1), Distinct] = Field(
        description="stage 1 grid: Table 1 says ReLU, the text sigmoid"
    )
    lrs: Annotated[list[Annotated[float, Field(gt=0)]], Field(min_length=1), _distinct_printed] = Field(
        description="stage 1 grid: learning rates"
    )
    lams_sl1: Annotated[Numbers, Decreasing] = _lams("SL1, eq. (7)")
    alphas: Annotated[list[Annotated[float, Field(gt=0)]], _distinct_printed] = Field(
        description="stage 2 grid: α of SL1, eq. (5)",
        json_schema_extra={"accepted": "SL1's α > 0, eq. 5; non-empty when 'sl1' is in methods"},
    )
    lams_group_l1: Annotated[Numbers, Decreasing] = _lams("group L1")
    lams_l2: Annotated[Numbers, Decreasing] = _lams("L2")
    sweep_alphas: Numbers = Field(
        description="stage 4: α values (must hold 0; the chosen α is added)",
        json_schema_extra={"accepted": "empty (no α sweep) or holding 0 (group L1), then with 'sl1' in methods"},
    )
    sweep_lams: Numbers = Field(description="stage 4: λ values besides the chosen one")
    sweep_seeds: int = _seeds("stage 4: seeds per setting")
    sweep_epochs: int = _epochs("stage 4: epochs")
    reading_alphas: Numbers = Field(
        description="final runs: α readings (must hold 0; the chosen α is the headline)",
        json_schema_extra={"accepted": "empty (no α readings) or holding 0 (group L1), then with 'sl1' in methods"},
    )
    momentum_readings: Annotated[list[Schedule], Field(min_length=1), Distinct] = Field(
        description="the two readings of §3(2); ramp_to is the headline",
        json_schema_extra={"accepted": f"holds the headline {HEADLINE_MOMENTUM!r}"},
    )
    momentum_final: float = Field(
        gt=0,
        lt=1,
        description="where the ramp_from reading ends (the paper gives no value)",
        json_schema_extra={"accepted": "above momentum"},
    )

    @model_validator(mode="after")
    def _relations(self) -> Params:
        bad = checks.out_of_range
        n_train = min(self.train_subset or MNIST_TRAIN, self.tune_subset or N_FIT)
        if self.batch_size > n_train:
            why = "at most the training images: the smaller of train_subset and tune_subset; None counts as all"
            raise bad("batch_size", self.batch_size, f"an integer in [1, {n_train}] ({why})")
        for m, name in (*LAM_GRID.items(), ("sl1", "alphas")):
            if m in self.methods and not getattr(self, name):
                raise bad(name, getattr(self, name), f"a non-empty list (non-empty: {m!r} is in methods)")
        for name in ("sweep_alphas", "reading_alphas"):
            v = getattr(self, name)
            if v and 0.0 not in v:
                raise bad(name, v, "an empty list or one that holds 0 (the non-smooth limit, group L1)")
            if v and "sl1" not in self.methods:
                raise bad(name, v, f"an empty list unless methods include 'sl1' (methods={self.methods})")
        if HEADLINE_MOMENTUM not in self.momentum_readings:
            accepted = f"a list that holds the headline reading {HEADLINE_MOMENTUM!r}"
            raise bad("momentum_readings", self.momentum_readings, accepted)
        if not self.momentum < self.momentum_final:
            raise bad("momentum_final", self.momentum_final, f"a number in (momentum={self.momentum:g}, 1)")
        return self


# ------------------------------------------------------------------------------- readings: the open choices
#: The paper's open choices that change what a final run computes (issue 17), each with its candidate readings, the
#: rule that picks the headline reading (written before the test split is touched; then `study.claims
#: .training_check`: a reading that does not train the fc layer cannot be the headline), and the text's evidence.
#: ``"error_function"`` changes no run, only which training curve Fig. 3's claims read.
READINGS = MappingProxyType(
    {
        "alpha": MappingProxyType(
            {
                "readings": "reading_alphas (0 = group L1, the non-smooth limit) and the chosen α",
                "headline": "the α chosen on validation (stage 2, with λ: the strongest penalty within 1 pp of the best "
                "validation accuracy after pruning, among candidates that train the fc layer)",
                "why": "eq. 5 needs α > 0 and the paper gives no value; α = 0 is not the paper's method and is never the "
                "headline; larger α turns the penalty into a group ridge below α",
            }
        ),
        "activation": MappingProxyType(
            {
                "readings": "activations ('sigmoid': the §2(1) text; 'relu': eq. 3 and both rows of Table 1), each at its "
                "own validation-chosen learning rate",
                "headline": "the activation whose unpenalised network has the best validation accuracy (stage 1)",
                "why": "the text contradicts itself (sigmoid once in the prose, ReLU in eq. 3 and twice in Table 1): the "
                "text cannot decide, the validation split does",
            }
        ),
        "momentum": MappingProxyType(
            {
                "readings": "'ramp_to' (the momentum is 0.2, ramped up to it over the first R epochs) and 'ramp_from' "
                "(it starts at 0.2 and is increased to momentum_final over the first R epochs)",
                "headline": "ramp_to",
                "why": "§3(2) says 'a momentum parameter set to 0.2' and then 'in the initial 20 iterations, we gradually "
                "increase the momentum value': the parameter's value is 0.2, so the increase is a warm-up towards "
                "it; the other reading needs an end value the paper never gives (we take 0.9, the usual one)",
            }
        ),
        "error_function": MappingProxyType(
            {
                "readings": "'data_term' (entropy error, eq. 4) and 'objective' (eq. 7: with each method's own penalty)",
                "headline": "data_term",
                "why": "Fig. 3 compares 'the error functions of different algorithms'; the data term is the one quantity "
                "all methods share, so it is the headline; eq. 7's error function adds each method's own penalty",
            }
        ),
    }
)
HEADLINE_ERROR_FUNCTION = "data_term"
ERROR_FUNCTIONS = {"data_term": "loss", "objective": "objective"}  # reading -> the training-curve metric


# ----------------------------------------------------------------------- the chosen setting against the paper
def lambda_edges(p: Params, chosen: dict[str, Any]) -> dict[str, str]:
    """Where each penalised method's chosen λ lies in its grid: "inside" (the grid extends past it on both
    sides), "largest of the grid" or "smallest of the grid" (a choice at an edge: a wider grid might choose
    otherwise; the notebook and the headline params report it), or "only value"."""
    out: dict[str, str] = {}
    for m, name in LAM_GRID.items():
        lam, grid = chosen["lam"].get(m), getattr(p, name)
        if m not in p.methods or lam is None:
            continue
        edge = "largest of the grid" if lam == max(grid) else "smallest of the grid" if lam == min(grid) else "inside"
        out[m] = "only value" if len(grid) == 1 else edge
    return out


def momentum_reached(momentum: float, ramp_epochs: int, epochs: int) -> float:
    """The momentum a run of `epochs` epochs reaches under `study.train.momentum_ramp` (target, ramp)."""
    return train.momentum_values(train.momentum_ramp(momentum, ramp_epochs), epochs)[-1]


def deviations(p: Params, chosen: dict[str, Any], *, n_train: int, n_test: int) -> list[dict[str, str]]:
    """Where this profile departs from the paper, or the paper is silent, as `study.claims.deviation` rows
    (setting, paper, ours, why, effect).

    Args:
        p: the checked parameters; chosen: `plan.choose_penalties`' result;
        n_train / n_test: images the final runs trained / were tested on.
    """
    lam, alpha = chosen["lam"], chosen.get("alpha")
    picked = ", ".join(
        [f"activation {chosen['activation']}", f"lr {chosen['lr']:g}"]
        + [f"λ_{m} {lam[m]:g}" for m in PENALISED if lam.get(m) is not None]
        + ([f"α {alpha:g}"] if alpha is not None else [])
    )
    tune_n, val_n = p.tune_subset or N_FIT, p.val_subset or N_VAL
    runs_ = (("final", p.epochs), ("candidate", p.tune_epochs), ("α-sweep", p.sweep_epochs))
    reached = {e: momentum_reached(p.momentum, p.momentum_ramp_epochs, e) for _, e in runs_}
    short = [f"{k} runs ({e} epochs) reach {reached[e]:g}" for k, e in runs_ if reached[e] < p.momentum - 1e-12]
    edges = {m: e for m, e in lambda_edges(p, chosen).items() if e != "inside"}
    edge_text = (
        "; λ chosen at the edge of its grid: "
        + ", ".join(f"{m} ({e})" for m, e in edges.items())
        + " -- a wider grid might choose otherwise"
        if edges
        else "; every chosen λ lies inside its grid"
    )
    ramp_from = "ramp_from" in p.momentum_readings
    swept_alphas = sorted(set(p.sweep_alphas) | ({alpha} if alpha is not None else set()))
    swept_lams = sorted(set(p.sweep_lams) | {lam.get("sl1") or 0.0})
    rows = [
        (
            "learning rate, λ, α, activation",
            "not given (activation: sigmoid in the §2(1) text, ReLU in eq. 3 and Table 1)",
            f"chosen on validation (MNIST train's last 10,000 images) by selection.RULE: {picked}",
            "the paper gives none of them; earlier sessions fixed λ = 1e-3, α = 0.05, lr = 0.1 and ReLU after "
            "looking at test accuracy (a test-split leak): those values are replaced by these validation-chosen ones",
            "any verdict can depend on them; the tuning tables show every candidate; α and the activation are "
            "readings (every claim judged under each)" + edge_text,
        ),
        (
            "tuning schedule",
            "not given (no tuning described)",
            f"candidates: {p.tune_epochs} epoch(s) on {tune_n:,} fit images, {p.tune_seeds} seed(s), scored on "
            f"{val_n:,} validation images (stage 1: accuracy of the unpenalised net; stage 2: accuracy after "
            f"pruning); final runs retrain on {n_train:,} training images for {p.epochs} epochs",
            "2-core CPU budget of the profile",
            "a short schedule can favour another lr or λ than the final one would, and the penalty acts over fewer "
            "steps in a candidate than in a final run (final runs prune more); the paper profile tunes on all "
            "50,000 fit images for longer; no ablation in this profile",
        ),
        (
            "epochs",
            "not given",
            f"{p.epochs} (final runs), {p.tune_epochs} (candidates), {p.sweep_epochs} (α sweep)",
            "2-core CPU budget; the paper profile trains 50",
            "Fig. 3's claims are read after epoch 1 and at the last epoch; a longer schedule could reorder the "
            "final training errors",
        ),
        (
            "momentum schedule",
            "0.2, 'gradually increased' over 'the initial 20 iterations' (unit not stated)",
            f"headline reading 'ramp_to': {p.momentum:g}, linear per epoch from {p.momentum:g}/R to "
            f"{p.momentum:g} over the first R = {p.momentum_ramp_epochs} epochs"
            + (f"; {', '.join(short)}" if short else "")
            + (
                f"; reading 'ramp_from' (final runs): from {p.momentum:g} at epoch 1 to {p.momentum_final:g} at epoch "
                "R + 1"
                if ramp_from
                else ""
            ),
            "'iterations' read as epochs; the ramp shortened with the schedule; 'set to 0.2' read as the value the "
            "ramp reaches (the end value of the other reading is not given: 0.9 is the usual one)",
            "every claim is judged under both readings (claims table: readings, robustness)"
            if ramp_from
            else "not varied in this profile",
        ),
        (
            "batch size",
            "not given",
            f"{p.batch_size}, fixed (not tuned)",
            "2-core CPU budget",
            "it interacts with the learning rate, which is tuned on validation; not ablated",
        ),
        (
            "comparison methods",
            "'other algorithms', not named",
            "no penalty; group L1 (non-smooth, by subgradient); L2 on the fully connected weights; each penalty at "
            "its own validation-chosen λ",
            "group L1 is what SL1 smooths, L2 the usual weight penalty",
            "the ordering claims depend on the compared methods; group L1 is also α = 0 of the α sweep",
        ),
        (
            "penalty per example",
            "eq. 7: the error summed over the J examples + λ Σ_j Σ_k h(u_k · x^j)",
            "mean entropy error over each mini-batch + λ Σ_k h(u_k, α)",
            "eq. 7's penalty is summed over the J examples too, so per example it is λ Σ_k h: the same balance; "
            "h(u_k · x^j) read as h(u_k, α), which eq. 5 defines",
            "none on the method; λ values are per example and per mini-batch step",
        ),
        (
            "Fig. 3 quantity",
            "'error function' curves per algorithm (axis not readable in our copy)",
            "headline reading: the data term (entropy error, eq. 4) per example, mean over each epoch's mini-batches, "
            "no penalty; reading 'objective': eq. 7's error function, data term + each method's own penalty",
            "all methods compared on the same quantity",
            "Fig. 3's two claims are judged under both readings (readings error_function=…)",
        ),
        (
            "α sweep",
            "α > 0 (eq. 5); no α or λ given, no sweep",
            "α = 0 (group L1 by subgradient, 0 at u = 0) added; α in "
            + ", ".join(f"{a:g}" for a in swept_alphas)
            + " at λ = "
            + ", ".join(f"{x:g}" for x in swept_lams)
            + " (the chosen λ and a larger one), on the "
            "validation runs",
            "issue 11: what smoothing changes needs the non-smooth limit; smoothing acts only on columns with "
            "‖u_k‖ < α, which a small λ may never produce",
            "analysis only: it decides the smoothness claim, no other verdict",
        ),
        (
            "input scaling",
            "not given",
            "standardised with mean 0.1307, std 0.3081",
            "usual MNIST practice",
            "small; not ablated",
        ),
        (
            "pruning threshold",
            "'nodes approaching zero', no threshold",
            f"‖u_k‖ < {p.prune_threshold:g}, checked by zeroing those columns and evaluating again",
            "a count needs a threshold",
            "the pruned-node counts depend on it; the group-norm histogram shows the counts at any threshold",
        ),
        (
            "architecture details",
            "text: 'zero-padding' to keep the size; Table 1: padding 0, 28→24→12→8→4, rows '16×1' and '192×1 fully "
            "connected'",
            "Table 1's sizes: padding 0, flatten 4×4×12 = 192 → fully connected 10",
            "Table 1's sizes are self-consistent (192 = 4·4·12)",
            "none expected",
        ),
    ]
    if p.loss != "entropy_error":
        rows.append(("loss", "entropy error (eq. 4)", p.loss, "profile setting", "changes the method"))
    if n_train != MNIST_TRAIN or n_test != MNIST_TEST:
        rows.append(
            (
                "data size",
                "60,000 training / 10,000 test images",
                f"{n_train:,} training / {n_test:,} test images (random subsets)",
                "profile budget",
                "smaller data: lower accuracy, noisier verdicts",
            )
        )
    return [claims_mod.deviation(*r) for r in rows]
