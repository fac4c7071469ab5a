//! miniSEED: continuous 3-C records as station traces.
//!
//! miniSEED (FDSN SEED 2.4 data records and miniSEED 3, <https://docs.fdsn.org/projects/miniseed3/>)
//! is what data centres serve and stations record. Records are decoded by EarthScope's libmseed
//! (through the `mseed` crate): Steim1/Steim2, integer and float encodings, CRC checks on
//! miniSEED 3 — a maintained decoder rather than Steim written again here.
//!
//! Records are grouped into station traces by network, station, location and the band and
//! instrument codes of the channel (`BK.BKS..HH`, the trace name); the channel's last letter is
//! the component: `Z`; `N` or `1`; `E` or `2`. The `1`/`2` components are taken as N/E without
//! rotation (their azimuths are station metadata, which miniSEED does not carry): the same
//! convention as SeisBench's default `component_order` mapping. The trace starts at its earliest
//! sample over the three components; every record's samples are placed on that grid at the
//! nearest sample (components offset by a fraction of a sample are aligned to within half a
//! sample). Time not covered by a record — a gap, or a component starting late — is NaN. A
//! station's records more than a maximum gap apart (e.g. event windows of several earthquakes)
//! are separate traces, named by station and start time (`BK.BKS..HH_2017-07-15T10:49:20.610Z`).
//!
//! Picks come from a pick file ([`crate::io::picks`]), each placed in the trace of its station
//! whose data contains its time; the pick's sample index is fractional.

use std::collections::BTreeMap;

use mseed::{MSControlFlags, MSDataEncoding, MSRecord, MSSampleType};

use crate::signal::resample::{Ratio, resample_with_gaps};
use crate::stage::PluginParams;
use crate::time;

crate::stage_params! {
    /// The miniSEED format's own parameters of `fetch.waveforms` (accepted, and keyed, only with
    /// `format = "mseed"`).
    pub struct MseedParams {
        /// mseed: records of a station further apart than this start a new trace (seconds)
        max_gap_s: f64 = Float { positive: true }, Default("60.0");
        /// mseed: bytes that are no readable record: tail (drop an unreadable end of a file, warned and recorded, as ObsPy reads it), error, or skip (also a damaged record between good ones)
        damaged: Damaged = Choice(Damaged::NAMES), Default("\"tail\"");
        /// mseed: QuakeML picks kept by their evaluationMode: any, manual or automatic
        pick_mode: crate::io::picks::quakeml::Mode = Choice(crate::io::picks::quakeml::Mode::NAMES), Default("\"any\"");
        /// mseed: none (counts), or sensitivity: each component divided by its channel's overall sensitivity from the station metadata among the files (counts to m/s, as ObsPy's remove_sensitivity)
        response: Response = Choice(Response::NAMES), Default("\"none\"");
    }
}

crate::choice! {
    /// What a set's samples are: the recorded counts, or ground motion in the unit of the
    /// channels' response (their overall sensitivity, StationXML `InstrumentSensitivity`).
    pub enum Response {
        None = "none",
        Sensitivity = "sensitivity",
    }
}

crate::choice! {
    /// What to do with bytes of a file that are no readable record. A live archive's day file
    /// ends in a record still being written; ObsPy (libmseed) reads the complete records before
    /// it and warns. A damaged record between readable ones is another matter: data is missing
    /// inside the file.
    pub enum Damaged {
        /// An unreadable end of a file is dropped, with a warning and a note in the entry; a
        /// damaged record followed by a readable one is an error.
        Tail = "tail",
        /// Every unreadable byte is an error (how quakeline read miniSEED before this setting).
        Error = "error",
        /// Unreadable bytes anywhere are skipped to the next readable record, each warned and
        /// noted.
        Skip = "skip",
    }
}

/// Bytes of a file that were not read, and why: what [`records`] dropped under
/// [`Damaged::Tail`] or [`Damaged::Skip`].
#[derive(Clone, Debug, PartialEq)]
pub struct Dropped {
    pub label: String,
    /// Byte range `[from, to)` of the file.
    pub from: usize,
    pub to: usize,
    /// The reader's reason, in words.
    pub why: String,
}

