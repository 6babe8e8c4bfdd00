//! What the service serves on `[http] listen`: `/metrics`, `/healthz`,
//! the status page `/` and its detail pages. Its own thread and runtime,
//! so that the flows never wait for a reader. With `[http] token`, every
//! request carries it as a bearer token; without, the configuration only
//! allows a loopback address.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{Path, Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use subtle::ConstantTimeEq;

use super::collect::{Collector, HistoryFilter};
use super::health::Health;
use super::page;
use crate::config::{Config, SecretString};
use crate::telemetry::metrics;
use ponte_layout::schema::Registry;

struct Site {
    config: Config,
    registry: Registry,
    health: &'static Health,
    token: Option<SecretString>,
}

/// Binds `listen` now (so that a taken port fails the start) and serves
/// from a thread of its own until the process ends. Returns the address
/// bound (port 0 picks one).
pub fn start(
    config: &Config,
    registry: &Registry,
    listen: SocketAddr,
    token: Option<SecretString>,
    health: &'static Health,
) -> anyhow::Result<SocketAddr> {
    let listener = std::net::TcpListener::bind(listen)
        .map_err(|e| anyhow::anyhow!("http: cannot listen on {listen}: {e}"))?;
    listener.set_nonblocking(true)?;
    let addr = listener.local_addr()?;
    let site = Arc::new(Site {
        config: config.clone(),
        registry: registry.clone(),
        health,
        token,
    });
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("ponte-http")
        .enable_all()
        .build()?;
    std::thread::Builder::new()
        .name("ponte-http".into())
        .spawn(move || {
            runtime.block_on(async move {
                let app = router(site);
                match tokio::net::TcpListener::from_std(listener) {
                    Ok(l) => {
                        if let Err(e) = axum::serve(l, app).await {
                            tracing::error!("http: {e}");
                        }
                    }
                    Err(e) => tracing::error!("http: {e}"),
                }
            })
        })?;
    tracing::info!(listen = %addr, "serving /metrics, /healthz and the status page");
    Ok(addr)
}

fn router(site: Arc<Site>) -> Router {
    Router::new()
        .route("/", get(status))
        .route("/metrics", get(metrics_text))
        .route("/healthz", get(healthz))
        .route("/file/{id}", get(file))
        .route("/entity/{flow}/{key}", get(entity))
        .layer(middleware::from_fn_with_state(Arc::clone(&site), bearer))
        .with_state(site)
}

async fn bearer(State(site): State<Arc<Site>>, req: Request, next: Next) -> Response {
    if let Some(token) = &site.token {
        let given = req
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or_default();
        if !bool::from(given.as_bytes().ct_eq(token.expose().as_bytes())) {
            return (
                StatusCode::UNAUTHORIZED,
                [(header::WWW_AUTHENTICATE, "Bearer")],
                "a bearer token is required\n",
            )
                .into_response();
        }
    }
    next.run(req).await
}

async fn metrics_text() -> Response {
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        metrics::get().encode(),
    )
        .into_response()
}

async fn healthz(State(site): State<Arc<Site>>) -> Response {
    let late = site.health.late();
    if late.is_empty() {
        (StatusCode::OK, "ok\n").into_response()
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("late: {}\n", late.join("; ")),
        )
            .into_response()
    }
}

/// Runs a read of the store off the runtime's thread.
async fn reading<F>(site: Arc<Site>, f: F) -> Response
where
    F: FnOnce(&Site, &Collector<'_>) -> anyhow::Result<Response> + Send + 'static,
{
    let done = tokio::task::spawn_blocking(move || {
        let c = Collector::open(&site.config)?;
        f(&site, &c)
    })
    .await;
    match done {
        Ok(Ok(r)) => r,
        Ok(Err(e)) => {
            tracing::warn!("http: {e:#}");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "the state store cannot be read; see the log\n",
            )
                .into_response()
        }
        Err(_) => (StatusCode::INTERNAL_SERVER_ERROR, "failed\n").into_response(),
    }
}

async fn status(State(site): State<Arc<Site>>) -> Response {
    reading(site, |site, c| {
        let report = c.status(&site.registry)?;
        let files = c.history(&HistoryFilter {
            limit: Some(50),
            ..HistoryFilter::default()
        })?;
        let failures = c.failures(None, None)?;
        Ok(Html(page::status(&report, &files, &failures).into_string()).into_response())
    })
    .await
}

async fn file(State(site): State<Arc<Site>>, Path(id): Path<String>) -> Response {
    reading(site, move |_, c| {
        let Ok(id) = id.parse::<i64>() else {
            return Ok(not_found("no such file"));
        };
        let found = c.history(&HistoryFilter {
            id: Some(id),
            ..HistoryFilter::default()
        })?;
        Ok(match found.first() {
            Some(f) => Html(page::file(f).into_string()).into_response(),
            None => not_found("no such file"),
        })
    })
    .await
}

async fn entity(
    State(site): State<Arc<Site>>,
    Path((flow, key)): Path<(String, String)>,
) -> Response {
    reading(site, move |site, c| {
        let detail = c.show(&site.registry, &key, Some(&flow))?;
        Ok(Html(page::entity(&detail).into_string()).into_response())
    })
    .await
}

fn not_found(what: &str) -> Response {
    (
        StatusCode::NOT_FOUND,
        Html(page::not_found(what).into_string()),
    )
        .into_response()
}
