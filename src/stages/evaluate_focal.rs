//! `evaluate.focal` — FMNet on held-out synthetic samples: angle errors and Kagan angles.
//!
//! # Purpose
//! Kuang et al. (2021) validate FMNet on 1,000 unseen synthetic samples; the prediction is the
//! peak of each label curve. This stage scores the `test` part of a `synth.fmnet` set (noisy and
//! shifted like the training data, mechanisms drawn continuously, not on the training grid): the
//! absolute strike, dip and rake errors (strike modulo 360) and the Kagan (1991) angle between
//! predicted and true double couples, which is immune to the nodal-plane ambiguity. The FMNet
//! code counts a prediction "good" at ≤ 20°. With `neighbours > 0`, the paper's feature-space
//! search (Fig. 4–5): for a few test samples, the training samples nearest in the 128-number
//! encoder code (L2), with their mechanisms.
//!
//! Real earthquakes (the paper's Ridgecrest events) come as `events`: globs of prepared event
//! files ([`crate::io::fmnet_event`]: waveforms `[48, 128]` band-passed and aligned on P, and
//! optionally the catalogue mechanism). Each is normalised like a training sample, predicted, and
//! compared with its reference mechanism by Kagan angle.
//!
//! # Inputs
//! `model`: a `train` entry with `model = "fmnet"`; `data`: the `synth.fmnet` set it was trained on.
//!
//! # Outputs
//! `predicted` and `truth` `[n, 3]` (strike, dip, rake), `kagan_deg` `[n]`; with `events`,
//! `event_predicted` `[k, 3]`, `event_reference` `[k, 3]` and `event_kagan_deg` `[k]` (NaN where an
//! event has no reference) in the files' path order; results `evaluation.json`,
//! `kagan_histogram.png`, `events.json` and `neighbours.json` when asked.
//!
//! # Parameters
//! Declared with their types, ranges and defaults below (`quakeline stages` lists them):
//! `good_deg` (the Kagan angle counted as a good solution), the event files to predict
//! (`events`), and the encoder feature-space search (`neighbours`, `queries`, `search_samples`).
//!
//! # Cache key
//! Parameters, the input keys, and the content of the event files (not their paths).
//!
//! # References
//! Kuang, W., Yuan, C. & Zhang, J. (2021). Real-time determination of earthquake focal mechanism
//! via deep learning. Nature Communications 12, 1432. doi:10.1038/s41467-021-21670-x
//!
//! Kagan, Y. Y. (1991). 3-D rotation of double-couple earthquake sources. Geophysical Journal
//! International 106(3), 709-716. doi:10.1111/j.1365-246X.1991.tb06343.x

use serde_json::json;

use crate::data::{self, fmnet_set};
use crate::focal::{Mechanism, kagan_angle};
use crate::h5;
use crate::io::sources;
use crate::params::ParamError;
use crate::plot::{self, Mark, Panel, Series};
use crate::rng::Rng;
use crate::stage::{
    ContentDigest, Direction, InputSpec, MetricSpec, Outputs, PlanCtx, RunCtx, StageInfo, StageKind,
};
use crate::synth::fmnet::Part;

pub struct EvaluateFocal;

crate::stage_params! {
    /// Parameters of this stage kind (see the module docs).
    pub struct EvaluateFocalParams {
        /// Kagan angle at or below which a prediction counts as good (the FMNet code: 20)
        good_deg: f64 = Float { positive: true }, Default("20.0");
        /// encoder feature-space search: nearest training samples reported per query (0: off)
        neighbours: usize = Int { min: 0, max: 100 }, Default("0");
        /// training samples (a seeded random subset) encoded for the feature-space search
        search_samples: usize = Int { min: 1, max: 10_000_000, }, Default("5000");
        /// test samples whose neighbours are reported
        queries: usize = Int { min: 1, max: 1000 }, Default("5");
        /// real event files to predict (globs relative to the pipeline file; HDF5 `waveforms` [48, 128] and optional reference `strike_deg`/`dip_deg`/`rake_deg` attributes)
        events: Vec<String> = StrList, Optional, location;
    }
}

