//! Stage kinds, one file each, listed once in [`REGISTRY`].
//!
//! <!-- kinds: generated from REGISTRY by tests/docs.rs (QUAKELINE_BLESS=1) -->
//! | kind | file | what it does |
//! | --- | --- | --- |
//! | `fetch.iaga2002` | `fetch_iaga2002.rs` | read IAGA-2002 geomagnetic observatory files (local globs or pinned URLs) |
//! | `fetch.catalog` | `fetch_catalog.rs` | read an earthquake catalog (FDSN text, QuakeML 1.2, ISC IMS1.0) from files, pinned URLs or an FDSN query |
//! | `fetch.kp` | `fetch_kp.rs` | read the 3-hourly Kp index (CelesTrak SW or GFZ Kp_ap_Ap_SN_F107 files) |
//! | `fetch.waveforms` | `fetch_waveforms.rs` | read 3-C traces with P/S picks (PhaseNet npz, SeisBench, miniSEED) into a labelled waveform set |
//! | `gapfill` | `gapfill.rs` | fill gaps up to max_gap (mean, linear or none); keep and report longer gaps |
//! | `filter` | `filter.rs` | Butterworth low/high/band-pass as second-order sections, zero-phase (sosfiltfilt) or causal |
//! | `label.precursor` | `label_precursor.rs` | window a geomagnetic series and label windows before detectable earthquakes vs quiet, Kp-screened windows (P&M 2022) |
//! | `synth.geomag` | `synth_geomag.rs` | synthetic 1-minute X/Y/Z observatory data, catalog and Kp, with an optional ULF precursor |
//! | `synth.greens` | `synth_greens.rs` | Green's functions of a layered Earth by frequency-wavenumber integration (fk, Zhu & Rivera 2002) |
//! | `synth.fmnet` | `synth_fmnet.rs` | FMNet training set (Kuang et al. 2021): source grid x mechanisms x stations, generated on demand |
//! | `synth.picks` | `synth_picks.rs` | synthetic local-earthquake 3-C seismograms from a Green's-function bank, P/S picks from the model, real or coloured noise; generated on demand |
//! | `train` | `train.rs` | train a model of the registry (quakeline model list) on the data kind it trains on, from scratch or fine-tuned from input init; weights, per-epoch history |
//! | `evaluate.classifier` | `evaluate_classifier.rs` | accuracy, loss, confusion, precision/recall/F1, ROC-AUC of a trained classifier on held-out windows |
//! | `evaluate.focal` | `evaluate_focal.rs` | FMNet on held-out synthetics: strike/dip/rake errors, Kagan angles, encoder feature search |
//! | `import.weights` | `import_weights.rs` | a published network's weights (PhaseNet's TensorFlow checkpoint) as a trained-model entry for evaluate.picks and fine-tuning |
//! | `evaluate.picks` | `evaluate_picks.rs` | score a phase picker on labelled traces: P/S precision, recall, F1, residuals, FP/FN by SNR and distance, P-position sweep (Hong et al. 2023) |
//! | `evaluate.continuous` | `evaluate_continuous.rs` | slide a phase picker over whole traces (stride, max/mean/median merging) and count true and false picks per threshold (Hong et al. 2023 Fig. 8) |
//! | `learning-curve` | `learning_curve.rs` | retrain on growing subsets, fit err(n) = a n^-b + c, project the size for a target accuracy (P&M Fig. 8) |
//! | `compare.training` | `compare_training.rs` | overlay the per-epoch loss of several train stages, e.g. an optimizer comparison (P&M Fig. 6) |
//! | `export.seisbench` | `export_seisbench.rs` | write a labelled waveform set as a SeisBench dataset (metadata.csv + waveforms.hdf5) |
//! | `split.waveforms` | `split_waveforms.rs` | assign traces to train/dev/test: random, by station, by network, or the set's split column |
//! | `select.waveforms` | `select_waveforms.rs` | keep the traces of a waveform set by network, station or split |
//! <!-- end kinds -->
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
