//! PhaseNet (Zhu, W. & Beroza, G. C. (2019). PhaseNet: a deep-neural-network-based seismic
//! arrival-time picking method. *Geophysical Journal International* 216(1), 261–273.
//! doi:10.1093/gji/ggy423), the topology of the published code (github:AI4EPS/PhaseNet,
//! `phasenet/model.py`, `UNet.add_prediction_op`, depths 5, filters_root 8, kernel 7, pool 4):
//!
//! | part | layers | channels |
//! |------|--------|----------|
//! | `input` | conv 7 (+bias) → BN → ReLU | 3 → 8 |
//! | `down.d`, d = 0…4 | conv 7 → BN → ReLU (the skip) | 8·2^(d−1) → 8·2^d |
//! | `pool.d`, d = 0…3 | conv 7, stride 4 → BN → ReLU | 8·2^d → 8·2^d |
//! | `up.d`, d = 3…0 | transposed conv 7, stride 4 → BN → ReLU, cropped; concatenated after the skip; conv 7 → BN → ReLU | 16·2^d → 8·2^d |
//! | `out` | conv 1 (+bias), softmax over (noise, P, S) | 8 → 3 |
//!
//! Convolutions other than `input` and `out` have no bias (BN follows). 268,443 trainable
//! parameters; inputs of any length (3000 and 3001 samples are what PhaseNet runs at). The
//! transposed convolution is TensorFlow's `conv2d_transpose(padding="same")`: the full output
//! `(n − 1)·4 + 7` cut to `4n` from sample 1 (TF's padding split, 1 before and 2 after), then
//! centre-cropped to the skip's length. Dropout after every ReLU (PhaseNet's `drop_rate`, 0 in the
//! published model).
//!
//! Parameter names and layouts are PyTorch's (`down.0.conv.weight` `[out, in, 7]`,
//! `up.0.up.weight` `[in, out, 7]`), see [`super::weights`]; [`from_checkpoint`] maps the
//! published TensorFlow variables onto them.

use burn::module::Module;
use burn::nn::BatchNorm;
use burn::nn::conv::{ConvTranspose1d, ConvTranspose1dConfig};
use burn::tensor::activation::relu;
use burn::tensor::{Device, Tensor};

use super::LayerRow;
use super::picker::{self, ConvUnit, Drop, Init, Picker};
use super::pm_cnn::{glorot, param};
use crate::rng::Rng;

/// Levels of the U-Net and channels at the first.
pub const DEPTHS: usize = 5;
pub const ROOT: usize = 8;
pub const KERNEL: usize = 7;
pub const STRIDE: usize = 4;

/// One decoder level.
#[derive(Module, Debug)]
pub struct Up {
    pub up: ConvTranspose1d,
    pub up_norm: BatchNorm,
    pub fuse: ConvUnit,
}

#[derive(Module, Debug)]
pub struct PhaseNet {
    pub input: ConvUnit,
    pub down: Vec<ConvUnit>,
    pub pool: Vec<ConvUnit>,
    /// Indexed by level (`up.d` takes level d + 1 up to level d).
    pub up: Vec<Up>,
    pub out: burn::nn::conv::Conv1d,
}

fn filters(d: usize) -> usize {
    ROOT << d
}

impl PhaseNet {
    /// A fresh network, kernels Glorot-uniform from `seed` (PhaseNet's initialiser).
    pub fn new(seed: u64, device: &Device) -> PhaseNet {
        let mut rng = Rng::new(seed, "nn/phasenet/init");
        let r = &mut rng;
        let input = ConvUnit::new(r, [3, ROOT], KERNEL, 1, true, Init::Glorot, device);
        let mut down = Vec::new();
        let mut pool = Vec::new();
        let mut cin = ROOT;
        for d in 0..DEPTHS {
            let f = filters(d);
            down.push(ConvUnit::new(
                r,
                [cin, f],
                KERNEL,
                1,
                false,
                Init::Glorot,
                device,
            ));
            if d + 1 < DEPTHS {
                pool.push(ConvUnit::new(
                    r,
                    [f, f],
                    KERNEL,
                    STRIDE,
                    false,
                    Init::Glorot,
                    device,
                ));
            }
            cin = f;
        }
        let mut up = Vec::new();
        for d in 0..DEPTHS - 1 {
            let (f, below) = (filters(d), filters(d + 1));
            let mut t = ConvTranspose1dConfig::new([below, f], KERNEL)
                .with_stride(STRIDE)
                .with_bias(false)
                .init(device);
            t.weight = param(
                glorot(r, below * f * KERNEL, f * KERNEL, below * KERNEL),
                [below, f, KERNEL],
                device,
            );
            up.push(Up {
                up: t,
                up_norm: picker::norm(f, device),
                fuse: ConvUnit::new(r, [2 * f, f], KERNEL, 1, false, Init::Glorot, device),
            });
        }
        let out = picker::conv(r, [ROOT, 3], 1, 1, true, Init::Glorot, device);
        PhaseNet {
            input,
            down,
            pool,
            up,
            out,
        }
    }
}

