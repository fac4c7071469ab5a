//! What the U-Net phase pickers ([`super::phasenet`], [`super::r2unet`]) share: their building
//! blocks, the loss, seeded dropout, and training on a labelled waveform set.
//!
//! Both map a normalised 3-component window `[batch, 3 (Z, N, E), samples]` to logits
//! `[batch, 3 (noise, P, S), samples]`; the softmax over the three classes is the probability of
//! each sample being noise, the P onset or the S onset (Zhu & Beroza 2019, GJI 216:261,
//! doi:10.1093/gji/ggy423). The loss is PhaseNet's: cross-entropy between the softmax and the
//! label curves, averaged over samples and windows.
//!
//! Down-sampling is a stride-4 convolution with TensorFlow's "same" padding (output
//! `ceil(n / 4)`, the padding split with the extra sample after), which burn's
//! `PaddingConfig1d::Same` computes the same way; up-sampling output is centre-cropped to the skip
//! connection's length, as both published codes do, so any input length works.

use super::LayerRow;
use burn::module::Module;
use burn::nn::conv::{Conv1d, Conv1dConfig};
use burn::nn::{BatchNorm, BatchNormConfig, PaddingConfig1d};
use burn::tensor::activation::{log_softmax, relu, softmax};
use burn::tensor::{Device, Tensor, TensorData};

use super::pm_cnn::{glorot, param};
use crate::rng::Rng;

/// Output classes: noise, P, S.
pub const CLASSES: usize = 3;

/// Dropout whose masks come from a seeded [`Rng`] (burn's own dropout draws from one global
/// generator per process, which concurrent trainings would share): the same seed and batch give
/// the same masks whatever runs alongside. Off at inference.
pub struct Drop {
    rng: Option<Rng>,
    p: f64,
}

impl Drop {
    /// No dropout (inference, or a rate of 0).
    pub fn off() -> Drop {
        Drop { rng: None, p: 0.0 }
    }

    /// Rate `p` with masks from `rng`.
    pub fn new(p: f64, rng: Rng) -> Drop {
        Drop {
            rng: (p > 0.0).then_some(rng),
            p,
        }
    }

    /// `x` with each element zeroed with probability `p` and the rest scaled by `1 / (1 − p)`.
    pub fn apply(&mut self, x: Tensor<3>) -> Tensor<3> {
        let Some(rng) = self.rng.as_mut() else {
            return x;
        };
        let dims = x.dims();
        let keep = (1.0 / (1.0 - self.p)) as f32;
        let n = dims.iter().product::<usize>();
        let mask: Vec<f32> = (0..n)
            .map(|_| if rng.uniform() < self.p { 0.0 } else { keep })
            .collect();
        let device = x.device();
        x * Tensor::<3>::from_data(TensorData::new(mask, dims), &device)
    }
}

/// How a convolution's kernel is initialised.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Init {
    /// Glorot/Xavier uniform (TensorFlow's `VarianceScaling(1, fan_avg, uniform)`, PhaseNet).
    Glorot,
    /// He uniform (`he_uniform`, the ARRU code).
    He,
}

/// A 1-D convolution `[cout, cin, k]` with TensorFlow "same" padding.
pub fn conv(
    rng: &mut Rng,
    [cin, cout]: [usize; 2],
    k: usize,
    stride: usize,
    bias: bool,
    init: Init,
    device: &Device,
) -> Conv1d {
    let mut c = Conv1dConfig::new(cin, cout, k)
        .with_stride(stride)
        .with_padding(PaddingConfig1d::Same)
        .with_bias(bias)
        .init(device);
    let n = cout * cin * k;
    let w = match init {
        Init::Glorot => glorot(rng, n, cin * k, cout * k),
        Init::He => {
            let a = (6.0 / (cin * k) as f64).sqrt();
            (0..n)
                .map(|_| ((rng.uniform() * 2.0 - 1.0) * a) as f32)
                .collect()
        }
    };
    c.weight = param(w, [cout, cin, k], device);
    c.bias = bias.then(|| param(vec![0.0; cout], [cout], device));
    c
}

/// Batch normalisation with TensorFlow's ε = 1e-3. The running statistics follow each batch
/// with momentum 0.1 (PyTorch's default; TensorFlow's 0.99 would take ~300 batches to forget the
/// initial statistics, longer than a fine-tuning on a few hundred traces runs).
pub fn norm(channels: usize, device: &Device) -> BatchNorm {
    BatchNormConfig::new(channels)
        .with_epsilon(1e-3)
        .with_momentum(0.1)
        .init(device)
}

/// Convolution → batch norm → ReLU → dropout: the unit both pickers are made of.
#[derive(Module, Debug)]
pub struct ConvUnit {
    pub conv: Conv1d,
    pub norm: BatchNorm,
}

impl ConvUnit {
    pub fn new(
        rng: &mut Rng,
        [cin, cout]: [usize; 2],
        k: usize,
        stride: usize,
        bias: bool,
        init: Init,
        device: &Device,
    ) -> ConvUnit {
        ConvUnit {
            conv: conv(rng, [cin, cout], k, stride, bias, init, device),
            norm: norm(cout, device),
        }
    }

    pub fn forward(&self, x: Tensor<3>, drop: &mut Drop) -> Tensor<3> {
        drop.apply(relu(self.norm.forward(self.conv.forward(x))))
    }

    /// Trainable parameters: kernel, bias, γ and β.
    pub fn parameters(&self) -> usize {
        let [cout, cin, k] = self.conv.weight.dims();
        cout * cin * k + if self.conv.bias.is_some() { cout } else { 0 } + 2 * cout
    }
}

