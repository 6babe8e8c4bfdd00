//! Failures: the entities a target refused or could not be reached for.
//! A failure is open until its entity is applied, then kept, resolved, as
//! the entity's history. An open failure names the file (and line) that
//! last sent its entity, so that the file's outcome can follow it.

use std::collections::{BTreeSet, HashSet};

use rusqlite::{params, Connection};

use super::clock::now_text;
use super::entities::Ack;
use super::store::{Store, StoreError};

/// An open failure, as the retry reads it.
#[derive(Debug, Clone, PartialEq)]
pub struct FailureRow {
    pub target: String,
    pub flow: String,
    pub key: String,
    pub attempts: i64,
    pub last_error: String,
    pub next_try: Option<String>,
}

/// Magento's HTTP status at the start of an error's text (`400 ...`), as
/// `ApiError` writes it; none for a target that could not be reached or a
/// configuration gap.
pub fn status_of(error: &str) -> Option<u16> {
    let (head, _) = error.split_once(' ')?;
    (head.len() == 3)
        .then(|| head.parse::<u16>().ok())
        .flatten()
        .filter(|s| (100..600).contains(s))
}

impl Store {
    /// The file whose records are being sent: failures recorded until the
    /// next call name it, and its outcome follows them (see
    /// `record_failure_at`).
    pub(crate) fn set_current_file(&mut self, file_id: Option<i64>) {
        self.current_file = file_id;
    }

    /// A failed attempt for an entity. Opens its failure, or counts one
    /// more attempt on the open one (which keeps the file and line it
    /// came from).
    pub(crate) fn record_failure(
        &self,
        target: &str,
        flow: &str,
        key: &str,
        key_hash: Option<u64>,
        error: &str,
        next_try: Option<&str>,
    ) -> Result<(), StoreError> {
        self.record_failure_at(target, flow, key, key_hash, error, next_try, None)
    }

    /// `record_failure` for an entity sent from `line` of the current
    /// file: the open failure now names that file and line. The file it
    /// named before, if any, is settled (see `settle_files`).
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn record_failure_at(
        &self,
        target: &str,
        flow: &str,
        key: &str,
        key_hash: Option<u64>,
        error: &str,
        next_try: Option<&str>,
        line: Option<u64>,
    ) -> Result<(), StoreError> {
        let now = now_text();
        let file = self.current_file;
        let previous: Option<i64> = self
            .conn
            .query_row(
                "SELECT file_id FROM failures
                 WHERE target = ?1 AND flow = ?2 AND key = ?3 AND resolved_at IS NULL",
                params![target, flow, key],
                |r| r.get(0),
            )
            .or_else(|e| match e {
                rusqlite::Error::QueryReturnedNoRows => Ok(None),
                e => Err(e),
            })
            .map_err(|e| self.err(e))?;
        self.conn
            .execute(
                "INSERT INTO failures (target, flow, key, key_hash, file_id, line, status, error,
                    attempts, first_attempt, last_attempt, next_try)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 1, ?9, ?9, ?10)
                 ON CONFLICT (target, flow, key) WHERE resolved_at IS NULL DO UPDATE SET
                    attempts = attempts + 1, status = excluded.status, error = excluded.error,
                    last_attempt = excluded.last_attempt, next_try = excluded.next_try,
                    key_hash = coalesce(excluded.key_hash, key_hash),
                    line = CASE WHEN excluded.file_id IS NULL THEN line ELSE excluded.line END,
                    file_id = coalesce(excluded.file_id, file_id)",
                params![
                    target,
                    flow,
                    key,
                    key_hash.map(|k| k as i64),
                    file,
                    line.map(|l| l as i64),
                    status_of(error),
                    error,
                    now,
                    next_try
                ],
            )
            .map_err(|e| self.err(e))?;
        if let (Some(old), Some(new)) = (previous, file) {
            if old != new {
                settle_files(&self.conn, &BTreeSet::from([old])).map_err(|e| self.err(e))?;
            }
        }
        Ok(())
    }

    /// The open failures, of one target or all.
    pub fn failures(&self, target: Option<&str>) -> Result<Vec<FailureRow>, StoreError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT target, flow, key, attempts, error, next_try FROM failures
                 WHERE (?1 IS NULL OR target = ?1) AND resolved_at IS NULL
                 ORDER BY target, flow, key",
            )
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map([target], |r| {
                Ok(FailureRow {
                    target: r.get(0)?,
                    flow: r.get(1)?,
                    key: r.get(2)?,
                    attempts: r.get(3)?,
                    last_error: r.get(4)?,
                    next_try: r.get(5)?,
                })
            })
            .map_err(|e| self.err(e))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| self.err(e))?;
        Ok(rows)
    }
}

