//! The run layer: one [`Session`] per command that reads a pipeline.
//!
//! A session loads a pipeline file, resolves it into members (the pipeline itself, or each point
//! of the selected sweep), plans every member once, and then serves every verb from that plan:
//! `run` executes it through an [`Executor`] and writes the summaries, `plan` lists it, `check`,
//! `metrics show` and `report` collect metrics from it. The verbs in `crate::cli` only fill options
//! and print (cargo's `commands/` over `ops/`); "sweep or not" is decided here once.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::cache::remote::{Fetched, Pushed, Remote, RemoteError};
use crate::cache::{Cache, Lookup};
use crate::diag::Error;
use crate::exec::{Executor, Member, Report, RunOptions};
use crate::metrics::{Metric, MetricsFile};
use crate::pipeline::{Override, Pipeline};
use crate::plan::{Plan, State};
use crate::stage::{METRICS_ATTR, Stage};
use crate::study::summary::{self, PointResult};
use crate::study::{Point, Selection, Study};

/// A pipeline resolved into planned members.
pub struct Session {
    /// The pipeline as written (with `--set` applied).
    pub base: Pipeline,
    /// The selected sweep, resolved into points; `None` for a plain run.
    pub study: Option<Study>,
    /// One per member, in member order: the base pipeline's, or each point's.
    pub plans: Vec<Plan>,
    pub cache: Cache,
    /// What the user should be told (overrides that matched nothing, sweeps not selected).
    pub notes: Vec<String>,
}

/// One member of a session: a pipeline with its plan and the stages the run needs.
pub struct MemberRef<'s> {
    pub pipeline: &'s Pipeline,
    pub plan: &'s Plan,
    /// The sweep point; `None` for a plain run.
    pub point: Option<&'s Point>,
    /// Indexed like `Pipeline::stages`: the sweep's targets and what they read (all for a plain run).
    pub needed: Vec<bool>,
}

/// Metrics of a session's members as the cache holds them now.
pub struct Collected {
    /// The pipeline's `metrics.json`, or the seed-aggregated file of a sweep.
    pub file: MetricsFile,
    /// Per sweep point (empty for a plain run).
    pub points: Vec<PointResult>,
    /// Stages with metrics whose entry is not in the cache (`stage[point]` in a sweep).
    pub missing: Vec<String>,
}

/// What [`Session::pull`] fetched.
#[derive(Default, Debug)]
pub struct Pulled {
    pub fetched: usize,
    pub bytes: u64,
    /// Remote entries that failed verification (not used).
    pub corrupt: usize,
}

/// What [`Session::push`] did.
#[derive(Default, Debug)]
pub struct PushedAll {
    pub uploaded: usize,
    pub bytes: u64,
    /// Already on the remote.
    pub present: usize,
    /// Not in the local cache (not computed yet).
    pub missing: usize,
}

/// What a run did.
pub struct Ran {
    /// One per member.
    pub reports: Vec<Report>,
}

impl Ran {
    /// Stages that failed or were skipped, over all members.
    pub fn failures(&self) -> usize {
        self.reports.iter().map(|r| r.failures()).sum()
    }
    /// Per member: whether it failed.
    pub fn failed_members(&self) -> Vec<bool> {
        self.reports.iter().map(|r| r.failures() > 0).collect()
    }
}

