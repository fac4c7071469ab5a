//! `gapfill` — fill short gaps, keep and report long ones.
//!
//! # Purpose
//! Petrescu & Moldovan (2022, §2 "Data"): "For data gaps of less than 3 min, we padded the recordings
//! with the mean value of each component for the considered period"; records with longer gaps are not
//! used. This stage fills every NaN run of at most `max_gap` and leaves longer runs as NaN, so the
//! windowing stage can reject windows that contain them.
//!
//! # Inputs
//! `input`: a time series.
//!
//! # Outputs
//! The same series with short gaps filled, plus per-channel attributes (arrays in channel order)
//! `filled_gaps`, `filled_samples`, `unfilled_gaps`, `unfilled_samples`, and a dataset
//! `unfilled_gaps` `[k, 3]` int64 of (channel index, first missing time in ns, missing samples).
//!
//! # Parameters
//! - `max_gap`: longest gap that is filled (inclusive), a duration.
//! - `fill`: `mean` (the channel's mean over the whole series, P&M), `linear` (straight line between
//!   the samples either side; a gap at the start or end takes the nearest sample), or `none`
//!   (only report).
//!
//! # Cache key
//! Parameters and the input key.
//!
//! # References
//! Petrescu, L. & Moldovan, I.-A. (2022), Prospective neural network model for seismic precursory
//! signal detection in geomagnetic field records, Mach. Learn. Knowl. Extr. 4, 912–923.

use crate::data;
use crate::h5;
use crate::params::typed::DurationNs;
use crate::series::TimeSeries;
use crate::signal::segments::gap_runs;
use crate::stage::{InputSpec, Outputs, RunCtx, StageInfo, StageKind};

pub struct Gapfill;

crate::stage_params! {
    /// Parameters of this stage kind (see the module docs).
    pub struct GapfillParams {
        /// longest gap that is filled, inclusive (P&M 2022: 3 min)
        max_gap: DurationNs = Duration, Default("\"3m\"");
        /// how short gaps are filled
        fill: Fill = Choice(Fill::NAMES), Default("\"mean\"");
    }
}

crate::choice! {
    /// How short gaps are filled.
    pub enum Fill {
        Mean = "mean",
        Linear = "linear",
        None = "none",
    }
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct GapReport {
    pub filled_gaps: u64,
    pub filled_samples: u64,
    /// (first index, length) of each gap left as NaN.
    pub unfilled: Vec<(usize, usize)>,
}

/// Fills NaN runs of at most `max_len` samples in place.
pub fn fill_gaps(x: &mut [f64], max_len: usize, fill: Fill) -> GapReport {
    let finite: Vec<f64> = x.iter().copied().filter(|v| v.is_finite()).collect();
    // Mean of the channel over the series; undefined for an all-missing channel.
    let mean = (!finite.is_empty()).then(|| finite.iter().sum::<f64>() / finite.len() as f64);
    let mut report = GapReport::default();
    for run in gap_runs(x) {
        let len = run.len();
        let before = run.start.checked_sub(1).map(|i| x[i]);
        let after = x.get(run.end).copied();
        let value_at = |k: usize| -> Option<f64> {
            match fill {
                Fill::None => None,
                Fill::Mean => mean,
                Fill::Linear => match (before, after) {
                    (Some(a), Some(b)) => Some(a + (b - a) * (k + 1) as f64 / (len + 1) as f64),
                    (Some(a), None) => Some(a),
                    (None, Some(b)) => Some(b),
                    (None, None) => None,
                },
            }
        };
        if len <= max_len && value_at(0).is_some() {
            for (k, i) in run.clone().enumerate() {
                x[i] = value_at(k).unwrap_or(f64::NAN);
            }
            report.filled_gaps += 1;
            report.filled_samples += len as u64;
        } else {
            report.unfilled.push((run.start, len));
        }
    }
    report
}

impl StageKind for Gapfill {
    type Params = GapfillParams;
    const INFO: StageInfo = StageInfo {
        kind: "gapfill",
        version: 1,
        changelog: &["first version"],
        summary: "fill gaps up to max_gap (mean, linear or none); keep and report longer gaps",
        inputs: &[InputSpec {
            name: "input",
            doc: "a time series",
            accepts: &[data::TIME_SERIES],
            optional: false,
        }],
        outputs: Outputs::Root(data::TIME_SERIES),
        metrics: &[],
        stochastic: false,
    };

    fn run(&self, ctx: &mut RunCtx<'_>, p: GapfillParams) -> anyhow::Result<()> {
        let mut series = TimeSeries::from_input(ctx, "input")?;
        let DurationNs(max_gap_ns) = p.max_gap;
        let fill = p.fill;
        let max_len = (max_gap_ns / series.interval_ns) as usize;
        let nc = series.channels.len();
        ctx.progress.set_length(nc as u64);
        ctx.progress.set_message("channels");
        let (mut fg, mut fs, mut ug, mut us) = (vec![], vec![], vec![], vec![]);
        let mut table: Vec<i64> = Vec::new();
        for c in 0..nc {
            let mut col = series.column(c);
            let r = fill_gaps(&mut col, max_len, fill);
            series.set_column(c, &col);
            fg.push(r.filled_gaps);
            fs.push(r.filled_samples);
            ug.push(r.unfilled.len() as u64);
            us.push(r.unfilled.iter().map(|(_, l)| *l as u64).sum::<u64>());
            for (start, len) in r.unfilled {
                table.extend([c as i64, series.time_ns(start), len as i64]);
            }
            ctx.progress.inc(1);
        }
        series.write_h5(ctx.output)?;
        for (name, v) in [
            ("filled_gaps", &fg),
            ("filled_samples", &fs),
            ("unfilled_gaps", &ug),
            ("unfilled_samples", &us),
        ] {
            ctx.output
                .new_attr::<u64>()
                .shape([v.len()])
                .create(name)?
                .write_raw(v)?;
        }
        let ds = h5::write_array(ctx.output, "unfilled_gaps", &[table.len() / 3, 3], &table)?;
        h5::write_str_attr(&ds, "columns", "channel,start_ns,samples")?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    const N: f64 = f64::NAN;

    #[test]
    fn mean_fill_uses_the_series_mean_and_respects_max_gap() {
        let mut x = vec![1.0, N, N, 3.0, N, N, N, 5.0];
        let r = fill_gaps(&mut x, 2, Fill::Mean);
        assert_eq!(&x[..4], &[1.0, 3.0, 3.0, 3.0]);
        assert!(x[4..7].iter().all(|v| v.is_nan()));
        assert_eq!(
            r,
            GapReport {
                filled_gaps: 1,
                filled_samples: 2,
                unfilled: vec![(4, 3)]
            }
        );
    }

    #[test]
    fn linear_fill_interpolates_and_holds_at_edges() {
        let mut x = vec![N, 0.0, N, N, 3.0, N];
        fill_gaps(&mut x, 3, Fill::Linear);
        assert_eq!(x, vec![0.0, 0.0, 1.0, 2.0, 3.0, 3.0]);
    }

    #[test]
    fn all_missing_channel_stays_missing() {
        let mut x = vec![N; 3];
        let r = fill_gaps(&mut x, 5, Fill::Mean);
        assert_eq!(r.unfilled, vec![(0, 3)]);
        let r = fill_gaps(&mut [1.0, N], 5, Fill::None);
        assert_eq!(r.filled_gaps, 0);
    }
}
