//! `forge`: connect an ERP account, prove it works, and read and write its
//! records through the guard. Errors print what went wrong and a `hint:`;
//! the exit code is 0 on success, 1 when an operation failed and 2 for bad
//! usage or configuration.

mod args;
mod bulk;
mod commands;
mod output;
mod secrets;
mod sim;
mod stack;

use std::process::ExitCode;

use clap::Parser;
use tracing_subscriber::EnvFilter;

use crate::args::{Cli, Command};

fn init_logging(verbose: u8) {
    let default = match verbose {
        0 => "warn",
        1 => "info,forge_netsuite=info",
        2 => "debug",
        _ => "trace",
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(true)
        .try_init();
}

/// Whether the command asked for JSON, so its errors come as JSON too.
fn wants_json(command: &Command) -> bool {
    match command {
        Command::Connect(args::Connect::Netsuite(a)) => a.json,
        Command::Connections(args::Connections::List(a)) => a.json,
        Command::Connections(args::Connections::Show(a) | args::Connections::Remove(a)) => a.json,
        Command::Verify(a) => a.json,
        Command::Get(a) | Command::Delete(a) => a.json,
        Command::Upsert(a) => a.json,
        Command::Recover(a) => a.json,
        Command::Netsuite(args::Netsuite::Sign(a)) => a.json,
        Command::Store(args::Store::RotateKey(a)) => a.json,
        Command::Sim(_) => false,
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(cli.verbose);
    let json = wants_json(&cli.command);
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("error: could not start the async runtime: {err}");
            return ExitCode::from(output::FAILED);
        }
    };
    let result = runtime.block_on(async move {
        match cli.command {
            Command::Connect(args::Connect::Netsuite(a)) => commands::connect_netsuite(a).await,
            Command::Connections(c) => commands::connections(c).await,
            Command::Verify(a) => commands::verify(a).await,
            Command::Get(a) => commands::get(a).await,
            Command::Upsert(a) => commands::upsert(a).await,
            Command::Delete(a) => commands::delete(a).await,
            Command::Recover(a) => commands::recover(a).await,
            Command::Netsuite(args::Netsuite::Sign(a)) => commands::sign(a),
            Command::Sim(args::Sim::Netsuite(a)) => sim::netsuite(a).await,
            Command::Store(args::Store::RotateKey(a)) => commands::rotate_key(a).await,
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => output::report(&failure, json),
    }
}
