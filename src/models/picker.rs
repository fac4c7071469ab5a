//! What the phase-picker models (`phasenet`, `r2unet`) share as registry entries: their `train`
//! parameters, the fit on a labelled waveform set (pre-training and fine-tuning), and reading a
//! trained picker back.
//!
//! Training follows Hong, Y., Byun, A.-H., Kim, S., & Sheen, D.-H. (2023), Customization of a
//! deep neural network using local data for seismic phase picking, *Frontiers in Earth Science*
//! 11, 1306488, doi:10.3389/feart.2023.1306488: cross-entropy over (noise, P, S) per sample, Adam
//! at 1e-3, dropout 0.1, the learning rate halved after 5 epochs without a better validation loss,
//! training stopped after 20 and the best epoch kept; 30-s windows at 100 Hz normalised by their
//! standard deviation, truncated-Gaussian labels, random shifts, added noise and dropped channels
//! ([`crate::labeling::phase_windows`]). The traces whose `split` is `train` are trained on, those
//! whose split is `dev` score every epoch (`split.waveforms` sets the column), `test` is left for
//! `evaluate.picks`.
//!
//! Fine-tuning: wire another trained picker of the same architecture as input `init` (its key
//! enters this entry's key through the input); `trainable = "last"` freezes every parameter and
//! batch-norm statistic except the output convolution's (the paper's KFpicker), `"all"` trains
//! everything from the initial weights.
//!
//! A trained picker entry holds `weights/` (PyTorch `state_dict` names, [`crate::nn::weights`]),
//! attributes `sampling_rate_hz`, `component_order` (`ZNE`), `window` (samples), `trainable`,
//! `frozen` (comma-separated module paths, empty when none) and `init_key` (empty when trained
//! from scratch).

use burn::tensor::{Device, Tensor, TensorData};
use serde_json::json;

use super::Fitted;
use crate::data::{self, waveform_set};
use crate::h5;
use crate::labeling::phase_windows::{self, LabelShape, WindowConfig};
use crate::nn::picker::{self, Drop, Picker};
use crate::nn::train::{Config, Plateau, Score};
use crate::nn::{self, weights};
use crate::params::typed::StageParams;
use crate::params::{ParamError, Params};
use crate::rng::Rng;
use crate::stage::{PluginParams, RunCtx};

crate::choice! {
    /// The shape of the P and S label curves.
    pub enum Label {
        TruncatedGaussian = "truncated-gaussian",
        Gaussian = "gaussian",
        Box = "box",
    }
}

crate::choice! {
    /// What fine-tuning trains.
    pub enum Trainable {
        All = "all",
        Last = "last",
    }
}

crate::stage_params! {
    /// The phase pickers' own `train` parameters (phasenet and r2unet declare the same).
    pub struct PickerParams {
        /// samples per training window (pickers; Hong et al. 2023: 3000 = 30 s at 100 Hz)
        window: usize = Int { min: 64, max: 1_000_000 }, Default("3000");
        /// latest window start after the trace start, s (pickers; Hong et al. pre-training: 10; unset: anywhere)
        max_start_s: Option<f64> = Float { positive: false }, Optional;
        /// P and S label shape: truncated-gaussian (PhaseNet), gaussian or box (pickers)
        label: Label = Choice(Label::NAMES), Default("\"truncated-gaussian\"");
        /// label sigma in samples (pickers; PhaseNet: 6)
        label_sigma: f64 = Float { positive: true }, Default("6.0");
        /// label half-width in samples: the truncation, or the box (pickers; PhaseNet: 15)
        label_half_width: f64 = Float { positive: true }, Default("15.0");
        /// probability of adding Gaussian noise to a training window (pickers)
        noise_probability: f64 = Float { positive: false }, Default("0.5");
        /// [low, high] noise sigma as a fraction of each component's maximum (pickers)
        noise_fraction: Vec<f64> = FloatList { min_len: 2, max_len: 2, positive: false }, Default("[0.01, 0.15]");
        /// probability of zeroing one or two components of a training window (pickers)
        drop_probability: f64 = Float { positive: false }, Default("0.3");
        /// dropout rate after every ReLU (pickers; Hong et al.: 0.1)
        dropout: f64 = Float { positive: false }, Default("0.1");
        /// all, or last: only the output layer trains, batch-norm statistics frozen too (pickers, with an init input)
        trainable: Trainable = Choice(Trainable::NAMES), Default("\"all\"");
        /// epochs without a better validation loss before the learning rate is multiplied by lr_factor (pickers)
        lr_patience: usize = Int { min: 1, max: 100_000 }, Default("5");
        /// learning-rate factor on a plateau (pickers)
        lr_factor: f64 = Float { positive: true }, Default("0.5");
        /// epochs without a better validation loss before training stops, best epoch kept (pickers)
        stop_patience: usize = Int { min: 1, max: 100_000 }, Default("20");
    }
}

