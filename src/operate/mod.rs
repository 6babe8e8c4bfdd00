//! What an operator asks of ponte: what it did, what waits, what Magento
//! refused. The views (`report`) are filled from the state store and the
//! share (`collect`), printed by the `status`, `history`, `failures` and
//! `show` commands, served by the service (`http`, `page`, `metrics`), and
//! pushed to a webhook when something needs a person (`alerts`).

pub(crate) mod alerts;
pub(crate) mod collect;
pub mod health;
pub mod http;
pub(crate) mod page;
pub(crate) mod record;
pub(crate) mod report;
pub(crate) mod table;
pub(crate) mod time;

use crate::config::Config;
use crate::model::Flow;
use ponte_layout::schema::Registry;

/// The service's operator side, as configured: the health check's
/// intervals, the HTTP server, the alerts webhook. Returns the address
/// served, if any.
pub(crate) fn start_for_service(
    config: &Config,
    registry: &Registry,
) -> anyhow::Result<Option<std::net::SocketAddr>> {
    let targets: Vec<(String, bool)> = config
        .targets
        .iter()
        .map(|t| (t.name.clone(), t.receives(Flow::Orders)))
        .collect();
    crate::telemetry::metrics::get().declare(&targets);
    let polls_orders = targets.iter().any(|(_, orders)| *orders);
    health::get().expect(
        health::allowance(config.intake.scan_interval),
        polls_orders.then(|| health::allowance(config.orders.poll_interval)),
    );
    if let Some(w) = &config.ops.webhook {
        alerts::start(alerts::Webhook {
            url: w.url.clone(),
            token: w.token.as_ref().map(|t| t.resolve()).transpose()?,
            quiet: std::time::Duration::from_secs(3600),
            orders_alert_after: config.orders.alert_after,
            expect: config
                .ops
                .expect
                .iter()
                .map(|(f, d)| (f.schema_flow().to_string(), *d))
                .collect(),
        })?;
    }
    match &config.ops.http {
        Some(h) => {
            let token = h.token.as_ref().map(|t| t.resolve()).transpose()?;
            http::start(config, registry, h.listen, token, health::get()).map(Some)
        }
        None => Ok(None),
    }
}
