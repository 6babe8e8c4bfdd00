//! Magento 2 REST requests for changes: the bodies `plan` shows and the push
//! sends. Only the changed fields go on an update; a create also carries what
//! Magento needs to make the entity (attribute set, type, visibility,
//! websites). Fields Magento owns (categories, media, special prices) are
//! never written. Values that need a lookup in the shop (option ids of select
//! attributes, an order's id, its items' ids, a province's region) are left
//! as labels, SKUs and `{...}` placeholders for the client to resolve.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use serde::Serialize;
use serde_json::{json, Map, Value as Json};

use crate::config::Target;
use crate::model::StockMode;
use crate::reconcile::{
    Action, Change, CustomerChange, FulfilmentAct, FulfilmentChange, ProductChange, ProductKind,
    ProductValue, StockRow,
};

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Request {
    pub method: &'static str,
    /// Below `/rest/<store>`, such as `/V1/products/ABC`.
    pub path: String,
    pub body: Json,
}

pub(crate) use crate::reconcile::SELECT_ATTRIBUTES;

/// Magento's product visibility: variants are reached through their parent.
const NOT_VISIBLE_INDIVIDUALLY: i64 = 1;
const CATALOG_AND_SEARCH: i64 = 4;
const STATUS_ENABLED: i64 = 1;
const STATUS_DISABLED: i64 = 2;

