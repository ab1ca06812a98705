//! `Guarded`: snapshot → journal → write → verify → rollback, and recovery of
//! writes whose outcome was unknown.

mod common;

use std::sync::Arc;

use common::{Scripted, fields, key};
use forge_core::{
    Connector, Corruption, DeleteOutcome, ErrorKind, Faults, Faulty, Guarded, Journal,
    MemoryJournal, Operation, Recovered, Rollback, RollbackAction, Settlement,
};
use serde_json::json;

fn guard<C: Connector>(inner: C) -> (Guarded<C>, Arc<MemoryJournal>) {
    let journal = Arc::new(MemoryJournal::default());
    (Guarded::new(inner, journal.clone()), journal)
}

async fn seed(erp: &Scripted, id: &str, value: serde_json::Value) {
    erp.memory.upsert(&key(id), &fields(value), &Default::default()).await.unwrap();
}

#[tokio::test]
async fn a_verified_write_succeeds_and_settles_its_journal_entry() {
    let (guarded, journal) = guard(Scripted::default());
    let outcome = guarded
        .upsert(&key("a"), &fields(json!({"name": "Acme", "n": 1})), &Default::default())
        .await
        .unwrap();
    assert_eq!(outcome.created, Some(true));
    assert!(outcome.internal_id.is_some());
    assert_eq!(journal.settlements(), [Some(Settlement::Committed)]);
    assert!(journal.unsettled().await.unwrap().is_empty());
    // snapshot, write, verify
    assert_eq!(guarded.inner().calls(Operation::Get), 2);
    assert_eq!(guarded.inner().calls(Operation::Upsert), 1);
}

#[tokio::test]
async fn a_corrupted_write_is_rolled_back_to_the_exact_before_image() {
    let erp = Scripted::default();
    seed(&erp, "a", json!({"name": "Old", "city": "Oslo", "untouched": true})).await;
    let before = erp.memory.stored(&key("a")).unwrap();
    erp.corrupt_next_upsert("name", json!("Garbled"));
    let (guarded, journal) = guard(erp);

    let err = guarded
        .upsert(&key("a"), &fields(json!({"name": "New", "phone": "555"})), &Default::default())
        .await
        .unwrap_err();

    assert_eq!(err.kind(), ErrorKind::VerificationFailed);
    assert!(err.to_string().contains(r#"name: sent "New", read back "Garbled""#), "{err}");
    assert!(err.hint().unwrap().contains("undone"));
    let report = err.guard().unwrap();
    assert_eq!(report.diff.len(), 1);
    assert_eq!(report.diff[0].field, "name");
    assert_eq!(report.before.as_ref(), Some(&before.fields));
    assert!(matches!(report.rollback, Rollback::RolledBack { action: RollbackAction::Restored }));
    // The new field `phone` was cleared again; everything else is as before.
    assert_eq!(guarded.inner().memory.stored(&key("a")).unwrap(), before);
    assert_eq!(journal.settlements(), [Some(Settlement::RolledBack)]);
}

#[tokio::test]
async fn a_record_created_by_a_failed_write_is_deleted() {
    let erp = Scripted::default();
    erp.corrupt_next_upsert("name", json!(null));
    let (guarded, journal) = guard(erp);
    let err = guarded
        .upsert(&key("new"), &fields(json!({"name": "X"})), &Default::default())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::VerificationFailed);
    let report = err.guard().unwrap();
    assert_eq!(report.before, None);
    assert!(matches!(report.rollback, Rollback::RolledBack { action: RollbackAction::Deleted }));
    assert!(guarded.inner().memory.stored(&key("new")).is_none());
    assert_eq!(journal.settlements(), [Some(Settlement::RolledBack)]);
}

#[tokio::test]
async fn a_failed_rollback_is_reported_honestly_and_stays_in_the_journal() {
    // Every write of `name` is corrupted, the rollback's included.
    let faults = Faults {
        corruption: Some(Corruption::Replace { field: "name".into(), value: json!("Garbled") }),
        ..Faults::default()
    };
    let erp = Scripted::default();
    seed(&erp, "a", json!({"name": "Old"})).await;
    let (guarded, journal) = guard(Faulty::new(erp, faults));

    let err = guarded
        .upsert(&key("a"), &fields(json!({"name": "New"})), &Default::default())
        .await
        .unwrap_err();

    assert_eq!(err.kind(), ErrorKind::VerificationFailed);
    let Rollback::RollbackFailed { action, cause } = &err.guard().unwrap().rollback else {
        panic!("expected RollbackFailed, got {}", err.guard().unwrap().rollback);
    };
    assert_eq!(*action, RollbackAction::Restored);
    assert!(cause.to_string().contains("did not stick"), "{cause}");
    assert!(err.hint().unwrap().contains("undoing it failed"));
    assert!(err.guard().unwrap().rollback.to_string().starts_with("ROLLBACK FAILED"));
    let unsettled = journal.unsettled().await.unwrap();
    assert_eq!(unsettled.len(), 1);
    assert_eq!(unsettled[0].1.before, Some(fields(json!({"name": "Old"}))));

    // Once the cause is gone, recovery restores the before-image.
    guarded.inner().set_enabled(false);
    let recovered = guarded.recover().await.unwrap();
    assert_eq!(recovered.len(), 1);
    assert_eq!(
        *recovered[0].outcome.as_ref().unwrap(),
        Recovered::RolledBack(RollbackAction::Restored)
    );
    assert_eq!(
        guarded.inner().inner().memory.stored(&key("a")).unwrap().fields,
        fields(json!({"name": "Old"}))
    );
    assert!(journal.unsettled().await.unwrap().is_empty());
}

#[tokio::test]
async fn a_lost_response_to_a_write_that_happened_is_a_verified_success() {
    let erp = Scripted::default();
    erp.lose_next_write();
    let (guarded, journal) = guard(erp);
    let outcome = guarded
        .upsert(&key("a"), &fields(json!({"name": "X"})), &Default::default())
        .await
        .unwrap();
    assert_eq!(outcome.created, None, "the ERP's answer was lost");
    assert_eq!(outcome.internal_id, Some("1".into()), "taken from the read-back");
    assert_eq!(journal.settlements(), [Some(Settlement::Committed)]);
}

#[tokio::test]
async fn a_write_that_failed_without_effect_returns_its_own_error() {
    let erp = Scripted::default();
    seed(&erp, "a", json!({"name": "Old"})).await;
    erp.fail_times(Operation::Upsert, 1, ErrorKind::PermissionDenied);
    let (guarded, journal) = guard(erp);
    let err = guarded
        .upsert(&key("a"), &fields(json!({"name": "New"})), &Default::default())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::PermissionDenied);
    assert!(matches!(err.guard().unwrap().rollback, Rollback::NotNeeded));
    assert_eq!(guarded.inner().calls(Operation::Upsert), 1, "nothing to roll back");
    assert_eq!(journal.settlements(), [Some(Settlement::NotApplied)]);
}

