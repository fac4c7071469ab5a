//! The remote cache against a real WebDAV server: nginx from Debian, started by each test on
//! 127.0.0.1 ([`crate::nginx`]). Without nginx these tests say they were skipped; with `CI=true`
//! a missing nginx is a failure.

use std::path::Path;
use std::time::{Duration, Instant};

use crate::nginx::{Nginx, TOKEN, free_port};
use crate::util::{Env, Run};
use crate::workflow::tiny;

/// The tiny workflow without training: three stages, a second each.
fn small() -> String {
    let t = tiny("");
    t[..t.find("[stage.train]").unwrap()].to_string()
}

fn run_in(env: &Env, pipeline: &Path, extra: &[&str]) -> Run {
    let mut args = vec!["run", pipeline.to_str().unwrap()];
    args.extend_from_slice(extra);
    env.run(&args)
}

fn lines<'a>(out: &'a str, word: &str) -> Vec<&'a str> {
    out.lines().filter(|l| l.starts_with(word)).collect()
}

#[test]
fn two_caches_share_a_remote_and_get_identical_metrics() {
    let Some(server) = Nginx::start() else { return };
    let url = server.url("cache/ql");
    let lab_a = Env::new();
    let p = lab_a.write("tiny.toml", &tiny(""));
    let r = run_in(&lab_a, &p, &["--remote", &url, "--push"]);
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(lines(&r.stdout, "ran").len(), 6, "{r:?}");
    assert_eq!(lines(&r.stdout, "pushed").len(), 6, "{r:?}");
    // Data and manifest per entry, no temporary names left behind.
    let objects = server.objects("cache/ql");
    assert_eq!(objects.len(), 12, "{objects:?}");
    assert!(
        objects
            .iter()
            .all(|o| o.ends_with(".h5") || o.ends_with(".json"))
    );

    // A second lab with an empty cache: plan says remote, run computes nothing.
    let lab_b = Env::new();
    let p_b = lab_b.write("tiny.toml", &tiny(""));
    let plan = lab_b.run(&["plan", p_b.to_str().unwrap(), "--remote", &url]);
    assert_eq!(plan.code, 0, "{plan:?}");
    assert_eq!(plan.stdout.matches(" remote ").count(), 6, "{plan:?}");
    let r = run_in(&lab_b, &p_b, &["--remote", &url]);
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(lines(&r.stdout, "fetched").len(), 6, "{r:?}");
    assert!(r.stderr.contains("fetched 6 entries"), "{r:?}");
    assert!(lines(&r.stdout, "ran").is_empty(), "{r:?}");
    assert_eq!(lines(&r.stdout, "cached").len(), 6, "{r:?}");
    let metrics = |env: &Env| std::fs::read(env.path().join("results/tiny/metrics.json")).unwrap();
    assert_eq!(metrics(&lab_a), metrics(&lab_b));
    // The fetched entries are real entries of lab B's cache: a run without the remote uses them.
    let r = run_in(&lab_b, &p_b, &[]);
    assert_eq!(lines(&r.stdout, "cached").len(), 6, "{r:?}");

    // Pushing again uploads nothing; a key never depends on the remote.
    let push = lab_a.run(&["push", p.to_str().unwrap(), "--remote", &url]);
    assert_eq!(push.code, 0, "{push:?}");
    assert!(push.stderr.contains("pushed 0 entries"), "{push:?}");
    assert!(push.stderr.contains("6 already there"), "{push:?}");
    let keys = |env: &Env, extra: &[&str]| {
        let mut args = vec!["plan", p.to_str().unwrap(), "--json"];
        args.extend_from_slice(extra);
        let r = env.run(&args);
        let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
        v.as_array()
            .unwrap()
            .iter()
            .map(|s| s["key"].as_str().unwrap().to_string())
            .collect::<Vec<_>>()
    };
    assert_eq!(keys(&lab_a, &[]), keys(&lab_a, &["--remote", &url]));
}

