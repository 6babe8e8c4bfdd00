//! The routes: each resource module lists its own (`ROUTES`: method, path
//! below `/V1` with axum's `{param}` captures, handler, and the ACL resource
//! a refused token is told about); `server` mounts them on an axum
//! `Router` under `/rest/V1` and `/rest/{store}/V1`. What matches no route
//! is answered as Magento answers it, before any authentication: see
//! `unmatched`.

use serde_json::Value as Json;

use super::errors::{ApiError, ApiResult};
use super::search::percent_decode;
use super::state::{store, ShopState, Store};
use super::{
    attributes, auth, configurable, customers, directory, documents, inventory, orders, products,
    stores,
};

pub(crate) type Reply = ApiResult<Json>;
pub(crate) type Handler = fn(&mut ShopState, &Request) -> Reply;

#[derive(Clone, Copy)]
pub(crate) struct Route {
    pub(crate) method: &'static str,
    /// Below `/V1`, such as `/products/{sku}`.
    pub(crate) path: &'static str,
    pub(crate) handler: Handler,
    /// The ACL resource, as in the 401 body.
    pub(crate) resource: &'static str,
    /// Served without a token (the token endpoint itself).
    pub(crate) anonymous: bool,
}

impl Route {
    /// Served to a token allowed `resource`.
    pub(crate) const fn guarded(
        method: &'static str,
        path: &'static str,
        handler: Handler,
        resource: &'static str,
    ) -> Route {
        Route {
            method,
            path,
            handler,
            resource,
            anonymous: false,
        }
    }

    /// Served without a token.
    pub(crate) const fn open(method: &'static str, path: &'static str, handler: Handler) -> Route {
        Route {
            method,
            path,
            handler,
            resource: "anonymous",
            anonymous: true,
        }
    }
}

/// Every route of every resource.
pub(crate) fn all() -> impl Iterator<Item = &'static Route> {
    [
        auth::ROUTES,
        attributes::ROUTES,
        inventory::ROUTES,
        products::ROUTES,
        configurable::ROUTES,
        customers::ROUTES,
        directory::ROUTES,
        orders::ROUTES,
        documents::ROUTES,
        stores::ROUTES,
    ]
    .into_iter()
    .flatten()
}

/// One API request, as the handlers see it.
#[derive(Debug, Clone)]
pub(crate) struct Request<'a> {
    /// The route's path parameters, percent-decoded.
    pub(crate) params: Vec<(String, String)>,
    pub(crate) query: &'a str,
    pub(crate) body: &'a [u8],
    pub(crate) store: Store,
}

impl Request<'_> {
    /// A path parameter by the name its route gives it (empty if none).
    pub(crate) fn param(&self, name: &str) -> &str {
        self.params
            .iter()
            .find(|(k, _)| k == name)
            .map_or("", |(_, v)| v.as_str())
    }
}

/// The store a `/rest/{store}/V1` path names.
pub(crate) fn store_of(code: &str) -> Option<Store> {
    store(code)
}

/// The parameters of `route` in `path`, decoded as Magento decodes them:
/// bytes that are not UTF-8 become U+FFFD (axum refuses such a parameter,
/// Magento takes it and finds nothing by it).
pub(crate) fn lossy_params(route: &Route, path: &str) -> Vec<(String, String)> {
    let below: Vec<&str> = path
        .split('/')
        .filter(|s| !s.is_empty())
        .skip_while(|s| *s != "V1")
        .skip(1)
        .collect();
    route
        .path
        .split('/')
        .filter(|s| !s.is_empty())
        .zip(below)
        .filter_map(|(pattern, raw)| {
            let name = pattern.strip_prefix('{')?.strip_suffix('}')?;
            Some((name.to_string(), percent_decode(raw, false)))
        })
        .collect()
}

/// The answer to a path no route took. As Magento's `PathProcessor`: a
/// first segment naming a store (or `all`) is taken off; what is left must
/// start with `V1`, else no request processor takes it and the answer is
/// 400 "Specified request cannot be processed." (so an unknown store code
/// is that 400); below `V1`, "Request does not match any route." (404).
/// The same for a path whose method has no route, as Magento has no 405.
pub(crate) fn unmatched(path: &str) -> ApiError {
    let raw: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let Some(("rest", rest)) = raw.split_first().map(|(h, r)| (*h, r)) else {
        return ApiError::no_route();
    };
    let rest = match rest.split_first() {
        Some((code, tail)) if store(code).is_some() => tail,
        _ => rest,
    };
    match rest.first() {
        Some(&"V1") => ApiError::no_route(),
        _ => ApiError::bad_request("Specified request cannot be processed."),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unmatched_paths_are_magentos_400_or_404() {
        assert_eq!(unmatched("/rest/xx/V1/orders").status, 400);
        assert_eq!(unmatched("/rest/b2b/orders").status, 400);
        assert_eq!(unmatched("/index.php").status, 404);
        assert_eq!(unmatched("/rest/V1/nothing").status, 404);
        assert_eq!(unmatched("/rest/V1/V1/products").status, 404);
        assert_eq!(
            unmatched("/rest/b2b/V1/nothing").message,
            "Request does not match any route."
        );
    }

    #[test]
    fn lossy_params_follow_the_pattern() {
        let route = products::ROUTES
            .iter()
            .find(|r| r.path == "/products/{sku}")
            .unwrap();
        let params = lossy_params(route, "/rest/b2b/V1/products/A%FFB");
        assert_eq!(params, [("sku".to_string(), "A\u{FFFD}B".to_string())]);
    }
}
