//! Products in three steps: every product saved (`PUT /V1/products/{sku}`),
//! then configurable parents given their options, then variants linked to
//! their parents. A product fails as a whole if any of its steps fails.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use reqwest::Method;
use serde_json::{json, Value as Json};

use super::{for_each, Outcome, TargetContext};
use crate::magento::error::ApiError;
use crate::push::payload::{path_segment, product_change_requests, ALL_STORES, SELECT_ATTRIBUTES};
use crate::reconcile::{Change, ProductChange, ProductKind};

pub(crate) async fn push(ctx: &Arc<TargetContext>, changes: &[Change]) -> Vec<Outcome> {
    let products: Vec<ProductChange> = changes.iter().map(ProductChange::of).collect();
    let mut outcomes = for_each(ctx, &products, |ctx, product| async move {
        save(&ctx, &product).await
    })
    .await;

    // Option values of each parent's axes, from the variants being sent.
    let mut axis_values: HashMap<&str, HashMap<&str, BTreeSet<&str>>> = HashMap::new();
    for p in products.iter().filter(|p| p.kind == ProductKind::Variant) {
        for (axis, value) in &p.axis_values {
            axis_values
                .entry(p.parent.as_str())
                .or_default()
                .entry(axis)
                .or_default()
                .insert(value);
        }
    }
    for (i, p) in products.iter().enumerate() {
        if outcomes[i] != Outcome::Applied || !p.becomes_parent() {
            continue;
        }
        let values = axis_values.get(p.sku.as_str());
        outcomes[i] = configure_parent(ctx, &p.sku, &p.axes, values).await.into();
    }
    for (i, p) in products.iter().enumerate() {
        if outcomes[i] != Outcome::Applied || !p.links_variant() {
            continue;
        }
        outcomes[i] = link_variant(ctx, p).await.into();
    }
    outcomes
}

async fn save(ctx: &TargetContext, product: &ProductChange) -> Result<(), ApiError> {
    let requests =
        product_change_requests(&ctx.target, product).map_err(ApiError::Configuration)?;
    for mut scoped in requests {
        let body = &mut scoped.request.body;
        resolve_options(ctx, body).await?;
        if scoped.store == ALL_STORES && product.is_create() {
            keep_websites(ctx, &product.sku, body).await?;
        }
        ctx.client
            .call_in(
                &scoped.store,
                Method::PUT,
                &scoped.request.path,
                Some(body),
                &[],
            )
            .await?;
    }
    Ok(())
}

/// Select attributes take option ids: labels become ids (created when missing).
async fn resolve_options(ctx: &TargetContext, body: &mut Json) -> Result<(), ApiError> {
    // `get_mut`, not indexing: indexing a JSON object inserts the key as
    // null, and Magento refuses a null where it takes a list.
    let custom = body
        .get_mut("product")
        .and_then(|p| p.get_mut("custom_attributes"))
        .and_then(Json::as_array_mut);
    if let Some(custom) = custom {
        for attr in custom.iter_mut() {
            let code = attr["attribute_code"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            let label = attr["value"].as_str().unwrap_or_default().to_string();
            if SELECT_ATTRIBUTES.contains(&code.as_str()) && !label.is_empty() {
                attr["value"] = json!(ctx.options.option_id(&ctx.client, &code, &label).await?);
            }
        }
    }
    Ok(())
}

/// A product new to this target may be in the shop already, put there by
/// another target on another website. Magento replaces a product's whole
/// website list with the one a save sends, so a create sends the websites
/// the product has plus this target's: read, then merge. (The additive
/// `POST /V1/products/{sku}/websites` would need one more request per
/// website, and a save without `website_ids` puts a new product in every
/// website when made through `all`.) ponte pushes one target at a time, so
/// no other target of this instance writes the list in between.
async fn keep_websites(ctx: &TargetContext, sku: &str, body: &mut Json) -> Result<(), ApiError> {
    let path = format!("/V1/products/{}", path_segment(sku));
    let held = match ctx
        .client
        .call_in(ALL_STORES, Method::GET, &path, None, &[])
        .await
    {
        Ok(product) => product,
        Err(ApiError::NotFound { .. }) => return Ok(()),
        Err(e) => return Err(e),
    };
    let mut ids: BTreeSet<i64> = held
        .pointer("/extension_attributes/website_ids")
        .and_then(Json::as_array)
        .into_iter()
        .flatten()
        .filter_map(|v| v.as_i64().or_else(|| v.as_str()?.parse().ok()))
        .collect();
    ids.extend(ctx.target.website_ids.iter().copied());
    if let Some(ext) = body
        .pointer_mut("/product/extension_attributes")
        .and_then(Json::as_object_mut)
    {
        ext.insert("website_ids".into(), json!(ids));
    }
    Ok(())
}

async fn configure_parent(
    ctx: &TargetContext,
    sku: &str,
    axes: &[String],
    values: Option<&HashMap<&str, BTreeSet<&str>>>,
) -> Result<(), ApiError> {
    let base = format!("/V1/configurable-products/{}/options", path_segment(sku));
    let existing = ctx.client.get(&format!("{base}/all"), &[]).await?;
    let present: BTreeSet<i64> = existing
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|o| {
            let a = o.get("attribute_id")?;
            a.as_i64().or_else(|| a.as_str()?.parse().ok())
        })
        .collect();
    for (position, axis) in axes.iter().enumerate() {
        let attribute_id = ctx.options.attribute_id(&ctx.client, axis).await?;
        if present.contains(&attribute_id) {
            continue;
        }
        let mut value_ids = Vec::new();
        for label in values
            .and_then(|v| v.get(axis.as_str()))
            .into_iter()
            .flatten()
        {
            let id = ctx.options.option_id(&ctx.client, axis, label).await?;
            value_ids.push(json!({ "value_index": id.parse::<i64>().unwrap_or_default() }));
        }
        let body = json!({ "option": {
            "attribute_id": attribute_id.to_string(),
            "label": axis,
            "position": position,
            "is_use_default": true,
            "values": value_ids,
        }});
        let added = || async {
            let now = ctx.client.get(&format!("{base}/all"), &[]).await?;
            Ok(now
                .as_array()
                .into_iter()
                .flatten()
                .any(|o| {
                    o.get("attribute_id").is_some_and(|a| {
                        a.as_i64().or_else(|| a.as_str()?.parse().ok()) == Some(attribute_id)
                    })
                })
                .then_some(Json::Null))
        };
        ctx.client
            .create(Method::POST, &base, Some(&body), added)
            .await?;
    }
    Ok(())
}

async fn link_variant(ctx: &TargetContext, product: &ProductChange) -> Result<(), ApiError> {
    let (parent, old_parent) = (product.parent.as_str(), product.previous_parent.as_str());
    if !old_parent.is_empty() && old_parent != parent {
        let path = format!(
            "/V1/configurable-products/{}/children/{}",
            path_segment(old_parent),
            path_segment(&product.sku)
        );
        match ctx.client.call(Method::DELETE, &path, None, &[]).await {
            Ok(_) | Err(ApiError::NotFound { .. }) => {}
            Err(e) => return Err(e),
        }
    }
    if parent.is_empty() {
        return Ok(());
    }
    let path = format!("/V1/configurable-products/{}/child", path_segment(parent));
    let body = json!({ "childSku": product.sku });
    match ctx.client.call(Method::POST, &path, Some(&body), &[]).await {
        Ok(_) => Ok(()),
        // A retry after a crash finds the link already there: that is success.
        Err(ApiError::Rejected { message, .. }) if message.contains("already attached") => Ok(()),
        Err(e) => Err(e),
    }
}
