"""The report index: reads headline.json files (new format: typed claims with 95 % intervals, deviation rows,
captioned figures, compute record), extracts each notebook's reproducibility summary, links figures to the cells that
drew them, flags notebooks not run, failed, interrupted, outdated or with an unreadable headline; a notebook's outputs
are replaced as a unit (`install`, `mark_failed`). The page as a whole is checked in test_report_html.py."""
import json
import re

import nbformat
import pytest

from study import claims as cl
from study import report, results
from test_report_html import SUMMARY, executed_notebook, fixture_claims, fixture_headline


def test_index_shows_claims_with_intervals_deviations_metrics_figures_and_compute(tmp_path):
    fixture_headline(tmp_path / "01_demo", "01_demo")
    (tmp_path / "02_never_ran").mkdir()
    page = report.build(tmp_path, render=False).read_text()
    # claims: mean [95 % CI] (n) in percent, tolerance, verdict with its colour class, a row anchor per claim
    assert "98.2 [97.95, 98.45] % (n = 3)" in page and "±1 pp" in page
    assert re.search(r'class="[^"]*verdict v-not-reproduced"\s*>not reproduced</td>', page)
    assert page.count('class="anchor" id="01_demo-claim-') == len(fixture_claims())
    # the scorecard lists the not-reproduced claim, linked to its row
    assert '<a href="#01_demo-claim-2">Table 1: sparsity reached</a>' in page
    # deviations as a table; metrics as a long table; the tolerances printed once
    assert "<th" in page and ">2-core CPU budget</td>" in page and ">98.2 ± 0.25</td>" in page
    assert page.count('id="T_tolerances"') == 1 and "0.02 nats of cross-entropy" in page
    # figures with caption and paper reference; compute record
    assert "the paper's Fig. 3" in page and "Training loss per epoch, 3 seeds" in page
    assert "812.5 MiB" in page and "12: 9 cached / 3 ran / 0 failed (processes)" in page and "61.0 s" in page
    # the hyper-parameter selection recorded in params is shown in the methodology
    assert "lr_chosen: 0.1" in page and "selection_rule: highest validation accuracy" in page
    assert "02_never_ran" in page and "Not run" in page
    # an empty value never shows as nan or None
    cells = re.findall(r"<td[^>]*>(.*?)</td>", page, flags=re.S)
    assert not [c for c in cells if re.search(r"\bnan\b|\bNone\b", c)]


def test_values_are_formatted_in_their_unit_and_empty_values_as_a_dash():
    assert report.fmt_value(0.9876, "fraction") == "98.76 %" and report.fmt_value(0.02, "fraction", diff=True) == "2 pp"
    assert report.fmt_value(None) == report.fmt_value(float("nan")) == report.fmt_value("nan") == report.EMPTY
    assert report.fmt_value(692224.0, "weights") == "692,224 weights" and report.fmt_value(0.00012) == "0.00012"
    assert report.fmt_ours({"mean": None, "ci95": None, "n": 0}) == report.EMPTY
    assert report.fmt_ours({"mean": 2.0, "ci95": None, "n": 1, "unit": "nodes"}) == "2 nodes (n = 1)"
    assert report.fmt_ours({"mean": 0.01, "ci95": [0.005, 0.015], "n": 3, "unit": "fraction", "type": "ordering"}
                           ) == "1 [0.5, 1.5] pp (n = 3)"
    assert report.fmt_tolerance({"tolerance": None}) == report.EMPTY
    assert report.fmt_duration(30) == "30.0 s" and report.fmt_duration(600) == "10.0 min (600 s)"


