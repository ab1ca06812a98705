//! The layers stacked the way Forge runs them, behind `Box<dyn Connector>`:
//! faults below are absorbed, writes are verified, and the stack keeps the
//! `Connector` contract.

use std::sync::Arc;

use forge_core::{
    Connector, DeleteOutcome, ErrorKind, Faults, Faulty, Fields, Governed, GovernorConfig, Guarded,
    Journal, Memory, MemoryJournal, RecordKey, Retry, RetryPolicy,
};
use serde_json::json;

#[tokio::test(start_paused = true)]
async fn the_full_stack_absorbs_transient_faults_and_verifies_every_write() {
    let faults = Faults {
        seed: 11,
        error_rate: 0.3,
        error_kind: ErrorKind::RateLimited,
        lost_response_rate: 0.2,
        ..Faults::default()
    };
    let journal = Arc::new(MemoryJournal::default());
    let policy = RetryPolicy { max_attempts: 20, seed: Some(3), ..RetryPolicy::default() };
    let stack: Box<dyn Connector> = Box::new(Guarded::new(
        Retry::new(
            Governed::new(Faulty::new(Memory::default(), faults), GovernorConfig::new(4)),
            policy,
        ),
        journal.clone(),
    ));
    assert_eq!(stack.descriptor().name, "memory");

    for i in 0..50 {
        let key = RecordKey::parse("customer", &format!("c{i}")).unwrap();
        let fields = Fields::from_value(json!({"name": format!("n{i}"), "n": i})).unwrap();
        stack.upsert(&key, &fields, &Default::default()).await.unwrap();
        let read = stack.get(&key, &Default::default()).await.unwrap().unwrap();
        assert_eq!(read.fields, fields);
        assert_eq!(stack.delete(&key, &Default::default()).await.unwrap(), DeleteOutcome::Deleted);
        assert!(stack.get(&key, &Default::default()).await.unwrap().is_none());
        assert_eq!(
            stack.delete(&key, &Default::default()).await.unwrap(),
            DeleteOutcome::AlreadyAbsent
        );
    }
    assert!(journal.unsettled().await.unwrap().is_empty());
}

#[tokio::test]
async fn get_can_limit_fields() {
    let erp = Memory::default();
    let key = RecordKey::parse("customer", "a").unwrap();
    let fields = Fields::from_value(json!({"a": 1, "b": 2})).unwrap();
    erp.upsert(&key, &fields, &Default::default()).await.unwrap();
    let opts = forge_core::GetOptions { fields: Some(vec!["b".into()]) };
    let read = erp.get(&key, &opts).await.unwrap().unwrap();
    assert_eq!(read.fields, Fields::from_value(json!({"b": 2})).unwrap());
}
