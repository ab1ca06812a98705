//! Canary secrets planted in the connector must appear in no error, no
//! `Debug` output and no log line, even at TRACE. This test has a binary of
//! its own: `tracing` caches per call site whether anyone listens, so a test
//! running beside it on another thread could hide its events.

use std::io;
use std::sync::{Arc, Mutex};

use forge_core::{Connector, Fields, RecordKey};
use forge_netsuite::{AccountId, Credentials, NetSuite, NetSuiteConfig};
use serde_json::json;
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

fn key(id: &str) -> RecordKey {
    RecordKey::parse("customer", id).unwrap()
}

fn connector_with(server: &MockServer, secrets: [String; 4]) -> NetSuite {
    let config = NetSuiteConfig::new(AccountId::parse("1234567-sb1").unwrap());
    NetSuite::new(config.with_base_url(&server.uri()).unwrap(), Credentials::from(secrets)).unwrap()
}

/// Collects everything `tracing` writes.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn canary_secrets_appear_in_no_error_debug_output_or_log_line() {
    let canaries: [String; 4] = [
        "CANARYconsumerKEY7f3a".into(),
        "CANARYconsumerSECRET9b2c".into(),
        "CANARYtokenID4d1e".into(),
        "CANARYtokenSECRET0a8f".into(),
    ];
    let logs = Captured::default();
    let writer = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let server = MockServer::start().await;
    Mock::given(method("PUT")).respond_with(ResponseTemplate::new(403).set_body_json(json!({
        "o:errorDetails": [{"detail": "Permission Violation", "o:errorCode": "INSUFFICIENT_PERMISSION"}]})))
        .mount(&server).await;
    Mock::given(method("DELETE"))
        .respond_with(ResponseTemplate::new(503).set_body_string("<html>down</html>"))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(401).set_body_json(json!({
        "o:errorDetails": [{"detail": "Invalid login attempt.", "o:errorCode": "INVALID_LOGIN"}]})))
        .mount(&server)
        .await;
    let netsuite = connector_with(&server, canaries.clone());
    let fields = Fields::from_value(json!({"a": 1})).unwrap();
    let errors = vec![
        netsuite.check().await.unwrap_err(),
        netsuite.get(&key("A"), &Default::default()).await.unwrap_err(),
        netsuite.upsert(&key("A"), &fields, &Default::default()).await.unwrap_err(),
        netsuite.delete(&key("A"), &Default::default()).await.unwrap_err(),
    ];
    assert_eq!(server.received_requests().await.unwrap().len(), 4, "the requests were made");

    let mut outputs = vec![
        format!("{netsuite:?}"),
        String::from_utf8_lossy(&logs.0.lock().unwrap()).into_owned(),
    ];
    for err in &errors {
        outputs.push(err.to_string());
        outputs.push(format!("{err:?}"));
        outputs.push(err.hint().unwrap_or_default().to_owned());
        outputs.push(serde_json::to_string(err).unwrap());
    }
    assert!(outputs[1].contains("netsuite request"), "the log capture works: {}", outputs[1]);
    for output in &outputs {
        for canary in &canaries {
            assert!(!output.contains(canary.as_str()), "a secret leaked into: {output}");
        }
    }
}
