"""No run silently replaces results another command made: each folder records the command that
wrote it; another command refuses in one line (naming it, --out-dir and --overwrite)."""

import json

import main as trainer
from conftest import run_here


def test_another_command_does_not_replace_a_comparisons_results(tiny_flags, tmp_path):
    out = tmp_path / "figs"
    assert run_here("compare_results.py", *tiny_flags, "--models", "RNN").returncode == 0
    made = {p.name: p.read_bytes() for p in out.iterdir()}
    record = json.loads((out / "provenance.json").read_text())["compare_results.py"]
    assert record["command"].startswith("python compare_results.py --data-dir")
    proc = run_here("compare_results.py", *tiny_flags, "--models", "RNN", "--seeds", "2")
    assert proc.returncode == 2 and proc.stdout == ""
    (line,) = proc.stderr.strip().splitlines()
    assert line.startswith(f"compare_results.py: error: {out} holds the results of another ")
    assert "(--seeds 1, not 2): `python compare_results.py " in line
    assert "--out-dir" in line and "--overwrite" in line
    assert {p.name: p.read_bytes() for p in out.iterdir()} == made  # nothing touched
    again = run_here("compare_results.py", *tiny_flags, "--models", "RNN", "--jobs", "1")
    assert again.returncode == 0  # the same command (--jobs changes no result) may run again
    forced = run_here(
        "compare_results.py", *tiny_flags, "--models", "RNN", "--seeds", "2", "--overwrite"
    )
    assert forced.returncode == 0
    assert json.loads((out / "results.json").read_text())["seeds"] == [0, 1]
    record = json.loads((out / "provenance.json").read_text())["compare_results.py"]
    assert "--seeds 2" in record["command"]


def test_main_py_s_figures_are_kept_apart_per_model_and_command(tiny_flags, tmp_path):
    flags = [*tiny_flags, "--dry-run", "--plot"]
    assert trainer.main([*flags, "--model-type", "GRU"]) == 0
    assert trainer.main([*flags, "--model-type", "LSTM"]) == 0  # another model: its own files
    proc = run_here("main.py", *flags, "--model-type", "GRU", "--hidden-size", "9")
    assert proc.returncode == 2 and "--hidden-size 8, not 9" in proc.stderr
    records = json.loads((tmp_path / "figs" / "provenance.json").read_text())
    assert set(records) == {"main.py GRU", "main.py LSTM"}