def test_reproducibility_summary_is_extracted_by_section_and_missing_parts_are_not_written(tmp_path):
    nb = executed_notebook(tmp_path / "a.ipynb", "A")
    s = report.reproducibility_summary(nb)
    assert s["found"] and s["cell_id"] and s["problem"] is None
    assert "<em>Table 1</em>" in s["sections"]["scope"] and "validation split" in s["sections"]["methodology"]
    assert "&lt;script&gt;" in s["sections"]["difficult"]          # raw HTML is escaped
    partial = SUMMARY.split("### What was easy")[0] + "### Threats to validity\nFew seeds.\n"
    s = report.reproducibility_summary(executed_notebook(tmp_path / "b.ipynb", "B", summary=partial))
    assert s["sections"]["easy"] is None and s["sections"]["difficult"] is None
    assert [t for t, _ in s["other"]] == ["Threats to validity"]
    s = report.reproducibility_summary(executed_notebook(tmp_path / "c.ipynb", "C", summary=None))
    assert not s["found"] and "Reproducibility summary" in s["problem"]
    assert "no readable notebook" in report.reproducibility_summary(tmp_path / "missing.ipynb")["problem"]


def test_figures_are_linked_to_the_cell_that_drew_them(tmp_path):
    """The cell is the one whose source digest the figure's record names (issue 20: recorded by `Run.figure` while
    the cell ran, not guessed from sources): a computed name, a name spelt nowhere, two figures of one cell."""
    v4 = nbformat.v4
    srcs = ["nb.figure(fig, 'loss', caption='c')", "for name, fig in figs.items():\n    show(fig, name, 'c')",
            "fx.report(nb, fx.first())", "display(table)", "nb.figure(fig, 'loss', caption='c')"]
    cells = [v4.new_code_cell(x) for x in srcs]
    path = tmp_path / "n.ipynb"
    nbformat.write(v4.new_notebook(cells=cells), str(path))
    ids = [c.id for c in cells]

    def fig(name, src):
        return {"name": name, "cell": {"cell_sha256": results.cell_digest(src), "execution_count": 1}}
    figures = [fig("loss", srcs[0]), fig("computed_a", srcs[1]), fig("computed_b", srcs[1]),
               fig("inside_study", srcs[2]), fig("loss_again", srcs[4]), {"name": "no_record"},
               fig("gone", "a cell the notebook no longer has")]
    found = report.figure_cells(path, figures)
    assert found == {"loss": ids[0], "computed_a": ids[1], "computed_b": ids[1], "inside_study": ids[2],
                     "loss_again": ids[4]}   # the same source twice: the one after the previous figure's cell
    assert results.cell_digest("  x = 1\n") == results.cell_digest("x = 1")


def test_the_figure_record_names_the_cell_ipython_is_running():
    from IPython.core.interactiveshell import InteractiveShell
    results._CELL.clear()
    assert results.current_cell() == {}          # outside IPython (a worker, a script): nothing recorded
    shell = InteractiveShell.instance()
    try:
        shell.run_cell("from study import results as _r\n_r.watch_cells()\n_r.watch_cells()", store_history=False)
        for src in ("rec = _r.current_cell()\n", "x = 1\nrec2 = _r.current_cell()"):
            shell.run_cell(src, store_history=False)   # as nbval runs cells: no history
        assert shell.user_ns["rec"] == {"cell_sha256": results.cell_digest("rec = _r.current_cell()")}
        assert shell.user_ns["rec2"]["cell_sha256"] == results.cell_digest("x = 1\nrec2 = _r.current_cell()")
        shell.run_cell("rec3 = _r.current_cell()", store_history=False, cell_id="abc-1")   # JupyterLab sends ids
        assert shell.user_ns["rec3"]["cell_id"] == "abc-1"
        assert len(shell.events.callbacks["pre_run_cell"]) == 1   # watching twice registers one watcher
    finally:
        InteractiveShell.clear_instance()
        results._CELL.clear()


def test_rendered_notebook_cells_carry_the_ids_the_report_links_to(tmp_path):
    """nbconvert 7 writes ``id="cell-id=<id>"`` on every cell: the anchor `figure_cells` links point at."""
    nb = executed_notebook(tmp_path / "01_x" / "01_x.ipynb", "X")
    out = report.render_notebook(nb, tmp_path / "01_x.html").read_text()
    for c in nbformat.read(str(nb), 4).cells:
        assert f'id="cell-id={c.id}"' in out


