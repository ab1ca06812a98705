//! `cargo xtask verify`: builds the `forge` binary, starts the NetSuite
//! simulator in this process, connects to it through a temporary
//! `FORGE_HOME` exactly as a user would, and runs `forge verify`. With
//! `--live NAME` it runs the proof against a stored connection instead, and
//! fails (never skips) when it cannot.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::Instant;

use forge_netsuite_sim::{SimConfig, Simulator};

use crate::harness::{TempDir, connect_to_sim};

/// Builds `forge` and returns the path of the binary.
fn build_forge() -> Result<PathBuf, String> {
    let started = Instant::now();
    eprintln!("xtask verify: building the forge binary…");
    let status = Command::new(crate::cargo())
        .args(["build", "--quiet", "--package", "forge-cli", "--bin", "forge"])
        .current_dir(crate::root())
        .status()
        .map_err(|e| format!("could not run cargo: {e}"))?;
    if !status.success() {
        return Err("building forge failed (see above)".into());
    }
    let metadata = Command::new(crate::cargo())
        .args(["metadata", "--format-version", "1", "--no-deps"])
        .current_dir(crate::root())
        .output()
        .map_err(|e| format!("could not run cargo metadata: {e}"))?;
    let metadata: serde_json::Value = serde_json::from_slice(&metadata.stdout)
        .map_err(|e| format!("cargo metadata gave no JSON: {e}"))?;
    let target =
        metadata["target_directory"].as_str().ok_or("cargo metadata has no target_directory")?;
    let forge = Path::new(target).join("debug").join("forge");
    eprintln!("xtask verify: built in {:.1} s", started.elapsed().as_secs_f64());
    Ok(forge)
}

/// The offline proof against the bundled simulator.
pub(crate) fn offline() -> ExitCode {
    match run_offline() {
        Ok(code) => code,
        Err(message) => {
            eprintln!("xtask verify: {message}");
            ExitCode::FAILURE
        }
    }
}

fn run_offline() -> Result<ExitCode, String> {
    let started = Instant::now();
    let forge = build_forge()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| format!("could not start a runtime: {e}"))?;
    let sim = runtime
        .block_on(Simulator::start(SimConfig::default()))
        .map_err(|e| format!("could not start the simulator: {e}"))?;
    println!(
        "NetSuite simulator for account {} listening at {} (it checks every signature)",
        sim.account_id(),
        sim.base_url()
    );
    let home = TempDir::new("verify")?;

    // Connect exactly as a user would: the secrets on standard input, the
    // credential check against the simulator, sealed into the store.
    connect_to_sim(&forge, &home.0, &sim, "simulator", "1234567-sb1", &[], false)?;

    let proof = Command::new(&forge)
        .args(["verify", "simulator"])
        .env("FORGE_HOME", &home.0)
        .env_remove("FORGE_MASTER_KEY")
        .env_remove("FORGE_MASTER_KEY_FILE")
        .status()
        .map_err(|e| format!("could not run forge verify: {e}"))?;
    let failures = sim.auth_failures();
    println!(
        "simulator: {} request(s), {} refused login(s) (the proof's wrong-secret step expects exactly one); \
         xtask verify took {:.1} s in all",
        sim.requests(),
        failures.len(),
        started.elapsed().as_secs_f64()
    );
    runtime.block_on(sim.stop());
    Ok(if proof.success() { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

/// The proof against a stored connection to a real account.
pub(crate) fn live(name: &str) -> ExitCode {
    let forge = match build_forge() {
        Ok(forge) => forge,
        Err(message) => {
            eprintln!("xtask verify --live: {message}");
            return ExitCode::FAILURE;
        }
    };
    eprintln!(
        "xtask verify --live: proving stored connection {name:?} against the real account; nothing is skipped"
    );
    match Command::new(&forge).args(["verify", name]).status() {
        Ok(status) if status.success() => ExitCode::SUCCESS,
        Ok(_) => {
            eprintln!("xtask verify --live: the live proof FAILED or could not run (see above)");
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("xtask verify --live: could not run {}: {e}", forge.display());
            ExitCode::FAILURE
        }
    }
}
