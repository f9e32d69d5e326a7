//! Virtuous `modifiedDateTimeUtc` strings to and from milliseconds since the Unix epoch.
//!
//! Virtuous writes ISO-8601 date-times with or without a trailing `Z`, with or without a
//! fraction (`2024-03-05T14:02:11`, `2024-03-05T14:02:11.4533333`, `2024-03-05T14:02:11.45Z`).
//! A string without an offset is UTC (the field's name says so). Offsets `+hh:mm`/`-hh:mm` are
//! accepted too. Fractions beyond milliseconds are truncated (never rounded up, so a parsed time
//! never lies after the real one). No clock is read anywhere.

use core::fmt;

/// A string that is not a date-time this parser accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TimeError {
    /// The text does not have the `YYYY-MM-DDTHH:MM:SS[.fff][Z|±hh:mm]` shape.
    Malformed(String),
    /// A component is out of range (month 13, 31 February, hour 25...).
    OutOfRange(String),
}

impl TimeError {
    /// The stable kebab-case code.
    pub fn code(&self) -> &'static str {
        match self {
            TimeError::Malformed(_) => "malformed-time",
            TimeError::OutOfRange(_) => "time-out-of-range",
        }
    }
}

impl fmt::Display for TimeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TimeError::Malformed(s) => write!(f, "not an ISO-8601 date-time: {s:?}"),
            TimeError::OutOfRange(s) => write!(f, "date-time component out of range: {s:?}"),
        }
    }
}

impl std::error::Error for TimeError {}

fn digits(b: &[u8], from: usize, n: usize) -> Option<i64> {
    let part = b.get(from..from.checked_add(n)?)?;
    let mut v: i64 = 0;
    for &c in part {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v * 10 + i64::from(c - b'0');
    }
    Some(v)
}

fn is_leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

pub(crate) fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap(y) => 29,
        2 => 28,
        _ => 0,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// Parses a Virtuous date-time into milliseconds since the Unix epoch (UTC).
///
/// Accepted: `YYYY-MM-DD[T| ]HH:MM:SS`, optional `.` plus 1–9 fraction digits, optional `Z` or
/// `±hh:mm` / `±hhmm`; years 1000–9999. Surrounding whitespace is ignored.
pub fn parse_time(text: &str) -> Result<i64, TimeError> {
    let s = text.trim();
    let b = s.as_bytes();
    let bad = || TimeError::Malformed(s.to_string());
    let range = || TimeError::OutOfRange(s.to_string());
    if b.len() < 19
        || b.get(4) != Some(&b'-')
        || b.get(7) != Some(&b'-')
        || !matches!(b.get(10), Some(b'T' | b't' | b' '))
        || b.get(13) != Some(&b':')
        || b.get(16) != Some(&b':')
    {
        return Err(bad());
    }
    let year = digits(b, 0, 4).ok_or_else(bad)?;
    let month = digits(b, 5, 2).ok_or_else(bad)?;
    let day = digits(b, 8, 2).ok_or_else(bad)?;
    let hour = digits(b, 11, 2).ok_or_else(bad)?;
    let minute = digits(b, 14, 2).ok_or_else(bad)?;
    let second = digits(b, 17, 2).ok_or_else(bad)?;
    if year < 1000 || !(1..=12).contains(&month) {
        return Err(range());
    }
    if day < 1 || day > days_in_month(year, month) || hour > 23 || minute > 59 || second > 59 {
        return Err(range());
    }
    let mut i = 19;
    let mut millis: i64 = 0;
    if b.get(i) == Some(&b'.') {
        i += 1;
        let start = i;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            if i - start < 3 {
                millis = millis * 10 + i64::from(b.get(i).copied().unwrap_or(b'0') - b'0');
            }
            i += 1;
        }
        let n = i - start;
        if n == 0 || n > 9 {
            return Err(bad());
        }
        for _ in n..3 {
            millis *= 10;
        }
    }
    let offset_minutes: i64 = match b.get(i) {
        None => 0,
        Some(b'Z' | b'z') if i + 1 == b.len() => 0,
        Some(&sign @ (b'+' | b'-')) => {
            let hh = digits(b, i + 1, 2).ok_or_else(bad)?;
            let (mm, end) = if b.get(i + 3) == Some(&b':') {
                (digits(b, i + 4, 2).ok_or_else(bad)?, i + 6)
            } else {
                (digits(b, i + 3, 2).ok_or_else(bad)?, i + 5)
            };
            if end != b.len() {
                return Err(bad());
            }
            if hh > 23 || mm > 59 {
                return Err(range());
            }
            let v = hh * 60 + mm;
            if sign == b'-' {
                -v
            } else {
                v
            }
        }
        _ => return Err(bad()),
    };
    let days = days_from_civil(year, month, day);
    let secs = days * 86_400 + hour * 3600 + minute * 60 + second - offset_minutes * 60;
    Ok(secs * 1000 + millis)
}

