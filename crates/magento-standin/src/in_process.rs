//! The stand-in without sockets: a request goes through the same axum
//! application as over HTTP (routing, token, contract, faults, handler,
//! log), driven on a runtime of its own. For benches that time the
//! stand-in's own work, and for the crate's unit tests.

use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{header, Request};
use serde_json::Value as Json;

use super::fixture::Fixture;
use super::server::{self, App, Conn, Shared, Trusted};
use super::state::ShopState;

/// A stand-in answering calls in process.
pub struct InProcess {
    shared: Arc<Shared>,
    app: App,
    runtime: tokio::runtime::Runtime,
    token: String,
}

impl InProcess {
    pub fn new(fixture: Fixture) -> std::io::Result<InProcess> {
        let token = fixture.integration_token.clone();
        let shared = Arc::new(Shared::new(ShopState::from_fixture(fixture))?);
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        Ok(InProcess {
            app: server::app(shared.clone()),
            shared,
            runtime,
            token,
        })
    }

    /// One request with the fixture's integration token: `path` is the
    /// whole path with its query (`/rest/V1/products/A?x=1`), `body` JSON
    /// (`null`: none). The status and the JSON answer (`null` if not JSON).
    pub fn call(&self, method: &str, path: &str, body: &Json) -> (u16, Json) {
        self.send(method, path, body, false)
    }

    /// Whether a request is served without a token (the crate's tests).
    fn send(&self, method: &str, path: &str, body: &Json, trusted: bool) -> (u16, Json) {
        let bytes = if body.is_null() {
            Vec::new()
        } else {
            serde_json::to_vec(body).unwrap_or_default()
        };
        let request = Request::builder()
            .method(method)
            .uri(path)
            .header(header::AUTHORIZATION, format!("Bearer {}", self.token))
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(bytes));
        let Ok(mut request) = request else {
            return (400, Json::Null);
        };
        request.extensions_mut().insert(ConnectInfo(Conn {
            kill: Arc::new(AtomicBool::new(false)),
        }));
        if trusted {
            request.extensions_mut().insert(Trusted);
        }
        let app = self.app.clone();
        self.runtime.block_on(async move {
            let Ok(response) = tower::ServiceExt::oneshot(app, request).await;
            let status = response.status().as_u16();
            let body = axum::body::to_bytes(response.into_body(), usize::MAX)
                .await
                .unwrap_or_default();
            (status, serde_json::from_slice(&body).unwrap_or(Json::Null))
        })
    }

    /// Direct access to the shop.
    pub fn with_state<R>(&self, f: impl FnOnce(&mut ShopState) -> R) -> R {
        f(&mut server::lock(&self.shared.state))
    }
}

/// Runs a request against a state as the unit tests did before there was a
/// router: no token needed, the state lent and given back.
#[cfg(test)]
pub(crate) fn test_call(
    state: &mut ShopState,
    method: &str,
    path: &str,
    query: &str,
    body: &Json,
) -> super::router::Reply {
    use super::errors::ApiError;
    let lent = std::mem::replace(state, ShopState::from_fixture(Fixture::default()));
    let shared = Arc::new(Shared::new(lent).expect("the stand-in's timer thread"));
    let shop = InProcess {
        app: server::app(shared.clone()),
        shared,
        runtime: tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime"),
        token: String::new(),
    };
    let full = if query.is_empty() {
        format!("/rest{path}")
    } else {
        format!("/rest{path}?{query}")
    };
    let (status, answer) = shop.send(method, &full, body, true);
    *state = std::mem::replace(
        &mut server::lock(&shop.shared.state),
        ShopState::from_fixture(Fixture::default()),
    );
    if status == 200 {
        return Ok(answer);
    }
    let mut e = ApiError::new(
        status,
        answer["message"].as_str().unwrap_or_default().to_string(),
    );
    if let Some(p) = answer.get("parameters") {
        e = e.with_named(p.clone());
    }
    if let Some(Json::Array(errors)) = answer.get("errors") {
        e = e.with_errors(errors.clone());
    }
    Err(e)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn shop() -> InProcess {
        InProcess::new(Fixture::demo()).expect("an in-process stand-in")
    }

    #[test]
    fn what_no_route_takes_is_answered_as_magento_does() {
        let shop = shop();
        let no_route = json!({"message": "Request does not match any route."});
        for (method, path) in [
            ("GET", "/rest/V1/nothing"),
            ("PATCH", "/rest/V1/products/CAF-ESP-1KG"),
            ("POST", "/rest/V1/orders/1"),
            ("GET", "/index.php"),
            ("GET", "/__standin/"),
        ] {
            assert_eq!(
                shop.call(method, path, &Json::Null),
                (404, no_route.clone()),
                "{method} {path}"
            );
        }
        // The same 404, its body dropped as for every HEAD answer.
        assert_eq!(
            shop.call("HEAD", "/rest/V1/products/CAF-ESP-1KG", &Json::Null),
            (404, Json::Null)
        );
        let unprocessable = json!({"message": "Specified request cannot be processed."});
        assert_eq!(
            shop.call("GET", "/rest/xx/V1/orders/1", &Json::Null),
            (400, unprocessable.clone())
        );
        assert_eq!(
            shop.call("GET", "/rest/b2b/orders", &Json::Null),
            (400, unprocessable)
        );
    }

    #[test]
    fn paths_name_store_and_decoded_parameters() {
        let shop = shop();
        let (status, p) = shop.call("GET", "/rest/V1/products/caf-esp-1kg", &Json::Null);
        assert_eq!((status, p["sku"].as_str()), (200, Some("CAF-ESP-1KG")));
        // Magento drops empty path parts: a trailing or doubled `/` still routes.
        assert_eq!(
            shop.call("GET", "/rest//V1/products/CAF-ESP-1KG/", &Json::Null)
                .0,
            200
        );
        let body = json!({"product": {"sku": "A/B C", "name": "Slash", "price": 1}});
        assert_eq!(
            shop.call("PUT", "/rest/b2b/V1/products/A%2FB%20C", &body).0,
            200
        );
        let (status, p) = shop.call("GET", "/rest/all/V1/products/A%2FB%20C", &Json::Null);
        assert_eq!((status, p["sku"].as_str()), (200, Some("A/B C")));
        assert_eq!(p["extension_attributes"]["website_ids"], json!([2]));
        // Not UTF-8 once decoded: looked up as Magento would, and not found.
        let (status, e) = shop.call("GET", "/rest/V1/products/A%FF", &Json::Null);
        assert_eq!(status, 404, "{e}");
        let (status, _) = shop.call("GET", "/rest/V1/products/attributes", &Json::Null);
        assert_eq!(status, 404);
    }

    #[test]
    fn tokens_are_checked_after_routing() {
        let shop = shop();
        shop.with_state(|s| s.expire_tokens());
        let (status, e) = shop.call("GET", "/rest/V1/products/CAF-ESP-1KG", &Json::Null);
        assert_eq!(status, 401);
        assert_eq!(e["parameters"]["resources"], "Magento_Catalog::products");
        let (status, _) = shop.call("GET", "/rest/V1/directory/countries/IT", &Json::Null);
        assert_eq!(status, 200);
    }
}
