//! `quakeline model summary NAME [--set KEY=VALUE]…` and `quakeline model list`: what the
//! [`crate::models`] registry holds — a model's citation, input contract, layer table and
//! trainable-parameter count for an input size, without data.
//!
//! Settings are the model's own (`pm-cnn`: `window=7d`, `interval=1m`, `components=3`, the way a
//! pipeline gives its windows; `fmnet` has a fixed input).

use crate::stdout::outln;
use clap::Subcommand;

use super::exit;
use crate::models::{self, MODELS};
use crate::nn::LayerRow;

#[derive(Subcommand)]
pub(crate) enum Command {
    /// Print a model's layer table and parameter count for an input size.
    Summary {
        /// Model name (`quakeline model list`).
        name: String,
        /// Input settings of the model, e.g. window=DURATION, interval=DURATION, components=N
        /// for pm-cnn. Repeatable.
        #[arg(long = "set", value_name = "KEY=VALUE")]
        set: Vec<String>,
    },
    /// List the models `train` can fit, with their citations and input contracts.
    List,
}

pub(crate) fn exec(c: Command) -> miette::Result<i32> {
    let (name, set) = match c {
        Command::List => {
            for m in MODELS {
                outln!("{} — {}", m.name, m.summary);
                outln!(
                    "  citation  {}",
                    m.citation.split_whitespace().collect::<Vec<_>>().join(" ")
                );
                outln!("  trains on {}", m.trains_on.name);
                for (what, text) in m.contract.describe() {
                    outln!("  {what:<9} {text}");
                }
                let own: Vec<&str> = m.params.specs.iter().map(|s| s.name).collect();
                if !own.is_empty() {
                    outln!("  own train parameters: {}", own.join(", "));
                }
                outln!();
            }
            return Ok(exit::OK);
        }
        Command::Summary { name, set } => (name, set),
    };
    let Some(model) = models::get(&name) else {
        eprintln!(
            "error: unknown model `{name}`; known models: {}",
            models::NAMES.join(", ")
        );
        return Ok(exit::USAGE);
    };
    let mut settings = Vec::new();
    for s in &set {
        let Some((k, v)) = s.split_once('=') else {
            eprintln!("error: --set `{s}`: expected KEY=VALUE, e.g. --set window=7d");
            return Ok(exit::USAGE);
        };
        settings.push((k.trim(), v.trim().trim_matches('"')));
    }
    match (model.layers)(&settings) {
        Ok(summary) => {
            outln!("{name}: {}", summary.input);
            print_table(&summary.layers);
            Ok(exit::OK)
        }
        Err(e) => {
            eprintln!("error: {e}");
            Ok(exit::USAGE)
        }
    }
}

/// A model's layer table and its trainable-parameter total (the sum of the rows).
fn print_table(layers: &[LayerRow]) {
    let name_w = layers
        .iter()
        .map(|l| l.name.len())
        .max()
        .unwrap_or(0)
        .max(8);
    let kind_w = layers
        .iter()
        .map(|l| l.kind.len())
        .max()
        .unwrap_or(0)
        .max(11);
    outln!(
        "{:<name_w$} {:<kind_w$} {:>7} {:>6} {:>10}  {:<18} {:>12}",
        "layer",
        "type",
        "filters",
        "window",
        "activation",
        "output",
        "parameters"
    );
    for l in layers {
        let out = l
            .output
            .iter()
            .map(|d| group(*d))
            .collect::<Vec<_>>()
            .join(" x ");
        outln!(
            "{:<name_w$} {:<kind_w$} {:>7} {:>6} {:>10}  {:<18} {:>12}",
            l.name,
            l.kind,
            l.filters,
            l.window,
            l.activation,
            out,
            group(l.parameters)
        );
    }
    outln!(
        "trainable parameters: {}",
        group(layers.iter().map(|l| l.parameters).sum())
    );
}

/// 30984834 → "30,984,834".
fn group(n: usize) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, ch) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    out
}
