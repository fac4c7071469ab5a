//! Catalog readers on real files (ObsPy test data in tests/data/catalogs); expected values are read
//! off the files by eye and cross-checked against the format documents.

use quakeline::io::catalog::{Format, parse};
use quakeline::time::parse_iso8601;

use crate::util::data_dir;

fn read(name: &str) -> (String, String) {
    let path = data_dir().join("catalogs").join(name);
    (
        path.display().to_string(),
        std::fs::read_to_string(path).unwrap(),
    )
}

fn t(s: &str) -> i64 {
    parse_iso8601(s).unwrap()
}

#[test]
fn fdsn_text_from_isc() {
    let (name, text) = read("fdsn_event_text_isc.txt");
    assert_eq!(Format::sniff(&text), Some(Format::FdsnText));
    let ev = parse(&name, &text, None).unwrap();
    assert_eq!(ev.len(), 2);
    assert_eq!(ev[0].id, "3337497");
    assert_eq!(ev[0].time_ns, t("2012-04-11T08:38:37"));
    assert_eq!((ev[0].latitude_deg, ev[0].longitude_deg), (2.2376, 93.0144));
    assert_eq!(ev[0].depth_km, Some(26.3));
    assert_eq!(
        (ev[0].magnitude, ev[0].magnitude_type.as_deref()),
        (Some(8.6), Some("MW"))
    );
    assert_eq!(ev[0].line, 2);
    // The 1960 Chile event has no magnitude type.
    assert_eq!(ev[1].time_ns, t("1960-05-22T19:11:14"));
    assert_eq!(
        (ev[1].magnitude, ev[1].magnitude_type.as_deref()),
        (Some(8.5), None)
    );
}

#[test]
fn quakeml_from_usgs_uses_preferred_origin_and_magnitude_and_metres() {
    let (name, text) = read("usgs_event.quakeml");
    assert_eq!(Format::sniff(&text), Some(Format::QuakeMl));
    let ev = parse(&name, &text, None).unwrap();
    assert_eq!(ev.len(), 2);
    assert_eq!(ev[0].time_ns, t("2014-11-06T00:24:42.240Z"));
    assert_eq!(
        (ev[0].latitude_deg, ev[0].longitude_deg),
        (35.0476667, -117.6623333)
    );
    assert_eq!(ev[0].depth_km, Some(0.01), "QuakeML depth is in metres");
    assert_eq!(
        (ev[0].magnitude, ev[0].magnitude_type.as_deref()),
        (Some(1.54), Some("ml"))
    );
    assert_eq!(ev[0].event_type, "quarry blast");
    assert_eq!(ev[1].magnitude_type.as_deref(), Some("Md"));
    assert_eq!(ev[1].line, 63);
}

#[test]
fn quakeml_from_iris() {
    let (name, text) = read("iris_events.quakeml");
    let ev = parse(&name, &text, Some(Format::QuakeMl)).unwrap();
    assert_eq!(ev.len(), 2);
    assert_eq!(ev[0].id, "smi:www.iris.edu/ws/event/query?eventId=3279407");
    assert_eq!(ev[0].time_ns, t("2011-03-11T05:46:24.12"));
    assert_eq!(
        (ev[0].magnitude, ev[0].magnitude_type.as_deref()),
        (Some(9.1), Some("MW"))
    );
    assert_eq!(ev[0].event_type, "earthquake");
}

#[test]
fn quakeml_event_without_origin_is_an_error_with_its_line() {
    let (name, text) = read("quakeml_1.2_focalmechanism.xml");
    let e = parse(&name, &text, None).unwrap_err();
    assert!(e.message.contains("has no origin"), "{e}");
    assert!(e.line > 1);
}