/// Probabilities and fractions in range; a box label needs no sigma but a Gaussian no half-width.
pub fn check(params: &Params) -> Result<(), ParamError> {
    let p = PickerParams::from_params(params)?;
    for (name, v) in [
        ("noise_probability", p.noise_probability),
        ("drop_probability", p.drop_probability),
    ] {
        if !(0.0..=1.0).contains(&v) {
            return Err(ParamError::new(name, format!("must be in [0, 1], got {v}")));
        }
    }
    if !(0.0..1.0).contains(&p.dropout) {
        return Err(ParamError::new(
            "dropout",
            format!("must be in [0, 1), got {}", p.dropout),
        ));
    }
    let [lo, hi] = [p.noise_fraction[0], p.noise_fraction[1]];
    if !(0.0 <= lo && lo <= hi) {
        return Err(ParamError::new(
            "noise_fraction",
            format!("must be [low, high] with 0 <= low <= high, got [{lo}, {hi}]"),
        ));
    }
    if p.lr_factor >= 1.0 {
        return Err(ParamError::new(
            "lr_factor",
            format!("must be below 1 (a reduction), got {}", p.lr_factor),
        ));
    }
    if p.max_start_s.is_some_and(|s| s < 0.0) {
        return Err(ParamError::new("max_start_s", "must be >= 0"));
    }
    Ok(())
}

impl PickerParams {
    fn window_config(&self, rate_hz: f64) -> WindowConfig {
        WindowConfig {
            samples: self.window,
            max_start: self.max_start_s.map(|s| (s * rate_hz).round() as usize),
            keep_phase: true,
            shape: match self.label {
                Label::TruncatedGaussian => LabelShape::TruncatedGaussian {
                    sigma: self.label_sigma,
                    half_width: self.label_half_width,
                },
                Label::Gaussian => LabelShape::Gaussian {
                    sigma: self.label_sigma,
                },
                Label::Box => LabelShape::Box {
                    half_width: self.label_half_width,
                },
            },
            noise_probability: self.noise_probability,
            noise_fraction: [self.noise_fraction[0], self.noise_fraction[1]],
            drop_probability: self.drop_probability,
        }
    }
}

/// A picker network as a registry model: its [`Picker`] network plus the registry name and the
/// window its layer table shows by default. A picker model file implements this for its network
/// and builds its [`super::Model`] with [`model`].
pub trait PickerModel: Picker + 'static {
    /// The registry name (`phasenet`).
    const NAME: &'static str;
    /// Samples of the window `quakeline model summary` shows without `--set window=…`.
    const SUMMARY_SAMPLES: usize;
}

/// What a picker model file says about itself; [`model`] adds what every picker shares.
pub struct About {
    /// One line for listings.
    pub summary: &'static str,
    /// Full reference with DOI.
    pub citation: &'static str,
    pub contract: super::Contract,
    /// One line per version of the model's own training, oldest first (its version enters the
    /// key of the entries it trains).
    pub changelog: &'static [&'static str],
}

/// The registry entry of picker `M`: trains on a labelled waveform set, fine-tunes, predicts
/// from files and loads for the evaluations, all through the code below.
pub const fn model<M: PickerModel>(about: About) -> super::Model {
    super::Model {
        name: M::NAME,
        summary: about.summary,
        citation: about.citation,
        contract: about.contract,
        trains_on: data::WAVEFORM_SET,
        fine_tunes: true,
        params: PluginParams::of::<PickerParams>("model", M::NAME, check)
            .with_changelog(about.changelog),
        layers: layers::<M>,
        fit: fit::<M>,
        predict: Some(predict_files::<M>),
        picker: Some(loaded::<M>),
    }
}

