//! How the CLI reports: one `error:` line saying what went wrong, a
//! `hint:` line saying what to do, the guard's diff and rollback when a
//! write was undone, and a stable exit code; or JSON with `--json`.

use std::fmt::Write as _;
use std::process::ExitCode;

use forge_core::{Error, ErrorKind, Rollback};
use serde::Serialize;

/// Exit code for a failed operation.
pub(crate) const FAILED: u8 = 1;
/// Exit code for bad usage or configuration.
pub(crate) const USAGE: u8 = 2;

/// A command's failure: the error and the exit code it earns.
#[derive(Debug)]
pub(crate) struct Failure {
    pub(crate) error: Error,
    pub(crate) code: u8,
    /// The command already printed its JSON result, error included.
    pub(crate) json_printed: bool,
}

impl Failure {
    /// A failure of the operation itself (exit 1).
    pub(crate) fn failed(error: impl Into<Error>) -> Self {
        Self { error: error.into(), code: FAILED, json_printed: false }
    }

    /// Bad usage or configuration, found before anything was done (exit 2).
    pub(crate) fn usage(error: impl Into<Error>) -> Self {
        Self { error: error.into(), code: USAGE, json_printed: false }
    }

    /// Marks the failure as already part of the command's JSON output.
    pub(crate) fn json_printed(mut self) -> Self {
        self.json_printed = true;
        self
    }
}

impl From<Error> for Failure {
    /// Configuration errors are usage errors; everything else failed.
    fn from(error: Error) -> Self {
        let code = if error.kind() == ErrorKind::ConfigInvalid { USAGE } else { FAILED };
        Self { error, code, json_printed: false }
    }
}

impl From<forge_store::StoreError> for Failure {
    fn from(error: forge_store::StoreError) -> Self {
        Error::from(error).into()
    }
}

/// A command's result.
pub(crate) type Outcome = Result<(), Failure>;

/// The human rendering of an error: what, the guard's findings, the hint.
pub(crate) fn render(error: &Error) -> String {
    let mut out = format!("error: {error}\n");
    if let Some(guard) = error.guard() {
        for diff in &guard.diff {
            let _ = writeln!(out, "  diff: {diff}");
        }
        if !matches!(guard.rollback, Rollback::NotNeeded) || !guard.diff.is_empty() {
            let _ = writeln!(out, "  rollback: {}", guard.rollback);
        }
    }
    let _ = writeln!(out, "  kind: {}", error.kind());
    if let Some(hint) = error.hint() {
        let mut lines = hint.lines();
        if let Some(first) = lines.next() {
            let _ = writeln!(out, "hint: {first}");
        }
        for line in lines {
            let _ = writeln!(out, "      {line}");
        }
    }
    out
}

/// Reports a failure on stderr (and as JSON on stdout with `--json`) and
/// turns it into the exit code.
pub(crate) fn report(failure: &Failure, json: bool) -> ExitCode {
    if json && !failure.json_printed {
        print_json(&serde_json::json!({"ok": false, "error": failure.error}));
    }
    eprint!("{}", render(&failure.error));
    ExitCode::from(failure.code)
}

/// Prints `value` as pretty JSON on stdout.
pub(crate) fn print_json(value: &impl Serialize) {
    match serde_json::to_string_pretty(value) {
        Ok(text) => println!("{text}"),
        Err(err) => eprintln!("error: could not encode the output as JSON: {err}"),
    }
}

/// A warning on stderr.
pub(crate) fn warn(message: &str) {
    eprintln!("warning: {message}");
}
