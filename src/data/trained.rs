//! Trained models: what `train` writes and `evaluate.*`, `learning-curve`, `compare.training`
//! and `quakeline predict` read.
//!
//! # Layout
//! | name | type | what |
//! |------|------|------|
//! | `weights/<module path>` | float32 | PyTorch names and layouts ([`crate::nn::weights`]) |
//! | `history/{train_loss, train_accuracy, validation_loss, validation_accuracy}` | float64 `[epochs]` | Keras `History`; validation NaN without validation data |
//! | `split` | int8 `[n]` | pm-cnn: 0 train, 1 validation, 2 test, per input window |
//! | attributes `model`, `rows`, `samples`, `parameters`, `optimizer`, `lr`, `batch`, `epochs` | | what was trained, and how |
//! | fmnet: `label_ranges` `[3, 2]`, attributes `label_sigma_bins`, `dt_s`, `component_order`, `stations` | | what `predict` needs to turn curves into angles |

use crate::io::h5;
use crate::nn::pm_cnn::Shape;
use crate::nn::train::{self as nt, Config, Epoch, Part, Windows};
use crate::stage::RunCtx;

/// Indices of windows in each part.
pub fn indices(parts: &[Part], which: Part) -> Vec<usize> {
    (0..parts.len()).filter(|&i| parts[i] == which).collect()
}

/// A `train` entry as `evaluate.classifier` and `learning-curve` read it: the hyper-parameters,
/// input shape and split the writer above stored. The weights load on demand ([`Self::model`]).
pub struct TrainEntry {
    group: hdf5::Group,
    pub shape: Shape,
    pub parts: Vec<Part>,
    /// The stored optimizer, learning rate, batch size and epochs (the seed is not stored here:
    /// [`Self::config`] takes the reader's).
    pub hyper: Config,
}

impl TrainEntry {
    /// The training configuration, with a new seed (retraining draws its own).
    pub fn config(&self, seed: u64) -> Config {
        Config {
            seed,
            ..self.hyper.clone()
        }
    }

    /// The trained network.
    pub fn model(&self) -> anyhow::Result<crate::nn::pm_cnn::PmCnn> {
        crate::models::pm_cnn::load(&self.group, self.shape)
    }
}

/// Opens input `model` (a train entry) and input `data` (the labelled windows it was trained on),
/// refusing any other windows: the split indices only mean something for that set.
pub fn open_trained(
    ctx: &RunCtx<'_>,
    model: &str,
    data: &str,
) -> anyhow::Result<(TrainEntry, Windows)> {
    let g = ctx.input(model)?;
    let bad = |e: hdf5::Error| {
        anyhow::anyhow!(
            "input `{model}` of `{}` is not a train entry: {e}",
            ctx.stage_id
        )
    };
    let count = |name: &str| {
        h5::read_attr::<u64>(g, name)
            .map(|v| v as usize)
            .map_err(bad)
    };
    let trained_on = h5::read_str_attr(g, "quakeline_inputs")
        .ok()
        .and_then(|s| serde_json::from_str::<std::collections::BTreeMap<String, String>>(&s).ok())
        .and_then(|m| m.get("input").cloned());
    let data_key = ctx
        .inputs
        .get(data)
        .and_then(|i| h5::read_str_attr(&i.file, "quakeline_key").ok());
    if let (Some(a), Some(b)) = (&trained_on, &data_key)
        && a.split('/').next() != Some(b.as_str())
    {
        anyhow::bail!(
            "input `{data}` is not the labelled set the model was trained on (keys {b} vs {a}): \
             wire `{data}` to the stage the `train` stage reads"
        );
    }
    crate::models::of_entry(
        g,
        super::LABELLED_WINDOWS,
        &format!("input `{model}` of `{}`", ctx.stage_id),
    )?;
    let (codes, _) = h5::read_array::<i8>(g, "split").map_err(bad)?;
    let parts = codes
        .iter()
        .map(|&c| Part::from_code(c).ok_or_else(|| anyhow::anyhow!("bad split code {c}")))
        .collect::<anyhow::Result<Vec<Part>>>()?;
    let entry = TrainEntry {
        group: g.clone(),
        shape: Shape {
            rows: count("rows")?,
            samples: count("samples")?,
        },
        parts,
        hyper: Config {
            optimizer: h5::read_str_attr(g, "optimizer").map_err(bad)?,
            lr: h5::read_attr::<f64>(g, "lr").map_err(bad)?,
            batch: count("batch")?,
            epochs: count("epochs")?,
            seed: 0,
            schedule: None,
        },
    };
    let windows = super::windows::read(ctx.input(data)?, ctx.stage_id)?;
    anyhow::ensure!(
        windows.shape == entry.shape && windows.len() == entry.parts.len(),
        "the model was trained on {} windows of {}x{}, `{data}` has {} of {}x{}",
        entry.parts.len(),
        entry.shape.rows,
        entry.shape.samples,
        windows.len(),
        windows.shape.rows,
        windows.shape.samples
    );
    Ok((entry, windows))
}

/// Reads `history/*` of a train entry.
pub fn read_history(g: &hdf5::Group) -> anyhow::Result<Vec<Epoch>> {
    let h = g.group("history")?;
    let col = |n: &str| h5::read_array::<f64>(&h, n).map(|(v, _)| v);
    let (tl, ta, vl, va) = (
        col("train_loss")?,
        col("train_accuracy")?,
        col("validation_loss")?,
        col("validation_accuracy")?,
    );
    // Entries written before the learning rate was recorded per epoch have no `lr`.
    let lr = col("lr").unwrap_or_else(|_| vec![f64::NAN; tl.len()]);
    Ok((0..tl.len())
        .map(|i| Epoch {
            train: nt::Score {
                loss: tl[i],
                accuracy: ta[i],
            },
            validation: nt::Score {
                loss: vl[i],
                accuracy: va[i],
            },
            lr: lr.get(i).copied().unwrap_or(f64::NAN),
        })
        .collect())
}

/// Writes `history/*` (the reader is [`read_history`]).
pub fn write_history(g: &hdf5::Group, h: &[Epoch]) -> hdf5::Result<()> {
    let hg = g.create_group("history")?;
    let n = h.len();
    h5::write_array(
        &hg,
        "train_loss",
        &[n],
        &h.iter().map(|e| e.train.loss).collect::<Vec<_>>(),
    )?;
    h5::write_array(
        &hg,
        "train_accuracy",
        &[n],
        &h.iter().map(|e| e.train.accuracy).collect::<Vec<_>>(),
    )?;
    h5::write_array(
        &hg,
        "validation_loss",
        &[n],
        &h.iter().map(|e| e.validation.loss).collect::<Vec<_>>(),
    )?;
    h5::write_array(
        &hg,
        "validation_accuracy",
        &[n],
        &h.iter().map(|e| e.validation.accuracy).collect::<Vec<_>>(),
    )?;
    h5::write_array(&hg, "lr", &[n], &h.iter().map(|e| e.lr).collect::<Vec<_>>())?;
    Ok(())
}

/// JSON has no NaN: absent values are null.
pub fn finite(x: f64) -> serde_json::Value {
    if x.is_finite() {
        serde_json::json!(x)
    } else {
        serde_json::Value::Null
    }
}
