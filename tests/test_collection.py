"""compare_results.py --dataset collection: every series of a manifest in one pool of runs, and
every method ranked across them, the M4 way."""

import json
import math
import os
import signal

from seqpred.collection import COLLECTION, read_collection
from seqpred.scoring import ranks

import pytest
from scipy import stats

import compare_results
from conftest import start_script, stop_when

FLAGS = [
    "--dataset",
    "collection",
    "--hidden-size",
    "4",
    "--device",
    "cpu",
    "--benchmarks",
    "simple",
]


def manifest(tmp_path, lines=None):
    """Two small synthetic series: one monthly and seasonal, one yearly and not."""
    folder = tmp_path / "data"
    folder.mkdir(exist_ok=True)
    wave = [10 + 3 * math.sin(2 * math.pi * i / 12) + i / 20 for i in range(120)]
    monthly = ["date,value"] + [
        f"{2000 + i // 12}-{i % 12 + 1:02d}-01,{v:.3f}" for i, v in enumerate(wave)
    ]
    yearly = ["date,count"] + [
        f"{1800 + i}-01-01,{50 + 20 * math.sin(i / 1.7):.2f}" for i in range(90)
    ]
    (folder / "monthly.csv").write_text("\n".join(monthly) + "\n")
    (folder / "yearly.csv").write_text("\n".join(yearly) + "\n")
    path = folder / "collection.csv"
    head = "# a comment line\nname,file,column,date_column,season,epochs,units\n"
    body = lines or [
        "shop,monthly.csv,value,date,,2,units",
        "wild,yearly.csv,count,date,,3,animals",
    ]
    path.write_text(head + "\n".join(body) + "\n")
    return path


def test_a_two_series_collection_runs_end_to_end(tmp_path):
    out = tmp_path / "out"
    argv = [*FLAGS, "--manifest", str(manifest(tmp_path)), "--out-dir", str(out), "--jobs", "2"]
    assert compare_results.main(argv) == 0
    for name in ("shop", "wild"):  # each series' own outputs, as a plain comparison writes them
        report = json.loads((out / name / "results.json").read_text())
        assert report["dataset"] == name and (out / name / "horizon.png").exists()
    assert json.loads((out / "shop" / "results.json").read_text())["season"] == 12
    wild = json.loads((out / "wild" / "results.json").read_text())
    assert wild["season"] is None and wild["settings"]["train"]["epochs"] == 3  # the manifest's
    summary = json.loads((out / "results.json").read_text())
    assert summary["series"] == ["shop", "wild"]
    baselines = {"persistence", "seasonal persistence", "seasonal mean", "drift", "linear AR"}
    assert set(summary["mean_rank"]) == {"RNN", "LSTM", "GRU", *baselines}
    for method, mean in summary["mean_rank"].items():  # the mean of its two ranks
        assert mean == pytest.approx(
            (summary["ranks"]["shop"][method] + summary["ranks"]["wild"][method]) / 2
        )
    assert (out / "ranks.png").read_bytes().startswith(b"\x89PNG")
    text = (out / "results.md").read_text()
    assert "### Across 2 real series" in text and "no verdict is possible" in text
    assert not (out / "runs-in-progress.json").exists()


def test_mean_ranks_from_a_hand_checked_table():
    table = {
        "a": {"RNN": 1.0, "LSTM": 2.0, "AR": 3.0},  # ranks 1, 2, 3
        "b": {"RNN": 0.5, "LSTM": 0.2, "AR": 0.9},  # ranks 2, 1, 3
        "c": {"RNN": 4.0, "LSTM": 4.0, "AR": 1.0},  # ranks 2.5, 2.5, 1: a tie shares its ranks
    }
    result = ranks.rank_table(table, ["RNN", "LSTM", "AR"])
    assert result["ranks"]["c"] == {"RNN": 2.5, "LSTM": 2.5, "AR": 1.0}
    assert result["mean_rank"] == pytest.approx({"RNN": 5.5 / 3, "LSTM": 5.5 / 3, "AR": 7 / 3})


def test_identical_scores_tie():
    assert ranks.rank_row({"x": 1.0, "y": 1.0, "z": 1.0}, ["x", "y", "z"]) == {
        "x": 2.0,
        "y": 2.0,
        "z": 2.0,
    }