impl Picker for PhaseNet {
    const OUTPUT: &'static str = "out";

    fn new(seed: u64, device: &Device) -> PhaseNet {
        PhaseNet::new(seed, device)
    }

    fn layers(&self, samples: usize) -> Vec<LayerRow> {
        layers(self, samples)
    }

    fn logits(&self, x: Tensor<3>, drop: &mut Drop) -> Tensor<3> {
        let mut net = self.input.forward(x, drop);
        let mut skips = Vec::with_capacity(DEPTHS);
        for d in 0..DEPTHS {
            net = self.down[d].forward(net, drop);
            skips.push(net.clone());
            if d + 1 < DEPTHS {
                net = self.pool[d].forward(net, drop);
            }
        }
        for d in (0..DEPTHS - 1).rev() {
            let u = &self.up[d];
            let n = net.dims()[2];
            // conv2d_transpose(padding="same"): 4n samples from sample 1 of the full output.
            let y = u.up.forward(net).narrow(2, 1, STRIDE * n);
            let y = drop.apply(relu(u.up_norm.forward(y)));
            let skip = &skips[d];
            let y = picker::crop(y, skip.dims()[2]);
            net = u.fuse.forward(Tensor::cat(vec![skip.clone(), y], 1), drop);
        }
        self.out.forward(net)
    }

    fn freeze_body(self) -> Self {
        let out = self.out.clone();
        let mut m = self.freeze();
        m.out = out;
        m
    }
}

/// The layer table (one row per convolution with its batch norm), output shapes for an input of
/// `samples`.
pub fn layers(m: &PhaseNet, samples: usize) -> Vec<LayerRow> {
    let unit = |name: String, kind, u: &ConvUnit, output: Vec<usize>| {
        let [cout, _, k] = u.conv.weight.dims();
        LayerRow {
            name,
            kind,
            filters: cout.to_string(),
            window: k.to_string(),
            activation: "ReLU",
            output,
            parameters: u.parameters(),
        }
    };
    let mut rows = vec![unit(
        "input".into(),
        "conv-bn",
        &m.input,
        vec![ROOT, samples],
    )];
    let mut lengths = vec![samples];
    let mut n = samples;
    for d in 0..DEPTHS {
        rows.push(unit(
            format!("down.{d}"),
            "conv-bn",
            &m.down[d],
            vec![filters(d), n],
        ));
        if d + 1 < DEPTHS {
            n = n.div_ceil(STRIDE);
            lengths.push(n);
            rows.push(unit(
                format!("pool.{d}"),
                "conv-bn /4",
                &m.pool[d],
                vec![filters(d), n],
            ));
        }
    }
    for d in (0..DEPTHS - 1).rev() {
        let u = &m.up[d];
        let [cin, cout, k] = u.up.weight.dims();
        rows.push(LayerRow {
            name: format!("up.{d}.up"),
            kind: "convT-bn x4, crop",
            filters: cout.to_string(),
            window: k.to_string(),
            activation: "ReLU",
            output: vec![cout, lengths[d]],
            parameters: cin * cout * k + 2 * cout,
        });
        rows.push(unit(
            format!("up.{d}.fuse"),
            "concat, conv-bn",
            &u.fuse,
            vec![cout, lengths[d]],
        ));
    }
    rows.push(LayerRow {
        name: "out".into(),
        kind: "conv",
        filters: "3".into(),
        window: "1".into(),
        activation: "softmax",
        output: vec![3, samples],
        parameters: ROOT * 3 + 3,
    });
    rows
}

/// Channel `c` of quakeline's Z, N, E input is PhaseNet's input channel `2 − c` (E, N, Z).
const ENZ_OF_ZNE: [usize; 3] = [2, 1, 0];

