//! Fetching the orders to export: those in the configured statuses updated
//! after `since`, oldest first, with each registered customer's ERP code.
//!
//! ## Paging by key, not by page number
//!
//! Orders are read in `(updated_at, entity_id)` order, 100 at a time, and
//! each request asks for the orders after the last one received:
//! `updated_at >= T AND (updated_at > T OR entity_id > ID)`, always page 1.
//! Numbered pages (`currentPage` 1, 2, ...) lose orders when the set moves
//! during paging: an order on an earlier page that is updated jumps to the
//! end, every order behind it shifts one place forward, and the one that
//! crosses the page boundary is never seen (nor later, once the watermark
//! has passed it). With the key, an order that moves is simply read again
//! at its new place (the later copy wins), and nothing shifts past the
//! cursor. The last request is the one whose `total_count` (what is left)
//! fits in the page, so no request ever asks for a page past the end,
//! where Magento would answer the last page again.
//!
//! Customer codes come from `GET /V1/customers/{id}` (the
//! `erp_customer_code` attribute ponte's customers flow sets), looked up
//! once per poll; guests and customers without a code get a blank one.
//!
//! A failed request ends the poll there: what was received before it is
//! a prefix in key order, complete up to its last order, and is exported.

use std::collections::HashMap;

use serde_json::Value as Json;

use crate::magento::client::{RestClient, SearchCriteria};
use crate::magento::error::ApiError;

pub(crate) const PAGE_SIZE: u32 = 100;

/// What a poll received.
#[derive(Debug, Default)]
pub(crate) struct Fetched {
    /// Orders with their customer code, in key order, each once.
    pub orders: Vec<(Json, String)>,
    /// Requests made (orders and customers).
    pub requests: u32,
    /// Why the poll stopped early, if it did.
    pub error: Option<ApiError>,
}

pub(crate) struct Query<'a> {
    /// Only orders updated after this (`YYYY-MM-DD hh:mm:ss`).
    pub since: Option<&'a str>,
    pub statuses: &'a [String],
    /// Only orders of these store ids; `None`: every store.
    pub store_ids: Option<&'a [i64]>,
    pub page_size: u32,
}

pub(crate) async fn fetch(client: &RestClient, q: &Query<'_>) -> Fetched {
    let mut out = Fetched::default();
    let mut index: HashMap<i64, usize> = HashMap::new();
    let mut slots: Vec<Option<(Json, String)>> = Vec::new();
    let mut customers: HashMap<i64, String> = HashMap::new();
    let mut cursor: Option<(String, i64)> = None;
    let statuses = q.statuses.join(",");
    let stores = q
        .store_ids
        .map(|ids| ids.iter().map(i64::to_string).collect::<Vec<_>>().join(","));
    loop {
        let mut sc = SearchCriteria::default().filter("status", &statuses, "in");
        if let Some(stores) = &stores {
            sc = sc.filter("store_id", stores, "in");
        }
        if let Some(since) = q.since {
            sc = sc.filter("updated_at", since, "gt");
        }
        if let Some((at, id)) = &cursor {
            let id = id.to_string();
            sc = sc
                .filter("updated_at", at, "gteq")
                .filter_any(&[("updated_at", at, "gt"), ("entity_id", &id, "gt")]);
        }
        let sc = sc
            .sort("updated_at", "ASC")
            .sort("entity_id", "ASC")
            .page(q.page_size, 1);
        out.requests += 1;
        let page = match client.get("/V1/orders", &sc.to_query()).await {
            Ok(p) => p,
            Err(e) => {
                out.error = Some(e);
                break;
            }
        };
        let (items, total) = match read_page(&page) {
            Ok(x) => x,
            Err(e) => {
                out.error = Some(e);
                break;
            }
        };
        let mut keyed = Vec::with_capacity(items.len());
        for item in items {
            match key(item) {
                Some(k) => keyed.push((k, item)),
                None => {
                    out.error = Some(ApiError::Protocol(format!(
                        "an order without entity_id or updated_at: {}",
                        item.to_string().chars().take(200).collect::<String>()
                    )));
                    break;
                }
            }
        }
        if out.error.is_some() {
            break;
        }
        // Customer codes first: a page goes in whole or not at all.
        let mut failed = None;
        for (_, item) in &keyed {
            if let Some(cid) = customer_id(item) {
                if customers.contains_key(&cid) {
                    continue;
                }
                out.requests += 1;
                match client.get(&format!("/V1/customers/{cid}"), &[]).await {
                    Ok(c) => {
                        customers.insert(cid, erp_code(&c));
                    }
                    Err(e) if e.is_not_found() => {
                        tracing::warn!(
                            customer = cid,
                            "customer not found in Magento: blank ERP code"
                        );
                        customers.insert(cid, String::new());
                    }
                    Err(e) => {
                        failed = Some(e);
                        break;
                    }
                }
            }
        }
        if let Some(e) = failed {
            out.error = Some(e);
            break;
        }
        let received = keyed.len();
        let last = keyed.last().map(|(k, _)| k.clone());
        for ((_, id), item) in keyed {
            let code = customer_id(item)
                .and_then(|c| customers.get(&c).cloned())
                .unwrap_or_default();
            if let Some(old) = index.insert(id, slots.len()) {
                slots[old] = None; // read again at its new place: the later copy wins
            }
            slots.push(Some((item.clone(), code)));
        }
        match last {
            Some(k) if (received as u64) < total && received as u32 >= q.page_size => {
                if cursor.as_ref().is_some_and(|c| *c >= k) {
                    out.error = Some(ApiError::Protocol(
                        "the order list did not move forward: is the sort by updated_at and entity_id honoured?".into(),
                    ));
                    break;
                }
                cursor = Some(k);
            }
            _ => break,
        }
    }
    out.orders = slots.into_iter().flatten().collect();
    out
}

