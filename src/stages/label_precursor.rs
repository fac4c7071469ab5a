//! `label.precursor` — windows of geomagnetic data labelled "an earthquake follows" or "quiet".
//!
//! # Purpose
//! Petrescu & Moldovan (2022), §4: windows of 1 h, 1 d, 7 d (and 1 month) of the three components are
//! labelled 1 if a detectable earthquake follows — within 200 km of the observatory, hypocentre at
//! most 30 km deep, Mw > 4, after Molchanov et al. \[20\] (Vrancea: 100 km and 100 km) — and 0 for
//! windows of seismic quiescence not contaminated by magnetic storms (Kp), balanced to equal class
//! sizes; Bx, By, Bz are divided by the window's maximum |Bz| and fed to the CNN as an image.
//!
//! # Rules
//! [`crate::labeling::precursor`]: gaps, events that follow or fall inside, the Kp screen, class
//! balance, each counted in the output attributes.
//!
//! # Inputs
//! `series` (time series with the chosen channels), `catalog` (from `fetch.catalog`), `kp` (from
//! `fetch.kp`; must cover the series).
//!
//! # Outputs
//! `windows` float32 `[n, channels, samples]` (normalised), `labels` int64 `[n]`, `window_start`
//! int64 `[n]` (ns), `event_id` string `[n]` (the event a positive precedes; empty for quiet),
//! `norm` float64 `[n]` (the max |last channel| each window was divided by), and the counts above.
//!
//! # Parameters
//! Declared with their types, ranges and defaults below (`quakeline stages` lists them):
//! `window`, `stride` and `lead`; the detectability rule (`radius_km`, `max_depth_km`,
//! `min_magnitude`); the storm screen (`max_kp`, `kp_screen`); `channels` and `balance` (§4).
//!
//! # Cache key
//! Parameters, the three input keys, and the seed (balancing draws at random).
//!
//! # References
//! Petrescu, L. & Moldovan, I.-A. (2022). Prospective Neural Network Model for Seismic
//! Precursory Signal Detection in Geomagnetic Field Records. Machine Learning and Knowledge
//! Extraction 4(4), 912-923. doi:10.3390/make4040046

use crate::data;
use crate::h5;
use crate::io::catalog;
use crate::io::kp;
use crate::labeling::precursor::{Detectability, Rules, balance, normalise, select};
use crate::params::ParamError;
use crate::params::typed::DurationNs;
use crate::series::TimeSeries;
use crate::stage::{InputSpec, Outputs, RunCtx, StageInfo, StageKind};
use crate::units::format_duration_ns;

pub struct LabelPrecursor;

crate::choice! {
    /// Which windows the Kp rule applies to.
    pub enum KpScreen {
        Quiet = "quiet",
        Both = "both",
    }
}

crate::stage_params! {
    /// Parameters of this stage kind (see the module docs).
    pub struct LabelPrecursorParams {
        /// window length (P&M 2022: 1h, 1d, 7d, 30d)
        window: DurationNs = Duration, Required;
        /// distance between window starts; default: the window length
        stride: Option<DurationNs> = Duration, Optional;
        /// an event within this time after a window's end makes it positive
        lead: DurationNs = Duration, Default("\"1d\"");
        /// largest epicentral distance from the observatory, km
        radius_km: f64 = Float { positive: true }, Default("200.0");
        /// largest hypocentral depth, km
        max_depth_km: f64 = Float { positive: true }, Default("30.0");
        /// events must be strictly larger (P&M: Mw > 4)
        min_magnitude: f64 = Float { positive: false }, Default("4.0");
        /// quiet windows must not exceed this Kp anywhere
        max_kp: f64 = Float { positive: false }, Default("3.0");
        /// which windows the Kp rule applies to: quiet ones (P&M 2022) or both classes (no storm/label confound)
        kp_screen: KpScreen = Choice(KpScreen::NAMES), Default("\"quiet\"");
        /// channels to use; the last one sets the normalisation
        channels: Vec<String> = StrList, Default("[\"X\", \"Y\", \"Z\"]");
        /// subsample the larger class to the size of the smaller
        balance: bool = Bool, Default("true");
    }
}

impl LabelPrecursorParams {
    /// Window, stride (the window when not given) and lead, in nanoseconds.
    fn durations(&self) -> (i64, i64, i64) {
        let window = self.window.0;
        (window, self.stride.map_or(window, |s| s.0), self.lead.0)
    }
}

