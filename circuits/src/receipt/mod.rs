//! Receipts in circuit: the value a receipts-trie leaf holds (Yellow Paper §4.3.1, EIP-658,
//! EIP-2718), decoded into the fields of the `receipts` and `logs` tables (DESIGN.md §2).
//!
//! # Encoding
//! A receipts-trie value is `rlp([status_or_root, cumulative_gas_used, logs_bloom, logs])` for
//! a legacy receipt and `type ‖ rlp([...])` for a typed one (EIP-2718: `type < 0x80`; types 1
//! to 4 exist). The first item is the 32-byte post-transaction state root before Byzantium
//! (`0xa0 ‖ root`) and the EIP-658 status after (`0x80` failure, `0x01` success). Each log is
//! `rlp([address, [topic_0, …], data])` with at most 4 topics.
//!
//! # What is constrained
//! For the `value` bytes of length `value_len`:
//! - the type byte, when `value[0] < 0x80`, and then the list `0xf9 l l` (a receipt's payload
//!   is at least 262 bytes: status, gas, the 259-byte bloom item and the logs list) whose
//!   header and payload end exactly at `value_len`;
//! - the first item is `0xa0 ‖ 32 bytes`, `0x80` or `0x01`, nothing else;
//! - the cumulative gas is a string of at most 8 bytes, the bloom is `0xb9 0x01 0x00` and 256
//!   bytes, then a list of logs; the four items tile the receipt's payload exactly;
//! - every log slot flagged `active` (a witness; the active slots are a prefix) decodes as a
//!   list of exactly `0x94 ‖ address`, a topic list of 0 to 4 items `0xa0 ‖ topic` and a data
//!   string of at most `max_data_bytes`, the three tiling the log's payload; the active logs
//!   tile the logs list's payload exactly.
//!
//! The log count is therefore determined: every log is at least one byte, so only one prefix
//! of the slots can sum to the logs payload. A receipt longer than `max_bytes`, with more logs
//! than `max_logs`, a log with longer data, or a receipt of 64 KiB or more is unsatisfiable (a
//! completeness limit of the shape, never a wrong value). Non-canonical RLP is not rejected
//! (the value is bound by keccak256 to `receipts_root`, and real receipts are canonical),
//! except in topic lists, whose headers must be the canonical `0xc0`, `0xe1`, `0xf8 0x42`,
//! `0xf8 0x63` or `0xf8 0x84`.
//!
//! # What is assumed
//! WARNING: `value` bytes must be range-checked to 8 bits (the MPT gadget's `value` is, and is
//! zero past `value_len`). An inactive log slot has `topic_count`, `topics`, `data_len` and
//! `data` zero but its `address` unspecified: users gate by `active`.
//!
//! # Cost
//! Measured by `receipt::tests` (standard recursion config), see [`ReceiptShape`]: the
//! variable shifts dominate, about `max_bytes · bits_for(max log length)` selects per log slot.

pub mod bloom;
pub mod leaf;
#[cfg(test)]
mod tests;

use plonky2::field::types::Field;
use plonky2::iop::target::{BoolTarget, Target};
use plonky2::iop::witness::{PartialWitness, WitnessWrite};
use plonky2::plonk::circuit_builder::CircuitBuilder;

use crate::keccak::CircuitBuilderKeccak;
use crate::mapreduce::{D, F};
use crate::rlp::{
    assert_zero_if, bits_for, list_item, string_item, CircuitBuilderRlp, IsEqualConst,
};
use crate::state::u256_right_aligned;
use crate::uint256::U256Target;

/// Bytes of the logs bloom (Yellow Paper §4.3.1: 2048 bits).
pub const LOGS_BLOOM_BYTES: usize = 256;
/// Most topics of a log (`LOG0` to `LOG4`).
pub const MAX_TOPICS: usize = 4;
/// Most bytes of the cumulative gas (a uint64).
pub const GAS_MAX_BYTES: usize = 8;
/// The bloom item: `0xb9 0x01 0x00` and 256 bytes.
const BLOOM_ITEM_BYTES: usize = 3 + LOGS_BLOOM_BYTES;
/// Bytes of a log before its data item, at most: list header (3), address item (21), topic
/// list header (2) and 4 topics (132).
const LOG_MAX_HEAD_BYTES: usize = 3 + 21 + 2 + 33 * MAX_TOPICS;

