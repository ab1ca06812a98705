//! `Retry`: which errors it retries, how long it waits, and when it gives up.
//! Time is tokio's paused clock, so waits cost nothing and are measured
//! exactly.

mod common;

use std::time::Duration;

use common::{Scripted, fields, key};
use forge_core::{Connector, Error, ErrorKind, Operation, Retry, RetryPolicy};
use tokio::time::Instant;

fn policy(max_attempts: u32) -> RetryPolicy {
    RetryPolicy { max_attempts, seed: Some(42), ..RetryPolicy::default() }
}

#[tokio::test(start_paused = true)]
async fn non_retryable_errors_return_at_once() {
    for kind in ErrorKind::ALL.into_iter().filter(|k| !k.retryable_by_default()) {
        let retry = Retry::new(Scripted::default(), policy(5));
        retry.inner().fail_times(Operation::Get, 1, kind);
        let err = retry.get(&key("a"), &Default::default()).await.unwrap_err();
        assert_eq!(err.kind(), kind);
        assert_eq!(retry.inner().calls(Operation::Get), 1, "{kind} must not be retried");
        assert_eq!(err.attempts(), 1);
    }
}

#[tokio::test(start_paused = true)]
async fn retryable_errors_are_retried_until_success_calling_the_inner_connector_each_time() {
    let retry = Retry::new(Scripted::default(), policy(5));
    retry.inner().fail_times(Operation::Upsert, 2, ErrorKind::RateLimited);
    retry.inner().fail_times(Operation::Upsert, 1, ErrorKind::Unavailable);
    retry
        .upsert(&key("a"), &fields(serde_json::json!({"x": 1})), &Default::default())
        .await
        .unwrap();
    assert_eq!(retry.inner().calls(Operation::Upsert), 4);
    let stats = retry.stats();
    assert_eq!((stats.attempts, stats.retries, stats.rate_limited_retries), (4, 3, 2));
    assert!(retry.inner().memory.stored(&key("a")).is_some());
}

#[tokio::test(start_paused = true)]
async fn gives_up_after_max_attempts_and_says_so() {
    let retry = Retry::new(Scripted::default(), policy(3));
    retry.inner().fail_times(Operation::Delete, 10, ErrorKind::Unavailable);
    let err = retry.delete(&key("a"), &Default::default()).await.unwrap_err();
    assert_eq!(retry.inner().calls(Operation::Delete), 3);
    assert_eq!(err.attempts(), 3);
    assert!(err.to_string().ends_with("gave up after 3 attempts"), "{err}");
}

#[tokio::test(start_paused = true)]
async fn an_error_marked_not_retryable_is_not_retried_whatever_its_kind() {
    let retry = Retry::new(Scripted::default(), policy(5));
    retry.inner().fail_next(Operation::Get, || {
        Error::new(ErrorKind::Unavailable, "x").with_retryable(false)
    });
    assert!(retry.get(&key("a"), &Default::default()).await.is_err());
    assert_eq!(retry.inner().calls(Operation::Get), 1);
}

#[tokio::test(start_paused = true)]
async fn honours_retry_after() {
    let retry = Retry::new(Scripted::default(), policy(5));
    retry.inner().fail_next(Operation::Get, || {
        Error::new(ErrorKind::RateLimited, "slow down").with_retry_after(Duration::from_secs(30))
    });
    let started = Instant::now();
    retry.get(&key("a"), &Default::default()).await.unwrap();
    let waited = started.elapsed();
    assert!(waited >= Duration::from_secs(30), "waited only {waited:?}");
    assert!(waited < Duration::from_secs(31), "waited {waited:?}");
}

#[tokio::test(start_paused = true)]
async fn waits_grow_but_stay_within_the_jittered_caps() {
    let p = RetryPolicy {
        initial_backoff: Duration::from_millis(100),
        max_backoff: Duration::from_millis(800),
        ..policy(6)
    };
    let retry = Retry::new(Scripted::default(), p);
    retry.inner().fail_times(Operation::Get, 5, ErrorKind::Unavailable);
    let started = Instant::now();
    retry.get(&key("a"), &Default::default()).await.unwrap();
    // Caps are 100, 200, 400, 800, 800 ms: the total wait is at most their sum.
    let waited = started.elapsed();
    assert!(waited <= Duration::from_millis(2300), "waited {waited:?}");
}

#[tokio::test(start_paused = true)]
async fn the_same_seed_gives_the_same_waits() {
    async fn total_wait(seed: u64) -> Duration {
        let p = RetryPolicy { seed: Some(seed), ..policy(6) };
        let retry = Retry::new(Scripted::default(), p);
        retry.inner().fail_times(Operation::Get, 5, ErrorKind::Unavailable);
        let started = Instant::now();
        retry.get(&key("a"), &Default::default()).await.unwrap();
        started.elapsed()
    }
    assert_eq!(total_wait(7).await, total_wait(7).await);
    assert_ne!(total_wait(7).await, total_wait(8).await);
}

#[tokio::test(start_paused = true)]
async fn stops_when_the_next_retry_would_pass_the_total_time_bound() {
    let p = RetryPolicy { max_elapsed: Duration::from_secs(10), ..policy(100) };
    let retry = Retry::new(Scripted::default(), p);
    retry.inner().fail_next(Operation::Get, || {
        Error::new(ErrorKind::RateLimited, "later").with_retry_after(Duration::from_secs(60))
    });
    let started = Instant::now();
    let err = retry.get(&key("a"), &Default::default()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::RateLimited);
    assert_eq!(retry.inner().calls(Operation::Get), 1);
    assert_eq!(started.elapsed(), Duration::ZERO, "it must not wait for a retry it will not make");
}
