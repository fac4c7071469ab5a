//! The `quakeline` command line. Each verb's file declares its arguments and calls library code.
//!
//! Exit codes (see [`exit`]): 0 success, 1 a stage failed or (`check`) a gate failed,
//! 2 the command or pipeline is wrong (usage, parse, wiring, unreadable data, cache errors).

mod check;
mod explain;
mod gc;
mod metrics;
mod model;
mod plan;
mod predict;
mod report;
mod run;
mod share;
mod show;
mod slurm;
mod stages;

use crate::stdout::outln;
use std::path::PathBuf;

use clap::{Parser, Subcommand};

/// Documented exit codes.
pub mod exit {
    /// Everything asked for was done.
    pub const OK: i32 = 0;
    /// The pipeline ran but at least one stage failed or was skipped; or (`check`) a gate failed.
    pub const STAGE_FAILED: i32 = 1;
    /// Bad command line, pipeline file, data location or cache directory; nothing ran.
    pub const USAGE: i32 = 2;
}

#[derive(Parser)]
#[command(
    name = "quakeline",
    version,
    about = "Declarative, cached experiment pipelines for seismology ML"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// Options shared by the verbs that read a pipeline.
#[derive(clap::Args, Clone)]
pub(crate) struct PipelineArgs {
    /// The pipeline file (TOML).
    pub pipeline: PathBuf,
    /// Override a parameter: STAGE.KEY=VALUE (VALUE is TOML, or a bare string). Repeatable.
    #[arg(long = "set", value_name = "STAGE.KEY=VALUE")]
    pub set: Vec<String>,
    /// The compute device of model stages: cpu, cuda, cuda:N, torch-cpu. Off the CPU, the
    /// device class is part of their keys [default: $QUAKELINE_DEVICE, else the site
    /// profile's [compute] device, else cpu].
    #[arg(long, value_name = "DEVICE")]
    pub device: Option<crate::device::Choice>,
}

impl PipelineArgs {
    /// Sets the run's device: `--device`, else `$QUAKELINE_DEVICE`, else `[compute] device` of
    /// the site profile (`profile`, else `$QUAKELINE_SITE`), else the CPU. Once per process: a
    /// later call (the session after `run` chose with its `--site`) keeps the first choice.
    pub fn choose_device(&self, profile: Option<&std::path::Path>) -> miette::Result<()> {
        use crate::device;
        if device::is_chosen() {
            return Ok(());
        }
        let asked = device::from_flag_or_env(self.device).map_err(|e| miette::miette!("{e}"))?;
        let choice = match asked {
            Some(c) => c,
            None => {
                let path = profile
                    .map(std::path::Path::to_path_buf)
                    .or_else(|| std::env::var_os("QUAKELINE_SITE").map(PathBuf::from));
                match path {
                    Some(p) => crate::slurm::Site::load(&p)?
                        .device
                        .unwrap_or(device::Choice::Cpu),
                    None => device::Choice::Cpu,
                }
            }
        };
        device::choose(choice).map_err(|e| miette::miette!("{e}"))
    }
}

/// Which sweep of the file to use.
#[derive(clap::Args, Clone)]
pub(crate) struct SweepArgs {
    /// Use the named sweep `[sweep.NAME]` of the file (the unnamed `[sweep]` is used by default).
    #[arg(long, value_name = "NAME")]
    pub sweep: Option<String>,
    /// Ignore the file's sweeps: the pipeline exactly as written (with --set applied).
    #[arg(long, conflicts_with = "sweep")]
    pub no_sweep: bool,
}

/// Opens the session the pipeline, `--set`, `--sweep`/`--no-sweep` and `--cache` describe, and
/// prints its notes.
pub(crate) fn session(
    args: &PipelineArgs,
    sweep: &SweepArgs,
    cache: &CacheArgs,
) -> miette::Result<crate::session::Session> {
    use crate::study::Selection;
    args.choose_device(None)?;
    let select = Selection::from_flags(sweep.sweep.as_deref(), sweep.no_sweep);
    let s = crate::session::Session::open(
        &args.pipeline,
        crate::stages::REGISTRY,
        &overrides(args)?,
        select,
        crate::cache::Cache::new(&cache.cache),
    )?;
    for n in &s.notes {
        eprintln!("{n}");
    }
    Ok(s)
}

/// The session's metrics; a cache that cannot be read is a usage error.
pub(crate) fn collect(s: &crate::session::Session) -> miette::Result<crate::session::Collected> {
    s.metrics().map_err(|e| miette::miette!("{e:#}"))
}

#[derive(clap::Args, Clone)]
pub(crate) struct CacheArgs {
    /// Cache root directory.
    #[arg(
        long = "cache",
        env = "QUAKELINE_CACHE",
        default_value = "cache",
        value_name = "DIR"
    )]
    pub cache: PathBuf,
}

