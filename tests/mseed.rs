//! miniSEED through libmseed: every committed ObsPy test file decoded as ObsPy decodes it (Steim1,
//! Steim2, gaps; `tests/data/waveforms/generate_mseed.py`), a 3-C station with a pick file into a
//! labelled waveform set, resampling to the set's rate against SciPy, and damaged input.

use std::path::{Path, PathBuf};

use quakeline::data::waveform_set;
use quakeline::io::waveforms::mseed;
use serde_json::Value;

use crate::util::{Env, data_dir};
use crate::waveforms::{bad, fetch, run_set};

fn reference() -> Value {
    serde_json::from_str(
        &std::fs::read_to_string(data_dir().join("waveforms/mseed_reference.json")).unwrap(),
    )
    .unwrap()
}

fn file(name: &str) -> PathBuf {
    data_dir().join("waveforms/mseed").join(name)
}

fn pipeline(paths: &[&Path], extra: &str) -> String {
    fetch("mseed", paths, extra)
}

fn ints(v: &Value) -> Vec<i64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_i64().unwrap())
        .collect()
}

/// Each file's station trace against ObsPy's traces of it: the same start, rate, and every
/// ObsPy segment's samples at its place on the grid (sums, sums of squares, first and last ten,
/// every sample of the small files), NaN wherever ObsPy has no segment.
#[test]
fn every_obspy_test_file_decodes_as_obspy_decodes_it() {
    let r = reference();
    let files = r["mseed"].as_object().unwrap();
    assert_eq!(files.len(), 5);
    for (name, traces) in files {
        let bytes = std::fs::read(file(name)).unwrap();
        let stations = mseed::read_stations(&[(name.clone(), bytes)], 60_000_000_000).unwrap();
        let traces = traces.as_array().unwrap();
        assert_eq!(stations.len(), 1, "{name}");
        let st = &stations[0];
        let first = &traces[0];
        let id = first["id"].as_str().unwrap();
        assert_eq!(st.station.id, &id[..id.len() - 1], "{name}");
        assert_eq!(
            st.station.name,
            format!(
                "{}_{}",
                st.station.id,
                quakeline::time::format_rfc3339(st.station.start_ns)
            )
        );
        assert_eq!(
            st.station.rate_hz,
            first["rate"].as_f64().unwrap(),
            "{name}"
        );
        let t0 = traces
            .iter()
            .map(|t| t["start_ns"].as_i64().unwrap())
            .min()
            .unwrap();
        assert_eq!(st.station.start_ns, t0, "{name}");
        let mut covered = [0usize; 3];
        for t in traces {
            let id = t["id"].as_str().unwrap();
            let comp = match id.chars().last().unwrap() {
                'Z' => 0,
                'N' | '1' => 1,
                _ => 2,
            };
            assert!(st.station.present[comp], "{name} {id}");
            let at = ((t["start_ns"].as_i64().unwrap() - t0) as f64 * st.station.rate_hz / 1e9)
                .round() as usize;
            let n = t["npts"].as_u64().unwrap() as usize;
            let seg: Vec<i64> = st.data[comp][at..at + n]
                .iter()
                .map(|v| {
                    assert!(v.fract() == 0.0, "{name}: {v}");
                    *v as i64
                })
                .collect();
            covered[comp] += n;
            assert_eq!(
                seg.iter().sum::<i64>(),
                t["sum"].as_i64().unwrap(),
                "{name} {id}"
            );
            assert_eq!(
                seg.iter().map(|v| v * v).sum::<i64>(),
                t["sum_sq"].as_i64().unwrap(),
                "{name} {id}"
            );
            assert_eq!(seg[..10], ints(&t["first"])[..], "{name} {id}");
            assert_eq!(seg[n - 10..], ints(&t["last"])[..], "{name} {id}");
            if !t["samples"].is_null() {
                assert_eq!(seg, ints(&t["samples"]), "{name} {id}");
            }
        }
        for (c, (data, covered)) in st.data.iter().zip(covered).enumerate() {
            let finite = data.iter().filter(|v| v.is_finite()).count();
            assert_eq!(
                finite, covered,
                "{name}: component {c}: samples outside ObsPy's"
            );
        }
    }
    // The file with gaps: four segments, three gaps between them, NaN.
    let bytes = std::fs::read(file("gaps.mseed")).unwrap();
    let st =
        &mseed::read_stations(&[("gaps.mseed".to_string(), bytes)], 60_000_000_000).unwrap()[0];
    let gaps = quakeline::signal::segments::gap_runs(&st.data[2]);
    assert_eq!(gaps.len(), 3, "{gaps:?}");
}

