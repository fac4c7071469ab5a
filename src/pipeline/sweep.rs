//! `[sweep]` tables of a pipeline file: axes, zips, exclusions, limits and plots ([`crate::study`]
//! expands them into points and runs them).
//!
//! ```toml
//! [sweep]
//! grid = { "train.optimizer" = ["adam", "sgd"], "train.seed" = [1, 2, 3] }      # crossed
//! zip  = [{ "label.window" = ["1h", "1d"], "train.batch" = [64, 16] }]         # paired
//! exclude = [{ "train.optimizer" = "sgd", "label.window" = "1h" }]
//! max_runs = 100                                                             # refuse larger sweeps
//! plot = { x = "train.optimizer", y = "evaluate.accuracy" }                  # or a list of them
//! ```
//!
//! A value list is an array or a range: `{ logspace = [1e-4, 1e-2, 5] }`,
//! `{ linspace = [0.1, 0.5, 5] }` (both ends included, like NumPy), `{ range = [1, 10, 3] }`
//! (end excluded, step 1 by default, like Python). Several studies of one pipeline are named
//! tables, `[sweep.optimizers]`, `[sweep.windows]`, chosen with `--sweep NAME`.
//!
//! Points are the grid (first key outermost) crossed with every zip group (its lists walked in
//! step), minus excluded points. Each point is the set of overrides it applies; its id is the
//! BLAKE3 hash of the sorted `key → canonical value` map (the canonical form of the parameter,
//! as in the cache key: `"24h"` and `"1d"` are one point), so it does not depend on the order
//! the file lists keys in. Hydra multirun has no zip; this has, and exclusions, and a size limit
//! checked before anything runs.
//!
//! `--set` interplay: `--set train.seed=4` pins a swept key to one value (its axis disappears);
//! `--set sweep.train.seed=[4,5]` replaces (or adds) an axis; `--set sweep.max_runs=500` lifts
//! the limit.

use std::ops::Range;

use toml_edit::{Item, TableLike};

use super::StageDecl;
use crate::diag::{Source, SourceError};
use crate::params::{convert, describe_toml, suggest, toml_number};

/// Keys of a sweep table.
const SWEEP_KEYS: [&str; 6] = ["grid", "zip", "exclude", "max_runs", "plot", "targets"];
/// A sweep larger than this must say `max_runs` explicitly.
pub const DEFAULT_MAX_RUNS: usize = 1000;
/// The name of the unnamed `[sweep]`; its summary files are `results/<pipeline>/sweep.{csv,md}`.
pub const DEFAULT_NAME: &str = "sweep";

/// A swept parameter: `stage.param`, `stage.seed` or `pipeline.seed`.
#[derive(Clone, Debug)]
pub struct Axis {
    pub key: String,
    pub values: Vec<SweptValue>,
    pub span: Range<usize>,
}

#[derive(Clone, Debug)]
pub struct SweptValue {
    pub value: toml_edit::Value,
    /// The parameter's canonical form (what the cache key sees), for ids and comparisons.
    pub canonical: serde_json::Value,
    /// How the value reads in labels and tables.
    pub text: String,
    pub source: Source,
    pub span: Range<usize>,
}

#[derive(Clone, Debug)]
pub struct Exclude {
    /// key → the values that exclude a point (any of them); all keys must match.
    pub conditions: Vec<(String, Vec<SweptValue>)>,
    pub span: Range<usize>,
}

/// One metric-against-parameter plot of a sweep.
#[derive(Clone, Debug)]
pub struct PlotSpec {
    pub x: String,
    pub y: String,
}

#[derive(Clone, Debug)]
pub struct SweepSpec {
    pub name: String,
    pub grid: Vec<Axis>,
    pub zips: Vec<Vec<Axis>>,
    pub exclude: Vec<Exclude>,
    pub max_runs: usize,
    pub plots: Vec<PlotSpec>,
    /// Stage ids the study needs (with what they read); empty: every stage.
    pub targets: Vec<String>,
    /// Where the sweep is written: the pipeline file, or the first `--set sweep.…` of an ad-hoc
    /// sweep.
    pub source: Source,
    pub span: Range<usize>,
}

fn span_of(item: &Item) -> Range<usize> {
    item.span().unwrap_or(0..0)
}

