//! File formats and transports. One module per format; each parser takes text or bytes plus a name
//! for messages, with a thin path wrapper, and reports errors with file, line and field.

pub mod catalog;
pub mod fmnet_event;
pub mod h5;
pub mod http;
pub mod iaga2002;
pub mod kp;
pub mod mseed;
pub mod phasenet_npz;
pub mod sac;
pub mod seisbench;
pub mod sources;
pub mod tf_checkpoint;