impl Session {
    /// Loads `path` with the stage kinds of `registry`, applies `overrides`, resolves the sweep
    /// `select` names and plans every member.
    pub fn open(
        path: &Path,
        registry: &[&'static dyn Stage],
        overrides: &[Override],
        select: Selection<'_>,
        cache: Cache,
    ) -> Result<Session, Error> {
        let base = Pipeline::load(path, registry, overrides)?;
        let study = Study::resolve(&base, select, overrides, registry)?;
        let mut notes = Vec::new();
        if let Some(s) = &study {
            notes.extend(s.warnings.iter().map(|w| format!("warning: {w}")));
        } else if matches!(select, Selection::Default) && !base.sweeps.is_empty() {
            let names: Vec<&str> = base.sweeps.iter().map(|s| s.name.as_str()).collect();
            notes.push(format!(
                "note: running the pipeline as written; its sweeps ({}) run with --sweep NAME",
                names.join(", ")
            ));
        }
        let plans = match &study {
            None => vec![Plan::make(&base, &cache)?],
            Some(s) => s
                .pipelines
                .iter()
                .map(|p| Plan::make(p, &cache))
                .collect::<Result<_, _>>()?,
        };
        Ok(Session {
            base,
            study,
            plans,
            cache,
            notes,
        })
    }

    /// The members with their plans, in order.
    pub fn members(&self) -> Vec<MemberRef<'_>> {
        match &self.study {
            None => vec![MemberRef {
                pipeline: &self.base,
                plan: &self.plans[0],
                point: None,
                needed: self.base.needed(&[]),
            }],
            Some(s) => s
                .points
                .iter()
                .zip(&s.pipelines)
                .zip(&self.plans)
                .map(|((point, p), plan)| MemberRef {
                    pipeline: p,
                    plan,
                    point: Some(point),
                    needed: p.needed(&s.spec.targets),
                })
                .collect(),
        }
    }

    /// `<results>/<pipeline>/`: where a plain run's stages and every summary go.
    pub fn results_dir(&self, results_root: &Path) -> PathBuf {
        results_root.join(&self.base.name)
    }

    /// Runs every member (a key several members share is computed once) with `executor`.
    pub fn run(&self, opts: &RunOptions, executor: &dyn Executor) -> Ran {
        let members = self.exec_members(&opts.results_root);
        Ran {
            reports: executor.run(&members, &self.cache, opts),
        }
    }

