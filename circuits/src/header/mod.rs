//! Decoding an RLP-encoded Ethereum block header in a circuit (Yellow Paper §4.3, with the
//! fields added by EIP-1559, EIP-4895, EIP-4844, EIP-4788 and EIP-7685), and its native twin.
//! Model: axiom-eth `block_header/mod.rs`.
//!
//! The header is given as [`MAX_HEADER_BYTES`] byte targets and a length `len`. The layout:
//!
//! | bytes | item |
//! |---|---|
//! | 0..3 | `0xf9` + 2-byte payload length (every header is 256..65535 bytes) |
//! | 3..36 | `0xa0` + `parent_hash` |
//! | 36..69 | `0xa0` + `ommers_hash` |
//! | 69..90 | `0x94` + `beneficiary` |
//! | 90..123, 123..156, 156..189 | `0xa0` + `state_root`, `transactions_root`, `receipts_root` |
//! | 189..448 | `0xb9 0x01 0x00` + `logs_bloom` |
//! | 448.. | `difficulty`, `number`, `gas_limit`, `gas_used`, `timestamp`, `extra_data` (short strings), `0xa0` + `mix_hash`, `0x88` + `nonce`, then optionally `base_fee_per_gas`, `withdrawals_root`, (`blob_gas_used`, `excess_blob_gas`, `parent_beacon_block_root`), `requests_hash` |
//!
//! What is constrained by [`CircuitBuilderHeader::decode_header`]:
//! - `bytes[0] == 0xf9` and `len == 3 + 256·bytes[1] + bytes[2]`;
//! - every prefix byte of the fixed-offset fields and of `mix_hash` (`0xa0`) and `nonce` (`0x88`);
//! - each scalar field is a single byte (`< 0x80`) or a short string of at most its limit in
//!   [`HEADER_FIELDS_MAX_BYTES`]; long strings and lists are unsatisfiable;
//! - the optional fields are parsed when their presence flag is on; the flags are witness
//!   hints constrained boolean and monotone (`requests_hash ⇒ cancun ⇒ withdrawals_root ⇒
//!   base_fee_per_gas`), and the bytes consumed by all parsed fields must add up to `len`
//!   exactly. So a field claimed present past the end reads a zero byte and overruns `len`
//!   (or fails its `0xa0` prefix), a field claimed absent that exists leaves bytes
//!   unconsumed, and the flags are unique for given bytes.
//!
//! What is assumed (the caller's contract; the header circuit meets it by hashing the same
//! bytes with keccak, which range-checks and masks them):
//!
//! WARNING: every byte target must be range-checked to 8 bits, the bytes at index `≥ len`
//! must be constrained to zero, and `len ≤ MAX_HEADER_BYTES` must be enforced, all by the
//! caller. Without the zero padding an absent optional field could be decoded from garbage
//! past the end (its value is read as zero only because those bytes are zero), and without
//! the range checks decoded values are not bytes.
//!
//! Not constrained: canonical RLP (a non-canonical header has a different hash, so the
//! keccak binding to the chain excludes it), the value of `extra_data` (consumed, not
//! exposed), any relation between the presence flags and the block number (fork schedule).

mod native;
#[cfg(test)]
mod tests;

pub use native::{decode_header_native, HeaderDecodeError, HeaderFieldsNative, HeaderPresence};

use plonky2::field::extension::Extendable;
use plonky2::hash::hash_types::RichField;
use plonky2::iop::target::{BoolTarget, Target};
use plonky2::iop::witness::{PartialWitness, WitnessWrite};
use plonky2::plonk::circuit_builder::CircuitBuilder;

use crate::rlp::{bits_for, CircuitBuilderRlp};
use crate::uint256::{CircuitBuilderU256, U256Target};

/// Maximum RLP length of a header taken by the circuit: 5 keccak-f rate blocks of 136 bytes
/// minus the one byte that padding needs at least. The largest header among the mainnet
/// fixtures is 645 bytes (block 23,094,898, Prague); a Prague header with every field at its
/// limit would not fit, but mainnet values (4-byte numbers, gas and timestamps) leave ≥ 30
/// bytes of slack.
pub const MAX_HEADER_BYTES: usize = 5 * 136 - 1;

