//! Read-only answers to an operator's questions (for `status`, `history`,
//! `failures`, `show` and the status page): what happened to each file,
//! what is failing now, what the ERP and each target last said of an
//! entity, when each flow last reached each target, how the orders poll
//! is doing. Times are as stored (ISO 8601, UTC, `+00:00`); `local` shows
//! them in the operator's time zone.

use std::io::Read;

use jiff::Timestamp;
use rusqlite::{params, OptionalExtension};

use super::clock::{seconds_between, text_of};
use super::exports::watermark_scope;
use super::files::TargetCounts;
use super::retained;
use super::snapshot::INLINE;
use super::store::{Store, StoreError};
use super::watermarks::poll_scope;

/// Which files `history` lists.
#[derive(Debug, Clone, Default)]
pub struct HistoryFilter<'a> {
    /// Files first seen at or after this instant.
    pub since: Option<Timestamp>,
    /// Files of this flow only (`ARTICOLI`, `GIACENZE`...).
    pub flow: Option<&'a str>,
    /// At most this many, the newest.
    pub limit: Option<usize>,
}

/// A file ponte handled.
#[derive(Debug, Clone, PartialEq)]
pub struct FileView {
    pub id: i64,
    pub name: String,
    pub flow: String,
    /// How it came: `watch`, `ingest` or `reprocess` (none before this was
    /// recorded).
    pub mode: Option<String>,
    /// `applied`, `applied-with-failures`, `duplicate`, `stale`, `rejected`,
    /// `held`, or `claimed` while in progress.
    pub outcome: String,
    pub records: i64,
    pub bad_records: i64,
    /// Why it was rejected, held, stale or a duplicate.
    pub error: Option<String>,
    /// The header's export time, as the ERP wrote it.
    pub exported_at: Option<String>,
    /// When ponte claimed it, and when it was settled.
    pub started_at: String,
    pub finished_at: Option<String>,
    pub duration_secs: Option<i64>,
    /// Where the file is now.
    pub place: Option<String>,
    /// Per target: sent, unchanged, failed.
    pub targets: Vec<TargetCounts>,
}

/// A failure, open or resolved.
#[derive(Debug, Clone, PartialEq)]
pub struct FailureView {
    pub target: String,
    pub flow: String,
    pub key: String,
    /// The file (and its line, from 1) that last sent the entity; none
    /// for orders and failures recorded before files were named.
    pub file: Option<String>,
    pub line: Option<u64>,
    /// Magento's HTTP status; none when Magento was not reached or never
    /// answered (unreachable, a configuration gap).
    pub status: Option<u16>,
    /// Magento's message (placeholders filled), or ponte's.
    pub message: String,
    pub attempts: i64,
    pub first_attempt: String,
    pub last_attempt: String,
    pub next_try: Option<String>,
    /// When the entity was applied at last; none while open.
    pub resolved_at: Option<String>,
}

/// Where the ERP last described an entity.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct SourceLine {
    /// The file's name; none when the store no longer knows it.
    pub file: Option<String>,
    /// Its line, from 1; known for entities kept as lines of a retained
    /// file (files of many entities), not for small files' rows.
    pub line: Option<u64>,
}

/// What a target acknowledged of an entity.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Acknowledged {
    pub target: String,
    /// When: the row's time, or, for an entity kept as a line, when the
    /// file holding that line was retained (the newest file with the same
    /// content, see `Store::repoint`).
    pub at: Option<String>,
    /// From which file, when it is kept as one of its lines.
    pub file: Option<String>,
    pub removed: bool,
}

/// Everything the store knows of one entity.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct EntityView {
    pub flow: String,
    pub key: String,
    /// What the ERP last said; none if no file described it.
    pub erp: Option<SourceLine>,
    /// The payload the ERP last gave (to decode its fields).
    pub erp_payload: Option<super::Stored>,
    /// One per target that holds it.
    pub acknowledged: Vec<Acknowledged>,
    /// The last failure per target, open or resolved.
    pub failures: Vec<FailureView>,
}

