"""What a report may claim: no infinite interval counted as covering, every "beats" with its
test, the strongest baseline chosen on the held-out stretch, the calendar's own season, the
textbook drift, no verdict between networks from fewer than three seeds."""

import json
import math
import subprocess
import sys

from seqpred.errors import FlagError
from seqpred.report import comparison, verdicts
from seqpred.scoring import baselines, evaluation, intervals, metrics
from seqpred.scoring.periods import Periods
from seqpred.seasons import season_of_dates

import numpy as np
import pytest

import compare_results
import data as datasets
from conftest import ROOT, csv_flags, run_here


# ----------------------------------------------------------------------------- infinite intervals
def test_an_infinite_interval_never_counts_as_covering():
    pred, truth = np.zeros((4, 1)), np.array([[0.5], [5.0], [0.1], [9.0]])
    half = np.array([[1.0], [np.inf], [np.inf], [1.0]])
    c = intervals.coverage(pred, truth, half, [True])
    assert c["coverage"] == pytest.approx(0.25)  # only the first; the infinite ones are no hit
    assert c["infinite_share"] == pytest.approx(0.5)


def many_misses(n=200, seed=0):
    """Calibration errors near 1, then test errors far larger: plain ACI's level falls below 0."""
    rng = np.random.default_rng(seed)
    cal = [np.sort(np.abs(rng.standard_normal(20)))]
    truth = (rng.standard_normal(n) * np.r_[np.full(n // 2, 8.0), np.ones(n - n // 2)])[:, None]
    return cal, np.zeros((n, 1)), truth


def test_adaptive_intervals_are_capped_at_the_largest_known_error_and_reported():
    cal, pred, truth = many_misses()
    half, capped = intervals.adaptive_conformal(cal, pred, truth, 0.9)
    assert np.isfinite(half).all() and capped.any()
    scores = np.abs(truth - pred)[:, 0]
    for t in np.flatnonzero(capped[:, 0]):  # the largest error known at t (origins before t)
        assert half[t, 0] == pytest.approx(max(cal[0].max(), scores[:t].max(initial=0)))
    c = intervals.coverage(pred, truth, half, [True], capped)
    inside = np.abs(truth - pred) <= half
    assert c["coverage"] == pytest.approx(inside.mean())
    assert c["capped_share"] == pytest.approx(capped.mean())
    assert c["uncapped_coverage"] == pytest.approx(inside[~capped].mean())
    assert c["infinite_share"] == 0


def test_the_report_names_the_capped_share_beside_the_coverage():
    cal, pred, truth = many_misses()
    cal_pred = np.zeros((30, 1))
    cal_truth = cal_pred + np.r_[cal[0], np.zeros(10)][:, None]
    scores = intervals.calibration_scores(cal_pred, cal_truth, 20)
    iv = evaluation.interval_scores(scores, pred, truth, 0.9)
    line = verdicts.capped_line(
        "GRU", [{"interval": iv}], [iv["adaptive"]["coverage"]], [iv["adaptive"]["capped_share"]]
    )
    share = f"{iv['adaptive']['capped_share']:.0%}"
    assert line.startswith(f"GRU: {share} of the adaptive intervals") and "infinite" in line
    assert f"the others cover {iv['adaptive']['uncapped_coverage']:.1%}" in line


# ----------------------------------------------------------------------------- claims
def synthetic_run(model, seed, data, one_step, forecasts, steps):
    """A run as describe_run writes it, from given one-step predictions and forecasts (units)."""
    p = Periods(data)
    starts = metrics.origins(p.n_test, steps)
    truth = metrics.continuations(p.test, starts, steps)
    scale = metrics.mase_scale(p.train, data.period)
    evidence = {"origins": len(starts), **metrics.horizon_errors(forecasts, truth, scale)}
    evidence["origin_mae"] = metrics.origin_mae(forecasts, truth)
    return {
        "model": model,
        "seed": seed,
        "params": 10,
        "hidden_size": 4,
        "one_step": list(one_step),
        "evidence": evidence,
        "forecast": list(forecasts[0]),
        "truth": list(truth[0]),
        "train_losses": [1.0],
        "test_losses": [1.0],
        "train_seconds": 1.0,
        "evidence_seconds": 0.1,
    }


def ar_series(n=400, seed=1):
    rng = np.random.default_rng(seed)
    y = np.zeros(n)
    for t in range(2, n):
        y[t] = 0.6 * y[t - 1] + 0.2 * y[t - 2] + rng.standard_normal()
    return y + 50


def runs_near_the_ar(data, steps, models, seeds):
    """Runs whose forecasts are the linear AR's moved `shrink` of the way to the truth, plus
    noise of sd `scale`: models = {name: (shrink, scale)}. A small shrink under much noise is
    ahead of the AR on average by chance alone; a large one under little noise truly ahead."""
    f = baselines.baseline_forecasts(data, steps)[f"linear AR({data.sequence_length})"]
    truth = Periods(data).test
    starts = metrics.origins(len(truth), steps)
    cont = metrics.continuations(truth, starts, steps)
    runs = []
    for model, (shrink, scale) in models.items():
        for seed in seeds:
            rng = np.random.default_rng(seed)
            one = f[:, 0] + shrink * (truth - f[:, 0]) + scale * rng.standard_normal(len(truth))
            noise = scale * rng.standard_normal(cont.shape)
            forecasts = f[starts] + shrink * (cont - f[starts]) + noise
            runs.append(synthetic_run(model, seed, data, one, forecasts, steps))
    return runs


def scored(runs, data, steps):
    return evaluation.evaluate_runs(
        runs, data, evaluation.ScoreSettings(steps, benchmarks="simple")
    )


def test_a_network_ahead_by_chance_is_not_said_to_beat_the_baseline():
    """The yearly series' case: ahead on average one step ahead, on every seed's mean, yet the
    test cannot tell it from chance."""
    data = datasets.build_real(list(ar_series()), 8, 0.3, "ar", val_fraction=0.15)
    report = scored(runs_near_the_ar(data, 4, {"GRU": (0.05, 0.2)}, [0, 1, 2]), data, 4)
    assert report["best_baseline"]["one_step"] == "linear AR(8)"
    claim = next(c for c in report["claims"] if c["kind"] == "one_step")
    assert claim["better"] == "first" and claim["mean_difference"] < 0  # ahead on average
    assert claim["p_holm"] > 0.05 and len(claim["tests"]) == 3
    line = verdicts.baseline_verdicts(report)[0]
    assert line.startswith("No network beats linear AR(8) one step ahead")
    assert "GRU is ahead of it on average" in line and "not significant" in line
    assert f"Holm p = {claim['p_holm']:.2g}" in line


def test_a_real_difference_is_claimed_with_its_test():
    data = datasets.build_real(list(ar_series()), 8, 0.3, "ar", val_fraction=0.15)
    report = scored(runs_near_the_ar(data, 4, {"GRU": (0.1, 0.05)}, [0, 1, 2]), data, 4)
    for c in report["claims"]:
        assert c["better"] == "first" and c["p_holm"] < 0.05
    line = verdicts.baseline_verdicts(report)[0]
    assert line.startswith("GRU (MASE ") and " beats linear AR(8) one step ahead" in line
    assert "Diebold–Mariano on every seed, Holm p ≤" in line


def test_the_strongest_baseline_is_chosen_on_the_held_out_stretch_not_the_test():
    """Seasonal before the test period, a random walk in it: in hindsight persistence wins the
    test, but the choice is made before, where the seasonal mean is the strongest."""
    rng = np.random.default_rng(0)
    season = 12
    before = 100 + 10 * np.sin(2 * np.pi * np.arange(300) / season) + rng.standard_normal(300)
    walk = before[-1] + np.cumsum(5 * rng.standard_normal(100))
    data = datasets.build_real(
        list(np.r_[before, walk]), 24, 0.25, "shift", period=season, val_fraction=0.2
    )
    forecasts, _ = evaluation.benchmark_forecasts(
        data, evaluation.ScoreSettings(1, benchmarks="simple")
    )
    scored = evaluation.baseline_scores(forecasts, evaluation.Setting(data), 1)
    on_test = min(scored, key=lambda k: scored[k]["one_step_mae"])
    chosen = evaluation.best_baselines(scored)
    assert on_test == "persistence" and chosen["one_step"] != on_test
    assert chosen["chosen_on"] == "validation"


def test_no_verdict_between_networks_from_fewer_than_three_seeds():
    data = datasets.build_real(list(ar_series()), 8, 0.3, "ar", val_fraction=0.15)
    models = {"RNN": (0.0, 2.0), "GRU": (0.1, 0.05)}
    report = scored(runs_near_the_ar(data, 3, models, [0, 1]), data, 3)
    assert all(not p["claims"] for p in report["pairs"])
    assert verdicts.pair_verdicts(report)[0].startswith("No verdict between the networks: 2 seed")
    report = scored(runs_near_the_ar(data, 3, models, [0, 1, 2]), data, 3)
    assert verdicts.pair_verdicts(report)[0].startswith("GRU beats RNN")
    assert "Holm p" in comparison.results_markdown(report)


# ----------------------------------------------------------------------------- seasons
def stamps(start, step, n, keep=lambda d: True):
    out, t = [], np.datetime64(start)
    while len(out) < n:
        if keep(t):
            out.append(str(t))
        t = t + step
    return out


def test_trading_days_have_a_business_week_of_five():
    weekdays = stamps(
        "2021-01-04", np.timedelta64(1, "D"), 300, lambda d: np.is_busday(d.astype("datetime64[D]"))
    )
    weekdays.pop(40)  # a public holiday
    season, words = season_of_dates(weekdays)
    assert season == 5 and "business days" in words


def test_hours_with_gaps_between_days_have_a_day_for_season():
    hours = stamps(
        "2021-01-04T09:00",
        np.timedelta64(1, "h"),
        8 * 40,
        lambda d: 9 <= (d - d.astype("datetime64[D]")).astype("timedelta64[h]").astype(int) < 17,
    )
    assert season_of_dates(hours)[0] == 8


def test_an_irregular_calendar_asks_for_the_season(tmp_path):
    days = stamps("2021-01-01", np.timedelta64(1, "D"), 60)
    del days[10], days[20], days[30]  # missing days on no calendar's rule
    with pytest.raises(FlagError, match="irregularly spaced.*--season"):
        season_of_dates(days)
    path = tmp_path / "gaps.csv"
    path.write_text("date,v\n" + "".join(f"{d},{math.sin(i)}\n" for i, d in enumerate(days)))
    flags = csv_flags(path, tmp_path / "out", "--date-column", "date", "--epochs", "1", "--dry-run")
    proc = run_here("main.py", *flags)
    assert proc.returncode == 2 and "irregularly spaced" in proc.stderr
    assert run_here("main.py", *flags, "--season", "7").returncode == 0


# ----------------------------------------------------------------------------- drift
def test_drift_is_the_mean_step_of_all_history_up_to_the_origin():
    values = [float(v) for v in [0, 1, 3, 2, 5, 4, 8, 9, 7, 12, 15, 13, 20, 25, 22, 30]]
    data = datasets.build_real(values, 3, 0.25, "toy")  # 12 training, 4 test values
    f = baselines.baseline_forecasts(data, 2)["drift"]
    for o in range(4):  # origin o's history: values[0 .. 12 + o - 1]
        t = 12 + o
        slope = (values[t - 1] - values[0]) / (t - 1)
        assert f[o].tolist() == pytest.approx([values[t - 1] + slope, values[t - 1] + 2 * slope])


# ----------------------------------------------------------------------------- end to end
def short_csv(tmp_path, n=70):
    path = tmp_path / "short.csv"
    path.write_text("v\n" + "".join(f"{math.sin(i / 2) + i / 30:.4f}\n" for i in range(n)))
    return path


def test_coverage_is_over_the_horizons_that_have_an_interval_and_says_which(tmp_path):
    out = tmp_path / "out"
    flags = csv_flags(
        short_csv(tmp_path, 120),
        out,
        "--epochs",
        "2",
        "--jobs",
        "1",
        "--sequence-length",
        "6",
        "--predict-steps",
        "8",
    )
    assert compare_results.main(flags) == 0
    report = json.loads((out / "results.json").read_text())
    iv = report["models"]["GRU"]["runs"][0]["interval"]
    assert 0 < len(iv["horizons"]) < 8
    text = (out / "results.md").read_text()
    assert f"every coverage here is over h = {verdicts.span(iv['horizons'])} only" in text


def test_one_network_is_not_called_the_best_network(tmp_path):
    proc = run_here(
        "main.py",
        *csv_flags(
            short_csv(tmp_path),
            tmp_path / "o",
            "--epochs",
            "2",
            "--sequence-length",
            "6",
            "--model-type",
            "GRU",
        ),
    )
    assert proc.returncode == 0 and "best network" not in proc.stdout


# ----------------------------------------------------------------------------- statsforecast
def seasonal_csv(tmp_path, n=96):
    rng = np.random.default_rng(5)
    path = tmp_path / "monthly.csv"
    values = 100 + np.arange(n) / 4 + 8 * np.sin(np.arange(n) * np.pi / 6) + rng.normal(size=n)
    rows = [f"{1990 + i // 12}-{i % 12 + 1:02d}-01,{v:.3f}" for i, v in enumerate(values)]
    path.write_text("date,v\n" + "\n".join(rows) + "\n")
    return path


def test_the_statistical_benchmarks_join_the_baselines(tmp_path, monkeypatch):
    pytest.importorskip("statsforecast")
    from matplotlib.figure import Figure

    drawn, save = {}, Figure.savefig  # conftest's checked savefig

    def keep(fig, path, *args, **kwargs):
        drawn[fig.axes[0].get_title()] = [line.get_label() for line in fig.axes[0].get_lines()]
        return save(fig, path, *args, **kwargs)

    monkeypatch.setattr(Figure, "savefig", keep)
    out = tmp_path / "out"
    flags = csv_flags(
        seasonal_csv(tmp_path),
        out,
        "--date-column",
        "date",
        "--epochs",
        "1",
        "--models",
        "GRU",
        "--jobs",
        "1",
        "--sequence-length",
        "12",
    )
    flags[flags.index("simple")] = "all"
    assert compare_results.main(flags) == 0
    report = json.loads((out / "results.json").read_text())
    assert {"AutoETS", "AutoTheta", "AutoARIMA"} <= set(report["baselines"])
    assert report["benchmarks"]["ran"] == ["AutoETS", "AutoTheta", "AutoARIMA"]
    text = (out / "results.md").read_text()
    assert "| AutoETS (baseline" in text and "statsforecast" in text
    (horizon,) = [labels for title, labels in drawn.items() if title.startswith("Error by horizon")]
    assert set(report["baselines"]) <= set(horizon)  # every baseline drawn, none cut off


def test_without_statsforecast_one_line_says_what_it_would_add(tmp_path):
    blocker = tmp_path / "blocker"
    blocker.mkdir()
    (blocker / "statsforecast.py").write_text("raise ImportError('not installed here')\n")
    out = tmp_path / "out"
    flags = csv_flags(
        seasonal_csv(tmp_path),
        out,
        "--date-column",
        "date",
        "--epochs",
        "1",
        "--models",
        "GRU",
        "--jobs",
        "1",
        "--sequence-length",
        "12",
    )
    flags[flags.index("simple")] = "all"
    code = (
        f"import sys; sys.path.insert(0, {str(blocker)!r}); import compare_results; "
        f"sys.exit(compare_results.main({flags!r}))"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stderr
    text = (out / "results.md").read_text()
    assert text.count('pip install -e ".[benchmarks]"') >= 1
    assert "AutoETS (baseline" not in text
