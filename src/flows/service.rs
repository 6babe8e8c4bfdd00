//! The service loop: scan the share (early when notify says something
//! changed), take the files that are ready in the order the data needs,
//! process one at a time, and stop cleanly when asked.
//!
//! Nothing that comes from a file, the share or Magento ends it: a file
//! ponte cannot process goes to `rejected/` with its report, one that
//! cannot even be moved is reported once and left alone, and a share that
//! fails is tried again with growing waits. Only the state store failing
//! (or the setup, before the loop) ends the service.
//!
//! The retries run on their own clock between files; the orders poll on
//! its own thread with its own connection to the store, so that neither
//! waits for a backlog of files (the ERP waits for the orders).

use std::collections::{HashMap, HashSet};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{channel, Receiver, RecvTimeoutError};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use anyhow::Context;
use notify::event::{AccessKind, AccessMode, EventKind};
use notify::{RecursiveMode, Watcher};

use crate::config::Config;
use crate::flows::file::{self, Disposition};
use crate::flows::inbound::Pusher;
use crate::intake::discovery::{Candidate, Scanner};
use crate::intake::folders::prepare;
use crate::intake::lifecycle::{claim, header_time, leftovers_except, Claimed};
use crate::intake::lock::InstanceLock;
use crate::intake::readiness::{Assessment, Readiness, Settle};
use crate::intake::unprocessable::{self, Settled, Unprocessable, FIX_AND_DROP_AGAIN};
use crate::model::Flow;
use crate::state::{Store, StoreError};
use ponte_layout::schema::Registry;

/// The longest wait between two tries of a share that fails.
const LONGEST_SHARE_WAIT: Duration = Duration::from_secs(60);

#[derive(Debug, Default, Clone, serde::Serialize)]
pub(crate) struct ServiceSummary {
    pub archived: u64,
    pub with_failures: u64,
    pub duplicates: u64,
    pub rejected: u64,
}

pub(crate) struct ServiceOptions {
    /// Return once the share and in-progress are empty (demo, tests).
    pub until_idle: bool,
}

/// Something to run on the service's clock besides intake (the orders
/// poll, the retries).
pub(crate) trait Periodic {
    fn due(&mut self, now: Instant) -> bool;
    fn run(&mut self, store: &mut Store) -> anyhow::Result<()>;
}

/// `between_files` run on the service's thread, whenever due between two
/// files: the retries, which must not interleave with a file of the same
/// flow (a retry sent between a file's plan and its push would leave a
/// field the plan did not see changed, recorded as applied). `beside` run
/// on a thread of their own with a connection of their own (the orders
/// poll, which shares no entity with the files), each due one at least
/// once before an `until_idle` run returns.
pub(crate) fn run(
    config: &Config,
    registry: &Registry,
    pusher: &Pusher,
    shutdown: Arc<AtomicBool>,
    opts: ServiceOptions,
    between_files: &mut [&mut dyn Periodic],
    beside: &mut [&mut (dyn Periodic + Send)],
) -> anyhow::Result<ServiceSummary> {
    prepare(&config.paths)?;
    let _lock = InstanceLock::acquire(&config.paths.state_dir)?;
    let mut store = Store::open(&config.paths.state_dir)?;
    let beside_store = match beside.is_empty() {
        true => None,
        false => Some(store.another_connection()?),
    };
    tracing::info!(inbound = %config.paths.inbound.display(), "watching");
    let idle = AtomicBool::new(false);
    std::thread::scope(|scope| {
        if let Some(s) = beside_store {
            let (shutdown, idle) = (&shutdown, &idle);
            std::thread::Builder::new()
                .name("ponte-beside".into())
                .spawn_scoped(scope, move || run_beside(beside, s, shutdown, idle))
                .context("cannot start the orders poll's thread")?;
        }
        let mut intake = Intake {
            config,
            registry,
            shutdown: &shutdown,
            store: &mut store,
            pusher,
            summary: ServiceSummary::default(),
            left_alone: LeftAlone::default(),
            held_back: HashSet::new(),
            scan_recorded: None,
        };
        let outcome = intake.run(opts, between_files);
        // The thread beside ends on this, after a due task has run once.
        idle.store(true, Ordering::SeqCst);
        outcome
    })
}

