//! Running a plan: one dispatcher owns the run state, workers compute stages, bars show progress.
//!
//! The dispatcher (this thread) starts every pending stage whose inputs are available, at most
//! `jobs` at a time, and is the only code that prints summary lines. A failing stage marks its
//! descendants `skipped`; independent branches keep going and the report says what failed. Each
//! worker takes the per-key lock, re-checks the cache (another run may have finished the entry),
//! runs the stage into a temp HDF5 file, writes provenance attributes and commits.

use crate::stdout::outln;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::cache::{Cache, Lookup};
use crate::h5;
use crate::pipeline::Pipeline;
use crate::plan::{Plan, State};
use crate::stage::{Input, RunCtx};

pub struct RunOptions {
    /// Stages computed at the same time (`-j`).
    pub jobs: usize,
    /// No progress bars and no per-stage lines; failures are still reported.
    pub quiet: bool,
    /// `results/`; a stage's human-facing files go to `<results>/<pipeline>/<stage>/`.
    pub results_root: PathBuf,
    /// Start nothing new after the first failure (stages already running finish).
    pub fail_fast: bool,
}

#[derive(Clone, Debug)]
pub enum Outcome {
    Ran(Duration),
    Cached(Duration),
    Failed {
        after: Duration,
        error: String,
    },
    Skipped {
        because: String,
    },
    /// Handed to a cluster scheduler and not waited for (`--detach`).
    Submitted {
        job: String,
    },
    /// Not needed for the requested target stages.
    NotRequested,
}

pub struct Report {
    /// Indexed like `Pipeline::stages`.
    pub outcomes: Vec<Outcome>,
}

impl Report {
    pub fn failures(&self) -> usize {
        self.outcomes
            .iter()
            .filter(|o| matches!(o, Outcome::Failed { .. } | Outcome::Skipped { .. }))
            .count()
    }
}

/// One resolved pipeline of a run: the pipeline itself for a plain run, or one point of a sweep.
pub struct Member<'a> {
    pub pipeline: &'a Pipeline,
    pub plan: &'a Plan,
    /// Where this member's own stages put their results (`<dir>/<stage>/`); stages whose entry
    /// every member shares use `<results>/<pipeline>/<stage>/` instead.
    pub results: PathBuf,
    /// Short name in progress lines (a sweep point's label); empty for a plain run.
    pub label: String,
    /// Indexed like `Pipeline::stages`: whether the run needs the stage (the targets and what
    /// they read); all `true` for a whole run.
    pub needed: Vec<bool>,
}

/// How a unit of work ended well.
pub enum Done {
    Ran,
    /// The entry already existed (another run committed it while this one waited for the lock).
    FoundCached,
}

/// Where the units of a run are computed. The cache is the ground truth of what finished: an
/// executor reports a unit `Ran` only once its entry is committed, never from anything else.
/// [`Local`] computes units on threads of this process; `crate::slurm::Slurm` submits them as
/// SLURM jobs that run `quakeline worker`.
pub trait Executor: Sync {
    /// Runs what `members` need that the cache lacks; one report per member.
    fn run(&self, members: &[Member], cache: &Cache, opts: &RunOptions) -> Vec<Report>;
}

/// Computes units in this process, at most `-j` at a time, each on a thread of the dispatcher.
pub struct Local;

impl Executor for Local {
    fn run(&self, members: &[Member], cache: &Cache, opts: &RunOptions) -> Vec<Report> {
        run_members(members, cache, opts)
    }
}

/// One cache key to produce, and the (member, stage) pairs that read it.
pub struct Unit {
    /// The first member that reads it (its plan and pipeline describe the unit).
    pub member: usize,
    /// Index into that member's `pipeline.stages`.
    pub stage: usize,
    /// Units whose entries it reads.
    pub upstream: Vec<usize>,
    pub users: Vec<(usize, usize)>,
    /// Every member reads it: its results go to `<results>/<pipeline>/<stage>/`.
    pub shared_by_all: bool,
    /// `stage`, `stage[point]` or `stage[point +N]` in progress lines.
    pub label: String,
}