/// What a path segment leaves as it is: RFC 3986's unreserved characters.
const PATH_SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// Magento puts path parameters in the URL; a SKU may hold `/` or spaces.
pub(crate) fn path_segment(s: &str) -> String {
    utf8_percent_encode(s, PATH_SEGMENT).to_string()
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
pub(crate) const ALL_STORES: &str = "all";

/// The product requests for a change (`PUT /V1/products/{sku}`): the
/// product's values through `all`, which writes the defaults (a write
/// through a store view's code would leave every value it carries behind
/// as that store view's own, hiding later default changes there); then,
/// when the target declares `store_view_attributes` and the change carries
/// one, those through the target's store code. A create writes them in
/// both: Magento needs a name for the default too.
pub fn product_requests(target: &Target, change: &Change) -> Result<Vec<ScopedRequest>, String> {
    product_change_requests(target, &ProductChange::of(change))
}

/// [`product_requests`] of a typed change: what both `plan` and the push send.
pub(crate) fn product_change_requests(
    target: &Target,
    p: &ProductChange,
) -> Result<Vec<ScopedRequest>, String> {
    let store_view =
        |v: &&ProductValue| target.store_view_attributes.iter().any(|a| a == v.field());
    let global: Vec<&ProductValue> = p
        .values
        .iter()
        .filter(|v| p.is_create() || !store_view(v))
        .collect();
    let mut requests = Vec::new();
    let global = product_request(target, p, &global, true)?;
    // An update of store-view values only has nothing to save globally.
    if p.is_create() || carries(&global) {
        requests.push(ScopedRequest {
            store: ALL_STORES.into(),
            request: global,
        });
    }
    let own: Vec<&ProductValue> = p.values.iter().filter(store_view).collect();
    if !own.is_empty() {
        // Shape and websites are the product's, set through `all`.
        let request = product_request(target, p, &own, false)?;
        if carries(&request) {
            requests.push(ScopedRequest {
                store: target.store_code.clone(),
                request,
            });
        }
    }
    Ok(requests)
}

/// Whether a product request holds more than the SKU.
fn carries(r: &Request) -> bool {
    r.body["product"].as_object().is_some_and(|p| p.len() > 1)
}

/// The product request (`PUT /V1/products/{sku}`) with `values`, and with
/// the product's shape (type, visibility, attribute set, websites) when
/// `shaped` and the change sets it.
fn product_request(
    target: &Target,
    p: &ProductChange,
    values: &[&ProductValue],
    shaped: bool,
) -> Result<Request, String> {
    let create = p.is_create();
    let mut product = Map::new();
    product.insert("sku".into(), json!(p.sku));
    let visibility = if p.kind == ProductKind::Variant {
        NOT_VISIBLE_INDIVIDUALLY
    } else {
        CATALOG_AND_SEARCH
    };
    if shaped && create {
        product.insert("attribute_set_id".into(), json!(target.attribute_set_id));
        product.insert("visibility".into(), json!(visibility));
        // The push adds the websites the product already has, if Magento
        // holds it: see `push::products`.
        product.insert(
            "extension_attributes".into(),
            json!({ "website_ids": target.website_ids }),
        );
    }
    if shaped && (create || p.reshaped) {
        let type_id = if p.kind == ProductKind::Configurable {
            "configurable"
        } else {
            "simple"
        };
        product.insert("type_id".into(), json!(type_id));
        if !create {
            product.insert("visibility".into(), json!(visibility));
        }
    }
    let mut custom = Vec::new();
    for value in values {
        match value {
            ProductValue::Name(name) => {
                product.insert("name".into(), json!(name));
            }
            ProductValue::Price(price) => {
                product.insert("price".into(), json!(price));
            }
            ProductValue::Weight(weight) => {
                product.insert("weight".into(), json!(weight));
            }
            ProductValue::Active(active) => {
                let status = if *active {
                    STATUS_ENABLED
                } else {
                    STATUS_DISABLED
                };
                product.insert("status".into(), json!(status));
            }
            ProductValue::VatCode(code) => {
                let class = target.tax_classes.get(code).ok_or_else(|| {
                    format!(
                        "VAT code {code:?} has no tax class in target {t}: add {code:?} = <tax class id> \
                         under [target.tax_classes] of target {t:?} in ponte.toml",
                        t = target.name
                    )
                })?;
                custom
                    .push(json!({ "attribute_code": "tax_class_id", "value": class.to_string() }));
            }
            ProductValue::Text {
                attribute,
                value: text,
            }
            | ProductValue::Select {
                attribute,
                label: text,
            } => {
                // On a create a blank is no value; on an update it clears one.
                if !(text.is_empty() && create) {
                    custom.push(json!({ "attribute_code": attribute, "value": text }));
                }
            }
        }
    }
    // Sent only when it holds something: Magento refuses a null list.
    if !custom.is_empty() {
        product.insert("custom_attributes".into(), Json::Array(custom));
    }
    Ok(Request {
        method: "PUT",
        path: format!("/V1/products/{}", path_segment(&p.sku)),
        body: json!({ "product": product, "saveOptions": true }),
    })
}

pub(crate) use crate::reconcile::Siblings;

/// What Magento receives for one SKU at one place: the sum of the desired
/// quantities of every ERP warehouse the target maps there. Magento keeps
/// one quantity per (SKU, source), so per-warehouse writes would overwrite
/// each other.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct StockWrite {
    pub sku: String,
    /// The inventory source; `None` on single-source shops, whose one stock
    /// sums every mapped warehouse.
    pub source: Option<String>,
    pub quantity: f64,
    /// The changes this write carries (indices into those given): applied
    /// or failed together.
    pub members: Vec<usize>,
}

/// The stock writes for a set of changes, and the changes at a warehouse
/// the target does not map (nothing is sent for those).
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct StockWrites {
    pub writes: Vec<StockWrite>,
    /// The map leaves their warehouse out: not this shop's stock.
    pub unmapped: Vec<usize>,
    /// The target has no map at all, so no row has a place: each fails with
    /// this reason rather than the shop silently getting no stock.
    pub refused: Vec<(usize, String)>,
}

/// Where a stock row lands: its place (the source, or `None` on
/// single-source shops); `None` for a warehouse not in `sources`.
fn stock_place<'t>(target: &'t Target, row: &StockRow) -> Option<Option<&'t str>> {
    let source = target.sources.get(&row.warehouse)?;
    Some(match target.stock {
        StockMode::MultiSource => Some(source.as_str()),
        StockMode::SingleSource => None,
    })
}

/// The warehouses whose quantities add up at `place`, in map order.
pub(crate) fn warehouses_at<'a>(
    target: &'a Target,
    place: Option<&'a str>,
) -> impl Iterator<Item = &'a str> + 'a {
    target
        .sources
        .iter()
        .filter(move |(_, s)| place.is_none_or(|p| s.as_str() == p))
        .map(|(w, _)| w.as_str())
}

