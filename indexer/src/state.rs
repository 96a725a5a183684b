//! Accounts and storage at a block: `eth_getProof` answers verified against the stored
//! header's `state_root` with alloy-trie, stored with their proof nodes, and fixture import.
//!
//! An account proof is the Merkle-Patricia path to key `keccak256(address)` in the state trie
//! (Yellow Paper §4.1, value `rlp([nonce, balance, storage_root, code_hash])`); a storage proof
//! the path to `keccak256(slot)` in the account's storage trie (value `rlp(value)`, leading
//! zeros stripped). An absent account (empty: nonce 0, balance 0, empty storage and code) and a
//! zero slot are proven by exclusion: the path ends without the key. Both are read as zero.

use crate::fixtures::{json_files, read_json};
use crate::rpc::{with_retries, IndexOptions};
use crate::store::to_i64;
use crate::{HeaderProvider, IndexerError, Result, Store, StoredHeader};
use alloy::eips::BlockId;
use alloy::providers::Provider;
use alloy::rpc::types::EIP1186AccountProofResponse;
use alloy_primitives::{keccak256, Address, Bytes, B256, U256};
use alloy_rlp::{Decodable, Encodable};
use alloy_trie::{proof::verify_proof, Nibbles, TrieAccount};
use sqlx::Row;
use std::path::{Path, PathBuf};

/// A storage slot verified against its account's `storage_root`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedSlot {
    /// The slot (32 bytes, as the contract addresses it).
    pub slot: B256,
    /// Its value; zero for an unset slot (proven by exclusion).
    pub value: U256,
    /// The proof nodes, root first (RLP-encoded trie nodes).
    pub proof: Vec<Bytes>,
}

/// An account (and some of its slots) verified against a block's `state_root`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedAccount {
    /// Block number.
    pub block_number: u64,
    /// Account address.
    pub address: Address,
    /// Nonce (0 for an absent account).
    pub nonce: u64,
    /// Balance in wei (0 for an absent account).
    pub balance: U256,
    /// Root of the account's storage trie (the empty-trie root when it has no storage).
    pub storage_root: B256,
    /// keccak256 of its code (`KECCAK_EMPTY` when it has none).
    pub code_hash: B256,
    /// Whether the account exists in the state trie (else it was proven absent).
    pub exists: bool,
    /// The account proof nodes, root first.
    pub proof: Vec<Bytes>,
    /// Verified slots, in request order.
    pub slots: Vec<VerifiedSlot>,
}

fn rlp_u256(v: U256) -> Vec<u8> {
    let mut out = Vec::new();
    v.encode(&mut out);
    out
}

/// Verifies an `eth_getProof` answer against the header of its block: the account proof
/// against `state_root`, each storage proof against the claimed `storage_hash`. An empty
/// account must be proven absent and a zero slot unset.
///
/// Errors: [`IndexerError::BadProof`] naming the block, the address and (for a storage proof)
/// the slot, with alloy-trie's reason.
pub fn verify_account_proof(
    header: &StoredHeader,
    proof: &EIP1186AccountProofResponse,
) -> Result<VerifiedAccount> {
    let number = header.number;
    let address = proof.address;
    let bad = |what: String, e: &dyn std::fmt::Display| IndexerError::BadProof {
        number,
        what,
        reason: e.to_string(),
    };
    let account = TrieAccount {
        nonce: proof.nonce,
        balance: proof.balance,
        storage_root: proof.storage_hash,
        code_hash: proof.code_hash,
    };
    let exists = account != TrieAccount::default();
    let expected = exists.then(|| alloy_rlp::encode(account));
    verify_proof(
        header.header.state_root,
        Nibbles::unpack(keccak256(address)),
        expected,
        &proof.account_proof,
    )
    .map_err(|e| bad(format!("account {address}"), &e))?;
    let mut slots = Vec::with_capacity(proof.storage_proof.len());
    for sp in &proof.storage_proof {
        let slot = sp.key.as_b256();
        let expected = (!sp.value.is_zero()).then(|| rlp_u256(sp.value));
        verify_proof(proof.storage_hash, Nibbles::unpack(keccak256(slot)), expected, &sp.proof)
            .map_err(|e| bad(format!("account {address} slot {slot}"), &e))?;
        slots.push(VerifiedSlot { slot, value: sp.value, proof: sp.proof.clone() });
    }
    Ok(VerifiedAccount {
        block_number: number,
        address,
        nonce: proof.nonce,
        balance: proof.balance,
        storage_root: proof.storage_hash,
        code_hash: proof.code_hash,
        exists,
        proof: proof.account_proof.clone(),
        slots,
    })
}

