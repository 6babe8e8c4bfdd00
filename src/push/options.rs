//! Select attributes (color, size, brand) take option ids in Magento. Labels
//! are resolved through the attribute's options, missing options created
//! (once, even when an answer is lost), and the answers cached for the run.

use std::collections::HashMap;

use reqwest::Method;
use serde_json::{json, Value as Json};
use tokio::sync::Mutex;

use crate::magento::client::RestClient;
use crate::magento::error::ApiError;
use crate::push::payload::path_segment;

#[derive(Default)]
pub(crate) struct OptionCache {
    /// attribute code -> label -> option id. One lock, so that two tasks
    /// never create the same option twice.
    options: Mutex<HashMap<String, HashMap<String, String>>>,
    attribute_ids: Mutex<HashMap<String, i64>>,
}

impl OptionCache {
    /// The option id for `label`, creating the option when the shop lacks it.
    pub(crate) async fn option_id(
        &self,
        client: &RestClient,
        code: &str,
        label: &str,
    ) -> Result<String, ApiError> {
        let mut all = self.options.lock().await;
        if !all.contains_key(code) {
            let loaded = load(client, code).await?;
            all.insert(code.to_string(), loaded);
        }
        if let Some(id) = all.get(code).and_then(|m| m.get(label)) {
            return Ok(id.clone());
        }
        let path = format!("/V1/products/attributes/{}/options", path_segment(code));
        // `value` is required by the 2.4.8 schema; Magento's
        // OptionManagement::add reads an empty one as "a new option" (the
        // id comes back in the answer).
        let body = json!({ "option": { "label": label, "value": "", "sort_order": 0,
            "is_default": false, "store_labels": [{ "store_id": 0, "label": label }] } });
        // After a lost answer, the label in the list is the option the
        // first attempt created (Magento compares labels ignoring case).
        let created = || async {
            let now = load(client, code).await?;
            Ok(now
                .iter()
                .find(|(l, _)| l.eq_ignore_ascii_case(label.trim()))
                .map(|(_, id)| Json::String(id.clone())))
        };
        let answer = client
            .create(Method::POST, &path, Some(&body), created)
            .await?;
        // Magento 2.4 answers "id_57"; older versions answered true.
        let id = answer
            .as_str()
            .map(|s| s.trim_start_matches("id_").to_string())
            .filter(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()));
        let id = match id {
            Some(id) => id,
            None => {
                let reloaded = load(client, code).await?;
                let found = reloaded.get(label).cloned();
                all.insert(code.to_string(), reloaded);
                found.ok_or_else(|| {
                    ApiError::Protocol(format!(
                        "option {label:?} of {code} was created but cannot be found"
                    ))
                })?
            }
        };
        all.entry(code.to_string())
            .or_default()
            .insert(label.to_string(), id.clone());
        Ok(id)
    }

    /// The numeric id of an attribute, for configurable options.
    pub(crate) async fn attribute_id(
        &self,
        client: &RestClient,
        code: &str,
    ) -> Result<i64, ApiError> {
        let mut ids = self.attribute_ids.lock().await;
        if let Some(id) = ids.get(code) {
            return Ok(*id);
        }
        let a = client
            .get(
                &format!("/V1/products/attributes/{}", path_segment(code)),
                &[],
            )
            .await?;
        let id = a
            .get("attribute_id")
            .and_then(|v| {
                v.as_i64()
                    .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
            })
            .ok_or_else(|| ApiError::Protocol(format!("attribute {code} has no attribute_id")))?;
        ids.insert(code.to_string(), id);
        Ok(id)
    }
}

async fn load(client: &RestClient, code: &str) -> Result<HashMap<String, String>, ApiError> {
    let list = client
        .get(
            &format!("/V1/products/attributes/{}/options", path_segment(code)),
            &[],
        )
        .await?;
    let mut map = HashMap::new();
    for o in list.as_array().into_iter().flatten() {
        let label = o
            .get("label")
            .and_then(Json::as_str)
            .unwrap_or_default()
            .trim();
        let value = match o.get("value") {
            Some(Json::String(s)) => s.clone(),
            Some(Json::Number(n)) => n.to_string(),
            _ => continue,
        };
        if !label.is_empty() && !value.is_empty() {
            map.insert(label.to_string(), value);
        }
    }
    Ok(map)
}