fn key_span(table: &dyn TableLike, key: &str) -> Range<usize> {
    table.key(key).and_then(|k| k.span()).unwrap_or(0..0)
}

impl SweepSpec {
    /// A sweep with no axes yet and the default limit, declared at `span` of `source`.
    pub fn empty(name: &str, source: Source, span: Range<usize>) -> SweepSpec {
        SweepSpec {
            name: name.to_string(),
            grid: Vec::new(),
            zips: Vec::new(),
            exclude: Vec::new(),
            max_runs: DEFAULT_MAX_RUNS,
            plots: Vec::new(),
            targets: Vec::new(),
            source,
            span,
        }
    }
}

/// Parses `[sweep]` (one unnamed sweep) or `[sweep.<name>]` tables.
pub fn parse(
    source: &Source,
    item: &Item,
    stages: &[StageDecl],
    metric_names: &[String],
    errors: &mut Vec<SourceError>,
) -> Vec<SweepSpec> {
    let Some(table) = item.as_table_like() else {
        errors.push(source.error(span_of(item), "`sweep` must be a table"));
        return Vec::new();
    };
    let direct = table.iter().any(|(k, _)| SWEEP_KEYS.contains(&k));
    if direct || table.is_empty() {
        return parse_one(
            source,
            DEFAULT_NAME,
            table,
            span_of(item),
            stages,
            metric_names,
            errors,
        )
        .into_iter()
        .collect();
    }
    let mut out = Vec::new();
    for (name, sub) in table.iter() {
        match sub.as_table_like() {
            // `grids = { … }` is a misspelt key, not a sweep named "grids".
            Some(t) if !t.iter().any(|(k, _)| SWEEP_KEYS.contains(&k)) => errors.push(
                source
                    .error(
                        key_span(table, name),
                        format!("`{name}` in [sweep] is neither a sweep key nor a named sweep (it has no grid or zip)"),
                    )
                    .help(match suggest(name, SWEEP_KEYS) {
                        Some(s) => format!("did you mean `{s}`?"),
                        None => format!("a sweep takes {}", SWEEP_KEYS.join(", ")),
                    }),
            ),
            Some(t) => out.extend(parse_one(
                source,
                name,
                t,
                key_span(table, name),
                stages,
                metric_names,
                errors,
            )),
            None => errors.push(
                source
                    .error(
                        key_span(table, name),
                        format!("unknown key `{name}` in [sweep]"),
                    )
                    .help(format!(
                        "[sweep] takes {}, or named sweeps as [sweep.<name>] tables",
                        SWEEP_KEYS.join(", ")
                    )),
            ),
        }
    }
    out
}

