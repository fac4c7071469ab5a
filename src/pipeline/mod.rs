//! Pipeline files: TOML text → validated [`Pipeline`], in cheap passes before any I/O.
//!
//! ```toml
//! [pipeline]
//! name = "bou-week"     # results go to results/<name>/
//! seed = 42             # handed to every stochastic stage; a stage may override with `seed = 7`
//!
//! [stage.filled]        # stage id "filled"
//! kind = "gapfill"      # a kind from `quakeline stages`
//! input = "mag"         # single-input kinds; multi-input kinds use inputs = { series = "…", … }
//! max_gap = "3m"        # parameters declared by the kind
//! ```
//!
//! Pass 1 parses TOML (syntax errors carry the span). Pass 2 checks the top-level shape, every stage's
//! reserved keys (`kind`, `input`/`inputs`, `seed`) and parameters against the kind's declared
//! [`ParamSpec`](crate::params::ParamSpec)s, applies `--set` overrides and defaults, and runs the
//! kind's cross-field [`check`](crate::stage::Stage::check). All errors of pass 2 are collected and
//! reported together. Wiring (missing stages, cycles) is checked by [`crate::dag`]. A typo in a
//! parameter silently changes the science, so unknown keys are errors, never warnings.

pub mod gates;
pub mod resources;
mod stage_table;
pub mod sweep;

use std::collections::BTreeMap;
use std::ops::Range;
use std::path::{Path, PathBuf};

use toml_edit::{Item, TableLike};

use crate::diag::{Error, Source, SourceError, SourceErrors};
use crate::params::{Params, suggest};
use crate::stage::Stage;

/// Keys of a stage table that are not parameters.
const RESERVED: [&str; 5] = ["kind", "input", "inputs", "seed", "resources"];
/// Top-level tables.
const TOP_LEVEL: [&str; 4] = ["pipeline", "stage", "sweep", "gates"];

pub struct Pipeline {
    pub name: String,
    pub seed: u64,
    /// The file as given on the command line.
    pub path: PathBuf,
    /// Directory that relative paths in parameters are resolved against.
    pub dir: PathBuf,
    pub source: Source,
    /// Stages in file order.
    pub stages: Vec<StageDecl>,
    /// `[sweep]` (one, named `sweep`) or `[sweep.<name>]` tables ([`sweep`]).
    pub sweeps: Vec<sweep::SweepSpec>,
    /// `[gates]` ([`gates`]).
    pub gates: gates::Gates,
}

pub struct StageDecl {
    pub id: String,
    pub kind: &'static dyn Stage,
    pub params: Params,
    /// Input name → upstream reference.
    pub inputs: BTreeMap<String, InputRef>,
    pub seed: u64,
    /// What one run asks a cluster scheduler for (`resources = {…}`); not in the cache key.
    pub resources: resources::Resources,
    /// Span of the stage's `[stage.<id>]` key, for stage-level messages.
    pub span: Range<usize>,
}

#[derive(Clone, Debug)]
pub struct InputRef {
    pub stage: String,
    /// A named output of the upstream stage (`"synth/series"` → `series`), for kinds that declare
    /// several ([`StageInfo::outputs`](crate::stage::StageInfo::outputs)).
    pub output: Option<String>,
    pub span: Range<usize>,
}

impl InputRef {
    /// `"stage"` or `"stage/output"`.
    pub fn parse(text: &str, span: Range<usize>) -> InputRef {
        match text.split_once('/') {
            Some((stage, output)) => InputRef {
                stage: stage.to_string(),
                output: Some(output.to_string()),
                span,
            },
            None => InputRef {
                stage: text.to_string(),
                output: None,
                span,
            },
        }
    }

    /// How the reference reads in messages and in the key: `stage` or `stage/output`.
    pub fn suffix(&self) -> String {
        self.output
            .as_ref()
            .map(|o| format!("/{o}"))
            .unwrap_or_default()
    }
}

/// A `--set STAGE.KEY=VALUE` override.
#[derive(Clone, Debug)]
pub struct Override {
    pub stage: String,
    pub key: String,
    pub value: toml_edit::Value,
    pub source: Source,
    pub span: Range<usize>,
}

