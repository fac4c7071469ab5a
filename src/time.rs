//! UTC calendar arithmetic on nanoseconds since 1970-01-01T00:00:00Z.
//!
//! Time series store `time` as int64 nanoseconds since the Unix epoch (UTC, no leap seconds), which is
//! what numpy's `datetime64[ns]` and ObsPy's `UTCDateTime.ns` use, so HDF5 readers need no conversion.
//! The civil-date conversion is Howard Hinnant's `days_from_civil` / `civil_from_days` algorithm
//! (<http://howardhinnant.github.io/date_algorithms.html>), exact over the whole proleptic Gregorian range.

pub const NS_PER_S: i64 = 1_000_000_000;
pub const NS_PER_DAY: i64 = 86_400 * NS_PER_S;

/// The first and last instants the axis holds (`i64::MIN`/`i64::MAX` ns, numpy's
/// `datetime64[ns]` limits), as every out-of-range message states them.
pub const AXIS_FIRST: &str = "1677-09-21T00:12:43.145224192Z";
pub const AXIS_LAST: &str = "2262-04-11T23:47:16.854775807Z";

/// The one conversion from a calendar day and a time of day to the axis: `days` since
/// 1970-01-01 plus `clock_ns` nanoseconds, or an error naming the representable range (never a
/// wrapped or panicking multiplication: a historical or corrupted date is the user's data).
pub fn to_axis(days: i64, clock_ns: i64) -> Result<i64, String> {
    // In i128: the first representable day starts before the axis does (1677-09-21T00:00 is
    // outside, 00:12:43.145224192 is its first instant).
    i64::try_from(i128::from(days) * i128::from(NS_PER_DAY) + i128::from(clock_ns))
        .map_err(|_| outside_axis())
}

/// Why a time cannot be stored: the axis and its range.
pub fn outside_axis() -> String {
    format!(
        "outside the time axis quakeline stores (int64 nanoseconds since 1970, as numpy \
         datetime64[ns]: {AXIS_FIRST} to {AXIS_LAST})"
    )
}

/// `start + i · step` on the axis, checked.
pub fn step(start_ns: i64, i: i64, step_ns: i64) -> Result<i64, String> {
    i.checked_mul(step_ns)
        .and_then(|o| start_ns.checked_add(o))
        .ok_or_else(outside_axis)
}

/// Days since 1970-01-01 of a proleptic Gregorian date.
///
/// ```
/// use quakeline::time::{civil_from_days, days_from_civil};
/// assert_eq!(days_from_civil(2014, 11, 1), 16375); // numpy: np.datetime64('2014-11-01').astype(int)
/// assert_eq!(civil_from_days(16375), (2014, 11, 1));
/// ```
pub fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let m = month as i64;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + day as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The (year, month, day) of a day count since 1970-01-01.
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

pub fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        _ => 28,
    }
}

/// Days since 1970-01-01 of `YYYY<sep>MM<sep>DD` (ISO 8601 uses `-`, IMS1.0 bulletins `/`), or
/// `None` if it is not a valid calendar date.
pub fn parse_date(text: &str, sep: char) -> Option<i64> {
    let mut parts = text.split(sep);
    let (y, m, d) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || y.len() != 4 {
        return None;
    }
    let (y, m, d): (i64, u32, u32) = (y.parse().ok()?, m.parse().ok()?, d.parse().ok()?);
    ((1..=12).contains(&m) && d >= 1 && d <= days_in_month(y, m)).then(|| days_from_civil(y, m, d))
}

/// Nanoseconds after midnight of `HH:MM[:SS[.fff…]]`, or `None`. Digits beyond nanoseconds are
/// dropped; second 60 (a leap second) is accepted and lands on the next second, as numpy does.
pub fn parse_clock(text: &str) -> Option<i64> {
    let mut parts = text.split(':');
    let (h, mi, sec) = (parts.next()?, parts.next()?, parts.next().unwrap_or("0"));
    if parts.next().is_some() {
        return None;
    }
    let (sec, frac) = sec.split_once('.').unwrap_or((sec, ""));
    let (h, mi, s): (i64, i64, i64) = (h.parse().ok()?, mi.parse().ok()?, sec.parse().ok()?);
    if !(0..24).contains(&h)
        || !(0..60).contains(&mi)
        || !(0..=60).contains(&s)
        || !frac.chars().all(|c| c.is_ascii_digit())
    {
        return None;
    }
    let frac_ns: i64 = if frac.is_empty() {
        0
    } else {
        format!("{:0<9}", &frac[..frac.len().min(9)]).parse().ok()?
    };
    Some(((h * 60 + mi) * 60 + s) * NS_PER_S + frac_ns)
}

