//! Magento 2 REST requests for changes: the bodies `plan` shows and the push
//! sends. Only the changed fields go on an update; a create also carries what
//! Magento needs to make the entity (attribute set, type, visibility,
//! websites). Fields Magento owns (categories, media, special prices) are
//! never written. Values that need a lookup in the shop (option ids of select
//! attributes, an order's id, its items' ids, a province's region) are left
//! as labels, SKUs and `{...}` placeholders for the client to resolve.

use serde::Serialize;
use serde_json::{json, Map, Value as Json};

use crate::config::{StockMode, Target};
use crate::reconcile::{Action, Change};

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Request {
    pub method: &'static str,
    /// Below `/rest/<store>`, such as `/V1/products/ABC`.
    pub path: String,
    pub body: Json,
}

/// Select attributes whose values are option ids in Magento.
pub const SELECT_ATTRIBUTES: [&str; 3] = ["brand", "size", "color"];

/// Magento's product visibility: variants are reached through their parent.
const NOT_VISIBLE_INDIVIDUALLY: i64 = 1;
const CATALOG_AND_SEARCH: i64 = 4;
const STATUS_ENABLED: i64 = 1;
const STATUS_DISABLED: i64 = 2;

/// Magento puts path parameters in the URL; a SKU may hold `/` or spaces.
pub fn path_segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn text<'a>(fields: &'a Map<String, Json>, key: &str) -> Option<&'a str> {
    fields.get(key).and_then(Json::as_str)
}

fn number(fields: &Map<String, Json>, key: &str) -> Option<f64> {
    fields
        .get(key)
        .and_then(Json::as_str)
        .and_then(|s| s.parse().ok())
}

/// A request in the scope of one store: `all` for global values (the
/// defaults every store view sees), or a store view's code for its own.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ScopedRequest {
    pub store: String,
    #[serde(flatten)]
    pub request: Request,
}

/// The scope of Magento's global values and defaults.
pub const ALL_STORES: &str = "all";

/// The product requests for a change (`PUT /V1/products/{sku}`): the
/// product's values through `all`, which writes the defaults (a write
/// through a store view's code would leave every value it carries behind
/// as that store view's own, hiding later default changes there); then,
/// when the target declares `store_view_attributes` and the change carries
/// one, those through the target's store code. A create writes them in
/// both: Magento needs a name for the default too.
pub fn product_requests(target: &Target, change: &Change) -> Result<Vec<ScopedRequest>, String> {
    let is_create = change.action == Action::Create;
    let store_view = |key: &str| target.store_view_attributes.iter().any(|a| a == key);
    let mut requests = vec![ScopedRequest {
        store: ALL_STORES.into(),
        request: product_request(target, change, |key| is_create || !store_view(key))?,
    }];
    let own: Map<String, Json> = change
        .fields
        .iter()
        .filter(|(k, _)| store_view(k))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    if !own.is_empty() {
        let mut request = fields_request(target, &change.key, change.action, &own, &own)?;
        if let Some(product) = request
            .body
            .get_mut("product")
            .and_then(Json::as_object_mut)
        {
            // Shape and websites are the product's, set through `all`.
            for k in [
                "attribute_set_id",
                "visibility",
                "type_id",
                "extension_attributes",
            ] {
                product.remove(k);
            }
        }
        if request.body["product"]
            .as_object()
            .is_some_and(|p| p.len() > 1)
        {
            requests.push(ScopedRequest {
                store: target.store_code.clone(),
                request,
            });
        }
    }
    Ok(requests)
}

/// The product request (`PUT /V1/products/{sku}`) with the changed fields
/// that `include` admits.
fn product_request(
    target: &Target,
    change: &Change,
    include: impl Fn(&str) -> bool,
) -> Result<Request, String> {
    let fields: Map<String, Json> = change
        .fields
        .iter()
        .filter(|(k, _)| include(k))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    fields_request(target, &change.key, change.action, &fields, &change.payload)
}

