//! A Magento 2.4 stand-in: a small HTTP server that answers the REST routes
//! ponte uses the way Magento 2.4.8 answers them (its admin REST schema,
//! `../shared/magento/admin-schema-2.4.8.json`, and its documented and
//! observed behaviour decide), for tests and for trying ponte without a shop.
//!
//! One file per concept: `state` (the shop), `fixture` (what it starts
//! with), `router` (the routes each resource lists, and Magento's answers
//! to what none takes), `server` (the axum application: routing, auth,
//! log, faults), `in_process` (the same application without sockets),
//! `search` (search criteria), `faults`, `errors` (Magento's error bodies),
//! `input` (reading bodies as Magento's input processor does), and a file
//! per resource: `auth`, `products`, `attributes`, `configurable`,
//! `inventory`, `customers`, `directory` (countries and their regions),
//! `orders`, `documents` (shipments, invoices), `stores` (the store views).
//!
//! ```no_run
//! use magento_standin::{Fixture, StandIn};
//! let shop = StandIn::spawn(Fixture::demo()).unwrap();
//! // point a client at shop.base_url with the token "standin-token"
//! let orders = shop.with_state(|s| s.orders.len());
//! # let _ = orders;
//! ```

mod attributes;
mod auth;
pub mod cli;
mod configurable;
mod contract;
mod customers;
mod directory;
mod documents;
mod errors;
mod faults;
mod fixture;
mod in_process;
mod input;
mod inventory;
mod orders;
mod products;
mod router;
mod search;
mod server;
mod state;
mod stores;

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio::sync::oneshot;

pub use contract::Contract;
pub use errors::ApiError;
pub use faults::Faults;
pub use fixture::Fixture;
pub use in_process::InProcess;
pub use search::percent_decode;
pub use state::{
    AdminUser, Attribute, AttributeOption, Counters, CustomerGroup, ShopState, Source, SourceItem,
    Token,
};

use server::{lock, Shared};

/// A request the stand-in received (and authenticated), with the status it
/// answered (0: no answer reached the client, the connection was dropped
/// or the reply lost).
#[derive(Debug, Clone, PartialEq)]
pub struct LoggedRequest {
    pub method: String,
    /// The whole path, such as `/rest/default/V1/products/ABC`.
    pub path: String,
    pub query: String,
    /// The JSON body (`null` when empty, a string when not JSON).
    pub body: serde_json::Value,
    pub status: u16,
    /// Applied, but its answer was never sent (the `lost_reply_rate` fault).
    pub lost_reply: bool,
}

/// A running stand-in. Stops on `shutdown` or when dropped.
pub struct StandIn {
    /// `http://127.0.0.1:PORT`, without a trailing `/`.
    pub base_url: String,
    shared: Arc<Shared>,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

async fn bind(
    addr: SocketAddr,
    fixture: Fixture,
) -> std::io::Result<(TcpListener, Arc<Shared>, String)> {
    let listener = TcpListener::bind(addr).await?;
    let local = listener.local_addr()?;
    let shared = Arc::new(Shared::new(ShopState::from_fixture(fixture))?);
    Ok((listener, shared, format!("http://{local}")))
}

impl StandIn {
    /// Starts serving on the current tokio runtime (port 0: any free port).
    pub async fn start(addr: SocketAddr, fixture: Fixture) -> std::io::Result<StandIn> {
        let (listener, shared, base_url) = bind(addr, fixture).await?;
        let (stop, stopped) = oneshot::channel();
        tokio::spawn(server::serve(listener, shared.clone(), stopped));
        Ok(StandIn {
            base_url,
            shared,
            stop: Some(stop),
            thread: None,
        })
    }

    /// Starts on 127.0.0.1 (any free port) with its own runtime on a
    /// background thread: for synchronous tests.
    pub fn spawn(fixture: Fixture) -> std::io::Result<StandIn> {
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let (stop, stopped) = oneshot::channel();
        let thread = std::thread::Builder::new()
            .name("magento-stand-in".into())
            .spawn(move || {
                let rt = match tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .enable_all()
                    .build()
                {
                    Ok(rt) => rt,
                    Err(e) => {
                        let _ = ready_tx.send(Err(e));
                        return;
                    }
                };
                rt.block_on(async move {
                    let addr = SocketAddr::from(([127, 0, 0, 1], 0));
                    match bind(addr, fixture).await {
                        Ok((listener, shared, base_url)) => {
                            let _ = ready_tx.send(Ok((shared.clone(), base_url)));
                            server::serve(listener, shared, stopped).await;
                        }
                        Err(e) => {
                            let _ = ready_tx.send(Err(e));
                        }
                    }
                });
                rt.shutdown_background();
            })?;
        let (shared, base_url) = ready_rx
            .recv()
            .map_err(|_| std::io::Error::other("the stand-in thread ended before starting"))??;
        Ok(StandIn {
            base_url,
            shared,
            stop: Some(stop),
            thread: Some(thread),
        })
    }

    /// Replaces the faults (and restarts their random sequence from the seed).
    pub fn set_faults(&self, faults: Faults) {
        let dice = fastrand::Rng::with_seed(faults.seed);
        *lock(&self.shared.faults) = (faults, dice);
    }

    /// Every request received after authentication, in order (the last
    /// `server::LOG_LIMIT` at most).
    pub fn requests(&self) -> Vec<LoggedRequest> {
        lock(&self.shared.log).clone()
    }

    /// Holds every request body and every answer to `contract` from now on.
    pub fn set_contract(&self, contract: Arc<dyn Contract>) {
        *lock(&self.shared.contract) = Some(contract);
    }

    /// What the contract refused so far: request bodies (answered 400) and
    /// the stand-in's own answers.
    pub fn violations(&self) -> Vec<String> {
        lock(&self.shared.violations).clone()
    }

    pub fn clear_requests(&self) {
        lock(&self.shared.log).clear();
    }

    /// The whole shop as JSON: products, options, sources, source items,
    /// stock items, customer groups, customers, orders, shipments,
    /// invoices and order comments.
    pub fn snapshot(&self) -> serde_json::Value {
        lock(&self.shared.state).snapshot()
    }

    /// Direct access to the shop (change an order mid-poll, expire tokens).
    pub fn with_state<R>(&self, f: impl FnOnce(&mut ShopState) -> R) -> R {
        f(&mut lock(&self.shared.state))
    }

    pub fn shutdown(self) {}
}

impl Drop for StandIn {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
