//! Labelled windows: what `label.precursor` writes and `train` (pm-cnn), `evaluate.classifier`
//! and `learning-curve` read.
//!
//! # Layout
//! | name           | type    | shape                  | what |
//! |----------------|---------|------------------------|------|
//! | `windows`      | float32 | `[n, rows, samples]`   | normalised components of each window |
//! | `labels`       | int64   | `[n]`                  | 0 quiet, 1 precursor |
//! | `window_start` | int64   | `[n]`                  | first sample, ns since 1970 UTC (optional; messages) |
//! | `event_id`     | string  | `[n]`                  | the event a positive precedes; empty for quiet |
//! | `norm`         | float64 | `[n]`                  | what each window was divided by (max \|last channel\|) |
//!
//! `windows` carries attributes `dimension_order` (`window,channel,sample`), `channels` and
//! `sampling_interval_s`.
//!
//! Every value must be finite: a NaN reaching a network poisons every gradient, so the reader
//! refuses it and names the window.

use hdf5::types::VarLenUnicode;

use crate::h5;
use crate::nn::pm_cnn::Shape;
use crate::nn::train::Windows;
use crate::time::format_rfc3339;

/// What [`write()`] stores.
pub struct Labelled<'a> {
    /// `[n, channels, samples]` row-major.
    pub x: &'a [f32],
    pub shape: [usize; 3],
    pub channels: &'a [String],
    pub sampling_interval_s: f64,
    pub labels: Vec<i64>,
    pub window_start_ns: Vec<i64>,
    pub event_id: Vec<&'a str>,
    pub norm: &'a [f64],
}

/// Writes labelled windows in the layout above.
pub fn write(out: &hdf5::Group, w: &Labelled<'_>) -> anyhow::Result<()> {
    let n = w.shape[0];
    let ds = h5::write_array(out, "windows", &w.shape, w.x)?;
    h5::write_str_attr(&ds, "dimension_order", "window,channel,sample")?;
    h5::write_str_attr(&ds, "channels", &w.channels.join(","))?;
    h5::write_attr(&ds, "sampling_interval_s", w.sampling_interval_s)?;
    h5::write_array(out, "labels", &[n], &w.labels)?;
    h5::write_array(out, "window_start", &[n], &w.window_start_ns)?;
    let ids = w
        .event_id
        .iter()
        .map(|id| id.parse::<VarLenUnicode>())
        .collect::<Result<Vec<_>, _>>()?;
    h5::write_array(out, "event_id", &[n], &ids)?;
    h5::write_array(out, "norm", &[n], w.norm)?;
    Ok(())
}

/// Reads labelled windows, refusing non-finite values (they would poison every gradient).
pub fn read(g: &hdf5::Group, stage: &str) -> anyhow::Result<Windows> {
    let not_windows = |e: hdf5::Error| {
        anyhow::anyhow!(
            "the input of `{stage}` is not labelled windows (datasets `windows` [n, rows, samples] and `labels` [n], as label.precursor writes): {e}"
        )
    };
    let (x, shape) = h5::read_array::<f32>(g, "windows").map_err(not_windows)?;
    let (labels, lshape) = h5::read_array::<i64>(g, "labels").map_err(not_windows)?;
    anyhow::ensure!(
        shape.len() == 3 && lshape == [shape[0]],
        "the input of `{stage}`: `windows` has shape {shape:?} and `labels` {lshape:?}; expected [n, rows, samples] and [n]"
    );
    let per = shape[1] * shape[2];
    if let Some(bad) = x.iter().position(|v| !v.is_finite()) {
        let w = bad / per.max(1);
        let when = h5::read_array::<i64>(g, "window_start")
            .ok()
            .and_then(|(t, _)| t.get(w).copied())
            .map(|t| format!(" (starting {})", format_rfc3339(t)))
            .unwrap_or_default();
        anyhow::bail!(
            "window {w}{when} holds a non-finite value ({}) at component {}, sample {}: NaNs must not reach the network. \
             Fill the gap upstream (gapfill max_gap) or let the labeller reject windows with gaps",
            x[bad],
            (bad % per) / shape[2],
            bad % shape[2]
        );
    }
    if let Some(l) = labels.iter().find(|&&l| l != 0 && l != 1) {
        anyhow::bail!(
            "the input of `{stage}` has label {l}; pm-cnn classifies 0 (quiet) and 1 (precursor)"
        );
    }
    Ok(Windows {
        x,
        labels,
        shape: Shape {
            rows: shape[1],
            samples: shape[2],
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn windows_file(
        values: &[f32],
        labels: &[i64],
        shape: [usize; 3],
    ) -> (tempfile::TempDir, hdf5::File) {
        let dir = tempfile::tempdir().unwrap();
        let f = hdf5::File::create(dir.path().join("w.h5")).unwrap();
        h5::write_array(&f, "windows", &shape, values).unwrap();
        h5::write_array(&f, "labels", &[labels.len()], labels).unwrap();
        h5::write_array(
            &f,
            "window_start",
            &[labels.len()],
            &[0i64, 86_400_000_000_000],
        )
        .unwrap();
        (dir, f)
    }

    #[test]
    fn a_nan_reaching_the_model_is_an_error_naming_the_window() {
        let mut v = vec![0.5f32; 2 * 3 * 8];
        v[24 + 8 + 5] = f32::NAN; // window 1, component 1, sample 5
        let (_dir, f) = windows_file(&v, &[0, 1], [2, 3, 8]);
        let e = read(&f, "train").err().unwrap().to_string();
        assert!(
            e.contains("window 1 (starting 1970-01-02T00:00:00.000Z) holds a non-finite value (NaN) at component 1, sample 5"),
            "{e}"
        );
    }

    #[test]
    fn labels_other_than_0_and_1_are_refused() {
        let (_dir, f) = windows_file(&[0.0; 2 * 3 * 8], &[0, 2], [2, 3, 8]);
        let e = read(&f, "train").err().unwrap().to_string();
        assert!(e.contains("label 2"), "{e}");
    }
}
