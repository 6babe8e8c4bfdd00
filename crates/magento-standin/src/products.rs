//! Catalog products: `GET|PUT|DELETE /V1/products/{sku}`, `POST /V1/products`,
//! `GET /V1/products?searchCriteria...`.
//!
//! As `Magento\Catalog\Model\ProductRepository::save`: a save of an unknown
//! SKU creates the product (PUT included); a save of a known one merges what
//! was sent over what is stored (custom attributes by `attribute_code`);
//! required attributes missing on a create are "Invalid product data: %1";
//! a select attribute's value must be one of its option ids. Custom
//! attributes the shop does not have are dropped without a word, as Magento
//! drops them. A save that sends `website_ids` replaces the product's
//! websites with them, create or update (Magento's website save handler);
//! a create without them joins the store's website (every website from the
//! `all` scope). With `store_view_values` on (as in Magento, and the
//! default), a save through a
//! store view code writes an existing product's store-view attributes
//! (name, status, visibility, description...) for that store view only,
//! and `GET` through that code shows them; through `all` they are the
//! defaults (see `STORE_SCOPED`).

use serde_json::{json, Map, Value as Json};

use super::errors::{ApiError, ApiResult};
use super::input::{self, number, opt, to_float, to_int, to_text};
use super::router::{Reply, Request, Route};
use super::search::SearchCriteria;
use super::state::{ShopState, STORES};

const RESOURCE: &str = "Magento_Catalog::products";

pub(crate) const TYPES: [&str; 7] = [
    "simple",
    "virtual",
    "configurable",
    "bundle",
    "grouped",
    "downloadable",
    "giftcard",
];

/// Product attributes every Magento catalog has (besides the top-level fields).
pub(crate) const SYSTEM_ATTRIBUTES: [&str; 24] = [
    "description",
    "short_description",
    "meta_title",
    "meta_keyword",
    "meta_description",
    "url_key",
    "tax_class_id",
    "special_price",
    "special_from_date",
    "special_to_date",
    "cost",
    "category_ids",
    "options_container",
    "required_options",
    "has_options",
    "image",
    "small_image",
    "thumbnail",
    "swatch_image",
    "gift_message_available",
    "news_from_date",
    "news_to_date",
    "country_of_manufacture",
    "manufacturer",
];

/// Attributes whose values can differ per store view. A save through a
/// store view code (`default`, `b2c`, `b2b`) of an existing product writes
/// these at that store view, as Magento does; `all` writes the defaults.
/// Price, weight and the rest are global (Magento's default price scope).
pub(crate) const STORE_SCOPED: [&str; 9] = [
    "name",
    "status",
    "visibility",
    "description",
    "short_description",
    "meta_title",
    "meta_keyword",
    "meta_description",
    "url_key",
];

/// A product as a store view sees it: its defaults, then that store's values.
pub(crate) fn store_view_of(state: &ShopState, p: &Json, store_id: i64) -> Json {
    let id = p.get("id").and_then(Json::as_i64).unwrap_or(0);
    let Some(values) = state.product_store_values.get(&(id, store_id)) else {
        return p.clone();
    };
    let mut p = p.clone();
    let Json::Object(m) = &mut p else {
        return p;
    };
    let mut custom = Vec::new();
    for (k, v) in values {
        if ["name", "status", "visibility"].contains(&k.as_str()) {
            m.insert(k.clone(), v.clone());
        } else {
            custom.push((k.clone(), v.clone()));
        }
    }
    merge_custom(m, custom);
    p
}

/// This resource's routes, below `/V1`.
pub(crate) const ROUTES: &[Route] = &[
    Route::guarded("GET", "/products", list, RESOURCE),
    Route::guarded("POST", "/products", create, RESOURCE),
    Route::guarded("GET", "/products/{sku}", get, RESOURCE),
    Route::guarded("PUT", "/products/{sku}", put, RESOURCE),
    Route::guarded("DELETE", "/products/{sku}", delete, RESOURCE),
];

