//! The HTTP side: a listener whose connections can be cut without an
//! answer, one handler that routes, authenticates, logs, applies the
//! faults and runs the resource handler under the shop's lock, and the
//! small control API under `/__standin/` (no token, no faults, not logged).

use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::connect_info::Connected;
use axum::extract::{
    ConnectInfo, DefaultBodyLimit, OriginalUri, Path, RawPathParams, Request, State,
};
use axum::http::{header, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, on, MethodFilter};
use axum::serve::{IncomingStream, Listener};
use axum::RequestPartsExt;
use axum::Router;
use serde_json::{json, Value as Json};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;

use super::auth;
use super::contract::{below_store, Contract};
use super::errors::ApiError;
use super::faults::{fault_body, Decision, Faults, Timer};
use super::router::{self, Route};
use super::state::ShopState;
use super::LoggedRequest;

/// What the server and the `StandIn` handle share.
pub(crate) struct Shared {
    pub(crate) state: Mutex<ShopState>,
    pub(crate) faults: Mutex<(Faults, fastrand::Rng)>,
    pub(crate) log: Mutex<Vec<LoggedRequest>>,
    pub(crate) timer: Timer,
    pub(crate) contract: Mutex<Option<Arc<dyn Contract>>>,
    pub(crate) violations: Mutex<Vec<String>>,
}

impl Shared {
    /// A shop without faults, contract or log yet (starts the timer thread).
    pub(crate) fn new(state: ShopState) -> std::io::Result<Shared> {
        Ok(Shared {
            state: Mutex::new(state),
            faults: Mutex::new((Faults::default(), fastrand::Rng::with_seed(0))),
            log: Mutex::new(Vec::new()),
            timer: Timer::start()?,
            contract: Mutex::new(None),
            violations: Mutex::new(Vec::new()),
        })
    }
}

/// The most requests the log keeps; past it the oldest half is dropped
/// (a long `ponte stand-in` run must not grow without bound).
pub(crate) const LOG_LIMIT: usize = 50_000;

fn log(shared: &Shared, entry: LoggedRequest) {
    let mut log = lock(&shared.log);
    if log.len() >= LOG_LIMIT {
        log.drain(..LOG_LIMIT / 2);
    }
    log.push(entry);
}

/// A lock that survives a panicking holder (the data is plain state).
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// The switch that cuts a connection.
#[derive(Clone, Debug)]
pub(crate) struct Conn {
    pub(crate) kill: Arc<AtomicBool>,
}

/// A TCP stream that, once killed, reads end-of-file and fails every
/// write: hyper then drops the connection without sending anything.
pub(crate) struct KillStream {
    inner: TcpStream,
    kill: Arc<AtomicBool>,
}

impl AsyncRead for KillStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if self.kill.load(Ordering::SeqCst) {
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for KillStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        if self.kill.load(Ordering::SeqCst) {
            return Poll::Ready(Err(io::Error::new(
                io::ErrorKind::BrokenPipe,
                "connection dropped by the stand-in",
            )));
        }
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

pub(crate) struct KillListener(pub TcpListener);

impl Listener for KillListener {
    type Io = KillStream;
    type Addr = Conn;

