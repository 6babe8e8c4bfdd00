//! The store keeps times as zero-padded epoch seconds (text that sorts);
//! operators read ISO 8601 with the local offset.

use jiff::tz::TimeZone;
use jiff::Timestamp;

/// `000001765000000` as `2025-12-06T05:46:40+01:00`; other text as it is
/// (a time already written as ISO), nothing for an empty one.
pub(crate) fn iso(stored: &str) -> Option<String> {
    let text = stored.trim();
    if text.is_empty() {
        return None;
    }
    match text.parse::<i64>() {
        Ok(secs) => Some(iso_of_secs(secs)),
        Err(_) => Some(text.to_string()),
    }
}

pub(crate) fn iso_of_secs(secs: i64) -> String {
    match Timestamp::from_second(secs) {
        Ok(ts) => ts
            .to_zoned(TimeZone::system())
            .strftime("%Y-%m-%dT%H:%M:%S%:z")
            .to_string(),
        Err(_) => secs.to_string(),
    }
}

/// Seconds since the epoch of a stored time, either form.
#[cfg(test)]
pub(crate) fn secs(stored: &str) -> Option<i64> {
    let text = stored.trim();
    text.parse::<i64>()
        .ok()
        .or_else(|| text.parse::<Timestamp>().ok().map(|t| t.as_second()))
}

pub(crate) fn now_secs() -> i64 {
    Timestamp::now().as_second()
}

/// `--since` as given: a date (`2026-12-01`, local midnight), or a full
/// timestamp with offset.
pub(crate) fn parse_since(text: &str) -> Result<i64, String> {
    if let Ok(ts) = text.parse::<Timestamp>() {
        return Ok(ts.as_second());
    }
    if let Ok(date) = text.parse::<jiff::civil::Date>() {
        return date
            .to_zoned(TimeZone::system())
            .map(|z| z.timestamp().as_second())
            .map_err(|e| format!("{text}: {e}"));
    }
    if let Ok(dt) = text.parse::<jiff::civil::DateTime>() {
        return dt
            .to_zoned(TimeZone::system())
            .map(|z| z.timestamp().as_second())
            .map_err(|e| format!("{text}: {e}"));
    }
    Err(format!(
        "{text}: not a date; use 2026-12-01, 2026-12-01T08:00 or 2026-12-01T08:00:00+01:00"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_epoch_text_reads_as_iso_with_offset() {
        let t = iso("000001765000000").unwrap();
        assert!(t.starts_with("2025-12-"), "{t}");
        assert!(
            t.contains('T') && (t.contains('+') || t.contains('-')),
            "{t}"
        );
        assert_eq!(secs(&t), Some(1_765_000_000));
        assert_eq!(iso(""), None);
    }

    #[test]
    fn since_takes_a_date_or_a_timestamp() {
        assert!(parse_since("2026-12-01").is_ok());
        assert_eq!(parse_since("2026-12-01T00:00:00+00:00"), Ok(1_796_083_200));
        assert!(parse_since("yesterday").is_err());
    }
}
