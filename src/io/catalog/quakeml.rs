//! QuakeML 1.2 Basic Event Description (<https://quake.ethz.ch/quakeml>): for each `event`, the
//! preferred origin (`preferredOriginID`, else the first `origin`) and preferred magnitude
//! (`preferredMagnitudeID`, else the first `magnitude`). Depth is converted from metres (the
//! standard's unit) to km; event types are normalised to the standard's spelling with spaces. Elements are matched by local name, so any namespace prefix works.

use roxmltree::{Document, Node};

use super::{CatalogError, Event};
use crate::time::parse_iso8601;

/// The first child element of `n` called `name` (local name: any namespace prefix).
pub(crate) fn child<'a, 'i>(n: Node<'a, 'i>, name: &str) -> Option<Node<'a, 'i>> {
    n.children()
        .find(|c| c.is_element() && c.tag_name().name() == name)
}

/// Text of `<name><value>…</value></name>` under `n`.
pub(crate) fn value<'a>(n: Node<'a, '_>, name: &str) -> Option<&'a str> {
    child(n, name)
        .and_then(|q| child(q, "value"))
        .and_then(|v| v.text())
        .map(str::trim)
}

/// The `kind` element (`origin`, `magnitude`) of `event` that its `preferred_id` element
/// (`preferredOriginID`) names, else the first `kind` element.
pub(crate) fn preferred<'a, 'i>(
    event: Node<'a, 'i>,
    kind: &str,
    preferred_id: &str,
) -> Option<Node<'a, 'i>> {
    let all: Vec<Node> = event
        .children()
        .filter(|c| c.is_element() && c.tag_name().name() == kind)
        .collect();
    let want = child(event, preferred_id)
        .and_then(|p| p.text())
        .map(str::trim);
    want.and_then(|w| {
        all.iter()
            .copied()
            .find(|c| c.attribute("publicID") == Some(w))
    })
    .or_else(|| all.first().copied())
}

pub fn parse(name: &str, text: &str) -> Result<Vec<Event>, CatalogError> {
    let doc = Document::parse(text).map_err(|e| CatalogError {
        file: name.into(),
        line: e.pos().row as usize,
        message: format!("invalid XML: {e}"),
    })?;
    let line_of = |n: Node| doc.text_pos_at(n.range().start).row as usize;
    let mut events = Vec::new();
    for ev in doc
        .descendants()
        .filter(|n| n.is_element() && n.tag_name().name() == "event")
    {
        let line = line_of(ev);
        let err = |message: String| CatalogError {
            file: name.into(),
            line,
            message,
        };
        let id = ev.attribute("publicID").unwrap_or_default().to_string();
        let Some(origin) = preferred(ev, "origin", "preferredOriginID") else {
            return Err(err(format!("event `{id}` has no origin")));
        };
        let number = |n: Node, what: &str| -> Result<Option<f64>, CatalogError> {
            match value(n, what) {
                None | Some("") => Ok(None),
                Some(v) => v.parse::<f64>().map(Some).map_err(|_| {
                    err(format!(
                        "event `{id}`: `{what}` value `{v}` is not a number"
                    ))
                }),
            }
        };
        let time = value(origin, "time")
            .ok_or_else(|| err(format!("event `{id}`: origin has no time")))?;
        let time_ns =
            parse_iso8601(time).map_err(|e| err(format!("event `{id}`: origin time: {e}")))?;
        let latitude_deg = number(origin, "latitude")?
            .ok_or_else(|| err(format!("event `{id}`: origin has no latitude")))?;
        let longitude_deg = number(origin, "longitude")?
            .ok_or_else(|| err(format!("event `{id}`: origin has no longitude")))?;
        let depth_km = number(origin, "depth")?.map(|m| m / 1000.0);
        let (magnitude, magnitude_type) = match preferred(ev, "magnitude", "preferredMagnitudeID") {
            Some(m) => (
                number(m, "mag")?,
                child(m, "type")
                    .and_then(|t| t.text())
                    .map(|t| t.trim().to_string())
                    .filter(|t| !t.is_empty()),
            ),
            None => (None, None),
        };
        // QuakeML's EventType vocabulary uses spaces ("quarry blast"); ComCat has written underscores.
        let event_type = child(ev, "type")
            .and_then(|t| t.text())
            .unwrap_or_default()
            .trim()
            .replace('_', " ");
        events.push(Event {
            id,
            time_ns,
            latitude_deg,
            longitude_deg,
            depth_km,
            magnitude,
            magnitude_type,
            event_type,
            line,
        });
    }
    Ok(events)
}
