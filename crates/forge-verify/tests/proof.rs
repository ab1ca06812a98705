//! The proof passes for the reference connector and every layer stacked on
//! it, and fails, at the right step, for each kind of broken connector.

use std::sync::Arc;

use forge_core::{
    Connector, Corruption, ErrorKind, Faults, Faulty, Governed, GovernorConfig, Guarded, Memory,
    MemoryJournal, Operation, Retry, RetryPolicy,
};
use forge_verify::{ProofOptions, ProofReport, StepOutcome, prove, prove_with};

/// The same ERP "with a wrong secret": its credential check fails with `kind`.
fn wrong_secret(kind: ErrorKind) -> Faulty<Memory> {
    Faulty::new(
        Memory::default(),
        Faults {
            error_rate: 1.0,
            error_kind: kind,
            error_operations: vec![Operation::Check],
            ..Faults::default()
        },
    )
}

fn retry() -> RetryPolicy {
    RetryPolicy { max_attempts: 20, seed: Some(5), ..RetryPolicy::default() }
}

async fn run(connector: &dyn Connector) -> ProofReport {
    prove(connector, &ProofOptions::customer(), Some(&wrong_secret(ErrorKind::Unauthenticated)))
        .await
}

fn assert_passes(report: &ProofReport) {
    assert!(report.passed, "{report}");
    let names: Vec<&str> = report.steps.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(
        names,
        ["check", "create", "update", "delete", "delete again", "wrong secret"],
        "{report}"
    );
    assert!(
        report.steps.iter().all(|s| matches!(s.outcome, StepOutcome::Passed { .. })),
        "{report}"
    );
}

fn assert_fails_at(report: &ProofReport, step: &str) {
    assert!(!report.passed, "{report}");
    assert_eq!(report.first_failure().map(|s| s.name.as_str()), Some(step), "{report}");
}

#[tokio::test(start_paused = true)]
async fn the_reference_connector_and_every_layer_on_it_pass() {
    let memory = Memory::default();
    assert_passes(&run(&memory).await);
    assert!(memory.is_empty(), "the proof leaves nothing behind");

    assert_passes(&run(&Retry::new(Memory::default(), retry())).await);
    assert_passes(&run(&Governed::new(Memory::default(), GovernorConfig::new(2))).await);
    assert_passes(&run(&Guarded::new(Memory::default(), Arc::new(MemoryJournal::default()))).await);
    assert_passes(&run(&Faulty::new(Memory::default(), Faults::default())).await);
    let journal = Arc::new(MemoryJournal::default());
    let stack = Guarded::new(
        Retry::new(Governed::new(Memory::default(), GovernorConfig::new(4)), retry()),
        journal.clone(),
    );
    assert_passes(&run(&stack).await);
    assert!(forge_core::Journal::unsettled(journal.as_ref()).await.unwrap().is_empty());
}

#[tokio::test(start_paused = true)]
async fn transient_faults_under_the_retry_layer_still_pass() {
    let faults = Faults {
        seed: 9,
        error_rate: 0.3,
        error_kind: ErrorKind::RateLimited,
        lost_response_rate: 0.2,
        ..Faults::default()
    };
    let stack = Guarded::new(
        Retry::new(Faulty::new(Memory::default(), faults), retry()),
        Arc::new(MemoryJournal::default()),
    );
    assert_passes(&run(&stack).await);
}

#[tokio::test]
async fn a_connector_that_drops_a_field_fails_at_create() {
    let faults = Faults {
        corruption: Some(Corruption::Drop { field: "comments".into() }),
        ..Faults::default()
    };
    let broken = Faulty::new(Memory::default(), faults);
    let report = run(&broken).await;
    assert_fails_at(&report, "create");
    let StepOutcome::Failed { detail, .. } = &report.first_failure().unwrap().outcome else {
        unreachable!()
    };
    assert!(detail.contains("comments"), "the failure names the field: {detail}");
    assert!(broken.inner().is_empty(), "cleaned up even though a step failed");
}

#[tokio::test]
async fn a_connector_whose_delete_does_nothing_fails_at_delete() {
    let broken =
        Faulty::new(Memory::default(), Faults { delete_does_nothing: true, ..Faults::default() });
    assert_fails_at(&run(&broken).await, "delete");
}

