//! Parsing Virtuous `modifiedDateTimeUtc` strings into milliseconds since the Unix epoch.
//!
//! Accepted: `YYYY-MM-DDTHH:MM:SS`, optionally followed by a fraction (`.f` to `.fffffffff`, truncated
//! to milliseconds) and optionally by `Z`/`z` or a `+HH:MM` / `-HH:MM` / `+HHMM` offset. A space may
//! replace the `T`. A string without zone is read as UTC, as the field name says. Years 1000–9999.

use std::fmt;

/// Why a timestamp string could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TimeError {
    /// The text does not have the `YYYY-MM-DDTHH:MM:SS[.fff][Z|±HH:MM]` shape.
    Malformed {
        /// The text as given (truncated to 64 characters).
        text: String,
    },
    /// A component is out of range (month 13, 31 February, hour 24, ...).
    OutOfRange {
        /// The text as given (truncated to 64 characters).
        text: String,
    },
}

impl TimeError {
    /// Stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            TimeError::Malformed { .. } => "time-malformed",
            TimeError::OutOfRange { .. } => "time-out-of-range",
        }
    }
}

impl fmt::Display for TimeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TimeError::Malformed { text } => write!(f, "not an ISO-8601 date-time: {text:?}"),
            TimeError::OutOfRange { text } => {
                write!(f, "date-time component out of range: {text:?}")
            }
        }
    }
}

impl std::error::Error for TimeError {}

fn clip(text: &str) -> String {
    text.chars().take(64).collect()
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's `days_from_civil`).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ => {
            if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 {
                29
            } else {
                28
            }
        }
    }
}

struct Cursor<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl Cursor<'_> {
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }
    fn eat(&mut self, b: u8) -> bool {
        if self.peek() == Some(b) {
            self.pos += 1;
            true
        } else {
            false
        }
    }
    fn digits(&mut self, n: usize) -> Option<i64> {
        let mut v: i64 = 0;
        for _ in 0..n {
            let c = self.peek()?;
            if !c.is_ascii_digit() {
                return None;
            }
            v = v * 10 + i64::from(c - b'0');
            self.pos += 1;
        }
        Some(v)
    }
}

