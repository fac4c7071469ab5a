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
use crate::h5;

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

/// Module paths as PyTorch's `state_dict` names them: Vec elements by index, struct fields by
/// name, and a batch norm's γ, β as `weight`, `bias` (`running_mean`, `running_var` as in burn).
struct PathStack {
    path: Vec<String>,
    /// Container types, parallel to `path` (`Struct:BatchNorm`, `Vec`, …).
    kinds: Vec<String>,
}

impl PathStack {
    fn new() -> Self {
        PathStack {
            path: Vec::new(),
            kinds: Vec::new(),
        }
    }
    fn enter(&mut self, name: &str, kind: &str) {
        self.path.push(name.to_string());
        self.kinds.push(kind.to_string());
    }
    fn exit(&mut self) {
        self.path.pop();
        self.kinds.pop();
    }
    /// The current parameter's name. burn enters the parameter's own field too, with the type
    /// of the struct holding it, so the last element is the field and the last kind its owner.
    fn name(&self) -> String {
        let mut p = self.path.clone();
        let in_norm = self.kinds.last().is_some_and(|k| k == "Struct:BatchNorm");
        if in_norm && let Some(last) = p.last_mut() {
            match last.as_str() {
                "gamma" => *last = "weight".into(),
                "beta" => *last = "bias".into(),
                _ => {}
            }
        }
        p.join(".")
    }
}

/// Every float tensor of `m` (parameters and running statistics) with its PyTorch-style name,
/// shape and values: the generic form of a hand-written `tensors()` for networks whose burn
/// layouts are PyTorch's (convolutions, transposed convolutions, batch norms).
pub fn named<M: burn::module::Module>(m: &M) -> Vec<(String, Vec<usize>, Vec<f32>)> {
    struct V {
        at: PathStack,
        out: Vec<(String, Vec<usize>, Vec<f32>)>,
    }
    impl burn::module::ModuleVisitor for V {
        fn enter_module(&mut self, name: &str, kind: &str) {
            self.at.enter(name, kind);
        }
        fn exit_module(&mut self, _: &str, _: &str) {
            self.at.exit();
        }
        fn visit_float<const D: usize>(&mut self, p: &Param<Tensor<D>>) {
            let t = p.val();
            self.out
                .push((self.at.name(), t.dims().to_vec(), values(t)));
        }
    }
    let mut v = V {
        at: PathStack::new(),
        out: Vec::new(),
    };
    m.visit(&mut v);
    v.out
}

/// `m` with every float tensor replaced by the dataset of the same [`named`] name in `group`
/// (shape checked); the first missing or mis-shaped dataset is the error.
pub fn load_named<M: burn::module::Module>(m: M, group: &hdf5::Group) -> anyhow::Result<M> {
    from_source(m, &mut |name, shape| read_values(group, name, shape))
}

/// Where [`from_source`] gets a tensor's values: `(name, shape) → values`.
pub type Source<'a> = dyn FnMut(&str, &[usize]) -> anyhow::Result<Vec<f32>> + 'a;

/// `m` with every float tensor replaced by `source(name, shape)` (the [`named`] names): the
/// HDF5 reader above, or an importer that maps another framework's names.
pub fn from_source<M: burn::module::Module>(m: M, source: &mut Source<'_>) -> anyhow::Result<M> {
    struct Mp<'a> {
        at: PathStack,
        source: &'a mut Source<'a>,
        error: Option<anyhow::Error>,
    }
    impl burn::module::ModuleMapper for Mp<'_> {
        fn enter_module(&mut self, name: &str, kind: &str) {
            self.at.enter(name, kind);
        }
        fn exit_module(&mut self, _: &str, _: &str) {
            self.at.exit();
        }
        fn map_float<const D: usize>(&mut self, p: Param<Tensor<D>>) -> Param<Tensor<D>> {
            if self.error.is_some() {
                return p;
            }
            let name = self.at.name();
            let dims = p.val().dims();
            match (self.source)(&name, &dims) {
                Ok(v) => p.map(|t| {
                    let device = t.device();
                    let fresh = Tensor::<D>::from_data(TensorData::new(v, dims), &device);
                    if t.is_require_grad() {
                        fresh.require_grad()
                    } else {
                        fresh
                    }
                }),
                Err(e) => {
                    self.error = Some(e);
                    p
                }
            }
        }
    }
    let mut mp = Mp {
        at: PathStack::new(),
        source,
        error: None,
    };
    let m = m.map(&mut mp);
    match mp.error {
        Some(e) => Err(e),
        None => Ok(m),
    }
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