impl std::fmt::Display for Dropped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}: bytes {} to {} ({} bytes) are no readable miniSEED record and were not read: {}",
            self.label,
            self.from,
            self.to,
            self.to - self.from,
            self.why
        )
    }
}

/// [`MseedParams`] as a plug-in of `fetch.waveforms`.
pub const PARAMS: PluginParams = PluginParams::of::<MseedParams>("format", "mseed", |_| Ok(()));

/// Whether a file's first bytes are a miniSEED record: miniSEED 3 (`MS` and format version 3),
/// or a SEED 2.4 fixed header (six digits or spaces of sequence number, a data-quality code
/// `D`, `R`, `Q` or `M`, then a space or NUL; FDSN SEED manual, ch. 8).
pub fn is_mseed(head: &[u8]) -> bool {
    if head.len() >= 3 && &head[..2] == b"MS" && head[2] == 3 {
        return true;
    }
    head.len() >= 48
        && head[..6].iter().all(|b| b.is_ascii_digit() || *b == b' ')
        && head[..6].iter().any(u8::is_ascii_digit)
        && matches!(head[6], b'D' | b'R' | b'Q' | b'M')
        && matches!(head[7], b' ' | 0)
}

/// Samples per component a station trace may span (about 5.8 days at 100 Hz): a record dated
/// years from its neighbours must not become an allocation of that size.
pub const MAX_TRACE_SAMPLES: usize = 50_000_000;

/// One data record's header, as [`records`] parses it; its samples are decoded where they are
/// placed ([`Station::component`]), once, so the records of many station-days are a few hundred
/// bytes each in memory, not their samples.
#[derive(Clone, Debug)]
pub struct Record {
    pub network: String,
    pub station: String,
    pub location: String,
    pub channel: String,
    /// Time of the first sample, ns since 1970 UTC.
    pub start_ns: i64,
    pub rate_hz: f64,
    /// Number of samples.
    pub samples: usize,
    /// Where the record starts in its file (errors name it), and its length in bytes.
    pub byte: usize,
    pub len: usize,
}

/// libmseed reports what is wrong with a record (`only decoded 5931 samples of 5980 expected`)
/// through its log, printed to stderr by default, and returns a generic error code. Its log
/// parameters are thread-local (`gMSLogParam`), so each decoding thread routes them once into a
/// thread-local buffer, and [`records`] puts them into its error message instead.
mod log {
    use std::cell::{Cell, RefCell};
    use std::ffi::{CStr, c_char};

    thread_local! {
        static HOOKED: Cell<bool> = const { Cell::new(false) };
        static MESSAGES: RefCell<String> = const { RefCell::new(String::new()) };
    }

    /// Called by libmseed with one formatted message; must not unwind into C.
    unsafe extern "C" fn keep(message: *const c_char) {
        if message.is_null() {
            return;
        }
        // SAFETY: libmseed passes a NUL-terminated string valid for the duration of the call.
        let text = unsafe { CStr::from_ptr(message) }.to_string_lossy();
        let _ = MESSAGES.try_with(|m| {
            if let Ok(mut m) = m.try_borrow_mut() {
                if !m.is_empty() {
                    m.push_str("; ");
                }
                m.push_str(text.trim());
            }
        });
    }

    /// Routes this thread's libmseed messages into the buffer, and empties it.
    pub fn start() {
        if !HOOKED.with(|h| h.replace(true)) {
            // SAFETY: `keep` has the `void (*)(const char*)` signature libmseed expects and
            // lives for the program; null prefixes keep libmseed's defaults; 0 disables the
            // message registry. This only sets the calling thread's `gMSLogParam`.
            unsafe {
                libmseed_sys::ms_rloginit(
                    Some(keep),
                    std::ptr::null(),
                    Some(keep),
                    std::ptr::null(),
                    0,
                );
            }
        }
        MESSAGES.with(|m| m.borrow_mut().clear());
    }

    /// The messages since [`start`], `Error: ` prefixes removed.
    pub fn take() -> String {
        MESSAGES
            .with(|m| std::mem::take(&mut *m.borrow_mut()))
            .replace("Error: ", "")
    }
}

