//! The contract between the runner core and a stage kind.
//!
//! A stage kind is a unit struct implementing [`Stage`], in its own file under `src/stages/`, listed
//! once in [`crate::stages::REGISTRY`]. The core (pipeline, dag, cache, exec) only sees this trait:
//! it validates parameters from [`Stage::params`], wires inputs named by [`StageInfo::inputs`], computes
//! the cache key, hands the stage its opened upstream entries and an empty HDF5 file to fill, and
//! commits that file atomically. A stage never touches the cache directly.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use indicatif::ProgressBar;

use crate::params::typed::StageParams;
use crate::params::{ParamError, ParamSpec, Params};

/// The name of an [`InputSpec`] that accepts any number (at least one) of freely named inputs,
/// e.g. the runs an optimizer comparison overlays.
pub const ANY_INPUT: &str = "*";

/// The kind of data an entry (or a named output of one) holds: the contract between the stage
/// that writes it and the stages that read it. The core compares kinds by name only; the layouts
/// themselves (datasets, attributes, readers, writers) live in [`crate::data`], which defines
/// one constant per kind and tables where each layout is described.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DataKind {
    /// Short name used in messages (`"time series"`).
    pub name: &'static str,
}

/// A named input of a stage kind. A kind with one input named `input` is wired with
/// `input = "stage"`; a kind with several uses `inputs = { name = "stage", … }`.
#[derive(Clone, Copy, Debug)]
pub struct InputSpec {
    pub name: &'static str,
    pub doc: &'static str,
    /// The data kinds this input reads; wiring anything else is a plan-time error.
    pub accepts: &'static [DataKind],
    /// May be left unwired (`synth.picks`' real `noise`); the stage checks `ctx.inputs`.
    pub optional: bool,
}

/// What a stage kind writes: one output at the root of its entry, or several named groups
/// (`synth.geomag`: `series`, `catalog`, `kp`) that readers reference as `"stage/name"`.
#[derive(Clone, Copy, Debug)]
pub enum Outputs {
    Root(DataKind),
    Named(&'static [(&'static str, DataKind)]),
    /// One root output of the kind its input of this name reads (`filter` writes a filtered
    /// time series or a filtered waveform set); the DAG resolves it through the wiring.
    SameAs(&'static str),
}

impl Outputs {
    /// Names of the named outputs (empty for a root output).
    pub fn names(&self) -> Vec<&'static str> {
        match self {
            Outputs::Root(_) | Outputs::SameAs(_) => Vec::new(),
            Outputs::Named(n) => n.iter().map(|(name, _)| *name).collect(),
        }
    }

    /// The kind of the root output (`None`) or of a named one; `None` when no such output, or
    /// when it depends on the wiring ([`Outputs::SameAs`]: see `dag::output_kind`).
    pub fn kind(&self, output: Option<&str>) -> Option<DataKind> {
        match (self, output) {
            (Outputs::Root(k), None) => Some(*k),
            (Outputs::Named(n), Some(o)) => n.iter().find(|(name, _)| *name == o).map(|(_, k)| *k),
            _ => None,
        }
    }
}

/// The static facts of a stage kind, one `const` per kind (cargo's lint declarations).
#[derive(Clone, Copy, Debug)]
pub struct StageInfo {
    /// The `kind = "…"` string.
    pub kind: &'static str,
    /// Bumped whenever the implementation's output for the same parameters and inputs changes;
    /// it enters the key, so old entries are not reused after such a change.
    pub version: u32,
    /// One line per version, oldest first: what changed and why (`changelog[v - 1]`).
    pub changelog: &'static [&'static str],
    /// One line for `quakeline stages`.
    pub summary: &'static str,
    pub inputs: &'static [InputSpec],
    pub outputs: Outputs,
    /// The metrics every run records with [`RunCtx::metric`] (the runner refuses an entry that
    /// misses one or records an undeclared one).
    pub metrics: &'static [MetricSpec],
    /// Whether the output depends on the seed. Deterministic stages leave the seed out of their
    /// key, so changing the pipeline seed does not recompute data preparation.
    pub stochastic: bool,
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

