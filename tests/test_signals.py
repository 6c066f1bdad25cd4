"""Stopping at any moment: Ctrl-C and SIGTERM sent to real subprocesses, a process killed outright,
a run that fails beside finished ones. What had finished is kept; nothing is half-written."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from seqpred import parsers, runner
from seqpred.interrupts import Interrupted, StopRequest
from seqpred.runner import Task
from seqpred.settings import TrainSettings, from_flags

import pytest
import torch

import compare_results
from conftest import ROOT, leftovers, run_here, start_script, stop_when, wait_for

# Real signals to real subprocesses, /proc: POSIX only (Windows has neither SIGTERM nor /proc).
pytestmark = pytest.mark.skipif(os.name != "posix", reason="POSIX signals")

STATUS = {signal.SIGINT: 130, signal.SIGTERM: 143}
NAME = {signal.SIGINT: "Ctrl-C", signal.SIGTERM: "SIGTERM"}


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_main_keeps_the_last_completed_epoch(tiny_flags, tmp_path, sig):
    ckpt = tmp_path / "ckpt.pt"
    flags_ = [*tiny_flags, "--epochs", "100000", "--log-interval", "1", "--save-model", str(ckpt)]
    proc = start_script("main.py", *flags_, cwd=tmp_path)
    out, _ = stop_when(proc, "epoch    3/", sig, STATUS[sig])
    assert f"Interrupted ({NAME[sig]}) after epoch" in out and "--resume" in out
    saved = torch.load(ckpt, weights_only=True)
    assert saved["epoch"] >= 3 and len(saved["train_losses"]) == saved["epoch"]
    torch.load(tmp_path / "train_data.pt", weights_only=True)  # the data files are intact
    assert not leftovers(tmp_path)


def test_stopping_without_a_checkpoint_names_the_epochs_it_finished(tiny_flags, tmp_path):
    flags_ = [*tiny_flags, "--epochs", "100000", "--log-interval", "1"]
    proc = start_script("main.py", *flags_, cwd=tmp_path)
    out, _ = stop_when(proc, "epoch    3/", signal.SIGINT, 130)
    done = int(out.split("Interrupted (Ctrl-C) after epoch ")[1].split()[0])
    logged = [
        int(line.split("epoch")[1].split("/")[0])
        for line in out.splitlines()
        if "epoch " in line and "/100000" in line
    ]
    assert done >= 3 and done == max([3, *logged])


@pytest.mark.parametrize(("sig", "jobs"), [(signal.SIGINT, "2"), (signal.SIGTERM, "1")])
def test_compare_keeps_every_finished_run(tiny_flags, tmp_path, sig, jobs):
    flags_ = [*tiny_flags, "--models", "RNN", "--seeds", "4", "--jobs", jobs, "--epochs", "60"]
    proc = start_script("compare_results.py", *flags_, cwd=tmp_path)
    stop_when(proc, "[1/4]", sig, STATUS[sig])
    report = (tmp_path / "figs" / "results.md").read_text()
    assert f"**Interrupted ({NAME[sig]})**" in report and "| RNN |" in report
    assert "Not finished: RNN seed" in report
    assert (tmp_path / "figs" / "loss_curves.png").read_bytes().startswith(b"\x89PNG")
    kept = json.loads((tmp_path / "figs" / "runs-in-progress.json").read_text())
    assert kept["finished_runs"]  # kept, for the rerun to continue from
    assert not leftovers(tmp_path)


@pytest.mark.parametrize(
    "signals",
    [(signal.SIGINT, signal.SIGINT, signal.SIGTERM), (signal.SIGTERM, signal.SIGINT)],
    ids=["ctrl-c twice then sigterm", "sigterm then ctrl-c"],
)
def test_a_second_ctrl_c_and_a_sigterm_do_not_cut_the_partial_results_short(
    tiny_flags, tmp_path, signals
):
    """Signals sent together arrive in no defined order; a SIGTERM among them decides the exit
    status (143), whichever the handlers saw first."""
    flags_ = [*tiny_flags, "--models", "RNN", "--seeds", "4", "--jobs", "2", "--epochs", "60"]
    proc = start_script("compare_results.py", *flags_, cwd=tmp_path)
    wait_for(proc, "[1/4]")
    for sig in signals:
        proc.send_signal(sig)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 143, out + err
    assert "Traceback" not in err
    report = json.loads((tmp_path / "figs" / "results.json").read_text())
    assert report["models"]["RNN"]["runs"]  # the finished runs, whole
    assert not leftovers(tmp_path)


def test_a_process_killed_outright_leaves_its_finished_runs_on_disk(tiny_flags, tmp_path, capsys):
    """kill -9 (or the out-of-memory killer) gives no chance to clean up: every finished run
    was written as it finished."""
    flags_ = [*tiny_flags, "--models", "RNN", "--seeds", "4", "--jobs", "2", "--epochs", "60"]
    proc = start_script("compare_results.py", *flags_, cwd=tmp_path)
    wait_for(proc, "[1/4]")
    proc.kill()
    proc.communicate(timeout=60)
    progress = json.loads((tmp_path / "figs" / "runs-in-progress.json").read_text())
    assert progress["finished_runs"] and progress["finished_runs"][0]["model"] == "RNN"
    assert len(progress["finished_runs"][0]["test_losses"]) == 60
    kept = {(r["model"], r["seed"]): r["test_losses"] for r in progress["finished_runs"]}
    # the rerun continues: the finished runs are kept as they were, the rest trained
    assert compare_results.main(flags_) == 0  # the rerun, in this process
    out = capsys.readouterr().out
    assert f"Resuming: {len(kept)} finished run(s)" in out
    assert out.count("] RNN seed") == 4 - len(kept)
    report = json.loads((tmp_path / "figs" / "results.json").read_text())
    runs = report["models"]["RNN"]["runs"]
    assert sorted(r["seed"] for r in runs) == [0, 1, 2, 3]
    assert not (tmp_path / "figs" / "runs-in-progress.json").exists()


def test_finished_runs_of_another_comparison_are_not_mixed_in(tiny_flags, tmp_path):
    progress = tmp_path / "figs" / "runs-in-progress.json"
    progress.parent.mkdir()
    progress.write_text(json.dumps({"flags": {"epochs": 500}, "data": "x", "finished_runs": []}))
    proc = run_here("compare_results.py", *tiny_flags, "--models", "RNN", cwd=tmp_path)
    assert proc.returncode == 1 and "holds the finished runs of another comparison" in proc.stderr
    assert "another comparison (--" in proc.stderr and "Traceback" not in proc.stderr
    assert json.loads(progress.read_text())["flags"] == {"epochs": 500}  # left as it was


def test_stopping_while_figures_are_drawn_keeps_the_checkpoint(tiny_flags, tmp_path):
    """The checkpoint is saved before the figures; a signal while they are drawn stops them
    cleanly, without a traceback or a half-written file."""
    sig = signal.SIGTERM  # Ctrl-C runs the same handler (the tests above send both)
    ckpt = tmp_path / "model.pt"
    proc = start_script("main.py", *tiny_flags, "--plot", "--save-model", str(ckpt), cwd=tmp_path)
    wait_for(proc, "Saved checkpoint")
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode in (0, STATUS[sig]), out + err  # 0 if the figures were done first
    assert "Traceback" not in err
    assert len(torch.load(ckpt, weights_only=True)["train_losses"]) == 2  # the finished model
    assert not leftovers(tmp_path)


def test_adding_task_stops_cleanly_and_keeps_finished_runs(tmp_path):
    out = tmp_path / "adding"
    flags_ = [
        "--lengths",
        "4",
        "5",
        "--seeds",
        "3",
        "--epochs",
        "30",
        "--hidden-size",
        "4",
        "--jobs",
        "2",
        "--device",
        "cpu",
        "--out-dir",
        str(out),
    ]
    proc = start_script("adding_task.py", *flags_, cwd=tmp_path)
    stop_when(proc, "[1/", signal.SIGTERM, 143)
    assert "**Interrupted (SIGTERM)**" in (out / "results.md").read_text()
    assert json.loads((out / "results.json").read_text())["runs"]
    assert not leftovers(tmp_path)


@pytest.mark.parametrize(
    ("flags_", "message"),
    [
        (["--lengths", "1"], "must be 2 or more"),
        (["--lengths", "abc"], "invalid sequence_length value"),
        (["--lengths", "4", "4"], "--lengths names 4 more than once"),
        (["--models", "RNN", "rnn"], "--models names RNN more than once"),
        (["--seed", str(2**32)], "--seed: must be between 0 and 2**32 - 1"),
    ],
)
def test_adding_task_refuses_bad_flags_in_one_line(tmp_path, flags_, message):
    proc = run_here("adding_task.py", *flags_, "--out-dir", str(tmp_path), cwd=tmp_path)
    assert proc.returncode == 2 and message in proc.stderr
    assert "Traceback" not in proc.stderr


def test_adding_task_checks_its_output_folder_before_training(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    proc = run_here("adding_task.py", "--lengths", "4", "--out-dir", str(blocker / "out"))
    assert proc.returncode == 1 and "cannot write to" in proc.stderr
    assert "Traceback" not in proc.stderr and "[1/" not in proc.stdout


def test_save_model_into_an_existing_folder_is_refused_before_training(tiny_flags, tmp_path):
    folder = tmp_path / "models"
    folder.mkdir()
    proc = run_here("main.py", *tiny_flags, "--save-model", str(folder), cwd=tmp_path)
    assert proc.returncode == 2 and "--save-model" in proc.stderr and "is a folder" in proc.stderr
    assert "epoch" not in proc.stdout and "Traceback" not in proc.stderr


def compare_setup(tiny_flags, *more):
    """A comparison's one series, set up as compare_results.py sets it up."""
    return compare_results.start(
        from_flags(parsers.parser("compare_results.py"), [*tiny_flags, *more])
    )


