//! Stock, both ways Magento 2.4 has it.
//!
//! Multi-source (MSI): `POST /V1/inventory/source-items` saves a batch
//! atomically and answers `[]` (a void service method). Validation first,
//! over the whole batch: any failure is 400 "Validation Failed" with one
//! entry per problem under `errors` (the messages of
//! `Magento\Inventory\Model\SourceItem\Validator\*`, their typos included);
//! then a source code that does not exist fails the insert (a foreign key)
//! and the batch is 400 "Could not save Source Item". An empty batch is
//! 400 "Input data is empty". `GET /V1/inventory/source-items` searches,
//! `GET /V1/inventory/sources` lists the sources (search criteria optional).
//!
//! Single source (legacy CatalogInventory): `GET /V1/stockItems/{sku}` and
//! `PUT /V1/products/{sku}/stockItems/{itemId}` answering the item id; a
//! quantity at or below `min_qty` forces the item out of stock. The legacy
//! item and the `default` source's item mirror each other, as MSI keeps them.

use serde_json::{json, Map, Value as Json};

use super::errors::{ApiError, ApiResult};
use super::input::{self, number, opt, to_bool, to_float, to_int, to_text};
use super::products;
use super::router::{Reply, Request, Route};
use super::search::SearchCriteria;
use super::state::{ShopState, SourceItem};

const MSI: &str = "Magento_InventoryApi::source";
const LEGACY: &str = "Magento_CatalogInventory::cataloginventory";

/// This resource's routes, below `/V1`.
pub(crate) const ROUTES: &[Route] = &[
    Route::guarded("POST", "/inventory/source-items", save_source_items, MSI),
    Route::guarded("GET", "/inventory/source-items", list_source_items, MSI),
    Route::guarded("GET", "/inventory/sources", list_sources, MSI),
    Route::guarded("GET", "/stockItems/{productSku}", get_stock_item, LEGACY),
    Route::guarded(
        "PUT",
        "/products/{sku}/stockItems/{itemId}",
        put_stock_item,
        LEGACY,
    ),
];

fn validation_error(message: &str, field: &str) -> Json {
    json!({ "message": message, "parameters": { "field": field } })
}

fn source_item_json(s: &SourceItem) -> Json {
    json!({
        "sku": s.sku,
        "source_code": s.source_code,
        "quantity": number(s.quantity),
        "status": s.status,
    })
}

fn save_source_items(state: &mut ShopState, req: &Request) -> Reply {
    let body = input::parse_body(req.body)?;
    let list = input::array(
        input::required(&body, "sourceItems")?,
        "Magento\\InventoryApi\\Api\\Data\\SourceItemInterface[]",
    )?;
    if list.is_empty() {
        return Err(ApiError::bad_request("Input data is empty"));
    }
    let mut items = Vec::with_capacity(list.len());
    let mut errors = Vec::new();
    for entry in list {
        let m = input::object(entry, input::SOURCE_ITEM_CLASS, input::SOURCE_ITEM_FIELDS)?;
        let sku = opt(m, "sku", to_text)?.unwrap_or_default();
        let source_code = opt(m, "source_code", to_text)?.unwrap_or_default();
        let quantity = opt(m, "quantity", to_float)?;
        let status = opt(m, "status", to_int)?;
        if sku.trim().is_empty() {
            errors.push(validation_error("\"%field\" can not be empty.", "sku"));
        } else if state.product_index(&sku).is_none() {
            errors.push(json!({
                "message": "Product with requested \"%field\": \"%value\" was was not found.",
                "parameters": { "field": "sku", "value": sku }
            }));
        }
        if source_code.trim().is_empty() {
            errors.push(validation_error(
                "\"%field\" can not be empty.",
                "source_code",
            ));
        } else if source_code.chars().any(char::is_whitespace) {
            errors.push(validation_error(
                "\"%field\" can not contain whitespaces.",
                "source_code",
            ));
        }
        if quantity.is_none() {
            errors.push(validation_error(
                "\"%field\" should be numeric.",
                "quantity",
            ));
        }
        match status {
            None => {
                errors.push(validation_error(
                    "\"%field\" should be numeric.",
                    "quantity",
                ));
                errors.push(validation_error(
                    "\"%field\" should a known status.",
                    "status",
                ));
            }
            Some(s) if s != 0 && s != 1 => {
                errors.push(validation_error(
                    "\"%field\" should a known status.",
                    "status",
                ));
            }
            Some(_) => {}
        }
        items.push(SourceItem {
            sku,
            source_code,
            quantity: quantity.unwrap_or(0.0),
            status: status.unwrap_or(0),
        });
    }
    if !errors.is_empty() {
        return Err(ApiError::bad_request("Validation Failed").with_errors(errors));
    }
    if items
        .iter()
        .any(|i| !state.sources.iter().any(|s| s.source_code == i.source_code))
    {
        return Err(ApiError::bad_request("Could not save Source Item"));
    }
    for item in items {
        let sku = item.sku.clone();
        let default = item.source_code == "default";
        state.upsert_source_item(item);
        if default {
            sync_stock_from_sources(state, &sku);
        }
    }
    Ok(json!([]))
}