#[test]
fn a_corrupted_remote_object_is_detected_and_recomputed_never_used() {
    let Some(server) = Nginx::start() else { return };
    let url = server.url("cache/c");
    let lab_a = Env::new();
    let p = lab_a.write("small.toml", &small());
    let r = run_in(&lab_a, &p, &["--remote", &url, "--push"]);
    assert_eq!(r.code, 0, "{r:?}");
    let key_of = |stage: &str| {
        let e = lab_a.entry_path(&p, stage);
        e.file_stem().unwrap().to_string_lossy().into_owned()
    };
    // One data file with a flipped byte, one with its tail cut off, one manifest of another key.
    let flip = server
        .folder("cache/c")
        .join(format!("{}.h5", key_of("synth")));
    let mut bytes = std::fs::read(&flip).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x40;
    std::fs::write(&flip, bytes).unwrap();
    let cut = server
        .folder("cache/c")
        .join(format!("{}.h5", key_of("hp")));
    let bytes = std::fs::read(&cut).unwrap();
    std::fs::write(&cut, &bytes[..bytes.len() - 100]).unwrap();
    let label_json = server
        .folder("cache/c")
        .join(format!("{}.json", key_of("label")));
    let synth_json = server
        .folder("cache/c")
        .join(format!("{}.json", key_of("synth")));
    std::fs::copy(&synth_json, &label_json).unwrap();

    let lab_b = Env::new();
    let p_b = lab_b.write("small.toml", &small());
    let r = run_in(&lab_b, &p_b, &["--remote", &url]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(lines(&r.stdout, "fetched").is_empty(), "{r:?}");
    assert_eq!(lines(&r.stdout, "ran").len(), 3, "{r:?}");
    assert_eq!(
        r.stderr.matches("warning: the remote entry of").count(),
        3,
        "{r:?}"
    );
    assert!(r.stderr.contains("3 failed verification"), "{r:?}");
    assert!(r.stderr.contains("BLAKE3"), "{r:?}");
    assert!(r.stderr.contains("bytes"), "{r:?}");
    assert!(r.stderr.contains("manifest is for key"), "{r:?}");
    // Lab B's entries are its own computations, not the damaged objects, and they verify.
    assert_ne!(
        std::fs::read(lab_b.entry_path(&p_b, "synth")).unwrap(),
        std::fs::read(&flip).unwrap()
    );
    assert_ne!(
        std::fs::metadata(lab_b.entry_path(&p_b, "hp"))
            .unwrap()
            .len(),
        std::fs::metadata(&cut).unwrap().len()
    );
    let r = run_in(&lab_b, &p_b, &[]);
    assert_eq!(lines(&r.stdout, "cached").len(), 3, "{r:?}");
}

#[test]
fn a_remote_that_is_down_failing_or_hung_degrades_to_local_work_with_a_warning() {
    let Some(server) = Nginx::start() else { return };
    let closed = format!("http://127.0.0.1:{}/cache", free_port());
    let hung = Nginx::start().unwrap();
    hung.freeze();
    let cases = [
        ("down", closed, "failed"),
        ("500", server.url("broken/x"), "HTTP 500"),
        ("hung", hung.url("cache/x"), "timeout"),
    ];
    for (what, url, says) in cases {
        let env = Env::new();
        let p = env.write("small.toml", &small());
        let start = Instant::now();
        let r = run_in(
            &env,
            &p,
            &["--remote", &url, "--remote-timeout", "1", "--push"],
        );
        assert_eq!(r.code, 0, "{what}: {r:?}");
        assert_eq!(lines(&r.stdout, "ran").len(), 3, "{what}: {r:?}");
        // One warning for the fetches; the remote is not asked again for every stage.
        assert_eq!(
            r.stderr.matches("is unavailable").count(),
            1,
            "{what}: {r:?}"
        );
        assert!(r.stderr.contains(says), "{what}: {r:?}");
        assert!(r.stderr.contains("could not push"), "{what}: {r:?}");
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "{what}: the timeout is not honoured ({:?})",
            start.elapsed()
        );
    }
}

