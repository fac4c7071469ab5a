//! Supervised training of a window classifier: data splits, the epoch loop, evaluation.
//!
//! Follows Petrescu & Moldovan (2022) §3: cross-entropy loss on the softmax output, mini-batches,
//! a random 80/20 split into training and validation data, training and validation loss and
//! accuracy recorded after every epoch (their Fig. 5). A third, held-out test split (never seen
//! during training, nor used to choose anything) is added for `evaluate.classifier`.
//!
//! Everything random — weight initialisation, the split, the order of mini-batches — comes from
//! [`crate::rng::Rng`] streams of the stage seed, and the flex backend computes on the CPU in a
//! fixed order, so a seed gives bit-identical weights and metrics on the same machine.

use burn::module::Module;
use burn::optim::GradientsParams;
use burn::tensor::activation::log_softmax;
use burn::tensor::{Device, Int, Tensor, TensorData};

use super::optim;
use super::pm_cnn::{PmCnn, Shape};
use crate::rng::Rng;

/// Labelled windows held in memory: `x` is `[n, rows, samples]` row-major.
pub struct Windows {
    pub x: Vec<f32>,
    pub labels: Vec<i64>,
    pub shape: Shape,
}

impl Windows {
    pub fn len(&self) -> usize {
        self.labels.len()
    }
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }
    fn batch(&self, idx: &[usize], device: &Device) -> (Tensor<3>, Tensor<1, Int>) {
        let w = self.shape.rows * self.shape.samples;
        let mut x = Vec::with_capacity(idx.len() * w);
        for &i in idx {
            x.extend_from_slice(&self.x[i * w..(i + 1) * w]);
        }
        let xs = Tensor::from_data(
            TensorData::new(x, [idx.len(), self.shape.rows, self.shape.samples]),
            device,
        );
        let ys = Tensor::from_data(
            TensorData::new(idx.iter().map(|&i| self.labels[i]).collect(), [idx.len()]),
            device,
        );
        (xs, ys)
    }
}

/// Which part of the data a window belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(i8)]
pub enum Part {
    Train = 0,
    Validation = 1,
    Test = 2,
}

impl Part {
    pub fn name(self) -> &'static str {
        match self {
            Part::Train => "train",
            Part::Validation => "validation",
            Part::Test => "test",
        }
    }
    pub fn parse(s: &str) -> Option<Part> {
        [Part::Train, Part::Validation, Part::Test]
            .into_iter()
            .find(|p| p.name() == s)
    }
    pub fn from_code(c: i8) -> Option<Part> {
        [Part::Train, Part::Validation, Part::Test]
            .into_iter()
            .find(|p| *p as i8 == c)
    }
}

/// How windows are assigned to parts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SplitMethod {
    /// Uniformly at random, stratified by label (the paper's split).
    Random,
    /// In time order: the earliest windows train, later ones validate, the latest test. Windows
    /// are sorted by start time upstream. The honest setting for forecasting: no window of the
    /// future informs the past, and windows that precede the same earthquake stay together.
    Chronological,
}

/// Assigns each of `labels.len()` windows to a part. Counts are rounded per class (random) or
/// over all (chronological); `validation` and `test` are fractions of the whole.
pub fn split(
    labels: &[i64],
    validation: f64,
    test: f64,
    method: SplitMethod,
    seed: u64,
) -> Vec<Part> {
    let n = labels.len();
    let mut parts = vec![Part::Train; n];
    let assign = |parts: &mut Vec<Part>, idx: &[usize]| {
        let m = idx.len() as f64;
        let n_test = (m * test).round() as usize;
        let n_val = (m * validation).round() as usize;
        // The last `n_test` are test, the `n_val` before them validation.
        for (k, &i) in idx.iter().enumerate() {
            let from_end = idx.len() - k;
            parts[i] = if from_end <= n_test {
                Part::Test
            } else if from_end <= n_test + n_val {
                Part::Validation
            } else {
                Part::Train
            };
        }
    };
    match method {
        SplitMethod::Chronological => {
            let idx: Vec<usize> = (0..n).collect();
            assign(&mut parts, &idx);
        }
        SplitMethod::Random => {
            let mut rng = Rng::new(seed, "nn/train/split");
            let mut classes: Vec<i64> = labels.to_vec();
            classes.sort_unstable();
            classes.dedup();
            for c in classes {
                let mut idx: Vec<usize> = (0..n).filter(|&i| labels[i] == c).collect();
                rng.shuffle(&mut idx);
                assign(&mut parts, &idx);
            }
        }
    }
    parts
}

