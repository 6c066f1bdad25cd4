"""Train one recurrent model (RNN, LSTM or GRU) to predict the next value of a series.

    python main.py --model-type LSTM --plot
    python main.py --model-type GRU --dataset elnino --save-model

Read it top to bottom, as the article goes: the flags, the data, the training loop
(train_epoch, evaluate, fit), the forecast, and the report. compare_results.py reuses these
functions. What makes the suite fast and safe (flag checks, devices, checkpoints, atomic
files, figures, the C kernels) lives in the seqpred/ package, one call each.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from dataclasses import dataclass, field, fields
from pathlib import Path

from seqpred import analysis, checkpoints, cli, flags, fused, runtime, scoring
from seqpred import report as report_lines
from seqpred.fileio import check_file_target
from seqpred.interrupts import Interrupted, as_interrupted

import torch
from torch import nn

import cells
import data as datasets
from models import MODEL_TYPES, build_model, count_parameters, parameters_of

# --impl: how models.py's nn layers run. torch: PyTorch's own nn.RNN/LSTM/GRU; scratch: the same
# layers unrolled from the equations in cells.py (slow, for reading); fused: the same layers as
# C kernels (fast on a CPU). The model, its weights and its state_dict are the same in all three.
IMPLEMENTATIONS = {"torch": nn, "scratch": cells, "fused": fused}


# ----------------------------------------------------------------------------- flags
def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="main.py",
        description="Train an RNN, LSTM or GRU to predict the next value of a series (the "
        "article's sine wave, El Niño sea-surface temperature, or a CSV column), or to solve "
        "the adding problem.",
    )
    parser.add_argument(
        "--model-type",
        type=flags.model_type,
        choices=list(MODEL_TYPES),
        default="LSTM",
        help="which network to train, case-insensitive (default: LSTM)",
    )
    flags.add_data_arguments(parser, datasets.DATASETS)
    flags.add_model_arguments(parser, IMPLEMENTATIONS)
    flags.add_training_arguments(parser)
    flags.add_forecast_arguments(parser)
    parser.add_argument(
        "--plot",
        action="store_true",
        help="write into --out-dir: <MODEL>_loss.png, <MODEL>_gradient_flow.png, "
        "<MODEL>_forecast.png (series only) and, for an LSTM, LSTM_gates.png",
    )
    flags.add_checkpoint_arguments(parser)
    return parser


# ----------------------------------------------------------------------------- training
@dataclass
class RunConfig:
    """What one training run needs besides the data: the model's size and the training settings."""

    hidden_size: int = 20
    num_layers: int = 1
    dropout: float = 0.0
    impl: str = "torch"
    epochs: int = 500
    batch_size: int = 500
    test_batch_size: int = 1000
    lr: float = 1e-3
    seed: int = 0
    max_batches: int | None = None  # --dry-run: one batch per epoch
    outputs: int = 1  # values the head predicts: 1, or --predict-steps with --strategy direct

    @classmethod
    def from_args(cls, args: argparse.Namespace, **changes) -> RunConfig:
        values = {f.name: getattr(args, f.name) for f in fields(cls) if hasattr(args, f.name)}
        values["max_batches"] = 1 if getattr(args, "dry_run", False) else None
        if getattr(args, "strategy", "recursive") == "direct":
            values["outputs"] = args.predict_steps
        return cls(**{**values, **changes})

    def model_args(self, data) -> dict:
        """Constructor arguments of the model (saved in checkpoints)."""
        return {
            "input_size": data.num_features,
            "hidden_size": self.hidden_size,
            "output_size": self.outputs,
            "num_layers": self.num_layers,
            "dropout": self.dropout,
        }


@dataclass
class History:
    """Per-epoch mean losses (in the scaled units the model trains on) and training time."""

    train_losses: list[float] = field(default_factory=list)
    test_losses: list[float] = field(default_factory=list)
    seconds: float = 0.0


class TrainingDiverged(Exception):
    """The loss became NaN or infinite."""


def train_epoch(model, x, y, optimizer, batch_size, generator, max_batches=None) -> float:
    """One pass over the shuffled training windows; returns the mean training MSE."""
    model.train()
    loss_fn = nn.MSELoss()
    order = torch.randperm(len(x), generator=generator).to(x.device)
    total = torch.zeros((), device=x.device)  # summed on the device: no host sync per batch
    seen = 0
    for start in range(0, len(x), batch_size):
        idx = order[start : start + batch_size]
        optimizer.zero_grad(set_to_none=True)
        loss = loss_fn(model(x[idx]), y[idx])  # x[idx]: (batch, seq_len, 1) -> (batch, 1)
        loss.backward()
        optimizer.step()
        total += loss.detach() * len(idx)
        seen += len(idx)
        if max_batches is not None and start // batch_size + 1 >= max_batches:
            break
    return total.item() / seen


