//! Customers: `GET /V1/customers/search`, `GET|PUT /V1/customers/{id}`,
//! `POST /V1/customers` (with an optional `password`).
//!
//! As `AccountManagement::createAccount` and `CustomerRepository::save`:
//! e-mail unique per website ("A customer with the same email address
//! already exists in an associated website."), the group must exist
//! ("No such entity with id = N"), first and last name and e-mail are
//! required, each address needs first and last name, street, city,
//! telephone, postcode and country. A new customer takes the request's
//! store and website unless it names them. Custom attributes other than the
//! shop's (`erp_customer_code`) are dropped, as Magento drops them. A PUT
//! merges over the stored customer; addresses, when sent, replace the list.
//! An address's province is its `region_id` (one of the country's regions,
//! see `directory`): a `region_code` alone stores no province.

use serde_json::{json, Map, Value as Json};

use super::directory;
use super::errors::{ApiError, ApiResult};
use super::input::{self, opt, path_int, to_bool, to_int, to_text};
use super::router::{Reply, Request, Route};
use super::search::SearchCriteria;

use super::state::{keep_or_assign_id, ShopState};

/// Customer attributes this shop has besides Magento's own fields.
pub(crate) const CUSTOM_ATTRIBUTES: [&str; 1] = ["erp_customer_code"];

/// This resource's routes, below `/V1`.
pub(crate) const ROUTES: &[Route] = &[
    Route::guarded(
        "GET",
        "/customers/search",
        search,
        "Magento_Customer::customer",
    ),
    Route::guarded(
        "GET",
        "/customers/{customerId}",
        get,
        "Magento_Customer::customer",
    ),
    Route::guarded("POST", "/customers", create, "Magento_Customer::manage"),
    Route::guarded(
        "PUT",
        "/customers/{customerId}",
        update,
        "Magento_Customer::manage",
    ),
];

pub(crate) fn insert_fixture_customer(state: &mut ShopState, c: Json) {
    let Json::Object(mut c) = c else { return };
    let id = keep_or_assign_id(&mut c, "id", &mut state.ids.customer);
    if let Some(Json::Array(addresses)) = c.get_mut("addresses") {
        addresses.retain(Json::is_object);
        for a in addresses.iter_mut().filter_map(Json::as_object_mut) {
            keep_or_assign_id(a, "id", &mut state.ids.address);
            a.insert("customer_id".into(), json!(id));
        }
    }
    state.customers.push(Json::Object(c));
}

fn search(state: &mut ShopState, req: &Request) -> Reply {
    let sc = SearchCriteria::from_query(req.query)?
        .ok_or_else(|| ApiError::required_field("searchCriteria"))?;
    let (items, total) = sc.apply(&state.customers);
    Ok(json!({ "items": items, "search_criteria": sc.echo(), "total_count": total }))
}

fn get(state: &mut ShopState, req: &Request) -> Reply {
    let id = path_int(req.param("customerId"))?;
    let i = state
        .customer_index(id)
        .ok_or_else(|| ApiError::no_such_entity("customerId", id))?;
    Ok(state.customers[i].clone())
}

fn valid_email(email: &str) -> bool {
    let Some((local, domain)) = email.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !email.chars().any(char::is_whitespace)
}

/// Password rules of a default install: 8 characters, 3 classes.
fn check_password(p: &str) -> ApiResult<()> {
    if p.chars().count() < 8 {
        return Err(ApiError::bad_request(
            "The password needs at least %1 characters. Create a new password and try again.",
        )
        .with_args(["8"]));
    }
    let classes = [
        p.chars().any(|c| c.is_lowercase()),
        p.chars().any(|c| c.is_uppercase()),
        p.chars().any(|c| c.is_ascii_digit()),
        p.chars().any(|c| !c.is_alphanumeric()),
    ]
    .iter()
    .filter(|b| **b)
    .count();
    if classes < 3 {
        return Err(ApiError::bad_request(
            "Minimum of different classes of characters in password is %1. Classes of characters: Lower Case, Upper Case, Digits, Special Characters.",
        )
        .with_args(["3"]));
    }
    Ok(())
}

