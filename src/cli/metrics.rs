use crate::stdout::{out, outln};
use std::path::{Path, PathBuf};
use std::process::Command as Process;

use super::{CacheArgs, PipelineArgs, SweepArgs, exit};
use crate::metrics::{MetricsFile, diff, fmt, fmt_percent, fmt_signed, table};

#[derive(clap::Subcommand)]
pub(crate) enum Command {
    /// The current metrics of a pipeline (or of its sweep), read from the cache.
    Show(ShowArgs),
    /// Old vs new: a table of absolute and relative changes. A and B are metrics files, result
    /// folders (their metrics.json), `REV:PATH` (a file in git), or a git revision alone (then
    /// the other argument's path at that revision).
    Diff(DiffArgs),
}

#[derive(clap::Args, Clone, Copy)]
pub(crate) struct Format {
    /// Markdown (for pull-request comments).
    #[arg(long, conflicts_with = "json")]
    pub md: bool,
    /// JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(clap::Args)]
pub(crate) struct ShowArgs {
    #[command(flatten)]
    pipeline: PipelineArgs,
    #[command(flatten)]
    sweep: SweepArgs,
    #[command(flatten)]
    cache: CacheArgs,
    #[command(flatten)]
    format: Format,
}

#[derive(clap::Args)]
pub(crate) struct DiffArgs {
    /// Old: file, folder, REV:PATH or REV.
    a: String,
    /// New: file, folder, REV:PATH or REV.
    b: String,
    #[command(flatten)]
    format: Format,
}

pub(crate) fn exec(c: Command) -> miette::Result<i32> {
    match c {
        Command::Show(a) => show(a),
        Command::Diff(a) => diff_cmd(a),
    }
}

fn show(a: ShowArgs) -> miette::Result<i32> {
    let session = super::session(&a.pipeline, &a.sweep, &a.cache)?;
    let crate::session::Collected { file, missing, .. } = super::collect(&session)?;
    if !missing.is_empty() {
        eprintln!(
            "note: not computed yet (run the pipeline first): {}",
            missing.join(", ")
        );
    }
    if a.format.json {
        out!("{}", file.to_json());
        return Ok(exit::OK);
    }
    out!(
        "{}",
        table(&crate::metrics::rows(&file, "value"), a.format.md)
    );
    Ok(exit::OK)
}

fn diff_cmd(a: DiffArgs) -> miette::Result<i32> {
    let old = load_arg(&a.a, Some(&a.b))?;
    let new = load_arg(&a.b, Some(&a.a))?;
    if !old.pipeline.is_empty() && !new.pipeline.is_empty() && old.pipeline != new.pipeline {
        eprintln!(
            "warning: comparing metrics of pipeline `{}` with pipeline `{}`",
            old.pipeline, new.pipeline
        );
    }
    let changes = diff(&old, &new);
    if a.format.json {
        outln!(
            "{}",
            serde_json::to_string_pretty(&changes).unwrap_or_default()
        );
        return Ok(exit::OK);
    }
    let mut rows = vec![vec![
        "metric".to_string(),
        "old".into(),
        "new".into(),
        "change".into(),
        "relative".into(),
        "".into(),
    ]];
    for c in &changes {
        rows.push(vec![
            c.metric.clone(),
            fmt(c.old),
            fmt(c.new),
            fmt_signed(c.change),
            fmt_percent(c.relative),
            c.verdict.into(),
        ]);
    }
    out!("{}", table(&rows, a.format.md));
    Ok(exit::OK)
}

/// Reads metrics named on the command line: a file, a results folder (its `metrics.json`),
/// `REV:PATH` from git, or a bare revision meaning `other`'s path at that revision.
pub(crate) fn load_arg(arg: &str, other: Option<&str>) -> miette::Result<MetricsFile> {
    let err = |e: anyhow::Error| miette::miette!("{e:#}");
    let path = Path::new(arg);
    if path.is_dir() {
        let f = path.join("metrics.json");
        if !f.is_file() {
            return Err(miette::miette!(
                help = "a results folder of a plain run has metrics.json; a sweep's is results/<pipeline>/<sweep>/",
                "{} has no metrics.json",
                path.display()
            ));
        }
        return crate::metrics::read(&f).map_err(err);
    }
    if path.is_file() {
        return crate::metrics::read(path).map_err(err);
    }
    let spec = match arg.split_once(':') {
        Some(_) => arg.to_string(),
        None => {
            let Some(other) = other.filter(|o| Path::new(o).exists()) else {
                return Err(miette::miette!(
                    help =
                        "give a metrics file, a results folder, REV:PATH, or a revision and a path",
                    "no such file or folder: {arg}"
                ));
            };
            let mut rel = PathBuf::from(other);
            if rel.is_dir() {
                rel = rel.join("metrics.json");
            }
            format!("{arg}:./{}", rel.display())
        }
    };
    let out = Process::new("git")
        .args(["show", &spec])
        .output()
        .map_err(|e| miette::miette!("cannot run git to read {spec}: {e}"))?;
    if !out.status.success() {
        return Err(miette::miette!(
            help = "a revision is read with `git show REV:PATH` from the current directory's repository",
            "{arg} is neither a file nor a folder, and `git show {spec}` failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let text = if text.trim_start().starts_with('{') {
        text.to_string()
    } else {
        // `git show REV:DIR` lists the folder: read its metrics.json.
        let dir_spec = format!("{}/metrics.json", spec.trim_end_matches('/'));
        let out = Process::new("git")
            .args(["show", &dir_spec])
            .output()
            .map_err(|e| miette::miette!("cannot run git: {e}"))?;
        String::from_utf8_lossy(&out.stdout).to_string()
    };
    MetricsFile::parse(&text, &spec).map_err(err)
}
