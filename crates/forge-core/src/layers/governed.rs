//! `Governed`: keeps the number of calls in flight under an adaptive cap, so a
//! connection uses its ERP's concurrency pool fully without overrunning it.

use std::future::Future;
use std::sync::Mutex;

use async_trait::async_trait;
use tokio::sync::{Semaphore, SemaphorePermit};

use crate::connector::{
    CheckReport, Connector, DeleteOptions, DeleteOutcome, GetOptions, UpsertOptions, WriteOutcome,
    forward_metadata,
};
use crate::error::{Error, ErrorKind, Result};
use crate::journal::lock;
use crate::record::{Fields, Record, RecordKey};

/// How [`Governed`] limits concurrency.
#[derive(Debug, Clone, PartialEq)]
pub struct GovernorConfig {
    /// The most calls in flight at once; the cap starts here and never
    /// exceeds it. For NetSuite, the account's concurrency limit.
    pub max_in_flight: usize,
    /// The cap never drops below this (at least 1).
    pub min_in_flight: usize,
    /// On a rate-limit error the cap is multiplied by this (in `(0, 1)`).
    pub decrease_factor: f64,
    /// The share of calls that may be rate limited before the cap is
    /// lowered, measured as an exponentially weighted average over about the
    /// last 64 calls. 0 lowers the cap on every rate-limit signal; a little
    /// tolerance (0.2) keeps an ERP that rejects a share of requests at
    /// random from driving the cap down, while overload, which rejects most
    /// requests, still lowers it at once.
    pub tolerance: f64,
}

impl GovernorConfig {
    /// A cap of `max_in_flight` (at least 1), falling to 1 at the lowest,
    /// shrinking by a quarter on each rate-limit signal.
    pub fn new(max_in_flight: usize) -> Self {
        Self {
            max_in_flight: max_in_flight.max(1),
            min_in_flight: 1,
            decrease_factor: 0.75,
            tolerance: 0.0,
        }
    }
}

/// What [`Governed`] is doing now and has done.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GovernorStats {
    /// The current cap on calls in flight.
    pub cap: usize,
    /// Calls in flight now.
    pub in_flight: usize,
    /// Calls waiting for a slot now.
    pub waiting: usize,
    /// The most calls that were ever in flight at once.
    pub peak_in_flight: usize,
    /// How many times the cap was lowered.
    pub decreases: u64,
}

/// The weight of one call in the rate-limited share (about the last 64
/// calls: long enough that 10% random rejections rarely look like 20%,
/// short enough that overload, which rejects most calls, shows within ~15).
const SHARE_WEIGHT: f64 = 1.0 / 64.0;

/// Caps the calls in flight to an inner connector, and adapts the cap to what
/// the ERP accepts: additive increase, multiplicative decrease.
///
/// - A call waits (first come, first served) until fewer than `cap` calls
///   are in flight.
/// - A call that fails with [`ErrorKind::RateLimited`] lowers the cap to
///   `max(min_in_flight, ⌊cap × decrease_factor⌋)`, at most once per
///   "generation": calls started before the last decrease do not lower it
///   again, so one burst of rejections from an over-full pool shrinks the cap
///   once, not once per rejected call. With a `tolerance`, only while the
///   recent share of rate-limited calls exceeds it.
/// - Each run of `cap` successful calls raises the cap by one, up to
///   `max_in_flight`.
///
/// Lowering the cap never cancels calls already in flight; it holds back new
/// ones until enough have finished.
pub struct Governed<C> {
    inner: C,
    limiter: Limiter,
}

struct Limiter {
    semaphore: Semaphore,
    state: Mutex<State>,
    config: GovernorConfig,
}

#[derive(Debug)]
struct State {
    cap: usize,
    /// Permits that must be retired as they come back, because the cap was
    /// lowered while they were out.
    owed: usize,
    generation: u64,
    successes: usize,
    /// Exponentially weighted share of recent calls that were rate limited.
    limited_share: f64,
    in_flight: usize,
    waiting: usize,
    peak_in_flight: usize,
    decreases: u64,
}

/// A slot in the pool, held for the duration of one inner call.
struct Slot<'a> {
    permit: Option<SemaphorePermit<'a>>,
    generation: u64,
    limiter: &'a Limiter,
}

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        let mut state = lock(&self.limiter.state);
        state.in_flight -= 1;
        if let Some(permit) = self.permit.take()
            && state.owed > 0
        {
            state.owed -= 1;
            permit.forget();
        }
    }
}

/// Counts a caller as waiting until it gets a slot or gives up.
struct Waiting<'a>(&'a Limiter);

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        lock(&self.0.state).waiting -= 1;
    }
}

