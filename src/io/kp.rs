//! The planetary 3-hour geomagnetic index Kp (Bartels 1949; GFZ Potsdam), used to reject
//! storm-contaminated "quiet" windows (Petrescu & Moldovan 2022, §2, ref. \[35\]).
//!
//! Two text formats:
//! - CelesTrak space weather (`SW-All.txt`, <https://celestrak.org/SpaceData/SpaceWx-format.php>):
//!   daily rows between `BEGIN OBSERVED` and `END OBSERVED`, `yy mm dd BSRN ND` then eight Kp×10 in
//!   thirds (27 = 3−, 30 = 3o, 33 = 3+). Predicted sections are ignored: a label must not rest on a
//!   forecast.
//! - GFZ `Kp_ap_Ap_SN_F107` (<https://kp.gfz-potsdam.de>): `#` comments, then daily rows
//!   `YYYY MM DD days days_m Bsr dB Kp1..Kp8 ap1..ap8 Ap SN F10.7obs F10.7adj D`, Kp as decimals in
//!   thirds (3.333), −1 for missing.
//!
//! Either way the result is one value per 3-hour interval, starting 00–03 UT, NaN when missing.

use crate::time::{NS_PER_S, days_from_civil, days_in_month, step, to_axis};

/// Seconds in one Kp interval.
pub const INTERVAL_S: i64 = 3 * 3600;

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{file}:{line}: {message}")]
pub struct KpError {
    pub file: String,
    pub line: usize,
    pub message: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    CelesTrak,
    Gfz,
}

impl Format {
    pub const NAMES: &'static [&'static str] = &["auto", "celestrak", "gfz"];

    pub fn from_name(name: &str) -> Option<Format> {
        match name {
            "celestrak" => Some(Format::CelesTrak),
            "gfz" => Some(Format::Gfz),
            _ => None,
        }
    }

    pub fn sniff(text: &str) -> Option<Format> {
        if text.starts_with("DATATYPE CssiSpaceWeather")
            || text.lines().any(|l| l.trim() == "BEGIN OBSERVED")
        {
            Some(Format::CelesTrak)
        } else if text
            .lines()
            .any(|l| l.starts_with("#YYY MM DD") && l.contains("Kp1"))
        {
            Some(Format::Gfz)
        } else {
            None
        }
    }
}

/// Decodes CelesTrak's Kp×10 in thirds: 27 → 2⅔ (3−), 30 → 3 (3o), 33 → 3⅓ (3+).
pub fn decode_thirds(kp_times_ten: i64) -> f64 {
    (kp_times_ten as f64 * 0.3).round() / 3.0
}

/// (start of each 3-hour interval in ns, Kp).
pub type KpSeries = Vec<(i64, f64)>;

