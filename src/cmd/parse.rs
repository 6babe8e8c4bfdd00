//! `ponte parse FILE --json | --csv`: the decoded records of a file.
//!
//! `--json` prints one object per valid record on stdout: `"record"` (the
//! record type) then the schema's keys, typed: text trimmed, integers as
//! numbers, decimals as strings with the field's scale (`"12.50"`), dates as
//! `"YYYY-MM-DD"` (timestamps `"YYYY-MM-DDThh:mm:ss"`), none as null, flags as
//! booleans. `--csv` prints the records of one type (`--record TYPE`, by
//! default the first record type the trailer counts) with a header row, for
//! spreadsheets: `--delimiter ';' --bom` suits Italian Excel. Errors go to
//! stderr as in `check`; the exit status is 1 if there were any.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;

use super::{schema_for, warn_registry_problems, Exit};
use ponte_layout::record::line::line_values;
use ponte_layout::record::scan::{scan_file, RecordVisitor, ScanOptions, Seen};
use ponte_layout::schema::{Registry, Schema};

#[derive(clap::Args)]
#[command(group = clap::ArgGroup::new("format").required(true).args(["json", "csv"]))]
pub struct Args {
    file: PathBuf,
    /// One JSON object per record.
    #[arg(long)]
    json: bool,
    /// The records of one type as CSV with a header row.
    #[arg(long)]
    csv: bool,
    // The --csv options conflict with --json rather than require --csv: clap lets
    // `requires` be met by any member of the format group (clap issue 4707).
    /// With --csv: the record type (default: the file's detail records).
    #[arg(long, conflicts_with = "json")]
    record: Option<String>,
    /// With --csv: the field delimiter, one ASCII character.
    #[arg(long, default_value = ",", conflicts_with = "json")]
    delimiter: String,
    /// With --csv: start with a UTF-8 byte order mark, so Excel reads accents right.
    #[arg(long, conflicts_with = "json")]
    bom: bool,
    /// Use this flow's schema whatever the file name.
    #[arg(long)]
    schema: Option<String>,
    /// Errors reported; all are counted.
    #[arg(long, default_value_t = 100)]
    max_errors: usize,
}

struct JsonLines<'s> {
    schema: &'s Schema,
}

impl RecordVisitor for JsonLines<'_> {
    type Out = Vec<u8>;
    fn visit(&self, out: &mut Vec<u8>, seen: Seen<'_>) {
        let layout = &self.schema.records[seen.record];
        let mut object = serde_json::Map::new();
        object.insert("record".into(), layout.tag.clone().into());
        for (key, value) in line_values(self.schema, layout, seen.bytes) {
            object.insert(key, value.to_json());
        }
        // Writing a Map of Strings into a Vec cannot fail.
        let _ = serde_json::to_writer(&mut *out, &object);
        out.push(b'\n');
    }
}

struct CsvRows<'s> {
    schema: &'s Schema,
    record: usize,
    delimiter: u8,
}

impl RecordVisitor for CsvRows<'_> {
    type Out = Vec<u8>;
    fn visit(&self, out: &mut Vec<u8>, seen: Seen<'_>) {
        if seen.record != self.record {
            return;
        }
        let layout = &self.schema.records[seen.record];
        let cells: Vec<String> = line_values(self.schema, layout, seen.bytes)
            .into_iter()
            .map(|(_, v)| v.to_cell())
            .collect();
        let mut w = csv::WriterBuilder::new()
            .delimiter(self.delimiter)
            .has_headers(false)
            .from_writer(&mut *out);
        let _ = w.write_record(&cells);
        let _ = w.flush();
    }
}

pub fn run(registry: &Registry, args: Args) -> anyhow::Result<Exit> {
    warn_registry_problems(registry);
    let shown = args.file.display().to_string();
    let schema = match schema_for(registry, &args.file, args.schema.as_deref()) {
        Ok(s) => s,
        Err(e) => anyhow::bail!("{shown}: {e}"),
    };
    let opts = ScanOptions {
        max_errors: args.max_errors,
        ..ScanOptions::default()
    };
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let emit = |out: &mut std::io::BufWriter<std::io::StdoutLock>, bytes: Vec<u8>| {
        out.write_all(&bytes).context("cannot write to stdout")
    };
    let report = if args.json {
        scan_file(
            &args.file,
            &schema,
            &opts,
            &JsonLines { schema: &schema },
            |b| emit(&mut out, b),
        )?
    } else {
        let record = match &args.record {
            Some(tag) => schema
                .records
                .iter()
                .position(|r| r.tag.eq_ignore_ascii_case(tag))
                .ok_or_else(|| {
                    let known: Vec<&str> = schema.records.iter().map(|r| r.tag.as_str()).collect();
                    anyhow::anyhow!(
                        "{shown}: no record type {tag:?} in {} (known: {})",
                        schema.flow,
                        known.join(", ")
                    )
                })?,
            None => schema.trailer.counts[0],
        };
        let delimiter = match args.delimiter.as_bytes() {
            [d] if d.is_ascii() => *d,
            _ => anyhow::bail!(
                "--delimiter must be one ASCII character, got {:?}",
                args.delimiter
            ),
        };
        if args.bom {
            out.write_all("\u{FEFF}".as_bytes())?;
        }
        let mut header = csv::WriterBuilder::new()
            .delimiter(delimiter)
            .from_writer(Vec::new());
        header.write_record(schema.records[record].fields.iter().map(|f| f.key.as_str()))?;
        emit(&mut out, header.into_inner().context("csv header")?)?;
        let visitor = CsvRows {
            schema: &schema,
            record,
            delimiter,
        };
        scan_file(&args.file, &schema, &opts, &visitor, |b| emit(&mut out, b))?
    };
    out.flush()?;
    for e in &report.errors {
        eprintln!("{}", e.display_in(&shown));
    }
    Ok(if report.is_clean() {
        Exit::Ok
    } else {
        Exit::Failed
    })
}
