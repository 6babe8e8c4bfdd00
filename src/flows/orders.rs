//! The orders poll, per target that takes the `orders` flow: settle what an
//! earlier run left unfinished, fetch the orders updated since the
//! watermark (minus `orders.overlap`, for clock skew and for orders saved
//! with a past `updated_at` while ponte was polling), skip those exported
//! before, map the rest, write one ORDINI file by the exactly-once protocol
//! of `crate::orders::export`, then send the comment and status change the
//! target asks for.
//!
//! The watermark moves only to the latest `updated_at` written, and never
//! past an order that could not be written (a mapping or layout problem,
//! recorded in `failures` and logged), so that such an order is fetched
//! again by every poll until it can be: an order is never silently lost.
//! A Magento outage mid-poll ends the poll; what was received before it is
//! written, and the watermark stops there.
//!
//! One poll writes at most one file per target, and none when there is
//! nothing new.
//!
//! Each order's `channel` is its store's: `store_id`, the store code from
//! the shop's store views, the ERP channel from `[target.channels]` (see
//! `crate::orders::stores`). A target with `stores` asks Magento for those
//! stores' orders only. Targets with the same `base_url` are one shop: an
//! order one of them exported is never written by another.

use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::Method;
use serde::Serialize;
use serde_json::json;

use crate::config::{Config, Target};
use crate::flows::inbound::Pusher;
use crate::flows::service::Periodic;
use crate::magento::client::RestClient;
use crate::magento::error::ApiError;
use crate::magento::time;
use crate::model::{Api, Flow};
use crate::orders::export::{self, Hooks, Outbound, Recovered};
use crate::orders::map::{identity, map_order, Context, MapError, MappedOrder};
use crate::orders::poll::{fetch, Query, PAGE_SIZE};
use crate::orders::stores::{self, StoreViews};
use crate::state::{watermark_scope, Store};
use ponte_layout::schema::{Registry, Schema};

/// Tries of one order's comment or status change before giving up.
pub(crate) const FOLLOWUP_ATTEMPTS: i64 = 5;

/// What one poll did for one target.
#[derive(Debug, Clone, Default, Serialize)]
pub struct TargetPoll {
    pub target: String,
    /// Files of earlier runs found delivered (and recorded) or forgotten.
    pub recovered: Vec<String>,
    pub forgotten: Vec<String>,
    pub since: Option<String>,
    pub fetched: usize,
    /// Fetched but exported before.
    pub already_exported: usize,
    /// Fetched but exported (or being exported) by another target on the
    /// same shop: (order, that target). Never written again.
    pub exported_by_other: Vec<(String, String)>,
    pub file: Option<String>,
    pub exported: Vec<String>,
    /// Orders that could not be written: (order, reason).
    pub failed: Vec<(String, String)>,
    pub followups_sent: usize,
    pub followups_failed: usize,
    /// Comments Magento took only without the status change.
    pub statuses_refused: usize,
    pub watermark: Option<String>,
    pub requests: u32,
    /// Why the poll stopped early (Magento unreachable, a store error...).
    pub error: Option<String>,
}

impl TargetPoll {
    pub fn ok(&self) -> bool {
        self.error.is_none() && self.failed.is_empty()
    }
}

struct Shop {
    target: Target,
    client: Option<RestClient>,
}

/// The orders poll of every target that takes orders.
pub struct OrdersPoller {
    pusher: Pusher,
    shops: Vec<Shop>,
    /// Every target and its shop, those without orders too: exports
    /// recorded before the shop was kept (migration 5) are given theirs
    /// before any poll, so that a target polling first sees them.
    all_targets: Vec<(String, String)>,
    schema: Arc<Schema>,
    outbound: std::path::PathBuf,
    overlap: Duration,
    statuses: Vec<String>,
    company: String,
    interval: Duration,
    next: Option<Instant>,
    pub hooks: Hooks,
    pub page_size: u32,
}

impl OrdersPoller {
    pub fn new(config: &Config, registry: &Registry) -> anyhow::Result<OrdersPoller> {
        OrdersPoller::sharing(config, registry, Pusher::new(config)?)
    }

