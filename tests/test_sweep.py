"""sweep.py: tuning never sees the test period; workers share one storage and run exactly
--trials trials; a stopped sweep continues; a fixed seed repeats."""

import dataclasses
import json
import os
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from seqpred import parsers, tuning
from seqpred.interrupts import Interrupted, StopRequest, stop_on_signals
from seqpred.settings import from_flags

import pytest

import compare_results
import sweep
from conftest import ROOT, run_here, run_script, start_script, stop_when, wait_for

optuna = pytest.importorskip("optuna")
posix = pytest.mark.skipif(os.name != "posix", reason="POSIX signals and processes")

TINY = [
    "--benchmarks",
    "simple",
    "--dataset",
    "elnino",
    "--sequence-length",
    "12",
    "--epochs",
    "3",
    "--seeds",
    "1",
    "--predict-steps",
    "6",
    "--device",
    "cpu",
    "--jobs",
    "1",
]


def finished_trials(out_dir, kind="RNN"):
    storage = tuning.open_storage(None, out_dir)
    study = optuna.load_study(study_name=f"seqpred-{kind}", storage=storage)
    return tuning.finished(study)


class Untouchable:
    """Stands in for the test windows: any use of it fails the test."""

    def __getattr__(self, name):
        raise AssertionError("the test period was touched during tuning")

    def __getitem__(self, index):
        raise AssertionError("the test period was touched during tuning")

    def __len__(self):
        raise AssertionError("the test period was touched during tuning")


def trials_only(argv):
    """The trials of a sweep, without its final retraining and tables: a study to work on."""
    s = from_flags(parsers.parser("sweep.py"), argv)
    sweep.run_studies(s, compare_results.start(s, sweep.OUTPUTS), StopRequest())


def test_tuning_never_touches_the_test_period(tmp_path):
    argv = [*TINY, "--trials", "3", "--models", "GRU", "--out-dir", str(tmp_path)]
    s = from_flags(parsers.parser("sweep.py"), argv)
    x = compare_results.start(s, sweep.OUTPUTS)
    untouchable = dataclasses.replace(x.data, test_x=Untouchable(), test_y=Untouchable())
    sweep.run_studies(s, dataclasses.replace(x, data=untouchable), StopRequest())
    assert len(finished_trials(tmp_path, "GRU")) == 3


def settings_of(trials) -> set:
    return {tuple(sorted(t.params.items())) for t in trials}


