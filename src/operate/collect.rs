//! Fills the operator's views from what ponte keeps today: the state
//! store, read through a read-only connection of its own, the share's
//! folders and the instance lock. The one place that knows the store's
//! tables for the operator layer, so that richer history queries in
//! `state` can take its place without touching the views or the pages.

use std::collections::HashMap;
use std::path::Path;

use anyhow::Context;
use rusqlite::{params, Connection, OpenFlags, OptionalExtension};

use super::record::{FileSummary, RUN_PREFIX};
use super::report::*;
use super::time::{iso, iso_of_secs, now_secs, secs};
use crate::config::{Config, Flow};
use crate::intake::readiness::marker_path;
use ponte_layout::schema::Registry;

/// What `history` lists.
#[derive(Debug, Clone, Default)]
pub struct HistoryFilter {
    pub since: Option<i64>,
    /// A schema flow name (ARTICOLI) or a configured one (products).
    pub flow: Option<String>,
    pub limit: Option<usize>,
    /// One file by its id.
    pub id: Option<i64>,
}

/// `products` or `ARTICOLI` both name the flow the store calls ARTICOLI.
pub fn schema_flow(name: &str) -> String {
    match Flow::parse(name) {
        Some(f) => f.schema_flow().to_string(),
        None => name.to_ascii_uppercase(),
    }
}

/// A file's latest run: when it started and ended (epoch seconds), what
/// it sent.
type FileRun = (Option<i64>, Option<i64>, FileSummary);

/// A read-only look at the state directory; an empty state when ponte
/// has not written one yet.
pub struct Collector<'a> {
    config: &'a Config,
    conn: Option<Connection>,
}

