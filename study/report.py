"""The HTML report: each executed notebook rendered by nbconvert, and ``reports/index.html`` linking them.

The index shows, per notebook, its headline metrics and its paper-vs-ours claims (read from
``reports/<notebook>/headline.json``, see `study.results`), where the run deviates from the paper, and the
environment (torch version, device, threads, git commit, profile, wall time) and the training runs it took
(how many were read from the run store, ran, failed; which executor).

It also keeps stale results from being shown as current. ``make`` executes a notebook into
``reports/.<nb>.tmp/`` with ``inputs.json`` (`inputs_record`: the profile, the SHA-256 of the notebook, of its
parameters and of ``study/``, the git commit), and swaps that folder in as ``reports/<nb>/`` only when the notebook
finished (`install`). A failed execution keeps the previous outputs but marks them stale with
``reports/<nb>/FAILED.json`` and keeps the failed run in ``reports/<nb>/failed/`` (`mark_failed`); a killed one
leaves ``reports/.<nb>.tmp/``. The index shows such a notebook as failed or interrupted, with its log, and not its
previous verdicts; and it flags results whose inputs differ from the current ones as outdated (`outdated_reasons`).

Usage (``make report`` and the notebook rule of the Makefile)::

    python -m study.report [reports_dir] [--profile P] [--root DIR]   # render the index
    python -m study.report inputs NB --profile P [--root DIR]          # print NB's inputs.json to stdout
    python -m study.report install TMP DEST                            # swap a finished execution in
    python -m study.report fail TMP DEST [--exit-code N] [--reason R]  # keep DEST, mark it stale (exit 1)
"""
from __future__ import annotations

import argparse
import hashlib
import html
import json
import shutil
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

# `study.results` (torch, pandas: ~2 s to import) is imported where it is used, so that the commands the Makefile
# runs around every notebook execution (`inputs`, `install`) start quickly.

INPUTS = "inputs.json"      # what an execution ran with, in the notebook's output folder
FAILED = "FAILED.json"      # marks reports/<nb>/ stale: its last execution failed
FAILED_DIR = "failed"       # reports/<nb>/failed/: the failed execution (log, partial notebook)
LOG = "papermill.log"
TAIL_LINES = 40

VERDICT_COLOUR = {"reproduced": "#d4edda", "partly": "#fff3cd", "not reproduced": "#f8d7da",
                  "inconclusive": "#e2e3e5"}

CSS = """
body { font-family: system-ui, -apple-system, Segoe UI, sans-serif; max-width: 1200px; margin: 2em auto;
       padding: 0 1em; color: #222; line-height: 1.45; }
table { border-collapse: collapse; margin: 0.6em 0 1.2em; font-size: 0.92em; }
th, td { border: 1px solid #ccc; padding: 4px 8px; text-align: left; vertical-align: top; }
th { background: #f3f3f3; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
.env { color: #555; font-size: 0.88em; }
section { border-top: 2px solid #ddd; margin-top: 2em; padding-top: 0.5em; }
.missing { color: #a00; }
.stale { background: #fff3cd; border-left: 4px solid #d39e00; padding: 0.4em 0.8em; }
.failed { background: #f8d7da; border-left: 4px solid #a00; padding: 0.4em 0.8em; }
pre.log { background: #f6f6f6; padding: 0.6em; overflow-x: auto; font-size: 0.85em; }
"""


def _fmt(v: Any, unit: str = "") -> str:
    if v is None:
        return "–"
    if isinstance(v, float):
        if unit in ("fraction",) and 0 <= abs(v) <= 1:
            return f"{100 * v:.2f} %"
        return f"{v:.4g}"
    return html.escape(str(v))


def notebook_title(nb_path: Path) -> str:
    """The first markdown heading of a notebook, or its file name."""
    try:
        nb = json.loads(nb_path.read_text(encoding="utf-8"))
        for cell in nb.get("cells", []):
            if cell.get("cell_type") == "markdown":
                src = "".join(cell.get("source", []))
                for line in src.splitlines():
                    if line.startswith("#"):
                        return line.lstrip("#").strip()
    except (OSError, ValueError):
        pass
    return nb_path.stem


