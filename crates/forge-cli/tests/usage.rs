//! The `forge` binary's contract with scripts: help, and exit code 2 with an
//! `error:` and a `hint:` for bad usage found before anything is done. (Its
//! presence also makes `cargo test` build the binary the end-to-end tests in
//! the top-level `tests` package run.)

use std::process::{Command, Output};

/// Runs `forge` with no secrets in its environment and a private home.
fn forge(args: &[&str]) -> Output {
    let home = std::env::temp_dir().join(format!("forge-usage-{}", std::process::id()));
    let mut command = Command::new(env!("CARGO_BIN_EXE_forge"));
    for var in [
        "NETSUITE_CONSUMER_KEY",
        "NETSUITE_CONSUMER_SECRET",
        "NETSUITE_TOKEN_ID",
        "NETSUITE_TOKEN_SECRET",
    ] {
        command.env_remove(var);
    }
    command.args(args).env("FORGE_HOME", &home).env_remove("RUST_LOG").output().unwrap()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn help_lists_every_command() {
    let output = forge(&["--help"]);
    assert!(output.status.success());
    let text = String::from_utf8_lossy(&output.stdout);
    for command in [
        "connect",
        "connections",
        "verify",
        "get",
        "upsert",
        "delete",
        "recover",
        "netsuite",
        "sim",
        "store",
    ] {
        assert!(text.contains(command), "{command} missing from --help:\n{text}");
    }
}

#[test]
fn unknown_commands_and_flags_exit_2() {
    assert_eq!(forge(&["frobnicate"]).status.code(), Some(2));
    assert_eq!(forge(&["verify"]).status.code(), Some(2), "a missing argument");
}

#[test]
fn a_bad_account_id_exits_2_with_a_hint_before_reading_secrets() {
    let output = forge(&[
        "connect",
        "netsuite",
        "--name",
        "x",
        "--account-id",
        "123.evil.com",
        "--from-env",
    ]);
    assert_eq!(output.status.code(), Some(2));
    let text = stderr(&output);
    assert!(text.starts_with("error: invalid NetSuite account id"), "{text}");
    assert!(text.contains("kind: ConfigInvalid") && text.contains("hint: "), "{text}");
}

#[test]
fn bad_record_arguments_exit_2() {
    for args in [
        ["upsert", "x", "customer", "A", "--data", "not json"],
        ["upsert", "x", "customer", "A", "--data", "[1, 2]"],
        ["upsert", "x", "sales order", "A", "--data", "{}"],
        ["upsert", "x", "customer", "", "--data", "{}"],
    ] {
        let output = forge(&args);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {}", stderr(&output));
        assert!(stderr(&output).contains("hint: "), "{args:?}");
    }
}

#[test]
fn sign_refuses_a_bad_nonce_and_missing_secrets() {
    let output = forge(&[
        "netsuite",
        "sign",
        "--account-id",
        "1234567",
        "--method",
        "GET",
        "--url",
        "https://x/y",
        "--nonce",
        "no!",
    ]);
    assert_eq!(output.status.code(), Some(2));
    let output = forge(&[
        "netsuite",
        "sign",
        "--account-id",
        "1234567",
        "--method",
        "GET",
        "--url",
        "https://x/y",
    ]);
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("NETSUITE_CONSUMER_KEY is not set"));
}