#[tokio::test]
async fn nothing_is_written_when_the_snapshot_fails() {
    let erp = Scripted::default();
    erp.fail_times(Operation::Get, 1, ErrorKind::Unauthenticated);
    let (guarded, journal) = guard(erp);
    let err = guarded
        .upsert(&key("a"), &fields(json!({"name": "New"})), &Default::default())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unauthenticated);
    assert_eq!(guarded.inner().calls(Operation::Upsert), 0);
    assert!(journal.settlements().is_empty());
}

fn unavailable() -> forge_core::Error {
    forge_core::Error::new(ErrorKind::Unavailable, "the ERP is down")
}

#[tokio::test]
async fn an_unverifiable_write_stays_unsettled_until_recovered() {
    let erp = Scripted::default();
    seed(&erp, "a", json!({"name": "Old"})).await;
    // The snapshot read passes, the write lands, the verification read fails.
    erp.fail_after(Operation::Get, 1, unavailable);
    let (guarded, journal) = guard(erp);
    let err = guarded
        .upsert(&key("a"), &fields(json!({"name": "New"})), &Default::default())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unavailable);
    assert!(!err.is_retryable(), "the caller must recover, not blindly retry");
    assert!(err.hint().unwrap().contains("write journal"));
    assert!(matches!(err.guard().unwrap().rollback, Rollback::Unknown { .. }));
    assert_eq!(journal.unsettled().await.unwrap().len(), 1);

    // The write had in fact landed: recovery confirms it and settles it.
    let recovered = guarded.recover().await.unwrap();
    assert_eq!(*recovered[0].outcome.as_ref().unwrap(), Recovered::Completed);
    assert_eq!(journal.settlements(), [Some(Settlement::Committed)]);
    assert_eq!(
        guarded.inner().memory.stored(&key("a")).unwrap().fields,
        fields(json!({"name": "New"}))
    );
}

