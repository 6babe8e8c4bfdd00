use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use rusqlite::{params, Connection, OpenFlags, OptionalExtension};

use super::migrations::STEPS;
use super::snapshot::{SnapEntry, Snapshot, REMOVED};

pub const FILE_NAME: &str = "ponte.sqlite";

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("state store {path}: {source}")]
    Sql {
        path: String,
        #[source]
        source: rusqlite::Error,
    },
    #[error("state store {path}: {message}")]
    Other { path: String, message: String },
}

pub struct Store {
    pub(super) conn: Connection,
    pub(super) path: PathBuf,
}

/// An entity as a target acknowledged it.
#[derive(Debug, Clone, PartialEq)]
pub struct Ack {
    pub key: String,
    pub key_hash: u64,
    pub hash: u64,
    pub payload: String,
    pub removed: bool,
}

/// An entity as the ERP last described it.
pub type DesiredRow = Ack;

#[derive(Debug, Clone, PartialEq)]
pub struct FileRow {
    pub id: i64,
    pub content_hash: String,
    pub name: String,
    pub flow: String,
    pub exported_at: Option<String>,
    pub mode: Option<String>,
    pub status: String,
    pub records: i64,
    pub bad_records: i64,
    pub error: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct FailureRow {
    pub target: String,
    pub flow: String,
    pub key: String,
    pub attempts: i64,
    pub last_error: String,
    pub next_try: Option<String>,
}

/// Seconds since the epoch, as text that sorts; SQLite has no time type.
pub fn now_text() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    format!("{secs:012}")
}

fn scope(kind: &str, target: Option<&str>, flow: &str) -> String {
    match target {
        Some(t) => format!("{kind}/{t}/{flow}"),
        None => format!("{kind}/{flow}"),
    }
}

impl Store {
    /// Opens (creating if needed) the store in `state_dir`, migrated to the
    /// current version. The file is created with mode 0600: it holds
    /// customer data.
    pub fn open(state_dir: &Path) -> Result<Store, StoreError> {
        let path = state_dir.join(FILE_NAME);
        let other = |message: String| StoreError::Other {
            path: path.display().to_string(),
            message,
        };
        std::fs::create_dir_all(state_dir)
            .map_err(|e| other(format!("cannot create the state directory: {e}")))?;
        if !path.exists() {
            create_private(&path).map_err(|e| other(format!("cannot create: {e}")))?;
        }
        let conn = Connection::open(&path).map_err(|e| sql(&path, e))?;
        let mut store = Store { conn, path };
        store.configure()?;
        store.migrate()?;
        Ok(store)
    }

