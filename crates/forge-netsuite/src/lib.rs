//! The NetSuite connector: account ids and hosts, the TBA signer, the REST
//! record client, and the mapping of NetSuite's errors to Forge's taxonomy.

pub mod account;
pub mod tba;

pub use account::{AccountId, AccountKind, parse_base_url};
pub use tba::{Credentials, SignInput, Signed, sign};
