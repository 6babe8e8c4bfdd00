//! The service loop: scan the share (early when notify says something
//! changed), take the files that are ready in the order the data needs,
//! process one at a time, and stop cleanly when asked.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{channel, Receiver, RecvTimeoutError};
use std::sync::Arc;
use std::time::{Duration, Instant};

use notify::event::{AccessKind, AccessMode, EventKind};
use notify::{RecursiveMode, Watcher};

use crate::config::{Config, Flow};
use crate::flows::inbound::Pusher;
use crate::intake::discovery::{Candidate, Scanner};
use crate::intake::folders::prepare;
use crate::intake::lifecycle::{self, claim, header_time, leftovers, Claimed, Disposition};
use crate::intake::lock::InstanceLock;
use crate::intake::readiness::{Readiness, Settle};
use crate::schema::Registry;
use crate::state::Store;

#[derive(Debug, Default, Clone, serde::Serialize)]
pub struct ServiceSummary {
    pub archived: u64,
    pub with_failures: u64,
    pub duplicates: u64,
    pub rejected: u64,
}

pub struct ServiceOptions {
    /// Return once the share and in-progress are empty (demo, tests).
    pub until_idle: bool,
}

/// Something to run on the service's clock besides intake (the orders poll).
pub trait Periodic {
    fn due(&mut self, now: Instant) -> bool;
    fn run(&mut self, store: &mut Store) -> anyhow::Result<()>;
}

pub fn run(
    config: &Config,
    registry: &Registry,
    shutdown: Arc<AtomicBool>,
    opts: ServiceOptions,
    periodic: &mut [&mut dyn Periodic],
) -> anyhow::Result<ServiceSummary> {
    prepare(&config.paths)?;
    let _lock = InstanceLock::acquire(&config.paths.state_dir)?;
    let mut store = Store::open(&config.paths.state_dir)?;
    let pusher = Pusher::new(config)?;
    let mut summary = ServiceSummary::default();
    let settle = Settle {
        checks: config.intake.settle_checks,
        spacing: config.intake.settle_spacing,
    };
    tracing::info!(inbound = %config.paths.inbound.display(), "watching");

    let mut resumed = leftovers(&config.paths.in_progress, registry)?;
    sort_backlog(&mut resumed, |c| {
        (
            c.schema.flow.clone(),
            header_time(&c.path, &c.schema),
            c.name.clone(),
        )
    });
    for c in resumed {
        if shutdown.load(Ordering::SeqCst) {
            return Ok(summary);
        }
        tracing::info!(file = %c.name, "resuming a file left in progress");
        handle(&c, config, &mut store, &pusher, &mut summary)?;
    }

    let (events, _watcher) = watch_events(&config.paths.inbound);
    let mut scanner = Scanner::default();
    let mut readiness = Readiness::default();
    loop {
        if shutdown.load(Ordering::SeqCst) {
            break;
        }
        let now = Instant::now();
        for p in periodic.iter_mut() {
            if p.due(now) {
                if let Err(e) = p.run(&mut store) {
                    tracing::error!("{e:#}");
                }
            }
        }
        // The checks' clock is the scan's, not the loop's: an orders poll
        // that took longer than the settle spacing must not count as time
        // the files stood still.
        let scanned_at = Instant::now();
        let candidates = scanner.scan(&config.paths.inbound, registry)?;
        readiness.retain(&candidates);
        let (mut ready, waiting): (Vec<Candidate>, Vec<Candidate>) = candidates
            .iter()
            .cloned()
            .partition(|c| readiness.is_ready(c, settle, scanned_at));
        hold_back_newer(&mut ready, &waiting);
        sort_backlog(&mut ready, |c| {
            (
                c.schema.flow.clone(),
                header_time(&c.path, &c.schema),
                c.name.clone(),
            )
        });
        for c in &ready {
            if shutdown.load(Ordering::SeqCst) {
                break;
            }
            readiness.forget(&c.name);
            let claimed = match claim(
                &c.path,
                &c.name,
                c.schema.clone(),
                &config.paths.in_progress,
            ) {
                Ok(claimed) => claimed,
                Err(e) => {
                    tracing::warn!(file = %c.name, "{e:#}");
                    continue;
                }
            };
            handle(&claimed, config, &mut store, &pusher, &mut summary)?;
        }
        if opts.until_idle
            && candidates.is_empty()
            && leftovers(&config.paths.in_progress, registry)?.is_empty()
        {
            break;
        }
        wait_for_change(&events, config.intake.scan_interval, &shutdown);
    }
    tracing::info!(?summary, "stopped");
    Ok(summary)
}

/// The whole backlog counts, not only what is ready: a file of a flow
/// waits while an older file of the same flow (by header time) is still
/// being written, or it would be applied first and the older one then
/// rejected as stale.
fn hold_back_newer(ready: &mut Vec<Candidate>, waiting: &[Candidate]) {
    if waiting.is_empty() {
        return;
    }
    let oldest_waiting = |flow: &str| {
        waiting
            .iter()
            .filter(|w| w.schema.flow == flow)
            .filter_map(|w| header_time(&w.path, &w.schema))
            .min()
    };
    ready.retain(|c| match (oldest_waiting(&c.schema.flow), header_time(&c.path, &c.schema)) {
        (Some(older), Some(mine)) if older < mine => {
            tracing::debug!(file = %c.name, "waits for an older file of its flow still being written");
            false
        }
        _ => true,
    });
}

/// Products before stock, customers and fulfilment; each flow by header time.
fn sort_backlog<T>(items: &mut [T], key: impl Fn(&T) -> (String, Option<String>, String)) {
    items.sort_by_cached_key(|item| {
        let (flow, ts, name) = key(item);
        let order = Flow::from_schema_flow(&flow).map_or(99, |f| f as u8);
        (order, ts, name)
    });
}

