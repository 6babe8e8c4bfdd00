//! Magento's REST error bodies: the untranslated phrase with its `%1` or
//! `%name` placeholders left in, and the values beside it in `parameters`
//! (an array for positional placeholders, an object for named ones), as
//! `Magento\Framework\Webapi\ErrorProcessor` renders a `LocalizedException`.

use serde_json::{json, Map, Value as Json};

/// An error answer: HTTP status and Magento's JSON body.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    pub status: u16,
    pub message: String,
    pub parameters: Option<Box<Json>>,
    /// The nested errors of an aggregate exception (`InputException` with
    /// several errors, MSI's `ValidationException`).
    pub errors: Vec<Json>,
}

pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    pub fn new(status: u16, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            message: message.into(),
            parameters: None,
            errors: Vec::new(),
        }
    }

    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(400, message)
    }

    pub fn not_found(message: impl Into<String>) -> ApiError {
        ApiError::new(404, message)
    }

    /// Positional parameters, for `%1`, `%2`.
    pub fn with_args<I, S>(mut self, args: I) -> ApiError
    where
        I: IntoIterator<Item = S>,
        S: Into<Json>,
    {
        self.parameters = Some(Box::new(Json::Array(
            args.into_iter().map(Into::into).collect(),
        )));
        self
    }

    /// Named parameters, for `%fieldName`.
    pub fn with_named(mut self, params: Json) -> ApiError {
        self.parameters = Some(Box::new(params));
        self
    }

    pub fn with_errors(mut self, errors: Vec<Json>) -> ApiError {
        self.errors = errors;
        self
    }

    pub fn params(&self) -> Option<&Json> {
        self.parameters.as_deref()
    }

    pub fn body(&self) -> Json {
        let mut body = Map::new();
        body.insert("message".into(), json!(self.message));
        if !self.errors.is_empty() {
            body.insert("errors".into(), Json::Array(self.errors.clone()));
        }
        if let Some(p) = &self.parameters {
            body.insert("parameters".into(), (**p).clone());
        }
        Json::Object(body)
    }

    // The messages Magento uses again and again.

    /// `InputException::requiredField`.
    pub fn required_field(name: &str) -> ApiError {
        ApiError::bad_request("\"%fieldName\" is required. Enter and try again.")
            .with_named(json!({ "fieldName": name }))
    }

    /// `InputException::invalidFieldValue`.
    pub fn invalid_field_value(name: &str, value: &Json) -> ApiError {
        let value = match value {
            Json::String(s) => json!(s),
            other => json!(other.to_string()),
        };
        ApiError::bad_request("Invalid value of \"%value\" provided for the %fieldName field.")
            .with_named(json!({ "fieldName": name, "value": value }))
    }

    /// `NoSuchEntityException::singleField`.
    pub fn no_such_entity(field: &str, value: impl Into<Json>) -> ApiError {
        ApiError::not_found("No such entity with %fieldName = %fieldValue")
            .with_named(json!({ "fieldName": field, "fieldValue": value.into() }))
    }

    /// The service input processor's type conversion failure.
    pub fn invalid_type(value: &Json, expected: &str) -> ApiError {
        let shown = match value {
            Json::String(s) => s.clone(),
            other => other.to_string(),
        };
        ApiError::bad_request(
            "The \"%value\" value's type is invalid. The \"%type\" type was expected. Verify and try again.",
        )
        .with_named(json!({ "value": shown, "type": expected }))
    }

    /// A property the data interface has no getter for.
    pub fn unknown_property(property: &str, class: &str) -> ApiError {
        let camel = upper_camel(property);
        ApiError::bad_request(format!(
            "Property \"{camel}\" does not have accessor method \"get{camel}\" in class \"{class}\"."
        ))
    }

    pub fn no_route() -> ApiError {
        ApiError::not_found("Request does not match any route.")
    }

    /// What Magento shows for an exception it did not expect (production mode).
    pub fn internal(report: u64) -> ApiError {
        ApiError::new(
            500,
            format!(
                "Internal Error. Details are available in Magento log file. Report ID: webapi-{report:013x}"
            ),
        )
    }

    /// Several input errors at once: Magento's aggregate `InputException`.
    /// One error is shown alone; more become "One or more input exceptions
    /// have occurred." with the list under `errors`.
    pub fn aggregate(mut errs: Vec<ApiError>) -> Option<ApiError> {
        match errs.len() {
            0 => None,
            1 => errs.pop(),
            _ => {
                let list = errs
                    .iter()
                    .map(|e| {
                        let mut m = Map::new();
                        m.insert("message".into(), json!(e.message));
                        m.insert(
                            "parameters".into(),
                            e.params().cloned().unwrap_or_else(|| json!([])),
                        );
                        Json::Object(m)
                    })
                    .collect();
                Some(
                    ApiError::bad_request("One or more input exceptions have occurred.")
                        .with_errors(list),
                )
            }
        }
    }
}

/// `snake_case` to `UpperCamel`, as Magento names getters.
pub fn upper_camel(s: &str) -> String {
    s.split('_')
        .map(|part| {
            let mut c = part.chars();
            match c.next() {
                Some(f) => f.to_uppercase().collect::<String>() + c.as_str(),
                None => String::new(),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_keep_placeholders_and_parameters() {
        let e = ApiError::required_field("product");
        assert_eq!(
            e.body(),
            json!({"message": "\"%fieldName\" is required. Enter and try again.", "parameters": {"fieldName": "product"}})
        );
        let e = ApiError::not_found("The attribute with a \"%1\" attributeCode doesn't exist.")
            .with_args(["colour"]);
        assert_eq!(e.body()["parameters"], json!(["colour"]));
    }

    #[test]
    fn aggregates_list_their_errors() {
        assert_eq!(ApiError::aggregate(vec![]), None);
        let one = ApiError::aggregate(vec![ApiError::required_field("a")]).unwrap();
        assert!(one.errors.is_empty());
        let two = ApiError::aggregate(vec![
            ApiError::required_field("a"),
            ApiError::required_field("b"),
        ])
        .unwrap();
        assert_eq!(two.message, "One or more input exceptions have occurred.");
        assert_eq!(two.errors.len(), 2);
    }

    #[test]
    fn getters_are_upper_camel() {
        assert_eq!(upper_camel("attribute_set_id"), "AttributeSetId");
        assert_eq!(
            ApiError::unknown_property("colour", "Magento\\Catalog\\Api\\Data\\ProductInterface")
                .message,
            "Property \"Colour\" does not have accessor method \"getColour\" in class \"Magento\\Catalog\\Api\\Data\\ProductInterface\"."
        );
    }
}