impl Unit {
    pub fn key<'m>(&self, members: &'m [Member]) -> &'m str {
        &members[self.member].plan.stages[self.stage].key
    }
    pub fn kind(&self, members: &[Member]) -> &'static str {
        members[self.member].pipeline.stages[self.stage]
            .kind
            .info()
            .kind
    }
    /// Where member `m`'s copy of the unit's results goes.
    pub fn results_dir(&self, members: &[Member], opts: &RunOptions, m: usize) -> PathBuf {
        let p = members[m].pipeline;
        let id = &p.stages[self.stage].id;
        if self.shared_by_all {
            opts.results_root.join(&p.name).join(id)
        } else {
            members[m].results.join(id)
        }
    }
    /// Every reader sees the unit's results files: the one that ran wrote them, the others are
    /// restored from the entry.
    pub fn restore_results(&self, members: &[Member], opts: &RunOptions, cache: &Cache) {
        let mut dirs: Vec<PathBuf> = self
            .users
            .iter()
            .map(|&(m, _)| self.results_dir(members, opts, m))
            .collect();
        dirs.sort();
        dirs.dedup();
        for dir in dirs {
            restore_results(&dir, self.key(members), cache);
        }
    }
}

/// One report per member from the outcome of every unit.
pub fn reports(members: &[Member], units: &[Unit], outcomes: &[Outcome]) -> Vec<Report> {
    let mut reports: Vec<Report> = members
        .iter()
        .map(|m| Report {
            outcomes: (0..m.pipeline.stages.len())
                .map(|_| Outcome::NotRequested)
                .collect(),
        })
        .collect();
    for (k, u) in units.iter().enumerate() {
        for &(m, i) in &u.users {
            reports[m].outcomes[i] = outcomes[k].clone();
        }
    }
    reports
}

/// Runs several resolved pipelines together (the points of a sweep): a stage whose key several
/// members share is one unit of work, computed once; independent units run in parallel up to
/// `jobs` on threads of this process. Returns one report per member.
fn run_members(members: &[Member], cache: &Cache, opts: &RunOptions) -> Vec<Report> {
    let units = units(members);
    let multi = if opts.quiet {
        MultiProgress::with_draw_target(ProgressDrawTarget::hidden())
    } else {
        MultiProgress::with_draw_target(ProgressDrawTarget::stderr())
    };
    let kind_of = |u: &Unit| u.kind(members);
    let key_of = |u: &Unit| u.key(members);
    let results_dir = |u: &Unit, m: usize| u.results_dir(members, opts, m);
    let restore_all = |u: &Unit| u.restore_results(members, opts, cache);
    let lines = StatusLines::new(&units, members);
    let say = |u: &Unit, outcome: &Outcome| {
        let (kind, key) = (kind_of(u), key_of(u));
        let Some(line) = lines.line(&u.label, kind, key, outcome, None) else {
            return;
        };
        if !opts.quiet {
            multi.suspend(|| outln!("{line}"));
        }
        if let Some(error) = StatusLines::error(&u.label, kind, outcome) {
            multi.suspend(|| eprintln!("{error}"));
        }
    };

    let n = units.len();
    let mut outcomes: Vec<Option<Outcome>> = (0..n).map(|_| None).collect();
    for (k, u) in units.iter().enumerate() {
        match &members[u.member].plan.stages[u.stage].state {
            State::Cached => {
                restore_all(u);
                let o = Outcome::Cached(Duration::ZERO);
                say(u, &o);
                outcomes[k] = Some(o);
            }
            State::Invalid(reason) => multi.suspend(|| {
                eprintln!(
                    "warning: cache entry of stage `{}` failed verification ({reason}); recomputing",
                    u.label
                )
            }),
            State::Pending => {}
        }
    }

    let jobs = opts.jobs.max(1);
    let mut stopped = false;
    std::thread::scope(|scope| {
        let (tx, rx) = mpsc::channel::<(usize, Instant, Result<Done, String>)>();
        let mut launched = vec![false; n];
        let mut running = 0usize;
        loop {
            let mut changed = true;
            while changed && !stopped {
                changed = false;
                for k in 0..n {
                    if outcomes[k].is_some() || launched[k] {
                        continue;
                    }
                    let u = &units[k];
                    let broken = u.upstream.iter().find(|&&up| {
                        matches!(
                            outcomes[up],
                            Some(Outcome::Failed { .. } | Outcome::Skipped { .. })
                        )
                    });
                    if let Some(&up) = broken {
                        let o = Outcome::Skipped {
                            because: format!("upstream `{}` did not complete", units[up].label),
                        };
                        say(u, &o);
                        outcomes[k] = Some(o);
                        changed = true;
                        continue;
                    }
                    let ready = u.upstream.iter().all(|&up| {
                        matches!(outcomes[up], Some(Outcome::Ran(_) | Outcome::Cached(_)))
                    });
                    if ready && running < jobs {
                        launched[k] = true;
                        running += 1;
                        let bar = multi.add(ProgressBar::new(0));
                        bar.set_style(
                            ProgressStyle::with_template("{prefix:>12.bold} [{bar:30.cyan/blue}] {pos}/{len} {msg} ({elapsed})")
                                .unwrap_or_else(|_| ProgressStyle::default_bar())
                                .progress_chars("=> "),
                        );
                        bar.set_prefix(u.label.clone());
                        let tx = tx.clone();
                        let m = &members[u.member];
                        let dir = results_dir(u, u.member);
                        let stage = u.stage;
                        scope.spawn(move || {
                            let start = Instant::now();
                            let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(
                                || run_stage(m.pipeline, m.plan, stage, cache, &bar, dir),
                            ))
                            .unwrap_or_else(|panic| {
                                let msg = panic
                                    .downcast_ref::<String>()
                                    .cloned()
                                    .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                                    .unwrap_or_default();
                                Err(anyhow::anyhow!(
                                    "internal error (a bug in quakeline, please report it): {msg}"
                                ))
                            })
                            .map_err(|e| format!("{e:#}"));
                            bar.finish_and_clear();
                            let _ = tx.send((k, start, result));
                        });
                    }
                }
            }
            if running == 0 {
                break;
            }
            let Ok((k, start, result)) = rx.recv() else {
                break;
            };
            running -= 1;
            let o = match result {
                Ok(Done::Ran) => Outcome::Ran(start.elapsed()),
                Ok(Done::FoundCached) => Outcome::Cached(start.elapsed()),
                Err(error) => Outcome::Failed {
                    after: start.elapsed(),
                    error,
                },
            };
            if matches!(o, Outcome::Ran(_) | Outcome::Cached(_)) {
                restore_all(&units[k]);
            } else if opts.fail_fast {
                stopped = true;
            }
            say(&units[k], &o);
            outcomes[k] = Some(o);
        }
    });
    let because = if stopped {
        "not started (--fail-fast)"
    } else {
        "not reached"
    };
    let outcomes: Vec<Outcome> = outcomes
        .into_iter()
        .zip(&units)
        .map(|(o, u)| {
            o.unwrap_or_else(|| {
                let o = Outcome::Skipped {
                    because: because.into(),
                };
                say(u, &o);
                o
            })
        })
        .collect();
    reports(members, &units, &outcomes)
}

