//! Receipts and logs: verification against the header, storage, JSON-RPC indexing
//! (`eth_getBlockReceipts`, falling back to `eth_getTransactionReceipt` per transaction) and
//! fixture import.
//!
//! A block's receipts are accepted only when, natively:
//! - the trie of their EIP-2718 encodings keyed by `rlp(tx_index)` has the header's
//!   `receipts_root` (Yellow Paper §4.3.1; alloy-trie through
//!   `alloy_consensus::proofs::calculate_receipt_root`);
//! - each receipt's bloom is the bloom of its logs, and their OR is the header's `logs_bloom`
//!   (Yellow Paper §4.3.1, eq. 26–30);
//! - cumulative gas never decreases and ends at the header's `gas_used`;
//! - the RPC metadata (block number and hash, transaction index, log index) matches the
//!   position.
//!
//! Pre-Byzantium receipts (a post-state root instead of the EIP-658 status) and typed receipts
//! (EIP-2718 types 1–4) are all handled by alloy's `ReceiptEnvelope`.

use crate::fixtures::{json_files, read_json};
use crate::rpc::{progress_bar, resume_start, with_retries, IndexOptions};
use crate::store::{to_i64, UPSERT_CHECKPOINT};
use crate::{HeaderProvider, IndexerError, Result, Store, StoredHeader};
use alloy::eips::eip2718::{Decodable2718, Encodable2718};
use alloy::eips::{BlockId, BlockNumberOrTag};
use alloy::providers::Provider;
use alloy::rpc::types::TransactionReceipt;
use alloy::transports::RpcError;
use alloy_consensus::{Eip658Value, ReceiptEnvelope, TxReceipt};
use alloy_primitives::{logs_bloom, Bloom, B256};
use futures::StreamExt;
use sqlx::Row;
use std::path::{Path, PathBuf};

/// One verified receipt.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredReceipt {
    /// Block number.
    pub block_number: u64,
    /// Position in the block (the trie key is `rlp(tx_index)`).
    pub tx_index: u64,
    /// Gas used by this transaction: its cumulative gas minus the previous receipt's (gas).
    pub gas_used: u64,
    /// The decoded receipt.
    pub receipt: ReceiptEnvelope,
    /// Its EIP-2718 encoding (`type || rlp(...)` for typed receipts, `rlp(...)` for legacy).
    pub encoded: Vec<u8>,
}

impl StoredReceipt {
    /// EIP-658 status (`Some(true)` = success) from Byzantium on, `None` before it.
    pub fn status(&self) -> Option<bool> {
        match self.receipt.status_or_post_state() {
            Eip658Value::Eip658(s) => Some(s),
            Eip658Value::PostState(_) => None,
        }
    }

    /// Pre-Byzantium intermediate state root, `None` from Byzantium on.
    pub fn post_state(&self) -> Option<B256> {
        match self.receipt.status_or_post_state() {
            Eip658Value::Eip658(_) => None,
            Eip658Value::PostState(r) => Some(r),
        }
    }
}

/// Checks a block's receipts (in transaction order) against its verified header; see the
/// module doc for what is checked.
///
/// Errors: [`IndexerError::ReceiptsRoot`] when the trie root differs (a receipt missing,
/// added, reordered or altered), [`IndexerError::BadReceipts`] for the other checks; both name
/// the block.
pub fn verify_block_receipts(
    header: &StoredHeader,
    receipts: Vec<ReceiptEnvelope>,
) -> Result<Vec<StoredReceipt>> {
    let number = header.number;
    let bad = |reason: String| IndexerError::BadReceipts { number, reason };
    let got = alloy_consensus::proofs::calculate_receipt_root(&receipts);
    if got != header.header.receipts_root {
        return Err(IndexerError::ReceiptsRoot {
            number,
            expected: header.header.receipts_root,
            got,
        });
    }
    let mut block_bloom = Bloom::ZERO;
    let mut prev_gas = 0u64;
    let mut out = Vec::with_capacity(receipts.len());
    for (i, receipt) in receipts.into_iter().enumerate() {
        let bloom = receipt.bloom();
        if bloom != logs_bloom(receipt.logs()) {
            return Err(bad(format!("receipt {i}: bloom is not the bloom of its logs")));
        }
        block_bloom |= bloom;
        let cumulative = receipt.cumulative_gas_used();
        let gas_used = cumulative.checked_sub(prev_gas).ok_or_else(|| {
            bad(format!("receipt {i}: cumulative gas {cumulative} below the previous {prev_gas}"))
        })?;
        prev_gas = cumulative;
        let encoded = receipt.encoded_2718();
        out.push(StoredReceipt {
            block_number: number,
            tx_index: i as u64,
            gas_used,
            receipt,
            encoded,
        });
    }
    if block_bloom != header.header.logs_bloom {
        return Err(bad("OR of the receipt blooms is not the header's logs_bloom".into()));
    }
    if prev_gas != header.header.gas_used {
        return Err(bad(format!(
            "last cumulative gas {prev_gas} is not the header's gas_used {}",
            header.header.gas_used
        )));
    }
    Ok(out)
}

