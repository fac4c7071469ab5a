//! Every bad input gets a located, actionable error, a non-zero exit code, no panic and no partial
//! cache entry.

use crate::util::{Env, Run, bou_pipeline, iaga};

/// Runs `quakeline run` on a pipeline text and checks the common contract.
fn run_bad(env: &Env, text: &str, code: i32) -> Run {
    let p = env.write("bad.toml", text);
    let r = env.run(&["run", p.to_str().unwrap()]);
    assert_eq!(r.code, code, "{r:?}");
    assert!(!r.stderr.contains("panicked"), "{r:?}");
    assert!(env.entries().iter().all(|e| e.exists()));
    r
}

fn no_entries_for_failed(env: &Env) {
    let tmp = env.cache().join("tmp");
    if let Ok(d) = std::fs::read_dir(&tmp) {
        let left: Vec<_> = d.flatten().map(|e| e.file_name()).collect();
        assert!(left.is_empty(), "temp files left behind: {left:?}");
    }
}

const HEAD: &str = "[pipeline]\nname = \"bad\"\n";

#[test]
fn missing_pipeline_file() {
    let env = Env::new();
    let r = env.run(&["run", "nope.toml"]);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(
        r.stderr.contains("cannot read pipeline file nope.toml"),
        "{r:?}"
    );
}

#[test]
fn malformed_toml() {
    let env = Env::new();
    let r = run_bad(&env, "[pipeline]\nname = \"bad\n[stage.a]\n", 2);
    assert!(
        r.stderr.contains("bad.toml:2:") && r.stderr.contains("invalid TOML"),
        "{r:?}"
    );
    assert!(env.entries().is_empty());
}

#[test]
fn unknown_stage_kind_with_suggestion() {
    let env = Env::new();
    let r = run_bad(&env, &format!("{HEAD}\n[stage.a]\nkind = \"gapfil\"\n"), 2);
    assert!(
        r.stderr
            .contains("bad.toml:5:8: unknown stage kind \"gapfil\""),
        "{r:?}"
    );
    assert!(r.stderr.contains("did you mean \"gapfill\"?"), "{r:?}");
}

#[test]
fn unknown_parameter_with_suggestion() {
    let env = Env::new();
    let text =
        bou_pipeline("bad").replace("corners_hz = [0.0002]", "corners_hz = [0.0002]\nordr = 2");
    let r = run_bad(&env, &text, 2);
    assert!(
        r.stderr
            .contains("unknown parameter `ordr` for stage `detrended`"),
        "{r:?}"
    );
    assert!(r.stderr.contains("bad.toml:19:1"), "{r:?}");
    assert!(r.stderr.contains("did you mean `order`?"), "{r:?}");
    assert!(
        env.entries().is_empty(),
        "nothing runs when the file is wrong"
    );
}

#[test]
fn wrong_type_and_out_of_range_and_missing_required_are_all_reported_together() {
    let env = Env::new();
    let text = bou_pipeline("bad")
        .replace(
            "corners_hz = [0.0002]",
            "corners_hz = [0.0002]\norder = \"4\"",
        )
        .replace("max_gap = \"3m\"", "max_gap = 3")
        .replace(
            "type = \"lowpass\"\ncorners_hz = [0.001]",
            "type = \"lowpass\"",
        );
    let r = run_bad(&env, &text, 2);
    assert!(
        r.stderr
            .contains("`order` expects an integer in [1, 12], found string \"4\""),
        "{r:?}"
    );
    assert!(
        r.stderr.contains("`max_gap` expects a duration string"),
        "{r:?}"
    );
    assert!(
        r.stderr
            .contains("stage `smoothed` is missing required parameter `corners_hz`"),
        "{r:?}"
    );
}

#[test]
fn cross_field_rule() {
    let env = Env::new();
    let text = bou_pipeline("bad").replace("type = \"highpass\"", "type = \"bandpass\"");
    let r = run_bad(&env, &text, 2);
    assert!(
        r.stderr
            .contains("bad.toml:18:14: parameter `corners_hz`: a band-pass needs two corners"),
        "{r:?}"
    );
}

#[test]
fn reference_to_a_missing_stage() {
    let env = Env::new();
    let text = bou_pipeline("bad").replace(
        "input = \"filled\"\ntype = \"lowpass\"",
        "input = \"filed\"\ntype = \"lowpass\"",
    );
    let r = run_bad(&env, &text, 2);
    assert!(
        r.stderr
            .contains("stage `smoothed` reads `filed`, which is not a stage"),
        "{r:?}"
    );
    assert!(r.stderr.contains("did you mean `filled`?"), "{r:?}");
}

