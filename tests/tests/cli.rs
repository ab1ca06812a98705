//! End-to-end: the real `forge` binary against the NetSuite simulator, as an
//! operator uses it.

mod common;

use std::collections::BTreeSet;

use common::{Home, connect, forge, secret_env};
use forge_netsuite_sim::{SimConfig, SimFaults, SimSecrets, Simulator};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_verify_and_read_write_delete() {
    let sim = Simulator::start(SimConfig::default()).await.unwrap();
    let home = Home::new();

    let run = connect(&home, &sim, "from-env", "1234567-sb1").await;
    assert_eq!(run.code, 0, "{}", run.all());
    assert!(
        run.stderr.contains("realm 1234567_SB1, host 1234567-sb1.suitetalk.api.netsuite.com"),
        "{}",
        run.all()
    );
    assert!(run.stdout.contains("stored connection \"from-env\""), "{}", run.all());

    let padded: String = sim.secrets().iter().map(|s| format!("  {s} \n")).collect();
    let args = [
        "connect",
        "netsuite",
        "--name",
        "from-stdin",
        "--account-id",
        "1234567_SB1",
        "--base-url",
        sim.base_url(),
        "--stdin",
    ];
    let run = forge(&home, &args, &[], Some(padded)).await;
    assert_eq!(run.code, 0, "{}", run.all());
    assert!(
        run.stderr.contains("warning: removed whitespace around the consumer key"),
        "{}",
        run.all()
    );

    let run = forge(&home, &["verify", "from-stdin"], &[], None).await;
    assert_eq!(run.code, 0, "{}", run.all());
    assert!(run.stdout.contains("PASSED: 6 of 6 steps passed"), "{}", run.all());

    let run = forge(
        &home,
        &[
            "upsert",
            "from-env",
            "customer",
            "E2E 1",
            "--data",
            r#"{"companyName": "Acme", "subsidiary": {"id": "1"}}"#,
        ],
        &[],
        None,
    )
    .await;
    assert_eq!(run.code, 0, "{}", run.all());
    assert_eq!(sim.record("customer", "E2E 1").unwrap().fields["companyName"], "Acme");

    let run = forge(&home, &["get", "from-env", "customer", "E2E 1", "--json"], &[], None).await;
    assert_eq!(run.code, 0, "{}", run.all());
    let got = run.json();
    assert_eq!(got["record"]["fields"]["companyName"], "Acme");
    assert_eq!(got["record"]["fields"]["subsidiary"]["refName"], "Record 1");

    let run = forge(&home, &["delete", "from-env", "customer", "E2E 1", "--json"], &[], None).await;
    assert_eq!((run.code, run.json()["outcome"].clone()), (0, json!("deleted")), "{}", run.all());
    assert!(sim.record("customer", "E2E 1").is_none());
    let run = forge(&home, &["get", "from-env", "customer", "E2E 1"], &[], None).await;
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains("kind: NotFound"), "{}", run.all());

    let run = forge(&home, &["connections", "list", "--json"], &[], None).await;
    let names: Vec<String> = run
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(names, ["from-env", "from-stdin"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_secret_is_refused_with_the_realm_in_the_hint_and_nothing_is_stored() {
    let sim = Simulator::start(SimConfig::default()).await.unwrap();
    let home = Home::new();
    let mut env = secret_env(&sim);
    env[3].1 = "not-the-token-secret".into();
    let args = [
        "connect",
        "netsuite",
        "--name",
        "bad",
        "--account-id",
        "1234567_SB1",
        "--base-url",
        sim.base_url(),
        "--from-env",
    ];
    let run = forge(&home, &args, &env, None).await;
    assert_eq!(run.code, 1, "{}", run.all());
    assert!(run.stderr.contains("kind: Unauthenticated"), "{}", run.all());
    assert!(run.stderr.contains(r#"Forge sent realm "1234567_SB1""#), "{}", run.all());
    assert!(run.stderr.contains("the credentials were not stored"), "{}", run.all());
    let run = forge(&home, &["connections", "list", "--json"], &[], None).await;
    assert_eq!(run.json(), json!([]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lower_case_sandbox_account_id_is_normalised_and_works() {
    let sim = Simulator::start(SimConfig::default()).await.unwrap();
    let home = Home::new();
    let run = connect(&home, &sim, "lower", "1234567_sb1").await;
    assert_eq!(run.code, 0, "{}", run.all());
    let run = forge(&home, &["connections", "show", "lower", "--json"], &[], None).await;
    assert_eq!(run.json()["config"]["account_id"], "1234567_SB1");
    assert!(sim.auth_failures().is_empty(), "the realm was sent in NetSuite's spelling");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_denied_record_type_says_to_fix_the_role() {
    let faults =
        SimFaults { deny: BTreeSet::from(["salesOrder".to_owned()]), ..SimFaults::default() };
    let sim = Simulator::start(SimConfig { faults, ..SimConfig::default() }).await.unwrap();
    let home = Home::new();
    assert_eq!(connect(&home, &sim, "n", "1234567_SB1").await.code, 0);
    let run = forge(
        &home,
        &["upsert", "n", "salesOrder", "SO-1", "--data", r#"{"memo": "x"}"#],
        &[],
        None,
    )
    .await;
    assert_eq!(run.code, 1, "{}", run.all());
    assert!(run.stderr.contains("kind: PermissionDenied"), "{}", run.all());
    assert!(run.stderr.contains("fix the role"), "{}", run.all());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silent_corruption_is_caught_and_rolled_back_to_the_before_image() {
    let faults = SimFaults { corrupt_field: Some("email".into()), ..SimFaults::default() };
    let sim = Simulator::start(SimConfig { faults, ..SimConfig::default() }).await.unwrap();
    let home = Home::new();
    assert_eq!(connect(&home, &sim, "n", "1234567_SB1").await.code, 0);
    let run = forge(
        &home,
        &["upsert", "n", "customer", "C-1", "--data", r#"{"companyName": "Before"}"#],
        &[],
        None,
    )
    .await;
    assert_eq!(run.code, 0, "{}", run.all());
    let before = sim.record("customer", "C-1").unwrap().fields;

    let run = forge(
        &home,
        &[
            "upsert",
            "n",
            "customer",
            "C-1",
            "--data",
            r#"{"companyName": "After", "email": "a@b.c"}"#,
            "--json",
        ],
        &[],
        None,
    )
    .await;
    assert_eq!(run.code, 1, "{}", run.all());
    assert!(run.stderr.contains("kind: VerificationFailed"), "{}", run.all());
    assert!(
        run.stderr.contains(r#"diff: email: sent "a@b.c", read back "a@b.c (corrupted)""#),
        "{}",
        run.all()
    );
    assert!(run.stderr.contains("rollback: rolled back"), "{}", run.all());
    let error = &run.json()["error"];
    assert_eq!(error["kind"], "VerificationFailed");
    assert_eq!(error["guard"]["rollback"]["outcome"], "rolled_back");
    assert_eq!(
        sim.record("customer", "C-1").unwrap().fields,
        before,
        "restored to the before-image"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_proof_passes_through_429s_503s_and_dropped_connections() {
    let faults = SimFaults { seed: 7, p429: 0.15, p503: 0.1, pdrop: 0.1, ..SimFaults::default() };
    let sim = Simulator::start(SimConfig { faults, ..SimConfig::default() }).await.unwrap();
    let home = Home::new();
    // The credential check itself is not retried by `connect`, so store
    // without it and let the proof's check go through the retry layer.
    assert_eq!(
        common::connect_with(&home, &sim, "n", "1234567_SB1", &["--no-check"]).await.code,
        0
    );
    let run = forge(&home, &["verify", "n"], &[], None).await;
    assert_eq!(run.code, 0, "{}", run.all());
    let counts = sim.status_counts();
    assert!(
        counts.get(&429).copied().unwrap_or(0)
            + counts.get(&503).copied().unwrap_or(0)
            + sim.dropped()
            > 0,
        "faults were injected: {counts:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_upsert_is_reported_and_recovered() {
    let sim = Simulator::start(SimConfig::default()).await.unwrap();
    let home = Home::new();
    assert_eq!(connect(&home, &sim, "n", "1234567_SB1").await.code, 0);
    let data = r#"{"companyName": "Before"}"#;
    assert_eq!(
        forge(&home, &["upsert", "n", "customer", "K-1", "--data", data], &[], None).await.code,
        0
    );

    // The write is caught in flight: its snapshot read went through, its
    // journal entry is on disk, its PUT is held by the simulator. Then the
    // process is killed.
    sim.hold_writes();
    let mut child = tokio::process::Command::new(common::forge_binary())
        .args(["upsert", "n", "customer", "K-1", "--data", r#"{"companyName": "After"}"#])
        .env("FORGE_HOME", &home.0)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    sim.wait_until(|s| s.held() == 1).await;
    child.kill().await.unwrap();
    sim.release();

    let run = forge(&home, &["upsert", "n", "customer", "K-1", "--data", data], &[], None).await;
    assert_eq!(run.code, 1, "a new write first reports the unfinished one: {}", run.all());
    assert!(run.stderr.contains("were interrupted and never finished"), "{}", run.all());
    assert!(run.stderr.contains("forge recover n"), "{}", run.all());

    let run = forge(&home, &["recover", "n", "--json"], &[], None).await;
    assert_eq!(run.code, 0, "{}", run.all());
    let recovered = run.json();
    let outcome = &recovered["recovered"][0]["outcome"]["ok"];
    let name = sim.record("customer", "K-1").unwrap().fields["companyName"].clone();
    match outcome.as_str() {
        // The held PUT was abandoned with its connection, or applied after.
        Some("not_applied") => assert_eq!(name, "Before"),
        Some("completed") => assert_eq!(name, "After"),
        _ => assert!(outcome.get("rolled_back").is_some() && name == "Before", "{recovered}"),
    }
    let run = forge(&home, &["recover", "n"], &[], None).await;
    assert!(run.stdout.contains("nothing to recover"), "{}", run.all());
    assert_eq!(
        forge(&home, &["upsert", "n", "customer", "K-1", "--data", data], &[], None).await.code,
        0
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn canary_secrets_appear_in_no_output_and_only_sealed_in_forge_home() {
    let canaries = SimSecrets {
        consumer_key: "CANARYckE2E8412".into(),
        consumer_secret: "CANARYcsE2E3307".into(),
        token_id: "CANARYtkE2E5190".into(),
        token_secret: "CANARYtsE2E7726".into(),
    };
    let sim = Simulator::start(SimConfig { secrets: canaries.clone(), ..SimConfig::default() })
        .await
        .unwrap();
    let home = Home::new();
    let mut runs = vec![connect(&home, &sim, "n", "1234567_SB1").await];
    for args in [
        vec!["-vvv", "verify", "n"],
        vec!["verify", "n", "--json"],
        vec!["-vvv", "upsert", "n", "customer", "X", "--data", r#"{"companyName": "x"}"#, "--json"],
        vec!["get", "n", "customer", "X", "--json"],
        vec!["get", "n", "customer", "missing"],
        vec!["connections", "list", "--json"],
        vec!["connections", "show", "n"],
        vec!["recover", "n"],
        vec!["store", "rotate-key"],
        vec!["-vvv", "delete", "n", "customer", "X"],
    ] {
        runs.push(forge(&home, &args, &[], None).await);
    }
    let mut wrong = secret_env(&sim);
    wrong[1].1 = "wrong".into();
    let args = [
        "-vvv",
        "connect",
        "netsuite",
        "--name",
        "w",
        "--account-id",
        "1234567_SB1",
        "--base-url",
        sim.base_url(),
        "--from-env",
    ];
    runs.push(forge(&home, &args, &wrong, None).await);
    assert!(
        runs[1].stderr.contains("TRACE") || runs[1].stderr.contains("DEBUG"),
        "logs were on: {}",
        runs[1].stderr
    );

    let mut texts: Vec<String> = runs.iter().map(common::Run::all).collect();
    for entry in std::fs::read_dir(&home.0).unwrap() {
        texts.push(
            String::from_utf8_lossy(&std::fs::read(entry.unwrap().path()).unwrap()).into_owned(),
        );
    }
    let canaries = canaries.to_array();
    for text in &texts {
        for canary in &canaries {
            assert!(
                !text.contains(canary.as_str()),
                "{canary} leaked into: {}",
                &text[..text.len().min(300)]
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_takes_the_probe_fields_a_record_type_needs() {
    let sim = Simulator::start(SimConfig::default()).await.unwrap();
    let home = Home::new();
    assert_eq!(connect(&home, &sim, "n", "1234567_SB1").await.code, 0);
    let fields = r#"{"memo": "Forge probe", "subsidiary": {"id": "1"}}"#;
    let run = forge(
        &home,
        &["verify", "n", "--record-type", "salesOrder", "--fields", fields, "--json"],
        &[],
        None,
    )
    .await;
    assert_eq!(run.code, 0, "{}", run.all());
    assert_eq!(run.json()["record_type"], "salesOrder");
    let run = forge(&home, &["verify", "n", "--fields", r#"{"total": 5}"#], &[], None).await;
    assert_eq!(run.code, 2, "nothing for the update to change is a usage error: {}", run.all());
    assert!(run.stderr.contains("hint: include at least one text field"), "{}", run.all());
    assert!(sim.records("salesOrder").is_empty(), "the probe cleaned up after itself");
}
