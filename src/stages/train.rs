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

use crate::io::h5;
use crate::nn::pm_cnn::Shape;
use crate::nn::train::{self as nt, Config, Epoch, Part, SplitMethod, Windows};
use crate::nn::{self, optim, weights};
use crate::params::{ParamError, ParamSpec, ParamType, Params, Presence};
use crate::plot::{self, Mark, Panel, Series};
use crate::stage::{Direction, InputSpec, MetricSpec, RunCtx, Stage};
use crate::time::format_rfc3339;

pub struct Train;

static PARAMS: &[ParamSpec] = &[
    ParamSpec::new(
        "model",
        ParamType::Choice(nn::MODELS),
        Presence::Default("\"pm-cnn\""),
        "network to train (pm-cnn: Petrescu & Moldovan 2022, Table 2; fmnet: Kuang et al. 2021, on a synth.fmnet input)",
    ),
    ParamSpec::new(
        "optimizer",
        ParamType::Choice(optim::NAMES),
        Presence::Default("\"adam\""),
        "adam, adagrad, adamax, sgd or rmsprop (Keras defaults)",
    ),
    ParamSpec::new(
        "lr",
        ParamType::Float { positive: true },
        Presence::Default("0.001"),
        "learning rate",
    ),
    ParamSpec::new(
        "batch",
        ParamType::Int {
            min: 1,
            max: 1 << 20,
        },
        Presence::Default("32"),
        "windows per mini-batch",
    ),
    ParamSpec::new(
        "epochs",
        ParamType::Int {
            min: 1,
            max: 100_000,
        },
        Presence::Default("50"),
        "passes over the training windows (P&M: 50)",
    ),
    ParamSpec::new(
        "validation_fraction",
        ParamType::Float { positive: false },
        Presence::Default("0.2"),
        "fraction of windows scored after every epoch (P&M: 0.2)",
    ),
    ParamSpec::new(
        "test_fraction",
        ParamType::Float { positive: false },
        Presence::Default("0.2"),
        "fraction of windows held out for evaluate.classifier",
    ),
    ParamSpec::new(
        "split",
        ParamType::Choice(&["random", "chronological"]),
        Presence::Default("\"random\""),
        "random (stratified by label, as P&M) or chronological (earliest windows train)",
    ),
];

/// Training hyper-parameters from a stage's parameters.
pub(crate) fn config(p: &Params, seed: u64) -> anyhow::Result<Config> {
    Ok(Config {
        optimizer: p.str("optimizer")?.to_string(),
        lr: p.float("lr")?,
        batch: p.int("batch")? as usize,
        epochs: p.int("epochs")? as usize,
        seed,
    })
}

/// Reads labelled windows, refusing non-finite values (they would poison every gradient).
pub(crate) fn read_windows(g: &hdf5::Group, stage: &str) -> anyhow::Result<Windows> {
    let not_windows = |e: hdf5::Error| {
        anyhow::anyhow!(
            "the input of `{stage}` is not labelled windows (datasets `windows` [n, rows, samples] and `labels` [n], as label.precursor writes): {e}"
        )
    };
    let (x, shape) = h5::read_array::<f32>(g, "windows").map_err(not_windows)?;
    let (labels, lshape) = h5::read_array::<i64>(g, "labels").map_err(not_windows)?;
    anyhow::ensure!(
        shape.len() == 3 && lshape == [shape[0]],
        "the input of `{stage}`: `windows` has shape {shape:?} and `labels` {lshape:?}; expected [n, rows, samples] and [n]"
    );
    let per = shape[1] * shape[2];
    if let Some(bad) = x.iter().position(|v| !v.is_finite()) {
        let w = bad / per.max(1);
        let when = h5::read_array::<i64>(g, "window_start")
            .ok()
            .and_then(|(t, _)| t.get(w).copied())
            .map(|t| format!(" (starting {})", format_rfc3339(t)))
            .unwrap_or_default();
        anyhow::bail!(
            "window {w}{when} holds a non-finite value ({}) at component {}, sample {}: NaNs must not reach the network. \
             Fill the gap upstream (gapfill max_gap) or let the labeller reject windows with gaps",
            x[bad],
            (bad % per) / shape[2],
            bad % shape[2]
        );
    }
    if let Some(l) = labels.iter().find(|&&l| l != 0 && l != 1) {
        anyhow::bail!(
            "the input of `{stage}` has label {l}; pm-cnn classifies 0 (quiet) and 1 (precursor)"
        );
    }
    Ok(Windows {
        x,
        labels,
        shape: Shape {
            rows: shape[1],
            samples: shape[2],
        },
    })
}

/// Indices of windows in each part.
pub(crate) fn indices(parts: &[Part], which: Part) -> Vec<usize> {
    (0..parts.len()).filter(|&i| parts[i] == which).collect()
}