fn handle(
    c: &Claimed,
    config: &Config,
    store: &mut Store,
    pusher: &Pusher,
    summary: &mut ServiceSummary,
) -> anyhow::Result<()> {
    let opts = lifecycle::Options {
        force: false,
        move_when_done: true,
    };
    let (disposition, result) = match lifecycle::process(c, config, store, pusher, &opts) {
        // Stopped mid-read: nothing was sent, the file stays in progress.
        Err(e) if crate::record::stop::is_stopped(&e) => {
            tracing::info!(file = %c.name, "{e:#}");
            return Ok(());
        }
        outcome => outcome?,
    };
    match &disposition {
        Disposition::Archived { path, all_applied } => {
            summary.archived += 1;
            if !all_applied {
                summary.with_failures += 1;
            }
            let sent: u64 = result.iter().flat_map(|r| &r.targets).map(|t| t.sent).sum();
            let failed: usize = result
                .iter()
                .flat_map(|r| &r.targets)
                .map(|t| t.failed.len())
                .sum();
            tracing::info!(file = %c.name, sent, failed, archived = %path.display(), "processed");
        }
        Disposition::Duplicate { of, .. } => {
            summary.duplicates += 1;
            tracing::info!(file = %c.name, of = %of, "duplicate");
        }
        Disposition::Rejected { path, reason } => {
            summary.rejected += 1;
            tracing::warn!(file = %c.name, to = %path.display(), "rejected: {reason}");
        }
    }
    Ok(())
}

/// notify events only bring the next scan forward; where the OS delivers
/// none (SMB mounts), the interval does the work.
fn watch_events(dir: &Path) -> (Receiver<()>, Option<notify::RecommendedWatcher>) {
    let (tx, rx) = channel();
    let watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        if event.is_ok_and(|e| worth_a_scan(&e.kind)) {
            let _ = tx.send(());
        }
    })
    .and_then(|mut w| w.watch(dir, RecursiveMode::NonRecursive).map(|()| w));
    match watcher {
        Ok(w) => (rx, Some(w)),
        Err(e) => {
            tracing::debug!("no file-system events ({e}); scanning on the interval only");
            (rx, None)
        }
    }
}

/// Opening or reading the folder and its files says nothing new, and the
/// scan itself does both: woken by those, the service would scan in a busy
/// loop. A writer closing a file it wrote does count.
fn worth_a_scan(kind: &EventKind) -> bool {
    match kind {
        EventKind::Access(AccessKind::Close(AccessMode::Write)) => true,
        EventKind::Access(_) => false,
        _ => true,
    }
}

fn wait_for_change(events: &Receiver<()>, interval: Duration, shutdown: &AtomicBool) {
    let deadline = Instant::now() + interval;
    while !shutdown.load(Ordering::SeqCst) {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return;
        }
        match events.recv_timeout(left.min(Duration::from_millis(200))) {
            Ok(()) => {
                // Let a burst of events settle into one scan.
                while events.try_recv().is_ok() {}
                return;
            }
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => {
                std::thread::sleep(left.min(Duration::from_millis(200)))
            }
        }
    }
}

/// Sets `flag` on SIGTERM or SIGINT. The handlers are in place when this
/// returns: a signal that arrives while the listening thread is still
/// starting is not lost, nor fatal.
pub fn stop_on_signals(flag: Arc<AtomicBool>) -> anyhow::Result<()> {
    use tokio::signal::unix::{signal, SignalKind};
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let (mut term, mut int) = {
        let _entered = runtime.enter();
        (
            signal(SignalKind::terminate())?,
            signal(SignalKind::interrupt())?,
        )
    };
    std::thread::spawn(move || {
        runtime.block_on(async move {
            tokio::select! {
                _ = term.recv() => {}
                _ = int.recv() => {}
            }
            tracing::info!("stopping: finishing the current file");
            flag.store(true, Ordering::SeqCst);
            // A file still being read is read again at the next start:
            // a large one must not hold the stop off.
            crate::record::stop::stop_reading();
        });
    });
    Ok(())
}

#[cfg(test)]
mod backlog_tests {
    use super::*;

    fn candidate(dir: &Path, name: &str, stamp: &str) -> Candidate {
        let path = dir.join(name);
        let header = format!("TEGIACENZE  {stamp}V000001");
        std::fs::write(&path, format!("{header:<52}\r\n")).unwrap();
        Candidate {
            name: name.into(),
            path,
            schema: Registry::built_in().by_flow("GIACENZE").unwrap(),
            size: 0,
            modified: None,
        }
    }

    #[test]
    fn a_newer_file_waits_for_an_older_one_still_being_written() {
        let dir = tempfile::tempdir().unwrap();
        let older = candidate(dir.path(), "GIA1.txt", "20261128080000");
        let newer = candidate(dir.path(), "GIA2.txt", "20261128090000");
        let mut ready = vec![newer.clone()];
        hold_back_newer(&mut ready, std::slice::from_ref(&older));
        assert!(ready.is_empty());
        // Once the older one is ready too, both go, oldest first.
        let mut ready = vec![newer.clone(), older.clone()];
        hold_back_newer(&mut ready, &[]);
        sort_backlog(&mut ready, |c| {
            (
                c.schema.flow.clone(),
                header_time(&c.path, &c.schema),
                c.name.clone(),
            )
        });
        assert_eq!(ready[0].name, "GIA1.txt");
        // An older file does not wait for a newer one.
        let mut ready = vec![older];
        hold_back_newer(&mut ready, &[newer]);
        assert_eq!(ready.len(), 1);
    }
}
