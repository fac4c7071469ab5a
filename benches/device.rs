//! The GPU check (issue 18): trains each model for a fixed number of steps on a device and on the
//! CPU (flex) from the same seed and data, and reports, per model and batch size, the
//! first-step latency, the steady samples/s, and the loss after the last step on both (relative
//! difference). One run does every GPU measurement BENCHMARKS.md and the closing note need; built
//! here with `--features tch`, carried to the GPU machine (`.ci/gpu-check` runs it there).
//!
//! `cargo bench --features tch --bench device` (release). `QUAKELINE_BENCH_DEVICE` picks the
//! device (default `cuda`; `torch-cpu` checks a build without a GPU), `QUAKELINE_BENCH_STEPS` the
//! compared steps (default 200), `QUAKELINE_BENCH_RATE_STEPS` the timed steps at batch 16 and
//! 256 (default `100,40`), `QUAKELINE_BENCH_MODELS` a comma list of `pm-cnn`, `fmnet`,
//! `fmnet-synth` (FMNet on `synth.fmnet` batches of a small fk bank), `phasenet` (default all), `QUAKELINE_BENCH_OPTIMIZER` another optimizer than `adam`.
//!
//! Models, inputs and losses are those of `train`: pm-cnn on a 1-day window (3 × 1440),
//! cross-entropy over 2 classes; FMNet on 48 × 128, mean squared error against 3 × 128 curves;
//! PhaseNet on 3 × 3001 (TF "same" padding), cross-entropy over noise/P/S curves. Adam 1e-3
//! (Keras defaults), no dropout (masks are host-drawn and identical on both devices anyway).

use std::time::Instant;

use burn::module::Module;
use burn::optim::GradientsParams;
use burn::tensor::activation::log_softmax;
use burn::tensor::{Device, Int, Tensor, TensorData};
use quakeline::device::{self, Choice};
use quakeline::nn::picker::{Drop, Picker};
use quakeline::nn::{optim, pm_cnn};
use quakeline::rng::Rng;

#[allow(dead_code)]
mod common;

/// A model under test: builds itself on a device, and gives the loss of batch `step` of size `b`.
trait Case {
    type M: Module + Clone;
    fn name(&self) -> &'static str;
    fn model(&self, device: &Device) -> Self::M;
    fn loss(&self, m: &Self::M, step: usize, b: usize, device: &Device) -> Tensor<1>;
}

/// Deterministic pseudo-random inputs of batch `step` (the same on every device).
fn normal(step: usize, n: usize, what: &str) -> Vec<f32> {
    let mut rng = Rng::new(step as u64, what);
    (0..n).map(|_| rng.normal() as f32).collect()
}

struct PmCnnCase;
impl Case for PmCnnCase {
    type M = pm_cnn::PmCnn;
    fn name(&self) -> &'static str {
        "pm-cnn"
    }
    fn model(&self, device: &Device) -> Self::M {
        let shape = pm_cnn::Shape {
            rows: 3,
            samples: 1440,
        };
        pm_cnn::PmCnn::new(shape, 1, device)
    }
    fn loss(&self, m: &Self::M, step: usize, b: usize, device: &Device) -> Tensor<1> {
        let x = Tensor::<3>::from_data(
            TensorData::new(normal(step, b * 3 * 1440, "device/pm-cnn"), [b, 3, 1440]),
            device,
        );
        let labels: Vec<i64> = (0..b).map(|i| ((i + step) % 2) as i64).collect();
        let y = Tensor::<1, Int>::from_data(TensorData::new(labels, [b]), device);
        let logits = m.forward(x);
        log_softmax(logits, 1)
            .gather(1, y.reshape([b, 1]))
            .neg()
            .mean()
    }
}

