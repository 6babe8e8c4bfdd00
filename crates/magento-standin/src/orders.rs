//! Orders: `GET /V1/orders?searchCriteria...`, `GET /V1/orders/{id}`,
//! `POST /V1/order/{id}/ship`, `POST /V1/order/{id}/invoice`,
//! `POST /V1/orders/{id}/cancel`, `GET|POST /V1/orders/{id}/comments`.
//!
//! What Magento 2.4 does, and so this does:
//! - `{id}` is the entity id, an int: `000000101` is read as 101, `abc` is 400.
//!   Unknown: 404 "The entity that was requested doesn't exist. Verify the
//!   entity and try again.".
//! - A configurable line is two rows: the parent (`product_type`
//!   configurable, the child's SKU, the price) and the child
//!   (`parent_item_id`, price 0), which carries a `parent_item` copy when
//!   served. Ship and invoice the parent row; a child row asked alone is
//!   skipped (it follows its parent).
//! - Ship (`ShipOrder` + `ShipmentFactory`): no items means everything left;
//!   an asked quantity above what is left to ship is CLAMPED to what is left
//!   (`min($qty, getQtyToShip())`), and lines with nothing left are skipped;
//!   only when nothing at all would ship is it 400 "Shipment Document
//!   Validation Error(s):\nYou can't create a shipment without products."
//!   (plus "The order does not allow a shipment to be created." or "A
//!   shipment cannot be created when an order has a status of canceled").
//! - Invoice (`InvoiceOrder`): no items means everything left; more than is
//!   left is 400 "Invoice Document Validation Error(s):\nThe quantity to
//!   invoice must not be greater than the uninvoiced quantity for product
//!   SKU \"X\"."; nothing left is "...\nThe order does not allow an invoice
//!   to be created."; a canceled/complete/closed/held order is "...\nAn
//!   invoice cannot be created when an order has a status of S".
//! - Either moves a `new` order to `processing`; everything shipped and
//!   invoiced makes it `complete`.
//! - Cancel answers `false` (not an error) when the order cannot be
//!   canceled: already canceled, complete, closed, held, or wholly invoiced.
//! - A comment's `status` (2.4.7 and later, magento/magento2#38723): left
//!   out, the order keeps its status; one of the statuses of the order's
//!   current STATE (new: pending; processing: processing, fraud; ...) sets
//!   it; any other is 400 "Unable to add comment: The status \"%1\" is not
//!   part of the order status history." So a comment cannot move a pending
//!   order to processing. `comment_sets_status` in the fixture restores the
//!   older behaviour (any status is set, nothing refused).
//! - Every change moves `updated_at` on.

use serde_json::{json, Map, Value as Json};

use super::errors::{ApiError, ApiResult};
use super::input::{self, number, opt, path_int, to_bool, to_float, to_int, to_text};
use super::router::{Reply, Request, Route};
use super::search::SearchCriteria;
use super::state::{keep_or_assign_id, ShopState};

/// This resource's routes, below `/V1`.
pub(crate) const ROUTES: &[Route] = &[
    Route::guarded("GET", "/orders", list, "Magento_Sales::actions_view"),
    Route::guarded("GET", "/orders/{id}", get, "Magento_Sales::actions_view"),
    Route::guarded("POST", "/order/{orderId}/ship", ship, "Magento_Sales::ship"),
    Route::guarded(
        "POST",
        "/order/{orderId}/invoice",
        invoice,
        "Magento_Sales::sales_invoice",
    ),
    Route::guarded(
        "POST",
        "/orders/{id}/cancel",
        cancel,
        "Magento_Sales::cancel",
    ),
    Route::guarded(
        "POST",
        "/orders/{id}/comments",
        add_comment,
        "Magento_Sales::comment",
    ),
    Route::guarded(
        "GET",
        "/orders/{id}/comments",
        comments,
        "Magento_Sales::actions_view",
    ),
];

pub(crate) fn not_found() -> ApiError {
    ApiError::not_found(
        "The entity that was requested doesn't exist. Verify the entity and try again.",
    )
}

