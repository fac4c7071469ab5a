//! The fit of a picker inside a `train` stage (pre-training from scratch, or fine-tuning from
//! input `init`), following Hong et al. (2023), doi:10.3389/feart.2023.1306488: cross-entropy
//! over the classes per sample, reduce-on-plateau, early stopping with the best epoch kept.

use burn::tensor::{Tensor, TensorData};
use serde_json::json;

use super::params::{PickerParams, Trainable};
use super::{PickerModel, Stored, load, stored, write_entry};
use crate::data::waveform_set;
use crate::h5;
use crate::labeling::phase_windows::{self, WindowConfig};
use crate::models::Fitted;
use crate::nn::picker::{self, Drop};
use crate::nn::train::{Config, Plateau, Score};
use crate::nn::{self, weights};
use crate::params::typed::StageParams;
use crate::rng::Rng;
use crate::stage::RunCtx;

/// Windows, labels and picks of a fixed (un-augmented) set of examples: the validation data.
struct ValidationWindows {
    x: Vec<f32>,
    y: Vec<f32>,
    picks: Vec<[f64; 2]>,
}

fn validation_windows(
    set: &dyn waveform_set::Traces,
    idx: &[usize],
    cfg: &WindowConfig,
    seed: u64,
) -> Result<ValidationWindows, String> {
    let plain = WindowConfig {
        noise_probability: 0.0,
        drop_probability: 0.0,
        ..cfg.clone()
    };
    let mut f = ValidationWindows {
        x: Vec::new(),
        y: Vec::new(),
        picks: Vec::new(),
    };
    use rayon::prelude::*;
    let examples: Vec<_> = idx
        .par_iter()
        .map(|&i| phase_windows::example(set, i, &plain, seed, u64::MAX))
        .collect();
    for e in examples {
        let e = e?;
        f.x.extend(e.x);
        f.y.extend(e.y);
        f.picks.push([e.p, e.s]);
    }
    Ok(f)
}

/// How many windows have every pick they contain (P, S) found: the maximum of its probability
/// curve within `tol` samples of it. A window without picks counts when neither curve reaches
/// 0.5 anywhere (nothing would be picked at PhaseNet's default threshold).
fn windows_with_every_pick_found(p: &[f32], picks: &[[f64; 2]], n: usize, tol: f64) -> usize {
    picks
        .iter()
        .enumerate()
        .filter(|(w, pk)| {
            pk.iter().enumerate().all(|(ph, &t)| {
                let curve = &p[(w * 3 + ph + 1) * n..(w * 3 + ph + 2) * n];
                let (peak, top) = curve
                    .iter()
                    .enumerate()
                    .fold((0, f32::MIN), |b, (i, &v)| if v > b.1 { (i, v) } else { b });
                if t.is_nan() {
                    top < 0.5
                } else {
                    (peak as f64 - t).abs() <= tol
                }
            })
        })
        .count()
}

