//! One receipt proven in `receipts_root`: the receipts-trie proof of key `rlp(index)` (the
//! [`crate::mpt`] gadget) and the decoding of its value ([`decode_receipt`]), or the proof
//! that no receipt `index` exists (the end of a block's receipts, DESIGN.md §4).
//!
//! The key is computed in circuit from `index` ([`rlp_index_key`]), so a proof of one
//! receipt cannot be presented as another's. On an exclusion the decoder reads
//! [`placeholder_receipt`] (no logs, cumulative gas 0), whose fields mean nothing: users gate
//! by `exists`.
//!
//! Each proof also carries its gas link ([`add_gas_link`]): the previous receipt's cumulative
//! gas (a witness), this receipt's `gas_used` and the cumulative gas after it. Chaining the
//! proofs of receipts `0..n` and the exclusion at `n`, each proof's previous value equal to
//! the one before's `cumulative_gas_after`, proves the block's receipts complete and their
//! `gas_used` exact; that chaining (by recursion) is the block map's, not built yet.

use plonky2::field::types::Field;
use plonky2::iop::target::{BoolTarget, Target};
use plonky2::iop::witness::PartialWitness;
use plonky2::plonk::circuit_builder::CircuitBuilder;

use super::{decode_receipt, set_receipt_witness, ReceiptShape, ReceiptTargets};
use crate::mapreduce::{D, F};
use crate::mpt::{
    nibbles, set_mpt_proof, CircuitBuilderMpt, MptConfig, MptProofTargets, MAX_BRANCH_NODE_BYTES,
};
use crate::rlp::assert_zero_if;
use crate::uint256::{U256Target, LIMB_BITS};

/// Most nibbles of a receipts-trie key: `rlp(i)` for `i < 2^16` is at most 3 bytes.
pub const RECEIPT_KEY_NIBBLES: usize = 6;
/// Bits of a receipt index: [`rlp_index_key`] takes indices below `2^16`.
pub const MAX_RECEIPT_INDEX_BITS: usize = 16;
/// Bits of a cumulative gas value [`add_gas_link`] accepts (gas, below `2^62`, so that it is
/// one exact field element; mainnet blocks use below `2^26`).
pub const GAS_BITS: usize = 62;

/// How a receipt's gas links to the previous receipt's (Yellow Paper §4.3.1: `gas_used` of
/// transaction `i` is the difference of the cumulative gas of receipts `i` and `i − 1`).
#[derive(Clone, Copy, Debug)]
pub struct GasLinkTargets {
    /// Cumulative gas of receipt `index − 1`, gas: a witness, range-checked to [`GAS_BITS`],
    /// 0 when `index = 0`. A chain of receipt proofs must equal it to the previous proof's
    /// `cumulative_gas_after`.
    pub prev_cumulative_gas: Target,
    /// Gas used by this receipt's transaction, gas: cumulative − previous (never negative);
    /// 0 on an exclusion.
    pub gas_used: Target,
    /// The cumulative gas after `index`, gas: the receipt's, or the previous on an exclusion.
    pub cumulative_gas_after: Target,
}

/// Adds the gas link of receipt `index` (`exists`, its decoded `cumulative` gas): constrains
/// `cumulative < 2^62`, `prev_cumulative_gas < 2^62`, `prev_cumulative_gas = 0` when `index =
/// 0`, and, when `exists`, `cumulative ≥ prev_cumulative_gas`. See [`GasLinkTargets`].
///
/// WARNING: `cumulative`'s limbs must be canonical (16-bit), as the decoder's are.
pub fn add_gas_link(
    b: &mut CircuitBuilder<F, D>,
    index: Target,
    exists: BoolTarget,
    cumulative: &U256Target,
) -> GasLinkTargets {
    let zero = b.zero();
    // Limbs 4.. are zero and limb 3 below 2^14: cumulative < 2^62, one exact element.
    for &l in &cumulative.limbs[4..] {
        b.connect(l, zero);
    }
    b.range_check(cumulative.limbs[3], GAS_BITS - 3 * LIMB_BITS);
    let cum = cumulative.limbs[..4]
        .iter()
        .rev()
        .fold(zero, |acc, &l| b.mul_const_add(F::from_canonical_u64(1 << LIMB_BITS), acc, l));
    let prev = b.add_virtual_target();
    b.range_check(prev, GAS_BITS);
    let first = b.is_equal(index, zero);
    assert_zero_if(b, first.target, prev);
    let diff = b.sub(cum, prev);
    let gas_used = b.mul(exists.target, diff);
    // cum − prev ∈ [0, 2^62) when the receipt exists: a wrapped negative difference is ≥ p − 2^62.
    b.range_check(gas_used, GAS_BITS);
    let cumulative_gas_after = b.select(exists, cum, prev);
    GasLinkTargets { prev_cumulative_gas: prev, gas_used, cumulative_gas_after }
}