/// The distinct keys of all members in a dependency order (members in order, each in DAG order):
/// upstream units always come before the units that read them.
pub fn units(members: &[Member]) -> Vec<Unit> {
    let mut units: Vec<Unit> = Vec::new();
    let mut by_key: BTreeMap<&str, usize> = BTreeMap::new();
    for (m, member) in members.iter().enumerate() {
        let p = member.pipeline;
        let mut unit_of = vec![usize::MAX; p.stages.len()];
        for &i in member.plan.dag.order() {
            if !member.needed.get(i).copied().unwrap_or(true) {
                continue;
            }
            let key = member.plan.stages[i].key.as_str();
            let k = match by_key.get(key) {
                Some(&k) => k,
                None => {
                    let upstream = p.stages[i]
                        .inputs
                        .values()
                        .filter_map(|r| p.index_of(&r.stage))
                        .map(|u| unit_of[u])
                        .collect();
                    units.push(Unit {
                        member: m,
                        stage: i,
                        upstream,
                        users: Vec::new(),
                        shared_by_all: false,
                        label: String::new(),
                    });
                    by_key.insert(key, units.len() - 1);
                    units.len() - 1
                }
            };
            units[k].users.push((m, i));
            unit_of[i] = k;
        }
    }
    for u in &mut units {
        let id = &members[u.member].pipeline.stages[u.stage].id;
        // Users are pushed member by member; two identical stages of one member share a key.
        let mut members_of: Vec<usize> = u.users.iter().map(|&(m, _)| m).collect();
        members_of.dedup();
        let ms = members_of.len();
        u.shared_by_all = ms == members.len();
        let point = &members[u.member].label;
        u.label = if u.shared_by_all || point.is_empty() {
            id.clone()
        } else if ms == 1 {
            format!("{id}[{point}]")
        } else {
            format!("{id}[{point} +{}]", ms - 1)
        };
    }
    units
}

/// The one status line per unit that every executor prints (`ran`, `cached`, `failed`,
/// `skipped`, `queued`), in columns: label, kind, time, key, and on a cluster the job.
pub struct StatusLines {
    /// Width of the label column (the longest label of the run).
    pub width: usize,
    /// Width of the kind column.
    pub kind_width: usize,
}

impl StatusLines {
    /// Columns as wide as the longest label and kind of `units`.
    pub fn new(units: &[Unit], members: &[Member]) -> StatusLines {
        StatusLines {
            width: units.iter().map(|u| u.label.len()).max().unwrap_or(0),
            kind_width: units
                .iter()
                .map(|u| u.kind(members).len())
                .max()
                .unwrap_or(0),
        }
    }

