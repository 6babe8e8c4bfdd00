//! `ponte ingest FILE...`: process files now, as a person dropping them by
//! hand would want: validate, reconcile, push to every target that receives
//! the flow, record what was applied. A summary per file and target (sent,
//! unchanged, failed with Magento's reasons) goes to stdout. Exit 0 only when
//! everything was applied; 1 when a file was rejected or stale or a change
//! failed; 2 on usage or configuration errors.
//!
//! Files are taken in the order the pipeline needs: products before stock,
//! customers and fulfilment, and each flow's files by their header time.

use std::path::PathBuf;

use super::{schema_for, Exit};
use crate::config::{Config, Flow};
use crate::flows::inbound::{ingest_file, FileResult, Pusher};
use crate::reconcile::Verdict;
use crate::schema::Registry;
use crate::state::Store;

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
}

pub fn run(registry: &Registry, config: &Config, args: Args) -> anyhow::Result<Exit> {
    let mut store = Store::open(&config.paths.state_dir)?;
    let pusher = Pusher::new(config)?;
    let mut work = Vec::new();
    for path in &args.files {
        match schema_for(registry, path, args.schema.as_deref()) {
            Ok(s) => work.push((path.clone(), s)),
            Err(e) => {
                eprintln!("{}: {e}", path.display());
                return Ok(Exit::Usage);
            }
        }
    }
    work.sort_by_key(|(path, schema)| {
        let order = Flow::from_schema_flow(&schema.flow).map_or(99, |f| f as u8);
        (order, path.file_name().map(|n| n.to_os_string()))
    });
    let mut worst = Exit::Ok;
    for (path, schema) in work {
        let result = ingest_file(&path, schema, config, &mut store, &pusher)?;
        if let Some(plan) = &result.plan {
            for e in &plan.report.errors {
                eprintln!("{}", e.display_in(&path.display().to_string()));
            }
        }
        if args.json {
            println!("{}", serde_json::to_string(&result)?);
        } else {
            print_result(&result);
        }
        if !result.all_applied() {
            worst = Exit::Failed;
        }
    }
    Ok(worst)
}

fn print_result(r: &FileResult) {
    match &r.verdict {
        Verdict::Ready => println!("{}: {}", r.file, r.flow),
        Verdict::Rejected { reason } => {
            println!("{}: {} REJECTED, nothing sent: {reason}", r.file, r.flow);
            return;
        }
        Verdict::Stale {
            exported_at,
            newest,
        } => {
            println!(
                "{}: {} STALE, nothing sent: exported {exported_at}, older than {newest} already applied",
                r.file, r.flow
            );
            return;
        }
    }
    for t in &r.targets {
        println!(
            "  {}: {} sent, {} unchanged, {} failed",
            t.target,
            t.sent,
            t.unchanged,
            t.failed.len()
        );
        for (key, reason) in &t.failed {
            println!("    {key}: {reason}");
        }
    }
}
