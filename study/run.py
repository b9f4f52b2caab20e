"""The bookkeeping every notebook shares: seed, device, threads, output folder, wall time, and the artifacts.

A notebook starts with ``nb = Run.start("01_sl1_mnist", profile=profile, seed=seed, device=device, out_dir=out_dir,
executor=executor)``, runs its training runs through ``res = nb.sweep(experiment.run, configs)`` (`study.runs.sweep`
with the notebook's executor and store; the counts add up over the notebook's sweeps), and ends with
``nb.save(df, metrics=..., claims=..., params=..., deviations=...)``, which writes ``results.csv`` and
``headline.json`` (formats in `study.results`) with the environment record, the runs record
``{"total", "cached", "ran", "failed", "executor"}`` and the wall time since `start`.
"""

from __future__ import annotations

import ast
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
import torch

from . import checks, results, runs
from .train import pick_device, seed_everything, set_threads

if TYPE_CHECKING:
    from .runs import Sweep  # the field `runs` shadows the module in the class body

REPO_ROOT = Path(__file__).resolve().parent.parent
PROFILES = ("smoke", "default", "paper")
#: The first line of the cell papermill injects after a notebook's parameters cell (`papermill.translators`).
INJECTED_HEADER = "# Parameters"


def _assigned(source: str) -> list[str]:
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    return [t.id for node in tree.body if isinstance(node, ast.Assign) for t in node.targets if isinstance(t, ast.Name)]


def _ipython_inputs_and_namespace() -> tuple[list[str], dict[str, Any] | None]:
    try:
        from IPython import get_ipython
    except ImportError:
        return [], None
    ip = get_ipython()
    if ip is None:
        return [], None
    return list(ip.user_ns.get("In", [])), ip.user_ns


def _injected_cell(inputs: list[str]) -> int | None:
    """The index of the cell papermill injected (its first line is `INJECTED_HEADER`), or None."""
    return next((i for i, src in enumerate(inputs) if i > 0 and src.splitlines()[:1] == [INJECTED_HEADER]), None)


def check_injected_parameters(inputs: list[str] | None = None) -> None:
    """Refuse parameters that papermill passed but the notebook does not declare (papermill only logs them).

    `inputs` are the sources of the executed cells in order (default: IPython's ``In``). The cell papermill
    injects starts with the line ``# Parameters`` and follows the notebook's parameters cell; every name it assigns
    must be assigned there too. Outside papermill (no injected cell) nothing is checked.

    Raises:
        ValueError: names the unknown parameters and lists the accepted ones.
    """
    if inputs is None:
        inputs, _ = _ipython_inputs_and_namespace()
    i = _injected_cell(inputs)
    if i is not None:
        declared = set(_assigned(inputs[i - 1]))
        unknown = [n for n in _assigned(inputs[i]) if n not in declared]
        if unknown:
            raise ValueError(
                f"unknown notebook parameter(s) {unknown} (misspelt, or from another notebook); "
                f"accepted: {sorted(declared)}"
            )


def params_file(notebook: str, profile: str) -> Path:
    """``notebooks/params/<profile>/<notebook>.yaml``."""
    return REPO_ROOT / "notebooks" / "params" / profile / f"{notebook}.yaml"


