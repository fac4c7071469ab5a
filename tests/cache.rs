//! Cache behaviour through the CLI: reruns, --set, explain, plan, show, gc, determinism, concurrency,
//! corruption.

use crate::util::{Env, bou_pipeline, data_dir};

fn lines_with<'a>(out: &'a str, word: &str) -> Vec<&'a str> {
    out.lines().filter(|l| l.starts_with(word)).collect()
}

fn plan_keys(env: &Env, pipeline: &str, extra: &[&str]) -> serde_json::Value {
    let mut args = vec!["plan", pipeline, "--json"];
    args.extend_from_slice(extra);
    let r = env.run(&args);
    assert_eq!(r.code, 0, "{r:?}");
    serde_json::from_str(&r.stdout).unwrap()
}

#[test]
fn second_run_is_all_cached_and_set_reruns_exactly_the_descendants() {
    let env = Env::new();
    let p = env.write("bou.toml", &bou_pipeline("bou"));
    let p = p.to_str().unwrap();
    let first = env.run(&["run", p]);
    assert_eq!(first.code, 0, "{first:?}");
    assert_eq!(lines_with(&first.stdout, "ran").len(), 4, "{first:?}");
    assert_eq!(env.entries().len(), 4);

    let second = env.run(&["run", p]);
    assert_eq!(second.code, 0);
    assert_eq!(lines_with(&second.stdout, "cached").len(), 4, "{second:?}");
    assert!(lines_with(&second.stdout, "ran").is_empty());

    // Changing the gap filler reruns it and both filters, not the fetch.
    let third = env.run(&["run", p, "--set", "filled.max_gap=5m"]);
    assert_eq!(third.code, 0, "{third:?}");
    let ran: Vec<&str> = lines_with(&third.stdout, "ran")
        .iter()
        .map(|l| l.split_whitespace().nth(1).unwrap())
        .collect();
    assert_eq!(ran.len(), 3, "{third:?}");
    assert!(ran.contains(&"filled") && ran.contains(&"detrended") && ran.contains(&"smoothed"));

    // Changing one filter reruns only that filter.
    let fourth = env.run(&["run", p, "--set", "detrended.order=2"]);
    let ran: Vec<&str> = lines_with(&fourth.stdout, "ran")
        .iter()
        .map(|l| l.split_whitespace().nth(1).unwrap())
        .collect();
    assert_eq!(ran, ["detrended"], "{fourth:?}");

    // explain names the parameter with old and new value.
    let why = env.run(&["explain", p, "detrended", "--set", "detrended.order=3"]);
    assert_eq!(why.code, 0, "{why:?}");
    assert!(
        why.stdout.contains("parameter `order` changed: 2 → 3"),
        "{why:?}"
    );
    let why = env.run(&["explain", p, "smoothed", "--set", "filled.fill=linear"]);
    assert!(why.stdout.contains("input `input` changed"), "{why:?}");
    assert!(
        why.stdout
            .contains("parameter `fill` changed: \"mean\" → \"linear\""),
        "{why:?}"
    );
    let why = env.run(&["explain", p, "mag"]);
    assert!(why.stdout.contains("is cached"), "{why:?}");
}

#[test]
fn plan_reports_states_without_running() {
    let env = Env::new();
    let p = env.write("bou.toml", &bou_pipeline("bou"));
    let p = p.to_str().unwrap();
    let rows = plan_keys(&env, p, &[]);
    let rows = rows.as_array().unwrap();
    assert_eq!(rows.len(), 4);
    assert!(rows.iter().all(|r| r["state"] == "pending"));
    assert_eq!(rows[0]["stage"], "mag");
    assert_eq!(rows[0]["kind"], "fetch.iaga2002");
    assert_eq!(rows[0]["key"].as_str().unwrap().len(), 64);
    assert!(env.entries().is_empty(), "plan must not run anything");
    env.run(&["run", p, "--quiet"]);
    let rows = plan_keys(&env, p, &[]);
    assert!(
        rows.as_array()
            .unwrap()
            .iter()
            .all(|r| r["state"] == "cached")
    );
    let human = env.run(&["plan", p]);
    assert!(
        human.stdout.lines().nth(1).unwrap().contains("cached"),
        "{human:?}"
    );
}

