//! `ponte status`: is the service running, what waits in the share, how
//! far each flow got on each target, the orders. `--json` for machines.

use super::Exit;
use crate::config::Config;
use crate::operate::collect::Collector;
use crate::operate::report::StatusReport;
use crate::operate::table::{dash, table};
use ponte_layout::schema::Registry;

#[derive(clap::Args)]
pub struct Args {
    /// One JSON object instead of text.
    #[arg(long)]
    json: bool,
}

pub fn run(registry: &Registry, config: &Config, args: Args) -> anyhow::Result<Exit> {
    let report = Collector::open(config)?.status(registry)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", text(&report));
    }
    Ok(Exit::Ok)
}

pub(crate) fn text(r: &StatusReport) -> String {
    let mut out = String::new();
    let s = &r.service;
    if s.running {
        out += &format!(
            "service: running, pid {}, since {}\n",
            s.pid.map(|p| p.to_string()).unwrap_or_else(|| "?".into()),
            dash(&s.since)
        );
    } else {
        out += "service: not running\n";
    }
    out += &format!("last scan:         {}\n", dash(&s.last_scan));
    out += &format!("last file handled: {}\n", dash(&s.last_activity));
    out += &format!("\nwaiting in inbound: {}\n", r.waiting.len());
    if !r.waiting.is_empty() {
        out += &table(
            ["FILE", "FLOW", "AGE", "WHY"],
            r.waiting
                .iter()
                .map(|w| {
                    [
                        w.name.clone(),
                        dash(&w.flow),
                        format!("{}s", w.age_seconds),
                        w.why.clone(),
                    ]
                })
                .collect(),
        );
    }
    out += &format!("in progress: {}\n", r.in_progress.len());
    for name in &r.in_progress {
        out += &format!("  {name}\n");
    }
    out += &format!(
        "rejected in the last 7 days: {}\n",
        r.rejected_recently.len()
    );
    if !r.rejected_recently.is_empty() {
        out += &table(
            ["WHEN", "FILE", "OUTCOME", "WHY"],
            r.rejected_recently
                .iter()
                .map(|f| {
                    [
                        dash(&f.finished_at),
                        f.name.clone(),
                        f.outcome.clone(),
                        first_line(f.error.as_deref()),
                    ]
                })
                .collect(),
        );
    }
    out += "\n";
    out += &table(
        [
            "FLOW",
            "TARGET",
            "LAST APPLIED FILE",
            "WHEN",
            "FAILING",
            "NEXT RETRY",
        ],
        r.flows
            .iter()
            .map(|f| {
                [
                    f.flow.clone(),
                    f.target.clone(),
                    dash(&f.last_file),
                    dash(&f.last_applied_at),
                    f.failing.to_string(),
                    dash(&f.next_retry),
                ]
            })
            .collect(),
    );
    if !r.orders.is_empty() {
        out += "\n";
        out += &table(
            [
                "ORDERS",
                "LAST POLL",
                "WATERMARK",
                "LAST ORD FILE",
                "ORDERS IN IT",
            ],
            r.orders
                .iter()
                .map(|o| {
                    [
                        o.target.clone(),
                        dash(&o.last_poll),
                        dash(&o.watermark),
                        dash(&o.last_file),
                        o.last_file_orders.to_string(),
                    ]
                })
                .collect(),
        );
    }
    out
}

/// The first line of a multi-line reason, for one row of a table.
pub(crate) fn first_line(text: Option<&str>) -> String {
    text.and_then(|t| t.lines().next())
        .unwrap_or("-")
        .to_string()
}
