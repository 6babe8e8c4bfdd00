//! A file's records as desired state: for each entity its key hash, content
//! hash and where its line is, computed in parallel while the file is
//! validated, then sorted by key for the merge. Nothing is decoded here;
//! only the rows that turn out to differ are read again and decoded.

use std::fs::File;
use std::path::Path;

use rayon::prelude::*;

use crate::model::{BoundSpec, UNVOUCHED};
use crate::state::Snapshot;
use ponte_layout::record::line::check_record;
use ponte_layout::record::scan::{scan_file, FileReport, RecordVisitor, ScanOptions, Seen};
use ponte_layout::record::RecordError;
use ponte_layout::schema::Schema;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DesiredEntry {
    pub key_hash: u64,
    pub hash: u64,
    pub offset: u64,
    pub line: u64,
}

/// A variant seen in the file: its line, its own and its parent's key hash
/// and its axis values' hashes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VariantSeen {
    pub line: u64,
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
    /// Take the entities' lines unchecked (see `scan_unchecked`).
    unchecked: bool,
    /// About as many records as a block holds: each block's lists are
    /// sized once rather than grown a dozen times.
    per_block: usize,
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
        if out.entries.capacity() == 0 {
            out.entries.reserve(self.per_block);
            out.variants.reserve(self.per_block);
        }
        let ((key_hash, hash), variant) = if self.unchecked {
            self.bound.glance(seen.bytes, &mut out.scratch)
        } else {
            self.bound.observe(seen.bytes, &mut out.scratch)
        };
        out.entries.push(DesiredEntry {
            key_hash,
            hash,
            offset: seen.offset,
            line: seen.line,
        });
        if let Some((parent, axes)) = variant {
            out.variants.push(VariantSeen {
                line: seen.line,
                key: key_hash,
                parent,
                axes,
            });
        }
    }

    fn claims(&self) -> Option<usize> {
        self.unchecked.then_some(self.bound.record)
    }
}

/// Validates the file and computes its desired set. Duplicate keys are
/// reported as bad records (the first occurrence stands).
pub fn scan_desired(
    path: &Path,
    bound: &BoundSpec,
    opts: &ScanOptions,
) -> anyhow::Result<(FileReport, DesiredSet)> {
    let (mut report, mut set) = scan(path, bound, opts, false)?;
    remove_duplicates(path, bound, &mut set.entries, &mut report, opts)?;
    Ok((report, set))
}

/// A file scanned with its entities' lines taken unchecked: `check` ends
/// the work.
pub struct Unchecked {
    report: FileReport,
    set: DesiredSet,
}

/// The first half of `scan_desired` for a file most of whose entities a
/// target already holds unchanged: their lines are not validated field by
/// field, only glanced at (see `BoundSpec::glance`), so that `check` can
/// vouch for those whose content is one the target acknowledged.
pub fn scan_unchecked(
    path: &Path,
    bound: &BoundSpec,
    opts: &ScanOptions,
) -> anyhow::Result<Unchecked> {
    let (report, set) = scan(path, bound, opts, true)?;
    Ok(Unchecked { report, set })
}

/// Past this share of lines to check one by one, reading the file again
/// whole is the quicker way.
const CHECK_ONE_BY_ONE: usize = 8;

