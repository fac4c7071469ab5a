//! The version in a PyTorch `version.py` (shared by `build.rs` and [`super`]).

/// `__version__` of a PyTorch `version.py`, without the local tag (`2.11.0+cu130` → `2.11.0`).
pub fn version_of(py: &str) -> Option<String> {
    let line = py.lines().find(|l| l.starts_with("__version__"))?;
    let v = line.split(['\'', '"']).nth(1)?;
    Some(v.split('+').next()?.to_string())
}
