//! FMNet (Kuang et al. 2021, Fig. 6 and Methods; layer facts from the authors' Keras code): a
//! fully convolutional encoder–decoder from 3-component waveforms of 16 stations `[1, 48, 128]`
//! to three Gaussian curves `[3, 128]` (strike, dip, rake).
//!
//! | part    | layers                                                                  | output        |
//! |---------|-------------------------------------------------------------------------|---------------|
//! | encoder | 5 × [Conv2D(64, 3×3, same) → MaxPool (2,2)…(2,2),(3,2) → LeakyReLU(0.2) → BN] | 64 × 1 × 4 |
//! |         | 2 × [Conv2D(128, 1×3, same) → MaxPool (1,2) → LeakyReLU(0.2) → BN]      | 128 × 1 × 1 (the code) |
//! | decoder | Conv2D(128, 1×1) and Conv2D(1×3) with 128, 64, 64, 64, 32, 32 channels, each → UpSampling (1,2) → LeakyReLU(0.2) → BN | 32 × 1 × 128 |
//! |         | Conv2D(16, 1×3) → LeakyReLU(0.2) → BN; Conv2D(3, 1×3), linear           | 3 × 1 × 128   |
//!
//! 16 trainable convolutions. The loss is the mean squared error against the label curves
//! (Adam, lr 1e-3, batch 16 in the paper). The encoder output (128 numbers) is the feature
//! vector of the paper's Fig. 4–5 ([`Fmnet::encode`]). Initialisation as in Keras (Glorot-uniform
//! kernels, zero biases, BN γ = 1, β = 0) from the seeded [`Rng`].

use burn::module::Module;
use burn::nn::conv::Conv2d;
use burn::nn::pool::{MaxPool2d, MaxPool2dConfig};
use burn::nn::{BatchNorm, BatchNormConfig, PaddingConfig2d};
use burn::tensor::activation::leaky_relu;
use burn::tensor::{Device, Tensor, TensorData};

use super::LayerRow;
use super::pm_cnn::conv;
use crate::rng::Rng;

/// Input rows (3 components × 16 stations) and samples.
pub const ROWS: usize = 48;
pub const SAMPLES: usize = 128;
/// Length of the code the encoder exports.
pub const CODE: usize = 128;

const ENCODER_POOLS: [[usize; 2]; 7] = [[2, 2], [2, 2], [2, 2], [2, 2], [3, 2], [1, 2], [1, 2]];
const DECODER_CHANNELS: [usize; 7] = [128, 128, 64, 64, 64, 32, 32];

#[derive(Module, Debug)]
pub struct Block {
    pub conv: Conv2d,
    pub norm: BatchNorm,
}

#[derive(Module, Debug)]
pub struct Fmnet {
    pub encoder: Vec<Block>,
    pub pools: Vec<MaxPool2d>,
    pub decoder: Vec<Block>,
    pub head: Block,
    pub out: Conv2d,
}

fn block(rng: &mut Rng, cin: usize, cout: usize, k: [usize; 2], device: &Device) -> Block {
    let pad = PaddingConfig2d::Explicit(k[0] / 2, k[1] / 2, k[0] / 2, k[1] / 2);
    Block {
        conv: conv(rng, [cin, cout], k, pad, device),
        norm: BatchNormConfig::new(cout)
            .with_momentum(0.1)
            .with_epsilon(1e-3)
            .init(device),
    }
}

impl Fmnet {
    pub fn new(seed: u64, device: &Device) -> Fmnet {
        let mut rng = Rng::new(seed, "nn/fmnet/init");
        let mut encoder = Vec::new();
        let mut cin = 1;
        for i in 0..7 {
            let (cout, k) = if i < 5 { (64, [3, 3]) } else { (128, [1, 3]) };
            encoder.push(block(&mut rng, cin, cout, k, device));
            cin = cout;
        }
        let pools = ENCODER_POOLS
            .iter()
            .map(|&p| MaxPool2dConfig::new(p).with_strides(p).init())
            .collect();
        let mut decoder = Vec::new();
        for (i, &cout) in DECODER_CHANNELS.iter().enumerate() {
            let k = if i == 0 { [1, 1] } else { [1, 3] };
            decoder.push(block(&mut rng, cin, cout, k, device));
            cin = cout;
        }
        let head = block(&mut rng, cin, 16, [1, 3], device);
        let out = conv(
            &mut rng,
            [16, 3],
            [1, 3],
            PaddingConfig2d::Explicit(0, 1, 0, 1),
            device,
        );
        Fmnet {
            encoder,
            pools,
            decoder,
            head,
            out,
        }
    }

    /// The 128-number code of waveforms `[batch, 48, 128]`.
    pub fn encode(&self, x: Tensor<3>) -> Tensor<2> {
        let [b, r, l] = x.dims();
        let mut x = x.reshape([b, 1, r, l]);
        for (blk, pool) in self.encoder.iter().zip(&self.pools) {
            x = blk
                .norm
                .forward(leaky_relu(pool.forward(blk.conv.forward(x)), 0.2));
        }
        let [b, c, h, w] = x.dims();
        x.reshape([b, c * h * w])
    }