fn fields_request(
    target: &Target,
    sku: &str,
    action: Action,
    f: &Map<String, Json>,
    whole: &Map<String, Json>,
) -> Result<Request, String> {
    let mut product = Map::new();
    product.insert("sku".into(), json!(sku));
    let mut custom = Vec::new();
    let is_variant = text(whole, "kind") == Some("V");
    if action == Action::Create {
        product.insert("attribute_set_id".into(), json!(target.attribute_set_id));
        let visibility = if is_variant {
            NOT_VISIBLE_INDIVIDUALLY
        } else {
            CATALOG_AND_SEARCH
        };
        product.insert("visibility".into(), json!(visibility));
        // The push adds the websites the product already has, if Magento
        // holds it: see `push::products`.
        product.insert(
            "extension_attributes".into(),
            json!({ "website_ids": target.website_ids }),
        );
    }
    if action == Action::Create || f.contains_key("kind") {
        let type_id = if text(whole, "kind") == Some("C") {
            "configurable"
        } else {
            "simple"
        };
        product.insert("type_id".into(), json!(type_id));
        if action != Action::Create {
            let visibility = if is_variant {
                NOT_VISIBLE_INDIVIDUALLY
            } else {
                CATALOG_AND_SEARCH
            };
            product.insert("visibility".into(), json!(visibility));
        }
    }
    for (key, value) in f {
        match key.as_str() {
            "name" => {
                product.insert("name".into(), value.clone());
            }
            "price" => {
                product.insert("price".into(), json!(number(f, "price").unwrap_or(0.0)));
            }
            "weight" => {
                product.insert("weight".into(), json!(number(f, "weight").unwrap_or(0.0)));
            }
            "active" => {
                let status = if value == &Json::Bool(true) {
                    STATUS_ENABLED
                } else {
                    STATUS_DISABLED
                };
                product.insert("status".into(), json!(status));
            }
            "vat_code" => {
                let code = value.as_str().unwrap_or_default();
                let class = target.tax_classes.get(code).ok_or_else(|| {
                    format!(
                        "VAT code {code:?} has no tax class in target {} (tax_classes)",
                        target.name
                    )
                })?;
                custom
                    .push(json!({ "attribute_code": "tax_class_id", "value": class.to_string() }));
            }
            attr if attr == "description" || attr == "ean" || SELECT_ATTRIBUTES.contains(&attr) => {
                let text = value.as_str().unwrap_or_default();
                // On a create a blank is no value; on an update it clears one.
                if !(text.is_empty() && action == Action::Create) {
                    custom.push(json!({ "attribute_code": attr, "value": text }));
                }
            }
            // kind and parent_sku shape the product and its links, handled above and by the client.
            _ => {}
        }
    }
    // Sent only when it holds something: Magento refuses a null list.
    if !custom.is_empty() {
        product.insert("custom_attributes".into(), Json::Array(custom));
    }
    Ok(Request {
        method: "PUT",
        path: format!("/V1/products/{}", path_segment(sku)),
        body: json!({ "product": product, "saveOptions": true }),
    })
}

/// The configurable options of a parent, one request per axis.
pub fn configurable_option_requests(parent_sku: &str, axes: &[String]) -> Vec<Request> {
    axes.iter()
        .enumerate()
        .map(|(i, axis)| Request {
            method: "POST",
            path: format!("/V1/configurable-products/{}/options", path_segment(parent_sku)),
            body: json!({ "option": { "attribute_id": axis, "label": axis, "position": i, "is_use_default": true, "values": [] } }),
        })
        .collect()
}

/// Links a variant to its parent.
pub fn child_link_request(parent_sku: &str, child_sku: &str) -> Request {
    Request {
        method: "POST",
        path: format!(
            "/V1/configurable-products/{}/child",
            path_segment(parent_sku)
        ),
        body: json!({ "childSku": child_sku }),
    }
}

