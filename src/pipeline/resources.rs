//! A stage's resource hints: `resources = { cpus = 4, mem = "8G", time = "2h", gpus = 1 }`.
//!
//! Hints say what one computation of the stage needs, so a cluster executor can ask for it
//! (`sbatch -c`, `--mem`, `-t`, `--gres=gpu:N`). They never change what is computed, so they are
//! not part of the cache key: the same stage asked for with more memory is the same entry. The
//! local executor ignores them.

use std::ops::Range;

use crate::diag::{Source, SourceError};

/// What one run of a stage asks a scheduler for; `None` leaves the site's default.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Resources {
    pub cpus: Option<u32>,
    /// Memory in MiB (`"8G"` = 8192; sbatch's `--mem` unit).
    pub mem_mib: Option<u64>,
    /// Wall-clock limit in whole minutes (rounded up; sbatch's `-t` unit).
    pub time_min: Option<u64>,
    pub gpus: Option<u32>,
}

impl Resources {
    /// Parses the inline table; errors point at the field.
    pub fn parse(
        value: &toml_edit::Value,
        src: &Source,
        span: Range<usize>,
    ) -> Result<Resources, Vec<SourceError>> {
        let Some(t) = value.as_inline_table() else {
            return Err(vec![src.error(span, "`resources` must be a table").help(
                "e.g. resources = { cpus = 4, mem = \"8G\", time = \"2h\", gpus = 1 }",
            )]);
        };
        let mut r = Resources::default();
        let mut errors = Vec::new();
        for (key, v) in t.iter() {
            let vspan = v.span().unwrap_or(span.clone());
            let result = match key {
                "cpus" => count(v, 1).map(|n| r.cpus = Some(n)),
                "gpus" => count(v, 0).map(|n| r.gpus = Some(n)),
                "mem" => v
                    .as_str()
                    .ok_or_else(|| "`mem` must be a string such as \"8G\" or \"500M\"".to_string())
                    .and_then(parse_mem_mib)
                    .map(|m| r.mem_mib = Some(m)),
                "time" => v
                    .as_str()
                    .ok_or_else(|| {
                        "`time` must be a duration such as \"2h\" or \"90m\"".to_string()
                    })
                    .and_then(|s| {
                        let ns = crate::units::parse_duration_ns(s)?;
                        if ns <= 0 {
                            return Err(format!("`time` must be positive, found \"{s}\""));
                        }
                        Ok(((ns as u128).div_ceil(60_000_000_000)) as u64)
                    })
                    .map(|m| r.time_min = Some(m)),
                other => Err(format!(
                    "unknown resource `{other}`; resources are cpus, mem, time and gpus"
                )),
            };
            if let Err(msg) = result {
                errors.push(src.error(vspan, msg));
            }
        }
        if errors.is_empty() {
            Ok(r)
        } else {
            Err(errors)
        }
    }

    /// The `sbatch` flags that ask for these resources.
    pub fn sbatch_flags(&self) -> Vec<String> {
        let mut out = Vec::new();
        if let Some(c) = self.cpus {
            out.push(format!("--cpus-per-task={c}"));
        }
        if let Some(m) = self.mem_mib {
            out.push(format!("--mem={m}M"));
        }
        if let Some(t) = self.time_min {
            out.push(format!("--time={t}"));
        }
        if let Some(g) = self.gpus.filter(|g| *g > 0) {
            out.push(format!("--gres=gpu:{g}"));
        }
        out
    }
}

fn count(v: &toml_edit::Value, min: i64) -> Result<u32, String> {
    match v.as_integer() {
        Some(n) if n >= min && n <= u32::MAX as i64 => Ok(n as u32),
        _ => Err(format!("must be a whole number ≥ {min}")),
    }
}

/// `"8G"`, `"500M"`, `"1T"`, `"2048K"` → MiB (binary units, as Slurm reads them), rounded up.
fn parse_mem_mib(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: u64 = num
        .parse()
        .map_err(|_| format!("`{text}` is not a memory size; write e.g. \"8G\" or \"500M\""))?;
    let kib = match unit.trim().to_ascii_uppercase().as_str() {
        "K" | "KB" | "KIB" => n,
        "M" | "MB" | "MIB" => n.saturating_mul(1 << 10),
        "G" | "GB" | "GIB" => n.saturating_mul(1 << 20),
        "T" | "TB" | "TIB" => n.saturating_mul(1 << 30),
        "" => {
            return Err(format!(
                "`{text}` has no unit; write e.g. \"{text}M\" or \"{text}G\""
            ));
        }
        other => return Err(format!("`{other}` is not a memory unit; use K, M, G or T")),
    };
    if kib == 0 {
        return Err("`mem` must be positive".into());
    }
    Ok(kib.div_ceil(1 << 10))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Resources, String> {
        let src = Source::new("p.toml", format!("r = {text}\n"));
        let doc = toml_edit::Document::parse(src.text.to_string()).unwrap();
        let v = doc["r"].as_value().unwrap();
        Resources::parse(v, &src, 0..1).map_err(|e| {
            e.iter()
                .map(|e| e.to_string())
                .collect::<Vec<_>>()
                .join("; ")
        })
    }

    #[test]
    fn hints_become_sbatch_flags() {
        let r = parse(r#"{ cpus = 4, mem = "8G", time = "2h", gpus = 1 }"#).unwrap();
        assert_eq!(
            r.sbatch_flags(),
            [
                "--cpus-per-task=4",
                "--mem=8192M",
                "--time=120",
                "--gres=gpu:1"
            ]
        );
        let r = parse(r#"{ mem = "500M", time = "90s" }"#).unwrap();
        assert_eq!(r.sbatch_flags(), ["--mem=500M", "--time=2"]);
    }

    #[test]
    fn bad_hints_name_the_field() {
        let e = parse(r#"{ cpus = 0, mem = "8", tiem = "2h" }"#).unwrap_err();
        assert!(e.contains("p.toml:1:14: must be a whole number ≥ 1"), "{e}");
        assert!(e.contains("has no unit"), "{e}");
        assert!(e.contains("unknown resource `tiem`"), "{e}");
        assert!(parse("4").unwrap_err().contains("must be a table"));
    }
}
