//! A Magento order (`sales-data-order-interface` JSON) as ORDINI record
//! values: one `OT` head, one `OD` ship-to address, one `OR` per line.
//!
//! - Amounts are floats in Magento's JSON (DECIMAL(20,4) in its database).
//!   They are converted through their shortest decimal text and rounded half
//!   away from zero to the field's scale, never truncated: 12.345 is 12.35.
//!   A numeric string is read the same way.
//! - The order's discount is negative in Magento; the files carry it as a
//!   positive amount. Shipping and unit prices are before tax; a line's
//!   total is `row_total_incl_tax`, its VAT rate `tax_percent`.
//! - Configurable products: Magento writes a parent row (the configurable,
//!   carrying the chosen child's SKU and the price) and a child row (the
//!   simple product, price 0, `parent_item_id` set). One `OR` per parent:
//!   children are skipped, but the SKU and name come from the child when
//!   there is one, since the ERP knows the variant.
//! - Text is passed as Magento has it; the writer transliterates what
//!   Windows-1252 cannot hold and cuts what is too long.

use serde_json::Value as Json;

use crate::magento::time;
use ponte_layout::record::{Decimal, Value};

/// One order's records, and what the export protocol needs to know of it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct MappedOrder {
    /// Magento's `entity_id`: the key of an export.
    pub id: i64,
    pub increment_id: String,
    pub updated_at: String,
    pub records: Vec<(&'static str, Vec<(&'static str, Value)>)>,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("order {order}: {message}")]
pub(crate) struct MapError {
    pub order: String,
    pub message: String,
}

/// What an order needs from outside itself.
pub(crate) struct Context<'a> {
    /// The `channel` field: the ERP channel of the order's store (see
    /// `super::stores`).
    pub channel: &'a str,
    /// The ERP customer code, blank for guests and unknown customers.
    pub customer_code: &'a str,
}

/// The order's `entity_id`, `increment_id` and `updated_at`, or why not.
pub(crate) fn identity(order: &Json) -> Result<(i64, String, String), MapError> {
    let increment = text(order, "increment_id");
    let name = if increment.is_empty() {
        format!("entity {}", order.get("entity_id").unwrap_or(&Json::Null))
    } else {
        increment.clone()
    };
    let fail = |message: &str| MapError {
        order: name.clone(),
        message: message.to_string(),
    };
    let id = integer(order.get("entity_id")).ok_or_else(|| fail("no entity_id"))?;
    if increment.is_empty() {
        return Err(fail("no increment_id"));
    }
    let updated_at = text(order, "updated_at");
    if time::parse(&updated_at).is_none() {
        return Err(fail(&format!(
            "updated_at {updated_at:?} is not a timestamp"
        )));
    }
    Ok((id, increment, updated_at))
}

