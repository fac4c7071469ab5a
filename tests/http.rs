//! The HTTP(S) fetch path, against a small HTTP/1.1 server on 127.0.0.1 that the test starts and
//! that stops by itself after a bounded number of requests.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;

use crate::util::{Env, iaga};

/// Serves `body` at `/bou.min` (404 elsewhere) for at most `requests` connections.
fn serve(body: Vec<u8>, requests: usize) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming().take(requests) {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut request_line = String::new();
            reader.read_line(&mut request_line).unwrap_or(0);
            let mut line = String::new();
            while reader.read_line(&mut line).map(|n| n > 2).unwrap_or(false) {
                line.clear();
            }
            let response = if request_line.starts_with("GET /bou.min ") {
                let mut r = format!(
                    "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    body.len()
                )
                .into_bytes();
                r.extend_from_slice(&body);
                r
            } else {
                b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".to_vec()
            };
            let _ = stream.write_all(&response);
        }
    });
    port
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
