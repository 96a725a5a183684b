//! uint256 arithmetic gadgets on canonical [`U256Target`]s, and the witness generator they share.
//!
//! # What is constrained
//! Every gadget takes *canonical* inputs (16-bit limbs, see the module above) and returns canonical
//! outputs: every value a generator writes is range-checked (result limbs to 16 bits, carries to
//! [`MUL_CARRY_BITS`] bits or booleans, comparison differences to [`CHUNK_BITS`] bits) and tied to
//! the inputs by limb equations whose integer magnitudes stay below 2^55, far under the
//! Goldilocks modulus, so every equation holds over the integers, not merely mod p.
//!
//! * Multiplication works on *double columns* of 32 bits: for `m` in `0..8`,
//!   `sum_{i+j=2m} x_i y_j + 2^16 sum_{i+j=2m+1} x_i y_j + z_{2m} + 2^16 z_{2m+1} + c_m
//!   = p_{2m} + 2^16 p_{2m+1} + 2^32 c_{m+1}` with `c_0 = 0` and carries `c < 2^21`. The high
//!   part `H = sum_{i+j>=16} x_i y_j + c_8 < 2^40` is a sum of non-negative terms, so the true
//!   `x·y + z` is `< 2^256` exactly when `H == 0`.
//! * Comparison packs 3 limbs into 48-bit chunks (6 chunks) and runs a borrow chain
//!   `u_k - v_k - b_k + 2^48 b_{k+1} = d_k` with `d_k < 2^48` and boolean borrows; `u < v` iff the
//!   last borrow is 1.
//!
//! # Cost (standard recursion config, rows)
//! A 16-bit range check is one `BaseSumGate` row, so the cost is dominated by the witnessed
//! limbs (measured by the `gadget_row_counts` test): `add_u256` ≈ 20, `sub_u256` ≈ 18,
//! `lt_u256`/`le_u256` ≈ 8, `mul_u256` ≈ 40, `div_rem_u256` ≈ 60, `is_equal_u256` ≈ 2,
//! `is_zero_u256` ≈ 1.
//!
//! WARNING: feeding a non-canonical [`U256Target`] (limbs not range-checked) breaks the bounds
//! above, and with them soundness.

use super::{limbs_to_u256, u256_to_limbs, CircuitBuilderU256, U256Target, LIMB_BITS, U256_LIMBS};
use alloy_primitives::U256;
use anyhow::Result;
use plonky2::field::extension::Extendable;
use plonky2::hash::hash_types::RichField;
use plonky2::iop::generator::{GeneratedValues, SimpleGenerator};
use plonky2::iop::target::{BoolTarget, Target};
use plonky2::iop::witness::{PartitionWitness, Witness, WitnessWrite};
use plonky2::plonk::circuit_builder::CircuitBuilder;
use plonky2::plonk::circuit_data::CommonCircuitData;
use plonky2::util::serialization::{Buffer, IoError, IoResult, Read, Write};

/// Limbs per comparison chunk.
pub const CHUNK_LIMBS: usize = 3;
/// Number of comparison chunks of a uint256 (`ceil(16 / 3)`; the last holds one limb).
pub const NUM_CHUNKS: usize = U256_LIMBS.div_ceil(CHUNK_LIMBS);
/// Bits of a comparison chunk (and of the range check on each borrow-chain difference).
pub const CHUNK_BITS: usize = CHUNK_LIMBS * LIMB_BITS;
/// Bits of a double-column multiplication carry (`c < 2^21`, see the module doc).
pub const MUL_CARRY_BITS: usize = 21;
/// Bits of a lazy limb: a limb of a sum whose carries are deferred
/// ([`CircuitBuilderU256Arith::normalize_lazy_u256`]); a sum of at most 2^32 canonical
/// 16-bit limbs is below 2^48.
pub const LAZY_LIMB_BITS: usize = 48;
/// Bits of a carry of [`CircuitBuilderU256Arith::normalize_lazy_u256`]: with limbs
/// `< 2^48` every carry is `< (2^48 + 2^33) / 2^16 < 2^33`.
pub const LAZY_CARRY_BITS: usize = 33;
/// Number of 32-bit double columns of the low half of a product.
pub const NUM_DOUBLE_COLUMNS: usize = U256_LIMBS / 2;

/// A uint256 packed into [`NUM_CHUNKS`] chunks of [`CHUNK_BITS`] bits, least significant first
/// (chunk `k` = limbs `3k..3k+3`). Canonical when the source limbs are.
pub type U256Chunks = [Target; NUM_CHUNKS];

