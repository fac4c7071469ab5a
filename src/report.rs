//! `results/<pipeline>/report.html`: what ran and what came out, readable without opening HDF5.
//!
//! One self-contained file (inline CSS, SVG and base64 PNGs; no scripts, no network): the DAG
//! with each stage's state, the stage table (kind, state, key, duration, parameters), the metrics,
//! every plot the stages and the sweep wrote, and the sweep's points table.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use crate::cache::Lookup;
use crate::metrics::{MetricsFile, fmt};
use crate::pipeline::Pipeline;
use crate::session::Session;
use crate::study::summary::PointResult;

/// Everything the report shows.
pub struct Inputs<'a> {
    pub session: &'a Session,
    pub results_root: &'a Path,
    pub metrics: &'a MetricsFile,
    pub points: &'a [PointResult],
}

pub fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// An HTML table of rows (header first), cells escaped.
fn html_table(rows: &[Vec<String>]) -> String {
    let mut h = String::from("<table>");
    for (i, row) in rows.iter().enumerate() {
        let tag = if i == 0 { "th" } else { "td" };
        h += "<tr>";
        for cell in row {
            let _ = write!(h, "<{tag}>{}</{tag}>", escape(cell));
        }
        h += "</tr>";
    }
    h + "</table>"
}

/// Standard base64 (RFC 4648) for data URIs.
pub fn base64(bytes: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for c in bytes.chunks(3) {
        let n = (c[0] as u32) << 16
            | (*c.get(1).unwrap_or(&0) as u32) << 8
            | *c.get(2).unwrap_or(&0) as u32;
        out.push(T[(n >> 18) as usize & 63] as char);
        out.push(T[(n >> 12) as usize & 63] as char);
        out.push(if c.len() > 1 {
            T[(n >> 6) as usize & 63] as char
        } else {
            '='
        });
        out.push(if c.len() > 2 {
            T[n as usize & 63] as char
        } else {
            '='
        });
    }
    out
}

/// One stage of the pipeline over all points: its distinct keys, how many are cached, the
/// seconds their entries recorded, its parameters (as in the base pipeline).
struct StageRow {
    keys: Vec<String>,
    cached: usize,
    seconds: Option<f64>,
    /// Parameter name → compact JSON value, sorted by name.
    params: Vec<(String, String)>,
}

fn stage_rows(inp: &Inputs<'_>) -> anyhow::Result<Vec<StageRow>> {
    let (plans, cache) = (&inp.session.plans, &inp.session.cache);
    let mut rows = Vec::new();
    for (i, s) in inp.session.base.stages.iter().enumerate() {
        let mut keys: Vec<String> = Vec::new();
        let mut cached = 0;
        let mut seconds: Option<f64> = None;
        for plan in plans {
            let sp = &plan.stages[i];
            if keys.contains(&sp.key) {
                continue;
            }
            keys.push(sp.key.clone());
            // Looked up now, not taken from the plan's state: the report may follow a run.
            if let Lookup::Hit(e) = cache.lookup(&sp.key) {
                cached += 1;
                if let Ok(f) = e.open()
                    && let Ok(d) = crate::h5::read_attr::<f64>(&f, crate::stage::DURATION_ATTR)
                {
                    *seconds.get_or_insert(0.0) += d;
                }
            }
        }
        let params = s
            .params
            .iter()
            .map(|(k, v)| (k.clone(), serde_json::to_string(v).unwrap_or_default()))
            .collect();
        rows.push(StageRow {
            keys,
            cached,
            seconds,
            params,
        });
    }
    Ok(rows)
}

