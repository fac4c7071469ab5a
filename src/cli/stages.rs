//! `quakeline stages [--md]`: every stage kind with its inputs, outputs, parameters and metrics,
//! generated from the declarations that validate pipeline files. The plain listing is
//! snapshot-tested (`tests/data/snapshots/stages.txt`) and the `--md` table is the README's list
//! of kinds (a test keeps the two equal).

use crate::stdout::out;
use std::fmt::Write as _;

use super::exit;
use crate::params::Presence;
use crate::stage::{DataKind, Outputs};
use crate::stages::REGISTRY;

pub(crate) fn exec(md: bool) -> miette::Result<i32> {
    out!("{}", if md { markdown() } else { text() });
    Ok(exit::OK)
}

fn kinds(k: &[DataKind], sep: &str) -> String {
    k.iter().map(|k| k.name).collect::<Vec<_>>().join(sep)
}

/// Help for every kind.
fn text() -> String {
    let mut out = String::new();
    for s in REGISTRY {
        let info = s.info();
        let _ = writeln!(
            out,
            "{} (version {}) — {}",
            info.kind, info.version, info.summary
        );
        for i in info.inputs {
            let _ = writeln!(
                out,
                "  input  {:14} {} [{}{}]",
                i.name,
                i.doc,
                kinds(i.accepts, " | "),
                if i.optional { "; optional" } else { "" }
            );
        }
        match info.outputs {
            Outputs::Root(k) => {
                let _ = writeln!(out, "  output {:14} {}", "", k.name);
            }
            Outputs::Named(named) => {
                for (name, k) in named {
                    let _ = writeln!(out, "  output {name:14} {}", k.name);
                }
            }
            Outputs::SameAs(input) => {
                let _ = writeln!(out, "  output {:14} what `{input}` reads", "");
            }
        }
        for p in s.params() {
            let presence = match p.presence {
                Presence::Required => "required".to_string(),
                Presence::Default(d) => format!("default {d}"),
                Presence::Optional => "optional".to_string(),
            };
            let _ = writeln!(
                out,
                "  param  {:14} {}; {} [{presence}]",
                p.name,
                p.doc,
                p.ty.describe()
            );
        }
        for m in info.metrics {
            let _ = writeln!(
                out,
                "  metric {:14} {} [{} is better]",
                m.name,
                m.doc,
                m.direction.label()
            );
        }
        if info.stochastic {
            let _ = writeln!(out, "  (stochastic: the seed is part of its key)");
        }
        let _ = writeln!(out);
    }
    out
}

/// One Markdown row per kind: kind, what it reads and writes, what it does.
fn markdown() -> String {
    let mut out = String::from("| kind | reads | writes | what |\n|---|---|---|---|\n");
    for s in REGISTRY {
        let info = s.info();
        let reads = if info.inputs.is_empty() {
            "–".to_string()
        } else {
            info.inputs
                .iter()
                .map(|i| {
                    format!(
                        "`{}`{}: {}",
                        i.name,
                        if i.optional { " (optional)" } else { "" },
                        kinds(i.accepts, " or ")
                    )
                })
                .collect::<Vec<_>>()
                .join("; ")
        };
        let writes = match info.outputs {
            Outputs::Root(k) => k.name.to_string(),
            Outputs::SameAs(input) => format!("what `{input}` reads"),
            Outputs::Named(named) => named
                .iter()
                .map(|(n, k)| format!("`{n}`: {}", k.name))
                .collect::<Vec<_>>()
                .join("; "),
        };
        let _ = writeln!(
            out,
            "| `{}` | {reads} | {writes} | {} |",
            info.kind,
            info.summary.replace('|', "\\|")
        );
    }
    out
}
