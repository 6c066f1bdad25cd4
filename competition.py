"""The article's question at competition scale: one *global* RNN, LSTM and GRU, each trained on
windows from every series of a competition (or of your own panel), scored as the competitions
scored them, beside their benchmarks.

    python compare_results.py --dataset m3-monthly --seeds 3
    python compare_results.py --dataset panel --csv sales.csv      # unique_id, ds, y

Series of any level share one model because each window is put on one scale: the values are
divided by their seasonal indices where the series is seasonal (the M4 benchmarks' test and
decomposition, where the validation split says it helps), taken as logs, and the window's last
value is subtracted. The model forecasts the next h values at once (direct; --strategy
recursive feeds one step back h times), trained on the absolute error with main.py's
train_epoch. Every choice (the epoch kept, deseasonalising or not, the strongest benchmark) is
made on the validation split, the last h values of each training part; the test values are
used once, to score.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace

from seqpred import device, panels, runner
from seqpred.runs import TrainingDiverged, copy_of_weights
from seqpred.scoring import m4
from seqpred.scoring.competition import evaluate, smape
from seqpred.settings import TrainSettings

import numpy as np
import torch
from torch import nn

import main as trainer


# ----------------------------------------------------------------------------- scaling
@dataclass(frozen=True)
class Scaled:
    """A panel on the networks' scale: each series' training part, deseasonalised where it is
    seasonal and asked for, as logs (values below 0 anywhere: divided by the mean size)."""

    z: tuple[np.ndarray, ...]
    indices: np.ndarray  # (series, h): the seasonal indices of the h values to forecast
    scales: np.ndarray  # (series,): what the values were divided by before the log
    log: bool


def scale(panel: panels.Panel, deseasonalise: bool) -> Scaled:
    """Put every series of the panel on the networks' scale (see Scaled)."""
    h, log = panel.horizon, all(np.all(x >= 0) for x in panel.train)
    z, indices, scales = [], [], []
    for x in panel.train:
        des, future = m4.deseasonalise(x, panel.season, h) if deseasonalise else (x, np.ones(h))
        size = float(np.mean(np.abs(des))) or 1.0
        z.append(np.log1p(des) if log else des / size)
        indices.append(future)
        scales.append(1.0 if log else size)
    return Scaled(tuple(z), np.stack(indices), np.array(scales), log)


def unscale(s: Scaled, z: np.ndarray) -> np.ndarray:
    """Forecasts on the networks' scale, (series, h), back in the data's units."""
    values = np.expm1(z) if s.log else z * s.scales[:, None]
    return values * s.indices


