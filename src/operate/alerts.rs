//! Events for a person, POSTed as JSON to `[alerts] webhook`: a file
//! rejected, a file applied with failures, the orders poll failing for
//! longer than `orders.alert_after`, a flow without a file for longer than
//! its `[expect]`. At most one event per cause per hour; a thread of its
//! own sends them, so that a slow receiver never holds a flow up.

use std::collections::HashMap;
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::config::SecretString;

/// What an event is about; one event per cause per `quiet`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum Cause {
    FileRejected(String),
    FileWithFailures(String),
    OrdersFailing(String),
    NoFile(String),
}

impl Cause {
    fn kind(&self) -> &'static str {
        match self {
            Cause::FileRejected(_) => "file_rejected",
            Cause::FileWithFailures(_) => "file_applied_with_failures",
            Cause::OrdersFailing(_) => "orders_poll_failing",
            Cause::NoFile(_) => "flow_without_file",
        }
    }

    fn subject(&self) -> &str {
        match self {
            Cause::FileRejected(s)
            | Cause::FileWithFailures(s)
            | Cause::OrdersFailing(s)
            | Cause::NoFile(s) => s,
        }
    }
}

/// The JSON body of an event.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Event {
    pub kind: String,
    /// The flow or target it is about.
    pub subject: String,
    pub message: String,
    /// The file, when it is about one.
    pub file: Option<String>,
    pub at: String,
    pub host: String,
}

/// Where events go, and the limits on them.
pub struct Webhook {
    pub url: String,
    pub token: Option<SecretString>,
    /// The least time between two events of one cause.
    pub quiet: Duration,
    pub orders_alert_after: Duration,
    /// Per schema flow: the longest time without a file.
    pub expect: Vec<(String, Duration)>,
}

struct Alerter {
    sender: SyncSender<Event>,
    quiet: Duration,
    orders_alert_after: Duration,
    sent: Mutex<HashMap<Cause, Instant>>,
    failing_since: Mutex<HashMap<String, Instant>>,
}

static ALERTER: OnceLock<Alerter> = OnceLock::new();

/// Starts the sender thread and the `[expect]` checks; events raised
/// before are dropped, as they are when no webhook is configured.
pub(crate) fn start(hook: Webhook) -> anyhow::Result<()> {
    let (sender, receiver) = sync_channel::<Event>(64);
    let alerter = Alerter {
        sender,
        quiet: hook.quiet,
        orders_alert_after: hook.orders_alert_after,
        sent: Mutex::default(),
        failing_since: Mutex::default(),
    };
    if ALERTER.set(alerter).is_err() {
        anyhow::bail!("the alerts webhook is started once per process");
    }
    let (url, token) = (hook.url, hook.token);
    std::thread::Builder::new()
        .name("ponte-alerts".into())
        .spawn(move || send_all(receiver, &url, token.as_ref()))?;
    if !hook.expect.is_empty() {
        let expect = hook.expect;
        std::thread::Builder::new()
            .name("ponte-expect".into())
            .spawn(move || loop {
                check_expected(&expect);
                std::thread::sleep(Duration::from_secs(1).min(shortest(&expect) / 4));
            })?;
    }
    Ok(())
}

fn shortest(expect: &[(String, Duration)]) -> Duration {
    expect
        .iter()
        .map(|(_, d)| *d)
        .min()
        .unwrap_or(Duration::from_secs(60))
        .max(Duration::from_millis(100))
}

fn check_expected(expect: &[(String, Duration)]) {
    let health = super::health::get();
    for (flow, every) in expect {
        let since = health.last_file(flow).elapsed();
        if since > *every {
            raise(
                Cause::NoFile(flow.clone()),
                &format!(
                    "no {flow} file for {}s, expected every {}s",
                    since.as_secs(),
                    every.as_secs()
                ),
                "",
            );
        }
    }
}

/// Raises an event unless its cause had one within the quiet time.
pub(crate) fn raise(cause: Cause, message: &str, file: &str) {
    let Some(a) = ALERTER.get() else { return };
    let Ok(mut sent) = a.sent.lock() else { return };
    let now = Instant::now();
    if sent
        .get(&cause)
        .is_some_and(|t| now.duration_since(*t) < a.quiet)
    {
        return;
    }
    sent.insert(cause.clone(), now);
    let event = Event {
        kind: cause.kind().to_string(),
        subject: cause.subject().to_string(),
        message: message.to_string(),
        file: (!file.is_empty()).then(|| file.to_string()),
        at: super::time::iso_of_secs(super::time::now_secs()),
        host: hostname(),
    };
    // A full queue means the receiver is far behind: this event is dropped
    // rather than the flow held up.
    if a.sender.try_send(event).is_err() {
        tracing::warn!(cause = cause.kind(), "alerts queue full: event dropped");
    }
}