pub(crate) fn insert_fixture_order(state: &mut ShopState, o: Json) {
    let Json::Object(mut o) = o else { return };
    let id = keep_or_assign_id(&mut o, "entity_id", &mut state.ids.order);
    if let Some(Json::Array(items)) = o.get_mut("items") {
        items.retain(Json::is_object);
        for item in items.iter_mut().filter_map(Json::as_object_mut) {
            keep_or_assign_id(item, "item_id", &mut state.ids.order_item);
            item.insert("order_id".into(), json!(id));
        }
    }
    o.entry("status_histories").or_insert_with(|| json!([]));
    if let Some(Json::Array(h)) = o.get("status_histories") {
        let max = h
            .iter()
            .filter_map(|c| c.get("entity_id").and_then(Json::as_i64))
            .max();
        state.ids.history = state.ids.history.max(max.unwrap_or(0));
    }
    state.orders.push(Json::Object(o));
}

fn f(v: &Json, key: &str) -> f64 {
    match v.get(key) {
        Some(Json::Number(n)) => n.as_f64().unwrap_or(0.0),
        Some(Json::String(s)) => s.parse().unwrap_or(0.0),
        _ => 0.0,
    }
}

fn items(o: &Json) -> Vec<Json> {
    o.get("items")
        .and_then(Json::as_array)
        .cloned()
        .unwrap_or_default()
}

fn is_child(item: &Json) -> bool {
    item.get("parent_item_id").is_some_and(|p| !p.is_null())
}

fn qty_to_ship(item: &Json) -> f64 {
    (f(item, "qty_ordered")
        - f(item, "qty_shipped")
        - f(item, "qty_refunded")
        - f(item, "qty_canceled"))
    .max(0.0)
}

fn qty_to_invoice(item: &Json) -> f64 {
    (f(item, "qty_ordered") - f(item, "qty_invoiced") - f(item, "qty_canceled")).max(0.0)
}

fn status_of(o: &Json) -> String {
    o.get("status")
        .and_then(Json::as_str)
        .unwrap_or_default()
        .to_string()
}

fn state_of(o: &Json) -> String {
    o.get("state")
        .and_then(Json::as_str)
        .unwrap_or_default()
        .to_string()
}

/// The order as `GET` shows it: child rows with a copy of their parent
/// row, the shipping assignment listing the items.
pub(crate) fn render(o: &Json) -> Json {
    let mut o = o.clone();
    let rows = items(&o);
    let rendered: Vec<Json> = rows
        .iter()
        .map(|item| {
            let mut item = item.clone();
            if let Some(pid) = item.get("parent_item_id").and_then(Json::as_i64) {
                if let Some(parent) = rows
                    .iter()
                    .find(|p| p.get("item_id").and_then(Json::as_i64) == Some(pid))
                {
                    item["parent_item"] = parent.clone();
                }
            }
            item
        })
        .collect();
    o["items"] = json!(rendered);
    if let Some(Json::Array(assignments)) =
        o.pointer_mut("/extension_attributes/shipping_assignments")
    {
        for a in assignments {
            a["items"] = json!(rendered);
        }
    }
    o
}

fn order_index(state: &ShopState, raw: &str) -> ApiResult<usize> {
    let id = path_int(raw)?;
    state.order_index(id).ok_or_else(not_found)
}

fn list(state: &mut ShopState, req: &Request) -> Reply {
    let sc = SearchCriteria::from_query(req.query)?
        .ok_or_else(|| ApiError::required_field("searchCriteria"))?;
    let (page, total) = sc.apply(&state.orders);
    let items: Vec<Json> = page.iter().map(render).collect();
    Ok(json!({ "items": items, "search_criteria": sc.echo(), "total_count": total }))
}

fn get(state: &mut ShopState, req: &Request) -> Reply {
    let i = order_index(state, req.param("id"))?;
    Ok(render(&state.orders[i]))
}

/// `[(order_item_id, qty)]` of a ship or invoice body.
fn document_items(body: &Map<String, Json>, class: &str) -> ApiResult<Vec<(i64, f64)>> {
    let Some(list) = body.get("items").filter(|v| !v.is_null()) else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for v in input::array(list, &format!("{class}[]"))? {
        let m = input::object(v, class, input::DOCUMENT_ITEM_FIELDS)?;
        let id = opt(m, "order_item_id", to_int)?.unwrap_or(0);
        let qty = opt(m, "qty", to_float)?.unwrap_or(0.0);
        out.push((id, qty));
    }
    Ok(out)
}