def windows(s: Scaled, look_back: int, h: int, outputs: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Every training window of every series: x: (n, look_back, 1) and y: (n, outputs), each
    minus its window's last input. A window reaching before a series' start is padded with its
    first value, so short series still give windows."""
    xs, ys = [], []
    for z in s.z:
        if len(z) <= h:  # too short to give a window with h targets: forecast, not trained on
            continue
        padded = np.r_[np.full(look_back, z[0]), z]
        rows = np.lib.stride_tricks.sliding_window_view(padded, look_back + h)[1:]
        rows = rows - rows[:, look_back - 1 : look_back]  # minus the last input
        xs.append(rows[:, :look_back])
        ys.append(rows[:, look_back : look_back + outputs])
    x = torch.tensor(np.concatenate(xs), dtype=torch.float32)
    return x[:, :, None], torch.tensor(np.concatenate(ys), dtype=torch.float32)


def origins(s: Scaled, look_back: int) -> torch.Tensor:
    """Each series' last look_back values, the window its forecast starts from: (series, L, 1)."""
    last = [np.r_[np.full(look_back, z[0]), z][-look_back:] for z in s.z]
    return torch.tensor(np.stack(last), dtype=torch.float32)[:, :, None]


@torch.no_grad()
def predict(model, start: torch.Tensor, h: int, strategy: str) -> np.ndarray:
    """Forecasts of h values after each window, on the networks' scale: (series, h)."""
    model.eval()
    last = start[:, -1, :]  # (series, 1)
    if strategy == "direct":
        return (model(start - last[:, None, :]) + last).cpu().numpy()
    window, out = start, []
    for _ in range(h):  # recursive: each step fed back, each window put on its own scale again
        step = model(window - window[:, -1:, :]) + window[:, -1, :]  # (series, 1)
        out.append(step)
        window = torch.cat([window[:, 1:], step[:, :, None]], dim=1)
    return torch.cat(out, dim=1).cpu().numpy()


# ----------------------------------------------------------------------------- the data, once
@dataclass(frozen=True)
class Job:
    """What every run of one comparison shares: the same windows for the three cells."""

    panel: panels.Panel
    train: TrainSettings  # with the implementation resolved; outputs: h (direct) or 1
    device: object
    look_back: int
    strategy: str
    deseasonalise: bool
    x: torch.Tensor  # (n, look_back, 1), from the validation split's training parts
    y: torch.Tensor  # (n, outputs)
    val: Scaled  # the validation split on the networks' scale
    test: Scaled  # the full training parts, to forecast the test from


def make_job(panel, train: TrainSettings, dev, look_back: int, strategy: str, des: bool) -> Job:
    h = panel.horizon
    val = scale(panel.validation(), des)
    x, y = windows(val, look_back, h, h if strategy == "direct" else 1)
    train = replace(train, outputs=h if strategy == "direct" else 1)
    return Job(
        panel, train, dev, look_back, strategy, des, x.to(dev), y.to(dev), val, scale(panel, des)
    )


def linear_ar(panel: panels.Panel, look_back: int, des: bool) -> dict:
    """The global linear autoregression: the network without a hidden layer, fitted by least
    squares on the same windows; its validation and test forecasts."""
    h = panel.horizon
    val, test = scale(panel.validation(), des), scale(panel, des)
    x, y = windows(val, look_back, h, h)
    design = torch.cat([x[:, :, 0], torch.ones(len(x), 1)], dim=1).double()
    weights = torch.linalg.lstsq(design, y.double()).solution.float()

    def forecast(s: Scaled) -> np.ndarray:
        start = origins(s, look_back)[:, :, 0]
        last = start[:, -1:]
        z = torch.cat([start - last, torch.ones(len(start), 1)], dim=1) @ weights + last
        return unscale(s, z.numpy())

    return {"val": forecast(val), "test": forecast(test)}


def choose_deseasonalise(panel: panels.Panel, look_back: int, asked: str) -> tuple[bool, dict]:
    """--deseasonalise yes/no, or (auto) whichever gives the global linear AR the lower
    validation sMAPE; that sMAPE for each."""
    if panel.season <= 1:
        return False, {}
    tried = {d: linear_ar(panel, look_back, d) for d in (False, True)}
    target = panel.validation().test
    val = {d: float(np.mean(smape(target, f["val"]))) for d, f in tried.items()}
    chosen = {"yes": True, "no": False}.get(asked, val[True] < val[False])
    return chosen, {"no": val[False], "yes": val[True]}


# ----------------------------------------------------------------------------- one run
def train_global(task: runner.Task, job: Job, stop, on_epoch=None) -> dict:
    """One global model (task.kind, task.seed) on every series' windows, trained with main.py's
    train_epoch on the absolute error; the epoch with the lowest validation sMAPE is kept."""
    train = replace(job.train, seed=task.seed)
    h, clock = job.panel.horizon, time.perf_counter()
    with device.own_stream(job.device):
        model = trainer.new_model(task.kind, train, 1, job.device)  # models.py's nn.* + Linear
        optimizer = torch.optim.Adam(model.parameters(), lr=train.lr)
        generator = torch.Generator().manual_seed(train.seed)
        val_start, target = origins(job.val, job.look_back).to(job.device), job.panel.validation()
        best, kept, history = float("inf"), None, []
        for epoch in range(1, train.epochs + 1):
            loss = trainer.train_epoch(
                model,
                job.x,
                job.y,
                optimizer,
                train.batch_size,
                generator,
                train.max_batches,
                loss_fn=nn.L1Loss(),
            )
            forecast = unscale(job.val, predict(model, val_start, h, job.strategy))
            score = float(np.mean(smape(target.test, forecast)))
            if not (np.isfinite(loss) and np.isfinite(score)):
                raise TrainingDiverged(f"training diverged at epoch {epoch} (loss {loss})")
            history.append([loss, score])
            if score < best:
                best, kept = score, (epoch, copy_of_weights(model), forecast)
            if on_epoch is not None:
                on_epoch(epoch, loss, score)
            stop.check()  # Ctrl-C, SIGTERM: stop at the end of this epoch
        epoch, weights, val_forecast = kept
        model.load_state_dict(weights)
        test_start = origins(job.test, job.look_back).to(job.device)
        test_forecast = unscale(job.test, predict(model, test_start, h, job.strategy))
    return {
        "series": None,
        "model": task.kind,
        "seed": task.seed,
        "best_epoch": epoch,
        "history": history,  # [training loss (mean absolute error), validation sMAPE]
        "seconds": time.perf_counter() - clock,
        "parameters": sum(p.numel() for p in model.parameters()),
        "val_forecast": val_forecast.tolist(),
        "test_forecast": test_forecast.tolist(),
    }


# ----------------------------------------------------------------------------- the comparison
def load(d, steps: int | None) -> panels.Panel:
    """The data set's series: a competition's, or the panel CSV's (horizon: --predict-steps)."""
    if d.dataset != "panel":
        return panels.competition(d.dataset, d.max_series)
    return panels.read_panel(
        d.csv,
        d.id_column or "unique_id",
        d.date_column or "ds",
        d.column or "y",
        steps,
        d.season,
        d.max_series,
    )


def benchmark_forecasts(panel: panels.Panel, look_back: int, des: bool) -> tuple[dict, dict]:
    """The M4 benchmarks and the global linear AR: their validation and test forecasts."""
    val = m4.benchmarks(list(panel.validation().train), panel.season, panel.horizon)
    test = m4.benchmarks(list(panel.train), panel.season, panel.horizon)
    ar = linear_ar(panel, look_back, des)
    name = f"global linear AR({look_back})"
    return {**val, name: ar["val"]}, {**test, name: ar["test"]}


def network_forecasts(runs: list[dict], models, seeds) -> tuple[dict, dict, dict]:
    """Each cell's ensemble (the median of its seeds' forecasts) and each seed's forecasts."""
    val, test, groups = {}, {}, {}
    by = {(r["model"], r["seed"]): r for r in runs}
    for kind in models:
        mine = [by[(kind, s)] for s in seeds if (kind, s) in by]
        if not mine:
            continue
        name = f"{kind} (median of {len(mine)} seeds)" if len(mine) > 1 else kind
        val[name] = np.median([r["val_forecast"] for r in mine], axis=0)
        test[name] = np.median([r["test_forecast"] for r in mine], axis=0)
        groups[name] = "network"
        if len(mine) > 1:
            for r in mine:
                seed_name = f"{kind} seed {r['seed']}"
                val[seed_name], test[seed_name] = (
                    np.array(r["val_forecast"]),
                    np.array(r["test_forecast"]),
                )
                groups[seed_name] = "seed"
    return val, test, groups


def compare_panel(s, stop) -> int:
    """A competition or panel: one global model per (cell, seed), the benchmarks, the scores,
    the report. Finished runs are kept for a rerun of the same command."""
    from seqpred import fileio, process, provenance
    from seqpred.figures import panel as figures
    from seqpred.report import panel as report

    clock, dev = time.perf_counter(), device.resolve_device(s.runs.device)
    fileio.check_writable(s.output.out_dir)
    provenance.check(s.output.out_dir, "compare_results.py", s.command, s.flags, s.output.overwrite)
    panel = load(s.data, s.score.steps)
    metric = "mape" if s.data.dataset.startswith("tourism") else "smape"  # as each competition
    look_back = s.data.sequence_length or 2 * panel.horizon
    des, tried = choose_deseasonalise(panel, look_back, s.data.deseasonalise)
    largest = max(s.runs.hidden_sizes.values())
    train = replace(s.train, impl=device.resolve_impl(s.train.impl, dev, largest))
    job = make_job(panel, train, dev, look_back, s.score.strategy, des)
    jobs = device.default_jobs(s.runs.jobs, dev, train.dropout)
    device.use_threads(jobs)
    seeds = s.runs.seed_list(train.seed)
    trainer.say(
        f"One global {', '.join(s.runs.models)} each on {panel.source}, horizon "
        f"{panel.horizon}, season {panel.season}: {len(job.x)} windows of {look_back} values; "
        f"{len(seeds)} seed(s), {train.epochs} epochs, {jobs} at a time, "
        f"{device.describe(train.impl, dev, s.runs.models, s.train.impl, largest)}"
    )
    keep = {k: v for k, v in s.flags.items() if k not in ("jobs", "log_interval")}
    prints = "|".join(
        f"{i}:{len(x)}:{x.sum():.6g}" for i, x in zip(panel.ids, panel.train, strict=True)
    )
    finished = runner.FinishedRuns(s.output.out_dir, keep, runner.fingerprint([prints]))
    wanted = [runner.Task(k, seed) for k in s.runs.models for seed in seeds]
    done = {runner.key(r) for r in finished.load({(None, t.kind, t.seed) for t in wanted})}
    tasks = [t for t in wanted if (None, t.kind, t.seed) not in done]
    progress = runner.Progress(len(tasks), train.epochs, s.runs.log_interval, len(done))

    def one(task, stop):
        def on_epoch(epoch, loss, score):
            if progress.bar is not None:
                progress.bar.update(1)
            elif epoch % s.runs.log_interval == 0 or epoch in (1, train.epochs):
                print(
                    f"[{task.name}] epoch {epoch}/{train.epochs}  training MAE {loss:.4f}  "
                    f"validation sMAPE {score:.2f}",
                    flush=True,
                )

        train_one = replace(job.train, hidden_size=s.runs.hidden_sizes[task.kind])
        run = train_global(task, replace(job, train=train_one), stop, on_epoch)
        progress.finished(
            f"{task.name}: best epoch {run['best_epoch']}, validation sMAPE "
            f"{run['history'][run['best_epoch'] - 1][1]:.2f}"
        )
        return run

    bench_val, bench_test = benchmark_forecasts(panel, look_back, des)
    outcome = runner.run_all(one, tasks, jobs, stop, on_done=finished.add)
    progress.close()
    runs = finished.runs

    def write(note: str = "") -> list:
        val, test, groups = network_forecasts(runs, s.runs.models, seeds)
        groups.update(dict.fromkeys(bench_val, "benchmark"))
        result = evaluate(
            panel,
            panel.validation().test,
            {**val, **bench_val},
            {**test, **bench_test},
            groups,
            metric,
        )
        result = report.result_json(
            result,
            panel,
            s,
            job,
            tried,
            runs,
            time.perf_counter() - clock,
            process.peak_memory_mb(str(dev))[0],
            metric,
        )
        paths = [
            *figures.draw(result, panel, {**test, **bench_test}, s.output.out_dir),
            *report.write(result, s.output.out_dir, note),
        ]
        provenance.record(s.output.out_dir, "compare_results.py", s.command, s.flags)
        return paths

    if not outcome.complete:
        status = runner.finish(outcome, len(wanted), "runs", write)
        if runs:
            print(f"Run the same command again to train the rest ({finished.path} keeps them).")
        return status
    paths = write()
    finished.remove()
    print(report.terminal_summary(paths[-1]))
    print("Wrote " + ", ".join(p.name for p in paths) + f" into {s.output.out_dir}")
    return 0
