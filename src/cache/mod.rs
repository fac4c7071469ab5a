//! The content-addressed store of stage outputs.
//!
//! ```text
//! <cache>/objects/ab/<key>.h5        the output: one immutable HDF5 file per stage output
//! <cache>/objects/ab/<key>.json      its manifest (BLAKE3 digest, size, key fields); the commit point
//! <cache>/objects/ab/<key>.verified  memo of the last digest check: inode, size, mtime, digest
//! <cache>/tmp/                       files being written (`<key>.<pid>.<n>.*`), each guarded by a held
//!                                    `.lock`; a later run deletes those whose lock is free (dead runs),
//!                                    and `.part` files of manifests/memos whose writer has exited
//! <cache>/locks/<key>.lock           per-key lock so two runs do not compute the same entry twice
//! ```
//!
//! An entry exists only when its manifest exists and the `.h5` file's digest matches it. The digest
//! is checked before the file is handed to HDF5 (HDF5 1.10 can crash on corrupted files); a mismatch
//! is reported as a warning and the entry is recomputed. The check is memoised by (inode, size,
//! mtime) so a large entry is hashed once, not on every run.
//!
//! Writes go to a temp file in `tmp/` (same file system), are fsynced, and renamed into place; the
//! manifest is written the same way, last. A run killed at any instant leaves no entry or a complete
//! one. The per-key lock avoids duplicate work between concurrent runs; the rename keeps them safe
//! even without it.

pub mod key;
pub mod remote;

use std::fs::{self, File};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use serde::{Deserialize, Serialize};

pub use key::{KEY_SCHEMA, KeyChange, KeyFields};

/// Version of the manifest format.
///
/// # Changelog
/// - 1: first version.
pub const MANIFEST_FORMAT: u32 = 1;

#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum CacheError {
    #[error("cannot {action} {}: {source}", path.display())]
    #[diagnostic(help(
        "the cache must be a writable directory; choose another with --cache DIR or QUAKELINE_CACHE"
    ))]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cache entry {key} is not valid: {reason}")]
    #[diagnostic(help("run the pipeline again to recompute it"))]
    Invalid { key: String, reason: String },
}

fn io<'a>(action: &'static str, path: &'a Path) -> impl FnOnce(std::io::Error) -> CacheError + 'a {
    move |source| CacheError::Io {
        action,
        path: path.to_path_buf(),
        source,
    }
}

