//! An independent OAuth 1.0a HMAC-SHA256 implementation for the tests:
//! oauth1-request's serializer driven by a recording signature method built
//! directly on `hmac` and `sha2`. It shares no code with the signer.

#![allow(dead_code, unreachable_pub)]

use std::fmt::{Display, Write as _};
use std::num::NonZeroU64;
use std::sync::{Arc, Mutex};

use base64::Engine;
use hmac::{Hmac, KeyInit, Mac};
use oauth::signature_method::{Sign, SignatureMethod};
use oauth1_request as oauth;
use sha2::Sha256;

/// RFC 3986 percent-encoding written out byte by byte, so the oracle shares
/// no code with the signer.
pub fn pct(input: &str) -> String {
    let mut out = String::new();
    for byte in input.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(char::from(byte));
        } else {
            write!(out, "%{byte:02X}").unwrap();
        }
    }
    out
}

/// What the oracle saw: the base string and the raw base64 signature.
pub type Seen = Arc<Mutex<Option<(String, String)>>>;

#[derive(Clone)]
pub struct OracleHmacSha256(Seen);

pub struct Recorder {
    key: String,
    base: String,
    seen: Seen,
}

impl SignatureMethod for OracleHmacSha256 {
    type Sign = Recorder;
    fn sign_with(self, client_secret: &str, token_secret: Option<&str>) -> Recorder {
        let key = format!("{}&{}", pct(client_secret), pct(token_secret.unwrap_or_default()));
        Recorder { key, base: String::new(), seen: self.0 }
    }
}

impl Sign for Recorder {
    type Signature = String;
    fn get_signature_method_name(&self) -> &'static str {
        "HMAC-SHA256"
    }
    fn request_method(&mut self, method: &str) {
        write!(self.base, "{method}&").unwrap();
    }
    fn uri<T: Display>(&mut self, uri: T) {
        write!(self.base, "{uri}&").unwrap();
    }
    fn parameter<V: Display>(&mut self, key: &str, value: V) {
        write!(self.base, "{key}%3D{value}").unwrap();
    }
    fn delimiter(&mut self) {
        self.base.push_str("%26");
    }
    fn end(self) -> String {
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(self.key.as_bytes()).unwrap();
        mac.update(self.base.as_bytes());
        let signature =
            base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
        *self.seen.lock().unwrap() = Some((self.base, signature.clone()));
        pct(&signature)
    }
}

/// The oracle's base string and raw base64 signature for a request.
/// `base_uri` has no query; `params` are the decoded query parameters, whose
/// names must be unique and unreserved (the oracle does not encode names).
pub fn oracle_sign(
    method: &str,
    base_uri: &str,
    params: &[(&str, &str)],
    secrets: &[String; 4],
    nonce: &str,
    timestamp: u64,
) -> (String, String) {
    let seen = Seen::default();
    let [ck, cs, tk, ts] = secrets;
    let mut builder = oauth::Builder::<_, _>::new(
        oauth::Credentials::new(ck.as_str(), cs.as_str()),
        OracleHmacSha256(seen.clone()),
    );
    builder
        .token(oauth::Credentials::new(tk.as_str(), ts.as_str()))
        .nonce(nonce)
        .timestamp(NonZeroU64::new(timestamp))
        .version(true);
    builder.authorize(method, base_uri, &oauth::ParameterList::new(params.to_vec()));
    let seen = seen.lock().unwrap().take();
    seen.expect("the oracle signed")
}

/// The parameters of an `Authorization: OAuth …` header, values decoded.
pub fn header_params(header: &str) -> Option<std::collections::BTreeMap<String, String>> {
    let rest = header.strip_prefix("OAuth ")?;
    rest.split(',')
        .map(|pair| {
            let (name, value) = pair.trim().split_once('=')?;
            let value = value.strip_prefix('"')?.strip_suffix('"')?;
            let value = percent_encoding::percent_decode_str(value).decode_utf8().ok()?;
            Some((name.to_owned(), value.into_owned()))
        })
        .collect()
}

/// Re-verifies a received request's signature with the oracle: the realm,
/// method, version, consumer key and token must be as expected and the
/// signature must be the oracle's over the URL as received.
pub fn verify_request(
    method: &str,
    url: &url::Url,
    authorization: Option<&str>,
    secrets: &[String; 4],
    realm: &str,
) -> Result<(), String> {
    let params = header_params(authorization.ok_or("no Authorization header")?)
        .ok_or("malformed Authorization header")?;
    let get = |name: &str| params.get(name).map(String::as_str).ok_or(format!("no {name}"));
    if get("realm")? != realm {
        return Err(format!("realm {:?}, expected {realm:?}", get("realm")?));
    }
    if get("oauth_signature_method")? != "HMAC-SHA256" || get("oauth_version")? != "1.0" {
        return Err("wrong signature method or version".into());
    }
    if get("oauth_consumer_key")? != secrets[0] || get("oauth_token")? != secrets[2] {
        return Err("unknown consumer key or token".into());
    }
    let timestamp: u64 = get("oauth_timestamp")?.parse().map_err(|_| "bad timestamp")?;
    let port = url.port().map(|p| format!(":{p}")).unwrap_or_default();
    let base_uri =
        format!("{}://{}{port}{}", url.scheme(), url.host_str().unwrap_or_default(), url.path());
    let query: Vec<(String, String)> = url.query_pairs().into_owned().collect();
    let query: Vec<(&str, &str)> = query.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let (_, expected) =
        oracle_sign(method, &base_uri, &query, secrets, get("oauth_nonce")?, timestamp);
    if get("oauth_signature")? != expected {
        return Err("signature mismatch".into());
    }
    Ok(())
}
