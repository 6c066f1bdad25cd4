"""The machinery of sweep.py: Optuna studies kept in a storage that any number of workers share,
an exact count of trials among them, and local worker processes.

Storage: an SQLite file in the output folder by default, or any Optuna storage URL (e.g. a
PostgreSQL server that workers on several machines reach). Workers coordinate only through it:
each trial's number is handed out by the storage, atomically, and a worker runs a trial only if
fewer than --trials counted trials come before it. Counted are trials that finished (complete,
pruned, or failed by diverging) and trials in flight. A trial stopped by Ctrl-C or SIGTERM is
marked failed and not counted, so running the sweep again runs it anew; a worker that dies
(kill -9, out of memory) stops sending heartbeats, and after a grace period its trial is
marked failed and run again by a live worker.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
import warnings
from pathlib import Path

from seqpred.errors import FlagError
from seqpred.interrupts import Interrupted

HEARTBEAT_SECONDS, GRACE_SECONDS = 5, 20
OUTCOME = "outcome"  # user attribute of a trial: "diverged", "surplus" or "interrupted"


class Surplus(Exception):
    """This trial would go beyond --trials: the other workers have the rest in hand."""


def open_storage(url: str | None, out_dir: Path):
    """The study storage: --storage URL, or sweep.db in the output folder; FlagError if it
    cannot be opened (checked before any trial)."""
    import optuna

    url = url or f"sqlite:///{(Path(out_dir) / 'sweep.db').resolve()}"
    try:
        with warnings.catch_warnings():  # heartbeats are marked experimental; we rely on them
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            return optuna.storages.RDBStorage(
                url, heartbeat_interval=HEARTBEAT_SECONDS, grace_period=GRACE_SECONDS
            )
    except Exception as err:  # a bad URL, a missing driver, a server that does not answer
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise FlagError(f"--storage {url}: cannot open it: {first[:200]}") from None


def open_study(storage, kind: str, settings: dict, seed: int):
    """The study of one model type, created or joined; refuses one made with other settings.

    Trials are pruned by the median rule, but only after a quarter of the epochs: early on,
    a small learning rate always looks worse than a large one, and pruning then would tune
    for the first few epochs instead of the whole run.
    """
    import optuna

    sampler = optuna.samplers.TPESampler(seed=seed + ["RNN", "LSTM", "GRU"].index(kind))
    warmup = max(5, settings["epochs"] // 4)
    pruner = optuna.pruners.MedianPruner(n_startup_trials=5, n_warmup_steps=warmup)
    optuna.logging.set_verbosity(optuna.logging.WARNING)  # sweep.py prints its own lines
    study = optuna.create_study(
        study_name=f"seqpred-{kind}",
        storage=storage,
        sampler=sampler,
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


def run_trials(study, objective, n_trials: int, diverged: type[Exception], stop) -> int:
    """Run trials until the study holds n_trials counted ones; returns how many ran here.
    stop.check() raises Interrupted between trials after Ctrl-C or SIGTERM."""

    ran = 0

    def claimed(trial):
        ahead = [t for t in study.get_trials(deepcopy=False) if t.number < trial.number]
        if sum(counts(t) for t in ahead) >= n_trials:
            trial.set_user_attr(OUTCOME, "surplus")
            raise Surplus
        try:
            return objective(trial)
        except diverged:
            trial.set_user_attr(OUTCOME, "diverged")
            raise
        except KeyboardInterrupt:
            trial.set_user_attr(OUTCOME, "interrupted")
            raise

    while len(finished(study)) < n_trials:
        stop.check()
        before = len(study.get_trials(deepcopy=False))
        study.optimize(claimed, n_trials=1, catch=(diverged, Surplus))
        last = study.get_trials(deepcopy=False)[before:]
        if any(t.user_attrs.get(OUTCOME) == "surplus" for t in last):
            break  # the other workers are running the last trials
        ran += 1
    return ran


def run_workers(argv: list[str], n: int, script: Path) -> list[str]:
    """Start n worker processes of `script` with `argv` and wait for them; Ctrl-C or SIGTERM
    is passed on to each. Returns one line for each worker that did not end normally."""
    procs = [
        subprocess.Popen([sys.executable, str(script), *argv, "--worker-id", str(i)])
        for i in range(1, n + 1)
    ]
    try:
        while any(p.poll() is None for p in procs):
            time.sleep(0.2)
    except Interrupted as stop:
        for p in procs:
            if p.poll() is None:
                p.send_signal(stop.signum)
        for p in procs:
            try:
                p.wait(timeout=60)
            except subprocess.TimeoutExpired:
                p.kill()
        raise
    lost = []
    for i, p in enumerate(procs, start=1):
        if p.returncode < 0:
            name = signal.Signals(-p.returncode).name
            lost.append(
                f"worker {i} (pid {p.pid}) died ({name}); its trial in flight is marked failed "
                f"{GRACE_SECONDS} s after its last heartbeat and run again by the next sweep"
            )
        elif p.returncode != 0:
            lost.append(f"worker {i} (pid {p.pid}) stopped with exit status {p.returncode}")
    return lost