/// Hyper-parameters of one training run.
#[derive(Clone, Debug)]
pub struct Config {
    pub optimizer: String,
    pub lr: f64,
    pub batch: usize,
    pub epochs: usize,
    pub seed: u64,
    /// Reduce-on-plateau and early stopping; `None`: the fixed learning rate for every epoch.
    pub schedule: Option<Plateau>,
}

/// Keras' `ReduceLROnPlateau` and `EarlyStopping(restore_best_weights=True)` on the validation
/// loss, as Hong et al. (2023) train KFpicker: the learning rate times `factor` after
/// `lr_patience` epochs without improvement (and again after each further `lr_patience`), training
/// stopped after `stop_patience` epochs without improvement, and the weights of the best epoch
/// kept.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Plateau {
    pub lr_patience: usize,
    pub factor: f64,
    pub stop_patience: usize,
}

impl Config {
    /// Optimizer steps a training on `n` windows takes (for progress bars).
    pub fn steps(&self, n: usize) -> usize {
        n.div_ceil(self.batch) * self.epochs
    }
}

/// Mean loss and accuracy over a set of windows.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Score {
    pub loss: f64,
    pub accuracy: f64,
}

/// One row of the training history (Keras' `History`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Epoch {
    /// Mean over the epoch's mini-batches, as the weights changed (what Keras reports).
    pub train: Score,
    /// After the epoch; NaN when there is no validation data.
    pub validation: Score,
    /// The learning rate the epoch trained with.
    pub lr: f64,
}

/// Where training is, for progress bars.
pub struct Tick {
    pub epoch: usize,
    pub epochs: usize,
    pub batch: usize,
    pub batches: usize,
    pub loss: f64,
}

impl Tick {
    /// Optimizer steps done so far, this one included.
    pub fn steps(&self) -> usize {
        (self.epoch - 1) * self.batches + self.batch
    }
}

/// Mean cross-entropy of `logits` against `labels` and the number of correct arg-max predictions.
fn loss_and_correct(logits: Tensor<2>, labels: Tensor<1, Int>) -> (Tensor<1>, usize) {
    let b = labels.dims()[0];
    let correct = logits
        .clone()
        .argmax(1)
        .reshape([b])
        .equal(labels.clone())
        .int()
        .sum()
        .into_scalar::<i64>() as usize;
    let nll = log_softmax(logits, 1)
        .gather(1, labels.reshape([b, 1]))
        .neg()
        .mean();
    (nll.reshape([1]), correct)
}

/// A batch's mean loss (one element, on the autodiff device) and how many of its samples count as
/// right.
pub type BatchLoss = (Tensor<1>, usize);

