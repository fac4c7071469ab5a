//! A site profile: how this lab's cluster is asked for work. It lives beside the user (`--site
//! FILE` or `$QUAKELINE_SITE`), never in the pipeline file, which stays portable between labs, and
//! never in a cache key.
//!
//! ```toml
//! [slurm]
//! partition = "gpu"                 # sbatch -p
//! account = "seismo"                # sbatch -A
//! qos = "normal"                    # sbatch --qos
//! sbatch_flags = ["--constraint=skylake"]   # passed verbatim
//! max_jobs = 500                    # array tasks queued or running at once
//! max_array_size = 1001             # the cluster's MaxArraySize (1 submits one job per unit)
//! poll_interval = "15s"             # one squeue call per interval for the whole run
//! give_up_after = "30m"             # squeue failing that long in a row ends the run
//!
//! [remote]                          # a remote cache (`crate::cache::remote`), any executor
//! url = "https://cache.example.org/quakeline"   # default for --remote
//! read_only = true                  # never push (--remote-read-only)
//! timeout = "30s"                   # connect, and each read/write (--remote-timeout)
//!
//! [compute]                         # any executor
//! device = "cuda"                   # cpu | cuda | cuda:N | torch-cpu (--device; `crate::device`)
//! ```

use std::path::Path;
use std::time::Duration;

use crate::diag::{Error, Source, SourceErrors};

#[derive(Clone, Debug)]
pub struct Site {
    pub partition: Option<String>,
    pub account: Option<String>,
    pub qos: Option<String>,
    pub sbatch_flags: Vec<String>,
    pub max_jobs: usize,
    /// Tasks per array and the bound of task ids: the cluster's `MaxArraySize` (`scontrol show
    /// config`; Slurm's default 1001). 1 submits every unit as its own job.
    pub max_array_size: usize,
    pub poll_interval: Duration,
    /// How long `squeue` may fail in a row before the run stops waiting (the jobs are left to
    /// run; a later run adopts them).
    pub give_up_after: Duration,
    /// The `[remote]` table: the lab's remote cache.
    pub remote: Option<crate::cache::remote::RemoteSettings>,
    /// `[compute] device`: the compute device of runs with this profile (`--device` overrides).
    pub device: Option<crate::device::Choice>,
}

impl Default for Site {
    fn default() -> Self {
        Site {
            partition: None,
            account: None,
            qos: None,
            sbatch_flags: Vec::new(),
            max_jobs: 1000,
            max_array_size: 1001,
            poll_interval: Duration::from_secs(10),
            give_up_after: Duration::from_secs(1800),
            remote: None,
            device: None,
        }
    }
}

impl Site {
    /// Reads a profile; every mistake names its line.
    pub fn load(path: &Path) -> Result<Site, Error> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            Error::other(
                format!("cannot read site profile {}: {e}", path.display()),
                "--site FILE or $QUAKELINE_SITE names a TOML file with a [slurm] table",
            )
        })?;
        Site::parse(&Source::new(path.display().to_string(), text))
    }

    pub fn parse(src: &Source) -> Result<Site, Error> {
        let doc: toml_edit::Document<String> = toml_edit::Document::parse(src.text.to_string())
            .map_err(|e| {
                Error::from(src.error(e.span().unwrap_or(0..0), e.message().to_string()))
            })?;
        let mut site = Site::default();
        let mut errors = Vec::new();
        for (key, item) in doc.iter() {
            let span = item.span().unwrap_or(0..0);
            if key == "compute" {
                match item.as_table_like() {
                    Some(t) => site.device = parse_compute(src, t, span, &mut errors),
                    None => errors.push(src.error(span, "`compute` must be a table")),
                }
                continue;
            }
            if key == "remote" {
                match item.as_table_like() {
                    Some(t) => site.remote = parse_remote(src, t, span, &mut errors),
                    None => errors.push(src.error(span, "`remote` must be a table")),
                }
                continue;
            }
            if key != "slurm" {
                errors.push(
                    src.error(span, format!("unknown table `{key}` in a site profile"))
                        .help("a site profile has the tables [slurm], [remote] and [compute]"),
                );
                continue;
            }
            let Some(t) = item.as_table_like() else {
                errors.push(src.error(span, "`slurm` must be a table"));
                continue;
            };
            for (k, v) in t.iter() {
                let span = v.span().unwrap_or(span.clone());
                let string = || v.as_str().map(str::to_string);
                match k {
                    "partition" | "account" | "qos" => match string() {
                        Some(s) => match k {
                            "partition" => site.partition = Some(s),
                            "account" => site.account = Some(s),
                            _ => site.qos = Some(s),
                        },
                        None => errors.push(src.error(span, format!("`{k}` must be a string"))),
                    },
                    "sbatch_flags" => match v.as_array() {
                        Some(a) if a.iter().all(|x| x.as_str().is_some()) => {
                            site.sbatch_flags =
                                a.iter().filter_map(|x| x.as_str().map(String::from)).collect()
                        }
                        _ => errors.push(src.error(
                            span,
                            "`sbatch_flags` must be a list of strings such as [\"--constraint=x\"]",
                        )),
                    },
                    "max_jobs" | "max_array_size" => match v.as_integer() {
                        Some(n) if n >= 1 => {
                            if k == "max_jobs" {
                                site.max_jobs = n as usize
                            } else {
                                site.max_array_size = n as usize
                            }
                        }
                        _ => errors.push(src.error(span, format!("`{k}` must be a whole number ≥ 1"))),
                    },
                    "poll_interval" | "give_up_after" => {
                        match string().map(|s| crate::units::parse_duration_ns(&s)) {
                            Some(Ok(ns)) if ns >= 100_000_000 => {
                                let d = Duration::from_nanos(ns as u64);
                                if k == "poll_interval" {
                                    site.poll_interval = d
                                } else {
                                    site.give_up_after = d
                                }
                            }
                            Some(Ok(_)) => errors
                                .push(src.error(span, format!("`{k}` must be at least \"100ms\""))),
                            Some(Err(e)) => errors.push(src.error(span, e)),
                            None => errors.push(src.error(
                                span,
                                format!("`{k}` must be a duration such as \"15s\""),
                            )),
                        }
                    }
                    other => errors.push(
                        src.error(span, format!("unknown setting `{other}` in [slurm]"))
                            .help("settings: partition, account, qos, sbatch_flags, max_jobs, max_array_size, poll_interval, give_up_after"),
                    ),
                }
            }
        }
        SourceErrors::check(errors)?;
        Ok(site)
    }

    /// The `sbatch` flags every job of this site gets.
    pub fn sbatch_flags(&self) -> Vec<String> {
        let mut out = Vec::new();
        if let Some(p) = &self.partition {
            out.push(format!("--partition={p}"));
        }
        if let Some(a) = &self.account {
            out.push(format!("--account={a}"));
        }
        if let Some(q) = &self.qos {
            out.push(format!("--qos={q}"));
        }
        out.extend(self.sbatch_flags.iter().cloned());
        out
    }
}