fn stock_key(sku: &str, warehouse: &str) -> String {
    format!("{sku}/{warehouse}")
}

/// The keys of the rows whose desired quantities the writes of `changes`
/// need besides the changes' own: the other mapped warehouses at each
/// change's place.
pub(crate) fn stock_sibling_keys(target: &Target, changes: &[&Change]) -> Vec<String> {
    let rows: Vec<StockRow> = changes.iter().map(|c| StockRow::of(c)).collect();
    let given: HashSet<String> = rows
        .iter()
        .filter(|r| stock_place(target, r).is_some())
        .map(|r| stock_key(&r.sku, &r.warehouse))
        .collect();
    let mut keys = BTreeSet::new();
    for r in &rows {
        if let Some(place) = stock_place(target, r) {
            for w in warehouses_at(target, place) {
                let key = stock_key(&r.sku, w);
                if !given.contains(&key) {
                    keys.insert(key);
                }
            }
        }
    }
    keys.into_iter().collect()
}

/// A SKU at a source (`None`: the one stock of a single-source shop).
type Place = (String, Option<String>);

/// Groups stock changes by the place they land at, one write per SKU and
/// place, in the order of each place's first change.
pub(crate) fn stock_writes(
    target: &Target,
    changes: &[&Change],
    siblings: &Siblings,
) -> StockWrites {
    let mut out = StockWrites::default();
    // Per place: the write's index and each warehouse's latest quantity
    // among the changes.
    let mut at: HashMap<Place, (usize, BTreeMap<String, i64>)> = HashMap::new();
    for (i, row) in changes.iter().map(|c| StockRow::of(c)).enumerate() {
        let Some(place) = stock_place(target, &row) else {
            if target.sources.is_empty() {
                out.refused.push((i, unplaced_reason(target)));
            } else {
                out.unmapped.push(i);
            }
            continue;
        };
        let slot = (row.sku.clone(), place.map(str::to_string));
        let (w, given) = at.entry(slot).or_insert_with(|| {
            out.writes.push(StockWrite {
                sku: row.sku.clone(),
                source: place.map(str::to_string),
                quantity: 0.0,
                members: Vec::new(),
            });
            (out.writes.len() - 1, BTreeMap::new())
        });
        given.insert(row.warehouse, row.quantity_micros);
        if let Some(write) = out.writes.get_mut(*w) {
            write.members.push(i);
        }
    }
    for ((sku, place), (w, given)) in at {
        let total = warehouses_at(target, place.as_deref())
            .map(|wh| match given.get(wh) {
                Some(q) => *q,
                None => siblings
                    .get(&stock_key(&sku, wh))
                    .map_or(0, |f| StockRow::from_fields(f).quantity_micros),
            })
            .fold(0i64, i64::saturating_add);
        if let Some(write) = out.writes.get_mut(w) {
            write.quantity = total as f64 / 1e6;
        }
    }
    out
}

/// The source item of a write (multi-source shops).
pub(crate) fn source_item(write: &StockWrite) -> Json {
    json!({
        "sku": write.sku,
        "source_code": write.source.as_deref().unwrap_or_default(),
        "quantity": write.quantity,
        "status": i64::from(write.quantity > 0.0),
    })
}

/// The request of one write on a single-source shop.
pub(crate) fn stock_item_request(write: &StockWrite) -> Request {
    Request {
        method: "PUT",
        path: format!("/V1/products/{}/stockItems/1", path_segment(&write.sku)),
        body: json!({ "stockItem": { "qty": write.quantity, "is_in_stock": write.quantity > 0.0 } }),
    }
}

/// The requests for a set of writes: batched source items, or one stock
/// item update per SKU on single-source shops.
#[cfg(test)]
pub(crate) fn stock_requests(target: &Target, writes: &[StockWrite]) -> Vec<Request> {
    match target.stock {
        StockMode::MultiSource => writes
            .chunks(target.stock_batch.max(1))
            .map(|batch| Request {
                method: "POST",
                path: "/V1/inventory/source-items".into(),
                body: json!({ "sourceItems": batch.iter().map(source_item).collect::<Vec<_>>() }),
            })
            .collect(),
        StockMode::SingleSource => writes.iter().map(stock_item_request).collect(),
    }
}

