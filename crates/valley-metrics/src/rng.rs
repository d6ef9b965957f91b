//! The one seeded generator of valley: SplitMix64 (Steele, Lea and Flood, 2014).
//!
//! *Definition.* 64 bits of state advanced by the golden-ratio increment, each output a mix of
//! the state (two xor-shift-multiply rounds and a final xor-shift), exactly as the published
//! reference implementation.
//!
//! *Why it matters.* Bootstrap intervals, MinHash permutations, initial weights and data order
//! must be identical on every machine and in every release for the same seed, so the generator
//! is specified here rather than borrowed from a library whose streams may change between
//! versions; its whole state is one `u64`, which a checkpoint keeps.
//!
//! *Example.* Seed 1234567 draws 6457827717110365317, then 3203168211198807973.
//!
//! *Pitfalls.* Not cryptographic. [`SplitMix64::below`] uses multiply-shift, whose bias is
//! below 2^-32 for any `n` valley draws from.

/// SplitMix64; the field is the state (the seed, before the first draw).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SplitMix64(pub u64);

impl SplitMix64 {
    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A draw from `0..n` (multiply-shift).
    pub fn below(&mut self, n: usize) -> usize {
        ((u128::from(self.next_u64()) * n as u128) >> 64) as usize
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outputs_are_the_reference_implementations() {
        // First outputs for seed 1234567, from the published reference implementation.
        let mut r = SplitMix64(1_234_567);
        assert_eq!(r.next_u64(), 6_457_827_717_110_365_317);
        assert_eq!(r.next_u64(), 3_203_168_211_198_807_973);
    }

    #[test]
    fn draws_below_stay_below() {
        let mut r = SplitMix64(0);
        assert!((0..1000).all(|_| r.below(7) < 7));
        assert_eq!(SplitMix64(9).below(1), 0);
    }
}
