//! Whether the service's loops run: the scan and the orders poll each
//! beat here, and `/healthz` compares their last beat with their interval.

use std::collections::HashMap;
use std::sync::{LazyLock, Mutex};
use std::time::{Duration, Instant};

/// A loop that beats: the last beat, and how long it may go without one.
#[derive(Debug, Default)]
struct Beat {
    last: Option<Instant>,
    allowed: Option<Duration>,
    /// Busy with one long task (a file of a million products): alive,
    /// though it cannot beat until the task ends.
    busy: bool,
}

#[derive(Debug)]
pub struct Health {
    started: Instant,
    scan: Mutex<Beat>,
    orders: Mutex<Beat>,
    files: Mutex<HashMap<String, Instant>>,
}

static HEALTH: LazyLock<Health> = LazyLock::new(Health::new);

/// The process's health.
pub(crate) fn get() -> &'static Health {
    &HEALTH
}

/// The slack over an interval before a loop counts as late: a scan
/// waits for a file to be pushed, a poll for Magento's answers.
pub(crate) fn allowance(interval: Duration) -> Duration {
    interval * 2 + Duration::from_secs(30)
}

pub(crate) fn scanned() {
    get().beat_scan();
}

pub(crate) fn orders_polled(ok: bool) {
    if ok {
        get().beat_orders();
    }
}

pub(crate) fn file_seen(flow: &str) {
    if let Ok(mut f) = get().files.lock() {
        f.insert(flow.to_string(), Instant::now());
    }
}

impl Default for Health {
    fn default() -> Self {
        Health::new()
    }
}

impl Health {
    pub fn new() -> Health {
        Health {
            started: Instant::now(),
            scan: Mutex::default(),
            orders: Mutex::default(),
            files: Mutex::default(),
        }
    }

    /// The scan must beat within `scan`; the orders poll within `orders`
    /// when the service polls orders.
    pub fn expect(&self, scan: Duration, orders: Option<Duration>) {
        if let Ok(mut b) = self.scan.lock() {
            b.allowed = Some(scan);
        }
        if let Ok(mut b) = self.orders.lock() {
            b.allowed = orders;
        }
    }

    pub fn beat_scan(&self) {
        if let Ok(mut b) = self.scan.lock() {
            b.last = Some(Instant::now());
            b.busy = false;
        }
    }

    /// The scan loop took a file: it beats again when the file is done.
    pub(crate) fn scan_busy(&self) {
        if let Ok(mut b) = self.scan.lock() {
            b.busy = true;
        }
    }

    pub fn beat_orders(&self) {
        if let Ok(mut b) = self.orders.lock() {
            b.last = Some(Instant::now());
        }
    }

    /// When a file of `flow` was last handled, else when the service started.
    pub(crate) fn last_file(&self, flow: &str) -> Instant {
        self.files
            .lock()
            .ok()
            .and_then(|f| f.get(flow).copied())
            .unwrap_or(self.started)
    }

    /// What is late, in words; empty when all is well.
    pub(crate) fn late(&self) -> Vec<String> {
        let now = Instant::now();
        let mut late = Vec::new();
        for (name, beat) in [("scan", &self.scan), ("orders poll", &self.orders)] {
            let Ok(b) = beat.lock() else {
                late.push(format!("{name}: state unreadable"));
                continue;
            };
            let Some(allowed) = b.allowed.filter(|_| !b.busy) else {
                continue;
            };
            let since = now.duration_since(b.last.unwrap_or(self.started));
            if since > allowed {
                late.push(match b.last {
                    Some(_) => format!(
                        "{name}: last ran {}s ago, expected within {}s",
                        since.as_secs(),
                        allowed.as_secs()
                    ),
                    None => format!(
                        "{name}: has not run in the {}s since the start, expected within {}s",
                        since.as_secs(),
                        allowed.as_secs()
                    ),
                });
            }
        }
        late
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_loop_is_late_once_its_allowance_passes_without_a_beat() {
        let h = Health::new();
        h.expect(Duration::from_millis(50), None);
        h.beat_scan();
        assert!(h.late().is_empty());
        std::thread::sleep(Duration::from_millis(80));
        let late = h.late();
        assert!(late.len() == 1 && late[0].starts_with("scan:"), "{late:?}");
        h.beat_scan();
        assert!(h.late().is_empty());
        // A file that takes long is work, not a stall.
        h.scan_busy();
        std::thread::sleep(Duration::from_millis(80));
        assert!(h.late().is_empty());
        h.beat_scan();
        std::thread::sleep(Duration::from_millis(80));
        assert_eq!(h.late().len(), 1);
    }
}
