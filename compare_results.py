"""Train the RNN, the LSTM and the GRU with the same flags and compare them in two figures.

python compare_results.py     # writes figures/loss_curves.png and figures/predictions.png
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import main as trainer
import plots
from data import DataError
from models import MODEL_TYPES


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description="Train RNN, LSTM and GRU in turn with shared flags and draw comparison figures."
    )
    parser.add_argument(
        "--models",
        type=trainer.model_type,
        nargs="+",
        choices=list(MODEL_TYPES),
        default=list(MODEL_TYPES),
        help="model types to compare, case-insensitive (default: RNN LSTM GRU)",
    )
    trainer.add_training_arguments(parser)
    return parser


def summary_table(results: list[trainer.RunResult]) -> str:
    """A short fixed-width table: model, parameters, final losses, training seconds."""
    lines = [f"{'model':<6} {'params':>7} {'train MSE':>11} {'test MSE':>11} {'train s':>8}"]
    for r in results:
        h = r.history
        lines.append(
            f"{r.model_type:<6} {r.n_params:>7d} {h.train_losses[-1]:>11.3e} "
            f"{h.test_losses[-1]:>11.3e} {h.seconds:>8.1f}"
        )
    return "\n".join(lines)


def write_figures(results: list[trainer.RunResult], args) -> list[Path]:
    """loss_curves.png and predictions.png in --out-dir."""
    out = Path(args.out_dir)
    curves = {
        r.model_type: {"train": [r.history.train_losses], "test": [r.history.test_losses]}
        for r in results
    }
    first = results[0]
    return [
        plots.plot_loss_curves(
            curves, out / "loss_curves.png", "Training (solid) and test (dashed) loss"
        ),
        plots.plot_forecast(
            first.window.numpy(),
            first.truth.numpy(),
            {r.model_type: r.forecast.numpy() for r in results},
            out / "predictions.png",
            f"{args.predict_steps}-step free-running forecasts from test index "
            f"{args.predict_start}",
        ),
    ]


def main(argv=None) -> int:
    parser = build_parser()
    args = trainer.check_args(parser, parser.parse_args(argv))
    try:
        device = trainer.resolve_device(args.device)
    except trainer.DeviceError as err:
        parser.error(str(err))
    try:
        data = trainer.prepare_data(args)
        trainer.check_forecast_range(args, data)
    except (DataError, FileNotFoundError) as err:
        raise SystemExit(f"compare_results.py: error: {err}") from None

    print(
        f"Comparing {', '.join(args.models)} on {device}: {args.epochs} epochs, "
        f"{len(data.train_x)} training / {len(data.test_x)} test windows"
    )
    results = []
    for kind in args.models:
        logger = trainer.EpochLogger(kind, args.epochs, args.log_interval)
        try:
            results.append(trainer.train_model(kind, args, data, device, on_epoch=logger))
        except trainer.TrainingDiverged as err:
            raise SystemExit(f"compare_results.py: error: {kind}: {err}") from None
        finally:
            logger.close()

    for path in write_figures(results, args):
        print(f"Wrote {path}")
    print()
    print(summary_table(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
