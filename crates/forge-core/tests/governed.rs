//! `Governed`: the cap on calls in flight holds under load, is used fully,
//! shrinks on rate limits and grows back.

mod common;

use std::sync::Arc;

use common::{Scripted, key};
use forge_core::{Connector, ErrorKind, Governed, GovernorConfig, Operation};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn never_exceeds_the_cap_under_100_concurrent_callers_and_uses_all_of_it() {
    let governed = Arc::new(Governed::new(Scripted::gated(), GovernorConfig::new(7)));
    let mut in_flight = governed.inner().in_flight();
    let callers: Vec<_> = (0..100)
        .map(|i| {
            let governed = Arc::clone(&governed);
            tokio::spawn(
                async move { governed.get(&key(&i.to_string()), &Default::default()).await },
            )
        })
        .collect();

    // The first 7 calls reach the ERP and wait at its gate; the other 93 wait
    // in the governor.
    in_flight.wait_for(|n| *n == 7).await.unwrap();
    assert_eq!(governed.stats().in_flight, 7);

    while governed.stats().waiting < 93 {
        tokio::task::yield_now().await;
    }
    assert_eq!(*in_flight.borrow(), 7, "with 93 callers queued the ERP still sees 7");

    governed.inner().open_gate(100);
    for caller in callers {
        caller.await.unwrap().unwrap();
    }
    assert_eq!(governed.inner().peak(), 7, "the ERP saw more than the cap in flight");
    let stats = governed.stats();
    assert_eq!(stats.peak_in_flight, 7, "the cap was not used fully or was exceeded");
    assert_eq!((stats.cap, stats.in_flight, stats.decreases), (7, 0, 0));
}

#[tokio::test]
async fn shrinks_on_rate_limits_once_per_generation_and_grows_back() {
    let governed = Governed::new(Scripted::default(), GovernorConfig::new(8));
    governed.inner().fail_times(Operation::Get, 1, ErrorKind::RateLimited);
    let err = governed.get(&key("a"), &Default::default()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::RateLimited, "the governor passes errors through");
    assert_eq!(governed.stats().cap, 6, "8 × 0.75");

    governed.inner().fail_times(Operation::Get, 1, ErrorKind::RateLimited);
    governed.get(&key("a"), &Default::default()).await.unwrap_err();
    assert_eq!(governed.stats().cap, 4, "6 × 0.75, floored");

    // Other errors do not move the cap.
    governed.inner().fail_times(Operation::Get, 1, ErrorKind::Unavailable);
    governed.get(&key("a"), &Default::default()).await.unwrap_err();
    assert_eq!(governed.stats().cap, 4);

    // Each run of `cap` successes adds one: 4 + 5 + 6 + 7 successes reach 8.
    for _ in 0..(4 + 5 + 6 + 7 - 1) {
        governed.get(&key("a"), &Default::default()).await.unwrap();
    }
    assert_eq!(governed.stats().cap, 7);
    governed.get(&key("a"), &Default::default()).await.unwrap();
    assert_eq!(governed.stats().cap, 8);
    for _ in 0..50 {
        governed.get(&key("a"), &Default::default()).await.unwrap();
    }
    assert_eq!(governed.stats().cap, 8, "never above the configured maximum");
    assert_eq!(governed.stats().decreases, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_rejections_from_one_full_pool_shrinks_the_cap_once() {
    let governed = Arc::new(Governed::new(Scripted::gated(), GovernorConfig::new(8)));
    governed.inner().fail_times(Operation::Get, 8, ErrorKind::RateLimited);
    let mut in_flight = governed.inner().in_flight();
    let callers: Vec<_> = (0..8)
        .map(|_| {
            let governed = Arc::clone(&governed);
            tokio::spawn(async move { governed.get(&key("a"), &Default::default()).await })
        })
        .collect();
    in_flight.wait_for(|n| *n == 8).await.unwrap();
    governed.inner().open_gate(8);
    for caller in callers {
        assert_eq!(caller.await.unwrap().unwrap_err().kind(), ErrorKind::RateLimited);
    }
    let stats = governed.stats();
    assert_eq!((stats.cap, stats.decreases), (6, 1), "all 8 started in one generation");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lowering_the_cap_while_calls_are_out_holds_back_new_calls() {
    let governed = Arc::new(Governed::new(Scripted::gated(), GovernorConfig::new(4)));
    let mut in_flight = governed.inner().in_flight();
    // Four calls go out and wait at the gate; the first to finish is rate limited.
    governed.inner().fail_times(Operation::Get, 1, ErrorKind::RateLimited);
    let spawn = |governed: &Arc<Governed<Scripted>>| {
        let governed = Arc::clone(governed);
        tokio::spawn(async move { governed.get(&key("a"), &Default::default()).await })
    };
    let first: Vec<_> = (0..4).map(|_| spawn(&governed)).collect();
    in_flight.wait_for(|n| *n == 4).await.unwrap();
    governed.inner().open_gate(1);
    // The rate-limited call has left the ERP; wait until the governor has
    // seen its answer and released its slot.
    while (governed.stats().cap, governed.stats().in_flight) != (3, 3) {
        tokio::task::yield_now().await;
    }
    // The cap is 3 and 3 are out: a new call must wait even though a slot
    // of the old cap is free.
    let late: Vec<_> = (0..3).map(|_| spawn(&governed)).collect();
    while governed.stats().waiting < 3 {
        tokio::task::yield_now().await;
    }
    assert_eq!(*in_flight.borrow(), 3, "the ERP must still see only 3");
    governed.inner().open_gate(6);
    for caller in first.into_iter().chain(late) {
        let _ = caller.await.unwrap();
    }
    assert_eq!(governed.stats().peak_in_flight, 4);
    assert_eq!(governed.inner().peak(), 4);
    assert_eq!((governed.stats().in_flight, governed.stats().waiting), (0, 0));
}

#[tokio::test]
async fn a_tolerance_ignores_occasional_rate_limits_but_not_overload() {
    let config = GovernorConfig { tolerance: 0.2, ..GovernorConfig::new(8) };
    let governed = Governed::new(Scripted::default(), config);
    // One call in ten rejected: under the tolerance, the cap stays.
    for round in 0..20 {
        governed.inner().fail_times(Operation::Get, 1, ErrorKind::RateLimited);
        governed.get(&key("a"), &Default::default()).await.unwrap_err();
        for _ in 0..9 {
            governed.get(&key("a"), &Default::default()).await.unwrap();
        }
        assert_eq!(governed.stats().cap, 8, "round {round}");
    }
    // Every call rejected: over the tolerance within a few calls.
    governed.inner().fail_times(Operation::Get, 12, ErrorKind::RateLimited);
    for _ in 0..12 {
        governed.get(&key("a"), &Default::default()).await.unwrap_err();
    }
    assert!(governed.stats().cap < 8, "overload lowers the cap");
    assert!(governed.stats().decreases >= 1);
}
