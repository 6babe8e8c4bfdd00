//! Sending a target's changes to Magento and telling which were applied.
//!
//! Each change ends as applied or failed with Magento's reason; the applied
//! state advances only for the applied ones, so a failure is sent again on
//! the next run and never blocks the others.

mod customers;
mod fulfilment;
mod options;
pub mod payload;
mod products;
mod regions;
mod stock;

use std::sync::Arc;
use tracing::Instrument;

use crate::config::Target;
use crate::magento::client::RestClient;
use crate::magento::error::ApiError;
use crate::model::Flow;
use crate::reconcile::Change;
use crate::reconcile::Siblings;

pub(crate) use options::OptionCache;
pub(crate) use regions::RegionCache;

/// How one change ended.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Outcome {
    Applied,
    Failed(String),
}

impl From<Result<(), ApiError>> for Outcome {
    fn from(r: Result<(), ApiError>) -> Outcome {
        match r {
            Ok(()) => Outcome::Applied,
            Err(e) => Outcome::Failed(e.to_string()),
        }
    }
}

/// What a push needs of one target, shared by its tasks.
pub(crate) struct TargetContext {
    pub client: RestClient,
    pub target: Target,
    pub options: OptionCache,
    pub regions: RegionCache,
}

impl TargetContext {
    /// `state_dir`: see [`RestClient::new`].
    pub fn new(
        target: &Target,
        state_dir: Option<&std::path::Path>,
    ) -> anyhow::Result<Arc<TargetContext>> {
        Ok(Arc::new(TargetContext {
            client: RestClient::new(target, state_dir)?,
            target: target.clone(),
            options: OptionCache::default(),
            regions: RegionCache::default(),
        }))
    }
}

/// Sends `changes` of `flow`; the outcomes come back in the same order.
/// `siblings` are the desired stock rows summed with the changed ones (see
/// `payload::stock_sibling_keys`); other flows take none.
pub(crate) async fn push(
    ctx: &Arc<TargetContext>,
    flow: Flow,
    changes: &[Change],
    siblings: &Siblings,
) -> Vec<Outcome> {
    if changes.is_empty() {
        return Vec::new();
    }
    match flow {
        Flow::Products => products::push(ctx, changes).await,
        Flow::Stock => stock::push(ctx, changes, siblings).await,
        Flow::Customers => customers::push(ctx, changes).await,
        Flow::Fulfilment => fulfilment::push(ctx, changes).await,
        Flow::Orders => changes
            .iter()
            .map(|_| Outcome::Failed("orders are not pushed to Magento".into()))
            .collect(),
    }
}

/// Runs `task` for every change at once (the client bounds the concurrency)
/// and collects the outcomes in order.
async fn for_each<C, F, Fut>(ctx: &Arc<TargetContext>, changes: &[C], task: F) -> Vec<Outcome>
where
    C: Clone,
    F: Fn(Arc<TargetContext>, C) -> Fut,
    Fut: std::future::Future<Output = Result<(), ApiError>> + Send + 'static,
{
    let mut set = tokio::task::JoinSet::new();
    for (i, change) in changes.iter().enumerate() {
        let fut = task(Arc::clone(ctx), change.clone());
        set.spawn(async move { (i, fut.await) }.in_current_span());
    }
    let mut outcomes = vec![Outcome::Failed("not attempted".into()); changes.len()];
    while let Some(joined) = set.join_next().await {
        match joined {
            Ok((i, result)) => outcomes[i] = result.into(),
            Err(e) => tracing::error!("a push task failed: {e}"),
        }
    }
    outcomes
}
