//! `fetch.waveforms` — three-component traces with analyst P and S picks, for phase pickers.
//!
//! # Purpose
//! Hong et al. (2023) pre-train a U-Net picker on STEAD and INSTANCE and fine-tune it on local
//! data; those sets are distributed in SeisBench's format, PhaseNet's own training data as
//! `.npz` files, and a lab's own recordings as miniSEED. This stage reads any of them into one
//! labelled waveform set, so a user with the files on disk runs the same pipeline
//! ([`crate::io::waveforms::seisbench`], [`crate::io::waveforms::npz`], [`crate::io::waveforms::mseed`]).
//!
//! # Inputs
//! None.
//!
//! # Outputs
//! A labelled waveform set ([`crate::data::waveform_set`]): `waveforms` `[n, 3, samples]` in Z, N,
//! E order with missing components zero and flagged, picks in samples (NaN when absent), trace
//! metadata and split. Attributes `traces`, `with_p`, `with_s`.
//!
//! # Parameters
//! `paths` / `urls` + `blake3` as every fetch kind; `format` (one of [`crate::io::waveforms::LABELLED`]) = `npz` (one trace per file) |
//! `seisbench` (`metadata*.csv` with the `waveforms*.hdf5` of the same chunk name: give both,
//! e.g. `paths = ["sb/*"]`) | `mseed` (miniSEED files, one station trace per network, station,
//! location and band/instrument code and stretch of time — records more than `max_gap_s`
//! (default 60; the miniSEED format's own parameter, accepted and keyed only with `mseed`) apart
//! start a new trace; `damaged` (miniSEED's too): `tail` (default) drops an unreadable end of a
//! file after its last complete record, as ObsPy reads a live archive's day file, with a warning
//! and the bytes listed in attribute `damaged_bytes`, `error` refuses it, `skip` also skips a
//! damaged record between readable ones; `response` (miniSEED's too): `none` keeps counts,
//! `sensitivity` divides each component by its channel epoch's overall sensitivity from the
//! StationXML among the files (counts to m/s, as ObsPy's `remove_sensitivity`; the epoch must
//! cover the whole trace), attribute `units` saying the unit — gaps NaN; picks from the pick files among the files, recognised by their
//! content ([`crate::io::picks`]), each placed in the trace of its station that contains its
//! time; traces shorter than the longest are NaN at their end).
//! `sampling_rate_hz`: the set's rate; a trace at another rate is resampled as
//! `scipy.signal.resample_poly` does (Kaiser-windowed FIR anti-aliasing, each gap-free run alone;
//! picks scaled). Without it every trace must have the first trace's rate. npz and SeisBench
//! traces must also share one length (after resampling).
//!
//! A SeisBench set is streamed: the `waveforms*.hdf5` file is hashed and checked in one pass
//! where it lies (no copy, whatever its size), each trace read by one hyperslab and written to the
//! entry a block at a time ([`crate::data::waveform_set::SetWriter`]); the metadata CSV and the
//! per-trace columns are what stays in memory (STEAD: 1.2 million rows). A downloaded (`urls`)
//! set is held in memory once to be checked against its pin.
//!
//! miniSEED is laid out from the records' headers first (stations, lengths, picks), then each
//! station trace is decoded one component at a time, converted (or resampled) into the set's
//! float32 row and written before the next is decoded; local files are read again, checked
//! against their digests, when their station is decoded. A set of day-long stations holds one
//! station's compressed files, one station-day as float32 and one component as float64 (a day of
//! 3-C 100 Hz: 56 MB of Steim2, a 303 MB peak), not every station's samples three times over.
//!
//! # Cache key
//! The files' content digests.
//!
//! # References
//! Hong, Y., Byun, A.-H., Kim, S., & Sheen, D.-H. (2023). Customization of a deep neural network
//! using local data for seismic phase picking, Frontiers in Earth Science 11, 1306488,
//! doi:10.3389/feart.2023.1306488. Woollam et al. (2022), SeisBench, SRL
//! 93:1695, doi:10.1785/0220210324. Zhu & Beroza (2019), PhaseNet, GJI 216:261,
//! doi:10.1093/gji/ggy423.

