//! `evaluate.picks` — how well a trained phase picker picks P and S on labelled traces.
//!
//! # Purpose
//! Hong et al. (2023) compare PhaseNet, their base model and the fine-tuned KFpicker by precision
//! and recall of P and S picks (threshold 0.3; a pick within 0.5 s of the analyst's is a true
//! positive), the distribution of arrival-time residuals (their Fig. 4), the FPs and FNs by SNR and
//! epicentral distance (Fig. 5), and how the P position inside the 30-s window changes the result
//! (Fig. 7). This stage computes all of them for any trained picker of the registry
//! (`phasenet`, `r2unet`, trained or imported) on a labelled waveform set.
//!
//! # Inputs
//! - `model`: a trained picker (`train` with a picker model, or `import.weights`).
//! - `data`: a labelled waveform set at the model's sampling rate, band-passed as the model's
//!   training data were (Hong et al.: 1–45 Hz).
//!
//! # Outputs
//! - One window of the model's length per evaluated trace, placed as `train` places them (a start
//!   drawn with the seed among those whose window contains the trace's P or S; no augmentation),
//!   demeaned and divided by its standard deviation per component. Predicted picks (peaks of each
//!   probability curve at or above `threshold`, at least `min_distance_s` apart, as
//!   `scipy.signal.find_peaks`), matched with the analyst picks ([`crate::labeling::picks`]).
//! - Datasets `window_start` `[windows]`, `trace_index`, picks `pick_window`, `pick_phase` (1 P,
//!   2 S), `pick_sample`, `pick_probability`, residuals `residuals_p_s`, `residuals_s_s`; with
//!   `position_sweep`, `positions_s` and `position_f1_p`, `position_f1_s`.
//! - `results/<pipeline>/<stage>/evaluation.json` (everything below), `residuals.png` (Fig. 4),
//!   `positions.png` (Fig. 7) with the sweep.
//! - FP and FN counts split by SNR (RMS of the three components in the 0.5 s after the true S over
//!   the 0.5 s before it, in dB, split at `snr_split_db`; traces without S are "unknown") and by
//!   epicentral distance (split at `distance_split_km`; "unknown" where the set has none).
//!
//! # Parameters
//! `split` (which traces: `test`, `dev`, `train` or `all`), `threshold` (0.3), `min_distance_s`
//! (0.5), `tolerance_s` (0.5), `snr_split_db` (5), `distance_split_km` (70), `position_sweep`
//! (P placed at 1, 2, … s up to the window length minus 1 s, every trace whose P allows it).
//!
//! # Cache key
//! Parameters, the seed (window placement) and both input keys.
//!
//! # References
//! Hong, Y., Byun, A.-H., Kim, S., & Sheen, D.-H. (2023). Customization of a deep neural network
//! using local data for seismic phase picking. Frontiers in Earth Science 11, 1306488,
//! doi:10.3389/feart.2023.1306488. Mousavi, S. M. et al. (2020). Earthquake transformer. Nature
//! Communications 11, 3952, doi:10.1038/s41467-020-17591-w (the 0.5-s TP rule).

use serde_json::{Value, json};

use crate::data;
use crate::h5;
use crate::labeling::phase_windows::{self, WindowConfig};
use crate::labeling::pick_evaluation::{
    self, BLOCK_WINDOWS, MatchRule, SweepPoint, WindowScores, histogram, s_snr_db,
};
use crate::labeling::picks::Tally;
use crate::models::picker::{ScoredSplit, Scoring, scoring};
use crate::params::ParamError;
use crate::plot::{self, Mark, Panel, Series};
use crate::stage::{Direction, InputSpec, MetricSpec, Outputs, RunCtx, StageInfo, StageKind};

pub struct EvaluatePicks;

crate::stage_params! {
    /// Parameters of this stage kind (see the module docs).
    pub struct EvaluatePicksParams {
        /// traces evaluated, by their split column: test, dev, train or all
        split: ScoredSplit = Choice(ScoredSplit::NAMES), Default("\"test\"");
        /// a peak of a probability curve at or above this is a pick (Hong et al. 2023: 0.3)
        threshold: f64 = Float { positive: true }, Default("0.3");
        /// minimum time between two picks of one phase, s
        min_distance_s: f64 = Float { positive: true }, Default("0.5");
        /// a pick closer than this to the analyst pick is a true positive, s (Hong et al.: 0.5)
        tolerance_s: f64 = Float { positive: true }, Default("0.5");
        /// FP/FN split by S signal-to-noise ratio at this value, dB (Hong et al.: 5)
        snr_split_db: f64 = Float { positive: false }, Default("5.0");
        /// FP/FN split by epicentral distance at this value, km (Hong et al.: 70)
        distance_split_km: f64 = Float { positive: true }, Default("70.0");
        /// also place P at 1, 2, ... s in the window and report F1 per position (Hong et al. Fig. 7)
        position_sweep: bool = Bool, Default("false");
    }
}