def render_notebook(executed: Path, dest: Path) -> Path:
    """Render an executed notebook to a standalone HTML file (nbconvert's lab template), written whole."""
    import nbformat
    from nbconvert import HTMLExporter

    from .results import atomic_write_text
    nb = nbformat.read(executed, as_version=4)
    body, _ = HTMLExporter(template_name="lab").from_notebook_node(nb)
    return atomic_write_text(dest, body)


def _metric_cell(m: dict[str, Any]) -> str:
    unit = m.get("unit", "")
    mean, std, n = m.get("mean"), m.get("std"), m.get("n")
    if unit == "fraction" and isinstance(mean, (int, float)):
        return f"{100 * mean:.2f} %" + (f" ± {100 * std:.2f}" if n and n > 1 and std is not None else "")
    return _fmt(mean) + (f" ± {_fmt(std)}" if n and n > 1 and std is not None else "")


def metrics_table(metrics: dict[str, dict[str, Any]]) -> str:
    """Headline metrics as a grid: one row per metric, one column per method ("metric/method" keys)."""
    if not metrics:
        return "<p>No headline metrics.</p>"
    grid: dict[str, dict[str, dict[str, Any]]] = {}
    methods: list[str] = []
    for key, m in metrics.items():
        name, _, method = key.partition("/")
        method = method or "–"
        grid.setdefault(name, {})[method] = m
        if method not in methods:
            methods.append(method)
    head = "".join(f"<th>{html.escape(m)}</th>" for m in methods)
    rows = []
    for name, by in grid.items():
        some = next(iter(by.values()))
        unit = "percent" if some.get("unit") == "fraction" else some.get("unit", "")
        ns = sorted({str(v.get("n")) for v in by.values()})
        cells = "".join(f"<td class='num'>{_metric_cell(by[m]) if m in by else ''}</td>" for m in methods)
        rows.append(f"<tr><td>{html.escape(name)}</td>{cells}<td>{html.escape(unit)}</td>"
                    f"<td class='num'>{'/'.join(ns)}</td></tr>")
    return (f"<table><tr><th>metric</th>{head}<th>unit</th><th>n</th></tr>" + "".join(rows) + "</table>"
            "<p class='env'>mean ± standard deviation over n seeds.</p>")


def runs_cell(r: dict[str, Any] | None) -> str:
    """"N: C cached / R ran / F failed[ / D diverged] (executor)" from a headline's run record (`study.runs.sweep`),
    or "–". Diverged runs (`study.runs.divergence`) are named with their reason in the cell's title."""
    if not r:
        return "–"
    text = f"{r.get('total', 0)}: {r.get('cached', 0)} cached / {r.get('ran', 0)} ran / {r.get('failed', 0)} failed"
    if r.get("diverged"):
        text += f" / {r['diverged']} diverged"
    text = html.escape(f"{text} ({r.get('executor', '?')})")
    why = "; ".join(f"{d.get('experiment')}: {d.get('reason')}" for d in r.get("diverged_runs") or [])
    return f"<span title='{html.escape(why, quote=True)}'>{text}</span>" if why else text


def claims_table(claims: list[dict[str, Any]]) -> str:
    from .results import VERDICTS
    if not claims:
        return "<p>No paper claims recorded.</p>"
    counts = {v: sum(c.get("verdict") == v for c in claims) for v in VERDICTS}
    summary = ", ".join(f"{n} {v}" for v, n in counts.items() if n)
    rows = []
    for c in claims:
        unit = c.get("unit", "")
        ours = c.get("ours")
        ours_s = _fmt(ours, unit)
        if c.get("ours_std"):
            ours_s += f" ± {_fmt(c['ours_std'] * (100 if unit == 'fraction' else 1))}"
        colour = VERDICT_COLOUR.get(c.get("verdict"), "#fff")
        rows.append(
            f"<tr><td>{html.escape(str(c.get('paper', '')))}</td><td>{html.escape(str(c.get('claim', '')))}</td>"
            f"<td class='num'>{_fmt(c.get('paper_value'), unit)}</td><td class='num'>{ours_s}</td>"
            f"<td class='num'>{c.get('n') or ''}</td>"
            f"<td style='background:{colour}'>{html.escape(str(c.get('verdict')))}</td>"
            f"<td>{html.escape(str(c.get('note', '')))}</td></tr>")
    return (f"<p>Verdicts: {summary}.</p><table><tr><th>paper</th><th>claim</th><th>paper</th><th>ours</th>"
            "<th>n</th><th>verdict</th><th>note</th></tr>" + "".join(rows) + "</table>")


