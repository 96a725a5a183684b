//! Accounts and storage: the mainnet `eth_getProof` fixtures, tampered proofs, and an
//! ERC-20's balances on anvil against the node's own `eth_getStorageAt`.

use crate::common::{mainnet_fixtures, sqlite_store};
use alloy::providers::{Provider, ProviderBuilder};
use alloy::rpc::types::EIP1186AccountProofResponse;
use alloy_primitives::{keccak256, Address, B256, U256};
use annals_indexer::testing::{produce_erc20_blocks, Anvil};
use annals_indexer::{
    fetch_account, fetch_query_points, import_dir, import_proofs_dir, index_range, IndexOptions,
    IndexerError, Store,
};
use annals_query_lang::compile;
use serde_json::Value;
use std::path::Path;

async fn store_with_headers(root: &Path) -> (tempfile::TempDir, Store) {
    let (tmp, store) = sqlite_store().await;
    import_dir(&store, root).await.unwrap();
    (tmp, store)
}

async fn rows(store: &Store) -> (i64, i64) {
    let a = sqlx::query_scalar("SELECT COUNT(*) FROM accounts").fetch_one(store.pool());
    let s = sqlx::query_scalar("SELECT COUNT(*) FROM storage").fetch_one(store.pool());
    (a.await.unwrap(), s.await.unwrap())
}

#[tokio::test]
async fn mainnet_proofs_import_verify_and_read_back() {
    let Some(root) = mainnet_fixtures() else { return };
    let (_tmp, store) = store_with_headers(&root).await;
    let report = import_proofs_dir(&store, &root).await.unwrap();
    let blocks: Vec<(u64, usize)> = report.accounts.iter().map(|(n, _, s)| (*n, *s)).collect();
    assert_eq!(blocks, [(14_194_126, 1), (19_000_000, 2), (21_925_176, 1), (500_000, 0)]);
    assert_eq!(report.written, 4 + 4);
    assert_eq!(import_proofs_dir(&store, &root).await.unwrap().written, 0);
    for entry in std::fs::read_dir(root.join("proofs")).unwrap() {
        let path = entry.unwrap().path();
        let n: u64 =
            path.file_stem().unwrap().to_str().unwrap().split('-').next().unwrap().parse().unwrap();
        let fixture: EIP1186AccountProofResponse =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let slots: Vec<B256> = fixture.storage_proof.iter().map(|s| s.key.as_b256()).collect();
        let stored = store.account(n, fixture.address, &slots).await.unwrap().unwrap();
        assert!(stored.exists);
        assert_eq!((stored.nonce, stored.balance), (fixture.nonce, fixture.balance));
        assert_eq!(stored.storage_root, fixture.storage_hash);
        assert_eq!(stored.proof, fixture.account_proof);
        let values: Vec<U256> = stored.slots.iter().map(|s| s.value).collect();
        let expected: Vec<U256> = fixture.storage_proof.iter().map(|s| s.value).collect();
        assert_eq!(values, expected, "{}", path.display());
    }
    // the account with no storage, and USDC balances that are set
    let plain: Address = "0x580992b51e3925e23280efb93d3047c82f17e038".parse().unwrap();
    let a = store.account(500_000, plain, &[]).await.unwrap().unwrap();
    assert_eq!(a.storage_root, alloy_trie::EMPTY_ROOT_HASH);
    let usdc: Address = "0xa0b86991c6218b36c1d19d4a2e9eb0ce3606eb48".parse().unwrap();
    let fixture =
        std::fs::read_to_string(root.join(format!("proofs/19000000-{usdc:#x}.json"))).unwrap();
    let fixture: EIP1186AccountProofResponse = serde_json::from_str(&fixture).unwrap();
    let slots: Vec<B256> = fixture.storage_proof.iter().map(|s| s.key.as_b256()).collect();
    let usdc_state = store.account(19_000_000, usdc, &slots).await.unwrap().unwrap();
    assert!(usdc_state.slots.iter().all(|s| !s.value.is_zero()));
    assert!(store.account(19_000_001, usdc, &[]).await.unwrap().is_none());
}

/// Writes one proof file named for block `n` into a fresh folder and imports it.
async fn import_one(
    store: &Store,
    n: u64,
    address: &str,
    proof: &Value,
) -> Result<(), IndexerError> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(format!("{n}-{address}.json"));
    std::fs::write(path, serde_json::to_vec(proof).unwrap()).unwrap();
    import_proofs_dir(store, dir.path()).await.map(|_| ())
}

