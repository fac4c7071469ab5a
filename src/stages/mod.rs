//! Stage kinds, one file each, listed once in [`REGISTRY`].
//!
//! | kind             | file                  | what it does                                         |
//! |------------------|-----------------------|------------------------------------------------------|
//! | `fetch.iaga2002` | `fetch_iaga2002.rs`   | reads IAGA-2002 observatory files (local or HTTP)    |
//! | `fetch.catalog`  | `fetch_catalog.rs`    | earthquake catalogs: files, pinned URLs, FDSN query  |
//! | `fetch.kp`       | `fetch_kp.rs`         | the 3-hourly Kp index (CelesTrak or GFZ files)       |
//! | `gapfill`        | `gapfill.rs`          | fills short NaN gaps (P&M 2022 §2), reports the rest |
//! | `filter`         | `filter.rs`           | Butterworth low/high/band-pass, zero-phase or causal |
//! | `label.precursor`| `label_precursor.rs`  | labelled, normalised windows before earthquakes (P&M)|
//! | `synth.geomag`   | `synth_geomag.rs`     | synthetic observatory data + catalog + Kp + precursor|
//! | `synth.greens`   | `synth_greens.rs`     | fk Green's functions of a layered Earth (Zhu & Rivera)|
//! | `synth.fmnet`    | `synth_fmnet.rs`      | FMNet training set from a bank, generated on demand  |
//! | `train`          | `train.rs`            | trains a named model (pm-cnn, fmnet)                 |
//! | `evaluate.classifier` | `evaluate_classifier.rs` | held-out accuracy, confusion, P/R/F1, ROC-AUC |
//! | `evaluate.focal` | `evaluate_focal.rs`   | FMNet: angle errors, Kagan angles, feature search   |
//! | `learning-curve` | `learning_curve.rs`   | retrain on subsets, power-law fit, size projection   |
//! | `compare.training` | `compare_training.rs` | overlays histories of train stages (optimizers)   |
//!
//! To add a kind: write `src/stages/<kind>.rs` with a unit struct implementing
//! [`Stage`](crate::stage::Stage) (doc headings: purpose, inputs, outputs, parameters, cache key,
//! references; tests at the bottom), then add one line to [`REGISTRY`].

use crate::stage::Stage;

pub mod compare_training;
pub mod evaluate_classifier;
pub mod evaluate_focal;
pub mod fetch_catalog;
pub mod fetch_iaga2002;
pub mod fetch_kp;
pub mod filter;
pub mod gapfill;
pub mod label_precursor;
pub mod learning_curve;
pub mod sources;
pub mod synth_fmnet;
pub mod synth_geomag;
pub mod synth_greens;
pub mod train;

/// Every stage kind quakeline knows.
pub static REGISTRY: &[&'static dyn Stage] = &[
    &fetch_iaga2002::FetchIaga2002,
    &fetch_catalog::FetchCatalog,
    &fetch_kp::FetchKp,
    &gapfill::Gapfill,
    &filter::Filter,
    &label_precursor::LabelPrecursor,
    &synth_geomag::SynthGeomag,
    &synth_greens::SynthGreens,
    &synth_fmnet::SynthFmnet,
    &train::Train,
    &evaluate_classifier::EvaluateClassifier,
    &evaluate_focal::EvaluateFocal,
    &learning_curve::LearningCurve,
    &compare_training::CompareTraining,
];

/// The single `input` of a one-input stage, read as a time series.
pub(crate) fn input_series(
    ctx: &crate::stage::RunCtx<'_>,
) -> anyhow::Result<crate::series::TimeSeries> {
    let file = ctx.input("input")?;
    crate::series::TimeSeries::read_h5(file).map_err(|e| {
        anyhow::anyhow!(
            "input of stage `{}` is not a time series: {e}",
            ctx.stage_id
        )
    })
}