fn parse_one(
    source: &Source,
    name: &str,
    table: &dyn TableLike,
    span: Range<usize>,
    stages: &[StageDecl],
    metric_names: &[String],
    errors: &mut Vec<SourceError>,
) -> Option<SweepSpec> {
    let before = errors.len();
    let mut spec = SweepSpec::empty(name, source.clone(), span.clone());
    for (key, item) in table.iter() {
        let kspan = key_span(table, key);
        match key {
            "grid" => match item.as_table_like() {
                Some(t) => {
                    for (k, v) in t.iter() {
                        if let Some(axis) = axis(source, k, key_span(t, k), v, stages, errors) {
                            spec.grid.push(axis);
                        }
                    }
                }
                None => errors.push(source.error(
                    span_of(item),
                    "`grid` must be a table such as { \"train.seed\" = [1, 2, 3] }",
                )),
            },
            "zip" => {
                let groups = tables_of(
                    source,
                    item,
                    "`zip` must be a table (or a list of tables) of equally long lists",
                    errors,
                );
                for (t, gspan) in groups {
                    let axes: Vec<Axis> = t
                        .iter()
                        .filter_map(|(k, v)| axis(source, k, key_span(t, k), v, stages, errors))
                        .collect();
                    if let Some(first) = axes.first() {
                        for a in &axes[1..] {
                            if a.values.len() != first.values.len() {
                                errors.push(
                                    source
                                        .error(
                                            a.span.clone(),
                                            format!(
                                                "zipped lists differ in length: `{}` has {} values, `{}` has {}",
                                                a.key,
                                                a.values.len(),
                                                first.key,
                                                first.values.len()
                                            ),
                                        )
                                        .context(first.span.clone(), "the first list of this zip")
                                        .help("zip pairs the i-th values of each list; use grid to cross them"),
                                );
                            }
                        }
                        spec.zips.push(axes);
                    } else {
                        errors.push(source.error(gspan, "empty `zip` table"));
                    }
                }
            }
            "exclude" => {
                let entries = tables_of(
                    source,
                    item,
                    "`exclude` must be a list of tables such as { \"train.optimizer\" = \"sgd\" }",
                    errors,
                );
                for (t, espan) in entries {
                    let mut conditions = Vec::new();
                    for (k, v) in t.iter() {
                        let ks = key_span(t, k);
                        let Some(v) = v.as_value() else {
                            errors.push(source.error(ks, "an exclude condition must be a value"));
                            continue;
                        };
                        let list: Vec<&toml_edit::Value> = match v {
                            toml_edit::Value::Array(a) => a.iter().collect(),
                            one => vec![one],
                        };
                        let mut values = Vec::new();
                        for one in list {
                            if let Some(sv) =
                                swept_value(source, k, ks.clone(), one, stages, errors)
                            {
                                values.push(sv);
                            }
                        }
                        conditions.push((k.to_string(), values));
                    }
                    spec.exclude.push(Exclude {
                        conditions,
                        span: espan,
                    });
                }
            }
            "targets" => {
                let list: Option<Vec<&str>> = item
                    .as_array()
                    .map(|a| a.iter().map(|v| v.as_str()).collect::<Option<Vec<_>>>())
                    .unwrap_or(None);
                match list {
                    Some(ids) if !ids.is_empty() => {
                        for id in ids {
                            if stages.iter().any(|s| s.id == id) {
                                spec.targets.push(id.to_string());
                            } else {
                                let all: Vec<&str> = stages.iter().map(|s| s.id.as_str()).collect();
                                errors.push(
                                    source
                                        .error(span_of(item), format!("targets names unknown stage `{id}`"))
                                        .help(format!("the stages are: {}", all.join(", "))),
                                );
                            }
                        }
                    }
                    _ => errors.push(source.error(
                        span_of(item),
                        "`targets` must be a non-empty list of stage ids (what the study needs; upstream stages follow)",
                    )),
                }
            }
            "max_runs" => match item.as_integer() {
                Some(n) if n >= 1 => spec.max_runs = n as usize,
                _ => errors
                    .push(source.error(span_of(item), "`max_runs` must be a positive integer")),
            },
            "plot" => {
                let list: Vec<&toml_edit::Value> = match item {
                    Item::Value(toml_edit::Value::Array(a)) => a.iter().collect(),
                    Item::Value(v) => vec![v],
                    _ => Vec::new(),
                };
                if list.is_empty() {
                    errors.push(source.error(
                        span_of(item),
                        "`plot` must be { x = \"<swept key>\", y = \"<stage>.<metric>\" } or a list of them",
                    ));
                }
                for v in list {
                    let s = v.span().unwrap_or(0..0);
                    let get = |k: &str| {
                        v.as_inline_table()
                            .and_then(|t| t.get(k))
                            .and_then(|x| x.as_str())
                            .map(str::to_string)
                    };
                    match (get("x"), get("y")) {
                        (Some(x), Some(y)) => {
                            if !metric_names.contains(&y) {
                                errors.push(
                                    source
                                        .error(
                                            s,
                                            format!(
                                                "plot y `{y}` is not a metric of this pipeline"
                                            ),
                                        )
                                        .help(metric_help(&y, metric_names)),
                                );
                            }
                            spec.plots.push(PlotSpec { x, y })
                        }
                        _ => errors.push(source.error(
                            s,
                            "a plot is { x = \"<swept key>\", y = \"<stage>.<metric>\" }",
                        )),
                    }
                }
            }
            other => errors.push(
                source
                    .error(kspan, format!("unknown key `{other}` in sweep `{name}`"))
                    .help(match suggest(other, SWEEP_KEYS) {
                        Some(s) => format!("did you mean `{s}`?"),
                        None => format!("a sweep takes {}", SWEEP_KEYS.join(", ")),
                    }),
            ),
        }
    }
    let keys: Vec<&Axis> = spec.grid.iter().chain(spec.zips.iter().flatten()).collect();
    for (i, a) in keys.iter().enumerate() {
        if keys[..i].iter().any(|b| b.key == a.key) {
            errors.push(source.error(a.span.clone(), format!("`{}` is swept twice", a.key)));
        }
    }
    for e in &spec.exclude {
        for (k, _) in &e.conditions {
            if !keys.iter().any(|a| &a.key == k) {
                errors.push(
                    source
                        .error(
                            e.span.clone(),
                            format!("exclude names `{k}`, which this sweep does not vary"),
                        )
                        .help(format!(
                            "the swept keys are: {}",
                            keys.iter()
                                .map(|a| a.key.as_str())
                                .collect::<Vec<_>>()
                                .join(", ")
                        )),
                );
            }
        }
    }
    for p in &spec.plots {
        if !keys.iter().any(|a| a.key == p.x) {
            errors.push(source.error(
                span.clone(),
                format!("plot x `{}` is not a swept key of sweep `{name}`", p.x),
            ));
        }
    }
    if keys.is_empty() && errors.len() == before {
        errors.push(
            source
                .error(span, format!("sweep `{name}` varies nothing"))
                .help("add grid = { \"<stage>.<param>\" = [values…] } or a zip"),
        );
    }
    (errors.len() == before).then_some(spec)
}