def test_partial_results_keep_a_run_whose_seed_is_not_the_first(tiny_flags, tmp_path):
    """Only seed 1 finished before Ctrl-C: its run is still written (deterministic twin of the
    subprocess tests above, where which seed finishes first is up to the scheduler)."""
    x = compare_setup(tiny_flags, "--models", "RNN", "--seeds", "2")
    done = [compare_results.train_and_describe(Task("RNN", 1), x, StopRequest())]
    outcome = runner.Outcome(done, [], [Task("RNN", 0)], Interrupted())
    status = runner.finish(
        outcome, 2, "runs", lambda note: compare_results.write_outputs(done, x, 1, note=note)[0]
    )
    report = (tmp_path / "figs" / "results.md").read_text()
    assert status == 130 and "1 of 2 runs had finished" in report and "| RNN |" in report
    assert "Not finished: RNN seed 0" in report


def test_a_diverging_run_does_not_throw_away_the_finished_ones(tiny_flags, tmp_path, capsys):
    x = compare_setup(tiny_flags, "--models", "RNN", "GRU")

    def run(task, stop):
        if task.kind == "GRU":  # this one diverges, as with a learning rate far too large
            config = TrainSettings(hidden_size=8, epochs=3, lr=1e30, impl="torch")
            compare_results.train_run("GRU", x.data, config, torch.device("cpu"))
        return compare_results.train_and_describe(task, x, stop)

    tasks = [Task(kind, 0) for kind in ("RNN", "GRU")]
    outcome = runner.run_all(run, tasks, 2, StopRequest())
    assert [r["model"] for r in outcome.done] == ["RNN"] and outcome.failed

    def partial(note):
        return compare_results.write_outputs(outcome.done, x, 1, note=note)[0]

    assert runner.finish(outcome, 2, "runs", partial) == 1
    report = (tmp_path / "figs" / "results.md").read_text()
    assert "| RNN |" in report and "GRU seed 0 (training diverged at epoch" in report


