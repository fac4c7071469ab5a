//! Studies: a sweep of one pipeline file resolved into many parameter sets ("points"), run
//! together ([`Study`]), and their summary tables ([`summary`]). The file syntax is
//! [`crate::pipeline::sweep`]; this module is what a sweep becomes.
//!
//! Points are the grid (first key outermost) crossed with every zip group (its lists walked in step),
//! minus excluded points. Each point is the set of overrides it applies; its id is the BLAKE3
//! hash of the sorted `key → canonical value` map (the canonical form of the parameter, as in the
//! cache key: `"24h"` and `"1d"` are one point), so it does not depend on the order the file
//! lists keys in. [`Study`] resolves a pipeline plus a sweep selection into its points.
//!
//! `--set` interplay: `--set train.seed=4` pins a swept key to one value (its axis disappears);
//! `--set sweep.train.seed=[4,5]` replaces (or adds) an axis; `--set sweep.max_runs=500` lifts
//! the limit.

use std::collections::BTreeMap;

use crate::diag::{Error, SourceError};
use crate::pipeline::sweep::{Axis, DEFAULT_NAME, SweepSpec, SweptValue, swept_value, values_of};
use crate::pipeline::{Override, Pipeline, StageDecl};
use crate::stage::Stage;

pub mod summary;

/// One resolved parameter set of a sweep.
#[derive(Clone, Debug)]
pub struct Point {
    /// `key → value`, in axis order (grid keys, then zip keys).
    pub assignments: Vec<(String, SweptValue)>,
    /// 12 hex digits of the hash of the sorted canonical assignments.
    pub id: String,
    /// `optimizer=adam,seed=1`: the swept parameters by name (stage id added where names clash).
    pub label: String,
}

impl Point {
    /// The `--set`-like overrides that turn the base pipeline into this point.
    pub fn overrides(&self) -> Vec<Override> {
        self.assignments
            .iter()
            .map(|(key, v)| {
                let (stage, param) = key.split_once('.').unwrap_or(("", key));
                Override {
                    stage: stage.to_string(),
                    key: param.to_string(),
                    value: v.value.clone(),
                    source: v.source.clone(),
                    span: v.span.clone(),
                }
            })
            .collect()
    }

    pub fn get(&self, key: &str) -> Option<&SweptValue> {
        self.assignments
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v)
    }

    /// A folder name: the label made file-system safe, then the id.
    pub fn dir_name(&self) -> String {
        let slug: String = self
            .label
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || "._=,+-".contains(c) {
                    c
                } else {
                    '_'
                }
            })
            .take(80)
            .collect();
        if slug.is_empty() {
            self.id.clone()
        } else {
            format!("{slug}-{}", self.id)
        }
    }
}

/// Whether a swept key is a seed (points differing only in seeds are replicates of one setting).
pub fn is_seed(key: &str) -> bool {
    key == "pipeline.seed" || key.ends_with(".seed")
}

/// The points of a sweep after `--set` overrides; `warnings` says what matched nothing.
pub struct Expansion {
    pub points: Vec<Point>,
    pub warnings: Vec<String>,
}

