//! What the shop holds when the stand-in starts. A fixture file is JSON of
//! this struct; products, customers and orders are written in Magento's own
//! REST shapes (what `GET` returns). `Fixture::default()` is an empty shop,
//! `Fixture::demo()` a seeded B2B/B2C one that the samples work against,
//! `Fixture::orders(n)` an empty shop with `n` orders for paging tests.

use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value as Json};

use super::state::{AdminUser, Attribute, AttributeOption, CustomerGroup, Source, SourceItem};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct Fixture {
    pub admin_users: Vec<AdminUser>,
    /// The integration's access token, accepted as a bearer token.
    pub integration_token: String,
    /// Select attributes (color, size, brand) with their options.
    pub attributes: Vec<Attribute>,
    /// Product attributes besides Magento's own and the select ones above
    /// (custom attributes with other codes are dropped on save, as Magento does).
    pub product_attributes: Vec<String>,
    pub sources: Vec<Source>,
    pub source_items: Vec<SourceItem>,
    pub customer_groups: Vec<CustomerGroup>,
    pub products: Vec<Json>,
    pub customers: Vec<Json>,
    pub orders: Vec<Json>,
    /// See `ShopState::comment_sets_status`.
    pub comment_sets_status: bool,
    /// See `ShopState::two_factor_auth`.
    pub two_factor_auth: bool,
    /// See `ShopState::store_view_values`.
    pub store_view_values: bool,
}

fn option(value: i64, label: &str) -> AttributeOption {
    AttributeOption {
        value,
        label: label.into(),
        sort_order: 0,
    }
}

fn attribute(id: i64, code: &str, label: &str, options: Vec<AttributeOption>) -> Attribute {
    Attribute {
        attribute_id: id,
        attribute_code: code.into(),
        frontend_input: "select".into(),
        default_frontend_label: label.into(),
        options,
    }
}

impl Default for Fixture {
    fn default() -> Fixture {
        Fixture {
            admin_users: vec![AdminUser {
                username: "admin".into(),
                password: "admin123".into(),
            }],
            integration_token: "standin-token".into(),
            attributes: vec![
                attribute(93, "color", "Color", Vec::new()),
                attribute(144, "size", "Size", Vec::new()),
                attribute(145, "brand", "Brand", Vec::new()),
            ],
            product_attributes: vec!["ean".into()],
            sources: vec![Source {
                source_code: "default".into(),
                name: "Default Source".into(),
                enabled: true,
                country_id: "US".into(),
                postcode: "00000".into(),
            }],
            source_items: Vec::new(),
            customer_groups: vec![
                CustomerGroup {
                    id: 0,
                    code: "NOT LOGGED IN".into(),
                    tax_class_id: 3,
                },
                CustomerGroup {
                    id: 1,
                    code: "General".into(),
                    tax_class_id: 3,
                },
                CustomerGroup {
                    id: 2,
                    code: "Wholesale".into(),
                    tax_class_id: 3,
                },
                CustomerGroup {
                    id: 3,
                    code: "Retailer".into(),
                    tax_class_id: 3,
                },
            ],
            products: Vec::new(),
            customers: Vec::new(),
            orders: Vec::new(),
            comment_sets_status: false,
            two_factor_auth: false,
            store_view_values: true,
        }
    }
}

/// (parent product id, parent name, child product id, [(attribute id, option id)]).
type ConfigurableLine<'a> = (i64, &'a str, i64, Vec<(i64, i64)>);

/// One order line for the builders below.
struct Line<'a> {
    sku: &'a str,
    name: &'a str,
    product_id: i64,
    qty: f64,
    price: f64,
    tax_percent: f64,
    /// A configurable parent: (parent product id, parent name, child product id, [(attribute id, option id)]).
    configurable: Option<ConfigurableLine<'a>>,
}

struct Party<'a> {
    customer_id: Option<i64>,
    group_id: i64,
    email: &'a str,
    firstname: &'a str,
    lastname: &'a str,
    company: Option<&'a str>,
    vat_id: Option<&'a str>,
    street: &'a str,
    city: &'a str,
    postcode: &'a str,
    region: &'a str,
    region_code: &'a str,
    telephone: &'a str,
}

