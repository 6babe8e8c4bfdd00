//! Request bodies read the way Magento's service input processor reads
//! them: top-level parameters by name, data objects checked against their
//! interface (a property without a getter is a 400), scalars converted with
//! PHP's leniency (`"12.5"` is a float, `"3"` an int), anything else a 400
//! naming the value and the type expected. Nothing here panics on input.

use serde_json::{Map, Value as Json};

use super::errors::{ApiError, ApiResult};

pub(crate) const PRODUCT_CLASS: &str = "Magento\\Catalog\\Api\\Data\\ProductInterface";
pub(crate) const PRODUCT_FIELDS: &[&str] = &[
    "id",
    "sku",
    "name",
    "attribute_set_id",
    "price",
    "status",
    "visibility",
    "type_id",
    "created_at",
    "updated_at",
    "weight",
    "extension_attributes",
    "product_links",
    "options",
    "media_gallery_entries",
    "tier_prices",
    "custom_attributes",
];
pub(crate) const PRODUCT_EXTENSION_CLASS: &str =
    "Magento\\Catalog\\Api\\Data\\ProductExtensionInterface";
pub(crate) const PRODUCT_EXTENSION_FIELDS: &[&str] = &[
    "website_ids",
    "category_links",
    "discounts",
    "bundle_product_options",
    "stock_item",
    "downloadable_product_links",
    "downloadable_product_samples",
    "giftcard_amounts",
    "configurable_product_options",
    "configurable_product_links",
];
pub(crate) const ATTRIBUTE_VALUE_CLASS: &str = "Magento\\Framework\\Api\\AttributeInterface";
pub(crate) const ATTRIBUTE_VALUE_FIELDS: &[&str] = &["attribute_code", "value"];
pub(crate) const CUSTOMER_CLASS: &str = "Magento\\Customer\\Api\\Data\\CustomerInterface";
pub(crate) const CUSTOMER_FIELDS: &[&str] = &[
    "id",
    "group_id",
    "default_billing",
    "default_shipping",
    "confirmation",
    "created_at",
    "updated_at",
    "created_in",
    "dob",
    "email",
    "firstname",
    "lastname",
    "middlename",
    "prefix",
    "suffix",
    "gender",
    "store_id",
    "taxvat",
    "website_id",
    "addresses",
    "disable_auto_group_change",
    "extension_attributes",
    "custom_attributes",
];
pub(crate) const ADDRESS_CLASS: &str = "Magento\\Customer\\Api\\Data\\AddressInterface";
pub(crate) const ADDRESS_FIELDS: &[&str] = &[
    "id",
    "customer_id",
    "region",
    "region_id",
    "country_id",
    "street",
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
    "default_shipping",
    "default_billing",
    "extension_attributes",
    "custom_attributes",
];
pub(crate) const REGION_CLASS: &str = "Magento\\Customer\\Api\\Data\\RegionInterface";
pub(crate) const REGION_FIELDS: &[&str] =
    &["region_code", "region", "region_id", "extension_attributes"];
pub(crate) const OPTION_CLASS: &str = "Magento\\Eav\\Api\\Data\\AttributeOptionInterface";
pub(crate) const OPTION_FIELDS: &[&str] =
    &["label", "value", "sort_order", "is_default", "store_labels"];
pub(crate) const CONFIGURABLE_OPTION_CLASS: &str =
    "Magento\\ConfigurableProduct\\Api\\Data\\OptionInterface";
pub(crate) const CONFIGURABLE_OPTION_FIELDS: &[&str] = &[
    "id",
    "attribute_id",
    "label",
    "position",
    "is_use_default",
    "values",
    "extension_attributes",
    "product_id",
];
pub(crate) const CONFIGURABLE_VALUE_CLASS: &str =
    "Magento\\ConfigurableProduct\\Api\\Data\\OptionValueInterface";
pub(crate) const CONFIGURABLE_VALUE_FIELDS: &[&str] = &["value_index", "extension_attributes"];
pub(crate) const SOURCE_ITEM_CLASS: &str = "Magento\\InventoryApi\\Api\\Data\\SourceItemInterface";
pub(crate) const SOURCE_ITEM_FIELDS: &[&str] = &[
    "sku",
    "source_code",
    "quantity",
    "status",
    "extension_attributes",
];
pub(crate) const STOCK_ITEM_CLASS: &str =
    "Magento\\CatalogInventory\\Api\\Data\\StockItemInterface";
