//! On-disk cache of the circuit set (proving and verifying keys).
//!
//! An entry is named by the circuits' source hash (`annals_circuits::CIRCUITS_SOURCE_HASH`,
//! computed at build time over the circuit sources, the plan encoding and the plonky2 version),
//! so a change to any circuit gives a new name and the old entry is never read. Each entry
//! starts with a magic tag and the keccak256 of its payload; an entry whose payload does not
//! hash to that value, or does not deserialize, is rebuilt (with a warning), never used.

use std::io::Write;
use std::path::{Path, PathBuf};

use alloy_primitives::keccak256;
use annals_circuits::mapreduce::CircuitSet;

use crate::error::{AggregatorError, Result};

const MAGIC: &[u8; 8] = b"ANNALSCK";

/// Path of the cache entry for the current circuit version in `dir`.
pub fn entry_path(dir: &Path) -> PathBuf {
    dir.join(format!("circuits-{}.bin", annals_circuits::CIRCUITS_SOURCE_HASH))
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

/// Reads and checks one entry.
///
/// # Errors
/// [`AggregatorError::Cache`] naming what is wrong with the entry.
pub fn read_entry(path: &Path) -> Result<CircuitSet> {
    let bytes = std::fs::read(path).map_err(|e| cache_err(path, e))?;
    if bytes.len() < 40 || &bytes[..8] != MAGIC {
        return Err(cache_err(path, "not a circuit cache entry"));
    }
    let payload = &bytes[40..];
    if keccak256(payload).as_slice() != &bytes[8..40] {
        return Err(cache_err(path, "content hash mismatch (corrupt or truncated entry)"));
    }
    CircuitSet::from_bytes(payload).map_err(|e| cache_err(path, format!("deserialize: {e}")))
}

fn write_entry(path: &Path, set: &CircuitSet) -> Result<()> {
    let dir = path.parent().expect("entry has a parent");
    std::fs::create_dir_all(dir).map_err(|e| cache_err(dir, e))?;
    let payload = set.to_bytes().map_err(|e| cache_err(path, format!("serialize: {e}")))?;
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    let mut f = std::fs::File::create(&tmp).map_err(|e| cache_err(&tmp, e))?;
    f.write_all(MAGIC)
        .and_then(|_| f.write_all(keccak256(&payload).as_slice()))
        .and_then(|_| f.write_all(&payload))
        .and_then(|_| f.sync_all())
        .map_err(|e| cache_err(&tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| cache_err(path, e))?;
    Ok(())
}
