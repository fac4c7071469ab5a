//! `split.waveforms` — assign every trace of a labelled waveform set to train, dev or test.
//!
//! # Purpose
//! Hong et al. (2023) split both the global and the local set 80/20 into training and validation
//! data. A random split by trace puts waveforms of one station (and one event) on both sides, so a
//! picker is validated on stations it trained on; splitting by station or network keeps whole
//! stations out, which is what "does it generalise to new stations" asks. SeisBench sets carry
//! their own `split` column, which `by = "column"` keeps.
//!
//! # Inputs
//! `input`: a labelled waveform set.
//!
//! # Outputs
//! The same set with its `split` column set to `train`, `dev` or `test`; attributes `train`,
//! `dev`, `test` (trace counts) and `groups` (stations, networks or traces that were shuffled).
//! An on-demand set (`synth.picks`) stays on demand: only its columns are read and written. A
//! stored set is copied a block at a time with its new column (bounded memory at any size).
//!
//! # Parameters
//! - `by`: `random` (trace by trace), `station` (network + station, whole stations per split),
//!   `network`, or `column` (the split the set already has; every trace must have one).
//! - `fractions`: `[train, dev]` or `[train, dev, test]`, summing to 1 (not for `column`). Groups
//!   are shuffled with the seed and filled in that order; a group goes to the split in which the
//!   middle of its traces falls, so fractions are met to within one group.
//!
//! Train and dev must both hold traces (and test when its fraction is given): an empty split is
//! an error naming the groups, never a silent empty validation set.
//!
//! # Cache key
//! Parameters, the seed and the input key.
//!
//! # References
//! Hong, Y., Byun, A.-H., Kim, S., & Sheen, D.-H. (2023). Customization of a deep neural network
//! using local data for seismic phase picking, Frontiers in Earth Science 11, 1306488,
//! doi:10.3389/feart.2023.1306488. SeisBench's `split` metadata column (Woollam et al. 2022, SRL
//! 93:1695, doi:10.1785/0220210324).

use std::collections::BTreeMap;

use crate::data::{self, picks_recipe, waveform_set};
use crate::h5;
use crate::params::ParamError;
use crate::rng::Rng;
use crate::stage::{InputSpec, Outputs, RunCtx, StageInfo, StageKind};

pub struct SplitWaveforms;

crate::choice! {
    /// What is kept together on one side of the split.
    pub enum By {
        Random = "random",
        Station = "station",
        Network = "network",
        Column = "column",
    }
}

crate::stage_params! {
    /// Parameters of this stage kind (see the module docs).
    pub struct SplitWaveformsParams {
        /// what stays together: random (each trace), station, network, or the set's own split column
        by: By = Choice(By::NAMES), Required;
        /// [train, dev] or [train, dev, test] fractions of the traces, summing to 1
        fractions: Option<Vec<f64>> = FloatList { min_len: 2, max_len: 3, positive: true }, Optional;
    }
}

/// SeisBench's split names, in the order of `fractions`.
pub const SPLITS: [&str; 3] = ["train", "dev", "test"];

/// The input: an on-demand set's recipe (written again with the new columns) or a stored set.
enum Source {
    OnDemand(Box<picks_recipe::Recipe>),
    Stored(Box<dyn waveform_set::Traces>),
}

impl StageKind for SplitWaveforms {
    type Params = SplitWaveformsParams;
    const INFO: StageInfo = StageInfo {
        kind: "split.waveforms",
        version: 1,
        changelog: &["first version"],
        summary: "assign traces to train/dev/test: random, by station, by network, or the set's split column",
        inputs: &[InputSpec {
            name: "input",
            doc: "the labelled waveform set to split",
            accepts: &[data::WAVEFORM_SET],
            optional: false,
        }],
        outputs: Outputs::Root(data::WAVEFORM_SET),
        metrics: &[],
        stochastic: true,
    };

    fn check(&self, p: &SplitWaveformsParams) -> Result<(), ParamError> {
        match (&p.by, p.fractions.as_deref()) {
            (By::Column, Some(_)) => Err(ParamError::new(
                "fractions",
                "`by = \"column\"` keeps the set's own split; fractions do not apply",
            )),
            (By::Column, None) => Ok(()),
            (_, None) => Err(ParamError::new(
                "fractions",
                "give [train, dev] or [train, dev, test] fractions, e.g. [0.8, 0.2]",
            )),
            (_, Some(f)) => {
                let sum: f64 = f.iter().sum();
                if f.iter().any(|x| *x >= 1.0) || (sum - 1.0).abs() > 1e-9 {
                    Err(ParamError::new(
                        "fractions",
                        format!(
                            "fractions {f:?} must each be below 1 and sum to 1 (they sum to {sum})"
                        ),
                    ))
                } else {
                    Ok(())
                }
            }
        }
    }

