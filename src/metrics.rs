//! Typed metrics of a run: what every evaluating stage reports, collected into one file per run.
//!
//! A stage kind declares its metrics ([`crate::stage::MetricSpec`]: name, direction, meaning) and
//! records their values in its entry; this module gathers them, per pipeline run or per sweep, into
//! `results/<pipeline>/metrics.json`:
//!
//! ```json
//! { "format": "quakeline-metrics-1", "pipeline": "quickstart",
//!   "metrics": { "evaluate.accuracy": { "value": 0.97, "direction": "higher" },
//!                "train.validation_loss": { "value": 0.08, "direction": "lower",
//!                                           "std": 0.01, "n": 3, "values": [0.07, 0.08, 0.09] } } }
//! ```
//!
//! Names are `<stage>.<metric>`; in a sweep, points that differ only in seeds form one group whose
//! metrics are the mean over seeds (with the sample standard deviation, `n` and the values), and
//! when there are several groups each name is prefixed with the group's label
//! (`train.optimizer=adam/evaluate.accuracy`). Every value is a number at a nested path, so
//! `dvc metrics diff` reads these files as they are; [`read`] reads DVC-style files too (any JSON
//! with numbers at its leaves: `{"acc": 0.9, "val": {"loss": 0.1}}` → `acc`, `val.loss`), whose
//! direction is then unknown.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::stage::Direction;

/// The `format` string of files written here.
pub const FORMAT: &str = "quakeline-metrics-1";

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Metric {
    /// The value, or the mean over seeds; `null` when the stage could not compute it.
    pub value: Option<f64>,
    pub direction: Direction,
    /// Sample standard deviation over seeds (n − 1 in the denominator), when `n >= 2`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub std: Option<f64>,
    /// Number of runs (seeds) behind `value`, for aggregated metrics.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub n: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub values: Option<Vec<Option<f64>>>,
}

impl Metric {
    pub fn single(value: Option<f64>, direction: Direction) -> Metric {
        Metric {
            value,
            direction,
            std: None,
            n: None,
            values: None,
        }
    }

