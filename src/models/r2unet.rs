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

use super::Model;
use super::picker::{self, About, PickerModel};
use crate::nn::r2unet::R2Unet;

impl PickerModel for R2Unet {
    const NAME: &'static str = "r2unet";
    const SUMMARY_SAMPLES: usize = 3000;
}

pub const MODEL: Model = picker::model::<R2Unet>(About {
    summary: "recurrent-residual U-Net P/S phase picker (ARRU code's R2U-Net; Hong et al. 2023's KFpicker)",
    citation: "Liao, W.-Y., Lee, E.-J., Mu, D., Chen, P. & Rau, R.-J. (2021). ARRU phase picker: \
               attention recurrent-residual U-Net for picking seismic P- and S-phase arrivals. \
               Seismological Research Letters 92(4), 2410-2428. doi:10.1785/0220200382 \
               (R2U-Net: Alom et al. 2018, arXiv:1802.06955; KFpicker: Hong et al. 2023, \
               doi:10.3389/feart.2023.1306488)",
    contract: picker::contract(
        "3 components, Z, N, E",
        "trained at its training data's rate, stored in the entry (100 Hz in the paper); each component demeaned and divided by its standard deviation; 3000 samples = 30 s in Hong et al. 2023",
    ),
    changelog: &["first version: trains as every picker (models::picker)"],
});
