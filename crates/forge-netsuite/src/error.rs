//! NetSuite's answers mapped to Forge's error taxonomy, each with a hint that
//! tells a person what to fix.
//!
//! One pure function, [`map_error`], turns a status, two headers and a body
//! into a [`forge_core::Error`]; [`map_transport`] does the same for failures
//! that never got an answer. Both are unit-tested on literal bodies.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use forge_core::{Error, ErrorKind, Operation, RecordKey, VendorDetail};
use serde_json::Value;

/// The vendor code of a record that does not exist.
pub const NONEXISTENT_ID: &str = "NONEXISTENT_ID";

/// What NetSuite answered, as far as mapping it needs.
#[derive(Debug, Clone, Copy)]
pub struct Answer<'a> {
    /// The HTTP status.
    pub status: u16,
    /// The `Retry-After` header, if any (seconds or an HTTP date).
    pub retry_after: Option<&'a str>,
    /// The `Date` header, if any: NetSuite's clock.
    pub date: Option<&'a str>,
    /// The body, which may be JSON, HTML or empty.
    pub body: &'a [u8],
}

/// What Forge sent, for context and hints.
#[derive(Debug, Clone, Copy)]
pub struct Sent<'a> {
    /// The operation.
    pub operation: Operation,
    /// The record, for record operations.
    pub key: Option<&'a RecordKey>,
    /// The realm in the Authorization header.
    pub realm: &'a str,
    /// The `oauth_timestamp` that was signed.
    pub timestamp: u64,
}

/// The parts of NetSuite's error body that matter.
#[derive(Debug, Default)]
struct Body {
    title: Option<String>,
    top_code: Option<String>,
    details: Vec<VendorDetail>,
    /// What the body was, when it was not NetSuite's JSON.
    not_json: Option<&'static str>,
}

impl Body {
    fn parse(bytes: &[u8]) -> Self {
        let text = String::from_utf8_lossy(bytes);
        let trimmed = text.trim_start();
        let json: Option<Value> = serde_json::from_slice(bytes).ok();
        let Some(Value::Object(map)) = json else {
            let not_json = if trimmed.is_empty() {
                "an empty body"
            } else if trimmed.starts_with('<') {
                "an HTML page from a gateway or maintenance screen, not from NetSuite's REST service"
            } else {
                "a body that is not NetSuite's JSON"
            };
            return Self { not_json: Some(not_json), ..Self::default() };
        };
        let text_of = |v: Option<&Value>| v.and_then(Value::as_str).map(str::to_owned);
        let details = map
            .get("o:errorDetails")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .map(|d| VendorDetail {
                code: text_of(d.get("o:errorCode")),
                detail: text_of(d.get("detail")).unwrap_or_default(),
                path: text_of(d.get("o:errorPath"))
                    .or_else(|| text_of(d.get("o:errorQueryParam")))
                    .or_else(|| text_of(d.get("o:errorHeader"))),
            })
            .collect();
        Self {
            title: text_of(map.get("title")),
            top_code: text_of(map.get("o:errorCode")),
            details,
            not_json: None,
        }
    }

    /// Every code in the body, most specific first.
    fn codes(&self) -> impl Iterator<Item = &str> {
        self.details.iter().filter_map(|d| d.code.as_deref()).chain(self.top_code.as_deref())
    }

    fn has(&self, code: &str) -> bool {
        self.codes().any(|c| c == code)
    }
}