/// The tasks beside intake, each when due, until shutdown (at once) or the
/// end of an `until_idle` run (once each has run).
fn run_beside(
    tasks: &mut [&mut (dyn Periodic + Send)],
    mut store: Store,
    shutdown: &AtomicBool,
    idle: &AtomicBool,
) {
    loop {
        if shutdown.load(Ordering::SeqCst) {
            return;
        }
        let now = Instant::now();
        for t in tasks.iter_mut() {
            if t.due(now) {
                // A panic here would end the service when the scope joins
                // this thread: what Magento answers must not.
                match catch_unwind(AssertUnwindSafe(|| t.run(&mut store))) {
                    Ok(Ok(())) => {}
                    Ok(Err(e)) => tracing::error!("{e:#}"),
                    Err(_) => tracing::error!("the orders poll failed (a bug in ponte, please report it); tried again at its next time"),
                }
            }
        }
        if idle.load(Ordering::SeqCst) {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn run_due(tasks: &mut [&mut dyn Periodic], store: &mut Store) {
    let now = Instant::now();
    for t in tasks.iter_mut() {
        if t.due(now) {
            if let Err(e) = t.run(store) {
                tracing::error!("{e:#}");
            }
        }
    }
}

struct Intake<'a> {
    config: &'a Config,
    registry: &'a Registry,
    shutdown: &'a AtomicBool,
    store: &'a mut Store,
    pusher: &'a Pusher,
    summary: ServiceSummary,
    left_alone: LeftAlone,
    /// (held file, the older file it waits for), each said once.
    held_back: HashSet<(String, String)>,
    /// When the last scan was written to the store (`status` reads it).
    scan_recorded: Option<Instant>,
}

/// What handling one claimed file came to.
enum Handled {
    Done,
    /// The share failed under it: it stays in in-progress, taken again
    /// once the share answers.
    ShareFailed(anyhow::Error),
}

impl Intake<'_> {
    /// Tells `status` the share was scanned, once a minute at most: one
    /// small write, not one per scan.
    fn record_scan(&mut self) {
        if self
            .scan_recorded
            .is_some_and(|at| at.elapsed() < Duration::from_secs(60))
        {
            return;
        }
        match self
            .store
            .set_watermark(crate::state::LAST_SCAN, &crate::state::now_text())
        {
            Ok(()) => self.scan_recorded = Some(Instant::now()),
            Err(e) => tracing::warn!("cannot record the scan: {e}"),
        }
    }

    fn stopping(&self) -> bool {
        self.shutdown.load(Ordering::SeqCst)
    }

    fn run(
        &mut self,
        opts: ServiceOptions,
        between_files: &mut [&mut dyn Periodic],
    ) -> anyhow::Result<ServiceSummary> {
        let config = self.config;
        let settle = Settle {
            checks: config.intake.settle_checks,
            spacing: config.intake.settle_spacing,
            incomplete_after: config.intake.incomplete_timeout,
        };
        let (events, _watcher) = watch_events(&config.paths.inbound);
        let mut scanner = Scanner::default();
        let mut readiness = Readiness::default();
        let mut share = ShareBackoff::default();
        loop {
            if self.stopping() {
                break;
            }
            run_due(between_files, self.store);
            // Files a crash or a failing share left in in-progress go first.
            match self.resume(between_files)? {
                Some(e) => {
                    sleep_unless(share.failed(&e, config.intake.scan_interval), self.shutdown);
                    continue;
                }
                None if self.stopping() => break,
                None => {}
            }
            // The checks' clock is the scan's, not the loop's: an orders poll
            // that took longer than the settle spacing must not count as time
            // the files stood still.
            let scanned_at = Instant::now();
            let candidates = match scanner.scan(&config.paths.inbound, self.registry) {
                Ok(found) => found,
                Err(e) => {
                    let e = anyhow::Error::new(e).context(format!(
                        "cannot read the inbound folder {}",
                        config.paths.inbound.display()
                    ));
                    sleep_unless(share.failed(&e, config.intake.scan_interval), self.shutdown);
                    continue;
                }
            };
            share.answered();
            let oldest = candidates
                .iter()
                .filter_map(|c| {
                    c.modified
                        .and_then(|m| SystemTime::now().duration_since(m).ok())
                })
                .max()
                .unwrap_or_default();
            crate::operate::record::scanned(candidates.len(), oldest.as_secs());
            self.record_scan();
            readiness.retain(&candidates);
            self.left_alone.forget_gone();
            let candidates: Vec<Candidate> = candidates
                .into_iter()
                .filter(|c| !self.left_alone.skips(&c.path))
                .collect();
            let (mut ready, mut waiting) = (Vec::new(), Vec::new());
            for c in &candidates {
                match readiness.assess(c, settle, scanned_at) {
                    Assessment::Ready => ready.push(c.clone()),
                    Assessment::Waiting => waiting.push(c.clone()),
                    Assessment::Incomplete(why) => {
                        readiness.forget(&c.name);
                        self.give_up_on(c, &why)?;
                    }
                }
            }
            self.hold_back_newer(&mut ready, &waiting);
            sort_backlog(&mut ready, |c| {
                (
                    c.schema.flow.clone(),
                    header_time(&c.path, &c.schema),
                    c.name.clone(),
                )
            });
            let mut share_failed = None;
            for c in &ready {
                if self.stopping() {
                    break;
                }
                readiness.forget(&c.name);
                let Some(claimed) = self.claim(c) else {
                    continue;
                };
                if let Handled::ShareFailed(e) = self.handle(&claimed)? {
                    share_failed = Some(e);
                    break;
                }
                run_due(between_files, self.store);
            }
            if let Some(e) = share_failed {
                sleep_unless(share.failed(&e, config.intake.scan_interval), self.shutdown);
                continue;
            }
            if opts.until_idle && candidates.is_empty() && self.nothing_in_progress() {
                break;
            }
            wait_for_change(&events, config.intake.scan_interval, self.shutdown);
        }
        tracing::info!(summary = ?self.summary, "stopped");
        Ok(self.summary.clone())
    }

    /// Handles what is in in-progress (none of it left alone); the share's
    /// error when it fails.
    fn resume(
        &mut self,
        between_files: &mut [&mut dyn Periodic],
    ) -> anyhow::Result<Option<anyhow::Error>> {
        let found = leftovers_except(&self.config.paths.in_progress, self.registry, |p| {
            self.left_alone.skips(p)
        });
        let found = match found {
            Ok(r) => r,
            Err(e) => return Ok(Some(e)),
        };
        for (path, e) in &found.unreadable {
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            self.left_alone.add(path, &name, e);
        }
        let mut resumed = found.files;
        sort_backlog(&mut resumed, |c| {
            (
                c.schema.flow.clone(),
                header_time(&c.path, &c.schema),
                c.name.clone(),
            )
        });
        for c in resumed {
            if self.stopping() {
                break;
            }
            tracing::info!(file = %c.name, "resuming a file left in progress");
            if let Handled::ShareFailed(e) = self.handle(&c)? {
                return Ok(Some(e));
            }
            run_due(between_files, self.store);
        }
        Ok(None)
    }

    fn nothing_in_progress(&self) -> bool {
        leftovers_except(&self.config.paths.in_progress, self.registry, |p| {
            self.left_alone.skips(p)
        })
        .is_ok_and(|l| l.files.is_empty())
    }

    /// Claims a ready file; one that cannot be moved is left alone.
    fn claim(&mut self, c: &Candidate) -> Option<Claimed> {
        match claim(
            &c.path,
            &c.name,
            c.schema.clone(),
            &self.config.paths.in_progress,
        ) {
            Ok(claimed) => Some(claimed),
            Err(e) => {
                self.left_alone.add(&c.path, &c.name, &e);
                None
            }
        }
    }

    /// A file that never became ready: claimed, then rejected as incomplete.
    fn give_up_on(&mut self, c: &Candidate, why: &str) -> anyhow::Result<()> {
        let Some(claimed) = self.claim(c) else {
            return Ok(());
        };
        tracing::warn!(file = %c.name, "{why}: moved to rejected");
        let u = Unprocessable {
            why,
            what_to_do: "nothing of this file was sent to Magento. If the ERP's export or the copy broke off,\n\
                 run the export again; if the file is not the ERP's, remove it. Newer files of its flow\n\
                 waited for it and now go on.\n",
        };
        self.settle_unprocessable(&claimed, &u)
    }

    /// Processes a claimed file. Only the state store failing is an error.
    fn handle(&mut self, c: &Claimed) -> anyhow::Result<Handled> {
        let opts = file::Options {
            force: false,
            move_when_done: true,
            mode: "watch",
        };
        let (config, pusher) = (self.config, self.pusher);
        let store = &mut *self.store;
        // A panic on a file is a bug in ponte, but still the file's: the
        // service goes on with the next one.
        let outcome = catch_unwind(AssertUnwindSafe(|| {
            file::process(c, config, store, pusher, &opts)
        }));
        let why = match outcome {
            Ok(Ok((disposition, result))) => {
                self.count(c, &disposition, result.as_ref());
                return Ok(Handled::Done);
            }
            // Stopped mid-read by SIGTERM: nothing was sent, and the file
            // stays in progress for the next start. Never the file's fault.
            Ok(Err(e)) if ponte_layout::record::stop::is_stopped(&e) => {
                tracing::info!(file = %c.name, "{e:#}");
                return Ok(Handled::Done);
            }
            Ok(Err(e)) if is_store_failure(&e) => return Err(e),
            Ok(Err(e)) => {
                if let Some(down) = self.share_failure() {
                    tracing::warn!(file = %c.name, path = %c.path.display(), "{e:#}");
                    return Ok(Handled::ShareFailed(down));
                }
                format!("{e:#}")
            }
            Err(panic) => {
                let what = panic
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_default();
                format!("ponte failed on this file (a bug, please report it with the file): {what}")
            }
        };
        if !c.path.exists() {
            tracing::warn!(file = %c.name, "{why}; the file has gone from in-progress");
            return Ok(Handled::Done);
        }
        let u = Unprocessable {
            why: &why,
            what_to_do: FIX_AND_DROP_AGAIN,
        };
        self.settle_unprocessable(c, &u)?;
        Ok(Handled::Done)
    }

    fn settle_unprocessable(&mut self, c: &Claimed, u: &Unprocessable<'_>) -> anyhow::Result<()> {
        let settled = unprocessable::reject(c, &self.config.paths.rejected, self.store, u)?;
        crate::operate::record::file_done(&crate::operate::record::Done {
            name: &c.name,
            flow: &c.schema.flow,
            outcome: "rejected",
            targets: &[],
            error: Some(u.why),
        });
        match settled {
            Settled::Rejected(path) => {
                self.summary.rejected += 1;
                tracing::warn!(file = %c.name, to = %path.display(), "rejected: {}", u.why);
            }
            Settled::Stuck(e) => self.left_alone.add(&c.path, &c.name, &e),
        }
        Ok(())
    }

    /// The share's failure, when it is the share that failed rather than
    /// the file: its folders cannot be listed.
    fn share_failure(&self) -> Option<anyhow::Error> {
        let paths = &self.config.paths;
        [&paths.inbound, &paths.in_progress]
            .into_iter()
            .find_map(|dir| {
                std::fs::read_dir(dir)
                    .with_context(|| format!("cannot read {}", dir.display()))
                    .err()
            })
    }

    fn count(
        &mut self,
        c: &Claimed,
        disposition: &Disposition,
        result: Option<&crate::flows::inbound::FileResult>,
    ) {
        let summary = &mut self.summary;
        match disposition {
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
                // The first error says what to look for in the report.
                let first = result
                    .and_then(|r| r.plan.as_ref())
                    .and_then(|p| p.report.errors.first())
                    .map(|e| format!("; the first: {}", e.display_in(&c.name)))
                    .unwrap_or_default();
                tracing::warn!(file = %c.name, to = %path.display(), "rejected: {reason}{first}");
            }
        }
    }

    /// Holds back the ready files that must wait for an older one of their
    /// flow, saying so once per pair at WARN: a file that never completes
    /// holds its flow back until `incomplete_timeout`, and whoever watches
    /// the log should know which file does.
    fn hold_back_newer(&mut self, ready: &mut Vec<Candidate>, waiting: &[Candidate]) {
        let held = hold_back_newer(ready, waiting);
        for pair in &held {
            if !self.held_back.contains(pair) {
                tracing::warn!(
                    file = %pair.0,
                    blocked_by = %pair.1,
                    "waits for {}, an older file of its flow that is not complete yet",
                    pair.1
                );
            }
        }
        self.held_back = held.into_iter().collect();
    }
}

