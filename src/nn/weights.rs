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

fn values<const D: usize>(t: &Param<Tensor<D>>) -> Vec<f32> {
    t.val()
        .into_data()
        .convert::<f32>()
        .try_to_vec::<f32>()
        .expect("f32 parameter")
}

fn transpose(v: &[f32], rows: usize, cols: usize) -> Vec<f32> {
    let mut out = vec![0.0; v.len()];
    for r in 0..rows {
        for c in 0..cols {
            out[c * rows + r] = v[r * cols + c];
        }
    }
    out
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
            values(&c.weight),
        ));
        let b = c.bias.as_ref().expect("conv bias");
        out.push((format!("{name}.bias"), b.dims().to_vec(), values(b)));
    }
    for (name, d) in [("dense1", &m.dense1), ("dense2", &m.dense2)] {
        let [din, dout] = d.weight.dims();
        out.push((
            format!("{name}.weight"),
            vec![dout, din],
            transpose(&values(&d.weight), din, dout),
        ));
        let b = d.bias.as_ref().expect("dense bias");
        out.push((format!("{name}.bias"), b.dims().to_vec(), values(b)));
    }
    out
}

/// Writes the weights of `m` into `group`.
pub fn write(group: &hdf5::Group, m: &PmCnn) -> hdf5::Result<()> {
    h5::write_str_attr(group, "layout", "pytorch")?;
    for (name, shape, v) in tensors(m) {
        h5::write_array(group, &name, &shape, &v)?;
    }
    Ok(())
}

fn load<const D: usize>(
    group: &hdf5::Group,
    name: &str,
    expected: [usize; D],
    device: &Device,
) -> anyhow::Result<Tensor<D>> {
    let (v, shape) = h5::read_array::<f32>(group, name)
        .map_err(|e| anyhow::anyhow!("weights: dataset `{name}`: {e}"))?;
    anyhow::ensure!(
        shape == expected,
        "weights: `{name}` has shape {shape:?}, the network for this input needs {expected:?}"
    );
    Ok(Tensor::from_data(TensorData::new(v, expected), device))
}

/// Rebuilds a network of input `shape` from weights written by [`write`].
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
