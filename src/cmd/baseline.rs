//! `ponte baseline --target NAME (--from-file FILE... | --from-magento)`:
//! adopt what a shop already holds as applied, so that the go-live sends
//! only real differences instead of the whole catalogue. Nothing is sent.
//!
//! `--from-file FILE...`: the operator vouches that the target holds what
//! the files say. The files are validated as `ingest` validates them; if one
//! is rejected or stale, nothing is recorded (exit 1). Their entities are
//! recorded as applied to the target and as the ERP's desired state; the
//! removals a complete file implies are not (only what is in the file is
//! vouched for).
//!
//! `--from-magento [--flow products|stock|customers]...` (default: every
//! one of the three the target receives): the target's products (with their
//! configurable links), stock (source items, or stock items on single-source
//! targets) and customers (those with an `erp_customer_code`) are read back,
//! mapped to ponte's canonical form and recorded as applied, page by page.
//! An interrupted baseline resumes at its next page; `--restart` starts
//! over. A progress bar shows on a terminal.
//!
//! The report, per flow: adopted, in the shop but not in the ERP's desired
//! state, in the ERP's desired state but not in the shop (what the next
//! complete file will create).
//!
//! Exit 0 when everything was recorded; 1 when a file was refused or the
//! shop could not be read to the end; 2 on usage or configuration errors,
//! or when a `ponte watch` holds the state directory.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::Arc;

use super::{lock_or_usage, schema_for, Exit};
use crate::config::Config;
use crate::flows::baseline::file::{self, Checked, Refusal};
use crate::flows::baseline::shop::{baseline_flow, Progress, ShopReader};
use crate::flows::baseline::FlowReport;
use crate::intake::lifecycle::header_time;
use crate::model::Flow;
use crate::model::{spec_for_flow, BoundSpec};
use crate::state::Store;
use ponte_layout::record::scan::ScanOptions;
use ponte_layout::schema::{Registry, Schema};

#[derive(clap::Args)]
#[command(group(clap::ArgGroup::new("source").required(true).args(["from_file", "from_magento"])))]
pub struct Args {
    /// The target whose applied state is set.
    #[arg(long)]
    target: String,
    /// Record these files' entities as applied (the operator vouches for them).
    #[arg(long, num_args = 1.., value_name = "FILE")]
    from_file: Vec<PathBuf>,
    /// Read the target's current state from Magento.
    #[arg(long)]
    from_magento: bool,
    /// With --from-magento: only this flow (repeatable); default all three the target receives.
    #[arg(long, value_parser = ["products", "stock", "customers"], requires = "from_magento")]
    flow: Vec<String>,
    /// With --from-magento: start over instead of resuming an interrupted baseline.
    #[arg(long, requires = "from_magento")]
    restart: bool,
    /// Use this flow's schema whatever the file names (--from-file).
    #[arg(long, requires = "from_file")]
    schema: Option<String>,
    /// Print the report as JSON lines.
    #[arg(long)]
    json: bool,
}

pub fn run(registry: &Registry, config: &Config, args: Args) -> anyhow::Result<Exit> {
    let Some(target) = config.target(&args.target) else {
        let known: Vec<&str> = config.targets.iter().map(|t| t.name.as_str()).collect();
        eprintln!(
            "ponte: no target {:?} in {} (known: {})",
            args.target,
            config.source.display(),
            known.join(", ")
        );
        return Ok(Exit::Usage);
    };
    let Some(_lock) = lock_or_usage(
        &config.paths.state_dir,
        ": stop the service before a baseline",
    )?
    else {
        return Ok(Exit::Usage);
    };
    let mut store = Store::open(&config.paths.state_dir)?;
    if args.from_magento {
        from_magento(registry, config, &target.name, &args, &mut store)
    } else {
        from_files(registry, config, &target.name, &args, &mut store)
    }
}