def test_headline_problems_are_named_and_an_unreadable_headline_is_an_error_naming_the_file(tmp_path):
    old = {"claims": [{"paper": "P", "claim": "old style", "paper_value": 1.0, "ours": 1.0, "verdict": "partly"},
                      "not an object"],
           "deviations": ["28 px instead of 104 px"], "figures": [{"file": "a.png", "caption": ""}],
           "metrics": []}
    (tmp_path / "headline.json").write_text(json.dumps(old))
    doc, problems = report.load_headline(tmp_path / "headline.json")
    text = "\n".join(problems)
    assert "lacks field(s) type" in text and "'partly'" in text and "claim 2 is not an object" in text
    assert "deviation 1 is a text" in text and "has no caption" in text and "'metrics' is not an object" in text
    assert doc["deviations"] == [{"setting": "28 px instead of 104 px"}] and len(doc["claims"]) == 1
    for bad, why in (("{nope", "not valid JSON"), ("[1, 2]", "expected a JSON object")):
        (tmp_path / "headline.json").write_text(bad)
        with pytest.raises(report.HeadlineError, match=re.escape(str(tmp_path / "headline.json")) + ".*" + why):
            report.load_headline(tmp_path / "headline.json")


def test_a_corrupt_headline_is_shown_as_an_error_and_the_command_exits_1(tmp_path):
    reports = tmp_path / "reports"
    fixture_headline(reports / "01_good", "01_good")
    (reports / "02_bad").mkdir()
    (reports / "02_bad" / "headline.json").write_text("{")
    assert report.main([str(reports), "--no-render"]) == 1
    page = (reports / "index.html").read_text()
    assert f"{reports / '02_bad' / 'headline.json'}: not valid JSON" in page
    assert "Table 1: sparsity reached" in page                   # the rest of the report is built
    # valid JSON of the wrong shapes: shown as far as possible, with the problems named
    (reports / "02_bad" / "headline.json").write_text(json.dumps(
        {"claims": [{"claim": "odd", "n": "three", "mean": "x", "ci95": [1], "verdict": "reproduced"}],
         "runs": {"total": "many"}, "metrics": {"a/b": {"mean": None, "ci95": "wide"}}, "figures": "none",
         "wall_s": "long", "params": {"seeds": None}}))
    assert report.main([str(reports), "--no-render"]) == 0
    page = (reports / "index.html").read_text()
    assert "odd" in page and "lacks field(s)" in page and "&#39;figures&#39; is not a list" in page
    (reports / "02_bad" / "headline.json").unlink()
    assert report.main([str(reports), "--no-render"]) == 0


def test_notebooks_without_outputs_are_listed_with_the_command_that_runs_them(tmp_path):
    root = tmp_path / "repo"
    for n in ("00_a", "01_b"):
        executed_notebook(root / "notebooks" / f"{n}.ipynb", f"Title {n}")
    fixture_headline(root / "reports" / "01_b", "01_b")
    page = report.build(root / "reports", render=False, root=root, profile="default").read_text()
    assert "Partial report" in page and "1 of 2 notebooks" in page and "Title 00_a" in page
    assert "make reports/00_a/headline.json</code>" in page and "make reproduce</code>" in page


