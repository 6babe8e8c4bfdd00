//! Watermarks: the newest header timestamp per flow, the orders' last
//! `updated_at` per target, the last export file stamp.

use rusqlite::{params, OptionalExtension};

use super::clock::now_text;
use super::store::{Store, StoreError};

impl Store {
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
}

/// The watermark that holds a target's last orders poll: its value is "ok"
/// or the poll's error, its `updated_at` when it ended.
/// Where the service keeps when it last scanned the share, for `status`
/// (another process): written at most once a minute.
pub(crate) const LAST_SCAN: &str = "service/last-scan";

pub(super) fn poll_scope(target: &str) -> String {
    format!("orders/last-poll/{target}")
}

impl Store {
    /// Records that an orders poll of `target` ended, and how.
    pub(crate) fn record_orders_poll(
        &self,
        target: &str,
        error: Option<&str>,
    ) -> Result<(), StoreError> {
        self.set_watermark(&poll_scope(target), error.unwrap_or("ok"))
    }
}
