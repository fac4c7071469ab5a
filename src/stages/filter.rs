//! `filter` — Butterworth low-pass, high-pass or band-pass.
//!
//! # Purpose
//! Removes the diurnal variation or isolates a band before windowing (P&M 2022, Fig. 3: high- and
//! low-pass filters "applied twice (forward and backward) to preserve phase information"; Kuang et
//! al. 2021 band-pass 0.05–0.1 Hz; Hong et al. 2023 band-pass 1–45 Hz before picking).
//!
//! # Inputs
//! `input`: a time series, or a labelled waveform set (every component of every trace).
//!
//! # Outputs
//! What it reads, filtered (same layout; a waveform set keeps its picks and metadata and streams
//! through a block of traces at a time), plus the dataset `sos` `[sections, 6]` actually applied and
//! the attribute `short_segments` (segments shorter than SciPy's default pad length, filtered with
//! the padding shortened to the segment).
//!
//! # Parameters
//! - `type`: `lowpass`, `highpass` or `bandpass`.
//! - `corners_hz`: one corner (low/high-pass) or two increasing corners (band-pass), in Hz, strictly
//!   between 0 and Nyquist (an error otherwise; never silently clipped).
//! - `order`: Butterworth order of one pass.
//! - `zero_phase`: forward-backward (`sosfiltfilt`, odd padding, doubled attenuation) or causal from
//!   rest (`sosfilt`).
//!
//! NaN gaps split the series into segments that are filtered separately; gaps stay NaN.
//!
//! # Cache key
//! Parameters and the input key.
//!
//! # References
//! SciPy `signal.butter`, `signal.sosfiltfilt`; ObsPy `signal.filter.bandpass`. Hong, Y., Byun,
//! A.-H., Kim, S., & Sheen, D.-H. (2023), Customization of a deep neural network using local data
//! for seismic phase picking, Front. Earth Sci. 11:1306488, doi:10.3389/feart.2023.1306488.

use crate::data::{self, waveform_set};
use crate::h5;
use crate::params::ParamError;
use crate::series::TimeSeries;
use crate::signal::butterworth::{Band, butter_sos};
use crate::signal::sos::filter_finite_runs;
use crate::stage::{InputSpec, Outputs, RunCtx, StageInfo, StageKind};

pub struct Filter;

crate::choice! {
    /// The filter response.
    pub enum Response {
        Lowpass = "lowpass",
        Highpass = "highpass",
        Bandpass = "bandpass",
    }
}

crate::stage_params! {
    /// Parameters of this stage kind (see the module docs).
    pub struct FilterParams {
        /// filter response
        response as "type": Response = Choice(Response::NAMES), Required;
        /// corner frequencies in Hz: one for low/high-pass, two for band-pass
        corners_hz: Vec<f64> = FloatList { min_len: 1, max_len: 2, positive: true, }, Required;
        /// Butterworth order of one pass
        order: usize = Int { min: 1, max: 12 }, Default("4");
        /// filter forward and backward (zero phase, doubled order)
        zero_phase: bool = Bool, Default("true");
    }
}

impl FilterParams {
    fn band(&self) -> Result<Band, ParamError> {
        match (self.response, self.corners_hz.as_slice()) {
            (Response::Lowpass, [f]) => Ok(Band::Lowpass(*f)),
            (Response::Highpass, [f]) => Ok(Band::Highpass(*f)),
            (Response::Bandpass, [lo, hi]) if lo < hi => Ok(Band::Bandpass(*lo, *hi)),
            (Response::Bandpass, [_, _]) => Err(ParamError::new(
                "corners_hz",
                "band-pass corners must be increasing: [low, high]",
            )),
            (Response::Bandpass, _) => Err(ParamError::new(
                "corners_hz",
                "a band-pass needs two corners [low, high]",
            )),
            (kind, _) => Err(ParamError::new(
                "corners_hz",
                format!("a {} filter takes exactly one corner", kind.name()),
            )),
        }
    }
}

impl StageKind for Filter {
    type Params = FilterParams;
    const INFO: StageInfo = StageInfo {
        kind: "filter",
        version: 1,
        changelog: &["first version; also labelled waveform sets"],
        summary: "Butterworth low/high/band-pass as second-order sections, zero-phase (sosfiltfilt) or causal",
        inputs: &[InputSpec {
            name: "input",
            doc: "a time series or a labelled waveform set",
            accepts: &[data::TIME_SERIES, data::WAVEFORM_SET],
            optional: false,
        }],
        outputs: Outputs::SameAs("input"),
        metrics: &[],
        stochastic: false,
    };

    fn check(&self, p: &FilterParams) -> Result<(), ParamError> {
        p.band().map(|_| ())
    }

    fn run(&self, ctx: &mut RunCtx<'_>, p: FilterParams) -> anyhow::Result<()> {
        let band = p.band()?;
        let (order, zero_phase) = (p.order, p.zero_phase);
        let design = |fs: f64| {
            butter_sos(order, band, fs)
                .map_err(|e| anyhow::anyhow!("{e} ({})", ctx.params.locate("corners_hz")))
        };
        let mut short_segments = 0u64;
        // Filters one column in place, gap by gap.
        let mut filter = |sos: &[[f64; 6]], col: &mut [f64]| {
            short_segments += filter_finite_runs(sos, col, zero_phase);
        };
        let input = ctx.input("input")?;
        let sos = if waveform_set::is(input) {
            // A block of traces at a time, each component filtered on its own (in parallel):
            // a STEAD-size set streams through in bounded memory.
            let set = waveform_set::open(input, ctx.stage_id)?;
            let sos = design(set.sampling_rate_hz())?;
            let n = set.samples();
            let all: Vec<usize> = (0..set.len()).collect();
            ctx.progress.set_length(all.len() as u64);
            ctx.progress.set_message("traces filtered");
            let mut out = waveform_set::SetWriter::new(ctx.output);
            waveform_set::copy_blocks(
                set.as_ref(),
                &all,
                &|i| set.meta(i).clone(),
                &mut out,
                &mut |data| {
                    use rayon::prelude::*;
                    short_segments += data
                        .par_chunks_mut(n.max(1))
                        .map(|comp| {
                            let mut col: Vec<f64> = comp.iter().map(|v| f64::from(*v)).collect();
                            let short = filter_finite_runs(&sos, &mut col, zero_phase);
                            for (v, c) in comp.iter_mut().zip(&col) {
                                *v = *c as f32;
                            }
                            short
                        })
                        .sum::<u64>();
                },
                &mut |k| ctx.progress.inc(k as u64),
            )?;
            out.finish()?;
            sos
        } else {
            let mut series = TimeSeries::from_input(ctx, "input")?;
            let sos = design(1.0 / series.interval_s())?;
            ctx.progress
                .set_length((series.len() * series.channels.len()) as u64);
            ctx.progress.set_message("samples filtered");
            for c in 0..series.channels.len() {
                let mut col = series.column(c);
                filter(&sos, &mut col);
                ctx.progress.inc(col.len() as u64);
                series.set_column(c, &col);
            }
            series.write_h5(ctx.output)?;
            sos
        };
        let flat: Vec<f64> = sos.iter().flatten().copied().collect();
        let ds = h5::write_array(ctx.output, "sos", &[sos.len(), 6], &flat)?;
        h5::write_str_attr(&ds, "columns", "b0,b1,b2,a0,a1,a2")?;
        h5::write_attr(ctx.output, "short_segments", short_segments)?;
        Ok(())
    }
}
