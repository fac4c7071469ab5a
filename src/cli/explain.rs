use super::{CacheArgs, PipelineArgs, exit};
use crate::cache::{KeyChange, Manifest};
use crate::pipeline::Pipeline;
use crate::plan::{Plan, State};
use crate::stdout::outln;

#[derive(clap::Args)]
pub(crate) struct Args {
    #[command(flatten)]
    pipeline: PipelineArgs,
    /// The stage id to explain.
    stage: String,
    #[command(flatten)]
    cache: CacheArgs,
}

pub(crate) fn exec(a: Args) -> miette::Result<i32> {
    let session = super::plain_session(&a.pipeline, &a.cache)?;
    let (pipeline, plan, cache) = (&session.base, &session.plans[0], &session.cache);
    let i = super::stage_index(pipeline, &a.stage)?;
    let manifests = cache.manifests();
    for line in explain(pipeline, plan, &manifests, i, 0) {
        outln!("{line}");
    }
    Ok(exit::OK)
}

/// Lines explaining stage `i`; recurses into the upstream stage when an input key changed.
fn explain(
    p: &Pipeline,
    plan: &Plan,
    manifests: &[Manifest],
    i: usize,
    depth: usize,
) -> Vec<String> {
    let (s, sp) = (&p.stages[i], &plan.stages[i]);
    let pad = "  ".repeat(depth);
    match &sp.state {
        State::Cached => return vec![format!("{pad}stage `{}` is cached (key {})", s.id, sp.key)],
        State::Invalid(r) => {
            return vec![format!(
                "{pad}stage `{}` has an entry that failed verification and will be recomputed: {r}",
                s.id
            )];
        }
        State::Pending => {}
    }
    // Newest entry of the same stage id, preferring the same pipeline name.
    let newest = manifests
        .iter()
        .filter(|m| m.stage == s.id)
        .max_by(|a, b| (a.pipeline == p.name, &a.created).cmp(&(b.pipeline == p.name, &b.created)));
    let Some(old) = newest else {
        return vec![format!(
            "{pad}stage `{}` is pending: no entry of a stage `{}` exists in this cache, so it has never run here",
            s.id, s.id
        )];
    };
    let changes = old.fields.diff(&sp.fields);
    let mut out = vec![format!(
        "{pad}stage `{}` is pending (key {}); compared with its newest cached entry {} of {}:",
        s.id,
        &sp.key[..12],
        &old.key[..12],
        old.created
    )];
    if changes.is_empty() {
        out.push(format!(
            "{pad}  the key fields are equal; the entry was removed or is being written"
        ));
    }
    for c in changes {
        out.push(format!("{pad}  {c}"));
        if let KeyChange::Input { name, .. } = &c {
            let up = s.inputs.get(name).and_then(|r| p.index_of(&r.stage));
            if let Some(u) = up {
                out.extend(explain(p, plan, manifests, u, depth + 2));
            }
        }
    }
    out
}
