//! The NetSuite connector: account ids and hosts, the TBA signer, the REST
//! record client, and the mapping of NetSuite's errors to Forge's taxonomy.
//!
//! ```no_run
//! use forge_netsuite::{AccountId, Credentials, NetSuite, NetSuiteConfig};
//! use forge_core::Connector;
//! # async fn demo() -> forge_core::Result<()> {
//! let config = NetSuiteConfig::new(AccountId::parse("1234567-sb1")?);
//! let credentials = Credentials::new(
//!     "consumer key".into(), "consumer secret".into(), "token id".into(), "token secret".into(),
//! );
//! let netsuite = NetSuite::new(config, credentials)?;
//! println!("{}", netsuite.check().await?.summary);
//! # Ok(())
//! # }
//! ```

pub mod account;
pub mod client;
pub mod error;
pub mod tba;

pub use account::{AccountId, AccountKind, parse_base_url};
pub use client::{NetSuite, NetSuiteConfig};
pub use tba::{Credentials, SignInput, Signed, sign};