/// An acknowledged entity's failure is resolved. Failures are few and
/// acknowledgements many: the open failures are read and matched, not each
/// acknowledgement looked up.
pub(super) fn clear_failures(
    tx: &Connection,
    target: &str,
    flow: &str,
    acks: &[Ack],
) -> rusqlite::Result<()> {
    let failing: Vec<(i64, String, Option<i64>, Option<i64>)> = {
        let mut stmt = tx.prepare_cached(
            "SELECT id, key, key_hash, file_id FROM failures
             WHERE target = ?1 AND flow = ?2 AND resolved_at IS NULL",
        )?;
        let rows = stmt.query_map(params![target, flow], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
        })?;
        rows.collect::<rusqlite::Result<_>>()?
    };
    if failing.is_empty() {
        return Ok(());
    }
    let hashes: HashSet<u64> = acks.iter().map(|a| a.key_hash).collect();
    let keys: HashSet<&str> = acks.iter().map(|a| a.key.as_str()).collect();
    let now = now_text();
    let mut files = BTreeSet::new();
    let mut resolve =
        tx.prepare_cached("UPDATE failures SET resolved_at = ?2, next_try = NULL WHERE id = ?1")?;
    for (id, key, key_hash, file) in failing {
        let acked =
            key_hash.is_some_and(|kh| hashes.contains(&(kh as u64))) || keys.contains(key.as_str());
        if acked {
            resolve.execute(params![id, now])?;
            files.extend(file);
        }
    }
    settle_files(tx, &files)
}

/// Resolves the open failure of each of `keys` (orders: by increment id).
pub(super) fn resolve_keys<'k>(
    tx: &Connection,
    target: &str,
    flow: &str,
    keys: impl IntoIterator<Item = &'k str>,
) -> rusqlite::Result<()> {
    let now = now_text();
    let mut resolve = tx.prepare_cached(
        "UPDATE failures SET resolved_at = ?4, next_try = NULL
         WHERE target = ?1 AND flow = ?2 AND key = ?3 AND resolved_at IS NULL",
    )?;
    for key in keys {
        resolve.execute(params![target, flow, key, now])?;
    }
    Ok(())
}

