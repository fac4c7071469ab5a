//! Picks from QuakeML 1.2 (the Basic Event Description, <https://quake.ethz.ch/quakeml>), as
//! SeisComP, ObsPy and FDSN event services (`includearrivals=true`) write them: every `<pick>`,
//! under an `<event>` or directly under `<eventParameters>`, with
//! - `waveformID`'s `networkCode`, `stationCode`, `locationCode` and `channelCode` (the trace id
//!   `NET.STA.LOC.BI` is the channel without its component letter; a pick without a channel
//!   code matches its station whatever the band),
//! - `time/value` (ISO 8601 UTC),
//! - `phaseHint`: `P`, `Pg`, `Pn`, `Pb` (and `p`) are P; `S`, `Sg`, `Sn`, `Sb` (and `s`) are S;
//!   any other phase (`PKP`, `Lg`, an amplitude pick) and a pick without one are left out, as a
//!   labelled set holds one P and one S,
//! - `evaluationMode` (`manual`, `automatic`), which [`Mode`] filters on,
//! - the magnitude of its event: the preferred magnitude (`preferredMagnitudeID`, else the first),
//!   and its epicentre: the preferred origin's (`preferredOriginID`, else the first) latitude and
//!   longitude.
//!
//! Elements are matched by local name (any prefix). A document whose namespace is not QuakeML
//! 1.2's BED (`http://quakeml.org/xmlns/bed/1.2`) is refused by name, as is a pick without a
//! time or a station.

use roxmltree::{Document, Node};

use super::Pick;
use crate::io::catalog::quakeml::{child, preferred, value};
use crate::time::parse_iso8601;

/// The namespace of QuakeML 1.2's Basic Event Description.
pub const BED_1_2: &str = "http://quakeml.org/xmlns/bed/1.2";

crate::choice! {
    /// Which picks of a QuakeML file are kept, by their `evaluationMode`.
    pub enum Mode {
        Any = "any",
        Manual = "manual",
        Automatic = "automatic",
    }
}

/// Whether `head`, a file's first bytes, is a QuakeML document: a `quakeml` root element with
/// a QuakeML namespace. (Which version is checked when it is read.)
pub fn is_quakeml(head: &[u8]) -> bool {
    let text = String::from_utf8_lossy(head);
    text.contains("quakeml") && text.contains("http://quakeml.org/xmlns/")
}

/// The P and S picks of a QuakeML 1.2 document whose evaluation mode `mode` keeps.
pub fn read(label: &str, bytes: &[u8], mode: Mode) -> anyhow::Result<Vec<Pick>> {
    let text = std::str::from_utf8(bytes)
        .map_err(|e| anyhow::anyhow!("{label}: not UTF-8 text, so not QuakeML: {e}"))?;
    let doc = Document::parse(text)
        .map_err(|e| anyhow::anyhow!("{label}: line {}: invalid XML: {e}", e.pos().row))?;
    let line_of = |n: Node| doc.text_pos_at(n.range().start).row as u64;
    let bed = doc
        .descendants()
        .find(|n| n.is_element() && n.tag_name().name() == "eventParameters")
        .ok_or_else(|| anyhow::anyhow!("{label}: no `eventParameters`: not a QuakeML document"))?;
    let ns = bed.tag_name().namespace().unwrap_or("(none)");
    anyhow::ensure!(
        ns == BED_1_2,
        "{label}: line {}: `eventParameters` is in namespace {ns}; QuakeML 1.2 is {BED_1_2}",
        line_of(bed)
    );
    let mut out = Vec::new();
    for pick in bed
        .descendants()
        .filter(|n| n.is_element() && n.tag_name().name() == "pick")
    {
        let line = line_of(pick);
        let at = |what: &str| format!("{label}: line {line}, pick {}: {what}", id(pick));
        let phase = match child(pick, "phaseHint")
            .and_then(|p| p.text())
            .map(str::trim)
        {
            Some("P" | "Pg" | "Pn" | "Pb" | "p") => 'P',
            Some("S" | "Sg" | "Sn" | "Sb" | "s") => 'S',
            _ => continue,
        };
        let evaluation = child(pick, "evaluationMode")
            .and_then(|m| m.text())
            .map(str::trim);
        let kept = mode == Mode::Any || evaluation == Some(mode.name());
        if !kept {
            continue;
        }
        let time = value(pick, "time").ok_or_else(|| anyhow::anyhow!(at("no `time/value`")))?;
        let time_ns =
            parse_iso8601(time).map_err(|e| anyhow::anyhow!(at(&format!("field `time`: {e}"))))?;
        let w = child(pick, "waveformID").ok_or_else(|| anyhow::anyhow!(at("no `waveformID`")))?;
        let code = |name: &str| w.attribute(name).unwrap_or("").trim();
        let (net, sta) = (code("networkCode"), code("stationCode"));
        anyhow::ensure!(
            !net.is_empty() && !sta.is_empty(),
            at("`waveformID` needs `networkCode` and `stationCode`")
        );
        let cha = code("channelCode");
        let band = &cha[..cha.len().saturating_sub(1)];
        out.push(Pick {
            trace: format!("{net}.{sta}.{}.{band}", code("locationCode")),
            phase,
            time_ns,
            line,
            magnitude: event_magnitude(pick),
            epicentre: event_epicentre(pick),
        });
    }
    Ok(out)
}

/// The `publicID` of a QuakeML element, for messages.
fn id<'a>(n: Node<'a, '_>) -> &'a str {
    n.attribute("publicID").unwrap_or("(no publicID)")
}

/// The preferred `kind` element of the event a pick belongs to (a pick directly under
/// `eventParameters` has none).
fn of_event<'a, 'i>(pick: Node<'a, 'i>, kind: &str, preferred_id: &str) -> Option<Node<'a, 'i>> {
    let event = pick.ancestors().find(|a| a.tag_name().name() == "event")?;
    preferred(event, kind, preferred_id)
}

/// The preferred magnitude of a pick's event; NaN without one.
fn event_magnitude(pick: Node) -> f64 {
    of_event(pick, "magnitude", "preferredMagnitudeID")
        .and_then(|m| value(m, "mag"))
        .and_then(|v| v.parse().ok())
        .unwrap_or(f64::NAN)
}

/// The preferred origin's latitude and longitude of a pick's event.
fn event_epicentre(pick: Node) -> Option<(f64, f64)> {
    let o = of_event(pick, "origin", "preferredOriginID")?;
    let number = |name: &str| value(o, name).and_then(|v| v.parse::<f64>().ok());
    Some((number("latitude")?, number("longitude")?))
}