pub(crate) const STOCK_ITEM_FIELDS: &[&str] = &[
    "item_id",
    "product_id",
    "stock_id",
    "qty",
    "is_in_stock",
    "is_qty_decimal",
    "show_default_notification_message",
    "use_config_min_qty",
    "min_qty",
    "use_config_min_sale_qty",
    "min_sale_qty",
    "use_config_max_sale_qty",
    "max_sale_qty",
    "use_config_backorders",
    "backorders",
    "use_config_notify_stock_qty",
    "notify_stock_qty",
    "use_config_qty_increments",
    "qty_increments",
    "use_config_enable_qty_inc",
    "enable_qty_increments",
    "use_config_manage_stock",
    "manage_stock",
    "low_stock_date",
    "is_decimal_divided",
    "stock_status_changed_auto",
    "extension_attributes",
];
pub(crate) const STATUS_HISTORY_CLASS: &str =
    "Magento\\Sales\\Api\\Data\\OrderStatusHistoryInterface";
pub(crate) const STATUS_HISTORY_FIELDS: &[&str] = &[
    "comment",
    "created_at",
    "entity_id",
    "entity_name",
    "is_customer_notified",
    "is_visible_on_front",
    "parent_id",
    "status",
    "extension_attributes",
];
pub(crate) const SHIPMENT_ITEM_CLASS: &str =
    "Magento\\Sales\\Api\\Data\\ShipmentItemCreationInterface";
pub(crate) const INVOICE_ITEM_CLASS: &str =
    "Magento\\Sales\\Api\\Data\\InvoiceItemCreationInterface";
pub(crate) const DOCUMENT_ITEM_FIELDS: &[&str] = &["extension_attributes", "order_item_id", "qty"];
pub(crate) const TRACK_CLASS: &str = "Magento\\Sales\\Api\\Data\\ShipmentTrackCreationInterface";
pub(crate) const TRACK_FIELDS: &[&str] = &[
    "extension_attributes",
    "track_number",
    "title",
    "carrier_code",
];

/// The request body as a JSON object. An empty body is an empty object (the
/// required-parameter checks then name what is missing); anything that is
/// not JSON is Magento's production-mode "Decoding error.".
pub(crate) fn parse_body(bytes: &[u8]) -> ApiResult<Map<String, Json>> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    match serde_json::from_slice::<Json>(bytes) {
        Ok(Json::Object(m)) => Ok(m),
        // A JSON scalar or array is no parameter list: nothing is found by name.
        Ok(_) => Ok(Map::new()),
        Err(_) => Err(ApiError::bad_request("Decoding error.")),
    }
}

/// A required top-level parameter.
pub(crate) fn required<'a>(body: &'a Map<String, Json>, name: &str) -> ApiResult<&'a Json> {
    match body.get(name) {
        None | Some(Json::Null) => Err(ApiError::required_field(name)),
        Some(v) => Ok(v),
    }
}

/// A data object: a JSON object whose keys all have getters in `class`.
pub(crate) fn object<'a>(
    value: &'a Json,
    class: &str,
    allowed: &[&str],
) -> ApiResult<&'a Map<String, Json>> {
    let Json::Object(m) = value else {
        return Err(ApiError::invalid_type(value, class));
    };
    for key in m.keys() {
        if !allowed.contains(&key.as_str()) {
            return Err(ApiError::unknown_property(key, class));
        }
    }
    Ok(m)
}

/// An array of data objects (or scalars: `allowed` empty means no check).
pub(crate) fn array<'a>(value: &'a Json, expected: &str) -> ApiResult<&'a Vec<Json>> {
    match value {
        Json::Array(a) => Ok(a),
        other => Err(ApiError::invalid_type(other, expected)),
    }
}

fn numeric_text(s: &str) -> Option<f64> {
    let t = s.trim();
    if t.is_empty() {
        return None;
    }
    t.parse::<f64>().ok().filter(|f| f.is_finite())
}

