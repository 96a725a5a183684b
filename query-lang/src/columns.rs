//! The tables' columns (DESIGN.md §2), each table's in the fixed order that is their column id
//! (the operand of `Opcode::Column`), and the builders of rows from verified chain data.
//!
//! Column 0 of every table is its block number (`number` in `headers`, `block_number`
//! elsewhere): the range conjunct and the evaluator's row order use it.
//!
//! Types: block numbers, counts, gas, wei and words are `uint256`; hashes and topics `bytes32`;
//! addresses `address` (right-aligned in the word). A column is NULL where the row has no such
//! field (a fork's missing header field, a pre-Byzantium `status`, an absent topic, a data word
//! past the end of the data).

use crate::plan::{Table, ValueType};
use alloy_consensus::Header;
use alloy_primitives::{Address, B256, U256};

/// Defines a column enum (`#[repr(u8)]`, discriminant = column id) with `ALL`, `name`,
/// `from_name` and `value_type`, plus its column count.
macro_rules! columns {
    (
        $(#[$meta:meta])* $enum:ident, $count:ident, $table:literal;
        $( $(#[$vmeta:meta])* $variant:ident = $id:literal, $name:literal, $ty:ident; )+
    ) => {
        #[doc = concat!("Number of columns of `", $table, "`.")]
        pub const $count: usize = [$($id),+].len();

        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
        #[serde(rename_all = "snake_case")]
        #[repr(u8)]
        pub enum $enum {
            $( $(#[$vmeta])* $variant = $id, )+
        }

        impl $enum {
            /// All columns in id order.
            pub const ALL: [$enum; $count] = [$($enum::$variant),+];

            /// SQL name (snake_case of the Yellow Paper / EIP name).
            pub fn name(self) -> &'static str {
                match self { $( $enum::$variant => $name, )+ }
            }

            /// Looks a column up by SQL name (case-insensitive).
            pub fn from_name(name: &str) -> Option<Self> {
                Self::ALL.into_iter().find(|c| c.name().eq_ignore_ascii_case(name))
            }

            /// Static type.
            pub fn value_type(self) -> ValueType {
                match self { $( $enum::$variant => ValueType::$ty, )+ }
            }
        }
    };
}

columns! {
    /// A column of `headers`: one row per block.
    HeaderColumn, NUM_HEADER_COLUMNS, "headers";
    /// Block number (Yellow Paper H_i).
    Number = 0, "number", Uint256;
    /// keccak256 of the RLP-encoded header.
    Hash = 1, "hash", Bytes32;
    /// H_p.
    ParentHash = 2, "parent_hash", Bytes32;
    /// H_s, seconds since the Unix epoch.
    Timestamp = 3, "timestamp", Uint256;
    /// H_c, fee recipient.
    Beneficiary = 4, "beneficiary", Address;
    /// H_r.
    StateRoot = 5, "state_root", Bytes32;
    /// H_t.
    TransactionsRoot = 6, "transactions_root", Bytes32;
    /// H_e.
    ReceiptsRoot = 7, "receipts_root", Bytes32;
    /// H_d (0 after the merge).
    Difficulty = 8, "difficulty", Uint256;
    /// H_l, gas.
    GasLimit = 9, "gas_limit", Uint256;
    /// H_g, gas.
    GasUsed = 10, "gas_used", Uint256;
    /// EIP-1559 base fee, wei per gas (London+).
    BaseFeePerGas = 11, "base_fee_per_gas", Uint256;
    /// EIP-4895 (Shanghai+).
    WithdrawalsRoot = 12, "withdrawals_root", Bytes32;
    /// EIP-4844 blob gas used (Cancun+).
    BlobGasUsed = 13, "blob_gas_used", Uint256;
    /// EIP-4844 excess blob gas (Cancun+).
    ExcessBlobGas = 14, "excess_blob_gas", Uint256;
    /// EIP-4788 (Cancun+).
    ParentBeaconBlockRoot = 15, "parent_beacon_block_root", Bytes32;
    /// EIP-7685 (Prague+).
    RequestsHash = 16, "requests_hash", Bytes32;
}

columns! {
    /// A column of `receipts`: one row per transaction (Yellow Paper §4.4.1, EIP-658, EIP-2718).
    ReceiptColumn, NUM_RECEIPT_COLUMNS, "receipts";
    /// Block number.
    BlockNumber = 0, "block_number", Uint256;
    /// Position of the transaction in its block (the receipts-trie key is `rlp(tx_index)`).
    TxIndex = 1, "tx_index", Uint256;
    /// EIP-2718 type (0 legacy, 1 EIP-2930, 2 EIP-1559, 3 EIP-4844, 4 EIP-7702).
    TxType = 2, "tx_type", Uint256;
    /// EIP-658 status, 1 success / 0 failure; NULL before Byzantium (post-state root instead).
    Status = 3, "status", Uint256;
    /// Gas used in the block up to and including this transaction.
    CumulativeGasUsed = 4, "cumulative_gas_used", Uint256;
    /// Gas used by this transaction: its cumulative gas minus the previous receipt's.
    GasUsed = 5, "gas_used", Uint256;
    /// Number of logs the transaction emitted.
    LogCount = 6, "log_count", Uint256;
}

/// Number of 32-byte data words of a log that queries can read: `word(data, i)` for
/// `i < MAX_LOG_DATA_WORDS` (event data of up to 256 bytes covers ERC-20, ERC-721 and
/// Uniswap v2/v3 swaps).
pub const MAX_LOG_DATA_WORDS: usize = 8;

columns! {
    /// A column of `logs`: one row per log (Yellow Paper §4.4.1). `word(data, i)` is column
    /// `LogColumn::Word0 as u8 + i`.
    LogColumn, NUM_LOG_COLUMNS, "logs";
    /// Block number.
    BlockNumber = 0, "block_number", Uint256;
    /// Position of the emitting transaction in its block.
    TxIndex = 1, "tx_index", Uint256;
    /// Position of the log in its block (JSON-RPC `logIndex`).
    LogIndex = 2, "log_index", Uint256;
    /// Emitting contract.
    Address = 3, "address", Address;
    /// First topic (the event signature hash for non-anonymous events); NULL when absent.
    Topic0 = 4, "topic0", Bytes32;
    /// Second topic; NULL when absent.
    Topic1 = 5, "topic1", Bytes32;
    /// Third topic; NULL when absent.
    Topic2 = 6, "topic2", Bytes32;
    /// Fourth topic; NULL when absent.
    Topic3 = 7, "topic3", Bytes32;
    /// `word(data, 0)`: data bytes 0..32 as a big-endian uint256 (a short last word is
    /// zero-padded on the right, as in the ABI); NULL when the data is shorter.
    Word0 = 8, "word(data, 0)", Uint256;
    /// `word(data, 1)`.
    Word1 = 9, "word(data, 1)", Uint256;
    /// `word(data, 2)`.
    Word2 = 10, "word(data, 2)", Uint256;
    /// `word(data, 3)`.
    Word3 = 11, "word(data, 3)", Uint256;
    /// `word(data, 4)`.
    Word4 = 12, "word(data, 4)", Uint256;
    /// `word(data, 5)`.
    Word5 = 13, "word(data, 5)", Uint256;
    /// `word(data, 6)`.
    Word6 = 14, "word(data, 6)", Uint256;
    /// `word(data, 7)`.
    Word7 = 15, "word(data, 7)", Uint256;
}

columns! {
    /// A column of `accounts`: point rows at `(block_number, address)` (Yellow Paper §4.1).
    AccountColumn, NUM_ACCOUNT_COLUMNS, "accounts";
    /// Block number (the state after this block).
    BlockNumber = 0, "block_number", Uint256;
    /// The account.
    Address = 1, "address", Address;
    /// `σ[a]_n`; 0 for an absent account.
    Nonce = 2, "nonce", Uint256;
    /// `σ[a]_b`, wei; 0 for an absent account.
    Balance = 3, "balance", Uint256;
    /// `σ[a]_s`; the empty-trie root for an absent account or one without storage.
    StorageRoot = 4, "storage_root", Bytes32;
    /// `σ[a]_c`; keccak256 of the empty string for an absent account or one without code.
    CodeHash = 5, "code_hash", Bytes32;
}

columns! {
    /// A column of `storage`: point rows at `(block_number, address, slot)`.
    StorageColumn, NUM_STORAGE_COLUMNS, "storage";
    /// Block number (the state after this block).
    BlockNumber = 0, "block_number", Uint256;
    /// The contract.
    Address = 1, "address", Address;
    /// The slot, as the 32-byte key `SLOAD` takes, read as a uint256.
    Slot = 2, "slot", Uint256;
    /// The slot's value; 0 for an unset slot or an absent account.
    Value = 3, "value", Uint256;
}

impl Table {
    /// Every table, in id order.
    pub const ALL: [Table; 5] =
        [Table::Headers, Table::Receipts, Table::Logs, Table::Accounts, Table::Storage];

    /// Decodes a table byte.
    pub fn from_u8(b: u8) -> Option<Self> {
        Self::ALL.get(b as usize).copied()
    }

    /// SQL name.
    pub fn name(self) -> &'static str {
        match self {
            Table::Headers => "headers",
            Table::Receipts => "receipts",
            Table::Logs => "logs",
            Table::Accounts => "accounts",
            Table::Storage => "storage",
        }
    }

    /// Looks a table up by SQL name (case-insensitive).
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.name().eq_ignore_ascii_case(name))
    }

    /// Number of columns (column ids are `0..num_columns()`).
    pub fn num_columns(self) -> usize {
        match self {
            Table::Headers => NUM_HEADER_COLUMNS,
            Table::Receipts => NUM_RECEIPT_COLUMNS,
            Table::Logs => NUM_LOG_COLUMNS,
            Table::Accounts => NUM_ACCOUNT_COLUMNS,
            Table::Storage => NUM_STORAGE_COLUMNS,
        }
    }

    /// Name and type of column `id`, `None` past the last column.
    pub fn column(self, id: u8) -> Option<(&'static str, ValueType)> {
        let i = id as usize;
        let pair = |name: &'static str, ty| (name, ty);
        match self {
            Table::Headers => HeaderColumn::ALL.get(i).map(|c| pair(c.name(), c.value_type())),
            Table::Receipts => ReceiptColumn::ALL.get(i).map(|c| pair(c.name(), c.value_type())),
            Table::Logs => LogColumn::ALL.get(i).map(|c| pair(c.name(), c.value_type())),
            Table::Accounts => AccountColumn::ALL.get(i).map(|c| pair(c.name(), c.value_type())),
            Table::Storage => StorageColumn::ALL.get(i).map(|c| pair(c.name(), c.value_type())),
        }
    }

    /// Name of column `id`.
    pub fn column_name(self, id: u8) -> Option<&'static str> {
        self.column(id).map(|(n, _)| n)
    }

    /// The id of the column named `name` (case-insensitive). `word(data, i)` columns of `logs`
    /// are not identifiers and are not found here.
    pub fn column_id(self, name: &str) -> Option<u8> {
        (0..self.num_columns() as u8)
            .find(|&id| self.column_name(id).is_some_and(|n| n.eq_ignore_ascii_case(name)))
            .filter(|&id| !(self == Table::Logs && id >= LogColumn::Word0 as u8))
    }

    /// Names of the identifier columns, comma-separated (for error messages); `logs` adds
    /// `word(data, i)`.
    pub fn columns_list(self) -> String {
        let mut names: Vec<&str> = (0..self.num_columns() as u8)
            .filter_map(|id| self.column_name(id))
            .filter(|n| !n.starts_with("word("))
            .collect();
        if self == Table::Logs {
            names.push("word(data, i)");
        }
        names.join(", ")
    }

    /// Whether rows are points named by the query (`accounts`, `storage`) rather than
    /// everything the chain holds in the range.
    pub fn has_points(self) -> bool {
        matches!(self, Table::Accounts | Table::Storage)
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

/// A row of any table: one value per column in id order, `None` = NULL.
pub type Row = Vec<Option<U256>>;

/// `word(data, i)`: bytes `32 i .. 32 i + 32` of `data` as a big-endian uint256, a short last
/// word zero-padded on the right (ABI layout); `None` when `data` has fewer than `32 i + 1`
/// bytes.
pub fn data_word(data: &[u8], i: usize) -> Option<U256> {
    let start = i.checked_mul(32)?;
    let chunk = data.get(start..)?;
    if chunk.is_empty() {
        return None;
    }
    let mut word = [0u8; 32];
    let n = chunk.len().min(32);
    word[..n].copy_from_slice(&chunk[..n]);
    Some(U256::from_be_bytes(word))
}

/// The `receipts` and `logs` rows of one block from its receipts in transaction order (already
/// verified against the header's `receipts_root`): `gas_used` is the difference of consecutive
/// `cumulative_gas_used`, `log_index` counts logs across the block (JSON-RPC `logIndex`).
pub fn block_receipt_rows(
    block_number: u64,
    receipts: &[alloy_consensus::ReceiptEnvelope],
) -> (Vec<Row>, Vec<Row>) {
    use alloy_consensus::{Eip658Value, TxReceipt};
    let (mut receipt_rows, mut log_rows) = (Vec::new(), Vec::new());
    let mut previous_gas = 0u64;
    let number = Some(U256::from(block_number));
    for (tx_index, r) in receipts.iter().enumerate() {
        let cumulative = r.cumulative_gas_used();
        let status = match r.status_or_post_state() {
            Eip658Value::Eip658(ok) => Some(U256::from(u8::from(ok))),
            Eip658Value::PostState(_) => None,
        };
        receipt_rows.push(vec![
            number,
            Some(U256::from(tx_index)),
            Some(U256::from(r.tx_type() as u8)),
            status,
            Some(U256::from(cumulative)),
            Some(U256::from(cumulative.saturating_sub(previous_gas))),
            Some(U256::from(r.logs().len())),
        ]);
        previous_gas = cumulative;
        for log in r.logs() {
            let topics = log.topics();
            let mut row = vec![
                number,
                Some(U256::from(tx_index)),
                Some(U256::from(log_rows.len())),
                Some(address(log.address)),
            ];
            row.extend((0..4).map(|t| topics.get(t).map(|h| b256(*h))));
            row.extend((0..MAX_LOG_DATA_WORDS).map(|i| data_word(&log.data.data, i)));
            log_rows.push(row);
        }
    }
    (receipt_rows, log_rows)
}

/// The `accounts` row of `address` at `block_number` (an absent account is all zeros with the
/// empty storage root and code hash, as its exclusion proof shows).
pub fn account_row(
    block_number: u64,
    address_: Address,
    nonce: u64,
    balance: U256,
    storage_root: B256,
    code_hash: B256,
) -> Row {
    vec![
        Some(U256::from(block_number)),
        Some(address(address_)),
        Some(U256::from(nonce)),
        Some(balance),
        Some(b256(storage_root)),
        Some(b256(code_hash)),
    ]
}

/// The `storage` row of `slot` of `address_` at `block_number`.
pub fn storage_row(block_number: u64, address_: Address, slot: B256, value: U256) -> Row {
    vec![Some(U256::from(block_number)), Some(address(address_)), Some(b256(slot)), Some(value)]
}

/// Solidity's storage slot of `mapping[key]` for a mapping at `base_slot`:
/// `keccak256(key ‖ base_slot)`, both as 32-byte big-endian words (value-type keys: an address
/// is left-padded to 32 bytes). Nested mappings apply it repeatedly
/// (`m[a][b]` is `mapping_slot(b, mapping_slot(a, base))`).
pub fn mapping_slot(key: U256, base_slot: U256) -> U256 {
    let mut preimage = [0u8; 64];
    preimage[..32].copy_from_slice(&key.to_be_bytes::<32>());
    preimage[32..].copy_from_slice(&base_slot.to_be_bytes::<32>());
    U256::from_be_bytes(alloy_primitives::keccak256(preimage).0)
}

/// How a storage slot derives from Solidity mappings: `keys` applied in order to `base`, so
/// `m[a][b]` for a mapping `m` at slot `p` is `MappingPath { base: p, keys: vec![a, b] }` and
/// its slot is `mapping_slot(b, mapping_slot(a, p))`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Default)]
pub struct MappingPath {
    /// The mapping's declared slot.
    pub base: U256,
    /// The keys, outermost mapping first (at least one).
    pub keys: Vec<U256>,
}

impl MappingPath {
    /// The slot the path names: [`mapping_slot`] folded over `keys` from `base`.
    pub fn slot(&self) -> U256 {
        self.keys.iter().fold(self.base, |slot, key| mapping_slot(*key, slot))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_words_pad_and_end() {
        let data: Vec<u8> = (1..=40).collect();
        assert_eq!(data_word(&data, 0), Some(U256::from_be_slice(&data[..32])));
        let mut last = [0u8; 32];
        last[..8].copy_from_slice(&data[32..]);
        assert_eq!(data_word(&data, 1), Some(U256::from_be_bytes(last)));
        assert_eq!(data_word(&data, 2), None);
        assert_eq!(data_word(&[], 0), None);
    }

    #[test]
    fn mapping_slot_matches_solidity() {
        // balanceOf[0x...01] of a mapping at slot 0: keccak256(abi.encode(address(1), 0)),
        // computed independently from the 64-byte preimage.
        let expected = alloy_primitives::b256!(
            "ada5013122d395ba3c54772283fb069b10426056ef8ca54750cb9bb552a59e7d"
        );
        assert_eq!(mapping_slot(U256::from(1), U256::ZERO), U256::from_be_bytes(expected.0));
        let path = MappingPath { base: U256::ZERO, keys: vec![U256::from(1), U256::from(2)] };
        assert_eq!(path.slot(), mapping_slot(U256::from(2), U256::from_be_bytes(expected.0)));
    }

    #[test]
    fn column_ids_are_positions() {
        for (i, c) in LogColumn::ALL.iter().enumerate() {
            assert_eq!(*c as usize, i);
        }
        assert_eq!(LogColumn::Word0 as usize + MAX_LOG_DATA_WORDS, NUM_LOG_COLUMNS);
        assert_eq!(HeaderColumn::from_name("GAS_USED"), Some(HeaderColumn::GasUsed));
        assert_eq!(StorageColumn::Slot.value_type(), ValueType::Uint256);
    }
}
