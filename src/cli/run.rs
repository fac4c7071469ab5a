use std::path::PathBuf;

use super::share::{self, RemoteArgs};
use super::slurm::{ExecutorKind, SiteArgs};
use super::{CacheArgs, PipelineArgs, SweepArgs, exit};
use crate::exec::{Executor, Local, RunOptions};

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
    /// Where units run: here (`local`), or as SLURM jobs (`slurm`; the cache, results and this
    /// binary must be on a file system the nodes share).
    #[arg(long, value_enum, default_value_t = ExecutorKind::Local)]
    executor: ExecutorKind,
    #[command(flatten)]
    site: SiteArgs,
    /// SLURM: resubmit a failed unit up to N times (a job cancelled from outside is not retried).
    #[arg(long, value_name = "N", default_value_t = 0)]
    retries: u32,
    /// SLURM: submit every unit (with dependencies) and return; `quakeline status` follows them,
    /// and running `run` again adopts them.
    #[arg(long)]
    detach: bool,
    #[command(flatten)]
    remote: RemoteArgs,
    /// Afterwards, upload this run's entries that the remote cache lacks.
    #[arg(long)]
    push: bool,
}

pub(crate) fn exec(a: Args) -> miette::Result<i32> {
    if a.executor == ExecutorKind::Local && (a.detach || a.retries > 0 || a.site.any_flag()) {
        return Err(miette::miette!(
            "--detach, --retries and the SLURM site flags need --executor slurm"
        ));
    }
    // Site settings first: a wrong profile is found before the pipeline is planned.
    let site = match a.executor {
        ExecutorKind::Slurm => Some(a.site.site()?),
        ExecutorKind::Local => None,
    };
    let remote = a.remote.remote(a.site.site.as_deref())?;
    match &remote {
        None if a.push => {
            return Err(miette::miette!(
                help = "pass --remote URL, or set [remote] url in the site profile",
                "--push needs a remote cache"
            ));
        }
        Some(r) if a.push && r.read_only() => {
            return Err(miette::miette!(
                "--push and a read-only remote cache ({}) exclude each other",
                r.url()
            ));
        }
        _ => {}
    }
    a.pipeline.choose_device(a.site.site.as_deref())?;
    let mut session = super::session(&a.pipeline, &a.sweep, &a.cache)?;
    let cleaned = session.cache.prepare()?;
    if cleaned > 0 && !a.quiet {
        eprintln!("note: removed {cleaned} temp file(s) left by interrupted runs");
    }
    let jobs = a
        .jobs
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    if let Some(r) = &remote {
        let quiet = a.quiet;
        let say = |line: String| {
            if line.starts_with("warning:") {
                eprintln!("{line}")
            } else if !quiet {
                crate::stdout::outln!("{line}")
            }
        };
        let start = std::time::Instant::now();
        // Fetches wait on the network, not the CPU: at least 4 at once.
        match session.pull(r, jobs.max(4), say) {
            Ok(p) if p.fetched + p.corrupt > 0 && !a.quiet => eprintln!(
                "remote cache {}: fetched {} entr{} ({:.1} MB) in {:.2} s{}",
                r.url(),
                p.fetched,
                if p.fetched == 1 { "y" } else { "ies" },
                p.bytes as f64 / 1e6,
                start.elapsed().as_secs_f64(),
                if p.corrupt > 0 {
                    format!(
                        "; {} failed verification and will be computed here",
                        p.corrupt
                    )
                } else {
                    String::new()
                }
            ),
            Ok(_) => {}
            Err(e) => share::degrade(e, r, "computing locally")?,
        }
    }
    let opts = RunOptions {
        jobs,
        quiet: a.quiet,
        results_root: a.results.clone(),
        fail_fast: a.fail_fast,
    };
    if let (Some(study), false) = (&session.study, a.quiet) {
        eprintln!("sweep `{}`: {} points", study.spec.name, study.points.len());
    }
    let scheduler = crate::slurm::Commands::default();
    let slurm;
    let executor: &dyn Executor = match site {
        None => &Local,
        Some(site) => {
            let origin = super::slurm::origin(&a.pipeline, &a.sweep, &a.cache)?;
            slurm = super::slurm::executor(&scheduler, origin, site, a.retries, a.detach)?;
            &slurm
        }
    };
    let ran = session.run(&opts, executor);
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
    if let (Some(r), true) = (&remote, a.push) {
        share::push_session(&session, r, a.quiet)?;
    }
    let written = session
        .write_summaries(&a.results, &failed)
        .map_err(|e| miette::miette!("{e:#}"))?;
    // Where the results are, as DVC and Snakemake users expect to be told at the end.
    if !a.quiet {
        let dir = session.results_dir(&a.results);
        let what = if session.study.is_some() {
            "sweep results"
        } else {
            "results"
        };
        if written.is_empty() {
            eprintln!("{what}: {}", dir.display());
        } else {
            eprintln!("{what}: {} ({})", dir.display(), written.join(", "));
        }
        let flag = if a.results == std::path::Path::new("results") {
            String::new()
        } else {
            format!(" --results {}", a.results.display())
        };
        eprintln!(
            "report: quakeline report {}{flag} (writes {})",
            a.pipeline.pipeline.display(),
            dir.join("report.html").display()
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