/// `model summary`: the layer table for `--set window=N` (default [`PickerModel::SUMMARY_SAMPLES`]).
fn layers<M: PickerModel>(settings: &[(&str, &str)]) -> Result<super::Summary, String> {
    let n = samples_setting(settings, M::SUMMARY_SAMPLES)?;
    Ok(super::Summary {
        input: format!(
            "input [3 x {n}] (Z, N, E at 100 Hz); output [{} x {n}] ({})",
            M::CLASSES.len(),
            M::CLASSES.join(", ")
        ),
        layers: M::new(0, &nn::device()).layers(n),
    })
}

/// The network of a trained picker entry `g` of model `M` (`what` names the entry).
pub fn load<M: PickerModel>(g: &hdf5::Group, what: &str, device: &Device) -> anyhow::Result<M> {
    let model = super::of_entry(g, data::WAVEFORM_SET, what)?;
    anyhow::ensure!(
        model.name == M::NAME,
        "{what} holds a `{}` picker; a `{}` cannot start from it (another architecture)",
        model.name,
        M::NAME
    );
    let w = g
        .group("weights")
        .map_err(|e| anyhow::anyhow!("{what}: no `weights` group: {e}"))?;
    weights::load_named(M::new(0, device), &w).map_err(|e| anyhow::anyhow!("{what}: {e:#}"))
}

/// The picker in entry `g`, loaded once, as the registry's [`super::PickerFn`].
pub fn loaded<M: PickerModel>(g: &hdf5::Group, what: &str) -> anyhow::Result<super::PickerFn> {
    let device = nn::device();
    let m = load::<M>(g, what, &device)?;
    Ok(Box::new(move |x: &[f32], samples: usize| {
        picker::predict(&m, x, samples, 32, &device)
    }))
}

crate::choice! {
    /// ScoredSplit traces of a labelled waveform set an evaluation scores, by their split column.
    pub enum ScoredSplit {
        Test = "test",
        Dev = "dev",
        Train = "train",
        All = "all",
    }
}

/// What both picker evaluations (`evaluate.picks`, `evaluate.continuous`) start from: the
/// picker of input `model` (loaded once) with its contract, the set of input `data` checked
/// against it (rate; traces at least one window long), and the traces of `split`.
pub struct Scoring {
    pub model: &'static super::Model,
    pub picker: super::PickerFn,
    pub contract: Stored,
    pub set: Box<dyn waveform_set::Traces>,
    pub chosen: Vec<usize>,
}

/// Opens inputs `model` and `data` of an evaluation stage as [`Scoring`] describes.
pub fn scoring(ctx: &RunCtx<'_>, split: ScoredSplit) -> anyhow::Result<Scoring> {
    let what = format!("input `model` of `{}`", ctx.stage_id);
    let entry = ctx.input("model")?;
    let model = super::of_entry(entry, data::WAVEFORM_SET, &what)?;
    let load = model.picker.ok_or_else(|| {
        anyhow::anyhow!(
            "{what} holds a `{}` model, which is not a phase picker",
            model.name
        )
    })?;
    let c = contract(entry, &what)?;
    let set = waveform_set::open(ctx.input("data")?, ctx.stage_id)?;
    let rate = set.sampling_rate_hz();
    anyhow::ensure!(
        (rate - c.sampling_rate_hz).abs() <= 1e-9 * rate,
        "input `data` of `{}` is at {rate} Hz; the picker was trained at {} Hz (resample with fetch.waveforms' sampling_rate_hz)",
        ctx.stage_id,
        c.sampling_rate_hz
    );
    anyhow::ensure!(
        set.samples() >= c.window,
        "input `data` of `{}`: traces of {} samples are shorter than the picker's window of {}",
        ctx.stage_id,
        set.samples(),
        c.window
    );
    let chosen: Vec<usize> = (0..set.len())
        .filter(|&i| split == ScoredSplit::All || set.meta(i).split == split.name())
        .collect();
    anyhow::ensure!(
        !chosen.is_empty(),
        "input `data` of `{}` has no traces with split `{}` ({}); assign splits with split.waveforms or set split = \"all\"",
        ctx.stage_id,
        split.name(),
        ctx.params.locate("split")
    );
    Ok(Scoring {
        model,
        picker: load(entry, &what)?,
        contract: c,
        set,
        chosen,
    })
}