/// Parse an ISO-8601 date-time into milliseconds since the Unix epoch (UTC).
///
/// ```
/// use virtuous_sync::sync::parse_utc_ms;
/// assert_eq!(parse_utc_ms("1970-01-01T00:00:01Z").unwrap(), 1000);
/// assert_eq!(parse_utc_ms("1970-01-01T00:00:01.5").unwrap(), 1500);
/// ```
pub fn parse_utc_ms(text: &str) -> Result<i64, TimeError> {
    let malformed = || TimeError::Malformed { text: clip(text) };
    let range = || TimeError::OutOfRange { text: clip(text) };
    let mut c = Cursor {
        bytes: text.trim().as_bytes(),
        pos: 0,
    };
    let year = c.digits(4).ok_or_else(malformed)?;
    if !c.eat(b'-') {
        return Err(malformed());
    }
    let month = c.digits(2).ok_or_else(malformed)?;
    if !c.eat(b'-') {
        return Err(malformed());
    }
    let day = c.digits(2).ok_or_else(malformed)?;
    if !(c.eat(b'T') || c.eat(b't') || c.eat(b' ')) {
        return Err(malformed());
    }
    let hour = c.digits(2).ok_or_else(malformed)?;
    if !c.eat(b':') {
        return Err(malformed());
    }
    let minute = c.digits(2).ok_or_else(malformed)?;
    if !c.eat(b':') {
        return Err(malformed());
    }
    let second = c.digits(2).ok_or_else(malformed)?;
    let mut millis: i64 = 0;
    if c.eat(b'.') || c.eat(b',') {
        let mut n = 0usize;
        while let Some(d) = c.peek().filter(u8::is_ascii_digit) {
            if n < 3 {
                millis = millis * 10 + i64::from(d - b'0');
            }
            n += 1;
            c.pos += 1;
        }
        if n == 0 || n > 9 {
            return Err(malformed());
        }
        for _ in n..3 {
            millis *= 10;
        }
    }
    let mut offset_min: i64 = 0;
    match c.peek() {
        None => {}
        Some(b'Z') | Some(b'z') => c.pos += 1,
        Some(sign @ (b'+' | b'-')) => {
            c.pos += 1;
            let oh = c.digits(2).ok_or_else(malformed)?;
            c.eat(b':');
            let om = c.digits(2).ok_or_else(malformed)?;
            if oh > 23 || om > 59 {
                return Err(range());
            }
            offset_min = oh * 60 + om;
            if sign == b'-' {
                offset_min = -offset_min;
            }
        }
        Some(_) => return Err(malformed()),
    }
    if c.peek().is_some() {
        return Err(malformed());
    }
    if year < 1000
        || !(1..=12).contains(&month)
        || day < 1
        || day > days_in_month(year, month)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return Err(range());
    }
    // Leap second 60 is folded onto the next second, as most systems do.
    let days = days_from_civil(year, month, day);
    let secs = days * 86_400 + hour * 3_600 + minute * 60 + second - offset_min * 60;
    secs.checked_mul(1000)
        .and_then(|ms| ms.checked_add(millis))
        .ok_or_else(range)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn epoch_and_known_dates() {
        assert_eq!(parse_utc_ms("1970-01-01T00:00:00Z").unwrap(), 0);
        assert_eq!(
            parse_utc_ms("2000-03-01T00:00:00").unwrap(),
            951_868_800_000
        );
        assert_eq!(
            parse_utc_ms("2024-02-29T12:34:56.789Z").unwrap(),
            1_709_210_096_789
        );
        assert_eq!(
            parse_utc_ms("2024-02-29 12:34:56.7891234").unwrap(),
            1_709_210_096_789
        );
        assert_eq!(parse_utc_ms("1969-12-31T23:59:59Z").unwrap(), -1000);
    }

    #[test]
    fn offsets() {
        let z = parse_utc_ms("2024-05-01T10:00:00Z").unwrap();
        assert_eq!(parse_utc_ms("2024-05-01T12:00:00+02:00").unwrap(), z);
        assert_eq!(parse_utc_ms("2024-05-01T05:30:00-0430").unwrap(), z);
    }

    #[test]
    fn rejects() {
        for bad in [
            "",
            "2024",
            "2024-05-01",
            "2024-05-01T10:00",
            "2024-05-01T10:00:00X",
            "2024-05-01T10:00:00.",
            "24-05-01T10:00:00",
            "2024-05-01T10:00:00Zjunk",
            "２０２４-05-01T10:00:00",
        ] {
            assert_eq!(
                parse_utc_ms(bad).unwrap_err().code(),
                "time-malformed",
                "{bad}"
            );
        }
        for bad in [
            "2023-02-29T00:00:00",
            "2024-13-01T00:00:00",
            "2024-01-01T24:00:00",
            "0999-01-01T00:00:00",
        ] {
            assert_eq!(
                parse_utc_ms(bad).unwrap_err().code(),
                "time-out-of-range",
                "{bad}"
            );
        }
    }

    #[test]
    fn roundtrip_many_days() {
        // Every day from 1999 to 2031 increases by exactly one day.
        let mut prev = parse_utc_ms("1999-01-01T00:00:00").unwrap();
        for y in 1999..2032 {
            for m in 1..=12 {
                for d in 1..=days_in_month(y, m) {
                    if (y, m, d) == (1999, 1, 1) {
                        continue;
                    }
                    let t = parse_utc_ms(&format!("{y:04}-{m:02}-{d:02}T00:00:00Z")).unwrap();
                    assert_eq!(t - prev, 86_400_000);
                    prev = t;
                }
            }
        }
    }
}
