//! Metric gates: the conditions `quakeline check` enforces, so CI fails when a model gets worse.
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

use serde::Serialize;
use toml_edit::Item;

use crate::diag::{Source, SourceError};
use crate::metrics::{Metric, MetricsFile, fmt};
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
                            .help(crate::sweep::metric_help(metric, &names)),
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

/// The result of one condition on one metric.
#[derive(Clone, Debug, Serialize)]
pub struct Verdict {
    pub metric: String,
    pub condition: String,
    pub limit: f64,
    pub value: Option<f64>,
    pub baseline: Option<f64>,
    /// The compared quantity: the value (absolute bounds) or the change (relative to baseline).
    pub observed: Option<f64>,
    /// How much the bound was widened for seed noise.
    pub allowance: f64,
    /// Distance to the bound, positive when inside (passing), negative when outside.
    pub margin: Option<f64>,
    pub pass: bool,
    pub note: String,
}

/// Checks every gate against `current` (and `baseline` for relative conditions). Gates whose
/// metric is missing in `current` fail; a relative gate whose metric the baseline lacks fails
/// with a note (update the baseline).
pub fn check(gates: &Gates, current: &MetricsFile, baseline: Option<&MetricsFile>) -> Vec<Verdict> {
    let mut out = Vec::new();
    for g in &gates.gates {
        let k = g.k_sigma.or(gates.k_sigma).unwrap_or(DEFAULT_K_SIGMA);
        let matching: Vec<(&String, &Metric)> = current
            .metrics
            .iter()
            .filter(|(name, _)| {
                *name == &g.metric || name.rsplit_once('/').is_some_and(|(_, m)| m == g.metric)
            })
            .collect();
        if matching.is_empty() {
            for (c, limit) in &g.conditions {
                out.push(Verdict {
                    metric: g.metric.clone(),
                    condition: c.to_string(),
                    limit: *limit,
                    value: None,
                    baseline: None,
                    observed: None,
                    allowance: 0.0,
                    margin: None,
                    pass: false,
                    note: "metric not in the current results (did its stage run?)".into(),
                });
            }
            continue;
        }
        for (name, m) in matching {
            let base = baseline.and_then(|b| b.metrics.get(name));
            for (c, limit) in &g.conditions {
                out.push(condition(name, m, base, c, *limit, k));
            }
        }
    }
    out
}

/// Gate arithmetic for one condition (see the module docs).
pub fn condition(
    name: &str,
    m: &Metric,
    base: Option<&Metric>,
    c: &str,
    limit: f64,
    k_sigma: f64,
) -> Verdict {
    let mut v = Verdict {
        metric: name.to_string(),
        condition: c.to_string(),
        limit,
        value: m.value,
        baseline: base.and_then(|b| b.value),
        observed: None,
        allowance: 0.0,
        margin: None,
        pass: false,
        note: String::new(),
    };
    let Some(value) = m.value else {
        v.note = "the stage could not compute this metric (null)".into();
        return v;
    };
    let s_new = m.std.unwrap_or(0.0);
    match c {
        "min" | "max" => {
            v.allowance = k_sigma * s_new;
            v.observed = Some(value);
            let margin = if c == "min" {
                value - limit
            } else {
                limit - value
            } + v.allowance;
            v.margin = Some(margin);
            v.pass = margin >= 0.0;
            return v;
        }
        _ => {}
    }
    let Some(b) = base.and_then(|b| b.value) else {
        v.note = if base.is_some() {
            "the baseline's value is null".into()
        } else {
            "the baseline has no such metric (regenerate the baseline?)".into()
        };
        return v;
    };
    let s_base = base.and_then(|b| b.std).unwrap_or(0.0);
    let sd = (s_new * s_new + s_base * s_base).sqrt();
    let change = value - b;
    // Signed so that "worse" is positive for the regression conditions.
    let worse = match m.direction {
        Direction::Higher => -change,
        Direction::Lower => change,
        Direction::Neither => f64::NAN,
    };
    let relative = |x: f64| if b != 0.0 { Some(x / b.abs()) } else { None };
    let (observed, allowance) = match c {
        "max_increase" => (Some(change), k_sigma * sd),
        "max_decrease" => (Some(-change), k_sigma * sd),
        "max_regression" => (Some(worse), k_sigma * sd),
        "max_rel_increase" => (relative(change), relative(k_sigma * sd).unwrap_or(0.0)),
        "max_rel_decrease" => (relative(-change), relative(k_sigma * sd).unwrap_or(0.0)),
        "max_rel_regression" => (relative(worse), relative(k_sigma * sd).unwrap_or(0.0)),
        // Improvement must be at least `limit`: observed = improvement, margin = observed − limit.
        "min_improvement" => {
            v.observed = Some(-worse);
            v.allowance = k_sigma * sd;
            let margin = -worse + v.allowance - limit;
            v.margin = Some(margin);
            v.pass = margin >= 0.0;
            return v;
        }
        _ => (None, 0.0),
    };
    v.allowance = allowance;
    v.observed = observed;
    match observed {
        Some(o) if o.is_finite() => {
            let margin = limit + allowance - o;
            v.margin = Some(margin);
            v.pass = margin >= 0.0;
        }
        Some(_) => v.note = "the metric has no direction".into(),
        None if change == 0.0 => {
            v.pass = true;
            v.margin = Some(limit);
            v.note = "baseline 0 and unchanged".into();
        }
        None => v.note = "relative change undefined: the baseline value is 0".into(),
    }
    v
}

