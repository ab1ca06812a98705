//! How a simulator is set up: the account it plays, the secrets it expects,
//! the record types it declares and the faults it injects.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::time::Duration;

use forge_core::rng::SplitMix64;

/// The four TBA secrets the simulator accepts. Test secrets, but still
/// secrets: `Debug` prints none of them.
#[derive(Clone, PartialEq, Eq)]
pub struct SimSecrets {
    /// The integration's consumer key.
    pub consumer_key: String,
    /// The integration's consumer secret.
    pub consumer_secret: String,
    /// The access token's id.
    pub token_id: String,
    /// The access token's secret.
    pub token_secret: String,
}

impl SimSecrets {
    /// Four fresh random secrets in NetSuite's shape (64 hex digits each).
    pub fn random() -> Self {
        let mut rng = SplitMix64::from_entropy();
        let mut hex = || (0..4).map(|_| format!("{:016x}", rng.next_u64())).collect::<String>();
        Self { consumer_key: hex(), consumer_secret: hex(), token_id: hex(), token_secret: hex() }
    }

    /// The secrets in the order NetSuite shows them: consumer key, consumer
    /// secret, token id, token secret.
    pub fn to_array(&self) -> [String; 4] {
        [
            self.consumer_key.clone(),
            self.consumer_secret.clone(),
            self.token_id.clone(),
            self.token_secret.clone(),
        ]
    }
}

impl fmt::Debug for SimSecrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SimSecrets([redacted])")
    }
}

/// Faults the simulator injects. All are off by default; every random
/// choice comes from `seed`, so a seed and the same order of requests give
/// the same faults.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SimFaults {
    /// Seeds every random choice.
    pub seed: u64,
    /// Added to every authenticated request, holding its concurrency slot.
    pub latency: Duration,
    /// A uniformly random extra latency in `[0, latency_jitter]`.
    pub latency_jitter: Duration,
    /// The account's concurrency limit: an authenticated request that
    /// arrives while this many are being served gets 429
    /// `CONCURRENCY_LIMIT_EXCEEDED`.
    pub concurrency_limit: Option<usize>,
    /// The share of authenticated requests answered 429 at random, at once
    /// (without taking a concurrency slot or the latency).
    pub p429: f64,
    /// The share answered 503 with an HTML maintenance page, at once.
    pub p503: f64,
    /// The share whose connection is dropped at once, before anything is done.
    pub pdrop: f64,
    /// The share of writes that are applied and whose connection is then
    /// dropped before the answer ("response lost").
    pub plost: f64,
    /// A field that writes silently store something else in: the answer is
    /// 204, the stored value is not what was sent.
    pub corrupt_field: Option<String>,
    /// Record types the token's role may not touch: 403
    /// `INSUFFICIENT_PERMISSION`.
    pub deny: BTreeSet<String>,
}

/// Everything a simulator needs to start.
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// The account it plays, in any spelling (`1234567_SB1`, `1234567-sb1`).
    pub account_id: String,
    /// The secrets it accepts.
    pub secrets: SimSecrets,
    /// The faults it injects.
    pub faults: SimFaults,
    /// Record types that declare their fields: with
    /// `X-NetSuite-PropertyNameValidation: Error`, writing any other field is
    /// a 400 `NONEXISTENT_FIELD`; without it, other fields are dropped
    /// silently, as NetSuite does. Other record types accept any field.
    pub declared_fields: BTreeMap<String, BTreeSet<String>>,
    /// Added to the machine's clock to make the simulator's clock.
    pub clock_offset_secs: i64,
    /// The loopback port to listen on (0 picks a free one).
    pub port: u16,
}

impl Default for SimConfig {
    /// Account `1234567_SB1`, random secrets, no faults, a free port.
    fn default() -> Self {
        Self {
            account_id: "1234567_SB1".into(),
            secrets: SimSecrets::random(),
            faults: SimFaults::default(),
            declared_fields: BTreeMap::new(),
            clock_offset_secs: 0,
            port: 0,
        }
    }
}

/// The realm NetSuite expects for an account id in any spelling: trimmed,
/// upper case, `_` for `-`.
pub fn realm_of(account_id: &str) -> String {
    account_id.trim().to_ascii_uppercase().replace('-', "_")
}
