//! The rows of a compiled query, read from the store: what the native evaluator
//! ([`annals_query_lang::CompiledQuery::evaluate`]) runs over (DESIGN.md §2, §3).
//!
//! Every row comes from data that verified when it was stored and verifies again when read
//! (`headers` by hash, receipts against `receipts_root`/`logs_bloom`, accounts and slots against
//! `state_root`/`storage_root`), and the set is complete: every block of the range (every
//! sampled block for a sampled query) must be present, else an error names the first block or
//! point missing. Nothing here talks to a node except [`fetch_query_points`].

use crate::error::{IndexerError, Result};
use crate::rpc::IndexOptions;
use crate::state::fetch_account;
use crate::store::{HeaderProvider, Store};
use alloy::providers::Provider;
use alloy_primitives::B256;
use annals_query_lang::columns::{account_row, block_receipt_rows, storage_row, Row};
use annals_query_lang::plan::Table;
use annals_query_lang::CompiledQuery;

/// The slots of a query's points as 32-byte keys.
fn slot_keys(query: &CompiledQuery) -> Vec<B256> {
    query.logical.points.slots.iter().map(|s| B256::from(s.to_be_bytes::<32>())).collect()
}

impl Store {
    /// The rows of `query`'s table over its range, in block order (within a block: transaction
    /// order, log order, or the points' address-major order), ready for
    /// [`CompiledQuery::evaluate`].
    ///
    /// Errors: [`IndexerError::MissingBlock`] for a header of the range not indexed;
    /// [`IndexerError::MissingData`] for a block whose receipts are not indexed or a point
    /// (block, address, slot) not fetched; [`IndexerError::Corrupt`] when stored data no longer
    /// verifies.
    pub async fn query_rows(&self, query: &CompiledQuery) -> Result<Vec<Row>> {
        let range = query.from_block..=query.to_block;
        match query.program.table {
            Table::Headers => {
                Ok(self.header_rows(range).await?.into_iter().map(|r| r.to_vec()).collect())
            }
            Table::Receipts | Table::Logs => {
                let mut rows = Vec::new();
                for n in query.sampled_blocks() {
                    let receipts =
                        self.receipts(n).await?.ok_or_else(|| IndexerError::MissingData {
                            number: n,
                            what: "receipts (run `annals index --receipts`)".into(),
                        })?;
                    let envelopes: Vec<_> = receipts.into_iter().map(|r| r.receipt).collect();
                    let (receipt_rows, log_rows) = block_receipt_rows(n, &envelopes);
                    rows.extend(if query.program.table == Table::Receipts {
                        receipt_rows
                    } else {
                        log_rows
                    });
                }
                Ok(rows)
            }
            Table::Accounts | Table::Storage => {
                let slots = slot_keys(query);
                let mut rows = Vec::new();
                for n in query.sampled_blocks() {
                    for &address in &query.logical.points.addresses {
                        let missing = |what: String| IndexerError::MissingData { number: n, what };
                        let account = self.account(n, address, &slots).await?.ok_or_else(|| {
                            missing(format!("account {address} (fetch it with eth_getProof)"))
                        })?;
                        if query.program.table == Table::Accounts {
                            rows.push(account_row(
                                n,
                                address,
                                account.nonce,
                                account.balance,
                                account.storage_root,
                                account.code_hash,
                            ));
                            continue;
                        }
                        for slot in &slots {
                            let value = account
                                .slots
                                .iter()
                                .find(|s| s.slot == *slot)
                                .map(|s| s.value)
                                .ok_or_else(|| {
                                    missing(format!("slot {slot} of {address} (eth_getProof)"))
                                })?;
                            rows.push(storage_row(n, address, *slot, value));
                        }
                    }
                }
                Ok(rows)
            }
        }
    }
}

/// For an `accounts`/`storage` query: fetches with `eth_getProof` (verified, then stored) every
/// point of every sampled block that the store lacks; returns how many (block, address) proofs
/// were fetched. Other tables: nothing to do.
///
/// Errors: those of [`fetch_account`] (a header not indexed, a proof that does not verify, RPC
/// failures).
pub async fn fetch_query_points<P: Provider>(
    store: &Store,
    provider: &P,
    query: &CompiledQuery,
    opts: &IndexOptions,
) -> Result<usize> {
    if !query.program.table.has_points() {
        return Ok(0);
    }
    let slots = slot_keys(query);
    let mut fetched = 0;
    for n in query.sampled_blocks() {
        for &address in &query.logical.points.addresses {
            let stored = store.account(n, address, &slots).await?;
            if stored.is_some_and(|a| a.slots.len() == slots.len()) {
                continue;
            }
            fetch_account(store, provider, n, address, &slots, opts).await?;
            fetched += 1;
        }
    }
    Ok(fetched)
}
