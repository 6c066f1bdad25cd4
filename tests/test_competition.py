"""The competition view: scores computed by hand, the M4 benchmarks against hand cases and the
published M3 figures, the tests across series, and the comparison end to end on a few series
of a competition and of a panel CSV (with its one-line refusals)."""

import json

from seqpred import panels
from seqpred.scoring import competition as scores
from seqpred.scoring import m4

import numpy as np
import pytest

from conftest import run_here


def test_smape_mase_mape_and_owa_by_hand():
    y, f = np.array([[100.0, 200.0]]), np.array([[110.0, 180.0]])
    assert scores.smape(y, f).tolist()[0] == pytest.approx([200 * 10 / 210, 200 * 20 / 380])
    assert scores.smape(np.zeros(1), np.zeros(1))[0] == 0  # 0/0: a perfect forecast
    assert scores.mape(y, f).tolist()[0] == pytest.approx([10.0, 10.0])
    assert np.isnan(scores.mape(np.zeros(1), np.ones(1))[0])
    # in-sample seasonal naive errors: |4-1|, |5-2|, |9-4| for m = 2; naive |1|, |2|, |1|, |4|
    x = np.array([1.0, 2.0, 4.0, 5.0, 9.0])
    assert scores.mase_scale(x, 2) == pytest.approx(11 / 3)
    assert scores.mase_scale(x, 1) == pytest.approx(8 / 4)
    method = scores.scores(y, f, np.array([10.0]))
    assert method["mase"].tolist() == [[1.0, 2.0]]
    naive2 = scores.scores(y, np.array([[100.0, 100.0]]), np.array([10.0]))
    out = scores.summary(method, naive2)
    # OWA: (sMAPE / sMAPE of Naive2 + MASE / MASE of Naive2) / 2
    expected = 0.5 * (np.mean([200 * 10 / 210, 200 * 20 / 380]) / (200 * 100 / 300 / 2) + 1.5 / 5)
    assert out["owa"] == pytest.approx(expected)
    assert out["smape_by_horizon"] == pytest.approx(scores.smape(y, f)[0].tolist())


def test_naive2_continues_a_multiplicative_season_exactly():
    pattern = np.array([0.8, 1.3, 1.0, 0.9])
    x = 50 * np.tile(pattern, 6)
    assert m4.seasonal_test(x, 4) and not m4.seasonal_test(np.arange(1.0, 25.0), 4)
    out = m4.benchmarks([x], 4, 6)
    np.testing.assert_allclose(out["Naive2"][0], 50 * np.resize(pattern, 6))
    np.testing.assert_allclose(out["Seasonal naive"][0], 50 * np.resize(pattern, 6))
    np.testing.assert_allclose(out["SES"][0], 50 * np.resize(pattern, 6), rtol=1e-6)
    assert out["Naive"][0].tolist() == [x[-1]] * 6


def test_ses_and_theta_by_hand():
    flat = np.full(20, 7.0)
    np.testing.assert_allclose(m4.ses_many([flat], 3), [[7.0] * 3])
    line = 1 + 2 * np.arange(1.0, 31.0)  # y_t = 1 + 2t: the trend fits exactly
    out = m4.theta_many([line], 2)[0]
    # SES on the theta line (here the series itself) follows it to within (1 - alpha) * slope
    np.testing.assert_allclose(out, 0.5 * line[-1] + 0.5 * (1 + 2 * np.array([31, 32])), atol=0.01)
    short = np.array([3.0, -1.0, 2.0])  # below 0 once: forecasts may be too
    assert np.isfinite(m4.benchmarks([short], 1, 2)["Theta"]).all()


def test_naive2_and_theta_reproduce_the_published_m3_monthly_figures():
    panel = panels.competition("m3-monthly")
    out = m4.benchmarks(list(panel.train), panel.season, panel.horizon)
    published = {"Naive2": 16.91, "Theta": 13.85}  # Makridakis & Hibon (2000)
    for name, value in published.items():
        assert abs(np.mean(scores.smape(panel.test, out[name])) - value) < 0.2, name


def test_ranks_friedman_and_the_nemenyi_critical_difference():
    rng = np.random.default_rng(0)
    base = rng.uniform(5, 10, 40)
    per_series = {"good": base, "middle": base + 1, "bad": base + 2 + rng.uniform(0, 1, 40)}
    r = scores.ranks(per_series)
    assert r["mean_rank"] == {"good": 1.0, "middle": 2.0, "bad": 3.0}
    assert r["friedman_p"] < 1e-10
    assert r["cd"] == pytest.approx(2.343 * np.sqrt(3 * 4 / (6 * 40)), abs=1e-3)  # Demsar's q
    tests = scores.wilcoxon_pairs(per_series, [("good", "bad"), ("good", "middle")])
    assert all(t[4] >= t[3] and t[4] < 1e-6 for t in tests)  # Holm never lowers a p-value