    /// Label curves `[batch, 3, 128]`.
    pub fn forward(&self, x: Tensor<3>) -> Tensor<3> {
        let code = self.encode(x);
        let [b, c] = code.dims();
        let mut x = code.reshape([b, c, 1, 1]);
        for blk in &self.decoder {
            let y = blk.conv.forward(x);
            let [b, c, h, w] = y.dims();
            // UpSampling2D((1, 2)): every sample repeated twice along time.
            let y = y
                .reshape([b, c, h, w, 1])
                .repeat_dim(4, 2)
                .reshape([b, c, h, 2 * w]);
            x = blk.norm.forward(leaky_relu(y, 0.2));
        }
        let x = self
            .head
            .norm
            .forward(leaky_relu(self.head.conv.forward(x), 0.2));
        let y = self.out.forward(x);
        let [b, c, _, w] = y.dims();
        y.reshape([b, c, w])
    }
}

/// Every parameter and running statistic with its PyTorch-style path (`encoder.0.conv.weight`,
/// `encoder.0.norm.running_var`, …), shape and values ([`super::weights::named`]).
pub fn tensors(m: &Fmnet) -> Vec<(String, Vec<usize>, Vec<f32>)> {
    super::weights::named(m)
}

/// Rebuilds a network from the [`tensors`] stored in `group` by `weights::write_tensors`.
pub fn read(group: &hdf5::Group, device: &Device) -> anyhow::Result<Fmnet> {
    super::weights::load_named(Fmnet::new(0, device), group)
}

/// The layer table of the network as built: one row per convolution block (Keras' summary with
/// each block's conv, pooling/upsampling and BN together), kernel sizes and channels read from the
/// modules themselves, output shapes `[channels, rows, samples]` for the `[48, 128]` input.
pub fn layers(m: &Fmnet) -> Vec<LayerRow> {
    let conv_row = |name: String, kind, c: &Conv2d, bn: bool, activation, output: Vec<usize>| {
        let [cout, cin, kh, kw] = c.weight.dims();
        LayerRow {
            name,
            kind,
            filters: cout.to_string(),
            window: format!("{kh}x{kw}"),
            activation,
            output,
            parameters: cout * cin * kh * kw + cout + if bn { 2 * cout } else { 0 },
        }
    };
    let (mut h, mut w) = (ROWS, SAMPLES);
    let mut rows = Vec::new();
    for (i, (b, p)) in m.encoder.iter().zip(ENCODER_POOLS).enumerate() {
        (h, w) = (h / p[0], w / p[1]);
        let c = b.conv.weight.dims()[0];
        rows.push(conv_row(
            format!("encoder.{i}"),
            "conv-pool-bn",
            &b.conv,
            true,
            "LeakyReLU",
            vec![c, h, w],
        ));
    }
    for (i, b) in m.decoder.iter().enumerate() {
        w *= 2;
        let c = b.conv.weight.dims()[0];
        rows.push(conv_row(
            format!("decoder.{i}"),
            "conv-up-bn",
            &b.conv,
            true,
            "LeakyReLU",
            vec![c, h, w],
        ));
    }
    let c = m.head.conv.weight.dims()[0];
    rows.push(conv_row(
        "head".into(),
        "conv-bn",
        &m.head.conv,
        true,
        "LeakyReLU",
        vec![c, h, w],
    ));
    rows.push(conv_row(
        "out".into(),
        "conv",
        &m.out,
        false,
        "linear",
        vec![3, w],
    ));
    rows
}

/// Trainable parameters (convolutions and BN γ, β): the sum of the [`layers`] table.
pub fn parameter_count(m: &Fmnet) -> usize {
    layers(m).iter().map(|l| l.parameters).sum()
}

// ---- training ----------------------------------------------------------------------------

use super::train::{Config, Epoch, Score, Tick};
use crate::synth::fmnet::Generator;

fn tensor3(v: Vec<f32>, shape: [usize; 3], device: &Device) -> Tensor<3> {
    Tensor::from_data(TensorData::new(v, shape), device)
}

/// `n` waveforms `[n, 48, 128]` as a network input on `device`.
pub fn input(x: Vec<f32>, n: usize, device: &Device) -> Tensor<3> {
    tensor3(x, [n, ROWS, SAMPLES], device)
}

fn to_vec<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    t.into_data()
        .convert::<f32>()
        .try_to_vec::<f32>()
        .expect("f32 tensor")
}

/// Label curves `[n, 3, 128]` (flat) of `n` prepared waveforms `[n, 48, 128]` (flat, already
/// normalised as in training): real events and `quakeline predict`.
pub fn predict_waveforms(m: &Fmnet, x: Vec<f32>, n: usize, device: &Device) -> Vec<f32> {
    to_vec(m.forward(input(x, n, device)))
}

