//! The plan: every stage's cache key and whether its entry exists, computed without running
//! anything. `quakeline plan`, `run`, `explain` and `gc` all start here.

use crate::cache::{Cache, KEY_SCHEMA, KeyFields, Lookup};
use crate::dag::Dag;
use crate::diag::{Error, SourceErrors};
use crate::pipeline::Pipeline;
use crate::stage::{ContentDigest, PlanCtx};

#[derive(Clone, Debug, PartialEq)]
pub enum State {
    Cached,
    Pending,
    /// A manifest exists but the entry failed verification; it will be recomputed.
    Invalid(String),
}

impl State {
    pub fn label(&self) -> &'static str {
        match self {
            State::Cached => "cached",
            State::Pending | State::Invalid(_) => "pending",
        }
    }
}

pub struct StagePlan {
    pub key: String,
    pub fields: KeyFields,
    pub content: Vec<ContentDigest>,
    pub state: State,
}

pub struct Plan {
    pub dag: Dag,
    /// Indexed like `Pipeline::stages`.
    pub stages: Vec<StagePlan>,
}

impl Plan {
    pub fn make(p: &Pipeline, cache: &Cache) -> Result<Plan, Error> {
        let dag = Dag::build(p)?;
        let ctx = PlanCtx {
            pipeline_dir: &p.dir,
        };
        let mut slots: Vec<Option<StagePlan>> = (0..p.stages.len()).map(|_| None).collect();
        let mut errors = Vec::new();
        for &i in dag.order() {
            let s = &p.stages[i];
            let content = match s.kind.content_digests(&ctx, &s.params) {
                Ok(c) => c,
                Err(e) => {
                    errors.push(s.params.error(e));
                    continue;
                }
            };
            let plugin_version = match s.kind.plugin_version(&s.params) {
                Ok(v) => v,
                Err(e) => {
                    errors.push(s.params.error(e));
                    continue;
                }
            };
            let mut inputs = std::collections::BTreeMap::new();
            for (name, r) in &s.inputs {
                match p.index_of(&r.stage).and_then(|u| slots[u].as_ref()) {
                    Some(up) => {
                        // A named output is a different input than the whole entry: it enters the key.
                        inputs.insert(name.clone(), format!("{}{}", up.key, r.suffix()));
                    }
                    // The upstream stage already failed planning and was reported.
                    None => continue,
                }
            }
            if inputs.len() != s.inputs.len() {
                continue;
            }
            let mut digests: Vec<String> = content.iter().map(|c| c.blake3.clone()).collect();
            digests.sort();
            let fields = KeyFields {
                schema: KEY_SCHEMA,
                kind: s.kind.info().kind.to_string(),
                version: s.kind.info().version,
                params: s.params.key_json(),
                inputs,
                seed: s.kind.info().stochastic.then_some(s.seed),
                content: digests,
                device: s.kind.device_class().map(str::to_string),
                plugin_version,
            };
            let key = fields.key();
            let state = match cache.lookup(&key) {
                Lookup::Hit(_) => State::Cached,
                Lookup::Missing => State::Pending,
                Lookup::Invalid(reason) => State::Invalid(reason),
            };
            slots[i] = Some(StagePlan {
                key,
                fields,
                content,
                state,
            });
        }
        SourceErrors::check(errors)?;
        let stages = slots.into_iter().flatten().collect::<Vec<_>>();
        if stages.len() != p.stages.len() {
            return Err(Error::Other {
                message: "internal error: some stages could not be planned".into(),
                help: None,
            });
        }
        Ok(Plan { dag, stages })
    }
}
