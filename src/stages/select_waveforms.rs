//! `select.waveforms` — keep the traces of a labelled waveform set that match a selection.
//!
//! # Purpose
//! Hong et al. (2023) pre-train on a global set and fine-tune on a local one. With one source of
//! traces, the local set is one network (PhaseNet's data: `BG`, The Geysers) and the global set
//! the others: `networks = ["BG"]` and `exclude_networks = ["BG"]` on the same input. Selecting a
//! split (`splits = ["test"]`) gives an evaluation set.
//!
//! # Inputs
//! `input`: a labelled waveform set.
//!
//! # Outputs
//! The traces that match every given criterion, in set order; attribute `traces`. The chosen
//! traces are copied a block at a time, so a set of any size (STEAD) is selected in bounded memory.
//!
//! # Parameters
//! `networks`, `exclude_networks`, `stations` (`NET.STA` or `STA`), `splits`: at least one.
//! Selecting nothing is an error naming what the set holds.
//!
//! # Cache key
//! Parameters and the input key.
//!
//! # References
//! Hong, Y., Byun, A.-H., Kim, S., & Sheen, D.-H. (2023). Customization of a deep neural network
//! using local data for seismic phase picking, Frontiers in Earth Science 11, 1306488,
//! doi:10.3389/feart.2023.1306488.

use std::collections::BTreeSet;

use crate::data::{self, waveform_set};
use crate::h5;
use crate::params::ParamError;
use crate::stage::{InputSpec, Outputs, RunCtx, StageInfo, StageKind};

pub struct SelectWaveforms;

crate::stage_params! {
    /// Parameters of this stage kind (see the module docs).
    pub struct SelectWaveformsParams {
        /// keep only these FDSN network codes
        networks: Vec<String> = StrList, Optional;
        /// drop these FDSN network codes
        exclude_networks: Vec<String> = StrList, Optional;
        /// keep only these stations (NET.STA or STA)
        stations: Vec<String> = StrList, Optional;
        /// keep only these splits (train, dev, test)
        splits: Vec<String> = StrList, Optional;
    }
}

impl StageKind for SelectWaveforms {
    type Params = SelectWaveformsParams;
    const INFO: StageInfo = StageInfo {
        kind: "select.waveforms",
        version: 1,
        changelog: &["first version"],
        summary: "keep the traces of a waveform set by network, station or split",
        inputs: &[InputSpec {
            name: "input",
            doc: "the labelled waveform set to select from",
            accepts: &[data::WAVEFORM_SET],
            optional: false,
        }],
        outputs: Outputs::Root(data::WAVEFORM_SET),
        metrics: &[],
        stochastic: false,
    };

    fn check(&self, p: &SelectWaveformsParams) -> Result<(), ParamError> {
        if p.networks.is_empty()
            && p.exclude_networks.is_empty()
            && p.stations.is_empty()
            && p.splits.is_empty()
        {
            return Err(ParamError::new(
                "networks",
                "give at least one of networks, exclude_networks, stations, splits",
            ));
        }
        if let Some(bad) = p
            .splits
            .iter()
            .find(|s| !crate::stages::split_waveforms::SPLITS.contains(&s.as_str()))
        {
            return Err(ParamError::new(
                "splits",
                format!("`{bad}` is not a split; splits are train, dev and test"),
            ));
        }
        Ok(())
    }

    fn run(&self, ctx: &mut RunCtx<'_>, p: SelectWaveformsParams) -> anyhow::Result<()> {
        // Trace by trace: the columns choose, the samples of the chosen traces are copied a
        // block at a time (a STEAD-size input never sits in memory).
        let set = waveform_set::open(ctx.input("input")?, ctx.stage_id)?;
        let keep = |t: &waveform_set::Trace| {
            (p.networks.is_empty() || p.networks.contains(&t.network))
                && !p.exclude_networks.contains(&t.network)
                && (p.stations.is_empty()
                    || p.stations
                        .iter()
                        .any(|s| *s == t.station || *s == format!("{}.{}", t.network, t.station)))
                && (p.splits.is_empty() || p.splits.contains(&t.split))
        };
        let chosen: Vec<usize> = (0..set.len()).filter(|&i| keep(set.meta(i))).collect();
        if chosen.is_empty() {
            let held = |f: fn(&waveform_set::Trace) -> &str| {
                set.metas()
                    .iter()
                    .map(f)
                    .collect::<BTreeSet<_>>()
                    .into_iter()
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            anyhow::bail!(
                "no trace matches the selection ({}); the set holds networks {}, splits {}",
                ctx.params.locate("networks"),
                held(|t| t.network.as_str()),
                held(|t| t.split.as_str()),
            );
        }
        ctx.progress.set_length(chosen.len() as u64);
        ctx.progress.set_message("traces copied");
        let mut out = waveform_set::SetWriter::new(ctx.output);
        waveform_set::copy_blocks(
            set.as_ref(),
            &chosen,
            &|i| set.meta(i).clone(),
            &mut out,
            &mut |_| {},
            &mut |k| ctx.progress.inc(k as u64),
        )?;
        let out = out.finish()?;
        h5::write_attr(ctx.output, "traces", out.len() as u64)?;
        Ok(())
    }
}
