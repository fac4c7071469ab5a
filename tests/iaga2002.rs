//! The IAGA-2002 reader on real observatory files (tests/data/iaga2002, USGS geomag-algorithms).

use quakeline::io::iaga2002::{concatenate, read};
use quakeline::time::{NS_PER_S, days_from_civil};

use crate::util::iaga;

fn ns(y: i64, m: u32, d: u32, hh: i64, mm: i64, ss: i64) -> i64 {
    days_from_civil(y, m, d) * 86_400 * NS_PER_S + (hh * 3600 + mm * 60 + ss) * NS_PER_S
}

#[test]
fn bou_one_minute_hdzf_day() {
    let f = read(&iaga("bou20141101vmin.min")).unwrap();
    assert_eq!(f.header.station_code, "BOU");
    assert_eq!(f.header.station_name, "Boulder");
    assert_eq!(f.header.latitude_deg, 40.137);
    assert_eq!(f.header.longitude_deg, 254.764);
    assert_eq!(f.header.elevation_m, 1682.0);
    assert_eq!(f.header.reported, "HDZF");
    assert_eq!(f.header.data_type, "variation");
    assert_eq!(f.elements, ["H", "D", "Z", "F"]);
    assert_eq!(f.times_ns.len(), 1440);
    assert_eq!(f.interval_ns, 60 * NS_PER_S);
    assert_eq!(f.times_ns[0], ns(2014, 11, 1, 0, 0, 0));
    assert_eq!(f.times_ns[1439], ns(2014, 11, 1, 23, 59, 0));
    // First record: 20873.75 -9.99 47477.30 52397.33; D is minutes of arc → degrees.
    assert_eq!(
        &f.values[..4],
        &[20873.75, -9.99 / 60.0, 47477.30, 52397.33]
    );
    // Last record: 20871.35 -9.66 47471.14 52390.85.
    assert_eq!(
        &f.values[1439 * 4..],
        &[20871.35, -9.66 / 60.0, 47471.14, 52390.85]
    );
}

#[test]
fn bou_week_concatenates_in_time_order_whatever_the_input_order() {
    let mut files: Vec<_> = (1..=7)
        .rev()
        .map(|d| read(&iaga(&format!("bou2014110{d}vmin.min"))).unwrap())
        .collect();
    files.swap(0, 3);
    let s = concatenate(files).unwrap();
    assert_eq!(s.len(), 7 * 1440);
    assert_eq!(s.start_ns, ns(2014, 11, 1, 0, 0, 0));
    assert_eq!(s.time_ns(s.len() - 1), ns(2014, 11, 7, 23, 59, 0));
    assert_eq!(s.channels, ["H", "D", "Z", "F"]);
    assert_eq!(s.units, ["nT", "deg", "nT", "nT"]);
    assert!((s.station.longitude_deg - (254.764 - 360.0)).abs() < 1e-12);
    // 2014-11-02 00:00 is the first record of the second file.
    let day2 = read(&iaga("bou20141102vmin.min")).unwrap();
    assert_eq!(&s.data[1440 * 4..1441 * 4], &day2.values[..4]);
    assert!(
        s.data.iter().all(|v| v.is_finite()),
        "the BOU week has no missing values"
    );
}

#[test]
fn xyzf_elements() {
    let f = read(&iaga("bou20181024_XYZF_vmin.min")).unwrap();
    assert_eq!(f.elements, ["X", "Y", "Z", "F"]);
    assert_eq!(f.times_ns.len(), 120);
    assert_eq!(&f.values[..4], &[20576.37, 3288.50, 47013.46, 51942.53]);
}

#[test]
fn minimal_header_and_all_missing_column() {
    let f = read(&iaga("LLO20200106vmin.min")).unwrap();
    assert_eq!(f.header.station_code, "LLO");
    assert_eq!(f.header.reported, "UVWNUL");
    assert_eq!(f.elements, ["U", "V", "W", "NUL"]);
    assert_eq!(f.times_ns.len(), 241);
    assert!(
        f.values.chunks(4).all(|r| r[3].is_nan()),
        "99999.00 is missing"
    );
    assert_eq!(&f.values[..3], &[8330.22, -18968.30, 39293.03]);
}