#[test]
fn cycle() {
    let env = Env::new();
    let text = format!(
        "{HEAD}\n[stage.a]\nkind = \"gapfill\"\ninput = \"c\"\n\n[stage.b]\nkind = \"gapfill\"\ninput = \"a\"\n\n[stage.c]\nkind = \"gapfill\"\ninput = \"b\"\n"
    );
    let r = run_bad(&env, &text, 2);
    assert!(
        r.stderr.contains("the stages form a cycle: a → b → c → a"),
        "{r:?}"
    );
    assert!(r.stderr.contains("bad.toml:6:9"), "{r:?}");
}

#[test]
fn missing_file_and_glob_matching_nothing() {
    let env = Env::new();
    for pattern in ["no-such-file.min", "data/*.xyz"] {
        let text =
            format!("{HEAD}\n[stage.m]\nkind = \"fetch.iaga2002\"\npaths = [\"{pattern}\"]\n");
        let r = run_bad(&env, &text, 2);
        assert!(
            r.stderr.contains(&format!("`{pattern}` matches no file")),
            "{r:?}"
        );
        assert!(r.stderr.contains("bad.toml:6:9"), "{r:?}");
    }
}

#[test]
fn url_without_pin_and_malformed_pin() {
    let env = Env::new();
    let text = format!(
        "{HEAD}\n[stage.m]\nkind = \"fetch.iaga2002\"\nurls = [\"http://127.0.0.1:9/x.min\"]\n"
    );
    let r = run_bad(&env, &text, 2);
    assert!(
        r.stderr
            .contains("1 URL(s) need 1 pinned digest(s), found 0"),
        "{r:?}"
    );
    let r = run_bad(&env, &format!("{text}blake3 = [\"abc\"]\n"), 2);
    assert!(
        r.stderr.contains("`abc` is not a BLAKE3 digest") && r.stderr.contains("bad.toml:7:"),
        "{r:?}"
    );
}

#[test]
fn bad_set_override() {
    let env = Env::new();
    let p = env.write("ok.toml", &bou_pipeline("ok"));
    let r = env.run(&["run", p.to_str().unwrap(), "--set", "detrendd.order=2"]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("--set names unknown stage `detrendd`")
            && r.stderr.contains("did you mean `detrended`?"),
        "{r:?}"
    );
    let r = env.run(&["run", p.to_str().unwrap(), "--set", "detrended.order=many"]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("--set:1:17: `order` expects an integer"),
        "{r:?}"
    );
}

/// Writes a copy of a real IAGA file with `edit` applied to its text, into the env.
fn bad_iaga(env: &Env, edit: impl Fn(String) -> String) -> String {
    let text = std::fs::read_to_string(iaga("bou20141101vmin.min")).unwrap();
    env.write("data/bad.min", &edit(text));
    format!("{HEAD}\n[stage.m]\nkind = \"fetch.iaga2002\"\npaths = [\"data/bad.min\"]\n")
}

#[test]
fn truncated_iaga_file() {
    let env = Env::new();
    let text = bad_iaga(&env, |t| t[..t.len() - 30].to_string());
    let r = run_bad(&env, &text, 1);
    assert!(
        r.stderr
            .contains("data/bad.min:1465: truncated record: expected 7 fields"),
        "{r:?}"
    );
    assert!(env.entries().is_empty());
    no_entries_for_failed(&env);
}

#[test]
fn header_without_date_line() {
    let env = Env::new();
    let text = bad_iaga(&env, |t| {
        t.lines()
            .take_while(|l| !l.starts_with("DATE"))
            .map(|l| format!("{l}\n"))
            .collect()
    });
    let r = run_bad(&env, &text, 1);
    assert!(
        r.stderr
            .contains("data/bad.min:24: no `DATE TIME DOY …` column-header record"),
        "{r:?}"
    );
}

#[test]
fn non_numeric_value_on_line_n() {
    let env = Env::new();
    let text = bad_iaga(&env, |t| {
        t.replace(
            "2014-11-01 00:02:00.000 305     20873.94",
            "2014-11-01 00:02:00.000 305     2O873.94",
        )
    });
    let r = run_bad(&env, &text, 1);
    assert!(
        r.stderr
            .contains("data/bad.min:28: field `H` (element 1 of 4): `2O873.94` is not a number"),
        "{r:?}"
    );
}

