//! `phasenet`: the U-Net phase picker of Zhu & Beroza (2019) as a trainable model.
//!
//! Zhu, W. & Beroza, G. C. (2019). PhaseNet: a deep-neural-network-based seismic arrival-time
//! picking method. *Geophysical Journal International* 216(1), 261–273. doi:10.1093/gji/ggy423
//!
//! The network is [`crate::nn::phasenet`] (the published code's topology, 268,443 parameters).
//! It trains on a labelled waveform set like every picker ([`super::picker`]); the published
//! weights come in through the `import.weights` stage, from which `train` can fine-tune
//! (`init`).

use super::Model;
use super::picker::{self, About, PickerModel};
use crate::nn::phasenet::PhaseNet;

impl PickerModel for PhaseNet {
    const NAME: &'static str = "phasenet";
    /// PhaseNet's own code cuts 3001 samples.
    const SUMMARY_SAMPLES: usize = 3001;
}

pub const MODEL: Model = picker::model::<PhaseNet>(About {
    summary: "U-Net P/S phase picker on 3-C 100 Hz windows (Zhu & Beroza 2019; published weights via import.weights)",
    citation: "Zhu, W. & Beroza, G. C. (2019). PhaseNet: a deep-neural-network-based seismic \
               arrival-time picking method. Geophysical Journal International 216(1), 261-273. \
               doi:10.1093/gji/ggy423",
    contract: picker::contract(
        "3 components, Z, N, E (the published weights' E, N, Z input is reordered on import)",
        "trained at its training data's rate, stored in the entry (100 Hz in the paper); each component demeaned and divided by its standard deviation; 3000 samples = 30 s in training, 3001 in PhaseNet's code",
    ),
    changelog: &["first version: trains as every picker (models::picker)"],
});