/// Maps an error answer from NetSuite to a [`forge_core::Error`] with kind,
/// retryability, vendor code, HTTP status, every `o:errorDetails` entry, a
/// hint and context. Never fails, whatever the body holds.
pub fn map_error(answer: &Answer<'_>, sent: &Sent<'_>) -> Error {
    let body = Body::parse(answer.body);
    let status = answer.status;
    let code = body.codes().next().map(str::to_owned);
    let said = body
        .details
        .iter()
        .map(|d| d.detail.trim())
        .find(|d| !d.is_empty())
        .map(str::to_owned)
        .or_else(|| body.title.clone());
    let what = |fallback: &str| match (&said, body.not_json) {
        (Some(said), _) => said.clone(),
        (None, Some(not_json)) => format!("{fallback}: the answer was {not_json}"),
        (None, None) => fallback.to_owned(),
    };
    let record = sent.key.map_or_else(|| "this".to_owned(), |k| format!("`{}`", k.record_type));

    let rate_limited = status == 429
        || body.has("CONCURRENCY_LIMIT_EXCEEDED")
        || body.has("SSS_REQUEST_LIMIT_EXCEEDED");
    let (kind, message, hint) = if rate_limited {
        (
            ErrorKind::RateLimited,
            what("the account's concurrency limit is full"),
            "NetSuite allows each account a fixed number of requests in flight, shared by every \
             integration on it; Forge waits and retries. If this persists, lower this \
             connection's concurrency, or find the account's limit under Setup > Integration > \
             Integration Management > Integration Governance"
                .to_owned(),
        )
    } else {
        match status {
            401 => (
                ErrorKind::Unauthenticated,
                what("NetSuite refused the login"),
                login_checklist(answer, sent),
            ),
            403 => (
                ErrorKind::PermissionDenied,
                what("permission denied"),
                format!(
                    "the token's role lacks a permission for {record} records: fix the role \
                     (Setup > Users/Roles > Manage Roles > Permissions), not the token"
                ),
            ),
            404 if body.has(NONEXISTENT_ID) => (
                ErrorKind::NotFound,
                what("the record does not exist"),
                "check the external id, or create the record first".to_owned(),
            ),
            404 => (
                ErrorKind::NotFound,
                what("NetSuite has no such resource"),
                format!(
                    "check the record type {record}: REST record types are camelCase \
                     (salesOrder) or custom record ids (customrecord_x), and the record type \
                     must be enabled for REST web services in this account"
                ),
            ),
            409 => (
                ErrorKind::Conflict,
                what("the write conflicts with the record's current state"),
                "read the record again and retry the write against its current state".to_owned(),
            ),
            400..=499 if body.codes().all(|c| c == "USER_ERROR") && code.is_some() => (
                ErrorKind::InvalidInput,
                what("NetSuite rejected the request"),
                "if every request fails like this, the token's role probably lacks the \
                 \"REST Web Services\" or \"Log in using Access Tokens\" permission; otherwise \
                 fix the request as NetSuite says"
                    .to_owned(),
            ),
            400..=499 => invalid_input(&body, &what),
            500..=599 => (
                ErrorKind::Unavailable,
                what("NetSuite is unavailable"),
                "NetSuite or a gateway before it failed or is in maintenance; Forge retries. If \
                 this persists, check NetSuite's status page and retry later"
                    .to_owned(),
            ),
            _ => (
                ErrorKind::Unexpected,
                what("NetSuite gave an answer Forge does not expect"),
                "this is not an answer Forge knows; please report it with the vendor code"
                    .to_owned(),
            ),
        }
    };

    let mut err = Error::new(kind, message)
        .with_hint(hint)
        .with_http_status(status)
        .with_connector("netsuite")
        .in_context(sent.operation, sent.key);
    if let Some(code) = code {
        err = err.with_vendor_code(code);
    }
    if let Some(wait) = answer.retry_after.and_then(parse_retry_after) {
        err = err.with_retry_after(wait);
    }
    for detail in body.details {
        err = err.with_detail(detail);
    }
    err
}

/// `InvalidInput` naming the field NetSuite pointed at.
fn invalid_input(body: &Body, what: &dyn Fn(&str) -> String) -> (ErrorKind, String, String) {
    let field = body.details.iter().find_map(|d| d.path.clone());
    let message = match &field {
        Some(field) => format!("NetSuite rejected `{field}`: {}", what("invalid value")),
        None => what("NetSuite rejected the request"),
    };
    let hint = match (field, body.has("NONEXISTENT_FIELD")) {
        (Some(field), true) => format!(
            "`{field}` is not a field of this record type: check its id in the record's REST \
             metadata (custom fields start with custentity, custbody, custitem or custrecord)"
        ),
        (Some(field), false) => format!("correct the value of `{field}` and write again"),
        (None, _) => "correct the request as NetSuite says and write again".to_owned(),
    };
    (ErrorKind::InvalidInput, message, hint)
}

