//! State values in circuit: the account a state-trie leaf holds and the storage value a
//! storage-trie leaf holds (Yellow Paper §4.1, appendix D), decoded from the value bytes of an
//! [`crate::mpt`] proof, with the defaults of an absent key (an exclusion proof).
//!
//! # What is constrained
//! - Account (`exists = 1`): the value is `0xf8 L ‖ nonce ‖ balance ‖ 0xa0 storage_root ‖ 0xa0
//!   code_hash` with `L + 2 = value_len`, `nonce` a string of at most 8 bytes, `balance` of at
//!   most 32, the items tiling the payload exactly. An account's payload is at least 68 bytes,
//!   so its list always has the one-byte long form `0xf8`.
//! - Absent account (`exists = 0`): the same decoding runs on the encoding of the empty account
//!   ([`EMPTY_ACCOUNT_RLP`]: nonce 0, balance 0, [`crate::mpt::EMPTY_ROOT`], keccak256 of the
//!   empty string), so the fields are those defaults.
//! - Storage value (`exists = 1`): the value is one RLP string of at most 32 bytes (or a single
//!   byte) spanning `value_len`; its payload, right-aligned, is the big-endian uint256.
//!   Absent (`exists = 0`): the value is 0.
//!
//! Leading zero bytes of a nonce, a balance or a value are not rejected (the leaf is bound to
//! the root by keccak256, and the real trie's encodings are canonical).
//!
//! # What is assumed
//! WARNING: `value` bytes must be range-checked to 8 bits and zero past `value_len` (the MPT
//! gadget's `value` is), and `exists` must be the proof's flag.

use alloy_primitives::{keccak256, B256};
use plonky2::field::types::Field;
use plonky2::iop::target::{BoolTarget, Target};
use plonky2::plonk::circuit_builder::CircuitBuilder;

use crate::mapreduce::{D, F};
use crate::mpt::EMPTY_ROOT;
use crate::rlp::{bits_for, CircuitBuilderRlp};
use crate::uint256::{CircuitBuilderU256, U256Target};

/// Most bytes of an account's RLP: `0xf8 L`, a nonce of up to 8 bytes (9 with its prefix), a
/// balance of up to 32 (33), and two `0xa0`-prefixed hashes (66).
pub const ACCOUNT_RLP_MAX_BYTES: usize = 2 + 9 + 33 + 66;
/// Most bytes of a storage value's RLP (a 32-byte string with its prefix).
pub const STORAGE_VALUE_RLP_MAX_BYTES: usize = 33;
/// Most bytes of a nonce (`σ[a]_n < 2^64`).
pub const NONCE_MAX_BYTES: usize = 8;

/// keccak256 of the empty string: the code hash of an account without code.
pub fn keccak_empty() -> B256 {
    keccak256([])
}

/// RLP of the empty account `[0, 0, EMPTY_ROOT, keccak256("")]` (70 bytes).
pub fn empty_account_rlp() -> Vec<u8> {
    let mut v = vec![0xf8, 0x44, 0x80, 0x80, 0xa0];
    v.extend_from_slice(&EMPTY_ROOT);
    v.push(0xa0);
    v.extend_from_slice(keccak_empty().as_slice());
    v
}

/// The RLP of the empty account, see [`empty_account_rlp`].
pub static EMPTY_ACCOUNT_RLP: std::sync::LazyLock<Vec<u8>> =
    std::sync::LazyLock::new(empty_account_rlp);

/// A decoded account.
#[derive(Clone, Debug)]
pub struct AccountTargets {
    /// `σ[a]_n`.
    pub nonce: U256Target,
    /// `σ[a]_b`, wei.
    pub balance: U256Target,
    /// `σ[a]_s`, 32 bytes.
    pub storage_root: [Target; 32],
    /// `σ[a]_c`, 32 bytes.
    pub code_hash: [Target; 32],
}

/// `if exists { value[i] } else { default[i] }` over the first `n` bytes.
fn value_or_default(
    b: &mut CircuitBuilder<F, D>,
    value: &[Target],
    exists: BoolTarget,
    default: &[u8],
    n: usize,
) -> Vec<Target> {
    (0..n)
        .map(|i| {
            let d = b.constant(F::from_canonical_u8(default.get(i).copied().unwrap_or(0)));
            b.select(exists, value[i], d)
        })
        .collect()
}

/// The uint256 of a right-aligned big-endian value of at most 32 bytes.
pub(crate) fn u256_right_aligned(b: &mut CircuitBuilder<F, D>, be: &[Target]) -> U256Target {
    let zero = b.zero();
    let mut padded = [zero; 32];
    padded[32 - be.len()..].copy_from_slice(be);
    b.u256_from_be_bytes(&padded)
}

/// Decodes the account held by a state-trie leaf value (`value`, at least
/// [`ACCOUNT_RLP_MAX_BYTES`] bytes, length `value_len`), or the empty account when `exists` is
/// 0. See the module doc.
pub fn decode_account(
    b: &mut CircuitBuilder<F, D>,
    value: &[Target],
    value_len: Target,
    exists: BoolTarget,
) -> AccountTargets {
    let empty = empty_account_rlp();
    let w = value_or_default(b, value, exists, &empty, ACCOUNT_RLP_MAX_BYTES);
    let empty_len = b.constant(F::from_canonical_usize(empty.len()));
    let len = b.select(exists, value_len, empty_len);
    b.assert_const(w[0], 0xf8);
    let total = b.add_const(w[1], F::TWO);
    b.connect(total, len);

    let nonce = b.rlp_short_string(&w[2..], NONCE_MAX_BYTES, true);
    let bits = b.split_le(nonce.prefix.item_len, bits_for(NONCE_MAX_BYTES + 1));
    let rest = b.shift_left_var(&w[2..], &bits, 33 + 66);
    let balance = b.rlp_short_string(&rest, 32, true);
    let bits = b.split_le(balance.prefix.item_len, bits_for(33));
    let rest = b.shift_left_var(&rest, &bits, 66);
    b.assert_const(rest[0], 0xa0);
    b.assert_const(rest[33], 0xa0);
    let payload = b.add(nonce.prefix.item_len, balance.prefix.item_len);
    let payload = b.add_const(payload, F::from_canonical_u64(66));
    b.connect(payload, w[1]);
    AccountTargets {
        nonce: u256_right_aligned(b, &nonce.value),
        balance: u256_right_aligned(b, &balance.value),
        storage_root: core::array::from_fn(|i| rest[1 + i]),
        code_hash: core::array::from_fn(|i| rest[34 + i]),
    }
}

/// Decodes the storage value held by a storage-trie leaf value (`value`, at least
/// [`STORAGE_VALUE_RLP_MAX_BYTES`] bytes, length `value_len`), or 0 when `exists` is 0.
pub fn decode_storage_value(
    b: &mut CircuitBuilder<F, D>,
    value: &[Target],
    value_len: Target,
    exists: BoolTarget,
) -> U256Target {
    let w = value_or_default(b, value, exists, &[0x80], STORAGE_VALUE_RLP_MAX_BYTES);
    let item = b.rlp_short_string(&w, 32, true);
    let diff = b.sub(item.prefix.item_len, value_len);
    let t = b.mul(exists.target, diff);
    b.assert_zero(t);
    u256_right_aligned(b, &item.value)
}