static METRICS: &[MetricSpec] = &[
    MetricSpec {
        name: "kagan_median",
        direction: Direction::Lower,
        doc: "median Kagan angle (deg) on the test samples",
    },
    MetricSpec {
        name: "kagan_mean",
        direction: Direction::Lower,
        doc: "mean Kagan angle (deg)",
    },
    MetricSpec {
        name: "good_fraction",
        direction: Direction::Higher,
        doc: "fraction with Kagan angle <= good_deg",
    },
    MetricSpec {
        name: "strike_mae",
        direction: Direction::Lower,
        doc: "mean absolute strike error (deg, modulo 360)",
    },
    MetricSpec {
        name: "dip_mae",
        direction: Direction::Lower,
        doc: "mean absolute dip error (deg)",
    },
    MetricSpec {
        name: "rake_mae",
        direction: Direction::Lower,
        doc: "mean absolute rake error (deg)",
    },
    MetricSpec {
        name: "n",
        direction: Direction::Neither,
        doc: "test samples scored",
    },
    MetricSpec {
        name: "event_kagan_median",
        direction: Direction::Lower,
        doc: "median Kagan angle (deg) between the predicted and reference mechanisms of the \
              `events` (n/a without events that state one)",
    },
];

fn median(v: &[f64]) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    match s.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => s[n / 2],
        n => 0.5 * (s[n / 2 - 1] + s[n / 2]),
    }
}

impl StageKind for EvaluateFocal {
    type Params = EvaluateFocalParams;
    const INFO: StageInfo = StageInfo {
        kind: "evaluate.focal",
        version: 2,
        changelog: &[
            "first version",
            "`events` and the `event_kagan_median` metric",
        ],
        summary: "FMNet on held-out synthetics: strike/dip/rake errors, Kagan angles, encoder feature search",
        inputs: &[
            InputSpec {
                name: "model",
                doc: "a train entry with model = \"fmnet\"",
                accepts: &[data::TRAINED_MODEL],
                optional: false,
            },
            InputSpec {
                name: "data",
                doc: "the synth.fmnet set the model was trained on",
                accepts: &[data::FMNET_SET],
                optional: false,
            },
        ],
        outputs: Outputs::Root(data::FOCAL_EVALUATION),
        metrics: METRICS,
        stochastic: false,
    };

    fn content_digests(
        &self,
        ctx: &PlanCtx<'_>,
        p: &EvaluateFocalParams,
    ) -> Result<Vec<ContentDigest>, ParamError> {
        sources::local_digests(ctx, &p.events, "events")
    }

