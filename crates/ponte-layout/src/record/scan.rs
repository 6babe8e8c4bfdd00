//! Validating a whole file: every record against its layout, then the rules
//! of the file as a whole (one header first, one trailer last, its count, the
//! flow name and the mode). Per-record work runs in parallel on blocks; the
//! file-level rules are settled in order as the blocks come back.

use std::io::Read;
use std::path::Path;

use anyhow::Context;
use serde::Serialize;

use super::line::{check_record, read_field, short_eq, LineView, Parsed};
use super::open::open_file;
use super::reader::{process_reader, Chunk, ReadOptions};
use super::utf8_hint::first_utf8_line;
use super::RecordError;
use crate::schema::{Date, Mode, Schema};

#[derive(Debug, Clone, Copy)]
pub struct ScanOptions {
    pub read: ReadOptions,
    /// Errors kept for the report; all are counted.
    pub max_errors: usize,
}

impl Default for ScanOptions {
    fn default() -> Self {
        ScanOptions {
            read: ReadOptions::default(),
            max_errors: 1000,
        }
    }
}

/// A valid record as a visitor sees it.
#[derive(Debug, Clone, Copy)]
pub struct Seen<'a> {
    /// 1-based line number.
    pub line: u64,
    /// Byte offset of the line's start in the file.
    pub offset: u64,
    /// Index of its layout in `Schema::records`.
    pub record: usize,
    /// The line without its ending.
    pub bytes: &'a [u8],
}

