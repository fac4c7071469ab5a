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
//! `results/<pipeline>/<stage>/metadata.csv` and `waveforms.hdf5` ([`crate::io::seisbench`]
//! documents the layout: one block `data/bucket0` `[n, 3, samples]` float32, `ZNE`, `CW`,
//! `trace_name` = `bucket0$i,:3,:samples`, the trace's own name in `trace_name_original`); the
//! entry keeps copies, so a cached rerun restores them. Attribute `traces`.
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
use crate::io::{h5, seisbench};
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
        let set = waveform_set::read(ctx.input("input")?, ctx.stage_id)?;
        let scratch = ctx.output.filename() + ".export.hdf5";
        let written = seisbench::write(&set, std::path::Path::new(&scratch));
        let _ = std::fs::remove_file(&scratch);
        let (csv, h5_bytes) = written?;
        ctx.write_result("metadata.csv", &csv)?;
        ctx.write_result("waveforms.hdf5", &h5_bytes)?;
        h5::write_attr(ctx.output, "traces", set.len() as u64)?;
        Ok(())
    }
}
