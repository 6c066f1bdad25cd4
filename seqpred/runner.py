"""Many training runs at once, as threads of this one process, with their progress, the file
that keeps the finished ones for a rerun, and the one way every script ends a set of runs that
stopped part-way.

The fused C kernels and PyTorch's operations release Python's lock while they compute, so two
runs in two threads use two cores without a second copy of the PyTorch runtime in memory (a
worker process would map its own ~200 MB). A run that fails does not stop the others; Ctrl-C
or SIGTERM does: every run checks the process's one StopRequest after each epoch.
"""

from __future__ import annotations

import concurrent.futures as cf
import hashlib
import importlib
import json
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from seqpred.errors import DataError
from seqpred.fileio import write_json
from seqpred.interrupts import Interrupted, StopRequest

from tqdm import tqdm


@dataclass(frozen=True)
class Task:
    """One run to make: its name in messages, and what the script's run function needs."""

    kind: str
    seed: int
    series: str | None = None  # a collection's series
    length: int | None = None  # the adding problem's sequence length
    label: str | None = None  # the model's name in the tables (sweep.py: "RNN tuned")
    changes: tuple = ()  # settings the run trains with instead of the flags' ((name, value), ...)

    @property
    def name(self) -> str:
        where = f"{self.series}: " if self.series else ""
        length = f" length {self.length}" if self.length is not None else ""
        return f"{where}{self.label or self.kind}{length} seed {self.seed}"


@dataclass
class Outcome:
    """What became of a set of runs."""

    done: list = field(default_factory=list)  # results of the finished runs, in finishing order
    failed: list = field(default_factory=list)  # (task, exception) of the runs that raised
    unfinished: list = field(default_factory=list)  # tasks stopped or never started
    interrupted: Interrupted | None = None  # the Ctrl-C or SIGTERM that stopped the set

    @property
    def complete(self) -> bool:
        return not (self.failed or self.unfinished or self.interrupted)


def run_all(fn, tasks, jobs: int, stop: StopRequest, on_done=None, on_failed=None) -> Outcome:
    """Call fn(task, stop) for every task, `jobs` at a time, and collect what became of each.

    on_done(result) / on_failed(task, error) are called in this thread as each run ends, once
    per run whatever they raise. After Ctrl-C or SIGTERM the runs not yet started are cancelled,
    the running ones stop at their next epoch, and nothing is left running.
    """
    outcome = Outcome()
    with cf.ThreadPoolExecutor(max_workers=max(1, jobs), thread_name_prefix="run") as pool:
        futures = {pool.submit(fn, task, stop): task for task in tasks}
        pending = set(futures)
        try:
            while pending:
                stop.check()
                finished, _ = cf.wait(pending, timeout=0.25, return_when=cf.FIRST_COMPLETED)
                for future in finished:
                    pending.discard(future)  # before anything can raise: collected once
                    _collect(future, futures[future], outcome, on_done, on_failed)
        except Interrupted as err:
            outcome.interrupted = err
            stop.request(err.signum)  # every run stops at its next epoch
            for future in pending:
                future.cancel()
            cf.wait(pending)
            for future in pending:
                if future.cancelled() or isinstance(future.exception(), KeyboardInterrupt):
                    outcome.unfinished.append(futures[future])
                else:  # it finished (or failed) while we were stopping: keep it
                    _collect(future, futures[future], outcome, on_done, on_failed)
    return outcome


def _collect(future, task, outcome: Outcome, on_done, on_failed) -> None:
    error = future.exception()
    if error is None:
        outcome.done.append(future.result())
        if on_done is not None:
            on_done(future.result())
    elif isinstance(error, KeyboardInterrupt):  # stopped at an epoch's end
        outcome.unfinished.append(task)
    else:
        outcome.failed.append((task, error))
        if on_failed is not None:
            on_failed(task, error)


def finish(outcome: Outcome, total: int, what: str, write: Callable | None = None) -> int:
    """The end of a set of runs, the same in every script: 0 when every run finished; else one
    line on what stopped, the outputs of the runs that did finish (write(note) -> paths, marked
    partial, the note naming the rest), and the exit status (130, 143, or 1 if a run failed)."""
    if outcome.complete:
        return 0
    stopped = f" ({outcome.interrupted.name})" if outcome.interrupted else ""
    print(f"\nStopped{stopped}: {len(outcome.done)} of {total} {what} had finished.")
    if write is not None and outcome.done:
        missing = [t.name for t in outcome.unfinished]
        missing += [f"{t.name} ({err})" for t, err in outcome.failed]
        cause = f"Interrupted ({outcome.interrupted.name})" if outcome.interrupted else "Partial"
        note = (
            f"**{cause}**: {len(outcome.done)} of {total} {what} had finished; the tables and "
            f"figures cover only those. Not finished: {'; '.join(missing)}. Running the same "
            "command again trains only those.\n\n"
        )
        for path in write(note):
            print(f"Wrote {path} (partial)")
    return outcome.interrupted.status if outcome.interrupted else 1


