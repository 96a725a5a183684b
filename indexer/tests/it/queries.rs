//! The dialect's non-header tables evaluated natively over verified, stored mainnet data
//! ([`Store::query_rows`] + [`CompiledQuery::evaluate`]), each result compared with a value
//! computed independently from the fixture JSON (plain `serde_json`, no alloy types).

use crate::common::{mainnet_fixtures, sqlite_store};
use alloy_primitives::{Address, Bloom, B256, U256};
use annals_indexer::{import_dir, import_proofs_dir, import_receipts_dir, Store};
use annals_query_lang::compile;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;

const BLOCKS: [u64; 5] = [1_150_000, 10_000_000, 18_000_000, 19_432_087, 21_925_176];

fn json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn hex_u64(v: &Value) -> u64 {
    u64::from_str_radix(v.as_str().unwrap().trim_start_matches("0x"), 16).unwrap()
}

fn bytes(v: &Value) -> Vec<u8> {
    alloy_primitives::hex::decode(v.as_str().unwrap()).unwrap()
}

async fn run(store: &Store, sql: &str) -> Result<Vec<Vec<Option<U256>>>, String> {
    let q = compile(sql).map_err(|e| e.to_string())?;
    let rows = store.query_rows(&q).await.map_err(|e| e.to_string())?;
    q.evaluate(&rows).map_err(|e| e.to_string())
}

fn u(v: u64) -> Option<U256> {
    Some(U256::from(v))
}

#[tokio::test]
async fn receipts_and_logs_queries_on_mainnet_blocks() {
    let Some(root) = mainnet_fixtures() else { return };
    let (_tmp, store) = sqlite_store().await;
    import_dir(&store, &root).await.unwrap();
    import_receipts_dir(&store, &root).await.unwrap();
    for n in BLOCKS {
        let receipts = json(&root.join(format!("receipts/{n}.json")));
        let receipts = receipts.as_array().unwrap();
        let header = json(&root.join(format!("headers/{n}.json")));
        let logs: Vec<&Value> =
            receipts.iter().flat_map(|r| r["logs"].as_array().unwrap()).collect();
        let range = format!("block_number BETWEEN {n} AND {n}");

        // COUNT of receipts, SUM of gas_used (= the header's gas_used), SUM of log_count.
        let got = run(
            &store,
            &format!(
                "SELECT COUNT(*), SUM(gas_used), SUM(log_count), MAX(cumulative_gas_used) \
                 FROM receipts WHERE {range}"
            ),
        )
        .await
        .unwrap();
        let gas = hex_u64(&header["gasUsed"]);
        assert_eq!(
            got,
            vec![vec![u(receipts.len() as u64), u(gas), u(logs.len() as u64), u(gas)]],
            "block {n}"
        );

        // Receipts per type (GROUP BY), and the failed ones.
        let mut by_type: BTreeMap<u64, u64> = BTreeMap::new();
        for r in receipts {
            *by_type.entry(r.get("type").map_or(0, hex_u64)).or_default() += 1;
        }
        let got = run(
            &store,
            &format!("SELECT tx_type, COUNT(*) FROM receipts WHERE {range} GROUP BY tx_type"),
        )
        .await
        .unwrap();
        let expected: Vec<_> = by_type.iter().map(|(t, c)| vec![u(*t), u(*c)]).collect();
        assert_eq!(got, expected, "block {n}");
        let failed = receipts.iter().filter(|r| r.get("status").map(hex_u64) == Some(0)).count();
        let no_status = receipts.iter().filter(|r| r.get("status").is_none()).count();
        let got = run(
            &store,
            &format!(
                "SELECT COUNT(status = 0), COUNT(*) FROM receipts WHERE {range} \
                 AND (status = 0 OR status IS NULL)"
            ),
        )
        .await
        .unwrap();
        assert_eq!(got, vec![vec![u(failed as u64), u((failed + no_status) as u64)]]);
        if n == 1_150_000 {
            assert_eq!(no_status, receipts.len(), "pre-Byzantium: no status");
        }

        // The busiest (address, topic0) pair: count and SUM(word(data, 0)).
        let mut pairs: BTreeMap<(String, String), (u64, U256)> = BTreeMap::new();
        for l in &logs {
            let Some(t0) = l["topics"].as_array().unwrap().first() else { continue };
            let data = bytes(&l["data"]);
            let key = (l["address"].as_str().unwrap().to_lowercase(), t0.as_str().unwrap().into());
            let e = pairs.entry(key).or_default();
            e.0 += 1;
            if data.len() >= 32 {
                e.1 += U256::from_be_slice(&data[..32]);
            }
        }
        let Some(((address, topic0), (count, sum))) =
            pairs.into_iter().max_by_key(|(k, (c, _))| (*c, k.clone()))
        else {
            continue;
        };
        let sql = format!(
            "SELECT COUNT(*), SUM(word(data, 0)) FROM logs WHERE {range} \
             AND address = {address} AND topic0 = {topic0}"
        );
        let got = run(&store, &sql).await.unwrap();
        let all_long = logs.iter().all(|l| {
            l["address"].as_str().unwrap().to_lowercase() != address
                || bytes(&l["data"]).len() >= 32
        });
        assert!(all_long, "block {n}: the chosen event has a data word");
        assert_eq!(got, vec![vec![u(count), Some(sum)]], "block {n}: {sql}");

        // Bloom rule-out is sound: a block with a matching log is never ruled out, and a
        // filter on an address that emitted nothing in the block is ruled out or a false
        // positive (checked against the logs).
        let q = compile(&sql).unwrap();
        let bloom = Bloom::from_slice(&bytes(&header["logsBloom"]));
        assert!(!q.bloom_filter().unwrap().rules_out(&bloom), "block {n}");
        let absent = Address::repeat_byte(0x5a);
        let q = compile(&format!("SELECT COUNT(*) FROM logs WHERE {range} AND address = {absent}"))
            .unwrap();
        let matches = logs.iter().any(|l| l["address"].as_str().unwrap().parse() == Ok(absent));
        assert!(!matches);
        if n == 1_150_000 {
            assert!(q.bloom_filter().unwrap().rules_out(&bloom), "sparse bloom rules it out");
        }
    }

    // Ranges need every block's receipts: the neighbours of the fixture blocks have headers
    // only.
    let err =
        run(&store, "SELECT COUNT(*) FROM receipts WHERE block_number BETWEEN 1150000 AND 1150001")
            .await
            .unwrap_err();
    assert!(err.contains("block 1150001") && err.contains("receipts"), "{err}");
    // Too many groups: every log of 19432087 by address.
    let err = run(
        &store,
        "SELECT address, COUNT(*) FROM logs WHERE block_number BETWEEN 19432087 AND 19432087 \
         GROUP BY address",
    )
    .await
    .unwrap_err();
    assert!(err.contains("too many groups: more than 16"), "{err}");
}

