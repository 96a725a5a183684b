//! The statement every map and reduce proof makes about a contiguous block range, and its
//! public-input layout.
//!
//! Layout of the statement public inputs (field elements, in order):
//!
//! | offset | len | field |
//! |---|---|---|
//! | 0 | 4 | `program_hash`: Poseidon hash of the 319-byte plan encoding (one element per byte) |
//! | 4 | 1 | `from_block` (< 2^32) |
//! | 5 | 1 | `to_block` (< 2^32) |
//! | 6 | 8 | `first_parent_hash`: parent hash of `from_block`, 8 big-endian u32 words |
//! | 14 | 8 | `last_hash`: hash of `to_block`, 8 big-endian u32 words |
//! | 22 | 49 × [`MAX_OUTPUTS`] | partial aggregates, per output slot: `count`, `sum` (16 lazy limbs, see [`LazySumTarget`]), `min` (16), `max` (16) |
//!
//! The shape circuits (wrap and reduce) append the cyclic verifier data (68 elements) after the
//! statement; see [`super::recursion`].

use alloy_primitives::{B256, U256};
use annals_query_lang::plan::MAX_OUTPUTS;
use plonky2::field::types::{Field, PrimeField64};
use plonky2::hash::hash_types::HashOutTarget;
use plonky2::iop::target::Target;
use plonky2::plonk::circuit_builder::CircuitBuilder;

use super::{D, F};
use crate::uint256::{lazy_limbs_to_u256, limbs_to_u256, U256Target, U256_LIMBS};
use crate::vm::AggregateTargets;

/// Field elements per aggregate slot.
pub const AGG_SLOT_LEN: usize = 1 + 3 * U256_LIMBS;
/// Field elements of the statement.
pub const STATEMENT_LEN: usize = 22 + AGG_SLOT_LEN * MAX_OUTPUTS;

/// A sum over a block range with its carries deferred: limb `i` (weighted `2^(16 i)`) is the
/// field sum of limb `i` of every block's canonical sum, so with at most 2^32 blocks in a range
/// (block numbers are `< 2^32` and ranges are contiguous) each limb is `< 2^48` and no field
/// addition wraps. Reduce nodes add limb-wise (16 additions instead of a range-checked
/// 256-bit addition); the root normalizes once with
/// [`crate::uint256::CircuitBuilderU256Arith::normalize_lazy_u256`], which also tells whether the true sum
/// reached 2^256.
#[derive(Clone, Copy, Debug)]
pub struct LazySumTarget {
    /// The 16 lazy limbs, least significant first; each `< 2^`[`crate::uint256::LAZY_LIMB_BITS`].
    pub limbs: [Target; U256_LIMBS],
}

impl LazySumTarget {
    /// A canonical uint256 as a lazy sum (its limbs are already `< 2^16`).
    pub fn from_u256(v: &U256Target) -> Self {
        Self { limbs: v.limbs }
    }
}

/// Partial aggregate of one output slot over a block range.
#[derive(Clone, Copy, Debug)]
pub struct PartialAggregateTargets {
    /// Rows counted (selected rows, with a non-NULL input unless `COUNT(*)`); < 2^32.
    pub count: Target,
    /// Sum of counted values, carries deferred (the true sum, not reduced modulo 2^256).
    pub sum: LazySumTarget,
    /// Minimum of counted values (2^256 − 1 when none).
    pub min: U256Target,
    /// Maximum of counted values (0 when none).
    pub max: U256Target,
}

impl PartialAggregateTargets {
    /// A one-block partial aggregate.
    pub fn from_row(a: &AggregateTargets) -> Self {
        Self { count: a.count, sum: LazySumTarget::from_u256(&a.sum), min: a.min, max: a.max }
    }
}

/// The statement targets of a map/reduce proof.
#[derive(Clone, Debug)]
pub struct StatementTargets {
    /// Poseidon hash of the plan encoding bytes.
    pub program_hash: HashOutTarget,
    /// First block of the range.
    pub from_block: Target,
    /// Last block of the range (inclusive).
    pub to_block: Target,
    /// Parent hash of `from_block`, 8 big-endian u32 words.
    pub first_parent_hash: [Target; 8],
    /// Hash of `to_block`, 8 big-endian u32 words.
    pub last_hash: [Target; 8],
    /// Partial aggregates per output slot.
    pub aggregates: [PartialAggregateTargets; MAX_OUTPUTS],
}

fn u256_from(slice: &[Target]) -> U256Target {
    U256Target { limbs: core::array::from_fn(|i| slice[i]) }
}

impl StatementTargets {
    /// The statement as a flat vector in the layout of the module doc.
    pub fn to_vec(&self) -> Vec<Target> {
        let mut v = Vec::with_capacity(STATEMENT_LEN);
        v.extend_from_slice(&self.program_hash.elements);
        v.push(self.from_block);
        v.push(self.to_block);
        v.extend_from_slice(&self.first_parent_hash);
        v.extend_from_slice(&self.last_hash);
        for a in &self.aggregates {
            v.push(a.count);
            v.extend_from_slice(&a.sum.limbs);
            v.extend_from_slice(&a.min.limbs);
            v.extend_from_slice(&a.max.limbs);
        }
        debug_assert_eq!(v.len(), STATEMENT_LEN);
        v
    }