struct OrderSpec<'a> {
    entity_id: i64,
    increment_id: &'a str,
    store_id: i64,
    created_at: &'a str,
    updated_at: &'a str,
    state: &'a str,
    status: &'a str,
    party: Party<'a>,
    payment: &'a str,
    lines: Vec<Line<'a>>,
}

/// A JSON object from pairs, in order (big `json!` literals hit the macro recursion limit).
fn obj(pairs: Vec<(&str, Json)>) -> Json {
    Json::Object(pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect())
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

fn address(p: &Party, kind: &str, id: i64, order_id: i64) -> Json {
    let mut a = json!({
        "address_type": kind,
        "city": p.city,
        "country_id": "IT",
        "email": p.email,
        "entity_id": id,
        "firstname": p.firstname,
        "lastname": p.lastname,
        "parent_id": order_id,
        "postcode": p.postcode,
        "region": p.region,
        "region_code": p.region_code,
        "street": [p.street],
        "telephone": p.telephone,
    });
    if let Some(c) = p.company {
        a["company"] = json!(c);
    }
    if let Some(v) = p.vat_id {
        a["vat_id"] = json!(v);
    }
    if let Some(c) = p.customer_id {
        a["customer_id"] = json!(c);
    }
    a
}

#[allow(clippy::too_many_arguments)]
fn item_row(
    item_id: i64,
    o: &OrderSpec,
    sku: &str,
    name: &str,
    product_id: i64,
    product_type: &str,
    qty: f64,
    price: f64,
    tax_percent: f64,
) -> Json {
    let row = round2(price * qty);
    let tax = round2(row * tax_percent / 100.0);
    let price_incl = round2(price * (1.0 + tax_percent / 100.0));
    obj(vec![
        ("amount_refunded", json!(0)),
        ("base_amount_refunded", json!(0)),
        ("base_discount_amount", json!(0)),
        ("base_discount_invoiced", json!(0)),
        ("base_original_price", json!(price)),
        ("base_price", json!(price)),
        ("base_price_incl_tax", json!(price_incl)),
        ("base_row_invoiced", json!(0)),
        ("base_row_total", json!(row)),
        ("base_row_total_incl_tax", json!(round2(row + tax))),
        ("base_tax_amount", json!(tax)),
        ("base_tax_invoiced", json!(0)),
        ("created_at", json!(o.created_at)),
        ("discount_amount", json!(0)),
        ("discount_invoiced", json!(0)),
        ("discount_percent", json!(0)),
        ("free_shipping", json!(0)),
        ("is_qty_decimal", json!(0)),
        ("is_virtual", json!(0)),
        ("item_id", json!(item_id)),
        ("name", json!(name)),
        ("no_discount", json!(0)),
        ("order_id", json!(o.entity_id)),
        ("original_price", json!(price)),
        ("price", json!(price)),
        ("price_incl_tax", json!(price_incl)),
        ("product_id", json!(product_id)),
        ("product_type", json!(product_type)),
        ("qty_canceled", json!(0)),
        ("qty_invoiced", json!(0)),
        ("qty_ordered", json!(qty)),
        ("qty_refunded", json!(0)),
        ("qty_shipped", json!(0)),
        ("quote_item_id", json!(item_id + 1000)),
        ("row_invoiced", json!(0)),
        ("row_total", json!(row)),
        ("row_total_incl_tax", json!(round2(row + tax))),
        ("row_weight", json!(0)),
        ("sku", json!(sku)),
        ("store_id", json!(o.store_id)),
        ("tax_amount", json!(tax)),
        ("tax_invoiced", json!(0)),
        ("tax_percent", json!(tax_percent)),
        ("updated_at", json!(o.updated_at)),
        ("weight", json!(1)),
    ])
}

/// An order in the shape `GET /V1/orders/{id}` returns (without the
/// `parent_item` copies and shipping assignment items, added when served).
fn build_order(o: &OrderSpec, first_item_id: i64) -> Json {
    let mut items = Vec::new();
    let mut next = first_item_id;
    let (mut subtotal, mut tax, mut qty_total) = (0.0, 0.0, 0.0);
    for l in &o.lines {
        let row = round2(l.price * l.qty);
        subtotal += row;
        tax += round2(row * l.tax_percent / 100.0);
        qty_total += l.qty;
        match &l.configurable {
            None => {
                items.push(item_row(
                    next,
                    o,
                    l.sku,
                    l.name,
                    l.product_id,
                    "simple",
                    l.qty,
                    l.price,
                    l.tax_percent,
                ));
                next += 1;
            }
            Some((parent_id, parent_name, child_id, options)) => {
                // Magento's parent row carries the child's SKU and the parent's
                // name; the child row has no price and points at its parent.
                let mut parent = item_row(
                    next,
                    o,
                    l.sku,
                    parent_name,
                    *parent_id,
                    "configurable",
                    l.qty,
                    l.price,
                    l.tax_percent,
                );
                let opts: Vec<Json> = options
                    .iter()
                    .map(|(a, v)| json!({"option_id": a.to_string(), "option_value": v}))
                    .collect();
                parent["product_option"] =
                    json!({"extension_attributes": {"configurable_item_options": opts}});
                let mut child = item_row(
                    next + 1,
                    o,
                    l.sku,
                    l.name,
                    *child_id,
                    "simple",
                    l.qty,
                    0.0,
                    0.0,
                );
                child["parent_item_id"] = json!(next);
                child["tax_percent"] = json!(0);
                items.push(parent);
                items.push(child);
                next += 2;
            }
        }
    }
    let shipping = 5.0;
    let shipping_tax = round2(shipping * 0.22);
    let grand = round2(subtotal + tax + shipping + shipping_tax);
    let p = &o.party;
    let billing = address(p, "billing", o.entity_id * 2 - 1, o.entity_id);
    let shipping_address = address(p, "shipping", o.entity_id * 2, o.entity_id);
    let payment_title = if o.payment == "checkmo" {
        "Check / Money order"
    } else {
        "Bank Transfer Payment"
    };
    let mut order = obj(vec![
        ("base_currency_code", json!("EUR")),
        ("base_discount_amount", json!(0)),
        ("base_grand_total", json!(grand)),
        ("base_shipping_amount", json!(shipping)),
        ("base_shipping_incl_tax", json!(shipping + shipping_tax)),
        ("base_shipping_tax_amount", json!(shipping_tax)),
        ("base_subtotal", json!(round2(subtotal))),
        ("base_subtotal_incl_tax", json!(round2(subtotal + tax))),
        ("base_tax_amount", json!(round2(tax + shipping_tax))),
        ("base_total_due", json!(grand)),
        ("base_to_global_rate", json!(1)),
        ("base_to_order_rate", json!(1)),
        ("billing_address_id", json!(billing["entity_id"])),
        ("created_at", json!(o.created_at)),
        ("customer_email", json!(p.email)),
        ("customer_firstname", json!(p.firstname)),
        ("customer_group_id", json!(p.group_id)),
        (
            "customer_is_guest",
            json!(i64::from(p.customer_id.is_none())),
        ),
        ("customer_lastname", json!(p.lastname)),
        ("customer_note_notify", json!(1)),
        ("discount_amount", json!(0)),
        ("email_sent", json!(1)),
        ("entity_id", json!(o.entity_id)),
        ("global_currency_code", json!("EUR")),
        ("grand_total", json!(grand)),
        ("increment_id", json!(o.increment_id)),
        ("is_virtual", json!(0)),
        ("order_currency_code", json!("EUR")),
        (
            "protect_code",
            json!(format!("{:x}", 0xabc000 + o.entity_id)),
        ),
        ("quote_id", json!(o.entity_id + 500)),
        ("remote_ip", json!("192.0.2.10")),
        ("shipping_amount", json!(shipping)),
        ("shipping_description", json!("Flat Rate - Fixed")),
        ("shipping_discount_amount", json!(0)),
        ("shipping_incl_tax", json!(shipping + shipping_tax)),
        ("shipping_tax_amount", json!(shipping_tax)),
        ("state", json!(o.state)),
        ("status", json!(o.status)),
        ("store_currency_code", json!("EUR")),
        ("store_id", json!(o.store_id)),
        (
            "store_name",
            json!(if o.store_id == 2 {
                "B2B Website\nB2B Store\nB2B Store View"
            } else {
                "Main Website\nMain Website Store\nDefault Store View"
            }),
        ),
        ("store_to_base_rate", json!(0)),
        ("store_to_order_rate", json!(0)),
        ("subtotal", json!(round2(subtotal))),
        ("subtotal_incl_tax", json!(round2(subtotal + tax))),
        ("tax_amount", json!(round2(tax + shipping_tax))),
        ("total_due", json!(grand)),
        ("total_item_count", json!(o.lines.len())),
        ("total_qty_ordered", json!(qty_total)),
        ("updated_at", json!(o.updated_at)),
        ("weight", json!(qty_total)),
    ]);
    let nested = json!({
        "items": items,
        "billing_address": billing,
        "payment": {
            "account_status": null,
            "additional_information": [payment_title],
            "amount_ordered": grand,
            "base_amount_ordered": grand,
            "base_shipping_amount": shipping,
            "cc_last4": null,
            "entity_id": o.entity_id,
            "method": o.payment,
            "parent_id": o.entity_id,
            "shipping_amount": shipping,
        },
        "status_histories": [],
        "extension_attributes": {
            "shipping_assignments": [{
                "shipping": {
                    "address": shipping_address,
                    "method": "flatrate_flatrate",
                    "total": {
                        "base_shipping_amount": shipping,
                        "base_shipping_incl_tax": shipping + shipping_tax,
                        "base_shipping_tax_amount": shipping_tax,
                        "shipping_amount": shipping,
                        "shipping_incl_tax": shipping + shipping_tax,
                        "shipping_tax_amount": shipping_tax,
                    }
                },
                "items": []
            }],
            "payment_additional_info": [{"key": "method_title", "value": payment_title}],
            "applied_taxes": [],
            "item_applied_taxes": [],
        }
    });
    if let (Json::Object(o), Json::Object(n)) = (&mut order, nested) {
        o.extend(n);
    }
    if let Some(id) = p.customer_id {
        order["customer_id"] = json!(id);
    }
    if let Some(vat) = p.vat_id {
        order["customer_taxvat"] = json!(vat);
    }
    order
}

#[allow(clippy::too_many_arguments)]
fn product(
    id: i64,
    sku: &str,
    name: &str,
    type_id: &str,
    price: f64,
    visibility: i64,
    website_ids: &[i64],
    custom: Json,
) -> Json {
    json!({
        "id": id,
        "sku": sku,
        "name": name,
        "attribute_set_id": 4,
        "price": price,
        "status": 1,
        "visibility": visibility,
        "type_id": type_id,
        "created_at": "2026-11-01 08:00:00",
        "updated_at": "2026-11-01 08:00:00",
        "weight": 1,
        "extension_attributes": {"website_ids": website_ids},
        "custom_attributes": custom,
    })
}

impl Fixture {
    /// Reads a fixture file (JSON of this struct; missing keys take the
    /// defaults of `Fixture::default()`).
    pub fn from_file(path: impl AsRef<Path>) -> std::io::Result<Fixture> {
        let text = std::fs::read_to_string(path.as_ref())?;
        serde_json::from_str(&text).map_err(|e| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("{}: {e}", path.as_ref().display()),
            )
        })
    }

    /// A seeded Italian B2B/B2C shop: options for color, size and brand,
    /// sources `default` and `eu_north`, two customers, and orders
    /// 000000100 (complete), 000000101 (B2C, registered, with a configurable
    /// item), 000000102 (B2C guest) and 000000103 (B2B, registered).
    pub fn demo() -> Fixture {
        let mut f = Fixture::default();
        f.admin_users.push(AdminUser {
            username: "ponte".into(),
            password: "ponte-b2b-123".into(),
        });
        f.attributes = vec![
            attribute(
                93,
                "color",
                "Color",
                vec![
                    option(50, "Blu navy"),
                    option(51, "Rosso Ferrari"),
                    option(52, "Nero"),
                ],
            ),
            attribute(
                144,
                "size",
                "Size",
                vec![option(60, "S"), option(61, "M"), option(62, "L")],
            ),
            attribute(
                145,
                "brand",
                "Brand",
                vec![
                    option(70, "Torrefazione Nova"),
                    option(71, "Felpa & Co."),
                    option(72, "Ceramiche Faentine"),
                ],
            ),
        ];
        f.sources[0].country_id = "IT".into();
        f.sources[0].postcode = "20121".into();
        f.sources.push(Source {
            source_code: "eu_north".into(),
            name: "Magazzino Nord (Verona)".into(),
            enabled: true,
            country_id: "IT".into(),
            postcode: "37135".into(),
        });
        let ca = |code: &str, value: &str| json!({"attribute_code": code, "value": value});
        f.products = vec![
            product(
                1,
                "CAF-ESP-1KG",
                "Caffè espresso in grani 1 kg",
                "simple",
                18.9,
                4,
                &[1, 2],
                json!([
                    ca("brand", "70"),
                    ca("tax_class_id", "7"),
                    ca("ean", "8001234567895")
                ]),
            ),
            product(
                2,
                "TAZ-POR-6",
                "Tazzine in porcellana (6 pezzi)",
                "simple",
                24.5,
                4,
                &[1, 2],
                json!([ca("brand", "72"), ca("tax_class_id", "2")]),
            ),
            product(
                3,
                "FEL-POLO",
                "Polo in piquet di cotone",
                "configurable",
                39.9,
                4,
                &[1],
                json!([ca("brand", "71"), ca("tax_class_id", "2")]),
            ),
            product(
                4,
                "FEL-POLO-S-BLU",
                "Polo in piquet - S blu",
                "simple",
                39.9,
                1,
                &[1],
                json!([ca("size", "60"), ca("color", "50"), ca("tax_class_id", "2")]),
            ),
            product(
                5,
                "FEL-POLO-M-BLU",
                "Polo in piquet - M blu",
                "simple",
                39.9,
                1,
                &[1],
                json!([ca("size", "61"), ca("color", "50"), ca("tax_class_id", "2")]),
            ),
            product(
                6,
                "OLI-EVO-075",
                "Olio extravergine d'oliva 0,75 l",
                "simple",
                12.5,
                4,
                &[1, 2],
                json!([ca("tax_class_id", "8")]),
            ),
        ];
        // FEL-POLO: configurable on size and color, with its two blue children.
        f.products[2]["extension_attributes"]["configurable_product_options"] = json!([
            {"id": 1, "attribute_id": "144", "label": "Size", "position": 0, "values": [{"value_index": 60}, {"value_index": 61}], "product_id": 3},
            {"id": 2, "attribute_id": "93", "label": "Color", "position": 1, "values": [{"value_index": 50}], "product_id": 3}
        ]);
        f.products[2]["extension_attributes"]["configurable_product_links"] = json!([4, 5]);
        f.source_items = vec![
            SourceItem {
                sku: "CAF-ESP-1KG".into(),
                source_code: "default".into(),
                quantity: 100.0,
                status: 1,
            },
            SourceItem {
                sku: "CAF-ESP-1KG".into(),
                source_code: "eu_north".into(),
                quantity: 10.0,
                status: 1,
            },
            SourceItem {
                sku: "FEL-POLO-M-BLU".into(),
                source_code: "default".into(),
                quantity: 8.0,
                status: 1,
            },
            SourceItem {
                sku: "TAZ-POR-6".into(),
                source_code: "default".into(),
                quantity: 0.0,
                status: 0,
            },
        ];
        f.customers = vec![
            json!({
                "id": 1,
                "group_id": 1,
                "default_billing": "1",
                "default_shipping": "1",
                "created_at": "2026-10-02 15:20:11",
                "updated_at": "2026-10-02 15:20:11",
                "created_in": "Default Store View",
                "email": "niccolo.ferraris@example.it",
                "firstname": "Niccolò",
                "lastname": "Ferraris",
                "store_id": 1,
                "taxvat": "FRRNCL80A01L219K",
                "website_id": 1,
                "addresses": [{
                    "id": 1,
                    "customer_id": 1,
                    "region": {"region_code": "TO", "region": "Torino", "region_id": 735},
                    "region_id": 735,
                    "country_id": "IT",
                    "street": ["Corso Vittorio Emanuele II 45"],
                    "telephone": "+39 333 1234567",
                    "postcode": "10123",
                    "city": "Torino",
                    "firstname": "Niccolò",
                    "lastname": "Ferraris",
                    "default_shipping": true,
                    "default_billing": true
                }],
                "disable_auto_group_change": 0,
                "extension_attributes": {"is_subscribed": false},
                "custom_attributes": [{"attribute_code": "erp_customer_code", "value": "C000124"}]
            }),
            json!({
                "id": 2,
                "group_id": 2,
                "default_billing": "2",
                "default_shipping": "2",
                "created_at": "2026-09-14 10:02:45",
                "updated_at": "2026-11-10 11:30:00",
                "created_in": "B2B Store View",
                "email": "amministrazione@barcittaalta.it",
                "firstname": "Bar Pasticceria Città Alta S.r.l.",
                "lastname": "Bar Pasticceria Città Alta S.r.l.",
                "store_id": 2,
                "taxvat": "02345678901",
                "website_id": 2,
                "addresses": [{
                    "id": 2,
                    "customer_id": 2,
                    "region": {"region_code": "BG", "region": "Bergamo", "region_id": 655},
                    "region_id": 655,
                    "country_id": "IT",
                    "street": ["Via Gombito 12"],
                    "company": "Bar Pasticceria Città Alta S.r.l.",
                    "telephone": "+39 035 123456",
                    "postcode": "24129",
                    "city": "Bergamo",
                    "firstname": "Bar Pasticceria Città Alta S.r.l.",
                    "lastname": "Bar Pasticceria Città Alta S.r.l.",
                    "vat_id": "02345678901",
                    "default_shipping": true,
                    "default_billing": true
                }],
                "disable_auto_group_change": 0,
                "extension_attributes": {"is_subscribed": false},
                "custom_attributes": [{"attribute_code": "erp_customer_code", "value": "C000123"}]
            }),
        ];
        let niccolo = || Party {
            customer_id: Some(1),
            group_id: 1,
            email: "niccolo.ferraris@example.it",
            firstname: "Niccolò",
            lastname: "Ferraris",
            company: None,
            vat_id: None,
            street: "Corso Vittorio Emanuele II 45",
            city: "Torino",
            postcode: "10123",
            region: "Torino",
            region_code: "TO",
            telephone: "+39 333 1234567",
        };
        let coffee = |qty: f64| Line {
            sku: "CAF-ESP-1KG",
            name: "Caffè espresso in grani 1 kg",
            product_id: 1,
            qty,
            price: 18.9,
            tax_percent: 10.0,
            configurable: None,
        };
        let specs = vec![
            OrderSpec {
                entity_id: 1,
                increment_id: "000000100",
                store_id: 1,
                created_at: "2026-11-18 09:12:40",
                updated_at: "2026-11-20 16:03:11",
                state: "complete",
                status: "complete",
                party: niccolo(),
                payment: "checkmo",
                lines: vec![coffee(1.0)],
            },
            OrderSpec {
                entity_id: 2,
                increment_id: "000000101",
                store_id: 1,
                created_at: "2026-11-27 09:41:07",
                updated_at: "2026-11-27 09:41:09",
                state: "new",
                status: "pending",
                party: niccolo(),
                payment: "checkmo",
                lines: vec![
                    coffee(2.0),
                    Line {
                        sku: "FEL-POLO-M-BLU",
                        name: "Polo in piquet - M blu",
                        product_id: 5,
                        qty: 1.0,
                        price: 39.9,
                        tax_percent: 22.0,
                        configurable: Some((
                            3,
                            "Polo in piquet di cotone",
                            5,
                            vec![(144, 61), (93, 50)],
                        )),
                    },
                ],
            },
            OrderSpec {
                entity_id: 3,
                increment_id: "000000102",
                store_id: 1,
                created_at: "2026-11-27 11:05:52",
                updated_at: "2026-11-27 11:05:53",
                state: "new",
                status: "pending",
                party: Party {
                    customer_id: None,
                    group_id: 0,
                    email: "lucia.gomez@example.org",
                    firstname: "Lucía",
                    lastname: "Gómez",
                    company: None,
                    vat_id: None,
                    street: "Piazza Duomo 3",
                    city: "Palermo",
                    postcode: "90133",
                    region: "Palermo",
                    region_code: "PA",
                    telephone: "091 765432",
                },
                payment: "checkmo",
                lines: vec![Line {
                    sku: "TAZ-POR-6",
                    name: "Tazzine in porcellana (6 pezzi)",
                    product_id: 2,
                    qty: 1.0,
                    price: 24.5,
                    tax_percent: 22.0,
                    configurable: None,
                }],
            },
            OrderSpec {
                entity_id: 4,
                increment_id: "000000103",
                store_id: 2,
                created_at: "2026-11-27 15:30:00",
                updated_at: "2026-11-27 15:30:02",
                state: "processing",
                status: "processing",
                party: Party {
                    customer_id: Some(2),
                    group_id: 2,
                    email: "amministrazione@barcittaalta.it",
                    firstname: "Bar Pasticceria Città Alta S.r.l.",
                    lastname: "Bar Pasticceria Città Alta S.r.l.",
                    company: Some("Bar Pasticceria Città Alta S.r.l."),
                    vat_id: Some("02345678901"),
                    street: "Via Gombito 12",
                    city: "Bergamo",
                    postcode: "24129",
                    region: "Bergamo",
                    region_code: "BG",
                    telephone: "+39 035 123456",
                },
                payment: "banktransfer",
                lines: vec![
                    coffee(6.0),
                    Line {
                        sku: "OLI-EVO-075",
                        name: "Olio extravergine d'oliva 0,75 l",
                        product_id: 6,
                        qty: 12.0,
                        price: 12.5,
                        tax_percent: 4.0,
                        configurable: None,
                    },
                ],
            },
        ];
        let mut next_item = 1;
        for spec in &specs {
            let order = build_order(spec, next_item);
            next_item += order["items"].as_array().map_or(0, |a| a.len() as i64);
            f.orders.push(order);
        }
        f
    }

    /// An empty shop with `n` pending guest orders, one a minute from
    /// 2026-11-01 00:00:00 (`updated_at` equal to `created_at`), increment
    /// ids from 000001001, each with one simple item.
    pub fn orders(n: usize) -> Fixture {
        let mut f = Fixture::default();
        for i in 0..n {
            let secs = 1_793_491_200 + 60 * i as i64; // 2026-11-01 00:00:00
            let at = super::state::format_timestamp(secs);
            let increment = format!("{:09}", 1001 + i);
            let email = format!("guest{}@example.org", i + 1);
            let spec = OrderSpec {
                entity_id: i as i64 + 1,
                increment_id: &increment,
                store_id: 1,
                created_at: &at,
                updated_at: &at,
                state: "new",
                status: "pending",
                party: Party {
                    customer_id: None,
                    group_id: 0,
                    email: &email,
                    firstname: "Ospite",
                    lastname: "Prova",
                    company: None,
                    vat_id: None,
                    street: "Via Roma 1",
                    city: "Milano",
                    postcode: "20121",
                    region: "Milano",
                    region_code: "MI",
                    telephone: "02 000000",
                },
                payment: "checkmo",
                lines: vec![Line {
                    sku: "CAF-ESP-1KG",
                    name: "Caffè espresso in grani 1 kg",
                    product_id: 1,
                    qty: 1.0 + (i % 3) as f64,
                    price: 18.9,
                    tax_percent: 10.0,
                    configurable: None,
                }],
            };
            f.orders.push(build_order(&spec, i as i64 + 1));
        }
        f
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demo_orders_match_the_sample_fulfilment_file() {
        let f = Fixture::demo();
        let o101 = f
            .orders
            .iter()
            .find(|o| o["increment_id"] == "000000101")
            .unwrap();
        let skus: Vec<&str> = o101["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["sku"].as_str().unwrap())
            .collect();
        assert_eq!(skus, ["CAF-ESP-1KG", "FEL-POLO-M-BLU", "FEL-POLO-M-BLU"]);
        assert_eq!(
            o101["items"][2]["parent_item_id"],
            o101["items"][1]["item_id"]
        );
        assert!(f.orders.iter().any(|o| o["increment_id"] == "000000102"));
        assert!(f.orders.iter().any(|o| o["customer_is_guest"] == 1));
    }

    #[test]
    fn fixtures_round_trip_through_json() {
        let f = Fixture::demo();
        let text = serde_json::to_string(&f).unwrap();
        let back: Fixture = serde_json::from_str(&text).unwrap();
        assert_eq!(back, f);
        let partial: Fixture = serde_json::from_str(r#"{"integration_token": "t"}"#).unwrap();
        assert_eq!(partial.admin_users[0].username, "admin");
    }

    #[test]
    fn generated_orders_are_a_minute_apart() {
        let f = Fixture::orders(3);
        assert_eq!(f.orders[0]["updated_at"], "2026-11-01 00:00:00");
        assert_eq!(f.orders[2]["updated_at"], "2026-11-01 00:02:00");
        assert_eq!(f.orders[2]["increment_id"], "000001003");
    }
}