pub(crate) fn map_order(order: &Json, ctx: &Context) -> Result<MappedOrder, MapError> {
    let (id, increment_id, updated_at) = identity(order)?;
    let fail = |message: String| MapError {
        order: increment_id.clone(),
        message,
    };
    let amount = |key: &str, scale: u8| -> Result<Decimal, MapError> {
        match order.get(key) {
            None | Some(Json::Null) => Ok(Decimal::new(0, scale)),
            Some(v) => {
                to_decimal(v, scale).ok_or_else(|| fail(format!("{key}: {v} is not an amount")))
            }
        }
    };
    let ordered_at = match time::parse_date(&text(order, "created_at")) {
        Some(d) => Value::Date(d),
        None => {
            return Err(fail(format!(
                "created_at {:?} is not a timestamp",
                text(order, "created_at")
            )))
        }
    };
    let billing = order.get("billing_address").unwrap_or(&Json::Null);
    let shipping_assignment = order
        .pointer("/extension_attributes/shipping_assignments/0/shipping")
        .unwrap_or(&Json::Null);
    // Virtual orders have no ship-to address: the billing one stands in.
    let ship = match shipping_assignment.get("address") {
        Some(a) if a.is_object() => a,
        _ => billing,
    };
    let taxvat = text(order, "customer_taxvat");
    let vat_number = match text(billing, "vat_id") {
        v if !v.is_empty() => v,
        _ if is_vat_number(&taxvat) => taxvat.clone(),
        _ => String::new(),
    };
    let shipping_method = match text(shipping_assignment, "method") {
        m if !m.is_empty() => m,
        _ => text(order, "shipping_description"),
    };
    let discount = amount("discount_amount", 2)?;
    let head = vec![
        ("order_number", Value::Text(increment_id.clone())),
        ("ordered_at", ordered_at),
        ("channel", Value::Text(ctx.channel.to_string())),
        ("customer_code", Value::Text(ctx.customer_code.to_string())),
        ("email", Value::Text(text(order, "customer_email"))),
        ("billing_name", Value::Text(party_name(billing, order))),
        ("billing_street", Value::Text(street(billing))),
        ("billing_postcode", Value::Text(text(billing, "postcode"))),
        ("billing_city", Value::Text(text(billing, "city"))),
        (
            "billing_province",
            Value::Text(text(billing, "region_code")),
        ),
        ("billing_country", Value::Text(text(billing, "country_id"))),
        ("fiscal_code", Value::Text(taxvat)),
        ("vat_number", Value::Text(vat_number)),
        ("shipping_method", Value::Text(shipping_method)),
        (
            "shipping_amount",
            Value::Decimal(amount("shipping_amount", 2)?),
        ),
        (
            "payment_method",
            Value::Text(text(order.get("payment").unwrap_or(&Json::Null), "method")),
        ),
        (
            "discount_amount",
            Value::Decimal(Decimal::new(discount.units.abs(), 2)),
        ),
        ("grand_total", Value::Decimal(amount("grand_total", 2)?)),
        ("currency", Value::Text(text(order, "order_currency_code"))),
    ];
    let address = vec![
        ("order_number", Value::Text(increment_id.clone())),
        ("ship_name", Value::Text(party_name(ship, order))),
        ("ship_street", Value::Text(street(ship))),
        ("ship_postcode", Value::Text(text(ship, "postcode"))),
        ("ship_city", Value::Text(text(ship, "city"))),
        ("ship_province", Value::Text(text(ship, "region_code"))),
        ("ship_country", Value::Text(text(ship, "country_id"))),
        ("ship_phone", Value::Text(text(ship, "telephone"))),
    ];
    let mut records = vec![("OT", head), ("OD", address)];
    let items: &[Json] = order
        .get("items")
        .and_then(Json::as_array)
        .map_or(&[], Vec::as_slice);
    let mut line = 0i64;
    for item in items {
        if item.get("parent_item_id").is_some_and(|p| !p.is_null()) {
            continue;
        }
        line += 1;
        let item_id = integer(item.get("item_id"));
        let child = item_id.and_then(|pid| {
            items
                .iter()
                .find(|c| integer(c.get("parent_item_id")) == Some(pid))
        });
        let pick = |key: &str| -> String {
            match child.map(|c| text(c, key)) {
                Some(t) if !t.is_empty() => t,
                _ => text(item, key),
            }
        };
        let sku = pick("sku");
        if sku.is_empty() {
            return Err(fail(format!("line {line} has no sku")));
        }
        let item_amount = |key: &str, scale: u8| -> Result<Decimal, MapError> {
            match item.get(key) {
                None | Some(Json::Null) => Ok(Decimal::new(0, scale)),
                Some(v) => to_decimal(v, scale).ok_or_else(|| {
                    fail(format!("line {line} ({sku}) {key}: {v} is not an amount"))
                }),
            }
        };
        let item_discount = item_amount("discount_amount", 2)?;
        records.push((
            "OR",
            vec![
                ("order_number", Value::Text(increment_id.clone())),
                ("line", Value::Integer(line)),
                ("sku", Value::Text(sku.clone())),
                ("name", Value::Text(pick("name"))),
                ("quantity", Value::Decimal(item_amount("qty_ordered", 3)?)),
                ("unit_price", Value::Decimal(item_amount("price", 2)?)),
                (
                    "discount_amount",
                    Value::Decimal(Decimal::new(item_discount.units.abs(), 2)),
                ),
                ("vat_rate", Value::Decimal(item_amount("tax_percent", 2)?)),
                (
                    "row_total",
                    Value::Decimal(item_amount("row_total_incl_tax", 2)?),
                ),
            ],
        ));
    }
    if line == 0 {
        return Err(fail("no items".into()));
    }
    Ok(MappedOrder {
        id,
        increment_id,
        updated_at,
        records,
    })
}

