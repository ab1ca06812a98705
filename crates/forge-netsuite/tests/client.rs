//! The REST client against wiremock. Every mock answers only requests whose
//! signature an independent implementation re-verifies; anything else gets
//! NetSuite's 401, so a signing bug fails these tests loudly.

mod common;

use std::time::Duration;

use common::{header_params, pct, verify_request};
use forge_core::{
    Connector, DeleteOutcome, ErrorKind, Fields, GetOptions, RecordKey, Retry, RetryPolicy,
};
use forge_netsuite::{AccountId, Credentials, NetSuite, NetSuiteConfig};
use serde_json::json;
use wiremock::matchers::{method, path, path_regex};
use wiremock::{Match, Mock, MockServer, Request, ResponseTemplate};

const REALM: &str = "1234567_SB1";

fn secrets() -> [String; 4] {
    ["ck-1".into(), "cs-2".into(), "tk-3".into(), "ts-4".into()]
}

/// Matches requests whose signature re-verifies.
struct Signed([String; 4]);

impl Match for Signed {
    fn matches(&self, request: &Request) -> bool {
        let auth = request.headers.get("authorization").and_then(|v| v.to_str().ok());
        verify_request(request.method.as_str(), &as_received(request), auth, &self.0, REALM).is_ok()
    }
}

/// The URL a server sees: wiremock reports the host as `localhost`, so take
/// host and port from the `Host` header, as NetSuite does.
fn as_received(request: &Request) -> url::Url {
    let mut url = request.url.clone();
    let host = request.headers.get("host").and_then(|v| v.to_str().ok()).unwrap_or_default();
    let (name, port) = host.rsplit_once(':').unwrap_or((host, ""));
    url.set_host(Some(name)).unwrap();
    url.set_port(port.parse().ok()).unwrap();
    url
}

fn signed() -> Signed {
    Signed(secrets())
}

fn not_found() -> ResponseTemplate {
    ResponseTemplate::new(404).set_body_json(json!({
        "title": "Not Found", "status": 404,
        "o:errorDetails": [{"detail": "The record instance does not exist. Provide a valid record instance ID.", "o:errorCode": "NONEXISTENT_ID"}]
    }))
}

/// A server whose catch-all answers NetSuite's 401 to anything unmatched.
async fn server() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(wiremock::matchers::any())
        .respond_with(ResponseTemplate::new(401).set_body_json(json!({
            "title": "Unauthorized", "status": 401,
            "o:errorDetails": [{"detail": "Invalid login attempt.", "o:errorCode": "INVALID_LOGIN"}]
        })))
        .with_priority(u8::MAX)
        .mount(&server)
        .await;
    server
}

fn connector_with(server: &MockServer, secrets: [String; 4]) -> NetSuite {
    let config = NetSuiteConfig::new(AccountId::parse("1234567-sb1").unwrap());
    NetSuite::new(config.with_base_url(&server.uri()).unwrap(), Credentials::from(secrets)).unwrap()
}

fn connector(server: &MockServer) -> NetSuite {
    connector_with(server, secrets())
}

/// Answers signed GETs matching `matcher` with a small record.
async fn answer_signed_gets(server: &MockServer, matcher: impl Match + 'static) {
    Mock::given(method("GET"))
        .and(matcher)
        .and(signed())
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"id": "1", "companyName": "x"})),
        )
        .mount(server)
        .await;
}

fn key(id: &str) -> RecordKey {
    RecordKey::parse("customer", id).unwrap()
}