/// What [`Cache::lookup`] found.
pub enum Lookup {
    Hit(Box<Entry>),
    Missing,
    /// A manifest exists but the entry does not verify; treat as missing, and warn.
    Invalid(String),
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Manifest {
    pub format: u32,
    pub key: String,
    pub blake3: String,
    pub size: u64,
    pub pipeline: String,
    pub stage: String,
    pub kind: String,
    pub created: String,
    /// The machine that computed the entry ([`crate::machine::describe`]); results are
    /// bit-identical on one machine, not across CPUs. Absent in entries written before it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub machine: Option<String>,
    pub fields: KeyFields,
}

impl Manifest {
    /// Whether a manifest that comes from outside describes what it claims: its format, a key of
    /// 64 hex digits that its own key fields hash to (so a manifest cannot file one computation
    /// under another's key), and a digest of 64 hex digits. The data is checked against it by
    /// [`Cache::install`].
    pub fn check(&self) -> Result<(), String> {
        let hex64 = |s: &str| {
            s.len() == 64
                && s.bytes()
                    .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
        };
        if self.format != MANIFEST_FORMAT {
            return Err(format!(
                "manifest format {} (this quakeline reads {MANIFEST_FORMAT})",
                self.format
            ));
        }
        if !hex64(&self.key) || !hex64(&self.blake3) {
            return Err("the manifest's key or digest is not 64 lowercase hex digits".into());
        }
        let computed = self.fields.key();
        if computed != self.key {
            return Err(format!(
                "the manifest's key fields hash to {computed}, not to its key {}",
                self.key
            ));
        }
        Ok(())
    }
}

#[derive(Clone, Debug)]
pub struct Entry {
    pub path: PathBuf,
    pub manifest: Manifest,
}

impl Entry {
    pub fn open(&self) -> Result<hdf5::File, CacheError> {
        hdf5::File::open(&self.path).map_err(|e| CacheError::Invalid {
            key: self.manifest.key.clone(),
            reason: format!("HDF5 cannot open {}: {e}", self.path.display()),
        })
    }
}

#[derive(Clone, Debug)]
pub struct Cache {
    root: PathBuf,
}

/// A held per-key lock; released on drop (and by the kernel if the process dies).
pub struct KeyLock {
    _file: File,
}

/// A stage output being written. Dropping it without [`Cache::commit`] deletes its temp files.
pub struct Pending {
    pub key: String,
    pub h5_path: PathBuf,
    lock_path: PathBuf,
    _lock: File,
    committed: bool,
}

impl Drop for Pending {
    fn drop(&mut self) {
        if !self.committed {
            let _ = fs::remove_file(&self.h5_path);
        }
        let _ = fs::remove_file(&self.lock_path);
    }
}

static TEMP_COUNTER: AtomicU64 = AtomicU64::new(0);

impl Cache {
    /// A handle on a cache root; no I/O until used.
    pub fn new(root: impl Into<PathBuf>) -> Cache {
        Cache { root: root.into() }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    fn objects(&self) -> PathBuf {
        self.root.join("objects")
    }

    fn tmp(&self) -> PathBuf {
        self.root.join("tmp")
    }

    fn locks(&self) -> PathBuf {
        self.root.join("locks")
    }

    fn object(&self, key: &str, ext: &str) -> PathBuf {
        self.objects()
            .join(&key[..2.min(key.len())])
            .join(format!("{key}.{ext}"))
    }

    /// Creates the layout, proves it is writable, and removes temp files of dead runs.
    /// Returns how many stale temp files were removed.
    pub fn prepare(&self) -> Result<usize, CacheError> {
        for dir in [self.root.clone(), self.objects(), self.tmp(), self.locks()] {
            fs::create_dir_all(&dir).map_err(io("create cache directory", &dir))?;
        }
        let probe = self.tmp().join(format!(".probe.{}", std::process::id()));
        File::create(&probe)
            .and_then(|mut f| f.write_all(b"ok"))
            .map_err(io("write into cache directory", &self.tmp()))?;
        let _ = fs::remove_file(&probe);
        Ok(self.clean_temps())
    }

    /// Deletes temp files whose writer is gone (its `.lock` can be taken).
    pub fn clean_temps(&self) -> usize {
        let Ok(dir) = fs::read_dir(self.tmp()) else {
            return 0;
        };
        let names: Vec<String> = dir
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        let mut removed = 0;
        for name in names.iter().filter(|n| n.ends_with(".lock")) {
            let lock_path = self.tmp().join(name);
            let Ok(file) = File::open(&lock_path) else {
                continue;
            };
            // A writer creates and locks its .lock in one step; the age check covers that instant.
            let old = file
                .metadata()
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| t.elapsed().ok())
                .is_some_and(|age| age.as_secs() >= 2);
            if old && file.try_lock().is_ok() {
                let stem = format!("{}.", name.trim_end_matches(".lock"));
                for other in names.iter().filter(|n| n.starts_with(&stem)) {
                    if fs::remove_file(self.tmp().join(other)).is_ok() {
                        removed += 1;
                    }
                }
            }
        }
        // Manifests and memos go through `<name>.<pid>.<n>.part` files. One whose writer has
        // exited is dead; where processes cannot be looked up (no /proc), one a minute old is.
        for name in names.iter().filter(|n| n.ends_with(".part")) {
            let p = self.tmp().join(name);
            let writer_gone = name
                .rsplit('.')
                .nth(2)
                .and_then(|pid| pid.parse::<u32>().ok())
                .is_some_and(|pid| {
                    pid != std::process::id()
                        && Path::new("/proc/self").exists()
                        && !Path::new("/proc").join(pid.to_string()).exists()
                });
            let old = fs::metadata(&p)
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| t.elapsed().ok())
                .is_some_and(|age| age.as_secs() >= 60);
            if (writer_gone || old) && fs::remove_file(&p).is_ok() {
                removed += 1;
            }
        }
        removed
    }