/// `f` applied to the generated waveforms of `idx` in batches, outputs concatenated.
fn over_batches(
    g: &Generator,
    idx: &[usize],
    batch_size: usize,
    device: &Device,
    f: impl Fn(Tensor<3>) -> Tensor<2>,
) -> Vec<f32> {
    let mut out = Vec::new();
    for chunk in idx.chunks(batch_size.max(1)) {
        let (x, _) = g.batch(chunk);
        out.extend(to_vec(f(tensor3(
            x,
            [chunk.len(), g.rows(), g.processing.window],
            device,
        ))));
    }
    out
}

/// Encoder codes `[n][CODE]` of samples `idx` (the paper's Fig. 4–5 feature space).
pub fn encode_samples(
    m: &Fmnet,
    g: &Generator,
    idx: &[usize],
    batch_size: usize,
    device: &Device,
) -> Vec<f32> {
    over_batches(g, idx, batch_size, device, |x| m.encode(x))
}

/// How many predictions lie within 20° Kagan angle of the truth (the FMNet code's "good").
fn good_count(g: &Generator, idx: &[usize], curves: &[f32]) -> usize {
    let per = 3 * g.labels.bins;
    idx.iter()
        .zip(curves.chunks(per))
        .filter(|(i, c)| {
            let (_, truth) = g.source(**i);
            crate::focal::kagan_angle(&g.labels.decode(c), &truth) <= 20.0
        })
        .count()
}

/// Label curves `[n][3·bins]` predicted for samples `idx`.
pub fn predict(
    m: &Fmnet,
    g: &Generator,
    idx: &[usize],
    batch_size: usize,
    device: &Device,
) -> Vec<f32> {
    over_batches(g, idx, batch_size, device, |x| {
        let y = m.forward(x);
        let [b, c, w] = y.dims();
        y.reshape([b, c * w])
    })
}

/// MSE and the fraction within 20° Kagan angle on samples `idx`.
pub fn score(m: &Fmnet, g: &Generator, idx: &[usize], batch_size: usize, device: &Device) -> Score {
    let curves = predict(m, g, idx, batch_size, device);
    let mut truth = vec![0f32; 3 * g.labels.bins];
    let mut se = 0.0f64;
    for (i, c) in idx.iter().zip(curves.chunks(truth.len())) {
        let (_, mech) = g.source(*i);
        g.labels.encode(&mech, &mut truth);
        se += c
            .iter()
            .zip(&truth)
            .map(|(a, b)| ((a - b) as f64).powi(2))
            .sum::<f64>();
    }
    Score {
        loss: se / curves.len().max(1) as f64,
        accuracy: good_count(g, idx, &curves) as f64 / idx.len().max(1) as f64,
    }
}

/// Trains a fresh FMNet on the generator's training samples (MSE against the label curves) and
/// scores its validation samples after every epoch; the training accuracy is the fraction within
/// 20° Kagan angle, as [`score`]'s.
pub fn fit(
    cfg: &Config,
    g: &Generator,
    device: &Device,
    tick: &mut dyn FnMut(&Tick),
) -> anyhow::Result<(Fmnet, Vec<Epoch>)> {
    use crate::synth::fmnet::Part;
    let train: Vec<usize> = g.indices(Part::Train).collect();
    let validation: Vec<usize> = g.indices(Part::Validation).collect();
    let ad = device.clone().autodiff();
    super::train::epochs(
        cfg,
        Fmnet::new(cfg.seed, device).train(),
        &train,
        &validation,
        "nn/fmnet/batches",
        &mut |model, _, idx| {
            let (x, y) = g.batch(idx);
            let x = tensor3(x, [idx.len(), g.rows(), g.processing.window], &ad);
            let y = tensor3(y, [idx.len(), 3, g.labels.bins], &ad);
            let pred = model.forward(x);
            let loss = (pred.clone() - y).powi_scalar(2).mean();
            (loss, good_count(g, idx, &to_vec(pred)))
        },
        &mut |model, idx| score(model, g, idx, cfg.batch.max(64), device),
        tick,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_code_and_conv_count() {
        let dev = super::super::device();
        let m = Fmnet::new(1, &dev);
        let x = Tensor::<3>::from_data(
            TensorData::new(vec![0.1f32; 2 * ROWS * SAMPLES], [2, ROWS, SAMPLES]),
            &dev,
        );
        assert_eq!(m.encode(x.clone()).dims(), [2, CODE]);
        assert_eq!(m.forward(x).dims(), [2, 3, SAMPLES]);
        let convs = tensors(&m)
            .iter()
            .filter(|(n, _, _)| n.ends_with("conv.weight") || n == "out.weight")
            .count();
        assert_eq!(convs, 16);
        // PyTorch state_dict names, as entries written before the generic naming hold them.
        let names: Vec<String> = tensors(&m).into_iter().map(|(n, _, _)| n).collect();
        assert_eq!(names.len(), 16 * 2 + 15 * 4);
        for n in [
            "encoder.0.conv.weight",
            "encoder.6.norm.running_var",
            "decoder.0.norm.bias",
            "head.norm.weight",
            "out.bias",
        ] {
            assert!(names.iter().any(|x| x == n), "{n}: {names:?}");
        }
    }
}
