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
pub struct Settle {
    pub checks: u32,
    pub spacing: Duration,
}

struct Watch {
    size: u64,
    modified: Option<SystemTime>,
    stable_checks: u32,
    last_check: Instant,
    /// Said once that it stays still without its trailer.
    warned: bool,
}

#[derive(Default)]
pub struct Readiness {
    seen: HashMap<String, Watch>,
}

impl Readiness {
    /// Whether `c` may be taken now. Call it on every scan; a check closer
    /// than `spacing` to the previous one does not count.
    pub fn is_ready(&mut self, c: &Candidate, settle: Settle, now: Instant) -> bool {
        let marker = marker_path(&c.path);
        if c.schema.requires_ok_marker {
            return marker.exists() && ends_with_trailer(c);
        }
        let w = self.seen.entry(c.name.clone()).or_insert(Watch {
            size: c.size,
            modified: c.modified,
            stable_checks: 0,
            last_check: now,
            warned: false,
        });
        if w.size != c.size || w.modified != c.modified {
            *w = Watch {
                size: c.size,
                modified: c.modified,
                stable_checks: 0,
                last_check: now,
                warned: false,
            };
            return false;
        }
        if now.duration_since(w.last_check) >= settle.spacing {
            w.stable_checks += 1;
            w.last_check = now;
        }
        if w.stable_checks < settle.checks {
            return false;
        }
        if ends_with_trailer(c) {
            return true;
        }
        // Still, yet without its trailer: an export that died halfway, or a
        // writer that paused. Left where it is, and said once, so that a
        // truncated file does not wait in the share unnoticed.
        if !w.warned {
            w.warned = true;
            tracing::warn!(
                file = %c.name,
                size = c.size,
                "unchanged over {} checks but its last line is not the trailer: waiting for the rest (truncated export?)",
                settle.checks
            );
        }
        false
    }

    /// Forgets a file once taken (or gone).
    pub fn forget(&mut self, name: &str) {
        self.seen.remove(name);
    }

    /// Forgets files no longer in the folder.
    pub fn retain(&mut self, present: &[Candidate]) {
        self.seen
            .retain(|name, _| present.iter().any(|c| &c.name == name));
    }
}

pub fn marker_path(path: &Path) -> std::path::PathBuf {
    let mut s = path.as_os_str().to_os_string();
    s.push(".ok");
    std::path::PathBuf::from(s)
}

/// Whether the file's last line is its schema's trailer record, in the file
/// as the scan saw it: one that has changed since (a writer resuming) is
/// not, else the settle checks of the old size would vouch for the new one.
pub fn ends_with_trailer(c: &Candidate) -> bool {
    let tag = &c.schema.records[c.schema.trailer.record].tag_bytes;
    let Ok(mut f) = crate::record::open::open_file(&c.path) else {
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
