"""The report page checked as HTML, without a browser: every link and image resolves (files, and anchors inside
index.html and the rendered notebook pages), the table of contents points at existing anchors, every claim of every
shown headline.json appears in its notebook's claims table, every figure has a caption, no table shows nan or None.

`check_report` is the check. It runs on a report built here from fixture outputs (two notebooks with new-format
headlines, executed notebooks rendered by nbconvert, one notebook not run, one with a corrupt headline.json), and,
when ``STUDY_REPORT_DIR`` is set (``make report-check`` sets it to ``build/nbval/report``, built from the smoke
outputs nbval wrote), on that report too.
"""
from __future__ import annotations

import json
import os
import re
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

from study import claims as cl
from study import report, results

# ------------------------------------------------------------------------------------------------- the HTML check
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}
NAN_OR_NONE = re.compile(r"\bnan\b|\bNaN\b|^\s*None\s*$|None\s*[\]\),±]|[\[\(±]\s*None")


class Page(HTMLParser):
    """The parts of an HTML page the check needs: ids, links, images, figures, table cells, the TOC, claim tables."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.ids: set[str] = set()
        self.links: list[str] = []
        self.images: list[str] = []
        self.toc: list[str] = []
        self.figures: list[dict] = []          # {"id", "imgs": [...], "caption": text}
        self.cells: list[str] = []             # text of every td / th
        self.tables: dict[str, list[str]] = {}  # table id -> texts of its cells
        self.stack: list[tuple[str, dict]] = []
        self._cell: list[str] | None = None
        self._caption: list[str] | None = None
        self._table: str | None = None

    def _inside(self, tag: str, **attrs) -> bool:
        return any(t == tag and all(a.get(k) == v for k, v in attrs.items()) for t, a in self.stack)

    def handle_starttag(self, tag, attrs):
        a = {k: (v or "") for k, v in attrs}
        if a.get("id"):
            self.ids.add(a["id"])
        if tag == "a" and "href" in a:
            self.links.append(a["href"])
            if self._inside("nav", id="toc"):
                self.toc.append(a["href"])
        if tag == "img":
            self.images.append(a.get("src", ""))
            if self.figures and self._inside("figure"):
                self.figures[-1]["imgs"].append(a.get("src", ""))
        if tag == "figure":
            self.figures.append({"id": a.get("id"), "imgs": [], "caption": ""})
        if tag == "figcaption":
            self._caption = []
        if tag == "table":
            self._table = a.get("id") or f"table-{len(self.tables)}"
            self.tables[self._table] = []
        if tag in ("td", "th"):
            self._cell = []
        if tag not in VOID:
            self.stack.append((tag, a))

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            text = " ".join("".join(self._cell).split())
            self.cells.append(text)
            if self._table:
                self.tables[self._table].append(text)
            self._cell = None
        if tag == "figcaption" and self._caption is not None and self.figures:
            self.figures[-1]["caption"] = " ".join("".join(self._caption).split())
            self._caption = None
        if tag == "table":
            self._table = None
        for i in range(len(self.stack) - 1, -1, -1):  # tolerate unclosed inner tags
            if self.stack[i][0] == tag:
                del self.stack[i:]
                break

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)
        if self._caption is not None:
            self._caption.append(data)


def parse(path: Path) -> Page:
    p = Page()
    p.feed(path.read_text(encoding="utf-8"))
    p.close()
    return p


def shown_headlines(reports: Path) -> dict[str, dict]:
    """The headline.json files the index shows as results (not failed, interrupted or unreadable)."""
    out = {}
    for h in sorted(reports.glob("[0-9][0-9]_*/headline.json")):
        name = h.parent.name
        if (h.parent / report.FAILED).exists() or report.tmp_dir(reports, name).exists():
            continue
        try:
            doc = json.loads(h.read_text(encoding="utf-8"))
        except ValueError:
            continue
        if isinstance(doc, dict):
            out[name] = doc
    return out


def check_report(reports: Path) -> list[str]:
    """Everything wrong with ``reports/index.html`` (module docstring); an empty list when it is sound."""
    reports = Path(reports)
    index = reports / "index.html"
    page = parse(index)
    problems: list[str] = []
    pages: dict[Path, Page] = {index.resolve(): page}

    def resolves(ref: str, what: str) -> None:
        parts = urlsplit(ref)
        if parts.scheme in ("http", "https", "mailto") or parts.netloc:
            return  # external: not fetched
        if parts.scheme:
            problems.append(f"{what} {ref!r}: unexpected scheme")
            return
        target = (reports / unquote(parts.path)).resolve() if parts.path else index.resolve()
        if not target.is_file():
            problems.append(f"{what} {ref!r}: no file {target}")
            return
        if parts.fragment:
            if target.suffix != ".html":
                problems.append(f"{what} {ref!r}: an anchor in a non-HTML file")
                return
            if target not in pages:
                pages[target] = parse(target)
            if unquote(parts.fragment) not in pages[target].ids:
                problems.append(f"{what} {ref!r}: no element with id {unquote(parts.fragment)!r} in {target.name}")

    for href in page.links:
        resolves(href, "link")
    for src in page.images:
        resolves(src, "image")
    if not page.toc:
        problems.append("no table of contents (nav#toc with links)")
    for href in page.toc:
        if not href.startswith("#") or href[1:] not in page.ids:
            problems.append(f"TOC entry {href!r} points at no anchor of index.html")
    for f in page.figures:
        if not f["caption"]:
            problems.append(f"figure {f['id']!r} has no caption")
        if not f["imgs"]:
            problems.append(f"figure {f['id']!r} has no image")
    for text in page.cells:
        if NAN_OR_NONE.search(text):
            problems.append(f"table cell shows nan/None: {text!r}")
    for name, head in shown_headlines(reports).items():
        if name not in page.ids:
            problems.append(f"{name}: no section in index.html")
        executed = reports / name / f"{name}.ipynb"
        if executed.is_file():  # issue 17: the summary states no fact its headline.json does not have
            problems += [f"{name}: summary {p}" for p in report.reproducibility_summary(executed, head)["problems"]]
        cells = " | ".join(page.tables.get(f"T_{name}-claims", []))
        for c in head.get("claims") or []:
            text = " ".join(str(c.get("claim", "")).split())
            if text not in cells:
                problems.append(f"{name}: claim {text!r} of headline.json is not in its claims table")
        srcs = {src for f in page.figures for src in f["imgs"]}
        for f in head.get("figures") or []:
            if f"{name}/{f.get('file')}" not in srcs:
                problems.append(f"{name}: figure {f.get('name')!r} of headline.json is not shown as a figure")
    return problems


# ------------------------------------------------------------------------------------------------ fixture outputs
SUMMARY = """## Reproducibility summary

