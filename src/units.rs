//! Physical units written in pipeline files.
//!
//! Durations are strings with an explicit unit (`"90s"`, `"3m"`, `"1h"`, `"7d"`, `"2w"`) because a bare
//! number is ambiguous between samples, seconds and minutes, and an ambiguity in a shared pipeline file
//! silently changes the science. Their canonical form (what enters the cache key) is whole
//! nanoseconds, so `"3m"` and `"180s"` name the same computation. Months and years are not accepted:
//! they have no fixed length.

/// Parses `"<number><unit>"` with unit one of `ms`, `s`, `m`, `h`, `d`, `w` into nanoseconds.
///
/// ```
/// use quakeline::units::parse_duration_ns;
/// assert_eq!(parse_duration_ns("3m"), Ok(180_000_000_000));
/// assert_eq!(parse_duration_ns("3m"), parse_duration_ns("180s"));
/// assert!(parse_duration_ns("3").is_err()); // a unit is required
/// ```
pub fn parse_duration_ns(text: &str) -> Result<i64, String> {
    let t = text.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .ok_or_else(|| format!("`{text}` has no unit; write e.g. \"3m\" (s, m, h, d, w, ms)"))?;
    let (num, unit) = t.split_at(split);
    let value: f64 = num
        .parse()
        .map_err(|_| format!("`{text}` does not start with a number; write e.g. \"3m\""))?;
    let scale: f64 = match unit.trim() {
        "ms" => 1e6,
        "s" => 1e9,
        "m" | "min" => 60e9,
        "h" => 3600e9,
        "d" => 86_400e9,
        "w" => 7.0 * 86_400e9,
        other => {
            return Err(format!(
                "`{other}` in `{text}` is not a duration unit; use ms, s, m (minutes), h, d or w"
            ));
        }
    };
    let ns = value * scale;
    if !ns.is_finite() || ns > 1e18 {
        return Err(format!("`{text}` is out of range"));
    }
    if (ns - ns.round()).abs() > 1e-3 {
        return Err(format!("`{text}` is not a whole number of nanoseconds"));
    }
    Ok(ns.round() as i64)
}

/// Formats nanoseconds with the largest unit that divides it exactly (inverse of [`parse_duration_ns`]).
pub fn format_duration_ns(ns: i64) -> String {
    const UNITS: [(i64, &str); 6] = [
        (7 * 86_400_000_000_000, "w"),
        (86_400_000_000_000, "d"),
        (3_600_000_000_000, "h"),
        (60_000_000_000, "m"),
        (1_000_000_000, "s"),
        (1_000_000, "ms"),
    ];
    for (scale, unit) in UNITS {
        if ns != 0 && ns % scale == 0 {
            return format!("{}{unit}", ns / scale);
        }
    }
    format!("{}s", ns as f64 / 1e9)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration_ns("3m").unwrap(), 180_000_000_000);
        assert_eq!(
            parse_duration_ns("180s").unwrap(),
            parse_duration_ns("3m").unwrap()
        );
        assert_eq!(parse_duration_ns("7d").unwrap(), 604_800_000_000_000);
        assert_eq!(parse_duration_ns("1.5h").unwrap(), 5_400_000_000_000);
        assert!(parse_duration_ns("3").unwrap_err().contains("no unit"));
        assert!(
            parse_duration_ns("3y")
                .unwrap_err()
                .contains("not a duration unit")
        );
        assert_eq!(format_duration_ns(180_000_000_000), "3m");
        assert_eq!(format_duration_ns(604_800_000_000_000), "1w");
        assert_eq!(format_duration_ns(90_000_000_000), "90s");
    }
}
