"""Reference values for the miniSEED reader and the resampler (tests/waveforms.rs, src/signal).

Run from this directory with ObsPy and SciPy: python generate_mseed.py. Writes
  mseed/three_component.mseed  BK.BKS..HH[ZNE], Steim2, 100 Hz, from the PhaseNet trace
                               phasenet_npz/BK_BKS_2017071510492061.npz rounded to integers, with
                               samples 4000..4099 of HHN removed (a 1-s gap) and HHE starting
                               2 s late;
  mseed/picks.csv              its analyst picks as a SeisBench-style pick file (trace, phase, time);
  mseed/corrupt_steim.mseed    steim2.mseed with one data frame overwritten (decoding must fail);
  (mseed/brokenlastrecord.mseed is ObsPy's test file, copied: one record, then an unreadable tail;
   its decoding and ObsPy's warnings are mseed_reference.json's broken_last_record)
  mseed_reference.json         ObsPy's decoding of every mseed/ file (per trace: id, start, rate,
                               sample count, sums, first and last samples; the full samples of the
                               small files), and scipy.signal.resample_poly of real samples.
"""
import glob, json, os
import numpy as np, obspy, scipy, scipy.signal
from obspy import Stream, Trace, UTCDateTime

z = np.load("phasenet_npz/BK_BKS_2017071510492061.npz")
d = np.rint(z["data"]).astype(np.int32)  # E, N, Z columns
start = UTCDateTime("2017-07-15T10:49:20.610000Z")
st = Stream()
for col, comp in ((2, "Z"), (1, "N"), (0, "E")):
    x = d[:, col]
    h = dict(network="BK", station="BKS", location="", channel="HH" + comp, sampling_rate=100.0)
    if comp == "N":
        st += Trace(x[:4000].copy(), dict(h, starttime=start))
        st += Trace(x[4100:].copy(), dict(h, starttime=start + 41.0))
    elif comp == "E":
        st += Trace(x[200:].copy(), dict(h, starttime=start + 2.0))
    else:
        st += Trace(x.copy(), dict(h, starttime=start))
st.write("mseed/three_component.mseed", format="MSEED", encoding="STEIM2", reclen=512)
with open("mseed/picks.csv", "w") as f:
    f.write("trace,phase,time\n")
    f.write(f"BK.BKS..HH,P,{start + int(z['itp']) / 100.0}\n")
    f.write(f"BK.BKS..HH,S,{start + int(z['its']) / 100.0}\n")

raw = bytearray(open("mseed/steim2.mseed", "rb").read())
raw[64 + 2 * 64: 64 + 3 * 64] = bytes([0xA5]) * 64  # a damaged frame in the first record
open("mseed/corrupt_steim.mseed", "wb").write(raw)

out = {"obspy": obspy.__version__, "scipy": scipy.__version__, "numpy": np.__version__,
       "mseed": {}, "resample_poly": []}
for f in sorted(glob.glob("mseed/*")):
    if f.endswith(".csv") or "corrupt" in f or "fuzz" in f or "broken" in f:
        continue
    traces = []
    for tr in obspy.read(f):
        x = tr.data.astype(np.int64)
        t = dict(id=tr.id, start=str(tr.stats.starttime), start_ns=tr.stats.starttime.ns,
                 rate=tr.stats.sampling_rate, npts=int(tr.stats.npts),
                 encoding=tr.stats.mseed.encoding, sum=int(x.sum()), sum_sq=int((x * x).sum()),
                 first=[int(v) for v in x[:10]], last=[int(v) for v in x[-10:]])
        if tr.stats.npts <= 6000:
            t["samples"] = [int(v) for v in x]
        traces.append(t)
    out["mseed"][os.path.basename(f)] = traces

# resample_poly (default window ('kaiser', 5.0), padtype 'constant') on real samples: the first
# samples 2700..3299 of BK.BKS (around the P arrival)'s Z (float64) and the first 600 of steim2.mseed.
zx = z["data"][2700:3300, 2].astype(np.float64)
sx = obspy.read("mseed/steim2.mseed")[0].data[:600].astype(np.float64)
for name, x in (("bks_z", zx), ("steim2", sx)):
    for up, down in ((1, 2), (2, 1), (5, 2), (2, 5), (4, 5), (1, 3), (3, 1), (1, 1)):
        y = scipy.signal.resample_poly(x, up, down)
        out["resample_poly"].append(dict(input=name, up=up, down=down, n_in=len(x),
                                         y=[float(v) for v in y]))
out["resample_inputs"] = {"bks_z": [float(v) for v in zx], "steim2": [float(v) for v in sx]}
# steim2.mseed (40 Hz) to 100 Hz as fetch.waveforms does it: up 5, down 2, every 100th sample.
y = scipy.signal.resample_poly(obspy.read("mseed/steim2.mseed")[0].data.astype(np.float64), 5, 2)
out["steim2_to_100hz"] = dict(n=len(y), every_100th=[float(v) for v in y[::100]])
# ObsPy's test file with an unreadable tail (a live archive's day file is cut like it): ObsPy reads
# the complete record and warns about the bytes it skips.
import warnings
with warnings.catch_warnings(record=True) as w:
    warnings.simplefilter("always")
    tr = obspy.read("mseed/brokenlastrecord.mseed")[0]
x = tr.data.astype(np.int64)
out["broken_last_record"] = dict(id=tr.id, start_ns=tr.stats.starttime.ns, rate=tr.stats.sampling_rate,
                                 npts=int(tr.stats.npts), sum=int(x.sum()), first=[int(v) for v in x[:10]],
                                 last=[int(v) for v in x[-10:]], size=os.path.getsize("mseed/brokenlastrecord.mseed"),
                                 warnings=[str(m.message) for m in w])
json.dump(out, open("mseed_reference.json", "w"))

# filter on a waveform set: Butterworth band-pass 1-45 Hz, order 4, zero phase, on the float32
# values a set stores (BK.BKS Z, all 9001 samples; every 50th sample committed), as the `filter`
# stage applies it to each component (SciPy's default padding).
zf = z["data"][:, 2].astype(np.float32).astype(np.float64)
sos = scipy.signal.butter(4, [1.0, 45.0], btype="bandpass", fs=100.0, output="sos")
y = scipy.signal.sosfiltfilt(sos, zf)
out["bandpass_1_45_bks_z"] = dict(every_50th=[float(v) for v in y[::50]])
json.dump(out, open("mseed_reference.json", "w"))