/// A stage's parameters as a small two-column table; long values wrap inside the page.
fn params_table(params: &[(String, String)]) -> String {
    let mut t = String::from(r#"<table class="p">"#);
    for (k, v) in params {
        let _ = write!(
            t,
            r#"<tr><td class="k">{}</td><td class="v">{}</td></tr>"#,
            escape(k),
            escape(v)
        );
    }
    t + "</table>"
}

/// The DAG as an SVG: stages in columns by depth, coloured by state.
fn dag_svg(p: &Pipeline, rows: &[StageRow]) -> String {
    let n = p.stages.len();
    let mut depth = vec![0usize; n];
    // File order is not necessarily topological: relax until stable (n passes at most).
    for _ in 0..n {
        for (i, s) in p.stages.iter().enumerate() {
            for r in s.inputs.values() {
                if let Some(u) = p.index_of(&r.stage) {
                    depth[i] = depth[i].max(depth[u] + 1);
                }
            }
        }
    }
    let cols = depth.iter().max().map_or(1, |d| d + 1);
    let mut row_in_col = vec![0usize; cols];
    let mut pos = vec![(0usize, 0usize); n];
    for i in 0..n {
        pos[i] = (depth[i], row_in_col[depth[i]]);
        row_in_col[depth[i]] += 1;
    }
    let rows_max = row_in_col.iter().max().copied().unwrap_or(1);
    let (bw, bh, gx, gy) = (136.0, 56.0, 56.0, 30.0);
    // A top margin for edges that arc over the boxes between their ends.
    let top = 56.0;
    let w = cols as f64 * (bw + gx) + 20.0;
    let h = rows_max as f64 * (bh + gy) + 20.0 + top;
    let at = |i: usize| {
        (
            10.0 + pos[i].0 as f64 * (bw + gx),
            top + pos[i].1 as f64 * (bh + gy),
        )
    };
    let mut svg = format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" font-family="sans-serif" font-size="12"><defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" fill="#666"/></marker></defs>"##
    );
    // Every input is an edge, named outputs included (`synth/catalog` → `label`): from the right
    // edge of the writer to the left edge of the reader, with an arrowhead; an edge that skips
    // columns arcs above the boxes it would otherwise cross, labelled with its output's name.
    for (i, s) in p.stages.iter().enumerate() {
        for (k, (_, r)) in s.inputs.iter().enumerate() {
            let Some(u) = p.index_of(&r.stage) else {
                continue;
            };
            let (x0, y0) = at(u);
            let (x1, y1) = at(i);
            let (sx, sy) = (x0 + bw, y0 + bh / 2.0);
            let (ex, ey) = (x1, y1 + bh / 2.0 + (k as f64 - 1.0) * 6.0);
            let skips = pos[i].0 > pos[u].0 + 1;
            // A cubic's peak is 3/4 of the way to its control points: controls this high put
            // the arc's top 8 px + 7 px per input above the boxes' tops.
            let peak = y0.min(y1) - 8.0 - 7.0 * k as f64;
            let path = if skips {
                let lift = sy.min(ey) - (sy.min(ey) - peak) / 0.75;
                format!(
                    "M {sx} {sy} C {} {lift} {} {lift} {ex} {ey}",
                    sx + gx,
                    ex - gx
                )
            } else {
                format!(
                    "M {sx} {sy} C {} {sy} {} {ey} {ex} {ey}",
                    sx + gx / 2.0,
                    ex - gx / 2.0
                )
            };
            let _ = write!(
                svg,
                r##"<path d="{path}" fill="none" stroke="#888" stroke-width="1.5" marker-end="url(#arrow)"/>"##
            );
            if let Some(out) = &r.output {
                // Labels of arcs that share a span are spread along it, not stacked.
                let (lx, ly) = if skips {
                    (sx + (ex - sx) * (0.3 + 0.2 * k as f64), peak - 3.0)
                } else {
                    ((sx + ex) / 2.0, (sy + ey) / 2.0 - 4.0)
                };
                let _ = write!(
                    svg,
                    r##"<text x="{lx}" y="{ly}" text-anchor="middle" fill="#555" font-size="11">{}</text>"##,
                    escape(out)
                );
            }
        }
    }
    for (i, s) in p.stages.iter().enumerate() {
        let (x, y) = at(i);
        let r = &rows[i];
        let (fill, state) = if r.cached == r.keys.len() {
            ("#d8f0d8", "cached".to_string())
        } else if r.cached == 0 {
            ("#eeeeee", "pending".to_string())
        } else {
            ("#fff1cc", format!("{}/{} cached", r.cached, r.keys.len()))
        };
        let _ = write!(
            svg,
            r##"<rect x="{x}" y="{y}" width="{bw}" height="{bh}" rx="6" fill="{fill}" stroke="#555"/><text x="{}" y="{}" font-weight="bold">{}</text><text x="{}" y="{}" fill="#444" font-size="11">{}</text><text x="{}" y="{}" fill="#444" font-size="11">{}</text>"##,
            x + 8.0,
            y + 17.0,
            escape(&s.id),
            x + 8.0,
            y + 33.0,
            escape(s.kind.info().kind),
            x + 8.0,
            y + 48.0,
            escape(&state)
        );
    }
    svg + "</svg>"
}

