//! A small deterministic generator (xorshift64*) for the randomized tests, seeded from the
//! clock or from `TETHERED_SEED`. The seed is printed, so a failing run can be replayed.

use std::time::{SystemTime, UNIX_EPOCH};

/// The environment variable that replays a seed.
pub const SEED_VARIABLE: &str = "TETHERED_SEED";

/// A stream of pseudo-random numbers, the same for the same seed.
pub struct Random(u64);

impl Random {
    /// A generator seeded by [`seed`].
    pub fn seeded() -> Random {
        Random::new(seed())
    }

    /// A generator for `seed`.
    pub fn new(seed: u64) -> Random {
        Random(seed | 1)
    }

    /// A number in `0..bound` (`bound` at least 1).
    pub fn below(&mut self, bound: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) % bound
    }

    /// A generator of its own, for one worker, drawn from this one.
    pub fn fork(&mut self) -> Random {
        Random::new(self.below(u64::MAX))
    }
}

/// The seed of a run: [`SEED_VARIABLE`] if set, else the clock; printed either way.
pub fn seed() -> u64 {
    let seed = std::env::var(SEED_VARIABLE)
        .ok()
        .and_then(|seed| seed.parse().ok())
        .unwrap_or_else(|| {
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(1, |t| t.as_nanos() as u64)
        });
    println!("random seed {seed} (replay with {SEED_VARIABLE}={seed})");
    seed
}
