//! NetSuite account ids, in every spelling users type, resolved to the one
//! realm and REST host NetSuite accepts; and the base-URL override.
//!
//! NetSuite spells one account two ways: the realm is upper case with `_`
//! (`1234567_SB1`), the host is lower case with `-`
//! (`1234567-sb1.suitetalk.api.netsuite.com`). A lower-case realm or an
//! underscore in the host fails as an invalid login, so both are derived here
//! from one canonical form and never typed by hand.

use std::fmt;
use std::net::IpAddr;

use forge_core::{Error, ErrorKind};
use url::{Host, Url};

/// The longest account id accepted, in bytes (real ones are under 25).
pub const MAX_ACCOUNT_ID_LEN: usize = 40;

/// A NetSuite account id in canonical form: upper case, `_` before the
/// environment suffix.
///
/// ```
/// use forge_netsuite::AccountId;
/// let id = AccountId::parse(" 1234567-sb1 ").unwrap();
/// assert_eq!(id.realm(), "1234567_SB1");
/// assert_eq!(id.host(), "1234567-sb1.suitetalk.api.netsuite.com");
/// assert!(AccountId::parse("1234567.evil.com").is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AccountId(String);

/// What kind of account an id names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccountKind {
    /// A production account (`1234567`).
    Production,
    /// A sandbox (`1234567_SB1`), with its number.
    Sandbox(u32),
    /// A release preview (`1234567_RP`).
    ReleasePreview,
    /// A test drive (`TSTDRV1234567`).
    TestDrive,
    /// Any other suffix NetSuite may use; passed through as typed.
    Other,
}

const ALLOWED: &str = "letters, digits, `_` and `-` (for example 1234567, 1234567_SB1, \
                       1234567-sb1 or TSTDRV1234567)";

impl AccountId {
    /// Accepts any spelling users type — `1234567`, `1234567_SB1`,
    /// `1234567-sb1`, `1234567_sb1`, `tstdrv1234567`, with stray
    /// whitespace — and returns the canonical id.
    ///
    /// Anything else (dots, slashes, `@`, empty, more than
    /// [`MAX_ACCOUNT_ID_LEN`] bytes, a separator at either end or twice) is
    /// [`ErrorKind::ConfigInvalid`] naming the problem and the characters
    /// allowed, before any request is made, so an account id can never steer
    /// the client to another host.
    pub fn parse(input: &str) -> Result<Self, Error> {
        let trimmed = input.trim();
        let invalid = |why: String| {
            Error::new(ErrorKind::ConfigInvalid, format!("invalid NetSuite account id: {why}"))
                .with_hint(format!(
                    "copy the account id from Setup > Company > Company Information \
                     (Account ID), or from the start of your NetSuite URL; it may contain {ALLOWED}"
                ))
        };
        if trimmed.is_empty() {
            return Err(invalid("it is empty".into()));
        }
        if trimmed.len() > MAX_ACCOUNT_ID_LEN {
            return Err(invalid(format!(
                "it is {} bytes long; real account ids are under {MAX_ACCOUNT_ID_LEN}",
                trimmed.len()
            )));
        }
        if let Some(bad) =
            trimmed.chars().find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '-')))
        {
            return Err(invalid(format!("the character {bad:?} is not allowed")));
        }
        let canonical = trimmed.to_ascii_uppercase().replace('-', "_");
        let segments: Vec<&str> = canonical.split('_').collect();
        if segments.iter().any(|s| s.is_empty()) {
            return Err(invalid(format!(
                "{trimmed:?} has a `_` or `-` at its start, its end, or twice in a row"
            )));
        }
        if segments.len() > 2 {
            return Err(invalid(format!(
                "{trimmed:?} has more than one `_` or `-`; an account id is a number with at \
                 most one suffix such as _SB1"
            )));
        }
        Ok(Self(canonical))
    }

    /// The canonical id, which is also the realm (`1234567_SB1`).
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The realm sent in the Authorization header: upper case with `_`.
    pub fn realm(&self) -> &str {
        &self.0
    }

    /// The REST host: lower case with `-`
    /// (`1234567-sb1.suitetalk.api.netsuite.com`).
    pub fn host(&self) -> String {
        format!("{}.suitetalk.api.netsuite.com", self.0.to_ascii_lowercase().replace('_', "-"))
    }

    /// The default base URL, `https://` and the REST host.
    pub fn default_base_url(&self) -> Url {
        // The host is built from letters, digits and `-` only.
        Url::parse(&format!("https://{}", self.host()))
            .unwrap_or_else(|_| unreachable!("a canonical account id always makes a valid host"))
    }

    /// What kind of account this is.
    pub fn kind(&self) -> AccountKind {
        match self.0.split_once('_') {
            None if self.0.starts_with("TSTDRV") => AccountKind::TestDrive,
            None => AccountKind::Production,
            Some((_, "RP")) => AccountKind::ReleasePreview,
            Some((_, suffix)) => match suffix.strip_prefix("SB").map(str::parse) {
                Some(Ok(n)) => AccountKind::Sandbox(n),
                _ => AccountKind::Other,
            },
        }
    }
}