    async fn accept(&mut self) -> (KillStream, Conn) {
        loop {
            match self.0.accept().await {
                Ok((inner, _)) => {
                    let _ = inner.set_nodelay(true);
                    let kill = Arc::new(AtomicBool::new(false));
                    return (
                        KillStream {
                            inner,
                            kill: kill.clone(),
                        },
                        Conn { kill },
                    );
                }
                Err(e) => {
                    tracing::debug!("stand-in accept: {e}");
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            }
        }
    }

    fn local_addr(&self) -> io::Result<Conn> {
        self.0.local_addr()?;
        Ok(Conn {
            kill: Arc::new(AtomicBool::new(false)),
        })
    }
}

impl Connected<IncomingStream<'_, KillListener>> for Conn {
    fn connect_info(stream: IncomingStream<'_, KillListener>) -> Self {
        stream.remote_addr().clone()
    }
}

fn json_response(status: u16, body: &Json) -> Response {
    text_response(status, "application/json; charset=utf-8", php_json(body))
}

/// JSON as PHP's `json_encode` writes it with Magento's default flags:
/// `/` escaped as `\/`, every non-ASCII character as `\uXXXX` (UTF-16).
/// Outside strings JSON has neither, so escaping the whole text is safe.
pub(crate) fn php_json(v: &Json) -> String {
    let plain = v.to_string();
    let mut out = String::with_capacity(plain.len() + plain.len() / 8);
    for c in plain.chars() {
        if c == '/' {
            out.push_str("\\/");
        } else if c.is_ascii() {
            out.push(c);
        } else {
            let mut units = [0u16; 2];
            for u in c.encode_utf16(&mut units) {
                out.push_str(&format!("\\u{u:04x}"));
            }
        }
    }
    out
}

fn text_response(status: u16, content_type: &'static str, body: String) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut r = (status, body).into_response();
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    r
}

fn error_response(e: &ApiError) -> Response {
    json_response(e.status, &e.body())
}

/// The start of a body, for a violation's report.
fn excerpt(body: &Json) -> String {
    let text = body.to_string();
    match text.char_indices().nth(400) {
        Some((i, _)) => format!("{}...", &text[..i]),
        None => text,
    }
}

/// Serves until `stop` fires (or is dropped).
pub(crate) async fn serve(listener: TcpListener, shared: Arc<Shared>, stop: oneshot::Receiver<()>) {
    let app = axum::ServiceExt::<Request>::into_make_service_with_connect_info::<Conn>(app(shared));
    let server = axum::serve(KillListener(listener), app);
    tokio::select! {
        r = server => {
            if let Err(e) = r {
                tracing::warn!("stand-in server stopped: {e}");
            }
        }
        _ = stop => {}
    }
}

/// The whole HTTP application: every route under `/rest/V1` and
/// `/rest/{store}/V1`, the control API, and Magento's answers to what
/// matches nothing, behind the path tidying Magento does.
pub(crate) fn app(shared: Arc<Shared>) -> App {
    let mut api = Router::new();
    for route in router::all() {
        let route = *route;
        let Some(filter) = method_filter(route.method) else {
            continue;
        };
        let endpoint = on(
            filter,
            move |State(shared): State<Arc<Shared>>, req: Request| handle(route, shared, req),
        );
        api = api
            .route(&format!("/rest/V1{}", route.path), endpoint.clone())
            .route(&format!("/rest/{{store}}/V1{}", route.path), endpoint);
    }
    let api = api
        .route(
            "/__standin/{*rest}",
            any(
                |State(shared): State<Arc<Shared>>,
                 method: Method,
                 Path(rest): Path<String>,
                 body: Bytes| async move {
                    control(&shared, method.as_str(), &rest, &body)
                },
            ),
        )
        .fallback(unrouted)
        .method_not_allowed_fallback(unrouted)
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .with_state(shared);
    tower::ServiceExt::map_request(api, tidy as fn(Request) -> Request)
}

/// The application `app` builds.
pub(crate) type App = tower::util::MapRequest<Router, fn(Request) -> Request>;

const BODY_LIMIT: usize = 256 << 20;

fn method_filter(method: &str) -> Option<MethodFilter> {
    Some(match method {
        "GET" => MethodFilter::GET,
        "POST" => MethodFilter::POST,
        "PUT" => MethodFilter::PUT,
        "DELETE" => MethodFilter::DELETE,
        _ => return None,
    })
}

/// Magento splits the path on `/` and drops empty parts (a trailing `/`
/// or `//` still finds the route); axum matches the path as written, so
/// it is tidied first. The path as received is kept for the log.
fn tidy(mut req: Request) -> Request {
    let original = req.uri().clone();
    let path = original.path();
    if path.contains("//") || (path.len() > 1 && path.ends_with('/')) {
        let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
        let tidied = match original.query() {
            Some(q) => format!("/{}?{q}", segments.join("/")),
            None => format!("/{}", segments.join("/")),
        };
        if let Ok(uri) = tidied.parse::<Uri>() {
            *req.uri_mut() = uri;
        }
    }
    req.extensions_mut().insert(OriginalUri(original));
    req
}

async fn unrouted(OriginalUri(uri): OriginalUri) -> Response {
    error_response(&router::unmatched(uri.path()))
}

/// Marks a request made from inside the crate's tests: served without a
/// token, as the handlers were called directly before there was a router.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Trusted;

/// One API request through a matched route: the store, authentication,
/// the contract, the faults, the handler under the shop's lock, the log.
async fn handle(route: Route, shared: Arc<Shared>, req: Request) -> Response {
    let (mut parts, body) = req.into_parts();
    let uri = parts
        .extensions
        .get::<OriginalUri>()
        .map_or_else(|| parts.uri.clone(), |o| o.0.clone());
    let path = uri.path().to_string();
    let query = uri.query().unwrap_or("").to_string();
    let method = parts.method.clone();
    // axum answers HEAD on GET routes; Magento routes HEAD nowhere.
    if method == Method::HEAD {
        return error_response(&router::unmatched(&path));
    }
    let params: Vec<(String, String)> = match parts.extract::<RawPathParams>().await {
        Ok(params) => params
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        Err(_) => router::lossy_params(&route, &path),
    };
    let store = match params.iter().find(|(k, _)| k == "store") {
        Some((_, code)) => router::store_of(code),
        None => router::store_of("default"),
    };
    let Some(store) = store else {
        return error_response(&router::unmatched(&path));
    };
    let trusted = parts.extensions.get::<Trusted>().is_some();
    let conn = parts
        .extensions
        .get::<ConnectInfo<Conn>>()
        .map(|c| c.0.clone());
    let headers = parts.headers;
    if !route.anonymous && !trusted {
        let token = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(auth::bearer);
        let ok = token.is_some_and(|t| {
            let state = lock(&shared.state);
            state.token_valid(t) && !state.denied_resources.iter().any(|r| r == route.resource)
        });
        if !ok {
            return error_response(&auth::unauthorized(route.resource));
        }
    }
    let body = match axum::body::to_bytes(body, BODY_LIMIT).await {
        Ok(body) => body,
        Err(_) => {
            return text_response(
                413,
                "text/plain; charset=utf-8",
                "length limit exceeded".into(),
            )
        }
    };
    let logged_body = if body.iter().all(u8::is_ascii_whitespace) {
        Json::Null
    } else {
        serde_json::from_slice(&body)
            .unwrap_or_else(|_| Json::String(String::from_utf8_lossy(&body).into_owned()))
    };
    let contract = lock(&shared.contract).clone();
    let api_path = below_store(&path).to_string();
    if let Some(c) = &contract {
        let problems = c.request(method.as_str(), &api_path, &logged_body);
        if !problems.is_empty() {
            let e = ApiError::bad_request("%1").with_args([problems.join("; ")]);
            lock(&shared.violations).extend(problems.iter().map(|p| {
                format!(
                    "request {method} {path}: {p}\n    body: {}",
                    excerpt(&logged_body)
                )
            }));
            log(
                &shared,
                LoggedRequest {
                    method: method.to_string(),
                    path,
                    query,
                    body: logged_body,
                    status: 400,
                    lost_reply: false,
                },
            );
            return error_response(&e);
        }
    }
    let mut entry = LoggedRequest {
        method: method.to_string(),
        path: path.clone(),
        query: query.clone(),
        body: logged_body,
        status: 0,
        lost_reply: false,
    };
    let (latency, decision, report) = {
        let mut f = lock(&shared.faults);
        let (faults, dice) = &mut *f;
        let decision = faults.decide(dice);
        (faults.latency, decision, dice.u64(..))
    };
    if !latency.is_zero() {
        shared.timer.sleep(latency).await;
    }
    let response = match decision {
        Decision::Drop => {
            if let Some(conn) = &conn {
                conn.kill.store(true, Ordering::SeqCst);
            }
            entry.status = 0;
            log(&shared, entry);
            return text_response(500, "text/plain", String::new());
        }
        Decision::Error(status) => {
            let (content_type, text) = fault_body(status, report);
            entry.status = status;
            text_response(status, content_type, text)
        }
        Decision::Handle | Decision::LostReply => {
            let req = router::Request {
                params,
                query: &query,
                body: &body,
                store,
            };
            let result = {
                let mut state = lock(&shared.state);
                (route.handler)(&mut state, &req)
            };
            let (status, answer) = match result {
                Ok(v) => (200, v),
                Err(e) => (e.status, e.body()),
            };
            if let Some(c) = &contract {
                let problems = c.response(method.as_str(), &api_path, status, &answer);
                lock(&shared.violations).extend(
                    problems
                        .iter()
                        .map(|p| format!("answer {status} to {method} {api_path}: {p}")),
                );
            }
            entry.status = status;
            if decision == Decision::LostReply {
                // Applied above; the client gets no answer, and the log
                // says so with status 0, as for a dropped connection.
                if let Some(conn) = &conn {
                    conn.kill.store(true, Ordering::SeqCst);
                }
                entry.status = 0;
                entry.lost_reply = true;
                log(&shared, entry);
                return text_response(500, "text/plain", String::new());
            }
            json_response(status, &answer)
        }
    };
    tracing::debug!(method = %entry.method, path = %entry.path, status = entry.status, "stand-in");
    log(&shared, entry);
    response
}

/// `/__standin/faults` (GET, POST JSON with `latency_ms`, `error_rate`,
/// `error_statuses`, `drop_rate`, `lost_reply_rate`, `seed`), `/__standin/state`,
/// `/__standin/requests`, `/__standin/expire-tokens` (POST).
fn control(shared: &Shared, method: &str, rest: &str, body: &[u8]) -> Response {
    match (method, rest.trim_end_matches('/')) {
        ("GET", "state") => json_response(200, &lock(&shared.state).snapshot()),
        ("GET", "requests") => {
            let log: Vec<Json> = lock(&shared.log)
                .iter()
                .map(|r| json!({"method": r.method, "path": r.path, "query": r.query, "body": r.body, "status": r.status, "lost_reply": r.lost_reply}))
                .collect();
            json_response(200, &Json::Array(log))
        }
        ("POST", "expire-tokens") => {
            lock(&shared.state).expire_tokens();
            json_response(200, &json!(true))
        }
        ("GET", "faults") => json_response(200, &faults_json(&lock(&shared.faults).0)),
        ("POST", "faults") => match faults_from_json(body) {
            Ok(f) => {
                let out = faults_json(&f);
                *lock(&shared.faults) = (f.clone(), fastrand::Rng::with_seed(f.seed));
                json_response(200, &out)
            }
            Err(message) => json_response(400, &json!({ "message": message })),
        },
        _ => error_response(&ApiError::no_route()),
    }
}

pub(crate) fn faults_json(f: &Faults) -> Json {
    json!({
        "latency_ms": f.latency.as_millis() as u64,
        "error_rate": f.error_rate,
        "error_statuses": f.error_statuses,
        "drop_rate": f.drop_rate,
        "lost_reply_rate": f.lost_reply_rate,
        "seed": f.seed,
    })
}

pub(crate) fn faults_from_json(body: &[u8]) -> Result<Faults, String> {
    let v: Json = serde_json::from_slice(body).map_err(|e| format!("not JSON: {e}"))?;
    let Json::Object(m) = v else {
        return Err("expected a JSON object".into());
    };
    let mut f = Faults::default();
    for (k, v) in &m {
        match k.as_str() {
            "latency_ms" => {
                f.latency =
                    Duration::from_millis(v.as_u64().ok_or("latency_ms: expected milliseconds")?)
            }
            "error_rate" => f.error_rate = rate(v, k)?,
            "drop_rate" => f.drop_rate = rate(v, k)?,
            "lost_reply_rate" => f.lost_reply_rate = rate(v, k)?,
            "seed" => f.seed = v.as_u64().ok_or("seed: expected an unsigned integer")?,
            "error_statuses" => {
                f.error_statuses = v
                    .as_array()
                    .ok_or("error_statuses: expected an array")?
                    .iter()
                    .map(|s| {
                        s.as_u64()
                            .filter(|s| (100..=599).contains(s))
                            .map(|s| s as u16)
                            .ok_or_else(|| format!("error_statuses: {s} is no HTTP status"))
                    })
                    .collect::<Result<_, _>>()?
            }
            other => return Err(format!("unknown key {other:?}")),
        }
    }
    Ok(f)
}

fn rate(v: &Json, key: &str) -> Result<f64, String> {
    v.as_f64()
        .filter(|r| (0.0..=1.0).contains(r))
        .ok_or_else(|| format!("{key}: expected a number from 0 to 1"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_is_written_the_php_way() {
        let v = json!({"name": "Caffè / tè 😀", "n": 1.5});
        let text = php_json(&v);
        assert_eq!(
            text,
            r#"{"name":"Caff\u00e8 \/ t\u00e8 \ud83d\ude00","n":1.5}"#
        );
        assert_eq!(serde_json::from_str::<Json>(&text).unwrap(), v);
    }

    #[test]
    fn faults_parse_from_the_control_api() {
        let f = faults_from_json(
            br#"{"latency_ms": 20, "error_rate": 0.5, "error_statuses": [503], "lost_reply_rate": 0.25, "seed": 9}"#,
        )
        .unwrap();
        assert_eq!(f.lost_reply_rate, 0.25);
        assert_eq!(faults_json(&f)["lost_reply_rate"], 0.25);
        assert_eq!(f.latency, Duration::from_millis(20));
        assert_eq!(f.error_statuses, vec![503]);
        assert!(faults_from_json(br#"{"error_rate": 2}"#).is_err());
        assert!(faults_from_json(br#"{"latency": 2}"#).is_err());
        assert!(faults_from_json(b"nope").is_err());
        assert_eq!(faults_json(&f)["latency_ms"], 20);
    }
}