/// Proof nodes as one RLP list (how the `proof` columns store them).
fn encode_nodes(nodes: &[Bytes]) -> Vec<u8> {
    let mut out = Vec::new();
    alloy_rlp::encode_list::<Bytes, [u8]>(nodes, &mut out);
    out
}

fn decode_nodes(number: u64, bytes: &[u8]) -> Result<Vec<Bytes>> {
    Vec::<Bytes>::decode(&mut &bytes[..])
        .map_err(|e| IndexerError::Corrupt { number, reason: format!("proof nodes: {e}") })
}

impl Store {
    /// Writes a verified account and its slots (with their proof nodes) in ONE transaction.
    /// Rows already stored for the same block, address and slot are kept (verified against
    /// the same stored header, they hold the same values). Returns the number of rows newly
    /// written (account row and slots).
    ///
    /// Errors: [`IndexerError::MissingBlock`] when the header is not stored,
    /// [`IndexerError::Db`].
    pub async fn insert_account(&self, account: &VerifiedAccount) -> Result<u64> {
        let number = account.block_number;
        if self.header(number).await?.is_none() {
            return Err(IndexerError::MissingBlock { number });
        }
        let n = to_i64(number, "block_number", number)?;
        let mut tx = self.pool().begin().await?;
        let mut written = sqlx::query(
            "INSERT INTO accounts (block_number, address, nonce, balance, storage_root, \
             code_hash, present, proof) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
             ON CONFLICT (block_number, address) DO NOTHING",
        )
        .bind(n)
        .bind(account.address.to_vec())
        .bind(to_i64(number, "nonce", account.nonce)?)
        .bind(account.balance.to_string())
        .bind(account.storage_root.to_vec())
        .bind(account.code_hash.to_vec())
        .bind(i64::from(account.exists))
        .bind(encode_nodes(&account.proof))
        .execute(&mut *tx)
        .await?
        .rows_affected();
        for s in &account.slots {
            written += sqlx::query(
                "INSERT INTO storage (block_number, address, slot, value, proof) \
                 VALUES ($1, $2, $3, $4, $5) ON CONFLICT (block_number, address, slot) DO NOTHING",
            )
            .bind(n)
            .bind(account.address.to_vec())
            .bind(s.slot.to_vec())
            .bind(s.value.to_string())
            .bind(encode_nodes(&s.proof))
            .execute(&mut *tx)
            .await?
            .rows_affected();
        }
        tx.commit().await?;
        Ok(written)
    }

    /// The stored account at block `number` with the stored slots among `slots` (slots not
    /// stored are left out), its proofs checked again against the stored header; `None` when
    /// the account was not fetched at that block.
    ///
    /// Errors: [`IndexerError::Corrupt`] when stored rows no longer verify.
    pub async fn account(
        &self,
        number: u64,
        address: Address,
        slots: &[B256],
    ) -> Result<Option<VerifiedAccount>> {
        let n = to_i64(number, "block_number", number)?;
        let corrupt = |reason: String| IndexerError::Corrupt { number, reason };
        let Some(row) = sqlx::query(
            "SELECT nonce, balance, storage_root, code_hash, proof FROM accounts \
             WHERE block_number = $1 AND address = $2",
        )
        .bind(n)
        .bind(address.to_vec())
        .fetch_optional(self.pool())
        .await?
        else {
            return Ok(None);
        };
        let b256 = |v: Vec<u8>| B256::try_from(v.as_slice()).map_err(|e| corrupt(e.to_string()));
        let u256 = |s: String| U256::from_str_radix(&s, 10).map_err(|e| corrupt(e.to_string()));
        let mut response = EIP1186AccountProofResponse {
            address,
            nonce: row.try_get::<i64, _>(0)? as u64,
            balance: u256(row.try_get(1)?)?,
            storage_hash: b256(row.try_get(2)?)?,
            code_hash: b256(row.try_get(3)?)?,
            account_proof: decode_nodes(number, &row.try_get::<Vec<u8>, _>(4)?)?,
            storage_proof: Vec::new(),
        };
        for slot in slots {
            let row = sqlx::query(
                "SELECT value, proof FROM storage \
                 WHERE block_number = $1 AND address = $2 AND slot = $3",
            )
            .bind(n)
            .bind(address.to_vec())
            .bind(slot.to_vec())
            .fetch_optional(self.pool())
            .await?;
            if let Some(row) = row {
                response.storage_proof.push(alloy::rpc::types::EIP1186StorageProof {
                    key: (*slot).into(),
                    value: u256(row.try_get(0)?)?,
                    proof: decode_nodes(number, &row.try_get::<Vec<u8>, _>(1)?)?,
                });
            }
        }
        let header = self.header(number).await?.ok_or(IndexerError::MissingBlock { number })?;
        verify_account_proof(&header, &response)
            .map(Some)
            .map_err(|e| corrupt(format!("stored proof fails verification: {e}")))
    }
}