/// What a trained picker entry says it expects of its input: the model's [`super::Contract`]
/// made concrete by its training (the rate and window it was trained at, the component order of
/// its rows), stored as attributes by [`write_entry`].
#[derive(Clone, Debug, PartialEq)]
pub struct Stored {
    pub sampling_rate_hz: f64,
    pub window: usize,
    pub component_order: String,
}

/// The contract stored in a trained picker entry; one whose rows are not in the order of the
/// labelled waveform sets ([`waveform_set::COMPONENT_ORDER`]) is refused by name.
pub fn contract(g: &hdf5::Group, what: &str) -> anyhow::Result<Stored> {
    let bad = |e: hdf5::Error| anyhow::anyhow!("{what}: not a trained picker entry: {e}");
    let stored = Stored {
        sampling_rate_hz: h5::read_attr(g, "sampling_rate_hz").map_err(bad)?,
        window: h5::read_attr::<u64>(g, "window").map_err(bad)? as usize,
        component_order: h5::read_str_attr(g, "component_order").map_err(bad)?,
    };
    anyhow::ensure!(
        stored.component_order == waveform_set::COMPONENT_ORDER,
        "{what}: the picker takes its rows in the order {}; labelled waveform sets are {}",
        stored.component_order,
        waveform_set::COMPONENT_ORDER
    );
    Ok(stored)
}

/// Writes weights and contract of a picker into a trained entry.
pub fn write_entry<M: Picker>(
    out: &hdf5::Group,
    model: &M,
    contract: &Stored,
    trainable: &str,
    frozen: &str,
    init_key: &str,
) -> anyhow::Result<()> {
    weights::write_tensors(&out.create_group("weights")?, weights::named(model))?;
    let root: &hdf5::Location = out;
    h5::write_attr(root, "sampling_rate_hz", contract.sampling_rate_hz)?;
    h5::write_attr(root, "window", contract.window as u64)?;
    h5::write_str_attr(root, "component_order", &contract.component_order)?;
    h5::write_str_attr(root, "trainable", trainable)?;
    h5::write_str_attr(root, "frozen", frozen)?;
    h5::write_str_attr(root, "init_key", init_key)?;
    Ok(())
}

/// Windows, labels and picks of a fixed (un-augmented) set of examples: the validation data.
struct ValidationWindows {
    x: Vec<f32>,
    y: Vec<f32>,
    picks: Vec<[f64; 2]>,
}

fn validation_windows(
    set: &dyn waveform_set::Traces,
    idx: &[usize],
    cfg: &WindowConfig,
    seed: u64,
) -> Result<ValidationWindows, String> {
    let plain = WindowConfig {
        noise_probability: 0.0,
        drop_probability: 0.0,
        ..cfg.clone()
    };
    let mut f = ValidationWindows {
        x: Vec::new(),
        y: Vec::new(),
        picks: Vec::new(),
    };
    use rayon::prelude::*;
    let examples: Vec<_> = idx
        .par_iter()
        .map(|&i| phase_windows::example(set, i, &plain, seed, u64::MAX))
        .collect();
    for e in examples {
        let e = e?;
        f.x.extend(e.x);
        f.y.extend(e.y);
        f.picks.push([e.p, e.s]);
    }
    Ok(f)
}

/// How many windows have every pick they contain (P, S) found: the maximum of its probability
/// curve within `tol` samples of it. A window without picks counts when neither curve reaches
/// 0.5 anywhere (nothing would be picked at PhaseNet's default threshold).
fn windows_with_every_pick_found(p: &[f32], picks: &[[f64; 2]], n: usize, tol: f64) -> usize {
    picks
        .iter()
        .enumerate()
        .filter(|(w, pk)| {
            pk.iter().enumerate().all(|(ph, &t)| {
                let curve = &p[(w * 3 + ph + 1) * n..(w * 3 + ph + 2) * n];
                let (peak, top) = curve
                    .iter()
                    .enumerate()
                    .fold((0, f32::MIN), |b, (i, &v)| if v > b.1 { (i, v) } else { b });
                if t.is_nan() {
                    top < 0.5
                } else {
                    (peak as f64 - t).abs() <= tol
                }
            })
        })
        .count()
}

