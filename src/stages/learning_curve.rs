//! `learning-curve` — retrains a model on growing random subsets and fits the inverse power law.
//!
//! # Purpose
//! Petrescu & Moldovan (2022) §4.3, Fig. 8: "we randomly removed portions of data and restarted
//! training the CNN using each data subset to construct learning curves", then fit
//! `err(n) = a·n^(−b) + c` (Figueroa et al. 2012) to extrapolate the number of labelled windows a
//! target accuracy needs — or find, as they did, that the points do not constrain the law.
//!
//! # Inputs
//! `model`: a `train` entry — its optimizer, learning rate, batch size, epochs and split are reused,
//! so the curve describes exactly that configuration; `data`: the labelled windows it was trained on.
//!
//! # Method
//! The training part is shuffled once (seeded) and each fraction takes a prefix of it, so the
//! subsets are nested. Each subset trains a fresh network from the same initial weights; after the
//! last epoch it is scored on its own windows and on the whole validation part. The law is fitted
//! to validation error = 1 − validation accuracy against subset size ([`crate::nn::power_law`]).
//!
//! # Outputs
//! `sizes` int64, `train_loss`, `train_accuracy`, `validation_loss`, `validation_accuracy` float64
//! `[fractions]`; attribute `fit` (JSON: a, b, c, standard errors, projection);
//! `results/<pipeline>/<stage>/learning_curve.{json,png}`.
//!
//! # Parameters
//! Declared with their types, ranges and defaults below (`quakeline stages` lists them):
//! `fractions` of the training part to retrain on, and the `target_accuracy` the projection
//! asks the fitted law for.
//!
//! # Cache key
//! Parameters, input keys and the seed (subset draws and initial weights).
//!
//! # References
//! Petrescu, L. & Moldovan, I.-A. (2022). Prospective Neural Network Model for Seismic
//! Precursory Signal Detection in Geomagnetic Field Records. Machine Learning and Knowledge
//! Extraction 4(4), 912-923. doi:10.3390/make4040046
//!
//! Figueroa, R. L., Zeng-Treitler, Q., Kandula, S. & Ngo, L. H. (2012). Predicting sample size
//! required for classification performance. BMC Medical Informatics and Decision Making 12, 8.
//! doi:10.1186/1472-6947-12-8

use serde_json::json;

use crate::data;
use crate::data::trained::indices;
use crate::h5;
use crate::models::pm_cnn::open_trained;
use crate::nn::power_law::{self, Projection};
use crate::nn::train::{self as nt, Part};
use crate::nn::{self};
use crate::params::ParamError;
use crate::plot::{self, Mark, Panel, Series};
use crate::rng::Rng;
use crate::stage::{Direction, InputSpec, MetricSpec, Outputs, RunCtx, StageInfo, StageKind};

pub struct LearningCurve;

static METRICS: &[MetricSpec] = &[
    MetricSpec {
        name: "validation_accuracy",
        direction: Direction::Higher,
        doc: "validation accuracy of the largest subset",
    },
    MetricSpec {
        name: "windows_for_target",
        direction: Direction::Lower,
        doc: "training windows the fitted law needs for target_accuracy (null unless it projects a reachable size)",
    },
    MetricSpec {
        name: "asymptotic_error",
        direction: Direction::Lower,
        doc: "fitted c: the validation error more data converges to (null without a fit)",
    },
    MetricSpec {
        name: "exponent",
        direction: Direction::Neither,
        doc: "fitted b of err(n) = a n^-b + c (null without a fit)",
    },
];

crate::stage_params! {
    /// Parameters of this stage kind (see the module docs).
    pub struct LearningCurveParams {
        /// fractions of the training part to train on, each in (0, 1]
        fractions: Vec<f64> = FloatList { min_len: 1, max_len: 100, positive: true }, Default("[0.1, 0.2, 0.3, 0.5, 0.7, 1.0]");
        /// report the training-set size the fitted law needs for this validation accuracy
        target_accuracy: f64 = Float { positive: true }, Default("0.95");
    }
}