/// `[{…}, {…}]` or a single table: the tables with their spans; anything else is `what`.
fn tables_of<'a>(
    source: &Source,
    item: &'a Item,
    what: &str,
    errors: &mut Vec<SourceError>,
) -> Vec<(&'a dyn TableLike, Range<usize>)> {
    if let Item::Value(toml_edit::Value::Array(a)) = item {
        let mut out = Vec::new();
        for v in a.iter() {
            let s = v.span().unwrap_or(0..0);
            match v.as_inline_table() {
                Some(t) => out.push((t as &dyn TableLike, s)),
                None => errors.push(source.error(s, what.to_string())),
            }
        }
        return out;
    }
    match item.as_table_like() {
        Some(t) => vec![(t, span_of(item))],
        None => {
            errors.push(source.error(span_of(item), what.to_string()));
            Vec::new()
        }
    }
}

pub(crate) fn metric_help(name: &str, metric_names: &[String]) -> String {
    let prefixed = metric_names.iter().find(|m| m.starts_with(name));
    match suggest(name, metric_names.iter().map(String::as_str)).or(prefixed.map(String::as_str)) {
        Some(s) => format!("did you mean `{s}`?"),
        None if metric_names.is_empty() => "no stage of this pipeline reports metrics".into(),
        None => format!("the metrics are: {}", metric_names.join(", ")),
    }
}

/// One axis: a key and its values (an array, or a range table).
fn axis(
    source: &Source,
    key: &str,
    kspan: Range<usize>,
    item: &Item,
    stages: &[StageDecl],
    errors: &mut Vec<SourceError>,
) -> Option<Axis> {
    let span = span_of(item);
    let values = values_of(source, key, item.as_value(), span.clone(), stages, errors)?;
    Some(Axis {
        key: key.to_string(),
        values,
        span: kspan.start.min(span.start)..span.end.max(kspan.end),
    })
}

/// The values of an axis from an array or a `{ logspace | linspace | range = [...] }` table.
pub(crate) fn values_of(
    source: &Source,
    key: &str,
    value: Option<&toml_edit::Value>,
    span: Range<usize>,
    stages: &[StageDecl],
    errors: &mut Vec<SourceError>,
) -> Option<Vec<SweptValue>> {
    let raw: Vec<(toml_edit::Value, Range<usize>)> = match value {
        Some(toml_edit::Value::Array(a)) => a
            .iter()
            .map(|v| (v.clone(), v.span().unwrap_or(span.clone())))
            .collect(),
        Some(toml_edit::Value::InlineTable(t)) => match range(t) {
            Ok(list) => list.into_iter().map(|v| (v, span.clone())).collect(),
            Err(msg) => {
                errors.push(source.error(span, format!("`{key}`: {msg}")));
                return None;
            }
        },
        other => {
            errors.push(
                source
                    .error(
                        span,
                        format!(
                            "`{key}` must list the values to sweep, found {}",
                            other.map_or("a table".to_string(), describe_toml)
                        ),
                    )
                    .help("write an array [a, b, …] or { logspace = [lo, hi, n] }, { linspace = [lo, hi, n] }, { range = [start, stop, step] }"),
            );
            return None;
        }
    };
    if raw.is_empty() {
        errors.push(source.error(span, format!("`{key}` sweeps over no values")));
        return None;
    }
    let before = errors.len();
    let mut out = Vec::new();
    for (v, s) in &raw {
        match swept_value(source, key, s.clone(), v, stages, errors) {
            Some(sv) => out.push(sv),
            // A wrong key is reported once, not once per value.
            None if errors
                .last()
                .is_some_and(|e| e.message.starts_with("sweep key")) =>
            {
                break;
            }
            None => {}
        }
    }
    (errors.len() == before).then_some(out)
}

