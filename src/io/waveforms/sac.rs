//! SAC binary files (IRIS/LLNL SAC "SAC Data File Format"): a 632-byte header of 70 floats,
//! 40 integers and 24 strings, then `npts` 32-bit floats. Either byte order (the header version
//! `nvhdr = 6` tells which). Only evenly sampled time series (`iftype = ITIME`, `leven = TRUE`);
//! undefined header values are −12345.
//!
//! fk writes its Green's functions as SAC files (`DIST.grn.N`), with `b` the time of the first
//! sample after the origin and `dist` the distance in km.

use std::path::Path;

/// Whether a file's first bytes are a SAC binary header: at least [`HEADER`] bytes, with the
/// header version `nvhdr` (integer word 6, byte 304) 6 in either byte order.
pub fn is_sac(head: &[u8]) -> bool {
    head.len() >= HEADER
        && head.get(304..308).is_some_and(|w| {
            let w: [u8; 4] = w.try_into().unwrap_or_default();
            i32::from_le_bytes(w) == 6 || i32::from_be_bytes(w) == 6
        })
}

const HEADER: usize = 632;
const UNDEFINED: f32 = -12345.0;

/// One evenly sampled SAC trace and the header fields quakeline uses.
#[derive(Clone, Debug, PartialEq)]
pub struct SacTrace {
    pub delta: f64,
    /// Begin time (s after the reference time).
    pub b: f64,
    /// Distance (km), if set.
    pub dist: Option<f64>,
    pub az: Option<f64>,
    pub baz: Option<f64>,
    pub stla: Option<f64>,
    pub stlo: Option<f64>,
    /// User time markers; fk writes the first P (`t1`) and S (`t2`) arrivals there.
    pub t1: Option<f64>,
    pub t2: Option<f64>,
    pub kstnm: String,
    pub knetwk: String,
    pub kcmpnm: String,
    pub data: Vec<f32>,
}

pub fn read(path: &Path) -> anyhow::Result<SacTrace> {
    let bytes = std::fs::read(path)
        .map_err(|e| anyhow::anyhow!("cannot read SAC file {}: {e}", path.display()))?;
    from_bytes(&path.display().to_string(), &bytes)
}

/// [`parse`] of the bytes of file `label`, the error naming it.
pub fn from_bytes(label: &str, bytes: &[u8]) -> anyhow::Result<SacTrace> {
    parse(bytes).map_err(|e| anyhow::anyhow!("{label}: not a usable SAC file: {e}"))
}

pub fn parse(bytes: &[u8]) -> Result<SacTrace, String> {
    if bytes.len() < HEADER {
        return Err(format!(
            "{} bytes, shorter than the {HEADER}-byte header",
            bytes.len()
        ));
    }
    let word = |i: usize| -> [u8; 4] {
        [
            bytes[4 * i],
            bytes[4 * i + 1],
            bytes[4 * i + 2],
            bytes[4 * i + 3],
        ]
    };
    let little = i32::from_le_bytes(word(76)) == 6;
    if !little && i32::from_be_bytes(word(76)) != 6 {
        return Err("header version (nvhdr) is not 6 in either byte order".into());
    }
    let f = |i: usize| {
        if little {
            f32::from_le_bytes(word(i))
        } else {
            f32::from_be_bytes(word(i))
        }
    };
    let int = |i: usize| {
        if little {
            i32::from_le_bytes(word(i))
        } else {
            i32::from_be_bytes(word(i))
        }
    };
    let opt = |i: usize| {
        let v = f(i);
        (v != UNDEFINED && v.is_finite()).then_some(v as f64)
    };
    let string = |offset: usize, len: usize| {
        let s = &bytes[440 + offset..440 + offset + len];
        let s = String::from_utf8_lossy(s)
            .trim_end_matches(['\0', ' '])
            .trim()
            .to_string();
        if s == "-12345" { String::new() } else { s }
    };
    let delta = f(0) as f64;
    if !(delta > 0.0 && delta.is_finite()) {
        return Err(format!("sampling interval delta = {delta} is not positive"));
    }
    let npts = int(79);
    if npts < 0 {
        return Err(format!("npts = {npts} is negative"));
    }
    let iftype = int(85);
    if iftype != 1 && iftype != -12345 {
        return Err(format!(
            "iftype = {iftype}: only time series (ITIME = 1) are supported"
        ));
    }
    if int(105) == 0 {
        return Err("leven = FALSE: unevenly sampled files are not supported".into());
    }
    let npts = npts as usize;
    let need = HEADER + 4 * npts;
    if bytes.len() < need {
        return Err(format!(
            "header says npts = {npts} ({need} bytes) but the file has {} bytes",
            bytes.len()
        ));
    }
    let data = bytes[HEADER..need]
        .chunks_exact(4)
        .map(|c| {
            let w = [c[0], c[1], c[2], c[3]];
            if little {
                f32::from_le_bytes(w)
            } else {
                f32::from_be_bytes(w)
            }
        })
        .collect();
    Ok(SacTrace {
        delta,
        b: opt(5).unwrap_or(0.0),
        dist: opt(50),
        az: opt(51),
        baz: opt(52),
        stla: opt(31),
        stlo: opt(32),
        t1: opt(11),
        t2: opt(12),
        kstnm: string(0, 8),
        knetwk: string(168, 8),
        kcmpnm: string(160, 8),
        data,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(little: bool) -> Vec<u8> {
        let mut h = vec![0u8; HEADER];
        let put = |h: &mut Vec<u8>, i: usize, w: [u8; 4]| h[4 * i..4 * i + 4].copy_from_slice(&w);
        let fl = |x: f32| {
            if little {
                x.to_le_bytes()
            } else {
                x.to_be_bytes()
            }
        };
        let it = |x: i32| {
            if little {
                x.to_le_bytes()
            } else {
                x.to_be_bytes()
            }
        };
        for i in 0..70 {
            put(&mut h, i, fl(UNDEFINED));
        }
        put(&mut h, 0, fl(0.5));
        put(&mut h, 5, fl(-2.0));
        put(&mut h, 50, fl(30.0));
        put(&mut h, 76, it(6));
        put(&mut h, 79, it(2));
        put(&mut h, 85, it(1));
        put(&mut h, 105, it(1));
        h[440..448].copy_from_slice(b"PAS     ");
        h.extend_from_slice(&fl(1.5));
        h.extend_from_slice(&fl(-3.0));
        h
    }

    #[test]
    fn both_byte_orders() {
        for little in [true, false] {
            let t = parse(&header(little)).unwrap();
            assert_eq!((t.delta, t.b, t.dist), (0.5, -2.0, Some(30.0)));
            assert_eq!(t.az, None);
            assert_eq!(t.kstnm, "PAS");
            assert_eq!(t.data, vec![1.5, -3.0]);
        }
    }

    #[test]
    fn truncated_data_is_an_error() {
        let mut h = header(true);
        h.truncate(HEADER + 4);
        assert!(parse(&h).unwrap_err().contains("npts = 2"));
    }
}
