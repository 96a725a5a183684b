//! Indexing headers over JSON-RPC (`eth_getBlockByNumber(n, false)`), with bounded concurrency,
//! retries, verification, batched transactional writes and a resumable checkpoint.

use crate::verify::{verify_links, verify_rpc_header, ChainSpec};
use crate::{HeaderProvider, IndexerError, Result, Store, StoredHeader};
use alloy::eips::BlockNumberOrTag;
use alloy::providers::{Provider, RootProvider};
use alloy::transports::RpcError;
use alloy_primitives::B256;
use futures::StreamExt;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::future::Future;
use std::io::IsTerminal;
use std::time::Duration;

/// Options of [`index_range`].
#[derive(Clone, Debug)]
pub struct IndexOptions {
    /// Fork field rule applied to every header.
    pub spec: ChainSpec,
    /// Requests in flight at once (answers are still consumed in block order). Minimum 1.
    pub concurrency: usize,
    /// Headers written per transaction (with the checkpoint advance). Minimum 1.
    pub batch_size: usize,
    /// Attempts per block on transport errors before failing (minimum 1).
    pub max_attempts: u32,
    /// Delay before the first retry; doubled on each retry, capped at [`Self::max_backoff`].
    pub initial_backoff: Duration,
    /// Largest delay between retries.
    pub max_backoff: Duration,
    /// Name of the checkpoint row (`checkpoints.name`) this job resumes from and advances.
    pub checkpoint: String,
    /// Hide the progress bar (it is also hidden when stderr is not a terminal).
    pub quiet: bool,
    /// Stop cleanly after this many written batches (simulates a crash in tests; `None` = run to
    /// the end).
    pub stop_after_batches: Option<u64>,
}

impl Default for IndexOptions {
    fn default() -> Self {
        IndexOptions {
            spec: ChainSpec::Any,
            concurrency: 8,
            batch_size: 64,
            max_attempts: 5,
            initial_backoff: Duration::from_millis(200),
            max_backoff: Duration::from_secs(10),
            checkpoint: "headers".to_owned(),
            quiet: false,
            stop_after_batches: None,
        }
    }
}

/// What an [`index_range`] call did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IndexReport {
    /// First block fetched (`from`, or the checkpoint when resuming); `> to` if nothing to do.
    pub start: u64,
    /// Next block not written (`to + 1` when complete); the checkpoint's new value.
    pub next_block: u64,
    /// Rows newly inserted (blocks already stored with the same hash are not counted).
    pub inserted: u64,
    /// Batches (transactions) written.
    pub batches: u64,
}

/// Indexes blocks `from..=to` from the JSON-RPC endpoint `rpc_url` into `store`.
///
/// Resumes at checkpoint [`IndexOptions::checkpoint`] when it lies within `from..=to + 1`.
/// Fetches with at most `concurrency` requests in flight, retries transport errors with exponential
/// backoff, re-fetches a block once when its hash check fails, checks every `parent_hash` link
/// (including to block `start - 1` when it is stored), and writes batches of `batch_size` headers
/// together with the checkpoint in one transaction. Running it again after a crash continues where
/// the last committed batch ended; blocks are keyed by number and inserts are idempotent.
///
/// Errors name the block: [`IndexerError::Rpc`], [`IndexerError::BlockNotFound`],
/// [`IndexerError::HashMismatch`], [`IndexerError::ParentLink`], [`IndexerError::Conflict`], ...
/// Batches written before the error stay written.
pub async fn index_range(
    store: &Store,
    rpc_url: &str,
    from: u64,
    to: u64,
    opts: &IndexOptions,
) -> Result<IndexReport> {
    let url = rpc_url
        .parse()
        .map_err(|e| IndexerError::InvalidArgument(format!("RPC URL {rpc_url:?}: {e}")))?;
    let provider = RootProvider::<alloy::network::Ethereum>::new_http(url);
    index_range_with_provider(store, &provider, from, to, opts).await
}

/// [`index_range`] over an existing alloy provider.
pub async fn index_range_with_provider<P: Provider>(
    store: &Store,
    provider: &P,
    from: u64,
    to: u64,
    opts: &IndexOptions,
) -> Result<IndexReport> {
    if from > to {
        return Err(IndexerError::InvalidArgument(format!("empty range {from}..={to}")));
    }
    let batch_size = opts.batch_size.max(1);
    let start = resume_start(store, &opts.checkpoint, from, to).await?;
    let mut report = IndexReport { start, next_block: start, inserted: 0, batches: 0 };
    if start > to {
        return Ok(report);
    }
    let mut prev: Option<(u64, B256)> = match start.checked_sub(1) {
        Some(p) => store.header(p).await?.map(|h| (h.number, h.hash)),
        None => None,
    };

    let bar = progress_bar("headers", to - from + 1, start - from, opts.quiet);
    let mut stream = futures::stream::iter(start..=to)
        .map(|n| fetch_verified(provider, n, opts))
        .buffered(opts.concurrency.max(1));
    let mut batch: Vec<StoredHeader> = Vec::with_capacity(batch_size);
    while let Some(h) = stream.next().await {
        let h = h?;
        let last = h.number == to;
        batch.push(h);
        if batch.len() < batch_size && !last {
            continue;
        }
        verify_links(prev, &batch)?;
        let tail = batch.last().expect("non-empty batch");
        let next = tail.number + 1;
        let tail_link = (tail.number, tail.hash);
        report.inserted += store.insert_batch(&batch, Some((&opts.checkpoint, next))).await?;
        report.batches += 1;
        report.next_block = next;
        bar.inc(batch.len() as u64);
        tracing::debug!(next, batches = report.batches, "indexed batch");
        prev = Some(tail_link);
        batch.clear();
        if opts.stop_after_batches.is_some_and(|s| report.batches >= s) {
            break;
        }
    }
    bar.finish_and_clear();
    Ok(report)
}