/// The parsed time.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(optional_fields))]
#[serde(rename_all = "camelCase")]
pub struct ParsedTime {
    /// Milliseconds since the epoch.
    pub ms: i64,
    /// The same instant, normalised (`YYYY-MM-DDTHH:MM:SS.sssZ`).
    pub iso: String,
}

/// Formats milliseconds since the epoch as `YYYY-MM-DDTHH:MM:SS.sssZ`.
///
/// Times outside years 1000–9999 are clamped into that range (they cannot come from Virtuous).
pub fn format_time(ms: i64) -> String {
    const MIN: i64 = -30_610_224_000_000; // 1000-01-01T00:00:00Z
    const MAX: i64 = 253_402_300_799_999; // 9999-12-31T23:59:59.999Z
    let ms = ms.clamp(MIN, MAX);
    let secs = ms.div_euclid(1000);
    let millis = ms.rem_euclid(1000);
    let days = secs.div_euclid(86_400);
    let sod = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{millis:03}Z",
        sod / 3600,
        (sod % 3600) / 60,
        sod % 60
    )
}

/// Formats to whole seconds without a zone (`YYYY-MM-DDTHH:MM:SS`), rounding down.
pub fn format_time_seconds(ms: i64) -> String {
    let full = format_time(ms);
    full.get(..19).unwrap_or(&full).to_string()
}

/// Rounds a time down to its whole second.
pub fn floor_second(ms: i64) -> i64 {
    ms.div_euclid(1000).saturating_mul(1000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_variants() {
        let base = parse_time("2024-03-05T14:02:11Z").unwrap();
        assert_eq!(base, 1_709_647_331_000);
        assert_eq!(parse_time("2024-03-05T14:02:11").unwrap(), base);
        assert_eq!(parse_time("2024-03-05 14:02:11").unwrap(), base);
        assert_eq!(
            parse_time(" 2024-03-05T14:02:11.4533333 ").unwrap(),
            base + 453
        );
        assert_eq!(parse_time("2024-03-05T14:02:11.4Z").unwrap(), base + 400);
        assert_eq!(parse_time("2024-03-05T16:02:11+02:00").unwrap(), base);
        assert_eq!(parse_time("2024-03-05T09:02:11-0500").unwrap(), base);
        assert_eq!(parse_time("1970-01-01T00:00:00Z").unwrap(), 0);
        assert_eq!(parse_time("2000-02-29T00:00:00").unwrap(), 951_782_400_000);
    }

    #[test]
    fn rejects_garbage() {
        for s in [
            "",
            "2024-03-05",
            "2024-03-05T14:02",
            "2024/03/05T14:02:11",
            "2024-03-05T14:02:11.",
            "2024-03-05T14:02:11.1234567890",
            "2024-03-05T14:02:11ZZ",
            "2024-03-05T14:02:11+2",
            "２０２４-03-05T14:02:11",
            "2024-03-05T14:02:11 Z",
        ] {
            assert_eq!(parse_time(s).unwrap_err().code(), "malformed-time", "{s}");
        }
        for s in [
            "2023-02-29T00:00:00",
            "2024-13-01T00:00:00",
            "2024-00-01T00:00:00",
            "2024-01-01T24:00:00",
            "0999-01-01T00:00:00",
        ] {
            assert_eq!(
                parse_time(s).unwrap_err().code(),
                "time-out-of-range",
                "{s}"
            );
        }
    }

    #[test]
    fn round_trip() {
        for ms in [
            0,
            1_709_647_331_453,
            951_782_400_000,
            -86_400_000,
            4_102_444_800_123,
        ] {
            assert_eq!(parse_time(&format_time(ms)).unwrap(), ms);
        }
        assert_eq!(
            format_time_seconds(1_709_647_331_999),
            "2024-03-05T14:02:11"
        );
        assert_eq!(floor_second(1_999), 1_000);
        assert_eq!(floor_second(-1), -1_000);
    }

    proptest::proptest! {
        #[test]
        fn never_panics(s in ".{0,40}") {
            let _ = parse_time(&s);
        }

        #[test]
        fn format_parse_round_trip(ms in -30_610_224_000_000i64..253_402_300_799_999i64) {
            proptest::prop_assert_eq!(parse_time(&format_time(ms)).unwrap(), ms);
        }
    }
}
