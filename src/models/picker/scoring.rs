//! What both picker evaluations (`evaluate.picks`, `evaluate.continuous`) start from: the
//! picker of a trained entry, its stored contract, and the labelled set checked against it.

use super::{Stored, stored};
use crate::data::{self, waveform_set};
use crate::stage::RunCtx;

crate::choice! {
    /// Which traces of a labelled waveform set an evaluation scores, by their split column.
    pub enum ScoredSplit {
        Test = "test",
        Dev = "dev",
        Train = "train",
        All = "all",
    }
}

/// What both picker evaluations (`evaluate.picks`, `evaluate.continuous`) start from: the
/// picker of input `model` (loaded once) with its contract, the set of input `data` checked
/// against it (rate; traces at least one window long), and the traces of `split`.
pub struct Scoring {
    pub model: &'static crate::models::Model,
    pub picker: crate::models::PickerFn,
    pub contract: Stored,
    pub set: Box<dyn waveform_set::Traces>,
    pub chosen: Vec<usize>,
}

/// Opens inputs `model` and `data` of an evaluation stage as [`Scoring`] describes.
pub fn scoring(ctx: &RunCtx<'_>, split: ScoredSplit) -> anyhow::Result<Scoring> {
    let what = format!("input `model` of `{}`", ctx.stage_id);
    let entry = ctx.input("model")?;
    let model = crate::models::of_entry(entry, data::WAVEFORM_SET, &what)?;
    let load = model.picker.ok_or_else(|| {
        anyhow::anyhow!(
            "{what} holds a `{}` model, which is not a phase picker",
            model.name
        )
    })?;
    let c = stored(entry, &what)?;
    let set = waveform_set::open(ctx.input("data")?, ctx.stage_id)?;
    let rate = set.sampling_rate_hz();
    anyhow::ensure!(
        (rate - c.sampling_rate_hz).abs() <= 1e-9 * rate,
        "input `data` of `{}` is at {rate} Hz; the picker was trained at {} Hz (resample with fetch.waveforms' sampling_rate_hz)",
        ctx.stage_id,
        c.sampling_rate_hz
    );
    anyhow::ensure!(
        set.samples() >= c.window,
        "input `data` of `{}`: traces of {} samples are shorter than the picker's window of {}",
        ctx.stage_id,
        set.samples(),
        c.window
    );
    let chosen: Vec<usize> = (0..set.len())
        .filter(|&i| split == ScoredSplit::All || set.meta(i).split == split.name())
        .collect();
    anyhow::ensure!(
        !chosen.is_empty(),
        "input `data` of `{}` has no traces with split `{}` ({}); assign splits with split.waveforms or set split = \"all\"",
        ctx.stage_id,
        split.name(),
        ctx.params.locate("split")
    );
    Ok(Scoring {
        model,
        picker: load(entry, &what)?,
        contract: c,
        set,
        chosen,
    })
}