static METRICS: &[MetricSpec] = &[
    MetricSpec {
        name: "p_precision",
        direction: Direction::Higher,
        doc: "P picks: TP / (TP + FP)",
    },
    MetricSpec {
        name: "p_recall",
        direction: Direction::Higher,
        doc: "P picks: TP / (TP + FN)",
    },
    MetricSpec {
        name: "p_f1",
        direction: Direction::Higher,
        doc: "P picks: harmonic mean of precision and recall",
    },
    MetricSpec {
        name: "s_precision",
        direction: Direction::Higher,
        doc: "S picks: TP / (TP + FP)",
    },
    MetricSpec {
        name: "s_recall",
        direction: Direction::Higher,
        doc: "S picks: TP / (TP + FN)",
    },
    MetricSpec {
        name: "s_f1",
        direction: Direction::Higher,
        doc: "S picks: harmonic mean of precision and recall",
    },
    MetricSpec {
        name: "p_residual_mean_s",
        direction: Direction::Neither,
        doc: "mean P residual (predicted - analyst) of the true positives, s",
    },
    MetricSpec {
        name: "p_residual_std_s",
        direction: Direction::Lower,
        doc: "standard deviation of the P residuals, s",
    },
    MetricSpec {
        name: "p_mae_s",
        direction: Direction::Lower,
        doc: "mean absolute P residual, s",
    },
    MetricSpec {
        name: "s_residual_mean_s",
        direction: Direction::Neither,
        doc: "mean S residual (predicted - analyst) of the true positives, s",
    },
    MetricSpec {
        name: "s_residual_std_s",
        direction: Direction::Lower,
        doc: "standard deviation of the S residuals, s",
    },
    MetricSpec {
        name: "s_mae_s",
        direction: Direction::Lower,
        doc: "mean absolute S residual, s",
    },
    MetricSpec {
        name: "p_f1_position_spread",
        direction: Direction::Lower,
        doc: "max - min of P F1 over the P positions of the sweep (Hong et al. Fig. 7); null without it",
    },
    MetricSpec {
        name: "s_f1_position_spread",
        direction: Direction::Lower,
        doc: "max - min of S F1 over the P positions of the sweep; null without it",
    },
];

/// One point of the P-position sweep: P position (s), windows, P F1, S F1.
fn tally_json(t: &Tally) -> Value {
    let [mean, std, mae] = t.residual_stats();
    let f = |v: f64| if v.is_finite() { json!(v) } else { Value::Null };
    json!({
        "true_positives": t.true_positives, "false_positives": t.false_positives,
        "false_negatives": t.false_negatives, "precision": f(t.precision()), "recall": f(t.recall()),
        "f1": f(t.f1()), "residual_mean_s": f(mean), "residual_std_s": f(std), "mae_s": f(mae),
        "windows_with_several_picks": t.multiple,
    })
}

impl StageKind for EvaluatePicks {
    type Params = EvaluatePicksParams;
    const INFO: StageInfo = StageInfo {
        kind: "evaluate.picks",
        version: 2,
        changelog: &[
            "first version",
            "windows evaluated a block of 512 at a time and the P-position sweep a block of traces at a time, in memory that does not grow with the set (the picker's batches change at block edges)",
        ],
        summary: "score a phase picker on labelled traces: P/S precision, recall, F1, residuals, FP/FN by SNR and distance, P-position sweep (Hong et al. 2023)",
        inputs: &[
            InputSpec {
                name: "model",
                doc: "a trained phase picker (train with phasenet/r2unet, or import.weights)",
                accepts: &[data::TRAINED_MODEL],
                optional: false,
            },
            InputSpec {
                name: "data",
                doc: "a labelled waveform set at the model's rate (its split column chooses the traces)",
                accepts: &[data::WAVEFORM_SET],
                optional: false,
            },
        ],
        outputs: Outputs::Root(data::PICK_EVALUATION),
        metrics: METRICS,
        stochastic: true,
    };

