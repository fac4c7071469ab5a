//! An nginx WebDAV server for the remote cache's tests and benchmark: Debian's nginx (`.ci/nginx`
//! installs it), started on 127.0.0.1 with its own configuration and folder, stopped on drop.
//! Without nginx, `start` says the caller is skipped; with `CI=true` a missing nginx is a failure.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const TOKEN: &str = "lab-token-7f3a";

/// An nginx serving `/cache/` (WebDAV), `/auth/` (WebDAV behind a bearer token) and `/broken/`
/// (always HTTP 500) from its own temp folder.
pub struct Nginx {
    child: Child,
    dir: tempfile::TempDir,
    pub port: u16,
    /// With TLS: the certificate authority that signed the server's certificate (PEM).
    pub ca: Option<PathBuf>,
}

fn nginx_binary() -> Option<PathBuf> {
    ["/usr/sbin/nginx", "/usr/local/sbin/nginx", "/usr/bin/nginx"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
}

pub fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

impl Nginx {
    /// Starts one, or says why not (and fails under CI).
    pub fn start() -> Option<Nginx> {
        Nginx::start_with(false)
    }

    /// Starts one serving HTTPS with a certificate for 127.0.0.1 signed by a throwaway CA
    /// (`ca`), made here with openssl.
    pub fn start_tls() -> Option<Nginx> {
        Nginx::start_with(true)
    }

    fn start_with(tls: bool) -> Option<Nginx> {
        let Some(bin) = nginx_binary() else {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "CI=true but nginx is not installed: .ci/run installs it with `.ci/nginx install`"
            );
            eprintln!("skipped: nginx is not installed (`.ci/nginx install`)");
            return None;
        };
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        for sub in ["data/cache", "data/auth", "logs", "tmp"] {
            std::fs::create_dir_all(d.join(sub)).unwrap();
        }
        let root = running_as_root();
        let ca = tls.then(|| make_certificates(d));
        let ssl = if tls {
            format!(
                "ssl;\n    ssl_certificate {d}/server.pem;\n    ssl_certificate_key {d}/server.key;",
                d = d.display()
            )
        } else {
            ";".to_string()
        };
        for _ in 0..5 {
            let port = free_port();
            let conf = format!(
                r#"{user}
worker_processes 1;
pid {d}/nginx.pid;
error_log {d}/logs/error.log warn;
events {{ worker_connections 64; }}
http {{
  access_log {d}/logs/access.log;
  client_body_temp_path {d}/tmp;
  client_max_body_size 0;
  server {{
    listen 127.0.0.1:{port} {ssl}
    root {d}/data;
    location /cache/ {{
      dav_methods PUT DELETE MKCOL MOVE;
      create_full_put_path on;
    }}
    location /auth/ {{
      if ($http_authorization != "Bearer {TOKEN}") {{ return 401; }}
      dav_methods PUT DELETE MKCOL MOVE;
      create_full_put_path on;
    }}
    location /broken/ {{ return 500; }}
  }}
}}
"#,
                user = if root { "user root;" } else { "" },
                d = d.display()
            );
            std::fs::write(d.join("nginx.conf"), conf).unwrap();
            let mut child = Command::new(&bin)
                .args(["-p", &d.display().to_string(), "-c"])
                .arg(d.join("nginx.conf"))
                .args(["-g", "daemon off;"])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("start nginx");
            let start = Instant::now();
            while start.elapsed() < Duration::from_secs(10) {
                if let Ok(Some(_)) = child.try_wait() {
                    break; // port taken or bad config: try another port
                }
                if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                    return Some(Nginx {
                        child,
                        dir,
                        port,
                        ca,
                    });
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        panic!(
            "nginx did not start: {}",
            std::fs::read_to_string(d.join("logs/error.log")).unwrap_or_default()
        );
    }

    pub fn url(&self, location: &str) -> String {
        let scheme = if self.ca.is_some() { "https" } else { "http" };
        format!("{scheme}://127.0.0.1:{}/{location}", self.port)
    }

    /// The folder nginx serves `location` from.
    pub fn folder(&self, location: &str) -> PathBuf {
        self.dir.path().join("data").join(location)
    }

    /// Objects stored under `location`, by file name.
    pub fn objects(&self, location: &str) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(self.folder(location))
            .map(|d| {
                d.flatten()
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        v.sort();
        v
    }

    /// Freezes every nginx process (SIGSTOP): the kernel still accepts connections, nobody
    /// answers — a hung server.
    pub fn freeze(&self) {
        let pid = self.child.id().to_string();
        let workers = Command::new("pgrep").args(["-P", &pid]).output().unwrap();
        let mut pids = vec![pid];
        pids.extend(
            String::from_utf8_lossy(&workers.stdout)
                .split_whitespace()
                .map(str::to_string),
        );
        let ok = Command::new("kill")
            .arg("-STOP")
            .args(&pids)
            .status()
            .unwrap();
        assert!(ok.success());
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let pid = self.child.id().to_string();
        let _ = Command::new("pkill").args(["-CONT", "-P", &pid]).status();
        let _ = Command::new("kill").args(["-CONT", &pid]).status();
        let _ = self.child.kill();
        let _ = self.child.wait();
        // Workers of a killed master exit on their own; make sure.
        let _ = Command::new("pkill").args(["-KILL", "-P", &pid]).status();
    }
}

fn running_as_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

/// A CA and a server certificate for IP 127.0.0.1 signed by it, in `d`; returns the CA's PEM.
fn make_certificates(d: &std::path::Path) -> PathBuf {
    let openssl = |args: &[&str]| {
        let out = Command::new("openssl")
            .args(args)
            .current_dir(d)
            .output()
            .expect("openssl (Debian's openssl package) makes the test certificates");
        assert!(
            out.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    let ext = d.join("server.ext");
    std::fs::write(
        &ext,
        "basicConstraints=CA:FALSE\nsubjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n",
    )
    .unwrap();
    openssl(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
        "-days",
        "2",
        "-subj",
        "/CN=quakeline test CA",
    ]);
    openssl(&[
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "server.key",
        "-out",
        "server.csr",
        "-subj",
        "/CN=127.0.0.1",
    ]);
    openssl(&[
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "server.pem",
        "-days",
        "2",
        "-extfile",
        "server.ext",
    ]);
    d.join("ca.pem")
}