/// After a shipment or invoice: new becomes processing, all done complete.
fn resolve_state(o: &mut Json) {
    let state = state_of(o);
    if ["canceled", "closed", "holded", "payment_review"].contains(&state.as_str()) {
        return;
    }
    let rows = items(o);
    let done = rows
        .iter()
        .filter(|i| !is_child(i))
        .all(|i| qty_to_ship(i) == 0.0 && qty_to_invoice(i) == 0.0);
    if done {
        o["state"] = json!("complete");
        o["status"] = json!("complete");
    } else if state == "new" {
        o["state"] = json!("processing");
        o["status"] = json!("processing");
    }
}

fn increment(n: i64) -> String {
    format!("{n:09}")
}

fn ship(state: &mut ShopState, req: &Request) -> Reply {
    let body = input::parse_body(req.body)?;
    let asked = document_items(&body, input::SHIPMENT_ITEM_CLASS)?;
    let _notify = opt(&body, "notify", to_bool)?.unwrap_or(false);
    let append_comment = opt(&body, "appendComment", to_bool)?.unwrap_or(false);
    let mut tracks = Vec::new();
    if let Some(list) = body.get("tracks").filter(|v| !v.is_null()) {
        for t in input::array(
            list,
            "Magento\\Sales\\Api\\Data\\ShipmentTrackCreationInterface[]",
        )? {
            let m = input::object(t, input::TRACK_CLASS, input::TRACK_FIELDS)?;
            tracks.push((
                opt(m, "track_number", to_text)?.unwrap_or_default(),
                opt(m, "title", to_text)?.unwrap_or_default(),
                opt(m, "carrier_code", to_text)?.unwrap_or_default(),
            ));
        }
    }
    let comment = match body.get("comment").filter(|v| v.is_object()) {
        Some(Json::Object(c)) => Some((
            opt(c, "comment", to_text)?.unwrap_or_default(),
            opt(c, "is_visible_on_front", to_int)?.unwrap_or(0),
        )),
        _ => None,
    };
    let i = order_index(state, req.param("orderId"))?;
    let order = state.orders[i].clone();
    let rows = items(&order);
    // ShipmentFactory::prepareItems: what each line ships.
    let mut plan: Vec<(i64, f64)> = Vec::new();
    for row in rows.iter().filter(|r| !is_child(r)) {
        let id = row.get("item_id").and_then(Json::as_i64).unwrap_or(0);
        let left = qty_to_ship(row);
        if left <= 0.0 {
            continue;
        }
        let qty = if asked.is_empty() {
            left
        } else {
            match asked.iter().find(|(a, _)| *a == id) {
                Some((_, q)) => q.min(left),
                None => continue,
            }
        };
        if qty > 0.0 {
            plan.push((id, qty));
        }
    }
    let mut messages = Vec::new();
    if tracks
        .iter()
        .any(|(n, _, c)| n.trim().is_empty() || c.trim().is_empty())
    {
        messages.push("Please enter a tracking number.".to_string());
    }
    if plan.iter().map(|(_, q)| q).sum::<f64>() <= 0.0 {
        messages.push("You can't create a shipment without products.".to_string());
    }
    let order_state = state_of(&order);
    if ["payment_review", "holded", "canceled"].contains(&order_state.as_str()) {
        messages.push(format!(
            "A shipment cannot be created when an order has a status of {}",
            status_of(&order)
        ));
    } else if !rows.iter().any(|r| !is_child(r) && qty_to_ship(r) > 0.0) {
        messages.push("The order does not allow a shipment to be created.".to_string());
    }
    if !messages.is_empty() {
        return Err(ApiError::bad_request(format!(
            "Shipment Document Validation Error(s):\n{}",
            messages.join("\n")
        )));
    }
    let now = state.now();
    state.ids.shipment += 1;
    let shipment_id = state.ids.shipment;
    let mut shipment_items = Vec::new();
    let o = &mut state.orders[i];
    let order_id = o["entity_id"].clone();
    if let Some(Json::Array(rows)) = o.get_mut("items") {
        for (id, qty) in &plan {
            for row in rows.iter_mut() {
                let row_id = row.get("item_id").and_then(Json::as_i64);
                let parent = row.get("parent_item_id").and_then(Json::as_i64);
                if row_id == Some(*id) || parent == Some(*id) {
                    let shipped = f(row, "qty_shipped") + qty;
                    row["qty_shipped"] = number(shipped);
                    row["updated_at"] = json!(now);
                }
                if row_id == Some(*id) {
                    shipment_items.push(json!({
                        "entity_id": shipment_id * 100 + shipment_items.len() as i64 + 1,
                        "name": row.get("name").cloned().unwrap_or(Json::Null),
                        "parent_id": shipment_id,
                        "price": row.get("price").cloned().unwrap_or(json!(0)),
                        "product_id": row.get("product_id").cloned().unwrap_or(Json::Null),
                        "sku": row.get("sku").cloned().unwrap_or(Json::Null),
                        "weight": row.get("weight").cloned().unwrap_or(Json::Null),
                        "order_item_id": id,
                        "qty": number(*qty),
                    }));
                }
            }
        }
    }
    resolve_state(o);
    o["updated_at"] = json!(now);
    let total_qty: f64 = plan.iter().map(|(_, q)| q).sum();
    let mut track_list = Vec::new();
    for (n, title, carrier) in tracks {
        state.ids.track += 1;
        track_list.push(json!({
            "order_id": order_id,
            "created_at": now,
            "entity_id": state.ids.track,
            "parent_id": shipment_id,
            "updated_at": now,
            "weight": null,
            "qty": null,
            "description": null,
            "track_number": n,
            "title": title,
            "carrier_code": carrier,
        }));
    }
    // `ShipmentDocumentFactory` adds the comment whenever one is given;
    // `appendComment` only decides whether the customer is told of it.
    let comments: Vec<Json> = match comment {
        Some((text, visible)) => vec![json!({
            "is_customer_notified": i64::from(append_comment),
            "parent_id": shipment_id,
            "comment": text,
            "is_visible_on_front": visible,
            "created_at": now,
            "entity_id": shipment_id,
        })],
        _ => Vec::new(),
    };
    let store_id = state.orders[i].get("store_id").cloned().unwrap_or(json!(1));
    state.shipments.push(json!({
        "billing_address_id": state.orders[i].get("billing_address_id").cloned().unwrap_or(Json::Null),
        "created_at": now,
        "customer_id": state.orders[i].get("customer_id").cloned().unwrap_or(Json::Null),
        "entity_id": shipment_id,
        "increment_id": increment(shipment_id),
        "order_id": order_id,
        "packages": [],
        "store_id": store_id,
        "total_qty": number(total_qty),
        "updated_at": now,
        "items": shipment_items,
        "tracks": track_list,
        "comments": comments,
    }));
    Ok(json!(shipment_id))
}

