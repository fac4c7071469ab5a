//! HTTP(S) downloads with pinned BLAKE3 digests.
//!
//! A pipeline shared between labs must read the same bytes everywhere, so every URL comes with the
//! BLAKE3 digest the author pinned; the digest (not the URL) enters the cache key, and a download
//! whose digest differs is an error, never silently used.

use std::io::Read;
use std::time::Duration;

/// Downloads `url` completely. Bodies up to 4 GiB.
pub fn get(url: &str) -> Result<Vec<u8>, String> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(600)))
        .timeout_connect(Some(Duration::from_secs(30)))
        .build()
        .into();
    let mut response = agent
        .get(url)
        .call()
        .map_err(|e| format!("cannot download {url}: {e}"))?;
    let mut bytes = Vec::new();
    response
        .body_mut()
        .as_reader()
        .take(4 << 30)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("download of {url} broke off: {e}"))?;
    Ok(bytes)
}

/// Checks `bytes` against a pinned hex digest.
pub fn check_digest(url: &str, bytes: &[u8], pinned: &str) -> Result<(), String> {
    let got = blake3::hash(bytes).to_hex().to_string();
    if got.eq_ignore_ascii_case(pinned) {
        Ok(())
    } else {
        Err(format!(
            "{url} has BLAKE3 {got}, but the pipeline pins {pinned}: the file on the server changed or the pin is wrong"
        ))
    }
}