impl Unchecked {
    /// The second half: an entity whose content hash is the one `known`
    /// holds for its key was a valid record's (and the rest of its line
    /// passed `glance`'s checks); every other line is read again and
    /// validated whole, and a bad one leaves the set as a bad record.
    /// The outcome is `scan_desired`'s.
    pub fn check(
        self,
        path: &Path,
        bound: &BoundSpec,
        known: &Snapshot,
        opts: &ScanOptions,
    ) -> anyhow::Result<(FileReport, DesiredSet)> {
        let Unchecked {
            mut report,
            mut set,
        } = self;
        let doubtful = doubtful(&set.entries, known);
        if doubtful.len() > set.entries.len() / CHECK_ONE_BY_ONE {
            return scan_desired(path, bound, opts);
        }
        let fetch = LineFetcher::open(path, &bound.schema)?;
        let checked: Vec<(usize, Result<u64, Vec<RecordError>>)> = doubtful
            .into_par_iter()
            .map(|i| {
                let e = set.entries[i];
                fetch
                    .line_at(e.offset)
                    .map(|line| (i, check_entity(bound, e.line, &line)))
            })
            .collect::<anyhow::Result<_>>()?;
        let mut bad = std::collections::HashSet::new();
        let mut errors = Vec::new();
        for (i, outcome) in checked {
            match outcome {
                Ok(hash) => set.entries[i].hash = hash,
                Err(found) => {
                    report.bad_records += 1;
                    report.error_total += found.len() as u64;
                    errors.extend(found);
                    bad.insert(set.entries[i].line);
                }
            }
        }
        if !bad.is_empty() {
            set.entries.retain(|e| !bad.contains(&e.line));
            set.variants.retain(|v| !bad.contains(&v.line));
            // As the whole scan lists them: by line, a record's errors
            // before the file's own at the same line; no more than kept.
            report.errors.extend(errors);
            report
                .errors
                .sort_by_key(|e| (e.line, e.record.is_none() && e.field.is_none()));
            report.errors.truncate(opts.max_errors);
        }
        remove_duplicates(path, bound, &mut set.entries, &mut report, opts)?;
        Ok((report, set))
    }
}

/// Indices of the entries whose content `known` does not vouch for.
fn doubtful(entries: &[DesiredEntry], known: &Snapshot) -> Vec<usize> {
    let mut known = known.entries.iter().peekable();
    let mut out = Vec::new();
    for (i, e) in entries.iter().enumerate() {
        while known.next_if(|k| k.key_hash < e.key_hash).is_some() {}
        let vouched = e.hash != UNVOUCHED
            && known
                .peek()
                .is_some_and(|k| k.key_hash == e.key_hash && k.content() == e.hash);
        if !vouched {
            out.push(i);
        }
    }
    out
}

/// A line validated whole: its content hash, or what is wrong with it.
fn check_entity(bound: &BoundSpec, line_no: u64, line: &[u8]) -> Result<u64, Vec<RecordError>> {
    let schema = &bound.schema;
    let mut errors = Vec::new();
    let record = check_record(schema, line_no, line, &mut errors);
    if !errors.is_empty() {
        return Err(errors);
    }
    if record != Some(bound.record) {
        return Err(vec![RecordError::file_level(
            line_no,
            format!("not a {} record", bound.spec.record),
        )]);
    }
    Ok(bound.observe(line, &mut Vec::new()).0 .1)
}

