//! kill -9 at many moments during runs: every entry that exists verifies and opens, and a final run
//! completes from whatever was left.

use std::time::Duration;

use crate::util::{Env, bou_pipeline};

#[test]
fn kill_9_never_leaves_a_bad_entry() {
    let env = Env::new();
    // More stages so kills land in every phase: parse, filter, HDF5 write, fsync, rename, manifest.
    let mut text = bou_pipeline("crash");
    for order in 1..=6 {
        text += &format!(
            "\n[stage.lp{order}]\nkind = \"filter\"\ninput = \"filled\"\ntype = \"lowpass\"\ncorners_hz = [0.002]\norder = {order}\n"
        );
    }
    let p = env.write("crash.toml", &text);
    let p = p.to_str().unwrap();
    // A fixed pseudo-random sequence of delays (xorshift), so failures reproduce.
    let mut state = 0x2545_f491_4f6c_dd1du64;
    for round in 0..25 {
        if round % 8 == 0 {
            // Start over now and then so early phases (fetch) are hit again.
            let _ = std::fs::remove_dir_all(env.cache());
        }
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let delay = Duration::from_micros(state % 150_000);
        let mut child = env.cmd(&["run", p, "-q", "-j", "2"]).spawn().unwrap();
        std::thread::sleep(delay);
        let _ = child.kill();
        let _ = child.wait();
        for h5 in env.entries() {
            let manifest = h5.with_extension("json");
            if !manifest.exists() {
                // Data renamed in but not yet committed: not an entry; must not be used.
                continue;
            }
            let m: serde_json::Value =
                serde_json::from_str(&std::fs::read_to_string(&manifest).unwrap()).unwrap();
            let bytes = std::fs::read(&h5).unwrap();
            assert_eq!(
                blake3::hash(&bytes).to_hex().as_str(),
                m["blake3"].as_str().unwrap(),
                "round {round}: {}",
                h5.display()
            );
            hdf5::File::open(&h5)
                .unwrap_or_else(|e| panic!("round {round}: {} does not open: {e}", h5.display()));
        }
    }
    // Temp files of the killed runs are cleaned up once their locks are free and a moment old.
    std::thread::sleep(Duration::from_millis(2100));
    let r = env.run(&["run", p]);
    assert_eq!(r.code, 0, "{r:?}");
    let leftover: Vec<_> = std::fs::read_dir(env.cache().join("tmp"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert!(leftover.is_empty(), "{leftover:?}");
    let r = env.run(&["run", p]);
    assert_eq!(
        r.stdout.lines().filter(|l| l.starts_with("cached")).count(),
        10,
        "{r:?}"
    );
}

/// `quakeline plan x.toml | head -1`: the reader closes the pipe, and quakeline stops as `cat`
/// would (status 141, nothing on stderr), for a listing and for a run's progress lines, instead
/// of panicking with "failed printing to stdout". The read end is closed before quakeline
/// starts, so its first write fails every time.
#[test]
fn a_closed_stdout_pipe_ends_quietly() {
    let env = Env::new();
    let p = env.write("bou.toml", &bou_pipeline("bou"));
    let p = p.to_str().unwrap();
    for args in [
        vec!["model", "summary", "fmnet"],
        vec!["stages"],
        vec!["plan", p],
        vec!["run", p],
    ] {
        // The read end is closed before quakeline starts (a piped stdout dropped after spawning
        // would race with a fast command that writes everything into the pipe's buffer first).
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        let out = env
            .cmd(&args)
            .stdout(writer)
            .stderr(std::process::Stdio::piped())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(141), "{args:?}: {stderr}");
        assert!(stderr.is_empty(), "{args:?}: {stderr}");
    }
    // The interrupted run left only complete entries; a rerun finishes from them.
    let r = env.run(&["run", p]);
    assert_eq!(r.code, 0, "{r:?}");
}
