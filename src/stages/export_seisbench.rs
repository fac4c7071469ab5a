//! `export.seisbench` — a labelled waveform set as a SeisBench dataset folder.
//!
//! # Purpose
//! Lets a set quakeline built (read from npz, merged, later synthesised) be loaded by
//! SeisBench's `WaveformDataset` and every tool built on it, and shared without quakeline.
//!
//! # Inputs
//! `input`: a labelled waveform set.
//!
//! # Outputs
//! `results/<pipeline>/<stage>/metadata.csv` and `waveforms.hdf5` ([`crate::io::waveforms::seisbench`]
//! documents the layout: one block `data/bucket0` `[n, 3, samples]` float32, `ZNE`, `CW`,
//! `trace_name` = `bucket0$i,:3,:samples`, the trace's own name in `trace_name_original`); the
//! entry keeps copies, so a cached rerun restores them. Attribute `traces`. The samples go from
//! the input to the file, and from the file to the entry and `results/`, a block at a time: an
//! export of a STEAD-size set needs the memory of its metadata, not of its samples.
//!
//! # Parameters
//! None.
//!
//! # Cache key
//! The input's key.
//!
//! # References
//! Woollam et al. (2022), SeisBench — A toolbox for machine learning in seismology, SRL 93:1695,
//! doi:10.1785/0220210324 (its "Data format" documentation).

use crate::data::{self, waveform_set};
use crate::h5;
use crate::io::waveforms::seisbench;
use crate::stage::{InputSpec, Outputs, RunCtx, StageInfo, StageKind};

pub struct ExportSeisbench;

crate::stage_params! {
    /// Parameters of this stage kind (none).
    pub struct ExportSeisbenchParams {}
}

impl StageKind for ExportSeisbench {
    type Params = ExportSeisbenchParams;
    const INFO: StageInfo = StageInfo {
        kind: "export.seisbench",
        version: 1,
        changelog: &["first version"],
        summary: "write a labelled waveform set as a SeisBench dataset (metadata.csv + waveforms.hdf5)",
        inputs: &[InputSpec {
            name: "input",
            doc: "the labelled waveform set to export",
            accepts: &[data::WAVEFORM_SET],
            optional: false,
        }],
        outputs: Outputs::Root(data::SEISBENCH_EXPORT),
        metrics: &[],
        stochastic: false,
    };

    fn run(&self, ctx: &mut RunCtx<'_>, _p: ExportSeisbenchParams) -> anyhow::Result<()> {
        // Block by block from the input to a scratch file, then streamed into the entry and
        // `results/`: a STEAD-size export in bounded memory.
        let set = waveform_set::open(ctx.input("input")?, ctx.stage_id)?;
        let scratch = std::path::PathBuf::from(ctx.output.filename() + ".export.hdf5");
        let written = seisbench::write(set.as_ref(), &scratch).and_then(|csv| {
            ctx.write_result("metadata.csv", &csv)?;
            ctx.write_result_file("waveforms.hdf5", &scratch)
        });
        let _ = std::fs::remove_file(&scratch);
        written?;
        h5::write_attr(ctx.output, "traces", set.len() as u64)?;
        Ok(())
    }
}
