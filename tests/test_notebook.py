"""tutorial.ipynb runs top to bottom in a fresh kernel, at toy sizes, without touching the file."""

import tempfile
from pathlib import Path

import pytest

from conftest import ROOT

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")


def test_the_tutorial_runs_in_a_fresh_kernel(monkeypatch, tmp_path):
    path = ROOT / "tutorial.ipynb"
    before = path.read_bytes()
    temporary = set(Path(tempfile.gettempdir()).glob("seqpred-tutorial-*"))
    nb = nbformat.read(path, as_version=4)
    monkeypatch.setenv("SEQPRED_TUTORIAL_QUICK", "1")  # the kernel inherits it: toy sizes
    monkeypatch.setenv("SEQPRED_TUTORIAL_OUT", str(tmp_path))  # its outputs: here, not in /tmp
    client = nbclient.NotebookClient(
        nb,
        timeout=600,
        startup_timeout=300,  # a loaded machine starts a kernel slowly
        kernel_name="python3",
        resources={"metadata": {"path": str(ROOT)}},
    )
    client.execute()  # raises CellExecutionError on the first cell that fails
    images = [
        o
        for c in nb.cells
        if c.cell_type == "code"
        for o in c.outputs
        if "image/png" in o.get("data", {})
    ]
    assert len(images) >= 5  # every figure cell drew
    assert path.read_bytes() == before  # the committed outputs are left as they are
    assert set(Path(tempfile.gettempdir()).glob("seqpred-tutorial-*")) == temporary  # no leftovers
    sources = "".join(c.source for c in nb.cells if c.cell_type == "code")
    assert "show(models.SimpleLSTM)" in sources and "show(trainer.train_epoch)" in sources
