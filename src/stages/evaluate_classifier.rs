//! `evaluate.classifier` — scores a trained classifier on its held-out windows.
//!
//! # Purpose
//! The numbers a reader of Petrescu & Moldovan (2022) needs to judge a precursor detector: accuracy
//! against the majority-class rate (their finding: accuracy equal to the class proportion, i.e. no
//! skill), cross-entropy, the confusion matrix, precision/recall/F1 per class and ROC-AUC, on
//! windows the network never trained on.
//!
//! # Inputs
//! `model` (a `train` entry) and `data` (the labelled windows it was trained on — checked against
//! the key the model recorded, since the split indices only mean something for that set).
//!
//! # Outputs
//! `probabilities` float64 `[n, 2]`, `labels` int64 `[n]`, `index` int64 `[n]` (window numbers in
//! `data`), attribute `metrics` (JSON), and `results/<pipeline>/<stage>/evaluation.json`; the typed
//! metrics (accuracy, loss, ROC-AUC, precursor-class precision/recall/F1, …) go to the run's
//! `metrics.json` ([`crate::metrics`]).
//! Definitions: [`crate::nn::metrics`].
//!
//! # Parameters
//! Declared with their types, ranges and defaults below (`quakeline stages` lists them):
//! `part`, which part of the training split is scored (test by default).
//!
//! # Cache key
//! Parameters and the two input keys (deterministic).
//!
//! # References
//! Petrescu, L. & Moldovan, I.-A. (2022). Prospective Neural Network Model for Seismic
//! Precursory Signal Detection in Geomagnetic Field Records. Machine Learning and Knowledge
//! Extraction 4(4), 912-923. doi:10.3390/make4040046

use crate::data;
use crate::data::trained::indices;
use crate::h5;
use crate::models::pm_cnn::open_trained;
use crate::nn::train::{self as nt, Part};
use crate::nn::{self, metrics};
use crate::stage::{Direction, InputSpec, MetricSpec, Outputs, RunCtx, StageInfo, StageKind};

pub struct EvaluateClassifier;

static METRICS: &[MetricSpec] = &[
    MetricSpec {
        name: "accuracy",
        direction: Direction::Higher,
        doc: "fraction of windows classified correctly",
    },
    MetricSpec {
        name: "loss",
        direction: Direction::Lower,
        doc: "mean cross-entropy of the predicted probabilities",
    },
    MetricSpec {
        name: "roc_auc",
        direction: Direction::Higher,
        doc: "area under the ROC curve of P(precursor); null when one class is absent",
    },
    MetricSpec {
        name: "majority_rate",
        direction: Direction::Neither,
        doc: "accuracy of always answering the larger class (the no-skill level)",
    },
    MetricSpec {
        name: "skill_over_majority",
        direction: Direction::Higher,
        doc: "accuracy minus majority_rate (P&M 2022: ~0 means no precursor signal was learned)",
    },
    MetricSpec {
        name: "precision",
        direction: Direction::Higher,
        doc: "precision of the precursor class",
    },
    MetricSpec {
        name: "recall",
        direction: Direction::Higher,
        doc: "recall of the precursor class",
    },
    MetricSpec {
        name: "f1",
        direction: Direction::Higher,
        doc: "F1 of the precursor class",
    },
    MetricSpec {
        name: "n",
        direction: Direction::Neither,
        doc: "windows scored",
    },
];

crate::stage_params! {
    /// Parameters of this stage kind (see the module docs).
    pub struct EvaluateClassifierParams {
        /// which windows to score: the held-out test part (default), validation, or train
        part: String = Choice(&["test", "validation", "train"]), Default("\"test\"");
    }
}

impl StageKind for EvaluateClassifier {
    type Params = EvaluateClassifierParams;
    const INFO: StageInfo = StageInfo {
        kind: "evaluate.classifier",
        version: 2,
        changelog: &["first version", "typed metrics"],
        summary: "accuracy, loss, confusion, precision/recall/F1, ROC-AUC of a trained classifier on held-out windows",
        inputs: &[
            InputSpec {
                name: "model",
                doc: "a train stage",
                accepts: &[data::TRAINED_MODEL],
                optional: false,
            },
            InputSpec {
                name: "data",
                doc: "the labelled windows the model was trained on",
                accepts: &[data::LABELLED_WINDOWS],
                optional: false,
            },
        ],
        outputs: Outputs::Root(data::CLASSIFIER_EVALUATION),
        metrics: METRICS,
        stochastic: false,
    };

    fn device_class(&self) -> Option<&'static str> {
        crate::device::key_class()
    }
    fn run(&self, ctx: &mut RunCtx<'_>, params: EvaluateClassifierParams) -> anyhow::Result<()> {
        let (t, data) = open_trained(ctx, "model", "data")?;
        let model = t.model()?;
        let part_name = params.part.as_str();
        let part = Part::parse(part_name).expect("declared choice");
        let idx = indices(&t.parts, part);
        anyhow::ensure!(
            !idx.is_empty(),
            "the model's {part_name} part is empty ({}): set the train stage's `{part_name}_fraction` above 0, or score another part",
            ctx.params.locate("part")
        );
        ctx.progress.set_length(idx.len() as u64);
        ctx.progress.set_message("windows scored");
        let p = nt::probabilities(&model, &data, &idx, t.hyper.batch.max(64), &nn::device());
        ctx.progress.set_position(idx.len() as u64);
        let labels: Vec<i64> = idx.iter().map(|&i| data.labels[i]).collect();
        let m = metrics::classify(&p, &labels);
        let mut json = serde_json::to_value(&m)?;
        json["part"] = serde_json::json!(part_name);
        json["skill_over_majority"] = serde_json::json!(m.accuracy - m.majority_rate);
        let text = serde_json::to_string_pretty(&json)?;

        let out = ctx.output;
        let flat: Vec<f64> = p.iter().flatten().copied().collect();
        h5::write_array(out, "probabilities", &[p.len(), 2], &flat)?;
        h5::write_array(out, "labels", &[labels.len()], &labels)?;
        h5::write_array(
            out,
            "index",
            &[idx.len()],
            &idx.iter().map(|&i| i as i64).collect::<Vec<_>>(),
        )?;
        h5::write_str_attr(out, "metrics", &text)?;
        ctx.write_result("evaluation.json", text.as_bytes())?;
        ctx.metric("accuracy", m.accuracy);
        ctx.metric("loss", m.loss);
        ctx.metric("roc_auc", m.roc_auc.unwrap_or(f64::NAN));
        ctx.metric("majority_rate", m.majority_rate);
        ctx.metric("skill_over_majority", m.accuracy - m.majority_rate);
        ctx.metric("precision", m.classes[1].precision);
        ctx.metric("recall", m.classes[1].recall);
        ctx.metric("f1", m.classes[1].f1);
        ctx.metric("n", m.n as f64);
        Ok(())
    }
}