def test_paper_profile_compute_is_measured_given_or_scaled_from_the_parameters(tmp_path):
    head = {"profile": "paper", "compute": {"run_cpu_s": 7200.0, "run_gpu_s": 0.0}}
    assert report.paper_estimate(head, tmp_path, "01_x")["basis"].startswith("measured")
    head = {"profile": "default", "compute": {"run_cpu_s": 100.0, "run_gpu_s": 0.0,
                                              "paper_estimate": {"cpu_s": 3600, "gpu_s": 60, "basis": "by plan"}}}
    assert report.paper_estimate(head, tmp_path, "01_x") == {"cpu": "60.0 min (3,600 s)", "gpu": "60.0 s",
                                                             "basis": "by plan"}
    for profile, text in (("default", "epochs: 10\nimage_size: 32\nseeds: [0, 1]\nlr: 0.1\n"),
                          ("paper", "epochs: 50\nimage_size: 64\nseeds: [0, 1, 2, 3]\nlr: 0.01\n")):
        p = tmp_path / "notebooks" / "params" / profile / "01_x.yaml"
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
    head = {"profile": "default", "compute": {"run_cpu_s": 100.0, "run_gpu_s": 0.0}}
    est = report.paper_estimate(head, tmp_path, "01_x")
    assert est["cpu"] == "66.7 min (4,000 s)" and "×40" in est["basis"] and "image_size 32→64 (×4)" in est["basis"]
    assert "no run used a GPU" in est["gpu"]
    assert "no parameter files" in report.paper_estimate(head, tmp_path, "02_y")["basis"]


def _headline(folder, run: str, verdict: str = "reproduced"):
    claim = cl.judge("P", f"claim of run {run}", "point", [1.0, 1.0, 1.0], paper_value=1.0, quantity="ratio",
                     depends_on=[f"run{run}"])
    claim = {**claim, "verdict": verdict}
    results.write_headline(folder, notebook=folder.name, profile="smoke", wall_s=1.0, env={"git": "abc"},
                           metrics={}, claims=[claim], params={"run": run})


def _repo(tmp_path, name="01_demo"):
    """A repository with one notebook, its smoke parameters and a study/ package."""
    root = tmp_path / "repo"
    (root / "notebooks" / "params" / "smoke").mkdir(parents=True)
    (root / "notebooks" / f"{name}.ipynb").write_text('{"cells": []}')
    (root / "notebooks" / "params" / "smoke" / f"{name}.yaml").write_text("epochs: 1\n")
    (root / "study").mkdir()
    (root / "study" / "a.py").write_text("x = 1\n")
    return root


def test_install_replaces_the_whole_folder_and_refuses_an_unfinished_execution(tmp_path):
    dest, tmp = tmp_path / "01_demo", tmp_path / ".01_demo.tmp"
    dest.mkdir()
    _headline(dest, "1")
    (dest / "old_figure.png").write_bytes(b"x")
    tmp.mkdir()
    (tmp / "papermill.log").write_text("ok\n")
    with pytest.raises(FileNotFoundError, match=r"\.01_demo\.tmp/headline\.json"):
        report.install(tmp, dest)
    assert (dest / "old_figure.png").exists() and tmp.exists()
    (tmp / "headline.json").write_text("{not json")
    with pytest.raises(ValueError, match="headline.json"):
        report.install(tmp, dest)
    _headline(tmp, "2")
    report.install(tmp, dest)
    assert sorted(f.name for f in dest.iterdir()) == ["headline.json", "papermill.log"]
    assert json.loads((dest / "headline.json").read_text())["params"]["run"] == "2"
    assert sorted(f.name for f in tmp_path.iterdir()) == ["01_demo"]


def test_failed_execution_is_shown_as_failed_with_its_log_not_with_the_previous_verdicts(tmp_path):
    reports = tmp_path / "reports"
    dest, tmp = reports / "01_demo", report.tmp_dir(reports, "01_demo")
    dest.mkdir(parents=True)
    _headline(dest, "1")
    tmp.mkdir()
    (tmp / "papermill.log").write_text("".join(f"line {i}\n" for i in range(100)) + "RuntimeError: boom\n")
    marker = report.mark_failed(tmp, dest, exit_code=1)
    doc = json.loads(marker.read_text())
    assert marker == dest / "FAILED.json" and doc["exit_code"] == 1 and doc["previous"]["headline"]
    assert doc["log_tail"][-1] == "RuntimeError: boom" and len(doc["log_tail"]) == report.TAIL_LINES
    assert (dest / "failed" / "papermill.log").exists() and not tmp.exists() and (dest / "headline.json").exists()
    assert report.notebook_state(reports, "01_demo", root=tmp_path)["state"] == "failed"
    page = report.build(reports, render=False, root=tmp_path).read_text()
    assert "claim of run 1" not in page and "Failed" in page and "RuntimeError: boom" in page
    assert 'href="01_demo/failed/papermill.log"' in page and "are stale" in page
    # a first execution that fails has no previous outputs
    tmp2 = report.tmp_dir(reports, "02_new")
    tmp2.mkdir()
    report.mark_failed(tmp2, reports / "02_new", exit_code=2, reason="kernel died")
    page = report.build(reports, render=False, root=tmp_path).read_text()
    assert "kernel died" in page and page.count("last execution failed") == 2