fn unplaced_reason(target: &Target) -> String {
    format!(
        "target {} has no [target.sources]: map each ERP warehouse that feeds the shop \
         (sources)",
        target.name
    )
}

/// Why a stock change at an unmapped warehouse sends nothing.
pub(crate) fn unmapped_reason(target: &Target, change: &Change) -> String {
    let warehouse = StockRow::of(change).warehouse;
    format!(
        "warehouse {warehouse:?} is not in target {}'s sources (not this shop's stock: \
         acknowledged, nothing sent)",
        target.name
    )
}

/// What `plan` shows for each stock change: the request of the write that
/// carries it (the same one for changes summed together), or why nothing
/// is sent.
pub(crate) fn stock_previews(
    target: &Target,
    changes: &[&Change],
    siblings: &Siblings,
) -> Vec<Result<Request, String>> {
    let grouped = stock_writes(target, changes, siblings);
    let mut out: Vec<Result<Request, String>> = changes
        .iter()
        .map(|c| Err(unmapped_reason(target, c)))
        .collect();
    for (i, reason) in grouped.refused {
        if let Some(slot) = out.get_mut(i) {
            *slot = Err(reason);
        }
    }
    for write in &grouped.writes {
        let request = match target.stock {
            StockMode::MultiSource => Request {
                method: "POST",
                path: "/V1/inventory/source-items".into(),
                body: json!({ "sourceItems": [source_item(write)] }),
            },
            StockMode::SingleSource => stock_item_request(write),
        };
        for &i in &write.members {
            if let Some(slot) = out.get_mut(i) {
                *slot = Ok(request.clone());
            }
        }
    }
    out
}

/// Splits a name into Magento's required first and last names: a person's
/// last word is the last name; a company keeps its whole name in both.
pub(crate) fn split_name(name: &str, is_company: bool) -> (String, String) {
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
pub(crate) struct Region {
    pub id: i64,
    pub code: String,
    pub name: String,
}

/// Gives the customer body's address its region: Magento's three fields
/// and the address's `region_id`, which is what Magento stores (it looks
/// nothing up by code). `None` sends the address without a region.
pub(crate) fn set_customer_region(body: &mut Json, region: Option<&Region>) {
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
pub(crate) fn customer_body(target: &Target, c: &CustomerChange) -> Result<Json, String> {
    let is_company = c.is_company();
    let (firstname, lastname) = split_name(&c.name, is_company);
    let group = target.customer_groups.get(&c.price_list).ok_or_else(|| {
        format!(
            "price list {price_list:?} has no customer group in target {t}: add {price_list:?} = \
             <customer group id> under [target.customer_groups] of target {t:?} in ponte.toml",
            price_list = c.price_list,
            t = target.name
        )
    })?;
    let taxvat = if is_company {
        &c.vat_number
    } else {
        &c.fiscal_code
    };
    let mut address = json!({
        "firstname": firstname,
        "lastname": lastname,
        "street": [c.street],
        "city": c.city,
        "postcode": c.postcode,
        "country_id": c.country,
        "telephone": c.phone,
        "default_billing": true,
    });
    if let Some((_, province)) = c.province() {
        let id = format!("{{id of province {province}}}");
        address["region"] = json!({
            "region_code": province,
            "region": format!("{{name of province {province}}}"),
            "region_id": id,
        });
        address["region_id"] = json!(id);
    }
    if is_company {
        address["company"] = json!(c.name);
        address["vat_id"] = json!(c.vat_number);
    }
    let website_id = target.website_ids.first().copied().unwrap_or(1);
    Ok(json!({
        "customer": {
            "email": c.email,
            "firstname": firstname,
            "lastname": lastname,
            "group_id": group,
            "website_id": website_id,
            "taxvat": taxvat,
            "custom_attributes": [{ "attribute_code": "erp_customer_code", "value": c.code }],
            "addresses": [address],
        }
    }))
}

/// What `plan` shows for a change: the requests it becomes, each in its
/// store's scope.
pub(crate) fn preview(
    target: &Target,
    flow: &str,
    change: &Change,
) -> Result<Vec<ScopedRequest>, String> {
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
        // A stock row alone would show its own quantity, not the sum
        // Magento receives.
        "GIACENZE" => {
            Err("stock is shown by stock_previews, with the other warehouses' quantities".into())
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
            body: customer_body(target, &CustomerChange::of(change))?,
        }),
        "EVASIONI" => {
            let event = FulfilmentChange::of(change)?;
            let order = format!("{{id of order {}}}", event.order_number);
            fulfilment_request(target, &event, &order, |sku| {
                Ok::<_, String>(json!(format!("{{item {sku}}}")))
            })
        }
        other => Err(format!("no Magento mapping for flow {other}")),
    }
}

