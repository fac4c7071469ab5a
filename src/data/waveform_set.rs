//! Labelled waveform sets: three-component traces with their P and S picks, for phase pickers.
//!
//! Phase pickers (PhaseNet, Zhu & Beroza 2019, GJI 216:261, doi:10.1093/gji/ggy423; KFpicker,
//! Hong et al. 2023) train on fixed-rate 3-C traces with analyst arrival samples. This layout
//! follows SeisBench's (Woollam et al. 2022, SRL 93:1695, doi:10.1785/0220210324) column names so
//! a set converts both ways without loss (`fetch.waveforms`, `export.seisbench`):
//!
//! | name | kind | content |
//! |---|---|---|
//! | `waveforms` | float32 `[n, 3, samples]` | components in Z, N, E order; a missing component is zeros |
//! | `components` | uint8 `[n, 3]` | 1 where the component was recorded, 0 where it is missing (Z, N, E) |
//! | `p_sample`, `s_sample` | float64 `[n]` | arrival sample index from the trace start (may be fractional), NaN when absent |
//! | `trace_name`, `network`, `station`, `channel`, `split` | strings `[n]` | the source's trace name, FDSN network and station codes, the channel code without its component letter (`HH`), the split (`train`/`dev`/`test`, empty when none) |
//! | `distance_km`, `magnitude` | float64 `[n]` | epicentral distance and magnitude, NaN when unknown |
//! | attribute `sampling_rate_hz` | float64 | one rate for the whole set |
//! | attribute `component_order` | string | `ZNE` |
//!
//! A sample is finite, or NaN where there is no data: a gap between miniSEED records, or the end
//! of a station trace shorter than the set's longest. Consumers that cannot take NaN (a model's
//! gradients) handle it where they cut windows. Infinities are refused, and every pick must lie
//! inside its trace; the writer checks both, so the reader can trust an entry.

use hdf5::types::VarLenUnicode;

use crate::io::h5;

/// Component order of `waveforms` (SeisBench's `component_order` convention).
pub const COMPONENT_ORDER: &str = "ZNE";

/// Per-trace metadata.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Trace {
    pub name: String,
    pub network: String,
    pub station: String,
    /// Band and instrument code (`HH`, `EH`, `HN`), without the component letter.
    pub channel: String,
    pub split: String,
    /// Components present, Z, N, E.
    pub present: [bool; 3],
    pub p_sample: f64,
    pub s_sample: f64,
    pub distance_km: f64,
    pub magnitude: f64,
}

/// A whole set in memory.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct WaveformSet {
    pub sampling_rate_hz: f64,
    /// Samples per trace (every trace of a set has the same length).
    pub samples: usize,
    /// `[n, 3, samples]` row-major, Z, N, E.
    pub waveforms: Vec<f32>,
    pub traces: Vec<Trace>,
}

impl WaveformSet {
    pub fn len(&self) -> usize {
        self.traces.len()
    }

    pub fn is_empty(&self) -> bool {
        self.traces.is_empty()
    }

    /// Trace `i`'s three components, `[3 * samples]`.
    pub fn trace(&self, i: usize) -> &[f32] {
        &self.waveforms[i * 3 * self.samples..(i + 1) * 3 * self.samples]
    }

    /// Appends one trace (`data` is `[3, samples]`, Z, N, E), checking it against the set.
    pub fn push(&mut self, data: &[f32], trace: Trace, rate_hz: f64) -> Result<(), String> {
        if self.traces.is_empty() {
            self.sampling_rate_hz = rate_hz;
            self.samples = data.len() / 3;
        }
        if (rate_hz - self.sampling_rate_hz).abs() > 1e-9 * self.sampling_rate_hz {
            return Err(rate_mismatch(&trace.name, rate_hz, self.sampling_rate_hz));
        }
        if data.len() != 3 * self.samples {
            return Err(format!(
                "trace `{}` has {} samples, the set {} (its first trace); every trace of a set has one length",
                trace.name,
                data.len() / 3,
                self.samples
            ));
        }
        if let Some(i) = data.iter().position(|v| v.is_infinite()) {
            return Err(format!(
                "trace `{}`: sample {} of component {} is {}",
                trace.name,
                i % self.samples,
                &COMPONENT_ORDER[i / self.samples..i / self.samples + 1],
                data[i]
            ));
        }
        for (phase, s) in [("P", trace.p_sample), ("S", trace.s_sample)] {
            if !s.is_nan() && !(0.0..self.samples as f64).contains(&s) {
                return Err(format!(
                    "trace `{}`: the {phase} pick at sample {s} is outside the trace (0..{})",
                    trace.name, self.samples
                ));
            }
        }
        self.waveforms.extend_from_slice(data);
        self.traces.push(trace);
        Ok(())
    }
}