/// The checklist for a 401: NetSuite says only "invalid login", so name
/// everything that causes one, with what Forge can see filled in.
fn login_checklist(answer: &Answer<'_>, sent: &Sent<'_>) -> String {
    let clock = match answer.date.and_then(|d| httpdate::parse_http_date(d).ok()) {
        Some(server) => {
            let server = server.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
            let skew = i128::from(sent.timestamp) - i128::from(server);
            let how = if skew >= 0 { "ahead of" } else { "behind" };
            if skew.abs() > 300 {
                format!(
                    "the clock: this machine's clock is {} s {how} NetSuite's, more than the 5 \
                     minutes NetSuite allows: fix the clock (enable NTP)",
                    skew.abs()
                )
            } else {
                format!("the clock: within {} s of NetSuite's, which is fine", skew.abs())
            }
        }
        None => "the clock: this machine's clock must be within 5 minutes of NetSuite's".to_owned(),
    };
    format!(
        "NetSuite says only \"invalid login\"; the real reason is in its Login Audit Trail \
         (Setup > Users/Roles > User Management > View Login Audit Trail). Check:\n\
         - the realm: Forge sent realm \"{realm}\"; it must be this account's id in upper case \
           with `_` (1234567_SB1, not 1234567-sb1)\n\
         - {clock}\n\
         - the secrets: re-enter them if they were pasted with spaces or line breaks\n\
         - the token: it must belong to this account (a sandbox refresh deletes its tokens) and \
           must not be revoked\n\
         - the role: it needs the \"Log in using Access Tokens\" and \"REST Web Services\" \
           permissions",
        realm = sent.realm
    )
}

/// `Retry-After` as delta-seconds or an HTTP date.
fn parse_retry_after(value: &str) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(SystemTime::now()).unwrap_or_default())
}