/// Maximum payload bytes of `difficulty` (uint256; at most 7 bytes on mainnet, 0 since the Merge).
pub const HEADER_DIFFICULTY_MAX_BYTES: usize = 32;
/// Maximum payload bytes of `number`, `gas_limit`, `gas_used`, `timestamp`,
/// `blob_gas_used`, `excess_blob_gas` (u64 fields).
pub const HEADER_U64_MAX_BYTES: usize = 8;
/// Maximum bytes of `extra_data` (Yellow Paper: 32 bytes or fewer).
pub const HEADER_EXTRA_DATA_MAX_BYTES: usize = 32;
/// Maximum payload bytes of `base_fee_per_gas` (uint256 in EIP-1559).
pub const HEADER_BASE_FEE_MAX_BYTES: usize = 32;

/// Payload bytes of each header field (fixed) or their maximum (variable), in RLP order.
pub const HEADER_FIELDS_MAX_BYTES: [usize; 21] = [
    32,                          // parent_hash
    32,                          // ommers_hash
    20,                          // beneficiary
    32,                          // state_root
    32,                          // transactions_root
    32,                          // receipts_root
    256,                         // logs_bloom
    HEADER_DIFFICULTY_MAX_BYTES, // difficulty
    HEADER_U64_MAX_BYTES,        // number
    HEADER_U64_MAX_BYTES,        // gas_limit
    HEADER_U64_MAX_BYTES,        // gas_used
    HEADER_U64_MAX_BYTES,        // timestamp
    HEADER_EXTRA_DATA_MAX_BYTES, // extra_data
    32,                          // mix_hash (prev_randao since the Merge)
    8,                           // nonce
    HEADER_BASE_FEE_MAX_BYTES,   // base_fee_per_gas (London, EIP-1559), optional
    32,                          // withdrawals_root (Shanghai, EIP-4895), optional
    HEADER_U64_MAX_BYTES,        // blob_gas_used (Cancun, EIP-4844), optional
    HEADER_U64_MAX_BYTES,        // excess_blob_gas (Cancun, EIP-4844), optional
    32,                          // parent_beacon_block_root (Cancun, EIP-4788), optional
    32,                          // requests_hash (Prague, EIP-7685), optional
];

/// First prefix byte of the header: a list whose payload length takes 2 bytes.
pub const HEADER_LIST_PREFIX: u8 = 0xf9;
/// Prefix of a 32-byte string (hashes, roots).
const PREFIX_32: u64 = 0xa0;
/// Prefix of a 20-byte string (`beneficiary`).
const PREFIX_20: u64 = 0x94;
/// Prefix of an 8-byte string (`nonce`).
const PREFIX_8: u64 = 0x88;
/// Prefix of `logs_bloom`: a string whose 2-byte length is 256.
const LOGS_BLOOM_PREFIX: [u64; 3] = [0xb9, 0x01, 0x00];

/// Offset of `parent_hash`'s prefix; the fields before `difficulty` have fixed offsets.
pub const PARENT_HASH_OFFSET: usize = 3;
/// Offset of `ommers_hash`'s prefix.
pub const OMMERS_HASH_OFFSET: usize = 36;
/// Offset of `beneficiary`'s prefix.
pub const BENEFICIARY_OFFSET: usize = 69;
/// Offset of `state_root`'s prefix.
pub const STATE_ROOT_OFFSET: usize = 90;
/// Offset of `transactions_root`'s prefix.
pub const TRANSACTIONS_ROOT_OFFSET: usize = 123;
/// Offset of `receipts_root`'s prefix.
pub const RECEIPTS_ROOT_OFFSET: usize = 156;
/// Offset of `logs_bloom`'s 3-byte prefix.
pub const LOGS_BLOOM_OFFSET: usize = 189;
/// Offset of `difficulty`'s prefix: the start of the variable-offset part.
pub const DIFFICULTY_OFFSET: usize = 448;

/// Maximum bytes of the items `difficulty ..= extra_data` (parsed in a local window of this size).
const GROUP_SCALARS_MAX: usize = (1 + HEADER_DIFFICULTY_MAX_BYTES)
    + 4 * (1 + HEADER_U64_MAX_BYTES)
    + (1 + HEADER_EXTRA_DATA_MAX_BYTES);
