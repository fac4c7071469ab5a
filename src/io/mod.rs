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