fn bar(len: u64) -> Option<indicatif::ProgressBar> {
    std::io::stderr().is_terminal().then(|| {
        let b = indicatif::ProgressBar::new(len);
        b.set_style(
            indicatif::ProgressStyle::with_template(
                "{msg:>24} {bar:30} {pos}/{len} {per_sec} eta {eta}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        b
    })
}

fn from_files(
    registry: &Registry,
    config: &Config,
    target_name: &str,
    args: &Args,
    store: &mut Store,
) -> anyhow::Result<Exit> {
    let Some(target) = config.target(target_name) else {
        return Ok(Exit::Usage);
    };
    let mut work: Vec<(PathBuf, Arc<Schema>)> = Vec::new();
    for path in &args.from_file {
        if !path.is_file() {
            eprintln!("{}: not a file", path.display());
            return Ok(Exit::Usage);
        }
        match schema_for(registry, path, args.schema.as_deref()) {
            Ok(s) => work.push((path.clone(), s)),
            Err(e) => {
                eprintln!("{}: {e}", path.display());
                return Ok(Exit::Usage);
            }
        }
    }
    for (path, schema) in &work {
        let flow = Flow::from_schema_flow(&schema.flow);
        if !flow.is_some_and(|f| target.receives(f)) {
            eprintln!(
                "{}: target {} does not receive {}",
                path.display(),
                target.name,
                schema.flow
            );
            return Ok(Exit::Usage);
        }
    }
    // The order ingest takes them in: flow, then header time.
    work.sort_by_cached_key(|(path, schema)| {
        let order = Flow::from_schema_flow(&schema.flow).map_or(99, |f| f as u8);
        (order, header_time(path, schema), path.clone())
    });
    let scan = ScanOptions {
        max_errors: config.intake.max_errors,
        ..ScanOptions::default()
    };
    // Validate every file before recording any: one refused, none recorded.
    // (One file is validated and recorded in one read.)
    let mut checked: Vec<Option<Checked>> = Vec::new();
    let mut refused = false;
    for (path, schema) in &work {
        let shown = path.display().to_string();
        match file::check(path, Arc::clone(schema), store, &scan)? {
            Ok(c) => {
                checked.push((work.len() == 1).then_some(c));
            }
            Err((report, refusal)) => {
                for e in report.iter().flat_map(|r| &r.errors) {
                    eprintln!("{}", e.display_in(&shown));
                }
                println!("{shown}: {refusal}; nothing recorded");
                refused = true;
                if matches!(refusal, Refusal::NotBaselined(_)) {
                    return Ok(Exit::Usage);
                }
            }
        }
    }
    if refused {
        return Ok(Exit::Failed);
    }
    for ((path, schema), pre) in work.iter().zip(checked) {
        let shown = path.display().to_string();
        let c = match pre {
            Some(c) => c,
            // Checked again against what the files before it recorded.
            None => match file::check(path, Arc::clone(schema), store, &scan)? {
                Ok(c) => c,
                Err((_, refusal)) => {
                    println!("{shown}: {refusal}; nothing recorded from it");
                    return Ok(Exit::Failed);
                }
            },
        };
        let progress = bar(c.set.entries.len() as u64);
        if let Some(b) = &progress {
            b.set_message(c.flow.as_str());
        }
        let done = file::record(path, &c, &target.name, store, |n| {
            if let Some(b) = &progress {
                b.inc(n);
            }
        })?;
        if let Some(b) = progress {
            b.finish_and_clear();
        }
        if args.json {
            println!(
                "{}",
                serde_json::json!({ "file": shown, "target": target.name, "flow": done.flow.as_str(),
                    "entities": done.entities, "recorded": done.recorded, "unchanged": done.unchanged })
            );
        } else {
            println!(
                "{shown}: {} {}: {} entities adopted ({} recorded now, {} already applied as they are)",
                target.name,
                done.flow,
                done.entities,
                done.recorded,
                done.unchanged
            );
        }
    }
    Ok(Exit::Ok)
}

fn from_magento(
    registry: &Registry,
    config: &Config,
    target_name: &str,
    args: &Args,
    store: &mut Store,
) -> anyhow::Result<Exit> {
    let Some(target) = config.target(target_name) else {
        return Ok(Exit::Usage);
    };
    let flows: Vec<Flow> = if args.flow.is_empty() {
        [Flow::Products, Flow::Stock, Flow::Customers]
            .into_iter()
            .filter(|f| target.receives(*f))
            .collect()
    } else {
        let mut v: Vec<Flow> = args.flow.iter().filter_map(|f| Flow::parse(f)).collect();
        v.sort();
        v.dedup();
        if let Some(f) = v.iter().find(|f| !target.receives(**f)) {
            eprintln!("ponte: target {} does not receive {f}", target.name);
            return Ok(Exit::Usage);
        }
        v
    };
    if target.api != crate::model::Api::Rest {
        eprintln!(
            "ponte: target {} speaks {}; --from-magento reads Magento 2 REST only",
            target.name,
            target.api.as_str()
        );
        return Ok(Exit::Usage);
    }
    let reader = ShopReader::new(target, &config.paths.state_dir)?;
    let mut worst = Exit::Ok;
    for flow in flows {
        let schema = registry
            .by_flow(flow.schema_flow())
            .ok_or_else(|| anyhow::anyhow!("no schema for {}", flow.schema_flow()))?;
        let spec = spec_for_flow(flow.schema_flow())
            .ok_or_else(|| anyhow::anyhow!("no entity mapping for {flow}"))?;
        let bound = BoundSpec::bind(spec, schema).map_err(anyhow::Error::msg)?;
        let mut progress: Option<indicatif::ProgressBar> = None;
        let mut on_progress = |p: Progress| match p {
            Progress::Start(f, total) => {
                progress = bar(total);
                if let Some(b) = &progress {
                    b.set_message(format!("{} {f}", target.name));
                }
            }
            Progress::Done(n) => {
                if let Some(b) = &progress {
                    b.set_position(n);
                }
            }
        };
        let result = baseline_flow(&reader, store, &bound, flow, args.restart, &mut on_progress);
        if let Some(b) = progress.take() {
            b.finish_and_clear();
        }
        match result {
            Ok(report) => print_report(&report, args.json),
            Err(e) => {
                eprintln!(
                    "ponte: {} {flow}: {e:#}; what was read is recorded, run again to resume",
                    target.name
                );
                worst = Exit::Failed;
            }
        }
    }
    Ok(worst)
}

fn print_report(report: &FlowReport, json: bool) {
    if json {
        println!(
            "{}",
            serde_json::to_string(report).unwrap_or_else(|_| "{}".into())
        );
    } else {
        println!("{}", report.describe());
    }
}
