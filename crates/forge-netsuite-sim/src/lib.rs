//! A local NetSuite for tests, demos and benchmarks: it verifies every
//! request's TBA signature the way NetSuite does, serves the REST record
//! service from memory, and injects the faults real accounts produce.
//!
//! ```
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! use forge_netsuite_sim::{SimConfig, Simulator};
//! let sim = Simulator::start(SimConfig::default()).await.unwrap();
//! assert!(sim.base_url().starts_with("http://127.0.0.1:"));
//! sim.stop().await;
//! # });
//! ```

pub mod auth;
pub mod config;
pub mod records;
pub mod server;

pub use auth::AuthFailure;
pub use config::{SimConfig, SimFaults, SimSecrets};
pub use records::SimRecord;
pub use server::{SimHandle, Simulator};