impl StageKind for LabelPrecursor {
    type Params = LabelPrecursorParams;
    const INFO: StageInfo = StageInfo {
        kind: "label.precursor",
        version: 1,
        changelog: &["first version"],
        summary: "window a geomagnetic series and label windows before detectable earthquakes vs quiet, Kp-screened windows (P&M 2022)",
        inputs: &[
            InputSpec {
                name: "series",
                doc: "geomagnetic time series",
                accepts: &[data::TIME_SERIES],
                optional: false,
            },
            InputSpec {
                name: "catalog",
                doc: "earthquake catalog (fetch.catalog)",
                accepts: &[data::CATALOG],
                optional: false,
            },
            InputSpec {
                name: "kp",
                doc: "3-hourly Kp (fetch.kp)",
                accepts: &[data::KP],
                optional: false,
            },
        ],
        outputs: Outputs::Root(data::LABELLED_WINDOWS),
        metrics: &[],
        stochastic: true,
    };

    fn check(&self, p: &LabelPrecursorParams) -> Result<(), ParamError> {
        let (window, stride, _) = p.durations();
        if window <= 0 || stride <= 0 {
            return Err(ParamError::new(
                "window",
                "window and stride must be positive",
            ));
        }
        let channels = &p.channels;
        if channels.len() != 3 {
            return Err(ParamError::new(
                "channels",
                format!("the CNN input has three components; got {}", channels.len()),
            ));
        }
        Ok(())
    }

    fn run(&self, ctx: &mut RunCtx<'_>, p: LabelPrecursorParams) -> anyhow::Result<()> {
        let raw = ctx.params;
        let series = TimeSeries::read_h5(ctx.input("series")?)?;
        let events = catalog::read_h5(ctx.input("catalog")?)?;
        let kp = kp::read_h5(ctx.input("kp")?)?;
        let names = &p.channels;
        let cols = names
            .iter()
            .map(|n| {
                series.channels.iter().position(|c| c == n).ok_or_else(|| {
                    anyhow::anyhow!(
                        "the series has channels {}, not `{n}` ({}); name three that exist, e.g. channels = [\"H\", \"D\", \"Z\"] for HDZ data",
                        series.channels.join(","),
                        raw.locate("channels")
                    )
                })
            })
            .collect::<anyhow::Result<Vec<usize>>>()?;
        let (window_ns, stride_ns, lead_ns) = p.durations();
        let samples = |ns: i64, what: &str| -> anyhow::Result<usize> {
            anyhow::ensure!(
                ns % series.interval_ns == 0,
                "`{what}` = {} is not a whole number of {} s samples ({})",
                format_duration_ns(ns),
                series.interval_s(),
                raw.locate(what)
            );
            Ok((ns / series.interval_ns) as usize)
        };
        let rules = Rules {
            window: samples(window_ns, "window")?,
            stride: samples(
                stride_ns,
                if p.stride.is_some() {
                    "stride"
                } else {
                    "window"
                },
            )?,
            lead_ns,
            max_kp: p.max_kp,
            screen_positives: p.kp_screen == KpScreen::Both,
            detect: Detectability {
                latitude_deg: series.station.latitude_deg,
                longitude_deg: series.station.longitude_deg,
                radius_km: p.radius_km,
                max_depth_km: p.max_depth_km,
                min_magnitude: p.min_magnitude,
            },
        };
        anyhow::ensure!(
            rules.window <= series.len(),
            "the window ({}) is longer than the series ({} samples) ({})",
            format_duration_ns(window_ns),
            series.len(),
            raw.locate("window")
        );
        ctx.progress.set_message("windows labelled");
        let (windows, mut counts) =
            select(&series, &cols, &events, &kp, &rules).map_err(|e| anyhow::anyhow!(e))?;
        let report = counts.report(rules.max_kp);
        if counts.positives == 0 {
            anyhow::bail!(
                "no positive windows: no qualifying event follows any usable window. {report}. \
                 Check the catalog period and the rules radius_km/max_depth_km/min_magnitude ({})",
                raw.locate("radius_km")
            );
        }
        if counts.quiet == 0 {
            anyhow::bail!(
                "no quiet windows to balance against. {report} ({})",
                raw.locate("max_kp")
            );
        }
        let before = windows.len();
        let windows = if p.balance {
            balance(windows, ctx.seed)
        } else {
            windows
        };
        counts.dropped_by_balance = (before - windows.len()) as u64;
        ctx.progress.set_length(windows.len() as u64);
        let (data, norms) = normalise(&series, &cols, &windows, rules.window, || {
            ctx.progress.inc(1)
        });
        let out = ctx.output;
        data::windows::write(
            out,
            &data::windows::Labelled {
                x: &data,
                shape: [windows.len(), cols.len(), rules.window],
                channels: names,
                sampling_interval_s: series.interval_s(),
                labels: windows.iter().map(|w| w.label).collect(),
                window_start_ns: windows.iter().map(|w| series.time_ns(w.start)).collect(),
                event_id: windows.iter().map(|w| w.event_id.as_str()).collect(),
                norm: &norms,
            },
        )?;
        for (name, v) in counts.named() {
            h5::write_attr(out, name, v)?;
        }
        h5::write_str_attr(out, "report", &report)?;
        Ok(())
    }
}
