//! The pick file formats quakeline reads, in one registry (as [`crate::io::waveforms`]): each
//! has an `is_…` test on a file's first bytes and a reader into [`Pick`]s. Among the files of a
//! `fetch.waveforms` stage, a pick file is recognised by its content, never by its name.
//!
//! | format | module  | what it holds |
//! |--------|---------|---------------|
//! | `csv`  | [`csv`] | a table with the columns `trace`, `phase`, `time` (SeisBench-style) |
//! | `quakeml` | [`quakeml`] | QuakeML 1.2 `<pick>`s (SeisComP, ObsPy, FDSN event services), with their event's magnitude |

pub mod csv;
pub mod quakeml;

crate::choice! {
    /// A pick file format (see the module docs).
    pub enum Format {
        Csv = "csv",
        Quakeml = "quakeml",
    }
}

/// How pick files are read: which QuakeML picks are kept by their evaluation mode.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ReadOptions {
    pub mode: quakeml::Mode,
}

/// One pick of a pick file.
#[derive(Clone, Debug, PartialEq)]
pub struct Pick {
    /// The station id `NET.STA.LOC.BI` (`BK.BKS..HH`).
    pub trace: String,
    /// `'P'` or `'S'`.
    pub phase: char,
    pub time_ns: i64,
    /// 1-based line in the file.
    pub line: u64,
    /// The magnitude of the pick's event, NaN where the file gives none.
    pub magnitude: f64,
    /// The epicentre of the pick's event (latitude, longitude, degrees), where the file gives
    /// one: with the station's coordinates (an inventory) it is the trace's distance.
    pub epicentre: Option<(f64, f64)>,
}

impl Format {
    /// Whether `head`, the first bytes of a file, are of this format.
    pub fn is(self, head: &[u8]) -> bool {
        match self {
            Format::Csv => self::csv::is_csv(head),
            Format::Quakeml => quakeml::is_quakeml(head),
        }
    }

    /// Reads the picks of a whole file (`label` names it in errors, with line and field).
    pub fn read(self, label: &str, bytes: &[u8], o: &ReadOptions) -> anyhow::Result<Vec<Pick>> {
        match self {
            Format::Csv => self::csv::read(label, bytes),
            Format::Quakeml => quakeml::read(label, bytes, o.mode),
        }
    }
}

/// The pick format of a file from its first bytes, if any.
pub fn sniff(head: &[u8]) -> Option<Format> {
    [Format::Csv, Format::Quakeml]
        .into_iter()
        .find(|f| f.is(head))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pick_table_is_recognised_by_its_header_whatever_its_name() {
        assert_eq!(
            sniff(b"trace,phase,time\nBK.BKS..HH,P,2017-07-15T10:49:24Z\n"),
            Some(Format::Csv)
        );
        assert_eq!(sniff(b"Time, Phase ,TRACE,extra\n"), Some(Format::Csv));
        assert_eq!(sniff(b"trace,time\n"), None);
        assert_eq!(sniff(b"000001D \x00\x01"), None);
        assert!(
            sniff(b"<?xml version='1.0'?>\n<q:quakeml xmlns=\"http://quakeml.org/xmlns/bed/1.2\"")
                .is_some()
        );
        assert_eq!(Format::NAMES.len(), 2, "add the new format to sniff()");
    }
}
