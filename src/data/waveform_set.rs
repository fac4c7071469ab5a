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
//! `waveforms` is contiguous when a set is written whole ([`write`]: npz, miniSEED, stored
//! synthetics) and chunked one trace per chunk when it is written as it streams ([`SetWriter`]:
//! SeisBench sources, `select.waveforms`, `split.waveforms`, `filter`); readers see no
//! difference. A stage that passes traces through reads and writes a block of [`BLOCK_BYTES`] at
//! a time ([`open`], [`Traces::gather`], [`SetWriter`]), so a STEAD-size set (1.2 million traces,
//! 86 GB) needs the memory of its per-trace columns and one block, not of its samples.
//!
//! A sample is finite, or NaN where there is no data: a gap between miniSEED records, or the end
//! of a station trace shorter than the set's longest. Consumers that cannot take NaN (a model's
//! gradients) handle it where they cut windows. Infinities are refused, and every pick must lie
//! inside its trace; the writer checks both, so the reader can trust an entry.

use hdf5::types::VarLenUnicode;

use crate::h5;

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
        self.admit(data, trace, rate_hz)?;
        self.waveforms.extend_from_slice(data);
        Ok(())
    }

    /// The checks of [`push`](Self::push), appending `trace` to the columns only (the samples
    /// are the caller's to store).
    fn admit(&mut self, data: &[f32], trace: Trace, rate_hz: f64) -> Result<(), String> {
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

/// Whether `g` holds a labelled waveform set (for stages that read several kinds, `filter`).
pub fn is(g: &hdf5::Group) -> bool {
    g.attr("component_order").is_ok() && (g.link_exists("waveforms") || super::picks_recipe::is(g))
}

/// Read access to the traces of a set, stored or generated on demand: what a training loop, an
/// evaluation or a streaming stage needs, without holding the set's samples in memory.
pub trait Traces: Sync {
    /// The set's columns and attributes (its `waveforms` may be empty: the samples come from
    /// [`data`](Self::data)).
    fn columns(&self) -> &WaveformSet;
    fn len(&self) -> usize {
        self.columns().traces.len()
    }
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    fn samples(&self) -> usize {
        self.columns().samples
    }
    fn sampling_rate_hz(&self) -> f64 {
        self.columns().sampling_rate_hz
    }
    fn meta(&self, i: usize) -> &Trace {
        &self.columns().traces[i]
    }
    /// Every trace's metadata, in set order.
    fn metas(&self) -> &[Trace] {
        &self.columns().traces
    }
    /// `[3, samples]` Z, N, E of trace `i`.
    fn data(&self, i: usize) -> anyhow::Result<std::borrow::Cow<'_, [f32]>>;
    /// Samples `a..b` of each component of trace `i` (`[3, b - a]`, Z, N, E): a stored set
    /// reads only those, so a day-long trace is annotated without holding it whole.
    fn span(&self, i: usize, a: usize, b: usize) -> anyhow::Result<Vec<f32>> {
        let n = self.samples();
        anyhow::ensure!(a <= b && b <= n, "samples {a}..{b} of a trace of {n}");
        Ok(span(&self.data(i)?, n, a, b))
    }
    /// Traces `idx`, one after the other (`[idx.len(), 3, samples]`); a stored set reads each
    /// run of consecutive indices at once.
    fn gather(&self, idx: &[usize]) -> anyhow::Result<Vec<f32>> {
        let mut out = Vec::with_capacity(idx.len() * 3 * self.samples());
        for &i in idx {
            out.extend_from_slice(&self.data(i)?);
        }
        Ok(out)
    }
}

impl Traces for WaveformSet {
    fn columns(&self) -> &WaveformSet {
        self
    }
    fn data(&self, i: usize) -> anyhow::Result<std::borrow::Cow<'_, [f32]>> {
        Ok(std::borrow::Cow::Borrowed(self.trace(i)))
    }
}

/// An on-demand set: its columns in memory, each trace generated when asked for.
pub struct OnDemand {
    /// The columns; `waveforms` stays empty.
    pub columns: WaveformSet,
    pub recipe: super::picks_recipe::Recipe,
}

impl Traces for OnDemand {
    fn columns(&self) -> &WaveformSet {
        &self.columns
    }
    fn data(&self, i: usize) -> anyhow::Result<std::borrow::Cow<'_, [f32]>> {
        Ok(std::borrow::Cow::Owned(self.recipe.trace(i)))
    }
    /// Generated in parallel (each trace is a function of the seed and its index).
    fn gather(&self, idx: &[usize]) -> anyhow::Result<Vec<f32>> {
        use rayon::prelude::*;
        Ok(idx
            .par_iter()
            .flat_map_iter(|&i| self.recipe.trace(i))
            .collect())
    }
}