/// The epoch loop every model shares: each epoch shuffles `train` with the seeded stream `order`,
/// takes one optimizer step per batch of `cfg.batch`, refuses a non-finite loss, ticks, and
/// scores `validation` with `validate` on the validation snapshot (NaN when there is none).
/// `batch_loss` gives a batch (of epoch `e`, counted from 0) its mean loss (one element) and how
/// many of its samples count as right, the numerator of the training accuracy. The learning rate
/// is `cfg.lr` throughout, or follows `cfg.schedule` (which needs validation data). Returns the
/// validation snapshot of the trained model — of the best epoch under a schedule — and one
/// [`Epoch`] per epoch run.
// The two sample lists, the stream name and the two model-specific closures are what differs
// between models; bundling them into a struct would only move the list.
#[allow(clippy::too_many_arguments)]
pub fn epochs<M: Module>(
    cfg: &Config,
    mut model: M,
    train: &[usize],
    validation: &[usize],
    order: &str,
    batch_loss: &mut dyn FnMut(&M, usize, &[usize]) -> BatchLoss,
    validate: &mut dyn FnMut(&M, &[usize]) -> Score,
    tick: &mut dyn FnMut(&Tick),
) -> anyhow::Result<(M, Vec<Epoch>)> {
    anyhow::ensure!(!train.is_empty(), "no training samples");
    let mut optimizer = optim::by_name(&cfg.optimizer)
        .ok_or_else(|| anyhow::anyhow!("unknown optimizer `{}`", cfg.optimizer))?;
    let mut shuffled: Vec<usize> = train.to_vec();
    let mut rng = Rng::new(cfg.seed, order);
    anyhow::ensure!(
        cfg.schedule.is_none() || !validation.is_empty(),
        "no validation samples: the learning-rate schedule and early stopping follow the validation loss"
    );
    let batches = train.len().div_ceil(cfg.batch);
    let mut history = Vec::with_capacity(cfg.epochs);
    let mut lr = cfg.lr;
    let mut best: Option<(f64, M)> = None;
    let mut since_best = 0usize;
    for epoch in 0..cfg.epochs {
        rng.shuffle(&mut shuffled);
        let (mut loss_sum, mut right) = (0.0f64, 0usize);
        for (b, idx) in shuffled.chunks(cfg.batch).enumerate() {
            let (loss, ok) = batch_loss(&model, epoch, idx);
            let value = loss.clone().into_scalar::<f32>() as f64;
            anyhow::ensure!(
                value.is_finite(),
                "the loss became {value} in epoch {} batch {}: the learning rate ({}) is too large for `{}`, or the data hold extreme values",
                epoch + 1,
                b + 1,
                lr,
                cfg.optimizer
            );
            let grads = GradientsParams::from_grads(loss.backward(), &model);
            model = optimizer.step(lr, model, grads);
            loss_sum += value * idx.len() as f64;
            right += ok;
            tick(&Tick {
                epoch: epoch + 1,
                epochs: cfg.epochs,
                batch: b + 1,
                batches,
                loss: value,
            });
        }
        let snapshot = model.valid();
        let validation_score = if validation.is_empty() {
            Score {
                loss: f64::NAN,
                accuracy: f64::NAN,
            }
        } else {
            validate(&snapshot, validation)
        };
        history.push(Epoch {
            train: Score {
                loss: loss_sum / train.len() as f64,
                accuracy: right as f64 / train.len() as f64,
            },
            validation: validation_score,
            lr,
        });
        if let Some(s) = cfg.schedule {
            let v = validation_score.loss;
            if best.as_ref().is_none_or(|(b, _)| v < *b) {
                best = Some((v, snapshot));
                since_best = 0;
            } else {
                since_best += 1;
                if since_best >= s.stop_patience {
                    break;
                }
                if since_best.is_multiple_of(s.lr_patience) {
                    lr *= s.factor;
                }
            }
        }
    }
    Ok(match best {
        Some((_, m)) => (m, history),
        None => (model.valid(), history),
    })
}

/// Trains a fresh `pm-cnn` on windows `train` and scores `validation` after every epoch.
pub fn fit(
    cfg: &Config,
    data: &Windows,
    train: &[usize],
    validation: &[usize],
    device: &Device,
    tick: &mut dyn FnMut(&Tick),
) -> anyhow::Result<(PmCnn, Vec<Epoch>)> {
    let ad = device.clone().autodiff();
    epochs(
        cfg,
        PmCnn::new(data.shape, cfg.seed, device).train(),
        train,
        validation,
        "nn/train/batches",
        &mut |model, _, idx| {
            let (x, y) = data.batch(idx, &ad);
            loss_and_correct(model.forward(x), y)
        },
        &mut |model, idx| score(model, data, idx, cfg.batch, device),
        tick,
    )
}