fn address(a: &Json, customer_id: i64, id: i64) -> ApiResult<Json> {
    let m = input::object(a, input::ADDRESS_CLASS, input::ADDRESS_FIELDS)?;
    let text = |k: &str| -> ApiResult<String> { Ok(opt(m, k, to_text)?.unwrap_or_default()) };
    let street: Vec<String> = match m.get("street").filter(|v| !v.is_null()) {
        Some(v) => input::array(v, "string[]")?
            .iter()
            .map(to_text)
            .collect::<ApiResult<_>>()?,
        None => Vec::new(),
    };
    let mut missing = Vec::new();
    for (key, name) in [("firstname", "firstname"), ("lastname", "lastname")] {
        if text(key)?.trim().is_empty() {
            missing.push(ApiError::required_field(name));
        }
    }
    if street.first().is_none_or(|s| s.trim().is_empty()) {
        missing.push(ApiError::required_field("street"));
    }
    for (key, name) in [
        ("city", "city"),
        ("telephone", "telephone"),
        ("postcode", "postcode"),
        ("country_id", "countryId"),
    ] {
        if text(key)?.trim().is_empty() {
            missing.push(ApiError::required_field(name));
        }
    }
    if let Some(e) = ApiError::aggregate(missing) {
        return Err(e);
    }
    let country = text("country_id")?;
    if country.len() != 2 || !country.chars().all(|c| c.is_ascii_uppercase()) {
        return Err(ApiError::invalid_field_value("countryId", &json!(country)));
    }
    // As `Customer\Model\Address::updateData`: the region object's name
    // and id are kept as sent (the address table has no column for the
    // code), then a top-level `region_id`. Nothing is looked up by code.
    let mut sent_name = None;
    let mut region_id = 0;
    if let Some(r) = m.get("region").filter(|v| !v.is_null()) {
        let r = input::object(r, input::REGION_CLASS, input::REGION_FIELDS)?;
        opt(r, "region_code", to_text)?;
        sent_name = opt(r, "region", to_text)?;
        region_id = opt(r, "region_id", to_int)?.unwrap_or(0);
    }
    if let Some(id) = opt(m, "region_id", to_int)? {
        region_id = id;
    }
    // The address validator (`Address\Validator\Country::validateRegion`):
    // an id that is not one of the country's regions is refused.
    let has_regions = directory::country(&country).is_some_and(|c| !c.regions.is_empty());
    let region_of = directory::region_of(&country, region_id);
    if region_id != 0 && has_regions && region_of.is_none() {
        return Err(ApiError::invalid_field_value(
            "regionId",
            &json!(region_id.to_string()),
        ));
    }
    // Read back (`AbstractAddress::getRegion`, `getRegionCode`): name and
    // code come from the country's region with that id; without one the
    // code is null and the name what was sent.
    let region = match region_of {
        Some(r) => json!({"region_code": r.code, "region": r.name, "region_id": r.id}),
        None => json!({"region_code": null, "region": sent_name, "region_id": region_id}),
    };
    let mut out = Map::new();
    out.insert("id".into(), json!(id));
    out.insert("customer_id".into(), json!(customer_id));
    out.insert("region_id".into(), region["region_id"].clone());
    out.insert("region".into(), region);
    out.insert("country_id".into(), json!(country));
    out.insert("street".into(), json!(street));
    for k in [
        "company",
        "telephone",
        "fax",
        "postcode",
        "city",
        "firstname",
        "lastname",
        "middlename",
        "prefix",
        "suffix",
        "vat_id",
    ] {
        if let Some(v) = opt(m, k, to_text)? {
            out.insert(k.into(), json!(v));
        }
    }
    for k in ["default_shipping", "default_billing"] {
        if let Some(v) = opt(m, k, to_bool)? {
            out.insert(k.into(), json!(v));
        }
    }
    if let Some(v) = m.get("custom_attributes").filter(|v| !v.is_null()) {
        out.insert("custom_attributes".into(), v.clone());
    }
    Ok(Json::Object(out))
}

