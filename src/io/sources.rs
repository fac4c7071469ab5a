//! Where fetch stages get bytes: local globs or pinned HTTP(S) URLs, entering the key by content.
//!
//! Shared by every `fetch.*` kind (and `evaluate.focal`'s local `events`) so the rules are written
//! once: `paths` (globs relative to the pipeline file, hashed at plan time) or `urls` with one
//! `blake3` pin each (the pin is the key content; a download with another digest is an error).
//! Files are re-hashed when read, so a file edited between planning and running is caught
//! instead of cached under the wrong key.

use std::path::PathBuf;

use crate::io::http;
use crate::params::ParamError;
use crate::stage::{ContentDigest, PlanCtx, RunCtx};

/// Declares a fetch stage's parameter struct with the three source fields first (`paths`,
/// `urls`, `blake3`), so every `fetch.*` kind documents and validates them the same way, and
/// gives it `sources()`, the view the rules below take.
#[macro_export]
macro_rules! source_params {
    (
        $(#[$m:meta])*
        $vis:vis struct $name:ident { $($body:tt)* }
    ) => {
        $crate::stage_params! {
            $(#[$m])*
            $vis struct $name {
                /// glob patterns of local files, relative to the pipeline file
                paths: Vec<String> = StrList, Optional, location;
                /// http(s) URLs of files; each needs a pinned digest in `blake3`
                urls: Vec<String> = StrList, Optional, location;
                /// BLAKE3 hex digest of each URL's content, in the order of `urls`
                blake3: Vec<String> = StrList, Optional, location;
                $($body)*
            }
        }
        impl $name {
            /// The source fields, for the rules of [`crate::io::sources::Sources`].
            pub fn sources(&self) -> $crate::io::sources::Sources<'_> {
                $crate::io::sources::Sources {
                    paths: &self.paths,
                    urls: &self.urls,
                    pins: &self.blake3,
                }
            }
        }
    };
}

/// The source fields of a fetch stage's parameters.
#[derive(Clone, Copy, Debug)]
pub struct Sources<'a> {
    pub paths: &'a [String],
    pub urls: &'a [String],
    pub pins: &'a [String],
}

impl Sources<'_> {
    /// Whether `paths` or `urls` are given (an alternative source, like an FDSN query, may be
    /// used instead).
    pub fn given(&self) -> bool {
        !self.paths.is_empty() || !self.urls.is_empty()
    }

    /// The rules between `paths`, `urls` and `blake3`.
    pub fn check(&self) -> Result<(), ParamError> {
        let (paths, urls, pins) = (self.paths, self.urls, self.pins);
        match (paths.is_empty(), urls.is_empty()) {
            (true, true) => {
                return Err(
                    ParamError::new("paths", "give `paths` (local globs) or `urls`")
                        .help("e.g. paths = [\"data/*.txt\"]"),
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
        check_pins(pins)?;
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

    /// Content digests: the pins of `urls`, or the BLAKE3 of every file the globs match (sorted
    /// by path).
    pub fn digests(&self, ctx: &PlanCtx<'_>) -> Result<Vec<ContentDigest>, ParamError> {
        if !self.urls.is_empty() {
            return Ok(self
                .urls
                .iter()
                .zip(self.pins)
                .map(|(label, d)| ContentDigest {
                    label: label.clone(),
                    blake3: d.to_ascii_lowercase(),
                })
                .collect());
        }
        local_digests(ctx, self.paths, "paths")
    }

    /// Reads every planned source (`ctx.content`), ticking the progress bar once per file.
    pub fn read_all(&self, ctx: &RunCtx<'_>) -> anyhow::Result<Vec<(String, Vec<u8>)>> {
        let remote = !self.local();
        ctx.progress.set_length(ctx.content.len() as u64);
        ctx.progress.set_message(if remote {
            "files downloaded"
        } else {
            "files read"
        });
        let mut out = Vec::with_capacity(ctx.content.len());
        for c in ctx.content {
            out.push((c.label.clone(), self.read_one(ctx, c)?));
            ctx.progress.inc(1);
        }
        Ok(out)
    }

    /// Reads one planned source (an element of `ctx.content`): downloaded and checked against
    /// its pin, or read and re-hashed (a file edited since planning is an error).
    pub fn read_one(&self, ctx: &RunCtx<'_>, c: &ContentDigest) -> anyhow::Result<Vec<u8>> {
        if !self.local() {
            return download(ctx, &c.label, Some(&c.blake3));
        }
        let bytes =
            std::fs::read(&c.label).map_err(|e| anyhow::anyhow!("cannot read {}: {e}", c.label))?;
        if blake3::hash(&bytes).to_hex().as_str() != c.blake3 {
            anyhow::bail!(
                "{} changed while the pipeline was running; run it again",
                c.label
            );
        }
        Ok(bytes)
    }

    /// Whether the sources are local files (their labels are paths), not downloads.
    pub fn local(&self) -> bool {
        self.urls.is_empty()
    }
}

pub fn check_pins(pins: &[String]) -> Result<(), ParamError> {
    match pins
        .iter()
        .find(|d| d.len() != 64 || !d.chars().all(|c| c.is_ascii_hexdigit()))
    {
        Some(bad) => Err(ParamError::new(
            "blake3",
            format!("`{bad}` is not a BLAKE3 digest (64 hex digits)"),
        )),
        None => Ok(()),
    }
}

/// The BLAKE3 of every file the globs of list parameter `name` match (relative to the pipeline
/// file, sorted by path, each glob required to match something). Also for stages that read local
/// files beside their inputs (`evaluate.focal`'s `events`).
pub fn local_digests(
    ctx: &PlanCtx<'_>,
    patterns: &[String],
    name: &str,
) -> Result<Vec<ContentDigest>, ParamError> {
    let mut files: Vec<PathBuf> = Vec::new();
    for pattern in patterns {
        let full = ctx.pipeline_dir.join(pattern);
        let matches = glob::glob(&full.to_string_lossy())
            .map_err(|e| ParamError::new(name, format!("`{pattern}` is not a valid glob: {e}")))?;
        let before = files.len();
        for m in matches {
            let path = m.map_err(|e| {
                ParamError::new(
                    name,
                    format!("cannot read {}: {}", e.path().display(), e.error()),
                )
            })?;
            if path.is_file() {
                files.push(path);
            }
        }
        if files.len() == before {
            return Err(ParamError::new(
                name,
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
            let (digest, _) = crate::cache::hash_file(&f)
                .map_err(|e| ParamError::new(name, format!("cannot read {}: {e}", f.display())))?;
            Ok(ContentDigest {
                label: f.display().to_string(),
                blake3: digest,
            })
        })
        .collect()
}

/// Downloads `url` and checks it against `pin`, naming the parameters in errors.
pub fn download(ctx: &RunCtx<'_>, url: &str, pin: Option<&str>) -> anyhow::Result<Vec<u8>> {
    let bytes =
        http::get(url).map_err(|e| anyhow::anyhow!("{e} ({})", ctx.params.locate("urls")))?;
    if let Some(pin) = pin {
        http::check_digest(url, &bytes, pin)
            .map_err(|e| anyhow::anyhow!("{e} ({})", ctx.params.locate("blake3")))?;
    }
    Ok(bytes)
}

/// The last path component of a file label or URL, for attributes that list what was read.
pub fn file_name(label: &str) -> String {
    label
        .rsplit(['/', '\\'])
        .next()
        .unwrap_or(label)
        .to_string()
}
