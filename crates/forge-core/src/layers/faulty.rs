//! `Faulty`: a seeded fault-injection layer, for proving that the other layers
//! and the proof notice what goes wrong.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use async_trait::async_trait;
use serde_json::Value;

use crate::connector::{
    CheckReport, Connector, DeleteOptions, DeleteOutcome, GetOptions, UpsertOptions, WriteOutcome,
    forward_metadata,
};
use crate::error::{Error, ErrorKind, Operation, Result};
use crate::journal::lock;
use crate::record::{Fields, Record, RecordKey};
use crate::rng::SplitMix64;

/// How a write is corrupted on its way in.
#[derive(Debug, Clone, PartialEq)]
pub enum Corruption {
    /// The named field, if written, is stored as `value` instead.
    Replace {
        /// The field.
        field: String,
        /// What is stored instead of what was sent.
        value: Value,
    },
    /// The named field, if written, is silently left out of the write.
    Drop {
        /// The field.
        field: String,
    },
}

/// Which faults [`Faulty`] injects, and how often. All off by default.
#[derive(Debug, Clone, PartialEq)]
pub struct Faults {
    /// Seeds every random choice, so a seed reproduces a run exactly
    /// (given the same order of calls).
    pub seed: u64,
    /// The share of calls (in `[0, 1]`) that fail before reaching the inner
    /// connector.
    pub error_rate: f64,
    /// The kind of those failures. The error is retryable if the kind is
    /// retryable by default.
    pub error_kind: ErrorKind,
    /// Which operations the `error_rate` applies to (all when empty).
    pub error_operations: Vec<Operation>,
    /// The share of upserts and deletes that are applied and then reported as
    /// failed with [`ErrorKind::Unavailable`], as when a connection drops
    /// before the answer arrives.
    pub lost_response_rate: f64,
    /// How writes are corrupted, if at all.
    pub corruption: Option<Corruption>,
    /// The share of upserts the corruption applies to.
    pub corruption_rate: f64,
    /// Deletes report [`DeleteOutcome::Deleted`] and change nothing.
    pub delete_does_nothing: bool,
    /// An upsert of an existing record deletes it and creates a new one
    /// (a new internal id): the duplicate a create-with-retries makes.
    pub update_recreates: bool,
}

impl Default for Faults {
    fn default() -> Self {
        Self {
            seed: 0,
            error_rate: 0.0,
            error_kind: ErrorKind::Unavailable,
            error_operations: Vec::new(),
            lost_response_rate: 0.0,
            corruption: None,
            corruption_rate: 1.0,
            delete_does_nothing: false,
            update_recreates: false,
        }
    }
}

/// Injects [`Faults`] into the calls of an inner connector. Faults can be
/// switched off and on again, to let a test clean up or recover.
pub struct Faulty<C> {
    inner: C,
    faults: Faults,
    rng: Mutex<SplitMix64>,
    enabled: AtomicBool,
}

impl<C> Faulty<C> {
    /// Wraps `inner`, with faults on.
    pub fn new(inner: C, faults: Faults) -> Self {
        let rng = Mutex::new(SplitMix64::new(faults.seed));
        Self { inner, faults, rng, enabled: AtomicBool::new(true) }
    }

    /// The wrapped connector.
    pub fn inner(&self) -> &C {
        &self.inner
    }

    /// Switches fault injection on or off.
    pub fn set_enabled(&self, enabled: bool) {
        self.enabled.store(enabled, Ordering::SeqCst);
    }

    /// Draws whether a fault with probability `rate` happens now.
    fn roll(&self, rate: f64) -> bool {
        self.enabled.load(Ordering::SeqCst) && rate > 0.0 && lock(&self.rng).next_f64() < rate
    }

    /// Fails the call with an injected error, if the dice say so.
    fn maybe_fail(&self, operation: Operation) -> Result<()> {
        let applies = self.faults.error_operations.is_empty()
            || self.faults.error_operations.contains(&operation);
        if applies && self.roll(self.faults.error_rate) {
            return Err(Error::new(
                self.faults.error_kind,
                format!("injected {} fault", self.faults.error_kind),
            )
            .with_operation(operation));
        }
        Ok(())
    }

    /// Reports an applied write as failed, if the dice say so.
    fn maybe_lose<T>(&self, operation: Operation, result: Result<T>) -> Result<T> {
        if result.is_ok() && self.roll(self.faults.lost_response_rate) {
            return Err(Error::new(
                ErrorKind::Unavailable,
                "the connection dropped before the answer arrived (injected)",
            )
            .with_operation(operation));
        }
        result
    }

    fn corrupt(&self, fields: &Fields) -> Option<Fields> {
        let corruption = self.faults.corruption.as_ref()?;
        let field = match corruption {
            Corruption::Replace { field, .. } | Corruption::Drop { field } => field,
        };
        if fields.get(field).is_none() || !self.roll(self.faults.corruption_rate) {
            return None;
        }
        let mut corrupted = fields.clone();
        match corruption {
            Corruption::Replace { field, value } => corrupted.insert(field.clone(), value.clone()),
            Corruption::Drop { field } => corrupted.remove(field),
        };
        Some(corrupted)
    }
}

#[async_trait]
impl<C: Connector> Connector for Faulty<C> {
    forward_metadata!();

    async fn check(&self) -> Result<CheckReport> {
        self.maybe_fail(Operation::Check)?;
        self.inner.check().await
    }

    async fn get(&self, key: &RecordKey, opts: &GetOptions) -> Result<Option<Record>> {
        self.maybe_fail(Operation::Get)?;
        self.inner.get(key, opts).await
    }

    async fn upsert(
        &self,
        key: &RecordKey,
        fields: &Fields,
        opts: &UpsertOptions,
    ) -> Result<WriteOutcome> {
        self.maybe_fail(Operation::Upsert)?;
        if self.faults.update_recreates
            && self.inner.get(key, &GetOptions::default()).await?.is_some()
        {
            self.inner.delete(key, &DeleteOptions::default()).await?;
        }
        let corrupted = self.corrupt(fields);
        let result = self.inner.upsert(key, corrupted.as_ref().unwrap_or(fields), opts).await;
        self.maybe_lose(Operation::Upsert, result)
    }

    async fn delete(&self, key: &RecordKey, opts: &DeleteOptions) -> Result<DeleteOutcome> {
        self.maybe_fail(Operation::Delete)?;
        if self.faults.delete_does_nothing {
            return Ok(DeleteOutcome::Deleted);
        }
        let result = self.inner.delete(key, opts).await;
        self.maybe_lose(Operation::Delete, result)
    }
}