# ------------------------------------------------------------------------------- what an execution ran with (inputs)
def _sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def study_sha256(root: Path | str) -> str:
    """SHA-256 over the package sources the Makefile's notebook rule depends on (``study/*.py``, ``study/*/*.py``):
    their paths relative to `root` and their bytes, in sorted order."""
    root = Path(root)
    h = hashlib.sha256()
    for f in sorted([*root.glob("study/*.py"), *root.glob("study/*/*.py")]):
        h.update(f.relative_to(root).as_posix().encode() + b"\0" + f.read_bytes() + b"\0")
    return h.hexdigest()


def params_sha256(params_file: Path | str, overrides: dict[str, Any]) -> str:
    """SHA-256 of the parameters a notebook runs with: the profile's YAML file, parsed (comments and layout do not
    count), updated with the ``-p`` overrides the Makefile passes, as canonical JSON.

    Raises:
        ValueError: the file is not a YAML mapping (the message names it).
    """
    import yaml
    params_file = Path(params_file)
    try:
        params = yaml.safe_load(params_file.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as e:
        raise ValueError(f"{params_file}: not valid YAML ({e})") from e
    if not isinstance(params, dict):
        raise ValueError(f"{params_file}: expected a mapping of parameter names to values, got "
                         f"{type(params).__name__}")
    doc = json.dumps({**params, **overrides}, sort_keys=True, default=str)
    return hashlib.sha256(doc.encode()).hexdigest()


def _input_paths(root: Path, name: str, profile: str) -> tuple[Path, Path]:
    return root / "notebooks" / f"{name}.ipynb", root / "notebooks" / "params" / profile / f"{name}.yaml"


def inputs_record(name: str, profile: str, root: Path | str = ".") -> dict[str, Any]:
    """What notebook `name` runs with under `profile`, as the Makefile's notebook rule runs it (``inputs.json``):
    ``{notebook, profile, notebook_file, notebook_sha256, params_file, params_sha256, overrides, study_sha256,
    git, started}``. Paths are relative to the repository `root`.

    Raises:
        FileNotFoundError: the notebook or its parameter file is missing (the message names it).
        ValueError: the parameter file is not a YAML mapping.
    """
    root = Path(root)
    from .results import git_commit
    nb_file, params_file = _input_paths(root, name, profile)
    for f in (nb_file, params_file):
        if not f.is_file():
            raise FileNotFoundError(f"{f}: no such file (inputs of notebook {name!r}, profile {profile!r})")
    overrides = {"profile": profile}
    return {"notebook": name, "profile": profile,
            "notebook_file": nb_file.relative_to(root).as_posix(), "notebook_sha256": _sha256(nb_file),
            "params_file": params_file.relative_to(root).as_posix(),
            "params_sha256": params_sha256(params_file, overrides), "overrides": overrides,
            "study_sha256": study_sha256(root), "git": git_commit(root),  # this checkout, not the package's
            "started": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")}


def outdated_reasons(recorded: dict[str, Any], root: Path | str, profile: str | None = None) -> list[str]:
    """Why results that ran with the inputs `recorded` (an ``inputs.json``) are not those of the current inputs in
    `root`: a changed notebook, parameter file or ``study/`` package, or another `profile` than the current one
    (None: do not compare profiles). An empty list when they match."""
    root = Path(root)
    name, ran = recorded.get("notebook"), recorded.get("profile")
    if not name or not ran:
        return [f"{INPUTS} names no notebook or profile"]
    if profile and profile != ran:
        return [f"ran with profile {ran}, the current profile is {profile}"]
    nb_file, params_file = _input_paths(root, name, ran)
    reasons = []
    if not nb_file.is_file():
        reasons.append(f"{nb_file.relative_to(root)} no longer exists")
    elif _sha256(nb_file) != recorded.get("notebook_sha256"):
        reasons.append(f"{nb_file.relative_to(root)} changed since")
    try:
        if params_sha256(params_file, recorded.get("overrides") or {"profile": ran}) != recorded.get("params_sha256"):
            reasons.append(f"the parameters in {params_file.relative_to(root)} changed since")
    except OSError:
        reasons.append(f"{params_file.relative_to(root)} no longer exists")
    except ValueError as e:
        reasons.append(str(e))
    if study_sha256(root) != recorded.get("study_sha256"):
        reasons.append("the study/ package changed since")
    return reasons


# ------------------------------------------------------------------------- a notebook's outputs, replaced as a unit
def tmp_dir(reports: Path | str, name: str) -> Path:
    """The folder ``make`` executes notebook `name` into before it replaces ``reports/<name>/``."""
    return Path(reports) / f".{name}.tmp"


def install(tmp: Path | str, dest: Path | str) -> Path:
    """Replace the folder `dest` by the finished execution `tmp` as a unit (renames; the old folder is removed).

    Raises:
        FileNotFoundError: `tmp` or ``tmp/headline.json`` is missing (the notebook did not finish).
        ValueError: ``tmp/headline.json`` is not valid JSON.
    """
    tmp, dest = Path(tmp), Path(dest)
    head = tmp / "headline.json"
    if not head.is_file():
        raise FileNotFoundError(f"{head}: missing, the notebook did not write its headline (see {tmp / LOG})")
    try:
        json.loads(head.read_text(encoding="utf-8"))
    except ValueError as e:
        raise ValueError(f"{head}: not valid JSON ({e})") from e
    old = dest.parent / f".{dest.name}.old"
    shutil.rmtree(old, ignore_errors=True)
    if dest.exists():
        dest.rename(old)
    tmp.rename(dest)
    shutil.rmtree(old, ignore_errors=True)
    return dest


def _tail(path: Path, n: int = TAIL_LINES) -> list[str]:
    try:
        return path.read_text(encoding="utf-8", errors="replace").splitlines()[-n:]
    except OSError:
        return []


def mark_failed(tmp: Path | str, dest: Path | str, *, exit_code: int | None = None, reason: str = "") -> Path:
    """Record a failed execution of a notebook: keep the previous outputs in `dest` (stale now), move the failed
    execution `tmp` to ``dest/failed/`` and write ``dest/FAILED.json`` whole: ``{notebook, time, exit_code, reason,
    log, executed, log_tail, inputs, previous}``. Returns the path of ``FAILED.json``."""
    tmp, dest = Path(tmp), Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    failed = dest / FAILED_DIR
    shutil.rmtree(failed, ignore_errors=True)
    if tmp.is_dir():
        tmp.rename(failed)
    else:
        failed.mkdir()
    inputs = None
    if (failed / INPUTS).is_file():
        try:
            inputs = json.loads((failed / INPUTS).read_text(encoding="utf-8"))
        except ValueError:
            pass
    head = dest / "headline.json"
    executed = failed / f"{dest.name}.ipynb"
    doc = {"notebook": dest.name, "time": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC"),
           "exit_code": exit_code, "reason": reason or (f"papermill exited with status {exit_code}"
                                                        if exit_code is not None else "the execution failed"),
           "log": f"{FAILED_DIR}/{LOG}", "executed": f"{FAILED_DIR}/{executed.name}" if executed.exists() else None,
           "log_tail": _tail(failed / LOG), "inputs": inputs,
           "previous": {"headline": head.is_file(),
                        "time": (datetime.fromtimestamp(head.stat().st_mtime, timezone.utc)
                                 .strftime("%Y-%m-%d %H:%M:%S UTC") if head.is_file() else None)}}
    # written in failed/ first, then renamed: the marker appears whole or not at all
    (failed / FAILED).write_text(json.dumps(doc, indent=2), encoding="utf-8")
    return (failed / FAILED).replace(dest / FAILED)


# ----------------------------------------------------------------------------------------------------- the index
def _mtime(path: Path) -> str:
    return datetime.fromtimestamp(path.stat().st_mtime, timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def notebook_state(reports: Path | str, name: str, *, root: Path | str, profile: str | None = None) -> dict[str, Any]:
    """The state of notebook `name`'s outputs: ``{"state", "reasons", "inputs", "failed"}`` with state one of
    "interrupted" (``reports/.<name>.tmp/`` left behind: an execution was killed, or is still running), "failed"
    (``FAILED.json``), "not run" (no ``headline.json``), "outdated" (its inputs differ from the current ones; the
    reasons say how), "current", or "unchecked" (no ``inputs.json`` to compare)."""
    reports = Path(reports)
    folder = reports / name
    out: dict[str, Any] = {"state": "current", "reasons": [], "inputs": None, "failed": None}
    if tmp_dir(reports, name).is_dir():
        return {**out, "state": "interrupted"}
    if (folder / FAILED).is_file():
        try:
            out["failed"] = json.loads((folder / FAILED).read_text(encoding="utf-8"))
        except ValueError as e:
            out["failed"] = {"reason": f"{folder / FAILED} unreadable ({e})"}
        return {**out, "state": "failed"}
    if not (folder / "headline.json").is_file():
        return {**out, "state": "not run"}
    if not (folder / INPUTS).is_file():
        return {**out, "state": "unchecked", "reasons": [f"no {INPUTS}: the inputs it ran with are not recorded"]}
    try:
        out["inputs"] = json.loads((folder / INPUTS).read_text(encoding="utf-8"))
    except ValueError as e:
        return {**out, "state": "outdated", "reasons": [f"{folder / INPUTS} unreadable ({e})"]}
    reasons = outdated_reasons(out["inputs"], root, profile)
    return {**out, "state": "outdated" if reasons else "current", "reasons": reasons}


def _rerun_hint(profile: str | None) -> str:
    return f"make reproduce PROFILE={profile}" if profile and profile != "default" else "make reproduce"


def _failed_section(name: str, title: str, st: dict[str, Any], link: str, profile: str | None) -> str:
    f = st["failed"] or {}
    prev = f.get("previous") or {}
    prev_s = (f"The outputs of the previous run (headline.json of {html.escape(str(prev.get('time')))}) are kept in "
              f"reports/{html.escape(name)}/ but are stale and not shown here. ") if prev.get("headline") else ""
    tail = "\n".join(f.get("log_tail") or [])
    return (f"<section id='{name}'><h2>{html.escape(title)}</h2>"
            f"<p class='failed'><b>Failed</b> at {html.escape(str(f.get('time', '?')))}: "
            f"{html.escape(str(f.get('reason', '')))}. Log: <a href='{name}/{html.escape(str(f.get('log', '')))}'>"
            f"{html.escape(name)}/{html.escape(str(f.get('log', '')))}</a>{link}. {prev_s}"
            f"Fix it and re-run <code>{_rerun_hint(profile)}</code>.</p>"
            + (f"<h3>End of the log</h3><pre class='log'>{html.escape(tail)}</pre>" if tail else "") + "</section>")


def _interrupted_section(name: str, title: str, tmp: Path, profile: str | None) -> str:
    return (f"<section id='{name}'><h2>{html.escape(title)}</h2>"
            f"<p class='failed'><b>Interrupted</b>: an execution started {_mtime(tmp)} did not finish (killed, or "
            f"still running): {html.escape(tmp.name)}/ is left in reports/. Log: <a href='{tmp.name}/{LOG}'>"
            f"{html.escape(tmp.name)}/{LOG}</a>. Any previous outputs in reports/{html.escape(name)}/ are stale and "
            f"not shown here. Re-run <code>{_rerun_hint(profile)}</code>.</p></section>")


def _inputs_line(inputs: dict[str, Any] | None) -> str:
    if not inputs:
        return ""
    return html.escape(f"inputs: profile {inputs.get('profile')}, notebook sha256 "
                       f"{str(inputs.get('notebook_sha256', ''))[:12]}, parameters sha256 "
                       f"{str(inputs.get('params_sha256', ''))[:12]}, study/ sha256 "
                       f"{str(inputs.get('study_sha256', ''))[:12]}, commit {inputs.get('git')}, started "
                       f"{inputs.get('started')}")


def build(reports: Path | str = "reports", *, render: bool = True, root: Path | str | None = None,
          profile: str | None = None) -> Path:
    """Render every executed notebook ``reports/<nb>/<nb>.ipynb`` to ``reports/<nb>.html`` and write
    ``reports/index.html``. Returns the index path.

    Each notebook's state (`notebook_state`) decides what is shown: a notebook not run, failed or interrupted is
    listed as such with its log and without verdicts (for a failed one, ``reports/<nb>.html`` is its failed
    notebook); an outdated one (inputs differ from those in the repository `root`, default: the folder above
    `reports`, or `profile`, the current profile, differs) is shown with a warning naming what changed.
    """
    from .results import VERDICTS, atomic_write_text
    reports = Path(reports)
    root = Path(root) if root is not None else reports.resolve().parent
    sections, overview = [], []
    names: set[str] = set()
    if reports.exists():
        for p in reports.iterdir():
            if p.is_dir() and p.name[:2].isdigit():
                names.add(p.name)
            elif p.is_dir() and p.name.startswith(".") and p.name.endswith(".tmp") and p.name[1:3].isdigit():
                names.add(p.name[1:-len(".tmp")])
    span = 3 + len(VERDICTS)
    for name in sorted(names):
        folder = reports / name
        executed = folder / f"{name}.ipynb"
        head_path = folder / "headline.json"
        title = notebook_title(executed) if executed.exists() else name
        st = notebook_state(reports, name, root=root, profile=profile)
        state = st["state"]
        if state in ("interrupted", "failed", "not run") and render:
            (reports / f"{name}.html").unlink(missing_ok=True)
        if state == "interrupted":
            sections.append(_interrupted_section(name, title, tmp_dir(reports, name), profile))
            overview.append(f"<tr><td><a href='#{name}'>{html.escape(name)}</a></td><td class='missing'>"
                            f"interrupted</td><td colspan='{span}' class='missing'>an execution did not finish; "
                            "previous results are stale</td></tr>")
            continue
        if state == "failed":
            link = ""
            failed_nb = folder / FAILED_DIR / f"{name}.ipynb"
            if failed_nb.exists() and render:
                try:
                    render_notebook(failed_nb, reports / f"{name}.html")
                    link = f"; the failed notebook: <a href='{name}.html'>{html.escape(name)}.html</a>"
                except Exception as e:  # a half-written notebook must not stop the report
                    link = f"; the failed notebook could not be rendered ({html.escape(str(e))})"
            sections.append(_failed_section(name, title, st, link, profile))
            overview.append(f"<tr><td><a href='#{name}'>{html.escape(name)}</a></td><td class='missing'>failed</td>"
                            f"<td colspan='{span}' class='missing'>last execution failed; previous results are "
                            "stale</td></tr>")
            continue
        if state == "not run":
            sections.append(f"<section><h2>{html.escape(title)}</h2><p class='missing'>Not run or did not finish: "
                            f"no {head_path}. See {folder / LOG}.</p></section>")
            overview.append(f"<tr><td>{html.escape(name)}</td><td colspan='{span + 1}' class='missing'>not run</td>"
                            "</tr>")
            continue
        head = json.loads(head_path.read_text(encoding="utf-8"))
        link = ""
        if executed.exists() and render:
            render_notebook(executed, reports / f"{name}.html")
            link = f" — <a href='{name}.html'>full notebook</a>"
        env = head.get("env", {})
        env_s = ", ".join(f"{k} {html.escape(str(v))}" for k, v in env.items())
        inputs_s = _inputs_line(st["inputs"])
        banner = ""
        if state == "outdated":
            banner = (f"<p class='stale'><b>Outdated</b>: {html.escape('; '.join(st['reasons']))}. These results "
                      f"are not those of the current inputs: re-run <code>{_rerun_hint(profile)}</code>.</p>")
        elif state == "unchecked":
            banner = f"<p class='env'>{html.escape('; '.join(st['reasons']))}.</p>"
        status_cell = ("<td class='missing'>outdated</td>" if state == "outdated" else f"<td>{state}</td>")
        claims = head.get("claims", [])
        counts = {v: sum(c.get("verdict") == v for c in claims) for v in VERDICTS}
        overview.append(
            f"<tr><td><a href='#{name}'>{html.escape(name)}</a></td>{status_cell}"
            f"<td>{html.escape(head.get('profile', ''))}</td>"
            f"<td class='num'>{head.get('wall_s', 0) / 60:.1f}</td><td>{runs_cell(head.get('runs'))}</td>"
            + "".join(f"<td class='num'>{counts[v]}</td>" for v in VERDICTS) + "</tr>")
        dev = head.get("deviations") or []
        dev_html = ("<h3>Where we deviate from the paper</h3><ul>" + "".join(f"<li>{html.escape(d)}</li>" for d in dev)
                    + "</ul>") if dev else ""
        figs = sorted(folder.glob("*.png"))
        fig_html = ("<h3>Figures</h3><div>" + "".join(
            f"<a href='{name}/{f.name}'><img src='{name}/{f.name}' alt='{html.escape(f.stem)}' "
            f"title='{html.escape(f.stem)}' style='max-height:220px;margin:4px;border:1px solid #ddd'></a>"
            for f in figs) + "</div>") if figs else ""
        sections.append(
            f"<section id='{name}'><h2>{html.escape(title)}</h2>{banner}"
            f"<p class='env'>{html.escape(name)} — profile <b>{html.escape(head.get('profile', ''))}</b>, wall time "
            f"{head.get('wall_s', 0):.0f} s; training runs: {runs_cell(head.get('runs'))}{link}<br>{env_s}"
            + (f"<br>{inputs_s}" if inputs_s else "") + "</p>"
            f"<h3>Headline metrics</h3>{metrics_table(head.get('metrics', {}))}"
            f"<h3>Paper vs ours</h3>{claims_table(claims)}{dev_html}{fig_html}</section>")
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    doc = (
        "<!doctype html><html><head><meta charset='utf-8'><title>CNN training and sparsification: reproduction "
        f"report</title><style>{CSS}</style></head><body>"
        "<h1>Training and sparsifying CNNs: do the papers hold up?</h1>"
        f"<p class='env'>Generated {stamp} by <code>make report</code>"
        + (f" (current profile: {html.escape(profile)})" if profile else "") + ". Every number below was computed "
        "by the notebooks of this repository in the run recorded beside it. Verdict rule (study/results.py): "
        "reproduced if |ours − paper| ≤ max(tol, 2 std), partly if within twice that, otherwise not reproduced; "
        "qualitative claims state their test in the note.</p>"
        "<h2>Overview</h2><table><tr><th>notebook</th><th>status</th><th>profile</th><th>wall time (min)</th>"
        "<th>training runs (total: cached / ran / failed, executor)</th>"
        + "".join(f"<th>{v}</th>" for v in VERDICTS) + "</tr>" + "".join(overview) + "</table>"
        + "".join(sections) + "</body></html>")
    return atomic_write_text(reports / "index.html", doc)


# ------------------------------------------------------------------------------------------------------ command line
COMMANDS = ("inputs", "install", "fail")


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else list(argv)
    cmd = args[0] if args and args[0] in COMMANDS else "build"
    ap = argparse.ArgumentParser(prog=f"python -m study.report{'' if cmd == 'build' else ' ' + cmd}")
    if cmd == "build":
        ap.add_argument("reports", nargs="?", default="reports")
        ap.add_argument("--profile", default="", help="the current profile (empty: do not compare profiles)")
        ap.add_argument("--root", default=None, help="the repository (default: the folder above reports)")
        a = ap.parse_args(args)
        index = build(Path(a.reports), root=a.root, profile=a.profile or None)
        print(f"wrote {index}")
        return 0
    args = args[1:]
    if cmd == "inputs":
        ap.add_argument("notebook")
        ap.add_argument("--profile", required=True)
        ap.add_argument("--root", default=".")
        a = ap.parse_args(args)
        try:
            print(json.dumps(inputs_record(a.notebook, a.profile, a.root), indent=2))
        except (OSError, ValueError) as e:
            print(f"error: {e}", file=sys.stderr)
            return 1
        return 0
    ap.add_argument("tmp")
    ap.add_argument("dest")
    if cmd == "install":
        a = ap.parse_args(args)
        try:
            install(a.tmp, a.dest)
            return 0
        except (OSError, ValueError) as e:
            print(f"error: {e}", file=sys.stderr)
            marker = mark_failed(a.tmp, a.dest, reason=str(e))
            print(f"kept the previous outputs of {a.dest}, marked stale by {marker}", file=sys.stderr)
            return 1
    ap.add_argument("--exit-code", type=int, default=None)
    ap.add_argument("--reason", default="")
    a = ap.parse_args(args)
    marker = mark_failed(a.tmp, a.dest, exit_code=a.exit_code, reason=a.reason)
    print(f"{Path(a.dest).name} failed: kept the previous outputs of {a.dest}, marked stale by {marker}; log: "
          f"{Path(a.dest) / FAILED_DIR / LOG}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    raise SystemExit(main())
