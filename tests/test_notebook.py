"""tutorial.ipynb runs top to bottom in a fresh kernel, at toy sizes, without touching the file;
and where the project is not beside it (Colab), its first cell says in one line what to set."""

import os
import subprocess
import sys

import pytest

from conftest import ROOT

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")


def test_the_tutorial_runs_in_a_fresh_kernel(monkeypatch, tmp_path):
    path = ROOT / "tutorial.ipynb"
    before = path.read_bytes()
    nb = nbformat.read(path, as_version=4)
    monkeypatch.setenv("SEQPRED_TUTORIAL_QUICK", "1")  # the kernel inherits it: toy sizes
    monkeypatch.setenv("SEQPRED_TUTORIAL_OUT", str(tmp_path / "out"))  # its outputs: here
    private = tmp_path / "tmp"  # the kernel's temporary folder: no other process writes there
    private.mkdir()
    monkeypatch.setenv("TMPDIR", str(private))
    client = nbclient.NotebookClient(
        nb,
        timeout=900,
        startup_timeout=600,  # a loaded machine starts a kernel slowly
        iopub_timeout=60,  # and delivers a cell's last outputs late
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
    assert not [p for p in private.iterdir() if p.name.startswith("seqpred-tutorial-")]
    sources = "".join(c.source for c in nb.cells if c.cell_type == "code")
    assert "show(models.SimpleLSTM)" in sources and "show(trainer.train_epoch)" in sources


def first_cell(repo: str, cwd) -> subprocess.CompletedProcess:
    """The notebook's first cell, with REPO set, run where the project's files are not."""
    nb = nbformat.read(ROOT / "tutorial.ipynb", as_version=4)
    source = nb.cells[1].source.replace('REPO = ""', f"REPO = {repo!r}", 1)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    return subprocess.run(
        [sys.executable, "-c", source], cwd=cwd, env=env, capture_output=True, text=True
    )


def test_without_the_project_the_first_cell_says_what_to_set(tmp_path):
    proc = first_cell("", tmp_path)
    assert proc.returncode == 1 and proc.stderr.strip() == (
        "Set REPO in this cell to your copy's git address, then run it again."
    )
    proc = first_cell(str(tmp_path / "no-such-repository"), tmp_path)
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 1 and len(lines) == 1, proc.stderr
    assert lines[0].startswith(f"git could not fetch {tmp_path / 'no-such-repository'}: ")
    assert "CalledProcessError" not in proc.stderr
