//! `ponte ingest FILE...`: process files now, as someone dropping them by
//! hand wants, through the same lifecycle as the service: each file is
//! claimed into in-progress, validated, reconciled, pushed to every target
//! that receives its flow, then archived (or rejected with a NAME.err report
//! beside it). Content already applied is archived as a duplicate and sent
//! nowhere. A summary per file and target (sent, unchanged, failed with
//! Magento's reasons) goes to stdout.
//!
//! A complete file that removes more than `[intake] max_removal_share` of
//! what a target holds is held: moved to rejected with a report, nothing
//! sent. `--allow-mass-removal` applies it (the way to replay it from
//! there).
//!
//! Exit 0 only when everything was applied; 1 when a file was rejected,
//! stale or held or a change failed; 2 on usage or configuration errors, or when a
//! `ponte watch` holds the state directory.
//!
//! A file given from outside the inbound folder is the user's own: ponte
//! processes a copy (archived or rejected like any other) and leaves the
//! original where it is, unless `--move` hands the file itself over.
//!
//! Files are taken in the order the data needs: products before stock,
//! customers and fulfilment, each flow by header time.

use std::path::PathBuf;

use super::{exit_for, lock_or_usage, schema_for, Exit};
use crate::config::Config;
use crate::flows::file::{self, Disposition};
use crate::flows::inbound::{FileResult, Pusher};
use crate::intake::folders::create_work_folders;
use crate::intake::lifecycle::{claim, claim_copy, header_time};
use crate::model::Flow;
use crate::reconcile::Verdict;
use crate::state::Store;
use ponte_layout::schema::Registry;

#[derive(clap::Args)]
pub struct Args {
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// Use this flow's schema whatever the file names.
    #[arg(long)]
    schema: Option<String>,
    /// Print the results as JSON lines.
    #[arg(long)]
    json: bool,
    /// Apply complete files even when they remove more than `[intake]
    /// max_removal_share` of what a target holds (such a file is otherwise
    /// held in the rejected folder, and this is how it is replayed).
    #[arg(long)]
    allow_mass_removal: bool,
    /// Move files given from outside the inbound folder into the lifecycle
    /// (and so into the archive) instead of processing a copy.
    #[arg(long = "move")]
    move_files: bool,
}

pub fn run(registry: &Registry, config: &Config, args: Args) -> anyhow::Result<Exit> {
    let allowing;
    let config = if args.allow_mass_removal {
        allowing = config.allowing_mass_removal();
        &allowing
    } else {
        config
    };
    let Some(_lock) = lock_or_usage(
        &config.paths.state_dir,
        ": drop the files into the inbound folder instead",
    )?
    else {
        return Ok(Exit::Usage);
    };
    create_work_folders(&config.paths)?;
    let mut work = Vec::new();
    for path in &args.files {
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
        match (name, schema_for(registry, path, args.schema.as_deref())) {
            (Some(name), Ok(s)) if path.is_file() => work.push((path.clone(), name, s)),
            (_, Err(e)) => {
                eprintln!("{}: {e}", path.display());
                return Ok(Exit::Usage);
            }
            _ => {
                eprintln!("{}: not a file", path.display());
                return Ok(Exit::Usage);
            }
        }
    }
    work.sort_by_cached_key(|(path, name, schema)| {
        let order = Flow::from_schema_flow(&schema.flow).map_or(99, |f| f as u8);
        (order, header_time(path, schema), name.clone())
    });
    let mut store = Store::open(&config.paths.state_dir)?;
    let pusher = Pusher::new(config)?;
    let opts = file::Options {
        force: false,
        move_when_done: true,
        mode: "ingest",
    };
    let mut worst = Exit::Ok;
    for (path, name, schema) in work {
        let copied = !args.move_files && !within(&path, &config.paths.inbound);
        let claimed = if copied {
            claim_copy(&path, &name, schema, &config.paths.in_progress)?
        } else {
            claim(&path, &name, schema, &config.paths.in_progress)?
        };
        let (disposition, result) =
            match file::process(&claimed, config, &mut store, &pusher, &opts) {
                Ok(done) => done,
                Err(e) if exit_for(&e) == Exit::Runtime => return Err(e),
                Err(e) => {
                    // The user's file, not one the ERP dropped: it goes back
                    // where it was rather than into rejected/.
                    let back = if copied {
                        drop_copy(&claimed.path)
                    } else {
                        give_back(&claimed.path, &path)
                    };
                    println!(
                        "{}: NOT PROCESSED: {e:#}; {}",
                        path.display(),
                        match &back {
                            Ok(()) => "left where it was".to_string(),
                            Err(b) => format!("{b:#}"),
                        }
                    );
                    let why = format!("{e:#}");
                    for row in store.files_with_hash(&claimed.content_hash)? {
                        if row.status == "claimed" {
                            store.set_file_status(row.id, "rejected", Some(&why))?;
                        }
                    }
                    worst = Exit::Failed;
                    continue;
                }
            };
        if let Some(plan) = result.as_ref().and_then(|r| r.plan.as_ref()) {
            for e in &plan.report.errors {
                eprintln!("{}", e.display_in(&path.display().to_string()));
            }
        }
        let ok = match &disposition {
            Disposition::Archived { all_applied, .. } => *all_applied,
            Disposition::Duplicate { .. } => true,
            Disposition::Rejected { .. } => false,
        };
        if args.json {
            println!(
                "{}",
                serde_json::json!({ "file": path.display().to_string(), "disposition": disposition, "result": result })
            );
        } else {
            print_result(&path.display().to_string(), &disposition, result.as_ref());
        }
        if !ok {
            worst = Exit::Failed;
        }
    }
    Ok(worst)
}

