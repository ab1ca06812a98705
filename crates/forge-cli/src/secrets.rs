//! Reading the four NetSuite secrets: from the environment, from standard
//! input, or from hidden prompts, trimmed, never echoed.

use std::io::{BufRead, IsTerminal};

use forge_core::{Error, ErrorKind};
use secrecy::SecretString;

use crate::output::{Failure, warn};

/// The secrets' storage names, environment variables and labels, in the
/// order NetSuite shows them.
pub(crate) const NETSUITE: [(&str, &str, &str); 4] = [
    ("consumer_key", "NETSUITE_CONSUMER_KEY", "consumer key"),
    ("consumer_secret", "NETSUITE_CONSUMER_SECRET", "consumer secret"),
    ("token_id", "NETSUITE_TOKEN_ID", "token id"),
    ("token_secret", "NETSUITE_TOKEN_SECRET", "token secret"),
];

/// Where the secrets come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Source {
    Env,
    Stdin,
    Prompt,
}

fn usage(message: String, hint: &str) -> Failure {
    Failure::usage(Error::new(ErrorKind::InvalidInput, message).with_hint(hint))
}

/// Trims surrounding whitespace (warning that it did), refusing an empty
/// secret.
fn clean(label: &str, raw: String) -> Result<SecretString, Failure> {
    let trimmed = raw.trim();
    if trimmed.is_empty() {
        return Err(usage(
            format!("the {label} is empty"),
            "paste the value NetSuite showed when it was created",
        ));
    }
    if trimmed.len() != raw.len() {
        warn(&format!("removed whitespace around the {label} (a common paste error)"));
    }
    Ok(SecretString::from(trimmed.to_owned()))
}

/// Reads the four secrets in NetSuite's order.
pub(crate) fn read(source: Source) -> Result<[SecretString; 4], Failure> {
    let mut values = Vec::with_capacity(4);
    match source {
        Source::Env => {
            for (_, var, label) in NETSUITE {
                let raw = std::env::var(var).map_err(|_| {
                    usage(format!("{var} is not set"), "set NETSUITE_CONSUMER_KEY, NETSUITE_CONSUMER_SECRET, NETSUITE_TOKEN_ID and NETSUITE_TOKEN_SECRET")
                })?;
                values.push(clean(label, raw)?);
            }
        }
        Source::Stdin => {
            let stdin = std::io::stdin();
            let mut lines = stdin.lock().lines();
            for (_, _, label) in NETSUITE {
                let raw = match lines.next() {
                    Some(Ok(line)) => line,
                    _ => {
                        return Err(usage(
                            format!("standard input ended before the {label}"),
                            "give four lines: consumer key, consumer secret, token id, token secret",
                        ));
                    }
                };
                values.push(clean(label, raw)?);
            }
        }
        Source::Prompt => {
            if !std::io::stdin().is_terminal() {
                return Err(usage(
                    "there is no terminal to prompt for the secrets on".into(),
                    "use --from-env (NETSUITE_* variables) or --stdin (four lines)",
                ));
            }
            eprintln!(
                "NetSuite shows the consumer secret and the token secret only once, when they are \
                 created; if you no longer have them, create a new access token.\nInput is hidden."
            );
            for (_, _, label) in NETSUITE {
                let raw = rpassword::prompt_password(format!("{label}: ")).map_err(|e| {
                    Failure::usage(Error::new(
                        ErrorKind::InvalidInput,
                        format!("could not read the {label}: {e}"),
                    ))
                })?;
                values.push(clean(label, raw)?);
            }
        }
    }
    four(values)
}

/// The four secrets collected in [`NETSUITE`]'s order, as an array.
pub(crate) fn four(values: Vec<SecretString>) -> Result<[SecretString; 4], Failure> {
    values.try_into().map_err(|values: Vec<SecretString>| {
        Failure::failed(Error::new(
            ErrorKind::Unexpected,
            format!("expected the 4 NetSuite secrets, found {}", values.len()),
        ))
    })
}
