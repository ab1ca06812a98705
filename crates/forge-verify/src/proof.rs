//! The proof: upsert → verify → update → verify → delete → confirm gone →
//! delete again → a wrong secret is refused, over any connector, gated by
//! what it declares it can do, cleaning up after itself whatever happens.

use std::time::{Instant, SystemTime, UNIX_EPOCH};

use forge_core::rng::SplitMix64;
use forge_core::{
    Connector, DeleteOutcome, ErrorKind, Fields, GetOptions, Operation, RecordKey, RecordType,
    Result,
};
use serde_json::json;

use crate::report::{ProofReport, StepOutcome, StepReport};

/// What the proof writes and where.
#[derive(Debug, Clone)]
pub struct ProofOptions {
    /// The record type of the probe record.
    pub record_type: RecordType,
    /// The start of the probe's external id; a run id follows, so runs never
    /// collide and a leftover record says where it came from.
    pub prefix: String,
    /// The fields of the first write.
    pub create: Fields,
    /// The fields of the second write (an update of the same record).
    pub update: Fields,
}

impl ProofOptions {
    /// A `customer` probe with a company name and a comment: fields every
    /// NetSuite customer has, and harmless to write.
    pub fn customer() -> Self {
        Self::for_type(
            RecordType::new("customer").unwrap_or_else(|_| unreachable!("a valid record type")),
        )
    }

    /// A probe of `record_type` with `companyName` and `comments` fields.
    pub fn for_type(record_type: RecordType) -> Self {
        let stamp =
            format!("{}", SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs()));
        let fields = |comment: &str| -> Fields {
            [
                ("companyName", json!("Forge proof probe")),
                ("comments", json!(format!("{comment} at {stamp}"))),
            ]
            .into_iter()
            .collect()
        };
        Self {
            record_type,
            prefix: "forge-proof".into(),
            create: fields("written by forge verify"),
            update: fields("updated by forge verify"),
        }
    }
}

impl ProofOptions {
    /// A probe of `record_type` with the caller's own fields, for record
    /// types or accounts that need more than a name (a OneWorld customer
    /// needs a subsidiary). The update step writes the same fields with
    /// " (updated)" appended to every string value.
    ///
    /// Returns [`ErrorKind::InvalidInput`] when no field is a string, since
    /// the update would then change nothing.
    pub fn with_fields(record_type: RecordType, create: Fields) -> Result<Self> {
        let update: Fields = create
            .iter()
            .map(|(name, value)| match value {
                serde_json::Value::String(text) => {
                    (name.clone(), json!(format!("{text} (updated)")))
                }
                other => (name.clone(), other.clone()),
            })
            .collect();
        if update == create {
            return Err(forge_core::Error::new(
                ErrorKind::InvalidInput,
                "the probe fields have no string value for the update step to change",
            )
            .with_hint(
                r#"include at least one text field, such as {"companyName": "Forge probe"}"#,
            ));
        }
        Ok(Self { record_type, prefix: "forge-proof".into(), create, update })
    }
}

/// A unique external id: the prefix, the Unix time and 8 random hex digits.
fn run_id(prefix: &str) -> String {
    let secs = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    format!("{prefix}-{secs}-{:08x}", SplitMix64::from_entropy().next_u64() as u32)
}

/// Runs the proof against `connector`, printing nothing; see [`prove_with`].
pub async fn prove(
    connector: &dyn Connector,
    options: &ProofOptions,
    wrong_secret: Option<&dyn Connector>,
) -> ProofReport {
    prove_with(connector, options, wrong_secret, &mut |_| {}).await
}

