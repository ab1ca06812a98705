//! Forge's encrypted credential store and durable write journal.
//!
//! The four NetSuite secrets are shown once by NetSuite and let anyone act
//! as the integration, so they are sealed with XChaCha20-Poly1305 before they
//! touch the disk, bound to their row, and only ever held in memory in
//! `secrecy` types. The same database keeps the write journal that lets a
//! guarded write interrupted by a crash be rolled back.

pub mod error;
pub mod keys;
pub mod model;
pub mod options;
pub mod seal;
pub mod sqlite;

pub use error::StoreError;
pub use keys::{KeyRing, KeySource};
pub use model::{
    Connection, ConnectionInfo, CredentialStore, NewConnection, PutOptions, RotationReport,
    Secrets, validate_name,
};
pub use options::StoreOptions;
pub use sqlite::SqliteStore;