    fn run(&self, ctx: &mut RunCtx<'_>, p: SplitWaveformsParams) -> anyhow::Result<()> {
        // Only the split column changes: an on-demand set stays on demand (its recipe is
        // written again, no trace is generated).
        let input = ctx.input("input")?;
        // A stored set is copied a block at a time with its new split column.
        let source = if picks_recipe::is(input) {
            Source::OnDemand(Box::new(picks_recipe::read(
                input,
                &format!("the input of `{}`", ctx.stage_id),
            )?))
        } else {
            Source::Stored(waveform_set::open(input, ctx.stage_id)?)
        };
        let mut set = match &source {
            Source::OnDemand(_) => waveform_set::read_columns(input, ctx.stage_id)?,
            Source::Stored(s) => waveform_set::WaveformSet {
                sampling_rate_hz: s.sampling_rate_hz(),
                samples: s.samples(),
                waveforms: Vec::new(),
                traces: s.metas().to_vec(),
            },
        };
        let wanted = p.fractions.as_ref().map_or(2, Vec::len);
        let groups = match p.fractions.as_deref() {
            None => {
                for t in &set.traces {
                    anyhow::ensure!(
                        SPLITS.contains(&t.split.as_str()),
                        "trace `{}` has split `{}`; `by = \"column\"` needs train, dev or test on every trace",
                        t.name,
                        t.split
                    );
                }
                0
            }
            Some(fractions) => {
                let key = |t: &waveform_set::Trace| match p.by {
                    By::Station => format!("{}.{}", t.network, t.station),
                    By::Network => t.network.clone(),
                    _ => String::new(),
                };
                // Groups in a fixed order (by key, traces in set order), then shuffled.
                let mut members: BTreeMap<String, Vec<usize>> = BTreeMap::new();
                for (i, t) in set.traces.iter().enumerate() {
                    let k = if p.by == By::Random {
                        format!("{i:012}")
                    } else {
                        key(t)
                    };
                    members.entry(k).or_default().push(i);
                }
                let mut groups: Vec<Vec<usize>> = members.into_values().collect();
                Rng::new(ctx.seed, "split.waveforms").shuffle(&mut groups);
                let n = set.len() as f64;
                let bounds: Vec<f64> = fractions
                    .iter()
                    .scan(0.0, |acc, f| {
                        *acc += f;
                        Some(*acc)
                    })
                    .collect();
                let mut before = 0usize;
                for g in &groups {
                    let mid = (before as f64 + g.len() as f64 / 2.0) / n;
                    let k = bounds
                        .iter()
                        .position(|b| mid < *b)
                        .unwrap_or(bounds.len() - 1);
                    for &i in g {
                        set.traces[i].split = SPLITS[k].to_string();
                    }
                    before += g.len();
                }
                groups.len()
            }
        };
        let count = |name: &str| set.traces.iter().filter(|t| t.split == name).count();
        for name in &SPLITS[..wanted] {
            if count(name) == 0 {
                let what = match p.by {
                    By::Random => format!("{} traces", set.len()),
                    By::Station => format!("{groups} stations"),
                    By::Network => format!("{groups} networks"),
                    By::Column => "the set's split column".to_string(),
                };
                anyhow::bail!(
                    "split `{name}` is empty: {what} cannot fill it ({})",
                    ctx.params.locate(if p.by == By::Column {
                        "by"
                    } else {
                        "fractions"
                    })
                );
            }
        }
        match &source {
            Source::OnDemand(r) => {
                waveform_set::write_columns(ctx.output, &set)?;
                r.write(ctx.output)?;
            }
            Source::Stored(stored) => {
                let all: Vec<usize> = (0..set.len()).collect();
                ctx.progress.set_length(all.len() as u64);
                ctx.progress.set_message("traces copied");
                let mut out = waveform_set::SetWriter::new(ctx.output);
                waveform_set::copy_blocks(
                    stored.as_ref(),
                    &all,
                    &|i| set.traces[i].clone(),
                    &mut out,
                    &mut |_| {},
                    &mut |k| ctx.progress.inc(k as u64),
                )?;
                out.finish()?;
            }
        }
        for name in SPLITS {
            h5::write_attr(ctx.output, name, count(name) as u64)?;
        }
        h5::write_attr(ctx.output, "groups", groups as u64)?;
        Ok(())
    }
}
