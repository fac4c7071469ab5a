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
