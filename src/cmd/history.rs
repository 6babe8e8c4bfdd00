//! `ponte history`: every file handled, newest first: when, what came of
//! it, what each target was sent, how long it took, where it is now.

use super::Exit;
use crate::config::Config;
use crate::operate::collect::{Collector, HistoryFilter};
use crate::operate::table::{dash, table};
use crate::operate::time::parse_since;

#[derive(clap::Args)]
pub struct Args {
    /// Only files handled since this date (2026-12-01) or time (2026-12-01T08:00).
    #[arg(long, value_parser = parse_since)]
    since: Option<i64>,
    /// Only this flow (products or ARTICOLI, stock or GIACENZE, ...).
    #[arg(long)]
    flow: Option<String>,
    /// At most this many files.
    #[arg(long)]
    limit: Option<usize>,
    /// JSON lines, one file each, instead of text.
    #[arg(long)]
    json: bool,
}

pub fn run(config: &Config, args: Args) -> anyhow::Result<Exit> {
    let rows = Collector::open(config)?.history(&HistoryFilter {
        since: args.since,
        flow: args.flow,
        limit: args.limit,
        id: None,
    })?;
    if args.json {
        for r in &rows {
            println!("{}", serde_json::to_string(r)?);
        }
        return Ok(Exit::Ok);
    }
    let counts = |r: &crate::operate::report::FileRow| -> String {
        if r.targets.is_empty() {
            return "-".into();
        }
        r.targets
            .iter()
            .map(|t| format!("{} {}/{}/{}", t.target, t.sent, t.unchanged, t.failed))
            .collect::<Vec<_>>()
            .join(", ")
    };
    print!(
        "{}",
        table(
            [
                "WHEN",
                "FILE",
                "FLOW",
                "OUTCOME",
                "SENT/UNCHANGED/FAILED",
                "TOOK",
                "NOW IN"
            ],
            rows.iter()
                .map(|r| {
                    [
                        dash(&r.finished_at),
                        r.name.clone(),
                        r.flow.clone(),
                        r.outcome.clone(),
                        counts(r),
                        r.duration_ms
                            .map(|d| format!("{}s", d / 1000))
                            .unwrap_or_else(|| "-".into()),
                        dash(&r.location),
                    ]
                })
                .collect(),
        )
    );
    Ok(Exit::Ok)
}
