//! SLURM's command-line tools as a small interface: `sbatch`, `squeue`, `scontrol`, `scancel`.
//!
//! The command-line output with explicit formats is the interface that stays stable across Slurm
//! releases (`--json` schemas change between them; libslurm's ABI changes with every release), and
//! it works wherever the tools are installed, without Slurm's development headers. Every call has a
//! timeout: a controller that is down makes `sbatch`/`squeue` hang for ~9 s and then fail, and the
//! coordinator must go on polling, never decide anything from a failed query.

use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// One array task as `squeue -r` lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QueueRow {
    pub job: JobRef,
    pub name: String,
    /// `PENDING`, `RUNNING`, `COMPLETED`, `FAILED`, `CANCELLED`, `TIMEOUT`, …
    pub state: String,
    /// Why it is pending (`Dependency`, `Resources`, `PartitionConfig`, …) or ended.
    pub reason: String,
    /// The job's comment (`sbatch --comment`): quakeline's submission token.
    pub comment: String,
}

/// An array task: `<array job id>_<task>`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct JobRef {
    pub array: u64,
    pub task: u32,
}

impl std::fmt::Display for JobRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}_{}", self.array, self.task)
    }
}

/// How a finished job ended, from `scontrol show job`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ended {
    pub state: String,
    pub reason: String,
    /// `ExitCode=a:b`: the exit status of the batch script, and the signal that ended it.
    pub exit_code: i32,
    pub signal: i32,
}

impl Ended {
    pub fn describe(&self) -> String {
        let how = if self.signal != 0 {
            format!("killed by signal {}", self.signal)
        } else {
            format!("exit code {}", self.exit_code)
        };
        format!("{} ({how})", self.state)
    }
}

/// What the coordinator asks of SLURM. [`Commands`] runs the real tools; the trait lets tests
/// count or fail calls while still talking to a real cluster.
pub trait Scheduler: Sync {
    /// Submits `script` with `flags`; returns the array job id.
    fn sbatch(&self, flags: &[String], script: &Path) -> Result<u64, String>;
    /// Every task of the jobs with these names, in any state SLURM still remembers
    /// (`squeue -r -t all`). Purged jobs are simply absent.
    fn squeue(&self, names: &[String]) -> Result<Vec<QueueRow>, String>;
    /// Jobs of the current user still queued or running, whatever their names.
    fn squeue_live(&self) -> Result<Vec<QueueRow>, String>;
    /// `scontrol show job` of one task; `None` once SLURM has forgotten it.
    fn ended(&self, job: JobRef) -> Result<Option<Ended>, String>;
    fn scancel(&self, jobs: &[JobRef]) -> Result<(), String>;
}

/// The real tools, found on `PATH`.
pub struct Commands {
    pub timeout: Duration,
}

impl Default for Commands {
    fn default() -> Self {
        Commands {
            timeout: Duration::from_secs(60),
        }
    }
}

const QUEUE_FORMAT: &str = "%i|%j|%T|%r|%k";

impl Commands {
    fn call(&self, program: &str, args: &[String]) -> Result<String, String> {
        let mut child = Command::new(program)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot run `{program}`: {e} (is SLURM installed here?)"))?;
        // Drain both pipes on threads so a chatty tool cannot block on a full pipe.
        let mut out = child.stdout.take().expect("piped stdout");
        let mut err = child.stderr.take().expect("piped stderr");
        let out_thread = std::thread::spawn(move || {
            let mut s = String::new();
            let _ = out.read_to_string(&mut s);
            s
        });
        let err_thread = std::thread::spawn(move || {
            let mut s = String::new();
            let _ = err.read_to_string(&mut s);
            s
        });
        let start = Instant::now();
        let status = loop {
            match child.try_wait() {
                Ok(Some(status)) => break status,
                Ok(None) if start.elapsed() > self.timeout => {
                    let _ = child.kill();
                    let _ = child.wait();
                    return Err(format!(
                        "`{program}` did not answer within {} s",
                        self.timeout.as_secs()
                    ));
                }
                Ok(None) => std::thread::sleep(Duration::from_millis(20)),
                Err(e) => return Err(format!("waiting for `{program}`: {e}")),
            }
        };
        let stdout = out_thread.join().unwrap_or_default();
        let stderr = err_thread.join().unwrap_or_default();
        if status.success() {
            Ok(stdout)
        } else {
            Err(format!(
                "`{program} {}` failed ({status}): {}",
                args.join(" "),
                stderr.trim()
            ))
        }
    }
}