/// Builder extension with uint256 arithmetic. All inputs must be canonical; all outputs are.
pub trait CircuitBuilderU256Arith<F: RichField + Extendable<D>, const D: usize> {
    /// `(a + b mod 2^256, carry)`, `carry` = 1 iff `a + b >= 2^256`. ≈ 20 rows.
    fn add_u256(&mut self, a: &U256Target, b: &U256Target) -> (U256Target, BoolTarget);
    /// `(a - b mod 2^256, borrow)`, `borrow` = 1 iff `a < b`. ≈ 18 rows.
    fn sub_u256(&mut self, a: &U256Target, b: &U256Target) -> (U256Target, BoolTarget);
    /// `(a · b mod 2^256, overflow)`, `overflow` = 1 iff `a · b >= 2^256`. ≈ 40 rows.
    fn mul_u256(&mut self, a: &U256Target, b: &U256Target) -> (U256Target, BoolTarget);
    /// `(x · y + z mod 2^256, overflow)`, `overflow` = 1 iff `x · y + z >= 2^256`.
    fn mul_add_u256(
        &mut self,
        x: &U256Target,
        y: &U256Target,
        z: &U256Target,
    ) -> (U256Target, BoolTarget);
    /// Quotient and remainder `(q, r)` of `a / b`, both witnessed and range-checked.
    ///
    /// When `cond` is 1 the gadget constrains `a = q · b + r` (no overflow) and `r < b`, so
    /// `b == 0` makes the circuit unsatisfiable. When `cond` is 0 nothing relates `q, r` to
    /// `a, b`; the generator writes `q = r = 0` and the constraints hold trivially.
    fn div_rem_u256(
        &mut self,
        a: &U256Target,
        b: &U256Target,
        cond: BoolTarget,
    ) -> (U256Target, U256Target);
    /// `a < b`. ≈ 8 rows.
    fn lt_u256(&mut self, a: &U256Target, b: &U256Target) -> BoolTarget;
    /// `a <= b`. ≈ 8 rows.
    fn le_u256(&mut self, a: &U256Target, b: &U256Target) -> BoolTarget;
    /// `a == b` (sum of squared limb differences `< 2^36` is zero). ≈ 2 rows.
    fn is_equal_u256(&mut self, a: &U256Target, b: &U256Target) -> BoolTarget;
    /// `a == 0` (sum of limbs `< 2^20` is zero). ≈ 1 row.
    fn is_zero_u256(&mut self, a: &U256Target) -> BoolTarget;
    /// `x == 0` for a field element.
    fn is_zero_target(&mut self, x: Target) -> BoolTarget;

    /// Packs a canonical uint256 into 48-bit chunks (2 arithmetic ops per chunk).
    fn pack_u256_chunks(&mut self, a: &U256Target) -> U256Chunks;
    /// `u < v` for two packed uint256 whose chunks are each `< 2^48` (borrow chain, 6 rows).
    fn lt_u256_chunks(&mut self, u: &U256Chunks, v: &U256Chunks) -> BoolTarget;
    /// Constrains `x · y + z = p + 2^256 · H` and returns `H` (a field element `< 2^40`, zero
    /// iff the true product fits). `p` is *not* written: the caller witnesses it or passes an
    /// existing canonical value. Carries are witnessed and range-checked here.
    fn mul_add_u256_into(
        &mut self,
        x: &U256Target,
        y: &U256Target,
        z: &U256Target,
        p: &U256Target,
    ) -> Target;
    /// The uint256 of a field element known to be `< 2^32` (two range-checked 16-bit limbs).
    ///
    /// WARNING: if `x >= 2^32` the circuit is unsatisfiable.
    fn u256_from_u32_target(&mut self, x: Target) -> U256Target;
    /// Normalizes lazy limbs `s` (value `Σ s_i · 2^(16 i)`, each `s_i < 2^`[`LAZY_LIMB_BITS`])
    /// into `(value mod 2^256, overflow)`, `overflow` = 1 iff the value is `≥ 2^256`.
    /// Constrains `s_i + c_(i-1) = p_i + 2^16 · c_i` with `p_i < 2^16` and carries
    /// `c_i < 2^`[`LAZY_CARRY_BITS`]; all terms stay below 2^50, so each equation holds over
    /// the integers and the decomposition is unique. ≈ 35 rows.
    ///
    /// WARNING: the caller guarantees the limb bound (e.g. each limb a sum of at most 2^32
    /// canonical limbs); with larger limbs the equations could wrap modulo the field order.
    fn normalize_lazy_u256(&mut self, s: &[Target; U256_LIMBS]) -> (U256Target, BoolTarget);
}

