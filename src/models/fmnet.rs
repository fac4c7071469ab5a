//! `fmnet`: the focal-mechanism network of Kuang et al. (2021) as a trainable model.
//!
//! Kuang, W., Yuan, C. & Zhang, J. (2021). Real-time determination of earthquake focal mechanism
//! via deep learning. *Nature Communications* 12, 1432. doi:10.1038/s41467-021-21670-x
//!
//! The network is [`crate::nn::fmnet`] (Fig. 6, published topology: a fixed `[48, 128]` input of
//! 16 stations × 3 components). It trains on a `synth.fmnet` set, streaming samples from the set's
//! generator; the train, validation and test parts are the set's, so fmnet has no hyper-parameters
//! of its own beyond the shared optimizer, learning rate, batch and epochs. Besides the weights
//! the entry keeps what `quakeline predict` needs to turn curves into angles without the set:
//! `label_ranges` `[3, 2]`, attributes `label_sigma_bins`, `dt_s`, `component_order`, `stations`
//! ([`crate::data::trained`]).

use std::time::Instant;

use serde_json::json;

use super::{Contract, Fitted, Model, Output, OutputKind, PredictArgs, Samples, Summary};
use crate::data::{self, fmnet_set};
use crate::focal::{Mechanism, kagan_angle};
use crate::h5;
use crate::io::fmnet_event;
use crate::io::waveforms::sac;
use crate::nn::fmnet::{self, Fmnet, ROWS, SAMPLES};
use crate::nn::{self, train::Config, weights};
use crate::params::{ParamError, Params};
use crate::stage::{PluginParams, RunCtx};

crate::stage_params! {
    /// fmnet has no parameters of its own: its parts come from its synth.fmnet input.
    pub struct FmnetParams {}
}

pub const MODEL: Model = Model {
    name: "fmnet",
    summary: "focal mechanism from 16 stations' 3-component waveforms (Kuang et al. 2021, Fig. 6)",
    citation: "Kuang, W., Yuan, C. & Zhang, J. (2021). Real-time determination of earthquake focal \
               mechanism via deep learning. Nature Communications 12, 1432. \
               doi:10.1038/s41467-021-21670-x",
    contract: Contract {
        channels: "48: 16 stations x 3 components, in the set's component order (ZRT or ZNE, stored in the entry)",
        component_order: None,
        sampling_rate_hz: Some(1.0),
        samples: Samples::Fixed(128),
        output: Output {
            kind: OutputKind::GaussianBins(128),
            names: &["strike", "dip", "rake"],
        },
        notes: "aligned on P, normalised to the maximum, band-passed 0.05-0.1 Hz",
    },
    trains_on: data::FMNET_SET,
    fine_tunes: false,
    params: PluginParams::of::<FmnetParams>("model", "fmnet", no_check)
        .with_changelog(&["first version (train version 4)"]),
    layers,
    fit,
    predict: Some(predict),
    picker: None,
};

fn no_check(_: &Params) -> Result<(), ParamError> {
    Ok(())
}

/// The published topology has a fixed input: no setting changes it.
fn layers(settings: &[(&str, &str)]) -> Result<Summary, String> {
    if let Some((k, v)) = settings.first() {
        return Err(format!(
            "--set `{k}={v}`: FMNet's published topology has a fixed input of {ROWS} x {SAMPLES} (16 stations x 3 components, 128 samples)"
        ));
    }
    Ok(Summary {
        input: format!(
            "input [{ROWS} x {SAMPLES}] (16 stations x 3 components, {SAMPLES} samples at 1 s); output [3 x {SAMPLES}] (strike, dip, rake curves)"
        ),
        layers: fmnet::layers(&Fmnet::new(0, &nn::device())),
    })
}

/// Fits a fresh FMNet on the `synth.fmnet` input and writes weights and labelling facts.
fn fit(ctx: &mut RunCtx<'_>, cfg: &Config) -> anyhow::Result<Fitted> {
    let what = format!("the input of `{}` (model fmnet)", ctx.stage_id);
    let g = fmnet_set::read(ctx.input("input")?, &what)?;
    anyhow::ensure!(
        g.rows() == ROWS && g.processing.window == SAMPLES && g.labels.bins == SAMPLES,
        "{what} has {} rows x {} samples and {} label bins; FMNet's published topology takes 48 x 128 (16 stations) and 128 bins",
        g.rows(),
        g.processing.window,
        g.labels.bins
    );
    let n_train = g.n_train();
    ctx.progress.set_length(cfg.steps(n_train) as u64);
    let device = nn::device();
    let (model, history) = fmnet::fit(cfg, &g, &device, &mut super::progress(ctx.progress))?;
    let out = ctx.output;
    weights::write_tensors(&out.create_group("weights")?, fmnet::tensors(&model))?;
    let root: &hdf5::Location = out;
    let lr: Vec<f64> = g.labels.ranges.iter().flat_map(|(a, b)| [*a, *b]).collect();
    h5::write_array(out, "label_ranges", &[3, 2], &lr)?;
    h5::write_attr(root, "label_sigma_bins", g.labels.sigma_bins)?;
    h5::write_attr(root, "dt_s", g.dt_s)?;
    h5::write_str_attr(root, "component_order", g.processing.components.name())?;
    let names: Vec<&str> = g.stations.iter().map(|s| s.name.as_str()).collect();
    h5::write_str_attr(root, "stations", &names.join(","))?;
    Ok(Fitted {
        rows: g.rows(),
        samples: g.processing.window,
        parameters: fmnet::parameter_count(&model),
        history,
        extra: json!({
            "accuracy": "fraction of samples whose peak mechanism is within 20 deg Kagan angle",
            "samples": {"train": n_train, "validation": g.n_validation, "test": g.held_out.len() - g.n_validation},
        }),
    })
}