struct FmnetCase;
impl Case for FmnetCase {
    type M = quakeline::nn::fmnet::Fmnet;
    fn name(&self) -> &'static str {
        "fmnet"
    }
    fn model(&self, device: &Device) -> Self::M {
        quakeline::nn::fmnet::Fmnet::new(1, device)
    }
    fn loss(&self, m: &Self::M, step: usize, b: usize, device: &Device) -> Tensor<1> {
        let x = Tensor::<3>::from_data(
            TensorData::new(normal(step, b * 48 * 128, "device/fmnet/x"), [b, 48, 128]),
            device,
        );
        let y: Vec<f32> = normal(step, b * 3 * 128, "device/fmnet/y")
            .into_iter()
            .map(|v| 0.5 + 0.1 * v)
            .collect();
        let y = Tensor::<3>::from_data(TensorData::new(y, [b, 3, 128]), device);
        (m.forward(x) - y).powi_scalar(2).mean()
    }
}

/// FMNet on real synthetic batches (`synth.fmnet` from a small fk bank): what its training sees.
struct FmnetSynthCase(quakeline::synth::fmnet::Generator);
impl Case for FmnetSynthCase {
    type M = quakeline::nn::fmnet::Fmnet;
    fn name(&self) -> &'static str {
        "fmnet (synth.fmnet batches)"
    }
    fn model(&self, device: &Device) -> Self::M {
        quakeline::nn::fmnet::Fmnet::new(1, device)
    }
    fn loss(&self, m: &Self::M, step: usize, b: usize, device: &Device) -> Tensor<1> {
        let n = self.0.len();
        let idx: Vec<usize> = (0..b).map(|i| (step * b + i) % n).collect();
        let (x, y) = self.0.batch(&idx);
        let x = Tensor::<3>::from_data(TensorData::new(x, [b, 48, 128]), device);
        let y = Tensor::<3>::from_data(TensorData::new(y, [b, 3, 128]), device);
        (m.forward(x) - y).powi_scalar(2).mean()
    }
}

struct PhaseNetCase;
const PICKER_N: usize = 3001;
impl Case for PhaseNetCase {
    type M = quakeline::nn::phasenet::PhaseNet;
    fn name(&self) -> &'static str {
        "phasenet"
    }
    fn model(&self, device: &Device) -> Self::M {
        quakeline::nn::phasenet::PhaseNet::new(1, device)
    }
    fn loss(&self, m: &Self::M, step: usize, b: usize, device: &Device) -> Tensor<1> {
        let x = Tensor::<3>::from_data(
            TensorData::new(
                normal(step, b * 3 * PICKER_N, "device/picker"),
                [b, 3, PICKER_N],
            ),
            device,
        );
        let y: Vec<f32> = (0..b)
            .flat_map(|i| {
                let p = 500.0 + ((i * 37 + step * 11) % 1500) as f64;
                quakeline::labeling::phase_windows::labels(
                    quakeline::labeling::phase_windows::LabelShape::PHASENET,
                    PICKER_N,
                    p,
                    p + 600.0,
                )
            })
            .collect();
        let y = Tensor::<3>::from_data(TensorData::new(y, [b, 3, PICKER_N]), device);
        <Self::M as Picker>::loss(m.logits(x, &mut Drop::off()), y)
    }
}

/// `steps` Adam steps of batch `b` on `device`: seconds of the first step (kernel compilation,
/// cuDNN autotuning, transfers included), and the loss after every step when `curve` (reading a
/// loss waits for the device) or only after the last.
fn train<C: Case>(
    case: &C,
    device: &Device,
    b: usize,
    steps: usize,
    curve: bool,
) -> (f64, f64, Vec<f32>) {
    let ad = device.clone().autodiff();
    let mut m = case.model(&ad);
    let name = std::env::var("QUAKELINE_BENCH_OPTIMIZER").unwrap_or_else(|_| "adam".into());
    let mut opt = optim::by_name(&name).expect("an optimizer of optim::NAMES");
    let mut losses = Vec::new();
    let t0 = Instant::now();
    let mut first = 0.0;
    for step in 0..steps {
        let loss = case.loss(&m, step, b, &ad);
        if curve || step == 0 || step + 1 == steps {
            losses.push(loss.clone().into_scalar::<f32>());
        }
        let grads = GradientsParams::from_grads(loss.backward(), &m);
        m = opt.step(1e-3, m, grads);
        if step == 0 {
            first = t0.elapsed().as_secs_f64();
        }
    }
    // The last loss read waited for every queued step.
    let rest = t0.elapsed().as_secs_f64() - first;
    // Steps after the first, per second (NaN with a single step).
    let steady = if steps > 1 {
        (steps - 1) as f64 * b as f64 / rest
    } else {
        f64::NAN
    };
    (first, steady, losses)
}

