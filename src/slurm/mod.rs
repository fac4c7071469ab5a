//! Running a pipeline on a SLURM cluster with a shared file system (`run --executor slurm`).
//!
//! One unit of work (one cache key: a stage of one sweep point, or of all the points that share
//! it) is one array task running `quakeline worker JOBFILE`, which computes exactly that entry and
//! exits 0 when it already exists. The units of one stage across the points of a sweep are one job
//! array. Upstream units that are still queued or running become `--dependency=afterok` (or
//! `aftercorr` when the two arrays line up task by task); finished ones are read from the cache and
//! never inferred from SLURM. The content-addressed cache is the ground truth of what finished:
//! a job that left the queue without committing its entry is a failure, never a success, whatever
//! SLURM says or forgets (jobs are purged after `MinJobAge`; a dependency on a purged job id counts
//! as satisfied).
//!
//! Layout under `<cache>/slurm/` (the cache must be on the file system the nodes share):
//! - `jobs/<name>.json` — the job file: what each array task computes (pipeline, `--set`, sweep,
//!   cache, and per task the stage, sweep point, key and results directory);
//! - `jobs/<name>.sh` — the batch script (`exec quakeline worker <job file>`);
//! - `logs/<name>.<array job>_<task>.log` — each task's output, whose last lines a failure shows;
//! - `starts.log` — one line per worker start (time, job, key): what ran, and how often;
//! - `failed/<key>.json` — the last failure decided for a key (job, first line of the error), so
//!   `quakeline status` can say `failed` after SLURM has forgotten the job.
//!
//! A job's name is `ql-<stage>-<digest of its keys>`, so a coordinator that was interrupted
//! (Ctrl-C, kill -9) finds its jobs again by name and adopts those still queued or running instead
//! of submitting them twice. How the pieces were chosen, and what a site admin must configure, is
//! in the README ("Running on a SLURM cluster").

pub mod cli;
pub mod coordinator;
pub mod site;
pub mod worker;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

pub use cli::{Commands, Scheduler};
pub use coordinator::Slurm;
pub use site::Site;

/// What the worker needs to open the same session the coordinator planned.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Origin {
    /// Absolute path of the pipeline file.
    pub pipeline: PathBuf,
    /// `--set` arguments as given.
    pub set: Vec<String>,
    /// `--sweep NAME`.
    pub sweep: Option<String>,
    /// `--no-sweep`.
    pub no_sweep: bool,
    /// Absolute path of the cache root.
    pub cache: PathBuf,
    /// The run's compute device (`--device`, [`crate::device`]): keys depend on it, and
    /// the task must compute where the coordinator planned it. Absent: the CPU.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device: Option<String>,
}

/// One array task of a job file.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Task {
    /// Stage id.
    pub stage: String,
    /// Member index (the sweep point; 0 for a plain run).
    pub member: usize,
    /// The cache key the task must produce.
    pub key: String,
    /// Where the stage's files for people go.
    pub results: PathBuf,
    /// `stage[point]` for messages.
    pub label: String,
}

/// A job file: `<cache>/slurm/jobs/<name>.json`.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct JobFile {
    pub version: u32,
    pub origin: Origin,
    /// Array task id → task.
    pub tasks: BTreeMap<u32, Task>,
}

pub const JOB_FILE_VERSION: u32 = 1;

/// `<cache>/slurm`.
pub fn dir(cache_root: &Path) -> PathBuf {
    cache_root.join("slurm")
}

pub fn job_file_path(cache_root: &Path, name: &str) -> PathBuf {
    dir(cache_root).join("jobs").join(format!("{name}.json"))
}

pub fn log_path(cache_root: &Path, name: &str, job: cli::JobRef) -> PathBuf {
    dir(cache_root)
        .join("logs")
        .join(format!("{name}.{}_{}.log", job.array, job.task))
}

/// The job name of the units with these keys of stage `stage` computed into the cache at
/// `cache_root`: `ql-<stage>-<16 hex>`. The cache is part of the digest: two caches computing the
/// same keys at the same time (two users, two CI jobs) must never adopt each other's jobs.
pub fn job_name(cache_root: &Path, stage: &str, keys: &[&str]) -> String {
    let mut sorted = keys.to_vec();
    sorted.sort();
    let mut h = blake3::Hasher::new();
    h.update(cache_root.as_os_str().as_encoded_bytes());
    h.update(b"\0");
    h.update(sorted.join("\n").as_bytes());
    let digest = h.finalize().to_hex();
    let stage: String = stage.chars().take(40).collect();
    format!("{PREFIX}{stage}-{}", &digest[..16])
}

/// Every job quakeline submits is named with this prefix.
pub const PREFIX: &str = "ql-";

impl JobFile {
    pub fn read(path: &Path) -> anyhow::Result<JobFile> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| anyhow::anyhow!("cannot read job file {}: {e}", path.display()))?;
        let f: JobFile = serde_json::from_str(&text)
            .map_err(|e| anyhow::anyhow!("job file {} is not valid: {e}", path.display()))?;
        anyhow::ensure!(
            f.version == JOB_FILE_VERSION,
            "job file {} has version {} (this quakeline reads {JOB_FILE_VERSION})",
            path.display(),
            f.version
        );
        Ok(f)
    }
}

/// What `quakeline status` shows of a unit whose failure SLURM no longer remembers:
/// `<cache>/slurm/failed/<key>.json`, written by the coordinator when it decides a failure and
/// removed when the unit later runs.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct FailureRecord {
    pub job: String,
    /// The first line of the error.
    pub summary: String,
    pub time: String,
}

fn failure_path(cache_root: &Path, key: &str) -> PathBuf {
    dir(cache_root).join("failed").join(format!("{key}.json"))
}

/// Best effort: the record is for people; the cache stays the truth of what finished.
pub fn record_failure(cache_root: &Path, key: &str, job: &str, error: &str) {
    let record = FailureRecord {
        job: if job.is_empty() {
            "-".into()
        } else {
            job.to_string()
        },
        summary: error.lines().next().unwrap_or("").to_string(),
        time: crate::time::now_rfc3339(),
    };
    let path = failure_path(cache_root, key);
    if let (Some(parent), Ok(text)) = (path.parent(), serde_json::to_string(&record)) {
        let _ = std::fs::create_dir_all(parent);
        let _ = std::fs::write(path, text);
    }
}

pub fn clear_failure(cache_root: &Path, key: &str) {
    let _ = std::fs::remove_file(failure_path(cache_root, key));
}

pub fn recorded_failure(cache_root: &Path, key: &str) -> Option<FailureRecord> {
    let text = std::fs::read_to_string(failure_path(cache_root, key)).ok()?;
    serde_json::from_str(&text).ok()
}

/// The last `n` lines of a file, for failure reports (empty when unreadable).
pub fn tail(path: &Path, n: usize) -> String {
    let Ok(text) = std::fs::read(path) else {
        return String::new();
    };
    let text = String::from_utf8_lossy(&text);
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}