/// The same station and pick file downloaded (`urls` pinned by BLAKE3, from a server on
/// 127.0.0.1) make the same labelled trace as the local files: the downloads are read once and
/// kept for decoding, where local files are read again per station.
#[test]
fn miniseed_downloads_make_the_same_set_as_the_local_files() {
    let env = Env::new();
    let names = ["three_component.mseed", "picks.csv"];
    let bodies: Vec<Vec<u8>> = names
        .iter()
        .map(|n| std::fs::read(file(n)).unwrap())
        .collect();
    let (port, _) = crate::util::serve(
        names
            .iter()
            .zip(&bodies)
            .map(|(n, b)| (format!("/{n} "), b.clone()))
            .collect(),
        2,
    );
    let urls: Vec<String> = names
        .iter()
        .map(|n| format!("\"http://127.0.0.1:{port}/{n}\""))
        .collect();
    let pins: Vec<String> = bodies
        .iter()
        .map(|b| format!("\"{}\"", blake3::hash(b).to_hex()))
        .collect();
    let remote = run_set(
        &env,
        &format!(
            "[pipeline]\nname = \"wf\"\n\n[stage.w]\nkind = \"fetch.waveforms\"\nformat = \"mseed\"\nurls = [{}]\nblake3 = [{}]\n",
            urls.join(", "),
            pins.join(", ")
        ),
    );
    let local = run_set(
        &Env::new(),
        &pipeline(&[&file("three_component.mseed"), &file("picks.csv")], ""),
    );
    assert!(remote.waveforms.len() == local.waveforms.len());
    assert!(
        remote
            .waveforms
            .iter()
            .zip(&local.waveforms)
            .all(|(a, b)| a == b || (a.is_nan() && b.is_nan())),
        "the downloaded set differs"
    );
    // Debug text: NaN distance and magnitude compare equal there.
    assert_eq!(
        format!("{:?}", remote.traces),
        format!("{:?}", local.traces)
    );
}

#[test]
fn a_three_component_station_with_a_pick_file_becomes_a_labelled_trace() {
    let env = Env::new();
    let set = run_set(
        &env,
        &pipeline(&[&file("three_component.mseed"), &file("picks.csv")], ""),
    );
    assert_eq!(
        (set.len(), set.samples, set.sampling_rate_hz),
        (1, 9001, 100.0)
    );
    let t = &set.traces[0];
    assert_eq!(
        (
            t.name.as_str(),
            t.network.as_str(),
            t.station.as_str(),
            t.channel.as_str()
        ),
        ("BK.BKS..HH_2017-07-15T10:49:20.610Z", "BK", "BKS", "HH")
    );
    assert_eq!(t.present, [true, true, true]);
    // The PhaseNet trace's analyst picks (itp 3000, its 3095), placed from their times.
    let npz: Value = serde_json::from_str(
        &std::fs::read_to_string(data_dir().join("waveforms/reference.json")).unwrap(),
    )
    .unwrap();
    let want = &npz["npz"]["BK_BKS_2017071510492061"];
    assert!(
        (t.p_sample - want["itp"].as_f64().unwrap()).abs() < 1e-6,
        "{}",
        t.p_sample
    );
    assert!(
        (t.s_sample - want["its"].as_f64().unwrap()).abs() < 1e-6,
        "{}",
        t.s_sample
    );
    let x = set.trace(0);
    let (z, n, e) = (&x[..9001], &x[9001..18002], &x[18002..]);
    assert!(z.iter().all(|v| v.is_finite()));
    // N: the removed second; E: starts two seconds late.
    assert!(n[4000..4100].iter().all(|v| v.is_nan()));
    assert!(n[..4000].iter().chain(&n[4100..]).all(|v| v.is_finite()));
    assert!(e[..200].iter().all(|v| v.is_nan()) && e[200..].iter().all(|v| v.is_finite()));
    // Counts equal the npz values rounded (sums per component against ObsPy's decoding).
    let obspy = &reference()["mseed"]["three_component.mseed"];
    let sum = |c: &[f32]| {
        c.iter()
            .filter(|v| v.is_finite())
            .map(|v| *v as i64)
            .sum::<i64>()
    };
    let by_comp = |comp: char| {
        obspy
            .as_array()
            .unwrap()
            .iter()
            .filter(|t| t["id"].as_str().unwrap().ends_with(comp))
            .map(|t| t["sum"].as_i64().unwrap())
            .sum::<i64>()
    };
    assert_eq!(
        (sum(z), sum(n), sum(e)),
        (by_comp('Z'), by_comp('N'), by_comp('E'))
    );
}

