//! Receipts and logs: the mainnet receipt fixtures (every receipt type, pre-Byzantium roots),
//! tampered receipts, and a local anvil chain over both JSON-RPC paths.

use crate::common::{mainnet_fixtures, sqlite_store};
use alloy::providers::{Provider, ProviderBuilder};
use alloy::rpc::types::TransactionReceipt;
use alloy_primitives::{Address, Bloom, U256};
use annals_indexer::receipts::rpc_receipts_to_consensus;
use annals_indexer::testing::{produce_blocks, Anvil};
use annals_indexer::{
    import_dir, import_receipts_dir, index_range, index_receipts_with_provider,
    verify_block_receipts, HeaderProvider, IndexOptions, IndexerError, ReceiptsSource, Store,
};
use annals_query_lang::compile;
use serde_json::Value;
use sqlx::Row;
use std::collections::BTreeSet;
use std::path::Path;

const BLOCKS: [u64; 5] = [1_150_000, 10_000_000, 18_000_000, 19_432_087, 21_925_176];

fn fixture_receipts(root: &Path, n: u64) -> Vec<TransactionReceipt> {
    let text = std::fs::read_to_string(root.join(format!("receipts/{n}.json"))).unwrap();
    serde_json::from_str(&text).unwrap()
}

async fn store_with_headers(root: &Path) -> (tempfile::TempDir, Store) {
    let (tmp, store) = sqlite_store().await;
    import_dir(&store, root).await.unwrap();
    (tmp, store)
}

#[tokio::test]
async fn mainnet_receipts_import_verify_and_read_back() {
    let Some(root) = mainnet_fixtures() else { return };
    let (_tmp, store) = store_with_headers(&root).await;
    let report = import_receipts_dir(&store, &root).await.unwrap();
    assert_eq!(report.blocks, BLOCKS);
    assert_eq!(report.blocks_written, 5);
    let again = import_receipts_dir(&store, &root.join("receipts")).await.unwrap();
    assert_eq!(again.blocks_written, 0);

    let (mut receipts, mut logs) = (0u64, 0u64);
    for n in BLOCKS {
        let rpc = fixture_receipts(&root, n);
        let header = store.header(n).await.unwrap().unwrap();
        let stored = store.receipts(n).await.unwrap().unwrap();
        assert_eq!(stored.len(), rpc.len(), "block {n}");
        // gas: per-transaction differences add up to the header's gas_used and equal the RPC's
        assert_eq!(stored.iter().map(|r| r.gas_used).sum::<u64>(), header.header.gas_used);
        for (s, r) in stored.iter().zip(&rpc) {
            assert_eq!(s.gas_used, r.gas_used, "block {n} tx {}", s.tx_index);
            assert_eq!(Some(s.tx_index), r.transaction_index);
            assert_eq!(s.receipt, r.clone().into_primitives_receipt().inner);
        }
        // the SQL columns agree with the receipts
        let rows = sqlx::query(
            "SELECT tx_index, tx_type, status, post_state, gas_used, log_count FROM receipts \
             WHERE block_number = $1 ORDER BY tx_index",
        )
        .bind(n as i64)
        .fetch_all(store.pool())
        .await
        .unwrap();
        assert_eq!(rows.len(), stored.len());
        for (row, s) in rows.iter().zip(&stored) {
            assert_eq!(row.get::<i64, _>(1), i64::from(u8::from(s.receipt.tx_type())));
            assert_eq!(row.get::<Option<i64>, _>(2), s.status().map(i64::from));
            assert_eq!(row.get::<Option<Vec<u8>>, _>(3), s.post_state().map(|p| p.to_vec()));
            assert_eq!(row.get::<i64, _>(4) as u64, s.gas_used);
            assert_eq!(row.get::<i64, _>(5) as usize, s.receipt.logs().len());
        }
        let block_logs: usize = rpc.iter().map(|r| r.inner.logs().len()).sum();
        let stored_logs: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM logs WHERE block_number = $1")
                .bind(n as i64)
                .fetch_one(store.pool())
                .await
                .unwrap();
        assert_eq!(stored_logs as usize, block_logs, "block {n}");
        // one log row read back field by field
        if let Some(log) = rpc.iter().flat_map(|r| r.inner.logs()).last() {
            let row = sqlx::query(
                "SELECT address, topic0, data FROM logs WHERE block_number = $1 AND log_index = $2",
            )
            .bind(n as i64)
            .bind(log.log_index.unwrap() as i64)
            .fetch_one(store.pool())
            .await
            .unwrap();
            assert_eq!(row.get::<Vec<u8>, _>(0), log.address().to_vec());
            assert_eq!(row.get::<Option<Vec<u8>>, _>(1), log.topics().first().map(|t| t.to_vec()));
            assert_eq!(row.get::<Vec<u8>, _>(2), log.data().data.to_vec());
        }
        receipts += stored.len() as u64;
        logs += block_logs as u64;
    }
    assert_eq!(store.receipt_counts().await.unwrap(), (receipts, logs));
    // pre-Byzantium: post-state roots, no status; 19432087: legacy, 2930, 1559 and blob receipts
    let pre = store.receipts(1_150_000).await.unwrap().unwrap();
    assert!(pre.iter().all(|r| r.status().is_none() && r.post_state().is_some()));
    let cancun = store.receipts(19_432_087).await.unwrap().unwrap();
    assert_eq!(cancun.len(), 316);
    let types: BTreeSet<u8> = cancun.iter().map(|r| u8::from(r.receipt.tx_type())).collect();
    assert_eq!(types, BTreeSet::from([0, 1, 2, 3]));
    assert!(cancun.iter().all(|r| r.status().is_some()));
    assert!(cancun.iter().any(|r| r.status() == Some(false)), "a failed transaction");
}

