//! End-to-end: `forge upsert NAME TYPE --file` against the simulator.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::time::Duration;

use common::{Home, connect, forge};
use forge_netsuite_sim::{SimConfig, SimFaults, SimHandle, Simulator};
use serde_json::{Value, json};

/// `n` records `{"externalId": "{prefix}-i", "fields": {"companyName": "Co i", "n": i}}`.
fn records(prefix: &str, n: usize) -> Vec<String> {
    (0..n).map(|i| json!({"externalId": format!("{prefix}-{i}"), "fields": {"companyName": format!("Co {i}"), "n": i}}).to_string()).collect()
}

fn write_file(home: &Home, name: &str, lines: &[String]) -> String {
    std::fs::create_dir_all(&home.0).unwrap();
    let path = home.0.join(name);
    let mut file = std::fs::File::create(&path).unwrap();
    for line in lines {
        writeln!(file, "{line}").unwrap();
    }
    path.to_string_lossy().into_owned()
}

/// Every record the file meant to write is in the simulator, exactly.
fn assert_all_stored(sim: &SimHandle, prefix: &str, n: usize) {
    for i in 0..n {
        let record = sim
            .record("customer", &format!("{prefix}-{i}"))
            .unwrap_or_else(|| panic!("{prefix}-{i} was lost"));
        assert_eq!(record.fields["companyName"], format!("Co {i}"));
        assert_eq!(record.fields["n"], i);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_lines_are_reported_by_number_and_failures_can_be_rerun() {
    let declared = BTreeMap::from([(
        "customer".to_owned(),
        BTreeSet::from(["companyName".to_owned(), "n".to_owned()]),
    )]);
    let sim = Simulator::start(SimConfig { declared_fields: declared, ..SimConfig::default() })
        .await
        .unwrap();
    let home = Home::new();
    assert_eq!(connect(&home, &sim, "n", "1234567_SB1").await.code, 0);
    let mut lines = records("b", 5);
    lines.insert(2, "this is not json".into());
    lines.insert(4, json!({"fields": {"companyName": "no id"}}).to_string());
    lines.insert(5, String::new());
    lines.push(
        json!({"externalId": "bad-field", "fields": {"companyName": "x", "colour": "red"}})
            .to_string(),
    );
    let file = write_file(&home, "in.jsonl", &lines);
    let failures = home.0.join("failures.jsonl").to_string_lossy().into_owned();

    let run = forge(
        &home,
        &["upsert", "n", "customer", "--file", &file, "--failures", &failures, "--json"],
        &[],
        None,
    )
    .await;
    assert_eq!(run.code, 1, "{}", run.all());
    assert!(run.stderr.contains("line 3: not a JSON record"), "{}", run.all());
    assert!(run.stderr.contains("line 5: no \"externalId\""), "{}", run.all());
    let summary = run.json();
    assert_eq!(summary["ok"], false);
    assert_eq!(summary["error"]["kind"], "InvalidInput");
    assert_eq!(
        (summary["written"].clone(), summary["failed"].clone(), summary["bad_lines"].clone()),
        (json!(5), json!(1), json!(2))
    );
    assert_eq!(summary["failed_by_kind"]["InvalidInput"], 1);
    assert_all_stored(&sim, "b", 5);

    let written: Vec<Value> = std::fs::read_to_string(&failures)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(written.len(), 3, "{written:?}");
    let rerunnable = written.iter().find(|l| l["externalId"] == "bad-field").unwrap();
    assert_eq!(rerunnable["error"]["kind"], "InvalidInput");
    assert!(rerunnable["error"]["hint"].as_str().unwrap().contains("colour"), "{rerunnable}");
    assert_eq!(
        rerunnable["fields"]["colour"], "red",
        "the line is kept whole, to be fixed and re-run"
    );

    // The failures file is itself valid input: re-running it tries exactly
    // the failed record again.
    let again = home.0.join("again.jsonl").to_string_lossy().into_owned();
    let run = forge(
        &home,
        &["upsert", "n", "customer", "--file", &failures, "--failures", &again],
        &[],
        None,
    )
    .await;
    assert_eq!(run.code, 1);
    assert!(run.stdout.contains("0 written and verified, 1 failed"), "{}", run.all());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rerunning_the_same_file_is_safe_and_ends_in_the_same_state() {
    let sim = Simulator::start(SimConfig::default()).await.unwrap();
    let home = Home::new();
    assert_eq!(connect(&home, &sim, "n", "1234567_SB1").await.code, 0);
    let file = write_file(&home, "in.jsonl", &records("r", 40));
    for _ in 0..2 {
        let run = forge(
            &home,
            &["upsert", "n", "customer", "--file", &file, "--concurrency", "4"],
            &[],
            None,
        )
        .await;
        assert_eq!(run.code, 0, "{}", run.all());
        assert!(run.stdout.contains("40 written and verified, 0 failed"), "{}", run.all());
        assert_eq!(sim.records("customer").len(), 40, "upsert by external id never duplicates");
        assert_all_stored(&sim, "r", 40);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn injected_faults_lose_no_record() {
    let faults = SimFaults {
        seed: 3,
        p429: 0.1,
        p503: 0.05,
        pdrop: 0.03,
        plost: 0.05,
        concurrency_limit: Some(4),
        ..SimFaults::default()
    };
    let sim = Simulator::start(SimConfig { faults, ..SimConfig::default() }).await.unwrap();
    let home = Home::new();
    assert_eq!(
        common::connect_with(&home, &sim, "n", "1234567_SB1", &["--no-check"]).await.code,
        0
    );
    let file = write_file(&home, "in.jsonl", &records("f", 150));
    let run = forge(
        &home,
        &["upsert", "n", "customer", "--file", &file, "--concurrency", "6", "--json"],
        &[],
        None,
    )
    .await;
    assert_eq!(run.code, 0, "{}", run.all());
    let summary = run.json();
    assert_eq!((summary["written"].clone(), summary["failed"].clone()), (json!(150), json!(0)));
    assert!(summary["rate_limited_retried"].as_u64().unwrap() > 0, "429s were absorbed: {summary}");
    assert_all_stored(&sim, "f", 150);
    assert_eq!(sim.records("customer").len(), 150);
    assert!(forge(&home, &["recover", "n"], &[], None).await.stdout.contains("nothing to recover"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctrl_c_stops_intake_finishes_in_flight_writes_and_settles_the_journal() {
    let faults = SimFaults {
        latency: Duration::from_millis(50),
        concurrency_limit: Some(2),
        ..SimFaults::default()
    };
    let sim = Simulator::start(SimConfig { faults, ..SimConfig::default() }).await.unwrap();
    let home = Home::new();
    assert_eq!(connect(&home, &sim, "n", "1234567_SB1").await.code, 0);
    let file = write_file(&home, "in.jsonl", &records("c", 400));
    let child = tokio::process::Command::new(common::forge_binary())
        .args(["upsert", "n", "customer", "--file", &file, "--concurrency", "2", "--json"])
        .env("FORGE_HOME", &home.0)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let pid = nix::unistd::Pid::from_raw(i32::try_from(child.id().unwrap()).unwrap());
    sim.wait_until(|s| s.records("customer").len() >= 5).await;
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGINT).unwrap();
    let output = child.wait_with_output().await.unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stdout}{stderr}");
    assert!(stderr.contains("interrupted: taking no new records"), "{stderr}");
    let summary: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(summary["error"]["kind"], "Cancelled");
    assert_eq!(summary["interrupted"], true);
    let written = summary["written"].as_u64().unwrap();
    assert!((5..400).contains(&written), "{summary}");
    assert_eq!(summary["failed"], 0, "in-flight writes finished, none was cut off: {summary}");
    // Every record that reached the ERP is whole, and the journal is settled.
    assert_eq!(sim.records("customer").len() as u64, written);
    for record in sim.records("customer") {
        let i: usize = record.external_id.unwrap().trim_start_matches("c-").parse().unwrap();
        assert_eq!(record.fields["companyName"], format!("Co {i}"));
    }
    let run = forge(&home, &["recover", "n"], &[], None).await;
    assert!(run.stdout.contains("nothing to recover"), "{}", run.all());
}