pub(crate) fn not_found() -> ApiError {
    ApiError::not_found(
        "The product that was requested doesn't exist. Verify the product and try again.",
    )
}

fn default_stock_item(item_id: i64, product_id: i64) -> Json {
    json!({
        "item_id": item_id,
        "product_id": product_id,
        "stock_id": 1,
        "qty": 0,
        "is_in_stock": false,
        "is_qty_decimal": false,
        "show_default_notification_message": false,
        "use_config_min_qty": true,
        "min_qty": 0,
        "use_config_min_sale_qty": 1,
        "min_sale_qty": 1,
        "use_config_max_sale_qty": true,
        "max_sale_qty": 10000,
        "use_config_backorders": true,
        "backorders": 0,
        "use_config_notify_stock_qty": true,
        "notify_stock_qty": 1,
        "use_config_qty_increments": true,
        "qty_increments": 0,
        "use_config_enable_qty_inc": true,
        "enable_qty_increments": false,
        "use_config_manage_stock": true,
        "manage_stock": true,
        "low_stock_date": null,
        "is_decimal_divided": false,
        "stock_status_changed_auto": 0
    })
}

/// Puts a stored product in Magento's field order, with every key `GET` has.
fn normalize(p: &mut Map<String, Json>, id: i64) {
    p.insert("id".into(), json!(id));
    for k in [
        "product_links",
        "options",
        "media_gallery_entries",
        "tier_prices",
        "custom_attributes",
    ] {
        if !p.get(k).is_some_and(Json::is_array) {
            p.insert(k.into(), json!([]));
        }
    }
    let ext = p.entry("extension_attributes").or_insert_with(|| json!({}));
    if !ext.is_object() {
        *ext = json!({});
    }
    if let Json::Object(e) = ext {
        e.entry("website_ids").or_insert_with(|| json!([]));
        e.entry("category_links").or_insert_with(|| json!([]));
        let stock = e
            .entry("stock_item")
            .or_insert_with(|| default_stock_item(id, id));
        if !stock.is_object() {
            *stock = default_stock_item(id, id);
        }
        stock["item_id"] = json!(id);
        stock["product_id"] = json!(id);
    }
    // In the interface's order, as Magento answers.
    let mut sorted = Map::new();
    for &k in input::PRODUCT_FIELDS {
        if let Some(v) = p.remove(k) {
            sorted.insert(k.into(), v);
        }
    }
    sorted.append(p);
    *p = sorted;
}

pub(crate) fn insert_fixture_product(state: &mut ShopState, p: Json) {
    let Json::Object(mut p) = p else { return };
    let id = match p.get("id").and_then(Json::as_i64) {
        Some(id) => id,
        None => state.ids.product + 1,
    };
    state.ids.product = state.ids.product.max(id);
    for (k, v) in [
        ("attribute_set_id", json!(4)),
        ("status", json!(1)),
        ("visibility", json!(4)),
        ("type_id", json!("simple")),
        ("created_at", json!("2026-11-01 08:00:00")),
        ("updated_at", json!("2026-11-01 08:00:00")),
    ] {
        p.entry(k).or_insert(v);
    }
    normalize(&mut p, id);
    let sku = p
        .get("sku")
        .and_then(Json::as_str)
        .unwrap_or_default()
        .to_string();
    state.push_product(Json::Object(p));
    super::inventory::sync_stock_from_sources(state, &sku);
}

fn get(state: &mut ShopState, req: &Request) -> Reply {
    let sku = req.param("sku");
    let i = state.product_index(sku).ok_or_else(not_found)?;
    Ok(store_view_of(state, &state.products[i], req.store.id))
}

fn list(state: &mut ShopState, req: &Request) -> Reply {
    let sc = SearchCriteria::from_query(req.query)?
        .ok_or_else(|| ApiError::required_field("searchCriteria"))?;
    let viewed: Vec<Json> = state
        .products
        .iter()
        .map(|p| store_view_of(state, p, req.store.id))
        .collect();
    let (items, total) = sc.apply(&viewed);
    Ok(json!({ "items": items, "search_criteria": sc.echo(), "total_count": total }))
}

