//! The canonical form of an entity's fields as stored and compared: JSON
//! values typed by the schema (decimals as strings with their scale, dates
//! as ISO text). Hashing lays these out as the file would (see `bound`).

use std::borrow::Cow;

use serde_json::Value as Json;

use ponte_layout::record::line::Parsed;
use ponte_layout::record::{Charset, Decimal};
use ponte_layout::schema::{Date, FieldKind};

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Canon<'a> {
    Text(Cow<'a, str>),
    Integer(i64),
    Decimal(Decimal),
    Date(Date),
    Flag(bool),
    None,
}

impl<'a> Canon<'a> {
    pub(crate) fn from_parsed(charset: Charset, parsed: Parsed<'a>) -> Canon<'a> {
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
    pub(crate) fn from_json(kind: &FieldKind, value: &Json) -> Option<Canon<'static>> {
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

    pub(crate) fn into_value(self) -> ponte_layout::record::Value {
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

    pub(crate) fn to_json(&self) -> Json {
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

/// `YYYY-MM-DD` or `YYYY-MM-DDThh:mm:ss`, as `Date`'s Display writes them
/// and in no other spelling: the text must be what the date writes back,
/// which refuses what jiff would also read (`20261128`, a leap second, an
/// offset).
pub(crate) fn parse_iso_date(s: &str) -> Option<Date> {
    let (date, time) = match s.len() {
        10 => (s.parse::<jiff::civil::Date>().ok()?, None),
        19 if s.as_bytes()[10] == b'T' => {
            let dt = s.parse::<jiff::civil::DateTime>().ok()?;
            (dt.date(), Some(dt.time()))
        }
        _ => return None,
    };
    let d = Date {
        year: u16::try_from(date.year()).ok()?,
        month: date.month() as u8,
        day: date.day() as u8,
        hour: time.map_or(0, |t| t.hour() as u8),
        minute: time.map_or(0, |t| t.minute() as u8),
        second: time.map_or(0, |t| t.second() as u8),
        has_time: time.is_some(),
    };
    (d.is_valid() && d.to_string() == s).then_some(d)
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
        for bad in [
            "2026-11-28T08:30:60",
            "2026-11-28 08:30:00",
            "+02026-11-28",
            "2026-11-28T8:30:00Z",
        ] {
            assert!(parse_iso_date(bad).is_none(), "{bad}");
        }
    }
}