/// Writes the report and returns its path.
pub fn write(inp: &Inputs<'_>) -> anyhow::Result<std::path::PathBuf> {
    let p = &inp.session.base;
    let rows = stage_rows(inp)?;
    let mut h = String::new();
    let title = match &inp.session.study {
        Some(s) => format!("{} — sweep `{}`", p.name, s.spec.name),
        None => p.name.clone(),
    };
    let _ = write!(
        h,
        r#"<!doctype html><html><head><meta charset="utf-8"><title>{t}</title><style>
body{{font-family:sans-serif;margin:2em;max-width:1200px;color:#222}}
table{{border-collapse:collapse;margin:1em 0;font-size:13px}}
td,th{{border:1px solid #ccc;padding:3px 8px;text-align:left;vertical-align:top}}
th{{background:#f3f3f3}} code{{font-size:12px}} .k{{font-family:monospace}}
table.p{{margin:0;font-size:12px}} table.p td{{border:none;border-bottom:1px solid #eee;padding:1px 6px 1px 0}}
table.p td.v{{font-family:monospace;overflow-wrap:anywhere;max-width:360px}}
.dag{{overflow-x:auto}}
.pass{{color:#176f17}} .fail{{color:#b00020;font-weight:bold}} img{{max-width:100%;border:1px solid #ddd;margin:.5em 0}}
</style></head><body><h1>{t}</h1>
<p>Pipeline file <code>{file}</code>; report written {now} by quakeline {v}.</p>"#,
        t = escape(&title),
        file = escape(&p.path.display().to_string()),
        now = crate::time::now_rfc3339(),
        v = env!("CARGO_PKG_VERSION"),
    );
    h += "<h2>Stages</h2>";
    h += r#"<div class="dag">"#;
    h += &dag_svg(p, &rows);
    h += "</div>";
    h += "<table><tr><th>stage</th><th>kind</th><th>inputs</th><th>state</th><th>key</th><th>time</th><th>parameters</th></tr>";
    for (s, r) in p.stages.iter().zip(&rows) {
        let inputs = s
            .inputs
            .iter()
            .map(|(n, r)| format!("{n} ← {}{}", r.stage, r.suffix()))
            .collect::<Vec<_>>()
            .join("<br>");
        let state = if r.keys.len() == 1 {
            if r.cached == 1 { "cached" } else { "pending" }.to_string()
        } else {
            format!("{} entries, {} cached", r.keys.len(), r.cached)
        };
        let key = if r.keys.len() == 1 {
            format!(
                r#"<span class="k" title="{0}">{1}</span>"#,
                r.keys[0],
                &r.keys[0][..12]
            )
        } else {
            format!("{} keys (one per setting)", r.keys.len())
        };
        let time = r.seconds.map_or("—".to_string(), |s| format!("{s:.2} s"));
        let _ = write!(
            h,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape(&s.id),
            escape(s.kind.info().kind),
            inputs,
            state,
            key,
            time,
            params_table(&r.params)
        );
    }
    h += "</table>";

    h += "<h2>Metrics</h2>";
    if inp.metrics.metrics.is_empty() {
        h += "<p>No metrics yet (the evaluating stages have not run).</p>";
    } else {
        h += &html_table(&crate::metrics::rows(inp.metrics, "value"));
    }
    if !p.gates.gates.is_empty() {
        let verdicts = crate::gates::check(&p.gates, inp.metrics, None)
            .into_iter()
            .filter(|v| matches!(v.condition.as_str(), "min" | "max"))
            .collect::<Vec<_>>();
        if !verdicts.is_empty() {
            h += "<h3>Absolute gates</h3><table><tr><th>gate</th><th>condition</th><th>limit</th><th>value</th><th>result</th></tr>";
            for v in verdicts {
                let _ = write!(
                    h,
                    r#"<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class="{}">{}</td></tr>"#,
                    escape(&v.metric),
                    v.condition,
                    fmt(Some(v.limit)),
                    fmt(v.value),
                    if v.pass { "pass" } else { "fail" },
                    if v.pass { "pass" } else { "FAIL" }
                );
            }
            h += "</table><p>Relative gates need a baseline: <code>quakeline check</code>.</p>";
        }
    }

    if let Some(study) = &inp.session.study {
        let _ = write!(
            h,
            "<h2>Sweep <code>{}</code></h2><p>{} points.</p>",
            escape(&study.spec.name),
            study.points.len()
        );
        h += &html_table(&crate::study::summary::point_rows(
            study,
            inp.points,
            false,
            &|v| fmt(v),
        ));
    }

    h += "<h2>Plots</h2>";
    let root = inp.results_root.join(&p.name);
    let mut pngs: BTreeMap<String, std::path::PathBuf> = BTreeMap::new();
    if let Some(study) = &inp.session.study {
        for entry in std::fs::read_dir(&root).into_iter().flatten().flatten() {
            let name = entry.file_name().to_string_lossy().to_string();
            if name.starts_with(&format!("{}-", study.spec.name)) && name.ends_with(".png") {
                pngs.insert(name, entry.path());
            }
        }
    }
    for s in &p.stages {
        let dir = root.join(&s.id);
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let name = entry.file_name().to_string_lossy().to_string();
            if name.ends_with(".png") {
                pngs.insert(format!("{}/{name}", s.id), entry.path());
            }
        }
    }
    if pngs.is_empty() {
        h += "<p>No plots.</p>";
    }
    for (name, path) in &pngs {
        let bytes = std::fs::read(path)
            .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", path.display()))?;
        let _ = write!(
            h,
            r#"<h3>{}</h3><img alt="{0}" src="data:image/png;base64,{}">"#,
            escape(name),
            base64(&bytes)
        );
    }
    h += "</body></html>\n";
    crate::stage::write_results_file(&root.join("report.html"), h.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_rfc4648_vectors() {
        for (input, want) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64(input.as_bytes()), want);
        }
    }
}
