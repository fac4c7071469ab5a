//! A remote cache shared between machines and labs: plain HTTP on a WebDAV server.
//!
//! ```text
//! GET/HEAD <url>/<key>.json      the entry's manifest (the commit point, as in the local cache)
//! GET      <url>/<key>.h5        its data
//! PUT      <url>/<key>.h5.<nonce>.part, then MOVE to <url>/<key>.h5   (push: data first,
//! PUT      <url>/<key>.json.<nonce>.part, then MOVE to <url>/<key>.json  manifest last)
//! ```
//!
//! The layout is the one Bazel's HTTP remote cache and sccache's WebDAV backend use: one object
//! per key, addressed by name, nothing to list. A reader asks for the manifest first, and a
//! writer moves the manifest into place last, so a reader never sees a manifest whose data is
//! still being uploaded; the upload itself goes to a temporary name and is renamed with WebDAV's
//! `MOVE` (RFC 4918 §9.9), so no reader ever sees half a file.
//!
//! Trust: a fetched manifest must hash to its own key ([`Manifest::check`]) and the data must
//! match the manifest's size and BLAKE3 before anything opens it ([`Cache::install`]) — a
//! corrupted or truncated object is reported and recomputed, never used. What a remote cannot
//! prove is that the data is what the key's computation produces: that is only as trustworthy
//! as the people who can write to the server (the same as Bazel's remote cache). Read-only use
//! (`--remote-read-only`) never writes.
//!
//! A server that cannot be reached, times out or answers 5xx makes the remote *unavailable*:
//! one warning, and the run goes on computing locally without asking it again. A server that
//! refuses the credentials (401/403) is an error the user has to fix, not a reason to recompute
//! hours of work silently.

use std::io::Read;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use ureq::http::{Method, Request};

use super::{Cache, CacheError, Entry, Manifest};

/// The environment variable holding the bearer token sent to the remote.
pub const TOKEN_VAR: &str = "QUAKELINE_REMOTE_TOKEN";

/// Largest manifest accepted from a server (a manifest is a few kB).
const MAX_MANIFEST: u64 = 1 << 20;

/// How to reach a remote cache: `--remote`, `--remote-read-only`, `--remote-timeout` or a site
/// profile's `[remote]` table.
#[derive(Clone, Debug)]
pub struct RemoteSettings {
    pub url: String,
    pub read_only: bool,
    /// Connecting, and each read or write on the connection; a large object may take longer in
    /// all, as long as bytes keep coming.
    pub timeout: Duration,
}

impl RemoteSettings {
    pub fn new(url: &str) -> RemoteSettings {
        RemoteSettings {
            url: url.to_string(),
            read_only: false,
            timeout: Duration::from_secs(30),
        }
    }
}

/// Why the remote could not be used.
#[derive(Debug, thiserror::Error)]
pub enum RemoteError {
    /// Down, unreachable, too slow or failing (5xx): work goes on without it.
    #[error("{0}")]
    Unavailable(String),
    /// The server refuses the credentials: the user must fix the token or the URL.
    #[error("{0}")]
    Refused(String),
    /// The local cache could not take the entry.
    #[error(transparent)]
    Local(#[from] CacheError),
}

/// What a fetch found.
pub enum Fetched {
    Entry(Box<Entry>),
    Absent,
    /// The server holds something under this key that does not verify; it is not used.
    Corrupt(String),
}

/// What a push did.
pub enum Pushed {
    Uploaded(u64),
    AlreadyThere,
}

pub struct Remote {
    base: String,
    token: Option<String>,
    read_only: bool,
    agent: ureq::Agent,
    /// Set on the first failure that makes the remote unavailable; later calls return it without
    /// asking the server again (one timeout per run, not one per stage).
    unavailable: Mutex<Option<String>>,
}

static NONCE: AtomicU64 = AtomicU64::new(0);

impl Remote {
    /// A client for `settings` with the bearer token of `$QUAKELINE_REMOTE_TOKEN`, if set.
    pub fn new(settings: &RemoteSettings) -> Result<Remote, String> {
        let url = settings.url.trim_end_matches('/');
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            return Err(format!(
                "remote cache `{}` is not an http(s) URL",
                settings.url
            ));
        }
        let token = std::env::var(TOKEN_VAR).ok().filter(|t| !t.is_empty());
        let t = Some(settings.timeout);
        let tls = ureq::tls::TlsConfig::builder()
            .root_certs(ureq::tls::RootCerts::PlatformVerifier)
            .build();
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .allow_non_standard_methods(true)
            .max_redirects(0)
            .timeout_connect(t)
            .timeout_send_request(t)
            .timeout_recv_response(t)
            .timeout_per_read(t)
            .timeout_per_write(t)
            .tls_config(tls)
            .build()
            .into();
        Ok(Remote {
            base: format!("{url}/"),
            token,
            read_only: settings.read_only,
            agent,
            unavailable: Mutex::new(None),
        })
    }

