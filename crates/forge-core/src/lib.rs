//! Forge's core: the [`Connector`] trait every ERP connector implements, the
//! record model, one error taxonomy, and the layers every write goes through.
//!
//! A connector knows one ERP's wire protocol and nothing else. Everything
//! cross-cutting is a layer that is itself a [`Connector`]:
//!
//! - [`Retry`] retries calls whose error says retrying may help, with
//!   jittered exponential backoff;
//! - [`Governed`] caps the calls in flight and adapts the cap to the ERP's
//!   rate-limit signals;
//! - [`Guarded`] snapshots, journals, verifies and, if needed, rolls back
//!   every write;
//! - [`Memory`] (a reference ERP) and [`Faulty`] (fault injection) exist for
//!   tests and for proving the rest.
//!
//! ```
//! use std::sync::Arc;
//! use forge_core::{
//!     Connector, Fields, GovernorConfig, Governed, Guarded, Memory, MemoryJournal, RecordKey,
//!     Retry, RetryPolicy,
//! };
//!
//! # tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap().block_on(async {
//! let erp = Guarded::new(
//!     Retry::new(Governed::new(Memory::default(), GovernorConfig::new(15)), RetryPolicy::default()),
//!     Arc::new(MemoryJournal::default()),
//! );
//! let key = RecordKey::parse("customer", "ABC-1")?;
//! let fields = Fields::from_value(serde_json::json!({"companyName": "Acme"}))?;
//! erp.upsert(&key, &fields, &Default::default()).await?; // verified, or rolled back
//! # Ok::<(), forge_core::Error>(())
//! # }).unwrap();
//! ```

pub mod connector;
pub mod error;
pub mod journal;
pub mod layers;
pub mod matching;
pub mod memory;
pub mod record;
pub mod rng;

pub use connector::{
    Capabilities, CheckReport, ConfigSpec, Connector, DeleteOptions, DeleteOutcome, Descriptor,
    Difficulty, GetOptions, RecordTypes, SecretSpec, UpsertOptions, WriteOutcome,
};
pub use error::{
    Context, Error, ErrorKind, FieldDiff, GuardReport, Operation, Result, Rollback, RollbackAction,
    VendorDetail,
};
pub use journal::{Journal, JournalEntry, JournalId, MemoryJournal, Settlement};
pub use layers::faulty::{Corruption, Faults, Faulty};
pub use layers::governed::{Governed, GovernorConfig, GovernorStats};
pub use layers::guarded::{Guarded, Recovered, Recovery};
pub use layers::retry::{Retry, RetryPolicy, RetryStats};
pub use memory::Memory;
pub use record::{ExternalId, Fields, Record, RecordKey, RecordType};
