//! Sweeps, metrics, gates and reports through the CLI on the toy geomagnetic workflow: shared
//! upstream entries, resumption after kill -9, `check` exit codes, `metrics diff` of files and git
//! revisions, and the HTML report.

use std::time::{Duration, Instant};

use crate::util::Env;
use crate::workflow::tiny;

const OPTIMIZER_SWEEP: &str = r#"
[sweep]
grid = { "train.optimizer" = ["adam", "sgd"], "train.seed" = [1, 2] }
targets = ["evaluate"]
plot = { x = "train.optimizer", y = "evaluate.accuracy" }
"#;

fn ran(stdout: &str) -> Vec<&str> {
    stdout.lines().filter(|l| l.starts_with("ran ")).collect()
}

#[test]
fn a_sweep_shares_upstream_entries_and_writes_its_tables() {
    let env = Env::new();
    let p = env.write("tiny.toml", &(tiny("") + OPTIMIZER_SWEEP));
    let p = p.to_str().unwrap();

    let plan = env.run(&["plan", p]);
    assert_eq!(plan.code, 0, "{plan:?}");
    assert!(plan.stdout.contains("4 points"), "{}", plan.stdout);
    let label = plan
        .stdout
        .lines()
        .find(|l| l.starts_with("label "))
        .unwrap();
    assert!(label.contains("computed once for all 4 points"), "{label}");
    let train = plan
        .stdout
        .lines()
        .find(|l| l.starts_with("train "))
        .unwrap();
    assert!(train.contains("one per point"), "{train}");
    // The learning curve is not a target of this sweep.
    assert!(
        !plan.stdout.lines().any(|l| l.starts_with("curve ")),
        "{}",
        plan.stdout
    );
    assert!(
        plan.stdout.contains("11 distinct stage runs"),
        "{}",
        plan.stdout
    );

    let r = env.run(&["run", p, "-j", "2"]);
    assert_eq!(r.code, 0, "{r:?}");
    let lines = ran(&r.stdout);
    assert_eq!(lines.len(), 11, "{}", r.stdout);
    assert_eq!(lines.iter().filter(|l| l.contains(" label ")).count(), 1);
    assert_eq!(lines.iter().filter(|l| l.contains("train[")).count(), 4);

    let root = env.path().join("results/tiny");
    let csv = std::fs::read_to_string(root.join("sweep.csv")).unwrap();
    let rows: Vec<&str> = csv.lines().collect();
    assert_eq!(rows.len(), 5, "{csv}");
    assert!(
        rows[0].starts_with("point,label,status,train.optimizer,train.seed,train.train_loss"),
        "{}",
        rows[0]
    );
    assert!(rows[0].contains("evaluate.accuracy"));
    assert!(rows[1..].iter().all(|r| r.contains(",ok,")), "{csv}");
    assert!(root.join("sweep.md").is_file());
    assert!(
        root.join("sweep-evaluate.accuracy-vs-train.optimizer.png")
            .is_file()
    );
    // Seeds averaged per optimizer.
    let agg: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(root.join("sweep/metrics.json")).unwrap())
            .unwrap();
    let adam = &agg["metrics"]["train.optimizer=adam/evaluate.accuracy"];
    assert_eq!(adam["n"], 2, "{agg}");
    assert_eq!(adam["direction"], "higher");
    assert_eq!(adam["values"].as_array().unwrap().len(), 2);
    // Each point has its folder with its own results and metrics.
    let points: Vec<_> = std::fs::read_dir(root.join("sweep"))
        .unwrap()
        .flatten()
        .filter(|e| e.path().is_dir())
        .collect();
    assert_eq!(points.len(), 4);
    for pt in &points {
        assert!(pt.path().join("metrics.json").is_file());
        assert!(pt.path().join("evaluate/evaluation.json").is_file());
        assert!(pt.path().join("train/history.png").is_file());
    }

    // The end of a run says where its results are and how to get the report.
    assert!(
        r.stderr.contains(&format!(
            "sweep results: {}",
            std::path::Path::new("results").join("tiny").display()
        )),
        "{r:?}"
    );
    assert!(r.stderr.contains("report: quakeline report "), "{r:?}");

    // Everything cached on a rerun.
    let again = env.run(&["run", p]);
    assert_eq!(again.code, 0, "{again:?}");
    assert!(ran(&again.stdout).is_empty(), "{}", again.stdout);

    // `show` of a sweep: the stage's entry of every point, each under its point; --no-sweep:
    // the pipeline as written (not run here, so not cached).
    let shown = env.run(&["show", p, "train"]);
    assert_eq!(shown.code, 0, "{shown:?}");
    let points: Vec<&str> = shown
        .stdout
        .lines()
        .filter(|l| l.starts_with("point "))
        .collect();
    assert_eq!(points.len(), 4, "{}", shown.stdout);
    assert!(
        points.iter().any(|l| l.contains("optimizer=sgd")),
        "{points:?}"
    );
    assert_eq!(
        shown
            .stdout
            .lines()
            .filter(|l| l.starts_with("key "))
            .count(),
        4
    );
    let plain = env.run(&["show", p, "train", "--no-sweep"]);
    assert!(!plain.stdout.contains("point "), "{plain:?}");
    assert!(
        plain.code == 0 || plain.stderr.contains("is not cached"),
        "{plain:?}"
    );
    // A sweep asked for with --set under --no-sweep is an error, malformed or not.
    for set in ["sweep.train.lr=[0.01", "sweep.train.lr=[0.01, 0.1]"] {
        let r = env.run(&["plan", p, "--no-sweep", "--set", set]);
        assert_eq!(r.code, 2, "{set}: {r:?}");
        assert!(r.stderr.contains("--no-sweep"), "{set}: {r:?}");
    }

    // metrics show reads the same numbers from the cache.
    let show = env.run(&["metrics", "show", p, "--json"]);
    let shown: serde_json::Value = serde_json::from_str(&show.stdout).unwrap();
    assert_eq!(shown, agg);

    // The report: one self-contained file with the DAG, the sweep table and the plots.
    let rep = env.run(&["report", p]);
    assert_eq!(rep.code, 0, "{rep:?}");
    let html = std::fs::read_to_string(root.join("report.html")).unwrap();
    for want in [
        "<svg",
        "evaluate.classifier",
        "data:image/png;base64,",
        "train.optimizer=adam/evaluate.accuracy",
    ] {
        assert!(html.contains(want), "report lacks {want}");
    }
    // Every input is a directed edge, named outputs included (synth/series, synth/catalog,
    // synth/kp), and each is labelled with its output's name; parameters are key/value rows.
    assert_eq!(html.matches(r#"marker-end="url(#arrow)""#).count(), 9);
    for name in ["series", "catalog", "kp"] {
        assert!(
            html.contains(&format!(">{name}</text>")),
            "edge label {name}"
        );
    }
    assert!(
        html.contains(r#"<td class="k">optimizer</td><td class="v">&quot;adam&quot;</td>"#),
        "parameters as a key/value table"
    );
    assert!(!html.contains("<script"), "no scripts in the report");
    assert!(
        !html.contains("src=\"http"),
        "no network resources in the report"
    );
}

#[test]
fn an_interrupted_sweep_resumes_with_identical_results() {
    let sweep = r#"
[sweep]
grid = { "train.seed" = [1, 2, 3] }
targets = ["evaluate"]
"#;
    let env = Env::new();
    let p = env.write("tiny.toml", &(tiny("") + sweep));
    let p = p.to_str().unwrap();
    let mut child = env
        .cmd(&["run", p, "-j", "1", "--quiet"])
        .spawn()
        .expect("start quakeline");
    // synth, hp, label, then train/evaluate per point: kill after the first point's training.
    let start = Instant::now();
    while env.entries().len() < 5 && start.elapsed() < Duration::from_secs(300) {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let _ = child.kill(); // SIGKILL
    let _ = child.wait();
    let done_before = env.committed().len();
    assert!(
        done_before >= 4,
        "killed too early to test resumption ({done_before} entries)"
    );

    let r = env.run(&["run", p, "-j", "1"]);
    assert_eq!(r.code, 0, "{r:?}");
    let cached = r
        .stdout
        .lines()
        .filter(|l| l.starts_with("cached "))
        .count();
    let ran_now = ran(&r.stdout).len();
    assert_eq!(cached, done_before.min(9), "{}", r.stdout);
    assert_eq!(cached + ran_now, 9, "{}", r.stdout);
    assert!(
        ran_now > 0,
        "the sweep finished before it was killed: {}",
        r.stdout
    );
    let resumed = std::fs::read_to_string(env.path().join("results/tiny/sweep.csv")).unwrap();

    // A clean run elsewhere gives the same table, bit for bit.
    let clean = Env::new();
    let q = clean.write("tiny.toml", &(tiny("") + sweep));
    let r = clean.run(&["run", q.to_str().unwrap(), "-q"]);
    assert_eq!(r.code, 0, "{r:?}");
    let fresh = std::fs::read_to_string(clean.path().join("results/tiny/sweep.csv")).unwrap();
    assert_eq!(resumed, fresh);
}

#[test]
fn check_passes_fails_and_refuses_with_documented_exit_codes() {
    let gates = r#"
[gates]
"evaluate.accuracy" = { min = 0.0, max_regression = 0.0 }
"evaluate.loss" = { max_increase = 0.0, max_rel_increase = 0.0 }
"#;
    let env = Env::new();
    let p = env.write("tiny.toml", &(tiny("") + gates));
    let p = p.to_str().unwrap();

    // Nothing computed yet: a usage error that says to run first.
    let r = env.run(&["check", p, "--baseline", "nothing.json"]);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(r.stderr.contains("run it first"), "{}", r.stderr);

    assert_eq!(env.run(&["run", p, "-q"]).code, 0);
    // A relative gate without a baseline.
    let r = env.run(&["check", p]);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(r.stderr.contains("baseline"), "{}", r.stderr);

    // The current metrics as the baseline: equal numbers pass.
    let show = env.run(&["metrics", "show", p, "--json"]);
    let base = env.write("base.json", &show.stdout);
    let r = env.run(&["check", p, "--baseline", base.to_str().unwrap()]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(
        r.stdout.contains("all 4 gate condition(s) pass"),
        "{}",
        r.stdout
    );

    // A baseline better than the model: the regression gate fails, saying by how much.
    let mut better: serde_json::Value = serde_json::from_str(&show.stdout).unwrap();
    let acc = better["metrics"]["evaluate.accuracy"]["value"]
        .as_f64()
        .unwrap();
    better["metrics"]["evaluate.accuracy"]["value"] = serde_json::json!(acc + 0.1);
    let b = env.write("better.json", &better.to_string());
    let r = env.run(&["check", p, "--baseline", b.to_str().unwrap(), "--json"]);
    assert_eq!(r.code, 1, "{r:?}");
    let verdicts: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    let failed: Vec<&serde_json::Value> = verdicts["gates"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|v| v["pass"] == false)
        .collect();
    assert_eq!(failed.len(), 1, "{verdicts}");
    assert_eq!(failed[0]["condition"], "max_regression");
    assert!((failed[0]["margin"].as_f64().unwrap() + 0.1).abs() < 1e-9);

    // A baseline of another pipeline is refused.
    better["pipeline"] = serde_json::json!("other");
    let o = env.write("other.json", &better.to_string());
    let r = env.run(&["check", p, "--baseline", o.to_str().unwrap()]);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(
        r.stderr.contains("comes from pipeline `other`"),
        "{}",
        r.stderr
    );

    // A gate on a metric no stage produces is a located error.
    let q = env.write(
        "typo.toml",
        &(tiny("") + "\n[gates]\n\"evaluate.acuracy\" = { min = 0.5 }\n"),
    );
    let r = env.run(&["check", q.to_str().unwrap()]);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(r.stderr.contains("typo.toml:"), "{}", r.stderr);
    assert!(
        r.stderr.contains("did you mean `evaluate.accuracy`"),
        "{}",
        r.stderr
    );
}

#[test]
fn metrics_diff_reads_files_folders_dvc_files_and_git_revisions() {
    let env = Env::new();
    let old = env.write(
        "old/metrics.json",
        r#"{"format": "quakeline-metrics-1", "pipeline": "p", "metrics": {
            "evaluate.accuracy": {"value": 0.9, "direction": "higher"},
            "evaluate.loss": {"value": 0.2, "direction": "lower"},
            "train.gone": {"value": 1.0, "direction": "neither"}}}"#,
    );
    env.write(
        "new/metrics.json",
        r#"{"format": "quakeline-metrics-1", "pipeline": "p", "metrics": {
            "evaluate.accuracy": {"value": 0.85, "direction": "higher"},
            "evaluate.loss": {"value": 0.1, "direction": "lower"},
            "evaluate.fresh": {"value": 3, "direction": "neither"}}}"#,
    );
    let r = env.run(&["metrics", "diff", old.to_str().unwrap(), "new"]);
    assert_eq!(r.code, 0, "{r:?}");
    let line = |m: &str| {
        r.stdout
            .lines()
            .find(|l| l.starts_with(m))
            .unwrap()
            .to_string()
    };
    assert!(
        line("evaluate.accuracy").contains("-0.05") && line("evaluate.accuracy").ends_with("worse")
    );
    assert!(
        line("evaluate.accuracy").contains("-5.56%"),
        "{}",
        line("evaluate.accuracy")
    );
    assert!(line("evaluate.loss").ends_with("better"));
    assert!(line("evaluate.fresh").ends_with("new"));
    assert!(line("train.gone").ends_with("missing"));
    let md = env.run(&["metrics", "diff", "old", "new", "--md"]);
    assert!(md.stdout.starts_with("| metric"), "{}", md.stdout);

    // A DVC-style flat file.
    env.write("dvc.json", r#"{"evaluate": {"accuracy": 0.95}}"#);
    let r = env.run(&["metrics", "diff", "dvc.json", "new", "--json"]);
    assert_eq!(r.code, 0, "{r:?}");
    let rows: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    let acc = rows
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["metric"] == "evaluate.accuracy")
        .unwrap();
    assert!((acc["change"].as_f64().unwrap() + 0.1).abs() < 1e-12);

    // A committed baseline at a git revision.
    let git = |args: &[&str]| {
        let out = std::process::Command::new("git")
            .args(args)
            .current_dir(env.path())
            .env("GIT_AUTHOR_NAME", "t")
            .env("GIT_AUTHOR_EMAIL", "t@t")
            .env("GIT_COMMITTER_NAME", "t")
            .env("GIT_COMMITTER_EMAIL", "t@t")
            .output()
            .expect("git");
        assert!(
            out.status.success(),
            "git {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    git(&["init", "-q"]);
    git(&["add", "old/metrics.json"]);
    git(&["commit", "-qm", "baseline"]);
    std::fs::copy(env.path().join("new/metrics.json"), &old).unwrap();
    // HEAD alone: the other argument's path at HEAD (the committed 0.9).
    let r = env.run(&["metrics", "diff", "HEAD", "old"]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(
        r.stdout.lines().any(|l| l.starts_with("evaluate.accuracy")
            && l.contains("0.9 ")
            && l.contains("0.85")),
        "{}",
        r.stdout
    );
    let r = env.run(&[
        "metrics",
        "diff",
        "HEAD:old/metrics.json",
        "old/metrics.json",
    ]);
    assert_eq!(r.code, 0, "{r:?}");
    let r = env.run(&["metrics", "diff", "no-such-rev", "old"]);
    assert_eq!(r.code, 2, "{r:?}");
}

#[test]
fn an_exclude_that_matches_nothing_is_a_warning_and_bad_sweeps_are_errors() {
    let env = Env::new();
    let p = env.write(
        "tiny.toml",
        &(tiny("")
            + r#"
[sweep]
grid = { "train.optimizer" = ["adam", "sgd"] }
exclude = [{ "train.optimizer" = "rmsprop" }]
"#),
    );
    let r = env.run(&["plan", p.to_str().unwrap()]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(
        r.stderr.contains("warning:") && r.stderr.contains("matches no point"),
        "{}",
        r.stderr
    );

    let q = env.write(
        "zip.toml",
        &(tiny("") + "\n[sweep]\nzip = [{ \"label.window\" = [\"1h\", \"1d\"], \"train.batch\" = [8] }]\n"),
    );
    let r = env.run(&["plan", q.to_str().unwrap()]);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(
        r.stderr.contains("zip.toml:") && r.stderr.contains("differ in length"),
        "{}",
        r.stderr
    );

    let r = env.run(&["plan", p.to_str().unwrap(), "--set", "sweep.max_runs=1"]);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(
        r.stderr.contains("makes 2 points, more than max_runs = 1"),
        "{}",
        r.stderr
    );
}

#[test]
fn a_failing_point_does_not_stop_the_others_unless_fail_fast() {
    // Batch 4000 exceeds the toy's windows: that point's training fails with a located error.
    let sweep = r#"
[sweep]
grid = { "train.batch" = [4000, 16] }
targets = ["evaluate"]
"#;
    let env = Env::new();
    let p = env.write("tiny.toml", &(tiny("") + sweep));
    let p = p.to_str().unwrap();
    let r = env.run(&["run", p, "-j", "1", "--fail-fast"]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(
        r.stderr.contains("train[batch=4000]") && r.stderr.contains("batch"),
        "{}",
        r.stderr
    );
    assert!(
        r.stdout.contains("not started (--fail-fast)"),
        "{}",
        r.stdout
    );
    assert!(
        !r.stdout
            .lines()
            .any(|l| l.starts_with("ran") && l.contains("train[batch=16]")),
        "{}",
        r.stdout
    );

    let r = env.run(&["run", p, "-j", "1"]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(
        r.stdout
            .lines()
            .any(|l| l.starts_with("ran") && l.contains("evaluate[batch=16]")),
        "{}",
        r.stdout
    );
    assert!(
        r.stderr
            .contains("1 of 2 points of sweep `sweep` did not complete"),
        "{}",
        r.stderr
    );
    let csv = std::fs::read_to_string(env.path().join("results/tiny/sweep.csv")).unwrap();
    let status: Vec<&str> = csv
        .lines()
        .skip(1)
        .map(|l| l.split(',').nth(2).unwrap())
        .collect();
    assert_eq!(status, ["failed", "ok"], "{csv}");
}

#[test]
fn gc_keeps_the_entries_of_every_sweep_point() {
    let sweep = r#"
[sweep.seeds]
grid = { "train.seed" = [1, 2] }
targets = ["train"]
"#;
    let env = Env::new();
    let p = env.write("tiny.toml", &(tiny("") + sweep));
    let p = p.to_str().unwrap();
    let r = env.run(&["run", p, "--sweep", "seeds", "-q"]);
    assert_eq!(r.code, 0, "{r:?}");
    let before = env.entries().len();
    assert_eq!(before, 5, "synth, hp, label and two trainings");
    let r = env.run(&["gc", "--keep-pipelines", p]);
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(env.entries().len(), before, "{}", r.stdout);
}