/// The request of a fulfilment event on the order whose id is `order`,
/// each shipped item given the id of its order line by `item_id` (ids
/// `plan` shows as placeholders, the push as Magento has them). A
/// shipment without items ships what is left of the order.
pub(crate) fn fulfilment_request<E>(
    target: &Target,
    event: &FulfilmentChange,
    order: &str,
    mut item_id: impl FnMut(&str) -> Result<Json, E>,
) -> Result<Request, E> {
    Ok(match event.act {
        FulfilmentAct::Ship => {
            let mut items = Vec::with_capacity(event.items.len());
            for item in &event.items {
                items.push(json!({ "order_item_id": item_id(&item.sku)?, "qty": item.quantity }));
            }
            let carrier = target.carriers.get(&event.carrier);
            let mut tracks = Vec::new();
            if !event.tracking_number.is_empty() {
                tracks.push(json!({
                    "track_number": event.tracking_number,
                    "carrier_code": carrier.map(|c| c.code.as_str()).unwrap_or("custom"),
                    "title": carrier.map(|c| c.title.as_str()).unwrap_or(&event.carrier),
                }));
            }
            Request {
                method: "POST",
                path: format!("/V1/order/{order}/ship"),
                body: json!({
                    "items": items,
                    "notify": true,
                    "tracks": tracks,
                    "comment": { "comment": event.marker(), "is_visible_on_front": 0 },
                }),
            }
        }
        FulfilmentAct::Invoice => Request {
            method: "POST",
            path: format!("/V1/order/{order}/invoice"),
            body: json!({ "capture": true, "notify": true }),
        },
        FulfilmentAct::Cancel => Request {
            method: "POST",
            path: format!("/V1/orders/{order}/cancel"),
            body: Json::Null,
        },
    })
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
        assert_eq!(CustomerChange::of(&change).province(), Some(("IT", "TO")));
        let (_, none) = customer("");
        let none = CustomerChange::of(&none);
        assert_eq!(none.province(), None);
        let body = customer_body(&target, &none).unwrap();
        assert!(body["customer"]["addresses"][0].get("region").is_none());
    }

    #[test]
    fn the_push_puts_the_region_or_none() {
        let (target, change) = customer("TO");
        let mut body = customer_body(&target, &CustomerChange::of(&change)).unwrap();
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

    fn stock_target(stock: &str, sources: &str) -> Target {
        let text = format!(
            "[paths]\nstate_dir = \"s\"\ninbound = \"i\"\nin_progress = \"p\"\n\
            archive = \"a\"\nrejected = \"r\"\noutbound = \"o\"\n\
            [[target]]\nname = \"b2c\"\nbase_url = \"http://127.0.0.1:9\"\n\
            auth = {{ token = {{ env = \"PONTE_TEST_TOKEN\" }} }}\nstock = \"{stock}\"\n\
            [target.sources]\n{sources}\n"
        );
        let config =
            crate::config::Config::from_str_at(&text, std::path::Path::new("/"), "t").unwrap();
        config.target("b2c").unwrap().clone()
    }

    fn stock_row(sku: &str, warehouse: &str, quantity: &str) -> Change {
        let payload = json!({ "sku": sku, "warehouse": warehouse, "quantity": quantity });
        Change {
            action: Action::Update,
            key: format!("{sku}/{warehouse}"),
            key_hash: 0,
            hash: 0,
            line: None,
            offset: None,
            fields: Map::new(),
            payload: payload.as_object().unwrap().clone(),
            variant_axes: None,
            before: None,
        }
    }

    #[test]
    fn stock_sums_are_exact_and_count_an_oversold_warehouse_as_nothing() {
        let t = stock_target(
            "single-source",
            "A = \"default\"\nB = \"default\"\nC = \"x\"",
        );
        let rows = [
            stock_row("S", "A", "0.100"),
            stock_row("S", "B", "0.200"),
            stock_row("T", "A", "-3.000"),
            stock_row("S", "Z", "9.000"),
        ];
        let refs: Vec<&Change> = rows.iter().collect();
        let mut siblings = Siblings::new();
        siblings.insert("T/C".into(), stock_row("T", "C", "5.000").payload);
        assert_eq!(stock_sibling_keys(&t, &refs), ["S/C", "T/B", "T/C"]);
        let w = stock_writes(&t, &refs, &siblings);
        assert_eq!(w.unmapped, [3]);
        assert_eq!(w.writes.len(), 2);
        assert_eq!(
            (w.writes[0].quantity, &w.writes[0].members[..]),
            (0.3, &[0, 1][..])
        );
        assert_eq!(
            (w.writes[1].quantity, &w.writes[1].members[..]),
            (5.0, &[2][..])
        );
        assert_eq!(w.writes[0].source, None);
        let requests = stock_requests(&t, &w.writes);
        assert_eq!(requests[0].body["stockItem"]["qty"], json!(0.3));
    }

    #[test]
    fn multi_source_sums_per_source() {
        let t = stock_target(
            "multi-source",
            "A = \"default\"\nB = \"default\"\nC = \"north\"",
        );
        let rows = [stock_row("S", "A", "1.000"), stock_row("S", "C", "2.000")];
        let refs: Vec<&Change> = rows.iter().collect();
        assert_eq!(stock_sibling_keys(&t, &refs), ["S/B"]);
        let mut siblings = Siblings::new();
        siblings.insert("S/B".into(), stock_row("S", "B", "4.000").payload);
        let w = stock_writes(&t, &refs, &siblings);
        let items: Vec<Json> = w.writes.iter().map(source_item).collect();
        assert_eq!(
            items,
            [
                json!({"sku": "S", "source_code": "default", "quantity": 5.0, "status": 1}),
                json!({"sku": "S", "source_code": "north", "quantity": 2.0, "status": 1}),
            ]
        );
        let previews = stock_previews(&t, &refs, &siblings);
        assert_eq!(
            previews[0].as_ref().unwrap().body["sourceItems"][0]["quantity"],
            json!(5.0)
        );
    }

    fn event(code: &str) -> Change {
        let payload = json!({
            "order_number": "000000100", "event": code, "carrier": "", "tracking_number": "",
            "items": [{ "sku": "TS-1", "quantity": "2.000" }]
        });
        Change {
            action: Action::Create,
            key: format!("000000100/{code}"),
            key_hash: 0,
            hash: 0,
            line: None,
            offset: None,
            fields: Map::new(),
            payload: payload.as_object().unwrap().clone(),
            variant_axes: None,
            before: None,
        }
    }

    /// `plan` showed a cancellation for any event code other than S, P and
    /// F, where the push refuses it: a code added to the EVASIONI schema
    /// would have been previewed as cancelling the order.
    #[test]
    fn the_preview_refuses_an_unknown_event_as_the_push_does() {
        let (target, _) = customer("");
        let shown = preview(&target, "EVASIONI", &event("R"));
        assert!(shown.is_err(), "{shown:?}");
        let cancel = &preview(&target, "EVASIONI", &event("A")).unwrap()[0].request;
        assert_eq!(cancel.path, "/V1/orders/{id of order 000000100}/cancel");
        let ship = &preview(&target, "EVASIONI", &event("P")).unwrap()[0].request;
        assert_eq!(
            ship.body["items"],
            json!([{ "order_item_id": "{item TS-1}", "qty": 2.0 }])
        );
        assert_eq!(ship.body["comment"]["comment"], "ERP event 000000100/P");
    }

    #[test]
    fn path_segments_are_escaped() {
        assert_eq!(path_segment("AB/C D"), "AB%2FC%20D");
    }
}
