//! The model registry: every network `train` can fit, listed once in [`MODELS`].
//!
//! A [`Model`] is one `const` value in its own file: name, full citation with DOI, input contract,
//! the data kind it trains on, its own hyper-parameters (declared with [`crate::stage_params!`],
//! accepted by `train` only when this model is chosen, so no parameter is ignored yet hashed), and
//! the functions that build its layer table, fit it inside a `train` stage and predict from files.
//! `quakeline model summary`, `quakeline predict`, the `train` stage and the trained-entry
//! readers of `evaluate.*` go through this registry; none of them branches on a model name.
//!
//! <!-- models: generated from MODELS by tests/docs.rs (QUAKELINE_BLESS=1) -->
//! | model | file | trains on | version | what it is |
//! | --- | --- | --- | --- | --- |
//! | `pm-cnn` | `pm_cnn.rs` | labelled windows | 1 | CNN precursor classifier on 3-component geomagnetic windows (Petrescu & Moldovan 2022, Table 2) |
//! | `fmnet` | `fmnet.rs` | FMNet training set | 1 | focal mechanism from 16 stations' 3-component waveforms (Kuang et al. 2021, Fig. 6) |
//! | `phasenet` | `phasenet.rs` | labelled waveform set | 1 | U-Net P/S phase picker on 3-C 100 Hz windows (Zhu & Beroza 2019; published weights via import.weights) |
//! | `r2unet` | `r2unet.rs` | labelled waveform set | 1 | recurrent-residual U-Net P/S phase picker (ARRU code's R2U-Net; Hong et al. 2023's KFpicker) |
//! <!-- end models -->
//!
//! Citations, contracts and own parameters: `quakeline model list`. Each model is one file
//! here, its network one under [`crate::nn`].
//!
//! The pickers share their parameters, fit, loading and prediction ([`picker`]): a picker model
//! file is an [`picker::PickerModel`] impl for its network and one `MODEL` from [`picker::model`].
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

/// The data kinds models train on, each once, in [`MODELS`] order: what `train`'s `input`
/// accepts.
pub const TRAINS_ON: [DataKind; distinct_kinds()] = {
    let mut out = [MODELS[0].trains_on; distinct_kinds()];
    let (mut i, mut n) = (0, 0);
    while i < MODELS.len() {
        if first_of_its_kind(i) {
            out[n] = MODELS[i].trains_on;
            n += 1;
        }
        i += 1;
    }
    out
};

/// Whether no model before `i` trains on `MODELS[i]`'s kind (`const`: bytes compared by hand).
const fn first_of_its_kind(i: usize) -> bool {
    let mut j = 0;
    while j < i {
        let (a, b) = (
            MODELS[j].trains_on.name.as_bytes(),
            MODELS[i].trains_on.name.as_bytes(),
        );
        let mut same = a.len() == b.len();
        let mut k = 0;
        while same && k < a.len() {
            same = a[k] == b[k];
            k += 1;
        }
        if same {
            return false;
        }
        j += 1;
    }
    true
}

const fn distinct_kinds() -> usize {
    let (mut i, mut n) = (0, 0);
    while i < MODELS.len() {
        if first_of_its_kind(i) {
            n += 1;
        }
        i += 1;
    }
    n
}

/// The model called `name`.
pub fn get(name: &str) -> Option<&'static Model> {
    MODELS.iter().copied().find(|m| m.name == name)
}

/// The registered model named by attribute `model` of a trained entry (`what` names the entry
/// in messages).
pub fn named_in(g: &hdf5::Group, what: &str) -> anyhow::Result<&'static Model> {
    let name = crate::h5::read_str_attr(g, "model")
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

