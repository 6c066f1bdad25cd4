import math

import numpy as np
import pytest

from seqpred import metrics


def test_errors_by_hand():
    e = metrics.errors(np.array([1.0, 2.0, 3.0]), np.array([1.0, 2.0, 5.0]), floor=1e-9)
    assert e["mae"] == pytest.approx(2 / 3)
    assert e["rmse"] == pytest.approx(math.sqrt(4 / 3))
    assert e["mape"] == pytest.approx(100 * (2 / 5) / 3)


def test_mape_does_not_blow_up_at_zero():
    truth = np.array([0.0, 1e-9, -1.0, 1.0])
    pred = truth + 0.1
    floor = metrics.mape_floor(truth)  # 0.1 * mean|truth| = 0.05
    assert floor == pytest.approx(0.05)
    mape = metrics.errors(pred, truth, floor)["mape"]
    assert math.isfinite(mape)
    assert mape == pytest.approx(100 * np.mean([0.1 / 0.05, 0.1 / 0.05, 0.1, 0.1]))


def test_skill_scores():
    truth = np.sin(np.arange(50) / 3)
    naive = np.roll(truth, 1)
    assert metrics.skill(truth, naive, truth) == 1.0
    assert metrics.skill(naive, naive, truth) == 0.0
    assert metrics.skill(naive + 1, naive, truth) < 0


def test_best_lag_catches_a_copy_of_the_last_input():
    truth = np.sin(np.arange(200) / 5) + 0.05 * np.random.default_rng(0).standard_normal(200)
    copy = np.concatenate([[truth[0]], truth[:-1]])  # predicts each value as the one before it
    assert metrics.best_lag(copy, truth) == 1
    assert metrics.best_lag(truth + 0.01, truth) == 0


def test_flat_forecast():
    truth = np.sin(np.arange(30) / 4)
    assert metrics.is_flat(np.full(30, 0.3), truth)
    assert not metrics.is_flat(truth * 0.9, truth)


def test_naive_baselines():
    windows = np.arange(24.0).reshape(2, 12)
    assert metrics.persistence(windows).tolist() == [11.0, 23.0]
    assert metrics.seasonal_persistence(windows, 12).tolist() == [0.0, 12.0]
    assert metrics.persistence_forecast(np.array([1.0, 5.0]), 3).tolist() == [5.0, 5.0, 5.0]
    window = np.arange(12.0)
    assert metrics.seasonal_forecast(window, 14, 12).tolist() == [*range(12), 0.0, 1.0]
