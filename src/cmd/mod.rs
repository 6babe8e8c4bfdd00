//! One module per subcommand, each with its usage at the top.

use std::path::Path;
use std::sync::Arc;

use ponte_layout::schema::{Registry, Schema};

pub mod baseline;
pub mod check;
#[cfg(feature = "stand-in")]
pub mod demo;
pub mod failures;
pub mod history;
pub mod ingest;
pub mod orders;
pub mod parse;
pub mod pipe;
pub mod plan;
pub mod reprocess;
pub mod schemas;
pub mod show;
pub mod status;
pub mod watch;

/// What a command tells the shell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Everything valid or applied.
    Ok = 0,
    /// Something rejected or failed.
    Failed = 1,
    /// Usage, configuration or schema error.
    Usage = 2,
    /// The state store failed while running: the configuration is fine,
    /// so a supervisor can tell "fix the setup" (2) from "look at the
    /// machine" (3).
    Runtime = 3,
}

/// The exit status for an error that ended a command: a state store that
/// failed is a runtime failure, anything else is the setup's.
pub fn exit_for(e: &anyhow::Error) -> Exit {
    if e.chain()
        .any(|c| c.is::<crate::state::StoreError>() || c.is::<rusqlite::Error>())
    {
        Exit::Runtime
    } else {
        Exit::Usage
    }
}

/// The schema for a file: the one forced by `--schema`, else the one its name routes to.
pub(crate) fn schema_for(
    registry: &Registry,
    path: &Path,
    forced: Option<&str>,
) -> Result<Arc<Schema>, String> {
    match forced {
        Some(flow) => registry.by_flow(flow).ok_or_else(|| {
            let known: Vec<&str> = registry.schemas.iter().map(|s| s.flow.as_str()).collect();
            format!("no schema for flow {flow:?} (known: {})", known.join(", "))
        }),
        None => registry.route(path),
    }
}

/// Registry problems are worth a warning even when the schema in use is fine.
pub(crate) fn warn_registry_problems(registry: &Registry) {
    for p in &registry.problems {
        tracing::warn!(schema = %p.source_name, "{}", p.message);
    }
}

/// The schemas for a configured command: `--schemas` wins, then the
/// configuration's `paths.schemas`, then the usual discovery.
pub fn registry_for(
    config: &crate::config::Config,
    flag: Option<&Path>,
    discovered: Registry,
) -> Registry {
    match (flag, &config.paths.schemas) {
        (None, Some(dir)) => Registry::from_folder(dir),
        _ => discovered,
    }
}

/// The instance lock for a command that writes the state, or `None` (the
/// holder named on stderr, with `hint`) when another ponte holds it.
pub(crate) fn lock_or_usage(
    state_dir: &Path,
    hint: &str,
) -> anyhow::Result<Option<crate::intake::lock::InstanceLock>> {
    use crate::intake::lock::{InstanceLock, LockError};
    match InstanceLock::acquire(state_dir) {
        Ok(lock) => Ok(Some(lock)),
        Err(e @ LockError::Held { .. }) => {
            eprintln!("ponte: {e}{hint}");
            Ok(None)
        }
        Err(e) => Err(e.into()),
    }
}
