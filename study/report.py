"""The HTML report: each executed notebook rendered by nbconvert, and ``reports/index.html`` linking them.

The index shows, per notebook, its headline metrics and its paper-vs-ours claims (read from
``reports/<notebook>/headline.json``, see `study.results`), where the run deviates from the paper, and the
environment (torch version, device, threads, git commit, profile, wall time) and the training runs it took
(how many were read from the run store, ran, failed; which executor).

Usage: ``python -m study.report [reports_dir]`` (what ``make report`` runs).
"""
from __future__ import annotations

import html
import json
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from .results import VERDICTS, atomic_write_text

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
    """"N: C cached / R ran / F failed (executor)" from a headline's run record (`study.runs.sweep`), or "–"."""
    if not r:
        return "–"
    return html.escape(f"{r.get('total', 0)}: {r.get('cached', 0)} cached / {r.get('ran', 0)} ran / "
                       f"{r.get('failed', 0)} failed ({r.get('executor', '?')})")


def claims_table(claims: list[dict[str, Any]]) -> str:
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


def build(reports: Path | str = "reports", *, render: bool = True) -> Path:
    """Render every executed notebook ``reports/<nb>/<nb>.ipynb`` to ``reports/<nb>.html`` and write
    ``reports/index.html``. Notebooks without a ``headline.json`` are listed as not run. Returns the index path."""
    reports = Path(reports)
    sections, overview = [], []
    folders = sorted(p for p in reports.iterdir() if p.is_dir() and p.name[:2].isdigit()) if reports.exists() else []
    for folder in folders:
        name = folder.name
        executed = folder / f"{name}.ipynb"
        head_path = folder / "headline.json"
        title = notebook_title(executed) if executed.exists() else name
        if not head_path.exists():
            sections.append(f"<section><h2>{html.escape(title)}</h2><p class='missing'>Not run or did not finish: "
                            f"no {head_path}. See {folder / 'papermill.log'}.</p></section>")
            overview.append(f"<tr><td>{html.escape(name)}</td><td colspan='7' class='missing'>not run</td></tr>")
            continue
        head = json.loads(head_path.read_text(encoding="utf-8"))
        link = ""
        if executed.exists() and render:
            render_notebook(executed, reports / f"{name}.html")
            link = f" — <a href='{name}.html'>full notebook</a>"
        env = head.get("env", {})
        env_s = ", ".join(f"{k} {html.escape(str(v))}" for k, v in env.items())
        claims = head.get("claims", [])
        counts = {v: sum(c.get("verdict") == v for c in claims) for v in VERDICTS}
        overview.append(
            f"<tr><td><a href='#{name}'>{html.escape(name)}</a></td><td>{html.escape(head.get('profile', ''))}</td>"
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
            f"<section id='{name}'><h2>{html.escape(title)}</h2>"
            f"<p class='env'>{html.escape(name)} — profile <b>{html.escape(head.get('profile', ''))}</b>, wall time "
            f"{head.get('wall_s', 0):.0f} s; training runs: {runs_cell(head.get('runs'))}{link}<br>{env_s}</p>"
            f"<h3>Headline metrics</h3>{metrics_table(head.get('metrics', {}))}"
            f"<h3>Paper vs ours</h3>{claims_table(claims)}{dev_html}{fig_html}</section>")
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    doc = (
        "<!doctype html><html><head><meta charset='utf-8'><title>CNN training and sparsification: reproduction "
        f"report</title><style>{CSS}</style></head><body>"
        "<h1>Training and sparsifying CNNs: do the papers hold up?</h1>"
        f"<p class='env'>Generated {stamp} by <code>make report</code>. Every number below was computed by the "
        "notebooks of this repository in the run recorded beside it. Verdict rule (study/results.py): reproduced if "
        "|ours − paper| ≤ max(tol, 2 std), partly if within twice that, otherwise not reproduced; qualitative claims "
        "state their test in the note.</p>"
        "<h2>Overview</h2><table><tr><th>notebook</th><th>profile</th><th>wall time (min)</th>"
        "<th>training runs (total: cached / ran / failed, executor)</th>"
        + "".join(f"<th>{v}</th>" for v in VERDICTS) + "</tr>" + "".join(overview) + "</table>"
        + "".join(sections) + "</body></html>")
    return atomic_write_text(reports / "index.html", doc)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    index = build(Path(args[0]) if args else Path("reports"))
    print(f"wrote {index}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