/// The table `quakeline check` prints.
pub fn table(verdicts: &[Verdict], markdown: bool) -> String {
    let mut rows = vec![
        [
            "gate",
            "condition",
            "limit",
            "value",
            "baseline",
            "observed",
            "margin",
            "result",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect::<Vec<_>>(),
    ];
    for v in verdicts {
        let rel = v.condition.contains("_rel_");
        let show = |x: Option<f64>| {
            if rel {
                crate::metrics::fmt_percent(x)
            } else {
                fmt(x)
            }
        };
        let mut limit = show(Some(v.limit));
        if v.allowance > 0.0 {
            limit = format!("{limit} (+{} σ-allowance)", show(Some(v.allowance)));
        }
        let result = if v.pass { "pass" } else { "FAIL" };
        let result = if v.note.is_empty() {
            result.to_string()
        } else {
            format!("{result}: {}", v.note)
        };
        rows.push(vec![
            v.metric.clone(),
            v.condition.clone(),
            limit,
            fmt(v.value),
            fmt(v.baseline),
            show(v.observed),
            show(v.margin),
            result,
        ]);
    }
    crate::metrics::table(&rows, markdown)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(v: f64, d: Direction) -> Metric {
        Metric::single(Some(v), d)
    }

    #[test]
    fn absolute_bounds() {
        let acc = m(0.94, Direction::Higher);
        let v = condition("a", &acc, None, "min", 0.95, 2.0);
        assert!(!v.pass);
        assert!((v.margin.unwrap() + 0.01).abs() < 1e-12);
        assert!(condition("a", &acc, None, "max", 0.95, 2.0).pass);
        assert!(
            condition("a", &acc, None, "min", 0.94, 2.0).pass,
            "the bound is inclusive"
        );
    }

    #[test]
    fn seed_spread_widens_bounds() {
        let acc = Metric::over_runs(vec![Some(0.92), Some(0.94), Some(0.96)], Direction::Higher);
        // mean 0.94, std 0.02: with k = 2 the run passes min = 0.97 (0.94 + 0.04 >= 0.97)…
        let v = condition("a", &acc, None, "min", 0.97, 2.0);
        assert!(v.pass, "{v:?}");
        assert!((v.allowance - 0.04).abs() < 1e-12);
        // …but not with k = 1 (0.96 < 0.97).
        assert!(!condition("a", &acc, None, "min", 0.97, 1.0).pass);
    }

    #[test]
    fn changes_against_the_baseline() {
        let base = m(0.50, Direction::Lower);
        let new = m(0.53, Direction::Lower);
        // +0.03 increase: fails max_increase 0.02, passes 0.05; relative +6 %.
        assert!(!condition("l", &new, Some(&base), "max_increase", 0.02, 0.0).pass);
        assert!(condition("l", &new, Some(&base), "max_increase", 0.05, 0.0).pass);
        let r = condition("l", &new, Some(&base), "max_rel_increase", 0.05, 0.0);
        assert!(!r.pass);
        assert!((r.observed.unwrap() - 0.06).abs() < 1e-12);
        // Direction-aware: for a lower-is-better loss an increase is a regression…
        assert!(!condition("l", &new, Some(&base), "max_regression", 0.02, 0.0).pass);
        // …and for a higher-is-better accuracy the same numbers are an improvement.
        let (ab, an) = (m(0.50, Direction::Higher), m(0.53, Direction::Higher));
        assert!(condition("a", &an, Some(&ab), "max_regression", 0.0, 0.0).pass);
        assert!(condition("a", &an, Some(&ab), "min_improvement", 0.03, 0.0).pass);
        assert!(!condition("a", &an, Some(&ab), "min_improvement", 0.031, 0.0).pass);
        // A missing baseline metric fails with a note.
        let v = condition("a", &an, None, "max_regression", 0.1, 0.0);
        assert!(!v.pass && v.note.contains("baseline"));
    }

    #[test]
    fn change_allowance_combines_both_spreads() {
        let base = Metric::over_runs(vec![Some(0.9), Some(0.9), Some(0.9)], Direction::Higher);
        let mut base = base;
        base.std = Some(0.03);
        let mut new = m(0.85, Direction::Higher);
        new.std = Some(0.04);
        // worse by 0.05; allowance 1 * sqrt(0.03² + 0.04²) = 0.05 → passes exactly at limit 0.
        let v = condition("a", &new, Some(&base), "max_regression", 0.0, 1.0);
        assert!((v.allowance - 0.05).abs() < 1e-12);
        assert!(v.margin.unwrap().abs() < 1e-12);
    }

    #[test]
    fn gates_apply_to_every_sweep_group() {
        let mut cur = MetricsFile::new("p", Some("sweep"));
        cur.metrics.insert(
            "optimizer=adam/evaluate.accuracy".into(),
            m(0.99, Direction::Higher),
        );
        cur.metrics.insert(
            "optimizer=sgd/evaluate.accuracy".into(),
            m(0.50, Direction::Higher),
        );
        let gates = Gates {
            gates: vec![Gate {
                metric: "evaluate.accuracy".into(),
                conditions: vec![("min", 0.9)],
                k_sigma: None,
                span: 0..0,
            }],
            baseline: None,
            k_sigma: None,
        };
        let v = check(&gates, &cur, None);
        assert_eq!(v.len(), 2);
        assert!(v[0].pass && !v[1].pass);
        let empty = MetricsFile::new("p", None);
        assert!(!check(&gates, &empty, None)[0].pass);
    }
}
