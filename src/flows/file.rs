//! The way of one claimed file: not sent again when its content was
//! applied before, else reconciled and pushed (`flows::inbound`), then
//! archived under archive/YYYY/MM/DD or rejected with a report beside it,
//! its row in the `files` table and the operator's metrics and alerts
//! updated as it ends.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;

use crate::config::Config;
use crate::flows::inbound::{ingest_file, FileResult, Pusher};
use crate::intake::folders::{archive_day, unique_in};
use crate::intake::lifecycle::{header_time, Claimed};
use crate::operate::record;
use crate::reconcile::{held_report, Verdict};
use crate::state::{FileFinish, FileRow, Store, TargetCounts};

/// Where a processed file went (`ingest --json` gives it as
/// `{"outcome": "archived", "path": ..., "all_applied": true}`).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(tag = "outcome", rename_all = "kebab-case")]
pub(crate) enum Disposition {
    Archived { path: PathBuf, all_applied: bool },
    Duplicate { path: PathBuf, of: String },
    Rejected { path: PathBuf, reason: String },
}

pub(crate) struct Options {
    /// Process even content already applied (reprocess --force).
    pub force: bool,
    /// Move the file when done (intake); reprocess leaves archived files be.
    pub move_when_done: bool,
    /// How the file came, as the `files` table records it: `watch`,
    /// `ingest` or `reprocess`.
    pub mode: &'static str,
}

/// Processes a claimed file and puts it where it belongs.
pub(crate) fn process(
    claimed: &Claimed,
    config: &Config,
    store: &mut Store,
    pusher: &Pusher,
    opts: &Options,
) -> anyhow::Result<(Disposition, Option<FileResult>)> {
    // Every line logged while the file is handled names it, so that
    // `grep FILE` finds all of it.
    let _file =
        tracing::info_span!("file", file = %claimed.name, flow = %claimed.schema.flow).entered();
    let earlier = store.files_with_hash(&claimed.content_hash)?;
    if !opts.force {
        if let Some(done) = earlier
            .iter()
            .find(|f| f.status == "applied" || f.status == "applied-with-failures")
        {
            let path = settle_file(claimed, config, "duplicate", opts)?;
            let why = format!("same content as {} (file {})", done.name, done.id);
            let id = store.insert_file(&file_row(claimed, opts, "duplicate", None, Some(&why)))?;
            record::file_done(&record::Done {
                name: &claimed.name,
                flow: &claimed.schema.flow,
                outcome: "duplicate",
                targets: &[],
                error: Some(&why),
            });
            store.finish_file(
                id,
                &FileFinish {
                    place: path.display().to_string(),
                    ..FileFinish::default()
                },
            )?;
            tracing::info!(file = %claimed.name, of = %done.name, "duplicate content: archived, nothing sent");
            return Ok((
                Disposition::Duplicate {
                    path,
                    of: done.name.clone(),
                },
                None,
            ));
        }
    }
    let file_id = match earlier.iter().find(|f| f.status == "claimed") {
        Some(row) => row.id,
        None => store.insert_file(&file_row(
            claimed,
            opts,
            "claimed",
            header_time(&claimed.path, &claimed.schema),
            None,
        ))?,
    };
    // Failures and desired rows recorded while it is sent name this file.
    store.set_current_file(Some(file_id));
    record::file_started();
    let result = ingest_file(
        &claimed.path,
        Arc::clone(&claimed.schema),
        config,
        store,
        pusher,
        opts.force,
    );
    store.set_current_file(None);
    let result = result?;
    let disposition = match &result.verdict {
        Verdict::Ready => {
            let all_applied = result.all_applied();
            let status = if all_applied {
                "applied"
            } else {
                "applied-with-failures"
            };
            let path = settle_file(claimed, config, "archive", opts)?;
            store.set_file_status(file_id, status, None)?;
            Disposition::Archived { path, all_applied }
        }
        Verdict::Rejected { reason } => reject(
            claimed,
            config,
            store,
            opts,
            file_id,
            &result,
            "rejected",
            reason.clone(),
        )?,
        Verdict::Held { reason, .. } => reject(
            claimed,
            config,
            store,
            opts,
            file_id,
            &result,
            "held",
            reason.clone(),
        )?,
        stale @ Verdict::Stale { .. } => {
            let why = stale.describe(&result.flow);
            reject(claimed, config, store, opts, file_id, &result, "stale", why)?
        }
    };
    store.finish_file(file_id, &finish(&disposition, &result))?;
    let (outcome, error) = match &disposition {
        Disposition::Archived {
            all_applied: true, ..
        } => ("applied", None),
        Disposition::Archived { .. } => ("applied-with-failures", None),
        Disposition::Duplicate { .. } => ("duplicate", None),
        Disposition::Rejected { reason, .. } => {
            (rejected_status(&result.verdict), Some(reason.as_str()))
        }
    };
    record::file_done(&record::Done {
        name: &claimed.name,
        flow: &claimed.schema.flow,
        outcome,
        targets: &sent_counts(&result),
        error,
    });
    Ok((disposition, Some(result)))
}

/// What each target was sent, for the operator's metrics.
fn sent_counts(result: &FileResult) -> Vec<crate::operate::report::TargetCounts> {
    result
        .targets
        .iter()
        .map(|t| crate::operate::report::TargetCounts {
            target: t.target.clone(),
            sent: t.sent,
            unchanged: t.unchanged,
            failed: t.failed.len() as u64,
        })
        .collect()
}