def sync_profile(
    notebook: str, profile: str, *, inputs: list[str] | None = None, namespace: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Make a notebook's parameters those of `profile` (issue 19).

    Interactively (JupyterLab, *Run All*; no cell injected by papermill), the values of
    ``notebooks/params/<profile>/<notebook>.yaml`` are set in the notebook's namespace, so that setting
    ``profile = "default"`` in the parameters cell runs the default profile and reads its runs from the store. Under
    papermill (an injected ``# Parameters`` cell), every value the file sets must be the one the notebook runs with:
    a profile label that does not match its parameter file is refused.

    Returns:
        the parameters set (empty under papermill, outside IPython, or without a parameter file).

    Raises:
        ValueError: under papermill, a parameter whose value differs from the profile's file (names both).
    """
    import yaml

    if inputs is None or namespace is None:
        inputs, namespace = _ipython_inputs_and_namespace()
    path = params_file(notebook, profile)
    if namespace is None or not path.is_file():
        return {}
    values = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    if _injected_cell(inputs) is not None:
        bad = [k for k, v in values.items() if k in namespace and namespace[k] != v and k != "out_dir"]
        if bad:
            k = bad[0]
            raise ValueError(
                f"profile={profile!r}, but {k}={namespace[k]!r} is not the {values[k]!r} of "
                f"{path.relative_to(REPO_ROOT)} ({len(bad)} parameter(s) differ: {', '.join(bad[:6])}): "
                f"pass the profile's file with -f {path.relative_to(REPO_ROOT)}, or label the run "
                "with the profile whose values it uses"
            )
        return {}
    namespace.update(values)
    print(f"profile {profile}: {len(values)} parameters loaded from {path.relative_to(REPO_ROOT)}")
    return values


@dataclass
class Run:
    notebook: str
    profile: str
    seed: int
    device: torch.device
    out: Path
    generator: torch.Generator
    env: dict[str, Any]
    executor: str = "serial"
    timer: results.Timer = field(default_factory=results.Timer)
    runs: dict[str, Any] = field(
        default_factory=lambda: {"total": 0, "cached": 0, "ran": 0, "failed": 0, "diverged": 0}
    )
    diverged: list[dict[str, Any]] = field(default_factory=list)
    figures: list[dict[str, Any]] = field(default_factory=list)
    run_seconds: dict[str, float] = field(default_factory=lambda: {"cpu": 0.0, "cuda": 0.0})

    @classmethod
    def start(
        cls,
        notebook: str,
        *,
        profile: str,
        seed: int = 0,
        device: str = "auto",
        out_dir: str | Path | None = None,
        threads: int | None = None,
        executor: str = "serial",
    ) -> Run:
        """Seed everything from `seed`, pick the device, set threads, create the output folder.

        `out_dir` None -> ``reports/_lab/<notebook>`` (interactive runs never overwrite `make reproduce`'s output).
        `executor` runs the notebook's sweeps ("serial", "processes", "dask"; ``$STUDY_EXECUTOR`` overrides it).

        Interactively, the profile's parameter file is loaded into the notebook's namespace (`sync_profile`); under
        papermill, parameters that differ from the profile's file are refused.

        Raises:
            ValueError: a parameter injected by papermill that the notebook does not declare
                (`check_injected_parameters`); `profile` not one of smoke/default/paper, a parameter that is not the
                profile's (`sync_profile`), or a bad seed/device/executor.
        """
        check_injected_parameters()
        if profile not in PROFILES:
            raise ValueError(f"profile={profile!r} not in {PROFILES}")
        loaded = sync_profile(notebook, profile)
        seed = loaded.get("seed", seed)
        device = loaded.get("device", device)
        threads = loaded.get("threads", threads)
        executor = loaded.get("executor", executor)
        executor = runs.resolve_executor(executor)
        checks.seed_in({"seed": seed})  # run seeds derived from it (seed·1000 + s, seed + s) stay below 2**63
        results.watch_cells()  # so that figures record the cell that drew them
        gen = seed_everything(seed)
        dev = pick_device(device)
        set_threads(threads)
        out = Path(out_dir) if out_dir else REPO_ROOT / "reports" / "_lab" / notebook
        out.mkdir(parents=True, exist_ok=True)
        env = {**results.env_record(dev), "profile": profile, "seed": seed, "executor": executor}
        print(
            f"{notebook} | profile={profile} seed={seed} | "
            + ", ".join(f"{k}={v}" for k, v in env.items() if k not in ("profile", "seed"))
        )
        return cls(notebook, profile, seed, dev, out, gen, env, executor)

    def sweep(
        self,
        run_fn,
        configs,
        *,
        divergence_expected: bool = False,
        predicted: Callable[[dict[str, Any]], str | None] | None = None,
        **kw,
    ) -> Sweep:
        """`study.runs.sweep` with this notebook's executor; adds the sweep's counts to `runs` (see `save`).

        `divergence_expected`: the sweep explores settings where diverging is a possible finding (a learning-rate or
        λ grid); its diverged runs are recorded but withhold no verdict (see `save`).
        `predicted`: config -> the paper's sentence that predicts this run's collapse (e.g. Xue & Xin §3 on SGD with
        the TL1 loss at a = 0.01), or None. A diverged run it names is data for the claim that predicts it, never a
        reason to withhold a verdict.
        """
        res = runs.sweep(run_fn, configs, executor=self.executor, **kw)
        for k in ("total", "cached", "ran", "failed", "diverged"):
            self.runs[k] += res.counts[k]
        for m in res.meta:  # measured wall time of every run, cached or not (the compute this notebook rests on)
            if m is not None:
                kind = "cuda" if str(m.get("device", "cpu")).startswith("cuda") else "cpu"
                self.run_seconds[kind] += float(m.get("wall_s") or 0.0)
        ok = [r for r in res.results if r is not None]
        if divergence_expected and len(ok) >= 2 and len(res.diverged) == len(ok):  # a grid, all diverged
            grid = sorted(
                {
                    k
                    for d in res.diverged
                    for k, v in d["config"].items()
                    if len({json.dumps(x["config"].get(k), sort_keys=True) for x in res.diverged}) > 1
                }
            )
            raise runs.SweepError(
                f"{run_fn.experiment}: every one of the {len(ok)} runs of this grid diverged (over "
                f"{', '.join(grid) or 'its configs'}; first: {res.diverged[0]['run']}: {res.diverged[0]['reason']}): "
                "no candidate to choose from; widen the grid towards smaller steps"
            )
        for f in res.failures:  # a failed run (kept going with raise_on_failure=False) withholds its own claims too
            self.diverged.append(
                {
                    "experiment": run_fn.experiment,
                    "config": f["config"],
                    "run": runs.run_label(f["config"]),
                    "reason": "failed: " + f["error"].splitlines()[0],
                    "expected": bool(divergence_expected),
                    "predicted_by": "",
                }
            )
        for d in res.diverged:
            why = predicted(d["config"]) if predicted is not None else None
            self.diverged.append(
                {
                    "experiment": run_fn.experiment,
                    **d,
                    "expected": bool(divergence_expected or why),
                    "predicted_by": why or "",
                }
            )
        return res

    def withhold_verdicts(self, claims: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The claims, each made "inconclusive" with the reason when one of *its own* runs (``depends_on``) diverged
        unexpectedly (not in a sweep marked `divergence_expected`, not a collapse the paper predicts): no verdict
        comes from a diverged run (issue 17). Claims that do not depend on such a run keep their verdicts; "not
        tested" claims stay "not tested"."""
        bad = {d["run"]: d for d in self.diverged if not d["expected"]}
        if not bad:
            return claims
        out = []
        for c in claims:
            hit = [bad[r] for r in c.get("depends_on") or [] if r in bad]
            if not hit or c["verdict"] == "not tested":
                out.append(c)
                continue
            why = f"verdict withheld: {len(hit)} of its runs diverged, e.g. {hit[0]['run']}: {hit[0]['reason']}"
            out.append(
                {
                    **c,
                    "verdict": "inconclusive",
                    "withheld_by": [h["run"] for h in hit],
                    "note": (why + ". " + str(c.get("note") or "")).strip(),
                }
            )
        return out

    def figure(self, fig, name: str, *, caption: str, paper_ref: str = "") -> Path:
        """Save a figure as ``<out>/<name>.png`` (whole file) and record it for the report.

        `caption`: what is plotted, from which data and seeds; `paper_ref`: the paper's figure or table it
        corresponds to ("Fig. 3", "Table 1"), or "" for a figure of our own. The cell being executed is recorded
        (`study.results.current_cell`: its source digest), and the report links the figure to that cell.

        Raises:
            ValueError: an empty caption, or `name` used twice.
        """
        if not caption or not caption.strip():
            raise ValueError(f"figure {name!r}: caption must be a non-empty text (what, data, seeds)")
        if any(f["name"] == name for f in self.figures):
            raise ValueError(f"figure name {name!r} used twice in {self.notebook}")
        path = results.save_figure(fig, self.out / f"{name}.png")
        self.figures.append(
            {
                "name": name,
                "file": path.name,
                "caption": caption.strip(),
                "paper_ref": paper_ref,
                "cell": results.current_cell(),
            }
        )
        return path

    def save(
        self,
        df: pd.DataFrame,
        *,
        metrics: dict[str, dict[str, Any]],
        claims: list[dict[str, Any]],
        params: dict[str, Any] | None = None,
        deviations: list[dict[str, str]] | None = None,
        training_checks: list[dict[str, Any]] | None = None,
        readings: dict[str, Any] | None = None,
    ) -> float:
        """Write ``results.csv`` and ``headline.json``; returns the wall time in seconds since `start`.

        `training_checks`: `study.claims.training_check` rows; a headline reading that does not train its layer is
        refused (ValueError). `readings`: the experiment's declared open choices ``{choice: {"readings": [...],
        "headline": value, "why": text}}``, stored as written.

        Claims pass through `withhold_verdicts` first: a claim one of whose runs diverged unexpectedly is
        inconclusive; the others keep their verdicts.
        """
        bad_head = [t for t in training_checks or [] if t["headline"] and not t["trains"]]
        if bad_head:
            t = bad_head[0]
            raise ValueError(
                f"the headline reading {t['reading']!r} does not train layer {t['layer']!r}: 1 - cos "
                f"{t['moved']:.3g} against the baseline's {t['baseline']:.3g} (ratio {t['ratio']:.2f} < "
                "0.5); choose another headline reading"
            )
        claims = self.withhold_verdicts(claims)
        n_withheld = sum(bool(c.get("withheld_by")) for c in claims)
        if n_withheld:
            print(
                f"{sum(not d['expected'] for d in self.diverged)} unexpectedly diverged run(s): {n_withheld} of "
                f"{len(claims)} verdicts that depend on them withheld (inconclusive); see headline.json "
                "runs.diverged_runs"
            )
        results.write_results(df, self.out)
        wall = self.timer.s
        compute = {
            "wall_s": round(wall, 1),
            "peak_rss_mb": results.peak_rss_mb(),
            "run_cpu_s": round(self.run_seconds["cpu"], 1),
            "run_gpu_s": round(self.run_seconds["cuda"], 1),
            "device": self.env.get("device"),
            "threads": self.env.get("threads"),
            "executor": self.executor,
        }
        results.write_headline(
            self.out,
            notebook=self.notebook,
            profile=self.profile,
            wall_s=wall,
            env=self.env,
            runs={
                **self.runs,
                "executor": self.executor,
                "threads_per_run": runs.RUN_THREADS,
                "diverged_runs": self.diverged,
            },
            metrics=metrics,
            claims=claims,
            params=params,
            deviations=deviations,
            figures=self.figures,
            compute=compute,
            training_checks=training_checks,
            readings=readings,
        )
        print(f"wrote {self.out}/results.csv ({len(df)} rows) and headline.json; wall time {wall:.1f} s")
        return wall
