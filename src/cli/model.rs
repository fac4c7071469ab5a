//! `quakeline model summary NAME [--set window=7d] [--set interval=1m] [--set components=3]`:
//! the layer table and trainable-parameter count of a model for an input size, without data.
//!
//! The input is given the way a pipeline gives it — a window duration and a sampling interval —
//! so `--set window=7d` answers "how big is the network for week-long 1-minute windows" (Petrescu
//! & Moldovan 2022, Table 2: 30,984,834 parameters).

use clap::Subcommand;

use super::exit;
use crate::nn::fmnet;
use crate::nn::pm_cnn::{self, Shape};
use crate::time::{NS_PER_DAY, NS_PER_S};
use crate::units::{format_duration_ns, parse_duration_ns};

#[derive(Subcommand)]
pub(crate) enum Command {
    /// Print a model's layer table and parameter count for an input size.
    Summary {
        /// Model name (pm-cnn, fmnet).
        name: String,
        /// Input settings: window=DURATION (default 7d), interval=DURATION (default 1m),
        /// components=N (default 3). Repeatable.
        #[arg(long = "set", value_name = "KEY=VALUE")]
        set: Vec<String>,
    },
}

pub(crate) fn exec(c: Command) -> miette::Result<i32> {
    let Command::Summary { name, set } = c;
    if !crate::nn::MODELS.contains(&name.as_str()) {
        eprintln!(
            "error: unknown model `{name}`; known models: {}",
            crate::nn::MODELS.join(", ")
        );
        return Ok(exit::USAGE);
    }
    if name == "fmnet" {
        if let Some(s) = set.first() {
            eprintln!(
                "error: --set `{s}`: FMNet's published topology has a fixed input of {} x {} (16 stations x 3 components, 128 samples)",
                fmnet::ROWS,
                fmnet::SAMPLES
            );
            return Ok(exit::USAGE);
        }
        println!(
            "fmnet: input [{} x {}] (16 stations x 3 components, {} samples at 1 s); output [3 x {}] (strike, dip, rake curves)",
            fmnet::ROWS,
            fmnet::SAMPLES,
            fmnet::SAMPLES,
            fmnet::SAMPLES
        );
        print_table(&fmnet::layers(&fmnet::Fmnet::new(0, &crate::nn::device())));
        return Ok(exit::OK);
    }
    let (mut window, mut interval, mut rows) = (7 * NS_PER_DAY, 60 * NS_PER_S, 3usize);
    for s in &set {
        let Some((k, v)) = s.split_once('=') else {
            eprintln!("error: --set `{s}`: expected KEY=VALUE, e.g. --set window=7d");
            return Ok(exit::USAGE);
        };
        let v = v.trim().trim_matches('"');
        let parsed = match k.trim() {
            "window" => parse_duration_ns(v).map(|ns| window = ns),
            "interval" => parse_duration_ns(v).map(|ns| interval = ns),
            "components" => v
                .parse::<usize>()
                .ok()
                .filter(|&n| n > 0)
                .map(|n| rows = n)
                .ok_or_else(|| "expected a positive integer".to_string()),
            other => Err(format!(
                "unknown setting `{other}` (window, interval, components)"
            )),
        };
        if let Err(e) = parsed {
            eprintln!("error: --set `{s}`: {e}");
            return Ok(exit::USAGE);
        }
    }
    if window <= 0 || interval <= 0 || window % interval != 0 {
        eprintln!(
            "error: the window ({}) must be a positive whole number of sampling intervals ({})",
            format_duration_ns(window),
            format_duration_ns(interval)
        );
        return Ok(exit::USAGE);
    }
    let shape = Shape {
        rows,
        samples: (window / interval) as usize,
    };
    if shape.samples < 4 {
        eprintln!("error: pm-cnn needs at least 4 samples per window (two 1x2 poolings)");
        return Ok(exit::USAGE);
    }
    println!(
        "{name}: input [{} x {}] ({} components, {} window at {} sampling)",
        shape.rows,
        shape.samples,
        shape.rows,
        format_duration_ns(window),
        format_duration_ns(interval)
    );
    print_table(&pm_cnn::layers(shape));
    Ok(exit::OK)
}

/// A model's layer table and its trainable-parameter total (the sum of the rows).
fn print_table(layers: &[pm_cnn::LayerRow]) {
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
    println!(
        "{:<name_w$} {:<kind_w$} {:>7} {:>6} {:>10}  {:<18} {:>12}",
        "layer", "type", "filters", "window", "activation", "output", "parameters"
    );
    for l in layers {
        let out = l
            .output
            .iter()
            .map(|d| group(*d))
            .collect::<Vec<_>>()
            .join(" x ");
        println!(
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
    println!(
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
