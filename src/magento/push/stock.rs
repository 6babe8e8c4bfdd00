//! Stock: batched source items on multi-source shops (one request for up to
//! `stock_batch` rows), one stock item per SKU on single-source shops. When
//! Magento refuses a batch, its rows are sent one by one, so that one bad
//! row does not hold back the others.

use std::sync::Arc;

use reqwest::Method;
use serde_json::json;

use super::{for_each, Outcome, TargetContext};
use crate::config::StockMode;
use crate::magento::error::ApiError;
use crate::magento::payload::{source_item, stock_requests};
use crate::reconcile::Change;

const SOURCE_ITEMS: &str = "/V1/inventory/source-items";

pub async fn push(ctx: &Arc<TargetContext>, changes: &[Change]) -> Vec<Outcome> {
    match ctx.target.stock {
        StockMode::SingleSource => {
            for_each(ctx, changes, |ctx, change| async move {
                let (mut requests, _) = stock_requests(&ctx.target, &[&change]);
                let request = requests
                    .pop()
                    .ok_or_else(|| ApiError::Protocol("no stock request".into()))?;
                ctx.client
                    .call(Method::PUT, &request.path, Some(&request.body), &[])
                    .await?;
                Ok(())
            })
            .await
        }
        StockMode::MultiSource => push_source_items(ctx, changes).await,
    }
}

async fn push_source_items(ctx: &Arc<TargetContext>, changes: &[Change]) -> Vec<Outcome> {
    let mut outcomes = vec![Outcome::Failed("not attempted".into()); changes.len()];
    let mut items = Vec::new();
    for (i, c) in changes.iter().enumerate() {
        match source_item(&ctx.target, c) {
            Ok(item) => items.push((i, item)),
            Err(message) => outcomes[i] = Outcome::Failed(message),
        }
    }
    let mut set = tokio::task::JoinSet::new();
    for batch in items.chunks(ctx.target.stock_batch.max(1)) {
        let batch = batch.to_vec();
        let ctx = Arc::clone(ctx);
        set.spawn(async move {
            let body =
                json!({ "sourceItems": batch.iter().map(|(_, item)| item).collect::<Vec<_>>() });
            match ctx
                .client
                .call(Method::POST, SOURCE_ITEMS, Some(&body), &[])
                .await
            {
                Ok(_) => batch
                    .iter()
                    .map(|(i, _)| (*i, Outcome::Applied))
                    .collect::<Vec<_>>(),
                Err(ApiError::Rejected { .. }) if batch.len() > 1 => {
                    let mut one_by_one = Vec::with_capacity(batch.len());
                    for (i, item) in &batch {
                        let body = json!({ "sourceItems": [item] });
                        let r = ctx
                            .client
                            .call(Method::POST, SOURCE_ITEMS, Some(&body), &[])
                            .await;
                        one_by_one.push((*i, Outcome::from(r.map(|_| ()))));
                    }
                    one_by_one
                }
                Err(e) => batch
                    .iter()
                    .map(|(i, _)| (*i, Outcome::Failed(e.to_string())))
                    .collect(),
            }
        });
    }
    while let Some(joined) = set.join_next().await {
        match joined {
            Ok(results) => {
                for (i, o) in results {
                    outcomes[i] = o;
                }
            }
            Err(e) => tracing::error!("a stock batch task failed: {e}"),
        }
    }
    outcomes
}
