"""Fixtures and markers shared by several test files.

* ``one_thread``: one intra-op torch thread for the test, restored afterwards (tiny tensors: faster, and fair to a
  shared 2-core machine). Files that want it for every test say ``pytestmark = pytest.mark.usefixtures("one_thread")``.
* ``moves_params_in_place``: ``module.to(device)`` keeps each Parameter object (see the fixture).
* ``@pytest.mark.needs_mnist``: the test is skipped unless the raw MNIST files are under data/ (`make data`).

Helper modules that spawned worker processes import by name (``tests_support_training``) and the notebook-parameter
helpers (``notebook_params``) stay modules of their own.
"""
import pytest
import torch


def _have_mnist() -> bool:
    from study import data  # imported here: test files that never use study do not depend on it
    return (data.raw_folder("mnist") / "t10k-labels-idx1-ubyte").exists()


def pytest_configure(config):
    config.addinivalue_line("markers", "needs_mnist: skipped unless the raw MNIST files are under data/ (make data)")


def pytest_collection_modifyitems(config, items):
    marked = [item for item in items if item.get_closest_marker("needs_mnist") is not None]
    if marked and not _have_mnist():
        skip = pytest.mark.skip(reason="run `make data`")
        for item in marked:
            item.add_marker(skip)


@pytest.fixture
def one_thread():
    """Tiny tensors: one intra-op thread is faster and fair to a shared 2-core machine."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@pytest.fixture
def moves_params_in_place():
    """`module.to(device)` keeps each Parameter object and moves its data, as it does from CPU to CUDA (to `meta`
    torch would otherwise make new Parameters, and a reference kept to the old one would go unnoticed)."""
    old = torch.__future__.get_swap_module_params_on_conversion()
    torch.__future__.set_swap_module_params_on_conversion(True)
    yield
    torch.__future__.set_swap_module_params_on_conversion(old)
