"""A notebook's parameters as papermill would inject them: the literals of its cell tagged ``parameters``,
overridden by ``notebooks/params/<profile>/<notebook>.yaml`` (shared by the bad-input tests)."""
import ast
import json
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent


def cell_values(notebook: str) -> dict:
    """The values assigned in the notebook's cell tagged ``parameters`` (literals only)."""
    nb = json.loads((ROOT / "notebooks" / f"{notebook}.ipynb").read_text())
    cell = next(c for c in nb["cells"] if "parameters" in c.get("metadata", {}).get("tags", []))
    tree = ast.parse("".join(cell["source"]))
    return {t.id: ast.literal_eval(node.value) for node in tree.body if isinstance(node, ast.Assign)
            for t in node.targets if isinstance(t, ast.Name)}


def profile_values(notebook: str, profile: str) -> dict:
    """`cell_values` overridden by the profile's yaml file."""
    over = yaml.safe_load((ROOT / "notebooks" / "params" / profile / f"{notebook}.yaml").read_text()) or {}
    return {**cell_values(notebook), **over}