/// The whole backlog counts, not only what is ready: a file of a flow
/// waits while an older file of the same flow (by header time) is still
/// being written, or it would be applied first and the older one then
/// rejected as stale. Returns (held file, the oldest file it waits for).
fn hold_back_newer(ready: &mut Vec<Candidate>, waiting: &[Candidate]) -> Vec<(String, String)> {
    let mut held = Vec::new();
    if waiting.is_empty() {
        return held;
    }
    let oldest_waiting = |flow: &str| {
        waiting
            .iter()
            .filter(|w| w.schema.flow == flow)
            .filter_map(|w| header_time(&w.path, &w.schema).map(|t| (t, &w.name)))
            .min()
    };
    ready.retain(|c| {
        match (
            oldest_waiting(&c.schema.flow),
            header_time(&c.path, &c.schema),
        ) {
            (Some((older, blocker)), Some(mine)) if older < mine => {
                held.push((c.name.clone(), blocker.clone()));
                false
            }
            _ => true,
        }
    });
    held
}

/// Products before stock, customers and fulfilment; each flow by header time.
fn sort_backlog<T>(items: &mut [T], key: impl Fn(&T) -> (String, Option<String>, String)) {
    items.sort_by_cached_key(|item| {
        let (flow, ts, name) = key(item);
        let order = Flow::from_schema_flow(&flow).map_or(99, |f| f as u8);
        (order, ts, name)
    });
}

