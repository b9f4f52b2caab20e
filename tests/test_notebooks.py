"""Notebook hygiene: committed clean, papermill-parameterised, and every profile file matches the parameters."""
import ast
import json
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
PROFILES = ("smoke", "default", "paper")


def parameters(nb_path):
    nb = json.loads(nb_path.read_text())
    cells = [c for c in nb["cells"] if "parameters" in c.get("metadata", {}).get("tags", [])]
    assert len(cells) == 1, f"{nb_path.name}: exactly one cell must be tagged 'parameters'"
    tree = ast.parse("".join(cells[0]["source"]))
    return {t.id for node in tree.body if isinstance(node, ast.Assign) for t in node.targets
            if isinstance(t, ast.Name)}


def test_there_are_notebooks():
    assert NOTEBOOKS, "no notebooks/NN_name.ipynb found"


@pytest.mark.parametrize("nb_path", NOTEBOOKS, ids=lambda p: p.stem)
def test_committed_without_outputs_and_with_study_kernel(nb_path):
    nb = json.loads(nb_path.read_text())
    assert nb["metadata"]["kernelspec"]["name"] == "study"
    for c in nb["cells"]:
        if c["cell_type"] == "code":
            assert not c.get("outputs") and c.get("execution_count") is None, f"{nb_path.name} has outputs"


@pytest.mark.parametrize("nb_path", NOTEBOOKS, ids=lambda p: p.stem)
@pytest.mark.parametrize("profile", PROFILES)
def test_profile_parameters_are_notebook_parameters(nb_path, profile):
    names = parameters(nb_path)
    assert {"profile", "seed", "device", "out_dir"} <= names
    f = ROOT / "notebooks" / "params" / profile / f"{nb_path.stem}.yaml"
    assert f.exists(), f"missing {f.relative_to(ROOT)}"
    keys = set((yaml.safe_load(f.read_text()) or {}).keys())
    assert keys <= names, f"{f.name} ({profile}) sets unknown parameters {sorted(keys - names)}"
    assert not keys & {"profile", "out_dir"}, "profile and out_dir are set by the Makefile"


@pytest.mark.parametrize("nb_path", NOTEBOOKS, ids=lambda p: p.stem)
def test_papermill_reads_every_parameter(nb_path):
    # papermill's own parser (what `papermill --help-notebook` and JupyterLab extensions show) must see the same
    # names as Python does; a comment it cannot parse (e.g. one holding "=") hides the parameter from it
    from papermill.translators import PythonTranslator
    nb = json.loads(nb_path.read_text())
    cell = next(c for c in nb["cells"] if "parameters" in c.get("metadata", {}).get("tags", []))
    seen = {p.name for p in PythonTranslator.inspect({"source": "".join(cell["source"])})}
    assert seen == parameters(nb_path), f"papermill cannot parse {sorted(parameters(nb_path) - seen)}"


MAX_CODE_LINES = 150  # notebooks tell, study/ computes (issue 10)


@pytest.mark.parametrize("nb_path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_code_is_short_and_trains_through_the_run_store(nb_path):
    nb = json.loads(nb_path.read_text())
    code = ["".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code"]
    lines = sum(len(src.splitlines()) for src in code)
    assert lines <= MAX_CODE_LINES, f"{nb_path.name}: {lines} lines of code (at most {MAX_CODE_LINES})"
    assert "executor" in parameters(nb_path)
    assert any(".sweep(" in src for src in code), f"{nb_path.name} trains outside the run store (no .sweep call)"
