"""The machinery of sweep.py: Optuna studies kept in a storage that any number of workers share,
distinct trials, an exact count of them after any fault, and local worker processes.

Storage: an SQLite file in the output folder by default, or any Optuna storage URL (e.g. a
PostgreSQL server that workers on several machines reach). Workers coordinate only through it:
each trial's number is handed out by the storage, atomically, and a worker runs a trial only if
fewer than --trials counted trials come before it (counted: complete, pruned, failed by
diverging, or in flight). Each trial draws its settings with random numbers seeded by (--seed,
model type, trial number), never by a sampler state that restarts in each process, so two
workers, or a rerun, never replay the same start-up trials; TPE treats the trials in flight as
a constant liar. A trial records where it runs and a heartbeat; a trial whose worker died (a
process gone on this machine, or silent for GRACE_SECONDS elsewhere) is marked failed before
anything is counted, and run again.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
import zlib
from pathlib import Path

from seqpred.errors import DataError, FlagError, first_line
from seqpred.interrupts import Interrupted

import numpy as np

HEARTBEAT_SECONDS, GRACE_SECONDS = 5, 20
OUTCOME = "outcome"  # user attribute of a trial: "diverged", "surplus", "interrupted" or "lost"


# ----------------------------------------------------------------------------- the storage
def storage_url(url: str | None, out_dir: Path) -> str:
    """--storage, with `postgresql://` given the psycopg2 driver (SQLAlchemy 2.1 would pick
    psycopg 3), or sweep.db in the output folder."""
    if url is None:
        return f"sqlite:///{(Path(out_dir) / 'sweep.db').resolve()}"
    if url.startswith(("postgresql://", "postgres://")):
        try:
            import psycopg2  # noqa: F401
        except ImportError:
            raise FlagError(
                f"--storage {url}: the PostgreSQL driver is not installed; install it with "
                "pip install -e '.[distributed]' (psycopg2)"
            ) from None
        return "postgresql+psycopg2://" + url.split("://", 1)[1]
    return url


# Sweeps started together on a fresh storage each create its tables, and all but one fail
# ("table studies already exists"; on PostgreSQL a unique violation in pg_type; a duplicate
# alembic version): a race, not damage. Each retries until the tables the winner made are there.
CREATION_SECONDS = 30


def open_storage(url: str | None, out_dir: Path):
    """The study storage; FlagError if it cannot be opened (checked before any trial)."""
    import optuna
    import sqlalchemy

    full = storage_url(url, out_dir)
    deadline = time.monotonic() + CREATION_SECONDS
    for attempt in itertools.count():
        try:
            return optuna.storages.RDBStorage(full)
        except sqlalchemy.exc.DatabaseError as err:
            if creation_race(err) and time.monotonic() < deadline:
                time.sleep(min(1.0, 0.05 * 2**attempt) * random.random())
                continue
            if isinstance(err, sqlalchemy.exc.OperationalError):  # no file, a server down
                raise FlagError(
                    f"--storage {url or full}: cannot open it: {first_line(err, 200)}"
                ) from None
            raise DataError(
                unreadable(url, out_dir, err)
            ) from None  # it opens, its contents do not
        except Exception as err:  # a bad URL, a missing driver, a server that does not answer
            raise FlagError(
                f"--storage {url or full}: cannot open it: {first_line(err, 200)}"
            ) from None


def creation_race(err: Exception) -> bool:
    """Whether a storage's creation failed because another sweep was creating it too."""
    text = str(err).lower()
    return any(
        words in text
        for words in (
            "already exists",
            "unique constraint failed",
            "duplicate key",
            "database is locked",
        )
    )


def unreadable(url: str | None, out_dir: Path, err: Exception) -> str:
    """A storage that does not open as one: the only case where moving it away can be advised."""
    where = url or Path(out_dir) / "sweep.db"
    return (
        f"the sweep's storage {where} cannot be used ({first_line(err, 200)}); if it is a damaged "
        "file, move it away to start the sweep afresh"
    )


def failed_in_use(url: str | None, out_dir: Path, err: Exception) -> str:
    """A storage that opened, then failed: its studies are kept; never advise removing it."""
    where = url or Path(out_dir) / "sweep.db"
    return (
        f"the sweep's storage {where} failed while in use ({first_line(err, 200)}); the trials it "
        "holds are kept: run the sweep again to continue"
    )


@contextlib.contextmanager
def storage_errors(url: str | None, out_dir: Path):
    """Within: a storage that fails (a damaged sweep.db, a server that goes away) is one line."""
    import optuna
    import sqlalchemy

    try:
        yield
    except (optuna.exceptions.StorageInternalError, sqlalchemy.exc.SQLAlchemyError) as err:
        raise DataError(failed_in_use(url, out_dir, err)) from None


