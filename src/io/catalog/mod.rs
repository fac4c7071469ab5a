//! Earthquake catalogs: one event table from FDSN text, QuakeML 1.2 or ISC IMS1.0 bulletins.
//!
//! Every reader yields [`Event`]s with the preferred hypocentre and magnitude of each event, keeping
//! missing values as `None` (the stage decides whether that is an error) and the line each event
//! starts on (for messages). HDF5 layout of a catalog entry ([`write_h5`]):
//!
//! | dataset          | type      | meaning                                    |
//! |------------------|-----------|--------------------------------------------|
//! | `time`           | int64     | origin time, ns since 1970 UTC             |
//! | `latitude_deg`, `longitude_deg` | float64 | epicentre (WGS84)              |
//! | `depth_km`       | float64   | hypocentral depth, km below sea level       |
//! | `magnitude`      | float64   | preferred magnitude                        |
//! | `magnitude_type` | string    | as reported (`Mw`, `mb`, `ML`, …)          |
//! | `event_id`       | string    | the catalog's identifier                   |
//! | `event_type`     | string    | QuakeML event type where known, else empty |
//!
//! Origin times live on the same int64-nanosecond axis as every time series
//! ([`crate::time::to_axis`]: 1677-09-21 to 2262-04-11), so labelling compares an event with a
//! window without conversion. An event outside that range (a historical bulletin, a corrupted
//! year) is refused with its file, line, field and the range, never wrapped. We chose this over a
//! wider representation (int64 microseconds would reach ±292,000 years) because nothing
//! downstream can use such an event: no series it could label is representable. A historical
//! catalog is read by cutting it to the axis first (an FDSN query's `starttime`, or the rows
//! after 1677); widening the catalog axis stays possible without touching the series layout.

pub mod fdsn_text;
pub mod ims1;
pub mod quakeml;

use hdf5::types::VarLenUnicode;

use crate::h5;

#[derive(Clone, Debug, PartialEq)]
pub struct Event {
    pub id: String,
    pub time_ns: i64,
    pub latitude_deg: f64,
    pub longitude_deg: f64,
    pub depth_km: Option<f64>,
    pub magnitude: Option<f64>,
    pub magnitude_type: Option<String>,
    pub event_type: String,
    /// 1-based line where the event starts in its file.
    pub line: usize,
}

/// A catalog parse error with file, line and field.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{file}:{line}: {message}")]
pub struct CatalogError {
    pub file: String,
    pub line: usize,
    pub message: String,
}

/// The catalog formats quakeline reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    FdsnText,
    QuakeMl,
    Ims1,
}

impl Format {
    pub const NAMES: &'static [&'static str] = &["auto", "fdsn-text", "quakeml", "ims1"];

    pub fn from_name(name: &str) -> Option<Format> {
        match name {
            "fdsn-text" => Some(Format::FdsnText),
            "quakeml" => Some(Format::QuakeMl),
            "ims1" => Some(Format::Ims1),
            _ => None,
        }
    }

    /// Recognises a format from the first bytes (ObsPy's `_is_<format>` sniffers, in one place).
    pub fn sniff(text: &str) -> Option<Format> {
        let head = text.trim_start_matches('\u{feff}').trim_start();
        if head.starts_with("<?xml")
            || head.starts_with("<q:quakeml")
            || head.starts_with("<quakeml")
        {
            Some(Format::QuakeMl)
        } else if head.starts_with("DATA_TYPE BULLETIN IMS1.0")
            || head.starts_with("DATA_TYPE EVENT IMS1.0")
        {
            Some(Format::Ims1)
        } else if head.starts_with('#')
            && head
                .lines()
                .next()
                .is_some_and(|l| l.contains('|') && l.to_ascii_lowercase().contains("eventid"))
        {
            Some(Format::FdsnText)
        } else {
            None
        }
    }
}

