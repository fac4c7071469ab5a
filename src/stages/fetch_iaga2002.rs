//! `fetch.iaga2002` — observatory magnetometer data from IAGA-2002 files.
//!
//! # Purpose
//! Reads 1-second, 1-minute, hourly or daily IAGA-2002 files (INTERMAGNET's exchange format) from
//! local globs or pinned HTTP(S) URLs and concatenates them in time order into one series.
//!
//! # Inputs
//! None.
//!
//! # Outputs
//! A time series ([`crate::series`] layout): elements as channels (`H,D,Z,F`, `X,Y,Z,F`, …), D and I
//! in degrees, nT otherwise, missing values NaN; attributes `files` (names, in time order),
//! `data_type` and `reported` from the first header.
//!
//! # Parameters
//! `paths` (globs relative to the pipeline file) or `urls` with `blake3` pins, one per URL.
//!
//! # Cache key
//! The sorted BLAKE3 digests of the files' bytes; never their paths or URLs.
//!
//! # References
//! IAGA-2002 format: <https://www.ngdc.noaa.gov/IAGA/vdat/IAGA2002/iaga2002format.html>.

use std::path::PathBuf;

use crate::io::{h5, http, iaga2002};
use crate::params::{ParamError, ParamSpec, ParamType, Params, Presence};
use crate::stage::{ContentDigest, InputSpec, PlanCtx, RunCtx, Stage};

pub struct FetchIaga2002;

static PARAMS: &[ParamSpec] = &[
    ParamSpec::new(
        "paths",
        ParamType::StrList,
        Presence::Optional,
        "glob patterns of local files, relative to the pipeline file",
    )
    .location(),
    ParamSpec::new(
        "urls",
        ParamType::StrList,
        Presence::Optional,
        "http(s) URLs of files; each needs a pinned digest in `blake3`",
    )
    .location(),
    ParamSpec::new(
        "blake3",
        ParamType::StrList,
        Presence::Optional,
        "BLAKE3 hex digest of each URL's content, in the order of `urls`",
    )
    .location(),
];

