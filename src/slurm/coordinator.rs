//! The coordinator of a SLURM run: submits the units the cache lacks as job arrays with
//! dependencies, follows them with one `squeue` call per poll for the whole run, and decides every
//! outcome from the cache.
//!
//! How each thing SLURM can do is read (the traps are measured in `../shared/notes/
//! slurm-single-node.md` and recorded in the README):
//! - a task that left the queue: its committed entry makes it `ran`; without one it failed — also
//!   when SLURM says `COMPLETED`, and when SLURM has forgotten it (purged after `MinJobAge`). An
//!   unknown state is never a success (Snakemake's SLURM plugin reports `UNKNOWN` as success).
//! - `PENDING` for a reason that cannot resolve (`PartitionConfig`, `BadConstraints`,
//!   `InvalidAccount`, …): cancelled and reported, never waited on forever.
//! - `DependencyNeverSatisfied`: by default SLURM leaves such a job pending forever. The descendants
//!   of a failed unit are cancelled as soon as the failure is decided; a task blocked only because
//!   its array waited on a whole upstream array is cancelled and resubmitted alone.
//! - `CANCELLED` that quakeline did not ask for: reported as cancelled from outside, not retried.
//! - `sbatch` failing ambiguously (a timeout after the job was accepted): the job is looked up by
//!   name before anything is submitted again.
//! - `squeue` failing (controller restarting): nothing is decided; the next poll asks again.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::cli::{JobRef, QueueRow, Scheduler};
use super::{JOB_FILE_VERSION, JobFile, Origin, PREFIX, Site, Task};
use crate::cache::{Cache, Lookup};
use crate::exec::{Executor, Member, Outcome, Report, RunOptions, Unit, reports, units};
use crate::plan::State;
use crate::stdout::outln;

/// Pending reasons that no amount of waiting resolves.
const FATAL_REASONS: [&str; 12] = [
    "PartitionConfig",
    "BadConstraints",
    "InvalidAccount",
    "InvalidQOS",
    "PartitionNodeLimit",
    "PartitionTimeLimit",
    "AccountNotAllowed",
    "QOSNotAllowed",
    "PartitionDown",
    "PartitionInactive",
    "ReqNodeNotAvail, UnavailableNodes",
    "JobHeldAdmin",
];

/// States after which a task runs no more.
const TERMINAL: [&str; 11] = [
    "COMPLETED",
    "FAILED",
    "CANCELLED",
    "TIMEOUT",
    "OUT_OF_MEMORY",
    "NODE_FAIL",
    "BOOT_FAIL",
    "DEADLINE",
    "PREEMPTED",
    "REVOKED",
    "SPECIAL_EXIT",
];

fn terminal(state: &str) -> bool {
    TERMINAL.iter().any(|t| state.starts_with(t))
}

/// The SLURM executor.
pub struct Slurm<'a> {
    pub scheduler: &'a dyn Scheduler,
    pub site: Site,
    /// What workers open (pipeline, `--set`, sweep, cache), as absolute paths.
    pub origin: Origin,
    /// The quakeline binary the jobs run (on the shared file system).
    pub exe: PathBuf,
    /// Resubmissions of a failed unit (`--retries`).
    pub retries: u32,
    /// Submit and return (`--detach`).
    pub detach: bool,
}

enum UnitState {
    Done(Outcome),
    Waiting {
        attempt: u32,
    },
    InFlight {
        job: JobRef,
        name: String,
        since: Instant,
        attempt: u32,
    },
}

impl Executor for Slurm<'_> {
    fn run(&self, members: &[Member], cache: &Cache, opts: &RunOptions) -> Vec<Report> {
        let units = units(members);
        let mut run = Run {
            ex: self,
            members,
            cache,
            opts,
            state: Vec::new(),
            downstream: vec![Vec::new(); units.len()],
            started: Instant::now(),
            units: &units,
            lines: crate::exec::StatusLines::new(&units, members),
            squeue_failures: 0,
            unreachable_since: None,
            pending_cancel: Vec::new(),
            task_ids: vec![0; units.len()],
        };
        for (k, u) in units.iter().enumerate() {
            for &up in &u.upstream {
                run.downstream[up].push(k);
            }
        }
        run.drive();
        let outcomes: Vec<Outcome> = run
            .state
            .into_iter()
            .map(|s| match s {
                UnitState::Done(o) => o,
                _ => Outcome::Skipped {
                    because: "not decided".into(),
                },
            })
            .collect();
        reports(members, &units, &outcomes)
    }
}

