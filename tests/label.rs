//! `label.precursor` end to end on the real BOU week and real Kp, with a small catalog written here
//! (two made-up events near Boulder, one beyond the radius) — the real catalogs in the repo have no
//! event near BOU in that week.

use crate::util::{Env, data_dir, iaga};

const CATALOG: &str = "#EventID|Time|Latitude|Longitude|Depth/km|Author|Catalog|Contributor|ContributorID|MagType|Magnitude|MagAuthor|EventLocationName
near|2014-11-04T12:00:00|40.6|-105.0|10.0|TEST||TEST||Mw|4.5|TEST|made up, 55 km from BOU
far|2014-11-07T06:00:00|35.0|-105.0|10.0|TEST||TEST||Mw|5.5|TEST|made up, 570 km from BOU
";

fn pipeline(extra_label: &str, kp_file: &str) -> String {
    fetch_and_label(
        &format!("{}/bou2014110*vmin.min", iaga("").display()),
        "catalog.txt",
        kp_file,
        extra_label,
    )
}

/// IAGA-2002 files, a catalog and Kp fetched from paths and labelled with 1-day windows.
pub(crate) fn fetch_and_label(
    iaga_paths: &str,
    catalog: &str,
    kp: &str,
    extra_label: &str,
) -> String {
    format!(
        r#"[pipeline]
name = "label"
seed = 5

[stage.mag]
kind = "fetch.iaga2002"
paths = ["{iaga_paths}"]

[stage.quakes]
kind = "fetch.catalog"
paths = ["{catalog}"]

[stage.kp]
kind = "fetch.kp"
paths = ["{kp}"]

[stage.label]
kind = "label.precursor"
inputs = {{ series = "mag", catalog = "quakes", kp = "kp" }}
window = "1d"
channels = ["H", "D", "Z"]
{extra_label}
"#,
    )
}

#[test]
fn bou_week_daily_windows() {
    let env = Env::new();
    env.write("catalog.txt", CATALOG);
    let kp = data_dir().join("kp/SW-2014Q4.txt");
    let p = env.write("label.toml", &pipeline("", &kp.display().to_string()));
    let r = env.run(&["run", p.to_str().unwrap()]);
    assert_eq!(r.code, 0, "{r:?}");
    let f = env.entry(&p, "label");
    let attr = |n: &str| f.attr(n).unwrap().read_scalar::<u64>().unwrap();
    // Days 11-01..07: the event at 11-04 12:00 makes 11-03 positive and 11-04 "event inside";
    // daily max Kp 2.7, 3.3, 2.0, 4.7, 3.7, 3.0, 3.3 leaves 11-01 and 11-06 quiet (Kp <= 3).
    assert_eq!(attr("windows_total"), 7);
    assert_eq!(attr("positives"), 1);
    assert_eq!(attr("rejected_event_inside"), 1);
    assert_eq!(attr("rejected_kp"), 3);
    assert_eq!(attr("quiet"), 2);
    assert_eq!((attr("events_qualifying"), attr("events_too_far")), (1, 1));
    assert_eq!(attr("dropped_by_balance"), 1);
    let windows = f.dataset("windows").unwrap();
    assert_eq!(windows.shape(), vec![2, 3, 1440]);
    let labels = f.dataset("labels").unwrap().read_raw::<i64>().unwrap();
    assert_eq!(labels.iter().sum::<i64>(), 1);
    // Normalised by the window's max |Z|: the Z row peaks at exactly 1.
    let data = windows.read_raw::<f32>().unwrap();
    let zmax = data[2 * 1440..3 * 1440]
        .iter()
        .fold(0f32, |m, v| m.max(v.abs()));
    assert_eq!(zmax, 1.0);
    let report = f
        .attr("report")
        .unwrap()
        .read_scalar::<hdf5::types::VarLenUnicode>()
        .unwrap();
    assert!(report.as_str().contains("3 stormy (Kp > 3)"), "{report}");
}

