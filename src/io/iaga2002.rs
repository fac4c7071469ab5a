//! IAGA-2002 geomagnetic data exchange format (INTERMAGNET; <https://www.ngdc.noaa.gov/IAGA/vdat/IAGA2002/iaga2002format.html>).
//!
//! A file is a fixed-width header of 70-column records ending in `|` (label in columns 2–24, value in
//! 25–69; comment records start with ` #`), a column-header record starting `DATE  TIME  DOY` followed
//! by one code per element (`BOUH BOUD BOUZ BOUF`), then one data record per sample:
//! `YYYY-MM-DD HH:MM:SS.sss DDD v1 v2 v3 v4`. Rules applied here:
//!
//! - 99999.00 (any element) and 88888.00 (used for F) mean "missing" and become NaN.
//! - D and I are reported in minutes of arc and are converted to degrees (geomagpy does the same:
//!   -7.51' → -0.1252°).
//! - Element codes are the column names minus the IAGA code prefix (`BOUH` → `H`, `LLONUL` → `NUL`).
//! - The sampling interval is the smallest spacing of the records (`Data Interval Type` only for a
//!   one-record file: copied headers can be wrong). Records must be in time order; skipped records
//!   become NaN rows so samples stay on a regular grid.
//! - Several files are concatenated in time order; overlapping or duplicated times, different
//!   stations, elements or intervals are errors naming both files.

use std::path::Path;

use crate::series::{Station, TimeSeries};
use crate::time::{NS_PER_DAY, NS_PER_S, days_from_civil, parse_clock, parse_date, to_axis};

/// A parse error with file, line (1-based) and field.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{file}{}: {message}", line.map(|l| format!(":{l}")).unwrap_or_default())]
pub struct IagaError {
    pub file: String,
    pub line: Option<usize>,
    pub message: String,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Header {
    pub station_code: String,
    pub station_name: String,
    pub source: String,
    pub latitude_deg: f64,
    /// East longitude as written (IAGA-2002 uses 0–360).
    pub longitude_deg: f64,
    pub elevation_m: f64,
    pub reported: String,
    pub interval_type: String,
    pub data_type: String,
}

/// One parsed file: header, element codes, record times and values (row-major, NaN for missing).
#[derive(Clone, Debug, PartialEq)]
pub struct IagaFile {
    pub name: String,
    pub header: Header,
    pub elements: Vec<String>,
    pub times_ns: Vec<i64>,
    pub values: Vec<f64>,
    pub interval_ns: i64,
}

pub fn read(path: &Path) -> Result<IagaFile, IagaError> {
    let name = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|e| IagaError {
        file: name.clone(),
        line: None,
        message: format!("cannot read: {e}"),
    })?;
    parse_bytes(&name, &bytes)
}

pub fn parse_bytes(name: &str, bytes: &[u8]) -> Result<IagaFile, IagaError> {
    let text = std::str::from_utf8(bytes).map_err(|e| {
        let line = bytes[..e.valid_up_to()]
            .iter()
            .filter(|&&b| b == b'\n')
            .count()
            + 1;
        IagaError {
            file: name.into(),
            line: Some(line),
            message: "not UTF-8/ASCII text: is this an IAGA-2002 file?".into(),
        }
    })?;
    parse(name, text)
}