fn delete(state: &mut ShopState, req: &Request) -> Reply {
    let i = state
        .product_index(req.param("sku"))
        .ok_or_else(not_found)?;
    let removed = state.remove_product(i);
    let id = removed.get("id").and_then(Json::as_i64).unwrap_or(0);
    state.product_store_values.retain(|(p, _), _| *p != id);
    let sku = removed
        .get("sku")
        .and_then(Json::as_str)
        .unwrap_or_default();
    let sku = sku.to_string();
    state.remove_source_items(&sku);
    Ok(json!(true))
}

fn create(state: &mut ShopState, req: &Request) -> Reply {
    save(state, req, None)
}

fn put(state: &mut ShopState, req: &Request) -> Reply {
    let sku = req.param("sku").to_string();
    save(state, req, Some(sku))
}

/// Checks one custom attribute and returns its stored form, or None when
/// the shop has no such attribute (Magento drops it).
fn custom_attribute(state: &ShopState, entry: &Json) -> ApiResult<Option<(String, Json)>> {
    let m = input::object(
        entry,
        input::ATTRIBUTE_VALUE_CLASS,
        input::ATTRIBUTE_VALUE_FIELDS,
    )?;
    let Some(code) = opt(m, "attribute_code", to_text)? else {
        return Ok(None);
    };
    let value = m.get("value").cloned().unwrap_or(Json::Null);
    let value = match value {
        Json::Array(_) | Json::Null => value,
        other => json!(to_text(&other)?),
    };
    if let Some(attr) = state.attribute(&code) {
        if attr.frontend_input == "select" {
            let text = value.as_str().unwrap_or_default().trim().to_string();
            let known = text.is_empty()
                || text
                    .parse::<i64>()
                    .is_ok_and(|id| attr.options.iter().any(|o| o.value == id));
            if !known {
                return Err(ApiError::invalid_field_value(&code, &value));
            }
        }
        return Ok(Some((code, value)));
    }
    if SYSTEM_ATTRIBUTES.contains(&code.as_str())
        || state.product_attributes.iter().any(|a| a == &code)
    {
        return Ok(Some((code, value)));
    }
    Ok(None)
}

fn merge_custom(stored: &mut Map<String, Json>, updates: Vec<(String, Json)>) {
    let list = stored
        .entry("custom_attributes")
        .or_insert_with(|| json!([]));
    if !list.is_array() {
        *list = json!([]);
    }
    if let Json::Array(list) = list {
        for (code, value) in updates {
            match list
                .iter_mut()
                .find(|a| a.get("attribute_code").and_then(Json::as_str) == Some(code.as_str()))
            {
                Some(a) => a["value"] = value,
                None => list.push(json!({ "attribute_code": code, "value": value })),
            }
        }
    }
}

