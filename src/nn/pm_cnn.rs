//! `pm-cnn`: the convolutional classifier of Petrescu & Moldovan (2022), Table 2, layer for layer.
//!
//! A window of three magnetic components is a one-channel image of 3 rows × L samples:
//!
//! | layer      | filters | window | padding | activation | output        | parameters (L = 10,080) |
//! |------------|---------|--------|---------|------------|---------------|-------------------------|
//! | Conv2D     | 32      | 3×3    | same    | ReLU       | 32 × 3 × L    | 320                     |
//! | MaxPooling | –       | 1×2    | –       | –          | 32 × 3 × L/2  | 0                       |
//! | Conv2D     | 64      | 1×3    | same    | ReLU       | 64 × 3 × L/2  | 6,208                   |
//! | MaxPooling | –       | 1×2    | –       | –          | 64 × 3 × L/4  | 0                       |
//! | Conv2D     | 64      | 1×3    | same    | ReLU       | 64 × 3 × L/4  | 12,352                  |
//! | Flatten    | –       | –      | –       | –          | 192 · L/4     | 0                       |
//! | Dense      | 64      | –      | –       | ReLU       | 64            | 30,965,824              |
//! | Dense      | 2       | –      | –       | softmax    | 2             | 130                     |
//!
//! 30,984,834 trainable parameters at L = 10,080 (one week of 1-minute data), as published.
//! Table 2 prints "Softmax" on the Dense-64 row and nothing on the Dense-2 row; the text (§3) says
//! every layer uses ReLU and the last one softmax, which is what is built here. Pooling floors odd
//! lengths, as Keras' `MaxPooling2D` does.
//!
//! The network returns logits; the softmax is applied by the loss (log-softmax, numerically
//! stable) and by [`PmCnn::probabilities`]. Weights start as in Keras (the paper's framework):
//! Glorot-uniform kernels and zero biases, drawn from the seeded [`crate::rng::Rng`] so that a seed
//! gives the same network on every machine and every burn version.
//!
//! Parameter names and layouts follow PyTorch (`conv1.weight` `[out, in, kh, kw]`,
//! `dense1.weight` `[out, in]`), so the HDF5 weights load into an equivalent `torch.nn.Module`
//! with `load_state_dict` (see [`crate::nn::weights`]).

use burn::module::{Module, Param};
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::pool::{MaxPool2d, MaxPool2dConfig};
use burn::nn::{Linear, LinearConfig, PaddingConfig2d};
use burn::tensor::activation::{relu, softmax};
use burn::tensor::{Device, Tensor, TensorData};

use super::LayerRow;
use crate::rng::Rng;

/// Input geometry of the network: components (image rows) × samples.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shape {
    pub rows: usize,
    pub samples: usize,
}

impl Shape {
    /// Samples after the two 1×2 poolings (floor, like Keras).
    pub fn pooled(&self) -> usize {
        self.samples / 2 / 2
    }
    pub fn flat(&self) -> usize {
        64 * self.rows * self.pooled()
    }
}

#[derive(Module, Debug)]
pub struct PmCnn {
    pub conv1: Conv2d,
    pub pool1: MaxPool2d,
    pub conv2: Conv2d,
    pub pool2: MaxPool2d,
    pub conv3: Conv2d,
    pub dense1: Linear,
    pub dense2: Linear,
}

/// The layer table of Table 2 for an input shape, with parameter counts.
pub fn layers(s: Shape) -> Vec<LayerRow> {
    let (r, l) = (s.rows, s.samples);
    let row = |name: &str,
               kind,
               filters: &str,
               window: &str,
               activation,
               output: Vec<usize>,
               parameters| LayerRow {
        name: name.to_string(),
        kind,
        filters: filters.to_string(),
        window: window.to_string(),
        activation,
        output,
        parameters,
    };
    vec![
        row(
            "conv1",
            "Conv2D",
            "32",
            "3x3",
            "ReLU",
            vec![32, r, l],
            32 * 9 + 32,
        ),
        row(
            "pool1",
            "MaxPooling",
            "-",
            "1x2",
            "-",
            vec![32, r, l / 2],
            0,
        ),
        row(
            "conv2",
            "Conv2D",
            "64",
            "1x3",
            "ReLU",
            vec![64, r, l / 2],
            64 * 32 * 3 + 64,
        ),
        row(
            "pool2",
            "MaxPooling",
            "-",
            "1x2",
            "-",
            vec![64, r, s.pooled()],
            0,
        ),
        row(
            "conv3",
            "Conv2D",
            "64",
            "1x3",
            "ReLU",
            vec![64, r, s.pooled()],
            64 * 64 * 3 + 64,
        ),
        row("flatten", "Flatten", "-", "-", "-", vec![s.flat()], 0),
        row(
            "dense1",
            "Dense",
            "64",
            "-",
            "ReLU",
            vec![64],
            s.flat() * 64 + 64,
        ),
        row("dense2", "Dense", "2", "-", "softmax", vec![2], 64 * 2 + 2),
    ]
}