#[test]
fn isc_ims1_bulletin_takes_the_prime_origin_and_its_magnitude() {
    let (name, text) = read("isc_bulletin_19670130012028.isf");
    assert_eq!(Format::sniff(&text), Some(Format::Ims1));
    let ev = parse(&name, &text, None).unwrap();
    assert_eq!(ev.len(), 1);
    let e = &ev[0];
    assert_eq!(e.id, "840268");
    // Prime: "1967/01/30 01:20:28.70 … 41.0900 44.3100 … 11.0d … ISC 1838613", magnitude "mb 5.0 ISC 1838613".
    assert_eq!(e.time_ns, t("1967-01-30T01:20:28.70"));
    assert_eq!(
        (e.latitude_deg, e.longitude_deg, e.depth_km),
        (41.09, 44.31, Some(11.0))
    );
    assert_eq!(
        (e.magnitude, e.magnitude_type.as_deref()),
        (Some(5.0), Some("mb"))
    );
}

#[test]
fn malformed_catalogs_name_file_line_and_field() {
    let text = "#EventID | Time | Latitude | Longitude | Depth/km | Author | Catalog | Contributor | ContributorID | MagType | Magnitude | MagAuthor | EventLocationName\n1|2012-04-11T08:38:37|2.2|93.0|x|ISC||ISC||MW|8.6|GCMT|SUMATRA\n";
    let e = parse("bad.txt", text, None).unwrap_err();
    assert_eq!(
        e.to_string(),
        "bad.txt:2: field `Depth/km`: `x` is not a number"
    );
    let e = parse("bad.txt", "hello\n", None).unwrap_err();
    assert!(e.message.contains("not a catalog format"), "{e}");
    let e = parse("bad.xml", "<?xml version=\"1.0\"?>\n<q:quakeml>\n", None).unwrap_err();
    assert!(e.message.starts_with("invalid XML"), "{e}");
}

// ---- the fetch.catalog stage -------------------------------------------------------------------

fn catalog_pipeline(extra: &str) -> String {
    format!("[pipeline]\nname = \"cat\"\n\n[stage.quakes]\nkind = \"fetch.catalog\"\n{extra}")
}

fn read_events(env: &crate::util::Env) -> Vec<quakeline::io::catalog::Event> {
    let f = hdf5::File::open(&env.entries()[0]).unwrap();
    quakeline::io::catalog::read_h5(&f).unwrap()
}

#[test]
fn stage_reads_mixed_formats_and_applies_the_missing_policy() {
    let env = crate::util::Env::new();
    let dir = data_dir().join("catalogs");
    let paths = format!(
        "paths = [\"{0}/fdsn_event_text_isc.txt\", \"{0}/usgs_event.quakeml\", \"{0}/*.isf\"]\n",
        dir.display()
    );
    let p = env.write("cat.toml", &catalog_pipeline(&paths));
    let r = env.run(&["run", p.to_str().unwrap()]);
    assert_eq!(r.code, 1, "{r:?}");
    // The 1960 Chile event in the ISC text has no magnitude type.
    assert!(
        r.stderr
            .contains("event `2413` (line 3) has no magnitude type; set missing = \"skip\""),
        "{r:?}"
    );
    assert!(r.stderr.contains("cat.toml:4:8 (field `missing`)"), "{r:?}");
    let p = env.write(
        "cat.toml",
        &catalog_pipeline(&format!("{paths}missing = \"skip\"\n")),
    );
    let r = env.run(&["run", p.to_str().unwrap()]);
    assert_eq!(r.code, 0, "{r:?}");
    let ev = read_events(&env);
    let ids: Vec<&str> = ev.iter().map(|e| e.id.as_str()).collect();
    assert_eq!(ev.len(), 4, "{ids:?}");
    assert!(
        ev.windows(2).all(|w| w[0].time_ns <= w[1].time_ns),
        "sorted by time"
    );
    assert_eq!(ids[0], "840268");
    assert_eq!(ev[3].magnitude_type.as_deref(), Some("Md"));
    let f = hdf5::File::open(&env.entries()[0]).unwrap();
    assert_eq!(
        f.attr("skipped_events")
            .unwrap()
            .read_scalar::<u64>()
            .unwrap(),
        1
    );
}

