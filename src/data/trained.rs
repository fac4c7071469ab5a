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

use crate::h5;
use crate::nn::train::{self as nt, Epoch, Part};

/// Indices of windows in each part.
pub fn indices(parts: &[Part], which: Part) -> Vec<usize> {
    (0..parts.len()).filter(|&i| parts[i] == which).collect()
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
