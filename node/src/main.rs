//! The `annals` binary: parses the command line, sets up tracing, and runs the command.

use clap::Parser;

fn main() -> std::process::ExitCode {
    let cli = annals_node::Cli::parse();
    annals_node::init_tracing();
    match annals_node::run(cli) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
