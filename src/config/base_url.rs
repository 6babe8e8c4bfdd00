//! A target's `base_url`, checked by the `url` crate.

use url::{Host, Url};

/// Why a `base_url` was refused. A message quotes the URL except when it
/// carries credentials.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(super) enum BaseUrlError {
    #[error("\"{0}\" must start with http:// or https://")]
    Scheme(String),
    #[error("must not carry credentials (user:password@); use auth")]
    Credentials,
    #[error("\"{0}\" must not have a query or fragment")]
    QueryOrFragment(String),
    #[error("\"{0}\" must not contain spaces")]
    Spaces(String),
    #[error("\"{0}\" has no host")]
    NoHost(String),
    #[error("\"{0}\" has a bad port")]
    Port(String),
    #[error("\"{url}\" is not a URL: {reason}")]
    Malformed {
        url: String,
        reason: url::ParseError,
    },
}

/// `http://` or `https://`, a host, no credentials, query or fragment.
/// Returns the URL as written without trailing `/`: the state store keys
/// exported orders by it, so a spelling `url` would normalise (an upper-case
/// host, a default port) must stay the one the operator wrote.
pub(super) fn check(raw: &str) -> Result<String, BaseUrlError> {
    let text = raw.trim();
    // Before any parse, so no later message can quote the credentials.
    let after_scheme = text.split_once("://").map_or(text, |(_, rest)| rest);
    let authority = after_scheme
        .split(['/', '?', '#'])
        .next()
        .unwrap_or_default();
    if authority.contains('@') {
        return Err(BaseUrlError::Credentials);
    }
    if text.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(BaseUrlError::Spaces(text.to_string()));
    }
    if !text.starts_with("http://") && !text.starts_with("https://") {
        return Err(BaseUrlError::Scheme(text.to_string()));
    }
    let url = Url::parse(text).map_err(|reason| match reason {
        url::ParseError::EmptyHost => BaseUrlError::NoHost(text.to_string()),
        url::ParseError::InvalidPort => BaseUrlError::Port(text.to_string()),
        reason => BaseUrlError::Malformed {
            url: text.to_string(),
            reason,
        },
    })?;
    if url.query().is_some() || url.fragment().is_some() {
        return Err(BaseUrlError::QueryOrFragment(text.to_string()));
    }
    if url.port() == Some(0) {
        return Err(BaseUrlError::Port(text.to_string()));
    }
    Ok(text.trim_end_matches('/').to_string())
}

/// Whether requests to `base_url` travel unencrypted beyond this machine:
/// `http://` to a host other than loopback (credentials and data readable
/// on the way). Allowed, but worth a warning.
pub(super) fn plaintext_beyond_loopback(base_url: &str) -> bool {
    let Ok(url) = Url::parse(base_url) else {
        return false;
    };
    if url.scheme() != "http" {
        return false;
    }
    match url.host() {
        Some(Host::Domain(d)) => !d.eq_ignore_ascii_case("localhost"),
        Some(Host::Ipv4(ip)) => !ip.is_loopback(),
        Some(Host::Ipv6(ip)) => !ip.is_loopback(),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plaintext_is_told_apart_from_loopback() {
        for url in [
            "http://127.0.0.1:8089",
            "http://localhost/m2",
            "http://[::1]:8089",
            "https://shop.example.com",
        ] {
            assert!(!plaintext_beyond_loopback(url), "{url}");
        }
        for url in ["http://shop.example.com", "http://10.0.0.5:8080/m2"] {
            assert!(plaintext_beyond_loopback(url), "{url}");
        }
    }

    #[test]
    fn written_spelling_is_kept() {
        assert_eq!(
            check("http://Shop.Example.com:80/m2/"),
            Ok("http://Shop.Example.com:80/m2".to_string())
        );
        assert_eq!(
            check("http://h:0"),
            Err(BaseUrlError::Port("http://h:0".into()))
        );
    }
}
