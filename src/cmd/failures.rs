//! `ponte failures`: every entity a target refused and has not applied
//! since, with Magento's own words and when it is tried again.

use super::Exit;
use crate::config::Config;
use crate::operate::collect::Collector;
use crate::operate::table::{dash, table};

#[derive(clap::Args)]
pub struct Args {
    /// Only this target.
    #[arg(long)]
    target: Option<String>,
    /// Only this flow (products or ARTICOLI, ...).
    #[arg(long)]
    flow: Option<String>,
    /// JSON lines, one failure each, instead of text.
    #[arg(long)]
    json: bool,
}

pub fn run(config: &Config, args: Args) -> anyhow::Result<Exit> {
    let rows = Collector::open(config)?.failures(args.target.as_deref(), args.flow.as_deref())?;
    if args.json {
        for r in &rows {
            println!("{}", serde_json::to_string(r)?);
        }
        return Ok(Exit::Ok);
    }
    print!(
        "{}",
        table(
            [
                "KEY",
                "FLOW",
                "TARGET",
                "STATUS",
                "MESSAGE",
                "FILE",
                "LAST ATTEMPT",
                "ATTEMPTS",
                "NEXT RETRY"
            ],
            rows.iter()
                .map(|f| {
                    [
                        f.key.clone(),
                        f.flow.clone(),
                        f.target.clone(),
                        f.status
                            .map(|s| s.to_string())
                            .unwrap_or_else(|| "-".into()),
                        f.message.clone(),
                        dash(&f.file),
                        dash(&f.last_attempt),
                        f.attempts.to_string(),
                        dash(&f.next_retry),
                    ]
                })
                .collect(),
        )
    );
    Ok(Exit::Ok)
}
