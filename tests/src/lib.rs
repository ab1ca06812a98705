//! End-to-end tests for Forge live in `tests/tests/`; they run the real
//! `forge` binary against the NetSuite simulator. This library is empty: the
//! package exists to hold those tests, which arrive with the CLI (issue #6).
