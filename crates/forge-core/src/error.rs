//! One error taxonomy for every connector: what kind of failure it was, whether
//! it is worth retrying, what the ERP said, and what a person should do.
//!
//! Connectors map their wire errors into [`Error`] at the edge, in one
//! function; layers read the data on it (the retry layer reads
//! [`Error::is_retryable`], the governor reads [`ErrorKind::RateLimited`]) and
//! never guess from messages.

use std::error::Error as StdError;
use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::record::{Fields, RecordKey};

/// A `Result` whose error is Forge's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What kind of failure an [`Error`] is: the part a program branches on.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum ErrorKind {
    /// The ERP did not accept the credentials (bad secret, wrong realm,
    /// revoked token, clock skew).
    Unauthenticated,
    /// The credentials are valid but lack a permission for this operation.
    PermissionDenied,
    /// The thing addressed does not exist (reads of a missing record are not
    /// errors: they return `None`).
    NotFound,
    /// The write conflicts with the record's current state.
    Conflict,
    /// The request itself is wrong: a bad field, value or name.
    InvalidInput,
    /// The ERP's rate or concurrency limit was hit; retry later.
    RateLimited,
    /// The ERP or the network between is down, overloaded or timed out.
    Unavailable,
    /// Forge's own configuration is wrong (account id, URL, missing secret).
    ConfigInvalid,
    /// A write was made but reading it back did not show what was sent.
    VerificationFailed,
    /// The connector does not support this operation or record type.
    Unsupported,
    /// The user stopped the operation before it finished (Ctrl-C).
    Cancelled,
    /// Anything else: a bug or an answer nobody expected.
    Unexpected,
}

impl ErrorKind {
    /// Every kind, for exhaustive tests and documentation.
    pub const ALL: [ErrorKind; 12] = [
        ErrorKind::Unauthenticated,
        ErrorKind::PermissionDenied,
        ErrorKind::NotFound,
        ErrorKind::Conflict,
        ErrorKind::InvalidInput,
        ErrorKind::RateLimited,
        ErrorKind::Unavailable,
        ErrorKind::ConfigInvalid,
        ErrorKind::VerificationFailed,
        ErrorKind::Unsupported,
        ErrorKind::Cancelled,
        ErrorKind::Unexpected,
    ];

    /// The stable name of the kind, as shown to people and in JSON output.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Unauthenticated => "Unauthenticated",
            ErrorKind::PermissionDenied => "PermissionDenied",
            ErrorKind::NotFound => "NotFound",
            ErrorKind::Conflict => "Conflict",
            ErrorKind::InvalidInput => "InvalidInput",
            ErrorKind::RateLimited => "RateLimited",
            ErrorKind::Unavailable => "Unavailable",
            ErrorKind::ConfigInvalid => "ConfigInvalid",
            ErrorKind::VerificationFailed => "VerificationFailed",
            ErrorKind::Unsupported => "Unsupported",
            ErrorKind::Cancelled => "Cancelled",
            ErrorKind::Unexpected => "Unexpected",
        }
    }

    /// Whether an error of this kind is retryable unless its creator says
    /// otherwise: only [`RateLimited`](Self::RateLimited) and
    /// [`Unavailable`](Self::Unavailable) are.
    pub fn retryable_by_default(self) -> bool {
        matches!(self, ErrorKind::RateLimited | ErrorKind::Unavailable)
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The operation an error happened in.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Operation {
    /// [`Connector::check`](crate::Connector::check).
    Check,
    /// [`Connector::get`](crate::Connector::get).
    Get,
    /// [`Connector::upsert`](crate::Connector::upsert).
    Upsert,
    /// [`Connector::delete`](crate::Connector::delete).
    Delete,
    /// Recovering journal entries left by interrupted writes.
    Recover,
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Operation::Check => "check",
            Operation::Get => "get",
            Operation::Upsert => "upsert",
            Operation::Delete => "delete",
            Operation::Recover => "recover",
        })
    }
}

/// One entry of the ERP's error details (NetSuite's `o:errorDetails`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VendorDetail {
    /// The vendor's error code for this entry, if any.
    pub code: Option<String>,
    /// The vendor's human text.
    pub detail: String,
    /// The field, parameter or header the entry is about, if the ERP says.
    pub path: Option<String>,
}

/// One field whose read-back value differs from the value written.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FieldDiff {
    /// The field's path: its name, then `.key` or `[index]` into nested values.
    pub field: String,
    /// What was written there.
    pub sent: Value,
    /// What was read back there; `None` when it was missing.
    pub read_back: Option<Value>,
}