impl<F: RichField + Extendable<D>, const D: usize> CircuitBuilderU256Arith<F, D>
    for CircuitBuilder<F, D>
{
    fn normalize_lazy_u256(&mut self, s: &[Target; U256_LIMBS]) -> (U256Target, BoolTarget) {
        let p = self.add_virtual_u256();
        let carries = self.add_virtual_target_arr::<U256_LIMBS>();
        let mut outputs = p.limbs.to_vec();
        outputs.extend_from_slice(&carries);
        self.add_simple_generator(U256Generator {
            kind: GenKind::NormalizeLazy,
            inputs: s.to_vec(),
            outputs,
        });
        let base = F::from_canonical_u64(1 << LIMB_BITS);
        let mut carry_in = self.zero();
        for i in 0..U256_LIMBS {
            // s_i + c_(i-1) - p_i - 2^16 c_i == 0.
            let t = self.add(s[i], carry_in);
            let t = self.sub(t, p.limbs[i]);
            let out = self.mul_const(base, carries[i]);
            self.connect(t, out);
            self.range_check(carries[i], LAZY_CARRY_BITS);
            carry_in = carries[i];
        }
        let fits = self.is_zero_target(carry_in);
        (p, self.not(fits))
    }

    fn add_u256(&mut self, a: &U256Target, b: &U256Target) -> (U256Target, BoolTarget) {
        let one = self.constant_u256(U256::from(1u64));
        let (sum, high) = mul_add_witnessed(self, a, &one, b);
        // y = 1: H is the last carry, a boolean (see `mul_add_u256_into`).
        (sum, BoolTarget::new_unsafe(high))
    }

    fn sub_u256(&mut self, a: &U256Target, b: &U256Target) -> (U256Target, BoolTarget) {
        let d = self.add_virtual_u256();
        // sel_sub = 1: the generator writes d = a - b mod 2^256.
        let mut inputs = vec![self.one(), self.zero()];
        inputs.extend_from_slice(&a.limbs);
        inputs.extend_from_slice(&b.limbs);
        self.add_simple_generator(U256Generator {
            kind: GenKind::SubDivRem,
            inputs,
            outputs: d.limbs.to_vec(),
        });
        // d + b = a + 2^256 · borrow; with y = 1, H is the last carry, a boolean.
        let one = self.constant_u256(U256::from(1u64));
        let high = self.mul_add_u256_into(&d, &one, b, a);
        (d, BoolTarget::new_unsafe(high))
    }

    fn mul_u256(&mut self, a: &U256Target, b: &U256Target) -> (U256Target, BoolTarget) {
        let zero = self.constant_u256(U256::ZERO);
        self.mul_add_u256(a, b, &zero)
    }

    fn mul_add_u256(
        &mut self,
        x: &U256Target,
        y: &U256Target,
        z: &U256Target,
    ) -> (U256Target, BoolTarget) {
        let (p, high) = mul_add_witnessed(self, x, y, z);
        let fits = self.is_zero_target(high);
        (p, self.not(fits))
    }

    fn div_rem_u256(
        &mut self,
        a: &U256Target,
        b: &U256Target,
        cond: BoolTarget,
    ) -> (U256Target, U256Target) {
        let q = self.add_virtual_u256();
        let r = self.add_virtual_u256();
        let mut inputs = vec![self.zero(), cond.target];
        inputs.extend_from_slice(&a.limbs);
        inputs.extend_from_slice(&b.limbs);
        let mut outputs = q.limbs.to_vec();
        outputs.extend_from_slice(&r.limbs);
        self.add_simple_generator(U256Generator { kind: GenKind::SubDivRem, inputs, outputs });
        // q · b + r = cond · a, with no overflow; r < b when cond.
        let p = U256Target { limbs: core::array::from_fn(|i| self.mul(cond.target, a.limbs[i])) };
        let high = self.mul_add_u256_into(&q, b, &r, &p);
        self.assert_zero(high);
        let lt = self.lt_u256(&r, b);
        let violated = self.arithmetic(-F::ONE, F::ONE, cond.target, lt.target, cond.target);
        self.assert_zero(violated);
        (q, r)
    }

    fn lt_u256(&mut self, a: &U256Target, b: &U256Target) -> BoolTarget {
        let u = self.pack_u256_chunks(a);
        let v = self.pack_u256_chunks(b);
        self.lt_u256_chunks(&u, &v)
    }

    fn le_u256(&mut self, a: &U256Target, b: &U256Target) -> BoolTarget {
        let gt = self.lt_u256(b, a);
        self.not(gt)
    }

    fn is_equal_u256(&mut self, a: &U256Target, b: &U256Target) -> BoolTarget {
        let mut acc = self.zero();
        for i in 0..U256_LIMBS {
            let d = self.sub(a.limbs[i], b.limbs[i]);
            acc = self.mul_add(d, d, acc);
        }
        self.is_zero_target(acc)
    }

    fn is_zero_u256(&mut self, a: &U256Target) -> BoolTarget {
        let sum = self.add_many(a.limbs);
        self.is_zero_target(sum)
    }

    fn is_zero_target(&mut self, x: Target) -> BoolTarget {
        let zero = self.zero();
        self.is_equal(x, zero)
    }

    fn pack_u256_chunks(&mut self, a: &U256Target) -> U256Chunks {
        core::array::from_fn(|k| {
            let limbs = &a.limbs[CHUNK_LIMBS * k..(CHUNK_LIMBS * (k + 1)).min(U256_LIMBS)];
            let mut acc = limbs[0];
            for (j, &l) in limbs.iter().enumerate().skip(1) {
                acc = self.mul_const_add(F::from_canonical_u64(1 << (LIMB_BITS * j)), l, acc);
            }
            acc
        })
    }

    fn lt_u256_chunks(&mut self, u: &U256Chunks, v: &U256Chunks) -> BoolTarget {
        let d = self.add_virtual_target_arr::<NUM_CHUNKS>();
        let borrows: [BoolTarget; NUM_CHUNKS] =
            core::array::from_fn(|_| self.add_virtual_bool_target_safe());
        let mut inputs = u.to_vec();
        inputs.extend_from_slice(v);
        let mut outputs = d.to_vec();
        outputs.extend(borrows.iter().map(|b| b.target));
        self.add_simple_generator(U256Generator { kind: GenKind::LtChunks, inputs, outputs });
        let base = F::from_canonical_u64(1 << CHUNK_BITS);
        let mut borrow_in = self.zero();
        for k in 0..NUM_CHUNKS {
            // u_k - v_k - b_k + 2^48 b_{k+1} - d_k == 0, d_k < 2^48.
            let t = self.sub(u[k], v[k]);
            let t = self.sub(t, borrow_in);
            let t = self.mul_const_add(base, borrows[k].target, t);
            self.connect(t, d[k]);
            self.range_check(d[k], CHUNK_BITS);
            borrow_in = borrows[k].target;
        }
        borrows[NUM_CHUNKS - 1]
    }

    fn mul_add_u256_into(
        &mut self,
        x: &U256Target,
        y: &U256Target,
        z: &U256Target,
        p: &U256Target,
    ) -> Target {
        let y_is_one = (0..U256_LIMBS).all(|j| {
            self.target_as_constant(y.limbs[j]) == Some(if j == 0 { F::ONE } else { F::ZERO })
        });
        let carries = self.add_virtual_target_arr::<NUM_DOUBLE_COLUMNS>();
        let mut inputs = x.limbs.to_vec();
        inputs.extend_from_slice(&y.limbs);
        inputs.extend_from_slice(&z.limbs);
        self.add_simple_generator(U256Generator {
            kind: GenKind::MulAdd,
            inputs,
            outputs: carries.to_vec(),
        });
        for &c in &carries {
            if y_is_one {
                // x + z < 2^257: every carry is a bit.
                self.assert_bool(BoolTarget::new_unsafe(c));
            } else {
                self.range_check(c, MUL_CARRY_BITS);
            }
        }
        let one = self.one();
        let two16 = F::from_canonical_u64(1 << LIMB_BITS);
        let two32 = F::from_canonical_u64(1 << (2 * LIMB_BITS));
        let mut carry_in = self.zero();
        for m in 0..NUM_DOUBLE_COLUMNS {
            let (lo, hi) = (2 * m, 2 * m + 1);
            // acc = z_lo + 2^16 z_hi + c_m + sum of the two columns' products.
            let mut acc = self.add(z.limbs[lo], carry_in);
            acc = self.mul_const_add(two16, z.limbs[hi], acc);
            for i in 0..=lo {
                acc = self.mul_add(x.limbs[i], y.limbs[lo - i], acc);
            }
            for i in 0..=hi {
                acc = self.arithmetic(two16, F::ONE, x.limbs[i], y.limbs[hi - i], acc);
            }
            // acc - p_lo - 2^16 p_hi - 2^32 c_{m+1} == 0.
            acc = self.sub(acc, p.limbs[lo]);
            acc = self.arithmetic(-two16, F::ONE, p.limbs[hi], one, acc);
            acc = self.arithmetic(-two32, F::ONE, carries[m], one, acc);
            self.assert_zero(acc);
            carry_in = carries[m];
        }
        let mut high = carry_in;
        for i in 0..U256_LIMBS {
            for j in (U256_LIMBS - i)..U256_LIMBS {
                high = self.mul_add(x.limbs[i], y.limbs[j], high);
            }
        }
        high
    }

    fn u256_from_u32_target(&mut self, x: Target) -> U256Target {
        let (lo, hi) = self.split_low_high(x, LIMB_BITS, 2 * LIMB_BITS);
        let zero = self.zero();
        let mut limbs = [zero; U256_LIMBS];
        limbs[0] = lo;
        limbs[1] = hi;
        U256Target { limbs }
    }
}