/// The middle `len` samples of `x` (`[batch, channels, n ≥ len]`), the extra sample of an odd
/// difference cut at the end (both published codes: offset `(n − len) / 2`).
pub fn crop(x: Tensor<3>, len: usize) -> Tensor<3> {
    let n = x.dims()[2];
    debug_assert!(n >= len, "crop {n} to {len}");
    if n == len {
        return x;
    }
    x.narrow(2, (n - len) / 2, len)
}

/// A phase picker as training and evaluation see it: a network of windows `[batch, 3, samples]`
/// to one curve per class and sample. The defaults are PhaseNet's (Zhu & Beroza 2019,
/// doi:10.1093/gji/ggy423): classes (noise, P, S), softmax over them, cross-entropy; a network
/// with other outputs (EQTransformer's sigmoid detection, P and S) overrides them.
pub trait Picker: Module + Clone {
    /// Module path of the output convolution (recorded as what stays trainable).
    const OUTPUT: &'static str;
    /// The output curves, in order.
    const CLASSES: &'static [&'static str] = &["noise", "P", "S"];
    /// A fresh network with weights drawn from `seed`.
    fn new(seed: u64, device: &Device) -> Self;
    /// Logits `[batch, classes, samples]` of normalised windows `[batch, 3, samples]`.
    fn logits(&self, x: Tensor<3>, drop: &mut Drop) -> Tensor<3>;
    /// Every parameter and batch-norm statistic frozen except the output convolution's
    /// (fine-tuning the last layer, Hong et al. 2023).
    fn freeze_body(self) -> Self;
    /// The layer table for windows of `samples` (`quakeline model summary`).
    fn layers(&self, samples: usize) -> Vec<LayerRow>;
    /// Probabilities `[batch, classes, samples]`: softmax over the classes.
    fn probabilities(&self, x: Tensor<3>) -> Tensor<3> {
        softmax(self.logits(x, &mut Drop::off()), 1)
    }
    /// Mean cross-entropy between the softmax of `logits` and label curves `y` (PhaseNet's
    /// `softmax_cross_entropy_with_logits`, averaged over samples and windows); one element.
    fn loss(logits: Tensor<3>, y: Tensor<3>) -> Tensor<1> {
        let [b, _, n] = y.dims();
        let per = (log_softmax(logits, 1) * y).sum_dim(1).neg();
        per.sum().reshape([1]) / (b * n) as f32
    }
}

/// Probabilities of `n` windows `[n, 3, samples]` (flat, normalised) in batches of `batch`.
pub fn predict<M: Picker>(
    m: &M,
    x: &[f32],
    samples: usize,
    batch: usize,
    device: &Device,
) -> Vec<f32> {
    let per = 3 * samples;
    let mut out = Vec::with_capacity(x.len());
    for chunk in x.chunks(per * batch.max(1)) {
        let b = chunk.len() / per;
        let t = Tensor::<3>::from_data(TensorData::new(chunk.to_vec(), [b, 3, samples]), device);
        out.extend(
            m.probabilities(t)
                .into_data()
                .convert::<f32>()
                .try_to_vec::<f32>()
                .expect("f32 probabilities"),
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dropout_is_seeded_and_scales_what_it_keeps() {
        let dev = Device::flex();
        let x = || Tensor::<3>::from_data(TensorData::new(vec![1f32; 2000], [1, 2, 1000]), &dev);
        let run = |seed| {
            Drop::new(0.1, Rng::new(seed, "t"))
                .apply(x())
                .into_data()
                .try_to_vec::<f32>()
                .unwrap()
        };
        let a = run(1);
        assert_eq!(a, run(1));
        assert_ne!(a, run(2));
        let zeros = a.iter().filter(|v| **v == 0.0).count();
        assert!((150..250).contains(&zeros), "{zeros}");
        assert!(a.iter().all(|v| *v == 0.0 || (*v - 1.0 / 0.9).abs() < 1e-6));
        assert_eq!(
            Drop::off()
                .apply(x())
                .into_data()
                .try_to_vec::<f32>()
                .unwrap(),
            vec![1f32; 2000]
        );
    }

    /// The loss is the cross-entropy of the softmax, computed here by hand for one sample.
    #[test]
    fn loss_is_the_mean_cross_entropy() {
        let dev = Device::flex();
        let logits = Tensor::<3>::from_data(
            TensorData::new(vec![1f32, 0.0, 2.0, -1.0, 0.5, 0.5], [1, 3, 2]),
            &dev,
        );
        let y = Tensor::<3>::from_data(
            TensorData::new(vec![1f32, 0.2, 0.0, 0.8, 0.0, 0.0], [1, 3, 2]),
            &dev,
        );
        let got =
            <crate::nn::phasenet::PhaseNet as Picker>::loss(logits, y).into_scalar::<f32>() as f64;
        let lse = |v: [f64; 3]| v.iter().map(|x| x.exp()).sum::<f64>().ln();
        let s0 = -(1.0 - lse([1.0, 2.0, 0.5]));
        let s1 = -(0.2 * (0.0 - lse([0.0, -1.0, 0.5])) + 0.8 * (-1.0 - lse([0.0, -1.0, 0.5])));
        assert!((got - (s0 + s1) / 2.0).abs() < 1e-6, "{got}");
    }

    #[test]
    fn crop_takes_the_middle_with_the_odd_sample_at_the_end() {
        let dev = Device::flex();
        let x = Tensor::<3>::from_data(
            TensorData::new((0..7).map(|v| v as f32).collect::<Vec<_>>(), [1, 1, 7]),
            &dev,
        );
        let v = crop(x, 4).into_data().try_to_vec::<f32>().unwrap();
        assert_eq!(v, [1.0, 2.0, 3.0, 4.0]);
    }
}