impl fmt::Display for FieldDiff {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.read_back {
            Some(got) => write!(f, "{}: sent {}, read back {}", self.field, self.sent, got),
            None => write!(f, "{}: sent {}, missing on read-back", self.field, self.sent),
        }
    }
}

/// How the guard undid a write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RollbackAction {
    /// The record existed before: its previous values of the written fields
    /// were written back, and fields it did not have were cleared.
    Restored,
    /// The record did not exist before: it was deleted.
    Deleted,
}

/// What the guard did about a write that could not be verified.
#[derive(Debug, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Rollback {
    /// Nothing had changed, so there was nothing to undo.
    NotNeeded,
    /// The record was put back the way it was, and that was verified.
    RolledBack {
        /// How.
        action: RollbackAction,
    },
    /// Undoing the write failed, or could not be verified; the record may be
    /// left changed, and the write journal keeps its before-image.
    RollbackFailed {
        /// What was attempted.
        action: RollbackAction,
        /// Why it failed.
        #[serde(serialize_with = "serialize_display")]
        cause: Box<Error>,
    },
    /// The record's state could not be read, so nothing was undone; the write
    /// journal keeps its before-image for recovery.
    Unknown {
        /// Why the state could not be read.
        #[serde(serialize_with = "serialize_display")]
        cause: Box<Error>,
    },
}

impl fmt::Display for Rollback {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Rollback::NotNeeded => f.write_str("nothing had changed, nothing to roll back"),
            Rollback::RolledBack { action: RollbackAction::Restored } => {
                f.write_str("rolled back: the previous values were restored and verified")
            }
            Rollback::RolledBack { action: RollbackAction::Deleted } => {
                f.write_str("rolled back: the record did not exist before and was deleted")
            }
            Rollback::RollbackFailed { action, cause } => {
                let what = match action {
                    RollbackAction::Restored => "restoring the previous values",
                    RollbackAction::Deleted => "deleting the new record",
                };
                write!(f, "ROLLBACK FAILED while {what}: {cause}")
            }
            Rollback::Unknown { cause } => {
                write!(f, "not rolled back: the record's state could not be read: {cause}")
            }
        }
    }
}

/// What the write guard found and did, attached to the error of a guarded
/// write that failed or could not be verified.
#[derive(Debug, Serialize)]
pub struct GuardReport {
    /// The fields whose read-back differed from what was sent (empty when the
    /// write itself failed and the diff is not the reason).
    pub diff: Vec<FieldDiff>,
    /// The record's fields before the write; `None` if it did not exist.
    pub before: Option<Fields>,
    /// What the guard did about it.
    pub rollback: Rollback,
}

/// Where an error happened.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Context {
    /// The operation.
    pub operation: Option<Operation>,
    /// The connector's name (`netsuite`, `memory`).
    pub connector: Option<String>,
    /// The record it concerned.
    #[serde(flatten)]
    pub key: Option<RecordKey>,
}

/// An error from a connector or a layer.
///
/// `Display` is one line a person can act on: where it happened, what went
/// wrong, the vendor's code and HTTP status. The hint (what to do) is kept
/// apart in [`Error::hint`] so a CLI can print it on its own line. An error
/// never contains a secret: connectors must not put one in, and nothing here
/// formats request headers.
pub struct Error(Box<Inner>);

#[derive(Debug)]
struct Inner {
    kind: ErrorKind,
    message: String,
    hint: Option<String>,
    retryable: bool,
    retry_after: Option<Duration>,
    vendor_code: Option<String>,
    http_status: Option<u16>,
    details: Vec<VendorDetail>,
    request_id: Option<String>,
    context: Context,
    attempts: u32,
    guard: Option<GuardReport>,
    source: Option<Box<dyn StdError + Send + Sync>>,
}

