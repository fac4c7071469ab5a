//! `phasenet`: the U-Net phase picker of Zhu & Beroza (2019) as a trainable model.
//!
//! Zhu, W. & Beroza, G. C. (2019). PhaseNet: a deep-neural-network-based seismic arrival-time
//! picking method. *Geophysical Journal International* 216(1), 261–273. doi:10.1093/gji/ggy423
//!
//! The network is [`crate::nn::phasenet`] (the published code's topology, 268,443 parameters).
//! It trains on a labelled waveform set like every picker ([`super::picker`]); the published
//! weights come in through the `import.weights` stage, from which `train` can fine-tune
//! (`init`).

use super::picker::{self, Arch, PickerParams};
use super::{Fitted, InputContract, Model, Summary};
use crate::data;
use crate::nn::phasenet::{self, PhaseNet};
use crate::nn::train::Config;
use crate::stage::{PluginParams, RunCtx};

pub const ARCH: Arch<PhaseNet> = Arch {
    name: "phasenet",
    new: PhaseNet::new,
};

pub const MODEL: Model = Model {
    name: "phasenet",
    summary: "U-Net P/S phase picker on 3-C 100 Hz windows (Zhu & Beroza 2019; published weights via import.weights)",
    citation: "Zhu, W. & Beroza, G. C. (2019). PhaseNet: a deep-neural-network-based seismic \
               arrival-time picking method. Geophysical Journal International 216(1), 261-273. \
               doi:10.1093/gji/ggy423",
    input: InputContract {
        channels: "3 components, Z, N, E (the published weights' E, N, Z input is reordered on import)",
        samples: "any window length (3000 = 30 s in training, 3001 in PhaseNet's code)",
        sampling: "100 Hz",
        labels: "3 curves per sample: noise, P, S (softmax)",
    },
    trains_on: data::WAVEFORM_SET,
    fine_tunes: true,
    params: PluginParams::of::<PickerParams>("model \"phasenet\"", picker::check),
    layers,
    fit,
    predict: Some(predict),
    picker: Some(load_picker),
};

fn layers(settings: &[(&str, &str)]) -> Result<Summary, String> {
    let n = picker::samples_setting(settings, 3001)?;
    Ok(Summary {
        input: format!("input [3 x {n}] (Z, N, E at 100 Hz); output [3 x {n}] (noise, P, S)"),
        layers: phasenet::layers(&PhaseNet::new(0, &crate::nn::device()), n),
    })
}

fn fit(ctx: &mut RunCtx<'_>, cfg: &Config) -> anyhow::Result<Fitted> {
    picker::fit(&ARCH, ctx, cfg)
}

fn predict(a: &super::PredictArgs<'_>) -> anyhow::Result<Vec<String>> {
    picker::predict_files(&ARCH, a)
}

fn load_picker(g: &hdf5::Group, what: &str) -> anyhow::Result<super::PickerFn> {
    picker::loaded(&ARCH, g, what)
}
