//! Trained weights in HDF5: one float32 dataset per parameter tensor, named by module path.
//!
//! The names and layouts are PyTorch's `state_dict` (`conv1.weight` `[out, in, kh, kw]`,
//! `conv1.bias`, `dense1.weight` `[out, in]`, …), so
//!
//! ```python
//! sd = {k: torch.from_numpy(v[()]) for k, v in h5py.File(entry)["weights"].items()}
//! ```
//!
//! loads into an equivalent `torch.nn.Module`. burn keeps dense weights as `[in, out]`; they are
//! transposed on the way out and back. The group carries `layout = "pytorch"`.

use burn::module::Param;
use burn::tensor::{Device, Tensor, TensorData};

use super::pm_cnn::{PmCnn, Shape};
use crate::io::h5;

pub(crate) fn values<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    t.into_data()
        .convert::<f32>()
        .try_to_vec::<f32>()
        .expect("f32 parameter")
}

/// (path, PyTorch shape, values in PyTorch layout) of every parameter tensor.
pub fn tensors(m: &PmCnn) -> Vec<(String, Vec<usize>, Vec<f32>)> {
    let mut out = Vec::new();
    for (name, c) in [
        ("conv1", &m.conv1),
        ("conv2", &m.conv2),
        ("conv3", &m.conv3),
    ] {
        out.push((
            format!("{name}.weight"),
            c.weight.dims().to_vec(),
            values(c.weight.val()),
        ));
        let b = c.bias.as_ref().expect("conv bias");
        out.push((format!("{name}.bias"), b.dims().to_vec(), values(b.val())));
    }
    for (name, d) in [("dense1", &m.dense1), ("dense2", &m.dense2)] {
        let [din, dout] = d.weight.dims();
        out.push((
            format!("{name}.weight"),
            vec![dout, din],
            values(d.weight.val().transpose()),
        ));
        let b = d.bias.as_ref().expect("dense bias");
        out.push((format!("{name}.bias"), b.dims().to_vec(), values(b.val())));
    }
    out
}

/// Writes the weights of `m` into `group`.
pub fn write(group: &hdf5::Group, m: &PmCnn) -> hdf5::Result<()> {
    write_tensors(group, tensors(m))
}

/// Writes named tensors (any model's `tensors()`) with the PyTorch layout marker.
pub fn write_tensors(
    group: &hdf5::Group,
    tensors: Vec<(String, Vec<usize>, Vec<f32>)>,
) -> hdf5::Result<()> {
    h5::write_str_attr(group, "layout", "pytorch")?;
    for (name, shape, v) in tensors {
        h5::write_array(group, &name, &shape, &v)?;
    }
    Ok(())
}

/// The values of dataset `name`, refusing any shape but `expected`.
pub fn read_values(
    group: &hdf5::Group,
    name: &str,
    expected: &[usize],
) -> anyhow::Result<Vec<f32>> {
    let (v, shape) = h5::read_array::<f32>(group, name)
        .map_err(|e| anyhow::anyhow!("weights: dataset `{name}`: {e}"))?;
    anyhow::ensure!(
        shape == expected,
        "weights: `{name}` has shape {shape:?}, the network for this input needs {expected:?}"
    );
    Ok(v)
}

fn load<const D: usize>(
    group: &hdf5::Group,
    name: &str,
    expected: [usize; D],
    device: &Device,
) -> anyhow::Result<Tensor<D>> {
    let v = read_values(group, name, &expected)?;
    Ok(Tensor::from_data(TensorData::new(v, expected), device))
}

/// Rebuilds a network of input `shape` from weights written by [`write()`].
pub fn read(group: &hdf5::Group, shape: Shape, device: &Device) -> anyhow::Result<PmCnn> {
    let mut m = PmCnn::new(shape, 0, device);
    for (name, c) in [
        ("conv1", &mut m.conv1),
        ("conv2", &mut m.conv2),
        ("conv3", &mut m.conv3),
    ] {
        let w = c.weight.dims();
        c.weight = Param::from_tensor(load(group, &format!("{name}.weight"), w, device)?);
        c.bias = Some(Param::from_tensor(load(
            group,
            &format!("{name}.bias"),
            [w[0]],
            device,
        )?));
    }
    for (name, d) in [("dense1", &mut m.dense1), ("dense2", &mut m.dense2)] {
        let [din, dout] = d.weight.dims();
        let torch = load::<2>(group, &format!("{name}.weight"), [dout, din], device)?;
        d.weight = Param::from_tensor(torch.transpose());
        d.bias = Some(Param::from_tensor(load(
            group,
            &format!("{name}.bias"),
            [dout],
            device,
        )?));
    }
    Ok(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Written and read back, the network computes the same probabilities.
    #[test]
    fn weights_round_trip_through_hdf5() {
        let device = Device::flex();
        let shape = Shape {
            rows: 3,
            samples: 20,
        };
        let m = PmCnn::new(shape, 9, &device);
        let dir = tempfile::tempdir().unwrap();
        let f = hdf5::File::create(dir.path().join("w.h5")).unwrap();
        write(&f.create_group("weights").unwrap(), &m).unwrap();
        let back = read(&f.group("weights").unwrap(), shape, &device).unwrap();
        let x: Vec<f32> = (0..2 * 60)
            .map(|i| ((i * 37 % 11) as f32 - 5.0) / 5.0)
            .collect();
        let x = || Tensor::<3>::from_data(TensorData::new(x.clone(), [2, 3, 20]), &device);
        let p = |m: &PmCnn| {
            m.probabilities(x())
                .into_data()
                .try_to_vec::<f32>()
                .unwrap()
        };
        assert_eq!(p(&m), p(&back));
        let (_, s, v) = &tensors(&m)[6];
        assert_eq!(s, &vec![64, 3 * 5 * 64]);
        // PyTorch layout: row o holds output o's weights, i.e. burn's column o.
        let burn: Vec<f32> = m
            .dense1
            .weight
            .val()
            .into_data()
            .try_to_vec::<f32>()
            .unwrap();
        assert_eq!(v[1], burn[64]);
        assert_eq!(v[3 * 5 * 64], burn[1]);
    }
}
