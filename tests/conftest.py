"""Shared fixtures: tiny settings so every test runs in a second or two on a CPU."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from hypothesis import settings

ROOT = Path(__file__).resolve().parents[1]

# On CI the property tests draw the same shapes every run, so a result never depends on the
# draw; locally each run draws new ones (and keeps any failure in .hypothesis/ to replay).
settings.register_profile("ci", derandomize=True, database=None)
if os.environ.get("CI"):
    settings.load_profile("ci")


# The files whose tests start scripts in subprocesses and wait on them: collected first, so that
# xdist's load scheduling deals them out to both workers at once and the short tests fill in
# after them, instead of a long test starting last.
LONG_FIRST = ("test_sweep.py", "test_signals.py", "test_notebook.py", "test_collection.py")


def pytest_collection_modifyitems(items):
    items.sort(key=lambda item: item.path.name not in LONG_FIRST)


@pytest.fixture(autouse=True)
def _one_thread():
    """Two test workers on two cores run faster with one thread each, and timings stay stable."""
    torch.set_num_threads(1)


@pytest.fixture(autouse=True)
def _figures_are_readable(monkeypatch):
    """Every figure a test draws in this process is checked as it is saved (figure_check.py):
    a figure with an unlabelled axis or a line no one can see fails the test that drew it."""
    from figure_check import problems
    from matplotlib.figure import Figure

    save = Figure.savefig

    def checked(fig, *args, **kwargs):
        assert not problems(fig), problems(fig)
        # Drawn and written in full, with fewer pixels: the same artists and layout, in a
        # little more than half the time of the 120 dpi a user's figures get.
        return save(fig, *args, **{**kwargs, "dpi": 40})

    monkeypatch.setattr(Figure, "savefig", checked)


@pytest.fixture
def tiny_flags(tmp_path):
    """Command-line flags for a seconds-long run with every file under tmp_path."""
    return [
        "--data-dir",
        str(tmp_path),
        "--out-dir",
        str(tmp_path / "figs"),
        "--sequence-length",
        "20",
        "--epochs",
        "2",
        "--hidden-size",
        "8",
        "--predict-start",
        "3",
        "--predict-steps",
        "5",
        "--device",
        "cpu",
        "--benchmarks",
        "simple",
    ]


def csv_flags(path, out, *more, column="v"):
    """The flags that read one column of a CSV file and write into `out`, on the CPU."""
    flags = ["--dataset", "csv", "--csv", str(path), "--column", column, "--device", "cpu"]
    flags += ["--benchmarks", "simple"]  # statsforecast's models have tests of their own
    return [*flags, "--out-dir", str(out), *more]


def start_script(script, *args, cwd, env=None):
    """Start a script whose output we can read line by line as it trains.

    It runs in a session of its own, as a program started from a shell does: a background job
    of a non-interactive shell would ignore SIGINT.
    """
    return subprocess.Popen(
        [sys.executable, str(ROOT / script), *args],
        cwd=cwd,
        env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def wait_for(proc, text):
    """Read stdout until a line containing `text`; returns everything read."""
    seen = []
    for line in proc.stdout:
        seen.append(line)
        if text in line:
            return "".join(seen)
    raise AssertionError(f"{text!r} never appeared:\n{''.join(seen)}\n{proc.stderr.read()}")


def stop_when(proc, text, sig, status, timeout=60):
    """Once `text` appears, send `sig`; check the script exits with `status` and no traceback.

    Returns what it printed after `text` (stdout, stderr)."""
    wait_for(proc, text)
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=timeout)
    assert proc.returncode == status, out + err
    assert "Traceback" not in err
    return out, err


def leftovers(folder):
    """Temporary files an interrupted write could have left behind."""
    return sorted(str(p) for p in Path(folder).rglob("*.tmp"))


def run_here(script, *args, cwd=None):
    """Run one of the project's scripts in this process, as a subprocess would see it: its exit
    status, standard output and error. Much faster than a subprocess (no second PyTorch start);
    an uncaught exception is not turned into a status but fails the test where it is raised."""
    import contextlib
    import importlib
    import io
    import types

    module = importlib.import_module(Path(script).stem)
    out, err, here = io.StringIO(), io.StringIO(), os.getcwd()
    try:
        os.chdir(cwd or here)
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                status = module.main(list(args))
            except SystemExit as stop:  # argparse's errors, and the scripts' one-line ones
                status = stop.code if isinstance(stop.code, int) else 1
                if isinstance(stop.code, str):
                    print(stop.code, file=sys.stderr)
    finally:
        os.chdir(here)
    return types.SimpleNamespace(returncode=status, stdout=out.getvalue(), stderr=err.getvalue())


def run_script(script, *args, cwd=None):
    """Run one of the project's scripts in a real subprocess; returns the CompletedProcess."""
    return subprocess.run(
        [sys.executable, str(ROOT / script), *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=300,
    )