/// Bytes of `mix_hash` and `nonce` items.
const MIX_NONCE_BYTES: usize = 33 + 9;
/// Bytes of the optional items at most.
const OPTIONAL_MAX: usize =
    (1 + HEADER_BASE_FEE_MAX_BYTES) + 33 + 2 * (1 + HEADER_U64_MAX_BYTES) + 33 + 33;

/// The decoded header fields. Hashes and roots are big-endian bytes as in the header; the
/// scalar fields are canonical [`U256Target`]s. Optional fields are zero when their presence
/// flag is off.
#[derive(Clone, Debug)]
pub struct HeaderFieldsTargets {
    /// The header bytes the fields were decoded from ([`MAX_HEADER_BYTES`] of them).
    pub bytes: Vec<Target>,
    /// The header length in bytes.
    pub len: Target,
    /// Keccak hash of the parent header.
    pub parent_hash: [Target; 32],
    /// Keccak hash of the ommers list.
    pub ommers_hash: [Target; 32],
    /// Fee recipient address.
    pub beneficiary: [Target; 20],
    /// State trie root.
    pub state_root: [Target; 32],
    /// Transactions trie root.
    pub transactions_root: [Target; 32],
    /// Receipts trie root.
    pub receipts_root: [Target; 32],
    /// Logs bloom, 256 bytes.
    pub logs_bloom: [Target; 256],
    /// Difficulty.
    pub difficulty: U256Target,
    /// Block number.
    pub number: U256Target,
    /// Gas limit.
    pub gas_limit: U256Target,
    /// Gas used.
    pub gas_used: U256Target,
    /// Unix timestamp, seconds.
    pub timestamp: U256Target,
    /// Mix hash (`prevRandao` since the Merge).
    pub mix_hash: [Target; 32],
    /// Nonce, 8 big-endian bytes.
    pub nonce: [Target; 8],
    /// Base fee per gas, wei (0 when absent).
    pub base_fee_per_gas: U256Target,
    /// Withdrawals root (zero when absent).
    pub withdrawals_root: [Target; 32],
    /// Blob gas used (0 when absent).
    pub blob_gas_used: U256Target,
    /// Excess blob gas (0 when absent).
    pub excess_blob_gas: U256Target,
    /// Parent beacon block root (zero when absent).
    pub parent_beacon_block_root: [Target; 32],
    /// Requests hash (zero when absent).
    pub requests_hash: [Target; 32],
    /// `base_fee_per_gas` is present (London).
    pub has_base_fee_per_gas: BoolTarget,
    /// `withdrawals_root` is present (Shanghai).
    pub has_withdrawals_root: BoolTarget,
    /// `blob_gas_used`, `excess_blob_gas`, `parent_beacon_block_root` are present (Cancun).
    pub has_cancun_fields: BoolTarget,
    /// `requests_hash` is present (Prague).
    pub has_requests_hash: BoolTarget,
}

/// Header decoding on [`CircuitBuilder`].
pub trait CircuitBuilderHeader<F: RichField + Extendable<D>, const D: usize> {
    /// Decodes the RLP header in `bytes` (exactly [`MAX_HEADER_BYTES`] targets) of `len`
    /// bytes. See the module documentation for what is constrained.
    ///
    /// WARNING: the caller must range-check every byte to 8 bits, constrain the bytes at
    /// index `≥ len` to zero and enforce `len ≤ MAX_HEADER_BYTES`; the decoding is unsound
    /// otherwise. The presence flags are new virtual targets, set by
    /// [`set_header_witness`] (or [`set_header_presence`]).
    ///
    /// Cost: 493 rows under `standard_recursion_config` (see the `decoder_rows` test): 27
    /// bit decompositions (`BaseSumGate`), the rest arithmetic operations, mostly the
    /// barrel shifters' selects.
    fn decode_header(&mut self, bytes: &[Target], len: Target) -> HeaderFieldsTargets;
}

fn arr<const N: usize>(s: &[Target]) -> [Target; N] {
    s.try_into().expect("slice length")
}

