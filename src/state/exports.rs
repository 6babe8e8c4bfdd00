//! The orders export's state: which orders reached the outbound folder
//! (`order_exports`), and the export intents written before each file
//! (`order_export_intents`). The protocol that uses them is described in
//! `src/orders/export.rs`. Its commits run with `synchronous = FULL`: an
//! intent must be on disk before its file is, even across a power cut.

use std::collections::{HashMap, HashSet};

use rusqlite::{params, OptionalExtension, Transaction};

use super::clock::now_text;
use super::failures::resolve_keys;
use super::store::{sql, Store, StoreError};

/// An order named in an intent.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct IntentOrder {
    pub id: i64,
    pub increment_id: String,
    pub updated_at: String,
}

/// A file about to be (or being) written, and the orders it holds.
#[derive(Debug, Clone, PartialEq)]
pub struct ExportIntent {
    pub id: i64,
    pub target: String,
    /// The Magento the orders came from (the target's `base_url`); `None`
    /// for an intent an earlier version left.
    pub shop: Option<String>,
    pub file: String,
    pub orders: Vec<IntentOrder>,
    /// Where the target's watermark goes once the file is safe.
    pub watermark: Option<String>,
    /// Size and xxh3 of the temporary file once it was written and fsynced.
    pub written: Option<(u64, String)>,
}

/// An exported order whose comment or status change is still to be sent.
#[derive(Debug, Clone, PartialEq)]
pub struct ExportedOrder {
    pub order_id: i64,
    pub increment_id: String,
    pub file: String,
    pub attempts: i64,
}

pub fn watermark_scope(target: &str) -> String {
    format!("orders/{target}")
}

const LAST_FILE: &str = "orders/last-file";

impl Store {
    /// Runs `f` in a transaction committed with `synchronous = FULL`.
    fn durably<R>(
        &mut self,
        f: impl FnOnce(&Transaction) -> rusqlite::Result<R>,
    ) -> Result<R, StoreError> {
        let path = self.path.clone();
        self.conn
            .pragma_update(None, "synchronous", "FULL")
            .map_err(|e| sql(&path, e))?;
        let result = (|| {
            let tx = self
                .conn
                .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            let r = f(&tx)?;
            tx.commit()?;
            Ok(r)
        })();
        let restore = self.conn.pragma_update(None, "synchronous", "NORMAL");
        let r = result.map_err(|e| sql(&path, e))?;
        restore.map_err(|e| sql(&path, e))?;
        Ok(r)
    }

