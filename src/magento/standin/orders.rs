//! Orders (stub).
use super::router::Route;
use super::state::ShopState;
use serde_json::Value as Json;
pub fn route(_method: &str, _segs: &[&str]) -> Option<Route> {
    None
}
pub fn insert_fixture_order(state: &mut ShopState, o: Json) {
    state.orders.push(o);
}
