//! End-to-end tests of the `annals` node on a real local chain (anvil from npm, started on a
//! free loopback port): blocks with signed transfers, indexed over JSON-RPC, a query proven over
//! 16 of them, its result checked against the native evaluator and against the values anvil
//! itself returns; plus CLI behaviour (explain, errors, verify).

use std::path::PathBuf;
use std::process::Command;

use alloy::providers::{Provider, ProviderBuilder};
use alloy_primitives::U256;
use annals_aggregator::ProofEnvelope;
use annals_indexer::testing::{produce_blocks, produce_erc20_blocks, Anvil};
use annals_indexer::{fetch_query_points, IndexOptions, Store};
use annals_node::commands::{native, prove_query};
use annals_query_lang::compile;

fn cache_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("annals-circuit-cache")
}

fn annals() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_annals"));
    c.arg("--cache-dir").arg(cache_dir());
    c
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prove_sixteen_anvil_blocks_against_native_and_rpc() {
    let anvil = Anvil::spawn().await.expect("anvil (run scripts/setup.sh)");
    let url = anvil.url();
    let head = produce_blocks(&url, 64, 1..=4).await.unwrap();
    assert!(head >= 64);
    let tmp = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}?mode=rwc", tmp.path().join("a.db").display());
    let store = Store::connect(&db).await.unwrap();
    let opts = IndexOptions { quiet: true, ..IndexOptions::default() };
    annals_indexer::index_range(&store, &url, 0, head, &opts).await.unwrap();

    let (a, b) = (head - 15, head);
    let sql = format!(
        "SELECT COUNT(*), SUM(gas_used), MAX(base_fee_per_gas), MIN(timestamp) FROM headers \
         WHERE number BETWEEN {a} AND {b} AND gas_used > 21000"
    );
    let q = compile(&sql).unwrap();
    let rows = native(&store, &q).await.unwrap();

    // Independent reference: the same aggregates from anvil's own eth_getBlockByNumber.
    let provider = ProviderBuilder::new().connect_http(url.parse().unwrap());
    let (mut count, mut sum, mut max_fee, mut min_ts) = (0u64, 0u64, 0u64, u64::MAX);
    for n in a..=b {
        let block = provider.get_block_by_number(n.into()).await.unwrap().unwrap();
        let h = &block.header;
        if h.gas_used > 21000 {
            count += 1;
            sum += h.gas_used;
            max_fee = max_fee.max(h.base_fee_per_gas.unwrap());
            min_ts = min_ts.min(h.timestamp);
        }
    }
    assert!(count > 0, "the chain must have blocks with more than one transfer");
    let from_rpc = vec![vec![
        Some(U256::from(count)),
        Some(U256::from(sum)),
        Some(U256::from(max_fee)),
        Some(U256::from(min_ts)),
    ]];
    assert_eq!(rows, from_rpc);

    let proven = prove_query(&store, &q, &rows, &cache_dir()).await.expect("proves");
    let file = tmp.path().join("proof.json");
    proven.envelope.save(&file).unwrap();
    let anchor = provider.get_block_by_number(b.into()).await.unwrap().unwrap().header.hash;
    assert_eq!(proven.envelope.anchor_hash, anchor);

    // `annals verify` checks the file on its own.
    let out = annals().arg("verify").arg(&file).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains(&format!("{anchor}")), "{stdout}");

    // A tampered file fails verification with a non-zero exit.
    let mut env = ProofEnvelope::load(&file).unwrap();
    env.rows[0][0] = serde_json::json!("999");
    env.save(&file).unwrap();
    let out = annals().arg("verify").arg(&file).output().unwrap();
    assert!(!out.status.success());
}