impl Override {
    /// Parses `STAGE.KEY=VALUE`; VALUE is TOML (`2`, `[1.0, 2.0]`, `"x"`), or a bare string (`5m`).
    pub fn parse(arg: &str) -> Result<Override, Box<SourceError>> {
        let source = Source::new("--set", arg);
        let Some((lhs, rhs)) = arg.split_once('=') else {
            return Err(Box::new(
                source
                    .error(0..arg.len(), "expected STAGE.KEY=VALUE")
                    .help("e.g. --set detrended.order=2 or --set filled.max_gap=5m"),
            ));
        };
        let Some((stage, key)) = lhs.trim().split_once('.') else {
            return Err(Box::new(
                source.error(0..lhs.len(), "expected STAGE.KEY before `=`"),
            ));
        };
        let text = rhs.trim();
        let value = format!("v = {text}")
            .parse::<toml_edit::DocumentMut>()
            .ok()
            .and_then(|d| d.get("v").and_then(|i| i.as_value().cloned()))
            .unwrap_or_else(|| toml_edit::Value::from(text));
        let start = lhs.len() + 1;
        Ok(Override {
            stage: stage.to_string(),
            key: key.to_string(),
            value,
            span: start..arg.len(),
            source,
        })
    }
}

fn span_of(item: &Item) -> Range<usize> {
    item.span().unwrap_or(0..0)
}

fn key_span(table: &dyn TableLike, key: &str) -> Range<usize> {
    table.key(key).and_then(|k| k.span()).unwrap_or(0..0)
}

fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

impl Pipeline {
    /// Reads and validates a pipeline file. `registry` maps kinds to implementations.
    pub fn load(
        path: &Path,
        registry: &[&'static dyn Stage],
        overrides: &[Override],
    ) -> Result<Pipeline, Error> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            Error::other(
                format!("cannot read pipeline file {}: {e}", path.display()),
                "check the path; pipeline files are TOML (see pipelines/quickstart.toml)",
            )
        })?;
        let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
        let dir = if dir.as_os_str().is_empty() {
            PathBuf::from(".")
        } else {
            dir
        };
        Self::parse(
            &path.display().to_string(),
            &text,
            path,
            &dir,
            registry,
            overrides,
        )
    }

    pub fn parse(
        name: &str,
        text: &str,
        path: &Path,
        dir: &Path,
        registry: &[&'static dyn Stage],
        overrides: &[Override],
    ) -> Result<Pipeline, Error> {
        let source = Source::new(name, text);
        let doc = toml_edit::Document::parse(text.to_string()).map_err(|e| {
            let span = e.span().unwrap_or(0..0);
            Error::from(
                source
                    .error(span, format!("invalid TOML: {}", e.message().trim()))
                    .help("see https://toml.io for the syntax"),
            )
        })?;
        let mut errors = Vec::new();
        let root = doc.as_table();

        for (key, _) in root.iter() {
            if !TOP_LEVEL.contains(&key) {
                let mut err = source.error(
                    key_span(root, key),
                    format!("unknown top-level table `{key}`"),
                );
                err = err.help(match suggest(key, TOP_LEVEL) {
                    Some(s) => format!("did you mean `{s}`?"),
                    None => "a pipeline file has [pipeline] and [stage.<id>] tables".into(),
                });
                errors.push(err);
            }
        }

        let (name, seed) = pipeline_table(&source, root, overrides, &mut errors);

        let mut stages = Vec::new();
        match root.get("stage") {
            None => errors.push(source.error(0..0, "the pipeline has no stages").help(
                "add a [stage.<id>] table with a `kind`; `quakeline stages` lists the kinds",
            )),
            Some(item) => match item.as_table_like() {
                None => errors.push(source.error(
                    span_of(item),
                    "`stage` must be a table of [stage.<id>] tables",
                )),
                Some(table) => {
                    for (id, item) in table.iter() {
                        let span = key_span(table, id);
                        if let Some(decl) = stage_table::stage_decl(
                            stage_table::StageAt {
                                source: &source,
                                id,
                                id_span: span,
                            },
                            item,
                            registry,
                            overrides,
                            seed,
                            &mut errors,
                        ) {
                            stages.push(decl);
                        }
                    }
                }
            },
        }

        let metric_names = declared_metrics(&stages);
        let names: Vec<String> = metric_names.iter().map(|(n, _)| n.clone()).collect();
        let sweeps = match root.get("sweep") {
            Some(item) => sweep::parse(&source, item, &stages, &names, &mut errors),
            None => Vec::new(),
        };
        let gates = match root.get("gates") {
            Some(item) => gates::parse(&source, item, &metric_names, &mut errors),
            None => Default::default(),
        };

        for o in overrides {
            let known = o.stage == "pipeline"
                || o.stage == "sweep"
                || stages.iter().any(|s| s.id == o.stage);
            let parse_failed = root
                .get("stage")
                .and_then(|s| s.as_table_like())
                .is_some_and(|t| t.contains_key(&o.stage));
            if !known && !parse_failed {
                let ids: Vec<&str> = stages.iter().map(|s| s.id.as_str()).collect();
                let mut err = o.source.error(
                    0..o.stage.len(),
                    format!("--set names unknown stage `{}`", o.stage),
                );
                err = err.help(match suggest(&o.stage, ids.iter().copied()) {
                    Some(s) => format!("did you mean `{s}`?"),
                    None => format!("the stages are: {}", ids.join(", ")),
                });
                errors.push(err);
            }
        }

        SourceErrors::check(errors)?;
        Ok(Pipeline {
            name,
            seed,
            path: path.to_path_buf(),
            dir: dir.to_path_buf(),
            source,
            stages,
            sweeps,
            gates,
        })
    }

    /// Indexed like [`Pipeline::stages`]: the `targets` and every stage they read, directly or
    /// not; everything when `targets` is empty.
    pub fn needed(&self, targets: &[String]) -> Vec<bool> {
        if targets.is_empty() {
            return vec![true; self.stages.len()];
        }
        let mut needed = vec![false; self.stages.len()];
        let mut stack: Vec<usize> = targets.iter().filter_map(|t| self.index_of(t)).collect();
        while let Some(i) = stack.pop() {
            if std::mem::replace(&mut needed[i], true) {
                continue;
            }
            stack.extend(
                self.stages[i]
                    .inputs
                    .values()
                    .filter_map(|r| self.index_of(&r.stage)),
            );
        }
        needed
    }

    /// `stage.metric` names of every metric the stages declare, in stage order.
    pub fn metric_names(&self) -> Vec<String> {
        declared_metrics(&self.stages)
            .into_iter()
            .map(|(n, _)| n)
            .collect()
    }

    pub fn stage(&self, id: &str) -> Option<&StageDecl> {
        self.stages.iter().find(|s| s.id == id)
    }

    /// Position of stage `id` in [`Pipeline::stages`] (the index every plan and run uses).
    pub fn index_of(&self, id: &str) -> Option<usize> {
        self.stages.iter().position(|s| s.id == id)
    }
}

