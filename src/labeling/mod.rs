//! Labelling rules (which windows of data become training examples, with which label) and the
//! scoring of predictions against those labels.
//!
//! | module        | what                                                               |
//! |---------------|--------------------------------------------------------------------|
//! | [`precursor`] | geomagnetic windows before earthquakes vs quiet ones (Petrescu & Moldovan 2022) |
//! | [`phase_windows`] | picker examples: 30-s windows, P/S/noise label curves, augmentation (PhaseNet; Hong et al. 2023) |
//! | [`continuous`] | a picker slid over whole traces, overlapping outputs merged by max/mean/median (Hong et al. 2023) |
//! | [`picks`]     | picks from probability curves (SciPy's find_peaks) and TP/FP/FN scoring (Hong et al. 2023) |
//! | [`pick_evaluation`] | a picker scored on a labelled set: windows, errors by SNR and distance, the P-position sweep (Hong et al. 2023) |

pub mod continuous;
pub mod phase_windows;
pub mod pick_evaluation;
pub mod picks;
pub mod precursor;
