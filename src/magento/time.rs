//! Magento's timestamps: `YYYY-MM-DD hh:mm:ss`, UTC, one-second resolution.
//! They sort as text, and they convert to and from Unix seconds here for the
//! overlap arithmetic and the file names (UTC too: the ERP only needs names
//! that sort, and UTC names never repeat when the clocks go back).

use jiff::civil::DateTime;
use jiff::tz::TimeZone;
use jiff::Timestamp;
use ponte_layout::schema::Date;

/// Unix seconds now.
pub(crate) fn now_secs() -> i64 {
    Timestamp::now().as_second()
}

/// `2026-11-27 09:41:07` (a `T` or a fractional part are accepted too) as
/// Unix seconds; `None` when it is not a timestamp.
pub fn parse(text: &str) -> Option<i64> {
    let d = parse_date(text)?;
    let civil = DateTime::new(
        i16::try_from(d.year).ok()?,
        i8::try_from(d.month).ok()?,
        i8::try_from(d.day).ok()?,
        i8::try_from(d.hour).ok()?,
        i8::try_from(d.minute).ok()?,
        i8::try_from(d.second).ok()?,
        0,
    )
    .ok()?;
    let zoned = civil.to_zoned(TimeZone::UTC).ok()?;
    Some(zoned.timestamp().as_second())
}

/// A Magento timestamp as a record date with its time of day.
pub(crate) fn parse_date(text: &str) -> Option<Date> {
    let b = text.trim().as_bytes();
    if b.len() < 19 || !matches!(b[10], b' ' | b'T') {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<u32> {
        let s = std::str::from_utf8(&b[r]).ok()?;
        if !s.bytes().all(|c| c.is_ascii_digit()) {
            return None;
        }
        s.parse().ok()
    };
    if b[4] != b'-' || b[7] != b'-' || b[13] != b':' || b[16] != b':' {
        return None;
    }
    let d = Date {
        year: u16::try_from(num(0..4)?).ok()?,
        month: u8::try_from(num(5..7)?).ok()?,
        day: u8::try_from(num(8..10)?).ok()?,
        hour: u8::try_from(num(11..13)?).ok()?,
        minute: u8::try_from(num(14..16)?).ok()?,
        second: u8::try_from(num(17..19)?).ok()?,
        has_time: true,
    };
    d.is_valid().then_some(d)
}

/// Unix seconds in UTC; outside jiff's range (years -9999 to 9999), the
/// nearest end of it, as a clock can be wrong but a header cannot be unwritten.
fn utc(secs: i64) -> DateTime {
    let ts = Timestamp::from_second(secs).unwrap_or(if secs < 0 {
        Timestamp::MIN
    } else {
        Timestamp::MAX
    });
    ts.to_zoned(TimeZone::UTC).datetime()
}

/// Unix seconds as a date with its time of day (UTC).
pub(crate) fn date(secs: i64) -> Date {
    let d = utc(secs);
    Date {
        year: d.year().clamp(0, 9999) as u16,
        month: d.month() as u8,
        day: d.day() as u8,
        hour: d.hour() as u8,
        minute: d.minute() as u8,
        second: d.second() as u8,
        has_time: true,
    }
}

/// Unix seconds as Magento writes them: `2026-11-27 09:41:07`.
pub(crate) fn format(secs: i64) -> String {
    utc(secs).strftime("%Y-%m-%d %H:%M:%S").to_string()
}

/// Unix seconds as a file-name stamp: `20261127094107`.
pub(crate) fn stamp(secs: i64) -> String {
    utc(secs).strftime("%Y%m%d%H%M%S").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        assert_eq!(parse("1970-01-01 00:00:00"), Some(0));
        assert_eq!(parse("2026-11-28 09:45:00"), Some(1_795_859_100));
        assert_eq!(format(1_795_859_100), "2026-11-28 09:45:00");
        assert_eq!(stamp(1_795_859_100), "20261128094500");
        for s in [0, 951_782_400, 1_709_164_799, 1_795_859_100, 4_102_444_800] {
            assert_eq!(parse(&format(s)), Some(s), "{s}");
        }
        assert_eq!(parse("2026-11-28T09:45:00.123Z"), Some(1_795_859_100));
    }

    #[test]
    fn refuses_what_is_not_a_timestamp() {
        for t in [
            "",
            "2026-11-28",
            "2026-13-01 00:00:00",
            "2026-02-30 00:00:00",
            "2026/11/28 09:45:00",
            "2026-11-28 9:45:00x",
        ] {
            assert_eq!(parse(t), None, "{t}");
        }
    }
}
