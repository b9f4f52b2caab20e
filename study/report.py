"""The HTML report: each executed notebook rendered by nbconvert, and ``reports/index.html``, a reproducibility report.

**The index** (`build`, Jinja2 templates in ``study/templates/``, tables by pandas' Styler) has a table of contents,
an overview of every notebook (status, profile, wall time, training runs, verdict counts), the verdict rule with the
tolerances of `study.claims` (printed once), and one section per paper (= per notebook) with

* a **scorecard**: claims per verdict; the not-reproduced ones listed, each linked to its row of the claims table;
* the **reproducibility summary** in the ML Reproducibility Challenge's structure (scope, methodology, results, what
  was easy, what was difficult): the judgement is the notebook's own markdown cell that starts with
  ``## Reproducibility summary`` (`reproducibility_summary`, rendered with mistune), the data (profile, seeds,
  runs, claim counts, how hyper-parameters were chosen) comes from ``headline.json``;
* the **claims table** (claim, type, paper value, ours = mean [95 % CI] (n), tolerance, verdict colour-coded, note;
  one anchor ``<nb>-claim-<i>`` per claim), the **deviations table**, the **headline metrics** as a long table;
* every **figure** of ``headline.json`` with its caption, the paper figure/table it corresponds to and a link to the
  cell of the executed notebook page that drew it (nbconvert gives each cell the id ``cell-id=<id>``,
  `figure_cells`);
* the **compute record** (wall time, device, threads, peak memory, runs ran / cached, summed per-run CPU / GPU
  seconds, and the paper profile's CPU / GPU time: measured when it ran, else estimated, `paper_estimate`).

Partial outputs are expected: a notebook not run is listed with the command that runs it; an unreadable or invalid
``headline.json`` is an error shown in that notebook's section, naming the file, and the rest of the report is built
(`main` then exits with status 1). Empty values are shown as "—", never as nan or None.

It also keeps stale results from being shown as current. ``make`` executes a notebook into
``reports/.<nb>.tmp/`` with ``inputs.json`` (`inputs_record`: the profile, the SHA-256 of the notebook, of its
parameters and of ``study/``, the git commit), and swaps that folder in as ``reports/<nb>/`` only when the notebook
finished (`install`). A failed execution keeps the previous outputs but marks them stale with
``reports/<nb>/FAILED.json`` and keeps the failed run in ``reports/<nb>/failed/`` (`mark_failed`); a killed one
leaves ``reports/.<nb>.tmp/``. The index shows such a notebook as failed or interrupted, with its log, and not its
previous verdicts; and it flags results whose inputs differ from the current ones as outdated (`outdated_reasons`).

Usage (``make report``, ``make report-check`` and the notebook rule of the Makefile)::

    python -m study.report [reports_dir] [--profile P] [--root DIR] [--no-render]  # render the index
    python -m study.report inputs NB --profile P [--root DIR]          # print NB's inputs.json to stdout
    python -m study.report install TMP DEST                            # swap a finished execution in
    python -m study.report fail TMP DEST [--exit-code N] [--reason R]  # keep DEST, mark it stale (exit 1)

Exit status of the index command: 0 when every ``headline.json`` present could be read (failed, interrupted or not
run notebooks included: they are shown as such), 1 when one could not (the index is written all the same).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import re
import shutil
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, TypeGuard

# `study.results` (torch, pandas: ~2 s to import) is imported where it is used, so that the commands the Makefile
# runs around every notebook execution (`inputs`, `install`) start quickly.

INPUTS = "inputs.json"  # what an execution ran with, in the notebook's output folder
FAILED = "FAILED.json"  # marks reports/<nb>/ stale: its last execution failed
FAILED_DIR = "failed"  # reports/<nb>/failed/: the failed execution (log, partial notebook)
LOG = "papermill.log"
TAIL_LINES = 40
TEMPLATES = Path(__file__).resolve().parent / "templates"

#: The markdown cell of a notebook that holds its reproducibility summary starts with this line.
SUMMARY_HEADING = "## Reproducibility summary"
#: Its subsections (``### <title>``), in order: (key, title).
MLRC_SECTIONS = (
    ("scope", "Scope"),
    ("methodology", "Methodology"),
    ("results", "Results"),
    ("easy", "What was easy"),
    ("difficult", "What was difficult"),
)
NOT_WRITTEN = "not written"
#: What an empty value is shown as in a table.
EMPTY = "—"
#: Parameters whose name has one of these words (split at "_") are shown as "how hyper-parameters were chosen".
SELECTION_KEYS = (
    "select",
    "selected",
    "selection",
    "chosen",
    "choice",
    "rule",
    "grid",
    "tune",
    "tuning",
    "tuned",
    "val",
    "validation",
)
SEED_KEYS = ("seed", "seeds", "n_seeds")


# ------------------------------------------------------------------------------- what an execution ran with (inputs)
def _sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


#: the Makefile's STUDY_SRC: the sources whose edit re-executes every notebook
STUDY_SRC = ("study/*.py", "study/*/*.py", "study/*/*/*.py")


def study_sha256(root: Path | str) -> str:
    """SHA-256 over the package sources the Makefile's notebook rule depends on (``STUDY_SRC``: ``study/*.py``,
    ``study/*/*.py``, ``study/*/*/*.py``, the last the per-paper packages): their paths relative to `root` and their
    bytes, in sorted order."""
    root = Path(root)
    h = hashlib.sha256()
    for f in sorted(f for pattern in STUDY_SRC for f in root.glob(pattern)):
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
        raise ValueError(f"{params_file}: expected a mapping of parameter names to values, got {type(params).__name__}")
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
    return {
        "notebook": name,
        "profile": profile,
        "notebook_file": nb_file.relative_to(root).as_posix(),
        "notebook_sha256": _sha256(nb_file),
        "params_file": params_file.relative_to(root).as_posix(),
        "params_sha256": params_sha256(params_file, overrides),
        "overrides": overrides,
        "study_sha256": study_sha256(root),
        "git": git_commit(root),  # this checkout, not the package's
        "started": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC"),
    }


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
    doc = {
        "notebook": dest.name,
        "time": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC"),
        "exit_code": exit_code,
        "reason": reason
        or (f"papermill exited with status {exit_code}" if exit_code is not None else "the execution failed"),
        "log": f"{FAILED_DIR}/{LOG}",
        "executed": f"{FAILED_DIR}/{executed.name}" if executed.exists() else None,
        "log_tail": _tail(failed / LOG),
        "inputs": inputs,
        "previous": {
            "headline": head.is_file(),
            "time": (
                datetime.fromtimestamp(head.stat().st_mtime, timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
                if head.is_file()
                else None
            ),
        },
    }
    # written in failed/ first, then renamed: the marker appears whole or not at all
    (failed / FAILED).write_text(json.dumps(doc, indent=2), encoding="utf-8")
    return (failed / FAILED).replace(dest / FAILED)


# ------------------------------------------------------------------------------------------------ reading a notebook
def _read_nb(path: Path) -> dict[str, Any] | None:
    try:
        nb = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return nb if isinstance(nb, dict) else None


def _source(cell: dict[str, Any]) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else str(src)


def notebook_title(nb_path: Path) -> str:
    """The first markdown heading of a notebook, or its file name."""
    nb = _read_nb(nb_path)
    for cell in (nb or {}).get("cells", []):
        if cell.get("cell_type") == "markdown":
            for line in _source(cell).splitlines():
                if line.startswith("#"):
                    return line.lstrip("#").strip()
    return Path(nb_path).stem


def render_notebook(executed: Path, dest: Path) -> Path:
    """Render an executed notebook to a standalone HTML file (nbconvert's lab template), written whole. Each cell
    gets the HTML id ``cell-id=<the cell's id>`` (nbconvert 7), which `figure_cells` links to.

    Offline and safe (issue 19): markdown cells are rendered as the index renders them (`_markdown`: raw HTML
    escaped, formulas as MathML), and the page loads no script from a CDN (no MathJax, require.js or mermaid)."""
    import nbformat
    from nbconvert import HTMLExporter

    from .results import atomic_write_text

    nb = nbformat.read(executed, as_version=4)
    rendered = {}
    for i, cell in enumerate(nb.cells):  # each markdown cell: a token now, our rendering after the export
        if cell.cell_type == "markdown":
            token = f"STUDYMARKDOWNCELL{i:05d}"
            rendered[f"<p>{token}</p>"] = _markdown(cell.source)
            cell.source = token
    exporter = HTMLExporter(
        template_name="lab",
        mathjax_url="",
        require_js_url="",
        mermaid_js_url="",
        mermaid_layout_elk_js_url="",
        jquery_url="",
    )
    body, _ = exporter.from_notebook_node(nb)
    for token, html_ in rendered.items():
        body = body.replace(token, html_, 1)
    body = re.sub(r'<script[^>]*\bsrc=(""|\'\')[^>]*>\s*</script>', "", body)
    body = re.sub(r'<script type="text/x-mathjax-config">.*?</script>', "", body, flags=re.S)
    body = re.sub(r'<script type="module">(?:(?!</script>).)*mermaid(?:(?!</script>).)*</script>', "", body, flags=re.S)
    remote = re.findall(r'<script[^>]*\bsrc="(?:https?:)?//[^"]*"|import[^;]*["\']https?://[^"\']*', body)
    if remote:
        raise ValueError(f"{executed}: the rendered page would load scripts from the network: {remote[:3]}")
    return atomic_write_text(dest, body)


def _mathml(latex: str, display: str) -> str:
    """LaTeX to MathML (latex2mathml; browsers render MathML natively, so the page needs no script or network);
    the escaped source in a <code> element when it cannot be converted."""
    import html

    try:
        from latex2mathml.converter import convert

        return convert(latex, display=display)
    except Exception:  # noqa: BLE001 -- a formula the converter does not know stays readable as source
        return f"<code>{html.escape(latex)}</code>"


def _markdown(text: str) -> str:
    """Markdown to HTML with mistune (nbconvert's own markdown library) and its math plugin, the formulas
    ($…$, $$…$$) as MathML (`_mathml`); raw HTML in the text is escaped."""
    import mistune

    md = mistune.create_markdown(escape=True, plugins=["table", "strikethrough", "math"])
    md.renderer.register("block_math", lambda r, text: f'<div class="math">{_mathml(text, "block")}</div>\n')  # type: ignore[union-attr]  # HTML renderer
    md.renderer.register("inline_math", lambda r, text: f'<span class="math">{_mathml(text, "inline")}</span>')  # type: ignore[union-attr]  # HTML renderer
    return md(text)  # type: ignore[return-value]  # HTML renderer: a str


# ------------------------------------------------------------------- summary facts from headline.json (issue 17)
#: ``{{kind:argument}}`` in a notebook's reproducibility summary: a fact filled from its headline.json
#: (`fill_placeholders`). Kinds: count (a verdict, a robustness label, or "machine-sensitive"), verdict / ours /
#: robustness (of the claim whose text is the argument), metric (mean [95 % CI] of a headline metric).
PLACEHOLDER = re.compile(r"\{\{\s*(count|verdict|ours|robustness|metric|reading)\s*:\s*(.+?)\s*\}\}")
#: A count stated in words next to a verdict ("12 reproduced", "3 claims are not reproduced").
COUNT_STATEMENT = re.compile(
    r"\b(\d+)\s+(?:of\s+\d+\s+)?(?:claims?\s+)?(?:(?:are|were|is|was)\s+)?"
    r"(not reproduced|reproduced|inconclusive|not tested|robust|reading-dependent)\b",
    re.IGNORECASE,
)


def _claim_by_text(head: dict[str, Any], text: str) -> dict[str, Any] | None:
    return next((c for c in head.get("claims") or [] if str(c.get("claim")) == text), None)


def fill_placeholders(text: str, head: dict[str, Any]) -> tuple[str, list[str]]:
    """`text` with every `PLACEHOLDER` replaced by the fact from `head` (a headline.json), and the problems: a
    placeholder naming a claim or metric that `head` does not have (shown as "⟨unknown …⟩" in the text)."""
    from .claims import counts as claim_counts

    problems: list[str] = []
    tally = claim_counts(head.get("claims") or [])

    def one(m: re.Match) -> str:
        kind, arg = m.group(1), m.group(2)
        if kind == "count":
            key = arg if arg in tally else f"robustness:{arg}"
            if key not in tally:
                problems.append(f"{{{{count:{arg}}}}}: not a verdict, robustness label or 'machine-sensitive'")
                return f"⟨unknown count {arg}⟩"
            return str(tally[key])
        if kind == "metric":
            mm = (head.get("metrics") or {}).get(arg)
            if not mm:
                problems.append(f"{{{{metric:{arg}}}}}: headline.json has no such metric")
                return f"⟨unknown metric {arg}⟩"
            return fmt_ours({**mm, "verdict": ""})
        key = ""
        if kind == "reading":  # {{reading:<choice>=<value>|<claim text>}}: that claim under one reading
            key, _, arg = arg.partition("|")
        c = _claim_by_text(head, arg.strip())
        if c is None:
            problems.append(f"{{{{{kind}:{arg}}}}}: headline.json has no claim with this text")
            return f"⟨unknown claim {arg}⟩"
        if kind == "verdict":
            return f"**{c.get('verdict')}**"
        if kind == "robustness":
            return str(c.get("robustness") or EMPTY)
        if kind == "reading":
            r = (c.get("readings") or {}).get(key.strip())
            if not isinstance(r, dict):
                problems.append(f"{{{{reading:{key}|{arg}}}}}: the claim has no reading {key.strip()!r}")
                return f"⟨unknown reading {key.strip()}⟩"
            return f"{fmt_ours({**c, **r})}, **{r.get('verdict')}**"
        return fmt_ours(c)

    return PLACEHOLDER.sub(one, text), problems


def summary_contradictions(text: str, head: dict[str, Any]) -> list[str]:
    """Facts a hand-written summary states that its headline.json does not have (issue 17): a count of a verdict
    or robustness label written as a number ("12 reproduced") that differs from the count in `head`, and a claim
    quoted by its exact text whose verdict in the next 80 characters differs from its verdict in `head`.
    Placeholders are not checked here (they are filled from `head`); numbers should only come through them."""
    from .claims import counts as claim_counts

    tally = claim_counts(head.get("claims") or [])
    raw = PLACEHOLDER.sub("", text)
    out = []
    for m in COUNT_STATEMENT.finditer(raw):
        n, what = int(m.group(1)), m.group(2).lower()
        have = tally.get(what, tally.get(f"robustness:{what}"))
        if have is not None and n != have:
            out.append(f"states '{m.group(0)}' but headline.json has {have} {what}")
    verdict_re = re.compile(r"(not reproduced|reproduced|inconclusive|not tested)", re.IGNORECASE)
    for c in head.get("claims") or []:
        name = str(c.get("claim") or "")
        if len(name) < 12:
            continue
        for at in [m.end() for m in re.finditer(re.escape(name), raw)]:
            v = verdict_re.search(raw[at : at + 80])
            if v and v.group(1).lower() != str(c.get("verdict")).lower():
                out.append(f"says claim {name!r} is '{v.group(1)}' but headline.json has '{c.get('verdict')}'")
    return out


def summary_facts(head: dict[str, Any]) -> str:
    """The factual part of a reproducibility summary, generated from headline.json as markdown: the counts per
    verdict, robustness and machine sensitivity, the claims not reproduced and the reading-dependent ones with
    their values."""
    from .claims import counts as claim_counts

    claims = head.get("claims") or []
    t = claim_counts(claims)
    lines = [
        f"Of {len(claims)} claims, {t['reproduced']} reproduced, {t['not reproduced']} not reproduced, "
        f"{t['inconclusive']} inconclusive and {t['not tested']} not tested "
        f"({head.get('profile', EMPTY)} profile). Robustness over the paper's open choices: "
        f"{t['robustness:robust']} robust, {t['robustness:reading-dependent']} reading-dependent, "
        f"{t['robustness:no open choice']} with no open choice; {t['machine-sensitive']} machine-sensitive."
    ]
    bad = [c for c in claims if c.get("verdict") == "not reproduced"]
    if bad:
        lines.append("\nNot reproduced:\n")
        lines += [
            f"- {c.get('claim')}: ours {fmt_ours(c)}, paper {fmt_value(c.get('paper_value'), c.get('unit'))}"
            for c in bad
        ]
    dep = [c for c in claims if c.get("robustness") == "reading-dependent"]
    if dep:
        lines.append("\nReading-dependent (the readings that change the verdict):\n")
        for c in dep:
            flips = ", ".join(
                f"{k} → {c['readings'][k]['verdict']}"
                for k in c.get("flipped_by") or []
                if k in (c.get("readings") or {})
            )
            lines.append(f"- {c.get('claim')}: headline {c.get('verdict')}; {flips}")
    return "\n".join(lines)


def reproducibility_summary(nb_path: Path | str, head: dict[str, Any] | None = None) -> dict[str, Any]:
    """The notebook's hand-written reproducibility summary: the markdown cell that starts with `SUMMARY_HEADING`,
    split at its ``### `` subsections (`MLRC_SECTIONS`).

    Returns ``{"found", "cell_id", "problem", "intro", "sections": {key: html or None}, "other": [(title, html)]}``:
    a section the cell lacks (or an empty one) is None (shown as "not written"); ``### `` subsections with other
    titles are kept in "other"; "problem" says why nothing was found (no executed notebook, no such cell). Never
    raises.
    """
    out: dict[str, Any] = {
        "found": False,
        "cell_id": None,
        "problem": None,
        "intro": None,
        "sections": {k: None for k, _ in MLRC_SECTIONS},
        "other": [],
        "problems": [],
        "facts": _markdown(summary_facts(head)) if head is not None else None,
    }
    nb = _read_nb(Path(nb_path))
    if nb is None:
        out["problem"] = f"no readable notebook {Path(nb_path).name}"
        return out
    cell = next(
        (
            c
            for c in nb.get("cells", [])
            if c.get("cell_type") == "markdown" and _source(c).lstrip().startswith(SUMMARY_HEADING)
        ),
        None,
    )
    if cell is None:
        out["problem"] = f"the notebook has no markdown cell starting with '{SUMMARY_HEADING}'"
        return out
    out["found"], out["cell_id"] = True, cell.get("id")
    titles = {t.lower(): k for k, t in MLRC_SECTIONS}
    parts: list[tuple[str | None, list[str]]] = [(None, [])]
    body = _source(cell).lstrip()
    if head is not None:
        out["problems"] = summary_contradictions(body, head)
        body, unknown = fill_placeholders(body, head)
        out["problems"] += unknown
    for line in body.splitlines()[1:]:
        if line.startswith("### "):
            parts.append((line[4:].strip(), []))
        else:
            parts[-1][1].append(line)
    for title, lines in parts:
        text = "\n".join(lines).strip()
        if title is None:
            out["intro"] = _markdown(text) if text else None
            continue
        key = titles.get(title.rstrip(" :.").lower())
        if key is None:
            out["other"].append((title, _markdown(text) if text else None))
        elif text:
            out["sections"][key] = _markdown(text)
    return out


def figure_cells(nb_path: Path | str, figures: list[dict[str, Any]]) -> dict[str, str]:
    """``{figure name: id of the code cell that drew it}`` for the `figures` of a ``headline.json``: each figure's
    ``cell`` record (`study.results.current_cell`, written by `study.run.Run.figure` while the cell ran) names the
    cell by its source digest; the first code cell of the notebook at `nb_path` with that digest, at or after the
    cell of the previous figure (else anywhere), is the one (the cell with the recorded id first, where the front
    end sent one and its source still matches). Figures without the record, or whose cell the notebook
    no longer has, are left out (the report then links the executed notebook). Cells without an id are skipped."""
    nb = _read_nb(Path(nb_path))
    cells = [c for c in (nb or {}).get("cells", []) if c.get("cell_type") == "code" and c.get("id")]
    from .results import cell_digest

    digests = [cell_digest(_source(c)) for c in cells]
    found: dict[str, str] = {}
    cursor = 0
    for f in figures:
        rec = f.get("cell") if isinstance(f, dict) else None
        if not isinstance(rec, dict) or not rec.get("cell_sha256"):
            continue
        want = rec["cell_sha256"]
        by_id = [i for i, c in enumerate(cells) if c["id"] == rec.get("cell_id") and digests[i] == want]
        hit = by_id[0] if by_id else next((i for i in range(cursor, len(cells)) if digests[i] == want), None)
        if hit is None:
            hit = next((i for i, d in enumerate(digests) if d == want), None)
        if hit is None:
            continue
        found[str(f.get("name") or "")] = cells[hit]["id"]
        cursor = hit
    return found


# ------------------------------------------------------------------------------------------------- headline.json
class HeadlineError(ValueError):
    """A ``headline.json`` that cannot be shown at all (unreadable, not JSON, not an object); names the file."""


def load_headline(path: Path | str) -> tuple[dict[str, Any], list[str]]:
    """Read a notebook's ``headline.json`` for the report: ``(document, problems)``.

    The document is normalised so the report can show it: claims, deviations and figures that are not objects are
    dropped, a deviation given as a text becomes ``{"setting": text}``. `problems` name the file and what is
    missing or malformed (a claim lacking a field of `study.claims.CLAIM_FIELDS`, an unknown verdict, ...); they are
    shown on the page and do not stop the report.

    Raises:
        HeadlineError: the file cannot be read, is not valid JSON, or is not a JSON object.
    """
    from .claims import CLAIM_FIELDS, DEVIATION_FIELDS, VERDICTS, check_claim

    path = Path(path)
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except OSError as e:
        raise HeadlineError(f"{path}: cannot be read ({e.strerror or e})") from e
    except ValueError as e:
        raise HeadlineError(f"{path}: not valid JSON ({e})") from e
    if not isinstance(doc, dict):
        raise HeadlineError(f"{path}: expected a JSON object, got {type(doc).__name__}")
    if "claims" not in doc:  # issue 19: `{}` or a truncated record is not results
        raise HeadlineError(f"{path}: incomplete, it lacks 'claims'" + (" (an empty object)" if not doc else ""))
    problems: list[str] = [
        f"{path}: lacks '{k}' (whose results these are is not recorded)"
        for k in ("notebook", "profile")
        if k not in doc
    ]

    def listed(key: str) -> list[Any]:
        v = doc.get(key)
        if v is None:
            return []
        if not isinstance(v, list):
            problems.append(f"{path}: '{key}' is not a list")
            return []
        return v

    claims = []
    for i, c in enumerate(listed("claims"), 1):
        if not isinstance(c, dict):
            problems.append(f"{path}: claim {i} is not an object ({str(c)[:60]})")
            continue
        missing = [k for k in CLAIM_FIELDS if k not in c]
        if missing:
            problems.append(f"{path}: claim {i} ({str(c.get('claim'))[:60]!r}) lacks field(s) {', '.join(missing)}")
        if c.get("verdict") not in VERDICTS:
            problems.append(f"{path}: claim {i} has verdict {c.get('verdict')!r}, not one of {', '.join(VERDICTS)}")
        elif not missing:
            try:  # the one shared rule's own checks: a judged claim has a finite mean, n >= MIN_SEEDS, depends_on
                check_claim(c)
            except (ValueError, TypeError) as e:
                problems.append(f"{path}: claim {i} ({str(c.get('claim'))[:60]!r}) does not hold its verdict: {e}")
        claims.append(c)
    devs = []
    for i, d in enumerate(listed("deviations"), 1):
        if isinstance(d, str):
            problems.append(f"{path}: deviation {i} is a text, not a {{{', '.join(DEVIATION_FIELDS)}}} row")
            devs.append({"setting": d})
        elif isinstance(d, dict):
            devs.append(d)
        else:
            problems.append(f"{path}: deviation {i} is not an object")
    figs = []
    for i, f in enumerate(listed("figures"), 1):
        if not isinstance(f, dict) or not f.get("file"):
            problems.append(f"{path}: figure {i} is not an object with a 'file'")
            continue
        if not str(f.get("caption") or "").strip():
            problems.append(f"{path}: figure {f.get('name') or f['file']!r} has no caption")
        figs.append(f)
    for key in ("metrics", "runs", "compute", "params", "env"):
        if doc.get(key) is not None and not isinstance(doc[key], dict):
            problems.append(f"{path}: '{key}' is not an object")
            doc[key] = {}
    metrics = {k: v for k, v in (doc.get("metrics") or {}).items() if isinstance(v, dict)}
    mc = path.parent / "machine_check.json"  # `study.machine_check`: the verdicts under other CPU kernels
    if mc.is_file():
        try:
            check = json.loads(mc.read_text(encoding="utf-8"))
            if check.get("git") != (doc.get("env") or {}).get("git"):
                problems.append(f"{mc}: made for commit {check.get('git')}, not this headline's; not shown")
            else:
                by = check.get("claims") or {}
                claims = [{**c, "machine": by[c.get("claim")]} if c.get("claim") in by else c for c in claims]
        except (OSError, ValueError, AttributeError) as e:
            problems.append(f"{mc}: unreadable ({e})")
    return {**doc, "claims": claims, "deviations": devs, "figures": figs, "metrics": metrics}, problems


# ------------------------------------------------------------------------------------------------- formatting
def _finite(x: Any) -> TypeGuard[float]:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def _num(x: float) -> str:
    if x == 0:
        return "0"
    return f"{x:,.0f}" if abs(x) >= 1e4 else f"{x:.4g}"


def _unit(unit: Any, diff: bool = False) -> tuple[float, str]:
    """(scale, shown unit): fractions are shown in percent, their differences and slopes in percentage points."""
    unit = "" if unit is None else str(unit)
    if unit == "fraction":
        return 100.0, "pp" if diff else "%"
    return 1.0, unit


def fmt_value(x: Any, unit: Any = "", diff: bool = False) -> str:
    """A value for a table: numbers in the unit (fractions in %), texts as they are, nothing / non-finite as "—"."""
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return EMPTY
    if isinstance(x, bool):
        return str(x).lower()
    if _finite(x):
        scale, u = _unit(unit, diff)
        return f"{_num(x * scale)} {u}".strip()
    if isinstance(x, (list, tuple)):
        return ", ".join(fmt_value(v, unit, diff) for v in x) or EMPTY
    if isinstance(x, dict):
        return ", ".join(f"{k}: {fmt_value(v)}" for k, v in x.items()) or EMPTY
    s = str(x).strip()
    return s if s and s.lower() not in ("nan", "none", "null") else EMPTY


def fmt_text(x: Any) -> str:
    return fmt_value(x) if x is not None and not isinstance(x, str) else ((x or "").strip() or EMPTY)


def fmt_ours(c: dict[str, Any]) -> str:
    """A claim's "ours": "mean [low, high] unit (n = k)", "mean unit (n = 1)", or "—" (not tested)."""
    m, ci, n = c.get("mean", c.get("ours")), c.get("ci95"), c.get("n")
    if not _finite(m):
        return EMPTY
    scale, u = _unit(c.get("unit"), diff=c.get("type") in ("ordering", "trend"))
    s = _num(m * scale)
    if isinstance(ci, (list, tuple)) and len(ci) == 2 and all(_finite(v) for v in ci):
        s += f" [{_num(ci[0] * scale)}, {_num(ci[1] * scale)}]"
    s += f" {u}" if u else ""
    return s + (f" (n = {n})" if _finite(n) else "")


def fmt_tolerance(c: dict[str, Any]) -> str:
    t = c.get("tolerance")
    if not _finite(t):
        return EMPTY
    scale, u = _unit(c.get("unit"), diff=True)
    return f"±{_num(t * scale)} {u}".strip()


def _count(x: Any) -> int:
    return int(x) if _finite(x) else 0


def fmt_duration(s: Any) -> str:
    if not _finite(s):
        return EMPTY
    if s < 120:
        return f"{s:.1f} s"
    if s < 7200:
        return f"{s / 60:.1f} min ({s:,.0f} s)"
    return f"{s / 3600:.2f} h ({s:,.0f} s)"


def runs_cell(r: dict[str, Any] | None) -> str:
    """ "N: C cached / R ran / F failed[ / D diverged] (executor)" from a headline's run record (`study.runs.sweep`),
    or "—"."""
    if not r:
        return EMPTY
    text = f"{r.get('total', 0)}: {r.get('cached', 0)} cached / {r.get('ran', 0)} ran / {r.get('failed', 0)} failed"
    if r.get("diverged"):
        text += f" / {r['diverged']} diverged"
    return f"{text} ({r.get('executor') or '?'})"


#: The config entries that name a diverged run in the report (the rest of its config is in headline.json).
RUN_KEYS = ("method", "model", "dataset", "seed", "lr", "lam", "epochs", "variant")


def diverged_runs(r: dict[str, Any] | None) -> list[str]:
    """The diverged runs of a run record, each as "experiment method=…, dataset=…, seed=…: reason" (the config
    entries of `RUN_KEYS` that are set)."""
    out = []
    for d in (r or {}).get("diverged_runs") or []:
        cfg = d.get("config") if isinstance(d.get("config"), dict) else {}
        what = ", ".join(f"{k}={fmt_value(cfg[k])}" for k in RUN_KEYS if cfg.get(k) not in (None, ""))
        out.append(
            f"{d.get('experiment') or 'run'} {what}: {fmt_text(d.get('reason'))}"
            + (" (expected in this sweep)" if d.get("expected") else "")
        )
    return out


# ------------------------------------------------------------------------------------------------ tables (Styler)
def _styler_html(df, uuid: str, css_class: str, classes=None, raw: tuple[str, ...] = ()) -> str:
    """A frame of texts as an HTML table by pandas' Styler: no index, values HTML-escaped except the `raw` columns
    (markupsafe.Markup values), cell classes from the frame `classes` (same shape), ``id="T_<uuid>"``."""
    st = df.style.hide(axis="index").format(escape="html", na_rep=EMPTY)
    for col in raw:
        st = st.format(str, subset=[col], escape=None)
    if classes is not None:
        st = st.set_td_classes(classes)
    return st.set_uuid(uuid).to_html(table_attributes=f'class="{css_class}"')


def claim_anchor(name: str, i: int) -> str:
    """The HTML id of row `i` (0-based) of notebook `name`'s claims table."""
    return f"{name}-claim-{i + 1}"


def verdict_class(v: Any) -> str:
    return "v-" + re.sub(r"[^a-z]+", "-", str(v).lower()).strip("-") if v else ""


def claims_table(claims: list[dict[str, Any]], name: str) -> str:
    """The claims of a notebook as a table: claim (with the row's anchor `claim_anchor`), paper, type, paper value,
    ours = mean [95 % CI] (n), tolerance, verdict (a class per verdict colours it), note."""
    import pandas as pd
    from markupsafe import Markup

    rows = [
        {
            "claim": Markup('<span class="anchor" id="{}">{}</span>').format(
                claim_anchor(name, i), fmt_text(c.get("claim"))
            ),
            "paper": fmt_text(c.get("paper")),
            "type": fmt_text(c.get("type")),
            "paper value": fmt_value(c.get("paper_value"), c.get("unit")),
            "ours: mean [95 % CI] (n)": fmt_ours(c),
            "tolerance": fmt_tolerance(c),
            "verdict": fmt_text(c.get("verdict")),
            "robustness": fmt_robustness(c),
            "machine": fmt_machine(c),
            "depends on": fmt_depends(c),
            "note": fmt_text(c.get("note")),
        }
        for i, c in enumerate(claims)
    ]
    df = pd.DataFrame(rows)
    classes = pd.DataFrame("", index=df.index, columns=df.columns)
    classes["verdict"] = [f"verdict {verdict_class(c.get('verdict'))}" for c in claims]
    classes["ours: mean [95 % CI] (n)"] = "num"
    return _styler_html(df, f"{name}-claims", "claims", classes, raw=("claim",))


def fmt_robustness(c: dict[str, Any]) -> str:
    """The claim's robustness label and, per reading of the paper's open choices, its verdict and mean
    ("robust — alpha=0.01: reproduced 0.82; alpha=0.1: inconclusive 0.11")."""
    rob = c.get("robustness") or EMPTY
    rs = c.get("readings") or {}
    if not rs:
        return str(rob)
    parts = []
    scale, _ = _unit(c.get("unit"), c.get("type") in ("ordering", "trend"))
    for k, r in rs.items():
        mean = r.get("mean")
        shown = f" {_num(mean * scale)}" if _finite(mean) else ""
        flip = " ✱" if k in (c.get("flipped_by") or []) else ""
        parts.append(f"{k}: {r.get('verdict')}{shown}{flip}")
    return f"{rob} — " + "; ".join(parts)


def fmt_machine(c: dict[str, Any]) -> str:
    """ "machine-sensitive (AVX512 → DEFAULT: reproduced → inconclusive)", "stable under …", or "—" (not checked)."""
    m = c.get("machine")
    if not m:
        return EMPTY
    if m.get("sensitive"):
        return f"machine-sensitive ({m.get('from')} → {m.get('to')}: {c.get('verdict')} → {m.get('verdict')})"
    return f"stable ({m.get('from')} → {m.get('to')})"


def fmt_depends(c: dict[str, Any]) -> str:
    """The runs a claim depends on: their number and the first two labels."""
    d = c.get("depends_on") or []
    if not d:
        return EMPTY
    return f"{len(d)} run(s): " + ", ".join(str(x) for x in d[:2]) + (" …" if len(d) > 2 else "")


def training_table(checks: list[dict[str, Any]], name: str) -> str:
    """headline.json's training_checks: per reading and layer, 1 − cos of the reading and of the baseline, their
    ratio and whether the reading trains the layer ("does not train <layer>" otherwise)."""
    import pandas as pd

    rows = [
        {
            "reading": fmt_text(t.get("reading")) + (" (headline)" if t.get("headline") else ""),
            "layer": fmt_text(t.get("layer")),
            "1 − cos, reading": fmt_value(t.get("moved")),
            "1 − cos, baseline": fmt_value(t.get("baseline")),
            "ratio": fmt_value(t.get("ratio")),
            "check": "trains" if t.get("trains") else f"does not train {t.get('layer')}",
        }
        for t in checks
    ]
    df = pd.DataFrame(rows)
    classes = pd.DataFrame("", index=df.index, columns=df.columns)
    classes["check"] = ["" if t.get("trains") else "verdict v-not-reproduced" for t in checks]
    return _styler_html(df, f"{name}-training", "training", classes)


def deviations_table(devs: list[dict[str, Any]], name: str) -> str:
    import pandas as pd

    from .claims import DEVIATION_FIELDS

    df = pd.DataFrame([{k: fmt_text(d.get(k)) for k in DEVIATION_FIELDS} for d in devs], columns=list(DEVIATION_FIELDS))
    return _styler_html(df, f"{name}-deviations", "deviations")


def metrics_table(metrics: dict[str, dict[str, Any]], name: str) -> str:
    """Headline metrics as a long table: metric, method, mean ± half-width of the 95 % CI, n, unit."""
    import pandas as pd

    rows = []
    for key, m in metrics.items():
        metric, _, method = str(key).partition("/")
        scale, u = _unit(m.get("unit"))
        mean, ci = m.get("mean"), m.get("ci95")
        if not _finite(mean):
            shown = EMPTY
        elif isinstance(ci, (list, tuple)) and len(ci) == 2 and all(_finite(v) for v in ci):
            shown = f"{_num(mean * scale)} ± {_num((ci[1] - ci[0]) / 2 * scale)}"
        else:
            shown = f"{_num(mean * scale)} (no interval)"
        rows.append(
            {
                "metric": metric,
                "method": method or EMPTY,
                "mean ± 95 % CI": shown,
                "n": fmt_value(m.get("n")),
                "unit": u or EMPTY,
            }
        )
    df = pd.DataFrame(rows, columns=["metric", "method", "mean ± 95 % CI", "n", "unit"])
    classes = pd.DataFrame("", index=df.index, columns=df.columns)
    classes["mean ± 95 % CI"] = classes["n"] = "num"
    return _styler_html(df, f"{name}-metrics", "metrics", classes)


def tolerances_table() -> str:
    """`study.claims.tolerances_table` as HTML (fractions also in percentage points)."""
    from .claims import tolerances_table as frame

    df = frame()
    df["tolerance"] = [
        f"±{t:g}" + (f" ({_num(100 * t)} pp)" if u == "fraction" else "") for t, u in zip(df["tolerance"], df["unit"])
    ]
    return _styler_html(df.astype(str), "tolerances", "tolerances")


# -------------------------------------------------------------------------------------- data parts of the summary
def _pick(params: dict[str, Any], keys: tuple[str, ...], *, contains: bool) -> list[tuple[str, str]]:
    out = []
    for k, v in params.items():
        hit = bool(set(re.split(r"[^a-z0-9]+", k.lower())) & set(keys)) if contains else k.lower() in keys
        if hit:
            text = fmt_value(v)
            out.append((k, text if len(text) <= 300 else text[:297] + "…"))
    return out


def scope_facts(claims: list[dict[str, Any]]) -> list[tuple[str, str]]:
    from collections import Counter

    if not claims:
        return [("claims", "none recorded")]
    types = Counter(str(c.get("type") or "untyped") for c in claims)
    papers = list(dict.fromkeys(str(c.get("paper") or EMPTY).split(",")[0].strip() for c in claims))
    tested = sum(c.get("verdict") != "not tested" for c in claims)
    return [
        ("claims", f"{len(claims)} ({tested} tested, {len(claims) - tested} not tested)"),
        ("by type", ", ".join(f"{n} {t}" for t, n in types.most_common())),
        ("from", "; ".join(papers)),
    ]


def methodology_facts(head: dict[str, Any]) -> list[tuple[str, str]]:
    params, runs = head.get("params") or {}, head.get("runs") or {}
    facts = [("profile", fmt_text(head.get("profile")))]
    seeds = _pick(params, SEED_KEYS + ("resnet_seeds", "n_seeds_other"), contains=False)
    ns = sorted({int(c["n"]) for c in head.get("claims", []) if _finite(c.get("n")) and c.get("n")})
    if ns:
        seeds.append(("seeds per claim", f"n = {ns[0]}" + (f"–{ns[-1]}" if ns[-1] != ns[0] else "")))
    facts.append(("seeds", "; ".join(f"{k} {v}" for k, v in seeds) or fmt_text((head.get("env") or {}).get("seed"))))
    if runs:
        facts.append(
            (
                "training runs",
                runs_cell(runs)
                + (f"; {runs['threads_per_run']} torch thread(s) per run" if runs.get("threads_per_run") else ""),
            )
        )
        if runs.get("diverged"):
            facts.append(("diverged runs", f"{runs['diverged']}, listed in the compute record"))
    chosen = _pick(params, SELECTION_KEYS, contains=True)
    facts.append(
        (
            "hyper-parameters chosen",
            "; ".join(f"{k}: {v}" for k, v in chosen)
            if chosen
            else "no selection recorded in headline.json params (see the methodology text and the notebook)",
        )
    )
    return facts


def scorecard(claims: list[dict[str, Any]], name: str) -> dict[str, Any]:
    """Counts per verdict (with their CSS class) and the not-reproduced claims with their row anchors."""
    from .claims import VERDICTS

    counts = [(v, sum(c.get("verdict") == v for c in claims), verdict_class(v)) for v in VERDICTS]
    other = sum(c.get("verdict") not in VERDICTS for c in claims)
    if other:
        counts.append(("other", other, ""))
    failed = [
        (fmt_text(c.get("claim")), claim_anchor(name, i))
        for i, c in enumerate(claims)
        if c.get("verdict") == "not reproduced"
    ]
    from .claims import ROBUSTNESS
    from .claims import counts as claim_counts

    tally = claim_counts(claims)
    robustness = [(r, tally[f"robustness:{r}"]) for r in ROBUSTNESS]
    dep = [
        (fmt_text(c.get("claim")), claim_anchor(name, i), ", ".join(c.get("flipped_by") or []))
        for i, c in enumerate(claims)
        if c.get("robustness") == "reading-dependent"
    ]
    checked = [c for c in claims if c.get("machine")]
    machine = ""
    if checked:
        sens = [c for c in checked if c["machine"].get("sensitive")]
        m0 = checked[0]["machine"]
        machine = (
            f"Machine check ({m0.get('from')} → {m0.get('to')} CPU kernels, {m0.get('sample')}): "
            f"{len(sens)} of {len(checked)} verdicts machine-sensitive"
            + (": " + "; ".join(str(c.get("claim")) for c in sens) if sens else "")
            + "."
        )
    return {
        "counts": counts,
        "not_reproduced": failed,
        "total": len(claims),
        "robustness": robustness,
        "reading_dependent": dep,
        "machine": machine,
        "robust_line": robust_line(claims),
    }


def robust_line(claims: list[dict[str, Any]]) -> str:
    """ "robust / reading-dependent / machine-sensitive" counts of the judged claims ("—" for machine-sensitive
    when no machine check was made)."""
    from .claims import counts as claim_counts

    t = claim_counts(claims)
    checked = any(c.get("machine") for c in claims)
    return (
        f"{t['robustness:robust']} / {t['robustness:reading-dependent']} / "
        f"{t['machine-sensitive'] if checked else EMPTY}"
    )


# ------------------------------------------------------------------------------------------------------- compute
#: Parameters that scale the work of a training run linearly (image_size: quadratically), for `paper_estimate`.
SCALE_KEYS = ("epochs", "n_seeds", "seeds", "n_train", "train_per_class", "train_subset", "image_size")


def _load_params(root: Path, profile: str, name: str) -> dict[str, Any] | None:
    import yaml

    try:
        p = yaml.safe_load((root / "notebooks" / "params" / profile / f"{name}.yaml").read_text(encoding="utf-8"))
    except (OSError, ValueError, yaml.YAMLError):
        return None
    return p if isinstance(p, dict) else None


def paper_estimate(head: dict[str, Any], root: Path | str, name: str) -> dict[str, str]:
    """The paper profile's CPU and GPU time: ``{"cpu", "gpu", "basis"}`` (texts).

    Measured when the notebook ran with the paper profile; else ``compute.paper_estimate`` (``{cpu_s, gpu_s,
    basis}``) when the notebook gives one; else the summed per-run CPU / GPU seconds measured in this run times
    the ratio paper / this profile of the parameters in `SCALE_KEYS` found in both parameter files (a rough bound:
    it does not scale sub-experiments separately, nor the speed of another device).
    """
    compute = head.get("compute") or {}
    cpu, gpu = compute.get("run_cpu_s"), compute.get("run_gpu_s")
    profile = head.get("profile")
    if profile == "paper":
        return {
            "cpu": fmt_duration(cpu),
            "gpu": fmt_duration(gpu),
            "basis": "measured: this run used the paper profile",
        }
    given = compute.get("paper_estimate")
    if isinstance(given, dict):
        return {
            "cpu": fmt_duration(given.get("cpu_s")),
            "gpu": fmt_duration(given.get("gpu_s")),
            "basis": fmt_text(given.get("basis") or "estimated by the notebook"),
        }
    if not _finite(cpu) and not _finite(gpu):
        return {"cpu": EMPTY, "gpu": EMPTY, "basis": "no per-run times in headline.json compute"}
    mine, paper = _load_params(Path(root), str(profile), name), _load_params(Path(root), "paper", name)
    if mine is None or paper is None:
        return {
            "cpu": EMPTY,
            "gpu": EMPTY,
            "basis": f"no parameter files notebooks/params/{{{profile},paper}}/{name}.yaml to scale by",
        }
    factor, used = 1.0, []
    for k in SCALE_KEYS:
        a, b = mine.get(k), paper.get(k)
        a, b = (len(a) if isinstance(a, list) else a), (len(b) if isinstance(b, list) else b)
        if _finite(a) and _finite(b) and a > 0 and b > 0 and a != b:
            f = (b / a) ** (2 if k == "image_size" else 1)
            factor *= f
            used.append(f"{k} {a:g}→{b:g} (×{f:.3g})")
    basis = (
        "rough estimate: measured run seconds × "
        + (" × ".join(used) if used else "1 (no scaling parameter differs)")
        + f" = ×{factor:.3g}, at this machine's speed; settings not in {', '.join(SCALE_KEYS)} "
        "are not scaled"
    )
    gpu_s = gpu * factor if _finite(gpu) and gpu > 0 else None
    return {
        "cpu": fmt_duration(cpu * factor if _finite(cpu) else None),
        "gpu": fmt_duration(gpu_s) if gpu_s else "no run used a GPU here (the paper profile uses CUDA when present)",
        "basis": basis,
    }


def compute_rows(head: dict[str, Any], root: Path | str, name: str) -> list[tuple[str, str]]:
    c, runs, env = head.get("compute") or {}, head.get("runs") or {}, head.get("env") or {}
    total = runs.get("total") or 0
    run_s = sum(v for v in (c.get("run_cpu_s"), c.get("run_gpu_s")) if _finite(v))
    est = paper_estimate(head, root, name)
    threads = c.get("threads", env.get("threads"))
    return [
        ("wall time of the notebook", fmt_duration(c.get("wall_s", head.get("wall_s")))),
        ("device", fmt_text(c.get("device", env.get("device")))),
        (
            "threads",
            fmt_value(threads)
            + (f" (notebook); {runs['threads_per_run']} per training run" if runs.get("threads_per_run") else ""),
        ),
        ("executor", fmt_text(c.get("executor", runs.get("executor")))),
        (
            "peak memory",
            fmt_value(c.get("peak_rss_mb"), "MiB")
            + (" (resident set, notebook process and its finished children)" if _finite(c.get("peak_rss_mb")) else ""),
        ),
        ("training runs", runs_cell(runs)),
        ("summed run CPU time", fmt_duration(c.get("run_cpu_s"))),
        ("summed run GPU time", fmt_duration(c.get("run_gpu_s"))),
        ("mean time per run", fmt_duration(run_s / total) if total and run_s else EMPTY),
        ("paper profile, CPU time", est["cpu"]),
        ("paper profile, GPU time", est["gpu"]),
        ("paper profile, basis", est["basis"]),
    ]


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
        except (OSError, ValueError) as e:
            out["failed"] = {"reason": f"{folder / FAILED} unreadable ({e})"}
        if not isinstance(out["failed"], dict):
            out["failed"] = {"reason": f"{folder / FAILED} is not a JSON object ({str(out['failed'])[:60]})"}
        return {**out, "state": "failed"}
    if not (folder / "headline.json").is_file():
        return {**out, "state": "not run"}
    if not (folder / INPUTS).is_file():
        return {**out, "state": "unchecked", "reasons": [f"no {INPUTS}: the inputs it ran with are not recorded"]}
    try:
        out["inputs"] = json.loads((folder / INPUTS).read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        return {**out, "state": "outdated", "reasons": [f"{folder / INPUTS} unreadable ({e})"]}
    if not isinstance(out["inputs"], dict) or not isinstance(out["inputs"].get("overrides", {}), dict):
        bad, out["inputs"] = out["inputs"], None
        return {
            **out,
            "state": "outdated",
            "reasons": [
                f"{folder / INPUTS} is not an inputs record (a JSON object "
                f"whose 'overrides' is an object): {str(bad)[:80]}"
            ],
        }
    reasons = own_record_reasons(folder / "headline.json", out["inputs"]) + outdated_reasons(
        out["inputs"], root, profile
    )
    return {**out, "state": "outdated" if reasons else "current", "reasons": reasons}


def own_record_reasons(headline: Path, inputs: dict[str, Any]) -> list[str]:
    """Why a headline.json is not the output of the execution `inputs` (its inputs.json) records (issue 19): its own
    notebook, profile or commit differ from inputs.json's. Unreadable files are left to `load_headline`."""
    try:
        head = json.loads(Path(headline).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    if not isinstance(head, dict):
        return []
    out = []
    for key, theirs in (
        ("notebook", head.get("notebook")),
        ("profile", head.get("profile")),
        ("git", (head.get("env") or {}).get("git") if isinstance(head.get("env"), dict) else None),
    ):
        ours = inputs.get(key)
        if theirs not in (None, "unknown") and ours not in (None, "unknown") and theirs != ours:
            out.append(
                f"headline.json says {key} {theirs}, but {INPUTS} says {ours}: these results are "
                "not the output of the recorded execution"
            )
    return out


def _rerun_hint(profile: str | None) -> str:
    return f"make reproduce PROFILE={profile}" if profile and profile != "default" else "make reproduce"


def _run_one_hint(name: str, profile: str | None) -> str:
    return f"make reports/{name}/headline.json" + (f" PROFILE={profile}" if profile and profile != "default" else "")


def _inputs_line(inputs: dict[str, Any] | None) -> str:
    if not inputs:
        return ""
    return (
        f"inputs: profile {inputs.get('profile')}, notebook sha256 {str(inputs.get('notebook_sha256', ''))[:12]}, "
        f"parameters sha256 {str(inputs.get('params_sha256', ''))[:12]}, study/ sha256 "
        f"{str(inputs.get('study_sha256', ''))[:12]}, commit {inputs.get('git')}, started {inputs.get('started')}"
    )


def _names(reports: Path, root: Path) -> list[str]:
    """Notebooks with outputs in `reports` (a folder or an unfinished ``.<nb>.tmp``) or a source in root/notebooks."""
    names: set[str] = set()
    if reports.exists():
        for p in reports.iterdir():
            if p.is_dir() and p.name[:2].isdigit():
                names.add(p.name)
            elif p.is_dir() and p.name.startswith(".") and p.name.endswith(".tmp") and p.name[1:3].isdigit():
                names.add(p.name[1 : -len(".tmp")])
    names.update(p.stem for p in (root / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    return sorted(names)


def _figures(
    head: dict[str, Any], folder: Path, name: str, nb_page: str | None, executed: Path
) -> tuple[list[dict[str, Any]], list[str], list[str]]:
    """The figures of a headline as template rows, the PNGs in `folder` it does not list, and problems."""
    figs, problems = [], []
    cells = figure_cells(executed, head["figures"]) if nb_page else {}
    for i, f in enumerate(head["figures"], 1):
        fname = str(f.get("name") or Path(str(f["file"])).stem)
        inside = (folder / str(f["file"])).resolve().parent == folder.resolve()
        exists = inside and (folder / str(f["file"])).is_file()
        if not inside:  # issue 19: a figure is a file of this notebook's folder, never a path elsewhere
            problems.append(f"figure {fname!r}: its file {str(f['file'])!r} is not inside {folder}; not shown")
        elif not exists:
            problems.append(f"{folder / str(f['file'])}: figure {fname!r} is listed in headline.json but missing")
        cell = cells.get(fname)
        figs.append(
            {
                "anchor": f"{name}-fig-{re.sub(r'[^A-Za-z0-9_.-]+', '-', fname)}",
                "number": i,
                "name": fname,
                "src": f"{name}/{f['file']}" if exists else None,
                "file": f"{name}/{f['file']}",
                "caption": fmt_text(f.get("caption")),
                "paper_ref": str(f.get("paper_ref") or "").strip(),
                "cell": f"{nb_page}#cell-id={cell}" if cell else None,
                "page": nb_page,
            }
        )
    listed = {str(f["file"]) for f in head["figures"]}
    others = [f"{name}/{p.name}" for p in sorted(folder.glob("*.png")) if p.name not in listed]
    return figs, others, problems


def notebook_section(reports: Path, name: str, *, root: Path, profile: str | None, render: bool) -> dict[str, Any]:
    """Everything the templates show of notebook `name` (see ``templates/notebook.html.j2``)."""
    folder = reports / name
    executed = folder / f"{name}.ipynb"
    st = notebook_state(reports, name, root=root, profile=profile)
    state = st["state"]
    src_nb = root / "notebooks" / f"{name}.ipynb"
    title = notebook_title(executed) if executed.exists() else (notebook_title(src_nb) if src_nb.exists() else name)
    nb = {
        "name": name,
        "anchor": name,
        "title": title,
        "state": state,
        "reasons": st["reasons"],
        "rerun": _rerun_hint(profile),
        "run_one": _run_one_hint(name, profile),
        "problems": [],
        "error": None,
        "toc": [],
        "head": None,
        "page": None,
    }
    if state in ("interrupted", "failed", "not run") and render:
        (reports / f"{name}.html").unlink(missing_ok=True)
    if state == "interrupted":
        tmp = tmp_dir(reports, name)
        nb.update(tmp=tmp.name, started=_mtime(tmp), log=f"{tmp.name}/{LOG}", log_exists=(tmp / LOG).is_file())
        return nb
    if state == "failed":
        f = st["failed"] or {}
        log = f"{name}/{f.get('log') or FAILED_DIR + '/' + LOG}"
        nb.update(
            failed=f,
            log=log,
            log_exists=(reports / log).is_file(),
            previous=(f.get("previous") or {}),
            log_tail="\n".join(f.get("log_tail") or []),
        )
        failed_nb = folder / FAILED_DIR / f"{name}.ipynb"
        if failed_nb.exists() and render:
            try:
                render_notebook(failed_nb, reports / f"{name}.html")
                nb["page"] = f"{name}.html"
            except Exception as e:  # a half-written notebook must not stop the report
                nb["render_error"] = str(e)
        return nb
    if state == "not run":
        nb["log"] = f"{name}/{LOG}" if (folder / LOG).is_file() else None
        return nb
    try:
        head, problems = load_headline(folder / "headline.json")
    except HeadlineError as e:
        nb.update(state="error", error=str(e))
        return nb
    if executed.exists() and render:
        try:
            render_notebook(executed, reports / f"{name}.html")
        except Exception as e:  # an unreadable executed notebook must not stop the report
            problems.append(f"{executed}: could not be rendered ({e})")
    if (reports / f"{name}.html").is_file() and executed.exists():
        nb["page"] = f"{name}.html"
    figs, others, fig_problems = _figures(head, folder, name, nb["page"], executed)
    claims = head["claims"]
    summary = reproducibility_summary(executed if executed.exists() else src_nb, head)
    problems += [f"reproducibility summary: {p}" for p in summary.get("problems") or []]
    nb.update(
        head=head,
        problems=problems + fig_problems,
        inputs_line=_inputs_line(st["inputs"]),
        env_line=", ".join(f"{k} {fmt_value(v)}" for k, v in (head.get("env") or {}).items()),
        profile=fmt_text(head.get("profile")),
        wall=fmt_duration(head.get("wall_s")),
        runs=runs_cell(head.get("runs")),
        diverged=diverged_runs(head.get("runs")),
        scorecard=scorecard(claims, name),
        summary=summary,
        summary_cell=(f"{nb['page']}#cell-id={summary['cell_id']}" if nb["page"] and summary["cell_id"] else None),
        scope=scope_facts(claims),
        methodology=methodology_facts(head),
        claims_html=claims_table(claims, name) if claims else None,
        deviations_html=deviations_table(head["deviations"], name) if head["deviations"] else None,
        metrics_html=metrics_table(head["metrics"], name) if head["metrics"] else None,
        training_html=training_table(head["training_checks"], name) if head.get("training_checks") else None,
        figures=figs,
        other_images=others,
        compute=compute_rows(head, root, name),
    )
    nb["toc"] = [
        (f"{name}-{k}", label)
        for k, label in (
            ("scorecard", "Scorecard"),
            ("summary", "Reproducibility summary"),
            ("claims", "Claims"),
            ("deviations", "Deviations"),
            ("metrics", "Headline metrics"),
            ("figures", "Figures"),
            ("compute", "Compute"),
        )
    ]
    return nb


def _environment():
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        autoescape=jinja2.select_autoescape(["html", "j2"], default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
        finalize=lambda x: EMPTY if x is None else x,
    )  # never "None" on the page
    env.filters["vclass"] = verdict_class
    return env


def build_report(
    reports: Path | str = "reports", *, render: bool = True, root: Path | str | None = None, profile: str | None = None
) -> tuple[Path, list[str]]:
    """`build`, also returning the errors (unreadable ``headline.json`` files, by name)."""
    from .claims import CONFIDENCE, MIN_SEEDS, VERDICTS
    from .results import atomic_write_text

    reports = Path(reports)
    root = Path(root) if root is not None else reports.resolve().parent
    notebooks = []
    for n in _names(reports, root):
        try:
            notebooks.append(notebook_section(reports, n, root=root, profile=profile, render=render))
        except Exception as e:  # malformed outputs of one notebook must not stop the report of the others
            notebooks.append(
                {
                    "name": n,
                    "anchor": n,
                    "title": n,
                    "state": "error",
                    "toc": [],
                    "head": None,
                    "reasons": [],
                    "rerun": _rerun_hint(profile),
                    "run_one": _run_one_hint(n, profile),
                    "error": f"{reports / n / 'headline.json'}: could not be shown ({type(e).__name__}: {e})",
                }
            )
    errors = [nb["error"] for nb in notebooks if nb["error"]]
    shown = [nb["head"] for nb in notebooks if nb["head"]]
    walls = [h.get("wall_s") for h in shown if _finite(h.get("wall_s"))]
    totals = {
        "wall": fmt_duration(sum(walls)) if walls else EMPTY,
        "runs": ", ".join(
            f"{sum(_count((h.get('runs') or {}).get(k)) for h in shown)} {k}"
            for k in ("total", "cached", "ran", "failed", "diverged")
        ),
        "counts": [sum(c.get("verdict") == v for h in shown for c in h["claims"]) for v in VERDICTS],
        "robust_line": robust_line([c for h in shown for c in h["claims"]]),
    }
    page = (
        _environment()
        .get_template("index.html.j2")
        .render(
            notebooks=notebooks,
            totals=totals,
            shown=len(shown),
            verdicts=VERDICTS,
            profile=profile,
            rerun=_rerun_hint(profile),
            stamp=datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            min_seeds=MIN_SEEDS,
            confidence=int(round(100 * CONFIDENCE)),
            tolerances_html=tolerances_table(),
            empty=EMPTY,
            mlrc=MLRC_SECTIONS,
            not_written=NOT_WRITTEN,
        )
    )
    return atomic_write_text(reports / "index.html", page), errors


def build(
    reports: Path | str = "reports", *, render: bool = True, root: Path | str | None = None, profile: str | None = None
) -> Path:
    """Render every executed notebook ``reports/<nb>/<nb>.ipynb`` to ``reports/<nb>.html`` and write
    ``reports/index.html`` (module docstring). Returns the index path.

    Each notebook's state (`notebook_state`) decides what is shown: a notebook not run, failed or interrupted is
    listed as such with its log and without verdicts (for a failed one, ``reports/<nb>.html`` is its failed
    notebook); an outdated one (inputs differ from those in the repository `root`, default: the folder above
    `reports`, or `profile`, the current profile, differs) is shown with a warning naming what changed; one whose
    ``headline.json`` cannot be read shows the error naming the file. Notebooks of ``root/notebooks`` without any
    output are listed as not run, with the command that runs them.
    """
    return build_report(reports, render=render, root=root, profile=profile)[0]


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
        ap.add_argument("--no-render", action="store_true", help="do not render the notebooks with nbconvert")
        a = ap.parse_args(args)
        index, errors = build_report(Path(a.reports), render=not a.no_render, root=a.root, profile=a.profile or None)
        print(f"wrote {index}")
        for e in errors:
            print(f"error: {e}", file=sys.stderr)
        return 1 if errors else 0
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
    print(
        f"{Path(a.dest).name} failed: kept the previous outputs of {a.dest}, marked stale by {marker}; log: "
        f"{Path(a.dest) / FAILED_DIR / LOG}",
        file=sys.stderr,
    )
    return 1


if __name__ == "__main__":
    raise SystemExit(main())
