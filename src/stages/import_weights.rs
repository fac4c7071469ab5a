//! `import.weights` — a published network's trained weights as a trained-model entry.
//!
//! # Purpose
//! Hong et al. (2023) compare their customised picker with PhaseNet as published, and fine-tune
//! pre-trained weights rather than starting from scratch. This stage reads the published PhaseNet
//! TensorFlow checkpoint (Zhu & Beroza 2019; github:AI4EPS/PhaseNet `model/190703-214543`) into
//! the same kind of entry `train` writes, so `evaluate.picks` scores it and `train` fine-tunes it
//! (input `init`) like any trained picker.
//!
//! # Inputs
//! None: the checkpoint files, by `paths` (or pinned `urls`) like every fetch kind.
//!
//! # Outputs
//! A trained-model entry ([`crate::models::picker`]): `weights/` in PyTorch `state_dict` names,
//! attributes `model`, `parameters`, `sampling_rate_hz`, `window`, `component_order` (`ZNE`: the
//! checkpoint's E, N, Z input kernel is reordered), `source` (the checkpoint's file names).
//! Every parameter and moving statistic must be in the checkpoint with its shape and an intact
//! CRC-32C; optimizer slots are ignored.
//!
//! # Parameters
//! - `paths`: the checkpoint's files: `<prefix>.index` and its `<prefix>.data-0000k-of-0000n`
//!   shard(s) (other files, such as `checkpoint` or `config.log`, are refused: they would enter
//!   the key without being read).
//! - `model`: the architecture the weights are for (`phasenet`).
//! - `sampling_rate_hz` (100) and `window` (3000): the input the network was trained on, recorded
//!   for `evaluate.picks` and fine-tuning to check against.
//!
//! # Cache key
//! The files' content digests and the parameters.
//!
//! # References
//! Zhu, W. & Beroza, G. C. (2019). PhaseNet: a deep-neural-network-based seismic arrival-time
//! picking method. Geophys. J. Int. 216(1), 261–273, doi:10.1093/gji/ggy423. TensorFlow's tensor
//! bundle format ([`crate::io::tf_checkpoint`]).

use crate::data;
use crate::data::waveform_set::COMPONENT_ORDER;
use crate::h5;
use crate::io::tf_checkpoint::Checkpoint;
use crate::models::picker::{self, Stored};
use crate::nn::{self, phasenet, weights};
use crate::params::ParamError;
use crate::stage::{ContentDigest, Outputs, PlanCtx, RunCtx, StageInfo, StageKind};

pub struct ImportWeights;

crate::choice! {
    /// Architectures with an importer.
    pub enum Arch {
        Phasenet = "phasenet",
    }
}

crate::source_params! {
    /// Parameters of this stage kind (see the module docs).
    pub struct ImportWeightsParams {
        /// architecture the checkpoint holds (phasenet: Zhu & Beroza 2019, TensorFlow checkpoint)
        model: Arch = Choice(Arch::NAMES), Required;
        /// sampling rate the network was trained at, Hz (PhaseNet: 100)
        sampling_rate_hz: f64 = Float { positive: true }, Default("100.0");
        /// window length the network was trained on, samples (PhaseNet: 3000)
        window: usize = Int { min: 64, max: 1_000_000 }, Default("3000");
    }
}

fn base(label: &str) -> &str {
    label.rsplit(['/', '\\']).next().unwrap_or(label)
}

impl StageKind for ImportWeights {
    type Params = ImportWeightsParams;
    const INFO: StageInfo = StageInfo {
        kind: "import.weights",
        version: 1,
        changelog: &["first version: the published PhaseNet TensorFlow checkpoint"],
        summary: "a published network's weights (PhaseNet's TensorFlow checkpoint) as a trained-model entry for evaluate.picks and fine-tuning",
        inputs: &[],
        outputs: Outputs::Root(data::TRAINED_MODEL),
        metrics: &[],
        stochastic: false,
    };

    fn check(&self, p: &ImportWeightsParams) -> Result<(), ParamError> {
        p.sources().check()
    }
    fn content_digests(
        &self,
        ctx: &PlanCtx<'_>,
        p: &ImportWeightsParams,
    ) -> Result<Vec<ContentDigest>, ParamError> {
        p.sources().digests(ctx)
    }

    fn run(&self, ctx: &mut RunCtx<'_>, p: ImportWeightsParams) -> anyhow::Result<()> {
        let files = p.sources().read_all(ctx)?;
        let mut index: Option<(String, Vec<u8>)> = None;
        let mut shards: Vec<(String, Vec<u8>)> = Vec::new();
        for (label, bytes) in files {
            let name = base(&label);
            if name.ends_with(".index") {
                if let Some((first, _)) = &index {
                    anyhow::bail!(
                        "{label}: a second checkpoint index (the first is {first}); give one checkpoint's files ({})",
                        ctx.params.locate("paths")
                    );
                }
                index = Some((label, bytes));
            } else if name.contains(".data-") {
                shards.push((label, bytes));
            } else {
                anyhow::bail!(
                    "{label}: not a checkpoint file (`<prefix>.index` or `<prefix>.data-0000k-of-0000n`); leave it out of `paths` ({})",
                    ctx.params.locate("paths")
                );
            }
        }
        let (label, bytes) = index.ok_or_else(|| {
            anyhow::anyhow!(
                "no `<prefix>.index` file among `paths` ({}): a TensorFlow checkpoint is an index and its data shards",
                ctx.params.locate("paths")
            )
        })?;
        // Shards in the order their names give (`-00000-of-`, `-00001-of-`, …).
        shards.sort_by(|a, b| base(&a.0).cmp(base(&b.0)));
        let names: Vec<String> = std::iter::once(base(&label).to_string())
            .chain(shards.iter().map(|(l, _)| base(l).to_string()))
            .collect();
        let ckpt = Checkpoint::parse(&label, &bytes, shards)?;
        let device = nn::device();
        let model = match p.model {
            Arch::Phasenet => phasenet::from_checkpoint(&ckpt, &device)?,
        };
        let parameters: usize = weights::named(&model)
            .iter()
            .filter(|(n, _, _)| !n.contains("running_"))
            .map(|(_, s, _)| s.iter().product::<usize>())
            .sum();
        let contract = Stored {
            sampling_rate_hz: p.sampling_rate_hz,
            window: p.window,
            component_order: COMPONENT_ORDER.to_string(),
        };
        picker::write_entry(ctx.output, &model, &contract, "imported", "", "")?;
        let root: &hdf5::Location = ctx.output;
        h5::write_str_attr(root, "model", p.model.name())?;
        h5::write_attr(root, "rows", 3u64)?;
        h5::write_attr(root, "samples", p.window as u64)?;
        h5::write_attr(root, "parameters", parameters as u64)?;
        h5::write_str_attr(root, "source", &names.join(","))?;
        Ok(())
    }
}
