//! The crate's one error type.

use alloy_primitives::B256;
use std::path::PathBuf;

/// Result alias of this crate.
pub type Result<T, E = IndexerError> = std::result::Result<T, E>;

/// Everything that can go wrong while fetching, verifying, storing or reading headers.
///
/// Every variant about a block names it (`number`, or `parent`/`child` for a link).
#[derive(Debug, thiserror::Error)]
pub enum IndexerError {
    /// keccak256 of the header's RLP differs from the hash the source reported.
    #[error("block {number}: header hashes to {got}, but the source reports {expected}")]
    HashMismatch {
        /// Block number.
        number: u64,
        /// Hash reported by the RPC node or the fixture file.
        expected: B256,
        /// keccak256 of the RLP rebuilt from the reported fields.
        got: B256,
    },
    /// An optional (fork) header field is present where the chain spec forbids it, or absent
    /// where it requires it.
    #[error(
        "block {number}: field {field} must be {} under {fork} rules",
        if *expected_present { "present" } else { "absent" }
    )]
    ForkFields {
        /// Block number.
        number: u64,
        /// snake_case field name.
        field: &'static str,
        /// Whether the spec requires the field.
        expected_present: bool,
        /// Fork whose rule applies (`"London"`, `"pre-Shanghai"`, ...).
        fork: &'static str,
    },
    /// The header's optional fields are not a prefix of the fork list (a later field is set
    /// while an earlier one is not), so its RLP does not decode back to the same header.
    #[error("block {number}: header fields do not round-trip through RLP (gap in fork fields)")]
    NonCanonical {
        /// Block number.
        number: u64,
    },
    /// `child.parent_hash != parent.hash` for consecutive blocks.
    #[error("block {child}: parent_hash {got} does not match hash {expected} of block {parent}")]
    ParentLink {
        /// The parent's number (`child - 1`).
        parent: u64,
        /// The child's number.
        child: u64,
        /// The parent's hash.
        expected: B256,
        /// The child's `parent_hash`.
        got: B256,
    },
    /// A header arrived where another block number was expected (RPC answer for the wrong
    /// block, or a batch that is not consecutive).
    #[error("block {expected}: got header of block {got} instead")]
    NumberMismatch {
        /// Requested / expected block number.
        expected: u64,
        /// Number in the header received.
        got: u64,
    },
    /// The RPC node answered `null` for the block.
    #[error("block {number}: not found on the RPC node")]
    BlockNotFound {
        /// Block number.
        number: u64,
    },
    /// The RPC call for a block failed (after `attempts` tries for transport errors).
    #[error("block {number}: RPC request failed after {attempts} attempt(s): {source}")]
    Rpc {
        /// Block number.
        number: u64,
        /// Attempts made.
        attempts: u32,
        /// Last error.
        #[source]
        source: Box<alloy::transports::TransportError>,
    },
    /// A block's receipts do not rebuild its header's `receipts_root` (Yellow Paper §4.3.1:
    /// the trie of EIP-2718 encodings keyed by `rlp(tx_index)`).
    #[error("block {number}: receipts rebuild receipts_root {got}, the header has {expected}")]
    ReceiptsRoot {
        /// Block number.
        number: u64,
        /// The header's `receipts_root`.
        expected: B256,
        /// The root of the receipts received.
        got: B256,
    },
    /// A block's receipts are inconsistent with their logs, their header or their position
    /// (bloom, cumulative gas, block number/hash, transaction index).
    #[error("block {number}: bad receipts: {reason}")]
    BadReceipts {
        /// Block number.
        number: u64,
        /// What does not match.
        reason: String,
    },
    /// An account or storage proof does not verify against the block's `state_root` (or the
    /// account's `storage_root`).
    #[error("block {number}: {what}: proof does not verify: {reason}")]
    BadProof {
        /// Block number.
        number: u64,
        /// The account, and the slot for a storage proof.
        what: String,
        /// alloy-trie's reason.
        reason: String,
    },
    /// Data a query reads (a block's receipts, an account or slot at a block) is not stored.
    #[error("block {number}: {what} not in the store (queries read complete data only)")]
    MissingData {
        /// Block number.
        number: u64,
        /// What is missing and how to get it.
        what: String,
    },
    /// A block of a requested range is not in the store.
    #[error("block {number}: not in the store (ranges must be complete)")]
    MissingBlock {
        /// First missing block number.
        number: u64,
    },
    /// The store already holds another header at this number (reorg or other chain).
    #[error("block {number}: store already holds hash {stored}, refusing {got}")]
    Conflict {
        /// Block number.
        number: u64,
        /// Hash in the store.
        stored: B256,
        /// Hash of the header being written.
        got: B256,
    },
    /// A u64 header value does not fit the signed 64-bit BIGINT column.
    #[error("block {number}: {field} = {value} exceeds the BIGINT range")]
    OutOfRange {
        /// Block number (or the value itself when the number is what overflows).
        number: u64,
        /// Column name.
        field: &'static str,
        /// Offending value.
        value: u64,
    },
    /// A stored row does not decode or does not hash to its stored hash.
    #[error("block {number}: stored row is corrupt: {reason}")]
    Corrupt {
        /// Block number.
        number: u64,
        /// What is wrong.
        reason: String,
    },
    /// Invalid arguments (empty or inverted range, bad URL, bad option).
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// Database error.
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
    /// Migration error.
    #[error("migrations: {0}")]
    Migrate(#[source] Box<sqlx::migrate::MigrateError>),
    /// File system error on `path`.
    #[error("{}: {source}", path.display())]
    Io {
        /// File or folder.
        path: PathBuf,
        /// Cause.
        #[source]
        source: std::io::Error,
    },
    /// A fixture file is not a JSON-RPC block/header object.
    #[error("{}: not a JSON-RPC block object: {source}", path.display())]
    Json {
        /// File.
        path: PathBuf,
        /// Cause.
        #[source]
        source: serde_json::Error,
    },
    /// A fixture file failed verification; `source` names the block.
    #[error("{}: {source}", path.display())]
    Fixture {
        /// File.
        path: PathBuf,
        /// Cause.
        #[source]
        source: Box<IndexerError>,
    },
    /// The local test chain (anvil) could not be started or driven ([`crate::testing`]).
    #[error("anvil: {0}")]
    Anvil(String),
}

impl From<sqlx::migrate::MigrateError> for IndexerError {
    fn from(e: sqlx::migrate::MigrateError) -> Self {
        IndexerError::Migrate(Box::new(e))
    }
}

impl IndexerError {
    /// The block the error is about, if any (the child for a broken link).
    pub fn block(&self) -> Option<u64> {
        use IndexerError::*;
        match self {
            HashMismatch { number, .. }
            | ForkFields { number, .. }
            | NonCanonical { number }
            | BlockNotFound { number }
            | Rpc { number, .. }
            | MissingBlock { number }
            | ReceiptsRoot { number, .. }
            | BadReceipts { number, .. }
            | BadProof { number, .. }
            | Conflict { number, .. }
            | OutOfRange { number, .. }
            | Corrupt { number, .. } => Some(*number),
            ParentLink { child, .. } => Some(*child),
            NumberMismatch { expected, .. } => Some(*expected),
            Fixture { source, .. } => source.block(),
            _ => None,
        }
    }
}