/// The data records of one file's bytes, headers only (CRC-checked where the format has one;
/// the samples are decoded where they are placed, [`Station::component`]). Text (log) records
/// carry no waveform and are skipped; zero bytes after the last record (block padding) are
/// allowed; anything else that is not a record is dropped or an error naming its byte offset,
/// as `damaged` says ([`Damaged`]; libmseed's reasons are said in words).
pub fn records(
    label: &str,
    bytes: &[u8],
    damaged: Damaged,
) -> anyhow::Result<(Vec<Record>, Vec<Dropped>)> {
    let mut out = Vec::new();
    let mut dropped = Vec::new();
    let mut at = 0usize;
    while at < bytes.len() {
        let rest = &bytes[at..];
        if rest.iter().all(|b| *b == 0) {
            break;
        }
        match record_at(label, bytes, at) {
            Ok((record, len)) => {
                out.extend(record);
                at += len;
            }
            Err(e) if damaged == Damaged::Error => return Err(e),
            Err(e) => {
                // The next readable record, if any: kept, not parsed a second time.
                let next = (at + 1..bytes.len())
                    .filter(|&o| is_mseed(&bytes[o..]))
                    .find_map(|o| record_at(label, bytes, o).ok().map(|r| (o, r)));
                if let (Some((o, _)), Damaged::Tail) = (&next, damaged) {
                    anyhow::bail!(
                        "{e:#}; a readable record follows at byte {o}, so data inside the file is missing (damaged = \"skip\" skips it, with a warning)"
                    );
                }
                let why = format!("{e:#}");
                let why = why.strip_prefix(&format!("{label}: ")).unwrap_or(&why);
                dropped.push(Dropped {
                    label: label.to_string(),
                    from: at,
                    to: next.as_ref().map_or(bytes.len(), |(o, _)| *o),
                    why: why.to_string(),
                });
                let Some((o, (record, len))) = next else {
                    break;
                };
                out.extend(record);
                at = o + len;
            }
        }
    }
    anyhow::ensure!(!out.is_empty(), "{label}: no miniSEED data records");
    Ok((out, dropped))
}

/// The record starting at byte `at` of file `label` (`None` for one without samples) and its
/// length, or why there is none, in words.
fn record_at(label: &str, bytes: &[u8], at: usize) -> anyhow::Result<(Option<Record>, usize)> {
    let rest = &bytes[at..];
    let len = match mseed::detect(rest) {
        Ok(d) => d.rec_len.map(|n| n as usize),
        Err(_) => anyhow::bail!(
            "{label}: byte {at}: not a miniSEED record (neither a SEED 2.4 fixed header nor a miniSEED 3 header starts here)"
        ),
    };
    let Some(len) = len.filter(|n| *n > 0 && *n <= rest.len()) else {
        anyhow::bail!(
            "{label}: byte {at}: a miniSEED record header whose record length is unknown or runs past the end of the file ({} bytes left): a truncated record",
            rest.len()
        );
    };
    Ok((decode(label, bytes, at, len, false)?.map(|(r, _)| r), len))
}