fn list_source_items(state: &mut ShopState, req: &Request) -> Reply {
    let sc = SearchCriteria::from_query(req.query)?
        .ok_or_else(|| ApiError::required_field("searchCriteria"))?;
    let all: Vec<Json> = state.source_items.iter().map(source_item_json).collect();
    let (items, total) = sc.apply(&all);
    Ok(json!({ "items": items, "search_criteria": sc.echo(), "total_count": total }))
}

fn list_sources(state: &mut ShopState, req: &Request) -> Reply {
    let sc = SearchCriteria::from_query(req.query)?.unwrap_or_default();
    let all: Vec<Json> = state
        .sources
        .iter()
        .map(|s| {
            json!({
                "source_code": s.source_code,
                "name": s.name,
                "enabled": s.enabled,
                "latitude": 0,
                "longitude": 0,
                "country_id": s.country_id,
                "postcode": s.postcode,
                "use_default_carrier_config": true,
                "carrier_links": []
            })
        })
        .collect();
    let (items, total) = sc.apply(&all);
    Ok(json!({ "items": items, "search_criteria": sc.echo(), "total_count": total }))
}

/// The legacy stock item follows the `default` source's item.
pub(crate) fn sync_stock_from_sources(state: &mut ShopState, sku: &str) {
    let Some(src) = state
        .source_item_index(sku, "default")
        .map(|i| state.source_items[i].clone())
    else {
        return;
    };
    if let Some(i) = state.product_index(sku) {
        if let Some(item) = state.products[i].pointer_mut("/extension_attributes/stock_item") {
            item["qty"] = number(src.quantity);
            item["is_in_stock"] = json!(src.status == 1);
        }
    }
}

const STOCK_BOOLS: [&str; 12] = [
    "is_in_stock",
    "is_qty_decimal",
    "show_default_notification_message",
    "use_config_min_qty",
    "use_config_max_sale_qty",
    "use_config_backorders",
    "use_config_notify_stock_qty",
    "use_config_qty_increments",
    "use_config_enable_qty_inc",
    "enable_qty_increments",
    "use_config_manage_stock",
    "manage_stock",
];
const STOCK_NUMBERS: [&str; 6] = [
    "qty",
    "min_qty",
    "min_sale_qty",
    "max_sale_qty",
    "notify_stock_qty",
    "qty_increments",
];

/// Type checks of a stock item body; returns it with values converted.
pub(crate) fn check_stock_item(m: &Map<String, Json>) -> ApiResult<Map<String, Json>> {
    let mut out = Map::new();
    for (k, v) in m {
        if v.is_null() {
            continue;
        }
        let value = if STOCK_BOOLS.contains(&k.as_str()) {
            json!(to_bool(v)?)
        } else if STOCK_NUMBERS.contains(&k.as_str()) {
            number(to_float(v)?)
        } else if k == "low_stock_date" || k == "extension_attributes" {
            v.clone()
        } else {
            json!(to_int(v)?)
        };
        out.insert(k.clone(), value);
    }
    Ok(out)
}

fn get_stock_item(state: &mut ShopState, req: &Request) -> Reply {
    let i = state
        .product_index(req.param("productSku"))
        .ok_or_else(products::not_found)?;
    Ok(state.products[i]
        .pointer("/extension_attributes/stock_item")
        .cloned()
        .unwrap_or(Json::Null))
}

