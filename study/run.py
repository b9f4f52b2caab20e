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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import torch

from . import results, runs
from .train import pick_device, seed_everything, set_threads

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


def check_injected_parameters(inputs: list[str] | None = None) -> None:
    """Refuse parameters that papermill passed but the notebook does not declare (papermill only logs them).

    `inputs` are the sources of the executed cells in order (default: IPython's ``In``). The cell papermill
    injects starts with the line ``# Parameters`` and follows the notebook's parameters cell; every name it assigns
    must be assigned there too. Outside papermill (no injected cell) nothing is checked.

    Raises:
        ValueError: names the unknown parameters and lists the accepted ones.
    """
    if inputs is None:
        try:
            from IPython import get_ipython
        except ImportError:
            return
        ip = get_ipython()
        inputs = list(ip.user_ns.get("In", [])) if ip is not None else []
    for i, src in enumerate(inputs):
        if i > 0 and src.splitlines()[:1] == [INJECTED_HEADER]:
            declared = set(_assigned(inputs[i - 1]))
            unknown = [n for n in _assigned(src) if n not in declared]
            if unknown:
                raise ValueError(f"unknown notebook parameter(s) {unknown} (misspelt, or from another notebook); "
                                 f"accepted: {sorted(declared)}")


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
    runs: dict[str, Any] = field(default_factory=lambda: {"total": 0, "cached": 0, "ran": 0, "failed": 0,
                                                          "diverged": 0})
    diverged: list[dict[str, Any]] = field(default_factory=list)

    @classmethod
    def start(cls, notebook: str, *, profile: str, seed: int = 0, device: str = "auto",
              out_dir: str | Path | None = None, threads: int | None = None,
              executor: str = "serial") -> "Run":
        """Seed everything from `seed`, pick the device, set threads, create the output folder.

        `out_dir` None -> ``reports/_lab/<notebook>`` (interactive runs never overwrite `make reproduce`'s output).
        `executor` runs the notebook's sweeps ("serial", "processes", "dask"; ``$STUDY_EXECUTOR`` overrides it).

        Raises:
            ValueError: a parameter injected by papermill that the notebook does not declare
                (`check_injected_parameters`); `profile` not one of smoke/default/paper, or a bad
                seed/device/executor.
        """
        check_injected_parameters()
        if profile not in PROFILES:
            raise ValueError(f"profile={profile!r} not in {PROFILES}")
        executor = runs.resolve_executor(executor)
        gen = seed_everything(seed)
        dev = pick_device(device)
        set_threads(threads)
        out = Path(out_dir) if out_dir else REPO_ROOT / "reports" / "_lab" / notebook
        out.mkdir(parents=True, exist_ok=True)
        env = {**results.env_record(dev), "profile": profile, "seed": seed, "executor": executor}
        print(f"{notebook} | profile={profile} seed={seed} | " + ", ".join(f"{k}={v}" for k, v in env.items()
                                                                            if k not in ("profile", "seed")))
        return cls(notebook, profile, seed, dev, out, gen, env, executor)

    def sweep(self, run_fn, configs, *, divergence_expected: bool = False, **kw) -> runs.Sweep:
        """`study.runs.sweep` with this notebook's executor; adds the sweep's counts to `runs` (see `save`).

        `divergence_expected`: the sweep explores settings where diverging is a possible finding (a learning-rate or
        λ grid); its diverged runs are recorded but do not withhold the notebook's verdicts (see `save`).
        """
        res = runs.sweep(run_fn, configs, executor=self.executor, **kw)
        for k in ("total", "cached", "ran", "failed", "diverged"):
            self.runs[k] += res.counts[k]
        self.diverged += [{"experiment": run_fn.experiment, **d, "expected": divergence_expected}
                          for d in res.diverged]
        return res

    def withhold_verdicts(self, claims: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The claims, each made "inconclusive" with the reason when a run this notebook relies on diverged (a run
        of a sweep not marked `divergence_expected`): no verdict comes from a diverged run (issue 12)."""
        bad = [d for d in self.diverged if not d["expected"]]
        if not bad:
            return claims
        why = (f"verdict withheld: {len(bad)} training run(s) diverged, e.g. {bad[0]['experiment']} "
               f"{bad[0]['config']}: {bad[0]['reason']}")
        return [{**c, "verdict": "inconclusive", "note": (why + ". " + str(c.get("note") or "")).strip()}
                for c in claims]

    def figure(self, fig, name: str) -> Path:
        """Save a figure as ``<out>/<name>.png`` (whole file)."""
        return results.save_figure(fig, self.out / f"{name}.png")

    def save(self, df: pd.DataFrame, *, metrics: dict[str, dict[str, Any]], claims: list[dict[str, Any]],
             params: dict[str, Any] | None = None, deviations: list[str] | None = None) -> float:
        """Write ``results.csv`` and ``headline.json``; returns the wall time in seconds since `start`.

        Claims pass through `withhold_verdicts` first: after an unexpected diverged run every claim is inconclusive.
        """
        withheld = self.withhold_verdicts(claims)
        if withheld is not claims:
            print(f"{sum(not d['expected'] for d in self.diverged)} diverged run(s): all {len(claims)} verdicts "
                  "withheld (inconclusive); see headline.json runs.diverged_runs")
        claims = withheld
        results.write_results(df, self.out)
        wall = self.timer.s
        results.write_headline(self.out, notebook=self.notebook, profile=self.profile, wall_s=wall, env=self.env,
                               runs={**self.runs, "executor": self.executor, "threads_per_run": runs.RUN_THREADS,
                                     "diverged_runs": self.diverged}, metrics=metrics, claims=claims, params=params, deviations=deviations)
        print(f"wrote {self.out}/results.csv ({len(df)} rows) and headline.json; wall time {wall:.1f} s")
        return wall