/// The error for trace `name` at `rate_hz` in a set at `set_hz` (readers that check rates before
/// [`WaveformSet::push`], such as the miniSEED one before it places picks, say the same).
pub fn rate_mismatch(name: &str, rate_hz: f64, set_hz: f64) -> String {
    format!(
        "trace `{name}` is sampled at {rate_hz} Hz, the set at {set_hz} Hz (its first trace); set `sampling_rate_hz` to resample every trace to one rate"
    )
}

fn strings(v: impl Iterator<Item = String>) -> anyhow::Result<Vec<VarLenUnicode>> {
    v.map(|s| {
        s.parse::<VarLenUnicode>()
            .map_err(|e| anyhow::anyhow!("{s:?}: {e}"))
    })
    .collect()
}

/// Writes the layout of the module doc.
pub fn write(g: &hdf5::Group, set: &WaveformSet) -> anyhow::Result<()> {
    anyhow::ensure!(!set.is_empty(), "the waveform set is empty");
    h5::write_array(g, "waveforms", &[set.len(), 3, set.samples], &set.waveforms)?;
    write_columns(g, set)
}

/// Writes every per-trace column and the set's attributes, not `waveforms` (an on-demand set
/// stores a recipe instead, [`super::picks_recipe`]).
pub fn write_columns(g: &hdf5::Group, set: &WaveformSet) -> anyhow::Result<()> {
    anyhow::ensure!(!set.traces.is_empty(), "the waveform set is empty");
    let n = set.traces.len();
    let t = &set.traces;
    let present: Vec<u8> = t.iter().flat_map(|t| t.present.map(u8::from)).collect();
    h5::write_array(g, "components", &[n, 3], &present)?;
    let col = |f: fn(&Trace) -> f64| t.iter().map(f).collect::<Vec<f64>>();
    h5::write_array(g, "p_sample", &[n], &col(|t| t.p_sample))?;
    h5::write_array(g, "s_sample", &[n], &col(|t| t.s_sample))?;
    h5::write_array(g, "distance_km", &[n], &col(|t| t.distance_km))?;
    h5::write_array(g, "magnitude", &[n], &col(|t| t.magnitude))?;
    let text = |f: fn(&Trace) -> &str| strings(t.iter().map(|t| f(t).to_string()));
    h5::write_array(g, "trace_name", &[n], &text(|t| &t.name)?)?;
    h5::write_array(g, "network", &[n], &text(|t| &t.network)?)?;
    h5::write_array(g, "station", &[n], &text(|t| &t.station)?)?;
    h5::write_array(g, "channel", &[n], &text(|t| &t.channel)?)?;
    h5::write_array(g, "split", &[n], &text(|t| &t.split)?)?;
    h5::write_attr(g, "sampling_rate_hz", set.sampling_rate_hz)?;
    h5::write_str_attr(g, "component_order", COMPONENT_ORDER)?;
    Ok(())
}

/// Reads a set written by [`write`]; `stage` names the reading stage in errors.
/// Whether `g` holds a labelled waveform set (for stages that read several kinds, `filter`).
pub fn is(g: &hdf5::Group) -> bool {
    g.attr("component_order").is_ok() && (g.link_exists("waveforms") || super::picks_recipe::is(g))
}

/// Read access to the traces of a set, stored or generated on demand: what a training loop
/// needs, without holding an on-demand set's waveforms in memory.
pub trait Traces: Sync {
    fn len(&self) -> usize;
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    fn samples(&self) -> usize;
    fn sampling_rate_hz(&self) -> f64;
    fn meta(&self, i: usize) -> &Trace;
    /// `[3, samples]` Z, N, E of trace `i`.
    fn data(&self, i: usize) -> std::borrow::Cow<'_, [f32]>;
}

impl Traces for WaveformSet {
    fn len(&self) -> usize {
        self.traces.len()
    }
    fn samples(&self) -> usize {
        self.samples
    }
    fn sampling_rate_hz(&self) -> f64 {
        self.sampling_rate_hz
    }
    fn meta(&self, i: usize) -> &Trace {
        &self.traces[i]
    }
    fn data(&self, i: usize) -> std::borrow::Cow<'_, [f32]> {
        std::borrow::Cow::Borrowed(self.trace(i))
    }
}

/// An on-demand set: its columns in memory, each trace generated when asked for.
pub struct OnDemand {
    /// The columns; `waveforms` stays empty.
    pub columns: WaveformSet,
    pub recipe: super::picks_recipe::Recipe,
}

impl Traces for OnDemand {
    fn len(&self) -> usize {
        self.columns.traces.len()
    }
    fn samples(&self) -> usize {
        self.columns.samples
    }
    fn sampling_rate_hz(&self) -> f64 {
        self.columns.sampling_rate_hz
    }
    fn meta(&self, i: usize) -> &Trace {
        &self.columns.traces[i]
    }
    fn data(&self, i: usize) -> std::borrow::Cow<'_, [f32]> {
        std::borrow::Cow::Owned(self.recipe.trace(i))
    }
}