/// Pick files are recognised by their content (the `trace,phase,time` header), whatever their
/// name; a file that is neither miniSEED nor a pick file is refused, saying what it is; and
/// `max_gap_s`, the miniSEED format's own parameter, is refused by name with another format.
#[test]
fn pick_files_are_known_by_their_header_and_other_files_are_refused_by_name() {
    let env = Env::new();
    let d = env.path();
    std::fs::copy(file("picks.csv"), d.join("analyst-picks.txt")).unwrap();
    let set = run_set(
        &env,
        &pipeline(
            &[&file("three_component.mseed"), &d.join("analyst-picks.txt")],
            "",
        ),
    );
    let csv = run_set(
        &Env::new(),
        &pipeline(&[&file("three_component.mseed"), &file("picks.csv")], ""),
    );
    assert_eq!(set.traces[0].p_sample, csv.traces[0].p_sample);
    assert_eq!(set.traces[0].s_sample, csv.traces[0].s_sample);
    assert!(!set.traces[0].p_sample.is_nan());

    // An npz trace among the miniSEED files: named as what it is (a fresh cache: `bad` checks
    // that nothing was committed).
    let env = Env::new();
    let d = env.path();
    let npz = data_dir().join("waveforms/phasenet_npz/BK_BKS_2017071510492061.npz");
    bad(
        &env,
        &pipeline(&[&file("three_component.mseed"), &npz], ""),
        &[
            "BK_BKS_2017071510492061.npz: a PhaseNet .npz trace",
            "format \"mseed\" reads miniSEED files, pick files and station metadata",
        ],
    );
    // A text file that is no format at all: every format tried is named.
    std::fs::write(
        d.join("notes.txt"),
        "station notes\nBKS: new sensor in 2016\n",
    )
    .unwrap();
    bad(
        &env,
        &pipeline(&[&file("three_component.mseed"), &d.join("notes.txt")], ""),
        &[
            "notes.txt: not a waveform file quakeline reads (tried npz",
            "mseed (miniSEED",
            "sac (",
        ],
    );
    // max_gap_s belongs to miniSEED: with npz it is an error at plan time, not a silent key.
    let p = env.write(
        "gap.toml",
        &crate::waveforms::fetch("npz", &[&npz], "max_gap_s = 10\n"),
    );
    let r = env.run(&["plan", p.to_str().unwrap()]);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(
        r.stderr.contains("max_gap_s") && r.stderr.contains("applies to format \"mseed\" only"),
        "{r:?}"
    );
}

/// ObsPy's `brokenlastrecord.mseed` (one record, then 2,206 bytes that are no record, as a live
/// archive's day file ends) reads as ObsPy reads it: the complete record's 5,980 samples, the
/// tail dropped with a warning naming the file and bytes, and listed in the entry. `damaged =
/// "error"` refuses it; a damaged record between readable ones is an error unless `skip`.
#[test]
fn an_unreadable_tail_is_dropped_as_obspy_drops_it_and_a_damaged_middle_is_not() {
    let obspy = &reference()["broken_last_record"];
    let name = "brokenlastrecord.mseed";
    let env = Env::new();
    let p = env.write("wf.toml", &pipeline(&[&file(name)], ""));
    let r = env.run(&["run", p.to_str().unwrap()]);
    assert_eq!(r.code, 0, "{r:?}");
    let size = obspy["size"].as_u64().unwrap();
    assert!(
        r.stderr.contains(&format!(
            "warning: stage `w`: {}: bytes 4096 to {size} (2206 bytes) are no readable miniSEED record and were not read",
            file(name).display()
        )),
        "{r:?}"
    );
    // ObsPy skipped the same bytes: 17 blocks of 128 from 4096, then the last 30.
    let warned = obspy["warnings"].as_array().unwrap();
    assert!(
        warned[0]
            .as_str()
            .unwrap()
            .contains("skip bytes 4096 to 4223")
    );
    assert!(
        warned
            .last()
            .unwrap()
            .as_str()
            .unwrap()
            .contains("Last record only has 30 byte(s)")
    );
    assert_eq!(4096 + 17 * 128 + 30, size);
    let f = env.entry(&p, "w");
    let set = waveform_set::read(&f, "test").unwrap();
    assert_eq!(set.samples, obspy["npts"].as_u64().unwrap() as usize);
    assert_eq!(set.sampling_rate_hz, obspy["rate"].as_f64().unwrap());
    let z: Vec<i64> = set.trace(0)[..set.samples]
        .iter()
        .map(|v| *v as i64)
        .collect();
    assert_eq!(z.iter().sum::<i64>(), obspy["sum"].as_i64().unwrap());
    assert_eq!(&z[..10], ints(&obspy["first"]).as_slice());
    assert_eq!(&z[z.len() - 10..], ints(&obspy["last"]).as_slice());
    let noted: Value =
        serde_json::from_str(&quakeline::h5::read_str_attr(&f, "damaged_bytes").unwrap()).unwrap();
    assert_eq!(noted[0]["file"], name);
    assert_eq!(
        (noted[0]["from"].as_u64(), noted[0]["to"].as_u64()),
        (Some(4096), Some(size))
    );
    assert_eq!(noted[0]["blake3"].as_str().unwrap().len(), 64);

    // Strict: refused, in words (not libmseed's `code=GenericError (-1)`).
    bad(
        &Env::new(),
        &pipeline(&[&file(name)], "damaged = \"error\"\n"),
        &[
            "brokenlastrecord.mseed: byte 4096: not a miniSEED record (neither a SEED 2.4 fixed header nor a miniSEED 3 header starts here)",
        ],
    );
    // A damaged record inside a file: the good record, 128 bytes of garbage, then another
    // station's records (BK.BKS at 100 Hz, resampled to the set's 40 Hz).
    let env = Env::new();
    let mut middle = std::fs::read(file(name)).unwrap()[..4096].to_vec();
    middle.extend_from_slice(&[0x5a; 128]);
    middle.extend(std::fs::read(file("three_component.mseed")).unwrap());
    let m = env.path().join("middle.mseed");
    std::fs::write(&m, &middle).unwrap();
    bad(
        &env,
        &pipeline(&[&m], "sampling_rate_hz = 40.0\n"),
        &[
            "middle.mseed: byte 4096: not a miniSEED record",
            "a readable record follows at byte 4224",
            "damaged = \"skip\"",
        ],
    );
    let set = run_set(
        &env,
        &pipeline(&[&m], "damaged = \"skip\"\nsampling_rate_hz = 40.0\n"),
    );
    assert_eq!(set.len(), 2, "the two stations either side of the damage");
}