def open_study(storage, kind: str, settings: dict, seed: int):
    """The study of one model type, created or joined; refuses one made with other settings.

    Trials are pruned by the median rule, but only after a quarter of the epochs: early on,
    a small learning rate always looks worse than a large one, and pruning then would tune
    for the first few epochs instead of the whole run.
    """
    import optuna

    warmup = max(5, settings["epochs"] // 4)
    pruner = optuna.pruners.MedianPruner(n_startup_trials=5, n_warmup_steps=warmup)
    optuna.logging.set_verbosity(optuna.logging.WARNING)  # sweep.py prints its own lines
    study = optuna.create_study(
        study_name=f"seqpred-{kind}",
        storage=storage,
        sampler=trial_sampler(seed, kind, 0),
        pruner=pruner,
        direction="minimize",
        load_if_exists=True,
    )
    recorded = study.user_attrs.get("settings")
    if recorded is None:
        study.set_user_attr("settings", settings)
    else:
        for key, value in settings.items():
            if recorded.get(key) != value:
                flag = "--" + key.replace("_", "-")
                raise FlagError(
                    f"the storage already holds a {kind} sweep made with {flag} "
                    f"{recorded.get(key)}, not {value}; pass {flag} {recorded.get(key)} to "
                    "continue it, or another --out-dir or --storage for a new sweep"
                )
    return study


def trial_sampler(seed: int, kind: str, number: int):
    """TPE whose random numbers, for trial `number`, come from (seed, model type, number)
    alone: the same trials for a fixed --seed, and no two workers or reruns drawing alike.
    constant_liar: trials in flight count as bad ones, so parallel workers spread out."""
    import optuna

    state = np.random.SeedSequence([seed, zlib.crc32(kind.encode()), number]).generate_state(1)
    return optuna.samplers.TPESampler(seed=int(state[0]), constant_liar=True)


# ----------------------------------------------------------------------------- counting
def counts(trial) -> bool:
    """Whether a trial counts towards --trials: finished, diverged, or in flight."""
    from optuna.trial import TrialState

    if trial.state in (TrialState.COMPLETE, TrialState.PRUNED, TrialState.RUNNING):
        return True
    return trial.state == TrialState.FAIL and trial.user_attrs.get(OUTCOME) == "diverged"


def finished(study) -> list:
    """The trials that finished and count (not those in flight)."""
    from optuna.trial import TrialState

    return [
        t for t in study.get_trials(deepcopy=False) if counts(t) and t.state != TrialState.RUNNING
    ]


def distinct_settings(trials) -> int:
    """How many different settings the trials that ran tried."""
    return len({tuple(sorted(t["params"].items())) for t in trials if t["params"]})


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process
    return True


def lost(trial, now: float) -> bool:
    """A trial in flight whose worker is gone: its process has ended on this machine, or it
    has sent no heartbeat for GRACE_SECONDS (another machine)."""
    owner = trial.user_attrs.get("worker") or {}
    if owner.get("host") == socket.gethostname() and "pid" in owner:
        return not alive(owner["pid"])
    start = trial.datetime_start.timestamp() if trial.datetime_start else now
    return now - trial.user_attrs.get("alive_at", start) > GRACE_SECONDS


def fail_lost_trials(study) -> list[int]:
    """Mark every lost trial failed (not counted: it is run again); the numbers of those this
    call marked. Another worker may mark the same trial between our read and our write: then
    the trial is done, and it is not ours to report."""
    from optuna.trial import TrialState

    now = time.time()
    running = study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))
    lost_ones = [t.number for t in running if lost(t, now)]
    return [n for n in lost_ones if tell_if_running(study, n, state=TrialState.FAIL)]


def tell_if_running(study, trial, **end) -> bool:
    """study.tell(trial, **end), unless another worker has finished the trial meanwhile (since
    we read it: ValueError; while we wrote: UpdateFinishedTrialError); whether it was told."""
    from optuna.exceptions import UpdateFinishedTrialError

    number = trial if isinstance(trial, int) else trial.number
    try:
        study.tell(trial, **end)
    except (ValueError, UpdateFinishedTrialError):
        if study.get_trials(deepcopy=False)[number].state.name == "RUNNING":
            raise  # not a finished trial: a real error in what was told
        return False
    return True