use crate::data::{self, waveform_set, waveform_set::Trace};
use crate::h5;
use crate::io::sources::Sources;
use crate::io::waveforms::{self, Format, mseed, npz, seisbench};
use crate::io::{inventory, picks};
use crate::params::ParamError;
use crate::params::typed::StageParams;
use crate::signal::resample::{Ratio, resample_with_gaps};
use crate::stage::{ContentDigest, Outputs, PlanCtx, PluginParams, RunCtx, StageInfo, StageKind};

pub struct FetchWaveforms;

crate::source_params! {
    /// Parameters of this stage kind (see the module docs).
    pub struct FetchWaveformsParams {
        /// npz (PhaseNet, one trace per file), seisbench (metadata*.csv + waveforms*.hdf5) or mseed (miniSEED + *.csv pick files)
        format: Format = Choice(waveforms::LABELLED), Required;
        /// the set's sampling rate: traces at another rate are resampled (anti-aliased, as scipy's resample_poly)
        sampling_rate_hz: Option<f64> = Float { positive: true }, Optional;
    }
}

/// The file name without directories (local path or URL).
fn base(label: &str) -> &str {
    label.rsplit(['/', '\\']).next().unwrap_or(label)
}

impl StageKind for FetchWaveforms {
    type Params = FetchWaveformsParams;
    const INFO: StageInfo = StageInfo {
        kind: "fetch.waveforms",
        version: 2,
        changelog: &[
            "first version: PhaseNet npz and SeisBench; miniSEED with pick files, resampling",
            "formats from the io::waveforms registry, pick files recognised by their header; max_gap_s and damaged are miniSEED's own (npz and SeisBench keys no longer hold max_gap_s); damaged = tail (the default) reads a file whose end is no readable record as ObsPy does, warned and recorded in attribute damaged_bytes",
        ],
        summary: "read 3-C traces with P/S picks (PhaseNet npz, SeisBench, miniSEED) into a labelled waveform set",
        inputs: &[],
        outputs: Outputs::Root(data::WAVEFORM_SET),
        metrics: &[],
        stochastic: false,
    };

    fn check(&self, p: &FetchWaveformsParams) -> Result<(), ParamError> {
        p.sources().check()
    }
    fn plugins(&self) -> Vec<&'static PluginParams> {
        vec![&mseed::PARAMS]
    }
    fn plugin(&self, p: &FetchWaveformsParams) -> Option<&'static PluginParams> {
        (p.format == Format::Mseed).then_some(&mseed::PARAMS)
    }
    fn content_digests(
        &self,
        ctx: &PlanCtx<'_>,
        p: &FetchWaveformsParams,
    ) -> Result<Vec<ContentDigest>, ParamError> {
        p.sources().digests(ctx)
    }

    fn run(&self, ctx: &mut RunCtx<'_>, p: FetchWaveformsParams) -> anyhow::Result<()> {
        // Traces go to the entry as they are read: a SeisBench set of any size in the memory of
        // a block, miniSEED one station trace at a time.
        let mut out = waveform_set::SetWriter::new(ctx.output);
        let set = match p.format {
            Format::Sac => anyhow::bail!(
                "format \"sac\" carries no picks for a labelled set ({})",
                ctx.params.locate("format")
            ),
            Format::Npz => {
                for (label, bytes) in &p.sources().read_all(ctx)? {
                    let t = npz::parse(label, bytes)?;
                    let (data, trace, rate) =
                        to_rate(t.data, t.trace, t.sampling_rate_hz, p.sampling_rate_hz)
                            .map_err(|e| anyhow::anyhow!("{label}: {e}"))?;
                    out.push(&data, trace, rate)
                        .map_err(|e| anyhow::anyhow!("{label}: {e}"))?;
                }
                anyhow::ensure!(!out.is_empty(), "no traces in the files given");
                out.finish()?
            }
            Format::Seisbench => {
                read_seisbench(ctx, &p, &mut |data, trace, rate| {
                    let (data, trace, rate) = to_rate(data, trace, rate, p.sampling_rate_hz)?;
                    out.push(&data, trace, rate)
                })?;
                anyhow::ensure!(!out.is_empty(), "no traces in the files given");
                out.finish()?
            }
            Format::Mseed => {
                let own =
                    mseed::MseedParams::from_params(ctx.params).map_err(|e| ctx.params.error(e))?;
                read_mseed(ctx, &p.sources(), p.sampling_rate_hz, &own, &mut out)?;
                anyhow::ensure!(!out.is_empty(), "no traces in the files given");
                out.finish()?
            }
        };
        let count = |f: fn(&data::waveform_set::Trace) -> f64| {
            set.traces.iter().filter(|t| !f(t).is_nan()).count() as u64
        };
        h5::write_attr(ctx.output, "traces", set.traces.len() as u64)?;
        h5::write_attr(ctx.output, "with_p", count(|t| t.p_sample))?;
        h5::write_attr(ctx.output, "with_s", count(|t| t.s_sample))?;
        Ok(())
    }
}