# ----------------------------------------------------------------------------- finished runs
class FinishedRuns:
    """runs-in-progress.json in the output folder: every finished run, written the moment it
    finishes (with those before it), so that even a process killed outright (out of memory,
    kill -9) leaves them on disk, and the same command run again continues from them. It holds
    the flags and a fingerprint of the data they depend on: another comparison's runs are never
    mixed in."""

    NAME = "runs-in-progress.json"

    def __init__(self, folder, flags: dict, fingerprint: str):
        self.path = Path(folder) / self.NAME
        self.record = {"flags": json.loads(json.dumps(flags)), "data": fingerprint}
        self.runs: list[dict] = []
        self.lock = threading.Lock()

    def load(self, wanted: set) -> list[dict]:
        """The runs of this very comparison a stopped or killed one had finished, among those
        `wanted` (keys (series, model, seed))."""
        if not self.path.exists():
            return []
        try:
            saved = json.loads(self.path.read_text(encoding="utf-8"))
            runs, theirs = saved["finished_runs"], saved["flags"]
        except (OSError, ValueError, KeyError, TypeError) as err:
            raise DataError(
                f"{self.path} cannot be read ({err}); move it away to start afresh"
            ) from None
        ours = self.record["flags"]
        changed = [k for k in sorted(set(ours) | set(theirs)) if ours.get(k) != theirs.get(k)]
        if changed or saved.get("data") != self.record["data"]:
            name = changed[0].split(".")[-1].replace("_", "-") if changed else ""
            what = (
                f"--{name} {theirs.get(changed[0])}, not {ours.get(changed[0])}" if changed else ""
            )
            what = what or "other data"
            raise DataError(
                f"{self.path} holds the finished runs of another comparison ({what}); move it "
                "away, pass the same flags to continue it, or use another --out-dir"
            )
        self.runs = [r for r in runs if key(r) in wanted]
        if self.runs:
            print(f"Resuming: {len(self.runs)} finished run(s) from {self.path}")
        return list(self.runs)

    def add(self, run: dict) -> None:
        with self.lock:
            self.runs.append(run)
            write_json(self.path, {**self.record, "finished_runs": self.runs})

    def remove(self) -> None:
        self.path.unlink(missing_ok=True)


def key(run: dict) -> tuple:
    return run.get("series"), run["model"], run["seed"]


def fingerprint(prints: list[str]) -> str:
    """One fingerprint of many series' data."""
    return prints[0] if len(prints) == 1 else hashlib.sha256("".join(prints).encode()).hexdigest()


# ----------------------------------------------------------------------------- progress
class EpochLogger:
    """One run's progress: a bar over its epochs when standard output is a terminal and it is
    the only run; otherwise a line every `log_interval` epochs (so `python main.py > log` logs)."""

    def __init__(self, label: str, epochs: int, log_interval: int, bar: bool = True):
        self.label, self.epochs, self.log_interval = label, epochs, log_interval
        self.bar = None
        if bar and sys.stdout.isatty():
            self.bar = tqdm(total=epochs, desc=label, unit="epoch", file=sys.stderr)
        self.start = time.perf_counter()

    def __call__(self, epoch: int, train_loss: float, test_loss: float) -> None:
        if self.bar is not None:
            self.bar.update(epoch - self.bar.n)
            self.bar.set_postfix(train=f"{train_loss:.3e}", test=f"{test_loss:.3e}")
        elif epoch % self.log_interval == 0 or epoch == self.epochs or epoch == 1:
            print(
                f"[{self.label}] epoch {epoch:4d}/{self.epochs}  train {train_loss:.3e}  "
                f"test {test_loss:.3e}  ({time.perf_counter() - self.start:.1f} s)",
                flush=True,
            )

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


class Progress:
    """Many runs' progress. On a terminal, one bar over every epoch of every run and a line as
    each run finishes; elsewhere (a log file), each run's own lines every `log_interval`
    epochs."""

    def __init__(self, runs: int, epochs: int, log_interval: int, already: int = 0):
        self.total, self.done, self.log_interval = runs + already, already, log_interval
        self.bar = None
        if sys.stdout.isatty():
            self.bar = tqdm(total=runs * epochs, desc="training", unit="epoch", file=sys.stderr)
        self.lock = threading.Lock()

    def logger(self, label: str, epochs: int):
        """What one run calls after each epoch: on_epoch(epoch, train_loss, test_loss)."""
        if self.bar is None:
            return EpochLogger(label, epochs, self.log_interval, bar=False)
        return lambda epoch, train_loss, test_loss: self.bar.update(1)

    def finished(self, line: str) -> None:
        """A run finished: one line, above the bar."""
        with self.lock:
            self.done += 1
            text = f"[{self.done}/{self.total}] {line}"
            if self.bar is not None:
                self.bar.write(text, file=sys.stdout)
            else:
                print(text, flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def preload(*modules: str) -> None:
    """Import modules in a background thread, to have them ready when they are needed.

    matplotlib and scipy take seconds to import. Called once a core is idle (the last runs are
    training, using the C kernels, which release Python's lock), the import costs no wall
    time; a later `import` of the same module simply waits for this one to finish.
    """

    def load():
        for name in modules:
            importlib.import_module(name)

    threading.Thread(target=load, name="preload", daemon=True).start()