#[test]
fn empty_catalog_kp_gap_and_wrong_channels_are_clear_errors() {
    let env = Env::new();
    let kp = data_dir().join("kp/SW-2014Q4.txt");
    env.write("catalog.txt", "#EventID|Time|Latitude|Longitude|Depth/km|Author|Catalog|Contributor|ContributorID|MagType|Magnitude|MagAuthor|EventLocationName\n");
    let p = env.write("label.toml", &pipeline("", &kp.display().to_string()));
    let r = env.run(&["run", p.to_str().unwrap()]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(
        r.stderr.contains("no positive windows") && r.stderr.contains("0 qualifying"),
        "{r:?}"
    );

    env.write("catalog.txt", CATALOG);
    let text = std::fs::read_to_string(&kp).unwrap();
    let short: String = text
        .lines()
        .filter(|l| !l.starts_with("2014") || l < &"2014 11 05")
        .map(|l| format!("{l}\n"))
        .collect();
    env.write("kp-short.txt", &short);
    let p = env.write("label.toml", &pipeline("", "kp-short.txt"));
    let r = env.run(&["run", p.to_str().unwrap()]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(
        r.stderr.contains("the Kp input covers")
            && r.stderr
                .contains("give a Kp file that covers the whole series"),
        "{r:?}"
    );

    let p = env.write(
        "label.toml",
        &pipeline("", &kp.display().to_string())
            .replace("[\"H\", \"D\", \"Z\"]", "[\"X\", \"Y\", \"Z\"]"),
    );
    let r = env.run(&["run", p.to_str().unwrap()]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(
        r.stderr
            .contains("the series has channels H,D,Z,F, not `X`")
            && r.stderr.contains("label.toml:21:12 (field `channels`)"),
        "{r:?}"
    );

    let p = env.write(
        "label.toml",
        &pipeline("stride = \"7m\"", &kp.display().to_string())
            .replace("window = \"1d\"", "window = \"90s\""),
    );
    let r = env.run(&["run", p.to_str().unwrap()]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(
        r.stderr
            .contains("`window` = 90s is not a whole number of 60 s samples"),
        "{r:?}"
    );
}

/// The synthetic source feeds the labeller through its named outputs; windows come out balanced.
#[test]
fn synthetic_source_through_named_outputs() {
    let env = Env::new();
    let text = r#"[pipeline]
name = "synthetic"
seed = 11

[stage.synth]
kind = "synth.geomag"
duration = "120d"
event_rate_per_year = 150.0
magnitude_min = 4.0
precursor_strength = 20.0

[stage.label]
kind = "label.precursor"
inputs = { series = "synth/series", catalog = "synth/catalog", kp = "synth/kp" }
window = "6h"
lead = "6h"
"#;
    let p = env.write("synth.toml", text);
    let r = env.run(&["run", p.to_str().unwrap()]);
    assert_eq!(r.code, 0, "{r:?}");
    let f = env.entry(&p, "label");
    let labels = f.dataset("labels").unwrap().read_raw::<i64>().unwrap();
    let positives = labels.iter().filter(|l| **l == 1).count();
    assert!(positives >= 5, "{positives} positive windows");
    assert_eq!(positives * 2, labels.len(), "balanced");
    assert_eq!(
        f.dataset("windows").unwrap().shape(),
        vec![labels.len(), 3, 360]
    );

    // A reference without an output name, or to an output that does not exist, is a located error.
    let bad = env.write(
        "bad.toml",
        &text.replace("kp = \"synth/kp\"", "kp = \"synth\""),
    );
    let r = env.run(&["plan", bad.to_str().unwrap()]);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(
        r.stderr
            .contains("stage `synth` has several outputs; name the one to read")
            && r.stderr.contains("\"synth/kp\""),
        "{r:?}"
    );
    let bad = env.write("bad.toml", &text.replace("synth/kp", "synth/kpp"));
    let r = env.run(&["plan", bad.to_str().unwrap()]);
    assert!(
        r.stderr
            .contains("bad.toml:14:69: stage `synth` has no output `kpp`"),
        "{r:?}"
    );
}
