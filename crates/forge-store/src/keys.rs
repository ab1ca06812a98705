//! Master keys: where they come from, their ids, and the per-purpose keys
//! derived from them with HKDF.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use base64::Engine;
use hkdf::Hkdf;
use hmac::{Hmac, KeyInit, Mac};
use secrecy::{ExposeSecret, SecretString};
use sha2::Sha256;
use zeroize::{Zeroize, Zeroizing};

use crate::error::StoreError;

/// Identifies a master key without revealing it: 32 bits derived from the
/// key with HKDF, shown as 8 hex digits.
pub type KeyId = u32;

/// One master key with its id.
pub struct MasterKey {
    id: KeyId,
    key: Zeroizing<[u8; 32]>,
}

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "MasterKey({:08x}, [redacted])", self.id)
    }
}

impl MasterKey {
    fn new(key: [u8; 32]) -> Self {
        let key = Zeroizing::new(key);
        let mut id = [0u8; 4];
        derive(&key, b"forge-store/v1/key-id", &mut id);
        Self { id: u32::from_be_bytes(id), key }
    }

    /// A fresh key from the OS CSPRNG.
    pub fn generate() -> Result<Self, StoreError> {
        let mut key = [0u8; 32];
        getrandom::fill(&mut key).map_err(|e| {
            StoreError::io("the OS random source failed", std::io::Error::other(e.to_string()))
        })?;
        let master = Self::new(key);
        key.zeroize();
        Ok(master)
    }

    /// The key's id.
    pub fn id(&self) -> KeyId {
        self.id
    }

    /// The key that seals connection secrets.
    pub(crate) fn sealing_key(&self) -> Zeroizing<[u8; 32]> {
        let mut out = Zeroizing::new([0u8; 32]);
        derive(&self.key, b"forge-store/v1/sealing", out.as_mut());
        out
    }

    /// A short keyed fingerprint of a secret: tells two secrets apart
    /// without revealing either.
    pub(crate) fn fingerprint(&self, secret: &str) -> String {
        let mut key = Zeroizing::new([0u8; 32]);
        derive(&self.key, b"forge-store/v1/fingerprint", key.as_mut());
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(key.as_ref())
            .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
        mac.update(secret.as_bytes());
        let tag = mac.finalize().into_bytes();
        tag[..4].iter().map(|b| format!("{b:02x}")).collect()
    }

    fn to_base64(&self) -> Zeroizing<String> {
        Zeroizing::new(base64::engine::general_purpose::STANDARD.encode(self.key.as_ref()))
    }
}

fn derive(ikm: &[u8; 32], info: &[u8], out: &mut [u8]) {
    Hkdf::<Sha256>::new(Some(b"forge-store"), ikm)
        .expand(info, out)
        .unwrap_or_else(|_| unreachable!("32 bytes is a valid HKDF-SHA256 output length"));
}

/// Where the master keys came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeySource {
    /// `FORGE_MASTER_KEY`.
    Env,
    /// A key file.
    File(PathBuf),
}

impl std::fmt::Display for KeySource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            KeySource::Env => f.write_str("FORGE_MASTER_KEY"),
            KeySource::File(path) => write!(f, "key file {}", path.display()),
        }
    }
}

/// The master keys in use: the first seals, all of them open (so a rotation
/// can be finished without losing access).
#[derive(Debug)]
pub struct KeyRing {
    keys: Vec<MasterKey>,
    source: KeySource,
}

impl KeyRing {
    /// Parses keys: base64 of 32 bytes each, separated by commas or new
    /// lines, the sealing key first.
    pub fn parse(text: &str, source: KeySource) -> Result<Self, StoreError> {
        let bad = |why: String| StoreError::BadKey { source_name: source.to_string(), why };
        let mut keys = Vec::new();
        for part in text.split([',', '\n']).map(str::trim).filter(|p| !p.is_empty()) {
            let bytes = Zeroizing::new(
                base64::engine::general_purpose::STANDARD
                    .decode(part)
                    .map_err(|_| bad("it is not base64".into()))?,
            );
            let key: [u8; 32] = bytes
                .as_slice()
                .try_into()
                .map_err(|_| bad(format!("it decodes to {} bytes, not 32", bytes.len())))?;
            keys.push(MasterKey::new(key));
        }
        if keys.is_empty() {
            return Err(bad("it is empty".into()));
        }
        Ok(Self { keys, source })
    }

