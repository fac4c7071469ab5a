//! Optimizers by name, with the defaults of Keras (the framework Petrescu & Moldovan 2022 used),
//! so that a pipeline that names `adam` gets what the paper's Fig. 6 compared.
//!
//! | name      | update                                     | settings                               |
//! |-----------|--------------------------------------------|----------------------------------------|
//! | `adam`    | Kingma & Ba 2014                           | β = (0.9, 0.999), ε = 1e-7             |
//! | `adagrad` | Duchi et al. 2011 (burn's, accumulator 0)  | ε = 1e-7                               |
//! | `adamax`  | Kingma & Ba 2014 §7.1 ([`super::adamax`])  | β = (0.9, 0.999), ε = 1e-7             |
//! | `sgd`     | plain stochastic gradient descent          | no momentum                            |
//! | `rmsprop` | Hinton's RMSProp                           | ρ = 0.9, ε = 1e-7, no momentum         |
//!
//! The learning rate is not part of the optimizer: it is passed at every step, which is where a
//! schedule (e.g. reduce-on-plateau) plugs in.

use burn::optim::{AdaGradConfig, AdamConfig, ModuleOptimizer, RmsPropConfig, SgdConfig};

use super::adamax::AdaMax;

/// The optimizer names `train` accepts.
pub const NAMES: &[&str] = &["adam", "adagrad", "adamax", "sgd", "rmsprop"];

/// A module optimizer for `name` (one of [`NAMES`]).
pub fn by_name(name: &str) -> Option<ModuleOptimizer> {
    Some(match name {
        "adam" => AdamConfig::new().with_epsilon(1e-7).init(),
        "adagrad" => AdaGradConfig::new().with_epsilon(1e-7).init(),
        "adamax" => ModuleOptimizer::from(AdaMax::default()),
        "sgd" => SgdConfig::new().init(),
        "rmsprop" => RmsPropConfig::new()
            .with_alpha(0.9)
            .with_momentum(0.0)
            .with_epsilon(1e-7)
            .init(),
        _ => return None,
    })
}
