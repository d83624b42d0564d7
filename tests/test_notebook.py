"""examples/explore.ipynb runs from top to bottom against a dataset made here, so it never rots."""

from __future__ import annotations

import re
import shutil
import sys
from collections import Counter
from pathlib import Path

import nbformat
import pyarrow.parquet as pq
import pytest

from tests.sample_dataset import build_sample_dataset

NOTEBOOK = Path(__file__).resolve().parents[1] / "examples" / "explore.ipynb"
N_PAGES = 80

# Older jupyter_core / jupyter_client / pyzmq / tornado releases emit these in the test process
# (none do with the versions pinned today); they are not the notebook's to fix. Warnings inside
# the kernel are not filtered: they reach the notebook's stderr, which the test rejects.
JUPYTER_WARNINGS = [
    "ignore::DeprecationWarning:jupyter_client.*",
    "ignore::DeprecationWarning:jupyter_core.*",
    "ignore::DeprecationWarning:zmq.*",
    "ignore::DeprecationWarning:tornado.*",
    "ignore:Jupyter is migrating its paths:DeprecationWarning",
]


def test_committed_notebook_has_no_outputs_and_runs_on_python3():
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(nb)
    assert nb.metadata["kernelspec"]["name"] == "python3"
    assert nb.metadata["kernelspec"]["language"] == "python"
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code and all(c.outputs == [] and c.execution_count is None for c in code)
    assert any("duckdb" in c.source for c in code) and any("plt." in c.source for c in code)


@pytest.fixture
def jupyter_env(tmp_path, monkeypatch):
    """A private Jupyter: its "python3" kernel is this interpreter (the venv's, whether or not the
    venv is activated), and no Jupyter or IPython file lands outside tmp_path."""
    from ipykernel.kernelspec import write_kernel_spec

    root = tmp_path / "jupyter"
    write_kernel_spec(root / "kernels" / "python3",
                      overrides={"argv": [sys.executable, "-m", "ipykernel_launcher",
                                          "-f", "{connection_file}"],
                                 "display_name": "Python 3 (qa-crawler tests)"})
    monkeypatch.setenv("JUPYTER_PATH", str(root))  # searched before the user's and system's dirs
    monkeypatch.setenv("JUPYTER_PLATFORM_DIRS", "1")  # the future path scheme, and no warning
    for name, sub in (("JUPYTER_CONFIG_DIR", "config"), ("JUPYTER_DATA_DIR", "data"),
                      ("JUPYTER_RUNTIME_DIR", "runtime"), ("IPYTHONDIR", "ipython")):
        monkeypatch.setenv(name, str(tmp_path / sub))
    monkeypatch.delenv("MPLBACKEND", raising=False)  # the kernel's inline backend draws the chart

    from jupyter_client.kernelspec import KernelSpecManager

    spec = KernelSpecManager().get_kernel_spec("python3")
    assert spec.argv[0] == sys.executable and Path(spec.resource_dir).parent.parent == root


@pytest.mark.filterwarnings(*JUPYTER_WARNINGS)
def test_notebook_runs_top_to_bottom_on_a_fresh_dataset(tmp_path, monkeypatch, jupyter_env):
    from nbclient import NotebookClient

    # A checkout in miniature: examples/explore.ipynb next to output/demo, as after `make demo`.
    # QA_DATASET is unset, so the notebook must find the default folder from examples/.
    project = tmp_path / "project"
    dataset = project / "output" / "demo"
    dataset.mkdir(parents=True)
    manifest = build_sample_dataset(dataset, N_PAGES)
    (project / "examples").mkdir()
    notebook = project / "examples" / NOTEBOOK.name
    shutil.copy(NOTEBOOK, notebook)
    monkeypatch.delenv("QA_DATASET", raising=False)

    nb = nbformat.read(notebook, as_version=4)
    client = NotebookClient(nb, kernel_name="python3", timeout=120, startup_timeout=60,
                            resources={"metadata": {"path": str(notebook.parent)}})
    client.execute()  # raises CellExecutionError, naming the cell, if any cell fails

    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    stderr = [o.text for o in outputs if o.output_type == "stream" and o.name == "stderr"]
    assert not stderr, f"the notebook printed warnings or errors: {stderr}"

    text = "\n".join(o.get("text", "") if o.output_type == "stream"
                     else o.get("data", {}).get("text/plain", "") for o in outputs)
    assert f"dataset folder: {dataset.resolve()}" in text
    assert f"{manifest['rows']['qa']} Q&A pages" in text
    per_department = Counter(
        pq.read_table(dataset / "qa.parquet", columns=["department"])["department"].to_pylist())
    assert all(department in text for department in per_department)
    # the columns=/filters= example read the busiest department's rows, and only those
    found = re.search(r"(\d+) questions to (.+), 3 columns read", text)
    assert found, text
    assert int(found[1]) == per_department[found[2]] == max(per_department.values())
    assert "median reply delay:" in text
    charts = [o for o in outputs if "image/png" in o.get("data", {})]
    assert len(charts) == 1
