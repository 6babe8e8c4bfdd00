//! `ponte reprocess [--glob PAT] [--since DATE] [--flow F] [--force] [--dry-run]`:
//! replays archived files in their original order (by header time, products
//! before the flows that depend on them). Files stay where they are.
//!
//! Without `--force`, content already applied is skipped: a replay resends
//! only what never went through. With `--force`, files are applied again even
//! when applied before or older than newer data: the operator's explicit
//! word. `--dry-run` shows each file's plan and sends nothing. A progress bar
//! shows on a terminal. A complete file removing more than `[intake]
//! max_removal_share` of what a target holds is not applied (nothing is
//! sent, the file stays in the archive) unless `--allow-mass-removal` is
//! given: a replay of an old complete file can empty a shop like any other.
//! Exit 0 when every file replayed was applied.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::{lock_or_usage, Exit};
use crate::config::Config;
use crate::flows::file::{self, Disposition};
use crate::flows::inbound::Pusher;
use crate::intake::lifecycle::{hash_file, header_time, Claimed};
use crate::model::Flow;
use crate::reconcile::{plan_file, PlanOptions, Verdict};
use crate::state::Store;
use ponte_layout::record::scan::ScanOptions;
use ponte_layout::schema::{Registry, Schema};

#[derive(clap::Args)]
pub struct Args {
    /// Only files whose name matches this pattern (`ART*`, `*202611*`).
    #[arg(long)]
    glob: Option<String>,
    /// Only files exported on or after this day (YYYY-MM-DD).
    #[arg(long)]
    since: Option<String>,
    /// Only this flow: products, stock, customers, fulfilment (or ARTICOLI...).
    #[arg(long)]
    flow: Option<String>,
    /// Apply again even what was applied, even if newer data was applied since.
    #[arg(long)]
    force: bool,
    /// Show what would be sent; send nothing, change nothing.
    #[arg(long)]
    dry_run: bool,
    /// Apply complete files even when they remove more than `[intake]
    /// max_removal_share` of what a target holds (a replay of an old
    /// complete file is held otherwise, like any other).
    #[arg(long)]
    allow_mass_removal: bool,
}

struct Archived {
    path: PathBuf,
    name: String,
    schema: Arc<Schema>,
    exported_at: Option<String>,
}

