//! `quakeline export` / `import`: a round trip between two labs with byte-identical metrics, and
//! every kind of bundle an import must refuse (built here by hand, as an attacker would).

use std::path::{Path, PathBuf};

use crate::util::{Env, Run, data_dir};
use crate::workflow::tiny;

/// The tiny workflow plus a stage that reads two real IAGA-2002 files beside the pipeline.
fn lab_pipeline(env: &Env) -> PathBuf {
    for day in ["01", "02"] {
        let name = format!("bou201411{day}vmin.min");
        let to = env.path().join("lab/data").join(&name);
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::copy(data_dir().join("iaga2002").join(&name), to).unwrap();
    }
    let text = format!(
        "{}\n[stage.mag]\nkind = \"fetch.iaga2002\"\npaths = [\"data/bou*.min\"]\n\n[stage.filled]\nkind = \"gapfill\"\ninput = \"mag\"\nmax_gap = \"3m\"\n",
        tiny("")
    );
    env.write("lab/tiny.toml", &text)
}

fn lines<'a>(out: &'a str, word: &str) -> Vec<&'a str> {
    out.lines().filter(|l| l.starts_with(word)).collect()
}

#[test]
fn export_import_round_trip_reports_imported_stages_cached_and_metrics_identical() {
    let a = Env::new();
    let p = lab_pipeline(&a);
    let r = a.run(&["run", "lab/tiny.toml"]);
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(lines(&r.stdout, "ran").len(), 8, "{r:?}");
    let bundle = a.path().join("tiny.qlb");
    let r = a.run(&[
        "export",
        p.to_str().unwrap(),
        "--entries",
        "synth,hp,label,mag,filled",
        "-o",
        bundle.to_str().unwrap(),
    ]);
    assert_eq!(r.code, 0, "{r:?}");
    // Every local file it packs is listed, with where it came from.
    let files = lines(&r.stdout, "file");
    assert_eq!(files.len(), 3, "{r:?}");
    for f in [
        "tiny.toml",
        "data/bou20141101vmin.min",
        "data/bou20141102vmin.min",
    ] {
        assert!(files.iter().any(|l| l.contains(f)), "{f}: {r:?}");
    }
    assert_eq!(lines(&r.stdout, "entry").len(), 5, "{r:?}");

    // Lab B: an empty directory and an empty cache, anywhere.
    let b = Env::new();
    let into = b.path().join("from-a");
    let r = b.run(&["import", bundle.to_str().unwrap(), into.to_str().unwrap()]);
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(lines(&r.stdout, "entry").len(), 5, "{r:?}");
    assert!(into.join("tiny.toml").is_file());
    assert_eq!(
        std::fs::read(into.join("data/bou20141102vmin.min")).unwrap(),
        std::fs::read(data_dir().join("iaga2002/bou20141102vmin.min")).unwrap()
    );
    let r: Run = b
        .cmd(&["run", "tiny.toml"])
        .current_dir(&into)
        .output()
        .unwrap()
        .into();
    assert_eq!(r.code, 0, "{r:?}");
    let cached: Vec<&str> = lines(&r.stdout, "cached");
    assert_eq!(cached.len(), 5, "{r:?}");
    for s in ["synth", "hp", "label", "mag", "filled"] {
        assert!(
            cached
                .iter()
                .any(|l| l.split_whitespace().nth(1) == Some(s)),
            "{s}: {r:?}"
        );
    }
    assert_eq!(lines(&r.stdout, "ran").len(), 3, "{r:?}");
    assert_eq!(
        std::fs::read(a.path().join("results/tiny/metrics.json")).unwrap(),
        std::fs::read(into.join("results/tiny/metrics.json")).unwrap(),
        "metrics differ between the labs"
    );

    // Importing again over the same files is fine; over a changed file it is refused.
    let r = b.run(&["import", bundle.to_str().unwrap(), into.to_str().unwrap()]);
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(lines(&r.stdout, "same").len(), 3, "{r:?}");
    std::fs::write(into.join("tiny.toml"), "edited").unwrap();
    let r = b.run(&["import", bundle.to_str().unwrap(), into.to_str().unwrap()]);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(r.stderr.contains("exists with other content"), "{r:?}");
    assert_eq!(
        std::fs::read_to_string(into.join("tiny.toml")).unwrap(),
        "edited"
    );
}

