//! STUB: A local NetSuite that verifies TBA signatures, for tests, demos and benchmarks.
//!
//! This crate is a placeholder so the workspace has its final shape; it is
//! built by issue #4 and contains no functionality yet.
