"""ObsPy's reading of the StationXML files here (tests/inventory.rs): python generate.py.

The .xml files are ObsPy 1.5.1's StationXML test files (obspy/io/stationxml/tests/data, LGPL-3.0).
Writes reference.json: per file, per channel epoch, the codes, epoch (ns), coordinates,
orientation, sample rate and overall sensitivity as obspy.read_inventory gives them.
"""
import glob, json, os
import obspy

out = {"obspy": obspy.__version__, "files": {}}
for f in sorted(glob.glob("*.xml")):
    inv = obspy.read_inventory(f)
    rows = []
    for n in inv:
        for s in n:
            for c in s:
                r = c.response
                se = r.instrument_sensitivity if r is not None else None
                rows.append(dict(
                    id=f"{n.code}.{s.code}.{c.location_code}.{c.code}",
                    start_ns=c.start_date.ns if c.start_date else None,
                    end_ns=c.end_date.ns if c.end_date else None,
                    latitude=c.latitude, longitude=c.longitude, elevation=c.elevation,
                    depth=c.depth, azimuth=c.azimuth, dip=c.dip, sample_rate=c.sample_rate,
                    sensitivity=None if se is None or se.value is None else dict(
                        value=se.value, frequency=se.frequency, input_units=se.input_units,
                        output_units=se.output_units)))
    out["files"][os.path.basename(f)] = rows
json.dump(out, open("reference.json", "w"), indent=1)