/// A `train` entry as `evaluate.classifier` and `learning-curve` read it: the hyper-parameters,
/// input shape and split the writer above stored. The weights load on demand ([`Self::model`]).
pub(crate) struct TrainEntry {
    group: hdf5::Group,
    pub shape: Shape,
    pub parts: Vec<Part>,
    pub optimizer: String,
    pub lr: f64,
    pub batch: usize,
    pub epochs: usize,
}

impl TrainEntry {
    /// The training configuration, with a new seed (retraining draws its own).
    pub fn config(&self, seed: u64) -> Config {
        Config {
            optimizer: self.optimizer.clone(),
            lr: self.lr,
            batch: self.batch,
            epochs: self.epochs,
            seed,
        }
    }

    /// The trained network.
    pub fn model(&self) -> anyhow::Result<crate::nn::pm_cnn::PmCnn> {
        weights::read(&self.group.group("weights")?, self.shape, &nn::device())
    }
}

/// Opens input `model` (a train entry) and input `data` (the labelled windows it was trained on),
/// refusing any other windows: the split indices only mean something for that set.
pub(crate) fn open_trained(
    ctx: &RunCtx<'_>,
    model: &str,
    data: &str,
) -> anyhow::Result<(TrainEntry, Windows)> {
    let g = ctx.input(model)?;
    let bad = |e: hdf5::Error| {
        anyhow::anyhow!(
            "input `{model}` of `{}` is not a train entry: {e}",
            ctx.stage_id
        )
    };
    let count = |name: &str| {
        h5::read_attr::<u64>(g, name)
            .map(|v| v as usize)
            .map_err(bad)
    };
    let trained_on = h5::read_str_attr(g, "quakeline_inputs")
        .ok()
        .and_then(|s| serde_json::from_str::<std::collections::BTreeMap<String, String>>(&s).ok())
        .and_then(|m| m.get("input").cloned());
    let data_key = ctx
        .inputs
        .get(data)
        .and_then(|i| h5::read_str_attr(&i.file, "quakeline_key").ok());
    if let (Some(a), Some(b)) = (&trained_on, &data_key)
        && a.split('/').next() != Some(b.as_str())
    {
        anyhow::bail!(
            "input `{data}` is not the labelled set the model was trained on (keys {b} vs {a}): \
             wire `{data}` to the stage the `train` stage reads"
        );
    }
    let (codes, _) = h5::read_array::<i8>(g, "split").map_err(bad)?;
    let parts = codes
        .iter()
        .map(|&c| Part::from_code(c).ok_or_else(|| anyhow::anyhow!("bad split code {c}")))
        .collect::<anyhow::Result<Vec<Part>>>()?;
    let entry = TrainEntry {
        group: g.clone(),
        shape: Shape {
            rows: count("rows")?,
            samples: count("samples")?,
        },
        parts,
        optimizer: h5::read_str_attr(g, "optimizer").map_err(bad)?,
        lr: h5::read_attr::<f64>(g, "lr").map_err(bad)?,
        batch: count("batch")?,
        epochs: count("epochs")?,
    };
    let windows = read_windows(ctx.input(data)?, ctx.stage_id)?;
    anyhow::ensure!(
        windows.shape == entry.shape && windows.len() == entry.parts.len(),
        "the model was trained on {} windows of {}x{}, `{data}` has {} of {}x{}",
        entry.parts.len(),
        entry.shape.rows,
        entry.shape.samples,
        windows.len(),
        windows.shape.rows,
        windows.shape.samples
    );
    Ok((entry, windows))
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

/// Reads `history/*` of a train entry.
pub(crate) fn read_history(g: &hdf5::Group) -> anyhow::Result<Vec<Epoch>> {
    let h = g.group("history")?;
    let col = |n: &str| h5::read_array::<f64>(&h, n).map(|(v, _)| v);
    let (tl, ta, vl, va) = (
        col("train_loss")?,
        col("train_accuracy")?,
        col("validation_loss")?,
        col("validation_accuracy")?,
    );
    Ok((0..tl.len())
        .map(|i| Epoch {
            train: nt::Score {
                loss: tl[i],
                accuracy: ta[i],
            },
            validation: nt::Score {
                loss: vl[i],
                accuracy: va[i],
            },
        })
        .collect())
}

fn write_history(g: &hdf5::Group, h: &[Epoch]) -> hdf5::Result<()> {
    let hg = g.create_group("history")?;
    let n = h.len();
    h5::write_array(
        &hg,
        "train_loss",
        &[n],
        &h.iter().map(|e| e.train.loss).collect::<Vec<_>>(),
    )?;
    h5::write_array(
        &hg,
        "train_accuracy",
        &[n],
        &h.iter().map(|e| e.train.accuracy).collect::<Vec<_>>(),
    )?;
    h5::write_array(
        &hg,
        "validation_loss",
        &[n],
        &h.iter().map(|e| e.validation.loss).collect::<Vec<_>>(),
    )?;
    h5::write_array(
        &hg,
        "validation_accuracy",
        &[n],
        &h.iter().map(|e| e.validation.accuracy).collect::<Vec<_>>(),
    )?;
    Ok(())
}

/// Checks the two fractions leave something to train on.
fn check_fractions(p: &Params) -> Result<(), ParamError> {
    let (v, t) = (
        p.float("validation_fraction")
            .map_err(|e| ParamError::new("validation_fraction", e.to_string()))?,
        p.float("test_fraction")
            .map_err(|e| ParamError::new("test_fraction", e.to_string()))?,
    );
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

impl Stage for Train {
    fn kind(&self) -> &'static str {
        "train"
    }
    fn version(&self) -> u32 {
        2
    }
    fn metrics(&self) -> &'static [MetricSpec] {
        METRICS
    }
    fn summary(&self) -> &'static str {
        "train a named model: pm-cnn on labelled windows, fmnet on a synth.fmnet set; weights, per-epoch history"
    }
    fn params(&self) -> &'static [ParamSpec] {
        PARAMS
    }
    fn inputs(&self) -> &'static [InputSpec] {
        &[InputSpec {
            name: "input",
            doc: "labelled windows (label.precursor) for pm-cnn; a synth.fmnet set for fmnet",
        }]
    }
    fn stochastic(&self) -> bool {
        true
    }
    fn check(&self, p: &Params) -> Result<(), ParamError> {
        check_fractions(p)
    }

    fn run(&self, ctx: &mut RunCtx<'_>) -> anyhow::Result<()> {
        let p = ctx.params;
        if p.str("model")? == "fmnet" {
            return run_fmnet(ctx);
        }
        let data = read_windows(ctx.input("input")?, ctx.stage_id)?;
        let cfg = config(p, ctx.seed)?;
        let method = match p.str("split")? {
            "chronological" => SplitMethod::Chronological,
            _ => SplitMethod::Random,
        };
        let parts = nt::split(
            &data.labels,
            p.float("validation_fraction")?,
            p.float("test_fraction")?,
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
            p.locate("batch")
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
                model: p.str("model")?,
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
fn run_fmnet(ctx: &mut RunCtx<'_>) -> anyhow::Result<()> {
    use crate::nn::fmnet;
    let p = ctx.params;
    let what = format!("the input of `{}` (model fmnet)", ctx.stage_id);
    let g = super::synth_fmnet::read(ctx.input("input")?, &what)?;
    anyhow::ensure!(
        g.rows() == fmnet::ROWS
            && g.processing.window == fmnet::SAMPLES
            && g.labels.bins == fmnet::SAMPLES,
        "{what} has {} rows x {} samples and {} label bins; FMNet's published topology takes 48 x 128 (16 stations) and 128 bins",
        g.rows(),
        g.processing.window,
        g.labels.bins
    );
    let cfg = config(p, ctx.seed)?;
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

/// Loads FMNet weights written by `train` (model fmnet).
pub(crate) fn read_fmnet(
    g: &hdf5::Group,
    device: &burn::tensor::Device,
) -> anyhow::Result<crate::nn::fmnet::Fmnet> {
    let model = h5::read_str_attr(g, "model").unwrap_or_default();
    anyhow::ensure!(
        model == "fmnet",
        "the entry holds a `{model}` model, not fmnet"
    );
    crate::nn::fmnet::read(&g.group("weights")?, device)
}

/// JSON has no NaN: absent values are null.
pub(crate) fn finite(x: f64) -> serde_json::Value {
    if x.is_finite() {
        json!(x)
    } else {
        serde_json::Value::Null
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn windows_file(
        values: &[f32],
        labels: &[i64],
        shape: [usize; 3],
    ) -> (tempfile::TempDir, hdf5::File) {
        let dir = tempfile::tempdir().unwrap();
        let f = hdf5::File::create(dir.path().join("w.h5")).unwrap();
        h5::write_array(&f, "windows", &shape, values).unwrap();
        h5::write_array(&f, "labels", &[labels.len()], labels).unwrap();
        h5::write_array(
            &f,
            "window_start",
            &[labels.len()],
            &[0i64, 86_400_000_000_000],
        )
        .unwrap();
        (dir, f)
    }

    #[test]
    fn a_nan_reaching_the_model_is_an_error_naming_the_window() {
        let mut v = vec![0.5f32; 2 * 3 * 8];
        v[24 + 8 + 5] = f32::NAN; // window 1, component 1, sample 5
        let (_dir, f) = windows_file(&v, &[0, 1], [2, 3, 8]);
        let e = read_windows(&f, "train").err().unwrap().to_string();
        assert!(
            e.contains("window 1 (starting 1970-01-02T00:00:00.000Z) holds a non-finite value (NaN) at component 1, sample 5"),
            "{e}"
        );
    }

    #[test]
    fn labels_other_than_0_and_1_are_refused() {
        let (_dir, f) = windows_file(&[0.0; 2 * 3 * 8], &[0, 2], [2, 3, 8]);
        let e = read_windows(&f, "train").err().unwrap().to_string();
        assert!(e.contains("label 2"), "{e}");
    }
}