/// Fetches `eth_getProof(address, slots, number)` (transport errors retried per `opts`),
/// verifies it against the stored header of block `number` and stores it.
///
/// Errors: [`IndexerError::MissingBlock`] when the header is not indexed,
/// [`IndexerError::BadProof`] (after one more fetch), [`IndexerError::Rpc`].
pub async fn fetch_account<P: Provider>(
    store: &Store,
    provider: &P,
    number: u64,
    address: Address,
    slots: &[B256],
    opts: &IndexOptions,
) -> Result<VerifiedAccount> {
    let header = store.header(number).await?.ok_or(IndexerError::MissingBlock { number })?;
    let fetch = || async {
        let proof = with_retries(number, opts, || async {
            provider
                .get_proof(address, slots.to_vec())
                .block_id(BlockId::Hash(header.hash.into()))
                .await
        })
        .await?;
        verify_account_proof(&header, &proof)
    };
    let account = match fetch().await {
        Err(e @ IndexerError::BadProof { .. }) => {
            tracing::warn!(number, %address, error = %e, "proof failed verification, fetching again");
            fetch().await?
        }
        other => other?,
    };
    store.insert_account(&account).await?;
    Ok(account)
}

/// What [`import_proofs_dir`] did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProofsImportReport {
    /// The folder read.
    pub dir: PathBuf,
    /// `(block, address, slots)` of every file, in file-name order.
    pub accounts: Vec<(u64, Address, usize)>,
    /// Rows newly written.
    pub written: u64,
}

/// Imports `eth_getProof` dumps: every `<block>-<address>.json` of `dir` (or of `dir/proofs/`
/// when that folder exists), such as `shared/fixtures/mainnet/proofs/`. Block headers must be
/// stored already. Every file is verified before anything is written; importing twice is a
/// no-op.
///
/// Errors: [`IndexerError::Fixture`] wrapping the verification error (naming file and block),
/// [`IndexerError::InvalidArgument`] for a file name not of that form, [`IndexerError::Io`],
/// [`IndexerError::Json`].
pub async fn import_proofs_dir(store: &Store, dir: &Path) -> Result<ProofsImportReport> {
    let (dir, files) = json_files(dir, "proofs")?;
    let mut verified = Vec::with_capacity(files.len());
    for path in &files {
        let name = path.file_stem().and_then(|s| s.to_str()).unwrap_or_default();
        let number =
            name.split_once('-').and_then(|(n, _)| n.parse::<u64>().ok()).ok_or_else(|| {
                IndexerError::InvalidArgument(format!(
                    "{}: proof files are named <block>-<address>.json",
                    path.display()
                ))
            })?;
        let proof: EIP1186AccountProofResponse = read_json(path)?;
        let fixture = |e| IndexerError::Fixture { path: path.clone(), source: Box::new(e) };
        let header = store
            .header(number)
            .await?
            .ok_or(IndexerError::MissingBlock { number })
            .map_err(fixture)?;
        verified.push(verify_account_proof(&header, &proof).map_err(fixture)?);
    }
    let mut report = ProofsImportReport {
        dir,
        accounts: verified.iter().map(|a| (a.block_number, a.address, a.slots.len())).collect(),
        written: 0,
    };
    for a in &verified {
        report.written += store.insert_account(a).await?;
    }
    Ok(report)
}
