//! Magento's timestamps: `YYYY-MM-DD hh:mm:ss`, UTC, one-second resolution.
//! They sort as text, and they convert to and from Unix seconds here for the
//! overlap arithmetic and the file names (which are UTC too: ponte has no
//! time-zone database, and the ERP only needs names that sort).

use std::time::{SystemTime, UNIX_EPOCH};

use ponte_layout::schema::Date;

/// Unix seconds now.
pub fn now_secs() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// `2026-11-27 09:41:07` (a `T` or a fractional part are accepted too) as
/// Unix seconds; `None` when it is not a timestamp.
pub fn parse(text: &str) -> Option<i64> {
    let d = parse_date(text)?;
    Some(to_secs(&d))
}

/// A Magento timestamp as a record date with its time of day.
pub fn parse_date(text: &str) -> Option<Date> {
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

fn to_secs(d: &Date) -> i64 {
    // Howard Hinnant's days_from_civil.
    let (m, y) = (d.month as i64, d.year as i64);
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d.day as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    days * 86_400 + d.hour as i64 * 3600 + d.minute as i64 * 60 + d.second as i64
}

/// Unix seconds as a date with its time of day (UTC).
pub fn date(secs: i64) -> Date {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    Date {
        year: year.clamp(0, 9999) as u16,
        month: month as u8,
        day: day as u8,
        hour: (rem / 3600) as u8,
        minute: (rem % 3600 / 60) as u8,
        second: (rem % 60) as u8,
        has_time: true,
    }
}

/// Unix seconds as Magento writes them: `2026-11-27 09:41:07`.
pub fn format(secs: i64) -> String {
    let d = date(secs);
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02}",
        d.year, d.month, d.day, d.hour, d.minute, d.second
    )
}

/// Unix seconds as a file-name stamp: `20261127094107`.
pub fn stamp(secs: i64) -> String {
    let d = date(secs);
    format!(
        "{:04}{:02}{:02}{:02}{:02}{:02}",
        d.year, d.month, d.day, d.hour, d.minute, d.second
    )
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