### Scope
We test the paper's *Table 1* accuracy claim and its ordering claim.

### Methodology
Three seeds; the learning rate was chosen on a validation split carved from the training images.

### Results
The accuracy is {{verdict:Table 1: test accuracy of the sparse network}} ({{ours:Table 1: test accuracy of the sparse network}});
{{count:reading-dependent}} claim depends on the reading of $\\alpha$, the smoothing of $\\sqrt{x^2+\\alpha^2}$.

### What was easy
Writing the model from the paper's description.

### What was difficult
The paper gives no batch size. <script>alert(1)</script>
"""


#: the fixture notebook's two figure cells; the fixture headline records their digests as `Run.figure` would
LOSS_CELL = "fig = plot_loss(df)\nnb.figure(fig, 'loss_curves', caption='...', paper_ref='Fig. 3')"
SAMPLES_CELL = "for d in ('letters', 'shapes'):\n    fig = samples(d)\n    nb.figure(fig, f\"samples_{d}\", caption='...')"


def executed_notebook(path: Path, title: str, *, summary: str | None = SUMMARY) -> Path:
    """A small 'executed' notebook: a title, a cell drawing figure `loss_curves`, one drawing `samples_{d}` through
    an f-string, and (unless `summary` is None) the reproducibility summary cell."""
    import nbformat
    v4 = nbformat.v4
    cells = [v4.new_markdown_cell(f"# {title}\n\nA fixture."),
             v4.new_code_cell(LOSS_CELL), v4.new_code_cell(SAMPLES_CELL),
             v4.new_code_cell("%matplotlib inline\nwall = nb.save(df, metrics=m, claims=c)")]
    if summary is not None:
        cells.append(v4.new_markdown_cell(summary))
    nb = v4.new_notebook(cells=cells)
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, str(path))
    return path


def png(path: Path) -> Path:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(2, 1.5))
    ax.plot([0, 1], [1, 0])
    results.save_figure(fig, path, dpi=40)
    plt.close(fig)
    return path


def fixture_claims() -> list[dict]:
    return [
        cl.judge("Paper A, Table 1", "Table 1: test accuracy of the sparse network", "point",
                 [0.981, 0.983, 0.982], paper_value=0.982, quantity="accuracy", note="last epoch, test split",
                 depends_on=["mnist/sl1/seed=0#1", "mnist/sl1/seed=1#2", "mnist/sl1/seed=2#3"]),
        cl.with_readings(
            cl.judge("Paper A, Table 1", "Table 1: sparsity reached", "at_least", [0.50, 0.52, 0.51],
                     paper_value=0.861, quantity="sparsity", depends_on=["mnist/sl1/seed=0#1"]),
            {"alpha=0.1": cl.judge("Paper A, Table 1", "Table 1: sparsity reached", "at_least", [0.50, 0.52, 0.51],
                                   paper_value=0.861, quantity="sparsity", depends_on=["a"]),
             "alpha=0.01": cl.judge("Paper A, Table 1", "Table 1: sparsity reached", "at_least", [0.9, 0.88, 0.87],
                                    paper_value=0.861, quantity="sparsity", depends_on=["b"])}),
        cl.judge("Paper A, §4", "SL1 trains faster than group-L1", "ordering", [0.01, -0.02, 0.005],
                 paper_value="SL1 < group-L1", quantity="loss", depends_on=["mnist/sl1/seed=0#1"]),
        cl.judge("Paper A, §4", "one seed only", "point", [0.5], paper_value=0.5, quantity="fraction",
                 depends_on=["mnist/sl1/seed=0#1"]),
        cl.not_tested("Paper A, Fig. 5", "Fig. 5: accuracy after 50 epochs", "at_least",
                      "the smoke profile trains 1 epoch", paper_value=0.99, quantity="accuracy"),
    ]


def fixture_headline(folder: Path, name: str, *, claims: list[dict] | None = None, profile: str = "smoke") -> Path:
    """A new-format headline.json with figures (files written) in `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    figures = [{"name": "loss_curves", "file": "loss_curves.png", "caption": "Training loss per epoch, 3 seeds "
                "(mean ± sd), MNIST.", "paper_ref": "Fig. 3",
                "cell": {"cell_sha256": results.cell_digest(LOSS_CELL), "execution_count": 2}},
               {"name": "samples_letters", "file": "samples_letters.png", "caption": "Letters, 8 samples, seed 0.",
                "paper_ref": "", "cell": {"cell_sha256": results.cell_digest(SAMPLES_CELL), "execution_count": 3}}]
    for f in figures:
        png(folder / f["file"])
    metrics = {"test_accuracy/sl1": {"mean": 0.982, "std": 0.001, "ci95": [0.9795, 0.9845], "n": 3,
                                     "unit": "fraction"},
               "nodes_pruned/sl1": {"mean": 12.0, "std": 0.0, "ci95": None, "n": 1, "unit": "nodes"},
               "broken/sl1": {"mean": float("nan"), "std": None, "ci95": None, "n": 0, "unit": ""}}
    return results.write_headline(
        folder, notebook=name, profile=profile, wall_s=83.2,
        env={"torch": "2.x", "device": "cpu", "threads": 2, "git": "abc1234", "seed": 0},
        runs={"total": 12, "cached": 9, "ran": 3, "failed": 0, "diverged": 0, "executor": "processes",
              "threads_per_run": 1, "diverged_runs": []},
        metrics=metrics, claims=fixture_claims() if claims is None else claims,
        params={"n_seeds": 3, "epochs": 2, "lr_grid": [0.01, 0.1], "lr_chosen": 0.1,
                "selection_rule": "highest validation accuracy", "optimizer": None},
        deviations=[cl.deviation("image size", "104 px", "32 px", "2-core CPU budget",
                                 "dense layer 10x smaller; ablation row 'size' tests it")],
        figures=figures,
        compute={"wall_s": 83.2, "peak_rss_mb": 812.5, "run_cpu_s": 61.0, "run_gpu_s": 0.0, "device": "cpu",
                 "threads": 2, "executor": "processes"})


def fixture_repo(tmp_path: Path) -> Path:
    """root/notebooks (four notebooks with smoke and paper parameters) and root/reports with: 01 complete (rendered
    later by `report.build`), 02 complete but without a summary cell, 03 with a corrupt headline.json, 00 not run."""
    root = tmp_path / "repo"
    names = ("00_never_ran", "01_alpha", "02_beta", "03_corrupt")
    for n in names:
        executed_notebook(root / "notebooks" / f"{n}.ipynb", f"Notebook {n}")
        for profile, epochs in (("smoke", 2), ("paper", 50)):
            p = root / "notebooks" / "params" / profile / f"{n}.yaml"
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_text(f"epochs: {epochs}\nn_seeds: {3 if profile == 'smoke' else 5}\n")
    reports = root / "reports"
    fixture_headline(reports / "01_alpha", "01_alpha")
    executed_notebook(reports / "01_alpha" / "01_alpha.ipynb", "Paper A: SL1 on MNIST")
    fixture_headline(reports / "02_beta", "02_beta", claims=fixture_claims()[:1])
    executed_notebook(reports / "02_beta" / "02_beta.ipynb", "Paper B", summary=None)
    (reports / "03_corrupt").mkdir(parents=True)
    (reports / "03_corrupt" / "headline.json").write_text('{"claims": [')
    return root


# ------------------------------------------------------------------------------------------------------- tests
def test_fixture_report_passes_the_html_check(tmp_path):
    root = fixture_repo(tmp_path)
    reports = root / "reports"
    index, errors = report.build_report(reports, render=True, root=root, profile="smoke")
    assert check_report(reports) == []
    page = index.read_text()
    # the corrupt headline is an error naming the file, the rest of the report is there
    assert len(errors) == 1 and str(reports / "03_corrupt" / "headline.json") in errors[0]
    assert "not valid JSON" in page and str(reports / "03_corrupt" / "headline.json") in page
    # the notebook without outputs: said which, and how to run it
    assert "make reports/00_never_ran/headline.json PROFILE=smoke" in page and "Partial report" in page
    # figures link to the cell that drew them (literal name, and an f-string name)
    ids = {c.id for c in __import__("nbformat").read(str(reports / "01_alpha" / "01_alpha.ipynb"), 4).cells}
    cells = re.findall(r'href="01_alpha\.html#cell-id=([0-9a-f-]+)"', page)
    assert len(cells) >= 3 and set(cells) <= ids  # two figures and the summary cell
    # the summary: the hand text, escaped; a notebook without it says "not written"
    assert "Writing the model from the paper" in page and "<script>alert" not in page
    beta = page[page.index('id="02_beta"'):page.index('id="03_corrupt"')]
    assert beta.count(report.NOT_WRITTEN) >= 5


def test_summaries_facts_come_from_the_headline_and_contradictions_are_found(tmp_path):
    root = fixture_repo(tmp_path)
    reports = root / "reports"
    report.build(reports, render=False, root=root, profile="smoke")
    page = (reports / "index.html").read_text()
    alpha = page[page.index('id="01_alpha"'):page.index('id="02_beta"')]
    # placeholders filled from headline.json; the generated facts; math as MathML (no script, no network)
    assert "{{" not in alpha, alpha[alpha.index("{{") - 200:alpha.index("{{") + 100]
    assert "<strong>reproduced</strong> (98.2 [97.95, 98.45] % (n = 3))" in alpha
    assert "1 claim depends on the reading" in alpha and "1 reading-dependent" in alpha
    assert "<mi>&#x003B1;</mi>" in alpha and "<msqrt>" in alpha and "$\\alpha$" not in alpha
    assert "<script" not in page
    assert "Of 5 claims, 1 reproduced, 1 not reproduced, 2 inconclusive and 1 not tested" in alpha
    assert "alpha=0.01: reproduced" in alpha and "reading-dependent —" in alpha
    head = json.loads((reports / "01_alpha" / "headline.json").read_text())
    ok = "## Reproducibility summary\n### Results\n{{count:reproduced}} reproduced, 1 inconclusive is wrong"
    problems = report.summary_contradictions(ok, head)
    assert problems == ["states '1 inconclusive' but headline.json has 2 inconclusive"]
    claim = head["claims"][0]["claim"]
    assert report.summary_contradictions(f"{claim} is not reproduced", head) == [
        f"says claim {claim!r} is 'not reproduced' but headline.json has 'reproduced'"]
    assert report.summary_contradictions(f"{claim} is reproduced, 2 inconclusive", head) == []
    filled, unknown = report.fill_placeholders("{{verdict:no such claim}} {{count:robust}}", head)
    assert unknown and "no such claim" in unknown[0] and filled.endswith(" 0")
    # a claim under one reading: its own mean, interval and verdict, not the headline's
    filled, unknown = report.fill_placeholders("{{reading:alpha=0.01|Table 1: sparsity reached}}", head)
    assert not unknown and filled == "88.33 [84.54, 92.13] % (n = 3), **reproduced**", filled
    assert report.fill_placeholders("{{ours:Table 1: sparsity reached}}", head)[0].startswith("51 [")
    filled, unknown = report.fill_placeholders("{{reading:alpha=7|Table 1: sparsity reached}}", head)
    assert filled == "⟨unknown reading alpha=7⟩" and "has no reading 'alpha=7'" in unknown[0]
    # a contradicting summary is a problem of the report check
    nb = reports / "01_alpha" / "01_alpha.ipynb"
    nb.write_text(nb.read_text().replace("{{count:reading-dependent}} claim", "3 claims are reading-dependent;"))
    assert any("states '3 claims are reading-dependent'" in p for p in check_report(reports))


def test_the_check_finds_broken_links_missing_claims_captions_and_nan(tmp_path):
    root = fixture_repo(tmp_path)
    reports = root / "reports"
    report.build(reports, render=False, root=root, profile="smoke")
    assert check_report(reports) == []
    index = reports / "index.html"
    good = index.read_text()
    head = json.loads((reports / "01_alpha" / "headline.json").read_text())
    claim = head["claims"][0]["claim"]
    bad = (good.replace('href="#01_alpha-claims"', 'href="#nowhere"', 1)
           .replace('src="01_alpha/loss_curves.png"', 'src="01_alpha/gone.png"', 1)
           .replace(claim, "something else")
           .replace("<td>profile</td>", "<td>nan</td>"))
    bad = re.sub(r"<figcaption>.*?</figcaption>", "<figcaption> </figcaption>", bad, count=1, flags=re.S)
    index.write_text(bad + "<table><tr><td>0.5 [None, None]</td></tr></table>")
    problems = "\n".join(check_report(reports))
    assert "'#nowhere'" in problems and "gone.png" in problems and "has no caption" in problems
    assert f"claim {claim!r}" in problems and "nan/None" in problems


@pytest.mark.skipif(not os.environ.get("STUDY_REPORT_DIR"), reason="make report-check sets STUDY_REPORT_DIR")
def test_built_report_passes_the_html_check():
    """The report `make report-check` built from the smoke outputs of nbval (build/nbval/report)."""
    reports = Path(os.environ["STUDY_REPORT_DIR"])
    assert (reports / "index.html").is_file(), f"{reports}/index.html: build it first (make report-check)"
    shown = shown_headlines(reports)
    assert shown, f"{reports}: no notebook outputs to check"
    assert check_report(reports) == []
    # every figure nbval's run saved names the cell that drew it, and that cell is in the notebook (issue 20)
    for name in shown:
        head = json.loads((reports / name / "headline.json").read_text())
        cells = report.figure_cells(reports / name / f"{name}.ipynb", head["figures"])
        assert [f["name"] for f in head["figures"] if f["name"] not in cells] == [], name
