//! SeisBench datasets: `metadata.csv` + `waveforms.hdf5`, read and written.
//!
//! The format of SeisBench's `WaveformDataset` (Woollam et al. 2022, SRL 93:1695,
//! doi:10.1785/0220210324; "Data format" in the SeisBench documentation), in which STEAD,
//! INSTANCE and most benchmark sets are distributed:
//!
//! - `metadata.csv`: one row per trace. `trace_name` locates the samples: either a dataset
//!   `data/<trace_name>` of its own, or a row of a block, `bucket0$3,:3,:9001` = dataset
//!   `data/bucket0`, index 3, then one slice per remaining dimension. Optional columns read
//!   here: `trace_sampling_rate_hz`, `trace_p_arrival_sample`, `trace_s_arrival_sample`,
//!   `station_network_code`, `station_code`, `trace_channel`, `path_ep_distance_km` (else
//!   `source_distance_km`), `source_magnitude`, `split`, and `trace_name_original` (the trace's
//!   own name when `trace_name` is a block location, as SeisBench's converters write it).
//! - `waveforms.hdf5`: group `data` with the samples, group `data_format` with scalar
//!   *datasets* (not attributes) `component_order` (e.g. `ZNE`), `dimension_order` (`CW`: rows
//!   are components; `WC`: columns), `sampling_rate`, and optionally `measurement`, `unit`,
//!   `instrument_response`.
//!
//! A chunked set (`metadata<chunk>.csv` + `waveforms<chunk>.hdf5`) is read chunk by chunk:
//! each CSV pairs with the HDF5 file of the same chunk name.

use std::collections::BTreeMap;
use std::path::Path;

use hdf5::types::{VarLenAscii, VarLenUnicode};

use crate::data::waveform_set::{COMPONENT_ORDER, Trace, Traces, WaveformSet};
use crate::h5;

/// Whether a file's first bytes are part of a SeisBench set: an HDF5 file (the signature
/// `\x89HDF\r\n\x1a\n` at offset 0) or a metadata CSV, whose header has `trace_name`.
pub fn is_seisbench(head: &[u8]) -> bool {
    if head.starts_with(b"\x89HDF\r\n\x1a\n") {
        return true;
    }
    crate::io::header_columns(head).is_some_and(|cols| cols.iter().any(|c| c == "trace_name"))
}

/// What `data_format` says.
struct Format {
    /// For each of Z, N, E: its row in the stored order, if present.
    rows: [Option<usize>; 3],
    components: usize,
    /// `CW` (true) or `WC`.
    channels_first: bool,
    sampling_rate: Option<f64>,
}

/// A scalar string dataset (variable-length UTF-8 or ASCII, as h5py writes `str`/`bytes`).
fn scalar_string(g: &hdf5::Group, name: &str) -> hdf5::Result<String> {
    let d = g.dataset(name)?;
    if let Ok(s) = d.read_scalar::<VarLenUnicode>() {
        return Ok(s.as_str().to_string());
    }
    Ok(d.read_scalar::<VarLenAscii>()?.as_str().to_string())
}

fn format(file: &hdf5::File, at: &str) -> anyhow::Result<Format> {
    let g = file.group("data_format").map_err(|_| {
        anyhow::anyhow!(
            "{at}: no group `data_format` (SeisBench stores component_order, dimension_order and sampling_rate there as datasets)"
        )
    })?;
    let order = scalar_string(&g, "component_order")
        .map_err(|e| anyhow::anyhow!("{at}: dataset `data_format/component_order`: {e}"))?;
    let mut rows = [None; 3];
    for (i, c) in order.chars().enumerate() {
        let Some(k) = COMPONENT_ORDER.find(c.to_ascii_uppercase()) else {
            anyhow::bail!(
                "{at}: dataset `data_format/component_order` is `{order}`; quakeline reads Z, N and E components (rotate 1/2 components to N/E first)"
            );
        };
        anyhow::ensure!(
            rows[k].is_none(),
            "{at}: dataset `data_format/component_order` = `{order}` names {c} twice"
        );
        rows[k] = Some(i);
    }
    let dims = match g.dataset("dimension_order") {
        Ok(_) => scalar_string(&g, "dimension_order")
            .map_err(|e| anyhow::anyhow!("{at}: dataset `data_format/dimension_order`: {e}"))?,
        Err(_) => "CW".to_string(),
    };
    let channels_first = match dims.trim_start_matches('N') {
        "CW" => true,
        "WC" => false,
        _ => anyhow::bail!(
            "{at}: dataset `data_format/dimension_order` is `{dims}`; expected CW or WC (optionally after N)"
        ),
    };
    let sampling_rate = match g.dataset("sampling_rate") {
        Ok(d) => Some(
            d.read_scalar::<f64>()
                .map_err(|e| anyhow::anyhow!("{at}: dataset `data_format/sampling_rate`: {e}"))?,
        ),
        Err(_) => None,
    };
    Ok(Format {
        rows,
        components: order.chars().count(),
        channels_first,
        sampling_rate,
    })
}