/// The TensorFlow variable (and how its values are laid out) of each parameter [`super::weights`]
/// names: conv kernels `[7, 1, cin, cout]`, transposed kernels `[7, 1, cout, cin]`.
fn tf_name(name: &str) -> Option<(String, Layout)> {
    let parts: Vec<&str> = name.split('.').collect();
    let bn = |scope: String, field: &str| -> Option<(String, Layout)> {
        let v = match field {
            "weight" => "gamma",
            "bias" => "beta",
            "running_mean" => "moving_mean",
            "running_var" => "moving_variance",
            _ => return None,
        };
        Some((format!("{scope}/{v}"), Layout::Vector))
    };
    let conv = |scope: String, field: &str, layout: Layout| -> Option<(String, Layout)> {
        match field {
            "weight" => Some((format!("{scope}/kernel"), layout)),
            "bias" => Some((format!("{scope}/bias"), Layout::Vector)),
            _ => None,
        }
    };
    match parts[..] {
        ["input", "conv", f] => conv("Input/input_conv".into(), f, Layout::InputKernel),
        ["input", "norm", f] => bn("Input/input_bn".into(), f),
        ["down", d, "conv", f] => {
            let d: usize = d.parse().ok()?;
            conv(
                format!("DownConv_{d}/down_conv1_{}", d + 1),
                f,
                Layout::Kernel,
            )
        }
        ["down", d, "norm", f] => {
            let d: usize = d.parse().ok()?;
            bn(format!("DownConv_{d}/down_bn1_{}", d + 1), f)
        }
        ["pool", d, "conv", f] => {
            let d: usize = d.parse().ok()?;
            conv(
                format!("DownConv_{d}/down_conv3_{}", d + 1),
                f,
                Layout::Kernel,
            )
        }
        ["pool", d, "norm", f] => {
            let d: usize = d.parse().ok()?;
            bn(format!("DownConv_{d}/down_bn3_{}", d + 1), f)
        }
        ["up", d, "up", f] => {
            let d: usize = d.parse().ok()?;
            conv(
                format!("UpConv_{d}/up_conv0_{}", d + 1),
                f,
                Layout::Transposed,
            )
        }
        ["up", d, "up_norm", f] => {
            let d: usize = d.parse().ok()?;
            bn(format!("UpConv_{d}/up_bn0_{}", d + 1), f)
        }
        ["up", d, "fuse", "conv", f] => {
            let d: usize = d.parse().ok()?;
            conv(format!("UpConv_{d}/up_conv1_{}", d + 1), f, Layout::Kernel)
        }
        ["up", d, "fuse", "norm", f] => {
            let d: usize = d.parse().ok()?;
            bn(format!("UpConv_{d}/up_bn1_{}", d + 1), f)
        }
        ["out", f] => conv("Output/output_conv".into(), f, Layout::Kernel),
        _ => None,
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Layout {
    Vector,
    /// `[k, 1, cin, cout]` → `[cout, cin, k]`.
    Kernel,
    /// As `Kernel`, input channels reordered from E, N, Z to Z, N, E.
    InputKernel,
    /// `[k, 1, cout, cin]` → burn's transposed `[cin, cout, k]`.
    Transposed,
}

/// The published PhaseNet checkpoint as a [`PhaseNet`] that takes Z, N, E input (the input
/// kernel's channels are reordered from PhaseNet's E, N, Z, so the data need not be). Every
/// parameter and moving statistic must be present with its shape; Adam slots are ignored.
pub fn from_checkpoint(
    ckpt: &crate::io::tf_checkpoint::Checkpoint,
    device: &Device,
) -> anyhow::Result<PhaseNet> {
    super::weights::from_source(PhaseNet::new(0, device), &mut |name, dims| {
        let (var, layout) = tf_name(name)
            .ok_or_else(|| anyhow::anyhow!("no TensorFlow variable maps to `{name}`"))?;
        let (shape, v) = ckpt.f32(&var)?;
        let expected: Vec<usize> = match (layout, dims) {
            (Layout::Vector, _) => dims.to_vec(),
            (Layout::Kernel | Layout::InputKernel, &[cout, cin, k]) => vec![k, 1, cin, cout],
            (Layout::Transposed, &[cin, cout, k]) => vec![k, 1, cout, cin],
            _ => anyhow::bail!("`{name}` has an unexpected shape {dims:?}"),
        };
        anyhow::ensure!(
            shape == expected,
            "checkpoint variable `{var}` has shape {shape:?}; PhaseNet's `{name}` needs {expected:?}"
        );
        Ok(match (layout, dims) {
            (Layout::Vector, _) => v,
            (Layout::Kernel | Layout::InputKernel, &[cout, cin, k]) => {
                let mut w = vec![0f32; cout * cin * k];
                for o in 0..cout {
                    for i in 0..cin {
                        let src = if layout == Layout::InputKernel {
                            ENZ_OF_ZNE[i]
                        } else {
                            i
                        };
                        for t in 0..k {
                            w[(o * cin + i) * k + t] = v[(t * cin + src) * cout + o];
                        }
                    }
                }
                w
            }
            (_, &[cin, cout, k]) => {
                let mut w = vec![0f32; cin * cout * k];
                for c in 0..cin {
                    for o in 0..cout {
                        for t in 0..k {
                            w[(c * cout + o) * k + t] = v[(t * cout + o) * cin + c];
                        }
                    }
                }
                w
            }
            _ => unreachable!("shapes matched above"),
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The published count (the oracle, and the sum over the checkpoint's variables in
    /// `io::tf_checkpoint`'s test).
    #[test]
    fn has_268443_parameters_and_any_length_works() {
        let dev = Device::flex();
        let m = PhaseNet::new(1, &dev);
        let rows = layers(&m, 3001);
        assert_eq!(rows.iter().map(|r| r.parameters).sum::<usize>(), 268_443);
        let trainable: usize = super::super::weights::named(&m)
            .iter()
            .filter(|(n, _, _)| !n.contains("running"))
            .map(|(_, s, _)| s.iter().product::<usize>())
            .sum();
        assert_eq!(trainable, 268_443);
        for n in [3000, 3001, 1000, 257] {
            let x = Tensor::<3>::zeros([2, 3, n], &dev);
            assert_eq!(m.logits(x, &mut Drop::off()).dims(), [2, 3, n]);
        }
    }
}
