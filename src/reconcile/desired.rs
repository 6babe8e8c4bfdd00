//! A file's records as desired state: for each entity its key hash, content
//! hash and where its line is, computed in parallel while the file is
//! validated, then sorted by key for the merge. Nothing is decoded here;
//! only the rows that turn out to differ are read again and decoded.

use std::fs::File;
use std::path::Path;

use rayon::prelude::*;

use crate::model::BoundSpec;
use crate::record::scan::{scan_file, FileReport, RecordVisitor, ScanOptions, Seen};
use crate::record::RecordError;
use crate::schema::Schema;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DesiredEntry {
    pub key_hash: u64,
    pub hash: u64,
    pub offset: u64,
    pub line: u64,
}

/// A variant seen in the file: its own and its parent's key hash and its
/// axis values' hashes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VariantSeen {
    pub key: u64,
    pub parent: u64,
    pub axes: crate::model::Axes,
}

#[derive(Debug, Default)]
pub struct DesiredSet {
    /// Sorted by key hash, one entry per key.
    pub entries: Vec<DesiredEntry>,
    pub variants: Vec<VariantSeen>,
}

struct DesiredVisitor<'b> {
    bound: &'b BoundSpec,
}

#[derive(Default)]
struct DesiredOut {
    entries: Vec<DesiredEntry>,
    variants: Vec<VariantSeen>,
    scratch: Vec<u8>,
}

impl RecordVisitor for DesiredVisitor<'_> {
    type Out = DesiredOut;
    fn visit(&self, out: &mut DesiredOut, seen: Seen<'_>) {
        if seen.record != self.bound.record {
            return;
        }
        let ((key_hash, hash), variant) = self.bound.observe(seen.bytes, &mut out.scratch);
        out.entries.push(DesiredEntry {
            key_hash,
            hash,
            offset: seen.offset,
            line: seen.line,
        });
        if let Some((parent, axes)) = variant {
            out.variants.push(VariantSeen {
                key: key_hash,
                parent,
                axes,
            });
        }
    }
}

/// Validates the file and computes its desired set. Duplicate keys are
/// reported as bad records (the first occurrence stands).
pub fn scan_desired(
    path: &Path,
    bound: &BoundSpec,
    opts: &ScanOptions,
) -> anyhow::Result<(FileReport, DesiredSet)> {
    let mut set = DesiredSet::default();
    // One entry a record: reserved from the file's size, the entries are
    // not copied over and over as they grow to their million.
    if let Ok(meta) = std::fs::metadata(path) {
        let records = meta.len() / (bound.schema.record_length as u64 + 1);
        // Only a guess: without the room, the entries simply grow.
        let _ = set
            .entries
            .try_reserve(usize::try_from(records).unwrap_or(0));
    }
    let visitor = DesiredVisitor { bound };
    let mut report = scan_file(path, &bound.schema, opts, &visitor, |out: DesiredOut| {
        set.entries.extend_from_slice(&out.entries);
        set.variants.extend(out.variants);
        Ok(())
    })?;
    sort_by_key_hash(&mut set.entries);
    let duplicates = remove_duplicates(path, bound, &mut set.entries)?;
    if !duplicates.is_empty() {
        report.bad_records += duplicates.len() as u64;
        report.error_total += duplicates.len() as u64;
        report.errors.extend(duplicates);
        report.errors.sort_by_key(|e| e.line);
        report.errors.truncate(opts.max_errors.max(1));
    }
    Ok((report, set))
}

/// Sorts by key hash, and the entries of one key by line. Keys are nearly
/// all distinct, so one u64 is compared rather than a pair, and the rare
/// runs of one key are put in line order afterwards.
fn sort_by_key_hash(entries: &mut [DesiredEntry]) {
    entries.par_sort_unstable_by_key(|e| e.key_hash);
    for run in entries.chunk_by_mut(|a, b| a.key_hash == b.key_hash) {
        if run.len() > 1 {
            run.sort_unstable_by_key(|e| e.line);
        }
    }
}

fn remove_duplicates(
    path: &Path,
    bound: &BoundSpec,
    entries: &mut Vec<DesiredEntry>,
) -> anyhow::Result<Vec<RecordError>> {
    let has_twins = entries.windows(2).any(|w| w[0].key_hash == w[1].key_hash);
    if !has_twins {
        return Ok(Vec::new());
    }
    let fetch = LineFetcher::open(path, &bound.schema)?;
    let mut errors = Vec::new();
    let mut kept: Vec<DesiredEntry> = Vec::with_capacity(entries.len());
    for e in entries.drain(..) {
        if let Some(first) = kept.last().filter(|k| k.key_hash == e.key_hash) {
            let key_first = bound.entity(&fetch.line_at(first.offset)?).key;
            let key_now = bound.entity(&fetch.line_at(e.offset)?).key;
            let message = if key_first == key_now {
                format!(
                    "duplicate key {key_now:?}: the entity is already at line {}",
                    first.line
                )
            } else {
                // Two keys sharing a 64-bit hash: vanishingly rare, and never guessed at.
                format!("key {key_now:?} collides with {key_first:?} (line {}) in ponte's key hash; rename one", first.line)
            };
            errors.push(RecordError {
                line: e.line,
                record: Some(bound.spec.record.to_string()),
                field: None,
                raw: Some(key_now),
                message,
            });
            continue;
        }
        kept.push(e);
    }
    *entries = kept;
    Ok(errors)
}

/// Reads single lines back from a file by offset.
pub struct LineFetcher {
    file: File,
    max_len: usize,
}

impl LineFetcher {
    pub fn open(path: &Path, schema: &Schema) -> anyhow::Result<LineFetcher> {
        use anyhow::Context;
        let file =
            File::open(path).with_context(|| format!("{}: cannot reopen", path.display()))?;
        // Up to 4 bytes a character in UTF-8, and the line end. Blanks a
        // line may carry past its record length are not read: no field
        // lies there.
        let bytes_a_char = if schema.charset.is_single_byte() {
            1
        } else {
            4
        };
        Ok(LineFetcher {
            file,
            max_len: schema.record_length * bytes_a_char + 2,
        })
    }

    pub fn line_at(&self, offset: u64) -> anyhow::Result<Vec<u8>> {
        let mut buf = vec![0u8; self.max_len];
        let n = read_at(&self.file, &mut buf, offset)?;
        buf.truncate(n);
        if let Some(end) = memchr::memchr(b'\n', &buf) {
            buf.truncate(end);
        }
        if buf.last() == Some(&b'\r') {
            buf.pop();
        }
        // The last line may be followed by the DOS end-of-file byte.
        while buf.last() == Some(&0x1A) {
            buf.pop();
        }
        Ok(buf)
    }
}

#[cfg(unix)]
fn read_at(file: &File, buf: &mut [u8], offset: u64) -> std::io::Result<usize> {
    use std::os::unix::fs::FileExt;
    let mut done = 0;
    while done < buf.len() {
        match file.read_at(&mut buf[done..], offset + done as u64) {
            Ok(0) => break,
            Ok(n) => done += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(done)
}