/// The trained network of an entry `fit` wrote.
pub fn load(g: &hdf5::Group, device: &burn::tensor::Device) -> anyhow::Result<Fmnet> {
    let what = "the entry";
    super::of_entry(g, data::FMNET_SET, what)?;
    fmnet::read(&g.group("weights")?, device)
}

/// The waveforms and, for an event file that states one, its reference mechanism: one HDF5 event
/// file ([`fmnet_event`]) or 48 SAC files in row order, each holding at least 128 samples at the
/// model's sampling interval, already band-passed and aligned on P (Kuang et al. 2021: instrument
/// response removed, 0.05–0.1 Hz, aligned on the P arrival).
fn load_input(
    paths: &[std::path::PathBuf],
    dt: f64,
    order: &str,
) -> anyhow::Result<(Vec<f32>, Option<Mechanism>)> {
    if let [one] = paths
        && one.extension().is_some_and(|e| e == "h5" || e == "hdf5")
    {
        let ev = fmnet_event::read(one)?;
        ev.check(&one.display().to_string(), ROWS, SAMPLES, dt, order)?;
        return Ok((ev.waveforms, ev.reference));
    }
    anyhow::ensure!(
        paths.len() == ROWS,
        "give one HDF5 file or {ROWS} SAC files (3 components x 16 stations), got {} file(s)",
        paths.len()
    );
    let mut x = Vec::with_capacity(ROWS * SAMPLES);
    for p in paths {
        let t = sac::read(p)?;
        anyhow::ensure!(
            (t.delta - dt).abs() <= 1e-6 * dt,
            "{}: delta = {} s; the model was trained at {dt} s",
            p.display(),
            t.delta
        );
        anyhow::ensure!(
            t.data.len() >= SAMPLES,
            "{}: {} samples; FMNet needs {SAMPLES}",
            p.display(),
            t.data.len()
        );
        anyhow::ensure!(
            t.data.iter().take(SAMPLES).all(|v| v.is_finite()),
            "{}: non-finite samples",
            p.display()
        );
        x.extend_from_slice(&t.data[..SAMPLES]);
    }
    Ok((x, None))
}

/// One focal mechanism from the input files, normalised to their maximum as in training, with
/// the time a prediction took (the median of repeated runs after a warm-up; the paper reports
/// 196 ms) and, for an event file with a reference mechanism, the Kagan angle to it.
fn predict(a: &PredictArgs<'_>) -> anyhow::Result<Vec<String>> {
    let f = a.entry;
    let device = nn::device();
    let model = load(f, &device)?;
    let (lr, _) = h5::read_array::<f64>(f, "label_ranges")
        .map_err(|e| anyhow::anyhow!("label_ranges: {e}"))?;
    anyhow::ensure!(
        lr.len() == 6,
        "label_ranges has {} values, not 3 x 2",
        lr.len()
    );
    let labels = crate::synth::fmnet::Labels {
        ranges: [(lr[0], lr[1]), (lr[2], lr[3]), (lr[4], lr[5])],
        bins: SAMPLES,
        sigma_bins: h5::read_attr(f, "label_sigma_bins").unwrap_or(10.0),
    };
    let dt: f64 = h5::read_attr(f, "dt_s").unwrap_or(1.0);
    let order = h5::read_str_attr(f, "component_order").unwrap_or_else(|_| "ZRT".into());
    let (mut x, reference) = load_input(a.inputs, dt, &order)?;
    crate::synth::fmnet::normalise(&mut x);
    let run = |x: &[f32]| labels.decode(&fmnet::predict_waveforms(&model, x.to_vec(), 1, &device));
    let m = run(&x);
    let mut times: Vec<f64> = (0..a.repeat.max(1))
        .map(|_| {
            let t0 = Instant::now();
            let _ = run(&x);
            t0.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    times.sort_by(f64::total_cmp);
    let mut lines = vec![format!(
        "strike {:.1}  dip {:.1}  rake {:.1}  ({:.2} ms per prediction, median of {} after a warm-up)",
        m.strike,
        m.dip,
        m.rake,
        times[times.len() / 2],
        times.len()
    )];
    if let Some(r) = reference {
        lines.push(format!(
            "reference strike {:.1}  dip {:.1}  rake {:.1}: Kagan angle {:.1} deg",
            r.strike,
            r.dip,
            r.rake,
            kagan_angle(&m, &r)
        ));
    }
    Ok(lines)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_is_fixed_and_counts_the_network() {
        let s = layers(&[]).unwrap();
        assert_eq!(
            s.parameters(),
            fmnet::parameter_count(&Fmnet::new(0, &nn::device()))
        );
        assert!(
            layers(&[("window", "7d")])
                .err()
                .unwrap()
                .contains("fixed input")
        );
    }
}