/// Parses the record `bytes[at..at + len]` of file `label`: its header and, with `unpack`, its
/// samples (without, an empty vector); `None` for a record without samples (text).
fn decode(
    label: &str,
    bytes: &[u8],
    at: usize,
    len: usize,
    unpack: bool,
) -> anyhow::Result<Option<(Record, Vec<f64>)>> {
    let raw = bytes
        .get(at..at.saturating_add(len))
        .ok_or_else(|| anyhow::anyhow!("{label}: record at byte {at}: past the end of the file"))?;
    if let Err(why) = check_ms2_data_offset(raw) {
        anyhow::bail!("{label}: record at byte {at}: {why}");
    }
    log::start();
    let mut rec = MSRecord::parse(raw, MSControlFlags::MSF_VALIDATECRC)
        .map_err(|e| libmseed_error(label, at, e))?;
    let located = |what: &str| format!("{label}: record at byte {at}: {what}");
    let samples = if unpack {
        match unpack_samples(&mut rec, label, at)? {
            Some(v) => v,
            None => return Ok(None),
        }
    } else {
        if rec.sample_cnt() == 0 || matches!(rec.encoding(), Ok(MSDataEncoding::Text)) {
            return Ok(None);
        }
        Vec::new()
    };
    let count = if unpack {
        samples.len()
    } else {
        usize::try_from(rec.sample_cnt())
            .map_err(|_| anyhow::anyhow!(located("a negative sample count")))?
    };
    let rate_hz = rec.sample_rate_hz();
    anyhow::ensure!(
        rate_hz.is_finite() && rate_hz > 0.0,
        located(&format!("sampling rate {rate_hz} Hz"))
    );
    let start_ns = rec
        .start_time()
        .ok()
        .and_then(|t| i64::try_from(t.unix_timestamp_nanos()).ok())
        .ok_or_else(|| anyhow::anyhow!(located("start time outside the time axis")))?;
    let text = |r: mseed::MSResult<String>, what: &str| {
        r.map_err(|e| anyhow::anyhow!(located(&format!("{what}: {e}"))))
    };
    let record = Record {
        network: text(rec.network(), "network")?,
        station: text(rec.station(), "station")?,
        location: text(rec.location(), "location")?,
        channel: text(rec.channel(), "channel")?,
        start_ns,
        rate_hz,
        samples: count,
        byte: at,
        len,
    };
    Ok(Some((record, samples)))
}

/// libmseed's error for the record at byte `at` of `label`: what its log said (the reason), else
/// its error code's text.
fn libmseed_error(label: &str, at: usize, e: mseed::MSError) -> anyhow::Error {
    let said = log::take();
    if said.is_empty() {
        anyhow::anyhow!("{label}: record at byte {at}: {e}")
    } else {
        anyhow::anyhow!("{label}: record at byte {at}: {said}")
    }
}

/// The samples of a parsed record, checked: libmseed's decoding errors and integrity warnings,
/// and every sample finite; `None` for a record without samples.
fn unpack_samples(rec: &mut MSRecord, label: &str, at: usize) -> anyhow::Result<Option<Vec<f64>>> {
    rec.unpack_data()
        .map_err(|e| libmseed_error(label, at, e))?;
    // Steim frames carry the last sample (Xn) as an integrity check; libmseed only warns
    // when the decoded samples disagree with it, but those samples are wrong.
    let warnings = log::take();
    anyhow::ensure!(
        !warnings.contains("integrity check"),
        "{label}: record at byte {at}: damaged compressed data: {warnings}"
    );
    let located = |what: &str| format!("{label}: record at byte {at}: {what}");
    let samples: Vec<f64> = match rec.sample_type() {
        MSSampleType::Integer32 => rec
            .data_samples::<i32>()
            .unwrap_or_default()
            .iter()
            .map(|v| f64::from(*v))
            .collect(),
        MSSampleType::Float32 => rec
            .data_samples::<f32>()
            .unwrap_or_default()
            .iter()
            .map(|v| f64::from(*v))
            .collect(),
        MSSampleType::Float64 => rec.data_samples::<f64>().unwrap_or_default().to_vec(),
        MSSampleType::Text => return Ok(None),
        MSSampleType::Unknown => {
            if rec.sample_cnt() == 0 {
                return Ok(None);
            }
            anyhow::bail!(located("samples of an unknown type"));
        }
    };
    if let Some(i) = samples.iter().position(|v| !v.is_finite()) {
        anyhow::bail!(located(&format!("sample {i} is {}", samples[i])));
    }
    Ok(Some(samples))
}

