"""Scoring: errors and MASE, windows that reach into known history, the baselines, split and
adaptive conformal intervals, Holm's correction, paired tests, equal budgets, seasons."""

import json
import math

from seqpred.budgets import matched_hidden_sizes, parameters
from seqpred.errors import DataError, FlagError
from seqpred.report import verdicts
from seqpred.scoring import baselines, evaluation, intervals, metrics, significance
from seqpred.scoring.periods import Periods
from seqpred.seasons import season_of_dates
from seqpred.settings import TrainSettings

import numpy as np
import pytest
import torch

import compare_results
import data as datasets
import main as trainer
from conftest import csv_flags
from models import MODEL_TYPES, build_model, count_parameters

CPU = torch.device("cpu")


# ----------------------------------------------------------------------------- errors
def test_errors_by_hand():
    e = metrics.errors(np.array([1.0, 2.0, 3.0]), np.array([1.0, 2.0, 5.0]), 1e-9, scale=0.5)
    assert e["mae"] == pytest.approx(2 / 3)
    assert e["rmse"] == pytest.approx(math.sqrt(4 / 3))
    assert e["mape"] == pytest.approx(100 * (2 / 5) / 3)
    assert e["mase"] == pytest.approx((2 / 3) / 0.5)


def test_mase_scale_is_the_in_sample_seasonal_naive_error():
    train = np.array([1.0, 5.0, 2.0, 7.0, 3.0, 9.0])
    # season 2: |2 - 1|, |7 - 5|, |3 - 2|, |9 - 7| -> mean 1.5; none: mean |diff| = 23 / 5
    assert metrics.mase_scale(train, 2) == pytest.approx(1.5)
    assert metrics.mase_scale(train, None) == pytest.approx((4 + 3 + 5 + 4 + 6) / 5)


def test_mape_does_not_blow_up_at_zero():
    truth = np.array([0.0, 1e-9, -1.0, 1.0])
    floor = metrics.mape_floor(truth)  # 0.1 * mean|truth| = 0.05
    assert floor == pytest.approx(0.05)
    mape = metrics.errors(truth + 0.1, truth, floor, 1.0)["mape"]
    assert mape == pytest.approx(100 * np.mean([0.1 / 0.05, 0.1 / 0.05, 0.1, 0.1]))


def test_best_lag_catches_a_copy_of_the_last_input():
    truth = np.sin(np.arange(200) / 5) + 0.05 * np.random.default_rng(0).standard_normal(200)
    copy = np.concatenate([[truth[0]], truth[:-1]])  # predicts each value as the one before it
    assert metrics.best_lag(copy, truth) == 1
    assert metrics.best_lag(truth + 0.01, truth) == 0
    seasonal = np.concatenate([truth[:12], truth[:-12]])
    assert metrics.best_lag(seasonal, truth, metrics.lag_range(12)) == 12


def test_a_series_that_repeats_itself_gives_no_seasonal_lag_to_good_predictions():
    t = np.arange(400)
    truth = np.sin(2 * np.pi * t / 40)  # repeats every 40 steps, as the sine wave does
    noise = 1e-3 * np.random.default_rng(0).standard_normal(400)
    noise[:40] *= 2  # a little worse on the first period, where a shifted match leaves them out
    good = truth + noise
    errors = metrics.lag_errors(good, truth, 40)
    assert errors[40] < errors[0]  # the shift by the repeat matches as well, here even better
    assert metrics.best_lag(good, truth, 40) == 0


def test_flat_forecast():
    truth = np.sin(np.arange(30) / 4)
    assert metrics.is_flat(np.full(30, 0.3), truth)
    assert not metrics.is_flat(truth * 0.9, truth)


