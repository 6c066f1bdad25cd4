"""The evidence: every origin at once equals one origin at a time, direct targets, conformal
coverage, the Diebold-Mariano test, paired differences, equal parameter budgets."""

import math

import numpy as np
import pytest
import torch

import compare_results
import data as datasets
import main as trainer
from models import MODEL_TYPES, build_model, count_parameters
from seqpred import evidence

CPU = torch.device("cpu")


@pytest.mark.parametrize("kind", list(MODEL_TYPES))
def test_every_origin_at_once_equals_one_origin_at_a_time(kind):
    torch.manual_seed(0)
    model = build_model(kind, hidden_size=6).eval()
    data = datasets.build_real(list(np.sin(np.arange(120) / 3)), 10, 0.3, "toy")
    steps = 4

    def forecaster(windows):
        return trainer.forecast(model, windows, steps)

    scores, pred = evidence.score_forecasts(forecaster, data, steps, 0)
    truth = data.unscale(data.test_y[:, 0]).numpy()
    starts = range(len(data.test_x) - steps + 1)
    assert scores["origins"] == len(starts) == len(pred)
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


def test_direct_targets_are_the_next_values_and_stay_in_their_split():
    data = datasets.build_real([float(i) for i in range(200)], 8, 0.25, "ramp", val_fraction=0.1)
    steps = 5
    direct = data.direct(steps)
    series = torch.arange(200.0)
    for x, y in ((direct.train_x, direct.train_y), (direct.test_x, direct.test_y)):
        last_inputs = data.unscale(x[:, -1, 0])
        expected = last_inputs[:, None] + torch.arange(1, steps + 1)  # a ramp: +1 per step
        torch.testing.assert_close(data.unscale(y), expected.double(), atol=1e-3, rtol=0)
    # No training target reaches the validation or test period.
    last_train_target = float(data.unscale(direct.train_y).max())
    first_held_out = float(data.unscale(data.val_y).min())
    assert last_train_target < first_held_out < float(data.unscale(data.test_y).min())
    assert float(series[-1]) == pytest.approx(float(data.unscale(direct.test_y).max()), abs=1e-3)


def test_a_direct_model_outputs_all_steps_and_trains_on_them():
    model = build_model("GRU", hidden_size=5, output_size=7)
    assert model(torch.randn(3, 12, 1)).shape == (3, 7)
    data = datasets.build_real(list(np.sin(np.arange(160) / 4)), 10, 0.25, "s")
    config = trainer.RunConfig(hidden_size=5, epochs=2, impl="torch", outputs=7)
    result = trainer.train_model("GRU", data, config, CPU)
    assert result.model_args["output_size"] == 7
    out = trainer.forecast(result.model, data.test_x[:4], 7, "direct")
    assert out.shape == (4, 7)


def test_conformal_coverage_on_independent_noise_is_near_nominal():
    """Exchangeable errors: the interval covers about `level` of new values. Given the
    calibration draw, coverage varies by about sqrt(p (1 - p) / n_cal), and the share of test
    values inside by sqrt(p (1 - p) / n_test): four standard deviations of both."""
    rng = np.random.default_rng(7)
    n_cal, n_test = 4000, 20000
    cal, test = rng.standard_normal((n_cal, 3)), rng.standard_normal((n_test, 3))
    for level in (0.8, 0.9):
        half = evidence.conformal_quantiles(np.zeros_like(cal), cal, level)
        result = evidence.coverage(np.zeros_like(test), test, half)
        bound = 4 * math.sqrt(level * (1 - level) * (1 / n_cal + 1 / n_test))
        for cov in [result["coverage"], *result["coverage_per_h"]]:
            assert abs(cov - level) < bound, (level, cov, bound)


def test_too_few_calibration_origins_give_an_infinite_interval():
    half = evidence.conformal_quantiles(np.zeros((5, 2)), np.ones((5, 2)), 0.9)
    assert np.isinf(half).all()  # ceil(6 * 0.9) = 6 > 5: no finite quantile has the guarantee


