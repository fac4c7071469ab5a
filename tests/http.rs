//! The HTTP(S) fetch path, against a small HTTP/1.1 server on 127.0.0.1 that the test starts and
//! that stops by itself after a bounded number of requests.

use crate::util::{Env, iaga};

fn serve(body: Vec<u8>, requests: usize) -> u16 {
    crate::util::serve(vec![("/bou.min ".into(), body)], requests).0
}

fn pipeline(port: u16, path: &str, digest: &str) -> String {
    format!(
        "[pipeline]\nname = \"remote\"\n\n[stage.mag]\nkind = \"fetch.iaga2002\"\nurls = [\"http://127.0.0.1:{port}/{path}\"]\nblake3 = [\"{digest}\"]\n"
    )
}

#[test]
fn downloads_verify_the_pinned_digest_and_parse() {
    let body = std::fs::read(iaga("bou20141101vmin.min")).unwrap();
    let digest = blake3::hash(&body).to_hex().to_string();
    let port = serve(body, 4);
    let env = Env::new();
    let p = env.write("remote.toml", &pipeline(port, "bou.min", &digest));
    let r = env.run(&["run", p.to_str().unwrap()]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stdout.contains("ran      mag"), "{r:?}");
    let f = hdf5::File::open(&env.entries()[0]).unwrap();
    assert_eq!(f.dataset("data").unwrap().shape(), vec![1440, 4]);
    // The key is the content digest, so the same data from a local file shares the entry.
    let local = env.write(
        "local.toml",
        &format!("[pipeline]\nname = \"local\"\n\n[stage.mag]\nkind = \"fetch.iaga2002\"\npaths = [\"{}\"]\n", iaga("bou20141101vmin.min").display()),
    );
    let r = env.run(&["run", local.to_str().unwrap()]);
    assert!(r.stdout.contains("cached   mag"), "{r:?}");
}

#[test]
fn digest_mismatch_is_an_error_naming_the_pin() {
    let body = std::fs::read(iaga("bou20141101vmin.min")).unwrap();
    let port = serve(body, 2);
    let env = Env::new();
    let wrong = "0".repeat(64);
    let p = env.write("remote.toml", &pipeline(port, "bou.min", &wrong));
    let r = env.run(&["run", p.to_str().unwrap()]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.stderr.contains("but the pipeline pins 0000"), "{r:?}");
    assert!(
        r.stderr.contains("remote.toml:7:10 (field `blake3`)"),
        "{r:?}"
    );
    assert!(env.entries().is_empty());
}

#[test]
fn http_errors_are_reported() {
    let port = serve(Vec::new(), 2);
    let env = Env::new();
    let p = env.write(
        "remote.toml",
        &pipeline(port, "missing.min", &"0".repeat(64)),
    );
    let r = env.run(&["run", p.to_str().unwrap()]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(
        r.stderr.contains("cannot download http://127.0.0.1") && r.stderr.contains("404"),
        "{r:?}"
    );
}
