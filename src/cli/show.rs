use super::{CacheArgs, PipelineArgs, SweepArgs, exit};
use crate::cache::Lookup;
use crate::stdout::outln;

#[derive(clap::Args)]
pub(crate) struct Args {
    #[command(flatten)]
    pipeline: PipelineArgs,
    /// The stage id to show.
    stage: String,
    #[command(flatten)]
    sweep: SweepArgs,
    #[command(flatten)]
    cache: CacheArgs,
}

/// One entry, or (with a sweep) the stage's entry of every point, each under its point's label.
pub(crate) fn exec(a: Args) -> miette::Result<i32> {
    let session = super::session(&a.pipeline, &a.sweep, &a.cache)?;
    let members = session.members();
    let i = super::stage_index(members[0].pipeline, &a.stage)?;
    for (n, member) in members.iter().enumerate() {
        if let Some(point) = member.point {
            if n > 0 {
                outln!();
            }
            outln!("point     {} ({})", point.id, point.label);
        }
        show(
            &a,
            &session.cache,
            member.pipeline,
            &member.plan.stages[i].key,
            i,
        )?;
    }
    Ok(exit::OK)
}

fn show(
    a: &Args,
    cache: &crate::cache::Cache,
    pipeline: &crate::pipeline::Pipeline,
    key: &str,
    i: usize,
) -> miette::Result<()> {
    let entry = match cache.lookup(key) {
        Lookup::Hit(e) => e,
        Lookup::Missing => {
            return Err(miette::miette!(
                help = format!(
                    "run it first: quakeline run {}",
                    a.pipeline.pipeline.display()
                ),
                "stage `{}` is not cached",
                a.stage
            ));
        }
        Lookup::Invalid(r) => {
            return Err(miette::miette!(
                "the entry of stage `{}` failed verification: {r}",
                a.stage
            ));
        }
    };
    let m = &entry.manifest;
    outln!("stage     {} ({})", m.stage, m.kind);
    outln!("key       {}", m.key);
    outln!(
        "file      {} ({} bytes, BLAKE3 {})",
        entry.path.display(),
        m.size,
        m.blake3
    );
    outln!("created   {} by pipeline `{}`", m.created, m.pipeline);
    if let Some(machine) = &m.machine {
        outln!("machine   {machine}");
    }
    outln!("params    {}", pipeline.stages[i].params.all_json());
    for (name, key) in &m.fields.inputs {
        outln!("input     {name} = {key}");
    }
    if let Some(seed) = m.fields.seed {
        outln!("seed      {seed}");
    }
    let file = entry.open()?;
    let attrs = file.attr_names().map_err(|e| miette::miette!("{e}"))?;
    outln!("attributes:");
    for name in attrs.iter().filter(|n| !n.starts_with("quakeline_")) {
        outln!("  {name} = {}", attr_text(&file, name));
    }
    outln!("datasets:");
    list(&file, "", &mut |line| outln!("  {line}"));
    Ok(())
}

fn attr_text(loc: &hdf5::Location, name: &str) -> String {
    use hdf5::types::TypeDescriptor as T;
    let Ok(a) = loc.attr(name) else {
        return "?".into();
    };
    let Ok(ty) = a.dtype().and_then(|t| t.to_descriptor()) else {
        return "?".into();
    };
    let text = match ty {
        T::VarLenUnicode => a
            .read_scalar::<hdf5::types::VarLenUnicode>()
            .map(|s| s.as_str().to_string()),
        T::Integer(_) | T::Unsigned(_) => a.read_raw::<i64>().map(|v| join(&v)),
        T::Float(_) => a.read_raw::<f64>().map(|v| join(&v)),
        other => Ok(format!("<{other}>")),
    };
    text.unwrap_or_else(|_| "?".into())
}

fn join<T: std::fmt::Display>(v: &[T]) -> String {
    match v {
        [one] => one.to_string(),
        many => format!(
            "[{}]",
            many.iter()
                .map(|x| x.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

fn list(g: &hdf5::Group, prefix: &str, out: &mut dyn FnMut(String)) {
    let Ok(names) = g.member_names() else { return };
    for n in names {
        let path = format!("{prefix}{n}");
        if let Ok(ds) = g.dataset(&n) {
            let ty = ds
                .dtype()
                .ok()
                .and_then(|t| t.to_descriptor().ok())
                .map(|d| format!("{d}"))
                .unwrap_or_default();
            out(format!("{path:24} {:?} {ty}", ds.shape()));
        } else if let Ok(sub) = g.group(&n) {
            list(&sub, &format!("{path}/"), out);
        }
    }
}