    /// Which of `ids` were exported to `target` already.
    #[cfg(test)]
    pub(crate) fn exported_orders(
        &self,
        target: &str,
        ids: &[i64],
    ) -> Result<HashSet<i64>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT 1 FROM order_exports WHERE target = ?1 AND order_id = ?2")
            .map_err(|e| sql(&self.path, e))?;
        let mut out = HashSet::new();
        for &id in ids {
            let found = stmt
                .exists(params![target, id])
                .map_err(|e| sql(&self.path, e))?;
            if found {
                out.insert(id);
            }
        }
        Ok(out)
    }

    /// Rows an earlier version wrote for `target` without their shop take
    /// `shop`, the target's Magento, so that other targets on it see them.
    pub(crate) fn adopt_exports(&mut self, target: &str, shop: &str) -> Result<(), StoreError> {
        self.durably(|tx| {
            tx.execute(
                "UPDATE order_exports SET shop = ?2 WHERE target = ?1 AND shop IS NULL",
                params![target, shop],
            )?;
            tx.execute(
                "UPDATE order_export_intents SET shop = ?2 WHERE target = ?1 AND shop IS NULL",
                params![target, shop],
            )?;
            Ok(())
        })
    }

    /// Which of `ids` (orders of the Magento `shop`) are exported already,
    /// or held by another target's unfinished export, and by which target
    /// (`target` itself when it is one of them). An order belongs to its
    /// shop, not to a target: whichever target wrote it, no other writes it
    /// again.
    pub(crate) fn exported_by(
        &self,
        target: &str,
        shop: &str,
        ids: &[i64],
    ) -> Result<HashMap<i64, String>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT target FROM order_exports
                 WHERE order_id = ?3 AND (target = ?1 OR shop = ?2)
                 ORDER BY target = ?1 DESC, exported_at LIMIT 1",
            )
            .map_err(|e| sql(&self.path, e))?;
        let mut out = HashMap::new();
        for &id in ids {
            let by: Option<String> = stmt
                .query_row(params![target, shop, id], |r| r.get(0))
                .optional()
                .map_err(|e| sql(&self.path, e))?;
            if let Some(by) = by {
                out.insert(id, by);
            }
        }
        // An intent of another target may have reached the folder already;
        // its own target's recovery settles it.
        let wanted: HashSet<i64> = ids.iter().copied().collect();
        let mut intents = self
            .conn
            .prepare(
                "SELECT target, file, orders FROM order_export_intents
                 WHERE shop = ?1 AND target != ?2 ORDER BY id",
            )
            .map_err(|e| sql(&self.path, e))?;
        let rows = intents
            .query_map(params![shop, target], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                ))
            })
            .map_err(|e| sql(&self.path, e))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| sql(&self.path, e))?;
        for (other, file, orders) in rows {
            let orders: Vec<IntentOrder> =
                serde_json::from_str(&orders).map_err(|e| StoreError::Other {
                    path: self.path.display().to_string(),
                    message: format!("export intent {file}: damaged order list: {e}"),
                })?;
            for o in orders {
                if wanted.contains(&o.id) {
                    out.entry(o.id).or_insert_with(|| other.clone());
                }
            }
        }
        Ok(out)
    }

    pub fn order_export_count(&self, target: &str) -> Result<i64, StoreError> {
        self.conn
            .query_row(
                "SELECT count(*) FROM order_exports WHERE target = ?1",
                [target],
                |r| r.get(0),
            )
            .map_err(|e| sql(&self.path, e))
    }

    /// The stamp (Unix seconds) of the last file name handed out.
    pub(crate) fn last_export_stamp(&self) -> Result<Option<i64>, StoreError> {
        Ok(self.watermark(LAST_FILE)?.and_then(|v| v.parse().ok()))
    }

    /// Whether a file name was used by an intent or an export.
    pub(crate) fn export_file_known(&self, file: &str) -> Result<bool, StoreError> {
        let q = "SELECT EXISTS (SELECT 1 FROM order_export_intents WHERE file = ?1)
                 OR EXISTS (SELECT 1 FROM order_exports WHERE file = ?1)";
        self.conn
            .query_row(q, [file], |r| r.get(0))
            .map_err(|e| sql(&self.path, e))
    }

    /// Records the intent to write `file` with `orders`, and the stamp of
    /// its name. Nothing is written to the folder before this commits.
    pub(crate) fn begin_export(
        &mut self,
        target: &str,
        shop: &str,
        file: &str,
        stamp: i64,
        orders: &[IntentOrder],
        watermark: Option<&str>,
    ) -> Result<i64, StoreError> {
        let list = serde_json::to_string(orders).map_err(|e| StoreError::Other {
            path: self.path.display().to_string(),
            message: e.to_string(),
        })?;
        self.durably(|tx| {
            tx.execute(
                "INSERT INTO order_export_intents (target, shop, file, orders, watermark, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![target, shop, file, list, watermark, now_text()],
            )?;
            let id = tx.last_insert_rowid();
            tx.execute(
                "INSERT INTO watermarks (scope, value, updated_at) VALUES (?1, ?2, ?3)
                 ON CONFLICT (scope) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
                params![LAST_FILE, format!("{stamp:012}"), now_text()],
            )?;
            Ok(id)
        })
    }

    /// The temporary file is complete and on disk: the rename may follow.
    pub(crate) fn mark_export_written(
        &mut self,
        intent: i64,
        size: u64,
        hash: &str,
    ) -> Result<(), StoreError> {
        self.durably(|tx| {
            tx.execute(
                "UPDATE order_export_intents SET written_size = ?2, written_hash = ?3 WHERE id = ?1",
                params![intent, size as i64, hash],
            )?;
            Ok(())
        })
    }

    /// The file is in the outbound folder: its orders are exported, the
    /// watermark moves (forward only), their failures are cleared, and the
    /// intent goes, all in one transaction. `followup`: a comment or status
    /// change is still to be sent to Magento for each.
    pub(crate) fn complete_export(
        &mut self,
        intent: &ExportIntent,
        followup: bool,
    ) -> Result<(), StoreError> {
        self.durably(|tx| {
            let now = now_text();
            {
                let mut insert = tx.prepare_cached(
                    "INSERT INTO order_exports (target, order_id, increment_id, updated_at, file, exported_at, followup_pending, shop)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
                     ON CONFLICT (target, order_id) DO NOTHING",
                )?;
                for o in &intent.orders {
                    insert.execute(params![
                        intent.target,
                        o.id,
                        o.increment_id,
                        o.updated_at,
                        intent.file,
                        now,
                        followup,
                        intent.shop
                    ])?;
                }
            }
            resolve_keys(
                tx,
                &intent.target,
                "orders",
                intent.orders.iter().map(|o| o.increment_id.as_str()),
            )?;
            if let Some(w) = &intent.watermark {
                tx.execute(
                    "INSERT INTO watermarks (scope, value, updated_at) VALUES (?1, ?2, ?3)
                     ON CONFLICT (scope) DO UPDATE SET value = max(value, excluded.value), updated_at = excluded.updated_at",
                    params![watermark_scope(&intent.target), w, now],
                )?;
            }
            tx.execute("DELETE FROM order_export_intents WHERE id = ?1", [intent.id])?;
            Ok(())
        })
    }

    /// The file never reached the folder: forget the intent.
    pub(crate) fn forget_export(&mut self, intent: i64) -> Result<(), StoreError> {
        self.durably(|tx| {
            tx.execute("DELETE FROM order_export_intents WHERE id = ?1", [intent])?;
            Ok(())
        })
    }

    /// The intents left by an earlier run, oldest first.
    pub(crate) fn export_intents(&self, target: &str) -> Result<Vec<ExportIntent>, StoreError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT id, target, file, orders, watermark, written_size, written_hash, shop
                 FROM order_export_intents WHERE target = ?1 ORDER BY id",
            )
            .map_err(|e| sql(&self.path, e))?;
        let rows = stmt
            .query_map([target], |r| {
                let orders: String = r.get(3)?;
                let size: Option<i64> = r.get(5)?;
                let hash: Option<String> = r.get(6)?;
                Ok((
                    ExportIntent {
                        id: r.get(0)?,
                        target: r.get(1)?,
                        shop: r.get(7)?,
                        file: r.get(2)?,
                        orders: Vec::new(),
                        watermark: r.get(4)?,
                        written: size.zip(hash).map(|(s, h)| (s as u64, h)),
                    },
                    orders,
                ))
            })
            .map_err(|e| sql(&self.path, e))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| sql(&self.path, e))?;
        rows.into_iter()
            .map(|(mut intent, orders)| {
                intent.orders = serde_json::from_str(&orders).map_err(|e| StoreError::Other {
                    path: self.path.display().to_string(),
                    message: format!("export intent {}: damaged order list: {e}", intent.file),
                })?;
                Ok(intent)
            })
            .collect()
    }

    /// Exported orders whose comment or status change is still to be sent
    /// (fewer than `max_attempts` tries so far).
    pub(crate) fn pending_followups(
        &self,
        target: &str,
        max_attempts: i64,
    ) -> Result<Vec<ExportedOrder>, StoreError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT order_id, increment_id, file, followup_attempts FROM order_exports
                 WHERE target = ?1 AND followup_pending = 1 AND followup_attempts < ?2
                 ORDER BY file, order_id",
            )
            .map_err(|e| sql(&self.path, e))?;
        let rows = stmt
            .query_map(params![target, max_attempts], |r| {
                Ok(ExportedOrder {
                    order_id: r.get(0)?,
                    increment_id: r.get(1)?,
                    file: r.get(2)?,
                    attempts: r.get(3)?,
                })
            })
            .map_err(|e| sql(&self.path, e))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| sql(&self.path, e))?;
        Ok(rows)
    }

    /// A follow-up was sent (`done`) or failed once more.
    pub(crate) fn followup_result(
        &self,
        target: &str,
        order_id: i64,
        done: bool,
    ) -> Result<(), StoreError> {
        let q = if done {
            "UPDATE order_exports SET followup_pending = 0, followup_attempts = followup_attempts + 1
             WHERE target = ?1 AND order_id = ?2"
        } else {
            "UPDATE order_exports SET followup_attempts = followup_attempts + 1
             WHERE target = ?1 AND order_id = ?2"
        };
        self.conn
            .execute(q, params![target, order_id])
            .map_err(|e| sql(&self.path, e))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHOP: &str = "https://shop.example";

    fn order(id: i64, at: &str) -> IntentOrder {
        IntentOrder {
            id,
            increment_id: format!("{id:09}"),
            updated_at: at.into(),
        }
    }

    #[test]
    fn an_intent_becomes_exports_and_a_watermark_in_one_step() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(dir.path()).unwrap();
        let orders = [
            order(1, "2026-11-01 00:00:00"),
            order(2, "2026-11-01 00:01:00"),
        ];
        let id = store
            .begin_export(
                "b2c",
                SHOP,
                "ORD20261128100000.txt",
                42,
                &orders,
                Some("2026-11-01 00:01:00"),
            )
            .unwrap();
        assert!(store.export_file_known("ORD20261128100000.txt").unwrap());
        assert_eq!(store.last_export_stamp().unwrap(), Some(42));
        store.mark_export_written(id, 10, "abc").unwrap();
        let intents = store.export_intents("b2c").unwrap();
        assert_eq!(intents.len(), 1);
        assert_eq!(intents[0].written, Some((10, "abc".to_string())));
        assert_eq!(intents[0].orders, orders);
        store
            .record_failure("b2c", "orders", "000000002", None, "boom", None)
            .unwrap();
        store.complete_export(&intents[0], true).unwrap();
        assert!(store.export_intents("b2c").unwrap().is_empty());
        assert_eq!(store.exported_orders("b2c", &[1, 2, 3]).unwrap().len(), 2);
        assert!(store.exported_orders("b2b", &[1]).unwrap().is_empty());
        assert_eq!(
            store.watermark(&watermark_scope("b2c")).unwrap().as_deref(),
            Some("2026-11-01 00:01:00")
        );
        assert!(store.failures(None).unwrap().is_empty());
        assert_eq!(store.pending_followups("b2c", 5).unwrap().len(), 2);
        store.followup_result("b2c", 1, true).unwrap();
        store.followup_result("b2c", 2, false).unwrap();
        let left = store.pending_followups("b2c", 5).unwrap();
        assert_eq!((left.len(), left[0].attempts), (1, 1));
        assert!(store.pending_followups("b2c", 1).unwrap().is_empty());
    }

    #[test]
    fn the_watermark_never_moves_back_and_forgotten_intents_leave_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(dir.path()).unwrap();
        for (file, at) in [
            ("A.txt", "2026-11-02 00:00:00"),
            ("B.txt", "2026-11-01 00:00:00"),
        ] {
            let id = store
                .begin_export(
                    "b2c",
                    SHOP,
                    file,
                    1,
                    &[order(at.len() as i64 + file.len() as i64, at)],
                    Some(at),
                )
                .unwrap();
            let intent = store
                .export_intents("b2c")
                .unwrap()
                .into_iter()
                .find(|i| i.id == id)
                .unwrap();
            store.complete_export(&intent, false).unwrap();
        }
        assert_eq!(
            store.watermark(&watermark_scope("b2c")).unwrap().as_deref(),
            Some("2026-11-02 00:00:00")
        );
        let id = store
            .begin_export("b2c", SHOP, "C.txt", 2, &[order(9, "x")], None)
            .unwrap();
        store.forget_export(id).unwrap();
        assert!(store.export_intents("b2c").unwrap().is_empty());
        assert!(!store.export_file_known("C.txt").unwrap());
        assert!(store.export_file_known("A.txt").unwrap());
    }

    #[test]
    fn an_order_is_known_by_its_shop_whichever_target_wrote_it() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(dir.path()).unwrap();
        let id = store
            .begin_export("b2c", SHOP, "A.txt", 1, &[order(1, "t")], None)
            .unwrap();
        let intent = store.export_intents("b2c").unwrap().remove(0);
        assert_eq!((intent.id, intent.shop.as_deref()), (id, Some(SHOP)));
        store.complete_export(&intent, false).unwrap();
        // Order 2 is in b2c's unfinished export.
        store
            .begin_export("b2c", SHOP, "B.txt", 2, &[order(2, "t")], None)
            .unwrap();
        let seen = store.exported_by("b2b", SHOP, &[1, 2, 3]).unwrap();
        assert_eq!(seen.get(&1).map(String::as_str), Some("b2c"));
        assert_eq!(seen.get(&2).map(String::as_str), Some("b2c"));
        assert_eq!(seen.len(), 2);
        let own = store.exported_by("b2c", SHOP, &[1, 2]).unwrap();
        assert_eq!(own.len(), 1, "its own intent is recovery's, not a skip");
        assert!(store
            .exported_by("b2b", "https://other.example", &[1, 2])
            .unwrap()
            .is_empty());

        // A row of an earlier version has no shop: its target adopts it.
        store
            .conn
            .execute(
                "INSERT INTO order_exports (target, order_id, increment_id, updated_at, file, exported_at)
                 VALUES ('old', 7, '000000007', 't', 'C.txt', 't')",
                [],
            )
            .unwrap();
        assert!(store.exported_by("b2b", SHOP, &[7]).unwrap().is_empty());
        assert_eq!(store.exported_by("old", SHOP, &[7]).unwrap().len(), 1);
        store.adopt_exports("old", SHOP).unwrap();
        assert_eq!(
            store
                .exported_by("b2b", SHOP, &[7])
                .unwrap()
                .get(&7)
                .map(String::as_str),
            Some("old")
        );
    }
}
