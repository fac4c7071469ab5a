//! `run --executor slurm` against a real single-node SLURM cluster (`.ci/slurm start`; CI starts
//! it). Without a cluster these tests say they were skipped and why; with `CI=true` a missing
//! cluster is a failure.
//!
//! Every test has its own temp directory, cache and results; the cluster is shared, so tests only
//! ever look at their own jobs (by the names their job files record).

use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use quakeline::exec::{Outcome, RunOptions};
use quakeline::slurm::Scheduler;
use quakeline::slurm::cli::{Ended, JobRef, QueueRow};

use crate::util::{Env, Run};
use crate::workflow::tiny;

/// Whether a cluster answers; panics in CI when none does.
fn cluster() -> bool {
    let up = Command::new("scontrol")
        .arg("ping")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).contains("UP"))
        .unwrap_or(false);
    if !up {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CI=true but no SLURM controller answers `scontrol ping`: .ci/run starts one with \
             `.ci/slurm start`"
        );
        eprintln!(
            "skipped: no SLURM cluster here (`scontrol ping` does not say UP); start one with \
             `.ci/slurm start`"
        );
    }
    up
}

const SWEEP: &str = r#"
[sweep]
grid = { "train.optimizer" = ["adam", "sgd"], "train.seed" = [1, 2, 3] }
targets = ["evaluate"]
"#;

fn slurm(env: &Env, args: &[&str]) -> Run {
    let mut all = vec!["run"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["--executor", "slurm", "--poll-interval", "300ms"]);
    env.run(&all)
}

/// Keys started by workers, one per line of `<cache>/slurm/starts.log`.
fn starts(env: &Env) -> Vec<String> {
    std::fs::read_to_string(env.cache().join("slurm/starts.log"))
        .unwrap_or_default()
        .lines()
        .map(|l| l.split_whitespace().nth(2).unwrap_or("").to_string())
        .collect()
}

