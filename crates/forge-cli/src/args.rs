//! The command line's shape: every command, flag and its help text.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// Forge: write to ERPs safely. Connect an account, prove it works, and
/// read and write records through a guard that verifies every write and
/// rolls back what did not stick.
#[derive(Debug, Parser)]
#[command(name = "forge", version, propagate_version = true)]
pub(crate) struct Cli {
    /// More logs on stderr (-v info, -vv debug, -vvv trace); RUST_LOG
    /// overrides. Secrets and Authorization headers are never logged.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub(crate) verbose: u8,
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Connect an ERP account and store its secrets, sealed.
    #[command(subcommand)]
    Connect(Connect),
    /// List, show or remove stored connections.
    #[command(subcommand)]
    Connections(Connections),
    /// Prove a connection works: upsert, verify, update, delete, confirm
    /// gone, and a wrong secret is refused.
    Verify(Verify),
    /// Read one record by external id.
    Get(RecordArgs),
    /// Create or update one record by external id (guarded: verified, or
    /// rolled back).
    Upsert(Upsert),
    /// Delete one record by external id (guarded: confirmed gone).
    Delete(RecordArgs),
    /// Finish writes a crash left unfinished: roll them back, or confirm
    /// they completed.
    Recover(Recover),
    /// NetSuite tools.
    #[command(subcommand)]
    Netsuite(Netsuite),
    /// Run a local simulator in the foreground.
    #[command(subcommand)]
    Sim(Sim),
    /// The credential store.
    #[command(subcommand)]
    Store(Store),
}

#[derive(Debug, Subcommand)]
pub(crate) enum Connect {
    /// Connect a NetSuite account with Token-Based Authentication. Without
    /// --from-env or --stdin, prompts for the four secrets (hidden).
    Netsuite(ConnectNetsuite),
}