#[tokio::test]
async fn recovery_rolls_back_a_half_done_write_and_reports_failures_per_entry() {
    let erp = Scripted::default();
    seed(&erp, "a", json!({"name": "Old"})).await;
    erp.corrupt_next_upsert("name", json!("Garbled"));
    erp.fail_after(Operation::Get, 1, unavailable); // verification read of "a"
    erp.fail_after(Operation::Get, 1, unavailable); // verification read of "b"
    let (guarded, journal) = guard(erp);
    guarded
        .upsert(&key("a"), &fields(json!({"name": "New"})), &Default::default())
        .await
        .unwrap_err();
    guarded
        .upsert(&key("b"), &fields(json!({"name": "B"})), &Default::default())
        .await
        .unwrap_err();
    assert_eq!(journal.unsettled().await.unwrap().len(), 2);

    // The first recovery read fails: that entry reports its error and stays
    // unsettled; the second is recovered anyway.
    guarded.inner().fail_next(Operation::Get, unavailable);
    let recovered = guarded.recover().await.unwrap();
    assert_eq!(recovered.len(), 2);
    let err = recovered[0].outcome.as_ref().unwrap_err();
    assert_eq!(err.context().operation, Some(Operation::Recover));
    assert_eq!(*recovered[1].outcome.as_ref().unwrap(), Recovered::Completed);

    let recovered = guarded.recover().await.unwrap();
    assert_eq!(recovered.len(), 1);
    assert_eq!(
        *recovered[0].outcome.as_ref().unwrap(),
        Recovered::RolledBack(RollbackAction::Restored)
    );
    assert_eq!(
        guarded.inner().memory.stored(&key("a")).unwrap().fields,
        fields(json!({"name": "Old"}))
    );
    assert!(journal.unsettled().await.unwrap().is_empty());
}

#[tokio::test]
async fn recovery_leaves_other_connectors_entries_alone() {
    let journal = Arc::new(MemoryJournal::default());
    let entry = forge_core::JournalEntry::now(
        "netsuite",
        Operation::Upsert,
        &key("a"),
        None,
        Some(fields(json!({}))),
    );
    forge_core::Journal::begin(journal.as_ref(), &entry).await.unwrap();
    let guarded = Guarded::new(Scripted::default(), journal.clone());
    assert!(guarded.recover().await.unwrap().is_empty());
    assert_eq!(journal.unsettled().await.unwrap().len(), 1);
}

#[tokio::test]
async fn a_guarded_delete_confirms_the_record_is_gone() {
    let erp = Scripted::default();
    seed(&erp, "a", json!({"name": "Old"})).await;
    let (guarded, journal) = guard(erp);
    assert_eq!(
        guarded.delete(&key("a"), &Default::default()).await.unwrap(),
        DeleteOutcome::Deleted
    );
    assert_eq!(journal.settlements(), [Some(Settlement::Committed)]);
    assert_eq!(
        guarded.delete(&key("a"), &Default::default()).await.unwrap(),
        DeleteOutcome::AlreadyAbsent
    );
    assert_eq!(journal.settlements().len(), 1, "nothing to journal for an absent record");
}

#[tokio::test]
async fn a_delete_that_does_nothing_fails_verification() {
    let erp = Scripted::default();
    seed(&erp, "a", json!({"name": "Old"})).await;
    erp.ignore_deletes.store(true, std::sync::atomic::Ordering::SeqCst);
    let (guarded, _journal) = guard(erp);
    let err = guarded.delete(&key("a"), &Default::default()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::VerificationFailed);
    assert!(err.to_string().contains("still there"), "{err}");
}

#[tokio::test]
async fn a_failed_delete_reports_what_was_there() {
    let erp = Scripted::default();
    seed(&erp, "a", json!({"name": "Old"})).await;
    erp.fail_times(Operation::Delete, 1, ErrorKind::PermissionDenied);
    let (guarded, journal) = guard(erp);
    let err = guarded.delete(&key("a"), &Default::default()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::PermissionDenied);
    assert_eq!(err.guard().unwrap().before, Some(fields(json!({"name": "Old"}))));
    assert_eq!(journal.settlements(), [Some(Settlement::NotApplied)]);
}

#[tokio::test]
async fn a_failed_write_of_only_nulls_to_a_missing_record_is_not_verified() {
    // Found by the property test: with no non-null field to compare, a
    // missing record must still count as a difference.
    let erp = Scripted::default();
    erp.fail_times(Operation::Upsert, 1, ErrorKind::Unavailable);
    let (guarded, journal) = guard(erp);
    let err = guarded
        .upsert(&key("a"), &fields(json!({"a": null})), &Default::default())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unavailable);
    assert_eq!(journal.settlements(), [Some(Settlement::NotApplied)]);
}