#[test]
fn keys_ignore_explicit_defaults_paths_and_pipeline_name_but_not_values() {
    let env = Env::new();
    let base = env.write("a.toml", &bou_pipeline("a"));
    // Same computation: default written out, duration in other units, data copied elsewhere, other name.
    let moved = env.path().join("elsewhere");
    std::fs::create_dir_all(&moved).unwrap();
    for d in 1..=7 {
        let name = format!("bou2014110{d}vmin.min");
        std::fs::copy(data_dir().join("iaga2002").join(&name), moved.join(&name)).unwrap();
    }
    let text = bou_pipeline("b")
        .replace(
            &data_dir().join("iaga2002").display().to_string(),
            "elsewhere",
        )
        .replace("max_gap = \"3m\"", "max_gap = \"180s\"\nfill = \"mean\"")
        .replace(
            "corners_hz = [0.0002]",
            "corners_hz = [0.0002]\norder = 4\nzero_phase = true",
        );
    let same = env.write("b.toml", &text);
    let a = plan_keys(&env, base.to_str().unwrap(), &[]);
    let b = plan_keys(&env, same.to_str().unwrap(), &[]);
    assert_eq!(a, b);
    let c = plan_keys(
        &env,
        base.to_str().unwrap(),
        &["--set", "detrended.order=5"],
    );
    assert_eq!(a[0], c[0]);
    assert_ne!(a[2]["key"], c[2]["key"]);
    // Deterministic stages ignore the pipeline seed.
    let d = plan_keys(&env, base.to_str().unwrap(), &["--set", "pipeline.seed=9"]);
    assert_eq!(a, d);
}

#[test]
fn outputs_are_bit_identical_across_caches_and_job_counts() {
    let env = Env::new();
    let p = env.write("bou.toml", &bou_pipeline("bou"));
    let p = p.to_str().unwrap();
    let c1 = env.path().join("c1");
    let c2 = env.path().join("c2");
    assert_eq!(
        env.run(&["run", p, "-q", "-j", "1", "--cache", c1.to_str().unwrap()])
            .code,
        0
    );
    assert_eq!(
        env.run(&["run", p, "-q", "-j", "4", "--cache", c2.to_str().unwrap()])
            .code,
        0
    );
    let rows = plan_keys(&env, p, &[]);
    for r in rows.as_array().unwrap() {
        let key = r["key"].as_str().unwrap();
        let read = |root: &std::path::Path| {
            let f = hdf5::File::open(
                root.join("objects")
                    .join(&key[..2])
                    .join(format!("{key}.h5")),
            )
            .unwrap();
            let d = f.dataset("data").unwrap().read_raw::<f64>().unwrap();
            d.iter().map(|v| v.to_bits()).collect::<Vec<u64>>()
        };
        assert_eq!(read(&c1), read(&c2), "stage {}", r["stage"]);
    }
}

#[test]
fn concurrent_runs_both_succeed_with_the_same_entries() {
    let env = Env::new();
    let p = env.write("bou.toml", &bou_pipeline("bou"));
    let p = p.to_str().unwrap();
    let a = env
        .cmd(&["run", p])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let b = env
        .cmd(&["run", p])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let (a, b): (crate::util::Run, crate::util::Run) = (
        a.wait_with_output().unwrap().into(),
        b.wait_with_output().unwrap().into(),
    );
    assert_eq!(a.code, 0, "{a:?}");
    assert_eq!(b.code, 0, "{b:?}");
    // Every stage was computed once in all: what one ran, the other found cached.
    let ran = lines_with(&a.stdout, "ran").len() + lines_with(&b.stdout, "ran").len();
    assert_eq!(ran, 4, "{a:?}\n{b:?}");
    assert_eq!(env.entries().len(), 4);
    let again = env.run(&["run", p]);
    assert_eq!(lines_with(&again.stdout, "cached").len(), 4);
}

#[test]
fn a_corrupted_entry_is_detected_warned_about_and_recomputed() {
    let env = Env::new();
    let p = env.write("bou.toml", &bou_pipeline("bou"));
    let p = p.to_str().unwrap();
    assert_eq!(env.run(&["run", p, "-q"]).code, 0);
    let rows = plan_keys(&env, p, &[]);
    let key = rows[1]["key"].as_str().unwrap();
    let h5 = env
        .cache()
        .join("objects")
        .join(&key[..2])
        .join(format!("{key}.h5"));
    let mut bytes = std::fs::read(&h5).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0xff;
    std::fs::write(&h5, &bytes).unwrap();
    let r = env.run(&["run", p]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stderr.contains("failed verification"), "{r:?}");
    let ran: Vec<&str> = lines_with(&r.stdout, "ran")
        .iter()
        .map(|l| l.split_whitespace().nth(1).unwrap())
        .collect();
    assert_eq!(ran, ["filled"], "{r:?}");
    let r = env.run(&["run", p]);
    assert_eq!(lines_with(&r.stdout, "cached").len(), 4, "{r:?}");
}