@torch.no_grad()
def predict(model, x, batch_size=1000) -> torch.Tensor:
    """One-step-ahead predictions for windows x: (n, seq_len, 1) -> (n, 1)."""
    model.eval()
    return torch.cat([model(x[i : i + batch_size]) for i in range(0, len(x), batch_size)])


@torch.no_grad()
def evaluate(model, x, y, batch_size=1000) -> float:
    """Exact mean squared error over all windows (summed per batch, divided once)."""
    model.eval()
    total = torch.zeros((), device=x.device)
    for i in range(0, len(x), batch_size):
        total += ((model(x[i : i + batch_size]) - y[i : i + batch_size]) ** 2).sum()
    return total.item() / y.numel()


@torch.no_grad()
def forecast(model, windows: torch.Tensor, steps: int, strategy="recursive") -> torch.Tensor:
    """Forecasts of the next `steps` values after each window: (n, seq_len, 1) -> (n, steps).

    recursive (the article's): predict one value, append it to the window, drop the oldest,
    repeat, so the model is fed its own outputs. direct: the head predicts all steps at once.
    All windows run at once, as one batch; the look-back is the model's own sequence length.
    """
    model.eval()
    if strategy == "direct":
        return model(windows)[:, :steps]
    # One buffer for all the forecasts: many small tensors kept alive between the large
    # short-lived ones of each step would fragment the heap (it grew by hundreds of MB).
    out = windows.new_empty(len(windows), steps)
    seq = windows
    for step in range(steps):
        out[:, step : step + 1] = model(seq)  # (n, 1)
        seq = torch.cat([seq[:, 1:], out[:, step : step + 1, None]], dim=1)  # slide by one step
    return out


def fit(model, optimizer, data, config, device, generator, history, on_epoch=None) -> History:
    """Train from the epoch after the last one in `history` up to config.epochs.

    After each epoch: record the train and test loss, then call on_epoch(epoch, train, test).
    `generator` draws the batch order (kept apart from the weights' random numbers, so that a
    resumed run can restore it).
    """
    train_x, train_y = data.train_x.to(device), data.train_y.to(device)
    test_x, test_y = data.test_x.to(device), data.test_y.to(device)
    for epoch in range(len(history.train_losses) + 1, config.epochs + 1):
        start = time.perf_counter()
        train_loss = train_epoch(
            model, train_x, train_y, optimizer, config.batch_size, generator, config.max_batches
        )
        test_loss = evaluate(model, test_x, test_y, config.test_batch_size)
        if not (math.isfinite(train_loss) and math.isfinite(test_loss)):
            raise TrainingDiverged(
                f"training diverged at epoch {epoch}: the loss is {train_loss} (train) / "
                f"{test_loss} (test); try a smaller learning rate than --lr {config.lr}"
            )
        history.train_losses.append(train_loss)
        history.test_losses.append(test_loss)
        history.seconds += time.perf_counter() - start
        if on_epoch is not None:
            on_epoch(epoch, train_loss, test_loss)
    return history


@dataclass
class RunResult:
    """A trained model, how it got there, and what a checkpoint needs to continue it."""

    model_type: str
    model: nn.Module
    model_args: dict
    history: History
    n_params: int
    initial_state: dict  # the weights before training, for comparing trained with untrained
    final_state: dict  # checkpoints.training_state() at the end


class TrainingInterrupted(Interrupted):
    """Ctrl-C or SIGTERM during training; carries the state after the last completed epoch."""

    def __init__(self, cause: Interrupted, epochs_done: int, state: dict | None):
        super().__init__(cause.signum)
        self.epochs_done, self.state = epochs_done, state


