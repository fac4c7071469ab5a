//! What a sweep produced, for people: `sweep.csv`, `sweep.md`, metric-against-parameter plots
//! and the seed-aggregated `metrics.json`.

use std::collections::BTreeMap;

use crate::metrics::{Metric, MetricsFile, fmt};
use crate::plot::{Mark, Panel, Series};
use crate::stage::Direction;

use super::Study;
use crate::pipeline::sweep::PlotSpec;

/// The outcome of one point: its metrics (stage.metric → value) when its metric stages completed.
pub struct PointResult {
    /// `ok`, `failed` or `not run`.
    pub status: &'static str,
    pub metrics: BTreeMap<String, Metric>,
}

/// Seed replicates averaged (mean, sample std, n) per setting; names carry the setting as a
/// prefix when the sweep varies more than seeds (see [`crate::metrics`]).
pub fn aggregate(study: &Study, pipeline: &str, results: &[PointResult]) -> MetricsFile {
    let mut file = MetricsFile::new(pipeline, Some(&study.spec.name));
    let mut groups: BTreeMap<String, Vec<&PointResult>> = BTreeMap::new();
    let mut order: Vec<String> = Vec::new();
    for (p, r) in study.points.iter().zip(results) {
        let g = study.group_of(p);
        if !groups.contains_key(&g) {
            order.push(g.clone());
        }
        groups.entry(g).or_default().push(r);
    }
    for g in order {
        let members = &groups[&g];
        let mut names: Vec<&String> = members.iter().flat_map(|r| r.metrics.keys()).collect();
        names.sort();
        names.dedup();
        for name in names {
            let direction = members
                .iter()
                .find_map(|r| r.metrics.get(name))
                .map_or(Direction::Neither, |m| m.direction);
            let values: Vec<Option<f64>> = members
                .iter()
                .map(|r| r.metrics.get(name).and_then(|m| m.value))
                .collect();
            let metric = if values.len() == 1 {
                Metric::single(values[0], direction)
            } else {
                Metric::over_runs(values, direction)
            };
            let full = if g.is_empty() {
                name.clone()
            } else {
                format!("{g}/{name}")
            };
            file.metrics.insert(full, metric);
        }
    }
    file
}