fn scan(
    path: &Path,
    bound: &BoundSpec,
    opts: &ScanOptions,
    unchecked: bool,
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
    let visitor = DesiredVisitor {
        bound,
        unchecked,
        per_block: opts.read.block_size / (bound.schema.record_length + 1) + 1,
    };
    let report = scan_file(path, &bound.schema, opts, &visitor, |out: DesiredOut| {
        set.entries.extend_from_slice(&out.entries);
        set.variants.extend(out.variants);
        Ok(())
    })?;
    sort_by_key_hash(&mut set.entries);
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

/// Keeps the first entry of each key; the others are bad records.
fn remove_duplicates(
    path: &Path,
    bound: &BoundSpec,
    entries: &mut Vec<DesiredEntry>,
    report: &mut FileReport,
    opts: &ScanOptions,
) -> anyhow::Result<()> {
    let duplicates = duplicates(path, bound, entries)?;
    if !duplicates.is_empty() {
        report.bad_records += duplicates.len() as u64;
        report.error_total += duplicates.len() as u64;
        report.errors.extend(duplicates);
        report.errors.sort_by_key(|e| e.line);
        report.errors.truncate(opts.max_errors.max(1));
    }
    Ok(())
}

fn duplicates(
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
    /// What one read takes: a record's line, as most lines are.
    max_len: usize,
    /// The file's length when opened: where its last line ends.
    len: u64,
}

impl LineFetcher {
    pub fn open(path: &Path, schema: &Schema) -> anyhow::Result<LineFetcher> {
        use anyhow::Context;
        let file = ponte_layout::record::open::open_file(path)
            .with_context(|| format!("{}: cannot reopen", path.display()))?;
        // Up to 4 bytes a character in UTF-8, and the line end.
        let bytes_a_char = if schema.charset.is_single_byte() {
            1
        } else {
            4
        };
        let len = file
            .metadata()
            .with_context(|| format!("{}: cannot reopen", path.display()))?
            .len();
        Ok(LineFetcher {
            file,
            max_len: schema.record_length * bytes_a_char + 2,
            len,
        })
    }

    /// The whole line at `offset` as the reader split it, however long:
    /// without its line end, and without a DOS end-of-file byte only at
    /// the end of the file.
    pub(crate) fn line_at(&self, offset: u64) -> anyhow::Result<Vec<u8>> {
        let mut buf = Vec::new();
        let mut at = offset;
        // Whether the line ended with a line end, and whether it ends the file.
        let (ended, last) = loop {
            let from = buf.len();
            buf.resize(from + self.max_len, 0);
            let n = read_at(&self.file, &mut buf[from..], at)?;
            buf.truncate(from + n);
            if let Some(end) = memchr::memchr(b'\n', &buf[from..]) {
                buf.truncate(from + end);
                break (true, at + end as u64 + 1 >= self.len);
            }
            if n == 0 {
                break (false, true);
            }
            at += n as u64;
        };
        if last {
            // As the reader ends a file: DOS end-of-file bytes before the
            // last line end go, and the line end with them.
            let end = buf.len() - usize::from(ended && buf.last() == Some(&b'\r'));
            let kept = buf[..end]
                .iter()
                .rposition(|&b| b != 0x1A)
                .map_or(0, |i| i + 1);
            if kept < end {
                buf.truncate(kept);
            }
        }
        if buf.last() == Some(&b'\r') {
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

#[cfg(test)]
mod tests {
    use super::*;
    use ponte_layout::record::reader::{process_reader, Chunk, ReadOptions};
    use ponte_layout::schema::Registry;

    /// Each line read back from its offset is the line the reader split,
    /// however the file ends.
    #[test]
    fn a_line_read_back_is_the_line_the_reader_split() {
        let schema = Registry::built_in().by_flow("ARTICOLI").unwrap();
        let endings: [&[u8]; 8] = [
            b"",
            b"\n",
            b"\r\n",
            b"\x1a",
            b"\x1a\n",
            b"\x1a\r\n",
            b"\r\r\n",
            b"\r\x1a\r\n",
        ];
        for ending in endings {
            let mut data = b"AR one\r\nAR two\nAR three".to_vec();
            data.extend_from_slice(ending);
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("f.txt");
            std::fs::write(&path, &data).unwrap();
            let mut split = Vec::new();
            process_reader(
                &data[..],
                &ReadOptions::default(),
                |c: &Chunk| {
                    c.lines()
                        .map(|(_, l)| {
                            let at = l.as_ptr() as usize - c.data.as_ptr() as usize;
                            (c.offset + at as u64, l.to_vec())
                        })
                        .collect::<Vec<_>>()
                },
                |lines| {
                    split.extend(lines);
                    Ok(())
                },
            )
            .unwrap();
            let fetch = LineFetcher::open(&path, &schema).unwrap();
            assert_eq!(split.len(), 3, "{ending:?}");
            for (offset, line) in split {
                assert_eq!(fetch.line_at(offset).unwrap(), line, "{ending:?}");
            }
        }
    }
}
