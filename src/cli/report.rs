use std::path::PathBuf;

use super::{CacheArgs, PipelineArgs, SweepArgs, exit};
use crate::cache::Cache;

#[derive(clap::Args)]
pub(crate) struct Args {
    #[command(flatten)]
    pipeline: PipelineArgs,
    #[command(flatten)]
    sweep: SweepArgs,
    #[command(flatten)]
    cache: CacheArgs,
    /// The results root the run wrote to (plots are read from `<results>/<pipeline>/`).
    #[arg(long, default_value = "results", value_name = "DIR")]
    results: PathBuf,
}

pub(crate) fn exec(a: Args) -> miette::Result<i32> {
    let r = super::resolve(&a.pipeline, &a.sweep)?;
    let cache = Cache::new(&a.cache.cache);
    let (metrics, points, missing) = super::current_metrics(&r, &cache)?;
    if !missing.is_empty() {
        eprintln!(
            "note: not computed yet, shown as pending: {}",
            missing.join(", ")
        );
    }
    let path = crate::report::write(&crate::report::Inputs {
        base: &r.base,
        study: r.study.as_ref(),
        cache: &cache,
        results_root: &a.results,
        metrics: &metrics,
        points: &points,
    })
    .map_err(|e| miette::miette!("{e:#}"))?;
    println!("{}", path.display());
    Ok(exit::OK)
}
