//! Native twin of the header decoder: the same fields from the same bytes, decoded with
//! alloy (`alloy_consensus::Header`'s `Decodable`), plus the checks that make a header fit
//! the circuit's size limits.

use alloy_consensus::Header;
use alloy_primitives::{Address, Bloom, B256, B64, U256};
use alloy_rlp::{Decodable, Encodable};

use super::{HEADER_EXTRA_DATA_MAX_BYTES, MAX_HEADER_BYTES};

/// Why a header cannot be decoded or does not fit the circuit.
#[derive(Debug, thiserror::Error)]
pub enum HeaderDecodeError {
    /// The bytes are not an RLP header (alloy's decoder failed).
    #[error("header RLP: {0}")]
    Rlp(#[from] alloy_rlp::Error),
    /// The header is longer than [`MAX_HEADER_BYTES`].
    #[error("header is {got} bytes, the circuit takes at most {max}")]
    TooLong {
        /// Bytes of the header.
        got: usize,
        /// [`MAX_HEADER_BYTES`].
        max: usize,
    },
    /// Bytes are left after the header's RLP list.
    #[error("{got} bytes after the header's RLP list")]
    TrailingBytes {
        /// Bytes after the list.
        got: usize,
    },
    /// The header re-encodes to different bytes (a non-canonical encoding).
    #[error("header is not canonically encoded: re-encodes to {got} bytes, given {expected}")]
    NonCanonical {
        /// Length of the re-encoding.
        got: usize,
        /// Length of the given bytes.
        expected: usize,
    },
    /// A field is longer than the circuit's limit.
    #[error("{field} is {got} bytes, the circuit takes at most {max}")]
    FieldTooLong {
        /// Field name (Yellow Paper / EIP spelling).
        field: &'static str,
        /// Bytes of the field.
        got: usize,
        /// The limit.
        max: usize,
    },
    /// A field the circuit does not decode is present (later than `requests_hash`).
    #[error("header field {field} is not supported by the circuit")]
    UnsupportedField {
        /// Field name.
        field: &'static str,
    },
    /// Only some of `blob_gas_used`, `excess_blob_gas`, `parent_beacon_block_root` are
    /// present; the circuit takes the three (Cancun, EIP-4844/4788) together.
    #[error("Cancun fields partly present: blob_gas_used {blob_gas_used}, excess_blob_gas {excess_blob_gas}, parent_beacon_block_root {parent_beacon_block_root}")]
    PartialCancunFields {
        /// Whether `blob_gas_used` is present.
        blob_gas_used: bool,
        /// Whether `excess_blob_gas` is present.
        excess_blob_gas: bool,
        /// Whether `parent_beacon_block_root` is present.
        parent_beacon_block_root: bool,
    },
    /// plonky2 refused a witness value (a target set twice to different values).
    #[error("setting the header witness: {reason}")]
    Witness {
        /// plonky2's message.
        reason: String,
    },
}

/// Which optional (fork) fields a header has; the circuit's presence flags.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct HeaderPresence {
    /// `base_fee_per_gas` (London, EIP-1559).
    pub base_fee_per_gas: bool,
    /// `withdrawals_root` (Shanghai, EIP-4895).
    pub withdrawals_root: bool,
    /// `blob_gas_used`, `excess_blob_gas` (EIP-4844) and `parent_beacon_block_root`
    /// (EIP-4788), all three (Cancun).
    pub cancun_fields: bool,
    /// `requests_hash` (Prague, EIP-7685).
    pub requests_hash: bool,
}

/// The header fields decoded natively, as [`super::HeaderFieldsTargets`] decodes them in the
/// circuit (`extra_data` is consumed but not kept). Optional fields are `None` when absent;
/// the circuit reads them as zero with a presence flag off.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HeaderFieldsNative {
    /// Keccak hash of the parent header.
    pub parent_hash: B256,
    /// Keccak hash of the ommers list (`sha3Uncles`).
    pub ommers_hash: B256,
    /// Fee recipient (`miner`).
    pub beneficiary: Address,
    /// State trie root after the block.
    pub state_root: B256,
    /// Transactions trie root.
    pub transactions_root: B256,
    /// Receipts trie root.
    pub receipts_root: B256,
    /// Bloom filter of the block's logs (256 bytes).
    pub logs_bloom: Bloom,
    /// Proof-of-work difficulty (0 since the Merge).
    pub difficulty: U256,
    /// Block number.
    pub number: u64,
    /// Gas limit.
    pub gas_limit: u64,
    /// Gas used.
    pub gas_used: u64,
    /// Unix timestamp, seconds.
    pub timestamp: u64,
    /// Mix hash (`prevRandao` since the Merge).
    pub mix_hash: B256,
    /// Proof-of-work nonce (zero since the Merge).
    pub nonce: B64,
    /// Base fee per gas, wei (London).
    pub base_fee_per_gas: Option<u64>,
    /// Withdrawals trie root (Shanghai).
    pub withdrawals_root: Option<B256>,
    /// Blob gas used (Cancun).
    pub blob_gas_used: Option<u64>,
    /// Excess blob gas (Cancun).
    pub excess_blob_gas: Option<u64>,
    /// Parent beacon block root (Cancun).
    pub parent_beacon_block_root: Option<B256>,
    /// Hash of the execution-layer requests (Prague).
    pub requests_hash: Option<B256>,
}