/// Work done on every valid record, in parallel, inside its block.
pub trait RecordVisitor: Sync {
    type Out: Send + Default;
    fn visit(&self, out: &mut Self::Out, seen: Seen<'_>);

    /// The record type (index in `Schema::records`) whose lines this
    /// visitor takes unchecked: they are counted and go to `visit` without
    /// validation, and the visitor answers for checking them (see
    /// `reconcile::desired`, which checks only the lines it cannot vouch for).
    fn claims(&self) -> Option<usize> {
        None
    }
}

/// A visitor that does nothing: validation only.
pub struct JustCheck;

impl RecordVisitor for JustCheck {
    type Out = ();
    fn visit(&self, _: &mut (), _: Seen<'_>) {}
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct HeaderInfo {
    pub flow: String,
    pub exported_at: Option<String>,
    #[serde(skip)]
    pub exported_at_date: Option<Date>,
    pub mode: Option<Mode>,
    pub company: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct FileReport {
    pub file: String,
    pub flow: String,
    pub lines: u64,
    /// Records per type, in schema order.
    pub counts: Vec<(String, u64)>,
    /// Records the trailer counts.
    pub counted: u64,
    pub header: Option<HeaderInfo>,
    pub trailer_count: Option<u64>,
    /// Detail records with at least one error.
    pub bad_records: u64,
    /// File-level problems (header, trailer, count): always fatal.
    pub structural_errors: u64,
    pub error_total: u64,
    /// The first `max_errors` errors, in line order.
    pub errors: Vec<RecordError>,
    pub max_bad_records: u64,
}

impl FileReport {
    pub fn is_clean(&self) -> bool {
        self.error_total == 0
    }

    /// Rejected whole: a broken structure, or more bad records than the
    /// schema tolerates (so that Magento never gets half an update).
    pub fn is_rejected(&self) -> bool {
        self.structural_errors > 0 || self.bad_records > self.max_bad_records
    }

    pub fn mode(&self) -> Option<Mode> {
        self.header.as_ref().and_then(|h| h.mode)
    }
}

#[derive(Default)]
struct ChunkResult<O> {
    counts: Vec<u64>,
    bad_records: u64,
    /// Header or trailer lines with field errors.
    structural: u64,
    error_total: u64,
    errors: Vec<RecordError>,
    /// Header and trailer occurrences: (line, is_header, trailer count).
    landmarks: Vec<Landmark>,
    header: Option<HeaderInfo>,
    last_line: u64,
    /// The chunk's first line that looks like UTF-8 in a single-byte file.
    utf8: Option<RecordError>,
    out: O,
}

struct Landmark {
    line: u64,
    is_header: bool,
    trailer_count: Option<u64>,
}

/// Validates `path` against `schema`, running `visitor` on every valid
/// record; `on_out` receives each block's visitor output in file order.
pub fn scan_file<V: RecordVisitor>(
    path: &Path,
    schema: &Schema,
    opts: &ScanOptions,
    visitor: &V,
    on_out: impl FnMut(V::Out) -> anyhow::Result<()>,
) -> anyhow::Result<FileReport> {
    let file = open_file(path)?;
    let name = path.display().to_string();
    scan_reader(file, &name, schema, opts, visitor, on_out).with_context(|| name.clone())
}

/// `scan_file` on any reader; `name` stands for the file in the report.
pub fn scan_reader<R: Read + Send, V: RecordVisitor>(
    reader: R,
    name: &str,
    schema: &Schema,
    opts: &ScanOptions,
    visitor: &V,
    mut on_out: impl FnMut(V::Out) -> anyhow::Result<()>,
) -> anyhow::Result<FileReport> {
    let mut state = FileState::new(schema, name, opts.max_errors);
    let lines = process_reader(
        reader,
        &opts.read,
        |chunk| scan_chunk(schema, chunk, opts.max_errors, visitor),
        |result: ChunkResult<V::Out>| {
            state.absorb(schema, &result);
            on_out(result.out)
        },
    )?;
    Ok(state.finish(schema, lines))
}

fn scan_chunk<'c, V: RecordVisitor>(
    schema: &Schema,
    chunk: &'c Chunk,
    max_errors: usize,
    visitor: &V,
) -> ChunkResult<V::Out> {
    let mut r = ChunkResult::<V::Out> {
        counts: vec![0; schema.records.len()],
        ..Default::default()
    };
    // Every line, the ones a visitor claims included: the file's verdict
    // must not depend on who checks its lines.
    r.utf8 = first_utf8_line(schema, chunk);
    let mut errors = Vec::new();
    let claimed = visitor.claims();
    let seen = |line: u64, bytes: &'c [u8], record: usize| Seen {
        line,
        // The line is a sub-slice of the chunk, so its offset is their distance.
        offset: chunk.offset + (bytes.as_ptr() as usize - chunk.data.as_ptr() as usize) as u64,
        record,
        bytes,
    };
    for (line_no, bytes) in chunk.lines() {
        r.last_line = line_no;
        if let Some(idx) = claimed.filter(|&idx| is_of_record(schema, idx, bytes)) {
            r.counts[idx] += 1;
            visitor.visit(&mut r.out, seen(line_no, bytes, idx));
            continue;
        }
        errors.clear();
        let idx = check_record(schema, line_no, bytes, &mut errors);
        let had_errors = !errors.is_empty();
        if had_errors {
            r.error_total += errors.len() as u64;
            let room = max_errors.saturating_sub(r.errors.len());
            r.errors.extend(errors.drain(..).take(room));
        }
        let Some(idx) = idx else {
            r.bad_records += 1;
            continue;
        };
        r.counts[idx] += 1;
        let is_header = idx == schema.header.record;
        let is_trailer = idx == schema.trailer.record;
        if is_header || is_trailer {
            let view = LineView::new(bytes, schema.charset);
            let landmark = Landmark {
                line: line_no,
                is_header,
                trailer_count: is_trailer.then(|| trailer_count(schema, &view)).flatten(),
            };
            if is_header && r.header.is_none() {
                r.header = Some(header_info(schema, &view));
            }
            r.landmarks.push(landmark);
        }
        if !had_errors {
            visitor.visit(&mut r.out, seen(line_no, bytes, idx));
        } else if is_header || is_trailer {
            r.structural += 1;
        } else {
            r.bad_records += 1;
        }
    }
    r
}

/// Whether the line's type literal is that of record `idx` (in a UTF-8
/// line, only when what comes before it is ASCII: positions are bytes).
fn is_of_record(schema: &Schema, idx: usize, bytes: &[u8]) -> bool {
    let tag_end = schema.tag_start + schema.tag_len;
    if !schema.charset.is_single_byte() && !bytes.get(..tag_end).is_some_and(<[u8]>::is_ascii) {
        return false;
    }
    let tag = bytes.get(schema.tag_start..tag_end);
    match (tag, schema.records.get(idx)) {
        (Some(tag), Some(record)) => short_eq(tag, &record.tag_bytes),
        _ => false,
    }
}

fn trailer_count(schema: &Schema, view: &LineView) -> Option<u64> {
    let layout = &schema.records[schema.trailer.record];
    let field = &layout.fields[schema.trailer.count_field];
    match read_field(schema.charset, field, view.slice(field.start, field.len)) {
        Ok(Parsed::Integer(n)) => u64::try_from(n).ok(),
        _ => None,
    }
}

fn header_info(schema: &Schema, view: &LineView) -> HeaderInfo {
    let layout = &schema.records[schema.header.record];
    let text_of = |idx: usize| {
        let f = &layout.fields[idx];
        match read_field(schema.charset, f, view.slice(f.start, f.len)) {
            Ok(Parsed::Text(b)) => schema.charset.decode(b).into_owned(),
            _ => String::new(),
        }
    };
    let ts_field = &layout.fields[schema.header.timestamp_field];
    let exported_at_date = match read_field(
        schema.charset,
        ts_field,
        view.slice(ts_field.start, ts_field.len),
    ) {
        Ok(Parsed::Date(d)) => Some(d),
        _ => None,
    };
    let mode_text = text_of(schema.header.mode_field);
    let mode = if mode_text == schema.header.complete_code {
        Some(Mode::Complete)
    } else if mode_text == schema.header.changes_code {
        Some(Mode::Changes)
    } else {
        None
    };
    let company = layout
        .field_index("company")
        .map(&text_of)
        .unwrap_or_default();
    HeaderInfo {
        flow: text_of(schema.header.flow_field),
        exported_at: exported_at_date.map(|d| d.to_string()),
        exported_at_date,
        mode,
        company,
    }
}

/// The file-level rules, settled block by block in order.
struct FileState {
    report: FileReport,
    max_errors: usize,
    header_line: Option<u64>,
    trailer_line: Option<u64>,
    last_line: u64,
    file_errors: Vec<RecordError>,
    /// The file's first line that looks like UTF-8, if the schema's
    /// charset is single-byte: one error rejects the file.
    utf8: Option<RecordError>,
}

impl FileState {
    fn new(schema: &Schema, name: &str, max_errors: usize) -> FileState {
        FileState {
            report: FileReport {
                file: name.to_string(),
                flow: schema.flow.clone(),
                lines: 0,
                counts: schema.records.iter().map(|r| (r.tag.clone(), 0)).collect(),
                counted: 0,
                header: None,
                trailer_count: None,
                bad_records: 0,
                structural_errors: 0,
                error_total: 0,
                errors: Vec::new(),
                max_bad_records: schema.limits.max_bad_records,
            },
            max_errors,
            header_line: None,
            trailer_line: None,
            last_line: 0,
            file_errors: Vec::new(),
            utf8: None,
        }
    }

