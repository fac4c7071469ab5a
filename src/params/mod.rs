//! Stage parameters: declared once per stage kind, validated with spans, canonicalised for the key.
//!
//! A stage kind declares its parameters once as a struct ([`typed`], `stage_params!`), which
//! generates its `&'static [ParamSpec]` and decodes validated [`Params`] into the struct. From
//! that one list quakeline validates pipeline files (unknown keys and wrong types are errors that
//! name file, line and column), applies defaults, types `--set` overrides, prints `quakeline
//! stages` help, and builds the canonical parameter object that enters the cache key. Because
//! defaults are applied before hashing, writing a default explicitly does not change a key;
//! because durations are canonicalised (`"180s"` == `"3m"`) and integers written where floats are
//! expected are widened, equal computations get equal keys.

use std::collections::BTreeMap;
use std::ops::Range;

use serde::Serialize;

use crate::diag::{Source, SourceError};
use crate::units::{format_duration_ns, parse_duration_ns};

pub mod typed;

/// The type of a parameter, with the constraint that a pipeline file must satisfy.
#[derive(Clone, Copy, Debug)]
pub enum ParamType {
    Bool,
    /// Integer in `[min, max]`.
    Int {
        min: i64,
        max: i64,
    },
    /// Finite float; `positive` rejects zero and negatives.
    Float {
        positive: bool,
    },
    Str,
    /// One of a fixed set of strings.
    Choice(&'static [&'static str]),
    /// A duration string with unit (`"3m"`); see [`crate::units`].
    Duration,
    /// Non-empty list of finite floats with between `min_len` and `max_len` elements.
    FloatList {
        min_len: usize,
        max_len: usize,
        positive: bool,
    },
    /// Non-empty list of strings.
    StrList,
    /// A table: a non-empty array of rows, each an array of `min_cols` to `max_cols` numbers or
    /// strings (stations `["CLC", 35.8157, -117.5975]`, model layers `[5.5, 3.18, 1.73, 600]`).
    /// With `path_ok`, a string (the path of a file holding the table) is accepted instead.
    Rows {
        min_cols: usize,
        max_cols: usize,
        path_ok: bool,
    },
}

impl ParamType {
    pub fn describe(&self) -> String {
        match self {
            ParamType::Bool => "a boolean".into(),
            ParamType::Int { min, max } => format!("an integer in [{min}, {max}]"),
            ParamType::Float { positive: true } => "a positive number".into(),
            ParamType::Float { positive: false } => "a number".into(),
            ParamType::Str => "a string".into(),
            ParamType::Choice(c) => format!("one of {}", quote_list(c)),
            ParamType::Duration => "a duration string such as \"3m\" or \"7d\"".into(),
            ParamType::FloatList {
                min_len, max_len, ..
            } if min_len == max_len => {
                format!("an array of {min_len} number(s)")
            }
            ParamType::FloatList {
                min_len, max_len, ..
            } => {
                format!("an array of {min_len} to {max_len} numbers")
            }
            ParamType::StrList => "an array of strings".into(),
            ParamType::Rows {
                min_cols,
                max_cols,
                path_ok,
            } => format!(
                "{}an array of rows of {min_cols} to {max_cols} numbers or strings",
                if *path_ok { "a file path or " } else { "" }
            ),
        }
    }
}

/// Whether a parameter is needed and what it defaults to.
#[derive(Clone, Copy, Debug)]
pub enum Presence {
    Required,
    /// Default written as TOML text (`"\"mean\""`, `"4"`), validated by the same code as user input.
    Default(&'static str),
    /// May be absent; absent parameters are not part of the key.
    Optional,
}

/// What a parameter contributes to the cache key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyRole {
    /// Its canonical value enters the key.
    Value,
    /// A location (path, glob, URL): never part of the key. The stage contributes the content
    /// digest of what it names instead, so moving data or sharing a pipeline keeps the key.
    Location,
}

#[derive(Clone, Copy, Debug)]
pub struct ParamSpec {
    pub name: &'static str,
    pub ty: ParamType,
    pub presence: Presence,
    pub key: KeyRole,
    /// One sentence with the unit and the paper/standard it follows.
    pub doc: &'static str,
}

