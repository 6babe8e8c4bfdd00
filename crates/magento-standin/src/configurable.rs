//! Configurable products: `POST /V1/configurable-products/{sku}/options`,
//! `GET .../options/all`, `POST .../child`, `GET .../children`,
//! `DELETE .../children/{childSku}`.
//!
//! As `Magento\ConfigurableProduct\Model\OptionRepository` and
//! `LinkManagement`: a new option needs an attribute (code or id), a label
//! and at least one value with a non-zero `value_index` ("Option values are
//! not specified." otherwise); adding one to a simple or virtual product
//! turns it configurable; a second option on the same attribute is "Product
//! already has this option". Linking a child needs the parent to have
//! options and the child a value for each option's attribute; a child
//! linked twice is "The product is already attached.". Options and links
//! live in the parent's `extension_attributes`
//! (`configurable_product_options`, `configurable_product_links`), as `GET
//! /V1/products/{sku}` shows them.

use serde_json::{json, Value as Json};

use super::errors::{ApiError, ApiResult};
use super::input::{self, opt, to_bool, to_int, to_text};
use super::products::not_found;
use super::router::{Reply, Request, Route};
use super::state::ShopState;

/// This resource's routes, below `/V1`.
pub(crate) const ROUTES: &[Route] = &[
    Route::guarded(
        "POST",
        "/configurable-products/{sku}/options",
        add_option,
        "Magento_Catalog::products",
    ),
    Route::guarded(
        "GET",
        "/configurable-products/{sku}/options/all",
        list_options,
        "Magento_Catalog::products",
    ),
    Route::guarded(
        "POST",
        "/configurable-products/{sku}/child",
        add_child,
        "Magento_Catalog::products",
    ),
    Route::guarded(
        "GET",
        "/configurable-products/{sku}/children",
        children,
        "Magento_Catalog::products",
    ),
    Route::guarded(
        "DELETE",
        "/configurable-products/{sku}/children/{childSku}",
        remove_child,
        "Magento_Catalog::products",
    ),
];

fn options_of(p: &Json) -> Vec<Json> {
    p.pointer("/extension_attributes/configurable_product_options")
        .and_then(Json::as_array)
        .cloned()
        .unwrap_or_default()
}

fn links_of(p: &Json) -> Vec<i64> {
    p.pointer("/extension_attributes/configurable_product_links")
        .and_then(Json::as_array)
        .map(|a| a.iter().filter_map(Json::as_i64).collect())
        .unwrap_or_default()
}

fn product(state: &ShopState, sku: &str) -> ApiResult<usize> {
    state.product_index(sku).ok_or_else(not_found)
}

fn is_configurable(p: &Json) -> bool {
    p.get("type_id").and_then(Json::as_str) == Some("configurable")
}