# ----------------------------------------------------------------------------- windows
def quarterly_csv(tmp_path, n=89):
    """n quarterly values with a date column: a season of 4 on a trend, and some noise."""
    rng = np.random.default_rng(3)
    lines = ["date,value"]
    for i in range(n):
        year, quarter = 1990 + i // 4, i % 4
        value = 100 + i + 10 * [1, -1, 2, -2][quarter] + rng.normal()
        lines.append(f"{year}-{3 * quarter + 1:02d}-01,{value:.3f}")
    path = tmp_path / "quarterly.csv"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_windows_reach_into_known_history_and_targets_stay_in_their_period(tmp_path):
    path = quarterly_csv(tmp_path)
    values, dates = datasets.read_series_csv(path, "value", "date")
    data = datasets.load_csv(path, "value", "date", 8, 0.2, 0.1)
    data = datasets.with_season(data, None)
    assert data.period == 4 and "quarterly" in data.meta["season_source"]
    n_test = round(89 * 0.2)
    n_val = round((89 - n_test) * 0.1)
    n_fit = 89 - n_test - n_val
    # every test value is a one-step target, its window reaching back before the test period
    np.testing.assert_allclose(data.unscale(data.test_y[:, 0]).numpy(), values[-n_test:], 1e-6)
    assert len(data.test_x) == n_test and data.test_dates == dates[-n_test:]
    first_window = data.unscale(data.test_x[0, :, 0]).numpy()
    np.testing.assert_allclose(first_window, values[n_fit + n_val - 8 : n_fit + n_val], 1e-6)
    # no training or calibration target lies in the test period (nor training in calibration)
    train_targets = data.unscale(data.train_y[:, 0]).numpy()
    np.testing.assert_allclose(train_targets, values[8:n_fit], 1e-6)
    np.testing.assert_allclose(data.unscale(data.val_y[:, 0]).numpy(), values[n_fit:-n_test], 1e-6)
    # the scaler is the training part's
    assert data.mean == pytest.approx(np.mean(values[:n_fit]))
    assert data.std == pytest.approx(np.std(values[:n_fit], ddof=1))
    periods = Periods(data)
    np.testing.assert_allclose(periods.values, values, 1e-6)
    assert (periods.train_end, periods.test_start) == (n_fit, n_fit + n_val)


def test_the_sine_split_by_windows_is_unchanged():
    data = datasets.build_sine(80, 0.2)
    x, y = datasets.make_windows(datasets.sine_series(**datasets.SINE_PARAMS), 80)
    assert torch.equal(data.test_x, x[1536:]) and torch.equal(data.train_y, y[:1536])
    assert data.test_start == 80 + 1536
    held = datasets.hold_out_windows(data, 0.1)
    assert len(held.val_x) == 154 and torch.equal(held.test_x, data.test_x)


@pytest.mark.parametrize(
    ("spacing", "season", "words"),
    [
        (np.timedelta64(30, "m"), 48, "half-hourly"),
        (np.timedelta64(1, "h"), 24, "hourly"),
        (np.timedelta64(1, "D"), 7, "daily"),
        (np.timedelta64(7, "D"), 52, "weekly"),
    ],
)
def test_seasons_from_regular_spacings(spacing, season, words):
    start = np.datetime64("2000-06-05T00:00")
    dates = [str(start + i * spacing) for i in range(30)]
    assert season_of_dates(dates)[0] == season
    assert words in season_of_dates(dates)[1]


def test_seasons_from_calendar_spacings():
    months = [f"{1950 + i // 12}-{i % 12 + 1:02d}-01" for i in range(40)]
    quarters = [f"{1956 + i // 4}-{3 * (i % 4) + 1:02d}-01" for i in range(40)]
    years = [f"{1821 + i}-01-01" for i in range(40)]
    assert season_of_dates(months)[0] == 12
    assert season_of_dates(quarters)[0] == 4
    season, words = season_of_dates(years)
    assert season is None and "yearly" in words
    assert season_of_dates([str(1821 + i) for i in range(40)])[0] is None  # years as numbers


def test_compact_dates_are_read_and_a_bad_date_names_its_row(tmp_path):
    path = tmp_path / "compact.csv"
    path.write_text("date,v\n" + "".join(f"195803{d:02d},{d}\n" for d in range(1, 29)))
    _, dates = datasets.read_series_csv(path, "v", "date")
    assert dates[:2] == ["1958-03-01", "1958-03-02"]
    assert season_of_dates(dates)[0] == 7
    bad = tmp_path / "bad.csv"
    bad.write_text("date,v\n2000-01-01,1\n2000-01-02,2\nnext tuesday,3\n")
    with pytest.raises(DataError, match=r"row 4: 'next tuesday' in column 'date'"):
        datasets.read_series_csv(bad, "v", "date")


TINY_CSV = ["--epochs", "2", "--predict-steps", "3", "--jobs", "1"]