    /// Reads a statement from the first [`STATEMENT_LEN`] public inputs of a proof target.
    ///
    /// WARNING: the values are taken as they are (no range checks). That is sound only for
    /// proofs of the allowed circuits: a leaf constrains its limbs to 16 bits and its block
    /// number to 32 bits; a reduce node does not range-check its lazy sum limbs, whose `< 2^48`
    /// bound holds by induction over the tree (at most 2^32 consecutive blocks, see
    /// [`LazySumTarget`]) once the children's verifier data is pinned (`vd_self`, checked by
    /// the root).
    pub fn from_slice(pis: &[Target]) -> Self {
        assert!(pis.len() >= STATEMENT_LEN, "statement needs {STATEMENT_LEN} public inputs");
        let aggregates = core::array::from_fn(|j| {
            let s = &pis[22 + j * AGG_SLOT_LEN..22 + (j + 1) * AGG_SLOT_LEN];
            PartialAggregateTargets {
                count: s[0],
                sum: LazySumTarget { limbs: core::array::from_fn(|i| s[1 + i]) },
                min: u256_from(&s[17..33]),
                max: u256_from(&s[33..49]),
            }
        });
        Self {
            program_hash: HashOutTarget { elements: core::array::from_fn(|i| pis[i]) },
            from_block: pis[4],
            to_block: pis[5],
            first_parent_hash: core::array::from_fn(|i| pis[6 + i]),
            last_hash: core::array::from_fn(|i| pis[14 + i]),
            aggregates,
        }
    }

    /// Registers the statement as public inputs, in layout order.
    pub fn register(&self, builder: &mut CircuitBuilder<F, D>) {
        builder.register_public_inputs(&self.to_vec());
    }
}

/// Native partial aggregate read from a proof's public inputs.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PartialAggregate {
    /// Rows counted.
    pub count: u64,
    /// Sum modulo 2^256 (normalized from the statement's lazy limbs).
    pub sum: U256,
    /// Whether the true sum reached 2^256 (an error only for `SUM`/`AVG`).
    pub sum_overflow: bool,
    /// Minimum (2^256 − 1 when none).
    pub min: U256,
    /// Maximum (0 when none).
    pub max: U256,
}

/// Native statement read from public inputs.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Statement {
    /// Poseidon hash of the plan encoding.
    pub program_hash: [u64; 4],
    /// First block.
    pub from_block: u64,
    /// Last block.
    pub to_block: u64,
    /// Parent hash of the first block.
    pub first_parent_hash: B256,
    /// Hash of the last block.
    pub last_hash: B256,
    /// Partial aggregates per slot.
    pub aggregates: Vec<PartialAggregate>,
}

/// 8 big-endian u32 words → 32 bytes.
pub fn words_to_b256(words: &[F]) -> B256 {
    let mut out = [0u8; 32];
    for (i, w) in words.iter().enumerate().take(8) {
        out[4 * i..4 * i + 4].copy_from_slice(&(w.to_canonical_u64() as u32).to_be_bytes());
    }
    B256::from(out)
}

/// 32 bytes → 8 big-endian u32 words.
pub fn b256_to_words(h: &B256) -> [F; 8] {
    core::array::from_fn(|i| {
        F::from_canonical_u32(u32::from_be_bytes(h.0[4 * i..4 * i + 4].try_into().unwrap()))
    })
}

fn native_u256(s: &[F]) -> U256 {
    let limbs: [u64; U256_LIMBS] = core::array::from_fn(|i| s[i].to_canonical_u64());
    limbs_to_u256(&limbs)
}

impl Statement {
    /// Parses the first [`STATEMENT_LEN`] public inputs.
    pub fn from_public_inputs(pis: &[F]) -> Self {
        let aggregates = (0..MAX_OUTPUTS)
            .map(|j| {
                let s = &pis[22 + j * AGG_SLOT_LEN..22 + (j + 1) * AGG_SLOT_LEN];
                let lazy = core::array::from_fn(|i| s[1 + i].to_canonical_u64());
                let (sum, sum_overflow) = lazy_limbs_to_u256(&lazy);
                PartialAggregate {
                    count: s[0].to_canonical_u64(),
                    sum,
                    sum_overflow,
                    min: native_u256(&s[17..33]),
                    max: native_u256(&s[33..49]),
                }
            })
            .collect();
        Self {
            program_hash: core::array::from_fn(|i| pis[i].to_canonical_u64()),
            from_block: pis[4].to_canonical_u64(),
            to_block: pis[5].to_canonical_u64(),
            first_parent_hash: words_to_b256(&pis[6..14]),
            last_hash: words_to_b256(&pis[14..22]),
            aggregates,
        }
    }
}
