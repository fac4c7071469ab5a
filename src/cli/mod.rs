//! The `quakeline` command line. Each verb's file declares its arguments and calls library code.
//!
//! Exit codes (see [`exit`]): 0 success, 1 a stage failed (or `gc` found nothing to do wrong…
//! never), 2 the command or pipeline is wrong (usage, parse, wiring, unreadable data, cache errors).

mod explain;
mod gc;
mod model;
mod plan;
mod run;
mod show;
mod stages;

use std::path::PathBuf;

use clap::{Parser, Subcommand};

/// Documented exit codes.
pub mod exit {
    /// Everything asked for was done.
    pub const OK: i32 = 0;
    /// The pipeline ran but at least one stage failed or was skipped.
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
    Run(run::Args),
    /// Show every stage's kind, key and state (cached/pending) without running anything.
    Plan(plan::Args),
    /// Say why a stage is not cached: what differs from its newest cached entry.
    Explain(explain::Args),
    /// Show a cached stage output: provenance and datasets with shapes.
    Show(show::Args),
    /// Remove cache entries that the given pipelines do not use.
    Gc(gc::Args),
    /// List the stage kinds with their inputs and parameters.
    Stages,
    /// Inspect models: `quakeline model summary pm-cnn --set window=7d`.
    #[command(subcommand)]
    Model(model::Command),
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
        Command::Run(a) => run::exec(a),
        Command::Plan(a) => plan::exec(a),
        Command::Explain(a) => explain::exec(a),
        Command::Show(a) => show::exec(a),
        Command::Gc(a) => gc::exec(a),
        Command::Stages => stages::exec(),
        Command::Model(c) => model::exec(c),
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

/// Parses `--set` arguments and loads the pipeline.
pub(crate) fn load(args: &PipelineArgs) -> miette::Result<crate::pipeline::Pipeline> {
    let overrides = args
        .set
        .iter()
        .map(|s| crate::pipeline::Override::parse(s).map_err(|e| miette::Report::new(*e)))
        .collect::<Result<Vec<_>, _>>()?;
    crate::pipeline::Pipeline::load(&args.pipeline, crate::stages::REGISTRY, &overrides)
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
        println!("{d}  {}", f.display());
    }
    Ok(exit::OK)
}