/// The encoding the decoder reads on an exclusion: a legacy receipt with status 1, cumulative
/// gas 0, an empty bloom and no logs (265 bytes).
pub fn placeholder_receipt() -> Vec<u8> {
    let mut v = vec![0xf9, 0x01, 0x06, 0x01, 0x80, 0xb9, 0x01, 0x00];
    v.extend([0u8; 256]);
    v.push(0xc0);
    v
}

/// Trie-node capacity for receipts of `shape`: a branch, or a leaf `[hp(path), value]` with a
/// 3-byte list header, a path item of at most 5 bytes and a 3-byte value-string header.
pub const fn receipt_node_bytes(shape: &ReceiptShape) -> usize {
    let leaf = 3 + 5 + 3 + shape.max_bytes;
    if leaf > MAX_BRANCH_NODE_BYTES {
        leaf
    } else {
        MAX_BRANCH_NODE_BYTES
    }
}

/// The nibbles of `rlp(index)` (Yellow Paper appendix B) for `index < 2^16`, which is
/// constrained: `0x80` for 0, the byte itself below 128, `0x81 ‖ index` below 256, `0x82 ‖
/// index` (2 bytes, big-endian) from 256. Returns [`RECEIPT_KEY_NIBBLES`] nibbles, zero past
/// the key, and the key's length (2, 4 or 6).
pub fn rlp_index_key(b: &mut CircuitBuilder<F, D>, index: Target) -> (Vec<Target>, Target) {
    let bits = b.split_le(index, MAX_RECEIPT_INDEX_BITS);
    let nibble = |b: &mut CircuitBuilder<F, D>, k: usize| b.le_sum(bits[4 * k..4 * k + 4].iter());
    let n: Vec<Target> = (0..4).map(|k| nibble(b, k)).collect();
    let high7 = b.le_sum(bits[7..].iter());
    let high8 = b.le_sum(bits[8..].iter());
    let zero = b.zero();
    let is_zero = b.is_equal(index, zero);
    let below128 = b.is_equal(high7, zero);
    let below256 = b.is_equal(high8, zero);
    // small: 1 ≤ index < 128; mid: 128 ≤ index < 256; big: index ≥ 256.
    let small = b.sub(below128.target, is_zero.target);
    let mid = b.sub(below256.target, below128.target);
    let big = b.not(below256).target;
    let eight = b.constant(F::from_canonical_u64(8));
    // p0 = small ? n1 : 8
    let d = b.sub(n[1], eight);
    let p0 = b.mul_add(small, d, eight);
    // p1 = small ? n0 : (mid ? 1 : big ? 2 : 0)
    let p1 = b.mul(small, n[0]);
    let p1 = b.add(p1, mid);
    let p1 = b.mul_const_add(F::TWO, big, p1);
    // p2..p5: mid → n1, n0; big → n3, n2, n1, n0.
    let p2 = b.mul(mid, n[1]);
    let p2 = b.mul_add(big, n[3], p2);
    let p3 = b.mul(mid, n[0]);
    let p3 = b.mul_add(big, n[2], p3);
    let p4 = b.mul(big, n[1]);
    let p5 = b.mul(big, n[0]);
    let two = b.two();
    let len = b.mul_const_add(F::TWO, mid, two);
    let len = b.mul_const_add(F::from_canonical_u64(4), big, len);
    (vec![p0, p1, p2, p3, p4, p5], len)
}