/// A progress bar on stderr labelled `what` (hidden when `quiet` or stderr is not a terminal).
pub(crate) fn progress_bar(what: &str, len: u64, pos: u64, quiet: bool) -> ProgressBar {
    if quiet || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::stderr());
    if let Ok(style) = ProgressStyle::with_template(&format!(
        "{{spinner}} {what} {{pos}}/{{len}} [{{bar:40}}] {{per_sec}} eta {{eta}}"
    )) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_position(pos);
    bar
}

/// Fetches block `number`'s header and verifies it, re-fetching once if its hash check fails.
pub async fn fetch_verified<P: Provider>(
    provider: &P,
    number: u64,
    opts: &IndexOptions,
) -> Result<StoredHeader> {
    let rpc = fetch_header(provider, number, opts).await?;
    match check(&rpc, number, opts.spec) {
        Err(IndexerError::HashMismatch { .. }) => {
            tracing::warn!(number, "hash check failed, fetching the block again");
            let rpc = fetch_header(provider, number, opts).await?;
            check(&rpc, number, opts.spec)
        }
        other => other,
    }
}

fn check(rpc: &alloy_rpc_types_eth::Header, number: u64, spec: ChainSpec) -> Result<StoredHeader> {
    if rpc.inner.number != number {
        return Err(IndexerError::NumberMismatch { expected: number, got: rpc.inner.number });
    }
    verify_rpc_header(rpc, spec)
}

/// `eth_getBlockByNumber(number, false)`, retrying transport errors with exponential backoff.
async fn fetch_header<P: Provider>(
    provider: &P,
    number: u64,
    opts: &IndexOptions,
) -> Result<alloy_rpc_types_eth::Header> {
    let block = with_retries(number, opts, || async {
        provider.get_block_by_number(BlockNumberOrTag::Number(number)).await
    })
    .await?;
    block.map(|b| b.header).ok_or(IndexerError::BlockNotFound { number })
}

/// Where a job over `from..=to` starts: checkpoint `name` when it lies within
/// `from..=to + 1` (a resumed run), else `from`.
pub(crate) async fn resume_start(store: &Store, name: &str, from: u64, to: u64) -> Result<u64> {
    Ok(match store.checkpoint(name).await? {
        Some(cp) if cp >= from && cp <= to.saturating_add(1) => cp,
        _ => from,
    })
}

/// Runs `call` with the retry policy of `opts` for transport errors.
pub(crate) async fn with_retries<T, Fut>(
    number: u64,
    opts: &IndexOptions,
    mut call: impl FnMut() -> Fut,
) -> Result<T>
where
    Fut: Future<Output = Result<T, alloy::transports::TransportError>>,
{
    let max_attempts = opts.max_attempts.max(1);
    let mut delay = opts.initial_backoff;
    let mut attempt = 0;
    loop {
        attempt += 1;
        match call().await {
            Ok(v) => return Ok(v),
            Err(RpcError::Transport(e)) if attempt < max_attempts => {
                tracing::debug!(number, attempt, error = %e, "transport error, retrying");
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(opts.max_backoff);
            }
            Err(e) => {
                return Err(IndexerError::Rpc { number, attempts: attempt, source: Box::new(e) })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn unreachable_node_fails_naming_the_block_after_retries() {
        let store = Store::connect("sqlite::memory:").await.unwrap();
        // a port nobody listens on: bind, read the port, close
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let opts = IndexOptions {
            quiet: true,
            max_attempts: 3,
            initial_backoff: Duration::from_millis(5),
            ..Default::default()
        };
        let t = std::time::Instant::now();
        let err = index_range(&store, &format!("http://127.0.0.1:{port}"), 7, 9, &opts)
            .await
            .unwrap_err();
        assert!(matches!(err, IndexerError::Rpc { number: 7, attempts: 3, .. }), "{err}");
        assert!(t.elapsed() >= Duration::from_millis(15));
        assert_eq!(store.count().await.unwrap(), 0);
    }
}