/// Resamples one trace (`[3, samples]`, Z, N, E) from `rate` to `target` (when given and
/// different), picks scaled with it.
fn to_rate(
    data: Vec<f32>,
    mut trace: Trace,
    rate: f64,
    target: Option<f64>,
) -> anyhow::Result<(Vec<f32>, Trace, f64)> {
    let Some(target) = target.filter(|t| (t - rate).abs() > 1e-9 * rate) else {
        return Ok((data, trace, rate));
    };
    let ratio =
        Ratio::between(rate, target).map_err(|e| anyhow::anyhow!("trace `{}`: {e}", trace.name))?;
    let n = data.len() / 3;
    let mut out = Vec::with_capacity(3 * ratio.output_len(n));
    for row in data.chunks(n.max(1)) {
        let x: Vec<f64> = row.iter().map(|v| f64::from(*v)).collect();
        out.extend(resample_with_gaps(&x, ratio).into_iter().map(|v| v as f32));
    }
    let scale = ratio.up as f64 / ratio.down as f64;
    trace.p_sample *= scale;
    trace.s_sample *= scale;
    Ok((out, trace, target))
}

/// miniSEED files and `*.csv` pick files → one trace per station, picks placed by time,
/// resampled to `target` when given, every trace padded with NaN to the longest. The stations
/// are laid out from the records' headers first (lengths, picks), then read, resampled and
/// written one at a time: a set of day-long stations holds one station-day of samples.
fn read_mseed(
    ctx: &RunCtx<'_>,
    sources: &Sources<'_>,
    target: Option<f64>,
    own: &mseed::MseedParams,
    out: &mut waveform_set::SetWriter<'_>,
) -> anyhow::Result<()> {
    let max_gap_s = own.max_gap_s;
    let mut dropped = Vec::new();
    // Local files are read twice, each time checked against the digest they were planned with:
    // for the record headers, then a station's own files when it is decoded, so one station's
    // files are in memory at a time. Downloads are kept from their one read.
    let keep = !sources.local();
    let mut kept: Vec<(String, Vec<u8>)> = Vec::new();
    let mut records = Vec::new();
    let mut picks = Vec::new();
    let mut stations_of = inventory::Inventory::default();
    let options = picks::ReadOptions {
        mode: own.pick_mode,
    };
    ctx.progress.set_length(ctx.content.len() as u64);
    for c in ctx.content {
        let (label, bytes) = (&c.label, sources.read_one(ctx, c)?);
        let head = &bytes[..bytes.len().min(waveforms::HEAD_BYTES)];
        // A pick file is recognised by its content (its header, or QuakeML's root), whatever
        // its name.
        if let Some(format) = picks::sniff(head) {
            let read = format.read(label, &bytes, &options)?;
            picks.extend(read.into_iter().map(|p| (label, p)));
        } else if let Some(format) = inventory::sniff(head) {
            // Station metadata: the coordinates that make a pick's epicentre a distance.
            let read = format.read(label, &bytes)?;
            stations_of.merge(label, read)?;
        } else {
            if !Format::Mseed.is(head) {
                let found = waveforms::sniff(label, &bytes).map_or_else(
                    |e| format!("{e}"),
                    |f| format!("{label}: a {} file", f.summary()),
                );
                anyhow::bail!(
                    "{found}; format \"mseed\" reads miniSEED files, pick files and station metadata ({})",
                    ctx.params.locate("format")
                );
            }
            let (r, d) = mseed::records_of(label, &bytes, own.damaged)?;
            records.extend(r);
            for d in d {
                ctx.warn(&d.to_string());
                // The entry says which bytes of which file (by name and content) were not read.
                dropped.push(serde_json::json!({
                    "file": base(label), "blake3": c.blake3, "from": d.from, "to": d.to, "why": d.why,
                }));
            }
            if keep {
                kept.push((label.clone(), bytes));
            }
        }
        ctx.progress.inc(1);
    }
    anyhow::ensure!(
        !records.is_empty(),
        "no miniSEED files among the files given (only pick files)"
    );
    let max_gap_ns = (max_gap_s * 1e9).min(i64::MAX as f64) as i64;
    let stations = mseed::assemble(&records, max_gap_ns)?;
    drop(records);
    let rate = target.unwrap_or(stations[0].rate_hz);
    // The end of a station trace of `n` samples at the set's rate.
    let end_of = |st: &mseed::Station, n: usize| st.start_ns + (n as f64 * 1e9 / rate) as i64;
    let mut traces = Vec::with_capacity(stations.len());
    for st in &stations {
        if (st.rate_hz - rate).abs() > 1e-9 * rate && target.is_none() {
            anyhow::bail!(waveform_set::rate_mismatch(&st.name, st.rate_hz, rate));
        }
        let ratio = Ratio::between(st.rate_hz, rate)
            .map_err(|e| anyhow::anyhow!("trace `{}`: {e}", st.name))?;
        let trace = Trace {
            name: st.name.clone(),
            network: st.network.clone(),
            station: st.station.clone(),
            channel: st.channel.clone(),
            split: String::new(),
            present: st.present,
            p_sample: f64::NAN,
            s_sample: f64::NAN,
            distance_km: f64::NAN,
            magnitude: f64::NAN,
        };
        traces.push((ratio, ratio.output_len(st.samples), trace));
    }
    // Each pick goes to the trace of its station whose data contains its time; a trace holds
    // at most one P and one S.
    let mut first_pick: std::collections::HashMap<(usize, char), (&str, u64)> = Default::default();
    for (label, p) in &picks {
        // `NET.STA.LOC.` (a QuakeML pick without a channel code) matches any band of its station.
        let matches = |id: &str| {
            id == p.trace
                || (p.trace.ends_with('.')
                    && id.starts_with(&p.trace)
                    && !id[p.trace.len()..].contains('.'))
        };
        let of_station: Vec<usize> = (0..stations.len())
            .filter(|&i| matches(&stations[i].id))
            .collect();
        anyhow::ensure!(
            !of_station.is_empty(),
            "{label}: line {}, field `trace`: no trace `{}` in the miniSEED files (they hold {})",
            p.line,
            p.trace,
            stations
                .iter()
                .map(|s| s.id.as_str())
                .collect::<std::collections::BTreeSet<_>>()
                .into_iter()
                .collect::<Vec<_>>()
                .join(", ")
        );
        let sample = |i: usize| (p.time_ns - stations[i].start_ns) as f64 * rate / 1e9;
        let Some(i) = of_station
            .iter()
            .copied()
            .find(|&i| (0.0..traces[i].1 as f64).contains(&sample(i)))
        else {
            let spans: Vec<String> = of_station
                .iter()
                .map(|&i| {
                    let st = &stations[i];
                    format!(
                        "{} to {}",
                        crate::time::format_rfc3339(st.start_ns),
                        crate::time::format_rfc3339(end_of(st, traces[i].1))
                    )
                })
                .collect();
            anyhow::bail!(
                "{label}: line {}: the {} pick of `{}` at {} is outside its data ({})",
                p.line,
                p.phase,
                p.trace,
                crate::time::format_rfc3339(p.time_ns),
                spans.join(", ")
            );
        };
        if let Some((l, line)) = first_pick.insert((i, p.phase), (label.as_str(), p.line)) {
            anyhow::bail!(
                "{label}: line {}: a second {} pick for `{}` in the trace starting {} (the first is {l}: line {line}); a trace holds one P and one S",
                p.line,
                p.phase,
                p.trace,
                crate::time::format_rfc3339(stations[i].start_ns)
            );
        }
        let t = &mut traces[i].2;
        if t.magnitude.is_nan() {
            t.magnitude = p.magnitude;
        }
        // The epicentral distance: the pick's event and the station's coordinates then.
        if let (Some((lat, lon)), false) = (p.epicentre, stations_of.channels.is_empty()) {
            let at = stations[i].start_ns;
            let station = stations_of.components_at(&stations[i].id, at);
            let Some(c) = station.first() else {
                anyhow::bail!(
                    "{label}: line {}: the station metadata among the files has no channel of `{}` in force at {} (it has {})",
                    p.line,
                    stations[i].id,
                    crate::time::format_rfc3339(at),
                    stations_of
                        .channels
                        .iter()
                        .map(|c| c.id())
                        .collect::<std::collections::BTreeSet<_>>()
                        .into_iter()
                        .collect::<Vec<_>>()
                        .join(", ")
                );
            };
            t.distance_km = crate::geo::distance_km(lat, lon, c.latitude, c.longitude);
        }
        if p.phase == 'P' {
            t.p_sample = sample(i);
        } else {
            t.s_sample = sample(i);
        }
    }
    anyhow::ensure!(
        own.response == mseed::Response::None || !stations_of.channels.is_empty(),
        "response = \"sensitivity\" ({}) divides by each channel's sensitivity from station metadata: add the StationXML of the stations to `paths`",
        ctx.params.locate("response")
    );
    let mut units: Option<String> = None;
    let longest = traces.iter().map(|t| t.1).max().unwrap_or(0);
    for (st, (ratio, n, trace)) in stations.iter().zip(traces) {
        let mut rows = if keep {
            st.rows(&kept, ratio, longest)?
        } else {
            let mut files = Vec::new();
            for label in st.files() {
                let c = ctx
                    .content
                    .iter()
                    .find(|c| c.label == label)
                    .ok_or_else(|| anyhow::anyhow!("{label}: not among the planned files"))?;
                files.push((c.label.clone(), sources.read_one(ctx, c)?));
            }
            st.rows(&files, ratio, longest)?
        };
        if own.response == mseed::Response::Sensitivity {
            let unit = divide_by_sensitivity(&mut rows, longest, st, end_of(st, n), &stations_of)?;
            match &units {
                Some(u) if !u.eq_ignore_ascii_case(&unit) => anyhow::bail!(
                    "`{}` is in {unit} after its sensitivity, other traces in {u}: a set has one unit",
                    st.name
                ),
                _ => units = Some(unit),
            }
        }
        out.push(&rows, trace, rate)?;
    }
    if !dropped.is_empty() {
        h5::write_str_attr(
            ctx.output,
            "damaged_bytes",
            &serde_json::to_string(&dropped)?,
        )?;
    }
    if let Some(u) = units {
        h5::write_str_attr(ctx.output, "units", &u)?;
    }
    Ok(())
}

