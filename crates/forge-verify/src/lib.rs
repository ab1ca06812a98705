//! The generic proof that a connector works, runnable against any
//! [`forge_core::Connector`]: offline against the NetSuite simulator, or
//! live against a real account. A connector author calls [`prove`] in a
//! test; an operator runs it with `forge verify`.
//!
//! ```
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! use forge_verify::{ProofOptions, prove};
//! let report = prove(&forge_core::Memory::default(), &ProofOptions::customer(), None).await;
//! assert!(report.passed, "{report}");
//! # });
//! ```

pub mod proof;
pub mod report;

pub use proof::{ProofOptions, prove, prove_with};
pub use report::{ProofReport, StepOutcome, StepReport};
