//! The store an order came from, and the ERP channel that stands for it.
//!
//! An order carries its store's id (`store_id`); the store's code comes from
//! `GET /V1/store/storeViews`, read once per poll, and the target's
//! `[target.channels]` maps the code to the channel the ERP knows. The
//! same table turns the target's `stores` (codes) into the ids the poll
//! filters on.
//!
//! An order whose store has no channel is not written: a channel made up
//! from something else (the target's name, the store code) would file the
//! order under a sales channel nobody chose, which the ERP cannot tell from
//! a right one. The order is reported with the key to add, and fetched
//! again by every poll until it can be written.

use std::collections::{BTreeMap, HashMap};

use serde_json::Value as Json;

use crate::magento::client::RestClient;
use crate::magento::error::ApiError;

/// Store id -> store code, as the shop lists its store views.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct StoreViews {
    codes: HashMap<i64, String>,
}

impl StoreViews {
    pub(crate) async fn fetch(client: &RestClient) -> Result<StoreViews, ApiError> {
        let list = client.get("/V1/store/storeViews", &[]).await?;
        StoreViews::from_json(&list)
    }

    /// The `store-data-store-interface` list of `GET /V1/store/storeViews`.
    pub(crate) fn from_json(list: &Json) -> Result<StoreViews, ApiError> {
        let items = list
            .as_array()
            .ok_or_else(|| ApiError::Protocol("the store views are not a list".into()))?;
        let mut codes = HashMap::with_capacity(items.len());
        for item in items {
            let id = item.get("id").and_then(Json::as_i64);
            let code = item.get("code").and_then(Json::as_str);
            let (Some(id), Some(code)) = (id, code) else {
                return Err(ApiError::Protocol(format!(
                    "a store view without id or code: {}",
                    item.to_string().chars().take(200).collect::<String>()
                )));
            };
            codes.insert(id, code.to_string());
        }
        Ok(StoreViews { codes })
    }

    pub(crate) fn code(&self, id: i64) -> Option<&str> {
        self.codes.get(&id).map(String::as_str)
    }

    /// The ids of `codes`, in their order; a code the shop does not have is
    /// an error naming it and the codes it has.
    pub(crate) fn ids(&self, codes: &[String]) -> Result<Vec<i64>, String> {
        codes
            .iter()
            .map(|code| {
                self.codes
                    .iter()
                    .find(|(_, c)| *c == code)
                    .map(|(id, _)| *id)
                    .ok_or_else(|| {
                        let mut known: Vec<&str> =
                            self.codes.values().map(String::as_str).collect();
                        known.sort_unstable();
                        format!(
                            "stores: \"{code}\" is not a store view of this shop (it has {})",
                            known.join(", ")
                        )
                    })
            })
            .collect()
    }
}

/// The order's `store_id`: an integer, or a numeric string.
fn store_id(order: &Json) -> Option<i64> {
    match order.get("store_id")? {
        Json::Number(n) => n.as_i64(),
        Json::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// The ERP channel of `order`, or why it has none (`target` names the
/// configuration table to fix).
pub(crate) fn channel<'c>(
    order: &Json,
    views: &StoreViews,
    channels: &'c BTreeMap<String, String>,
    target: &str,
) -> Result<&'c str, String> {
    let Some(id) = store_id(order) else {
        return Err("no store_id: the store, and so the ERP channel, is unknown".into());
    };
    let Some(code) = views.code(id) else {
        return Err(format!(
            "store_id {id} is not among the shop's store views: no ERP channel"
        ));
    };
    channels.get(code).map(String::as_str).ok_or_else(|| {
        format!(
            "store \"{code}\" (id {id}) has no ERP channel: add {code} = \"...\" to \
             [target.channels] of target \"{target}\" (or leave that store to another \
             target with `stores`)"
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn views() -> StoreViews {
        StoreViews::from_json(&json!([
            {"id": 0, "code": "admin", "name": "Admin", "website_id": 0, "store_group_id": 0, "is_active": 1},
            {"id": 1, "code": "default", "name": "Default Store View", "website_id": 1, "store_group_id": 1, "is_active": 1},
            {"id": 2, "code": "b2b", "name": "B2B", "website_id": 2, "store_group_id": 2, "is_active": 1},
        ]))
        .unwrap()
    }

    #[test]
    fn an_orders_channel_is_its_stores() {
        let v = views();
        let channels: BTreeMap<String, String> = [("default", "B2C"), ("b2b", "B2B")]
            .map(|(k, c)| (k.to_string(), c.to_string()))
            .into();
        let ch = |o: Json| channel(&o, &v, &channels, "b2c");
        assert_eq!(ch(json!({"store_id": 2})), Ok("B2B"));
        assert_eq!(ch(json!({"store_id": "1"})), Ok("B2C"));
        assert!(ch(json!({})).unwrap_err().contains("no store_id"));
        assert!(ch(json!({"store_id": 9}))
            .unwrap_err()
            .contains("store_id 9"));
        let only_b2c: BTreeMap<String, String> =
            [("default".to_string(), "B2C".to_string())].into();
        let e = channel(&json!({"store_id": 2}), &v, &only_b2c, "b2c").unwrap_err();
        assert!(
            e.contains("store \"b2b\" (id 2) has no ERP channel: add b2b = \"...\" to [target.channels] of target \"b2c\""),
            "{e}"
        );
    }

    #[test]
    fn store_codes_become_ids() {
        let v = views();
        assert_eq!(v.ids(&["b2b".into(), "default".into()]), Ok(vec![2, 1]));
        let e = v.ids(&["b2c".into()]).unwrap_err();
        assert!(
            e.contains("\"b2c\" is not a store view of this shop (it has admin, b2b, default)"),
            "{e}"
        );
        assert!(StoreViews::from_json(&json!({"id": 1})).is_err());
        assert!(StoreViews::from_json(&json!([{"id": 1}])).is_err());
    }
}
