//! `ponte plan FILE...`: what each file would change on each target.
//!
//! Per file and target: the counts (create, update, remove, unchanged) and
//! the first changes as the requests that would be sent (`--limit`, default
//! 5). `--json` prints the whole change set as one JSON document per file.
//! Sends nothing and changes nothing: the state store is opened read-only.
//! Exit 0 when every file could be applied, 1 when one is rejected, stale or
//! held (a complete file removing more than `intake.max_removal_share` of a
//! target: its changes are shown all the same), 2 on usage or configuration
//! errors.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::{schema_for, Exit};
use crate::config::Config;
use crate::model::{spec_for_flow, BoundSpec};
use crate::push::payload::{preview, stock_previews, stock_sibling_keys, ScopedRequest};
use crate::reconcile::{
    plan_file, Change, FilePlan, FileRows, PlanOptions, SiblingReader, Verdict, ALLOW_FLAG,
    SHARE_KEY,
};
use crate::state::Store;
use ponte_layout::record::scan::ScanOptions;
use ponte_layout::schema::{Mode, Registry, Schema};

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
        let mut plan = plan_file(path, Arc::clone(&schema), config, store.as_ref(), &opts)?;
        plan.check_stale(store.as_ref())?;
        for e in &plan.report.errors {
            eprintln!("{}", e.display_in(&shown));
        }
        if plan.verdict != Verdict::Ready && worst == Exit::Ok {
            worst = Exit::Failed;
        }
        let requests = requests(config, &schema, store.as_ref(), path, &plan)?;
        if args.json {
            println!("{}", serde_json::to_string(&json_plan(&plan, &requests))?);
        } else {
            print_plan(&plan, &requests, args.limit);
        }
    }
    Ok(worst)
}

/// The requests one change would become, or why none.
type Shown = Result<Vec<ScopedRequest>, String>;

/// Per target, the request each change would become (or why none), in the
/// order of its changes. Stock changes are shown as the push sends them:
/// one write per SKU and place, with the other warehouses' quantities added.
fn requests(
    config: &Config,
    schema: &Arc<Schema>,
    store: Option<&Store>,
    path: &Path,
    plan: &FilePlan,
) -> anyhow::Result<Vec<Vec<Shown>>> {
    let stock = match spec_for_flow(&plan.flow) {
        Some(spec)
            if plan.flow.eq_ignore_ascii_case("GIACENZE")
                && matches!(plan.verdict, Verdict::Ready | Verdict::Held { .. }) =>
        {
            Some(BoundSpec::bind(spec, Arc::clone(schema)).map_err(anyhow::Error::msg)?)
        }
        _ => None,
    };
    let mut siblings = match &stock {
        Some(bound) => Some(SiblingReader::new(
            bound,
            Some(FileRows::open(
                path,
                bound,
                &plan.entries,
                plan.mode == Some(Mode::Complete),
            )?),
        )),
        None => None,
    };
    let mut out = Vec::new();
    for tp in &plan.targets {
        let Some(target) = config.target(&tp.target) else {
            out.push(Vec::new());
            continue;
        };
        let shown = match siblings.as_mut() {
            Some(reader) => {
                let refs: Vec<&Change> = tp.changes.iter().collect();
                let others = reader.read(store, &stock_sibling_keys(target, &refs))?;
                stock_previews(target, &refs, &others)
                    .into_iter()
                    .map(|r| {
                        r.map(|request| {
                            vec![ScopedRequest {
                                store: target.store_code.clone(),
                                request,
                            }]
                        })
                    })
                    .collect()
            }
            None => tp
                .changes
                .iter()
                .map(|c| preview(target, &plan.flow, c))
                .collect(),
        };
        out.push(shown);
    }
    Ok(out)
}

fn json_plan(plan: &FilePlan, requests: &[Vec<Shown>]) -> serde_json::Value {
    let mut value = serde_json::to_value(plan).unwrap_or_default();
    // Each change also carries the request it would become.
    if let Some(targets) = value.get_mut("targets").and_then(|t| t.as_array_mut()) {
        for (tv, shown) in targets.iter_mut().zip(requests) {
            if let Some(changes) = tv.get_mut("changes").and_then(|c| c.as_array_mut()) {
                for (cv, request) in changes.iter_mut().zip(shown) {
                    cv["requests"] = match request {
                        Ok(r) => serde_json::to_value(r).unwrap_or_default(),
                        Err(e) => serde_json::json!({ "error": e }),
                    };
                }
            }
        }
    }
    value
}

fn print_plan(plan: &FilePlan, requests: &[Vec<Shown>], limit: usize) {
    let mode = match plan.mode {
        Some(ponte_layout::schema::Mode::Complete) => "complete",
        Some(ponte_layout::schema::Mode::Changes) => "changes",
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
        // What it would do is shown below all the same: it is what the
        // operator weighs before replaying it.
        Verdict::Held { over, .. } => {
            println!("{head}: HELD, nothing would be sent: it removes too much");
            for r in over {
                println!("  {}", r.describe());
            }
            println!(
                "  ingest would move it to the rejected folder; `ponte ingest {ALLOW_FLAG} FILE` applies it, as does raising {SHARE_KEY}"
            );
        }
    }
    if plan.targets.is_empty() {
        println!("  no target receives {}", plan.flow);
    }
    for (tp, shown) in plan.targets.iter().zip(requests) {
        println!(
            "  {}: {} create, {} update, {} remove, {} unchanged",
            tp.target, tp.create, tp.update, tp.remove, tp.unchanged
        );
        for (change, request) in tp.changes.iter().zip(shown).take(limit) {
            let action = format!("{:?}", change.action).to_lowercase();
            match request {
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
