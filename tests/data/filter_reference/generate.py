"""Reference vectors for quakeline's Butterworth + sosfilt/sosfiltfilt (tests/filter_reference.rs).

Run with SciPy (python3 generate.py); the JSON files are committed, so the tests need no Python.
Inputs: the Z component of Boulder (BOU) 1-minute data, 2014-11-01 (tests/data/iaga2002), and
seeded Gaussian noise. Floats are written with repr(), which round-trips exactly.
"""
import json, numpy as np, scipy, scipy.signal as sg

def bou_z():
    rows = [l.split() for l in open("../iaga2002/bou20141101vmin.min") if l[:4] == "2014"]
    return np.array([float(r[5]) for r in rows])

rng = np.random.default_rng(20261122)
noise = rng.standard_normal(512).cumsum() + rng.standard_normal(512)
z = bou_z()
cases = [
    ("bou_highpass4_zerophase", z, 1 / 60, "highpass", [0.0002], 4, True, None),
    ("bou_lowpass4_zerophase", z, 1 / 60, "lowpass", [0.001], 4, True, None),
    ("bou_bandpass2_zerophase", z, 1 / 60, "bandpass", [0.0002, 0.002], 2, True, None),
    ("noise_bandpass3_zerophase", noise, 1.0, "bandpass", [0.05, 0.1], 3, True, None),
    ("noise_lowpass5_causal", noise, 1.0, "lowpass", [0.2], 5, False, None),
    ("noise_highpass1_zerophase", noise, 1.0, "highpass", [0.01], 1, True, None),
    ("noise_highpass3_zerophase_short", noise[:12], 1.0, "highpass", [0.1], 3, True, 11),
]
for name, x, fs, btype, corners, order, zero_phase, padlen in cases:
    sos = sg.butter(order, corners[0] if len(corners) == 1 else corners, btype=btype, output="sos", fs=fs)
    if zero_phase:
        y = sg.sosfiltfilt(sos, x, padlen=padlen) if padlen is not None else sg.sosfiltfilt(sos, x)
    else:
        y = sg.sosfilt(sos, x)
    ntaps = 2 * len(sos) + 1 - min((sos[:, 2] == 0).sum(), (sos[:, 5] == 0).sum())
    json.dump({"scipy": scipy.__version__, "fs_hz": fs, "type": btype, "corners_hz": corners, "order": order,
               "zero_phase": zero_phase, "padlen": int(padlen if padlen is not None else 3 * ntaps),
               "sos": sos.tolist(), "input": x.tolist(), "output": y.tolist()},
              open(name + ".json", "w"))

# End-to-end case for the gapfill + filter stages: BOU 2014-11-01 with a 2-minute gap (rows 300-301,
# filled with the series mean of each component, P&M 2022) and a 10-minute gap (rows 600-609, kept as
# NaN), written as an IAGA-2002 file; the filter runs on each finite segment separately.
lines = open("../iaga2002/bou20141101vmin.min").read().splitlines(keepends=True)
first = next(i for i, l in enumerate(lines) if l[:4] == "2014")
for r in list(range(300, 302)) + list(range(600, 610)):
    l = lines[first + r]
    lines[first + r] = l[:31] + "".join("  99999.00" for _ in range(4)) + "\n"
open("../iaga2002_gaps/bou20141101_gaps.min", "w").write("".join(lines))
zg = z.copy()
zg[300:302] = np.nan
zg[600:610] = np.nan
zg[300:302] = np.nanmean(zg)
sos = sg.butter(4, 0.0002, btype="highpass", output="sos", fs=1 / 60)
y = np.full_like(zg, np.nan)
y[:600] = sg.sosfiltfilt(sos, zg[:600])
y[610:] = sg.sosfiltfilt(sos, zg[610:])
json.dump({"scipy": scipy.__version__, "component": "Z", "filled": [None if np.isnan(v) else v for v in zg],
           "output": [None if np.isnan(v) else v for v in y]}, open("bou_gaps_gapfill_highpass4.json", "w"))