fn save(state: &mut ShopState, req: &Request, url_sku: Option<String>) -> Reply {
    let body = input::parse_body(req.body)?;
    let product = input::object(
        input::required(&body, "product")?,
        input::PRODUCT_CLASS,
        input::PRODUCT_FIELDS,
    )?;
    // Convert and check every field before touching the shop.
    let sku = match opt(product, "sku", to_text)? {
        Some(s) if !s.trim().is_empty() => s,
        _ => url_sku.unwrap_or_default(),
    };
    let name = opt(product, "name", to_text)?;
    let price = opt(product, "price", to_float)?;
    let weight = opt(product, "weight", to_float)?;
    let attribute_set_id = opt(product, "attribute_set_id", to_int)?;
    let status = opt(product, "status", to_int)?;
    if let Some(s) = status {
        if s != 1 && s != 2 {
            return Err(ApiError::invalid_field_value(
                "status",
                &json!(s.to_string()),
            ));
        }
    }
    let visibility = opt(product, "visibility", to_int)?;
    if let Some(v) = visibility {
        if !(1..=4).contains(&v) {
            return Err(ApiError::invalid_field_value(
                "visibility",
                &json!(v.to_string()),
            ));
        }
    }
    let type_id = opt(product, "type_id", to_text)?;
    if let Some(t) = &type_id {
        if !TYPES.contains(&t.as_str()) {
            return Err(ApiError::invalid_field_value("type_id", &json!(t)));
        }
    }
    let mut custom = Vec::new();
    if let Some(list) = product.get("custom_attributes") {
        for entry in input::array(list, "Magento\\Framework\\Api\\AttributeInterface[]")? {
            if let Some(c) = custom_attribute(state, entry)? {
                custom.push(c);
            }
        }
    }
    let mut website_ids: Option<Vec<i64>> = None;
    let mut stock_update: Option<Map<String, Json>> = None;
    let mut ext_rest = Map::new();
    if let Some(ext) = product.get("extension_attributes").filter(|v| !v.is_null()) {
        let ext = input::object(
            ext,
            input::PRODUCT_EXTENSION_CLASS,
            input::PRODUCT_EXTENSION_FIELDS,
        )?;
        for (k, v) in ext {
            match k.as_str() {
                "website_ids" => {
                    let ids = input::array(v, "int[]")?
                        .iter()
                        .map(to_int)
                        .collect::<ApiResult<Vec<i64>>>()?;
                    website_ids = Some(ids);
                }
                "stock_item" => {
                    let item = input::object(v, input::STOCK_ITEM_CLASS, input::STOCK_ITEM_FIELDS)?;
                    super::inventory::check_stock_item(item)?;
                    stock_update = Some(item.clone());
                }
                _ => {
                    ext_rest.insert(k.clone(), v.clone());
                }
            }
        }
    }
    let now = state.now();
    let index = state.product_index(&sku);
    let is_create = index.is_none();
    if is_create {
        let type_id = type_id.clone().unwrap_or_else(|| "simple".into());
        let mut problems = Vec::new();
        if sku.trim().is_empty() {
            problems.push("The \"SKU\" attribute value is empty. Set the attribute and try again.");
        }
        if name.as_deref().is_none_or(|n| n.trim().is_empty()) {
            problems.push(
                "The \"Product Name\" attribute value is empty. Set the attribute and try again.",
            );
        }
        if price.is_none() && ["simple", "virtual", "downloadable"].contains(&type_id.as_str()) {
            problems
                .push("The \"Price\" attribute value is empty. Set the attribute and try again.");
        }
        if !problems.is_empty() {
            return Err(
                ApiError::bad_request("Invalid product data: %1").with_args([problems.join(",")])
            );
        }
    }
    let id = match index {
        Some(i) => state.products[i]["id"].as_i64().unwrap_or(0),
        None => state.ids.product + 1,
    };
    let mut stored = match index {
        Some(i) => match state.products[i].clone() {
            Json::Object(m) => m,
            _ => Map::new(),
        },
        None => {
            let mut m = Map::new();
            m.insert("sku".into(), json!(sku));
            m.insert("attribute_set_id".into(), json!(4));
            m.insert("status".into(), json!(1));
            m.insert("visibility".into(), json!(4));
            m.insert("type_id".into(), json!("simple"));
            m.insert("created_at".into(), json!(now));
            m
        }
    };
    // Saved through a store view, an existing product's store-view
    // attributes go to that store's values, not to the defaults.
    let store_view = state.store_view_values && index.is_some() && req.store.id > 0;
    let mut overrides = Map::new();
    let (scoped_custom, custom): (Vec<_>, Vec<_>) = custom
        .into_iter()
        .partition(|(code, _)| store_view && STORE_SCOPED.contains(&code.as_str()));
    for (code, value) in scoped_custom {
        overrides.insert(code, value);
    }
    let mut target = |k: &str, v: Json, stored: &mut Map<String, Json>| {
        if store_view && STORE_SCOPED.contains(&k) {
            overrides.insert(k.to_string(), v);
        } else {
            stored.insert(k.to_string(), v);
        }
    };
    if let Some(n) = name {
        target("name", json!(n), &mut stored);
    }
    if let Some(p) = price {
        stored.insert("price".into(), number(p));
    }
    if let Some(w) = weight {
        stored.insert("weight".into(), number(w));
    }
    if let Some(a) = attribute_set_id {
        stored.insert("attribute_set_id".into(), json!(a));
    }
    if let Some(s) = status {
        target("status", json!(s), &mut stored);
    }
    if let Some(v) = visibility {
        target("visibility", json!(v), &mut stored);
    }
    if let Some(t) = type_id {
        stored.insert("type_id".into(), json!(t));
    }
    for k in [
        "product_links",
        "options",
        "media_gallery_entries",
        "tier_prices",
    ] {
        if let Some(v) = product.get(k).filter(|v| v.is_array()) {
            stored.insert(k.into(), v.clone());
        }
    }
    stored.insert("updated_at".into(), json!(now));
    merge_custom(&mut stored, custom);
    normalize(&mut stored, id);
    if let Some(Json::Object(ext)) = stored.get_mut("extension_attributes") {
        if is_create && website_ids.is_none() {
            // `ProductRepository::assignProductToWebsites`: the store's
            // website, or every website when saved through `all`.
            let mut ids: Vec<i64> = if req.store.code == "all" {
                STORES
                    .iter()
                    .map(|s| s.website_id)
                    .filter(|w| *w > 0)
                    .collect()
            } else {
                vec![req.store.website_id]
            };
            ids.sort_unstable();
            ids.dedup();
            ext.insert("website_ids".into(), json!(ids));
        } else if let Some(mut ids) = website_ids {
            // The website save handler replaces the whole list with the
            // one sent, on a create as on an update.
            ids.sort_unstable();
            ids.dedup();
            ext.insert("website_ids".into(), json!(ids));
        }
        for (k, v) in ext_rest {
            ext.insert(k, v);
        }
        if let (Some(update), Some(Json::Object(item))) = (stock_update, ext.get_mut("stock_item"))
        {
            for (k, v) in update {
                if k != "item_id" && k != "product_id" {
                    item.insert(k, v);
                }
            }
        }
    }
    let product = Json::Object(stored);
    let i = match index {
        Some(i) => {
            state.products[i] = product;
            i
        }
        None => {
            state.ids.product = id;
            state.push_product(product)
        }
    };
    if !overrides.is_empty() {
        let values = state
            .product_store_values
            .entry((id, req.store.id))
            .or_default();
        for (k, v) in overrides {
            values.insert(k, v);
        }
    }
    Ok(store_view_of(state, &state.products[i], req.store.id))
}