/// Capacity of a receipt decoding circuit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReceiptShape {
    /// Most bytes of the trie value (type byte included); a receipt is at most 65,539 bytes
    /// (type, `0xf9 l l`, 65,535 bytes of payload), so larger values are never needed.
    pub max_bytes: usize,
    /// Most logs of the receipt.
    pub max_logs: usize,
    /// Most data bytes of each log (at most 65,535).
    pub max_data_bytes: usize,
}

impl ReceiptShape {
    /// Most bytes of one log item (list header, address, topics, data item).
    pub const fn max_log_bytes(&self) -> usize {
        LOG_MAX_HEAD_BYTES + 3 + self.max_data_bytes
    }
}

/// A decoded log (one row of the `logs` table, without its position).
#[derive(Clone, Debug)]
pub struct LogTargets {
    /// Whether the slot holds a log of the receipt (a witness, see the module doc).
    pub active: BoolTarget,
    /// The emitting contract, 20 bytes.
    pub address: [Target; 20],
    /// Number of topics, 0 to 4.
    pub topic_count: Target,
    /// `topics[m]`, 32 bytes each; zero for `m ≥ topic_count`.
    pub topics: [[Target; 32]; MAX_TOPICS],
    /// Bytes of data, at most `max_data_bytes`.
    pub data_len: Target,
    /// The data, `max_data_bytes` bytes, zero from `data_len` on.
    pub data: Vec<Target>,
}

/// A decoded receipt (one row of the `receipts` table, without its position and `gas_used`,
/// which is a difference of two receipts' cumulative gas).
#[derive(Clone, Debug)]
pub struct ReceiptTargets {
    /// The EIP-2718 type, 0 for a legacy receipt.
    pub tx_type: Target,
    /// 1 when the receipt has an EIP-658 status (Byzantium on), 0 when it has a state root.
    pub has_status: BoolTarget,
    /// The status, 1 success and 0 failure; 0 when `has_status` is 0.
    pub status: Target,
    /// The post-transaction state root (pre-Byzantium), 32 bytes; zero when `has_status`.
    pub post_state: [Target; 32],
    /// Cumulative gas used in the block up to this transaction, gas.
    pub cumulative_gas_used: U256Target,
    /// The same value as one field element (below 2^64, so it may wrap: compare limbs when
    /// that matters).
    pub cumulative_gas_felt: Target,
    /// The receipt's logs bloom, 256 bytes.
    pub logs_bloom: [Target; LOGS_BLOOM_BYTES],
    /// Number of logs (the active slots).
    pub log_count: Target,
    /// `max_logs` slots, the active ones first.
    pub logs: Vec<LogTargets>,
}

/// Asserts `on · (x − c) = 0`.
fn assert_const_if(b: &mut CircuitBuilder<F, D>, on: Target, x: Target, c: u64) {
    let d = b.add_const(x, -F::from_canonical_u64(c));
    assert_zero_if(b, on, d);
}

