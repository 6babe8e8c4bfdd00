//! Options of select attributes: `GET|POST /V1/products/attributes/{code}/options`.
//!
//! As `Magento\Eav\Model\Entity\Attribute\OptionManagement` (2.4): the list
//! starts with the empty option `{"label": " ", "value": ""}`; an add
//! needs a non-blank label not already used (compared case-insensitively)
//! and answers the new option's id as a JSON string, such as `"73"` (2.3
//! answered `true`; 2.4.0-2.4.1 sometimes `"id_new_option"`).

use serde_json::{json, Value as Json};

use super::errors::ApiError;
use super::input::{self, opt, to_int, to_text};
use super::router::{Reply, Request, Route};
use super::state::{AttributeOption, ShopState};

/// This resource's routes, below `/V1`.
pub(crate) const ROUTES: &[Route] = &[
    Route::guarded(
        "GET",
        "/products/attributes/{attributeCode}",
        get,
        "Magento_Catalog::attributes_attributes",
    ),
    Route::guarded(
        "GET",
        "/products/attributes/{attributeCode}/options",
        list,
        "Magento_Catalog::attributes_attributes",
    ),
    Route::guarded(
        "POST",
        "/products/attributes/{attributeCode}/options",
        add,
        "Magento_Catalog::attributes_attributes",
    ),
];

pub(crate) fn not_found(code: &str) -> ApiError {
    ApiError::not_found(
        "The attribute with a \"%1\" attributeCode doesn't exist. Verify the attribute and try again.",
    )
    .with_args([code])
}

fn is_plain_attribute(state: &ShopState, code: &str) -> bool {
    super::products::SYSTEM_ATTRIBUTES.contains(&code)
        || state.product_attributes.iter().any(|a| a == code)
        || ["name", "sku", "price", "weight", "status", "visibility"].contains(&code)
}

/// `GET /V1/products/attributes/{attributeCode}` (by code or numeric id):
/// the select attributes the stand-in keeps, in the shape of
/// `catalog-data-product-attribute-interface`. Magento's other attributes
/// (name, price...) have no id here and answer as unknown.
fn get(state: &mut ShopState, req: &Request) -> Reply {
    let key = req.param("attributeCode");
    let attr = state
        .attribute_by_code_or_id(key)
        .ok_or_else(|| not_found(key))?;
    let mut options = vec![json!({"label": " ", "value": ""})];
    options.extend(
        attr.options
            .iter()
            .map(|o| json!({"label": o.label, "value": o.value.to_string()})),
    );
    Ok(json!({
        "attribute_id": attr.attribute_id,
        "attribute_code": attr.attribute_code,
        "frontend_input": attr.frontend_input,
        "entity_type_id": "4",
        "is_required": false,
        "is_user_defined": true,
        "default_frontend_label": attr.default_frontend_label,
        "frontend_labels": [],
        "backend_type": "int",
        "scope": "global",
        "options": options,
    }))
}

fn list(state: &mut ShopState, req: &Request) -> Reply {
    let code = req.param("attributeCode");
    let Some(attr) = state.attribute(code) else {
        if is_plain_attribute(state, code) {
            return Ok(json!([]));
        }
        return Err(not_found(code));
    };
    let mut options: Vec<&AttributeOption> = attr.options.iter().collect();
    options.sort_by_key(|o| o.sort_order);
    let mut out = vec![json!({"label": " ", "value": ""})];
    out.extend(
        options
            .into_iter()
            .map(|o| json!({"label": o.label, "value": o.value.to_string()})),
    );
    Ok(Json::Array(out))
}