    /// The members as an executor takes them, with their results directories under
    /// `results_root`.
    pub fn exec_members(&self, results_root: &Path) -> Vec<Member<'_>> {
        let sweep_dir = self
            .study
            .as_ref()
            .map(|s| s.dir(results_root, &self.base.name));
        self.members()
            .into_iter()
            .map(|m| Member {
                pipeline: m.pipeline,
                plan: m.plan,
                results: match (m.point, &sweep_dir) {
                    (Some(point), Some(dir)) => dir.join(point.dir_name()),
                    _ => self.results_dir(results_root),
                },
                label: m.point.map(|p| p.label.clone()).unwrap_or_default(),
                needed: m.needed,
            })
            .collect()
    }

    /// The distinct stage outputs of every member in dependency order, as `(label, key,
    /// member, stage)`, the label `stage` or `stage[point]` as the run prints it.
    fn units(&self) -> Vec<(String, String, usize, usize)> {
        let members = self.exec_members(Path::new("results"));
        crate::exec::units(&members)
            .into_iter()
            .map(|u| {
                let key = u.key(&members).to_string();
                (u.label, key, u.member, u.stage)
            })
            .collect()
    }

    /// Fetches from `remote` every needed entry the local cache lacks (each verified before it
    /// is committed) and marks it cached in the plans, so the executor does not compute it.
    /// Up to `jobs` fetches run at once (a remote cache is latency-bound when entries are
    /// small); `say` gets one line per entry fetched or refused, in dependency order. Stops at the
    /// first failure that makes the remote unavailable or refuses the credentials; what was
    /// fetched until then stays.
    pub fn pull(
        &mut self,
        remote: &Remote,
        jobs: usize,
        mut say: impl FnMut(String),
    ) -> Result<Pulled, RemoteError> {
        let wanted: Vec<(String, String)> = self
            .units()
            .into_iter()
            .filter(|(_, _, m, i)| self.plans[*m].stages[*i].state != State::Cached)
            .map(|(label, key, _, _)| (label, key))
            .collect();
        let next = std::sync::atomic::AtomicUsize::new(0);
        let stop = std::sync::atomic::AtomicBool::new(false);
        let results: Vec<std::sync::Mutex<Option<Result<Fetched, RemoteError>>>> =
            wanted.iter().map(|_| std::sync::Mutex::new(None)).collect();
        let cache = &self.cache;
        std::thread::scope(|scope| {
            for _ in 0..jobs.clamp(1, wanted.len().max(1)) {
                scope.spawn(|| {
                    use std::sync::atomic::Ordering::SeqCst;
                    while !stop.load(SeqCst) {
                        let k = next.fetch_add(1, SeqCst);
                        let Some((_, key)) = wanted.get(k) else { break };
                        let r = remote.fetch(cache, key);
                        if r.is_err() {
                            stop.store(true, SeqCst);
                        }
                        if let Ok(mut slot) = results[k].lock() {
                            *slot = Some(r);
                        }
                    }
                });
            }
        });
        let mut fetched = std::collections::BTreeSet::new();
        let mut out = Pulled::default();
        let mut result = Ok(());
        for ((label, key), slot) in wanted.into_iter().zip(results) {
            match slot.into_inner().ok().flatten() {
                Some(Ok(Fetched::Entry(e))) => {
                    say(format!(
                        "fetched  {label}  {:.1} MB  {}",
                        e.manifest.size as f64 / 1e6,
                        &key[..12]
                    ));
                    out.fetched += 1;
                    out.bytes += e.manifest.size;
                    fetched.insert(key);
                }
                Some(Ok(Fetched::Absent)) | None => {}
                Some(Ok(Fetched::Corrupt(why))) => {
                    say(format!(
                        "warning: the remote entry of `{label}` ({}) failed verification: {why}; computing it here",
                        &key[..12]
                    ));
                    out.corrupt += 1;
                }
                Some(Err(e)) => {
                    if result.is_ok() {
                        result = Err(e);
                    }
                }
            }
        }
        for plan in &mut self.plans {
            for sp in &mut plan.stages {
                if fetched.contains(&sp.key) {
                    sp.state = State::Cached;
                }
            }
        }
        result.map(|()| out)
    }

    /// Keys of needed entries the local cache lacks and `remote` holds (HEAD only), for `plan`.
    pub fn on_remote(
        &self,
        remote: &Remote,
    ) -> Result<std::collections::BTreeSet<String>, RemoteError> {
        let mut out = std::collections::BTreeSet::new();
        for (_, key, m, i) in self.units() {
            if self.plans[m].stages[i].state != State::Cached && remote.has(&key)? {
                out.insert(key);
            }
        }
        Ok(out)
    }

    /// Uploads every needed entry the local cache holds and `remote` lacks.
    pub fn push(
        &self,
        remote: &Remote,
        mut say: impl FnMut(String),
    ) -> Result<PushedAll, RemoteError> {
        let mut out = PushedAll::default();
        for (label, key, _, _) in self.units() {
            let Lookup::Hit(entry) = self.cache.lookup(&key) else {
                out.missing += 1;
                continue;
            };
            match remote.push(&self.cache, &entry)? {
                Pushed::Uploaded(bytes) => {
                    say(format!(
                        "pushed   {label}  {:.1} MB  {}",
                        bytes as f64 / 1e6,
                        &key[..12]
                    ));
                    out.uploaded += 1;
                    out.bytes += bytes;
                }
                Pushed::AlreadyThere => out.present += 1,
            }
        }
        Ok(out)
    }

    /// The metrics the cache holds for every member (the plan's keys, read now).
    pub fn metrics(&self) -> anyhow::Result<Collected> {
        let members = self.members();
        let Some(study) = &self.study else {
            let m = &members[0];
            let (metrics, missing) = from_entries(m, &self.cache)?;
            let mut file = MetricsFile::new(&self.base.name, None);
            file.metrics = metrics;
            return Ok(Collected {
                file,
                points: Vec::new(),
                missing,
            });
        };
        let mut points = Vec::new();
        let mut missing = Vec::new();
        for m in &members {
            let (metrics, miss) = from_entries(m, &self.cache)?;
            let label = m.point.map(|p| p.label.as_str()).unwrap_or_default();
            missing.extend(miss.iter().map(|s| format!("{s}[{label}]")));
            points.push(PointResult {
                status: if miss.is_empty() { "ok" } else { "not run" },
                metrics,
            });
        }
        let file = summary::aggregate(study, &self.base.name, &points);
        Ok(Collected {
            file,
            points,
            missing,
        })
    }

    /// Writes `<results>/<pipeline>/metrics.json` (plain run) or, for a sweep, every point's
    /// `metrics.json`, the aggregated `<sweep>/metrics.json`, `<sweep>.csv`, `<sweep>.md` and
    /// plots. `failed` marks members whose run failed (the sweep table's status column). Returns
    /// the names of the sweep files written under `<results>/<pipeline>/`.
    pub fn write_summaries(
        &self,
        results_root: &Path,
        failed: &[bool],
    ) -> anyhow::Result<Vec<String>> {
        let Collected {
            file, mut points, ..
        } = self.metrics()?;
        for (p, failed) in points.iter_mut().zip(failed) {
            if *failed {
                p.status = "failed";
            }
        }
        let root = self.results_dir(results_root);
        let write = |path: PathBuf, bytes: &[u8]| -> anyhow::Result<()> {
            crate::stage::write_results_file(&path, bytes).map(drop)
        };
        let Some(study) = &self.study else {
            if !file.metrics.is_empty() {
                write(root.join("metrics.json"), file.to_json().as_bytes())?;
            }
            return Ok(Vec::new());
        };
        let dir = study.dir(results_root, &self.base.name);
        for (point, res) in study.points.iter().zip(&points) {
            let mut f = MetricsFile::new(&self.base.name, None);
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
            summary::markdown(study, &self.base.name, &points, &file).as_bytes(),
        )?;
        let mut written = vec![format!("{name}.csv"), format!("{name}.md")];
        for spec in summary::plot_specs(study, &points) {
            let png = summary::plot(study, &points, &spec)?;
            let file_name = summary::plot_name(study, &spec);
            write(root.join(&file_name), &png)?;
            written.push(file_name);
        }
        Ok(written)
    }
}

