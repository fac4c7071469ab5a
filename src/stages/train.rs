//! `train` — trains a named model on labelled windows.
//!
//! # Purpose
//! Petrescu & Moldovan (2022) §3: the Table 2 CNN (`pm-cnn`, [`crate::nn::pm_cnn`]) trained with
//! cross-entropy and Adam on a random 80/20 split for 50 epochs; their Fig. 6 swaps the optimizer
//! (Adam, Adagrad, AdaMax, SGD, RMSProp), which is the `optimizer` parameter here. A held-out test
//! part (`test_fraction`) is kept apart for `evaluate.classifier`.
//!
//! # Inputs
//! `input`: labelled windows — `windows` float32 `[n, rows, samples]` and `labels` int64 `[n]`
//! (`label.precursor`). Every value must be finite: a NaN reaching the network is an error naming
//! the window.
//!
//! # Outputs
//! - `weights/<module path>` float32, PyTorch names and layouts ([`crate::nn::weights`]);
//! - `history/{train_loss, train_accuracy, validation_loss, validation_accuracy}` float64
//!   `[epochs]` (Keras `History`; validation NaN without validation data);
//! - `split` int8 `[n]`: 0 train, 1 validation, 2 test, per input window;
//! - attributes `model`, `rows`, `samples`, `parameters`, and the hyper-parameters;
//! - `results/<pipeline>/<stage>/history.png` (accuracy and loss per epoch, the paper's Fig. 5)
//!   and `history.json`.
//!
//! # Cache key
//! Parameters, the input key and the seed (initial weights, split and batch order).

use serde_json::json;

use crate::data::trained::{finite, indices, write_history};
use crate::data::{self, fmnet_set, windows};
use crate::io::h5;
use crate::nn::train::{self as nt, Config, Epoch, Part, SplitMethod};
use crate::nn::{self, optim, weights};
use crate::params::ParamError;
use crate::plot::{self, Mark, Panel, Series};
use crate::stage::{Direction, InputSpec, MetricSpec, Outputs, RunCtx, StageInfo, StageKind};

pub struct Train;

crate::choice! {
    /// How windows are split into train, validation and test parts.
    pub enum Split {
        Random = "random",
        Chronological = "chronological",
    }
}

crate::stage_params! {
    /// Parameters of this stage kind (see the module docs).
    pub struct TrainParams {
        /// network to train (pm-cnn: Petrescu & Moldovan 2022, Table 2; fmnet: Kuang et al. 2021, on a synth.fmnet input)
        model: String = Choice(nn::MODELS), Default("\"pm-cnn\"");
        /// adam, adagrad, adamax, sgd or rmsprop (Keras defaults)
        optimizer: String = Choice(optim::NAMES), Default("\"adam\"");
        /// learning rate
        lr: f64 = Float { positive: true }, Default("0.001");
        /// windows per mini-batch
        batch: usize = Int { min: 1, max: 1 << 20, }, Default("32");
        /// passes over the training windows (P&M: 50)
        epochs: usize = Int { min: 1, max: 100_000, }, Default("50");
        /// fraction of windows scored after every epoch (P&M: 0.2)
        validation_fraction: f64 = Float { positive: false }, Default("0.2");
        /// fraction of windows held out for evaluate.classifier
        test_fraction: f64 = Float { positive: false }, Default("0.2");
        /// random (stratified by label, as P&M) or chronological (earliest windows train)
        split: Split = Choice(Split::NAMES), Default("\"random\"");
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

/// Checks the two fractions leave something to train on.
fn check_fractions(p: &TrainParams) -> Result<(), ParamError> {
    let (v, t) = (p.validation_fraction, p.test_fraction);
    for (name, f) in [("validation_fraction", v), ("test_fraction", t)] {
        if !(0.0..1.0).contains(&f) {
            return Err(ParamError::new(name, format!("must be in [0, 1), got {f}")));
        }
    }
    if v + t >= 1.0 {
        return Err(ParamError::new(
            "validation_fraction",
            format!(
                "validation_fraction + test_fraction = {} leaves no windows to train on",
                v + t
            ),
        ));
    }
    Ok(())
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
        }
    }
}