impl<F: RichField + Extendable<D>, const D: usize> CircuitBuilderHeader<F, D>
    for CircuitBuilder<F, D>
{
    fn decode_header(&mut self, bytes: &[Target], len: Target) -> HeaderFieldsTargets {
        assert_eq!(bytes.len(), MAX_HEADER_BYTES, "header bytes");
        let zero = self.zero();

        // List prefix and length.
        self.assert_const(bytes[0], HEADER_LIST_PREFIX.into());
        let payload_len = self.mul_const_add(F::from_canonical_u64(256), bytes[1], bytes[2]);
        let total = self.add_const(payload_len, F::from_canonical_u64(3));
        self.connect(total, len);

        // Fixed-offset fields.
        for offset in [
            PARENT_HASH_OFFSET,
            OMMERS_HASH_OFFSET,
            STATE_ROOT_OFFSET,
            TRANSACTIONS_ROOT_OFFSET,
            RECEIPTS_ROOT_OFFSET,
        ] {
            self.assert_const(bytes[offset], PREFIX_32);
        }
        self.assert_const(bytes[BENEFICIARY_OFFSET], PREFIX_20);
        for (i, p) in LOGS_BLOOM_PREFIX.iter().enumerate() {
            self.assert_const(bytes[LOGS_BLOOM_OFFSET + i], *p);
        }
        let hash32 = |o: usize| -> [Target; 32] { arr(&bytes[o + 1..o + 33]) };

        // The variable part. Every position past MAX_HEADER_BYTES reads as zero.
        let window = &bytes[DIFFICULTY_OFFSET..];

        // difficulty ..= extra_data in a local window of their maximum total size, each item
        // shifting it by its length; then one shift of the whole window by their total.
        let scalars: [(usize, bool); 6] = [
            (HEADER_DIFFICULTY_MAX_BYTES, true),
            (HEADER_U64_MAX_BYTES, true),
            (HEADER_U64_MAX_BYTES, true),
            (HEADER_U64_MAX_BYTES, true),
            (HEADER_U64_MAX_BYTES, true),
            (HEADER_EXTRA_DATA_MAX_BYTES, false),
        ];
        let mut local: Vec<Target> = window[..GROUP_SCALARS_MAX].to_vec();
        let mut remaining = GROUP_SCALARS_MAX;
        let mut consumed = zero;
        let mut values = Vec::new();
        for (k, &(max, with_value)) in scalars.iter().enumerate() {
            let item = self.rlp_short_string(&local, max, with_value);
            consumed = self.add(consumed, item.prefix.item_len);
            if with_value {
                values.push(self.u256_from_right_aligned(&item.value));
            }
            remaining -= 1 + max;
            if k + 1 < scalars.len() {
                let bits = self.split_le(item.prefix.item_len, bits_for(max + 1));
                local = self.shift_left_var(&local, &bits, remaining);
            }
        }
        let bits = self.split_le(consumed, bits_for(GROUP_SCALARS_MAX));
        let rest = self.shift_left_var(window, &bits, MIX_NONCE_BYTES + OPTIONAL_MAX);

        // mix_hash and nonce: fixed sizes.
        self.assert_const(rest[0], PREFIX_32);
        let mix_hash: [Target; 32] = arr(&rest[1..33]);
        self.assert_const(rest[33], PREFIX_8);
        let nonce: [Target; 8] = arr(&rest[34..42]);

        // Optional fields with monotone presence flags.
        let has_base_fee_per_gas = self.add_virtual_bool_target_safe();
        let has_withdrawals_root = self.add_virtual_bool_target_safe();
        let has_cancun_fields = self.add_virtual_bool_target_safe();
        let has_requests_hash = self.add_virtual_bool_target_safe();
        for (later, earlier) in [
            (has_withdrawals_root, has_base_fee_per_gas),
            (has_cancun_fields, has_withdrawals_root),
            (has_requests_hash, has_cancun_fields),
        ] {
            // later · (1 − earlier) == 0
            let t = self.mul_sub(later.target, earlier.target, later.target);
            self.assert_zero(t);
        }
        // Window sizes after each optional item: the maxima of the items still to come.
        let after_base_fee = OPTIONAL_MAX - (1 + HEADER_BASE_FEE_MAX_BYTES);
        let after_withdrawals = after_base_fee - 33;
        let after_blob_gas_used = after_withdrawals - (1 + HEADER_U64_MAX_BYTES);
        let after_excess_blob_gas = after_blob_gas_used - (1 + HEADER_U64_MAX_BYTES);
        let after_beacon_root = after_excess_blob_gas - 33;
        let opt = &rest[MIX_NONCE_BYTES..];
        let (base_fee_per_gas, len_base_fee, opt) = self.optional_scalar(
            opt,
            has_base_fee_per_gas,
            HEADER_BASE_FEE_MAX_BYTES,
            after_base_fee,
        );
        let (withdrawals_root, opt) =
            self.optional_hash(&opt, has_withdrawals_root, after_withdrawals);
        let (blob_gas_used, len_blob_gas_used, opt) = self.optional_scalar(
            &opt,
            has_cancun_fields,
            HEADER_U64_MAX_BYTES,
            after_blob_gas_used,
        );
        let (excess_blob_gas, len_excess_blob_gas, opt) = self.optional_scalar(
            &opt,
            has_cancun_fields,
            HEADER_U64_MAX_BYTES,
            after_excess_blob_gas,
        );
        let (parent_beacon_block_root, opt) =
            self.optional_hash(&opt, has_cancun_fields, after_beacon_root);
        let (requests_hash, _) = self.optional_hash(&opt, has_requests_hash, 0);

        // Total length: every byte before `len` consumed, none after.
        let hashes = self.add_many([
            has_withdrawals_root.target,
            has_cancun_fields.target,
            has_requests_hash.target,
        ]);
        let consumed =
            self.add_many([consumed, len_base_fee, len_blob_gas_used, len_excess_blob_gas]);
        let total = self.mul_const_add(F::from_canonical_u64(33), hashes, consumed);
        let total =
            self.add_const(total, F::from_canonical_usize(DIFFICULTY_OFFSET + MIX_NONCE_BYTES));
        self.connect(total, len);

        let [difficulty, number, gas_limit, gas_used, timestamp]: [U256Target; 5] =
            values.try_into().expect("five scalars");
        HeaderFieldsTargets {
            bytes: bytes.to_vec(),
            len,
            parent_hash: hash32(PARENT_HASH_OFFSET),
            ommers_hash: hash32(OMMERS_HASH_OFFSET),
            beneficiary: arr(&bytes[BENEFICIARY_OFFSET + 1..BENEFICIARY_OFFSET + 21]),
            state_root: hash32(STATE_ROOT_OFFSET),
            transactions_root: hash32(TRANSACTIONS_ROOT_OFFSET),
            receipts_root: hash32(RECEIPTS_ROOT_OFFSET),
            logs_bloom: arr(&bytes[LOGS_BLOOM_OFFSET + 3..DIFFICULTY_OFFSET]),
            difficulty,
            number,
            gas_limit,
            gas_used,
            timestamp,
            mix_hash,
            nonce,
            base_fee_per_gas,
            withdrawals_root,
            blob_gas_used,
            excess_blob_gas,
            parent_beacon_block_root,
            requests_hash,
            has_base_fee_per_gas,
            has_withdrawals_root,
            has_cancun_fields,
            has_requests_hash,
        }
    }
}

