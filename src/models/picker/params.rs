//! The pickers' own `train` parameters (phasenet and r2unet declare the same), their checks, and
//! the training-window configuration they make ([`crate::labeling::phase_windows`]). Values
//! follow Hong et al. (2023), doi:10.3389/feart.2023.1306488, and PhaseNet (Zhu & Beroza 2019,
//! doi:10.1093/gji/ggy423).

use crate::labeling::phase_windows::{LabelShape, WindowConfig};
use crate::params::typed::StageParams;
use crate::params::{ParamError, Params};

crate::choice! {
    /// The shape of the P and S label curves.
    pub enum Label {
        TruncatedGaussian = "truncated-gaussian",
        Gaussian = "gaussian",
        Box = "box",
    }
}

crate::choice! {
    /// What fine-tuning trains.
    pub enum Trainable {
        All = "all",
        Last = "last",
    }
}

crate::stage_params! {
    /// The phase pickers' own `train` parameters (phasenet and r2unet declare the same).
    pub struct PickerParams {
        /// samples per training window (pickers; Hong et al. 2023: 3000 = 30 s at 100 Hz)
        window: usize = Int { min: 64, max: 1_000_000 }, Default("3000");
        /// latest window start after the trace start, s (pickers; Hong et al. pre-training: 10; unset: anywhere)
        max_start_s: Option<f64> = Float { positive: false }, Optional;
        /// P and S label shape: truncated-gaussian (PhaseNet), gaussian or box (pickers)
        label: Label = Choice(Label::NAMES), Default("\"truncated-gaussian\"");
        /// label sigma in samples (pickers; PhaseNet: 6)
        label_sigma: f64 = Float { positive: true }, Default("6.0");
        /// label half-width in samples: the truncation, or the box (pickers; PhaseNet: 15)
        label_half_width: f64 = Float { positive: true }, Default("15.0");
        /// probability of adding Gaussian noise to a training window (pickers)
        noise_probability: f64 = Float { positive: false }, Default("0.5");
        /// [low, high] noise sigma as a fraction of each component's maximum (pickers)
        noise_fraction: Vec<f64> = FloatList { min_len: 2, max_len: 2, positive: false }, Default("[0.01, 0.15]");
        /// probability of zeroing one or two components of a training window (pickers)
        drop_probability: f64 = Float { positive: false }, Default("0.3");
        /// dropout rate after every ReLU (pickers; Hong et al.: 0.1)
        dropout: f64 = Float { positive: false }, Default("0.1");
        /// all, or last: only the output layer trains, batch-norm statistics frozen too (pickers, with an init input)
        trainable: Trainable = Choice(Trainable::NAMES), Default("\"all\"");
        /// epochs without a better validation loss before the learning rate is multiplied by lr_factor (pickers)
        lr_patience: usize = Int { min: 1, max: 100_000 }, Default("5");
        /// learning-rate factor on a plateau (pickers)
        lr_factor: f64 = Float { positive: true }, Default("0.5");
        /// epochs without a better validation loss before training stops, best epoch kept (pickers)
        stop_patience: usize = Int { min: 1, max: 100_000 }, Default("20");
    }
}

/// Probabilities and fractions in range; a box label needs no sigma but a Gaussian no half-width.
pub fn check(params: &Params) -> Result<(), ParamError> {
    let p = PickerParams::from_params(params)?;
    for (name, v) in [
        ("noise_probability", p.noise_probability),
        ("drop_probability", p.drop_probability),
    ] {
        if !(0.0..=1.0).contains(&v) {
            return Err(ParamError::new(name, format!("must be in [0, 1], got {v}")));
        }
    }
    if !(0.0..1.0).contains(&p.dropout) {
        return Err(ParamError::new(
            "dropout",
            format!("must be in [0, 1), got {}", p.dropout),
        ));
    }
    let [lo, hi] = [p.noise_fraction[0], p.noise_fraction[1]];
    if !(0.0 <= lo && lo <= hi) {
        return Err(ParamError::new(
            "noise_fraction",
            format!("must be [low, high] with 0 <= low <= high, got [{lo}, {hi}]"),
        ));
    }
    if p.lr_factor >= 1.0 {
        return Err(ParamError::new(
            "lr_factor",
            format!("must be below 1 (a reduction), got {}", p.lr_factor),
        ));
    }
    if p.max_start_s.is_some_and(|s| s < 0.0) {
        return Err(ParamError::new("max_start_s", "must be >= 0"));
    }
    Ok(())
}

impl PickerParams {
    pub(super) fn window_config(&self, rate_hz: f64) -> WindowConfig {
        WindowConfig {
            samples: self.window,
            max_start: self.max_start_s.map(|s| (s * rate_hz).round() as usize),
            keep_phase: true,
            shape: match self.label {
                Label::TruncatedGaussian => LabelShape::TruncatedGaussian {
                    sigma: self.label_sigma,
                    half_width: self.label_half_width,
                },
                Label::Gaussian => LabelShape::Gaussian {
                    sigma: self.label_sigma,
                },
                Label::Box => LabelShape::Box {
                    half_width: self.label_half_width,
                },
            },
            noise_probability: self.noise_probability,
            noise_fraction: [self.noise_fraction[0], self.noise_fraction[1]],
            drop_probability: self.drop_probability,
        }
    }
}