#[derive(Debug, Args)]
pub(crate) struct ConnectNetsuite {
    /// A name for this connection (letters, digits, `-`, `_`, `.`).
    #[arg(long)]
    pub(crate) name: String,
    /// The account id in any spelling: 1234567, 1234567_SB1, 1234567-sb1…
    #[arg(long)]
    pub(crate) account_id: String,
    /// Send requests here instead of the account's host (a proxy, or a
    /// simulator on http://127.0.0.1:PORT).
    #[arg(long)]
    pub(crate) base_url: Option<String>,
    /// Read NETSUITE_CONSUMER_KEY, NETSUITE_CONSUMER_SECRET,
    /// NETSUITE_TOKEN_ID and NETSUITE_TOKEN_SECRET.
    #[arg(long, conflicts_with = "stdin")]
    pub(crate) from_env: bool,
    /// Read the four secrets from standard input, one per line, in that
    /// order.
    #[arg(long)]
    pub(crate) stdin: bool,
    /// Store without checking the credentials against NetSuite first.
    #[arg(long)]
    pub(crate) no_check: bool,
    /// Replace a stored connection of the same name.
    #[arg(long)]
    pub(crate) replace: bool,
    /// The most requests this connection may have in flight (the account's
    /// concurrency limit; 5 on a standard account).
    #[arg(long)]
    pub(crate) concurrency: Option<usize>,
    /// Print the result as JSON.
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Connections {
    /// Every stored connection, without secrets.
    List(JsonFlag),
    /// One connection: its config and secret fingerprints, never secrets.
    Show(NameArgs),
    /// Remove a connection and its sealed secrets.
    Remove(NameArgs),
}

#[derive(Debug, Args)]
pub(crate) struct JsonFlag {
    /// Print the result as JSON.
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct NameArgs {
    /// The connection's name.
    pub(crate) name: String,
    /// Print the result as JSON.
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct Verify {
    /// The connection's name.
    pub(crate) name: String,
    /// The record type of the probe record.
    #[arg(long, default_value = "customer")]
    pub(crate) record_type: String,
    /// The probe record's fields, a JSON object or @FILE (default:
    /// companyName and comments, which every customer has). The update step
    /// appends " (updated)" to each string value.
    #[arg(long)]
    pub(crate) fields: Option<String>,
    /// Print the report as JSON.
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct RecordArgs {
    /// The connection's name.
    pub(crate) name: String,
    /// The record type (customer, salesOrder, customrecord_x…).
    pub(crate) record_type: String,
    /// Your external id for the record.
    pub(crate) external_id: String,
    /// Print the result as JSON.
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct Upsert {
    /// The connection's name.
    pub(crate) name: String,
    /// The record type (customer, salesOrder, customrecord_x…).
    pub(crate) record_type: String,
    /// Your external id for the record (leave it out with --file).
    #[arg(conflicts_with = "file", required_unless_present = "file")]
    pub(crate) external_id: Option<String>,
    /// The fields: a JSON object, or @FILE to read one from a file.
    #[arg(long, conflicts_with = "file", required_unless_present = "file")]
    pub(crate) data: Option<String>,
    /// Upsert every record of a JSON Lines file (`-` for standard input),
    /// one `{"externalId": "…", "fields": {…}}` per line, concurrently.
    #[arg(long)]
    pub(crate) file: Option<String>,
    /// The most requests in flight (default: the connection's setting, else
    /// 5). It is lowered while NetSuite answers 429 and raised again after.
    #[arg(long, requires = "file")]
    pub(crate) concurrency: Option<usize>,
    /// Write every failed line here, with its error kind and hint, in the
    /// same format, so `--file FAILURES` re-runs just those.
    #[arg(long, requires = "file")]
    pub(crate) failures: Option<PathBuf>,
    /// Print the result as JSON.
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct Recover {
    /// The connection's name.
    pub(crate) name: String,
    /// Print the result as JSON.
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Netsuite {
    /// Sign a request and print the base string, signature and
    /// Authorization header: for when NetSuite answers INVALID_LOGIN. Reads
    /// the secrets from the NETSUITE_* variables. The output contains the
    /// consumer key and token id (as every request does), never the two
    /// secrets.
    Sign(Sign),
}

#[derive(Debug, Args)]
pub(crate) struct Sign {
    /// The account id in any spelling.
    #[arg(long)]
    pub(crate) account_id: String,
    /// The HTTP method.
    #[arg(long)]
    pub(crate) method: String,
    /// The full URL, query included.
    #[arg(long)]
    pub(crate) url: String,
    /// Use this nonce (6 to 64 letters and digits) instead of a fresh one.
    #[arg(long)]
    pub(crate) nonce: Option<String>,
    /// Use this Unix timestamp instead of now.
    #[arg(long)]
    pub(crate) timestamp: Option<u64>,
    /// Print the result as JSON.
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Sim {
    /// Serve a local NetSuite until interrupted. The first line on stdout is
    /// its base URL. It expects the secrets in the NETSUITE_* variables, or
    /// generates throwaway ones and prints them.
    Netsuite(SimNetsuite),
}

#[derive(Debug, Args)]
pub(crate) struct SimNetsuite {
    /// The loopback port (0 picks a free one).
    #[arg(long, default_value_t = 0)]
    pub(crate) port: u16,
    /// The account it plays.
    #[arg(long, default_value = "1234567_SB1")]
    pub(crate) account_id: String,
    /// Latency added to every request, in milliseconds.
    #[arg(long, default_value_t = 0)]
    pub(crate) latency_ms: u64,
    /// Random extra latency up to this, in milliseconds.
    #[arg(long, default_value_t = 0)]
    pub(crate) jitter_ms: u64,
    /// The account's concurrency limit (429 beyond it).
    #[arg(long)]
    pub(crate) concurrency_limit: Option<usize>,
    /// The share of requests answered 429.
    #[arg(long, default_value_t = 0.0)]
    pub(crate) p429: f64,
    /// The share answered 503 with an HTML page.
    #[arg(long, default_value_t = 0.0)]
    pub(crate) p503: f64,
    /// The share whose connection is dropped.
    #[arg(long, default_value_t = 0.0)]
    pub(crate) pdrop: f64,
    /// The share of writes applied and then dropped before the answer.
    #[arg(long, default_value_t = 0.0)]
    pub(crate) plost: f64,
    /// A field every write silently stores wrong.
    #[arg(long)]
    pub(crate) corrupt: Option<String>,
    /// A record type the role may not touch (repeatable).
    #[arg(long)]
    pub(crate) deny: Vec<String>,
    /// Seeds every random fault.
    #[arg(long, default_value_t = 0)]
    pub(crate) seed: u64,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Store {
    /// Re-seal every connection under a new master key.
    RotateKey(JsonFlag),
}

/// Where `@FILE` data is read from.
pub(crate) fn data_path(data: &str) -> Option<PathBuf> {
    data.strip_prefix('@').map(PathBuf::from)
}
