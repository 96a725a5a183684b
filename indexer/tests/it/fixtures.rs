//! Mainnet fixtures: import, verification, tampering.

use crate::common::{mainnet_fixtures, sqlite_store};
use alloy_primitives::U256;
use annals_indexer::{import_dir, ChainSpec, HeaderProvider, IndexerError};
use annals_query_lang::columns::{header_row, HeaderColumn};
use std::path::Path;

const EXPECTED_RUNS: [(u64, u64); 6] = [
    (0, 1),
    (499_999, 500_000),
    (16_000_000, 16_000_001),
    (16_000_003, 16_000_005),
    (17_000_000, 17_000_002),
    (19_665_755, 19_665_756),
];

#[tokio::test]
async fn all_mainnet_headers_import_and_verify() {
    let Some(root) = mainnet_fixtures() else { return };
    let (_tmp, store) = sqlite_store().await;
    let report = import_dir(&store, &root).await.unwrap();
    assert_eq!(report.spec, ChainSpec::Mainnet);
    assert_eq!(report.headers, 37);
    assert_eq!(report.inserted, 37);
    assert_eq!(store.count().await.unwrap(), 37);
    for (a, b) in EXPECTED_RUNS {
        assert!(report.runs.contains(&(a..=b)), "run {a}..={b} missing: {:?}", report.runs);
    }
    // idempotent
    let again = import_dir(&store, &root.join("headers")).await.unwrap();
    assert_eq!(again.inserted, 0);
    assert_eq!(store.count().await.unwrap(), 37);

    // every stored row equals the fixture's fields; RLP hashes to the hash; columns agree
    for n in store.block_numbers().await.unwrap() {
        let text = std::fs::read_to_string(root.join(format!("headers/{n}.json"))).unwrap();
        let rpc: alloy_rpc_types_eth::Header = serde_json::from_str(&text).unwrap();
        let h = store.header(n).await.unwrap().unwrap();
        assert_eq!(h.hash, rpc.hash);
        assert_eq!(h.header, rpc.inner);
        assert_eq!(
            alloy_primitives::keccak256(store.header_rlp(n).await.unwrap().unwrap()),
            rpc.hash
        );
        let row = store.header_rows(n..=n).await.unwrap().remove(0);
        assert_eq!(row, header_row(&rpc.inner, rpc.hash));
        assert_eq!(vec![row], store.column_rows(n..=n).await.unwrap());
    }
    // fork fields: NULL before their fork, set after
    let rows = store.header_rows(19_665_755..=19_665_756).await.unwrap();
    assert!(rows[0][HeaderColumn::ParentBeaconBlockRoot as usize].is_some());
    assert!(rows[0][HeaderColumn::RequestsHash as usize].is_none());
    let r = store.header_rows(0..=1).await.unwrap();
    assert_eq!(r[0][HeaderColumn::Difficulty as usize], Some(U256::from(17_179_869_184u64)));
    assert!(r[1][HeaderColumn::BaseFeePerGas as usize].is_none());
    let prague = store.header_rows(24_630_100..=24_630_100).await.unwrap();
    assert!(prague[0][HeaderColumn::RequestsHash as usize].is_some());

    // ranges must be complete
    let err = store.headers_range(16_000_000..=16_000_003).await.unwrap_err();
    assert!(matches!(err, IndexerError::MissingBlock { number: 16_000_002 }), "{err}");
}

fn copy_headers(root: &Path, to: &Path, numbers: &[u64]) {
    for n in numbers {
        std::fs::copy(root.join(format!("headers/{n}.json")), to.join(format!("{n}.json")))
            .unwrap();
    }
}

fn edit(path: &Path, f: impl FnOnce(&mut serde_json::Value)) {
    let mut v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    f(&mut v);
    std::fs::write(path, serde_json::to_string_pretty(&v).unwrap()).unwrap();
}