/// Fits picker `M` inside a `train` stage: from scratch or from input
/// `init`, on the `train` traces of input `input`, validated on its `dev` traces.
pub fn fit<M: PickerModel>(ctx: &mut RunCtx<'_>, cfg: &Config) -> anyhow::Result<Fitted> {
    let p = PickerParams::from_params(ctx.params).map_err(|e| anyhow::anyhow!("{}", e.message))?;
    let what = format!("the input of `{}` (model {})", ctx.stage_id, M::NAME);
    // Trace by trace: an on-demand set (synth.picks) is generated as batches ask for it.
    let set = waveform_set::open(ctx.input("input")?, ctx.stage_id)?;
    let rate = set.sampling_rate_hz();
    let wcfg = p.window_config(rate);
    anyhow::ensure!(
        set.samples() >= wcfg.samples,
        "{what}: traces of {} samples are shorter than the window of {} (`window`)",
        set.samples(),
        wcfg.samples
    );
    let of_split =
        |s: &str| -> Vec<usize> { (0..set.len()).filter(|&i| set.meta(i).split == s).collect() };
    let (train, dev) = (of_split("train"), of_split("dev"));
    anyhow::ensure!(
        !train.is_empty() && !dev.is_empty(),
        "{what} has {} traces with split `train` and {} with `dev`; a picker trains on `train` and stops early on `dev` (assign them with split.waveforms)",
        train.len(),
        dev.len()
    );
    let device = nn::device();
    let (mut model, init_key) = match ctx.inputs.get("init") {
        Some(init) => {
            let key = init
                .file
                .filename()
                .rsplit('/')
                .next()
                .unwrap_or_default()
                .trim_end_matches(".h5")
                .to_string();
            let iwhat = format!("input `init` of `{}`", ctx.stage_id);
            let m = load::<M>(&init.group, &iwhat, &device)?;
            let c = contract(&init.group, &iwhat)?;
            anyhow::ensure!(
                (c.sampling_rate_hz - rate).abs() <= 1e-9 * rate,
                "{iwhat} was trained at {} Hz; {what} is at {rate} Hz (resample it with fetch.waveforms' sampling_rate_hz)",
                c.sampling_rate_hz
            );
            (m, key)
        }
        None => {
            anyhow::ensure!(
                p.trainable == Trainable::All,
                "`trainable = \"last\"` ({}) fine-tunes a trained picker: wire one as input `init`",
                ctx.params.locate("trainable")
            );
            (M::new(cfg.seed, &device), String::new())
        }
    };
    let frozen = if p.trainable == Trainable::Last {
        model = model.freeze_body();
        let all: Vec<String> = weights::named(&model)
            .into_iter()
            .map(|(n, _, _)| n)
            .filter(|n| !n.starts_with(&format!("{}.", M::OUTPUT)))
            .collect();
        format!("everything but `{}` ({} tensors)", M::OUTPUT, all.len())
    } else {
        String::new()
    };
    // Every training trace must admit a window (long enough, a phase inside when required):
    // refused here, before any epoch, rather than after the last.
    for &i in &train {
        let t = set.meta(i);
        phase_windows::allowed_starts(&wcfg, set.samples(), t.p_sample, t.s_sample)
            .map_err(|e| anyhow::anyhow!("{what}: trace `{}`: {e}", t.name))?;
    }
    let n = wcfg.samples;
    let val = validation_windows(set.as_ref(), &dev, &wcfg, cfg.seed)
        .map_err(|e| anyhow::anyhow!("{what}: {e}"))?;
    let tol = 0.5 * rate;
    ctx.progress.set_length(cfg.steps(train.len()) as u64);
    let ad = device.clone().autodiff();
    let mut step = 0u64;
    let mut example_error: Option<String> = None;
    let plateau_cfg = Config {
        schedule: Some(Plateau {
            lr_patience: p.lr_patience,
            factor: p.lr_factor,
            stop_patience: p.stop_patience,
        }),
        ..cfg.clone()
    };
    let dev_idx: Vec<usize> = (0..dev.len()).collect();
    let (model, history) = nn::train::epochs(
        &plateau_cfg,
        model.train(),
        &train,
        &dev_idx,
        &format!("nn/{}/batches", M::NAME),
        &mut |m, epoch, idx| {
            let (mut x, mut y, mut picks) = (Vec::new(), Vec::new(), Vec::new());
            // In parallel (an on-demand trace is synthesised here), assembled in order.
            use rayon::prelude::*;
            let examples: Vec<_> = idx
                .par_iter()
                .map(|&i| phase_windows::example(set.as_ref(), i, &wcfg, cfg.seed, epoch as u64))
                .collect();
            for example in examples {
                match example {
                    Ok(e) => {
                        x.extend(e.x);
                        y.extend(e.y);
                        picks.push([e.p, e.s]);
                    }
                    Err(e) => {
                        example_error.get_or_insert(e);
                        x.extend(vec![0f32; 3 * n]);
                        y.extend(vec![0f32; 3 * n]);
                        picks.push([f64::NAN; 2]);
                    }
                }
            }
            let b = idx.len();
            let xt = Tensor::<3>::from_data(TensorData::new(x, [b, 3, n]), &ad);
            let yt = Tensor::<3>::from_data(TensorData::new(y, [b, 3, n]), &ad);
            let mut drop = Drop::new(
                p.dropout,
                Rng::new(cfg.seed, &format!("nn/picker/dropout/{step}")),
            );
            step += 1;
            let logits = m.logits(xt, &mut drop);
            let probs: Vec<f32> = burn::tensor::activation::softmax(logits.clone().detach(), 1)
                .into_data()
                .convert::<f32>()
                .try_to_vec::<f32>()
                .expect("f32");
            (
                M::loss(logits, yt),
                windows_with_every_pick_found(&probs, &picks, n, tol),
            )
        },
        &mut |m, idx| {
            let xs: Vec<f32> = idx
                .iter()
                .flat_map(|&i| val.x[i * 3 * n..(i + 1) * 3 * n].iter().copied())
                .collect();
            let probs = picker::predict(m, &xs, n, cfg.batch.max(16), &device);
            let mut ce = 0f64;
            for (k, &i) in idx.iter().enumerate() {
                let y = &val.y[i * 3 * n..(i + 1) * 3 * n];
                let pr = &probs[k * 3 * n..(k + 1) * 3 * n];
                ce -= y
                    .iter()
                    .zip(pr)
                    .map(|(y, p)| f64::from(*y) * f64::from(p.max(1e-12)).ln())
                    .sum::<f64>();
            }
            let picks: Vec<[f64; 2]> = idx.iter().map(|&i| val.picks[i]).collect();
            Score {
                loss: ce / (idx.len() * n) as f64,
                accuracy: windows_with_every_pick_found(&probs, &picks, n, tol) as f64
                    / idx.len() as f64,
            }
        },
        &mut super::progress(ctx.progress),
    )?;
    if let Some(e) = example_error {
        anyhow::bail!("{what}: {e}");
    }
    let parameters = weights::named(&model)
        .iter()
        .filter(|(n, _, _)| !n.contains("running_"))
        .map(|(_, s, _)| s.iter().product::<usize>())
        .sum();
    let best = history
        .iter()
        .enumerate()
        .min_by(|a, b| a.1.validation.loss.total_cmp(&b.1.validation.loss))
        .map_or(0, |(e, _)| e + 1);
    let contract = Stored {
        sampling_rate_hz: rate,
        window: n,
        component_order: waveform_set::COMPONENT_ORDER.to_string(),
    };
    write_entry(
        ctx.output,
        &model,
        &contract,
        p.trainable.name(),
        &frozen,
        &init_key,
    )?;
    h5::write_attr(ctx.output as &hdf5::Location, "best_epoch", best as u64)?;
    Ok(Fitted {
        rows: 3,
        samples: n,
        parameters,
        history,
        extra: json!({
            "accuracy": "fraction of windows whose P and S probability curves peak within 0.5 s of the window's picks (a window without a pick: neither curve reaches 0.5)",
            "best_epoch": best,
            "trainable": p.trainable.name(),
            "frozen": frozen,
            "init_key": init_key,
            "traces": {"train": train.len(), "dev": dev.len()},
        }),
    })
}

