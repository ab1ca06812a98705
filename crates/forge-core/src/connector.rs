//! The `Connector` trait: the few primitives every ERP connector implements,
//! and the data that describes a connector to people and to the proof.
//!
//! Every write primitive is idempotent by contract (upsert is keyed on the
//! caller's external id, delete of an absent record is not an error), which is
//! what lets the retry layer retry any call and the guard roll any write back.

use std::sync::Arc;

use async_trait::async_trait;
use serde::Serialize;

use crate::error::{FieldDiff, Operation, Result};
use crate::matching::diff_fields;
use crate::record::{Fields, Record, RecordKey, RecordType};

/// One ERP, seen through a handful of orthogonal, idempotent primitives.
///
/// Implementations map every wire failure to [`crate::Error`] with the right
/// [`crate::ErrorKind`] and a hint, and never put a secret in an error. Layers
/// ([`crate::Retry`], [`crate::Governed`], [`crate::Guarded`]) implement this
/// trait too, so they stack in any order and pass the same proof.
///
/// The trait is object safe: `Box<dyn Connector>` and `Arc<dyn Connector>` are
/// connectors themselves.
#[async_trait]
pub trait Connector: Send + Sync {
    /// What this connector is and what it needs to connect: the data a
    /// "Connect" screen or CLI prompt is built from.
    fn descriptor(&self) -> &Descriptor;

    /// Which operations and record types it supports.
    fn capabilities(&self) -> Capabilities;

    /// Makes one cheap authenticated call that proves the credentials work.
    ///
    /// Bad credentials give [`crate::ErrorKind::Unauthenticated`].
    async fn check(&self) -> Result<CheckReport>;

    /// Reads one record by external id. A record that does not exist is
    /// `Ok(None)`, not an error.
    async fn get(&self, key: &RecordKey, opts: &GetOptions) -> Result<Option<Record>>;

    /// Creates the record, or updates it if one with this external id exists.
    /// Fields not sent are left as they are; a `null` value clears a field.
    /// Calling it twice with the same input leaves the same state as once.
    async fn upsert(
        &self,
        key: &RecordKey,
        fields: &Fields,
        opts: &UpsertOptions,
    ) -> Result<WriteOutcome>;

    /// Deletes the record. Deleting a record that does not exist returns
    /// [`DeleteOutcome::AlreadyAbsent`], not an error.
    async fn delete(&self, key: &RecordKey, opts: &DeleteOptions) -> Result<DeleteOutcome>;

    /// Whether a record read back after a write shows the fields that were
    /// sent: `Ok(())` if it does, else one [`FieldDiff`] per differing field.
    ///
    /// The default is [`diff_fields`]: every sent field must be present with
    /// an equal value, objects compare on the keys sent, numbers numerically.
    /// Override it for ERP-specific normalisation (say, an ERP that stores
    /// e-mail addresses in lower case).
    fn matches(&self, sent: &Fields, read_back: &Fields) -> Result<(), Vec<FieldDiff>> {
        let diffs = diff_fields(sent, read_back);
        if diffs.is_empty() { Ok(()) } else { Err(diffs) }
    }
}

/// How much work connecting an ERP is for its user, shown on a Connect screen.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Difficulty {
    /// One key pasted from a settings page.
    Easy,
    /// An OAuth app or a few settings.
    Moderate,
    /// An administrator sets up integration records, roles and tokens.
    Heavy,
}

/// One secret a connector needs, and where its user finds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SecretSpec {
    /// A stable identifier (`consumer_key`), used as the storage key.
    pub name: String,
    /// What people call it (`Consumer key`).
    pub label: String,
    /// Where in the ERP it is found, step by step.
    pub where_to_find: String,
}

/// One non-secret configuration value a connector needs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConfigSpec {
    /// A stable identifier (`account_id`).
    pub name: String,
    /// What people call it (`Account ID`).
    pub label: String,
    /// What it is and where it is found.
    pub help: String,
    /// A valid example value.
    pub example: String,
}

/// What a connector is and what it needs to connect.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Descriptor {
    /// A stable lower-case name (`netsuite`), used in errors, journals and
    /// stored connections.
    pub name: String,
    /// The ERP's name as people write it (`NetSuite`).
    pub display_name: String,
    /// How it authenticates (`Token-Based Authentication (OAuth 1.0a, HMAC-SHA256)`).
    pub auth_method: String,
    /// How much work connecting is.
    pub difficulty: Difficulty,
    /// The secrets it needs, in the order a person enters them.
    pub secrets: Vec<SecretSpec>,
    /// The non-secret settings it needs.
    pub config: Vec<ConfigSpec>,
}

