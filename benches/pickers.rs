//! Benchmarks of workflow 3's pickers for BENCHMARKS.md: training steps (forward, backward,
//! Adam) and inference of PhaseNet and the R2U-Net on 3-C 3000-sample windows, beside the same
//! topologies in TensorFlow/Keras (PhaseNet's and the ARRU code's framework) in the same run.
//! `cargo bench --bench pickers` (release build); plain `main`, medians of repeats.
//!
//! The TensorFlow comparison runs `QUAKELINE_BENCH_PYTHON` (default `python3`) when it can import
//! tensorflow; the project itself never needs Python, so without it those lines say so.

use burn::optim::GradientsParams;
use burn::tensor::{Device, Tensor, TensorData};
use quakeline::nn::phasenet::PhaseNet;
use quakeline::nn::picker::{self, Drop, Picker};
use quakeline::nn::r2unet::R2Unet;
use quakeline::nn::{self, optim};
use quakeline::rng::Rng;

mod common;
use common::{python, time};

const N: usize = 3000;
const TRAIN_BATCH: usize = 16;
const INFER_BATCH: usize = 32;

fn data(b: usize) -> (Vec<f32>, Vec<f32>) {
    let mut rng = Rng::new(1, "bench/pickers");
    let x: Vec<f32> = (0..b * 3 * N).map(|_| rng.normal() as f32).collect();
    let y: Vec<f32> = (0..b)
        .flat_map(|_| {
            quakeline::labeling::phase_windows::labels(
                quakeline::labeling::phase_windows::LabelShape::PHASENET,
                N,
                1000.0,
                1500.0,
            )
        })
        .collect();
    (x, y)
}

/// Training samples/s (one Adam step per batch of 16) and inference windows/s (batches of 32).
fn measure<M: Picker>(name: &str, model: M, dropout: f64) -> (f64, f64) {
    let device: Device = nn::device();
    let ad = device.clone().autodiff();
    let (x, y) = data(TRAIN_BATCH);
    let mut opt = optim::by_name("adam").unwrap();
    let mut m = model.clone().train();
    let mut step = 0u64;
    let t = time(7, || {
        let xt = Tensor::<3>::from_data(TensorData::new(x.clone(), [TRAIN_BATCH, 3, N]), &ad);
        let yt = Tensor::<3>::from_data(TensorData::new(y.clone(), [TRAIN_BATCH, 3, N]), &ad);
        let mut drop = Drop::new(dropout, Rng::new(step, "bench/dropout"));
        step += 1;
        let loss = M::loss(m.logits(xt, &mut drop), yt);
        let grads = GradientsParams::from_grads(loss.backward(), &m);
        m = opt.step(1e-3, m.clone(), grads);
    });
    let train = TRAIN_BATCH as f64 / t.as_secs_f64();
    let (xi, _) = data(INFER_BATCH);
    let valid = model.valid();
    let t = time(5, || picker::predict(&valid, &xi, N, INFER_BATCH, &device));
    let infer = INFER_BATCH as f64 / t.as_secs_f64();
    println!(
        "{name}: training {train:.1} samples/s (batch {TRAIN_BATCH}, Adam, dropout {dropout}); inference {infer:.1} windows/s (batch {INFER_BATCH}) = {:.2} h of 3-C 100 Hz data per s",
        infer * 30.0 / 3600.0
    );
    (train, infer)
}

