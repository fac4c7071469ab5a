//! Typed data between stages: every entry layout that crosses a stage boundary, owned here.
//!
//! A stage kind declares the [`DataKind`] of each input it reads and of each output it writes
//! ([`crate::stage::StageInfo`]); the DAG check compares them before any I/O, so wiring a
//! catalog into `filter` is a plan-time error pointing at the reference. The writer and the
//! reader of a layout live side by side in one module here (SeisBench's `data_format` habit:
//! the layout table is in that module's doc), so no stage file imports another.
//!
//! | kind                  | constant                  | layout module                  | written by |
//! |-----------------------|---------------------------|--------------------------------|------------|
//! | time series           | [`TIME_SERIES`]           | [`crate::series`]              | `fetch.iaga2002`, `gapfill`, `filter`, `synth.geomag/series` |
//! | earthquake catalog    | [`CATALOG`]               | [`crate::io::catalog`]         | `fetch.catalog`, `synth.geomag/catalog` |
//! | Kp index              | [`KP`]                    | [`crate::io::kp`]              | `fetch.kp`, `synth.geomag/kp` |
//! | precursor truth       | [`PRECURSOR_TRUTH`]       | [`crate::synth::geomag`]       | `synth.geomag/truth` |
//! | labelled windows      | [`LABELLED_WINDOWS`]      | [`windows`]                    | `label.precursor` |
//! | Green's-function bank | [`GREENS_BANK`]           | [`greens_bank`]                | `synth.greens` |
//! | FMNet training set    | [`FMNET_SET`]             | [`fmnet_set`]                  | `synth.fmnet` |
//! | labelled waveform set | [`WAVEFORM_SET`]          | [`waveform_set`] (on demand: [`picks_recipe`]) | `fetch.waveforms`, `synth.picks`, `filter`, `split.waveforms`, `select.waveforms` |
//! | trained model         | [`TRAINED_MODEL`]         | [`trained`], pickers: [`crate::models::picker`] | `train`, `import.weights` |
//! | classifier evaluation | [`CLASSIFIER_EVALUATION`] | `evaluate.classifier`'s doc    | `evaluate.classifier` |
//! | focal evaluation      | [`FOCAL_EVALUATION`]      | `evaluate.focal`'s doc         | `evaluate.focal` |
//! | pick evaluation       | [`PICK_EVALUATION`]       | `evaluate.picks`'s doc         | `evaluate.picks` |
//! | learning curve        | [`LEARNING_CURVE`]        | `learning-curve`'s doc         | `learning-curve` |
//! | training comparison   | [`TRAINING_COMPARISON`]   | `compare.training`'s doc       | `compare.training` |
//! | SeisBench export      | [`SEISBENCH_EXPORT`]      | [`crate::io::waveforms::seisbench`]       | `export.seisbench` |
//!
//! The last five are read by people (results files, `quakeline show`), not by other stages.

use crate::stage::DataKind;

pub mod fmnet_set;
pub mod greens_bank;
pub mod picks_recipe;
pub mod trained;
pub mod waveform_set;
pub mod windows;

pub const TIME_SERIES: DataKind = DataKind {
    name: "time series",
};
pub const CATALOG: DataKind = DataKind {
    name: "earthquake catalog",
};
pub const KP: DataKind = DataKind { name: "Kp index" };
pub const PRECURSOR_TRUTH: DataKind = DataKind {
    name: "precursor truth",
};
pub const LABELLED_WINDOWS: DataKind = DataKind {
    name: "labelled windows",
};
pub const GREENS_BANK: DataKind = DataKind {
    name: "Green's-function bank",
};
pub const FMNET_SET: DataKind = DataKind {
    name: "FMNet training set",
};
pub const WAVEFORM_SET: DataKind = DataKind {
    name: "labelled waveform set",
};
pub const TRAINED_MODEL: DataKind = DataKind {
    name: "trained model",
};
pub const CLASSIFIER_EVALUATION: DataKind = DataKind {
    name: "classifier evaluation",
};
pub const FOCAL_EVALUATION: DataKind = DataKind {
    name: "focal-mechanism evaluation",
};
pub const PICK_EVALUATION: DataKind = DataKind {
    name: "pick evaluation",
};
pub const LEARNING_CURVE: DataKind = DataKind {
    name: "learning curve",
};
pub const TRAINING_COMPARISON: DataKind = DataKind {
    name: "training comparison",
};
pub const SEISBENCH_EXPORT: DataKind = DataKind {
    name: "SeisBench export",
};