impl<'a> Collector<'a> {
    pub fn open(config: &'a Config) -> anyhow::Result<Collector<'a>> {
        // The store's file name, as `state::store` names it.
        let path = config.paths.state_dir.join("ponte.sqlite");
        let conn = if path.exists() {
            let conn = Connection::open_with_flags(
                &path,
                OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
            )
            .with_context(|| format!("state store {}", path.display()))?;
            conn.busy_timeout(std::time::Duration::from_secs(5))?;
            Some(conn)
        } else {
            None
        };
        Ok(Collector { config, conn })
    }

    pub fn history(&self, filter: &HistoryFilter) -> anyhow::Result<Vec<FileRow>> {
        let Some(conn) = &self.conn else {
            return Ok(Vec::new());
        };
        let flow = filter.flow.as_deref().map(schema_flow);
        let since = filter.since.map(|s| format!("{s:012}"));
        let limit = filter.limit.map_or(-1, |l| l as i64);
        let mut stmt = conn.prepare(
            "SELECT id, name, flow, status, first_seen, updated_at, error FROM files
             WHERE (?1 IS NULL OR flow = ?1) AND (?2 IS NULL OR updated_at >= ?2)
               AND (?4 IS NULL OR id = ?4)
             ORDER BY updated_at DESC, id DESC LIMIT ?3",
        )?;
        let mut rows = stmt
            .query_map(params![flow, since, limit, filter.id], |r| {
                Ok(FileRow {
                    id: r.get(0)?,
                    name: r.get(1)?,
                    flow: r.get(2)?,
                    outcome: r.get(3)?,
                    first_seen: r.get::<_, String>(4).map(|t| iso(&t))?,
                    finished_at: r.get::<_, String>(5).map(|t| iso(&t))?,
                    duration_ms: None,
                    targets: Vec::new(),
                    location: None,
                    error: r.get(6)?,
                })
            })?
            .collect::<Result<Vec<_>, _>>()?;
        let runs = self.file_runs(rows.iter().map(|r| r.id))?;
        for row in &mut rows {
            match runs.get(&row.id) {
                Some((started, finished, summary)) => {
                    row.duration_ms = finished
                        .zip(*started)
                        .map(|(f, s)| (f - s).max(0) as u64 * 1000);
                    row.targets = summary.targets.clone();
                    row.location = summary.location.clone();
                }
                None => row.location = self.guess_location(row),
            }
        }
        Ok(rows)
    }

    /// The latest run of each file: when it started and ended, and what it
    /// sent.
    fn file_runs(&self, ids: impl Iterator<Item = i64>) -> anyhow::Result<HashMap<i64, FileRun>> {
        let Some(conn) = &self.conn else {
            return Ok(HashMap::new());
        };
        let mut stmt = conn.prepare_cached(
            "SELECT started_at, finished_at, summary FROM runs WHERE command = ?1
             ORDER BY id DESC LIMIT 1",
        )?;
        let mut out = HashMap::new();
        for id in ids {
            let found = stmt
                .query_row([format!("{RUN_PREFIX}{id}")], |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, Option<String>>(1)?,
                        r.get::<_, Option<String>>(2)?,
                    ))
                })
                .optional()?;
            if let Some((started, finished, summary)) = found {
                let summary = summary
                    .and_then(|s| serde_json::from_str::<FileSummary>(&s).ok())
                    .unwrap_or_default();
                out.insert(
                    id,
                    (secs(&started), finished.as_deref().and_then(secs), summary),
                );
            }
        }
        Ok(out)
    }

    /// Where a file recorded before runs were kept most likely went.
    fn guess_location(&self, row: &FileRow) -> Option<String> {
        let p = &self.config.paths;
        let dir = match row.outcome.as_str() {
            "claimed" => &p.in_progress,
            "rejected" | "stale" | "held" => &p.rejected,
            _ => &p.archive,
        };
        Some(dir.display().to_string())
    }

    pub fn failures(
        &self,
        target: Option<&str>,
        flow: Option<&str>,
    ) -> anyhow::Result<Vec<FailureRow>> {
        self.failures_where(target, flow.map(schema_flow).as_deref(), None)
    }

    fn failures_where(
        &self,
        target: Option<&str>,
        flow: Option<&str>,
        key: Option<&str>,
    ) -> anyhow::Result<Vec<FailureRow>> {
        let Some(conn) = &self.conn else {
            return Ok(Vec::new());
        };
        let mut stmt = conn.prepare(
            "SELECT target, flow, key, attempts, last_error, next_try, updated_at FROM failures
             WHERE (?1 IS NULL OR target = ?1) AND (?2 IS NULL OR flow = ?2)
               AND (?3 IS NULL OR key = ?3)
             ORDER BY target, flow, key",
        )?;
        let rows = stmt
            .query_map(params![target, flow, key], |r| {
                let message: String = r.get(4)?;
                Ok(FailureRow {
                    target: r.get(0)?,
                    flow: r.get(1)?,
                    key: r.get(2)?,
                    status: http_status(&message),
                    message,
                    file: None,
                    first_attempt: None,
                    last_attempt: r.get::<_, String>(6).map(|t| iso(&t))?,
                    attempts: r.get(3)?,
                    next_retry: r.get::<_, Option<String>>(5)?.and_then(|t| iso(&t)),
                })
            })?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }

    pub fn show(&self, key: &str, flow: Option<&str>) -> anyhow::Result<KeyDetail> {
        let flow = flow.map(schema_flow);
        let mut detail = KeyDetail {
            key: key.to_string(),
            failures: self.failures_where(None, flow.as_deref(), Some(key))?,
            ..KeyDetail::default()
        };
        let Some(conn) = &self.conn else {
            return Ok(detail);
        };
        let mut stmt = conn.prepare(
            "SELECT d.flow, d.payload, d.removed, f.name FROM desired d
             LEFT JOIN files f ON f.id = d.file_id
             WHERE d.key = ?1 AND (?2 IS NULL OR d.flow = ?2) ORDER BY d.flow",
        )?;
        detail.desired = stmt
            .query_map(params![key, flow], |r| {
                let payload: String = r.get(1)?;
                Ok(Described {
                    flow: r.get(0)?,
                    fields: serde_json::from_str(&payload)
                        .unwrap_or(serde_json::Value::String(payload)),
                    removed: r.get(2)?,
                    file: r.get(3)?,
                })
            })?
            .collect::<Result<Vec<_>, _>>()?;
        let mut stmt = conn.prepare(
            "SELECT target, flow, applied_at, removed FROM applied
             WHERE key = ?1 AND (?2 IS NULL OR flow = ?2) ORDER BY target, flow",
        )?;
        detail.applied = stmt
            .query_map(params![key, flow], |r| {
                Ok(Acknowledged {
                    target: r.get(0)?,
                    flow: r.get(1)?,
                    at: r.get::<_, String>(2).map(|t| iso(&t))?,
                    file: None,
                    removed: r.get(3)?,
                })
            })?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(detail)
    }

    pub fn status(&self, registry: &Registry) -> anyhow::Result<StatusReport> {
        let mut report = StatusReport {
            service: service_state(&self.config.paths.state_dir),
            ..StatusReport::default()
        };
        report.waiting = waiting(&self.config.paths.inbound, registry, self.config);
        report.in_progress = names_in(&self.config.paths.in_progress);
        let week_ago = now_secs() - 7 * 86_400;
        report.rejected_recently = self
            .history(&HistoryFilter {
                since: Some(week_ago),
                ..HistoryFilter::default()
            })?
            .into_iter()
            .filter(|f| matches!(f.outcome.as_str(), "rejected" | "stale" | "held"))
            .collect();
        let failures = self.failures(None, None)?;
        for target in &self.config.targets {
            for flow in target.flows.iter().filter(|f| **f != Flow::Orders) {
                let sf = flow.schema_flow();
                let (last_file, last_applied_at) = self.last_applied(sf)?;
                let failing: Vec<&FailureRow> = failures
                    .iter()
                    .filter(|f| f.target == target.name && f.flow == sf)
                    .collect();
                report.flows.push(FlowState {
                    flow: flow.as_str().to_string(),
                    target: target.name.clone(),
                    last_file,
                    last_applied_at,
                    failing: failing.len() as u64,
                    next_retry: failing.iter().filter_map(|f| f.next_retry.clone()).min(),
                });
            }
            if target.receives(Flow::Orders) {
                report.orders.push(self.orders_state(&target.name)?);
            }
        }
        report.service.last_activity = self
            .history(&HistoryFilter {
                limit: Some(1),
                ..HistoryFilter::default()
            })?
            .first()
            .and_then(|f| f.finished_at.clone());
        Ok(report)
    }

    /// The newest file of a flow that applied, at least in part.
    fn last_applied(&self, schema_flow: &str) -> anyhow::Result<(Option<String>, Option<String>)> {
        let Some(conn) = &self.conn else {
            return Ok((None, None));
        };
        let row = conn
            .query_row(
                "SELECT name, updated_at FROM files WHERE flow = ?1
                 AND status IN ('applied', 'applied-with-failures')
                 ORDER BY updated_at DESC, id DESC LIMIT 1",
                [schema_flow],
                |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)),
            )
            .optional()?;
        Ok(match row {
            Some((name, at)) => (Some(name), iso(&at)),
            None => (None, None),
        })
    }

    fn orders_state(&self, target: &str) -> anyhow::Result<OrdersState> {
        let mut state = OrdersState {
            target: target.to_string(),
            last_poll: None,
            watermark: None,
            last_file: None,
            last_file_orders: 0,
        };
        let Some(conn) = &self.conn else {
            return Ok(state);
        };
        let value = |scope: String| -> rusqlite::Result<Option<String>> {
            conn.query_row(
                "SELECT value FROM watermarks WHERE scope = ?1",
                [scope],
                |r| r.get(0),
            )
            .optional()
        };
        state.watermark = value(crate::state::watermark_scope(target))?;
        state.last_poll = value(super::record::polled_scope(target))?.and_then(|t| iso(&t));
        let last = conn
            .query_row(
                "SELECT file, count(*) FROM order_exports WHERE target = ?1
                 GROUP BY file ORDER BY max(exported_at) DESC LIMIT 1",
                [target],
                |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)),
            )
            .optional()?;
        if let Some((file, n)) = last {
            state.last_file = Some(file);
            state.last_file_orders = n.max(0) as u64;
        }
        Ok(state)
    }
}

