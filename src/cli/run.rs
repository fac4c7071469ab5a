use std::path::PathBuf;

use super::{CacheArgs, PipelineArgs, exit};
use crate::cache::Cache;
use crate::exec::{RunOptions, run};
use crate::plan::Plan;

#[derive(clap::Args)]
pub(crate) struct Args {
    #[command(flatten)]
    pipeline: PipelineArgs,
    #[command(flatten)]
    cache: CacheArgs,
    /// Where metrics, plots and reports go (`<results>/<pipeline>/<stage>/`).
    #[arg(long, default_value = "results", value_name = "DIR")]
    results: PathBuf,
    /// Stages computed at the same time [default: number of CPUs].
    #[arg(short = 'j', long = "jobs", value_name = "N")]
    jobs: Option<usize>,
    /// No progress bars or per-stage lines; failures are still reported.
    #[arg(long, short = 'q')]
    quiet: bool,
}

pub(crate) fn exec(a: Args) -> miette::Result<i32> {
    let pipeline = super::load(&a.pipeline)?;
    let cache = Cache::new(&a.cache.cache);
    let cleaned = cache.prepare()?;
    if cleaned > 0 && !a.quiet {
        eprintln!("note: removed {cleaned} temp file(s) left by interrupted runs");
    }
    let plan = Plan::make(&pipeline, &cache)?;
    let jobs = a
        .jobs
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let report = run(
        &pipeline,
        &plan,
        &cache,
        &RunOptions {
            jobs,
            quiet: a.quiet,
            results_root: a.results,
        },
    );
    let failed = report.failures();
    if failed > 0 {
        eprintln!(
            "error: {failed} stage(s) of pipeline `{}` did not complete",
            pipeline.name
        );
        return Ok(exit::STAGE_FAILED);
    }
    Ok(exit::OK)
}
