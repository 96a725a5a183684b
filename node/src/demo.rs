//! `annals demo`: the whole pipeline on bundled data, no network beyond loopback.
//!
//! Default: starts the pinned anvil (`node_modules/.bin/anvil`, installed by
//! `scripts/setup.sh`) on a free loopback port, produces blocks with real signed transfers,
//! indexes them over JSON-RPC into a temporary SQLite, and proves and verifies an aggregate
//! query over the last `blocks` blocks. With `--fixtures DIR` it imports JSON-RPC dumps instead
//! (with the mainnet fixtures: blocks 17000000..=17000002).

use std::path::Path;
use std::time::Instant;

use annals_indexer::testing::{produce_blocks, Anvil};
use annals_indexer::{IndexOptions, Store};
use annals_query_lang::compile;
use anyhow::{bail, Context, Result};

use crate::commands::{finish_proof, native, prove_query};

/// The demo's query over `a..=b`.
pub fn demo_sql(a: u64, b: u64) -> String {
    format!(
        "SELECT COUNT(*), AVG(base_fee_per_gas), MAX(gas_used), SUM(gas_used) \
         FROM headers WHERE number BETWEEN {a} AND {b}"
    )
}

/// Runs the demo.
///
/// # Errors
/// anvil missing (run `scripts/setup.sh`), indexing, proving or verification failures.
pub async fn run(fixtures: Option<&Path>, blocks: u64, out: &Path, cache_dir: &Path) -> Result<()> {
    let started = Instant::now();
    let tmp = tempfile::tempdir()?;
    let db = format!("sqlite://{}?mode=rwc", tmp.path().join("annals.db").display());
    let store = Store::connect(&db).await?;
    let _anvil;
    let (from, to) = if let Some(dir) = fixtures {
        let report = annals_indexer::import_dir(&store, dir)
            .await
            .with_context(|| format!("importing {}", dir.display()))?;
        println!("imported {} verified headers from {}", report.headers, report.dir.display());
        let run = report
            .runs
            .iter()
            .find(|r| *r.start() == 17_000_000)
            .or_else(|| report.runs.iter().max_by_key(|r| r.end() - r.start()))
            .context("no headers imported")?;
        (*run.start(), *run.end())
    } else {
        if blocks == 0 {
            bail!("--blocks must be at least 1");
        }
        let anvil = Anvil::spawn().await.context("starting anvil (run scripts/setup.sh first)")?;
        let url = anvil.url();
        println!("anvil listening on {url}");
        let head = produce_blocks(&url, blocks + 2, 1..=4).await?;
        println!("produced {head} blocks with signed transfers");
        let opts = IndexOptions { quiet: true, ..IndexOptions::default() };
        let report = annals_indexer::index_range(&store, &url, 0, head, &opts).await?;
        println!("indexed {} verified headers over JSON-RPC", report.inserted);
        _anvil = anvil;
        (head + 1 - blocks, head)
    };
    let sql = demo_sql(from, to);
    println!("\n{sql}\n");
    let query = compile(&sql).map_err(|e| anyhow::anyhow!("{e}"))?;
    let rows = native(&store, &query).await?;
    println!("native result:");
    println!("{}", annals_query_lang::ResultTable::new(&query.program, rows.clone()));
    let proven = prove_query(&store, &query, &rows, cache_dir).await?;
    println!("proven result (equal to the native one):");
    for (c, v) in proven.envelope.columns.iter().zip(&proven.envelope.rows[0]) {
        println!("  {:<28} {v}", c.name);
    }
    finish_proof(&proven, out, cache_dir).await?;
    println!("demo done in {:.1}s", started.elapsed().as_secs_f64());
    Ok(())
}
