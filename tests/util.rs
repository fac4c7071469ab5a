use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The repository root.
pub fn repo_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn data_dir() -> PathBuf {
    repo_dir().join("tests/data")
}

pub fn iaga(name: &str) -> PathBuf {
    data_dir().join("iaga2002").join(name)
}

/// A temp directory with its own cache and results, and helpers to run quakeline in it.
pub struct Env {
    pub dir: tempfile::TempDir,
}

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl std::fmt::Debug for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "exit {}\n--- stdout\n{}\n--- stderr\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

impl From<Output> for Run {
    fn from(o: Output) -> Run {
        Run {
            code: o.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }
}

impl Env {
    pub fn new() -> Env {
        Env {
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn cache(&self) -> PathBuf {
        self.path().join("cache")
    }

    pub fn write(&self, rel: &str, text: &str) -> PathBuf {
        let p = self.path().join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, text).unwrap();
        p
    }

    /// `quakeline ARGS` in this directory with its own cache; no colours, no inherited cache variable.
    pub fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_quakeline"));
        c.args(args)
            .current_dir(self.path())
            .env("QUAKELINE_CACHE", self.cache())
            .env("NO_COLOR", "1")
            .env_remove("CLICOLOR_FORCE");
        c
    }

    pub fn run(&self, args: &[&str]) -> Run {
        self.cmd(args).output().expect("run quakeline").into()
    }

    /// The cached entry of `stage` in `pipeline`, located with `quakeline plan --json`.
    pub fn entry(&self, pipeline: &Path, stage: &str) -> hdf5::File {
        hdf5::File::open(self.entry_path(pipeline, stage)).unwrap()
    }

    /// Where the entry of `stage` in `pipeline` lives (or would live) in this cache.
    pub fn entry_path(&self, pipeline: &Path, stage: &str) -> PathBuf {
        let plan = self.run(&["plan", pipeline.to_str().unwrap(), "--json"]);
        let rows: serde_json::Value =
            serde_json::from_str(&plan.stdout).unwrap_or_else(|_| panic!("{plan:?}"));
        let row = rows
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["stage"] == stage)
            .unwrap_or_else(|| panic!("no stage {stage}"));
        let key = row["key"].as_str().unwrap();
        self.cache()
            .join("objects")
            .join(&key[..2])
            .join(format!("{key}.h5"))
    }

    /// Committed entries: `.h5` files whose manifest exists (the manifest is the commit point; a
    /// process killed between moving the file in and writing the manifest leaves an `.h5` the
    /// cache rightly treats as missing).
    pub fn committed(&self) -> Vec<PathBuf> {
        self.entries()
            .into_iter()
            .filter(|p| p.with_extension("json").exists())
            .collect()
    }

    /// Entries (`.h5` files) in the cache's objects directory.
    pub fn entries(&self) -> Vec<PathBuf> {
        let mut out = Vec::new();
        if let Ok(shards) = std::fs::read_dir(self.cache().join("objects")) {
            for s in shards.flatten() {
                for f in std::fs::read_dir(s.path()).unwrap().flatten() {
                    if f.path().extension().is_some_and(|e| e == "h5") {
                        out.push(f.path());
                    }
                }
            }
        }
        out.sort();
        out
    }
}

/// The quickstart's stage layout over the BOU week, as a pipeline text with absolute data paths.
pub fn bou_pipeline(name: &str) -> String {
    format!(
        r#"[pipeline]
name = "{name}"
seed = 1

[stage.mag]
kind = "fetch.iaga2002"
paths = ["{}/bou2014110*vmin.min"]

[stage.filled]
kind = "gapfill"
input = "mag"
max_gap = "3m"

[stage.detrended]
kind = "filter"
input = "filled"
type = "highpass"
corners_hz = [0.0002]

[stage.smoothed]
kind = "filter"
input = "filled"
type = "lowpass"
corners_hz = [0.001]
"#,
        data_dir().join("iaga2002").display()
    )
}

/// A small HTTP/1.1 server on 127.0.0.1 for at most `requests` connections: the first route whose
/// prefix starts the request target (`"/path "` for an exact match) answers 200 with its body, others
/// 404. Returns the port and a receiver of the request lines it saw. It stops by itself.
pub fn serve(
    routes: Vec<(String, Vec<u8>)>,
    requests: usize,
) -> (u16, std::sync::mpsc::Receiver<String>) {
    use std::io::{BufRead, BufReader, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let (tx, rx) = std::sync::mpsc::channel();
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
            let target = request_line.split_once(' ').map(|(_, t)| t).unwrap_or("");
            let response = match routes
                .iter()
                .find(|(prefix, _)| target.starts_with(prefix.as_str()))
            {
                Some((_, body)) => {
                    let mut r = format!(
                        "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                        body.len()
                    )
                    .into_bytes();
                    r.extend_from_slice(body);
                    r
                }
                None => b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                    .to_vec(),
            };
            let _ = tx.send(request_line.trim_end().to_string());
            let _ = stream.write_all(&response);
        }
    });
    (port, rx)
}

/// Runs `cmd` to its end and returns its exit code and peak resident memory in bytes (`wait4`
/// on this child alone: other tests' processes do not count).
// The child is reaped by `wait4` below, which `Child::wait` cannot replace (it gives no rusage).
#[allow(clippy::zombie_processes)]
pub fn peak_rss(mut cmd: std::process::Command, log: &Path) -> (i32, u64) {
    let out = std::fs::File::create(log).unwrap();
    let child = cmd
        .stdout(out.try_clone().unwrap())
        .stderr(out)
        .spawn()
        .expect("start quakeline");
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `pid` is our own child, not waited for by anything else (`child` is never
    // waited on; dropping it does not wait); `status` and `usage` are valid for writing.
    let r = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    assert_eq!(r, pid, "wait4: {}", std::io::Error::last_os_error());
    let code = if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else {
        -1
    };
    (code, usage.ru_maxrss as u64 * 1024)
}
