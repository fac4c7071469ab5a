//! The contract between the runner core and a stage kind.
//!
//! A stage kind is a unit struct implementing [`Stage`], in its own file under `src/stages/`, listed
//! once in [`crate::stages::REGISTRY`]. The core (pipeline, dag, cache, exec) only sees this trait:
//! it validates parameters from [`Stage::params`], wires inputs named by [`Stage::inputs`], computes
//! the cache key, hands the stage its opened upstream entries and an empty HDF5 file to fill, and
//! commits that file atomically. A stage never touches the cache directly.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use indicatif::ProgressBar;

use crate::params::{ParamError, ParamSpec, Params};

/// The name of an [`InputSpec`] that accepts any number (at least one) of freely named inputs,
/// e.g. the runs an optimizer comparison overlays.
pub const ANY_INPUT: &str = "*";

/// A named input of a stage kind. A kind with one input named `input` is wired with
/// `input = "stage"`; a kind with several uses `inputs = { name = "stage", … }`.
#[derive(Clone, Copy, Debug)]
pub struct InputSpec {
    pub name: &'static str,
    pub doc: &'static str,
}

/// The content digest of something a stage reads from outside the cache (a file, a download).
/// Only `blake3` enters the key; `label` (a path or URL) is for messages.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContentDigest {
    pub label: String,
    pub blake3: String,
}

/// Which way a metric improves; gates that speak of regressions read it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    Higher,
    Lower,
    /// Informative only (a sample count, a fitted coefficient): no better or worse.
    Neither,
}

impl Direction {
    pub fn label(self) -> &'static str {
        match self {
            Direction::Higher => "higher",
            Direction::Lower => "lower",
            Direction::Neither => "neither",
        }
    }
}

/// A number a stage kind reports about its output (accuracy, loss, …), declared like its
/// parameters so that gates and sweeps can name it before anything runs.
#[derive(Clone, Copy, Debug)]
pub struct MetricSpec {
    pub name: &'static str,
    pub direction: Direction,
    pub doc: &'static str,
}

/// Name of the entry attribute holding the metrics a stage recorded (JSON object name → number
/// or null).
pub const METRICS_ATTR: &str = "quakeline_metrics";

/// Name of the entry attribute holding the seconds the stage's `run` took.
pub const DURATION_ATTR: &str = "quakeline_duration_s";

/// What a stage may look at while the plan is made (no network, no cache).
pub struct PlanCtx<'a> {
    /// Directory of the pipeline file; relative paths in parameters are relative to it.
    pub pipeline_dir: &'a Path,
}

pub trait Stage: Send + Sync + 'static {
    /// The `kind = "…"` string.
    fn kind(&self) -> &'static str;
    /// Bumped whenever the implementation's output for the same parameters and inputs changes;
    /// it enters the key, so old entries are not reused after such a change.
    fn version(&self) -> u32;
    /// One line for `quakeline stages`.
    fn summary(&self) -> &'static str;
    fn params(&self) -> &'static [ParamSpec];
    fn inputs(&self) -> &'static [InputSpec];
    /// Names of the HDF5 groups the output is split into, for kinds that produce several things
    /// (`synth.geomag`: `series`, `catalog`, `kp`). Readers then reference `"stage/name"`. Empty
    /// (the default): one output at the root of the entry.
    fn outputs(&self) -> &'static [&'static str] {
        &[]
    }
    /// Whether the output depends on the seed. Deterministic stages leave the seed out of their key,
    /// so changing the pipeline seed does not recompute data preparation.
    fn stochastic(&self) -> bool {
        false
    }
    /// Cross-field checks run before anything executes (e.g. bandpass needs two corners).
    fn check(&self, _params: &Params) -> Result<(), ParamError> {
        Ok(())
    }
    /// Digests of external content the output depends on; they stand in the key for locations.
    fn content_digests(
        &self,
        _ctx: &PlanCtx<'_>,
        _params: &Params,
    ) -> Result<Vec<ContentDigest>, ParamError> {
        Ok(Vec::new())
    }
    /// The metrics every run records with [`RunCtx::metric`] (the runner refuses an entry that
    /// misses one or records an undeclared one).
    fn metrics(&self) -> &'static [MetricSpec] {
        &[]
    }
    /// Computes the output into `ctx.output`.
    fn run(&self, ctx: &mut RunCtx<'_>) -> anyhow::Result<()>;
}