/// Expands a range table into values (floats, or integers for an integer `range`).
fn range(t: &toml_edit::InlineTable) -> Result<Vec<toml_edit::Value>, String> {
    let (kind, v) = match t.iter().collect::<Vec<_>>().as_slice() {
        [(k, v)] => (*k, *v),
        _ => return Err("a range table has exactly one of logspace, linspace, range".into()),
    };
    let nums: Vec<&toml_edit::Value> = v
        .as_array()
        .ok_or_else(|| format!("`{kind}` takes an array of numbers"))?
        .iter()
        .collect();
    let f = |x: &toml_edit::Value| -> Result<f64, String> {
        toml_number(x)
            .filter(|x| x.is_finite())
            .ok_or_else(|| format!("`{kind}` takes numbers, found {}", describe_toml(x)))
    };
    let count = |x: &toml_edit::Value| -> Result<usize, String> {
        match x.as_integer() {
            Some(n) if (1..=10_000).contains(&n) => Ok(n as usize),
            _ => Err(format!(
                "the count of `{kind}` must be an integer in 1..=10000"
            )),
        }
    };
    let spaced = |lo: f64, hi: f64, n: usize, map: &dyn Fn(f64) -> f64| -> Vec<toml_edit::Value> {
        (0..n)
            .map(|i| {
                let x = if i == 0 {
                    lo
                } else if i == n - 1 {
                    hi
                } else {
                    map(i as f64 / (n - 1) as f64)
                };
                toml_edit::Value::from(x)
            })
            .collect()
    };
    match (kind, nums.as_slice()) {
        ("logspace", [lo, hi, n]) => {
            let (lo, hi, n) = (f(lo)?, f(hi)?, count(n)?);
            if lo <= 0.0 || hi <= 0.0 {
                return Err(
                    "logspace takes positive bounds [lo, hi, n] (the values, not exponents)".into(),
                );
            }
            let (a, b) = (lo.log10(), hi.log10());
            Ok(spaced(lo, hi, n, &|t| 10f64.powf(a + t * (b - a))))
        }
        ("linspace", [lo, hi, n]) => {
            let (lo, hi, n) = (f(lo)?, f(hi)?, count(n)?);
            Ok(spaced(lo, hi, n, &|t| lo + t * (hi - lo)))
        }
        ("range", [start, stop] | [start, stop, _]) => {
            let step_v = nums.get(2).copied();
            let ints = nums.iter().all(|x| x.as_integer().is_some());
            if ints {
                let (a, b) = (
                    start.as_integer().unwrap_or(0),
                    stop.as_integer().unwrap_or(0),
                );
                let s = step_v.and_then(|x| x.as_integer()).unwrap_or(1);
                if s == 0 {
                    return Err("range step must not be 0".into());
                }
                let n = if s > 0 {
                    (b - a + s - 1).div_euclid(s)
                } else {
                    (a - b - s - 1).div_euclid(-s)
                };
                if n > 10_000 {
                    return Err(format!("range makes {n} values (at most 10000)"));
                }
                Ok((0..n.max(0))
                    .map(|i| toml_edit::Value::from(a + i * s))
                    .collect())
            } else {
                let (a, b) = (f(start)?, f(stop)?);
                let s = step_v.map(f).transpose()?.unwrap_or(1.0);
                if s == 0.0 {
                    return Err("range step must not be 0".into());
                }
                let n = ((b - a) / s - 1e-9).ceil().max(0.0);
                if n > 10_000.0 {
                    return Err(format!("range makes {n} values (at most 10000)"));
                }
                Ok((0..n as usize)
                    .map(|i| toml_edit::Value::from(a + i as f64 * s))
                    .collect())
            }
        }
        ("logspace" | "linspace", _) => Err(format!("`{kind}` takes [lo, hi, count]")),
        ("range", _) => {
            Err("`range` takes [start, stop] or [start, stop, step] (stop excluded)".into())
        }
        (other, _) => Err(format!(
            "unknown range `{other}` (logspace, linspace or range)"
        )),
    }
}