    /// Finds and verifies the entry for `key`.
    pub fn lookup(&self, key: &str) -> Lookup {
        let manifest_path = self.object(key, "json");
        let text = match fs::read_to_string(&manifest_path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Lookup::Missing,
            Err(e) => return Lookup::Invalid(format!("manifest unreadable: {e}")),
        };
        let manifest: Manifest = match serde_json::from_str(&text) {
            Ok(m) => m,
            Err(e) => {
                return Lookup::Invalid(format!(
                    "manifest {} is not valid: {e}",
                    manifest_path.display()
                ));
            }
        };
        if manifest.key != key || manifest.format != MANIFEST_FORMAT {
            return Lookup::Invalid("manifest belongs to another key or format".into());
        }
        let path = self.object(key, "h5");
        match self.verify(&path, &manifest) {
            Ok(()) => Lookup::Hit(Box::new(Entry { path, manifest })),
            Err(reason) => Lookup::Invalid(reason),
        }
    }

    fn verify(&self, path: &Path, manifest: &Manifest) -> Result<(), String> {
        let meta = fs::metadata(path).map_err(|e| format!("data file {}: {e}", path.display()))?;
        if meta.len() != manifest.size {
            return Err(format!(
                "data file has {} bytes, manifest says {}",
                meta.len(),
                manifest.size
            ));
        }
        let stamp = file_stamp(&meta);
        let memo_path = path.with_extension("verified");
        if let Ok(memo) = fs::read_to_string(&memo_path)
            && memo.trim() == format!("{stamp} {}", manifest.blake3)
        {
            return Ok(());
        }
        let (digest, _) =
            hash_file(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        if digest != manifest.blake3 {
            return Err(format!(
                "BLAKE3 of {} is {digest}, manifest says {}",
                path.display(),
                manifest.blake3
            ));
        }
        // Best effort: a missing memo only costs a rehash next time.
        let _ = write_atomic(
            &self.tmp(),
            &memo_path,
            format!("{stamp} {digest}\n").as_bytes(),
        );
        Ok(())
    }

    /// Takes the per-key lock, waiting for another run that holds it.
    pub fn lock(&self, key: &str) -> Result<KeyLock, CacheError> {
        let path = self.locks().join(format!("{key}.lock"));
        let file = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(io("create lock", &path))?;
        file.lock().map_err(io("lock", &path))?;
        Ok(KeyLock { _file: file })
    }

    /// Reserves a temp file for the output of `key`.
    pub fn begin(&self, key: &str) -> Result<Pending, CacheError> {
        let n = TEMP_COUNTER.fetch_add(1, Ordering::Relaxed);
        let stem = format!("{key}.{}.{n}", std::process::id());
        let lock_path = self.tmp().join(format!("{stem}.lock"));
        let lock = File::options()
            .create_new(true)
            .write(true)
            .open(&lock_path)
            .map_err(io("create temp lock", &lock_path))?;
        lock.lock().map_err(io("lock", &lock_path))?;
        Ok(Pending {
            key: key.to_string(),
            h5_path: self.tmp().join(format!("{stem}.h5")),
            lock_path,
            _lock: lock,
            committed: false,
        })
    }

    /// Makes a finished temp file the entry for its key. The HDF5 file must be closed.
    pub fn commit(
        &self,
        pending: Pending,
        pipeline: &str,
        stage: &str,
        fields: &KeyFields,
        created: &str,
    ) -> Result<Entry, CacheError> {
        File::open(&pending.h5_path)
            .and_then(|f| f.sync_all())
            .map_err(io("sync", &pending.h5_path))?;
        let (digest, size) =
            hash_file(&pending.h5_path).map_err(io("read back", &pending.h5_path))?;
        let manifest = Manifest {
            format: MANIFEST_FORMAT,
            key: pending.key.clone(),
            blake3: digest,
            size,
            pipeline: pipeline.to_string(),
            stage: stage.to_string(),
            kind: fields.kind.clone(),
            created: created.to_string(),
            machine: Some(crate::machine::with_device()),
            fields: fields.clone(),
        };
        self.place(pending, manifest)
    }

    /// Installs an entry that comes from outside this cache (a bundle, a remote cache): the
    /// manifest must describe its own key ([`Manifest::check`]), and `data` is streamed into a
    /// temp file while hashed, never more than the manifest's size; it becomes the entry only
    /// when size and BLAKE3 match. Nothing from outside reaches HDF5 before that check.
    pub fn install(&self, manifest: &Manifest, data: &mut dyn Read) -> Result<Entry, CacheError> {
        let invalid = |reason: String| CacheError::Invalid {
            key: manifest.key.clone(),
            reason,
        };
        manifest.check().map_err(invalid)?;
        let _lock = self.lock(&manifest.key)?;
        if let Lookup::Hit(e) = self.lookup(&manifest.key) {
            return Ok(*e);
        }
        let pending = self.begin(&manifest.key)?;
        let path = pending.h5_path.clone();
        let (digest, size) = (|| {
            let mut out = File::create(&path)?;
            let mut limited = data.take(manifest.size.saturating_add(1));
            let mut hashing = HashingReader::new(&mut limited);
            copy(&mut hashing, &mut out)?;
            out.sync_all()?;
            Ok::<_, std::io::Error>(hashing.finish())
        })()
        .map_err(io("write", &path))?;
        if size != manifest.size {
            return Err(invalid(format!(
                "the data has {}{size} bytes, its manifest says {}",
                if size > manifest.size {
                    "more than "
                } else {
                    ""
                },
                manifest.size
            )));
        }
        if digest != manifest.blake3 {
            return Err(invalid(format!(
                "the data has BLAKE3 {digest}, its manifest says {}",
                manifest.blake3
            )));
        }
        self.place(pending, manifest.clone())
    }

    /// Moves a verified temp file into place and writes its manifest last (the commit point).
    fn place(&self, mut pending: Pending, manifest: Manifest) -> Result<Entry, CacheError> {
        let key = pending.key.clone();
        let h5 = self.object(&key, "h5");
        let json = self.object(&key, "json");
        let dir = h5.parent().map(Path::to_path_buf).unwrap_or_default();
        fs::create_dir_all(&dir).map_err(io("create cache directory", &dir))?;
        // Uncommit an invalid older entry first, so no manifest ever points at the wrong file.
        match fs::remove_file(&json) {
            Ok(()) => sync_dir(&dir).map_err(io("sync", &dir))?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(io("remove stale manifest", &json)(e)),
        }
        fs::rename(&pending.h5_path, &h5).map_err(io("move entry into", &h5))?;
        pending.committed = true;
        sync_dir(&dir).map_err(io("sync", &dir))?;
        let text = serde_json::to_vec_pretty(&manifest).unwrap_or_default();
        write_atomic(&self.tmp(), &json, &text).map_err(io("write manifest", &json))?;
        let stamp = fs::metadata(&h5)
            .map(|m| file_stamp(&m))
            .map_err(io("stat", &h5))?;
        let _ = write_atomic(
            &self.tmp(),
            &h5.with_extension("verified"),
            format!("{stamp} {}\n", manifest.blake3).as_bytes(),
        );
        Ok(Entry { path: h5, manifest })
    }

    /// The manifest file of a committed entry, as stored (for bundles and remote caches, which
    /// carry it byte for byte).
    pub fn manifest_path(&self, key: &str) -> PathBuf {
        self.object(key, "json")
    }

    /// Every file under `objects/<shard>/`.
    fn object_files(&self) -> Vec<PathBuf> {
        let Ok(shards) = fs::read_dir(self.objects()) else {
            return Vec::new();
        };
        shards
            .flatten()
            .filter_map(|shard| fs::read_dir(shard.path()).ok())
            .flat_map(|files| files.flatten().map(|f| f.path()))
            .collect()
    }

    /// Every committed manifest (unverified), for `explain` and `gc`.
    pub fn manifests(&self) -> Vec<Manifest> {
        self.object_files()
            .iter()
            .filter(|p| p.extension().is_some_and(|e| e == "json"))
            .filter_map(|p| fs::read_to_string(p).ok())
            .filter_map(|t| serde_json::from_str::<Manifest>(&t).ok())
            .collect()
    }

    /// Keys present in `objects/` (committed or not), for `gc`.
    pub fn object_keys(&self) -> Vec<String> {
        let keys: std::collections::BTreeSet<String> = self
            .object_files()
            .iter()
            .filter_map(|p| {
                p.file_name()?
                    .to_str()?
                    .split_once('.')
                    .map(|(k, _)| k.to_string())
            })
            .collect();
        keys.into_iter().collect()
    }

    /// Removes an entry (manifest first, so it stops counting before its data goes). Returns bytes freed.
    /// The bytes an entry takes on disk (manifest, data, verification memo): what
    /// [`Self::remove`] frees.
    pub fn footprint(&self, key: &str) -> u64 {
        ["json", "h5", "verified"]
            .iter()
            .filter_map(|ext| fs::metadata(self.object(key, ext)).ok())
            .map(|m| m.len())
            .sum()
    }

    pub fn remove(&self, key: &str) -> Result<u64, CacheError> {
        let mut freed = 0;
        for ext in ["json", "h5", "verified"] {
            let p = self.object(key, ext);
            match fs::metadata(&p) {
                Ok(m) => {
                    freed += m.len();
                    fs::remove_file(&p).map_err(io("remove", &p))?;
                }
                Err(_) => continue,
            }
        }
        let lock = self.locks().join(format!("{key}.lock"));
        if let Ok(f) = File::open(&lock)
            && f.try_lock().is_ok()
        {
            let _ = fs::remove_file(&lock);
        }
        Ok(freed)
    }
}

/// (inode, size, mtime) of a file, the memo key for verification.
fn file_stamp(meta: &fs::Metadata) -> String {
    use std::os::unix::fs::MetadataExt;
    format!(
        "{} {} {}.{}",
        meta.ino(),
        meta.len(),
        meta.mtime(),
        meta.mtime_nsec()
    )
}

/// BLAKE3 hex digest and size of a file.
pub fn hash_file(path: &Path) -> std::io::Result<(String, u64)> {
    let mut file = File::open(path)?;
    let mut hashing = HashingReader::new(&mut file);
    copy(&mut hashing, &mut std::io::sink())?;
    Ok(hashing.finish())
}

/// A reader that hashes (BLAKE3) and counts what passes through it: a file being hashed, an
/// entry arriving from a remote, a bundle member packed or unpacked.
pub struct HashingReader<'a> {
    inner: &'a mut dyn Read,
    hasher: blake3::Hasher,
    n: u64,
}

