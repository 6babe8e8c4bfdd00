//! `ponte check FILE...`: validate interchange files against their schemas.
//!
//! Every error goes to stderr on its own line, `FILE:LINE: ...`, up to
//! `--max-errors` per file; a summary line per file goes to stdout. Exit 0
//! when every file is valid, 1 when any is not, 2 on usage or schema errors.
//! Nothing is changed.

use std::path::PathBuf;

use super::{schema_for, warn_registry_problems, Exit};
use ponte_layout::record::scan::{scan_file, FileReport, JustCheck, ScanOptions};
use ponte_layout::schema::Registry;

#[derive(clap::Args)]
pub struct Args {
    /// Files to check.
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// Use this flow's schema whatever the file names (ARTICOLI, GIACENZE, ...).
    #[arg(long)]
    schema: Option<String>,
    /// Errors reported per file; all are counted.
    #[arg(long, default_value_t = 100)]
    max_errors: usize,
}

pub fn run(registry: &Registry, args: Args) -> anyhow::Result<Exit> {
    warn_registry_problems(registry);
    let mut worst = Exit::Ok;
    let opts = ScanOptions {
        max_errors: args.max_errors,
        ..ScanOptions::default()
    };
    for path in &args.files {
        let shown = path.display().to_string();
        let schema = match schema_for(registry, path, args.schema.as_deref()) {
            Ok(s) => s,
            Err(e) => {
                eprintln!("{shown}: {e}");
                worst = Exit::Usage;
                continue;
            }
        };
        let report = match scan_file(path, &schema, &opts, &JustCheck, |()| Ok(())) {
            Ok(r) => r,
            Err(e) => {
                eprintln!("{shown}: {e:#}");
                worst = Exit::Usage;
                continue;
            }
        };
        for e in &report.errors {
            eprintln!("{}", e.display_in(&shown));
        }
        println!("{}", summary(&report));
        if !report.is_clean() && worst == Exit::Ok {
            worst = Exit::Failed;
        }
    }
    Ok(worst)
}

pub(crate) fn summary(r: &FileReport) -> String {
    let header = r
        .header
        .as_ref()
        .map(|h| {
            let mode = match h.mode {
                Some(ponte_layout::schema::Mode::Complete) => "complete",
                Some(ponte_layout::schema::Mode::Changes) => "changes",
                None => "unknown mode",
            };
            format!(
                ", {mode}, exported {}",
                h.exported_at.as_deref().unwrap_or("at an unreadable time")
            )
        })
        .unwrap_or_default();
    let verdict = if r.is_clean() {
        "valid".to_string()
    } else if r.is_rejected() {
        format!(
            "rejected whole: {} errors ({} bad records, {} in the file's structure; {} bad records tolerated)",
            r.error_total, r.bad_records, r.structural_errors, r.max_bad_records
        )
    } else {
        format!(
            "usable with {} bad records set aside ({} errors)",
            r.bad_records, r.error_total
        )
    };
    format!(
        "{}: {} {}{}, {} records: {}",
        r.file,
        r.flow,
        verdict_word(r),
        header,
        r.counted,
        verdict
    )
}

fn verdict_word(r: &FileReport) -> &'static str {
    if r.is_clean() {
        "ok"
    } else if r.is_rejected() {
        "REJECTED"
    } else {
        "WARN"
    }
}
