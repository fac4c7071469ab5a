//! FDSN web-service event text format (`format=text`, FDSN Web Service Specifications 1.2, §4.3):
//! a `#`-prefixed header naming `|`-separated columns, `EventID|Time|Latitude|Longitude|Depth/km|
//! Author|Catalog|Contributor|ContributorID|MagType|Magnitude|MagAuthor|EventLocationName[|EventType]`.
//! Columns are found by header name, so services that add or reorder columns still parse; empty
//! fields are missing values.

use super::{CatalogError, Event};
use crate::time::parse_iso8601;

pub fn parse(name: &str, text: &str) -> Result<Vec<Event>, CatalogError> {
    let err = |line: usize, message: String| CatalogError {
        file: name.into(),
        line,
        message,
    };
    let mut lines = text
        .lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l.trim_end_matches('\r')));
    let Some((hno, header)) = lines.by_ref().find(|(_, l)| !l.trim().is_empty()) else {
        return Err(err(1, "empty file: no FDSN text header".into()));
    };
    let cols: Vec<String> = header
        .trim_start_matches('#')
        .split('|')
        .map(|c| c.trim().to_ascii_lowercase())
        .collect();
    let col = |wanted: &str| cols.iter().position(|c| c == wanted);
    let need = |wanted: &str| {
        col(wanted).ok_or_else(|| err(hno, format!("header has no `{wanted}` column")))
    };
    let (c_id, c_time, c_lat, c_lon) = (
        need("eventid")?,
        need("time")?,
        need("latitude")?,
        need("longitude")?,
    );
    let (c_depth, c_mt, c_mag) = (need("depth/km")?, need("magtype")?, need("magnitude")?);
    let c_type = col("eventtype");
    let mut events = Vec::new();
    for (no, line) in lines {
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        let f: Vec<&str> = line.split('|').map(str::trim).collect();
        if f.len() < cols.len().min(13) {
            return Err(err(
                no,
                format!(
                    "expected {} `|`-separated fields, found {}",
                    cols.len(),
                    f.len()
                ),
            ));
        }
        let get = |c: usize| f.get(c).copied().unwrap_or("");
        let num = |c: usize, what: &str| -> Result<Option<f64>, CatalogError> {
            match get(c) {
                "" => Ok(None),
                v => v
                    .parse::<f64>()
                    .map(Some)
                    .map_err(|_| err(no, format!("field `{what}`: `{v}` is not a number"))),
            }
        };
        let time_ns =
            parse_iso8601(get(c_time)).map_err(|e| err(no, format!("field `Time`: {e}")))?;
        let latitude_deg =
            num(c_lat, "Latitude")?.ok_or_else(|| err(no, "field `Latitude` is empty".into()))?;
        let longitude_deg =
            num(c_lon, "Longitude")?.ok_or_else(|| err(no, "field `Longitude` is empty".into()))?;
        events.push(Event {
            id: get(c_id).to_string(),
            time_ns,
            latitude_deg,
            longitude_deg,
            depth_km: num(c_depth, "Depth/km")?,
            magnitude: num(c_mag, "Magnitude")?,
            magnitude_type: Some(get(c_mt).to_string()).filter(|s| !s.is_empty()),
            event_type: c_type.map(|c| get(c).to_string()).unwrap_or_default(),
            line: no,
        });
    }
    Ok(events)
}
