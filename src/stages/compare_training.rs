//! `compare.training` — overlays the training histories of several `train` stages.
//!
//! # Purpose
//! Petrescu & Moldovan (2022) Fig. 6 compares the cross-entropy loss per epoch of Adam, Adagrad,
//! AdaMax, SGD and RMSProp on the same data. Here each compared run is a `train` stage (typically
//! differing only in `optimizer`), wired under a name of the user's choice:
//! `inputs = { adam = "train_adam", sgd = "train_sgd" }`; the names label the curves.
//!
//! # Inputs
//! Any number of `train` entries, each under a name of the user's choice (`inputs = { adam =
//! "train_adam" }`); the names label the curves.
//!
//! # Outputs
//! Attribute `comparison` (JSON: per input, final training/validation loss and accuracy, and the
//! epoch of lowest validation loss); `results/<pipeline>/<stage>/comparison.{json,png}`
//! (training and validation loss per epoch, all runs).
//!
//! # Parameters
//! None: what is compared is the wiring.
//!
//! # Cache key
//! The input keys (deterministic, no parameters).
//!
//! # References
//! Petrescu, L. & Moldovan, I.-A. (2022). Prospective Neural Network Model for Seismic
//! Precursory Signal Detection in Geomagnetic Field Records. Machine Learning and Knowledge
//! Extraction 4(4), 912-923. doi:10.3390/make4040046

use serde_json::json;

use crate::data;
use crate::data::trained::{finite, read_history};
use crate::h5;
use crate::plot::{self, Mark, Panel, Series};
use crate::stage::{ANY_INPUT, InputSpec, Outputs, RunCtx, StageInfo, StageKind};

pub struct CompareTraining;

crate::stage_params! {
    /// `compare.training` has no parameters: what it compares is its wiring.
    pub struct CompareTrainingParams {}
}

impl StageKind for CompareTraining {
    type Params = CompareTrainingParams;
    const INFO: StageInfo = StageInfo {
        kind: "compare.training",
        version: 1,
        changelog: &["first version"],
        summary: "overlay the per-epoch loss of several train stages, e.g. an optimizer comparison (P&M Fig. 6)",
        inputs: &[InputSpec {
            name: ANY_INPUT,
            doc: "train stages under any names; the names label the curves",
            accepts: &[data::TRAINED_MODEL],
            optional: false,
        }],
        outputs: Outputs::Root(data::TRAINING_COMPARISON),
        metrics: &[],
        stochastic: false,
    };

    fn run(&self, ctx: &mut RunCtx<'_>, _: CompareTrainingParams) -> anyhow::Result<()> {
        let mut runs = Vec::new();
        for (name, input) in &ctx.inputs {
            let h = read_history(&input.group).map_err(|e| {
                anyhow::anyhow!(
                    "input `{name}` of `{}` is not a train stage: {e}",
                    ctx.stage_id
                )
            })?;
            let optimizer = h5::read_str_attr(&input.group, "optimizer").unwrap_or_default();
            runs.push((name.clone(), optimizer, h));
        }
        let mut summary = serde_json::Map::new();
        for (name, optimizer, h) in &runs {
            let last = h.last().copied();
            let best = h
                .iter()
                .enumerate()
                .filter(|(_, e)| e.validation.loss.is_finite())
                .min_by(|a, b| a.1.validation.loss.total_cmp(&b.1.validation.loss))
                .map(|(i, e)| json!({"epoch": i + 1, "validation_loss": e.validation.loss}));
            summary.insert(
                name.clone(),
                json!({
                    "optimizer": optimizer,
                    "epochs": h.len(),
                    "final_train_loss": last.map(|e| e.train.loss),
                    "final_train_accuracy": last.map(|e| e.train.accuracy),
                    "final_validation_loss": last.map(|e| finite(e.validation.loss)),
                    "final_validation_accuracy": last.map(|e| finite(e.validation.accuracy)),
                    "best": best,
                }),
            );
        }
        let text = serde_json::to_string_pretty(&serde_json::Value::Object(summary))?;
        h5::write_str_attr(ctx.output, "comparison", &text)?;
        ctx.write_result("comparison.json", text.as_bytes())?;
        let panel = |title: &str, pick: fn(&crate::nn::train::Epoch) -> f64| Panel {
            title: title.into(),
            x_label: "epoch".into(),
            y_label: "cross-entropy".into(),
            series: runs
                .iter()
                .map(|(name, _, h)| Series {
                    label: name.clone(),
                    points: h
                        .iter()
                        .enumerate()
                        .map(|(i, e)| ((i + 1) as f64, pick(e)))
                        .collect(),
                    mark: Mark::Line,
                })
                .collect(),
            log_x: false,
            x_categories: Vec::new(),
        };
        let png = plot::png(&[
            panel("training loss", |e| e.train.loss),
            panel("validation loss", |e| e.validation.loss),
        ])?;
        ctx.write_result("comparison.png", &png)?;
        Ok(())
    }
}