impl ParamSpec {
    pub const fn new(
        name: &'static str,
        ty: ParamType,
        presence: Presence,
        doc: &'static str,
    ) -> Self {
        ParamSpec {
            name,
            ty,
            presence,
            key: KeyRole::Value,
            doc,
        }
    }

    pub const fn location(mut self) -> Self {
        self.key = KeyRole::Location;
        self
    }
}

/// A validated, canonical parameter value.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Value {
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    /// Canonical nanoseconds; serialised as the shortest unit string so stored parameters read well.
    #[serde(serialize_with = "ser_duration")]
    Duration(i64),
    List(Vec<Value>),
}

fn ser_duration<S: serde::Serializer>(ns: &i64, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&format_duration_ns(*ns))
}

impl std::fmt::Display for Value {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match serde_json::to_string(self) {
            Ok(s) => f.write_str(&s),
            Err(_) => f.write_str("<unprintable>"),
        }
    }
}

/// Where a parameter was set: for run-time errors that must name file, line and field.
#[derive(Clone, Debug)]
pub struct Origin {
    pub source: Source,
    pub span: Range<usize>,
}

/// The parameters of one stage after validation and defaults.
#[derive(Clone, Debug, Default)]
pub struct Params {
    values: BTreeMap<String, Value>,
    roles: BTreeMap<String, KeyRole>,
    origins: BTreeMap<String, Origin>,
    /// Where the stage table starts, for defaults and stage-level errors.
    stage_origin: Option<Origin>,
}

/// An error about one parameter found by a stage's own checks (cross-field rules, files that do
/// not exist); the pipeline layer attaches the span.
#[derive(Debug, Clone)]
pub struct ParamError {
    pub param: String,
    pub message: String,
    pub help: Option<String>,
}

impl ParamError {
    pub fn new(param: &str, message: impl Into<String>) -> Self {
        ParamError {
            param: param.into(),
            message: message.into(),
            help: None,
        }
    }
    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }
}

impl std::fmt::Display for ParamError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "parameter `{}`: {}", self.param, self.message)
    }
}
impl std::error::Error for ParamError {}

impl Params {
    pub fn set(&mut self, spec: &ParamSpec, value: Value, origin: Option<Origin>) {
        self.values.insert(spec.name.to_string(), value);
        self.roles.insert(spec.name.to_string(), spec.key);
        if let Some(o) = origin {
            self.origins.insert(spec.name.to_string(), o);
        }
    }

    /// Drops a parameter that does not apply (see [`crate::stage::Stage::inapplicable`]).
    pub fn remove(&mut self, name: &str) {
        self.values.remove(name);
        self.roles.remove(name);
        self.origins.remove(name);
    }

    /// Whether the pipeline file (or `--set`) gave the parameter, rather than its default.
    pub fn is_explicit(&self, name: &str) -> bool {
        self.origins.contains_key(name)
    }

    pub fn set_stage_origin(&mut self, origin: Origin) {
        self.stage_origin = Some(origin);
    }

    pub fn get(&self, name: &str) -> Option<&Value> {
        self.values.get(name)
    }

    pub fn iter(&self) -> impl Iterator<Item = (&String, &Value)> {
        self.values.iter()
    }

    /// The canonical object that enters the cache key: every `KeyRole::Value` parameter, sorted.
    pub fn key_json(&self) -> serde_json::Value {
        let map: BTreeMap<&String, &Value> = self
            .values
            .iter()
            .filter(|(k, _)| self.roles.get(*k) == Some(&KeyRole::Value))
            .collect();
        serde_json::to_value(map).unwrap_or(serde_json::Value::Null)
    }

    /// All parameters, locations included, for provenance (`quakeline_params`).
    pub fn all_json(&self) -> serde_json::Value {
        serde_json::to_value(&self.values).unwrap_or(serde_json::Value::Null)
    }