/// Divides each present component of a station trace's rows (`[3, len]`) by the overall
/// sensitivity of its channel epoch, which must cover the whole trace (`start_ns` to `end_ns`);
/// the unit the samples are then in (`M/S`).
fn divide_by_sensitivity(
    rows: &mut [f32],
    len: usize,
    st: &mseed::Station,
    end_ns: i64,
    inventory: &inventory::Inventory,
) -> anyhow::Result<String> {
    let prefix = &st.id[..st.id.len() - st.channel.len()];
    let mut unit: Option<String> = None;
    for (c, code) in st.channel_codes().iter().enumerate() {
        let Some(code) = code else { continue };
        let id = format!("{prefix}{code}");
        let at = crate::time::format_rfc3339(st.start_ns);
        let ch = inventory.channel_at(&id, st.start_ns).ok_or_else(|| {
            anyhow::anyhow!(
                "the station metadata among the files has no epoch of channel {id} at {at}"
            )
        })?;
        anyhow::ensure!(
            ch.end_ns.is_none_or(|e| e >= end_ns),
            "channel {id}: its epoch from {at} ends at {}, inside trace `{}`: the response changes within it (read the data on either side separately)",
            crate::time::format_rfc3339(ch.end_ns.unwrap_or_default()),
            st.name
        );
        let s = ch
            .sensitivity
            .as_ref()
            .filter(|s| s.value.is_finite() && s.value != 0.0)
            .ok_or_else(|| {
                anyhow::anyhow!(
                    "channel {id} (station metadata, line {}): no overall sensitivity (InstrumentSensitivity) to divide by",
                    ch.line
                )
            })?;
        match &unit {
            Some(u) if !u.eq_ignore_ascii_case(&s.input_units) => anyhow::bail!(
                "channel {id} is in {} per count, the trace's other components in {u}",
                s.input_units
            ),
            _ => unit = Some(s.input_units.clone()),
        }
        for v in &mut rows[c * len..(c + 1) * len] {
            *v = (f64::from(*v) / s.value) as f32;
        }
    }
    unit.ok_or_else(|| anyhow::anyhow!("trace `{}` has no component to convert", st.name))
}

