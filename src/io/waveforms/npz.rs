//! PhaseNet's `.npz` traces: one three-component trace per file, with analyst P and S picks.
//!
//! The layout of PhaseNet's training data (Zhu & Beroza 2019, GJI 216:261,
//! doi:10.1093/gji/ggy423; github:AI4EPS/PhaseNet `dataset/waveform_train`), a NumPy zip archive:
//!
//! | array | dtype, shape | content |
//! |---|---|---|
//! | `data` | float, `(samples, 3)` | columns E, N, Z (PhaseNet's order), 100 Hz unless `sampling_rate`/`dt` say otherwise |
//! | `itp`, `its` | integer scalar | P and S pick, sample index from the trace start (negative: no pick; a file without them is refused, as PhaseNet's reader refuses it) |
//! | `channels` | string scalar, optional | the three channel codes, e.g. `EHE_EHN_EHZ`, or one (`EHZ`) for a vertical-only station |
//! | `sampling_rate` or `dt` | scalar, optional | Hz, or seconds per sample |
//!
//! The file name is `NET_STA_YYYYMMDDhhmmsscc[_k].npz`: network and station come from it. A
//! component that is all zeros (vertical-only stations, 39 of the 154 traces of PhaseNet's set)
//! is flagged missing. The columns are reordered to Z, N, E.

use std::io::{Cursor, Read};

use npyz::NpyFile;

use crate::data::waveform_set::Trace;

/// Whether a file's first bytes are a zip archive (a NumPy `.npz` is one: local file header
/// `PK\x03\x04`).
pub fn is_npz(head: &[u8]) -> bool {
    head.starts_with(b"PK\x03\x04")
}

/// One decoded file.
pub struct NpzTrace {
    /// `[3, samples]`, Z, N, E.
    pub data: Vec<f32>,
    pub trace: Trace,
    pub sampling_rate_hz: f64,
}

/// PhaseNet's rate when a file does not state one.
pub const DEFAULT_RATE_HZ: f64 = 100.0;

/// Reads one `.npz` file's bytes; `label` is its path (errors name it and the array).
pub fn parse(label: &str, bytes: &[u8]) -> anyhow::Result<NpzTrace> {
    let mut z = zip::ZipArchive::new(Cursor::new(bytes))
        .map_err(|e| anyhow::anyhow!("{label}: not a NumPy .npz (zip) archive: {e}"))?;
    let names: Vec<String> = z
        .file_names()
        .map(|n| n.trim_end_matches(".npy").to_string())
        .collect();
    let data = member(label, &mut z, "data")?.ok_or_else(|| {
        anyhow::anyhow!(
            "{label}: no array `data` (the (samples, 3) E, N, Z waveform); it holds {names:?}"
        )
    })?;
    // The bytes `data` holds: a header claiming more values than that is damaged, and must
    // not become an allocation of that size.
    let stored = data.len() as u64;
    let data =
        NpyFile::new(&data[..]).map_err(|e| anyhow::anyhow!("{label}: array `data`: {e}"))?;
    let shape = data.shape().to_vec();
    let [samples, 3] = shape[..] else {
        anyhow::bail!(
            "{label}: array `data` has shape {shape:?}; expected (samples, 3): columns E, N, Z"
        );
    };
    anyhow::ensure!(
        samples.saturating_mul(3 * 4) <= stored,
        "{label}: array `data` claims shape {shape:?}, more than its {stored} bytes hold"
    );
    let fortran = data.order() == npyz::Order::Fortran;
    let dtype = data.dtype();
    let values: Vec<f64> = match dtype.descr().trim_matches('\'') {
        "<f8" => data.into_vec::<f64>(),
        "<f4" => data
            .into_vec::<f32>()
            .map(|v| v.into_iter().map(f64::from).collect()),
        d => anyhow::bail!("{label}: array `data` has dtype {d}; expected float64 or float32"),
    }
    .map_err(|e| anyhow::anyhow!("{label}: array `data`: {e}"))?;
    let samples = usize::try_from(samples)
        .map_err(|_| anyhow::anyhow!("{label}: array `data` is too long"))?;
    let at = |i: usize, c: usize| {
        if fortran {
            values[c * samples + i]
        } else {
            values[i * 3 + c]
        }
    };
    // E, N, Z columns → Z, N, E rows.
    let mut out = vec![0f32; 3 * samples];
    for (row, col) in [(0, 2), (1, 1), (2, 0)] {
        for i in 0..samples {
            let v = at(i, col);
            anyhow::ensure!(
                v.is_finite(),
                "{label}: array `data`, sample {i} of column {} is {v}",
                ["E", "N", "Z"][col]
            );
            out[row * samples + i] = v as f32;
        }
    }
    let present = [0, 1, 2].map(|r| {
        out[r * samples..(r + 1) * samples]
            .iter()
            .any(|v| *v != 0.0)
    });
    let mut pick = |name: &str, phase: &str| -> anyhow::Result<f64> {
        let Some(a) = member(label, &mut z, name)? else {
            anyhow::bail!(
                "{label}: no array `{name}` (the {phase} pick, a sample index; PhaseNet's files always have one: write -1 for a trace without a {phase} pick)"
            );
        };
        let v = scalar(label, name, &a)?;
        Ok(if v < 0.0 { f64::NAN } else { v })
    };
    let p_sample = pick("itp", "P")?;
    let s_sample = pick("its", "S")?;
    let sampling_rate_hz = if let Some(a) = member(label, &mut z, "sampling_rate")? {
        scalar(label, "sampling_rate", &a)?
    } else if let Some(a) = member(label, &mut z, "dt")? {
        1.0 / scalar(label, "dt", &a)?
    } else {
        DEFAULT_RATE_HZ
    };
    anyhow::ensure!(
        sampling_rate_hz.is_finite() && sampling_rate_hz > 0.0,
        "{label}: the sampling rate {sampling_rate_hz} Hz is not positive"
    );
    let channels = match member(label, &mut z, "channels")? {
        Some(b) => {
            let err = |e: std::io::Error| anyhow::anyhow!("{label}: array `channels`: {e}");
            let a = NpyFile::new(&b[..]).map_err(err)?;
            if a.shape().is_empty() {
                a.into_vec::<String>()
                    .map_err(err)?
                    .pop()
                    .unwrap_or_default()
            } else {
                String::new()
            }
        }
        None => String::new(),
    };
    let stem = std::path::Path::new(label)
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut parts = stem.split('_');
    let (network, station) = (
        parts.next().unwrap_or_default().to_string(),
        parts.next().unwrap_or_default().to_string(),
    );
    // `EHE_EHN_EHZ` or `EHZ`: the band and instrument letters of the first code.
    let channel = channels.chars().take(2).collect();
    Ok(NpzTrace {
        data: out,
        trace: Trace {
            name: stem,
            network,
            station,
            channel,
            split: String::new(),
            present,
            p_sample,
            s_sample,
            distance_km: f64::NAN,
            magnitude: f64::NAN,
        },
        sampling_rate_hz,
    })
}