impl fmt::Display for AccountId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Validates a base-URL override (for tests and proxies): `https://` to any
/// host, `http://` only to a loopback address (`localhost`, `127.0.0.0/8`,
/// `::1`), no credentials, query or fragment. A path prefix is kept; a
/// trailing `/` is not significant.
///
/// Returns [`ErrorKind::ConfigInvalid`] saying which rule was broken.
pub fn parse_base_url(input: &str) -> Result<Url, Error> {
    let invalid = |why: String| {
        Error::new(ErrorKind::ConfigInvalid, format!("invalid base URL {input:?}: {why}"))
            .with_hint(
                "leave the base URL unset to use the account's own NetSuite host; set it only \
                 for a proxy (https://…) or a local simulator (http://127.0.0.1:PORT)",
            )
    };
    let url = Url::parse(input.trim()).map_err(|e| invalid(e.to_string()))?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err(invalid("it must not contain a user name or password".into()));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(invalid("it must not have a query or fragment".into()));
    }
    match url.scheme() {
        "https" => {}
        "http" if is_loopback(&url) => {}
        "http" => {
            return Err(invalid(
                "plain http:// is allowed only to a loopback address (127.0.0.1, ::1, \
                 localhost), since secrets-derived signatures would cross the network in clear"
                    .into(),
            ));
        }
        other => return Err(invalid(format!("the scheme {other:?} is not http or https"))),
    }
    if url.host().is_none() {
        return Err(invalid("it has no host".into()));
    }
    Ok(url)
}

fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(Host::Domain(domain)) => domain.eq_ignore_ascii_case("localhost"),
        Some(Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_spelling_resolves_to_one_realm_and_host() {
        for spelling in [
            "1234567_SB1",
            "1234567-sb1",
            "1234567_sb1",
            "1234567-SB1",
            " 1234567_SB1 ",
            "\t1234567-Sb1\n",
        ] {
            let id = AccountId::parse(spelling).unwrap();
            assert_eq!(id.realm(), "1234567_SB1", "{spelling:?}");
            assert_eq!(id.host(), "1234567-sb1.suitetalk.api.netsuite.com", "{spelling:?}");
            assert_eq!(id.kind(), AccountKind::Sandbox(1));
        }
        let prod = AccountId::parse("1234567").unwrap();
        assert_eq!(
            (prod.realm(), prod.host().as_str()),
            ("1234567", "1234567.suitetalk.api.netsuite.com")
        );
        assert_eq!(prod.kind(), AccountKind::Production);
        let tstdrv = AccountId::parse("tstdrv1234567").unwrap();
        assert_eq!(tstdrv.realm(), "TSTDRV1234567");
        assert_eq!(tstdrv.host(), "tstdrv1234567.suitetalk.api.netsuite.com");
        assert_eq!(tstdrv.kind(), AccountKind::TestDrive);
        assert_eq!(AccountId::parse("1234567_rp").unwrap().kind(), AccountKind::ReleasePreview);
        assert_eq!(
            AccountId::parse("1234567-sb2").unwrap().default_base_url().as_str(),
            "https://1234567-sb2.suitetalk.api.netsuite.com/"
        );
    }

    #[test]
    fn anything_else_is_refused_before_any_request() {
        for (bad, says) in [
            ("", "empty"),
            ("   ", "empty"),
            ("1234567.evil.com", "'.'"),
            ("1234567/x", "'/'"),
            ("user@1234567", "'@'"),
            ("1234 567", "' '"),
            ("1234567_", "at its start, its end"),
            ("_1234567", "at its start, its end"),
            ("1234567__SB1", "twice in a row"),
            ("1234567_SB1_X", "more than one"),
            ("１２３", "not allowed"),
        ] {
            let err = AccountId::parse(bad).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::ConfigInvalid, "{bad:?}");
            assert!(err.to_string().contains(says), "{bad:?}: {err}");
            assert!(err.hint().unwrap().contains("letters, digits, `_` and `-`"));
        }
        let err = AccountId::parse(&"1".repeat(MAX_ACCOUNT_ID_LEN + 1)).unwrap_err();
        assert!(err.to_string().contains("41 bytes"), "{err}");
    }

    #[test]
    fn base_url_override_rules() {
        for good in [
            "https://proxy.example.com",
            "https://proxy.example.com/netsuite/",
            "http://127.0.0.1:8080",
            "http://127.9.9.9",
            "http://localhost:3000",
            "http://[::1]:3000",
        ] {
            assert!(parse_base_url(good).is_ok(), "{good}");
        }
        for (bad, says) in [
            ("http://example.com", "loopback"),
            ("http://10.0.0.1", "loopback"),
            ("http://[::2]", "loopback"),
            ("ftp://127.0.0.1", "not http or https"),
            ("https://user:pw@example.com", "user name"),
            ("https://example.com/?a=1", "query"),
            ("not a url", "relative URL"),
        ] {
            let err = parse_base_url(bad).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::ConfigInvalid);
            assert!(err.to_string().contains(says), "{bad}: {err}");
        }
    }
}
