//! Stock: one write per SKU and place, carrying the sum of the mapped
//! warehouses' quantities (see `payload::stock_writes`). Batched source
//! items on multi-source shops (one request for up to `stock_batch` writes),
//! one stock item per SKU on single-source shops. When Magento refuses a
//! batch, it is halved until the bad row is alone (see `send_batch`), so
//! that one bad row does not hold back the others. A write's outcome is
//! the outcome of every change it carries. A change at a warehouse the
//! target's map leaves out sends nothing and is applied as it stands; with
//! no map at all, each fails.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use tracing::Instrument;

use reqwest::Method;
use serde_json::json;

use super::{Outcome, TargetContext};
use crate::magento::error::ApiError;
use crate::model::StockMode;
use crate::push::payload::{source_item, stock_item_request, stock_writes, Siblings, StockWrite};
use crate::reconcile::Change;

const SOURCE_ITEMS: &str = "/V1/inventory/source-items";

pub(crate) async fn push(
    ctx: &Arc<TargetContext>,
    changes: &[Change],
    siblings: &Siblings,
) -> Vec<Outcome> {
    let refs: Vec<&Change> = changes.iter().collect();
    let grouped = stock_writes(&ctx.target, &refs, siblings);
    let mut outcomes = vec![Outcome::Failed("not attempted".into()); changes.len()];
    for &i in &grouped.unmapped {
        if let Some(c) = changes.get(i) {
            tracing::debug!(target = %ctx.target.name, key = %c.key, "not sent: the warehouse is not in the target's sources");
        }
        if let Some(slot) = outcomes.get_mut(i) {
            *slot = Outcome::Applied;
        }
    }
    for (i, reason) in grouped.refused {
        if let Some(slot) = outcomes.get_mut(i) {
            *slot = Outcome::Failed(reason);
        }
    }
    let results = match ctx.target.stock {
        StockMode::SingleSource => push_stock_items(ctx, grouped.writes).await,
        StockMode::MultiSource => push_source_items(ctx, grouped.writes).await,
    };
    for (write, outcome) in results {
        for i in write.members {
            if let Some(slot) = outcomes.get_mut(i) {
                *slot = outcome.clone();
            }
        }
    }
    outcomes
}

async fn push_stock_items(
    ctx: &Arc<TargetContext>,
    writes: Vec<StockWrite>,
) -> Vec<(StockWrite, Outcome)> {
    let mut set = tokio::task::JoinSet::new();
    for write in writes {
        let ctx = Arc::clone(ctx);
        set.spawn(
            async move {
                let request = stock_item_request(&write);
                let r = ctx
                    .client
                    .call(Method::PUT, &request.path, Some(&request.body), &[])
                    .await;
                (write, Outcome::from(r.map(|_| ())))
            }
            .in_current_span(),
        );
    }
    joined(set).await
}

async fn push_source_items(
    ctx: &Arc<TargetContext>,
    writes: Vec<StockWrite>,
) -> Vec<(StockWrite, Outcome)> {
    let mut set = tokio::task::JoinSet::new();
    for batch in writes.chunks(ctx.target.stock_batch.max(1)) {
        set.spawn(send_batch(Arc::clone(ctx), batch.to_vec()).in_current_span());
    }
    let mut out = Vec::new();
    for part in joined(set).await {
        out.extend(part);
    }
    out
}

type Sent = Pin<Box<dyn Future<Output = Vec<(StockWrite, Outcome)>> + Send>>;

/// Sends `batch`. Magento refuses a whole batch for one row it cannot take
/// (an unknown SKU), so a refused batch is halved and each half sent on
/// its own, down to the single row at fault: one bad row among n costs
/// about 2·log2(n) requests, where resending row by row cost n, and every
/// good row is applied. Only a refusal is split: an outage fails the batch
/// whole, as more requests would not help.
fn send_batch(ctx: Arc<TargetContext>, batch: Vec<StockWrite>) -> Sent {
    Box::pin(async move {
        let body = json!({ "sourceItems": batch.iter().map(source_item).collect::<Vec<_>>() });
        match ctx
            .client
            .call(Method::POST, SOURCE_ITEMS, Some(&body), &[])
            .await
        {
            Ok(_) => batch.into_iter().map(|w| (w, Outcome::Applied)).collect(),
            Err(ApiError::Rejected { .. }) if batch.len() > 1 => {
                let mut first = batch;
                let second = first.split_off(first.len() / 2);
                let (mut a, b) =
                    tokio::join!(send_batch(Arc::clone(&ctx), first), send_batch(ctx, second));
                a.extend(b);
                a
            }
            Err(e) => {
                let reason = e.to_string();
                batch
                    .into_iter()
                    .map(|w| (w, Outcome::Failed(reason.clone())))
                    .collect()
            }
        }
    })
}

/// Every task's result; a task that panicked leaves its changes "not attempted".
async fn joined<T: 'static>(mut set: tokio::task::JoinSet<T>) -> Vec<T> {
    let mut out = Vec::new();
    while let Some(done) = set.join_next().await {
        match done {
            Ok(t) => out.push(t),
            Err(e) => tracing::error!("a stock task failed: {e}"),
        }
    }
    out
}
