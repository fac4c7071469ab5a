//! Labelling rules: which windows of data become training examples, and with which label.
//!
//! | module        | what                                                               |
//! |---------------|--------------------------------------------------------------------|
//! | [`precursor`] | geomagnetic windows before earthquakes vs quiet ones (Petrescu & Moldovan 2022) |

pub mod precursor;