#[tokio::test]
async fn each_operation_sends_the_documented_request() {
    let server = server().await;
    let record = "/services/rest/record/v1/customer/eid:ABC-1";
    Mock::given(method("GET"))
        .and(path("/services/rest/record/v1/metadata-catalog"))
        .and(signed())
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"items": []})))
        .mount(&server)
        .await;
    Mock::given(method("PUT"))
        .and(path(record))
        .and(signed())
        .respond_with(ResponseTemplate::new(204).insert_header(
            "Location",
            format!("{}/services/rest/record/v1/customer/647", server.uri()),
        ))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(record))
        .and(signed())
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "links": [{"rel": "self", "href": "…"}], "id": "647", "externalId": "ABC-1",
            "companyName": "Acme", "subsidiary": {"id": "1", "refName": "HQ", "links": []}
        })))
        .mount(&server)
        .await;
    Mock::given(method("DELETE"))
        .and(path(record))
        .and(signed())
        .respond_with(ResponseTemplate::new(204))
        .mount(&server)
        .await;

    let netsuite = connector(&server);
    let report = netsuite.check().await.unwrap();
    assert!(report.summary.contains("1234567_SB1"), "{}", report.summary);

    let fields =
        Fields::from_value(json!({"companyName": "Acme", "subsidiary": {"id": "1"}})).unwrap();
    let outcome = netsuite.upsert(&key("ABC-1"), &fields, &Default::default()).await.unwrap();
    assert_eq!(outcome.internal_id.as_deref(), Some("647"));

    let read = netsuite.get(&key("ABC-1"), &Default::default()).await.unwrap().unwrap();
    assert_eq!(read.internal_id.as_deref(), Some("647"));
    assert!(netsuite.matches(&fields, &read.fields).is_ok(), "the read-back shows the write");
    assert!(read.fields.get("links").is_none() && read.fields.get("id").is_none());

    assert_eq!(
        netsuite.delete(&key("ABC-1"), &Default::default()).await.unwrap(),
        DeleteOutcome::Deleted
    );

    let requests = server.received_requests().await.unwrap();
    let lines: Vec<String> =
        requests.iter().map(|r| format!("{} {}", r.method, r.url.path())).collect();
    assert_eq!(
        lines,
        [
            "GET /services/rest/record/v1/metadata-catalog".to_owned(),
            format!("PUT {record}"),
            format!("GET {record}"),
            format!("DELETE {record}"),
        ]
    );
    for request in &requests {
        assert_eq!(request.headers.get("accept").unwrap(), "application/json");
        let is_put = request.method.as_str() == "PUT";
        assert_eq!(request.headers.get("x-netsuite-propertynamevalidation").is_some(), is_put);
        assert_eq!(request.headers.get("content-type").is_some(), is_put);
        assert_eq!(request.body.is_empty(), !is_put);
    }
    let put = &requests[1];
    assert_eq!(put.headers.get("content-type").unwrap(), "application/json");
    assert_eq!(put.headers.get("x-netsuite-propertynamevalidation").unwrap(), "Error");
    assert_eq!(
        serde_json::from_slice::<serde_json::Value>(&put.body).unwrap(),
        serde_json::Value::from(fields)
    );
}

#[tokio::test]
async fn missing_records_are_none_and_already_absent() {
    let server = server().await;
    Mock::given(path_regex("^/services/rest/record/v1/customer/"))
        .and(signed())
        .respond_with(not_found())
        .mount(&server)
        .await;
    let netsuite = connector(&server);
    assert!(netsuite.get(&key("nope"), &Default::default()).await.unwrap().is_none());
    assert_eq!(
        netsuite.delete(&key("nope"), &Default::default()).await.unwrap(),
        DeleteOutcome::AlreadyAbsent
    );
}

#[tokio::test]
async fn a_wrong_secret_is_unauthenticated_with_the_realm_in_the_hint() {
    let server = server().await;
    let mut wrong = secrets();
    wrong[3] = "not-the-token-secret".into();
    let err = connector_with(&server, wrong).check().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unauthenticated);
    assert_eq!(err.vendor_code(), Some("INVALID_LOGIN"));
    assert!(err.hint().unwrap().contains("realm \"1234567_SB1\""));
}