/// The state store is the one thing the service cannot go on without.
fn is_store_failure(e: &anyhow::Error) -> bool {
    e.chain()
        .any(|c| c.is::<StoreError>() || c.is::<rusqlite::Error>())
}

/// Files that could not be moved (claimed, or rejected): reported once,
/// then not touched again until they change, rather than tried on every
/// scan.
#[derive(Default)]
struct LeftAlone {
    files: HashMap<PathBuf, (u64, Option<SystemTime>)>,
}

impl LeftAlone {
    fn stamp(path: &Path) -> Option<(u64, Option<SystemTime>)> {
        std::fs::symlink_metadata(path)
            .ok()
            .map(|m| (m.len(), m.modified().ok()))
    }

    fn add(&mut self, path: &Path, name: &str, e: &anyhow::Error) {
        let Some(stamp) = Self::stamp(path) else {
            tracing::warn!(file = %name, "{e:#}; it has gone");
            return;
        };
        tracing::error!(
            file = %name,
            path = %path.display(),
            "{e:#}: left where it is and not touched again until it changes or ponte restarts; move it away by hand"
        );
        self.files.insert(path.to_path_buf(), stamp);
    }

    fn skips(&self, path: &Path) -> bool {
        self.files
            .get(path)
            .is_some_and(|s| Self::stamp(path).as_ref() == Some(s))
    }