impl Stage for FetchIaga2002 {
    fn kind(&self) -> &'static str {
        "fetch.iaga2002"
    }
    fn version(&self) -> u32 {
        1
    }
    fn summary(&self) -> &'static str {
        "read IAGA-2002 geomagnetic observatory files (local globs or pinned URLs)"
    }
    fn params(&self) -> &'static [ParamSpec] {
        PARAMS
    }
    fn inputs(&self) -> &'static [InputSpec] {
        &[]
    }

    fn check(&self, p: &Params) -> Result<(), ParamError> {
        let (paths, urls, pins) = (
            p.strs("paths").unwrap_or_default(),
            p.strs("urls").unwrap_or_default(),
            p.strs("blake3").unwrap_or_default(),
        );
        match (paths.is_empty(), urls.is_empty()) {
            (true, true) => {
                return Err(
                    ParamError::new("paths", "give `paths` (local globs) or `urls`")
                        .help("e.g. paths = [\"data/bou2014*.min\"]"),
                );
            }
            (false, false) => {
                return Err(ParamError::new(
                    "urls",
                    "give either `paths` or `urls`, not both",
                ));
            }
            _ => {}
        }
        if !urls.is_empty() && pins.len() != urls.len() {
            return Err(ParamError::new("blake3", format!("{} URL(s) need {} pinned digest(s), found {}", urls.len(), urls.len(), pins.len()))
                .help("pin each download: `quakeline digest FILE` prints the BLAKE3 digest of a file you trust"));
        }
        if urls.is_empty() && !pins.is_empty() {
            return Err(ParamError::new(
                "blake3",
                "`blake3` pins the digests of `urls`; local `paths` are hashed automatically",
            ));
        }
        if let Some(bad) = pins
            .iter()
            .find(|d| d.len() != 64 || !d.chars().all(|c| c.is_ascii_hexdigit()))
        {
            return Err(ParamError::new(
                "blake3",
                format!("`{bad}` is not a BLAKE3 digest (64 hex digits)"),
            ));
        }
        if let Some(bad) = urls
            .iter()
            .find(|u| !(u.starts_with("http://") || u.starts_with("https://")))
        {
            return Err(ParamError::new(
                "urls",
                format!("`{bad}` is not an http(s) URL"),
            ));
        }
        Ok(())
    }

    fn content_digests(
        &self,
        ctx: &PlanCtx<'_>,
        p: &Params,
    ) -> Result<Vec<ContentDigest>, ParamError> {
        let urls = p
            .strs("urls")
            .map_err(|e| ParamError::new("urls", e.to_string()))?;
        if !urls.is_empty() {
            let pins = p
                .strs("blake3")
                .map_err(|e| ParamError::new("blake3", e.to_string()))?;
            return Ok(urls
                .into_iter()
                .zip(pins)
                .map(|(label, d)| ContentDigest {
                    label,
                    blake3: d.to_ascii_lowercase(),
                })
                .collect());
        }
        let mut files: Vec<PathBuf> = Vec::new();
        for pattern in p
            .strs("paths")
            .map_err(|e| ParamError::new("paths", e.to_string()))?
        {
            let full = ctx.pipeline_dir.join(&pattern);
            let matches = glob::glob(&full.to_string_lossy()).map_err(|e| {
                ParamError::new("paths", format!("`{pattern}` is not a valid glob: {e}"))
            })?;
            let before = files.len();
            for m in matches {
                let path = m.map_err(|e| {
                    ParamError::new(
                        "paths",
                        format!("cannot read {}: {}", e.path().display(), e.error()),
                    )
                })?;
                if path.is_file() {
                    files.push(path);
                }
            }
            if files.len() == before {
                return Err(ParamError::new(
                    "paths",
                    format!(
                        "`{pattern}` matches no file (looked in {})",
                        ctx.pipeline_dir.display()
                    ),
                )
                .help("paths are relative to the pipeline file's directory"));
            }
        }
        files.sort();
        files.dedup();
        files
            .into_iter()
            .map(|f| {
                let (digest, _) = crate::cache::hash_file(&f).map_err(|e| {
                    ParamError::new("paths", format!("cannot read {}: {e}", f.display()))
                })?;
                Ok(ContentDigest {
                    label: f.display().to_string(),
                    blake3: digest,
                })
            })
            .collect()
    }

    fn run(&self, ctx: &mut RunCtx<'_>) -> anyhow::Result<()> {
        let remote = !ctx.params.strs("urls")?.is_empty();
        ctx.progress.set_length(ctx.content.len() as u64);
        ctx.progress.set_message(if remote {
            "files downloaded and parsed"
        } else {
            "files parsed"
        });
        let mut files = Vec::new();
        for c in ctx.content {
            let bytes = if remote {
                let bytes = http::get(&c.label)
                    .map_err(|e| anyhow::anyhow!("{e} ({})", ctx.params.locate("urls")))?;
                http::check_digest(&c.label, &bytes, &c.blake3)
                    .map_err(|e| anyhow::anyhow!("{e} ({})", ctx.params.locate("blake3")))?;
                bytes
            } else {
                let bytes = std::fs::read(&c.label)
                    .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", c.label))?;
                if blake3::hash(&bytes).to_hex().as_str() != c.blake3 {
                    anyhow::bail!(
                        "{} changed while the pipeline was running; run it again",
                        c.label
                    );
                }
                bytes
            };
            files.push(iaga2002::parse_bytes(&c.label, &bytes)?);
            ctx.progress.inc(1);
        }
        let names: Vec<String> = {
            let mut f: Vec<(i64, String)> = files
                .iter()
                .map(|f| (f.times_ns[0], file_name(&f.name)))
                .collect();
            f.sort();
            f.into_iter().map(|(_, n)| n).collect()
        };
        let header = files.first().map(|f| f.header.clone()).unwrap_or_default();
        let series = iaga2002::concatenate(files)?;
        series.write_h5(ctx.output)?;
        h5::write_str_attr(ctx.output, "files", &names.join(","))?;
        h5::write_str_attr(ctx.output, "data_type", &header.data_type)?;
        h5::write_str_attr(ctx.output, "reported", &header.reported)?;
        Ok(())
    }
}

fn file_name(label: &str) -> String {
    label
        .rsplit(['/', '\\'])
        .next()
        .unwrap_or(label)
        .to_string()
}
