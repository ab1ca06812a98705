//! End-to-end tests for Forge live in `tests/tests/`; they run the real
//! `forge` binary against the NetSuite simulator. This library is empty: the
//! package exists to hold those tests, which arrive with the CLI (issue #6).

/// Compiles the README's Rust examples as doc tests. They live here because
/// this package sees every crate the README shows.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
struct ReadmeDoctests;
