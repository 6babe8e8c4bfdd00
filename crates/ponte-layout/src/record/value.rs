//! Typed field values, as they leave the parser and enter the writer.

use std::fmt;

pub use crate::schema::Date;

/// A fixed-point number: `units` of 10^-scale. `12.50` is `{1250, 2}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Decimal {
    pub units: i64,
    pub scale: u8,
}

impl Decimal {
    pub fn new(units: i64, scale: u8) -> Decimal {
        Decimal { units, scale }
    }

    /// Parses `-12.5` style text into the given scale; `None` if it has more
    /// decimals than the scale holds or does not fit.
    pub fn parse(text: &str, scale: u8) -> Option<Decimal> {
        let text = text.trim();
        let (negative, digits) = match text.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, text.strip_prefix('+').unwrap_or(text)),
        };
        let (int_part, frac_part) = digits.split_once('.').unwrap_or((digits, ""));
        if int_part.is_empty() && frac_part.is_empty()
            || !int_part.bytes().all(|b| b.is_ascii_digit())
            || !frac_part.bytes().all(|b| b.is_ascii_digit())
            || frac_part.len() > scale as usize
        {
            return None;
        }
        let mut units: i64 = 0;
        for b in int_part.bytes().chain(frac_part.bytes()) {
            units = units.checked_mul(10)?.checked_add((b - b'0') as i64)?;
        }
        for _ in frac_part.len()..scale as usize {
            units = units.checked_mul(10)?;
        }
        Some(Decimal::new(if negative { -units } else { units }, scale))
    }
}

impl fmt::Display for Decimal {
    /// Fixed notation with exactly `scale` decimals: `12.50`, `-3.000`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.units < 0 { "-" } else { "" };
        let abs = self.units.unsigned_abs();
        if self.scale == 0 {
            return write!(f, "{sign}{abs}");
        }
        let p = 10u64.pow(self.scale as u32);
        write!(
            f,
            "{sign}{}.{:0width$}",
            abs / p,
            abs % p,
            width = self.scale as usize
        )
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Text(String),
    Integer(i64),
    Decimal(Decimal),
    Date(Date),
    Flag(bool),
    /// A date field holding one of its "none" values.
    None,
}

impl Value {
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            Value::Text(s) => serde_json::Value::String(s.clone()),
            Value::Integer(n) => serde_json::Value::from(*n),
            Value::Decimal(d) => serde_json::Value::String(d.to_string()),
            Value::Date(d) => serde_json::Value::String(d.to_string()),
            Value::Flag(b) => serde_json::Value::Bool(*b),
            Value::None => serde_json::Value::Null,
        }
    }

    /// The value as a spreadsheet cell.
    pub fn to_cell(&self) -> String {
        match self {
            Value::Text(s) => s.clone(),
            Value::Integer(n) => n.to_string(),
            Value::Decimal(d) => d.to_string(),
            Value::Date(d) => d.to_string(),
            Value::Flag(b) => if *b { "true" } else { "false" }.to_string(),
            Value::None => String::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_print_in_fixed_notation_with_their_scale() {
        assert_eq!(Decimal::new(1250, 2).to_string(), "12.50");
        assert_eq!(Decimal::new(-3000, 3).to_string(), "-3.000");
        assert_eq!(Decimal::new(5, 3).to_string(), "0.005");
        assert_eq!(Decimal::new(42, 0).to_string(), "42");
    }

    #[test]
    fn decimals_parse_back() {
        assert_eq!(Decimal::parse("12.5", 2), Some(Decimal::new(1250, 2)));
        assert_eq!(Decimal::parse("-3", 3), Some(Decimal::new(-3000, 3)));
        assert_eq!(Decimal::parse("1.234", 2), None);
        assert_eq!(Decimal::parse("1,5", 2), None);
    }
}