/// QuakeML 1.2 picks as ObsPy's `read_events` reads them (`generate_quakeml.py`): ObsPy's own
/// test file and one ObsPy wrote for BK.BKS. P and S phase hints (Pg, Pn, Sg, …) are kept with
/// their times to the nanosecond and their event's preferred magnitude, other phases and picks
/// without a hint are left out, `evaluationMode` filters.
#[test]
fn quakeml_picks_are_read_as_obspy_reads_them() {
    use quakeline::io::picks::quakeml::{self, Mode};
    let reference: Value = serde_json::from_str(
        &std::fs::read_to_string(data_dir().join("waveforms/quakeml_reference.json")).unwrap(),
    )
    .unwrap();
    let files = reference
        .as_object()
        .unwrap()
        .iter()
        .filter(|(k, _)| k.ends_with(".xml"));
    for (name, obspy) in files {
        let bytes = std::fs::read(file(name)).unwrap();
        assert!(
            quakeline::io::picks::sniff(&bytes[..1024.min(bytes.len())]).is_some(),
            "{name}"
        );
        for mode in [Mode::Any, Mode::Manual, Mode::Automatic] {
            let ours = quakeml::read(name, &bytes, mode).unwrap();
            let want: Vec<&Value> = obspy
                .as_array()
                .unwrap()
                .iter()
                .filter(|p| {
                    let hint = p["phase_hint"].as_str().unwrap_or("");
                    ["P", "Pg", "Pn", "Pb", "S", "Sg", "Sn", "Sb"].contains(&hint)
                        && (mode == Mode::Any || p["mode"] == mode.name())
                })
                .collect();
            assert_eq!(ours.len(), want.len(), "{name} {mode:?}: {ours:?}");
            for (o, w) in ours.iter().zip(&want) {
                let cha = w["channel"].as_str().unwrap();
                let trace = format!(
                    "{}.{}.{}.{}",
                    w["network"].as_str().unwrap(),
                    w["station"].as_str().unwrap(),
                    w["location"].as_str().unwrap(),
                    &cha[..cha.len().saturating_sub(1)]
                );
                assert_eq!(o.trace, trace, "{name}");
                assert_eq!(o.time_ns, w["time_ns"].as_i64().unwrap(), "{name}");
                assert_eq!(
                    o.phase,
                    w["phase_hint"].as_str().unwrap().chars().next().unwrap()
                );
                match w["magnitude"].as_f64() {
                    Some(m) => assert_eq!(o.magnitude, m, "{name}"),
                    None => assert!(o.magnitude.is_nan(), "{name}"),
                }
            }
        }
    }
    // Not QuakeML 1.2, and a pick without a time: refused with the file and line.
    let v11 = std::fs::read_to_string(file("quakeml_1.2_pick.xml"))
        .unwrap()
        .replace("xmlns/bed/1.2", "xmlns/bed/1.1");
    let e = quakeml::read("old.xml", v11.as_bytes(), Mode::Any)
        .unwrap_err()
        .to_string();
    assert!(e.contains("old.xml: line 4: `eventParameters` is in namespace http://quakeml.org/xmlns/bed/1.1; QuakeML 1.2 is"), "{e}");
    let timeless = std::fs::read_to_string(file("quakeml_1.2_pick.xml"))
        .unwrap()
        .replace("<value>2005-09-18T22:04:35.000000Z</value>", "");
    let e = quakeml::read("p.xml", timeless.as_bytes(), Mode::Any)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("p.xml: line 6, pick smi:ch.ethz.sed/pick/117634: no `time/value`"),
        "{e}"
    );
}

