//! Logging through tracing: readable on a terminal, JSON lines for machines.

pub(crate) mod metrics;
pub(crate) mod progress;

use tracing_subscriber::EnvFilter;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

/// Level from `--log-level`, else `PONTE_LOG`, else `info`. Logs go to
/// stderr so that stdout stays clean for `parse` output.
pub fn init(format: LogFormat, level: Option<&str>) -> anyhow::Result<()> {
    let filter = match level {
        Some(l) => EnvFilter::try_new(l)?,
        None => EnvFilter::try_from_env("PONTE_LOG").unwrap_or_else(|_| EnvFilter::new("info")),
    };
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let result = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            // The file and target a line belongs to are the spans' fields.
            .with_current_span(false)
            .with_span_list(true)
            // Its module path would be a second `target` key beside the
            // Magento target's, and a JSON reader keeps only the last.
            .with_target(false)
            .try_init(),
    };
    result.map_err(|e| anyhow::anyhow!("cannot start logging: {e}"))
}
