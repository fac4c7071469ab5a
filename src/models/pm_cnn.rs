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

use super::{Fitted, InputContract, Model, Summary};
use crate::data::trained::indices;
use crate::data::{self, windows};
use crate::io::h5;
use crate::nn::pm_cnn::{self, PmCnn, Shape};
use crate::nn::train::{self as nt, Config, Part, SplitMethod};
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
    input: InputContract {
        channels: "3 geomagnetic components (any number of rows)",
        samples: "window / sampling interval (10,080 for 7 days at 1 min), at least 4",
        sampling: "the series' interval (1 min in the paper)",
        labels: "2 classes (0 quiet, 1 precursor), softmax",
    },
    trains_on: data::LABELLED_WINDOWS,
    fine_tunes: false,
    params: PluginParams::of::<PmCnnParams>("model \"pm-cnn\"", check),
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