#[test]
fn a_failing_stage_skips_its_descendants_and_the_other_branch_finishes() {
    let env = Env::new();
    // 0.01 Hz is above the Nyquist frequency of 1-minute data (8.3 mHz): fails at run time.
    let text = bou_pipeline("fail").replace("corners_hz = [0.0002]", "corners_hz = [0.01]")
        + "\n[stage.after]\nkind = \"filter\"\ninput = \"detrended\"\ntype = \"lowpass\"\ncorners_hz = [0.001]\n";
    let p = env.write("fail.toml", &text);
    let r = env.run(&["run", p.to_str().unwrap()]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.stdout.contains("failed   detrended"), "{r:?}");
    assert!(r.stdout.contains("skipped  after"), "{r:?}");
    assert!(r.stdout.contains("ran      smoothed"), "{r:?}");
    assert!(
        r.stderr.contains("Nyquist") && r.stderr.contains("fail.toml:"),
        "{r:?}"
    );
    assert_eq!(env.entries().len(), 3);
}

#[test]
fn show_lists_provenance_and_datasets() {
    let env = Env::new();
    let p = env.write("bou.toml", &bou_pipeline("bou"));
    let p = p.to_str().unwrap();
    let r = env.run(&["show", p, "filled"]);
    assert_eq!(r.code, 2, "not cached yet: {r:?}");
    env.run(&["run", p, "-q"]);
    let r = env.run(&["show", p, "filled"]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stdout.contains("stage     filled (gapfill)"), "{r:?}");
    // The machine that computed it (results are bit-identical per machine, not across CPUs).
    assert!(
        r.stdout
            .contains(&format!("machine   {}", quakeline::machine::describe())),
        "{r:?}"
    );
    assert!(
        r.stdout.contains("[10080, 4]") && r.stdout.contains("channels = H,D,Z,F"),
        "{r:?}"
    );
    let f = hdf5::File::open(&env.entries()[0]).unwrap();
    for attr in [
        "quakeline_key",
        "quakeline_stage",
        "quakeline_kind",
        "quakeline_params",
        "quakeline_inputs",
        "quakeline_version",
        "quakeline_created",
        "quakeline_machine",
    ] {
        assert!(f.attr(attr).is_ok(), "missing root attribute {attr}");
    }
}

#[test]
fn gc_keeps_what_the_pipelines_use() {
    let env = Env::new();
    let p = env.write("bou.toml", &bou_pipeline("bou"));
    let p = p.to_str().unwrap();
    env.run(&["run", p, "-q"]);
    env.run(&["run", p, "-q", "--set", "smoothed.order=2"]);
    assert_eq!(env.entries().len(), 5);
    assert_eq!(
        env.run(&["gc"]).code,
        2,
        "a bare gc must not empty the cache"
    );
    // A dry run lists the entry it would remove, with the size removing it frees, and removes
    // nothing.
    let before: u64 = env
        .entries()
        .iter()
        .map(|e| std::fs::metadata(e).unwrap().len())
        .sum();
    let r = env.run(&["gc", "--keep-pipelines", p, "--dry-run"]);
    assert_eq!(r.code, 0, "{r:?}");
    let listed = lines_with(&r.stdout, "would remove ");
    assert_eq!(listed.len(), 2, "one entry line and the total: {r:?}");
    assert!(listed[0].contains("/smoothed ("), "{r:?}");
    let mb = |line: &str| -> f64 {
        let at = line.find(" MB").unwrap();
        line[..at]
            .rsplit([' ', '('])
            .next()
            .unwrap()
            .parse()
            .unwrap()
    };
    assert!(mb(listed[0]) > 0.0, "{r:?}");
    assert_eq!(mb(listed[0]), mb(listed[1]), "{r:?}");
    assert_eq!(env.entries().len(), 5);
    let after: u64 = env
        .entries()
        .iter()
        .map(|e| std::fs::metadata(e).unwrap().len())
        .sum();
    assert_eq!(before, after);
    let r = env.run(&["gc", "--keep-pipelines", p]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stdout.starts_with("removed 1 entry"), "{r:?}");
    assert_eq!(env.entries().len(), 4);
    let r = env.run(&["run", p]);
    assert_eq!(lines_with(&r.stdout, "cached").len(), 4);
}

/// Every pipeline shipped in `pipelines/` loads, checks and plans (exit 0) with the data it
/// references in the repository: a renamed parameter or a moved file breaks this, not a user.
#[test]
fn every_shipped_pipeline_plans() {
    let env = Env::new();
    let dir = crate::util::repo_dir().join("pipelines");
    let mut planned = 0;
    for e in std::fs::read_dir(&dir).unwrap().flatten() {
        let p = e.path();
        if p.extension().is_some_and(|x| x == "toml") {
            let r = env.run(&["plan", p.to_str().unwrap()]);
            assert_eq!(r.code, 0, "{}: {r:?}", p.display());
            planned += 1;
        }
    }
    assert!(planned >= 8, "{planned}");
}
