//! `r2unet`: the recurrent-residual U-Net picker Hong et al. (2023) adopt for KFpicker.
//!
//! Alom, M. Z., Hasan, M., Yakopcic, C., Taha, T. M. & Asari, V. K. (2018). Recurrent residual
//! convolutional neural network based on U-Net (R2U-Net) for medical image segmentation.
//! arXiv:1802.06955; as built by Liao, W.-Y., Lee, E.-J., Mu, D., Chen, P. & Rau, R.-J. (2021).
//! ARRU phase picker. *Seismological Research Letters* 92(4), 2410–2428.
//! doi:10.1785/0220200382; used by Hong, Y., Byun, A.-H., Kim, S., & Sheen, D.-H. (2023),
//! *Frontiers in Earth Science* 11, 1306488, doi:10.3389/feart.2023.1306488.
//!
//! The network is [`crate::nn::r2unet`] (81,099 parameters); training as every picker
//! ([`super::picker`]).

use super::picker::{self, Arch, PickerParams};
use super::{Fitted, InputContract, Model, Summary};
use crate::data;
use crate::nn::r2unet::{self, R2Unet};
use crate::nn::train::Config;
use crate::stage::{PluginParams, RunCtx};

pub const ARCH: Arch<R2Unet> = Arch {
    name: "r2unet",
    new: R2Unet::new,
};

pub const MODEL: Model = Model {
    name: "r2unet",
    summary: "recurrent-residual U-Net P/S phase picker (ARRU code's R2U-Net; Hong et al. 2023's KFpicker)",
    citation: "Liao, W.-Y., Lee, E.-J., Mu, D., Chen, P. & Rau, R.-J. (2021). ARRU phase picker: \
               attention recurrent-residual U-Net for picking seismic P- and S-phase arrivals. \
               Seismological Research Letters 92(4), 2410-2428. doi:10.1785/0220200382 \
               (R2U-Net: Alom et al. 2018, arXiv:1802.06955; KFpicker: Hong et al. 2023, \
               doi:10.3389/feart.2023.1306488)",
    input: InputContract {
        channels: "3 components, Z, N, E",
        samples: "any window length (3000 = 30 s in Hong et al. 2023)",
        sampling: "100 Hz",
        labels: "3 curves per sample: noise, P, S (softmax)",
    },
    trains_on: data::WAVEFORM_SET,
    fine_tunes: true,
    params: PluginParams::of::<PickerParams>("model \"r2unet\"", picker::check),
    layers,
    fit,
    predict: Some(predict),
    picker: Some(load_picker),
};

fn layers(settings: &[(&str, &str)]) -> Result<Summary, String> {
    let n = picker::samples_setting(settings, 3000)?;
    Ok(Summary {
        input: format!("input [3 x {n}] (Z, N, E at 100 Hz); output [3 x {n}] (noise, P, S)"),
        layers: r2unet::layers(&R2Unet::new(0, &crate::nn::device()), n),
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
