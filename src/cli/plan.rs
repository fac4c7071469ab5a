use crate::stdout::{out, outln};
use std::collections::BTreeMap;

use super::share::RemoteArgs;
use super::{CacheArgs, PipelineArgs, SweepArgs, exit};
use crate::plan::{Plan, State};

#[derive(clap::Args)]
pub(crate) struct Args {
    #[command(flatten)]
    pipeline: PipelineArgs,
    #[command(flatten)]
    sweep: SweepArgs,
    #[command(flatten)]
    cache: CacheArgs,
    /// Print a JSON array of {"stage","kind","key","state"}.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    remote: RemoteArgs,
}

pub(crate) fn exec(a: Args) -> miette::Result<i32> {
    let session = super::session(&a.pipeline, &a.sweep, &a.cache)?;
    // Pending entries a remote cache holds show as `remote` (HEAD requests; nothing is fetched).
    let remote = a.remote.remote(None)?;
    let mut on_remote = std::collections::BTreeSet::new();
    if let Some(r) = &remote {
        match session.on_remote(r) {
            Ok(keys) => on_remote = keys,
            Err(e) => super::share::degrade(e, r, "states are the local cache's")?,
        }
    }
    let state = |sp: &crate::plan::StagePlan| -> &'static str {
        if on_remote.contains(&sp.key) {
            "remote"
        } else {
            sp.state.label()
        }
    };
    if let Some(study) = &session.study {
        let code = sweep_plan(&session.base, study, &session.plans, a.json)?;
        if let Some(r) = &remote {
            eprintln!(
                "remote cache {}: holds {} of the pending entries (`run` fetches them)",
                r.url(),
                on_remote.len()
            );
        }
        return Ok(code);
    }
    let (pipeline, plan) = (&session.base, &session.plans[0]);
    if a.json {
        let rows: Vec<serde_json::Value> = plan
            .dag
            .order()
            .iter()
            .map(|&i| {
                serde_json::json!({
                    "stage": pipeline.stages[i].id,
                    "kind": pipeline.stages[i].kind.info().kind,
                    "key": plan.stages[i].key,
                    "state": state(&plan.stages[i]),
                })
            })
            .collect();
        outln!(
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
        .map(|s| s.kind.info().kind.len())
        .max()
        .unwrap_or(4)
        .max(4);
    outln!("{:w$}  {:k$}  {:7}  key", "stage", "kind", "state");
    for &i in plan.dag.order() {
        let (s, sp) = (&pipeline.stages[i], &plan.stages[i]);
        let note = match &sp.state {
            State::Invalid(r) => format!("  (entry failed verification: {r})"),
            _ => String::new(),
        };
        outln!(
            "{:w$}  {:k$}  {:7}  {}{note}",
            s.id,
            s.kind.info().kind,
            state(sp),
            sp.key
        );
    }
    Ok(exit::OK)
}

/// The points of a sweep and the distinct stage runs they need: a stage whose key all points
/// share is computed once.
fn sweep_plan(
    base: &crate::pipeline::Pipeline,
    study: &crate::study::Study,
    plans: &[Plan],
    json: bool,
) -> miette::Result<i32> {
    // Per point: the stages its targets need.
    let needed: Vec<Vec<bool>> = study
        .pipelines
        .iter()
        .map(|p| p.needed(&study.spec.targets))
        .collect();
    // stage id → key → (cached, points using it)
    let mut per_stage: BTreeMap<usize, BTreeMap<&str, (bool, usize)>> = BTreeMap::new();
    for (needed, plan) in needed.iter().zip(plans) {
        for (i, sp) in plan.stages.iter().enumerate() {
            if !needed[i] {
                continue;
            }
            let e = per_stage
                .entry(i)
                .or_default()
                .entry(sp.key.as_str())
                .or_insert((sp.state == State::Cached, 0));
            e.1 += 1;
        }
    }
    let distinct: usize = per_stage.values().map(|m| m.len()).sum();
    let cached: usize = per_stage
        .values()
        .flat_map(|m| m.values())
        .filter(|(c, _)| *c)
        .count();
    let n = study.points.len();
    if json {
        let points: Vec<serde_json::Value> = study
            .points
            .iter()
            .zip(plans)
            .map(|(p, plan)| {
                serde_json::json!({
                    "point": p.id,
                    "label": p.label,
                    "parameters": p.assignments.iter().map(|(k, v)| (k.clone(), v.canonical.clone())).collect::<serde_json::Map<_, _>>(),
                    "stages": plan.stages.iter().enumerate().map(|(i, sp)| serde_json::json!({
                        "stage": base.stages[i].id, "key": sp.key, "state": sp.state.label(),
                    })).collect::<Vec<_>>(),
                })
            })
            .collect();
        let stages: Vec<serde_json::Value> = per_stage
            .iter()
            .map(|(&i, keys)| {
                serde_json::json!({
                    "stage": base.stages[i].id,
                    "entries": keys.len(),
                    "cached": keys.values().filter(|(c, _)| *c).count(),
                })
            })
            .collect();
        outln!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({
                "sweep": study.spec.name, "points": points, "stages": stages,
                "stage_runs": distinct, "cached": cached, "to_run": distinct - cached,
            }))
            .unwrap_or_default()
        );
        return Ok(exit::OK);
    }
    outln!(
        "sweep `{}` of pipeline `{}`: {n} points (max_runs {})",
        study.spec.name,
        base.name,
        study.spec.max_runs
    );
    let mut rows = vec![vec![
        "point".to_string(),
        "label".into(),
        "cached".into(),
        "pending".into(),
    ]];
    for ((p, plan), needed) in study.points.iter().zip(plans).zip(&needed) {
        let used: Vec<_> = plan
            .stages
            .iter()
            .zip(needed)
            .filter(|(_, n)| **n)
            .collect();
        let c = used
            .iter()
            .filter(|(s, _)| s.state == State::Cached)
            .count();
        rows.push(vec![
            p.id.clone(),
            p.label.clone(),
            format!("{c}/{}", used.len()),
            (used.len() - c).to_string(),
        ]);
    }
    out!("{}", crate::metrics::table(&rows, false));
    outln!();
    let mut rows = vec![vec![
        "stage".to_string(),
        "entries".into(),
        "cached".into(),
        "shared".into(),
    ]];
    for (&i, keys) in &per_stage {
        let c = keys.values().filter(|(c, _)| *c).count();
        let shared = if keys.len() == 1 {
            format!("computed once for all {n} points")
        } else if keys.len() == n {
            "one per point".to_string()
        } else {
            format!("{} settings", keys.len())
        };
        rows.push(vec![
            base.stages[i].id.clone(),
            keys.len().to_string(),
            c.to_string(),
            shared,
        ]);
    }
    out!("{}", crate::metrics::table(&rows, false));
    outln!(
        "{distinct} distinct stage runs for {} point-stages: {cached} cached, {} to run",
        per_stage
            .values()
            .flat_map(|m| m.values())
            .map(|(_, k)| k)
            .sum::<usize>(),
        distinct - cached
    );
    Ok(exit::OK)
}