#[test]
fn unsorted_records() {
    let env = Env::new();
    let text = bad_iaga(&env, |t| {
        t.replace("2014-11-01 00:02:00.000", "2014-11-01 00:00:30.000")
    });
    let r = run_bad(&env, &text, 1);
    assert!(
        r.stderr.contains(
            "data/bad.min:28: record time 2014-11-01 00:00:30.000 is not after the previous record"
        ),
        "{r:?}"
    );
}

#[test]
fn overlapping_files() {
    let env = Env::new();
    std::fs::create_dir_all(env.path().join("data")).unwrap();
    std::fs::copy(iaga("bou20141101vmin.min"), env.path().join("data/a.min")).unwrap();
    let shifted = std::fs::read_to_string(iaga("bou20141101vmin.min"))
        .unwrap()
        .replace("2014-11-01 00:00:00.000", "2014-10-31 23:59:00.000");
    // Keep DOY consistent for the moved record.
    env.write(
        "data/b.min",
        &shifted.replace("2014-10-31 23:59:00.000 305", "2014-10-31 23:59:00.000 304"),
    );
    let text = format!("{HEAD}\n[stage.m]\nkind = \"fetch.iaga2002\"\npaths = [\"data/*.min\"]\n");
    let r = run_bad(&env, &text, 1);
    assert!(
        r.stderr.contains("overlaps") && r.stderr.contains("a.min") && r.stderr.contains("b.min"),
        "{r:?}"
    );
}

#[test]
fn unwritable_cache_dir() {
    let env = Env::new();
    let p = env.write("ok.toml", &bou_pipeline("ok"));
    let file = env.write("not-a-dir", "x");
    let r = env.run(&[
        "run",
        p.to_str().unwrap(),
        "--cache",
        file.join("cache").to_str().unwrap(),
    ]);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(
        r.stderr.contains("cannot create cache directory") && r.stderr.contains("--cache DIR"),
        "{r:?}"
    );
}

/// A full disk during a write, simulated with a file-size limit (`ulimit -f`; the signal it would
/// send is ignored so the write fails with EFBIG instead of killing the process).
#[test]
fn disk_full_during_a_write_leaves_no_entry() {
    let env = Env::new();
    let p = env.write("ok.toml", &bou_pipeline("ok"));
    let cmd = format!(
        "ulimit -f 200; trap '' XFSZ; exec \"$0\" run {} -q",
        p.display()
    );
    let r: Run = std::process::Command::new("bash")
        .args(["-c", &cmd, env!("CARGO_BIN_EXE_quakeline")])
        .current_dir(env.path())
        .env("QUAKELINE_CACHE", env.cache())
        .output()
        .unwrap()
        .into();
    assert_eq!(r.code, 1, "{r:?}");
    assert!(
        r.stderr.contains("stage `mag` (fetch.iaga2002) failed"),
        "{r:?}"
    );
    assert!(env.entries().is_empty(), "{:?}", env.entries());
    no_entries_for_failed(&env);
    // With space again, the same run succeeds.
    let r = env.run(&["run", p.to_str().unwrap()]);
    assert_eq!(r.code, 0, "{r:?}");
}

#[test]
fn a_catalog_wired_into_filter_is_a_plan_time_error_at_the_reference() {
    let env = Env::new();
    let catalog = crate::util::data_dir().join("catalogs/fdsn_event_text_isc.txt");
    let text = format!(
        "{HEAD}\n[stage.events]\nkind = \"fetch.catalog\"\npaths = [\"{}\"]\n\n[stage.smooth]\nkind = \"filter\"\ninput = \"events\"\ntype = \"lowpass\"\ncorners_hz = [0.01]\n",
        catalog.display()
    );
    // `plan` reads nothing but the pipeline file and the hashed inputs: the check needs no I/O.
    let p = env.write("bad.toml", &text);
    let r = env.run(&["plan", p.to_str().unwrap()]);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(
        r.stderr.contains("bad.toml:10:9: input `input` of stage `smooth` (filter) reads time series or labelled waveform set, but `events` (fetch.catalog) writes earthquake catalog"),
        "{r:?}"
    );
    let r = run_bad(&env, &text, 2);
    assert!(r.stderr.contains("reads time series"), "{r:?}");
    assert!(env.entries().is_empty(), "nothing ran");
}
