//! The SLURM side of the command line: `run --executor slurm` settings, `worker` (inside a job)
//! and `status`.

use std::path::PathBuf;
use std::time::Duration;

use super::{CacheArgs, PipelineArgs, SweepArgs, exit};
use crate::slurm::{Commands, Origin, Site, Slurm};

/// Where units run.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq, Default)]
pub(crate) enum ExecutorKind {
    /// Threads of this process (`-j`).
    #[default]
    Local,
    /// SLURM array jobs running `quakeline worker`; the cache must be on a shared file system.
    Slurm,
}

/// Site settings for `--executor slurm`: a profile, then flags (flags win). Never in the pipeline
/// file, never in a cache key.
#[derive(clap::Args, Clone, Default)]
pub(crate) struct SiteArgs {
    /// Site profile (TOML with a [slurm] table: partition, account, qos, sbatch_flags, max_jobs,
    /// max_array_size, poll_interval).
    #[arg(long, env = "QUAKELINE_SITE", value_name = "FILE")]
    pub site: Option<PathBuf>,
    /// sbatch --partition.
    #[arg(long, value_name = "NAME")]
    pub partition: Option<String>,
    /// sbatch --account.
    #[arg(long, value_name = "NAME")]
    pub account: Option<String>,
    /// sbatch --qos.
    #[arg(long, value_name = "NAME")]
    pub qos: Option<String>,
    /// An extra sbatch flag, passed verbatim (repeatable): --sbatch-flag=--constraint=a100.
    #[arg(long = "sbatch-flag", value_name = "FLAG", allow_hyphen_values = true)]
    pub sbatch_flag: Vec<String>,
    /// Array tasks queued or running at once [default: 1000].
    #[arg(long, value_name = "N")]
    pub max_jobs: Option<usize>,
    /// Tasks per job array: the cluster's MaxArraySize; 1 submits one job per unit [default: 1001].
    #[arg(long, value_name = "N")]
    pub max_array_size: Option<usize>,
    /// How often the queue is read, e.g. 10s [default: 10s].
    #[arg(long, value_name = "DURATION")]
    pub poll_interval: Option<String>,
}

impl SiteArgs {
    /// Whether a site flag was given (a profile from `$QUAKELINE_SITE` alone does not count: it
    /// may be set for every shell).
    pub fn any_flag(&self) -> bool {
        self.partition.is_some()
            || self.account.is_some()
            || self.qos.is_some()
            || !self.sbatch_flag.is_empty()
            || self.max_jobs.is_some()
            || self.max_array_size.is_some()
            || self.poll_interval.is_some()
    }

    pub fn site(&self) -> miette::Result<Site> {
        let mut s = match &self.site {
            Some(p) => Site::load(p)?,
            None => Site::default(),
        };
        if self.partition.is_some() {
            s.partition = self.partition.clone();
        }
        if self.account.is_some() {
            s.account = self.account.clone();
        }
        if self.qos.is_some() {
            s.qos = self.qos.clone();
        }
        s.sbatch_flags.extend(self.sbatch_flag.iter().cloned());
        if let Some(n) = self.max_jobs {
            if n == 0 {
                return Err(miette::miette!("--max-jobs must be at least 1"));
            }
            s.max_jobs = n;
        }
        if let Some(n) = self.max_array_size {
            if n == 0 {
                return Err(miette::miette!("--max-array-size must be at least 1"));
            }
            s.max_array_size = n;
        }
        if let Some(text) = &self.poll_interval {
            let ns = crate::units::parse_duration_ns(text)
                .map_err(|e| miette::miette!("--poll-interval: {e}"))?;
            if ns < 100_000_000 {
                return Err(miette::miette!("--poll-interval must be at least 100ms"));
            }
            s.poll_interval = Duration::from_nanos(ns as u64);
        }
        Ok(s)
    }
}

