//! The Magento stand-in over real HTTP on loopback: authentication, the
//! resources ponte uses, Magento's error bodies, paging, and the faults.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use magento_standin::{Faults, Fixture, StandIn};
use serde_json::{json, Value};

const TOKEN: &str = "standin-token";

struct Shop {
    http: reqwest::Client,
    base: String,
}

impl Shop {
    fn new(standin: &StandIn) -> Shop {
        Shop {
            http: reqwest::Client::new(),
            base: standin.base_url.clone(),
        }
    }

    async fn call_as(
        &self,
        token: Option<&str>,
        method: &str,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let url = format!("{}/rest{}", self.base, path);
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut req = self.http.request(method, url);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.expect("request");
        let status = resp.status().as_u16();
        let text = resp.text().await.expect("body");
        let value = serde_json::from_str(&text).unwrap_or(Value::String(text));
        (status, value)
    }

    async fn call(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        self.call_as(Some(TOKEN), method, path, body).await
    }
}

async fn start(fixture: Fixture) -> (StandIn, Shop) {
    let standin = StandIn::start("127.0.0.1:0".parse().unwrap(), fixture)
        .await
        .expect("stand-in starts");
    let shop = Shop::new(&standin);
    (standin, shop)
}

#[tokio::test(flavor = "multi_thread")]
async fn every_route_but_the_token_needs_a_bearer_token() {
    let (standin, shop) = start(Fixture::demo()).await;
    let (status, body) = shop
        .call_as(None, "GET", "/V1/products/CAF-ESP-1KG", None)
        .await;
    assert_eq!(status, 401);
    assert_eq!(
        body,
        json!({"message": "The consumer isn't authorized to access %resources.", "parameters": {"resources": "Magento_Catalog::products"}})
    );
    let (status, _) = shop
        .call_as(Some("wrong"), "GET", "/V1/orders/1", None)
        .await;
    assert_eq!(status, 401);
    // Routes are matched before tokens are checked.
    let (status, body) = shop.call_as(None, "GET", "/V1/nothing/here", None).await;
    assert_eq!(status, 404);
    assert_eq!(body["message"], "Request does not match any route.");
    assert!(
        standin.requests().is_empty(),
        "refused requests are not logged"
    );
    let (status, _) = shop.call("GET", "/V1/products/CAF-ESP-1KG", None).await;
    assert_eq!(status, 200);
    assert_eq!(standin.requests().len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn admin_tokens_are_issued_and_can_expire() {
    let (standin, shop) = start(Fixture::default()).await;
    let (status, body) = shop
        .call_as(
            None,
            "POST",
            "/V1/integration/admin/token",
            Some(json!({"username": "admin", "password": "nope"})),
        )
        .await;
    assert_eq!(status, 401);
    assert_eq!(body["message"], "The account sign-in was incorrect or your account is disabled temporarily. Please wait and try again later.");
    let (status, token) = shop
        .call_as(
            None,
            "POST",
            "/V1/integration/admin/token",
            Some(json!({"username": "admin", "password": "admin123"})),
        )
        .await;
    assert_eq!(status, 200);
    let token = token.as_str().expect("a JSON string").to_string();
    let (status, _) = shop
        .call_as(Some(&token), "GET", "/V1/inventory/sources", None)
        .await;
    assert_eq!(status, 200);
    standin.with_state(|s| s.expire_tokens());
    let (status, body) = shop
        .call_as(Some(&token), "GET", "/V1/inventory/sources", None)
        .await;
    assert_eq!(status, 401);
    assert_eq!(
        body["parameters"]["resources"],
        "Magento_InventoryApi::source"
    );
    let (_, fresh) = shop
        .call_as(
            None,
            "POST",
            "/V1/integration/admin/token",
            Some(json!({"username": "admin", "password": "admin123"})),
        )
        .await;
    let (status, _) = shop
        .call_as(fresh.as_str(), "GET", "/V1/inventory/sources", None)
        .await;
    assert_eq!(status, 200);
}

#[tokio::test(flavor = "multi_thread")]
async fn not_found_answers_carry_magento_messages_and_parameters() {
    let (_standin, shop) = start(Fixture::demo()).await;
    let (status, body) = shop.call("GET", "/V1/products/NOPE", None).await;
    assert_eq!(status, 404);
    assert_eq!(
        body["message"],
        "The product that was requested doesn't exist. Verify the product and try again."
    );
    let (status, body) = shop
        .call("GET", "/V1/products/attributes/colour/options", None)
        .await;
    assert_eq!(status, 404);
    assert_eq!(
        body,
        json!({"message": "The attribute with a \"%1\" attributeCode doesn't exist. Verify the attribute and try again.", "parameters": ["colour"]})
    );
    let (status, body) = shop.call("GET", "/V1/customers/999", None).await;
    assert_eq!(status, 404);
    assert_eq!(
        body["parameters"],
        json!({"fieldName": "customerId", "fieldValue": 999})
    );
    let (status, body) = shop.call("GET", "/V1/orders/999", None).await;
    assert_eq!(status, 404);
    assert_eq!(
        body["message"],
        "The entity that was requested doesn't exist. Verify the entity and try again."
    );
    let (status, body) = shop.call("GET", "/mars/V1/orders/1", None).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["message"], "Specified request cannot be processed.");
}

#[tokio::test(flavor = "multi_thread")]
async fn products_are_created_then_partly_updated() {
    let (standin, shop) = start(Fixture::demo()).await;
    let create = json!({"product": {
        "sku": "ART-1", "name": "Articolo uno", "price": 10.5, "attribute_set_id": 4,
        "status": 1, "visibility": 4, "type_id": "simple", "weight": 0.5,
        "extension_attributes": {"website_ids": [1]},
        "custom_attributes": [{"attribute_code": "description", "value": "Prima"}, {"attribute_code": "ean", "value": "8001"}]
    }, "saveOptions": true});
    let (status, p) = shop.call("PUT", "/V1/products/ART-1", Some(create)).await;
    assert_eq!(status, 200, "{p}");
    assert_eq!(p["id"], 7);
    assert_eq!(p["type_id"], "simple");
    let update = json!({"product": {"sku": "ART-1", "price": 11, "custom_attributes": [{"attribute_code": "description", "value": "Seconda"}]}});
    let (status, p) = shop.call("PUT", "/V1/products/ART-1", Some(update)).await;
    assert_eq!(status, 200);
    assert_eq!(p["name"], "Articolo uno");
    assert_eq!(p["price"], 11);
    let (_, p) = shop.call("GET", "/V1/products/ART-1", None).await;
    let attrs = p["custom_attributes"].as_array().unwrap();
    assert!(attrs.contains(&json!({"attribute_code": "description", "value": "Seconda"})));
    assert!(attrs.contains(&json!({"attribute_code": "ean", "value": "8001"})));
    // The B2B store view puts new products on its own website.
    let (_, p) = shop
        .call(
            "POST",
            "/b2b/V1/products",
            Some(json!({"product": {"sku": "ART-2", "name": "Due", "price": 1}})),
        )
        .await;
    assert_eq!(p["extension_attributes"]["website_ids"], json!([2]));
    // Bodies that are not JSON, or lack the product.
    let resp = reqwest::Client::new()
        .put(format!("{}/rest/V1/products/ART-1", standin.base_url))
        .bearer_auth(TOKEN)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 400);
    assert_eq!(
        resp.json::<Value>().await.unwrap()["message"],
        "Decoding error."
    );
    let (status, body) = shop
        .call("PUT", "/V1/products/ART-1", Some(json!({"sku": "ART-1"})))
        .await;
    assert_eq!(status, 400);
    assert_eq!(body["parameters"], json!({"fieldName": "product"}));
    let logged = standin.requests();
    assert_eq!(logged[0].method, "PUT");
    assert_eq!(logged[0].path, "/rest/V1/products/ART-1");
    assert_eq!(logged[0].body["product"]["sku"], "ART-1");
    assert_eq!(logged[0].status, 200);
    standin.clear_requests();
    assert!(standin.requests().is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_new_option_can_be_used_at_once() {
    let (_standin, shop) = start(Fixture::demo()).await;
    let (status, id) = shop
        .call(
            "POST",
            "/V1/products/attributes/color/options",
            Some(json!({"option": {"label": "Verde bosco", "sort_order": 4}})),
        )
        .await;
    assert_eq!(status, 200);
    let id = id.as_str().expect("the id as a string").to_string();
    assert!(id.parse::<i64>().is_ok(), "{id}");
    let (_, options) = shop
        .call("GET", "/V1/products/attributes/color/options", None)
        .await;
    assert!(options
        .as_array()
        .unwrap()
        .contains(&json!({"label": "Verde bosco", "value": id})));
    let body = |value: &str| json!({"product": {"sku": "FEL-POLO-S-BLU", "custom_attributes": [{"attribute_code": "color", "value": value}]}});
    let (status, _) = shop
        .call("PUT", "/V1/products/FEL-POLO-S-BLU", Some(body(&id)))
        .await;
    assert_eq!(status, 200);
    let (status, e) = shop
        .call(
            "PUT",
            "/V1/products/FEL-POLO-S-BLU",
            Some(body("Verde bosco")),
        )
        .await;
    assert_eq!(status, 400);
    assert_eq!(
        e["parameters"],
        json!({"fieldName": "color", "value": "Verde bosco"})
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn source_items_go_in_batches() {
    let (standin, shop) = start(Fixture::demo()).await;
    let batch = json!({"sourceItems": [
        {"sku": "CAF-ESP-1KG", "source_code": "default", "quantity": 120, "status": 1},
        {"sku": "CAF-ESP-1KG", "source_code": "eu_north", "quantity": 15, "status": 1},
        {"sku": "FEL-POLO-M-BLU", "source_code": "default", "quantity": 0, "status": 0},
    ]});
    let (status, body) = shop
        .call("POST", "/V1/inventory/source-items", Some(batch))
        .await;
    assert_eq!((status, body), (200, json!([])));
    let (_, found) = shop
        .call(
            "GET",
            "/V1/inventory/source-items?searchCriteria[filterGroups][0][filters][0][field]=sku&searchCriteria[filterGroups][0][filters][0][value]=CAF-ESP-1KG",
            None,
        )
        .await;
    assert_eq!(found["total_count"], 2);
    let (_, item) = shop.call("GET", "/V1/stockItems/CAF-ESP-1KG", None).await;
    assert_eq!(item["qty"], 120);
    let bad = json!({"sourceItems": [{"sku": "CAF-ESP-1KG", "source_code": "MAG09", "quantity": 1, "status": 1}]});
    let (status, body) = shop
        .call("POST", "/V1/inventory/source-items", Some(bad))
        .await;
    assert_eq!(status, 400);
    assert_eq!(body["message"], "Could not save Source Item");
    let snapshot = standin.snapshot();
    assert_eq!(snapshot["source_items"].as_array().unwrap().len(), 4);
}

#[tokio::test(flavor = "multi_thread")]
async fn customers_are_found_by_email() {
    let (_standin, shop) = start(Fixture::demo()).await;
    let (status, found) = shop
        .call(
            "GET",
            "/V1/customers/search?searchCriteria[filterGroups][0][filters][0][field]=email&searchCriteria[filterGroups][0][filters][0][value]=Niccolo.Ferraris%40example.it&searchCriteria[filterGroups][0][filters][0][conditionType]=eq",
            None,
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(found["total_count"], 1);
    assert_eq!(found["items"][0]["id"], 1);
    assert_eq!(
        found["search_criteria"]["filter_groups"][0]["filters"][0]["condition_type"],
        "eq"
    );
    let new = json!({"customer": {
        "email": "niccolo.ferraris@example.it", "firstname": "Niccolò", "lastname": "Ferraris",
        "group_id": 1, "website_id": 1,
        "addresses": [{"firstname": "N", "lastname": "F", "street": ["Via X 1"], "city": "Torino", "postcode": "10100", "country_id": "IT", "telephone": "1"}]
    }});
    let (status, body) = shop.call("POST", "/V1/customers", Some(new)).await;
    assert_eq!(status, 400);
    assert_eq!(
        body["message"],
        "A customer with the same email address already exists in an associated website."
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn orders_page_in_updated_at_order() {
    let (standin, shop) = start(Fixture::orders(25)).await;
    let query = |page: u32| {
        format!("/V1/orders?searchCriteria[filterGroups][0][filters][0][field]=updated_at&searchCriteria[filterGroups][0][filters][0][value]=2026-10-31%2000:00:00&searchCriteria[filterGroups][0][filters][0][conditionType]=gt&searchCriteria[sortOrders][0][field]=updated_at&searchCriteria[sortOrders][0][direction]=ASC&searchCriteria[pageSize]=10&searchCriteria[currentPage]={page}")
    };
    let mut seen = Vec::new();
    let mut page = 1;
    loop {
        let (status, body) = shop.call("GET", &query(page), None).await;
        assert_eq!(status, 200);
        assert_eq!(body["total_count"], 25);
        for o in body["items"].as_array().unwrap() {
            seen.push(o["increment_id"].as_str().unwrap().to_string());
        }
        if seen.len() >= 25 {
            break;
        }
        page += 1;
    }
    assert_eq!(page, 3);
    let mut sorted = seen.clone();
    sorted.sort();
    assert_eq!(seen, sorted);
    sorted.dedup();
    assert_eq!(sorted.len(), 25);
    // Past the end: the last page again, as Magento does.
    let (_, past) = shop.call("GET", &query(7), None).await;
    assert_eq!(past["items"][0]["increment_id"], "000001021");
    // An order changed mid-poll moves to the end.
    standin.with_state(|s| {
        s.advance_clock(3600);
        let now = s.now();
        s.orders[0]["updated_at"] = json!(now);
    });
    let (_, first) = shop.call("GET", &query(1), None).await;
    assert_eq!(first["items"][0]["increment_id"], "000001002");
}

#[tokio::test(flavor = "multi_thread")]
async fn shipping_what_is_already_shipped_is_a_400() {
    let (standin, shop) = start(Fixture::demo()).await;
    let id =
        standin.with_state(|s| s.order_by_increment("000000101").unwrap()["entity_id"].clone());
    let (_, order) = shop.call("GET", &format!("/V1/orders/{id}"), None).await;
    let coffee = order["items"][0]["item_id"].clone();
    let ship = |qty: f64| {
        json!({"items": [{"order_item_id": coffee, "qty": qty}], "notify": false,
               "tracks": [{"track_number": "BRT123", "title": "BRT Bartolini", "carrier_code": "custom"}]})
    };
    let (status, shipment) = shop
        .call("POST", &format!("/V1/order/{id}/ship"), Some(ship(2.0)))
        .await;
    assert_eq!(status, 200);
    assert!(shipment.is_i64());
    let (status, body) = shop
        .call("POST", &format!("/V1/order/{id}/ship"), Some(ship(5.0)))
        .await;
    assert_eq!(status, 400);
    assert_eq!(
        body["message"],
        "Shipment Document Validation Error(s):\nYou can't create a shipment without products."
    );
    let (_, order) = shop.call("GET", &format!("/V1/orders/{id}"), None).await;
    assert_eq!(order["items"][0]["qty_shipped"], 2);
    assert_eq!(order["status"], "processing");
    let snapshot = standin.snapshot();
    assert_eq!(snapshot["shipments"].as_array().unwrap().len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn with_error_rate_one_every_answer_is_an_error() {
    let (standin, shop) = start(Fixture::demo()).await;
    standin.set_faults(Faults {
        error_rate: 1.0,
        error_statuses: vec![500, 503, 429],
        seed: 3,
        ..Faults::default()
    });
    for i in 0..12 {
        let (status, _) = shop
            .call(
                "PUT",
                "/V1/products/CAF-ESP-1KG",
                Some(json!({"product": {"sku": "CAF-ESP-1KG", "price": i}})),
            )
            .await;
        assert!([500, 503, 429].contains(&status), "{status}");
    }
    // Nothing was applied.
    let price = standin.with_state(|s| s.products[0]["price"].clone());
    assert_eq!(price, json!(18.9));
    assert!(standin.requests().iter().all(|r| r.status >= 429));
    standin.set_faults(Faults::default());
    let (status, _) = shop.call("GET", "/V1/products/CAF-ESP-1KG", None).await;
    assert_eq!(status, 200);
}

#[tokio::test(flavor = "multi_thread")]
async fn latency_is_at_least_what_was_asked() {
    let (standin, shop) = start(Fixture::default()).await;
    standin.set_faults(Faults {
        latency: Duration::from_millis(150),
        ..Faults::default()
    });
    let t = Instant::now();
    let (status, _) = shop.call("GET", "/V1/inventory/sources", None).await;
    assert_eq!(status, 200);
    assert!(
        t.elapsed() >= Duration::from_millis(150),
        "{:?}",
        t.elapsed()
    );
}

/// A synchronous test with its own stand-in thread and a raw socket.
#[test]
fn with_drop_rate_one_connections_close_without_an_answer() {
    let standin = StandIn::spawn(Fixture::demo()).expect("spawn");
    standin.set_faults(Faults {
        drop_rate: 1.0,
        ..Faults::default()
    });
    let addr = standin.base_url.trim_start_matches("http://").to_string();
    for _ in 0..3 {
        let mut stream = TcpStream::connect(&addr).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        write!(
            stream,
            "GET /rest/V1/products/CAF-ESP-1KG HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {TOKEN}\r\n\r\n"
        )
        .unwrap();
        let mut got = Vec::new();
        // EOF or a reset, and no byte of an answer either way.
        let _ = stream.read_to_end(&mut got);
        assert!(got.is_empty(), "{}", String::from_utf8_lossy(&got));
    }
    assert_eq!(standin.requests().len(), 3);
    assert!(standin.requests().iter().all(|r| r.status == 0));
    // The control API answers whatever the faults.
    let mut stream = TcpStream::connect(&addr).unwrap();
    write!(
        stream,
        "GET /__standin/faults HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut got = String::new();
    stream.read_to_string(&mut got).unwrap();
    assert!(got.starts_with("HTTP/1.1 200"), "{got}");
    assert!(got.contains("\"drop_rate\":1.0"), "{got}");
    standin.shutdown();
}

/// A lost reply: the request takes effect, and the client gets no byte of
/// its answer (set through the control API, as a person would).
#[test]
fn with_lost_reply_rate_one_requests_apply_and_their_answers_are_lost() {
    let standin = StandIn::spawn(Fixture::demo()).expect("spawn");
    let addr = standin.base_url.trim_start_matches("http://").to_string();
    let raw = |request: String| {
        let mut stream = TcpStream::connect(&addr).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        stream.write_all(request.as_bytes()).unwrap();
        let mut got = Vec::new();
        let _ = stream.read_to_end(&mut got);
        String::from_utf8_lossy(&got).into_owned()
    };
    let body = r#"{"lost_reply_rate": 1.0, "seed": 5}"#;
    let set = raw(format!(
        "POST /__standin/faults HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    ));
    assert!(set.starts_with("HTTP/1.1 200"), "{set}");
    assert!(set.contains("\"lost_reply_rate\":1.0"), "{set}");
    let cancel = raw(format!(
        "POST /rest/V1/orders/2/cancel HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {TOKEN}\r\nContent-Length: 0\r\n\r\n"
    ));
    assert!(cancel.is_empty(), "{cancel}");
    let order = standin.snapshot()["orders"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["entity_id"] == 2)
        .cloned()
        .unwrap();
    assert_eq!(order["state"], "canceled", "the request took effect");
    let log = standin.requests();
    assert_eq!(log.len(), 1);
    assert!(log[0].lost_reply && log[0].status == 0, "{log:?}");
    standin.shutdown();
}

/// `GET /V1/store/storeViews` answers 2.4.8's `store-data-store-interface`
/// list, and the orders search takes a `store_id` filter as Magento's
/// search criteria do: the orders poll reads one from the other.
#[tokio::test(flavor = "multi_thread")]
async fn store_views_and_orders_by_store() {
    let (_standin, shop) = start(Fixture::demo()).await;
    let (status, views) = shop.call("GET", "/V1/store/storeViews", None).await;
    assert_eq!(status, 200, "{views}");
    let text = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/magento/admin-schema-2.4.8.json"),
    )
    .unwrap();
    let doc: Value = serde_json::from_str(&text).unwrap();
    let schema = json!({
        "definitions": doc["definitions"].clone(),
        "allOf": [doc["paths"]["/V1/store/storeViews"]["get"]["responses"]["200"]["schema"].clone()],
    });
    let validator = jsonschema::draft4::new(&schema).unwrap();
    let errors: Vec<String> = validator
        .iter_errors(&views)
        .map(|e| e.to_string())
        .collect();
    assert!(errors.is_empty(), "{errors:?}: {views}");
    let b2b = views
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["code"] == "b2b")
        .unwrap();
    assert_eq!(
        (b2b["id"].clone(), b2b["website_id"].clone()),
        (json!(2), json!(2))
    );
    let (status, _) = shop
        .call_as(None, "GET", "/V1/store/storeViews", None)
        .await;
    assert_eq!(status, 401);

    let by_store = |ids: &str| {
        format!("/V1/orders?searchCriteria[filterGroups][0][filters][0][field]=store_id&searchCriteria[filterGroups][0][filters][0][value]={ids}&searchCriteria[filterGroups][0][filters][0][conditionType]=in")
    };
    let numbers = |body: &Value| -> Vec<String> {
        body["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| o["increment_id"].as_str().unwrap().to_string())
            .collect()
    };
    let (status, b2b_orders) = shop.call("GET", &by_store("2"), None).await;
    assert_eq!(status, 200, "{b2b_orders}");
    assert_eq!(numbers(&b2b_orders), ["000000103"]);
    let (_, main) = shop.call("GET", &by_store("1"), None).await;
    assert_eq!(numbers(&main), ["000000100", "000000101", "000000102"]);
    let (_, both) = shop.call("GET", &by_store("1,2"), None).await;
    assert_eq!(both["total_count"], 4);
}