/// Metrics recorded by the cached entries of one member, in stage order, for the stages it
/// needs. Stages whose entry is not in the cache are returned by id in the second list.
fn from_entries(
    m: &MemberRef<'_>,
    cache: &Cache,
) -> anyhow::Result<(BTreeMap<String, Metric>, Vec<String>)> {
    let mut out = BTreeMap::new();
    let mut missing = Vec::new();
    for &i in m.plan.dag.order() {
        if !m.needed.get(i).copied().unwrap_or(true) {
            continue;
        }
        let s = &m.pipeline.stages[i];
        let specs = s.kind.info().metrics;
        if specs.is_empty() {
            continue;
        }
        let Lookup::Hit(entry) = cache.lookup(&m.plan.stages[i].key) else {
            missing.push(s.id.clone());
            continue;
        };
        let file = entry.open()?;
        let text = crate::h5::read_str_attr(&file, METRICS_ATTR)
            .map_err(|e| anyhow::anyhow!("the entry of stage `{}` has no metrics: {e}", s.id))?;
        let values: BTreeMap<String, Option<f64>> = serde_json::from_str(&text)
            .map_err(|e| anyhow::anyhow!("the metrics of stage `{}` are not valid: {e}", s.id))?;
        for spec in specs {
            let value = values.get(spec.name).copied().flatten();
            out.insert(
                format!("{}.{}", s.id, spec.name),
                Metric::single(value, spec.direction),
            );
        }
    }
    Ok((out, missing))
}