@contextlib.contextmanager
def heartbeat(trial):
    """Within: the trial records this worker (host, pid) and, every HEARTBEAT_SECONDS, the time."""
    trial.set_user_attr("worker", {"host": socket.gethostname(), "pid": os.getpid()})
    trial.set_user_attr("alive_at", time.time())
    done = threading.Event()

    def beat():
        while not done.wait(HEARTBEAT_SECONDS):
            with contextlib.suppress(Exception):  # a lost beat is caught up by the next one
                trial.set_user_attr("alive_at", time.time())

    thread = threading.Thread(target=beat, name="heartbeat", daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join()


def run_trials(study, objective, n_trials: int, diverged, stop, seed: int, kind: str) -> int:
    """Run trials until the study holds n_trials counted ones; returns how many ran here.

    Each trial is asked for, run and told by hand, so that a surplus, pruned, diverged or
    interrupted trial ends in its own state, with no exception inside Optuna (which would log
    a traceback). stop.check() raises Interrupted between trials after Ctrl-C or SIGTERM.
    """
    import optuna
    from optuna.trial import TrialState

    ran = 0
    for number in fail_lost_trials(study):
        print(f"{kind} trial {number}: its worker is gone; marked failed, to be run again")
    while sum(counts(t) for t in study.get_trials(deepcopy=False)) < n_trials:
        stop.check()
        trial = study.ask()
        ahead = [t for t in study.get_trials(deepcopy=False) if t.number < trial.number]
        if sum(counts(t) for t in ahead) >= n_trials:  # another worker claimed the last one
            trial.set_user_attr(OUTCOME, "surplus")
            study.tell(trial, state=TrialState.FAIL)
            break
        study.sampler = trial_sampler(seed, kind, trial.number)  # draws this trial's settings
        with heartbeat(trial):
            try:
                value = objective(trial)
            except optuna.TrialPruned:
                tell_own(study, trial, kind, state=TrialState.PRUNED)
            except diverged as err:
                print(f"{kind} trial {trial.number}: {err}", flush=True)
                trial.set_user_attr(OUTCOME, "diverged")
                tell_own(study, trial, kind, state=TrialState.FAIL)
            except KeyboardInterrupt:
                trial.set_user_attr(OUTCOME, "interrupted")
                tell_own(study, trial, kind, state=TrialState.FAIL)
                raise
            else:
                tell_own(study, trial, kind, values=value)
        ran += 1
    return ran


def tell_own(study, trial, kind: str, **end) -> None:
    """Tell how this worker's trial ended. Another worker may have failed it meanwhile, its
    heartbeat having been late (a stalled machine): then its result is not counted, and the
    trial is run again; one line says so, not a traceback."""
    if not tell_if_running(study, trial, **end):
        print(
            f"{kind} trial {trial.number}: marked failed by another worker while it ran (no "
            f"heartbeat for {GRACE_SECONDS} s); its result is not counted",
            flush=True,
        )


def wait_while_running(studies: dict, stop, poll: float = 1.0) -> None:
    """While other sweeps on the same storage still run trials, wait for them; return when none
    is running, or as soon as one is lost (marked failed: it must be run again)."""
    from optuna.trial import TrialState

    said = False
    while True:
        stop.check()
        lost = [(k, n) for k, study in studies.items() for n in fail_lost_trials(study)]
        for kind, number in lost:
            print(f"{kind} trial {number}: its worker is gone; marked failed, to be run again")
        running = sum(
            len(study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)))
            for study in studies.values()
        )
        if lost or not running:
            return
        if not said:
            print(f"Waiting for {running} trial(s) running in another sweep on this storage")
            said = True
        time.sleep(poll)


def missing_trials(studies: dict, n_trials: int) -> list[str]:
    """One line for each study that holds fewer than n_trials finished trials."""
    lines = []
    for kind, study in studies.items():
        done = len(finished(study))
        if done < n_trials:
            running = sum(t.state.name == "RUNNING" for t in study.get_trials(deepcopy=False))
            lines.append(
                f"{kind} has {done} of {n_trials} finished trials ({running} still running "
                "elsewhere); run the sweep again to finish it"
            )
    return lines


# ----------------------------------------------------------------------------- local workers
PARENT = "SEQPRED_SWEEP_PARENT"  # the pid of the sweep that started a worker


def watch_parent() -> None:
    """In a worker: stop (as on SIGTERM) as soon as the sweep that started it is gone, even if
    it died while this worker was still loading its libraries."""
    parent = int(os.environ.get(PARENT, os.getppid()))
    if sys.platform == "linux":  # the kernel's own notice, at once
        with contextlib.suppress(OSError, AttributeError):
            import ctypes

            pr_set_pdeathsig = 1
            ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)

    def watch():  # everywhere: the parent's pid changes when it dies
        while os.getppid() == parent:
            time.sleep(1)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def run_workers(argv: list[str], n: int, script: Path, stop) -> list[str]:
    """Start n worker processes of `script` with `argv` and wait for them; Ctrl-C or SIGTERM
    (recorded in `stop`) is passed on to each. Returns one line for each worker that did not end
    normally. A signal is acted on only after every worker has started, so none is left out."""
    procs = []
    try:
        for i in range(1, n + 1):
            cmd = [sys.executable, str(script), *argv, "--worker-id", str(i)]
            env = {**os.environ, PARENT: str(os.getpid())}
            procs.append(subprocess.Popen(cmd, env=env))
        while any(p.poll() is None for p in procs):
            stop.check()
            time.sleep(0.2)
    except Interrupted as err:
        stop_workers(procs, err.signum)
        raise
    lines = []
    for i, p in enumerate(procs, start=1):
        if p.returncode < 0:
            name = signal.Signals(-p.returncode).name
            lines.append(
                f"worker {i} (pid {p.pid}) died ({name}); its trial in flight is marked failed "
                "and run again by the next sweep"
            )
        elif p.returncode != 0:
            lines.append(f"worker {i} (pid {p.pid}) stopped with exit status {p.returncode}")
    return lines


def stop_workers(procs, signum: int) -> None:
    """Pass the signal on (Windows: terminate), wait a minute, then kill what is left."""
    for p in procs:
        if p.poll() is None:
            if os.name == "nt":  # no SIGINT to send to another process there
                p.terminate()
            else:
                p.send_signal(signum)
    for p in procs:
        try:
            p.wait(timeout=60)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