    fn check(&self, p: &EvaluatePicksParams) -> Result<(), ParamError> {
        if p.threshold >= 1.0 {
            return Err(ParamError::new(
                "threshold",
                format!("a probability below 1, got {}", p.threshold),
            ));
        }
        Ok(())
    }

    fn device_class(&self) -> Option<&'static str> {
        crate::device::key_class()
    }
    fn run(&self, ctx: &mut RunCtx<'_>, p: EvaluatePicksParams) -> anyhow::Result<()> {
        let Scoring {
            model,
            picker,
            contract: c,
            set,
            chosen,
        } = scoring(ctx, p.split)?;
        let rate = set.sampling_rate_hz();
        let n = c.window;
        let dt = 1.0 / rate;
        let min_distance = (p.min_distance_s * rate).round().max(1.0) as usize;
        let tolerance = p.tolerance_s * rate;
        let threshold = p.threshold as f32;
        let wcfg = WindowConfig {
            samples: n,
            noise_probability: 0.0,
            drop_probability: 0.0,
            ..WindowConfig::default()
        };
        let rule = MatchRule {
            threshold,
            min_distance,
            tolerance,
            dt,
        };
        // A block of windows at a time: a STEAD-size test split needs the memory of one block.
        let mut scored = WindowScores::default();
        let mut starts = Vec::with_capacity(chosen.len());
        ctx.progress.set_length(chosen.len() as u64);
        for block in chosen.chunks(BLOCK_WINDOWS) {
            let mut x = Vec::with_capacity(block.len() * 3 * n);
            let mut truth = Vec::with_capacity(block.len());
            for &i in block {
                let e = phase_windows::example(set.as_ref(), i, &wcfg, ctx.seed, u64::MAX)
                    .map_err(|e| anyhow::anyhow!("input `data` of `{}`: {e}", ctx.stage_id))?;
                x.extend(e.x);
                truth.push([e.p, e.s]);
                starts.push(e.start as u64);
            }
            scored.add(&picker(&x, n), &truth, n, &rule);
            ctx.progress.inc(block.len() as u64);
        }

        // FP/FN by S SNR and by distance.
        let half = (0.5 * rate).round() as usize;
        let (by_snr, by_distance) = pick_evaluation::errors_by(
            set.as_ref(),
            &chosen,
            &scored,
            |i| s_snr_db(set.as_ref(), i, half),
            p.snr_split_db,
            p.distance_split_km,
        )?;
        let split_json = |rows: &[[usize; 4]; 3], names: [&str; 3]| -> Value {
            let mut m = serde_json::Map::new();
            for (r, name) in rows.iter().zip(names) {
                m.insert(
                    name.to_string(),
                    json!({"p_false_positives": r[0], "p_false_negatives": r[1], "s_false_positives": r[2], "s_false_negatives": r[3]}),
                );
            }
            Value::Object(m)
        };
        let snr_names = [
            &*format!("below {} dB", p.snr_split_db),
            &*format!("at least {} dB", p.snr_split_db),
            "unknown",
        ];
        let dist_names = [
            &*format!("below {} km", p.distance_split_km),
            &*format!("at least {} km", p.distance_split_km),
            "unknown",
        ];

        // The P-position sweep: each block of traces read once, windowed at every position.
        let sweep = if p.position_sweep {
            pick_evaluation::position_sweep(set.as_ref(), &chosen, &*picker, n, &rule)?
        } else {
            Vec::new()
        };

        // Outputs.
        let out = ctx.output;
        h5::write_array(out, "window_start", &[starts.len()], &starts)?;
        let ti: Vec<u64> = chosen.iter().map(|&i| i as u64).collect();
        h5::write_array(out, "trace_index", &[ti.len()], &ti)?;
        let k = scored.picks.len();
        h5::write_array(
            out,
            "pick_window",
            &[k],
            &scored.picks.iter().map(|p| p.0 as u64).collect::<Vec<_>>(),
        )?;
        h5::write_array(
            out,
            "pick_phase",
            &[k],
            &scored.picks.iter().map(|p| p.1).collect::<Vec<_>>(),
        )?;
        h5::write_array(
            out,
            "pick_sample",
            &[k],
            &scored.picks.iter().map(|p| p.2 as u64).collect::<Vec<_>>(),
        )?;
        h5::write_array(
            out,
            "pick_probability",
            &[k],
            &scored.picks.iter().map(|p| p.3).collect::<Vec<_>>(),
        )?;
        h5::write_array(
            out,
            "residuals_p_s",
            &[scored.p.residuals_s.len()],
            &scored.p.residuals_s,
        )?;
        h5::write_array(
            out,
            "residuals_s_s",
            &[scored.s.residuals_s.len()],
            &scored.s.residuals_s,
        )?;
        let root: &hdf5::Location = out;
        h5::write_str_attr(root, "model", model.name)?;
        h5::write_attr(root, "windows", chosen.len() as u64)?;
        let spread = |f: &dyn Fn(&SweepPoint) -> f64| -> f64 {
            let v: Vec<f64> = sweep.iter().map(f).filter(|v| v.is_finite()).collect();
            if v.is_empty() {
                return f64::NAN;
            }
            v.iter().copied().fold(f64::MIN, f64::max) - v.iter().copied().fold(f64::MAX, f64::min)
        };
        if !sweep.is_empty() {
            let m = sweep.len();
            h5::write_array(
                out,
                "positions_s",
                &[m],
                &sweep.iter().map(|s| s.0).collect::<Vec<_>>(),
            )?;
            h5::write_array(
                out,
                "position_f1_p",
                &[m],
                &sweep.iter().map(|s| s.2).collect::<Vec<_>>(),
            )?;
            h5::write_array(
                out,
                "position_f1_s",
                &[m],
                &sweep.iter().map(|s| s.3).collect::<Vec<_>>(),
            )?;
        }
        for (name, t) in [("p", &scored.p), ("s", &scored.s)] {
            let [mean, std, mae] = t.residual_stats();
            ctx.metric(&format!("{name}_precision"), t.precision());
            ctx.metric(&format!("{name}_recall"), t.recall());
            ctx.metric(&format!("{name}_f1"), t.f1());
            ctx.metric(&format!("{name}_residual_mean_s"), mean);
            ctx.metric(&format!("{name}_residual_std_s"), std);
            ctx.metric(&format!("{name}_mae_s"), mae);
        }
        ctx.metric("p_f1_position_spread", spread(&|s| s.2));
        ctx.metric("s_f1_position_spread", spread(&|s| s.3));
        let fin = |v: f64| if v.is_finite() { json!(v) } else { Value::Null };
        let report = json!({
            "model": model.name,
            "split": p.split.name(),
            "windows": chosen.len(),
            "threshold": p.threshold,
            "min_distance_s": p.min_distance_s,
            "tolerance_s": p.tolerance_s,
            "P": tally_json(&scored.p),
            "S": tally_json(&scored.s),
            "errors_by_s_snr": split_json(&by_snr, snr_names),
            "errors_by_distance": split_json(&by_distance, dist_names),
            "position_sweep": sweep.iter().map(|s| json!({
                "p_at_s": s.0, "windows": s.1, "p_f1": fin(s.2), "s_f1": fin(s.3),
            })).collect::<Vec<_>>(),
        });
        ctx.write_result(
            "evaluation.json",
            serde_json::to_string_pretty(&report)?.as_bytes(),
        )?;
        let hist = |label: &str, r: &[f64]| Series {
            label: format!("{label} ({} TP)", r.len()),
            points: histogram(r, 0.02, 0.5),
            mark: Mark::Bars,
        };
        let residual_panel = Panel {
            title: format!("{} residuals (predicted - analyst)", model.name),
            x_label: "residual (s)".into(),
            y_label: "picks".into(),
            series: vec![
                hist("P", &scored.p.residuals_s),
                hist("S", &scored.s.residuals_s),
            ],
            log_x: false,
            x_categories: Vec::new(),
        };
        ctx.write_result("residuals.png", &plot::png(&[residual_panel])?)?;
        if !sweep.is_empty() {
            let curve = |label: &str, f: &dyn Fn(&SweepPoint) -> f64| Series {
                label: label.into(),
                points: sweep
                    .iter()
                    .map(|s| (s.0, f(s)))
                    .filter(|(_, v)| v.is_finite())
                    .collect(),
                mark: Mark::LinePoints,
            };
            let panel = Panel {
                title: "F1 by P position in the window".into(),
                x_label: "P position (s)".into(),
                y_label: "F1".into(),
                series: vec![curve("P", &|s| s.2), curve("S", &|s| s.3)],
                log_x: false,
                x_categories: Vec::new(),
            };
            ctx.write_result("positions.png", &plot::png(&[panel])?)?;
        }
        ctx.progress.set_position(chosen.len() as u64);
        Ok(())
    }
}