/// Runs the proof, calling `on_step` as each step ends (for live output).
///
/// Steps, each run only if the connector declares what it needs:
/// 1. `check`: one authenticated call succeeds;
/// 2. `create`: an upsert under a new external id reads back with the fields
///    sent;
/// 3. `update`: a second upsert with changed fields reads back changed, under
///    the same internal id (no duplicate);
/// 4. `delete`: a delete reports `Deleted`, then a read finds nothing;
/// 5. `delete again`: deleting the absent record reports `AlreadyAbsent`,
///    not an error;
/// 6. `wrong secret`: `wrong_secret` (the same connector with a wrong secret,
///    if the caller has one) fails `check` with `Unauthenticated`.
///
/// A step after a failed one still runs where it can, so a report shows
/// everything that is wrong. The probe record is deleted at the end whatever
/// happened, and the cleanup is reported as a step when there was anything
/// to clean up.
pub async fn prove_with(
    connector: &dyn Connector,
    options: &ProofOptions,
    wrong_secret: Option<&dyn Connector>,
    on_step: &mut dyn FnMut(&StepReport),
) -> ProofReport {
    let started = Instant::now();
    let caps = connector.capabilities();
    let external_id = run_id(&options.prefix);
    let key = forge_core::ExternalId::new(external_id.clone())
        .map(|id| RecordKey::new(options.record_type.clone(), id));
    let mut steps = Vec::new();
    let mut record = |step: StepReport, steps: &mut Vec<StepReport>| {
        on_step(&step);
        steps.push(step);
    };
    let key = match key {
        Ok(key) => key,
        Err(err) => {
            record(
                step(
                    "create",
                    "a probe record can be written",
                    Instant::now(),
                    StepOutcome::error("bad prefix", &err),
                ),
                &mut steps,
            );
            return finish(connector, options, external_id, steps, started);
        }
    };

    let at = Instant::now();
    let outcome = if caps.supports(Operation::Check) {
        match connector.check().await {
            Ok(report) => StepOutcome::passed(report.summary),
            Err(err) => StepOutcome::error("the credential check failed", &err),
        }
    } else {
        StepOutcome::Skipped { reason: "the connector declares no credential check".into() }
    };
    record(step("check", "the credentials work", at, outcome), &mut steps);

    let writes = caps.supports(Operation::Upsert)
        && caps.supports(Operation::Get)
        && caps.supports_type(&options.record_type);
    let mut created = false;
    let mut first_id = None;
    if writes {
        let at = Instant::now();
        let outcome = match write_and_read(connector, &key, &options.create).await {
            Ok(id) => {
                created = true;
                first_id.clone_from(&id);
                StepOutcome::passed(format!(
                    "upserted {} field(s) and read them back{}",
                    options.create.len(),
                    id.map(|id| format!(" (internal id {id})")).unwrap_or_default()
                ))
            }
            Err(outcome) => {
                created = true; // it may exist half-written: clean up
                outcome
            }
        };
        record(
            step("create", "an upsert by external id is stored as sent", at, outcome),
            &mut steps,
        );

        let at = Instant::now();
        let outcome = match write_and_read(connector, &key, &options.update).await {
            Ok(id) => match (&first_id, &id) {
                (Some(first), Some(now)) if first != now => StepOutcome::failed(format!(
                    "the update created another record (internal id {first} became {now}): \
                     upserts must update the record with this external id, not duplicate it"
                )),
                _ => StepOutcome::passed(format!(
                    "the second upsert changed the record{}",
                    id.map(|id| format!(" (still internal id {id})")).unwrap_or_default()
                )),
            },
            Err(outcome) => outcome,
        };
        record(step("update", "a second upsert updates the same record", at, outcome), &mut steps);
    } else {
        let reason =
            format!("the connector cannot upsert and read {} records", options.record_type);
        record(
            step(
                "create",
                "an upsert by external id is stored as sent",
                Instant::now(),
                StepOutcome::Skipped { reason: reason.clone() },
            ),
            &mut steps,
        );
        record(
            step(
                "update",
                "a second upsert updates the same record",
                Instant::now(),
                StepOutcome::Skipped { reason },
            ),
            &mut steps,
        );
    }

    if writes && caps.supports(Operation::Delete) {
        let at = Instant::now();
        let outcome = match connector.delete(&key, &Default::default()).await {
            Ok(DeleteOutcome::Deleted) => match connector.get(&key, &GetOptions::default()).await {
                Ok(None) => {
                    created = false;
                    StepOutcome::passed("deleted; a read finds nothing")
                }
                Ok(Some(_)) => StepOutcome::failed(
                    "the delete reported success, but the record is still there",
                ),
                Err(err) => StepOutcome::error("reading after the delete failed", &err),
            },
            Ok(DeleteOutcome::AlreadyAbsent) => StepOutcome::failed(
                "the delete reported the record already absent, but the proof had just written it",
            ),
            Err(err) => StepOutcome::error("the delete failed", &err),
        };
        record(step("delete", "a delete removes the record", at, outcome), &mut steps);

        let at = Instant::now();
        let outcome = match connector.delete(&key, &Default::default()).await {
            Ok(DeleteOutcome::AlreadyAbsent) => {
                StepOutcome::passed("reported already absent, not an error")
            }
            Ok(DeleteOutcome::Deleted) => StepOutcome::failed(
                "deleting a record that is gone reported Deleted, not AlreadyAbsent",
            ),
            Err(err) => StepOutcome::error("deleting an absent record must not be an error", &err),
        };
        record(
            step("delete again", "deleting an absent record is not an error", at, outcome),
            &mut steps,
        );
    } else {
        let reason = "the connector cannot delete".to_owned();
        record(
            step(
                "delete",
                "a delete removes the record",
                Instant::now(),
                StepOutcome::Skipped { reason: reason.clone() },
            ),
            &mut steps,
        );
        record(
            step(
                "delete again",
                "deleting an absent record is not an error",
                Instant::now(),
                StepOutcome::Skipped { reason },
            ),
            &mut steps,
        );
    }

    let at = Instant::now();
    let outcome = match wrong_secret {
        None => StepOutcome::Skipped { reason: "no wrong-secret variant of the connector was supplied".into() },
        Some(wrong) => match wrong.check().await {
            Err(err) if err.kind() == ErrorKind::Unauthenticated => {
                StepOutcome::passed(format!("refused as Unauthenticated{}", err.vendor_code().map(|c| format!(" ({c})")).unwrap_or_default()))
            }
            Err(err) => StepOutcome::Failed {
                detail: format!("refused, but as {} instead of Unauthenticated: {err}", err.kind()),
                kind: Some(err.kind().to_string()),
                hint: Some("map the ERP's authentication failures to ErrorKind::Unauthenticated, so users get the login checklist".into()),
            },
            Ok(_) => StepOutcome::failed("a wrong secret was accepted: the credential check does not check credentials"),
        },
    };
    record(
        step("wrong secret", "a wrong secret is refused as Unauthenticated", at, outcome),
        &mut steps,
    );

    if created && caps.supports(Operation::Delete) {
        let at = Instant::now();
        let outcome = match connector.delete(&key, &Default::default()).await {
            Ok(_) => StepOutcome::passed("the probe record was removed"),
            Err(err) => StepOutcome::Failed {
                detail: format!("the probe record {key} could not be removed: {err}"),
                kind: Some(err.kind().to_string()),
                hint: Some(format!("delete {key} by hand")),
            },
        };
        record(step("cleanup", "the proof leaves nothing behind", at, outcome), &mut steps);
    }
    finish(connector, options, external_id, steps, started)
}