/// Validates one value for a swept key against the stage kind's parameter declaration.
pub(crate) fn swept_value(
    source: &Source,
    key: &str,
    span: Range<usize>,
    value: &toml_edit::Value,
    stages: &[StageDecl],
    errors: &mut Vec<SourceError>,
) -> Option<SweptValue> {
    let Some((stage, param)) = key.split_once('.') else {
        errors.push(
            source
                .error(span, format!("sweep key `{key}` must be STAGE.PARAM"))
                .help("e.g. \"train.lr\" or \"pipeline.seed\""),
        );
        return None;
    };
    let seed = |v: &toml_edit::Value| match v.as_integer() {
        Some(i) if i >= 0 => Ok(serde_json::json!(i)),
        _ => Err(format!(
            "`{key}` must be a non-negative integer, found {}",
            describe_toml(v)
        )),
    };
    let canonical = if stage == "pipeline" {
        if param != "seed" {
            errors.push(source.error(
                span,
                format!("sweep key `{key}`: only pipeline.seed can be swept"),
            ));
            return None;
        }
        seed(value)
    } else {
        let Some(decl) = stages.iter().find(|s| s.id == stage) else {
            let ids: Vec<&str> = stages.iter().map(|s| s.id.as_str()).collect();
            errors.push(
                source
                    .error(
                        span,
                        format!("sweep key `{key}` names unknown stage `{stage}`"),
                    )
                    .help(match suggest(stage, ids.iter().copied()) {
                        Some(s) => format!("did you mean `{s}`?"),
                        None => format!("the stages are: {}", ids.join(", ")),
                    }),
            );
            return None;
        };
        if param == "seed" {
            seed(value)
        } else {
            let specs = decl.kind.params();
            match specs.iter().find(|s| s.name == param) {
                Some(spec) => convert(spec, value)
                    .map(|v| serde_json::to_value(v).unwrap_or(serde_json::Value::Null)),
                None => {
                    let names = specs.iter().map(|s| s.name).chain(["seed"]);
                    errors.push(
                        source
                            .error(
                                span,
                                format!(
                                    "sweep key `{key}`: stage `{stage}` (kind \"{}\") has no parameter `{param}`",
                                    decl.kind.info().kind
                                ),
                            )
                            .help(match suggest(param, names) {
                                Some(s) => format!("did you mean `{stage}.{s}`?"),
                                None => format!(
                                    "its parameters are: {}",
                                    specs.iter().map(|s| s.name).collect::<Vec<_>>().join(", ")
                                ),
                            }),
                    );
                    return None;
                }
            }
        }
    };
    match canonical {
        Ok(canonical) => Some(SweptValue {
            text: text_of(value),
            value: value.clone(),
            canonical,
            source: source.clone(),
            span,
        }),
        Err(msg) => {
            errors.push(source.error(span, format!("sweep value for `{key}`: {msg}")));
            None
        }
    }
}

/// A value as it reads in labels: strings bare, numbers in their shortest form.
fn text_of(v: &toml_edit::Value) -> String {
    match v {
        toml_edit::Value::String(s) => s.value().clone(),
        toml_edit::Value::Float(f) => format!("{}", f.value()),
        toml_edit::Value::Integer(i) => format!("{}", i.value()),
        toml_edit::Value::Boolean(b) => format!("{}", b.value()),
        toml_edit::Value::Array(a) => {
            format!("[{}]", a.iter().map(text_of).collect::<Vec<_>>().join(","))
        }
        other => other.to_string().trim().to_string(),
    }
}
