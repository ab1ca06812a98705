//! The simulator over HTTP: how it judges signatures, its record service as
//! the NetSuite connector sees it, the concurrency limit and the faults.

use std::collections::{BTreeMap, BTreeSet};

use forge_core::{Connector, DeleteOutcome, ErrorKind, Fields, RecordKey};
use forge_netsuite::tba::{self, Credentials, SignInput};
use forge_netsuite::{AccountId, NetSuite, NetSuiteConfig};
use forge_netsuite_sim::{AuthFailure, SimConfig, SimFaults, SimHandle, Simulator};
use serde_json::{Value, json};
use url::Url;

fn connector(sim: &SimHandle) -> NetSuite {
    let config = NetSuiteConfig::new(AccountId::parse(sim.account_id()).unwrap())
        .with_base_url(sim.base_url())
        .unwrap();
    NetSuite::new(config, Credentials::from(sim.secrets())).unwrap()
}

fn key(id: &str) -> RecordKey {
    RecordKey::parse("customer", id).unwrap()
}

fn fields(value: Value) -> Fields {
    Fields::from_value(value).unwrap()
}

/// Signs `signed_url` as the connector would, with the given realm and
/// secrets, and returns the header.
fn header(
    sim: &SimHandle,
    method: &str,
    signed_url: &str,
    realm: &str,
    timestamp: u64,
    secrets: [String; 4],
) -> String {
    let url = Url::parse(signed_url).unwrap();
    let nonce = tba::nonce().unwrap();
    let credentials = Credentials::from(secrets);
    let _ = sim;
    tba::sign(&SignInput {
        method,
        url: &url,
        realm,
        credentials: &credentials,
        nonce: &nonce,
        timestamp,
    })
    .authorization
}

