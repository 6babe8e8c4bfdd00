use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use ponte::cmd;
use ponte::config::Config;
use ponte::telemetry::{self, LogFormat};
use ponte_layout::schema::Registry;

/// ponte keeps Magento shops in step with the Gamma Enterprise ERP.
#[derive(Parser)]
#[command(name = "ponte", version, about, propagate_version = true)]
struct Cli {
    /// Log format on stderr.
    #[arg(long, global = true, value_enum, default_value = "text")]
    log_format: LogFormat,
    /// Log level or filter (error, warn, info, debug, trace); default from PONTE_LOG, else info.
    #[arg(long, global = true)]
    log_level: Option<String>,
    /// Folder of schema files; default PONTE_SCHEMAS, else ./schemas, else
    /// PREFIX/share/ponte/schemas beside PREFIX/bin/ponte, else the built-in set.
    #[arg(long, global = true, env = "PONTE_SCHEMAS")]
    schemas: Option<PathBuf>,
    /// The configuration file (for commands that reach the state or Magento).
    #[arg(
        long,
        global = true,
        env = "PONTE_CONFIG",
        default_value = "ponte.toml"
    )]
    config: PathBuf,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Adopt a shop's current state as applied (go-live without a flood).
    Baseline(cmd::baseline::Args),
    /// Validate files against their schemas; changes nothing.
    Check(cmd::check::Args),
    /// The whole job on the samples against the stand-in, with nothing installed.
    #[cfg(feature = "stand-in")]
    Demo(cmd::demo::Args),
    /// Entities a target refused and has not applied since.
    Failures(cmd::failures::Args),
    /// Every file handled, newest first.
    History(cmd::history::Args),
    /// Process files now (a manual drop): validate, push, archive or reject.
    Ingest(cmd::ingest::Args),
    /// Orders from Magento to the ERP: `orders pull` polls now.
    Orders(cmd::orders::Args),
    /// The decoded records of a file, as JSON lines or CSV.
    Parse(cmd::parse::Args),
    /// What files would change on each target; sends nothing, changes nothing.
    Plan(cmd::plan::Args),
    /// Replay archived files in their original order.
    Reprocess(cmd::reprocess::Args),
    /// The schemas found, the file names each claims, and their problems.
    Schemas(cmd::schemas::Args),
    /// What the ERP said of one key, and what each target acknowledged.
    Show(cmd::show::Args),
    /// Is the service running, what waits, how far each flow got.
    Status(cmd::status::Args),
    /// A Magento 2 stand-in on loopback, to try ponte without a shop.
    #[cfg(feature = "stand-in")]
    #[command(name = "stand-in")]
    StandIn(magento_standin::cli::Args),
    /// The service: watch the share, process files, poll orders.
    Watch(cmd::watch::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Err(e) = telemetry::init(cli.log_format, cli.log_level.as_deref()) {
        eprintln!("ponte: {e:#}");
        return ExitCode::from(2);
    }
    let registry = Registry::discover(cli.schemas.as_deref());
    // The commands that reach the state or Magento read the configuration
    // first; it may name its own schemas folder.
    let configured = || -> anyhow::Result<(Registry, Config)> {
        let config = Config::load(&cli.config)?;
        let registry = cmd::registry_for(&config, cli.schemas.as_deref(), registry.clone());
        Ok((registry, config))
    };
    if matches!(
        cli.command,
        Command::Check(_) | Command::Parse(_) | Command::Plan(_) | Command::Schemas(_)
    ) {
        cmd::pipe::end_quietly_when_the_reader_goes();
    }
    let outcome = match cli.command {
        Command::Check(args) => cmd::check::run(&registry, args),
        #[cfg(feature = "stand-in")]
        Command::Demo(args) => cmd::demo::run(&registry, args),
        Command::Parse(args) => cmd::parse::run(&registry, args),
        Command::Schemas(args) => cmd::schemas::run(&registry, args),
        #[cfg(feature = "stand-in")]
        Command::StandIn(args) => magento_standin::cli::run(args).map(|()| cmd::Exit::Ok),
        Command::Baseline(args) => configured().and_then(|(r, c)| cmd::baseline::run(&r, &c, args)),
        Command::Ingest(args) => configured().and_then(|(r, c)| cmd::ingest::run(&r, &c, args)),
        Command::Orders(args) => configured().and_then(|(r, c)| cmd::orders::run(&r, &c, args)),
        Command::Plan(args) => configured().and_then(|(r, c)| cmd::plan::run(&r, &c, args)),
        Command::Reprocess(args) => {
            configured().and_then(|(r, c)| cmd::reprocess::run(&r, &c, args))
        }
        Command::Failures(args) => configured().and_then(|(_, c)| cmd::failures::run(&c, args)),
        Command::History(args) => configured().and_then(|(_, c)| cmd::history::run(&c, args)),
        Command::Show(args) => configured().and_then(|(r, c)| cmd::show::run(&r, &c, args)),
        Command::Status(args) => configured().and_then(|(r, c)| cmd::status::run(&r, &c, args)),
        Command::Watch(args) => configured().and_then(|(r, c)| cmd::watch::run(&r, &c, args)),
    };
    match outcome {
        Ok(code) => ExitCode::from(code as u8),
        Err(e) => {
            eprintln!("ponte: {e:#}");
            ExitCode::from(cmd::exit_for(&e) as u8)
        }
    }
}
