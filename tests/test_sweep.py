"""sweep.py: tuning never sees the test period; workers share one storage and run exactly
--trials trials; a stopped sweep continues; a fixed seed repeats."""

import dataclasses
import json
import signal

import pytest
import torch

import data as datasets
import sweep
from conftest import run_script, start_script, stop_when
from seqpred import flags, tuning

optuna = pytest.importorskip("optuna")

TINY = ["--dataset", "elnino", "--sequence-length", "12", "--epochs", "3", "--seeds", "1",
        "--predict-steps", "6", "--device", "cpu", "--jobs", "1"]  # fmt: skip


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


def test_tuning_never_touches_the_test_period(tmp_path):
    parser = sweep.build_parser()
    argv = [*TINY, "--trials", "3", "--models", "GRU", "--out-dir", str(tmp_path)]
    args = flags.finish(parser, parser.parse_args(argv), datasets.PRESETS)
    args.impl = "torch"
    data = datasets.prepare(args)
    hidden = dataclasses.replace(data, test_x=Untouchable(), test_y=Untouchable())
    sweep.run_studies(args, hidden, torch.device("cpu"))
    assert len(finished_trials(tmp_path, "GRU")) == 3


def test_two_workers_finish_exactly_the_trials_asked_for(tmp_path):
    proc = run_script("sweep.py", *TINY, "--trials", "5", "--models", "RNN", "--workers", "2",
                      "--out-dir", str(tmp_path), cwd=tmp_path)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    done = finished_trials(tmp_path)
    assert len(done) == 5 and len({t.number for t in done}) == 5
    runs = json.loads((tmp_path / "sweep.json").read_text())["trials"]
    counted = [t for t in runs if t["outcome"] not in ("surplus", "interrupted")]
    assert len(counted) == 5
    assert (tmp_path / "sensitivity.png").read_bytes().startswith(b"\x89PNG")


def test_a_stopped_sweep_keeps_its_trials_and_finishes_when_run_again(tmp_path):
    argv = [*TINY, "--epochs", "40", "--trials", "6", "--models", "RNN", "--out-dir",
            str(tmp_path)]  # fmt: skip
    proc = start_script("sweep.py", *argv, cwd=tmp_path)
    stop_when(proc, "RNN trial 1:", signal.SIGINT, 130, timeout=120)
    before = {t.number: t.value for t in finished_trials(tmp_path)}
    assert 2 <= len(before) < 6
    again = run_script("sweep.py", *argv, cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    after = {t.number: t.value for t in finished_trials(tmp_path)}
    assert len(after) == 6 and all(after[n] == v for n, v in before.items())


def test_a_fixed_seed_finds_the_same_best_settings(tmp_path):
    best = []
    for run in ("a", "b"):
        out = tmp_path / run
        argv = [*TINY, "--trials", "4", "--models", "LSTM", "--out-dir", str(out)]
        assert sweep.main(argv) == 0
        best.append(json.loads((out / "sweep.json").read_text())["best"])
    assert best[0] == best[1]


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
    proc = run_script("sweep.py", *TINY, "--trials", "2", "--models", "RNN", *out, *extra)
    assert proc.returncode == status and message in proc.stderr, proc.stderr
    assert "trial" not in proc.stdout and "Traceback" not in proc.stderr


def test_a_study_made_with_other_settings_is_not_joined(tmp_path):
    argv = [*TINY, "--trials", "2", "--models", "RNN", "--out-dir", str(tmp_path)]
    assert sweep.main(argv) == 0
    with pytest.raises(SystemExit) as exc:
        sweep.main([*argv, "--epochs", "4"])
    assert exc.value.code == 2