def test_two_workers_finish_exactly_the_trials_asked_for_all_distinct(tmp_path):
    argv = [
        *TINY,
        *["--trials", "5", "--models", "RNN", "--workers", "2"],
        "--out-dir",
        str(tmp_path),
    ]
    proc = run_script("sweep.py", *argv, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr  # a surplus claim ends without Optuna's traceback
    done = finished_trials(tmp_path)
    assert len(done) == 5 and len({t.number for t in done}) == 5
    assert len(settings_of(done)) == 5  # each worker's sampler is not a replay of the other's
    runs = json.loads((tmp_path / "sweep.json").read_text())["trials"]
    counted = [t for t in runs if t["outcome"] not in ("surplus", "interrupted")]
    assert len(counted) == 5
    table = (tmp_path / "sweep.md").read_text()
    assert "| 5 | 5 |" in table  # finished, distinct settings
    if sys.platform.startswith("linux"):  # the retraining's peak memory, measured where it ran
        assert re.search(r"Peak memory: \d+ MB, .*\(1 at a time\)", table)
    assert (tmp_path / "sensitivity.png").read_bytes().startswith(b"\x89PNG")


@posix
def test_a_stopped_sweep_keeps_its_trials_and_finishes_when_run_again(tmp_path):
    argv = [*TINY, "--epochs", "20", "--trials", "5", "--models", "RNN", "--out-dir", str(tmp_path)]
    proc = start_script("sweep.py", *argv, cwd=tmp_path)
    _, err = stop_when(proc, "RNN trial 1:", signal.SIGINT, 130, timeout=120)
    assert "Traceback" not in err  # the interrupted trial is failed without Optuna's traceback
    before = {t.number: t.value for t in finished_trials(tmp_path)}
    assert 2 <= len(before) < 5
    assert sweep.main(argv) == 0  # the rerun, in this process
    done = finished_trials(tmp_path)
    after = {t.number: t.value for t in done}
    assert len(after) == 5 and all(after[n] == v for n, v in before.items())
    assert len(settings_of(done)) == 5  # the rerun did not replay the first run's trials


def test_a_fixed_seed_tries_the_same_trials(tmp_path):
    tried = []
    for run in ("a", "b"):
        out = tmp_path / run
        trials_only([*TINY, "--trials", "4", "--models", "LSTM", "--out-dir", str(out)])
        trials = finished_trials(out, "LSTM")
        tried.append([(t.number, t.params, t.value) for t in trials])
    assert len(tried[0]) == 4 and tried[0] == tried[1]


@pytest.mark.parametrize(
    ("extra", "status", "message"),
    [
        (["--storage", "nosuchdb://nowhere"], 2, "--storage nosuchdb://nowhere: cannot open"),
        (["--out-dir", "FILE/sub"], 1, "cannot write to"),
    ],
)
def test_bad_storage_or_output_fails_before_any_trial(tmp_path, extra, status, message):
    (tmp_path / "FILE").write_text("a file, not a folder")
    extra = [e.replace("FILE", str(tmp_path / "FILE")) for e in extra]
    out = [] if "--out-dir" in extra else ["--out-dir", str(tmp_path / "out")]
    proc = run_here("sweep.py", *TINY, "--trials", "2", "--models", "RNN", *out, *extra)
    assert proc.returncode == status and message in proc.stderr, proc.stderr
    assert "trial" not in proc.stdout and "Traceback" not in proc.stderr


def test_a_study_made_with_other_settings_is_not_joined(tmp_path):
    argv = [*TINY, "--trials", "2", "--models", "RNN", "--out-dir", str(tmp_path)]
    trials_only(argv)
    with pytest.raises(SystemExit) as exc:
        sweep.main([*argv, "--epochs", "4"])
    assert exc.value.code == 2


def test_a_trial_still_running_elsewhere_is_waited_for(tmp_path, capsys):
    """Another sweep on the storage holds the last trial (a live worker): this one waits for it
    rather than give a result without it, and finishes with the exact count once it ends."""
    argv = [*TINY, "--trials", "2", "--models", "RNN", "--out-dir", str(tmp_path)]
    trials_only(argv)
    storage = tuning.open_storage(None, tmp_path)
    study = optuna.load_study(study_name="seqpred-RNN", storage=storage)
    trial = study.ask()  # in flight, owned by this (live) process
    trial.set_user_attr("worker", {"host": os.uname().nodename, "pid": os.getpid()})
    trial.suggest_float("lr", 1e-4, 3e-2, log=True)  # the settings another sweep tries
    trial.suggest_int("hidden_size", 8, 64, log=True)
    trial.suggest_int("num_layers", 1, 1)
    other = threading.Timer(3, lambda: study.tell(trial, 1e6))  # it finishes, a while later
    other.start()
    try:
        assert sweep.main([*argv, "--trials", "3"]) == 0
    finally:
        other.cancel()
    assert "Waiting for 1 trial(s) running in another sweep" in capsys.readouterr().out
    assert len(tuning.finished(study)) == 3 and (tmp_path / "sweep.md").exists()


@posix
def test_two_workers_failing_the_same_lost_trial_at_once_do_not_crash(tmp_path, monkeypatch):
    """Both read the lost trial as running; one marks it failed first. The other's write then
    meets a finished trial: it goes on, and does not claim the trial (a real race of the
    PostgreSQL test)."""
    storage = tuning.open_storage(None, tmp_path)
    first = optuna.create_study(study_name="seqpred-RNN", storage=storage)
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()  # its pid now names no running process
    trial = first.ask()
    trial.set_user_attr("worker", {"host": socket.gethostname(), "pid": gone.pid})
    second = optuna.load_study(study_name="seqpred-RNN", storage=storage)
    read_before = second.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,))
    assert [t.number for t in read_before] == [trial.number]
    assert tuning.fail_lost_trials(first) == [trial.number]
    fresh = second.get_trials

    def stale_read(deepcopy=True, states=None):  # its read of the running trials came first
        return read_before if states else fresh(deepcopy=deepcopy)

    monkeypatch.setattr(second, "get_trials", stale_read)
    assert tuning.fail_lost_trials(second) == []
    assert first.get_trials()[trial.number].state.name == "FAIL"


