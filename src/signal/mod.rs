//! Digital signal processing on sampled series.
//!
//! - [`butterworth`]: IIR design as second-order sections, following `scipy.signal.butter(...,
//!   output="sos")`.
//! - [`sos`]: causal filtering (`sosfilt`) and zero-phase forward-backward filtering with odd edge
//!   padding (`sosfiltfilt`), matching SciPy to rounding.
//! - [`resample`]: rational-factor resampling with an anti-aliasing FIR filter, as
//!   `scipy.signal.resample_poly`, gap by gap.
//! - [`segments`]: NaN-delimited contiguous segments, so gaps are never smeared by a filter.
//! - [`standardise`]: each component to zero mean and unit standard deviation (a picker's input).

pub mod butterworth;
pub mod resample;
pub mod segments;
pub mod sos;
pub mod standardise;