    /// The line for `outcome` of unit `label` (`None` for a unit the run did not ask for);
    /// `job` names the scheduler's job where there is one.
    pub fn line(
        &self,
        label: &str,
        kind: &str,
        key: &str,
        outcome: &Outcome,
        job: Option<&str>,
    ) -> Option<String> {
        let (w, kw) = (self.width, self.kind_width);
        let key = &key[..12.min(key.len())];
        let on = job.map_or(String::new(), |j| format!("  job {j}"));
        Some(match outcome {
            Outcome::Ran(d) => format!(
                "ran      {label:w$}  {kind:kw$}  {:>8}  {key}{on}",
                secs(*d)
            ),
            Outcome::Cached(d) => {
                format!("cached   {label:w$}  {kind:kw$}  {:>8}  {key}", secs(*d))
            }
            Outcome::Failed { after, .. } => {
                format!(
                    "failed   {label:w$}  {kind:kw$}  {:>8}  {key}{on}",
                    secs(*after)
                )
            }
            Outcome::Skipped { because } => format!("skipped  {label:w$}  {kind:kw$}  ({because})"),
            Outcome::Submitted { job } => {
                format!("queued   {label:w$}  {kind:kw$}  {key}  job {job}")
            }
            Outcome::NotRequested => return None,
        })
    }

    /// The error line of a failed unit (printed even when quiet).
    pub fn error(label: &str, kind: &str, outcome: &Outcome) -> Option<String> {
        match outcome {
            Outcome::Failed { error, .. } => {
                Some(format!("error: stage `{label}` ({kind}) failed: {error}"))
            }
            _ => None,
        }
    }
}

fn secs(d: Duration) -> String {
    format!("{:.2}s", d.as_secs_f64())
}

/// The hidden file beside a stage's `results/` directory naming the entry its files came from
/// (`results/<pipeline>/.<stage>.entry`): beside, not inside, because a stage's directory can
/// be a dataset other tools glob (`export.seisbench`).
fn results_marker(dir: &std::path::Path) -> PathBuf {
    let name = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    dir.with_file_name(format!(".{name}.entry"))
}

/// Makes `dir` hold the `results/` files of entry `key`: unless its marker
/// ([`results_marker`]) already says it holds them, they are written from the entry's copy, files a previous entry
/// left there that this one lacks are removed, and the marker is updated. Without this, a plain
/// rerun after a `--set` run would report `cached` beside the `--set` run's plots and tables. A
/// failure is a warning (the entry is fine, only the copy for people is off).
fn restore_results(dir: &std::path::Path, key: &str, cache: &Cache) {
    let marker = results_marker(dir);
    let previous = std::fs::read_to_string(&marker).ok();
    if previous.as_deref() == Some(key) {
        return;
    }
    let result = match cache.lookup(key) {
        Lookup::Hit(entry) => entry.open().map_err(anyhow::Error::from).and_then(|f| {
            let names: Vec<String> = f
                .group(crate::stage::RESULTS_GROUP)
                .and_then(|g| g.member_names())
                .unwrap_or_default();
            crate::stage::restore_results(&f, dir)?;
            // Only in a directory quakeline marked: files of the previous entry, never a
            // person's own files in a directory quakeline did not fill.
            if previous.is_some()
                && let Ok(listing) = std::fs::read_dir(dir)
            {
                for e in listing.flatten() {
                    let name = e.file_name().to_string_lossy().into_owned();
                    if !names.contains(&name) && e.path().is_file() {
                        std::fs::remove_file(e.path())?;
                    }
                }
            }
            if dir.is_dir() {
                std::fs::write(&marker, key)?;
            }
            Ok(())
        }),
        _ => Ok(()),
    };
    if let Err(e) = result {
        eprintln!("warning: could not restore {}: {e:#}", dir.display());
    }
}