/// What the core sees of a stage kind. Stage files do not implement it directly: they implement
/// [`StageKind`] (typed parameters), and a blanket impl provides this object-safe view for the
/// [`crate::stages::REGISTRY`].
pub trait Stage: Send + Sync + 'static {
    fn info(&self) -> &'static StageInfo;
    /// Every parameter the kind accepts: its own, then those of each plug-in ([`PluginParams`]).
    fn params(&self) -> Vec<&'static ParamSpec>;
    /// Plug-in parameters that do not apply for these values of the others, with why: the
    /// pipeline layer rejects one that was set and drops one that was defaulted, so it never
    /// enters the key.
    fn inapplicable(&self, params: &Params) -> Result<Vec<(&'static str, String)>, ParamError>;
    /// Cross-field checks run before anything executes (e.g. bandpass needs two corners), the
    /// chosen plug-in's included.
    fn check(&self, params: &Params) -> Result<(), ParamError>;
    /// The version of the plug-in these parameters choose, when it is versioned: it enters the
    /// key ([`crate::cache::KeyFields::plugin_version`]).
    fn plugin_version(&self, params: &Params) -> Result<Option<u32>, ParamError>;
    /// The class of the compute device the output depends on, when it is not the default: it
    /// enters the key ([`crate::cache::KeyFields::device`]).
    fn device_class(&self) -> Option<&'static str>;
    /// Digests of external content the output depends on; they stand in the key for locations.
    fn content_digests(
        &self,
        ctx: &PlanCtx<'_>,
        params: &Params,
    ) -> Result<Vec<ContentDigest>, ParamError>;
    /// Computes the output into `ctx.output`.
    fn run(&self, ctx: &mut RunCtx<'_>) -> anyhow::Result<()>;
    /// Declaration bugs of the parameter struct (tested for every registered kind).
    #[cfg(test)]
    fn param_type_mismatches(&self) -> Vec<String>;
}

/// A stage kind as its file writes it: static facts, a typed parameter struct (declared with
/// [`crate::stage_params!`]) and the computation, which receives the decoded struct.
pub trait StageKind: Send + Sync + 'static {
    type Params: StageParams;
    const INFO: StageInfo;
    /// Cross-field checks on the decoded parameters, before anything runs.
    fn check(&self, _p: &Self::Params) -> Result<(), ParamError> {
        Ok(())
    }
    /// Parameter sets owned by plug-ins this kind chooses between (the models of `train`), each
    /// declared where its owner is; empty for most kinds.
    fn plugins(&self) -> Vec<&'static PluginParams> {
        Vec::new()
    }
    /// The plug-in the decoded parameters choose, if any.
    fn plugin(&self, _p: &Self::Params) -> Option<&'static PluginParams> {
        None
    }
    /// Digests of external content the output depends on; they stand in the key for locations.
    fn content_digests(
        &self,
        _ctx: &PlanCtx<'_>,
        _p: &Self::Params,
    ) -> Result<Vec<ContentDigest>, ParamError> {
        Ok(Vec::new())
    }
    /// Kinds that compute with a model return [`crate::device::key_class`]: a GPU-trained
    /// model is not bit-identical to a CPU one, so the device class (none for the default CPU)
    /// is part of their key; everything else computes the same anywhere.
    fn device_class(&self) -> Option<&'static str> {
        None
    }
    /// Computes the output into `ctx.output` (`ctx.params` still locates fields for messages).
    fn run(&self, ctx: &mut RunCtx<'_>, p: Self::Params) -> anyhow::Result<()>;
}