pub fn parse(name: &str, text: &str) -> Result<IagaFile, IagaError> {
    let err = |line: usize, message: String| IagaError {
        file: name.to_string(),
        line: Some(line),
        message,
    };
    let mut header = Header::default();
    let mut lines = text
        .lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l.trim_end_matches('\r')));
    let mut elements: Option<Vec<String>> = None;
    let mut last_line = 0;
    for (no, line) in lines.by_ref() {
        last_line = no;
        if line.trim().is_empty() {
            continue;
        }
        if line.starts_with("DATE") {
            let cols: Vec<&str> = line.split_whitespace().filter(|c| *c != "|").collect();
            if cols.len() < 4 || cols[1] != "TIME" || cols[2] != "DOY" {
                return Err(err(
                    no,
                    "column-header record must read `DATE TIME DOY <elements…>`".into(),
                ));
            }
            let code = header.station_code.to_ascii_uppercase();
            let els = cols[3..]
                .iter()
                .map(|c| {
                    let c = c.trim_end_matches('|');
                    match c.to_ascii_uppercase().strip_prefix(&code) {
                        Some(rest) if !code.is_empty() && !rest.is_empty() => rest.to_string(),
                        _ => c.to_string(),
                    }
                })
                .collect();
            elements = Some(els);
            break;
        }
        if line.trim_start().starts_with('#') {
            continue;
        }
        let body = line.trim_end().trim_end_matches('|');
        let (label, value) = match body.char_indices().nth(24) {
            Some((at, _)) => (body[..at].trim(), body[at..].trim()),
            None => (body.trim(), ""),
        };
        let number = |what: &str| -> Result<f64, IagaError> {
            value.parse::<f64>().map_err(|_| {
                err(
                    no,
                    format!("header field `{what}`: `{value}` is not a number"),
                )
            })
        };
        match label.to_ascii_lowercase().as_str() {
            "format" if !value.to_ascii_uppercase().contains("IAGA-2002") => {
                return Err(err(
                    no,
                    format!("header field `Format` says `{value}`, expected IAGA-2002"),
                ));
            }
            "source of data" => header.source = value.to_string(),
            "station name" => header.station_name = value.to_string(),
            "iaga code" => header.station_code = value.to_string(),
            "geodetic latitude" => header.latitude_deg = number("Geodetic Latitude")?,
            "geodetic longitude" => header.longitude_deg = number("Geodetic Longitude")?,
            "elevation" => header.elevation_m = number("Elevation")?,
            "reported" => header.reported = value.to_string(),
            "data interval type" => header.interval_type = value.to_string(),
            "data type" => header.data_type = value.to_string(),
            _ => {}
        }
    }
    let Some(elements) = elements else {
        return Err(err(
            last_line.max(1),
            "no `DATE TIME DOY …` column-header record: the header never ends (is this an IAGA-2002 file, and is it complete?)".into(),
        ));
    };
    let n_el = elements.len();
    let angles: Vec<bool> = elements.iter().map(|e| e == "D" || e == "I").collect();
    let mut times_ns = Vec::new();
    let mut values = Vec::new();
    for (no, line) in lines {
        if line.trim().is_empty() {
            continue;
        }
        let fields: Vec<&str> = line.split_whitespace().collect();
        if fields.len() != 3 + n_el {
            return Err(err(
                no,
                format!(
                    "{} record: expected {} fields (DATE, TIME, DOY and {} elements {}), found {}",
                    if fields.len() < 3 + n_el {
                        "truncated"
                    } else {
                        "malformed"
                    },
                    3 + n_el,
                    n_el,
                    elements.join(","),
                    fields.len()
                ),
            ));
        }
        let t = parse_datetime(fields[0], fields[1]).map_err(|m| err(no, m))?;
        let doy: u32 = fields[2].parse().map_err(|_| {
            err(
                no,
                format!("field `DOY`: `{}` is not a day of year", fields[2]),
            )
        })?;
        let expected_doy = (t.div_euclid(NS_PER_DAY)
            - days_from_civil(fields[0][..4].parse().unwrap_or(1970), 1, 1)
            + 1) as u32;
        if doy != expected_doy {
            return Err(err(
                no,
                format!(
                    "field `DOY`: {doy} does not match date {} (day {expected_doy})",
                    fields[0]
                ),
            ));
        }
        if let Some(&prev) = times_ns.last()
            && t <= prev
        {
            return Err(err(
                no,
                format!(
                    "record time {} {} is not after the previous record: records must be in time order without duplicates",
                    fields[0], fields[1]
                ),
            ));
        }
        times_ns.push(t);
        for (k, f) in fields[3..].iter().enumerate() {
            let v: f64 = f.parse().map_err(|_| {
                err(
                    no,
                    format!(
                        "field `{}` (element {} of {}): `{f}` is not a number",
                        elements[k],
                        k + 1,
                        n_el
                    ),
                )
            })?;
            let v = if v == 99999.0 || v == 88888.0 || !v.is_finite() {
                f64::NAN
            } else if angles[k] {
                v / 60.0
            } else {
                v
            };
            values.push(v);
        }
    }
    if times_ns.is_empty() {
        return Err(err(
            last_line.max(1),
            "no data records after the column header".into(),
        ));
    }
    // Record spacing decides; the header is only consulted for a single record, because headers
    // copied between products can be wrong (USGS's hourly and daily BOU files say "filtered 1-minute").
    // Checked: two records 300 years apart are 2^63 ns apart (found by fuzzing).
    let gaps = times_ns
        .windows(2)
        .enumerate()
        .map(|(k, w)| {
            w[1].checked_sub(w[0]).ok_or_else(|| IagaError {
                file: name.into(),
                line: None,
                message: format!(
                    "record {} is more than 292 years after the record before it",
                    k + 2
                ),
            })
        })
        .collect::<Result<Vec<i64>, IagaError>>()?;
    let interval_ns = match gaps.iter().copied().min() {
        Some(step) => step,
        None => interval_from_type(&header.interval_type).ok_or_else(|| {
            err(last_line, format!("cannot tell the sampling interval: one record and `Data Interval Type` is `{}`", header.interval_type))
        })?,
    };
    for (k, gap) in gaps.iter().enumerate() {
        if gap % interval_ns != 0 {
            return Err(IagaError {
                file: name.into(),
                line: None,
                message: format!(
                    "record {} is not on the {} s sampling grid of the file",
                    k + 2,
                    interval_ns as f64 / 1e9
                ),
            });
        }
    }
    Ok(IagaFile {
        name: name.to_string(),
        header,
        elements,
        times_ns,
        values,
        interval_ns,
    })
}