/// Checks and converts a customer body over `base` (the stored customer on
/// an update, a fresh one on a create); returns the customer to store.
fn merge(
    state: &mut ShopState,
    base: Map<String, Json>,
    given: &Map<String, Json>,
    id: i64,
) -> ApiResult<Map<String, Json>> {
    let mut c = base;
    for k in [
        "email",
        "firstname",
        "lastname",
        "middlename",
        "prefix",
        "suffix",
        "taxvat",
        "dob",
        "confirmation",
        "created_in",
    ] {
        if let Some(v) = opt(given, k, to_text)? {
            c.insert(k.into(), json!(v));
        }
    }
    for k in [
        "group_id",
        "website_id",
        "store_id",
        "gender",
        "disable_auto_group_change",
    ] {
        if let Some(v) = opt(given, k, to_int)? {
            c.insert(k.into(), json!(v));
        }
    }
    if let Some(v) = given.get("extension_attributes").filter(|v| v.is_object()) {
        let ext = c.entry("extension_attributes").or_insert_with(|| json!({}));
        if let (Json::Object(e), Json::Object(v)) = (ext, v) {
            for (k, x) in v {
                e.insert(k.clone(), x.clone());
            }
        }
    }
    // Required values, as the customer validator reports them.
    let mut messages = Vec::new();
    for (k, label) in [
        ("firstname", "First Name"),
        ("lastname", "Last Name"),
        ("email", "Email"),
    ] {
        if c.get(k)
            .and_then(Json::as_str)
            .is_none_or(|s| s.trim().is_empty())
        {
            messages.push(format!("\"{label}\" is a required value."));
        }
    }
    if !messages.is_empty() {
        return Err(ApiError::bad_request(messages.join("\n")));
    }
    let email = c
        .get("email")
        .and_then(Json::as_str)
        .unwrap_or_default()
        .to_string();
    if !valid_email(&email) {
        return Err(ApiError::invalid_field_value("email", &json!(email)));
    }
    let group = c.get("group_id").and_then(Json::as_i64).unwrap_or(1);
    if !state.group_exists(group) {
        return Err(ApiError::no_such_entity("id", group));
    }
    let website = c.get("website_id").and_then(Json::as_i64).unwrap_or(1);
    let taken = state.customers.iter().any(|o| {
        o.get("id").and_then(Json::as_i64) != Some(id)
            && o.get("website_id").and_then(Json::as_i64) == Some(website)
            && o.get("email")
                .and_then(Json::as_str)
                .is_some_and(|e| e.eq_ignore_ascii_case(&email))
    });
    if taken {
        return Err(ApiError::bad_request(
            "A customer with the same email address already exists in an associated website.",
        ));
    }
    if let Some(list) = given.get("custom_attributes").filter(|v| !v.is_null()) {
        let stored = c.entry("custom_attributes").or_insert_with(|| json!([]));
        for entry in input::array(list, "Magento\\Framework\\Api\\AttributeInterface[]")? {
            let m = input::object(
                entry,
                input::ATTRIBUTE_VALUE_CLASS,
                input::ATTRIBUTE_VALUE_FIELDS,
            )?;
            let Some(code) = opt(m, "attribute_code", to_text)? else {
                continue;
            };
            if !CUSTOM_ATTRIBUTES.contains(&code.as_str()) {
                continue;
            }
            let value = json!(opt(m, "value", to_text)?.unwrap_or_default());
            if let Json::Array(list) = stored {
                match list
                    .iter_mut()
                    .find(|a| a.get("attribute_code").and_then(Json::as_str) == Some(code.as_str()))
                {
                    Some(a) => a["value"] = value,
                    None => list.push(json!({"attribute_code": code, "value": value})),
                }
            }
        }
    }
    if let Some(list) = given.get("addresses").filter(|v| !v.is_null()) {
        let old_ids: Vec<i64> = c
            .get("addresses")
            .and_then(Json::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|x| x.get("id").and_then(Json::as_i64))
                    .collect()
            })
            .unwrap_or_default();
        let mut addresses = Vec::new();
        let mut next = state.ids.address;
        for a in input::array(list, "Magento\\Customer\\Api\\Data\\AddressInterface[]")? {
            let aid = match a.get("id").and_then(Json::as_i64) {
                Some(x) if old_ids.contains(&x) => x,
                _ => {
                    next += 1;
                    next
                }
            };
            addresses.push(address(a, id, aid)?);
        }
        state.ids.address = next;
        c.remove("default_billing");
        c.remove("default_shipping");
        for a in &addresses {
            for k in ["default_billing", "default_shipping"] {
                if a.get(k) == Some(&json!(true)) {
                    c.insert(k.into(), json!(a["id"].to_string()));
                }
            }
        }
        c.insert("addresses".into(), Json::Array(addresses));
    }
    Ok(c)
}