/// The last file of a flow a target acknowledged, and what fails now.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct LastApplied {
    pub flow: String,
    pub target: String,
    pub file: Option<String>,
    pub at: Option<String>,
    /// Entities of this flow the target refused and has not applied since.
    pub failing: i64,
    /// The soonest of their next retries.
    pub next_retry: Option<String>,
}

/// The orders export of one target.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct OrdersView {
    pub target: String,
    /// When the last poll ended, and its error when it failed.
    pub last_poll: Option<String>,
    pub last_poll_error: Option<String>,
    /// The `updated_at` (Magento's, UTC) the next poll starts from.
    pub watermark: Option<String>,
    /// The last ORD file written for it, when, and its orders.
    pub last_file: Option<String>,
    pub last_file_at: Option<String>,
    pub last_file_orders: i64,
}

const FAILURE_COLUMNS: &str = "x.target, x.flow, x.key, f.name, x.line, x.status, x.error,
    x.attempts, x.first_attempt, x.last_attempt, x.next_try, x.resolved_at";

fn failure_view(r: &rusqlite::Row) -> rusqlite::Result<FailureView> {
    let error: String = r.get(6)?;
    let status: Option<i64> = r.get(5)?;
    let status = status.and_then(|s| u16::try_from(s).ok());
    // The status is its own column: the message is the rest.
    let message = match status {
        Some(s) => error
            .strip_prefix(&format!("{s} "))
            .unwrap_or(&error)
            .to_string(),
        None => error,
    };
    let line: Option<i64> = r.get(4)?;
    Ok(FailureView {
        target: r.get(0)?,
        flow: r.get(1)?,
        key: r.get(2)?,
        file: r.get(3)?,
        line: line.and_then(|l| u64::try_from(l).ok()),
        status,
        message,
        attempts: r.get(7)?,
        first_attempt: r.get(8)?,
        last_attempt: r.get(9)?,
        next_try: r.get(10)?,
        resolved_at: r.get(11)?,
    })
}

fn collect<T>(
    store: &Store,
    rows: rusqlite::Result<
        rusqlite::MappedRows<'_, impl FnMut(&rusqlite::Row) -> rusqlite::Result<T>>,
    >,
) -> Result<Vec<T>, StoreError> {
    rows.map_err(|e| store.err(e))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| store.err(e))
}

impl Store {
    /// Every file handled, newest first, with its outcome, counts per
    /// target, duration and where it is now.
    pub fn history(&self, filter: &HistoryFilter) -> Result<Vec<FileView>, StoreError> {
        let since = filter.since.map(text_of);
        let limit = filter
            .limit
            .map_or(-1, |n| i64::try_from(n).unwrap_or(i64::MAX));
        let mut stmt = self
            .conn
            .prepare(
                "SELECT id, name, flow, mode, status, records, bad_records, error, exported_at,
                    first_seen, finished_at, place
                 FROM files WHERE (?1 IS NULL OR first_seen >= ?1) AND (?2 IS NULL OR flow = ?2)
                 ORDER BY first_seen DESC, id DESC LIMIT ?3",
            )
            .map_err(|e| self.err(e))?;
        let rows = stmt.query_map(params![since, filter.flow, limit], |r| {
            let started_at: String = r.get(9)?;
            let finished_at: Option<String> = r.get(10)?;
            Ok(FileView {
                id: r.get(0)?,
                name: r.get(1)?,
                flow: r.get(2)?,
                mode: r.get(3)?,
                outcome: r.get(4)?,
                records: r.get(5)?,
                bad_records: r.get(6)?,
                error: r.get(7)?,
                exported_at: r.get(8)?,
                duration_secs: finished_at
                    .as_deref()
                    .and_then(|f| seconds_between(&started_at, f)),
                started_at,
                finished_at,
                place: r.get(11)?,
                targets: Vec::new(),
            })
        });
        let mut files = collect(self, rows)?;
        let mut counts = self
            .conn
            .prepare_cached(
                "SELECT target, sent, unchanged, failed FROM file_targets
                 WHERE file_id = ?1 ORDER BY target",
            )
            .map_err(|e| self.err(e))?;
        for f in &mut files {
            let rows = counts.query_map([f.id], |r| {
                Ok(TargetCounts {
                    target: r.get(0)?,
                    sent: r.get(1)?,
                    unchanged: r.get(2)?,
                    failed: r.get(3)?,
                })
            });
            f.targets = collect(self, rows)?;
        }
        Ok(files)
    }

