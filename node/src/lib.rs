//! The `annals` node: the command-line interface over the indexer, the query language and the
//! aggregator (DESIGN.md §8), and the end-to-end demo. `main.rs` only parses and calls [`run`].
//!
//! No feature flags.

pub mod commands;
pub mod demo;

use std::path::PathBuf;

use clap::{Parser, Subcommand};

/// Annals: SQL over Ethereum history, answered with a zero-knowledge proof.
#[derive(Debug, Parser)]
#[command(name = "annals", version, about)]
pub struct Cli {
    /// Database URL: `sqlite://PATH` (created if missing) or `postgres://...`.
    #[arg(long, global = true, env = "ANNALS_DB", default_value = "sqlite://annals.db")]
    pub db: String,
    /// Directory of the circuit-key cache (keys are built once per circuit version).
    #[arg(long, global = true, env = "ANNALS_CACHE_DIR", default_value = ".annals/cache")]
    pub cache_dir: PathBuf,
    /// The command.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Pull, verify and store block headers `FROM..=TO` (and with `--receipts` their receipts)
    /// over JSON-RPC (resumable).
    Index {
        /// JSON-RPC endpoint.
        #[arg(long)]
        rpc: String,
        /// First block.
        #[arg(long)]
        from: u64,
        /// Last block (inclusive).
        #[arg(long)]
        to: u64,
        /// Check mainnet's fork schedule for each header's field list.
        #[arg(long)]
        mainnet: bool,
        /// Also pull each block's receipts (`eth_getBlockReceipts`, or per transaction where a
        /// node lacks it), verified against `receipts_root` and `logs_bloom` before storing.
        #[arg(long)]
        receipts: bool,
    },
    /// Import a folder of JSON-RPC block objects (e.g. ../shared/fixtures/mainnet), verified
    /// like RPC answers; its `receipts/` subfolder (`eth_getBlockReceipts` arrays named
    /// `<block>.json`) and `proofs/` subfolder (`eth_getProof` answers named
    /// `<block>-<address>.json`), when present, are imported after the headers.
    ImportFixtures {
        /// The folder (or a folder with a `headers/` subfolder).
        dir: PathBuf,
    },
    /// Run a query over the indexed data (headers, receipts, logs, accounts, storage); with
    /// `--prove`, prove and verify the result.
    Query {
        /// The SQL query.
        sql: String,
        /// For `accounts`/`storage` queries: fetch the points the store lacks with
        /// `eth_getProof` from this JSON-RPC endpoint (verified before use).
        #[arg(long)]
        rpc: Option<String>,
        /// Prove the result (MapReduce tree + root) and verify the proof.
        #[arg(long)]
        prove: bool,
        /// With `--prove`: also make the EVM-verifiable proof (plonky2 chain to a BN254 last
        /// layer, Groth16 over BN254) and write it, with the calldata of the generated Solidity
        /// verifier, to `--out`. The first run sets up the Groth16 keys with OS randomness
        /// (minutes, ~14 GB of memory) and caches them.
        #[arg(long, requires = "prove")]
        evm: bool,
        /// Where to write the proof file (with `--prove`).
        #[arg(long, default_value = "annals-proof.json")]
        out: PathBuf,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Show the plan, bytecode, block jobs, circuits and a rough cost of a query; for a `logs`
    /// query also which indexed blocks the header's `logs_bloom` rules out.
    Explain {
        /// The SQL query.
        sql: String,
    },
    /// Verify a proof file on its own: a plonky2 proof file with the cached root verifying key,
    /// an EVM proof file (`--evm`) also with the cached Groth16 verifying key.
    Verify {
        /// The proof file.
        file: PathBuf,
    },
    /// End-to-end demo: a local anvil chain (default) or a fixture folder, indexed into a
    /// temporary SQLite, one aggregate query proven and verified.
    Demo {
        /// Use JSON-RPC dumps from this folder instead of a local anvil chain.
        #[arg(long)]
        fixtures: Option<PathBuf>,
        /// Blocks in the proven range on the anvil chain.
        #[arg(long, default_value_t = 8)]
        blocks: u64,
        /// Where to write the proof file.
        #[arg(long, default_value = "annals-demo-proof.json")]
        out: PathBuf,
    },
}

/// Sets up `tracing` from `RUST_LOG` (default `info`), writing to stderr.
pub fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ =
        tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).try_init();
}

/// Runs a parsed command line.
///
/// # Errors
/// Whatever the command fails with, with context.
pub fn run(cli: Cli) -> anyhow::Result<()> {
    let rt = tokio::runtime::Runtime::new()?;
    rt.block_on(commands::dispatch(cli))
}