#[derive(Subcommand)]
enum Command {
    /// Run a pipeline: compute pending stages, reuse cached ones.
    Run(Box<run::Args>),
    /// Show every stage's kind, key and state (cached/pending) without running anything.
    Plan(plan::Args),
    /// Say why a stage is not cached: what differs from its newest cached entry.
    Explain(explain::Args),
    /// Show a cached stage output: provenance and datasets with shapes.
    Show(show::Args),
    /// Remove cache entries that the given pipelines do not use.
    Gc(gc::Args),
    /// List the stage kinds with their inputs and parameters.
    Stages {
        /// A Markdown table of the kinds (the README's list).
        #[arg(long)]
        md: bool,
    },
    /// Check the pipeline's [gates] against its current metrics (and a baseline): exit 0 all pass,
    /// 1 a gate failed, 2 usage error.
    Check(check::Args),
    /// Show metrics of a run, or compare two metrics files, result folders or git revisions.
    #[command(subcommand)]
    Metrics(metrics::Command),
    /// Write results/<pipeline>/report.html: the DAG, each stage's state, key, duration and
    /// parameters, metrics, plots and the sweep table (self-contained).
    Report(report::Args),
    /// Inspect the model registry: `quakeline model list`, `quakeline model summary pm-cnn --set window=7d`.
    #[command(subcommand)]
    Model(model::Command),
    /// Predict with a trained entry from input files: picks (P, S, probability) from a phase
    /// picker over continuous data or npz traces; strike/dip/rake from fmnet; and the time it took.
    Predict(predict::Args),
    /// Each unit's state on the cluster (cached / queued / running / failed with its job id /
    /// not started), without submitting anything.
    Status(slurm::StatusArgs),
    /// Inside a SLURM job: compute the one cache entry a task of a job file names (exit 0 when it
    /// already exists). Written by `run --executor slurm`; not for typing.
    #[command(hide = true)]
    Worker(slurm::WorkerArgs),
    /// Pack the pipeline, the local files it reads and (--entries) cache entries into one
    /// verified bundle another lab imports.
    Export(share::ExportArgs),
    /// Verify a bundle and lay out its pipeline, files and cache entries (nothing in it runs).
    Import(share::ImportArgs),
    /// Upload the pipeline's cached entries that a remote cache lacks.
    Push(share::PushArgs),
    /// Print the BLAKE3 digest of files (to pin `urls` with `blake3 = [...]`).
    Digest {
        /// Files to hash.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
}

pub fn main() -> i32 {
    let _ = miette::set_hook(Box::new(|_| {
        Box::new(
            miette::MietteHandlerOpts::new()
                .terminal_links(false)
                .wrap_lines(false)
                .context_lines(1)
                .build(),
        )
    }));
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() {
                exit::USAGE
            } else {
                exit::OK
            };
            let _ = e.print();
            return code;
        }
    };
    let result = match cli.command {
        Command::Run(a) => run::exec(*a),
        Command::Plan(a) => plan::exec(a),
        Command::Explain(a) => explain::exec(a),
        Command::Show(a) => show::exec(a),
        Command::Gc(a) => gc::exec(a),
        Command::Stages { md } => stages::exec(md),
        Command::Model(c) => model::exec(c),
        Command::Predict(a) => predict::exec(a),
        Command::Check(a) => check::exec(a),
        Command::Metrics(c) => metrics::exec(c),
        Command::Report(a) => report::exec(a),
        Command::Status(a) => slurm::status(a),
        Command::Worker(a) => slurm::worker(a),
        Command::Export(a) => share::export(a),
        Command::Import(a) => share::import(a),
        Command::Push(a) => share::push(a),
        Command::Digest { files } => digest(files),
    };
    match result {
        Ok(code) => code,
        Err(report) => {
            eprintln!("{report:?}");
            exit::USAGE
        }
    }
}

fn overrides(args: &PipelineArgs) -> miette::Result<Vec<crate::pipeline::Override>> {
    args.set
        .iter()
        .map(|s| crate::pipeline::Override::parse(s).map_err(|e| miette::Report::new(*e)))
        .collect()
}

/// The session of the pipeline exactly as written (with `--set`), no sweep: for verbs about
/// one stage (`explain`, `show`).
pub(crate) fn plain_session(
    args: &PipelineArgs,
    cache: &CacheArgs,
) -> miette::Result<crate::session::Session> {
    args.choose_device(None)?;
    Ok(crate::session::Session::open(
        &args.pipeline,
        crate::stages::REGISTRY,
        &overrides(args)?,
        crate::study::Selection::Off,
        crate::cache::Cache::new(&cache.cache),
    )?)
}

/// Index of stage `id`, or an error listing the stages.
pub(crate) fn stage_index(p: &crate::pipeline::Pipeline, id: &str) -> miette::Result<usize> {
    p.index_of(id).ok_or_else(|| {
        let ids: Vec<&str> = p.stages.iter().map(|s| s.id.as_str()).collect();
        let help = match crate::params::suggest(id, ids.iter().copied()) {
            Some(s) => format!("did you mean `{s}`?"),
            None => format!("the stages are: {}", ids.join(", ")),
        };
        miette::miette!(help = help, "pipeline `{}` has no stage `{id}`", p.name)
    })
}

fn digest(files: Vec<PathBuf>) -> miette::Result<i32> {
    for f in files {
        let (d, _) = crate::cache::hash_file(&f)
            .map_err(|e| miette::miette!("cannot read {}: {e}", f.display()))?;
        outln!("{d}  {}", f.display());
    }
    Ok(exit::OK)
}
