//! Neural networks: models, optimizers, training, evaluation metrics, learning-curve fits.
//!
//! burn 0.22 with its pure-Rust `flex` CPU backend, or LibTorch on a GPU in a `tch` build (the
//! device is a run option, [`device`]).
//!
//! | module        | what                                                                  |
//! |---------------|-----------------------------------------------------------------------|
//! | [`device`]    | the compute device: `cpu` (flex), `cuda[:N]`, `torch-cpu` (LibTorch)  |
//! | [`pm_cnn`]    | the CNN of Petrescu & Moldovan (2022), Table 2                        |
//! | [`fmnet`]     | FMNet, Kuang et al. (2021), Fig. 6                                    |
//! | [`phasenet`]  | PhaseNet, Zhu & Beroza (2019): U-Net phase picker, TF checkpoint import |
//! | [`r2unet`]    | recurrent-residual U-Net picker (ARRU code, Hong et al. 2023's KFpicker) |
//! | [`picker`]    | what the pickers share: units, loss, seeded dropout                    |
//! | [`optim`]     | optimizers by name with Keras defaults; [`adamax`] written here       |
//! | [`train`]     | splits, the epoch loop, scoring                                       |
//! | [`weights`]   | weights in HDF5 by module path, PyTorch layout                        |
//! | [`metrics`]   | accuracy, confusion, precision/recall/F1, ROC-AUC                     |
//! | [`power_law`] | `err(n) = a·n^(−b) + c` fit and sample-size projection                |

pub mod adamax;
pub mod fmnet;
pub mod metrics;
pub mod optim;
pub mod phasenet;
pub mod picker;
pub mod pm_cnn;
pub mod power_law;
pub mod r2unet;
pub mod train;
pub mod weights;

use burn::tensor::Device;

/// The run's compute device ([`device::device`]): burn's flex CPU backend unless `--device`
/// chose another.
pub fn device() -> Device {
    crate::device::device()
}

/// One row of a model's layer table (`quakeline model summary`), Keras `summary()` style.
pub struct LayerRow {
    pub name: String,
    pub kind: &'static str,
    pub filters: String,
    pub window: String,
    pub activation: &'static str,
    pub output: Vec<usize>,
    pub parameters: usize,
}