fn squeue(names: &str) -> String {
    let o = Command::new("squeue")
        .args([
            "--noheader",
            "--array",
            "--states=all",
            &format!("--name={names}"),
            "--format=%i|%j|%T|%r",
        ])
        .output()
        .unwrap();
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// The job name of `stage` in the run's `submitted …` lines' job files.
fn job_names(env: &Env, stage: &str) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(env.cache().join("slurm/jobs"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(&format!("ql-{stage}-")) && n.ends_with(".json"))
        .map(|n| n.trim_end_matches(".json").to_string())
        .collect();
    names.sort();
    names
}

fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Starts `run sweep.toml --executor slurm` in the background (stdout in `run.out`, stderr in
/// `run.err`) and returns once it has submitted the evaluations.
fn start_until_evaluations_are_submitted(env: &Env) -> std::process::Child {
    let out = std::fs::File::create(env.path().join("run.out")).unwrap();
    let err = std::fs::File::create(env.path().join("run.err")).unwrap();
    let mut child = env
        .cmd(&[
            "run",
            "sweep.toml",
            "--executor",
            "slurm",
            "--poll-interval",
            "300ms",
        ])
        .stdout(out)
        .stderr(err)
        .spawn()
        .unwrap();
    let start = Instant::now();
    loop {
        let text = std::fs::read_to_string(env.path().join("run.out")).unwrap_or_default();
        if text.contains("submitted evaluate") {
            break;
        }
        if start.elapsed() > Duration::from_secs(60) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("no evaluation submitted within 60 s: {text}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    child
}

#[test]
fn a_pipeline_and_a_sweep_on_slurm_give_the_local_metrics_byte_for_byte() {
    if !cluster() {
        return;
    }
    let local = Env::new();
    let remote = Env::new();
    let text = tiny("resources = { cpus = 1, mem = \"500M\", time = \"10m\" }");
    for env in [&local, &remote] {
        env.write("tiny.toml", &text);
        env.write("sweep.toml", &(text.clone() + SWEEP));
    }
    let r = local.run(&["run", "tiny.toml", "-q"]);
    assert_eq!(r.code, 0, "{r:?}");
    let r = slurm(&remote, &["tiny.toml"]);
    assert_eq!(r.code, 0, "{r:?}");
    // Every stage ran as a job, each after its upstream job.
    assert_eq!(r.stdout.matches("submitted ").count(), 6, "{}", r.stdout);
    assert!(r.stdout.contains("submitted train as job"), "{}", r.stdout);
    assert!(r.stdout.contains(" after a"), "{}", r.stdout);
    assert_eq!(
        read(&local.path().join("results/tiny/metrics.json")),
        read(&remote.path().join("results/tiny/metrics.json"))
    );
    assert_eq!(
        read(&local.path().join("results/tiny/curve/learning_curve.json")),
        read(&remote.path().join("results/tiny/curve/learning_curve.json"))
    );

    // The sweep: the six trainings are one array, the evaluations another linked task by task.
    let r = local.run(&["run", "sweep.toml", "-q"]);
    assert_eq!(r.code, 0, "{r:?}");
    let r = slurm(&remote, &["sweep.toml"]);
    assert_eq!(r.code, 0, "{r:?}");
    let train = r
        .stdout
        .lines()
        .find(|l| l.starts_with("submitted train "))
        .unwrap_or_else(|| panic!("{}", r.stdout));
    assert!(train.contains("(6 tasks)"), "{train}");
    let eval = r
        .stdout
        .lines()
        .find(|l| l.starts_with("submitted evaluate "))
        .unwrap();
    assert!(eval.contains("(6 tasks) after aftercorr:"), "{eval}");
    // The upstream stages were cached by the plain run: no job for them.
    assert_eq!(r.stdout.matches("submitted ").count(), 2, "{}", r.stdout);
    // The plain run's train job and the sweep's: the sweep's job file holds six tasks.
    let names: Vec<String> = job_names(&remote, "train")
        .into_iter()
        .filter(|n| {
            let f = read(&remote.cache().join(format!("slurm/jobs/{n}.json")));
            let f: serde_json::Value = serde_json::from_slice(&f).unwrap();
            f["tasks"].as_object().unwrap().len() == 6
        })
        .collect();
    assert_eq!(names.len(), 1);
    let rows = squeue(&names[0]);
    let arrays: std::collections::BTreeSet<&str> =
        rows.lines().map(|l| l.split('_').next().unwrap()).collect();
    assert_eq!(rows.lines().count(), 6, "{rows}");
    assert_eq!(arrays.len(), 1, "one array: {rows}");
    assert!(rows.lines().all(|l| l.contains("|COMPLETED|")), "{rows}");
    for f in ["results/tiny/sweep/metrics.json", "results/tiny/sweep.csv"] {
        assert_eq!(
            read(&local.path().join(f)),
            read(&remote.path().join(f)),
            "{f}"
        );
    }

    // A rerun submits nothing; `status` says cached.
    let before = starts(&remote).len();
    let r = slurm(&remote, &["sweep.toml"]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(!r.stdout.contains("submitted"), "{}", r.stdout);
    assert_eq!(starts(&remote).len(), before);
    let s = remote.run(&["status", "sweep.toml"]);
    assert_eq!(s.code, 0, "{s:?}");
    assert!(
        s.stdout.lines().all(|l| l.starts_with("cached")),
        "{}",
        s.stdout
    );
}

#[test]
fn a_failing_point_cancels_only_its_descendants_and_shows_its_log() {
    if !cluster() {
        return;
    }
    let env = Env::new();
    // batch 100000 > the training windows: that point's train fails when it runs.
    let text = tiny("")
        + "\n[sweep]\ngrid = { \"train.batch\" = [16, 100000] }\ntargets = [\"evaluate\"]\n";
    env.write("sweep.toml", &text);
    let r = slurm(&env, &["sweep.toml", "--retries", "1"]);
    assert_eq!(r.code, 1, "{r:?}");
    let line = |word: &str, label: &str| {
        r.stdout
            .lines()
            .any(|l| l.starts_with(word) && l.contains(label))
    };
    assert!(line("failed", "train[batch=100000]"), "{}", r.stdout);
    assert!(line("skipped", "evaluate[batch=100000]"), "{}", r.stdout);
    assert!(line("ran", "evaluate[batch=16]"), "{}", r.stdout);
    assert!(line("ran", "train[batch=16]"), "{}", r.stdout);
    // The report names the job, how it ended, and the last lines of its log.
    assert!(
        r.stderr.contains("ended FAILED (exit code 1)"),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.contains("fewer than the batch size"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("retrying (1 of 1)"), "{}", r.stderr);
    // --retries 1: the failing unit started twice, everything else once.
    let s = starts(&env);
    let mut counts = std::collections::BTreeMap::new();
    for k in &s {
        *counts.entry(k.as_str()).or_insert(0) += 1;
    }
    assert_eq!(counts.values().filter(|&&n| n == 2).count(), 1, "{s:?}");
    assert!(counts.values().all(|&n| n <= 2), "{s:?}");
    // The failed point's evaluation never ran: cancelled while it waited on its train task.
    let eval = job_names(&env, "evaluate");
    let rows = squeue(&eval.join(","));
    assert!(rows.contains("|CANCELLED|"), "{rows}");
    assert!(rows.contains("|COMPLETED|"), "{rows}");
    let sweep = std::fs::read_to_string(env.path().join("results/tiny/sweep.csv")).unwrap();
    assert!(sweep.contains("failed"), "{sweep}");
}

#[test]
fn kill_9_of_the_coordinator_then_a_rerun_adopts_its_jobs_and_runs_nothing_twice() {
    if !cluster() {
        return;
    }
    let env = Env::new();
    env.write("sweep.toml", &(tiny("") + SWEEP));
    let mut child = start_until_evaluations_are_submitted(&env);
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let r = slurm(&env, &["sweep.toml"]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stdout.contains("adopted"), "{}", r.stdout);
    let s = starts(&env);
    let mut unique = s.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), s.len(), "a unit ran twice: {s:?}");
    // synth, hp, label, 6 train, 6 evaluate: each started exactly once.
    assert_eq!(s.len(), 15, "{s:?}");
    let local = Env::new();
    local.write("sweep.toml", &(tiny("") + SWEEP));
    assert_eq!(local.run(&["run", "sweep.toml", "-q"]).code, 0);
    let f = "results/tiny/sweep/metrics.json";
    assert_eq!(read(&local.path().join(f)), read(&env.path().join(f)));
}

#[test]
fn detach_submits_everything_and_status_follows_the_jobs() {
    if !cluster() {
        return;
    }
    let env = Env::new();
    env.write("sweep.toml", &(tiny("") + SWEEP));
    let r = slurm(&env, &["sweep.toml", "--detach"]);
    assert_eq!(r.code, 0, "{r:?}");
    let queued = r
        .stdout
        .lines()
        .filter(|l| l.starts_with("queued "))
        .count();
    assert_eq!(queued, 15, "{}", r.stdout);
    // Right after submission the evaluations wait on their trainings.
    let s = env.run(&["status", "sweep.toml"]);
    assert_eq!(s.code, 0, "{s:?}");
    assert!(
        s.stdout
            .lines()
            .any(|l| l.starts_with("queued") && l.contains("evaluate[") && l.contains("job ")),
        "{}",
        s.stdout
    );
    let start = Instant::now();
    loop {
        let s = env.run(&["status", "sweep.toml"]);
        if s.stdout.lines().all(|l| l.starts_with("cached")) {
            break;
        }
        assert!(
            !s.stdout.contains("failed") && start.elapsed() < Duration::from_secs(180),
            "{}",
            s.stdout
        );
        std::thread::sleep(Duration::from_millis(500));
    }
    let r = slurm(&env, &["sweep.toml"]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(!r.stdout.contains("submitted"), "{}", r.stdout);
    assert_eq!(starts(&env).len(), 15);
}

#[test]
fn a_job_cancelled_from_outside_is_reported_as_such() {
    if !cluster() {
        return;
    }
    let env = Env::new();
    env.write("sweep.toml", &(tiny("") + SWEEP));
    let mut child = start_until_evaluations_are_submitted(&env);
    let eval = job_names(&env, "evaluate");
    let c = Command::new("scancel")
        .arg(format!("--name={}", eval[0]))
        .status()
        .unwrap();
    assert!(c.success());
    let status = child.wait().unwrap();
    let stderr = std::fs::read_to_string(env.path().join("run.err")).unwrap();
    assert_eq!(status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("was cancelled outside quakeline"),
        "{stderr}"
    );
    let stdout = std::fs::read_to_string(env.path().join("run.out")).unwrap();
    assert!(
        stdout
            .lines()
            .any(|l| l.starts_with("ran") && l.contains("train[")),
        "{stdout}"
    );
}

#[test]
fn a_request_the_node_cannot_satisfy_is_reported_not_waited_on() {
    if !cluster() {
        return;
    }
    let env = Env::new();
    let text = tiny("").replace(
        "[stage.synth]\nkind = \"synth.geomag\"",
        "[stage.synth]\nkind = \"synth.geomag\"\nresources = { cpus = 512 }",
    );
    env.write("tiny.toml", &text);
    let start = Instant::now();
    let r = slurm(&env, &["tiny.toml"]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.stderr.contains("cannot be scheduled"), "{}", r.stderr);
    assert!(r.stderr.contains("PartitionConfig"), "{}", r.stderr);
    assert!(start.elapsed() < Duration::from_secs(60));
    // Everything downstream is skipped, nothing is left in the queue.
    assert!(r.stdout.contains("skipped  hp"), "{}", r.stdout);
    let rows = squeue(&job_names(&env, "synth").join(","));
    assert!(rows.contains("|CANCELLED|"), "{rows}");
    assert!(starts(&env).is_empty());
}

#[test]
fn resource_hints_are_not_part_of_the_key_and_bad_ones_name_their_line() {
    let env = Env::new();
    let plain = env.write("a.toml", &tiny(""));
    let hinted = env.write(
        "b.toml",
        &tiny("resources = { cpus = 4, mem = \"8G\", time = \"2h\", gpus = 1 }"),
    );
    let key = |p: &Path| {
        let r = env.run(&["plan", p.to_str().unwrap(), "--json"]);
        assert_eq!(r.code, 0, "{r:?}");
        r.stdout
    };
    assert_eq!(key(&plain), key(&hinted));
    let bad = env.write("c.toml", &tiny("resources = { cpus = 4, mem = \"8\" }"));
    let r = env.run(&["plan", bad.to_str().unwrap()]);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(r.stderr.contains("c.toml:34"), "{}", r.stderr);
    assert!(r.stderr.contains("has no unit"), "{}", r.stderr);
    // Site flags without the SLURM executor are a usage error, not silently ignored.
    let r = env.run(&["run", plain.to_str().unwrap(), "--detach"]);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(r.stderr.contains("--executor slurm"), "{}", r.stderr);
}

/// The real cluster with one of SLURM's failure modes switched on, for the coordinator driven
/// through the library.
#[derive(Default)]
struct Tweaked {
    real: quakeline::slurm::Commands,
    /// A task that ended is forgotten at once, as SLURM forgets it `MinJobAge` seconds after it
    /// ends (and sooner on busy clusters that lower it).
    forgets_ended: bool,
    /// `squeue` fails after the submissions ("Unable to contact slurm controller").
    squeue_down: bool,
    /// The first `sbatch` reports a timeout after SLURM accepted the job (Nextflow #970,
    /// Snakemake #1789: "Socket timed out on send/recv operation").
    first_sbatch_times_out: bool,
    sbatch_calls: AtomicUsize,
}

impl Scheduler for Tweaked {
    fn sbatch(&self, flags: &[String], script: &Path) -> Result<u64, String> {
        let n = self.sbatch_calls.fetch_add(1, Ordering::SeqCst);
        let id = self.real.sbatch(flags, script)?;
        if n == 0 && self.first_sbatch_times_out {
            return Err("sbatch: error: Batch job submission failed: Socket timed out on send/recv operation".into());
        }
        Ok(id)
    }
    fn squeue(&self, names: &[String]) -> Result<Vec<QueueRow>, String> {
        if self.squeue_down {
            return Err(
                "squeue: error: Unable to contact slurm controller (connect failure)".into(),
            );
        }
        let rows = self.real.squeue(names)?;
        Ok(rows
            .into_iter()
            .filter(|r| !self.forgets_ended || r.state == "PENDING" || r.state == "RUNNING")
            .collect())
    }
    fn squeue_live(&self) -> Result<Vec<QueueRow>, String> {
        self.real.squeue_live()
    }
    fn ended(&self, job: JobRef) -> Result<Option<Ended>, String> {
        if self.forgets_ended {
            return Ok(None);
        }
        self.real.ended(job)
    }
    fn scancel(&self, jobs: &[JobRef]) -> Result<(), String> {
        self.real.scancel(jobs)
    }
}

/// Runs `path` (plain or its sweep) through the SLURM executor with `scheduler`, polling every
/// 300 ms, giving up after `give_up_after`.
fn run_through(
    env: &Env,
    path: &Path,
    scheduler: &Tweaked,
    give_up_after: Duration,
) -> (quakeline::session::Session, quakeline::session::Ran) {
    let session = quakeline::session::Session::open(
        path,
        quakeline::stages::REGISTRY,
        &[],
        quakeline::study::Selection::Default,
        quakeline::cache::Cache::new(env.cache()),
    )
    .unwrap();
    let executor = quakeline::slurm::Slurm {
        scheduler,
        site: quakeline::slurm::Site {
            poll_interval: Duration::from_millis(300),
            give_up_after,
            ..Default::default()
        },
        origin: quakeline::slurm::Origin {
            pipeline: path.to_path_buf(),
            set: Vec::new(),
            sweep: None,
            no_sweep: false,
            cache: env.cache(),
            device: None,
        },
        exe: env!("CARGO_BIN_EXE_quakeline").into(),
        retries: 0,
        detach: false,
    };
    let opts = RunOptions {
        jobs: 1,
        quiet: true,
        results_root: env.path().join("results"),
        fail_fast: false,
    };
    let ran = session.run(&opts, &executor);
    (session, ran)
}

const FAILING_POINT: &str =
    "\n[sweep]\ngrid = { \"train.batch\" = [16, 100000] }\ntargets = [\"evaluate\"]\n";

#[test]
fn a_job_slurm_forgot_is_decided_by_the_cache_never_assumed_a_success() {
    if !cluster() {
        return;
    }
    let env = Env::new();
    let path = env.write("sweep.toml", &(tiny("") + FAILING_POINT));
    let scheduler = Tweaked {
        forgets_ended: true,
        ..Default::default()
    };
    let (session, ran) = run_through(&env, &path, &scheduler, Duration::from_secs(600));
    let members = session.members();
    let outcome = |m: usize, stage: &str| {
        let i = members[m].pipeline.index_of(stage).unwrap();
        ran.reports[m].outcomes[i].clone()
    };
    // Point 0 (batch 16): every job vanished after it ended; its entries say it ran.
    for stage in ["synth", "label", "train", "evaluate"] {
        assert!(
            matches!(outcome(0, stage), Outcome::Ran(_)),
            "{stage}: {:?}",
            outcome(0, stage)
        );
    }
    // Point 1 (batch 100000): its train job vanished without an entry: a failure.
    match outcome(1, "train") {
        Outcome::Failed { error, .. } => {
            assert!(error.contains("left the queue"), "{error}");
            assert!(error.contains("fewer than the batch size"), "{error}");
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(outcome(1, "evaluate"), Outcome::Skipped { .. }));
    // `status` still says failed, with the job, after SLURM forgot it.
    let members = session.exec_members(&env.path().join("results"));
    let rows = quakeline::slurm::coordinator::status(&members, &session.cache, &scheduler).unwrap();
    let train = rows
        .iter()
        .find(|r| r.label == "train[batch=100000]")
        .unwrap();
    assert_eq!(train.state, "failed");
    assert!(
        train.detail.starts_with("job ") && train.detail.contains("left the queue"),
        "{}",
        train.detail
    );
    let ok = rows.iter().find(|r| r.label == "train[batch=16]").unwrap();
    assert_eq!(ok.state, "cached");
}

#[test]
fn a_submission_that_timed_out_but_was_accepted_is_found_by_name_not_submitted_twice() {
    if !cluster() {
        return;
    }
    let env = Env::new();
    let path = env.write("tiny.toml", &tiny(""));
    let scheduler = Tweaked {
        first_sbatch_times_out: true,
        ..Default::default()
    };
    let (_, ran) = run_through(&env, &path, &scheduler, Duration::from_secs(600));
    let outcomes = &ran.reports[0].outcomes;
    assert!(
        outcomes.iter().all(|o| matches!(o, Outcome::Ran(_))),
        "{outcomes:?}"
    );
    // Six stages, six jobs: the one whose sbatch "timed out" was found, not submitted again.
    assert_eq!(scheduler.sbatch_calls.load(Ordering::SeqCst), 6);
    let s = starts(&env);
    assert_eq!(s.len(), 6, "{s:?}");
}

#[test]
fn a_controller_that_stops_answering_ends_the_run_without_deciding_anything() {
    if !cluster() {
        return;
    }
    let env = Env::new();
    let path = env.write("tiny.toml", &tiny(""));
    let scheduler = Tweaked {
        squeue_down: true,
        ..Default::default()
    };
    let (_, ran) = run_through(&env, &path, &scheduler, Duration::from_secs(1));
    let outcomes = &ran.reports[0].outcomes;
    for o in outcomes {
        match o {
            Outcome::Failed { error, .. } => {
                assert!(error.contains("SLURM did not answer"), "{error}");
                assert!(error.contains("run again to adopt it"), "{error}");
            }
            other => panic!("silence decided something: {other:?} in {outcomes:?}"),
        }
    }
    // The jobs were left to run; a later run (with a controller that answers) adopts them or
    // finds their entries, and computes nothing twice.
    let r = slurm(&env, &["tiny.toml"]);
    assert_eq!(r.code, 0, "{r:?}");
    let s = starts(&env);
    let mut unique = s.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), s.len(), "{s:?}");
}

#[test]
fn a_bad_site_profile_names_its_file_and_line_before_anything_is_submitted() {
    let env = Env::new();
    env.write("tiny.toml", &tiny(""));
    env.write(
        "site.toml",
        "[slurm]\npartition = \"debug\"\nmax_jobs = 0\npoll_intervall = \"5s\"\n",
    );
    let r = env.run(&[
        "run",
        "tiny.toml",
        "--executor",
        "slurm",
        "--site",
        "site.toml",
    ]);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(r.stderr.contains("site.toml:3"), "{}", r.stderr);
    assert!(
        r.stderr.contains("`max_jobs` must be a whole number ≥ 1"),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.contains("unknown setting `poll_intervall`"),
        "{}",
        r.stderr
    );
    assert!(!env.cache().join("slurm/jobs").exists());
}