#[tokio::test]
async fn odd_external_ids_are_encoded_into_the_path_and_signed_as_sent() {
    let server = server().await;
    answer_signed_gets(&server, path_regex("^/services/rest/record/v1/customer/eid:")).await;
    let netsuite = connector(&server);
    let ids = ["a b", "a/b", "a?b=c", "a#b", "100%", "a|b", "a+b", "ünï-日本", "%41", "~._-"];
    for id in ids {
        let read = netsuite.get(&key(id), &Default::default()).await;
        assert!(read.unwrap().is_some(), "{id:?} was not signed correctly");
    }
    let requests = server.received_requests().await.unwrap();
    for (id, request) in ids.iter().zip(&requests) {
        let segment = request.url.path().rsplit_once("/eid:").unwrap().1;
        assert_eq!(segment, pct(id), "{id:?} is sent fully encoded");
        let decoded = percent_encoding::percent_decode_str(segment).decode_utf8().unwrap();
        assert_eq!(decoded, *id, "{id:?} round-trips");
        assert!(request.url.query().is_none(), "{id:?} must not leak into the query");
    }
}

#[tokio::test]
async fn query_parameters_are_signed_but_never_put_in_the_header() {
    let server = server().await;
    answer_signed_gets(&server, path("/services/rest/record/v1/customer/eid:A")).await;
    let opts = GetOptions { fields: Some(vec!["companyName".into(), "email".into()]) };
    connector(&server).get(&key("A"), &opts).await.unwrap().unwrap();
    let request = &server.received_requests().await.unwrap()[0];
    assert_eq!(request.url.query(), Some("fields=companyName,email"));
    let auth = request.headers.get("authorization").unwrap().to_str().unwrap();
    let params = header_params(auth).unwrap();
    assert!(params.keys().all(|k| k == "realm" || k.starts_with("oauth_")), "{params:?}");
}

#[tokio::test]
async fn a_retried_request_carries_a_new_nonce_and_a_valid_signature() {
    let server = server().await;
    Mock::given(method("GET"))
        .and(signed())
        .respond_with(ResponseTemplate::new(503).set_body_string("<html>maintenance</html>"))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(signed())
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": "1"})))
        .with_priority(2)
        .mount(&server)
        .await;
    let policy = RetryPolicy {
        initial_backoff: Duration::from_millis(1),
        seed: Some(1),
        ..RetryPolicy::default()
    };
    let retrying = Retry::new(connector(&server), policy);
    retrying.get(&key("A"), &Default::default()).await.unwrap().unwrap();
    let requests = server.received_requests().await.unwrap();
    assert_eq!(requests.len(), 2);
    let nonce = |r: &Request| {
        header_params(r.headers.get("authorization").unwrap().to_str().unwrap()).unwrap()["oauth_nonce"].clone()
    };
    assert_ne!(nonce(&requests[0]), nonce(&requests[1]));
}

#[tokio::test]
async fn an_unreachable_host_is_unavailable_and_retryable() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let config = NetSuiteConfig::new(AccountId::parse("1234567").unwrap());
    let config = config.with_base_url(&format!("http://127.0.0.1:{port}")).unwrap();
    let netsuite = NetSuite::new(config, Credentials::from(secrets())).unwrap();
    let err = netsuite.get(&key("A"), &Default::default()).await.unwrap_err();
    assert_eq!((err.kind(), err.is_retryable()), (ErrorKind::Unavailable, true));
    assert!(err.to_string().contains("could not connect"), "{err}");
}

#[tokio::test]
async fn a_timeout_is_unavailable_and_says_how_long_it_waited() {
    let server = server().await;
    Mock::given(method("GET"))
        .and(signed())
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(30)))
        .mount(&server)
        .await;
    let config = NetSuiteConfig::new(AccountId::parse("1234567-sb1").unwrap());
    let config = NetSuiteConfig {
        timeout: Duration::from_millis(200),
        ..config.with_base_url(&server.uri()).unwrap()
    };
    let netsuite = NetSuite::new(config, Credentials::from(secrets())).unwrap();
    let err = netsuite.get(&key("A"), &Default::default()).await.unwrap_err();
    assert_eq!((err.kind(), err.is_retryable()), (ErrorKind::Unavailable, true));
    assert!(err.to_string().contains("did not answer within 200ms"), "{err}");
}
