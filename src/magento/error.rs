//! What can go wrong talking to Magento, and Magento's own error messages
//! with their `%1` / `%name` placeholders filled from `parameters`.

use serde_json::Value as Json;

#[derive(Debug, Clone, thiserror::Error, PartialEq)]
pub(crate) enum ApiError {
    /// Magento refused the request (4xx other than 401/404/429): recorded
    /// against the entity, which stays unapplied.
    #[error("{status} {message}")]
    Rejected { status: u16, message: String },
    #[error("404 {message}")]
    NotFound { message: String },
    /// Credentials refused, even after fetching a new token.
    #[error("401 {message}")]
    Unauthorized { message: String },
    /// Magento refused the target's credentials themselves: nothing is
    /// sent to it before `until` (Unix seconds; see `signin`).
    #[error("Magento refuses the credentials: {message}{hint}; ponte signs in again after {at} UTC", hint = two_factor_hint(message), at = crate::magento::time::format(*until as i64))]
    CredentialsRefused { message: String, until: u64 },
    /// 429, 5xx, timeouts and connection errors that outlasted the retries.
    #[error("gave up after {attempts} attempts: {last}")]
    Unavailable { attempts: u32, last: String },
    /// Nothing was sent: the target's configuration lacks a mapping the
    /// change needs. Not Magento's word, so it carries no HTTP status.
    #[error("not sent, the configuration lacks a mapping: {0}")]
    Configuration(String),
    /// The shop's TLS certificate is refused: permanent until the operator
    /// fixes the certificate (or turns `verify_tls` off), so not retried.
    #[error("the shop's TLS certificate is refused ({0}): give the shop a certificate this machine trusts, add its authority to this machine's trust store, or set verify_tls = false for this target (not retried until then)")]
    Certificate(String),
    /// A response ponte cannot read.
    #[error("unexpected response: {0}")]
    Protocol(String),
}

/// Magento 2.4's two-factor authentication (on by default) refuses admin
/// users a token through the plain endpoint, whatever their password.
fn two_factor_hint(message: &str) -> &'static str {
    let m = message.to_ascii_lowercase();
    if m.contains("2fa") || m.contains("two-factor") {
        " (two-factor authentication is on in this Magento, so an admin user gets no token here: \
         give the target an integration token instead, see the README's \"Credentials\")"
    } else {
        ""
    }
}

impl ApiError {
    pub(crate) fn is_not_found(&self) -> bool {
        matches!(self, ApiError::NotFound { .. })
    }
}

/// Magento's message with its placeholders filled: `%1`, `%2`... from a
/// `parameters` list, `%name` from a `parameters` object.
pub(crate) fn magento_message(body: &Json) -> Option<String> {
    let template = body.get("message")?.as_str()?;
    let mut message = template.to_string();
    match body.get("parameters") {
        Some(Json::Array(list)) => {
            // Highest index first, so that %1 does not eat the start of %10.
            for (i, p) in list.iter().enumerate().rev() {
                message = message.replace(&format!("%{}", i + 1), &param_text(p));
            }
        }
        Some(Json::Object(map)) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort_by_key(|k| std::cmp::Reverse(k.len()));
            for k in keys {
                message = message.replace(&format!("%{k}"), &param_text(&map[k]));
            }
        }
        _ => {}
    }
    Some(message)
}

fn param_text(v: &Json) -> String {
    match v {
        Json::String(s) => s.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn fills_positional_and_named_placeholders() {
        let b = json!({"message": "The \"%1\" attribute value is empty. Set %2 and %10.", "parameters": ["sku", "it", "x", 4, 5, 6, 7, 8, 9, "ten"]});
        assert_eq!(
            magento_message(&b).unwrap(),
            "The \"sku\" attribute value is empty. Set it and ten."
        );
        let b = json!({"message": "\"%fieldName\" is required. Enter and try again.", "parameters": {"fieldName": "product"}});
        assert_eq!(
            magento_message(&b).unwrap(),
            "\"product\" is required. Enter and try again."
        );
        assert_eq!(magento_message(&json!({"x": 1})), None);
    }
}