/// One 3-C trace read for `quakeline predict`.
struct InputTrace {
    name: String,
    /// `[3, n]`, Z, N, E.
    data: Vec<f32>,
    n: usize,
    rate_hz: f64,
    /// Start time (ns since 1970 UTC) when the format has one.
    start_ns: Option<i64>,
}

/// The traces of `quakeline predict`'s input files, handed to `each` one at a time: PhaseNet
/// `.npz` files (one trace each), miniSEED files (every station trace in them, decoded one
/// station at a time, so a day-long network needs the memory of one station-day), or the SAC
/// files of one station's components.
fn read_inputs(
    paths: &[std::path::PathBuf],
    each: &mut dyn FnMut(InputTrace) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    use crate::io::waveforms::{self, Format, mseed, npz, sac};
    let mut mseed_files = Vec::new();
    let mut sacs = Vec::new();
    for p in paths {
        let label = p.display().to_string();
        // By content, through the format registry: an unrecognised file is an error naming the
        // formats tried, never read as miniSEED on the off chance.
        match waveforms::sniff_file(p)? {
            Format::Npz => {
                let bytes = std::fs::read(p).map_err(|e| anyhow::anyhow!("{label}: {e}"))?;
                let t = npz::parse(&label, &bytes)?;
                each(InputTrace {
                    name: t.trace.name.clone(),
                    n: t.data.len() / 3,
                    data: t.data,
                    rate_hz: t.sampling_rate_hz,
                    start_ns: None,
                })?;
            }
            Format::Sac => sacs.push((label.clone(), sac::read(p)?)),
            Format::Mseed => {
                let bytes = std::fs::read(p).map_err(|e| anyhow::anyhow!("{label}: {e}"))?;
                mseed_files.push((label, bytes));
            }
            Format::Seisbench => anyhow::bail!(
                "{label}: part of a SeisBench set; predict reads continuous data (miniSEED, SAC) and npz traces: read a SeisBench set with fetch.waveforms and evaluate it with evaluate.picks"
            ),
        }
    }
    if !mseed_files.is_empty() {
        let one = crate::signal::resample::Ratio::new(1, 1);
        for st in mseed::stations(&mseed_files, 60_000_000_000)? {
            each(InputTrace {
                name: st.name.clone(),
                data: st.rows(&mseed_files, one, st.samples)?,
                n: st.samples,
                rate_hz: st.rate_hz,
                start_ns: Some(st.start_ns),
            })?;
        }
    }
    if !sacs.is_empty() {
        let mut rows: [Option<&Vec<f32>>; 3] = [None; 3];
        let delta = sacs[0].1.delta;
        for (label, t) in &sacs {
            let row = match t.kcmpnm.trim().chars().last() {
                Some('Z') => 0,
                Some('N' | '1') => 1,
                Some('E' | '2') => 2,
                _ => anyhow::bail!(
                    "{label}: component `{}` is not Z, N/1 or E/2",
                    t.kcmpnm.trim()
                ),
            };
            anyhow::ensure!(
                rows[row].is_none(),
                "{label}: a second SAC file of component {}",
                ["Z", "N", "E"][row]
            );
            anyhow::ensure!(
                (t.delta - delta).abs() <= 1e-9 * delta,
                "{label}: delta {} differs from {}'s {delta}",
                t.delta,
                sacs[0].0
            );
            rows[row] = Some(&t.data);
        }
        let n = rows.iter().flatten().map(|r| r.len()).min().unwrap_or(0);
        let mut data = vec![0f32; 3 * n];
        for (c, r) in rows.iter().enumerate() {
            if let Some(r) = r {
                data[c * n..(c + 1) * n].copy_from_slice(&r[..n]);
            }
        }
        let t = &sacs[0].1;
        each(InputTrace {
            name: format!("{}.{}", t.knetwk.trim(), t.kstnm.trim()),
            data,
            n,
            rate_hz: 1.0 / delta,
            start_ns: None,
        })?;
    }
    Ok(())
}