/// The `files` status `reject` gave a verdict.
fn rejected_status(verdict: &Verdict) -> &'static str {
    match verdict {
        Verdict::Held { .. } => "held",
        Verdict::Stale { .. } => "stale",
        _ => "rejected",
    }
}

/// The counts and place a file's row keeps.
fn finish(disposition: &Disposition, result: &FileResult) -> FileFinish {
    let place = match disposition {
        Disposition::Archived { path, .. }
        | Disposition::Duplicate { path, .. }
        | Disposition::Rejected { path, .. } => path.display().to_string(),
    };
    let report = result.plan.as_ref().map(|p| &p.report);
    let count = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
    FileFinish {
        records: report.map_or(0, |r| count(r.counted)),
        bad_records: report.map_or(0, |r| count(r.bad_records)),
        place,
        targets: result
            .targets
            .iter()
            .map(|t| TargetCounts {
                target: t.target.clone(),
                sent: count(t.sent),
                unchanged: count(t.unchanged),
                failed: count(t.failed.len() as u64),
            })
            .collect(),
    }
}

#[allow(clippy::too_many_arguments)]
fn reject(
    claimed: &Claimed,
    config: &Config,
    store: &Store,
    opts: &Options,
    file_id: i64,
    result: &FileResult,
    status: &str,
    why: String,
) -> anyhow::Result<Disposition> {
    let path = settle_file(claimed, config, "rejected", opts)?;
    if opts.move_when_done {
        write_report(&path, claimed, result, &why, status == "stale")?;
    }
    store.set_file_status(file_id, status, Some(&why))?;
    Ok(Disposition::Rejected { path, reason: why })
}

fn file_row(
    c: &Claimed,
    opts: &Options,
    status: &str,
    exported_at: Option<String>,
    error: Option<&str>,
) -> FileRow {
    FileRow {
        id: 0,
        content_hash: c.content_hash.clone(),
        name: c.name.clone(),
        flow: c.schema.flow.clone(),
        exported_at,
        mode: Some(opts.mode.to_string()),
        status: status.to_string(),
        records: 0,
        bad_records: 0,
        error: error.map(str::to_string),
    }
}

/// Moves the file to the archive (today's folder) or to rejected.
fn settle_file(
    c: &Claimed,
    config: &Config,
    place: &str,
    opts: &Options,
) -> anyhow::Result<PathBuf> {
    if !opts.move_when_done {
        return Ok(c.path.clone());
    }
    let dir = match place {
        "rejected" => config.paths.rejected.clone(),
        _ => archive_day(&config.paths.archive),
    };
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let name = if place == "duplicate" {
        format!("{}.duplicate", c.name)
    } else {
        c.name.clone()
    };
    let dest = unique_in(&dir, &name);
    std::fs::rename(&c.path, &dest)
        .with_context(|| format!("cannot move {} to {}", c.path.display(), dest.display()))?;
    Ok(dest)
}

/// `NAME.err` beside a rejected file: what, where, why, what to do.
fn write_report(
    path: &Path,
    c: &Claimed,
    result: &FileResult,
    why: &str,
    stale: bool,
) -> anyhow::Result<()> {
    let mut text = String::new();
    text.push_str(&format!(
        "file:   {}\nflow:   {}\nwhy:    {why}\n",
        c.name, c.schema.flow
    ));
    if let Verdict::Held { over, .. } = &result.verdict {
        // A valid file: its counts are what it would remove, not errors.
        text.push_str(&held_report(over, &path.display().to_string()));
        return write_err(path, &text);
    }
    if let Some(plan) = result.plan.as_ref().filter(|_| !stale) {
        let r = &plan.report;
        text.push_str(&format!(
            "counts: {} lines, {} records, {} bad records ({} tolerated), {} structural errors\n\nerrors (file:line: record field: what was expected; what was found):\n",
            r.lines, r.counted, r.bad_records, r.max_bad_records, r.structural_errors
        ));
        for e in &r.errors {
            text.push_str(&e.display_in(&c.name));
            text.push('\n');
        }
        if r.error_total as usize > r.errors.len() {
            text.push_str(&format!(
                "... and {} more\n",
                r.error_total as usize - r.errors.len()
            ));
        }
    }
    if stale {
        // The file is valid, only late: fixing the export is not the answer.
        text.push_str(&format!(
            "\nwhat to do: usually nothing: the file is valid but older than data already applied, and nothing\n\
             of it was sent to Magento. If it must be applied all the same, move it under the archive folder\n\
             and run `ponte reprocess --force --glob {}`.\n",
            c.name
        ));
    } else {
        text.push_str(
            "\nwhat to do: fix the export in the ERP (or the schema, if the layout changed) and drop the corrected file\n\
             into the inbound folder again; nothing of this file was sent to Magento.\n\
             `ponte check FILE` shows the same errors; `ponte reprocess --force` replays a file on purpose.\n",
        );
    }
    write_err(path, &text)
}

fn write_err(path: &Path, text: &str) -> anyhow::Result<()> {
    let mut report = path.as_os_str().to_os_string();
    report.push(".err");
    std::fs::write(PathBuf::from(report), text).context("cannot write the reject report")?;
    Ok(())
}