/// Computes the entry of stage `i` of a planned pipeline into the cache, under the key's lock;
/// `FoundCached` when another process committed it first.
pub fn run_stage(
    p: &Pipeline,
    plan: &Plan,
    i: usize,
    cache: &Cache,
    bar: &ProgressBar,
    results_dir: PathBuf,
) -> anyhow::Result<Done> {
    let s = &p.stages[i];
    let sp = &plan.stages[i];
    bar.set_message("waiting for the cache lock");
    let _lock = cache.lock(&sp.key)?;
    if let Lookup::Hit(_) = cache.lookup(&sp.key) {
        return Ok(Done::FoundCached);
    }
    bar.set_message("");
    let mut inputs = BTreeMap::new();
    for (name, r) in &s.inputs {
        let u = p
            .index_of(&r.stage)
            .ok_or_else(|| anyhow::anyhow!("internal error: no stage {}", r.stage))?;
        let entry = match cache.lookup(&plan.stages[u].key) {
            Lookup::Hit(e) => e,
            Lookup::Missing => anyhow::bail!(
                "the cache entry of upstream stage `{}` disappeared (removed by `gc`?)",
                r.stage
            ),
            Lookup::Invalid(reason) => anyhow::bail!(
                "the cache entry of upstream stage `{}` is invalid: {reason}",
                r.stage
            ),
        };
        let file = entry.open()?;
        let group = file
            .group(r.output.as_deref().unwrap_or("/"))
            .map_err(|e| {
                anyhow::anyhow!(
                    "the entry of upstream stage `{}` has no output `{}{}`: {e}",
                    r.stage,
                    r.stage,
                    r.suffix()
                )
            })?;
        inputs.insert(name.clone(), Input { file, group });
    }
    let pending = cache.begin(&sp.key)?;
    {
        let output = hdf5::File::create(&pending.h5_path)
            .map_err(|e| anyhow::anyhow!("cannot create {}: {e}", pending.h5_path.display()))?;
        let mut ctx = RunCtx {
            stage_id: &s.id,
            params: &s.params,
            seed: s.seed,
            inputs,
            output: &output,
            progress: bar,
            pipeline_dir: &p.dir,
            results_dir,
            content: &sp.content,
            metrics: BTreeMap::new(),
        };
        let started = Instant::now();
        s.kind.run(&mut ctx).map_err(|e| {
            // HDF5 write failures in a stage are cache-write failures (full disk, quota), not bad data.
            if e.chain().any(|c| c.is::<hdf5::Error>()) {
                e.context(format!(
                    "cannot write the entry into the cache at {} (disk full?)",
                    cache.root().display()
                ))
            } else {
                e
            }
        })?;
        let metrics = recorded_metrics(s.kind, ctx.metrics)?;
        let duration = started.elapsed().as_secs_f64();
        let created = crate::time::now_rfc3339();
        let root: &hdf5::Location = &output;
        h5::write_str_attr(root, "quakeline_key", &sp.key)?;
        h5::write_str_attr(root, "quakeline_stage", &s.id)?;
        h5::write_str_attr(root, "quakeline_kind", s.kind.info().kind)?;
        h5::write_str_attr(root, "quakeline_params", &s.params.all_json().to_string())?;
        h5::write_str_attr(
            root,
            "quakeline_inputs",
            &serde_json::to_string(&sp.fields.inputs)?,
        )?;
        h5::write_str_attr(root, "quakeline_version", env!("CARGO_PKG_VERSION"))?;
        h5::write_attr(root, "quakeline_stage_version", s.kind.info().version)?;
        h5::write_str_attr(root, "quakeline_pipeline", &p.name)?;
        h5::write_str_attr(root, "quakeline_created", &created)?;
        h5::write_str_attr(root, "quakeline_machine", &crate::machine::with_device())?;
        h5::write_attr(root, crate::stage::DURATION_ATTR, duration)?;
        if let Some(metrics) = metrics {
            h5::write_str_attr(root, crate::stage::METRICS_ATTR, &metrics)?;
        }
        if let Some(seed) = sp.fields.seed {
            h5::write_attr(root, "quakeline_seed", seed)?;
        }
        output.flush()?;
        output.close()?;
    }
    cache.commit(
        pending,
        &p.name,
        &s.id,
        &sp.fields,
        &crate::time::now_rfc3339(),
    )?;
    Ok(Done::Ran)
}

/// The metrics a stage recorded, as the JSON kept in its entry; every declared metric must be
/// there and nothing else (a bug in the stage otherwise, caught before the entry is committed).
fn recorded_metrics(
    kind: &dyn crate::stage::Stage,
    recorded: BTreeMap<String, Option<f64>>,
) -> anyhow::Result<Option<String>> {
    let specs = kind.info().metrics;
    if specs.is_empty() && recorded.is_empty() {
        return Ok(None);
    }
    for name in recorded.keys() {
        anyhow::ensure!(
            specs.iter().any(|s| s.name == name),
            "internal error: kind \"{}\" recorded undeclared metric `{name}`",
            kind.info().kind
        );
    }
    for s in specs {
        anyhow::ensure!(
            recorded.contains_key(s.name),
            "internal error: kind \"{}\" did not record its metric `{}`",
            kind.info().kind,
            s.name
        );
    }
    Ok(Some(serde_json::to_string(&recorded)?))
}