def test_a_trial_failed_by_another_worker_while_it_ran_ends_in_one_line(tmp_path, capsys):
    storage = tuning.open_storage(None, tmp_path)
    mine = optuna.create_study(study_name="seqpred-RNN", storage=storage)
    trial = mine.ask()
    other = optuna.load_study(study_name="seqpred-RNN", storage=storage)
    other.tell(trial.number, state=optuna.trial.TrialState.FAIL)  # its heartbeat was late
    tuning.tell_own(mine, trial, "RNN", values=0.5)
    assert "RNN trial 0: marked failed by another worker" in capsys.readouterr().out
    assert mine.get_trials()[0].state.name == "FAIL"  # the late result is not counted


def test_a_damaged_storage_file_is_one_line(tmp_path):
    argv = [*TINY, "--trials", "1", "--models", "RNN", "--out-dir", str(tmp_path)]
    trials_only(argv)
    db = tmp_path / "sweep.db"
    raw = bytearray(db.read_bytes())
    page = sqlite3.connect(db).execute("pragma page_size").fetchone()[0]
    raw[page : len(raw)] = b"\xa5" * (len(raw) - page)  # every page after the first
    db.write_bytes(bytes(raw))
    proc = run_here("sweep.py", *argv, cwd=tmp_path)
    assert proc.returncode in (1, 2) and "Traceback" not in proc.stderr, proc.stderr
    assert str(db) in proc.stderr and len(proc.stderr.strip().splitlines()) == 1


def workers_of(out_dir) -> list[int]:
    """The pids of sweep.py worker processes writing into out_dir."""
    pids = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            args = cmdline.read_bytes().split(b"\0")
        except OSError:
            continue
        if b"--worker-id" in args and str(out_dir).encode() in args:
            pids.append(int(cmdline.parent.name))
    return pids


def gone(out_dir, seconds=30) -> bool:
    deadline = time.monotonic() + seconds
    while workers_of(out_dir) and time.monotonic() < deadline:
        time.sleep(0.2)
    return not workers_of(out_dir)


@posix
def test_ctrl_c_while_workers_start_leaves_none_running(tmp_path, monkeypatch):
    """A real SIGINT lands between the second and the third worker's start."""
    script = tmp_path / "worker.py"
    script.write_text("import time\ntime.sleep(60)\n")
    started, popen = [], subprocess.Popen

    def start(cmd, **kwargs):
        started.append(popen(cmd, **kwargs))
        if len(started) == 2:
            os.kill(os.getpid(), signal.SIGINT)
        return started[-1]

    monkeypatch.setattr(tuning.subprocess, "Popen", start)
    with pytest.raises(Interrupted), stop_on_signals() as stop:
        tuning.run_workers([], 3, script, stop)
    assert len(started) == 3  # the signal waited until every worker was known
    assert all(p.poll() is not None for p in started)  # and then stopped each of them


@pytest.mark.skipif(sys.platform != "linux", reason="reads /proc")
def test_workers_stop_when_their_parent_is_killed(tmp_path):
    more = ["--epochs", "5000", "--trials", "20", "--models", "RNN", "--workers", "2"]
    argv = [*TINY, *more, "--out-dir", str(tmp_path)]
    proc = start_script("sweep.py", *argv, cwd=tmp_path)
    wait_for(proc, "Starting 2 worker processes")
    deadline = time.monotonic() + 60
    while len(workers_of(tmp_path)) < 2 and time.monotonic() < deadline:
        time.sleep(0.2)
    time.sleep(1)  # the workers are training (each trial takes far longer than the check)
    assert len(workers_of(tmp_path)) == 2
    proc.kill()
    # reading to the end drains the pipe the workers write to, and ends only once they are gone
    proc.communicate(timeout=30)
    assert gone(tmp_path, seconds=5)


