//! R2U-Net, the recurrent-residual U-Net of Alom, M. Z., Hasan, M., Yakopcic, C., Taha, T. M. &
//! Asari, V. K. (2018), *Recurrent residual convolutional neural network based on U-Net (R2U-Net)
//! for medical image segmentation*, arXiv:1802.06955, as the ARRU phase picker builds it (Liao,
//! W.-Y., Lee, E.-J., Mu, D., Chen, P. & Rau, R.-J. (2021). ARRU phase picker: attention
//! recurrent-residual U-Net for picking seismic P- and S-phase arrivals. *Seismological Research
//! Letters* 92(4), 2410–2428. doi:10.1785/0220200382; github
//! tso1257771/Attention-Recurrent-Residual-U-Net-for-earthquake-detection,
//! `code_tools/model/build_model.py`, `build_R2unet`, without attention) and Hong et al. (2023)
//! adopt for KFpicker. The code's defaults: filters 6, 12, 18, 24, kernel 7, stride and
//! up-sampling 4, three recurrent steps, dropout 0.1, BN, ReLU, He-uniform kernels, biases on
//! every convolution.
//!
//! A recurrent-residual block `RR(cin → f, stride)`:
//! `u = unit(x)` (conv 7 with the stride → BN → ReLU → dropout), `skip = conv7(u)` (no BN), then
//! three times `r = unit_i(r + u)` starting from `r = u` (three units, no weight sharing), output
//! `r + skip`.
//!
//! | part | blocks | length at 3000 |
//! |------|--------|----------------|
//! | encoder | RR(3→6); RR(6→6, /4); RR(6→12); RR(12→12, /4); RR(12→18); RR(18→18, /4); RR(18→24) | 3000, 750, 750, 188, 188, 47, 47 |
//! | decoder, ×3 | up-sample ×4 (repeat) → unit(→18, 12, 6) → crop to the skip → concatenate after the skip → RR(2f→f) | 188, 750, 3000 |
//! | output | conv 1 (+bias), softmax over (noise, P, S) | 3000 |
//!
//! 81,099 trainable parameters.

use burn::module::Module;
use burn::nn::conv::Conv1d;
use burn::tensor::{Device, Tensor};

use super::LayerRow;
use super::picker::{self, ConvUnit, Drop, Init, Picker};
use crate::rng::Rng;

pub const FILTERS: [usize; 4] = [6, 12, 18, 24];
pub const KERNEL: usize = 7;
pub const STRIDE: usize = 4;
pub const RECURRENT_STEPS: usize = 3;

/// A recurrent-residual block.
#[derive(Module, Debug)]
pub struct Rr {
    pub unit: ConvUnit,
    pub skip: Conv1d,
    pub steps: Vec<ConvUnit>,
}

impl Rr {
    fn new(rng: &mut Rng, [cin, f]: [usize; 2], stride: usize, device: &Device) -> Rr {
        let unit = ConvUnit::new(rng, [cin, f], KERNEL, stride, true, Init::He, device);
        let skip = picker::conv(rng, [f, f], KERNEL, 1, true, Init::He, device);
        let steps = (0..RECURRENT_STEPS)
            .map(|_| ConvUnit::new(rng, [f, f], KERNEL, 1, true, Init::He, device))
            .collect();
        Rr { unit, skip, steps }
    }

    fn forward(&self, x: Tensor<3>, drop: &mut Drop) -> Tensor<3> {
        let u = self.unit.forward(x, drop);
        let skip = self.skip.forward(u.clone());
        let mut r = u.clone();
        for s in &self.steps {
            r = s.forward(r + u.clone(), drop);
        }
        r + skip
    }

    fn parameters(&self) -> usize {
        let [f, cin, k] = self.skip.weight.dims();
        self.unit.parameters()
            + f * cin * k
            + f
            + self.steps.iter().map(ConvUnit::parameters).sum::<usize>()
    }
}

/// One decoder level: up-sampling, a unit, then the block on the concatenation.
#[derive(Module, Debug)]
pub struct Up {
    pub unit: ConvUnit,
    pub block: Rr,
}

#[derive(Module, Debug)]
pub struct R2Unet {
    /// `RR(3→6)`, then per level a stride-4 block and a widening block.
    pub encoder: Vec<Rr>,
    /// Deepest first.
    pub decoder: Vec<Up>,
    pub out: Conv1d,
}