#[test]
fn hourly_and_daily_files_take_their_interval_from_the_records() {
    // Both files' headers say "filtered 1-minute"; the records are hourly and daily.
    let h = read(&iaga("BOU20200831vhor.hor")).unwrap();
    assert_eq!(h.interval_ns, 3600 * NS_PER_S);
    assert_eq!(h.times_ns[0], ns(2020, 8, 31, 0, 29, 30));
    assert_eq!(h.elements, ["H", "E", "Z", "F"]);
    let d = read(&iaga("BOU20200831vday.day")).unwrap();
    assert_eq!(d.interval_ns, 86_400 * NS_PER_S);
    assert_eq!(d.times_ns.len(), 4);
    assert_eq!(d.times_ns[3], ns(2020, 8, 30, 11, 59, 30));
    let s = concatenate(vec![d]).unwrap();
    assert_eq!(s.len(), 4);
}

#[test]
fn missing_records_become_nan_rows_on_the_grid() {
    let text = std::fs::read_to_string(iaga("bou20181024_XYZF_vmin.min")).unwrap();
    let kept: String = text
        .lines()
        .filter(|l| !l.starts_with("2018-10-24 00:05") && !l.starts_with("2018-10-24 00:06"))
        .map(|l| format!("{l}\n"))
        .collect();
    let f = quakeline::io::iaga2002::parse("gappy.min", &kept).unwrap();
    assert_eq!(f.times_ns.len(), 118);
    let s = concatenate(vec![f]).unwrap();
    assert_eq!(s.len(), 120);
    assert!(s.data[5 * 4..7 * 4].iter().all(|v| v.is_nan()));
    assert!(s.data[4 * 4].is_finite() && s.data[7 * 4].is_finite());
}

#[test]
fn overlapping_and_duplicate_files_are_rejected_naming_both() {
    let a = read(&iaga("bou20141101vmin.min")).unwrap();
    let e = concatenate(vec![a.clone(), a.clone()]).unwrap_err();
    assert!(
        e.message.contains("duplicates") && e.message.contains("bou20141101vmin.min"),
        "{e}"
    );
    let mut late = a.clone();
    late.name = "shifted.min".into();
    for t in &mut late.times_ns {
        *t += 600 * NS_PER_S;
    }
    let e = concatenate(vec![a, late]).unwrap_err();
    assert!(
        e.message.contains("overlaps") && e.file == "shifted.min",
        "{e}"
    );
}

/// Dates outside int64 nanoseconds (1677-09-21 … 2262-04-11) are located errors, never an
/// overflow: the real BOU file with its records moved to 1500, and two real files 584 years apart.
#[test]
fn dates_outside_the_time_axis_are_located_errors() {
    let text = std::fs::read_to_string(iaga("bou20181024_XYZF_vmin.min")).unwrap();
    let old = text.replace("2018-10-24 ", "1500-10-24 ");
    let e = quakeline::io::iaga2002::parse("old.min", &old).unwrap_err();
    let s = e.to_string();
    assert!(s.starts_with("old.min:"), "{s}");
    assert!(
        s.contains("field `DATE`: `1500-10-24 00:00:00.000` is outside the time axis")
            && s.contains(quakeline::time::AXIS_FIRST)
            && s.contains(quakeline::time::AXIS_LAST),
        "{s}"
    );
    let early =
        quakeline::io::iaga2002::parse("a.min", &text.replace("2018-10-24 ", "1678-10-24 ")).map(
            |mut f| {
                f.name = "a.min".into();
                f
            },
        );
    let late = quakeline::io::iaga2002::parse("b.min", &text.replace("2018-10-24 ", "2261-10-24 "));
    // The day-of-year column is the file's; both stay valid dates with the same DOY.
    let (early, late) = (early.unwrap(), late.unwrap());
    // Not `unwrap_err`: a wrongly accepted grid would print gigabytes of NaN.
    let Err(e) = concatenate(vec![early, late]) else {
        panic!("files 583 years apart were concatenated")
    };
    assert!(
        e.message
            .contains("1678-10-24T00:00:00.000Z to 2261-10-24T01:59:00.000Z")
            && e.message.contains("for 240 records read"),
        "{e}"
    );
}

/// Found by fuzzing (release build with overflow checks): two records 300 years apart overflowed
/// the spacing computation; the real LLO file with its first record moved to 1720.
#[test]
fn records_centuries_apart_are_an_error_not_an_overflow() {
    let text = std::fs::read_to_string(iaga("LLO20200106vmin.min")).unwrap();
    let bad = text.replacen("2020-01-06 00:00:00.000", "1720-01-06 00:00:00.000", 1);
    let e = quakeline::io::iaga2002::parse("llo.min", &bad)
        .err()
        .map(|e| e.to_string());
    assert_eq!(
        e.as_deref(),
        Some("llo.min: record 2 is more than 292 years after the record before it")
    );
}