#[cfg(test)]
mod tests {
    use super::super::fixture::Fixture;
    use super::super::in_process::test_call;
    use super::*;

    #[test]
    fn put_creates_then_merges() {
        let mut s = ShopState::from_fixture(Fixture::demo());
        let body = json!({"product": {"sku": "NEW-1", "name": "Nuovo", "price": "9.90", "custom_attributes": [{"attribute_code": "color", "value": "51"}, {"attribute_code": "nonsense", "value": "x"}]}});
        let p = test_call(&mut s, "PUT", "/V1/products/NEW-1", "", &body).unwrap();
        assert_eq!(p["price"], 9.9);
        assert_eq!(p["type_id"], "simple");
        assert_eq!(p["extension_attributes"]["website_ids"], json!([1]));
        assert_eq!(p["custom_attributes"].as_array().unwrap().len(), 1);
        let body = json!({"product": {"sku": "NEW-1", "custom_attributes": [{"attribute_code": "description", "value": "Desc"}]}});
        let p = test_call(&mut s, "PUT", "/V1/products/NEW-1", "", &body).unwrap();
        assert_eq!(p["name"], "Nuovo");
        assert_eq!(p["custom_attributes"].as_array().unwrap().len(), 2);
    }

    #[test]
    fn store_views_keep_their_own_values() {
        let mut s = ShopState::from_fixture(Fixture {
            store_view_values: true,
            ..Fixture::demo()
        });
        let body = json!({"product": {"sku": "TAZ-POR-6", "name": "Tazzine B2B", "price": 20, "custom_attributes": [{"attribute_code": "description", "value": "Per bar"}]}});
        let p = test_call(&mut s, "PUT", "/b2b/V1/products/TAZ-POR-6", "", &body).unwrap();
        assert_eq!(p["name"], "Tazzine B2B");
        let d = test_call(&mut s, "GET", "/V1/products/TAZ-POR-6", "", &Json::Null).unwrap();
        assert_eq!(d["name"], "Tazzine in porcellana (6 pezzi)");
        assert_eq!(d["price"], 20);
        let b = test_call(&mut s, "GET", "/b2b/V1/products/TAZ-POR-6", "", &Json::Null).unwrap();
        assert_eq!(b["name"], "Tazzine B2B");
        assert!(b["custom_attributes"]
            .as_array()
            .unwrap()
            .contains(&json!({"attribute_code": "description", "value": "Per bar"})));
        let body = json!({"product": {"sku": "TAZ-POR-6", "name": "Tazzine"}});
        test_call(&mut s, "PUT", "/all/V1/products/TAZ-POR-6", "", &body).unwrap();
        let d = test_call(&mut s, "GET", "/V1/products/TAZ-POR-6", "", &Json::Null).unwrap();
        assert_eq!(d["name"], "Tazzine");
    }

