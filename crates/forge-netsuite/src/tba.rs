//! Token-Based Authentication: OAuth 1.0a (RFC 5849) signatures with
//! HMAC-SHA256, as NetSuite checks them.
//!
//! [`sign`] is a pure function: no clock, no random numbers, no HTTP client.
//! The caller passes the nonce and timestamp ([`nonce`] and [`timestamp`]
//! make fresh ones), which is what lets the tests pin them and compare every
//! stage — base string, signature, header — with published vectors.

use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine;
use forge_core::{Error, ErrorKind};
use hmac::{Hmac, KeyInit, Mac};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use secrecy::{ExposeSecret, SecretString};
use sha2::Sha256;
use url::Url;
use zeroize::Zeroizing;

/// The characters RFC 3986 leaves unencoded (`A–Z a–z 0–9 - . _ ~`); OAuth
/// encodes every other byte as `%XX` with upper-case hex.
const OAUTH_ENCODE: &AsciiSet =
    &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');

/// The signature method NetSuite accepts (HMAC-SHA1 ended in 2023.1).
pub const SIGNATURE_METHOD: &str = "HMAC-SHA256";

/// Percent-encodes `input` the OAuth way (RFC 5849 §3.6): UTF-8, then every
/// byte outside `A–Z a–z 0–9 - . _ ~` as `%XX`. A space is `%20`, never `+`.
///
/// ```
/// assert_eq!(forge_netsuite::tba::encode("a b+c/ü"), "a%20b%2Bc%2F%C3%BC");
/// ```
pub fn encode(input: &str) -> String {
    utf8_percent_encode(input, OAUTH_ENCODE).to_string()
}

/// The four TBA secrets: consumer key and secret from the integration
/// record, token id and secret from the access token.
///
/// They are held as [`SecretString`]s (zeroized on drop) and `Debug` prints
/// none of them.
pub struct Credentials {
    consumer_key: SecretString,
    consumer_secret: SecretString,
    token_id: SecretString,
    token_secret: SecretString,
}

impl Credentials {
    /// Holds the four secrets as given.
    pub fn new(
        consumer_key: SecretString,
        consumer_secret: SecretString,
        token_id: SecretString,
        token_secret: SecretString,
    ) -> Self {
        Self { consumer_key, consumer_secret, token_id, token_secret }
    }

    /// The consumer key.
    pub fn consumer_key(&self) -> &SecretString {
        &self.consumer_key
    }

    /// The consumer secret.
    pub fn consumer_secret(&self) -> &SecretString {
        &self.consumer_secret
    }

    /// The token id.
    pub fn token_id(&self) -> &SecretString {
        &self.token_id
    }

    /// The token secret.
    pub fn token_secret(&self) -> &SecretString {
        &self.token_secret
    }
}

/// From the four secrets in the order NetSuite shows them: consumer key,
/// consumer secret, token id, token secret.
impl From<[String; 4]> for Credentials {
    fn from([consumer_key, consumer_secret, token_id, token_secret]: [String; 4]) -> Self {
        Self::new(consumer_key.into(), consumer_secret.into(), token_id.into(), token_secret.into())
    }
}

impl Clone for Credentials {
    fn clone(&self) -> Self {
        let copy = |s: &SecretString| SecretString::from(s.expose_secret());
        Self::new(
            copy(&self.consumer_key),
            copy(&self.consumer_secret),
            copy(&self.token_id),
            copy(&self.token_secret),
        )
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("consumer_key", &"[redacted]")
            .field("consumer_secret", &"[redacted]")
            .field("token_id", &"[redacted]")
            .field("token_secret", &"[redacted]")
            .finish()
    }
}