fn invoice(state: &mut ShopState, req: &Request) -> Reply {
    let body = input::parse_body(req.body)?;
    let asked = document_items(&body, input::INVOICE_ITEM_CLASS)?;
    let capture = opt(&body, "capture", to_bool)?.unwrap_or(false);
    let _notify = opt(&body, "notify", to_bool)?.unwrap_or(false);
    let i = order_index(state, req.param("orderId"))?;
    let order = state.orders[i].clone();
    let rows = items(&order);
    let mut messages = Vec::new();
    let order_state = state_of(&order);
    let mut plan: Vec<(i64, f64)> = Vec::new();
    for row in rows.iter().filter(|r| !is_child(r)) {
        let id = row.get("item_id").and_then(Json::as_i64).unwrap_or(0);
        let left = qty_to_invoice(row);
        let qty = if asked.is_empty() {
            left
        } else {
            asked
                .iter()
                .find(|(a, _)| *a == id)
                .map_or(0.0, |(_, q)| *q)
        };
        if qty > left {
            messages.push(format!(
                "The quantity to invoice must not be greater than the uninvoiced quantity for product SKU \"{}\".",
                row.get("sku").and_then(Json::as_str).unwrap_or_default()
            ));
        } else if qty > 0.0 {
            plan.push((id, qty));
        }
    }
    if ["payment_review", "holded", "canceled", "complete", "closed"]
        .contains(&order_state.as_str())
    {
        messages.push(format!(
            "An invoice cannot be created when an order has a status of {}",
            status_of(&order)
        ));
    } else if !rows.iter().any(|r| !is_child(r) && qty_to_invoice(r) > 0.0) {
        messages.push("The order does not allow an invoice to be created.".to_string());
    } else if messages.is_empty() && plan.is_empty() {
        messages.push("You can't create an invoice without products.".to_string());
    }
    if !messages.is_empty() {
        return Err(ApiError::bad_request(format!(
            "Invoice Document Validation Error(s):\n{}",
            messages.join("\n")
        )));
    }
    let now = state.now();
    state.ids.invoice += 1;
    let invoice_id = state.ids.invoice;
    let o = &mut state.orders[i];
    let first_invoice = f(o, "shipping_invoiced") == 0.0;
    let (mut subtotal, mut tax, mut qty_total) = (0.0, 0.0, 0.0);
    let mut invoice_items = Vec::new();
    if let Some(Json::Array(rows)) = o.get_mut("items") {
        for (id, qty) in &plan {
            for row in rows.iter_mut() {
                let row_id = row.get("item_id").and_then(Json::as_i64);
                let parent = row.get("parent_item_id").and_then(Json::as_i64);
                if row_id != Some(*id) && parent != Some(*id) {
                    continue;
                }
                row["qty_invoiced"] = number(f(row, "qty_invoiced") + qty);
                row["updated_at"] = json!(now);
                if row_id == Some(*id) {
                    let price = f(row, "price");
                    let row_total = (price * qty * 100.0).round() / 100.0;
                    let row_tax = (row_total * f(row, "tax_percent")).round() / 100.0;
                    subtotal += row_total;
                    tax += row_tax;
                    qty_total += qty;
                    row["row_invoiced"] = number(f(row, "row_invoiced") + row_total);
                    row["base_row_invoiced"] = number(f(row, "base_row_invoiced") + row_total);
                    row["tax_invoiced"] = number(f(row, "tax_invoiced") + row_tax);
                    row["base_tax_invoiced"] = number(f(row, "base_tax_invoiced") + row_tax);
                    invoice_items.push(json!({
                        "base_price": price,
                        "base_row_total": row_total,
                        "entity_id": invoice_id * 100 + invoice_items.len() as i64 + 1,
                        "name": row.get("name").cloned().unwrap_or(Json::Null),
                        "parent_id": invoice_id,
                        "price": price,
                        "row_total": row_total,
                        "sku": row.get("sku").cloned().unwrap_or(Json::Null),
                        "tax_amount": row_tax,
                        "order_item_id": id,
                        "qty": number(*qty),
                    }));
                }
            }
        }
    }
    let (shipping, shipping_tax) = if first_invoice {
        (f(o, "shipping_amount"), f(o, "shipping_tax_amount"))
    } else {
        (0.0, 0.0)
    };
    let grand = ((subtotal + tax + shipping + shipping_tax) * 100.0).round() / 100.0;
    let invoiced = f(o, "total_invoiced") + grand;
    o["total_invoiced"] = number(invoiced);
    o["base_total_invoiced"] = number(invoiced);
    o["subtotal_invoiced"] = number(f(o, "subtotal_invoiced") + subtotal);
    o["tax_invoiced"] = number(f(o, "tax_invoiced") + tax + shipping_tax);
    o["shipping_invoiced"] = number(f(o, "shipping_invoiced") + shipping);
    // Offline methods (checkmo, bank transfer) are paid when invoiced.
    let paid = f(o, "total_paid") + grand;
    o["total_paid"] = number(paid);
    o["base_total_paid"] = number(paid);
    let due = (f(o, "grand_total") - paid).max(0.0);
    o["total_due"] = number((due * 100.0).round() / 100.0);
    o["base_total_due"] = o["total_due"].clone();
    resolve_state(o);
    o["updated_at"] = json!(now);
    let order_id = o["entity_id"].clone();
    let store_id = o.get("store_id").cloned().unwrap_or(json!(1));
    state.invoices.push(json!({
        "base_currency_code": "EUR",
        "base_grand_total": grand,
        "base_shipping_amount": shipping,
        "base_subtotal": subtotal,
        "base_tax_amount": tax + shipping_tax,
        "created_at": now,
        "entity_id": invoice_id,
        "grand_total": grand,
        "increment_id": increment(invoice_id),
        "order_currency_code": "EUR",
        "order_id": order_id,
        "requested_capture_case": if capture { "online" } else { "offline" },
        "shipping_amount": shipping,
        "state": 2,
        "store_id": store_id,
        "subtotal": subtotal,
        "tax_amount": tax + shipping_tax,
        "total_qty": number(qty_total),
        "updated_at": now,
        "items": invoice_items,
        "comments": [],
    }));
    Ok(json!(invoice_id))
}