async fn send(method: &str, url: &str, authorization: Option<&str>) -> (u16, Value) {
    let mut request = reqwest::Client::new().request(method.parse().unwrap(), url);
    if let Some(value) = authorization {
        request = request.header("authorization", value);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let body = response.bytes().await.unwrap();
    (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
}

async fn refused_for(
    sim: &SimHandle,
    method: &str,
    url: &str,
    authorization: Option<&str>,
) -> AuthFailure {
    let (status, body) = send(method, url, authorization).await;
    assert_eq!(status, 401, "{url}");
    assert_eq!(body["o:errorDetails"][0]["o:errorCode"], "INVALID_LOGIN");
    sim.auth_failures().pop().expect("a recorded reason")
}

#[tokio::test]
async fn each_way_of_getting_a_signature_wrong_is_refused_for_its_reason() {
    let sim = Simulator::start(SimConfig::default()).await.unwrap();
    let url = format!("{}/services/rest/record/v1/customer/eid:A", sim.base_url());
    let now = tba::timestamp();
    let realm = sim.realm().to_owned();
    let good = || header(&sim, "GET", &url, &realm, now, sim.secrets());

    let (status, _) = send("GET", &url, Some(&good())).await;
    assert_eq!(status, 404, "a correct signature reaches the record service");

    let lower = header(&sim, "GET", &url, "1234567_sb1", now, sim.secrets());
    assert_eq!(
        refused_for(&sim, "GET", &url, Some(&lower)).await,
        AuthFailure::WrongRealm("1234567_sb1".into())
    );

    let no_realm = good().replacen(&format!("realm=\"{realm}\", "), "", 1);
    assert!(!no_realm.contains("realm="));
    assert_eq!(refused_for(&sim, "GET", &url, Some(&no_realm)).await, AuthFailure::MissingRealm);

    let unsigned_query = format!("{url}?fields=companyName");
    assert_eq!(
        refused_for(&sim, "GET", &unsigned_query, Some(&good())).await,
        AuthFailure::BadSignature
    );

    let plus_sent = format!("{url}?q=a+b");
    let plus_signed_literally =
        header(&sim, "GET", &format!("{url}?q=a%2Bb"), &realm, now, sim.secrets());
    assert_eq!(
        refused_for(&sim, "GET", &plus_sent, Some(&plus_signed_literally)).await,
        AuthFailure::BadSignature
    );
    let plus_signed_as_space =
        header(&sim, "GET", &format!("{url}?q=a%20b"), &realm, now, sim.secrets());
    assert_eq!(send("GET", &plus_sent, Some(&plus_signed_as_space)).await.0, 404, "+ is a space");

    let once = good();
    assert_eq!(send("GET", &url, Some(&once)).await.0, 404);
    assert_eq!(refused_for(&sim, "GET", &url, Some(&once)).await, AuthFailure::ReusedNonce);

    let stale = header(&sim, "GET", &url, &realm, now - 400, sim.secrets());
    assert!(
        matches!(refused_for(&sim, "GET", &url, Some(&stale)).await, AuthFailure::StaleTimestamp(skew) if (-402..=-398).contains(&skew))
    );

    let mut wrong = sim.secrets();
    wrong[3] = "not the token secret".into();
    let wrong_secret = header(&sim, "GET", &url, &realm, now, wrong);
    assert_eq!(
        refused_for(&sim, "GET", &url, Some(&wrong_secret)).await,
        AuthFailure::BadSignature
    );

    let mut other_token = sim.secrets();
    other_token[2] = "someone-elses-token".into();
    let other = header(&sim, "GET", &url, &realm, now, other_token);
    assert_eq!(refused_for(&sim, "GET", &url, Some(&other)).await, AuthFailure::UnknownToken);

    assert_eq!(refused_for(&sim, "GET", &url, None).await, AuthFailure::MissingHeader);
    let sha1 = good().replace("HMAC-SHA256", "HMAC-SHA1");
    assert_eq!(
        refused_for(&sim, "GET", &url, Some(&sha1)).await,
        AuthFailure::WrongSignatureMethod("HMAC-SHA1".into())
    );
}

#[tokio::test]
async fn the_clock_is_injectable() {
    let sim = Simulator::start(SimConfig::default()).await.unwrap();
    sim.set_clock_offset(3600);
    let err = connector(&sim).check().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unauthenticated);
    assert!(matches!(sim.auth_failures()[..], [AuthFailure::StaleTimestamp(skew)] if skew < -3500));
    let hint = err.hint().unwrap();
    assert!(
        hint.contains("s behind NetSuite's") && hint.contains("fix the clock"),
        "the Date header shows the skew: {hint}"
    );
    sim.set_clock_offset(0);
    connector(&sim).check().await.unwrap();
}

#[tokio::test]
async fn the_record_service_behaves_like_netsuite_for_the_connector() {
    let sim = Simulator::start(SimConfig::default()).await.unwrap();
    let netsuite = connector(&sim);
    assert!(netsuite.check().await.unwrap().summary.contains("1234567_SB1"));

    let written = fields(json!({"companyName": "Acme", "subsidiary": {"id": "7"}, "phone": "555"}));
    let outcome = netsuite.upsert(&key("A b/1"), &written, &Default::default()).await.unwrap();
    let read = netsuite.get(&key("A b/1"), &Default::default()).await.unwrap().unwrap();
    assert_eq!(read.internal_id, outcome.internal_id, "the Location header names the record");
    assert!(netsuite.matches(&written, &read.fields).is_ok());
    assert_eq!(read.fields.get("subsidiary").unwrap()["refName"], "Record 7");

    netsuite
        .upsert(
            &key("A b/1"),
            &fields(json!({"phone": null, "companyName": "Acme 2"})),
            &Default::default(),
        )
        .await
        .unwrap();
    let stored = sim.record("customer", "A b/1").unwrap();
    assert_eq!(stored.fields.get("phone"), None, "null clears a field");
    assert_eq!(stored.fields["companyName"], "Acme 2");
    assert_eq!(sim.records("customer").len(), 1, "upsert by external id never duplicates");

    assert_eq!(
        netsuite.delete(&key("A b/1"), &Default::default()).await.unwrap(),
        DeleteOutcome::Deleted
    );
    assert!(netsuite.get(&key("A b/1"), &Default::default()).await.unwrap().is_none());
    assert_eq!(
        netsuite.delete(&key("A b/1"), &Default::default()).await.unwrap(),
        DeleteOutcome::AlreadyAbsent
    );
}

#[tokio::test]
async fn post_creates_and_patch_updates_by_internal_id() {
    let sim = Simulator::start(SimConfig::default()).await.unwrap();
    let base = format!("{}/services/rest/record/v1/customer", sim.base_url());
    let sign = |method: &str, url: &str| {
        header(&sim, method, url, sim.realm(), tba::timestamp(), sim.secrets())
    };
    let client = reqwest::Client::new();
    let created = client
        .post(&base)
        .header("authorization", sign("POST", &base))
        .body(json!({"externalId": "P-1", "companyName": "Posted"}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(created.status().as_u16(), 204);
    let location = created.headers()["location"].to_str().unwrap().to_owned();
    let id = location.rsplit('/').next().unwrap();
    let patch_url = format!("{base}/{id}");
    let patched = client
        .patch(&patch_url)
        .header("authorization", sign("PATCH", &patch_url))
        .body(json!({"companyName": "Patched"}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(patched.status().as_u16(), 204);
    assert_eq!(sim.record("customer", "P-1").unwrap().fields["companyName"], "Patched");
    let missing = format!("{base}/999999");
    let (status, body) = send("PATCH", &missing, Some(&sign("PATCH", &missing))).await;
    assert_eq!(
        (status, &body["o:errorDetails"][0]["o:errorCode"]),
        (404, &json!("NONEXISTENT_ID"))
    );
}

#[tokio::test]
async fn declared_fields_unknown_names_and_denied_types() {
    let config = SimConfig {
        declared_fields: BTreeMap::from([(
            "customer".to_owned(),
            BTreeSet::from(["companyName".to_owned()]),
        )]),
        faults: SimFaults {
            deny: BTreeSet::from(["salesOrder".to_owned()]),
            ..SimFaults::default()
        },
        ..SimConfig::default()
    };
    let sim = Simulator::start(config).await.unwrap();
    let netsuite = connector(&sim);
    let err = netsuite
        .upsert(
            &key("A"),
            &fields(json!({"companyName": "A", "colour": "red"})),
            &Default::default(),
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert!(err.to_string().contains("`colour`"), "{err}");
    assert!(sim.record("customer", "A").is_none());

    let order = RecordKey::parse("salesOrder", "SO-1").unwrap();
    let err = netsuite.get(&order, &Default::default()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::PermissionDenied);
    assert!(err.hint().unwrap().contains("`salesOrder` records: fix the role"));
}

#[tokio::test]
async fn the_concurrency_limit_is_enforced_exactly() {
    const LIMIT: usize = 5;
    let config = SimConfig {
        faults: SimFaults { concurrency_limit: Some(LIMIT), ..SimFaults::default() },
        ..SimConfig::default()
    };
    let sim = Simulator::start(config).await.unwrap();
    let netsuite = std::sync::Arc::new(connector(&sim));
    sim.hold();
    let calls: Vec<_> = (0..=LIMIT)
        .map(|i| {
            let netsuite = netsuite.clone();
            tokio::spawn(
                async move { netsuite.get(&key(&i.to_string()), &Default::default()).await },
            )
        })
        .collect();
    // All six are in: five hold a slot, one was refused.
    sim.wait_until(|s| s.serving() == LIMIT && s.status_counts().get(&429) == Some(&1)).await;
    sim.release();
    let mut limited = 0;
    for call in calls {
        match call.await.unwrap() {
            Ok(None) => {}
            Err(err) if err.kind() == ErrorKind::RateLimited => {
                assert_eq!(err.vendor_code(), Some("CONCURRENCY_LIMIT_EXCEEDED"));
                limited += 1;
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(limited, 1);
    assert_eq!(sim.peak_serving(), LIMIT);
    assert_eq!(sim.status_counts(), BTreeMap::from([(404, LIMIT as u64), (429, 1)]));
}

/// The outcome of each of 120 sequential requests under random faults.
async fn fault_pattern(seed: u64) -> Vec<String> {
    let faults = SimFaults { seed, p429: 0.15, p503: 0.1, pdrop: 0.1, ..SimFaults::default() };
    let sim = Simulator::start(SimConfig { faults, ..SimConfig::default() }).await.unwrap();
    let netsuite = connector(&sim);
    let mut pattern = Vec::new();
    for i in 0..120 {
        pattern.push(match netsuite.get(&key(&i.to_string()), &Default::default()).await {
            Ok(_) => "ok".to_owned(),
            Err(err) => format!("{}/{:?}", err.kind(), err.http_status()),
        });
    }
    pattern
}

#[tokio::test]
async fn faults_follow_their_seed() {
    let first = fault_pattern(42).await;
    assert_eq!(first, fault_pattern(42).await, "the same seed gives the same faults");
    assert_ne!(first, fault_pattern(43).await, "another seed gives other faults");
    let count = |what: &str| first.iter().filter(|o| o.as_str() == what).count();
    assert!(count("RateLimited/Some(429)") > 5, "{first:?}");
    assert!(count("Unavailable/Some(503)") > 3, "{first:?}");
    assert!(count("Unavailable/None") > 3, "dropped connections: {first:?}");
    assert!(count("ok") > 60, "{first:?}");
}

#[tokio::test]
async fn a_lost_response_still_applies_the_write_and_corruption_is_silent() {
    let faults = SimFaults { plost: 1.0, ..SimFaults::default() };
    let sim = Simulator::start(SimConfig { faults, ..SimConfig::default() }).await.unwrap();
    let err = connector(&sim)
        .upsert(&key("L"), &fields(json!({"a": 1})), &Default::default())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unavailable);
    assert_eq!(sim.record("customer", "L").unwrap().fields["a"], 1, "the write happened");
    assert_eq!(sim.dropped(), 1);

    let faults = SimFaults { corrupt_field: Some("email".into()), ..SimFaults::default() };
    let sim = Simulator::start(SimConfig { faults, ..SimConfig::default() }).await.unwrap();
    connector(&sim)
        .upsert(&key("C"), &fields(json!({"email": "a@b.c"})), &Default::default())
        .await
        .unwrap();
    assert_ne!(sim.record("customer", "C").unwrap().fields["email"], "a@b.c");
}

#[tokio::test]
async fn stopping_closes_the_port() {
    let sim = Simulator::start(SimConfig::default()).await.unwrap();
    let netsuite = connector(&sim);
    netsuite.check().await.unwrap();
    sim.stop().await;
    let err = netsuite.check().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unavailable);
}
