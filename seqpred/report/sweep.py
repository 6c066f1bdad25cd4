"""sweep.md: the best settings each model's trials found, the tuned and default models compared
on the test period, and every trial."""

from __future__ import annotations

from dataclasses import replace

from seqpred import tuning
from seqpred.report.comparison import results_markdown
from seqpred.report.tables import table
from seqpred.scoring.evaluation import evaluate_runs
from seqpred.settings import ScoreSettings


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
                    "outcome": t.user_attrs.get(tuning.OUTCOME),
                    "validation_mse": t.value,
                    "epochs": last_epoch,
                    "params": dict(t.params),
                }
            )
    return rows


def sweep_summary(studies, best, runs, data, score: ScoreSettings, flags: dict, sweep: dict):
    """The trials, the best settings, and the test-period evaluation of tuned vs default: each
    model's tuned against its default, and the tuned models against each other. sweep: what the
    sweep ran with (trials, epochs, val_fraction, and the defaults lr, hidden_size, num_layers,
    seeds)."""
    models = list(best)
    labels = tuple(f"{k} {v}" for k in models for v in ("tuned", "default"))
    pairs = [(f"{k} tuned", f"{k} default") for k in models]
    tuned = [f"{k} tuned" for k in models]
    pairs += [(a, b) for i, a in enumerate(tuned) for b in tuned[i + 1 :]]
    result = evaluate_runs(runs, data, replace(score, models=labels), pairs)
    return {
        "flags": flags,
        "sweep": sweep,
        "trials": trial_rows(studies),
        "best": best,
        "test": result,
    }


def sweep_markdown(s: dict) -> str:
    """sweep.md: the best settings, the tuned-vs-default tables and verdicts, every trial."""
    f = s["sweep"]
    rows = []
    for kind, settings in s["best"].items():
        done = [t for t in s["trials"] if t["model"] == kind and t["validation_mse"] is not None]
        tried = [t for t in s["trials"] if t["model"] == kind and t["outcome"] != "surplus"]
        rows.append(
            [
                kind,
                f"{settings['lr']:.2e}",
                str(settings["hidden_size"]),
                str(settings["num_layers"]),
                f"{settings.get('dropout', 0):.2f}",
                f"{min(t['validation_mse'] for t in done):.3e}",
                str(len(done)),
                str(tuning.distinct_settings(tried)),
            ]
        )
    head = ["model", "learning rate", "hidden", "layers", "dropout", "validation MSE"]
    head += ["trials finished", "distinct settings"]
    lines = [
        f"### Best settings ({f['trials']} trials per model, {f['epochs']} epochs, scored on "
        f"the last {f['val_fraction']:.0%} of the training period)",
        "",
        *table(head, rows),
        "",
        f"Defaults: learning rate {f['lr']:g}, hidden size {f['hidden_size']}, "
        f"{f['num_layers']} layer(s). Below, each model retrained with its best settings "
        f"(*tuned*) and with the defaults over {f['seeds']} seed(s), on the same training "
        "windows, scored on the test period, which no trial saw.",
        "",
        results_markdown(s["test"]),
        "### Every trial",
        "",
    ]
    trials = []
    for t in s["trials"]:
        p = t["params"]
        state = t["state"] + (f" ({t['outcome']})" if t["outcome"] else "")
        mse = f"{t['validation_mse']:.3e}" if t["validation_mse"] is not None else "–"
        trials.append(
            [
                t["model"],
                str(t["number"]),
                state,
                mse,
                str(t["epochs"] or "–"),
                f"{p.get('lr', float('nan')):.2e}",
                str(p.get("hidden_size", "–")),
                str(p.get("num_layers", "–")),
                f"{p.get('dropout', 0):.2f}",
            ]
        )
    head = ["model", "trial", "state", "validation MSE", "epochs", "learning rate", "hidden"]
    lines += table([*head, "layers", "dropout"], trials)
    return "\n".join(lines) + "\n"
