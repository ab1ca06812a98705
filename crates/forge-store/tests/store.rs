//! The credential store and journal through their public API: round trips,
//! tampering, keys, rotation, file modes, several processes, crashes, and
//! canary secrets that must never appear in the clear.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

use base64::Engine;
use forge_core::{JournalEntry, Operation, RecordKey, Settlement};
use forge_store::{
    CredentialStore, NewConnection, PutOptions, Secrets, SqliteStore, StoreError, StoreOptions,
};
use proptest::prelude::*;
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Map, json};

fn temp_home() -> tempdir::Dir {
    tempdir::Dir::new()
}

/// A private temporary directory removed on drop (no extra dependency).
mod tempdir {
    use std::path::{Path, PathBuf};
    use std::sync::atomic::{AtomicU32, Ordering};

    pub(crate) struct Dir(PathBuf);

    impl Dir {
        pub(crate) fn new() -> Self {
            static NEXT: AtomicU32 = AtomicU32::new(0);
            let path = std::env::temp_dir().join(format!(
                "forge-store-test-{}-{}",
                std::process::id(),
                NEXT.fetch_add(1, Ordering::SeqCst)
            ));
            let _ = std::fs::remove_dir_all(&path);
            Self(path.join("home"))
        }

        pub(crate) fn path(&self) -> &Path {
            &self.0
        }
    }

    impl Drop for Dir {
        fn drop(&mut self) {
            if let Some(parent) = self.0.parent() {
                let _ = std::fs::remove_dir_all(parent);
            }
        }
    }
}

fn key(byte: u8) -> String {
    base64::engine::general_purpose::STANDARD.encode([byte; 32])
}

fn with_key(home: &Path, keys: &str) -> StoreOptions {
    StoreOptions {
        master_key: Some(SecretString::from(keys.to_owned())),
        ..StoreOptions::in_dir(home)
    }
}

fn secrets(pairs: &[(&str, &str)]) -> Secrets {
    pairs.iter().map(|(k, v)| (*k, SecretString::from(v.to_string()))).collect()
}

fn config(account: &str) -> Map<String, serde_json::Value> {
    json!({"account_id": account}).as_object().unwrap().clone()
}

async fn put(
    store: &SqliteStore,
    name: &str,
    secrets: &Secrets,
) -> Result<forge_store::ConnectionInfo, StoreError> {
    store
        .put(
            NewConnection { name, connector: "netsuite", config: config("1234567_SB1"), secrets },
            PutOptions::default(),
        )
        .await
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).build().unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn arbitrary_unicode_secrets_round_trip(values in prop::collection::vec(any::<String>(), 1..5), name in "[a-z][a-z0-9_.-]{0,20}") {
        let home = temp_home();
        let store = SqliteStore::open(with_key(home.path(), &key(1))).unwrap();
        let sent: Secrets = values.iter().enumerate().map(|(i, v)| (format!("s{i}"), SecretString::from(v.clone()))).collect();
        runtime().block_on(async {
            put(&store, &name, &sent).await.unwrap();
            let got = store.get(&name).await.unwrap();
            prop_assert_eq!(got.secrets.len(), values.len());
            for (i, v) in values.iter().enumerate() {
                prop_assert_eq!(got.secrets.get(&format!("s{i}")).unwrap().expose_secret(), v.as_str());
            }
            prop_assert_eq!(got.info.config.get("account_id"), Some(&json!("1234567_SB1")));
            Ok(())
        })?;
    }
}

