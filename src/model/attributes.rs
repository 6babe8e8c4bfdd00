//! The product attributes ponte writes to Magento, each fed by one field of
//! the ARTICOLI record: the one list both a target's `attributes` and the
//! reconcile step read.

/// ERP field -> Magento attribute, in the order a target lists them by
/// default. Fields not here (the parent, the kind) shape the product
/// rather than fill an attribute, and always go.
const FIELD_ATTRIBUTES: [(&str, &str); 10] = [
    ("name", "name"),
    ("description", "description"),
    ("price", "price"),
    ("weight", "weight"),
    ("active", "status"),
    ("vat_code", "tax_class_id"),
    ("ean", "ean"),
    ("brand", "brand"),
    ("size", "size"),
    ("color", "color"),
];

/// Product attributes a target may receive (`sku` is the key and always sent).
pub(crate) const PRODUCT_ATTRIBUTES: [&str; FIELD_ATTRIBUTES.len()] = {
    let mut out = [""; FIELD_ATTRIBUTES.len()];
    let mut i = 0;
    while i < FIELD_ATTRIBUTES.len() {
        out[i] = FIELD_ATTRIBUTES[i].1;
        i += 1;
    }
    out
};

/// The attributes a target may write for its own store view (a translated
/// name and description); every other one is global in Magento.
pub(crate) const STORE_VIEW_ATTRIBUTES: &[&str] = &["name", "description"];

/// Magento attributes ponte sets itself, from no ERP field: listing one in
/// `attributes` would promise what never happens, so it is refused with
/// this reason.
pub(crate) const SET_BY_PONTE: &[(&str, &str)] = &[(
    "visibility",
    "no ERP field holds it: ponte sets it itself when it creates a product or \
     changes its kind (catalog and search for simple products and configurable \
     parents, not visible individually for variants); remove it from attributes",
)];

/// Which Magento product attribute a product field becomes, for a target's
/// `attributes` list; `None` for the fields that shape the product.
pub(crate) fn product_attribute(field: &str) -> Option<&'static str> {
    FIELD_ATTRIBUTES
        .iter()
        .find(|(f, _)| *f == field)
        .map(|(_, attribute)| *attribute)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_attribute_has_one_field() {
        for attribute in PRODUCT_ATTRIBUTES {
            let fields = FIELD_ATTRIBUTES
                .iter()
                .filter(|(_, a)| *a == attribute)
                .count();
            assert_eq!(fields, 1, "{attribute}");
        }
        assert_eq!(product_attribute("vat_code"), Some("tax_class_id"));
        assert_eq!(product_attribute("active"), Some("status"));
        assert_eq!(product_attribute("parent_sku"), None);
        assert_eq!(PRODUCT_ATTRIBUTES[0], "name");
    }
}
