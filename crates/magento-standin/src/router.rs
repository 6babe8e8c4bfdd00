//! From a URL to a handler: `/rest/V1/...` (the default store) or
//! `/rest/{store}/V1/...`, path segments percent-decoded, then the first
//! resource module whose routes match. Each route names the ACL resource a
//! refused token is told about. No match is Magento's "Request does not
//! match any route." (404), before any authentication.

use serde_json::Value as Json;

use super::errors::{ApiError, ApiResult};
use super::search::percent_decode;
use super::state::{store, ShopState, Store};
use super::{
    attributes, auth, configurable, customers, directory, documents, inventory, orders, products,
    stores,
};

pub type Reply = ApiResult<Json>;
pub type Handler = fn(&mut ShopState, &Request) -> Reply;

#[derive(Clone, Copy)]
pub struct Route {
    pub handler: Handler,
    /// The ACL resource, as in the 401 body.
    pub resource: &'static str,
    /// Served without a token (the token endpoint itself).
    pub anonymous: bool,
}

impl Route {
    /// Served to a token allowed `resource`.
    pub fn guarded(handler: Handler, resource: &'static str) -> Option<Route> {
        Some(Route {
            handler,
            resource,
            anonymous: false,
        })
    }

    /// Served without a token.
    pub fn open(handler: Handler) -> Option<Route> {
        Some(Route {
            handler,
            resource: "anonymous",
            anonymous: true,
        })
    }
}

/// One API request, as the handlers see it.
#[derive(Debug, Clone)]
pub struct Request<'a> {
    pub method: &'a str,
    /// Decoded path segments after `V1`.
    pub segments: Vec<String>,
    pub query: &'a str,
    pub body: &'a [u8],
    pub store: Store,
}

impl Request<'_> {
    /// A path segment (empty past the end).
    pub fn seg(&self, i: usize) -> &str {
        self.segments.get(i).map(String::as_str).unwrap_or("")
    }
}

/// The store and the segments after `V1` of an API path. As Magento's
/// `PathProcessor`: a first segment naming a store (or `all`) is taken off;
/// what is left must start with `V1`, else no request processor takes it
/// and the answer is 400 "Specified request cannot be processed." (so an
/// unknown store code is that 400, not a 404).
pub fn parse_path(path: &str) -> ApiResult<(Store, Vec<String>)> {
    let raw: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let Some(("rest", rest)) = raw.split_first().map(|(h, r)| (*h, r)) else {
        return Err(ApiError::no_route());
    };
    let (store, rest) = match rest.split_first() {
        Some((code, tail)) if store(code).is_some() => (store(code), tail),
        _ => (store("default"), rest),
    };
    let (Some(store), Some(("V1", rest))) = (store, rest.split_first().map(|(h, r)| (*h, r)))
    else {
        return Err(ApiError::bad_request(
            "Specified request cannot be processed.",
        ));
    };
    let segments = rest.iter().map(|s| percent_decode(s, false)).collect();
    Ok((store, segments))
}

pub fn find(method: &str, segments: &[String]) -> Option<Route> {
    let segs: Vec<&str> = segments.iter().map(String::as_str).collect();
    auth::route(method, &segs)
        .or_else(|| attributes::route(method, &segs))
        .or_else(|| inventory::route(method, &segs))
        .or_else(|| products::route(method, &segs))
        .or_else(|| configurable::route(method, &segs))
        .or_else(|| customers::route(method, &segs))
        .or_else(|| directory::route(method, &segs))
        .or_else(|| orders::route(method, &segs))
        .or_else(|| documents::route(method, &segs))
        .or_else(|| stores::route(method, &segs))
}

/// Runs a request straight against a state, without HTTP or tokens (unit tests).
#[cfg(test)]
pub fn test_call(
    state: &mut ShopState,
    method: &str,
    path: &str,
    query: &str,
    body: &Json,
) -> Reply {
    let full = format!("/rest{path}");
    let (store, segments) = parse_path(&full)?;
    let route = find(method, &segments).ok_or_else(ApiError::no_route)?;
    let bytes = if body.is_null() {
        Vec::new()
    } else {
        serde_json::to_vec(body).unwrap_or_default()
    };
    let req = Request {
        method,
        segments,
        query,
        body: &bytes,
        store,
    };
    (route.handler)(state, &req)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_name_store_and_segments() {
        let (s, segs) = parse_path("/rest/V1/products/A%2FB").unwrap();
        assert_eq!(s.code, "default");
        assert_eq!(segs, ["products", "A/B"]);
        let (s, _) = parse_path("/rest/b2b/V1/orders").unwrap();
        assert_eq!(s.website_id, 2);
        assert_eq!(parse_path("/rest/xx/V1/orders").unwrap_err().status, 400);
        assert_eq!(parse_path("/index.php").unwrap_err().status, 404);
    }

    #[test]
    fn unknown_routes_are_404() {
        assert!(find("GET", &["nothing".into()]).is_none());
        assert!(find("PATCH", &["products".into(), "A".into()]).is_none());
        assert!(find("GET", &["products".into(), "A".into()]).is_some());
    }
}