impl R2Unet {
    /// A fresh network, kernels He-uniform from `seed` (the ARRU code's initialiser).
    pub fn new(seed: u64, device: &Device) -> R2Unet {
        let mut rng = Rng::new(seed, "nn/r2unet/init");
        let r = &mut rng;
        let f = FILTERS;
        let mut encoder = vec![Rr::new(r, [3, f[0]], 1, device)];
        for l in 0..3 {
            encoder.push(Rr::new(r, [f[l], f[l]], STRIDE, device));
            encoder.push(Rr::new(r, [f[l], f[l + 1]], 1, device));
        }
        let mut decoder = Vec::new();
        for l in (0..3).rev() {
            decoder.push(Up {
                unit: ConvUnit::new(r, [f[l + 1], f[l]], KERNEL, 1, true, Init::He, device),
                block: Rr::new(r, [2 * f[l], f[l]], 1, device),
            });
        }
        let out = picker::conv(r, [f[0], 3], 1, 1, true, Init::He, device);
        R2Unet {
            encoder,
            decoder,
            out,
        }
    }
}

/// Keras' `UpSampling1D(4)`: every sample repeated four times.
fn upsample(x: Tensor<3>) -> Tensor<3> {
    let [b, c, n] = x.dims();
    x.reshape([b, c, n, 1])
        .repeat_dim(3, STRIDE)
        .reshape([b, c, n * STRIDE])
}

impl Picker for R2Unet {
    const OUTPUT: &'static str = "out";

    fn new(seed: u64, device: &Device) -> R2Unet {
        R2Unet::new(seed, device)
    }

    fn layers(&self, samples: usize) -> Vec<LayerRow> {
        layers(self, samples)
    }

    fn logits(&self, x: Tensor<3>, drop: &mut Drop) -> Tensor<3> {
        let mut net = self.encoder[0].forward(x, drop);
        // The outputs the decoder concatenates: levels 0, 1, 2 (before each down-sampling).
        let mut skips = vec![net.clone()];
        for (i, block) in self.encoder[1..].iter().enumerate() {
            net = block.forward(net, drop);
            if i % 2 == 1 && skips.len() < 3 {
                skips.push(net.clone());
            }
        }
        for up in &self.decoder {
            let skip = skips.pop().expect("one skip per level");
            let y = up.unit.forward(upsample(net), drop);
            let y = picker::crop(y, skip.dims()[2]);
            net = up.block.forward(Tensor::cat(vec![skip, y], 1), drop);
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

/// The layer table (one row per block), output shapes for an input of `samples`.
pub fn layers(m: &R2Unet, samples: usize) -> Vec<LayerRow> {
    let row = |name: String, kind, filters: usize, output: Vec<usize>, parameters| LayerRow {
        name,
        kind,
        filters: filters.to_string(),
        window: KERNEL.to_string(),
        activation: "ReLU",
        output,
        parameters,
    };
    let mut rows = Vec::new();
    let mut n = samples;
    let mut lengths = vec![n];
    for (i, b) in m.encoder.iter().enumerate() {
        let f = b.skip.weight.dims()[0];
        let strided = i % 2 == 1;
        if strided {
            n = n.div_ceil(STRIDE);
            lengths.push(n);
        }
        let kind = if strided { "RR-block /4" } else { "RR-block" };
        rows.push(row(
            format!("encoder.{i}"),
            kind,
            f,
            vec![f, n],
            b.parameters(),
        ));
    }
    for (i, up) in m.decoder.iter().enumerate() {
        let f = up.unit.conv.weight.dims()[0];
        let len = lengths[2 - i];
        rows.push(row(
            format!("decoder.{i}.unit"),
            "up x4, conv-bn, crop",
            f,
            vec![f, len],
            up.unit.parameters(),
        ));
        rows.push(row(
            format!("decoder.{i}.block"),
            "concat, RR-block",
            f,
            vec![f, len],
            up.block.parameters(),
        ));
    }
    let [c, cin, _] = m.out.weight.dims();
    rows.push(LayerRow {
        name: "out".into(),
        kind: "conv",
        filters: c.to_string(),
        window: "1".into(),
        activation: "softmax",
        output: vec![c, samples],
        parameters: c * cin + c,
    });
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn has_81099_parameters_and_any_length_works() {
        let dev = Device::flex();
        let m = R2Unet::new(1, &dev);
        assert_eq!(
            layers(&m, 3000).iter().map(|r| r.parameters).sum::<usize>(),
            81_099
        );
        let trainable: usize = super::super::weights::named(&m)
            .iter()
            .filter(|(n, _, _)| !n.contains("running"))
            .map(|(_, s, _)| s.iter().product::<usize>())
            .sum();
        assert_eq!(trainable, 81_099);
        for n in [3000, 3001, 1000] {
            let x = Tensor::<3>::zeros([2, 3, n], &dev);
            assert_eq!(m.logits(x, &mut Drop::off()).dims(), [2, 3, n]);
        }
    }
}
