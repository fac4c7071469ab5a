//! Gate evaluation: the `[gates]` of a pipeline file ([`crate::pipeline::gates`], where the
//! conditions are documented) checked against a run's metrics and an optional baseline, so CI
//! fails when a model gets worse.
//!
//! When a metric is a mean over seeds (a sweep over seeds), every bound is widened by `k_sigma`
//! standard deviations — the run's own for absolute bounds, `sqrt(σ_new² + σ_baseline²)` for
//! changes — so seed noise alone does not fail a build. A gate named `stage.metric` applies to
//! that metric in every group of a sweep (`train.optimizer=adam/evaluate.accuracy`, …).

use serde::Serialize;

use crate::metrics::{Metric, MetricsFile, fmt};
use crate::pipeline::gates::{DEFAULT_K_SIGMA, Gates};
use crate::stage::Direction;

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
    use crate::pipeline::gates::Gate;

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