/// Checks the JSON-RPC metadata of a block's receipts against the block (number, hash,
/// transaction and log indices) and returns the consensus receipts, in order.
///
/// Errors: [`IndexerError::BadReceipts`] naming the block and the first mismatch.
pub fn rpc_receipts_to_consensus(
    header: &StoredHeader,
    rpc: Vec<TransactionReceipt>,
) -> Result<Vec<ReceiptEnvelope>> {
    let number = header.number;
    let bad = |reason: String| IndexerError::BadReceipts { number, reason };
    let mut next_log = 0u64;
    let mut out = Vec::with_capacity(rpc.len());
    for (i, r) in rpc.into_iter().enumerate() {
        if r.block_number.is_some_and(|n| n != number) {
            return Err(bad(format!("receipt {i} is from block {:?}", r.block_number)));
        }
        if r.block_hash.is_some_and(|h| h != header.hash) {
            return Err(bad(format!("receipt {i} is from block hash {:?}", r.block_hash)));
        }
        if r.transaction_index.is_some_and(|t| t != i as u64) {
            return Err(bad(format!("receipt {i} has transactionIndex {:?}", r.transaction_index)));
        }
        for log in r.inner.logs() {
            if log.log_index.is_some_and(|l| l != next_log) {
                return Err(bad(format!(
                    "receipt {i}: logIndex {:?} where {next_log} was expected",
                    log.log_index
                )));
            }
            next_log += 1;
        }
        out.push(r.into_primitives_receipt().inner);
    }
    Ok(out)
}

const INSERT_RECEIPT: &str = "INSERT INTO receipts (block_number, tx_index, tx_type, status, \
    post_state, cumulative_gas_used, gas_used, log_count, encoded) \
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)";

const INSERT_LOG: &str = "INSERT INTO logs (block_number, tx_index, log_index, address, \
    topic0, topic1, topic2, topic3, data) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)";

