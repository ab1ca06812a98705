//! STUB: The NetSuite connector: account ids, the TBA signer, the REST record client and NetSuite's errors.
//!
//! This crate is a placeholder so the workspace has its final shape; it is
//! built by issue #3 and contains no functionality yet.
