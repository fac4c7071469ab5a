//! FDSN StationXML 1.x (<https://docs.fdsn.org/projects/stationxml/>): for every `<Channel>`
//! epoch its codes, `startDate`/`endDate`, `Latitude`, `Longitude`, `Elevation`, `Depth`,
//! `Azimuth`, `Dip`, `SampleRate` and the response's `InstrumentSensitivity` (`Value`,
//! `Frequency`, `InputUnits/Name`, `OutputUnits/Name`). A channel without its own coordinates
//! takes its station's. Times without a zone are UTC, as the schema says; an `endDate` past
//! 2262 (the end of the nanosecond time axis; `2599-12-31` is how "still open" is written) is
//! an open epoch. Elements are matched
//! by local name, so a file without the default namespace reads too (as ObsPy reads it).

use roxmltree::{Document, Node};

use super::{Channel, Inventory, Sensitivity};
use crate::io::catalog::quakeml::child;
use crate::time::parse_iso8601;

/// Whether `head`, a file's first bytes, is a StationXML document (its `FDSNStationXML` root).
pub fn is_stationxml(head: &[u8]) -> bool {
    String::from_utf8_lossy(head).contains("FDSNStationXML")
}

/// The year of an ISO 8601 date-time.
fn year(t: &str) -> Option<i32> {
    t.get(..4)?.parse().ok()
}

/// The child elements of `n` called `name`.
fn elements<'a, 'i>(n: Node<'a, 'i>, name: &str) -> Vec<Node<'a, 'i>> {
    n.children()
        .filter(|c| c.is_element() && c.tag_name().name() == name)
        .collect()
}

/// Every channel epoch of a StationXML document; a document whose epochs of one channel overlap
/// is refused ([`Inventory::merge`]).
pub fn read(label: &str, bytes: &[u8]) -> anyhow::Result<Inventory> {
    let text = std::str::from_utf8(bytes)
        .map_err(|e| anyhow::anyhow!("{label}: not UTF-8 text, so not StationXML: {e}"))?;
    let doc = Document::parse(text)
        .map_err(|e| anyhow::anyhow!("{label}: line {}: invalid XML: {e}", e.pos().row))?;
    let root = doc.root_element();
    anyhow::ensure!(
        root.tag_name().name() == "FDSNStationXML",
        "{label}: the root element is `{}`, not `FDSNStationXML`: not StationXML",
        root.tag_name().name()
    );
    let line_of = |n: Node| doc.text_pos_at(n.range().start).row as u64;

    let mut channels = Vec::new();
    for net in elements(root, "Network") {
        for sta in elements(net, "Station") {
            for cha in elements(sta, "Channel") {
                let line = line_of(cha);
                let at = |what: &str| format!("{label}: line {line}: {what}");
                let code = |n: Node, name: &str| -> anyhow::Result<String> {
                    n.attribute(name)
                        .map(|s| s.trim().to_string())
                        .ok_or_else(|| anyhow::anyhow!(at(&format!("no `{name}` attribute"))))
                };
                let number = |n: Node, name: &str| -> anyhow::Result<Option<f64>> {
                    match child(n, name).and_then(|c| c.text()).map(str::trim) {
                        None | Some("") => Ok(None),
                        Some(t) => t.parse().map(Some).map_err(|_| {
                            anyhow::anyhow!(at(&format!("field `{name}`: `{t}` is not a number")))
                        }),
                    }
                };
                let date = |name: &str| -> anyhow::Result<Option<i64>> {
                    let Some(t) = cha.attribute(name).map(str::trim) else {
                        return Ok(None);
                    };
                    match parse_iso8601(t) {
                        Ok(ns) => Ok(Some(ns)),
                        // Open epochs are written as a far end (2500-12-31, 2599-12-31):
                        // past the time axis (2262), an end is open.
                        Err(_) if name == "endDate" && year(t).is_some_and(|y| y >= 2262) => {
                            Ok(None)
                        }
                        Err(e) => Err(anyhow::anyhow!(at(&format!("attribute `{name}`: {e}")))),
                    }
                };
                let coordinate = |name: &str| -> anyhow::Result<f64> {
                    match number(cha, name)? {
                        Some(v) => Ok(v),
                        None => number(sta, name)?.ok_or_else(|| {
                            anyhow::anyhow!(at(&format!(
                                "no `{name}` for the channel or its station"
                            )))
                        }),
                    }
                };
                // An InstrumentSensitivity without a Value says nothing (ObsPy reads it so).
                let sensitivity =
                    match child(cha, "Response").and_then(|r| child(r, "InstrumentSensitivity")) {
                        None => None,
                        Some(s) => {
                            let unit = |name: &str| {
                                child(s, name)
                                    .and_then(|u| child(u, "Name"))
                                    .and_then(|n| n.text())
                                    .map_or(String::new(), |t| t.trim().to_string())
                            };
                            match number(s, "Value")? {
                                None => None,
                                Some(value) => Some(Sensitivity {
                                    value,
                                    frequency_hz: number(s, "Frequency")?.unwrap_or(f64::NAN),
                                    input_units: unit("InputUnits"),
                                    output_units: unit("OutputUnits"),
                                }),
                            }
                        }
                    };
                let start_ns = date("startDate")?.ok_or_else(|| {
                    anyhow::anyhow!(at("no `startDate`: a channel epoch starts somewhere"))
                })?;
                let end_ns = date("endDate")?;
                if let Some(end) = end_ns {
                    anyhow::ensure!(end > start_ns, at("`endDate` is not after `startDate`"));
                }
                let channel = Channel {
                    network: code(net, "code")?,
                    station: code(sta, "code")?,
                    location: cha
                        .attribute("locationCode")
                        .unwrap_or("")
                        .trim()
                        .to_string(),
                    code: code(cha, "code")?,
                    start_ns,
                    end_ns,
                    latitude: coordinate("Latitude")?,
                    longitude: coordinate("Longitude")?,
                    elevation_m: coordinate("Elevation")?,
                    depth_m: number(cha, "Depth")?.unwrap_or(0.0),
                    azimuth_deg: number(cha, "Azimuth")?,
                    dip_deg: number(cha, "Dip")?,
                    sample_rate_hz: number(cha, "SampleRate")?,
                    sensitivity,
                    line,
                };
                channels.push(channel);
            }
        }
    }
    let mut out = Inventory::default();
    out.merge(label, Inventory { channels })?;
    Ok(out)
}