    /// `file:line:col` where a parameter was set (or where its stage starts, for defaults).
    pub fn locate(&self, name: &str) -> String {
        match self.origins.get(name).or(self.stage_origin.as_ref()) {
            Some(o) => format!("{} (field `{name}`)", o.source.locate(&o.span)),
            None => format!("field `{name}`"),
        }
    }

    /// Turns a stage's [`ParamError`] into a diagnostic on the parameter's span.
    pub fn error(&self, e: ParamError) -> SourceError {
        let origin = self.origins.get(&e.param).or(self.stage_origin.as_ref());
        let err = match origin {
            Some(o) => o.source.error(o.span.clone(), format!("{e}")),
            None => Source::new("<pipeline>", "").error(0..0, format!("{e}")),
        };
        match e.help {
            Some(h) => err.help(h),
            None => err,
        }
    }
}

/// Validates one TOML value against a spec. `Err` is the message; the caller attaches the span.
pub fn convert(spec: &ParamSpec, value: &toml_edit::Value) -> Result<Value, String> {
    use toml_edit::Value as T;
    let wrong = || {
        format!(
            "`{}` expects {}, found {}",
            spec.name,
            spec.ty.describe(),
            describe_toml(value)
        )
    };
    let float = |v: &T, positive: bool| -> Result<f64, String> {
        let x = toml_number(v).ok_or_else(wrong)?;
        if !x.is_finite() {
            return Err(format!("`{}` must be finite, found {x}", spec.name));
        }
        if positive && x <= 0.0 {
            return Err(format!("`{}` must be positive, found {x}", spec.name));
        }
        Ok(x)
    };
    match (spec.ty, value) {
        (ParamType::Bool, T::Boolean(b)) => Ok(Value::Bool(*b.value())),
        (ParamType::Int { min, max }, T::Integer(i)) => {
            let i = *i.value();
            if i < min || i > max {
                return Err(format!(
                    "`{}` must be in [{min}, {max}], found {i}",
                    spec.name
                ));
            }
            Ok(Value::Int(i))
        }
        (ParamType::Float { positive }, v) => float(v, positive).map(Value::Float),
        (ParamType::Str, T::String(s)) => Ok(Value::Str(s.value().clone())),
        (ParamType::Choice(choices), T::String(s)) => {
            if choices.contains(&s.value().as_str()) {
                Ok(Value::Str(s.value().clone()))
            } else {
                Err(format!(
                    "`{}` must be one of {}, found \"{}\"",
                    spec.name,
                    quote_list(choices),
                    s.value()
                ))
            }
        }
        (ParamType::Duration, T::String(s)) => parse_duration_ns(s.value())
            .map(Value::Duration)
            .map_err(|e| format!("`{}`: {e}", spec.name)),
        (
            ParamType::FloatList {
                min_len,
                max_len,
                positive,
            },
            T::Array(a),
        ) => {
            if a.len() < min_len || a.len() > max_len {
                return Err(format!(
                    "`{}` expects {}, found {} element(s)",
                    spec.name,
                    spec.ty.describe(),
                    a.len()
                ));
            }
            a.iter()
                .map(|v| float(v, positive).map(Value::Float))
                .collect::<Result<_, _>>()
                .map(Value::List)
        }
        (ParamType::Rows { path_ok: true, .. }, T::String(s)) => Ok(Value::Str(s.value().clone())),
        (
            ParamType::Rows {
                min_cols, max_cols, ..
            },
            T::Array(rows),
        ) if !rows.is_empty() => rows
            .iter()
            .enumerate()
            .map(|(r, row)| match row {
                T::Array(cells) if (min_cols..=max_cols).contains(&cells.len()) => cells
                    .iter()
                    .map(|c| match c {
                        T::String(s) => Ok(Value::Str(s.value().clone())),
                        v => match toml_number(v) {
                            Some(x) if x.is_finite() => Ok(Value::Float(x)),
                            _ => Err(format!(
                                "`{}` row {}: cells must be finite numbers or strings, found {}",
                                spec.name,
                                r + 1,
                                describe_toml(v)
                            )),
                        },
                    })
                    .collect::<Result<_, _>>()
                    .map(Value::List),
                T::Array(cells) => Err(format!(
                    "`{}` row {} has {} cell(s); expected {min_cols} to {max_cols}",
                    spec.name,
                    r + 1,
                    cells.len()
                )),
                v => Err(format!(
                    "`{}` row {} must be an array, found {}",
                    spec.name,
                    r + 1,
                    describe_toml(v)
                )),
            })
            .collect::<Result<_, _>>()
            .map(Value::List),
        (ParamType::StrList, T::Array(a)) => a
            .iter()
            .map(|v| match v {
                T::String(s) => Ok(Value::Str(s.value().clone())),
                _ => Err(wrong()),
            })
            .collect::<Result<_, _>>()
            .map(Value::List),
        _ => Err(wrong()),
    }
}

