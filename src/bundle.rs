//! Portable bundles: a pipeline, the local files it reads and (optionally) cache entries, in one
//! zstd-compressed tar stream that another lab imports and runs.
//!
//! ```text
//! quakeline-bundle.json     the manifest (always the first member): format, the quakeline
//!                           version that wrote it, the pipeline's path, every member below
//!                           with its BLAKE3 digest and size
//! files/<blake3>            each local file by content, laid out at the relative path(s) the
//!                           pipeline uses (`paths` in the manifest)
//! entries/<key>.json        a cache entry's manifest, byte for byte
//! entries/<key>.h5          its data
//! ```
//!
//! A bundle is data, never code (unlike a Snakemake archive, whose Snakefile runs on the
//! receiving side). It comes from another lab, so [`import`] trusts nothing in it: only plain
//! files whose names the manifest lists are accepted (absolute names, `..`, links, devices and
//! directories are refused), each member's size is checked against the manifest before it is
//! read, everything is extracted into a staging folder and verified before the first file is
//! laid out or entry installed, and entries are verified again by the cache (their manifests
//! must hash to their keys) before HDF5 ever opens them. Existing files are never overwritten
//! with other content.
//!
//! On the sending side [`collect`] never packs a file from outside the pipeline's directory
//! tree unless asked (`--allow-outside`): a lab must not ship `/home/…` by accident.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::{self, File};
use std::io::{Read, Write};
use std::path::{Component, Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::cache::{Cache, HashingReader, Lookup, Manifest};
use crate::session::Session;

/// Version of the bundle format.
///
/// # Changelog
/// - 1: first version.
pub const BUNDLE_FORMAT: u32 = 1;

/// Name of the manifest member.
pub const MANIFEST: &str = "quakeline-bundle.json";

/// Largest manifest an import reads.
const MAX_MANIFEST: u64 = 64 << 20;

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct BundleManifest {
    pub format: u32,
    /// The quakeline version that wrote the bundle (`CARGO_PKG_VERSION`).
    pub quakeline: String,
    /// The pipeline file's relative path (one of the files' `paths`).
    pub pipeline: String,
    /// The sweep the entries were exported for, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sweep: Option<String>,
    pub members: Vec<MemberInfo>,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct MemberInfo {
    /// The member's name in the tar stream.
    pub name: String,
    pub blake3: String,
    pub size: u64,
    #[serde(flatten)]
    pub role: Role,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(tag = "role", rename_all = "snake_case")]
pub enum Role {
    /// A local file, laid out at each of `paths` (relative to the import directory).
    File { paths: Vec<String> },
    /// The manifest of the cache entry `key`, which stage `stage` produced.
    EntryManifest { key: String, stage: String },
    /// The data of the cache entry `key`.
    EntryData { key: String },
}

#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum BundleError {
    #[error("{0}")]
    Refused(String),
    #[error("{0}")]
    #[diagnostic(help("{1}"))]
    Usage(String, String),
    #[error("cannot {action} {}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

fn io<'a>(action: &'static str, path: &'a Path) -> impl FnOnce(std::io::Error) -> BundleError + 'a {
    move |source| BundleError::Io {
        action,
        path: path.to_path_buf(),
        source,
    }
}

fn refused(why: impl Into<String>) -> BundleError {
    BundleError::Refused(format!("bundle refused: {}", why.into()))
}

/// A local file the pipeline reads, as it will be packed.
#[derive(Clone, Debug)]
pub struct LocalFile {
    pub source: PathBuf,
    /// Relative to the bundle's root, `/`-separated.
    pub rel: String,
    pub blake3: String,
    pub size: u64,
}

/// An entry to pack, with the stage (`stage` or `stage[point]`) it belongs to.
pub struct PackedEntry {
    pub label: String,
    pub key: String,
    pub manifest_path: PathBuf,
    pub data_path: PathBuf,
    pub manifest_size: u64,
    pub manifest_blake3: String,
    pub manifest: Manifest,
}

/// What [`collect`] found to pack.
pub struct Contents {
    pub pipeline: String,
    pub sweep: Option<String>,
    pub files: Vec<LocalFile>,
    pub entries: Vec<PackedEntry>,
}

/// Which cache entries to pack.
pub enum EntrySelection {
    None,
    All,
    Stages(Vec<String>),
}

/// The pipeline file, every local file its stages read (the sources their plans hashed) and its
/// gates' baseline, plus the cache entries `entries` names (every member of the session: all
/// points of a sweep). Files outside the pipeline's directory are refused unless
/// `allow_outside`, in which case the bundle's root is the deepest directory holding them all.
pub fn collect(
    session: &Session,
    entries: &EntrySelection,
    allow_outside: bool,
) -> Result<Contents, BundleError> {
    let canon = |p: &Path| fs::canonicalize(p).map_err(io("find", p));
    let pipeline_file = canon(&session.base.path)?;
    let mut sources: BTreeSet<PathBuf> = BTreeSet::new();
    sources.insert(pipeline_file.clone());
    let members = session.members();
    for m in &members {
        for (i, sp) in m.plan.stages.iter().enumerate() {
            if !m.needed.get(i).copied().unwrap_or(true) {
                continue;
            }
            for c in &sp.content {
                if c.label.starts_with("http://") || c.label.starts_with("https://") {
                    continue;
                }
                let p = Path::new(&c.label);
                if p.is_file() {
                    sources.insert(canon(p)?);
                }
            }
        }
    }
    if let Some(b) = &session.base.gates.baseline {
        let p = session.base.dir.join(b);
        if p.is_file() {
            sources.insert(canon(&p)?);
        }
    }
    let home = pipeline_file
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default();
    let outside: Vec<&PathBuf> = sources.iter().filter(|p| !p.starts_with(&home)).collect();
    let root = if outside.is_empty() {
        home.clone()
    } else if !allow_outside {
        let list: Vec<String> = outside.iter().map(|p| p.display().to_string()).collect();
        return Err(BundleError::Usage(
            format!(
                "the pipeline reads {} file(s) outside its directory {}: {}",
                outside.len(),
                home.display(),
                list.join(", ")
            ),
            "pass --allow-outside to pack them (the bundle then keeps their paths relative to the deepest directory holding them all), or move them beside the pipeline".into(),
        ));
    } else {
        let mut root = home.clone();
        while !sources.iter().all(|p| p.starts_with(&root)) {
            if !root.pop() {
                break;
            }
        }
        root
    };
    let mut files = Vec::new();
    for source in &sources {
        let rel = relative(source, &root).ok_or_else(|| {
            BundleError::Usage(
                format!(
                    "{} cannot be placed under {}",
                    source.display(),
                    root.display()
                ),
                "move the file beside the pipeline".into(),
            )
        })?;
        let (blake3, size) = crate::cache::hash_file(source).map_err(io("read", source))?;
        files.push(LocalFile {
            source: source.clone(),
            rel,
            blake3,
            size,
        });
    }
    let pipeline = relative(&pipeline_file, &root).unwrap_or_default();

    let mut packed: Vec<PackedEntry> = Vec::new();
    let mut seen = BTreeSet::new();
    let wanted: Option<BTreeSet<&str>> = match entries {
        EntrySelection::None => Some(BTreeSet::new()),
        EntrySelection::All => None,
        EntrySelection::Stages(names) => {
            for n in names {
                if session.base.index_of(n).is_none() {
                    let ids: Vec<&str> =
                        session.base.stages.iter().map(|s| s.id.as_str()).collect();
                    return Err(BundleError::Usage(
                        format!("--entries names stage `{n}`, which the pipeline does not have"),
                        format!("its stages: {}", ids.join(", ")),
                    ));
                }
            }
            Some(names.iter().map(String::as_str).collect())
        }
    };
    let mut missing = Vec::new();
    for m in &members {
        for &i in m.plan.dag.order() {
            let s = &m.pipeline.stages[i];
            if !m.needed.get(i).copied().unwrap_or(true)
                || wanted.as_ref().is_some_and(|w| !w.contains(s.id.as_str()))
            {
                continue;
            }
            let key = &m.plan.stages[i].key;
            let label = match m.point {
                Some(p) => format!("{}[{}]", s.id, p.label),
                None => s.id.clone(),
            };
            if !seen.insert(key.clone()) {
                continue;
            }
            match session.cache.lookup(key) {
                Lookup::Hit(e) => {
                    let manifest_path = session.cache.manifest_path(key);
                    let (manifest_blake3, manifest_size) = crate::cache::hash_file(&manifest_path)
                        .map_err(io("read", &manifest_path))?;
                    packed.push(PackedEntry {
                        label,
                        key: key.clone(),
                        manifest_path,
                        data_path: e.path.clone(),
                        manifest_size,
                        manifest_blake3,
                        manifest: e.manifest,
                    });
                }
                _ => missing.push(label),
            }
        }
    }
    if !missing.is_empty() {
        return Err(BundleError::Usage(
            format!(
                "{} stage output(s) asked for are not in the cache ({}): {}",
                missing.len(),
                session.cache.root().display(),
                missing.join(", ")
            ),
            "run the pipeline first (or export fewer entries with --entries)".into(),
        ));
    }
    Ok(Contents {
        pipeline,
        sweep: session.study.as_ref().map(|s| s.spec.name.clone()),
        files,
        entries: packed,
    })
}

/// `path` relative to `root`, `/`-separated, if it lies under it.
fn relative(path: &Path, root: &Path) -> Option<String> {
    let rel = path.strip_prefix(root).ok()?;
    let parts: Vec<String> = rel
        .components()
        .map(|c| match c {
            Component::Normal(s) => s.to_str().map(str::to_string),
            _ => None,
        })
        .collect::<Option<_>>()?;
    (!parts.is_empty()).then(|| parts.join("/"))
}

impl Contents {
    /// The manifest describing these contents.
    pub fn manifest(&self) -> BundleManifest {
        let mut by_digest: BTreeMap<&str, (u64, Vec<String>)> = BTreeMap::new();
        for f in &self.files {
            by_digest
                .entry(&f.blake3)
                .or_insert((f.size, Vec::new()))
                .1
                .push(f.rel.clone());
        }
        let mut members: Vec<MemberInfo> = by_digest
            .into_iter()
            .map(|(d, (size, paths))| MemberInfo {
                name: format!("files/{d}"),
                blake3: d.to_string(),
                size,
                role: Role::File { paths },
            })
            .collect();
        for e in &self.entries {
            members.push(MemberInfo {
                name: format!("entries/{}.json", e.key),
                blake3: e.manifest_blake3.clone(),
                size: e.manifest_size,
                role: Role::EntryManifest {
                    key: e.key.clone(),
                    stage: e.label.clone(),
                },
            });
            members.push(MemberInfo {
                name: format!("entries/{}.h5", e.key),
                blake3: e.manifest.blake3.clone(),
                size: e.manifest.size,
                role: Role::EntryData { key: e.key.clone() },
            });
        }
        BundleManifest {
            format: BUNDLE_FORMAT,
            quakeline: env!("CARGO_PKG_VERSION").to_string(),
            pipeline: self.pipeline.clone(),
            sweep: self.sweep.clone(),
            members,
        }
    }
}

/// Writes the bundle to `out` (through a temp file beside it, renamed when complete). Every file
/// is re-hashed as it is packed, so one edited since [`collect`] is an error, not a bundle
/// whose manifest lies. Returns the bundle's size in bytes.
pub fn write(contents: &Contents, out: &Path) -> Result<u64, BundleError> {
    let manifest = contents.manifest();
    let json = serde_json::to_vec_pretty(&manifest).unwrap_or_default();
    let dir = out
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let tmp = dir.join(format!(
        ".{}.{}.part",
        out.file_name()
            .map(|n| n.to_string_lossy())
            .unwrap_or_default(),
        std::process::id()
    ));
    let result = (|| {
        let file = File::create(&tmp).map_err(io("create", &tmp))?;
        let enc = zstd::stream::write::Encoder::new(file, 3).map_err(io("compress into", &tmp))?;
        let mut tar = tar::Builder::new(enc);
        append(
            &mut tar,
            MANIFEST,
            &mut json.as_slice(),
            json.len() as u64,
            &tmp,
        )?;
        let by_name: BTreeMap<String, &Path> = contents
            .files
            .iter()
            .map(|f| (format!("files/{}", f.blake3), f.source.as_path()))
            .chain(contents.entries.iter().flat_map(|e| {
                [
                    (format!("entries/{}.json", e.key), e.manifest_path.as_path()),
                    (format!("entries/{}.h5", e.key), e.data_path.as_path()),
                ]
            }))
            .collect();
        for m in &manifest.members {
            let src = by_name[&m.name];
            let mut f = File::open(src).map_err(io("read", src))?;
            let mut hashing = HashingReader::new(&mut f);
            append(&mut tar, &m.name, &mut hashing, m.size, src)?;
            let (digest, n) = hashing.finish();
            if digest != m.blake3 || n != m.size {
                return Err(BundleError::Usage(
                    format!("{} changed while it was being packed", src.display()),
                    "export again".into(),
                ));
            }
        }
        let enc = tar.into_inner().map_err(io("write", &tmp))?;
        let file = enc.finish().map_err(io("write", &tmp))?;
        file.sync_all().map_err(io("sync", &tmp))?;
        fs::rename(&tmp, out).map_err(io("create", out))?;
        fs::metadata(out).map(|m| m.len()).map_err(io("stat", out))
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

fn append<W: Write>(
    tar: &mut tar::Builder<W>,
    name: &str,
    data: &mut dyn Read,
    size: u64,
    src: &Path,
) -> Result<(), BundleError> {
    let mut h = tar::Header::new_ustar();
    h.set_size(size);
    h.set_mode(0o644);
    h.set_entry_type(tar::EntryType::Regular);
    h.set_mtime(0);
    tar.append_data(&mut h, name, data.take(size))
        .map_err(io("pack", src))
}

/// What an import laid out.
pub struct Imported {
    pub manifest: BundleManifest,
    /// Files laid out (relative paths), and those already there with the same content.
    pub written: Vec<String>,
    pub unchanged: Vec<String>,
    /// (stage label, key) of every entry now in the cache.
    pub entries: Vec<(String, String)>,
}

/// Checks a layout path from a manifest: relative, `/`-separated, plain names only.
fn safe_path(p: &str) -> Result<PathBuf, BundleError> {
    if p.chars().any(char::is_control) {
        return Err(refused(format!(
            "the manifest lays a file out at {p:?}, a name with control characters"
        )));
    }
    if p.is_empty() || p.starts_with('/') || p.contains('\\') {
        return Err(refused(format!(
            "the manifest lays a file out at `{p}`, which is not a relative path"
        )));
    }
    let mut out = PathBuf::new();
    for part in p.split('/') {
        if part.is_empty() || part == "." || part == ".." {
            return Err(refused(format!(
                "the manifest lays a file out at `{p}`, which leaves or names the import directory"
            )));
        }
        out.push(part);
    }
    Ok(out)
}

fn hex64(s: &str) -> bool {
    s.len() == 64
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

impl BundleManifest {
    /// Structural checks before any member is read: format, names that match their roles, safe
    /// layout paths, no duplicates, entries complete.
    fn check(&self) -> Result<(), BundleError> {
        if self.format != BUNDLE_FORMAT {
            return Err(refused(format!(
                "bundle format {} (this quakeline {} reads format {BUNDLE_FORMAT})",
                self.format,
                env!("CARGO_PKG_VERSION")
            )));
        }
        let mut names = BTreeSet::new();
        let mut layout: BTreeMap<&str, &str> = BTreeMap::new();
        let (mut manifests, mut datas) = (BTreeSet::new(), BTreeSet::new());
        for m in &self.members {
            if !names.insert(m.name.as_str()) {
                return Err(refused(format!("member `{}` is listed twice", m.name)));
            }
            if !hex64(&m.blake3) {
                return Err(refused(format!(
                    "member `{}` has no valid BLAKE3 digest",
                    m.name
                )));
            }
            let expected = match &m.role {
                Role::File { paths } => {
                    for p in paths {
                        safe_path(p)?;
                        if let Some(other) = layout.insert(p, &m.blake3)
                            && other != m.blake3
                        {
                            return Err(refused(format!("two files are laid out at `{p}`")));
                        }
                    }
                    if paths.is_empty() {
                        return Err(refused(format!("file member `{}` has no path", m.name)));
                    }
                    format!("files/{}", m.blake3)
                }
                Role::EntryManifest { key, stage } => {
                    // Printed on the terminal: no escape sequences from another lab.
                    if stage.chars().any(char::is_control) {
                        return Err(refused(format!(
                            "entry `{}` has a stage name with control characters",
                            m.name
                        )));
                    }
                    manifests.insert(key.as_str());
                    format!("entries/{key}.json")
                }
                Role::EntryData { key } => {
                    datas.insert(key.as_str());
                    format!("entries/{key}.h5")
                }
            };
            let key_ok = match &m.role {
                Role::File { .. } => true,
                Role::EntryManifest { key, .. } | Role::EntryData { key } => hex64(key),
            };
            if m.name != expected || !key_ok {
                return Err(refused(format!(
                    "member `{}` is not named for its role (expected `{expected}`)",
                    m.name
                )));
            }
        }
        if manifests != datas {
            return Err(refused(
                "an entry's manifest or data is missing from the bundle's list",
            ));
        }
        safe_path(&self.pipeline)?;
        if !layout.contains_key(self.pipeline.as_str()) {
            return Err(refused(format!(
                "the pipeline `{}` is not one of the bundle's files",
                self.pipeline
            )));
        }
        Ok(())
    }
}

/// Reads the bundle's manifest only (for `import --list` and tests).
pub fn read_manifest(bundle: &Path) -> Result<BundleManifest, BundleError> {
    let mut tar = open(bundle)?;
    let mut entries = tar.entries().map_err(io("read", bundle))?;
    manifest_first(&mut entries, bundle)
}

type Stream = tar::Archive<zstd::stream::read::Decoder<'static, std::io::BufReader<File>>>;

fn open(bundle: &Path) -> Result<Stream, BundleError> {
    let file = File::open(bundle).map_err(io("open", bundle))?;
    let dec = zstd::stream::read::Decoder::new(file).map_err(io("decompress", bundle))?;
    Ok(tar::Archive::new(dec))
}

/// The first member, which must be the manifest, parsed and checked.
fn manifest_first<R: Read>(
    entries: &mut tar::Entries<'_, R>,
    bundle: &Path,
) -> Result<BundleManifest, BundleError> {
    let first = entries
        .next()
        .ok_or_else(|| refused("the bundle is empty"))?
        .map_err(io("read", bundle))?;
    manifest_of(first, bundle)
}

fn manifest_of<R: Read>(
    mut e: tar::Entry<'_, R>,
    bundle: &Path,
) -> Result<BundleManifest, BundleError> {
    let name = String::from_utf8_lossy(&e.path_bytes())
        .escape_debug()
        .to_string();
    if name != MANIFEST || e.header().entry_type() != tar::EntryType::Regular {
        return Err(refused(format!(
            "its first member is `{name}`, not the manifest `{MANIFEST}` (is it a quakeline bundle?)"
        )));
    }
    let size = e.header().size().map_err(io("read", bundle))?;
    if size > MAX_MANIFEST {
        return Err(refused(format!("its manifest has {size} bytes")));
    }
    let mut text = Vec::new();
    e.by_ref()
        .take(MAX_MANIFEST)
        .read_to_end(&mut text)
        .map_err(io("read", bundle))?;
    let m: BundleManifest = serde_json::from_slice(&text)
        .map_err(|err| refused(format!("its manifest is not valid: {err}")))?;
    m.check()?;
    Ok(m)
}

/// Imports `bundle` into `dir` and `cache`: verifies every member against the manifest in a
/// staging folder first, then lays out the files (never overwriting a file with other
/// content) and installs the entries (each verified again by the cache).
pub fn import(bundle: &Path, dir: &Path, cache: &Cache) -> Result<Imported, BundleError> {
    fs::create_dir_all(dir).map_err(io("create", dir))?;
    let staging = dir.join(format!(".quakeline-import.{}", std::process::id()));
    fs::create_dir_all(&staging).map_err(io("create", &staging))?;
    let result = import_into(bundle, dir, &staging, cache);
    let _ = fs::remove_dir_all(&staging);
    result
}

fn import_into(
    bundle: &Path,
    dir: &Path,
    staging: &Path,
    cache: &Cache,
) -> Result<Imported, BundleError> {
    let mut tar = open(bundle)?;
    let mut entries = tar.entries().map_err(io("read", bundle))?;
    let manifest = manifest_first(&mut entries, bundle)?;
    let by_name: BTreeMap<&str, &MemberInfo> = manifest
        .members
        .iter()
        .map(|m| (m.name.as_str(), m))
        .collect();
    let mut staged: BTreeMap<&str, PathBuf> = BTreeMap::new();
    for (n, e) in entries.enumerate() {
        let mut e = e.map_err(io("read", bundle))?;
        let raw = String::from_utf8_lossy(&e.path_bytes())
            .escape_debug()
            .to_string();
        let kind = e.header().entry_type();
        let what = match kind {
            tar::EntryType::Regular | tar::EntryType::Continuous => None,
            tar::EntryType::Symlink => Some("a symbolic link"),
            tar::EntryType::Link => Some("a hard link"),
            tar::EntryType::Char | tar::EntryType::Block => Some("a device file"),
            tar::EntryType::Fifo => Some("a named pipe"),
            tar::EntryType::Directory => Some("a directory"),
            _ => Some("not a plain file"),
        };
        if let Some(what) = what {
            return Err(refused(format!(
                "member {} `{raw}` is {what}; a bundle holds only plain files",
                n + 2
            )));
        }
        if raw.starts_with('/') {
            return Err(refused(format!("member `{raw}` has an absolute path")));
        }
        if raw.split(['/', '\\']).any(|p| p == "..") {
            return Err(refused(format!(
                "member `{raw}` has a path that leaves the import directory (`..`)"
            )));
        }
        let Some(&info) = by_name.get(raw.as_str()) else {
            return Err(refused(format!(
                "member `{raw}` is not listed in the bundle's manifest"
            )));
        };
        if staged.contains_key(info.name.as_str()) {
            return Err(refused(format!("member `{raw}` appears twice")));
        }
        let size = e.header().size().map_err(io("read", bundle))?;
        if size != info.size {
            return Err(refused(format!(
                "member `{raw}` has {size} bytes, the manifest says {}",
                info.size
            )));
        }
        let path = staging.join(format!("{}", staged.len()));
        let mut out = File::create(&path).map_err(io("create", &path))?;
        let mut limited = (&mut e).take(size);
        let mut hashing = HashingReader::new(&mut limited);
        crate::cache::copy(&mut hashing, &mut out).map_err(io("extract", bundle))?;
        let (digest, got) = hashing.finish();
        if got != size {
            return Err(refused(format!("member `{raw}` is truncated")));
        }
        if digest != info.blake3 {
            return Err(refused(format!(
                "member `{raw}` has BLAKE3 {digest}, the manifest says {}",
                info.blake3
            )));
        }
        staged.insert(info.name.as_str(), path);
    }
    let absent: Vec<&str> = by_name
        .keys()
        .filter(|n| !staged.contains_key(*n))
        .copied()
        .collect();
    if !absent.is_empty() {
        return Err(refused(format!(
            "the manifest lists {} member(s) the bundle lacks: {}",
            absent.len(),
            absent.join(", ")
        )));
    }
    // Entry manifests must parse and describe their keys before anything is laid out.
    let mut entry_manifests: Vec<(String, Manifest)> = Vec::new();
    for m in &manifest.members {
        if let Role::EntryManifest { key, stage } = &m.role {
            let p = &staged[m.name.as_str()];
            let text = fs::read(p).map_err(io("read", p))?;
            let em: Manifest = serde_json::from_slice(&text)
                .map_err(|e| refused(format!("entry manifest `{}` is not valid: {e}", m.name)))?;
            if &em.key != key {
                return Err(refused(format!(
                    "entry manifest `{}` is for key {}",
                    m.name, em.key
                )));
            }
            em.check()
                .map_err(|why| refused(format!("entry manifest `{}`: {why}", m.name)))?;
            entry_manifests.push((stage.clone(), em));
        }
    }
    // Every layout target: free, or already holding the same content.
    let mut written = Vec::new();
    let mut unchanged = Vec::new();
    let mut plan: Vec<(PathBuf, &Path)> = Vec::new();
    for m in &manifest.members {
        if let Role::File { paths } = &m.role {
            for p in paths {
                let target = dir.join(safe_path(p)?);
                // No component of the way there may be a link placed beforehand.
                let mut at = dir.to_path_buf();
                for c in safe_path(p)?.components() {
                    at.push(c);
                    if fs::symlink_metadata(&at).is_ok_and(|md| md.file_type().is_symlink()) {
                        return Err(refused(format!(
                            "{} is a symbolic link; the bundle does not write through links",
                            at.display()
                        )));
                    }
                }
                if target.exists() {
                    let (d, _) = crate::cache::hash_file(&target).map_err(io("read", &target))?;
                    if d == m.blake3 {
                        unchanged.push(p.clone());
                        continue;
                    }
                    return Err(BundleError::Usage(
                        format!("{} exists with other content", target.display()),
                        "import into an empty directory, or move the file away".into(),
                    ));
                }
                plan.push((target, staged[m.name.as_str()].as_path()));
                written.push(p.clone());
            }
        }
    }
    for (target, from) in plan {
        if let Some(parent) = target.parent() {
            fs::create_dir_all(parent).map_err(io("create", parent))?;
        }
        fs::copy(from, &target).map_err(io("write", &target))?;
    }
    cache.prepare().map_err(|e| {
        BundleError::Usage(e.to_string(), "choose another cache with --cache".into())
    })?;
    let mut installed = Vec::new();
    for (stage, em) in entry_manifests {
        let p = &staged[format!("entries/{}.h5", em.key).as_str()];
        let mut f = File::open(p).map_err(io("read", p))?;
        cache
            .install(&em, &mut f)
            .map_err(|e| refused(format!("entry of `{stage}`: {e}")))?;
        installed.push((stage, em.key.clone()));
    }
    Ok(Imported {
        manifest,
        written,
        unchanged,
        entries: installed,
    })
}
