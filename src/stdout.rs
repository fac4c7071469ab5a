//! Standard output the way Unix tools write it. `println!` panics when the reader has gone away
//! (`quakeline plan x.toml | head -3`: "failed printing to stdout: Broken pipe"); a filter-style
//! tool should instead stop quietly, as `cat` or `grep` do under SIGPIPE. Every line quakeline
//! prints on stdout goes through `outln!`/`out!`: a closed pipe ends the process with status
//! 141 (128 + SIGPIPE, what a shell reports for `cat` in the same place) and no message; any other
//! write error (a full disk behind a redirection) is reported on stderr with status 1, never
//! ignored. Ending mid-run is safe: cache entries are written to a temporary name and renamed.

use std::fmt;
use std::io::{ErrorKind, Write};

/// Exit status after a closed pipe: 128 + SIGPIPE (13).
pub const BROKEN_PIPE: i32 = 141;

/// Writes `args` to stdout; on error, ends the process as the module doc says.
pub fn write(args: fmt::Arguments<'_>) {
    let mut out = std::io::stdout().lock();
    if let Err(e) = out.write_fmt(args).and_then(|()| out.flush()) {
        if e.kind() == ErrorKind::BrokenPipe {
            std::process::exit(BROKEN_PIPE);
        }
        eprintln!("error: writing to standard output: {e}");
        std::process::exit(1);
    }
}

/// `println!` that ends the process quietly when stdout's reader has gone.
macro_rules! outln {
    () => { $crate::stdout::write(format_args!("\n")) };
    ($($t:tt)*) => { $crate::stdout::write(format_args!("{}\n", format_args!($($t)*))) };
}

/// `print!` that ends the process quietly when stdout's reader has gone.
macro_rules! out {
    ($($t:tt)*) => { $crate::stdout::write(format_args!($($t)*)) };
}

pub(crate) use {out, outln};