    /// Reads `FORGE_MASTER_KEY`'s value if given, else the key file; makes
    /// a new key file only when `may_create` (the store holds no sealed
    /// data), and otherwise reports the key as missing.
    pub fn load(
        env_key: Option<&SecretString>,
        key_file: &Path,
        may_create: bool,
    ) -> Result<Option<Self>, StoreError> {
        if let Some(value) = env_key {
            return Self::parse(value.expose_secret(), KeySource::Env).map(Some);
        }
        let read = || match fs::read_to_string(key_file) {
            Ok(text) => {
                Self::parse(&Zeroizing::new(text), KeySource::File(key_file.to_owned())).map(Some)
            }
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(err) => Err(StoreError::io(format!("could not read {}", key_file.display()), err)),
        };
        if let Some(ring) = read()? {
            return Ok(Some(ring));
        }
        if !may_create {
            return Ok(None);
        }
        let ring = Self {
            keys: vec![MasterKey::generate()?],
            source: KeySource::File(key_file.to_owned()),
        };
        if ring.create_file(key_file)? {
            return Ok(Some(ring));
        }
        // Another process made the key file first: use its key.
        read()
    }

    /// The sealing key.
    pub fn primary(&self) -> &MasterKey {
        &self.keys[0]
    }

    /// The key with this id, if supplied.
    pub fn get(&self, id: KeyId) -> Option<&MasterKey> {
        self.keys.iter().find(|k| k.id == id)
    }

    /// Where the keys came from.
    pub fn source(&self) -> &KeySource {
        &self.source
    }

    /// Puts `key` first; the others stay, to open what they sealed.
    pub(crate) fn push_primary(&mut self, key: MasterKey) {
        self.keys.insert(0, key);
    }

    /// Keeps only the sealing key.
    pub(crate) fn retire_others(&mut self) -> Vec<KeyId> {
        self.keys.drain(1..).map(|k| k.id).collect()
    }

    fn contents(&self) -> Zeroizing<String> {
        let mut text = Zeroizing::new(String::new());
        for key in &self.keys {
            text.push_str(&key.to_base64());
            text.push('\n');
        }
        text
    }

    /// Writes the keys to a new file beside `path` (mode 0600, synced).
    fn write_temp(&self, path: &Path) -> std::io::Result<PathBuf> {
        let temp = path.with_extension(format!("key.{}.tmp", std::process::id()));
        let mut file =
            OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(&temp)?;
        file.write_all(self.contents().as_bytes())?;
        file.sync_all()?;
        Ok(temp)
    }

    /// Creates the key file at `path` with the keys, whole or not at all;
    /// false if a key file already exists there (it is left as it is).
    fn create_file(&self, path: &Path) -> Result<bool, StoreError> {
        let failed =
            |e| StoreError::io(format!("could not create the key file {}", path.display()), e);
        let temp = self.write_temp(path).map_err(failed)?;
        let linked = fs::hard_link(&temp, path);
        let _ = fs::remove_file(&temp);
        match linked {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(false),
            Err(e) => Err(failed(e)),
        }
    }

    /// Replaces the key file at `path` with the keys, atomically.
    pub(crate) fn write_file(&self, path: &Path) -> Result<(), StoreError> {
        let temp = self.write_temp(path).and_then(|temp| fs::rename(&temp, path).map(|()| temp));
        temp.map(|_| ()).map_err(|e| {
            StoreError::io(format!("could not write the key file {}", path.display()), e)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_parse_and_ids_are_stable_and_distinct() {
        let a = base64::engine::general_purpose::STANDARD.encode([1u8; 32]);
        let b = base64::engine::general_purpose::STANDARD.encode([2u8; 32]);
        let ring = KeyRing::parse(&format!("{a}, {b}"), KeySource::Env).unwrap();
        let again = KeyRing::parse(&a, KeySource::Env).unwrap();
        assert_eq!(ring.primary().id(), again.primary().id());
        assert_ne!(ring.keys[0].id(), ring.keys[1].id());
        for bad in ["", "not base64!", &base64::engine::general_purpose::STANDARD.encode([1u8; 16])]
        {
            let err = KeyRing::parse(bad, KeySource::Env).unwrap_err();
            assert!(matches!(err, StoreError::BadKey { .. }), "{bad}: {err}");
            assert!(
                !err.to_string().contains(bad) || bad.is_empty(),
                "the key itself is never echoed"
            );
        }
    }

    #[test]
    fn debug_shows_the_id_only() {
        let key = MasterKey::new([7u8; 32]);
        let text = format!("{key:?}");
        assert!(text.contains("[redacted]") && !text.contains("7, 7"));
    }
}