/// Opens the set of `g` for reading trace by trace: an on-demand set stays on demand, a stored
/// one is read whole.
pub fn open(g: &hdf5::Group, stage: &str) -> anyhow::Result<Box<dyn Traces>> {
    if super::picks_recipe::is(g) {
        let columns = read_columns(g, stage)?;
        let recipe = super::picks_recipe::read(g, &format!("the input of `{stage}`"))?;
        Ok(Box::new(OnDemand { columns, recipe }))
    } else {
        Ok(Box::new(read(g, stage)?))
    }
}

/// Reads a whole set; an on-demand set ([`super::picks_recipe`]) is generated here, in parallel.
pub fn read(g: &hdf5::Group, stage: &str) -> anyhow::Result<WaveformSet> {
    if super::picks_recipe::is(g) {
        let mut set = read_columns(g, stage)?;
        let recipe = super::picks_recipe::read(g, &format!("the input of `{stage}`"))?;
        use rayon::prelude::*;
        set.waveforms = (0..set.traces.len())
            .into_par_iter()
            .flat_map_iter(|i| recipe.trace(i))
            .collect();
        return Ok(set);
    }
    let not_set = not_a_set(stage);
    let (waveforms, shape) = h5::read_array::<f32>(g, "waveforms").map_err(not_set)?;
    let [n, 3, samples] = shape[..] else {
        anyhow::bail!("`{stage}`: dataset `waveforms` has shape {shape:?}, not [n, 3, samples]");
    };
    let mut set = columns(g, stage, n, samples)?;
    set.waveforms = waveforms;
    Ok(set)
}

/// The columns of an on-demand set (`waveforms` empty; `samples` from its recipe).
pub fn read_columns(g: &hdf5::Group, stage: &str) -> anyhow::Result<WaveformSet> {
    let bad = |e: hdf5::Error| anyhow::anyhow!("the input of `{stage}`: on-demand set: {e}");
    let n = g.dataset("p_sample").map_err(bad)?.size();
    let samples = g
        .group(super::picks_recipe::GROUP)
        .and_then(|r| h5::read_attr::<u64>(&r, "samples"))
        .map_err(bad)? as usize;
    columns(g, stage, n, samples)
}

/// The error for a group that is not a labelled waveform set.
fn not_a_set(stage: &str) -> impl Fn(hdf5::Error) -> anyhow::Error + Copy + '_ {
    move |e| {
        anyhow::anyhow!(
            "the input of `{stage}` is not a labelled waveform set (dataset `waveforms` [n, 3, samples] and its picks, as fetch.waveforms writes): {e}"
        )
    }
}

/// Every column of a set of `n` traces of `samples` samples, `waveforms` left empty.
fn columns(g: &hdf5::Group, stage: &str, n: usize, samples: usize) -> anyhow::Result<WaveformSet> {
    let not_set = not_a_set(stage);
    fn column<T: hdf5::H5Type>(
        g: &hdf5::Group,
        name: &str,
        n: usize,
        stage: &str,
    ) -> anyhow::Result<Vec<T>> {
        let v: Vec<T> = g.dataset(name).and_then(|d| d.read_raw()).map_err(|e| {
            anyhow::anyhow!(
                "the input of `{stage}` is not a labelled waveform set: dataset `{name}`: {e}"
            )
        })?;
        anyhow::ensure!(
            v.len() == n,
            "`{stage}`: dataset `{name}` has {} values for {n} traces",
            v.len()
        );
        Ok(v)
    }
    let floats = |name: &str| column::<f64>(g, name, n, stage);
    let text = |name: &str| -> anyhow::Result<Vec<String>> {
        Ok(column::<VarLenUnicode>(g, name, n, stage)?
            .into_iter()
            .map(|s| s.as_str().to_string())
            .collect())
    };
    let present: Vec<u8> = g
        .dataset("components")
        .and_then(|d| d.read_raw())
        .map_err(not_set)?;
    anyhow::ensure!(
        present.len() == 3 * n,
        "`{stage}`: dataset `components` is not [n, 3]"
    );
    let (p, s, dist, mag) = (
        floats("p_sample")?,
        floats("s_sample")?,
        floats("distance_km")?,
        floats("magnitude")?,
    );
    let (name, net, sta, cha, split) = (
        text("trace_name")?,
        text("network")?,
        text("station")?,
        text("channel")?,
        text("split")?,
    );
    let traces = (0..n)
        .map(|i| Trace {
            name: name[i].clone(),
            network: net[i].clone(),
            station: sta[i].clone(),
            channel: cha[i].clone(),
            split: split[i].clone(),
            present: [
                present[3 * i] != 0,
                present[3 * i + 1] != 0,
                present[3 * i + 2] != 0,
            ],
            p_sample: p[i],
            s_sample: s[i],
            distance_km: dist[i],
            magnitude: mag[i],
        })
        .collect();
    Ok(WaveformSet {
        sampling_rate_hz: h5::read_attr(g, "sampling_rate_hz").map_err(not_set)?,
        samples,
        waveforms: Vec::new(),
        traces,
    })
}