fn add(state: &mut ShopState, req: &Request) -> Reply {
    let code = req.param("attributeCode").to_string();
    let body = input::parse_body(req.body)?;
    let option = input::object(
        input::required(&body, "option")?,
        input::OPTION_CLASS,
        input::OPTION_FIELDS,
    )?;
    let label = opt(option, "label", to_text)?.unwrap_or_default();
    let sort_order = opt(option, "sort_order", to_int)?.unwrap_or(0);
    if let Some(labels) = option.get("store_labels").filter(|v| !v.is_null()) {
        input::array(
            labels,
            "Magento\\Eav\\Api\\Data\\AttributeOptionLabelInterface[]",
        )?;
    }
    if state.attribute(&code).is_none() {
        if is_plain_attribute(state, &code) {
            return Err(
                ApiError::bad_request("The \"%1\" attribute doesn't work with options.")
                    .with_args([code]),
            );
        }
        return Err(not_found(&code));
    }
    let label_trimmed = label.trim().to_string();
    if label_trimmed.is_empty() {
        return Err(ApiError::bad_request(
            "The attribute option label is empty. Enter the value and try again.",
        ));
    }
    state.ids.option += 1;
    let id = state.ids.option;
    let Some(attr) = state
        .attributes
        .iter_mut()
        .find(|a| a.attribute_code == code)
    else {
        return Err(not_found(&code));
    };
    let upper = label_trimmed.to_uppercase();
    if attr.options.iter().any(|o| o.label.to_uppercase() == upper) {
        return Err(ApiError::bad_request(
            "Admin store attribute option label \"%1\" already exists.",
        )
        .with_args([label]));
    }
    attr.options.push(AttributeOption {
        value: id,
        label: label_trimmed,
        sort_order,
    });
    Ok(json!(id.to_string()))
}

#[cfg(test)]
mod tests {
    use super::super::fixture::Fixture;
    use super::super::in_process::test_call;
    use super::*;

    #[test]
    fn an_attribute_by_code_or_id() {
        let mut s = ShopState::from_fixture(Fixture::default());
        let a = test_call(
            &mut s,
            "GET",
            "/V1/products/attributes/size",
            "",
            &Json::Null,
        )
        .unwrap();
        assert_eq!(a["attribute_id"], 144);
        let b = test_call(
            &mut s,
            "GET",
            "/V1/products/attributes/144",
            "",
            &Json::Null,
        )
        .unwrap();
        assert_eq!(b["attribute_code"], "size");
        let e = test_call(
            &mut s,
            "GET",
            "/V1/products/attributes/nope",
            "",
            &Json::Null,
        )
        .unwrap_err();
        assert_eq!(e.status, 404);
    }

    #[test]
    fn options_list_starts_empty_and_grows() {
        let mut s = ShopState::from_fixture(Fixture::demo());
        let path = "/V1/products/attributes/color/options";
        let list = test_call(&mut s, "GET", path, "", &Json::Null).unwrap();
        assert_eq!(list[0], json!({"label": " ", "value": ""}));
        assert_eq!(list[1], json!({"label": "Blu navy", "value": "50"}));
        let id = test_call(
            &mut s,
            "POST",
            path,
            "",
            &json!({"option": {"label": "Verde"}}),
        )
        .unwrap();
        assert_eq!(id, json!("73"));
        let e = test_call(
            &mut s,
            "POST",
            path,
            "",
            &json!({"option": {"label": "VERDE"}}),
        )
        .unwrap_err();
        assert_eq!(e.status, 400);
        assert_eq!(e.params(), Some(&json!(["VERDE"])));
        let e = test_call(
            &mut s,
            "POST",
            path,
            "",
            &json!({"option": {"label": "  "}}),
        )
        .unwrap_err();
        assert!(e.message.contains("label is empty"));
    }

    #[test]
    fn unknown_attributes_are_404_with_the_code() {
        let mut s = ShopState::from_fixture(Fixture::demo());
        let e = test_call(
            &mut s,
            "GET",
            "/V1/products/attributes/colour/options",
            "",
            &Json::Null,
        )
        .unwrap_err();
        assert_eq!(e.status, 404);
        assert_eq!(e.params(), Some(&json!(["colour"])));
        let e = test_call(
            &mut s,
            "POST",
            "/V1/products/attributes/ean/options",
            "",
            &json!({"option": {"label": "x"}}),
        )
        .unwrap_err();
        assert_eq!(e.status, 400);
    }
}
