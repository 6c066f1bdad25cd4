"""Training many runs at once, as threads of this one process.

The fused C kernels and PyTorch's operations release Python's lock while they compute, so two
runs in two threads use two cores without a second copy of the PyTorch runtime in memory (a
worker process would map its own ~200 MB). A run that fails, or Ctrl-C / SIGTERM, stops the
others cleanly: each run checks a shared flag after every epoch.
"""

from __future__ import annotations

import concurrent.futures as cf
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from seqpred.interrupts import Interrupted, signals_ignored


class Stopped(Exception):
    """Raised inside a run that was asked to stop."""


class StopFlag:
    """Shared by the runs of one set; `check()` raises Stopped once the set is stopping."""

    def __init__(self):
        self._event = threading.Event()

    def set(self) -> None:
        self._event.set()

    def check(self) -> None:
        if self._event.is_set():
            raise Stopped


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


def run_all(
    fn: Callable,
    tasks: list,
    jobs: int,
    on_done: Callable | None = None,
    on_failed: Callable | None = None,
) -> Outcome:
    """Call fn(task, stop) for every task, `jobs` at a time, and collect what became of each.

    on_done(result) / on_failed(task, error) are called in this thread as each run ends. A run
    that raises does not stop the others; Ctrl-C or SIGTERM does: the runs not yet started are
    cancelled, the running ones stop at their next epoch, and nothing is left running.
    """
    outcome, stop = Outcome(), StopFlag()
    with cf.ThreadPoolExecutor(max_workers=max(1, jobs), thread_name_prefix="run") as pool:
        futures = {pool.submit(fn, task, stop): task for task in tasks}
        pending = set(futures)
        try:
            while pending:
                finished, _ = cf.wait(pending, timeout=0.25, return_when=cf.FIRST_COMPLETED)
                for future in finished:
                    _collect(future, futures[future], outcome, on_done, on_failed)
                    pending.discard(future)  # only once collected: Ctrl-C cannot lose it
        except Interrupted as err:
            outcome.interrupted = err
            stop.set()
            with signals_ignored():  # a second Ctrl-C while the runs wind down changes nothing
                for future in pending:
                    future.cancel()
                cf.wait(pending)
                for future in pending:
                    if future.cancelled() or isinstance(future.exception(), Stopped):
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
    elif isinstance(error, Stopped):
        outcome.unfinished.append(task)
    else:
        outcome.failed.append((task, error))
        if on_failed is not None:
            on_failed(task, error)
