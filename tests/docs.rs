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
