//! Proof files: a JSON envelope around the plonky2 root proof, self-contained enough for
//! `annals verify` to check it with nothing but the root verifier data.

use std::path::Path;

use alloy_primitives::{hex, keccak256, B256, U256};
use annals_query_lang::plan::{Program, ValueType};
use serde::{Deserialize, Serialize};

use crate::error::{AggregatorError, Result};

/// Format tag of [`ProofEnvelope`] files.
pub const PROOF_FORMAT: &str = "annals-proof/1";

/// One result column: name and type.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResultColumn {
    /// Column name (select item text or alias).
    pub name: String,
    /// Column type.
    pub value_type: ValueType,
}

/// A proof file: the statement of DESIGN.md §1 in readable form, the result, and the root
/// proof.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProofEnvelope {
    /// Always [`PROOF_FORMAT`].
    pub format: String,
    /// The SQL text the plan was compiled from (informational; `plan` is what is proven).
    pub sql: String,
    /// The 319-byte canonical plan encoding, 0x-hex; `query_hash = keccak256(plan)`.
    pub plan: String,
    /// `query_hash`.
    pub query_hash: B256,
    /// First block of the range.
    pub from_block: u64,
    /// Last block of the range (inclusive).
    pub to_block: u64,
    /// Hash of `to_block`.
    pub anchor_hash: B256,
    /// `result_hash = keccak256(rows_abi)`.
    pub result_hash: B256,
    /// Result columns.
    pub columns: Vec<ResultColumn>,
    /// Result rows, JSON values per column (decimal strings for integers, 0x-hex for hashes
    /// and addresses, null for NULL).
    pub rows: Vec<Vec<serde_json::Value>>,
    /// ABI encoding of the result rows (see `annals_query_lang::plan::encode_result_rows`), 0x-hex.
    pub rows_abi: String,
    /// Circuit digest of the root circuit the proof is for, 0x-hex of 4 field elements.
    pub root_circuit_digest: String,
    /// plonky2 `ProofWithPublicInputs::to_bytes`, 0x-hex.
    pub proof: String,
}

/// What a verified proof file attests.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct VerifiedStatement {
    /// `query_hash`.
    pub query_hash: B256,
    /// First block.
    pub from_block: u64,
    /// Last block.
    pub to_block: u64,
    /// Hash of `to_block`.
    pub anchor_hash: B256,
    /// `result_hash`.
    pub result_hash: B256,
    /// Result rows (uint256 words, `None` = NULL).
    pub rows: Vec<Vec<Option<U256>>>,
}

impl ProofEnvelope {
    /// Writes the envelope as pretty JSON.
    ///
    /// # Errors
    /// I/O errors, naming the path.
    pub fn save(&self, path: &Path) -> Result<()> {
        write_json(path, self)
    }

    /// Reads an envelope.
    ///
    /// # Errors
    /// I/O errors, or [`AggregatorError::Malformed`] for bad JSON or a foreign format.
    pub fn load(path: &Path) -> Result<Self> {
        let env: Self = read_json(path)?;
        check_format(&env.format, PROOF_FORMAT)?;
        Ok(env)
    }

    /// The plan encoding bytes.
    ///
    /// # Errors
    /// [`AggregatorError::Malformed`] for bad hex.
    pub fn plan_bytes(&self) -> Result<Vec<u8>> {
        hex::decode(&self.plan).map_err(|e| AggregatorError::Malformed(format!("plan: {e}")))
    }

    /// The ABI-encoded rows.
    ///
    /// # Errors
    /// [`AggregatorError::Malformed`] for bad hex.
    pub fn rows_abi_bytes(&self) -> Result<Vec<u8>> {
        hex::decode(&self.rows_abi)
            .map_err(|e| AggregatorError::Malformed(format!("rows_abi: {e}")))
    }

    /// The plonky2 proof bytes.
    ///
    /// # Errors
    /// [`AggregatorError::Malformed`] for bad hex.
    pub fn proof_bytes(&self) -> Result<Vec<u8>> {
        hex::decode(&self.proof).map_err(|e| AggregatorError::Malformed(format!("proof: {e}")))
    }

