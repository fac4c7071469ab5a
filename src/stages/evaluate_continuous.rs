//! `evaluate.continuous` — a phase picker slid over whole traces, overlapping outputs merged.
//!
//! # Purpose
//! Hong et al. (2023, Fig. 8) run their pickers over day-long continuous data with windows every
//! 1, 10 or 30 s and merge the overlapping outputs by maximum, mean or median; median merging
//! keeps the true picks and drops false ones that only one window position produces. This stage
//! does that for any trained picker ([`crate::labeling::continuous`]) on the whole traces of a
//! labelled waveform set (the 60-s or 90-s labelled traces serve as pseudo-continuous data; a
//! day-long miniSEED read by `fetch.waveforms` is one long trace), and counts true and false
//! picks against the analyst picks for a range of thresholds. Each trace streams from the entry
//! through the picker and the merge into the pick detectors
//! ([`detect_stream`]), so a day-long trace costs the memory of a batch of
//! windows, not of the day.
//!
//! # Inputs
//! - `model`: a trained phase picker.
//! - `data`: a labelled waveform set at the model's rate.
//!
//! # Outputs
//! Datasets `thresholds`, `p_tp`, `p_fp`, `p_fn`, `s_tp`, `s_fp`, `s_fn` (one value per
//! threshold); `results/<pipeline>/<stage>/continuous.json` (the table) and `continuous.png`
//! (TP and FP against threshold, Fig. 8).
//!
//! # Parameters
//! `split` (which traces), `stride_s` (window step; Hong et al.: 1, 10, 30), `merge` (`max`,
//! `mean`, `median`), `threshold` (the one the metrics report, 0.3), `thresholds` (the table's),
//! `min_distance_s` (0.5) and `tolerance_s` (0.5) as in `evaluate.picks`.
//!
//! # Cache key
//! Parameters and both input keys.
//!
//! # References
//! Hong, Y., Byun, A.-H., Kim, S., & Sheen, D.-H. (2023). Customization of a deep neural network
//! using local data for seismic phase picking. Frontiers in Earth Science 11, 1306488,
//! doi:10.3389/feart.2023.1306488.

use serde_json::json;

use crate::data;
use crate::h5;
use crate::labeling::continuous::{Merge, Slide, detect_stream};
use crate::labeling::picks::{self, Tally};
use crate::models::picker::{ScoredSplit, Scoring, scoring};
use crate::params::ParamError;
use crate::plot::{self, Mark, Panel, Series};
use crate::stage::{Direction, InputSpec, MetricSpec, Outputs, RunCtx, StageInfo, StageKind};

pub struct EvaluateContinuous;

crate::stage_params! {
    /// Parameters of this stage kind (see the module docs).
    pub struct EvaluateContinuousParams {
        /// traces evaluated, by their split column: test, dev, train or all
        split: ScoredSplit = Choice(ScoredSplit::NAMES), Default("\"test\"");
        /// step between windows, s (Hong et al. 2023: 1, 10, 30)
        stride_s: f64 = Float { positive: true }, Default("1.0");
        /// how overlapping outputs are merged per sample: max, mean or median
        merge: Merge = Choice(Merge::NAMES), Default("\"median\"");
        /// the threshold the metrics report (Hong et al.: 0.3)
        threshold: f64 = Float { positive: true }, Default("0.3");
        /// thresholds of the TP/FP table and plot
        thresholds: Vec<f64> = FloatList { min_len: 1, max_len: 100, positive: true }, Default("[0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9]");
        /// minimum time between two picks of one phase, s
        min_distance_s: f64 = Float { positive: true }, Default("0.5");
        /// a pick closer than this to the analyst pick is a true positive, s
        tolerance_s: f64 = Float { positive: true }, Default("0.5");
    }
}

static METRICS: &[MetricSpec] = &[
    MetricSpec {
        name: "p_tp",
        direction: Direction::Higher,
        doc: "true P picks at `threshold`",
    },
    MetricSpec {
        name: "p_fp",
        direction: Direction::Lower,
        doc: "false P picks at `threshold`",
    },
    MetricSpec {
        name: "s_tp",
        direction: Direction::Higher,
        doc: "true S picks at `threshold`",
    },
    MetricSpec {
        name: "s_fp",
        direction: Direction::Lower,
        doc: "false S picks at `threshold`",
    },
    MetricSpec {
        name: "p_f1",
        direction: Direction::Higher,
        doc: "P F1 at `threshold`",
    },
    MetricSpec {
        name: "s_f1",
        direction: Direction::Higher,
        doc: "S F1 at `threshold`",
    },
];

impl StageKind for EvaluateContinuous {
    type Params = EvaluateContinuousParams;
    const INFO: StageInfo = StageInfo {
        kind: "evaluate.continuous",
        version: 1,
        changelog: &["first version"],
        summary: "slide a phase picker over whole traces (stride, max/mean/median merging) and count true and false picks per threshold (Hong et al. 2023 Fig. 8)",
        inputs: &[
            InputSpec {
                name: "model",
                doc: "a trained phase picker",
                accepts: &[data::TRAINED_MODEL],
                optional: false,
            },
            InputSpec {
                name: "data",
                doc: "a labelled waveform set at the model's rate; each trace is annotated whole",
                accepts: &[data::WAVEFORM_SET],
                optional: false,
            },
        ],
        outputs: Outputs::Root(data::PICK_EVALUATION),
        metrics: METRICS,
        stochastic: false,
    };