/// Writes `receipts` (a JSON-RPC receipt array) as the only fixture file of a fresh folder and
/// imports it.
async fn import_tampered(store: &Store, n: u64, receipts: &Value) -> Result<(), IndexerError> {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join(format!("{n}.json")), serde_json::to_vec(receipts).unwrap())
        .unwrap();
    import_receipts_dir(store, dir.path()).await.map(|_| ())
}

fn root_error(e: &IndexerError) -> &IndexerError {
    match e {
        IndexerError::Fixture { source, .. } => source,
        e => e,
    }
}

fn hex_u64(v: &Value) -> u64 {
    u64::from_str_radix(v.as_str().unwrap().trim_start_matches("0x"), 16).unwrap()
}

#[tokio::test]
async fn tampered_receipts_are_rejected_naming_the_block_and_nothing_is_stored() {
    let Some(root) = mainnet_fixtures() else { return };
    let (_tmp, store) = store_with_headers(&root).await;
    let n = 19_432_087;
    let text = std::fs::read_to_string(root.join(format!("receipts/{n}.json"))).unwrap();
    let honest: Value = serde_json::from_str(&text).unwrap();
    let tamper = |f: &dyn Fn(&mut Vec<Value>)| {
        let mut v = honest.as_array().unwrap().clone();
        f(&mut v);
        Value::Array(v)
    };
    let cases: Vec<(&str, Value)> = vec![
        ("receipt left out", tamper(&|r| drop(r.pop()))),
        (
            "receipt duplicated",
            // with metadata that fits its new position, so that only the trie can tell
            tamper(&|r| {
                let mut dup = r[0].clone();
                dup["transactionIndex"] = Value::String(format!("{:#x}", r.len()));
                for l in dup["logs"].as_array_mut().unwrap() {
                    l["logIndex"] = Value::Null;
                }
                r.push(dup);
            }),
        ),
        (
            "log data byte flipped",
            tamper(&|r| {
                let log = r
                    .iter_mut()
                    .flat_map(|x| x["logs"].as_array_mut().unwrap().iter_mut())
                    .find(|l| l["data"].as_str().unwrap().len() > 2)
                    .unwrap();
                let data = log["data"].as_str().unwrap();
                let flipped = if &data[2..3] == "0" { "1" } else { "0" };
                log["data"] = Value::String(format!("0x{flipped}{}", &data[3..]));
            }),
        ),
        (
            "status flipped",
            tamper(&|r| {
                let s = if r[5]["status"] == "0x1" { "0x0" } else { "0x1" };
                r[5]["status"] = Value::String(s.into());
            }),
        ),
        (
            "cumulative gas changed",
            tamper(&|r| {
                let g = hex_u64(&r[7]["cumulativeGasUsed"]) + 1;
                r[7]["cumulativeGasUsed"] = Value::String(format!("{g:#x}"));
            }),
        ),
    ];
    for (what, receipts) in cases {
        let err = import_tampered(&store, n, &receipts).await.unwrap_err();
        assert!(
            matches!(root_error(&err), IndexerError::ReceiptsRoot { number, .. } if *number == n),
            "{what}: {err}"
        );
        assert!(err.to_string().contains(&format!("block {n}")), "{what}: {err}");
        assert_eq!(store.receipt_counts().await.unwrap(), (0, 0), "{what}");
        assert!(store.receipts(n).await.unwrap().is_none(), "{what}");
    }
    // Metadata that contradicts the position, with the receipts themselves intact.
    let swapped_index = tamper(&|r| r[3]["transactionIndex"] = Value::String("0x4".into()));
    let err = import_tampered(&store, n, &swapped_index).await.unwrap_err();
    assert!(matches!(root_error(&err), IndexerError::BadReceipts { number, .. } if *number == n));
    let other_block =
        tamper(&|r| r[0]["blockHash"] = Value::String(format!("0x{}", "07".repeat(32))));
    let err = import_tampered(&store, n, &other_block).await.unwrap_err();
    assert!(matches!(root_error(&err), IndexerError::BadReceipts { .. }), "{err}");
    assert_eq!(store.receipt_counts().await.unwrap(), (0, 0));

    // A header whose logs_bloom the receipts do not produce (the root still matches).
    let mut header = store.header(n).await.unwrap().unwrap();
    let envelopes = rpc_receipts_to_consensus(&header, fixture_receipts(&root, n)).unwrap();
    assert!(verify_block_receipts(&header, envelopes.clone()).is_ok());
    header.header.logs_bloom = Bloom::ZERO;
    let err = verify_block_receipts(&header, envelopes).unwrap_err();
    assert!(matches!(err, IndexerError::BadReceipts { number, .. } if number == n), "{err}");
    assert!(err.to_string().contains("logs_bloom"), "{err}");

    // Receipts of a block whose header is not stored.
    let err = import_tampered(&store, 19_432_088, &honest).await.unwrap_err();
    assert!(matches!(root_error(&err), IndexerError::MissingBlock { number: 19_432_088 }));
    assert_eq!(store.receipt_counts().await.unwrap(), (0, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn indexes_anvil_receipts_by_block_and_per_transaction() {
    let anvil = Anvil::spawn().await.unwrap_or_else(|e| panic!("{e}"));
    let head = produce_blocks(&anvil.url(), 24, 0..=3).await.unwrap();
    let provider = ProviderBuilder::new()
        .disable_recommended_fillers()
        .connect_http(anvil.url().parse().unwrap());
    let opts = IndexOptions { quiet: true, checkpoint: "anvil".into(), ..Default::default() };
    let mut stored = Vec::new();
    for source in [ReceiptsSource::Auto, ReceiptsSource::PerTransaction] {
        let (tmp, store) = sqlite_store().await;
        index_range(&store, &anvil.url(), 0, head, &opts).await.unwrap();
        // Stop half way (as a crash would), then resume from the checkpoint.
        let first = index_receipts_with_provider(&store, &provider, 0, head / 2, source, &opts)
            .await
            .unwrap();
        assert_eq!(first.next_block, head / 2 + 1);
        let report =
            index_receipts_with_provider(&store, &provider, 0, head, source, &opts).await.unwrap();
        assert_eq!((report.start, report.next_block), (head / 2 + 1, head + 1));
        assert_eq!(store.checkpoint("anvil-receipts").await.unwrap(), Some(head + 1));
        let mut all = Vec::new();
        let mut txs = 0;
        for n in 0..=head {
            let block = provider.get_block_by_number(n.into()).await.unwrap().unwrap();
            let receipts = store.receipts(n).await.unwrap().unwrap();
            assert_eq!(receipts.len(), block.transactions.len(), "block {n}");
            txs += receipts.len();
            all.push(receipts);
        }
        assert!(txs >= 24, "{txs} transactions");
        assert_eq!(store.receipt_counts().await.unwrap().0, txs as u64);
        stored.push((tmp, all));
    }
    assert_eq!(stored[0].1, stored[1].1, "both RPC paths give the same receipts");

    // Receipts of blocks whose headers are not indexed are refused, naming the block.
    let (_tmp, store) = sqlite_store().await;
    let err =
        index_receipts_with_provider(&store, &provider, 1, 2, ReceiptsSource::Auto, &opts).await;
    assert!(matches!(err, Err(IndexerError::MissingBlock { number: 1 })), "{err:?}");
}

/// A real ERC-20 (OpenZeppelin, compiled by the pinned solc) on anvil: every token log the
/// indexer stores equals anvil's own `eth_getLogs`, one for one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn erc20_logs_equal_the_nodes_eth_get_logs() {
    use alloy::rpc::types::Filter;
    use annals_indexer::testing::produce_erc20_blocks;
    let anvil = Anvil::spawn().await.unwrap_or_else(|e| panic!("{e}"));
    let chain = produce_erc20_blocks(&anvil.url(), 64).await.unwrap();
    assert!(chain.head - chain.first_block + 1 >= 64);
    assert!(chain.transfers >= 200, "{} transfers", chain.transfers);
    let provider = ProviderBuilder::new()
        .disable_recommended_fillers()
        .connect_http(anvil.url().parse().unwrap());
    let (_tmp, store) = sqlite_store().await;
    let opts = IndexOptions { quiet: true, ..Default::default() };
    index_range(&store, &anvil.url(), 0, chain.head, &opts).await.unwrap();
    let report =
        index_receipts_with_provider(&store, &provider, 0, chain.head, ReceiptsSource::Auto, &opts)
            .await
            .unwrap();
    assert_eq!(report.next_block, chain.head + 1);

    let (a, b) = (chain.first_block, chain.head);
    let node_logs = provider
        .get_logs(&Filter::new().address(chain.token).from_block(a).to_block(b))
        .await
        .unwrap();
    let rows = sqlx::query(
        "SELECT block_number, log_index, topic0, topic1, topic2, topic3, data FROM logs \
         WHERE address = $1 AND block_number >= $2 AND block_number <= $3 \
         ORDER BY block_number, log_index",
    )
    .bind(chain.token.to_vec())
    .bind(a as i64)
    .bind(b as i64)
    .fetch_all(store.pool())
    .await
    .unwrap();
    assert_eq!(rows.len(), node_logs.len());
    for (row, log) in rows.iter().zip(&node_logs) {
        assert_eq!(row.get::<i64, _>(0) as u64, log.block_number.unwrap());
        assert_eq!(row.get::<i64, _>(1) as u64, log.log_index.unwrap());
        let topics: Vec<Vec<u8>> =
            (2..6).filter_map(|i| row.get::<Option<Vec<u8>>, _>(i)).collect();
        let expected: Vec<Vec<u8>> = log.topics().iter().map(|t| t.to_vec()).collect();
        assert_eq!(topics, expected);
        assert_eq!(row.get::<Vec<u8>, _>(6), log.data().data.to_vec());
    }
    // Transfer(address,address,uint256) and Approval(address,address,uint256)
    let transfer = alloy_primitives::keccak256("Transfer(address,address,uint256)");
    let approval = alloy_primitives::keccak256("Approval(address,address,uint256)");
    let count = |t| node_logs.iter().filter(|l| l.topics()[0] == t).count() as u64;
    assert_eq!(count(transfer), chain.transfers);
    assert!(count(approval) > 0);
    // blocks with no token traffic
    let blocks: BTreeSet<u64> = node_logs.iter().map(|l| l.block_number.unwrap()).collect();
    assert!((a..=b).any(|n| !blocks.contains(&n)));
    // every holder received tokens in the range
    let to: BTreeSet<_> =
        node_logs.iter().filter(|l| l.topics()[0] == transfer).map(|l| l.topics()[2]).collect();
    assert_eq!(to.len(), chain.holders.len());

    // The query, evaluated natively over the stored rows, against an independent sum
    // over eth_getLogs: every holder's received amount and transfer count.
    let range = format!("block_number BETWEEN {a} AND {b}");
    let token = chain.token;
    let sql = |holder: Address| {
        format!(
            "SELECT SUM(word(data, 0)), COUNT(*) FROM logs WHERE address = {token} \
             AND topic0 = {transfer} AND topic2 = {} AND {range}",
            holder.into_word()
        )
    };
    let first = compile(&sql(chain.holders[0])).unwrap();
    let rows = store.query_rows(&first).await.unwrap();
    let received = |holder: Address| {
        let logs: Vec<_> = node_logs
            .iter()
            .filter(|l| l.topics()[0] == transfer && l.topics()[2] == holder.into_word())
            .collect();
        let sum: U256 = logs.iter().map(|l| U256::from_be_slice(&l.data().data[..32])).sum();
        (sum, logs.len() as u64)
    };
    for &holder in &chain.holders {
        let got = compile(&sql(holder)).unwrap().evaluate(&rows).unwrap();
        let (sum, count) = received(holder);
        assert_eq!(got, vec![vec![Some(sum), Some(U256::from(count))]], "holder {holder}");
    }
    // GROUP BY topic2 over the longest prefix of the range with at most 16 recipients: one
    // row per recipient, ordered by topic2.
    let recipients_until = |c: u64| -> BTreeSet<_> {
        node_logs
            .iter()
            .filter(|l| l.topics()[0] == transfer && l.block_number.unwrap() <= c)
            .map(|l| l.topics()[2])
            .collect()
    };
    let c = (a..=b).take_while(|&c| recipients_until(c).len() <= 16).last().unwrap();
    let grouped = compile(&format!(
        "SELECT topic2, SUM(word(data, 0)), COUNT(*) FROM logs WHERE address = {token} \
         AND topic0 = {transfer} AND block_number BETWEEN {a} AND {c} GROUP BY topic2"
    ))
    .unwrap();
    let prefix: Vec<_> = rows.iter().filter(|r| r[0] <= Some(U256::from(c))).cloned().collect();
    let expected: Vec<_> = recipients_until(c)
        .into_iter()
        .map(|t| {
            let logs: Vec<_> = node_logs
                .iter()
                .filter(|l| {
                    l.topics()[0] == transfer && l.topics()[2] == t && l.block_number.unwrap() <= c
                })
                .collect();
            let sum: U256 = logs.iter().map(|l| U256::from_be_slice(&l.data().data[..32])).sum();
            vec![Some(U256::from_be_bytes(t.0)), Some(sum), Some(U256::from(logs.len()))]
        })
        .collect();
    assert!(expected.len() >= 8, "{} groups", expected.len());
    assert_eq!(grouped.evaluate(&prefix).unwrap(), expected);
    // Grouping every recipient exceeds the bound on groups, with a clear error.
    let all = compile(&format!(
        "SELECT topic2, COUNT(*) FROM logs WHERE address = {token} AND topic0 = {transfer} \
         AND {range} GROUP BY topic2"
    ))
    .unwrap();
    let err = all.evaluate(&rows).unwrap_err().to_string();
    assert!(err.contains("too many groups"), "{err}");

    // Bloom rule-out: never a block with a matching log; the blocks without token traffic are.
    let filter = first.bloom_filter().unwrap();
    assert_eq!(filter.addresses, vec![token]);
    let mut ruled_out = 0;
    for n in a..=b {
        let header = store.header(n).await.unwrap().unwrap();
        if filter.rules_out(&header.header.logs_bloom) {
            ruled_out += 1;
            let matching = node_logs.iter().any(|l| {
                l.block_number == Some(n)
                    && l.topics()[0] == transfer
                    && l.topics()[2] == chain.holders[0].into_word()
            });
            assert!(!matching, "block {n} ruled out but has a matching log");
        }
    }
    let quiet = (a..=b).filter(|n| !blocks.contains(n)).count();
    assert!(ruled_out >= quiet, "{ruled_out} ruled out, {quiet} blocks without token logs");
}