    fn device_class(&self) -> Option<&'static str> {
        crate::device::key_class()
    }
    fn run(&self, ctx: &mut RunCtx<'_>, p: EvaluateFocalParams) -> anyhow::Result<()> {
        let device = crate::nn::device();
        let model = crate::models::fmnet::load(ctx.input("model")?, &device)
            .map_err(|e| anyhow::anyhow!("input `model` of `{}`: {e}", ctx.stage_id))?;
        let what = format!("input `data` of `{}`", ctx.stage_id);
        let g = fmnet_set::read(ctx.input("data")?, &what)?;
        let test: Vec<usize> = g.indices(Part::Test).collect();
        anyhow::ensure!(
            !test.is_empty(),
            "{what} has no test samples (synth.fmnet test_samples = 0)"
        );
        ctx.progress.set_length(test.len() as u64);
        ctx.progress.set_message("test samples");
        let bins = g.labels.bins;
        let mut curves = Vec::with_capacity(test.len() * 3 * bins);
        for chunk in test.chunks(256) {
            curves.extend(crate::nn::fmnet::predict(&model, &g, chunk, 256, &device));
            ctx.progress.inc(chunk.len() as u64);
        }
        let good_deg = p.good_deg;
        let (mut kag, mut pred, mut truth) = (Vec::new(), Vec::new(), Vec::new());
        let mut abs = [0.0f64; 3];
        for (i, c) in test.iter().zip(curves.chunks(3 * bins)) {
            let m = g.labels.decode(c);
            let (_, t) = g.source(*i);
            kag.push(kagan_angle(&m, &t));
            let ds = (m.strike - t.strike).rem_euclid(360.0);
            abs[0] += ds.min(360.0 - ds);
            abs[1] += (m.dip - t.dip).abs();
            abs[2] += (m.rake - t.rake).abs();
            pred.extend([m.strike, m.dip, m.rake]);
            truth.extend([t.strike, t.dip, t.rake]);
        }
        let n = test.len() as f64;
        let good = kag.iter().filter(|k| **k <= good_deg).count() as f64 / n;
        let (kagan_median, kagan_mean) = (median(&kag), kag.iter().sum::<f64>() / n);
        ctx.metric("kagan_median", kagan_median);
        ctx.metric("kagan_mean", kagan_mean);
        ctx.metric("good_fraction", good);
        ctx.metric("strike_mae", abs[0] / n);
        ctx.metric("dip_mae", abs[1] / n);
        ctx.metric("rake_mae", abs[2] / n);
        ctx.metric("n", n);
        let out = ctx.output;
        h5::write_array(out, "predicted", &[test.len(), 3], &pred)?;
        h5::write_array(out, "truth", &[test.len(), 3], &truth)?;
        h5::write_array(out, "kagan_deg", &[test.len()], &kag)?;

        // Histogram of Kagan angles in 5° bins (0–120°, Kagan's maximum).
        let mut counts = [0usize; 24];
        for k in &kag {
            counts[((k / 5.0) as usize).min(23)] += 1;
        }
        let mut steps = Vec::new();
        for (b, c) in counts.iter().enumerate() {
            steps.push((b as f64 * 5.0, *c as f64));
            steps.push(((b + 1) as f64 * 5.0, *c as f64));
        }
        let png = plot::png(&[Panel {
            title: format!(
                "Kagan angle, {} held-out samples (median {:.1} deg)",
                test.len(),
                kagan_median
            ),
            x_label: "Kagan angle (deg)".into(),
            y_label: "samples".into(),
            series: vec![
                Series {
                    label: "count per 5 deg".into(),
                    points: steps,
                    mark: Mark::Line,
                },
                Series {
                    label: format!("good <= {good_deg} deg"),
                    points: vec![
                        (good_deg, 0.0),
                        (good_deg, *counts.iter().max().unwrap_or(&1) as f64),
                    ],
                    mark: Mark::Dashed,
                },
            ],
            log_x: false,
            x_categories: vec![],
        }])?;
        ctx.write_result("kagan_histogram.png", &png)?;

        let events = score_events(ctx, &model, &g, &device)?;

        let k = p.neighbours;
        let neighbours = if k > 0 {
            Some(feature_search(ctx, &p, &model, &g, &test, k)?)
        } else {
            None
        };
        let summary = json!({
            "test_samples": test.len(),
            "kagan_deg": {"median": kagan_median, "mean": kagan_mean, "good_deg": good_deg, "good_fraction": good},
            "mae_deg": {"strike": abs[0] / n, "dip": abs[1] / n, "rake": abs[2] / n},
            "histogram_5deg": counts.to_vec(),
        });
        ctx.write_result(
            "evaluation.json",
            serde_json::to_string_pretty(&summary)?.as_bytes(),
        )?;
        if let Some(ev) = events {
            ctx.write_result("events.json", serde_json::to_string_pretty(&ev)?.as_bytes())?;
        }
        if let Some(nb) = neighbours {
            ctx.write_result(
                "neighbours.json",
                serde_json::to_string_pretty(&nb)?.as_bytes(),
            )?;
        }
        Ok(())
    }
}