impl HeaderFieldsNative {
    /// The fields of an alloy header (checks nothing; see [`decode_header_native`]).
    pub fn from_header(h: &Header) -> Self {
        Self {
            parent_hash: h.parent_hash,
            ommers_hash: h.ommers_hash,
            beneficiary: h.beneficiary,
            state_root: h.state_root,
            transactions_root: h.transactions_root,
            receipts_root: h.receipts_root,
            logs_bloom: h.logs_bloom,
            difficulty: h.difficulty,
            number: h.number,
            gas_limit: h.gas_limit,
            gas_used: h.gas_used,
            timestamp: h.timestamp,
            mix_hash: h.mix_hash,
            nonce: h.nonce,
            base_fee_per_gas: h.base_fee_per_gas,
            withdrawals_root: h.withdrawals_root,
            blob_gas_used: h.blob_gas_used,
            excess_blob_gas: h.excess_blob_gas,
            parent_beacon_block_root: h.parent_beacon_block_root,
            requests_hash: h.requests_hash,
        }
    }

    /// The presence flags of the optional fields.
    pub fn presence(&self) -> HeaderPresence {
        HeaderPresence {
            base_fee_per_gas: self.base_fee_per_gas.is_some(),
            withdrawals_root: self.withdrawals_root.is_some(),
            cancun_fields: self.parent_beacon_block_root.is_some(),
            requests_hash: self.requests_hash.is_some(),
        }
    }
}

/// Decodes an RLP header as the circuit does, and checks that it fits the circuit: at most
/// [`MAX_HEADER_BYTES`] bytes, canonical, `extra_data` at most
/// [`HEADER_EXTRA_DATA_MAX_BYTES`], the Cancun fields all or none, no field after
/// `requests_hash`. (The circuit itself accepts some non-canonical encodings, see
/// [`crate::rlp`]; this twin is stricter.)
pub fn decode_header_native(rlp: &[u8]) -> Result<HeaderFieldsNative, HeaderDecodeError> {
    if rlp.len() > MAX_HEADER_BYTES {
        return Err(HeaderDecodeError::TooLong { got: rlp.len(), max: MAX_HEADER_BYTES });
    }
    let mut buf = rlp;
    let header = Header::decode(&mut buf)?;
    if !buf.is_empty() {
        return Err(HeaderDecodeError::TrailingBytes { got: buf.len() });
    }
    if header.length() != rlp.len() {
        return Err(HeaderDecodeError::NonCanonical { got: header.length(), expected: rlp.len() });
    }
    if header.extra_data.len() > HEADER_EXTRA_DATA_MAX_BYTES {
        return Err(HeaderDecodeError::FieldTooLong {
            field: "extra_data",
            got: header.extra_data.len(),
            max: HEADER_EXTRA_DATA_MAX_BYTES,
        });
    }
    if header.block_access_list_hash.is_some() {
        return Err(HeaderDecodeError::UnsupportedField { field: "block_access_list_hash" });
    }
    if header.slot_number.is_some() {
        return Err(HeaderDecodeError::UnsupportedField { field: "slot_number" });
    }
    let cancun = [
        header.blob_gas_used.is_some(),
        header.excess_blob_gas.is_some(),
        header.parent_beacon_block_root.is_some(),
    ];
    if cancun.iter().any(|&p| p != cancun[0]) {
        return Err(HeaderDecodeError::PartialCancunFields {
            blob_gas_used: cancun[0],
            excess_blob_gas: cancun[1],
            parent_beacon_block_root: cancun[2],
        });
    }
    Ok(HeaderFieldsNative::from_header(&header))
}
