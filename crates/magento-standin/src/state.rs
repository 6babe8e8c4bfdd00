//! The shop: everything the stand-in knows, behind one lock. Entities are
//! kept in Magento's own JSON shapes (what `GET` returns), so that a fixture
//! file is written the way Magento answers and the routes only validate and
//! merge. Ids come from counters, timestamps from a clock that never goes
//! back (Magento's `updated_at` has one-second resolution, like this one).

use std::collections::{BTreeMap, HashMap};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value as Json};

use super::fixture::Fixture;

/// A select attribute and its options (the admin labels).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Attribute {
    pub attribute_id: i64,
    pub attribute_code: String,
    #[serde(default = "select")]
    pub frontend_input: String,
    #[serde(default)]
    pub default_frontend_label: String,
    #[serde(default)]
    pub options: Vec<AttributeOption>,
}

fn select() -> String {
    "select".into()
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct AttributeOption {
    pub value: i64,
    pub label: String,
    #[serde(default)]
    pub sort_order: i64,
}

/// An MSI inventory source.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Source {
    pub source_code: String,
    pub name: String,
    #[serde(default = "yes")]
    pub enabled: bool,
    #[serde(default)]
    pub country_id: String,
    #[serde(default)]
    pub postcode: String,
}

fn yes() -> bool {
    true
}

/// Quantity of one SKU at one source.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct SourceItem {
    pub sku: String,
    pub source_code: String,
    pub quantity: f64,
    pub status: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct CustomerGroup {
    pub id: i64,
    pub code: String,
    #[serde(default = "retail_customer")]
    pub tax_class_id: i64,
}

fn retail_customer() -> i64 {
    3
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct AdminUser {
    pub username: String,
    pub password: String,
}

/// A bearer token the shop accepts (until expired).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Token {
    pub token: String,
    pub expired: bool,
}

/// A store view: its code in `/rest/{code}/V1`, its id and its website.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Store {
    pub code: &'static str,
    pub id: i64,
    pub website_id: i64,
}

/// `all` is the admin scope (store 0); `default` and `b2c` are the store
/// views of the main website, `b2b` the view of the second website.
pub const STORES: [Store; 4] = [
    Store {
        code: "all",
        id: 0,
        website_id: 0,
    },
    Store {
        code: "default",
        id: 1,
        website_id: 1,
    },
    Store {
        code: "b2c",
        id: 1,
        website_id: 1,
    },
    Store {
        code: "b2b",
        id: 2,
        website_id: 2,
    },
];

/// The id an imported entity carries, or the next free one; the counter
/// moves past it either way.
pub fn keep_or_assign_id(obj: &mut Map<String, Json>, field: &str, counter: &mut i64) -> i64 {
    let id = obj
        .get(field)
        .and_then(Json::as_i64)
        .unwrap_or(*counter + 1);
    obj.insert(field.into(), Json::from(id));
    *counter = (*counter).max(id);
    id
}