/// Largest `.npy` member read: far above any trace (a 90-s 3-C float64 trace is 216 kB), far
/// below what a deflate bomb would expand to.
const MAX_MEMBER_BYTES: u64 = 1 << 30;

/// The bytes of member `<name>.npy`, or `None` when the archive has no such array.
fn member(
    label: &str,
    z: &mut zip::ZipArchive<Cursor<&[u8]>>,
    name: &str,
) -> anyhow::Result<Option<Vec<u8>>> {
    let mut f = match z.by_name(&format!("{name}.npy")) {
        Ok(f) => f,
        Err(zip::result::ZipError::FileNotFound) => return Ok(None),
        Err(e) => anyhow::bail!("{label}: array `{name}`: {e}"),
    };
    anyhow::ensure!(
        f.size() <= MAX_MEMBER_BYTES,
        "{label}: array `{name}` claims {} bytes uncompressed, more than the {MAX_MEMBER_BYTES} quakeline reads",
        f.size()
    );
    let mut out = Vec::with_capacity(f.size().min(1 << 24) as usize);
    (&mut f)
        .take(MAX_MEMBER_BYTES + 1)
        .read_to_end(&mut out)
        .map_err(|e| anyhow::anyhow!("{label}: array `{name}`: {e}"))?;
    anyhow::ensure!(
        out.len() as u64 <= MAX_MEMBER_BYTES,
        "{label}: array `{name}` expands past {MAX_MEMBER_BYTES} bytes"
    );
    Ok(Some(out))
}

/// A numeric scalar (or one-element array) of any integer or float dtype.
fn scalar(label: &str, name: &str, bytes: &[u8]) -> anyhow::Result<f64> {
    let a = NpyFile::new(bytes).map_err(|e| anyhow::anyhow!("{label}: array `{name}`: {e}"))?;
    let n = a
        .shape()
        .iter()
        .try_fold(1u64, |acc, d| acc.checked_mul(*d));
    anyhow::ensure!(
        n == Some(1),
        "{label}: array `{name}` has shape {:?}; expected a scalar",
        a.shape()
    );
    let err = |e: std::io::Error| anyhow::anyhow!("{label}: array `{name}`: {e}");
    let d = a.dtype().descr();
    let v = match d.trim_matches('\'') {
        "<i8" => a.into_vec::<i64>().map_err(err)?[0] as f64,
        "<i4" => a.into_vec::<i32>().map_err(err)?[0] as f64,
        "<i2" => a.into_vec::<i16>().map_err(err)?[0] as f64,
        "<u8" => a.into_vec::<u64>().map_err(err)?[0] as f64,
        "<u4" => a.into_vec::<u32>().map_err(err)?[0] as f64,
        "<f8" => a.into_vec::<f64>().map_err(err)?[0],
        "<f4" => a.into_vec::<f32>().map_err(err)?[0] as f64,
        _ => anyhow::bail!("{label}: array `{name}` has dtype {d}; expected a number"),
    };
    anyhow::ensure!(v.is_finite(), "{label}: array `{name}` is {v}");
    Ok(v)
}