/// `x · y + z` with a witnessed, range-checked low half `p`; returns `(p, H)`.
fn mul_add_witnessed<F: RichField + Extendable<D>, const D: usize>(
    b: &mut CircuitBuilder<F, D>,
    x: &U256Target,
    y: &U256Target,
    z: &U256Target,
) -> (U256Target, Target) {
    let p = b.add_virtual_u256();
    let mut inputs = x.limbs.to_vec();
    inputs.extend_from_slice(&y.limbs);
    inputs.extend_from_slice(&z.limbs);
    b.add_simple_generator(U256Generator {
        kind: GenKind::MulAddLow,
        inputs,
        outputs: p.limbs.to_vec(),
    });
    let high = b.mul_add_u256_into(x, y, z, &p);
    (p, high)
}

/// What a [`U256Generator`] computes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[repr(u8)]
pub enum GenKind {
    /// Inputs `x, y, z` (16 limbs each); outputs the 8 double-column carries of `x · y + z`.
    #[default]
    MulAdd = 0,
    /// Inputs `x, y, z`; outputs the 16 low limbs of `x · y + z`.
    MulAddLow = 1,
    /// Inputs `sel_sub, sel_div, a (16), b (16)`; outputs `w (16)` and optionally `r (16)`:
    /// `w = a - b mod 2^256` if `sel_sub != 0`, else `(w, r) = (a / b, a % b)` if `sel_div != 0`
    /// and `b != 0`, else zeros.
    SubDivRem = 2,
    /// Inputs `u, v` (6 chunks each); outputs the borrow-chain differences `d` (6) and borrows (6).
    LtChunks = 3,
    /// Inputs 16 lazy limbs; outputs the 16 normalized limbs and the 16 carries.
    NormalizeLazy = 4,
}

impl GenKind {
    fn from_u8(b: u8) -> Option<Self> {
        Some(match b {
            0 => Self::MulAdd,
            1 => Self::MulAddLow,
            2 => Self::SubDivRem,
            3 => Self::LtChunks,
            4 => Self::NormalizeLazy,
            _ => return None,
        })
    }
}

/// The witness generator of every gadget in this module (one type, so a circuit serializer
/// registers it once: `SimpleGeneratorAdapter<F, U256Generator, D>`, id `"AnnalsU256Generator"`).
#[derive(Clone, Debug, Default)]
pub struct U256Generator {
    /// What to compute.
    pub kind: GenKind,
    /// Input targets, layout per [`GenKind`].
    pub inputs: Vec<Target>,
    /// Output targets, layout per [`GenKind`].
    pub outputs: Vec<Target>,
}

