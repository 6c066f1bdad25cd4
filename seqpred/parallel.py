"""Training many runs at once, as threads of this one process.

The fused C kernels and PyTorch's operations release Python's lock while they compute, so two
runs in two threads use two cores without a second copy of the PyTorch runtime in memory (a
worker process would map its own ~200 MB). A run that fails does not stop the others; Ctrl-C
or SIGTERM does: every run checks the process's one StopRequest after each epoch.
"""

from __future__ import annotations

import concurrent.futures as cf
from collections.abc import Callable
from dataclasses import dataclass, field

from seqpred.interrupts import Interrupted, StopRequest


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
    stop: StopRequest,
    on_done: Callable | None = None,
    on_failed: Callable | None = None,
) -> Outcome:
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
