//! What the store keeps: connections (a connector, non-secret config and
//! sealed secrets), and the traits a backend implements.

use std::collections::BTreeMap;
use std::fmt;

use async_trait::async_trait;
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Map, Value};

use crate::error::StoreError;

/// The longest connection name, in characters.
pub const MAX_NAME_LEN: usize = 64;

/// Checks a connection name: 1 to 64 ASCII letters, digits, `-`, `_` or
/// `.`, starting with a letter or digit.
pub fn validate_name(name: &str) -> Result<(), StoreError> {
    let invalid =
        |why: &str| Err(StoreError::InvalidName { name: name.to_owned(), why: why.to_owned() });
    if name.is_empty() {
        return invalid("it is empty");
    }
    if name.chars().count() > MAX_NAME_LEN {
        return invalid("it is longer than 64 characters");
    }
    if !name.starts_with(|c: char| c.is_ascii_alphanumeric()) {
        return invalid("it must start with a letter or digit");
    }
    if let Some(bad) =
        name.chars().find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
    {
        return invalid(&format!("the character {bad:?} is not allowed"));
    }
    Ok(())
}

/// A connection's secrets by name (`consumer_key`, …). `Debug` shows the
/// names only.
#[derive(Default)]
pub struct Secrets(BTreeMap<String, SecretString>);

impl Secrets {
    /// No secrets.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds or replaces one.
    pub fn insert(&mut self, name: impl Into<String>, value: SecretString) {
        self.0.insert(name.into(), value);
    }

    /// One secret by name.
    pub fn get(&self, name: &str) -> Option<&SecretString> {
        self.0.get(name)
    }

    /// The names and secrets, in name order.
    pub fn iter(&self) -> impl Iterator<Item = (&String, &SecretString)> {
        self.0.iter()
    }

    /// How many there are.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The plaintext encoding that gets sealed: for each secret, a 2-byte
    /// name length, the name, a 4-byte value length, the value.
    pub(crate) fn encode(&self) -> zeroize::Zeroizing<Vec<u8>> {
        let mut out = zeroize::Zeroizing::new(Vec::new());
        for (name, value) in &self.0 {
            let value = value.expose_secret().as_bytes();
            out.extend_from_slice(&u16::try_from(name.len()).unwrap_or(u16::MAX).to_be_bytes());
            out.extend_from_slice(name.as_bytes());
            out.extend_from_slice(&u32::try_from(value.len()).unwrap_or(u32::MAX).to_be_bytes());
            out.extend_from_slice(value);
        }
        out
    }

    /// Reverses [`Secrets::encode`]; `None` if the bytes are not an encoding.
    pub(crate) fn decode(mut bytes: &[u8]) -> Option<Self> {
        fn take<'a>(bytes: &mut &'a [u8], n: usize) -> Option<&'a [u8]> {
            let (head, rest) = (bytes.get(..n)?, bytes.get(n..)?);
            *bytes = rest;
            Some(head)
        }
        let mut secrets = Self::new();
        while !bytes.is_empty() {
            let len = usize::from(u16::from_be_bytes(take(&mut bytes, 2)?.try_into().ok()?));
            let name = std::str::from_utf8(take(&mut bytes, len)?).ok()?.to_owned();
            let len =
                usize::try_from(u32::from_be_bytes(take(&mut bytes, 4)?.try_into().ok()?)).ok()?;
            let value = String::from_utf8(take(&mut bytes, len)?.to_vec()).ok()?;
            secrets.insert(name, SecretString::from(value));
        }
        Some(secrets)
    }
}

impl fmt::Debug for Secrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.0.keys().map(|k| (k, "[redacted]"))).finish()
    }
}

impl<K: Into<String>> FromIterator<(K, SecretString)> for Secrets {
    fn from_iter<I: IntoIterator<Item = (K, SecretString)>>(iter: I) -> Self {
        Self(iter.into_iter().map(|(k, v)| (k.into(), v)).collect())
    }
}

/// What is known about a stored connection without opening its secrets.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ConnectionInfo {
    /// Its name.
    pub name: String,
    /// Its connector (`netsuite`).
    pub connector: String,
    /// Its non-secret configuration (`account_id`, `base_url`, …).
    pub config: Map<String, Value>,
    /// A short keyed fingerprint per secret, to tell which token is stored
    /// without showing it. Changes when the master key is rotated.
    pub fingerprints: BTreeMap<String, String>,
    /// The id of the master key its secrets are sealed with.
    pub key_id: String,
    /// When it was first stored, in Unix seconds.
    pub created_at: i64,
    /// When it was last replaced, in Unix seconds.
    pub updated_at: i64,
}

/// A stored connection with its secrets opened.
#[derive(Debug)]
pub struct Connection {
    /// Everything but the secrets.
    pub info: ConnectionInfo,
    /// The secrets.
    pub secrets: Secrets,
}

/// A connection to store.
#[derive(Debug)]
pub struct NewConnection<'a> {
    /// Its name (see [`validate_name`]).
    pub name: &'a str,
    /// Its connector.
    pub connector: &'a str,
    /// Its non-secret configuration.
    pub config: Map<String, Value>,
    /// Its secrets, sealed before they are written.
    pub secrets: &'a Secrets,
}

/// Whether [`CredentialStore::put`] may replace an existing connection.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PutOptions {
    /// Replace a connection of the same name (keeping its creation time).
    pub replace: bool,
}

/// What a key rotation did.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RotationReport {
    /// How many connections were re-sealed.
    pub rewritten: usize,
    /// The id of the key everything is now sealed with.
    pub key_id: String,
    /// The ids of keys that are no longer needed.
    pub retired: Vec<String>,
    /// Where the keys live, and what the operator still has to do.
    pub note: String,
}

/// Where connections and their secrets are kept. The SQLite store is the
/// embedded default; a PostgreSQL store for multi-instance deployments
/// implements the same trait.
#[async_trait]
pub trait CredentialStore: Send + Sync {
    /// Stores a connection, sealing its secrets. Fails with
    /// [`StoreError::Exists`] if the name is taken and `opts.replace` is not
    /// set, and with [`StoreError::InvalidName`] for a bad name; nothing
    /// stored is changed by a failed put.
    async fn put(
        &self,
        connection: NewConnection<'_>,
        opts: PutOptions,
    ) -> Result<ConnectionInfo, StoreError>;

    /// A connection with its secrets opened.
    async fn get(&self, name: &str) -> Result<Connection, StoreError>;

    /// Every connection, by name, without secrets.
    async fn list(&self) -> Result<Vec<ConnectionInfo>, StoreError>;

    /// Removes a connection; [`StoreError::NotFound`] if there is none.
    async fn remove(&self, name: &str) -> Result<(), StoreError>;

    /// Re-seals every connection under the sealing key in one transaction
    /// (with a key file: under a freshly made key), then retires the old
    /// keys. Every connection stays readable throughout.
    async fn rotate(&self) -> Result<RotationReport, StoreError>;
}