/// A JSON number or numeric string rounded half away from zero to `scale`.
pub(crate) fn to_decimal(v: &Json, scale: u8) -> Option<Decimal> {
    let text = match v {
        // `Display` of f64 is the shortest text that reads back the same
        // float, and never uses an exponent.
        Json::Number(n) => match n.as_i64() {
            Some(i) => i.to_string(),
            None => {
                let f = n.as_f64()?;
                if !f.is_finite() {
                    return None;
                }
                format!("{f}")
            }
        },
        Json::String(s) => s.trim().to_string(),
        _ => return None,
    };
    round_text(&text, scale)
}

/// `-12.345` at scale 2 is -12.35: half away from zero.
fn round_text(text: &str, scale: u8) -> Option<Decimal> {
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    };
    let (int_part, frac_part) = digits.split_once('.').unwrap_or((digits, ""));
    if (int_part.is_empty() && frac_part.is_empty())
        || !int_part.bytes().all(|b| b.is_ascii_digit())
        || !frac_part.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let keep = frac_part.len().min(scale as usize);
    let mut units: i64 = 0;
    for b in int_part.bytes().chain(frac_part[..keep].bytes()) {
        units = units.checked_mul(10)?.checked_add((b - b'0') as i64)?;
    }
    for _ in keep..scale as usize {
        units = units.checked_mul(10)?;
    }
    if frac_part
        .as_bytes()
        .get(scale as usize)
        .is_some_and(|&b| b >= b'5')
    {
        units = units.checked_add(1)?;
    }
    Some(Decimal::new(if negative { -units } else { units }, scale))
}

fn text(v: &Json, key: &str) -> String {
    match v.get(key) {
        Some(Json::String(s)) => s.trim().to_string(),
        Some(Json::Number(n)) => n.to_string(),
        _ => String::new(),
    }
}