/// Native computation of a [`U256Generator`]'s outputs from its input values (each `< 2^64`).
pub fn generator_outputs(kind: GenKind, inputs: &[u64]) -> Vec<u64> {
    let limbs = |s: &[u64]| -> U256 {
        let arr: [u64; U256_LIMBS] = s.try_into().expect("16 limbs");
        limbs_to_u256(&arr)
    };
    match kind {
        GenKind::MulAdd | GenKind::MulAddLow => {
            let (x, y, z) = (&inputs[..16], &inputs[16..32], &inputs[32..48]);
            let mut cols = [0u128; 2 * U256_LIMBS];
            for i in 0..U256_LIMBS {
                for j in 0..U256_LIMBS {
                    cols[i + j] += x[i] as u128 * y[j] as u128;
                }
                cols[i] += z[i] as u128;
            }
            let mut carries = Vec::with_capacity(NUM_DOUBLE_COLUMNS);
            let mut low = Vec::with_capacity(U256_LIMBS);
            let mut c = 0u128;
            for m in 0..NUM_DOUBLE_COLUMNS {
                let t = cols[2 * m] + (cols[2 * m + 1] << 16) + c;
                low.push((t & 0xffff) as u64);
                low.push(((t >> 16) & 0xffff) as u64);
                c = t >> 32;
                carries.push(c as u64);
            }
            if kind == GenKind::MulAdd {
                carries
            } else {
                low
            }
        }
        GenKind::SubDivRem => {
            let (sel_sub, sel_div) = (inputs[0] != 0, inputs[1] != 0);
            let (a, b) = (limbs(&inputs[2..18]), limbs(&inputs[18..34]));
            let (w, r) = if sel_sub {
                (a.wrapping_sub(b), U256::ZERO)
            } else if sel_div && !b.is_zero() {
                (a / b, a % b)
            } else {
                (U256::ZERO, U256::ZERO)
            };
            let mut out = u256_to_limbs(w).to_vec();
            out.extend_from_slice(&u256_to_limbs(r));
            out
        }
        GenKind::LtChunks => {
            let (u, v) = inputs.split_at(NUM_CHUNKS);
            let mut d = Vec::with_capacity(NUM_CHUNKS);
            let mut borrows = Vec::with_capacity(NUM_CHUNKS);
            let mut borrow = 0i128;
            for k in 0..NUM_CHUNKS {
                let mut t = u[k] as i128 - v[k] as i128 - borrow;
                borrow = i128::from(t < 0);
                t += borrow << CHUNK_BITS;
                d.push(t as u64);
                borrows.push(borrow as u64);
            }
            d.extend(borrows);
            d
        }
        GenKind::NormalizeLazy => {
            let mut limbs = Vec::with_capacity(2 * U256_LIMBS);
            let mut carries = Vec::with_capacity(U256_LIMBS);
            let mut c = 0u128;
            for &l in &inputs[..U256_LIMBS] {
                let t = u128::from(l) + c;
                limbs.push((t & 0xffff) as u64);
                c = t >> LIMB_BITS;
                carries.push(c as u64);
            }
            limbs.extend(carries);
            limbs
        }
    }
}

#[cfg(test)]
pub(crate) mod tamper {
    //! Test-only hook that rewrites a generator's outputs, so negative tests can check the
    //! *constraints* rather than the honest generator.
    use super::GenKind;
    use std::cell::RefCell;

    /// A rewrite of `(kind, inputs, outputs)`.
    pub(crate) type Hook = Box<dyn Fn(GenKind, &[u64], &mut Vec<u64>)>;

    thread_local! {
        pub(crate) static HOOK: RefCell<Option<Hook>> = const { RefCell::new(None) };
    }

    /// Runs `f` with `hook` installed on this thread (witness generation runs on the caller's
    /// thread).
    pub(crate) fn with_hook<R>(hook: Hook, f: impl FnOnce() -> R) -> R {
        HOOK.with(|h| *h.borrow_mut() = Some(hook));
        let out = f();
        HOOK.with(|h| *h.borrow_mut() = None);
        out
    }

    pub(crate) fn apply(kind: GenKind, inputs: &[u64], outputs: &mut Vec<u64>) {
        HOOK.with(|h| {
            if let Some(hook) = h.borrow().as_ref() {
                hook(kind, inputs, outputs);
            }
        });
    }
}

impl<F: RichField + Extendable<D>, const D: usize> SimpleGenerator<F, D> for U256Generator {
    fn id(&self) -> String {
        "AnnalsU256Generator".to_string()
    }

    fn dependencies(&self) -> Vec<Target> {
        self.inputs.clone()
    }

    fn run_once(
        &self,
        witness: &PartitionWitness<F>,
        out_buffer: &mut GeneratedValues<F>,
    ) -> Result<()> {
        let inputs: Vec<u64> =
            self.inputs.iter().map(|&t| witness.get_target(t).to_canonical_u64()).collect();
        #[allow(unused_mut)]
        let mut outputs = generator_outputs(self.kind, &inputs);
        #[cfg(test)]
        tamper::apply(self.kind, &inputs, &mut outputs);
        // `SubDivRem` may be asked for `w` only.
        anyhow::ensure!(outputs.len() >= self.outputs.len(), "U256Generator output length");
        for (&t, &v) in self.outputs.iter().zip(&outputs) {
            out_buffer.set_target(t, F::from_noncanonical_u64(v))?;
        }
        Ok(())
    }

    fn serialize(&self, dst: &mut Vec<u8>, _common_data: &CommonCircuitData<F, D>) -> IoResult<()> {
        dst.write_u8(self.kind as u8)?;
        dst.write_target_vec(&self.inputs)?;
        dst.write_target_vec(&self.outputs)
    }