/// Class probabilities `[n][2]` for windows `idx`, in batches.
pub fn probabilities(
    model: &PmCnn,
    data: &Windows,
    idx: &[usize],
    batch: usize,
    device: &Device,
) -> Vec<[f64; 2]> {
    let mut out = Vec::with_capacity(idx.len());
    for chunk in idx.chunks(batch.max(1)) {
        let (x, _) = data.batch(chunk, device);
        let p: Vec<f32> = model
            .probabilities(x)
            .into_data()
            .try_to_vec::<f32>()
            .expect("f32 probabilities");
        out.extend(p.chunks(2).map(|c| [c[0] as f64, c[1] as f64]));
    }
    out
}

/// Mean cross-entropy and accuracy on windows `idx` (definitions of [`super::metrics`]).
pub fn score(model: &PmCnn, data: &Windows, idx: &[usize], batch: usize, device: &Device) -> Score {
    let p = probabilities(model, data, idx, batch, device);
    let labels: Vec<i64> = idx.iter().map(|&i| data.labels[i]).collect();
    let m = super::metrics::classify(&p, &labels);
    Score {
        loss: m.loss,
        accuracy: m.accuracy,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_split_is_stratified_and_seeded() {
        let labels: Vec<i64> = (0..100).map(|i| i64::from(i % 4 == 0)).collect();
        let a = split(&labels, 0.2, 0.2, SplitMethod::Random, 7);
        assert_eq!(a, split(&labels, 0.2, 0.2, SplitMethod::Random, 7));
        assert_ne!(a, split(&labels, 0.2, 0.2, SplitMethod::Random, 8));
        for (c, n) in [(0, 75), (1, 25)] {
            let count = |p| (0..100).filter(|&i| labels[i] == c && a[i] == p).count();
            assert_eq!(count(Part::Test), (n as f64 * 0.2).round() as usize);
            assert_eq!(count(Part::Validation), (n as f64 * 0.2).round() as usize);
        }
    }

    #[test]
    fn chronological_split_keeps_time_order() {
        let a = split(&[0; 10], 0.2, 0.3, SplitMethod::Chronological, 1);
        use Part::*;
        assert_eq!(
            a,
            [
                Train, Train, Train, Train, Train, Validation, Validation, Test, Test, Test
            ]
        );
    }

    /// A separable toy problem: the network must learn it, deterministically.
    #[test]
    fn learns_a_separable_problem_bit_identically() {
        let shape = Shape {
            rows: 3,
            samples: 16,
        };
        let mut rng = Rng::new(3, "test");
        let n = 64;
        let mut x = Vec::new();
        let labels: Vec<i64> = (0..n).map(|i| (i % 2) as i64).collect();
        for &y in &labels {
            for _ in 0..48 {
                x.push((rng.normal() * 0.3 + if y == 1 { 0.8 } else { -0.8 }) as f32);
            }
        }
        let data = Windows { x, labels, shape };
        let cfg = Config {
            optimizer: "adam".into(),
            lr: 1e-3,
            batch: 8,
            epochs: 5,
            seed: 1,
            schedule: None,
        };
        let device = Device::flex();
        let train: Vec<usize> = (0..48).collect();
        let val: Vec<usize> = (48..64).collect();
        let run = || fit(&cfg, &data, &train, &val, &device, &mut |_| {}).unwrap();
        let (m1, h1) = run();
        let (m2, h2) = run();
        assert_eq!(h1, h2);
        assert!(h1.last().unwrap().validation.accuracy == 1.0, "{h1:?}");
        assert!(h1.last().unwrap().train.loss < h1[0].train.loss);
        let w = |m: &PmCnn| {
            m.dense1
                .weight
                .val()
                .into_data()
                .try_to_vec::<f32>()
                .unwrap()
        };
        assert_eq!(w(&m1), w(&m2));
    }
}
