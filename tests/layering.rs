//! The module layering of `src/lib.rs` ("# Layers"), checked on the source: no `crate::` path in
//! code (outside `#[cfg(test)]` blocks and comments) points from a module to one on a line below
//! its own, and the modules listed form no circle. The list is read from the crate docs, so the
//! documented layering and the checked one are the same text.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Module paths by layer, lowest first, as the crate docs list them.
fn layers() -> Vec<Vec<String>> {
    let lib = std::fs::read_to_string(src().join("lib.rs")).unwrap();
    let mut out = Vec::new();
    let mut inside = false;
    for line in lib.lines() {
        let Some(doc) = line.strip_prefix("//!") else {
            continue;
        };
        let doc = doc.trim();
        if doc.starts_with('#') {
            inside = doc == "# Layers";
            continue;
        }
        if inside && doc.chars().next().is_some_and(|c| c.is_ascii_digit()) {
            let names: Vec<String> = doc
                .split('`')
                .skip(1)
                .step_by(2)
                .map(str::to_string)
                .collect();
            assert!(!names.is_empty(), "a layer without modules: {doc}");
            out.push(names);
        }
    }
    assert!(out.len() > 5, "no `# Layers` list in src/lib.rs");
    out
}

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// `src/a/b.rs` → `a::b`, `src/a/mod.rs` → `a`; `None` for the crate root and `main.rs`.
fn module_of(path: &Path) -> Option<String> {
    let rel = path.strip_prefix(src()).ok()?.with_extension("");
    let mut parts: Vec<String> = rel
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    if parts.last().is_some_and(|p| p == "mod") {
        parts.pop();
    }
    match parts.as_slice() {
        [one] if one == "lib" || one == "main" => None,
        _ => Some(parts.join("::")),
    }
}

/// The code of a file without comments and `#[cfg(test)]` items (unit tests may reach anywhere).
fn code(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find("#[cfg(test)]") {
        out.push_str(&rest[..at]);
        let after = &rest[at..];
        let (brace, semi) = (after.find('{'), after.find(';'));
        let end = match (brace, semi) {
            (_, Some(s)) if brace.is_none_or(|b| s < b) => s + 1,
            (Some(b), _) => {
                let mut depth = 0usize;
                let mut end = after.len();
                for (i, c) in after[b..].char_indices() {
                    match c {
                        '{' => depth += 1,
                        '}' => {
                            depth -= 1;
                            if depth == 0 {
                                end = b + i + 1;
                                break;
                            }
                        }
                        _ => {}
                    }
                }
                end
            }
            _ => after.len(),
        };
        rest = &after[end..];
    }
    out.push_str(rest);
    out.lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Every `crate::a::b::…` path in `code`, as `a::b::…`.
fn crate_paths(code: &str) -> Vec<String> {
    let mut out = Vec::new();
    for (at, _) in code.match_indices("crate::") {
        if code[..at]
            .chars()
            .last()
            .is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '$')
        {
            continue;
        }
        let path: String = code[at + "crate::".len()..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == ':')
            .collect();
        out.push(path.trim_end_matches(':').to_string());
    }
    out
}

/// The listed module a module path belongs to (the longest listed prefix) and its layer.
fn place<'a>(layers: &'a [Vec<String>], path: &str) -> Option<(usize, &'a str)> {
    let mut best: Option<(usize, &str)> = None;
    for (i, l) in layers.iter().enumerate() {
        for m in l {
            let hit = path == m || path.starts_with(&format!("{m}::"));
            if hit && best.is_none_or(|(_, b)| m.len() > b.len()) {
                best = Some((i, m));
            }
        }
    }
    best
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|e| e == "rs") {
            out.push(p);
        }
    }
}

/// Exported macros (`crate::stage_params!`) are not modules.
const MACROS: &[&str] = &["stage_params", "source_params", "choice"];

#[test]
fn no_module_uses_a_layer_above_its_own_and_no_circles() {
    let layers = layers();
    let mut files = Vec::new();
    rust_files(&src(), &mut files);
    files.sort();
    let mut down = Vec::new();
    let mut unlisted = BTreeSet::new();
    let mut edges: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for f in &files {
        let Some(module) = module_of(f) else { continue };
        let Some((from_layer, from)) = place(&layers, &module) else {
            unlisted.insert(module);
            continue;
        };
        let text = std::fs::read_to_string(f).unwrap();
        for path in crate_paths(&code(&text)) {
            if MACROS.contains(&path.split("::").next().unwrap_or("")) {
                continue;
            }
            let Some((to_layer, to)) = place(&layers, &path) else {
                unlisted.insert(path);
                continue;
            };
            if to_layer > from_layer {
                down.push(format!(
                    "{}: {module} (layer {}) uses crate::{path} (layer {})",
                    f.strip_prefix(src()).unwrap().display(),
                    from_layer + 1,
                    to_layer + 1
                ));
            }
            if to != from {
                edges.entry(from).or_default().insert(to);
            }
        }
    }
    assert!(
        unlisted.is_empty(),
        "modules missing from the `# Layers` list of src/lib.rs: {unlisted:?}"
    );
    assert!(
        down.is_empty(),
        "uses against the layering:\n{}",
        down.join("\n")
    );
    // A circle needs an edge between two modules of one layer: find one by depth-first search.
    fn visit<'a>(
        m: &'a str,
        edges: &BTreeMap<&'a str, BTreeSet<&'a str>>,
        state: &mut BTreeMap<&'a str, bool>,
        stack: &mut Vec<&'a str>,
    ) -> Option<Vec<&'a str>> {
        state.insert(m, true);
        stack.push(m);
        for &n in edges.get(m).into_iter().flatten() {
            match state.get(n) {
                Some(true) => {
                    let at = stack.iter().position(|s| *s == n).unwrap();
                    let mut circle = stack[at..].to_vec();
                    circle.push(n);
                    return Some(circle);
                }
                Some(false) => {}
                None => {
                    if let Some(c) = visit(n, edges, state, stack) {
                        return Some(c);
                    }
                }
            }
        }
        stack.pop();
        state.insert(m, false);
        None
    }
    let mut state = BTreeMap::new();
    for &m in edges.keys() {
        if !state.contains_key(m) {
            let circle = visit(m, &edges, &mut state, &mut Vec::new());
            assert!(
                circle.is_none(),
                "an import circle: {}",
                circle.unwrap().join(" → ")
            );
        }
    }
}

#[test]
fn the_checker_sees_a_use_against_the_layering() {
    // The checker itself, on made-up code: a path down the list is found, a comment and a
    // unit-test block are not.
    let layers = layers();
    let text = "use crate::stages::REGISTRY;\n// crate::cli::x\n#[cfg(test)]\nmod tests { use crate::cli::y; }\nfn f() { crate::signal::sos::filter(); }\n";
    let paths = crate_paths(&code(text));
    assert_eq!(paths, ["stages::REGISTRY", "signal::sos::filter"]);
    let (signal, _) = place(&layers, "signal::sos").unwrap();
    let (stages, _) = place(&layers, "stages::REGISTRY").unwrap();
    assert!(signal < stages);
    let (io, _) = place(&layers, "io::catalog").unwrap();
    let (registry, m) = place(&layers, "io::waveforms::mseed").unwrap();
    assert_eq!(m, "io::waveforms");
    assert!(io < registry);
}
