//! The store's side of retained files: the copies a process pins while it
//! may still point into them, and their collection once nothing does.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use super::retained;
use super::store::{sql, Store, StoreError};

impl Store {
    // ---- retained files ----------------------------------------------------

    pub(super) fn retained_dir(&self) -> PathBuf {
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
    pub(crate) fn retained_path(&self, id: i64) -> PathBuf {
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
    pub(super) fn collect(&mut self) -> Result<(), StoreError> {
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
    pub(super) fn delete_when_durable(&self, gone: Vec<PathBuf>) {
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
    pub(super) fn check_known(&self, ids: &BTreeSet<i64>) -> Result<(), StoreError> {
        let missing = retained::unknown(&self.conn, ids).map_err(|e| self.err(e))?;
        if missing.is_empty() {
            return Ok(());
        }
        Err(StoreError::Other {
            path: self.path.display().to_string(),
            message: format!("no retained file {missing:?}: nothing may point into it"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