#[test]
fn unknown_magnitude_type_is_an_error() {
    let env = crate::util::Env::new();
    env.write(
        "q.txt",
        "#EventID|Time|Latitude|Longitude|Depth/km|Author|Catalog|Contributor|ContributorID|MagType|Magnitude|MagAuthor|EventLocationName\n7|2014-11-02T00:00:00|40.0|-105.0|10.0|X||X||Mx|4.5|X|HERE\n",
    );
    let p = env.write("cat.toml", &catalog_pipeline("paths = [\"q.txt\"]\n"));
    let r = env.run(&["run", p.to_str().unwrap()]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(
        r.stderr
            .contains("event `7` (line 2) has magnitude type `Mx`, which quakeline does not know"),
        "{r:?}"
    );
}

#[test]
fn fdsn_query_on_loopback() {
    let body = std::fs::read(data_dir().join("catalogs/fdsn_event_text_isc.txt")).unwrap();
    let (port, seen) = crate::util::serve(vec![("/fdsnws/event/1/query?".into(), body.clone())], 2);
    let env = crate::util::Env::new();
    let query = format!(
        "fdsn_url = \"http://127.0.0.1:{port}/fdsnws/event/1/query\"\nstarttime = \"2012-01-01\"\nendtime = \"2012-12-31T23:59:59\"\nlatitude = 2.0\nlongitude = 93.0\nmaxradius_km = 200\nminmagnitude = 4\nmissing = \"skip\"\n"
    );
    let p = env.write("cat.toml", &catalog_pipeline(&query));
    let r = env.run(&["run", p.to_str().unwrap()]);
    assert_eq!(r.code, 0, "{r:?}");
    let request = seen.recv().unwrap();
    let deg = 200.0 / (6371.0 * std::f64::consts::PI / 180.0);
    assert_eq!(
        request,
        format!(
            "GET /fdsnws/event/1/query?starttime=2012-01-01T00:00:00.000&endtime=2012-12-31T23:59:59.000&latitude=2&longitude=93&maxradius={deg}&minmagnitude=4&format=text&orderby=time-asc HTTP/1.1"
        )
    );
    let ev = read_events(&env);
    assert_eq!(ev.len(), 1);
    assert_eq!(ev[0].id, "3337497");
    // A pinned response that differs is an error.
    let p = env.write(
        "cat.toml",
        &catalog_pipeline(&format!("{query}blake3 = [\"{}\"]\n", "1".repeat(64))),
    );
    let r = env.run(&["run", p.to_str().unwrap()]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.stderr.contains("but the pipeline pins 1111"), "{r:?}");
}

#[test]
fn query_parameters_without_a_query_are_rejected() {
    let env = crate::util::Env::new();
    let p = env.write(
        "cat.toml",
        &catalog_pipeline("paths = [\"x\"]\nminmagnitude = 4\n"),
    );
    let r = env.run(&["run", p.to_str().unwrap()]);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(
        r.stderr
            .contains("`minmagnitude` is a query parameter; it needs `fdsn_url`"),
        "{r:?}"
    );
}

/// An event the int64-nanosecond axis cannot hold is an error naming file, line, field and the
/// representable range (the real ISC file with its year changed to 2500), not an overflow.
#[test]
fn events_outside_the_time_axis_name_line_and_field() {
    let (_, text) = read("fdsn_event_text_isc.txt");
    let line = text.lines().position(|l| l.contains("|20")).unwrap();
    let bad: String = text
        .lines()
        .enumerate()
        .map(|(i, l)| {
            if i == line {
                l.replacen("|20", "|25", 1)
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    let e = parse("future.txt", &bad, None).unwrap_err().to_string();
    assert!(
        e.starts_with(&format!("future.txt:{}: field `Time`: `25", line + 1))
            && e.contains("is outside the time axis")
            && e.contains("2262-04-11T23:47:16.854775807Z"),
        "{e}"
    );
}