/// Everything that goes into one signature.
pub struct SignInput<'a> {
    /// The HTTP method (`GET`); upper-cased for signing.
    pub method: &'a str,
    /// The URL exactly as it will be sent, query included.
    pub url: &'a Url,
    /// The account's realm (`1234567_SB1`): sent in the header, not signed.
    pub realm: &'a str,
    /// The four secrets.
    pub credentials: &'a Credentials,
    /// A value never used before with this timestamp (NetSuite: 6–64
    /// alphanumeric characters).
    pub nonce: &'a str,
    /// Seconds since the Unix epoch; NetSuite refuses more than 5 minutes
    /// off its clock.
    pub timestamp: u64,
}

/// The three stages of a signature, each checked separately by the tests.
///
/// `Debug` redacts all three: the base string and header carry the consumer
/// key and token id. Print them on purpose (`forge netsuite sign`), never by
/// accident.
#[derive(Clone, PartialEq, Eq)]
pub struct Signed {
    /// The signature base string (RFC 5849 §3.4.1).
    pub base_string: String,
    /// base64 of HMAC-SHA256 over the base string (not percent-encoded).
    pub signature: String,
    /// The value of the `Authorization` header.
    pub authorization: String,
}

impl fmt::Debug for Signed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Signed")
            .field("base_string", &"[redacted]")
            .field("signature", &"[redacted]")
            .field("authorization", &"[redacted]")
            .finish()
    }
}

/// Signs one request: returns its base string, signature and Authorization
/// header. Pure: the same input always gives the same output.
pub fn sign(input: &SignInput<'_>) -> Signed {
    let credentials = input.credentials;
    let timestamp = input.timestamp.to_string();
    let protocol = [
        ("oauth_consumer_key", credentials.consumer_key.expose_secret()),
        ("oauth_nonce", input.nonce),
        ("oauth_signature_method", SIGNATURE_METHOD),
        ("oauth_timestamp", timestamp.as_str()),
        ("oauth_token", credentials.token_id.expose_secret()),
        ("oauth_version", "1.0"),
    ];
    let base_string = base_string(input.method, input.url, &protocol, &[]);
    let key = Zeroizing::new(format!(
        "{}&{}",
        encode(credentials.consumer_secret.expose_secret()),
        encode(credentials.token_secret.expose_secret())
    ));
    let signature = hmac_sha256_base64(key.as_bytes(), base_string.as_bytes());
    let authorization = format!(
        "OAuth realm=\"{}\", oauth_consumer_key=\"{}\", oauth_token=\"{}\", \
         oauth_signature_method=\"{SIGNATURE_METHOD}\", oauth_timestamp=\"{timestamp}\", \
         oauth_nonce=\"{}\", oauth_version=\"1.0\", oauth_signature=\"{}\"",
        encode(input.realm),
        encode(credentials.consumer_key.expose_secret()),
        encode(credentials.token_id.expose_secret()),
        encode(input.nonce),
        encode(&signature),
    );
    Signed { base_string, signature, authorization }
}

/// The signature base string (RFC 5849 §3.4.1) of a request:
/// `METHOD & enc(base URI) & enc(sorted parameters)`.
///
/// The base URI is the URL's scheme and host in lower case, its port unless
/// it is the scheme's default, and its path as sent; no query or fragment.
/// The parameters are `protocol` (the `oauth_*` pairs, raw), every query
/// parameter of the URL (decoded as form data, so `+` is a space), and
/// `form_body` (decoded pairs of a form body, for non-NetSuite vectors), each
/// name and value percent-encoded, sorted by encoded name then value, and
/// joined as `k=v` with `&`.
pub fn base_string(
    method: &str,
    url: &Url,
    protocol: &[(&str, &str)],
    form_body: &[(String, String)],
) -> String {
    let mut params: Vec<(String, String)> =
        protocol.iter().map(|(name, value)| (encode(name), encode(value))).collect();
    if let Some(query) = url.query() {
        params.extend(
            url::form_urlencoded::parse(query.as_bytes())
                .map(|(name, value)| (encode(&name), encode(&value))),
        );
    }
    params.extend(form_body.iter().map(|(name, value)| (encode(name), encode(value))));
    params.sort_unstable();
    let joined: Vec<String> =
        params.into_iter().map(|(name, value)| format!("{name}={value}")).collect();
    format!(
        "{}&{}&{}",
        method.to_ascii_uppercase(),
        encode(&base_uri(url)),
        encode(&joined.join("&"))
    )
}

