"""Kagan angles between random double couples, computed with pyrocko (independent reference for
quakeline's focal::kagan_angle). Run: python3 generate.py > kagan_pyrocko.csv"""
import random
import pyrocko
from pyrocko import moment_tensor as pmt

random.seed(20211122)
print(f"# pyrocko {pyrocko.__version__} moment_tensor.kagan_angle; strike1,dip1,rake1,strike2,dip2,rake2,kagan_deg")
pairs = []
for _ in range(300):
    a = (random.uniform(0, 360), random.uniform(0, 90), random.uniform(-180, 180))
    if random.random() < 0.3:  # near pairs, the regime FMNet errors live in
        b = (a[0] + random.gauss(0, 15), min(90, max(0, a[1] + random.gauss(0, 10))), a[2] + random.gauss(0, 15))
    else:
        b = (random.uniform(0, 360), random.uniform(0, 90), random.uniform(-180, 180))
    pairs.append((a, b))
# the two nodal planes of one mechanism describe the same double couple
pairs.append(((30, 60, 90), (210, 30, 90)))
for a, b in pairs:
    k = pmt.kagan_angle(pmt.MomentTensor(strike=a[0], dip=a[1], rake=a[2]), pmt.MomentTensor(strike=b[0], dip=b[1], rake=b[2]))
    print(",".join(f"{v:.6f}" for v in (*a, *b, k)))
