"""Reference values for tests/waveforms.rs, computed with NumPy and h5py from the committed files.

Run from this directory: python generate.py (writes reference.json). Each trace: the `data` array
cast to float32 (what a waveform set stores), columns E,N,Z reordered to Z,N,E; per component the
float64 sum and sum of squares of the float32 values, three samples, and whether it is non-zero.
"""
import glob, json, os
import numpy as np, h5py

out = {"numpy": np.__version__, "h5py": h5py.__version__, "npz": {}, "seisbench": {}}
def summary(zne):
    return {
        "sum": [float(np.sum(c.astype(np.float64))) for c in zne],
        "sum_sq": [float(np.sum(c.astype(np.float64) ** 2)) for c in zne],
        "at_0_3000_9000": [[float(c[i]) for i in (0, 3000, 9000)] for c in zne],
        "present": [bool(np.any(c != 0)) for c in zne],
    }
for f in sorted(glob.glob("phasenet_npz/*.npz")):
    z = np.load(f)
    zne = z["data"].astype(np.float32)[:, ::-1].T
    out["npz"][os.path.basename(f)[:-4]] = dict(
        summary(zne), samples=int(z["data"].shape[0]), itp=int(z["itp"]), its=int(z["its"]),
        channels=str(z["channels"]))
with h5py.File("seisbench/waveforms.hdf5") as h:
    b = h["data/bucket0"][...]
    out["seisbench"]["bucket0_shape"] = list(b.shape)
    out["seisbench"]["component_order"] = h["data_format/component_order"][()].decode()
    out["seisbench"]["traces"] = [summary(b[i]) for i in range(b.shape[0])]
json.dump(out, open("reference.json", "w"), indent=1)