/// `start:end` (either may be empty) or a single index, against a dimension of `len`.
fn slice(s: &str, len: usize) -> Option<std::ops::Range<usize>> {
    let s = s.trim();
    if let Some((a, b)) = s.split_once(':') {
        let a = if a.is_empty() { 0 } else { a.parse().ok()? };
        let b = if b.is_empty() { len } else { b.parse().ok()? };
        (a <= b && b <= len).then_some(a..b)
    } else {
        let i: usize = s.parse().ok()?;
        (i < len).then_some(i..i + 1)
    }
}

/// Reads one chunk: `csv_label`/`csv` the metadata, `h5_path` its waveforms file (already
/// verified against its digest), appending to `set`.
pub fn read_chunk(
    csv_label: &str,
    csv: &[u8],
    h5_label: &str,
    h5_path: &Path,
    set: &mut WaveformSet,
) -> anyhow::Result<()> {
    let file = h5::open_outside(h5_path, h5_label)?;
    stream_chunk(csv_label, csv, h5_label, &file, &mut |data, trace, rate| {
        set.push(&data, trace, rate).map_err(|e| anyhow::anyhow!(e))
    })
}

/// Reads one chunk trace by trace, in CSV order, handing each trace (`[3, samples]` Z, N, E,
/// its metadata, its rate) to `sink`: a block `data/bucket0` is read one hyperslab per row,
/// never whole, so a chunk of any size passes in the memory of one trace. `file` is the opened
/// `waveforms*.hdf5` ([`h5::open_outside`]); an error of `sink` is reported at the CSV line.
pub fn stream_chunk(
    csv_label: &str,
    csv: &[u8],
    h5_label: &str,
    file: &hdf5::File,
    sink: &mut dyn FnMut(Vec<f32>, Trace, f64) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let fmt = format(file, h5_label)?;
    let data = file
        .group("data")
        .map_err(|_| anyhow::anyhow!("{h5_label}: no group `data` (the waveforms)"))?;
    let mut reader = csv::Reader::from_reader(csv);
    let headers = reader
        .headers()
        .map_err(|e| anyhow::anyhow!("{csv_label}: {e}"))?
        .clone();
    // Column indices by name, looked up once per field rather than scanned per row.
    let columns: std::collections::HashMap<&str, usize> =
        headers.iter().enumerate().map(|(i, h)| (h, i)).collect();
    let col = |name: &str| columns.get(name).copied();
    let name_col = col("trace_name")
        .ok_or_else(|| anyhow::anyhow!("{csv_label}: no column `trace_name` in the header"))?;
    let distance_col = col("path_ep_distance_km").or_else(|| col("source_distance_km"));
    // Blocks opened once (handles, not their samples).
    let mut buckets: BTreeMap<String, (hdf5::Dataset, Vec<usize>)> = BTreeMap::new();
    for (row, record) in reader.records().enumerate() {
        let line = row + 2;
        let record = record.map_err(|e| anyhow::anyhow!("{csv_label}: {e}"))?;
        let field = |c: Option<usize>| c.and_then(|c| record.get(c)).unwrap_or("").trim();
        let number = |name: &str| -> anyhow::Result<f64> {
            let v = field(col(name));
            if v.is_empty() {
                return Ok(f64::NAN);
            }
            let x: f64 = v.parse().map_err(|_| {
                anyhow::anyhow!("{csv_label}:{line}: column `{name}`: `{v}` is not a number")
            })?;
            anyhow::ensure!(x.is_finite(), "{csv_label}:{line}: column `{name}` is {v}");
            Ok(x)
        };
        let name = field(Some(name_col)).to_string();
        anyhow::ensure!(
            !name.is_empty(),
            "{csv_label}:{line}: column `trace_name` is empty"
        );
        let (values, shape) = if let Some((bucket, rest)) = name.split_once('$') {
            if !buckets.contains_key(bucket) {
                let ds = data.dataset(bucket).map_err(|_| {
                    anyhow::anyhow!(
                        "{csv_label}:{line}: trace `{name}` refers to block `data/{bucket}`, which {h5_label} does not have"
                    )
                })?;
                let shape = ds.shape();
                buckets.insert(bucket.to_string(), (ds, shape));
            }
            let (ds, shape) = &buckets[bucket];
            anyhow::ensure!(
                shape.len() == 3,
                "{h5_label}: block `data/{bucket}` has shape {shape:?}; expected [traces, {}]",
                if fmt.channels_first {
                    "components, samples"
                } else {
                    "samples, components"
                }
            );
            let mut parts = rest.split(',');
            let bad = || {
                anyhow::anyhow!(
                    "{csv_label}:{line}: trace `{name}`: the location `{rest}` is not `index,slice,slice` inside block `data/{bucket}` of shape {shape:?}"
                )
            };
            let i = slice(parts.next().unwrap_or(""), shape[0]).ok_or_else(bad)?;
            anyhow::ensure!(i.len() == 1, bad());
            let a = slice(parts.next().unwrap_or(":"), shape[1]).ok_or_else(bad)?;
            let b = slice(parts.next().unwrap_or(":"), shape[2]).ok_or_else(bad)?;
            anyhow::ensure!(parts.next().is_none(), bad());
            let (rows, cols) = (a.len(), b.len());
            let out: Vec<f32> = if rows * cols == 0 {
                Vec::new()
            } else {
                let v: ndarray::Array2<f32> = ds
                    .read_slice(ndarray::s![i.start, a, b])
                    .map_err(|e| anyhow::anyhow!("{h5_label}: dataset `data/{bucket}`: {e}"))?;
                v.into_raw_vec_and_offset().0
            };
            (out, vec![rows, cols])
        } else {
            let ds = data.dataset(&name).map_err(|_| {
                anyhow::anyhow!(
                    "{csv_label}:{line}: trace `{name}`: {h5_label} has no dataset `data/{name}`"
                )
            })?;
            let v: Vec<f32> = ds
                .read_raw()
                .map_err(|e| anyhow::anyhow!("{h5_label}: dataset `data/{name}`: {e}"))?;
            (v, ds.shape())
        };
        anyhow::ensure!(
            shape.len() == 2,
            "{h5_label}: trace `{name}` has shape {shape:?}; expected two dimensions"
        );
        let (c, w) = if fmt.channels_first {
            (shape[0], shape[1])
        } else {
            (shape[1], shape[0])
        };
        anyhow::ensure!(
            c == fmt.components,
            "{csv_label}:{line}: trace `{name}` has {c} components; `data_format/component_order` names {}",
            fmt.components
        );
        let mut zne = vec![0f32; 3 * w];
        let mut present = [false; 3];
        for (k, row) in fmt.rows.iter().enumerate() {
            let Some(row) = *row else { continue };
            for t in 0..w {
                zne[k * w + t] = if fmt.channels_first {
                    values[row * w + t]
                } else {
                    values[t * c + row]
                };
            }
            present[k] = zne[k * w..(k + 1) * w].iter().any(|v| *v != 0.0);
        }
        let rate = match number("trace_sampling_rate_hz")? {
            r if r.is_nan() => fmt.sampling_rate.ok_or_else(|| {
                anyhow::anyhow!(
                    "{csv_label}:{line}: no `trace_sampling_rate_hz` and no `data_format/sampling_rate` in {h5_label}"
                )
            })?,
            r => r,
        };
        anyhow::ensure!(
            rate > 0.0,
            "{csv_label}:{line}: column `trace_sampling_rate_hz` is {rate}"
        );
        // An exported set keeps each trace's own name beside its block location.
        let original = field(col("trace_name_original"));
        let trace = Trace {
            name: if original.is_empty() {
                name.clone()
            } else {
                original.to_string()
            },
            network: field(col("station_network_code")).to_string(),
            station: field(col("station_code")).to_string(),
            channel: field(col("trace_channel")).to_string(),
            split: field(col("split")).to_string(),
            present,
            p_sample: number("trace_p_arrival_sample")?,
            s_sample: number("trace_s_arrival_sample")?,
            distance_km: match distance_col {
                Some(c) => number(&headers[c])?,
                None => f64::NAN,
            },
            magnitude: number("source_magnitude")?,
        };
        sink(zne, trace, rate).map_err(|e| anyhow::anyhow!("{csv_label}:{line}: {e}"))?;
    }
    Ok(())
}

