//! The REST record client: builds each URL, signs each request immediately
//! before sending it, and implements [`Connector`] for NetSuite.

use std::sync::LazyLock;
use std::time::Duration;

use async_trait::async_trait;
use forge_core::{
    Capabilities, CheckReport, ConfigSpec, Connector, DeleteOptions, DeleteOutcome, Descriptor,
    Difficulty, Error, ErrorKind, Fields, GetOptions, Operation, Record, RecordKey, RecordTypes,
    Result, SecretSpec, UpsertOptions, WriteOutcome,
};
use reqwest::header::{
    ACCEPT, AUTHORIZATION, CONTENT_TYPE, DATE, HeaderValue, LOCATION, RETRY_AFTER,
};
use reqwest::{Method, StatusCode};
use serde_json::Value;
pub use url::Url;

use crate::account::AccountId;
use crate::error::{Answer, NONEXISTENT_ID, Sent, map_error, map_transport};
use crate::tba::{self, Credentials, SignInput, encode};

/// The path of the REST record service.
pub const RECORD_PATH: &str = "/services/rest/record/v1";

/// What [`NetSuite::check`](Connector::check) requests: the record service's
/// metadata catalog. It goes through the same host, path, realm and signing as
/// every record call, needs only the role's "REST Web Services" and "Log in
/// using Access Tokens" permissions (no record permission), and answers with a
/// short list of links.
pub const CHECK_PATH: &str = "/services/rest/record/v1/metadata-catalog";

/// How to reach one NetSuite account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetSuiteConfig {
    /// The account.
    pub account: AccountId,
    /// Where to send requests instead of the account's own host (a proxy or
    /// a simulator), validated by [`crate::parse_base_url`].
    pub base_url: Option<Url>,
    /// The most one request may take, from connecting to the end of the body.
    pub timeout: Duration,
    /// The most connecting may take.
    pub connect_timeout: Duration,
}

impl NetSuiteConfig {
    /// The account's own host, a 60 s request timeout and a 10 s connect
    /// timeout (a single-record call that takes longer is stuck; NetSuite
    /// itself cuts requests off at 15 minutes).
    pub fn new(account: AccountId) -> Self {
        Self {
            account,
            base_url: None,
            timeout: Duration::from_secs(60),
            connect_timeout: Duration::from_secs(10),
        }
    }

    /// Sends requests to `base_url` instead of the account's host (a proxy
    /// or a simulator); the URL is checked by [`crate::parse_base_url`].
    pub fn with_base_url(mut self, base_url: &str) -> Result<Self> {
        self.base_url = Some(crate::account::parse_base_url(base_url)?);
        Ok(self)
    }
}

/// The NetSuite connector, authenticating with Token-Based Authentication.
///
/// Every operation is idempotent (upsert is `PUT …/eid:{externalId}`), every
/// attempt is signed afresh, and every failure maps to a
/// [`forge_core::Error`] with a hint. `Debug` shows the account and URL,
/// never a secret.
pub struct NetSuite {
    http: reqwest::Client,
    config: NetSuiteConfig,
    /// The base URL without a trailing `/`.
    base: String,
    credentials: Credentials,
}

impl std::fmt::Debug for NetSuite {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NetSuite")
            .field("account", &self.config.account)
            .field("base", &self.base)
            .field("credentials", &self.credentials)
            .finish_non_exhaustive()
    }
}

static DESCRIPTOR: LazyLock<Descriptor> = LazyLock::new(|| {
    let secret = |name: &str, label: &str, where_to_find: &str| SecretSpec {
        name: name.into(),
        label: label.into(),
        where_to_find: where_to_find.into(),
    };
    Descriptor {
        name: "netsuite".into(),
        display_name: "NetSuite".into(),
        auth_method: "Token-Based Authentication (OAuth 1.0a, HMAC-SHA256)".into(),
        difficulty: Difficulty::Heavy,
        secrets: vec![
            secret(
                "consumer_key",
                "Consumer key",
                "shown once when the integration record is saved (Setup > Integration > Manage \
                 Integrations > New, with Token-Based Authentication checked)",
            ),
            secret(
                "consumer_secret",
                "Consumer secret",
                "shown once, beside the consumer key, when the integration record is saved",
            ),
            secret(
                "token_id",
                "Token ID",
                "shown once when the access token is created (Setup > Users/Roles > Access \
                 Tokens > New, for this integration, user and role)",
            ),
            secret(
                "token_secret",
                "Token secret",
                "shown once, beside the token id, when the access token is created",
            ),
        ],
        config: vec![ConfigSpec {
            name: "account_id".into(),
            label: "Account ID".into(),
            help: "Setup > Company > Company Information > Account ID, or the start of your \
                   NetSuite URL; sandboxes end in _SB1, _SB2…"
                .into(),
            example: "1234567_SB1".into(),
        }],
    }
});

