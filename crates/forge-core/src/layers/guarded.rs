//! `Guarded`: the write guard. Every upsert and delete is snapshotted,
//! journalled, verified by reading back, and rolled back if it did not do what
//! was asked.

use std::sync::Arc;

use async_trait::async_trait;
use serde::Serialize;
use serde_json::Value;

use crate::connector::{
    CheckReport, Connector, DeleteOptions, DeleteOutcome, GetOptions, UpsertOptions, WriteOutcome,
    forward_metadata,
};
use crate::error::{
    Error, ErrorKind, FieldDiff, GuardReport, Operation, Result, Rollback, RollbackAction,
};
use crate::journal::{Journal, JournalEntry, JournalId, Settlement};
use crate::record::{Fields, Record, RecordKey};

/// Guards the writes of an inner connector.
///
/// **Upsert** = snapshot (get) → record the before-image in the [`Journal`]
/// → write → verify (get, then [`Connector::matches`]). Then:
/// - the read-back matches: the journal entry is settled and the write
///   succeeds, even if the write call itself reported an error (its answer
///   was lost, but the write happened);
/// - the write failed and nothing changed: the write's error is returned;
/// - otherwise (a wrong read-back, or a failed write that changed something):
///   the guard rolls back — writing back the snapshot's values of the fields
///   that were written and clearing fields the record did not have, or
///   deleting the record if it did not exist — and verifies the rollback.
///   A wrong read-back returns [`ErrorKind::VerificationFailed`]; a failed
///   write returns its own error. Either carries a [`GuardReport`] with the
///   field-level diff and what the rollback did
///   ([`Rollback::RolledBack`] or [`Rollback::RollbackFailed`]).
///
/// **Delete** = snapshot → journal → delete → confirm gone. A delete that
/// reports success while the record is still there is `VerificationFailed`;
/// a failed delete reports what was there in its [`GuardReport`].
///
/// A journal entry stays unsettled when the outcome is unknown (the record
/// could not be read back, or the rollback failed); [`Guarded::recover`]
/// finishes such writes later. Nothing is written if the snapshot or the
/// journal fails. Reads and `check` pass straight through.
pub struct Guarded<C> {
    inner: C,
    journal: Arc<dyn Journal>,
}

/// What [`Guarded::recover`] did with one unsettled journal entry.
#[derive(Debug, Serialize)]
pub struct Recovery {
    /// The entry.
    pub id: JournalId,
    /// The record it concerned.
    pub key: RecordKey,
    /// What was done, or why it could not be.
    #[serde(serialize_with = "serialize_recovery")]
    pub outcome: Result<Recovered>,
}

/// How an interrupted write was finished.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Recovered {
    /// The record already shows what the write intended (or, for a delete,
    /// is gone): the write had completed.
    Completed,
    /// The record had not been changed: the write never happened.
    NotApplied,
    /// The record was put back to its before-image, and that was verified.
    RolledBack(RollbackAction),
}