def train_model(
    kind, data, config, device, on_epoch=None, resume=None, keep_state=False
) -> RunResult:
    """Seed, build and train one model: the whole job for one model type and seed.

    resume: a checkpoint to continue from. keep_state: remember the training state after every
    epoch, so that Ctrl-C or SIGTERM (TrainingInterrupted) hands back the last completed one.
    """
    size = f"--hidden-size {config.hidden_size} and --num-layers {config.num_layers}"
    n = parameters_of(kind, **config.model_args(data))
    with runtime.enough_memory(size, n), runtime.seeded(config.seed):  # weights from the seed
        model = build_model(kind, **config.model_args(data))  # models.py: nn layers + a head
        runtime.use_layers(model, IMPLEMENTATIONS[config.impl]).to(device)  # --impl: same weights
    initial_state = checkpoints.copy_of_weights(model)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr)
    generator = torch.Generator().manual_seed(config.seed)  # batch order, independent of init
    history = History()
    if resume is not None:
        history = History(*checkpoints.restore(resume, model, optimizer, generator))
    last_state = None

    def end_of_epoch(epoch, train_loss, test_loss):
        nonlocal last_state
        if keep_state:
            last_state = checkpoints.training_state(model, optimizer, generator, history)
        if on_epoch is not None:
            on_epoch(epoch, train_loss, test_loss)

    if config.outputs > 1:  # --strategy direct: each window's target is its next H values
        data = data.direct(config.outputs)
    try:
        with runtime.enough_memory(f"{size}, --batch-size {config.batch_size}"):
            fit(model, optimizer, data, config, device, generator, history, end_of_epoch)
    except KeyboardInterrupt as err:
        done = last_state["epoch"] if last_state else 0
        raise TrainingInterrupted(as_interrupted(err), done, last_state) from None
    final_state = checkpoints.training_state(model, optimizer, generator, history)
    args = config.model_args(data)
    return RunResult(
        kind, model, args, history, count_parameters(model), initial_state, final_state
    )


def gradient_profiles(result: RunResult, data, device, max_windows: int = 256) -> dict:
    """How strongly the prediction depends on each past input, trained and at initialisation."""
    x = data.test_x[:max_windows].to(device)
    untrained = build_model(result.model_type, **result.model_args)
    untrained.load_state_dict(result.initial_state)
    untrained.to(device)
    return {
        "trained": analysis.input_gradient_profile(result.model, x),
        "initial": analysis.input_gradient_profile(untrained, x),
    }


def load_model(path) -> tuple[nn.Module, dict]:
    """Rebuild a model from a checkpoint, with the implementation that runs on this machine."""
    ckpt = checkpoints.read(path)
    model = build_model(ckpt["model_type"], **ckpt["model_args"])
    model.load_state_dict(ckpt["state_dict"], strict=True)
    impl = runtime.resolve_impl("auto", torch.device("cpu"))
    return runtime.use_layers(model, IMPLEMENTATIONS[impl]), ckpt


# ----------------------------------------------------------------------------- report
def describe_run(result: RunResult, seed: int, data, args, device) -> dict:
    """What the report, the tables and the figures need of one trained model, as plain lists:
    its losses, one-step predictions, forecasts from every test origin with their intervals, and
    what the figures draw (one forecast, the gradient flow, an LSTM's gates)."""
    h, model, steps, start = result.history, result.model, args.predict_steps, args.predict_start
    one_step = predict(model, data.test_x.to(device), args.test_batch_size)[:, 0]

    def forecaster(windows):
        return forecast(model, windows.to(device), steps, args.strategy)

    start_evidence = time.perf_counter()
    scores, pred = scoring.score_forecasts(forecaster, data, steps, args.interval)
    evidence_seconds = time.perf_counter() - start_evidence
    window = data.test_x[start : start + 1].to(device)  # (1, seq_len, 1): the illustration's
    profiles = gradient_profiles(result, data, device)
    gates = None
    if result.model_type == "LSTM":
        gates = {k: v.tolist() for k, v in cells.lstm_gates(model.lstm, window[0]).items()}
    return {
        "model": result.model_type,
        "seed": seed,
        "params": result.n_params,
        "hidden_size": result.model_args["hidden_size"],
        "train_losses": h.train_losses,
        "test_losses": h.test_losses,
        "train_seconds": h.seconds,
        "seconds_per_epoch": h.seconds / len(h.train_losses),
        "one_step": data.unscale(one_step).tolist(),
        "evidence": scores,
        "evidence_seconds": evidence_seconds,  # every origin and the intervals: their cost
        "window": data.unscale(window[0, :, 0]).tolist(),
        "forecast": pred[start].tolist(),
        "truth": data.unscale(data.test_y[start : start + steps, 0]).tolist(),
        "gradient_trained": profiles["trained"].tolist(),
        "gradient_initial": profiles["initial"].tolist(),
        "gates": gates,
    }


