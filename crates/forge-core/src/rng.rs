//! A small seeded pseudo-random generator for jitter and fault injection,
//! shared by the layers here and by the NetSuite simulator.
//!
//! Not for secrets: nonces and keys come from the OS CSPRNG. This one exists
//! so that a seed reproduces a run exactly, without pulling in a `rand`
//! generation.

use std::hash::{BuildHasher, RandomState};
use std::time::{SystemTime, UNIX_EPOCH};

/// SplitMix64: fast, statistically good enough for jitter and fault
/// injection, and tiny. The same seed always gives the same sequence.
#[derive(Debug, Clone)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    /// A generator that starts from `seed`.
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    /// A generator seeded from the process's hash randomness and the clock,
    /// for when no seed was asked for.
    pub fn from_entropy() -> Self {
        let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos());
        Self(RandomState::new().hash_one(nanos))
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A uniform float in `[0, 1)`.
    pub fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// A uniform integer in `[0, bound]`.
    pub fn up_to(&mut self, bound: u64) -> u64 {
        match bound.checked_add(1) {
            Some(n) => self.next_u64() % n,
            None => self.next_u64(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_sequence_and_floats_in_range() {
        let a: Vec<u64> = (0..5)
            .map({
                let mut r = SplitMix64::new(7);
                move |_| r.next_u64()
            })
            .collect();
        let mut r = SplitMix64::new(7);
        assert_eq!(a, (0..5).map(|_| r.next_u64()).collect::<Vec<_>>());
        let mut r = SplitMix64::new(1);
        let floats: Vec<f64> = (0..10_000).map(|_| r.next_f64()).collect();
        assert!(floats.iter().all(|f| (0.0..1.0).contains(f)));
        let mean = floats.iter().sum::<f64>() / floats.len() as f64;
        assert!((mean - 0.5).abs() < 0.02, "mean {mean}");
        assert!((0..1000).all(|_| r.up_to(3) <= 3));
        assert!((0..1000).any(|_| r.up_to(3) == 3), "the bound is inclusive");
    }
}
