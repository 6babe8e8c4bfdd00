//! Sales documents made by ship and invoice: `GET /V1/shipments`,
//! `GET /V1/shipment/{id}`, `GET /V1/invoices`, `GET /V1/invoices/{id}`
//! (`sales-data-shipment-interface` and `sales-data-invoice-interface`,
//! with their items, tracks and comments). Searches need `searchCriteria`
//! and filter on the documents' own fields, such as `order_id`.

use serde_json::{json, Value as Json};

use super::errors::ApiError;
use super::input::path_int;
use super::orders::not_found;
use super::router::{Reply, Request, Route};
use super::search::SearchCriteria;
use super::state::ShopState;

/// This resource's routes, below `/V1`.
pub(crate) const ROUTES: &[Route] = &[
    Route::guarded(
        "GET",
        "/shipments",
        list_shipments,
        "Magento_Sales::shipment",
    ),
    Route::guarded(
        "GET",
        "/shipment/{id}",
        get_shipment,
        "Magento_Sales::shipment",
    ),
    Route::guarded(
        "GET",
        "/invoices",
        list_invoices,
        "Magento_Sales::sales_invoice",
    ),
    Route::guarded(
        "GET",
        "/invoices/{id}",
        get_invoice,
        "Magento_Sales::sales_invoice",
    ),
];

fn search(all: &[Json], req: &Request) -> Reply {
    let sc = SearchCriteria::from_query(req.query)?
        .ok_or_else(|| ApiError::required_field("searchCriteria"))?;
    let (items, total) = sc.apply(all);
    Ok(json!({ "items": items, "search_criteria": sc.echo(), "total_count": total }))
}

fn by_id(all: &[Json], raw: &str) -> Reply {
    let id = path_int(raw)?;
    all.iter()
        .find(|d| d.get("entity_id").and_then(Json::as_i64) == Some(id))
        .cloned()
        .ok_or_else(not_found)
}

fn list_shipments(state: &mut ShopState, req: &Request) -> Reply {
    search(&state.shipments, req)
}

fn get_shipment(state: &mut ShopState, req: &Request) -> Reply {
    by_id(&state.shipments, req.param("id"))
}

fn list_invoices(state: &mut ShopState, req: &Request) -> Reply {
    search(&state.invoices, req)
}

fn get_invoice(state: &mut ShopState, req: &Request) -> Reply {
    by_id(&state.invoices, req.param("id"))
}

#[cfg(test)]
mod tests {
    use super::super::fixture::Fixture;
    use super::super::in_process::test_call;
    use super::*;

    #[test]
    fn documents_are_found_by_order() {
        let mut s = ShopState::from_fixture(Fixture::demo());
        let body =
            json!({"tracks": [{"track_number": "T1", "title": "GLS", "carrier_code": "custom"}]});
        let id = test_call(&mut s, "POST", "/V1/order/4/ship", "", &body).unwrap();
        test_call(&mut s, "POST", "/V1/order/4/invoice", "", &json!({})).unwrap();
        let q = "searchCriteria[filterGroups][0][filters][0][field]=order_id&searchCriteria[filterGroups][0][filters][0][value]=4";
        let found = test_call(&mut s, "GET", "/V1/shipments", q, &Json::Null).unwrap();
        assert_eq!(found["total_count"], 1);
        assert_eq!(found["items"][0]["tracks"][0]["track_number"], "T1");
        let one = test_call(
            &mut s,
            "GET",
            &format!("/V1/shipment/{id}"),
            "",
            &Json::Null,
        )
        .unwrap();
        assert_eq!(one["order_id"], 4);
        let invoices = test_call(&mut s, "GET", "/V1/invoices", q, &Json::Null).unwrap();
        assert_eq!(invoices["items"][0]["state"], 2);
        assert!(test_call(&mut s, "GET", "/V1/invoices/9", "", &Json::Null).is_err());
        assert!(test_call(&mut s, "GET", "/V1/shipments", "", &Json::Null).is_err());
    }
}