fn finish(
    connector: &dyn Connector,
    options: &ProofOptions,
    external_id: String,
    steps: Vec<StepReport>,
    started: Instant,
) -> ProofReport {
    let ran = steps.iter().any(|s| matches!(s.outcome, StepOutcome::Passed { .. }));
    let failed = steps.iter().any(|s| matches!(s.outcome, StepOutcome::Failed { .. }));
    ProofReport {
        connector: connector.descriptor().name.clone(),
        record_type: options.record_type.to_string(),
        external_id,
        steps,
        passed: ran && !failed,
        elapsed_ms: millis(started),
    }
}

fn millis(since: Instant) -> u64 {
    u64::try_from(since.elapsed().as_millis()).unwrap_or(u64::MAX)
}

fn step(name: &str, proves: &str, started: Instant, outcome: StepOutcome) -> StepReport {
    StepReport { name: name.into(), proves: proves.into(), outcome, elapsed_ms: millis(started) }
}

/// Upserts `fields` and reads them back; the internal id on success.
async fn write_and_read(
    connector: &dyn Connector,
    key: &RecordKey,
    fields: &Fields,
) -> Result<Option<String>, StepOutcome> {
    let written = connector
        .upsert(key, fields, &Default::default())
        .await
        .map_err(|e| StepOutcome::error("the upsert failed", &e))?;
    let read = connector
        .get(key, &GetOptions::default())
        .await
        .map_err(|e| StepOutcome::error("reading it back failed", &e))?;
    let Some(read) = read else {
        return Err(StepOutcome::failed("the upsert reported success, but a read finds no record"));
    };
    if let Err(diff) = connector.matches(fields, &read.fields) {
        let shown: Vec<String> = diff.iter().take(3).map(ToString::to_string).collect();
        return Err(StepOutcome::failed(format!(
            "the record read back differs from what was sent: {}",
            shown.join("; ")
        )));
    }
    Ok(read.internal_id.or(written.internal_id))
}