/// Private helpers of the header decoder.
trait HeaderHelpers<F: RichField + Extendable<D>, const D: usize> {
    /// The canonical uint256 of a right-aligned big-endian value of at most 32 bytes.
    fn u256_from_right_aligned(&mut self, be: &[Target]) -> U256Target;
    /// An optional `0xa0` + 32-byte item at `window[0]`: the prefix is `0xa0` if `present`,
    /// else 0 (past the end); returns the hash and the window shifted past the item if
    /// present, `out_len` bytes long.
    fn optional_hash(
        &mut self,
        window: &[Target],
        present: BoolTarget,
        out_len: usize,
    ) -> ([Target; 32], Vec<Target>);
    /// An optional scalar item of at most `max` bytes at `window[0]`: returns its value, its
    /// length if `present` (else 0) and the window shifted by that length, `out_len` bytes
    /// long. An absent field sits at `len`, where the bytes are zero (caller's contract), so
    /// it decodes as the single byte 0 with value 0 and only its length needs masking.
    fn optional_scalar(
        &mut self,
        window: &[Target],
        present: BoolTarget,
        max: usize,
        out_len: usize,
    ) -> (U256Target, Target, Vec<Target>);
}

impl<F: RichField + Extendable<D>, const D: usize> HeaderHelpers<F, D> for CircuitBuilder<F, D> {
    fn u256_from_right_aligned(&mut self, be: &[Target]) -> U256Target {
        assert!(be.len() <= 32);
        let zero = self.zero();
        let mut padded = [zero; 32];
        padded[32 - be.len()..].copy_from_slice(be);
        self.u256_from_be_bytes(&padded)
    }

