"""What a sweep found: every trial, each model's best settings, and the tuned models against the
defaults on the test period, with the paired verdicts."""

from __future__ import annotations

import argparse

from seqpred import report, scoring, tuning
from seqpred.tuning import OUTCOME


def trial_rows(studies: dict) -> list[dict]:
    """Every trial of every study, as plain values."""
    rows = []
    for kind, study in studies.items():
        for t in study.get_trials(deepcopy=False):
            last_epoch = max(t.intermediate_values, default=None)
            rows.append(
                {
                    "model": kind,
                    "number": t.number,
                    "state": t.state.name.lower(),
                    "outcome": t.user_attrs.get(OUTCOME),
                    "validation_mse": t.value,
                    "epochs": last_epoch,
                    "params": dict(t.params),
                }
            )
    return rows


def summary(studies: dict, best: dict, runs: list[dict], data, args) -> dict:
    """The trials, the best settings, and the test-period evaluation of tuned vs default."""
    labels = [f"{k} {v}" for k in args.models for v in ("tuned", "default")]
    pairs = [(f"{k} tuned", f"{k} default") for k in args.models]
    tuned = [f"{k} tuned" for k in args.models]
    pairs += [(a, b) for i, a in enumerate(tuned) for b in tuned[i + 1 :]]
    as_compared = argparse.Namespace(**{**vars(args), "models": labels})
    result = scoring.evaluate_runs(runs, data, as_compared, pairs)
    return {
        "flags": vars(args),
        "trials": trial_rows(studies),
        "best": best,
        "test": result,
    }


def markdown(s: dict, args) -> str:
    """sweep.md: the best settings, the tuned-vs-default tables and verdicts, every trial."""
    lines = [
        f"### Best settings ({args.trials} trials per model, {args.epochs} epochs, scored on "
        f"the last {args.val_fraction:.0%} of the training period)",
        "",
        "| model | learning rate | hidden | layers | dropout | validation MSE | trials finished "
        "| distinct settings |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for kind, settings in s["best"].items():
        done = [t for t in s["trials"] if t["model"] == kind and t["validation_mse"] is not None]
        best_mse = min(t["validation_mse"] for t in done)
        tried = [t for t in s["trials"] if t["model"] == kind and t["outcome"] != "surplus"]
        lines.append(
            f"| {kind} | {settings['lr']:.2e} | {settings['hidden_size']} | "
            f"{settings['num_layers']} | {settings.get('dropout', 0):.2f} | {best_mse:.3e} | "
            f"{len(done)} | {tuning.distinct_settings(tried)} |"
        )
    lines += [
        "",
        f"Defaults: learning rate {args.lr:g}, hidden size {args.hidden_size}, "
        f"{args.num_layers} layer(s). Below, each model retrained with its best settings "
        f"(*tuned*) and with the defaults over {args.seeds} seed(s), on the same training "
        "windows, scored on the test period, which no trial saw.",
        "",
        report.results_markdown(s["test"], args),
        "### Every trial",
        "",
        "| model | trial | state | validation MSE | epochs | learning rate | hidden | layers | "
        "dropout |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for t in s["trials"]:
        p = t["params"]
        state = t["state"] + (f" ({t['outcome']})" if t["outcome"] else "")
        mse = f"{t['validation_mse']:.3e}" if t["validation_mse"] is not None else "–"
        lines.append(
            f"| {t['model']} | {t['number']} | {state} | {mse} | {t['epochs'] or '–'} | "
            f"{p.get('lr', float('nan')):.2e} | {p.get('hidden_size', '–')} | "
            f"{p.get('num_layers', '–')} | {p.get('dropout', 0):.2f} |"
        )
    return "\n".join(lines) + "\n"