    /// Every entity a target refused and has not applied since, by target,
    /// flow and key; of one target and/or flow when given.
    pub fn open_failures(
        &self,
        target: Option<&str>,
        flow: Option<&str>,
    ) -> Result<Vec<FailureView>, StoreError> {
        let mut stmt = self
            .conn
            .prepare(&format!(
                "SELECT {FAILURE_COLUMNS} FROM failures x LEFT JOIN files f ON f.id = x.file_id
                 WHERE x.resolved_at IS NULL AND (?1 IS NULL OR x.target = ?1)
                    AND (?2 IS NULL OR x.flow = ?2)
                 ORDER BY x.target, x.flow, x.key"
            ))
            .map_err(|e| self.err(e))?;
        let rows = stmt.query_map(params![target, flow], failure_view);
        collect(self, rows)
    }

    /// An entity's failures, open and resolved, newest first.
    pub fn failure_history(&self, flow: &str, key: &str) -> Result<Vec<FailureView>, StoreError> {
        let mut stmt = self
            .conn
            .prepare(&format!(
                "SELECT {FAILURE_COLUMNS} FROM failures x LEFT JOIN files f ON f.id = x.file_id
                 WHERE x.flow = ?1 AND x.key = ?2 ORDER BY x.last_attempt DESC, x.id DESC"
            ))
            .map_err(|e| self.err(e))?;
        let rows = stmt.query_map(params![flow, key], failure_view);
        collect(self, rows)
    }

    /// What the ERP last said of the entity `key` of `flow` (its key hash
    /// as the model computes it, `BoundSpec::key_hash_of`), what each of
    /// `targets` acknowledged, and its last failure per target.
    pub(crate) fn entity(
        &self,
        flow: &str,
        key: &str,
        key_hash: u64,
        targets: &[&str],
    ) -> Result<EntityView, StoreError> {
        let desired = self.desired_located(flow)?;
        let erp_payload = self
            .desired_payloads(flow, &desired, &[key_hash])?
            .remove(&key_hash);
        let erp = match desired.loc(key_hash) {
            None => None,
            Some(INLINE) => {
                let file: Option<String> = self
                    .conn
                    .query_row(
                        "SELECT f.name FROM desired d JOIN files f ON f.id = d.file_id
                         WHERE d.flow = ?1 AND d.key_hash = ?2",
                        params![flow, key_hash as i64],
                        |r| r.get(0),
                    )
                    .optional()
                    .map_err(|e| self.err(e))?;
                Some(SourceLine { file, line: None })
            }
            Some(loc) => Some(self.source_line(loc)?),
        };
        let mut acknowledged = Vec::new();
        for &target in targets {
            let located = self.applied_located(target, flow)?;
            let (Some(loc), Some(entry)) = (located.loc(key_hash), located.snapshot.get(key_hash))
            else {
                continue;
            };
            let removed = entry.is_removed();
            let (at, file) = if loc == INLINE {
                let at: Option<String> = self
                    .conn
                    .query_row(
                        "SELECT applied_at FROM applied
                         WHERE target = ?1 AND flow = ?2 AND key_hash = ?3",
                        params![target, flow, key_hash as i64],
                        |r| r.get(0),
                    )
                    .optional()
                    .map_err(|e| self.err(e))?;
                (at, None)
            } else {
                let id = retained::split(loc).map(|(id, _)| id);
                let row: Option<(String, String)> = self
                    .conn
                    .query_row(
                        "SELECT name, created_at FROM retained WHERE id = ?1",
                        [id],
                        |r| Ok((r.get(0)?, r.get(1)?)),
                    )
                    .optional()
                    .map_err(|e| self.err(e))?;
                match row {
                    Some((name, at)) => (Some(at), Some(file_name(&name))),
                    None => (None, None),
                }
            };
            acknowledged.push(Acknowledged {
                target: target.to_string(),
                at,
                file,
                removed,
            });
        }
        let mut failures: Vec<FailureView> = Vec::new();
        for f in self.failure_history(flow, key)? {
            if !failures.iter().any(|g| g.target == f.target) {
                failures.push(f);
            }
        }
        Ok(EntityView {
            flow: flow.to_string(),
            key: key.to_string(),
            erp,
            erp_payload,
            acknowledged,
            failures,
        })
    }