/// Refuses a miniSEED 2 record whose "beginning of data" offset lies outside it, before libmseed
/// sees it: libmseed (3.1.3, and its master of 2026-11) computes the payload size as record
/// length minus that offset without checking it, and reads far past the record (a crash found by
/// `tests/fuzz.rs`, input `tests/data/waveforms/mseed/fuzz_data_offset.mseed`). The header's
/// byte order is decided as libmseed decides it: the start year (bytes 20–21) read big-endian is
/// plausible (1900–2100) or the record is little-endian (SEED 2.4, fixed section of the data
/// header: data offset at bytes 44–45, sample count at 30–31).
fn check_ms2_data_offset(rec: &[u8]) -> Result<(), String> {
    let is_ms2 = rec.len() >= 48
        && rec[..6]
            .iter()
            .all(|b| b.is_ascii_digit() || *b == b' ' || *b == 0)
        && matches!(rec[6], b'D' | b'R' | b'Q' | b'M');
    if !is_ms2 {
        return Ok(());
    }
    let big = (1900..=2100).contains(&u16::from_be_bytes([rec[20], rec[21]]));
    let u16_at = |i: usize| {
        let b = [rec[i], rec[i + 1]];
        if big {
            u16::from_be_bytes(b)
        } else {
            u16::from_le_bytes(b)
        }
    };
    let (offset, samples) = (usize::from(u16_at(44)), u16_at(30));
    if samples > 0 && (offset < 48 || offset >= rec.len()) {
        return Err(format!(
            "the data offset in its header ({offset}) is outside the record ({} bytes): a damaged header",
            rec.len()
        ));
    }
    Ok(())
}

/// A station's three components on one sample grid.
#[derive(Clone, Debug)]
pub struct StationTrace {
    /// Its name, codes, start, rate and components.
    pub station: Station,
    /// Z, N, E, each the same length; NaN where no record covers a sample.
    pub data: [Vec<f64>; 3],
}

impl StationTrace {
    pub fn samples(&self) -> usize {
        self.data[0].len()
    }
}

/// A station trace before its samples are read: what [`assemble`] decides from the records'
/// headers (name, start, length, components, which record goes where). [`Station::read`] fills
/// it in, so a caller can hold one station-day of samples at a time.
#[derive(Clone, Debug)]
pub struct Station {
    /// `NET.STA.LOC.BI_<start time>`, e.g. `BK.BKS..HH_2017-07-15T10:49:20.610Z`.
    pub name: String,
    /// `NET.STA.LOC.BI` (band and instrument codes), what pick files name.
    pub id: String,
    pub network: String,
    pub station: String,
    /// Band and instrument codes, `HH`.
    pub channel: String,
    pub start_ns: i64,
    pub rate_hz: f64,
    /// Samples per component.
    pub samples: usize,
    pub present: [bool; 3],
    parts: Vec<Part>,
}

/// One record of a station: its file, place in the file, component and first sample.
#[derive(Clone, Debug)]
struct Part {
    label: String,
    byte: usize,
    len: usize,
    channel: String,
    comp: usize,
    offset: usize,
}

/// Component row (Z, N, E) of a channel code's last letter.
fn component(channel: &str) -> Option<usize> {
    match channel.chars().last()? {
        'Z' => Some(0),
        'N' | '1' => Some(1),
        'E' | '2' => Some(2),
        _ => None,
    }
}

/// Groups records (`(file label, record)`) into station traces, by station and then in time: a
/// record that starts more than `max_gap_ns` after everything before it of its station begins a
/// new trace (event windows of one station are separate traces, not one trace of days of NaN).
/// Traces come in the order of their station names, then in time. Only headers are used.
pub fn assemble(records: &[(String, Record)], max_gap_ns: i64) -> anyhow::Result<Vec<Station>> {
    let mut groups: BTreeMap<String, Vec<(&str, &Record, usize)>> = BTreeMap::new();
    for (label, r) in records {
        let comp = component(&r.channel).ok_or_else(|| {
            anyhow::anyhow!(
                "{label}: record at byte {}: channel `{}` is not a Z, N/1 or E/2 component",
                r.byte,
                r.channel
            )
        })?;
        let band: String = r
            .channel
            .chars()
            .take(r.channel.chars().count() - 1)
            .collect();
        let name = format!("{}.{}.{}.{band}", r.network, r.station, r.location);
        groups.entry(name).or_default().push((label, r, comp));
    }
    let mut out = Vec::new();
    for (name, mut recs) in groups {
        recs.sort_by_key(|(_, r, _)| r.start_ns);
        let mut cluster: Vec<(&str, &Record, usize)> = Vec::new();
        let mut end_ns = i64::MIN;
        for rec in recs {
            let r = rec.1;
            if !cluster.is_empty() && r.start_ns.saturating_sub(end_ns) > max_gap_ns {
                out.push(station(&name, &cluster)?);
                cluster.clear();
            }
            let span = (r.samples as f64 * 1e9 / r.rate_hz).min(i64::MAX as f64) as i64;
            end_ns = end_ns.max(r.start_ns.saturating_add(span));
            cluster.push(rec);
        }
        out.push(station(&name, &cluster)?);
    }
    Ok(out)
}