    /// A poll on `pusher`'s runtime, as the service shares it. The poll keeps
    /// clients of its own: a client bounds its concurrency in a fair queue,
    /// and behind a large file's push the poll would wait for the whole file
    /// (tests/service.rs, the orders poll keeps its schedule).
    pub(crate) fn sharing(
        config: &Config,
        registry: &Registry,
        pusher: Pusher,
    ) -> anyhow::Result<OrdersPoller> {
        let schema = registry
            .by_flow(Flow::Orders.schema_flow())
            .ok_or_else(|| {
                anyhow::anyhow!("no ORDINI schema: the orders poll cannot write its files")
            })?;
        let mut shops = Vec::new();
        for t in config.targets.iter().filter(|t| t.receives(Flow::Orders)) {
            let client = match t.api {
                Api::Rest => Some(RestClient::new(t, Some(&config.paths.state_dir))?),
                Api::XmlRpc => None,
            };
            shops.push(Shop {
                target: t.clone(),
                client,
            });
        }
        Ok(OrdersPoller {
            pusher,
            shops,
            all_targets: config
                .targets
                .iter()
                .map(|t| (t.name.clone(), t.base_url.clone()))
                .collect(),
            schema,
            outbound: config.paths.outbound.clone(),
            overlap: config.orders.overlap,
            statuses: config.orders.statuses.clone(),
            company: config.orders.company.clone(),
            interval: config.orders.poll_interval,
            next: None,
            hooks: Hooks::default(),
            page_size: PAGE_SIZE,
        })
    }

    /// The targets polled.
    pub(crate) fn targets(&self) -> Vec<&str> {
        self.shops.iter().map(|s| s.target.name.as_str()).collect()
    }

    /// One poll of every target.
    pub fn poll(&mut self, store: &mut Store) -> Vec<TargetPoll> {
        // Never created here: with the share unmounted, creating it would
        // put ORD files on the local disk under the mount point, marked
        // exported where the ERP never looks. The service creates it at
        // start, once it has seen the share.
        let outbound_missing = !self.outbound.is_dir();
        (0..self.shops.len())
            .map(|i| {
                let mut report = TargetPoll {
                    target: self.shops[i].target.name.clone(),
                    ..TargetPoll::default()
                };
                if outbound_missing {
                    report.error = Some(format!(
                        "the outbound folder {} does not exist: is the share mounted? \
                         (paths.outbound) nothing was exported; the orders wait for the next poll",
                        self.outbound.display()
                    ));
                } else if let Err(e) = self.poll_target(i, store, &mut report) {
                    report.error = Some(format!("{e:#}"));
                }
                if let Err(e) = store.record_orders_poll(&report.target, report.error.as_deref()) {
                    tracing::warn!(target = %report.target, "cannot record the orders poll: {e}");
                }
                log(&report);
                let failing =
                    (!report.ok()).then(|| report.error.as_deref().unwrap_or("orders failed"));
                crate::operate::record::orders_polled(
                    &report.target,
                    failing,
                    report.exported.len(),
                );
                report
            })
            .collect()
    }