/// Predicts every planned event file (`ctx.content`, re-hashed before HDF5 opens it), writes
/// `event_*` datasets and the `event_kagan_median` metric, and returns the `events.json` rows
/// (`None` without events).
fn score_events(
    ctx: &mut RunCtx<'_>,
    model: &crate::nn::fmnet::Fmnet,
    g: &crate::synth::fmnet::Generator,
    device: &burn::tensor::Device,
) -> anyhow::Result<Option<serde_json::Value>> {
    use crate::nn::fmnet::{ROWS, SAMPLES};
    let content = ctx.content.to_vec();
    if content.is_empty() {
        ctx.metric("event_kagan_median", f64::NAN);
        return Ok(None);
    }
    let (mut pred, mut reference, mut kag, mut rows) = (vec![], vec![], vec![], vec![]);
    let mech = |m: &Mechanism| json!({"strike": m.strike, "dip": m.dip, "rake": m.rake});
    for c in &content {
        let path = std::path::Path::new(&c.label);
        let (digest, _) = crate::cache::hash_file(path)
            .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", c.label))?;
        anyhow::ensure!(
            digest == c.blake3,
            "{} changed while the pipeline was running; run it again",
            c.label
        );
        let mut ev = crate::io::fmnet_event::read(path)
            .map_err(|e| anyhow::anyhow!("{e} ({})", ctx.params.locate("events")))?;
        ev.check(
            &c.label,
            ROWS,
            SAMPLES,
            g.dt_s,
            g.processing.components.name(),
        )
        .map_err(|e| anyhow::anyhow!("{e} ({})", ctx.params.locate("events")))?;
        let mut x = std::mem::take(&mut ev.waveforms);
        crate::synth::fmnet::normalise(&mut x);
        let curves = crate::nn::fmnet::predict_waveforms(model, x, 1, device);
        let m = g.labels.decode(&curves);
        let k = ev.reference.map(|r| kagan_angle(&m, &r));
        pred.extend([m.strike, m.dip, m.rake]);
        reference.extend(
            ev.reference
                .map(|r| [r.strike, r.dip, r.rake])
                .unwrap_or([f64::NAN; 3]),
        );
        kag.push(k.unwrap_or(f64::NAN));
        rows.push(json!({
            "event": ev.name,
            "file": c.label,
            "predicted": mech(&m),
            "reference": ev.reference.as_ref().map(mech),
            "kagan_deg": k,
        }));
    }
    let n = content.len();
    let out = ctx.output;
    h5::write_array(out, "event_predicted", &[n, 3], &pred)?;
    h5::write_array(out, "event_reference", &[n, 3], &reference)?;
    h5::write_array(out, "event_kagan_deg", &[n], &kag)?;
    let known: Vec<f64> = kag.iter().copied().filter(|k| k.is_finite()).collect();
    ctx.metric("event_kagan_median", median(&known));
    Ok(Some(json!({
        "events": rows,
        "with_reference": known.len(),
        "kagan_median_deg": (!known.is_empty()).then(|| median(&known)),
    })))
}

/// Kuang et al. Fig. 4–5: nearest training samples to a few test samples in the encoder code.
fn feature_search(
    ctx: &RunCtx<'_>,
    p: &EvaluateFocalParams,
    model: &crate::nn::fmnet::Fmnet,
    g: &crate::synth::fmnet::Generator,
    test: &[usize],
    k: usize,
) -> anyhow::Result<serde_json::Value> {
    let device = crate::nn::device();
    let mut pool: Vec<usize> = g.indices(Part::Train).collect();
    let mut rng = Rng::new(ctx.seed, "evaluate.focal/search");
    rng.shuffle(&mut pool);
    pool.truncate(p.search_samples);
    let queries: Vec<usize> = test.iter().copied().take(p.queries).collect();
    let code = crate::nn::fmnet::CODE;
    let encode = |idx: &[usize]| crate::nn::fmnet::encode_samples(model, g, idx, 256, &device);
    let (pc, qc) = (encode(&pool), encode(&queries));
    let mech = |m: Mechanism| json!({"strike": m.strike, "dip": m.dip, "rake": m.rake});
    let rows: Vec<serde_json::Value> = queries
        .iter()
        .zip(qc.chunks(code))
        .map(|(&q, qv)| {
            let mut d: Vec<(f64, usize)> = pool
                .iter()
                .zip(pc.chunks(code))
                .map(|(&i, v)| (qv.iter().zip(v).map(|(a, b)| ((a - b) as f64).powi(2)).sum::<f64>().sqrt(), i))
                .collect();
            d.sort_by(|a, b| a.0.total_cmp(&b.0));
            let (_, truth) = g.source(q);
            json!({
                "sample": q,
                "truth": mech(truth),
                "neighbours": d.iter().take(k).map(|(dist, i)| {
                    let (gi, m) = g.source(*i);
                    json!({"sample": i, "l2": dist, "mechanism": mech(m), "kagan_to_query_deg": kagan_angle(&m, &truth), "grid": {"lat": g.grid[gi].lat, "lon": g.grid[gi].lon, "depth_km": g.grid[gi].depth_km}})
                }).collect::<Vec<_>>(),
            })
        })
        .collect();
    Ok(json!({"code_length": code, "searched_training_samples": pool.len(), "queries": rows}))
}
