"""compare_results.py: seeds, metrics, tables and figures, on tiny settings."""

import json

import pytest

import compare_results


@pytest.fixture
def compare_flags(tiny_flags):
    return [*tiny_flags, "--seeds", "2", "--jobs", "1"]


def numbers_without_timing(report):
    """The parts of results.json that must repeat exactly: everything but time and memory."""
    drop = {"train_seconds", "seconds_per_epoch", "evidence_seconds"}
    return {
        kind: [{k: v for k, v in run.items() if k not in drop} for run in m["runs"]]
        for kind, m in report["models"].items()
    }


def test_seeds_give_mean_and_std_tables_and_json(compare_flags, tmp_path):
    assert compare_results.main(compare_flags) == 0
    figs = tmp_path / "figs"
    for name in ("loss_curves.png", "predictions.png", "one_step.png"):
        assert (figs / name).read_bytes().startswith(b"\x89PNG")
    report = json.loads((figs / "results.json").read_text())
    assert report["seeds"] == [0, 1]
    lstm = report["models"]["LSTM"]
    assert [r["seed"] for r in lstm["runs"]] == [0, 1]
    assert len(lstm["runs"][0]["horizon"]["rmse"]) == 5  # --predict-steps 5
    mean = lstm["summary"]["one_step_rmse"]["mean"]
    assert mean == pytest.approx(sum(r["one_step_rmse"] for r in lstm["runs"]) / 2)
    # seasonal persistence reaches back a season into history, longer than the window
    assert {"persistence", "seasonal persistence", "linear AR(20)"} <= set(report["baselines"])
    table = (figs / "results.md").read_text()
    assert "±" in table and "persistence (baseline" in table and "MAPE divides by" in table
    assert (
        "### Forecasts from every test origin" in table
        and "### Does one network beat another?" in table
    )
    assert report["flags"]["seeds"] == 2 and len(report["pairs"]) == 3
    assert (figs / "horizon.png").read_bytes().startswith(b"\x89PNG")


def test_same_seed_twice_gives_the_same_numbers(compare_flags, tmp_path):
    reports = []
    for run in ("a", "b"):
        flags = [*compare_flags, "--out-dir", str(tmp_path / run)]
        assert compare_results.main(flags) == 0
        reports.append(json.loads((tmp_path / run / "results.json").read_text()))
    assert numbers_without_timing(reports[0]) == numbers_without_timing(reports[1])


def test_parallel_jobs_match_the_sequential_run(tiny_flags, tmp_path):
    reports = []
    for jobs in ("1", "2"):
        out = tmp_path / f"jobs{jobs}"
        flags = [*tiny_flags, "--models", "GRU", "RNN", "--jobs", jobs, "--out-dir", str(out)]
        assert compare_results.main(flags) == 0
        reports.append(json.loads((out / "results.json").read_text()))
    seq, par = (numbers_without_timing(r) for r in reports)
    # every number of every run, to the last few digits (threads may sum in another order)
    assert leaves(par) == pytest.approx(leaves(seq), rel=1e-4, abs=1e-9)


def leaves(value, key="") -> dict:
    """Every number or word in nested dicts and lists, by its path."""
    if isinstance(value, dict):
        return {
            k: v for name, item in value.items() for k, v in leaves(item, f"{key}/{name}").items()
        }
    if isinstance(value, list):
        return {k: v for i, item in enumerate(value) for k, v in leaves(item, f"{key}/{i}").items()}
    return {key: value}


def test_elnino_comparison_has_seasonal_baseline(tmp_path):
    out = tmp_path / "elnino"
    flags = [
        "--dataset",
        "elnino",
        "--epochs",
        "2",
        "--hidden-size",
        "4",
        "--jobs",
        "1",
        "--device",
        "cpu",
        "--benchmarks",
        "simple",
        "--out-dir",
        str(out),
    ]
    assert compare_results.main(flags) == 0
    report = json.loads((out / "results.json").read_text())
    assert report["units"] == "°C"
    assert set(report["baselines"]) == {
        "persistence",
        "seasonal persistence",
        "seasonal mean",
        "drift",
        "linear AR(24)",
    }
    assert report["season"] == 12 and "skill_forecast" in report["models"]["GRU"]["runs"][0]
    best = report["best_baseline"]["forecast"]
    assert f"skill vs {best}" in (out / "results.md").read_text()