pub fn store(code: &str) -> Option<Store> {
    STORES.iter().copied().find(|s| s.code == code)
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Counters {
    pub product: i64,
    pub option: i64,
    pub configurable_option: i64,
    pub customer: i64,
    pub address: i64,
    pub order: i64,
    pub order_item: i64,
    pub shipment: i64,
    pub invoice: i64,
    pub track: i64,
    pub history: i64,
    pub token: u64,
}

/// The whole shop.
#[derive(Debug, Clone)]
pub struct ShopState {
    pub admin_users: Vec<AdminUser>,
    pub tokens: Vec<Token>,
    pub attributes: Vec<Attribute>,
    pub product_attributes: Vec<String>,
    pub sources: Vec<Source>,
    pub source_items: Vec<SourceItem>,
    pub customer_groups: Vec<CustomerGroup>,
    /// `catalog-data-product-interface` objects, in id order. Added and
    /// removed through `push_product` and `remove_product`, which keep
    /// `product_positions` in step; edits in place need nothing.
    pub products: Vec<Json>,
    /// Lower-cased SKU to position in `products` (the first product with
    /// that SKU). Every product request looks a SKU up under the shop's one
    /// lock: a scan of a 10,000-product catalogue there cost about 0.5 ms
    /// per look-up, and every other request queued behind it.
    product_positions: HashMap<String, usize>,
    /// Product id to position in `products`, kept with `product_positions`.
    product_ids: HashMap<i64, usize>,
    /// How many products the two indexes were built over: a different
    /// length means `products` changed behind the helpers' back.
    indexed_products: usize,
    /// (Lower-cased SKU, source code) to position in `source_items` (the
    /// first such item): a stock write found its row by scanning them all.
    source_item_positions: HashMap<(String, String), usize>,
    /// How many source items `source_item_positions` was built over.
    indexed_source_items: usize,
    /// `customer-data-customer-interface` objects.
    pub customers: Vec<Json>,
    /// `sales-data-order-interface` objects.
    pub orders: Vec<Json>,
    /// `sales-data-shipment-interface` objects.
    pub shipments: Vec<Json>,
    /// `sales-data-invoice-interface` objects.
    pub invoices: Vec<Json>,
    /// Whether a comment may set any status (Magento before 2.4.7). From
    /// 2.4.7 (magento/magento2#38723, the default here, false) only a status
    /// of the order's current state is accepted; see `orders`.
    pub comment_sets_status: bool,
    /// Magento_TwoFactorAuth on (the default of a real 2.4 install): the
    /// admin token endpoint gives admin users no token. Off here by default
    /// so that the demo can sign in as an admin user.
    pub two_factor_auth: bool,
    /// ACL resources the tokens may not use (an integration given only
    /// some): Magento answers these with the same 401 as a bad token.
    pub denied_resources: Vec<String>,
    /// Whether saves through a store view code keep store-view values apart
    /// (`products::STORE_SCOPED`), as Magento does (the default).
    pub store_view_values: bool,
    pub ids: Counters,
    /// The last timestamp handed out, in Unix seconds.
    pub clock: i64,
    /// Store-view values of products: (product id, store id) to the
    /// attributes set through that store view (see `products::STORE_SCOPED`).
    pub product_store_values: BTreeMap<(i64, i64), Map<String, Json>>,
    /// Failed admin sign-ins per user name: (failures, locked until).
    pub sign_in_failures: BTreeMap<String, (u32, i64)>,
}

impl ShopState {
    pub fn from_fixture(f: Fixture) -> ShopState {
        let mut s = ShopState {
            admin_users: f.admin_users,
            tokens: vec![Token {
                token: f.integration_token,
                expired: false,
            }],
            attributes: f.attributes,
            product_attributes: f.product_attributes,
            sources: f.sources,
            source_items: f.source_items,
            customer_groups: f.customer_groups,
            products: Vec::new(),
            product_positions: HashMap::new(),
            product_ids: HashMap::new(),
            indexed_products: 0,
            source_item_positions: HashMap::new(),
            indexed_source_items: 0,
            customers: Vec::new(),
            orders: Vec::new(),
            shipments: Vec::new(),
            invoices: Vec::new(),
            comment_sets_status: f.comment_sets_status,
            two_factor_auth: f.two_factor_auth,
            denied_resources: Vec::new(),
            store_view_values: f.store_view_values,
            ids: Counters::default(),
            clock: 0,
            product_store_values: BTreeMap::new(),
            sign_in_failures: BTreeMap::new(),
        };
        s.ids.option = s
            .attributes
            .iter()
            .flat_map(|a| a.options.iter().map(|o| o.value))
            .max()
            .unwrap_or(0);
        s.reindex_source_items();
        for p in f.products {
            super::products::insert_fixture_product(&mut s, p);
        }
        for c in f.customers {
            super::customers::insert_fixture_customer(&mut s, c);
        }
        for o in f.orders {
            super::orders::insert_fixture_order(&mut s, o);
        }
        s
    }

    /// Now, as Magento writes it (`YYYY-MM-DD hh:mm:ss`, UTC), never
    /// earlier than the last time handed out.
    pub fn now(&mut self) -> String {
        format_timestamp(self.now_secs())
    }

    /// Now in Unix seconds (the same clock as `now`).
    pub fn now_secs(&mut self) -> i64 {
        let real = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0);
        self.clock = self.clock.max(real);
        self.clock
    }

    /// Moves the clock on (tests of `updated_at` watermarks).
    pub fn advance_clock(&mut self, seconds: i64) {
        self.now();
        self.clock += seconds;
    }

    /// Expires every token (the next request must fetch a new one).
    pub fn expire_tokens(&mut self) {
        for t in &mut self.tokens {
            t.expired = true;
        }
    }

    pub fn token_valid(&self, token: &str) -> bool {
        self.tokens.iter().any(|t| !t.expired && t.token == token)
    }

    pub fn issue_token(&mut self) -> String {
        self.ids.token += 1;
        // Seeded by the count spread over all bits and the clock: the count
        // and the clock XORed plainly gave the same seed, and the same token,
        // for count 1 at second c and count 2 at second c ^ 3, and a client
        // cannot tell a "new" token equal to the one Magento just refused.
        let mut rng = fastrand::Rng::with_seed(
            self.ids.token.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ (self.clock as u64),
        );
        let mut token = format!("{:016x}{:016x}", rng.u64(..), rng.u64(..));
        while self.tokens.iter().any(|t| t.token == token) {
            token = format!("{:016x}{:016x}", rng.u64(..), rng.u64(..));
        }
        self.tokens.push(Token {
            token: token.clone(),
            expired: false,
        });
        token
    }

    pub fn attribute(&self, code: &str) -> Option<&Attribute> {
        self.attributes.iter().find(|a| a.attribute_code == code)
    }

    /// By code, or by numeric id as EAV's config accepts either.
    pub fn attribute_by_code_or_id(&self, key: &str) -> Option<&Attribute> {
        match key.trim().parse::<i64>() {
            Ok(id) => self.attributes.iter().find(|a| a.attribute_id == id),
            Err(_) => self.attribute(key),
        }
    }

    /// SKUs compare case-insensitively, as MySQL's collation does.
    pub fn product_index(&self, sku: &str) -> Option<usize> {
        let has_sku = |i: usize| {
            self.products
                .get(i)
                .and_then(|p| p.get("sku"))
                .and_then(Json::as_str)
                .is_some_and(|s| s.eq_ignore_ascii_case(sku))
        };
        match self.product_positions.get(&sku.to_ascii_lowercase()) {
            Some(&i) if has_sku(i) => return Some(i),
            None if self.indexed_products == self.products.len() => return None,
            // A product pushed or removed past the helpers (a test editing
            // `products` directly): slower, but still the right answer.
            _ => {}
        }
        (0..self.products.len()).find(|&i| has_sku(i))
    }

    /// Appends a product and returns its position.
    pub fn push_product(&mut self, product: Json) -> usize {
        let i = self.products.len();
        let in_step = self.indexed_products == i;
        self.products.push(product);
        if in_step {
            self.index_product(i);
            self.indexed_products = self.products.len();
        } else {
            self.reindex_products();
        }
        i
    }

    /// Removes the product at `i` (which must exist) and returns it.
    pub fn remove_product(&mut self, i: usize) -> Json {
        let removed = self.products.remove(i);
        // Every later product moved, and a product of the same SKU in
        // another case may now be the first: rebuilt whole, as the removal
        // itself already moved the rest of the list.
        self.reindex_products();
        removed
    }

    fn index_product(&mut self, i: usize) {
        let Some(p) = self.products.get(i) else {
            return;
        };
        if let Some(sku) = p.get("sku").and_then(Json::as_str) {
            self.product_positions
                .entry(sku.to_ascii_lowercase())
                .or_insert(i);
        }
        if let Some(id) = p.get("id").and_then(Json::as_i64) {
            self.product_ids.entry(id).or_insert(i);
        }
    }

    fn reindex_products(&mut self) {
        self.product_positions.clear();
        self.product_ids.clear();
        for i in 0..self.products.len() {
            self.index_product(i);
        }
        self.indexed_products = self.products.len();
    }

    pub fn product_index_by_id(&self, id: i64) -> Option<usize> {
        let has_id = |i: usize| {
            self.products
                .get(i)
                .and_then(|p| p.get("id"))
                .and_then(Json::as_i64)
                == Some(id)
        };
        match self.product_ids.get(&id) {
            Some(&i) if has_id(i) => return Some(i),
            None if self.indexed_products == self.products.len() => return None,
            // As for SKUs: changed past the helpers, found by a scan.
            _ => {}
        }
        (0..self.products.len()).find(|&i| has_id(i))
    }

    /// The item of `sku` (any case, as MySQL compares) at `source`.
    pub fn source_item_index(&self, sku: &str, source: &str) -> Option<usize> {
        let is_it = |i: usize| {
            self.source_items
                .get(i)
                .is_some_and(|s| s.source_code == source && s.sku.eq_ignore_ascii_case(sku))
        };
        let key = (sku.to_ascii_lowercase(), source.to_string());
        match self.source_item_positions.get(&key) {
            Some(&i) if is_it(i) => return Some(i),
            None if self.indexed_source_items == self.source_items.len() => return None,
            // `source_items` is public (tests edit it): a scan when the
            // index no longer matches it.
            _ => {}
        }
        (0..self.source_items.len()).find(|&i| is_it(i))
    }

    /// Sets the quantity and status of the item of its SKU and source, or
    /// adds it. Returns its position.
    pub fn upsert_source_item(&mut self, item: SourceItem) -> usize {
        if let Some(i) = self.source_item_index(&item.sku, &item.source_code) {
            let existing = &mut self.source_items[i];
            existing.quantity = item.quantity;
            existing.status = item.status;
            return i;
        }
        let i = self.source_items.len();
        let in_step = self.indexed_source_items == i;
        self.source_items.push(item);
        if in_step {
            self.index_source_item(i);
            self.indexed_source_items = self.source_items.len();
        } else {
            self.reindex_source_items();
        }
        i
    }

    /// Removes every source item of `sku` (any case).
    pub fn remove_source_items(&mut self, sku: &str) {
        let before = self.source_items.len();
        self.source_items
            .retain(|s| !s.sku.eq_ignore_ascii_case(sku));
        if self.source_items.len() != before {
            self.reindex_source_items();
        }
    }

    fn index_source_item(&mut self, i: usize) {
        if let Some(s) = self.source_items.get(i) {
            self.source_item_positions
                .entry((s.sku.to_ascii_lowercase(), s.source_code.clone()))
                .or_insert(i);
        }
    }

    fn reindex_source_items(&mut self) {
        self.source_item_positions.clear();
        for i in 0..self.source_items.len() {
            self.index_source_item(i);
        }
        self.indexed_source_items = self.source_items.len();
    }

    pub fn customer_index(&self, id: i64) -> Option<usize> {
        self.customers
            .iter()
            .position(|c| c.get("id").and_then(Json::as_i64) == Some(id))
    }

    pub fn order_index(&self, id: i64) -> Option<usize> {
        self.orders
            .iter()
            .position(|o| o.get("entity_id").and_then(Json::as_i64) == Some(id))
    }

    /// An order by its increment id (`"000000101"`), for tests.
    pub fn order_by_increment(&self, increment_id: &str) -> Option<&Json> {
        self.orders
            .iter()
            .find(|o| o.get("increment_id").and_then(Json::as_str) == Some(increment_id))
    }

    pub fn group_exists(&self, id: i64) -> bool {
        self.customer_groups.iter().any(|g| g.id == id)
    }

    /// The whole shop as JSON.
    pub fn snapshot(&self) -> Json {
        let comments: Vec<Json> = self
            .orders
            .iter()
            .flat_map(|o| {
                o.get("status_histories")
                    .and_then(Json::as_array)
                    .cloned()
                    .unwrap_or_default()
            })
            .collect();
        let options: Map<String, Json> = self
            .attributes
            .iter()
            .map(|a| {
                (
                    a.attribute_code.clone(),
                    json!(a
                        .options
                        .iter()
                        .map(|o| json!({"value": o.value, "label": o.label}))
                        .collect::<Vec<_>>()),
                )
            })
            .collect();
        let stock_items: Vec<Json> = self
            .products
            .iter()
            .filter_map(|p| {
                let item = p
                    .pointer("/extension_attributes/stock_item")
                    .filter(|i| i.is_object())?;
                let mut item = item.clone();
                item["sku"] = p.get("sku").cloned().unwrap_or(Json::Null);
                Some(item)
            })
            .collect();
        let store_values: Vec<Json> = self
            .product_store_values
            .iter()
            .map(|((product_id, store_id), values)| {
                json!({"product_id": product_id, "store_id": store_id, "values": values})
            })
            .collect();
        json!({
            "products": self.products,
            "product_store_values": store_values,
            "options": options,
            "sources": self.sources,
            "source_items": self.source_items,
            "stock_items": stock_items,
            "customer_groups": self.customer_groups,
            "customers": self.customers,
            "orders": self.orders,
            "shipments": self.shipments,
            "invoices": self.invoices,
            "comments": comments,
        })
    }
}

