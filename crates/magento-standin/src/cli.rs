//! `magento-standin` (and `ponte stand-in`) `[--listen ADDR] [--fixture FILE] [--latency-ms N] [--error-rate F] [--lost-reply-rate F]`:
//! a Magento 2.4 stand-in for trying ponte without a shop.
//!
//! Serves Magento's REST routes that ponte uses under `/rest/V1/...` and
//! `/rest/{default,all,b2c,b2b}/V1/...`, answering in Magento's shapes and
//! with its error messages. Prints the base URL and the bearer token (admin
//! users can also sign in at `POST /rest/V1/integration/admin/token`), then
//! runs until Ctrl-C. Default listen address 127.0.0.1:8089; default shop
//! the demo fixture (`--fixture FILE`: JSON of [`Fixture`]).
//!
//! A control API, without token: `GET /__standin/state` (the whole shop as
//! JSON), `GET /__standin/requests`, `GET|POST /__standin/faults`
//! (`{"latency_ms": 200, "error_rate": 0.1, "error_statuses": [503], "drop_rate": 0.0, "lost_reply_rate": 0.0, "seed": 1}`:
//! `drop_rate` closes the connection before handling the request,
//! `lost_reply_rate` after applying it, so the answer is lost),
//! `POST /__standin/expire-tokens`.
//!
//! Needs no configuration file. Exit 0 after Ctrl-C, 2 when the address
//! cannot be bound or the fixture read.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use crate::{Faults, Fixture, StandIn};

#[derive(clap::Args)]
pub struct Args {
    /// Address to listen on (port 0: any free port).
    #[arg(long, default_value = "127.0.0.1:8089")]
    listen: SocketAddr,
    /// The shop to start with (JSON); default: the demo shop.
    #[arg(long)]
    fixture: Option<PathBuf>,
    /// Delay before every answer, in milliseconds.
    #[arg(long, default_value_t = 0)]
    latency_ms: u64,
    /// Share of requests (0 to 1) answered with a 500 or 503 instead.
    #[arg(long, default_value_t = 0.0)]
    error_rate: f64,
    /// Share of requests (0 to 1) applied, then closed without their answer.
    #[arg(long, default_value_t = 0.0)]
    lost_reply_rate: f64,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    if !(0.0..=1.0).contains(&args.error_rate) {
        anyhow::bail!("--error-rate must be between 0 and 1");
    }
    if !(0.0..=1.0).contains(&args.lost_reply_rate) {
        anyhow::bail!("--lost-reply-rate must be between 0 and 1");
    }
    let fixture = match &args.fixture {
        Some(path) => Fixture::from_file(path)?,
        None => Fixture::demo(),
    };
    let token = fixture.integration_token.clone();
    let admins: Vec<String> = fixture
        .admin_users
        .iter()
        .map(|u| u.username.clone())
        .collect();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let outcome = runtime.block_on(async move {
        let shop = StandIn::start(args.listen, fixture).await?;
        shop.set_faults(Faults {
            latency: Duration::from_millis(args.latency_ms),
            error_rate: args.error_rate,
            lost_reply_rate: args.lost_reply_rate,
            ..Faults::default()
        });
        println!("Magento stand-in listening");
        println!("base_url: {}", shop.base_url);
        println!("token:    {token}");
        println!(
            "admins:   {} (POST /rest/V1/integration/admin/token)",
            admins.join(", ")
        );
        println!(
            "control:  {}/__standin/state, /__standin/faults",
            shop.base_url
        );
        tracing::info!(base_url = %shop.base_url, "stand-in started");
        tokio::signal::ctrl_c().await?;
        tracing::info!("stand-in stopping");
        shop.shutdown();
        Ok(())
    });
    // Open client connections would otherwise hold the runtime's shutdown.
    runtime.shutdown_timeout(Duration::from_millis(200));
    outcome
}