pub fn parse(name: &str, text: &str, format: Option<Format>) -> Result<KpSeries, KpError> {
    let err = |line: usize, message: String| KpError {
        file: name.into(),
        line,
        message,
    };
    let format = format.or_else(|| Format::sniff(text)).ok_or_else(|| {
        err(1, "not a Kp file quakeline knows (CelesTrak SW format or GFZ Kp_ap_Ap_SN_F107); set `format`".into())
    })?;
    let mut out = Vec::new();
    let mut in_observed = false;
    for (i, raw) in text.lines().enumerate() {
        let no = i + 1;
        let line = raw.trim();
        let row = match format {
            Format::CelesTrak => {
                match line {
                    "BEGIN OBSERVED" => in_observed = true,
                    "END OBSERVED" => in_observed = false,
                    _ => {}
                }
                in_observed && line.starts_with(|c: char| c.is_ascii_digit())
            }
            Format::Gfz => !line.is_empty() && !line.starts_with('#'),
        };
        if !row {
            continue;
        }
        let f: Vec<&str> = line.split_whitespace().collect();
        let (kp_at, need) = match format {
            Format::CelesTrak => (5, 13),
            Format::Gfz => (7, 15),
        };
        if f.len() < need {
            return Err(err(
                no,
                format!(
                    "truncated row: expected at least {need} fields, found {}",
                    f.len()
                ),
            ));
        }
        let int = |k: usize, what: &str| {
            f[k].parse::<i64>()
                .map_err(|_| err(no, format!("field `{what}`: `{}` is not an integer", f[k])))
        };
        let (y, m, d) = (
            int(0, "year")?,
            int(1, "month")? as u32,
            int(2, "day")? as u32,
        );
        // Four-digit years only: the calendar arithmetic is exact there, and a corrupted year
        // (`21`) still reaches the time-axis check below.
        if !(0..=9999).contains(&y) || !(1..=12).contains(&m) || d == 0 || d > days_in_month(y, m) {
            return Err(err(no, format!("{y}-{m:02}-{d:02} is not a date")));
        }
        let day_ns = to_axis(days_from_civil(y, m, d), 0)
            .map_err(|why| err(no, format!("field `year`: {y}-{m:02}-{d:02} is {why}")))?;
        for k in 0..8 {
            let what = format!("Kp{}", k + 1);
            let kp = match format {
                Format::CelesTrak => {
                    let v = int(kp_at + k, &what)?;
                    if !(0..=90).contains(&v) {
                        return Err(err(
                            no,
                            format!("field `{what}`: Kp×10 = {v} is outside 0..90"),
                        ));
                    }
                    decode_thirds(v)
                }
                Format::Gfz => {
                    let v: f64 = f[kp_at + k].parse().map_err(|_| {
                        err(
                            no,
                            format!("field `{what}`: `{}` is not a number", f[kp_at + k]),
                        )
                    })?;
                    if v < 0.0 {
                        f64::NAN
                    } else if v > 9.0 {
                        return Err(err(no, format!("field `{what}`: Kp = {v} is outside 0..9")));
                    } else {
                        v
                    }
                }
            };
            let t = step(day_ns, k as i64, INTERVAL_S * NS_PER_S)
                .map_err(|why| err(no, format!("field `{what}`: its time is {why}")))?;
            out.push((t, kp));
        }
    }
    if out.is_empty() {
        return Err(err(1, "no Kp rows found".into()));
    }
    Ok(out)
}

/// Merges several files' series in time order; the same interval twice must agree to 0.005
/// (GFZ prints thirds with three decimals, CelesTrak as integers in tenths); a missing value is
/// filled by another file's value.
pub fn merge(parts: Vec<(String, KpSeries)>) -> Result<KpSeries, String> {
    let mut all: Vec<(i64, f64, usize)> = parts
        .iter()
        .enumerate()
        .flat_map(|(f, (_, s))| s.iter().map(move |&(t, k)| (t, k, f)))
        .collect();
    all.sort_by_key(|&(t, _, _)| t);
    let mut out: KpSeries = Vec::with_capacity(all.len());
    for (t, k, f) in all {
        match out.last_mut() {
            Some((lt, lk)) if *lt == t => {
                if lk.is_nan() {
                    // A value published in one file fills a value still missing in another.
                    *lk = k;
                } else if !k.is_nan() && (*lk - k).abs() >= 0.005 {
                    return Err(format!(
                        "{} and another file disagree on Kp at {}: {lk} vs {k}",
                        parts[f].0,
                        crate::time::format_rfc3339(t)
                    ));
                }
            }
            _ => out.push((t, k)),
        }
    }
    Ok(out)
}

/// HDF5 layout: `time` int64 (start of each interval, ns since 1970 UTC), `kp` float64 (NaN =
/// missing), attribute `interval_s` = 10800.
pub fn write_h5(g: &hdf5::Group, series: &[(i64, f64)]) -> hdf5::Result<()> {
    let n = series.len();
    crate::h5::write_array(
        g,
        "time",
        &[n],
        &series.iter().map(|s| s.0).collect::<Vec<_>>(),
    )?;
    crate::h5::write_array(
        g,
        "kp",
        &[n],
        &series.iter().map(|s| s.1).collect::<Vec<_>>(),
    )?;
    crate::h5::write_attr(g, "interval_s", INTERVAL_S)
}

pub fn read_h5(g: &hdf5::Group) -> anyhow::Result<KpSeries> {
    let (time, _) = crate::h5::read_array::<i64>(g, "time")?;
    let (kp, _) = crate::h5::read_array::<f64>(g, "kp")?;
    anyhow::ensure!(
        time.len() == kp.len(),
        "Kp entry has {} times and {} values",
        time.len(),
        kp.len()
    );
    Ok(time.into_iter().zip(kp).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thirds() {
        assert_eq!(decode_thirds(27), 8.0 / 3.0);
        assert_eq!(decode_thirds(30), 3.0);
        assert_eq!(decode_thirds(33), 10.0 / 3.0);
        assert_eq!(decode_thirds(0), 0.0);
        assert_eq!(decode_thirds(90), 9.0);
    }
}
