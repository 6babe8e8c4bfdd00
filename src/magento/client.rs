//! The Magento 2 REST client of one target: authentication, timeouts,
//! bounded concurrency, and retries with exponential backoff and jitter on
//! 429, 5xx, timeouts and connection errors. Secrets never reach a log line
//! or an error message: they live in `SecretString` and the request headers.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::Value as Json;
use tokio::sync::{Mutex, OwnedSemaphorePermit, Semaphore};

use super::error::{magento_message, ApiError};
use super::signin::{Hold, SignIn};
use crate::config::{Auth, SecretString, Target};

const BACKOFF_BASE: Duration = Duration::from_millis(200);
const BACKOFF_CAP: Duration = Duration::from_secs(30);

pub(crate) struct RestClient {
    http: reqwest::Client,
    /// `https://shop/rest/<store>`
    root: String,
    /// `https://shop/rest`, for calls in another scope (`all`).
    rest: String,
    target: String,
    auth: Auth,
    token: Mutex<Option<SecretString>>,
    sign_in: SignIn,
    retries: u32,
    permits: Arc<Semaphore>,
}

impl RestClient {
    /// `state_dir` keeps an admin token and a refusal of the credentials
    /// from one command to the next (see `signin`); without it, they live
    /// as long as the client.
    pub fn new(target: &Target, state_dir: Option<&std::path::Path>) -> anyhow::Result<RestClient> {
        if !target.verify_tls {
            tracing::warn!(
                target = %target.name,
                "TLS CERTIFICATE VERIFICATION IS OFF for this target: anyone on the path can read its credentials and data"
            );
        }
        if target.plaintext_beyond_loopback() {
            tracing::warn!(
                target = %target.name,
                base_url = %target.base_url,
                "PLAIN HTTP to a host other than this machine: anyone on the path can read this target's credentials and data; use https://"
            );
        }
        let http = reqwest::Client::builder()
            .connect_timeout(target.connect_timeout)
            .timeout(target.request_timeout)
            .danger_accept_invalid_certs(!target.verify_tls)
            // Small requests answered fast: no waiting to coalesce packets.
            .tcp_nodelay(true)
            .user_agent(concat!("ponte/", env!("CARGO_PKG_VERSION")))
            .build()?;
        let (token, sign_in) = match &target.auth {
            Auth::Token(secret) => {
                let token = secret.resolve()?;
                let sign_in =
                    SignIn::open(state_dir, &target.name, &[&target.base_url, token.expose()]);
                (Some(token), sign_in)
            }
            Auth::Admin { username, password } => {
                let password = password.resolve()?;
                let sign_in = SignIn::open(
                    state_dir,
                    &target.name,
                    &[&target.base_url, username, password.expose()],
                );
                (sign_in.token(), sign_in)
            }
        };
        Ok(RestClient {
            http,
            root: format!("{}/rest/{}", target.base_url, target.store_code),
            rest: format!("{}/rest", target.base_url),
            target: target.name.clone(),
            auth: target.auth.clone(),
            token: Mutex::new(token),
            sign_in,
            retries: target.retries,
            permits: Arc::new(Semaphore::new(target.concurrency.max(1))),
        })
    }

    /// Magento's refusal of the credentials, as the error every call gets
    /// while it holds.
    pub(crate) fn refusal(&self) -> Option<String> {
        self.sign_in.hold().map(|h| refused(h).to_string())
    }

