//! `pm-cnn`: the window classifier of Petrescu & Moldovan (2022) as a trainable model.
//!
//! Petrescu, L. & Moldovan, I.-A. (2022). Prospective Neural Network Model for Seismic Precursory
//! Signal Detection in Geomagnetic Field Records. *Machine Learning and Knowledge Extraction*
//! 4(4), 912–923. doi:10.3390/make4040046
//!
//! The network is [`crate::nn::pm_cnn`] (Table 2). It trains on labelled windows
//! (`label.precursor`) with cross-entropy on a random 80/20 split (§3); a held-out test part
//! (`test_fraction`) is kept apart for `evaluate.classifier`, and `split = "chronological"`
//! trains on the earliest windows instead. The split is written as `split` int8 `[n]` (0 train,
//! 1 validation, 2 test, per input window), which `evaluate.classifier` and `learning-curve` read
//! ([`crate::data::trained`]).

use serde_json::json;

use super::{Contract, Fitted, Model, Output, OutputKind, Samples, Summary};
use crate::data::trained::indices;
use crate::data::{self, windows};
use crate::h5;
use crate::nn::pm_cnn::{self, PmCnn, Shape};
use crate::nn::train::{self as nt, Config, Part, SplitMethod, Windows};
use crate::nn::{self, weights};
use crate::params::typed::StageParams;
use crate::params::{ParamError, Params};
use crate::stage::{PluginParams, RunCtx};
use crate::time::{NS_PER_DAY, NS_PER_S};
use crate::units::{format_duration_ns, parse_duration_ns};

crate::choice! {
    /// How windows are split into train, validation and test parts.
    pub enum Split {
        Random = "random",
        Chronological = "chronological",
    }
}

crate::stage_params! {
    /// pm-cnn's own `train` parameters.
    pub struct PmCnnParams {
        /// fraction of windows scored after every epoch (P&M: 0.2; pm-cnn)
        validation_fraction: f64 = Float { positive: false }, Default("0.2");
        /// fraction of windows held out for evaluate.classifier (pm-cnn)
        test_fraction: f64 = Float { positive: false }, Default("0.2");
        /// random (stratified by label, as P&M) or chronological (earliest windows train; pm-cnn)
        split: Split = Choice(Split::NAMES), Default("\"random\"");
    }
}

pub const MODEL: Model = Model {
    name: "pm-cnn",
    summary: "CNN precursor classifier on 3-component geomagnetic windows (Petrescu & Moldovan 2022, Table 2)",
    citation: "Petrescu, L. & Moldovan, I.-A. (2022). Prospective Neural Network Model for Seismic \
               Precursory Signal Detection in Geomagnetic Field Records. Machine Learning and \
               Knowledge Extraction 4(4), 912-923. doi:10.3390/make4040046",
    contract: Contract {
        channels: "3 geomagnetic components (any number of rows)",
        component_order: None,
        sampling_rate_hz: None,
        samples: Samples::Window {
            min: 4,
            default: 10_080,
        },
        output: Output {
            kind: OutputKind::ClassPerWindow,
            names: &["quiet", "precursor"],
        },
        notes: "samples = window / sampling interval (10,080 for 7 days at 1 min, the paper's interval)",
    },
    trains_on: data::LABELLED_WINDOWS,
    fine_tunes: false,
    params: PluginParams::of::<PmCnnParams>("model", "pm-cnn", check)
        .with_changelog(&["first version (train version 4)"]),
    layers,
    fit,
    predict: None,
    picker: None,
};