/// `[pipeline]`: `name` (required) and `seed` (default 0).
fn pipeline_table(
    source: &Source,
    root: &toml_edit::Table,
    overrides: &[Override],
    errors: &mut Vec<SourceError>,
) -> (String, u64) {
    let Some(item) = root.get("pipeline") else {
        errors.push(
            source
                .error(0..0, "missing [pipeline] table")
                .help("add [pipeline] with name = \"…\""),
        );
        return (String::new(), 0);
    };
    let Some(table) = item.as_table_like() else {
        errors.push(source.error(span_of(item), "`pipeline` must be a table"));
        return (String::new(), 0);
    };
    let mut name = String::new();
    let mut seed = 0u64;
    for (key, item) in table.iter() {
        let span = span_of(item);
        match (key, item.as_value()) {
            ("name", Some(toml_edit::Value::String(s))) if valid_id(s.value()) => {
                name = s.value().clone()
            }
            ("name", _) => errors.push(
                source
                    .error(
                        span,
                        "`name` must be a string of letters, digits, `_` or `-`",
                    )
                    .help("it names the results/<name>/ folder"),
            ),
            ("seed", Some(toml_edit::Value::Integer(i))) if *i.value() >= 0 => {
                seed = *i.value() as u64
            }
            ("seed", _) => errors.push(source.error(span, "`seed` must be a non-negative integer")),
            (other, _) => errors.push(
                source
                    .error(
                        key_span(table, other),
                        format!("unknown key `{other}` in [pipeline]"),
                    )
                    .help("[pipeline] takes `name` and `seed`"),
            ),
        }
    }
    if !table.contains_key("name") {
        errors.push(
            source
                .error(span_of(item), "[pipeline] has no `name`")
                .help("add name = \"my-pipeline\""),
        );
    }
    for o in overrides.iter().filter(|o| o.stage == "pipeline") {
        match (o.key.as_str(), &o.value) {
            ("seed", toml_edit::Value::Integer(i)) if *i.value() >= 0 => seed = *i.value() as u64,
            _ => errors.push(o.source.error(
                o.span.clone(),
                "only pipeline.seed=<non-negative integer> can be set",
            )),
        }
    }
    (name, seed)
}

/// `stage.metric` name and direction of every metric the stages declare, in stage order.
fn declared_metrics(stages: &[StageDecl]) -> Vec<(String, crate::stage::Direction)> {
    stages
        .iter()
        .flat_map(|s| {
            s.kind
                .info()
                .metrics
                .iter()
                .map(move |m| (format!("{}.{}", s.id, m.name), m.direction))
        })
        .collect()
}