fn serialize_recovery<S: serde::Serializer>(
    outcome: &Result<Recovered>,
    s: S,
) -> std::result::Result<S::Ok, S::Error> {
    #[derive(Serialize)]
    #[serde(rename_all = "snake_case")]
    enum View<'a> {
        Ok(&'a Recovered),
        Err(&'a Error),
    }
    match outcome {
        Ok(done) => View::Ok(done),
        Err(err) => View::Err(err),
    }
    .serialize(s)
}

impl<C: Connector> Guarded<C> {
    /// Wraps `inner`, journalling before-images to `journal`.
    pub fn new(inner: C, journal: Arc<dyn Journal>) -> Self {
        Self { inner, journal }
    }

    /// The wrapped connector.
    pub fn inner(&self) -> &C {
        &self.inner
    }

    /// Finishes every write this connector left unsettled in the journal:
    /// a write whose intended state is already there is settled as
    /// committed; any other is rolled back to its before-image (verified).
    /// Entries of other connectors are left alone. Each entry's outcome is
    /// reported separately; one failure does not stop the others.
    pub async fn recover(&self) -> Result<Vec<Recovery>> {
        let name = &self.inner.descriptor().name;
        let mut done = Vec::new();
        for (id, entry) in self.journal.unsettled().await? {
            if &entry.connector != name {
                continue;
            }
            let outcome = self
                .recover_one(id, &entry)
                .await
                .map_err(|e| e.in_context(Operation::Recover, Some(&entry.key)));
            done.push(Recovery { id, key: entry.key, outcome });
        }
        Ok(done)
    }

    async fn recover_one(&self, id: JournalId, entry: &JournalEntry) -> Result<Recovered> {
        let now = self.read(&entry.key).await?;
        let (recovered, settlement) = match (&entry.operation, &entry.written) {
            (Operation::Upsert, Some(written)) => {
                let completed = now
                    .as_ref()
                    .is_some_and(|record| self.inner.matches(written, &record.fields).is_ok());
                if completed {
                    (Recovered::Completed, Settlement::Committed)
                } else if self.unchanged(entry.before.as_ref(), written, now.as_ref()) {
                    (Recovered::NotApplied, Settlement::NotApplied)
                } else {
                    let action = self.restore(&entry.key, entry.before.as_ref(), written).await?;
                    (Recovered::RolledBack(action), Settlement::RolledBack)
                }
            }
            _ => match now {
                None => (Recovered::Completed, Settlement::Committed),
                Some(_) => (Recovered::NotApplied, Settlement::NotApplied),
            },
        };
        self.journal.settle(id, settlement).await?;
        Ok(recovered)
    }

    async fn read(&self, key: &RecordKey) -> Result<Option<Record>> {
        self.inner.get(key, &GetOptions::default()).await
    }

    /// Whether `now` still shows the before-image on the fields written.
    fn unchanged(&self, before: Option<&Fields>, written: &Fields, now: Option<&Record>) -> bool {
        match (before, now) {
            (None, None) => true,
            (Some(before), Some(now)) => {
                self.inner.matches(&restore_image(before, written), &now.fields).is_ok()
            }
            _ => false,
        }
    }

    /// Puts the record back as `before` had it on the fields `written`
    /// touched (or deletes it if it did not exist), then verifies that.
    async fn restore(
        &self,
        key: &RecordKey,
        before: Option<&Fields>,
        written: &Fields,
    ) -> Result<RollbackAction> {
        match before {
            None => {
                self.inner.delete(key, &DeleteOptions::default()).await?;
                match self.read(key).await? {
                    None => Ok(RollbackAction::Deleted),
                    Some(_) => Err(Error::new(
                        ErrorKind::VerificationFailed,
                        "the record the write created is still there after deleting it",
                    )),
                }
            }
            Some(before) => {
                let image = restore_image(before, written);
                self.inner.upsert(key, &image, &UpsertOptions::default()).await?;
                let diff = match self.read(key).await? {
                    Some(now) => self.inner.matches(&image, &now.fields).err(),
                    None => Some(missing(&image)),
                };
                match diff {
                    None => Ok(RollbackAction::Restored),
                    Some(diff) => Err(Error::new(
                        ErrorKind::VerificationFailed,
                        format!("restoring the previous values did not stick: {}", describe(&diff)),
                    )),
                }
            }
        }
    }

    /// Rolls back and reports how, settling the journal when the rollback
    /// is verified and leaving it unsettled otherwise.
    async fn roll_back(
        &self,
        id: JournalId,
        key: &RecordKey,
        before: Option<&Fields>,
        written: &Fields,
    ) -> Rollback {
        let action =
            if before.is_some() { RollbackAction::Restored } else { RollbackAction::Deleted };
        match self.restore(key, before, written).await {
            Ok(action) => match self.journal.settle(id, Settlement::RolledBack).await {
                Ok(()) => Rollback::RolledBack { action },
                Err(cause) => Rollback::RollbackFailed { action, cause: Box::new(cause) },
            },
            Err(cause) => Rollback::RollbackFailed { action, cause: Box::new(cause) },
        }
    }

    fn error(
        &self,
        kind: ErrorKind,
        message: String,
        operation: Operation,
        key: &RecordKey,
    ) -> Error {
        Error::new(kind, message)
            .with_connector(self.inner.descriptor().name.clone())
            .in_context(operation, Some(key))
    }
}

/// The values `before` had on the fields in `written`; `null` (clear) for
/// fields it did not have.
fn restore_image(before: &Fields, written: &Fields) -> Fields {
    written
        .iter()
        .map(|(name, _)| (name.clone(), before.get(name).cloned().unwrap_or(Value::Null)))
        .collect()
}

/// The diff for a record that should exist after a write and does not: one
/// entry for the whole record, so even a write of only `null`s (which leaves
/// no field to compare) cannot pass as verified.
fn missing(sent: &Fields) -> Vec<FieldDiff> {
    vec![FieldDiff { field: "(record)".into(), sent: sent.clone().into(), read_back: None }]
}

/// The first few diffs in one line.
fn describe(diff: &[FieldDiff]) -> String {
    const SHOWN: usize = 3;
    let mut text: Vec<String> = diff.iter().take(SHOWN).map(ToString::to_string).collect();
    if diff.len() > SHOWN {
        text.push(format!("and {} more", diff.len() - SHOWN));
    }
    text.join("; ")
}

const UNKNOWN_HINT: &str = "the write may or may not have been applied; its before-image is kept \
     in the write journal, so recover the connection once the ERP can be read again";

#[async_trait]
impl<C: Connector> Connector for Guarded<C> {
    forward_metadata!();

    async fn check(&self) -> Result<CheckReport> {
        self.inner.check().await
    }

    async fn get(&self, key: &RecordKey, opts: &GetOptions) -> Result<Option<Record>> {
        self.inner.get(key, opts).await
    }

    async fn upsert(
        &self,
        key: &RecordKey,
        fields: &Fields,
        opts: &UpsertOptions,
    ) -> Result<WriteOutcome> {
        let op = Operation::Upsert;
        let before = self.read(key).await?.map(|record| record.fields);
        let entry = JournalEntry::now(
            &self.inner.descriptor().name,
            op,
            key,
            before.clone(),
            Some(fields.clone()),
        );
        let id = self.journal.begin(&entry).await?;
        let written = self.inner.upsert(key, fields, opts).await;

        let after = match self.read(key).await {
            Ok(after) => after,
            Err(read_err) => {
                let unknown = Rollback::Unknown { cause: Box::new(read_err) };
                let report = GuardReport { diff: Vec::new(), before, rollback: unknown };
                let err = match written {
                    Err(write_err) => write_err,
                    Ok(_) => self.error(
                        ErrorKind::Unavailable,
                        "the write was sent, but reading it back to verify it failed".into(),
                        op,
                        key,
                    ),
                };
                return Err(err.with_retryable(false).with_hint(UNKNOWN_HINT).with_guard(report));
            }
        };

        let diff = match &after {
            Some(record) => self.inner.matches(fields, &record.fields).err().unwrap_or_default(),
            None => missing(fields),
        };
        if diff.is_empty() {
            self.journal.settle(id, Settlement::Committed).await?;
            let read_id = after.and_then(|record| record.internal_id);
            return Ok(match written {
                Ok(outcome) => {
                    WriteOutcome { internal_id: outcome.internal_id.or(read_id), ..outcome }
                }
                Err(_) => WriteOutcome { internal_id: read_id, created: None },
            });
        }

        let written = match written {
            Err(write_err) if self.unchanged(before.as_ref(), fields, after.as_ref()) => {
                self.journal.settle(id, Settlement::NotApplied).await?;
                let report =
                    GuardReport { diff: Vec::new(), before, rollback: Rollback::NotNeeded };
                return Err(write_err.with_guard(report));
            }
            other => other,
        };

        let rollback = self.roll_back(id, key, before.as_ref(), fields).await;
        let failed = matches!(rollback, Rollback::RollbackFailed { .. });
        let report = GuardReport { diff, before, rollback };
        let err = match written {
            Err(write_err) => write_err.with_retryable(false),
            Ok(_) => self
                .error(
                    ErrorKind::VerificationFailed,
                    format!(
                        "the record read back after the write differs from what was sent: {}",
                        describe(&report.diff)
                    ),
                    op,
                    key,
                )
                .with_hint(if failed {
                    "the ERP stored something other than what was sent, and undoing it failed: \
                     the record may be left changed; its before-image is kept in the write \
                     journal, so recover the connection once the cause is fixed"
                } else {
                    "the ERP stored something other than what was sent, so the write was undone: \
                     look for a workflow, script or field default on the ERP side that rewrites \
                     these fields, or a value the ERP normalises (then the connector's comparison \
                     needs to know)"
                }),
        };
        Err(err.with_guard(report))
    }

    async fn delete(&self, key: &RecordKey, opts: &DeleteOptions) -> Result<DeleteOutcome> {
        let op = Operation::Delete;
        let Some(before) = self.read(key).await? else {
            return self.inner.delete(key, opts).await;
        };
        let entry = JournalEntry::now(
            &self.inner.descriptor().name,
            op,
            key,
            Some(before.fields.clone()),
            None,
        );
        let id = self.journal.begin(&entry).await?;
        let deleted = self.inner.delete(key, opts).await;
        let report =
            |rollback| GuardReport { diff: Vec::new(), before: Some(before.fields), rollback };
        match (deleted, self.read(key).await) {
            (_, Ok(None)) => {
                self.journal.settle(id, Settlement::Committed).await?;
                Ok(DeleteOutcome::Deleted)
            }
            (Ok(_), Ok(Some(_))) => {
                self.journal.settle(id, Settlement::NotApplied).await?;
                Err(self
                    .error(
                        ErrorKind::VerificationFailed,
                        "the delete reported success, but the record is still there".into(),
                        op,
                        key,
                    )
                    .with_hint(
                        "the ERP acknowledged the delete without deleting: check for a script \
                         or workflow that blocks deletes of this record type",
                    )
                    .with_guard(report(Rollback::NotNeeded)))
            }
            (Err(err), Ok(Some(_))) => {
                self.journal.settle(id, Settlement::NotApplied).await?;
                Err(err.with_guard(report(Rollback::NotNeeded)))
            }
            (deleted, Err(read_err)) => {
                let err = deleted.err().unwrap_or_else(|| {
                    self.error(
                        ErrorKind::Unavailable,
                        "the delete was sent, but reading the record to confirm it is gone failed"
                            .into(),
                        op,
                        key,
                    )
                });
                let unknown = Rollback::Unknown { cause: Box::new(read_err) };
                Err(err.with_retryable(false).with_hint(UNKNOWN_HINT).with_guard(report(unknown)))
            }
        }
    }
}
