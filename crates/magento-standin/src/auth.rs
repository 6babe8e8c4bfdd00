//! `POST /V1/integration/admin/token`: an admin user's name and password
//! for a bearer token (a JSON string). Wrong credentials are Magento's 401
//! "The account sign-in was incorrect...". As Magento's token request
//! throttler (`oauth/authentication_lock`: 6 failures, 1800 s), the sixth
//! failure in a row locks the user name: every request for it, right
//! password included, then gets the same 401 until the lock expires.
//! Bearer tokens are checked by the server before any other route (see
//! `server.rs`).

use serde_json::json;

use super::errors::ApiError;
use super::input::{self, to_text};
use super::router::{Reply, Request, Route};
use super::state::ShopState;

/// Magento's defaults for `oauth/authentication_lock`.
const MAX_FAILURES: u32 = 6;
const LOCK_SECONDS: i64 = 1800;

/// This resource's routes, below `/V1`.
pub(crate) const ROUTES: &[Route] = &[Route::open("POST", "/integration/admin/token", admin_token)];

/// The 401 for a missing, unknown or expired token.
pub(crate) fn unauthorized(resource: &str) -> ApiError {
    ApiError::new(401, "The consumer isn't authorized to access %resources.")
        .with_named(json!({ "resources": resource }))
}

/// The bearer token of an `Authorization` header value.
pub(crate) fn bearer(header: &str) -> Option<&str> {
    let (scheme, token) = header.trim().split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

fn admin_token(state: &mut ShopState, req: &Request) -> Reply {
    let body = input::parse_body(req.body)?;
    let missing: Vec<ApiError> = ["username", "password"]
        .iter()
        .filter(|k| body.get(**k).is_none_or(|v| v.is_null()))
        .map(|k| ApiError::required_field(k))
        .collect();
    if let Some(e) = ApiError::aggregate(missing) {
        return Err(e);
    }
    let username = to_text(input::required(&body, "username")?)?;
    let password = to_text(input::required(&body, "password")?)?;
    let refused = || {
        ApiError::new(
            401,
            "The account sign-in was incorrect or your account is disabled temporarily. Please wait and try again later.",
        )
    };
    let now = state.now_secs();
    let (failures, locked_until) = state
        .sign_in_failures
        .get(&username)
        .copied()
        .unwrap_or((0, 0));
    if locked_until > now {
        return Err(refused());
    }
    let ok = state
        .admin_users
        .iter()
        .any(|u| u.username == username && u.password == password);
    if !ok {
        let failures = failures + 1;
        let entry = if failures >= MAX_FAILURES {
            (0, now + LOCK_SECONDS)
        } else {
            (failures, 0)
        };
        state.sign_in_failures.insert(username, entry);
        return Err(refused());
    }
    state.sign_in_failures.remove(&username);
    if state.two_factor_auth {
        // Magento_TwoFactorAuth's plugin on the admin token service.
        return Err(ApiError::new(
            401,
            "Please use the 2fa provider-specific endpoints to obtain a token.",
        ));
    }
    Ok(json!(state.issue_token()))
}

#[cfg(test)]
mod tests {
    use super::super::fixture::Fixture;
    use super::super::in_process::test_call;
    use super::*;

    #[test]
    fn admin_credentials_buy_a_token() {
        let mut s = ShopState::from_fixture(Fixture::default());
        let path = "/V1/integration/admin/token";
        let t = test_call(
            &mut s,
            "POST",
            path,
            "",
            &json!({"username": "admin", "password": "admin123"}),
        )
        .unwrap();
        assert!(s.token_valid(t.as_str().unwrap()));
        let e = test_call(
            &mut s,
            "POST",
            path,
            "",
            &json!({"username": "admin", "password": "x"}),
        )
        .unwrap_err();
        assert_eq!(e.status, 401);
        let e = test_call(&mut s, "POST", path, "", &json!({})).unwrap_err();
        assert_eq!(e.errors.len(), 2);
    }

    #[test]
    fn six_failures_lock_the_user() {
        let mut s = ShopState::from_fixture(Fixture::default());
        let path = "/V1/integration/admin/token";
        for _ in 0..6 {
            let bad = json!({"username": "admin", "password": "x"});
            assert_eq!(
                test_call(&mut s, "POST", path, "", &bad)
                    .unwrap_err()
                    .status,
                401
            );
        }
        let good = json!({"username": "admin", "password": "admin123"});
        assert_eq!(
            test_call(&mut s, "POST", path, "", &good)
                .unwrap_err()
                .status,
            401
        );
        s.advance_clock(1801);
        assert!(test_call(&mut s, "POST", path, "", &good).is_ok());
    }

    #[test]
    fn bearer_headers() {
        assert_eq!(bearer("Bearer abc"), Some("abc"));
        assert_eq!(bearer("bearer  abc "), Some("abc"));
        assert_eq!(bearer("Basic abc"), None);
        assert_eq!(bearer("Bearer"), None);
    }
}