/// The two fractions must leave something to train on.
fn check(params: &Params) -> Result<(), ParamError> {
    let p = PmCnnParams::from_params(params)?;
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

/// The input is given the way a pipeline gives it — a window duration and a sampling interval
/// (`window=7d`, `interval=1m`, `components=3`, the defaults) — so the table answers "how big is
/// the network for week-long 1-minute windows" (Table 2: 30,984,834 parameters).
fn layers(settings: &[(&str, &str)]) -> Result<Summary, String> {
    let (mut window, mut interval, mut rows) = (7 * NS_PER_DAY, 60 * NS_PER_S, 3usize);
    for &(k, v) in settings {
        let parsed = match k {
            "window" => parse_duration_ns(v).map(|ns| window = ns),
            "interval" => parse_duration_ns(v).map(|ns| interval = ns),
            "components" => v
                .parse::<usize>()
                .ok()
                .filter(|&n| n > 0)
                .map(|n| rows = n)
                .ok_or_else(|| "expected a positive integer".to_string()),
            other => Err(format!(
                "unknown setting `{other}` (window, interval, components)"
            )),
        };
        parsed.map_err(|e| format!("--set `{k}={v}`: {e}"))?;
    }
    if window <= 0 || interval <= 0 || window % interval != 0 {
        return Err(format!(
            "the window ({}) must be a positive whole number of sampling intervals ({})",
            format_duration_ns(window),
            format_duration_ns(interval)
        ));
    }
    let shape = Shape {
        rows,
        samples: (window / interval) as usize,
    };
    if shape.samples < 4 {
        return Err("pm-cnn needs at least 4 samples per window (two 1x2 poolings)".into());
    }
    Ok(Summary {
        input: format!(
            "input [{} x {}] ({} components, {} window at {} sampling)",
            shape.rows,
            shape.samples,
            shape.rows,
            format_duration_ns(window),
            format_duration_ns(interval)
        ),
        layers: pm_cnn::layers(shape),
    })
}

/// Splits the labelled windows, fits a fresh network and writes weights and split.
fn fit(ctx: &mut RunCtx<'_>, cfg: &Config) -> anyhow::Result<Fitted> {
    let raw = ctx.params;
    let p = PmCnnParams::from_params(raw).map_err(|e| raw.error(e))?;
    let data = windows::read(ctx.input("input")?, ctx.stage_id)?;
    let method = match p.split {
        Split::Chronological => SplitMethod::Chronological,
        Split::Random => SplitMethod::Random,
    };
    let parts = nt::split(
        &data.labels,
        p.validation_fraction,
        p.test_fraction,
        method,
        cfg.seed,
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
        cfg,
        &data,
        &train,
        &validation,
        &device,
        &mut super::progress(ctx.progress),
    )?;
    let out = ctx.output;
    weights::write(&out.create_group("weights")?, &model)?;
    let codes: Vec<i8> = parts.iter().map(|&p| p as i8).collect();
    let ds = h5::write_array(out, "split", &[codes.len()], &codes)?;
    h5::write_str_attr(&ds, "legend", "0 train, 1 validation, 2 test")?;
    let extra = json!({
        "windows": {"train": train.len(), "validation": validation.len(), "test": indices(&parts, Part::Test).len()},
        "final": history.last().map(|h| json!({"train_accuracy": h.train.accuracy, "validation_accuracy": crate::data::trained::finite(h.validation.accuracy)})),
    });
    Ok(Fitted {
        rows: data.shape.rows,
        samples: data.shape.samples,
        parameters: pm_cnn::parameter_count(data.shape),
        history,
        extra,
    })
}

/// The trained network of an entry `fit` wrote, for an input `shape`.
pub fn load(group: &hdf5::Group, shape: Shape) -> anyhow::Result<PmCnn> {
    weights::read(&group.group("weights")?, shape, &nn::device())
}

/// A `train` entry as `evaluate.classifier` and `learning-curve` read it: the hyper-parameters,
/// input shape and split the writer above stored. The weights load on demand ([`Self::model`]).
pub struct TrainEntry {
    group: hdf5::Group,
    pub shape: Shape,
    pub parts: Vec<Part>,
    /// The stored optimizer, learning rate, batch size and epochs (the seed is not stored here:
    /// [`Self::config`] takes the reader's).
    pub hyper: Config,
}

impl TrainEntry {
    /// The training configuration, with a new seed (retraining draws its own).
    pub fn config(&self, seed: u64) -> Config {
        Config {
            seed,
            ..self.hyper.clone()
        }
    }

    /// The trained network.
    pub fn model(&self) -> anyhow::Result<crate::nn::pm_cnn::PmCnn> {
        load(&self.group, self.shape)
    }
}

/// Opens input `model` (a train entry) and input `data` (the labelled windows it was trained on),
/// refusing any other windows: the split indices only mean something for that set.
pub fn open_trained(
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
    super::of_entry(
        g,
        data::LABELLED_WINDOWS,
        &format!("input `{model}` of `{}`", ctx.stage_id),
    )?;
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
        hyper: Config {
            optimizer: h5::read_str_attr(g, "optimizer").map_err(bad)?,
            lr: h5::read_attr::<f64>(g, "lr").map_err(bad)?,
            batch: count("batch")?,
            epochs: count("epochs")?,
            seed: 0,
            schedule: None,
        },
    };
    let windows = windows::read(ctx.input(data)?, ctx.stage_id)?;
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Table 2 of the paper: 30,984,834 trainable parameters for week-long 1-minute windows.
    #[test]
    fn summary_reproduces_the_published_count() {
        let s = layers(&[]).unwrap();
        assert_eq!(s.parameters(), 30_984_834);
        assert!(s.input.starts_with("input [3 x 10080]"), "{}", s.input);
        let e = layers(&[("window", "7d"), ("interval", "5d")])
            .err()
            .unwrap();
        assert!(e.contains("whole number"), "{e}");
        let e = layers(&[("colour", "red")]).err().unwrap();
        assert!(e.contains("--set `colour=red`"), "{e}");
    }
}