/// A file "applied with failures" whose failures are all resolved (or now
/// belong to a newer file that sent the same entities) is applied.
pub(super) fn settle_files(conn: &Connection, files: &BTreeSet<i64>) -> rusqlite::Result<()> {
    let mut settle = conn.prepare_cached(
        "UPDATE files SET status = 'applied', updated_at = ?2
         WHERE id = ?1 AND status = 'applied-with-failures'
           AND NOT EXISTS (SELECT 1 FROM failures WHERE file_id = ?1 AND resolved_at IS NULL)",
    )?;
    let now = now_text();
    for id in files {
        settle.execute(params![id, now])?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::Payload;

    fn ack(key: &str, kh: u64, hash: u64) -> Ack {
        Ack {
            key: key.into(),
            key_hash: kh,
            hash,
            payload: Payload::Json(format!("{{\"k\":\"{key}\"}}")),
            removed: false,
        }
    }

    #[test]
    fn a_line_acknowledgement_clears_its_failure_by_key_hash() {
        let dir = tempfile::tempdir().unwrap();
        let source = dir.path().join("ART.txt");
        std::fs::write(&source, b"A\n").unwrap();
        let mut store = Store::open(&dir.path().join("state")).unwrap();
        store
            .record_failure("b2c", "ARTICOLI", "A", Some(1), "400 bad", None)
            .unwrap();
        let id = store.retain_file(&source, "layout-1").unwrap();
        store
            .record_applied("b2c", "ARTICOLI", &[Ack::line(1, 10, id, 0)])
            .unwrap();
        assert!(store.failures(None).unwrap().is_empty());
    }

    #[test]
    fn an_ack_clears_the_entity_failure() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(dir.path()).unwrap();
        store
            .record_failure("b2c", "ARTICOLI", "A", None, "400 bad", None)
            .unwrap();
        store
            .record_failure("b2c", "ARTICOLI", "A", Some(1), "400 worse", None)
            .unwrap();
        let f = store.failures(Some("b2c")).unwrap();
        assert_eq!((f[0].attempts, f[0].last_error.as_str()), (2, "400 worse"));
        store
            .record_applied("b2c", "ARTICOLI", &[ack("A", 1, 10)])
            .unwrap();
        assert!(store.failures(None).unwrap().is_empty());
    }

    #[test]
    fn a_file_applied_with_failures_is_applied_once_its_last_failure_is() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(dir.path()).unwrap();
        let file = |name: &str| crate::state::FileRow {
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
        let id = store.insert_file(&file("ART1.txt")).unwrap();
        store.set_current_file(Some(id));
        for (key, kh) in [("A", 1), ("B", 2)] {
            store
                .record_failure_at(
                    "b2c",
                    "ARTICOLI",
                    key,
                    Some(kh),
                    "400 bad",
                    None,
                    Some(kh + 1),
                )
                .unwrap();
        }
        store.set_current_file(None);
        store
            .set_file_status(id, "applied-with-failures", None)
            .unwrap();
        // A retry fails again: the failure keeps its file and line.
        store
            .record_failure("b2c", "ARTICOLI", "A", Some(1), "400 worse", None)
            .unwrap();
        let open = store.open_failures(None, None).unwrap();
        assert_eq!(
            (open[0].file.as_deref(), open[0].line, open[0].attempts),
            (Some("ART1.txt"), Some(2), 2)
        );
        store
            .record_applied("b2c", "ARTICOLI", &[ack("A", 1, 10)])
            .unwrap();
        assert_eq!(
            store.file(id).unwrap().unwrap().status,
            "applied-with-failures"
        );
        store
            .record_applied("b2c", "ARTICOLI", &[ack("B", 2, 10)])
            .unwrap();
        assert_eq!(store.file(id).unwrap().unwrap().status, "applied");
        let kept = store.failure_history("ARTICOLI", "A").unwrap();
        assert_eq!(kept.len(), 1);
        assert!(kept[0].resolved_at.is_some());
        assert_eq!(
            (kept[0].status, kept[0].message.as_str()),
            (Some(400), "worse")
        );
        // A new failure of A opens a new row; the resolved one stays.
        store
            .record_failure("b2c", "ARTICOLI", "A", Some(1), "500 down", None)
            .unwrap();
        assert_eq!(store.failure_history("ARTICOLI", "A").unwrap().len(), 2);
        assert_eq!(store.failures(None).unwrap().len(), 1);
    }

    #[test]
    fn the_status_is_read_from_the_front_of_the_error() {
        assert_eq!(status_of("404 No such entity"), Some(404));
        assert_eq!(status_of("gave up after 3 attempts: 503"), None);
        assert_eq!(status_of("999 x"), None);
        assert_eq!(status_of("400"), None);
    }
}
