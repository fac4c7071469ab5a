//! Sharing between labs: `export`, `import`, `push`, and the `--remote` options of `run`,
//! `plan` and `status`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::{CacheArgs, PipelineArgs, SweepArgs, exit};
use crate::bundle::{self, EntrySelection};
use crate::cache::remote::{Remote, RemoteError, RemoteSettings};
use crate::stdout::outln;

/// The remote cache options (a site profile's `[remote]` table gives the defaults).
#[derive(clap::Args, Clone, Default)]
pub(crate) struct RemoteArgs {
    /// A remote cache: the http(s) URL of a WebDAV folder. Entries missing here are fetched
    /// from it and verified before use; `--push` (or `quakeline push`) uploads. Never changes a
    /// key. Bearer token: $QUAKELINE_REMOTE_TOKEN [default: the site profile's [remote] url].
    #[arg(long, value_name = "URL")]
    pub remote: Option<String>,
    /// Only read from the remote cache (refuses --push).
    #[arg(long)]
    pub remote_read_only: bool,
    /// Seconds to wait for the remote to connect, and for each read or write, before it counts
    /// as unavailable and work goes on locally [default: 30].
    #[arg(long, value_name = "SECONDS")]
    pub remote_timeout: Option<f64>,
    /// Use no remote cache, not even the site profile's.
    #[arg(long, conflicts_with = "remote")]
    pub no_remote: bool,
}

impl RemoteArgs {
    /// The remote to use, if any: flags over the site profile (`profile`, or `$QUAKELINE_SITE`).
    pub fn remote(&self, profile: Option<&Path>) -> miette::Result<Option<Remote>> {
        if self.no_remote {
            return Ok(None);
        }
        let from_profile = || -> miette::Result<Option<RemoteSettings>> {
            let path = match profile {
                Some(p) => Some(p.to_path_buf()),
                None => std::env::var_os("QUAKELINE_SITE").map(PathBuf::from),
            };
            match path {
                Some(p) => Ok(crate::slurm::Site::load(&p)?.remote),
                None => Ok(None),
            }
        };
        let mut settings = match &self.remote {
            Some(url) => {
                // The profile's read_only and timeout still apply to another URL.
                let mut s = from_profile()?.unwrap_or_else(|| RemoteSettings::new(url));
                s.url = url.clone();
                s
            }
            None => match from_profile()? {
                Some(s) => s,
                None if self.remote_read_only || self.remote_timeout.is_some() => {
                    return Err(miette::miette!(
                        "--remote-read-only and --remote-timeout need --remote URL (or [remote] in the site profile)"
                    ));
                }
                None => return Ok(None),
            },
        };
        settings.read_only |= self.remote_read_only;
        if let Some(t) = self.remote_timeout {
            if !(t.is_finite() && t >= 0.1) {
                return Err(miette::miette!(
                    "--remote-timeout must be at least 0.1 seconds"
                ));
            }
            settings.timeout = Duration::from_secs_f64(t);
        }
        Remote::new(&settings)
            .map(Some)
            .map_err(|e| miette::miette!("{e}"))
    }
}

/// Turns a remote failure into what the command does next: unavailable → a warning saying what
/// happens instead (`then`), refused or a local cache error → the command's error.
pub(crate) fn degrade(e: RemoteError, remote: &Remote, then: &str) -> miette::Result<()> {
    match e {
        RemoteError::Unavailable(why) => {
            eprintln!(
                "warning: remote cache {} is unavailable ({why}); {then}",
                remote.url()
            );
            Ok(())
        }
        RemoteError::Refused(why) => Err(miette::miette!(
            help = "set $QUAKELINE_REMOTE_TOKEN, or run with --no-remote",
            "{why}"
        )),
        RemoteError::Local(e) => Err(miette::miette!("{e}")),
    }
}

#[derive(clap::Args)]
pub(crate) struct ExportArgs {
    #[command(flatten)]
    pipeline: PipelineArgs,
    #[command(flatten)]
    sweep: SweepArgs,
    #[command(flatten)]
    cache: CacheArgs,
    /// Cache entries to include: stage ids (comma-separated; every point of a sweep) or `all`
    /// [default: none, only the pipeline and its local files].
    #[arg(long, value_name = "STAGE,…|all", value_delimiter = ',')]
    entries: Vec<String>,
    /// Also pack local files from outside the pipeline's directory tree.
    #[arg(long)]
    allow_outside: bool,
    /// The bundle to write (a zstd-compressed tar stream, e.g. `quickstart.qlb`).
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    output: PathBuf,
}

