//! Sharing between labs, for BENCHMARKS.md: the quickstart exported as a bundle with all its
//! entries (size, time; import time), and the remote cache on a real nginx WebDAV server on
//! loopback — push and fetch MB/s beside a plain local copy (`std::fs::copy`, what `cp` does)
//! and `curl` downloading the same objects, on the quickstart's entries and on one 256 MB entry.
//!
//! `cargo bench --bench share` (needs nginx: `.ci/nginx install`; skipped without it).

#[path = "../tests/nginx.rs"]
#[allow(dead_code)]
mod nginx;

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use quakeline::cache::remote::{Fetched, Remote, RemoteSettings};
use quakeline::cache::{Cache, KEY_SCHEMA, KeyFields, Lookup};

const REPEATS: usize = 3;

fn main() {
    let Some(server) = nginx::Nginx::start() else {
        println!("share: skipped (no nginx; .ci/nginx install)");
        return;
    };
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let ql = |args: &[&str]| {
        let t = Instant::now();
        let o = Command::new(env!("CARGO_BIN_EXE_quakeline"))
            .args(args)
            .current_dir(repo)
            .env_remove("QUAKELINE_SITE")
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "quakeline {args:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        (t.elapsed().as_secs_f64(), o)
    };
    let cache = d.join("cache");
    let c = cache.to_str().unwrap();
    let results = d.join("results");
    let (t, _) = ql(&[
        "run",
        "pipelines/quickstart.toml",
        "--quiet",
        "--cache",
        c,
        "--results",
        results.to_str().unwrap(),
    ]);
    println!("share: quickstart computed in {t:.1} s");

    // Bundle with every entry.
    let bundle = d.join("quickstart.qlb");
    let mut export_times = Vec::new();
    let mut last = None;
    for _ in 0..REPEATS {
        let (t, o) = ql(&[
            "export",
            "pipelines/quickstart.toml",
            "--entries",
            "all",
            "--allow-outside",
            "--cache",
            c,
            "-o",
            bundle.to_str().unwrap(),
        ]);
        export_times.push(t);
        last = Some(o);
    }
    let o = last.unwrap();
    let listing = String::from_utf8_lossy(&o.stdout);
    let files = listing.lines().filter(|l| l.starts_with("file")).count();
    let entries = listing.lines().filter(|l| l.starts_with("entry")).count();
    println!(
        "  export --entries all: {} file(s), {entries} entries; {}",
        files,
        String::from_utf8_lossy(&o.stderr).trim()
    );
    println!(
        "  export: median {:.2} s of {REPEATS}; bundle {:.2} MB",
        median(&mut export_times),
        std::fs::metadata(&bundle).unwrap().len() as f64 / 1e6
    );
    let mut import_times = Vec::new();
    for i in 0..REPEATS {
        let into = d.join(format!("imported-{i}"));
        let (t, _) = ql(&["import", bundle.to_str().unwrap(), into.to_str().unwrap()]);
        import_times.push(t);
    }
    println!(
        "  import into an empty directory and cache (every member verified twice): median {:.2} s",
        median(&mut import_times)
    );

    // Remote cache: the quickstart's entries, then one large entry.
    let source = Cache::new(&cache);
    let keys: Vec<(String, u64)> = source
        .manifests()
        .into_iter()
        .map(|m| (m.key, m.size))
        .collect();
    bench_remote(&server, d, &source, &keys, "quickstart entries");
    let big = make_entry(&source, 256 << 20);
    bench_remote(&server, d, &source, &[big], "one 256 MB entry");
}

fn bench_remote(
    server: &nginx::Nginx,
    d: &Path,
    source: &Cache,
    keys: &[(String, u64)],
    what: &str,
) {
    let bytes: u64 = keys.iter().map(|k| k.1).sum();
    let mb = bytes as f64 / 1e6;
    let url = server.url(&format!("cache/{}", keys.len()));
    let remote = Remote::new(&RemoteSettings::new(&url)).unwrap();
    let t = Instant::now();
    for (k, _) in keys {
        let Lookup::Hit(e) = source.lookup(k) else {
            panic!("{k} not cached")
        };
        remote.push(source, &e).unwrap();
    }
    let push = t.elapsed().as_secs_f64();
    let (mut fetch, mut copy, mut curl) = (Vec::new(), Vec::new(), Vec::new());
    for i in 0..REPEATS {
        let into = Cache::new(d.join(format!("fetch-{}-{i}", keys.len())));
        into.prepare().unwrap();
        let t = Instant::now();
        for (k, _) in keys {
            match remote.fetch(&into, k).unwrap() {
                Fetched::Entry(_) => {}
                _ => panic!("{k} not fetched"),
            }
        }
        fetch.push(t.elapsed().as_secs_f64());
        let to = d.join(format!("copy-{}-{i}", keys.len()));
        std::fs::create_dir_all(&to).unwrap();
        let t = Instant::now();
        for (k, _) in keys {
            let Lookup::Hit(e) = source.lookup(k) else {
                unreachable!()
            };
            std::fs::copy(&e.path, to.join(format!("{k}.h5"))).unwrap();
        }
        copy.push(t.elapsed().as_secs_f64());
        let t = Instant::now();
        for (k, _) in keys {
            let ok = Command::new("curl")
                .args(["-sf", "-o"])
                .arg(to.join(format!("{k}.curl")))
                .arg(format!("{url}/{k}.h5"))
                .status()
                .is_ok_and(|s| s.success());
            assert!(ok, "curl {url}/{k}.h5");
        }
        curl.push(t.elapsed().as_secs_f64());
        let _ = std::fs::remove_dir_all(&to);
        let _ = std::fs::remove_dir_all(d.join(format!("fetch-{}-{i}", keys.len())));
    }
    let rate = |s: f64| mb / s;
    println!(
        "  remote, {what} ({} objects, {mb:.1} MB): push {:.0} MB/s ({push:.2} s); fetch + verify {:.0} MB/s; curl GET {:.0} MB/s; local fs::copy {:.0} MB/s (medians of {REPEATS})",
        keys.len(),
        rate(push),
        rate(median(&mut fetch)),
        rate(median(&mut curl)),
        rate(median(&mut copy)),
    );
}

/// A committed entry of `size` pseudo-random bytes (not HDF5: the remote never opens it).
fn make_entry(cache: &Cache, size: usize) -> (String, u64) {
    let fields = KeyFields {
        schema: KEY_SCHEMA,
        kind: "bench".into(),
        version: 1,
        params: serde_json::json!({ "size": size }),
        inputs: Default::default(),
        seed: None,
        content: Vec::new(),
        device: None,
        plugin_version: None,
    };
    let key = fields.key();
    if let Lookup::Hit(_) = cache.lookup(&key) {
        return (key, size as u64);
    }
    let pending = cache.begin(&key).unwrap();
    let mut x = 0x9e3779b97f4a7c15u64;
    let mut data = vec![0u8; size];
    for chunk in data.chunks_mut(8) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        chunk.copy_from_slice(&x.to_le_bytes()[..chunk.len()]);
    }
    std::fs::write(&pending.h5_path, &data).unwrap();
    cache.commit(pending, "bench", "big", &fields, "").unwrap();
    (key, size as u64)
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}