/// The points of `spec` with `overrides` applied (see the module docs), or errors when the sweep
/// is larger than `max_runs` or an override is malformed.
pub fn expand(
    spec: &SweepSpec,
    overrides: &[Override],
    stages: &[StageDecl],
) -> Result<Expansion, Vec<SourceError>> {
    let pipeline_source = &spec.source;
    let mut spec = spec.clone();
    let mut errors = Vec::new();
    let mut warnings = Vec::new();
    // `--set sweep.…`: limits and axes.
    for o in overrides.iter().filter(|o| o.stage == "sweep") {
        if o.key == "max_runs" {
            match o.value.as_integer() {
                Some(n) if n >= 1 => spec.max_runs = n as usize,
                _ => errors.push(
                    o.source
                        .error(o.span.clone(), "sweep.max_runs must be a positive integer"),
                ),
            }
            continue;
        }
        let Some(values) = values_of(
            &o.source,
            &o.key,
            Some(&o.value),
            o.span.clone(),
            stages,
            &mut errors,
        ) else {
            continue;
        };
        if let Some(a) = spec.grid.iter_mut().find(|a| a.key == o.key) {
            a.values = values;
        } else if let Some(a) = spec.zips.iter_mut().flatten().find(|a| a.key == o.key) {
            if a.values.len() != values.len() {
                errors.push(o.source.error(
                    o.span.clone(),
                    format!(
                        "`{}` is zipped with lists of {} values; give {} values or edit the file",
                        o.key,
                        a.values.len(),
                        a.values.len()
                    ),
                ));
                continue;
            }
            a.values = values;
        } else {
            spec.grid.push(Axis {
                key: o.key.clone(),
                values,
                span: o.span.clone(),
            });
        }
    }
    // `--set stage.param=v` on a swept key pins it.
    let pinned: BTreeMap<String, &Override> = overrides
        .iter()
        .filter(|o| o.stage != "sweep")
        .map(|o| (format!("{}.{}", o.stage, o.key), o))
        .collect();
    let mut pinned_values: BTreeMap<String, SweptValue> = BTreeMap::new();
    let mut pin = |axes: &mut Vec<Axis>, errors: &mut Vec<SourceError>| {
        axes.retain(|a| match pinned.get(&a.key) {
            Some(o) => {
                if let Some(v) =
                    swept_value(&o.source, &a.key, o.span.clone(), &o.value, stages, errors)
                {
                    pinned_values.insert(a.key.clone(), v);
                }
                false
            }
            None => true,
        })
    };
    pin(&mut spec.grid, &mut errors);
    for z in &mut spec.zips {
        pin(z, &mut errors);
    }
    spec.zips.retain(|z| !z.is_empty());
    if !errors.is_empty() {
        return Err(errors);
    }

    let total = spec.grid.iter().map(|a| a.values.len()).product::<usize>()
        * spec
            .zips
            .iter()
            .map(|z| z[0].values.len())
            .product::<usize>();
    // Enumerate indices: grid axes (first outermost), then zip groups.
    let dims: Vec<usize> = spec
        .grid
        .iter()
        .map(|a| a.values.len())
        .chain(spec.zips.iter().map(|z| z[0].values.len()))
        .collect();
    let mut matched = vec![0usize; spec.exclude.len()];
    let mut points = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    for flat in 0..total {
        let mut idx = vec![0usize; dims.len()];
        let mut rest = flat;
        for d in (0..dims.len()).rev() {
            idx[d] = rest % dims[d];
            rest /= dims[d];
        }
        let mut assignments: Vec<(String, SweptValue)> = Vec::new();
        for (a, &i) in spec.grid.iter().zip(&idx) {
            assignments.push((a.key.clone(), a.values[i].clone()));
        }
        for (z, &i) in spec.zips.iter().zip(&idx[spec.grid.len()..]) {
            for a in z {
                assignments.push((a.key.clone(), a.values[i].clone()));
            }
        }
        let value_of = |k: &str| {
            assignments
                .iter()
                .find(|(key, _)| key == k)
                .map(|(_, v)| &v.canonical)
                .or_else(|| pinned_values.get(k).map(|v| &v.canonical))
        };
        let mut excluded = false;
        for (e, count) in spec.exclude.iter().zip(&mut matched) {
            let hit = e
                .conditions
                .iter()
                .all(|(k, vs)| value_of(k).is_some_and(|c| vs.iter().any(|v| &v.canonical == c)));
            if hit {
                *count += 1;
                excluded = true;
            }
        }
        if excluded {
            continue;
        }
        let point = make_point(assignments);
        // Equal canonical values written twice (`"1d"`, `"24h"`) are one point.
        if seen.insert(point.id.clone()) {
            points.push(point);
        }
    }
    for (e, count) in spec.exclude.iter().zip(&matched) {
        if *count == 0 {
            warnings.push(format!(
                "{}: this exclude matches no point of sweep `{}`",
                pipeline_source.locate(&e.span),
                spec.name
            ));
        }
    }
    if points.len() > spec.max_runs {
        return Err(vec![
            pipeline_source
                .error(
                    spec.span.clone(),
                    format!(
                        "sweep `{}` makes {} points, more than max_runs = {}",
                        spec.name,
                        points.len(),
                        spec.max_runs
                    ),
                )
                .help(format!(
                    "narrow the sweep, or allow it with max_runs = {} (or --set sweep.max_runs={})",
                    points.len(),
                    points.len()
                )),
        ]);
    }
    Ok(Expansion { points, warnings })
}