#[tokio::test]
async fn accounts_and_storage_queries_on_mainnet_proofs() {
    let Some(root) = mainnet_fixtures() else { return };
    let (_tmp, store) = sqlite_store().await;
    import_dir(&store, &root).await.unwrap();
    import_proofs_dir(&store, &root).await.unwrap();
    for entry in std::fs::read_dir(root.join("proofs")).unwrap() {
        let path = entry.unwrap().path();
        let n: u64 =
            path.file_stem().unwrap().to_str().unwrap().split('-').next().unwrap().parse().unwrap();
        let p = json(&path);
        let address = p["address"].as_str().unwrap();
        let got = run(
            &store,
            &format!(
                "SELECT nonce, balance, storage_root, code_hash FROM accounts \
                 WHERE block_number BETWEEN {n} AND {n} AND address = {address}"
            ),
        )
        .await
        .unwrap();
        let word = |v: &Value| Some(U256::from_be_slice(&bytes(v)));
        let quantity =
            |v: &Value| U256::from_str_radix(v.as_str().unwrap().trim_start_matches("0x"), 16).ok();
        assert_eq!(
            got,
            vec![vec![
                quantity(&p["nonce"]),
                quantity(&p["balance"]),
                word(&p["storageHash"]),
                word(&p["codeHash"])
            ]],
            "{}",
            path.display()
        );
        for s in p["storageProof"].as_array().unwrap() {
            let slot = B256::left_padding_from(&bytes(&s["key"]));
            // The slot as a 32-byte hex word and as a decimal number read the same row.
            let hex = run(
                &store,
                &format!(
                    "SELECT value FROM storage WHERE block_number BETWEEN {n} AND {n} \
                     AND address = {address} AND slot = {slot}"
                ),
            )
            .await
            .unwrap();
            let got = run(
                &store,
                &format!(
                    "SELECT value FROM storage WHERE block_number BETWEEN {n} AND {n} \
                     AND address = {address} AND slot IN ({})",
                    U256::from_be_bytes(slot.0)
                ),
            )
            .await
            .unwrap();
            assert_eq!(hex, got);
            assert_eq!(got, vec![vec![quantity(&s["value"])]], "{} slot {slot}", path.display());
        }
    }
    // A point the store does not hold is reported, not read as zero.
    let err = run(
        &store,
        "SELECT value FROM storage WHERE block_number BETWEEN 19000000 AND 19000000 \
         AND address = 0xa0b86991c6218b36c1d19d4a2e9eb0ce3606eb48 AND slot = 12345",
    )
    .await
    .unwrap_err();
    assert!(err.contains("block 19000000") && err.contains("slot"), "{err}");
}
