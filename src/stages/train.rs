//! `train` — fits a model of the [`crate::models`] registry on its input.
//!
//! # Purpose
//! Petrescu & Moldovan (2022) §3 train their Table 2 CNN (`pm-cnn`) with cross-entropy and Adam
//! for 50 epochs; their Fig. 6 swaps the optimizer (Adam, Adagrad, AdaMax, SGD, RMSProp), which
//! is the `optimizer` parameter here. Kuang et al. (2021) train FMNet (`fmnet`) with Adam on a
//! synthetic set. Hong et al. (2023) pre-train a U-Net phase picker and fine-tune it on local data
//! (`phasenet`, `r2unet`; [`crate::models::picker`]: reduce-on-plateau, early stopping, best
//! epoch kept, `trainable = "last"`). The shared parameters (`optimizer`, `lr`, `batch`, `epochs`) are declared here;
//! each model declares its own (pm-cnn's `validation_fraction`, `test_fraction`, `split`), which
//! are accepted, and hashed, only when that model is chosen.
//!
//! # Inputs
//! - `input`: what the model trains on ([`crate::models::Model::trains_on`]): labelled windows
//!   for pm-cnn, a `synth.fmnet` set for fmnet, a labelled waveform set whose `split` column has
//!   `train` and `dev` traces for the pickers. Every value must be finite: a NaN reaching the
//!   network is an error naming the window (the pickers' windows turn gaps into zeros).
//! - `init` (optional; pickers only): a trained entry of the same model to start from. Its key
//!   enters this entry's key through the input, and is recorded as attribute `init_key`.
//!
//! # Outputs
//! A trained-model entry ([`crate::data::trained`]):
//! - `weights/<module path>` float32, PyTorch names and layouts ([`crate::nn::weights`]);
//! - `history/{train_loss, train_accuracy, validation_loss, validation_accuracy, lr}` float64
//!   `[epochs run]` (Keras `History`; validation NaN without validation data);
//! - attributes `model`, `rows`, `samples`, `parameters`, and the hyper-parameters;
//! - what the model's own readers need (pm-cnn: `split`; fmnet: label ranges, stations; pickers:
//!   sampling rate, window, `trainable`, `frozen`, `init_key`, `best_epoch`);
//! - `results/<pipeline>/<stage>/history.png` (accuracy and loss per epoch, P&M Fig. 5)
//!   and `history.json`.
//!
//! # Parameters
//! The shared `model`, `optimizer`, `lr`, `batch`, `epochs` (declared below), and the chosen
//! model's own (`quakeline model list`), accepted and keyed only with that model.
//!
//! # Cache key
//! The shared parameters, the chosen model's own, the input key and the seed (initial weights,
//! split and batch order).
//!
//! # References
//! Petrescu, L. & Moldovan, I.-A. (2022). Prospective Neural Network Model for Seismic
//! Precursory Signal Detection in Geomagnetic Field Records. Machine Learning and Knowledge
//! Extraction 4(4), 912-923. doi:10.3390/make4040046
//!
//! Kuang, W., Yuan, C. & Zhang, J. (2021). Real-time determination of earthquake focal mechanism
//! via deep learning. Nature Communications 12, 1432. doi:10.1038/s41467-021-21670-x
//!
//! Hong, Y., Byun, A.-H., Kim, S. & Sheen, D.-H. (2023). Customization of a deep neural network
//! using local data for seismic phase picking. Frontiers in Earth Science 11, 1306488.
//! doi:10.3389/feart.2023.1306488

use serde_json::json;

use crate::data;
use crate::data::trained::{finite, write_history};
use crate::h5;
use crate::models::{self, Fitted};
use crate::nn::optim;
use crate::nn::train::{Config, Epoch};
use crate::plot::{self, Mark, Panel, Series};
use crate::stage::{
    Direction, InputSpec, MetricSpec, Outputs, PluginParams, RunCtx, StageInfo, StageKind,
};

pub struct Train;

crate::stage_params! {
    /// Parameters every model takes; a model's own follow from the [`crate::models`] registry.
    pub struct TrainParams {
        /// network to train: a model of the registry (`quakeline model list`, `quakeline model summary NAME`)
        model: String = Choice(&models::NAMES), Default("\"pm-cnn\"");
        /// adam, adagrad, adamax, sgd or rmsprop (Keras defaults)
        optimizer: String = Choice(optim::NAMES), Default("\"adam\"");
        /// learning rate
        lr: f64 = Float { positive: true }, Default("0.001");
        /// windows per mini-batch
        batch: usize = Int { min: 1, max: 1 << 20, }, Default("32");
        /// passes over the training windows (P&M: 50)
        epochs: usize = Int { min: 1, max: 100_000, }, Default("50");
    }
}

/// Accuracy and loss per epoch, training and validation (P&M Fig. 5).
fn history_panels(h: &[Epoch]) -> Vec<Panel> {
    let curve = |f: &dyn Fn(&Epoch) -> f64| -> Vec<(f64, f64)> {
        h.iter()
            .enumerate()
            .map(|(e, ep)| ((e + 1) as f64, f(ep)))
            .collect()
    };
    let panel = |title: &str, y: &str, train: Vec<(f64, f64)>, val: Vec<(f64, f64)>| Panel {
        title: title.into(),
        x_label: "epoch".into(),
        y_label: y.into(),
        series: vec![
            Series {
                label: "training".into(),
                points: train,
                mark: Mark::Line,
            },
            Series {
                label: "validation".into(),
                points: val,
                mark: Mark::Dashed,
            },
        ],
        log_x: false,
        x_categories: Vec::new(),
    };
    vec![
        panel(
            "accuracy",
            "accuracy",
            curve(&|e| e.train.accuracy),
            curve(&|e| e.validation.accuracy),
        ),
        panel(
            "loss",
            "cross-entropy",
            curve(&|e| e.train.loss),
            curve(&|e| e.validation.loss),
        ),
    ]
}

