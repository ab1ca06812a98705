//! STUB: The encrypted credential store and the durable write journal.
//!
//! This crate is a placeholder so the workspace has its final shape; it is
//! built by issue #5 and contains no functionality yet.
