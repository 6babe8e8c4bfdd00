use std::collections::{BTreeSet, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use rusqlite::{params, Connection, OpenFlags, OptionalExtension};

use super::migrations::STEPS;
use super::retained::{self, RetainedFile};
use super::snapshot::{locs_from_bytes, locs_to_bytes, SnapEntry, Snapshot, INLINE, REMOVED};

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
    /// Retained files this process is about to point into: no collection
    /// takes them before `release_retained`.
    pinned: HashSet<i64>,
}

/// An entity as a target acknowledged it.
#[derive(Debug, Clone, PartialEq)]
pub struct Ack {
    /// May be empty when the payload is a line: the key is in the line.
    pub key: String,
    pub key_hash: u64,
    pub hash: u64,
    pub payload: Payload,
    pub removed: bool,
}

impl Ack {
    /// An entity acknowledged as the line at `offset` of retained file
    /// `retained` (its key is in the line).
    pub fn line(key_hash: u64, hash: u64, retained: i64, offset: u64) -> Ack {
        Ack {
            key: String::new(),
            key_hash,
            hash,
            payload: Payload::Line { retained, offset },
            removed: false,
        }
    }
}

/// How an acknowledged payload is kept.
#[derive(Debug, Clone, PartialEq)]
pub enum Payload {
    /// The entity's fields as a JSON object, in a row of its table.
    Json(String),
    /// The record it was decoded from: a line of a retained file (see
    /// `Store::retain_file`), so that a whole file is recorded without a
    /// row per entity.
    Line { retained: i64, offset: u64 },
}

/// A payload as read back from the store.
#[derive(Debug, Clone, PartialEq)]
pub enum Stored {
    Json { key: String, payload: String },
    Line { file: RetainedFile, offset: u64 },
}

/// A snapshot with where each entry's payload is kept.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Located {
    pub snapshot: Snapshot,
    /// Parallel to `snapshot.entries`: `INLINE` or a retained line.
    locs: Vec<u64>,
}

impl Located {
    pub fn loc(&self, key_hash: u64) -> Option<u64> {
        self.snapshot
            .entries
            .binary_search_by_key(&key_hash, |e| e.key_hash)
            .ok()
            .map(|i| self.locs.get(i).copied().unwrap_or(INLINE))
    }

    /// `loc` of each of `key_hashes`, which are sorted: each search starts
    /// where the last one ended and gallops, so that ten thousand of them
    /// in a million entries stay within the part of the snapshot between.
    pub fn locs_of_sorted(&self, key_hashes: &[u64]) -> Vec<Option<u64>> {
        let entries = &self.snapshot.entries;
        let mut from = 0;
        key_hashes
            .iter()
            .map(|&kh| {
                let mut step = 1;
                let mut to = from;
                while to < entries.len() && entries[to].key_hash < kh {
                    from = to;
                    to = (to + step).min(entries.len());
                    step *= 2;
                }
                let at = from
                    + entries[from..to.min(entries.len())].partition_point(|e| e.key_hash < kh);
                from = at;
                (entries.get(at).map(|e| e.key_hash) == Some(kh))
                    .then(|| self.locs.get(at).copied().unwrap_or(INLINE))
            })
            .collect()
    }
}

/// The SQL that differs between the desired and the applied tables.
struct Table {
    /// Upserts a row: ?1 target (NULL for desired), ?2 flow, ?3 key,
    /// ?4 key hash, ?5 hash, ?6 payload, ?7 removed, ?8 file id or time.
    upsert: &'static str,
    /// Deletes the row of ?1 target, ?2 flow, ?3 key hash.
    delete: &'static str,
    /// Reads ?1 target, ?2 flow, ?3 key hash: key, payload.
    select: &'static str,
    /// Every row's key hash, hash and removed flag of ?1 target, ?2 flow.
    scan: &'static str,
}

const APPLIED: Table = Table {
    upsert: "INSERT INTO applied (target, flow, key, key_hash, hash, payload, removed, applied_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
             ON CONFLICT (target, flow, key) DO UPDATE SET key_hash = excluded.key_hash,
                hash = excluded.hash, payload = excluded.payload, removed = excluded.removed,
                applied_at = excluded.applied_at",
    delete: "DELETE FROM applied INDEXED BY applied_by_key_hash WHERE target = ?1 AND flow = ?2 AND key_hash = ?3",
    // Without the hint SQLite walks the primary key (target, flow, key).
    select: "SELECT key, payload FROM applied INDEXED BY applied_by_key_hash WHERE target = ?1 AND flow = ?2 AND key_hash = ?3",
    scan: "SELECT key_hash, hash, removed FROM applied WHERE target = ?1 AND flow = ?2",
};

