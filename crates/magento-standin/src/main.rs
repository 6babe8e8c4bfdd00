//! The stand-in on its own: `cargo run -p magento-standin -- --help`.

use clap::Parser;

#[derive(Parser)]
#[command(
    name = "magento-standin",
    version,
    about = "A Magento 2.4.8 stand-in on loopback"
)]
struct Cli {
    #[command(flatten)]
    args: magento_standin::cli::Args,
}

fn main() -> std::process::ExitCode {
    match magento_standin::cli::run(Cli::parse().args) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("magento-standin: {e:#}");
            std::process::ExitCode::from(2)
        }
    }
}