fn station(id: &str, recs: &[(&str, &Record, usize)]) -> anyhow::Result<Station> {
    let name = id;
    let (first_label, first, _) = recs[0];
    let rate = first.rate_hz;
    let step_ns = 1e9 / rate;
    for (label, r, _) in recs {
        anyhow::ensure!(
            (r.rate_hz - rate).abs() <= 1e-6 * rate,
            "{label}: record at byte {} of {name} ({}) is sampled at {} Hz, {first_label}'s record at byte {} at {rate} Hz: one station trace has one rate",
            r.byte,
            r.channel,
            r.rate_hz,
            first.byte
        );
    }
    let start_ns = recs.iter().map(|(_, r, _)| r.start_ns).min().unwrap_or(0);
    // Sample index of each record's first sample on the trace's grid.
    let offset = |r: &Record| ((r.start_ns - start_ns) as f64 / step_ns).round() as usize;
    let end = recs
        .iter()
        .map(|(_, r, _)| offset(r).saturating_add(r.samples))
        .max()
        .unwrap_or(0);
    anyhow::ensure!(
        end <= MAX_TRACE_SAMPLES,
        "{name}: its records span {end} samples ({:.1} days at {rate} Hz), more than the {MAX_TRACE_SAMPLES} a station trace may hold; give the files of one event window",
        end as f64 / rate / 86_400.0
    );
    let mut present = [false; 3];
    let parts = recs
        .iter()
        .map(|(label, r, comp)| {
            present[*comp] = true;
            Part {
                label: label.to_string(),
                byte: r.byte,
                len: r.len,
                channel: r.channel.clone(),
                comp: *comp,
                offset: offset(r),
            }
        })
        .collect();
    let mut codes = id.split('.');
    let network = codes.next().unwrap_or_default().to_string();
    let station_code = codes.next().unwrap_or_default().to_string();
    let channel = id.rsplit('.').next().unwrap_or_default().to_string();
    Ok(Station {
        name: format!("{id}_{}", time::format_rfc3339(start_ns)),
        id: id.to_string(),
        network,
        station: station_code,
        channel,
        start_ns,
        rate_hz: rate,
        samples: end,
        present,
        parts,
    })
}

impl Station {
    /// The station's samples, decoded from the files its records came from (`files`: the
    /// `(label, bytes)` [`records`] read). Overlapping records must agree sample for sample.
    pub fn read(&self, files: &[(String, Vec<u8>)]) -> anyhow::Result<StationTrace> {
        let [z, n, e] = [0, 1, 2].map(|c| self.component(c, files));
        Ok(StationTrace {
            station: self.clone(),
            data: [z?, n?, e?],
        })
    }

