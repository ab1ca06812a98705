//! Properties of the write guard under random faults: whatever goes wrong, a
//! record ends as its last verified write or as its snapshot, and every write
//! whose outcome was unknown is left in the journal for recovery.

use std::collections::HashMap;
use std::sync::Arc;

use forge_core::{
    Connector, Corruption, Faults, Faulty, Fields, Guarded, Journal, Memory, MemoryJournal,
    RecordKey, Rollback,
};
use proptest::prelude::*;
use serde_json::{Value, json};

fn value() -> impl Strategy<Value = Value> {
    prop_oneof![Just(Value::Null), (0i64..4).prop_map(Value::from), "[a-c]".prop_map(Value::from)]
}

fn write() -> impl Strategy<Value = (usize, Fields)> {
    let fields = prop::collection::btree_map("[a-c]", value(), 1..3)
        .prop_map(|m| m.into_iter().collect::<Fields>());
    (0usize..3, fields)
}

fn applied(before: Option<&Fields>, sent: &Fields) -> Fields {
    let mut after = before.cloned().unwrap_or_default();
    after.apply(sent);
    after
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn every_record_is_its_last_verified_write_or_its_snapshot(
        seed in any::<u64>(),
        error_rate in 0.0..0.3f64,
        lost_response_rate in 0.0..0.3f64,
        corruption_rate in 0.0..0.4f64,
        writes in prop::collection::vec(write(), 1..25),
    ) {
        let faults = Faults {
            seed,
            error_rate,
            lost_response_rate,
            corruption: Some(Corruption::Replace { field: "a".into(), value: json!("<corrupted>") }),
            corruption_rate,
            ..Faults::default()
        };
        let journal = Arc::new(MemoryJournal::default());
        let guarded = Guarded::new(Faulty::new(Memory::default(), faults), journal.clone());
        let keys: Vec<RecordKey> =
            (0..3).map(|i| RecordKey::parse("customer", &format!("k{i}")).unwrap()).collect();
        let mut model: HashMap<usize, Option<Fields>> = HashMap::new();
        let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();

        runtime.block_on(async {
            for (k, sent) in writes {
                let key = &keys[k];
                let before = model.get(&k).cloned().flatten();
                let intended = applied(before.as_ref(), &sent);
                let result = guarded.upsert(key, &sent, &Default::default()).await;
                let stored = |g: &Guarded<Faulty<Memory>>| g.inner().inner().stored(key).map(|r| r.fields);

                let uncertain = match &result {
                    Ok(_) => {
                        prop_assert_eq!(stored(&guarded), Some(intended.clone()), "a verified write is stored");
                        model.insert(k, Some(intended.clone()));
                        false
                    }
                    Err(err) => match err.guard().map(|g| &g.rollback) {
                        None | Some(Rollback::NotNeeded | Rollback::RolledBack { .. }) => {
                            prop_assert_eq!(stored(&guarded), before.clone(), "{}", err);
                            false
                        }
                        Some(Rollback::RollbackFailed { .. } | Rollback::Unknown { .. }) => true,
                    },
                };

                let unsettled = journal.unsettled().await.unwrap();
                if !uncertain {
                    prop_assert!(unsettled.is_empty(), "a settled outcome left a journal entry");
                    continue;
                }
                prop_assert_eq!(unsettled.len(), 1, "an unknown outcome must stay in the journal");
                guarded.inner().set_enabled(false);
                let recovered = guarded.recover().await.unwrap();
                guarded.inner().set_enabled(true);
                prop_assert_eq!(recovered.len(), 1);
                prop_assert!(recovered[0].outcome.is_ok());
                let now = stored(&guarded);
                prop_assert!(now == before || now == Some(intended.clone()), "recovered to {:?}", now);
                prop_assert!(journal.unsettled().await.unwrap().is_empty());
                model.insert(k, now);
            }
            Ok(())
        })?;
    }
}
