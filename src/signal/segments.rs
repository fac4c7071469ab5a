//! Contiguous runs of finite samples and of NaN gaps.
//!
//! Missing samples are NaN throughout quakeline. A filter run across a gap would spread NaN (or, if
//! gaps were zero-filled, a step) over the whole series, so filters run per finite segment, and the
//! gap filler works on NaN runs. Both use these iterators.

use std::ops::Range;

/// Maximal index ranges of finite values.
pub fn finite_runs(x: &[f64]) -> Vec<Range<usize>> {
    runs(x, |v| v.is_finite())
}

/// Maximal index ranges of non-finite (missing) values.
pub fn gap_runs(x: &[f64]) -> Vec<Range<usize>> {
    runs(x, |v| !v.is_finite())
}

fn runs(x: &[f64], keep: impl Fn(f64) -> bool) -> Vec<Range<usize>> {
    let mut out = Vec::new();
    let mut start = None;
    for (i, &v) in x.iter().enumerate() {
        match (keep(v), start) {
            (true, None) => start = Some(i),
            (false, Some(s)) => {
                out.push(s..i);
                start = None;
            }
            _ => {}
        }
    }
    if let Some(s) = start {
        out.push(s..x.len());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_split_on_nan() {
        let nan = f64::NAN;
        let x = [nan, 1.0, 2.0, nan, nan, 3.0];
        assert_eq!(finite_runs(&x), vec![1..3, 5..6]);
        assert_eq!(gap_runs(&x), vec![0..1, 3..5]);
        assert!(finite_runs(&[]).is_empty());
    }
}