#[tokio::test]
async fn tampered_field_names_the_block_and_stores_nothing() {
    let Some(root) = mainnet_fixtures() else { return };
    let dir = tempfile::tempdir().unwrap();
    copy_headers(&root, dir.path(), &[0, 1, 16_000_003, 16_000_004, 16_000_005]);
    edit(&dir.path().join("16000004.json"), |v| v["gasUsed"] = "0x1234".into());
    let (_tmp, store) = sqlite_store().await;
    let err = import_dir(&store, dir.path()).await.unwrap_err();
    assert_eq!(err.block(), Some(16_000_004), "{err}");
    let inner = match &err {
        IndexerError::Fixture { source, .. } => source.as_ref(),
        other => panic!("unexpected {other}"),
    };
    assert!(matches!(inner, IndexerError::HashMismatch { number: 16_000_004, .. }), "{err}");
    assert!(err.to_string().contains("block 16000004"), "{err}");
    assert_eq!(store.count().await.unwrap(), 0);

    // a pre-London block that claims a base fee fails under mainnet rules even with a matching hash
    let dir = tempfile::tempdir().unwrap();
    copy_headers(&root, dir.path(), &[0, 1]);
    edit(&dir.path().join("1.json"), |v| {
        let mut h: alloy_rpc_types_eth::Header = serde_json::from_value(v.clone()).unwrap();
        h.inner.base_fee_per_gas = Some(7);
        v["baseFeePerGas"] = "0x7".into();
        v["hash"] = h.inner.hash_slow().to_string().into();
    });
    let err = import_dir(&store, dir.path()).await.unwrap_err();
    assert_eq!(err.block(), Some(1), "{err}");
    assert!(err.to_string().contains("base_fee_per_gas must be absent"), "{err}");
    assert_eq!(store.count().await.unwrap(), 0);
}

#[tokio::test]
async fn broken_parent_link_names_both_blocks_and_stores_nothing() {
    let Some(root) = mainnet_fixtures() else { return };
    let dir = tempfile::tempdir().unwrap();
    copy_headers(&root, dir.path(), &[0, 1, 16_000_003, 16_000_004, 16_000_005]);
    // rewrite 16000004's parent_hash and re-seal it: its own hash checks out, its links do not
    edit(&dir.path().join("16000004.json"), |v| {
        let mut h: alloy_rpc_types_eth::Header = serde_json::from_value(v.clone()).unwrap();
        h.inner.parent_hash = alloy_primitives::B256::repeat_byte(0x11);
        v["parentHash"] = h.inner.parent_hash.to_string().into();
        v["hash"] = h.inner.hash_slow().to_string().into();
    });
    let (_tmp, store) = sqlite_store().await;
    let err = import_dir(&store, dir.path()).await.unwrap_err();
    assert!(
        matches!(err, IndexerError::ParentLink { parent: 16_000_003, child: 16_000_004, .. }),
        "{err}"
    );
    let msg = err.to_string();
    assert!(msg.contains("block 16000003") && msg.contains("block 16000004"), "{msg}");
    assert_eq!(store.count().await.unwrap(), 0);
}

#[tokio::test]
async fn link_to_an_already_stored_parent_is_checked() {
    let Some(root) = mainnet_fixtures() else { return };
    let (_tmp, store) = sqlite_store().await;
    let a = tempfile::tempdir().unwrap();
    copy_headers(&root, a.path(), &[16_000_003]);
    import_dir(&store, a.path()).await.unwrap();
    let b = tempfile::tempdir().unwrap();
    copy_headers(&root, b.path(), &[16_000_004]);
    edit(&b.path().join("16000004.json"), |v| {
        let mut h: alloy_rpc_types_eth::Header = serde_json::from_value(v.clone()).unwrap();
        h.inner.parent_hash = alloy_primitives::B256::repeat_byte(0x22);
        v["parentHash"] = h.inner.parent_hash.to_string().into();
        v["hash"] = h.inner.hash_slow().to_string().into();
    });
    let err = import_dir(&store, b.path()).await.unwrap_err();
    assert!(
        matches!(err, IndexerError::ParentLink { parent: 16_000_003, child: 16_000_004, .. }),
        "{err}"
    );
    assert_eq!(store.count().await.unwrap(), 1);
}
