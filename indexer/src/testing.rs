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

alloy::sol! {
    /// The ERC-20 calls the token producer sends (EIP-20).
    interface IErc20 {
        function transfer(address to, uint256 amount) external returns (bool);
        function approve(address spender, uint256 amount) external returns (bool);
    }
}

/// What [`produce_erc20_blocks`] built.
#[derive(Clone, Debug)]
pub struct Erc20Chain {
    /// The deployed `AnnalsTestToken` (OpenZeppelin ERC-20).
    pub token: Address,
    /// The accounts that received and sent tokens (`Address::with_last_byte(0x40 + i)`).
    pub holders: Vec<Address>,
    /// First block after the deployment and the initial distribution: from here on, blocks
    /// follow the schedule of [`produce_erc20_blocks`].
    pub first_block: u64,
    /// Head block afterwards.
    pub head: u64,
    /// Token transfers sent from `first_block` on.
    pub transfers: u64,
}

/// Compiles `contracts/test/AnnalsTestToken.sol` with the pinned solc (`scripts/solc`,
/// OpenZeppelin from `node_modules`) and returns its creation bytecode.
///
/// Errors: [`IndexerError::Anvil`] when node, the solc package or the compiler output is
/// missing or reports an error.
pub fn compile_test_token() -> Result<Vec<u8>> {
    use std::io::Write;
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let input = serde_json::json!({
        "language": "Solidity",
        "sources": { "contracts/test/AnnalsTestToken.sol": { "urls": ["contracts/test/AnnalsTestToken.sol"] } },
        "settings": {
            "optimizer": { "enabled": true, "runs": 200 },
            "outputSelection": { "*": { "AnnalsTestToken": ["evm.bytecode.object"] } }
        }
    });
    let mut child = Command::new(root.join("scripts/solc"))
        .arg("--standard-json")
        .current_dir(&root)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| anvil_err(format!("scripts/solc: {e}")))?;
    child
        .stdin
        .take()
        .expect("piped stdin")
        .write_all(input.to_string().as_bytes())
        .map_err(|e| anvil_err(format!("scripts/solc stdin: {e}")))?;
    let out = child.wait_with_output().map_err(|e| anvil_err(format!("scripts/solc: {e}")))?;
    if !out.status.success() {
        return Err(anvil_err(format!(
            "scripts/solc failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        )));
    }
    let json: serde_json::Value = serde_json::from_slice(&out.stdout)
        .map_err(|e| anvil_err(format!("solc output is not JSON: {e}")))?;
    if let Some(errors) = json["errors"].as_array() {
        let fatal: Vec<_> = errors.iter().filter(|e| e["severity"] == "error").collect();
        if !fatal.is_empty() {
            return Err(anvil_err(format!("solc: {fatal:?}")));
        }
    }
    let hex = json["contracts"]["contracts/test/AnnalsTestToken.sol"]["AnnalsTestToken"]["evm"]
        ["bytecode"]["object"]
        .as_str()
        .ok_or_else(|| anvil_err("solc output has no AnnalsTestToken bytecode"))?;
    alloy_primitives::hex::decode(hex).map_err(|e| anvil_err(format!("bytecode hex: {e}")))
}

/// Deploys `AnnalsTestToken` from the dev account, gives 20 holders tokens and gas, then mines
/// `n_blocks` blocks of real token traffic among them: block `i` holds `2 + i % 5` transfers
/// between holders, every 4th block also an `approve` (an `Approval` log), and every 8th block
/// no token transaction at all (one plain ETH transfer instead). Holders send their own
/// transactions through anvil's auto-impersonation.
///
/// Errors: [`IndexerError::Anvil`] for a failed call or a reverted transaction.
pub async fn produce_erc20_blocks(url: &str, n_blocks: u64) -> Result<Erc20Chain> {
    use alloy::sol_types::SolCall;
    let e = |what: &str| {
        let what = what.to_owned();
        move |err: alloy::transports::TransportError| anvil_err(format!("{what}: {err}"))
    };
    let code = compile_test_token()?;
    let signer: PrivateKeySigner =
        ANVIL_DEV_KEY.parse().map_err(|err| anvil_err(format!("dev key: {err}")))?;
    let parsed_url = url.parse().map_err(|err| anvil_err(format!("url {url}: {err}")))?;
    let wallet = ProviderBuilder::new()
        .with_cached_nonce_management()
        .wallet(EthereumWallet::from(signer))
        .connect_http(parsed_url);
    let raw = ProviderBuilder::new().connect_http(url.parse().expect("parsed above"));

    // Deployment: constructor(uint256 supply), 10^9 tokens of 18 decimals.
    let supply = U256::from(10u64).pow(U256::from(27u64));
    let mut input = code;
    input.extend_from_slice(&supply.to_be_bytes::<32>());
    let receipt = wallet
        .send_transaction(TransactionRequest::default().with_deploy_code(input))
        .await
        .map_err(e("deploy"))?
        .get_receipt()
        .await
        .map_err(|err| anvil_err(format!("deploy receipt: {err}")))?;
    let token = receipt.contract_address.ok_or_else(|| anvil_err("no contract address"))?;
    if !receipt.status() {
        return Err(anvil_err("deployment reverted"));
    }

    let holders: Vec<Address> = (0..20u8).map(|i| Address::with_last_byte(0x40 + i)).collect();
    raw.raw_request::<_, serde_json::Value>("anvil_autoImpersonateAccount".into(), (true,))
        .await
        .map_err(e("anvil_autoImpersonateAccount"))?;
    for (i, h) in holders.iter().enumerate() {
        raw.raw_request::<_, serde_json::Value>(
            "anvil_setBalance".into(),
            (*h, U256::from(10u64).pow(U256::from(20u64))),
        )
        .await
        .map_err(e("anvil_setBalance"))?;
        let amount =
            U256::from(1_000_000u64 + 1_000 * i as u64) * U256::from(10u64).pow(U256::from(18u64));
        let call = IErc20::transferCall { to: *h, amount }.abi_encode();
        let r = wallet
            .send_transaction(TransactionRequest::default().with_to(token).with_input(call))
            .await
            .map_err(e("initial transfer"))?
            .get_receipt()
            .await
            .map_err(|err| anvil_err(format!("initial transfer receipt: {err}")))?;
        if !r.status() {
            return Err(anvil_err("initial transfer reverted"));
        }
    }

    raw.raw_request::<_, serde_json::Value>("evm_setAutomine".into(), (false,))
        .await
        .map_err(e("evm_setAutomine"))?;
    let first_block = raw.get_block_number().await.map_err(e("eth_blockNumber"))? + 1;
    let mut transfers = 0u64;
    let mut pending = Vec::new();
    for i in 0..n_blocks {
        if i % 8 == 7 {
            let tx = TransactionRequest::default()
                .with_from(holders[0])
                .with_to(Address::with_last_byte(0x99))
                .with_value(U256::from(1u64));
            pending.push(raw.send_transaction(tx).await.map_err(e("eth transfer"))?);
        } else {
            for k in 0..(2 + i % 5) {
                let s = (i * 7 + k * 3) as usize;
                // offsets 1..=19: never a transfer to oneself
                let (from, to) = (holders[s % 20], holders[(s + 1 + (i as usize) % 19) % 20]);
                let amount = U256::from(1 + (i * 31 + k * 17) % 997)
                    * U256::from(10u64).pow(U256::from(15u64));
                let call = IErc20::transferCall { to, amount }.abi_encode();
                let tx =
                    TransactionRequest::default().with_from(from).with_to(token).with_input(call);
                pending.push(raw.send_transaction(tx).await.map_err(e("token transfer"))?);
                transfers += 1;
            }
            if i % 4 == 1 {
                let call = IErc20::approveCall {
                    spender: holders[(i as usize) % 20],
                    amount: U256::from(i),
                }
                .abi_encode();
                let tx = TransactionRequest::default()
                    .with_from(holders[(i as usize + 3) % 20])
                    .with_to(token)
                    .with_input(call);
                pending.push(raw.send_transaction(tx).await.map_err(e("approve"))?);
            }
        }
        raw.raw_request::<_, serde_json::Value>("evm_mine".into(), ())
            .await
            .map_err(e("evm_mine"))?;
    }
    raw.raw_request::<_, serde_json::Value>("evm_setAutomine".into(), (true,))
        .await
        .map_err(e("evm_setAutomine"))?;
    for p in pending {
        let hash = *p.tx_hash();
        let r = raw
            .get_transaction_receipt(hash)
            .await
            .map_err(e("eth_getTransactionReceipt"))?
            .ok_or_else(|| anvil_err(format!("transaction {hash} was not mined")))?;
        if !r.status() {
            return Err(anvil_err(format!("transaction {hash} reverted")));
        }
    }
    let head = raw.get_block_number().await.map_err(e("eth_blockNumber"))?;
    if head + 1 != first_block + n_blocks {
        return Err(anvil_err(format!("head {head}, expected {}", first_block + n_blocks - 1)));
    }
    Ok(Erc20Chain { token, holders, first_block, head, transfers })
}