/// What the worker needs to open the same session: absolute paths, since jobs may start in
/// another directory.
pub(crate) fn origin(p: &PipelineArgs, sw: &SweepArgs, c: &CacheArgs) -> miette::Result<Origin> {
    let abs = |path: &PathBuf| {
        std::path::absolute(path)
            .map_err(|e| miette::miette!("cannot resolve {}: {e}", path.display()))
    };
    Ok(Origin {
        pipeline: abs(&p.pipeline)?,
        set: p.set.clone(),
        sweep: sw.sweep.clone(),
        no_sweep: sw.no_sweep,
        cache: abs(&c.cache)?,
        device: crate::device::key_class()
            .is_some()
            .then(|| crate::device::chosen().to_string()),
    })
}

/// The SLURM executor for a run.
pub(crate) fn executor<'a>(
    scheduler: &'a Commands,
    origin: Origin,
    site: Site,
    retries: u32,
    detach: bool,
) -> miette::Result<Slurm<'a>> {
    let exe = std::env::current_exe()
        .map_err(|e| miette::miette!("cannot find the quakeline binary for the jobs: {e}"))?;
    Ok(Slurm {
        scheduler,
        site,
        origin,
        exe,
        retries,
        detach,
    })
}

#[derive(clap::Args)]
pub(crate) struct WorkerArgs {
    /// The job file (`<cache>/slurm/jobs/<name>.json`) written by the coordinator.
    job_file: PathBuf,
    /// The task to run [default: $SLURM_ARRAY_TASK_ID].
    #[arg(long, value_name = "N")]
    task: Option<u32>,
}

pub(crate) fn worker(a: WorkerArgs) -> miette::Result<i32> {
    let task = match a.task {
        Some(t) => t,
        None => std::env::var("SLURM_ARRAY_TASK_ID")
            .ok()
            .and_then(|t| t.parse().ok())
            .ok_or_else(|| {
                miette::miette!("no --task and no SLURM_ARRAY_TASK_ID: which task of the job file?")
            })?,
    };
    match crate::slurm::worker::run(&a.job_file, task, crate::stages::REGISTRY) {
        Ok(_) => Ok(exit::OK),
        Err(e) => {
            eprintln!("error: {e:#}");
            Ok(exit::STAGE_FAILED)
        }
    }
}

#[derive(clap::Args)]
pub(crate) struct StatusArgs {
    #[command(flatten)]
    pipeline: PipelineArgs,
    #[command(flatten)]
    sweep: SweepArgs,
    #[command(flatten)]
    cache: CacheArgs,
    #[command(flatten)]
    remote: super::share::RemoteArgs,
}

pub(crate) fn status(a: StatusArgs) -> miette::Result<i32> {
    let remote = a.remote.remote(None)?;
    let session = super::session(&a.pipeline, &a.sweep, &a.cache)?;
    let members = session.exec_members(std::path::Path::new("results"));
    let mut rows =
        crate::slurm::coordinator::status(&members, &session.cache, &Commands::default())
            .map_err(|e| miette::miette!("{e}"))?;
    // Units nobody is computing that a remote cache holds: `run` fetches them.
    if let Some(r) = &remote {
        for row in rows.iter_mut().filter(|row| row.state == "not started") {
            match r.has(&row.key) {
                Ok(true) => row.state = "remote",
                Ok(false) => {}
                Err(e) => {
                    super::share::degrade(e, r, "states are the local cache's")?;
                    break;
                }
            }
        }
    }
    let w = rows.iter().map(|r| r.label.len()).max().unwrap_or(0);
    let kw = rows.iter().map(|r| r.kind.len()).max().unwrap_or(0);
    for r in &rows {
        crate::stdout::outln!(
            "{:<11}  {:w$}  {:kw$}  {}  {}",
            r.state,
            r.label,
            r.kind,
            &r.key[..12],
            r.detail
        );
    }
    Ok(exit::OK)
}