/// Sampling interval named by `Data Interval Type` (`filtered 1-minute (00:15-01:45)`, `1-second`,
/// `hourly`, `1-day`, `Average 1-Minute`).
fn interval_from_type(t: &str) -> Option<i64> {
    let t = t.to_ascii_lowercase();
    if t.contains("second") {
        Some(NS_PER_S)
    } else if t.contains("minute") {
        Some(60 * NS_PER_S)
    } else if t.contains("hour") {
        Some(3600 * NS_PER_S)
    } else if t.contains("day") || t.contains("daily") {
        Some(86_400 * NS_PER_S)
    } else {
        None
    }
}

/// `YYYY-MM-DD`, `HH:MM:SS[.fff]` → ns since the epoch, naming the bad field.
fn parse_datetime(date: &str, time: &str) -> Result<i64, String> {
    let days = parse_date(date, '-')
        .ok_or_else(|| format!("field `DATE`: `{date}` is not a date YYYY-MM-DD"))?;
    // IAGA-2002 always writes seconds: HH:MM alone is malformed here.
    let clock = parse_clock(time)
        .filter(|_| time.matches(':').count() == 2)
        .ok_or_else(|| format!("field `TIME`: `{time}` is not a time HH:MM:SS.sss"))?;
    to_axis(days, clock).map_err(|why| format!("field `DATE`: `{date} {time}` is {why}"))
}

/// The most values (samples x elements) one concatenated series may hold: 2^31, 16 GiB of
/// float64. Files further apart are refused instead of an allocation the machine cannot make.
const MAX_GRID_VALUES: i128 = 1 << 31;
/// A grid may be at most this many times longer than the records read (at least 99.9 % of it
/// missing): two files years apart are almost surely a mistake, not a series.
const MAX_EMPTY_FACTOR: i128 = 1000;

