//! The simulator's own TBA verification, written from RFC 5849 and
//! NETSUITE.md without the connector's signer, and judging each request the
//! way NetSuite does: realm, method, version, known key and token, nonce,
//! timestamp window, then the signature in constant time.

use std::collections::{BTreeMap, HashSet};

use base64::Engine;
use hmac::{Hmac, KeyInit, Mac};
use serde_json::Value;
use sha2::Sha256;

use crate::config::SimSecrets;

/// Why the simulator refused a login: what NetSuite's Login Audit Trail
/// would show. The answer itself is always a bare 401 `INVALID_LOGIN`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum AuthFailure {
    /// No `Authorization` header.
    MissingHeader,
    /// The header is not `OAuth name="value", …`, or lacks a parameter.
    MalformedHeader(String),
    /// No `realm` parameter.
    MissingRealm,
    /// A realm other than the account's, compared case-sensitively.
    WrongRealm(String),
    /// A signature method other than `HMAC-SHA256`.
    WrongSignatureMethod(String),
    /// An `oauth_version` other than `1.0`.
    WrongVersion(String),
    /// A consumer key the account does not know.
    UnknownConsumerKey,
    /// A token the account does not know.
    UnknownToken,
    /// A nonce shorter than 6 characters.
    BadNonce,
    /// A nonce already used with this timestamp.
    ReusedNonce,
    /// A timestamp more than 300 s from the simulator's clock; the skew is
    /// the request's timestamp minus the simulator's time.
    StaleTimestamp(i64),
    /// The signature does not match the request.
    BadSignature,
}

impl AuthFailure {
    /// A stable name for the reason, for counting and display.
    pub fn reason(&self) -> &'static str {
        match self {
            AuthFailure::MissingHeader => "missing_header",
            AuthFailure::MalformedHeader(_) => "malformed_header",
            AuthFailure::MissingRealm => "missing_realm",
            AuthFailure::WrongRealm(_) => "wrong_realm",
            AuthFailure::WrongSignatureMethod(_) => "wrong_signature_method",
            AuthFailure::WrongVersion(_) => "wrong_version",
            AuthFailure::UnknownConsumerKey => "unknown_consumer_key",
            AuthFailure::UnknownToken => "unknown_token",
            AuthFailure::BadNonce => "bad_nonce",
            AuthFailure::ReusedNonce => "reused_nonce",
            AuthFailure::StaleTimestamp(_) => "stale_timestamp",
            AuthFailure::BadSignature => "bad_signature",
        }
    }
}

/// The largest clock difference NetSuite accepts, in seconds.
pub const MAX_SKEW_SECS: i64 = 300;

/// A request as received, as far as signing covers it.
#[derive(Debug, Clone, Copy)]
pub struct Received<'a> {
    /// The HTTP method.
    pub method: &'a str,
    /// `http` or `https`.
    pub scheme: &'a str,
    /// The `Host` header: host and optional port.
    pub host: &'a str,
    /// The path exactly as received, percent-escapes and all.
    pub path: &'a str,
    /// The raw query, if any.
    pub query: Option<&'a str>,
    /// The `Authorization` header, if any.
    pub authorization: Option<&'a str>,
}

/// The nonces seen recently, per timestamp; entries older than the skew
/// window are forgotten, since their timestamps are refused anyway.
#[derive(Debug, Default)]
pub struct NonceCache {
    seen: BTreeMap<u64, HashSet<String>>,
}

impl NonceCache {
    /// Records `nonce` at `timestamp`; false if that pair was seen before.
    fn insert(&mut self, timestamp: u64, nonce: &str, now: i64) -> bool {
        let horizon = u64::try_from(now - 2 * MAX_SKEW_SECS).unwrap_or(0);
        self.seen = self.seen.split_off(&horizon);
        self.seen.entry(timestamp).or_default().insert(nonce.to_owned())
    }
}

