//! The sync engine's date-times: one parser for the whole crate lives in [`crate::timestamp`];
//! this module keeps the sync-facing name and checks, in its tests, what the sync engine relies on.

pub use crate::timestamp::{parse_time as parse_utc_ms, TimeError};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::timestamp::days_in_month;

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
                "malformed-time",
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
