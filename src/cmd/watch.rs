//! `ponte watch`: the service. Scans the inbound folder every
//! `intake.scan_interval` (earlier when the OS reports a change), takes each
//! complete file in order, pushes it to every target, archives or rejects
//! it, and polls the orders of the targets that take them every
//! `orders.poll_interval` (as `ponte orders pull` does). SIGTERM or SIGINT
//! finish the current file's push, then exit 0; a file still being read
//! stays in progress, read again at the next start. One instance
//! per state directory: a second exits 2 naming the holder's pid. Nothing
//! a file, the share or Magento does ends it (see `flows::service`); a
//! state store that fails does, with exit 3.

use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use super::Exit;
use crate::config::Config;
use crate::flows::inbound::Pusher;
use crate::flows::orders::OrdersPoller;
use crate::flows::retry::FailureRetry;
use crate::flows::service::{run as run_service, stop_on_signals, Periodic, ServiceOptions};
use crate::intake::lock::LockError;
use crate::model::Flow;
use ponte_layout::schema::Registry;

#[derive(clap::Args)]
pub struct Args {
    /// Stop once the inbound and in-progress folders are empty.
    #[arg(long)]
    until_idle: bool,
}

pub fn run(registry: &Registry, config: &Config, args: Args) -> anyhow::Result<Exit> {
    let shutdown = Arc::new(AtomicBool::new(false));
    stop_on_signals(Arc::clone(&shutdown))?;
    let opts = ServiceOptions {
        until_idle: args.until_idle,
    };
    // One runtime for the whole service, and one client per target for the
    // files' push and the retries, which sign in once and share what they
    // learn of the shop (option ids, regions). The orders poll runs on the
    // same runtime with clients of its own (see `OrdersPoller::sharing`).
    let pusher = Pusher::new(config)?;
    // The orders poll, every `orders.poll_interval`, when a target takes orders.
    let mut orders = if config.targets.iter().any(|t| t.receives(Flow::Orders)) {
        Some(OrdersPoller::sharing(config, registry, pusher.clone())?)
    } else {
        None
    };
    crate::operate::start_for_service(config, registry)?;
    // Entities a target refused are sent again, with growing waits.
    let mut retry = FailureRetry::new(config, registry, pusher.clone())?;
    let mut beside: Vec<&mut (dyn Periodic + Send)> = Vec::new();
    if let Some(p) = orders.as_mut() {
        beside.push(p);
    }
    match run_service(
        config,
        registry,
        &pusher,
        shutdown,
        opts,
        &mut [&mut retry],
        &mut beside,
    ) {
        Ok(summary) => {
            println!(
                "archived {} ({} with failures), {} duplicates, {} rejected",
                summary.archived, summary.with_failures, summary.duplicates, summary.rejected
            );
            Ok(Exit::Ok)
        }
        Err(e) => match e.downcast_ref::<LockError>() {
            Some(LockError::Held { .. }) => {
                eprintln!("ponte: {e}");
                Ok(Exit::Usage)
            }
            _ => Err(e),
        },
    }
}
