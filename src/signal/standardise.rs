//! Standardisation of multi-component windows: each component to zero mean and unit standard
//! deviation over its finite samples, as SeisBench's `Normalize(demean_axis=-1,
//! amp_norm_axis=-1, amp_norm_type="std")` does for a picker's input (Woollam et al. 2022,
//! SeisBench, Seismological Research Letters 93(3), 1695-1709, doi:10.1785/0220210324).
//! Gaps (NaN) are left out of the statistics and become 0, so one gap does not turn a window
//! into NaN.

/// Removes each component's mean and divides by its standard deviation, over its finite
/// samples; NaN becomes 0, and a component with standard deviation 0 is all zeros.
pub fn components(x: &mut [f64], samples: usize) {
    for comp in x.chunks_mut(samples.max(1)) {
        let finite = || comp.iter().filter(|v| v.is_finite());
        let n = finite().count();
        let mean = if n > 0 {
            finite().sum::<f64>() / n as f64
        } else {
            0.0
        };
        let var = if n > 0 {
            finite().map(|v| (v - mean) * (v - mean)).sum::<f64>() / n as f64
        } else {
            0.0
        };
        let std = var.sqrt();
        for v in comp.iter_mut() {
            *v = if v.is_finite() && std > 0.0 {
                (*v - mean) / std
            } else {
                0.0
            };
        }
    }
}
