//! File formats and transports. One module per format; each parser takes text or bytes plus a name
//! for messages, with a thin path wrapper, and reports errors with file, line and field.
//!
//! The formats of one data kind that a stage or a command chooses between are one registry:
//! [`waveforms`] (npz, SeisBench, miniSEED, SAC), [`picks`] (pick files) and [`inventory`]
//! (station metadata). They sit above
//! [`crate::data`], whose labelled waveform sets they read into; the other formats (catalogs,
//! Kp, IAGA-2002, checkpoints) and the transports sit below it.

pub mod catalog;
pub mod fmnet_event;
pub mod http;
pub mod iaga2002;
pub mod inventory;
pub mod kp;
pub mod picks;
pub mod sources;
pub mod tf_checkpoint;
pub mod waveforms;

/// The columns of a CSV file's header line in its first bytes `head` (byte-order mark, spaces
/// and quotes removed; case kept), or `None` when the line is not text: what the registries'
/// `is_…` tests look for (a pick table's `trace,phase,time`, SeisBench's `trace_name`).
pub fn header_columns(head: &[u8]) -> Option<Vec<String>> {
    let line = head.split(|b| *b == b'\n').next().unwrap_or(head);
    let line = std::str::from_utf8(line).ok()?;
    Some(
        line.trim_start_matches('\u{feff}')
            .split(',')
            .map(|c| c.trim().trim_matches('"').to_string())
            .collect(),
    )
}
