//! Shared helpers.

use annals_indexer::Store;
use std::path::PathBuf;

/// The mainnet fixture root, or `None` (with a note) when this checkout has no `shared/`.
pub fn mainnet_fixtures() -> Option<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/fixtures/mainnet");
    if dir.join("headers").is_dir() {
        Some(dir)
    } else {
        eprintln!("note: {} not found; mainnet fixture test skipped", dir.display());
        None
    }
}

/// A fresh SQLite store in a temp dir (kept alive by the returned guard).
pub async fn sqlite_store() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_sqlite(&dir.path().join("annals.db")).await.unwrap();
    (dir, store)
}

/// Every stored row, all SQL columns rendered as text, for comparing databases.
pub async fn dump(store: &Store) -> Vec<String> {
    use annals_indexer::HeaderProvider;
    let mut out = Vec::new();
    for h in store.headers_range(..).await.unwrap() {
        out.push(format!("{} {} {}", h.number, h.hash, alloy_primitives::hex::encode(&h.rlp)));
    }
    let cols = store.column_rows(..).await.unwrap();
    for r in cols {
        out.push(format!("{r:?}"));
    }
    out
}