impl StageKind for Train {
    type Params = TrainParams;
    const INFO: StageInfo = StageInfo {
        kind: "train",
        version: 2,
        changelog: &[
            "first version",
            "model fmnet (Kuang et al. 2021) beside pm-cnn",
        ],
        summary: "train a named model: pm-cnn on labelled windows, fmnet on a synth.fmnet set; weights, per-epoch history",
        inputs: &[InputSpec {
            name: "input",
            doc: "labelled windows (label.precursor) for pm-cnn; a synth.fmnet set for fmnet",
            accepts: &[data::LABELLED_WINDOWS, data::FMNET_SET],
        }],
        outputs: Outputs::Root(data::TRAINED_MODEL),
        metrics: METRICS,
        stochastic: true,
    };

    fn check(&self, p: &TrainParams) -> Result<(), ParamError> {
        check_fractions(p)
    }

    fn run(&self, ctx: &mut RunCtx<'_>, p: TrainParams) -> anyhow::Result<()> {
        if p.model == "fmnet" {
            return run_fmnet(ctx, &p);
        }
        let raw = ctx.params;
        let data = windows::read(ctx.input("input")?, ctx.stage_id)?;
        let cfg = p.config(ctx.seed);
        let method = match p.split {
            Split::Chronological => SplitMethod::Chronological,
            Split::Random => SplitMethod::Random,
        };
        let parts = nt::split(
            &data.labels,
            p.validation_fraction,
            p.test_fraction,
            method,
            ctx.seed,
        );
        let train = indices(&parts, Part::Train);
        let validation = indices(&parts, Part::Validation);
        anyhow::ensure!(
            train.len() >= cfg.batch,
            "only {} training windows ({} windows in all, {} for validation and test), fewer than the batch size {} ({}): \
             label more data (longer period, shorter window or stride) or lower `batch`",
            train.len(),
            data.len(),
            data.len() - train.len(),
            cfg.batch,
            raw.locate("batch")
        );
        anyhow::ensure!(
            data.shape.samples >= 4,
            "windows of {} samples are too short for pm-cnn's two 1x2 poolings (at least 4)",
            data.shape.samples
        );
        ctx.progress.set_length(cfg.steps(train.len()) as u64);
        let device = nn::device();
        let (model, history) = nt::fit(
            &cfg,
            &data,
            &train,
            &validation,
            &device,
            &mut progress(ctx.progress),
        )?;

        let out = ctx.output;
        weights::write(&out.create_group("weights")?, &model)?;
        let codes: Vec<i8> = parts.iter().map(|&p| p as i8).collect();
        let ds = h5::write_array(out, "split", &[codes.len()], &codes)?;
        h5::write_str_attr(&ds, "legend", "0 train, 1 validation, 2 test")?;
        record(
            ctx,
            Trained {
                model: &p.model,
                rows: data.shape.rows,
                samples: data.shape.samples,
                parameters: nn::pm_cnn::parameter_count(data.shape),
                cfg: &cfg,
                history: &history,
            },
            json!({
                "windows": {"train": train.len(), "validation": validation.len(), "test": indices(&parts, Part::Test).len()},
                "final": history.last().map(|h| json!({"train_accuracy": h.train.accuracy, "validation_accuracy": finite(h.validation.accuracy)})),
            }),
        )
    }
}

/// Moves the stage's progress bar to each optimizer step and shows epoch, batch and loss.
fn progress(bar: &indicatif::ProgressBar) -> impl FnMut(&nn::train::Tick) + '_ {
    move |t| {
        bar.set_position(t.steps() as u64);
        bar.set_message(format!(
            "epoch {}/{} batch {}/{} loss {:.5}",
            t.epoch, t.epochs, t.batch, t.batches, t.loss
        ));
    }
}