/// Magento's HTTP status at the start of a failure's message, if any.
fn http_status(message: &str) -> Option<u16> {
    let head = message.get(..3)?;
    let status: u16 = head.parse().ok()?;
    let rest = &message[3..];
    ((100..600).contains(&status) && (rest.is_empty() || rest.starts_with(' '))).then_some(status)
}

/// The service holds the instance lock while it runs; the lock file names
/// its pid, and its modification time is when it took it.
fn service_state(state_dir: &Path) -> ServiceState {
    let path = state_dir.join("ponte.lock");
    let mut state = ServiceState::default();
    // Read-only: an operator may read the state without owning it.
    let Ok(file) = std::fs::File::open(&path) else {
        return state;
    };
    // A shared lock this process can take is held by no service; held for
    // no longer than this check.
    if file.try_lock_shared().is_ok() {
        let _ = file.unlock();
        return state;
    }
    state.running = true;
    state.pid = std::fs::read_to_string(&path)
        .ok()
        .and_then(|t| t.trim().parse().ok());
    state.since = std::fs::metadata(&path)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| iso_of_secs(d.as_secs() as i64));
    state
}

fn names_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| !n.ends_with(".err"))
        .collect();
    names.sort();
    names
}

/// Each file of inbound and what it waits for.
fn waiting(inbound: &Path, registry: &Registry, config: &Config) -> Vec<WaitingFile> {
    let now = std::time::SystemTime::now();
    let settle = config.intake.settle_spacing * config.intake.settle_checks;
    names_in(inbound)
        .into_iter()
        .filter(|n| {
            !n.to_ascii_lowercase().ends_with(".ok") && !crate::intake::discovery::is_temporary(n)
        })
        .map(|name| {
            let path = inbound.join(&name);
            let age = std::fs::metadata(&path)
                .and_then(|m| m.modified())
                .ok()
                .and_then(|m| now.duration_since(m).ok())
                .unwrap_or_default();
            let (flow, why) = match registry.route(&path) {
                Err(_) => (None, "not claimed by any schema".to_string()),
                Ok(schema) => {
                    let why = if schema.requires_ok_marker && !marker_path(&path).exists() {
                        "waiting for its .ok marker".to_string()
                    } else if age <= settle {
                        "settling (still being written?)".to_string()
                    } else if age >= config.intake.incomplete_timeout {
                        "incomplete: rejected at the next scan".to_string()
                    } else {
                        "waiting for the next scan, or for an older file of its flow".to_string()
                    };
                    (Some(schema.flow.clone()), why)
                }
            };
            WaitingFile {
                name,
                flow,
                why,
                age_seconds: age.as_secs(),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_status_is_read_only_at_the_start_of_a_message() {
        assert_eq!(http_status("400 The price is wrong"), Some(400));
        assert_eq!(http_status("4000 things"), None);
        assert_eq!(http_status("gave up after 3 attempts"), None);
        assert_eq!(http_status("é"), None);
    }

    #[test]
    fn flows_are_named_either_way() {
        assert_eq!(schema_flow("products"), "ARTICOLI");
        assert_eq!(schema_flow("GIACENZE"), "GIACENZE");
    }
}
