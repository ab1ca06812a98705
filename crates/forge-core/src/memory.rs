//! `Memory`: an in-memory reference connector. It defines the semantics every
//! real connector is held to, and is what layers and the proof are tested on.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use async_trait::async_trait;

use crate::connector::{
    Capabilities, CheckReport, Connector, DeleteOptions, DeleteOutcome, Descriptor, Difficulty,
    GetOptions, UpsertOptions, WriteOutcome,
};
use crate::error::Result;
use crate::journal::lock;
use crate::record::{Fields, Record, RecordKey};

/// A thread-safe in-memory ERP: upsert merges fields (`null` clears one),
/// records get increasing internal ids, and every operation on any record type
/// is supported.
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// use forge_core::{Connector, Fields, Memory, RecordKey};
/// let erp = Memory::default();
/// let key = RecordKey::parse("customer", "ABC-1").unwrap();
/// let fields = Fields::from_value(serde_json::json!({"companyName": "Acme"})).unwrap();
/// let outcome = erp.upsert(&key, &fields, &Default::default()).await.unwrap();
/// assert_eq!(outcome.created, Some(true));
/// let read = erp.get(&key, &Default::default()).await.unwrap().unwrap();
/// assert_eq!(read.fields, fields);
/// # });
/// ```
#[derive(Debug)]
pub struct Memory {
    records: Mutex<HashMap<RecordKey, (u64, Fields)>>,
    next_id: AtomicU64,
    descriptor: Descriptor,
}

impl Default for Memory {
    fn default() -> Self {
        Self {
            records: Mutex::default(),
            next_id: AtomicU64::new(1),
            descriptor: Descriptor {
                name: "memory".into(),
                display_name: "In-memory reference ERP".into(),
                auth_method: "none".into(),
                difficulty: Difficulty::Easy,
                secrets: Vec::new(),
                config: Vec::new(),
            },
        }
    }
}

impl Memory {
    /// The stored record, read without going through the trait (for tests
    /// that check what a stack of layers really left behind).
    pub fn stored(&self, key: &RecordKey) -> Option<Record> {
        lock(&self.records).get(key).map(|(id, fields)| Record {
            key: key.clone(),
            internal_id: Some(id.to_string()),
            fields: fields.clone(),
        })
    }

    /// How many records are stored.
    pub fn len(&self) -> usize {
        lock(&self.records).len()
    }

    /// Whether no record is stored.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[async_trait]
impl Connector for Memory {
    fn descriptor(&self) -> &Descriptor {
        &self.descriptor
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities::all()
    }

    async fn check(&self) -> Result<CheckReport> {
        Ok(CheckReport { summary: "in-memory store is reachable".into() })
    }

    async fn get(&self, key: &RecordKey, opts: &GetOptions) -> Result<Option<Record>> {
        let mut record = self.stored(key);
        if let (Some(record), Some(wanted)) = (&mut record, &opts.fields) {
            record.fields = record
                .fields
                .iter()
                .filter(|(name, _)| wanted.contains(name))
                .map(|(n, v)| (n.clone(), v.clone()))
                .collect();
        }
        Ok(record)
    }

    async fn upsert(
        &self,
        key: &RecordKey,
        fields: &Fields,
        _opts: &UpsertOptions,
    ) -> Result<WriteOutcome> {
        let mut records = lock(&self.records);
        let created = !records.contains_key(key);
        let (id, stored) = records
            .entry(key.clone())
            .or_insert_with(|| (self.next_id.fetch_add(1, Ordering::Relaxed), Fields::default()));
        stored.apply(fields);
        Ok(WriteOutcome { internal_id: Some(id.to_string()), created: Some(created) })
    }

    async fn delete(&self, key: &RecordKey, _opts: &DeleteOptions) -> Result<DeleteOutcome> {
        Ok(match lock(&self.records).remove(key) {
            Some(_) => DeleteOutcome::Deleted,
            None => DeleteOutcome::AlreadyAbsent,
        })
    }
}