#[test]
fn export_refuses_files_outside_the_pipeline_tree_unless_asked() {
    let env = Env::new();
    let name = "bou20141101vmin.min";
    let outside = env.path().join("shared-data").join(name);
    std::fs::create_dir_all(outside.parent().unwrap()).unwrap();
    std::fs::copy(data_dir().join("iaga2002").join(name), &outside).unwrap();
    let p = env.write(
        "lab/p.toml",
        "[pipeline]\nname = \"p\"\n\n[stage.mag]\nkind = \"fetch.iaga2002\"\npaths = [\"../shared-data/*.min\"]\n",
    );
    let out = env.path().join("p.qlb");
    let args = ["export", p.to_str().unwrap(), "-o", out.to_str().unwrap()];
    let r = env.run(&args);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(r.stderr.contains("outside its directory"), "{r:?}");
    assert!(r.stderr.contains("shared-data"), "{r:?}");
    assert!(r.stderr.contains("--allow-outside"), "{r:?}");
    assert!(!out.exists());
    let mut with = args.to_vec();
    with.push("--allow-outside");
    let r = env.run(&with);
    assert_eq!(r.code, 0, "{r:?}");
    // Laid out with the same relative positions, the pipeline finds its file.
    let into = env.path().join("elsewhere");
    let r = env.run(&["import", out.to_str().unwrap(), into.to_str().unwrap()]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(into.join("shared-data").join(name).is_file(), "{r:?}");
    let r = env.run(&["plan", into.join("lab/p.toml").to_str().unwrap()]);
    assert_eq!(r.code, 0, "{r:?}");
    // Export of entries that were never computed names them.
    let r = env.run(&[
        "export",
        p.to_str().unwrap(),
        "--allow-outside",
        "--entries",
        "all",
        "-o",
        out.to_str().unwrap(),
    ]);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(r.stderr.contains("not in the cache"), "{r:?}");
    assert!(r.stderr.contains("mag"), "{r:?}");
}

// ---- hand-made bundles -------------------------------------------------------------------

const PIPELINE: &[u8] = b"[pipeline]\nname = \"x\"\n";

fn digest(b: &[u8]) -> String {
    blake3::hash(b).to_hex().to_string()
}

/// A member as an attacker writes it: any name, any type, any header size.
struct Raw {
    name: Vec<u8>,
    kind: tar::EntryType,
    data: Vec<u8>,
    link: Option<&'static str>,
    header_size: Option<u64>,
}

fn raw(name: &str, data: &[u8]) -> Raw {
    Raw {
        name: name.as_bytes().to_vec(),
        kind: tar::EntryType::Regular,
        data: data.to_vec(),
        link: None,
        header_size: None,
    }
}

/// A manifest listing the pipeline file at `at`.
fn manifest(at: &str, extra: &str) -> Vec<u8> {
    format!(
        r#"{{"format":1,"quakeline":"0","pipeline":"{at}","members":[{{"name":"files/{d}","blake3":"{d}","size":{n},"role":"file","paths":["{at}"]}}{extra}]}}"#,
        d = digest(PIPELINE),
        n = PIPELINE.len()
    )
    .into_bytes()
}

fn write_bundle(path: &Path, members: Vec<Raw>) {
    std::fs::write(
        path,
        zstd::encode_all(tar_bytes(members).as_slice(), 1).unwrap(),
    )
    .unwrap();
}

/// A valid bundle's tar stream (uncompressed): manifest, pipeline file, one entry. The fuzzer's
/// seed (`tests/fuzz.rs`).
pub(crate) fn seed_tar() -> Vec<u8> {
    let data = b"entry data";
    // The key is BLAKE3 over the compact JSON of the key fields (src/cache/key.rs).
    let fields = r#"{"schema":1,"kind":"filter","version":1,"params":{},"inputs":{},"seed":null,"content":[]}"#;
    let key = blake3::hash(fields.as_bytes()).to_hex().to_string();
    let entry = format!(
        r#"{{"format":1,"key":"{key}","blake3":"{d}","size":{n},"pipeline":"x","stage":"s","kind":"filter","created":"","fields":{fields}}}"#,
        d = digest(data),
        n = data.len()
    );
    let extra = format!(
        r#",{{"name":"entries/{key}.json","blake3":"{}","size":{},"role":"entry_manifest","key":"{key}","stage":"s"}},{{"name":"entries/{key}.h5","blake3":"{}","size":{},"role":"entry_data","key":"{key}"}}"#,
        digest(entry.as_bytes()),
        entry.len(),
        digest(data),
        data.len()
    );
    tar_bytes(vec![
        raw("quakeline-bundle.json", &manifest("sub/p.toml", &extra)),
        pipeline_member(),
        raw(&format!("entries/{key}.json"), entry.as_bytes()),
        raw(&format!("entries/{key}.h5"), data),
    ])
}

fn tar_bytes(members: Vec<Raw>) -> Vec<u8> {
    let mut tar = tar::Builder::new(Vec::new());
    for m in members {
        let mut h = tar::Header::new_old();
        let name = &mut h.as_old_mut().name;
        name[..m.name.len()].copy_from_slice(&m.name);
        h.set_entry_type(m.kind);
        h.set_mode(0o644);
        h.set_size(m.header_size.unwrap_or(m.data.len() as u64));
        if let Some(l) = m.link {
            h.as_old_mut().linkname[..l.len()].copy_from_slice(l.as_bytes());
        }
        h.set_cksum();
        let data: &[u8] = if m.kind == tar::EntryType::Regular {
            &m.data
        } else {
            &[]
        };
        tar.append(&h, data).unwrap();
    }
    tar.into_inner().unwrap()
}

/// Imports `members` as a bundle into an empty directory; returns the run and the directory.
fn import(members: Vec<Raw>) -> (Run, Env) {
    let env = Env::new();
    let bundle = env.path().join("evil.qlb");
    write_bundle(&bundle, members);
    let r = env.run(&["import", bundle.to_str().unwrap(), "into"]);
    (r, env)
}

fn refused(members: Vec<Raw>, says: &str) {
    let (r, env) = import(members);
    assert_eq!(r.code, 2, "{says}: {r:?}");
    assert!(r.stderr.contains("bundle refused"), "{says}: {r:?}");
    assert!(r.stderr.contains(says), "{says}: {r:?}");
    // Nothing was laid out, inside or outside the directory, and no entry was installed.
    let into = env.path().join("into");
    let left: Vec<_> = std::fs::read_dir(&into)
        .map(|d| d.flatten().map(|e| e.file_name()).collect())
        .unwrap_or_default();
    assert!(left.is_empty(), "{says}: {left:?}");
    let top: Vec<_> = std::fs::read_dir(env.path())
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        top.iter().all(|n| n == "evil.qlb" || n == "into"),
        "{says}: wrote {top:?}"
    );
}