def test_a_compact_dated_series_runs_end_to_end(tmp_path):
    path = tmp_path / "daily.csv"
    rows = [
        f"{20000101 + i if i < 31 else 20000201 + i - 31},{math.sin(i / 3):.4f}" for i in range(59)
    ]
    path.write_text("day,value\n" + "\n".join(rows) + "\n")
    out = tmp_path / "out"
    flags = csv_flags(
        path, out, *TINY_CSV, "--date-column", "day", "--sequence-length", "7", column="value"
    )
    assert compare_results.main(flags) == 0
    assert (out / "predictions.png").exists() and not (out / "runs-in-progress.json").exists()
    assert json.loads((out / "results.json").read_text())["season"] == 7


# ----------------------------------------------------------------------------- baselines
def test_baselines_by_hand():
    values = [float(v) for v in [1, 2, 3, 4, 2, 3, 4, 5, 3, 4, 5, 6, 4, 5, 6, 7, 5, 6, 7, 8]]
    data = datasets.build_real(values, 4, 0.25, "toy", period=4)  # 15 training, 5 test values
    f = baselines.baseline_forecasts(data, 3)
    # the first test origin forecasts values 15, 16, 17 (6, 7, 5 are at 14, 13, 16)
    assert f["persistence"][0].tolist() == pytest.approx([values[14]] * 3)
    assert f["seasonal persistence"][0].tolist() == pytest.approx(values[11:14])
    train = np.array(values[:15])
    climatology = [train[k::4].mean() for k in range(4)]
    assert f["seasonal mean"][0].tolist() == pytest.approx(
        [climatology[(15 + h) % 4] for h in range(3)]
    )
    step = (values[14] - values[0]) / 14
    assert f["drift"][0].tolist() == pytest.approx([values[14] + (h + 1) * step for h in range(3)])
    assert set(f) == {
        "persistence",
        "seasonal persistence",
        "seasonal mean",
        "drift",
        "linear AR(4)",
    }
    assert all(v.shape == (5, 3) for v in f.values())


def test_the_linear_autoregression_recovers_an_ar2_exactly():
    r, theta, c = 0.999, 0.3, 0.5
    a, b = 2 * r * math.cos(theta), -(r**2)
    y = [1.0, 0.3]
    for _ in range(400):
        y.append(c + a * y[-1] + b * y[-2])
    y = np.array(y)
    x = np.stack([y[:-2], y[1:-1]], axis=1)  # windows of 2, oldest first
    coef = baselines.linear_ar(x, y[2:])[:, 0]
    np.testing.assert_allclose(coef, [b, a, c], atol=1e-6)


def test_the_linear_autoregression_predicts_the_sine_to_float_precision():
    data = datasets.hold_out_windows(datasets.build_sine(80, 0.2), 0.1)
    one_step = baselines.baseline_forecasts(data, 1)["linear AR(80)"][:, 0]
    truth = Periods(data).test
    assert math.sqrt(np.mean((one_step - truth) ** 2)) < 1e-5


def test_direct_targets_are_the_next_values_and_stay_in_their_split():
    data = datasets.build_real([float(i) for i in range(200)], 8, 0.25, "ramp", val_fraction=0.1)
    steps = 5
    direct = data.direct(steps)
    for x, y in ((direct.train_x, direct.train_y), (direct.test_x, direct.test_y)):
        last_inputs = data.unscale(x[:, -1, 0])
        expected = last_inputs[:, None] + torch.arange(1, steps + 1)  # a ramp: +1 per step
        torch.testing.assert_close(data.unscale(y), expected.double(), atol=1e-3, rtol=0)
    last_train_target = float(data.unscale(direct.train_y).max())
    first_held_out = float(data.unscale(data.val_y).min())
    assert last_train_target < first_held_out < float(data.unscale(data.test_y).min())
    short = data.direct(40)  # longer than the held-out stretch: no direct windows there
    assert len(short.val_x) == 0 and short.val_y.shape == (0, 40)