impl StageKind for LearningCurve {
    type Params = LearningCurveParams;
    const INFO: StageInfo = StageInfo {
        kind: "learning-curve",
        version: 2,
        changelog: &["first version", "typed metrics"],
        summary: "retrain on growing subsets, fit err(n) = a n^-b + c, project the size for a target accuracy (P&M Fig. 8)",
        inputs: &[
            InputSpec {
                name: "model",
                doc: "a train stage (its configuration and split are reused)",
                accepts: &[data::TRAINED_MODEL],
                optional: false,
            },
            InputSpec {
                name: "data",
                doc: "the labelled windows that model was trained on",
                accepts: &[data::LABELLED_WINDOWS],
                optional: false,
            },
        ],
        outputs: Outputs::Root(data::LEARNING_CURVE),
        metrics: METRICS,
        stochastic: true,
    };

    fn check(&self, p: &LearningCurveParams) -> Result<(), ParamError> {
        let f = &p.fractions;
        if let Some(bad) = f.iter().find(|&&x| x > 1.0) {
            return Err(ParamError::new("fractions", format!("{bad} is above 1")));
        }
        if f.windows(2).any(|w| w[1] <= w[0]) {
            return Err(ParamError::new("fractions", "fractions must increase"));
        }
        if p.target_accuracy >= 1.0 {
            return Err(ParamError::new("target_accuracy", "must be below 1"));
        }
        Ok(())
    }

