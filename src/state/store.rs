//! The store itself: opening, configuring and migrating the one SQLite
//! file. Each table family's queries live in a file of their own
//! (entities, files, failures, watermarks, exports, history).

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use rusqlite::{Connection, OpenFlags};

use super::migrations::STEPS;
use super::retained;

pub(crate) const FILE_NAME: &str = "ponte.sqlite";

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
    pub(super) pinned: HashSet<i64>,
    /// The file being processed, which failures recorded now name.
    pub(super) current_file: Option<i64>,
}

pub(super) fn scope(kind: &str, target: Option<&str>, flow: &str) -> String {
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
            current_file: None,
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
    pub(crate) fn another_connection(&self) -> Result<Store, StoreError> {
        let conn = Connection::open(&self.path).map_err(|e| self.err(e))?;
        let store = Store {
            conn,
            path: self.path.clone(),
            pinned: HashSet::new(),
            current_file: None,
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
            current_file: None,
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

    #[cfg(test)]
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    pub(super) fn err(&self, e: rusqlite::Error) -> StoreError {
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
    use crate::state::migrations::STEPS;

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
    fn read_only_open_of_a_missing_store_is_an_empty_state() {
        let dir = tempfile::tempdir().unwrap();
        assert!(Store::open_read_only(dir.path()).unwrap().is_none());
        assert!(!dir.path().join(FILE_NAME).exists());
    }

    #[test]
    fn a_store_of_the_old_schema_upgrades_in_place() {
        let dir = tempfile::tempdir().unwrap();
        {
            // Version 5, as the ponte before it left it: epoch seconds as
            // text, a failure without its file, a `runs` table.
            let conn = Connection::open(dir.path().join(FILE_NAME)).unwrap();
            for step in &STEPS[..5] {
                conn.execute_batch(step).unwrap();
            }
            conn.pragma_update(None, "user_version", 5).unwrap();
            conn.execute_batch(
                "INSERT INTO files (content_hash, name, flow, status, first_seen, updated_at)
                    VALUES ('h', 'ART20261128.txt', 'ARTICOLI', 'applied-with-failures',
                        '001795859100', '001795859130');
                 INSERT INTO failures (target, flow, key, attempts, last_error, next_try,
                        updated_at, key_hash)
                    VALUES ('b2c', 'ARTICOLI', 'A', 2, '400 The price is invalid.',
                        '001795859160', '001795859100', 1),
                        ('b2c', 'ARTICOLI', 'B', 1, 'gave up after 3 attempts: timeout',
                        NULL, '001795859100', 2);
                 INSERT INTO runs (command, started_at) VALUES ('watch', '001795859100');",
            )
            .unwrap();
        }
        let store = Store::open(dir.path()).unwrap();
        assert_eq!(store.version().unwrap() as usize, STEPS.len());
        let files = store.history(&Default::default()).unwrap();
        assert_eq!(files[0].started_at, "2026-11-28T09:45:00+00:00");
        let open = store.open_failures(None, None).unwrap();
        assert_eq!(open.len(), 2);
        assert_eq!(
            (open[0].status, open[0].message.as_str(), open[0].attempts),
            (Some(400), "The price is invalid.", 2)
        );
        assert_eq!(open[0].first_attempt, "2026-11-28T09:45:00+00:00");
        assert_eq!(
            open[0].next_try.as_deref(),
            Some("2026-11-28T09:46:00+00:00")
        );
        assert_eq!(open[1].status, None);
        assert_eq!(store.failures(Some("b2c")).unwrap().len(), 2);
        let runs: i64 = store
            .conn
            .query_row(
                "SELECT count(*) FROM sqlite_master WHERE name = 'runs'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(runs, 0);
    }
}