/// Parses an ISO 8601 / RFC 3339 UTC date-time as used by FDSN and QuakeML:
/// `YYYY-MM-DDTHH:MM:SS[.f…][Z]` (a space may replace `T`; `YYYY-MM-DD` alone is midnight;
/// an explicit `+00:00` is accepted, other offsets are rejected because catalogs are UTC).
pub fn parse_iso8601(text: &str) -> Result<i64, String> {
    let t = text.trim();
    let t = t
        .strip_suffix('Z')
        .or_else(|| t.strip_suffix("+00:00"))
        .unwrap_or(t);
    let (date, time) = t.split_once(['T', ' ']).unwrap_or((t, "00:00:00"));
    match (parse_date(date, '-'), parse_clock(time)) {
        (Some(days), Some(ns)) => to_axis(days, ns).map_err(|why| format!("`{text}` is {why}")),
        _ => Err(format!(
            "`{text}` is not a UTC date-time YYYY-MM-DDTHH:MM:SS[.sss][Z]"
        )),
    }
}

/// Formats nanoseconds since the epoch as RFC 3339 UTC with millisecond precision
/// (`2014-11-01T00:00:00.000Z`).
pub fn format_rfc3339(ns: i64) -> String {
    let days = ns.div_euclid(NS_PER_DAY);
    let rem = ns.rem_euclid(NS_PER_DAY);
    let (y, m, d) = civil_from_days(days);
    let secs = rem / NS_PER_S;
    let ms = (rem % NS_PER_S) / 1_000_000;
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{ms:03}Z",
        secs / 3600,
        (secs / 60) % 60,
        secs % 60
    )
}

/// The current wall-clock time as RFC 3339 UTC (provenance only; never part of a cache key).
pub fn now_rfc3339() -> String {
    let ns = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as i64)
        .unwrap_or(0);
    format_rfc3339(ns)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_round_trip_over_four_centuries() {
        for days in (-200_000..200_000).step_by(37) {
            let (y, m, d) = civil_from_days(days);
            assert!(d >= 1 && d <= days_in_month(y, m));
            assert_eq!(days_from_civil(y, m, d), days);
        }
    }

    #[test]
    fn iso8601() {
        let t = days_from_civil(2012, 4, 11) * NS_PER_DAY + (8 * 3600 + 38 * 60 + 37) * NS_PER_S;
        assert_eq!(parse_iso8601("2012-04-11T08:38:37.00000"), Ok(t));
        assert_eq!(parse_iso8601("2012-04-11T08:38:37Z"), Ok(t));
        assert_eq!(parse_iso8601("2012-04-11 08:38:37.5"), Ok(t + 500_000_000));
        assert_eq!(
            parse_iso8601("2012-04-11"),
            Ok(days_from_civil(2012, 4, 11) * NS_PER_DAY)
        );
        assert!(parse_iso8601("2012-04-11T08:38:37+02:00").is_err());
        assert!(parse_iso8601("2012-02-30T00:00:00").is_err());
    }

    #[test]
    fn known_dates() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        // 2014-11-01 is day 16375 (numpy: np.datetime64('2014-11-01').astype(int)).
        assert_eq!(days_from_civil(2014, 11, 1), 16375);
        assert_eq!(days_from_civil(2000, 3, 1), 11017);
        assert_eq!(
            format_rfc3339(16375 * NS_PER_DAY + 61_500_000_000),
            "2014-11-01T00:01:01.500Z"
        );
        assert_eq!(format_rfc3339(-1_000_000), "1969-12-31T23:59:59.999Z");
    }

    /// The axis is exactly int64 nanoseconds: i64::MIN is 1677-09-21T00:12:43.145224192 and
    /// i64::MAX 2262-04-11T23:47:16.854775807 (Python: `datetime(1970, 1, 1) +
    /// timedelta(days=divmod(±2**63, 86400 * 10**9)[0])` plus the remainder).
    #[test]
    fn the_axis_is_checked_at_both_ends() {
        let last_day = days_from_civil(2262, 4, 11);
        let last = to_axis(
            last_day,
            ((23 * 60 + 47) * 60 + 16) * NS_PER_S + 854_775_807,
        );
        assert_eq!(last, Ok(i64::MAX));
        assert!(
            to_axis(
                last_day,
                ((23 * 60 + 47) * 60 + 16) * NS_PER_S + 854_775_808
            )
            .is_err()
        );
        let first_day = days_from_civil(1677, 9, 21);
        let first = to_axis(first_day, (12 * 60 + 43) * NS_PER_S + 145_224_192);
        assert_eq!(first, Ok(i64::MIN));
        assert!(to_axis(first_day, (12 * 60 + 43) * NS_PER_S + 145_224_191).is_err());
        let e = parse_iso8601("1500-11-01T00:00:00Z").unwrap_err();
        assert!(
            e.contains("`1500-11-01T00:00:00Z` is outside the time axis") && e.contains(AXIS_FIRST),
            "{e}"
        );
        assert!(parse_iso8601("2500-01-01").unwrap_err().contains(AXIS_LAST));
        assert_eq!(step(0, 3, 60 * NS_PER_S), Ok(180 * NS_PER_S));
        assert!(step(i64::MAX - 10, 1, 60).is_err());
    }
}