/// A TOML number as f64: floats as written, integers widened (TOML's `1` where `1.0` is meant).
/// Not necessarily finite (`inf`, `nan` are TOML floats); callers say what they accept.
pub fn toml_number(v: &toml_edit::Value) -> Option<f64> {
    match v {
        toml_edit::Value::Float(f) => Some(*f.value()),
        toml_edit::Value::Integer(i) => Some(*i.value() as f64),
        _ => None,
    }
}

pub fn describe_toml(v: &toml_edit::Value) -> String {
    use toml_edit::Value as T;
    match v {
        T::String(s) => format!("string \"{}\"", s.value()),
        T::Integer(i) => format!("integer {}", i.value()),
        T::Float(f) => format!("float {}", f.value()),
        T::Boolean(b) => format!("boolean {}", b.value()),
        T::Datetime(d) => format!("datetime {}", d.value()),
        T::Array(_) => "an array".into(),
        T::InlineTable(_) => "a table".into(),
    }
}

pub fn quote_list(items: &[&str]) -> String {
    items
        .iter()
        .map(|c| format!("\"{c}\""))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The closest name to `typo` among `names` (edit distance <= 2), for "did you mean" help.
pub fn suggest<'a>(typo: &str, names: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    names
        .into_iter()
        .map(|n| (edit_distance(typo, n), n))
        .filter(|(d, _)| *d <= 2)
        .min_by_key(|(d, _)| *d)
        .map(|(_, n)| n)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            cur.push(
                (prev[j] + usize::from(ca != *cb))
                    .min(prev[j + 1] + 1)
                    .min(cur[j] + 1),
            );
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn val(text: &str) -> toml_edit::Value {
        text.parse().unwrap()
    }

    #[test]
    fn defaults_and_explicit_values_canonicalise_equally() {
        let spec = ParamSpec::new(
            "max_gap",
            ParamType::Duration,
            Presence::Default("\"3m\""),
            "",
        );
        assert_eq!(
            convert(&spec, &val("\"180s\"")),
            convert(&spec, &val("\"3m\""))
        );
        let spec = ParamSpec::new(
            "corners_hz",
            ParamType::FloatList {
                min_len: 1,
                max_len: 2,
                positive: true,
            },
            Presence::Required,
            "",
        );
        assert_eq!(convert(&spec, &val("[1]")), convert(&spec, &val("[1.0]")));
        assert!(
            convert(&spec, &val("[1, 2, 3]"))
                .unwrap_err()
                .contains("3 element")
        );
        assert!(
            convert(&spec, &val("[-1.0]"))
                .unwrap_err()
                .contains("positive")
        );
    }

    #[test]
    fn type_errors_name_the_field_and_what_was_found() {
        let spec = ParamSpec::new(
            "order",
            ParamType::Int { min: 1, max: 10 },
            Presence::Required,
            "",
        );
        assert_eq!(
            convert(&spec, &val("\"4\"")).unwrap_err(),
            "`order` expects an integer in [1, 10], found string \"4\""
        );
        assert!(convert(&spec, &val("11")).unwrap_err().contains("[1, 10]"));
    }

    #[test]
    fn suggestions() {
        assert_eq!(suggest("ordr", ["order", "type"]), Some("order"));
        assert_eq!(suggest("zzzzzz", ["order"]), None);
    }
}