    fn optional_hash(
        &mut self,
        window: &[Target],
        present: BoolTarget,
        out_len: usize,
    ) -> ([Target; 32], Vec<Target>) {
        let prefix = self.mul_const(F::from_canonical_u64(PREFIX_32), present.target);
        self.connect(window[0], prefix);
        let hash = arr(&window[1..33]);
        let rest = if out_len == 0 {
            Vec::new()
        } else {
            self.shift_left_cond(window, present, 33, out_len)
        };
        (hash, rest)
    }

    fn optional_scalar(
        &mut self,
        window: &[Target],
        present: BoolTarget,
        max: usize,
        out_len: usize,
    ) -> (U256Target, Target, Vec<Target>) {
        let item = self.rlp_short_string(window, max, true);
        let item_len = self.mul(present.target, item.prefix.item_len);
        let bits = self.split_le(item_len, bits_for(max + 1));
        let rest = self.shift_left_var(window, &bits, out_len);
        (self.u256_from_right_aligned(&item.value), item_len, rest)
    }
}

/// Sets the presence flags of `targets`.
pub fn set_header_presence<F: RichField>(
    pw: &mut PartialWitness<F>,
    targets: &HeaderFieldsTargets,
    presence: HeaderPresence,
) -> Result<(), HeaderDecodeError> {
    let flags = [
        (targets.has_base_fee_per_gas, presence.base_fee_per_gas),
        (targets.has_withdrawals_root, presence.withdrawals_root),
        (targets.has_cancun_fields, presence.cancun_fields),
        (targets.has_requests_hash, presence.requests_hash),
    ];
    for (t, v) in flags {
        pw.set_bool_target(t, v)
            .map_err(|e| HeaderDecodeError::Witness { reason: e.to_string() })?;
    }
    Ok(())
}

/// Sets the header bytes (zero-padded to [`MAX_HEADER_BYTES`]), `len` and the presence flags
/// as given, without checking them; for tests that tamper with the witness.
///
/// WARNING: `targets.bytes` and `targets.len` must be virtual targets not set elsewhere.
pub fn set_header_witness_unchecked<F: RichField>(
    pw: &mut PartialWitness<F>,
    targets: &HeaderFieldsTargets,
    bytes: &[u8],
    len: usize,
    presence: HeaderPresence,
) -> Result<(), HeaderDecodeError> {
    if bytes.len() > MAX_HEADER_BYTES {
        return Err(HeaderDecodeError::TooLong { got: bytes.len(), max: MAX_HEADER_BYTES });
    }
    let witness_err = |e: anyhow::Error| HeaderDecodeError::Witness { reason: e.to_string() };
    for (i, t) in targets.bytes.iter().enumerate() {
        let v = bytes.get(i).copied().unwrap_or(0);
        pw.set_target(*t, F::from_canonical_u8(v)).map_err(witness_err)?;
    }
    pw.set_target(targets.len, F::from_canonical_usize(len)).map_err(witness_err)?;
    set_header_presence(pw, targets, presence)
}

/// Decodes `rlp` natively ([`decode_header_native`]) and sets the header bytes (zero-padded
/// to [`MAX_HEADER_BYTES`]), `len` and the presence flags. Returns the native fields, which
/// the circuit's outputs equal.
///
/// WARNING: `targets.bytes` and `targets.len` must be virtual targets not set elsewhere
/// (use [`set_header_presence`] when the bytes come from elsewhere).
pub fn set_header_witness<F: RichField>(
    pw: &mut PartialWitness<F>,
    targets: &HeaderFieldsTargets,
    rlp: &[u8],
) -> Result<HeaderFieldsNative, HeaderDecodeError> {
    let native = decode_header_native(rlp)?;
    set_header_witness_unchecked(pw, targets, rlp, rlp.len(), native.presence())?;
    Ok(native)
}