/// A QuakeML pick file among the miniSEED files labels the traces as the CSV pick file does
/// (the same analyst picks), and the trace takes its event's magnitude; `pick_mode` chooses the
/// analyst's picks or the automatic one, and keeping both is the located error of a second P.
#[test]
fn quakeml_picks_label_a_miniseed_set_as_the_csv_picks_do() {
    let csv = run_set(
        &Env::new(),
        &pipeline(&[&file("three_component.mseed"), &file("picks.csv")], ""),
    );
    let qml = file("picks.quakeml.xml");
    let set = run_set(
        &Env::new(),
        &pipeline(
            &[&file("three_component.mseed"), &qml],
            "pick_mode = \"manual\"\n",
        ),
    );
    assert_eq!(set.traces[0].p_sample, csv.traces[0].p_sample);
    assert_eq!(set.traces[0].s_sample, csv.traces[0].s_sample);
    assert_eq!(set.traces[0].magnitude, 2.7);
    let auto = run_set(
        &Env::new(),
        &pipeline(
            &[&file("three_component.mseed"), &qml],
            "pick_mode = \"automatic\"\n",
        ),
    );
    assert!((auto.traces[0].p_sample - csv.traces[0].p_sample - 12.0).abs() < 1e-6);
    assert!(auto.traces[0].s_sample.is_nan());
    bad(
        &Env::new(),
        &pipeline(&[&file("three_component.mseed"), &qml], ""),
        &[
            "picks.quakeml.xml: line",
            "a second P pick for `BK.BKS..HH`",
        ],
    );
}

/// With station metadata among the files (StationXML, recognised by content), a trace labelled
/// by QuakeML picks gets its epicentral distance: the event's preferred origin to the station,
/// as ObsPy's `gps2dist_azimuth` (geographiclib) gives it; metadata without the station is a
/// located error naming what it holds.
#[test]
fn station_metadata_gives_a_quakeml_labelled_trace_its_distance() {
    let reference: Value = serde_json::from_str(
        &std::fs::read_to_string(data_dir().join("waveforms/quakeml_reference.json")).unwrap(),
    )
    .unwrap();
    let want = reference["bks_distance_km"].as_f64().unwrap();
    let (ms, qml) = (file("three_component.mseed"), file("picks.quakeml.xml"));
    let set = run_set(
        &Env::new(),
        &pipeline(
            &[&ms, &qml, &file("bks.stationxml.xml")],
            "pick_mode = \"manual\"\n",
        ),
    );
    let d = set.traces[0].distance_km;
    assert!((d - want).abs() < 1e-6, "{d} vs ObsPy's {want}");
    // Without metadata the distance stays unknown (NaN), as before.
    let set = run_set(
        &Env::new(),
        &pipeline(&[&ms, &qml], "pick_mode = \"manual\"\n"),
    );
    assert!(set.traces[0].distance_km.is_nan());
    let anmo = data_dir().join("inventory/IRIS_single_channel_with_response.xml");
    bad(
        &Env::new(),
        &pipeline(&[&ms, &qml, &anmo], "pick_mode = \"manual\"\n"),
        &[
            "picks.quakeml.xml: line",
            "the station metadata among the files has no channel of `BK.BKS..HH` in force at 2017-07-15T10:49:20.610Z (it has IU.ANMO.10.BHZ)",
        ],
    );
}

