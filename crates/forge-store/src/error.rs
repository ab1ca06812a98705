//! What can go wrong in the store, each with its own variant and a message
//! that says what to do; mapped to Forge's taxonomy at the edge.

use forge_core::{Error, ErrorKind};

/// A failure of the credential store or the journal.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A connection name breaks the naming rules.
    #[error("invalid connection name {name:?}: {why}")]
    InvalidName {
        /// The name given.
        name: String,
        /// Which rule it breaks.
        why: String,
    },
    /// No connection has this name.
    #[error("no connection named {0:?}")]
    NotFound(String),
    /// A connection with this name exists and replacing was not asked for.
    #[error("a connection named {0:?} already exists")]
    Exists(String),
    /// The master key given is not valid base64 of 32 bytes.
    #[error("the master key {source_name} is not valid: {why}")]
    BadKey {
        /// Where the key came from.
        source_name: String,
        /// What is wrong with it.
        why: String,
    },
    /// The store holds sealed secrets but no master key was found.
    #[error(
        "the store at {home} holds {rows} sealed connection(s), but no master key was found \
         (FORGE_MASTER_KEY is unset and {key_file} does not exist)"
    )]
    MissingKey {
        /// The store's directory.
        home: String,
        /// The key file that was looked for.
        key_file: String,
        /// How many rows are sealed.
        rows: usize,
    },
    /// None of the keys supplied sealed the existing data.
    #[error(
        "the master key supplied (key id {supplied}) is not the key this store's secrets were \
         sealed with (key id {expected})"
    )]
    WrongKey {
        /// The supplied primary key's id.
        supplied: String,
        /// The key ids the rows were sealed with.
        expected: String,
    },
    /// One row was sealed with a key that is not among those supplied.
    #[error(
        "the secrets of {name:?} were sealed with key id {kid}, which is not among the keys supplied"
    )]
    KeyNotSupplied {
        /// The connection.
        name: String,
        /// The key id it needs.
        kid: String,
    },
    /// A sealed value failed authentication: modified, or moved from
    /// another row.
    #[error(
        "the sealed secrets of {0:?} failed authentication: they were modified, or copied from another connection"
    )]
    Tampered(String),
    /// The database or a file could not be read or written.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// The cause.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

impl StoreError {
    pub(crate) fn io(
        what: impl Into<String>,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        Self::Io { what: what.into(), source: Box::new(source) }
    }

    /// What a person should do about it.
    pub fn hint(&self) -> &'static str {
        match self {
            StoreError::InvalidName { .. } => {
                "use 1 to 64 letters, digits, `-`, `_` or `.`, starting with a letter or digit"
            }
            StoreError::NotFound(_) => "list the stored connections with `forge connections list`",
            StoreError::Exists(_) => "remove it first, or replace it explicitly",
            StoreError::BadKey { .. } => {
                "FORGE_MASTER_KEY is the base64 of 32 random bytes (`openssl rand -base64 32`); \
                 during a rotation it may list several keys separated by commas, the new one first"
            }
            StoreError::MissingKey { .. } => {
                "supply the key these secrets were sealed with (FORGE_MASTER_KEY, or \
                 FORGE_MASTER_KEY_FILE, or restore master.key from your backup); Forge will not \
                 make a new key while sealed data exists, since that data would be lost"
            }
            StoreError::WrongKey { .. } | StoreError::KeyNotSupplied { .. } => {
                "supply the master key this store was sealed with; during a rotation list both \
                 keys in FORGE_MASTER_KEY, the new one first"
            }
            StoreError::Tampered(_) => {
                "the database was modified outside Forge: restore it from a backup, or remove the \
                 connection and connect it again"
            }
            StoreError::Io { .. } => "check that Forge's home directory exists and is writable",
        }
    }

    /// The taxonomy kind this maps to.
    pub fn kind(&self) -> ErrorKind {
        match self {
            StoreError::InvalidName { .. } => ErrorKind::InvalidInput,
            StoreError::NotFound(_) => ErrorKind::NotFound,
            StoreError::Exists(_) => ErrorKind::Conflict,
            StoreError::BadKey { .. }
            | StoreError::MissingKey { .. }
            | StoreError::WrongKey { .. }
            | StoreError::KeyNotSupplied { .. } => ErrorKind::ConfigInvalid,
            StoreError::Tampered(_) | StoreError::Io { .. } => ErrorKind::Unexpected,
        }
    }
}

impl From<StoreError> for Error {
    fn from(err: StoreError) -> Self {
        Error::new(err.kind(), err.to_string()).with_hint(err.hint()).with_connector("forge-store")
    }
}

impl From<rusqlite::Error> for StoreError {
    fn from(err: rusqlite::Error) -> Self {
        StoreError::io("the store's database failed", err)
    }
}