/// The `[remote]` table; `None` (with errors pushed) when it is wrong or has no `url`.
fn parse_compute(
    src: &Source,
    t: &dyn toml_edit::TableLike,
    span: std::ops::Range<usize>,
    errors: &mut Vec<crate::diag::SourceError>,
) -> Option<crate::device::Choice> {
    let mut device = None;
    for (k, v) in t.iter() {
        let at = v.span().unwrap_or(span.clone());
        match (k, v.as_str()) {
            ("device", Some(d)) => match d.parse() {
                Ok(c) => device = Some(c),
                Err(e) => errors.push(src.error(at, e)),
            },
            ("device", None) => errors.push(src.error(
                at,
                "`device` must be a string: \"cpu\", \"cuda\", \"cuda:N\" or \"torch-cpu\"",
            )),
            (other, _) => errors.push(
                src.error(at, format!("unknown setting `{other}` in [compute]"))
                    .help("settings: device"),
            ),
        }
    }
    device
}

fn parse_remote(
    src: &Source,
    t: &dyn toml_edit::TableLike,
    span: std::ops::Range<usize>,
    errors: &mut Vec<crate::diag::SourceError>,
) -> Option<crate::cache::remote::RemoteSettings> {
    let mut r = crate::cache::remote::RemoteSettings::new("");
    let before = errors.len();
    for (k, v) in t.iter() {
        let at = v.span().unwrap_or(span.clone());
        match (k, v.as_str(), v.as_bool()) {
            ("url", Some(u), _) => r.url = u.to_string(),
            ("read_only", _, Some(b)) => r.read_only = b,
            ("timeout", Some(d), _) => match crate::units::parse_duration_ns(d) {
                Ok(ns) if ns >= 100_000_000 => r.timeout = Duration::from_nanos(ns as u64),
                Ok(_) => errors.push(src.error(at, "`timeout` must be at least \"100ms\"")),
                Err(e) => errors.push(src.error(at, e)),
            },
            ("url", ..) => {
                errors.push(src.error(at, "`url` must be a string such as \"https://host/cache\""))
            }
            ("read_only", ..) => errors.push(src.error(at, "`read_only` must be true or false")),
            ("timeout", ..) => {
                errors.push(src.error(at, "`timeout` must be a duration such as \"30s\""))
            }
            (other, ..) => errors.push(
                src.error(at, format!("unknown setting `{other}` in [remote]"))
                    .help("settings: url, read_only, timeout"),
            ),
        }
    }
    if r.url.is_empty() && errors.len() == before {
        errors.push(src.error(span, "[remote] needs `url`"));
    }
    (errors.len() == before).then_some(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_profile_becomes_flags_and_mistakes_name_their_line() {
        let src = Source::new(
            "site.toml",
            "[slurm]\npartition = \"gpu\"\nqos = \"long\"\nsbatch_flags = [\"--constraint=a100\"]\nmax_jobs = 50\npoll_interval = \"2s\"\n",
        );
        let s = Site::parse(&src).unwrap();
        assert_eq!(
            s.sbatch_flags(),
            ["--partition=gpu", "--qos=long", "--constraint=a100"]
        );
        assert_eq!(s.max_jobs, 50);
        assert_eq!(s.poll_interval, Duration::from_secs(2));
        let bad = Source::new("site.toml", "[slurm]\npartiton = \"gpu\"\nmax_jobs = 0\n");
        let e = format!("{:?}", miette::Report::new(Site::parse(&bad).unwrap_err()));
        assert!(e.contains("unknown setting `partiton`"), "{e}");
        assert!(e.contains("max_jobs"), "{e}");
    }
}