static METRICS: &[MetricSpec] = &[
    MetricSpec {
        name: "train_loss",
        direction: Direction::Lower,
        doc: "cross-entropy on the training part after the last epoch",
    },
    MetricSpec {
        name: "train_accuracy",
        direction: Direction::Higher,
        doc: "accuracy on the training part after the last epoch",
    },
    MetricSpec {
        name: "validation_loss",
        direction: Direction::Lower,
        doc: "cross-entropy on the validation part after the last epoch (P&M Fig. 6 compares it across optimizers)",
    },
    MetricSpec {
        name: "validation_accuracy",
        direction: Direction::Higher,
        doc: "accuracy on the validation part after the last epoch",
    },
];

impl TrainParams {
    /// Training hyper-parameters.
    fn config(&self, seed: u64) -> Config {
        Config {
            optimizer: self.optimizer.clone(),
            lr: self.lr,
            batch: self.batch,
            epochs: self.epochs,
            seed,
            schedule: None,
        }
    }
}

impl StageKind for Train {
    type Params = TrainParams;
    const INFO: StageInfo = StageInfo {
        kind: "train",
        version: 4,
        changelog: &[
            "first version",
            "model fmnet (Kuang et al. 2021) beside pm-cnn",
            "each model owns its parameters: validation_fraction, test_fraction and split are pm-cnn's and no longer enter fmnet's key (fmnet never read them; setting them with fmnet is now an error)",
            "phase pickers phasenet and r2unet on labelled waveform sets, optional input init (fine-tuning); history records each epoch's learning rate (history/lr)",
        ],
        summary: "train a model of the registry (quakeline model list) on the data kind it trains on, from scratch or fine-tuned from input init; weights, per-epoch history",
        inputs: &[
            InputSpec {
                name: "input",
                doc: "what the chosen model trains on (its `trains on` in quakeline model list; pickers: a labelled waveform set with train/dev splits)",
                accepts: &models::TRAINS_ON,
                optional: false,
            },
            InputSpec {
                name: "init",
                doc: "a trained entry of the same model to start from (fine-tuning; models that fine-tune)",
                accepts: &[data::TRAINED_MODEL],
                optional: true,
            },
        ],
        outputs: Outputs::Root(data::TRAINED_MODEL),
        metrics: METRICS,
        stochastic: true,
    };

    fn plugins(&self) -> Vec<&'static PluginParams> {
        models::MODELS.iter().map(|m| &m.params).collect()
    }

    fn plugin(&self, p: &TrainParams) -> Option<&'static PluginParams> {
        models::get(&p.model).map(|m| &m.params)
    }

    fn device_class(&self) -> Option<&'static str> {
        crate::device::key_class()
    }
    fn run(&self, ctx: &mut RunCtx<'_>, p: TrainParams) -> anyhow::Result<()> {
        let model = models::get(&p.model).ok_or_else(|| {
            anyhow::anyhow!(
                "unknown model `{}` ({})",
                p.model,
                ctx.params.locate("model")
            )
        })?;
        anyhow::ensure!(
            model.fine_tunes || !ctx.inputs.contains_key("init"),
            "model `{}` trains from scratch only: input `init` is for the models that fine-tune ({})",
            model.name,
            ctx.params.locate("model")
        );
        let cfg = p.config(ctx.seed);
        let fitted = (model.fit)(ctx, &cfg)?;
        record(ctx, model.name, &cfg, fitted)
    }
}

/// Writes the history, the model and hyper-parameter attributes, the final metrics and
/// `history.json` (the fields of `t` plus the model-specific `extra` object) and `history.png`.
fn record(ctx: &mut RunCtx<'_>, model: &str, cfg: &Config, f: Fitted) -> anyhow::Result<()> {
    let Fitted {
        rows,
        samples,
        parameters,
        history,
        extra,
    } = f;
    let out = ctx.output;
    write_history(out, &history)?;
    let root: &hdf5::Location = out;
    h5::write_str_attr(root, "model", model)?;
    h5::write_attr(root, "rows", rows as u64)?;
    h5::write_attr(root, "samples", samples as u64)?;
    h5::write_attr(root, "parameters", parameters as u64)?;
    h5::write_str_attr(root, "optimizer", &cfg.optimizer)?;
    h5::write_attr(root, "lr", cfg.lr)?;
    h5::write_attr(root, "batch", cfg.batch as u64)?;
    h5::write_attr(root, "epochs", cfg.epochs as u64)?;
    if let Some(h) = history.last() {
        ctx.metric("train_loss", h.train.loss);
        ctx.metric("train_accuracy", h.train.accuracy);
        ctx.metric("validation_loss", h.validation.loss);
        ctx.metric("validation_accuracy", h.validation.accuracy);
    }
    let mut summary = json!({
        "model": model,
        "optimizer": cfg.optimizer,
        "lr": cfg.lr,
        "batch": cfg.batch,
        "epochs": cfg.epochs,
        "history": history.iter().enumerate().map(|(e, h)| json!({
            "epoch": e + 1,
            "train_loss": h.train.loss, "train_accuracy": h.train.accuracy,
            "validation_loss": finite(h.validation.loss), "validation_accuracy": finite(h.validation.accuracy),
        })).collect::<Vec<_>>(),
    });
    if let (Some(s), serde_json::Value::Object(e)) = (summary.as_object_mut(), extra) {
        s.extend(e);
    }
    ctx.write_result(
        "history.json",
        serde_json::to_string_pretty(&summary)?.as_bytes(),
    )?;
    ctx.write_result("history.png", &plot::png(&history_panels(&history))?)?;
    Ok(())
}
