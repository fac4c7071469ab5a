use super::{CacheArgs, PipelineArgs, SweepArgs, exit};
use crate::gates;
use crate::stdout::{out, outln};

#[derive(clap::Args)]
pub(crate) struct Args {
    #[command(flatten)]
    pipeline: PipelineArgs,
    #[command(flatten)]
    sweep: SweepArgs,
    #[command(flatten)]
    cache: CacheArgs,
    /// Baseline metrics for the relative gates: a file, a results folder, REV:PATH or a
    /// revision [default: `baseline` in [gates], relative to the pipeline file].
    #[arg(long, value_name = "FILE")]
    baseline: Option<String>,
    #[command(flatten)]
    format: super::metrics::Format,
}

pub(crate) fn exec(a: Args) -> miette::Result<i32> {
    let session = super::session(&a.pipeline, &a.sweep, &a.cache)?;
    let g = &session.base.gates;
    if g.gates.is_empty() {
        return Err(miette::miette!(
            help = "add a [gates] table, e.g. \"evaluate.accuracy\" = { min = 0.9 }",
            "pipeline file {} has no gates to check",
            session.base.path.display()
        ));
    }
    let crate::session::Collected {
        file: current,
        missing,
        ..
    } = super::collect(&session)?;
    if !missing.is_empty() {
        return Err(miette::miette!(
            help = format!(
                "run it first: quakeline run {}",
                a.pipeline.pipeline.display()
            ),
            "the metrics are not computed for the current pipeline: {} not in the cache",
            missing.join(", ")
        ));
    }
    let baseline_arg = a.baseline.clone().or_else(|| {
        g.baseline
            .as_ref()
            .map(|b| session.base.dir.join(b).display().to_string())
    });
    let baseline = match &baseline_arg {
        Some(b) => Some(super::metrics::load_arg(b, None)?),
        None if g.needs_baseline() => {
            return Err(miette::miette!(
                help = "pass --baseline FILE, or set baseline = \"…\" in [gates]",
                "the gates of {} compare against a baseline, and none was given",
                session.base.path.display()
            ));
        }
        None => None,
    };
    if let Some(b) = &baseline {
        if !b.pipeline.is_empty() && b.pipeline != session.base.name {
            return Err(miette::miette!(
                help = "compare a pipeline with its own baseline",
                "baseline {} comes from pipeline `{}`, not `{}`",
                baseline_arg.as_deref().unwrap_or(""),
                b.pipeline,
                session.base.name
            ));
        }
        let cur_sweep = current.sweep.as_deref();
        if !b.pipeline.is_empty() && b.sweep.as_deref() != cur_sweep {
            return Err(miette::miette!(
                help = "check a sweep against a baseline of the same sweep (results/<pipeline>/<sweep>/metrics.json)",
                "baseline {} is from {}, the current metrics from {}",
                baseline_arg.as_deref().unwrap_or(""),
                b.sweep
                    .as_deref()
                    .map_or("a plain run".to_string(), |s| format!("sweep `{s}`")),
                cur_sweep.map_or("a plain run".to_string(), |s| format!("sweep `{s}`"))
            ));
        }
    }
    let verdicts = gates::check(g, &current, baseline.as_ref());
    let failed = verdicts.iter().filter(|v| !v.pass).count();
    if a.format.json {
        outln!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({
                "pipeline": session.base.name,
                "baseline": baseline_arg,
                "passed": failed == 0,
                "gates": verdicts,
            }))
            .unwrap_or_default()
        );
    } else {
        out!("{}", gates::table(&verdicts, a.format.md));
        if failed == 0 {
            outln!("all {} gate condition(s) pass", verdicts.len());
        } else {
            outln!("{failed} of {} gate condition(s) FAILED", verdicts.len());
        }
    }
    Ok(if failed == 0 {
        exit::OK
    } else {
        exit::STAGE_FAILED
    })
}