fn cancel(state: &mut ShopState, req: &Request) -> Reply {
    let i = order_index(state, req.param("id"))?;
    let o = &state.orders[i];
    let order_state = state_of(o);
    let rows = items(o);
    let all_invoiced = !rows.iter().any(|r| qty_to_invoice(r) > 0.0);
    if all_invoiced
        || ["canceled", "complete", "closed", "holded", "payment_review"]
            .contains(&order_state.as_str())
    {
        return Ok(json!(false));
    }
    let now = state.now();
    let o = &mut state.orders[i];
    let mut subtotal_canceled = 0.0;
    if let Some(Json::Array(rows)) = o.get_mut("items") {
        for row in rows.iter_mut() {
            let to_cancel = qty_to_ship(row).min(qty_to_invoice(row));
            if to_cancel > 0.0 {
                row["qty_canceled"] = number(f(row, "qty_canceled") + to_cancel);
                row["updated_at"] = json!(now);
                if !is_child(row) {
                    subtotal_canceled += f(row, "price") * to_cancel;
                }
            }
        }
    }
    o["subtotal_canceled"] = number((subtotal_canceled * 100.0).round() / 100.0);
    o["base_subtotal_canceled"] = o["subtotal_canceled"].clone();
    let due = f(o, "total_due");
    o["total_canceled"] = number(due);
    o["base_total_canceled"] = number(due);
    o["state"] = json!("canceled");
    o["status"] = json!("canceled");
    o["updated_at"] = json!(now);
    Ok(json!(true))
}

