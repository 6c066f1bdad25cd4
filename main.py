"""Train one recurrent model (RNN, LSTM or GRU) to predict the next value of a series.

    python main.py --model-type LSTM --plot
    python main.py --model-type GRU --dataset elnino --save-model

Read it top to bottom: the flags, the training (train_epoch, evaluate, the epoch loop in
train_model), the forecast, the report, and run(), which puts them in order. What makes the
suite fast and safe (checks, devices, checkpoints, signals, files, figures, the C kernels) lives
in the seqpred/ package, one call each; compare_results.py and sweep.py reuse these functions.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

from seqpred import analysis, checkpoints, cli, flags, fused, runtime
from seqpred.checkpoints import RunConfig, RunResult, TrainingDiverged, TrainingInterrupted
from seqpred.fileio import check_file_target
from seqpred.interrupts import as_interrupted
from seqpred.report import single
from seqpred.scoring import evaluation

import torch
from torch import nn

import cells
import data
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
    flags.add_model_type_argument(parser, MODEL_TYPES)
    flags.add_data_arguments(parser, data.DATASETS)
    flags.add_model_arguments(parser, IMPLEMENTATIONS)
    flags.add_training_arguments(parser)
    flags.add_forecast_arguments(parser)
    flags.add_checkpoint_arguments(parser, plot=True)
    return parser


# ----------------------------------------------------------------------------- training
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


def new_model(kind, dataset, config, device) -> nn.Module:
    """models.py's model, its weights drawn from the seed, its layers run as --impl asks."""
    size = f"--hidden-size {config.hidden_size} and --num-layers {config.num_layers}"
    n = parameters_of(kind, **config.model_args(dataset))  # refused before allocating if too big
    with runtime.enough_memory(size, n), runtime.seeded(config.seed):
        model = build_model(kind, **config.model_args(dataset))  # nn.LSTM (etc.) + a Linear head
        return runtime.use_layers(model, IMPLEMENTATIONS[config.impl]).to(device)


def train_model(kind, dataset, config, device, on_epoch=None, resume=None, keep_state=False):
    """Seed, build and train one model: the whole job for one model type and seed.

    After each epoch, on_epoch(epoch, train_loss, test_loss). resume: a checkpoint to continue
    from. keep_state: remember the training state after every epoch, so that Ctrl-C or SIGTERM
    (TrainingInterrupted) hands back the last completed one.
    """
    model = new_model(kind, dataset, config, device)
    initial_state = checkpoints.copy_of_weights(model)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr)
    generator = torch.Generator().manual_seed(config.seed)  # batch order, independent of init
    history = checkpoints.History()
    if resume is not None:
        history = checkpoints.restore(resume, model, optimizer, generator)
    if config.outputs > 1:  # --strategy direct: each window's target is its next H values
        dataset = dataset.direct(config.outputs)
    train_x, train_y = dataset.train_x.to(device), dataset.train_y.to(device)
    test_x, test_y = dataset.test_x.to(device), dataset.test_y.to(device)
    state = None  # the training state after the last completed epoch, with keep_state
    try:
        for epoch in range(len(history.train_losses) + 1, config.epochs + 1):
            start = time.perf_counter()
            with runtime.enough_memory(f"--batch-size {config.batch_size}"):
                batch = config.batch_size
                train_loss = train_epoch(
                    model, train_x, train_y, optimizer, batch, generator, config.max_batches
                )
                test_loss = evaluate(model, test_x, test_y, config.test_batch_size)
            if not (math.isfinite(train_loss) and math.isfinite(test_loss)):
                raise TrainingDiverged(
                    f"training diverged at epoch {epoch}: the loss is {train_loss} (train) / "
                    f"{test_loss} (test); try a smaller learning rate than --lr {config.lr}"
                )
            history.add(train_loss, test_loss, time.perf_counter() - start)
            if keep_state:
                state = checkpoints.training_state(model, optimizer, generator, history)
            if on_epoch is not None:
                on_epoch(epoch, train_loss, test_loss)
    except KeyboardInterrupt as err:  # Ctrl-C or SIGTERM, acted on at an epoch's end
        done = len(history.train_losses)
        raise TrainingInterrupted(as_interrupted(err), state, done) from None
    final_state = checkpoints.training_state(model, optimizer, generator, history)
    n_params, model_args = count_parameters(model), config.model_args(dataset)
    return RunResult(kind, model, model_args, history, n_params, initial_state, final_state)


# ----------------------------------------------------------------------------- forecasting
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


def gradient_profiles(result: RunResult, dataset, device, max_windows: int = 256) -> dict:
    """How strongly the prediction depends on each past input, trained and at initialisation."""
    untrained = build_model(result.model_type, **result.model_args)
    untrained.load_state_dict(result.initial_state)
    x = dataset.test_x[:max_windows].to(device)
    return analysis.gradient_profiles(result.model, untrained.to(device), x)