impl Store {
    /// Writes one block's verified receipts (from [`verify_block_receipts`]) with their logs and
    /// its `receipt_blocks` row, and, if given, sets checkpoint `(name, next_block)`, all in ONE
    /// transaction. A block whose receipts are already stored is left as it is (receipts
    /// verified against the same stored header are the same). Returns whether rows were
    /// written.
    ///
    /// Errors: [`IndexerError::MissingBlock`] when the header is not stored,
    /// [`IndexerError::Db`].
    pub async fn insert_receipts(
        &self,
        number: u64,
        receipts: &[StoredReceipt],
        checkpoint: Option<(&str, u64)>,
    ) -> Result<bool> {
        if self.header(number).await?.is_none() {
            return Err(IndexerError::MissingBlock { number });
        }
        let n = to_i64(number, "block_number", number)?;
        let mut tx = self.pool().begin().await?;
        let done: Option<i64> =
            sqlx::query_scalar("SELECT receipt_count FROM receipt_blocks WHERE block_number = $1")
                .bind(n)
                .fetch_optional(&mut *tx)
                .await?;
        let write = done.is_none();
        if write {
            let mut log_index = 0u64;
            for r in receipts {
                debug_assert_eq!(r.block_number, number);
                sqlx::query(INSERT_RECEIPT)
                    .bind(n)
                    .bind(to_i64(number, "tx_index", r.tx_index)?)
                    .bind(i64::from(u8::from(r.receipt.tx_type())))
                    .bind(r.status().map(i64::from))
                    .bind(r.post_state().map(|s| s.to_vec()))
                    .bind(to_i64(number, "cumulative_gas_used", r.receipt.cumulative_gas_used())?)
                    .bind(to_i64(number, "gas_used", r.gas_used)?)
                    .bind(r.receipt.logs().len() as i64)
                    .bind(r.encoded.clone())
                    .execute(&mut *tx)
                    .await?;
                for log in r.receipt.logs() {
                    let topic = |k: usize| log.topics().get(k).map(|t| t.to_vec());
                    sqlx::query(INSERT_LOG)
                        .bind(n)
                        .bind(to_i64(number, "tx_index", r.tx_index)?)
                        .bind(to_i64(number, "log_index", log_index)?)
                        .bind(log.address.to_vec())
                        .bind(topic(0))
                        .bind(topic(1))
                        .bind(topic(2))
                        .bind(topic(3))
                        .bind(log.data.data.to_vec())
                        .execute(&mut *tx)
                        .await?;
                    log_index += 1;
                }
            }
            sqlx::query("INSERT INTO receipt_blocks (block_number, receipt_count) VALUES ($1, $2)")
                .bind(n)
                .bind(receipts.len() as i64)
                .execute(&mut *tx)
                .await?;
        }
        if let Some((name, next)) = checkpoint {
            sqlx::query(UPSERT_CHECKPOINT)
                .bind(name)
                .bind(to_i64(number, "next_block", next)?)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(write)
    }

    /// The stored receipts of block `number` in transaction order, decoded from their EIP-2718
    /// encodings and checked again against the stored header; `None` when the block's
    /// receipts are not stored.
    ///
    /// Errors: [`IndexerError::Corrupt`] when a stored encoding does not decode or the set no
    /// longer rebuilds the header's roots.
    pub async fn receipts(&self, number: u64) -> Result<Option<Vec<StoredReceipt>>> {
        let n = to_i64(number, "block_number", number)?;
        let count: Option<i64> =
            sqlx::query_scalar("SELECT receipt_count FROM receipt_blocks WHERE block_number = $1")
                .bind(n)
                .fetch_optional(self.pool())
                .await?;
        let Some(count) = count else { return Ok(None) };
        let corrupt = |reason: String| IndexerError::Corrupt { number, reason };
        let rows = sqlx::query(
            "SELECT tx_index, encoded FROM receipts WHERE block_number = $1 ORDER BY tx_index",
        )
        .bind(n)
        .fetch_all(self.pool())
        .await?;
        if rows.len() as i64 != count {
            return Err(corrupt(format!("{} receipts stored, {count} recorded", rows.len())));
        }
        let mut envelopes = Vec::with_capacity(rows.len());
        for (i, row) in rows.iter().enumerate() {
            let tx_index: i64 = row.try_get(0)?;
            let bytes: Vec<u8> = row.try_get(1)?;
            if tx_index != i as i64 {
                return Err(corrupt(format!("receipt {i} stored at tx_index {tx_index}")));
            }
            let r = ReceiptEnvelope::decode_2718(&mut bytes.as_slice())
                .map_err(|e| corrupt(format!("receipt {i}: {e}")))?;
            envelopes.push(r);
        }
        let header = self.header(number).await?.ok_or(IndexerError::MissingBlock { number })?;
        verify_block_receipts(&header, envelopes)
            .map(Some)
            .map_err(|e| corrupt(format!("stored receipts fail verification: {e}")))
    }

    /// Number of stored receipts and logs (all blocks).
    pub async fn receipt_counts(&self) -> Result<(u64, u64)> {
        let r: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM receipts").fetch_one(self.pool()).await?;
        let l: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM logs").fetch_one(self.pool()).await?;
        Ok((r as u64, l as u64))
    }
}

/// How [`index_receipts`] asks a node for a block's receipts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ReceiptsSource {
    /// `eth_getBlockReceipts`, falling back to per-transaction requests when the node does not
    /// know that method.
    #[default]
    Auto,
    /// Always `eth_getBlockByNumber` for the transaction hashes, then
    /// `eth_getTransactionReceipt` for each.
    PerTransaction,
}

/// What an [`index_receipts`] call did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReceiptsReport {
    /// First block fetched (`from`, or the checkpoint when resuming).
    pub start: u64,
    /// Next block not written; the checkpoint's new value.
    pub next_block: u64,
    /// Blocks whose receipts were newly written.
    pub blocks_written: u64,
    /// Receipts fetched and verified.
    pub receipts: u64,
}