    /// The file and line number of a retained line.
    fn source_line(&self, loc: u64) -> Result<SourceLine, StoreError> {
        let Some((id, offset)) = retained::split(loc) else {
            return Ok(SourceLine {
                file: None,
                line: None,
            });
        };
        let name: Option<String> = self
            .conn
            .query_row("SELECT name FROM retained WHERE id = ?1", [id], |r| {
                r.get(0)
            })
            .optional()
            .map_err(|e| self.err(e))?;
        // A copy that cannot be read leaves the line unknown, not the
        // question unanswered.
        let line = std::fs::File::open(self.retained_path(id))
            .ok()
            .and_then(|f| lines_before(f, offset).ok())
            .map(|n| n + 1);
        Ok(SourceLine {
            file: name.as_deref().map(file_name),
            line,
        })
    }

    /// Per flow and target: the last file applied there and when, and the
    /// entities failing there now with their soonest retry.
    pub(crate) fn last_applied(&self) -> Result<Vec<LastApplied>, StoreError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT flow, target, name, finished_at FROM (
                    SELECT f.flow, t.target, f.name, f.finished_at, row_number() OVER (
                        PARTITION BY f.flow, t.target ORDER BY f.finished_at DESC, f.id DESC) AS n
                    FROM files f JOIN file_targets t ON t.file_id = f.id
                    WHERE f.status IN ('applied', 'applied-with-failures')
                        AND f.finished_at IS NOT NULL AND t.sent + t.unchanged > 0)
                 WHERE n = 1",
            )
            .map_err(|e| self.err(e))?;
        let rows = stmt.query_map([], |r| {
            Ok(LastApplied {
                flow: r.get(0)?,
                target: r.get(1)?,
                file: r.get(2)?,
                at: r.get(3)?,
                failing: 0,
                next_retry: None,
            })
        });
        let mut out = collect(self, rows)?;
        let mut stmt = self
            .conn
            .prepare(
                "SELECT flow, target, count(*), min(next_try) FROM failures
                 WHERE resolved_at IS NULL GROUP BY flow, target",
            )
            .map_err(|e| self.err(e))?;
        let rows = stmt.query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, i64>(2)?,
                r.get::<_, Option<String>>(3)?,
            ))
        });
        for (flow, target, failing, next_retry) in collect(self, rows)? {
            match out
                .iter_mut()
                .find(|l| l.flow == flow && l.target == target)
            {
                Some(l) => {
                    l.failing = failing;
                    l.next_retry = next_retry;
                }
                None => out.push(LastApplied {
                    flow,
                    target,
                    file: None,
                    at: None,
                    failing,
                    next_retry,
                }),
            }
        }
        out.sort_by(|a, b| (&a.flow, &a.target).cmp(&(&b.flow, &b.target)));
        Ok(out)
    }

    /// The orders export of `target`: its last poll, its watermark, its
    /// last ORD file and how many orders that file holds.
    pub(crate) fn orders_view(&self, target: &str) -> Result<OrdersView, StoreError> {
        let poll: Option<(String, String)> = self
            .conn
            .query_row(
                "SELECT value, updated_at FROM watermarks WHERE scope = ?1",
                [poll_scope(target)],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
            .map_err(|e| self.err(e))?;
        let last: Option<(String, String, i64)> = self
            .conn
            .query_row(
                "SELECT file, max(exported_at), count(*) FROM order_exports WHERE target = ?1
                 GROUP BY file ORDER BY max(exported_at) DESC, file DESC LIMIT 1",
                [target],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()
            .map_err(|e| self.err(e))?;
        Ok(OrdersView {
            target: target.to_string(),
            last_poll: poll.as_ref().map(|(_, at)| at.clone()),
            last_poll_error: poll.and_then(|(v, _)| (v != "ok").then_some(v)),
            watermark: self.watermark(&watermark_scope(target))?,
            last_file_orders: last.as_ref().map_or(0, |l| l.2),
            last_file_at: last.as_ref().map(|l| l.1.clone()),
            last_file: last.map(|l| l.0),
        })
    }
}

/// The last component of a stored path.
fn file_name(path: &str) -> String {
    std::path::Path::new(path)
        .file_name()
        .map_or_else(|| path.to_string(), |n| n.to_string_lossy().into_owned())
}

/// Line ends in the first `offset` bytes.
fn lines_before(file: std::fs::File, offset: u64) -> std::io::Result<u64> {
    let mut reader = std::io::BufReader::new(file).take(offset);
    let mut buf = vec![0u8; 64 * 1024];
    let mut lines = 0u64;
    loop {
        let n = reader.read(&mut buf)?;
        if n == 0 {
            return Ok(lines);
        }
        lines += memchr::memchr_iter(b'\n', &buf[..n]).count() as u64;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::{Ack, FileFinish, FileRow, IntentOrder, Payload};

    fn ack(key: &str, kh: u64) -> Ack {
        Ack {
            key: key.into(),
            key_hash: kh,
            hash: 7,
            payload: Payload::Json(format!("{{\"k\":\"{key}\"}}")),
            removed: false,
        }
    }

    #[test]
    fn an_operator_finds_files_entities_and_orders() {
        let dir = tempfile::tempdir().unwrap();
        let source = dir.path().join("ART2.txt");
        std::fs::write(&source, b"HEAD\nA line\nB line\n").unwrap();
        let mut store = Store::open(&dir.path().join("state")).unwrap();
        let row = |name: &str| FileRow {
            id: 0,
            content_hash: name.into(),
            name: name.into(),
            flow: "ARTICOLI".into(),
            exported_at: None,
            mode: Some("watch".into()),
            status: "claimed".into(),
            records: 0,
            bad_records: 0,
            error: None,
        };
        // A small file: its entity is a row naming the file.
        let one = store.insert_file(&row("ART1.txt")).unwrap();
        store.set_current_file(Some(one));
        store
            .commit_desired("ARTICOLI", None, None, &[ack("A", 1)])
            .unwrap();
        store
            .record_applied("b2c", "ARTICOLI", &[ack("A", 1)])
            .unwrap();
        store.set_current_file(None);
        store.set_file_status(one, "applied", None).unwrap();
        let counts = |sent| TargetCounts {
            target: "b2c".into(),
            sent,
            unchanged: 0,
            failed: 0,
        };
        store
            .finish_file(
                one,
                &FileFinish {
                    records: 1,
                    bad_records: 0,
                    place: "archive/2026/11/28/ART1.txt".into(),
                    targets: vec![counts(1)],
                },
            )
            .unwrap();
        let view = store.entity("ARTICOLI", "A", 1, &["b2c", "b2b"]).unwrap();
        assert_eq!(
            view.erp,
            Some(SourceLine {
                file: Some("ART1.txt".into()),
                line: None
            })
        );
        assert_eq!(view.acknowledged.len(), 1);
        assert!(view.acknowledged[0].at.is_some());

        // A large file: its entity is a line, found by number.
        let two = store.insert_file(&row("ART2.txt")).unwrap();
        let kept = store.retain_file(&source, "l").unwrap();
        store
            .commit_desired("ARTICOLI", Some(two), None, &[Ack::line(2, 8, kept, 12)])
            .unwrap();
        store
            .record_applied("b2c", "ARTICOLI", &[Ack::line(2, 8, kept, 12)])
            .unwrap();
        store.release_retained(kept).unwrap();
        store
            .record_failure_at("b2b", "ARTICOLI", "B", Some(2), "400 no", None, Some(3))
            .unwrap();
        store
            .set_file_status(two, "applied-with-failures", None)
            .unwrap();
        store
            .finish_file(
                two,
                &FileFinish {
                    records: 2,
                    targets: vec![counts(1)],
                    ..FileFinish::default()
                },
            )
            .unwrap();
        let view = store.entity("ARTICOLI", "B", 2, &["b2c"]).unwrap();
        assert_eq!(
            view.erp,
            Some(SourceLine {
                file: Some("ART2.txt".into()),
                line: Some(3)
            })
        );
        assert_eq!(view.acknowledged[0].file.as_deref(), Some("ART2.txt"));
        assert_eq!(view.failures.len(), 1);
        assert_eq!(view.failures[0].target, "b2b");

        let files = store.history(&HistoryFilter::default()).unwrap();
        assert_eq!(
            files.iter().map(|f| f.name.as_str()).collect::<Vec<_>>(),
            ["ART2.txt", "ART1.txt"]
        );
        assert_eq!(files[1].targets, vec![counts(1)]);
        let limited = HistoryFilter {
            flow: Some("GIACENZE"),
            ..HistoryFilter::default()
        };
        assert!(store.history(&limited).unwrap().is_empty());
        let future = HistoryFilter {
            since: Some(Timestamp::now() + jiff::SignedDuration::from_hours(1)),
            ..HistoryFilter::default()
        };
        assert!(store.history(&future).unwrap().is_empty());

        let last = store.last_applied().unwrap();
        let b2c = last.iter().find(|l| l.target == "b2c").unwrap();
        assert_eq!(b2c.file.as_deref(), Some("ART2.txt"));
        let b2b = last.iter().find(|l| l.target == "b2b").unwrap();
        assert_eq!((b2b.file.as_deref(), b2b.failing), (None, 1));

        // Orders: the poll, the watermark, the last file.
        store
            .record_orders_poll("b2c", Some("Magento: down"))
            .unwrap();
        let order = IntentOrder {
            id: 5,
            increment_id: "000000005".into(),
            updated_at: "2026-11-28 08:00:00".into(),
        };
        let intent = store
            .begin_export(
                "b2c",
                "http://shop",
                "ORD1.txt",
                1,
                &[order],
                Some("2026-11-28 08:00:00"),
            )
            .unwrap();
        let intent = store
            .export_intents("b2c")
            .unwrap()
            .into_iter()
            .find(|i| i.id == intent)
            .unwrap();
        store.complete_export(&intent, false).unwrap();
        let orders = store.orders_view("b2c").unwrap();
        assert_eq!(orders.last_poll_error.as_deref(), Some("Magento: down"));
        assert!(orders.last_poll.is_some());
        assert_eq!(orders.watermark.as_deref(), Some("2026-11-28 08:00:00"));
        assert_eq!(
            (orders.last_file.as_deref(), orders.last_file_orders),
            (Some("ORD1.txt"), 1)
        );
    }
}