pub fn run(registry: &Registry, config: &Config, args: Args) -> anyhow::Result<Exit> {
    let allowing;
    let config = if args.allow_mass_removal {
        allowing = config.allowing_mass_removal();
        &allowing
    } else {
        config
    };
    let flow = match args.flow.as_deref() {
        None => None,
        Some(f) => match Flow::parse(f).or_else(|| Flow::from_schema_flow(&f.to_ascii_uppercase()))
        {
            Some(flow) => Some(flow),
            None => {
                eprintln!("ponte: --flow {f:?}: use products, stock, customers or fulfilment");
                return Ok(Exit::Usage);
            }
        },
    };
    let pattern = match args.glob.as_deref().map(glob::Pattern::new).transpose() {
        Ok(p) => p,
        Err(e) => {
            eprintln!("ponte: --glob: {e}");
            return Ok(Exit::Usage);
        }
    };
    if let Some(s) = &args.since {
        if crate::model::parse_iso_date(s).is_none() {
            eprintln!("ponte: --since {s:?}: use YYYY-MM-DD");
            return Ok(Exit::Usage);
        }
    }
    let Some(_lock) = lock_or_usage(&config.paths.state_dir, "")? else {
        return Ok(Exit::Usage);
    };

    let mut files = Vec::new();
    collect(&config.paths.archive, registry, &mut files)?;
    files.retain(|f| {
        pattern.as_ref().is_none_or(|p| p.matches(&f.name))
            && flow.is_none_or(|fl| fl.schema_flow() == f.schema.flow)
            && args
                .since
                .as_ref()
                .is_none_or(|s| f.exported_at.as_deref().is_some_and(|t| t[..10] >= s[..]))
    });
    files.sort_by_cached_key(|f| {
        let order = Flow::from_schema_flow(&f.schema.flow).map_or(99, |fl| fl as u8);
        (f.exported_at.clone(), order, f.name.clone())
    });
    if files.is_empty() {
        println!("no archived file matches");
        return Ok(Exit::Ok);
    }

    let bar = std::io::stderr().is_terminal().then(|| {
        let b = indicatif::ProgressBar::new(files.len() as u64);
        b.set_style(
            indicatif::ProgressStyle::with_template("{bar:30} {pos}/{len} {msg}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        b
    });
    let mut worst = Exit::Ok;
    if args.dry_run {
        let store = Store::open_read_only(&config.paths.state_dir)?;
        let opts = PlanOptions {
            scan: ScanOptions::default(),
            create_limit: 0,
            for_push: false,
        };
        for f in &files {
            if let Some(b) = &bar {
                b.set_message(f.name.clone());
            }
            let mut plan = plan_file(
                &f.path,
                Arc::clone(&f.schema),
                config,
                store.as_ref(),
                &opts,
            )?;
            if !args.force {
                plan.check_stale(store.as_ref())?;
            }
            let counts: Vec<String> = plan
                .targets
                .iter()
                .map(|t| {
                    format!(
                        "{}: {} create, {} update, {} remove",
                        t.target, t.create, t.update, t.remove
                    )
                })
                .collect();
            let line = match &plan.verdict {
                Verdict::Ready => format!("{}: would send {}", f.path.display(), counts.join("; ")),
                other => format!(
                    "{}: would not be applied: {}",
                    f.path.display(),
                    other.describe(&plan.flow)
                ),
            };
            print_line(&bar, &line);
            if let Some(b) = &bar {
                b.inc(1);
            }
        }
        finish(bar);
        return Ok(worst);
    }

    let mut store = Store::open(&config.paths.state_dir)?;
    let pusher = Pusher::new(config)?;
    let opts = file::Options {
        force: args.force,
        move_when_done: false,
        mode: "reprocess",
    };
    for f in &files {
        if let Some(b) = &bar {
            b.set_message(f.name.clone());
        }
        let claimed = Claimed {
            name: f.name.clone(),
            path: f.path.clone(),
            schema: Arc::clone(&f.schema),
            content_hash: hash_file(&f.path)?,
        };
        let (disposition, result) = file::process(&claimed, config, &mut store, &pusher, &opts)?;
        let line = match &disposition {
            Disposition::Duplicate { of, .. } => {
                format!("{}: already applied (as {of}), skipped", f.path.display())
            }
            Disposition::Rejected { reason, .. } => {
                worst = Exit::Failed;
                format!("{}: not applied: {reason}", f.path.display())
            }
            Disposition::Archived { all_applied, .. } => {
                if !all_applied {
                    worst = Exit::Failed;
                }
                let parts: Vec<String> = result
                    .iter()
                    .flat_map(|r| &r.targets)
                    .map(|t| format!("{}: {} sent, {} failed", t.target, t.sent, t.failed.len()))
                    .collect();
                format!("{}: {}", f.path.display(), parts.join("; "))
            }
        };
        print_line(&bar, &line);
        if let Some(b) = &bar {
            b.inc(1);
        }
    }
    finish(bar);
    Ok(worst)
}

fn print_line(bar: &Option<indicatif::ProgressBar>, line: &str) {
    match bar {
        Some(b) => b.println(line),
        None => println!("{line}"),
    }
}

fn finish(bar: Option<indicatif::ProgressBar>) {
    if let Some(b) = bar {
        b.finish_and_clear();
    }
}

/// Every archived file a schema claims, below `dir` (archive/YYYY/MM/DD).
fn collect(dir: &Path, registry: &Registry, out: &mut Vec<Archived>) -> anyhow::Result<()> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e.into()),
    };
    for entry in entries {
        let entry = entry?;
        let kind = entry.file_type()?;
        if kind.is_dir() {
            collect(&entry.path(), registry, out)?;
            continue;
        }
        if !kind.is_file() {
            continue;
        }
        let name = entry.file_name().to_string_lossy().into_owned();
        // A duplicate's content is archived under its first name already.
        if name.ends_with(".duplicate") || name.ends_with(".err") {
            continue;
        }
        let Ok(schema) = registry.route(Path::new(&name)) else {
            continue;
        };
        out.push(Archived {
            exported_at: header_time(&entry.path(), &schema),
            path: entry.path(),
            name,
            schema,
        });
    }
    Ok(())
}