fn put_stock_item(state: &mut ShopState, req: &Request) -> Reply {
    let body = input::parse_body(req.body)?;
    let given = input::object(
        input::required(&body, "stockItem")?,
        input::STOCK_ITEM_CLASS,
        input::STOCK_ITEM_FIELDS,
    )?;
    let update = check_stock_item(given)?;
    let i = state
        .product_index(req.param("sku"))
        .ok_or_else(products::not_found)?;
    let sku = state.products[i]["sku"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let now = state.now();
    let Some(Json::Object(item)) =
        state.products[i].pointer_mut("/extension_attributes/stock_item")
    else {
        return Err(ApiError::internal(1));
    };
    for (k, v) in update {
        if k != "item_id" && k != "product_id" && k != "stock_id" {
            item.insert(k, v);
        }
    }
    let qty = item.get("qty").and_then(Json::as_f64).unwrap_or(0.0);
    let min_qty = item.get("min_qty").and_then(Json::as_f64).unwrap_or(0.0);
    let managed = item
        .get("manage_stock")
        .and_then(Json::as_bool)
        .unwrap_or(true);
    let backorders = item.get("backorders").and_then(Json::as_i64).unwrap_or(0);
    if managed && backorders == 0 && qty <= min_qty {
        item.insert("is_in_stock".into(), json!(false));
    }
    let in_stock = item
        .get("is_in_stock")
        .and_then(Json::as_bool)
        .unwrap_or(false);
    let item_id = item.get("item_id").cloned().unwrap_or(json!(0));
    state.products[i]["updated_at"] = json!(now);
    state.upsert_source_item(SourceItem {
        sku,
        source_code: "default".into(),
        quantity: qty,
        status: i64::from(in_stock),
    });
    Ok(item_id)
}

#[cfg(test)]
mod tests {
    use super::super::fixture::Fixture;
    use super::super::in_process::test_call;
    use super::*;

    #[test]
    fn source_items_batch_and_mirror_the_legacy_item() {
        let mut s = ShopState::from_fixture(Fixture::demo());
        let body = json!({"sourceItems": [
            {"sku": "CAF-ESP-1KG", "source_code": "default", "quantity": 120, "status": 1},
            {"sku": "CAF-ESP-1KG", "source_code": "eu_north", "quantity": 15, "status": 1},
        ]});
        let r = test_call(&mut s, "POST", "/V1/inventory/source-items", "", &body).unwrap();
        assert_eq!(r, json!([]));
        let item = test_call(&mut s, "GET", "/V1/stockItems/CAF-ESP-1KG", "", &Json::Null).unwrap();
        assert_eq!(item["qty"], 120);
        let q = "searchCriteria[filterGroups][0][filters][0][field]=sku&searchCriteria[filterGroups][0][filters][0][value]=CAF-ESP-1KG";
        let r = test_call(&mut s, "GET", "/V1/inventory/source-items", q, &Json::Null).unwrap();
        assert_eq!(r["total_count"], 2);
        assert_eq!(r["items"][1]["quantity"], 15);
    }

    #[test]
    fn bad_batches_change_nothing() {
        let mut s = ShopState::from_fixture(Fixture::demo());
        let before = s.source_items.clone();
        let body = json!({"sourceItems": [
            {"sku": "CAF-ESP-1KG", "source_code": "default", "quantity": 1, "status": 1},
            {"sku": "CAF-ESP-1KG", "source_code": "nowhere", "quantity": 1, "status": 1},
        ]});
        let e = test_call(&mut s, "POST", "/V1/inventory/source-items", "", &body).unwrap_err();
        assert_eq!(e.message, "Could not save Source Item");
        let body = json!({"sourceItems": [{"sku": "", "source_code": "default", "quantity": 1, "status": 7}]});
        let e = test_call(&mut s, "POST", "/V1/inventory/source-items", "", &body).unwrap_err();
        assert_eq!(e.message, "Validation Failed");
        assert_eq!(e.errors.len(), 2);
        let e = test_call(
            &mut s,
            "POST",
            "/V1/inventory/source-items",
            "",
            &json!({"sourceItems": []}),
        )
        .unwrap_err();
        assert_eq!(e.message, "Input data is empty");
        assert_eq!(s.source_items, before);
    }

    #[test]
    fn legacy_stock_items() {
        let mut s = ShopState::from_fixture(Fixture::demo());
        let id = test_call(
            &mut s,
            "PUT",
            "/V1/products/TAZ-POR-6/stockItems/1",
            "",
            &json!({"stockItem": {"qty": 36, "is_in_stock": true}}),
        )
        .unwrap();
        assert_eq!(id, json!(2));
        let id = test_call(
            &mut s,
            "PUT",
            "/V1/products/TAZ-POR-6/stockItems/1",
            "",
            &json!({"stockItem": {"qty": 0, "is_in_stock": true}}),
        )
        .unwrap();
        assert_eq!(id, json!(2));
        let item = test_call(&mut s, "GET", "/V1/stockItems/TAZ-POR-6", "", &Json::Null).unwrap();
        assert_eq!(item["is_in_stock"], false);
        let e = test_call(
            &mut s,
            "PUT",
            "/V1/products/NOPE/stockItems/1",
            "",
            &json!({"stockItem": {"qty": 1}}),
        )
        .unwrap_err();
        assert_eq!(e.status, 404);
        let r = test_call(&mut s, "GET", "/V1/inventory/sources", "", &Json::Null).unwrap();
        assert_eq!(r["total_count"], 2);
    }
}