    /// Opens an existing store without the right to change it (for `plan`).
    /// `None` when there is no store yet: an empty state.
    pub fn open_read_only(state_dir: &Path) -> Result<Option<Store>, StoreError> {
        let path = state_dir.join(FILE_NAME);
        if !path.exists() {
            return Ok(None);
        }
        let conn = Connection::open_with_flags(
            &path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|e| sql(&path, e))?;
        let store = Store { conn, path };
        let version = store.version()?;
        if version as usize != STEPS.len() {
            return Err(StoreError::Other {
                path: store.path.display().to_string(),
                message: format!(
                    "the store is at version {version}, this ponte expects {}; run a command that writes (ingest) to migrate it",
                    STEPS.len()
                ),
            });
        }
        Ok(Some(store))
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn err(&self, e: rusqlite::Error) -> StoreError {
        sql(&self.path, e)
    }

    fn configure(&self) -> Result<(), StoreError> {
        self.conn
            .execute_batch(
                "PRAGMA journal_mode = WAL;
                 PRAGMA synchronous = NORMAL;
                 PRAGMA cache_size = -65536;
                 PRAGMA temp_store = MEMORY;
                 PRAGMA foreign_keys = ON;
                 PRAGMA busy_timeout = 5000;",
            )
            .map_err(|e| self.err(e))
    }

    fn version(&self) -> Result<i64, StoreError> {
        self.conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(|e| self.err(e))
    }

    fn migrate(&mut self) -> Result<(), StoreError> {
        let current = self.version()?;
        if current as usize > STEPS.len() {
            return Err(StoreError::Other {
                path: self.path.display().to_string(),
                message: format!(
                    "the store is at version {current}, newer than this ponte ({}): upgrade ponte",
                    STEPS.len()
                ),
            });
        }
        for (i, step) in STEPS.iter().enumerate().skip(current as usize) {
            let tx = self.conn.transaction().map_err(|e| sql(&self.path, e))?;
            tx.execute_batch(step).map_err(|e| sql(&self.path, e))?;
            tx.pragma_update(None, "user_version", (i + 1) as i64)
                .map_err(|e| sql(&self.path, e))?;
            tx.commit().map_err(|e| sql(&self.path, e))?;
        }
        Ok(())
    }

    // ---- files -------------------------------------------------------------

    /// Files with this content, newest first.
    pub fn files_with_hash(&self, content_hash: &str) -> Result<Vec<FileRow>, StoreError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT id, content_hash, name, flow, exported_at, mode, status, records, bad_records, error
                 FROM files WHERE content_hash = ?1 ORDER BY id DESC",
            )
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map([content_hash], file_row)
            .map_err(|e| self.err(e))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| self.err(e))?;
        Ok(rows)
    }

    pub fn insert_file(&self, f: &FileRow) -> Result<i64, StoreError> {
        let now = now_text();
        self.conn
            .execute(
                "INSERT INTO files (content_hash, name, flow, exported_at, mode, status, records, bad_records, error, first_seen, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?10)",
                params![f.content_hash, f.name, f.flow, f.exported_at, f.mode, f.status, f.records, f.bad_records, f.error, now],
            )
            .map_err(|e| self.err(e))?;
        Ok(self.conn.last_insert_rowid())
    }

    pub fn set_file_status(
        &self,
        id: i64,
        status: &str,
        error: Option<&str>,
    ) -> Result<(), StoreError> {
        self.conn
            .execute(
                "UPDATE files SET status = ?2, error = ?3, updated_at = ?4 WHERE id = ?1",
                params![id, status, error, now_text()],
            )
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    pub fn file(&self, id: i64) -> Result<Option<FileRow>, StoreError> {
        self.conn
            .query_row(
                "SELECT id, content_hash, name, flow, exported_at, mode, status, records, bad_records, error
                 FROM files WHERE id = ?1",
                [id],
                file_row,
            )
            .optional()
            .map_err(|e| self.err(e))
    }

    // ---- watermarks --------------------------------------------------------

    pub fn watermark(&self, scope: &str) -> Result<Option<String>, StoreError> {
        self.conn
            .query_row(
                "SELECT value FROM watermarks WHERE scope = ?1",
                [scope],
                |r| r.get(0),
            )
            .optional()
            .map_err(|e| self.err(e))
    }

    pub fn set_watermark(&self, scope: &str, value: &str) -> Result<(), StoreError> {
        self.conn
            .execute(
                "INSERT INTO watermarks (scope, value, updated_at) VALUES (?1, ?2, ?3)
                 ON CONFLICT (scope) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
                params![scope, value, now_text()],
            )
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    /// The header timestamp of the newest file of a flow whose desired state
    /// was committed: an older file is stale.
    pub fn flow_newest(&self, flow: &str) -> Result<Option<String>, StoreError> {
        self.watermark(&format!("newest/{flow}"))
    }

    // ---- snapshots ---------------------------------------------------------

    fn load_snapshot(&self, scope: &str) -> Result<Option<Snapshot>, StoreError> {
        let blob: Option<Vec<u8>> = self
            .conn
            .query_row(
                "SELECT data FROM snapshots WHERE scope = ?1",
                [scope],
                |r| r.get(0),
            )
            .optional()
            .map_err(|e| self.err(e))?;
        match blob {
            None => Ok(None),
            Some(bytes) => {
                Snapshot::from_bytes(&bytes)
                    .map(Some)
                    .ok_or_else(|| StoreError::Other {
                        path: self.path.display().to_string(),
                        message: format!(
                            "snapshot {scope} is damaged; it will be rebuilt from its table"
                        ),
                    })
            }
        }
    }

    fn save_snapshot(conn: &Connection, scope: &str, snap: &Snapshot) -> rusqlite::Result<()> {
        conn.execute(
            "INSERT INTO snapshots (scope, entries, data, updated_at) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (scope) DO UPDATE SET entries = excluded.entries, data = excluded.data, updated_at = excluded.updated_at",
            params![scope, snap.len() as i64, snap.to_bytes(), now_text()],
        )?;
        Ok(())
    }

    /// What `target` holds of `flow`, in the compact sorted form the diff reads.
    pub fn applied_snapshot(&self, target: &str, flow: &str) -> Result<Snapshot, StoreError> {
        let scope = scope("applied", Some(target), flow);
        match self.load_snapshot(&scope) {
            Ok(Some(s)) => Ok(s),
            // No blob yet, or a damaged one: the table is the truth.
            Ok(None) | Err(StoreError::Other { .. }) => self.snapshot_from_table(
                "SELECT key_hash, hash, removed FROM applied WHERE target = ?1 AND flow = ?2",
                params![target, flow],
            ),
            Err(e) => Err(e),
        }
    }

    pub fn desired_snapshot(&self, flow: &str) -> Result<Snapshot, StoreError> {
        match self.load_snapshot(&scope("desired", None, flow)) {
            Ok(Some(s)) => Ok(s),
            Ok(None) | Err(StoreError::Other { .. }) => self.snapshot_from_table(
                "SELECT key_hash, hash, removed FROM desired WHERE flow = ?1",
                params![flow],
            ),
            Err(e) => Err(e),
        }
    }

    fn snapshot_from_table(
        &self,
        query: &str,
        args: impl rusqlite::Params,
    ) -> Result<Snapshot, StoreError> {
        let mut stmt = self.conn.prepare(query).map_err(|e| self.err(e))?;
        let entries = stmt
            .query_map(args, |r| {
                let key_hash: i64 = r.get(0)?;
                let hash: i64 = r.get(1)?;
                let removed: bool = r.get(2)?;
                Ok(SnapEntry {
                    key_hash: key_hash as u64,
                    hash: (hash as u64) | if removed { REMOVED } else { 0 },
                })
            })
            .map_err(|e| self.err(e))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| self.err(e))?;
        Ok(Snapshot::from_unsorted(entries))
    }

    // ---- entities ----------------------------------------------------------

    /// Keys and payloads that `target` acknowledged, for these key hashes.
    pub fn applied_payloads(
        &self,
        target: &str,
        flow: &str,
        key_hashes: &[u64],
    ) -> Result<HashMap<u64, (String, String)>, StoreError> {
        self.payloads(
            // Without the hint SQLite walks the primary key (target, flow, key).
            "SELECT key, payload FROM applied INDEXED BY applied_by_key_hash WHERE target = ?1 AND flow = ?2 AND key_hash = ?3",
            Some(target),
            flow,
            key_hashes,
        )
    }

    pub fn desired_payloads(
        &self,
        flow: &str,
        key_hashes: &[u64],
    ) -> Result<HashMap<u64, (String, String)>, StoreError> {
        self.payloads(
            "SELECT key, payload FROM desired INDEXED BY desired_by_key_hash WHERE ?1 IS NULL AND flow = ?2 AND key_hash = ?3",
            None,
            flow,
            key_hashes,
        )
    }

    fn payloads(
        &self,
        query: &str,
        target: Option<&str>,
        flow: &str,
        key_hashes: &[u64],
    ) -> Result<HashMap<u64, (String, String)>, StoreError> {
        let mut stmt = self.conn.prepare_cached(query).map_err(|e| self.err(e))?;
        let mut out = HashMap::with_capacity(key_hashes.len());
        for &kh in key_hashes {
            let mut rows = stmt
                .query(params![target, flow, kh as i64])
                .map_err(|e| self.err(e))?;
            if let Some(row) = rows.next().map_err(|e| self.err(e))? {
                let key: String = row.get(0).map_err(|e| self.err(e))?;
                let payload: String = row.get(1).map_err(|e| self.err(e))?;
                out.insert(kh, (key, payload));
            }
        }
        Ok(out)
    }

    /// Records what `target` acknowledged, rows and snapshot in one
    /// transaction: a crash leaves both as they were or both updated.
    pub fn record_applied(
        &mut self,
        target: &str,
        flow: &str,
        acks: &[Ack],
    ) -> Result<(), StoreError> {
        if acks.is_empty() {
            return Ok(());
        }
        let mut snap = self.applied_snapshot(target, flow)?;
        let path = self.path.clone();
        let tx = self.conn.transaction().map_err(|e| sql(&path, e))?;
        {
            let mut stmt = tx
                .prepare_cached(
                    "INSERT INTO applied (target, flow, key, key_hash, hash, payload, removed, applied_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
                     ON CONFLICT (target, flow, key) DO UPDATE SET key_hash = excluded.key_hash,
                        hash = excluded.hash, payload = excluded.payload, removed = excluded.removed,
                        applied_at = excluded.applied_at",
                )
                .map_err(|e| sql(&path, e))?;
            let now = now_text();
            // In key order, the B-tree is written page by page instead of at random.
            let mut ordered: Vec<&Ack> = acks.iter().collect();
            ordered.sort_unstable_by(|x, y| x.key.cmp(&y.key));
            for a in ordered {
                stmt.execute(params![
                    target,
                    flow,
                    a.key,
                    a.key_hash as i64,
                    a.hash as i64,
                    a.payload,
                    a.removed,
                    now
                ])
                .map_err(|e| sql(&path, e))?;
            }
            let mut clear = tx
                .prepare_cached("DELETE FROM failures WHERE target = ?1 AND flow = ?2 AND key = ?3")
                .map_err(|e| sql(&path, e))?;
            for a in acks {
                clear
                    .execute(params![target, flow, a.key])
                    .map_err(|e| sql(&path, e))?;
            }
        }
        snap.merge(&acks.iter().map(ack_entry).collect::<Vec<_>>());
        Store::save_snapshot(&tx, &scope("applied", Some(target), flow), &snap)
            .map_err(|e| sql(&path, e))?;
        tx.commit().map_err(|e| sql(&path, e))?;
        Ok(())
    }

    /// Commits the desired state a file describes, its snapshot and the
    /// flow's newest timestamp, in one transaction.
    pub fn commit_desired(
        &mut self,
        flow: &str,
        file_id: Option<i64>,
        exported_at: Option<&str>,
        rows: &[DesiredRow],
    ) -> Result<(), StoreError> {
        let mut snap = self.desired_snapshot(flow)?;
        let path = self.path.clone();
        let tx = self.conn.transaction().map_err(|e| sql(&path, e))?;
        {
            let mut stmt = tx
                .prepare_cached(
                    "INSERT INTO desired (flow, key, key_hash, hash, payload, removed, file_id)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
                     ON CONFLICT (flow, key) DO UPDATE SET key_hash = excluded.key_hash, hash = excluded.hash,
                        payload = excluded.payload, removed = excluded.removed, file_id = excluded.file_id",
                )
                .map_err(|e| sql(&path, e))?;
            let mut ordered: Vec<&DesiredRow> = rows.iter().collect();
            ordered.sort_unstable_by(|x, y| x.key.cmp(&y.key));
            for r in ordered {
                stmt.execute(params![
                    flow,
                    r.key,
                    r.key_hash as i64,
                    r.hash as i64,
                    r.payload,
                    r.removed,
                    file_id
                ])
                .map_err(|e| sql(&path, e))?;
            }
        }
        snap.merge(&rows.iter().map(ack_entry).collect::<Vec<_>>());
        Store::save_snapshot(&tx, &scope("desired", None, flow), &snap)
            .map_err(|e| sql(&path, e))?;
        if let Some(ts) = exported_at {
            tx.execute(
                "INSERT INTO watermarks (scope, value, updated_at) VALUES (?1, ?2, ?3)
                 ON CONFLICT (scope) DO UPDATE SET value = max(value, excluded.value), updated_at = excluded.updated_at",
                params![format!("newest/{flow}"), ts, now_text()],
            )
            .map_err(|e| sql(&path, e))?;
        }
        tx.commit().map_err(|e| sql(&path, e))?;
        Ok(())
    }

    // ---- failures ----------------------------------------------------------

    pub fn record_failure(
        &self,
        target: &str,
        flow: &str,
        key: &str,
        error: &str,
        next_try: Option<&str>,
    ) -> Result<(), StoreError> {
        self.conn
            .execute(
                "INSERT INTO failures (target, flow, key, attempts, last_error, next_try, updated_at)
                 VALUES (?1, ?2, ?3, 1, ?4, ?5, ?6)
                 ON CONFLICT (target, flow, key) DO UPDATE SET attempts = attempts + 1,
                    last_error = excluded.last_error, next_try = excluded.next_try, updated_at = excluded.updated_at",
                params![target, flow, key, error, next_try, now_text()],
            )
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    pub fn failures(&self, target: Option<&str>) -> Result<Vec<FailureRow>, StoreError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT target, flow, key, attempts, last_error, next_try FROM failures
                 WHERE ?1 IS NULL OR target = ?1 ORDER BY target, flow, key",
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

    // ---- runs --------------------------------------------------------------

    pub fn start_run(&self, command: &str) -> Result<i64, StoreError> {
        self.conn
            .execute(
                "INSERT INTO runs (command, started_at) VALUES (?1, ?2)",
                params![command, now_text()],
            )
            .map_err(|e| self.err(e))?;
        Ok(self.conn.last_insert_rowid())
    }

    pub fn finish_run(&self, id: i64, status: &str, summary: &str) -> Result<(), StoreError> {
        self.conn
            .execute(
                "UPDATE runs SET finished_at = ?2, status = ?3, summary = ?4 WHERE id = ?1",
                params![id, now_text(), status, summary],
            )
            .map_err(|e| self.err(e))?;
        Ok(())
    }
}

fn ack_entry(a: &Ack) -> SnapEntry {
    SnapEntry {
        key_hash: a.key_hash,
        hash: (a.hash & !REMOVED) | if a.removed { REMOVED } else { 0 },
    }
}

fn file_row(r: &rusqlite::Row) -> rusqlite::Result<FileRow> {
    Ok(FileRow {
        id: r.get(0)?,
        content_hash: r.get(1)?,
        name: r.get(2)?,
        flow: r.get(3)?,
        exported_at: r.get(4)?,
        mode: r.get(5)?,
        status: r.get(6)?,
        records: r.get(7)?,
        bad_records: r.get(8)?,
        error: r.get(9)?,
    })
}

pub(super) fn sql(path: &Path, source: rusqlite::Error) -> StoreError {
    StoreError::Sql {
        path: path.display().to_string(),
        source,
    }
}

/// Creates an empty file readable and writable by its owner only.
fn create_private(path: &Path) -> std::io::Result<()> {
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    opts.open(path).map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ack(key: &str, kh: u64, hash: u64) -> Ack {
        Ack {
            key: key.into(),
            key_hash: kh,
            hash,
            payload: format!("{{\"k\":\"{key}\"}}"),
            removed: false,
        }
    }

    #[test]
    fn creates_a_private_migrated_store_and_reopens_it() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        assert_eq!(store.version().unwrap() as usize, STEPS.len());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(store.path())
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        drop(store);
        let again = Store::open(dir.path()).unwrap();
        assert_eq!(again.version().unwrap() as usize, STEPS.len());
    }

    #[test]
    fn a_newer_store_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        store.conn.pragma_update(None, "user_version", 99).unwrap();
        drop(store);
        let e = Store::open(dir.path()).err().unwrap().to_string();
        assert!(e.contains("newer than this ponte"), "{e}");
    }

    #[test]
    fn applied_rows_and_snapshot_move_together() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(dir.path()).unwrap();
        store
            .record_applied("b2c", "ARTICOLI", &[ack("A", 1, 10), ack("B", 2, 20)])
            .unwrap();
        store
            .record_applied("b2c", "ARTICOLI", &[ack("A", 1, 11)])
            .unwrap();
        let snap = store.applied_snapshot("b2c", "ARTICOLI").unwrap();
        assert_eq!(snap.get(1).unwrap().hash, 11);
        assert_eq!(snap.len(), 2);
        let rebuilt = store
            .snapshot_from_table(
                "SELECT key_hash, hash, removed FROM applied WHERE target = ?1 AND flow = ?2",
                params!["b2c", "ARTICOLI"],
            )
            .unwrap();
        assert_eq!(rebuilt, snap);
        let payloads = store.applied_payloads("b2c", "ARTICOLI", &[2, 3]).unwrap();
        assert_eq!(payloads.len(), 1);
        assert_eq!(payloads[&2].0, "B");
        assert!(store
            .applied_snapshot("b2b", "ARTICOLI")
            .unwrap()
            .is_empty());
    }

    #[test]
    fn an_ack_clears_the_entity_failure() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(dir.path()).unwrap();
        store
            .record_failure("b2c", "ARTICOLI", "A", "400 bad", None)
            .unwrap();
        store
            .record_failure("b2c", "ARTICOLI", "A", "400 worse", None)
            .unwrap();
        let f = store.failures(Some("b2c")).unwrap();
        assert_eq!((f[0].attempts, f[0].last_error.as_str()), (2, "400 worse"));
        store
            .record_applied("b2c", "ARTICOLI", &[ack("A", 1, 10)])
            .unwrap();
        assert!(store.failures(None).unwrap().is_empty());
    }

    #[test]
    fn desired_commit_moves_the_flow_watermark_forward_only() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(dir.path()).unwrap();
        store
            .commit_desired(
                "GIACENZE",
                None,
                Some("2026-11-28T08:30:00"),
                &[ack("A", 1, 1)],
            )
            .unwrap();
        store
            .commit_desired("GIACENZE", None, Some("2026-11-28T07:00:00"), &[])
            .unwrap();
        assert_eq!(
            store.flow_newest("GIACENZE").unwrap().as_deref(),
            Some("2026-11-28T08:30:00")
        );
        assert_eq!(store.desired_snapshot("GIACENZE").unwrap().len(), 1);
    }

    #[test]
    fn read_only_open_of_a_missing_store_is_an_empty_state() {
        let dir = tempfile::tempdir().unwrap();
        assert!(Store::open_read_only(dir.path()).unwrap().is_none());
        assert!(!dir.path().join(FILE_NAME).exists());
    }
}