/// What a model expects as input and produces, typed: checked where data meets the model
/// (`train`, the evaluations, `predict`), stored in the entries it trains (a picker's
/// `sampling_rate_hz`, `window` and `component_order` attributes are derived from it), and shown
/// by `quakeline model summary`. SeisBench keeps the same facts on its model class
/// (`sampling_rate`, `in_samples`, `component_order`, `labels`; Woollam et al. 2022, SRL 93(3),
/// 1695-1709, doi:10.1785/0220210324).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Contract {
    /// The input rows in words (`3 components, Z, N, E`).
    pub channels: &'static str,
    /// The component order of the rows (`ZNE`) where they are one station's components in a
    /// fixed order; `None` where they are not (pm-cnn takes any rows).
    pub component_order: Option<&'static str>,
    /// The sampling rate the model requires, Hz; `None` where it follows the data.
    pub sampling_rate_hz: Option<f64>,
    /// Samples per row.
    pub samples: Samples,
    /// What the output means.
    pub output: Output,
    /// What the typed fields do not say (normalisation, band, how rows are formed).
    pub notes: &'static str,
}

/// Samples per input row.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Samples {
    /// Exactly this many (FMNet's 128).
    Fixed(usize),
    /// Any length from `min`; `train` sets it (`window`), `default` in training.
    Window { min: usize, default: usize },
}

/// What a model outputs.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Output {
    pub kind: OutputKind,
    /// The classes or curves, in output order.
    pub names: &'static [&'static str],
}

/// How the output curves are formed.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum OutputKind {
    /// One probability per class and window, softmax over the classes.
    ClassPerWindow,
    /// One probability per class and sample, softmax over the classes (PhaseNet).
    ClassPerSample,
    /// One curve per name over this many bins, a Gaussian around the value (FMNet).
    GaussianBins(usize),
}

impl Contract {
    /// The lines of `quakeline model summary`.
    pub fn describe(&self) -> Vec<(&'static str, String)> {
        let samples = match self.samples {
            Samples::Fixed(n) => format!("{n}"),
            Samples::Window { min, default } => {
                format!("any window of at least {min} (train's `window`; {default} by default)")
            }
        };
        let sampling = self.sampling_rate_hz.map_or(
            "the training data's (stored in the entry)".to_string(),
            |r| format!("{r} Hz"),
        );
        let names = self.output.names.join(", ");
        let output = match self.output.kind {
            OutputKind::ClassPerWindow => format!(
                "{} classes per window ({names}), softmax",
                self.output.names.len()
            ),
            OutputKind::ClassPerSample => format!(
                "{} curves per sample ({names}), softmax",
                self.output.names.len()
            ),
            OutputKind::GaussianBins(b) => format!(
                "{} Gaussian curves of {b} bins ({names})",
                self.output.names.len()
            ),
        };
        let mut out = vec![
            ("channels", self.channels.to_string()),
            (
                "order",
                self.component_order.unwrap_or("(any rows)").to_string(),
            ),
            ("samples", samples),
            ("sampling", sampling),
            ("output", output),
        ];
        if !self.notes.is_empty() {
            out.push(("notes", self.notes.to_string()));
        }
        out
    }
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

/// One trainable model. See the module docs for how to add one. Its own version is the length
/// of `params`' changelog ([`PluginParams::with_changelog`]); it enters the key of the entries
/// it trains, so a change to one model's training re-keys that model's entries only.
pub struct Model {
    pub name: &'static str,
    /// One line for listings.
    pub summary: &'static str,
    /// Full reference with DOI.
    pub citation: &'static str,
    pub contract: Contract,
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
        let kinds: std::collections::BTreeSet<_> =
            MODELS.iter().map(|m| m.trains_on.name).collect();
        assert_eq!(kinds.len(), TRAINS_ON.len());
        let mut names = NAMES.to_vec();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), MODELS.len());
        for m in MODELS {
            assert!(m.citation.contains("doi"), "{}: cite with a DOI", m.name);
            let bad = (m.params.type_mismatches)();
            assert!(bad.is_empty(), "{}: {bad:?}", m.name);
            assert!(
                m.params.version().is_some(),
                "{}: a model has a changelog (its version)",
                m.name
            );
            assert_eq!(m.params.name, m.name);
            assert!(TRAINS_ON.contains(&m.trains_on), "{}", m.name);
            if m.picker.is_some() {
                assert_eq!(
                    m.contract.component_order,
                    Some(crate::data::waveform_set::COMPONENT_ORDER),
                    "{}: a picker's rows are the labelled sets' components",
                    m.name
                );
            }
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