/// `response = "sensitivity"`: each component divided by its channel's overall sensitivity from
/// the StationXML among the files, as ObsPy divides by `instrument_sensitivity.value`
/// (`generate_quakeml.py`: every 100th sample of each component and segment), the unit recorded;
/// without metadata, or without the station in it, a clear error.
#[test]
fn response_sensitivity_gives_ground_velocity_as_obspy_computes_it() {
    let reference: Value = serde_json::from_str(
        &std::fs::read_to_string(data_dir().join("waveforms/quakeml_reference.json")).unwrap(),
    )
    .unwrap();
    let ms = file("three_component.mseed");
    let env = Env::new();
    let p = env.write(
        "wf.toml",
        &pipeline(
            &[&ms, &file("bks.stationxml.xml")],
            "response = \"sensitivity\"\n",
        ),
    );
    let r = env.run(&["run", p.to_str().unwrap(), "--quiet"]);
    assert_eq!(r.code, 0, "{r:?}");
    let f = env.entry(&p, "w");
    assert_eq!(quakeline::h5::read_str_attr(&f, "units").unwrap(), "M/S");
    let set = waveform_set::read(&f, "test").unwrap();
    let (x, n) = (set.trace(0), set.samples);
    let t0 = 1_500_115_760_610_000_000i64;
    let mut compared = 0;
    let mut worst = 0f64;
    for (row, cha) in ["HHZ", "HHN", "HHE"].iter().enumerate() {
        for seg in reference["bks_m_per_s"][cha].as_array().unwrap() {
            let first = ((seg["start_ns"].as_i64().unwrap() - t0) / 10_000_000) as usize;
            for (k, want) in seg["every_100th"].as_array().unwrap().iter().enumerate() {
                let (want, got) = (
                    want.as_f64().unwrap(),
                    f64::from(x[row * n + first + 100 * k]),
                );
                let rel = (got - want).abs() / want.abs().max(1e-12);
                worst = worst.max(if want == 0.0 { got.abs() } else { rel });
                compared += 1;
            }
        }
    }
    assert!(compared > 250, "{compared}");
    assert!(
        worst < 1e-6,
        "largest relative difference to ObsPy {worst:e}"
    );
    bad(
        &Env::new(),
        &pipeline(&[&ms], "response = \"sensitivity\"\n"),
        &[
            "response = \"sensitivity\"",
            "add the StationXML of the stations to `paths`",
        ],
    );
    let anmo = data_dir().join("inventory/IRIS_single_channel_with_response.xml");
    bad(
        &Env::new(),
        &pipeline(&[&ms, &anmo], "response = \"sensitivity\"\n"),
        &[
            "the station metadata among the files has no epoch of channel BK.BKS..HHZ at 2017-07-15T10:49:20.610Z",
        ],
    );
}

/// steim2.mseed is 40 Hz; with `sampling_rate_hz = 100` it is resampled by 5/2 as
/// `scipy.signal.resample_poly(x, 5, 2)` resamples it (every 100th sample committed).
#[test]
fn resampling_to_the_set_rate_matches_scipy() {
    let env = Env::new();
    let set = run_set(
        &env,
        &pipeline(&[&file("steim2.mseed")], "sampling_rate_hz = 100\n"),
    );
    let r = &reference()["steim2_to_100hz"];
    assert_eq!(set.sampling_rate_hz, 100.0);
    assert_eq!(set.samples, r["n"].as_u64().unwrap() as usize);
    let z = &set.trace(0)[..set.samples];
    for (k, want) in r["every_100th"].as_array().unwrap().iter().enumerate() {
        let want = want.as_f64().unwrap();
        let got = z[k * 100] as f64;
        assert!(
            (got - want).abs() <= 1e-6 * want.abs().max(1.0),
            "sample {}: {got} vs SciPy {want}",
            k * 100
        );
    }
    // npz traces too, with their picks scaled: 100 Hz → 50 Hz halves every index.
    let npz = data_dir().join("waveforms/phasenet_npz/BK_BKS_2017071510492061.npz");
    let text = format!(
        "[pipeline]\nname = \"rs\"\n\n[stage.w]\nkind = \"fetch.waveforms\"\nformat = \"npz\"\npaths = [{:?}]\nsampling_rate_hz = 50\n",
        npz.display().to_string()
    );
    let half = run_set(&env, &text);
    assert_eq!((half.samples, half.sampling_rate_hz), (4501, 50.0));
    assert_eq!(
        (half.traces[0].p_sample, half.traces[0].s_sample),
        (1500.0, 1547.5)
    );
}

