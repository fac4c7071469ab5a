//! The SLURM executor at 200 units on the local cluster (`.ci/slurm start`), for BENCHMARKS.md:
//! submission time of a 200-point sweep as job arrays vs one job per unit, and a whole run's
//! coordinator CPU, peak memory and calls to SLURM per minute. Every call to `sbatch`, `squeue`,
//! `scontrol` and `scancel` goes through a logging shim on `PATH`, so the counts are the calls
//! the coordinator really made. Skipped (with the reason) when no cluster answers.
//!
//! `cargo bench --bench slurm`; `SLURM_LOCAL_CPUS=32 .ci/slurm start` first lets more tasks run
//! side by side on a 2-core machine.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

const POINTS: usize = 200;

fn main() {
    let up = Command::new("scontrol")
        .arg("ping")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).contains("UP"))
        .unwrap_or(false);
    if !up {
        println!(
            "slurm: skipped (no SLURM controller answers `scontrol ping`; run .ci/slurm start)"
        );
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let shims = dir.path().join("shims");
    let calls = dir.path().join("calls.log");
    make_shims(&shims, &calls);
    let pipeline = dir.path().join("sweep.toml");
    std::fs::write(&pipeline, sweep_text()).unwrap();

    let cpus = Command::new("sinfo")
        .args(["-h", "-o", "%c"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default();
    println!(
        "slurm: {POINTS}-point sweep ({} units: 1 shared synth.geomag + {POINTS} filter), single node, {cpus} CPUs advertised on {} cores",
        POINTS + 1,
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    let plan = {
        let t = Instant::now();
        let o = quakeline(&shims, dir.path(), "plan-cache", &["plan", "sweep.toml"]);
        assert!(o.status.success());
        t.elapsed()
    };
    println!(
        "  planning alone (quakeline plan): {:.2} s",
        plan.as_secs_f64()
    );

    // Submission: `run --detach` returns once every unit is queued.
    for (label, extra) in [
        ("arrays", vec![]),
        ("one job per unit", vec!["--max-array-size", "1"]),
    ] {
        let cache = format!("detach-{}", extra.len());
        let _ = std::fs::remove_file(&calls);
        let mut args = vec![
            "run",
            "sweep.toml",
            "--executor",
            "slurm",
            "--detach",
            "--quiet",
        ];
        args.extend(extra.iter().copied());
        let t = Instant::now();
        let o = quakeline(&shims, dir.path(), &cache, &args);
        let took = t.elapsed();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let n = count(&calls);
        println!(
            "  submit ({label}): {:.2} s, {} sbatch call(s), {} squeue call(s)",
            took.as_secs_f64(),
            n.sbatch,
            n.squeue
        );
        cancel_jobs_of(&dir.path().join(&cache));
    }

    // A whole run with arrays: the coordinator's CPU, memory and calls per minute.
    let _ = std::fs::remove_file(&calls);
    let t = Instant::now();
    let o = time_v(env!("CARGO_BIN_EXE_quakeline"))
        .args([
            "run",
            "sweep.toml",
            "--executor",
            "slurm",
            "--quiet",
            "--poll-interval",
            "2s",
            "--cache",
            "run-cache",
        ])
        .current_dir(dir.path())
        .env("PATH", path_with(&shims))
        .output()
        .unwrap();
    let wall = t.elapsed();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{stderr}");
    let (cpu, rss_mb) = cpu_and_rss(&stderr);
    let n = count(&calls);
    let minutes = wall.as_secs_f64() / 60.0;
    println!(
        "  whole run (arrays, poll 2 s): {:.1} s wall; coordinator {:.2} s CPU ({:.1} % of one core), peak RSS {:.1} MB",
        wall.as_secs_f64(),
        cpu,
        100.0 * cpu / wall.as_secs_f64(),
        rss_mb
    );
    println!(
        "  calls to SLURM: {} sbatch, {} squeue ({:.1}/min), {} scontrol, {} scancel",
        n.sbatch,
        n.squeue,
        n.squeue as f64 / minutes,
        n.scontrol,
        n.scancel
    );
    let starts = std::fs::read_to_string(dir.path().join("run-cache/slurm/starts.log"))
        .unwrap_or_default()
        .lines()
        .count();
    println!("  worker starts: {starts} (one per unit)");
    if let Ok(snakemake) = std::env::var("QUAKELINE_BENCH_SNAKEMAKE") {
        snakemake_side_by_side(&snakemake, dir.path(), &shims, &calls);
    } else {
        println!(
            "  Snakemake side by side: skipped (set QUAKELINE_BENCH_SNAKEMAKE to a snakemake with \
             snakemake-executor-plugin-slurm)"
        );
    }
}

/// The same DAG shape (one shared job, then 200 that read it) through Snakemake's SLURM
/// executor plugin, whose jobs only write a line: its coordinator and scheduling cost alone.
/// `--slurm-status-command squeue`: its default, `sacct`, never noticed a finished job on a
/// cluster without accounting (measured: no progress in 400 s).
fn snakemake_side_by_side(snakemake: &str, dir: &Path, shims: &Path, calls: &Path) {
    let work = dir.join("snakemake");
    std::fs::create_dir_all(&work).unwrap();
    std::fs::write(
        work.join("Snakefile"),
        format!(
            "N = {POINTS}\nrule all:\n    input: expand(\"out/hp_{{i}}.txt\", i=range(N))\n\
             rule synth:\n    output: \"out/synth.txt\"\n    shell: \"echo synth > {{output}}\"\n\
             rule hp:\n    input: \"out/synth.txt\"\n    output: \"out/hp_{{i}}.txt\"\n    \
             shell: \"echo {{wildcards.i}} > {{output}}\"\n"
        ),
    )
    .unwrap();
    let _ = std::fs::remove_file(calls);
    let bin = Path::new(snakemake)
        .parent()
        .map(|p| p.display().to_string());
    let path = match bin {
        Some(b) => format!("{}:{b}", path_with(shims)),
        None => path_with(shims),
    };
    let t = Instant::now();
    let o = time_v(snakemake)
        .args([
            "--executor",
            "slurm",
            "--jobs",
            &POINTS.to_string(),
            "--slurm-status-command",
            "squeue",
            "--default-resources",
            "slurm_partition=debug",
            "runtime=10",
            "mem_mb=100",
        ])
        .current_dir(&work)
        .env("PATH", path)
        .output()
        .unwrap();
    let wall = t.elapsed();
    let stderr = String::from_utf8_lossy(&o.stderr);
    if !o.status.success() {
        println!(
            "  Snakemake side by side: failed: {}",
            stderr.lines().last().unwrap_or("")
        );
        return;
    }
    let (cpu, rss_mb) = cpu_and_rss(&stderr);
    let n = count(calls);
    println!(
        "  Snakemake (SLURM plugin, squeue status) on the same DAG of no-op jobs: {:.1} s wall; coordinator {:.2} s CPU, peak RSS {:.1} MB; {} sbatch, {} squeue, {} scontrol",
        wall.as_secs_f64(),
        cpu,
        rss_mb,
        n.sbatch,
        n.squeue,
        n.scontrol
    );
}

fn sweep_text() -> String {
    let values: Vec<String> = (0..POINTS)
        .map(|i| format!("[{:.5}]", 0.001 + i as f64 * 0.00001))
        .collect();
    format!(
        r#"[pipeline]
name = "bench"
seed = 1

[stage.synth]
kind = "synth.geomag"
duration = "30d"

[stage.hp]
kind = "filter"
input = "synth/series"
type = "highpass"
corners_hz = [0.001]

[sweep]
grid = {{ "hp.corners_hz" = [{}] }}
"#,
        values.join(", ")
    )
}

/// `program` under GNU time's `-v`, which reports its CPU time and peak memory on stderr.
fn time_v(program: &str) -> Command {
    let mut c = Command::new("/usr/bin/time");
    c.arg("-v").arg(program);
    c
}

/// User + system CPU seconds and peak RSS in MB from GNU time's `-v` report.
fn cpu_and_rss(stderr: &str) -> (f64, f64) {
    let field = |name: &str| {
        stderr
            .lines()
            .find_map(|l| l.trim().strip_prefix(name).map(|v| v.trim().to_string()))
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (
        field("User time (seconds):") + field("System time (seconds):"),
        field("Maximum resident set size (kbytes):") / 1024.0,
    )
}

fn quakeline(shims: &Path, dir: &Path, cache: &str, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_quakeline"))
        .args(args)
        .args(["--cache", cache])
        .current_dir(dir)
        .env("PATH", path_with(shims))
        .output()
        .unwrap()
}

fn path_with(shims: &Path) -> String {
    format!(
        "{}:{}",
        shims.display(),
        std::env::var("PATH").unwrap_or_default()
    )
}

/// `sbatch`, `squeue`, `scontrol`, `scancel` and `sacct` that log their name, then run the real one.
fn make_shims(shims: &Path, log: &Path) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::create_dir_all(shims).unwrap();
    for tool in ["sbatch", "squeue", "scontrol", "scancel", "sacct"] {
        let real = Command::new("which")
            .arg(tool)
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
            .unwrap_or_default();
        if real.is_empty() {
            continue;
        }
        let path = shims.join(tool);
        std::fs::write(
            &path,
            format!(
                "#!/bin/sh\necho {tool} >> '{}'\nexec '{real}' \"$@\"\n",
                log.display()
            ),
        )
        .unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
}

#[derive(Default)]
struct Calls {
    sbatch: usize,
    squeue: usize,
    scontrol: usize,
    scancel: usize,
}

fn count(log: &Path) -> Calls {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let n = |t: &str| text.lines().filter(|l| *l == t).count();
    Calls {
        sbatch: n("sbatch"),
        squeue: n("squeue"),
        scontrol: n("scontrol"),
        scancel: n("scancel"),
    }
}

/// Cancels every job a detached run queued (its job files name them) and waits until they left.
fn cancel_jobs_of(cache: &Path) {
    let names: Vec<String> = std::fs::read_dir(cache.join("slurm/jobs"))
        .map(|d| {
            d.flatten()
                .filter_map(|e| {
                    let n = e.file_name().to_string_lossy().into_owned();
                    n.strip_suffix(".json").map(str::to_string)
                })
                .collect()
        })
        .unwrap_or_default();
    for chunk in names.chunks(100) {
        let _ = Command::new("scancel")
            .arg(format!("--name={}", chunk.join(",")))
            .status();
    }
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(60) {
        let o = Command::new("squeue")
            .args(["-h", "-o", "%i"])
            .output()
            .unwrap();
        if o.stdout.is_empty() {
            break;
        }
        std::thread::sleep(Duration::from_millis(500));
    }
}