    /// Forgets the files no longer there (moved away by hand), so that the
    /// set does not grow over weeks.
    fn forget_gone(&mut self) {
        self.files.retain(|p, _| Self::stamp(p).is_some());
    }
}

/// Waits between tries of a share that fails: the scan interval, doubling
/// up to a minute; every failure is logged with its path, and the share's
/// return once.
#[derive(Default)]
struct ShareBackoff {
    failures: u32,
}

impl ShareBackoff {
    fn failed(&mut self, e: &anyhow::Error, base: Duration) -> Duration {
        self.failures += 1;
        let wait = base
            .saturating_mul(1 << self.failures.saturating_sub(1).min(16))
            .min(LONGEST_SHARE_WAIT.max(base));
        // A folder of the share that is no longer there is most often an
        // unmounted share (the mount point left, empty).
        let gone = e.chain().any(|c| {
            c.downcast_ref::<std::io::Error>()
                .is_some_and(|io| io.kind() == std::io::ErrorKind::NotFound)
        });
        let hint = match gone {
            true => ": the share's folder is gone: is the share still mounted?",
            false => "",
        };
        tracing::error!(
            attempt = self.failures,
            "the share failed: {e:#}{hint}; trying again in {} ms",
            wait.as_millis()
        );
        wait
    }

    fn answered(&mut self) {
        if self.failures > 0 {
            tracing::info!(failures = self.failures, "the share answers again");
            self.failures = 0;
        }
    }
}

fn sleep_unless(wait: Duration, shutdown: &AtomicBool) {
    let deadline = Instant::now() + wait;
    while !shutdown.load(Ordering::SeqCst) {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return;
        }
        std::thread::sleep(left.min(Duration::from_millis(100)));
    }
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
pub(crate) fn stop_on_signals(flag: Arc<AtomicBool>) -> anyhow::Result<()> {
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
            ponte_layout::record::stop::stop_reading();
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
        let held = hold_back_newer(&mut ready, std::slice::from_ref(&older));
        assert!(ready.is_empty());
        assert_eq!(held, [("GIA2.txt".to_string(), "GIA1.txt".to_string())]);
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
