//! `[gates]` of a pipeline file: the conditions `quakeline check` enforces ([`crate::gates`]
//! evaluates them against metrics).
//!
//!
//! ```toml
//! [gates]
//! baseline = "../results/baselines/quickstart/metrics.json"   # default for --baseline (optional)
//! k_sigma = 2.0                                               # default allowance for seed sweeps
//! "evaluate.accuracy" = { min = 0.95 }
//! "evaluate.loss"     = { max_increase = 0.02, max_rel_increase = 0.05 }
//! "train.validation_loss" = { max_regression = 0.01 }        # direction-aware
//! ```
//!
//! Conditions (any combination per metric):
//! - absolute: `min`, `max`;
//! - against the baseline: `max_increase`, `max_rel_increase`, `max_decrease`, `max_rel_decrease`,
//!   and the direction-aware `max_regression`, `max_rel_regression` (a decrease for a
//!   higher-is-better metric, an increase for a lower-is-better one);
//! - `min_improvement` (absolute, direction-aware; MLflow's `min_absolute_change`) for
//!   "must beat the baseline" gates.
//!
//! Compared with MLflow's `MetricThreshold` (a threshold, a minimum absolute and relative change
//! and a direction), a gate here also bounds regressions by size instead of demanding
//! improvement, and it knows about replicates: when the metric is a mean over seeds (a sweep over
//! seeds), every bound is widened by `k_sigma` standard deviations — the run's own for absolute
//! bounds, `sqrt(σ_new² + σ_baseline²)` for changes — so seed noise alone does not fail a build.
//! A gate named `stage.metric` applies to that metric in every group of a sweep
//! (`train.optimizer=adam/evaluate.accuracy`, …).

use std::ops::Range;

use toml_edit::Item;

use crate::diag::{Source, SourceError};
use crate::params::suggest;
use crate::stage::Direction;

const CONDITIONS: [&str; 9] = [
    "min",
    "max",
    "max_increase",
    "max_rel_increase",
    "max_decrease",
    "max_rel_decrease",
    "max_regression",
    "max_rel_regression",
    "min_improvement",
];

/// Default number of standard deviations a seed-averaged metric may deviate.
pub const DEFAULT_K_SIGMA: f64 = 2.0;

#[derive(Clone, Debug)]
pub struct Gate {
    pub metric: String,
    /// (condition name, limit) in file order.
    pub conditions: Vec<(&'static str, f64)>,
    pub k_sigma: Option<f64>,
    pub span: Range<usize>,
}

#[derive(Clone, Debug, Default)]
pub struct Gates {
    pub gates: Vec<Gate>,
    /// `baseline = "…"`, relative to the pipeline file.
    pub baseline: Option<String>,
    pub k_sigma: Option<f64>,
}

impl Gates {
    pub fn needs_baseline(&self) -> bool {
        self.gates.iter().any(|g| {
            g.conditions
                .iter()
                .any(|(c, _)| !matches!(*c, "min" | "max"))
        })
    }
}

/// Parses `[gates]`; metric names are checked against what the pipeline's stages declare.
pub fn parse(
    source: &Source,
    item: &Item,
    metrics: &[(String, Direction)],
    errors: &mut Vec<SourceError>,
) -> Gates {
    let mut out = Gates::default();
    let Some(table) = item.as_table_like() else {
        errors.push(source.error(item.span().unwrap_or(0..0), "`gates` must be a table"));
        return out;
    };
    let names: Vec<String> = metrics.iter().map(|(n, _)| n.clone()).collect();
    for (key, item) in table.iter() {
        let kspan = table.key(key).and_then(|k| k.span()).unwrap_or(0..0);
        let vspan = item.span().unwrap_or(kspan.clone());
        match key {
            "baseline" => match item.as_str() {
                Some(s) => out.baseline = Some(s.to_string()),
                None => errors.push(source.error(
                    vspan,
                    "`baseline` must be a path (string) to a metrics file",
                )),
            },
            "k_sigma" => match number(item) {
                Some(k) if k >= 0.0 => out.k_sigma = Some(k),
                _ => errors.push(source.error(vspan, "`k_sigma` must be a number >= 0")),
            },
            metric => {
                let direction = metrics.iter().find(|(n, _)| n == metric).map(|(_, d)| *d);
                if direction.is_none() {
                    errors.push(
                        source
                            .error(
                                kspan.clone(),
                                format!(
                                    "gate on `{metric}`, which no stage of this pipeline produces"
                                ),
                            )
                            .help(super::sweep::metric_help(metric, &names)),
                    );
                }
                let Some(t) = item.as_table_like() else {
                    errors.push(source.error(
                        vspan,
                        format!("gate `{metric}` must be a table such as {{ min = 0.9 }}"),
                    ));
                    continue;
                };
                let mut gate = Gate {
                    metric: metric.to_string(),
                    conditions: Vec::new(),
                    k_sigma: None,
                    span: kspan.clone(),
                };
                for (c, v) in t.iter() {
                    let cspan = t.key(c).and_then(|k| k.span()).unwrap_or(vspan.clone());
                    let Some(x) = number(v) else {
                        errors.push(source.error(cspan, format!("`{c}` must be a number")));
                        continue;
                    };
                    if c == "k_sigma" {
                        if x < 0.0 {
                            errors.push(source.error(cspan, "`k_sigma` must be >= 0"));
                        }
                        gate.k_sigma = Some(x);
                        continue;
                    }
                    let Some(&name) = CONDITIONS.iter().find(|n| **n == c) else {
                        errors.push(
                            source
                                .error(cspan, format!("unknown gate condition `{c}`"))
                                .help(match suggest(c, CONDITIONS) {
                                    Some(s) => format!("did you mean `{s}`?"),
                                    None => {
                                        format!("conditions: {}, k_sigma", CONDITIONS.join(", "))
                                    }
                                }),
                        );
                        continue;
                    };
                    if name.starts_with("max_") && x < 0.0 {
                        errors.push(source.error(
                            cspan.clone(),
                            format!("`{c}` is an allowance and must be >= 0"),
                        ));
                    }
                    if matches!(
                        name,
                        "max_regression" | "max_rel_regression" | "min_improvement"
                    ) && direction == Some(Direction::Neither)
                    {
                        errors.push(
                            source
                                .error(cspan, format!("`{c}` needs a direction, and `{metric}` has none (neither higher nor lower is better)"))
                                .help("use max_increase / max_decrease instead"),
                        );
                    }
                    gate.conditions.push((name, x));
                }
                if gate.conditions.is_empty() {
                    errors.push(
                        source
                            .error(vspan, format!("gate `{metric}` has no condition"))
                            .help(format!("conditions: {}", CONDITIONS.join(", "))),
                    );
                }
                out.gates.push(gate);
            }
        }
    }
    out
}

fn number(item: &Item) -> Option<f64> {
    item.as_value()
        .and_then(crate::params::toml_number)
        .filter(|x| x.is_finite())
}
