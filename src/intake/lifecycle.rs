//! A file's lifecycle once ready: claimed by an atomic rename into
//! in-progress (no second worker or scan sees it), known by the hash of its
//! content, processed, then archived under archive/YYYY/MM/DD or rejected
//! with a report beside it. A crash leaves it in in-progress, where the next
//! start resumes it.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use xxhash_rust::xxh3::Xxh3;

use super::folders::{archive_day, unique_in};
use super::readiness::marker_path;
use crate::config::Config;
use crate::flows::inbound::{ingest_file, FileResult, Pusher};
use crate::operate::record;
use crate::reconcile::{held_report, Verdict};
use crate::state::{FileFinish, FileRow, Store, TargetCounts};
use ponte_layout::record::line::{read_field, LineView, Parsed};
use ponte_layout::record::open::open_file;
use ponte_layout::record::stop::{check, stop_flag};
use ponte_layout::schema::{Registry, Schema};

/// A file in in-progress, with its identity.
#[derive(Debug, Clone)]
pub struct Claimed {
    pub name: String,
    pub path: PathBuf,
    pub schema: Arc<Schema>,
    pub content_hash: String,
}

/// Where a processed file went.
#[derive(Debug, Clone, PartialEq)]
pub enum Disposition {
    Archived { path: PathBuf, all_applied: bool },
    Duplicate { path: PathBuf, of: String },
    Rejected { path: PathBuf, reason: String },
}

/// Moves a ready file out of the share into in-progress.
pub fn claim(
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
pub fn claim_copy(
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
pub fn leftovers(in_progress: &Path, registry: &Registry) -> anyhow::Result<Vec<Claimed>> {
    let found = leftovers_except(in_progress, registry, |_| false)?;
    for (path, e) in &found.unreadable {
        tracing::error!(path = %path.display(), "{e:#}; left in progress");
    }
    Ok(found.files)
}

/// What is in in-progress: the files to resume, and those that cannot be
/// read (one file's problem, not the share's).
pub struct Leftovers {
    pub files: Vec<Claimed>,
    pub unreadable: Vec<(PathBuf, anyhow::Error)>,
}

/// `leftovers`, without the files `skip` names (those the service leaves
/// alone: they are not even read again).
pub fn leftovers_except(
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
pub fn hash_file(path: &Path) -> anyhow::Result<String> {
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
pub fn header_time(path: &Path, schema: &Schema) -> Option<String> {
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

pub struct Options {
    /// Process even content already applied (reprocess --force).
    pub force: bool,
    /// Move the file when done (intake); reprocess leaves archived files be.
    pub move_when_done: bool,
    /// How the file came, as the `files` table records it: `watch`,
    /// `ingest` or `reprocess`.
    pub mode: &'static str,
}

/// Processes a claimed file and puts it where it belongs.
pub fn process(
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
                result: None,
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
        result: Some(&result),
        error,
    });
    Ok((disposition, Some(result)))
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