fn add_comment(state: &mut ShopState, req: &Request) -> Reply {
    let body = input::parse_body(req.body)?;
    let h = input::object(
        input::required(&body, "statusHistory")?,
        input::STATUS_HISTORY_CLASS,
        input::STATUS_HISTORY_FIELDS,
    )?;
    let comment = opt(h, "comment", to_text)?;
    let notified = opt(h, "is_customer_notified", to_int)?;
    let visible = opt(h, "is_visible_on_front", to_int)?.unwrap_or(0);
    let status = opt(h, "status", to_text)?;
    let i = order_index(state, req.param("id"))?;
    let sets_status = state.comment_sets_status;
    if let Some(s) = status.as_ref().filter(|s| !s.is_empty()) {
        let allowed = state_statuses(&state_of(&state.orders[i]));
        if !sets_status && !allowed.contains(&s.as_str()) {
            return Err(ApiError::bad_request(
                "Unable to add comment: The status \"%1\" is not part of the order status history.",
            )
            .with_args([s.clone()]));
        }
    }
    let now = state.now();
    state.ids.history += 1;
    let history_id = state.ids.history;
    let o = &mut state.orders[i];
    if let Some(s) = status.as_ref().filter(|s| !s.is_empty()) {
        o["status"] = json!(s);
    }
    let entry = json!({
        "comment": comment,
        "created_at": now,
        "entity_id": history_id,
        "entity_name": "order",
        "is_customer_notified": notified,
        "is_visible_on_front": visible,
        "parent_id": o["entity_id"],
        "status": o["status"],
    });
    match o.get_mut("status_histories") {
        Some(Json::Array(list)) => list.insert(0, entry),
        _ => o["status_histories"] = json!([entry]),
    }
    o["updated_at"] = json!(now);
    Ok(json!(true))
}

/// The statuses a default install assigns to each order state.
fn state_statuses(state: &str) -> &'static [&'static str] {
    match state {
        "new" => &["pending"],
        "pending_payment" => &["pending_payment"],
        "processing" => &["processing", "fraud"],
        "complete" => &["complete"],
        "closed" => &["closed"],
        "canceled" => &["canceled"],
        "holded" => &["holded"],
        "payment_review" => &["payment_review", "fraud"],
        _ => &[],
    }
}

fn comments(state: &mut ShopState, req: &Request) -> Reply {
    let i = order_index(state, req.param("id"))?;
    let list = state.orders[i]
        .get("status_histories")
        .cloned()
        .unwrap_or(json!([]));
    let total = list.as_array().map_or(0, Vec::len);
    Ok(json!({ "items": list, "search_criteria": {"filter_groups": []}, "total_count": total }))
}