impl Scheduler for Commands {
    fn sbatch(&self, flags: &[String], script: &Path) -> Result<u64, String> {
        let mut args: Vec<String> = vec!["--parsable".into()];
        args.extend(flags.iter().cloned());
        args.push(script.display().to_string());
        parse_sbatch(&self.call("sbatch", &args)?)
    }

    fn squeue(&self, names: &[String]) -> Result<Vec<QueueRow>, String> {
        if names.is_empty() {
            return Ok(Vec::new());
        }
        let mut rows = Vec::new();
        // One call per few hundred names keeps the argument short on a 10^4-unit sweep.
        for chunk in names.chunks(200) {
            let args = vec![
                "--noheader".into(),
                "--array".into(),
                "--states=all".into(),
                format!("--name={}", chunk.join(",")),
                format!("--format={QUEUE_FORMAT}"),
            ];
            rows.extend(parse_squeue(&self.call("squeue", &args)?)?);
        }
        Ok(rows)
    }

    fn squeue_live(&self) -> Result<Vec<QueueRow>, String> {
        let user = std::env::var("USER")
            .ok()
            .filter(|u| !u.is_empty())
            .or_else(|| {
                self.call("id", &["-un".into()])
                    .ok()
                    .map(|s| s.trim().to_string())
            })
            .unwrap_or_else(|| "root".into());
        let args = vec![
            "--noheader".into(),
            "--array".into(),
            format!("--user={user}"),
            format!("--format={QUEUE_FORMAT}"),
        ];
        parse_squeue(&self.call("squeue", &args)?)
    }

    fn ended(&self, job: JobRef) -> Result<Option<Ended>, String> {
        match self.call(
            "scontrol",
            &[
                "--oneliner".into(),
                "show".into(),
                "job".into(),
                job.to_string(),
            ],
        ) {
            Ok(text) => Ok(parse_scontrol_job(&text)),
            Err(e) if e.contains("Invalid job id") => Ok(None),
            Err(e) => Err(e),
        }
    }

    fn scancel(&self, jobs: &[JobRef]) -> Result<(), String> {
        for chunk in jobs.chunks(200) {
            let args: Vec<String> = chunk.iter().map(|j| j.to_string()).collect();
            self.call("scancel", &args)?;
        }
        Ok(())
    }
}

/// `sbatch --parsable` prints `<id>` or `<id>;<cluster>`.
pub fn parse_sbatch(text: &str) -> Result<u64, String> {
    let line = text.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
    line.split(';')
        .next()
        .and_then(|id| id.trim().parse().ok())
        .ok_or_else(|| format!("sbatch printed no job id: `{}`", text.trim()))
}

/// `squeue --array --format=%i|%j|%T|%r|%k` lines: `12_3|name|PENDING|Dependency|comment` (the
/// comment, last, may itself hold `|`; `(null)` when none). A job submitted
/// without `--array` (`12`) is task 0 of itself; a still-compacted range (`12_[0-5]`, never
/// printed with `--array`) is an error rather than a guess.
pub fn parse_squeue(text: &str) -> Result<Vec<QueueRow>, String> {
    let mut rows = Vec::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let f: Vec<&str> = line.trim().splitn(5, '|').collect();
        let [id, name, state, reason, comment] = f[..] else {
            return Err(format!("unexpected squeue line `{line}`"));
        };
        rows.push(QueueRow {
            job: parse_job_ref(id)
                .ok_or_else(|| format!("unexpected job id `{id}` from squeue"))?,
            name: name.to_string(),
            state: state.to_string(),
            reason: reason.to_string(),
            comment: comment.to_string(),
        });
    }
    Ok(rows)
}

