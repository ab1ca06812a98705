//! `cargo xtask`: Forge's project tasks, in Rust so they need nothing but
//! cargo.
//!
//! - `cargo xtask ci`: what CI runs (format check, clippy with warnings as
//!   errors, the test suite).
//! - `cargo xtask verify`: the full proof against the bundled NetSuite
//!   simulator, through the real `forge` binary.
//! - `cargo xtask verify --live NAME`: the proof against a stored connection
//!   to a real account.
//! - `cargo xtask bench`: the throughput and memory benchmarks against the
//!   simulator, written to `BENCHMARKS.md`.

mod bench;
mod harness;
mod tidy;
mod verify;

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

const USAGE: &str = "usage: cargo xtask <command>

commands:
  ci                   format check, clippy (-D warnings), then the test suite: what .ci/run runs
  verify               the full proof against the bundled NetSuite simulator
  verify --live NAME   the full proof against stored connection NAME (a real account)
  bench                the benchmarks against the simulator (release build), written to BENCHMARKS.md";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("ci") => ci(),
        Some("verify") => match &args[1..] {
            [] => verify::offline(),
            [flag, name] if flag == "--live" => verify::live(name),
            _ => {
                eprintln!("xtask verify: expected no arguments, or --live NAME\n\n{USAGE}");
                ExitCode::from(2)
            }
        },
        Some("bench") => bench::run(&args[1..]),
        Some("bench-run") => bench::run_inner(&args[1..]),
        Some("-h" | "--help" | "help") => {
            println!("{USAGE}");
            ExitCode::SUCCESS
        }
        other => {
            match other {
                Some(cmd) => eprintln!("xtask: unknown command {cmd:?}\n\n{USAGE}"),
                None => eprintln!("{USAGE}"),
            }
            ExitCode::from(2)
        }
    }
}

/// Runs the CI steps in order, stopping at the first failure.
fn ci() -> ExitCode {
    let steps: [&[&str]; 3] = [
        &["fmt", "--all", "--check"],
        &["clippy", "--workspace", "--all-targets", "--", "-D", "warnings"],
        &["test", "--workspace"],
    ];
    for args in steps {
        eprintln!("xtask ci: cargo {}", args.join(" "));
        let status = Command::new(cargo()).args(args).current_dir(root()).status();
        match status {
            Ok(status) if status.success() => {}
            Ok(status) => {
                eprintln!("xtask ci: `cargo {}` failed ({status})", args.join(" "));
                return ExitCode::FAILURE;
            }
            Err(err) => {
                eprintln!("xtask ci: could not run cargo: {err}");
                return ExitCode::FAILURE;
            }
        }
    }
    ExitCode::SUCCESS
}

/// The cargo that invoked us, so the same toolchain runs every step.
pub(crate) fn cargo() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".into())
}

/// The workspace root.
pub(crate) fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().map_or_else(|| ".".into(), Path::to_path_buf)
}