/// Targets of a receipt proof.
#[derive(Clone, Debug)]
pub struct ReceiptProofTargets {
    /// The receipts-trie proof; its `root` is the block's `receipts_root`, its `exists` says
    /// whether receipt `index` is there.
    pub mpt: MptProofTargets,
    /// The transaction index, below `2^16`.
    pub index: Target,
    /// The decoded receipt (meaningless on an exclusion).
    pub receipt: ReceiptTargets,
    /// The link to the previous receipt's cumulative gas, and this receipt's `gas_used`.
    pub gas: GasLinkTargets,
}

/// Adds a proof of receipt `index` (or of its absence) in a receipts trie of depth at most
/// `max_depth`; see the module doc. Rows: the MPT gadget's at node capacity
/// [`receipt_node_bytes`] plus the decoding's.
pub fn add_receipt_proof(
    b: &mut CircuitBuilder<F, D>,
    shape: &ReceiptShape,
    max_depth: usize,
) -> ReceiptProofTargets {
    let cfg = MptConfig {
        max_depth,
        max_node_bytes: receipt_node_bytes(shape),
        max_key_nibbles: RECEIPT_KEY_NIBBLES,
    };
    let mpt = b.add_mpt_proof(&cfg);
    let index = b.add_virtual_target();
    let (key, key_len) = rlp_index_key(b, index);
    for (&x, &y) in mpt.key.iter().zip(&key) {
        b.connect(x, y);
    }
    b.connect(mpt.key_len, key_len);
    // The value, or the placeholder on an exclusion (the MPT's value is then empty).
    let placeholder = placeholder_receipt();
    let value: Vec<Target> = (0..shape.max_bytes)
        .map(|i| {
            let p = b.constant(F::from_canonical_u8(placeholder.get(i).copied().unwrap_or(0)));
            b.select(mpt.exists, mpt.value[i], p)
        })
        .collect();
    let placeholder_len = b.constant(F::from_canonical_usize(placeholder.len()));
    let value_len = b.select(mpt.exists, mpt.value_len, placeholder_len);
    // The MPT's value capacity covers the node; a longer value does not fit the decoder.
    for &x in &mpt.value[shape.max_bytes..] {
        assert_zero_if(b, mpt.exists.target, x);
    }
    let receipt = decode_receipt(b, &value, value_len, shape);
    let gas = add_gas_link(b, index, mpt.exists, &receipt.cumulative_gas_used);
    ReceiptProofTargets { mpt, index, receipt, gas }
}

/// Sets a receipt proof's witness: the block's `receipts_root`, the `index`, the trie `nodes`
/// from the root to the leaf (or to where `rlp(index)` is shown absent), the receipt's
/// EIP-2718 encoding (`None` for an exclusion), and the cumulative gas of receipt `index − 1`
/// (0 for the first).
///
/// # Errors
/// As [`set_mpt_proof`] and [`set_receipt_witness`]; a receipt that is not one.
pub fn set_receipt_proof(
    pw: &mut PartialWitness<F>,
    t: &ReceiptProofTargets,
    receipts_root: [u8; 32],
    index: u64,
    nodes: &[Vec<u8>],
    receipt: Option<&[u8]>,
    prev_cumulative_gas: u64,
) -> anyhow::Result<()> {
    use plonky2::iop::witness::WitnessWrite;
    anyhow::ensure!(index < 1 << MAX_RECEIPT_INDEX_BITS, "receipt index {index}");
    pw.set_target(t.index, F::from_canonical_u64(index))?;
    pw.set_target(t.gas.prev_cumulative_gas, F::from_noncanonical_u64(prev_cumulative_gas))?;
    let key = nibbles(&alloy_rlp::encode(index));
    set_mpt_proof(pw, &t.mpt, receipts_root, &key, nodes, receipt.is_some())?;
    let logs = receipt.map(super::native_log_count).transpose()?.unwrap_or(0);
    set_receipt_witness(pw, &t.receipt, logs)
}
