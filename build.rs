//! Records, in a `tch` build, the libtorch version it is built against (`version.py` of the
//! PyTorch install `$LIBTORCH` points into), so the binary can compare it with the libtorch it
//! loads at run time (`src/device/mod.rs`). Nothing happens in the default build.

#[path = "src/device/torch_version.rs"]
mod torch_version;

fn main() {
    println!("cargo:rerun-if-env-changed=LIBTORCH");
    println!("cargo:rerun-if-changed=src/device/torch_version.rs");
    if std::env::var_os("CARGO_FEATURE_TCH").is_none() {
        return;
    }
    let Some(dir) = std::env::var_os("LIBTORCH") else {
        return;
    };
    let py = std::path::Path::new(&dir).join("version.py");
    println!("cargo:rerun-if-changed={}", py.display());
    if let Some(v) = std::fs::read_to_string(&py)
        .ok()
        .and_then(|t| torch_version::version_of(&t))
    {
        println!("cargo:rustc-env=QUAKELINE_LIBTORCH_VERSION={v}");
    }
}
