//! The `headers` table's columns (DESIGN.md §2), in the fixed order that is their column id.

use crate::plan::ValueType;
use alloy_consensus::Header;
use alloy_primitives::{Address, B256, U256};

/// Number of columns of `headers`.
pub const NUM_HEADER_COLUMNS: usize = 17;

/// A column of `headers`; the discriminant is the column id used by `Opcode::Column`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
#[repr(u8)]
pub enum HeaderColumn {
    /// Block number (Yellow Paper H_i).
    Number = 0,
    /// keccak256 of the RLP-encoded header.
    Hash = 1,
    /// H_p.
    ParentHash = 2,
    /// H_s, seconds since the Unix epoch.
    Timestamp = 3,
    /// H_c, fee recipient.
    Beneficiary = 4,
    /// H_r.
    StateRoot = 5,
    /// H_t.
    TransactionsRoot = 6,
    /// H_e.
    ReceiptsRoot = 7,
    /// H_d (0 after the merge).
    Difficulty = 8,
    /// H_l, gas.
    GasLimit = 9,
    /// H_g, gas.
    GasUsed = 10,
    /// EIP-1559 base fee, wei per gas (London+).
    BaseFeePerGas = 11,
    /// EIP-4895 (Shanghai+).
    WithdrawalsRoot = 12,
    /// EIP-4844 blob gas used (Cancun+).
    BlobGasUsed = 13,
    /// EIP-4844 excess blob gas (Cancun+).
    ExcessBlobGas = 14,
    /// EIP-4788 (Cancun+).
    ParentBeaconBlockRoot = 15,
    /// EIP-7685 (Prague+).
    RequestsHash = 16,
}

impl HeaderColumn {
    /// All columns in id order.
    pub const ALL: [HeaderColumn; NUM_HEADER_COLUMNS] = [
        HeaderColumn::Number,
        HeaderColumn::Hash,
        HeaderColumn::ParentHash,
        HeaderColumn::Timestamp,
        HeaderColumn::Beneficiary,
        HeaderColumn::StateRoot,
        HeaderColumn::TransactionsRoot,
        HeaderColumn::ReceiptsRoot,
        HeaderColumn::Difficulty,
        HeaderColumn::GasLimit,
        HeaderColumn::GasUsed,
        HeaderColumn::BaseFeePerGas,
        HeaderColumn::WithdrawalsRoot,
        HeaderColumn::BlobGasUsed,
        HeaderColumn::ExcessBlobGas,
        HeaderColumn::ParentBeaconBlockRoot,
        HeaderColumn::RequestsHash,
    ];

    /// SQL name (snake_case of the Yellow Paper / EIP name).
    pub fn name(self) -> &'static str {
        use HeaderColumn::*;
        match self {
            Number => "number",
            Hash => "hash",
            ParentHash => "parent_hash",
            Timestamp => "timestamp",
            Beneficiary => "beneficiary",
            StateRoot => "state_root",
            TransactionsRoot => "transactions_root",
            ReceiptsRoot => "receipts_root",
            Difficulty => "difficulty",
            GasLimit => "gas_limit",
            GasUsed => "gas_used",
            BaseFeePerGas => "base_fee_per_gas",
            WithdrawalsRoot => "withdrawals_root",
            BlobGasUsed => "blob_gas_used",
            ExcessBlobGas => "excess_blob_gas",
            ParentBeaconBlockRoot => "parent_beacon_block_root",
            RequestsHash => "requests_hash",
        }
    }

    /// Looks a column up by SQL name (case-insensitive).
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.name().eq_ignore_ascii_case(name))
    }

    /// Static type.
    pub fn value_type(self) -> ValueType {
        use HeaderColumn::*;
        match self {
            Hash
            | ParentHash
            | StateRoot
            | TransactionsRoot
            | ReceiptsRoot
            | WithdrawalsRoot
            | ParentBeaconBlockRoot
            | RequestsHash => ValueType::Bytes32,
            Beneficiary => ValueType::Address,
            _ => ValueType::Uint256,
        }
    }
}

/// One `headers` row: a value per column in id order, `None` = NULL.
pub type HeaderRow = [Option<U256>; NUM_HEADER_COLUMNS];

fn b256(h: B256) -> U256 {
    U256::from_be_bytes(h.0)
}

fn address(a: Address) -> U256 {
    U256::from_be_slice(a.as_slice())
}

/// Builds the row of a header; `hash` is the header's (already verified) block hash.
pub fn header_row(header: &Header, hash: B256) -> HeaderRow {
    [
        Some(U256::from(header.number)),
        Some(b256(hash)),
        Some(b256(header.parent_hash)),
        Some(U256::from(header.timestamp)),
        Some(address(header.beneficiary)),
        Some(b256(header.state_root)),
        Some(b256(header.transactions_root)),
        Some(b256(header.receipts_root)),
        Some(header.difficulty),
        Some(U256::from(header.gas_limit)),
        Some(U256::from(header.gas_used)),
        header.base_fee_per_gas.map(U256::from),
        header.withdrawals_root.map(b256),
        header.blob_gas_used.map(U256::from),
        header.excess_blob_gas.map(U256::from),
        header.parent_beacon_block_root.map(b256),
        header.requests_hash.map(b256),
    ]
}
