//! `Retry`: retries calls whose error says retrying may help, with exponential
//! backoff and full jitter, bounded in attempts and in total time.

use std::future::Future;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use tokio::time::Instant;

use crate::connector::{
    CheckReport, Connector, DeleteOptions, DeleteOutcome, GetOptions, UpsertOptions, WriteOutcome,
    forward_metadata,
};
use crate::error::{ErrorKind, Result};
use crate::journal::lock;
use crate::record::{Fields, Record, RecordKey};
use crate::rng::SplitMix64;

/// How [`Retry`] retries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    /// The most attempts per call, the first included (at least 1).
    pub max_attempts: u32,
    /// The backoff cap before the first retry; it doubles for each retry.
    pub initial_backoff: Duration,
    /// The largest backoff cap.
    pub max_backoff: Duration,
    /// No retry starts later than this after the first attempt started.
    pub max_elapsed: Duration,
    /// Seeds the jitter, for reproducible tests; random when `None`.
    pub seed: Option<u64>,
}

impl Default for RetryPolicy {
    /// 10 attempts, backoff caps of 250 ms doubling to 15 s, at most 2
    /// minutes. Ten, because on a saturated pool a request can be rejected a
    /// quarter of the time, and six tries then fail about one request in four
    /// thousand; the two-minute bound still stops a real outage.
    fn default() -> Self {
        Self {
            max_attempts: 10,
            initial_backoff: Duration::from_millis(250),
            max_backoff: Duration::from_secs(15),
            max_elapsed: Duration::from_secs(120),
            seed: None,
        }
    }
}

/// Counters of what [`Retry`] has done since it was made.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RetryStats {
    /// Calls made to the inner connector (first attempts and retries).
    pub attempts: u64,
    /// Retries made after a retryable error.
    pub retries: u64,
    /// Retries made after a [`ErrorKind::RateLimited`] error.
    pub rate_limited_retries: u64,
}

/// Retries the calls of an inner connector whose errors are marked retryable
/// ([`crate::Error::is_retryable`]); any other error returns at once.
///
/// The wait before retry *n* is uniform in `[0, min(max_backoff,
/// initial_backoff × 2ⁿ⁻¹)]` ("full jitter", so callers that failed together
/// do not retry in lock-step), and at least the error's
/// [`retry_after`](crate::Error::retry_after). It gives up after
/// `max_attempts`, or when the next retry would start after `max_elapsed`,
/// returning the last error with [`attempts`](crate::Error::attempts) set.
///
/// Each attempt calls the inner connector afresh, so a connector that signs
/// requests signs every attempt with a new nonce. Waiting uses tokio's clock,
/// so tests can pause and advance time instead of sleeping.
pub struct Retry<C> {
    inner: C,
    policy: RetryPolicy,
    rng: Mutex<SplitMix64>,
    attempts: AtomicU64,
    retries: AtomicU64,
    rate_limited_retries: AtomicU64,
}

impl<C> Retry<C> {
    /// Wraps `inner`.
    pub fn new(inner: C, policy: RetryPolicy) -> Self {
        let rng = policy.seed.map_or_else(SplitMix64::from_entropy, SplitMix64::new);
        Self {
            inner,
            policy,
            rng: Mutex::new(rng),
            attempts: AtomicU64::new(0),
            retries: AtomicU64::new(0),
            rate_limited_retries: AtomicU64::new(0),
        }
    }

    /// The wrapped connector.
    pub fn inner(&self) -> &C {
        &self.inner
    }

    /// What it has done so far.
    pub fn stats(&self) -> RetryStats {
        RetryStats {
            attempts: self.attempts.load(Ordering::Relaxed),
            retries: self.retries.load(Ordering::Relaxed),
            rate_limited_retries: self.rate_limited_retries.load(Ordering::Relaxed),
        }
    }

    /// The wait before retry number `retry` (1 for the first retry).
    fn backoff(&self, retry: u32, retry_after: Option<Duration>) -> Duration {
        let doubling = 2u32.saturating_pow(retry.saturating_sub(1));
        let cap = self.policy.initial_backoff.saturating_mul(doubling).min(self.policy.max_backoff);
        let cap_ms = u64::try_from(cap.as_millis()).unwrap_or(u64::MAX);
        let jittered = Duration::from_millis(lock(&self.rng).up_to(cap_ms));
        jittered.max(retry_after.unwrap_or_default())
    }

    async fn run<T, F, Fut>(&self, mut attempt: F) -> Result<T>
    where
        F: FnMut() -> Fut + Send,
        Fut: Future<Output = Result<T>> + Send,
        T: Send,
    {
        let started = Instant::now();
        let max_attempts = self.policy.max_attempts.max(1);
        let mut made = 0;
        loop {
            made += 1;
            self.attempts.fetch_add(1, Ordering::Relaxed);
            let err = match attempt().await {
                Ok(value) => return Ok(value),
                Err(err) => err,
            };
            if !err.is_retryable() || made >= max_attempts {
                return Err(err.with_attempts(made));
            }
            let wait = self.backoff(made, err.retry_after());
            if started.elapsed() + wait > self.policy.max_elapsed {
                return Err(err.with_attempts(made));
            }
            self.retries.fetch_add(1, Ordering::Relaxed);
            if err.kind() == ErrorKind::RateLimited {
                self.rate_limited_retries.fetch_add(1, Ordering::Relaxed);
            }
            tokio::time::sleep(wait).await;
        }
    }
}

#[async_trait]
impl<C: Connector> Connector for Retry<C> {
    forward_metadata!();

    async fn check(&self) -> Result<CheckReport> {
        self.run(|| self.inner.check()).await
    }

    async fn get(&self, key: &RecordKey, opts: &GetOptions) -> Result<Option<Record>> {
        self.run(|| self.inner.get(key, opts)).await
    }

    async fn upsert(
        &self,
        key: &RecordKey,
        fields: &Fields,
        opts: &UpsertOptions,
    ) -> Result<WriteOutcome> {
        self.run(|| self.inner.upsert(key, fields, opts)).await
    }

    async fn delete(&self, key: &RecordKey, opts: &DeleteOptions) -> Result<DeleteOutcome> {
        self.run(|| self.inner.delete(key, opts)).await
    }
}