    fn structural(&mut self, error: RecordError) {
        self.report.structural_errors += 1;
        self.report.error_total += 1;
        self.file_errors.push(error);
    }

    fn absorb<O>(&mut self, schema: &Schema, r: &ChunkResult<O>) {
        for (i, n) in r.counts.iter().enumerate() {
            self.report.counts[i].1 += n;
        }
        self.report.bad_records += r.bad_records;
        self.report.structural_errors += r.structural;
        self.report.error_total += r.error_total;
        let room = self.max_errors.saturating_sub(self.report.errors.len());
        self.report
            .errors
            .extend(r.errors.iter().take(room).cloned());
        let header_tag = &schema.records[schema.header.record].tag;
        let trailer_tag = &schema.records[schema.trailer.record].tag;
        for m in &r.landmarks {
            if m.is_header {
                if self.header_line.is_some() || m.line != 1 {
                    self.structural(RecordError::file_level(
                        m.line,
                        format!(
                            "header {header_tag} found at line {}: the header must be line 1, once",
                            m.line
                        ),
                    ));
                } else {
                    self.header_line = Some(m.line);
                }
            } else if let Some(previous) = self.trailer_line {
                self.structural(RecordError::file_level(
                    m.line,
                    format!("a second trailer {trailer_tag} (the first is at line {previous})"),
                ));
            } else {
                self.trailer_line = Some(m.line);
                self.report.trailer_count = m.trailer_count;
            }
        }
        if self.report.header.is_none() {
            self.report.header = r.header.clone();
        }
        if self.utf8.is_none() {
            self.utf8 = r.utf8.clone();
        }
        if r.last_line > 0 {
            self.last_line = r.last_line;
        }
    }