/// Parses `text` in `format` (or the sniffed one).
pub fn parse(name: &str, text: &str, format: Option<Format>) -> Result<Vec<Event>, CatalogError> {
    let format = match format.or_else(|| Format::sniff(text)) {
        Some(f) => f,
        None => {
            return Err(CatalogError {
                file: name.into(),
                line: 1,
                message: "not a catalog format quakeline knows (FDSN event text, QuakeML 1.2, ISC IMS1.0); set `format`".into(),
            });
        }
    };
    match format {
        Format::FdsnText => fdsn_text::parse(name, text),
        Format::QuakeMl => quakeml::parse(name, text),
        Format::Ims1 => ims1::parse(name, text),
    }
}

/// Writes events (all fields present) as the catalog table.
pub fn write_h5(g: &hdf5::Group, events: &[Event]) -> hdf5::Result<()> {
    let n = events.len();
    h5::write_array(
        g,
        "time",
        &[n],
        &events.iter().map(|e| e.time_ns).collect::<Vec<_>>(),
    )?;
    h5::write_array(
        g,
        "latitude_deg",
        &[n],
        &events.iter().map(|e| e.latitude_deg).collect::<Vec<_>>(),
    )?;
    h5::write_array(
        g,
        "longitude_deg",
        &[n],
        &events.iter().map(|e| e.longitude_deg).collect::<Vec<_>>(),
    )?;
    h5::write_array(
        g,
        "depth_km",
        &[n],
        &events
            .iter()
            .map(|e| e.depth_km.unwrap_or(f64::NAN))
            .collect::<Vec<_>>(),
    )?;
    h5::write_array(
        g,
        "magnitude",
        &[n],
        &events
            .iter()
            .map(|e| e.magnitude.unwrap_or(f64::NAN))
            .collect::<Vec<_>>(),
    )?;
    let strings = |f: &dyn Fn(&Event) -> String| -> hdf5::Result<Vec<VarLenUnicode>> {
        events
            .iter()
            .map(|e| {
                f(e).parse::<VarLenUnicode>()
                    .map_err(|e| hdf5::Error::from(e.to_string()))
            })
            .collect()
    };
    h5::write_array(
        g,
        "magnitude_type",
        &[n],
        &strings(&|e| e.magnitude_type.clone().unwrap_or_default())?,
    )?;
    h5::write_array(g, "event_id", &[n], &strings(&|e| e.id.clone())?)?;
    h5::write_array(g, "event_type", &[n], &strings(&|e| e.event_type.clone())?)?;
    h5::write_attr(g, "n_events", n as u64)?;
    Ok(())
}

/// Reads the catalog table written by [`write_h5`].
pub fn read_h5(g: &hdf5::Group) -> anyhow::Result<Vec<Event>> {
    let (time, _) = h5::read_array::<i64>(g, "time")?;
    let (lat, _) = h5::read_array::<f64>(g, "latitude_deg")?;
    let (lon, _) = h5::read_array::<f64>(g, "longitude_deg")?;
    let (depth, _) = h5::read_array::<f64>(g, "depth_km")?;
    let (mag, _) = h5::read_array::<f64>(g, "magnitude")?;
    let (mt, _) = h5::read_array::<VarLenUnicode>(g, "magnitude_type")?;
    let (id, _) = h5::read_array::<VarLenUnicode>(g, "event_id")?;
    let (et, _) = h5::read_array::<VarLenUnicode>(g, "event_type")?;
    let finite = |v: f64| v.is_finite().then_some(v);
    Ok((0..time.len())
        .map(|i| Event {
            id: id[i].as_str().to_string(),
            time_ns: time[i],
            latitude_deg: lat[i],
            longitude_deg: lon[i],
            depth_km: finite(depth[i]),
            magnitude: finite(mag[i]),
            magnitude_type: Some(mt[i].as_str().to_string()).filter(|s| !s.is_empty()),
            event_type: et[i].as_str().to_string(),
            line: 0,
        })
        .collect())
}
