"""Reference WGS84 geodesic distances for quakeline's src/geo.rs (tests/geo.rs).
geographiclib (Karney 2013) is the reference ObsPy's gps2dist_azimuth uses. python3 generate.py."""
import json, geographiclib
from geographiclib.geodesic import Geodesic
pairs = [
    (40.137, -105.236, 40.137, -105.236),   # same point
    (40.137, -105.236, 41.5, -104.0),       # BOU to ~180 km
    (45.491, 25.945, 45.7, 26.6),           # MLR to Vrancea
    (41.390, 14.280, 42.35, 13.40),         # DUR to L'Aquila
    (40.500, 29.720, 40.76, 29.97),         # IZN to Izmit
    (0.0, 0.0, 0.0, 1.0),                   # one degree of equator
    (-33.0, -71.0, 35.0, 139.0),            # trans-Pacific
    (89.9, 0.0, -89.9, 180.0),              # pole to pole
    (10.0, 20.0, -10.0, -159.5),            # nearly antipodal
]
out = [{"lat1": a, "lon1": b, "lat2": c, "lon2": d, "km": Geodesic.WGS84.Inverse(a, b, c, d)["s12"] / 1000} for a, b, c, d in pairs]
json.dump({"geographiclib": geographiclib.__version__, "pairs": out}, open("wgs84_distances.json", "w"), indent=1)