    /// Checks the parts of the envelope that need no proof: the plan hashes to `query_hash`,
    /// the ABI rows hash to `result_hash` and decode to the displayed rows.
    ///
    /// # Errors
    /// [`AggregatorError::Verification`] naming the mismatch.
    pub fn check_hashes(&self, program: &Program) -> Result<Vec<Vec<Option<U256>>>> {
        let plan = self.plan_bytes()?;
        if program.encode() != plan {
            return Err(AggregatorError::Verification("plan does not match its program".into()));
        }
        if keccak256(&plan) != self.query_hash {
            return Err(AggregatorError::Verification("keccak256(plan) != query_hash".into()));
        }
        let abi = self.rows_abi_bytes()?;
        if keccak256(&abi) != self.result_hash {
            return Err(AggregatorError::Verification("keccak256(rows_abi) != result_hash".into()));
        }
        let rows = decode_result_rows(&abi, self.columns.len()).ok_or_else(|| {
            AggregatorError::Malformed("rows_abi is not a result encoding".into())
        })?;
        let shown: Vec<Vec<serde_json::Value>> = rows
            .iter()
            .map(|r| {
                r.iter()
                    .zip(&self.columns)
                    .map(|(v, c)| annals_query_lang::format_value(c.value_type, *v))
                    .collect()
            })
            .collect();
        if shown != self.rows {
            return Err(AggregatorError::Verification(
                "displayed rows differ from rows_abi".into(),
            ));
        }
        Ok(rows)
    }
}

/// Inverse of `annals_query_lang::plan::encode_result_rows` for `ncols` columns.
pub fn decode_result_rows(abi: &[u8], ncols: usize) -> Option<Vec<Vec<Option<U256>>>> {
    let word =
        |i: usize| -> Option<U256> { abi.get(32 * i..32 * (i + 1)).map(U256::from_be_slice) };
    if word(0)? != U256::from(32u64) {
        return None;
    }
    let n: usize = word(1)?.try_into().ok()?;
    if abi.len() != 64 + 32 * n * (ncols + 1) {
        return None;
    }
    let mut rows = Vec::with_capacity(n);
    for r in 0..n {
        let base = 2 + r * (ncols + 1);
        let mask = word(base)?;
        if mask >> ncols != U256::ZERO {
            return None;
        }
        let row = (0..ncols)
            .map(|j| {
                let v = word(base + 1 + j)?;
                Some(if mask.bit(j) {
                    if v != U256::ZERO {
                        return None;
                    }
                    None
                } else {
                    Some(v)
                })
            })
            .collect::<Option<Vec<_>>>()?;
        rows.push(row);
    }
    Some(rows)
}

/// Writes `value` as pretty JSON.
///
/// # Errors
/// I/O errors, naming the path.
pub(crate) fn write_json<T: Serialize>(path: &Path, value: &T) -> Result<()> {
    let json = serde_json::to_vec_pretty(value).expect("proof files serialize");
    std::fs::write(path, json)
        .map_err(|source| AggregatorError::Io { path: path.to_owned(), source })
}

/// Reads JSON.
///
/// # Errors
/// I/O errors, or [`AggregatorError::Malformed`] for bad JSON, naming the path.
pub(crate) fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T> {
    let bytes = std::fs::read(path)
        .map_err(|source| AggregatorError::Io { path: path.to_owned(), source })?;
    serde_json::from_slice(&bytes)
        .map_err(|e| AggregatorError::Malformed(format!("{}: {e}", path.display())))
}

/// [`AggregatorError::Malformed`] unless a file's `format` tag is `expected`.
pub(crate) fn check_format(format: &str, expected: &str) -> Result<()> {
    if format == expected {
        Ok(())
    } else {
        Err(AggregatorError::Malformed(format!("format {format:?}, expected {expected:?}")))
    }
}
