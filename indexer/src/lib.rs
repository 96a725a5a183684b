//! Annals indexer: pulls Ethereum block headers and receipts (JSON-RPC or fixture folders), verifies them
//! (hash of the RLP, fork field list, `parent_hash` links) and stores them with sqlx in SQLite
//! (embedded default) or PostgreSQL, raw RLP next to the decoded `headers` columns of DESIGN.md §2,
//! with a checkpoint so indexing resumes after a crash (DESIGN.md §9).
//!
//! - [`verify`] — [`ChainSpec`], [`verify_rpc_header`], [`verify_links`].
//! - [`store`] — [`Store`] (SQLite / PostgreSQL, migrations in `indexer/migrations/`),
//!   [`HeaderProvider`] (the read API the query evaluator and circuits use), [`StoredHeader`].
//! - [`rpc`] — [`index_range`].
//! - [`fixtures`] — [`import_dir`].
//! - [`state`] — [`verify_account_proof`] (`eth_getProof` against `state_root` with
//!   alloy-trie), [`fetch_account`], [`import_proofs_dir`]; tables `accounts`, `storage`.
//! - [`receipts`] — [`verify_block_receipts`] (receipts_root, blooms, cumulative gas),
//!   [`index_receipts`], [`import_receipts_dir`], [`StoredReceipt`]; tables `receipts`, `logs`.
//! - [`rows`] — `Store::query_rows` (a compiled query's rows from verified stored data, for
//!   the native evaluator), [`fetch_query_points`] (eth_getProof for an `accounts`/`storage`
//!   query's missing points).
//! - `testing` (hidden): an anvil launcher and block producer for tests and the `node` demo.
//!
//! No feature flags.

pub mod error;
pub mod fixtures;
pub mod receipts;
pub mod rows;
pub mod rpc;
pub mod state;
pub mod store;
#[doc(hidden)]
pub mod testing;
pub mod verify;

pub use error::{IndexerError, Result};
pub use fixtures::{import_dir, import_dir_with_spec, ImportReport};
pub use receipts::{
    import_receipts_dir, index_receipts, index_receipts_with_provider, verify_block_receipts,
    ReceiptsImportReport, ReceiptsReport, ReceiptsSource, StoredReceipt,
};
pub use rows::fetch_query_points;
pub use rpc::{index_range, index_range_with_provider, IndexOptions, IndexReport};
pub use state::{
    fetch_account, import_proofs_dir, verify_account_proof, ProofsImportReport, VerifiedAccount,
    VerifiedSlot,
};
pub use store::{Backend, HeaderProvider, Store, StoredHeader};
pub use verify::{verify_links, verify_rpc_block, verify_rpc_header, ChainSpec};