/// The CSV columns [`write`] produces, in order.
pub const COLUMNS: &[&str] = &[
    "trace_name",
    "trace_name_original",
    "station_network_code",
    "station_code",
    "trace_channel",
    "trace_sampling_rate_hz",
    "trace_npts",
    "trace_p_arrival_sample",
    "trace_s_arrival_sample",
    "path_ep_distance_km",
    "source_magnitude",
    "split",
];

/// Writes `set` as a SeisBench dataset: the waveforms file at `h5_path` (one block
/// `data/bucket0` of `[n, 3, samples]` float32, ZNE, `CW`, written a block of traces at a time,
/// so a set of any size passes in bounded memory), and returns `metadata.csv`'s bytes.
pub fn write(set: &dyn Traces, h5_path: &Path) -> anyhow::Result<Vec<u8>> {
    anyhow::ensure!(!set.is_empty(), "the waveform set is empty");
    let (n, samples) = (set.len(), set.samples());
    {
        let f = hdf5::File::create(h5_path)?;
        let data = f.create_group("data")?;
        let bucket = data
            .new_dataset::<f32>()
            .shape([n, 3, samples])
            .obj_track_times(false)
            .create("bucket0")?;
        let all: Vec<usize> = (0..n).collect();
        for block in crate::data::waveform_set::blocks(&all, samples) {
            let (a, k) = (block[0], block.len());
            let v = set.gather(block)?;
            let view = ndarray::ArrayView3::from_shape((k, 3, samples), &v)?;
            bucket.write_slice(view, ndarray::s![a..a + k, .., ..])?;
        }
        let fmt = f.create_group("data_format")?;
        for (name, value) in [
            ("component_order", COMPONENT_ORDER),
            ("dimension_order", "CW"),
        ] {
            let v: VarLenUnicode = value.parse().map_err(|e| anyhow::anyhow!("{e}"))?;
            fmt.new_dataset::<VarLenUnicode>()
                .obj_track_times(false)
                .create(name)?
                .write_scalar(&v)?;
        }
        fmt.new_dataset::<f64>()
            .obj_track_times(false)
            .create("sampling_rate")?
            .write_scalar(&set.sampling_rate_hz())?;
        f.flush()?;
    }
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(COLUMNS)?;
    let num = |v: f64| {
        if v.is_nan() {
            String::new()
        } else {
            format!("{v}")
        }
    };
    for (i, t) in set.metas().iter().enumerate() {
        w.write_record([
            format!("bucket0${i},:3,:{samples}"),
            t.name.clone(),
            t.network.clone(),
            t.station.clone(),
            t.channel.clone(),
            format!("{}", set.sampling_rate_hz()),
            samples.to_string(),
            num(t.p_sample),
            num(t.s_sample),
            num(t.distance_km),
            num(t.magnitude),
            t.split.clone(),
        ])?;
    }
    w.into_inner().map_err(|e| anyhow::anyhow!("{e}"))
}

#[cfg(test)]
mod tests {
    #[test]
    fn slices_follow_numpy() {
        use super::slice;
        assert_eq!(slice(":3", 3), Some(0..3));
        assert_eq!(slice("1:", 3), Some(1..3));
        assert_eq!(slice(":", 5), Some(0..5));
        assert_eq!(slice("4", 5), Some(4..5));
        assert_eq!(slice("5", 5), None);
        assert_eq!(slice(":9002", 9001), None);
        assert_eq!(slice("2:1", 3), None);
        assert_eq!(slice("x", 3), None);
    }
}