fn bad_proof_block(e: &IndexerError) -> Option<u64> {
    match e {
        IndexerError::Fixture { source, .. } => bad_proof_block(source),
        IndexerError::BadProof { number, .. } => Some(*number),
        _ => None,
    }
}

#[tokio::test]
async fn tampered_proofs_are_rejected_and_nothing_is_stored() {
    let Some(root) = mainnet_fixtures() else { return };
    let (_tmp, store) = store_with_headers(&root).await;
    let usdc = "0xa0b86991c6218b36c1d19d4a2e9eb0ce3606eb48";
    let honest: Value = serde_json::from_str(
        &std::fs::read_to_string(root.join(format!("proofs/19000000-{usdc}.json"))).unwrap(),
    )
    .unwrap();
    assert_eq!(honest["storageProof"].as_array().unwrap().len(), 2);
    let tamper = |f: &dyn Fn(&mut Value)| {
        let mut v = honest.clone();
        f(&mut v);
        v
    };
    let flip = |node: &mut Value| {
        let s = node.as_str().unwrap().to_owned();
        let i = s.len() / 2;
        let c = if &s[i..i + 1] == "0" { "1" } else { "0" };
        *node = Value::String(format!("{}{c}{}", &s[..i], &s[i + 1..]));
    };
    let cases: Vec<(&str, u64, Value)> = vec![
        ("proof against another block's state_root", 21_925_176, honest.clone()),
        (
            "forged intermediate account node",
            19_000_000,
            tamper(&|v| flip(&mut v["accountProof"][1])),
        ),
        (
            "forged storage leaf",
            19_000_000,
            tamper(&|v| {
                let last = v["storageProof"][0]["proof"].as_array().unwrap().len() - 1;
                flip(&mut v["storageProof"][0]["proof"][last]);
            }),
        ),
        (
            "value of the other slot",
            19_000_000,
            tamper(&|v| {
                let other = v["storageProof"][1]["value"].clone();
                v["storageProof"][0]["value"] = other;
            }),
        ),
        (
            "exclusion claimed for a slot that is set",
            19_000_000,
            tamper(&|v| {
                v["storageProof"][0]["value"] = Value::String("0x0".into());
            }),
        ),
        ("balance changed", 19_000_000, tamper(&|v| v["balance"] = Value::String("0x1".into()))),
        (
            "storage proof of another account",
            19_000_000,
            tamper(&|v| {
                v["storageHash"] = Value::String(format!("0x{}", "11".repeat(32)));
            }),
        ),
    ];
    for (what, n, proof) in cases {
        let err = import_one(&store, n, usdc, &proof).await.unwrap_err();
        assert_eq!(bad_proof_block(&err), Some(n), "{what}: {err}");
        assert_eq!(rows(&store).await, (0, 0), "{what}");
    }
    // the honest file imports
    import_one(&store, 19_000_000, usdc, &honest).await.unwrap();
    assert_eq!(rows(&store).await, (1, 2));
}