/// Concatenates files of one station in time order onto one regular grid.
pub fn concatenate(mut files: Vec<IagaFile>) -> Result<TimeSeries, IagaError> {
    let whole = |file: &str, message: String| IagaError {
        file: file.to_string(),
        line: None,
        message,
    };
    files.sort_by_key(|f| f.times_ns[0]);
    let Some(first) = files.first() else {
        return Err(whole("<no files>", "no IAGA-2002 files to read".into()));
    };
    for pair in files.windows(2) {
        let (a, b) = (&pair[0], &pair[1]);
        if !a
            .header
            .station_code
            .eq_ignore_ascii_case(&b.header.station_code)
        {
            return Err(whole(
                &b.name,
                format!(
                    "station {} differs from {} in {}",
                    b.header.station_code, a.header.station_code, a.name
                ),
            ));
        }
        if a.elements != b.elements {
            return Err(whole(
                &b.name,
                format!(
                    "elements {} differ from {} in {}",
                    b.elements.join(","),
                    a.elements.join(","),
                    a.name
                ),
            ));
        }
        if a.interval_ns != b.interval_ns {
            return Err(whole(
                &b.name,
                format!("sampling interval differs from {}", a.name),
            ));
        }
        let a_end = *a.times_ns.last().unwrap_or(&a.times_ns[0]);
        if b.times_ns[0] <= a_end {
            let what = if b.times_ns[0] == a.times_ns[0] {
                "duplicates"
            } else {
                "overlaps"
            };
            return Err(whole(
                &b.name,
                format!(
                    "{what} {}: it starts at {} but {} runs until {}; remove one of the files",
                    a.name,
                    crate::time::format_rfc3339(b.times_ns[0]),
                    a.name,
                    crate::time::format_rfc3339(a_end)
                ),
            ));
        }
        if (i128::from(b.times_ns[0]) - i128::from(first.times_ns[0]))
            % i128::from(first.interval_ns)
            != 0
        {
            return Err(whole(
                &b.name,
                format!("samples are not on the same time grid as {}", first.name),
            ));
        }
    }
    let interval = first.interval_ns;
    let start = first.times_ns[0];
    let end = files
        .iter()
        .filter_map(|f| f.times_ns.last())
        .max()
        .copied()
        .unwrap_or(start);
    // In i128: two files at the ends of the axis are 2^64 ns apart.
    let n = (i128::from(end) - i128::from(start)) / i128::from(interval) + 1;
    let nc = first.elements.len();
    let records: usize = files.iter().map(|f| f.times_ns.len()).sum();
    if n > MAX_EMPTY_FACTOR * records as i128 || n * nc as i128 > MAX_GRID_VALUES {
        return Err(whole(
            &files[files.len() - 1].name,
            format!(
                "{} to {} at {} s is a grid of {n} samples for {records} records read (more than \
                 {MAX_EMPTY_FACTOR} times as many, or over {MAX_GRID_VALUES} values): are these \
                 files of one observatory and period?",
                crate::time::format_rfc3339(start),
                crate::time::format_rfc3339(end),
                interval as f64 / NS_PER_S as f64
            ),
        ));
    }
    let n = n as usize;
    let mut data = vec![f64::NAN; n * nc];
    for f in &files {
        for (r, t) in f.times_ns.iter().enumerate() {
            let row = ((i128::from(*t) - i128::from(start)) / i128::from(interval)) as usize;
            data[row * nc..(row + 1) * nc].copy_from_slice(&f.values[r * nc..(r + 1) * nc]);
        }
    }
    let h = &first.header;
    let units = first
        .elements
        .iter()
        .map(|e| if e == "D" || e == "I" { "deg" } else { "nT" }.to_string())
        .collect();
    Ok(TimeSeries {
        start_ns: start,
        interval_ns: interval,
        channels: first.elements.clone(),
        units,
        data,
        station: Station {
            code: h.station_code.clone(),
            name: h.station_name.clone(),
            latitude_deg: h.latitude_deg,
            longitude_deg: if h.longitude_deg >= 180.0 {
                h.longitude_deg - 360.0
            } else {
                h.longitude_deg
            },
            elevation_m: h.elevation_m,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEAD: &str = " Format                 IAGA-2002                                    |
 IAGA CODE              TST                                          |
 Data Interval Type     1-minute                                     |
DATE       TIME         DOY     TSTH      TSTD      TSTZ      TSTF   |
";

    #[test]
    fn missing_values_and_angles() {
        let text = format!(
            "{HEAD}2014-11-01 00:00:00.000 305     20873.75     -9.99  99999.00  88888.00\n"
        );
        let f = parse("t.min", &text).unwrap();
        assert_eq!(f.elements, ["H", "D", "Z", "F"]);
        assert_eq!(f.values[0], 20873.75);
        assert!((f.values[1] - (-9.99 / 60.0)).abs() < 1e-15);
        assert!(f.values[2].is_nan() && f.values[3].is_nan());
    }

    #[test]
    fn one_second_records_with_a_skipped_second() {
        let head = HEAD.replace("1-minute", "1-second");
        let text = format!(
            "{head}2014-11-01 00:00:00.000 305     20873.75     -9.99  47477.30  52397.33
2014-11-01 00:00:01.000 305     20873.76     -9.99  47477.31  52397.34
2014-11-01 00:00:03.000 305     20873.77     -9.99  47477.32  52397.35
"
        );
        let f = parse("t.sec", &text).unwrap();
        assert_eq!(f.interval_ns, NS_PER_S);
        let s = concatenate(vec![f]).unwrap();
        assert_eq!(s.len(), 4);
        assert!(s.data[8..12].iter().all(|v| v.is_nan()));
        assert_eq!(s.data[12], 20873.77);
    }

    #[test]
    fn errors_name_line_and_field() {
        let text = format!(
            "{HEAD}2014-11-01 00:00:00.000 305     20873.75     -9.99  47a77.30  52397.33\n"
        );
        let e = parse("t.min", &text).unwrap_err();
        assert_eq!(e.line, Some(5));
        assert!(
            e.message.contains("field `Z`") && e.message.contains("47a77.30"),
            "{e}"
        );
        let text = format!("{HEAD}2014-11-01 00:00:00.000 305     20873.75     -9.99\n");
        assert!(
            parse("t.min", &text)
                .unwrap_err()
                .message
                .starts_with("truncated record")
        );
        let e = parse(
            "t.min",
            " Format                 IAGA-2002   |\n IAGA CODE  X |\n",
        )
        .unwrap_err();
        assert!(e.message.contains("DATE"), "{e}");
    }
}