/// Whether `path` is in the folder `dir` (both resolved, so that a
/// relative or linked spelling of the inbound folder counts).
fn within(path: &std::path::Path, dir: &std::path::Path) -> bool {
    let parent = path.parent().map(|p| {
        if p.as_os_str().is_empty() {
            std::path::Path::new(".")
        } else {
            p
        }
    });
    match (
        parent.map(std::fs::canonicalize),
        std::fs::canonicalize(dir),
    ) {
        (Some(Ok(p)), Ok(d)) => p == d,
        _ => false,
    }
}

/// Removes the copy of a file the user still has.
fn drop_copy(claimed: &std::path::Path) -> anyhow::Result<()> {
    use anyhow::Context;
    std::fs::remove_file(claimed)
        .with_context(|| format!("its copy could not be removed from {}", claimed.display()))
}

/// Moves a claimed file back to where the user had it (copied back when
/// that is another file system, as the claim copied it).
fn give_back(claimed: &std::path::Path, original: &std::path::Path) -> anyhow::Result<()> {
    use anyhow::Context;
    let failed = || format!("it could not be put back and is in {}", claimed.display());
    if let Err(e) = std::fs::rename(claimed, original) {
        if e.kind() != std::io::ErrorKind::CrossesDevices {
            return Err(e).with_context(failed);
        }
        std::fs::copy(claimed, original).with_context(failed)?;
        std::fs::remove_file(claimed).with_context(failed)?;
    }
    Ok(())
}

fn print_result(file: &str, disposition: &Disposition, result: Option<&FileResult>) {
    match (disposition, result) {
        (Disposition::Duplicate { of, path }, _) => {
            println!(
                "{file}: duplicate of {of}, nothing sent; archived as {}",
                path.display()
            );
        }
        (Disposition::Rejected { path, reason }, _) => {
            println!(
                "{file}: REJECTED, nothing sent: {reason}; moved to {}",
                path.display()
            );
        }
        (Disposition::Archived { path, .. }, Some(r)) => {
            println!("{file}: {} archived as {}", r.flow, path.display());
            debug_assert!(r.verdict == Verdict::Ready);
            for t in &r.targets {
                println!(
                    "  {}: {} sent, {} unchanged, {} failed",
                    t.target,
                    t.sent,
                    t.unchanged,
                    t.failed.len()
                );
                let mut held = 0;
                for (key, reason) in &t.failed {
                    if t.refused.as_ref() == Some(reason) {
                        held += 1;
                    } else {
                        println!("    {key}: {reason}");
                    }
                }
                if let Some(r) = &t.refused {
                    println!("    {held} not sent: {r}");
                }
            }
        }
        (Disposition::Archived { path, .. }, None) => {
            println!("{file}: archived as {}", path.display())
        }
    }
}
