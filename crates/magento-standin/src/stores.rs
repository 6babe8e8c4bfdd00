//! The store views: `GET /V1/store/storeViews`
//! (`store-data-store-interface`), as `StoreRepository::getList()` answers
//! it: every store view, the admin store (id 0, code `admin`) included,
//! active or not, by id, as a bare JSON list. ACL `Magento_Backend::stores`,
//! as in Magento_Store's `webapi.xml`.
//!
//! These are the stores `state::STORES` routes to. Its `all` is not a
//! store but the URL's name for the admin scope, and its `b2c` a second URL
//! name for store 1: a store view has exactly one code, so neither is listed.

use serde_json::{json, Value as Json};

use super::router::{Reply, Request, Route};
use super::state::ShopState;

/// This resource's routes, below `/V1`.
pub(crate) const ROUTES: &[Route] = &[Route::guarded(
    "GET",
    "/store/storeViews",
    list,
    "Magento_Backend::stores",
)];

/// A row of Magento's `store` table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct StoreView {
    pub(crate) id: i64,
    pub(crate) code: &'static str,
    pub(crate) name: &'static str,
    pub(crate) website_id: i64,
    pub(crate) store_group_id: i64,
    pub(crate) is_active: bool,
}

/// The admin store, the main website's default view, the B2B website's view.
pub(crate) const STORE_VIEWS: [StoreView; 3] = [
    StoreView {
        id: 0,
        code: "admin",
        name: "Admin",
        website_id: 0,
        store_group_id: 0,
        is_active: true,
    },
    StoreView {
        id: 1,
        code: "default",
        name: "Default Store View",
        website_id: 1,
        store_group_id: 1,
        is_active: true,
    },
    StoreView {
        id: 2,
        code: "b2b",
        name: "B2B Store View",
        website_id: 2,
        store_group_id: 2,
        is_active: true,
    },
];

fn list(_: &mut ShopState, _: &Request) -> Reply {
    let views: Vec<Json> = STORE_VIEWS
        .iter()
        .map(|s| {
            json!({
                "id": s.id,
                "code": s.code,
                "name": s.name,
                "website_id": s.website_id,
                "store_group_id": s.store_group_id,
                "is_active": i64::from(s.is_active),
            })
        })
        .collect();
    Ok(Json::Array(views))
}

#[cfg(test)]
mod tests {
    use super::super::in_process::test_call;
    use super::super::state::STORES;
    use super::*;

    #[test]
    fn every_store_view_once_with_the_schemas_fields() {
        let mut state = ShopState::from_fixture(super::super::Fixture::default());
        let views = test_call(&mut state, "GET", "/V1/store/storeViews", "", &Json::Null).unwrap();
        let views = views.as_array().unwrap();
        let codes: Vec<&str> = views.iter().filter_map(|v| v["code"].as_str()).collect();
        assert_eq!(codes, ["admin", "default", "b2b"]);
        for v in views {
            for key in [
                "id",
                "code",
                "name",
                "website_id",
                "store_group_id",
                "is_active",
            ] {
                assert!(v.get(key).is_some(), "{key} in {v}");
            }
        }
        assert_eq!(views[2]["id"], 2);
        assert_eq!(views[2]["website_id"], 2);
    }

    #[test]
    fn the_routed_stores_are_these_views() {
        for s in STORES {
            let view = STORE_VIEWS.iter().find(|v| v.id == s.id);
            assert_eq!(view.map(|v| v.website_id), Some(s.website_id), "{s:?}");
        }
    }
}