/// The customer's fields in the interface's order, as Magento answers.
fn order_fields(c: Map<String, Json>) -> Json {
    let mut c = c;
    let mut out = Map::new();
    for &k in input::CUSTOMER_FIELDS {
        if let Some(v) = c.remove(k) {
            out.insert(k.into(), v);
        }
    }
    out.append(&mut c);
    Json::Object(out)
}

fn create(state: &mut ShopState, req: &Request) -> Reply {
    let body = input::parse_body(req.body)?;
    let given = input::object(
        input::required(&body, "customer")?,
        input::CUSTOMER_CLASS,
        input::CUSTOMER_FIELDS,
    )?;
    if let Some(p) = opt(&body, "password", to_text)? {
        check_password(&p)?;
    }
    let id = state.ids.customer + 1;
    let now = state.now();
    let website = if req.store.website_id > 0 {
        req.store.website_id
    } else {
        1
    };
    let store_id = if req.store.id > 0 {
        req.store.id
    } else {
        website
    };
    let mut base = Map::new();
    base.insert("id".into(), json!(id));
    base.insert("group_id".into(), json!(1));
    base.insert("created_at".into(), json!(now));
    base.insert("updated_at".into(), json!(now));
    base.insert(
        "created_in".into(),
        json!(if store_id == 2 {
            "B2B Store View"
        } else {
            "Default Store View"
        }),
    );
    base.insert("store_id".into(), json!(store_id));
    base.insert("website_id".into(), json!(website));
    base.insert("addresses".into(), json!([]));
    base.insert("disable_auto_group_change".into(), json!(0));
    base.insert(
        "extension_attributes".into(),
        json!({"is_subscribed": false}),
    );
    let c = merge(state, base, given, id)?;
    state.ids.customer = id;
    let c = order_fields(c);
    state.customers.push(c.clone());
    Ok(c)
}

fn update(state: &mut ShopState, req: &Request) -> Reply {
    let id = path_int(req.param("customerId"))?;
    let body = input::parse_body(req.body)?;
    let given = input::object(
        input::required(&body, "customer")?,
        input::CUSTOMER_CLASS,
        input::CUSTOMER_FIELDS,
    )?;
    let i = state
        .customer_index(id)
        .ok_or_else(|| ApiError::no_such_entity("customerId", id))?;
    let base = match state.customers[i].clone() {
        Json::Object(m) => m,
        _ => Map::new(),
    };
    let mut c = merge(state, base, given, id)?;
    c.insert("updated_at".into(), json!(state.now()));
    let c = order_fields(c);
    state.customers[i] = c.clone();
    Ok(c)
}

#[cfg(test)]
mod tests {
    use super::super::fixture::Fixture;
    use super::super::in_process::test_call;
    use super::*;

    fn body(email: &str) -> Json {
        json!({"customer": {
            "email": email, "firstname": "Mario", "lastname": "Rossi", "group_id": 2, "website_id": 1,
            "custom_attributes": [{"attribute_code": "erp_customer_code", "value": "C000999"}, {"attribute_code": "shoe_size", "value": "44"}],
            "addresses": [{"firstname": "Mario", "lastname": "Rossi", "street": ["Via Po 1"], "city": "Torino", "postcode": "10123", "country_id": "IT", "telephone": "011 1", "default_billing": true, "region": {"region_code": "TO"}}]
        }})
    }

