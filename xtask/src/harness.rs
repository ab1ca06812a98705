//! What `verify` and `bench` share: a temporary directory and connecting the
//! `forge` binary to an in-process simulator the way a user would.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use forge_netsuite_sim::SimHandle;

/// A fresh private directory, removed on drop.
pub(crate) struct TempDir(pub(crate) PathBuf);

impl TempDir {
    /// `forge-xtask-<label>-<pid>` in the system's temporary directory.
    pub(crate) fn new(label: &str) -> Result<Self, String> {
        let path = std::env::temp_dir().join(format!("forge-xtask-{label}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path)
            .map_err(|e| format!("could not create {}: {e}", path.display()))?;
        Ok(Self(path))
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Runs `forge connect netsuite --stdin` against `sim` in `home`, passing
/// the simulator's secrets on standard input, with `extra` flags. With
/// `quiet`, forge's output is kept back and shown only if it fails.
pub(crate) fn connect_to_sim(
    forge: &Path,
    home: &Path,
    sim: &SimHandle,
    name: &str,
    account_id: &str,
    extra: &[&str],
    quiet: bool,
) -> Result<(), String> {
    let output = |quiet| if quiet { Stdio::piped() } else { Stdio::inherit() };
    let mut connect = Command::new(forge)
        .args(["connect", "netsuite", "--name", name, "--account-id", account_id])
        .args(["--base-url", sim.base_url(), "--stdin"])
        .args(extra)
        .env("FORGE_HOME", home)
        .env_remove("FORGE_MASTER_KEY")
        .env_remove("FORGE_MASTER_KEY_FILE")
        .stdin(Stdio::piped())
        .stdout(output(quiet))
        .stderr(output(quiet))
        .spawn()
        .map_err(|e| format!("could not run {}: {e}", forge.display()))?;
    if let Some(mut stdin) = connect.stdin.take() {
        for secret in sim.secrets() {
            writeln!(stdin, "{secret}").map_err(|e| format!("could not pass the secrets: {e}"))?;
        }
    }
    let done =
        connect.wait_with_output().map_err(|e| format!("forge connect did not finish: {e}"))?;
    if done.status.success() {
        Ok(())
    } else {
        Err(format!("`forge connect` failed: {}", String::from_utf8_lossy(&done.stderr).trim()))
    }
}