def test_calibration_windows_never_overlap_the_test_period():
    for val in (0.0, 0.1):
        data = datasets.build_real(
            [float(i) for i in range(300)], 10, 0.2, "ramp", val_fraction=val
        )
        x, y, _ = evidence.calibration_windows(data)
        first_test_target = float(data.unscale(data.test_y).min())
        first_test_input = float(data.unscale(data.test_x).min())
        assert float(data.unscale(y).max()) < first_test_input <= first_test_target
    sine = datasets.hold_out_windows(datasets.build_sine(80, 0.2), 0.1)
    x, y, where = evidence.calibration_windows(sine)
    assert x is sine.val_x and "held-out" in where


def test_diebold_mariano_matches_a_hand_computed_example():
    e1 = np.array([1.0, -2.0, 3.0, 0.5, -1.0])
    e2 = np.array([0.5, -1.0, 1.0, 1.0, -0.5])
    d = e1**2 - e2**2  # [0.75, 3, 8, -0.75, 0.75]: mean 2.35
    gamma0 = np.mean((d - d.mean()) ** 2)  # 47.075 / 5 = 9.415
    dm = d.mean() / math.sqrt(gamma0 / 5) * math.sqrt((5 + 1 - 2) / 5)  # HLN, h = 1
    result = evidence.diebold_mariano(e1, e2)
    # 2.35 / sqrt(9.415 / 5) = 1.71256, times sqrt(4 / 5): 1.53175
    assert result["statistic"] == pytest.approx(dm) == pytest.approx(1.53175, abs=1e-5)
    from scipy import stats

    assert result["p_value"] == pytest.approx(2 * stats.t.sf(dm, 4))


def test_identical_errors_are_no_significant_difference():
    e = np.random.default_rng(0).standard_normal(50)
    assert evidence.diebold_mariano(e, e)["p_value"] == 1.0
    diff = evidence.paired_difference([0.1, 0.2, 0.3], [0.1, 0.2, 0.3])
    assert diff["mean"] == 0 and evidence.verdict("LSTM", "RNN", diff).startswith("no significant")


def test_paired_difference_and_verdict():
    better = evidence.paired_difference([1.0, 1.1, 0.9, 1.05, 0.95], [2.0, 2.2, 1.9, 2.1, 2.0])
    assert better["high"] < 0 and evidence.verdict("LSTM", "RNN", better) == "LSTM beats RNN"
    one = evidence.paired_difference([1.0], [2.0])
    assert one["low"] is None and "one seed" in evidence.verdict("LSTM", "RNN", one)


@pytest.mark.parametrize("target", [500, 1861, 5000, "LSTM", "GRU"])
@pytest.mark.parametrize("layers", [1, 2])
def test_match_params_lands_on_the_best_achievable_count(target, layers):
    sizes = evidence.matched_hidden_sizes(target, list(MODEL_TYPES), 20, 1, 1, layers)
    goal = target
    if isinstance(target, str):
        goal = count_parameters(build_model(target, hidden_size=20, num_layers=layers))
    for kind, chosen in sizes.items():
        counts = {h: count_parameters(build_model(kind, hidden_size=h, num_layers=layers))
                  for h in range(1, 90)}  # fmt: skip
        best = min(counts, key=lambda h: (abs(counts[h] - goal), h))
        assert abs(chosen - best) <= 1, (kind, chosen, best)
        assert counts[chosen] == evidence.parameter_count(kind, chosen, 1, 1, layers)


def test_compare_with_equal_budgets_and_the_direct_strategy(tiny_flags, tmp_path, capsys):
    flags = [*tiny_flags, "--match-params", "LSTM", "--strategy", "direct", "--jobs", "1"]
    assert compare_results.main(flags) == 0
    out = capsys.readouterr().out
    assert "Equal budgets (--match-params LSTM)" in out
    import json

    report = json.loads((tmp_path / "figs" / "results.json").read_text())
    params = {k: m["params"] for k, m in report["models"].items()}
    assert max(params.values()) - min(params.values()) < 0.1 * params["LSTM"]
    assert report["strategy"] == "direct" and report["models"]["RNN"]["hidden_size"] > 8
