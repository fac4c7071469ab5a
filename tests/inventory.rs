//! Station metadata (`io::inventory`): ObsPy's StationXML test files read as
//! `obspy.read_inventory` reads them (`tests/data/inventory/generate.py`): every channel epoch's
//! codes, dates, coordinates, orientation, sample rate and overall sensitivity; overlapping
//! epochs of one channel refused, and so is an epoch that ends before it starts (which ObsPy's
//! random test file has and ObsPy keeps).

use quakeline::io::inventory::{self, stationxml};
use serde_json::Value;

use crate::util::data_dir;

#[test]
fn stationxml_channels_are_read_as_obspy_reads_them() {
    let dir = data_dir().join("inventory");
    let reference: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("reference.json")).unwrap())
            .unwrap();
    let files = reference["files"].as_object().unwrap();
    assert_eq!(files.len(), 6);
    let mut channels = 0;
    for (name, want) in files {
        let bytes = std::fs::read(dir.join(name)).unwrap();
        assert_eq!(
            inventory::sniff(&bytes[..1024.min(bytes.len())]),
            Some(inventory::Format::Stationxml),
            "{name}"
        );
        // ObsPy's random test file has an epoch that ends before it starts: ObsPy keeps it, a
        // channel epoch covering no time is refused here, by line.
        if name == "full_random_stationxml.xml" {
            let e = stationxml::read(name, &bytes).unwrap_err().to_string();
            assert_eq!(
                e,
                "full_random_stationxml.xml: line 696: `endDate` is not after `startDate`"
            );
            continue;
        }
        let inv = stationxml::read(name, &bytes).unwrap();
        let want = want.as_array().unwrap();
        assert_eq!(inv.channels.len(), want.len(), "{name}");
        for (c, w) in inv.channels.iter().zip(want) {
            let what = format!("{name}: {}", c.id());
            assert_eq!(c.id(), w["id"].as_str().unwrap(), "{what}");
            assert_eq!(Some(c.start_ns), w["start_ns"].as_i64(), "{what}");
            assert_eq!(c.end_ns, w["end_ns"].as_i64(), "{what}");
            for (ours, key) in [
                (c.latitude, "latitude"),
                (c.longitude, "longitude"),
                (c.elevation_m, "elevation"),
                (c.depth_m, "depth"),
            ] {
                assert_eq!(ours, w[key].as_f64().unwrap(), "{what} {key}");
            }
            assert_eq!(c.azimuth_deg, w["azimuth"].as_f64(), "{what}");
            assert_eq!(c.dip_deg, w["dip"].as_f64(), "{what}");
            assert_eq!(c.sample_rate_hz, w["sample_rate"].as_f64(), "{what}");
            match (&c.sensitivity, w["sensitivity"].as_object()) {
                (None, None) => {}
                (Some(s), Some(ws)) => {
                    assert_eq!(s.value, ws["value"].as_f64().unwrap(), "{what}");
                    match ws["frequency"].as_f64() {
                        Some(f) => assert_eq!(s.frequency_hz, f, "{what}"),
                        None => assert!(s.frequency_hz.is_nan(), "{what}"),
                    }
                    assert_eq!(
                        s.input_units,
                        ws["input_units"].as_str().unwrap_or(""),
                        "{what}"
                    );
                    assert_eq!(
                        s.output_units,
                        ws["output_units"].as_str().unwrap_or(""),
                        "{what}"
                    );
                }
                (a, b) => panic!("{what}: sensitivity {a:?} vs ObsPy's {b:?}"),
            }
            channels += 1;
        }
    }
    assert_eq!(channels, 4);
    // The epoch in force: IU.ANMO.10.BHZ from 2012-03-13, not before.
    let bytes = std::fs::read(dir.join("IRIS_single_channel_with_response.xml")).unwrap();
    let inv = stationxml::read("anmo.xml", &bytes).unwrap();
    let t = quakeline::time::parse_iso8601("2013-01-01T00:00:00Z").unwrap();
    assert_eq!(
        inv.channel_at("IU.ANMO.10.BHZ", t)
            .unwrap()
            .sensitivity
            .as_ref()
            .unwrap()
            .value,
        3.31283e10
    );
    assert_eq!(inv.components_at("IU.ANMO.10.BH", t).len(), 1);
    let before = quakeline::time::parse_iso8601("2011-01-01T00:00:00Z").unwrap();
    assert!(inv.channel_at("IU.ANMO.10.BHZ", before).is_none());
}

#[test]
fn overlapping_epochs_and_files_that_are_not_stationxml_are_refused_by_line() {
    let dir = data_dir().join("inventory");
    let text = std::fs::read_to_string(dir.join("IRIS_single_channel_with_response.xml")).unwrap();
    // The channel's epoch twice, the second starting inside the first (a sensor swap
    // entered with a wrong date).
    let (a, b) = (
        text.find("<Channel ").unwrap(),
        text.find("</Channel>").unwrap() + "</Channel>".len(),
    );
    let second = text[a..b].replace(
        "startDate=\"2012-03-13T08:10:00\"",
        "startDate=\"2019-06-01T00:00:00\"",
    );
    let doubled = format!("{}{}\n{}{}", &text[..b], "", second, &text[b..]);
    let e = stationxml::read("st.xml", doubled.as_bytes())
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("channel IU.ANMO.10.BHZ has an epoch from 2019-06-01T00:00:00.000Z that overlaps the one from 2012-03-13T08:10:00.000Z (line 23)"),
        "{e}"
    );
    assert!(e.starts_with("st.xml: line "), "{e}");
    let e = stationxml::read("q.xml", b"<?xml version='1.0'?><quakeml/>")
        .unwrap_err()
        .to_string();
    assert!(e.contains("not `FDSNStationXML`"), "{e}");
    let bad_lat = text.replace(
        "<Latitude>34.945913</Latitude>",
        "<Latitude>north</Latitude>",
    );
    let e = stationxml::read("lat.xml", bad_lat.as_bytes())
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("lat.xml: line 23: field `Latitude`: `north` is not a number"),
        "{e}"
    );
}
