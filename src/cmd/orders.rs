//! `ponte orders pull [--target NAME] [--json]`: one orders poll now.
//!
//! For each target that takes the `orders` flow (or only `--target`):
//! settle exports an earlier run left unfinished, fetch the orders updated
//! since the target's watermark (minus `orders.overlap`) in the configured
//! statuses, write those not exported before as one `ORDyyyymmddhhmmss.txt`
//! in `paths.outbound` (exactly once: see `src/orders/export.rs`), then add
//! the comment and status change the target asks for. One line per target
//! on stdout (`--json`: one JSON object per target).
//!
//! Exit 0 when every target was polled fine; 1 when a poll failed (Magento
//! unreachable, an order that could not be written); 2 on usage or
//! configuration errors, or when a `ponte watch` holds the state directory
//! (it polls orders itself, every `orders.poll_interval`).

use super::{lock_or_usage, Exit};
use crate::config::Config;
use crate::flows::orders::{OrdersPoller, TargetPoll};
use crate::model::Flow;
use crate::state::Store;
use ponte_layout::schema::Registry;

#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: Sub,
}

#[derive(clap::Subcommand)]
enum Sub {
    /// Poll Magento's orders now and write them for the ERP.
    Pull(PullArgs),
}

#[derive(clap::Args)]
struct PullArgs {
    /// Poll only this target.
    #[arg(long)]
    target: Option<String>,
    /// One JSON object per target on stdout.
    #[arg(long)]
    json: bool,
}

pub fn run(registry: &Registry, config: &Config, args: Args) -> anyhow::Result<Exit> {
    let Sub::Pull(args) = args.command;
    let mut config = config.clone();
    if let Some(name) = &args.target {
        match config.target(name) {
            Some(t) if t.receives(Flow::Orders) => config.targets.retain(|t| &t.name == name),
            Some(_) => {
                eprintln!("ponte: target {name:?} does not take the orders flow");
                return Ok(Exit::Usage);
            }
            None => {
                let known: Vec<&str> = config.targets.iter().map(|t| t.name.as_str()).collect();
                eprintln!("ponte: no target {name:?} (known: {})", known.join(", "));
                return Ok(Exit::Usage);
            }
        }
    }
    let Some(_lock) = lock_or_usage(&config.paths.state_dir, ": the service polls orders itself")?
    else {
        return Ok(Exit::Usage);
    };
    let mut poller = OrdersPoller::new(&config, registry)?;
    if poller.targets().is_empty() {
        eprintln!("ponte: no target takes the orders flow");
        return Ok(Exit::Usage);
    }
    // A person running this sees where the files go: the folder is made
    // here, as the service makes it at start. The poll itself never makes
    // it (an unmounted share must not get a local twin).
    anyhow::Context::with_context(std::fs::create_dir_all(&config.paths.outbound), || {
        format!(
            "cannot create the outbound folder {}",
            config.paths.outbound.display()
        )
    })?;
    let mut store = Store::open(&config.paths.state_dir)?;
    let reports = poller.poll(&mut store);
    for r in &reports {
        if args.json {
            println!("{}", serde_json::to_string(r)?);
        } else {
            println!("{}", line(r));
        }
    }
    Ok(if reports.iter().all(TargetPoll::ok) {
        Exit::Ok
    } else {
        Exit::Failed
    })
}

fn line(r: &TargetPoll) -> String {
    let mut s = format!(
        "{}: {} exported{}, {} already exported, {} failed",
        r.target,
        r.exported.len(),
        r.file
            .as_ref()
            .map(|f| format!(" in {f}"))
            .unwrap_or_default(),
        r.already_exported,
        r.failed.len()
    );
    if !r.exported_by_other.is_empty() {
        s.push_str(&format!(
            "; {} exported by another target of the shop",
            r.exported_by_other.len()
        ));
    }
    if !r.recovered.is_empty() {
        s.push_str(&format!("; recovered {}", r.recovered.join(", ")));
    }
    if r.followups_failed > 0 {
        s.push_str(&format!(
            "; {} comments failed (will retry)",
            r.followups_failed
        ));
    }
    if let Some(e) = &r.error {
        s.push_str(&format!("; error: {e}"));
    }
    s
}
