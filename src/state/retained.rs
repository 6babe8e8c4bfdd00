//! Retained files: the store's own copies of the ERP files whose lines are
//! payloads. Recording a million entities as rows of JSON would take minutes;
//! recording them as "line at offset N of retained file F" takes a copy of
//! the file and eight bytes each. A retained file lives as long as a
//! snapshot points into it.
//!
//! A location packs the file id (high 24 bits) and the byte offset of the
//! line (low 40 bits, files up to 1 TiB) into one word; `INLINE` (all ones)
//! is never a valid location.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::fs::File;
use std::path::{Path, PathBuf};

use rusqlite::{params, Connection};

use super::clock::now_text;
use super::snapshot::INLINE;

pub(crate) const DIR: &str = "retained";
const OFFSET_BITS: u32 = 40;
const MAX_ID: i64 = (1 << (64 - OFFSET_BITS)) - 2;

pub(crate) fn location(id: i64, offset: u64) -> u64 {
    ((id as u64) << OFFSET_BITS) | offset
}

/// The retained file id and line offset of a location; `None` for `INLINE`.
pub(crate) fn split(loc: u64) -> Option<(i64, u64)> {
    (loc != INLINE).then_some(((loc >> OFFSET_BITS) as i64, loc & ((1 << OFFSET_BITS) - 1)))
}

/// A retained file as the payload readers need it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct RetainedFile {
    pub path: PathBuf,
    /// Which layout its lines were written in (see `BoundSpec::fingerprint`):
    /// a line is never decoded with another.
    pub fingerprint: String,
}

pub(crate) fn path_of(dir: &Path, id: i64) -> PathBuf {
    dir.join(format!("{id}.rec"))
}

/// Why a file could not be retained: the file's fault (it cannot be read:
/// the share failed, or it is not what it seemed), or the store's.
#[derive(Debug)]
pub(crate) enum RetainError {
    Source(anyhow::Error),
    Store(anyhow::Error),
}

/// Copies `source` into the store, durably, and registers it. The row is
/// written first: a crash before the copy is whole leaves a row that no
/// snapshot points to, which the next open removes. Until the caller's
/// snapshots point into it, the caller keeps it from collection (see
/// `Store::retain_file`).
pub(crate) fn retain(
    conn: &Connection,
    dir: &Path,
    source: &Path,
    fingerprint: &str,
) -> Result<i64, RetainError> {
    use anyhow::Context;
    let unreadable = |e: std::io::Error| {
        RetainError::Source(
            anyhow::Error::new(e).context(format!("{}: cannot read", source.display())),
        )
    };
    let mut from = ponte_layout::record::open::open_file(source)
        .with_context(|| format!("{}: cannot read", source.display()))
        .map_err(RetainError::Source)?;
    let size = from.metadata().map_err(unreadable)?.len();
    copy_into_store(conn, dir, source, fingerprint, &mut from, size, unreadable)
}

fn copy_into_store(
    conn: &Connection,
    dir: &Path,
    source: &Path,
    fingerprint: &str,
    from: &mut File,
    size: u64,
    unreadable: impl Fn(std::io::Error) -> RetainError,
) -> Result<i64, RetainError> {
    use anyhow::Context;
    use std::io::{Read, Write};
    let store = RetainError::Store;
    if size >= (1 << OFFSET_BITS) {
        return Err(RetainError::Source(anyhow::anyhow!(
            "{}: {size} bytes is more than the state store keeps of a file",
            source.display()
        )));
    }
    let record_and_create = || -> anyhow::Result<(i64, PathBuf, File, PathBuf)> {
        conn.execute(
            "INSERT INTO retained (name, fingerprint, size, created_at) VALUES (?1, ?2, ?3, ?4)",
            params![
                source.display().to_string(),
                fingerprint,
                size as i64,
                now_text()
            ],
        )?;
        let id = conn.last_insert_rowid();
        anyhow::ensure!(id <= MAX_ID, "the state store has retained too many files");
        // Customer files are kept as the database is, for the owner only, from
        // the first byte.
        let mut folder = std::fs::DirBuilder::new();
        folder.recursive(true);
        let mut open = std::fs::OpenOptions::new();
        open.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
            folder.mode(0o700);
            open.mode(0o600);
        }
        folder
            .create(dir)
            .with_context(|| format!("cannot create {}", dir.display()))?;
        let target = path_of(dir, id);
        let partial = target.with_extension("part");
        let to = open
            .open(&partial)
            .with_context(|| format!("cannot create {}", partial.display()))?;
        Ok((id, target, to, partial))
    };
    let (id, target, mut to, partial) = record_and_create().map_err(store)?;
    // Read and written in turn, so that a read that fails is told from a
    // write that does.
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = match from.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(unreadable(e)),
        };
        to.write_all(&buf[..n])
            .with_context(|| format!("cannot write {}", partial.display()))
            .map_err(store)?;
    }
    let finish = || -> anyhow::Result<()> {
        to.sync_all()
            .with_context(|| format!("cannot sync {}", partial.display()))?;
        std::fs::rename(&partial, &target)
            .with_context(|| format!("cannot rename {}", partial.display()))?;
        File::open(dir)
            .and_then(|d| d.sync_all())
            .with_context(|| format!("cannot sync {}", dir.display()))?;
        Ok(())
    };
    finish().map_err(store)?;
    Ok(id)
}