#[test]
fn a_token_the_server_refuses_is_a_clear_error_and_the_right_one_works() {
    let Some(server) = Nginx::start() else { return };
    let url = server.url("auth/t");
    let env = Env::new();
    let p = env.write("small.toml", &small());
    for token in [None, Some("wrong")] {
        let mut cmd = env.cmd(&["run", p.to_str().unwrap(), "--remote", &url]);
        match token {
            Some(t) => cmd.env("QUAKELINE_REMOTE_TOKEN", t),
            None => cmd.env_remove("QUAKELINE_REMOTE_TOKEN"),
        };
        let r: Run = cmd.output().unwrap().into();
        assert_eq!(r.code, 2, "{token:?}: {r:?}");
        assert!(r.stderr.contains("HTTP 401"), "{r:?}");
        assert!(r.stderr.contains("QUAKELINE_REMOTE_TOKEN"), "{r:?}");
        assert!(lines(&r.stdout, "ran").is_empty(), "nothing runs: {r:?}");
    }
    let r: Run = env
        .cmd(&["run", p.to_str().unwrap(), "--remote", &url, "--push"])
        .env("QUAKELINE_REMOTE_TOKEN", TOKEN)
        .output()
        .unwrap()
        .into();
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(lines(&r.stdout, "pushed").len(), 3, "{r:?}");
    assert_eq!(server.objects("auth/t").len(), 6);
}

#[test]
fn read_only_never_writes_and_a_site_profile_gives_the_default() {
    let Some(server) = Nginx::start() else { return };
    let url = server.url("cache/ro");
    let env = Env::new();
    let p = env.write("small.toml", &small());
    let r = run_in(
        &env,
        &p,
        &["--remote", &url, "--remote-read-only", "--push"],
    );
    assert_eq!(r.code, 2, "{r:?}");
    assert!(r.stderr.contains("read-only"), "{r:?}");
    let site = env.write(
        "site.toml",
        &format!("[remote]\nurl = \"{url}\"\nread_only = true\ntimeout = \"5s\"\n"),
    );
    let r: Run = env
        .cmd(&["run", p.to_str().unwrap()])
        .env("QUAKELINE_SITE", &site)
        .output()
        .unwrap()
        .into();
    assert_eq!(r.code, 0, "{r:?}");
    let push: Run = env
        .cmd(&["push", p.to_str().unwrap()])
        .env("QUAKELINE_SITE", &site)
        .output()
        .unwrap()
        .into();
    assert_eq!(push.code, 2, "{push:?}");
    assert!(push.stderr.contains("read-only"), "{push:?}");
    assert!(server.objects("cache/ro").is_empty());
    // A mistake in the profile names its line.
    let bad = env.write("bad.toml", "[remote]\nurl = \"x\"\nretries = 3\n");
    let r: Run = env
        .cmd(&["plan", p.to_str().unwrap()])
        .env("QUAKELINE_SITE", &bad)
        .output()
        .unwrap()
        .into();
    assert_eq!(r.code, 2, "{r:?}");
    assert!(
        r.stderr.contains("unknown setting `retries` in [remote]"),
        "{r:?}"
    );
    assert!(r.stderr.contains("bad.toml:3"), "{r:?}");
}

#[test]
fn https_uses_the_platform_trust_store_and_refuses_an_unknown_authority() {
    let Some(server) = Nginx::start_tls() else {
        return;
    };
    let url = server.url("cache/tls");
    let ca = server.ca.clone().unwrap();
    let env = Env::new();
    let p = env.write("small.toml", &small());
    // The lab's CA in the trust store (SSL_CERT_FILE is how OpenSSL-style stores are pointed
    // elsewhere; rustls-platform-verifier reads it on Linux).
    let r: Run = env
        .cmd(&["run", p.to_str().unwrap(), "--remote", &url, "--push"])
        .env("SSL_CERT_FILE", &ca)
        .output()
        .unwrap()
        .into();
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(lines(&r.stdout, "pushed").len(), 3, "{r:?}");
    assert!(!r.stderr.contains("warning"), "{r:?}");
    // Without it the server's certificate is not trusted: nothing is sent, work stays local.
    let other = Env::new();
    let p = other.write("small.toml", &small());
    let r: Run = other
        .cmd(&["run", p.to_str().unwrap(), "--remote", &url])
        .env("SSL_CERT_FILE", other.path().join("no-such-file.pem"))
        .output()
        .unwrap()
        .into();
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(lines(&r.stdout, "ran").len(), 3, "{r:?}");
    assert!(r.stderr.contains("is unavailable"), "{r:?}");
    assert!(r.stderr.to_lowercase().contains("certificate"), "{r:?}");
}
