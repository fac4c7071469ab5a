//! One `[stage.<id>]` table of a pipeline file → a validated [`StageDecl`], in passes (see
//! [`stage_decl`]); every mistake is a [`SourceError`] pointing into the file or the `--set`
//! argument it came from.

use std::collections::BTreeMap;
use std::ops::Range;

use toml_edit::{Item, TableLike};

use super::{InputRef, Override, RESERVED, StageDecl, resources, span_of, valid_id};
use crate::diag::{Source, SourceError};
use crate::params::{Origin, ParamError, Params, Presence, convert, describe_toml, suggest};
use crate::stage::{ANY_INPUT, Stage};

/// Where one `[stage.<id>]` table is read from: the file, the stage's id and its place.
pub(super) struct StageAt<'a> {
    pub source: &'a Source,
    pub id: &'a str,
    pub id_span: Range<usize>,
}

/// One `[stage.<id>]` table → a [`StageDecl`], in passes that each add their errors to `errors`
/// (in this order, which is the order a user reads them): the kind; the values of the file,
/// then `--set` (later wins); each value assigned to a parameter, an input, the seed or the
/// resources; defaults and required parameters; declared inputs; then the chosen plug-in's
/// parameters and the cross-field checks, once every field is valid on its own.
pub(super) fn stage_decl(
    at: StageAt<'_>,
    item: &Item,
    registry: &[&'static dyn Stage],
    overrides: &[Override],
    default_seed: u64,
    errors: &mut Vec<SourceError>,
) -> Option<StageDecl> {
    let StageAt { source, id, .. } = at;
    let id_span = at.id_span.clone();
    if !valid_id(id) {
        errors.push(source.error(
            id_span.clone(),
            format!("stage id `{id}` may only contain letters, digits, `_` and `-`"),
        ));
    }
    let (table, kind) = resolve_kind(&at, item, registry, errors)?;
    let errors_before = errors.len();
    let values = values(&at, table, overrides, errors);
    let mut out = Assigned {
        params: Params::default(),
        inputs: BTreeMap::new(),
        seed: default_seed,
        resources: resources::Resources::default(),
    };
    out.params.set_stage_origin(Origin {
        source: source.clone(),
        span: id_span.clone(),
    });
    assign(&at, table, kind, &values, &mut out, errors);
    fill_defaults(&at, kind, &mut out.params, errors);
    check_inputs(&at, kind, &out.inputs, errors);
    let Assigned {
        mut params,
        inputs,
        seed,
        resources,
    } = out;
    // A plug-in's parameters (a model's hyper-parameters) apply only when it is chosen: set
    // for another one is an error, defaulted they are dropped and never enter the key.
    if errors.len() == errors_before {
        match kind.inapplicable(&params) {
            Ok(names) => {
                for (name, why) in names {
                    if params.is_explicit(name) {
                        errors.push(params.error(ParamError::new(name, why)));
                    } else {
                        params.remove(name);
                    }
                }
            }
            Err(e) => errors.push(params.error(e)),
        }
    }
    // Cross-field checks only make sense once every field is individually valid.
    if errors.len() == errors_before
        && let Err(e) = kind.check(&params)
    {
        errors.push(params.error(e));
    }
    Some(StageDecl {
        id: id.to_string(),
        kind,
        params,
        inputs,
        seed,
        resources,
        span: id_span,
    })
}

/// What the values of a stage table become.
struct Assigned {
    params: Params,
    inputs: BTreeMap<String, InputRef>,
    seed: u64,
    resources: resources::Resources,
}

/// A value, the source it came from (the file or a `--set` argument) and its place there.
type Located = (toml_edit::Value, Source, Range<usize>);

/// The table and its registered kind, or why there is none.
fn resolve_kind<'t>(
    at: &StageAt<'_>,
    item: &'t Item,
    registry: &[&'static dyn Stage],
    errors: &mut Vec<SourceError>,
) -> Option<(&'t dyn TableLike, &'static dyn Stage)> {
    let StageAt { source, id, .. } = *at;
    let id_span = at.id_span.clone();
    let Some(table) = item.as_table_like() else {
        errors.push(source.error(span_of(item), format!("stage `{id}` must be a table")));
        return None;
    };
    let kind_name = match table.get("kind").map(|k| (k, k.as_str())) {
        Some((_, Some(k))) => k,
        Some((k, None)) => {
            errors.push(source.error(
                span_of(k),
                format!("`kind` of stage `{id}` must be a string"),
            ));
            return None;
        }
        None => {
            errors.push(
                source
                    .error(id_span, format!("stage `{id}` has no `kind`"))
                    .help("add kind = \"…\"; `quakeline stages` lists the kinds"),
            );
            return None;
        }
    };
    let kind_span = span_of(table.get("kind")?);
    let Some(kind) = registry
        .iter()
        .copied()
        .find(|s| s.info().kind == kind_name)
    else {
        let kinds: Vec<&str> = registry.iter().map(|s| s.info().kind).collect();
        let help = match suggest(kind_name, kinds.iter().copied()) {
            Some(s) => format!("did you mean \"{s}\"?"),
            None => format!("known kinds: {}", kinds.join(", ")),
        };
        errors.push(
            source
                .error(kind_span, format!("unknown stage kind \"{kind_name}\""))
                .help(help),
        );
        return None;
    };
    Some((table, kind))
}

/// The table's values, then the overrides of this stage (later wins).
fn values(
    at: &StageAt<'_>,
    table: &dyn TableLike,
    overrides: &[Override],
    errors: &mut Vec<SourceError>,
) -> BTreeMap<String, Located> {
    let StageAt { source, id, .. } = *at;
    // Values from the file, then overrides (later wins), each with its own source for diagnostics.
    let mut values: BTreeMap<String, Located> = BTreeMap::new();
    for (key, item) in table.iter() {
        if key == "kind" {
            continue;
        }
        // `[stage.<id>.resources]` is the same as `resources = { … }`.
        if key == "resources"
            && let Some(t) = item.as_table()
        {
            let value = toml_edit::Value::InlineTable(t.clone().into_inline_table());
            values.insert(key.to_string(), (value, source.clone(), span_of(item)));
            continue;
        }
        let Some(value) = item.as_value() else {
            errors.push(source.error(
                span_of(item),
                format!("`{key}` in stage `{id}` must be a value, not a table"),
            ));
            continue;
        };
        values.insert(
            key.to_string(),
            (value.clone(), source.clone(), span_of(item)),
        );
    }
    for o in overrides.iter().filter(|o| o.stage == id) {
        values.insert(
            o.key.clone(),
            (o.value.clone(), o.source.clone(), o.span.clone()),
        );
    }
    values
}

/// Each value to what it sets: the seed, the resources, inputs, or a declared parameter.
fn assign(
    at: &StageAt<'_>,
    table: &dyn TableLike,
    kind: &'static dyn Stage,
    values: &BTreeMap<String, Located>,
    out: &mut Assigned,
    errors: &mut Vec<SourceError>,
) {
    let StageAt { source, id, .. } = *at;
    let specs = kind.params();
    let Assigned {
        params,
        inputs,
        seed,
        resources,
    } = out;
    for (key, (value, src, span)) in values {
        let span = span.clone();
        match key.as_str() {
            "kind" => errors.push(
                src.error(span, "the kind of a stage cannot be overridden")
                    .help("edit the pipeline file, or write another stage"),
            ),
            "seed" => match value {
                toml_edit::Value::Integer(i) if *i.value() >= 0 => *seed = *i.value() as u64,
                _ => errors.push(src.error(span, "`seed` must be a non-negative integer")),
            },
            "resources" => match resources::Resources::parse(value, src, span) {
                Ok(r) => *resources = r,
                Err(e) => errors.extend(e),
            },
            "input" | "inputs" => assign_input(key, value, src, span, kind, inputs, errors),
            _ => match specs.iter().find(|s| s.name == key) {
                Some(spec) => match convert(spec, value) {
                    Ok(v) => params.set(
                        spec,
                        v,
                        Some(Origin {
                            source: src.clone(),
                            span,
                        }),
                    ),
                    Err(msg) => errors.push(
                        src.error(span, msg)
                            .help(format!("{}: {}", spec.name, spec.doc)),
                    ),
                },
                None => {
                    let names = specs.iter().map(|s| s.name).chain(RESERVED);
                    let help = match suggest(key, names) {
                        Some(s) => format!("did you mean `{s}`?"),
                        None => format!(
                            "kind \"{}\" takes: {}",
                            kind.info().kind,
                            specs.iter().map(|s| s.name).collect::<Vec<_>>().join(", ")
                        ),
                    };
                    let key_span = if std::ptr::eq(src.text.as_ref(), source.text.as_ref()) {
                        table.key(key).and_then(|k| k.span()).unwrap_or(span)
                    } else {
                        0..src.text.find('=').unwrap_or(0)
                    };
                    errors.push(
                        src.error(
                            key_span,
                            format!(
                                "unknown parameter `{key}` for stage `{id}` (kind \"{}\")",
                                kind.info().kind
                            ),
                        )
                        .help(help),
                    );
                }
            },
        }
    }
}

/// `input = "<stage>"` (the kind's one required input, any other optional) or `inputs = { … }`;
/// otherwise an error saying how this kind takes its inputs.
fn assign_input(
    key: &str,
    value: &toml_edit::Value,
    src: &Source,
    span: Range<usize>,
    kind: &'static dyn Stage,
    inputs: &mut BTreeMap<String, InputRef>,
    errors: &mut Vec<SourceError>,
) {
    let declared = kind.info().inputs;
    match key {
        // `input = "<stage>"`: the kind's one required input is called `input` (any other is
        // optional, e.g. train's `init`, and then needs the `inputs` table).
        "input"
            if declared.iter().any(|d| d.name == "input")
                && declared.iter().all(|d| d.name == "input" || d.optional) =>
        {
            match value {
                toml_edit::Value::String(s) => {
                    inputs.insert("input".to_string(), InputRef::parse(s.value(), span));
                }
                other => errors.push(src.error(
                    span,
                    format!(
                        "`input` must be the id of an upstream stage, found {}",
                        describe_toml(other)
                    ),
                )),
            }
        }
        "inputs" if declared.len() > 1 || (declared.len() == 1 && declared[0].name != "input") => {
            let Some(t) = value.as_inline_table() else {
                errors.push(src.error(
                    span,
                    "`inputs` must be a table such as { series = \"filtered\" }",
                ));
                return;
            };
            for (name, v) in t.iter() {
                let vspan = v.span().unwrap_or(span.clone());
                if !declared
                    .iter()
                    .any(|d| d.name == name || d.name == ANY_INPUT)
                {
                    let names: Vec<&str> = declared.iter().map(|d| d.name).collect();
                    errors.push(
                        src.error(
                            vspan,
                            format!("kind \"{}\" has no input named `{name}`", kind.info().kind),
                        )
                        .help(format!("its inputs are: {}", names.join(", "))),
                    );
                } else if let Some(s) = v.as_str() {
                    inputs.insert(name.to_string(), InputRef::parse(s, vspan));
                } else {
                    errors.push(src.error(
                        vspan,
                        format!("input `{name}` must be the id of an upstream stage"),
                    ));
                }
            }
        }
        "input" | "inputs" => {
            let help = match declared {
                [] => format!("kind \"{}\" reads no upstream stage", kind.info().kind),
                [one] if one.name == "input" => "write input = \"<stage>\"".to_string(),
                many if many.iter().all(|d| d.name == "input" || d.optional) => format!(
                    "write input = \"<stage>\", or inputs = {{ {} }}",
                    many.iter()
                        .map(|d| format!("{} = \"<stage>\"", d.name))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                many => format!(
                    "write inputs = {{ {} }}",
                    many.iter()
                        .map(|d| format!("{} = \"<stage>\"", d.name))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            };
            errors.push(
                src.error(
                    span,
                    format!(
                        "`{key}` is not how kind \"{}\" takes inputs",
                        kind.info().kind
                    ),
                )
                .help(help),
            );
        }
        _ => unreachable!("called for `input` and `inputs` only"),
    }
}

/// Defaults for what the file leaves out; a missing required parameter is an error.
fn fill_defaults(
    at: &StageAt<'_>,
    kind: &'static dyn Stage,
    params: &mut Params,
    errors: &mut Vec<SourceError>,
) {
    let StageAt { source, id, .. } = *at;
    let id_span = at.id_span.clone();
    for spec in kind.params() {
        if params.get(spec.name).is_some() {
            continue;
        }
        match spec.presence {
            Presence::Required => errors.push(
                source
                    .error(
                        id_span.clone(),
                        format!("stage `{id}` is missing required parameter `{}`", spec.name),
                    )
                    .help(format!(
                        "{}: {} ({})",
                        spec.name,
                        spec.doc,
                        spec.ty.describe()
                    )),
            ),
            Presence::Default(text) => {
                let value = text
                    .parse::<toml_edit::Value>()
                    .map_err(|e| e.to_string())
                    .and_then(|v| convert(spec, &v));
                match value {
                    Ok(v) => params.set(spec, v, None),
                    Err(e) => errors.push(source.error(
                        id_span.clone(),
                        format!("internal error: default of `{}` is invalid: {e}", spec.name),
                    )),
                }
            }
            Presence::Optional => {}
        }
    }
}

/// Every declared input that is not optional is wired.
fn check_inputs(
    at: &StageAt<'_>,
    kind: &'static dyn Stage,
    inputs: &BTreeMap<String, InputRef>,
    errors: &mut Vec<SourceError>,
) {
    let StageAt { source, id, .. } = *at;
    let id_span = at.id_span.clone();
    let declared = kind.info().inputs;
    for d in declared {
        let single = declared.len() == 1 && d.name == "input";
        if d.name == ANY_INPUT {
            if inputs.is_empty() {
                errors.push(
                    source
                        .error(
                            id_span.clone(),
                            format!("stage `{id}` has no inputs ({})", d.doc),
                        )
                        .help("add inputs = { name = \"<stage>\", … } with any names you like"),
                );
            }
            continue;
        }
        if !inputs.contains_key(d.name) && !d.optional {
            let how = if single {
                "input = \"<stage>\"".to_string()
            } else {
                format!("inputs = {{ {} = \"<stage>\" }}", d.name)
            };
            errors.push(
                source
                    .error(
                        id_span.clone(),
                        format!("stage `{id}` has no input `{}` ({})", d.name, d.doc),
                    )
                    .help(format!("add {how}")),
            );
        }
    }
}
