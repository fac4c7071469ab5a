//! What the phase-picker models (`phasenet`, `r2unet`) share as registry entries. Here: the
//! [`PickerModel`] trait, the registry entry [`model`] builds from it, the shared [`contract`],
//! and the trained entry ([`Stored`], [`write_entry`], [`load`]). Beside it, one concern each:
//!
//! | module      | what |
//! |-------------|------|
//! | `params`    | the pickers' own `train` parameters and their checks ([`PickerParams`]) |
//! | `fit`       | training inside a `train` stage: from scratch or fine-tuned ([`fit`]) |
//! | `scoring`   | what `evaluate.picks` and `evaluate.continuous` start from ([`scoring`]) |
//! | `predict`   | `quakeline predict`: input files, sliding, merged picks ([`predict_files`]) |
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

mod fit;
mod params;
mod predict;
mod scoring;

pub use fit::fit;
pub use params::{Label, PickerParams, Trainable, check};
pub use predict::predict_files;
pub use scoring::{ScoredSplit, Scoring, scoring};

use burn::tensor::Device;

use crate::data::{self, waveform_set};
use crate::h5;
use crate::nn::picker::{self, Picker};
use crate::nn::{self, weights};
use crate::stage::PluginParams;

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

/// The contract every picker shares: Z, N, E rows at the training data's rate (stored in the
/// entry), windows from 64 samples (3000 = 30 s by default), one softmax curve per sample for
/// noise, P and S; `channels` and `notes` say what is particular to the model.
pub const fn contract(channels: &'static str, notes: &'static str) -> super::Contract {
    super::Contract {
        channels,
        component_order: Some(waveform_set::COMPONENT_ORDER),
        sampling_rate_hz: None,
        samples: super::Samples::Window {
            min: 64,
            default: 3000,
        },
        output: super::Output {
            kind: super::OutputKind::ClassPerSample,
            names: &["noise", "P", "S"],
        },
        notes,
    }
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
pub fn stored(g: &hdf5::Group, what: &str) -> anyhow::Result<Stored> {
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