/// Trainable parameters of the network for an input shape.
pub fn parameter_count(s: Shape) -> usize {
    layers(s).iter().map(|l| l.parameters).sum()
}

/// Glorot-uniform values (Keras' default kernel initializer): U(−a, a), a = √(6 / (fan_in + fan_out)).
pub(crate) fn glorot(rng: &mut Rng, n: usize, fan_in: usize, fan_out: usize) -> Vec<f32> {
    let a = (6.0 / (fan_in + fan_out) as f64).sqrt();
    (0..n)
        .map(|_| ((rng.uniform() * 2.0 - 1.0) * a) as f32)
        .collect()
}

pub(crate) fn param<const D: usize>(
    values: Vec<f32>,
    shape: [usize; D],
    device: &Device,
) -> Param<Tensor<D>> {
    Param::from_tensor(Tensor::from_data(TensorData::new(values, shape), device))
}

pub(crate) fn conv(
    rng: &mut Rng,
    [cin, cout]: [usize; 2],
    [kh, kw]: [usize; 2],
    padding: PaddingConfig2d,
    device: &Device,
) -> Conv2d {
    let mut c = Conv2dConfig::new([cin, cout], [kh, kw])
        .with_padding(padding)
        .init(device);
    let n = cout * cin * kh * kw;
    c.weight = param(
        glorot(rng, n, cin * kh * kw, cout * kh * kw),
        [cout, cin, kh, kw],
        device,
    );
    c.bias = Some(param(vec![0.0; cout], [cout], device));
    c
}

fn dense(rng: &mut Rng, din: usize, dout: usize, device: &Device) -> Linear {
    let mut d = LinearConfig::new(din, dout).init(device);
    // burn stores [d_input, d_output]; drawn in that order.
    d.weight = param(glorot(rng, din * dout, din, dout), [din, dout], device);
    d.bias = Some(param(vec![0.0; dout], [dout], device));
    d
}

impl PmCnn {
    /// A freshly initialised network for `shape`, weights from `seed`.
    pub fn new(shape: Shape, seed: u64, device: &Device) -> PmCnn {
        let mut rng = Rng::new(seed, "nn/pm-cnn/init");
        let pool = || MaxPool2dConfig::new([1, 2]).with_strides([1, 2]).init();
        PmCnn {
            conv1: conv(
                &mut rng,
                [1, 32],
                [3, 3],
                PaddingConfig2d::Explicit(1, 1, 1, 1),
                device,
            ),
            pool1: pool(),
            conv2: conv(
                &mut rng,
                [32, 64],
                [1, 3],
                PaddingConfig2d::Explicit(0, 1, 0, 1),
                device,
            ),
            pool2: pool(),
            conv3: conv(
                &mut rng,
                [64, 64],
                [1, 3],
                PaddingConfig2d::Explicit(0, 1, 0, 1),
                device,
            ),
            dense1: dense(&mut rng, shape.flat(), 64, device),
            dense2: dense(&mut rng, 64, 2, device),
        }
    }

    /// Logits `[batch, 2]` for windows `[batch, rows, samples]`.
    pub fn forward(&self, x: Tensor<3>) -> Tensor<2> {
        let [b, r, l] = x.dims();
        let x = x.reshape([b, 1, r, l]);
        let x = self.pool1.forward(relu(self.conv1.forward(x)));
        let x = self.pool2.forward(relu(self.conv2.forward(x)));
        let x = relu(self.conv3.forward(x));
        let [b, c, h, w] = x.dims();
        let x = x.reshape([b, c * h * w]);
        let x = relu(self.dense1.forward(x));
        self.dense2.forward(x)
    }

    /// Class probabilities (the softmax output layer of Table 2).
    pub fn probabilities(&self, x: Tensor<3>) -> Tensor<2> {
        softmax(self.forward(x), 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_2_parameter_count_for_one_week() {
        let s = Shape {
            rows: 3,
            samples: 10_080,
        };
        let rows = layers(s);
        let published = [320, 0, 6208, 0, 12_352, 0, 30_965_824, 130];
        for (row, p) in rows.iter().zip(published) {
            assert_eq!(row.parameters, p, "{}", row.name);
        }
        assert_eq!(parameter_count(s), 30_984_834);
        assert_eq!(rows[4].output, vec![64, 3, 2520]);
    }

    #[test]
    fn built_network_has_the_counted_parameters_and_output_shape() {
        let device = Device::flex();
        let s = Shape {
            rows: 3,
            samples: 62,
        };
        let m = PmCnn::new(s, 1, &device);
        assert_eq!(m.num_params(), parameter_count(s));
        let y = m.probabilities(Tensor::zeros([5, 3, 62], &device));
        assert_eq!(y.dims(), [5, 2]);
        let v: Vec<f32> = y.into_data().try_to_vec::<f32>().unwrap();
        for p in v.chunks(2) {
            assert!((p[0] + p[1] - 1.0).abs() < 1e-6);
        }
    }
}
