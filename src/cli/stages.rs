use super::exit;
use crate::params::Presence;
use crate::stages::REGISTRY;

/// Help for every kind, generated from the same declarations that validate pipeline files.
pub(crate) fn exec() -> miette::Result<i32> {
    for s in REGISTRY {
        println!("{} (version {}) — {}", s.kind(), s.version(), s.summary());
        for i in s.inputs() {
            println!("  input  {:14} {}", i.name, i.doc);
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
        for m in s.metrics() {
            println!(
                "  metric {:14} {} [{} is better]",
                m.name,
                m.doc,
                m.direction.label()
            );
        }
        if s.stochastic() {
            println!("  (stochastic: the seed is part of its key)");
        }
        println!();
    }
    Ok(exit::OK)
}