/// `quakeline predict` for a picker: each input trace annotated whole (windows every
/// `stride_s`, 1 s by default, outputs median-merged, Hong et al. 2023), streamed into the pick
/// detector (picks at 0.3 at least 0.5 s apart), with the time the annotation took (median of
/// `repeat` runs after a warm-up).
pub fn predict_files<M: PickerModel>(a: &super::PredictArgs<'_>) -> anyhow::Result<Vec<String>> {
    use crate::data::waveform_set::span;
    use crate::labeling::continuous::{Merge, Slide, detect_stream};
    use crate::labeling::picks;
    let device = nn::device();
    let model = load::<M>(a.entry, "the entry", &device)?;
    let c = contract(a.entry, "the entry")?;
    let slide = Slide {
        window: c.window,
        stride: (a.stride_s * c.sampling_rate_hz).round().max(1.0) as usize,
        merge: Merge::Median,
        batch: 32,
    };
    let min_distance = (0.5 * c.sampling_rate_hz).round() as usize;
    let mut lines = Vec::new();
    let mut traces = 0;
    read_inputs(a.inputs, &mut |t| {
        traces += 1;
        anyhow::ensure!(
            (t.rate_hz - c.sampling_rate_hz).abs() <= 1e-9 * c.sampling_rate_hz,
            "{}: {} Hz; the picker was trained at {} Hz (resample the data first)",
            t.name,
            t.rate_hz,
            c.sampling_rate_hz
        );
        let n = t.n;
        let run = || -> anyhow::Result<[Vec<Vec<picks::Pick>>; 2]> {
            detect_stream(
                n,
                &slide,
                &mut |s, e| Ok(span(&t.data, n, s, e)),
                &mut |x| Ok(picker::predict(&model, x, c.window, 32, &device)),
                &[0.3],
                min_distance,
            )
        };
        let [p_picks, s_picks] = run()
            .map_err(|e| anyhow::anyhow!("{}: {e}", t.name))?
            .map(|mut at| at.pop().unwrap_or_default());
        let mut times: Vec<f64> = (0..a.repeat.max(1))
            .map(|_| {
                let t0 = std::time::Instant::now();
                let _ = run();
                t0.elapsed().as_secs_f64()
            })
            .collect();
        times.sort_by(f64::total_cmp);
        let took = times[times.len() / 2];
        let dt = 1.0 / t.rate_hz;
        let mut found: Vec<(usize, &str, f32)> = p_picks
            .iter()
            .map(|p| (p.sample, "P", p.probability))
            .chain(s_picks.iter().map(|p| (p.sample, "S", p.probability)))
            .collect();
        found.sort_by_key(|f| f.0);
        for (sample, phase, prob) in found {
            let secs = sample as f64 * dt;
            let at = match t.start_ns {
                Some(s) => crate::time::format_rfc3339(s + (secs * 1e9).round() as i64),
                None => format!("{secs:.2} s after the trace start"),
            };
            lines.push(format!("{}  {phase}  {at}  probability {prob:.3}", t.name));
        }
        lines.push(format!(
            "{}: {:.1} s of 3-C data annotated in {:.3} s ({:.0}x real time, {:.3} h of data per s; windows of {} every {} s, median-merged; median of {} runs)",
            t.name,
            n as f64 * dt,
            took,
            n as f64 * dt / took.max(1e-9),
            n as f64 * dt / 3600.0 / took.max(1e-9),
            c.window,
            slide.stride as f64 * dt,
            times.len()
        ));
        Ok(())
    })?;
    anyhow::ensure!(traces > 0, "no 3-C trace in the input files");
    Ok(lines)
}

