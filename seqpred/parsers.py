"""Each script's command line, built from the shared flag groups: `parser("main.py")`. Nothing
here imports PyTorch, so `--help` answers at once (seqpred/__init__.py answers it before the
script loads anything else)."""

from __future__ import annotations

import argparse

from seqpred.flags import (
    MODEL_TYPES,
    add_data_arguments,
    add_forecast_arguments,
    add_model_arguments,
    add_output_arguments,
    add_run_set_arguments,
    add_training_arguments,
    model_type,
    positive_int,
    sequence_length,
)


def main_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="main.py",
        description="Train an RNN, LSTM or GRU to predict the next value of a series (the "
        "article's sine wave, El Niño sea-surface temperature, or a CSV column), or to solve "
        "the adding problem.",
    )
    p.add_argument(
        "--model-type",
        type=model_type,
        choices=MODEL_TYPES,
        default="LSTM",
        help="which network to train, case-insensitive (default: LSTM)",
    )
    add_data_arguments(p, "main.py")
    add_model_arguments(p)
    add_training_arguments(p)
    add_forecast_arguments(p)
    add_output_arguments(p, "figures for sine, figures/<dataset> otherwise")
    c = p.add_argument_group("figures and checkpoints")
    c.add_argument(
        "--plot",
        action="store_true",
        help="write into --out-dir: <MODEL>_loss.png, <MODEL>_gradient_flow.png, "
        "<MODEL>_forecast.png (series only) and, for an LSTM, LSTM_gates.png",
    )
    c.add_argument(
        "--resume",
        metavar="CHECKPOINT",
        help="continue training from a checkpoint written by --save-model (same flags and "
        "data; --epochs is the total to reach)",
    )
    c.add_argument(
        "--save-model",
        nargs="?",
        const="",
        default=None,
        metavar="PATH",
        help="save a checkpoint after training, or after the last completed epoch if stopped "
        "early, to PATH if given (default PATH: checkpoints/<MODEL>.pt)",
    )
    return p


def compare_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="compare_results.py",
        description="Train RNN, LSTM and GRU with shared flags over one or more seeds, score "
        "them beside the baselines on every test origin, and write comparison figures and "
        "tables.",
    )
    add_run_set_arguments(p)
    add_data_arguments(p, "compare_results.py")
    add_model_arguments(p)
    add_training_arguments(
        p,
        epochs="500; with --dataset collection, each series' own from the manifest; 15 for a "
        "competition or panel",
        panels=True,
    )
    add_forecast_arguments(p)
    add_output_arguments(p, "figures for sine, figures/<dataset> otherwise")
    return p


def sweep_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="sweep.py",
        description="Tune each model's learning rate, size and depth on a validation split, "
        "then compare the tuned models and the defaults on the test period.",
    )
    add_run_set_arguments(p, jobs=" (the retraining of the best)")
    add_data_arguments(p, "sweep.py")
    add_model_arguments(p, match=False)
    add_training_arguments(p)
    add_forecast_arguments(p)
    add_output_arguments(p, "figures/sweep for sine, figures/<dataset>/sweep otherwise")
    s = p.add_argument_group("sweep")
    s.add_argument(
        "--trials",
        type=positive_int,
        default=20,
        help="trials per model type, counted across every worker (default: 20)",
    )
    s.add_argument(
        "--storage",
        metavar="URL",
        help="an Optuna storage URL that several workers share, e.g. "
        "postgresql://user:password@host/db (default: sweep.db in --out-dir)",
    )
    s.add_argument(
        "--workers",
        type=positive_int,
        default=1,
        help="local worker processes that run trials at the same time (default: 1)",
    )
    s.add_argument("--worker-id", type=int, help=argparse.SUPPRESS)
    return p


def adding_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="adding_task.py",
        description="Train RNN, LSTM and GRU on the adding problem at several sequence lengths.",
    )
    p.add_argument(
        "--lengths",
        type=sequence_length,
        nargs="+",
        default=[10, 25, 50, 100],
        help="sequence lengths to try, each at least 2 (default: 10 25 50 100)",
    )
    add_run_set_arguments(p)
    add_model_arguments(p, match=False)
    add_training_arguments(p, epochs="40", batch=100, lr=3e-3, log_interval=10)
    add_output_arguments(p, "figures/adding")
    return p


PARSERS = {
    "main.py": main_parser,
    "compare_results.py": compare_parser,
    "sweep.py": sweep_parser,
    "adding_task.py": adding_parser,
}


def parser(script: str) -> argparse.ArgumentParser:
    """The parser of one of the scripts, by its file name."""
    return PARSERS[script]()
