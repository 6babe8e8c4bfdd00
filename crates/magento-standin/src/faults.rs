//! Faults the stand-in can inject, after authentication and before the
//! request is handled: a delay, an error status instead of the answer (the
//! request then changes nothing), a connection closed without any answer
//! (nothing changed either), or a lost reply: the request is applied and
//! then the connection is closed before the answer, as when a proxy or the
//! network loses Magento's answer. Draws come from a seeded generator (`fastrand`), one
//! per request in arrival order, so a run is repeatable.

use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde_json::json;
use tokio::sync::oneshot;

use super::errors::ApiError;

#[derive(Debug, Clone, PartialEq)]
pub struct Faults {
    pub latency: Duration,
    /// Share of requests (0.0..=1.0) answered with one of `error_statuses`.
    pub error_rate: f64,
    /// Statuses to draw from; empty means 500 and 503.
    pub error_statuses: Vec<u16>,
    /// Share of requests whose connection is closed without an answer.
    pub drop_rate: f64,
    /// Share of requests applied, then closed without their answer.
    pub lost_reply_rate: f64,
    pub seed: u64,
}

impl Default for Faults {
    fn default() -> Faults {
        Faults {
            latency: Duration::ZERO,
            error_rate: 0.0,
            error_statuses: Vec::new(),
            drop_rate: 0.0,
            lost_reply_rate: 0.0,
            seed: 0,
        }
    }
}

/// What the faults decided for one request.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Decision {
    Handle,
    Error(u16),
    Drop,
    /// Handled, and the answer never sent.
    LostReply,
}

impl Faults {
    /// One decision, from three draws of `dice` (four with lost replies).
    pub(crate) fn decide(&self, dice: &mut fastrand::Rng) -> Decision {
        let drop = dice.f64();
        let error = dice.f64();
        let pick = dice.u64(..);
        if drop < self.drop_rate {
            return Decision::Drop;
        }
        if error < self.error_rate {
            let statuses: &[u16] = if self.error_statuses.is_empty() {
                &[500, 503]
            } else {
                &self.error_statuses
            };
            return Decision::Error(statuses[(pick % statuses.len() as u64) as usize]);
        }
        // Drawn only when asked for, so that the runs of a seed from before
        // this fault existed stay as they were.
        if self.lost_reply_rate > 0.0 && dice.f64() < self.lost_reply_rate {
            return Decision::LostReply;
        }
        Decision::Handle
    }
}

/// Where the injected latency is waited out. tokio's timer counts whole
/// milliseconds (a deadline is rounded up to the next tick and the driver
/// parks for whole milliseconds): 20 ms sleeps in the stand-in measured
/// 21.7 ms on average (p50 21.5, p99 26.6), so every request got 8% more
/// latency than asked and the push benchmark's ceiling of 16 / 20 ms was
/// out of reach whatever ponte did. One thread of its own waits on a
/// condition variable, which the kernel wakes to the tens of microseconds,
/// and answers each sleeper at its deadline, never before.
pub(crate) struct Timer {
    shared: Arc<(Mutex<Sleepers>, Condvar)>,
    thread: Option<JoinHandle<()>>,
}

#[derive(Default)]
struct Sleepers {
    queue: BinaryHeap<Reverse<Sleeper>>,
    /// Ties on the deadline are woken in arrival order.
    arrivals: u64,
    stopped: bool,
}

struct Sleeper {
    deadline: Instant,
    arrival: u64,
    wake: oneshot::Sender<()>,
}

impl PartialEq for Sleeper {
    fn eq(&self, other: &Sleeper) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Sleeper {}

impl PartialOrd for Sleeper {
    fn partial_cmp(&self, other: &Sleeper) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Sleeper {
    fn cmp(&self, other: &Sleeper) -> Ordering {
        (self.deadline, self.arrival).cmp(&(other.deadline, other.arrival))
    }
}

fn lock(m: &Mutex<Sleepers>) -> MutexGuard<'_, Sleepers> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Timer {
    pub(crate) fn start() -> std::io::Result<Timer> {
        let shared = Arc::new((Mutex::new(Sleepers::default()), Condvar::new()));
        let theirs = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name("stand-in-timer".into())
            .spawn(move || wake_sleepers(&theirs))?;
        Ok(Timer {
            shared,
            thread: Some(thread),
        })
    }

