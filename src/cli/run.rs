use std::path::PathBuf;

use super::{CacheArgs, PipelineArgs, SweepArgs, exit};
use crate::cache::Cache;
use crate::exec::{Member, RunOptions, run_members};
use crate::plan::Plan;

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
    let r = super::resolve(&a.pipeline, &a.sweep)?;
    let cache = Cache::new(&a.cache.cache);
    let cleaned = cache.prepare()?;
    if cleaned > 0 && !a.quiet {
        eprintln!("note: removed {cleaned} temp file(s) left by interrupted runs");
    }
    let name = r.base.name.clone();
    let opts = RunOptions {
        jobs: a
            .jobs
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get())),
        quiet: a.quiet,
        results_root: a.results.clone(),
        fail_fast: a.fail_fast,
    };
    // Per sweep point: whether it failed (for the sweep table's status column).
    let mut point_failed: Vec<bool> = Vec::new();
    let failed = match &r.study {
        None => {
            let plan = Plan::make(&r.base, &cache)?;
            let member = Member {
                pipeline: &r.base,
                plan: &plan,
                results: a.results.join(&name),
                label: String::new(),
                needed: r.base.needed(&[]),
            };
            run_members(&[member], &cache, &opts)
                .iter()
                .map(|rep| rep.failures())
                .sum::<usize>()
        }
        Some(study) => {
            let plans = study
                .pipelines
                .iter()
                .map(|p| Plan::make(p, &cache))
                .collect::<Result<Vec<_>, _>>()?;
            let dir = study.dir(&a.results, &name);
            let members: Vec<Member> = study
                .points
                .iter()
                .zip(&study.pipelines)
                .zip(&plans)
                .map(|((point, p), plan)| Member {
                    pipeline: p,
                    plan,
                    results: dir.join(point.dir_name()),
                    label: point.label.clone(),
                    needed: p.needed(&study.spec.targets),
                })
                .collect();
            if !a.quiet {
                eprintln!("sweep `{}`: {} points", study.spec.name, study.points.len());
            }
            let reports = run_members(&members, &cache, &opts);
            point_failed = reports.iter().map(|r| r.failures() > 0).collect();
            let failed_points = point_failed.iter().filter(|f| **f).count();
            if failed_points > 0 {
                eprintln!(
                    "error: {failed_points} of {} points of sweep `{}` did not complete",
                    study.points.len(),
                    study.spec.name
                );
            }
            failed_points
        }
    };
    write_metrics(&r, &cache, &a.results, &point_failed, a.quiet)?;
    if failed > 0 {
        if r.study.is_none() {
            eprintln!("error: {failed} stage(s) of pipeline `{name}` did not complete");
        }
        return Ok(exit::STAGE_FAILED);
    }
    Ok(exit::OK)
}

/// Writes `results/<pipeline>/metrics.json` (plain run) or, for a sweep, every point's
/// `metrics.json`, the aggregated `<sweep>/metrics.json`, `<sweep>.csv`, `<sweep>.md` and plots.
fn write_metrics(
    r: &super::Resolved,
    cache: &Cache,
    results: &std::path::Path,
    point_failed: &[bool],
    quiet: bool,
) -> miette::Result<()> {
    let (file, mut points, _missing) = super::current_metrics(r, cache)?;
    for (p, failed) in points.iter_mut().zip(point_failed) {
        if *failed {
            p.status = "failed";
        }
    }
    let root = results.join(&r.base.name);
    let write = |path: PathBuf, bytes: &[u8]| -> miette::Result<()> {
        crate::stage::write_results_file(&path, bytes)
            .map(drop)
            .map_err(|e| miette::miette!("{e:#}"))
    };
    let Some(study) = &r.study else {
        if !file.metrics.is_empty() {
            write(root.join("metrics.json"), file.to_json().as_bytes())?;
        }
        return Ok(());
    };
    use crate::sweep::summary;
    let dir = study.dir(results, &r.base.name);
    for (point, res) in study.points.iter().zip(&points) {
        let mut f = crate::metrics::MetricsFile::new(&r.base.name, None);
        f.metrics = res.metrics.clone();
        if !f.metrics.is_empty() {
            write(
                dir.join(point.dir_name()).join("metrics.json"),
                f.to_json().as_bytes(),
            )?;
        }
    }
    write(dir.join("metrics.json"), file.to_json().as_bytes())?;
    let name = &study.spec.name;
    write(
        root.join(format!("{name}.csv")),
        summary::csv(study, &points).as_bytes(),
    )?;
    write(
        root.join(format!("{name}.md")),
        summary::markdown(study, &r.base.name, &points, &file).as_bytes(),
    )?;
    let mut written = vec![format!("{name}.csv"), format!("{name}.md")];
    for spec in summary::plot_specs(study, &points) {
        let png = summary::plot(study, &points, &spec).map_err(|e| miette::miette!("{e:#}"))?;
        let file_name = summary::plot_name(study, &spec);
        write(root.join(&file_name), &png)?;
        written.push(file_name);
    }
    if !quiet {
        eprintln!("sweep results: {} ({})", root.display(), written.join(", "));
    }
    Ok(())
}
