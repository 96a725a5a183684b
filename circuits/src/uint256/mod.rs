//! uint256 values in circuits: 16 little-endian limbs of 16 bits each.
//!
//! A [`U256Target`] is *canonical* when every limb is range-checked to 16 bits; every
//! constructor in this module returns canonical values (or documents that the caller must
//! range-check). 16-bit limbs keep every limb product (< 2^32) and every column sum of a
//! schoolbook multiplication (< 16 · 2^32 · 2) far below the Goldilocks modulus
//! p = 2^64 − 2^32 + 1, so no field wrap-around can hide an overflow.
//!
//! Arithmetic (add, sub, mul, div/mod, comparisons) is [`CircuitBuilderU256Arith`], whose
//! gadgets share one witness generator, [`U256Generator`].

mod arith;

pub use arith::{
    generator_outputs, CircuitBuilderU256Arith, GenKind, U256Chunks, U256Generator, CHUNK_BITS,
    CHUNK_LIMBS, LAZY_CARRY_BITS, LAZY_LIMB_BITS, MUL_CARRY_BITS, NUM_CHUNKS, NUM_DOUBLE_COLUMNS,
};
#[cfg(test)]
pub(crate) use arith::{tamper, tests as arith_tests};

use alloy_primitives::U256;
use plonky2::field::extension::Extendable;
use plonky2::hash::hash_types::RichField;
use plonky2::iop::target::{BoolTarget, Target};
use plonky2::iop::witness::{PartialWitness, WitnessWrite};
use plonky2::plonk::circuit_builder::CircuitBuilder;

/// Number of limbs of a [`U256Target`].
pub const U256_LIMBS: usize = 16;
/// Bits per limb.
pub const LIMB_BITS: usize = 16;

/// A uint256 as 16 limbs of 16 bits, least significant limb first.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct U256Target {
    /// Limbs, `limbs[0]` least significant; each in `[0, 2^16)` when canonical.
    pub limbs: [Target; U256_LIMBS],
}

/// Limbs of a native value, least significant first.
pub fn u256_to_limbs(v: U256) -> [u64; U256_LIMBS] {
    let mut out = [0u64; U256_LIMBS];
    for (i, word) in v.as_limbs().iter().enumerate() {
        for j in 0..4 {
            out[4 * i + j] = (word >> (16 * j)) & 0xffff;
        }
    }
    out
}

/// Native value of limbs (each must be < 2^16).
pub fn limbs_to_u256(limbs: &[u64; U256_LIMBS]) -> U256 {
    let mut words = [0u64; 4];
    for (i, l) in limbs.iter().enumerate() {
        words[i / 4] |= l << (16 * (i % 4));
    }
    U256::from_limbs(words)
}

/// Native value of lazy limbs (limb `i` weighted `2^(16 i)`, each `< 2^64`):
/// `(value mod 2^256, value ≥ 2^256)`. The native twin of
/// [`CircuitBuilderU256Arith::normalize_lazy_u256`].
pub fn lazy_limbs_to_u256(limbs: &[u64; U256_LIMBS]) -> (U256, bool) {
    let mut out = [0u64; U256_LIMBS];
    let mut carry = 0u128;
    for (o, &l) in out.iter_mut().zip(limbs) {
        let t = u128::from(l) + carry;
        *o = (t & 0xffff) as u64;
        carry = t >> LIMB_BITS;
    }
    (limbs_to_u256(&out), carry != 0)
}

/// Witness helpers for [`U256Target`].
pub fn set_u256<F: RichField>(pw: &mut PartialWitness<F>, t: &U256Target, v: U256) {
    for (limb, val) in t.limbs.iter().zip(u256_to_limbs(v)) {
        pw.set_target(*limb, F::from_canonical_u64(val)).expect("set u256 limb");
    }
}

/// Builder extension for [`U256Target`] construction; arithmetic is [`CircuitBuilderU256Arith`].
pub trait CircuitBuilderU256<F: RichField + Extendable<D>, const D: usize> {
    /// A new canonical (range-checked) virtual uint256.
    fn add_virtual_u256(&mut self) -> U256Target;
    /// A constant uint256.
    fn constant_u256(&mut self, v: U256) -> U256Target;
    /// The uint256 whose 32 big-endian bytes are `bytes`.
    ///
    /// WARNING: the bytes must already be range-checked to 8 bits; the result is then canonical.
    fn u256_from_be_bytes(&mut self, bytes: &[Target; 32]) -> U256Target;
    /// Range-checks every limb to 16 bits.
    fn range_check_u256(&mut self, x: &U256Target);
    /// `if b { x } else { y }` limb-wise.
    fn select_u256(&mut self, b: BoolTarget, x: &U256Target, y: &U256Target) -> U256Target;
    /// Asserts `x == y` limb-wise.
    fn connect_u256(&mut self, x: &U256Target, y: &U256Target);
}

impl<F: RichField + Extendable<D>, const D: usize> CircuitBuilderU256<F, D>
    for CircuitBuilder<F, D>
{
    fn add_virtual_u256(&mut self) -> U256Target {
        let t = U256Target { limbs: self.add_virtual_target_arr::<U256_LIMBS>() };
        self.range_check_u256(&t);
        t
    }

    fn constant_u256(&mut self, v: U256) -> U256Target {
        let l = u256_to_limbs(v);
        U256Target { limbs: core::array::from_fn(|i| self.constant(F::from_canonical_u64(l[i]))) }
    }

    fn u256_from_be_bytes(&mut self, bytes: &[Target; 32]) -> U256Target {
        let base = F::from_canonical_u64(256);
        U256Target {
            limbs: core::array::from_fn(|i| {
                let lo = bytes[31 - 2 * i];
                let hi = bytes[30 - 2 * i];
                self.mul_const_add(base, hi, lo)
            }),
        }
    }

    fn range_check_u256(&mut self, x: &U256Target) {
        for l in x.limbs {
            self.range_check(l, LIMB_BITS);
        }
    }

    fn select_u256(&mut self, b: BoolTarget, x: &U256Target, y: &U256Target) -> U256Target {
        U256Target { limbs: core::array::from_fn(|i| self.select(b, x.limbs[i], y.limbs[i])) }
    }

    fn connect_u256(&mut self, x: &U256Target, y: &U256Target) {
        for i in 0..U256_LIMBS {
            self.connect(x.limbs[i], y.limbs[i]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limbs_round_trip() {
        let v = U256::from_be_slice(&[0xab; 32]) - U256::from(12345u64);
        assert_eq!(limbs_to_u256(&u256_to_limbs(v)), v);
    }
}