#[tokio::test]
async fn a_connector_that_reports_the_wrong_error_kind_fails_at_wrong_secret() {
    let report = prove(
        &Memory::default(),
        &ProofOptions::customer(),
        Some(&wrong_secret(ErrorKind::PermissionDenied)),
    )
    .await;
    assert_fails_at(&report, "wrong secret");
    let StepOutcome::Failed { detail, .. } = &report.first_failure().unwrap().outcome else {
        unreachable!()
    };
    assert!(detail.contains("PermissionDenied instead of Unauthenticated"), "{detail}");
}

#[tokio::test]
async fn a_connector_that_duplicates_instead_of_updating_fails_at_update() {
    let broken =
        Faulty::new(Memory::default(), Faults { update_recreates: true, ..Faults::default() });
    let report = run(&broken).await;
    assert_fails_at(&report, "update");
    let StepOutcome::Failed { detail, .. } = &report.first_failure().unwrap().outcome else {
        unreachable!()
    };
    assert!(detail.contains("created another record"), "{detail}");
}

#[tokio::test]
async fn a_connector_that_accepts_a_wrong_secret_fails() {
    let report =
        prove(&Memory::default(), &ProofOptions::customer(), Some(&Memory::default())).await;
    assert_fails_at(&report, "wrong secret");
}

#[tokio::test]
async fn without_a_wrong_secret_variant_that_step_is_skipped_not_passed() {
    let mut seen = Vec::new();
    let report = prove_with(&Memory::default(), &ProofOptions::customer(), None, &mut |s| {
        seen.push(s.name.clone())
    })
    .await;
    assert!(report.passed, "{report}");
    assert!(matches!(report.steps.last().unwrap().outcome, StepOutcome::Skipped { .. }));
    assert_eq!(seen.len(), report.steps.len(), "every step is reported live");
    let text = report.to_string();
    assert!(text.contains("SKIP  wrong secret"), "{text}");
    assert!(
        text.ends_with(&format!(
            "PASSED: 5 of 6 steps passed, 1 skipped, in {} ms",
            report.elapsed_ms
        )),
        "{text}"
    );
}

#[tokio::test]
async fn reports_render_for_people_and_as_json() {
    let broken =
        Faulty::new(Memory::default(), Faults { delete_does_nothing: true, ..Faults::default() });
    let report = run(&broken).await;
    let text = report.to_string();
    assert!(
        text.starts_with("Forge proof for memory (record type customer, external id forge-proof-"),
        "{text}"
    );
    assert!(text.contains("FAIL  delete"), "{text}");
    assert!(text.contains("FAILED:"), "{text}");
    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(json["passed"], false);
    assert_eq!(json["steps"][3]["name"], "delete");
    assert_eq!(json["steps"][3]["outcome"]["status"], "failed");
    assert!(json["external_id"].as_str().unwrap().starts_with("forge-proof-"));
}

#[tokio::test]
async fn every_run_uses_a_new_external_id() {
    let a = prove(&Memory::default(), &ProofOptions::customer(), None).await;
    let b = prove(&Memory::default(), &ProofOptions::customer(), None).await;
    assert_ne!(a.external_id, b.external_id);
}

#[tokio::test]
async fn the_caller_can_choose_the_probe_fields() {
    let record_type = forge_core::RecordType::new("salesOrder").unwrap();
    let fields = forge_core::Fields::from_value(
        serde_json::json!({"memo": "probe", "subsidiary": {"id": "1"}, "total": 5}),
    )
    .unwrap();
    let options = ProofOptions::with_fields(record_type.clone(), fields.clone()).unwrap();
    assert_eq!(options.update.get("memo"), Some(&serde_json::json!("probe (updated)")));
    assert_eq!(options.update.get("total"), Some(&serde_json::json!(5)));
    let report = prove(&Memory::default(), &options, None).await;
    assert!(report.passed, "{report}");
    assert_eq!(report.record_type, "salesOrder");

    let numbers = forge_core::Fields::from_value(serde_json::json!({"total": 5})).unwrap();
    let err = ProofOptions::with_fields(record_type, numbers).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
}