/// Fits picker `M` inside a `train` stage: from scratch or from input
/// `init`, on the `train` traces of input `input`, validated on its `dev` traces.
pub fn fit<M: PickerModel>(ctx: &mut RunCtx<'_>, cfg: &Config) -> anyhow::Result<Fitted> {
    let p = PickerParams::from_params(ctx.params).map_err(|e| anyhow::anyhow!("{}", e.message))?;
    let what = format!("the input of `{}` (model {})", ctx.stage_id, M::NAME);
    // Trace by trace: an on-demand set (synth.picks) is generated as batches ask for it.
    let set = waveform_set::open(ctx.input("input")?, ctx.stage_id)?;
    let rate = set.sampling_rate_hz();
    let wcfg = p.window_config(rate);
    anyhow::ensure!(
        set.samples() >= wcfg.samples,
        "{what}: traces of {} samples are shorter than the window of {} (`window`)",
        set.samples(),
        wcfg.samples
    );
    let of_split =
        |s: &str| -> Vec<usize> { (0..set.len()).filter(|&i| set.meta(i).split == s).collect() };
    let (train, dev) = (of_split("train"), of_split("dev"));
    anyhow::ensure!(
        !train.is_empty() && !dev.is_empty(),
        "{what} has {} traces with split `train` and {} with `dev`; a picker trains on `train` and stops early on `dev` (assign them with split.waveforms)",
        train.len(),
        dev.len()
    );
    let device = nn::device();
    let (mut model, init_key) = match ctx.inputs.get("init") {
        Some(init) => {
            let key = init
                .file
                .filename()
                .rsplit('/')
                .next()
                .unwrap_or_default()
                .trim_end_matches(".h5")
                .to_string();
            let iwhat = format!("input `init` of `{}`", ctx.stage_id);
            let m = load::<M>(&init.group, &iwhat, &device)?;
            let c = stored(&init.group, &iwhat)?;
            anyhow::ensure!(
                (c.sampling_rate_hz - rate).abs() <= 1e-9 * rate,
                "{iwhat} was trained at {} Hz; {what} is at {rate} Hz (resample it with fetch.waveforms' sampling_rate_hz)",
                c.sampling_rate_hz
            );
            (m, key)
        }
        None => {
            anyhow::ensure!(
                p.trainable == Trainable::All,
                "`trainable = \"last\"` ({}) fine-tunes a trained picker: wire one as input `init`",
                ctx.params.locate("trainable")
            );
            (M::new(cfg.seed, &device), String::new())
        }
    };
    let frozen = if p.trainable == Trainable::Last {
        model = model.freeze_body();
        let all: Vec<String> = weights::named(&model)
            .into_iter()
            .map(|(n, _, _)| n)
            .filter(|n| !n.starts_with(&format!("{}.", M::OUTPUT)))
            .collect();
        format!("everything but `{}` ({} tensors)", M::OUTPUT, all.len())
    } else {
        String::new()
    };
    // Every training trace must admit a window (long enough, a phase inside when required):
    // refused here, before any epoch, rather than after the last.
    for &i in &train {
        let t = set.meta(i);
        phase_windows::allowed_starts(&wcfg, set.samples(), t.p_sample, t.s_sample)
            .map_err(|e| anyhow::anyhow!("{what}: trace `{}`: {e}", t.name))?;
    }
    let n = wcfg.samples;
    let val = validation_windows(set.as_ref(), &dev, &wcfg, cfg.seed)
        .map_err(|e| anyhow::anyhow!("{what}: {e}"))?;
    let tol = 0.5 * rate;
    ctx.progress.set_length(cfg.steps(train.len()) as u64);
    let ad = device.clone().autodiff();
    let mut step = 0u64;
    let mut example_error: Option<String> = None;
    let plateau_cfg = Config {
        schedule: Some(Plateau {
            lr_patience: p.lr_patience,
            factor: p.lr_factor,
            stop_patience: p.stop_patience,
        }),
        ..cfg.clone()
    };
    let dev_idx: Vec<usize> = (0..dev.len()).collect();
    let (model, history) = nn::train::epochs(
        &plateau_cfg,
        model.train(),
        &train,
        &dev_idx,
        &format!("nn/{}/batches", M::NAME),
        &mut |m, epoch, idx| {
            let (mut x, mut y, mut picks) = (Vec::new(), Vec::new(), Vec::new());
            // In parallel (an on-demand trace is synthesised here), assembled in order.
            use rayon::prelude::*;
            let examples: Vec<_> = idx
                .par_iter()
                .map(|&i| phase_windows::example(set.as_ref(), i, &wcfg, cfg.seed, epoch as u64))
                .collect();
            for example in examples {
                match example {
                    Ok(e) => {
                        x.extend(e.x);
                        y.extend(e.y);
                        picks.push([e.p, e.s]);
                    }
                    Err(e) => {
                        example_error.get_or_insert(e);
                        x.extend(vec![0f32; 3 * n]);
                        y.extend(vec![0f32; 3 * n]);
                        picks.push([f64::NAN; 2]);
                    }
                }
            }
            let b = idx.len();
            let xt = Tensor::<3>::from_data(TensorData::new(x, [b, 3, n]), &ad);
            let yt = Tensor::<3>::from_data(TensorData::new(y, [b, 3, n]), &ad);
            let mut drop = Drop::new(
                p.dropout,
                Rng::new(cfg.seed, &format!("nn/picker/dropout/{step}")),
            );
            step += 1;
            let logits = m.logits(xt, &mut drop);
            let probs: Vec<f32> = burn::tensor::activation::softmax(logits.clone().detach(), 1)
                .into_data()
                .convert::<f32>()
                .try_to_vec::<f32>()
                .expect("f32");
            (
                M::loss(logits, yt),
                windows_with_every_pick_found(&probs, &picks, n, tol),
            )
        },
        &mut |m, idx| {
            let xs: Vec<f32> = idx
                .iter()
                .flat_map(|&i| val.x[i * 3 * n..(i + 1) * 3 * n].iter().copied())
                .collect();
            let probs = picker::predict(m, &xs, n, cfg.batch.max(16), &device);
            let mut ce = 0f64;
            for (k, &i) in idx.iter().enumerate() {
                let y = &val.y[i * 3 * n..(i + 1) * 3 * n];
                let pr = &probs[k * 3 * n..(k + 1) * 3 * n];
                ce -= y
                    .iter()
                    .zip(pr)
                    .map(|(y, p)| f64::from(*y) * f64::from(p.max(1e-12)).ln())
                    .sum::<f64>();
            }
            let picks: Vec<[f64; 2]> = idx.iter().map(|&i| val.picks[i]).collect();
            Score {
                loss: ce / (idx.len() * n) as f64,
                accuracy: windows_with_every_pick_found(&probs, &picks, n, tol) as f64
                    / idx.len() as f64,
            }
        },
        &mut crate::models::progress(ctx.progress),
    )?;
    if let Some(e) = example_error {
        anyhow::bail!("{what}: {e}");
    }
    let parameters = weights::named(&model)
        .iter()
        .filter(|(n, _, _)| !n.contains("running_"))
        .map(|(_, s, _)| s.iter().product::<usize>())
        .sum();
    let best = history
        .iter()
        .enumerate()
        .min_by(|a, b| a.1.validation.loss.total_cmp(&b.1.validation.loss))
        .map_or(0, |(e, _)| e + 1);
    let contract = Stored {
        sampling_rate_hz: rate,
        window: n,
        component_order: waveform_set::COMPONENT_ORDER.to_string(),
    };
    write_entry(
        ctx.output,
        &model,
        &contract,
        p.trainable.name(),
        &frozen,
        &init_key,
    )?;
    h5::write_attr(ctx.output as &hdf5::Location, "best_epoch", best as u64)?;
    Ok(Fitted {
        rows: 3,
        samples: n,
        parameters,
        history,
        extra: json!({
            "accuracy": "fraction of windows whose P and S probability curves peak within 0.5 s of the window's picks (a window without a pick: neither curve reaches 0.5)",
            "best_epoch": best,
            "trainable": p.trainable.name(),
            "frozen": frozen,
            "init_key": init_key,
            "traces": {"train": train.len(), "dev": dev.len()},
        }),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_window_is_right_when_every_pick_it_holds_is_found() {
        let n = 10;
        let mut p = vec![0f32; 3 * n];
        p[n + 3] = 0.9; // P peak at 3
        p[2 * n + 9] = 0.4; // S curve peaks at 9, below 0.5
        assert_eq!(windows_with_every_pick_found(&p, &[[4.0, 9.0]], n, 1.0), 1);
        assert_eq!(windows_with_every_pick_found(&p, &[[4.0, 5.0]], n, 1.0), 0);
        assert_eq!(
            windows_with_every_pick_found(&p, &[[4.0, f64::NAN]], n, 1.0),
            1
        );
        assert_eq!(
            windows_with_every_pick_found(&p, &[[f64::NAN, f64::NAN]], n, 1.0),
            0
        );
    }
}