fn read_page(page: &Json) -> Result<(&[Json], u64), ApiError> {
    let items = match page.get("items") {
        Some(Json::Array(a)) => a.as_slice(),
        // Magento leaves `items` out of an empty result in some versions.
        None | Some(Json::Null) => &[],
        Some(_) => return Err(ApiError::Protocol("items is not a list".into())),
    };
    let total = page
        .get("total_count")
        .and_then(Json::as_u64)
        .ok_or_else(|| ApiError::Protocol("no total_count in the order list".into()))?;
    Ok((items, total))
}

fn key(order: &Json) -> Option<(String, i64)> {
    let id = order.get("entity_id")?.as_i64()?;
    let at = order.get("updated_at")?.as_str()?;
    crate::magento::time::parse(at)?;
    Some((at.to_string(), id))
}

fn customer_id(order: &Json) -> Option<i64> {
    if order.get("customer_is_guest").and_then(Json::as_i64) == Some(1) {
        return None;
    }
    match order.get("customer_id")? {
        Json::Number(n) => n.as_i64(),
        Json::String(s) => s.parse().ok(),
        _ => None,
    }
}

/// The customer's `erp_customer_code` custom attribute, or blank.
pub(crate) fn erp_code(customer: &Json) -> String {
    customer
        .get("custom_attributes")
        .and_then(Json::as_array)
        .and_then(|attrs| {
            attrs.iter().find(|a| {
                a.get("attribute_code").and_then(Json::as_str) == Some("erp_customer_code")
            })
        })
        .and_then(|a| a.get("value"))
        .and_then(Json::as_str)
        .map(|s| s.trim().to_string())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_the_erp_code_and_the_customer() {
        let c = json!({"custom_attributes": [{"attribute_code": "x", "value": "1"}, {"attribute_code": "erp_customer_code", "value": " C000124 "}]});
        assert_eq!(erp_code(&c), "C000124");
        assert_eq!(erp_code(&json!({})), "");
        assert_eq!(
            customer_id(&json!({"customer_id": 3, "customer_is_guest": 0})),
            Some(3)
        );
        assert_eq!(
            customer_id(&json!({"customer_id": 3, "customer_is_guest": 1})),
            None
        );
        assert_eq!(customer_id(&json!({"customer_is_guest": 1})), None);
    }

    #[test]
    fn keys_need_an_id_and_a_timestamp() {
        assert_eq!(
            key(&json!({"entity_id": 4, "updated_at": "2026-11-27 15:30:02"})),
            Some(("2026-11-27 15:30:02".into(), 4))
        );
        assert_eq!(key(&json!({"entity_id": 4, "updated_at": "soon"})), None);
        assert_eq!(key(&json!({"updated_at": "2026-11-27 15:30:02"})), None);
    }
}
