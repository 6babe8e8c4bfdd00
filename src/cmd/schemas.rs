//! `ponte schemas`: the schemas found, the file names each claims, and any
//! problem in them. Exit 2 when a schema is broken.

use super::Exit;
use ponte_layout::schema::{markdown, Registry, SchemaSource};

#[derive(clap::Args)]
pub struct Args {
    /// Also list every record type and field.
    #[arg(long)]
    fields: bool,
    /// Print each schema as the Markdown tables of docs/file-contract.md instead.
    #[arg(long, conflicts_with = "fields")]
    markdown: bool,
}

pub fn run(registry: &Registry, args: Args) -> anyhow::Result<Exit> {
    if args.markdown {
        for s in &registry.schemas {
            println!("## {}\n\n{}", s.flow, markdown(s));
        }
        return Ok(exit_for(registry));
    }
    match &registry.source {
        SchemaSource::Folder(dir) => println!("schemas from {}", dir.display()),
        SchemaSource::BuiltIn => {
            println!("schemas built into ponte (no ./schemas folder, PONTE_SCHEMAS or --schemas)")
        }
    }
    for s in &registry.schemas {
        let globs: Vec<&str> = s.globs.iter().map(|g| g.as_str()).collect();
        let tags: Vec<&str> = s.records.iter().map(|r| r.tag.as_str()).collect();
        println!(
            "{:<10} {:<14} {} record length {}, records {}{}  ({})",
            s.flow,
            globs.join(" "),
            s.charset.name(),
            s.record_length,
            tags.join(" "),
            if s.requires_ok_marker {
                ", needs .ok marker"
            } else {
                ""
            },
            s.source
        );
        if args.fields {
            for r in &s.records {
                println!("  {} {}", r.tag, r.description);
                for f in &r.fields {
                    println!(
                        "    {:<18} pos {:>3} len {:>3} {}{}",
                        f.key,
                        f.pos(),
                        f.len,
                        f.kind.type_name(),
                        if f.required { " required" } else { "" }
                    );
                }
            }
        }
    }
    Ok(exit_for(registry))
}

fn exit_for(registry: &Registry) -> Exit {
    for p in &registry.problems {
        eprintln!("{p}");
    }
    if registry.problems.is_empty() {
        Exit::Ok
    } else {
        Exit::Usage
    }
}
