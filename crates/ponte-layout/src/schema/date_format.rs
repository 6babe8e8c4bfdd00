//! Date layouts written with ERP-style tokens (`YYYYMMDD`, `YYYYMMDDhhmmss`,
//! `DD/MM/YYYY`), compiled once so that validating a date is a few byte
//! comparisons.

use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DatePart {
    Year,
    Month,
    Day,
    Hour,
    Minute,
    Second,
    Literal(u8),
}

impl DatePart {
    fn width(self) -> usize {
        match self {
            DatePart::Year => 4,
            DatePart::Literal(_) => 1,
            _ => 2,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DateFormat {
    pub text: String,
    pub parts: Vec<DatePart>,
    pub width: usize,
    pub has_time: bool,
}

impl DateFormat {
    pub fn parse(text: &str) -> Result<DateFormat, String> {
        const TOKENS: [(&str, DatePart); 6] = [
            ("YYYY", DatePart::Year),
            ("MM", DatePart::Month),
            ("DD", DatePart::Day),
            ("hh", DatePart::Hour),
            ("mm", DatePart::Minute),
            ("ss", DatePart::Second),
        ];
        let mut parts = Vec::new();
        let mut rest = text;
        'outer: while !rest.is_empty() {
            for (token, part) in TOKENS {
                if let Some(after) = rest.strip_prefix(token) {
                    if parts.contains(&part) {
                        return Err(format!("date format {text:?} has {token} twice"));
                    }
                    parts.push(part);
                    rest = after;
                    continue 'outer;
                }
            }
            let c = rest.chars().next().unwrap_or(' ');
            if c.is_ascii_alphanumeric() || !c.is_ascii() {
                return Err(format!(
                    "date format {text:?}: unknown token at {rest:?} (use YYYY MM DD hh mm ss and separators)"
                ));
            }
            parts.push(DatePart::Literal(c as u8));
            rest = &rest[1..];
        }
        for needed in [DatePart::Year, DatePart::Month, DatePart::Day] {
            if !parts.contains(&needed) {
                return Err(format!("date format {text:?} needs YYYY, MM and DD"));
            }
        }
        let has_time = parts.contains(&DatePart::Hour);
        if has_time && !(parts.contains(&DatePart::Minute)) {
            return Err(format!("date format {text:?} has hh without mm"));
        }
        let width = parts.iter().map(|p| p.width()).sum();
        Ok(DateFormat {
            text: text.to_string(),
            parts,
            width,
            has_time,
        })
    }

    /// Reads a date laid out in this format; `None` when it is not a real date.
    pub fn read(&self, bytes: &[u8]) -> Option<Date> {
        if bytes.len() != self.width {
            return None;
        }
        let mut date = Date {
            year: 0,
            month: 0,
            day: 0,
            hour: 0,
            minute: 0,
            second: 0,
            has_time: self.has_time,
        };
        let mut at = 0;
        for part in &self.parts {
            let w = part.width();
            let chunk = &bytes[at..at + w];
            at += w;
            if let DatePart::Literal(c) = part {
                if chunk[0] != *c {
                    return None;
                }
                continue;
            }
            let n = digits(chunk)?;
            match part {
                DatePart::Year => date.year = n as u16,
                DatePart::Month => date.month = n as u8,
                DatePart::Day => date.day = n as u8,
                DatePart::Hour => date.hour = n as u8,
                DatePart::Minute => date.minute = n as u8,
                DatePart::Second => date.second = n as u8,
                DatePart::Literal(_) => {}
            }
        }
        date.is_valid().then_some(date)
    }

    /// Lays a date out in this format.
    pub fn write(&self, date: &Date, out: &mut Vec<u8>) {
        for part in &self.parts {
            match part {
                DatePart::Year => push_num(out, date.year as u32, 4),
                DatePart::Month => push_num(out, date.month as u32, 2),
                DatePart::Day => push_num(out, date.day as u32, 2),
                DatePart::Hour => push_num(out, date.hour as u32, 2),
                DatePart::Minute => push_num(out, date.minute as u32, 2),
                DatePart::Second => push_num(out, date.second as u32, 2),
                DatePart::Literal(c) => out.push(*c),
            }
        }
    }
}

fn digits(chunk: &[u8]) -> Option<u32> {
    let mut n = 0u32;
    for &b in chunk {
        if !b.is_ascii_digit() {
            return None;
        }
        n = n * 10 + (b - b'0') as u32;
    }
    Some(n)
}

fn push_num(out: &mut Vec<u8>, n: u32, width: usize) {
    let s = format!("{n:0width$}");
    out.extend_from_slice(s.as_bytes());
}

/// A calendar date, with a time of day when the format has one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date {
    pub year: u16,
    pub month: u8,
    pub day: u8,
    pub hour: u8,
    pub minute: u8,
    pub second: u8,
    pub has_time: bool,
}

impl Date {
    pub fn is_valid(&self) -> bool {
        (1..=9999).contains(&self.year)
            && (1..=12).contains(&self.month)
            && self.day >= 1
            && self.day <= days_in_month(self.year, self.month)
            && self.hour < 24
            && self.minute < 60
            && self.second < 60
    }
}

pub fn days_in_month(year: u16, month: u8) -> u8 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400) => {
            29
        }
        2 => 28,
        _ => 0,
    }
}

impl fmt::Display for Date {
    /// ISO 8601: `2026-11-28`, or `2026-11-28T17:05:00` with a time.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)?;
        if self.has_time {
            write!(f, "T{:02}:{:02}:{:02}", self.hour, self.minute, self.second)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_and_writes_compact_and_separated_formats() {
        let f = DateFormat::parse("YYYYMMDDhhmmss").unwrap();
        let d = f.read(b"20261128170500").unwrap();
        assert_eq!(d.to_string(), "2026-11-28T17:05:00");
        let mut out = Vec::new();
        f.write(&d, &mut out);
        assert_eq!(out, b"20261128170500");

        let f = DateFormat::parse("DD/MM/YYYY").unwrap();
        assert_eq!(f.read(b"29/02/2024").unwrap().to_string(), "2024-02-29");
        assert!(f.read(b"29/02/2025").is_none());
        assert!(f.read(b"29-02-2024").is_none());
    }

    #[test]
    fn refuses_formats_without_a_whole_date() {
        assert!(DateFormat::parse("YYYYMM").is_err());
        assert!(DateFormat::parse("YYYYMMDDxx").is_err());
        assert!(DateFormat::parse("YYYYYYYYMMDD").is_err());
    }

    #[test]
    fn rejects_impossible_dates() {
        let f = DateFormat::parse("YYYYMMDD").unwrap();
        for bad in [&b"20261301"[..], b"20260431", b"00000101", b"2026013A"] {
            assert!(f.read(bad).is_none(), "{:?}", std::str::from_utf8(bad));
        }
    }
}