#[cfg(test)]
mod tests {
    use super::super::fixture::Fixture;
    use super::super::in_process::test_call;
    use super::*;

    fn demo() -> ShopState {
        ShopState::from_fixture(Fixture::demo())
    }

    fn order(s: &ShopState, increment: &str) -> Json {
        render(s.order_by_increment(increment).unwrap())
    }

    #[test]
    fn the_sample_fulfilment_file_works() {
        let mut s = demo();
        let o = order(&s, "000000101");
        let id = o["entity_id"].as_i64().unwrap();
        let coffee = o["items"][0]["item_id"].as_i64().unwrap();
        let polo = o["items"][1]["item_id"].as_i64().unwrap();
        assert_eq!(o["items"][2]["parent_item"]["item_id"], polo);
        let before = o["updated_at"].clone();
        let body = json!({"items": [{"order_item_id": coffee, "qty": 2}, {"order_item_id": polo, "qty": 1}], "notify": true, "tracks": [{"track_number": "0123456789012345", "title": "BRT Bartolini", "carrier_code": "custom"}]});
        let sid = test_call(&mut s, "POST", &format!("/V1/order/{id}/ship"), "", &body).unwrap();
        assert_eq!(sid, json!(1));
        let o = order(&s, "000000101");
        assert_eq!(o["status"], "processing");
        assert_eq!(o["items"][2]["qty_shipped"], 1);
        assert_ne!(o["updated_at"], before);
        let inv = test_call(
            &mut s,
            "POST",
            &format!("/V1/order/{id}/invoice"),
            "",
            &json!({"capture": true, "notify": true}),
        )
        .unwrap();
        assert_eq!(inv, json!(1));
        let o = order(&s, "000000101");
        assert_eq!(o["status"], "complete");
        assert_eq!(o["total_due"], 0);
        let again = test_call(
            &mut s,
            "POST",
            &format!("/V1/order/{id}/invoice"),
            "",
            &json!({"capture": true}),
        )
        .unwrap_err();
        assert_eq!(again.message, "Invoice Document Validation Error(s):\nAn invoice cannot be created when an order has a status of complete");
        let o102 = order(&s, "000000102")["entity_id"].as_i64().unwrap();
        assert_eq!(
            test_call(
                &mut s,
                "POST",
                &format!("/V1/orders/{o102}/cancel"),
                "",
                &Json::Null
            )
            .unwrap(),
            json!(true)
        );
        assert_eq!(
            test_call(
                &mut s,
                "POST",
                &format!("/V1/orders/{o102}/cancel"),
                "",
                &Json::Null
            )
            .unwrap(),
            json!(false)
        );
        assert_eq!(order(&s, "000000102")["status"], "canceled");
        assert_eq!(
            s.shipments[0]["tracks"][0]["track_number"],
            "0123456789012345"
        );
    }

    #[test]
    fn shipping_clamps_then_refuses() {
        let mut s = demo();
        let o = order(&s, "000000103");
        let id = o["entity_id"].as_i64().unwrap();
        let coffee = o["items"][0]["item_id"].as_i64().unwrap();
        let path = format!("/V1/order/{id}/ship");
        // 6 ordered: asking 9 ships the 6 left.
        test_call(
            &mut s,
            "POST",
            &path,
            "",
            &json!({"items": [{"order_item_id": coffee, "qty": 9}]}),
        )
        .unwrap();
        assert_eq!(order(&s, "000000103")["items"][0]["qty_shipped"], 6);
        let e = test_call(
            &mut s,
            "POST",
            &path,
            "",
            &json!({"items": [{"order_item_id": coffee, "qty": 1}]}),
        )
        .unwrap_err();
        assert_eq!(
            e.message,
            "Shipment Document Validation Error(s):\nYou can't create a shipment without products."
        );
        // Everything else left, then nothing.
        test_call(&mut s, "POST", &path, "", &json!({})).unwrap();
        let e = test_call(&mut s, "POST", &path, "", &json!({})).unwrap_err();
        assert!(e
            .message
            .ends_with("The order does not allow a shipment to be created."));
        let e = test_call(&mut s, "POST", "/V1/order/000000103/ship", "", &json!({})).unwrap_err();
        assert_eq!(e.status, 404);
        let e = test_call(&mut s, "POST", "/V1/order/%7Bid%7D/ship", "", &json!({})).unwrap_err();
        assert_eq!(e.status, 400);
    }