/// Everything a running stage gets.
pub struct RunCtx<'a> {
    pub stage_id: &'a str,
    pub params: &'a Params,
    pub seed: u64,
    /// Upstream entries by input name, verified and opened read-only.
    pub inputs: BTreeMap<String, Input>,
    /// The entry being written (a temp file until the core commits it).
    pub output: &'a hdf5::File,
    pub progress: &'a ProgressBar,
    pub pipeline_dir: &'a Path,
    /// `results/<pipeline>/<stage>/` for human-facing outputs (metrics, plots); created on demand.
    pub results_dir: PathBuf,
    /// The digests that entered the key; a stage re-checks what it reads against them.
    pub content: &'a [ContentDigest],
    /// Metrics recorded so far ([`RunCtx::metric`]); `None` is "not available" (e.g. no
    /// validation part), never a silent 0.
    pub metrics: BTreeMap<String, Option<f64>>,
}

/// An opened upstream entry and the group of it this input reads (the root, or a named output).
pub struct Input {
    pub file: hdf5::File,
    pub group: hdf5::Group,
}

/// Group of an entry holding copies of the files a stage wrote under `results/`, so that a cached
/// rerun can put them back when `results/` was deleted or the pipeline moved.
pub const RESULTS_GROUP: &str = "quakeline_results";

impl RunCtx<'_> {
    /// Writes a human-facing file `results/<pipeline>/<stage>/<name>` (atomically) and keeps a
    /// copy in the entry, from which a cached rerun restores it.
    pub fn write_result(&self, name: &str, bytes: &[u8]) -> anyhow::Result<PathBuf> {
        let group = match self.output.group(RESULTS_GROUP) {
            Ok(g) => g,
            Err(_) => self.output.create_group(RESULTS_GROUP)?,
        };
        crate::io::h5::write_array(&group, name, &[bytes.len()], bytes)?;
        write_results_file(&self.results_dir.join(name), bytes)
    }

    /// Records one of the kind's declared [`MetricSpec`]s; a non-finite value is stored as
    /// "not available".
    pub fn metric(&mut self, name: &str, value: f64) {
        self.metrics
            .insert(name.to_string(), value.is_finite().then_some(value));
    }

    pub fn input(&self, name: &str) -> anyhow::Result<&hdf5::Group> {
        self.inputs
            .get(name)
            .map(|i| &i.group)
            .ok_or_else(|| anyhow::anyhow!("internal error: input `{name}` was not wired"))
    }
}

/// Writes a results file atomically (the cache's temp + fsync + rename), creating its directory.
/// Every file under `results/` goes through here (stage outputs, metrics, sweep tables, reports).
pub fn write_results_file(path: &Path, bytes: &[u8]) -> anyhow::Result<PathBuf> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)
        .and_then(|()| crate::cache::write_atomic(dir, path, bytes))
        .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", path.display()))?;
    Ok(path.to_path_buf())
}

/// Writes the results files kept in a cached entry into `dir` (the runner calls it when `dir` is
/// missing).
pub fn restore_results(entry: &hdf5::File, dir: &Path) -> anyhow::Result<()> {
    let Ok(group) = entry.group(RESULTS_GROUP) else {
        return Ok(());
    };
    for name in group.member_names()? {
        let (bytes, _) = crate::io::h5::read_array::<u8>(&group, &name)?;
        write_results_file(&dir.join(&name), &bytes)?;
    }
    Ok(())
}