const KERAS: &str = r#"
import os, time, sys
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
import numpy as np, tensorflow as tf
from tensorflow.keras import layers as L
N = 3000
def crop_cat(skip, up):
    d = up.shape[1] - skip.shape[1]
    if d > 0:
        up = L.Cropping1D((d // 2, d - d // 2))(up)
    return L.Concatenate()([skip, up])
def cbr(x, f, k=7, s=1, bias=False, drop=0.0):
    x = L.Conv1D(f, k, strides=s, padding="same", use_bias=bias)(x)
    x = L.ReLU()(L.BatchNormalization(epsilon=1e-3)(x))
    return L.Dropout(drop)(x) if drop else x
def phasenet():
    i = L.Input((N, 3)); x = cbr(i, 8, bias=True); skips = []
    for d in range(5):
        x = cbr(x, 8 * 2 ** d); skips.append(x)
        if d < 4: x = cbr(x, 8 * 2 ** d, s=4)
    for d in range(3, -1, -1):
        x = L.Conv1DTranspose(8 * 2 ** d, 7, strides=4, padding="same", use_bias=False)(x)
        x = L.ReLU()(L.BatchNormalization(epsilon=1e-3)(x))
        x = cbr(crop_cat(skips[d], x), 8 * 2 ** d)
    return tf.keras.Model(i, L.Conv1D(3, 1, activation="softmax")(x))
def rr(x, f, s=1, drop=0.1):
    u = cbr(x, f, s=s, bias=True, drop=drop)
    c = L.Conv1D(f, 7, padding="same")(u); r = u
    for _ in range(3):
        r = cbr(L.Add()([r, u]), f, bias=True, drop=drop)
    return L.Add()([r, c])
def r2unet():
    f = [6, 12, 18, 24]; i = L.Input((N, 3)); x = rr(i, f[0]); skips = [x]
    for l in range(3):
        x = rr(x, f[l], s=4); x = rr(x, f[l + 1])
        if l < 2: skips.append(x)
    for l in (2, 1, 0):
        u = cbr(L.UpSampling1D(4)(x), f[l], bias=True, drop=0.1)
        x = rr(crop_cat(skips[l], u), f[l])
    return tf.keras.Model(i, L.Conv1D(3, 1, activation="softmax")(x))
def median(f, n):
    ts = []
    for _ in range(n):
        t = time.perf_counter(); f(); ts.append(time.perf_counter() - t)
    ts.sort(); return ts[len(ts) // 2]
rng = np.random.default_rng(1)
for name, build in (("phasenet", phasenet), ("r2unet", r2unet)):
    m = build(); m.compile(optimizer=tf.keras.optimizers.Adam(1e-3), loss="categorical_crossentropy")
    x = rng.normal(size=(16, N, 3)).astype("float32"); y = np.zeros((16, N, 3), "float32"); y[:, :, 0] = 1
    m.train_on_batch(x, y)
    t = median(lambda: m.train_on_batch(x, y), 7)
    xi = rng.normal(size=(32, N, 3)).astype("float32")
    m.predict_on_batch(xi)
    ti = median(lambda: m.predict_on_batch(xi), 5)
    print(name, m.count_params(), 16 / t, 32 / ti, tf.__version__)
"#;

/// Continuous annotation speed: one hour of 3-C 100 Hz noise through the published-size
/// PhaseNet, windows every 1 s and every 10 s, median-merged (Hong et al. 2023, Fig. 8).
fn continuous() {
    use quakeline::labeling::continuous::{Merge, Slide, annotate};
    let device = nn::device();
    let model = PhaseNet::new(1, &device);
    let n = 360_000;
    let mut rng = Rng::new(2, "bench/continuous");
    let data: Vec<f32> = (0..3 * n).map(|_| rng.normal() as f32).collect();
    for stride_s in [1usize, 10] {
        let t = time(1, || {
            let slide = Slide {
                window: N,
                stride: stride_s * 100,
                merge: Merge::Median,
                batch: 32,
            };
            annotate(&data, n, &slide, &mut |x| {
                Ok(picker::predict(&model, x, N, 32, &device))
            })
            .unwrap()
        });
        println!(
            "continuous annotation, phasenet, stride {stride_s} s, median: {:.2} h of 3-C 100 Hz data per s ({:.0}x real time)",
            1.0 / t.as_secs_f64(),
            3600.0 / t.as_secs_f64()
        );
    }
}

fn main() {
    let device = nn::device();
    continuous();
    let ours = [
        (
            "phasenet",
            measure("phasenet", PhaseNet::new(1, &device), 0.0),
        ),
        ("r2unet", measure("r2unet", R2Unet::new(1, &device), 0.1)),
    ];
    let Some(out) = python(KERAS) else {
        println!("TensorFlow comparison: skipped (no python with tensorflow)");
        return;
    };
    for line in out.lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        let [name, params, train, infer, version] = f[..] else {
            continue;
        };
        let (train, infer): (f64, f64) = (train.parse().unwrap(), infer.parse().unwrap());
        if let Some((_, (t, i))) = ours.iter().find(|(n, _)| *n == name) {
            println!(
                "{name} in TensorFlow {version} / Keras ({params} parameters incl. BN statistics): training {train:.1} samples/s, inference {infer:.1} windows/s; quakeline / TensorFlow = {:.2}x training, {:.2}x inference",
                t / train,
                i / infer
            );
        }
    }
}