/// Which record types a connector can work with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RecordTypes {
    /// Any type the ERP has (subject to the credentials' permissions).
    Any,
    /// Only these.
    Only(Vec<RecordType>),
}

/// Which operations and record types a connector supports. The proof runs
/// only the steps a connector declares.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Capabilities {
    /// [`Connector::check`] makes a real authenticated call.
    pub check: bool,
    /// [`Connector::get`] works.
    pub get: bool,
    /// [`Connector::upsert`] works.
    pub upsert: bool,
    /// [`Connector::delete`] works.
    pub delete: bool,
    /// The record types it can address.
    pub record_types: RecordTypes,
}

impl Capabilities {
    /// Every operation on any record type.
    pub fn all() -> Self {
        Self { check: true, get: true, upsert: true, delete: true, record_types: RecordTypes::Any }
    }

    /// Whether `operation` is supported.
    pub fn supports(&self, operation: Operation) -> bool {
        match operation {
            Operation::Check => self.check,
            Operation::Get => self.get,
            Operation::Upsert => self.upsert,
            Operation::Delete => self.delete,
            Operation::Recover => self.get && self.upsert && self.delete,
        }
    }

    /// Whether `record_type` can be addressed.
    pub fn supports_type(&self, record_type: &RecordType) -> bool {
        match &self.record_types {
            RecordTypes::Any => true,
            RecordTypes::Only(types) => types.contains(record_type),
        }
    }
}

/// What a successful [`Connector::check`] found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CheckReport {
    /// One line for a person: what was proven (`authenticated to account 1234567_SB1`).
    pub summary: String,
}

/// Options for [`Connector::get`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GetOptions {
    /// Read only these body fields (all when `None`). Connectors that cannot
    /// limit fields return all of them.
    pub fields: Option<Vec<String>>,
}

/// Options for [`Connector::upsert`]; none yet, so new behaviour can be added
/// as a field without changing the trait. Build it with `Default`.
#[non_exhaustive]
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UpsertOptions {}

/// Options for [`Connector::delete`]; none yet, for the same reason as
/// [`UpsertOptions`].
#[non_exhaustive]
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeleteOptions {}

/// What a successful upsert reported.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct WriteOutcome {
    /// The ERP's own id for the record, when it said.
    pub internal_id: Option<String>,
    /// `Some(true)` if the record was created, `Some(false)` if updated,
    /// `None` if the ERP does not say.
    pub created: Option<bool>,
}

/// What a successful delete found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DeleteOutcome {
    /// The record existed and was deleted.
    Deleted,
    /// There was no such record; nothing changed.
    AlreadyAbsent,
}

/// Implements `Connector` for a smart pointer by forwarding every method.
macro_rules! forward_pointer {
    ($($pointer:ident),*) => {$(
        #[async_trait]
        impl<T: Connector + ?Sized> Connector for $pointer<T> {
            fn descriptor(&self) -> &Descriptor {
                (**self).descriptor()
            }
            fn capabilities(&self) -> Capabilities {
                (**self).capabilities()
            }
            async fn check(&self) -> Result<CheckReport> {
                (**self).check().await
            }
            async fn get(&self, key: &RecordKey, opts: &GetOptions) -> Result<Option<Record>> {
                (**self).get(key, opts).await
            }
            async fn upsert(
                &self,
                key: &RecordKey,
                fields: &Fields,
                opts: &UpsertOptions,
            ) -> Result<WriteOutcome> {
                (**self).upsert(key, fields, opts).await
            }
            async fn delete(&self, key: &RecordKey, opts: &DeleteOptions) -> Result<DeleteOutcome> {
                (**self).delete(key, opts).await
            }
            fn matches(&self, sent: &Fields, read_back: &Fields) -> Result<(), Vec<FieldDiff>> {
                (**self).matches(sent, read_back)
            }
        }
    )*};
}
forward_pointer!(Box, Arc);

/// Forwards the methods a layer does not change (`descriptor`,
/// `capabilities`, `matches`) to its `inner` connector.
macro_rules! forward_metadata {
    () => {
        fn descriptor(&self) -> &$crate::Descriptor {
            self.inner.descriptor()
        }
        fn capabilities(&self) -> $crate::Capabilities {
            self.inner.capabilities()
        }
        fn matches(
            &self,
            sent: &$crate::Fields,
            read_back: &$crate::Fields,
        ) -> ::std::result::Result<(), Vec<$crate::FieldDiff>> {
            self.inner.matches(sent, read_back)
        }
    };
}
pub(crate) use forward_metadata;