    #[test]
    fn partial_invoices_check_quantities() {
        let mut s = demo();
        let o = order(&s, "000000103");
        let id = o["entity_id"].as_i64().unwrap();
        let oil = o["items"][1]["item_id"].as_i64().unwrap();
        let path = format!("/V1/order/{id}/invoice");
        let e = test_call(
            &mut s,
            "POST",
            &path,
            "",
            &json!({"items": [{"order_item_id": oil, "qty": 13}]}),
        )
        .unwrap_err();
        assert!(e.message.contains("SKU \"OLI-EVO-075\""));
        test_call(
            &mut s,
            "POST",
            &path,
            "",
            &json!({"items": [{"order_item_id": oil, "qty": 12}]}),
        )
        .unwrap();
        assert_eq!(order(&s, "000000103")["status"], "processing");
        // Partly invoiced orders can still be canceled (the rest is).
        assert_eq!(
            test_call(
                &mut s,
                "POST",
                &format!("/V1/orders/{id}/cancel"),
                "",
                &Json::Null
            )
            .unwrap(),
            json!(true)
        );
    }

    #[test]
    fn comments_keep_the_status_unless_asked() {
        let mut s = demo();
        let id = order(&s, "000000101")["entity_id"].as_i64().unwrap();
        let body = json!({"statusHistory": {"comment": "Esportato in ORD1.txt", "is_customer_notified": 0, "is_visible_on_front": 0, "parent_id": id, "status": "processing"}});
        let path = format!("/V1/orders/{id}/comments");
        let e = test_call(&mut s, "POST", &path, "", &body).unwrap_err();
        assert_eq!(e.params(), Some(&json!(["processing"])));
        let mut keep = body.clone();
        keep["statusHistory"]
            .as_object_mut()
            .unwrap()
            .remove("status");
        assert_eq!(
            test_call(&mut s, "POST", &path, "", &keep).unwrap(),
            json!(true)
        );
        let o = order(&s, "000000101");
        assert_eq!(o["status"], "pending");
        assert_eq!(o["status_histories"][0]["status"], "pending");
        assert_eq!(o["status_histories"][0]["comment"], "Esportato in ORD1.txt");
        s.comment_sets_status = true;
        test_call(
            &mut s,
            "POST",
            &format!("/V1/orders/{id}/comments"),
            "",
            &body,
        )
        .unwrap();
        assert_eq!(order(&s, "000000101")["status"], "processing");
        let list = test_call(
            &mut s,
            "GET",
            &format!("/V1/orders/{id}/comments"),
            "",
            &Json::Null,
        )
        .unwrap();
        assert_eq!(list["total_count"], 2, "{list}");
        let e = test_call(&mut s, "POST", "/V1/orders/99/comments", "", &body).unwrap_err();
        assert_eq!(
            e.message,
            "The entity that was requested doesn't exist. Verify the entity and try again."
        );
    }

    #[test]
    fn polls_page_by_updated_at() {
        let mut s = ShopState::from_fixture(Fixture::orders(25));
        let q = |page: usize| {
            format!("searchCriteria[filterGroups][0][filters][0][field]=updated_at&searchCriteria[filterGroups][0][filters][0][value]=2026-11-01%2000:04:00&searchCriteria[filterGroups][0][filters][0][conditionType]=gteq&searchCriteria[filterGroups][1][filters][0][field]=status&searchCriteria[filterGroups][1][filters][0][value]=pending,processing&searchCriteria[filterGroups][1][filters][0][conditionType]=in&searchCriteria[sortOrders][0][field]=updated_at&searchCriteria[sortOrders][0][direction]=ASC&searchCriteria[pageSize]=10&searchCriteria[currentPage]={page}")
        };
        let p1 = test_call(&mut s, "GET", "/V1/orders", &q(1), &Json::Null).unwrap();
        assert_eq!(p1["total_count"], 21);
        assert_eq!(p1["items"][0]["increment_id"], "000001005");
        let p3 = test_call(&mut s, "GET", "/V1/orders", &q(3), &Json::Null).unwrap();
        assert_eq!(p3["items"].as_array().unwrap().len(), 1);
        let p9 = test_call(&mut s, "GET", "/V1/orders", &q(9), &Json::Null).unwrap();
        assert_eq!(p9["items"], p3["items"]);
    }
}