def fake_report(mase: dict) -> dict:
    """The parts of one series' results.json the collection reads."""
    base = {
        name: {"forecast_mase_mean": mase[name]}
        for name in (
            "persistence",
            "seasonal persistence",
            "seasonal mean",
            "drift",
            "linear AR(8)",
        )
    }
    return {
        "baselines": base,
        "best_baseline": {"forecast": "linear AR(8)"},
        "claims": [],
        "season": 4,
        "test_values": 20,
        "steps": 4,
        "models": {
            k: {"summary": {"forecast_mase_mean": {"mean": mase[k]}}}
            for k in ("RNN", "LSTM", "GRU")
        },
    }


def test_the_wilcoxon_verdict_matches_scipy_on_a_hand_example():
    rng = [0.1, 0.3, 0.2, 0.4, 0.25, 0.35, 0.15]  # LSTM below RNN on all 7 series
    reports = {}
    for i, d in enumerate(rng):
        mase = {"RNN": 1.0 + d, "LSTM": 1.0, "GRU": 1.0 + d / 2 * (-1) ** i, "persistence": 2.0}
        mase.update({"seasonal persistence": 1.5, "seasonal mean": 1.8, "drift": 2.2})
        mase["linear AR(8)"] = 0.9
        reports[f"s{i}"] = fake_report(mase)
    s = ranks.collection_summary(reports, ["RNN", "LSTM", "GRU"])
    pair = next(t for t in s["pairs"] if (t["first"], t["second"]) == ("RNN", "LSTM"))
    rnn = [1.0 + d for d in rng]
    assert pair["p_value"] == pytest.approx(stats.wilcoxon(rnn, [1.0] * 7).pvalue)
    assert pair["p_value"] == pytest.approx(2 / 2**7)  # every difference one way: the exact tail
    assert pair["second_better"] == 7 and pair["p_holm"] == pytest.approx(6 * 2 / 2**7)
    assert s["smallest_possible_p"] == pytest.approx(6 * 2 / 2**7)


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("gone,nowhere.csv,value,date,,,", "line 4 (gone): "),
        ("bad,monthly.csv,nosuch,date,,,", "line 4 (bad): "),
        ("odd,monthly.csv,value,date,twelve,,", "line 4: season 'twelve' is not a whole number"),
    ],
)
def test_a_bad_manifest_line_fails_before_any_training(tmp_path, capsys, line, message):
    path = manifest(tmp_path, ["shop,monthly.csv,value,date,,,units", line])
    with pytest.raises(SystemExit) as stop:
        compare_results.main([*FLAGS, "--manifest", str(path), "--out-dir", str(tmp_path / "o")])
    line_ = str(stop.value.code)  # a message: exit status 1
    assert line_.startswith("compare_results.py: error:") and message in line_
    assert "epoch" not in capsys.readouterr().out
    assert not (tmp_path / "o" / "shop").exists()


@pytest.mark.skipif(os.name != "posix", reason="POSIX signals")
def test_a_stopped_collection_keeps_its_finished_series_and_finishes_the_rest(tmp_path, capsys):
    # shop trains in a moment; wild, second, for longer than shop's tables take to be written
    path = manifest(
        tmp_path, ["shop,monthly.csv,value,date,,2,units", "wild,yearly.csv,count,date,,600,"]
    )
    out = tmp_path / "out"
    argv = [*FLAGS, "--manifest", str(path), "--out-dir", str(out), "--jobs", "1"]
    proc = start_script("compare_results.py", *argv, cwd=tmp_path)
    # the signal lands while shop's tables are being written: they are finished all the same
    stop_when(proc, "[3/6] shop:", signal.SIGINT, 130, timeout=300)
    first = json.loads((out / "shop" / "results.json").read_text())
    assert not (out / "results.json").exists()  # not across the series: they are not all done
    assert compare_results.main(argv) == 0  # the rerun, here: the rest only
    printed = capsys.readouterr().out
    assert "Resuming:" in printed and "] shop:" not in printed  # shop was not trained again
    again = json.loads((out / "shop" / "results.json").read_text())
    assert (
        again["models"]["RNN"]["runs"][0]["final_test_loss"]
        == first["models"]["RNN"]["runs"][0]["final_test_loss"]
    )
    assert json.loads((out / "results.json").read_text())["series"] == ["shop", "wild"]


def test_the_shipped_manifest_reads(tmp_path):
    entries = read_collection(COLLECTION)
    assert len(entries) >= 6
    assert {e["name"] for e in entries} >= {"elnino", "airpassengers", "ausbeer", "lynx", "taylor"}
    seasons = {e["name"]: e["season"] for e in entries}
    assert seasons["taylor"] == 48 and seasons["ausbeer"] == 4 and seasons["lynx"] is None