/// The ids among `ids` that the store does not know: a snapshot must never
/// point into a file that is not there.
pub(crate) fn unknown(conn: &Connection, ids: &BTreeSet<i64>) -> rusqlite::Result<Vec<i64>> {
    let mut stmt = conn.prepare_cached("SELECT count(*) FROM retained WHERE id = ?1")?;
    let mut missing = Vec::new();
    for &id in ids {
        let n: i64 = stmt.query_row([id], |r| r.get(0))?;
        if n == 0 {
            missing.push(id);
        }
    }
    Ok(missing)
}

pub(crate) fn files(conn: &Connection, dir: &Path) -> rusqlite::Result<HashMap<i64, RetainedFile>> {
    let mut stmt = conn.prepare_cached("SELECT id, fingerprint FROM retained")?;
    let rows = stmt.query_map([], |r| {
        let id: i64 = r.get(0)?;
        Ok((
            id,
            RetainedFile {
                path: path_of(dir, id),
                fingerprint: r.get(1)?,
            },
        ))
    })?;
    rows.collect()
}

/// The file ids a set of locations points into, as stored beside a snapshot.
pub(crate) fn refs_text(locs: &[u64]) -> String {
    locs.iter()
        .filter_map(|&l| split(l).map(|(id, _)| id))
        .collect::<BTreeSet<_>>()
        .iter()
        .map(|id| id.to_string())
        .collect::<Vec<_>>()
        .join(",")
}

/// Unregisters the retained files no snapshot points into, but those in
/// `pinned` (inside the caller's transaction), and returns their paths, to
/// delete once the transaction is durable.
pub(crate) fn collect_garbage(
    conn: &Connection,
    dir: &Path,
    pinned: &HashSet<i64>,
) -> rusqlite::Result<Vec<PathBuf>> {
    let mut referenced = pinned.clone();
    {
        let mut stmt = conn.prepare_cached("SELECT refs FROM snapshots")?;
        let mut rows = stmt.query([])?;
        while let Some(row) = rows.next()? {
            let refs: String = row.get(0)?;
            referenced.extend(refs.split(',').filter_map(|s| s.parse::<i64>().ok()));
        }
    }
    let all: Vec<i64> = {
        let mut stmt = conn.prepare_cached("SELECT id FROM retained")?;
        let rows = stmt.query_map([], |r| r.get(0))?;
        rows.collect::<rusqlite::Result<_>>()?
    };
    let mut gone = Vec::new();
    for id in all.into_iter().filter(|id| !referenced.contains(id)) {
        conn.execute("DELETE FROM retained WHERE id = ?1", [id])?;
        gone.push(path_of(dir, id));
    }
    Ok(gone)
}

/// Deletes the copies and partial copies in the retained folder that no
/// row names: left by a crash between a commit and the deletion it allowed,
/// or mid-copy. Anything else there is left alone; a file that cannot be
/// deleted is reported, not fatal.
pub(crate) fn remove_strays(conn: &Connection, dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let known: HashSet<PathBuf> = match files(conn, dir) {
        Ok(f) => f.into_values().map(|r| r.path).collect(),
        Err(_) => return,
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let ours = matches!(
            path.extension().and_then(|e| e.to_str()),
            Some("rec" | "part")
        );
        if ours && !known.contains(&path) {
            if let Err(e) = std::fs::remove_file(&path) {
                tracing::warn!(
                    "cannot remove the stray retained file {}: {e}",
                    path.display()
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_pack_and_unpack() {
        let loc = location(3, 123_456_789);
        assert_eq!(split(loc), Some((3, 123_456_789)));
        assert_eq!(split(INLINE), None);
        assert_eq!(
            refs_text(&[location(5, 1), INLINE, location(2, 9), location(5, 7)]),
            "2,5"
        );
    }
}