@pytest.mark.parametrize("kind", list(MODEL_TYPES))
def test_every_origin_at_once_equals_one_origin_at_a_time(kind):
    torch.manual_seed(0)
    model = build_model(kind, hidden_size=6).eval()
    data = datasets.build_real(list(np.sin(np.arange(120) / 3)), 10, 0.3, "toy")
    steps = 4

    def forecaster(windows):
        return trainer.forecast(model, windows, steps)

    scores, pred = evaluation.score_forecasts(forecaster, data, steps, 0)
    truth = data.unscale(data.test_y[:, 0]).numpy()
    starts = range(len(data.test_x) - steps + 1)
    assert scores["origins"] == len(starts) == len(pred) == 36 - steps + 1
    slow_errors = []
    for o in starts:  # the slow reference: one window, one prediction fed back at a time
        window = data.test_x[o]
        out = []
        with torch.no_grad():
            for _ in range(steps):
                nxt = model(window.unsqueeze(0))[0, 0]
                out.append(float(data.unscale(nxt)))
                window = torch.cat([window[1:], nxt.view(1, 1)])
        np.testing.assert_allclose(pred[o], out, rtol=1e-5, atol=1e-6)
        slow_errors.append(np.array(out) - truth[o : o + steps])
    slow_rmse = np.sqrt(np.mean(np.square(slow_errors), axis=0))
    np.testing.assert_allclose(scores["rmse"], slow_rmse, rtol=1e-5)


def test_a_direct_model_outputs_all_steps_and_trains_on_them():
    model = build_model("GRU", hidden_size=5, output_size=7)
    assert model(torch.randn(3, 12, 1)).shape == (3, 7)
    data = datasets.build_real(list(np.sin(np.arange(160) / 4)), 10, 0.25, "s")
    config = TrainSettings(hidden_size=5, epochs=2, impl="torch", outputs=7)
    result = compare_results.train_run("GRU", data, config, CPU)
    assert result.model_args["output_size"] == 7
    assert trainer.forecast(result.model, data.test_x[:4], 7, "direct").shape == (4, 7)


# ----------------------------------------------------------------------------- intervals
def test_split_conformal_coverage_on_independent_noise_is_near_nominal():
    """Exchangeable errors: the interval covers about `level` of new values. Given the
    calibration draw, coverage varies by about sqrt(p (1 - p) / n_cal), and the share of test
    values inside by sqrt(p (1 - p) / n_test): four standard deviations of both."""
    rng = np.random.default_rng(7)
    n_cal, n_test = 4000, 20000
    cal, test = rng.standard_normal((n_cal, 3)), rng.standard_normal((n_test, 3))
    for level in (0.8, 0.9):
        scores = intervals.calibration_scores(np.zeros_like(cal), cal, n_cal + 3)
        half = intervals.split_conformal(scores, level)
        result = intervals.coverage(np.zeros_like(test), test, half, [True] * 3)
        bound = 4 * math.sqrt(level * (1 - level) * (1 / n_cal + 1 / n_test))
        for cov in [result["coverage"], *result["coverage_per_h"]]:
            assert abs(cov - level) < bound, (level, cov, bound)


def test_too_few_calibration_origins_give_no_interval():
    assert intervals.needed_origins(0.9) == 9 and intervals.needed_origins(0.95) == 19
    # 12 origins, horizons 1..5: horizon h keeps 12 - h + 1 of them (the rest reach past)
    scores = intervals.calibration_scores(np.zeros((12, 5)), np.ones((12, 5)), 12)
    assert [len(s) for s in scores] == [12, 11, 10, 9, 8]
    half = intervals.split_conformal(scores, 0.9)
    assert np.isfinite(half[:4]).all() and np.isnan(half[4])
    result = intervals.coverage(np.zeros((3, 5)), np.ones((3, 5)), half, ~np.isnan(half))
    assert result["coverage_per_h"][4] is None and result["width_per_h"][4] is None


def ar1_with_a_level_shift(n_cal=500, n_test=3000, phi=0.7, shift=4.0, seed=0):
    """One-step forecasts phi * y_(t-1) of an AR(1) around 0, whose level jumps to `shift` at
    the start of the test period: (calibration errors, test forecasts, test truth)."""
    rng = np.random.default_rng(seed)
    level = np.r_[np.zeros(n_cal + 1), np.full(n_test, shift)]
    y = np.zeros(n_cal + n_test + 1)
    for t in range(1, len(y)):
        y[t] = level[t] + phi * (y[t - 1] - level[t - 1]) + rng.standard_normal()
    pred = phi * y[:-1]  # the model learnt the old level
    truth = y[1:]
    return np.abs(pred[:n_cal] - truth[:n_cal]), pred[n_cal:], truth[n_cal:]