#[test]
fn damaged_miniseed_and_bad_pick_files_are_located_errors() {
    let env = Env::new();
    let d = env.path();
    let steim2 = std::fs::read(file("steim2.mseed")).unwrap();
    // A damaged frame (ObsPy's steim2.mseed with frame 2 overwritten): too few samples decode.
    bad(
        &env,
        &pipeline(&[&file("corrupt_steim.mseed")], ""),
        &[
            "corrupt_steim.mseed",
            "record at byte 0",
            "only decoded 5931 samples of 5980",
        ],
    );
    // One bit of a difference word: the count holds, the Steim integrity check (Xn) does not.
    let mut flip = steim2.clone();
    flip[64 + 5 * 64 + 3 * 4 + 3] ^= 1;
    std::fs::write(d.join("flip.mseed"), &flip).unwrap();
    bad(
        &env,
        &pipeline(&[&d.join("flip.mseed")], ""),
        &["flip.mseed", "damaged compressed data", "integrity check"],
    );
    // An encoding code no standard defines (blockette 1000's byte 4 = 99).
    let mut enc = steim2.clone();
    enc[52] = 99;
    std::fs::write(d.join("enc.mseed"), &enc).unwrap();
    bad(
        &env,
        &pipeline(&[&d.join("enc.mseed")], ""),
        &["enc.mseed", "record at byte 0", "encoding: 99"],
    );
    // Not miniSEED after a good record.
    let mut tail = steim2.clone();
    tail.extend_from_slice(b"this is not a record");
    std::fs::write(d.join("tail.mseed"), &tail).unwrap();
    bad(
        &env,
        &pipeline(&[&d.join("tail.mseed")], "damaged = \"error\"\n"),
        &["tail.mseed", "byte 4096", "not a miniSEED record"],
    );
    // Mixed rates with resampling off.
    bad(
        &env,
        &pipeline(&[&file("steim2.mseed"), &file("three_component.mseed")], ""),
        &["sampled at", "set `sampling_rate_hz`"],
    );
    // Pick files: outside the trace, an unknown trace, a second P, a bad phase, a bad time.
    let three = file("three_component.mseed");
    let cases: [(&str, &[&str]); 5] = [
        (
            "trace,phase,time\nBK.BKS..HH,P,2017-07-15T11:49:50Z\n",
            &[
                "picks.csv: line 2",
                "P pick of `BK.BKS..HH` at 2017-07-15T11:49:50.000Z is outside its data (2017-07-15T10:49:20.610Z to 2017-07-15T10:50:50.620Z)",
            ],
        ),
        (
            "trace,phase,time\nBK.XYZ..HH,P,2017-07-15T10:49:50Z\n",
            &[
                "picks.csv: line 2, field `trace`",
                "no trace `BK.XYZ..HH`",
                "BK.BKS..HH",
            ],
        ),
        (
            "trace,phase,time\nBK.BKS..HH,P,2017-07-15T10:49:50Z\nBK.BKS..HH,Pg,2017-07-15T10:49:51Z\n",
            &["picks.csv: line 3", "a second P pick"],
        ),
        (
            "trace,phase,time\nBK.BKS..HH,X,2017-07-15T10:49:50Z\n",
            &["picks.csv: line 2, field `phase`", "`X`"],
        ),
        (
            "trace,phase,time\nBK.BKS..HH,S,2017-07-15 10h49\n",
            &["picks.csv: line 2, field `time`"],
        ),
    ];
    for (csv, needles) in cases {
        std::fs::write(d.join("picks.csv"), csv).unwrap();
        bad(
            &env,
            &pipeline(&[&three, &d.join("picks.csv")], ""),
            needles,
        );
    }
}

/// Event windows of one station (here ObsPy's steim2.mseed record and a copy dated an hour
/// later) are two traces, not one trace of an hour of NaN; each pick lands in the window that
/// contains its time.
#[test]
fn records_an_hour_apart_are_two_traces_and_picks_find_theirs() {
    let env = Env::new();
    let d = env.path();
    let mut later = std::fs::read(file("steim2.mseed")).unwrap();
    later[24] += 1; // BTIME hour, 02 → 03
    std::fs::write(d.join("later.mseed"), &later).unwrap();
    std::fs::write(
        d.join("picks.csv"),
        "trace,phase,time\nNL.HGN.00.BH,P,2003-05-29T03:13:32.0434Z\nNL.HGN.00.BH,S,2003-05-29T02:13:42.0434Z\n",
    )
    .unwrap();
    let set = run_set(
        &env,
        &pipeline(
            &[
                &file("steim2.mseed"),
                &d.join("later.mseed"),
                &d.join("picks.csv"),
            ],
            "",
        ),
    );
    let names: Vec<&str> = set.traces.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "NL.HGN.00.BH_2003-05-29T02:13:22.043Z",
            "NL.HGN.00.BH_2003-05-29T03:13:22.043Z"
        ]
    );
    assert_eq!(set.samples, 5980);
    let (a, b) = (&set.traces[0], &set.traces[1]);
    assert!(
        a.p_sample.is_nan() && (a.s_sample - 800.0).abs() < 1e-6,
        "{a:?}"
    );
    assert!(
        b.s_sample.is_nan() && (b.p_sample - 400.0).abs() < 1e-6,
        "{b:?}"
    );
    assert_eq!(set.trace(0)[..5980], set.trace(1)[..5980]);
    // With a maximum gap over an hour they are one trace, NaN between.
    let one = run_set(
        &env,
        &pipeline(
            &[&file("steim2.mseed"), &d.join("later.mseed")],
            "max_gap_s = 4000\n",
        ),
    );
    assert_eq!(one.len(), 1);
    assert_eq!(one.samples, 3600 * 40 + 5980);
    let z = &one.trace(0)[..one.samples];
    assert_eq!(z.iter().filter(|v| v.is_nan()).count(), 3600 * 40 - 5980);
}