    /// A bearer token: the integration token, or one fetched for the admin
    /// user. `stale` is a token Magento just refused: a new one is fetched
    /// unless another task already did. Nothing is sent while Magento's
    /// refusal of the credentials holds.
    async fn bearer(&self, stale: Option<&SecretString>) -> Result<SecretString, ApiError> {
        let mut slot = self.token.lock().await;
        if let Some(hold) = self.sign_in.hold() {
            return Err(refused(hold));
        }
        let fresh = slot
            .as_ref()
            .filter(|t| stale.is_none_or(|s| s.expose() != t.expose()));
        if let Some(t) = fresh {
            return Ok(t.clone());
        }
        let Auth::Admin { username, password } = &self.auth else {
            // An integration token cannot be renewed: Magento refuses it.
            let message = match slot.as_ref() {
                Some(_) => "the integration token was refused".to_string(),
                None => "no token".to_string(),
            };
            return Err(refused(self.sign_in.refused(&message)));
        };
        if let Some(s) = stale {
            self.sign_in.forget_token(s);
        }
        let password = password.resolve().map_err(|e| ApiError::Unauthorized {
            message: e.to_string(),
        })?;
        let body = serde_json::json!({ "username": username, "password": password.expose() });
        let url = format!("{}/V1/integration/admin/token", self.root);
        let token = match self
            .send_once(Method::POST, &url, Some(&body), &[], None)
            .await
        {
            Ok(Json::String(t)) => SecretString::new(t),
            Ok(_) => {
                return Err(ApiError::Protocol(
                    "the token endpoint did not answer a string".into(),
                ))
            }
            // Whatever the token endpoint refuses for good (wrong
            // password, a locked user, two-factor authentication wanted,
            // 400 or 401 by Magento version) would be refused again: hold.
            Err(Attempt::Final(
                ApiError::Unauthorized { message } | ApiError::Rejected { message, .. },
            )) => {
                *slot = None;
                return Err(refused(self.sign_in.refused(&message)));
            }
            Err(Attempt::Final(e)) => return Err(e),
            Err(Attempt::Retry(e)) => {
                return Err(ApiError::Unavailable {
                    attempts: 1,
                    last: format!("token: {e}"),
                })
            }
        };
        self.sign_in.accepted(Some(&token));
        *slot = Some(token.clone());
        Ok(token)
    }

    pub(crate) async fn get(
        &self,
        path: &str,
        query: &[(String, String)],
    ) -> Result<Json, ApiError> {
        self.call(Method::GET, path, None, query).await
    }

