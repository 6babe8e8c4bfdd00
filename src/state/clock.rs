//! The store's times: ISO 8601 in UTC with its offset written out
//! (`2026-12-08T00:56:28+00:00`), to the second. One offset for every row
//! keeps them sorting as text, which the retry's "due" query relies on;
//! `local` shows one in the operator's time zone.

use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};

const FORMAT: &str = "%Y-%m-%dT%H:%M:%S%:z";

/// Now, as the store writes times.
pub(crate) fn now_text() -> String {
    text_of(Timestamp::now())
}

/// `seconds` from now, as the store writes times.
pub(crate) fn text_in(seconds: u64) -> String {
    let wait = SignedDuration::from_secs(i64::try_from(seconds).unwrap_or(i64::MAX));
    text_of(
        Timestamp::now()
            .saturating_add(wait)
            .unwrap_or(Timestamp::MAX),
    )
}

pub(super) fn text_of(at: Timestamp) -> String {
    at.to_zoned(TimeZone::UTC).strftime(FORMAT).to_string()
}

/// A stored time as an instant; `None` for text that is not one.
pub(crate) fn parse_text(text: &str) -> Option<Timestamp> {
    text.parse::<Timestamp>().ok()
}

/// A stored time in the operator's time zone (the system's, or `TZ`'s),
/// with its offset; text that is not a time is shown as it is.
#[cfg(test)]
pub(crate) fn local(text: &str) -> String {
    match parse_text(text) {
        Some(at) => at.to_zoned(TimeZone::system()).strftime(FORMAT).to_string(),
        None => text.to_string(),
    }
}

/// Seconds from `from` to `to`, both stored times.
pub(crate) fn seconds_between(from: &str, to: &str) -> Option<i64> {
    Some(parse_text(to)?.as_second() - parse_text(from)?.as_second())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_carry_their_offset_and_sort_as_text() {
        let now = now_text();
        assert!(now.ends_with("+00:00"), "{now}");
        assert_eq!(now.len(), "2026-12-08T00:56:28+00:00".len());
        let later = text_in(90);
        assert!(later > now);
        assert!(matches!(seconds_between(&now, &later), Some(90..=91)));
        assert!(parse_text("000001795859").is_none());
        assert_eq!(
            local("2026-11-28T08:30:00+00:00")
                .parse::<Timestamp>()
                .unwrap(),
            "2026-11-28T08:30:00Z".parse::<Timestamp>().unwrap()
        );
    }
}
