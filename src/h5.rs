//! Small helpers over `hdf5-metno` for the attribute and dataset shapes quakeline writes.
//!
//! Strings are variable-length UTF-8 (what h5py returns as `str`), numbers are native little-endian
//! scalars, arrays are contiguous datasets written with object time tracking off, so two runs that
//! compute the same numbers write the same dataset bytes.

use hdf5::types::VarLenUnicode;
use hdf5::{Dataset, H5Type, Location};

pub fn write_str_attr(loc: &Location, name: &str, value: &str) -> hdf5::Result<()> {
    let v: VarLenUnicode = value
        .parse()
        .map_err(|e| hdf5::Error::from(format!("attribute {name}: {e}")))?;
    loc.new_attr::<VarLenUnicode>()
        .create(name)?
        .write_scalar(&v)
}

pub fn write_attr<T: H5Type>(loc: &Location, name: &str, value: T) -> hdf5::Result<()> {
    loc.new_attr::<T>().create(name)?.write_scalar(&value)
}

pub fn read_str_attr(loc: &Location, name: &str) -> hdf5::Result<String> {
    Ok(loc
        .attr(name)?
        .read_scalar::<VarLenUnicode>()?
        .as_str()
        .to_string())
}

pub fn read_attr<T: H5Type>(loc: &Location, name: &str) -> hdf5::Result<T> {
    loc.attr(name)?.read_scalar::<T>()
}

/// Writes a row-major array of `shape` as a new dataset.
pub fn write_array<T: H5Type>(
    group: &hdf5::Group,
    name: &str,
    shape: &[usize],
    data: &[T],
) -> hdf5::Result<Dataset> {
    let expected: usize = shape.iter().product();
    if expected != data.len() {
        return Err(format!(
            "dataset {name}: shape {shape:?} needs {expected} values, got {}",
            data.len()
        )
        .into());
    }
    let ds = group
        .new_dataset::<T>()
        .shape(shape)
        .obj_track_times(false)
        .create(name)?;
    ds.write_raw(data)?;
    Ok(ds)
}

/// Reads a dataset as a flat row-major vector plus its shape.
pub fn read_array<T: H5Type>(
    group: &hdf5::Group,
    name: &str,
) -> hdf5::Result<(Vec<T>, Vec<usize>)> {
    let ds = group.dataset(name)?;
    Ok((ds.read_raw::<T>()?, ds.shape()))
}

/// Opens an HDF5 file from outside quakeline (not a cache entry) after
/// [`check_global_heaps`]; `label` names it in errors.
pub fn open_outside(path: &std::path::Path, label: &str) -> anyhow::Result<hdf5::File> {
    open_outside_pinned(path, label, None)
}

/// [`open_outside`], also checking in the same pass that the file's BLAKE3 is `pin` (a source
/// hashed when the pipeline was planned). The file is read once, in blocks, whatever its size
/// (a SeisBench `waveforms.hdf5` of STEAD is 86 GB): hashed and scanned for heap collections,
/// then only the collections are read again.
pub fn open_outside_pinned(
    path: &std::path::Path,
    label: &str,
    pin: Option<&str>,
) -> anyhow::Result<hdf5::File> {
    let cannot = |e: std::io::Error| anyhow::anyhow!("cannot read {label}: {e}");
    let file = std::fs::File::open(path).map_err(cannot)?;
    let mut reader = &file;
    let mut hashing = crate::cache::HashingReader::new(&mut reader);
    let mut scan = HeapScan::default();
    crate::cache::copy(&mut hashing, &mut scan).map_err(cannot)?;
    let (digest, len) = hashing.finish();
    if let Some(pin) = pin {
        anyhow::ensure!(
            digest.eq_ignore_ascii_case(pin),
            "{label} changed while the pipeline was running; run it again"
        );
    }
    use std::os::unix::fs::FileExt;
    let mut read_at = |at: u64, buf: &mut [u8]| file.read_exact_at(buf, at).is_ok();
    walk_heaps(len, scan.starts.into_iter(), &mut read_at)
        .map_err(|e| anyhow::anyhow!("{label}: {e}"))?;
    hdf5::File::open(path).map_err(|e| anyhow::anyhow!("{label}: not an HDF5 file: {e}"))
}

/// Where the signature `GCOL` occurs in a stream written to it (a match may straddle writes).
#[derive(Default)]
struct HeapScan {
    starts: Vec<u64>,
    /// The last three bytes of the previous write.
    tail: Vec<u8>,
    offset: u64,
}

