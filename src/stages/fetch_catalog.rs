//! `fetch.catalog` — an earthquake catalog from files, pinned URLs or an FDSN event service.
//!
//! # Purpose
//! The labels of the geomagnetic precursor workflow come from earthquake catalogs (Petrescu &
//! Moldovan 2022, §2); FMNet's real-event evaluation needs them too. Reads FDSN event text, QuakeML
//! 1.2 or ISC IMS1.0 bulletins ([`crate::io::catalog`]) from local globs or pinned URLs, or queries
//! an FDSN event web service (`fdsnws/event/1/query`, FDSN Web Service Specifications 1.2).
//!
//! # Inputs
//! None.
//!
//! # Outputs
//! The catalog table ([`crate::io::catalog`] layout), sorted by time, every event with time,
//! epicentre, depth, magnitude and magnitude type; attributes `skipped_events` and `source`.
//!
//! # Parameters
//! `paths` / `urls` + `blake3` as every fetch kind, or `fdsn_url` with `starttime`, `endtime` and
//! optionally `latitude`, `longitude`, `maxradius_km`, `minmagnitude` (an optional single `blake3`
//! pins the response). `format` chooses the reader (`auto` sniffs). `missing` says what to do with an
//! event lacking depth, magnitude or a known magnitude type: `error` (default) or `skip` (counted).
//!
//! # Cache key
//! File content digests; for a query, the query itself (server and parameters) and, when pinned,
//! the response digest. An unpinned query is cached as asked: a catalog revised on the server is
//! not noticed until a parameter changes; pin `blake3` to make that an error instead.
//!
//! # References
//! FDSN Web Service Specifications 1.2 (event service, text format); QuakeML 1.2; IASPEI IMS1.0.

use crate::data;
use crate::h5;
use crate::io::catalog::{self, Event, Format};
use crate::io::sources;
use crate::params::ParamError;
use crate::stage::{ContentDigest, Outputs, PlanCtx, RunCtx, StageInfo, StageKind};
use crate::time::{format_rfc3339, parse_iso8601};

pub struct FetchCatalog;

/// Kilometres per degree of great-circle arc on a 6371 km sphere (FDSN `maxradius` is in degrees).
const KM_PER_DEG: f64 = 6371.0 * std::f64::consts::PI / 180.0;

/// Magnitude types quakeline recognises (lower case; IASPEI standard names and common agency
/// variants). Anything else is "unknown": an error unless `missing = "skip"`.
const KNOWN_MAGNITUDE_TYPES: &[&str] = &[
    "m", "mw", "mww", "mwc", "mwb", "mwr", "mwp", "mwd", "mw(mb)", "mwmb", "ms", "ms_20", "msbb",
    "mb", "mb_lg", "mblg", "mbbb", "ml", "mlv", "mlg", "mlr", "md", "mc", "me", "mh", "mi", "mn",
    "mj", "mjma", "mpv", "mint", "mfa",
];

crate::source_params! {
    /// Parameters of this stage kind (see the module docs).
    pub struct FetchCatalogParams {
        /// catalog format; auto sniffs each file
        format: String = Choice(Format::NAMES), Default("\"auto\"");
        /// FDSN event service query URL, e.g. `https://service.iris.edu/fdsnws/event/1/query`
        fdsn_url: Option<String> = Str, Optional;
        /// query start, UTC ISO 8601
        starttime: Option<String> = Str, Optional;
        /// query end, UTC ISO 8601
        endtime: Option<String> = Str, Optional;
        /// query centre latitude, degrees
        latitude: Option<f64> = Float { positive: false }, Optional;
        /// query centre longitude, degrees
        longitude: Option<f64> = Float { positive: false }, Optional;
        /// query radius around the centre, km
        maxradius_km: Option<f64> = Float { positive: true }, Optional;
        /// query minimum magnitude
        minmagnitude: Option<f64> = Float { positive: false }, Optional;
        /// events without depth, magnitude or a known magnitude type: error, or skip and count them
        missing: Missing = Choice(Missing::NAMES), Default("\"error\"");
    }
}

crate::choice! {
    /// What to do with events that cannot be used for labelling.
    pub enum Missing {
        Error = "error",
        Skip = "skip",
    }
}

struct Query {
    url: String,
}

fn query(p: &FetchCatalogParams) -> Result<Option<Query>, ParamError> {
    let Some(base) = &p.fdsn_url else {
        return Ok(None);
    };
    let mut args = Vec::new();
    for (name, value) in [("starttime", &p.starttime), ("endtime", &p.endtime)] {
        let Some(v) = value else {
            return Err(
                ParamError::new(name, format!("an FDSN query needs `{name}`"))
                    .help("e.g. starttime = \"2014-11-01T00:00:00\""),
            );
        };
        let ns = parse_iso8601(v).map_err(|e| ParamError::new(name, e))?;
        args.push(format!("{name}={}", &format_rfc3339(ns)[..23]));
    }
    let circle = [p.latitude, p.longitude, p.maxradius_km];
    match circle {
        [Some(lat), Some(lon), Some(r)] => {
            if !(-90.0..=90.0).contains(&lat) {
                return Err(ParamError::new(
                    "latitude",
                    format!("{lat} is not a latitude"),
                ));
            }
            args.push(format!(
                "latitude={lat}&longitude={lon}&maxradius={}",
                r / KM_PER_DEG
            ));
        }
        [None, None, None] => {}
        _ => {
            return Err(ParamError::new(
                "maxradius_km",
                "a circular query needs `latitude`, `longitude` and `maxradius_km` together",
            ));
        }
    }
    if let Some(m) = p.minmagnitude {
        args.push(format!("minmagnitude={m}"));
    }
    args.push("format=text&orderby=time-asc".into());
    let sep = if base.contains('?') { '&' } else { '?' };
    Ok(Some(Query {
        url: format!("{base}{sep}{}", args.join("&")),
    }))
}