/// Maps a failure that got no answer (timeout, refused or reset connection,
/// a body cut off) to a retryable [`ErrorKind::Unavailable`].
pub fn map_transport(err: &reqwest::Error, sent: &Sent<'_>, timeout: Duration) -> Error {
    let mut cause = String::new();
    let mut source = std::error::Error::source(err);
    while let Some(inner) = source {
        cause = inner.to_string();
        source = inner.source();
    }
    let message = if err.is_timeout() {
        format!("NetSuite did not answer within {timeout:?}")
    } else if err.is_connect() {
        format!("could not connect to NetSuite: {cause}")
    } else {
        format!("the connection to NetSuite failed: {cause}")
    };
    Error::new(ErrorKind::Unavailable, message.trim_end_matches(": ").to_owned())
        .with_hint(
            "check the network and the account's host (or base URL); Forge retries, and every \
             record operation is safe to repeat",
        )
        .with_connector("netsuite")
        .in_context(sent.operation, sent.key)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sent(key: Option<&RecordKey>) -> Sent<'_> {
        Sent { operation: Operation::Upsert, key, realm: "1234567_SB1", timestamp: 1_700_000_000 }
    }

    fn map(status: u16, body: &str) -> Error {
        let key = RecordKey::parse("customer", "ABC-1").unwrap();
        let answer = Answer { status, retry_after: None, date: None, body: body.as_bytes() };
        map_error(&answer, &sent(Some(&key)))
    }

    fn body(title: &str, code: &str, detail: &str) -> String {
        serde_json::json!({
            "type": "https://www.rfc-editor.org/rfc/rfc9110.html#section-15.5.1",
            "title": title,
            "status": 400,
            "o:errorDetails": [{"detail": detail, "o:errorCode": code}]
        })
        .to_string()
    }

    #[test]
    fn invalid_login_is_unauthenticated_with_a_checklist() {
        let err = map(
            401,
            &body(
                "Unauthorized",
                "INVALID_LOGIN",
                "Invalid login attempt. For more details, see the Login Audit Trail in the NetSuite UI at Setup > Users/Roles > User Management > View Login Audit Trail.",
            ),
        );
        assert_eq!(err.kind(), ErrorKind::Unauthenticated);
        assert_eq!(err.vendor_code(), Some("INVALID_LOGIN"));
        assert!(!err.is_retryable());
        let hint = err.hint().unwrap();
        assert!(hint.contains("realm \"1234567_SB1\""), "{hint}");
        assert!(hint.contains("Login Audit Trail"));
        assert!(hint.contains("sandbox refresh"));
    }

    #[test]
    fn invalid_login_measures_the_clock_against_the_date_header() {
        let key = RecordKey::parse("customer", "A").unwrap();
        let answer = Answer {
            status: 401,
            retry_after: None,
            date: Some("Tue, 14 Nov 2023 22:03:20 GMT"), // 1_699_999_400: we are 600 s ahead
            body: br#"{"o:errorDetails":[{"detail":"Invalid login attempt.","o:errorCode":"INVALID_LOGIN"}]}"#,
        };
        let err = map_error(&answer, &sent(Some(&key)));
        assert!(
            err.hint().unwrap().contains("600 s ahead of NetSuite's"),
            "{}",
            err.hint().unwrap()
        );
        let answer = Answer { date: Some("Tue, 14 Nov 2023 22:13:10 GMT"), ..answer };
        let err = map_error(&answer, &sent(Some(&key)));
        assert!(
            err.hint().unwrap().contains("within 10 s of NetSuite's"),
            "{}",
            err.hint().unwrap()
        );
    }

    #[test]
    fn insufficient_permission_names_the_record_type_and_the_role() {
        let err = map(
            403,
            &body(
                "Forbidden",
                "INSUFFICIENT_PERMISSION",
                "Permission Violation: You need  the 'Lists -> Customers' permission to access this page.",
            ),
        );
        assert_eq!(err.kind(), ErrorKind::PermissionDenied);
        assert!(err.hint().unwrap().contains("permission for `customer` records: fix the role"));
        assert!(err.hint().unwrap().contains("not the token"));
    }

    #[test]
    fn concurrency_limits_are_rate_limited_and_retryable() {
        let body_429 = r#"{"type":"https://www.rfc-editor.org/rfc/rfc9110.html#section-15.5.1","title":"Bad Request","status":429,"o:errorCode":"USER_ERROR","o:errorDetails":[{"detail":"Concurrent request limit exceeded. Request blocked.","o:errorCode":"CONCURRENCY_LIMIT_EXCEEDED"}]}"#;
        let err = map(429, body_429);
        assert_eq!(err.kind(), ErrorKind::RateLimited);
        assert!(err.is_retryable());
        assert_eq!(err.vendor_code(), Some("CONCURRENCY_LIMIT_EXCEEDED"));
        let err =
            map(400, &body("Bad Request", "SSS_REQUEST_LIMIT_EXCEEDED", "Request limit exceeded"));
        assert_eq!((err.kind(), err.is_retryable()), (ErrorKind::RateLimited, true));
        let err = map(429, "");
        assert_eq!(err.kind(), ErrorKind::RateLimited, "a bare 429 is a rate limit too");
    }

    #[test]
    fn retry_after_is_honoured_in_seconds_or_as_a_date() {
        let answer = Answer { status: 429, retry_after: Some("7"), date: None, body: b"" };
        assert_eq!(map_error(&answer, &sent(None)).retry_after(), Some(Duration::from_secs(7)));
        let answer = Answer { retry_after: Some("Tue, 14 Nov 2000 22:13:10 GMT"), ..answer };
        assert_eq!(
            map_error(&answer, &sent(None)).retry_after(),
            Some(Duration::ZERO),
            "a past date means now"
        );
        let answer = Answer { retry_after: Some("soon"), ..answer };
        assert_eq!(map_error(&answer, &sent(None)).retry_after(), None);
    }

    #[test]
    fn bad_content_names_the_field() {
        let body = r#"{"title":"Bad Request","status":400,"o:errorDetails":[{"detail":"Error while accessing a resource. You have entered an Invalid Field Value 99 for the following field: subsidiary","o:errorPath":"subsidiary","o:errorCode":"INVALID_CONTENT"}]}"#;
        let err = map(400, body);
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
        assert!(err.to_string().contains("NetSuite rejected `subsidiary`"), "{err}");
        assert_eq!(err.details()[0].path.as_deref(), Some("subsidiary"));
        assert!(err.hint().unwrap().contains("correct the value of `subsidiary`"));
        let body = r#"{"o:errorDetails":[{"detail":"Invalid field","o:errorPath":"custentity_x","o:errorCode":"NONEXISTENT_FIELD"}]}"#;
        assert!(map(400, body).hint().unwrap().contains("is not a field of this record type"));
    }

    #[test]
    fn user_error_hints_at_the_role_permissions() {
        let err = map(400, &body("Bad Request", "USER_ERROR", "Invalid request."));
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
        assert!(err.hint().unwrap().contains("REST Web Services"));
    }

    #[test]
    fn every_detail_is_kept() {
        let body = r#"{"o:errorCode":"USER_ERROR","o:errorDetails":[
            {"detail":"first","o:errorCode":"INVALID_CONTENT","o:errorPath":"a"},
            {"detail":"second","o:errorCode":"INVALID_CONTENT","o:errorQueryParam":"fields"},
            {"detail":"third","o:errorHeader":"Prefer"}]}"#;
        let err = map(400, body);
        let paths: Vec<_> = err.details().iter().map(|d| d.path.as_deref()).collect();
        assert_eq!(paths, [Some("a"), Some("fields"), Some("Prefer")]);
        assert_eq!(err.vendor_code(), Some("INVALID_CONTENT"));
    }

    #[test]
    fn gateways_and_server_faults_are_unavailable_and_retryable() {
        let err = map(
            503,
            "<html><head><title>503 Service Unavailable</title></head><body>maintenance</body></html>",
        );
        assert_eq!((err.kind(), err.is_retryable()), (ErrorKind::Unavailable, true));
        assert!(err.to_string().contains("an HTML page"), "{err}");
        assert!(!err.to_string().contains("<html>"), "raw HTML must not reach the message");
        let err = map(
            500,
            &body("Internal Server Error", "UNEXPECTED_ERROR", "An unexpected error occurred."),
        );
        assert_eq!((err.kind(), err.is_retryable()), (ErrorKind::Unavailable, true));
        assert_eq!(map(502, "").kind(), ErrorKind::Unavailable);
    }

    #[test]
    fn missing_records_and_unknown_types_are_not_found_with_different_hints() {
        let err = map(
            404,
            &body(
                "Not Found",
                NONEXISTENT_ID,
                "The record instance does not exist. Provide a valid record instance ID.",
            ),
        );
        assert_eq!((err.kind(), err.vendor_code()), (ErrorKind::NotFound, Some(NONEXISTENT_ID)));
        let err = map(
            404,
            &body("Not Found", "INVALID_RCRD_TYPE", "Record type 'custmer' does not exist."),
        );
        assert!(err.hint().unwrap().contains("camelCase"));
    }

    #[test]
    fn garbage_never_panics_and_says_what_it_got() {
        for junk in [
            "",
            "null",
            "[1,2]",
            "{\"o:errorDetails\": 5}",
            "{\"o:errorDetails\": [7, null]}",
            "\u{0}\u{fffd}",
        ] {
            let err = map(400, junk);
            assert_eq!(err.kind(), ErrorKind::InvalidInput, "{junk:?}");
        }
        assert_eq!(
            map(418, "").kind(),
            ErrorKind::InvalidInput,
            "any other 4xx is the request's fault"
        );
        assert_eq!(map(304, "").kind(), ErrorKind::Unexpected);
    }
}