impl std::io::Write for HeapScan {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        // Matches that start in the previous write's last bytes: search those bytes followed by
        // this write's first three; matches inside this write: search it.
        let mut edge = std::mem::take(&mut self.tail);
        let (carried, from) = (edge.len(), self.offset - edge.len() as u64);
        edge.extend_from_slice(&buf[..buf.len().min(3)]);
        self.starts.extend(
            gcol(&edge)
                .filter(|&i| i < carried)
                .map(|i| from + i as u64),
        );
        self.starts
            .extend(gcol(buf).map(|i| self.offset + i as u64));
        self.offset += buf.len() as u64;
        // The last three bytes seen (`edge` holds them all when this write is shorter).
        let last = if buf.len() >= 3 { buf } else { &edge[..] };
        self.tail = last[last.len().saturating_sub(3)..].to_vec();
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Offsets of `GCOL` in `bytes`.
fn gcol(bytes: &[u8]) -> impl Iterator<Item = usize> + '_ {
    memchr::memmem::find_iter(bytes, b"GCOL")
}

/// Checks an HDF5 file from outside (an event file, a SeisBench set) for damage the HDF5
/// library cannot survive, before the library opens it. The bundled HDF5 (2.2) loops forever
/// in `H5HG__cache_heap_deserialize` when a global heap collection — where variable-length
/// strings live — holds a free-space object (index 0) of length 0 before its end: the parse
/// pointer never advances (found by `tests/fuzz.rs`). This walks every collection the way
/// that function does (signature `GCOL`, version 1, 8-byte lengths as h5py and quakeline
/// write them; HDF5 File Format Specification III.E) and refuses the file instead.
pub fn check_global_heaps(bytes: &[u8]) -> Result<(), String> {
    let mut read_at = |at: u64, buf: &mut [u8]| {
        let at = usize::try_from(at).unwrap_or(usize::MAX);
        match at.checked_add(buf.len()).and_then(|e| bytes.get(at..e)) {
            Some(b) => {
                buf.copy_from_slice(b);
                true
            }
            None => false,
        }
    };
    walk_heaps(
        bytes.len() as u64,
        gcol(bytes).map(|i| i as u64),
        &mut read_at,
    )
}

/// The walk of [`check_global_heaps`] over the collections starting at `starts` of a file of
/// `len` bytes, read through `read_at` (false: not that many bytes there).
fn walk_heaps(
    len: u64,
    starts: impl Iterator<Item = u64>,
    read_at: &mut dyn FnMut(u64, &mut [u8]) -> bool,
) -> Result<(), String> {
    const HEADER: u64 = 16;
    const OBJECT_HEADER: u64 = 16;
    let mut le64 = |at: u64| -> Option<u64> {
        let mut b = [0u8; 8];
        read_at(at, &mut b).then(|| u64::from_le_bytes(b))
    };
    for start in starts {
        // The version byte (after the signature) is the low byte of this word.
        if le64(start + 4).is_none_or(|w| w.to_le_bytes()[0] != 1) {
            continue;
        }
        let Some(size) = le64(start + 8) else {
            continue;
        };
        let Some(end) = start.checked_add(size).filter(|e| *e <= len) else {
            continue; // HDF5 reports a collection past the end of the file itself
        };
        let mut p = start + HEADER;
        while p < end {
            if p + OBJECT_HEADER > end {
                break; // trailing free space
            }
            let (Some(head), Some(length)) = (le64(p), le64(p + 8)) else {
                break;
            };
            let index = (head & 0xffff) as u16;
            let need = if index > 0 {
                length.checked_add(7).map(|l| OBJECT_HEADER + (l & !7))
            } else {
                Some(length)
            };
            match need {
                Some(0) => {
                    return Err(format!(
                        "damaged HDF5 global heap at byte {start}: an empty free-space object at byte {p} (the HDF5 library would never finish reading it)"
                    ));
                }
                Some(n) if p.checked_add(n).is_some_and(|q| q <= end) => p += n,
                _ => break, // HDF5 reports an object past the collection itself
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    /// The streaming scan finds what a scan of the whole buffer finds, however the stream is
    /// cut (matches straddling one, two or three writes).
    #[test]
    fn heap_scan_finds_every_signature_across_writes() {
        let mut bytes = b"xxGCOLyGCOGCOLGCOLzzzGCO".to_vec();
        bytes.extend(std::iter::repeat_n(b'G', 5));
        bytes.extend(b"COL");
        let whole: Vec<u64> = gcol(&bytes).map(|i| i as u64).collect();
        assert_eq!(whole, [2, 10, 14, 28]);
        for step in 1..=7 {
            let mut scan = HeapScan::default();
            for part in bytes.chunks(step) {
                scan.write_all(part).unwrap();
            }
            assert_eq!(scan.starts, whole, "writes of {step} bytes");
        }
    }
}
