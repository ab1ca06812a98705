//! STUB: The generic proof that a connector works: upsert, verify, delete, confirm gone.
//!
//! This crate is a placeholder so the workspace has its final shape; it is
//! built by issue #6 and contains no functionality yet.
