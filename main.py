"""Train one recurrent model (RNN, LSTM or GRU) to predict the next value of a series.

    python main.py --model-type LSTM --plot
    python main.py --model-type GRU --dataset elnino --save-model

Read it top to bottom: the training step (train_epoch), evaluation, a run (a model, its
optimizer and its data), forecasts, what a trained run says of itself, and main(): flags, data,
model, the epoch loop, the report and the figures. What makes the suite safe and fast (checks,
devices, checkpoints, signals, files, figures, the C kernels) lives in the seqpred/ package, one
call each; compare_results.py, sweep.py and adding_task.py reuse these functions.
"""

from __future__ import annotations

import math
import sys
import time
from dataclasses import replace
from pathlib import Path

from seqpred import analysis, checkpoints, device, fileio, parsers, process, provenance, runner
from seqpred.report import single, terminal
from seqpred.runs import (
    History,
    RunResult,
    TrainingDiverged,
    TrainingInterrupted,
    copy_of_weights,
    training_state,
)
from seqpred.scoring import evaluation
from seqpred.seeding import seeded
from seqpred.settings import Settings, check_forecast, from_flags

import torch
from torch import nn

import cells
import data
from models import build_model, count_parameters, run_by


# ----------------------------------------------------------------------------- training
def train_epoch(
    model, x, y, optimizer, batch_size, generator, max_batches=None, loss_fn=None
) -> float:
    """One pass over the shuffled training windows; returns the mean training loss (MSE,
    unless another loss_fn is given: competition.py trains on the absolute error)."""
    model.train()
    loss_fn = loss_fn or nn.MSELoss()
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


def new_model(kind, train, input_size: int, device) -> nn.Module:
    """models.py's model, its weights drawn from the seed, its layers run as --impl asks."""
    with seeded(train.seed):  # the same initial weights, whatever other runs do meanwhile
        model = build_model(kind, **train.model_args(input_size))  # nn.LSTM (etc.) + Linear
    return run_by(model, train.impl).to(device)


class Run:
    """One model in training: the model, Adam, the generator of the batch order, the windows on
    the device and the loss history. After each epoch, record(epoch, train_loss, test_loss)
    keeps the losses and calls on_epoch(epoch, train_loss, test_loss). resume: a checkpoint to
    continue from; keep_state: keep the training state after every epoch, to save if stopped."""

    def __init__(self, kind, dataset, train, device, on_epoch=None, resume=None, keep_state=False):
        self.kind, self.config, self.on_epoch, self.keep_state = kind, train, on_epoch, keep_state
        self.input_size = dataset.num_features
        self.model = new_model(kind, train, self.input_size, device)
        self.initial_state = copy_of_weights(self.model)
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=train.lr)
        self.generator = torch.Generator().manual_seed(train.seed)  # batch order, not init
        self.history = History()
        if resume is not None:
            self.history = checkpoints.restore(resume, self.model, self.optimizer, self.generator)
        if train.outputs > 1:  # --strategy direct: each window's target is its next H values
            dataset = dataset.direct(train.outputs)
        self.train_data = dataset.train_x.to(device), dataset.train_y.to(device)
        self.test_data = dataset.test_x.to(device), dataset.test_y.to(device)
        self.state, self.clock = None, time.perf_counter()

    def epochs(self):
        """The epochs still to train (after a resumed checkpoint's), each one timed."""
        for epoch in range(len(self.history.train_losses) + 1, self.config.epochs + 1):
            self.clock = time.perf_counter()
            yield epoch

    def record(self, epoch: int, train_loss: float, test_loss: float) -> None:
        if not (math.isfinite(train_loss) and math.isfinite(test_loss)):
            raise TrainingDiverged(
                f"training diverged at epoch {epoch}: the loss is {train_loss} (train) / "
                f"{test_loss} (test); try a smaller learning rate than --lr {self.config.lr}"
            )
        self.history.add(train_loss, test_loss, time.perf_counter() - self.clock)
        if self.keep_state:
            self.state = training_state(self.model, self.optimizer, self.generator, self.history)
        if self.on_epoch is not None:
            self.on_epoch(epoch, train_loss, test_loss)

    def stopped(self, cause) -> TrainingInterrupted:
        """Ctrl-C or SIGTERM during training, with the last completed epoch's state."""
        return TrainingInterrupted(cause, self.state, len(self.history.train_losses))

    def result(self) -> RunResult:
        state = training_state(self.model, self.optimizer, self.generator, self.history)
        model_args, n_params = self.config.model_args(self.input_size), count_parameters(self.model)
        return RunResult(
            self.kind, self.model, model_args, self.history, n_params, self.initial_state, state
        )


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


def describe_run(result: RunResult, seed: int, dataset, score, test_batch_size, device) -> dict:
    """What the report, the tables and the figures need of one trained model, as plain lists:
    its losses, one-step predictions, forecasts from every test origin with their intervals, and
    what the figures draw (one forecast, the gradient flow, an LSTM's gates)."""
    h, model, steps, start = result.history, result.model, score.steps, score.start
    one_step = predict(model, dataset.test_x.to(device), test_batch_size)[:, 0]

    def forecaster(windows):
        return forecast(model, windows.to(device), steps, score.strategy)

    start_scoring = time.perf_counter()
    scores, pred = evaluation.score_forecasts(forecaster, dataset, steps, score.interval)
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


