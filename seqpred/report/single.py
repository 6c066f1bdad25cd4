"""main.py's report of one trained model: its losses, its errors in the series' units beside the
strongest baseline, its intervals, and what they show in plain words."""

from __future__ import annotations

from seqpred.report.verdicts import over, span, verdicts
from seqpred.scoring import metrics


def loss_line(result, data) -> str:
    h = result.history
    scaled = " (standardized units)" if data.std != 1.0 or data.mean != 0.0 else ""
    return (
        f"{result.model_type}: {result.n_params} parameters, final train MSE "
        f"{h.train_losses[-1]:.3e}, test MSE {h.test_losses[-1]:.3e}{scaled}, {h.seconds:.1f} s "
        f"({h.seconds / len(h.train_losses) * 1000:.1f} ms/epoch)"
    )


def sequence_lines(result, data, one_step) -> list[str]:
    """main.py's report on independent sequences (the adding problem)."""
    pred, truth = data.unscale(one_step).cpu().numpy(), data.unscale(data.test_y[:, 0]).numpy()
    mse = metrics.mse(pred, truth)
    return [
        loss_line(result, data),
        f"  test MSE {mse:.4g} = {mse / truth.var():.3f} of the targets' variance "
        "(predicting their mean scores 1)",
    ]


def run_lines(result, summary: dict, data) -> list[str]:
    """What main.py prints after training: the losses, the errors in the series' units beside
    the strongest baseline, the intervals, and what they show in plain words."""
    s = summary["models"][result.model_type]["runs"][0]
    unit = f" {data.units}" if data.units else ""
    steps, best = summary["steps"], summary["best_baseline"]
    b1 = summary["baselines"][best["one_step"]]
    bh = summary["baselines"][best["forecast"]]
    lines = [
        loss_line(result, data),
        f"  one step ahead (true inputs), {summary['test_values']} test values: MAE "
        f"{s['one_step_mae']:.4g}{unit}, RMSE {s['one_step_rmse']:.4g}{unit}, MAPE "
        f"{s['one_step_mape']:.2f} %, MASE {s['one_step_mase']:.3g}; strongest baseline "
        f"{best['one_step']} MASE {b1['one_step_mase']:.3g}",
        f"  {steps}-step {summary['strategy']} forecasts from all {summary['origins']} test "
        f"origins: RMSE {s['forecast_rmse_h1']:.4g} (h=1), {s['forecast_rmse_hH']:.4g} "
        f"(h={steps}), {s['forecast_rmse_mean']:.4g} (mean){unit}; MASE "
        f"{s['forecast_mase_mean']:.3g}; strongest baseline {best['forecast']} MASE "
        f"{bh['forecast_mase_mean']:.3g}",
    ]
    iv = s.get("interval")
    if iv is not None:
        lines += interval_lines(iv, steps, unit)
    return lines + [f"  {v}" for v in verdicts(summary)]


def interval_lines(iv: dict, steps: int, unit: str) -> list[str]:
    """The intervals' coverage, over the horizons that have one, named where not all do."""
    counts, level, aci = iv["calibration_origins"], iv["level"], iv["adaptive"]
    if iv["coverage"] is None:
        return [
            f"  {level:.0%} prediction intervals: none; {level:.0%} needs ≥ "
            f"{iv['needed_origins']} calibration origins, {max(counts)} here"
        ]
    capped = (
        f", {100 * aci['capped_share']:.0f} % of them capped at the largest known error "
        f"(the others cover {100 * aci['uncapped_coverage']:.1f} %)"
        if aci["capped_share"] and aci["uncapped_coverage"] is not None
        else ""
    )
    lines = [
        f"  {level:.0%} prediction intervals, calibrated on {min(counts)}–{max(counts)} "
        f"held-out origins{over(iv, steps)}: split coverage {100 * iv['coverage']:.1f} % "
        f"(worst horizon {100 * min(v for v in iv['coverage_per_h'] if v is not None):.1f} %), "
        f"adaptive {100 * aci['coverage']:.1f} %{capped}; mean width {iv['mean_width']:.4g}{unit}"
    ]
    short = [j + 1 for j, n in enumerate(counts) if n < iv["needed_origins"]]
    if short:
        lines.append(
            f"  no interval at h = {span(short)}: {level:.0%} needs ≥ {iv['needed_origins']} "
            f"calibration origins, {min(counts)} at h = {steps}"
        )
    return lines