/// Judges one request. `now` is the simulator's clock in Unix seconds.
pub fn verify(
    request: &Received<'_>,
    realm: &str,
    secrets: &SimSecrets,
    now: i64,
    nonces: &mut NonceCache,
) -> Result<(), AuthFailure> {
    let header = request.authorization.ok_or(AuthFailure::MissingHeader)?;
    let params = parse_header(header)?;
    let get = |name: &str| {
        params
            .get(name)
            .map(String::as_str)
            .ok_or_else(|| AuthFailure::MalformedHeader(format!("no {name}")))
    };
    let sent_realm = params.get("realm").ok_or(AuthFailure::MissingRealm)?;
    if sent_realm != realm {
        return Err(AuthFailure::WrongRealm(sent_realm.clone()));
    }
    let method = get("oauth_signature_method")?;
    if method != "HMAC-SHA256" {
        return Err(AuthFailure::WrongSignatureMethod(method.to_owned()));
    }
    let version = get("oauth_version")?;
    if version != "1.0" {
        return Err(AuthFailure::WrongVersion(version.to_owned()));
    }
    if get("oauth_consumer_key")? != secrets.consumer_key {
        return Err(AuthFailure::UnknownConsumerKey);
    }
    if get("oauth_token")? != secrets.token_id {
        return Err(AuthFailure::UnknownToken);
    }
    let nonce = get("oauth_nonce")?;
    if nonce.chars().count() < 6 {
        return Err(AuthFailure::BadNonce);
    }
    let timestamp: u64 = get("oauth_timestamp")?
        .parse()
        .map_err(|_| AuthFailure::MalformedHeader("oauth_timestamp is not a number".into()))?;
    let skew = i64::try_from(timestamp).unwrap_or(i64::MAX).saturating_sub(now);
    if skew.abs() > MAX_SKEW_SECS {
        return Err(AuthFailure::StaleTimestamp(skew));
    }
    let claimed = base64::engine::general_purpose::STANDARD
        .decode(get("oauth_signature")?)
        .map_err(|_| AuthFailure::BadSignature)?;
    let base = base_string(request, &params);
    let key = format!("{}&{}", encode(&secrets.consumer_secret), encode(&secrets.token_secret));
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(key.as_bytes())
        .map_err(|_| AuthFailure::BadSignature)?;
    mac.update(base.as_bytes());
    mac.verify_slice(&claimed).map_err(|_| AuthFailure::BadSignature)?;
    if !nonces.insert(timestamp, nonce, now) {
        return Err(AuthFailure::ReusedNonce);
    }
    Ok(())
}

/// The signature base string of a received request: the method, the URI
/// rebuilt from scheme, `Host` and raw path (lower-case host, default port
/// dropped), and every `oauth_*` parameter but the signature plus every
/// query parameter (form-decoded), each encoded, sorted and joined.
pub fn base_string(request: &Received<'_>, header: &BTreeMap<String, String>) -> String {
    let host = request.host.to_ascii_lowercase();
    let default_port = if request.scheme == "https" { ":443" } else { ":80" };
    let host = host.strip_suffix(default_port).unwrap_or(&host);
    let uri = format!("{}://{host}{}", request.scheme.to_ascii_lowercase(), request.path);
    let mut pairs: Vec<(String, String)> = header
        .iter()
        .filter(|(name, _)| name.starts_with("oauth_") && *name != "oauth_signature")
        .map(|(name, value)| (encode(name), encode(value)))
        .collect();
    if let Some(query) = request.query {
        pairs.extend(
            form_urlencoded::parse(query.as_bytes())
                .map(|(name, value)| (encode(&name), encode(&value))),
        );
    }
    pairs.sort();
    let joined: Vec<String> = pairs.iter().map(|(name, value)| format!("{name}={value}")).collect();
    format!(
        "{}&{}&{}",
        request.method.to_ascii_uppercase(),
        encode(&uri),
        encode(&joined.join("&"))
    )
}

