//! `ponte show KEY`: what the ERP last said of one entity, what each
//! target acknowledged, and its failure if any.

use super::Exit;
use crate::config::Config;
use crate::operate::collect::Collector;
use crate::operate::table::{dash, table};
use ponte_layout::schema::Registry;

#[derive(clap::Args)]
pub struct Args {
    /// The entity's key: a SKU, a customer code, an order number.
    key: String,
    /// Only this flow (products or ARTICOLI, ...).
    #[arg(long)]
    flow: Option<String>,
    /// One JSON object instead of text.
    #[arg(long)]
    json: bool,
}

pub fn run(registry: &Registry, config: &Config, args: Args) -> anyhow::Result<Exit> {
    let d = Collector::open(config)?.show(registry, &args.key, args.flow.as_deref())?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&d)?);
        return Ok(Exit::Ok);
    }
    println!("key: {}", d.key);
    if d.desired.is_empty() && d.applied.is_empty() && d.failures.is_empty() {
        println!("nothing recorded as a row for this key (a large file's entities are kept as its lines)");
    }
    for x in &d.desired {
        println!(
            "\nthe ERP said ({}, from {}{}):",
            x.flow,
            dash(&x.file),
            x.line.map(|l| format!(" line {l}")).unwrap_or_default()
        );
        match x.fields.as_object() {
            Some(fields) => {
                let rows = fields
                    .iter()
                    .map(|(k, v)| [format!("  {k}"), v.to_string()])
                    .collect();
                print!("{}", table(["  FIELD", "VALUE"], rows));
            }
            None => println!("  {}", x.fields),
        }
    }
    if !d.applied.is_empty() {
        println!("\nacknowledged:");
        let rows = d
            .applied
            .iter()
            .map(|a| {
                [
                    a.target.clone(),
                    a.flow.clone(),
                    dash(&a.at),
                    if a.removed {
                        "removed".into()
                    } else {
                        "-".into()
                    },
                ]
            })
            .collect();
        print!("{}", table(["TARGET", "FLOW", "WHEN", "REMOVED"], rows));
    }
    for f in &d.failures {
        println!(
            "\nfailing on {} ({}): {} (attempts {}, last {}, next retry {})",
            f.target,
            f.flow,
            f.message,
            f.attempts,
            dash(&f.last_attempt),
            dash(&f.next_retry)
        );
    }
    Ok(Exit::Ok)
}