def test_an_execution_left_unfinished_hides_the_previous_verdicts(tmp_path):
    reports = tmp_path / "reports"
    _headline(reports / "01_demo", "1")
    report.tmp_dir(reports, "01_demo").mkdir()       # what a killed `make reproduce` leaves
    (report.tmp_dir(reports, "01_demo") / "papermill.log").write_text("Executing\n")
    report.tmp_dir(reports, "02_first").mkdir()      # ... also when it was the notebook's first execution
    page = report.build(reports, render=False, root=tmp_path).read_text()
    assert "claim of run 1" not in page and page.count("<b>Interrupted</b>") == 2
    assert 'href=".01_demo.tmp/papermill.log"' in page and "02_first" in page
    assert ".02_first.tmp/papermill.log (not written)" in page     # no link to a log that does not exist


def test_outdated_inputs_are_flagged_with_what_changed(tmp_path):
    root = _repo(tmp_path)
    rec = report.inputs_record("01_demo", "smoke", root)
    assert rec["notebook_file"] == "notebooks/01_demo.ipynb" and rec["profile"] == "smoke"
    assert report.outdated_reasons(rec, root) == [] and report.outdated_reasons(rec, root, "smoke") == []
    assert report.outdated_reasons(rec, root, "paper") == ["ran with profile smoke, the current profile is paper"]
    (root / "study" / "a.py").write_text("x = 2\n")
    (root / "notebooks" / "params" / "smoke" / "01_demo.yaml").write_text("epochs: 3\n")
    assert report.outdated_reasons(rec, root) == ["the parameters in notebooks/params/smoke/01_demo.yaml changed since",
                                                  "the study/ package changed since"]
    (root / "notebooks" / "01_demo.ipynb").unlink()
    assert "notebooks/01_demo.ipynb no longer exists" in report.outdated_reasons(rec, root)
    # in the index
    reports = root / "reports"
    _headline(reports / "01_demo", "1")
    (reports / "01_demo" / "inputs.json").write_text(json.dumps(rec))
    page = report.build(reports, render=False).read_text()
    assert "Outdated" in page and "no longer exists" in page and "claim of run 1" in page
    assert "re-run <code>make reproduce</code>" in page


def test_inputs_refuse_missing_files_and_bad_parameters_naming_the_file(tmp_path):
    root = _repo(tmp_path)
    with pytest.raises(FileNotFoundError, match=r"notebooks/params/paper/01_demo\.yaml"):
        report.inputs_record("01_demo", "paper", root)
    (root / "notebooks" / "params" / "smoke" / "01_demo.yaml").write_text("- a list\n")
    with pytest.raises(ValueError, match=r"01_demo\.yaml: expected a mapping"):
        report.inputs_record("01_demo", "smoke", root)
    assert report.main(["inputs", "02_none", "--profile", "smoke", "--root", str(root)]) == 1