const DESIRED: Table = Table {
    upsert: "INSERT INTO desired (flow, key, key_hash, hash, payload, removed, file_id)
             SELECT ?2, ?3, ?4, ?5, ?6, ?7, ?8 WHERE ?1 IS NULL
             ON CONFLICT (flow, key) DO UPDATE SET key_hash = excluded.key_hash, hash = excluded.hash,
                payload = excluded.payload, removed = excluded.removed, file_id = excluded.file_id",
    delete: "DELETE FROM desired INDEXED BY desired_by_key_hash WHERE ?1 IS NULL AND flow = ?2 AND key_hash = ?3",
    select: "SELECT key, payload FROM desired INDEXED BY desired_by_key_hash WHERE ?1 IS NULL AND flow = ?2 AND key_hash = ?3",
    scan: "SELECT key_hash, hash, removed FROM desired WHERE ?1 IS NULL AND flow = ?2",
};

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
    /// customer data. Opening tidies the retained files, so a command that
    /// writes opens the store only once it holds the instance lock (see
    /// `intake::lock`): another writer's copy in progress is not a stray.
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
        let mut store = Store {
            conn,
            path,
            pinned: HashSet::new(),
        };
        store.configure()?;
        store.migrate()?;
        // Whatever a crash left: rows no snapshot points to (nothing is
        // pinned yet in a new process), then files no row names.
        store.collect()?;
        retained::remove_strays(&store.conn, &store.retained_dir());
        Ok(store)
    }

    /// A second connection to this store, for a thread beside the one that
    /// opened it (the service's orders poll): WAL lets one write while the
    /// other reads, and `busy_timeout` queues their writes. It neither
    /// migrates nor tidies: this connection did both, and tidying now could
    /// take a retained copy the other thread is writing for a stray.
    pub fn another_connection(&self) -> Result<Store, StoreError> {
        let conn = Connection::open(&self.path).map_err(|e| self.err(e))?;
        let store = Store {
            conn,
            path: self.path.clone(),
            pinned: HashSet::new(),
        };
        store.configure()?;
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
        let store = Store {
            conn,
            path,
            pinned: HashSet::new(),
        };
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
            let tx = self
                .conn
                .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
                .map_err(|e| sql(&self.path, e))?;
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

    // ---- snapshots ----------------------------------------------------------

    fn damaged(&self, scope: &str) -> StoreError {
        StoreError::Other {
            path: self.path.display().to_string(),
            message: format!("snapshot {scope} is damaged"),
        }
    }

    /// A scope's snapshot, with its locations when `with_locs`; from its
    /// table when it has no blob yet (every payload then is a row).
    fn load(
        &self,
        scope: &str,
        table: &Table,
        target: Option<&str>,
        flow: &str,
        with_locs: bool,
    ) -> Result<Located, StoreError> {
        let query = if with_locs {
            "SELECT data, locs FROM snapshots WHERE scope = ?1"
        } else {
            "SELECT data, NULL FROM snapshots WHERE scope = ?1"
        };
        let blobs: Option<(Vec<u8>, Option<Vec<u8>>)> = self
            .conn
            .query_row(query, [scope], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()
            .map_err(|e| self.err(e))?;
        let Some((data, locs)) = blobs else {
            let snapshot = self.snapshot_from_table(table.scan, params![target, flow])?;
            let locs = vec![INLINE; snapshot.len()];
            return Ok(Located { snapshot, locs });
        };
        let snapshot = Snapshot::from_bytes(&data).ok_or_else(|| self.damaged(scope))?;
        let locs = match locs {
            Some(bytes) => {
                locs_from_bytes(&bytes, snapshot.len()).ok_or_else(|| self.damaged(scope))?
            }
            // Written before locations existed, or not asked for.
            None => vec![INLINE; snapshot.len()],
        };
        Ok(Located { snapshot, locs })
    }

    /// Writes a scope's snapshot. The blobs are streamed into zero-filled
    /// space in slices: built whole and bound, each would be held three
    /// times over at a million entries.
    fn save(conn: &Connection, scope: &str, located: &Located) -> rusqlite::Result<()> {
        use rusqlite::blob::ZeroBlob;
        let entries = &located.snapshot.entries;
        let size = |n: usize| {
            i32::try_from(n)
                .map(ZeroBlob)
                .map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))
        };
        conn.execute(
            "INSERT INTO snapshots (scope, entries, data, locs, refs, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
             ON CONFLICT (scope) DO UPDATE SET entries = excluded.entries, data = excluded.data,
                locs = excluded.locs, refs = excluded.refs, updated_at = excluded.updated_at",
            params![
                scope,
                entries.len() as i64,
                size(entries.len() * 16)?,
                size(located.locs.len() * 8)?,
                retained::refs_text(&located.locs),
                now_text()
            ],
        )?;
        let row: i64 = conn.query_row(
            "SELECT rowid FROM snapshots WHERE scope = ?1",
            [scope],
            |r| r.get(0),
        )?;
        const SLICE: usize = 64 * 1024;
        let mut data = conn.blob_open(rusqlite::MAIN_DB, c"snapshots", c"data", row, false)?;
        let mut at = 0;
        for chunk in entries.chunks(SLICE) {
            let bytes = Snapshot::entries_to_bytes(chunk);
            data.write_at(&bytes, at)?;
            at += bytes.len();
        }
        drop(data);
        let mut locs = conn.blob_open(rusqlite::MAIN_DB, c"snapshots", c"locs", row, false)?;
        let mut at = 0;
        for chunk in located.locs.chunks(SLICE) {
            let bytes = locs_to_bytes(chunk);
            locs.write_at(&bytes, at)?;
            at += bytes.len();
        }
        Ok(())
    }

    /// What `target` holds of `flow`, in the compact sorted form the diff reads.
    pub fn applied_snapshot(&self, target: &str, flow: &str) -> Result<Snapshot, StoreError> {
        let scope = scope("applied", Some(target), flow);
        Ok(self
            .load(&scope, &APPLIED, Some(target), flow, false)?
            .snapshot)
    }

    /// How many entities `target` holds of `flow`, as its snapshot counts
    /// them (none without a snapshot).
    pub fn applied_count(&self, target: &str, flow: &str) -> Result<u64, StoreError> {
        let count: Option<i64> = self
            .conn
            .query_row(
                "SELECT entries FROM snapshots WHERE scope = ?1",
                [scope("applied", Some(target), flow)],
                |r| r.get(0),
            )
            .optional()
            .map_err(|e| self.err(e))?;
        Ok(count.map_or(0, |n| u64::try_from(n).unwrap_or(0)))
    }

    /// `applied_snapshot` with where each payload is, for `applied_payloads`.
    pub fn applied_located(&self, target: &str, flow: &str) -> Result<Located, StoreError> {
        let scope = scope("applied", Some(target), flow);
        self.load(&scope, &APPLIED, Some(target), flow, true)
    }

    pub fn desired_snapshot(&self, flow: &str) -> Result<Snapshot, StoreError> {
        Ok(self.desired_located(flow)?.snapshot)
    }

    pub fn desired_located(&self, flow: &str) -> Result<Located, StoreError> {
        self.load(&scope("desired", None, flow), &DESIRED, None, flow, true)
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

    // ---- retained files ----------------------------------------------------

    fn retained_dir(&self) -> PathBuf {
        self.path
            .parent()
            .unwrap_or_else(|| Path::new("."))
            .join(retained::DIR)
    }

    /// Keeps a copy of `source`, whose lines become payloads by reference
    /// (`Payload::Line`). `fingerprint` names the layout the lines are in.
    /// The copy is pinned until `release_retained`: the commits in between
    /// may not point into it yet (a file whose every entity is unchanged).
    /// A source that cannot be read is the file's error (an `anyhow`
    /// error the service rejects the file for, or waits out as the share's),
    /// never the store's: only a failing store ends the service.
    pub fn retain_file(&mut self, source: &Path, fingerprint: &str) -> anyhow::Result<i64> {
        let id = match retained::retain(&self.conn, &self.retained_dir(), source, fingerprint) {
            Ok(id) => id,
            Err(retained::RetainError::Source(e)) => return Err(e),
            Err(retained::RetainError::Store(e)) => {
                return Err(StoreError::Other {
                    path: self.path.display().to_string(),
                    message: format!("{e:#}"),
                }
                .into())
            }
        };
        self.pinned.insert(id);
        Ok(id)
    }

    /// The copy `retain_file` made, to read its lines.
    pub fn retained_path(&self, id: i64) -> PathBuf {
        retained::path_of(&self.retained_dir(), id)
    }

    /// Ends the pin of a retained file: from now on it lives as long as a
    /// snapshot points into it (it goes now if none does).
    pub fn release_retained(&mut self, id: i64) -> Result<(), StoreError> {
        self.pinned.remove(&id);
        self.collect()
    }

    // Every transaction here begins IMMEDIATE: one that reads, then writes,
    // begun DEFERRED, fails at once with SQLITE_BUSY (busy_timeout does not
    // apply) when the orders thread's connection writes in between.
    fn collect(&mut self) -> Result<(), StoreError> {
        let dir = self.retained_dir();
        let path = self.path.clone();
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(|e| sql(&path, e))?;
        let gone = retained::collect_garbage(&tx, &dir, &self.pinned).map_err(|e| sql(&path, e))?;
        tx.commit().map_err(|e| sql(&path, e))?;
        self.delete_when_durable(gone);
        Ok(())
    }

    /// Deletes retained files once the commit that let them go is on disk.
    /// With `synchronous = NORMAL` a power cut can undo a commit; a
    /// completed checkpoint cannot be undone. If the checkpoint cannot
    /// complete (a reader in the way), the files stay and the next open
    /// removes them as strays.
    fn delete_when_durable(&self, gone: Vec<PathBuf>) {
        if gone.is_empty() {
            return;
        }
        let checkpoint = self.conn.query_row("PRAGMA wal_checkpoint(FULL)", [], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, i64>(2)?,
            ))
        });
        match checkpoint {
            Ok((0, log, done)) if log == done => {
                for file in gone {
                    if let Err(e) = std::fs::remove_file(&file) {
                        tracing::warn!("cannot remove the retained file {}: {e}", file.display());
                    }
                }
            }
            _ => tracing::info!(
                "{} retained files no longer needed are removed at the next start",
                gone.len()
            ),
        }
    }

    /// Refuses pointing into retained files the store does not hold.
    fn check_known(&self, ids: &BTreeSet<i64>) -> Result<(), StoreError> {
        let missing = retained::unknown(&self.conn, ids).map_err(|e| self.err(e))?;
        if missing.is_empty() {
            return Ok(());
        }
        Err(StoreError::Other {
            path: self.path.display().to_string(),
            message: format!("no retained file {missing:?}: nothing may point into it"),
        })
    }

    // ---- entities ----------------------------------------------------------

    /// The payloads that `target` acknowledged, for these key hashes.
    pub fn applied_payloads(
        &self,
        target: &str,
        flow: &str,
        located: &Located,
        key_hashes: &[u64],
    ) -> Result<HashMap<u64, Stored>, StoreError> {
        self.payloads(&APPLIED, Some(target), flow, located, key_hashes)
    }

    /// The payloads the ERP last described, for these key hashes.
    pub fn desired_payloads(
        &self,
        flow: &str,
        located: &Located,
        key_hashes: &[u64],
    ) -> Result<HashMap<u64, Stored>, StoreError> {
        self.payloads(&DESIRED, None, flow, located, key_hashes)
    }

    fn payloads(
        &self,
        table: &Table,
        target: Option<&str>,
        flow: &str,
        located: &Located,
        key_hashes: &[u64],
    ) -> Result<HashMap<u64, Stored>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached(table.select)
            .map_err(|e| self.err(e))?;
        let mut files: Option<HashMap<i64, RetainedFile>> = None;
        let mut out = HashMap::with_capacity(key_hashes.len());
        let mut sorted = key_hashes.to_vec();
        sorted.sort_unstable();
        for (&kh, loc) in sorted.iter().zip(located.locs_of_sorted(&sorted)) {
            let Some(loc) = loc else {
                continue;
            };
            if let Some((id, offset)) = retained::split(loc) {
                if files.is_none() {
                    files = Some(
                        retained::files(&self.conn, &self.retained_dir())
                            .map_err(|e| self.err(e))?,
                    );
                }
                // A file that is gone leaves its entities without a payload,
                // as if never acknowledged: they are sent whole again.
                if let Some(file) = files.as_ref().and_then(|f| f.get(&id)) {
                    out.insert(
                        kh,
                        Stored::Line {
                            file: file.clone(),
                            offset,
                        },
                    );
                }
                continue;
            }
            let mut rows = stmt
                .query(params![target, flow, kh as i64])
                .map_err(|e| self.err(e))?;
            if let Some(row) = rows.next().map_err(|e| self.err(e))? {
                let key: String = row.get(0).map_err(|e| self.err(e))?;
                let payload: String = row.get(1).map_err(|e| self.err(e))?;
                out.insert(kh, Stored::Json { key, payload });
            }
        }
        Ok(out)
    }

    /// Records what `target` acknowledged: rows, snapshot and locations in
    /// one transaction, so that a crash leaves them as they were or all
    /// updated.
    pub fn record_applied(
        &mut self,
        target: &str,
        flow: &str,
        acks: &[Ack],
    ) -> Result<(), StoreError> {
        if acks.is_empty() {
            return Ok(());
        }
        let scope = scope("applied", Some(target), flow);
        self.write(
            &scope,
            &APPLIED,
            Some(target),
            flow,
            acks,
            now_text().into(),
            |_| Ok(()),
        )
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
        let scope = scope("desired", None, flow);
        let file_id: rusqlite::types::Value =
            file_id.map_or(rusqlite::types::Value::Null, Into::into);
        self.write(&scope, &DESIRED, None, flow, rows, file_id, |tx| {
            if let Some(ts) = exported_at {
                tx.execute(
                    "INSERT INTO watermarks (scope, value, updated_at) VALUES (?1, ?2, ?3)
                     ON CONFLICT (scope) DO UPDATE SET value = max(value, excluded.value), updated_at = excluded.updated_at",
                    params![format!("newest/{flow}"), ts, now_text()],
                )?;
            }
            Ok(())
        })
    }

    /// Points the entities that `lines` (key hash, content hash, offset;
    /// sorted by key hash) holds with the content they already have at
    /// their lines in `retained`, when they were lines of an older retained
    /// file: the same content, read from the newest file. Without it a
    /// file would be kept as long as one of its entities never changed
    /// again, and every large file would be kept for good.
    pub fn repoint(
        &mut self,
        target: Option<&str>,
        flow: &str,
        retained: i64,
        lines: &[(u64, u64, u64)],
    ) -> Result<(), StoreError> {
        let (scope, table) = match target {
            Some(t) => (scope("applied", Some(t), flow), &APPLIED),
            None => (scope("desired", None, flow), &DESIRED),
        };
        // The snapshot's list of files it points into says whether there is
        // anything to move, without reading the snapshot itself.
        let refs: Option<String> = self
            .conn
            .query_row(
                "SELECT refs FROM snapshots WHERE scope = ?1",
                [&scope],
                |r| r.get(0),
            )
            .optional()
            .map_err(|e| self.err(e))?;
        let older = refs
            .as_deref()
            .unwrap_or_default()
            .split(',')
            .any(|id| id.parse::<i64>().is_ok_and(|id| id != retained));
        if !older {
            return Ok(());
        }
        let mut located = self.load(&scope, table, target, flow, true)?;
        let mut moved = 0usize;
        let mut j = 0;
        for (i, entry) in located.snapshot.entries.iter().enumerate() {
            while j < lines.len() && lines[j].0 < entry.key_hash {
                j += 1;
            }
            let Some(&(_, hash, offset)) = lines.get(j).filter(|l| l.0 == entry.key_hash) else {
                continue;
            };
            let Some(loc) = located.locs.get_mut(i) else {
                break;
            };
            let older_line = retained::split(*loc).is_some_and(|(id, _)| id != retained);
            if older_line && !entry.is_removed() && entry.content() == hash {
                *loc = retained::location(retained, offset);
                moved += 1;
            }
        }
        if moved == 0 {
            return Ok(());
        }
        self.check_known(&BTreeSet::from([retained]))?;
        let dir = self.retained_dir();
        let path = self.path.clone();
        let e = |e| sql(&path, e);
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(e)?;
        Store::save(&tx, &scope, &located).map_err(e)?;
        let gone = retained::collect_garbage(&tx, &dir, &self.pinned).map_err(e)?;
        tx.commit().map_err(e)?;
        self.delete_when_durable(gone);
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    fn write(
        &mut self,
        scope: &str,
        table: &Table,
        target: Option<&str>,
        flow: &str,
        acks: &[Ack],
        extra: rusqlite::types::Value,
        also: impl FnOnce(&Connection) -> rusqlite::Result<()>,
    ) -> Result<(), StoreError> {
        let mut located = self.load(scope, table, target, flow, true)?;
        let files: BTreeSet<i64> = acks
            .iter()
            .filter_map(|a| match a.payload {
                Payload::Line { retained, .. } => Some(retained),
                Payload::Json(_) => None,
            })
            .collect();
        self.check_known(&files)?;
        let dir = self.retained_dir();
        let path = self.path.clone();
        let e = |e| sql(&path, e);
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(e)?;
        let mut updates = Vec::with_capacity(acks.len());
        {
            let mut upsert = tx.prepare_cached(table.upsert).map_err(e)?;
            // In key order, the B-tree is written page by page instead of at random.
            let mut inline: Vec<(&Ack, &String)> = acks
                .iter()
                .filter_map(|a| match &a.payload {
                    Payload::Json(p) => Some((a, p)),
                    Payload::Line { .. } => None,
                })
                .collect();
            inline.sort_unstable_by(|x, y| x.0.key.cmp(&y.0.key));
            for (a, payload) in inline {
                upsert
                    .execute(params![
                        target,
                        flow,
                        a.key,
                        a.key_hash as i64,
                        a.hash as i64,
                        payload,
                        a.removed,
                        extra
                    ])
                    .map_err(e)?;
            }
            for a in acks {
                let loc = match a.payload {
                    Payload::Json(_) => INLINE,
                    Payload::Line { retained, offset } => retained::location(retained, offset),
                };
                updates.push((ack_entry(a), loc));
            }
        }
        let replaced = located.snapshot.merge_located(&mut located.locs, updates);
        // A row whose entity is now a line is no longer its payload.
        {
            let mut delete = tx.prepare_cached(table.delete).map_err(e)?;
            for (kh, old) in replaced {
                if old == INLINE && located.loc(kh).is_some_and(|now| now != INLINE) {
                    delete
                        .execute(params![target, flow, kh as i64])
                        .map_err(e)?;
                }
            }
        }
        if let Some(t) = target {
            clear_failures(&tx, t, flow, acks).map_err(e)?;
        }
        Store::save(&tx, scope, &located).map_err(e)?;
        also(&tx).map_err(e)?;
        let gone = retained::collect_garbage(&tx, &dir, &self.pinned).map_err(e)?;
        tx.commit().map_err(e)?;
        self.delete_when_durable(gone);
        Ok(())
    }

    // ---- failures ----------------------------------------------------------

    pub fn record_failure(
        &self,
        target: &str,
        flow: &str,
        key: &str,
        key_hash: Option<u64>,
        error: &str,
        next_try: Option<&str>,
    ) -> Result<(), StoreError> {
        self.conn
            .execute(
                "INSERT INTO failures (target, flow, key, attempts, last_error, next_try, updated_at, key_hash)
                 VALUES (?1, ?2, ?3, 1, ?4, ?5, ?6, ?7)
                 ON CONFLICT (target, flow, key) DO UPDATE SET attempts = attempts + 1,
                    last_error = excluded.last_error, next_try = excluded.next_try,
                    updated_at = excluded.updated_at, key_hash = excluded.key_hash",
                params![target, flow, key, error, next_try, now_text(), key_hash.map(|k| k as i64)],
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

/// An acknowledged entity has no failure left. Failures are few and
/// acknowledgements many: the failures are read and matched, not each
/// acknowledgement looked up.
fn clear_failures(tx: &Connection, target: &str, flow: &str, acks: &[Ack]) -> rusqlite::Result<()> {
    let failing: Vec<(String, Option<i64>)> = {
        let mut stmt = tx
            .prepare_cached("SELECT key, key_hash FROM failures WHERE target = ?1 AND flow = ?2")?;
        let rows = stmt.query_map(params![target, flow], |r| Ok((r.get(0)?, r.get(1)?)))?;
        rows.collect::<rusqlite::Result<_>>()?
    };
    if failing.is_empty() {
        return Ok(());
    }
    let hashes: std::collections::HashSet<u64> = acks.iter().map(|a| a.key_hash).collect();
    let keys: std::collections::HashSet<&str> = acks.iter().map(|a| a.key.as_str()).collect();
    let mut clear =
        tx.prepare_cached("DELETE FROM failures WHERE target = ?1 AND flow = ?2 AND key = ?3")?;
    for (key, key_hash) in failing {
        let acked =
            key_hash.is_some_and(|kh| hashes.contains(&(kh as u64))) || keys.contains(key.as_str());
        if acked {
            clear.execute(params![target, flow, key])?;
        }
    }
    Ok(())
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

    #[test]
    fn galloping_lookups_find_what_one_by_one_lookups_find() {
        let entries: Vec<SnapEntry> = (0..5000u64)
            .map(|i| SnapEntry {
                key_hash: i * 3 + 1,
                hash: i,
            })
            .collect();
        let located = Located {
            locs: (0..5000u64).map(|i| i * 7).collect(),
            snapshot: Snapshot { entries },
        };
        let mut wanted: Vec<u64> = (0..20_000u64).map(|i| (i * 7919) % 16_000).collect();
        wanted.push(u64::MAX);
        wanted.sort_unstable();
        let one_by_one: Vec<Option<u64>> = wanted.iter().map(|&k| located.loc(k)).collect();
        assert_eq!(located.locs_of_sorted(&wanted), one_by_one);
        assert!(one_by_one.iter().filter(|l| l.is_some()).count() > 1000);
    }

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
        let located = store.applied_located("b2c", "ARTICOLI").unwrap();
        let payloads = store
            .applied_payloads("b2c", "ARTICOLI", &located, &[2, 3])
            .unwrap();
        assert_eq!(payloads.len(), 1);
        assert!(matches!(&payloads[&2], Stored::Json { key, .. } if key == "B"));
        assert!(store
            .applied_snapshot("b2b", "ARTICOLI")
            .unwrap()
            .is_empty());
    }

    #[test]
    fn a_source_that_cannot_be_read_is_the_files_failure_not_the_stores() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("state")).unwrap();
        // Gone from the share, or a folder in its place: the service must
        // not end as for a failing store (exit 3).
        for source in [dir.path().join("gone.txt"), dir.path().to_path_buf()] {
            let e = store.retain_file(&source, "layout-1").unwrap_err();
            assert!(
                !e.chain().any(|c| c.is::<StoreError>()),
                "{}: {e:#}",
                source.display()
            );
        }
    }

    #[test]
    fn lines_of_a_retained_file_are_payloads_until_nothing_points_into_it() {
        let dir = tempfile::tempdir().unwrap();
        let source = dir.path().join("ART.txt");
        std::fs::write(&source, b"line one\nline two\n").unwrap();
        let mut store = Store::open(&dir.path().join("state")).unwrap();
        store
            .record_applied("b2c", "ARTICOLI", &[ack("A", 1, 10)])
            .unwrap();
        let id = store.retain_file(&source, "layout-1").unwrap();
        let kept = dir
            .path()
            .join("state")
            .join(retained::DIR)
            .join(format!("{id}.rec"));
        assert_eq!(
            std::fs::read(&kept).unwrap(),
            std::fs::read(&source).unwrap()
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
            std::fs::set_permissions(&source, std::fs::Permissions::from_mode(0o644)).unwrap();
            let again = store.retain_file(&source, "layout-1").unwrap();
            let copy = kept.with_file_name(format!("{again}.rec"));
            assert_eq!(mode(&copy), 0o600, "a retained copy is its owner's only");
            assert_eq!(mode(copy.parent().unwrap()), 0o700);
            store.release_retained(again).unwrap();
        }
        // A's row gives way to a line; B is a line from the start.
        store
            .record_applied(
                "b2c",
                "ARTICOLI",
                &[Ack::line(1, 11, id, 0), Ack::line(2, 20, id, 9)],
            )
            .unwrap();
        store.release_retained(id).unwrap();
        let rows: i64 = store
            .conn
            .query_row("SELECT count(*) FROM applied", [], |r| r.get(0))
            .unwrap();
        assert_eq!(rows, 0);
        let located = store.applied_located("b2c", "ARTICOLI").unwrap();
        let payloads = store
            .applied_payloads("b2c", "ARTICOLI", &located, &[1, 2, 3])
            .unwrap();
        let Stored::Line { file, offset } = &payloads[&2] else {
            panic!("B is not a line: {:?}", payloads[&2]);
        };
        assert_eq!(
            (file.path.as_path(), file.fingerprint.as_str(), *offset),
            (kept.as_path(), "layout-1", 9)
        );
        assert_eq!(payloads.len(), 2);
        // Both back to rows: the retained file goes with the last reference.
        store
            .record_applied("b2c", "ARTICOLI", &[ack("A", 1, 12), ack("B", 2, 21)])
            .unwrap();
        assert!(!kept.exists());
        let located = store.applied_located("b2c", "ARTICOLI").unwrap();
        assert!(matches!(
            store
                .applied_payloads("b2c", "ARTICOLI", &located, &[2])
                .unwrap()[&2],
            Stored::Json { .. }
        ));
    }

    #[test]
    fn repointing_moves_only_same_content_lines_and_lets_the_old_file_go() {
        let dir = tempfile::tempdir().unwrap();
        let day1 = dir.path().join("day1.txt");
        let day2 = dir.path().join("day2.txt");
        std::fs::write(&day1, b"A1\nB1\n").unwrap();
        std::fs::write(&day2, b"A1\nB2\n").unwrap();
        let mut store = Store::open(&dir.path().join("state")).unwrap();
        let one = store.retain_file(&day1, "l").unwrap();
        store
            .record_applied(
                "b2c",
                "ARTICOLI",
                &[Ack::line(1, 10, one, 0), Ack::line(2, 20, one, 3)],
            )
            .unwrap();
        store.release_retained(one).unwrap();
        let two = store.retain_file(&day2, "l").unwrap();
        // B changed and was not (yet) applied: it stays on day 1's line.
        let lines = [(1, 10, 0), (2, 21, 3)];
        store.repoint(Some("b2c"), "ARTICOLI", two, &lines).unwrap();
        let at = store.applied_located("b2c", "ARTICOLI").unwrap();
        assert_eq!(at.loc(1), Some(retained::location(two, 0)));
        assert_eq!(at.loc(2), Some(retained::location(one, 3)));
        let old = dir
            .path()
            .join("state")
            .join(retained::DIR)
            .join(format!("{one}.rec"));
        assert!(old.exists());
        // Once B is applied from day 2, nothing points into day 1.
        store
            .record_applied("b2c", "ARTICOLI", &[Ack::line(2, 21, two, 3)])
            .unwrap();
        assert!(!old.exists());
    }

    #[test]
    fn a_new_copy_nothing_points_into_yet_survives_commits_until_released() {
        let dir = tempfile::tempdir().unwrap();
        let day1 = dir.path().join("day1.txt");
        std::fs::write(&day1, b"A1\n").unwrap();
        let mut store = Store::open(&dir.path().join("state")).unwrap();
        let one = store.retain_file(&day1, "l").unwrap();
        store
            .record_applied("b2c", "ARTICOLI", &[Ack::line(1, 10, one, 0)])
            .unwrap();
        store.release_retained(one).unwrap();
        // Day 2 holds A unchanged: the commits before the repoint point
        // nowhere into it, and must not take it.
        let two = store.retain_file(&day1, "l").unwrap();
        store.commit_desired("ARTICOLI", None, None, &[]).unwrap();
        let kept = dir.path().join("state").join(retained::DIR);
        let copy = |id: i64| kept.join(format!("{id}.rec"));
        assert!(copy(two).exists());
        store
            .repoint(Some("b2c"), "ARTICOLI", two, &[(1, 10, 0)])
            .unwrap();
        assert!(!copy(one).exists(), "day 1 is no longer pointed into");
        store.release_retained(two).unwrap();
        assert!(copy(two).exists(), "day 2 is");
        // A copy nothing ever points into goes at its release; its id is
        // never given again.
        let three = store.retain_file(&day1, "l").unwrap();
        store.release_retained(three).unwrap();
        assert!(!copy(three).exists());
        let four = store.retain_file(&day1, "l").unwrap();
        assert!(four > three);
        // Nothing may point into a file the store does not hold.
        let e = store
            .record_applied("b2c", "ARTICOLI", &[Ack::line(2, 20, three, 0)])
            .unwrap_err()
            .to_string();
        assert!(e.contains("no retained file"), "{e}");
    }

    #[test]
    fn a_retained_file_no_row_names_is_removed_at_open() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let strays = dir.path().join(retained::DIR);
        std::fs::create_dir_all(&strays).unwrap();
        std::fs::write(strays.join("7.rec"), b"left by a crash").unwrap();
        std::fs::write(strays.join("8.part"), b"half a copy").unwrap();
        std::fs::create_dir(strays.join("someone's folder")).unwrap();
        std::fs::write(strays.join("README.txt"), b"not ponte's").unwrap();
        drop(store);
        Store::open(dir.path()).unwrap();
        let mut left: Vec<String> = std::fs::read_dir(&strays)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        left.sort();
        assert_eq!(left, ["README.txt", "someone's folder"]);
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