/// `model = "fmnet"`: trains on a `synth.fmnet` entry, streaming samples from its generator
/// (train, validation and test parts are the entry's; `validation_fraction`, `test_fraction`
/// and `split` apply to pm-cnn only).
fn run_fmnet(ctx: &mut RunCtx<'_>, p: &TrainParams) -> anyhow::Result<()> {
    use crate::nn::fmnet;
    let what = format!("the input of `{}` (model fmnet)", ctx.stage_id);
    let g = fmnet_set::read(ctx.input("input")?, &what)?;
    anyhow::ensure!(
        g.rows() == fmnet::ROWS
            && g.processing.window == fmnet::SAMPLES
            && g.labels.bins == fmnet::SAMPLES,
        "{what} has {} rows x {} samples and {} label bins; FMNet's published topology takes 48 x 128 (16 stations) and 128 bins",
        g.rows(),
        g.processing.window,
        g.labels.bins
    );
    let cfg = p.config(ctx.seed);
    let n_train = g.n_train();
    ctx.progress.set_length(cfg.steps(n_train) as u64);
    let device = nn::device();
    let (model, history) = fmnet::fit(&cfg, &g, &device, &mut progress(ctx.progress))?;
    let out = ctx.output;
    weights::write_tensors(&out.create_group("weights")?, fmnet::tensors(&model))?;
    let root: &hdf5::Location = out;
    // What `quakeline predict` needs to turn curves into angles without the data set.
    let lr: Vec<f64> = g.labels.ranges.iter().flat_map(|(a, b)| [*a, *b]).collect();
    h5::write_array(out, "label_ranges", &[3, 2], &lr)?;
    h5::write_attr(root, "label_sigma_bins", g.labels.sigma_bins)?;
    h5::write_attr(root, "dt_s", g.dt_s)?;
    h5::write_str_attr(root, "component_order", g.processing.components.name())?;
    let names: Vec<&str> = g.stations.iter().map(|s| s.name.as_str()).collect();
    h5::write_str_attr(root, "stations", &names.join(","))?;
    record(
        ctx,
        Trained {
            model: "fmnet",
            rows: g.rows(),
            samples: g.processing.window,
            parameters: fmnet::parameter_count(&model),
            cfg: &cfg,
            history: &history,
        },
        json!({
            "accuracy": "fraction of samples whose peak mechanism is within 20 deg Kagan angle",
            "samples": {"train": n_train, "validation": g.n_validation, "test": g.held_out.len() - g.n_validation},
        }),
    )
}

/// What every trained model records, whatever the network.
struct Trained<'a> {
    model: &'a str,
    rows: usize,
    samples: usize,
    parameters: usize,
    cfg: &'a Config,
    history: &'a [Epoch],
}

/// Writes the history, the model and hyper-parameter attributes, the final metrics and
/// `history.json` (the fields of `t` plus the model-specific `extra` object) and `history.png`.
fn record(ctx: &mut RunCtx<'_>, t: Trained<'_>, extra: serde_json::Value) -> anyhow::Result<()> {
    let out = ctx.output;
    write_history(out, t.history)?;
    let root: &hdf5::Location = out;
    h5::write_str_attr(root, "model", t.model)?;
    h5::write_attr(root, "rows", t.rows as u64)?;
    h5::write_attr(root, "samples", t.samples as u64)?;
    h5::write_attr(root, "parameters", t.parameters as u64)?;
    h5::write_str_attr(root, "optimizer", &t.cfg.optimizer)?;
    h5::write_attr(root, "lr", t.cfg.lr)?;
    h5::write_attr(root, "batch", t.cfg.batch as u64)?;
    h5::write_attr(root, "epochs", t.cfg.epochs as u64)?;
    if let Some(h) = t.history.last() {
        ctx.metric("train_loss", h.train.loss);
        ctx.metric("train_accuracy", h.train.accuracy);
        ctx.metric("validation_loss", h.validation.loss);
        ctx.metric("validation_accuracy", h.validation.accuracy);
    }
    let mut summary = json!({
        "model": t.model,
        "optimizer": t.cfg.optimizer,
        "lr": t.cfg.lr,
        "batch": t.cfg.batch,
        "epochs": t.cfg.epochs,
        "history": t.history.iter().enumerate().map(|(e, h)| json!({
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
    ctx.write_result("history.png", &plot::png(&history_panels(t.history))?)?;
    Ok(())
}
