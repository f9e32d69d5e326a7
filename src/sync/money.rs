//! Exact decimal money: parsed from decimal strings or JSON numbers into a scaled integer, never `f64`.

use serde_json::Value;
use std::fmt;

/// Fractional digits kept exactly (micro-units). More precise input is rejected, not rounded.
pub const MONEY_SCALE: u32 = 6;
const SCALE_FACTOR: i64 = 1_000_000;

/// An exact decimal amount in millionths of a currency unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Money {
    /// The amount times 10^6.
    pub micros: i64,
}

/// Why a value is not an exact money amount.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum MoneyError {
    /// Not a decimal number (`"12,50"`, `"abc"`, `true`, an object...).
    NotDecimal,
    /// More than six fractional digits.
    TooPrecise,
    /// Too large to hold exactly.
    Overflow,
}

impl MoneyError {
    /// Stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            MoneyError::NotDecimal => "money-not-decimal",
            MoneyError::TooPrecise => "money-too-precise",
            MoneyError::Overflow => "money-overflow",
        }
    }
}

impl fmt::Display for MoneyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MoneyError::NotDecimal => f.write_str("not a decimal amount"),
            MoneyError::TooPrecise => f.write_str("more than 6 fractional digits"),
            MoneyError::Overflow => f.write_str("amount too large"),
        }
    }
}

impl std::error::Error for MoneyError {}

impl Money {
    /// Parse decimal text: optional sign, digits, optional `.digits`, optional exponent (`1.5e2`).
    pub fn parse_str(text: &str) -> Result<Money, MoneyError> {
        let t = text.trim();
        let (neg, rest) = match t.as_bytes().first() {
            Some(b'-') => (true, t.get(1..).unwrap_or("")),
            Some(b'+') => (false, t.get(1..).unwrap_or("")),
            _ => (false, t),
        };
        let (mantissa, exp) = match rest.find(['e', 'E']) {
            Some(i) => {
                let e = rest.get(i + 1..).unwrap_or("");
                let e: i32 = e.parse().map_err(|_| MoneyError::NotDecimal)?;
                (rest.get(..i).unwrap_or(""), e)
            }
            None => (rest, 0),
        };
        let (int_part, frac_part) = match mantissa.split_once('.') {
            Some((i, f)) => (i, f),
            None => (mantissa, ""),
        };
        if (int_part.is_empty() && frac_part.is_empty())
            || !int_part.bytes().all(|b| b.is_ascii_digit())
            || !frac_part.bytes().all(|b| b.is_ascii_digit())
        {
            return Err(MoneyError::NotDecimal);
        }
        // digits as an integer with `frac_len` implied decimals, then shift by the exponent.
        let mut digits: i128 = 0;
        for b in int_part.bytes().chain(frac_part.bytes()) {
            digits = digits
                .checked_mul(10)
                .and_then(|d| d.checked_add(i128::from(b - b'0')))
                .ok_or(MoneyError::Overflow)?;
        }
        let frac_len = i64::try_from(frac_part.len()).map_err(|_| MoneyError::Overflow)?;
        // value = digits * 10^(exp - frac_len); micros = digits * 10^(exp - frac_len + 6)
        let shift = i64::from(exp) - frac_len + i64::from(MONEY_SCALE);
        let mut v = digits;
        if shift >= 0 {
            for _ in 0..shift.min(40) {
                v = v.checked_mul(10).ok_or(MoneyError::Overflow)?;
            }
            if shift > 40 && v != 0 {
                return Err(MoneyError::Overflow);
            }
        } else {
            for _ in 0..(-shift).min(60) {
                if v % 10 != 0 {
                    return Err(MoneyError::TooPrecise);
                }
                v /= 10;
            }
            if -shift > 60 && v != 0 {
                return Err(MoneyError::TooPrecise);
            }
        }
        let v = if neg { -v } else { v };
        let micros = i64::try_from(v).map_err(|_| MoneyError::Overflow)?;
        Ok(Money { micros })
    }

    /// Parse a JSON string or number. Numbers are read from their decimal text, never as floats.
    pub fn from_json(value: &Value) -> Result<Money, MoneyError> {
        match value {
            Value::String(s) => Money::parse_str(s),
            Value::Number(n) => Money::parse_str(&n.to_string()),
            _ => Err(MoneyError::NotDecimal),
        }
    }

    /// Checked sum.
    pub fn checked_add(self, other: Money) -> Option<Money> {
        self.micros
            .checked_add(other.micros)
            .map(|micros| Money { micros })
    }

    /// Canonical text: no trailing zeros, no trailing point (`500`, `12.5`, `-0.01`).
    pub fn canonical(&self) -> String {
        self.render(0)
    }

    /// Text with at least two fractional digits (`500.00`, `12.50`, `0.125`), as sent to Virtuous.
    pub fn to_request_string(&self) -> String {
        self.render(2)
    }

    fn render(&self, min_frac: usize) -> String {
        let neg = self.micros < 0;
        let abs = self.micros.unsigned_abs();
        let int = abs / SCALE_FACTOR.unsigned_abs();
        let frac = abs % SCALE_FACTOR.unsigned_abs();
        let mut frac_s = format!("{frac:06}");
        while frac_s.len() > min_frac && frac_s.ends_with('0') {
            frac_s.pop();
        }
        let sign = if neg { "-" } else { "" };
        if frac_s.is_empty() {
            format!("{sign}{int}")
        } else {
            format!("{sign}{int}.{frac_s}")
        }
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.canonical())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn equal_forms() {
        let a = Money::from_json(&json!(500)).unwrap();
        assert_eq!(Money::from_json(&json!(500.0)).unwrap(), a);
        assert_eq!(Money::from_json(&json!("500.00")).unwrap(), a);
        assert_eq!(Money::parse_str("5e2").unwrap(), a);
        assert_eq!(a.canonical(), "500");
        assert_eq!(a.to_request_string(), "500.00");
        assert_eq!(Money::parse_str("0.1").unwrap().micros, 100_000);
        assert_eq!(Money::from_json(&json!(0.1)).unwrap().micros, 100_000);
        assert_eq!(Money::parse_str("-12.5").unwrap().canonical(), "-12.5");
        assert_eq!(Money::parse_str(".5").unwrap().to_request_string(), "0.50");
        assert_eq!(
            Money::parse_str("0.125").unwrap().to_request_string(),
            "0.125"
        );
    }

    #[test]
    fn sums_are_exact() {
        let mut s = Money { micros: 0 };
        for _ in 0..10 {
            s = s.checked_add(Money::parse_str("0.1").unwrap()).unwrap();
        }
        assert_eq!(s, Money::parse_str("1").unwrap());
    }

    #[test]
    fn rejects() {
        for bad in ["", "abc", "12,50", "1.2.3", "--1", "1e", "."] {
            assert_eq!(
                Money::parse_str(bad).unwrap_err(),
                MoneyError::NotDecimal,
                "{bad}"
            );
        }
        assert_eq!(
            Money::parse_str("0.0000001").unwrap_err(),
            MoneyError::TooPrecise
        );
        assert_eq!(Money::parse_str("1e30").unwrap_err(), MoneyError::Overflow);
        assert_eq!(
            Money::parse_str("1e99999").unwrap_err(),
            MoneyError::Overflow
        );
        assert_eq!(
            Money::parse_str("1e-99999").unwrap_err(),
            MoneyError::TooPrecise
        );
        assert_eq!(Money::parse_str("0e99999").unwrap().micros, 0);
        assert_eq!(
            Money::from_json(&json!(true)).unwrap_err(),
            MoneyError::NotDecimal
        );
    }
}