    /// The files its records are in (labels as [`records_of`] was given them), in record order.
    pub fn files(&self) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::new();
        for p in &self.parts {
            if !out.contains(&p.label.as_str()) {
                out.push(&p.label);
            }
        }
        out
    }

    /// The station as the float32 rows of a waveform set, `[3, len]` Z, N, E: each component
    /// decoded, resampled by `ratio` unless it is 1 (`scipy.signal.resample_poly`, each gap-free
    /// run alone), padded with NaN to `len` (at least [`Ratio::output_len`] of
    /// [`samples`](Self::samples)). One component is held in float64 at a time.
    /// The channel code of each component row (Z, N, E), `None` for a missing one: what
    /// station metadata names them by.
    pub fn channel_codes(&self) -> [Option<&str>; 3] {
        let mut out = [None; 3];
        for p in &self.parts {
            out[p.comp].get_or_insert(p.channel.as_str());
        }
        out
    }

    pub fn rows(
        &self,
        files: &[(String, Vec<u8>)],
        ratio: Ratio,
        len: usize,
    ) -> anyhow::Result<Vec<f32>> {
        let mut flat = Vec::with_capacity(3 * len);
        for c in 0..3 {
            let x = self.component(c, files)?;
            let start = flat.len();
            if ratio.up == ratio.down {
                flat.extend(x.iter().map(|v| *v as f32));
            } else {
                flat.extend(resample_with_gaps(&x, ratio).into_iter().map(|v| v as f32));
            }
            flat.resize(start + len, f32::NAN);
        }
        Ok(flat)
    }

    /// Component `c` (Z, N, E) of the station, NaN where no record covers a sample: a caller
    /// that converts as it goes holds one component of a station-day at a time.
    pub fn component(&self, c: usize, files: &[(String, Vec<u8>)]) -> anyhow::Result<Vec<f64>> {
        let name = &self.id;
        let step_ns = 1e9 / self.rate_hz;
        let mut data = vec![f64::NAN; self.samples];
        // A station's records come a file at a time: remember the last file found.
        let mut file: Option<&(String, Vec<u8>)> = None;
        for part in self.parts.iter().filter(|p| p.comp == c) {
            let label = &part.label;
            if file.is_none_or(|f| f.0 != *label) {
                file = files.iter().find(|f| f.0 == *label);
            }
            let bytes = &file
                .ok_or_else(|| anyhow::anyhow!("{label}: the file is no longer given"))?
                .1;
            let Some((_, samples)) = decode(label, bytes, part.byte, part.len, true)? else {
                continue;
            };
            let at = part.offset;
            anyhow::ensure!(
                at + samples.len() <= self.samples,
                "{label}: record at byte {}: {} samples where its header said fewer",
                part.byte,
                samples.len()
            );
            for (k, v) in samples.iter().enumerate() {
                let slot = &mut data[at + k];
                if !slot.is_nan() && *slot != *v {
                    anyhow::bail!(
                        "{label}: record at byte {} of {name} ({}) overlaps earlier data at {} with a different sample ({v} vs {slot}); give one copy of the data",
                        part.byte,
                        part.channel,
                        time::format_rfc3339(self.start_ns + ((at + k) as f64 * step_ns) as i64)
                    );
                }
                *slot = *v;
            }
        }
        Ok(data)
    }
}

/// The station traces of `files` (`(label, bytes)`), laid out from their records' headers
/// ([`records`], [`assemble`]) and not yet decoded, with what `damaged` dropped.
pub fn stations(
    files: &[(String, Vec<u8>)],
    max_gap_ns: i64,
    damaged: Damaged,
) -> anyhow::Result<(Vec<Station>, Vec<Dropped>)> {
    let mut records = Vec::new();
    let mut dropped = Vec::new();
    for (label, bytes) in files {
        let (r, d) = records_of(label, bytes, damaged)?;
        records.extend(r);
        dropped.extend(d);
    }
    Ok((assemble(&records, max_gap_ns)?, dropped))
}

/// Every station trace of `files`, decoded ([`stations`], [`Station::read`]), every byte a
/// readable record ([`Damaged::Error`]): for callers that hold all traces at once (tests,
/// benches).
pub fn read_stations(
    files: &[(String, Vec<u8>)],
    max_gap_ns: i64,
) -> anyhow::Result<Vec<StationTrace>> {
    stations(files, max_gap_ns, Damaged::Error)?
        .0
        .iter()
        .map(|s| s.read(files))
        .collect()
}

/// Records, each with the label of its file.
pub type Labelled = Vec<(String, Record)>;

/// [`records`] of one file, each paired with the file's label.
pub fn records_of(
    label: &str,
    bytes: &[u8],
    damaged: Damaged,
) -> anyhow::Result<(Labelled, Vec<Dropped>)> {
    let (records, dropped) = records(label, bytes, damaged)?;
    Ok((
        records
            .into_iter()
            .map(|r| (label.to_string(), r))
            .collect(),
        dropped,
    ))
}