/// The source item a stock change becomes (multi-source shops).
pub fn source_item(target: &Target, change: &Change) -> Result<Json, String> {
    let p = &change.payload;
    let sku = text(p, "sku").unwrap_or_default();
    let warehouse = text(p, "warehouse").unwrap_or_default();
    let source = target.sources.get(warehouse).ok_or_else(|| {
        format!(
            "warehouse {warehouse:?} has no inventory source in target {} (sources)",
            target.name
        )
    })?;
    let quantity = number(p, "quantity").unwrap_or(0.0).max(0.0);
    Ok(
        json!({ "sku": sku, "source_code": source, "quantity": quantity, "status": i64::from(quantity > 0.0) }),
    )
}

/// The stock requests for a set of changes: batched source items, or one
/// stock item update per SKU on single-source shops.
pub fn stock_requests(
    target: &Target,
    changes: &[&Change],
) -> (Vec<Request>, Vec<(String, String)>) {
    let mut requests = Vec::new();
    let mut problems = Vec::new();
    match target.stock {
        StockMode::MultiSource => {
            let mut items = Vec::new();
            for c in changes {
                match source_item(target, c) {
                    Ok(item) => items.push(item),
                    Err(e) => problems.push((c.key.clone(), e)),
                }
            }
            for batch in items.chunks(target.stock_batch.max(1)) {
                requests.push(Request {
                    method: "POST",
                    path: "/V1/inventory/source-items".into(),
                    body: json!({ "sourceItems": batch }),
                });
            }
        }
        StockMode::SingleSource => {
            for c in changes {
                let sku = text(&c.payload, "sku").unwrap_or_default();
                let quantity = number(&c.payload, "quantity").unwrap_or(0.0).max(0.0);
                requests.push(Request {
                    method: "PUT",
                    path: format!("/V1/products/{}/stockItems/1", path_segment(sku)),
                    body: json!({ "stockItem": { "qty": quantity, "is_in_stock": quantity > 0.0 } }),
                });
            }
        }
    }
    (requests, problems)
}

/// Splits a name into Magento's required first and last names: a person's
/// last word is the last name; a company keeps its whole name in both.
pub fn split_name(name: &str, is_company: bool) -> (String, String) {
    let name = name.trim();
    if is_company {
        return (name.to_string(), name.to_string());
    }
    match name.rsplit_once(' ') {
        Some((first, last)) if !first.trim().is_empty() => {
            (first.trim().to_string(), last.to_string())
        }
        _ => (name.to_string(), name.to_string()),
    }
}

/// A region of a country in Magento's directory (for Italy, a province),
/// as `GET /V1/directory/countries/{countryId}` lists it.
#[derive(Debug, Clone, PartialEq)]
pub struct Region {
    pub id: i64,
    pub code: String,
    pub name: String,
}

/// The country and the province code of a customer change that has a
/// province.
pub fn customer_province(change: &Change) -> Option<(&str, &str)> {
    let p = &change.payload;
    let province = text(p, "province")
        .map(str::trim)
        .filter(|s| !s.is_empty())?;
    Some((text(p, "country").unwrap_or_default().trim(), province))
}

/// Gives the customer body's address its region: Magento's three fields
/// and the address's `region_id`, which is what Magento stores (it looks
/// nothing up by code). `None` sends the address without a region.
pub fn set_customer_region(body: &mut Json, region: Option<&Region>) {
    let Some(address) = body
        .pointer_mut("/customer/addresses/0")
        .and_then(Json::as_object_mut)
    else {
        return;
    };
    match region {
        Some(r) => {
            address.insert(
                "region".into(),
                json!({ "region_code": r.code, "region": r.name, "region_id": r.id }),
            );
            address.insert("region_id".into(), json!(r.id));
        }
        None => {
            address.remove("region");
            address.remove("region_id");
        }
    }
}

