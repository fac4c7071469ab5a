//! Running a plan: one dispatcher owns the run state, workers compute stages, bars show progress.
//!
//! The dispatcher (this thread) starts every pending stage whose inputs are available, at most
//! `jobs` at a time, and is the only code that prints summary lines. A failing stage marks its
//! descendants `skipped`; independent branches keep going and the report says what failed. Each
//! worker takes the per-key lock, re-checks the cache (another run may have finished the entry),
//! runs the stage into a temp HDF5 file, writes provenance attributes and commits.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::cache::{Cache, Lookup};
use crate::io::h5;
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
}

#[derive(Debug)]
pub enum Outcome {
    Ran(Duration),
    Cached(Duration),
    Failed { after: Duration, error: String },
    Skipped { because: String },
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

enum Done {
    Ran,
    /// Another run committed the entry while this one waited for the lock.
    FoundCached,
}

pub fn run(p: &Pipeline, plan: &Plan, cache: &Cache, opts: &RunOptions) -> Report {
    let multi = if opts.quiet {
        MultiProgress::with_draw_target(ProgressDrawTarget::hidden())
    } else {
        MultiProgress::with_draw_target(ProgressDrawTarget::stderr())
    };
    let width = p.stages.iter().map(|s| s.id.len()).max().unwrap_or(0);
    let kind_width = p
        .stages
        .iter()
        .map(|s| s.kind.kind().len())
        .max()
        .unwrap_or(0);
    let say = |i: usize, outcome: &Outcome| {
        let s = &p.stages[i];
        let key = &plan.stages[i].key[..12];
        let line = match outcome {
            Outcome::Ran(d) => format!(
                "ran      {:width$}  {:kind_width$}  {:>8}  {key}",
                s.id,
                s.kind.kind(),
                secs(*d)
            ),
            Outcome::Cached(d) => format!(
                "cached   {:width$}  {:kind_width$}  {:>8}  {key}",
                s.id,
                s.kind.kind(),
                secs(*d)
            ),
            Outcome::Failed { after, .. } => {
                format!(
                    "failed   {:width$}  {:kind_width$}  {:>8}  {key}",
                    s.id,
                    s.kind.kind(),
                    secs(*after)
                )
            }
            Outcome::Skipped { because } => format!(
                "skipped  {:width$}  {:kind_width$}  ({because})",
                s.id,
                s.kind.kind()
            ),
        };
        if !opts.quiet {
            multi.suspend(|| println!("{line}"));
        }
        if let Outcome::Failed { error, .. } = outcome {
            multi.suspend(|| {
                eprintln!(
                    "error: stage `{}` ({}) failed: {error}",
                    s.id,
                    s.kind.kind()
                )
            });
        }
    };

    let n = p.stages.len();
    let mut outcomes: Vec<Option<Outcome>> = (0..n).map(|_| None).collect();
    for &i in plan.dag.order() {
        match &plan.stages[i].state {
            State::Cached => {
                restore_results(p, plan, i, cache, opts);
                let o = Outcome::Cached(Duration::ZERO);
                say(i, &o);
                outcomes[i] = Some(o);
            }
            State::Invalid(reason) => multi.suspend(|| {
                eprintln!("warning: cache entry of stage `{}` failed verification ({reason}); recomputing", p.stages[i].id)
            }),
            State::Pending => {}
        }
    }

    let upstream: Vec<Vec<usize>> = p
        .stages
        .iter()
        .map(|s| {
            s.inputs
                .values()
                .filter_map(|r| p.index_of(&r.stage))
                .collect()
        })
        .collect();
    let jobs = opts.jobs.max(1);
    std::thread::scope(|scope| {
        let (tx, rx) = mpsc::channel::<(usize, Instant, Result<Done, String>)>();
        let mut launched = vec![false; n];
        let mut running = 0usize;
        loop {
            let mut changed = true;
            while changed {
                changed = false;
                for &i in plan.dag.order() {
                    if outcomes[i].is_some() || launched[i] {
                        continue;
                    }
                    let broken = upstream[i].iter().find(|&&u| {
                        matches!(
                            outcomes[u],
                            Some(Outcome::Failed { .. } | Outcome::Skipped { .. })
                        )
                    });
                    if let Some(&u) = broken {
                        let o = Outcome::Skipped {
                            because: format!("upstream `{}` did not complete", p.stages[u].id),
                        };
                        say(i, &o);
                        outcomes[i] = Some(o);
                        changed = true;
                        continue;
                    }
                    let ready = upstream[i].iter().all(|&u| {
                        matches!(outcomes[u], Some(Outcome::Ran(_) | Outcome::Cached(_)))
                    });
                    if ready && running < jobs {
                        launched[i] = true;
                        running += 1;
                        let bar = multi.add(ProgressBar::new(0));
                        bar.set_style(
                            ProgressStyle::with_template("{prefix:>12.bold} [{bar:30.cyan/blue}] {pos}/{len} {msg} ({elapsed})")
                                .unwrap_or_else(|_| ProgressStyle::default_bar())
                                .progress_chars("=> "),
                        );
                        bar.set_prefix(p.stages[i].id.clone());
                        let tx = tx.clone();
                        scope.spawn(move || {
                            let start = Instant::now();
                            let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(
                                || run_stage(p, plan, i, cache, &bar, opts),
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
                            let _ = tx.send((i, start, result));
                        });
                    }
                }
            }
            if running == 0 {
                break;
            }
            let Ok((i, start, result)) = rx.recv() else {
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
            say(i, &o);
            outcomes[i] = Some(o);
        }
    });
    let outcomes = outcomes
        .into_iter()
        .map(|o| {
            o.unwrap_or(Outcome::Skipped {
                because: "not reached".into(),
            })
        })
        .collect();
    Report { outcomes }
}

fn secs(d: Duration) -> String {
    format!("{:.2}s", d.as_secs_f64())
}

/// Restores a cached stage's `results/` files if that directory is gone; a failure is a warning
/// (the entry is fine, only the copy for people is missing).
fn restore_results(p: &Pipeline, plan: &Plan, i: usize, cache: &Cache, opts: &RunOptions) {
    let dir = opts.results_root.join(&p.name).join(&p.stages[i].id);
    if dir.exists() {
        return;
    }
    let result = match cache.lookup(&plan.stages[i].key) {
        Lookup::Hit(entry) => entry
            .open()
            .map_err(anyhow::Error::from)
            .and_then(|f| crate::stage::restore_results(&f, &dir)),
        _ => Ok(()),
    };
    if let Err(e) = result {
        eprintln!("warning: could not restore {}: {e:#}", dir.display());
    }
}

fn run_stage(
    p: &Pipeline,
    plan: &Plan,
    i: usize,
    cache: &Cache,
    bar: &ProgressBar,
    opts: &RunOptions,
) -> anyhow::Result<Done> {
    let s = &p.stages[i];
    let sp = &plan.stages[i];
    bar.set_message("waiting for the cache lock");
    let _lock = cache.lock(&sp.key)?;
    if let Lookup::Hit(_) = cache.lookup(&sp.key) {
        restore_results(p, plan, i, cache, opts);
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
            results_dir: opts.results_root.join(&p.name).join(&s.id),
            content: &sp.content,
        };
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
        drop(ctx);
        let created = crate::time::now_rfc3339();
        let root: &hdf5::Location = &output;
        h5::write_str_attr(root, "quakeline_key", &sp.key)?;
        h5::write_str_attr(root, "quakeline_stage", &s.id)?;
        h5::write_str_attr(root, "quakeline_kind", s.kind.kind())?;
        h5::write_str_attr(root, "quakeline_params", &s.params.all_json().to_string())?;
        h5::write_str_attr(
            root,
            "quakeline_inputs",
            &serde_json::to_string(&sp.fields.inputs)?,
        )?;
        h5::write_str_attr(root, "quakeline_version", env!("CARGO_PKG_VERSION"))?;
        h5::write_attr(root, "quakeline_stage_version", s.kind.version())?;
        h5::write_str_attr(root, "quakeline_pipeline", &p.name)?;
        h5::write_str_attr(root, "quakeline_created", &created)?;
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