    fn deserialize(src: &mut Buffer, _common_data: &CommonCircuitData<F, D>) -> IoResult<Self> {
        let kind = GenKind::from_u8(src.read_u8()?).ok_or(IoError)?;
        let inputs = src.read_target_vec()?;
        let outputs = src.read_target_vec()?;
        Ok(Self { kind, inputs, outputs })
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::uint256::set_u256;
    use plonky2::field::types::{Field, PrimeField64};
    use plonky2::iop::generator::generate_partial_witness;
    use plonky2::iop::witness::PartialWitness;
    use plonky2::plonk::circuit_data::{CircuitConfig, CircuitData};
    use plonky2::plonk::config::{GenericConfig, PoseidonGoldilocksConfig};
    use rand::{Rng, SeedableRng};

    pub(crate) const D: usize = 2;
    pub(crate) type C = PoseidonGoldilocksConfig;
    pub(crate) type F = <C as GenericConfig<D>>::F;

    /// Proves and verifies; `false` if either fails. Panics propagate (a panicking tamper hook
    /// must not pass for a rejected witness).
    pub(crate) fn prove_and_verify(data: &CircuitData<F, C, D>, pw: PartialWitness<F>) -> bool {
        match data.prove(pw).and_then(|proof| data.verify(proof)) {
            Ok(()) => true,
            Err(e) => {
                println!("rejected: {e}");
                false
            }
        }
    }

    /// Runs witness generation and reads back target values.
    pub(crate) struct Values<'a>(pub plonky2::iop::witness::PartitionWitness<'a, F>);