/// The customer body for `POST /V1/customers` or `PUT /V1/customers/{id}`.
/// A province goes as placeholders for its region (`{id of province BG}`),
/// which the push replaces with [`set_customer_region`].
pub fn customer_body(target: &Target, change: &Change) -> Result<Json, String> {
    let p = &change.payload;
    let vat = text(p, "vat_number").unwrap_or_default();
    let is_company = !vat.is_empty();
    let name = text(p, "name").unwrap_or_default();
    let (firstname, lastname) = split_name(name, is_company);
    let price_list = text(p, "price_list").unwrap_or_default();
    let group = target.customer_groups.get(price_list).ok_or_else(|| {
        format!(
            "price list {price_list:?} has no customer group in target {} (customer_groups)",
            target.name
        )
    })?;
    let taxvat = if is_company {
        vat.to_string()
    } else {
        text(p, "fiscal_code").unwrap_or_default().to_string()
    };
    let mut address = json!({
        "firstname": firstname,
        "lastname": lastname,
        "street": [text(p, "street").unwrap_or_default()],
        "city": text(p, "city").unwrap_or_default(),
        "postcode": text(p, "postcode").unwrap_or_default(),
        "country_id": text(p, "country").unwrap_or_default(),
        "telephone": text(p, "phone").unwrap_or_default(),
        "default_billing": true,
    });
    if let Some((_, province)) = customer_province(change) {
        let id = format!("{{id of province {province}}}");
        address["region"] = json!({
            "region_code": province,
            "region": format!("{{name of province {province}}}"),
            "region_id": id,
        });
        address["region_id"] = json!(id);
    }
    if is_company {
        address["company"] = json!(name);
        address["vat_id"] = json!(vat);
    }
    let website_id = target.website_ids.first().copied().unwrap_or(1);
    Ok(json!({
        "customer": {
            "email": text(p, "email").unwrap_or_default(),
            "firstname": firstname,
            "lastname": lastname,
            "group_id": group,
            "website_id": website_id,
            "taxvat": taxvat,
            "custom_attributes": [{ "attribute_code": "erp_customer_code", "value": change.key }],
            "addresses": [address],
        }
    }))
}

/// What `plan` shows for a change: the requests it becomes, each in its
/// store's scope.
pub fn preview(target: &Target, flow: &str, change: &Change) -> Result<Vec<ScopedRequest>, String> {
    if flow == "ARTICOLI" {
        return product_requests(target, change);
    }
    Ok(vec![ScopedRequest {
        store: target.store_code.clone(),
        request: own_store_preview(target, flow, change)?,
    }])
}

/// The request of a change that goes through the target's own store code.
fn own_store_preview(target: &Target, flow: &str, change: &Change) -> Result<Request, String> {
    match flow {
        "GIACENZE" => {
            let (mut requests, problems) = stock_requests(target, &[change]);
            if let Some((_, e)) = problems.into_iter().next() {
                return Err(e);
            }
            requests.pop().ok_or_else(|| "no stock request".to_string())
        }
        "CLIENTI" => Ok(Request {
            method: if change.action == Action::Create {
                "POST"
            } else {
                "PUT"
            },
            path: if change.action == Action::Create {
                "/V1/customers".into()
            } else {
                "/V1/customers/{id found by e-mail}".into()
            },
            body: customer_body(target, change)?,
        }),
        "EVASIONI" => Ok(fulfilment_preview(target, change)),
        other => Err(format!("no Magento mapping for flow {other}")),
    }
}