def test_adaptive_conformal_holds_coverage_through_a_level_shift():
    cal, pred, truth = ar1_with_a_level_shift()
    scores = [np.sort(cal)]
    split = intervals.split_conformal(scores, 0.9)
    split_cov = intervals.coverage(pred[:, None], truth[:, None], split, [True])["coverage"]
    adaptive, capped = intervals.adaptive_conformal(scores, pred[:, None], truth[:, None], 0.9)
    aci = intervals.coverage(pred[:, None], truth[:, None], adaptive, [True], capped)
    aci_cov = aci["coverage"]
    assert split_cov < 0.8  # the shift breaks exchangeability: far below nominal
    assert abs(aci_cov - 0.9) < 0.03


def test_adaptive_conformal_at_origin_t_uses_no_later_value():
    rng = np.random.default_rng(1)
    n, steps, t = 60, 3, 30
    pred, truth = rng.standard_normal((n, steps)), rng.standard_normal((n, steps))
    cal = [np.sort(np.abs(rng.standard_normal(40))) for _ in range(steps)]
    base, _ = intervals.adaptive_conformal(cal, pred, truth, 0.9)
    for j in range(steps):
        later = truth.copy()
        # every target at or after test index t: origin o's horizon j targets index o + j
        for o in range(n):
            if o + j >= t:
                later[o, j] += 100.0
        changed, _ = intervals.adaptive_conformal(cal, pred, later, 0.9)
        np.testing.assert_array_equal(changed[: t + 1, j], base[: t + 1, j])
        assert not np.array_equal(changed[:, j], base[:, j])  # the change does reach later ones


def test_intervals_far_wider_than_asked_are_named_and_well_sized_ones_are_not():
    rng = np.random.default_rng(2)
    truth, pred = rng.standard_normal((300, 2)), np.zeros((300, 2))
    lines = {}
    for case, calibration_scale in (("wide", 5.0), ("matched", 1.0)):  # a stormy calibration
        cal = [np.sort(np.abs(calibration_scale * rng.standard_normal(200))) for _ in range(2)]
        split = intervals.coverage(pred, truth, intervals.split_conformal(cal, 0.9), [True, True])
        interval = {"level": 0.9, **split, "adaptive": split}
        report = {"origins": 300, "steps": 2}
        lines[case] = verdicts.coverage_verdicts("GRU", [{"interval": interval}], report)
    wide = [line for line in lines["wide"] if "wider than they need" in line]
    assert len(wide) == 2 and "GRU: split-conformal intervals cover 10" in wide[0]  # 100.0%
    assert not any("wider" in line for line in lines["matched"])


# ----------------------------------------------------------------------------- paired tests
def test_holm_on_a_hand_worked_example():
    # sorted p: 0.01, 0.02, 0.03, 0.04 with m = 4: 0.04, 0.06, 0.06 (monotone), 0.06
    assert significance.holm([0.03, 0.01, 0.04, 0.02]) == pytest.approx([0.06, 0.04, 0.06, 0.06])
    assert significance.holm([0.5, 0.9]) == pytest.approx([1.0, 1.0])
    assert significance.holm([]) == []


def test_diebold_mariano_matches_a_hand_computed_example():
    e1 = np.array([1.0, -2.0, 3.0, 0.5, -1.0])
    e2 = np.array([0.5, -1.0, 1.0, 1.0, -0.5])
    d = e1**2 - e2**2  # [0.75, 3, 8, -0.75, 0.75]: mean 2.35
    gamma0 = np.mean((d - d.mean()) ** 2)  # 47.075 / 5 = 9.415
    dm = d.mean() / math.sqrt(gamma0 / 5) * math.sqrt((5 + 1 - 2) / 5)  # HLN, h = 1
    result = significance.diebold_mariano(e1**2, e2**2)
    assert result["statistic"] == pytest.approx(dm) == pytest.approx(1.53175, abs=1e-5)
    from scipy import stats

    assert result["p_value"] == pytest.approx(2 * stats.t.sf(dm, 4))
    assert result["p_second"] == pytest.approx(stats.t.sf(dm, 4))  # the second is better
    assert result["p_first"] == pytest.approx(stats.t.cdf(dm, 4))


