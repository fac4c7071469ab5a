use super::{CacheArgs, PipelineArgs, exit};
use crate::cache::Cache;
use crate::plan::{Plan, State};

#[derive(clap::Args)]
pub(crate) struct Args {
    #[command(flatten)]
    pipeline: PipelineArgs,
    #[command(flatten)]
    cache: CacheArgs,
    /// Print a JSON array of {"stage","kind","key","state"}.
    #[arg(long)]
    json: bool,
}

pub(crate) fn exec(a: Args) -> miette::Result<i32> {
    let pipeline = super::load(&a.pipeline)?;
    let cache = Cache::new(&a.cache.cache);
    let plan = Plan::make(&pipeline, &cache)?;
    if a.json {
        let rows: Vec<serde_json::Value> = plan
            .dag
            .order()
            .iter()
            .map(|&i| {
                serde_json::json!({
                    "stage": pipeline.stages[i].id,
                    "kind": pipeline.stages[i].kind.kind(),
                    "key": plan.stages[i].key,
                    "state": plan.stages[i].state.label(),
                })
            })
            .collect();
        println!(
            "{}",
            serde_json::to_string_pretty(&rows).unwrap_or_default()
        );
        return Ok(exit::OK);
    }
    let w = pipeline
        .stages
        .iter()
        .map(|s| s.id.len())
        .max()
        .unwrap_or(5)
        .max(5);
    let k = pipeline
        .stages
        .iter()
        .map(|s| s.kind.kind().len())
        .max()
        .unwrap_or(4)
        .max(4);
    println!("{:w$}  {:k$}  {:7}  key", "stage", "kind", "state");
    for &i in plan.dag.order() {
        let (s, sp) = (&pipeline.stages[i], &plan.stages[i]);
        let note = match &sp.state {
            State::Invalid(r) => format!("  (entry failed verification: {r})"),
            _ => String::new(),
        };
        println!(
            "{:w$}  {:k$}  {:7}  {}{note}",
            s.id,
            s.kind.kind(),
            sp.state.label(),
            sp.key
        );
    }
    Ok(exit::OK)
}
