"""Reference fits of err(n) = a*n**-b + c by scipy.optimize.curve_fit for tests/learning_curve.rs.

Run: python3 generate.py > reference.json   (SciPy >= 1.10, NumPy)
Method 'lm' (MINPACK), absolute_sigma=False: perr = sqrt(diag(pcov)), pcov = inv(J^T J) * SSR/(m-3).
"""
import json

import numpy as np
import scipy
from scipy.optimize import curve_fit


def law(n, a, b, c):
    return a * n ** (-b) + c


rng = np.random.default_rng(20221)
cases = []
# Well-posed curves: a true law plus noise, at learning-curve sizes.
for name, sizes, (a, b, c), noise in [
    ("steep", [50, 100, 200, 400, 800, 1600], (3.0, 0.6, 0.04), 0.004),
    ("shallow", [120, 240, 360, 600, 840, 1200], (1.2, 0.35, 0.02), 0.003),
    ("cnn_like", [110, 220, 330, 550, 770, 1100, 1400], (9.0, 0.8, 0.03), 0.006),
    ("eight_points", [30, 60, 90, 150, 300, 600, 900, 1500], (0.9, 0.5, 0.1), 0.002),
]:
    n = np.array(sizes, dtype=float)
    e = law(n, a, b, c) + rng.normal(0, noise, len(n))
    p0 = [1.0, 0.5, e.min() / 2]
    popt, pcov = curve_fit(law, n, e, p0=p0, maxfev=100000, ftol=1e-15, xtol=1e-15, gtol=1e-15)
    cases.append(
        {
            "name": name,
            "n": n.tolist(),
            "err": e.tolist(),
            "popt": popt.tolist(),
            "perr": np.sqrt(np.diag(pcov)).tolist(),
            "ssr": float(((law(n, *popt) - e) ** 2).sum()),
        }
    )
# A saturating curve with an error of exactly 0 (validation errors of pipelines/geomag-synthetic.toml's
# learning curve at quakeline 967b6c8): the fit must not depend on a logarithm of the errors.
n = np.array([44, 88, 176, 352, 616, 880], dtype=float)
e = np.array([5, 3, 1, 1, 1, 0], dtype=float) / 320
popt, pcov = curve_fit(law, n, e, p0=[1.0, 0.5, 0.0], maxfev=100000, ftol=1e-15, xtol=1e-15, gtol=1e-15)
cases.append(
    {
        "name": "saturating_with_zero_error",
        "n": n.tolist(),
        "err": e.tolist(),
        "popt": popt.tolist(),
        "perr": np.sqrt(np.diag(pcov)).tolist(),
        "ssr": float(((law(n, *popt) - e) ** 2).sum()),
    }
)
print(json.dumps({"scipy": scipy.__version__, "numpy": np.__version__, "cases": cases}, indent=1))