/// A storage query over a real ERC-20 on anvil, sampled every 4th block: the points are
/// fetched with `eth_getProof`, the sampled blocks proven by `state_map` leaves and the others
/// by `header_map` leaves; the proven AVG/MIN/MAX of a holder's balance equal the native
/// evaluator's and the values of anvil's own `eth_getStorageAt`, and the file verifies.
///
/// Full tier: two state leaves at the mainnet shape (2^18 rows) make it the suite's longest
/// test; the default tier proves the state leaf in `annals-circuits` (small shape) instead.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "full tier (9 minutes before the 2026-12-01 profile change): bash scripts/test.sh --full"]
async fn prove_a_sampled_erc20_balance_on_anvil() {
    let anvil = Anvil::spawn().await.expect("anvil (run scripts/setup.sh)");
    let url = anvil.url();
    let chain = produce_erc20_blocks(&url, 8).await.unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}?mode=rwc", tmp.path().join("s.db").display());
    let store = Store::connect(&db).await.unwrap();
    let opts = IndexOptions { quiet: true, ..IndexOptions::default() };
    annals_indexer::index_range(&store, &url, 0, chain.head, &opts).await.unwrap();

    let (a, b) = (chain.first_block, chain.first_block + 7);
    let holder = chain.holders[1];
    let sql = format!(
        "SELECT AVG(value), MIN(value), MAX(value), COUNT(*) FROM storage \
         WHERE address = {} AND slot = mapping_slot({holder}, 0) \
         AND block_number BETWEEN {a} AND {b} AND block_number % 4 = {}",
        chain.token,
        a % 4
    );
    let q = compile(&sql).unwrap();
    assert_eq!(q.program.unprovable_reason(), None);
    let provider = ProviderBuilder::new().connect_http(url.parse().unwrap());
    assert_eq!(fetch_query_points(&store, &provider, &q, &opts).await.unwrap(), 2);
    let rows = native(&store, &q).await.unwrap();

    let slot = annals_query_lang::columns::mapping_slot(
        U256::from_be_slice(holder.as_slice()),
        U256::ZERO,
    );
    let mut values = Vec::new();
    for n in [a, a + 4] {
        values.push(provider.get_storage_at(chain.token, slot).block_id(n.into()).await.unwrap());
    }
    assert_ne!(values[0], values[1], "the holder's balance must change between samples");
    let avg = (values[0] + values[1]) / U256::from(2);
    let (min, max) = (values[0].min(values[1]), values[0].max(values[1]));
    assert_eq!(rows, vec![vec![Some(avg), Some(min), Some(max), Some(U256::from(2))]]);

    let proven = prove_query(&store, &q, &rows, &cache_dir()).await.expect("proves");
    let file = tmp.path().join("storage-proof.json");
    proven.envelope.save(&file).unwrap();
    let out = annals().arg("verify").arg(&file).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let expected: Vec<String> = rows[0].iter().map(|v| v.unwrap().to_string()).collect();
    let shown: Vec<String> =
        proven.envelope.rows[0].iter().map(|v| v.as_str().unwrap().to_string()).collect();
    assert_eq!(shown, expected);
}

#[test]
fn explain_shows_plan_and_malformed_queries_fail_with_position() {
    let out = annals()
        .args(["explain", "SELECT AVG(gas_used) FROM headers WHERE number BETWEEN 10 AND 25"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let s = String::from_utf8_lossy(&out.stdout);
    assert!(s.contains("16"), "{s}");
    let out = annals()
        .args(["explain", "SELECT AVG(gas_usd) FROM headers WHERE number BETWEEN 10 AND 25"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let e = String::from_utf8_lossy(&out.stderr);
    assert!(e.contains("gas_usd") && e.contains("column"), "{e}");
}

/// The second contiguous mainnet fixture run, through the CLI: import, query with `--prove
/// --out`, and `annals verify` on the file.
#[test]
fn cli_proves_mainnet_run_16000003_to_16000005() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/fixtures/mainnet");
    if !dir.exists() {
        eprintln!("note: no mainnet fixtures, skipping");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", tmp.path().join("m.db").display());
    let out = annals().args(["--db", &db, "import-fixtures"]).arg(&dir).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let proof = tmp.path().join("p.json");
    let sql = "SELECT COUNT(*), MIN(gas_used), MAX(base_fee_per_gas), AVG(timestamp) FROM headers \
               WHERE number BETWEEN 16000003 AND 16000005";
    let out = annals()
        .args(["--db", &db, "query", sql, "--prove", "--json", "--out"])
        .arg(&proof)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("\"3\""), "{stdout}");
    let env = ProofEnvelope::load(&proof).unwrap();
    assert_eq!((env.from_block, env.to_block), (16_000_003, 16_000_005));
    let out = annals().arg("verify").arg(&proof).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));

    // The imported receipts answer through the CLI (natively: their circuits are not in this
    // release, and `--prove` says so before building any circuit).
    let sql = "SELECT COUNT(*), SUM(gas_used) FROM receipts WHERE block_number BETWEEN 1150000 AND 1150000";
    let out = annals().args(["--db", &db, "query", sql, "--json"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let header = std::fs::read_to_string(dir.join("headers/1150000.json")).unwrap();
    let header: serde_json::Value = serde_json::from_str(&header).unwrap();
    let gas = u64::from_str_radix(header["gasUsed"].as_str().unwrap().trim_start_matches("0x"), 16);
    assert!(stdout.contains(&format!("\"{}\"", gas.unwrap())), "{stdout}");
    let out = annals().args(["--db", &db, "query", sql, "--prove"]).output().unwrap();
    assert!(!out.status.success());
    let e = String::from_utf8_lossy(&out.stderr);
    assert!(
        e.contains("cannot prove this query: the receipts circuits are not in this release"),
        "{e}"
    );
    // explain of a logs query shows the bloom rule-out of each indexed block.
    let sql = "SELECT COUNT(*) FROM logs WHERE block_number BETWEEN 1150000 AND 1150001 \
               AND address = 0x5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a";
    let out = annals().args(["--db", &db, "explain", sql]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("1150000: ruled out by logs_bloom"), "{stdout}");
    assert!(stdout.contains("1 of 1 indexed blocks ruled out by bloom"), "{stdout}");
    assert!(stdout.contains("1150001: header not indexed"), "{stdout}");
}