    /// Returns once `duration` has passed, and not before.
    pub(crate) async fn sleep(&self, duration: Duration) {
        let deadline = Instant::now() + duration;
        let (wake, woken) = oneshot::channel();
        {
            let (sleepers, changed) = &*self.shared;
            let mut s = lock(sleepers);
            s.arrivals += 1;
            let arrival = s.arrivals;
            s.queue.push(Reverse(Sleeper {
                deadline,
                arrival,
                wake,
            }));
            changed.notify_one();
        }
        // tokio's clock never wakes early either: should the timer's thread
        // be gone, the request is late, never early and never stuck.
        let backstop = tokio::time::sleep_until(deadline.into());
        tokio::pin!(backstop);
        tokio::select! {
            Ok(()) = woken => {}
            () = &mut backstop => {}
        }
    }
}

fn wake_sleepers(shared: &(Mutex<Sleepers>, Condvar)) {
    let (sleepers, changed) = shared;
    let mut s = lock(sleepers);
    while !s.stopped {
        let now = Instant::now();
        match s.queue.peek() {
            None => s = changed.wait(s).unwrap_or_else(|e| e.into_inner()),
            Some(Reverse(next)) if next.deadline > now => {
                let wait = next.deadline - now;
                s = changed
                    .wait_timeout(s, wait)
                    .map(|(s, _)| s)
                    .unwrap_or_else(|e| e.into_inner().0);
            }
            Some(_) => {
                if let Some(Reverse(due)) = s.queue.pop() {
                    // A sleeper that gave up (its connection closed) no longer listens.
                    let _ = due.wake.send(());
                }
            }
        }
    }
}

impl Drop for Timer {
    fn drop(&mut self) {
        let (sleepers, changed) = &*self.shared;
        lock(sleepers).stopped = true;
        changed.notify_one();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The body a fault status comes with, as the status would come from a
/// Magento behind nginx: Magento's own JSON for what Magento answers (500,
/// 401, 404, 400, 429), the web server's or maintenance page's HTML for
/// what comes from in front of it (502, 503, 504). Returns (content type, body).
pub(crate) fn fault_body(status: u16, report: u64) -> (&'static str, String) {
    let json_body = |v: serde_json::Value| ("application/json; charset=utf-8", v.to_string());
    match status {
        500 => json_body(ApiError::internal(report).body()),
        429 => json_body(json!({"message": "Too Many Requests"})),
        401 => json_body(json!({
            "message": "The consumer isn't authorized to access %resources.",
            "parameters": {"resources": "Magento_Catalog::products"}
        })),
        404 => json_body(ApiError::no_route().body()),
        400 => json_body(json!({"message": "Could not save Source Item"})),
        503 => (
            "text/html; charset=UTF-8",
            "<!doctype html>\n<html><head><title>Error 503: Service Unavailable</title></head><body><h1>Service Temporarily Unavailable</h1><p>The server is temporarily unable to service your request due to maintenance downtime or capacity problems. Please try again later.</p></body></html>\n".into(),
        ),
        other => {
            let reason = match other {
                502 => "Bad Gateway",
                504 => "Gateway Time-out",
                408 => "Request Time-out",
                _ => "Error",
            };
            (
                "text/html",
                format!("<html>\r\n<head><title>{other} {reason}</title></head>\r\n<body>\r\n<center><h1>{other} {reason}</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"),
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decisions_follow_rates_and_seed() {
        let f = Faults {
            error_rate: 1.0,
            error_statuses: vec![502],
            ..Faults::default()
        };
        let mut d = fastrand::Rng::with_seed(7);
        assert!((0..50).all(|_| f.decide(&mut d) == Decision::Error(502)));
        let f = Faults {
            drop_rate: 1.0,
            ..Faults::default()
        };
        assert_eq!(f.decide(&mut d), Decision::Drop);
        assert_eq!(Faults::default().decide(&mut d), Decision::Handle);
        let f = Faults {
            lost_reply_rate: 1.0,
            ..Faults::default()
        };
        assert_eq!(f.decide(&mut d), Decision::LostReply);
        let f = Faults {
            error_rate: 0.3,
            seed: 42,
            ..Faults::default()
        };
        let run = |seed| {
            let mut d = fastrand::Rng::with_seed(seed);
            (0..100).map(|_| f.decide(&mut d)).collect::<Vec<_>>()
        };
        assert_eq!(run(42), run(42));
        let errors = run(42).iter().filter(|d| **d != Decision::Handle).count();
        assert!((15..=45).contains(&errors), "{errors}");
    }

    #[tokio::test]
    async fn the_timer_never_wakes_early_and_keeps_deadline_order() {
        let timer = Arc::new(Timer::start().unwrap());
        let start = Instant::now();
        let order = Arc::new(Mutex::new(Vec::new()));
        let mut tasks = tokio::task::JoinSet::new();
        for ms in [30u64, 10, 20, 0] {
            let (timer, order) = (Arc::clone(&timer), Arc::clone(&order));
            tasks.spawn(async move {
                let t = Instant::now();
                timer.sleep(Duration::from_millis(ms)).await;
                assert!(t.elapsed() >= Duration::from_millis(ms));
                order.lock().unwrap().push(ms);
            });
        }
        while let Some(r) = tasks.join_next().await {
            r.unwrap();
        }
        assert_eq!(*order.lock().unwrap(), [0, 10, 20, 30]);
        assert!(start.elapsed() >= Duration::from_millis(30));
    }

    #[test]
    fn bodies_look_like_their_source() {
        assert!(fault_body(500, 1).1.contains("Internal Error"));
        assert!(fault_body(502, 1).1.contains("nginx"));
        assert!(fault_body(503, 1).0.starts_with("text/html"));
    }
}
