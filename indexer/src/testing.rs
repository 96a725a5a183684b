//! Test and demo helpers: a local anvil chain and a block producer. Not a stable API.
//!
//! The anvil binary is the one pinned in the workspace's `package.json` and installed by
//! `scripts/setup.sh` (`npm ci`) at `node_modules/.bin/anvil`; `ANNALS_ANVIL` overrides the path.

use crate::{IndexerError, Result};
use alloy::network::{EthereumWallet, TransactionBuilder};
use alloy::providers::{Provider, ProviderBuilder};
use alloy::rpc::types::TransactionRequest;
use alloy::signers::local::PrivateKeySigner;
use alloy_primitives::{Address, U256};
use std::ops::RangeInclusive;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// anvil's first dev account key (public knowledge; funded with 10000 ETH on every anvil chain).
pub const ANVIL_DEV_KEY: &str =
    "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";

/// How long [`Anvil::spawn`] waits for the node to answer.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(30);

/// A running anvil process on a loopback port; killed when dropped.
#[derive(Debug)]
pub struct Anvil {
    child: Child,
    port: u16,
}

fn anvil_err(msg: impl Into<String>) -> IndexerError {
    IndexerError::Anvil(msg.into())
}

impl Anvil {
    /// Path of the pinned anvil binary: `$ANNALS_ANVIL`, else `<workspace>/node_modules/.bin/anvil`.
    ///
    /// Errors: [`IndexerError::Anvil`] telling to run `scripts/setup.sh` when it is missing.
    pub fn binary() -> Result<PathBuf> {
        let path = match std::env::var_os("ANNALS_ANVIL") {
            Some(p) => PathBuf::from(p),
            None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../node_modules/.bin/anvil"),
        };
        if path.is_file() {
            Ok(path)
        } else {
            Err(anvil_err(format!(
                "anvil not found at {}: run scripts/setup.sh (npm ci installs the pinned anvil) \
                 or set ANNALS_ANVIL",
                path.display()
            )))
        }
    }

    /// Starts anvil (`--silent`) on a free 127.0.0.1 port and waits until it answers
    /// `eth_chainId` (at most 30 s). Extra `args` are passed to anvil.
    pub async fn spawn_with_args(args: &[&str]) -> Result<Anvil> {
        let bin = Anvil::binary()?;
        let mut last_err = String::new();
        // the port is found by binding :0 and released before anvil binds it; retry on a race
        for _ in 0..3 {
            let port = std::net::TcpListener::bind("127.0.0.1:0")
                .and_then(|l| l.local_addr())
                .map_err(|e| anvil_err(format!("no free port: {e}")))?
                .port();
            let child = Command::new(&bin)
                .args(["--silent", "--host", "127.0.0.1", "--port", &port.to_string()])
                .args(args)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .map_err(|e| anvil_err(format!("cannot start {}: {e}", bin.display())))?;
            let mut anvil = Anvil { child, port };
            match anvil.wait_ready().await {
                Ok(()) => return Ok(anvil),
                Err(e) => last_err = e.to_string(),
            }
        }
        Err(anvil_err(format!("anvil did not start: {last_err}")))
    }

    /// [`Anvil::spawn_with_args`] without extra arguments.
    pub async fn spawn() -> Result<Anvil> {
        Anvil::spawn_with_args(&[]).await
    }