fn make_point(assignments: Vec<(String, SweptValue)>) -> Point {
    let canonical: BTreeMap<&str, &serde_json::Value> = assignments
        .iter()
        .map(|(k, v)| (k.as_str(), &v.canonical))
        .collect();
    let json = serde_json::to_string(&canonical).unwrap_or_default();
    let id = blake3::hash(json.as_bytes()).to_hex()[..12].to_string();
    // Parameter names alone unless two stages sweep the same name.
    let names: Vec<&str> = assignments
        .iter()
        .map(|(k, _)| k.split_once('.').map_or(k.as_str(), |(_, p)| p))
        .collect();
    let label = assignments
        .iter()
        .zip(&names)
        .map(|((k, v), n)| {
            let name = if names.iter().filter(|m| *m == n).count() > 1 {
                k.as_str()
            } else {
                n
            };
            format!("{name}={}", v.text)
        })
        .collect::<Vec<_>>()
        .join(",");
    Point {
        assignments,
        id,
        label,
    }
}

/// Which sweep of a file to run.
#[derive(Clone, Copy, Debug)]
pub enum Selection<'a> {
    /// The unnamed `[sweep]` if the file has one (or one made of `--set sweep.…`), else none.
    Default,
    /// `--sweep NAME`.
    Named(&'a str),
    /// `--no-sweep`: the pipeline as written.
    Off,
}

