//! Running the real `forge` binary against an in-process NetSuite
//! simulator, each test in its own temporary `FORGE_HOME`.

#![allow(dead_code, unreachable_pub)]

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};

use forge_netsuite_sim::SimHandle;
use tokio::io::AsyncWriteExt;

/// The `forge` binary, built fresh from the workspace's sources once per
/// test binary (a no-op when `cargo test --workspace` already built it), so
/// these tests never run a stale binary.
pub fn forge_binary() -> PathBuf {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT
        .get_or_init(|| {
            let exe = std::env::current_exe().expect("the test's own path");
            let dir =
                exe.parent().and_then(Path::parent).expect("target/<profile>/deps").to_owned();
            let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
            let mut build = std::process::Command::new(cargo);
            build.args(["build", "--quiet", "--package", "forge-cli", "--bin", "forge"]);
            if dir.file_name().is_some_and(|name| name == "release") {
                build.arg("--release");
            }
            let status = build.status().expect("cargo runs");
            assert!(status.success(), "building the forge binary failed");
            let forge = dir.join("forge");
            assert!(forge.exists(), "{} is missing after the build", forge.display());
            forge
        })
        .clone()
}

/// A private `FORGE_HOME`, removed on drop.
pub struct Home(pub PathBuf);

impl Home {
    pub fn new() -> Self {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let path = std::env::temp_dir().join(format!(
            "forge-e2e-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::SeqCst)
        ));
        let _ = std::fs::remove_dir_all(&path);
        Self(path)
    }
}

impl Drop for Home {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// What one run of `forge` did.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn all(&self) -> String {
        format!("{}{}", self.stdout, self.stderr)
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.stdout))
    }
}

/// The NETSUITE_* variables holding `sim`'s secrets.
pub fn secret_env(sim: &SimHandle) -> Vec<(&'static str, String)> {
    let names = [
        "NETSUITE_CONSUMER_KEY",
        "NETSUITE_CONSUMER_SECRET",
        "NETSUITE_TOKEN_ID",
        "NETSUITE_TOKEN_SECRET",
    ];
    names.into_iter().zip(sim.secrets()).collect()
}

/// Runs `forge args…` in `home`, with extra environment and optional
/// standard input.
pub async fn forge(
    home: &Home,
    args: &[&str],
    env: &[(&str, String)],
    stdin: Option<String>,
) -> Run {
    let mut command = tokio::process::Command::new(forge_binary());
    command
        .args(args)
        .env("FORGE_HOME", &home.0)
        .env_remove("FORGE_MASTER_KEY")
        .env_remove("FORGE_MASTER_KEY_FILE")
        .env_remove("RUST_LOG")
        .stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for name in [
        "NETSUITE_CONSUMER_KEY",
        "NETSUITE_CONSUMER_SECRET",
        "NETSUITE_TOKEN_ID",
        "NETSUITE_TOKEN_SECRET",
    ] {
        command.env_remove(name);
    }
    for (name, value) in env {
        command.env(name, value);
    }
    let mut child = command.spawn().expect("forge runs");
    if let (Some(text), Some(mut pipe)) = (stdin, child.stdin.take()) {
        pipe.write_all(text.as_bytes()).await.unwrap();
    }
    let output = child.wait_with_output().await.unwrap();
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// `forge connect netsuite --from-env` to `sim` as connection `name`.
pub async fn connect(home: &Home, sim: &SimHandle, name: &str, account_id: &str) -> Run {
    connect_with(home, sim, name, account_id, &[]).await
}

/// The same, with `extra` flags (`--no-check`, `--concurrency N`…).
pub async fn connect_with(
    home: &Home,
    sim: &SimHandle,
    name: &str,
    account_id: &str,
    extra: &[&str],
) -> Run {
    let mut args = vec!["connect", "netsuite", "--name", name, "--account-id", account_id];
    args.extend(["--base-url", sim.base_url(), "--from-env"]);
    args.extend_from_slice(extra);
    forge(home, &args, &secret_env(sim), None).await
}
