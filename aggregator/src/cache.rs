//! On-disk cache of the circuit set (proving and verifying keys).
//!
//! An entry is named by the circuits' source hash (`annals_circuits::CIRCUITS_SOURCE_HASH`,
//! computed at build time over the circuit sources, the plan encoding and the plonky2 version),
//! so a change to any circuit gives a new name and the old entry is never read. Each entry
//! starts with a magic tag and the keccak256 of its payload; an entry whose payload does not
//! hash to that value, or does not deserialize, is rebuilt (with a warning), never used.
//!
//! Beside each full entry (proving keys of every circuit, ~hundreds of MB) a small verifier
//! entry holds only the root circuit's verifying key, in the same checked format, so that
//! verifying a proof file does not read or deserialize the proving keys.

use std::io::Write;
use std::path::{Path, PathBuf};

use alloy_primitives::keccak256;
use annals_circuits::mapreduce::{
    root_verifier_from_bytes, root_verifier_to_bytes, CircuitSet, RootVerifier,
};

use crate::error::{AggregatorError, Result};

const MAGIC: &[u8; 8] = b"ANNALSCK";
const VERIFIER_MAGIC: &[u8; 8] = b"ANNALSVK";

/// Path of the cache entry for the current circuit version in `dir`.
pub fn entry_path(dir: &Path) -> PathBuf {
    dir.join(format!("circuits-{}.bin", annals_circuits::CIRCUITS_SOURCE_HASH))
}

/// Path of the root-verifier entry for the current circuit version in `dir`.
pub fn verifier_entry_path(dir: &Path) -> PathBuf {
    dir.join(format!("root-verifier-{}.bin", annals_circuits::CIRCUITS_SOURCE_HASH))
}

/// Loads the circuit set from the cache in `dir`, or builds and stores it.
///
/// # Errors
/// [`AggregatorError::Cache`] when the directory or entry cannot be written.
pub fn load_or_build(dir: &Path) -> Result<CircuitSet> {
    let path = entry_path(dir);
    if path.exists() {
        match read_entry(&path) {
            Ok(set) => {
                tracing::info!(path = %path.display(), "loaded circuit keys from cache");
                return Ok(set);
            }
            Err(e) => tracing::warn!(path = %path.display(), "rebuilding circuit keys: {e}"),
        }
    }
    tracing::info!("building circuits (once per circuit version)");
    let set = CircuitSet::build().map_err(|e| AggregatorError::Cache {
        path: path.clone(),
        reason: format!("building circuits failed: {e}"),
    })?;
    write_entry(&path, &set)?;
    Ok(set)
}

fn cache_err(path: &Path, reason: impl ToString) -> AggregatorError {
    AggregatorError::Cache { path: path.to_owned(), reason: reason.to_string() }
}

/// Loads the root circuit's verifying key from its small cache entry; when that is missing
/// or fails its check, from the full entry (built if need be), writing the small entry.
///
/// # Errors
/// As [`load_or_build`].
pub fn load_root_verifier(dir: &Path) -> Result<RootVerifier> {
    let path = verifier_entry_path(dir);
    if path.exists() {
        match read_verifier_entry(&path) {
            Ok(v) => return Ok(v),
            Err(e) => tracing::warn!(path = %path.display(), "rereading root verifier: {e}"),
        }
    }
    let set = load_or_build(dir)?;
    let verifier = set.root.data.verifier_data();
    write_verifier_entry(&path, &verifier)?;
    Ok(verifier)
}

/// Reads and checks one full entry.
///
/// # Errors
/// [`AggregatorError::Cache`] naming what is wrong with the entry.
pub fn read_entry(path: &Path) -> Result<CircuitSet> {
    let payload = read_checked(path, MAGIC)?;
    CircuitSet::from_bytes(&payload).map_err(|e| cache_err(path, format!("deserialize: {e}")))
}

/// Reads and checks one root-verifier entry.
///
/// # Errors
/// [`AggregatorError::Cache`] naming what is wrong with the entry.
pub fn read_verifier_entry(path: &Path) -> Result<RootVerifier> {
    let payload = read_checked(path, VERIFIER_MAGIC)?;
    root_verifier_from_bytes(payload).map_err(|e| cache_err(path, format!("deserialize: {e}")))
}

/// The payload of an entry: `magic (8) ‖ keccak256(payload) (32) ‖ payload`.
pub(crate) fn read_checked(path: &Path, magic: &[u8; 8]) -> Result<Vec<u8>> {
    let mut bytes = std::fs::read(path).map_err(|e| cache_err(path, e))?;
    if bytes.len() < 40 || &bytes[..8] != magic {
        return Err(cache_err(path, "not a circuit cache entry of this kind"));
    }
    let payload = bytes.split_off(40);
    if keccak256(&payload).as_slice() != &bytes[8..40] {
        return Err(cache_err(path, "content hash mismatch (corrupt or truncated entry)"));
    }
    Ok(payload)
}

fn write_entry(path: &Path, set: &CircuitSet) -> Result<()> {
    let payload = set.to_bytes().map_err(|e| cache_err(path, format!("serialize: {e}")))?;
    write_checked(path, MAGIC, &payload)?;
    write_verifier_entry(
        &verifier_entry_path(path.parent().expect("entry has a parent")),
        &set.root.data.verifier_data(),
    )
}

fn write_verifier_entry(path: &Path, verifier: &RootVerifier) -> Result<()> {
    let payload =
        root_verifier_to_bytes(verifier).map_err(|e| cache_err(path, format!("serialize: {e}")))?;
    write_checked(path, VERIFIER_MAGIC, &payload)
}

/// Writes an entry atomically (temporary file, fsync, rename).
pub(crate) fn write_checked(path: &Path, magic: &[u8; 8], payload: &[u8]) -> Result<()> {
    let dir = path.parent().expect("entry has a parent");
    std::fs::create_dir_all(dir).map_err(|e| cache_err(dir, e))?;
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    let mut f = std::fs::File::create(&tmp).map_err(|e| cache_err(&tmp, e))?;
    f.write_all(magic)
        .and_then(|_| f.write_all(keccak256(payload).as_slice()))
        .and_then(|_| f.write_all(payload))
        .and_then(|_| f.sync_all())
        .map_err(|e| cache_err(&tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| cache_err(path, e))?;
    Ok(())
}