    /// The URL, for messages.
    pub fn url(&self) -> &str {
        self.base.trim_end_matches('/')
    }

    pub fn read_only(&self) -> bool {
        self.read_only
    }

    fn object(&self, key: &str, ext: &str) -> String {
        format!("{}{key}.{ext}", self.base)
    }

    /// Sends one request; statuses the caller does not handle become errors.
    fn call(
        &self,
        method: Method,
        url: &str,
        headers: &[(&str, String)],
        body: Option<&mut std::fs::File>,
    ) -> Result<ureq::http::Response<ureq::Body>, RemoteError> {
        if let Some(why) = self.unavailable.lock().ok().and_then(|u| u.clone()) {
            return Err(RemoteError::Unavailable(why));
        }
        let mut builder = Request::builder().method(method.clone()).uri(url);
        if let Some(t) = &self.token {
            builder = builder.header("Authorization", format!("Bearer {t}"));
        }
        for (k, v) in headers {
            builder = builder.header(*k, v);
        }
        let sent = match body {
            Some(file) => builder
                .body(&*file)
                .map_err(|e| RemoteError::Unavailable(format!("{method} {url}: {e}")))
                .and_then(|r| self.send(r, &method, url)),
            None => builder
                .body(())
                .map_err(|e| RemoteError::Unavailable(format!("{method} {url}: {e}")))
                .and_then(|r| self.send(r, &method, url)),
        }?;
        let status = sent.status().as_u16();
        match status {
            401 | 403 => Err(RemoteError::Refused(format!(
                "the remote cache refused {method} {url} (HTTP {status}): {}",
                if self.token.is_some() {
                    format!("check the token in ${TOKEN_VAR}")
                } else {
                    format!("it needs a bearer token in ${TOKEN_VAR}")
                }
            ))),
            500..=599 => Err(self.mark(format!(
                "the remote cache answered {method} {url} with HTTP {status}"
            ))),
            _ => Ok(sent),
        }
    }

    fn send(
        &self,
        request: Request<impl ureq::AsSendBody>,
        method: &Method,
        url: &str,
    ) -> Result<ureq::http::Response<ureq::Body>, RemoteError> {
        self.agent
            .run(request)
            .map_err(|e| self.mark(format!("{method} {url} failed: {e}")))
    }

    fn mark(&self, why: String) -> RemoteError {
        if let Ok(mut u) = self.unavailable.lock() {
            u.get_or_insert_with(|| why.clone());
        }
        RemoteError::Unavailable(why)
    }

    /// Whether the server holds a manifest for `key` (HEAD; nothing is downloaded).
    pub fn has(&self, key: &str) -> Result<bool, RemoteError> {
        let url = self.object(key, "json");
        let r = self.call(Method::HEAD, &url, &[], None)?;
        match r.status().as_u16() {
            200 => Ok(true),
            404 => Ok(false),
            s => Err(self.mark(format!("HEAD {url}: unexpected HTTP {s}"))),
        }
    }

