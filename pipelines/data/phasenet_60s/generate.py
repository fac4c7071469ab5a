"""The 124 PhaseNet example traces as a SeisBench dataset of 60-s windows (pipelines/kfpicker*.toml).

Source: github:AI4EPS/PhaseNet dataset/waveform_train (MIT), as copied to ../shared/data/waveforms/
phasenet_npz: 90 s at 100 Hz, `data` (9001, 3) float64 E, N, Z, analyst P at sample 3000 (`itp`)
and S (`its`). Each trace is cut to samples [itp - 2950, itp + 3050) (P at 29.5 s, so a 30-s
window can put P anywhere from 1 to 29 s: Hong et al. 2023 Fig. 7), stored float32 Z, N, E in
one SeisBench bucket (gzip + shuffle), with SeisBench metadata columns. No split column: the
pipelines split by station with split.waveforms.

Run: python generate.py [SOURCE_DIR]   (numpy, h5py)
"""
import csv
import pathlib
import sys

import h5py
import numpy as np

HERE = pathlib.Path(__file__).parent
SRC = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else HERE / "../../../../shared/data/waveforms/phasenet_npz")
BEFORE, LENGTH = 2950, 6000

rows = {r["fname"]: r for r in csv.DictReader(open(SRC / "waveform.csv"))}
files = sorted(p for p in SRC.glob("*.npz"))
data = np.zeros((len(files), 3, LENGTH), dtype=np.float32)
meta = []
for i, f in enumerate(files):
    z = np.load(f)
    itp, its = int(z["itp"]), int(z["its"])
    start = itp - BEFORE
    assert start >= 0 and start + LENGTH <= z["data"].shape[0], f
    enz = z["data"][start:start + LENGTH].astype(np.float32)
    data[i] = enz[:, ::-1].T  # Z, N, E
    net, sta = f.stem.split("_")[:2]
    channels = rows[f.name]["channels"]
    band = channels.split("_")[0][:2]
    meta.append({
        "trace_name": f"bucket0${i},:3,:{LENGTH}",
        "trace_name_original": f.stem,
        "station_network_code": net,
        "station_code": sta,
        "trace_channel": band,
        "trace_components_available": channels,
        "trace_sampling_rate_hz": 100.0,
        "trace_npts": LENGTH,
        "trace_p_arrival_sample": itp - start,
        "trace_s_arrival_sample": its - start,
        "trace_p_status": "manual",
        "trace_s_status": "manual",
    })

with h5py.File(HERE / "waveforms.hdf5", "w") as h:
    h.create_dataset("data/bucket0", data=data, compression="gzip", compression_opts=9, shuffle=True,
                     chunks=(1, 3, LENGTH))
    fmt = h.create_group("data_format")
    fmt["component_order"] = "ZNE"
    fmt["dimension_order"] = "CW"
    fmt["measurement"] = "velocity"
    fmt["unit"] = "counts"
    fmt["instrument_response"] = "not restituted"
    fmt["sampling_rate"] = 100
with open(HERE / "metadata.csv", "w", newline="") as out:
    w = csv.DictWriter(out, fieldnames=list(meta[0]))
    w.writeheader()
    w.writerows(meta)
print(len(meta), "traces")
