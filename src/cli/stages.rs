use super::exit;
use crate::params::Presence;
use crate::stage::{DataKind, Outputs};
use crate::stages::REGISTRY;

/// Help for every kind, generated from the same declarations that validate pipeline files.
pub(crate) fn exec() -> miette::Result<i32> {
    for s in REGISTRY {
        let info = s.info();
        println!(
            "{} (version {}) — {}",
            info.kind, info.version, info.summary
        );
        let kinds = |k: &[DataKind]| k.iter().map(|k| k.name).collect::<Vec<_>>().join(" | ");
        for i in info.inputs {
            println!("  input  {:14} {} [{}]", i.name, i.doc, kinds(i.accepts));
        }
        match info.outputs {
            Outputs::Root(k) => println!("  output {:14} {}", "", k.name),
            Outputs::Named(named) => {
                for (name, k) in named {
                    println!("  output {name:14} {}", k.name);
                }
            }
        }
        for p in s.params() {
            let presence = match p.presence {
                Presence::Required => "required".to_string(),
                Presence::Default(d) => format!("default {d}"),
                Presence::Optional => "optional".to_string(),
            };
            println!(
                "  param  {:14} {}; {} [{presence}]",
                p.name,
                p.doc,
                p.ty.describe()
            );
        }
        for m in info.metrics {
            println!(
                "  metric {:14} {} [{} is better]",
                m.name,
                m.doc,
                m.direction.label()
            );
        }
        if info.stochastic {
            println!("  (stochastic: the seed is part of its key)");
        }
        println!();
    }
    Ok(exit::OK)
}
