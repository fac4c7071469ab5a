"""scipy.signal.find_peaks reference for quakeline's pick detection (src/labeling/picks.rs).

Curves like a picker's output: Gaussian bumps of random height and width on low noise, some
with flat (clipped) tops, some bumps closer than the minimum distance; stored as float32 values
(the detector reads float32). Run: python generate.py   (numpy, scipy; versions in the JSON)
"""
import json
import pathlib

import numpy as np
import scipy
from scipy.signal import find_peaks

rng = np.random.default_rng(2023)
cases = []
for k in range(9):
    n = 3000
    t = np.arange(n)
    c = rng.uniform(0, 0.05, n)
    for _ in range(rng.integers(1, 8)):
        c += rng.uniform(0.1, 1.0) * np.exp(-0.5 * ((t - rng.uniform(0, n)) / rng.uniform(2, 30)) ** 2)
    if k % 3 == 0:
        c = np.minimum(c, 0.6)  # flat tops
    # No two separate maxima at exactly 1.0: SciPy's order among equal heights follows NumPy's
    # unstable argsort and is not specified.
    c = (c / max(1.0, c.max() / 0.999)).astype(np.float32)
    found = []
    for threshold, distance in [(0.3, 50), (0.1, 1), (0.5, 200), (0.05, 10)]:
        peaks, _ = find_peaks(c, height=threshold, distance=distance)
        found.append({"threshold": threshold, "distance": distance, "peaks": peaks.tolist()})
    # float32 values written in their shortest round-trip form
    cases.append({"curve": [float(str(v)) for v in c], "found": found})
out = {"generator": "tests/data/picks/generate.py", "numpy": np.__version__,
       "scipy": scipy.__version__, "cases": cases}
(pathlib.Path(__file__).parent / "find_peaks_reference.json").write_text(json.dumps(out))
print(sum(len(f["peaks"]) for c in cases for f in c["found"]), "peaks in", len(cases), "curves")
