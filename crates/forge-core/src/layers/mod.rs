//! Layers: connectors that wrap another connector to add one cross-cutting
//! behaviour, so every connector gets it without writing it.
//!
//! The usual stack, outermost first, is
//! `Guarded<Retry<Governed<connector>>>`: the guard sees each logical write
//! once, retries happen per request, and every request (first attempt or
//! retry) waits for a slot in the account's concurrency pool.

pub mod faulty;
pub mod governed;
pub mod guarded;
pub mod retry;