fn fulfilment_preview(target: &Target, change: &Change) -> Request {
    let p = &change.payload;
    let order = text(p, "order_number").unwrap_or_default();
    let order_ref = format!("{{id of order {order}}}");
    match text(p, "event").unwrap_or_default() {
        "S" | "P" => {
            let items: Vec<Json> = p
                .get("items")
                .and_then(Json::as_array)
                .map(|items| {
                    items
                        .iter()
                        .map(|i| {
                            let sku = i.get("sku").and_then(Json::as_str).unwrap_or_default();
                            let qty: f64 = i
                                .get("quantity")
                                .and_then(Json::as_str)
                                .and_then(|s| s.parse().ok())
                                .unwrap_or(0.0);
                            json!({ "order_item_id": format!("{{item {sku}}}"), "qty": qty })
                        })
                        .collect()
                })
                .unwrap_or_default();
            let carrier_code = text(p, "carrier").unwrap_or_default();
            let carrier = target.carriers.get(carrier_code);
            let mut tracks = Vec::new();
            if let Some(number) = text(p, "tracking_number").filter(|s| !s.is_empty()) {
                tracks.push(json!({
                    "track_number": number,
                    "carrier_code": carrier.map(|c| c.code.as_str()).unwrap_or("custom"),
                    "title": carrier.map(|c| c.title.as_str()).unwrap_or(carrier_code),
                }));
            }
            Request {
                method: "POST",
                path: format!("/V1/order/{order_ref}/ship"),
                body: json!({ "items": items, "notify": true, "tracks": tracks }),
            }
        }
        "F" => Request {
            method: "POST",
            path: format!("/V1/order/{order_ref}/invoice"),
            body: json!({ "capture": true, "notify": true }),
        },
        _ => Request {
            method: "POST",
            path: format!("/V1/orders/{order_ref}/cancel"),
            body: Json::Null,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_split_for_people_not_companies() {
        assert_eq!(
            split_name("Niccolò Ferraris", false),
            ("Niccolò".into(), "Ferraris".into())
        );
        assert_eq!(
            split_name("Bar Città Alta S.r.l.", true).1,
            "Bar Città Alta S.r.l."
        );
        assert_eq!(split_name("Cher", false), ("Cher".into(), "Cher".into()));
    }

    fn customer(province: &str) -> (Target, Change) {
        let text = "[paths]\nstate_dir = \"s\"\ninbound = \"i\"\nin_progress = \"p\"\n\
            archive = \"a\"\nrejected = \"r\"\noutbound = \"o\"\n\
            [[target]]\nname = \"b2c\"\nbase_url = \"http://127.0.0.1:9\"\n\
            auth = { token = { env = \"PONTE_TEST_TOKEN\" } }\n\
            [target.customer_groups]\nB2C = 1\n";
        let config =
            crate::config::Config::from_str_at(text, std::path::Path::new("/"), "t").unwrap();
        let payload = json!({
            "name": "Niccolò Ferraris", "email": "n@example.it", "price_list": "B2C",
            "street": "Corso Vittorio Emanuele II 45", "city": "Torino", "postcode": "10123",
            "country": "IT", "phone": "+39 333", "province": province
        });
        let change = Change {
            action: Action::Create,
            key: "C000124".into(),
            key_hash: 0,
            hash: 0,
            line: None,
            offset: None,
            fields: Map::new(),
            payload: payload.as_object().unwrap().clone(),
            variant_axes: None,
            before: None,
        };
        (config.target("b2c").unwrap().clone(), change)
    }

    #[test]
    fn the_preview_shows_a_province_as_placeholders() {
        let (target, change) = customer("TO");
        let r = &preview(&target, "CLIENTI", &change).unwrap()[0].request;
        let a = &r.body["customer"]["addresses"][0];
        assert_eq!(
            a["region"],
            json!({"region_code": "TO", "region": "{name of province TO}",
                "region_id": "{id of province TO}"})
        );
        assert_eq!(a["region_id"], "{id of province TO}");
        assert_eq!(customer_province(&change), Some(("IT", "TO")));
        let (_, none) = customer("");
        assert_eq!(customer_province(&none), None);
        let body = customer_body(&target, &none).unwrap();
        assert!(body["customer"]["addresses"][0].get("region").is_none());
    }

    #[test]
    fn the_push_puts_the_region_or_none() {
        let (target, change) = customer("TO");
        let mut body = customer_body(&target, &change).unwrap();
        let torino = Region {
            id: 735,
            code: "TO".into(),
            name: "Torino".into(),
        };
        set_customer_region(&mut body, Some(&torino));
        let a = &body["customer"]["addresses"][0];
        assert_eq!(
            a["region"],
            json!({"region_code": "TO", "region": "Torino", "region_id": 735})
        );
        assert_eq!(a["region_id"], 735);
        set_customer_region(&mut body, None);
        let a = &body["customer"]["addresses"][0];
        assert!(a.get("region").is_none() && a.get("region_id").is_none());
        assert_eq!(a["city"], "Torino");
    }

    #[test]
    fn path_segments_are_escaped() {
        assert_eq!(path_segment("AB/C D"), "AB%2FC%20D");
    }
}
