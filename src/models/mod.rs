//! The model registry: every network `train` can fit, listed once in [`MODELS`].
//!
//! A [`Model`] is one `const` value in its own file: name, full citation with DOI, input contract,
//! the data kind it trains on, its own hyper-parameters (declared with [`crate::stage_params!`],
//! accepted by `train` only when this model is chosen, so no parameter is ignored yet hashed), and
//! the functions that build its layer table, fit it inside a `train` stage and predict from files.
//! `quakeline model summary`, `quakeline predict`, the `train` stage and the trained-entry
//! readers of `evaluate.*` go through this registry; none of them branches on a model name.
//!
//! | model    | file           | network                                              | trains on |
//! |----------|----------------|------------------------------------------------------|-----------|
//! | `pm-cnn` | `pm_cnn.rs`    | [`crate::nn::pm_cnn`]: Petrescu & Moldovan 2022, Table 2 | labelled windows |
//! | `fmnet`  | `fmnet.rs`     | [`crate::nn::fmnet`]: Kuang et al. 2021, Fig. 6       | a `synth.fmnet` set |
//! | `phasenet` | `phasenet.rs` | [`crate::nn::phasenet`]: Zhu & Beroza 2019          | a labelled waveform set |
//! | `r2unet` | `r2unet.rs`    | [`crate::nn::r2unet`]: ARRU's R2U-Net, Hong et al. 2023 | a labelled waveform set |
//!
//! The pickers share their parameters and fit ([`picker`]).
//!
//! Adding a model is one file here plus one [`MODELS`] line: the checklist is in the crate docs
//! ([`crate`], "How to add a model").

pub mod fmnet;
pub mod phasenet;
pub mod picker;
pub mod pm_cnn;
pub mod r2unet;

use std::path::PathBuf;

use crate::nn::LayerRow;
use crate::nn::train::{Config, Epoch};
use crate::stage::DataKind;
use crate::stage::{PluginParams, RunCtx};

/// Every model quakeline can train.
pub const MODELS: &[&Model] = &[
    &pm_cnn::MODEL,
    &fmnet::MODEL,
    &phasenet::MODEL,
    &r2unet::MODEL,
];

/// The names of [`MODELS`], in order (`train`'s `model` choice).
pub const NAMES: [&str; MODELS.len()] = {
    let mut out = [""; MODELS.len()];
    let mut i = 0;
    while i < MODELS.len() {
        out[i] = MODELS[i].name;
        i += 1;
    }
    out
};

/// The model called `name`.
pub fn get(name: &str) -> Option<&'static Model> {
    MODELS.iter().copied().find(|m| m.name == name)
}

/// The registered model named by attribute `model` of a trained entry (`what` names the entry
/// in messages).
pub fn named_in(g: &hdf5::Group, what: &str) -> anyhow::Result<&'static Model> {
    let name = crate::io::h5::read_str_attr(g, "model")
        .map_err(|e| anyhow::anyhow!("{what} is not a train entry (attribute `model`: {e})"))?;
    get(&name).ok_or_else(|| {
        anyhow::anyhow!(
            "{what} holds a `{name}` model, which this quakeline does not know (known: {})",
            NAMES.join(", ")
        )
    })
}

/// [`named_in`], refusing a model that does not train on `kind` (a focal-mechanism network handed
/// to a classifier evaluation).
pub fn of_entry(g: &hdf5::Group, kind: DataKind, what: &str) -> anyhow::Result<&'static Model> {
    let model = named_in(g, what)?;
    let name = model.name;
    anyhow::ensure!(
        model.trains_on == kind,
        "{what} holds a `{name}` model, trained on {}; this needs one trained on {}",
        model.trains_on.name,
        kind.name
    );
    Ok(model)
}

/// What a model expects as input and produces as output, for people and for `model summary`.
pub struct InputContract {
    /// Channels (rows) of one example.
    pub channels: &'static str,
    /// Samples per channel.
    pub samples: &'static str,
    /// Sampling interval.
    pub sampling: &'static str,
    /// What the output means.
    pub labels: &'static str,
}

/// The layer table for one input size.
pub struct Summary {
    /// The input in words (`input [3 x 10080] (3 components, 7d window at 1m sampling)`).
    pub input: String,
    pub layers: Vec<LayerRow>,
}

