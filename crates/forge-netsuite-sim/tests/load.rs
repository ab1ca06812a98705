//! 10,000 signed requests from 64 concurrent clients on loopback: every one
//! must be verified and answered without error. The rate is printed for the
//! benchmark notes, never asserted (run with `--release -- --nocapture`).

use std::sync::Arc;
use std::time::Instant;

use forge_core::{Connector, Fields, RecordKey};
use forge_netsuite::{AccountId, Credentials, NetSuite, NetSuiteConfig};
use forge_netsuite_sim::{SimConfig, Simulator};

const CLIENTS: usize = 64;
const PER_CLIENT: usize = 157; // 64 × 157 = 10,048

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_signed_requests_from_64_clients_without_error() {
    let sim = Simulator::start(SimConfig::default()).await.unwrap();
    let config = NetSuiteConfig::new(AccountId::parse(sim.account_id()).unwrap())
        .with_base_url(sim.base_url())
        .unwrap();
    let netsuite = Arc::new(NetSuite::new(config, Credentials::from(sim.secrets())).unwrap());
    let started = Instant::now();
    let clients: Vec<_> = (0..CLIENTS)
        .map(|client| {
            let netsuite = Arc::clone(&netsuite);
            tokio::spawn(async move {
                for i in 0..PER_CLIENT {
                    let key =
                        RecordKey::parse("customer", &format!("load-{client}-{}", i / 2)).unwrap();
                    if i % 2 == 0 {
                        let fields = Fields::from_value(
                            serde_json::json!({"companyName": format!("c{client}"), "n": i}),
                        )
                        .unwrap();
                        netsuite.upsert(&key, &fields, &Default::default()).await?;
                    } else {
                        let read = netsuite.get(&key, &Default::default()).await?;
                        assert!(read.is_some(), "{key} was written just before");
                    }
                }
                Ok::<_, forge_core::Error>(())
            })
        })
        .collect();
    for client in clients {
        client.await.unwrap().unwrap();
    }
    let elapsed = started.elapsed();
    let total = (CLIENTS * PER_CLIENT) as u64;
    assert_eq!(sim.requests(), total);
    assert!(sim.auth_failures().is_empty(), "{:?}", &sim.auth_failures()[..1]);
    let counts = sim.status_counts();
    assert_eq!(
        counts.get(&204).copied().unwrap_or(0) + counts.get(&200).copied().unwrap_or(0),
        total,
        "{counts:?}"
    );
    assert_eq!(sim.records("customer").len(), CLIENTS * PER_CLIENT.div_ceil(2));
    eprintln!(
        "load: {total} signed requests from {CLIENTS} clients in {:.2} s = {:.0} requests/s (peak in flight {})",
        elapsed.as_secs_f64(),
        total as f64 / elapsed.as_secs_f64(),
        sim.peak_in_flight()
    );
}