struct Run<'r> {
    ex: &'r Slurm<'r>,
    members: &'r [Member<'r>],
    cache: &'r Cache,
    opts: &'r RunOptions,
    units: &'r [Unit],
    state: Vec<UnitState>,
    downstream: Vec<Vec<usize>>,
    started: Instant,
    lines: crate::exec::StatusLines,
    squeue_failures: u32,
    /// Since when `squeue` has failed without a success in between.
    unreachable_since: Option<Instant>,
    /// Tasks to `scancel` after this poll.
    pending_cancel: Vec<JobRef>,
    /// Per unit: its task id in the array it was last submitted in.
    task_ids: Vec<u32>,
}

impl Run<'_> {
    fn drive(&mut self) {
        if let Err(e) = self.cache.prepare() {
            return self.fail_all(format!("{e}"));
        }
        let root = self.cache.root().to_path_buf();
        for sub in ["jobs", "logs"] {
            if let Err(e) = std::fs::create_dir_all(super::dir(&root).join(sub)) {
                return self.fail_all(format!(
                    "cannot create {}: {e}",
                    super::dir(&root).join(sub).display()
                ));
            }
        }
        for (k, u) in self.units.iter().enumerate() {
            let st = match &self.members[u.member].plan.stages[u.stage].state {
                State::Cached => {
                    u.restore_results(self.members, self.opts, self.cache);
                    let o = Outcome::Cached(Duration::ZERO);
                    self.report(k, &o, "");
                    UnitState::Done(o)
                }
                State::Invalid(reason) => {
                    eprintln!(
                        "warning: cache entry of stage `{}` failed verification ({reason}); recomputing",
                        u.label
                    );
                    UnitState::Waiting { attempt: 0 }
                }
                State::Pending => UnitState::Waiting { attempt: 0 },
            };
            self.state.push(st);
        }
        if !self.any_waiting() {
            return;
        }
        if let Err(e) = self.adopt() {
            return self.fail_all(format!(
                "cannot ask SLURM which jobs are already queued ({e}); nothing was submitted, so \
                 that no unit runs twice"
            ));
        }
        loop {
            self.submit_ready();
            if self.ex.detach {
                self.detach();
                return;
            }
            if !self.any_in_flight() && !self.any_waiting() {
                return;
            }
            std::thread::sleep(self.ex.site.poll_interval);
            self.poll();
        }
    }

    fn any_waiting(&self) -> bool {
        self.state
            .iter()
            .any(|s| matches!(s, UnitState::Waiting { .. }))
    }
    fn any_in_flight(&self) -> bool {
        self.state
            .iter()
            .any(|s| matches!(s, UnitState::InFlight { .. }))
    }
    fn in_flight(&self) -> usize {
        self.state
            .iter()
            .filter(|s| matches!(s, UnitState::InFlight { .. }))
            .count()
    }

    /// Units of this run that a previous coordinator submitted and that are still queued or
    /// running: found by job name (its job file names each task's key), followed, not resubmitted.
    fn adopt(&mut self) -> Result<(), String> {
        let rows = self.ex.scheduler.squeue_live()?;
        let root = self.cache.root().to_path_buf();
        let mut files: HashMap<String, Option<JobFile>> = HashMap::new();
        let mut live: HashMap<String, (JobRef, String)> = HashMap::new();
        for row in rows.iter().filter(|r| r.name.starts_with(PREFIX)) {
            if terminal(&row.state) {
                continue;
            }
            let file = files
                .entry(row.name.clone())
                .or_insert_with(|| JobFile::read(&super::job_file_path(&root, &row.name)).ok());
            if let Some(task) = file
                .as_ref()
                .filter(|f| f.origin.cache == self.ex.origin.cache)
                .and_then(|f| f.tasks.get(&row.job.task))
            {
                live.insert(task.key.clone(), (row.job, row.name.clone()));
            }
        }
        for k in 0..self.units.len() {
            // A job of an earlier run that ended between planning and the query above has
            // committed its entry already (a worker commits before it exits): no race is left
            // between "not queued any more" and "in the cache".
            if let UnitState::Waiting { .. } = self.state[k]
                && let Lookup::Hit(_) = self.cache.lookup(self.units[k].key(self.members))
            {
                self.units[k].restore_results(self.members, self.opts, self.cache);
                let o = Outcome::Cached(Duration::ZERO);
                self.report(k, &o, "");
                self.state[k] = UnitState::Done(o);
                continue;
            }
            if let UnitState::Waiting { attempt } = self.state[k]
                && let Some((job, name)) = live.get(self.units[k].key(self.members))
            {
                self.note(k, &format!("adopted  job {job} (queued by an earlier run)"));
                self.state[k] = UnitState::InFlight {
                    job: *job,
                    name: name.clone(),
                    since: Instant::now(),
                    attempt,
                };
            }
        }
        Ok(())
    }

    /// Submits every waiting unit whose upstream units are all submitted or done, one array per
    /// stage, while fewer than `max_jobs` tasks are in flight.
    fn submit_ready(&mut self) {
        loop {
            let mut ready: Vec<usize> = Vec::new();
            for k in 0..self.units.len() {
                if !matches!(self.state[k], UnitState::Waiting { .. }) {
                    continue;
                }
                if let Some(bad) = self.failed_upstream(k) {
                    self.skip_after(k, bad);
                    continue;
                }
                if self.units[k]
                    .upstream
                    .iter()
                    .all(|&up| !matches!(self.state[up], UnitState::Waiting { .. }))
                {
                    ready.push(k);
                }
            }
            if ready.is_empty() {
                return;
            }
            // One array per stage id, in the order the stages first appear.
            let mut groups: Vec<(String, Vec<usize>)> = Vec::new();
            for k in ready {
                let id = self.stage_id(k).to_string();
                match groups.iter_mut().find(|(g, _)| *g == id) {
                    Some((_, v)) => v.push(k),
                    None => groups.push((id, vec![k])),
                }
            }
            let mut submitted_any = false;
            for (id, group) in groups {
                let room = self.ex.site.max_jobs.saturating_sub(self.in_flight());
                if room == 0 {
                    return;
                }
                let chunk: Vec<usize> = group
                    .into_iter()
                    .take(room.min(self.ex.site.max_array_size))
                    .collect();
                self.submit(&id, &chunk);
                submitted_any = true;
            }
            if !submitted_any {
                return;
            }
        }
    }

    fn stage_id(&self, k: usize) -> &str {
        let u = &self.units[k];
        &self.members[u.member].pipeline.stages[u.stage].id
    }

    /// The array task id of a submitted unit.
    fn task_id(&self, k: usize) -> u32 {
        self.task_ids[k]
    }

    fn submit(&mut self, stage_id: &str, chunk: &[usize]) {
        // Task ids are the units' first members (sweep points), so the arrays of two stages line
        // up task by task and `aftercorr` can link them; past the cluster's MaxArraySize
        // (`max_array_size`), positions in the chunk.
        let by_member = chunk
            .iter()
            .all(|&k| self.units[k].member < self.ex.site.max_array_size);
        for (i, &k) in chunk.iter().enumerate() {
            self.task_ids[k] = if by_member {
                self.units[k].member as u32
            } else {
                i as u32
            };
        }
        let root = self.cache.root().to_path_buf();
        let keys: Vec<&str> = chunk
            .iter()
            .map(|&k| self.units[k].key(self.members))
            .collect();
        let name = super::job_name(&self.ex.origin.cache, stage_id, &keys);
        let mut tasks = BTreeMap::new();
        for &k in chunk {
            let u = &self.units[k];
            tasks.insert(
                self.task_id(k),
                Task {
                    stage: stage_id.to_string(),
                    member: u.member,
                    key: u.key(self.members).to_string(),
                    results: absolute(&u.results_dir(self.members, self.opts, u.member)),
                    label: u.label.clone(),
                },
            );
        }
        let file = JobFile {
            version: JOB_FILE_VERSION,
            origin: self.ex.origin.clone(),
            tasks,
        };
        let job_path = super::job_file_path(&root, &name);
        let script_path = job_path.with_extension("sh");
        let written = write_atomic(
            &job_path,
            serde_json::to_string_pretty(&file).unwrap_or_default().as_bytes(),
        )
        .and_then(|()| {
            write_atomic(
                &script_path,
                format!(
                    "#!/bin/sh\n# quakeline job {name}: one cache entry per array task\nexec {} worker {}\n",
                    shell_quote(&self.ex.exe.display().to_string()),
                    shell_quote(&job_path.display().to_string())
                )
                .as_bytes(),
            )
        });
        if let Err(e) = written {
            for &k in chunk {
                self.fail(
                    k,
                    format!("cannot write the job file {}: {e}", job_path.display()),
                );
            }
            return;
        }

        let mut flags = vec![
            format!("--job-name={name}"),
            format!(
                "--array={}",
                chunk
                    .iter()
                    .map(|&k| self.task_id(k).to_string())
                    .collect::<Vec<_>>()
                    .join(",")
            ),
            format!(
                "--output={}",
                super::dir(&root)
                    .join("logs")
                    .join(format!("{name}.%A_%a.log"))
                    .display()
            ),
            "--export=ALL".into(),
        ];
        if let Some(dep) = self.dependency(chunk) {
            flags.push(format!("--dependency={dep}"));
        }
        let u = &self.units[chunk[0]];
        flags.extend(
            self.members[u.member].pipeline.stages[u.stage]
                .resources
                .sbatch_flags(),
        );
        flags.extend(self.ex.site.sbatch_flags());

        // A token unique to this submission, as the job's comment: after an ambiguous failure
        // (a timeout after SLURM accepted the job) the job is found by name and token, in any
        // state, never confused with an earlier job of the same name.
        let token = format!(
            "ql:{}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos())
        );
        flags.push(format!("--comment={token}"));
        let mut last_error = String::new();
        for attempt in 0..4u32 {
            if attempt > 0 {
                std::thread::sleep(Duration::from_secs(1 << (attempt - 1)));
                if let Ok(rows) = self.ex.scheduler.squeue(std::slice::from_ref(&name))
                    && let Some(array) = rows
                        .iter()
                        .filter(|r| r.comment == token)
                        .map(|r| r.job.array)
                        .max()
                {
                    self.mark_submitted(chunk, array, &name, &flags);
                    return;
                }
            }
            match self.ex.scheduler.sbatch(&flags, &script_path) {
                Ok(array) => {
                    self.mark_submitted(chunk, array, &name, &flags);
                    return;
                }
                Err(e) => {
                    eprintln!("warning: sbatch failed ({e}); checking whether SLURM took the job");
                    last_error = e;
                }
            }
        }
        for &k in chunk {
            self.fail(k, format!("could not submit: {last_error}"));
        }
    }

    fn mark_submitted(&mut self, chunk: &[usize], array: u64, name: &str, flags: &[String]) {
        if !self.opts.quiet {
            let deps = flags
                .iter()
                .find_map(|f| f.strip_prefix("--dependency="))
                .map(|d| format!(" after {d}"))
                .unwrap_or_default();
            outln!(
                "submitted {} as job {array} ({} task{}){deps}",
                self.stage_id(chunk[0]),
                chunk.len(),
                if chunk.len() == 1 { "" } else { "s" }
            );
        }
        for &k in chunk {
            let attempt = match self.state[k] {
                UnitState::Waiting { attempt } => attempt,
                _ => 0,
            };
            self.state[k] = UnitState::InFlight {
                job: JobRef {
                    array,
                    task: self.task_id(k),
                },
                name: name.to_string(),
                since: Instant::now(),
                attempt,
            };
        }
    }

    /// `afterok:<array>_<task>:…` on every upstream task still in flight, or `aftercorr:<array>`
    /// when each unit of the chunk reads exactly the task of that array with its own task id.
    /// Finished upstream units are not named: the cache already holds them, and a dependency on a
    /// purged job id would count as satisfied anyway.
    fn dependency(&self, chunk: &[usize]) -> Option<String> {
        let mut per_array: BTreeMap<u64, Vec<(usize, JobRef)>> = BTreeMap::new();
        for &k in chunk {
            for &up in &self.units[k].upstream {
                if let UnitState::InFlight { job, .. } = self.state[up] {
                    per_array.entry(job.array).or_default().push((k, job));
                }
            }
        }
        let mut parts = Vec::new();
        for (array, deps) in per_array {
            let corr = chunk.iter().all(|&k| {
                let mine: Vec<&JobRef> = deps.iter().filter(|d| d.0 == k).map(|d| &d.1).collect();
                mine.len() == 1 && mine[0].task == self.task_id(k)
            });
            if corr {
                parts.push(format!("aftercorr:{array}"));
            } else {
                let mut tasks: Vec<JobRef> = deps.iter().map(|d| d.1).collect();
                tasks.sort();
                tasks.dedup();
                parts.push(format!(
                    "afterok:{}",
                    tasks
                        .iter()
                        .map(|t| t.to_string())
                        .collect::<Vec<_>>()
                        .join(":")
                ));
            }
        }
        (!parts.is_empty()).then(|| parts.join(","))
    }

    fn poll(&mut self) {
        let mut names: Vec<String> = self
            .state
            .iter()
            .filter_map(|s| match s {
                UnitState::InFlight { name, .. } => Some(name.clone()),
                _ => None,
            })
            .collect();
        names.sort();
        names.dedup();
        let rows = match self.ex.scheduler.squeue(&names) {
            Ok(rows) => {
                self.squeue_failures = 0;
                self.unreachable_since = None;
                rows
            }
            Err(e) => {
                self.squeue_failures += 1;
                let since = *self.unreachable_since.get_or_insert_with(Instant::now);
                if since.elapsed() >= self.ex.site.give_up_after {
                    // Nothing is decided from silence: the jobs may still run and commit, and a
                    // later run adopts them or finds their entries.
                    let error = format!(
                        "SLURM did not answer for {} s (last: {e}); the job may still run: run \
                         again to adopt it, or `quakeline status` to see it",
                        since.elapsed().as_secs()
                    );
                    for k in 0..self.units.len() {
                        let o = match self.state[k] {
                            UnitState::InFlight { .. } => Outcome::Failed {
                                after: self.elapsed(k),
                                error: error.clone(),
                            },
                            UnitState::Waiting { .. } => Outcome::Skipped {
                                because: "SLURM did not answer".into(),
                            },
                            UnitState::Done(_) => continue,
                        };
                        // Not `fail`: nothing is cancelled, descendants are left to their jobs.
                        let job = self.job_label(k);
                        self.report(k, &o, &job);
                        self.state[k] = UnitState::Done(o);
                    }
                    return;
                }
                if self.squeue_failures == 1 || self.squeue_failures.is_multiple_of(10) {
                    eprintln!("warning: squeue failed ({e}); asking again in the next poll");
                }
                return;
            }
        };
        let by_job: HashMap<JobRef, &QueueRow> = rows.iter().map(|r| (r.job, r)).collect();
        for k in 0..self.units.len() {
            let UnitState::InFlight { job, .. } = self.state[k] else {
                continue;
            };
            match by_job.get(&job) {
                Some(row) if row.state == "PENDING" => {
                    if row.reason == "DependencyNeverSatisfied" {
                        self.unblock(k, job);
                    } else if FATAL_REASONS.iter().any(|r| row.reason.starts_with(r)) {
                        self.fail(
                            k,
                            format!(
                                "job {job} cannot be scheduled: SLURM says `{}` (a request the \
                                 partition cannot satisfy: check the stage's `resources` and the \
                                 site profile); cancelled",
                                row.reason
                            ),
                        );
                    }
                }
                Some(row) if terminal(&row.state) => {
                    let row = (*row).clone();
                    self.ended(k, Some(&row));
                }
                Some(_) => {}
                None => self.ended(k, None),
            }
        }
        let to_cancel = self.take_cancels();
        if !to_cancel.is_empty()
            && let Err(e) = self.ex.scheduler.scancel(&to_cancel)
        {
            eprintln!("warning: scancel failed: {e}");
        }
    }

    /// A task pending with `DependencyNeverSatisfied`: cancelled; skipped when an upstream unit
    /// failed, else resubmitted (its array waited on an upstream task it does not read).
    fn unblock(&mut self, k: usize, job: JobRef) {
        self.pending_cancel.push(job);
        let attempt = match self.state[k] {
            UnitState::InFlight { attempt, .. } => attempt,
            _ => 0,
        };
        self.state[k] = UnitState::Waiting { attempt };
        if let Some(bad) = self.failed_upstream(k) {
            self.skip_after(k, bad);
        } else {
            self.note(
                k,
                &format!("resubmit job {job} waited on a failed task it does not read"),
            );
        }
    }

    /// A task that left the queue (or that SLURM forgot): the cache decides.
    fn ended(&mut self, k: usize, row: Option<&QueueRow>) {
        let UnitState::InFlight {
            job,
            ref name,
            attempt,
            ..
        } = self.state[k]
        else {
            return;
        };
        let name = name.clone();
        let after = self.elapsed(k);
        if let Lookup::Hit(_) = self.cache.lookup(self.units[k].key(self.members)) {
            super::clear_failure(self.cache.root(), self.units[k].key(self.members));
            self.units[k].restore_results(self.members, self.opts, self.cache);
            let o = Outcome::Ran(after);
            self.report(k, &o, &job.to_string());
            self.state[k] = UnitState::Done(o);
            return;
        }
        // The task is over: nothing of it is left to cancel.
        self.state[k] = UnitState::Waiting { attempt };
        let ended = self.ex.scheduler.ended(job).ok().flatten();
        let log = super::log_path(self.cache.root(), &name, job);
        let tail = super::tail(&log, 15);
        let state = row
            .map(|r| r.state.clone())
            .or_else(|| ended.as_ref().map(|e| e.state.clone()));
        let cancelled = state.as_deref().is_some_and(|s| s.starts_with("CANCELLED"));
        let what = match (&state, &ended) {
            (_, Some(e)) if cancelled => format!(
                "job {job} was cancelled outside quakeline (scancel?) {}",
                if e.reason.is_empty() || e.reason == "None" {
                    String::new()
                } else {
                    format!("({})", e.reason)
                }
            ),
            (Some(_), _) if cancelled => {
                format!("job {job} was cancelled outside quakeline (scancel?)")
            }
            (_, Some(e)) if e.state == "COMPLETED" => format!(
                "job {job} ended COMPLETED but committed no cache entry (was the cache moved, or \
                 is it not on a file system the node shares?)"
            ),
            (_, Some(e)) => format!("job {job} ended {}", e.describe()),
            (Some(s), None) => format!("job {job} ended {s}"),
            (None, None) => format!(
                "job {job} left the queue (purged after MinJobAge?) without committing its cache \
                 entry"
            ),
        };
        let error = if tail.is_empty() {
            format!("{what}; no log at {}", log.display())
        } else {
            format!(
                "{what}; last lines of {}:\n{}",
                log.display(),
                indent(&tail)
            )
        };
        if !cancelled && attempt < self.ex.retries {
            eprintln!(
                "warning: {}: {what}; retrying ({} of {})",
                self.units[k].label,
                attempt + 1,
                self.ex.retries
            );
            self.state[k] = UnitState::Waiting {
                attempt: attempt + 1,
            };
            return;
        }
        self.fail_after(k, error, after, &job.to_string());
    }

    /// Marks a unit failed and cancels its descendants (SLURM would keep an afterok child pending
    /// forever); with `--fail-fast`, everything still queued.
    fn fail(&mut self, k: usize, error: String) {
        let job = self.job_label(k);
        self.fail_after(k, error, self.elapsed(k), &job);
    }

    fn fail_after(&mut self, k: usize, error: String, after: Duration, job: &str) {
        super::record_failure(
            self.cache.root(),
            self.units[k].key(self.members),
            job,
            &error,
        );
        let o = Outcome::Failed { after, error };
        if matches!(self.state[k], UnitState::InFlight { .. }) {
            self.finish(k, o);
        } else {
            self.report(k, &o, job);
            self.state[k] = UnitState::Done(o);
        }
        let mut stack = self.downstream[k].clone();
        while let Some(d) = stack.pop() {
            if matches!(self.state[d], UnitState::Done(_)) {
                continue;
            }
            self.skip_after(d, k);
            stack.extend(self.downstream[d].iter().copied());
        }
        if self.opts.fail_fast {
            for d in 0..self.units.len() {
                if !matches!(self.state[d], UnitState::Done(_)) {
                    self.finish(
                        d,
                        Outcome::Skipped {
                            because: "not started (--fail-fast)".into(),
                        },
                    );
                }
            }
        }
    }

    /// Sets a final outcome; a unit still in flight is queued for `scancel`.
    fn finish(&mut self, k: usize, o: Outcome) {
        if let UnitState::InFlight { job, .. } = self.state[k] {
            self.pending_cancel.push(job);
        }
        let job = self.job_label(k);
        self.report(k, &o, &job);
        self.state[k] = UnitState::Done(o);
    }

    /// The job a unit is in (`12_3`), or empty.
    fn job_label(&self, k: usize) -> String {
        match self.state[k] {
            UnitState::InFlight { job, .. } => job.to_string(),
            _ => String::new(),
        }
    }

    /// An upstream unit of `k` that failed or was skipped.
    fn failed_upstream(&self, k: usize) -> Option<usize> {
        self.units[k].upstream.iter().copied().find(|&up| {
            matches!(
                self.state[up],
                UnitState::Done(Outcome::Failed { .. } | Outcome::Skipped { .. })
            )
        })
    }

    fn skip_after(&mut self, k: usize, bad: usize) {
        let because = format!("upstream `{}` did not complete", self.units[bad].label);
        self.finish(k, Outcome::Skipped { because });
    }

    fn take_cancels(&mut self) -> Vec<JobRef> {
        std::mem::take(&mut self.pending_cancel)
    }

    fn detach(&mut self) {
        let cancels = self.take_cancels();
        if !cancels.is_empty() {
            let _ = self.ex.scheduler.scancel(&cancels);
        }
        for k in 0..self.units.len() {
            match self.state[k] {
                UnitState::InFlight { job, .. } => {
                    let o = Outcome::Submitted {
                        job: job.to_string(),
                    };
                    self.report(k, &o, &job.to_string());
                    self.state[k] = UnitState::Done(o);
                }
                UnitState::Waiting { .. } => self.finish(
                    k,
                    Outcome::Skipped {
                        because: format!(
                            "not submitted: {} tasks in flight is the limit (max_jobs); run again \
                             to submit the rest",
                            self.ex.site.max_jobs
                        ),
                    },
                ),
                UnitState::Done(_) => {}
            }
        }
    }

    /// Every unit not yet decided fails with `error` (also before any state was set up).
    fn fail_all(&mut self, error: String) {
        self.state
            .resize_with(self.units.len(), || UnitState::Waiting { attempt: 0 });
        for s in &mut self.state {
            if !matches!(s, UnitState::Done(_)) {
                *s = UnitState::Done(Outcome::Failed {
                    after: Duration::ZERO,
                    error: error.clone(),
                });
            }
        }
        eprintln!("error: {error}");
    }

    fn elapsed(&self, k: usize) -> Duration {
        match self.state[k] {
            UnitState::InFlight { since, .. } => since.elapsed(),
            _ => self.started.elapsed(),
        }
    }

    fn note(&self, k: usize, what: &str) {
        if !self.opts.quiet {
            outln!("{what:<9}{}", self.units[k].label);
        }
    }

    fn report(&self, k: usize, o: &Outcome, job: &str) {
        let u = &self.units[k];
        let kind = u.kind(self.members);
        let job = (!job.is_empty()).then_some(job);
        let Some(line) = self.lines.line(&u.label, kind, u.key(self.members), o, job) else {
            return;
        };
        if !self.opts.quiet {
            outln!("{line}");
        }
        if let Some(error) = crate::exec::StatusLines::error(&u.label, kind, o) {
            eprintln!("{error}");
        }
    }
}

