//! Where the store lives and where its key comes from: Forge's home
//! directory and the master key sources, read from the environment.

use std::path::PathBuf;

use secrecy::SecretString;

use crate::error::StoreError;

/// The store's location and key sources.
#[derive(Debug, Clone)]
pub struct StoreOptions {
    /// Forge's home directory: the database and, by default, the key file.
    pub home: PathBuf,
    /// The master keys given directly (`FORGE_MASTER_KEY`): base64 of 32
    /// bytes, several separated by commas during a rotation, the sealing
    /// key first. Takes precedence over the key file.
    pub master_key: Option<SecretString>,
    /// The key file (`FORGE_MASTER_KEY_FILE`, default `master.key` in the
    /// home directory), made on first use when no key is given.
    pub master_key_file: Option<PathBuf>,
}

impl StoreOptions {
    /// A store in `home`, with the key file in it.
    pub fn in_dir(home: impl Into<PathBuf>) -> Self {
        Self { home: home.into(), master_key: None, master_key_file: None }
    }

    /// Reads `FORGE_HOME` (else the platform's per-user data directory),
    /// `FORGE_MASTER_KEY` and `FORGE_MASTER_KEY_FILE`.
    pub fn from_env() -> Result<Self, StoreError> {
        let home = match std::env::var_os("FORGE_HOME") {
            Some(home) if !home.is_empty() => PathBuf::from(home),
            _ => directories::ProjectDirs::from("", "", "forge")
                .map(|dirs| dirs.data_dir().to_owned())
                .ok_or_else(|| {
                    StoreError::io(
                        "could not find a home directory for Forge's data",
                        std::io::Error::other("set FORGE_HOME to the directory Forge should use"),
                    )
                })?,
        };
        let master_key = std::env::var("FORGE_MASTER_KEY")
            .ok()
            .filter(|k| !k.trim().is_empty())
            .map(SecretString::from);
        let master_key_file =
            std::env::var_os("FORGE_MASTER_KEY_FILE").filter(|f| !f.is_empty()).map(PathBuf::from);
        Ok(Self { home, master_key, master_key_file })
    }

    /// The key file in effect.
    pub fn key_file(&self) -> PathBuf {
        self.master_key_file.clone().unwrap_or_else(|| self.home.join("master.key"))
    }

    /// The database file.
    pub fn database(&self) -> PathBuf {
        self.home.join("forge.db")
    }
}