/// A stored set read trace by trace: the columns in memory (a few hundred bytes per trace), the
/// samples read from the entry's `waveforms` dataset by hyperslab when asked for. This is what
/// lets a STEAD-size set (1.2 million traces, 86 GB of samples) pass through `select.waveforms`,
/// `split.waveforms`, `filter` and training in bounded memory.
pub struct Stored {
    pub columns: WaveformSet,
    waveforms: hdf5::Dataset,
}

impl Stored {
    /// Traces `a..b` in one read.
    fn run(&self, a: usize, b: usize) -> anyhow::Result<Vec<f32>> {
        let block: ndarray::Array3<f32> = self
            .waveforms
            .read_slice(ndarray::s![a..b, .., ..])
            .map_err(|e| anyhow::anyhow!("dataset `waveforms`, traces {a}..{b}: {e}"))?;
        Ok(block.into_raw_vec_and_offset().0)
    }
}

impl Traces for Stored {
    fn columns(&self) -> &WaveformSet {
        &self.columns
    }
    fn data(&self, i: usize) -> anyhow::Result<std::borrow::Cow<'_, [f32]>> {
        Ok(std::borrow::Cow::Owned(self.run(i, i + 1)?))
    }
    fn span(&self, i: usize, a: usize, b: usize) -> anyhow::Result<Vec<f32>> {
        let n = self.samples();
        anyhow::ensure!(a <= b && b <= n, "samples {a}..{b} of a trace of {n}");
        let block: ndarray::Array2<f32> = self
            .waveforms
            .read_slice(ndarray::s![i, .., a..b])
            .map_err(|e| {
                anyhow::anyhow!("dataset `waveforms`, trace {i}, samples {a}..{b}: {e}")
            })?;
        Ok(block.into_raw_vec_and_offset().0)
    }
    fn gather(&self, idx: &[usize]) -> anyhow::Result<Vec<f32>> {
        let mut out = Vec::with_capacity(idx.len() * 3 * self.samples());
        let mut k = 0;
        while k < idx.len() {
            let mut e = k + 1;
            while e < idx.len() && idx[e] == idx[e - 1] + 1 {
                e += 1;
            }
            out.extend(self.run(idx[k], idx[e - 1] + 1)?);
            k = e;
        }
        Ok(out)
    }
}

/// Samples `a..b` of each component of a trace `[3, n]` held in memory (`[3, b - a]`).
pub fn span(data: &[f32], n: usize, a: usize, b: usize) -> Vec<f32> {
    (0..3)
        .flat_map(|c| &data[c * n + a..c * n + b])
        .copied()
        .collect()
}

/// Bytes of samples a streaming stage holds at once (read, transformed, written): small against
/// a machine's memory, large enough that HDF5 reads and writes in long runs.
pub const BLOCK_BYTES: usize = 16 << 20;

/// `idx` cut into blocks of at most [`BLOCK_BYTES`] of samples (at least one trace each).
pub fn blocks(idx: &[usize], samples: usize) -> std::slice::Chunks<'_, usize> {
    idx.chunks((BLOCK_BYTES / (12 * samples.max(1))).max(1))
}

/// Copies traces `idx` of `from` to `out` a block at a time ([`blocks`]): each with the
/// metadata `meta(i)` gives, its samples first passed through `transform` (a block
/// `[k, 3, samples]`, in place); `done(k)` after each block (a progress bar). What
/// `select.waveforms`, `split.waveforms` and `filter` do with a stored set of any size.
pub fn copy_blocks(
    from: &dyn Traces,
    idx: &[usize],
    meta: &dyn Fn(usize) -> Trace,
    out: &mut SetWriter<'_>,
    transform: &mut dyn FnMut(&mut [f32]),
    done: &mut dyn FnMut(usize),
) -> anyhow::Result<()> {
    for block in blocks(idx, from.samples()) {
        let mut data = from.gather(block)?;
        transform(&mut data);
        let metas: Vec<Trace> = block.iter().map(|&i| meta(i)).collect();
        out.extend(&data, &metas, from.sampling_rate_hz())?;
        done(block.len());
    }
    Ok(())
}

/// Opens the set of `g` for reading trace by trace: an on-demand set stays on demand, a stored
/// one is read from the entry as traces are asked for.
pub fn open(g: &hdf5::Group, stage: &str) -> anyhow::Result<Box<dyn Traces>> {
    if super::picks_recipe::is(g) {
        let columns = read_columns(g, stage)?;
        let recipe = super::picks_recipe::read(g, &format!("the input of `{stage}`"))?;
        Ok(Box::new(OnDemand { columns, recipe }))
    } else {
        let not_set = not_a_set(stage);
        let waveforms = g.dataset("waveforms").map_err(not_set)?;
        let shape = waveforms.shape();
        let [n, 3, samples] = shape[..] else {
            anyhow::bail!(
                "`{stage}`: dataset `waveforms` has shape {shape:?}, not [n, 3, samples]"
            );
        };
        let columns = columns(g, stage, n, samples)?;
        Ok(Box::new(Stored { columns, waveforms }))
    }
}

