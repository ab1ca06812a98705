//! How each NetSuite error renders for a person: the one-line message, the
//! hint, the kind and whether Forge retries it. Reviewed snapshots, so any
//! change to what users read shows up in review.

use forge_core::{Error, Operation, RecordKey};
use forge_netsuite::error::{Answer, Sent, map_error};

fn render(status: u16, date: Option<&str>, body: &str) -> String {
    let key = RecordKey::parse("customer", "ABC-1").unwrap();
    let sent = Sent {
        operation: Operation::Upsert,
        key: Some(&key),
        realm: "1234567_SB1",
        timestamp: 1_700_000_000,
    };
    let answer = Answer { status, retry_after: None, date, body: body.as_bytes() };
    person(&map_error(&answer, &sent))
}

/// What the CLI prints: the message, the hint, then kind and retryability.
fn person(err: &Error) -> String {
    format!(
        "error: {err}\nhint: {}\nkind: {}, retryable: {}",
        err.hint().unwrap_or("-"),
        err.kind(),
        err.is_retryable()
    )
}

fn detail(code: &str, detail: &str) -> String {
    serde_json::json!({"o:errorDetails": [{"detail": detail, "o:errorCode": code}]}).to_string()
}

#[test]
fn invalid_login_with_a_skewed_clock() {
    insta::assert_snapshot!(render(
        401,
        Some("Tue, 14 Nov 2023 22:03:20 GMT"),
        &detail(
            "INVALID_LOGIN",
            "Invalid login attempt. For more details, see the Login Audit Trail in the NetSuite UI at Setup > Users/Roles > User Management > View Login Audit Trail."
        )
    ));
}

#[test]
fn insufficient_permission() {
    insta::assert_snapshot!(render(
        403,
        None,
        &detail(
            "INSUFFICIENT_PERMISSION",
            "Permission Violation: You need  the 'Lists -> Customers' permission to access this page. Contact your account administrator."
        )
    ));
}

#[test]
fn concurrency_limit_exceeded() {
    insta::assert_snapshot!(render(
        429,
        None,
        r#"{"title":"Bad Request","status":429,"o:errorCode":"USER_ERROR","o:errorDetails":[{"detail":"Concurrent request limit exceeded. Request blocked.","o:errorCode":"CONCURRENCY_LIMIT_EXCEEDED"}]}"#
    ));
}

#[test]
fn restlet_request_limit_exceeded() {
    insta::assert_snapshot!(render(
        400,
        None,
        &detail("SSS_REQUEST_LIMIT_EXCEEDED", "Request limit exceeded.")
    ));
}

#[test]
fn invalid_content_on_a_field() {
    insta::assert_snapshot!(render(
        400,
        None,
        r#"{"o:errorDetails":[{"detail":"You have entered an Invalid Field Value 99 for the following field: subsidiary","o:errorPath":"subsidiary","o:errorCode":"INVALID_CONTENT"}]}"#
    ));
}

#[test]
fn nonexistent_field() {
    insta::assert_snapshot!(render(
        400,
        None,
        r#"{"o:errorDetails":[{"detail":"Invalid field 'custentity_colour'.","o:errorPath":"custentity_colour","o:errorCode":"NONEXISTENT_FIELD"}]}"#
    ));
}

#[test]
fn user_error() {
    insta::assert_snapshot!(render(400, None, &detail("USER_ERROR", "Invalid request.")));
}

#[test]
fn unknown_record_type() {
    insta::assert_snapshot!(render(
        404,
        None,
        &detail("INVALID_RCRD_TYPE", "Record type 'custmer' does not exist.")
    ));
}

#[test]
fn server_fault() {
    insta::assert_snapshot!(render(
        500,
        None,
        &detail("UNEXPECTED_ERROR", "An unexpected error occurred. Error ID: lxm4k1")
    ));
}

#[test]
fn gateway_html_page() {
    insta::assert_snapshot!(render(
        503,
        None,
        "<!DOCTYPE html><html><body><h1>Service Unavailable</h1></body></html>"
    ));
}