#[tokio::test]
async fn names_are_validated_and_replacing_is_explicit() {
    let home = temp_home();
    let store = SqliteStore::open(with_key(home.path(), &key(1))).unwrap();
    let s = secrets(&[("token_secret", "one")]);
    for bad in ["", "-lead", "has space", "a/b", &"x".repeat(65)] {
        assert!(
            matches!(put(&store, bad, &s).await, Err(StoreError::InvalidName { .. })),
            "{bad:?}"
        );
    }
    let first = put(&store, "prod", &s).await.unwrap();
    assert!(matches!(
        put(&store, "prod", &secrets(&[("token_secret", "two")])).await,
        Err(StoreError::Exists(_))
    ));
    assert_eq!(
        store.get("prod").await.unwrap().secrets.get("token_secret").unwrap().expose_secret(),
        "one",
        "nothing stored is lost"
    );
    let replaced = store
        .put(
            NewConnection {
                name: "prod",
                connector: "netsuite",
                config: config("7"),
                secrets: &secrets(&[("token_secret", "two")]),
            },
            PutOptions { replace: true },
        )
        .await
        .unwrap();
    assert_eq!(replaced.created_at, first.created_at);
    assert_ne!(
        replaced.fingerprints["token_secret"], first.fingerprints["token_secret"],
        "another token, another fingerprint"
    );
    assert_eq!(store.list().await.unwrap().len(), 1);
    store.remove("prod").await.unwrap();
    assert!(matches!(store.remove("prod").await, Err(StoreError::NotFound(_))));
    assert!(matches!(store.get("prod").await, Err(StoreError::NotFound(_))));
}

#[tokio::test]
async fn swapping_two_rows_ciphertexts_is_detected() {
    let home = temp_home();
    let store = SqliteStore::open(with_key(home.path(), &key(1))).unwrap();
    put(&store, "a", &secrets(&[("token_secret", "secret-a")])).await.unwrap();
    put(&store, "b", &secrets(&[("token_secret", "secret-b")])).await.unwrap();
    drop(store);
    let db = rusqlite_swap(&home.path().join("forge.db"));
    assert!(db);
    let store = SqliteStore::open(with_key(home.path(), &key(1))).unwrap();
    assert!(matches!(store.get("a").await, Err(StoreError::Tampered(name)) if name == "a"));
    assert!(matches!(store.get("b").await, Err(StoreError::Tampered(_))));
}

/// Swaps the sealed secrets of rows `a` and `b` behind the store's back.
fn rusqlite_swap(db: &Path) -> bool {
    let db = rusqlite::Connection::open(db).unwrap();
    let sealed = |name: &str| -> Vec<u8> {
        db.query_row("SELECT secrets FROM connections WHERE name = ?1", [name], |r| r.get(0))
            .unwrap()
    };
    let (a, b) = (sealed("a"), sealed("b"));
    let set = |name: &str, value: &[u8]| {
        db.execute(
            "UPDATE connections SET secrets = ?1 WHERE name = ?2",
            rusqlite::params![value, name],
        )
        .unwrap()
    };
    set("a", &b) == 1 && set("b", &a) == 1
}

#[tokio::test]
async fn wrong_missing_and_malformed_keys_each_say_so() {
    let home = temp_home();
    let store = SqliteStore::open(with_key(home.path(), &key(1))).unwrap();
    put(&store, "prod", &secrets(&[("token_secret", "s")])).await.unwrap();
    drop(store);

    let err = SqliteStore::open(with_key(home.path(), &key(2))).unwrap_err();
    assert!(matches!(err, StoreError::WrongKey { .. }), "{err}");
    assert!(err.to_string().contains("is not the key"));

    let err = SqliteStore::open(StoreOptions::in_dir(home.path())).unwrap_err();
    assert!(matches!(err, StoreError::MissingKey { rows: 1, .. }), "{err}");
    assert!(!home.path().join("master.key").exists(), "no new key is made over sealed data");
    assert!(err.hint().contains("will not make a new key"));

    let err = SqliteStore::open(with_key(home.path(), "bm90IGEga2V5")).unwrap_err();
    assert!(matches!(err, StoreError::BadKey { .. }), "{err}");
    assert!(!err.to_string().contains("bm90IGEga2V5"), "the key is never echoed");

    // Every error maps to the taxonomy with a hint.
    let core: forge_core::Error =
        SqliteStore::open(with_key(home.path(), &key(2))).unwrap_err().into();
    assert_eq!(core.kind(), forge_core::ErrorKind::ConfigInvalid);
    assert!(core.hint().is_some());
}

