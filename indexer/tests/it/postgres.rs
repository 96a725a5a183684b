//! PostgreSQL: a throwaway cluster (initdb + pg_ctl) on a free loopback port, when installed.

use crate::common::mainnet_fixtures;
use annals_indexer::{
    import_dir, import_proofs_dir, import_receipts_dir, Backend, HeaderProvider, IndexerError,
    Store,
};
use std::path::{Path, PathBuf};
use std::process::Command;

/// Directory holding `initdb` and `pg_ctl`: PATH first, then Debian's /usr/lib/postgresql/*/bin.
fn pg_bin_dir() -> Option<PathBuf> {
    if let Some(paths) = std::env::var_os("PATH") {
        for dir in std::env::split_paths(&paths) {
            if dir.join("initdb").is_file() && dir.join("pg_ctl").is_file() {
                return Some(dir);
            }
        }
    }
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
        .filter(|d| d.join("initdb").is_file() && d.join("pg_ctl").is_file())
        .collect();
    versions.sort();
    versions.pop()
}

fn is_root() -> bool {
    Command::new("id").arg("-u").output().map(|o| o.stdout.trim_ascii() == b"0").unwrap_or(false)
}

/// A running cluster; stopped (immediate) on drop.
struct Cluster {
    bin: PathBuf,
    data: PathBuf,
    as_postgres: bool,
    port: u16,
    _dir: tempfile::TempDir,
}

impl Cluster {
    fn cmd(bin: &Path, as_postgres: bool, prog: &str) -> Command {
        if as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(bin.join(prog));
            c
        } else {
            Command::new(bin.join(prog))
        }
    }

    fn start(bin: PathBuf) -> Cluster {
        // initdb refuses to run as root: run the cluster as the `postgres` user then
        let as_postgres = is_root();
        let dir = tempfile::tempdir().unwrap();
        if as_postgres {
            let st = Command::new("chown").arg("postgres").arg(dir.path()).status().unwrap();
            assert!(st.success(), "chown postgres {}", dir.path().display());
        }
        let data = dir.path().join("data");
        let out = Cluster::cmd(&bin, as_postgres, "initdb")
            .args(["-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-sync", "-D"])
            .arg(&data)
            .output()
            .unwrap();
        assert!(out.status.success(), "initdb: {}", String::from_utf8_lossy(&out.stderr));
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let opts = format!(
            "-p {port} -c listen_addresses=127.0.0.1 -k {} -c fsync=off",
            dir.path().display()
        );
        let out = Cluster::cmd(&bin, as_postgres, "pg_ctl")
            .args(["-w", "-t", "60", "-o", &opts, "-l"])
            .arg(dir.path().join("log"))
            .arg("-D")
            .arg(&data)
            .arg("start")
            .output()
            .unwrap();
        let log = std::fs::read_to_string(dir.path().join("log")).unwrap_or_default();
        assert!(
            out.status.success(),
            "pg_ctl start: {}\n{log}",
            String::from_utf8_lossy(&out.stderr)
        );
        Cluster { bin, data, as_postgres, port, _dir: dir }
    }

    fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = Cluster::cmd(&self.bin, self.as_postgres, "pg_ctl")
            .args(["-m", "immediate", "-D"])
            .arg(&self.data)
            .arg("stop")
            .output();
    }
}

#[tokio::test]
async fn migrations_and_import_on_postgres() {
    let Some(bin) = pg_bin_dir() else {
        eprintln!("note: initdb/pg_ctl not installed; PostgreSQL test skipped");
        return;
    };
    if is_root() && Command::new("runuser").arg("--version").output().is_err() {
        eprintln!("note: running as root without runuser; PostgreSQL test skipped");
        return;
    }
    let cluster = tokio::task::spawn_blocking(move || Cluster::start(bin)).await.unwrap();
    let store = Store::connect(&cluster.url()).await.unwrap();
    assert_eq!(store.backend(), Backend::Postgres);
    // migrations are idempotent
    drop(Store::connect(&cluster.url()).await.unwrap());

    if let Some(root) = mainnet_fixtures() {
        let report = import_dir(&store, &root).await.unwrap();
        assert_eq!(report.inserted, 37);
        assert_eq!(store.count().await.unwrap(), 37);
        let rows = store.header_rows(16_000_003..=16_000_005).await.unwrap();
        assert_eq!(rows, store.column_rows(16_000_003..=16_000_005).await.unwrap());
        let h = store.header(24_630_100).await.unwrap().unwrap();
        assert!(h.header.requests_hash.is_some());
        assert_eq!(import_dir(&store, &root).await.unwrap().inserted, 0);
        let err = store.headers_range(0..=2).await.unwrap_err();
        assert!(err.to_string().contains("block 2"), "{err}");
        // receipts and logs through the same migrations and writes
        let r = import_receipts_dir(&store, &root).await.unwrap();
        assert_eq!(r.blocks_written, 5);
        let cancun = store.receipts(19_432_087).await.unwrap().unwrap();
        assert_eq!(cancun.len(), 316);
        let pre = store.receipts(1_150_000).await.unwrap().unwrap();
        assert!(pre.iter().all(|x| x.post_state().is_some()));
        assert_eq!(store.receipt_counts().await.unwrap().0, r.receipts);
        // accounts and storage with their proof nodes
        assert_eq!(import_proofs_dir(&store, &root).await.unwrap().written, 8);
        let usdc = "0xa0b86991c6218b36c1d19d4a2e9eb0ce3606eb48".parse().unwrap();
        let a = store.account(19_000_000, usdc, &[]).await.unwrap().unwrap();
        assert!(a.exists);
        assert_ne!(a.storage_root, alloy_trie::EMPTY_ROOT_HASH);
        assert_eq!(import_proofs_dir(&store, &root).await.unwrap().written, 0);
    }
    // a small batch with a checkpoint, through the same write path as RPC indexing
    let chain = synthetic_chain(30_000_000, 5);
    store.insert_batch(&chain, Some(("pg", 30_000_005))).await.unwrap();
    assert_eq!(store.checkpoint("pg").await.unwrap(), Some(30_000_005));
    assert_eq!(store.headers_range(30_000_000..30_000_005).await.unwrap(), chain);
    // another block 0 than the stored one: conflict, and the batch (with its checkpoint) rolls back
    if store.header(0).await.unwrap().is_some() {
        let before = store.count().await.unwrap();
        let err = store.insert_batch(&synthetic_chain(0, 1), Some(("pg", 1))).await.unwrap_err();
        assert!(matches!(err, IndexerError::Conflict { number: 0, .. }), "{err}");
        assert_eq!(store.count().await.unwrap(), before);
        assert_eq!(store.checkpoint("pg").await.unwrap(), Some(30_000_005));
    }
    store.pool().close().await;
}

fn synthetic_chain(from: u64, n: u64) -> Vec<annals_indexer::StoredHeader> {
    let mut out: Vec<annals_indexer::StoredHeader> = Vec::new();
    for i in from..from + n {
        let header = alloy_consensus::Header {
            number: i,
            parent_hash: out.last().map(|h| h.hash).unwrap_or_default(),
            base_fee_per_gas: Some(i),
            withdrawals_root: Some(Default::default()),
            ..Default::default()
        };
        let hash = header.hash_slow();
        out.push(
            annals_indexer::verify::verify_header(header, hash, annals_indexer::ChainSpec::Any)
                .unwrap(),
        );
    }
    out
}