    /// Downloads the entry of `key` into `cache` if the server has it: the manifest, checked
    /// against the key, then the data, streamed into the cache and verified before it is
    /// committed.
    pub fn fetch(&self, cache: &Cache, key: &str) -> Result<Fetched, RemoteError> {
        let url = self.object(key, "json");
        let mut r = self.call(Method::GET, &url, &[], None)?;
        match r.status().as_u16() {
            200 => {}
            404 => return Ok(Fetched::Absent),
            s => return Err(self.mark(format!("GET {url}: unexpected HTTP {s}"))),
        }
        let mut text = Vec::new();
        r.body_mut()
            .as_reader()
            .take(MAX_MANIFEST)
            .read_to_end(&mut text)
            .map_err(|e| self.mark(format!("GET {url} broke off: {e}")))?;
        let manifest: Manifest = match serde_json::from_slice(&text) {
            Ok(m) => m,
            Err(e) => return Ok(Fetched::Corrupt(format!("its manifest is not valid: {e}"))),
        };
        if manifest.key != key {
            return Ok(Fetched::Corrupt(format!(
                "its manifest is for key {}",
                manifest.key
            )));
        }
        if let Err(why) = manifest.check() {
            return Ok(Fetched::Corrupt(why));
        }
        let url = self.object(key, "h5");
        let mut r = self.call(Method::GET, &url, &[], None)?;
        match r.status().as_u16() {
            200 => {}
            404 => return Ok(Fetched::Corrupt("its manifest has no data file".into())),
            s => return Err(self.mark(format!("GET {url}: unexpected HTTP {s}"))),
        }
        let mut body = Tracked {
            inner: r.body_mut().as_reader(),
            error: None,
        };
        match cache.install(&manifest, &mut body) {
            Ok(entry) => Ok(Fetched::Entry(Box::new(entry))),
            Err(e) => match body.error {
                Some(io) => Err(self.mark(format!("GET {url} broke off: {io}"))),
                None => match e {
                    CacheError::Invalid { reason, .. } => Ok(Fetched::Corrupt(reason)),
                    other => Err(RemoteError::Local(other)),
                },
            },
        }
    }

    /// Uploads a local entry unless the server already has it: data to a temporary name, MOVE,
    /// then the manifest the same way.
    pub fn push(&self, cache: &Cache, entry: &Entry) -> Result<Pushed, RemoteError> {
        let key = &entry.manifest.key;
        if self.has(key)? {
            let url = self.object(key, "h5");
            let r = self.call(Method::HEAD, &url, &[], None)?;
            let len = r
                .headers()
                .get("content-length")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse::<u64>().ok());
            if r.status().as_u16() == 200 && len == Some(entry.manifest.size) {
                return Ok(Pushed::AlreadyThere);
            }
        }
        self.upload(&entry.path, &self.object(key, "h5"))?;
        self.upload(&cache.manifest_path(key), &self.object(key, "json"))?;
        Ok(Pushed::Uploaded(entry.manifest.size))
    }

    fn upload(&self, path: &std::path::Path, url: &str) -> Result<(), RemoteError> {
        let mut file = std::fs::File::open(path).map_err(|source| {
            RemoteError::Local(CacheError::Io {
                action: "read",
                path: path.to_path_buf(),
                source,
            })
        })?;
        let nonce = format!(
            "{}.{}.{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos()),
            NONCE.fetch_add(1, Ordering::Relaxed)
        );
        let part = format!("{url}.{nonce}.part");
        let r = self.call(Method::PUT, &part, &[], Some(&mut file))?;
        let s = r.status().as_u16();
        if !(200..300).contains(&s) {
            return Err(self.mark(format!("PUT {part}: HTTP {s}")));
        }
        let mv = Method::from_bytes(b"MOVE")
            .map_err(|e| RemoteError::Unavailable(format!("MOVE: {e}")))?;
        let r = self.call(
            mv,
            &part,
            &[("Destination", url.to_string()), ("Overwrite", "T".into())],
            None,
        )?;
        let s = r.status().as_u16();
        if !(200..300).contains(&s) {
            let _ = self.call(Method::DELETE, &part, &[], None);
            let why = if s == 405 || s == 501 {
                format!(
                    "the server does not support WebDAV MOVE (HTTP {s}); pushing needs a WebDAV server (e.g. nginx with dav_methods PUT DELETE MKCOL MOVE)"
                )
            } else {
                format!("MOVE {part} to {url}: HTTP {s}")
            };
            return Err(self.mark(why));
        }
        Ok(())
    }
}

/// A body reader that remembers whether the network failed (as opposed to the data being wrong).
struct Tracked<R> {
    inner: R,
    error: Option<std::io::Error>,
}

impl<R: Read> Read for Tracked<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.inner.read(buf).inspect_err(|e| {
            self.error = Some(std::io::Error::new(e.kind(), e.to_string()));
        })
    }
}