/// Indexes the receipts of blocks `from..=to` whose headers are already stored, from the
/// JSON-RPC endpoint `rpc_url`.
///
/// Resumes at checkpoint `"{opts.checkpoint}-receipts"` when it lies within `from..=to + 1`.
/// Fetches with `opts.concurrency` requests in flight (transport errors retried with backoff),
/// verifies each block's receipts against its stored header ([`verify_block_receipts`]),
/// fetching a block once more when verification fails, and writes each block with the
/// checkpoint in one transaction.
///
/// Errors name the block: [`IndexerError::MissingBlock`] (header not indexed),
/// [`IndexerError::ReceiptsRoot`], [`IndexerError::BadReceipts`], [`IndexerError::Rpc`],
/// [`IndexerError::BlockNotFound`]. Blocks written before the error stay written.
pub async fn index_receipts(
    store: &Store,
    rpc_url: &str,
    from: u64,
    to: u64,
    source: ReceiptsSource,
    opts: &IndexOptions,
) -> Result<ReceiptsReport> {
    let url = rpc_url
        .parse()
        .map_err(|e| IndexerError::InvalidArgument(format!("RPC URL {rpc_url:?}: {e}")))?;
    let provider = alloy::providers::RootProvider::<alloy::network::Ethereum>::new_http(url);
    index_receipts_with_provider(store, &provider, from, to, source, opts).await
}

/// [`index_receipts`] over an existing alloy provider.
pub async fn index_receipts_with_provider<P: Provider>(
    store: &Store,
    provider: &P,
    from: u64,
    to: u64,
    source: ReceiptsSource,
    opts: &IndexOptions,
) -> Result<ReceiptsReport> {
    if from > to {
        return Err(IndexerError::InvalidArgument(format!("empty range {from}..={to}")));
    }
    let checkpoint = format!("{}-receipts", opts.checkpoint);
    let start = resume_start(store, &checkpoint, from, to).await?;
    let mut report = ReceiptsReport { start, next_block: start, blocks_written: 0, receipts: 0 };
    if start > to {
        return Ok(report);
    }
    let bar = progress_bar("receipts of blocks", to - from + 1, start - from, opts.quiet);
    // Headers are read per chunk before its requests start: a request future never holds a
    // database connection while the writes below wait for one.
    let chunk = opts.batch_size.max(1) as u64;
    let mut first = start;
    while first <= to {
        let last = to.min(first.saturating_add(chunk - 1));
        let headers = store.headers_range(first..=last).await?;
        let mut stream = futures::stream::iter(headers)
            .map(|header| async move {
                let fetch_and_verify = || async {
                    let rpc = fetch_receipts(provider, &header, source, opts).await?;
                    verify_block_receipts(&header, rpc_receipts_to_consensus(&header, rpc)?)
                };
                match fetch_and_verify().await {
                    Err(
                        e @ (IndexerError::ReceiptsRoot { .. } | IndexerError::BadReceipts { .. }),
                    ) => {
                        tracing::warn!(number = header.number, error = %e, "receipts failed verification, fetching again");
                        fetch_and_verify().await
                    }
                    other => other,
                }
                .map(|r| (header.number, r))
            })
            .buffered(opts.concurrency.max(1));
        let mut fetched = Vec::new();
        while let Some(item) = stream.next().await {
            fetched.push(item?);
        }
        drop(stream);
        for (n, receipts) in fetched {
            report.receipts += receipts.len() as u64;
            if store.insert_receipts(n, &receipts, Some((&checkpoint, n + 1))).await? {
                report.blocks_written += 1;
            }
            report.next_block = n + 1;
            bar.inc(1);
        }
        first = last + 1;
    }
    bar.finish_and_clear();
    Ok(report)
}

/// JSON-RPC "method not found" (EIP-1474 code -32601), or a node's wording of it.
fn method_unsupported(e: &alloy::transports::TransportError) -> bool {
    match e {
        RpcError::ErrorResp(p) => {
            let m = p.message.to_ascii_lowercase();
            p.code == -32601
                || m.contains("method not found")
                || m.contains("not supported")
                || m.contains("does not exist")
        }
        _ => false,
    }
}