#[tokio::test]
async fn a_key_file_is_made_on_first_use_and_rotation_reseals_every_row() {
    let home = temp_home();
    let store = SqliteStore::open(StoreOptions::in_dir(home.path())).unwrap();
    let key_file = home.path().join("master.key");
    assert_eq!(fs::metadata(&key_file).unwrap().permissions().mode() & 0o777, 0o600);
    for i in 0..5 {
        put(&store, &format!("c{i}"), &secrets(&[("token_secret", &format!("t{i}"))]))
            .await
            .unwrap();
    }
    let before: Vec<String> = store.list().await.unwrap().into_iter().map(|c| c.key_id).collect();
    let report = store.rotate().await.unwrap();
    assert_eq!(report.rewritten, 5);
    assert_eq!(report.retired, vec![before[0].clone()]);
    let after = store.list().await.unwrap();
    assert!(
        after.iter().all(|c| c.key_id == report.key_id && c.key_id != before[0]),
        "every key id changed"
    );
    for i in 0..5 {
        let got = store.get(&format!("c{i}")).await.unwrap();
        assert_eq!(got.secrets.get("token_secret").unwrap().expose_secret(), format!("t{i}"));
    }
    assert_eq!(
        fs::read_to_string(&key_file).unwrap().lines().count(),
        1,
        "the old key was dropped"
    );
    assert_eq!(fs::metadata(&key_file).unwrap().permissions().mode() & 0o777, 0o600);
    drop(store);
    let reopened = SqliteStore::open(StoreOptions::in_dir(home.path())).unwrap();
    assert_eq!(
        reopened.get("c3").await.unwrap().secrets.get("token_secret").unwrap().expose_secret(),
        "t3"
    );
}

#[tokio::test]
async fn rotation_with_keys_from_the_environment_reseals_under_the_first() {
    let home = temp_home();
    let store = SqliteStore::open(with_key(home.path(), &key(1))).unwrap();
    put(&store, "a", &secrets(&[("token_secret", "s")])).await.unwrap();
    drop(store);
    // During a rotation both keys are given, the new one first.
    let store =
        SqliteStore::open(with_key(home.path(), &format!("{},{}", key(2), key(1)))).unwrap();
    let report = store.rotate().await.unwrap();
    assert_eq!(report.rewritten, 1);
    assert!(report.note.contains("remove any other keys"));
    drop(store);
    let store = SqliteStore::open(with_key(home.path(), &key(2))).unwrap();
    assert_eq!(
        store.get("a").await.unwrap().secrets.get("token_secret").unwrap().expose_secret(),
        "s"
    );
}

#[tokio::test]
async fn files_and_directories_are_private() {
    let home = temp_home();
    let store = SqliteStore::open(StoreOptions::in_dir(home.path())).unwrap();
    put(&store, "a", &secrets(&[("token_secret", "s")])).await.unwrap();
    let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(home.path()), 0o700);
    for file in ["forge.db", "forge.db-wal", "master.key"] {
        assert_eq!(mode(&home.path().join(file)), 0o600, "{file}");
    }
}

#[tokio::test]
async fn two_processes_writing_1000_connections_each_lose_nothing() {
    let home = temp_home();
    let store = SqliteStore::open(with_key(home.path(), &key(3))).unwrap();
    let spawn = |prefix: &str| {
        Command::new(env!("CARGO_BIN_EXE_forge-store-test-helper"))
            .args(["put-many", prefix, "1000"])
            .env("FORGE_HOME", home.path())
            .env("FORGE_MASTER_KEY", key(3))
            .spawn()
            .unwrap()
    };
    let (mut a, mut b) = (spawn("a"), spawn("b"));
    assert!(a.wait().unwrap().success() && b.wait().unwrap().success());
    let all = store.list().await.unwrap();
    assert_eq!(all.len(), 2000);
    for prefix in ["a", "b"] {
        for i in [0, 499, 999] {
            let name = format!("{prefix}-{i}");
            let got = store.get(&name).await.unwrap();
            assert_eq!(
                got.secrets.get("token_secret").unwrap().expose_secret(),
                format!("secret-of-{name}")
            );
            assert_eq!(got.info.config["i"], i);
        }
    }
    for info in &all {
        store.get(&info.name).await.unwrap();
    }
}