/// Pairs each `metadata<chunk>.csv` with `waveforms<chunk>.hdf5` and reads them in file order.
/// HDF5 opens a copy of the bytes whose digest was just verified, never the path itself.
fn read_seisbench(
    ctx: &RunCtx<'_>,
    p: &FetchWaveformsParams,
    sink: &mut dyn FnMut(Vec<f32>, Trace, f64) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let chunk = |label: &str, prefix: &str, ext: &str| {
        base(label)
            .strip_prefix(prefix)
            .and_then(|r| r.strip_suffix(ext))
            .map(str::to_string)
    };
    let dir = |l: &str| l[..l.len() - base(l).len()].to_string();
    let files = ctx.content;
    let mut paired = Vec::new();
    for csv in files {
        let label = &csv.label;
        if let Some(c) = chunk(label, "metadata", ".csv") {
            let h5 = files
                .iter()
                .find(|f| {
                    dir(&f.label) == dir(label)
                        && chunk(&f.label, "waveforms", ".hdf5").as_deref() == Some(c.as_str())
                })
                .ok_or_else(|| {
                    anyhow::anyhow!(
                        "{label}: no `waveforms{c}.hdf5` beside it among the files given (a SeisBench set is metadata{c}.csv + waveforms{c}.hdf5; add both to `paths`)"
                    )
                })?;
            paired.push((csv, h5));
        } else if chunk(label, "waveforms", ".hdf5").is_none() {
            anyhow::bail!(
                "{label}: not part of a SeisBench dataset (expected metadata*.csv and waveforms*.hdf5)"
            );
        }
    }
    anyhow::ensure!(
        !paired.is_empty(),
        "no metadata*.csv among the files given: a SeisBench set is metadata.csv + waveforms.hdf5"
    );
    let sources = p.sources();
    let csvs = paired
        .iter()
        .map(|(csv, _)| sources.read_one(ctx, csv))
        .collect::<anyhow::Result<Vec<_>>>()?;
    // Rows, for the progress bar (a quoted newline inside a field only makes it approximate).
    let rows: usize = csvs
        .iter()
        .map(|c| memchr::memchr_iter(b'\n', c).count().saturating_sub(1))
        .sum();
    ctx.progress.set_length(rows as u64);
    ctx.progress.set_message("traces read");
    let scratch = ctx.output.filename() + ".source.hdf5";
    for ((csv, h5), bytes) in paired.iter().zip(&csvs) {
        // A local file is hashed and checked in one pass and opened where it is; a download
        // is written to a scratch copy (it was checked against its pin when it arrived).
        let file = if sources.local() {
            h5::open_outside_pinned(std::path::Path::new(&h5.label), &h5.label, Some(&h5.blake3))?
        } else {
            let downloaded = sources.read_one(ctx, h5)?;
            std::fs::write(&scratch, downloaded)
                .map_err(|e| anyhow::anyhow!("cannot write a scratch copy at {scratch}: {e}"))?;
            h5::open_outside(std::path::Path::new(&scratch), &h5.label)?
        };
        let r = seisbench::stream_chunk(&csv.label, bytes, &h5.label, &file, &mut |d, t, r| {
            sink(d, t, r)?;
            ctx.progress.inc(1);
            Ok(())
        });
        drop(file);
        if !sources.local() {
            let _ = std::fs::remove_file(&scratch);
        }
        r?;
    }
    Ok(())
}