    /// One API call with retries. `path` is below `/rest/<store>`.
    pub(crate) async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<&Json>,
        query: &[(String, String)],
    ) -> Result<Json, ApiError> {
        let url = format!("{}{}", self.root, path);
        self.call_url(method, &url, path, body, query).await
    }

    /// One API call with retries in the scope of store `store` (`all` for
    /// global values) rather than the target's own.
    pub(crate) async fn call_in(
        &self,
        store: &str,
        method: Method,
        path: &str,
        body: Option<&Json>,
        query: &[(String, String)],
    ) -> Result<Json, ApiError> {
        let url = format!("{}/{store}{path}", self.rest);
        self.call_url(method, &url, path, body, query).await
    }

    /// A request that creates something (a shipment, an invoice, a
    /// customer, an option, a comment) and so must not be sent twice.
    /// Magento may apply a request and its answer be lost (a timeout, a
    /// dropped connection, a 5xx from a proxy): before each resend, and
    /// before giving up, `applied` asks Magento whether an earlier attempt
    /// took effect. `Some(value)` ends the call as if Magento had answered
    /// `value`; `None` lets the resend go. A resend that Magento refuses
    /// ("already exists", "does not allow a shipment") is asked about the
    /// same way, since that is how Magento says an attempt took effect.
    /// The first attempt goes unasked: callers look before they create,
    /// and most requests are answered.
    pub(crate) async fn create<C, Fut>(
        &self,
        method: Method,
        path: &str,
        body: Option<&Json>,
        applied: C,
    ) -> Result<Json, ApiError>
    where
        C: Fn() -> Fut,
        Fut: Future<Output = Result<Option<Json>, ApiError>>,
    {
        let url = format!("{}{}", self.root, path);
        self.send(method, &url, path, body, &[], Some(&applied))
            .await
    }

    async fn call_url(
        &self,
        method: Method,
        url: &str,
        path: &str,
        body: Option<&Json>,
        query: &[(String, String)],
    ) -> Result<Json, ApiError> {
        self.send::<Unchecked, _>(method, url, path, body, query, None)
            .await
    }

    async fn permit(&self) -> Result<OwnedSemaphorePermit, ApiError> {
        Arc::clone(&self.permits)
            .acquire_owned()
            .await
            .map_err(|_| ApiError::Protocol("client closed".into()))
    }

    /// Sends with retries; with `applied`, see [`RestClient::create`].
    async fn send<C, Fut>(
        &self,
        method: Method,
        url: &str,
        path: &str,
        body: Option<&Json>,
        query: &[(String, String)],
        applied: Option<&C>,
    ) -> Result<Json, ApiError>
    where
        C: Fn() -> Fut,
        Fut: Future<Output = Result<Option<Json>, ApiError>>,
    {
        let mut permit = Some(self.permit().await?);
        let mut stale: Option<SecretString> = None;
        let mut attempt: u32 = 0;
        // Why the last attempt went unanswered: it may have taken effect.
        let mut unanswered: Option<String> = None;
        loop {
            if let (Some(applied), Some(last)) = (applied, &unanswered) {
                // The check's own requests take permits: with this one
                // held, a client of concurrency 1 would wait forever.
                drop(permit.take());
                if let Some(done) = self.ask(applied, &method, path, attempt, last).await? {
                    return Ok(done);
                }
                permit.replace(self.permit().await?);
            }
            let resend = unanswered.take().is_some();
            attempt += 1;
            let token = self.bearer(stale.as_ref()).await?;
            match self
                .send_once(method.clone(), url, body, query, Some(&token))
                .await
            {
                Ok(json) => {
                    self.sign_in.answered();
                    return Ok(json);
                }
                Err(Attempt::Final(ApiError::Unauthorized { message })) => {
                    let admin = matches!(self.auth, Auth::Admin { .. });
                    if stale.is_some() || !admin {
                        // Magento answers a bad token and a resource the
                        // user may not use with the same 401. A token
                        // Magento just gave, or one that worked before, is
                        // good: this call alone is refused. An integration
                        // token that never worked is the credentials.
                        if admin || self.sign_in.worked() {
                            return Err(ApiError::Unauthorized { message });
                        }
                        return Err(refused(self.sign_in.refused(&message)));
                    }
                    // Admin tokens expire: fetch a new one, once. Refused,
                    // this attempt changed nothing.
                    stale = Some(token);
                    attempt -= 1;
                }
                Err(Attempt::Final(e @ ApiError::Rejected { .. })) if resend => {
                    if let Some(applied) = applied {
                        drop(permit.take());
                        let last = e.to_string();
                        if let Ok(Some(done)) =
                            self.ask(applied, &method, path, attempt, &last).await
                        {
                            return Ok(done);
                        }
                    }
                    return Err(e);
                }
                Err(Attempt::Final(e)) => return Err(e),
                Err(Attempt::Retry(last)) => {
                    if attempt > self.retries {
                        if let Some(applied) = applied {
                            drop(permit.take());
                            if let Some(done) =
                                self.ask(applied, &method, path, attempt, &last).await?
                            {
                                return Ok(done);
                            }
                        }
                        return Err(ApiError::Unavailable {
                            attempts: attempt,
                            last,
                        });
                    }
                    let delay = backoff(attempt);
                    tracing::debug!(target = %self.target, %method, path, attempt, ?delay, error = %last, "retrying");
                    tokio::time::sleep(delay).await;
                    unanswered = Some(last);
                }
            }
        }
    }

    /// Whether an earlier attempt of a creating request took effect, which
    /// went unanswered with `last` after `attempts`. Magento unable to
    /// tell is an error naming both: the request is not sent blindly.
    async fn ask<C, Fut>(
        &self,
        applied: &C,
        method: &Method,
        path: &str,
        attempts: u32,
        last: &str,
    ) -> Result<Option<Json>, ApiError>
    where
        C: Fn() -> Fut,
        Fut: Future<Output = Result<Option<Json>, ApiError>>,
    {
        match applied().await {
            Ok(Some(done)) => {
                tracing::info!(target = %self.target, %method, path, attempts, "Magento had applied a request whose answer was lost ({last}): not sent again");
                Ok(Some(done))
            }
            Ok(None) => Ok(None),
            Err(e) => Err(ApiError::Unavailable {
                attempts,
                last: format!("{last}; whether it took effect is unknown: {e}"),
            }),
        }
    }

    async fn send_once(
        &self,
        method: Method,
        url: &str,
        body: Option<&Json>,
        query: &[(String, String)],
        token: Option<&SecretString>,
    ) -> Result<Json, Attempt> {
        let mut req = self.http.request(method, url).query(query);
        if let Some(t) = token {
            req = req.bearer_auth(t.expose());
        }
        if let Some(b) = body {
            req = req.json(b);
        }
        let started = std::time::Instant::now();
        let sent = req.send().await;
        let took = started.elapsed().as_secs_f64();
        let answered = sent.as_ref().ok().map(|r| r.status().as_u16());
        crate::telemetry::metrics::get().request(&self.target, url, answered, took);
        let response = match sent {
            Ok(r) => r,
            Err(e) => {
                if let Some(problem) = certificate_problem(&e) {
                    return Err(Attempt::Final(ApiError::Certificate(problem)));
                }
                // reqwest's message can name the URL but never the headers.
                return Err(Attempt::Retry(transport_error(e)));
            }
        };
        let status = response.status();
        let retry_after = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|s| s.parse::<u64>().ok());
        let bytes = match response.bytes().await {
            Ok(b) => b,
            Err(e) => return Err(Attempt::Retry(transport_error(e))),
        };
        let json: Option<Json> = serde_json::from_slice(&bytes).ok();
        if status.is_success() {
            return json
                .ok_or_else(|| Attempt::Final(ApiError::Protocol(format!("{status}: not JSON"))));
        }
        let message = json
            .as_ref()
            .and_then(magento_message)
            .unwrap_or_else(|| String::from_utf8_lossy(&bytes).chars().take(300).collect());
        match status {
            StatusCode::TOO_MANY_REQUESTS => {
                if let Some(secs) = retry_after {
                    tokio::time::sleep(Duration::from_secs(secs.min(60))).await;
                }
                Err(Attempt::Retry(format!("429 {message}")))
            }
            s if s.is_server_error() => Err(Attempt::Retry(format!("{} {message}", s.as_u16()))),
            StatusCode::UNAUTHORIZED => Err(Attempt::Final(ApiError::Unauthorized { message })),
            StatusCode::NOT_FOUND => Err(Attempt::Final(ApiError::NotFound { message })),
            s => Err(Attempt::Final(ApiError::Rejected {
                status: s.as_u16(),
                message,
            })),
        }
    }
}