/// Writes a stored set trace by trace, in bounded memory: `waveforms` is a chunked dataset (one
/// chunk per trace, so a reader's hyperslab of one trace touches one chunk) that grows by a
/// block at a time; the per-trace columns are kept and written by [`SetWriter::finish`].
pub struct SetWriter<'g> {
    group: &'g hdf5::Group,
    waveforms: Option<hdf5::Dataset>,
    /// Every trace pushed so far; `waveforms` holds only those not yet written.
    set: WaveformSet,
    written: usize,
}

impl<'g> SetWriter<'g> {
    pub fn new(group: &'g hdf5::Group) -> Self {
        SetWriter {
            group,
            waveforms: None,
            set: WaveformSet::default(),
            written: 0,
        }
    }

    /// Traces pushed so far.
    pub fn len(&self) -> usize {
        self.set.traces.len()
    }

    pub fn is_empty(&self) -> bool {
        self.set.traces.is_empty()
    }

    /// Appends one trace (`[3, samples]`, Z, N, E) with the checks of [`WaveformSet::push`]
    /// (their message is the error); a full block goes to the file, and a trace of a block or
    /// more (a station-day) goes there directly when nothing is pending, without a copy.
    pub fn push(&mut self, data: &[f32], trace: Trace, rate_hz: f64) -> anyhow::Result<()> {
        if self.set.waveforms.is_empty() && data.len() * 4 >= BLOCK_BYTES {
            return self.extend(data, std::slice::from_ref(&trace), rate_hz);
        }
        self.set
            .push(data, trace, rate_hz)
            .map_err(|e| anyhow::anyhow!(e))?;
        if self.set.waveforms.len() * 4 >= BLOCK_BYTES {
            self.flush()?;
        }
        Ok(())
    }

    /// Appends a block of traces: `data` is `[traces.len(), 3, samples]`. Each trace is checked
    /// as by [`push`](Self::push); the block goes to the file as it is, without a copy, when
    /// nothing is pending.
    pub fn extend(&mut self, data: &[f32], traces: &[Trace], rate_hz: f64) -> anyhow::Result<()> {
        let n = data.len() / traces.len().max(1);
        anyhow::ensure!(
            n * traces.len() == data.len(),
            "{} samples for {} traces",
            data.len(),
            traces.len()
        );
        if !self.set.waveforms.is_empty() {
            for (t, d) in traces.iter().zip(data.chunks(n.max(1))) {
                self.push(d, t.clone(), rate_hz)?;
            }
            return Ok(());
        }
        for (t, d) in traces.iter().zip(data.chunks(n.max(1))) {
            self.set
                .admit(d, t.clone(), rate_hz)
                .map_err(|e| anyhow::anyhow!(e))?;
        }
        self.write_block(data)
    }

    fn flush(&mut self) -> anyhow::Result<()> {
        let pending = std::mem::take(&mut self.set.waveforms);
        self.write_block(&pending)?;
        // The buffer's allocation is kept for the next block.
        self.set.waveforms = pending;
        self.set.waveforms.clear();
        Ok(())
    }

    /// Appends `data` (whole traces of the set's length) to `waveforms`.
    fn write_block(&mut self, data: &[f32]) -> anyhow::Result<()> {
        let samples = self.set.samples;
        let k = data.len() / (3 * samples).max(1);
        if k == 0 {
            return Ok(());
        }
        let ds = match &self.waveforms {
            Some(ds) => ds.clone(),
            None => {
                let ds = self
                    .group
                    .new_dataset::<f32>()
                    .chunk((1, 3, samples))
                    .shape((0.., 3, samples))
                    .obj_track_times(false)
                    .create("waveforms")?;
                self.waveforms = Some(ds.clone());
                ds
            }
        };
        let (a, b) = (self.written, self.written + k);
        ds.resize((b, 3, samples))?;
        let view = ndarray::ArrayView3::from_shape((k, 3, samples), data)?;
        ds.write_slice(view, ndarray::s![a..b, .., ..])?;
        self.written = b;
        Ok(())
    }

    /// Writes what is left and every column; returns the set's columns (`waveforms` empty).
    pub fn finish(mut self) -> anyhow::Result<WaveformSet> {
        anyhow::ensure!(!self.set.traces.is_empty(), "the waveform set is empty");
        self.flush()?;
        write_columns(self.group, &self.set)?;
        Ok(self.set)
    }
}

/// Reads a whole set written by [`write`] or [`SetWriter`] into memory (`stage` names the
/// reading stage in errors): [`open`] and every trace gathered (an on-demand set is generated
/// here, in parallel).
pub fn read(g: &hdf5::Group, stage: &str) -> anyhow::Result<WaveformSet> {
    let traces = open(g, stage)?;
    let all: Vec<usize> = (0..traces.len()).collect();
    let waveforms = traces.gather(&all)?;
    Ok(WaveformSet {
        waveforms,
        ..traces.columns().clone()
    })
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
