//! Generated documentation stays what the code declares: `quakeline stages` against its committed
//! snapshot, and the README's list of kinds against `quakeline stages --md`. After an intended
//! change, rerun with `QUAKELINE_BLESS=1` to rewrite both, and review the diff.

use crate::util::{Env, repo_dir};

fn bless() -> bool {
    std::env::var_os("QUAKELINE_BLESS").is_some()
}

#[test]
fn stages_listing_matches_its_snapshot() {
    let r = Env::new().run(&["stages"]);
    assert_eq!(r.code, 0, "{r:?}");
    let path = repo_dir().join("tests/data/snapshots/stages.txt");
    if bless() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &r.stdout).unwrap();
    }
    let want = std::fs::read_to_string(&path).unwrap_or_default();
    if r.stdout != want {
        let first = r
            .stdout
            .lines()
            .zip(want.lines())
            .position(|(a, b)| a != b)
            .unwrap_or(0);
        panic!(
            "`quakeline stages` differs from {} from line {} on:\n  now:  {:?}\n  snap: {:?}\nrerun with QUAKELINE_BLESS=1 if the change is intended",
            path.display(),
            first + 1,
            r.stdout.lines().nth(first),
            want.lines().nth(first)
        );
    }
}

const BEGIN: &str = "<!-- begin: quakeline stages --md -->\n";
const END: &str = "<!-- end: quakeline stages --md -->";

#[test]
fn readme_lists_exactly_the_registered_kinds() {
    let r = Env::new().run(&["stages", "--md"]);
    assert_eq!(r.code, 0, "{r:?}");
    let path = repo_dir().join("README.md");
    let readme = std::fs::read_to_string(&path).unwrap();
    let (a, b) = (
        readme.find(BEGIN).expect("README has the begin marker") + BEGIN.len(),
        readme.find(END).expect("README has the end marker"),
    );
    if bless() {
        let new = format!("{}{}{}", &readme[..a], r.stdout, &readme[b..]);
        std::fs::write(&path, new).unwrap();
        return;
    }
    assert_eq!(
        &readme[a..b],
        r.stdout,
        "README's kind list is not `quakeline stages --md`; rerun with QUAKELINE_BLESS=1"
    );
}

/// Replaces the lines between `begin` and `end` (marker lines of a `//!` doc) in `file` with
/// `generated` when blessing; otherwise fails where they differ.
fn doc_block(file: &str, begin: &str, end: &str, generated: &str) {
    let path = repo_dir().join(file);
    let text = std::fs::read_to_string(&path).unwrap();
    let a = text
        .find(begin)
        .unwrap_or_else(|| panic!("{file} has no `{begin}`"));
    let a = a + text[a..].find('\n').unwrap() + 1;
    let b = text
        .find(end)
        .unwrap_or_else(|| panic!("{file} has no `{end}`"));
    let b = text[..b].rfind('\n').map_or(b, |i| i + 1);
    if bless() {
        std::fs::write(&path, format!("{}{}{}", &text[..a], generated, &text[b..])).unwrap();
        return;
    }
    assert_eq!(
        &text[a..b],
        generated,
        "{file}: the table between `{begin}` and `{end}` is not what the registry says; rerun with QUAKELINE_BLESS=1"
    );
}

/// `//! | a | b |` rows with a header.
fn doc_table(header: &[&str], rows: &[Vec<String>]) -> String {
    let line = |cells: &[String]| format!("//! | {} |\n", cells.join(" | "));
    let mut out = line(&header.iter().map(|h| h.to_string()).collect::<Vec<_>>());
    out += &line(&header.iter().map(|_| "---".to_string()).collect::<Vec<_>>());
    for r in rows {
        out += &line(r);
    }
    out
}

#[test]
fn the_stage_kinds_table_is_the_registry() {
    let mut rows = Vec::new();
    for k in quakeline::stages::REGISTRY {
        let info = k.info();
        let file = format!("{}.rs", info.kind.replace(['.', '-'], "_"));
        assert!(
            repo_dir().join("src/stages").join(&file).exists(),
            "kind `{}` is not in src/stages/{file}",
            info.kind
        );
        rows.push(vec![
            format!("`{}`", info.kind),
            format!("`{file}`"),
            info.summary.to_string(),
        ]);
    }
    let table = doc_table(&["kind", "file", "what it does"], &rows);
    doc_block(
        "src/stages/mod.rs",
        "<!-- kinds:",
        "<!-- end kinds -->",
        &table,
    );
}

#[test]
fn the_models_table_is_the_registry() {
    let mut rows = Vec::new();
    for m in quakeline::models::MODELS {
        let file = format!("{}.rs", m.name.replace('-', "_"));
        assert!(
            repo_dir().join("src/models").join(&file).exists(),
            "model `{}` is not in src/models/{file}",
            m.name
        );
        rows.push(vec![
            format!("`{}`", m.name),
            format!("`{file}`"),
            m.trains_on.name.to_string(),
            format!("{}", m.params.version().unwrap_or(0)),
            m.summary.to_string(),
        ]);
    }
    let table = doc_table(
        &["model", "file", "trains on", "version", "what it is"],
        &rows,
    );
    doc_block(
        "src/models/mod.rs",
        "<!-- models:",
        "<!-- end models -->",
        &table,
    );
}

/// Every stage file's module doc has the fixed headings, in order (the house style: what a
/// user looks for is in the same place in every kind).
#[test]
fn every_stage_doc_has_the_fixed_headings() {
    const HEADINGS: [&str; 6] = [
        "# Purpose",
        "# Inputs",
        "# Outputs",
        "# Parameters",
        "# Cache key",
        "# References",
    ];
    let mut missing = Vec::new();
    for k in quakeline::stages::REGISTRY {
        let file = format!("src/stages/{}.rs", k.info().kind.replace(['.', '-'], "_"));
        let text = std::fs::read_to_string(repo_dir().join(&file)).unwrap();
        let doc: Vec<&str> = text
            .lines()
            .take_while(|l| l.starts_with("//!"))
            .map(|l| l.trim_start_matches("//!").trim())
            .collect();
        let mut at = 0;
        for h in HEADINGS {
            match doc[at..].iter().position(|l| *l == h) {
                Some(i) => at += i + 1,
                None => missing.push(format!("{file}: `{h}` (after the previous heading)")),
            }
        }
    }
    assert!(
        missing.is_empty(),
        "stage docs without their headings:\n{}",
        missing.join("\n")
    );
}
