"""QuakeML 1.2 pick files and ObsPy's reading of them (tests/mseed.rs, src/io/picks/quakeml.rs).

Run from this directory with ObsPy: python generate_quakeml.py. Writes
  mseed/picks.quakeml.xml        an event at BK.BKS written by ObsPy's QuakeML writer: origin,
                                 two magnitudes (the preferred ML 2.7), the analyst picks of
                                 picks.csv as manual Pg (HHZ) and Sg (HHE), an automatic P 0.12 s
                                 later, a PKP and a pick without a phase hint (both left out);
  mseed/bks.stationxml.xml       StationXML of BK.BKS..HH[ZNE] (BKS's published coordinates,
                                 one epoch from 2000, an overall sensitivity per channel), by
                                 ObsPy's StationXML writer;
  quakeml_reference.json         ObsPy's read_events of it and of ObsPy's quakeml_1.2_pick.xml:
                                 per pick the trace id, phase hint, evaluation mode and time (ns);
                                 the event's epicentral distance to BKS (gps2dist_azimuth,
                                 geographiclib); three_component.mseed in m/s after ObsPy's
                                 remove_sensitivity (every 100th sample).
"""
import json
from obspy import UTCDateTime, read_events
from obspy.core.event import (Catalog, Event, Origin, Magnitude, Pick, WaveformStreamID,
                              ResourceIdentifier)

rows = [l.strip().split(",") for l in open("mseed/picks.csv")][1:]
p_time, s_time = UTCDateTime(rows[0][2]), UTCDateTime(rows[1][2])
ev = Event(resource_id=ResourceIdentifier("smi:quakeline/event/bks-2017"))
ev.origins.append(Origin(time=p_time - 4.2, latitude=37.9, longitude=-122.1, depth=8000.0))
ml = Magnitude(mag=2.7, magnitude_type="ML")
md = Magnitude(mag=2.5, magnitude_type="Md")
ev.magnitudes += [md, ml]
ev.preferred_magnitude_id = ml.resource_id
wid = lambda cha: WaveformStreamID(network_code="BK", station_code="BKS", location_code="",
                                   channel_code=cha)
ev.picks += [
    Pick(time=p_time, waveform_id=wid("HHZ"), phase_hint="Pg", evaluation_mode="manual"),
    Pick(time=s_time, waveform_id=wid("HHE"), phase_hint="Sg", evaluation_mode="manual"),
    Pick(time=p_time + 0.12, waveform_id=wid("HHZ"), phase_hint="P", evaluation_mode="automatic"),
    Pick(time=p_time + 20.0, waveform_id=wid("HHZ"), phase_hint="PKP", evaluation_mode="manual"),
    Pick(time=p_time + 1.0, waveform_id=wid("HHZ"), evaluation_mode="manual"),
]
Catalog(events=[ev]).write("mseed/picks.quakeml.xml", format="QUAKEML")

out = {}
for f in ("mseed/picks.quakeml.xml", "mseed/quakeml_1.2_pick.xml"):
    cat = read_events(f)
    picks = []
    for e in cat:
        pm = e.preferred_magnitude() or (e.magnitudes[0] if e.magnitudes else None)
        for p in e.picks:
            w = p.waveform_id
            picks.append(dict(network=w.network_code, station=w.station_code,
                              location=w.location_code or "", channel=w.channel_code or "",
                              phase_hint=p.phase_hint, mode=p.evaluation_mode, time_ns=p.time.ns,
                              magnitude=pm.mag if pm else None))
    out[f.split("/")[1]] = picks
from obspy.core.inventory import Inventory, Network, Station, Channel, Response
from obspy.core.inventory.response import InstrumentSensitivity
from obspy.geodetics import gps2dist_azimuth
lat, lon, elev = 37.87622, -122.23558, 243.9
chans = [Channel(code="HH" + c, location_code="", latitude=lat, longitude=lon, elevation=elev,
                 depth=0.0, azimuth=az, dip=dip, sample_rate=100.0,
                 start_date=UTCDateTime("2000-01-01"),
                 response=Response(instrument_sensitivity=InstrumentSensitivity(
                     value=sens, frequency=1.0, input_units="M/S", output_units="COUNTS")))
         for c, az, dip, sens in (("Z", 0.0, -90.0, 6.27192e8), ("N", 0.0, 0.0, 6.30448e8),
                                  ("E", 90.0, 0.0, 6.28913e8))]
inv = Inventory(networks=[Network("BK", stations=[Station("BKS", lat, lon, elev, channels=chans)])],
                source="quakeline tests")
inv.write("mseed/bks.stationxml.xml", format="STATIONXML")
o = ev.origins[0]
out["bks_distance_km"] = gps2dist_azimuth(o.latitude, o.longitude, lat, lon)[0] / 1000.0
# Counts to m/s by each channel's overall sensitivity: the data divided by the channel's
# instrument_sensitivity.value, what Trace.remove_sensitivity does (which needs response stages
# this file does not have), on ObsPy's decoding and inventory reading; every 100th sample.
from obspy import read, read_inventory
st = read("mseed/three_component.mseed")
inv = read_inventory("mseed/bks.stationxml.xml")
ms = {}
for tr in st:
    tr.data = tr.data / inv.get_response(tr.id, tr.stats.starttime).instrument_sensitivity.value
    ms.setdefault(tr.stats.channel, []).append(dict(start_ns=tr.stats.starttime.ns,
                                                     every_100th=[float(v) for v in tr.data[::100]]))
out["bks_m_per_s"] = ms
out["bks_sensitivity"] = {"HHZ": 6.27192e8, "HHN": 6.30448e8, "HHE": 6.28913e8}
json.dump(out, open("quakeml_reference.json", "w"), indent=1)
