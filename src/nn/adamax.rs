//! AdaMax (Kingma & Ba 2014, "Adam: a method for stochastic optimization", §7.1, Algorithm 2),
//! written here because burn 0.22 has none. Petrescu & Moldovan (2022, Fig. 6) compare it with
//! Adam, Adagrad, SGD and RMSProp.
//!
//! Per parameter, with gradient g at step t:
//!
//! ```text
//! m ← β1·m + (1 − β1)·g
//! u ← max(β2·u, |g|)
//! θ ← θ − lr / (1 − β1^t) · m / (u + ε)
//! ```
//!
//! ε inside the denominator follows Keras' implementation (the paper's framework; default 1e-7),
//! which keeps the first step finite for parameters whose gradient is exactly zero.

use burn::optim::{LearningRate, Optimizer, RecordState, StateSink, StateSource};
use burn::tensor::{Device, Tensor};
use burn_pack::Scalar;

#[derive(Clone, Debug)]
pub struct AdaMax {
    pub beta_1: f32,
    pub beta_2: f32,
    pub epsilon: f32,
}

impl Default for AdaMax {
    /// Kingma & Ba's defaults, ε from Keras.
    fn default() -> Self {
        AdaMax {
            beta_1: 0.9,
            beta_2: 0.999,
            epsilon: 1e-7,
        }
    }
}

/// Moment estimates of one parameter tensor.
#[derive(Clone)]
pub struct AdaMaxState<const D: usize> {
    pub time: u64,
    pub moment: Tensor<D>,
    pub norm: Tensor<D>,
}

impl<const D: usize> RecordState for AdaMaxState<D> {
    fn state_flatten(&self, prefix: &str, out: &mut StateSink) {
        out.push_scalar(prefix, "time", Scalar::from(self.time));
        out.push_tensor(prefix, "moment", self.moment.to_data());
        out.push_tensor(prefix, "norm", self.norm.to_data());
    }
    fn state_unflatten(prefix: &str, src: &mut StateSource, device: &Device) -> Option<Self> {
        let time = u64::try_from(src.take_scalar(prefix, "time")?).ok()?;
        let moment = Tensor::from_data(src.take_tensor(prefix, "moment")?, device);
        let norm = Tensor::from_data(src.take_tensor(prefix, "norm")?, device);
        Some(AdaMaxState { time, moment, norm })
    }
}

impl Optimizer for AdaMax {
    type State<const D: usize> = AdaMaxState<D>;

    fn step<const D: usize>(
        &self,
        lr: LearningRate,
        tensor: Tensor<D>,
        grad: Tensor<D>,
        state: Option<Self::State<D>>,
    ) -> (Tensor<D>, Option<Self::State<D>>) {
        let (time, moment, norm) = match state {
            Some(s) => (
                s.time + 1,
                s.moment
                    .mul_scalar(self.beta_1)
                    .add(grad.clone().mul_scalar(1.0 - self.beta_1)),
                s.norm.mul_scalar(self.beta_2).max_pair(grad.abs()),
            ),
            None => (1, grad.clone().mul_scalar(1.0 - self.beta_1), grad.abs()),
        };
        let step = lr / (1.0 - (self.beta_1 as f64).powi(time as i32));
        let delta = moment
            .clone()
            .div(norm.clone().add_scalar(self.epsilon))
            .mul_scalar(step);
        (tensor - delta, Some(AdaMaxState { time, moment, norm }))
    }

    fn to_device<const D: usize>(s: Self::State<D>, device: &Device) -> Self::State<D> {
        AdaMaxState {
            time: s.time,
            moment: s.moment.to_device(device),
            norm: s.norm.to_device(device),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::TensorData;

    /// Three steps on a two-element parameter against the formula evaluated in f64 by hand.
    #[test]
    fn matches_algorithm_2() {
        let device = Device::flex();
        let opt = AdaMax::default();
        let grads = [[0.5f32, -2.0], [0.1, 1.0], [-0.3, 0.0]];
        let mut theta = Tensor::<1>::from_data(TensorData::from([1.0f32, -1.0]), &device);
        let mut state = None;
        for g in grads {
            let g = Tensor::<1>::from_data(TensorData::from(g), &device);
            (theta, state) = opt.step(0.01, theta, g, state);
        }
        let got: Vec<f32> = theta.into_data().try_to_vec::<f32>().unwrap();
        let (b1, b2, eps, lr) = (0.9f64, 0.999f64, 1e-7f64, 0.01f64);
        for k in 0..2 {
            let (mut th, mut m, mut u) = ([1.0, -1.0][k], 0.0f64, 0.0f64);
            for (t, g) in grads.iter().enumerate() {
                let g = g[k] as f64;
                m = b1 * m + (1.0 - b1) * g;
                u = (b2 * u).max(g.abs());
                th -= lr / (1.0 - b1.powi(t as i32 + 1)) * m / (u + eps);
            }
            assert!((got[k] as f64 - th).abs() < 1e-6, "{k}: {} vs {th}", got[k]);
        }
    }
}