def test_a_competition_subset_end_to_end(tmp_path):
    out = tmp_path / "m3"
    flags = [
        "--dataset",
        "m3-quarterly",
        "--max-series",
        "24",
        "--epochs",
        "2",
        "--seeds",
        "2",
        "--hidden-size",
        "6",
        "--out-dir",
        str(out),
        "--jobs",
        "1",
    ]
    proc = run_here("compare_results.py", *flags)
    assert proc.returncode == 0, proc.stderr
    r = json.loads((out / "results.json").read_text())
    assert r["series"] == 24 and r["horizon"] == 8 and r["season"] == 4
    assert r["strategy"] == "direct" and len(r["runs"]) == 6
    methods = r["methods"]
    assert {"Naive2", "Theta", "SES", "GRU (median of 2 seeds)", "RNN seed 1"} <= set(methods)
    assert methods["Naive2"]["test"]["owa"] == pytest.approx(1.0)
    assert methods[r["best_benchmark"]]["group"] == "benchmark"
    best_val = min(
        methods[k]["validation"]["smape"] for k, m in methods.items() if m["group"] == "benchmark"
    )
    assert methods[r["best_benchmark"]]["validation"]["smape"] == best_val  # not the test's
    named = {r["best_benchmark"], "Theta", "Naive2"}  # each cell against these, and each other
    assert len(r["tests"]) == 3 + 3 * len(named)
    text = (out / "results.md").read_text()
    assert text.index("## What the numbers say") < text.index("## Scores on the test")
    assert {p.name for p in out.glob("*.png")} == {
        "smape_by_horizon.png",
        "cd_diagram.png",
        "forecasts.png",
    }
    assert not (out / "runs-in-progress.json").exists()
    again = run_here("compare_results.py", *flags[:-4], "--seeds", "3", "--out-dir", str(out))
    assert again.returncode == 2 and "--seeds 2, not 3" in again.stderr  # not replaced


def test_the_competition_s_horizon_is_its_own():
    proc = run_here("compare_results.py", "--dataset", "m3-yearly", "--predict-steps", "3")
    assert proc.returncode == 2
    assert proc.stderr.splitlines()[-1].endswith(
        "--predict-steps does not apply to --dataset m3-yearly: each series' test is its last "
        "horizon, the competition's own"
    )
    proc = run_here("compare_results.py", "--dataset", "m3-yearly", "--val-fraction", "0.2")
    assert proc.returncode == 2 and "--val-fraction does not apply" in proc.stderr


def panel_csv(path, rows_per_series=40, bad=None):
    lines = ["unique_id,ds,y"]
    for k in ("a", "b", "c"):
        for i in range(rows_per_series):
            year, month = 2000 + i // 12, i % 12 + 1
            value = 100 + 10 * np.sin(i / 2) + i + (5 if k == "b" else 0)
            lines.append(f"{k},{year}-{month:02d}-01,{value:.3f}")
    if bad is not None:
        lines[bad[0]] = bad[1]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_a_panel_csv_end_to_end(tmp_path):
    out = tmp_path / "out"
    proc = run_here(
        "compare_results.py",
        "--dataset",
        "panel",
        "--csv",
        str(panel_csv(tmp_path / "shop.csv")),
        "--predict-steps",
        "6",
        "--epochs",
        "2",
        "--models",
        "GRU",
        "--out-dir",
        str(out),
    )
    assert proc.returncode == 0, proc.stderr
    r = json.loads((out / "results.json").read_text())
    assert r["series"] == 3 and r["horizon"] == 6 and r["season"] == 12  # from the dates


@pytest.mark.parametrize(
    ("bad", "words"),
    [
        ((5, "a,2000-04-01,n/a"), "row 6: 'n/a' in column 'y' is not a number"),
        ((5, "a,2000-01-01,7"), "series 'a': "),  # the date repeats
        ((45, "b,,7"), "row 46: no value in column 'ds'"),
    ],
)
def test_a_bad_panel_is_one_line_naming_the_series_or_row(tmp_path, bad, words):
    path = panel_csv(tmp_path / "p.csv", bad=bad)
    proc = run_here(
        "compare_results.py",
        "--dataset",
        "panel",
        "--csv",
        str(path),
        "--out-dir",
        str(tmp_path / "o"),
    )
    assert proc.returncode == 1 and proc.stdout == ""
    (line,) = proc.stderr.strip().splitlines()
    assert words in line and "Traceback" not in line


def test_a_panel_series_too_short_for_its_horizon(tmp_path):
    path = panel_csv(tmp_path / "p.csv", rows_per_series=12)
    proc = run_here(
        "compare_results.py",
        "--dataset",
        "panel",
        "--csv",
        str(path),
        "--predict-steps",
        "6",
        "--out-dir",
        str(tmp_path / "o"),
    )
    assert proc.returncode == 1
    assert "series 'a' has 12 values (rows 2–13)" in proc.stderr


def test_a_stopped_competition_keeps_its_finished_runs_and_finishes_them(tmp_path, monkeypatch):
    import competition

    out = tmp_path / "m3"
    flags = [
        "--dataset",
        "m3-other",
        "--max-series",
        "12",
        "--epochs",
        "1",
        "--models",
        "RNN",
        "GRU",
        "--hidden-size",
        "4",
        "--jobs",
        "1",
        "--out-dir",
        str(out),
    ]
    train = competition.train_global

    def stopped_in_gru(task, *args, **kwargs):  # as Ctrl-C would, at an epoch's end
        if task.kind == "GRU":
            raise KeyboardInterrupt
        return train(task, *args, **kwargs)

    monkeypatch.setattr(competition, "train_global", stopped_in_gru)
    first = run_here("compare_results.py", *flags)
    assert first.returncode == 1 and "1 of 2 runs had finished" in first.stdout
    assert "**Partial**" in (out / "results.md").read_text()  # the finished run's report
    kept = json.loads((out / "runs-in-progress.json").read_text())["finished_runs"]
    assert [r["model"] for r in kept] == ["RNN"]
    monkeypatch.setattr(competition, "train_global", train)
    again = run_here("compare_results.py", *flags)
    assert again.returncode == 0 and "Resuming: 1 finished run(s)" in again.stdout
    r = json.loads((out / "results.json").read_text())
    assert [x["model"] for x in r["runs"]] == ["RNN", "GRU"]
    assert r["runs"][0]["seconds"] == kept[0]["seconds"]  # kept, not trained again
    assert not (out / "runs-in-progress.json").exists()