impl<'a> Selection<'a> {
    /// From `--sweep NAME` and `--no-sweep` (the command line's, or a SLURM job file's copy).
    pub fn from_flags(sweep: Option<&'a str>, no_sweep: bool) -> Selection<'a> {
        match (sweep, no_sweep) {
            (_, true) => Selection::Off,
            (Some(name), _) => Selection::Named(name),
            (None, false) => Selection::Default,
        }
    }
}

/// A sweep resolved into one validated pipeline per point.
pub struct Study {
    pub spec: SweepSpec,
    pub points: Vec<Point>,
    /// Indexed like `points`.
    pub pipelines: Vec<Pipeline>,
    /// Excludes that matched nothing and similar notes.
    pub warnings: Vec<String>,
}

impl Study {
    /// Picks the sweep `select` names (or none) and resolves its points; errors point into the
    /// pipeline file or the `--set` argument.
    pub fn resolve(
        base: &Pipeline,
        select: Selection<'_>,
        overrides: &[Override],
        registry: &[&'static dyn Stage],
    ) -> Result<Option<Study>, Error> {
        let ad_hoc = overrides.iter().any(|o| o.stage == "sweep");
        let spec = match select {
            // `--set sweep.…` asks for a sweep that `--no-sweep` (or a command about one
            // pipeline) turns off: a contradiction, and a malformed value must not pass unseen.
            Selection::Off => match overrides.iter().find(|o| o.stage == "sweep") {
                None => return Ok(None),
                Some(o) => {
                    return Err(Error::Source(Box::new(o.source.error(
                        o.span.clone(),
                        format!(
                            "`--set sweep.{}` sweeps, but this runs the pipeline without a sweep (--no-sweep)",
                            o.key
                        ),
                    ))));
                }
            },
            Selection::Named(name) => match base.sweeps.iter().find(|s| s.name == name) {
                Some(s) => s.clone(),
                None => {
                    let names: Vec<&str> = base.sweeps.iter().map(|s| s.name.as_str()).collect();
                    return Err(Error::other(
                        format!(
                            "pipeline file {} has no sweep `{name}`",
                            base.path.display()
                        ),
                        if names.is_empty() {
                            "add a [sweep.<name>] table, or sweep from the command line with --set sweep.STAGE.PARAM=[…]".to_string()
                        } else {
                            format!("its sweeps are: {}", names.join(", "))
                        },
                    ));
                }
            },
            Selection::Default => match base.sweeps.iter().find(|s| s.name == DEFAULT_NAME) {
                Some(s) => s.clone(),
                None if ad_hoc => {
                    let first = overrides.iter().find(|o| o.stage == "sweep");
                    SweepSpec::empty(
                        DEFAULT_NAME,
                        first.map_or(base.source.clone(), |o| o.source.clone()),
                        first.map_or(0..0, |o| 0..o.source.text.len()),
                    )
                }
                None => return Ok(None),
            },
        };
        let expansion = expand(&spec, overrides, &base.stages).map_err(|errors| {
            match crate::diag::SourceErrors::check(errors) {
                Err(e) => e,
                Ok(()) => Error::Other {
                    message: "internal error: sweep expansion failed without errors".into(),
                    help: None,
                },
            }
        })?;
        if expansion.points.is_empty() {
            return Err(Error::other(
                format!(
                    "sweep `{}` of {} has no points left",
                    spec.name,
                    base.path.display()
                ),
                "check its exclude entries",
            ));
        }
        let cli: Vec<Override> = overrides
            .iter()
            .filter(|o| o.stage != "sweep")
            .cloned()
            .collect();
        let mut pipelines = Vec::with_capacity(expansion.points.len());
        for point in &expansion.points {
            let mut ov = point.overrides();
            ov.extend(cli.iter().cloned());
            let mut p = Pipeline::parse(
                &base.source.name,
                &base.source.text,
                &base.path,
                &base.dir,
                registry,
                &ov,
            )?;
            // A point is one pipeline: its copy of the file's sweeps (every axis value with its
            // source location) is never read, and at 10^4 points it was most of the memory.
            p.sweeps = Vec::new();
            pipelines.push(p);
        }
        Ok(Some(Study {
            spec,
            points: expansion.points,
            pipelines,
            warnings: expansion.warnings,
        }))
    }

    /// `results/<pipeline>/<sweep>/`: the aggregated metrics and one folder per point.
    pub fn dir(&self, results_root: &std::path::Path, pipeline: &str) -> std::path::PathBuf {
        results_root.join(pipeline).join(&self.spec.name)
    }

    /// The swept keys that are not seeds (points equal in them are replicates).
    pub fn setting_keys(&self) -> Vec<String> {
        self.keys().into_iter().filter(|k| !is_seed(k)).collect()
    }

    /// All swept keys in axis order.
    pub fn keys(&self) -> Vec<String> {
        self.points
            .first()
            .map(|p| p.assignments.iter().map(|(k, _)| k.clone()).collect())
            .unwrap_or_default()
    }

    /// `train.optimizer=adam,label.window=1d`: the point's setting without seeds (empty when only
    /// seeds are swept).
    pub fn group_of(&self, point: &Point) -> String {
        point
            .assignments
            .iter()
            .filter(|(k, _)| !is_seed(k))
            .map(|(k, v)| format!("{k}={}", v.text))
            .collect::<Vec<_>>()
            .join(",")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    const STAGES: &str = r#"
[pipeline]
name = "t"

[stage.synth]
kind = "synth.geomag"
duration = "30d"

[stage.label]
kind = "label.precursor"
inputs = { series = "synth/series", catalog = "synth/catalog", kp = "synth/kp" }
window = "6h"
lead = "12h"

[stage.train]
kind = "train"
input = "label"

[stage.evaluate]
kind = "evaluate.classifier"
inputs = { model = "train", data = "label" }
"#;

    fn parse(sweep: &str, set: &[&str]) -> Result<(Pipeline, Option<Study>), String> {
        let text = format!("{STAGES}\n{sweep}");
        let overrides: Vec<Override> = set.iter().map(|s| Override::parse(s).unwrap()).collect();
        let p = Pipeline::parse(
            "t.toml",
            &text,
            Path::new("t.toml"),
            Path::new("."),
            crate::stages::REGISTRY,
            &overrides,
        )
        .map_err(flat)?;
        let s = Study::resolve(&p, Selection::Default, &overrides, crate::stages::REGISTRY)
            .map_err(flat)?;
        Ok((p, s))
    }

    /// A rendered report with its line wrapping undone.
    fn flat(e: crate::diag::Error) -> String {
        format!("{:?}", miette::Report::new(e))
            .replace('│', " ")
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
    }

    fn labels(s: &Study) -> Vec<String> {
        s.points.iter().map(|p| p.label.clone()).collect()
    }

    #[test]
    fn grid_crossed_with_zip_first_key_outermost() {
        let (_, s) = parse(
            r#"[sweep]
grid = { "train.optimizer" = ["adam", "sgd"], "train.seed" = [1, 2] }
zip = [{ "label.window" = ["1h", "1d"], "train.batch" = [64, 16] }]"#,
            &[],
        )
        .unwrap();
        let s = s.unwrap();
        assert_eq!(s.points.len(), 8);
        assert_eq!(
            &labels(&s)[..3],
            [
                "optimizer=adam,seed=1,window=1h,batch=64",
                "optimizer=adam,seed=1,window=1d,batch=16",
                "optimizer=adam,seed=2,window=1h,batch=64"
            ]
        );
        // Each point's pipeline carries its values.
        let last = &s.pipelines[7];
        assert_eq!(
            last.stage("train").unwrap().params.get("optimizer"),
            Some(&crate::params::Value::Str("sgd".into()))
        );
        assert_eq!(
            last.stage("train").unwrap().params.get("batch"),
            Some(&crate::params::Value::Int(16))
        );
        assert_eq!(last.stage("train").unwrap().seed, 2);
    }

    #[test]
    fn exclude_removes_matching_points_and_warns_when_nothing_matches() {
        let (_, s) = parse(
            r#"[sweep]
grid = { "train.optimizer" = ["adam", "sgd"], "label.window" = ["1h", "1d", "7d"] }
exclude = [{ "train.optimizer" = "sgd", "label.window" = ["7d", "24h"] }, { "train.optimizer" = "rmsprop" }]"#,
            &[],
        )
        .unwrap();
        let s = s.unwrap();
        // "24h" is the canonical 1d: both sgd/7d and sgd/1d go.
        assert_eq!(
            labels(&s),
            [
                "optimizer=adam,window=1h",
                "optimizer=adam,window=1d",
                "optimizer=adam,window=7d",
                "optimizer=sgd,window=1h"
            ]
        );
        assert_eq!(s.warnings.len(), 1, "{:?}", s.warnings);
        assert!(s.warnings[0].contains("t.toml:"), "{}", s.warnings[0]);
    }

    #[test]
    fn ranges_follow_numpy_and_python() {
        let (_, s) = parse(
            r#"[sweep]
grid = { "train.lr" = { logspace = [1e-4, 1e-2, 5] } }"#,
            &[],
        )
        .unwrap();
        let lr: Vec<f64> = s
            .unwrap()
            .points
            .iter()
            .map(|p| p.get("train.lr").unwrap().canonical.as_f64().unwrap())
            .collect();
        // numpy.logspace(-4, -2, 5)
        let want = [
            0.0001,
            0.00031622776601683794,
            0.001,
            0.0031622776601683794,
            0.01,
        ];
        for (a, b) in lr.iter().zip(want) {
            assert!((a - b).abs() <= 1e-15 * b, "{a} vs {b}");
        }
        let (_, s) = parse(
            r#"[sweep]
grid = { "train.epochs" = { range = [1, 10, 3] }, "train.lr" = { linspace = [0.1, 0.5, 5] } }"#,
            &[],
        )
        .unwrap();
        let s = s.unwrap();
        assert_eq!(s.points.len(), 15);
        let epochs: Vec<String> = s
            .points
            .iter()
            .step_by(5)
            .map(|p| p.get("train.epochs").unwrap().text.clone())
            .collect();
        assert_eq!(epochs, ["1", "4", "7"]);
        let lin: Vec<f64> = s.points[..5]
            .iter()
            .map(|p| p.get("train.lr").unwrap().canonical.as_f64().unwrap())
            .collect();
        assert_eq!(lin, [0.1, 0.2, 0.30000000000000004, 0.4, 0.5]);
    }

    #[test]
    fn max_runs_refuses_with_the_count() {
        let e = parse(
            r#"[sweep]
grid = { "train.seed" = { range = [0, 12] }, "train.optimizer" = ["adam", "sgd"] }
max_runs = 20"#,
            &[],
        )
        .err()
        .unwrap();
        assert!(
            e.contains("makes 24 points, more than max_runs = 20"),
            "{e}"
        );
        assert!(e.contains("t.toml:"), "{e}");
        // The command line lifts it.
        let (_, s) = parse(
            r#"[sweep]
grid = { "train.seed" = { range = [0, 12] }, "train.optimizer" = ["adam", "sgd"] }
max_runs = 20"#,
            &["sweep.max_runs=24"],
        )
        .unwrap();
        assert_eq!(s.unwrap().points.len(), 24);
    }

    #[test]
    fn point_ids_do_not_depend_on_key_order_or_spelling() {
        let a = parse(
            r#"[sweep]
grid = { "train.optimizer" = ["adam"], "label.window" = ["1d"] }"#,
            &[],
        )
        .unwrap()
        .1
        .unwrap();
        let b = parse(
            r#"[sweep]
grid = { "label.window" = ["24h"], "train.optimizer" = ["adam"] }"#,
            &[],
        )
        .unwrap()
        .1
        .unwrap();
        assert_eq!(a.points[0].id, b.points[0].id);
        // A stable value: the hash of {"label.window":"1d","train.optimizer":"adam"}.
        let json = r#"{"label.window":"1d","train.optimizer":"adam"}"#;
        assert_eq!(a.points[0].id, blake3::hash(json.as_bytes()).to_hex()[..12]);
    }

    #[test]
    fn set_pins_replaces_or_adds_axes() {
        let sweep = r#"[sweep]
grid = { "train.optimizer" = ["adam", "sgd"], "train.seed" = [1, 2] }"#;
        let (_, s) = parse(sweep, &["train.seed=7"]).unwrap();
        let s = s.unwrap();
        assert_eq!(labels(&s), ["optimizer=adam", "optimizer=sgd"]);
        assert_eq!(s.pipelines[0].stage("train").unwrap().seed, 7);
        let (_, s) = parse(sweep, &["sweep.train.seed=[3,4,5]"]).unwrap();
        assert_eq!(s.unwrap().points.len(), 6);
        let (_, s) = parse(sweep, &["sweep.train.lr=[0.01,0.1]"]).unwrap();
        assert_eq!(s.unwrap().points.len(), 8);
        // No [sweep] in the file: --set sweep.… makes one.
        let (_, s) = parse("", &["sweep.train.seed=[1,2]"]).unwrap();
        assert_eq!(s.unwrap().points.len(), 2);
        let (_, s) = parse("", &[]).unwrap();
        assert!(s.is_none());
    }

    #[test]
    fn bad_sweeps_are_located_errors() {
        for (sweep, want) in [
            (r#"grid = { "trian.seed" = [1] }"#, "unknown stage `trian`"),
            (
                r#"grid = { "train.rate" = [1] }"#,
                "has no parameter `rate`",
            ),
            (
                r#"grid = { "train.optimizer" = ["adam", "nadam"] }"#,
                "nadam",
            ),
            (r#"grid = { "train.seed" = 3 }"#, "must list the values"),
            (
                r#"zip = [{ "label.window" = ["1h", "1d"], "train.batch" = [64] }]"#,
                "zipped lists differ in length",
            ),
            (
                r#"grid = { "train.seed" = [1] }
exclude = [{ "train.lr" = 0.1 }]"#,
                "does not vary",
            ),
            (
                r#"grid = { "train.lr" = { logspace = [0, 1, 3] } }"#,
                "positive bounds",
            ),
            (
                r#"grid = { "train.seed" = [1] }
plot = { x = "train.seed", y = "evaluate.acc" }"#,
                "did you mean `evaluate.accuracy`",
            ),
            (r#"grids = { "train.seed" = [1] }"#, "did you mean `grid`"),
        ] {
            let e = parse(&format!("[sweep]\n{sweep}"), &[])
                .err()
                .unwrap_or_default();
            assert!(e.contains(want), "{sweep}: {e}");
            assert!(e.contains("t.toml:"), "{sweep}: {e}");
        }
    }

    #[test]
    fn named_sweeps_are_chosen_by_name() {
        let text = format!(
            "{STAGES}\n[sweep.a]\ngrid = {{ \"train.seed\" = [1, 2] }}\n[sweep.b]\ngrid = {{ \"train.seed\" = [3] }}\n"
        );
        let p = Pipeline::parse(
            "t.toml",
            &text,
            Path::new("t.toml"),
            Path::new("."),
            crate::stages::REGISTRY,
            &[],
        )
        .unwrap();
        assert!(
            Study::resolve(&p, Selection::Default, &[], crate::stages::REGISTRY)
                .unwrap()
                .is_none()
        );
        let b = Study::resolve(&p, Selection::Named("b"), &[], crate::stages::REGISTRY)
            .unwrap()
            .unwrap();
        assert_eq!(b.points.len(), 1);
        let e = Study::resolve(&p, Selection::Named("c"), &[], crate::stages::REGISTRY)
            .err()
            .unwrap();
        assert!(flat(e).contains("its sweeps are: a, b"));
    }
}
