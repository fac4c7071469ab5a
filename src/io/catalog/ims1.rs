//! ISC bulletins in IMS1.0 format (`DATA_TYPE BULLETIN IMS1.0:short`; IASPEI IMS1.0 standard, as
//! served by the ISC). Each `Event <id> <region>` block lists origins by several agencies; the prime
//! one is marked by a following ` (#PRIME)` comment (else the last origin is taken, the ISC's
//! convention of printing the prime last). The magnitude is the one reported for the prime origin
//! (same OrigID), preferring Mw over Ms over mb over the rest; without one, the first magnitude
//! of the block in that preference.
//!
//! Fixed columns (1-based) of an origin line: date 1–10, time 12–22, latitude 37–44, longitude
//! 46–54, depth 72–76, author 119–127, OrigID 129–136; of a magnitude line: type 1–5, value 7–10,
//! author 21–29, OrigID 31–39.

use super::{CatalogError, Event};
use crate::time::{parse_clock, parse_date, to_axis};

fn col(line: &str, from: usize, to: usize) -> &str {
    line.get(from.min(line.len())..to.min(line.len()))
        .unwrap_or("")
        .trim()
}

struct Origin {
    time_ns: i64,
    lat: f64,
    lon: f64,
    depth: Option<f64>,
    orig_id: String,
    prime: bool,
}

struct Block {
    id: String,
    line: usize,
    origins: Vec<Origin>,
    /// (type, value, origid)
    mags: Vec<(String, f64, String)>,
}

fn rank(mag_type: &str) -> usize {
    match mag_type.to_ascii_lowercase().as_str() {
        t if t.starts_with("mw") => 0,
        t if t.starts_with("ms") => 1,
        t if t.starts_with("mb") => 2,
        _ => 3,
    }
}

pub fn parse(name: &str, text: &str) -> Result<Vec<Event>, CatalogError> {
    let err = |line: usize, message: String| CatalogError {
        file: name.into(),
        line,
        message,
    };
    let mut blocks: Vec<Block> = Vec::new();
    #[derive(PartialEq)]
    enum Section {
        None,
        Origins,
        Magnitudes,
    }
    let mut section = Section::None;
    for (i, raw) in text.lines().enumerate() {
        let no = i + 1;
        let line = raw.trim_end_matches('\r');
        if let Some(rest) = line.strip_prefix("Event ") {
            let id = rest
                .split_whitespace()
                .next()
                .unwrap_or_default()
                .to_string();
            blocks.push(Block {
                id,
                line: no,
                origins: Vec::new(),
                mags: Vec::new(),
            });
            section = Section::None;
            continue;
        }
        if line.trim_start().starts_with("Date") && line.contains("Latitude") {
            section = Section::Origins;
            continue;
        }
        if line.starts_with("Magnitude") && line.contains("OrigID") {
            section = Section::Magnitudes;
            continue;
        }
        if line.trim().is_empty() {
            if section == Section::Magnitudes {
                section = Section::None;
            }
            continue;
        }
        let Some(block) = blocks.last_mut() else {
            continue;
        };
        match section {
            Section::Origins if line.starts_with(" (#PRIME)") => {
                if let Some(o) = block.origins.last_mut() {
                    o.prime = true;
                }
            }
            Section::Origins if line.starts_with(" (") => {}
            Section::Origins if line.len() > 22 && line.as_bytes()[4] == b'/' => {
                let date = col(line, 0, 10);
                let time = col(line, 11, 22);
                let time_ns = match (parse_date(date, '/'), parse_clock(time)) {
                    (Some(days), Some(ns)) => to_axis(days, ns).map_err(|why| {
                        err(no, format!("origin date/time `{date} {time}` is {why}"))
                    })?,
                    _ => {
                        return Err(err(
                            no,
                            format!(
                                "origin date/time `{date} {time}` is not yyyy/mm/dd hh:mm:ss.ss"
                            ),
                        ));
                    }
                };
                let num = |v: &str, what: &str| {
                    v.parse::<f64>().map_err(|_| {
                        err(no, format!("origin field `{what}`: `{v}` is not a number"))
                    })
                };
                let lat = num(col(line, 36, 44), "Latitude")?;
                let lon = num(col(line, 45, 54), "Longitude")?;
                let depth = match col(line, 71, 76) {
                    "" => None,
                    v => Some(num(v, "Depth")?),
                };
                block.origins.push(Origin {
                    time_ns,
                    lat,
                    lon,
                    depth,
                    orig_id: col(line, 128, 137).to_string(),
                    prime: false,
                });
            }
            Section::Magnitudes => {
                let value = col(line, 6, 10);
                if let Ok(v) = value.parse::<f64>() {
                    block.mags.push((
                        col(line, 0, 5).to_string(),
                        v,
                        col(line, 30, 39).to_string(),
                    ));
                } else {
                    return Err(err(
                        no,
                        format!("magnitude field: `{value}` is not a number"),
                    ));
                }
            }
            _ => {}
        }
    }
    let mut events = Vec::new();
    for b in blocks {
        let Some(o) = b.origins.iter().find(|o| o.prime).or(b.origins.last()) else {
            return Err(err(b.line, format!("event {} has no origin line", b.id)));
        };
        let best = |ms: &mut dyn Iterator<Item = &(String, f64, String)>| {
            ms.min_by_key(|(t, _, _)| rank(t)).cloned()
        };
        let mag = best(&mut b.mags.iter().filter(|(_, _, id)| *id == o.orig_id))
            .or_else(|| best(&mut b.mags.iter()));
        events.push(Event {
            id: b.id.clone(),
            time_ns: o.time_ns,
            latitude_deg: o.lat,
            longitude_deg: o.lon,
            depth_km: o.depth,
            magnitude: mag.as_ref().map(|m| m.1),
            magnitude_type: mag.map(|m| m.0).filter(|t| !t.is_empty()),
            event_type: String::new(),
            line: b.line,
        });
    }
    Ok(events)
}