/// Decodes the receipt held by a receipts-trie value; see the module doc for what is
/// constrained. `value` has at least `shape.max_bytes` bytes.
pub fn decode_receipt(
    b: &mut CircuitBuilder<F, D>,
    value: &[Target],
    value_len: Target,
    shape: &ReceiptShape,
) -> ReceiptTargets {
    let n = shape.max_bytes;
    assert!(value.len() >= n && n > 4 + 33 + BLOOM_ITEM_BYTES, "receipt capacity too small");
    let one = b.one();
    let zero = b.zero();
    let yes = b._true();

    // The EIP-2718 type byte, then the list `0xf9 l l`.
    let first_bits = b.split_le(value[0], 8);
    let is_typed = b.not(first_bits[7]);
    let tx_type = b.mul(is_typed.target, value[0]);
    let l = b.shift_left_cond(&value[..n], is_typed, 1, n);
    b.assert_const(l[0], 0xf9);
    let payload = b.mul_const_add(F::from_canonical_u64(256), l[1], l[2]);
    let total = b.add(payload, is_typed.target);
    let total = b.add_const(total, F::from_canonical_u64(3));
    b.connect(total, value_len);
    // value_len ≤ n: every byte of the receipt is in the window the decoder reads (bytes of a
    // longer `value` are never read).
    let room = b.constant(F::from_canonical_usize(n));
    let room = b.sub(room, value_len);
    b.range_check(room, 17);

    // Status (`0x80`, `0x01`) or post-state root (`0xa0 ‖ 32 bytes`).
    let is_root = b.is_equal_const(l[3], 0xa0);
    let is_success = b.is_equal_const(l[3], 0x01);
    let is_failure = b.is_equal_const(l[3], 0x80);
    let kinds = b.add_many([is_root.target, is_success.target, is_failure.target]);
    b.connect(kinds, one);
    let has_status = b.not(is_root);
    let post_state = core::array::from_fn(|i| b.mul(is_root.target, l[4 + i]));
    let r = b.shift_left_cond(&l[4..], is_root, 32, n - 4);

    // Cumulative gas, the bloom.
    let gas = b.rlp_short_string(&r, GAS_MAX_BYTES, true);
    let gas_bits = b.split_le(gas.prefix.item_len, bits_for(GAS_MAX_BYTES + 1));
    let r2 = b.shift_left_var(&r, &gas_bits, n - 5);
    b.assert_const(r2[0], 0xb9);
    b.assert_const(r2[1], 0x01);
    b.assert_const(r2[2], 0x00);
    let logs_bloom = core::array::from_fn(|i| r2[3 + i]);
    let cumulative_gas_felt =
        gas.value.iter().fold(zero, |acc, &x| b.mul_const_add(F::from_canonical_u64(256), acc, x));

    // The logs list; the four items tile the payload.
    let lw = &r2[BLOOM_ITEM_BYTES..];
    let (logs_header, logs_payload) = list_item(b, lw, yes);
    let status_len = b.mul_const_add(F::from_canonical_u64(32), is_root.target, one);
    let items = b.add_many([status_len, gas.prefix.item_len, logs_header, logs_payload]);
    let items = b.add_const(items, F::from_canonical_usize(BLOOM_ITEM_BYTES));
    b.connect(items, payload);
    let header_bits = b.split_le(logs_header, 2);
    let mut g = b.shift_left_var(lw, &header_bits, lw.len() - 1);

    let log_bits = bits_for(shape.max_log_bytes());
    let mut logs = Vec::with_capacity(shape.max_logs);
    let mut consumed = zero;
    let mut log_count = zero;
    let mut prev_active: Option<BoolTarget> = None;
    for j in 0..shape.max_logs {
        let active = b.add_virtual_bool_target_safe();
        if let Some(p) = prev_active {
            // active_j ⇒ active_{j−1}
            let orphan = b.mul_sub(active.target, p.target, active.target);
            b.assert_zero(orphan);
        }
        prev_active = Some(active);
        let (log, item_len) = decode_log(b, &g, active, shape);
        let taken = b.mul(active.target, item_len);
        consumed = b.add(consumed, taken);
        log_count = b.add(log_count, active.target);
        logs.push(log);
        if j + 1 < shape.max_logs {
            let bits = b.split_le(taken, log_bits);
            g = b.shift_left_var(&g, &bits, g.len());
        }
    }
    b.connect(consumed, logs_payload);

    ReceiptTargets {
        tx_type,
        has_status,
        status: is_success.target,
        post_state,
        cumulative_gas_used: u256_right_aligned(b, &gas.value),
        cumulative_gas_felt,
        logs_bloom,
        log_count,
        logs,
    }
}