def report(result: RunResult, data, args, device) -> dict | None:
    """Print the final losses and the errors in the series' own units: one step ahead, and
    forecasts from every test origin with their intervals, beside the simple baselines, and
    what they show in plain words. Returns the scored run (None for the adding problem)."""
    if not data.is_series:  # the adding problem: independent sequences, no forecasts
        one_step = predict(result.model, data.test_x.to(device), args.test_batch_size)[:, 0]
        for line in report_lines.sequence_lines(result, data, one_step):
            print(line)
        return None
    run = describe_run(result, args.seed, data, args, device)
    summary = scoring.evaluate_runs([run], data, args)
    for line in report_lines.run_lines(result, summary, data, args):
        print(line)
    return {"run": run, "summary": summary}


def write_plots(result: RunResult, data, args, device, scored) -> list[Path]:
    """One model's figures: losses, gradient flow, forecast, and the gates of an LSTM."""
    from seqpred import figures  # matplotlib only when a figure is asked for

    if scored is None:  # the adding problem: no forecast
        profiles = gradient_profiles(result, data, device)
        window = data.test_x[args.predict_start].to(device)
        gates = cells.lstm_gates(result.model.lstm, window) if result.model_type == "LSTM" else None
    else:
        run = scored["run"]
        profiles = {"trained": run["gradient_trained"], "initial": run["gradient_initial"]}
        gates = run["gates"]
    kind, history = result.model_type, result.history
    return figures.one_model(kind, history, profiles, gates, scored, data, args)


# ----------------------------------------------------------------------------- entry point
def main(argv=None) -> int:
    parser = build_parser()
    args = flags.finish(parser, parser.parse_args(argv), datasets.PRESETS, datasets.check_flags)
    runtime.keep_freed_memory()
    kind = args.model_type
    checkpoint = None
    if args.save_model is not None:
        checkpoint = Path(args.save_model or checkpoints.default_path(kind))
    return cli.run(parser, run, args, kind, checkpoint)


def run(args, stop, kind: str, checkpoint: Path | None) -> int:
    """Everything main() does once the flags are checked. stop: Ctrl-C or SIGTERM, recorded."""
    if checkpoint is not None:
        check_file_target(checkpoint, "--save-model")
    setup = cli.start(args, [kind], datasets, parameters_of, [args.out_dir] if args.plot else [])
    data, device = setup.data, setup.device
    config = RunConfig.from_args(args, impl=setup.impl, hidden_size=setup.hidden_sizes[kind])
    run_flags = checkpoints.run_flags(kind, config, args)
    resume = None
    if args.resume is not None:
        resume = checkpoints.read(args.resume)
        checkpoints.check_resume(resume, args.resume, run_flags, data, args.epochs)
    print(
        f"{kind} with {setup.layers}: {datasets.describe(data)}"
        + (f", resuming after epoch {len(resume['train_losses'])}" if resume else "")
    )
    if args.plot:
        runtime.preload("seqpred.figures")  # on the core training leaves free
    logger = cli.EpochLogger(kind, args.epochs, args.log_interval)

    def on_epoch(epoch, train_loss, test_loss):
        logger(epoch, train_loss, test_loss)
        stop.check()  # Ctrl-C or SIGTERM: stop here, after a whole epoch

    try:
        result = train_model(kind, data, config, device, on_epoch, resume, bool(checkpoint))
    except TrainingDiverged as err:
        raise SystemExit(f"main.py: error: {err}") from None
    except TrainingInterrupted as stopped:
        logger.close()
        model_args = config.model_args(data)
        return save_stopped(stopped, args, checkpoint, kind, model_args, run_flags, data)
    finally:
        logger.close()
    if checkpoint is not None:  # before the figures: a finished model is never lost
        state = result.final_state
        checkpoints.save(checkpoint, kind, result.model_args, state, run_flags, data)
        print(f"Saved checkpoint {checkpoint}")
    stop.check()  # a stop asked for during the last epoch: the checkpoint is saved, no report
    scored = report(result, data, args, device)
    stop.check()
    if args.plot:
        print("Wrote " + ", ".join(map(str, write_plots(result, data, args, device, scored))))
    return 0


def save_stopped(stop, args, checkpoint, kind, model_args, run_flags, data) -> int:
    """After Ctrl-C or SIGTERM in training: the checkpoint of the last completed epoch."""
    print(
        f"Interrupted ({stop.name}) after epoch {stop.epochs_done} of {args.epochs}; "
        f"{stop.epochs_done} epoch(s) completed."
    )
    if checkpoint is not None and stop.state is not None:
        checkpoints.save(checkpoint, kind, model_args, stop.state, run_flags, data)
        print(
            f"Saved the state after epoch {stop.epochs_done} to {checkpoint}; continue with: "
            f"--resume {checkpoint}"
        )
    return stop.status


if __name__ == "__main__":
    sys.exit(main())