    fn finish(mut self, schema: &Schema, lines: u64) -> FileReport {
        self.report.lines = lines;
        if let Some(e) = self.utf8.take() {
            self.structural(e);
        }
        let header_tag = schema.records[schema.header.record].tag.clone();
        let trailer_tag = schema.records[schema.trailer.record].tag.clone();
        if lines == 0 {
            self.structural(RecordError::file_level(0, "the file is empty"));
        } else if self.header_line.is_none() {
            self.structural(RecordError::file_level(
                1,
                format!("the file does not start with a {header_tag} header"),
            ));
        }
        match self.trailer_line {
            None if lines > 0 => self.structural(RecordError::file_level(
                self.last_line,
                format!("no {trailer_tag} trailer: the file is truncated or still being written"),
            )),
            Some(t) if t != self.last_line => self.structural(RecordError::file_level(
                t,
                format!(
                    "the trailer {trailer_tag} is at line {t} but the file goes on to line {}",
                    self.last_line
                ),
            )),
            _ => {}
        }
        let counted: u64 = schema
            .trailer
            .counts
            .iter()
            .map(|&i| self.report.counts[i].1)
            .sum();
        self.report.counted = counted;
        if let (Some(t), Some(declared)) = (self.trailer_line, self.report.trailer_count) {
            // Bad records still occupy a line the ERP counted.
            let present = counted + self.unknown_records();
            if declared != present {
                let counted_tags: Vec<&str> = schema
                    .trailer
                    .counts
                    .iter()
                    .map(|&i| schema.records[i].tag.as_str())
                    .collect();
                self.structural(RecordError::file_level(
                    t,
                    format!(
                        "the trailer counts {declared} {} records, the file has {present}: truncated or corrupt",
                        counted_tags.join("+")
                    ),
                ));
            }
        }
        if let Some(h) = self.report.header.clone() {
            let line = self.header_line.unwrap_or(1);
            if !h.flow.eq_ignore_ascii_case(&schema.flow) {
                self.structural(RecordError::file_level(
                    line,
                    format!(
                        "the header names flow {:?}, this is a {} file",
                        h.flow, schema.flow
                    ),
                ));
            }
        }
        self.report.errors.append(&mut self.file_errors);
        self.report.errors.sort_by_key(|e| e.line);
        self.report.errors.truncate(self.max_errors);
        self.report
    }

    /// Lines whose record type was unknown: they were meant to be records.
    fn unknown_records(&self) -> u64 {
        let known: u64 = self.report.counts.iter().map(|(_, n)| n).sum();
        self.report.lines.saturating_sub(known)
    }
}