/// The RPC receipts of a block, by `source`.
async fn fetch_receipts<P: Provider>(
    provider: &P,
    header: &StoredHeader,
    source: ReceiptsSource,
    opts: &IndexOptions,
) -> Result<Vec<TransactionReceipt>> {
    let number = header.number;
    if source == ReceiptsSource::Auto {
        let id = BlockId::Hash(header.hash.into());
        // Outer `None`: the node does not know eth_getBlockReceipts.
        let got = with_retries(number, opts, || async {
            match provider.get_block_receipts(id).await {
                Err(e) if method_unsupported(&e) => Ok(None),
                other => other.map(Some),
            }
        })
        .await?;
        match got {
            Some(Some(r)) => return Ok(r),
            Some(None) => return Err(IndexerError::BlockNotFound { number }),
            None => tracing::info!(number, "eth_getBlockReceipts unsupported, per transaction"),
        }
    }
    let block = with_retries(number, opts, || async {
        provider.get_block_by_number(BlockNumberOrTag::Number(number)).await
    })
    .await?
    .ok_or(IndexerError::BlockNotFound { number })?;
    if block.header.hash != header.hash {
        return Err(IndexerError::BadReceipts {
            number,
            reason: format!(
                "node's block hash {} is not the stored {}",
                block.header.hash, header.hash
            ),
        });
    }
    let mut out = Vec::with_capacity(block.transactions.len());
    for hash in block.transactions.hashes() {
        let r =
            with_retries(number, opts, || async { provider.get_transaction_receipt(hash).await })
                .await?
                .ok_or_else(|| IndexerError::BadReceipts {
                    number,
                    reason: format!("no receipt for transaction {hash}"),
                })?;
        out.push(r);
    }
    Ok(out)
}

/// What [`import_receipts_dir`] did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReceiptsImportReport {
    /// The folder read.
    pub dir: PathBuf,
    /// Blocks read and verified, ascending.
    pub blocks: Vec<u64>,
    /// Receipts read.
    pub receipts: u64,
    /// Blocks newly written.
    pub blocks_written: u64,
}

/// Imports `eth_getBlockReceipts` dumps: every `<number>.json` of `dir` (or of
/// `dir/receipts/` when that folder exists) holding one block's complete receipt array, such as
/// `shared/fixtures/mainnet/receipts/`. The block headers must be stored already (import the
/// headers first). Every file is verified before anything is written, so a bad file writes
/// nothing; importing twice is a no-op.
///
/// Errors: [`IndexerError::Fixture`] wrapping the verification error (naming file and block),
/// [`IndexerError::InvalidArgument`] for a file name that is not a block number,
/// [`IndexerError::Io`], [`IndexerError::Json`].
pub async fn import_receipts_dir(store: &Store, dir: &Path) -> Result<ReceiptsImportReport> {
    let (dir, paths) = json_files(dir, "receipts")?;
    let mut files = Vec::with_capacity(paths.len());
    for path in paths {
        let number: u64 =
            path.file_stem().and_then(|s| s.to_str()).and_then(|s| s.parse().ok()).ok_or_else(
                || {
                    IndexerError::InvalidArgument(format!(
                        "{}: receipt files are named <block number>.json",
                        path.display()
                    ))
                },
            )?;
        files.push((number, path));
    }
    files.sort();
    let mut verified = Vec::with_capacity(files.len());
    for (number, path) in &files {
        let rpc: Vec<TransactionReceipt> = read_json(path)?;
        let fixture = |e| IndexerError::Fixture { path: path.clone(), source: Box::new(e) };
        let header = store
            .header(*number)
            .await?
            .ok_or(IndexerError::MissingBlock { number: *number })
            .map_err(fixture)?;
        let receipts = rpc_receipts_to_consensus(&header, rpc)
            .and_then(|r| verify_block_receipts(&header, r))
            .map_err(fixture)?;
        verified.push((*number, receipts));
    }
    let mut report = ReceiptsImportReport {
        dir,
        blocks: verified.iter().map(|(n, _)| *n).collect(),
        receipts: verified.iter().map(|(_, r)| r.len() as u64).sum(),
        blocks_written: 0,
    };
    for (number, receipts) in &verified {
        if store.insert_receipts(*number, receipts, None).await? {
            report.blocks_written += 1;
        }
    }
    Ok(report)
}