    impl Values<'_> {
        pub(crate) fn get(&self, t: Target) -> u64 {
            self.0.get_target(t).to_canonical_u64()
        }
        pub(crate) fn u256(&self, t: &U256Target) -> U256 {
            limbs_to_u256(&core::array::from_fn(|i| self.get(t.limbs[i])))
        }
    }

    pub(crate) fn values<'a>(data: &'a CircuitData<F, C, D>, pw: PartialWitness<F>) -> Values<'a> {
        Values(generate_partial_witness(pw, &data.prover_only, &data.common).expect("witness"))
    }

    pub(crate) fn edge_values() -> Vec<U256> {
        let one = U256::from(1u64);
        let mut v = vec![
            U256::ZERO,
            one,
            U256::from(2u64),
            U256::from(0xffffu64),
            U256::from(0x10000u64),
            U256::from(0xffff_ffffu64),
            one << 48,
            (one << 48) - one,
            one << 128,
            (one << 128) - one,
            one << 255,
            U256::MAX,
            U256::MAX - one,
        ];
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        for bits in [8usize, 64, 100, 128, 200, 256, 256] {
            let mut bytes = [0u8; 32];
            rng.fill(&mut bytes);
            v.push(U256::from_be_bytes(bytes) >> (256 - bits));
        }
        v
    }

    struct Case {
        a: U256Target,
        b: U256Target,
        add: (U256Target, BoolTarget),
        sub: (U256Target, BoolTarget),
        mul: (U256Target, BoolTarget),
        div: (U256Target, U256Target),
        lt: BoolTarget,
        le: BoolTarget,
        eq: BoolTarget,
        zero: BoolTarget,
    }

    fn add_case(builder: &mut CircuitBuilder<F, D>) -> Case {
        let a = builder.add_virtual_u256();
        let b = builder.add_virtual_u256();
        let b_zero = builder.is_zero_u256(&b);
        let cond = builder.not(b_zero);
        Case {
            add: builder.add_u256(&a, &b),
            sub: builder.sub_u256(&a, &b),
            mul: builder.mul_u256(&a, &b),
            div: builder.div_rem_u256(&a, &b, cond),
            lt: builder.lt_u256(&a, &b),
            le: builder.le_u256(&a, &b),
            eq: builder.is_equal_u256(&a, &b),
            zero: builder.is_zero_u256(&a),
            a,
            b,
        }
    }

    /// Every gadget against alloy on pairs of edge and random values, then a real proof.
    #[test]
    fn gadgets_match_native() {
        let xs = edge_values();
        // Every pair of the sharpest edges, and a fifth of all the other pairs.
        let sharp = [0usize, 1, 3, 4, 11, 12];
        let pairs: Vec<(U256, U256)> = (0..xs.len())
            .flat_map(|i| (0..xs.len()).map(move |j| (i, j)))
            .filter(|&(i, j)| (sharp.contains(&i) && sharp.contains(&j)) || (7 * i + j) % 5 == 0)
            .map(|(i, j)| (xs[i], xs[j]))
            .collect();
        let mut builder = CircuitBuilder::<F, D>::new(CircuitConfig::standard_recursion_config());
        let before = builder.num_gates();
        let first = add_case(&mut builder);
        println!("rows per case (all 8 gadgets): {}", builder.num_gates() - before);
        let mut cases = vec![first];
        for _ in 1..pairs.len() {
            cases.push(add_case(&mut builder));
        }
        let data = builder.build::<C>();
        let mut pw = PartialWitness::new();
        for (c, &(a, b)) in cases.iter().zip(&pairs) {
            set_u256(&mut pw, &c.a, a);
            set_u256(&mut pw, &c.b, b);
        }
        let vals = values(&data, pw.clone());
        for (c, &(a, b)) in cases.iter().zip(&pairs) {
            let ctx = format!("a = {a:#x}, b = {b:#x}");
            let (s, carry) = a.overflowing_add(b);
            assert_eq!((vals.u256(&c.add.0), vals.get(c.add.1.target)), (s, carry as u64), "{ctx}");
            let (d, borrow) = a.overflowing_sub(b);
            assert_eq!(
                (vals.u256(&c.sub.0), vals.get(c.sub.1.target)),
                (d, borrow as u64),
                "{ctx}"
            );
            let (m, ovf) = a.overflowing_mul(b);
            assert_eq!((vals.u256(&c.mul.0), vals.get(c.mul.1.target)), (m, ovf as u64), "{ctx}");
            let (q, r) = if b.is_zero() { (U256::ZERO, U256::ZERO) } else { (a / b, a % b) };
            assert_eq!((vals.u256(&c.div.0), vals.u256(&c.div.1)), (q, r), "{ctx}");
            assert_eq!(vals.get(c.lt.target), (a < b) as u64, "{ctx}");
            assert_eq!(vals.get(c.le.target), (a <= b) as u64, "{ctx}");
            assert_eq!(vals.get(c.eq.target), (a == b) as u64, "{ctx}");
            assert_eq!(vals.get(c.zero.target), a.is_zero() as u64, "{ctx}");
        }
        drop(vals);
        let t = std::time::Instant::now();
        assert!(prove_and_verify(&data, pw));
        println!(
            "{} cases, {} rows: proved+verified in {:?}",
            pairs.len(),
            data.common.degree(),
            t.elapsed()
        );
    }

    #[test]
    fn gadget_row_counts() {
        let mut b = CircuitBuilder::<F, D>::new(CircuitConfig::standard_recursion_config());
        let x = b.add_virtual_u256();
        let y = b.add_virtual_u256();
        let cond = b.add_virtual_bool_target_safe();
        let mut report = Vec::new();
        let mut measure =
            |name: &str, b: &mut CircuitBuilder<F, D>, f: &dyn Fn(&mut CircuitBuilder<F, D>)| {
                let before = b.num_gates();
                f(b);
                report.push(format!("{name} {}", b.num_gates() - before));
            };
        measure("add_u256", &mut b, &|b| {
            let _ = b.add_u256(&x, &y);
        });
        measure("sub_u256", &mut b, &|b| {
            let _ = b.sub_u256(&x, &y);
        });
        measure("mul_u256", &mut b, &|b| {
            let _ = b.mul_u256(&x, &y);
        });
        measure("div_rem_u256", &mut b, &|b| {
            let _ = b.div_rem_u256(&x, &y, cond);
        });
        measure("lt_u256", &mut b, &|b| {
            let _ = b.lt_u256(&x, &y);
        });
        measure("is_equal_u256", &mut b, &|b| {
            let _ = b.is_equal_u256(&x, &y);
        });
        measure("is_zero_u256", &mut b, &|b| {
            let _ = b.is_zero_u256(&x);
        });
        println!("rows: {}", report.join(", "));
    }

    /// One case with honest inputs and a tampered generator output must not prove.
    fn tampered_fails(a: U256, b: U256, hook: tamper::Hook) -> bool {
        let mut builder = CircuitBuilder::<F, D>::new(CircuitConfig::standard_recursion_config());
        let c = add_case(&mut builder);
        let data = builder.build::<C>();
        let mut pw = PartialWitness::new();
        set_u256(&mut pw, &c.a, a);
        set_u256(&mut pw, &c.b, b);
        assert!(prove_and_verify(&data, pw.clone()), "honest witness must prove");
        !tamper::with_hook(hook, || prove_and_verify(&data, pw))
    }

    #[test]
    fn wrong_product_limb_fails() {
        let (a, b) = (U256::from(0x1234_5678u64), U256::from(0x9abc_def0u64));
        assert!(tampered_fails(
            a,
            b,
            Box::new(|k, _, out| if k == GenKind::MulAddLow {
                out[1] ^= 1
            })
        ));
    }

    #[test]
    fn wrong_carry_fails() {
        let (a, b) = (U256::MAX, U256::MAX);
        assert!(tampered_fails(
            a,
            b,
            Box::new(|k, _, out| if k == GenKind::MulAdd {
                out[3] += 1
            })
        ));
    }

    #[test]
    fn wrong_comparison_fails() {
        let (a, b) = (U256::from(5u64), U256::from(7u64));
        // Claim "no borrow" with a wrapped difference.
        assert!(tampered_fails(
            a,
            b,
            Box::new(|k, _, out| if k == GenKind::LtChunks {
                let last = out.len() - 1;
                out[last] = 0;
                out[NUM_CHUNKS - 1] = 0;
            })
        ));
    }

    #[test]
    fn wrong_quotient_fails() {
        let (a, b) = (U256::from(100u64), U256::from(7u64));
        // q - 1 with r + b keeps a = q·b + r but breaks r < b.
        assert!(tampered_fails(
            a,
            b,
            Box::new(|k, inp, out| if k == GenKind::SubDivRem && inp[1] == 1 {
                out[0] -= 1;
                out[16] += 7;
            })
        ));
        // q + 1 alone breaks a = q·b + r.
        assert!(tampered_fails(
            a,
            b,
            Box::new(|k, inp, out| if k == GenKind::SubDivRem && inp[1] == 1 {
                out[0] += 1;
            })
        ));
    }

    #[test]
    fn wrong_difference_fails() {
        let (a, b) = (U256::from(3u64) << 200, U256::from(1u64) << 100);
        assert!(tampered_fails(
            a,
            b,
            Box::new(|k, inp, out| if k == GenKind::SubDivRem && inp[0] == 1 {
                out[7] ^= 1;
            })
        ));
    }

    /// Lazy-limb circuit: 16 unchecked input limbs → `(value mod 2^256, overflow)`.
    struct LazyCase {
        limbs: [Target; U256_LIMBS],
        out: (U256Target, BoolTarget),
    }

    fn lazy_case(builder: &mut CircuitBuilder<F, D>) -> LazyCase {
        let limbs = builder.add_virtual_target_arr::<U256_LIMBS>();
        LazyCase { out: builder.normalize_lazy_u256(&limbs), limbs }
    }

    /// Lazy limbs at the edges of their bound (`< 2^48`), and random ones.
    fn lazy_inputs() -> Vec<[u64; U256_LIMBS]> {
        let max = (1u64 << LAZY_LIMB_BITS) - 1;
        let mut v = vec![
            [0; U256_LIMBS],
            [0xffff; U256_LIMBS],
            // 2^256 exactly: one carry out of limb 0 ripples through 15 full limbs.
            core::array::from_fn(|i| if i == 0 { 0x10000 } else { 0xffff }),
            [max; U256_LIMBS],
            // The sum of 2^32 copies of U256::MAX, the largest a range can produce.
            [0xffff << 32; U256_LIMBS],
            core::array::from_fn(|i| if i == 15 { max } else { 0 }),
        ];
        let mut rng = rand::rngs::StdRng::seed_from_u64(11);
        for _ in 0..6 {
            v.push(core::array::from_fn(|_| rng.gen_range(0..=max)));
        }
        v
    }

    /// The value of lazy limbs computed independently of the gadget's twin, in 512 bits.
    fn lazy_value_u512(limbs: &[u64; U256_LIMBS]) -> (U256, bool) {
        use alloy_primitives::U512;
        let v = limbs
            .iter()
            .enumerate()
            .fold(U512::ZERO, |acc, (i, &l)| acc + (U512::from(l) << (LIMB_BITS * i)));
        let low = U256::from_limbs(core::array::from_fn(|k| v.as_limbs()[k]));
        (low, v >> 256 != U512::ZERO)
    }

    #[test]
    fn normalize_lazy_matches_native() {
        let inputs = lazy_inputs();
        let mut builder = CircuitBuilder::<F, D>::new(CircuitConfig::standard_recursion_config());
        let cases: Vec<_> = inputs.iter().map(|_| lazy_case(&mut builder)).collect();
        let data = builder.build::<C>();
        let mut pw = PartialWitness::new();
        for (c, limbs) in cases.iter().zip(&inputs) {
            for (&t, &l) in c.limbs.iter().zip(limbs) {
                pw.set_target(t, F::from_canonical_u64(l)).unwrap();
            }
        }
        let vals = values(&data, pw.clone());
        let mut overflows = 0;
        for (c, limbs) in cases.iter().zip(&inputs) {
            let expect = lazy_value_u512(limbs);
            assert_eq!(crate::uint256::lazy_limbs_to_u256(limbs), expect, "{limbs:x?}");
            let got = (vals.u256(&c.out.0), vals.get(c.out.1.target) == 1);
            assert_eq!(got, expect, "{limbs:x?}");
            overflows += usize::from(expect.1);
        }
        assert!(overflows > 0 && overflows < inputs.len());
        drop(vals);
        assert!(prove_and_verify(&data, pw));
    }

    /// A normalization with the given limbs and a tampered generator output must not prove.
    fn lazy_tampered_fails(limbs: [u64; U256_LIMBS], hook: tamper::Hook) -> bool {
        let mut builder = CircuitBuilder::<F, D>::new(CircuitConfig::standard_recursion_config());
        let c = lazy_case(&mut builder);
        let data = builder.build::<C>();
        let mut pw = PartialWitness::new();
        for (&t, &l) in c.limbs.iter().zip(&limbs) {
            pw.set_target(t, F::from_canonical_u64(l)).unwrap();
        }
        assert!(prove_and_verify(&data, pw.clone()), "honest witness must prove");
        !tamper::with_hook(hook, || prove_and_verify(&data, pw))
    }

    #[test]
    fn wrong_normalization_fails() {
        let limbs: [u64; U256_LIMBS] = core::array::from_fn(|i| 0x3_0001 + i as u64);
        let normalize = |k| k == GenKind::NormalizeLazy;
        // A limb off by one breaks its equation.
        assert!(lazy_tampered_fails(
            limbs,
            Box::new(move |k, _, out| if normalize(k) {
                out[4] += 1;
            })
        ));
        // One carry unit moved into the limb keeps the equation but breaks the limb's range.
        assert!(lazy_tampered_fails(
            limbs,
            Box::new(move |k, _, out| if normalize(k) {
                out[0] += 1 << 16;
                out[U256_LIMBS] -= 1;
            })
        ));
        // Hiding an overflow: the top carry moved into the top limb.
        let over = [0xffff << 32; U256_LIMBS];
        assert!(lazy_value_u512(&over).1);
        assert!(lazy_tampered_fails(
            over,
            Box::new(move |k, _, out| if normalize(k) {
                let top = out[2 * U256_LIMBS - 1];
                out[U256_LIMBS - 1] += top << 16;
                out[2 * U256_LIMBS - 1] = 0;
            })
        ));
    }
}
