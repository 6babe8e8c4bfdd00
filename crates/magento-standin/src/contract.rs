//! A contract the stand-in can be held to: the tests give it Magento
//! 2.4.8's own schema (`jsonschema` is a dev-dependency, so the check
//! lives in the tests and the stand-in only calls it). A request body the
//! contract refuses is answered 400 in Magento's error shape, as Magento's
//! input processor refuses a body that does not fit the service interface;
//! an answer of the stand-in's own that the contract refuses is a bug of
//! the stand-in. Both are kept as violations for the test to fail on.

use serde_json::Value as Json;

pub trait Contract: Send + Sync {
    /// What is wrong with a request's body (`path` below `/rest/<store>`,
    /// such as `/V1/products/ABC`); empty when it fits.
    fn request(&self, method: &str, path: &str, body: &Json) -> Vec<String>;

    /// What is wrong with an answer the stand-in is about to give.
    fn response(&self, method: &str, path: &str, status: u16, body: &Json) -> Vec<String>;
}

/// `/rest/default/V1/products/X` and `/rest/V1/products/X` -> `/V1/products/X`.
pub fn below_store(path: &str) -> &str {
    match path.find("/V1/") {
        Some(i) => &path[i..],
        None => path,
    }
}