impl StageKind for FetchCatalog {
    type Params = FetchCatalogParams;
    const INFO: StageInfo = StageInfo {
        kind: "fetch.catalog",
        version: 1,
        changelog: &["first version"],
        summary: "read an earthquake catalog (FDSN text, QuakeML 1.2, ISC IMS1.0) from files, pinned URLs or an FDSN query",
        inputs: &[],
        outputs: Outputs::Root(data::CATALOG),
        metrics: &[],
        stochastic: false,
    };

    fn check(&self, p: &FetchCatalogParams) -> Result<(), ParamError> {
        match (query(p)?, p.sources().given()) {
            (Some(_), true) => Err(ParamError::new(
                "fdsn_url",
                "give either `fdsn_url` (a query) or `paths`/`urls`, not both",
            )),
            (Some(_), false) => {
                let pins = &p.blake3;
                if pins.len() > 1 {
                    return Err(ParamError::new(
                        "blake3",
                        "a query response takes at most one pinned digest",
                    ));
                }
                sources::check_pins(pins)
            }
            (None, _) => {
                let given = [
                    ("starttime", p.starttime.is_some()),
                    ("endtime", p.endtime.is_some()),
                    ("latitude", p.latitude.is_some()),
                    ("longitude", p.longitude.is_some()),
                    ("maxradius_km", p.maxradius_km.is_some()),
                    ("minmagnitude", p.minmagnitude.is_some()),
                ];
                if let Some((name, _)) = given.into_iter().find(|(_, set)| *set) {
                    return Err(ParamError::new(
                        name,
                        format!("`{name}` is a query parameter; it needs `fdsn_url`"),
                    ));
                }
                p.sources().check()
            }
        }
    }

    fn content_digests(
        &self,
        ctx: &PlanCtx<'_>,
        p: &FetchCatalogParams,
    ) -> Result<Vec<ContentDigest>, ParamError> {
        match query(p)? {
            Some(q) => Ok(p
                .blake3
                .iter()
                .map(|d| ContentDigest {
                    label: q.url.clone(),
                    blake3: d.to_ascii_lowercase(),
                })
                .collect()),
            None => p.sources().digests(ctx),
        }
    }

    fn run(&self, ctx: &mut RunCtx<'_>, p: FetchCatalogParams) -> anyhow::Result<()> {
        let format = Format::from_name(&p.format);
        let skip = p.missing == Missing::Skip;
        let mut events = Vec::new();
        let source;
        match query(&p)? {
            Some(q) => {
                ctx.progress.set_length(1);
                ctx.progress.set_message("FDSN query");
                let pin = ctx.content.first().map(|c| c.blake3.as_str());
                let bytes = sources::download(ctx, &q.url, pin)?;
                let text = String::from_utf8_lossy(&bytes);
                // An empty result is 204 No Content: no events, not an error here.
                if !text.trim().is_empty() {
                    events = catalog::parse(&q.url, &text, Some(Format::FdsnText))?;
                }
                ctx.progress.inc(1);
                source = q.url;
            }
            None => {
                let files = p.sources().read_all(ctx)?;
                source = files
                    .iter()
                    .map(|(l, _)| sources::file_name(l))
                    .collect::<Vec<_>>()
                    .join(",");
                for (label, bytes) in files {
                    let text = String::from_utf8(bytes)
                        .map_err(|_| anyhow::anyhow!("{label}: not UTF-8 text"))?;
                    events.extend(catalog::parse(&label, &text, format)?);
                }
            }
        }
        let total = events.len();
        let mut kept: Vec<Event> = Vec::with_capacity(total);
        for e in events {
            match complete(&e) {
                Ok(()) => kept.push(e),
                Err(_) if skip => {}
                Err(why) => anyhow::bail!(
                    "event `{}` ({}) {why}; set missing = \"skip\" to drop such events ({})",
                    e.id,
                    if e.line > 0 {
                        format!("line {}", e.line)
                    } else {
                        "no line".into()
                    },
                    ctx.params.locate("missing")
                ),
            }
        }
        kept.sort_by_key(|e| e.time_ns);
        catalog::write_h5(ctx.output, &kept)?;
        h5::write_attr(ctx.output, "skipped_events", (total - kept.len()) as u64)?;
        h5::write_str_attr(ctx.output, "source", &source)?;
        Ok(())
    }
}

/// Why an event cannot be used for labelling, if it cannot.
fn complete(e: &Event) -> Result<(), String> {
    if e.depth_km.is_none() {
        return Err("has no depth".into());
    }
    if e.magnitude.is_none() {
        return Err("has no magnitude".into());
    }
    match e.magnitude_type.as_deref() {
        None => Err("has no magnitude type".into()),
        Some(t) if !KNOWN_MAGNITUDE_TYPES.contains(&t.to_ascii_lowercase().as_str()) => {
            Err(format!(
                "has magnitude type `{t}`, which quakeline does not know (known: Mw, Mww, Ms, mb, ML, Md, …)"
            ))
        }
        Some(_) => Ok(()),
    }
}