pub(crate) fn export(a: ExportArgs) -> miette::Result<i32> {
    let session = super::session(&a.pipeline, &a.sweep, &a.cache)?;
    let selection = match a.entries.as_slice() {
        [] => EntrySelection::None,
        [one] if one == "all" => EntrySelection::All,
        names => EntrySelection::Stages(names.to_vec()),
    };
    let contents = bundle::collect(&session, &selection, a.allow_outside)?;
    let start = std::time::Instant::now();
    let size = bundle::write(&contents, &a.output)?;
    for f in &contents.files {
        outln!("file   {:>12}  {}  ({})", f.size, f.rel, f.source.display());
    }
    for e in &contents.entries {
        outln!(
            "entry  {:>12}  {}  {}",
            e.manifest.size,
            e.label,
            &e.key[..12]
        );
    }
    let raw: u64 = contents.files.iter().map(|f| f.size).sum::<u64>()
        + contents
            .entries
            .iter()
            .map(|e| e.manifest.size + e.manifest_size)
            .sum::<u64>();
    eprintln!(
        "wrote {} ({} file(s), {} entr{}; {:.1} MB packed into {:.1} MB in {:.2} s)",
        a.output.display(),
        contents.files.len(),
        contents.entries.len(),
        if contents.entries.len() == 1 {
            "y"
        } else {
            "ies"
        },
        raw as f64 / 1e6,
        size as f64 / 1e6,
        start.elapsed().as_secs_f64()
    );
    Ok(exit::OK)
}

#[derive(clap::Args)]
pub(crate) struct ImportArgs {
    /// A bundle written by `quakeline export`.
    bundle: PathBuf,
    /// Where the pipeline and its files are laid out [default: the current directory].
    dir: Option<PathBuf>,
    /// The cache that receives the bundle's entries [default: DIR/cache].
    #[arg(long = "cache", env = "QUAKELINE_CACHE", value_name = "DIR")]
    cache: Option<PathBuf>,
    /// Only print the bundle's manifest; write nothing.
    #[arg(long)]
    list: bool,
}

pub(crate) fn import(a: ImportArgs) -> miette::Result<i32> {
    if a.list {
        let m = bundle::read_manifest(&a.bundle)?;
        outln!("{}", serde_json::to_string_pretty(&m).unwrap_or_default());
        return Ok(exit::OK);
    }
    let dir = a.dir.clone().unwrap_or_else(|| PathBuf::from("."));
    let cache_dir = a.cache.clone().unwrap_or_else(|| dir.join("cache"));
    let cache = crate::cache::Cache::new(&cache_dir);
    let done = bundle::import(&a.bundle, &dir, &cache)?;
    for p in &done.written {
        outln!("file   {p}");
    }
    for p in &done.unchanged {
        outln!("same   {p}  (already there)");
    }
    for (stage, key) in &done.entries {
        outln!("entry  {stage}  {}", &key[..12]);
    }
    eprintln!(
        "imported a bundle written by quakeline {}: {} file(s), {} cache entr{} into {}",
        done.manifest.quakeline,
        done.written.len() + done.unchanged.len(),
        done.entries.len(),
        if done.entries.len() == 1 { "y" } else { "ies" },
        cache_dir.display()
    );
    let sweep = done
        .manifest
        .sweep
        .as_ref()
        .map(|s| format!(" --sweep {s}"))
        .unwrap_or_default();
    eprintln!(
        "run it: cd {} && quakeline run {}{sweep}{}",
        dir.display(),
        done.manifest.pipeline,
        if a.cache.is_some() {
            format!(" --cache {}", cache_dir.display())
        } else {
            String::new()
        }
    );
    Ok(exit::OK)
}

#[derive(clap::Args)]
pub(crate) struct PushArgs {
    #[command(flatten)]
    pipeline: PipelineArgs,
    #[command(flatten)]
    sweep: SweepArgs,
    #[command(flatten)]
    cache: CacheArgs,
    #[command(flatten)]
    remote: RemoteArgs,
}

pub(crate) fn push(a: PushArgs) -> miette::Result<i32> {
    let Some(remote) = a.remote.remote(None)? else {
        return Err(miette::miette!(
            help = "pass --remote URL, or set [remote] url in the site profile ($QUAKELINE_SITE)",
            "no remote cache to push to"
        ));
    };
    let session = super::session(&a.pipeline, &a.sweep, &a.cache)?;
    push_session(&session, &remote, false)
}

/// Uploads every entry of the session's members that the cache holds and the remote lacks.
pub(crate) fn push_session(
    session: &crate::session::Session,
    remote: &Remote,
    quiet: bool,
) -> miette::Result<i32> {
    if remote.read_only() {
        return Err(miette::miette!(
            "the remote cache {} is read-only here (--remote-read-only or read_only in the site profile)",
            remote.url()
        ));
    }
    let start = std::time::Instant::now();
    let pushed = match session.push(remote, |line| {
        if !quiet {
            outln!("{line}")
        }
    }) {
        Ok(p) => p,
        Err(RemoteError::Unavailable(why)) => {
            eprintln!(
                "warning: could not push to {} ({why}); the entries stay local",
                remote.url()
            );
            return Ok(exit::STAGE_FAILED);
        }
        Err(e) => {
            degrade(e, remote, "the entries stay local")?;
            return Ok(exit::STAGE_FAILED);
        }
    };
    if !quiet {
        eprintln!(
            "pushed {} entr{} ({:.1} MB) to {} in {:.2} s; {} already there, {} not in the local cache",
            pushed.uploaded,
            if pushed.uploaded == 1 { "y" } else { "ies" },
            pushed.bytes as f64 / 1e6,
            remote.url(),
            start.elapsed().as_secs_f64(),
            pushed.present,
            pushed.missing
        );
    }
    Ok(exit::OK)
}
