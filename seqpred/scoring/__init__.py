"""Scoring forecasts, in the series' own units and on NumPy arrays: errors (metrics), the
baselines every network must beat (baselines, statistical), prediction intervals (intervals),
tests of whether a difference is real (significance), and a comparison put together from
them (evaluation)."""
