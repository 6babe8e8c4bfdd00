use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use ponte::cmd;
use ponte::telemetry::{self, LogFormat};

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
    /// Folder of schema files; default PONTE_SCHEMAS, else ./schemas, else the built-in set.
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
    Demo(cmd::demo::Args),
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
    /// A Magento 2 stand-in on loopback, to try ponte without a shop.
    #[command(name = "stand-in")]
    StandIn(cmd::standin::Args),
    /// The service: watch the share, process files, poll orders.
    Watch(cmd::watch::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Err(e) = telemetry::init(cli.log_format, cli.log_level.as_deref()) {
        eprintln!("ponte: {e:#}");
        return ExitCode::from(2);
    }
    let registry = ponte::schema::Registry::discover(cli.schemas.as_deref());
    let outcome = match cli.command {
        Command::Baseline(args) => configured(
            &cli.config,
            cli.schemas.as_deref(),
            registry,
            args,
            cmd::baseline::run,
        ),
        Command::Check(args) => cmd::check::run(&registry, args),
        Command::Demo(args) => cmd::demo::run(&registry, args),
        Command::Parse(args) => cmd::parse::run(&registry, args),
        Command::Plan(args) => configured(
            &cli.config,
            cli.schemas.as_deref(),
            registry,
            args,
            cmd::plan::run,
        ),
        Command::Reprocess(args) => configured(
            &cli.config,
            cli.schemas.as_deref(),
            registry,
            args,
            cmd::reprocess::run,
        ),
        Command::Watch(args) => configured(
            &cli.config,
            cli.schemas.as_deref(),
            registry,
            args,
            cmd::watch::run,
        ),
        Command::Ingest(args) => configured(
            &cli.config,
            cli.schemas.as_deref(),
            registry,
            args,
            cmd::ingest::run,
        ),
        Command::Orders(args) => configured(
            &cli.config,
            cli.schemas.as_deref(),
            registry,
            args,
            cmd::orders::run,
        ),
        Command::Schemas(args) => cmd::schemas::run(&registry, args),
        Command::StandIn(args) => cmd::standin::run(args),
    };
    match outcome {
        Ok(code) => ExitCode::from(code as u8),
        Err(e) => {
            eprintln!("ponte: {e:#}");
            ExitCode::from(cmd::exit_for(&e) as u8)
        }
    }
}

/// Runs a command that needs the configuration (and the schemas it names).
fn configured<A>(
    config_path: &std::path::Path,
    schemas_flag: Option<&std::path::Path>,
    discovered: ponte::schema::Registry,
    args: A,
    run: fn(&ponte::schema::Registry, &ponte::config::Config, A) -> anyhow::Result<cmd::Exit>,
) -> anyhow::Result<cmd::Exit> {
    let config = ponte::config::Config::load(config_path)?;
    let registry = cmd::registry_for(&config, schemas_flag, discovered);
    run(&registry, &config, args)
}