/// `scheme://host[:port]/path`, lower-case scheme and host, default port
/// left out.
fn base_uri(url: &Url) -> String {
    let host = url.host_str().unwrap_or_default().to_ascii_lowercase();
    let port = url.port().map(|p| format!(":{p}")).unwrap_or_default();
    format!("{}://{host}{port}{}", url.scheme().to_ascii_lowercase(), url.path())
}

/// base64 (standard alphabet, padded) of HMAC-SHA256(`key`, `message`).
pub fn hmac_sha256_base64(key: &[u8], message: &[u8]) -> String {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(key)
        .unwrap_or_else(|_| unreachable!("HMAC accepts keys of any length"));
    mac.update(message);
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

/// The nonce length Forge uses (NetSuite accepts 6–64).
pub const NONCE_LEN: usize = 32;

/// A fresh nonce: [`NONCE_LEN`] alphanumeric characters from the operating
/// system's CSPRNG, drawn without bias.
///
/// Fails with [`ErrorKind::Unexpected`] only if the OS cannot supply random
/// bytes.
pub fn nonce() -> Result<String, Error> {
    const ALPHABET: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let mut out = String::with_capacity(NONCE_LEN);
    while out.len() < NONCE_LEN {
        let mut bytes = [0u8; 48];
        getrandom::fill(&mut bytes).map_err(|e| {
            Error::new(ErrorKind::Unexpected, format!("the OS random number source failed: {e}"))
        })?;
        // 248 = 4 × 62: rejecting bytes at or above it keeps every character
        // equally likely.
        for byte in bytes.into_iter().filter(|b| *b < 248) {
            if out.len() == NONCE_LEN {
                break;
            }
            out.push(char::from(ALPHABET[usize::from(byte % 62)]));
        }
    }
    Ok(out)
}

/// Checks a caller-chosen nonce against NetSuite's rule: 6 to 64 ASCII
/// letters and digits.
pub fn validate_nonce(nonce: &str) -> Result<(), Error> {
    if (6..=64).contains(&nonce.len()) && nonce.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Ok(());
    }
    Err(Error::new(
        ErrorKind::InvalidInput,
        format!("invalid nonce {nonce:?}: NetSuite accepts 6 to 64 ASCII letters and digits"),
    )
    .with_hint("leave the nonce out and a fresh one is generated"))
}

/// Seconds since the Unix epoch by this machine's clock.
pub fn timestamp() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoding_follows_rfc_3986() {
        assert_eq!(encode("AZaz09-._~"), "AZaz09-._~");
        assert_eq!(encode(" !*'()"), "%20%21%2A%27%28%29");
        assert_eq!(encode("=&%+"), "%3D%26%25%2B");
        assert_eq!(encode("日"), "%E6%97%A5");
    }

    #[test]
    fn nonces_are_fresh_alphanumeric_and_valid() {
        let a = nonce().unwrap();
        let b = nonce().unwrap();
        assert_eq!(a.len(), NONCE_LEN);
        assert!(a.bytes().all(|c| c.is_ascii_alphanumeric()));
        assert_ne!(a, b);
        validate_nonce(&a).unwrap();
        assert!(validate_nonce("short").is_err());
        assert!(validate_nonce("has space!").is_err());
        assert!(validate_nonce(&"a".repeat(65)).is_err());
    }

    #[test]
    fn debug_redacts_everything() {
        let creds = Credentials::new("ck".into(), "cs".into(), "tk".into(), "ts".into());
        let text = format!("{creds:?}");
        assert!(!text.contains("ck\"") && !text.contains("cs\"") && text.contains("[redacted]"));
    }
}