fn refused(hold: Hold) -> ApiError {
    ApiError::CredentialsRefused {
        message: hold.message,
        until: hold.until,
    }
}

/// The check of a request that creates nothing.
type Unchecked = fn() -> std::future::Ready<Result<Option<Json>, ApiError>>;

enum Attempt {
    Final(ApiError),
    Retry(String),
}

fn transport_error(e: reqwest::Error) -> String {
    let kind = if e.is_timeout() {
        "timeout"
    } else if e.is_connect() {
        "connection failed"
    } else {
        "connection error"
    };
    // The URL has no secret in it; the query is searchCriteria at most.
    let e = e.without_url();
    let mut text = format!("{kind}: {e}");
    // The cause ("Connection refused", a DNS failure) is further down.
    let mut source = std::error::Error::source(&e);
    while let Some(s) = source {
        let said = s.to_string();
        if !text.contains(&said) {
            text.push_str(": ");
            text.push_str(&said);
        }
        source = s.source();
    }
    text
}

/// rustls' word on a refused certificate, found down the error's sources:
/// reqwest's own message says only "error sending request".
fn certificate_problem(e: &reqwest::Error) -> Option<String> {
    let mut next: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = next {
        if let Some(tls @ rustls::Error::InvalidCertificate(_)) =
            err.downcast_ref::<rustls::Error>()
        {
            return Some(tls.to_string());
        }
        // An io::Error's source skips the error it wraps: look inside.
        next = match err.downcast_ref::<std::io::Error>() {
            Some(io) => io
                .get_ref()
                .map(|inner| inner as &(dyn std::error::Error + 'static)),
            None => err.source(),
        };
    }
    None
}

/// Exponential backoff with full jitter: a random wait up to base * 2^n,
/// so that many clients retrying at once do not retry in step.
fn backoff(attempt: u32) -> Duration {
    let ceiling = BACKOFF_BASE
        .saturating_mul(1u32 << attempt.min(16))
        .min(BACKOFF_CAP);
    let millis = ceiling.as_millis() as u64;
    Duration::from_millis(millis / 2 + fastrand::u64(0..=millis / 2))
}

/// `searchCriteria` in Magento's query-string form. Filters in one group
/// are ORed; groups are ANDed.
#[derive(Debug, Default, Clone)]
pub(crate) struct SearchCriteria {
    groups: Vec<Vec<(String, String, String)>>,
    sort: Vec<(String, String)>,
    pub page_size: Option<u32>,
    pub current_page: Option<u32>,
}

impl SearchCriteria {
    pub(crate) fn filter(mut self, field: &str, value: &str, condition: &str) -> Self {
        self.groups
            .push(vec![(field.into(), value.into(), condition.into())]);
        self
    }

    /// One group of filters, any of which may match (`field`, `value`,
    /// `condition`): Magento ORs the filters of a group.
    pub(crate) fn filter_any(mut self, filters: &[(&str, &str, &str)]) -> Self {
        self.groups.push(
            filters
                .iter()
                .map(|(f, v, c)| (f.to_string(), v.to_string(), c.to_string()))
                .collect(),
        );
        self
    }

    pub(crate) fn sort(mut self, field: &str, direction: &str) -> Self {
        self.sort.push((field.into(), direction.into()));
        self
    }

    pub(crate) fn page(mut self, size: u32, current: u32) -> Self {
        self.page_size = Some(size);
        self.current_page = Some(current);
        self
    }

    pub(crate) fn to_query(&self) -> Vec<(String, String)> {
        let mut q = Vec::new();
        for (g, group) in self.groups.iter().enumerate() {
            for (f, (field, value, cond)) in group.iter().enumerate() {
                let p = format!("searchCriteria[filterGroups][{g}][filters][{f}]");
                q.push((format!("{p}[field]"), field.clone()));
                q.push((format!("{p}[value]"), value.clone()));
                q.push((format!("{p}[conditionType]"), cond.clone()));
            }
        }
        for (i, (field, dir)) in self.sort.iter().enumerate() {
            q.push((
                format!("searchCriteria[sortOrders][{i}][field]"),
                field.clone(),
            ));
            q.push((
                format!("searchCriteria[sortOrders][{i}][direction]"),
                dir.clone(),
            ));
        }
        if let Some(s) = self.page_size {
            q.push(("searchCriteria[pageSize]".into(), s.to_string()));
        }
        if let Some(c) = self.current_page {
            q.push(("searchCriteria[currentPage]".into(), c.to_string()));
        }
        q
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_is_capped() {
        for attempt in 1..20 {
            let d = backoff(attempt);
            let ceiling = BACKOFF_BASE
                .saturating_mul(1 << attempt.min(16))
                .min(BACKOFF_CAP);
            assert!(d <= ceiling && d >= ceiling / 2, "{attempt}: {d:?}");
        }
    }

    #[test]
    fn search_criteria_query_form() {
        let q = SearchCriteria::default()
            .filter("email", "a@b.it", "eq")
            .sort("updated_at", "ASC")
            .page(100, 2)
            .to_query();
        assert_eq!(
            q[0],
            (
                "searchCriteria[filterGroups][0][filters][0][field]".into(),
                "email".into()
            )
        );
        assert_eq!(q[2].1, "eq");
        assert_eq!(q[4].1, "ASC");
        assert_eq!(q[6], ("searchCriteria[currentPage]".into(), "2".into()));
        let q = SearchCriteria::default()
            .filter_any(&[("updated_at", "t", "gt"), ("entity_id", "7", "gt")])
            .to_query();
        assert_eq!(
            q[3],
            (
                "searchCriteria[filterGroups][0][filters][1][field]".into(),
                "entity_id".into()
            )
        );
    }
}