fn check<C: Case>(case: &C, on: &Device, steps: usize) {
    // Loss curves: batch 16, `steps` steps, on the device and on the CPU reference.
    let (_, _, gpu) = train(case, on, 16, steps, true);
    let (_, _, cpu) = train(case, &Device::flex(), 16, steps, true);
    let (g, c) = (gpu[gpu.len() - 1], cpu[cpu.len() - 1]);
    let worst = gpu
        .iter()
        .zip(&cpu)
        .map(|(g, c)| ((g - c) / c).abs())
        .fold(0f32, f32::max);
    println!(
        "{}: loss after {steps} steps, batch 16: device {g:.6}, cpu {c:.6}, relative difference {:.3} % (largest over the curve {:.3} %; first steps device {:?}, cpu {:?})",
        case.name(),
        100.0 * ((g - c) / c).abs(),
        100.0 * worst,
        &gpu[..gpu.len().min(3)],
        &cpu[..cpu.len().min(3)]
    );
    // Throughput: first-step latency and steady samples/s at batch 16 and 256.
    let rate_steps: Vec<usize> = std::env::var("QUAKELINE_BENCH_RATE_STEPS")
        .ok()
        .map(|v| v.split(',').filter_map(|n| n.trim().parse().ok()).collect())
        .filter(|v: &Vec<usize>| v.len() == 2)
        .unwrap_or_else(|| vec![100, 40]);
    for (b, n) in [(16, rate_steps[0]), (256, rate_steps[1])] {
        let (first, steady, _) = train(case, on, b, n, false);
        println!(
            "{}: batch {b}: first step {first:.2} s, steady {steady:.0} samples/s ({n} steps)",
            case.name()
        );
    }
}

fn main() {
    let choice: Choice = std::env::var("QUAKELINE_BENCH_DEVICE")
        .unwrap_or_else(|_| "cuda".into())
        .parse()
        .unwrap_or_else(|e| panic!("QUAKELINE_BENCH_DEVICE: {e}"));
    if let Err(e) = device::choose(choice) {
        eprintln!("{e}");
        std::process::exit(2);
    }
    let on = device::device();
    let steps: usize = std::env::var("QUAKELINE_BENCH_STEPS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(200);
    let models =
        std::env::var("QUAKELINE_BENCH_MODELS").unwrap_or_else(|_| "pm-cnn,fmnet,phasenet".into());
    println!(
        "device {choice} ({}), {} CPU threads for the reference",
        quakeline::machine::describe(),
        rayon::current_num_threads()
    );
    for m in models.split(',') {
        match m.trim() {
            "pm-cnn" => check(&PmCnnCase, &on, steps),
            "fmnet" => check(&FmnetCase, &on, steps),
            "fmnet-synth" => {
                // The repository this runs in (the GPU machine's copy), else the one it was
                // built in: the bank's velocity model is pipelines/models/hk.
                let here = std::env::current_dir().unwrap_or_default();
                let root = if here.join("pipelines/models/hk").exists() {
                    here
                } else {
                    std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                };
                let (g, _) = common::fmnet_set::generator(&root);
                check(&FmnetSynthCase(g), &on, steps)
            }
            "phasenet" => check(&PhaseNetCase, &on, steps),
            other => eprintln!("unknown model `{other}`"),
        }
    }
}