/// PHP's `int` conversion of an input value.
pub(crate) fn to_int(v: &Json) -> ApiResult<i64> {
    match v {
        Json::Number(n) => n
            .as_i64()
            .or_else(|| n.as_f64().map(|f| f.trunc() as i64))
            .ok_or_else(|| ApiError::invalid_type(v, "int")),
        Json::String(s) => numeric_text(s)
            .map(|f| f.trunc() as i64)
            .ok_or_else(|| ApiError::invalid_type(v, "int")),
        other => Err(ApiError::invalid_type(other, "int")),
    }
}

/// PHP's `float` conversion of an input value.
pub(crate) fn to_float(v: &Json) -> ApiResult<f64> {
    match v {
        Json::Number(n) => n.as_f64().ok_or_else(|| ApiError::invalid_type(v, "float")),
        Json::String(s) => numeric_text(s).ok_or_else(|| ApiError::invalid_type(v, "float")),
        other => Err(ApiError::invalid_type(other, "float")),
    }
}

/// PHP's `bool` conversion of an input value.
pub(crate) fn to_bool(v: &Json) -> ApiResult<bool> {
    match v {
        Json::Bool(b) => Ok(*b),
        Json::Number(n) => match n.as_i64() {
            Some(0) => Ok(false),
            Some(1) => Ok(true),
            _ => Err(ApiError::invalid_type(v, "bool")),
        },
        Json::String(s) => match s.to_ascii_lowercase().as_str() {
            "1" | "true" => Ok(true),
            "0" | "false" | "" => Ok(false),
            _ => Err(ApiError::invalid_type(v, "bool")),
        },
        other => Err(ApiError::invalid_type(other, "bool")),
    }
}

/// A `string` input value: numbers become their text, as in PHP.
pub(crate) fn to_text(v: &Json) -> ApiResult<String> {
    match v {
        Json::String(s) => Ok(s.clone()),
        Json::Number(n) => Ok(n.to_string()),
        Json::Bool(b) => Ok(if *b { "1".into() } else { String::new() }),
        other => Err(ApiError::invalid_type(other, "string")),
    }
}

/// An optional field converted by `f`; JSON null is absent.
pub(crate) fn opt<T>(
    m: &Map<String, Json>,
    key: &str,
    f: impl Fn(&Json) -> ApiResult<T>,
) -> ApiResult<Option<T>> {
    match m.get(key) {
        None | Some(Json::Null) => Ok(None),
        Some(v) => f(v).map(Some),
    }
}

/// A number as Magento prints it: integral values without a fraction.
pub(crate) fn number(f: f64) -> Json {
    if f.fract() == 0.0 && f.abs() < 1e15 {
        Json::from(f as i64)
    } else {
        Json::from(f)
    }
}

/// A path parameter declared `int`: `"000000101"` is 101, `"abc"` a 400.
pub(crate) fn path_int(s: &str) -> ApiResult<i64> {
    to_int(&Json::String(s.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn scalars_convert_like_php() {
        assert_eq!(to_int(&json!("000000101")).unwrap(), 101);
        assert_eq!(to_float(&json!("12.50")).unwrap(), 12.5);
        assert!(to_int(&json!("abc")).is_err());
        assert!(to_float(&json!([1])).is_err());
        assert!(to_bool(&json!("true")).unwrap());
        assert_eq!(to_text(&json!(12)).unwrap(), "12");
    }

    #[test]
    fn bodies_that_are_not_json_are_decoding_errors() {
        assert_eq!(parse_body(b"{nope").unwrap_err().message, "Decoding error.");
        assert!(parse_body(b"").unwrap().is_empty());
        let body = parse_body(br#"{"x":1}"#).unwrap();
        assert_eq!(
            required(&body, "product").unwrap_err().params(),
            Some(&json!({"fieldName": "product"}))
        );
    }

    #[test]
    fn unknown_properties_are_refused() {
        let v = json!({"sku": "A", "colour": "red"});
        let e = object(&v, PRODUCT_CLASS, PRODUCT_FIELDS).unwrap_err();
        assert_eq!(e.status, 400);
        assert!(e.message.contains("getColour"));
    }
}