fn pipeline_member() -> Raw {
    raw(&format!("files/{}", digest(PIPELINE)), PIPELINE)
}

#[test]
fn a_well_formed_hand_made_bundle_imports() {
    let (r, env) = import(vec![
        raw("quakeline-bundle.json", &manifest("p.toml", "")),
        pipeline_member(),
    ]);
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(
        std::fs::read(env.path().join("into/p.toml")).unwrap(),
        PIPELINE
    );
}

#[test]
fn import_refuses_an_absolute_member_path() {
    refused(
        vec![
            raw("quakeline-bundle.json", &manifest("p.toml", "")),
            pipeline_member(),
            raw("/tmp/quakeline-evil", b"x"),
        ],
        "absolute path",
    );
}

#[test]
fn import_refuses_a_member_path_with_dotdot() {
    refused(
        vec![
            raw("quakeline-bundle.json", &manifest("p.toml", "")),
            pipeline_member(),
            raw("files/../../evil", b"x"),
        ],
        "leaves the import directory",
    );
}

#[test]
fn import_refuses_a_layout_path_that_leaves_the_directory() {
    refused(
        vec![
            raw("quakeline-bundle.json", &manifest("../evil.toml", "")),
            pipeline_member(),
        ],
        "leaves or names the import directory",
    );
    refused(
        vec![
            raw("quakeline-bundle.json", &manifest("/tmp/evil.toml", "")),
            pipeline_member(),
        ],
        "not a relative path",
    );
}

