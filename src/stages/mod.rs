//! Stage kinds, one file each, listed once in [`REGISTRY`].
//!
//! | kind             | file                  | what it does                                         |
//! |------------------|-----------------------|------------------------------------------------------|
//! | `fetch.iaga2002` | `fetch_iaga2002.rs`   | reads IAGA-2002 observatory files (local or HTTP)    |
//! | `fetch.catalog`  | `fetch_catalog.rs`    | earthquake catalogs: files, pinned URLs, FDSN query  |
//! | `fetch.kp`       | `fetch_kp.rs`         | the 3-hourly Kp index (CelesTrak or GFZ files)       |
//! | `fetch.waveforms`| `fetch_waveforms.rs`  | 3-C traces with P/S picks (npz, SeisBench, miniSEED) |
//! | `gapfill`        | `gapfill.rs`          | fills short NaN gaps (P&M 2022 §2), reports the rest |
//! | `filter`         | `filter.rs`           | Butterworth low/high/band-pass, zero-phase or causal |
//! | `label.precursor`| `label_precursor.rs`  | labelled, normalised windows before earthquakes (P&M)|
//! | `synth.geomag`   | `synth_geomag.rs`     | synthetic observatory data + catalog + Kp + precursor|
//! | `synth.greens`   | `synth_greens.rs`     | fk Green's functions of a layered Earth (Zhu & Rivera)|
//! | `synth.fmnet`    | `synth_fmnet.rs`      | FMNet training set from a bank, generated on demand  |
//! | `synth.picks`    | `synth_picks.rs`      | local 3-C seismograms with model P/S picks, noise    |
//! | `train`          | `train.rs`            | trains a named model (pm-cnn, fmnet)                 |
//! | `evaluate.classifier` | `evaluate_classifier.rs` | held-out accuracy, confusion, P/R/F1, ROC-AUC |
//! | `evaluate.focal` | `evaluate_focal.rs`   | FMNet: angle errors, Kagan angles, feature search   |
//! | `learning-curve` | `learning_curve.rs`   | retrain on subsets, power-law fit, size projection   |
//! | `compare.training` | `compare_training.rs` | overlays histories of train stages (optimizers)   |
//! | `export.seisbench` | `export_seisbench.rs` | a waveform set as a SeisBench dataset folder      |
//! | `split.waveforms` | `split_waveforms.rs` | train/dev/test by trace, station, network or column |
//! | `select.waveforms` | `select_waveforms.rs` | traces by network, station or split              |
//!
//! Adding a kind is one file here plus one [`REGISTRY`] line: the checklist is in the crate docs
//! ([`crate`], "How to add a stage kind").

use crate::stage::Stage;

pub mod compare_training;
pub mod evaluate_classifier;
pub mod evaluate_continuous;
pub mod evaluate_focal;
pub mod evaluate_picks;
pub mod export_seisbench;
pub mod fetch_catalog;
pub mod fetch_iaga2002;
pub mod fetch_kp;
pub mod fetch_waveforms;
pub mod filter;
pub mod gapfill;
pub mod import_weights;
pub mod label_precursor;
pub mod learning_curve;
pub mod select_waveforms;
pub mod split_waveforms;
pub mod synth_fmnet;
pub mod synth_geomag;
pub mod synth_greens;
pub mod synth_picks;
pub mod train;

/// Every stage kind quakeline knows.
pub static REGISTRY: &[&'static dyn Stage] = &[
    &fetch_iaga2002::FetchIaga2002,
    &fetch_catalog::FetchCatalog,
    &fetch_kp::FetchKp,
    &fetch_waveforms::FetchWaveforms,
    &gapfill::Gapfill,
    &filter::Filter,
    &label_precursor::LabelPrecursor,
    &synth_geomag::SynthGeomag,
    &synth_greens::SynthGreens,
    &synth_fmnet::SynthFmnet,
    &synth_picks::SynthPicks,
    &train::Train,
    &evaluate_classifier::EvaluateClassifier,
    &evaluate_focal::EvaluateFocal,
    &import_weights::ImportWeights,
    &evaluate_picks::EvaluatePicks,
    &evaluate_continuous::EvaluateContinuous,
    &learning_curve::LearningCurve,
    &compare_training::CompareTraining,
    &export_seisbench::ExportSeisbench,
    &split_waveforms::SplitWaveforms,
    &select_waveforms::SelectWaveforms,
];

#[cfg(test)]
mod tests {
    use super::REGISTRY;

    #[test]
    fn every_parameter_field_fits_its_declared_type() {
        let bad: Vec<String> = REGISTRY
            .iter()
            .flat_map(|s| s.param_type_mismatches())
            .collect();
        assert!(bad.is_empty(), "{bad:#?}");
    }

    #[test]
    fn kinds_are_unique_and_changelogs_cover_every_version() {
        let mut kinds: Vec<&str> = REGISTRY.iter().map(|s| s.info().kind).collect();
        for s in REGISTRY {
            let i = s.info();
            assert_eq!(
                i.changelog.len(),
                i.version as usize,
                "{}: one changelog line per version",
                i.kind
            );
            for input in i.inputs {
                assert!(!input.accepts.is_empty(), "{}.{}", i.kind, input.name);
            }
        }
        kinds.sort();
        kinds.dedup();
        assert_eq!(kinds.len(), REGISTRY.len());
    }
}