/// Decodes the log at `w[0]` when `active` (nothing is constrained otherwise); returns it and
/// its item length.
fn decode_log(
    b: &mut CircuitBuilder<F, D>,
    w: &[Target],
    active: BoolTarget,
    shape: &ReceiptShape,
) -> (LogTargets, Target) {
    let on = active.target;
    let (header, payload) = list_item(b, w, active);
    let bits = b.split_le(header, 2);
    let a = b.shift_left_var(w, &bits, shape.max_log_bytes());
    assert_const_if(b, on, a[0], 0x94);
    let address = core::array::from_fn(|i| a[1 + i]);

    // The topic list: `0xc0` (none), `0xe1` (one), `0xf8 0x42|0x63|0x84` (two to four).
    let f8 = b.is_equal_const(a[21], 0xf8);
    let len_flags = [
        b.is_equal_const(a[21], 0xc0).target,
        b.is_equal_const(a[21], 0xe1).target,
        b.is_equal_const(a[22], 0x42).target,
        b.is_equal_const(a[22], 0x63).target,
        b.is_equal_const(a[22], 0x84).target,
    ];
    let flags: Vec<Target> = len_flags
        .iter()
        .enumerate()
        .map(|(k, &x)| if k < 2 { b.mul(on, x) } else { b.mul_many([on, f8.target, x]) })
        .collect();
    let count = b.add_many(&flags);
    let missing = b.sub(on, count);
    b.assert_zero(missing);
    let topic_count = flags
        .iter()
        .enumerate()
        .skip(1)
        .fold(b.zero(), |acc, (k, &x)| b.mul_const_add(F::from_canonical_usize(k), x, acc));
    let f8_on = b.mul(on, f8.target);
    let f8_on = BoolTarget::new_unsafe(f8_on);
    let t = b.shift_left_cond(&a[22..], f8_on, 1, 33 * MAX_TOPICS);
    let topics = core::array::from_fn(|m| {
        // present_m = [topic_count > m] (0 when inactive).
        let present = b.add_many(&flags[m + 1..]);
        assert_const_if(b, present, t[33 * m], 0xa0);
        core::array::from_fn(|i| b.mul(present, t[33 * m + 1 + i]))
    });

    // The data string, after `topics header (1 + f8) + 33 · topic_count` bytes.
    let skip = b.mul_const_add(F::from_canonical_u64(33), topic_count, f8_on.target);
    let skip_bits = b.split_le(skip, bits_for(1 + 33 * MAX_TOPICS));
    let dw = b.shift_left_var(&a[22..], &skip_bits, 3 + shape.max_data_bytes);
    let (data_header, data_len) = string_item(b, &dw, active);
    let data_len = b.mul(on, data_len);
    let mask = b.prefix_mask(data_len, shape.max_data_bytes);
    let header_bits = b.split_le(data_header, 2);
    let raw = b.shift_left_var(&dw, &header_bits, shape.max_data_bytes);
    let data = raw.iter().zip(&mask).map(|(&x, m)| b.mul(m.target, x)).collect();

    // address (21) + topics (1 + f8 + 33 · count) + data item tile the payload.
    let inner = b.add_many([skip, data_header, data_len]);
    let inner = b.add_const(inner, F::from_canonical_u64(22));
    let diff = b.sub(inner, payload);
    assert_zero_if(b, on, diff);
    let item_len = b.add(header, payload);
    (LogTargets { active, address, topic_count, topics, data_len, data }, item_len)
}

/// Sets the witness of a decoding: the number of logs the receipt has (the active slots).
///
/// # Errors
/// More logs than the shape's slots, or a target set twice inconsistently.
pub fn set_receipt_witness(
    pw: &mut PartialWitness<F>,
    t: &ReceiptTargets,
    log_count: usize,
) -> anyhow::Result<()> {
    anyhow::ensure!(log_count <= t.logs.len(), "{log_count} logs, {} slots", t.logs.len());
    for (j, log) in t.logs.iter().enumerate() {
        pw.set_bool_target(log.active, j < log_count)?;
    }
    Ok(())
}

/// The number of logs of an EIP-2718-encoded receipt (the trie value), decoded with alloy.
///
/// # Errors
/// The bytes are not a receipt.
pub fn native_log_count(encoded: &[u8]) -> anyhow::Result<usize> {
    use alloy_eips::eip2718::Decodable2718;
    let r = alloy_consensus::ReceiptEnvelope::decode_2718(&mut &encoded[..])
        .map_err(|e| anyhow::anyhow!("not a receipt: {e}"))?;
    Ok(r.logs().len())
}