/// A successful answer.
struct Success {
    status: StatusCode,
    location: Option<String>,
    body: Vec<u8>,
}

impl NetSuite {
    /// A connector for `config`'s account with `credentials`.
    ///
    /// Fails with [`ErrorKind::ConfigInvalid`] if the HTTP client cannot be
    /// built (no TLS roots, for example).
    pub fn new(config: NetSuiteConfig, credentials: Credentials) -> Result<Self> {
        let http = reqwest::Client::builder()
            .timeout(config.timeout)
            .connect_timeout(config.connect_timeout)
            .user_agent(concat!("forge/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| {
                Error::new(
                    ErrorKind::ConfigInvalid,
                    format!("could not build the HTTP client: {e}"),
                )
            })?;
        let base = config.base_url.clone().unwrap_or_else(|| config.account.default_base_url());
        let base = base.as_str().trim_end_matches('/').to_owned();
        Ok(Self { http, config, base, credentials })
    }

    /// The account this connector writes to.
    pub fn account(&self) -> &AccountId {
        &self.config.account
    }

    /// The URL of a record by external id: the id is percent-encoded into
    /// the path segment after `eid:`, and that exact text is what is signed.
    pub fn record_url(&self, key: &RecordKey, query: Option<&str>) -> Result<Url> {
        let mut url = format!(
            "{}{RECORD_PATH}/{}/eid:{}",
            self.base,
            key.record_type,
            encode(key.external_id.as_str())
        );
        if let Some(query) = query {
            url.push('?');
            url.push_str(query);
        }
        self.parse_url(&url)
    }

    fn parse_url(&self, url: &str) -> Result<Url> {
        Url::parse(url).map_err(|e| {
            Error::new(ErrorKind::ConfigInvalid, format!("could not build a request URL: {e}"))
        })
    }

    /// Signs and sends one request. Called once per attempt, so each attempt
    /// carries a fresh nonce and timestamp.
    async fn send(
        &self,
        method: Method,
        url: Url,
        body: Option<&Fields>,
        operation: Operation,
        key: Option<&RecordKey>,
    ) -> Result<Success> {
        let nonce = tba::nonce()?;
        let timestamp = tba::timestamp();
        let realm = self.config.account.realm();
        let signed = tba::sign(&SignInput {
            method: method.as_str(),
            url: &url,
            realm,
            credentials: &self.credentials,
            nonce: &nonce,
            timestamp,
        });
        let mut authorization = HeaderValue::from_str(&signed.authorization).map_err(|_| {
            Error::new(
                ErrorKind::ConfigInvalid,
                "a secret contains characters HTTP headers cannot carry",
            )
            .with_hint("re-enter the four secrets; they are ASCII letters and digits")
        })?;
        authorization.set_sensitive(true);
        let mut request = self
            .http
            .request(method.clone(), url.clone())
            .header(AUTHORIZATION, authorization)
            .header(ACCEPT, "application/json");
        if let Some(fields) = body {
            let json = serde_json::to_vec(fields).map_err(|e| {
                Error::new(
                    ErrorKind::InvalidInput,
                    format!("could not encode the fields as JSON: {e}"),
                )
            })?;
            request = request
                .header(CONTENT_TYPE, "application/json")
                .header("X-NetSuite-PropertyNameValidation", "Error")
                .body(json);
        }

        let sent = Sent { operation, key, realm, timestamp };
        tracing::debug!(%method, path = url.path(), "netsuite request");
        let response = match request.send().await {
            Ok(response) => response,
            Err(err) => {
                let err = map_transport(&err, &sent, self.config.timeout);
                tracing::debug!(%method, path = url.path(), error = %err, "netsuite request failed");
                return Err(err);
            }
        };
        let status = response.status();
        let header = |name| {
            response
                .headers()
                .get(name)
                .and_then(|v: &HeaderValue| v.to_str().ok())
                .map(str::to_owned)
        };
        let (retry_after, date, location) = (header(RETRY_AFTER), header(DATE), header(LOCATION));
        let bytes =
            response.bytes().await.map_err(|e| map_transport(&e, &sent, self.config.timeout))?;
        tracing::debug!(%method, path = url.path(), status = status.as_u16(), "netsuite answer");
        if status.is_success() {
            return Ok(Success { status, location, body: bytes.to_vec() });
        }
        let answer = Answer {
            status: status.as_u16(),
            retry_after: retry_after.as_deref(),
            date: date.as_deref(),
            body: &bytes,
        };
        Err(map_error(&answer, &sent))
    }
}

/// Whether an error is NetSuite saying the record does not exist.
fn is_missing(err: &Error) -> bool {
    err.kind() == ErrorKind::NotFound && err.vendor_code() == Some(NONEXISTENT_ID)
}