/// The orders poll of `target` failed; an event once it has failed for
/// longer than `orders.alert_after`.
pub(crate) fn orders_failing(target: &str, why: &str) {
    let Some(a) = ALERTER.get() else { return };
    let since = match a.failing_since.lock() {
        Ok(mut m) => *m.entry(target.to_string()).or_insert_with(Instant::now),
        Err(_) => return,
    };
    if since.elapsed() >= a.orders_alert_after {
        raise(
            Cause::OrdersFailing(target.to_string()),
            &format!(
                "the orders poll of {target} has failed for {}s: {why}",
                since.elapsed().as_secs()
            ),
            "",
        );
    }
}

pub(crate) fn orders_ok(target: &str) {
    if let Some(a) = ALERTER.get() {
        if let Ok(mut m) = a.failing_since.lock() {
            m.remove(target);
        }
    }
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_default()
}

fn send_all(events: Receiver<Event>, url: &str, token: Option<&SecretString>) {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            tracing::error!("alerts: cannot start: {e}");
            return;
        }
    };
    // reqwest's connector wants the runtime it is built in.
    let _in_runtime = runtime.enter();
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap_or_default();
    for event in events {
        let mut req = client.post(url).json(&event);
        if let Some(t) = token {
            req = req.bearer_auth(t.expose());
        }
        match runtime.block_on(req.send()) {
            Ok(r) if r.status().is_success() => {
                tracing::info!(kind = %event.kind, subject = %event.subject, "alert sent")
            }
            // The URL may carry credentials: only its host is named.
            Ok(r) => {
                tracing::warn!(kind = %event.kind, status = %r.status(), "alert refused by the webhook")
            }
            Err(e) => tracing::warn!(kind = %event.kind, "alert not sent: {}", e.without_url()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    /// Each event's kind and subject, as received.
    type Received = Arc<Mutex<Vec<(String, String)>>>;

    /// A webhook on loopback keeping each event's kind and subject.
    fn receiver() -> (String, Received) {
        let got = Arc::new(Mutex::new(Vec::new()));
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        let kept = Arc::clone(&got);
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let app = axum::Router::new().route(
                    "/hook",
                    axum::routing::post(move |axum::Json(e): axum::Json<serde_json::Value>| {
                        let kept = Arc::clone(&kept);
                        async move {
                            let field = |k: &str| e[k].as_str().unwrap_or_default().to_string();
                            kept.lock().unwrap().push((field("kind"), field("subject")));
                            "ok"
                        }
                    }),
                );
                let l = tokio::net::TcpListener::from_std(listener).unwrap();
                axum::serve(l, app).await.unwrap();
            });
        });
        (url, got)
    }

    // The only test of this binary that starts the process's alerter.
    #[test]
    fn each_cause_alerts_once_per_quiet_time_without_holding_the_caller() {
        let (url, got) = receiver();
        start(Webhook {
            url,
            token: None,
            quiet: Duration::from_secs(3600),
            orders_alert_after: Duration::from_millis(300),
            expect: vec![("GIACENZE".into(), Duration::from_millis(200))],
        })
        .unwrap();
        raise(Cause::FileRejected("ARTICOLI".into()), "bad", "ART1.txt");
        raise(
            Cause::FileRejected("ARTICOLI".into()),
            "bad again",
            "ART2.txt",
        );
        raise(Cause::FileRejected("CLIENTI".into()), "bad", "CLI1.txt");
        // A poll failing is an event only once it has failed for longer
        // than alert_after; one that works again starts the clock over.
        orders_failing("b2c", "connection refused");
        orders_ok("b2c");
        orders_failing("b2c", "connection refused");
        std::thread::sleep(Duration::from_millis(400));
        orders_failing("b2c", "connection refused");
        orders_failing("b2c", "connection refused");
        let deadline = Instant::now() + Duration::from_secs(10);
        let wanted = |g: &Vec<(String, String)>| {
            g.iter().any(|(k, _)| k == "flow_without_file")
                && g.iter().any(|(k, _)| k == "orders_poll_failing")
        };
        while !wanted(&got.lock().unwrap()) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
        }
        std::thread::sleep(Duration::from_millis(300));
        let mut events = got.lock().unwrap().clone();
        events.sort();
        assert_eq!(
            events,
            [
                ("file_rejected".into(), "ARTICOLI".into()),
                ("file_rejected".into(), "CLIENTI".into()),
                ("flow_without_file".into(), "GIACENZE".into()),
                ("orders_poll_failing".into(), "b2c".into()),
            ]
        );
    }
}