# ----------------------------------------------------------------------------- report
def describe_run(result: RunResult, seed: int, dataset, args, device) -> dict:
    """What the report, the tables and the figures need of one trained model, as plain lists:
    its losses, one-step predictions, forecasts from every test origin with their intervals, and
    what the figures draw (one forecast, the gradient flow, an LSTM's gates)."""
    h, model, steps, start = result.history, result.model, args.predict_steps, args.predict_start
    one_step = predict(model, dataset.test_x.to(device), args.test_batch_size)[:, 0]

    def forecaster(windows):
        return forecast(model, windows.to(device), steps, args.strategy)

    start_scoring = time.perf_counter()
    scores, pred = evaluation.score_forecasts(forecaster, dataset, steps, args.interval)
    window = dataset.test_x[start].to(device)  # (seq_len, 1): the illustration's
    profiles = gradient_profiles(result, dataset, device)
    gates = cells.lstm_gates(model.lstm, window) if result.model_type == "LSTM" else None
    return {
        "model": result.model_type,
        "seed": seed,
        "params": result.n_params,
        "hidden_size": result.model_args["hidden_size"],
        "train_losses": h.train_losses,
        "test_losses": h.test_losses,
        "train_seconds": h.seconds,
        "one_step": dataset.unscale(one_step).tolist(),
        "evidence": scores,
        "evidence_seconds": time.perf_counter() - start_scoring,  # every origin, the intervals
        "window": dataset.unscale(window[:, 0]).tolist(),
        "forecast": pred[start].tolist(),
        "truth": dataset.unscale(dataset.test_y[start : start + steps, 0]).tolist(),
        "gradient_trained": profiles["trained"].tolist(),
        "gradient_initial": profiles["initial"].tolist(),
        "gates": None if gates is None else {k: v.tolist() for k, v in gates.items()},
    }


def print_report(result: RunResult, dataset, args, device) -> dict | None:
    """Print the final losses and the errors in the series' own units: one step ahead, and
    forecasts from every test origin with their intervals, beside the simple baselines, and
    what they show in plain words. Returns the scored run (None for the adding problem)."""
    if not dataset.is_series:  # the adding problem: independent sequences, no forecasts
        one_step = predict(result.model, dataset.test_x.to(device), args.test_batch_size)[:, 0]
        print("\n".join(single.sequence_lines(result, dataset, one_step)))
        return None
    run = describe_run(result, args.seed, dataset, args, device)
    summary = evaluation.evaluate_runs([run], dataset, flags.score_settings(args))
    print("\n".join(single.run_lines(result, summary, dataset)))
    return {"run": run, "summary": summary}


def write_plots(result: RunResult, dataset, args, device, scored) -> list[Path]:
    """One model's figures: losses, gradient flow, forecast, and the gates of an LSTM."""
    from seqpred import figures  # matplotlib only when a figure is asked for

    if scored is None:  # the adding problem: losses, gradient flow and gates, no forecast
        profiles = gradient_profiles(result, dataset, device)
        window = dataset.test_x[args.predict_start].to(device)
        gates = cells.lstm_gates(result.model.lstm, window) if result.model_type == "LSTM" else None
    else:
        run = scored["run"]
        profiles = {"trained": run["gradient_trained"], "initial": run["gradient_initial"]}
        gates = run["gates"]
    kind, history = result.model_type, result.history
    return figures.one_model(kind, history, profiles, gates, scored, dataset, args)


# ----------------------------------------------------------------------------- entry point
def main(argv=None) -> int:
    parser = build_parser()
    args = flags.finish(parser, parser.parse_args(argv), data.PRESETS, data.check_flags)
    runtime.keep_freed_memory()
    checkpoint = None
    if args.save_model is not None:
        checkpoint = Path(args.save_model or checkpoints.default_path(args.model_type))
    return cli.run(parser, run, args, checkpoint)


def run(args, stop, checkpoint: Path | None) -> int:
    """Everything main() does once the flags are checked. stop: Ctrl-C or SIGTERM, recorded."""
    kind = args.model_type
    if checkpoint is not None:
        check_file_target(checkpoint, "--save-model")
    setup = cli.start(args, [kind], data, parameters_of, [args.out_dir] if args.plot else [])
    dataset, device = setup.data, setup.device
    config = RunConfig.from_args(args, impl=setup.impl, hidden_size=setup.hidden_sizes[kind])
    run_flags = checkpoints.run_flags(kind, config, args)
    resume = args.resume and checkpoints.read_for_resume(args.resume, run_flags, dataset, args)
    print(
        f"{kind} with {setup.layers}: {data.describe(dataset)}"
        + (f", resuming after epoch {len(resume['train_losses'])}" if resume else "")
    )
    if args.plot:
        runtime.preload("seqpred.figures")  # on the core training leaves free
    logger = cli.EpochLogger(kind, args.epochs, args.log_interval)

    def on_epoch(epoch, train_loss, test_loss):
        logger(epoch, train_loss, test_loss)
        stop.check()  # Ctrl-C or SIGTERM: stop here, after a whole epoch

    model_args = config.model_args(dataset)
    try:
        result = train_model(kind, dataset, config, device, on_epoch, resume, bool(checkpoint))
    except TrainingDiverged as err:
        raise SystemExit(f"main.py: error: {err}") from None
    except TrainingInterrupted as stopped:
        logger.close()
        saved = (checkpoint, kind, model_args, run_flags, dataset, args.epochs)
        return checkpoints.save_stopped(stopped, *saved)
    finally:
        logger.close()
    if checkpoint is not None:  # before the figures: a finished model is never lost
        checkpoints.save(checkpoint, kind, model_args, result.final_state, run_flags, dataset)
        print(f"Saved checkpoint {checkpoint}")
    stop.check()  # a stop asked for during the last epoch: the checkpoint is saved, no report
    scored = print_report(result, dataset, args, device)
    stop.check()
    if args.plot:
        print("Wrote " + ", ".join(map(str, write_plots(result, dataset, args, device, scored))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
