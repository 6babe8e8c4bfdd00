//! The canonical form of an entity's fields as stored and compared: JSON
//! values typed by the schema (decimals as strings with their scale, dates
//! as ISO text). Hashing lays these out as the file would (see `bound`).

use std::borrow::Cow;

use serde_json::Value as Json;

use ponte_layout::record::line::Parsed;
use ponte_layout::record::{Charset, Decimal};
use ponte_layout::schema::{Date, FieldKind};

#[derive(Debug, Clone, PartialEq)]
pub enum Canon<'a> {
    Text(Cow<'a, str>),
    Integer(i64),
    Decimal(Decimal),
    Date(Date),
    Flag(bool),
    None,
}

impl<'a> Canon<'a> {
    pub fn from_parsed(charset: Charset, parsed: Parsed<'a>) -> Canon<'a> {
        match parsed {
            Parsed::Text(b) => Canon::Text(charset.decode(b)),
            Parsed::Integer(n) => Canon::Integer(n),
            Parsed::Decimal(d) => Canon::Decimal(d),
            Parsed::Date(d) => Canon::Date(d),
            Parsed::Flag(b) => Canon::Flag(b),
            Parsed::None => Canon::None,
        }
    }

    /// Reads a stored JSON value back, given the field's type.
    pub fn from_json(kind: &FieldKind, value: &Json) -> Option<Canon<'static>> {
        Some(match (kind, value) {
            (_, Json::Null) => Canon::None,
            (FieldKind::Text { .. }, Json::String(s)) => Canon::Text(Cow::Owned(s.clone())),
            (FieldKind::Integer, Json::Number(n)) => Canon::Integer(n.as_i64()?),
            (FieldKind::Decimal { scale, .. }, Json::String(s)) => {
                Canon::Decimal(Decimal::parse(s, *scale)?)
            }
            (FieldKind::Decimal { scale, .. }, Json::Number(n)) => {
                Canon::Decimal(Decimal::parse(&n.to_string(), *scale)?)
            }
            (FieldKind::Date { .. }, Json::String(s)) => Canon::Date(parse_iso_date(s)?),
            (FieldKind::Flag { .. }, Json::Bool(b)) => Canon::Flag(*b),
            _ => return None,
        })
    }

    pub fn into_value(self) -> ponte_layout::record::Value {
        use ponte_layout::record::Value;
        match self {
            Canon::Text(s) => Value::Text(s.into_owned()),
            Canon::Integer(n) => Value::Integer(n),
            Canon::Decimal(d) => Value::Decimal(d),
            Canon::Date(d) => Value::Date(d),
            Canon::Flag(b) => Value::Flag(b),
            Canon::None => Value::None,
        }
    }

    pub fn to_json(&self) -> Json {
        match self {
            Canon::Text(s) => Json::String(s.to_string()),
            Canon::Integer(n) => Json::from(*n),
            Canon::Decimal(d) => Json::String(d.to_string()),
            Canon::Date(d) => Json::String(d.to_string()),
            Canon::Flag(b) => Json::Bool(*b),
            Canon::None => Json::Null,
        }
    }
}

/// `YYYY-MM-DD` or `YYYY-MM-DDThh:mm:ss`, as `Date`'s Display writes them.
pub fn parse_iso_date(s: &str) -> Option<Date> {
    let b = s.as_bytes();
    let num = |r: std::ops::Range<usize>| -> Option<u16> { s.get(r)?.parse().ok() };
    if b.len() != 10 && b.len() != 19 {
        return None;
    }
    if b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let mut d = Date {
        year: num(0..4)?,
        month: num(5..7)? as u8,
        day: num(8..10)? as u8,
        hour: 0,
        minute: 0,
        second: 0,
        has_time: b.len() == 19,
    };
    if d.has_time {
        if b[10] != b'T' || b[13] != b':' || b[16] != b':' {
            return None;
        }
        d.hour = num(11..13)? as u8;
        d.minute = num(14..16)? as u8;
        d.second = num(17..19)? as u8;
    }
    d.is_valid().then_some(d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_round_trip_keeps_the_encoding() {
        let dec = FieldKind::Decimal {
            scale: 2,
            trailing_sign: false,
        };
        let c = Canon::Decimal(Decimal::new(1250, 2));
        let back = Canon::from_json(&dec, &c.to_json()).unwrap();
        assert_eq!(back, c);
        assert_eq!(Canon::from_json(&dec, &serde_json::json!(12.5)), Some(c));
    }

    #[test]
    fn iso_dates() {
        assert_eq!(
            parse_iso_date("2026-11-28").unwrap().to_string(),
            "2026-11-28"
        );
        assert_eq!(
            parse_iso_date("2026-11-28T08:30:00").unwrap().to_string(),
            "2026-11-28T08:30:00"
        );
        assert!(parse_iso_date("2026-02-30").is_none());
        assert!(parse_iso_date("20261128").is_none());
    }
}
