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
    let bytes = std::fs::read(path).map_err(|e| anyhow::anyhow!("cannot read {label}: {e}"))?;
    check_global_heaps(&bytes).map_err(|e| anyhow::anyhow!("{label}: {e}"))?;
    drop(bytes);
    hdf5::File::open(path).map_err(|e| anyhow::anyhow!("{label}: not an HDF5 file: {e}"))
}

/// Checks an HDF5 file from outside (an event file, a SeisBench set) for damage the HDF5
/// library cannot survive, before the library opens it. The bundled HDF5 (2.2) loops forever
/// in `H5HG__cache_heap_deserialize` when a global heap collection — where variable-length
/// strings live — holds a free-space object (index 0) of length 0 before its end: the parse
/// pointer never advances (found by `tests/fuzz.rs`). This walks every collection the way
/// that function does (signature `GCOL`, version 1, 8-byte lengths as h5py and quakeline
/// write them; HDF5 File Format Specification III.E) and refuses the file instead.
pub fn check_global_heaps(bytes: &[u8]) -> Result<(), String> {
    const HEADER: usize = 16;
    const OBJECT_HEADER: usize = 16;
    let le64 = |at: usize| -> Option<u64> {
        bytes
            .get(at..at + 8)
            .map(|b| u64::from_le_bytes(b.try_into().unwrap_or([0; 8])))
    };
    let mut from = 0;
    while let Some(pos) = bytes[from..].windows(4).position(|w| w == b"GCOL") {
        let start = from + pos;
        from = start + 4;
        if bytes.get(start + 4) != Some(&1) {
            continue;
        }
        let Some(size) = le64(start + 8).and_then(|s| usize::try_from(s).ok()) else {
            continue;
        };
        let Some(end) = start.checked_add(size).filter(|e| *e <= bytes.len()) else {
            continue; // HDF5 reports a collection past the end of the file itself
        };
        let mut p = start + HEADER;
        while p < end {
            if p + OBJECT_HEADER > end {
                break; // trailing free space
            }
            let index = u16::from_le_bytes([bytes[p], bytes[p + 1]]);
            let Some(length) = le64(p + 8).and_then(|s| usize::try_from(s).ok()) else {
                break;
            };
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
