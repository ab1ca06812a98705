//! The embedded store: one SQLite database in Forge's home directory (mode
//! 0600, directory 0700, WAL, `synchronous=FULL`), schema versioned with
//! forward migrations, secrets sealed per row, and the write journal.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::{self, DirBuilder, OpenOptions};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use forge_core::{Journal, JournalEntry, JournalId, Settlement};
use rusqlite::{OptionalExtension, TransactionBehavior, params};
use serde_json::Value;

use crate::error::StoreError;
use crate::keys::{KeyRing, KeySource, MasterKey};
use crate::model::{
    Connection, ConnectionInfo, CredentialStore, NewConnection, PutOptions, RotationReport,
    Secrets, validate_name,
};
use crate::options::StoreOptions;
use crate::seal::{RowId, open, seal};

/// The schema, one forward migration per entry; `PRAGMA user_version` says
/// how many have been applied.
const MIGRATIONS: &[&str] = &["
    CREATE TABLE connections (
        name TEXT PRIMARY KEY,
        connector TEXT NOT NULL,
        config TEXT NOT NULL,
        secrets BLOB NOT NULL,
        fingerprints TEXT NOT NULL,
        key_id INTEGER NOT NULL,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL
    ) STRICT;
    CREATE TABLE journal (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        connection TEXT NOT NULL,
        entry TEXT NOT NULL,
        begun_at INTEGER NOT NULL,
        settled_at INTEGER,
        settlement TEXT
    ) STRICT;
    CREATE INDEX journal_unsettled ON journal (connection) WHERE settled_at IS NULL;
"];

/// The SQLite credential store. Cheap to clone; clones share one database
/// connection.
#[derive(Clone)]
pub struct SqliteStore {
    inner: Arc<Inner>,
}

struct Inner {
    db: Mutex<rusqlite::Connection>,
    keys: Mutex<KeyRing>,
    options: StoreOptions,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore")
            .field("home", &self.inner.options.home)
            .finish_non_exhaustive()
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

fn hex(kid: u32) -> String {
    format!("{kid:08x}")
}

/// Creates `home` (and parents) with mode 0700 if it does not exist.
fn create_home(home: &Path) -> Result<(), StoreError> {
    if home.is_dir() {
        return Ok(());
    }
    DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(home)
        .and_then(|()| fs::set_permissions(home, fs::Permissions::from_mode(0o700)))
        .map_err(|e| StoreError::io(format!("could not create Forge's home {}", home.display()), e))
}

impl SqliteStore {
    /// Opens (creating if needed) the store described by `options`.
    ///
    /// Fails with [`StoreError::MissingKey`] when sealed data exists and no
    /// key was found (a new key is never made then), and with
    /// [`StoreError::WrongKey`] when none of the keys supplied sealed it.
    pub fn open(options: StoreOptions) -> Result<Self, StoreError> {
        create_home(&options.home)?;
        let path = options.database();
        OpenOptions::new()
            .create(true)
            .append(true)
            .mode(0o600)
            .open(&path)
            .map_err(|e| StoreError::io(format!("could not create {}", path.display()), e))?;
        let db = rusqlite::Connection::open(&path)?;
        db.busy_timeout(Duration::from_secs(30))?;
        db.query_row("PRAGMA journal_mode=WAL", [], |_| Ok(()))?;
        db.execute_batch("PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;")?;
        migrate(&db)?;

        let rows: i64 = db.query_row("SELECT COUNT(*) FROM connections", [], |r| r.get(0))?;
        let rows = usize::try_from(rows).unwrap_or(0);
        let kids: BTreeSet<u32> = db
            .prepare("SELECT DISTINCT key_id FROM connections")?
            .query_map([], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        let key_file = options.key_file();
        let keys =
            KeyRing::load(options.master_key.as_ref(), &key_file, rows == 0)?.ok_or_else(|| {
                StoreError::MissingKey {
                    home: options.home.display().to_string(),
                    key_file: key_file.display().to_string(),
                    rows,
                }
            })?;
        if rows > 0 && !kids.iter().any(|kid| keys.get(*kid).is_some()) {
            return Err(StoreError::WrongKey {
                supplied: hex(keys.primary().id()),
                expected: kids.iter().map(|k| hex(*k)).collect::<Vec<_>>().join(", "),
            });
        }
        Ok(Self { inner: Arc::new(Inner { db: Mutex::new(db), keys: Mutex::new(keys), options }) })
    }

    /// Opens the store the environment describes (see [`StoreOptions::from_env`]).
    pub fn open_from_env() -> Result<Self, StoreError> {
        Self::open(StoreOptions::from_env()?)
    }

    /// Where the store lives and where its key came from.
    pub fn options(&self) -> &StoreOptions {
        &self.inner.options
    }

    /// Where the master keys came from.
    pub fn key_source(&self) -> KeySource {
        lock(&self.inner.keys).source().clone()
    }

    /// The durable write journal of one connection.
    pub fn journal(&self, connection: &str) -> Arc<dyn Journal> {
        Arc::new(SqliteJournal {
            inner: Arc::clone(&self.inner),
            connection: connection.to_owned(),
        })
    }

    /// Runs `work` on the database on a blocking thread.
    async fn blocking<T, F>(&self, work: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Inner) -> Result<T, StoreError> + Send + 'static,
    {
        let inner = Arc::clone(&self.inner);
        tokio::task::spawn_blocking(move || work(&inner)).await.map_err(|e| {
            StoreError::io("a store task failed", std::io::Error::other(e.to_string()))
        })?
    }
}

fn migrate(db: &rusqlite::Connection) -> Result<(), StoreError> {
    let newest = i64::try_from(MIGRATIONS.len()).unwrap_or(i64::MAX);
    let version: i64 = db.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if version > newest {
        return Err(StoreError::io(
            "the store was written by a newer Forge",
            std::io::Error::other(format!(
                "schema version {version}, this Forge knows up to {newest}; upgrade Forge"
            )),
        ));
    }
    if version == newest {
        return Ok(());
    }
    let mut db_tx = rusqlite::Connection::unchecked_transaction(db)?;
    db_tx.set_drop_behavior(rusqlite::DropBehavior::Rollback);
    let version: i64 = db_tx.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    for migration in MIGRATIONS.iter().skip(usize::try_from(version).unwrap_or(0)) {
        db_tx.execute_batch(migration)?;
    }
    db_tx.execute_batch(&format!("PRAGMA user_version = {newest}"))?;
    db_tx.commit()?;
    Ok(())
}

/// Seals `secrets` for a row under `key`, with their fingerprints.
fn seal_row(
    key: &MasterKey,
    row: RowId<'_>,
    secrets: &Secrets,
) -> Result<(Vec<u8>, String), StoreError> {
    let sealed = seal(key, row, &secrets.encode())?;
    let fingerprints: BTreeMap<&String, String> = secrets
        .iter()
        .map(|(name, value)| (name, key.fingerprint(secrecy::ExposeSecret::expose_secret(value))))
        .collect();
    let fingerprints = serde_json::to_string(&fingerprints)
        .map_err(|e| StoreError::io("could not encode fingerprints", e))?;
    Ok((sealed, fingerprints))
}

fn info_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<ConnectionInfo> {
    let config: String = row.get("config")?;
    let fingerprints: String = row.get("fingerprints")?;
    Ok(ConnectionInfo {
        name: row.get("name")?,
        connector: row.get("connector")?,
        config: serde_json::from_str(&config).unwrap_or_default(),
        fingerprints: serde_json::from_str(&fingerprints).unwrap_or_default(),
        key_id: hex(row.get("key_id")?),
        created_at: row.get("created_at")?,
        updated_at: row.get("updated_at")?,
    })
}

const INFO_COLUMNS: &str = "name, connector, config, fingerprints, key_id, created_at, updated_at";

#[async_trait]
impl CredentialStore for SqliteStore {
    async fn put(
        &self,
        connection: NewConnection<'_>,
        opts: PutOptions,
    ) -> Result<ConnectionInfo, StoreError> {
        validate_name(connection.name)?;
        let name = connection.name.to_owned();
        let connector = connection.connector.to_owned();
        let config = serde_json::to_string(&Value::Object(connection.config))
            .map_err(|e| StoreError::io("could not encode the configuration", e))?;
        let (sealed, fingerprints, kid) = {
            let keys = lock(&self.inner.keys);
            let row = RowId { connector: &connector, name: &name };
            let (sealed, fingerprints) = seal_row(keys.primary(), row, connection.secrets)?;
            (sealed, fingerprints, keys.primary().id())
        };
        self.blocking(move |inner| {
            let mut db = lock(&inner.db);
            let tx = db.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let created: Option<i64> = tx
                .query_row("SELECT created_at FROM connections WHERE name = ?1", [&name], |r| r.get(0))
                .optional()?;
            if created.is_some() && !opts.replace {
                return Err(StoreError::Exists(name));
            }
            let now = now();
            tx.execute(
                "INSERT OR REPLACE INTO connections (name, connector, config, secrets, fingerprints, key_id, created_at, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                params![name, connector, config, sealed, fingerprints, kid, created.unwrap_or(now), now],
            )?;
            let info = tx.query_row(
                &format!("SELECT {INFO_COLUMNS} FROM connections WHERE name = ?1"),
                [&name],
                info_from_row,
            )?;
            tx.commit()?;
            Ok(info)
        })
        .await
    }

    async fn get(&self, name: &str) -> Result<Connection, StoreError> {
        let name = name.to_owned();
        self.blocking(move |inner| {
            let db = lock(&inner.db);
            let found = db
                .query_row(
                    &format!("SELECT {INFO_COLUMNS}, secrets FROM connections WHERE name = ?1"),
                    [&name],
                    |row| Ok((info_from_row(row)?, row.get::<_, Vec<u8>>("secrets")?)),
                )
                .optional()?;
            let Some((info, sealed)) = found else { return Err(StoreError::NotFound(name)) };
            let row = RowId { connector: &info.connector, name: &info.name };
            let plaintext = open(&lock(&inner.keys), row, &sealed)?;
            let secrets =
                Secrets::decode(&plaintext).ok_or_else(|| StoreError::Tampered(name.clone()))?;
            Ok(Connection { info, secrets })
        })
        .await
    }

    async fn list(&self) -> Result<Vec<ConnectionInfo>, StoreError> {
        self.blocking(|inner| {
            let db = lock(&inner.db);
            let mut query =
                db.prepare(&format!("SELECT {INFO_COLUMNS} FROM connections ORDER BY name"))?;
            let infos = query.query_map([], info_from_row)?.collect::<Result<Vec<_>, _>>()?;
            Ok(infos)
        })
        .await
    }

    async fn remove(&self, name: &str) -> Result<(), StoreError> {
        let name = name.to_owned();
        self.blocking(move |inner| {
            let removed =
                lock(&inner.db).execute("DELETE FROM connections WHERE name = ?1", [&name])?;
            if removed == 0 { Err(StoreError::NotFound(name)) } else { Ok(()) }
        })
        .await
    }

    async fn rotate(&self) -> Result<RotationReport, StoreError> {
        self.blocking(|inner| {
            let mut db = lock(&inner.db);
            let mut keys = lock(&inner.keys);
            let key_file = match keys.source() {
                KeySource::File(path) => Some(path.clone()),
                KeySource::Env => None,
            };
            // With a key file: add a new sealing key first, keeping the old
            // ones, so every row opens whatever happens next.
            if let Some(path) = &key_file {
                keys.push_primary(MasterKey::generate()?);
                keys.write_file(path)?;
            }
            let primary = keys.primary();
            let tx = db.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let rows: Vec<(String, String, Vec<u8>, u32)> = tx
                .prepare("SELECT name, connector, secrets, key_id FROM connections")?
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?
                .collect::<Result<_, _>>()?;
            let mut rewritten = 0;
            for (name, connector, sealed, kid) in rows {
                if kid == primary.id() {
                    continue;
                }
                let row = RowId { connector: &connector, name: &name };
                let secrets = Secrets::decode(&open(&keys, row, &sealed)?).ok_or_else(|| StoreError::Tampered(name.clone()))?;
                let (sealed, fingerprints) = seal_row(primary, row, &secrets)?;
                tx.execute(
                    "UPDATE connections SET secrets = ?1, fingerprints = ?2, key_id = ?3 WHERE name = ?4",
                    params![sealed, fingerprints, primary.id(), name],
                )?;
                rewritten += 1;
            }
            tx.commit()?;
            let key_id = hex(keys.primary().id());
            let retired = keys.retire_others();
            let note = match &key_file {
                Some(path) => {
                    keys.write_file(path)?;
                    format!("the key file {} now holds only the new key", path.display())
                }
                None => format!(
                    "every connection is sealed with key {key_id}, the first in FORGE_MASTER_KEY: \
                     remove any other keys from FORGE_MASTER_KEY"
                ),
            };
            Ok(RotationReport { rewritten, key_id, retired: retired.into_iter().map(hex).collect(), note })
        })
        .await
    }
}

/// The durable write journal of one connection.
struct SqliteJournal {
    inner: Arc<Inner>,
    connection: String,
}

impl SqliteJournal {
    async fn run<T, F>(&self, work: F) -> forge_core::Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&rusqlite::Connection, &str) -> Result<T, StoreError> + Send + 'static,
    {
        let inner = Arc::clone(&self.inner);
        let connection = self.connection.clone();
        let joined = tokio::task::spawn_blocking(move || work(&lock(&inner.db), &connection)).await;
        match joined {
            Ok(result) => result.map_err(forge_core::Error::from),
            Err(e) => {
                Err(StoreError::io("a journal task failed", std::io::Error::other(e.to_string()))
                    .into())
            }
        }
    }
}

#[async_trait]
impl Journal for SqliteJournal {
    async fn begin(&self, entry: &JournalEntry) -> forge_core::Result<JournalId> {
        let json = serde_json::to_string(entry).map_err(|e| {
            forge_core::Error::from(StoreError::io("could not encode a journal entry", e))
        })?;
        self.run(move |db, connection| {
            // Autocommit with synchronous=FULL: on disk when this returns.
            db.execute(
                "INSERT INTO journal (connection, entry, begun_at) VALUES (?1, ?2, ?3)",
                params![connection, json, now()],
            )?;
            Ok(JournalId(u64::try_from(db.last_insert_rowid()).unwrap_or(0)))
        })
        .await
    }

    async fn settle(&self, id: JournalId, settlement: Settlement) -> forge_core::Result<()> {
        let settlement = serde_json::to_value(settlement)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default();
        self.run(move |db, connection| {
            // A settle need not wait for the disk: if it is lost in a crash,
            // the entry shows as unsettled and recovery finds the write
            // complete. The next durable commit (any begin) flushes it.
            db.execute_batch("PRAGMA synchronous=NORMAL")?;
            let changed = db.execute(
                "UPDATE journal SET settled_at = ?1, settlement = ?2 WHERE id = ?3 AND connection = ?4 AND settled_at IS NULL",
                params![now(), settlement, i64::try_from(id.0).unwrap_or(-1), connection],
            );
            db.execute_batch("PRAGMA synchronous=FULL")?;
            let changed = changed?;
            if changed == 0 {
                return Err(StoreError::io(
                    "could not settle a journal entry",
                    std::io::Error::other(format!("entry {} of {connection:?} does not exist or is already settled", id.0)),
                ));
            }
            Ok(())
        })
        .await
    }

    async fn unsettled(&self) -> forge_core::Result<Vec<(JournalId, JournalEntry)>> {
        self.run(|db, connection| {
            let mut query = db.prepare("SELECT id, entry FROM journal WHERE connection = ?1 AND settled_at IS NULL ORDER BY id")?;
            let rows = query
                .query_map([connection], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)))?
                .collect::<Result<Vec<_>, _>>()?;
            rows.into_iter()
                .map(|(id, json)| {
                    let entry = serde_json::from_str(&json).map_err(|e| StoreError::io(format!("journal entry {id} is unreadable"), e))?;
                    Ok((JournalId(u64::try_from(id).unwrap_or(0)), entry))
                })
                .collect()
        })
        .await
    }
}
