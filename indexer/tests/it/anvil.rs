//! Against a real local chain (anvil): index over JSON-RPC, compare with the node's answers,
//! resume after a crash.

use crate::common::{dump, sqlite_store};
use alloy::providers::{Provider, ProviderBuilder};
use annals_indexer::testing::{mine_empty, produce_blocks, Anvil};
use annals_indexer::{index_range, HeaderProvider, IndexOptions, IndexerError};
use annals_query_lang::columns::header_row;
use std::time::{Duration, Instant};

fn opts(checkpoint: &str) -> IndexOptions {
    IndexOptions {
        quiet: true,
        batch_size: 16,
        concurrency: 4,
        checkpoint: checkpoint.to_owned(),
        ..Default::default()
    }
}

/// Starts anvil; a missing binary is a failure with the setup hint, never a skip.
async fn anvil() -> Anvil {
    match Anvil::spawn().await {
        Ok(a) => a,
        Err(e) => panic!("{e}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn indexes_a_local_chain_and_matches_rpc() {
    let t = Instant::now();
    let anvil = anvil().await;
    let head = produce_blocks(&anvil.url(), 70, 0..=3).await.unwrap();
    assert_eq!(head, 70);
    let produced = t.elapsed();

    let (_tmp, store) = sqlite_store().await;
    let report = index_range(&store, &anvil.url(), 0, head, &opts("anvil")).await.unwrap();
    assert_eq!((report.start, report.next_block, report.inserted), (0, head + 1, head + 1));
    assert_eq!(report.batches, (head + 1).div_ceil(16));
    assert_eq!(store.checkpoint("anvil").await.unwrap(), Some(head + 1));

    let provider = ProviderBuilder::new()
        .disable_recommended_fillers()
        .connect_http(anvil.url().parse().unwrap());
    let rows = store.header_rows(..).await.unwrap();
    let columns = store.column_rows(0..=head).await.unwrap();
    assert_eq!(rows.len() as u64, head + 1);
    let mut txs = 0;
    for n in 0..=head {
        let block = provider.get_block_by_number(n.into()).await.unwrap().unwrap();
        txs += block.transactions.len();
        let stored = store.header(n).await.unwrap().unwrap();
        assert_eq!(stored.hash, block.header.hash, "block {n}");
        assert_eq!(stored.header, block.header.inner, "block {n}");
        assert_eq!(stored.rlp, alloy_rlp::encode(&block.header.inner), "block {n}");
        let expected = header_row(&block.header.inner, block.header.hash);
        assert_eq!(rows[n as usize], expected, "block {n}");
        assert_eq!(columns[n as usize], expected, "block {n}");
    }
    assert!(txs >= 70, "only {txs} transactions");
    // running again is a no-op
    let again = index_range(&store, &anvil.url(), 0, head, &opts("anvil")).await.unwrap();
    assert_eq!((again.start, again.inserted, again.batches), (head + 1, 0, 0));
    // beyond the head: error naming the block, nothing more stored
    let err =
        index_range(&store, &anvil.url(), head + 1, head + 3, &opts("beyond")).await.unwrap_err();
    assert!(matches!(err, IndexerError::BlockNotFound { number } if number == head + 1), "{err}");
    assert_eq!(store.count().await.unwrap(), head + 1);
    eprintln!("anvil: produced {head} blocks / {txs} txs in {produced:?}, total {:?}", t.elapsed());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resumes_after_a_crash() {
    let anvil = anvil().await;
    produce_blocks(&anvil.url(), 8, 1..=2).await.unwrap();
    let head = mine_empty(&anvil.url(), 400).await.unwrap();
    assert_eq!(head, 408);
    let url = anvil.url();

    // reference: a clean run into a fresh DB
    let (_t0, clean) = sqlite_store().await;
    index_range(&clean, &url, 0, head, &opts("job")).await.unwrap();

    // 1. a run that stops (as if crashed) after 3 committed batches
    let (_t1, store) = sqlite_store().await;
    let o = IndexOptions { stop_after_batches: Some(3), ..opts("job") };
    let r = index_range(&store, &url, 0, head, &o).await.unwrap();
    assert_eq!((r.next_block, r.batches), (48, 3));
    assert_eq!(store.checkpoint("job").await.unwrap(), Some(48));
    assert_eq!(store.count().await.unwrap(), 48);

    // 2. a run killed mid-way: abort the task once the checkpoint moved on by 2 batches
    let task = {
        let store = store.clone();
        let url = url.clone();
        let o = IndexOptions { concurrency: 1, batch_size: 8, ..opts("job") };
        tokio::spawn(async move { index_range(&store, &url, 0, head, &o).await })
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let cp = store.checkpoint("job").await.unwrap().unwrap();
        if cp >= 48 + 16 || task.is_finished() {
            break;
        }
        assert!(Instant::now() < deadline, "checkpoint stuck at {cp}");
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    task.abort();
    let _ = task.await;
    let cp = store.checkpoint("job").await.unwrap().unwrap();
    assert!(cp < head + 1, "the run finished before it could be aborted (checkpoint {cp})");
    // committed batches only: rows are exactly 0..cp
    assert_eq!(store.count().await.unwrap(), cp);
    assert_eq!(store.headers_range(..cp).await.unwrap().len() as u64, cp);

    // 3. the rerun continues at the checkpoint and ends equal to the clean run
    let r = index_range(&store, &url, 0, head, &opts("job")).await.unwrap();
    assert_eq!(r.start, cp);
    assert_eq!(r.inserted, head + 1 - cp);
    assert_eq!(store.count().await.unwrap(), head + 1);
    assert_eq!(store.block_numbers().await.unwrap(), (0..=head).collect::<Vec<_>>());
    assert_eq!(dump(&store).await, dump(&clean).await);
}
