//! The waveform file formats quakeline reads, in one registry (ObsPy's `read` habit: each format
//! has an `is_…` test on a file's first bytes and its reader; a file is read by the format it
//! names or, where none is named, by the one that recognises it).
//!
//! | format      | module         | what it holds                                                   | recognised by |
//! |-------------|----------------|-----------------------------------------------------------------|---------------|
//! | `npz`       | [`npz`]        | PhaseNet's training traces: one 3-C trace with P and S picks     | a zip archive (NumPy `.npz`) |
//! | `seisbench` | [`seisbench`]  | SeisBench `metadata*.csv` + `waveforms*.hdf5` (read and written) | the HDF5 signature, or a CSV header with `trace_name` |
//! | `mseed`     | [`mseed`]      | miniSEED 2 and 3 records (FDSN SEED 2.4, miniSEED 3)             | a SEED 2 fixed header, or `MS` + version 3 |
//! | `sac`       | [`sac`]        | SAC binary, one component per file                               | header version 6 in either byte order |
//!
//! `fetch.waveforms` names its format (the formats that come with picks, [`LABELLED`]);
//! `quakeline predict` recognises each file. A file no format recognises is an error that names
//! every format tried ([`sniff`]). Pick files are the other registry, [`crate::io::picks`].

pub mod mseed;
pub mod npz;
pub mod sac;
pub mod seisbench;

crate::choice! {
    /// A waveform file format (see the module docs).
    pub enum Format {
        Npz = "npz",
        Seisbench = "seisbench",
        Mseed = "mseed",
        Sac = "sac",
    }
}

/// The formats `fetch.waveforms` reads into a labelled set (with their picks).
pub const LABELLED: &[&str] = &["npz", "seisbench", "mseed"];

/// How many bytes of a file [`sniff`] looks at.
pub const HEAD_BYTES: usize = 1024;

impl Format {
    /// What the format holds, for messages and listings.
    pub fn summary(self) -> &'static str {
        match self {
            Format::Npz => "PhaseNet .npz trace (NumPy zip archive)",
            Format::Seisbench => "SeisBench metadata*.csv + waveforms*.hdf5",
            Format::Mseed => "miniSEED 2 or 3 records",
            Format::Sac => "SAC binary, one component",
        }
    }

    /// Whether `head`, the first bytes of a file (at most [`HEAD_BYTES`]), are of this format.
    pub fn is(self, head: &[u8]) -> bool {
        match self {
            Format::Npz => npz::is_npz(head),
            Format::Seisbench => seisbench::is_seisbench(head),
            Format::Mseed => mseed::is_mseed(head),
            Format::Sac => sac::is_sac(head),
        }
    }

    /// Every format, in registry order.
    pub fn all() -> impl Iterator<Item = Format> {
        Format::ALL.iter().copied()
    }

    /// The format called `name`.
    pub fn named(name: &str) -> Option<Format> {
        Format::all().find(|f| f.name() == name)
    }
}

/// The format of a file from its first bytes; `label` names the file in the error, which lists
/// every format tried.
pub fn sniff(label: &str, head: &[u8]) -> anyhow::Result<Format> {
    let head = &head[..head.len().min(HEAD_BYTES)];
    Format::all().find(|f| f.is(head)).ok_or_else(|| {
        anyhow::anyhow!(
            "{label}: not a waveform file quakeline reads (tried {})",
            Format::all()
                .map(|f| format!("{} ({})", f.name(), f.summary()))
                .collect::<Vec<_>>()
                .join(", ")
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_labelled_format_is_registered_and_names_round_trip() {
        for n in LABELLED {
            assert!(Format::named(n).is_some(), "{n}");
        }
        for f in Format::all() {
            assert_eq!(Format::named(f.name()), Some(f));
        }
    }

    #[test]
    fn an_unknown_file_names_every_format_tried() {
        let e = sniff("notes.txt", b"hello, world\n")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("notes.txt: not a waveform file"), "{e}");
        for n in Format::NAMES {
            assert!(e.contains(n), "{e}");
        }
        assert!(sniff("empty", b"").is_err());
    }
}