fn indent(text: &str) -> String {
    text.lines()
        .map(|l| format!("    {l}"))
        .collect::<Vec<_>>()
        .join("\n")
}

fn absolute(p: &Path) -> PathBuf {
    std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf())
}

/// `'…'` with embedded quotes escaped, for `/bin/sh`.
fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// Writes through a temporary file and a rename, so a worker never reads half a job file.
fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, path)
}

/// What `quakeline status` says of one unit.
pub struct UnitStatus {
    pub label: String,
    pub kind: &'static str,
    pub key: String,
    /// `cached`, `queued`, `running`, `failed`, `not started`.
    pub state: &'static str,
    /// Job id and SLURM's words (`job 12_3, Dependency`).
    pub detail: String,
}

/// Each unit's state without submitting anything: the cache first, then the jobs SLURM still
/// knows under quakeline's job names (their job files say which key each task computes).
pub fn status(
    members: &[Member],
    cache: &Cache,
    scheduler: &dyn Scheduler,
) -> Result<Vec<UnitStatus>, String> {
    let units = units(members);
    let root = cache.root().to_path_buf();
    // Every job file under <cache>/slurm/jobs names the keys its tasks compute.
    let mut jobs_of_key: HashMap<String, Vec<(String, u32)>> = HashMap::new();
    if let Ok(dir) = std::fs::read_dir(super::dir(&root).join("jobs")) {
        for e in dir.flatten() {
            let path = e.path();
            if path.extension().is_none_or(|x| x != "json") {
                continue;
            }
            let Ok(f) = JobFile::read(&path) else {
                continue;
            };
            let name = path
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            for (task, t) in f.tasks {
                jobs_of_key
                    .entry(t.key)
                    .or_default()
                    .push((name.clone(), task));
            }
        }
    }
    let mut names: Vec<String> = units
        .iter()
        .flat_map(|u| jobs_of_key.get(u.key(members)).into_iter().flatten())
        .map(|(n, _)| n.clone())
        .collect();
    names.sort();
    names.dedup();
    let rows = scheduler.squeue(&names)?;
    let mut out = Vec::new();
    for u in &units {
        let key = u.key(members);
        let cached = matches!(cache.lookup(key), Lookup::Hit(_));
        // The newest task SLURM knows for this key.
        let latest = jobs_of_key
            .get(key)
            .into_iter()
            .flatten()
            .flat_map(|(name, task)| {
                rows.iter()
                    .filter(move |r| &r.name == name && r.job.task == *task)
            })
            .max_by_key(|r| r.job.array);
        let (state, detail) = match (cached, latest) {
            (true, _) => ("cached", String::new()),
            (false, Some(r)) if r.state == "PENDING" => {
                ("queued", format!("job {}, {}", r.job, r.reason))
            }
            (false, Some(r)) if terminal(&r.state) => {
                ("failed", format!("job {}, {}", r.job, r.state))
            }
            (false, Some(r)) => ("running", format!("job {}, {}", r.job, r.state)),
            // SLURM forgot the job (MinJobAge): the coordinator's record of the failure.
            (false, None) => match super::recorded_failure(&root, key) {
                Some(f) => ("failed", format!("job {}, {}", f.job, f.summary)),
                None => ("not started", String::new()),
            },
        };
        out.push(UnitStatus {
            label: u.label.clone(),
            kind: u.kind(members),
            key: key.to_string(),
            state,
            detail,
        });
    }
    Ok(out)
}