    fn poll_target(
        &self,
        i: usize,
        store: &mut Store,
        report: &mut TargetPoll,
    ) -> anyhow::Result<()> {
        let shop = &self.shops[i];
        let t = &shop.target;
        let followup = t.order_comment || t.order_status_after_export.is_some();
        // Before recovery, so that what it records carries the shop too.
        for (name, shop) in &self.all_targets {
            store.adopt_exports(name, shop)?;
        }
        for r in export::recover(store, &self.outbound, &t.name, followup)? {
            match r {
                Recovered::Delivered(w) => report.recovered.push(w.file),
                Recovered::Forgotten { file } => report.forgotten.push(file),
            }
        }
        let Some(client) = &shop.client else {
            anyhow::bail!(
                "the orders poll speaks Magento 2 REST only; this target is {}",
                t.api.as_str()
            );
        };
        if followup {
            self.send_followups(client, store, t, report)?;
        }
        let scope = watermark_scope(&t.name);
        let since = store
            .watermark(&scope)?
            .and_then(|w| time::parse(&w))
            .map(|w| time::format(w - self.overlap.as_secs() as i64));
        report.since = since.clone();
        report.requests += 1;
        let views = self
            .pusher
            .block_on(StoreViews::fetch(client))
            .map_err(|e| anyhow::anyhow!("Magento: the store views: {e}"))?;
        let store_ids = match &t.stores {
            Some(codes) => Some(views.ids(codes).map_err(anyhow::Error::msg)?),
            None => None,
        };
        let query = Query {
            since: since.as_deref(),
            statuses: &self.statuses,
            store_ids: store_ids.as_deref(),
            page_size: self.page_size,
        };
        let fetched = self.pusher.block_on(fetch(client, &query));
        report.requests += fetched.requests;
        report.fetched = fetched.orders.len();

        let mut ids = Vec::with_capacity(fetched.orders.len());
        for (o, _) in &fetched.orders {
            if let Ok((id, _, _)) = identity(o) {
                ids.push(id);
            }
        }
        let done = store.exported_by(&t.name, &t.base_url, &ids)?;
        let mut mapped: Vec<MappedOrder> = Vec::new();
        let mut cap: Option<String> = None;
        for (order, code) in &fetched.orders {
            if let Ok((id, increment_id, _)) = identity(order) {
                match done.get(&id) {
                    Some(by) if *by == t.name => {
                        report.already_exported += 1;
                        continue;
                    }
                    Some(by) => {
                        report.exported_by_other.push((increment_id, by.clone()));
                        continue;
                    }
                    None => {}
                }
            }
            let result = identity(order)
                .and_then(|(_, increment_id, _)| {
                    stores::channel(order, &views, &t.channels, &t.name).map_err(|message| {
                        MapError {
                            order: increment_id,
                            message,
                        }
                    })
                })
                .and_then(|channel| {
                    let ctx = Context {
                        channel,
                        customer_code: code,
                    };
                    map_order(order, &ctx)
                });
            match result {
                Ok(m) => mapped.push(m),
                Err(e) => {
                    store.record_failure(
                        &t.name,
                        Flow::Orders.as_str(),
                        &e.order,
                        None,
                        &e.message,
                        None,
                    )?;
                    report.failed.push((e.order.clone(), e.message.clone()));
                    // Keys were checked while paging: updated_at is there.
                    let at = order
                        .get("updated_at")
                        .and_then(|v| v.as_str())
                        .unwrap_or("");
                    if cap.as_deref().is_none_or(|c| at < c) {
                        cap = Some(at.to_string());
                    }
                }
            }
        }
        if !mapped.is_empty() {
            let out = Outbound {
                dir: &self.outbound,
                schema: &self.schema,
                company: &self.company,
                shop: &t.base_url,
            };
            let (written, refused) = export::export(
                store,
                &out,
                &t.name,
                mapped,
                cap.as_deref(),
                followup,
                &self.hooks,
            )?;
            for r in refused {
                let msg = r.error.to_string();
                store.record_failure(
                    &t.name,
                    Flow::Orders.as_str(),
                    &r.order.increment_id,
                    None,
                    &msg,
                    None,
                )?;
                report.failed.push((r.order.increment_id, msg));
            }
            if let Some(w) = written {
                report.exported = w.orders.iter().map(|o| o.increment_id.clone()).collect();
                report.file = Some(w.file);
            }
            if followup {
                self.send_followups(client, store, t, report)?;
            }
        }
        report.watermark = store.watermark(&scope)?;
        if let Some(e) = fetched.error {
            report.error = Some(format!("Magento: {e}"));
        }
        Ok(())
    }