impl Error {
    /// An error of `kind` saying `message` (what went wrong, in a person's
    /// words). It is retryable if the kind is retryable by default.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self(Box::new(Inner {
            kind,
            message: message.into(),
            hint: None,
            retryable: kind.retryable_by_default(),
            retry_after: None,
            vendor_code: None,
            http_status: None,
            details: Vec::new(),
            request_id: None,
            context: Context::default(),
            attempts: 0,
            guard: None,
            source: None,
        }))
    }

    /// Sets what a person should do about it.
    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.0.hint = Some(hint.into());
        self
    }

    /// Overrides whether retrying may succeed.
    pub fn with_retryable(mut self, retryable: bool) -> Self {
        self.0.retryable = retryable;
        self
    }

    /// Sets how long the ERP asked the caller to wait before retrying.
    pub fn with_retry_after(mut self, wait: Duration) -> Self {
        self.0.retry_after = Some(wait);
        self
    }

    /// Sets the vendor's error code (`INSUFFICIENT_PERMISSION`).
    pub fn with_vendor_code(mut self, code: impl Into<String>) -> Self {
        self.0.vendor_code = Some(code.into());
        self
    }

    /// Sets the HTTP status of the answer.
    pub fn with_http_status(mut self, status: u16) -> Self {
        self.0.http_status = Some(status);
        self
    }

    /// Adds one of the vendor's error details.
    pub fn with_detail(mut self, detail: VendorDetail) -> Self {
        self.0.details.push(detail);
        self
    }

    /// Sets the ERP's id for the failed request, for support tickets.
    pub fn with_request_id(mut self, id: impl Into<String>) -> Self {
        self.0.request_id = Some(id.into());
        self
    }

    /// Sets the operation, replacing any set before.
    pub fn with_operation(mut self, operation: Operation) -> Self {
        self.0.context.operation = Some(operation);
        self
    }

    /// Sets the connector's name, replacing any set before.
    pub fn with_connector(mut self, connector: impl Into<String>) -> Self {
        self.0.context.connector = Some(connector.into());
        self
    }

    /// Sets the record concerned, replacing any set before.
    pub fn with_key(mut self, key: RecordKey) -> Self {
        self.0.context.key = Some(key);
        self
    }

    /// Fills in the operation and record where they are not set yet, keeping
    /// what the code closer to the failure said.
    pub fn in_context(mut self, operation: Operation, key: Option<&RecordKey>) -> Self {
        let context = &mut self.0.context;
        context.operation.get_or_insert(operation);
        if context.key.is_none() {
            context.key = key.cloned();
        }
        self
    }

    /// Records how many attempts were made before giving up.
    pub fn with_attempts(mut self, attempts: u32) -> Self {
        self.0.attempts = attempts;
        self
    }

    /// Attaches what the write guard found and did.
    pub fn with_guard(mut self, report: GuardReport) -> Self {
        self.0.guard = Some(report);
        self
    }

    /// Attaches the lower-level cause.
    pub fn with_source(mut self, source: impl StdError + Send + Sync + 'static) -> Self {
        self.0.source = Some(Box::new(source));
        self
    }

    /// The kind of failure.
    pub fn kind(&self) -> ErrorKind {
        self.0.kind
    }

    /// What went wrong, without context.
    pub fn message(&self) -> &str {
        &self.0.message
    }

    /// What a person should do about it, if known.
    pub fn hint(&self) -> Option<&str> {
        self.0.hint.as_deref()
    }

    /// Whether retrying the same call may succeed.
    pub fn is_retryable(&self) -> bool {
        self.0.retryable
    }

    /// How long the ERP asked to wait before retrying, if it said.
    pub fn retry_after(&self) -> Option<Duration> {
        self.0.retry_after
    }

    /// The vendor's error code, if any.
    pub fn vendor_code(&self) -> Option<&str> {
        self.0.vendor_code.as_deref()
    }

    /// The HTTP status of the answer, if there was one.
    pub fn http_status(&self) -> Option<u16> {
        self.0.http_status
    }

    /// The vendor's error details, in the order given.
    pub fn details(&self) -> &[VendorDetail] {
        &self.0.details
    }

    /// The ERP's id for the failed request, if it gave one.
    pub fn request_id(&self) -> Option<&str> {
        self.0.request_id.as_deref()
    }

    /// Where it happened.
    pub fn context(&self) -> &Context {
        &self.0.context
    }

    /// How many attempts were made (0 when no retry layer was involved).
    pub fn attempts(&self) -> u32 {
        self.0.attempts
    }

    /// What the write guard found and did, for guarded writes.
    pub fn guard(&self) -> Option<&GuardReport> {
        self.0.guard.as_ref()
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = &self.0;
        let context = &inner.context;
        let mut wrote_prefix = false;
        if let Some(operation) = context.operation {
            write!(f, "{operation}")?;
            wrote_prefix = true;
        }
        if let Some(key) = &context.key {
            write!(f, "{}{key}", if wrote_prefix { " " } else { "" })?;
            wrote_prefix = true;
        }
        if let Some(connector) = &context.connector {
            write!(f, "{}({connector})", if wrote_prefix { " " } else { "" })?;
            wrote_prefix = true;
        }
        if wrote_prefix {
            f.write_str(" failed: ")?;
        }
        f.write_str(&inner.message)?;
        match (&inner.vendor_code, inner.http_status) {
            (Some(code), Some(status)) => write!(f, " ({code}, HTTP {status})")?,
            (Some(code), None) => write!(f, " ({code})")?,
            (None, Some(status)) => write!(f, " (HTTP {status})")?,
            (None, None) => {}
        }
        if inner.attempts > 1 {
            write!(f, "; gave up after {} attempts", inner.attempts)?;
        }
        Ok(())
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl StdError for Error {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        self.0.source.as_deref().map(|s| s as &(dyn StdError + 'static))
    }
}

/// The JSON shape of an error: every field a program or a person needs,
/// never a secret.
impl Serialize for Error {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct View<'a> {
            kind: ErrorKind,
            message: String,
            hint: Option<&'a str>,
            retryable: bool,
            retry_after_ms: Option<u128>,
            vendor_code: Option<&'a str>,
            http_status: Option<u16>,
            details: &'a [VendorDetail],
            request_id: Option<&'a str>,
            #[serde(flatten)]
            context: &'a Context,
            attempts: u32,
            guard: Option<&'a GuardReport>,
        }
        let inner = &self.0;
        View {
            kind: inner.kind,
            message: self.to_string(),
            hint: inner.hint.as_deref(),
            retryable: inner.retryable,
            retry_after_ms: inner.retry_after.map(|d| d.as_millis()),
            vendor_code: inner.vendor_code.as_deref(),
            http_status: inner.http_status,
            details: &inner.details,
            request_id: inner.request_id.as_deref(),
            context: &inner.context,
            attempts: inner.attempts,
            guard: inner.guard.as_ref(),
        }
        .serialize(s)
    }
}