# ----------------------------------------------------------------------------- start-up
def setup(s: Settings, outputs: str | None):
    """The start-up every script shares, in the order that fails fastest: the device, the
    output folder (writable, and not holding another command's `outputs`), the data set and its
    forecast window, and what runs the layers. Returns (device, data set, train settings)."""
    dev = device.resolve_device(s.runs.device)
    if data.will_generate(s.data):
        fileio.check_writable(s.data.data_dir)
    if outputs is not None:
        fileio.check_writable(s.output.out_dir)
        provenance.check(s.output.out_dir, outputs, s.command, s.flags, s.output.overwrite)
    dataset = data.prepare(s.data)
    if dataset.is_series:
        check_forecast(len(dataset.test_y), s.score)
    largest = max([*s.runs.hidden_sizes.values(), dataset.num_features])
    return dev, dataset, replace(s.train, impl=device.resolve_impl(s.train.impl, dev, largest))


# ----------------------------------------------------------------------------- main.py
def main(argv=None) -> int:
    s = from_flags(parsers.parser("main.py"), argv)  # the flags, checked together
    kind, out = s.runs.models[0], s.output
    with process.guarded("main.py") as stop:
        if out.save_model is not None:
            fileio.check_file_target(out.save_model, "--save-model")
        dev, dataset, train = setup(s, f"main.py {kind}" if out.plot else None)
        train = replace(train, hidden_size=s.runs.hidden_sizes[kind])
        strategy = s.score.strategy if s.score else "recursive"
        key = checkpoints.run_flags(kind, train, s.data, strategy)
        resume = out.resume and checkpoints.read_for_resume(out.resume, key, dataset, train.epochs)
        words = device.describe(train.impl, dev, [kind], s.train.impl, train.hidden_size)
        say(f"{kind} with {words}: {data.describe(dataset)}" + resuming(resume))
        logger = runner.EpochLogger(kind, train.epochs, s.runs.log_interval)

        def on_epoch(epoch, train_loss, test_loss):
            logger(epoch, train_loss, test_loss)
            stop.check()  # Ctrl-C or SIGTERM: stop here, after a whole epoch

        run = Run(kind, dataset, train, dev, on_epoch, resume, keep_state=bool(out.save_model))
        try:
            for epoch in run.epochs():  # the loop: train, evaluate, record
                loss = train_epoch(
                    run.model,
                    *run.train_data,
                    run.optimizer,
                    train.batch_size,
                    run.generator,
                    train.max_batches,
                )
                run.record(epoch, loss, evaluate(run.model, *run.test_data, train.test_batch_size))
        except KeyboardInterrupt as err:
            logger.close()
            return save_stopped(run.stopped(err), out.save_model, key, dataset, train)
        finally:
            logger.close()
        result = run.result()
        if out.save_model is not None:  # before the report: a finished model is never lost
            checkpoints.save(
                out.save_model, kind, result.model_args, result.final_state, key, dataset
            )
            print(f"Saved checkpoint {out.save_model}")
        stop.check()  # a stop asked for during the last epoch: the checkpoint is saved, no report
        scored = print_report(result, dataset, s, dev)
        stop.check()
        if out.plot:
            paths = write_plots(result, dataset, s, dev, scored)
            provenance.record(out.out_dir, f"main.py {kind}", s.command, s.flags)
            print("Wrote " + ", ".join(map(str, paths)))
    return 0


def say(line: str) -> None:
    """A line for the terminal, folded at 100 columns."""
    print("\n".join(terminal.fitted([line])), flush=True)


def resuming(resume) -> str:
    return f", resuming after epoch {len(resume['train_losses'])}" if resume else ""


def save_stopped(stopped: TrainingInterrupted, path, key: dict, dataset, train) -> int:
    """After Ctrl-C or SIGTERM in training: the checkpoint of the last completed epoch, if a path
    was given; the exit status a shell expects."""
    done = stopped.epochs_done
    print(f"Interrupted ({stopped.name}) after epoch {done} of {train.epochs}.")
    if path is not None and stopped.state is not None:
        model_args = train.model_args(dataset.num_features)
        checkpoints.save(path, key["model_type"], model_args, stopped.state, key, dataset)
        print(f"Saved the state after epoch {done} to {path}; continue with: --resume {path}")
    return stopped.status


def print_report(result: RunResult, dataset, s: Settings, device) -> dict | None:
    """Print the final losses and the errors in the series' own units: one step ahead, and
    forecasts from every test origin with their intervals, beside the baselines, and what they
    show in plain words. Returns the scored run (None for the adding problem)."""
    if not dataset.is_series:  # the adding problem: independent sequences, no forecasts
        one_step = predict(result.model, dataset.test_x.to(device), s.train.test_batch_size)[:, 0]
        print("\n".join(single.sequence_lines(result, dataset, one_step)))
        return None
    run = describe_run(result, s.train.seed, dataset, s.score, s.train.test_batch_size, device)
    summary = evaluation.evaluate_runs([run], dataset, s.score)
    print("\n".join(terminal.fitted(single.run_lines(result, summary, dataset))))
    return {"run": run, "summary": summary}


def write_plots(result: RunResult, dataset, s: Settings, device, scored) -> list[Path]:
    """One model's figures: losses, gradient flow, forecast, and the gates of an LSTM."""
    from seqpred.figures import single as figures  # matplotlib only when a figure is drawn

    if scored is None:  # the adding problem: losses, gradient flow and gates, no forecast
        profiles = gradient_profiles(result, dataset, device)
        window = dataset.test_x[0].to(device)
        gates = cells.lstm_gates(result.model.lstm, window) if result.model_type == "LSTM" else None
    else:
        run = scored["run"]
        profiles = {"trained": run["gradient_trained"], "initial": run["gradient_initial"]}
        gates = run["gates"]
    return figures.one_model(
        result.model_type,
        result.history,
        profiles,
        gates,
        scored,
        dataset,
        s.output.out_dir,
        s.score,
    )


if __name__ == "__main__":
    sys.exit(main())
