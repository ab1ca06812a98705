//! A helper for forge-store's own tests, run as a separate process: it
//! writes connections concurrently with another process, or begins a journal
//! entry and dies. It reads the store's location and key from the same
//! environment variables as Forge (`FORGE_HOME`, `FORGE_MASTER_KEY`).
//!
//! ```text
//! forge-store-test-helper put-many PREFIX COUNT
//! forge-store-test-helper begin-and-abort CONNECTION
//! ```

use std::process::ExitCode;

use forge_core::{Fields, JournalEntry, Operation, RecordKey};
use forge_store::{CredentialStore, NewConnection, PutOptions, Secrets, SqliteStore};
use secrecy::SecretString;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let runtime = match tokio::runtime::Builder::new_current_thread().build() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("helper: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        let store = SqliteStore::open_from_env()?;
        match args.iter().map(String::as_str).collect::<Vec<_>>()[..] {
            ["put-many", prefix, count] => {
                let count: usize = count
                    .parse()
                    .map_err(|_| forge_store::StoreError::NotFound("a count".into()))?;
                for i in 0..count {
                    let name = format!("{prefix}-{i}");
                    let secrets: Secrets =
                        [("token_secret", SecretString::from(format!("secret-of-{name}")))]
                            .into_iter()
                            .collect();
                    let mut config = serde_json::Map::new();
                    config.insert("i".into(), i.into());
                    store
                        .put(
                            NewConnection {
                                name: &name,
                                connector: "netsuite",
                                config,
                                secrets: &secrets,
                            },
                            PutOptions::default(),
                        )
                        .await?;
                }
                Ok(())
            }
            ["begin-and-abort", connection] => {
                let key = RecordKey::parse("customer", "crash-1")
                    .map_err(|_| forge_store::StoreError::NotFound("key".into()))?;
                let before = Fields::from_value(serde_json::json!({"name": "before"})).ok();
                let entry = JournalEntry::now("netsuite", Operation::Upsert, &key, before, None);
                store
                    .journal(connection)
                    .begin(&entry)
                    .await
                    .map_err(|e| forge_store::StoreError::NotFound(e.to_string()))?;
                // Die as a crash would: no destructors, no settle.
                std::process::abort();
            }
            _ => Err(forge_store::StoreError::NotFound(format!(
                "usage: put-many PREFIX COUNT | begin-and-abort CONNECTION (got {args:?})"
            ))),
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("helper: {e}");
            ExitCode::FAILURE
        }
    }
}