    fn device_class(&self) -> Option<&'static str> {
        crate::device::key_class()
    }
    fn run(&self, ctx: &mut RunCtx<'_>, p: LearningCurveParams) -> anyhow::Result<()> {
        let (trained, data) = open_trained(ctx, "model", "data")?;
        let cfg = trained.config(ctx.seed);
        let mut train = indices(&trained.parts, Part::Train);
        let validation = indices(&trained.parts, Part::Validation);
        anyhow::ensure!(
            !validation.is_empty(),
            "the model was trained without validation windows; a learning curve scores on them (set the train stage's validation_fraction above 0)"
        );
        Rng::new(ctx.seed, "learning-curve/subsets").shuffle(&mut train);
        let fractions = p.fractions.clone();
        let sizes: Vec<usize> = fractions
            .iter()
            .map(|f| ((f * train.len() as f64).round() as usize).max(1))
            .collect();
        let bar = ctx.progress;
        bar.set_length(sizes.iter().map(|&n| cfg.steps(n)).sum::<usize>() as u64);
        let device = nn::device();
        let mut rows = Vec::new();
        let mut done = 0;
        for (k, &n) in sizes.iter().enumerate() {
            let mut subset = train[..n].to_vec();
            subset.sort_unstable();
            let (model, history) = nt::fit(&cfg, &data, &subset, &validation, &device, &mut |t| {
                bar.set_position((done + t.steps()) as u64);
                bar.set_message(format!(
                    "subset {}/{} ({n} windows) epoch {}/{} loss {:.4}",
                    k + 1,
                    sizes.len(),
                    t.epoch,
                    t.epochs,
                    t.loss
                ));
            })?;
            done += cfg.steps(n);
            let own = nt::score(&model, &data, &subset, cfg.batch.max(64), &device);
            let last = history.last().expect("at least one epoch");
            rows.push((n, own, last.validation));
        }

        let n: Vec<f64> = rows.iter().map(|r| r.0 as f64).collect();
        let err: Vec<f64> = rows.iter().map(|r| 1.0 - r.2.accuracy).collect();
        let target = p.target_accuracy;
        let largest = *n.last().expect("fractions is non-empty");
        let (fit, projection) = match power_law::fit(&n, &err) {
            Ok(f) => {
                let pr = power_law::project(&f, target, largest);
                (Some(f), pr)
            }
            Err(reason) => (None, Projection::NotConstrained { reason }),
        };
        let report = json!({
            "points": rows.iter().map(|(n, own, val)| json!({
                "windows": n,
                "train_loss": own.loss, "train_accuracy": own.accuracy,
                "validation_loss": val.loss, "validation_accuracy": val.accuracy,
            })).collect::<Vec<_>>(),
            "law": "validation error = a * n^(-b) + c",
            "fit": fit.as_ref().map(|f| json!({
                "a": f.a, "b": f.b, "c": f.c,
                "std": f.std.map(|s| json!({"a": s[0], "b": s[1], "c": s[2]})),
                "ssr": f.ssr,
            })),
            "target_accuracy": target,
            "projection": projection,
        });
        let text = serde_json::to_string_pretty(&report)?;
        ctx.metric(
            "validation_accuracy",
            rows.last().map_or(f64::NAN, |r| r.2.accuracy),
        );
        ctx.metric(
            "windows_for_target",
            match &projection {
                Projection::Reached { samples, .. } | Projection::AlreadyReached { samples } => {
                    *samples
                }
                _ => f64::NAN,
            },
        );
        ctx.metric("asymptotic_error", fit.as_ref().map_or(f64::NAN, |f| f.c));
        ctx.metric("exponent", fit.as_ref().map_or(f64::NAN, |f| f.b));

        let out = ctx.output;
        let col = |f: &dyn Fn(&(usize, nt::Score, nt::Score)) -> f64| -> Vec<f64> {
            rows.iter().map(f).collect()
        };
        h5::write_array(
            out,
            "sizes",
            &[rows.len()],
            &rows.iter().map(|r| r.0 as i64).collect::<Vec<_>>(),
        )?;
        h5::write_array(out, "train_loss", &[rows.len()], &col(&|r| r.1.loss))?;
        h5::write_array(
            out,
            "train_accuracy",
            &[rows.len()],
            &col(&|r| r.1.accuracy),
        )?;
        h5::write_array(out, "validation_loss", &[rows.len()], &col(&|r| r.2.loss))?;
        h5::write_array(
            out,
            "validation_accuracy",
            &[rows.len()],
            &col(&|r| r.2.accuracy),
        )?;
        h5::write_str_attr(out, "fit", &text)?;
        ctx.write_result("learning_curve.json", text.as_bytes())?;

        // Accuracy with the fitted law (as accuracy), extended to the projection; loss beside it.
        let mut acc = vec![
            Series {
                label: "training".into(),
                points: rows.iter().map(|r| (r.0 as f64, r.1.accuracy)).collect(),
                mark: Mark::LinePoints,
            },
            Series {
                label: "validation".into(),
                points: rows.iter().map(|r| (r.0 as f64, r.2.accuracy)).collect(),
                mark: Mark::LinePoints,
            },
        ];
        if let Some(f) = &fit {
            let end = match projection {
                Projection::Reached { samples, .. } => samples.min(largest * 100.0),
                _ => largest * 3.0,
            };
            let lo = n[0];
            let pts = (0..=60)
                .map(|i| lo * (end / lo).powf(i as f64 / 60.0))
                .map(|x| (x, 1.0 - f.eval(x)))
                .collect();
            acc.push(Series {
                label: format!("fit 1 - ({:.3} n^-{:.3} + {:.3})", f.a, f.b, f.c),
                points: pts,
                mark: Mark::Dashed,
            });
        }
        let loss = vec![
            Series {
                label: "training".into(),
                points: rows.iter().map(|r| (r.0 as f64, r.1.loss)).collect(),
                mark: Mark::LinePoints,
            },
            Series {
                label: "validation".into(),
                points: rows.iter().map(|r| (r.0 as f64, r.2.loss)).collect(),
                mark: Mark::LinePoints,
            },
        ];
        let panels = [
            Panel {
                title: "learning curve: accuracy".into(),
                x_label: "training windows".into(),
                y_label: "accuracy".into(),
                series: acc,
                log_x: true,
                x_categories: Vec::new(),
            },
            Panel {
                title: "learning curve: loss".into(),
                x_label: "training windows".into(),
                y_label: "cross-entropy".into(),
                series: loss,
                log_x: true,
                x_categories: Vec::new(),
            },
        ];
        ctx.write_result("learning_curve.png", &plot::png(&panels)?)?;
        Ok(())
    }
}