#[tokio::test]
async fn a_journal_entry_begun_by_a_killed_process_stays_unsettled() {
    let home = temp_home();
    let store = SqliteStore::open(with_key(home.path(), &key(4))).unwrap();
    let status = Command::new(env!("CARGO_BIN_EXE_forge-store-test-helper"))
        .args(["begin-and-abort", "prod"])
        .env("FORGE_HOME", home.path())
        .env("FORGE_MASTER_KEY", key(4))
        .status()
        .unwrap();
    assert!(!status.success(), "the helper died");
    let journal = store.journal("prod");
    let unsettled = journal.unsettled().await.unwrap();
    assert_eq!(unsettled.len(), 1);
    assert_eq!(unsettled[0].1.key, RecordKey::parse("customer", "crash-1").unwrap());
    assert_eq!(unsettled[0].1.before.as_ref().unwrap().get("name"), Some(&json!("before")));
    assert!(
        store.journal("other").unsettled().await.unwrap().is_empty(),
        "journals are per connection"
    );
    journal.settle(unsettled[0].0, Settlement::RolledBack).await.unwrap();
    assert!(journal.unsettled().await.unwrap().is_empty());
    assert!(
        journal.settle(unsettled[0].0, Settlement::Committed).await.is_err(),
        "settled once only"
    );
}

#[tokio::test]
async fn the_journal_serves_the_guard() {
    let home = temp_home();
    let store = SqliteStore::open(with_key(home.path(), &key(5))).unwrap();
    let journal = store.journal("prod");
    let key = RecordKey::parse("customer", "A").unwrap();
    let entry = JournalEntry::now("memory", Operation::Upsert, &key, None, None);
    let first = journal.begin(&entry).await.unwrap();
    let second = journal.begin(&entry).await.unwrap();
    assert_ne!(first, second);
    journal.settle(first, Settlement::Committed).await.unwrap();
    let left: Vec<_> = journal.unsettled().await.unwrap().into_iter().map(|(id, _)| id).collect();
    assert_eq!(left, [second]);
}

#[tokio::test]
async fn canary_secrets_never_appear_in_the_clear() {
    let canaries = [
        "CANARY-consumer-KEY-81d2",
        "CANARY-consumer-SECRET-55af",
        "CANARY-token-ID-0c9e",
        "CANARY-token-SECRET-e713",
    ];
    let home = temp_home();
    let store = SqliteStore::open(StoreOptions::in_dir(home.path())).unwrap();
    let names = ["consumer_key", "consumer_secret", "token_id", "token_secret"];
    let planted: Secrets =
        names.iter().zip(canaries).map(|(n, c)| (*n, SecretString::from(c.to_owned()))).collect();
    let info = put(&store, "prod", &planted).await.unwrap();
    let got = store.get("prod").await.unwrap();
    let mut outputs = vec![
        format!("{store:?}"),
        format!("{planted:?}"),
        format!("{got:?}"),
        format!("{info:?}"),
        serde_json::to_string(&info).unwrap(),
        serde_json::to_string(&store.list().await.unwrap()).unwrap(),
    ];
    for err in [
        put(&store, "prod", &planted).await.unwrap_err(),
        SqliteStore::open(with_key(home.path(), &key(9))).unwrap_err(),
    ] {
        outputs.push(err.to_string());
        outputs.push(format!("{err:?}"));
        outputs.push(forge_core::Error::from(err).to_string());
    }
    drop(store);
    for entry in fs::read_dir(home.path()).unwrap() {
        let path = entry.unwrap().path();
        outputs.push(String::from_utf8_lossy(&fs::read(&path).unwrap()).into_owned());
    }
    for output in &outputs {
        for canary in canaries {
            assert!(
                !output.contains(canary),
                "a secret in the clear: {canary} in {}",
                &output[..output.len().min(200)]
            );
        }
    }
}