    /// The comment "exported to the ERP in FILE" (and the status the target
    /// asks for) on each exported order still waiting for it. A failure is
    /// logged and tried again by later polls, up to [`FOLLOWUP_ATTEMPTS`];
    /// it never undoes the export.
    fn send_followups(
        &self,
        client: &RestClient,
        store: &mut Store,
        t: &Target,
        report: &mut TargetPoll,
    ) -> anyhow::Result<()> {
        for o in store.pending_followups(&t.name, FOLLOWUP_ATTEMPTS)? {
            let comment = format!("exported to the ERP in {}", o.file);
            let path = format!("/V1/orders/{}/comments", o.order_id);
            let present = || has_comment(client, &path, &comment);
            // An earlier attempt may have been applied with its answer lost,
            // or before a kill -9 let its result be recorded (attempts is
            // counted after the answer, so it may still say 0): one GET
            // before every post, never a second comment.
            if matches!(self.pusher.block_on(present()), Ok(Some(_))) {
                store.followup_result(&t.name, o.order_id, true)?;
                report.followups_sent += 1;
                continue;
            }
            let mut history = json!({
                "comment": comment,
                "is_customer_notified": 0,
                "is_visible_on_front": 0,
                "parent_id": o.order_id,
            });
            if let Some(status) = &t.order_status_after_export {
                history["status"] = json!(status);
            }
            let post = |history: &serde_json::Value| {
                let body = json!({ "statusHistory": history });
                self.pusher
                    .block_on(client.create(Method::POST, &path, Some(&body), present))
            };
            let mut sent = post(&history);
            if let (Err(ApiError::Rejected { message, .. }), Some(status)) =
                (&sent, &t.order_status_after_export)
            {
                // Magento 2.4.7+ takes only a status of the order's current
                // state in a comment (magento/magento2#38723): the comment
                // still goes, without it.
                tracing::warn!(target = %t.name, order = %o.increment_id, "Magento refused the status {status:?} ({message}); the comment goes without it");
                report.statuses_refused += 1;
                if let Some(h) = history.as_object_mut() {
                    h.remove("status");
                }
                sent = post(&history);
            }
            match sent {
                Ok(_) => {
                    store.followup_result(&t.name, o.order_id, true)?;
                    report.followups_sent += 1;
                }
                Err(e) => {
                    store.followup_result(&t.name, o.order_id, false)?;
                    report.followups_failed += 1;
                    tracing::warn!(target = %t.name, order = %o.increment_id, attempt = o.attempts + 1, "the export comment failed (the export stands): {e}");
                }
            }
        }
        Ok(())
    }
}

/// Whether the order at `path` (its comments) carries `comment` already.
async fn has_comment(
    client: &RestClient,
    path: &str,
    comment: &str,
) -> Result<Option<serde_json::Value>, ApiError> {
    let list = client.get(path, &[]).await?;
    let found = list
        .get("items")
        .and_then(serde_json::Value::as_array)
        .into_iter()
        .flatten()
        .any(|h| h.get("comment").and_then(serde_json::Value::as_str) == Some(comment));
    Ok(found.then_some(serde_json::Value::Bool(true)))
}

fn log(r: &TargetPoll) {
    for f in &r.recovered {
        tracing::info!(target = %r.target, file = %f, "an earlier export was found delivered");
    }
    for (order, reason) in &r.failed {
        tracing::error!(target = %r.target, order = %order, "order not exported: {reason}");
    }
    for (order, by) in &r.exported_by_other {
        tracing::warn!(target = %r.target, order = %order, by = %by, "order exported by target {by:?} of the same shop: not written again (do the targets' `stores` overlap?)");
    }
    match &r.error {
        Some(e) => {
            tracing::error!(target = %r.target, exported = r.exported.len(), file = ?r.file, "orders poll failed: {e}")
        }
        None => tracing::info!(
            target = %r.target,
            fetched = r.fetched,
            exported = r.exported.len(),
            already_exported = r.already_exported,
            file = ?r.file,
            "orders polled"
        ),
    }
}

impl Periodic for OrdersPoller {
    fn due(&mut self, now: Instant) -> bool {
        self.next.is_none_or(|n| now >= n)
    }

    fn run(&mut self, store: &mut Store) -> anyhow::Result<()> {
        self.next = Some(Instant::now() + self.interval);
        let reports = self.poll(store);
        let failed: Vec<&str> = reports
            .iter()
            .filter(|r| !r.ok())
            .map(|r| r.target.as_str())
            .collect();
        if failed.is_empty() {
            Ok(())
        } else {
            anyhow::bail!("orders poll failed for {}", failed.join(", "))
        }
    }
}