fn integer(v: Option<&Json>) -> Option<i64> {
    match v? {
        Json::Number(n) => n.as_i64(),
        Json::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// A company when the address has one, else first and last name; the
/// order's customer name when the address has neither.
fn party_name(address: &Json, order: &Json) -> String {
    let company = text(address, "company");
    if !company.is_empty() {
        return company;
    }
    let join = |first: String, last: String| {
        [first, last]
            .into_iter()
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>()
            .join(" ")
    };
    let name = join(text(address, "firstname"), text(address, "lastname"));
    if !name.is_empty() {
        return name;
    }
    join(
        text(order, "customer_firstname"),
        text(order, "customer_lastname"),
    )
}

fn street(address: &Json) -> String {
    match address.get("street") {
        Some(Json::Array(lines)) => lines
            .iter()
            .filter_map(Json::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>()
            .join(" "),
        Some(Json::String(s)) => s.trim().to_string(),
        _ => String::new(),
    }
}

/// An Italian partita IVA: 11 digits, optionally after `IT`.
fn is_vat_number(s: &str) -> bool {
    let digits = s.strip_prefix("IT").unwrap_or(s);
    digits.len() == 11 && digits.bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn value<'a>(m: &'a MappedOrder, tag: &str, n: usize, key: &str) -> &'a Value {
        let rec = m.records.iter().filter(|(t, _)| *t == tag).nth(n).unwrap();
        &rec.1.iter().find(|(k, _)| *k == key).unwrap().1
    }

    fn dec(s: &str) -> Value {
        let scale = s.split_once('.').map_or(0, |(_, f)| f.len()) as u8;
        Value::Decimal(Decimal::parse(s, scale).unwrap())
    }

    #[test]
    fn amounts_round_half_away_from_zero_never_truncate() {
        assert_eq!(to_decimal(&json!(12.5), 2), Some(Decimal::new(1250, 2)));
        assert_eq!(to_decimal(&json!(12.345), 2), Some(Decimal::new(1235, 2)));
        assert_eq!(to_decimal(&json!(2.675), 2), Some(Decimal::new(268, 2)));
        assert_eq!(to_decimal(&json!(0.1 + 0.2), 2), Some(Decimal::new(30, 2)));
        assert_eq!(to_decimal(&json!(-5.005), 2), Some(Decimal::new(-501, 2)));
        assert_eq!(to_decimal(&json!(19.999), 2), Some(Decimal::new(2000, 2)));
        assert_eq!(to_decimal(&json!(22), 2), Some(Decimal::new(2200, 2)));
        assert_eq!(
            to_decimal(&json!("24.5000"), 2),
            Some(Decimal::new(2450, 2))
        );
        assert_eq!(to_decimal(&json!(1.0), 3), Some(Decimal::new(1000, 3)));
        assert_eq!(to_decimal(&json!("abc"), 2), None);
        assert_eq!(to_decimal(&json!(true), 2), None);
    }

    fn order() -> Json {
        json!({
            "entity_id": 7,
            "increment_id": "000000107",
            "created_at": "2026-11-27 09:41:07",
            "updated_at": "2026-11-27 09:41:09",
            "customer_email": "a@b.it",
            "customer_taxvat": "02345678901",
            "discount_amount": -5,
            "shipping_amount": 5,
            "grand_total": 103.456,
            "order_currency_code": "EUR",
            "billing_address": {"firstname": "Ann", "lastname": "Rossi", "street": ["Via A 1", "Scala B"], "postcode": "20121", "city": "Milano", "region_code": "MI", "country_id": "IT"},
            "payment": {"method": "checkmo"},
            "extension_attributes": {"shipping_assignments": [{"shipping": {"method": "flatrate_flatrate", "address": {"company": "ACME", "street": ["Via C 3"], "city": "Roma", "telephone": "06 1"}}}]},
            "items": [
                {"item_id": 1, "sku": "A", "name": "Alpha", "qty_ordered": 2, "price": 10, "discount_amount": 1.5, "tax_percent": 22, "row_total_incl_tax": 24.4},
                {"item_id": 2, "sku": "POLO-M", "name": "Polo", "product_type": "configurable", "qty_ordered": 1, "price": 39.9, "tax_percent": 22, "row_total_incl_tax": 48.678},
                {"item_id": 3, "parent_item_id": 2, "sku": "POLO-M", "name": "Polo - M blu", "qty_ordered": 1, "price": 0, "tax_percent": 0, "row_total_incl_tax": 0}
            ]
        })
    }

    #[test]
    fn maps_head_address_and_lines() {
        let ctx = Context {
            channel: "B2C",
            customer_code: "C000124",
        };
        let m = map_order(&order(), &ctx).unwrap();
        assert_eq!((m.id, m.increment_id.as_str()), (7, "000000107"));
        assert_eq!(
            m.records.len(),
            4,
            "OT, OD and two OR: the child row is skipped"
        );
        assert_eq!(value(&m, "OT", 0, "discount_amount"), &dec("5.00"));
        assert_eq!(value(&m, "OT", 0, "grand_total"), &dec("103.46"));
        assert_eq!(
            value(&m, "OT", 0, "billing_street"),
            &Value::Text("Via A 1 Scala B".into())
        );
        assert_eq!(
            value(&m, "OT", 0, "vat_number"),
            &Value::Text("02345678901".into())
        );
        assert_eq!(
            value(&m, "OT", 0, "shipping_method"),
            &Value::Text("flatrate_flatrate".into())
        );
        assert_eq!(
            value(&m, "OT", 0, "customer_code"),
            &Value::Text("C000124".into())
        );
        assert_eq!(value(&m, "OD", 0, "ship_name"), &Value::Text("ACME".into()));
        assert_eq!(value(&m, "OR", 0, "vat_rate"), &dec("22.00"));
        assert_eq!(value(&m, "OR", 0, "quantity"), &dec("2.000"));
        assert_eq!(value(&m, "OR", 0, "discount_amount"), &dec("1.50"));
        assert_eq!(value(&m, "OR", 1, "line"), &Value::Integer(2));
        assert_eq!(
            value(&m, "OR", 1, "name"),
            &Value::Text("Polo - M blu".into())
        );
        assert_eq!(value(&m, "OR", 1, "row_total"), &dec("48.68"));
    }

    #[test]
    fn broken_orders_are_named() {
        let ctx = Context {
            channel: "B2C",
            customer_code: "",
        };
        let mut o = order();
        o["grand_total"] = json!("n/a");
        let e = map_order(&o, &ctx).unwrap_err();
        assert_eq!(e.order, "000000107");
        assert!(e.message.contains("grand_total"), "{e}");
        let mut o = order();
        o["items"] = json!([]);
        assert!(map_order(&o, &ctx)
            .unwrap_err()
            .message
            .contains("no items"));
        let mut o = order();
        o.as_object_mut().unwrap().remove("increment_id");
        assert_eq!(map_order(&o, &ctx).unwrap_err().order, "entity 7");
    }
}
