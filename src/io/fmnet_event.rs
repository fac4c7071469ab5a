//! FMNet event files: one earthquake's waveforms as the network takes them, with the reference
//! mechanism it is scored against.
//!
//! Kuang et al. (2021) apply FMNet to real Ridgecrest events after removing the instrument response,
//! band-passing 0.05–0.1 Hz and aligning on the P arrival; the result is compared with the SCSN
//! catalogue mechanism. An event file is that prepared input in HDF5:
//!
//! | name | kind | content |
//! |---|---|---|
//! | `waveforms` | dataset `[rows, samples]` (float32 or float64) | rows `3·station + component`, the training set's station and component order |
//! | `strike_deg`, `dip_deg`, `rake_deg` | attributes, optional (all three or none) | the reference mechanism (e.g. the SCSN catalogue's) |
//! | `name` | string attribute, optional | the event's name (default: the file name) |
//! | `dt_s` | attribute, optional | sampling interval, checked against the model's |
//! | `component_order` | string attribute, optional | `ZRT` or `ZNE`, checked against the training set's |
//!
//! Amplitudes may be in any unit: the waveforms are normalised to their maximum before the
//! prediction, as every training sample is.

use std::path::Path;

use crate::focal::Mechanism;
use crate::h5;

/// One prepared event.
#[derive(Clone, Debug)]
pub struct Event {
    pub name: String,
    /// `[rows, samples]`, row-major.
    pub waveforms: Vec<f32>,
    pub shape: [usize; 2],
    pub reference: Option<Mechanism>,
    pub dt_s: Option<f64>,
    pub component_order: Option<String>,
}

/// Reads an event file; every error names the file and the dataset or attribute.
pub fn read(path: &Path) -> anyhow::Result<Event> {
    let at = path.display();
    let f = h5::open_outside(path, &at.to_string())?;
    let (waveforms, shape) = h5::read_array::<f32>(&f, "waveforms")
        .map_err(|e| anyhow::anyhow!("{at}: dataset `waveforms`: {e}"))?;
    let [rows, samples] = shape[..] else {
        anyhow::bail!("{at}: dataset `waveforms` has shape {shape:?}; expected [rows, samples]");
    };
    if let Some(i) = waveforms.iter().position(|v| !v.is_finite()) {
        anyhow::bail!(
            "{at}: dataset `waveforms`: value {} at row {}, sample {} is not finite",
            waveforms[i],
            i / samples,
            i % samples
        );
    }
    let names = f
        .attr_names()
        .map_err(|e| anyhow::anyhow!("{at}: attributes: {e}"))?;
    let has = |name: &str| names.iter().any(|n| n == name);
    let attr = |name: &str| -> anyhow::Result<Option<f64>> {
        if !has(name) {
            return Ok(None);
        }
        let v: f64 = h5::read_attr(&f, name)
            .map_err(|e| anyhow::anyhow!("{at}: attribute `{name}`: {e}"))?;
        anyhow::ensure!(v.is_finite(), "{at}: attribute `{name}` is {v}");
        Ok(Some(v))
    };
    let reference = match (attr("strike_deg")?, attr("dip_deg")?, attr("rake_deg")?) {
        (Some(s), Some(d), Some(r)) => {
            anyhow::ensure!(
                (0.0..=90.0).contains(&d),
                "{at}: attribute `dip_deg` = {d} is outside 0–90"
            );
            Some(Mechanism::new(s, d, r))
        }
        (None, None, None) => None,
        _ => anyhow::bail!(
            "{at}: give all three of the attributes `strike_deg`, `dip_deg`, `rake_deg` (the reference mechanism) or none"
        ),
    };
    let string = |name: &str| -> anyhow::Result<Option<String>> {
        if !has(name) {
            return Ok(None);
        }
        h5::read_str_attr(&f, name)
            .map(Some)
            .map_err(|e| anyhow::anyhow!("{at}: attribute `{name}`: {e}"))
    };
    let name = match string("name")? {
        Some(n) => n,
        None => path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| at.to_string()),
    };
    Ok(Event {
        name,
        waveforms,
        shape: [rows, samples],
        reference,
        dt_s: attr("dt_s")?,
        component_order: string("component_order")?,
    })
}

impl Event {
    /// Checks the event against what a model was trained on: rows × samples, sampling interval
    /// and component order (when the file states them).
    pub fn check(
        &self,
        path: &str,
        rows: usize,
        samples: usize,
        dt_s: f64,
        order: &str,
    ) -> anyhow::Result<()> {
        anyhow::ensure!(
            self.shape == [rows, samples],
            "{path}: dataset `waveforms` has shape {:?}; the model takes [{rows}, {samples}] (3 components x {} stations)",
            self.shape,
            rows / 3
        );
        if let Some(dt) = self.dt_s {
            anyhow::ensure!(
                (dt - dt_s).abs() <= 1e-6 * dt_s,
                "{path}: attribute `dt_s` = {dt}; the model was trained at {dt_s} s"
            );
        }
        if let Some(o) = &self.component_order {
            anyhow::ensure!(
                o.eq_ignore_ascii_case(order),
                "{path}: attribute `component_order` = {o}; the model was trained on {order}"
            );
        }
        Ok(())
    }
}
