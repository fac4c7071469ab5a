//! The inside of one SLURM array task: `quakeline worker JOBFILE` computes exactly the cache entry
//! its task names, and exits 0 when that entry already exists (a rerun, or a twin that won the
//! key's lock), so a job that runs twice does no harm.

use std::io::Write;
use std::path::Path;

use indicatif::ProgressBar;

use super::{JobFile, Task};
use crate::cache::{Cache, Lookup};
use crate::exec::{Done, run_stage};
use crate::pipeline::{Override, Pipeline};
use crate::plan::Plan;
use crate::stage::Stage;
use crate::study::{Selection, Study};

/// Runs task `task` of `job_file`; the error says what failed (it ends up in the job's log).
pub fn run(job_file: &Path, task: u32, registry: &[&'static dyn Stage]) -> anyhow::Result<Done> {
    let job = JobFile::read(job_file)?;
    let t: &Task = job.tasks.get(&task).ok_or_else(|| {
        anyhow::anyhow!(
            "job file {} has no task {task} (tasks: {:?})",
            job_file.display(),
            job.tasks.keys().collect::<Vec<_>>()
        )
    })?;
    let o = &job.origin;
    record_start(&o.cache, t);
    println!(
        "quakeline worker: {} (key {}) on {} from {}",
        t.label,
        &t.key[..16.min(t.key.len())],
        crate::machine::describe(),
        o.pipeline.display()
    );
    let cache = Cache::new(&o.cache);
    // Creates the layout if this node sees an empty directory, proves it is writable, and
    // removes temp files of dead writers (safe beside live ones: each holds its lock).
    cache.prepare()?;
    // The common case of a rerun: nothing to open or plan.
    if let Lookup::Hit(_) = cache.lookup(&t.key) {
        println!("already in the cache");
        return Ok(Done::FoundCached);
    }
    // The device the coordinator planned with: the key of a model stage depends on it.
    if let Some(d) = &o.device {
        let c: crate::device::Choice = d.parse().map_err(|e: String| anyhow::anyhow!(e))?;
        crate::device::choose(c).map_err(|e| anyhow::anyhow!(e))?;
    }
    let overrides = o
        .set
        .iter()
        .map(|s| Override::parse(s).map_err(|e| anyhow::anyhow!("--set {s}: {e}")))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let select = Selection::from_flags(o.sweep.as_deref(), o.no_sweep);
    // Only this task's member is planned: a worker of a 10^4-point sweep must not hash the
    // inputs of every point.
    let diag = |e: crate::diag::Error| anyhow::anyhow!("{:?}", miette::Report::new(e));
    let base = Pipeline::load(&o.pipeline, registry, &overrides).map_err(diag)?;
    let study = Study::resolve(&base, select, &overrides, registry).map_err(diag)?;
    let pipeline = match &study {
        None if t.member == 0 => &base,
        None => anyhow::bail!(
            "the job was submitted for sweep point {}, but the pipeline has no sweep now",
            t.member
        ),
        Some(s) => s.pipelines.get(t.member).ok_or_else(|| {
            anyhow::anyhow!(
                "the sweep now has {} point(s), the job was submitted for point {}",
                s.pipelines.len(),
                t.member
            )
        })?,
    };
    let plan = Plan::make(pipeline, &cache).map_err(diag)?;
    let i = pipeline
        .index_of(&t.stage)
        .ok_or_else(|| anyhow::anyhow!("the pipeline has no stage `{}` any more", t.stage))?;
    let key = &plan.stages[i].key;
    anyhow::ensure!(
        key == &t.key,
        "stage `{}` now has key {}, the job was submitted for {}: the pipeline file or its inputs \
         changed after submission; run the coordinator again",
        t.label,
        &key[..16],
        &t.key[..16.min(t.key.len())]
    );
    let done = run_stage(
        pipeline,
        &plan,
        i,
        &cache,
        &ProgressBar::hidden(),
        t.results.clone(),
    )?;
    match done {
        Done::Ran => println!("committed {}", t.key),
        Done::FoundCached => println!("another process committed {} first", t.key),
    }
    Ok(done)
}

/// Appends `time job key label` to `<cache>/slurm/starts.log` (one short `O_APPEND` write, so
/// concurrent workers do not interleave within a line). Best effort: it is a record for people.
fn record_start(cache: &Path, t: &Task) {
    let job = match (
        std::env::var("SLURM_ARRAY_JOB_ID"),
        std::env::var("SLURM_ARRAY_TASK_ID"),
    ) {
        (Ok(a), Ok(k)) => format!("{a}_{k}"),
        _ => std::env::var("SLURM_JOB_ID").unwrap_or_else(|_| "-".into()),
    };
    let line = format!(
        "{} {job} {} {}\n",
        crate::time::now_rfc3339(),
        t.key,
        t.label
    );
    let path = super::dir(cache).join("starts.log");
    if let Ok(mut f) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
    {
        let _ = f.write_all(line.as_bytes());
    }
}