/// Turns a GET body into a record: `id` becomes the internal id; `links`,
/// `id` and `externalId` are not body fields.
fn parse_record(key: &RecordKey, body: &[u8]) -> Result<Record> {
    let value: Value = serde_json::from_slice(body).map_err(|e| {
        Error::new(ErrorKind::Unexpected, format!("NetSuite's record was not valid JSON: {e}"))
            .with_operation(Operation::Get)
            .with_key(key.clone())
    })?;
    let mut fields =
        Fields::from_value(value).map_err(|e| e.in_context(Operation::Get, Some(key)))?;
    fields.remove("links");
    fields.remove("externalId");
    let internal_id = match fields.remove("id") {
        Some(Value::String(id)) => Some(id),
        Some(Value::Number(id)) => Some(id.to_string()),
        _ => None,
    };
    Ok(Record { key: key.clone(), internal_id, fields })
}

/// The internal id at the end of a `Location` header, if it has one.
fn id_from_location(location: &str) -> Option<String> {
    let last = location.trim_end_matches('/').rsplit('/').next()?;
    (!last.is_empty() && last.bytes().all(|b| b.is_ascii_digit())).then(|| last.to_owned())
}

#[async_trait]
impl Connector for NetSuite {
    fn descriptor(&self) -> &Descriptor {
        &DESCRIPTOR
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            check: true,
            get: true,
            upsert: true,
            delete: true,
            record_types: RecordTypes::Any,
        }
    }

    async fn check(&self) -> Result<CheckReport> {
        let url = self.parse_url(&format!("{}{CHECK_PATH}", self.base))?;
        self.send(Method::GET, url, None, Operation::Check, None).await?;
        Ok(CheckReport {
            summary: format!(
                "authenticated to NetSuite account {} (realm {}) at {}",
                self.config.account,
                self.config.account.realm(),
                self.base
            ),
        })
    }

    async fn get(&self, key: &RecordKey, opts: &GetOptions) -> Result<Option<Record>> {
        let query = opts.fields.as_ref().map(|fields| {
            let list: Vec<String> = fields.iter().map(|f| encode(f)).collect();
            format!("fields={}", list.join(","))
        });
        let url = self.record_url(key, query.as_deref())?;
        match self.send(Method::GET, url, None, Operation::Get, Some(key)).await {
            Ok(success) => parse_record(key, &success.body).map(Some),
            Err(err) if is_missing(&err) => Ok(None),
            Err(err) => Err(err),
        }
    }

    async fn upsert(
        &self,
        key: &RecordKey,
        fields: &Fields,
        _opts: &UpsertOptions,
    ) -> Result<WriteOutcome> {
        let url = self.record_url(key, None)?;
        let success =
            self.send(Method::PUT, url, Some(fields), Operation::Upsert, Some(key)).await?;
        let internal_id = success.location.as_deref().and_then(id_from_location);
        let created = match success.status {
            StatusCode::CREATED => Some(true),
            _ => None,
        };
        Ok(WriteOutcome { internal_id, created })
    }

    async fn delete(&self, key: &RecordKey, _opts: &DeleteOptions) -> Result<DeleteOutcome> {
        let url = self.record_url(key, None)?;
        match self.send(Method::DELETE, url, None, Operation::Delete, Some(key)).await {
            Ok(_) => Ok(DeleteOutcome::Deleted),
            Err(err) if is_missing(&err) => Ok(DeleteOutcome::AlreadyAbsent),
            Err(err) => Err(err),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_ids_come_from_the_location_header() {
        assert_eq!(
            id_from_location("https://h/services/rest/record/v1/customer/647").as_deref(),
            Some("647")
        );
        assert_eq!(
            id_from_location("https://h/services/rest/record/v1/customer/647/").as_deref(),
            Some("647")
        );
        assert_eq!(id_from_location("https://h/services/rest/record/v1/customer/eid:x"), None);
        assert_eq!(id_from_location(""), None);
    }

    #[test]
    fn a_record_body_becomes_fields_and_an_internal_id() {
        let key = RecordKey::parse("customer", "A").unwrap();
        let body = br#"{"links":[{"rel":"self"}],"id":"7","externalId":"A","companyName":"Acme","subsidiary":{"id":"1","refName":"HQ"}}"#;
        let record = parse_record(&key, body).unwrap();
        assert_eq!(record.internal_id.as_deref(), Some("7"));
        assert_eq!(
            Value::from(record.fields),
            serde_json::json!({"companyName": "Acme", "subsidiary": {"id": "1", "refName": "HQ"}})
        );
        let err = parse_record(&key, b"<html>").unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Unexpected);
    }
}