impl<K: StageKind> Stage for K {
    fn info(&self) -> &'static StageInfo {
        &K::INFO
    }
    fn params(&self) -> Vec<&'static ParamSpec> {
        let mut out: Vec<&'static ParamSpec> = K::Params::SPECS.iter().collect();
        for plugin in StageKind::plugins(self) {
            for spec in plugin.specs {
                // Plug-ins may share a parameter (two U-Nets' `dropout`): declared alike, listed once.
                if !out.iter().any(|s| s.name == spec.name) {
                    out.push(spec);
                }
            }
        }
        out
    }
    fn inapplicable(&self, params: &Params) -> Result<Vec<(&'static str, String)>, ParamError> {
        let chosen = StageKind::plugin(self, &K::Params::from_params(params)?);
        let applies = |name: &str| {
            K::Params::SPECS.iter().any(|s| s.name == name)
                || chosen.is_some_and(|c| c.specs.iter().any(|s| s.name == name))
        };
        let mut out: Vec<(&'static str, String)> = Vec::new();
        for plugin in StageKind::plugins(self) {
            for spec in plugin.specs {
                if !applies(spec.name) && !out.iter().any(|(n, _)| *n == spec.name) {
                    let chosen = chosen.map_or("this choice".to_string(), PluginParams::owner);
                    out.push((
                        spec.name,
                        format!("applies to {} only, not to {chosen}", plugin.owner()),
                    ));
                }
            }
        }
        Ok(out)
    }
    fn check(&self, params: &Params) -> Result<(), ParamError> {
        let p = K::Params::from_params(params)?;
        StageKind::check(self, &p)?;
        match StageKind::plugin(self, &p) {
            Some(plugin) => (plugin.check)(params),
            None => Ok(()),
        }
    }
    fn plugin_version(&self, params: &Params) -> Result<Option<u32>, ParamError> {
        let p = K::Params::from_params(params)?;
        Ok(StageKind::plugin(self, &p).and_then(PluginParams::version))
    }
    fn device_class(&self) -> Option<&'static str> {
        StageKind::device_class(self)
    }
    fn content_digests(
        &self,
        ctx: &PlanCtx<'_>,
        params: &Params,
    ) -> Result<Vec<ContentDigest>, ParamError> {
        StageKind::content_digests(self, ctx, &K::Params::from_params(params)?)
    }
    fn run(&self, ctx: &mut RunCtx<'_>) -> anyhow::Result<()> {
        let p = K::Params::from_params(ctx.params).map_err(|e| ctx.params.error(e))?;
        StageKind::run(self, ctx, p)
    }
    #[cfg(test)]
    fn param_type_mismatches(&self) -> Vec<String> {
        let mut out = K::Params::type_mismatches();
        for plugin in StageKind::plugins(self) {
            out.extend((plugin.type_mismatches)());
        }
        out
    }
}

/// The parameters one plug-in of a stage kind owns (a model's hyper-parameters in `train`, a
/// format's own settings in `fetch.waveforms`): they are accepted only when the kind's
/// parameters choose that plug-in, so no parameter is ignored yet hashed. Declared with
/// [`crate::stage_params!`] where the owner lives. A plug-in with a changelog is versioned: its
/// version (the changelog's length) enters the key of the entries it makes
/// ([`crate::cache::KeyFields::plugin_version`]), so changing one plug-in re-keys its entries
/// only, not every entry of the kind.
pub struct PluginParams {
    /// What kind of plug-in it is, for messages: `model`, `format`.
    pub of: &'static str,
    /// Its name (`pm-cnn`, `mseed`).
    pub name: &'static str,
    pub specs: &'static [ParamSpec],
    /// Cross-field checks of the owner's parameters (decoded from the stage's).
    pub check: fn(&Params) -> Result<(), ParamError>,
    /// Declaration bugs of the owner's parameter struct.
    pub type_mismatches: fn() -> Vec<String>,
    /// One line per version, oldest first; empty for a plug-in versioned with its kind.
    pub changelog: &'static [&'static str],
}

impl PluginParams {
    /// The plug-in parameters of struct `P`, owned by the `of` called `name`, with cross-field
    /// checks `check`; unversioned until [`Self::with_changelog`].
    pub const fn of<P: StageParams>(
        of: &'static str,
        name: &'static str,
        check: fn(&Params) -> Result<(), ParamError>,
    ) -> PluginParams {
        PluginParams {
            of,
            name,
            specs: P::SPECS,
            check,
            type_mismatches: P::type_mismatches,
            changelog: &[],
        }
    }

