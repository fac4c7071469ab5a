//! The machine a result was computed on, recorded beside it and never in its key.
//!
//! A fixed seed gives bit-identical results on one machine whatever its load, thread count or
//! `-j` (`tests/determinism.rs`), but not across machines: the CPU backend's matrix products
//! (the `gemm` crate, under burn's `flex`) split the inner dimension into blocks sized from the
//! L1 data cache that Linux reports in `/sys/devices/system/cpu/*/cache` (1024 at 48 KiB 12-way,
//! 512 at 32 KiB 8-way), and the kernels are chosen by the SIMD level (FMA or not). A different
//! blocking rounds sums differently, and training amplifies the last bits into different
//! weights (README, "Reproducibility"). Entries therefore record what decides this, so a user
//! comparing numbers between labs can tell a different machine from a different computation.

use std::sync::OnceLock;

/// One line: architecture and SIMD level, CPU model, L1 data cache, e.g.
/// `x86_64 avx2+fma, Intel(R) Xeon(R) Processor, L1d 48K 12-way`.
pub fn describe() -> &'static str {
    static DESCRIPTION: OnceLock<String> = OnceLock::new();
    DESCRIPTION.get_or_init(|| {
        let mut parts = vec![format!("{} {}", std::env::consts::ARCH, simd())];
        if let Some(model) = cpu_model() {
            parts.push(model);
        }
        if let Some(l1) = l1_data_cache() {
            parts.push(format!("L1d {l1}"));
        }
        parts.join(", ")
    })
}

/// [`describe`], plus the compute device when a run chose one other than the CPU
/// (`, device cuda:0`): what an entry records as the machine that computed it.
pub fn with_device() -> String {
    match crate::device::chosen() {
        crate::device::Choice::Cpu => describe().to_string(),
        other => format!("{}, device {other}", describe()),
    }
}

fn simd() -> &'static str {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f") {
            return "avx512f+avx2+fma";
        }
        if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
        {
            return "avx2+fma";
        }
        if std::arch::is_x86_feature_detected!("avx") {
            return "avx";
        }
        "sse2"
    }
    #[cfg(target_arch = "aarch64")]
    {
        "neon"
    }
    #[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
    {
        "scalar"
    }
}

/// `model name` (x86) or `CPU part` (ARM) of `/proc/cpuinfo`, where there is one.
fn cpu_model() -> Option<String> {
    let info = std::fs::read_to_string("/proc/cpuinfo").ok()?;
    info.lines()
        .filter_map(|l| l.split_once(':'))
        .find(|(k, _)| matches!(k.trim(), "model name" | "CPU part"))
        .map(|(_, v)| v.split_whitespace().collect::<Vec<_>>().join(" "))
}

/// The L1 data cache of CPU 0 as Linux reports it: size and associativity.
fn l1_data_cache() -> Option<String> {
    let dir = std::path::Path::new("/sys/devices/system/cpu/cpu0/cache");
    let read = |p: std::path::PathBuf| {
        std::fs::read_to_string(p)
            .ok()
            .map(|s| s.trim().to_string())
    };
    for entry in std::fs::read_dir(dir).ok()?.flatten() {
        let p = entry.path();
        if read(p.join("level")).as_deref() == Some("1")
            && read(p.join("type")).as_deref() == Some("Data")
        {
            let size = read(p.join("size"))?;
            return Some(match read(p.join("ways_of_associativity")) {
                Some(ways) => format!("{size} {ways}-way"),
                None => size,
            });
        }
    }
    None
}

#[cfg(test)]
mod tests {
    #[test]
    fn describes_the_architecture_first() {
        let d = super::describe();
        assert!(d.starts_with(std::env::consts::ARCH), "{d}");
    }
}
