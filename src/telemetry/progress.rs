//! Progress of a long piece of work at INFO, so that a large file (a
//! resume reading millions of lines, a push of thousands of products)
//! never leaves the log silent for long: every `EVERY`, and at each
//! quarter of the work when it is large.

use std::sync::mpsc::{channel, RecvTimeoutError, Sender};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// The longest silence while a long piece of work goes on.
pub(crate) const EVERY: Duration = Duration::from_secs(10);

/// Counts work done towards a known total.
pub(crate) struct Progress {
    what: String,
    total: u64,
    done: u64,
    quarters: bool,
    said_quarter: u64,
    last: Instant,
}

impl Progress {
    /// `quarters`: also say each 25% (for work large enough to take a while).
    pub fn new(what: impl Into<String>, total: u64, quarters: bool) -> Progress {
        Progress {
            what: what.into(),
            total,
            done: 0,
            quarters,
            said_quarter: 0,
            last: Instant::now(),
        }
    }

    pub(crate) fn advance(&mut self, n: u64) {
        self.done = self.done.saturating_add(n).min(self.total);
        let quarter = match self.total {
            0 => 0,
            t => self.done * 4 / t,
        };
        let new_quarter = self.quarters && quarter > self.said_quarter;
        if new_quarter || self.last.elapsed() >= EVERY {
            self.said_quarter = quarter;
            self.last = Instant::now();
            let percent = match self.total {
                0 => 100,
                t => self.done * 100 / t,
            };
            tracing::info!(
                done = self.done,
                total = self.total,
                "{}: {} of {} ({percent}%)",
                self.what,
                self.done,
                self.total
            );
        }
    }
}

/// Says "still at it" every `EVERY` while a piece of work whose progress
/// cannot be counted goes on, in the span it was started in; stops when
/// dropped.
pub(crate) struct Heartbeat {
    stop: Option<Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Heartbeat {
    pub(crate) fn start(what: impl Into<String>) -> Heartbeat {
        let what = what.into();
        let span = tracing::Span::current();
        let (stop, stopped) = channel::<()>();
        let started = Instant::now();
        let thread = std::thread::Builder::new()
            .name("ponte-progress".into())
            .spawn(move || {
                let _in = span.enter();
                while let Err(RecvTimeoutError::Timeout) = stopped.recv_timeout(EVERY) {
                    tracing::info!(
                        "{what}: still at it after {} s",
                        started.elapsed().as_secs()
                    );
                }
            })
            .ok();
        Heartbeat {
            stop: Some(stop),
            thread,
        }
    }
}

impl Drop for Heartbeat {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quarters_are_said_once_each() {
        let mut p = Progress::new("pushing", 8, true);
        for _ in 0..8 {
            p.advance(1);
        }
        assert_eq!(p.said_quarter, 4);
        assert_eq!(p.done, 8);
        let mut empty = Progress::new("pushing", 0, true);
        empty.advance(3);
        assert_eq!(empty.done, 0);
    }
}
