//! `ponte plan FILE...`: what each file would change on each target.
//!
//! Per file and target: the counts (create, update, remove, unchanged) and
//! the first changes as the requests that would be sent (`--limit`, default
//! 5). `--json` prints the whole change set as one JSON document per file.
//! Sends nothing and changes nothing: the state store is opened read-only.
//! Exit 0 when every file could be applied, 1 when one is rejected or stale,
//! 2 on usage or configuration errors.

use std::path::PathBuf;

use super::{schema_for, Exit};
use crate::config::Config;
use crate::magento::payload::preview;
use crate::reconcile::{plan_file, FilePlan, PlanOptions, Verdict};
use crate::record::scan::ScanOptions;
use crate::schema::Registry;
use crate::state::Store;

#[derive(clap::Args)]
pub struct Args {
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// The whole change set as JSON.
    #[arg(long)]
    json: bool,
    /// Changes shown per target.
    #[arg(long, default_value_t = 5)]
    limit: usize,
    /// Use this flow's schema whatever the file names.
    #[arg(long)]
    schema: Option<String>,
}

pub fn run(registry: &Registry, config: &Config, args: Args) -> anyhow::Result<Exit> {
    let store = Store::open_read_only(&config.paths.state_dir)?;
    let opts = PlanOptions {
        scan: ScanOptions {
            max_errors: config.intake.max_errors,
            ..ScanOptions::default()
        },
        create_limit: if args.json { usize::MAX } else { args.limit },
        // Shown to people, not pushed.
        for_push: false,
    };
    let mut worst = Exit::Ok;
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
        let mut plan = plan_file(path, schema, config, store.as_ref(), &opts)?;
        plan.check_stale(store.as_ref())?;
        for e in &plan.report.errors {
            eprintln!("{}", e.display_in(&shown));
        }
        if plan.verdict != Verdict::Ready && worst == Exit::Ok {
            worst = Exit::Failed;
        }
        if args.json {
            println!("{}", serde_json::to_string(&json_plan(config, &plan))?);
        } else {
            print_plan(config, &plan, args.limit);
        }
    }
    Ok(worst)
}

fn json_plan(config: &Config, plan: &FilePlan) -> serde_json::Value {
    let mut value = serde_json::to_value(plan).unwrap_or_default();
    // Each change also carries the request it would become.
    if let Some(targets) = value.get_mut("targets").and_then(|t| t.as_array_mut()) {
        for (tv, tp) in targets.iter_mut().zip(&plan.targets) {
            let Some(target) = config.target(&tp.target) else {
                continue;
            };
            if let Some(changes) = tv.get_mut("changes").and_then(|c| c.as_array_mut()) {
                for (cv, change) in changes.iter_mut().zip(&tp.changes) {
                    cv["requests"] = match preview(target, &plan.flow, change) {
                        Ok(r) => serde_json::to_value(r).unwrap_or_default(),
                        Err(e) => serde_json::json!({ "error": e }),
                    };
                }
            }
        }
    }
    value
}

fn print_plan(config: &Config, plan: &FilePlan, limit: usize) {
    let mode = match plan.mode {
        Some(crate::schema::Mode::Complete) => "complete",
        Some(crate::schema::Mode::Changes) => "changes",
        None => "unknown mode",
    };
    let head = format!(
        "{}: {} {mode}, exported {}",
        plan.file,
        plan.flow,
        plan.exported_at.as_deref().unwrap_or("?")
    );
    match &plan.verdict {
        Verdict::Ready => println!("{head}"),
        Verdict::Rejected { reason } => {
            println!("{head}: REJECTED, nothing would be sent: {reason}");
            return;
        }
        Verdict::Stale {
            exported_at,
            newest,
        } => {
            println!(
                "{head}: STALE, nothing would be sent: exported {exported_at}, older than {newest} already applied"
            );
            return;
        }
    }
    if plan.targets.is_empty() {
        println!("  no target receives {}", plan.flow);
    }
    for tp in &plan.targets {
        println!(
            "  {}: {} create, {} update, {} remove, {} unchanged",
            tp.target, tp.create, tp.update, tp.remove, tp.unchanged
        );
        let Some(target) = config.target(&tp.target) else {
            continue;
        };
        for change in tp.changes.iter().take(limit) {
            let action = format!("{:?}", change.action).to_lowercase();
            match preview(target, &plan.flow, change) {
                Ok(requests) => {
                    for r in requests {
                        println!(
                            "    {action} {}: {} /rest/{}{} {}",
                            change.key, r.request.method, r.store, r.request.path, r.request.body
                        );
                    }
                }
                Err(e) => println!("    {action} {}: cannot be sent: {e}", change.key),
            }
            if let Some(axes) = change.variant_axes.as_ref().filter(|a| !a.is_empty()) {
                println!("      variant axes: {}", axes.join(", "));
            }
        }
        let shown = tp.changes.len().min(limit) as u64;
        let total = tp.create + tp.update + tp.remove;
        if total > shown {
            println!("    ... {} more", total - shown);
        }
    }
}
