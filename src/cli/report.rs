use crate::stdout::outln;
use std::path::PathBuf;

use super::{CacheArgs, PipelineArgs, SweepArgs, exit};

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
    let session = super::session(&a.pipeline, &a.sweep, &a.cache)?;
    let crate::session::Collected {
        file: metrics,
        points,
        missing,
    } = super::collect(&session)?;
    if !missing.is_empty() {
        eprintln!(
            "note: not computed yet, shown as pending: {}",
            missing.join(", ")
        );
    }
    let path = crate::report::write(&crate::report::Inputs {
        session: &session,
        results_root: &a.results,
        metrics: &metrics,
        points: &points,
    })
    .map_err(|e| miette::miette!("{e:#}"))?;
    outln!("{}", path.display());
    Ok(exit::OK)
}
