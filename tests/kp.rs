//! Kp decoding on the real CelesTrak file slice and the GFZ-format file (tests/data/kp).

use quakeline::io::kp::{Format, merge, parse};
use quakeline::time::{NS_PER_S, days_from_civil};

use crate::util::data_dir;

fn read(name: &str) -> (String, String) {
    let p = data_dir().join("kp").join(name);
    (p.display().to_string(), std::fs::read_to_string(p).unwrap())
}

/// Maximum Kp of each UTC day in 2014-11-01..07.
fn daily_max(series: &[(i64, f64)]) -> Vec<f64> {
    (1..=7)
        .map(|d| {
            let start = days_from_civil(2014, 11, d) * 86_400 * NS_PER_S;
            series
                .iter()
                .filter(|(t, _)| (start..start + 86_400 * NS_PER_S).contains(t))
                .map(|(_, k)| *k)
                .fold(f64::MIN, f64::max)
        })
        .collect()
}

#[test]
fn celestrak_thirds_reproduce_the_bou_week_daily_maxima() {
    let (name, text) = read("SW-2014Q4.txt");
    assert_eq!(Format::sniff(&text), Some(Format::CelesTrak));
    let s = parse(&name, &text, None).unwrap();
    assert_eq!(s.len(), 92 * 8);
    // shared/data/README: daily max Kp in the BOU week is 2.7, 3.3, 2.0, 4.7, 3.7, 3.0, 3.3.
    let got: Vec<f64> = daily_max(&s)
        .iter()
        .map(|k| (k * 10.0).round() / 10.0)
        .collect();
    assert_eq!(got, [2.7, 3.3, 2.0, 4.7, 3.7, 3.0, 3.3]);
    // 2014-11-01: "7 10 27 23 27 20 10 3" → 2/3, 1, 8/3, 7/3, 8/3, 2, 1, 1/3; intervals start 00, 03, … UT.
    let d1 = days_from_civil(2014, 11, 1) * 86_400 * NS_PER_S;
    let day: Vec<(i64, f64)> = s
        .iter()
        .copied()
        .filter(|(t, _)| *t >= d1)
        .take(8)
        .collect();
    assert_eq!(day[0], (d1, 2.0 / 3.0));
    assert_eq!(day[2], (d1 + 6 * 3600 * NS_PER_S, 8.0 / 3.0));
    assert_eq!(day[7].1, 1.0 / 3.0);
}

#[test]
fn gfz_format_agrees_with_celestrak_and_keeps_missing_values() {
    let (name, text) = read("Kp_ap_Ap_SN_F107_2014-11-01_08.txt");
    assert_eq!(Format::sniff(&text), Some(Format::Gfz));
    let g = parse(&name, &text, None).unwrap();
    assert_eq!(g.len(), 8 * 8);
    assert!(g[58..].iter().all(|(_, k)| k.is_nan()));
    let (cname, ctext) = read("SW-2014Q4.txt");
    let c = parse(&cname, &ctext, None).unwrap();
    for (t, k) in &g[..56] {
        let (_, ck) = c.iter().find(|(ct, _)| ct == t).unwrap();
        assert!(
            (k - ck).abs() < 1e-3,
            "GFZ prints thirds to 3 decimals: {k} vs {ck}"
        );
    }
    // Overlapping files merge when they agree to the decimals printed, and must agree.
    let merged = merge(vec![(name.clone(), g.clone()), (name.clone(), g.clone())]).unwrap();
    assert_eq!(merged.len(), g.len());
    let both = merge(vec![(cname.clone(), c.clone()), (name.clone(), g.clone())]).unwrap();
    assert_eq!(
        both.len(),
        c.len(),
        "every GFZ interval is also in the CelesTrak file"
    );
    // Where GFZ has no value yet (-1) and CelesTrak has one, the missing value does not win.
    let t = days_from_civil(2014, 11, 8) * 86_400 * NS_PER_S + 6 * 3600 * NS_PER_S;
    assert_eq!(both.iter().find(|(bt, _)| *bt == t).unwrap().1, 2.0);
    let mut wrong = g.clone();
    wrong[3].1 += 1.0 / 3.0;
    let e = merge(vec![(cname, c), (name, wrong)]).unwrap_err();
    assert!(
        e.contains("disagree on Kp at 2014-11-01T09:00:00.000Z"),
        "{e}"
    );
}

#[test]
fn bad_kp_rows_name_line_and_field() {
    let text = "BEGIN OBSERVED\n2014 11 01 2472 25  7 10 27 23 27 2x 10  3 127\nEND OBSERVED\n";
    let e = parse("sw.txt", text, None).unwrap_err();
    assert_eq!(
        e.to_string(),
        "sw.txt:2: field `Kp6`: `2x` is not an integer"
    );
    let e = parse("sw.txt", "BEGIN OBSERVED\n2014 11 01 2472 25  7 10\n", None).unwrap_err();
    assert!(e.message.starts_with("truncated row"), "{e}");
    assert!(
        parse("x.txt", "hello", None)
            .unwrap_err()
            .message
            .contains("not a Kp file")
    );
}

/// A CelesTrak row whose year lost its century (`21`) is a located error naming the field and the
/// representable range, not an overflow.
#[test]
fn a_year_outside_the_time_axis_is_a_located_error() {
    let (_, text) = read("SW-2014Q4.txt");
    let line = text
        .lines()
        .position(|l| l.starts_with("2014 11 01"))
        .unwrap();
    let bad = text.replacen("2014 11 01", "  21 11 01", 1);
    let e = parse("sw.txt", &bad, None).unwrap_err().to_string();
    assert!(
        e.starts_with(&format!(
            "sw.txt:{}: field `year`: 21-11-01 is outside the time axis",
            line + 1
        )) && e.contains("1677-09-21T00:12:43.145224192Z"),
        "{e}"
    );
}
