//! The compute device models train and predict on: a run option (`--device`, `$QUAKELINE_DEVICE`,
//! `device` in the site profile), never in the pipeline file, which stays portable between labs.
//!
//! | choice      | backend                                                    | build               |
//! |-------------|------------------------------------------------------------|---------------------|
//! | `cpu`       | burn's pure-Rust `flex` (the default; the reference numbers) | every build       |
//! | `cuda[:N]`  | LibTorch (burn's `tch` backend) on NVIDIA GPU `N`           | `--features tch`    |
//! | `torch-cpu` | LibTorch on the CPU (checks a `tch` build without a GPU)    | `--features tch`    |
//!
//! A different backend rounds differently (and cuDNN picks kernels by measurement), so a model
//! trained on a GPU is not bit-identical to the CPU one. Stages that compute on the device
//! ([`crate::stage::StageKind::device_class`]) therefore carry the device *class* in their key
//! when it is not the default (`cuda`, not `cuda:1`: two GPUs of one kind share entries), so a
//! GPU entry never silently stands in for a CPU one; `cpu` adds nothing, and every existing
//! entry keeps its key.
//!
//! LibTorch is loaded from the user's PyTorch install at run time, and a `tch` binary is tied to
//! the libtorch version it was built against: [`choose`] compares the two before any model
//! runs, instead of failing inside the first tensor operation.

pub mod torch_version;

use std::sync::OnceLock;

use burn::tensor::Device;

/// A device a run may use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Choice {
    Cpu,
    TorchCpu,
    Cuda(usize),
}

impl std::str::FromStr for Choice {
    type Err = String;
    fn from_str(s: &str) -> Result<Choice, String> {
        let bad = || format!("`{s}` is not a device: cpu, cuda, cuda:N or torch-cpu");
        match s.trim() {
            "cpu" => Ok(Choice::Cpu),
            "torch-cpu" => Ok(Choice::TorchCpu),
            "cuda" => Ok(Choice::Cuda(0)),
            other => match other.strip_prefix("cuda:") {
                Some(n) => n.parse().map(Choice::Cuda).map_err(|_| bad()),
                None => Err(bad()),
            },
        }
    }
}

impl std::fmt::Display for Choice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Choice::Cpu => write!(f, "cpu"),
            Choice::TorchCpu => write!(f, "torch-cpu"),
            Choice::Cuda(n) => write!(f, "cuda:{n}"),
        }
    }
}

impl Choice {
    /// What a device-computing stage's key carries: nothing for the default CPU backend.
    pub fn key_class(self) -> Option<&'static str> {
        match self {
            Choice::Cpu => None,
            Choice::TorchCpu => Some("torch-cpu"),
            Choice::Cuda(_) => Some("cuda"),
        }
    }

    /// Whether this build and machine can use the device (the libtorch version, the GPU).
    pub fn check(self) -> Result<(), String> {
        match self {
            Choice::Cpu => Ok(()),
            _ => torch::check(self),
        }
    }

    fn device(self) -> Device {
        match self {
            Choice::Cpu => Device::flex(),
            _ => torch::device(self),
        }
    }
}

static CHOSEN: OnceLock<Choice> = OnceLock::new();

/// Sets the run's device once, before anything is planned (keys depend on it) or computed.
/// Choosing the same device again is allowed (a worker process re-reads its job file).
pub fn choose(c: Choice) -> Result<(), String> {
    c.check()?;
    let set = *CHOSEN.get_or_init(|| c);
    if set != c {
        return Err(format!(
            "the device is already {set}; it cannot change to {c} in one run"
        ));
    }
    Ok(())
}

/// The device a command line asks for: its `--device` (`flag`), else `$QUAKELINE_DEVICE` when
/// set and not empty; `None` leaves the choice to the site profile or the default.
pub fn from_flag_or_env(flag: Option<Choice>) -> Result<Option<Choice>, String> {
    if flag.is_some() {
        return Ok(flag);
    }
    match std::env::var("QUAKELINE_DEVICE") {
        Ok(v) if !v.trim().is_empty() => v
            .parse()
            .map(Some)
            .map_err(|e| format!("$QUAKELINE_DEVICE: {e}")),
        _ => Ok(None),
    }
}

/// Whether [`choose`] was called in this process.
pub fn is_chosen() -> bool {
    CHOSEN.get().is_some()
}

/// The run's device ([`Choice::Cpu`] unless [`choose`] set another).
pub fn chosen() -> Choice {
    CHOSEN.get().copied().unwrap_or(Choice::Cpu)
}

