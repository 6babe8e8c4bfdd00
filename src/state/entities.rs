//! Entities: what the ERP wants (`desired`) and what each target
//! acknowledged (`applied`), as rows and as the compact snapshots the diff
//! reads, with payloads kept inline or as lines of retained files.

use std::collections::{BTreeSet, HashMap};

use rusqlite::{params, Connection, OptionalExtension};

use super::clock::now_text;
use super::failures::clear_failures;
use super::retained::{self, RetainedFile};
use super::snapshot::{locs_from_bytes, locs_to_bytes, SnapEntry, Snapshot, INLINE, REMOVED};
use super::store::{scope, sql, Store, StoreError};

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
    pub(crate) fn line(key_hash: u64, hash: u64, retained: i64, offset: u64) -> Ack {
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
pub(crate) enum Stored {
    Json { key: String, payload: String },
    Line { file: RetainedFile, offset: u64 },
}

/// A snapshot with where each entry's payload is kept.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Located {
    pub snapshot: Snapshot,
    /// Parallel to `snapshot.entries`: `INLINE` or a retained line.
    locs: Vec<u64>,
}

impl Located {
    pub(crate) fn loc(&self, key_hash: u64) -> Option<u64> {
        self.snapshot
            .entries
            .binary_search_by_key(&key_hash, |e| e.key_hash)
            .ok()
            .map(|i| self.locs.get(i).copied().unwrap_or(INLINE))
    }

    /// `loc` of each of `key_hashes`, which are sorted: each search starts
    /// where the last one ended and gallops, so that ten thousand of them
    /// in a million entries stay within the part of the snapshot between.
    pub(crate) fn locs_of_sorted(&self, key_hashes: &[u64]) -> Vec<Option<u64>> {
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
pub(crate) type DesiredRow = Ack;

impl Store {
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
    pub(crate) fn applied_count(&self, target: &str, flow: &str) -> Result<u64, StoreError> {
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
    pub(crate) fn applied_located(&self, target: &str, flow: &str) -> Result<Located, StoreError> {
        let scope = scope("applied", Some(target), flow);
        self.load(&scope, &APPLIED, Some(target), flow, true)
    }

    #[cfg(test)]
    pub(crate) fn desired_snapshot(&self, flow: &str) -> Result<Snapshot, StoreError> {
        Ok(self.desired_located(flow)?.snapshot)
    }

    pub(crate) fn desired_located(&self, flow: &str) -> Result<Located, StoreError> {
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

    // ---- entities ----------------------------------------------------------

    /// The payloads that `target` acknowledged, for these key hashes.
    pub(crate) fn applied_payloads(
        &self,
        target: &str,
        flow: &str,
        located: &Located,
        key_hashes: &[u64],
    ) -> Result<HashMap<u64, Stored>, StoreError> {
        self.payloads(&APPLIED, Some(target), flow, located, key_hashes)
    }

    /// The payloads the ERP last described, for these key hashes.
    pub(crate) fn desired_payloads(
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
        let file_id: rusqlite::types::Value = file_id
            .or(self.current_file)
            .map_or(rusqlite::types::Value::Null, Into::into);
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
    pub(crate) fn repoint(
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
}

fn ack_entry(a: &Ack) -> SnapEntry {
    SnapEntry {
        key_hash: a.key_hash,
        hash: (a.hash & !REMOVED) | if a.removed { REMOVED } else { 0 },
    }
}
#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

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
}
