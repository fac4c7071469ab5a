//! `fetch.waveforms` — three-component traces with analyst P and S picks, for phase pickers.
//!
//! # Purpose
//! Hong et al. (2023) pre-train a U-Net picker on STEAD and INSTANCE and fine-tune it on local
//! data; those sets are distributed in SeisBench's format, and PhaseNet's own training data as
//! `.npz` files. This stage reads either into one labelled waveform set, so a user with the
//! files on disk runs the same pipeline ([`crate::io::seisbench`], [`crate::io::phasenet_npz`]).
//!
//! # Inputs
//! None.
//!
//! # Outputs
//! A labelled waveform set ([`crate::data::waveform_set`]): `waveforms` `[n, 3, samples]` in Z, N,
//! E order with missing components zero and flagged, picks in samples (NaN when absent), trace
//! metadata and split. Attributes `traces`, `with_p`, `with_s`.
//!
//! # Parameters
//! `paths` / `urls` + `blake3` as every fetch kind; `format` = `npz` (one trace per file) |
//! `seisbench` (`metadata*.csv` with the `waveforms*.hdf5` of the same chunk name: give both,
//! e.g. `paths = ["sb/*"]`). Every trace of a set must share one sampling rate and length.
//!
//! # Cache key
//! The files' content digests.
//!
//! # References
//! Hong, Y., Byun, A.-H., Kim, S., & Sheen, D.-H. (2023). Customization of a deep neural network
//! using local data for seismic phase picking, Frontiers in Earth Science 11, 1306488,
//! doi:10.3389/feart.2023.1306488. Woollam et al. (2022), SeisBench, SRL
//! 93:1695, doi:10.1785/0220210324. Zhu & Beroza (2019), PhaseNet, GJI 216:261,
//! doi:10.1093/gji/ggy423.

use crate::data::{self, waveform_set::WaveformSet};
use crate::io::{h5, phasenet_npz, seisbench};
use crate::params::ParamError;
use crate::stage::{ContentDigest, Outputs, PlanCtx, RunCtx, StageInfo, StageKind};

pub struct FetchWaveforms;

crate::choice! {
    /// The files' format.
    pub enum Format {
        Npz = "npz",
        Seisbench = "seisbench",
    }
}

crate::source_params! {
    /// Parameters of this stage kind (see the module docs).
    pub struct FetchWaveformsParams {
        /// npz (PhaseNet, one trace per file) or seisbench (metadata*.csv + waveforms*.hdf5)
        format: Format = Choice(Format::NAMES), Required;
    }
}

/// The file name without directories (local path or URL).
fn base(label: &str) -> &str {
    label.rsplit(['/', '\\']).next().unwrap_or(label)
}

impl StageKind for FetchWaveforms {
    type Params = FetchWaveformsParams;
    const INFO: StageInfo = StageInfo {
        kind: "fetch.waveforms",
        version: 1,
        changelog: &["first version: PhaseNet npz and SeisBench"],
        summary: "read 3-C traces with P/S picks (PhaseNet npz or SeisBench datasets) into a labelled waveform set",
        inputs: &[],
        outputs: Outputs::Root(data::WAVEFORM_SET),
        metrics: &[],
        stochastic: false,
    };

    fn check(&self, p: &FetchWaveformsParams) -> Result<(), ParamError> {
        p.sources().check()
    }
    fn content_digests(
        &self,
        ctx: &PlanCtx<'_>,
        p: &FetchWaveformsParams,
    ) -> Result<Vec<ContentDigest>, ParamError> {
        p.sources().digests(ctx)
    }

    fn run(&self, ctx: &mut RunCtx<'_>, p: FetchWaveformsParams) -> anyhow::Result<()> {
        let files = p.sources().read_all(ctx)?;
        let mut set = WaveformSet::default();
        match p.format {
            Format::Npz => {
                for (label, bytes) in &files {
                    let t = phasenet_npz::parse(label, bytes)?;
                    set.push(&t.data, t.trace, t.sampling_rate_hz)
                        .map_err(|e| anyhow::anyhow!("{label}: {e}"))?;
                }
            }
            Format::Seisbench => read_seisbench(ctx, &files, &mut set)?,
        }
        anyhow::ensure!(!set.is_empty(), "no traces in the files given");
        data::waveform_set::write(ctx.output, &set)?;
        let count = |f: fn(&data::waveform_set::Trace) -> f64| {
            set.traces.iter().filter(|t| !f(t).is_nan()).count() as u64
        };
        h5::write_attr(ctx.output, "traces", set.len() as u64)?;
        h5::write_attr(ctx.output, "with_p", count(|t| t.p_sample))?;
        h5::write_attr(ctx.output, "with_s", count(|t| t.s_sample))?;
        Ok(())
    }
}

/// Pairs each `metadata<chunk>.csv` with `waveforms<chunk>.hdf5` and reads them in file order.
/// HDF5 opens a copy of the bytes whose digest was just verified, never the path itself.
fn read_seisbench(
    ctx: &RunCtx<'_>,
    files: &[(String, Vec<u8>)],
    set: &mut WaveformSet,
) -> anyhow::Result<()> {
    let chunk = |label: &str, prefix: &str, ext: &str| {
        base(label)
            .strip_prefix(prefix)
            .and_then(|r| r.strip_suffix(ext))
            .map(str::to_string)
    };
    let dir = |l: &str| l[..l.len() - base(l).len()].to_string();
    let mut paired = Vec::new();
    for (label, bytes) in files {
        if let Some(c) = chunk(label, "metadata", ".csv") {
            let h5 = files
                .iter()
                .find(|(l, _)| {
                    dir(l) == dir(label)
                        && chunk(l, "waveforms", ".hdf5").as_deref() == Some(c.as_str())
                })
                .ok_or_else(|| {
                    anyhow::anyhow!(
                        "{label}: no `waveforms{c}.hdf5` beside it among the files given (a SeisBench set is metadata{c}.csv + waveforms{c}.hdf5; add both to `paths`)"
                    )
                })?;
            paired.push((label, bytes, h5));
        } else if chunk(label, "waveforms", ".hdf5").is_none() {
            anyhow::bail!(
                "{label}: not part of a SeisBench dataset (expected metadata*.csv and waveforms*.hdf5)"
            );
        }
    }
    anyhow::ensure!(
        !paired.is_empty(),
        "no metadata*.csv among the files given: a SeisBench set is metadata.csv + waveforms.hdf5"
    );
    let scratch = ctx.output.filename() + ".source.hdf5";
    for (csv_label, csv, (h5_label, h5_bytes)) in paired {
        std::fs::write(&scratch, h5_bytes)
            .map_err(|e| anyhow::anyhow!("cannot write a scratch copy at {scratch}: {e}"))?;
        let r = seisbench::read_chunk(
            csv_label,
            csv,
            h5_label,
            std::path::Path::new(&scratch),
            set,
        );
        let _ = std::fs::remove_file(&scratch);
        r?;
    }
    Ok(())
}