/// The burn device of the run's choice: the flex CPU backend on the global rayon pool
/// (`RAYON_NUM_THREADS` sets its size) unless [`choose`] set another.
pub fn device() -> Device {
    chosen().device()
}

/// The key class of the run's device, for [`crate::stage::StageKind::device_class`].
pub fn key_class() -> Option<&'static str> {
    chosen().key_class()
}

#[cfg(feature = "tch")]
mod torch {
    use super::{Choice, Device};

    /// The libtorch version this binary was built against (`build.rs` reads it from the
    /// `version.py` beside `$LIBTORCH`).
    const BUILT: Option<&str> = option_env!("QUAKELINE_LIBTORCH_VERSION");

    pub(super) fn check(c: Choice) -> Result<(), String> {
        let loaded = loaded_version();
        if let (Some(built), Some(loaded)) = (BUILT, &loaded)
            && built != loaded
        {
            return Err(format!(
                "this quakeline was built against libtorch {built}, but libtorch {loaded} is loaded; use the PyTorch it was built for (LD_LIBRARY_PATH) or rebuild with --features tch against this one"
            ));
        }
        if let Choice::Cuda(n) = c {
            let count = tch::Cuda::device_count();
            if count <= n as i64 {
                return Err(format!(
                    "device cuda:{n}: LibTorch {} sees {count} CUDA device(s) (CUDA_VISIBLE_DEVICES, the driver, or a CPU-only PyTorch?)",
                    loaded.as_deref().unwrap_or("(version unknown)")
                ));
            }
        }
        Ok(())
    }

    // burn marks its LibTorch backend deprecated in favour of CubeCL; CubeCL's CUDA backend did
    // not yet train on the H200 when measured for the GPU issue (first call 27.7 s, 40 Adam
    // steps unfinished in 270 s), so LibTorch is the GPU route until it does.
    #[allow(deprecated)]
    pub(super) fn device(c: Choice) -> Device {
        match c {
            Choice::Cuda(n) => Device::libtorch_cuda(n),
            _ => Device::libtorch(),
        }
    }

    /// The version of the libtorch this process loaded: `torch/version.py` of the PyTorch
    /// install whose `lib/libtorch_cpu.so` is mapped (`/proc/self/maps`).
    pub(super) fn loaded_version() -> Option<String> {
        let maps = std::fs::read_to_string("/proc/self/maps").ok()?;
        let lib = maps
            .lines()
            .filter_map(|l| l.split_whitespace().nth(5))
            .find(|p| p.ends_with("/libtorch_cpu.so"))?;
        let torch = std::path::Path::new(lib).parent()?.parent()?;
        torch_version::version_of(&std::fs::read_to_string(torch.join("version.py")).ok()?)
    }
}

#[cfg(not(feature = "tch"))]
mod torch {
    use super::{Choice, Device};

    pub(super) fn check(c: Choice) -> Result<(), String> {
        Err(format!(
            "device {c} needs LibTorch: this quakeline was built without it (cargo build --release --features tch; README, \"Training on a GPU\")"
        ))
    }

    pub(super) fn device(_: Choice) -> Device {
        // `check` refused every non-CPU choice, so `choose` never set one.
        Device::flex()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn choices_parse_and_print() {
        for (s, c) in [
            ("cpu", Choice::Cpu),
            ("cuda", Choice::Cuda(0)),
            ("cuda:3", Choice::Cuda(3)),
            ("torch-cpu", Choice::TorchCpu),
        ] {
            assert_eq!(s.parse::<Choice>(), Ok(c));
        }
        assert_eq!(Choice::Cuda(2).to_string(), "cuda:2");
        for bad in ["gpu", "cuda:", "cuda:x", "CPU"] {
            let e = bad.parse::<Choice>().unwrap_err();
            assert!(e.contains("is not a device"), "{e}");
        }
        assert_eq!(Choice::Cpu.key_class(), None);
        assert_eq!(Choice::Cuda(1).key_class(), Some("cuda"));
    }

    #[cfg(not(feature = "tch"))]
    #[test]
    fn a_gpu_without_libtorch_is_refused_by_name() {
        let e = Choice::Cuda(0).check().unwrap_err();
        assert!(
            e.contains("built without it") && e.contains("--features tch"),
            "{e}"
        );
    }

    #[test]
    fn pytorch_version_files_are_read() {
        let py = "from typing import Optional\n__version__ = '2.11.0+cu130'\ndebug = False\n";
        assert_eq!(
            crate::device::torch_version::version_of(py).as_deref(),
            Some("2.11.0")
        );
    }
}