    async fn wait_ready(&mut self) -> Result<()> {
        let provider = ProviderBuilder::new()
            .disable_recommended_fillers()
            .connect_http(self.url().parse().map_err(|e| anvil_err(format!("{e}")))?);
        let deadline = Instant::now() + STARTUP_TIMEOUT;
        loop {
            if let Some(status) = self.child.try_wait().map_err(|e| anvil_err(e.to_string()))? {
                let mut stderr = String::new();
                if let Some(mut s) = self.child.stderr.take() {
                    use std::io::Read;
                    let _ = s.read_to_string(&mut stderr);
                }
                return Err(anvil_err(format!("exited with {status}: {}", stderr.trim())));
            }
            if provider.get_chain_id().await.is_ok() {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(anvil_err(format!(
                    "no answer on port {} within {STARTUP_TIMEOUT:?}",
                    self.port
                )));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// HTTP JSON-RPC URL, `http://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The port anvil listens on.
    pub fn port(&self) -> u16 {
        self.port
    }
}

impl Drop for Anvil {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Mines `n_blocks` blocks on the dev node at `url`; block `i` holds
/// `start + i % (end - start + 1)` ETH transfers from the first dev account (key
/// [`ANVIL_DEV_KEY`]) to varying addresses. Automine is switched off while producing and back on
/// at the end. Returns the head block number afterwards.
///
/// Errors: [`IndexerError::Anvil`] for any failed call, or when a mined block does not hold the
/// intended number of transactions.
pub async fn produce_blocks(
    url: &str,
    n_blocks: u64,
    txs_per_block: RangeInclusive<usize>,
) -> Result<u64> {
    let e = |what: &str| {
        let what = what.to_owned();
        move |err: alloy::transports::TransportError| anvil_err(format!("{what}: {err}"))
    };
    let signer: PrivateKeySigner =
        ANVIL_DEV_KEY.parse().map_err(|err| anvil_err(format!("dev key: {err}")))?;
    let provider = ProviderBuilder::new()
        .with_cached_nonce_management()
        .wallet(EthereumWallet::from(signer))
        .connect_http(url.parse().map_err(|err| anvil_err(format!("url {url}: {err}")))?);
    let (lo, hi) = (*txs_per_block.start(), *txs_per_block.end());
    if lo > hi {
        return Err(anvil_err("empty txs_per_block range"));
    }
    provider
        .raw_request::<_, serde_json::Value>("evm_setAutomine".into(), (false,))
        .await
        .map_err(e("evm_setAutomine"))?;
    let mut sent = 0u64;
    for i in 0..n_blocks {
        let k = lo + (i as usize) % (hi - lo + 1);
        for _ in 0..k {
            sent += 1;
            let to = Address::with_last_byte((sent % 250) as u8 + 1);
            let tx = TransactionRequest::default().with_to(to).with_value(U256::from(1_000 + sent));
            // with automine off this only submits to the pool
            let _pending = provider.send_transaction(tx).await.map_err(e("eth_sendTransaction"))?;
        }
        provider
            .raw_request::<_, serde_json::Value>("evm_mine".into(), ())
            .await
            .map_err(e("evm_mine"))?;
        let block = provider
            .get_block_by_number(alloy::eips::BlockNumberOrTag::Latest)
            .await
            .map_err(e("eth_getBlockByNumber"))?
            .ok_or_else(|| anvil_err("no latest block"))?;
        if block.transactions.len() != k {
            return Err(anvil_err(format!(
                "block {} holds {} transactions, expected {k}",
                block.header.inner.number,
                block.transactions.len()
            )));
        }
    }
    provider
        .raw_request::<_, serde_json::Value>("evm_setAutomine".into(), (true,))
        .await
        .map_err(e("evm_setAutomine"))?;
    provider.get_block_number().await.map_err(e("eth_blockNumber"))
}

/// Mines `n` empty blocks at once (`anvil_mine`). Returns the head block number afterwards.
pub async fn mine_empty(url: &str, n: u64) -> Result<u64> {
    let e = |what: &'static str| {
        move |err: alloy::transports::TransportError| anvil_err(format!("{what}: {err}"))
    };
    let provider = ProviderBuilder::new()
        .disable_recommended_fillers()
        .connect_http(url.parse().map_err(|err| anvil_err(format!("url {url}: {err}")))?);
    provider
        .raw_request::<_, serde_json::Value>("anvil_mine".into(), (U256::from(n),))
        .await
        .map_err(e("anvil_mine"))?;
    provider.get_block_number().await.map_err(e("eth_blockNumber"))
}