/// Parses `OAuth name="value", …` into decoded parameters.
pub fn parse_header(header: &str) -> Result<BTreeMap<String, String>, AuthFailure> {
    let malformed = |why: &str| AuthFailure::MalformedHeader(why.to_owned());
    let (scheme, rest) = header.trim().split_once(' ').ok_or_else(|| malformed("no scheme"))?;
    if !scheme.eq_ignore_ascii_case("OAuth") {
        return Err(malformed("the scheme is not OAuth"));
    }
    let mut params = BTreeMap::new();
    for part in rest.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (name, value) =
            part.split_once('=').ok_or_else(|| malformed("a parameter has no ="))?;
        let value = value
            .trim()
            .strip_prefix('"')
            .and_then(|v| v.strip_suffix('"'))
            .ok_or_else(|| malformed("a value is not quoted"))?;
        let value = decode(value).ok_or_else(|| malformed("a value has a bad %-escape"))?;
        if params.insert(name.trim().to_owned(), value).is_some() {
            return Err(malformed("a parameter appears twice"));
        }
    }
    Ok(params)
}

/// RFC 3986 percent-encoding: every byte but `A–Z a–z 0–9 - . _ ~`.
pub fn encode(input: &str) -> String {
    let mut out = String::with_capacity(input.len());
    for byte in input.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(byte));
        } else {
            const HEX: &[u8; 16] = b"0123456789ABCDEF";
            out.push('%');
            out.push(char::from(HEX[usize::from(byte >> 4)]));
            out.push(char::from(HEX[usize::from(byte & 15)]));
        }
    }
    out
}

/// Decodes `%XX` escapes (no `+` rule: header values and path segments);
/// `None` for a bad escape or bytes that are not UTF-8.
pub fn decode(input: &str) -> Option<String> {
    let bytes = input.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = input.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// NetSuite's body for a refused login.
pub fn invalid_login_body() -> Value {
    serde_json::json!({
        "type": "https://www.rfc-editor.org/rfc/rfc9110.html#section-15.5.2",
        "title": "Unauthorized",
        "status": 401,
        "o:errorDetails": [{
            "detail": "Invalid login attempt. For more details, see the Login Audit Trail in the \
                       NetSuite UI at Setup > Users/Roles > User Management > View Login Audit Trail.",
            "o:errorCode": "INVALID_LOGIN"
        }]
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encode_and_decode_round_trip() {
        for s in ["a b", "ü/日", "%+&=", "~-._"] {
            assert_eq!(decode(&encode(s)).as_deref(), Some(s));
        }
        assert_eq!(encode("a b+"), "a%20b%2B");
        assert_eq!(decode("%zz"), None);
        assert_eq!(decode("%4"), None);
        assert_eq!(decode("%FF"), None, "not UTF-8");
    }

    #[test]
    fn header_parsing_is_strict() {
        let ok = parse_header(r#"OAuth realm="X", oauth_nonce="a%20b""#).unwrap();
        assert_eq!(ok["oauth_nonce"], "a b");
        for bad in [
            "Basic abc",
            "OAuth realm=X",
            r#"OAuth realm="X", realm="Y""#,
            r#"OAuth a="%zz""#,
            "OAuth",
        ] {
            assert!(matches!(parse_header(bad), Err(AuthFailure::MalformedHeader(_))), "{bad}");
        }
    }

    #[test]
    fn nonces_are_single_use_per_timestamp_and_old_ones_are_forgotten() {
        let mut cache = NonceCache::default();
        assert!(cache.insert(1000, "abcdef", 1000));
        assert!(!cache.insert(1000, "abcdef", 1000));
        assert!(cache.insert(1001, "abcdef", 1000), "another timestamp is another pair");
        assert!(cache.insert(5000, "x", 5000));
        assert!(cache.seen.keys().all(|t| *t >= 5000 - 600), "old timestamps pruned");
    }
}