def test_windows_stops_workers_with_terminate(monkeypatch):
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    monkeypatch.setattr(tuning.os, "name", "nt")  # send_signal(SIGINT) would raise there
    tuning.stop_workers([child], signal.SIGINT)
    assert child.returncode == -signal.SIGTERM


# ----------------------------------------------------------------------------- PostgreSQL
def postgres_binaries():
    """initdb and pg_ctl, from PATH or Debian's folder; None where PostgreSQL is absent."""
    found = [shutil.which(name) for name in ("initdb", "pg_ctl")]
    if all(found):
        return found
    for folder in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):
        if (folder / "initdb").exists() and (folder / "pg_ctl").exists():
            return [str(folder / "initdb"), str(folder / "pg_ctl")]
    return None


@pytest.fixture
def postgres():
    """A throwaway PostgreSQL server on a free port under a temporary folder: its URL."""
    binaries = postgres_binaries()
    if binaries is None:
        pytest.skip("no PostgreSQL binaries (initdb, pg_ctl) on this machine")
    initdb, pg_ctl = binaries
    folder = Path(tempfile.mkdtemp(prefix="seqpred-pg-"))
    as_user = []
    if os.getuid() == 0:  # the server refuses to run as root: as the postgres user
        import pwd

        user = pwd.getpwnam("postgres")
        os.chown(folder, user.pw_uid, user.pw_gid)
        as_user = ["runuser", "-u", "postgres", "--"]
    data = folder / "data"
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    try:
        subprocess.run(
            [*as_user, initdb, "-D", str(data), "-A", "trust", "-U", "postgres"],
            check=True,
            capture_output=True,
            timeout=120,
        )
        start = [
            *as_user,
            pg_ctl,
            "-D",
            str(data),
            "-o",
            f"-p {port} -k {folder}",
            "-l",
            str(folder / "log"),
            "-w",
            "start",
        ]
        subprocess.run(start, check=True, capture_output=True, timeout=120)
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run(
            [*as_user, pg_ctl, "-D", str(data), "-m", "immediate", "stop"],
            capture_output=True,
            timeout=120,
        )
        shutil.rmtree(folder, ignore_errors=True)


def freeze_a_worker_mid_trial(storage):
    """A trial in flight whose worker is now stopped (SIGSTOP) inside it, or None. The worker is
    stopped first and the trial read again, since it may have ended since it was first read."""
    try:
        trials = optuna.load_study(study_name="seqpred-GRU", storage=storage).get_trials()
    except KeyError:  # no study yet: the workers are still starting
        return None
    for trial in trials:
        if trial.state.name == "RUNNING" and "worker" in trial.user_attrs:
            pid = trial.user_attrs["worker"]["pid"]
            os.kill(pid, signal.SIGSTOP)
            study = optuna.load_study(study_name="seqpred-GRU", storage=storage)
            if study.get_trials()[trial.number].state.name == "RUNNING":
                return trial
            os.kill(pid, signal.SIGCONT)  # it finished that trial meanwhile: try another
    return None


OPEN_AT_ONCE = """
import sys, time
from pathlib import Path
from seqpred import tuning
start = float(sys.argv[3])
while time.time() < start:
    pass
storage = tuning.open_storage(sys.argv[1] or None, Path(sys.argv[2]))
tuning.open_study(storage, "RNN", {"epochs": 4}, 0)
print("opened")
"""


def open_at_once(url, folder, n=3):
    """n processes that open a fresh storage and its study at the same instant; their output."""
    start = time.time() + 3  # after every process has loaded its libraries
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", OPEN_AT_ONCE, url, str(folder), str(start)],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(n)
    ]
    return [p.communicate(timeout=120) for p in procs], [p.returncode for p in procs]