pub fn parse_job_ref(id: &str) -> Option<JobRef> {
    match id.split_once('_') {
        Some((a, t)) => Some(JobRef {
            array: a.parse().ok()?,
            task: t.parse().ok()?,
        }),
        None => Some(JobRef {
            array: id.parse().ok()?,
            task: 0,
        }),
    }
}

/// `JobState=FAILED Reason=NonZeroExitCode … ExitCode=1:0` from `scontrol --oneliner show job`.
/// The state may read `CANCELLED by 0` elsewhere; here it is one word.
pub fn parse_scontrol_job(text: &str) -> Option<Ended> {
    let field = |name: &str| {
        text.split_whitespace()
            .find_map(|w| w.strip_prefix(name).map(str::to_string))
    };
    let state = field("JobState=")?;
    let reason = field("Reason=").unwrap_or_default();
    let (exit_code, signal) = field("ExitCode=")
        .and_then(|c| {
            let (a, b) = c.split_once(':')?;
            Some((a.parse().ok()?, b.parse().ok()?))
        })
        .unwrap_or((0, 0));
    Some(Ended {
        state,
        reason,
        exit_code,
        signal,
    })
}

/// `sacct --parsable2 --format=State,ExitCode,Reason`: `FAILED|1:0|NonZeroExitCode`; the state
/// may read `CANCELLED by 0`.
pub fn parse_sacct(text: &str) -> Option<Ended> {
    let line = text.lines().find(|l| !l.trim().is_empty())?;
    let f: Vec<&str> = line.trim().split('|').collect();
    let [state, code, reason] = f[..] else {
        return None;
    };
    let (a, b) = code.split_once(':')?;
    Some(Ended {
        state: state.split_whitespace().next()?.to_string(),
        reason: reason.to_string(),
        exit_code: a.parse().ok()?,
        signal: b.parse().ok()?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    // Outputs recorded from slurm-wlm 22.05.8 (Debian 12) started by .ci/slurm.
    #[test]
    fn parses_what_slurm_22_05_prints() {
        assert_eq!(parse_sbatch("1234\n"), Ok(1234));
        assert_eq!(parse_sbatch("1234;localcluster\n"), Ok(1234));
        assert!(parse_sbatch("sbatch: error: x\n").is_err());
        let rows = parse_squeue(
            "2_2|wrap|PENDING|Dependency|(null)\n1_0|wrap|RUNNING|None|ql:1-2\n1_2|wrap|FAILED|NonZeroExitCode|a|b\n7|x|COMPLETED|None|(null)\n",
        )
        .unwrap();
        assert_eq!(rows.len(), 4);
        assert_eq!(rows[0].job, JobRef { array: 2, task: 2 });
        assert_eq!(rows[0].reason, "Dependency");
        assert_eq!(rows[3].job, JobRef { array: 7, task: 0 });
        assert_eq!(rows[1].comment, "ql:1-2");
        assert_eq!(rows[2].comment, "a|b");
        assert!(parse_squeue("2_[0-5]|wrap|PENDING|Dependency|(null)\n").is_err());
        assert!(parse_squeue("2_1|wrap|PENDING\n").is_err());
        let e = parse_scontrol_job(
            "JobId=6 ArrayJobId=1 ArrayTaskId=0 JobName=wrap UserId=root(0) JobState=FAILED Reason=NonZeroExitCode Dependency=(null) Requeue=1 Restarts=0 BatchFlag=1 Reboot=0 ExitCode=1:0 RunTime=00:00:02",
        )
        .unwrap();
        assert_eq!(e.state, "FAILED");
        assert_eq!((e.exit_code, e.signal), (1, 0));
        assert_eq!(e.describe(), "FAILED (exit code 1)");
        let k = parse_scontrol_job("JobState=FAILED Reason=JobLaunchFailure ExitCode=0:9").unwrap();
        let c = parse_sacct("CANCELLED by 0|0:15|None\n").unwrap();
        assert_eq!((c.state.as_str(), c.signal), ("CANCELLED", 15));
        assert!(parse_sacct("").is_none());
        assert_eq!(k.describe(), "FAILED (killed by signal 9)");
    }
}