impl<'a> HashingReader<'a> {
    pub fn new(inner: &'a mut dyn Read) -> Self {
        HashingReader {
            inner,
            hasher: blake3::Hasher::new(),
            n: 0,
        }
    }

    /// Hex digest and byte count of what was read.
    pub fn finish(self) -> (String, u64) {
        (self.hasher.finalize().to_hex().to_string(), self.n)
    }
}

impl Read for HashingReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        self.n += n as u64;
        Ok(n)
    }
}

/// `std::io::copy` with a 1 MiB buffer: BLAKE3 hashes large updates several times faster than
/// `copy`'s 8 KiB ones (its SIMD lanes take up to 16 KiB at a time).
pub fn copy(from: &mut dyn Read, to: &mut dyn Write) -> std::io::Result<u64> {
    let mut buf = vec![0u8; 1 << 20];
    let mut total = 0u64;
    loop {
        let n = match from.read(&mut buf) {
            Ok(0) => return Ok(total),
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        to.write_all(&buf[..n])?;
        total += n as u64;
    }
}

/// Keys of the entries among `manifests` computed on a non-default device
/// ([`KeyFields::device`]) whose CPU twin is in `keep`: the fields with the device class
/// dropped, and every input key that is itself such an entry replaced by its twin's key,
/// hash to a key in `keep`. Followed in rounds, so a chain (a GPU `train`, then its
/// `evaluate`) maps through.
pub fn off_device_twins(
    manifests: &[Manifest],
    keep: &std::collections::BTreeSet<String>,
) -> Vec<String> {
    let on_device: Vec<&Manifest> = manifests
        .iter()
        .filter(|m| m.fields.device.is_some())
        .collect();
    let device_keys: std::collections::BTreeSet<&str> =
        on_device.iter().map(|m| m.key.as_str()).collect();
    // Key of a device entry → the key its computation has on the CPU.
    let mut twin: std::collections::BTreeMap<String, String> = Default::default();
    loop {
        let before = twin.len();
        for m in &on_device {
            if twin.contains_key(&m.key) {
                continue;
            }
            let mut cpu = m.fields.clone();
            cpu.device = None;
            let mut resolved = true;
            for v in cpu.inputs.values_mut() {
                // An input is `<key>` or `<key>/<output>`.
                let (k, rest) = v.split_at(v.find('/').unwrap_or(v.len()));
                match twin.get(k) {
                    Some(t) => *v = format!("{t}{rest}"),
                    None if device_keys.contains(k) => resolved = false,
                    None => {}
                }
            }
            if resolved {
                twin.insert(m.key.clone(), cpu.key());
            }
        }
        if twin.len() == before {
            break;
        }
    }
    twin.into_iter()
        .filter(|(_, cpu)| keep.contains(cpu))
        .map(|(k, _)| k)
        .collect()
}

/// Writes `bytes` to a temp file in `tmp_dir`, fsyncs it and renames it onto `dest`.
pub(crate) fn write_atomic(tmp_dir: &Path, dest: &Path, bytes: &[u8]) -> std::io::Result<()> {
    write_atomic_from(tmp_dir, dest, &mut &bytes[..])
}

/// [`write_atomic`] of what `from` yields, streamed (a results file of any size).
pub(crate) fn write_atomic_from(
    tmp_dir: &Path,
    dest: &Path,
    from: &mut dyn Read,
) -> std::io::Result<()> {
    let n = TEMP_COUNTER.fetch_add(1, Ordering::Relaxed);
    let name = dest
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = tmp_dir.join(format!("{name}.{}.{n}.part", std::process::id()));
    let result = (|| {
        let mut f = File::create(&tmp)?;
        copy(from, &mut f)?;
        f.sync_all()?;
        fs::rename(&tmp, dest)?;
        if let Some(dir) = dest.parent() {
            sync_dir(dir)?;
        }
        Ok(())
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

fn sync_dir(dir: &Path) -> std::io::Result<()> {
    File::open(dir)?.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A GPU `train` and the `evaluate` of its model are kept when their CPU twins are; a GPU
    /// entry of a computation nobody keeps is not.
    #[test]
    fn device_entries_follow_their_cpu_twins() {
        let fields = |kind: &str, input: Option<String>, device: Option<&str>| KeyFields {
            schema: KEY_SCHEMA,
            kind: kind.into(),
            version: 1,
            params: serde_json::json!({}),
            inputs: input
                .into_iter()
                .map(|k| ("input".to_string(), k))
                .collect(),
            seed: None,
            content: vec![],
            device: device.map(str::to_string),
            plugin_version: None,
        };
        let manifest = |f: KeyFields| Manifest {
            format: 1,
            key: f.key(),
            blake3: "0".repeat(64),
            size: 0,
            pipeline: "p".into(),
            stage: f.kind.clone(),
            kind: f.kind.clone(),
            created: String::new(),
            machine: None,
            fields: f,
        };
        let data = fields("fetch", None, None).key();
        let train = fields("train", Some(data.clone()), None).key();
        let eval = fields("evaluate", Some(format!("{train}/model")), None).key();
        let gpu_train = manifest(fields("train", Some(data.clone()), Some("cuda")));
        let gpu_eval = manifest(fields(
            "evaluate",
            Some(format!("{}/model", gpu_train.key)),
            Some("cuda"),
        ));
        let stray = manifest(fields("train", Some("ab".repeat(32)), Some("cuda")));
        let all = [gpu_eval.clone(), stray, gpu_train.clone()];
        let keep: std::collections::BTreeSet<String> = [data, train, eval].into();
        let mut got = off_device_twins(&all, &keep);
        got.sort();
        let mut want = vec![gpu_train.key, gpu_eval.key];
        want.sort();
        assert_eq!(got, want);
    }

    #[test]
    fn part_files_of_exited_writers_are_removed_at_once() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::new(dir.path());
        cache.prepare().unwrap();
        // A pid far above Linux's default pid_max: no such process.
        let dead = cache.tmp().join("abc.json.4194999.0.part");
        let mine = cache
            .tmp()
            .join(format!("abc.json.{}.1.part", std::process::id()));
        fs::write(&dead, "x").unwrap();
        fs::write(&mine, "x").unwrap();
        assert_eq!(cache.clean_temps(), 1);
        assert!(!dead.exists());
        assert!(mine.exists(), "a live writer's file stays");
    }
}
