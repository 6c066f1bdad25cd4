"""The field's statistical benchmarks, from statsforecast (an optional extra: pip install -e
".[benchmarks]"): AutoETS, AutoTheta and AutoARIMA, each choosing its own form on the training
period, as the networks and the linear autoregression are fitted there.

The cheaper rule, not a refit at each origin: each model is fitted once, on the training
period (its form and its parameters), and at every origin it forecasts from all the values
known there with those parameters (statsforecast's `forward`, which runs the fitted model's
filter over the new history). That is the rule the networks follow (trained once, fed the
history at each origin) and costs one filtering per origin. Refitting at each origin instead
(statsforecast's cross_validation with refit=True) cost 57 s for AutoETS alone on El Niño's
123 test origins, against 0.4 s here.
"""

from __future__ import annotations

import contextlib
import io
import time
import warnings

from seqpred.errors import first_line

import numpy as np

MODELS = ("AutoETS", "AutoTheta", "AutoARIMA")
# A seasonal AutoARIMA over a long season is searched for far too long: more than 10 minutes on
# the 3225 half-hourly training values of the electricity series (season 48), against 6 s
# without a season. Over this season AutoARIMA runs without one, and the report says so.
MAX_ARIMA_SEASON = 24
EXTRA = 'pip install -e ".[benchmarks]"'
MISSING = (
    f"AutoETS, AutoTheta and AutoARIMA (statsforecast) would join the baselines: {EXTRA} adds them"
)


def available() -> bool:
    """Whether statsforecast can be imported here."""
    try:
        import statsforecast.models  # noqa: F401
    except ImportError:
        return False
    return True


def forecasts(values: np.ndarray, train_end: int, season: int | None, steps: int, splits: dict):
    """Each model's forecasts of the next `steps` values from every origin of every split.

    values: the whole series (N,); splits: {split: the first target index of each origin}.
    Returns ({model: {split: (n_origins, steps)}}, {model: why it failed}, {model: seconds}).
    """
    from statsforecast import models

    out, failed, seconds = {}, {}, {}
    for name in MODELS:
        start = time.perf_counter()
        try:
            with quiet():
                model = getattr(models, name)(season_length=season_for(name, season))
                model = model.fit(values[:train_end])
                out[name] = {
                    split: origin_forecasts(model, values, starts, steps)
                    for split, starts in splits.items()
                }
        except Exception as err:  # a model that cannot be fitted on this series is left out
            failed[name] = first_line(err, 160)
        seconds[name] = time.perf_counter() - start
    return out, failed, seconds


def season_for(name: str, season: int | None) -> int:
    """The season a model is fitted with (1: none)."""
    if name == "AutoARIMA" and season and season > MAX_ARIMA_SEASON:
        return 1
    return season or 1


def origin_forecasts(model, values: np.ndarray, starts, steps: int) -> np.ndarray:
    """The fitted model's forecasts from each origin, given every value before it."""
    rows = [np.asarray(model.forward(y=values[:t], h=steps)["mean"], float) for t in starts]
    return np.stack(rows) if rows else np.empty((0, steps))


@contextlib.contextmanager
def quiet():
    """statsforecast's warnings and prints (convergence notes) stay out of the report."""
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        yield