def test_a_sigterm_outranks_a_ctrl_c_for_the_exit_status():
    for order in ((signal.SIGINT, signal.SIGTERM), (signal.SIGTERM, signal.SIGINT)):
        stop = StopRequest()
        for sig in order:
            stop.request(sig)
        with pytest.raises(Interrupted) as err:
            stop.check()
        assert err.value.status == 143
    stop = StopRequest()
    stop.request(signal.SIGINT)
    stop.request(signal.SIGINT)
    assert stop.signum == signal.SIGINT


def test_a_run_being_collected_when_stopped_is_counted_once():
    """on_done raises (as Ctrl-C once did, in the middle of writing the progress file): the
    run it was collecting is not collected a second time while the set stops."""
    calls = []

    def on_done(result):
        calls.append(result)
        if len(calls) == 1:
            raise Interrupted()

    outcome = runner.run_all(lambda task, stop: task, [1, 2], 1, StopRequest(), on_done)
    assert outcome.done.count(1) == 1 and calls.count(1) == 1
    assert outcome.interrupted is not None


SWALLOWER = """
import time
try:
    time.sleep(3)  # a library's import: the signal lands here
except:  # noqa: E722  (the bare except of such a library)
    pass
"""

DRIVER = """
import sys, time
sys.path.insert(0, sys.argv[1])
from seqpred import process

with process.guarded("driver") as stop:
    print("importing", flush=True)
    import swallower  # noqa: F401
    print("imported", flush=True)
    for _ in range(300):  # a run that checks at its safe points (the end of each epoch)
        stop.check()
        time.sleep(0.1)
    print("never stopped", flush=True)
"""


def test_a_signal_during_an_import_that_swallows_exceptions_is_not_lost(tmp_path):
    (tmp_path / "swallower.py").write_text(SWALLOWER)
    (tmp_path / "driver.py").write_text(DRIVER)
    proc = subprocess.Popen(
        [sys.executable, str(tmp_path / "driver.py"), str(tmp_path)],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    wait_for(proc, "importing")
    time.sleep(0.5)  # inside the sleep of the swallowing import
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 143, out + err
    assert "imported" in out and "never stopped" not in out and "Traceback" not in err


def test_ctrl_c_while_the_libraries_load_is_a_quiet_exit(tmp_path):
    """main.py and compare_results.py import PyTorch for a second or more before main() runs."""
    for script in ("main.py", "compare_results.py"):
        proc = start_script(script, "--dry-run", "--data-dir", str(tmp_path), cwd=tmp_path)
        deadline = time.monotonic() + 60
        while not catches_sigterm(proc.pid) and time.monotonic() < deadline:
            time.sleep(0.005)  # until seqpred/__init__.py has installed its handlers
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 130 and "Traceback" not in err, out + err
        assert "while starting; nothing was written" in out
        assert not list(tmp_path.glob("*.pt"))


def catches_sigterm(pid: int) -> bool:
    """Whether the process has a handler for SIGTERM yet (Linux's /proc status)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    caught = next(line for line in status.splitlines() if line.startswith("SigCgt:"))
    return bool(int(caught.split()[1], 16) & (1 << (signal.SIGTERM - 1)))
