//! From a stored connection to the stack every command writes through:
//! `Guarded<Retry<Governed<connector>>>` with the durable journal.

use std::sync::Arc;

use forge_core::{
    Connector, Error, ErrorKind, Governed, GovernorConfig, Guarded, Journal, Retry, RetryPolicy,
};
use forge_netsuite::{AccountId, Credentials, NetSuite, NetSuiteConfig};
use forge_store::{Connection, ConnectionInfo, CredentialStore, SqliteStore};
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;

use crate::output::Failure;
use crate::secrets::NETSUITE;

/// The account's concurrency limit when the connection does not say: a
/// standard NetSuite account's.
pub(crate) const DEFAULT_CONCURRENCY: usize = 5;

/// The share of recent requests that may be rate limited before the
/// governor lowers its cap.
pub(crate) const GOVERNOR_TOLERANCE: f64 = 0.2;

/// The stack every read and write goes through.
pub(crate) type Stack = Guarded<Retry<Governed<Box<dyn Connector>>>>;

/// A stored connection, ready to use.
pub(crate) struct Opened {
    /// The stored connection, secrets opened.
    pub(crate) connection: Connection,
    pub(crate) stack: Stack,
    pub(crate) journal: Arc<dyn Journal>,
}

impl Opened {
    /// The connection's name, connector and config.
    pub(crate) fn info(&self) -> &ConnectionInfo {
        &self.connection.info
    }

    /// The same connector with a deliberately wrong token secret, for the
    /// proof's negative step; built only when asked for.
    pub(crate) fn wrong_secret(&self) -> Result<Box<dyn Connector>, Failure> {
        connector(&self.connection, true)
    }
}

/// Opens the credential store the environment points at.
pub(crate) fn store() -> Result<SqliteStore, Failure> {
    Ok(SqliteStore::open_from_env()?)
}

/// A NetSuite configuration from what a user typed (usage errors, exit 2).
pub(crate) fn netsuite_config(
    account_id: &str,
    base_url: Option<&str>,
) -> Result<NetSuiteConfig, Failure> {
    let account = AccountId::parse(account_id).map_err(Failure::usage)?;
    let config = NetSuiteConfig::new(account);
    match base_url {
        Some(url) => config.with_base_url(url).map_err(Failure::usage),
        None => Ok(config),
    }
}

fn copy(secret: &SecretString) -> SecretString {
    SecretString::from(secret.expose_secret().to_owned())
}

/// Builds the connector a stored connection names.
fn connector(connection: &Connection, wrong_secret: bool) -> Result<Box<dyn Connector>, Failure> {
    let info = &connection.info;
    match info.connector.as_str() {
        "netsuite" => {
            let text = |key: &str| info.config.get(key).and_then(Value::as_str);
            let account = text("account_id").ok_or_else(|| broken(info, "it has no account_id"))?;
            let config = netsuite_config(account, text("base_url"))?;
            let mut secrets = Vec::with_capacity(4);
            for (name, _, _) in NETSUITE {
                let secret = connection
                    .secrets
                    .get(name)
                    .ok_or_else(|| broken(info, &format!("it has no {name}")))?;
                secrets.push(copy(secret));
            }
            if wrong_secret {
                secrets[3] =
                    SecretString::from("forge-verify-deliberately-wrong-token-secret".to_owned());
            }
            let [ck, cs, tk, ts] = crate::secrets::four(secrets)?;
            let credentials = Credentials::new(ck, cs, tk, ts);
            Ok(Box::new(NetSuite::new(config, credentials)?))
        }
        other => Err(Failure::usage(
            Error::new(
                ErrorKind::ConfigInvalid,
                format!(
                    "connection {:?} uses the connector {other:?}, which this forge does not know",
                    info.name
                ),
            )
            .with_hint("upgrade forge, or connect the account again"),
        )),
    }
}

fn broken(info: &ConnectionInfo, why: &str) -> Failure {
    Failure::usage(
        Error::new(
            ErrorKind::ConfigInvalid,
            format!("the stored connection {:?} is incomplete: {why}", info.name),
        )
        .with_hint(format!(
            "connect it again with `forge connect {} --name {} --replace`",
            info.connector, info.name
        )),
    )
}

/// The concurrency limit a connection asks for.
pub(crate) fn concurrency(info: &ConnectionInfo) -> usize {
    info.config
        .get("concurrency")
        .and_then(Value::as_u64)
        .and_then(|n| usize::try_from(n).ok())
        .filter(|n| *n > 0)
        .unwrap_or(DEFAULT_CONCURRENCY)
}

/// Opens connection `name` as the guarded, retrying, governed stack.
pub(crate) async fn open(
    store: &SqliteStore,
    name: &str,
    concurrency_override: Option<usize>,
) -> Result<Opened, Failure> {
    let connection = store.get(name).await?;
    let base = connector(&connection, false)?;
    let journal = store.journal(name);
    let limit = concurrency_override.unwrap_or_else(|| concurrency(&connection.info));
    // Tolerate a share of 429s before lowering the cap: NetSuite's pool is
    // shared, and occasional rejections that are not this connection's
    // overload should not halve its throughput.
    let governor = GovernorConfig { tolerance: GOVERNOR_TOLERANCE, ..GovernorConfig::new(limit) };
    let stack = Guarded::new(
        Retry::new(Governed::new(base, governor), RetryPolicy::default()),
        Arc::clone(&journal),
    );
    Ok(Opened { connection, stack, journal })
}
