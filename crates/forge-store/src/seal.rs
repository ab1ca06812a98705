//! The sealed envelope: XChaCha20-Poly1305 with a random 24-byte nonce,
//! prefixed by a format version and the key id, and bound to its row by the
//! associated data.
//!
//! Layout: `version (1) ‖ key id (4, big-endian) ‖ nonce (24) ‖ ciphertext+tag`.
//! Associated data: `"forge-store" ‖ version ‖ key id ‖ len ‖ connector ‖
//! len ‖ connection name`, so a value copied into another row fails to open.

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use zeroize::Zeroizing;

use crate::error::StoreError;
use crate::keys::{KeyId, KeyRing, MasterKey};

/// The envelope format this code writes.
pub const FORMAT_VERSION: u8 = 1;
const HEADER: usize = 1 + 4 + 24;

/// The row a sealed value belongs to.
#[derive(Debug, Clone, Copy)]
pub struct RowId<'a> {
    /// The connector's name.
    pub connector: &'a str,
    /// The connection's name.
    pub name: &'a str,
}

fn aad(version: u8, kid: KeyId, row: RowId<'_>) -> Vec<u8> {
    let mut aad = b"forge-store".to_vec();
    aad.push(version);
    aad.extend_from_slice(&kid.to_be_bytes());
    for part in [row.connector, row.name] {
        aad.extend_from_slice(&u32::try_from(part.len()).unwrap_or(u32::MAX).to_be_bytes());
        aad.extend_from_slice(part.as_bytes());
    }
    aad
}

/// Seals `plaintext` for `row` under `key`.
pub fn seal(key: &MasterKey, row: RowId<'_>, plaintext: &[u8]) -> Result<Vec<u8>, StoreError> {
    let mut nonce = [0u8; 24];
    getrandom::fill(&mut nonce).map_err(|e| {
        StoreError::io("the OS random source failed", std::io::Error::other(e.to_string()))
    })?;
    let cipher = XChaCha20Poly1305::new_from_slice(key.sealing_key().as_ref())
        .unwrap_or_else(|_| unreachable!("the sealing key is 32 bytes"));
    let aad = aad(FORMAT_VERSION, key.id(), row);
    let ciphertext =
        cipher.encrypt(&XNonce::from(nonce), Payload { msg: plaintext, aad: &aad }).map_err(
            |_| StoreError::io("encryption failed", std::io::Error::other("plaintext too long")),
        )?;
    let mut out = Vec::with_capacity(HEADER + ciphertext.len());
    out.push(FORMAT_VERSION);
    out.extend_from_slice(&key.id().to_be_bytes());
    out.extend_from_slice(&nonce);
    out.extend_from_slice(&ciphertext);
    Ok(out)
}

/// The key id a sealed value names, if it is long enough to have one.
pub fn key_id(sealed: &[u8]) -> Option<KeyId> {
    Some(u32::from_be_bytes(sealed.get(1..5)?.try_into().ok()?))
}

/// Opens a value sealed for `row` with one of `keys`.
///
/// A value that names a key not in the ring is [`StoreError::KeyNotSupplied`];
/// any other damage (a flipped bit anywhere, a value from another row, an
/// unknown format version, a truncated value) is [`StoreError::Tampered`].
pub fn open(
    keys: &KeyRing,
    row: RowId<'_>,
    sealed: &[u8],
) -> Result<Zeroizing<Vec<u8>>, StoreError> {
    let tampered = || StoreError::Tampered(row.name.to_owned());
    if sealed.len() < HEADER + 16 || sealed[0] != FORMAT_VERSION {
        return Err(tampered());
    }
    let kid = key_id(sealed).ok_or_else(tampered)?;
    let key = keys.get(kid).ok_or_else(|| StoreError::KeyNotSupplied {
        name: row.name.to_owned(),
        kid: format!("{kid:08x}"),
    })?;
    let nonce: [u8; 24] = sealed[5..HEADER].try_into().map_err(|_| tampered())?;
    let cipher = XChaCha20Poly1305::new_from_slice(key.sealing_key().as_ref())
        .unwrap_or_else(|_| unreachable!("the sealing key is 32 bytes"));
    let aad = aad(sealed[0], kid, row);
    cipher
        .decrypt(&XNonce::from(nonce), Payload { msg: &sealed[HEADER..], aad: &aad })
        .map(Zeroizing::new)
        .map_err(|_| tampered())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::KeySource;

    fn ring(byte: u8) -> KeyRing {
        use base64::Engine;
        KeyRing::parse(
            &base64::engine::general_purpose::STANDARD.encode([byte; 32]),
            KeySource::Env,
        )
        .unwrap()
    }

    const ROW: RowId<'static> = RowId { connector: "netsuite", name: "prod" };

    #[test]
    fn round_trip_and_every_flipped_bit_is_detected() {
        let keys = ring(1);
        let sealed = seal(keys.primary(), ROW, b"top secret").unwrap();
        assert_eq!(&*open(&keys, ROW, &sealed).unwrap(), b"top secret");
        for bit in 0..sealed.len() * 8 {
            let mut damaged = sealed.clone();
            damaged[bit / 8] ^= 1 << (bit % 8);
            assert!(open(&keys, ROW, &damaged).is_err(), "bit {bit} flipped went unnoticed");
        }
        assert!(matches!(
            open(&keys, ROW, &sealed[..sealed.len() - 1]),
            Err(StoreError::Tampered(_))
        ));
    }

    #[test]
    fn a_value_from_another_row_or_connector_does_not_open() {
        let keys = ring(1);
        let sealed = seal(keys.primary(), ROW, b"x").unwrap();
        let other_name = RowId { name: "staging", ..ROW };
        let other_connector = RowId { connector: "sap", ..ROW };
        assert!(matches!(open(&keys, other_name, &sealed), Err(StoreError::Tampered(_))));
        assert!(matches!(open(&keys, other_connector, &sealed), Err(StoreError::Tampered(_))));
    }

    #[test]
    fn another_key_cannot_open_and_says_which_key_is_needed() {
        let sealed = seal(ring(1).primary(), ROW, b"x").unwrap();
        let err = open(&ring(2), ROW, &sealed).unwrap_err();
        assert!(matches!(err, StoreError::KeyNotSupplied { .. }), "{err}");
    }

    #[test]
    fn nonces_are_fresh() {
        let keys = ring(1);
        assert_ne!(
            seal(keys.primary(), ROW, b"x").unwrap(),
            seal(keys.primary(), ROW, b"x").unwrap()
        );
    }
}