fn serialize_display<T: fmt::Display, S: serde::Serializer>(
    value: &T,
    s: S,
) -> Result<S::Ok, S::Error> {
    s.collect_str(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_is_one_line_with_context_and_vendor_code() {
        let err = Error::new(ErrorKind::PermissionDenied, "the role lacks permission")
            .with_vendor_code("INSUFFICIENT_PERMISSION")
            .with_http_status(403)
            .with_connector("netsuite")
            .with_hint("fix the role, not the token")
            .in_context(Operation::Upsert, Some(&RecordKey::parse("customer", "A 1").unwrap()));
        assert_eq!(
            err.to_string(),
            r#"upsert customer "A 1" (netsuite) failed: the role lacks permission (INSUFFICIENT_PERMISSION, HTTP 403)"#
        );
        assert_eq!(err.hint(), Some("fix the role, not the token"));
        assert!(!err.is_retryable());
    }

    #[test]
    fn in_context_keeps_what_was_set_closer_to_the_failure() {
        let inner_key = RecordKey::parse("customer", "inner").unwrap();
        let outer_key = RecordKey::parse("customer", "outer").unwrap();
        let err = Error::new(ErrorKind::NotFound, "x")
            .with_operation(Operation::Get)
            .with_key(inner_key.clone())
            .in_context(Operation::Upsert, Some(&outer_key));
        assert_eq!(err.context().operation, Some(Operation::Get));
        assert_eq!(err.context().key, Some(inner_key));
    }

    #[test]
    fn retryable_defaults_follow_the_kind() {
        for kind in ErrorKind::ALL {
            let err = Error::new(kind, "x");
            assert_eq!(err.is_retryable(), kind.retryable_by_default(), "{kind}");
        }
        assert!(Error::new(ErrorKind::RateLimited, "x").is_retryable());
        assert!(!Error::new(ErrorKind::Unavailable, "x").with_retryable(false).is_retryable());
    }

    #[test]
    fn json_carries_kind_code_hint_and_rollback() {
        let err = Error::new(ErrorKind::VerificationFailed, "read-back differs")
            .with_attempts(3)
            .with_guard(GuardReport {
                diff: vec![FieldDiff { field: "a".into(), sent: 1.into(), read_back: None }],
                before: None,
                rollback: Rollback::RolledBack { action: RollbackAction::Deleted },
            });
        let json = serde_json::to_value(&err).unwrap();
        assert_eq!(json["kind"], "VerificationFailed");
        assert_eq!(json["attempts"], 3);
        assert_eq!(json["guard"]["rollback"]["outcome"], "rolled_back");
        assert_eq!(json["guard"]["rollback"]["action"], "deleted");
        assert_eq!(json["guard"]["diff"][0]["field"], "a");
        assert!(json["message"].as_str().unwrap().ends_with("gave up after 3 attempts"));
    }

    #[test]
    fn error_stays_small() {
        assert_eq!(std::mem::size_of::<Error>(), std::mem::size_of::<usize>());
    }
}
