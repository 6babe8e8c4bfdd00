//! Fulfilment events on orders found by increment id: shipments with their
//! items and tracking, invoices, cancellations. None of these is idempotent
//! in Magento, so each first looks at the order: a shipment whose tracking
//! number is already there, an order already invoiced or cancelled, counts
//! as done. A crash between Magento's answer and the acknowledgement does
//! not make a second shipment. Nor does a lost answer: before sending an
//! event again, the order is read back, and quantities shipped or invoiced
//! beyond what it had before the first attempt (or its cancellation) mean
//! the first attempt took effect (see `RestClient::create`).

use std::convert::Infallible;
use std::sync::Arc;
use tracing::Instrument;

use reqwest::Method;
use serde_json::{json, Value as Json};

use super::{Outcome, TargetContext};
use crate::magento::client::SearchCriteria;
use crate::magento::error::ApiError;
use crate::push::payload::{fulfilment_request, Request};
use crate::reconcile::{Change, FulfilmentAct, FulfilmentChange};

pub(crate) async fn push(ctx: &Arc<TargetContext>, changes: &[Change]) -> Vec<Outcome> {
    // Events of one order go in file order (ship, then invoice); orders go
    // side by side.
    let mut by_order: Vec<(String, Vec<(usize, FulfilmentChange)>)> = Vec::new();
    let mut outcomes = vec![Outcome::Failed("not attempted".into()); changes.len()];
    for (i, c) in changes.iter().enumerate() {
        let event = match FulfilmentChange::of(c) {
            Ok(event) => event,
            Err(message) => {
                outcomes[i] = Outcome::from(Err(ApiError::Rejected { status: 0, message }));
                continue;
            }
        };
        match by_order.iter_mut().find(|(o, _)| *o == event.order_number) {
            Some((_, events)) => events.push((i, event)),
            None => by_order.push((event.order_number.clone(), vec![(i, event)])),
        }
    }
    let mut set = tokio::task::JoinSet::new();
    for (_, events) in by_order {
        let ctx = Arc::clone(ctx);
        set.spawn(
            async move {
                let mut done = Vec::with_capacity(events.len());
                for (i, event) in events {
                    done.push((i, Outcome::from(apply_event(&ctx, &event).await)));
                }
                done
            }
            .in_current_span(),
        );
    }
    while let Some(joined) = set.join_next().await {
        match joined {
            Ok(done) => {
                for (i, o) in done {
                    outcomes[i] = o;
                }
            }
            Err(e) => tracing::error!("a fulfilment task failed: {e}"),
        }
    }
    outcomes
}

async fn find_order(ctx: &TargetContext, increment_id: &str) -> Result<Json, ApiError> {
    let criteria = SearchCriteria::default().filter("increment_id", increment_id, "eq");
    let found = ctx.client.get("/V1/orders", &criteria.to_query()).await?;
    found
        .get("items")
        .and_then(Json::as_array)
        .and_then(|items| items.first().cloned())
        .ok_or_else(|| ApiError::Rejected {
            status: 404,
            message: format!("order {increment_id} is not in the shop"),
        })
}

/// The request of an invoice or a cancellation, which name no items (so
/// no item id is looked up).
fn order_request(ctx: &TargetContext, event: &FulfilmentChange, id: i64) -> Request {
    let no_lookup = |_: &str| Ok::<Json, Infallible>(Json::Null);
    fulfilment_request(&ctx.target, event, &id.to_string(), no_lookup)
        .unwrap_or_else(|never| match never {})
}

async fn apply_event(ctx: &TargetContext, event: &FulfilmentChange) -> Result<(), ApiError> {
    let order = find_order(ctx, &event.order_number).await?;
    let id = order
        .get("entity_id")
        .and_then(Json::as_i64)
        .ok_or_else(|| ApiError::Protocol("an order without entity_id".into()))?;
    match event.act {
        FulfilmentAct::Ship => ship(ctx, event, &order, id).await,
        FulfilmentAct::Invoice => {
            let invoiced = order
                .get("total_invoiced")
                .and_then(Json::as_f64)
                .unwrap_or(0.0);
            let total = order
                .get("grand_total")
                .and_then(Json::as_f64)
                .unwrap_or(f64::MAX);
            if invoiced >= total {
                return Ok(());
            }
            let lines = parent_lines(&order);
            let before = sum_of(&lines, "qty_invoiced");
            let request = order_request(ctx, event, id);
            ctx.client
                .create(Method::POST, &request.path, Some(&request.body), || {
                    grown(ctx, id, &lines, "qty_invoiced", before)
                })
                .await?;
            Ok(())
        }
        FulfilmentAct::Cancel => {
            if order.get("state").and_then(Json::as_str) == Some("canceled") {
                return Ok(());
            }
            let request = order_request(ctx, event, id);
            let done = ctx
                .client
                .create(Method::POST, &request.path, None, || canceled(ctx, id))
                .await?;
            if done == Json::Bool(true) {
                return Ok(());
            }
            // `false` is also Magento's answer to a second cancel: read the
            // state again, for the verdict and for the message.
            let now = read_order(ctx, id).await?;
            let state = now.get("state").and_then(Json::as_str).unwrap_or("?");
            if state == "canceled" {
                return Ok(());
            }
            Err(ApiError::Rejected {
                status: 200,
                message: format!(
                    "Magento cannot cancel order {} in state {state}",
                    event.order_number,
                ),
            })
        }
    }
}

