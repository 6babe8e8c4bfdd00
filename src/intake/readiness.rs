//! When a file in the share is complete. Size and mtime must stay still over
//! several checks spaced wider than the CIFS attribute cache, counted from
//! when ponte first saw the file (a Windows copy keeps the source's old
//! mtime, so age by mtime means nothing); or, where the flow requires it,
//! the export job's `NAME.ok` marker must exist. Either way the last line
//! must be the trailer: a file without it is still being written.

use std::collections::HashMap;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;
use std::time::{Duration, Instant, SystemTime};

use super::discovery::Candidate;

#[derive(Debug, Clone, Copy)]
pub(crate) struct Settle {
    pub checks: u32,
    pub spacing: Duration,
    /// A file unchanged this long without being ready is given up on.
    pub incomplete_after: Duration,
}

/// What a scan makes of a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Assessment {
    Ready,
    Waiting,
    /// Unchanged for `Settle::incomplete_after` and still not ready: an
    /// export that died halfway, a copy that broke off, an empty or
    /// foreign file. Left where it is, it would wait forever and hold back
    /// every newer file of its flow.
    Incomplete(String),
}

struct Watch {
    size: u64,
    modified: Option<SystemTime>,
    stable_checks: u32,
    last_check: Instant,
    /// When the file was first seen at this size and mtime.
    unchanged_since: Instant,
    /// Said once that it stays still without its trailer.
    warned: bool,
}

impl Watch {
    fn new(c: &Candidate, now: Instant) -> Watch {
        Watch {
            size: c.size,
            modified: c.modified,
            stable_checks: 0,
            last_check: now,
            unchanged_since: now,
            warned: false,
        }
    }
}

#[derive(Default)]
pub(crate) struct Readiness {
    seen: HashMap<String, Watch>,
}

impl Readiness {
    /// Whether `c` may be taken now, must still wait, or was waited for in
    /// vain. Call it on every scan; a check closer than `spacing` to the
    /// previous one does not count.
    pub(crate) fn assess(&mut self, c: &Candidate, settle: Settle, now: Instant) -> Assessment {
        let w = self
            .seen
            .entry(c.name.clone())
            .or_insert_with(|| Watch::new(c, now));
        if w.size != c.size || w.modified != c.modified {
            *w = Watch::new(c, now);
            return Assessment::Waiting;
        }
        let unchanged = now.duration_since(w.unchanged_since);
        let gave_up = unchanged >= settle.incomplete_after;
        if c.schema.requires_ok_marker {
            if marker_path(&c.path).exists() && ends_with_trailer(c) {
                return Assessment::Ready;
            }
            return match gave_up {
                true => Assessment::Incomplete(format!(
                    "unchanged for {} without being complete (its NAME.ok marker, which this flow \
                     requires, and a trailer as its last line): it looks truncated or abandoned",
                    humanize(unchanged)
                )),
                false => Assessment::Waiting,
            };
        }
        if now.duration_since(w.last_check) >= settle.spacing {
            w.stable_checks += 1;
            w.last_check = now;
        }
        if w.stable_checks < settle.checks {
            return Assessment::Waiting;
        }
        if ends_with_trailer(c) {
            return Assessment::Ready;
        }
        if gave_up {
            return Assessment::Incomplete(format!(
                "unchanged for {} and its last line is not the trailer: it looks truncated or \
                 incomplete (an export or a copy that broke off, an empty or foreign file)",
                humanize(unchanged)
            ));
        }
        // Still, yet without its trailer: an export that died halfway, or a
        // writer that paused. Left where it is until `incomplete_after`,
        // and said once, so that it does not wait in the share unnoticed.
        if !w.warned {
            w.warned = true;
            tracing::warn!(
                file = %c.name,
                size = c.size,
                "unchanged over {} checks but its last line is not the trailer: waiting for the rest (truncated export?); given up on after {}",
                settle.checks,
                humanize(settle.incomplete_after)
            );
        }
        Assessment::Waiting
    }

    /// Forgets a file once taken (or gone).
    pub(crate) fn forget(&mut self, name: &str) {
        self.seen.remove(name);
    }

    /// Forgets files no longer in the folder.
    pub(crate) fn retain(&mut self, present: &[Candidate]) {
        self.seen
            .retain(|name, _| present.iter().any(|c| &c.name == name));
    }
}

/// As the configuration writes durations; whole seconds, as finer parts
/// are the scan's clock, not the file's.
fn humanize(d: Duration) -> String {
    match d.as_secs() {
        s if s >= 3600 && s % 3600 == 0 => format!("{}h", s / 3600),
        s if s >= 60 && s % 60 == 0 => format!("{}m", s / 60),
        s => format!("{s}s"),
    }
}

pub(crate) fn marker_path(path: &Path) -> std::path::PathBuf {
    let mut s = path.as_os_str().to_os_string();
    s.push(".ok");
    std::path::PathBuf::from(s)
}

/// Whether the file's last line is its schema's trailer record, in the file
/// as the scan saw it: one that has changed since (a writer resuming) is
/// not, else the settle checks of the old size would vouch for the new one.
pub(crate) fn ends_with_trailer(c: &Candidate) -> bool {
    let tag = &c.schema.records[c.schema.trailer.record].tag_bytes;
    let Ok(mut f) = ponte_layout::record::open::open_file(&c.path) else {
        return false;
    };
    let len = f.metadata().map(|m| m.len()).unwrap_or(0);
    if len != c.size {
        return false;
    }
    let tail_len = len.min(4096);
    if f.seek(SeekFrom::Start(len - tail_len)).is_err() {
        return false;
    }
    let mut tail = Vec::with_capacity(tail_len as usize);
    if f.take(tail_len).read_to_end(&mut tail).is_err() {
        return false;
    }
    while matches!(tail.last(), Some(b'\n' | b'\r' | 0x1A)) {
        tail.pop();
    }
    let start = memchr::memrchr(b'\n', &tail).map_or(0, |i| i + 1);
    let last = &tail[start..];
    let at = c.schema.tag_start;
    last.get(at..at + c.schema.tag_len) == Some(tag.as_slice())
}