# ----------------------------------------------------------------------------- equal budgets
@pytest.mark.parametrize("target", [500, 1861, 5000, "LSTM", "GRU"])
@pytest.mark.parametrize("layers", [1, 2])
def test_match_params_lands_on_the_best_achievable_count(target, layers):
    sizes = matched_hidden_sizes(target, list(MODEL_TYPES), 20, num_layers=layers)
    built = (
        build_model(target, hidden_size=20, num_layers=layers) if isinstance(target, str) else None
    )
    goal = count_parameters(built) if built is not None else target
    for kind, chosen in sizes.items():
        counts = {
            h: count_parameters(build_model(kind, hidden_size=h, num_layers=layers))
            for h in range(1, 90)
        }
        best = min(counts, key=lambda h: (abs(counts[h] - goal), h))
        assert chosen == best, (kind, chosen, best)


def test_match_params_in_closed_form_at_any_size():
    """A billion parameters: found at once, and nearer the target than either neighbour."""

    for kind, h in matched_hidden_sizes(10**9, list(MODEL_TYPES), 20).items():
        gaps = [abs(parameters(kind, x) - 10**9) for x in (h - 1, h, h + 1)]
        assert gaps[1] <= min(gaps), kind
    with pytest.raises(FlagError, match="give a number or a model type"):
        matched_hidden_sizes("TRANSFORMER", ["RNN"], 20)


def test_compare_with_equal_budgets_and_the_direct_strategy(tiny_flags, tmp_path, capsys):
    flags = [*tiny_flags, "--match-params", "LSTM", "--strategy", "direct", "--jobs", "1"]
    assert compare_results.main(flags) == 0
    assert "Equal budgets (--match-params LSTM)" in capsys.readouterr().out
    report = json.loads((tmp_path / "figs" / "results.json").read_text())
    params = {k: m["params"] for k, m in report["models"].items()}
    assert max(params.values()) - min(params.values()) < 0.1 * params["LSTM"]
    assert report["strategy"] == "direct" and report["models"]["RNN"]["hidden_size"] > 8


# ----------------------------------------------------------------------------- what went wrong
def short_csv(tmp_path, n=60):
    path = tmp_path / "short.csv"
    path.write_text("v\n" + "".join(f"{math.sin(i / 2) + i / 30:.4f}\n" for i in range(n)))
    return path


def test_too_few_calibration_origins_report_no_coverage(tmp_path):
    """60 values: 5 held out, fewer than the 9 that 90 % needs; no crash, no coverage."""
    out = tmp_path / "out"
    flags = csv_flags(short_csv(tmp_path), out, *TINY_CSV, "--sequence-length", "6")
    assert compare_results.main(flags) == 0
    text = (out / "results.md").read_text()
    assert "90% needs ≥ 9 calibration origins" in text and "split coverage %" not in text
    report = json.loads((out / "results.json").read_text())
    for m in report["models"].values():
        assert m["runs"][0]["coverage"] is None and "coverage" not in m["summary"]


def test_a_horizon_longer_than_the_calibration_stretch_keeps_the_run(tiny_flags, capsys):
    """158 held-out windows, 200 steps: intervals for h = 1..150, one line for the rest."""
    flags = [*tiny_flags, "--predict-steps", "200", "--predict-start", "0"]
    assert trainer.main(flags) == 0
    out = capsys.readouterr().out
    assert "no interval at h = 151–200: 90% needs ≥ 9 calibration origins" in out
    assert "split coverage" in out


def test_direct_forecasts_longer_than_the_held_out_stretch_train(tiny_flags, capsys):
    flags = [*tiny_flags, "--strategy", "direct", "--predict-steps", "300", "--predict-start", "0"]
    assert trainer.main(flags) == 0
    assert "300-step direct forecasts" in capsys.readouterr().out


def test_no_held_out_stretch_means_no_intervals(tiny_flags, capsys):
    with pytest.raises(SystemExit) as stop:
        trainer.main([*tiny_flags, "--val-fraction", "0"])
    assert stop.value.code == 2
    assert "--val-fraction 0 leaves no held-out stretch" in capsys.readouterr().err
    assert trainer.main([*tiny_flags, "--val-fraction", "0", "--interval", "0"]) == 0