async fn ship(
    ctx: &TargetContext,
    event: &FulfilmentChange,
    order: &Json,
    id: i64,
) -> Result<(), ApiError> {
    let tracking = event.tracking_number.as_str();
    // Each shipment carries the ERP event it makes, in a comment of its
    // own: what Magento holds says whether this event was shipped, across
    // crashes and lost answers alike (a partial shipment without tracking
    // number has nothing else to tell it by).
    let marker = event.marker();
    let made = shipments_of(ctx, id).await?.iter().any(|s| {
        carries(s, "comments", "comment", &marker)
            || (!tracking.is_empty() && carries(s, "tracks", "track_number", tracking))
    });
    if made {
        return Ok(());
    }
    let lines = parent_lines(order);
    let mut asked = Vec::new();
    let request = fulfilment_request(&ctx.target, event, &id.to_string(), |sku| {
        let line = lines
            .iter()
            .find(|l| l.get("sku").and_then(Json::as_str) == Some(sku))
            .ok_or_else(|| ApiError::Rejected {
                status: 0,
                message: format!("order {} has no item {sku}", event.order_number),
            })?;
        asked.push(line.clone());
        Ok(json!(line
            .get("item_id")
            .and_then(Json::as_i64)
            .unwrap_or_default()))
    })?;
    // No items ships everything left, so any line may grow.
    let watched = if asked.is_empty() { lines } else { asked };
    let before = sum_of(&watched, "qty_shipped");
    ctx.client
        .create(Method::POST, &request.path, Some(&request.body), || {
            grown(ctx, id, &watched, "qty_shipped", before)
        })
        .await?;
    Ok(())
}

/// The order's own lines: a configurable line's child row follows its
/// parent and is never shipped or invoiced alone.
fn parent_lines(order: &Json) -> Vec<Json> {
    order
        .get("items")
        .and_then(Json::as_array)
        .map(|items| {
            items
                .iter()
                .filter(|i| i.get("parent_item_id").is_none_or(Json::is_null))
                .cloned()
                .collect()
        })
        .unwrap_or_default()
}

fn number(v: Option<&Json>) -> f64 {
    match v {
        Some(Json::Number(n)) => n.as_f64().unwrap_or(0.0),
        Some(Json::String(s)) => s.parse().unwrap_or(0.0),
        _ => 0.0,
    }
}

/// `key` (`qty_shipped`, `qty_invoiced`) summed over `lines`.
fn sum_of(lines: &[Json], key: &str) -> f64 {
    lines.iter().map(|l| number(l.get(key))).sum()
}

async fn read_order(ctx: &TargetContext, id: i64) -> Result<Json, ApiError> {
    ctx.client.get(&format!("/V1/orders/{id}"), &[]).await
}

/// Whether `key` of the order's `lines` grew past `before`, read back from
/// Magento: an earlier attempt of a shipment or invoice took effect. Only
/// ponte ships and invoices these orders from the ERP's events, and the
/// events of one order go one after the other, so growth is this event's.
async fn grown(
    ctx: &TargetContext,
    id: i64,
    lines: &[Json],
    key: &str,
    before: f64,
) -> Result<Option<Json>, ApiError> {
    let now = read_order(ctx, id).await?;
    let ids: Vec<i64> = lines
        .iter()
        .filter_map(|l| l.get("item_id").and_then(Json::as_i64))
        .collect();
    let after: f64 = now
        .get("items")
        .and_then(Json::as_array)
        .into_iter()
        .flatten()
        .filter(|i| {
            i.get("item_id")
                .and_then(Json::as_i64)
                .is_some_and(|id| ids.contains(&id))
        })
        .map(|i| number(i.get(key)))
        .sum();
    Ok((after > before + 1e-9).then_some(Json::Null))
}

async fn canceled(ctx: &TargetContext, id: i64) -> Result<Option<Json>, ApiError> {
    let now = read_order(ctx, id).await?;
    Ok((now.get("state").and_then(Json::as_str) == Some("canceled")).then_some(Json::Bool(true)))
}

/// The order's shipments, as Magento lists them.
async fn shipments_of(ctx: &TargetContext, order_id: i64) -> Result<Vec<Json>, ApiError> {
    let criteria = SearchCriteria::default().filter("order_id", &order_id.to_string(), "eq");
    let shipments = ctx
        .client
        .get("/V1/shipments", &criteria.to_query())
        .await?;
    Ok(shipments
        .get("items")
        .and_then(Json::as_array)
        .cloned()
        .unwrap_or_default())
}

/// Whether a shipment holds, in its list `list`, an entry whose `field`
/// is `value` (a comment's text, a track's number).
fn carries(shipment: &Json, list: &str, field: &str, value: &str) -> bool {
    shipment
        .get(list)
        .and_then(Json::as_array)
        .into_iter()
        .flatten()
        .any(|e| e.get(field).and_then(Json::as_str) == Some(value))
}
