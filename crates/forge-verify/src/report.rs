//! What a proof run found: one line per step, for people and as JSON. It
//! holds no secrets: only step names, outcomes, error kinds, hints and ids.

use std::fmt;

use forge_core::Error;
use serde::Serialize;

/// How one step ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum StepOutcome {
    /// It did what the contract says.
    Passed {
        /// What was seen, in one line.
        detail: String,
    },
    /// It did not.
    Failed {
        /// What went wrong, in one line.
        detail: String,
        /// The error kind, when an error was the cause.
        kind: Option<String>,
        /// What to do, when known.
        hint: Option<String>,
    },
    /// It did not run.
    Skipped {
        /// Why.
        reason: String,
    },
}

impl StepOutcome {
    pub(crate) fn passed(detail: impl Into<String>) -> Self {
        Self::Passed { detail: detail.into() }
    }

    pub(crate) fn failed(detail: impl Into<String>) -> Self {
        Self::Failed { detail: detail.into(), kind: None, hint: None }
    }

    pub(crate) fn error(what: &str, err: &Error) -> Self {
        Self::Failed {
            detail: format!("{what}: {err}"),
            kind: Some(err.kind().to_string()),
            hint: err.hint().map(str::to_owned),
        }
    }
}

/// One step of the proof.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StepReport {
    /// Its short name (`create`, `update`, …).
    pub name: String,
    /// What it proves.
    pub proves: String,
    /// How it ended.
    pub outcome: StepOutcome,
    /// How long it took, in milliseconds.
    pub elapsed_ms: u64,
}

/// The whole proof.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProofReport {
    /// The connector's name.
    pub connector: String,
    /// The record type the probe record was written as.
    pub record_type: String,
    /// The probe record's external id.
    pub external_id: String,
    /// Every step, in order.
    pub steps: Vec<StepReport>,
    /// Whether every step that ran passed (and at least one ran).
    pub passed: bool,
    /// How long the proof took, in milliseconds.
    pub elapsed_ms: u64,
}

impl ProofReport {
    /// The first failed step, if any.
    pub fn first_failure(&self) -> Option<&StepReport> {
        self.steps.iter().find(|s| matches!(s.outcome, StepOutcome::Failed { .. }))
    }
}

impl fmt::Display for StepReport {
    /// `  PASS  create   upserted and read back 2 fields (internal id 7)   12 ms`,
    /// with a `hint:` line under a failure.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (mark, text) = match &self.outcome {
            StepOutcome::Passed { detail } => ("PASS", detail.as_str()),
            StepOutcome::Failed { detail, .. } => ("FAIL", detail.as_str()),
            StepOutcome::Skipped { reason } => ("SKIP", reason.as_str()),
        };
        write!(f, "  {mark}  {:<13} {text}  ({} ms)", self.name, self.elapsed_ms)?;
        if let StepOutcome::Failed { hint: Some(hint), .. } = &self.outcome {
            for line in hint.lines() {
                write!(f, "\n        hint: {line}")?;
            }
        }
        Ok(())
    }
}

impl fmt::Display for ProofReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "Forge proof for {} (record type {}, external id {})",
            self.connector, self.record_type, self.external_id
        )?;
        for step in &self.steps {
            writeln!(f, "{step}")?;
        }
        let count =
            |pred: fn(&StepOutcome) -> bool| self.steps.iter().filter(|s| pred(&s.outcome)).count();
        let passed = count(|o| matches!(o, StepOutcome::Passed { .. }));
        let skipped = count(|o| matches!(o, StepOutcome::Skipped { .. }));
        let verdict = if self.passed { "PASSED" } else { "FAILED" };
        write!(f, "{verdict}: {passed} of {} steps passed", self.steps.len())?;
        if skipped > 0 {
            write!(f, ", {skipped} skipped")?;
        }
        write!(f, ", in {} ms", self.elapsed_ms)
    }
}
