"""Stopping cleanly: Ctrl-C (SIGINT) and SIGTERM are recorded, and acted on where the code checks.

SIGTERM is what `timeout`, job schedulers and `docker stop` send; by default it kills Python
on the spot, losing what was finished. Inside `stop_on_signals()` both signals only *record*
the request, in a StopRequest; the code calls `stop.check()` at safe points (the end of an
epoch, between trials, while waiting for runs), which raises Interrupted there. A handler that
raised wherever the code happened to be could be swallowed by any library's bare `except:`
(one such is imported by PyTorch's first optimizer), and could cut a file being written in
two; a recorded request is never lost, and nothing is stopped half-way. The scripts exit with
128 + the signal's number (130 for Ctrl-C, 143 for SIGTERM), as a shell expects.
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


class StopRequest:
    """A Ctrl-C or SIGTERM, recorded; `check()` raises it as Interrupted.

    One request serves the whole process: the runs in worker threads check it at the end of
    each epoch, the main thread while it waits for them. A SIGTERM outranks a Ctrl-C for the
    exit status: once one has come, the run exits 143, whatever came before it. Two signals
    that arrive together have no order (the kernel delivers pending signals by number, Python
    runs their handlers by number), so "the first one" could not decide it; and a SIGTERM is
    what a scheduler, `timeout` or a container's stop sends, and looks for in the status.
    """

    def __init__(self):
        self.signum: int | None = None
        self._event = threading.Event()

    def request(self, signum: int) -> None:
        if self.signum is None or signum == signal.SIGTERM:
            self.signum = signum
        self._event.set()

    @property
    def requested(self) -> bool:
        return self._event.is_set()

    def check(self) -> None:
        """Raise Interrupted if a stop was requested; a no-op otherwise."""
        if self._event.is_set():
            raise Interrupted(self.signum or signal.SIGINT)


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


@contextlib.contextmanager
def stop_on_signals():
    """Within: SIGINT and SIGTERM are recorded in the StopRequest this yields, never raised."""
    stop = StopRequest()

    def record(signum, _frame):
        name = NAMES.get(signum, f"signal {signum}")
        if stop.requested:
            again = "again" if signum == stop.signum else "as well"
            say(f"\n({name} {again}: still stopping; what had finished is being saved)")
        else:
            say(f"\n({name}: stopping at the next safe point, the end of an epoch or a step)")
        stop.request(signum)

    with _handlers(record):
        yield stop


def say(text: str) -> None:
    """Print from a signal handler, never failing (a closed or full terminal)."""
    with contextlib.suppress(Exception):
        print(text, flush=True)


def quiet_start() -> None:
    """While a script loads its libraries (a second or more): Ctrl-C or SIGTERM exits at once
    with the shell's status and one line, not a KeyboardInterrupt traceback. Nothing has been
    written yet, so nothing can be lost. stop_on_signals() takes over once main() runs."""
    if threading.current_thread() is not threading.main_thread():
        return

    def leave(signum, _frame):
        import os

        # Straight to the file descriptor: the signal may arrive while sys.stdout is busy (being
        # reconfigured, say), and print() would then fail re-entrantly and say nothing.
        line = f"\nInterrupted ({NAMES.get(signum, signum)}) while starting; nothing was written.\n"
        with contextlib.suppress(OSError):
            os.write(1, line.encode("utf-8", "replace"))
        os._exit(128 + signum)

    for s in HANDLED:
        signal.signal(s, leave)