    fn check(&self, p: &EvaluateContinuousParams) -> Result<(), ParamError> {
        for (name, v) in std::iter::once(("threshold", p.threshold))
            .chain(p.thresholds.iter().map(|t| ("thresholds", *t)))
        {
            if v >= 1.0 {
                return Err(ParamError::new(
                    name,
                    format!("a probability below 1, got {v}"),
                ));
            }
        }
        Ok(())
    }

    fn device_class(&self) -> Option<&'static str> {
        crate::device::key_class()
    }
    fn run(&self, ctx: &mut RunCtx<'_>, p: EvaluateContinuousParams) -> anyhow::Result<()> {
        let Scoring {
            model,
            picker,
            contract: c,
            set,
            chosen,
        } = scoring(ctx, p.split)?;
        let rate = set.sampling_rate_hz();
        let stride = (p.stride_s * rate).round().max(1.0) as usize;
        let min_distance = (p.min_distance_s * rate).round().max(1.0) as usize;
        let tolerance = p.tolerance_s * rate;
        let mut thresholds = p.thresholds.clone();
        if !thresholds.iter().any(|t| (t - p.threshold).abs() < 1e-12) {
            thresholds.push(p.threshold);
        }
        thresholds.sort_by(f64::total_cmp);
        let mut tallies = vec![[Tally::default(), Tally::default()]; thresholds.len()];
        ctx.progress.set_length(chosen.len() as u64);
        let n = set.samples();
        let levels: Vec<f32> = thresholds.iter().map(|t| *t as f32).collect();
        let slide = Slide {
            window: c.window,
            stride,
            merge: p.merge,
            batch: 32,
        };
        for (done, &i) in chosen.iter().enumerate() {
            let t = set.meta(i);
            // The trace is read a batch of windows at a time, and the merged curves go straight
            // into the pick detectors: neither is held whole.
            let [p_found, s_found] = detect_stream(
                n,
                &slide,
                &mut |a, b| set.span(i, a, b),
                &mut |x| Ok(picker(x, c.window)),
                &levels,
                min_distance,
            )
            .map_err(|e| anyhow::anyhow!("trace `{}`: {e}", t.name))?;
            for (phase, (found, truth)) in [(p_found, t.p_sample), (s_found, t.s_sample)]
                .into_iter()
                .enumerate()
            {
                for (k, found) in found.iter().enumerate() {
                    let o = picks::score(found, truth, tolerance);
                    tallies[k][phase].add(&o, found.len(), 1.0 / rate);
                }
            }
            ctx.progress.set_position(done as u64 + 1);
        }
        let out = ctx.output;
        let m = thresholds.len();
        h5::write_array(out, "thresholds", &[m], &thresholds)?;
        for (phase, name) in [(0, "p"), (1, "s")] {
            let col = |f: &dyn Fn(&Tally) -> usize| -> Vec<u64> {
                tallies.iter().map(|t| f(&t[phase]) as u64).collect()
            };
            h5::write_array(
                out,
                &format!("{name}_tp"),
                &[m],
                &col(&|t| t.true_positives),
            )?;
            h5::write_array(
                out,
                &format!("{name}_fp"),
                &[m],
                &col(&|t| t.false_positives),
            )?;
            h5::write_array(
                out,
                &format!("{name}_fn"),
                &[m],
                &col(&|t| t.false_negatives),
            )?;
        }
        let at = thresholds
            .iter()
            .position(|t| (t - p.threshold).abs() < 1e-12)
            .expect("threshold added above");
        for (phase, name) in [(0, "p"), (1, "s")] {
            let t = &tallies[at][phase];
            ctx.metric(&format!("{name}_tp"), t.true_positives as f64);
            ctx.metric(&format!("{name}_fp"), t.false_positives as f64);
            ctx.metric(&format!("{name}_f1"), t.f1());
        }
        let rows: Vec<_> = thresholds
            .iter()
            .zip(&tallies)
            .map(|(th, t)| {
                json!({
                    "threshold": th,
                    "p_tp": t[0].true_positives, "p_fp": t[0].false_positives, "p_fn": t[0].false_negatives,
                    "s_tp": t[1].true_positives, "s_fp": t[1].false_positives, "s_fn": t[1].false_negatives,
                })
            })
            .collect();
        let report = json!({
            "model": model.name, "split": p.split.name(), "traces": chosen.len(),
            "stride_s": p.stride_s, "merge": p.merge.name(), "window": c.window, "table": rows,
        });
        ctx.write_result(
            "continuous.json",
            serde_json::to_string_pretty(&report)?.as_bytes(),
        )?;
        let line = |label: &str, phase: usize, tp: bool, mark| Series {
            label: label.into(),
            points: thresholds
                .iter()
                .zip(&tallies)
                .map(|(th, t)| {
                    let t = &t[phase];
                    (
                        *th,
                        if tp {
                            t.true_positives
                        } else {
                            t.false_positives
                        } as f64,
                    )
                })
                .collect(),
            mark,
        };
        let panel = Panel {
            title: format!("stride {} s, {} merging", p.stride_s, p.merge.name()),
            x_label: "threshold".into(),
            y_label: "picks".into(),
            series: vec![
                line("P TP", 0, true, Mark::LinePoints),
                line("P FP", 0, false, Mark::Dashed),
                line("S TP", 1, true, Mark::LinePoints),
                line("S FP", 1, false, Mark::Dashed),
            ],
            log_x: false,
            x_categories: Vec::new(),
        };
        ctx.write_result("continuous.png", &plot::png(&[panel])?)?;
        Ok(())
    }
}