/// A fuzzing finding: a miniSEED 2 header whose data offset (35904) lies past its 512-byte
/// record made libmseed 3.1.3 read out of bounds (SIGSEGV); it is refused before libmseed sees it.
#[test]
fn a_data_offset_outside_the_record_is_refused_before_libmseed_reads_it() {
    let name = "fuzz_data_offset.mseed";
    let err = mseed::records(
        name,
        &std::fs::read(file(name)).unwrap(),
        mseed::Damaged::Error,
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "fuzz_data_offset.mseed: record at byte 512: the data offset in its header (35904) is outside the record (512 bytes): a damaged header"
    );
}

/// `filter` on a labelled waveform set: every component band-passed 1–45 Hz (Hong et al. 2023)
/// as SciPy's `sosfiltfilt(butter(4, [1, 45], "bandpass", fs=100, output="sos"), x)` filters it,
/// picks and metadata kept, gaps kept NaN; the output is a waveform set to the DAG's kind check.
#[test]
fn filter_band_passes_every_component_of_a_waveform_set_as_scipy() {
    let env = Env::new();
    let npz = data_dir().join("waveforms/phasenet_npz/BK_BKS_2017071510492061.npz");
    let text = format!(
        "{}\n[stage.bp]\nkind = \"filter\"\ninput = \"w\"\ntype = \"bandpass\"\ncorners_hz = [1.0, 45.0]\n",
        fetch("npz", &[&npz], "")
    );
    let p = env.write("bp.toml", &text);
    let r = env.run(&["run", p.to_str().unwrap(), "--quiet"]);
    assert_eq!(r.code, 0, "{r:?}");
    let raw = waveform_set::read(&env.entry(&p, "w"), "w").unwrap();
    let bp = waveform_set::read(&env.entry(&p, "bp"), "bp").unwrap();
    assert_eq!(format!("{:?}", bp.traces), format!("{:?}", raw.traces));
    assert_eq!((bp.samples, bp.sampling_rate_hz), (9001, 100.0));
    let want = &reference()["bandpass_1_45_bks_z"]["every_50th"];
    let z = &bp.trace(0)[..9001];
    let scale = raw.trace(0)[..9001]
        .iter()
        .fold(0f32, |m, v| m.max(v.abs())) as f64;
    for (k, w) in want.as_array().unwrap().iter().enumerate() {
        let w = w.as_f64().unwrap();
        assert!(
            (z[k * 50] as f64 - w).abs() <= 1e-6 * scale,
            "sample {}: {} vs SciPy {w}",
            k * 50,
            z[k * 50]
        );
    }
    // Gaps stay gaps: the miniSEED station's N component is NaN over its missing second.
    let text = format!(
        "{}\n[stage.bp]\nkind = \"filter\"\ninput = \"w\"\ntype = \"bandpass\"\ncorners_hz = [1.0, 45.0]\n",
        pipeline(&[&file("three_component.mseed")], "")
    );
    let p = env.write("gap.toml", &text);
    let r = env.run(&["run", p.to_str().unwrap(), "--quiet"]);
    assert_eq!(r.code, 0, "{r:?}");
    let bp = waveform_set::read(&env.entry(&p, "bp"), "bp").unwrap();
    let n = &bp.trace(0)[9001..18002];
    assert!(n[4000..4100].iter().all(|v| v.is_nan()));
    assert!(n[..4000].iter().chain(&n[4100..]).all(|v| v.is_finite()));
    // A filtered waveform set is not a time series: wiring it into gapfill fails at plan time.
    let text = format!("{text}\n[stage.g]\nkind = \"gapfill\"\ninput = \"bp\"\nmax_gap = \"1m\"\n");
    let p = env.write("kind.toml", &text);
    let r = env.run(&["plan", p.to_str().unwrap()]);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(
        r.stderr
            .contains("reads time series, but `bp` (filter) writes labelled waveform set"),
        "{}",
        r.stderr
    );
}