fn add_option(state: &mut ShopState, req: &Request) -> Reply {
    let sku = req.param("sku").to_string();
    let body = input::parse_body(req.body)?;
    let option = input::object(
        input::required(&body, "option")?,
        input::CONFIGURABLE_OPTION_CLASS,
        input::CONFIGURABLE_OPTION_FIELDS,
    )?;
    if let Some(id) = opt(option, "id", to_int)? {
        // An update of an existing option.
        let i = product(state, &sku)?;
        let mut options = options_of(&state.products[i]);
        let Some(o) = options
            .iter_mut()
            .find(|o| o.get("id").and_then(Json::as_i64) == Some(id))
        else {
            return Err(
                ApiError::not_found("Option with id \"%1\" not found").with_args([id.to_string()])
            );
        };
        if let Some(l) = opt(option, "label", to_text)? {
            o["label"] = json!(l);
        }
        if let Some(p) = opt(option, "position", to_int)? {
            o["position"] = json!(p);
        }
        state.products[i]["extension_attributes"]["configurable_product_options"] = json!(options);
        return Ok(json!(id));
    }
    let attribute = opt(option, "attribute_id", to_text)?.unwrap_or_default();
    let label = opt(option, "label", to_text)?.unwrap_or_default();
    let position = opt(option, "position", to_int)?.unwrap_or(0);
    let use_default = opt(option, "is_use_default", to_bool)?;
    let mut values = Vec::new();
    let mut problems = Vec::new();
    if attribute.is_empty() || attribute == "0" {
        problems.push(ApiError::bad_request(
            "Option attribute ID is not specified.",
        ));
    }
    if label.is_empty() || label == "0" {
        problems.push(ApiError::bad_request("Option label is not specified."));
    }
    match option.get("values").filter(|v| !v.is_null()) {
        Some(list)
            if !input::array(
                list,
                "Magento\\ConfigurableProduct\\Api\\Data\\OptionValueInterface[]",
            )?
            .is_empty() =>
        {
            for v in input::array(
                list,
                "Magento\\ConfigurableProduct\\Api\\Data\\OptionValueInterface[]",
            )? {
                let m = input::object(
                    v,
                    input::CONFIGURABLE_VALUE_CLASS,
                    input::CONFIGURABLE_VALUE_FIELDS,
                )?;
                match opt(m, "value_index", to_int)? {
                    Some(x) if x != 0 => values.push(json!({ "value_index": x })),
                    _ => problems.push(ApiError::bad_request(
                        "Value index is not specified for an option.",
                    )),
                }
            }
        }
        _ => problems.push(ApiError::bad_request("Option values are not specified.")),
    }
    if let Some(e) = ApiError::aggregate(problems) {
        return Err(e);
    }
    let i = product(state, &sku)?;
    let type_id = state.products[i]["type_id"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    if !["simple", "virtual", "configurable"].contains(&type_id.as_str()) {
        // `\InvalidArgumentException('Incompatible product type')`: no LocalizedException.
        return Err(ApiError::internal(state.ids.configurable_option as u64 + 7));
    }
    let attr = state
        .attribute_by_code_or_id(&attribute)
        .ok_or_else(|| super::attributes::not_found(&attribute))?
        .clone();
    let mut options = options_of(&state.products[i]);
    if options.iter().any(|o| {
        o.get("attribute_id").and_then(Json::as_str) == Some(&attr.attribute_id.to_string())
    }) {
        return Err(ApiError::bad_request("Product already has this option"));
    }
    state.ids.configurable_option = state.ids.configurable_option.max(
        state
            .products
            .iter()
            .flat_map(options_of)
            .filter_map(|o| o.get("id").and_then(Json::as_i64))
            .max()
            .unwrap_or(0),
    ) + 1;
    let id = state.ids.configurable_option;
    let product_id = state.products[i]["id"].clone();
    let mut o = json!({
        "id": id,
        "attribute_id": attr.attribute_id.to_string(),
        "label": label,
        "position": position,
        "values": values,
        "product_id": product_id,
    });
    if let Some(u) = use_default {
        o["is_use_default"] = json!(u);
    }
    options.push(o);
    let now = state.now();
    let p = &mut state.products[i];
    p["type_id"] = json!("configurable");
    p["updated_at"] = json!(now);
    p["extension_attributes"]["configurable_product_options"] = json!(options);
    if p.pointer("/extension_attributes/configurable_product_links")
        .is_none()
    {
        p["extension_attributes"]["configurable_product_links"] = json!([]);
    }
    Ok(json!(id))
}

fn list_options(state: &mut ShopState, req: &Request) -> Reply {
    let sku = req.param("sku");
    let i = product(state, sku)?;
    if !is_configurable(&state.products[i]) {
        return Err(
            ApiError::bad_request("Only implemented for configurable product: %1").with_args([sku]),
        );
    }
    Ok(json!(options_of(&state.products[i])))
}

fn add_child(state: &mut ShopState, req: &Request) -> Reply {
    let sku = req.param("sku").to_string();
    let body = input::parse_body(req.body)?;
    let child_sku = to_text(input::required(&body, "childSku")?)?;
    let i = product(state, &sku)?;
    let c = product(state, &child_sku)?;
    let child_id = state.products[c]["id"].as_i64().unwrap_or(0);
    let mut links = links_of(&state.products[i]);
    if links.contains(&child_id) {
        return Err(ApiError::bad_request("The product is already attached."));
    }
    let mut options = options_of(&state.products[i]);
    if options.is_empty() {
        return Err(ApiError::bad_request(
            "The parent product doesn't have configurable product options.",
        ));
    }
    for o in &mut options {
        let attr_id = o
            .get("attribute_id")
            .and_then(Json::as_str)
            .unwrap_or_default();
        let Some(attr) = state.attribute_by_code_or_id(attr_id) else {
            continue;
        };
        let code = attr.attribute_code.clone();
        let value = super::search::field(&state.products[c], &code)
            .and_then(|v| match v {
                Json::String(s) => s.trim().parse::<i64>().ok(),
                other => other.as_i64(),
            })
            .filter(|v| *v != 0);
        let Some(value) = value else {
            return Err(ApiError::bad_request(
                "The child product doesn't have the \"%1\" attribute value. Verify the value and try again.",
            )
            .with_args([code]));
        };
        if let Some(Json::Array(values)) = o.get_mut("values") {
            if !values
                .iter()
                .any(|v| v.get("value_index").and_then(Json::as_i64) == Some(value))
            {
                values.push(json!({ "value_index": value }));
            }
        }
    }
    links.push(child_id);
    let now = state.now();
    let p = &mut state.products[i];
    p["extension_attributes"]["configurable_product_options"] = json!(options);
    p["extension_attributes"]["configurable_product_links"] = json!(links);
    p["updated_at"] = json!(now);
    Ok(json!(true))
}

fn children(state: &mut ShopState, req: &Request) -> Reply {
    let i = product(state, req.param("sku"))?;
    if !is_configurable(&state.products[i]) {
        return Ok(json!([]));
    }
    let kids: Vec<Json> = links_of(&state.products[i])
        .into_iter()
        .filter_map(|id| state.product_index_by_id(id))
        .map(|k| state.products[k].clone())
        .collect();
    Ok(Json::Array(kids))
}

fn remove_child(state: &mut ShopState, req: &Request) -> Reply {
    let sku = req.param("sku").to_string();
    let child_sku = req.param("childSku").to_string();
    let i = product(state, &sku)?;
    if !is_configurable(&state.products[i]) {
        return Err(ApiError::bad_request(
            "The product with the \"%1\" SKU isn't a configurable product.",
        )
        .with_args([sku]));
    }
    let links = links_of(&state.products[i]);
    let kept: Vec<i64> = links
        .iter()
        .copied()
        .filter(|id| {
            state.product_index_by_id(*id).is_none_or(|k| {
                !state.products[k]["sku"]
                    .as_str()
                    .is_some_and(|s| s.eq_ignore_ascii_case(&child_sku))
            })
        })
        .collect();
    if kept.len() == links.len() {
        return Err(ApiError::not_found(
            "The option that was requested doesn't exist. Verify the entity and try again.",
        ));
    }
    let now = state.now();
    state.products[i]["extension_attributes"]["configurable_product_links"] = json!(kept);
    state.products[i]["updated_at"] = json!(now);
    Ok(json!(true))
}

#[cfg(test)]
mod tests {
    use super::super::fixture::Fixture;
    use super::super::in_process::test_call;
    use super::*;

    fn shop_with(skus: &[(&str, &str, &str)]) -> ShopState {
        let mut s = ShopState::from_fixture(Fixture::demo());
        for (sku, type_id, size) in skus {
            let mut product = json!({"sku": sku, "name": sku, "price": 10, "type_id": type_id});
            if !size.is_empty() {
                product["custom_attributes"] = json!([{"attribute_code": "size", "value": size}]);
            }
            test_call(
                &mut s,
                "POST",
                "/V1/products",
                "",
                &json!({"product": product}),
            )
            .unwrap();
        }
        s
    }

    #[test]
    fn options_then_children() {
        let mut s = shop_with(&[
            ("P", "configurable", ""),
            ("P-S", "simple", "60"),
            ("P-X", "simple", ""),
        ]);
        let e = test_call(
            &mut s,
            "POST",
            "/V1/configurable-products/P/child",
            "",
            &json!({"childSku": "P-S"}),
        )
        .unwrap_err();
        assert_eq!(
            e.message,
            "The parent product doesn't have configurable product options."
        );
        let empty = json!({"option": {"attribute_id": "size", "label": "Size", "position": 0, "is_use_default": true, "values": []}});
        let e = test_call(
            &mut s,
            "POST",
            "/V1/configurable-products/P/options",
            "",
            &empty,
        )
        .unwrap_err();
        assert_eq!(e.message, "Option values are not specified.");
        let ok = json!({"option": {"attribute_id": "144", "label": "Size", "position": 0, "values": [{"value_index": 60}]}});
        let id = test_call(
            &mut s,
            "POST",
            "/V1/configurable-products/P/options",
            "",
            &ok,
        )
        .unwrap();
        assert!(id.is_i64());
        let e = test_call(
            &mut s,
            "POST",
            "/V1/configurable-products/P/options",
            "",
            &ok,
        )
        .unwrap_err();
        assert_eq!(e.message, "Product already has this option");
        assert_eq!(
            test_call(
                &mut s,
                "POST",
                "/V1/configurable-products/P/child",
                "",
                &json!({"childSku": "P-S"})
            )
            .unwrap(),
            json!(true)
        );
        let e = test_call(
            &mut s,
            "POST",
            "/V1/configurable-products/P/child",
            "",
            &json!({"childSku": "P-S"}),
        )
        .unwrap_err();
        assert_eq!(e.message, "The product is already attached.");
        let e = test_call(
            &mut s,
            "POST",
            "/V1/configurable-products/P/child",
            "",
            &json!({"childSku": "P-X"}),
        )
        .unwrap_err();
        assert_eq!(e.params(), Some(&json!(["size"])));
        let kids = test_call(
            &mut s,
            "GET",
            "/V1/configurable-products/P/children",
            "",
            &Json::Null,
        )
        .unwrap();
        assert_eq!(kids[0]["sku"], "P-S");
        let all = test_call(
            &mut s,
            "GET",
            "/V1/configurable-products/P/options/all",
            "",
            &Json::Null,
        )
        .unwrap();
        assert_eq!(all[0]["attribute_id"], "144");
        assert_eq!(
            test_call(
                &mut s,
                "DELETE",
                "/V1/configurable-products/P/children/P-S",
                "",
                &Json::Null
            )
            .unwrap(),
            json!(true)
        );
        let e = test_call(
            &mut s,
            "DELETE",
            "/V1/configurable-products/P/children/P-S",
            "",
            &Json::Null,
        )
        .unwrap_err();
        assert_eq!(e.status, 404);
    }

    #[test]
    fn parents_must_be_configurable_and_exist() {
        let mut s = shop_with(&[]);
        let e = test_call(
            &mut s,
            "GET",
            "/V1/configurable-products/CAF-ESP-1KG/options/all",
            "",
            &Json::Null,
        )
        .unwrap_err();
        assert_eq!(e.params(), Some(&json!(["CAF-ESP-1KG"])));
        let e = test_call(
            &mut s,
            "DELETE",
            "/V1/configurable-products/CAF-ESP-1KG/children/X",
            "",
            &Json::Null,
        )
        .unwrap_err();
        assert_eq!(e.status, 400);
        let e = test_call(
            &mut s,
            "POST",
            "/V1/configurable-products/NOPE/child",
            "",
            &json!({"childSku": "CAF-ESP-1KG"}),
        )
        .unwrap_err();
        assert_eq!(e.status, 404);
        assert_eq!(
            test_call(
                &mut s,
                "GET",
                "/V1/configurable-products/CAF-ESP-1KG/children",
                "",
                &Json::Null
            )
            .unwrap(),
            json!([])
        );
        let children = test_call(
            &mut s,
            "GET",
            "/V1/configurable-products/FEL-POLO/children",
            "",
            &Json::Null,
        )
        .unwrap();
        assert_eq!(children.as_array().unwrap().len(), 2);
    }
}
