//! Fills the operator's views from what ponte keeps today: the state
//! store, read through a read-only connection of its own, the share's
//! folders and the instance lock. The one place that knows the store's
//! tables for the operator layer, so that richer history queries in
//! `state` can take its place without touching the views or the pages.

use std::path::Path;

use super::report::*;
use super::time::{iso, iso_of_secs, now_secs};
use crate::config::Config;
use crate::intake::readiness::marker_path;
use std::collections::HashMap;

use crate::model::{spec_for_flow, BoundSpec, Flow};
use crate::reconcile::decode_stored;
use crate::state::{self, Store};
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
pub(crate) fn schema_flow(name: &str) -> String {
    match Flow::parse(name) {
        Some(f) => f.schema_flow().to_string(),
        None => name.to_ascii_uppercase(),
    }
}

/// A read-only look at the state directory; an empty state when ponte
/// has not written one yet.
pub(crate) struct Collector<'a> {
    config: &'a Config,
    store: Option<Store>,
}

impl<'a> Collector<'a> {
    pub fn open(config: &'a Config) -> anyhow::Result<Collector<'a>> {
        let store = Store::open_read_only(&config.paths.state_dir)?;
        Ok(Collector { config, store })
    }

    pub fn history(&self, filter: &HistoryFilter) -> anyhow::Result<Vec<FileRow>> {
        let Some(store) = &self.store else {
            return Ok(Vec::new());
        };
        let flow = filter.flow.as_deref().map(schema_flow);
        let since = filter
            .since
            .and_then(|s| jiff::Timestamp::from_second(s).ok());
        // One file by id is looked for among all of them: ids are not
        // part of the store's history filter.
        let limit = if filter.id.is_some() {
            None
        } else {
            filter.limit
        };
        let files = store.history(&state::HistoryFilter {
            since,
            flow: flow.as_deref(),
            limit,
        })?;
        Ok(files
            .into_iter()
            .filter(|f| filter.id.is_none_or(|id| id == f.id))
            .map(file_row)
            .collect())
    }

    pub fn failures(
        &self,
        target: Option<&str>,
        flow: Option<&str>,
    ) -> anyhow::Result<Vec<FailureRow>> {
        let Some(store) = &self.store else {
            return Ok(Vec::new());
        };
        let flow = flow.map(schema_flow);
        Ok(store
            .open_failures(target, flow.as_deref())?
            .into_iter()
            .map(failure_row)
            .collect())
    }

    pub(crate) fn show(
        &self,
        registry: &Registry,
        key: &str,
        flow: Option<&str>,
    ) -> anyhow::Result<KeyDetail> {
        let mut detail = KeyDetail {
            key: key.to_string(),
            ..KeyDetail::default()
        };
        let Some(store) = &self.store else {
            return Ok(detail);
        };
        let flows: Vec<String> = match flow {
            Some(f) => vec![schema_flow(f)],
            None => Flow::ALL
                .iter()
                .filter(|f| **f != Flow::Orders)
                .map(|f| f.schema_flow().to_string())
                .collect(),
        };
        let targets: Vec<&str> = self
            .config
            .targets
            .iter()
            .map(|t| t.name.as_str())
            .collect();
        let key_hash = BoundSpec::key_hash_of(key);
        for flow in flows {
            let view = store.entity(&flow, key, key_hash, &targets)?;
            if let Some(erp) = &view.erp {
                detail.desired.push(Described {
                    flow: flow.clone(),
                    file: erp.file.clone(),
                    line: erp.line,
                    fields: described_fields(registry, &flow, key_hash, view.erp_payload.clone()),
                });
            }
            detail
                .applied
                .extend(view.acknowledged.into_iter().map(|a| Acknowledged {
                    target: a.target,
                    flow: flow.clone(),
                    at: a.at.as_deref().and_then(iso),
                    file: a.file,
                    removed: a.removed,
                }));
            detail
                .failures
                .extend(view.failures.into_iter().map(failure_row));
        }
        Ok(detail)
    }

    pub(crate) fn status(&self, registry: &Registry) -> anyhow::Result<StatusReport> {
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
        let last_applied = match &self.store {
            Some(store) => store.last_applied()?,
            None => Vec::new(),
        };
        for target in &self.config.targets {
            for flow in target.flows.iter().filter(|f| **f != Flow::Orders) {
                let sf = flow.schema_flow();
                let last = last_applied
                    .iter()
                    .find(|l| l.flow == sf && l.target == target.name);
                report.flows.push(FlowState {
                    flow: flow.as_str().to_string(),
                    target: target.name.clone(),
                    last_file: last.and_then(|l| l.file.clone()),
                    last_applied_at: last.and_then(|l| l.at.as_deref().and_then(iso)),
                    failing: last.map_or(0, |l| l.failing.max(0) as u64),
                    next_retry: last.and_then(|l| l.next_retry.as_deref().and_then(iso)),
                });
            }
            if target.receives(Flow::Orders) {
                report.orders.push(self.orders_state(&target.name)?);
            }
        }
        report.service.last_scan = match &self.store {
            Some(store) => store.watermark(state::LAST_SCAN)?.as_deref().and_then(iso),
            None => None,
        };
        report.service.last_activity = self
            .history(&HistoryFilter {
                limit: Some(1),
                ..HistoryFilter::default()
            })?
            .first()
            .and_then(|f| f.finished_at.clone().or_else(|| f.first_seen.clone()));
        Ok(report)
    }

    fn orders_state(&self, target: &str) -> anyhow::Result<OrdersState> {
        let Some(store) = &self.store else {
            return Ok(OrdersState {
                target: target.to_string(),
                ..OrdersState::default()
            });
        };
        let view = store.orders_view(target)?;
        Ok(OrdersState {
            target: target.to_string(),
            last_poll: view.last_poll.as_deref().and_then(iso),
            last_poll_error: view.last_poll_error,
            watermark: view.watermark,
            last_file: view.last_file,
            last_file_orders: view.last_file_orders.max(0) as u64,
        })
    }
}

fn file_row(f: state::FileView) -> FileRow {
    FileRow {
        id: f.id,
        name: f.name,
        flow: f.flow,
        mode: f.mode,
        outcome: f.outcome,
        records: f.records.max(0) as u64,
        first_seen: iso(&f.started_at),
        finished_at: f.finished_at.as_deref().and_then(iso),
        duration_ms: f.duration_secs.map(|s| s.max(0) as u64 * 1000),
        targets: f
            .targets
            .into_iter()
            .map(|t| TargetCounts {
                target: t.target,
                sent: t.sent.max(0) as u64,
                unchanged: t.unchanged.max(0) as u64,
                failed: t.failed.max(0) as u64,
            })
            .collect(),
        location: f.place,
        error: f.error,
    }
}

fn failure_row(f: state::FailureView) -> FailureRow {
    FailureRow {
        target: f.target,
        flow: f.flow,
        key: f.key,
        status: f.status,
        message: f.message,
        file: f.file,
        line: f.line,
        first_attempt: iso(&f.first_attempt),
        last_attempt: iso(&f.last_attempt),
        attempts: f.attempts,
        next_retry: f.next_try.as_deref().and_then(iso),
        resolved_at: f.resolved_at.as_deref().and_then(iso),
    }
}

/// The ERP's fields: as the store keeps them (JSON), or, for an entity of
/// a large file kept as a line of its copy, that line decoded with its
/// flow's layout.
fn described_fields(
    registry: &Registry,
    flow: &str,
    key_hash: u64,
    stored: Option<state::Stored>,
) -> serde_json::Value {
    match stored {
        Some(state::Stored::Json { payload, .. }) => {
            serde_json::from_str(&payload).unwrap_or(serde_json::Value::String(payload))
        }
        Some(line @ state::Stored::Line { .. }) => {
            let bound = registry
                .by_flow(flow)
                .zip(spec_for_flow(flow))
                .and_then(|(schema, spec)| BoundSpec::bind(spec, schema).ok());
            let decoded =
                decode_stored(bound.as_ref(), HashMap::from([(key_hash, line)])).remove(&key_hash);
            match decoded {
                Some((_, fields)) => serde_json::Value::Object(fields),
                None => serde_json::Value::String(
                    "kept as a line of the file named above, in a layout this ponte no longer reads"
                        .to_string(),
                ),
            }
        }
        None => serde_json::Value::Null,
    }
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
    fn flows_are_named_either_way() {
        assert_eq!(schema_flow("products"), "ARTICOLI");
        assert_eq!(schema_flow("GIACENZE"), "GIACENZE");
    }
}
