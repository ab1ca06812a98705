//! The write journal: the before-image of every guarded write, recorded before
//! the write starts, so a write interrupted by a crash can still be rolled back.
//!
//! [`MemoryJournal`] is for tests and embedded use; `forge-store` provides the
//! durable one.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::error::{Error, ErrorKind, Operation, Result};
use crate::record::{Fields, RecordKey};

/// Identifies one journal entry within its journal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct JournalId(pub u64);

/// What a guarded write was about to do, and what was there before.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JournalEntry {
    /// The connector's name ([`crate::Descriptor::name`]).
    pub connector: String,
    /// [`Operation::Upsert`] or [`Operation::Delete`].
    pub operation: Operation,
    /// The record.
    pub key: RecordKey,
    /// Its fields before the write; `None` if it did not exist.
    pub before: Option<Fields>,
    /// The fields being written (upserts only).
    pub written: Option<Fields>,
    /// When the write began, in milliseconds since the Unix epoch.
    pub started_at_ms: u64,
}

impl JournalEntry {
    /// An entry for a write starting now.
    pub fn now(
        connector: &str,
        operation: Operation,
        key: &RecordKey,
        before: Option<Fields>,
        written: Option<Fields>,
    ) -> Self {
        let started_at_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
        Self {
            connector: connector.to_owned(),
            operation,
            key: key.clone(),
            before,
            written,
            started_at_ms,
        }
    }
}

/// How a journalled write ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Settlement {
    /// The write was made and verified.
    Committed,
    /// The write was made, did not verify, and was undone (verified).
    RolledBack,
    /// The write failed and nothing had changed.
    NotApplied,
}

/// Where guarded writes record their before-images.
///
/// An entry that is begun and never settled marks a write whose outcome is
/// unknown: [`crate::Guarded::recover`] finds it through [`Journal::unsettled`].
#[async_trait]
pub trait Journal: Send + Sync {
    /// Records `entry` and returns its id. The entry must be durable (for a
    /// durable journal: on disk) before this returns, since the write starts
    /// right after.
    async fn begin(&self, entry: &JournalEntry) -> Result<JournalId>;

    /// Marks an entry as ended. Settling an unknown id is an error.
    async fn settle(&self, id: JournalId, settlement: Settlement) -> Result<()>;

    /// Every entry begun and not settled, oldest first.
    async fn unsettled(&self) -> Result<Vec<(JournalId, JournalEntry)>>;
}

/// A journal that lives in memory: for tests, and for embedders who accept
/// losing before-images in a crash.
#[derive(Debug, Default)]
pub struct MemoryJournal {
    entries: Mutex<BTreeMap<JournalId, (JournalEntry, Option<Settlement>)>>,
}

impl MemoryJournal {
    /// How each entry was settled, oldest first (`None` for unsettled).
    pub fn settlements(&self) -> Vec<Option<Settlement>> {
        lock(&self.entries).values().map(|(_, s)| *s).collect()
    }
}

/// Locks a mutex, recovering the data if a panicking thread poisoned it: the
/// maps guarded here are valid after any single completed insert or remove.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[async_trait]
impl Journal for MemoryJournal {
    async fn begin(&self, entry: &JournalEntry) -> Result<JournalId> {
        let mut entries = lock(&self.entries);
        let id = JournalId(entries.keys().next_back().map_or(1, |last| last.0 + 1));
        entries.insert(id, (entry.clone(), None));
        Ok(id)
    }

    async fn settle(&self, id: JournalId, settlement: Settlement) -> Result<()> {
        match lock(&self.entries).get_mut(&id) {
            Some((_, slot)) => {
                *slot = Some(settlement);
                Ok(())
            }
            None => Err(Error::new(
                ErrorKind::Unexpected,
                format!("journal entry {} does not exist", id.0),
            )),
        }
    }

    async fn unsettled(&self) -> Result<Vec<(JournalId, JournalEntry)>> {
        Ok(lock(&self.entries)
            .iter()
            .filter(|(_, (_, settled))| settled.is_none())
            .map(|(id, (entry, _))| (*id, entry.clone()))
            .collect())
    }
}