def test_a_foreign_or_empty_headline_is_never_shown_as_current(tmp_path):
    """Issue 19: the report checks the headline's own record against inputs.json, and `{}` is unreadable."""
    root = tmp_path / "repo"
    executed_notebook(root / "notebooks" / "01_b.ipynb", "Title 01_b")
    for profile in ("smoke", "default"):
        p = root / "notebooks" / "params" / profile / "01_b.yaml"
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text("epochs: 1\n")
    folder = root / "reports" / "01_b"
    fixture_headline(folder, "01_b", profile="default")  # a default-profile headline ...
    rec = report.inputs_record("01_b", "smoke", root)    # ... in a folder whose inputs.json says smoke
    (folder / report.INPUTS).write_text(json.dumps(rec))
    st = report.notebook_state(root / "reports", "01_b", root=root, profile="smoke")
    assert st["state"] == "outdated" and "headline.json says profile default, but inputs.json says smoke" in \
        st["reasons"][0]
    (folder / "headline.json").write_text("{}")
    with pytest.raises(report.HeadlineError, match="incomplete, it lacks 'claims' \\(an empty object\\)"):
        report.load_headline(folder / "headline.json")


def test_damaged_records_are_named_and_never_shown_as_current(tmp_path):
    """inputs.json or FAILED.json that are not records, and claims whose verdicts their numbers cannot hold."""
    root = tmp_path / "repo"
    executed_notebook(root / "notebooks" / "01_b.ipynb", "Title 01_b")
    p = root / "notebooks" / "params" / "smoke" / "01_b.yaml"
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text("epochs: 1\n")
    folder = root / "reports" / "01_b"
    fixture_headline(folder, "01_b")
    rec = report.inputs_record("01_b", "smoke", root)
    for bad in ([1, 2], None, {**rec, "overrides": [1]}):
        (folder / report.INPUTS).write_text(json.dumps(bad))
        st = report.notebook_state(root / "reports", "01_b", root=root, profile="smoke")
        assert st["state"] == "outdated" and "is not an inputs record" in st["reasons"][0], bad
    (folder / report.INPUTS).write_text(json.dumps(rec))
    assert report.notebook_state(root / "reports", "01_b", root=root, profile="smoke")["state"] == "current"
    (folder / report.FAILED).write_text("[1]")
    st = report.notebook_state(root / "reports", "01_b", root=root, profile="smoke")
    assert st["state"] == "failed" and "FAILED.json is not a JSON object" in st["failed"]["reason"]
    (folder / report.FAILED).unlink()
    doc = json.loads((folder / "headline.json").read_text())
    good = next(c for c in doc["claims"] if c["verdict"] == "reproduced")
    doc["claims"] = [{**good, "claim": "nan mean", "mean": float("nan")},
                     {**good, "claim": "one seed", "n": 1}]
    (folder / "headline.json").write_text(json.dumps(doc))
    _, problems = report.load_headline(folder / "headline.json")
    assert any("'nan mean'" in q and "finite mean" in q for q in problems), problems
    assert any("'one seed'" in q and ">= 3 seeds" in q for q in problems), problems


def test_a_figure_path_outside_the_notebooks_folder_is_not_embedded(tmp_path):
    folder = tmp_path / "reports" / "01_b"
    folder.mkdir(parents=True)
    (tmp_path / "reports" / "secret.png").write_bytes(b"png")
    head = {"figures": [{"name": "x", "file": "../secret.png", "caption": "c"}]}
    figs, _, problems = report._figures(head, folder, "01_b", None, folder / "01_b.ipynb")
    assert figs[0]["src"] is None and "not inside" in problems[0]


def test_notebook_pages_are_offline_and_escape_markdown_html(tmp_path):
    """Issue 19: no script from a CDN; raw HTML in markdown cells escaped; formulas as MathML; cell ids kept."""
    import nbformat
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# T\n\nA formula $\\alpha^2$ and <script>alert(1)</script>"),
                nbformat.v4.new_code_cell("1 + 1")]
    src = tmp_path / "n.ipynb"
    nbformat.write(nb, str(src))
    page = report.render_notebook(src, tmp_path / "n.html").read_text()
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<math" in page and "$\\alpha" not in page
    assert not re.search(r"<script[^>]*src=", page) and "cdnjs" not in page and "MathJax.Hub" not in page
    assert all(f'id="cell-id={c.id}"' in page for c in nb.cells)