    /// The same, versioned by `changelog` (one line per version, oldest first).
    pub const fn with_changelog(self, changelog: &'static [&'static str]) -> PluginParams {
        PluginParams { changelog, ..self }
    }

    /// The version that enters the key: the changelog's length, `None` when it has none.
    pub fn version(&self) -> Option<u32> {
        (!self.changelog.is_empty()).then_some(self.changelog.len() as u32)
    }

    /// `model "pm-cnn"`, for messages.
    pub fn owner(&self) -> String {
        format!("{} \"{}\"", self.of, self.name)
    }
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
    /// Tells the user something about the data that does not stop the stage (an unreadable
    /// tail dropped), above the progress bars: `warning: stage `ID`: …`.
    pub fn warn(&self, message: &str) {
        let id = self.stage_id;
        self.progress
            .suspend(|| eprintln!("warning: stage `{id}`: {message}"));
    }

    /// Writes a human-facing file `results/<pipeline>/<stage>/<name>` (atomically) and keeps a
    /// copy in the entry, from which a cached rerun restores it.
    pub fn write_result(&self, name: &str, bytes: &[u8]) -> anyhow::Result<PathBuf> {
        crate::h5::write_array(&self.results_group()?, name, &[bytes.len()], bytes)?;
        write_results_file(&self.results_dir.join(name), bytes)
    }

    /// [`write_result`](Self::write_result) of the file at `src` (a scratch file of the stage,
    /// left in place), streamed in blocks both into the entry and to `results/`: an export of
    /// any size in bounded memory.
    pub fn write_result_file(&self, name: &str, src: &Path) -> anyhow::Result<PathBuf> {
        let group = self.results_group()?;
        let cannot = |e: std::io::Error| anyhow::anyhow!("cannot read {}: {e}", src.display());
        let len = std::fs::metadata(src).map_err(cannot)?.len() as usize;
        let ds = group
            .new_dataset::<u8>()
            .shape([len])
            .obj_track_times(false)
            .create(name)?;
        let mut file = std::fs::File::open(src).map_err(cannot)?;
        let mut buf = vec![0u8; RESULT_BLOCK];
        let mut at = 0;
        while at < len {
            let k = RESULT_BLOCK.min(len - at);
            std::io::Read::read_exact(&mut file, &mut buf[..k]).map_err(cannot)?;
            ds.write_slice(&buf[..k], at..at + k)?;
            at += k;
        }
        write_results_file_from(
            &self.results_dir.join(name),
            &mut std::fs::File::open(src).map_err(cannot)?,
        )
    }

    /// The entry's group of results-file copies, created by the first write.
    fn results_group(&self) -> anyhow::Result<hdf5::Group> {
        Ok(match self.output.group(RESULTS_GROUP) {
            Ok(g) => g,
            Err(_) => self.output.create_group(RESULTS_GROUP)?,
        })
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
    write_results_file_from(path, &mut &bytes[..])
}

/// [`write_results_file`] of what `from` yields, streamed (an export of any size).
pub fn write_results_file_from(
    path: &Path,
    from: &mut dyn std::io::Read,
) -> anyhow::Result<PathBuf> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)
        .and_then(|()| crate::cache::write_atomic_from(dir, path, from))
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
        let ds = group.dataset(&name)?;
        let mut reader = ResultReader {
            ds: &ds,
            at: 0,
            len: ds.size(),
        };
        write_results_file_from(&dir.join(&name), &mut reader)?;
    }
    Ok(())
}

/// Bytes of a results file moved at once between the entry and `results/`.
const RESULT_BLOCK: usize = 16 << 20;

/// A results dataset of an entry read in blocks.
struct ResultReader<'a> {
    ds: &'a hdf5::Dataset,
    at: usize,
    len: usize,
}

impl std::io::Read for ResultReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let k = buf.len().min(RESULT_BLOCK).min(self.len - self.at);
        if k == 0 {
            return Ok(0);
        }
        let part: Vec<u8> = self
            .ds
            .read_slice_1d(self.at..self.at + k)
            .map_err(|e| std::io::Error::other(e.to_string()))?
            .into_raw_vec_and_offset()
            .0;
        buf[..k].copy_from_slice(&part);
        self.at += k;
        Ok(k)
    }
}