impl Summary {
    /// Trainable parameters: the sum of the rows.
    pub fn parameters(&self) -> usize {
        self.layers.iter().map(|l| l.parameters).sum()
    }
}

/// What a fit reports to the `train` stage, which records it the same way for every model.
pub struct Fitted {
    /// Input rows and samples the network was built for.
    pub rows: usize,
    pub samples: usize,
    pub parameters: usize,
    pub history: Vec<Epoch>,
    /// Model-specific fields of `history.json` (part sizes, what accuracy means).
    pub extra: serde_json::Value,
}

/// `quakeline predict` arguments after parsing.
pub struct PredictArgs<'a> {
    /// The trained entry (its digest already verified against its manifest).
    pub entry: &'a hdf5::File,
    pub inputs: &'a [PathBuf],
    /// Timed repetitions after a warm-up.
    pub repeat: usize,
    /// Pickers: step between windows over a continuous trace, s.
    pub stride_s: f64,
}

/// `model summary`: `--set KEY=VALUE` settings → the layer table, or an error naming the setting.
pub type LayersFn = fn(settings: &[(&str, &str)]) -> Result<Summary, String>;
/// `quakeline predict`: input files → the lines to print.
pub type PredictFn = fn(&PredictArgs<'_>) -> anyhow::Result<Vec<String>>;
/// A loaded phase picker: normalised windows `[n, 3, samples]` (flat), `samples` →
/// probabilities `[n, 3 (noise, P, S), samples]` (flat).
pub type PickerFn = Box<dyn Fn(&[f32], usize) -> Vec<f32>>;
/// Loads the phase picker of a trained entry (`what` names it in messages), once per stage.
pub type LoadPickerFn = fn(entry: &hdf5::Group, what: &str) -> anyhow::Result<PickerFn>;

/// One trainable model. See the module docs for how to add one.
pub struct Model {
    pub name: &'static str,
    /// One line for listings.
    pub summary: &'static str,
    /// Full reference with DOI.
    pub citation: &'static str,
    pub input: InputContract,
    /// The data kind `train`'s input must be for this model.
    pub trains_on: DataKind,
    /// Whether `train` can start it from another trained entry (input `init`).
    pub fine_tunes: bool,
    /// Its hyper-parameters beyond the shared `optimizer`, `lr`, `batch`, `epochs`.
    pub params: PluginParams,
    /// The layer table for `model summary --set KEY=VALUE` settings (an error names the setting).
    pub layers: LayersFn,
    /// Fits the model on the `train` stage's input `input` and writes its weights (and whatever
    /// its readers need) into `ctx.output`; the stage records history and metrics.
    pub fit: fn(ctx: &mut RunCtx<'_>, cfg: &Config) -> anyhow::Result<Fitted>,
    /// Predicts from files and returns the lines to print; `None` when the model has no file
    /// input (a window classifier is scored by `evaluate.classifier`).
    pub predict: Option<PredictFn>,
    /// Loads a trained phase picker for `evaluate.picks` and `evaluate.continuous`; `None` for
    /// other models.
    pub picker: Option<LoadPickerFn>,
}

/// Moves a stage's progress bar to each optimizer step and shows epoch, batch and loss.
pub fn progress(bar: &indicatif::ProgressBar) -> impl FnMut(&crate::nn::train::Tick) + '_ {
    move |t| {
        bar.set_position(t.steps() as u64);
        bar.set_message(format!(
            "epoch {}/{} batch {}/{} loss {:.5}",
            t.epoch, t.epochs, t.batch, t.batches, t.loss
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_every_model_is_cited_and_declared() {
        let mut names = NAMES.to_vec();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), MODELS.len());
        for m in MODELS {
            assert!(m.citation.contains("doi"), "{}: cite with a DOI", m.name);
            let bad = (m.params.type_mismatches)();
            assert!(bad.is_empty(), "{}: {bad:?}", m.name);
            assert!(get(m.name).is_some());
        }
    }

    /// Two models may declare the same parameter name only alike: `train` lists it once.
    #[test]
    fn shared_parameter_names_are_declared_alike() {
        for a in MODELS {
            for b in MODELS {
                for sa in a.params.specs {
                    if let Some(sb) = b.params.specs.iter().find(|s| s.name == sa.name) {
                        assert_eq!(format!("{sa:?}"), format!("{sb:?}"), "{}", sa.name);
                    }
                }
            }
        }
    }
}