    #[test]
    fn create_search_update() {
        let mut s = ShopState::from_fixture(Fixture::demo());
        let c = test_call(
            &mut s,
            "POST",
            "/V1/customers",
            "",
            &body("mario@example.it"),
        )
        .unwrap();
        assert_eq!(c["id"], 3);
        assert_eq!(c["default_billing"], "3");
        assert_eq!(c["custom_attributes"].as_array().unwrap().len(), 1);
        let e = test_call(
            &mut s,
            "POST",
            "/V1/customers",
            "",
            &body("MARIO@example.it"),
        )
        .unwrap_err();
        assert_eq!(
            e.message,
            "A customer with the same email address already exists in an associated website."
        );
        let q = "searchCriteria[filterGroups][0][filters][0][field]=erp_customer_code&searchCriteria[filterGroups][0][filters][0][value]=C000999";
        let r = test_call(&mut s, "GET", "/V1/customers/search", q, &Json::Null).unwrap();
        assert_eq!(r["total_count"], 1);
        let u = test_call(&mut s, "PUT", "/V1/customers/3", "", &json!({"customer": {"id": 3, "email": "mario@example.it", "firstname": "Mario", "lastname": "Bianchi"}})).unwrap();
        assert_eq!(u["lastname"], "Bianchi");
        assert_eq!(u["addresses"].as_array().unwrap().len(), 1);
    }

    #[test]
    fn regions_go_by_id_not_by_code() {
        let mut s = ShopState::from_fixture(Fixture::demo());
        // The code alone: Magento keeps no province.
        let c = test_call(&mut s, "POST", "/V1/customers", "", &body("a@example.it")).unwrap();
        let a = &c["addresses"][0];
        assert_eq!(
            a["region"],
            json!({"region_code": null, "region": null, "region_id": 0})
        );
        assert_eq!(a["region_id"], 0);
        // By id: code and name come from the directory.
        let mut b = body("b@example.it");
        b["customer"]["addresses"][0]["region"] =
            json!({"region_code": "TO", "region": "Turin", "region_id": 735});
        b["customer"]["addresses"][0]["region_id"] = json!(735);
        let c = test_call(&mut s, "POST", "/V1/customers", "", &b).unwrap();
        let a = &c["addresses"][0];
        assert_eq!(
            a["region"],
            json!({"region_code": "TO", "region": "Torino", "region_id": 735})
        );
        assert_eq!(a["region_id"], 735);
        // An id that is not one of Italy's regions is refused.
        let mut b = body("c@example.it");
        b["customer"]["addresses"][0]["region_id"] = json!(95);
        let e = test_call(&mut s, "POST", "/V1/customers", "", &b).unwrap_err();
        assert_eq!(
            e.params(),
            Some(&json!({"fieldName": "regionId", "value": "95"}))
        );
    }

    #[test]
    fn refusals() {
        let mut s = ShopState::from_fixture(Fixture::demo());
        let mut b = body("x@example.it");
        b["customer"]["group_id"] = json!(9);
        let e = test_call(&mut s, "POST", "/V1/customers", "", &b).unwrap_err();
        assert_eq!(
            e.params(),
            Some(&json!({"fieldName": "id", "fieldValue": 9}))
        );
        let mut b = body("x@example.it");
        b["customer"]["addresses"][0]["city"] = json!("");
        b["customer"]["addresses"][0]["street"] = json!([]);
        let e = test_call(&mut s, "POST", "/V1/customers", "", &b).unwrap_err();
        assert_eq!(e.errors.len(), 2);
        let mut b = body("x@example.it");
        b["customer"]["firstname"] = json!(null);
        let e = test_call(&mut s, "POST", "/V1/customers", "", &b).unwrap_err();
        assert_eq!(e.message, "\"First Name\" is a required value.");
        let mut b = body("x@example.it");
        b["password"] = json!("short");
        assert_eq!(
            test_call(&mut s, "POST", "/V1/customers", "", &b)
                .unwrap_err()
                .status,
            400
        );
        let e = test_call(&mut s, "GET", "/V1/customers/99", "", &Json::Null).unwrap_err();
        assert_eq!(e.status, 404);
        assert_eq!(
            test_call(&mut s, "GET", "/V1/customers/abc", "", &Json::Null)
                .unwrap_err()
                .status,
            400
        );
    }
}