impl Limiter {
    fn new(config: GovernorConfig) -> Self {
        let max = config.max_in_flight.max(1);
        let config = GovernorConfig {
            max_in_flight: max,
            min_in_flight: config.min_in_flight.clamp(1, max),
            decrease_factor: if config.decrease_factor > 0.0 && config.decrease_factor < 1.0 {
                config.decrease_factor
            } else {
                0.75
            },
            tolerance: if config.tolerance.is_finite() {
                config.tolerance.clamp(0.0, 1.0)
            } else {
                0.0
            },
        };
        Self {
            semaphore: Semaphore::new(max),
            state: Mutex::new(State {
                cap: max,
                owed: 0,
                generation: 0,
                successes: 0,
                limited_share: 0.0,
                in_flight: 0,
                waiting: 0,
                peak_in_flight: 0,
                decreases: 0,
            }),
            config,
        }
    }

    async fn acquire(&self) -> Result<Slot<'_>> {
        lock(&self.state).waiting += 1;
        let waited = Waiting(self);
        let permit = self.semaphore.acquire().await.map_err(|_| {
            Error::new(ErrorKind::Unexpected, "the concurrency governor was shut down")
        })?;
        drop(waited);
        let mut state = lock(&self.state);
        state.in_flight += 1;
        state.peak_in_flight = state.peak_in_flight.max(state.in_flight);
        Ok(Slot { permit: Some(permit), generation: state.generation, limiter: self })
    }

    fn on_success(&self) {
        let mut state = lock(&self.state);
        state.limited_share *= 1.0 - SHARE_WEIGHT;
        state.successes += 1;
        if state.successes >= state.cap && state.cap < self.config.max_in_flight {
            state.cap += 1;
            state.successes = 0;
            if state.owed > 0 {
                state.owed -= 1;
            } else {
                self.semaphore.add_permits(1);
            }
        }
    }

    fn on_rate_limited(&self, generation: u64) {
        let mut state = lock(&self.state);
        state.limited_share = state.limited_share * (1.0 - SHARE_WEIGHT) + SHARE_WEIGHT;
        if generation != state.generation || state.limited_share <= self.config.tolerance {
            return;
        }
        let lowered = ((state.cap as f64) * self.config.decrease_factor).floor() as usize;
        let new_cap = lowered.max(self.config.min_in_flight);
        state.generation += 1;
        state.successes = 0;
        if new_cap >= state.cap {
            return;
        }
        for _ in new_cap..state.cap {
            match self.semaphore.try_acquire() {
                Ok(permit) => permit.forget(),
                Err(_) => state.owed += 1,
            }
        }
        state.cap = new_cap;
        state.decreases += 1;
    }

    async fn call<T, Fut>(&self, call: Fut) -> Result<T>
    where
        Fut: Future<Output = Result<T>> + Send,
    {
        let slot = self.acquire().await?;
        let result = call.await;
        match &result {
            Ok(_) => self.on_success(),
            Err(err) if err.kind() == ErrorKind::RateLimited => {
                self.on_rate_limited(slot.generation)
            }
            Err(_) => {}
        }
        drop(slot);
        result
    }
}

impl<C> Governed<C> {
    /// Wraps `inner`.
    pub fn new(inner: C, config: GovernorConfig) -> Self {
        Self { inner, limiter: Limiter::new(config) }
    }

    /// The wrapped connector.
    pub fn inner(&self) -> &C {
        &self.inner
    }

    /// The current cap, calls in flight and history.
    pub fn stats(&self) -> GovernorStats {
        let state = lock(&self.limiter.state);
        GovernorStats {
            cap: state.cap,
            in_flight: state.in_flight,
            waiting: state.waiting,
            peak_in_flight: state.peak_in_flight,
            decreases: state.decreases,
        }
    }
}

#[async_trait]
impl<C: Connector> Connector for Governed<C> {
    forward_metadata!();

    async fn check(&self) -> Result<CheckReport> {
        self.limiter.call(self.inner.check()).await
    }

    async fn get(&self, key: &RecordKey, opts: &GetOptions) -> Result<Option<Record>> {
        self.limiter.call(self.inner.get(key, opts)).await
    }

    async fn upsert(
        &self,
        key: &RecordKey,
        fields: &Fields,
        opts: &UpsertOptions,
    ) -> Result<WriteOutcome> {
        self.limiter.call(self.inner.upsert(key, fields, opts)).await
    }

    async fn delete(&self, key: &RecordKey, opts: &DeleteOptions) -> Result<DeleteOutcome> {
        self.limiter.call(self.inner.delete(key, opts)).await
    }
}
