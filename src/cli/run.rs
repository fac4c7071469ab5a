use std::path::PathBuf;

use super::{CacheArgs, PipelineArgs, SweepArgs, exit};
use crate::exec::{Local, RunOptions};

#[derive(clap::Args)]
pub(crate) struct Args {
    #[command(flatten)]
    pipeline: PipelineArgs,
    #[command(flatten)]
    sweep: SweepArgs,
    #[command(flatten)]
    cache: CacheArgs,
    /// Where metrics, plots and reports go (`<results>/<pipeline>/<stage>/`).
    #[arg(long, default_value = "results", value_name = "DIR")]
    results: PathBuf,
    /// Stages computed at the same time, across the points of a sweep [default: number of CPUs].
    #[arg(short = 'j', long = "jobs", value_name = "N")]
    jobs: Option<usize>,
    /// Start nothing new after the first failure (by default other points keep going).
    #[arg(long)]
    fail_fast: bool,
    /// No progress bars or per-stage lines; failures are still reported.
    #[arg(long, short = 'q')]
    quiet: bool,
}

pub(crate) fn exec(a: Args) -> miette::Result<i32> {
    let session = super::session(&a.pipeline, &a.sweep, &a.cache)?;
    let cleaned = session.cache.prepare()?;
    if cleaned > 0 && !a.quiet {
        eprintln!("note: removed {cleaned} temp file(s) left by interrupted runs");
    }
    let opts = RunOptions {
        jobs: a
            .jobs
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get())),
        quiet: a.quiet,
        results_root: a.results.clone(),
        fail_fast: a.fail_fast,
    };
    if let (Some(study), false) = (&session.study, a.quiet) {
        eprintln!("sweep `{}`: {} points", study.spec.name, study.points.len());
    }
    let ran = session.run(&opts, &Local);
    let failed = ran.failed_members();
    if let Some(study) = &session.study {
        let points = failed.iter().filter(|f| **f).count();
        if points > 0 {
            eprintln!(
                "error: {points} of {} points of sweep `{}` did not complete",
                study.points.len(),
                study.spec.name
            );
        }
    }
    let written = session
        .write_summaries(&a.results, &failed)
        .map_err(|e| miette::miette!("{e:#}"))?;
    if session.study.is_some() && !a.quiet {
        eprintln!(
            "sweep results: {} ({})",
            session.results_dir(&a.results).display(),
            written.join(", ")
        );
    }
    if ran.failures() == 0 {
        return Ok(exit::OK);
    }
    if session.study.is_none() {
        eprintln!(
            "error: {} stage(s) of pipeline `{}` did not complete",
            ran.failures(),
            session.base.name
        );
    }
    Ok(exit::STAGE_FAILED)
}
