//! The `files` table: every file ponte handled, its outcome and where it
//! went.

use rusqlite::params;
#[cfg(test)]
use rusqlite::OptionalExtension;

use super::clock::now_text;
use super::store::{Store, StoreError};

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct FileRow {
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

/// What a file came to, recorded when it is settled.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct FileFinish {
    /// Detail records read, and how many of them were invalid.
    pub records: i64,
    pub bad_records: i64,
    /// Where the file is now (archive, rejected, or where it was).
    pub place: String,
    /// Per target: entities sent and acknowledged, unchanged, failed.
    pub targets: Vec<TargetCounts>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct TargetCounts {
    pub target: String,
    pub sent: i64,
    pub unchanged: i64,
    pub failed: i64,
}

impl Store {
    /// Records a file's counts, its place and the end of its processing,
    /// in one transaction.
    pub(crate) fn finish_file(&mut self, id: i64, f: &FileFinish) -> Result<(), StoreError> {
        let path = self.path.clone();
        let e = |e| super::store::sql(&path, e);
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(e)?;
        let now = now_text();
        tx.execute(
            "UPDATE files SET records = ?2, bad_records = ?3, place = ?4, finished_at = ?5,
                updated_at = ?5 WHERE id = ?1",
            params![id, f.records, f.bad_records, f.place, now],
        )
        .map_err(e)?;
        for t in &f.targets {
            tx.execute(
                "INSERT INTO file_targets (file_id, target, sent, unchanged, failed)
                 VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (file_id, target) DO UPDATE SET sent = excluded.sent,
                    unchanged = excluded.unchanged, failed = excluded.failed",
                params![id, t.target, t.sent, t.unchanged, t.failed],
            )
            .map_err(e)?;
        }
        tx.commit().map_err(e)
    }

    // ---- files -------------------------------------------------------------

    /// Files with this content, newest first.
    pub(crate) fn files_with_hash(&self, content_hash: &str) -> Result<Vec<FileRow>, StoreError> {
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

    pub(crate) fn insert_file(&self, f: &FileRow) -> Result<i64, StoreError> {
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

    pub(crate) fn set_file_status(
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

    #[cfg(test)]
    pub(crate) fn file(&self, id: i64) -> Result<Option<FileRow>, StoreError> {
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
