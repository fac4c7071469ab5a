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

/// Runs `cmd` to its end and returns its exit code and the peak resident memory of the program
/// it runs, in bytes: the kernel's high-water mark of that program's own address space
/// (`VmHWM` in `/proc/PID/status`), read every few milliseconds while it runs.
///
/// Not `wait4`'s `ru_maxrss`: a child started by `posix_spawn` (vfork) runs on the test
/// process's address space until it `exec`s, and Linux carries that space's high-water mark into
/// the child's `ru_maxrss`, so it would report the test process's own peak (hundreds of MB when
/// other tests of this binary have read large sets) whenever that is larger. Readings before the
/// `exec` (while the child still has the test binary's name) are skipped for the same reason.
pub fn peak_rss(mut cmd: std::process::Command, log: &Path) -> (i32, u64) {
    let out = std::fs::File::create(log).unwrap();
    let program = cmd.get_program().to_owned();
    let name: String = Path::new(&program)
        .file_name()
        .unwrap()
        .to_string_lossy()
        .chars()
        .take(15) // the kernel's `comm` length
        .collect();
    let mut child = cmd
        .stdout(out.try_clone().unwrap())
        .stderr(out)
        .spawn()
        .expect("start quakeline");
    let status = format!("/proc/{}/status", child.id());
    let mut peak = 0u64;
    loop {
        if let Ok(text) = std::fs::read_to_string(&status) {
            let field = |key: &str| {
                text.lines()
                    .find_map(|l| l.strip_prefix(key))
                    .map(|v| v.trim().to_string())
            };
            if field("Name:").as_deref() == Some(name.as_str())
                && let Some(kb) = field("VmHWM:")
                    .and_then(|v| v.trim_end_matches("kB").trim().parse::<u64>().ok())
            {
                peak = peak.max(kb * 1024);
            }
        }
        if let Some(st) = child.try_wait().unwrap() {
            assert!(peak > 0, "no reading of {status} while the program ran");
            return (st.code().unwrap_or(-1), peak);
        }
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
}