#[test]
fn import_refuses_a_symbolic_link() {
    let mut link = raw(&format!("files/{}", digest(PIPELINE)), b"");
    link.kind = tar::EntryType::Symlink;
    link.link = Some("/etc/passwd");
    refused(
        vec![raw("quakeline-bundle.json", &manifest("p.toml", "")), link],
        "symbolic link",
    );
}

#[test]
fn import_refuses_a_hard_link() {
    let mut link = raw(&format!("files/{}", digest(PIPELINE)), b"");
    link.kind = tar::EntryType::Link;
    link.link = Some("/etc/passwd");
    refused(
        vec![raw("quakeline-bundle.json", &manifest("p.toml", "")), link],
        "hard link",
    );
}

#[test]
fn import_refuses_a_device_file() {
    let mut dev = raw(&format!("files/{}", digest(PIPELINE)), b"");
    dev.kind = tar::EntryType::Char;
    refused(
        vec![raw("quakeline-bundle.json", &manifest("p.toml", "")), dev],
        "device file",
    );
}

#[test]
fn import_refuses_a_member_the_manifest_does_not_cover() {
    refused(
        vec![
            raw("quakeline-bundle.json", &manifest("p.toml", "")),
            pipeline_member(),
            raw("files/extra", b"x"),
        ],
        "not listed in the bundle's manifest",
    );
}

#[test]
fn import_refuses_a_size_that_differs_from_the_manifest_before_reading_it() {
    let mut big = pipeline_member();
    big.data = vec![b'#'; 1 << 16];
    refused(
        vec![raw("quakeline-bundle.json", &manifest("p.toml", "")), big],
        "bytes, the manifest says",
    );
}

#[test]
fn import_refuses_content_whose_digest_differs() {
    let mut m = pipeline_member();
    m.data = b"[pipeline]\nname = \"y\"\n".to_vec();
    refused(
        vec![raw("quakeline-bundle.json", &manifest("p.toml", "")), m],
        "has BLAKE3",
    );
}

#[test]
fn import_refuses_a_listed_member_that_is_missing_and_a_stream_without_manifest() {
    refused(
        vec![raw("quakeline-bundle.json", &manifest("p.toml", ""))],
        "lacks",
    );
    refused(vec![pipeline_member()], "not the manifest");
}

#[test]
fn import_refuses_an_entry_whose_manifest_does_not_hash_to_its_key() {
    // A real entry manifest with its key replaced: the cache would file one computation under
    // another's key.
    let key = "ab".repeat(32);
    let data = b"not hdf5";
    let entry = format!(
        r#"{{"format":1,"key":"{key}","blake3":"{d}","size":{n},"pipeline":"x","stage":"s","kind":"filter","created":"","fields":{{"schema":1,"kind":"filter","version":1,"params":{{}},"inputs":{{}},"seed":null,"content":[]}}}}"#,
        d = digest(data),
        n = data.len()
    );
    let extra = format!(
        r#",{{"name":"entries/{key}.json","blake3":"{}","size":{},"role":"entry_manifest","key":"{key}","stage":"s"}},{{"name":"entries/{key}.h5","blake3":"{}","size":{},"role":"entry_data","key":"{key}"}}"#,
        digest(entry.as_bytes()),
        entry.len(),
        digest(data),
        data.len()
    );
    refused(
        vec![
            raw("quakeline-bundle.json", &manifest("p.toml", &extra)),
            pipeline_member(),
            raw(&format!("entries/{key}.json"), entry.as_bytes()),
            raw(&format!("entries/{key}.h5"), data),
        ],
        "hash to",
    );
}

#[test]
fn the_fuzzer_seed_is_a_bundle_that_imports_with_its_entry() {
    let env = Env::new();
    let bundle = env.path().join("seed.qlb");
    std::fs::write(&bundle, zstd::encode_all(seed_tar().as_slice(), 1).unwrap()).unwrap();
    let r = env.run(&["import", bundle.to_str().unwrap(), "into"]);
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(lines(&r.stdout, "entry").len(), 1, "{r:?}");
    assert!(env.path().join("into/sub/p.toml").is_file());
}
