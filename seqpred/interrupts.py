"""Stopping cleanly: Ctrl-C (SIGINT) and SIGTERM both become an Interrupted exception.

SIGTERM is what `timeout`, job schedulers and `docker stop` send; by default it kills Python
on the spot, losing what was finished. Inside `signals_interrupt()` it is handled like Ctrl-C,
and the script exits with 128 + the signal's number (130 for Ctrl-C, 143 for SIGTERM), as a
shell expects. While the partial results are being written, `signals_deferred()` makes a second
Ctrl-C wait its turn instead of cutting the write short.
"""

from __future__ import annotations

import contextlib
import signal
import threading

NAMES = {signal.SIGINT: "Ctrl-C", signal.SIGTERM: "SIGTERM"}
HANDLED = (signal.SIGINT, signal.SIGTERM)


class Interrupted(KeyboardInterrupt):
    """Ctrl-C or SIGTERM arrived; `status` is the exit status a shell expects."""

    def __init__(self, signum: int = signal.SIGINT):
        super().__init__(NAMES.get(signum, f"signal {signum}"))
        self.signum = signum

    @property
    def name(self) -> str:
        return NAMES.get(self.signum, f"signal {self.signum}")

    @property
    def status(self) -> int:
        return 128 + self.signum


def as_interrupted(err: KeyboardInterrupt) -> Interrupted:
    """A plain KeyboardInterrupt (Python's own Ctrl-C) as an Interrupted."""
    return err if isinstance(err, Interrupted) else Interrupted(signal.SIGINT)


@contextlib.contextmanager
def _handlers(handler):
    """Install `handler` for SIGINT and SIGTERM in the main thread; restore the old ones after."""
    if threading.current_thread() is not threading.main_thread():
        yield  # signals are only delivered to the main thread: nothing to do elsewhere
        return
    old = {s: signal.signal(s, handler) for s in HANDLED}
    try:
        yield
    finally:
        for s, h in old.items():
            signal.signal(s, h)


def signals_interrupt():
    """Within: the first SIGINT or SIGTERM raises Interrupted in the main thread.

    Later ones are noted and dropped: the script is stopping already, and a second Ctrl-C (or a
    SIGTERM right behind it) must not cut short the saving of what had finished.
    """
    fired = []

    def handler(signum, _frame):
        if fired:
            print(f"\n({NAMES.get(signum, signum)} again: still saving what had finished)")
            return
        fired.append(signum)
        raise Interrupted(signum)

    return _handlers(handler)


@contextlib.contextmanager
def signals_deferred(quiet: bool = False):
    """Within: SIGINT and SIGTERM are remembered, not raised; the first one is raised on exit.

    For the few seconds in which the results a user is owed are written: a second Ctrl-C
    right after the first must not cut the write short. quiet: say nothing when one arrives.
    """
    pending: list[int] = []

    def remember(signum, _frame):
        if not pending and not quiet:
            print(f"\n({NAMES.get(signum, signum)}: finishing the files being written first)")
        pending.append(signum)

    with _handlers(remember):
        yield
    if pending:
        raise Interrupted(pending[0])


@contextlib.contextmanager
def signals_ignored():
    """Within: SIGINT and SIGTERM are noted and dropped (we are already stopping)."""

    def note(signum, _frame):
        print(f"\n({NAMES.get(signum, signum)} again: still saving what had finished)")

    with _handlers(note):
        yield


class StopRequest:
    """Ctrl-C or SIGTERM seen by signals_flagged(), raised where the code chooses to look."""

    def __init__(self):
        self.signum: int | None = None

    def check(self) -> None:
        if self.signum is not None:
            raise Interrupted(self.signum)


@contextlib.contextmanager
def signals_flagged():
    """Within: SIGINT and SIGTERM are only noted, and `check()` raises Interrupted.

    For code that runs inside a library (an Optuna trial) where an exception raised at an
    arbitrary point could leave the library's own bookkeeping half-done: the code stops at
    the next place it checks, e.g. the end of an epoch.
    """
    request = StopRequest()

    def note(signum, _frame):
        if request.signum is None:
            print(f"\n({NAMES.get(signum, signum)}: stopping at the end of this epoch)")
            request.signum = signum

    with _handlers(note):
        yield request