    /// Mean, sample standard deviation and count over runs; runs where the value is not
    /// available are left out of the mean but kept in `values`.
    pub fn over_runs(values: Vec<Option<f64>>, direction: Direction) -> Metric {
        let ok: Vec<f64> = values.iter().flatten().copied().collect();
        let n = ok.len();
        let mean = (n > 0).then(|| ok.iter().sum::<f64>() / n as f64);
        let std = mean
            .filter(|_| n >= 2)
            .map(|m| (ok.iter().map(|v| (v - m) * (v - m)).sum::<f64>() / (n - 1) as f64).sqrt());
        Metric {
            value: mean,
            direction,
            std,
            n: Some(n),
            values: Some(values),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MetricsFile {
    pub format: String,
    /// The pipeline `name` the metrics come from; a baseline of another pipeline is refused.
    pub pipeline: String,
    /// The sweep they aggregate, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sweep: Option<String>,
    pub metrics: BTreeMap<String, Metric>,
}

impl MetricsFile {
    pub fn new(pipeline: &str, sweep: Option<&str>) -> MetricsFile {
        MetricsFile {
            format: FORMAT.into(),
            pipeline: pipeline.into(),
            sweep: sweep.map(str::to_string),
            metrics: BTreeMap::new(),
        }
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default() + "\n"
    }

    /// Parses a file written by [`MetricsFile::to_json`], or any DVC-style JSON metrics file.
    pub fn parse(text: &str, origin: &str) -> anyhow::Result<MetricsFile> {
        let json: serde_json::Value =
            serde_json::from_str(text).map_err(|e| anyhow::anyhow!("{origin}: not JSON ({e})"))?;
        if json.get("format").and_then(|f| f.as_str()) == Some(FORMAT) {
            return serde_json::from_value(json)
                .map_err(|e| anyhow::anyhow!("{origin}: not a valid {FORMAT} file: {e}"));
        }
        if let Some(f) = json.get("format").and_then(|f| f.as_str())
            && f.starts_with("quakeline-metrics")
        {
            anyhow::bail!(
                "{origin}: metrics format `{f}` is newer than this quakeline reads ({FORMAT})"
            );
        }
        let mut metrics = BTreeMap::new();
        flatten(&json, String::new(), &mut metrics);
        anyhow::ensure!(
            !metrics.is_empty(),
            "{origin}: no numbers in this JSON file (a metrics file maps names to numbers)"
        );
        Ok(MetricsFile {
            format: FORMAT.into(),
            pipeline: String::new(),
            sweep: None,
            metrics,
        })
    }
}

/// DVC's reading of a metrics file: every number at a nested path (objects and arrays) is one
/// metric named by the path joined with `.`.
fn flatten(v: &serde_json::Value, path: String, out: &mut BTreeMap<String, Metric>) {
    let join = |k: &str| {
        if path.is_empty() {
            k.to_string()
        } else {
            format!("{path}.{k}")
        }
    };
    match v {
        serde_json::Value::Number(n) => {
            out.insert(path, Metric::single(n.as_f64(), Direction::Neither));
        }
        serde_json::Value::Object(o) => {
            for (k, v) in o {
                flatten(v, join(k), out);
            }
        }
        serde_json::Value::Array(a) => {
            for (i, v) in a.iter().enumerate() {
                flatten(v, join(&i.to_string()), out);
            }
        }
        _ => {}
    }
}

/// Reads a metrics file.
pub fn read(path: &Path) -> anyhow::Result<MetricsFile> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| anyhow::anyhow!("cannot read metrics file {}: {e}", path.display()))?;
    MetricsFile::parse(&text, &path.display().to_string())
}

/// One row of [`diff`].
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Change {
    pub metric: String,
    pub old: Option<f64>,
    pub new: Option<f64>,
    /// `new − old` when both exist.
    pub change: Option<f64>,
    /// `(new − old) / |old|`, when both exist and old ≠ 0.
    pub relative: Option<f64>,
    pub direction: Direction,
    /// `better`, `worse`, `same`, `new`, `missing`, `changed` (no direction) or `n/a`.
    pub verdict: &'static str,
}

/// Old vs new for every metric in either file; metrics only in one are kept (`new`/`missing`).
pub fn diff(old: &MetricsFile, new: &MetricsFile) -> Vec<Change> {
    let mut names: Vec<&String> = old.metrics.keys().chain(new.metrics.keys()).collect();
    names.sort();
    names.dedup();
    names
        .into_iter()
        .map(|name| {
            let (o, n) = (old.metrics.get(name), new.metrics.get(name));
            let direction = n.or(o).map_or(Direction::Neither, |m| m.direction);
            let (ov, nv) = (o.and_then(|m| m.value), n.and_then(|m| m.value));
            let change = ov.zip(nv).map(|(a, b)| b - a);
            let relative = ov
                .zip(change)
                .filter(|(a, _)| *a != 0.0)
                .map(|(a, c)| c / a.abs());
            let verdict = match (o, n, change) {
                (None, Some(_), _) => "new",
                (Some(_), None, _) => "missing",
                (_, _, None) => "n/a",
                (_, _, Some(0.0)) => "same",
                (_, _, Some(c)) => match direction {
                    Direction::Higher if c > 0.0 => "better",
                    Direction::Lower if c < 0.0 => "better",
                    Direction::Neither => "changed",
                    _ => "worse",
                },
            };
            Change {
                metric: name.clone(),
                old: ov,
                new: nv,
                change,
                relative,
                direction,
                verdict,
            }
        })
        .collect()
}

/// A number for tables: up to 6 significant digits, `—` for none.
pub fn fmt(v: Option<f64>) -> String {
    match v {
        None => "—".into(),
        Some(0.0) => "0".into(),
        Some(x) if x.abs() >= 1e6 || x.abs() < 1e-4 => format!("{x:.4e}"),
        Some(x) => {
            let s = format!("{x:.6}");
            let s = s.trim_end_matches('0').trim_end_matches('.');
            s.to_string()
        }
    }
}

/// A signed change for tables.
pub fn fmt_signed(v: Option<f64>) -> String {
    match v {
        Some(x) if x > 0.0 => format!("+{}", fmt(Some(x))),
        other => fmt(other),
    }
}

/// A relative change as a signed percentage.
pub fn fmt_percent(v: Option<f64>) -> String {
    match v {
        None => "—".into(),
        Some(x) => format!("{:+.2}%", 100.0 * x),
    }
}

/// The rows of a metrics table (header first): name, value, std, n, which way is better.
pub fn rows(file: &MetricsFile, value_header: &str) -> Vec<Vec<String>> {
    let mut rows = vec![vec![
        "metric".to_string(),
        value_header.to_string(),
        "std".into(),
        "n".into(),
        "better".into(),
    ]];
    for (name, m) in &file.metrics {
        rows.push(vec![
            name.clone(),
            fmt(m.value),
            fmt(m.std),
            m.n.map(|n| n.to_string()).unwrap_or_default(),
            m.direction.label().to_string(),
        ]);
    }
    rows
}

/// Plain-text or Markdown table (first row is the header).
pub fn table(rows: &[Vec<String>], markdown: bool) -> String {
    let Some(header) = rows.first() else {
        return String::new();
    };
    let cols = header.len();
    let width: Vec<usize> = (0..cols)
        .map(|c| {
            rows.iter()
                .map(|r| r.get(c).map_or(0, |s| s.chars().count()))
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |r: &Vec<String>| -> String {
        let cells: Vec<String> = (0..cols)
            .map(|c| {
                let s = r.get(c).map(String::as_str).unwrap_or("");
                let s = if markdown {
                    s.replace('|', "\\|")
                } else {
                    s.to_string()
                };
                format!("{s:w$}", w = width[c])
            })
            .collect();
        if markdown {
            format!("| {} |", cells.join(" | "))
        } else {
            cells.join("  ").trim_end().to_string()
        }
    };
    let mut out = vec![line(header)];
    if markdown {
        out.push(format!(
            "|{}|",
            width
                .iter()
                .map(|w| "-".repeat(w + 2))
                .collect::<Vec<_>>()
                .join("|")
        ));
    }
    out.extend(rows[1..].iter().map(line));
    out.join("\n") + "\n"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn over_runs_is_mean_and_sample_std() {
        let m = Metric::over_runs(
            vec![Some(1.0), Some(2.0), Some(3.0), None],
            Direction::Higher,
        );
        assert_eq!(m.value, Some(2.0));
        assert_eq!(m.std, Some(1.0));
        assert_eq!(m.n, Some(3));
        let one = Metric::over_runs(vec![Some(0.5)], Direction::Lower);
        assert_eq!((one.value, one.std), (Some(0.5), None));
    }

    #[test]
    fn dvc_style_files_are_flattened() {
        let f = MetricsFile::parse(
            r#"{"acc": 0.9, "val": {"loss": 0.25, "name": "x"}, "per": [1, 2]}"#,
            "t",
        )
        .unwrap();
        let names: Vec<&str> = f.metrics.keys().map(String::as_str).collect();
        assert_eq!(names, ["acc", "per.0", "per.1", "val.loss"]);
        assert_eq!(f.metrics["val.loss"].value, Some(0.25));
        assert!(MetricsFile::parse(r#"{"a": "b"}"#, "t").is_err());
    }

    #[test]
    fn own_files_round_trip() {
        let mut f = MetricsFile::new("p", None);
        f.metrics.insert(
            "evaluate.accuracy".into(),
            Metric::single(Some(0.75), Direction::Higher),
        );
        f.metrics.insert(
            "train.loss".into(),
            Metric::over_runs(vec![Some(0.1), None], Direction::Lower),
        );
        assert_eq!(MetricsFile::parse(&f.to_json(), "t").unwrap(), f);
    }

    #[test]
    fn diff_keeps_new_and_missing_and_reads_direction() {
        let mut a = MetricsFile::new("p", None);
        let mut b = MetricsFile::new("p", None);
        a.metrics
            .insert("acc".into(), Metric::single(Some(0.8), Direction::Higher));
        b.metrics
            .insert("acc".into(), Metric::single(Some(0.6), Direction::Higher));
        a.metrics
            .insert("loss".into(), Metric::single(Some(0.5), Direction::Lower));
        b.metrics
            .insert("loss".into(), Metric::single(Some(0.4), Direction::Lower));
        a.metrics
            .insert("gone".into(), Metric::single(Some(1.0), Direction::Neither));
        b.metrics.insert(
            "fresh".into(),
            Metric::single(Some(1.0), Direction::Neither),
        );
        let d = diff(&a, &b);
        let v: Vec<(&str, &str)> = d.iter().map(|c| (c.metric.as_str(), c.verdict)).collect();
        assert_eq!(
            v,
            [
                ("acc", "worse"),
                ("fresh", "new"),
                ("gone", "missing"),
                ("loss", "better")
            ]
        );
        let acc = &d[0];
        assert!((acc.change.unwrap() + 0.2).abs() < 1e-12);
        assert!((acc.relative.unwrap() + 0.25).abs() < 1e-12);
    }
}
