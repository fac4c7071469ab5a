//! The compute device as a run option (`--device`, `$QUAKELINE_DEVICE`, `[compute] device` in a
//! site profile): the CPU leaves every key as it was, a GPU without a LibTorch build is refused
//! by name before anything runs, and bad values name where they came from.

use crate::util::{Env, repo_dir};

fn keys(env: &Env, args: &[&str], device_env: Option<&str>) -> Vec<(String, String)> {
    let mut cmd = env.cmd(args);
    cmd.env_remove("QUAKELINE_DEVICE")
        .env_remove("QUAKELINE_SITE");
    if let Some(d) = device_env {
        cmd.env("QUAKELINE_DEVICE", d);
    }
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rows: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    rows.as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["stage"].as_str().unwrap().to_string(),
                r["key"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// `--device cpu` (flag or variable) is the default: every key, the model stages' included, is
/// the one a run without the option computes, so existing caches stay valid.
#[test]
fn the_cpu_device_changes_no_key() {
    let env = Env::new();
    let p = repo_dir().join("pipelines/kfpicker-quick.toml");
    let p = p.to_str().unwrap();
    let plain = keys(&env, &["plan", p, "--json"], None);
    assert!(plain.iter().any(|(s, _)| s == "finetune"), "{plain:?}");
    assert_eq!(
        keys(&env, &["plan", p, "--json", "--device", "cpu"], None),
        plain
    );
    assert_eq!(keys(&env, &["plan", p, "--json"], Some("cpu")), plain);
}

/// Without the `tch` feature a GPU is refused before planning, naming the feature; a bad value
/// names its source (flag, variable, or the profile's file and line).
#[cfg(not(feature = "tch"))]
#[test]
fn a_gpu_without_libtorch_and_bad_devices_are_refused_by_name() {
    let env = Env::new();
    let p = repo_dir().join("pipelines/kfpicker-quick.toml");
    let p = p.to_str().unwrap();
    let run = |args: &[&str], vars: &[(&str, &str)]| {
        let mut cmd = env.cmd(args);
        cmd.env_remove("QUAKELINE_DEVICE")
            .env_remove("QUAKELINE_SITE");
        for (k, v) in vars {
            cmd.env(k, v);
        }
        let o = cmd.output().unwrap();
        (
            o.status.code(),
            String::from_utf8_lossy(&o.stderr).into_owned(),
        )
    };
    let (code, err) = run(&["run", p, "--device", "cuda"], &[]);
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("device cuda:0 needs LibTorch") && err.contains("--features tch"),
        "{err}"
    );
    assert!(!env.cache().join("objects").exists(), "nothing may run");
    let (code, err) = run(&["plan", p, "--device", "gpu"], &[]);
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("`gpu` is not a device: cpu, cuda, cuda:N or torch-cpu"),
        "{err}"
    );
    let (code, err) = run(&["plan", p], &[("QUAKELINE_DEVICE", "cuda:x")]);
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("$QUAKELINE_DEVICE: `cuda:x` is not a device"),
        "{err}"
    );
    let site = env.write("site.toml", "[compute]\ndevice = \"tpu\"\n");
    let (code, err) = run(&["plan", p], &[("QUAKELINE_SITE", site.to_str().unwrap())]);
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("site.toml:2") && err.contains("`tpu` is not a device"),
        "{err}"
    );
    let site = env.write("site2.toml", "[compute]\ndevice = \"cuda\"\n");
    let (code, err) = run(&["plan", p], &[("QUAKELINE_SITE", site.to_str().unwrap())]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("needs LibTorch"), "{err}");
    // The flag wins over the profile.
    let (code, err) = run(
        &["plan", p, "--device", "cpu"],
        &[("QUAKELINE_SITE", site.to_str().unwrap())],
    );
    assert_eq!(code, Some(0), "{err}");
}

/// A SLURM job file carries the coordinator's device to its workers: a worker of a build
/// without LibTorch refuses a `cuda` task by name (in its job log) instead of computing it on
/// the CPU under a CPU key.
#[cfg(not(feature = "tch"))]
#[test]
fn a_worker_takes_the_device_from_its_job_file() {
    use quakeline::slurm::{JOB_FILE_VERSION, JobFile, Origin, Task};
    let env = Env::new();
    let job = JobFile {
        version: JOB_FILE_VERSION,
        origin: Origin {
            pipeline: repo_dir().join("pipelines/quickstart.toml"),
            set: Vec::new(),
            sweep: None,
            no_sweep: false,
            cache: env.cache(),
            device: Some("cuda:0".into()),
        },
        tasks: [(
            0,
            Task {
                stage: "train".into(),
                member: 0,
                key: "ab".repeat(32),
                results: env.path().join("results"),
                label: "train".into(),
            },
        )]
        .into(),
    };
    let file = env.write("job.json", &serde_json::to_string(&job).unwrap());
    let r = env.run(&["worker", file.to_str().unwrap(), "--task", "0"]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.stderr.contains("device cuda:0 needs LibTorch"), "{r:?}");
    assert!(env.committed().is_empty());
}