/// `keccak256(pad32(key) ‖ pad32(base_slot))`: the slot of `mapping[key]` (Solidity layout).
fn mapping_slot(key: Address, base_slot: u64) -> B256 {
    let mut buf = [0u8; 64];
    buf[12..32].copy_from_slice(key.as_slice());
    buf[32..].copy_from_slice(&U256::from(base_slot).to_be_bytes::<32>());
    keccak256(buf)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn erc20_balances_equal_the_nodes_storage() {
    let anvil = Anvil::spawn().await.unwrap_or_else(|e| panic!("{e}"));
    let chain = produce_erc20_blocks(&anvil.url(), 32).await.unwrap();
    let provider = ProviderBuilder::new()
        .disable_recommended_fillers()
        .connect_http(anvil.url().parse().unwrap());
    let (_tmp, store) = sqlite_store().await;
    let opts = IndexOptions { quiet: true, ..Default::default() };
    index_range(&store, &anvil.url(), 0, chain.head, &opts).await.unwrap();
    // OpenZeppelin's ERC20 keeps `_balances` at slot 0.
    let holders = &chain.holders[..3];
    let slots: Vec<B256> = holders.iter().map(|h| mapping_slot(*h, 0)).collect();
    let mut changed = 0;
    let mut last = vec![U256::ZERO; holders.len()];
    for n in (chain.first_block..=chain.head).step_by(4) {
        let a = fetch_account(&store, &provider, n, chain.token, &slots, &opts).await.unwrap();
        assert!(a.exists);
        for (i, s) in a.slots.iter().enumerate() {
            let node = provider
                .get_storage_at(chain.token, s.slot.into())
                .block_id(n.into())
                .await
                .unwrap();
            assert_eq!(s.value, node, "block {n} holder {i}");
            assert!(!s.value.is_zero());
            changed += usize::from(s.value != last[i]);
            last[i] = s.value;
        }
        let again = store.account(n, chain.token, &slots).await.unwrap().unwrap();
        assert_eq!(again, a);
    }
    assert!(changed > holders.len(), "balances must change across the sampled blocks");

    // The storage query: holder 0's balance at every other block of the whole range
    // (the planner's points fetched with eth_getProof, verified, stored), against the node's
    // eth_getStorageAt.
    let (a, b) = (chain.first_block, chain.head);
    assert!(b - a + 1 >= 32);
    let token = chain.token;
    let sampled = compile(&format!(
        "SELECT block_number, value FROM storage WHERE address = {token} \
         AND slot = mapping_slot({}, 0) AND block_number BETWEEN {a} AND {b} \
         AND block_number % 2 = {}",
        holders[0],
        (a + 1) % 2
    ))
    .unwrap();
    let fetched = fetch_query_points(&store, &provider, &sampled, &opts).await.unwrap();
    assert_eq!(fetched as u64, (a..=b).filter(|n| n % 2 == (a + 1) % 2).count() as u64);
    assert_eq!(fetch_query_points(&store, &provider, &sampled, &opts).await.unwrap(), 0);
    let got = sampled.evaluate(&store.query_rows(&sampled).await.unwrap()).unwrap();
    let node_balance = |n: u64, holder: Address| {
        let provider = &provider;
        async move {
            provider
                .get_storage_at(token, mapping_slot(holder, 0).into())
                .block_id(n.into())
                .await
                .unwrap()
        }
    };
    let mut expected = Vec::new();
    for n in (a..=b).filter(|n| n % 2 == (a + 1) % 2) {
        expected.push(vec![Some(U256::from(n)), Some(node_balance(n, holders[0]).await)]);
    }
    assert_eq!(got, expected);
    // AVG/MIN/MAX of two holders' balances over every block of the range, grouped by slot.
    let stats = compile(&format!(
        "SELECT slot, AVG(value), MIN(value), MAX(value) FROM storage WHERE address = {token} \
         AND slot IN (mapping_slot({}, 0), mapping_slot({}, 0)) \
         AND block_number BETWEEN {a} AND {b} GROUP BY slot",
        holders[0], holders[1]
    ))
    .unwrap();
    fetch_query_points(&store, &provider, &stats, &opts).await.unwrap();
    let got = stats.evaluate(&store.query_rows(&stats).await.unwrap()).unwrap();
    let mut expected = Vec::new();
    for &h in &holders[..2] {
        let mut values = Vec::new();
        for n in a..=b {
            values.push(node_balance(n, h).await);
        }
        let avg = values.iter().sum::<U256>() / U256::from(values.len());
        let (min, max) = (*values.iter().min().unwrap(), *values.iter().max().unwrap());
        let slot = U256::from_be_bytes(mapping_slot(h, 0).0);
        expected.push(vec![Some(slot), Some(avg), Some(min), Some(max)]);
    }
    expected.sort();
    assert_eq!(got, expected);
    assert_ne!(got[0][2], got[0][3], "the balance changes over the range");
    // An account that never existed: proven absent, read as the empty account.
    let nobody = Address::repeat_byte(0xee);
    let a =
        fetch_account(&store, &provider, chain.head, nobody, &[B256::ZERO], &opts).await.unwrap();
    assert!(!a.exists);
    assert_eq!((a.nonce, a.balance, a.slots[0].value), (0, U256::ZERO, U256::ZERO));
    // A block whose header is not indexed.
    let err = fetch_account(&store, &provider, chain.head + 5, nobody, &[], &opts).await;
    assert!(matches!(err, Err(IndexerError::MissingBlock { .. })), "{err:?}");
}
