"""The benchmarks' helper measures a real child process, and still loads where Python has no
`resource` module (Windows): time only, then."""

import importlib.util
import sys

import pytest

from conftest import ROOT


def load_measure():
    spec = importlib.util.spec_from_file_location("measure", ROOT / "benchmarks" / "measure.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_a_child_s_time_is_measured(tmp_path):
    measured = load_measure().measure([sys.executable, "-c", "sum(range(10**6))"], tmp_path)
    assert measured["wall_seconds"] > 0
    if sys.platform.startswith("linux"):
        assert measured["cpu_seconds"] > 0 and measured["largest_process_mb"] > 0


def test_without_resource_the_helper_loads_and_measures_time_only(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "resource", None)  # what `import resource` meets on Windows
    measure = load_measure()
    assert measure.resource is None and measure.cpu_of_children() is None
    measured = measure.measure([sys.executable, "-c", "pass"], tmp_path)
    assert measured["wall_seconds"] > 0 and measured["cpu_seconds"] is None


def test_a_failing_command_is_one_line_naming_it(tmp_path):
    with pytest.raises(SystemExit, match="failed"):
        load_measure().measure([sys.executable, "-c", "raise SystemExit(3)"], tmp_path)