/// Unix seconds as Magento writes them, `YYYY-MM-DD hh:mm:ss` (UTC).
pub fn format_timestamp(secs: i64) -> String {
    jiff::Timestamp::from_second(secs)
        .unwrap_or(jiff::Timestamp::UNIX_EPOCH)
        .strftime("%Y-%m-%d %H:%M:%S")
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_magento_datetimes() {
        assert_eq!(format_timestamp(0), "1970-01-01 00:00:00");
        assert_eq!(format_timestamp(1_795_859_100), "2026-11-28 09:45:00");
    }

    #[test]
    fn the_clock_never_goes_back() {
        let mut s = ShopState::from_fixture(Fixture::default());
        let a = s.now();
        s.advance_clock(60);
        let b = s.now();
        assert!(b > a);
        assert!(s.now() >= b);
    }

    #[test]
    fn odd_fixture_shapes_do_not_panic() {
        let f: Fixture = serde_json::from_str(
            r#"{"products": [{"sku": "A", "extension_attributes": {"stock_item": 5}}, 7],
                "customers": [{"email": "a@b.it", "addresses": [1, {"city": "X"}]}],
                "orders": [{"items": [1, {"sku": "x"}]}, "nope"]}"#,
        )
        .unwrap();
        let s = ShopState::from_fixture(f);
        assert_eq!(s.products.len(), 1);
        assert_eq!(s.orders[0]["items"].as_array().unwrap().len(), 1);
        assert_eq!(s.snapshot()["stock_items"][0]["sku"], "A");
    }

    #[test]
    fn products_are_found_by_sku_through_pushes_and_removals() {
        let mut s = ShopState::from_fixture(Fixture::default());
        for sku in ["A-1", "B-2", "b-2", "C-3"] {
            s.push_product(json!({ "sku": sku }));
        }
        assert_eq!(s.product_index("a-1"), Some(0));
        assert_eq!(s.product_index("B-2"), Some(1));
        assert_eq!(s.product_index("nope"), None);
        s.remove_product(0);
        assert_eq!(s.product_index("A-1"), None);
        assert_eq!(s.product_index("c-3"), Some(2));
        s.remove_product(0);
        assert_eq!(s.products[s.product_index("B-2").unwrap()]["sku"], "b-2");
        // Past the helpers: still found, by the scan.
        s.products.push(json!({ "sku": "D-4" }));
        assert_eq!(s.product_index("d-4"), Some(2));
        s.products.swap(0, 2);
        assert_eq!(s.product_index("D-4"), Some(0));
        assert_eq!(s.product_index("b-2"), Some(2));
        assert_eq!(s.push_product(json!({ "sku": "E-5" })), 3);
        assert_eq!(s.product_index("D-4"), Some(0));
        assert_eq!(s.product_index("e-5"), Some(3));
    }

    #[test]
    fn source_items_are_found_through_upserts_removals_and_edits() {
        let mut s = ShopState::from_fixture(Fixture::demo());
        let item = |sku: &str, source: &str, quantity: f64| SourceItem {
            sku: sku.into(),
            source_code: source.into(),
            quantity,
            status: 1,
        };
        let a = s.upsert_source_item(item("NEW-1", "default", 1.0));
        assert_eq!(s.upsert_source_item(item("new-1", "default", 2.0)), a);
        assert_eq!(s.source_items[a].quantity, 2.0);
        assert_eq!(s.source_items[a].sku, "NEW-1");
        let b = s.upsert_source_item(item("NEW-1", "eu_north", 3.0));
        assert_ne!(a, b);
        assert_eq!(s.source_item_index("NEW-1", "nowhere"), None);
        s.remove_source_items("new-1");
        assert_eq!(s.source_item_index("NEW-1", "default"), None);
        // Past the helpers: still found, by the scan.
        s.source_items.insert(0, item("EDIT-1", "default", 4.0));
        assert_eq!(s.source_item_index("edit-1", "default"), Some(0));
        let c = s.upsert_source_item(item("NEW-2", "default", 5.0));
        assert_eq!(s.source_item_index("new-2", "default"), Some(c));
        assert_eq!(s.source_item_index("EDIT-1", "default"), Some(0));
    }

    #[test]
    fn products_are_found_by_id() {
        let mut s = ShopState::from_fixture(Fixture::default());
        for (id, sku) in [(7, "A"), (9, "B"), (11, "C")] {
            s.push_product(json!({ "id": id, "sku": sku }));
        }
        assert_eq!(s.product_index_by_id(9), Some(1));
        assert_eq!(s.product_index_by_id(8), None);
        s.remove_product(0);
        assert_eq!(s.product_index_by_id(11), Some(1));
        s.products.swap(0, 1);
        assert_eq!(s.product_index_by_id(11), Some(0));
    }

    #[test]
    fn tokens_expire() {
        let mut s = ShopState::from_fixture(Fixture::default());
        assert!(s.token_valid("standin-token"));
        let t = s.issue_token();
        assert_eq!(t.len(), 32);
        assert!(s.token_valid(&t));
        s.expire_tokens();
        assert!(!s.token_valid(&t));
        assert!(!s.token_valid("standin-token"));
    }

    /// Every token issued differs from every one before, whatever the
    /// clock says: a repeated token would be a refused one back again.
    #[test]
    fn tokens_never_repeat_across_clock_values() {
        let mut state = ShopState::from_fixture(crate::Fixture::default());
        let mut seen = std::collections::HashSet::new();
        for second in 0..64 {
            state.clock = second;
            for _ in 0..4 {
                assert!(seen.insert(state.issue_token()));
            }
        }
    }
}
