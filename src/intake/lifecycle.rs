//! A file once ready: claimed by an atomic rename into in-progress (no
//! second worker or scan sees it) and known by the hash of its content. A
//! crash leaves it in in-progress, where the next start resumes it; what
//! happens to it next is `flows::file`'s.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use xxhash_rust::xxh3::Xxh3;

use super::folders::unique_in;
use super::readiness::marker_path;
use ponte_layout::record::line::{read_field, LineView, Parsed};
use ponte_layout::record::open::open_file;
use ponte_layout::record::stop::{check, stop_flag};
use ponte_layout::schema::{Registry, Schema};

/// A file in in-progress, with its identity.
#[derive(Debug, Clone)]
pub(crate) struct Claimed {
    pub name: String,
    pub path: PathBuf,
    pub schema: Arc<Schema>,
    pub content_hash: String,
}

/// Moves a ready file out of the share into in-progress.
pub(crate) fn claim(
    path: &Path,
    name: &str,
    schema: Arc<Schema>,
    in_progress: &Path,
) -> anyhow::Result<Claimed> {
    // What the scan saw may have been swapped since for a link, a FIFO or a
    // device: refused here, it stays where it is, where the scan leaves it.
    let mut source = open_file(path)?;
    let dest = unique_in(in_progress, name);
    // Same filesystem as the share: a rename is atomic, so the ERP and a
    // second scan see the file either there or gone, never half. A file
    // given by hand may live elsewhere: then it is copied, synced, removed.
    if let Err(e) = std::fs::rename(path, &dest) {
        if e.kind() != std::io::ErrorKind::CrossesDevices {
            return Err(e).with_context(|| {
                format!("cannot claim {} into {}", path.display(), dest.display())
            });
        }
        copy_into(&mut source, path, &dest)?;
        std::fs::remove_file(path)
            .with_context(|| format!("cannot remove {} once copied", path.display()))?;
    }
    let _ = std::fs::remove_file(marker_path(path));
    claimed_at(dest, name, schema)
}

/// Copies a file given by hand into in-progress, leaving the original
/// where its owner keeps it: the archive then holds ponte's copy.
pub(crate) fn claim_copy(
    path: &Path,
    name: &str,
    schema: Arc<Schema>,
    in_progress: &Path,
) -> anyhow::Result<Claimed> {
    let mut source = open_file(path)?;
    let dest = unique_in(in_progress, name);
    copy_into(&mut source, path, &dest)?;
    claimed_at(dest, name, schema)
}

fn copy_into(source: &mut std::fs::File, path: &Path, dest: &Path) -> anyhow::Result<()> {
    fn copy(source: &mut std::fs::File, dest: &Path) -> std::io::Result<()> {
        let mut to = std::fs::File::create_new(dest)?;
        std::io::copy(source, &mut to)?;
        to.sync_all()
    }
    copy(source, dest)
        .with_context(|| format!("cannot copy {} into {}", path.display(), dest.display()))
}

fn claimed_at(dest: PathBuf, name: &str, schema: Arc<Schema>) -> anyhow::Result<Claimed> {
    // Hashed once moved, so that a read SIGTERM stops leaves the file in
    // progress; one that cannot be read there is left alone by the service
    // (see `leftovers_except`), not taken for a failing share.
    let content_hash = hash_file(&dest)?;
    Ok(Claimed {
        name: name.to_string(),
        path: dest,
        schema,
        content_hash,
    })
}

/// Files a crash left in in-progress, to be resumed first (one that
/// cannot be read is said and left there).
#[cfg(test)]
pub(crate) fn leftovers(in_progress: &Path, registry: &Registry) -> anyhow::Result<Vec<Claimed>> {
    let found = leftovers_except(in_progress, registry, |_| false)?;
    for (path, e) in &found.unreadable {
        tracing::error!(path = %path.display(), "{e:#}; left in progress");
    }
    Ok(found.files)
}

/// What is in in-progress: the files to resume, and those that cannot be
/// read (one file's problem, not the share's).
pub(crate) struct Leftovers {
    pub files: Vec<Claimed>,
    pub unreadable: Vec<(PathBuf, anyhow::Error)>,
}

/// `leftovers`, without the files `skip` names (those the service leaves
/// alone: they are not even read again).
pub(crate) fn leftovers_except(
    in_progress: &Path,
    registry: &Registry,
    skip: impl Fn(&Path) -> bool,
) -> anyhow::Result<Leftovers> {
    let mut out = Vec::new();
    let mut unreadable = Vec::new();
    let listing = || format!("cannot list {}", in_progress.display());
    for entry in std::fs::read_dir(in_progress).with_context(listing)? {
        let entry = entry.with_context(listing)?;
        if !entry.file_type().with_context(listing)?.is_file() || skip(&entry.path()) {
            continue;
        }
        let name = entry.file_name().to_string_lossy().into_owned();
        let Ok(schema) = registry.route(Path::new(original_name(&name))) else {
            tracing::warn!(file = %name, "left in progress but no schema claims it; left alone");
            continue;
        };
        let content_hash = match hash_file(&entry.path()) {
            Ok(h) => h,
            Err(e) => {
                unreadable.push((entry.path(), e));
                continue;
            }
        };
        out.push(Claimed {
            content_hash,
            name,
            path: entry.path(),
            schema,
        });
    }
    Ok(Leftovers {
        files: out,
        unreadable,
    })
}

/// The name a file had in the share: `unique_in` adds `.1`, `.2`... when
/// a file of the same name was already in progress.
fn original_name(name: &str) -> &str {
    match name.rsplit_once('.') {
        Some((stem, n)) if !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) => stem,
        _ => name,
    }
}

/// A 128-bit content hash, hex: the file's identity whatever its name.
pub(crate) fn hash_file(path: &Path) -> anyhow::Result<String> {
    let mut f = open_file(path)?;
    let mut h = Xxh3::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        check(stop_flag())?;
        let n = f
            .read(&mut buf)
            .with_context(|| format!("cannot read {}", path.display()))?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(format!("{:032x}", h.digest128()))
}

/// The header timestamp, for ordering a backlog; `None` when unreadable.
pub(crate) fn header_time(path: &Path, schema: &Schema) -> Option<String> {
    let mut f = open_file(path).ok()?;
    let mut head = vec![0u8; schema.record_length * 4 + 2];
    let n = f.read(&mut head).ok()?;
    head.truncate(n);
    let end = memchr::memchr(b'\n', &head).unwrap_or(head.len());
    let line = head[..end].strip_suffix(b"\r").unwrap_or(&head[..end]);
    let layout = &schema.records[schema.header.record];
    let field = &layout.fields[schema.header.timestamp_field];
    let view = LineView::new(line, schema.charset);
    match read_field(schema.charset, field, view.slice(field.start, field.len)) {
        Ok(Parsed::Date(d)) => Some(d.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_renamed_claim_is_still_routed_by_its_share_name() {
        assert_eq!(
            original_name("ART20261128020000.txt.1"),
            "ART20261128020000.txt"
        );
        assert_eq!(
            original_name("ART20261128020000.txt.12"),
            "ART20261128020000.txt"
        );
        assert_eq!(
            original_name("ART20261128020000.txt"),
            "ART20261128020000.txt"
        );
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("GIA20261128083000.txt.1"), b"x").unwrap();
        let found = leftovers(dir.path(), &Registry::built_in()).unwrap();
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].schema.flow, "GIACENZE");
    }
}