def test_sweeps_opening_a_fresh_sqlite_storage_at_once_all_open_it(tmp_path):
    """Each creates the tables; all but one used to fail (table studies already exists;
    UNIQUE constraint failed: alembic_version), and were told to move a healthy file away."""
    outputs, codes = open_at_once("", tmp_path)
    assert codes == [0, 0, 0], outputs


def test_sweeps_opening_a_fresh_postgresql_storage_at_once_all_open_it(tmp_path, postgres):
    outputs, codes = open_at_once(postgres, tmp_path)
    assert codes == [0, 0, 0], outputs


def racing_sweeps(argv, cwd):
    """Two sweeps started together on one storage: both finish, the trials counted exactly."""
    procs = [start_script("sweep.py", *argv, cwd=cwd) for _ in range(2)]
    results = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], results
    return results


def test_two_sweeps_on_one_fresh_sqlite_storage_both_finish_exactly(tmp_path):
    argv = [*TINY, "--trials", "4", "--models", "RNN", "--out-dir", str(tmp_path)]
    racing_sweeps(argv, tmp_path)
    study = optuna.load_study(study_name="seqpred-RNN", storage=f"sqlite:///{tmp_path}/sweep.db")
    done = tuning.finished(study)
    assert len(done) == 4 and len(settings_of(done)) == 4
    # Both may ask for the last trial at once: the later one is marked surplus and never trained.
    extra = [t for t in study.get_trials() if t.number not in {d.number for d in done}]
    assert all(t.user_attrs.get("outcome") == "surplus" and not t.params for t in extra), extra
    assert len(extra) <= 1


@posix
def test_two_sweeps_on_one_fresh_postgresql_storage_both_finish_exactly(tmp_path, postgres):
    argv = [*TINY, "--trials", "4", "--models", "RNN", "--storage", postgres]
    racing_sweeps([*argv, "--out-dir", str(tmp_path)], tmp_path)
    study = optuna.load_study(
        study_name="seqpred-RNN", storage=tuning.open_storage(postgres, tmp_path)
    )
    done = tuning.finished(study)
    assert len(done) == 4 and len(settings_of(done)) == 4


@posix
def test_two_workers_on_postgresql_survive_a_killed_worker(tmp_path, postgres):
    """The README's URL as written; two workers share the study; one is SIGKILLed mid-trial;
    its trial is failed at once (no grace period to wait), by the surviving worker if it asks
    for another trial before the sweep ends, else by the rerun: reported once, by whichever
    marked it; the rerun completes the count."""
    more = ["--epochs", "30", "--trials", "4", "--models", "GRU", "--workers", "2"]
    argv = [*TINY, *more, "--storage", postgres, "--out-dir", str(tmp_path)]
    proc = start_script("sweep.py", *argv, cwd=tmp_path)
    storage = tuning.open_storage(postgres, tmp_path)
    lost, deadline = None, time.monotonic() + 120
    while lost is None and time.monotonic() < deadline:
        time.sleep(0.1)
        lost = freeze_a_worker_mid_trial(storage)
    assert lost is not None, "no trial in flight"
    os.kill(lost.user_attrs["worker"]["pid"], signal.SIGKILL)
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 1 and "died (SIGKILL)" in err and "Traceback" not in err
    again = run_script("sweep.py", *argv, cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    report_of_it = f"GRU trial {lost.number}: its worker is gone; marked failed"
    assert (out + again.stdout).count(report_of_it) == 1, out + again.stdout
    study = optuna.load_study(study_name="seqpred-GRU", storage=storage)
    assert study.get_trials()[lost.number].state.name == "FAIL"
    done = tuning.finished(study)
    assert len(done) == 4 and len(settings_of(done)) == 4
    report = json.loads((tmp_path / "sweep.json").read_text())
    assert not [t for t in report["trials"] if t["state"] == "running"]