/// The layer-table settings pickers accept in `model summary`: `samples=N`.
pub fn samples_setting(settings: &[(&str, &str)], default: usize) -> Result<usize, String> {
    let mut n = default;
    for (k, v) in settings {
        match *k {
            "samples" | "window" => {
                n =
                    v.parse().ok().filter(|n| *n >= 64).ok_or_else(|| {
                        format!("--set `{k}={v}`: a window of at least 64 samples")
                    })?;
            }
            _ => {
                return Err(format!(
                    "--set `{k}`: pickers take only `samples` (window length)"
                ));
            }
        }
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_window_is_right_when_every_pick_it_holds_is_found() {
        let n = 10;
        let mut p = vec![0f32; 3 * n];
        p[n + 3] = 0.9; // P peak at 3
        p[2 * n + 9] = 0.4; // S curve peaks at 9, below 0.5
        assert_eq!(windows_with_every_pick_found(&p, &[[4.0, 9.0]], n, 1.0), 1);
        assert_eq!(windows_with_every_pick_found(&p, &[[4.0, 5.0]], n, 1.0), 0);
        assert_eq!(
            windows_with_every_pick_found(&p, &[[4.0, f64::NAN]], n, 1.0),
            1
        );
        assert_eq!(
            windows_with_every_pick_found(&p, &[[f64::NAN, f64::NAN]], n, 1.0),
            0
        );
    }
}
