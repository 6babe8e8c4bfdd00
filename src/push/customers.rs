//! Customers, matched by e-mail (Magento's login): found, the account is
//! updated keeping what the shop owns (its other addresses, its password);
//! not found, it is created. The ERP customer code is kept in the
//! `erp_customer_code` attribute, which the orders flow reads back. The
//! address's province goes as its region id, looked up in the shop's
//! directory (see `regions`).

use std::sync::Arc;

use reqwest::Method;
use serde_json::Value as Json;

use super::{for_each, Outcome, TargetContext};
use crate::magento::client::SearchCriteria;
use crate::magento::error::ApiError;
use crate::push::payload::{customer_body, set_customer_region};
use crate::reconcile::{Change, CustomerChange};

pub(crate) async fn push(ctx: &Arc<TargetContext>, changes: &[Change]) -> Vec<Outcome> {
    let customers: Vec<CustomerChange> = changes.iter().map(CustomerChange::of).collect();
    for_each(ctx, &customers, |ctx, customer| async move {
        upsert(&ctx, &customer).await
    })
    .await
}

async fn find_by_email(ctx: &TargetContext, email: &str) -> Result<Option<Json>, ApiError> {
    if email.is_empty() {
        return Ok(None);
    }
    let mut criteria = SearchCriteria::default().filter("email", email, "eq");
    if let Some(w) = ctx.target.website_ids.first() {
        criteria = criteria.filter("website_id", &w.to_string(), "eq");
    }
    let found = ctx
        .client
        .get("/V1/customers/search", &criteria.to_query())
        .await?;
    Ok(found
        .get("items")
        .and_then(Json::as_array)
        .and_then(|items| items.first().cloned()))
}

async fn upsert(ctx: &TargetContext, customer: &CustomerChange) -> Result<(), ApiError> {
    let mut body = customer_body(&ctx.target, customer).map_err(ApiError::Configuration)?;
    resolve_region(ctx, customer, &mut body).await?;
    let mut existing = find_by_email(ctx, &customer.email).await?;
    if existing.is_none() {
        // The ERP changed the e-mail: the account is under the old one.
        if let Some(old) = &customer.previous_email {
            if *old != customer.email {
                existing = find_by_email(ctx, old).await?;
            }
        }
    }
    match existing {
        None => {
            // An account under the e-mail after a lost answer is the one
            // the first attempt created.
            let email = customer.email.as_str();
            ctx.client
                .create(Method::POST, "/V1/customers", Some(&body), || {
                    find_by_email(ctx, email)
                })
                .await?;
        }
        Some(current) => {
            let id = current
                .get("id")
                .and_then(Json::as_i64)
                .ok_or_else(|| ApiError::Protocol("a customer without id".into()))?;
            let merged = merge_customer(current, &body["customer"]);
            let body = serde_json::json!({ "customer": merged });
            ctx.client
                .call(
                    Method::PUT,
                    &format!("/V1/customers/{id}"),
                    Some(&body),
                    &[],
                )
                .await?;
        }
    }
    Ok(())
}

/// Puts the province's region, as the shop's directory has it, on the
/// address. A country without regions, or none with that code, sends the
/// address without a province (with a warning): Magento would keep none
/// from the code alone, and an id is never made up.
async fn resolve_region(
    ctx: &TargetContext,
    customer: &CustomerChange,
    body: &mut Json,
) -> Result<(), ApiError> {
    let Some((country, code)) = customer.province() else {
        return Ok(());
    };
    let region = if country.is_empty() {
        None
    } else {
        ctx.regions.region(&ctx.client, country, code).await?
    };
    if region.is_none() {
        tracing::warn!(
            "customer {}: province {code:?} is not a region of country {country:?} in target {}; \
             the address is sent without a province",
            customer.code,
            ctx.target.name
        );
    }
    set_customer_region(body, region.as_ref());
    Ok(())
}

/// The account as Magento has it, with the ERP's fields laid over: the
/// default billing address is replaced in place (keeping its id), the
/// customer's other addresses stay, and so do other custom attributes.
fn merge_customer(mut current: Json, ours: &Json) -> Json {
    let Some(obj) = current.as_object_mut() else {
        return ours.clone();
    };
    for key in [
        "email",
        "firstname",
        "lastname",
        "group_id",
        "taxvat",
        "website_id",
    ] {
        if let Some(v) = ours.get(key) {
            obj.insert(key.into(), v.clone());
        }
    }
    let mut customs: Vec<Json> = obj
        .get("custom_attributes")
        .and_then(Json::as_array)
        .cloned()
        .unwrap_or_default();
    for ours_attr in ours
        .get("custom_attributes")
        .and_then(Json::as_array)
        .into_iter()
        .flatten()
    {
        let code = ours_attr.get("attribute_code");
        customs.retain(|c| c.get("attribute_code") != code);
        customs.push(ours_attr.clone());
    }
    obj.insert("custom_attributes".into(), Json::Array(customs));
    let mut addresses: Vec<Json> = obj
        .get("addresses")
        .and_then(Json::as_array)
        .cloned()
        .unwrap_or_default();
    if let Some(new_billing) = ours.get("addresses").and_then(|a| a.get(0)) {
        let mut new_billing = new_billing.clone();
        match addresses
            .iter_mut()
            .find(|a| a.get("default_billing") == Some(&Json::Bool(true)))
        {
            Some(old) => {
                if let (Some(id), Some(nb)) = (old.get("id").cloned(), new_billing.as_object_mut())
                {
                    nb.insert("id".into(), id);
                }
                if let (Some(ds), Some(nb)) = (
                    old.get("default_shipping").cloned(),
                    new_billing.as_object_mut(),
                ) {
                    nb.insert("default_shipping".into(), ds);
                }
                *old = new_billing;
            }
            None => addresses.push(new_billing),
        }
    }
    obj.insert("addresses".into(), Json::Array(addresses));
    current
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn merging_keeps_the_shops_other_addresses_and_attributes() {
        let current = json!({
            "id": 7, "email": "old@x.it", "firstname": "A", "lastname": "B", "group_id": 1,
            "custom_attributes": [{"attribute_code": "newsletter_pref", "value": "1"}],
            "addresses": [
                {"id": 1, "default_billing": true, "default_shipping": true, "city": "Roma"},
                {"id": 2, "city": "Milano"}
            ]
        });
        let ours = json!({
            "email": "new@x.it", "firstname": "C", "lastname": "D", "group_id": 2,
            "custom_attributes": [{"attribute_code": "erp_customer_code", "value": "C1"}],
            "addresses": [{"default_billing": true, "city": "Torino"}]
        });
        let m = merge_customer(current, &ours);
        assert_eq!(m["email"], "new@x.it");
        assert_eq!(m["custom_attributes"].as_array().unwrap().len(), 2);
        assert_eq!(m["addresses"][0]["id"], 1);
        assert_eq!(m["addresses"][0]["city"], "Torino");
        assert_eq!(m["addresses"][0]["default_shipping"], true);
        assert_eq!(m["addresses"][1]["city"], "Milano");
    }
}
