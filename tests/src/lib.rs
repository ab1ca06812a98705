//! Forge's end-to-end tests live in `tests/tests/`: they build and run the
//! real `forge` binary against an in-process NetSuite simulator, one
//! temporary `FORGE_HOME` per test. This library holds no code of its own;
//! it compiles the README's examples.

/// Compiles the README's Rust examples as doc tests. They live here because
/// this package sees every crate the README shows.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
struct ReadmeDoctests;
