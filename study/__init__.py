"""A thin package behind the notebooks: data, models, penalties and proximal operators, RVSM, the Renyi mutual
information estimator, the training loop and the result tables. Each module holds one concept; the notebooks in
``notebooks/`` hold the narrative and the experiments."""

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
__version__ = "0.1.0"
