//! Pick files as CSV: a SeisBench-style table with a header and the columns `trace` (the station
//! id `NET.STA.LOC.BI`, e.g. `BK.BKS..HH`; the time decides which of its traces), `phase` (`P`,
//! `Pg`, `Pn`, … or `S`, …: the first letter decides) and `time` (ISO 8601 UTC). Other columns
//! are ignored; column names are matched without regard to case.

use super::Pick;
use crate::time;

/// Whether `head` (the first bytes of a file) starts with a pick table's header line: the
/// columns `trace`, `phase` and `time`, comma-separated.
pub fn is_csv(head: &[u8]) -> bool {
    crate::io::header_columns(head).is_some_and(|cols| {
        ["trace", "phase", "time"]
            .iter()
            .all(|want| cols.iter().any(|c| c.eq_ignore_ascii_case(want)))
    })
}

/// Reads a pick file (`trace,phase,time` with a header; see the module docs).
pub fn read(label: &str, bytes: &[u8]) -> anyhow::Result<Vec<Pick>> {
    let mut r = ::csv::ReaderBuilder::new()
        .trim(::csv::Trim::All)
        .from_reader(bytes);
    let header = r
        .headers()
        .map_err(|e| anyhow::anyhow!("{label}: line 1: {e}"))?
        .clone();
    let col = |name: &str| {
        header
            .iter()
            .position(|h| h.eq_ignore_ascii_case(name))
            .ok_or_else(|| {
                anyhow::anyhow!(
                    "{label}: line 1: no `{name}` column (a pick file has the columns trace, phase, time; found {:?})",
                    header.iter().collect::<Vec<_>>()
                )
            })
    };
    let (ct, cp, cm) = (col("trace")?, col("phase")?, col("time")?);
    let mut out = Vec::new();
    for row in r.records() {
        let row = row.map_err(|e| anyhow::anyhow!("{label}: {e}"))?;
        let line = row.position().map_or(0, |p| p.line());
        let field = |c: usize, name: &str| {
            row.get(c)
                .ok_or_else(|| anyhow::anyhow!("{label}: line {line}: no `{name}` field"))
        };
        let phase_text = field(cp, "phase")?;
        let phase = match phase_text.chars().next().map(|c| c.to_ascii_uppercase()) {
            Some(c @ ('P' | 'S')) => c,
            _ => anyhow::bail!(
                "{label}: line {line}, field `phase`: `{phase_text}` is neither a P nor an S phase"
            ),
        };
        let time_ns = time::parse_iso8601(field(cm, "time")?)
            .map_err(|e| anyhow::anyhow!("{label}: line {line}, field `time`: {e}"))?;
        out.push(Pick {
            trace: field(ct, "trace")?.to_string(),
            phase,
            time_ns,
            line,
            magnitude: f64::NAN,
            epicentre: None,
        });
    }
    Ok(out)
}