    #[test]
    fn creates_need_name_and_price() {
        let mut s = ShopState::from_fixture(Fixture::default());
        let e = test_call(
            &mut s,
            "POST",
            "/V1/products",
            "",
            &json!({"product": {"sku": "X"}}),
        )
        .unwrap_err();
        assert_eq!(e.message, "Invalid product data: %1");
        assert!(e.params().unwrap()[0]
            .as_str()
            .unwrap()
            .contains("Product Name"));
        let e = test_call(&mut s, "POST", "/V1/products", "", &json!({})).unwrap_err();
        assert_eq!(e.params(), Some(&json!({"fieldName": "product"})));
    }

    #[test]
    fn bad_values_are_400s() {
        let mut s = ShopState::from_fixture(Fixture::demo());
        for product in [
            json!({"sku": "CAF-ESP-1KG", "status": 3}),
            json!({"sku": "CAF-ESP-1KG", "visibility": 9}),
            json!({"sku": "CAF-ESP-1KG", "type_id": "kit"}),
            json!({"sku": "CAF-ESP-1KG", "price": "cheap"}),
            json!({"sku": "CAF-ESP-1KG", "custom_attributes": [{"attribute_code": "size", "value": "999"}]}),
            json!({"sku": "CAF-ESP-1KG", "colour": "red"}),
        ] {
            let e = test_call(
                &mut s,
                "PUT",
                "/V1/products/CAF-ESP-1KG",
                "",
                &json!({"product": product}),
            )
            .unwrap_err();
            assert_eq!(e.status, 400, "{product}");
        }
    }

    #[test]
    fn unknown_skus_are_404() {
        let mut s = ShopState::from_fixture(Fixture::demo());
        let e = test_call(&mut s, "GET", "/V1/products/NOPE", "", &Json::Null).unwrap_err();
        assert_eq!(e.status, 404);
        assert!(test_call(&mut s, "GET", "/V1/products/caf-esp-1kg", "", &Json::Null).is_ok());
    }

    #[test]
    fn search_by_custom_attribute() {
        let mut s = ShopState::from_fixture(Fixture::demo());
        let r = test_call(&mut s, "GET", "/V1/products", "searchCriteria[filterGroups][0][filters][0][field]=color&searchCriteria[filterGroups][0][filters][0][value]=50", &Json::Null).unwrap();
        assert_eq!(r["total_count"], 2);
        let e = test_call(&mut s, "GET", "/V1/products", "", &Json::Null).unwrap_err();
        assert_eq!(e.params(), Some(&json!({"fieldName": "searchCriteria"})));
    }
}