/// The metric columns: every metric any point reported, in the pipeline's stage order.
pub fn metric_columns(study: &Study, results: &[PointResult]) -> Vec<String> {
    let declared = study
        .pipelines
        .first()
        .map(|p| p.metric_names())
        .unwrap_or_default();
    declared
        .into_iter()
        .filter(|name| results.iter().any(|r| r.metrics.contains_key(name)))
        .collect()
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// The points table (header first): id, optionally the label, status, each swept parameter as
/// written, then each metric rendered by `cell`. One table behind sweep.csv, sweep.md and the
/// report.
pub fn point_rows(
    study: &Study,
    results: &[PointResult],
    with_label: bool,
    cell: &dyn Fn(Option<f64>) -> String,
) -> Vec<Vec<String>> {
    let keys = study.keys();
    let cols = metric_columns(study, results);
    let fixed: &[&str] = if with_label {
        &["point", "label", "status"]
    } else {
        &["point", "status"]
    };
    let mut rows = vec![
        fixed
            .iter()
            .map(|s| s.to_string())
            .chain(keys.iter().cloned())
            .chain(cols.iter().cloned())
            .collect::<Vec<_>>(),
    ];
    for (p, r) in study.points.iter().zip(results) {
        let mut row = vec![p.id.clone()];
        if with_label {
            row.push(p.label.clone());
        }
        row.push(r.status.to_string());
        row.extend(
            keys.iter()
                .map(|k| p.get(k).map(|v| v.text.clone()).unwrap_or_default()),
        );
        row.extend(
            cols.iter()
                .map(|c| cell(r.metrics.get(c).and_then(|m| m.value))),
        );
        rows.push(row);
    }
    rows
}

/// `sweep.csv`: one row per point — id, label, status, each swept parameter, each metric
/// (full precision, empty when not available).
pub fn csv(study: &Study, results: &[PointResult]) -> String {
    let full = |v: Option<f64>| v.map(|v| format!("{v}")).unwrap_or_default();
    point_rows(study, results, true, &full)
        .iter()
        .map(|row| {
            row.iter()
                .map(|f| csv_field(f))
                .collect::<Vec<_>>()
                .join(",")
                + "\n"
        })
        .collect()
}

/// `sweep.md`: the points table, and the seed-aggregated table when seeds are swept.
pub fn markdown(
    study: &Study,
    pipeline: &str,
    results: &[PointResult],
    agg: &MetricsFile,
) -> String {
    let mut out = format!(
        "# Sweep `{}` of pipeline `{pipeline}`\n\n{} points; swept: {}.\n\n",
        study.spec.name,
        study.points.len(),
        study
            .keys()
            .iter()
            .map(|k| format!("`{k}`"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    out += &crate::metrics::table(&point_rows(study, results, false, &|v| fmt(v)), true);
    if agg.metrics.values().any(|m| m.n.is_some()) {
        out += "\n## Mean ± standard deviation over seeds\n\n";
        out += &crate::metrics::table(&crate::metrics::rows(agg, "mean"), true);
    }
    out
}

/// The plots to draw: the file's `plot` entries, else the first non-seed swept key against the
/// first metric with a direction.
pub fn plot_specs(study: &Study, results: &[PointResult]) -> Vec<PlotSpec> {
    if !study.spec.plots.is_empty() {
        return study.spec.plots.clone();
    }
    let x = study.setting_keys().into_iter().next();
    // The first metric with a direction, from an evaluating stage if there is one.
    let with_direction: Vec<(String, bool)> = study
        .pipelines
        .first()
        .map(|p| {
            p.stages
                .iter()
                .flat_map(|s| {
                    s.kind
                        .info()
                        .metrics
                        .iter()
                        .filter(|m| m.direction != Direction::Neither)
                        .map(move |m| {
                            (
                                format!("{}.{}", s.id, m.name),
                                s.kind.info().kind.starts_with("evaluate"),
                            )
                        })
                })
                .collect()
        })
        .unwrap_or_default();
    let reported = |n: &String| results.iter().any(|r| r.metrics.contains_key(n));
    let y = with_direction
        .iter()
        .find(|(n, eval)| *eval && reported(n))
        .or_else(|| with_direction.iter().find(|(n, _)| reported(n)))
        .map(|(n, _)| n.clone());
    match (x, y) {
        (Some(x), Some(y)) => vec![PlotSpec { x, y }],
        _ => Vec::new(),
    }
}

/// One x position of a plot series and the metric's values there (one per seed).
type XValues = (f64, Vec<f64>);

/// File name of a plot: `<sweep>-<y>-vs-<x>.png`.
pub fn plot_name(study: &Study, spec: &PlotSpec) -> String {
    format!("{}-{}-vs-{}.png", study.spec.name, spec.y, spec.x)
}

/// Metric `y` against swept key `x`: one series per setting of the other non-seed keys, the mean
/// over seeds with ± one standard deviation bars. A numeric x spanning two decades or more is
/// drawn on a log axis; a non-numeric x (optimizer names) is categorical.
pub fn plot(study: &Study, results: &[PointResult], spec: &PlotSpec) -> anyhow::Result<Vec<u8>> {
    let xs: Vec<String> = {
        let mut v: Vec<String> = Vec::new();
        for p in &study.points {
            if let Some(x) = p.get(&spec.x)
                && !v.contains(&x.text)
            {
                v.push(x.text.clone());
            }
        }
        v
    };
    let numeric: Option<Vec<f64>> = study
        .points
        .iter()
        .map(|p| p.get(&spec.x).and_then(|v| v.canonical.as_f64()))
        .collect();
    let categorical = numeric.is_none();
    let log_x = numeric.as_ref().is_some_and(|v| {
        let lo = v.iter().cloned().fold(f64::INFINITY, f64::min);
        let hi = v.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
        lo > 0.0 && hi / lo >= 100.0
    });
    let others: Vec<String> = study
        .setting_keys()
        .into_iter()
        .filter(|k| k != &spec.x)
        .collect();
    // series label → x → values over seeds
    let mut series: Vec<(String, Vec<XValues>)> = Vec::new();
    for (p, r) in study.points.iter().zip(results) {
        let (Some(xv), Some(y)) = (p.get(&spec.x), r.metrics.get(&spec.y).and_then(|m| m.value))
        else {
            continue;
        };
        let x = if categorical {
            xs.iter().position(|t| t == &xv.text).unwrap_or(0) as f64
        } else {
            xv.canonical.as_f64().unwrap_or(f64::NAN)
        };
        let label = others
            .iter()
            .filter_map(|k| p.get(k).map(|v| format!("{k}={}", v.text)))
            .collect::<Vec<_>>()
            .join(", ");
        let label = if label.is_empty() {
            spec.y.clone()
        } else {
            label
        };
        let idx = match series.iter().position(|(l, _)| l == &label) {
            Some(i) => i,
            None => {
                series.push((label, Vec::new()));
                series.len() - 1
            }
        };
        match series[idx].1.iter_mut().find(|(px, _)| *px == x) {
            Some((_, ys)) => ys.push(y),
            None => series[idx].1.push((x, vec![y])),
        }
    }
    let mut out = Vec::new();
    for (label, mut pts) in series {
        pts.sort_by(|a, b| a.0.total_cmp(&b.0));
        let mean = |ys: &[f64]| ys.iter().sum::<f64>() / ys.len() as f64;
        out.push(Series {
            label,
            points: pts.iter().map(|(x, ys)| (*x, mean(ys))).collect(),
            mark: if categorical {
                Mark::Points
            } else {
                Mark::LinePoints
            },
        });
        let bars: Vec<(f64, f64)> = pts
            .iter()
            .filter(|(_, ys)| ys.len() >= 2)
            .flat_map(|(x, ys)| {
                let m =
                    Metric::over_runs(ys.iter().map(|&y| Some(y)).collect(), Direction::Neither);
                let (v, s) = (m.value.unwrap_or(f64::NAN), m.std.unwrap_or(0.0));
                [(*x, v - s), (*x, v + s)]
            })
            .collect();
        if !bars.is_empty() {
            out.push(Series {
                label: String::new(),
                points: bars,
                mark: Mark::ErrorBars,
            });
        }
    }
    let seeds = study.keys().iter().any(|k| super::is_seed(k));
    let panel = Panel {
        title: format!(
            "{} vs {}{}",
            spec.y,
            spec.x,
            if seeds {
                " (mean ± std over seeds)"
            } else {
                ""
            }
        ),
        x_label: spec.x.clone(),
        y_label: spec.y.clone(),
        series: out,
        log_x,
        x_categories: if categorical { xs } else { Vec::new() },
    };
    crate::plot::png(&[panel])
}
