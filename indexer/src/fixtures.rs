//! Importing folders of JSON-RPC-shaped block objects (the mainnet fixtures in
//! `shared/fixtures/mainnet/headers/`, or any `eth_getBlockByNumber` dumps).

use crate::verify::{
    verify_links, verify_rpc_header, ChainSpec, MAINNET_GENESIS_HASH, MAINNET_LONDON_BLOCK,
    MAINNET_LONDON_HASH,
};
use crate::{HeaderProvider, IndexerError, Result, Store, StoredHeader};
use std::ops::RangeInclusive;
use std::path::{Path, PathBuf};

/// What [`import_dir`] did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImportReport {
    /// The folder read (the `headers/` subfolder when given a fixture root).
    pub dir: PathBuf,
    /// The spec the headers were verified with.
    pub spec: ChainSpec,
    /// Headers read and verified.
    pub headers: usize,
    /// Rows newly inserted.
    pub inserted: u64,
    /// Contiguous runs of block numbers found, ascending.
    pub runs: Vec<RangeInclusive<u64>>,
}

/// Imports every `*.json` of `dir` (or of `dir/headers/` when that folder exists), choosing the
/// spec with [`detect_spec`]. See [`import_dir_with_spec`].
pub async fn import_dir(store: &Store, dir: &Path) -> Result<ImportReport> {
    import_dir_with_spec(store, dir, None).await
}

/// Imports every `*.json` block object of `dir` (or of `dir/headers/` when that folder exists).
///
/// Every file is parsed as an RPC header (header-only objects and blocks with transaction hashes
/// both work; extra keys are ignored) and verified with `spec` (or [`detect_spec`] if `None`);
/// the headers are grouped into contiguous runs whose `parent_hash` links are checked, also
/// against an already stored block just before a run. All files are verified before anything is
/// written, so a bad file writes nothing; each run is then written in one transaction through
/// [`Store::insert_batch`] (no checkpoint: fixtures have gaps). Importing twice is a no-op.
///
/// Errors: [`IndexerError::Fixture`] wrapping the verification error (naming file and block),
/// [`IndexerError::ParentLink`] naming both blocks, [`IndexerError::Io`], [`IndexerError::Json`].
pub async fn import_dir_with_spec(
    store: &Store,
    dir: &Path,
    spec: Option<ChainSpec>,
) -> Result<ImportReport> {
    let (dir, rpc_headers) = read_dir(dir)?;
    let spec = spec.unwrap_or_else(|| detect_spec(rpc_headers.iter().map(|(_, h)| h)));
    let mut headers = Vec::with_capacity(rpc_headers.len());
    for (path, rpc) in &rpc_headers {
        let h = verify_rpc_header(rpc, spec)
            .map_err(|e| IndexerError::Fixture { path: path.clone(), source: Box::new(e) })?;
        headers.push(h);
    }
    headers.sort_by_key(|h| h.number);
    // duplicates (the same block in two files) must agree
    headers.dedup_by(|b, a| a.number == b.number && a.hash == b.hash);
    if let Some(w) = headers.windows(2).find(|w| w[0].number == w[1].number) {
        return Err(IndexerError::Conflict {
            number: w[0].number,
            stored: w[0].hash,
            got: w[1].hash,
        });
    }
    let runs = split_runs(&headers);
    for run in &runs {
        verify_links(None, run)?;
    }
    let mut report =
        ImportReport { dir, spec, headers: headers.len(), inserted: 0, runs: Vec::new() };
    for run in runs {
        let first = &run[0];
        if let Some(p) = first.number.checked_sub(1) {
            if let Some(parent) = store.header(p).await? {
                verify_links(Some((parent.number, parent.hash)), &run[..1])?;
            }
        }
        report.inserted += store.insert_batch(run, None).await?;
        report.runs.push(first.number..=run[run.len() - 1].number);
    }
    Ok(report)
}

/// Guesses the chain of a set of headers: [`ChainSpec::Mainnet`] if any of them is mainnet's
/// genesis or London block (by hash), else [`ChainSpec::Any`].
pub fn detect_spec<'a>(
    headers: impl IntoIterator<Item = &'a alloy_rpc_types_eth::Header>,
) -> ChainSpec {
    let mainnet = headers.into_iter().any(|h| {
        (h.inner.number == 0 && h.hash == MAINNET_GENESIS_HASH)
            || (h.inner.number == MAINNET_LONDON_BLOCK && h.hash == MAINNET_LONDON_HASH)
    });
    if mainnet {
        ChainSpec::Mainnet
    } else {
        ChainSpec::Any
    }
}

/// The `*.json` files of `dir/<sub>/` when that folder exists, else of `dir`, sorted by file
/// name; returns the folder read and the files.
///
/// Errors: [`IndexerError::Io`] naming the folder.
pub fn json_files(dir: &Path, sub: &str) -> Result<(PathBuf, Vec<PathBuf>)> {
    let nested = dir.join(sub);
    let dir = if nested.is_dir() { nested } else { dir.to_path_buf() };
    let io = |source| IndexerError::Io { path: dir.clone(), source };
    let mut paths = Vec::new();
    for entry in std::fs::read_dir(&dir).map_err(io)? {
        let path = entry.map_err(io)?.path();
        if path.extension().is_some_and(|e| e == "json") && path.is_file() {
            paths.push(path);
        }
    }
    paths.sort();
    Ok((dir, paths))
}

/// Reads and parses a JSON fixture file.
///
/// Errors: [`IndexerError::Io`], [`IndexerError::Json`], both naming the file.
pub fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T> {
    let text = std::fs::read_to_string(path)
        .map_err(|source| IndexerError::Io { path: path.to_path_buf(), source })?;
    serde_json::from_str(&text)
        .map_err(|source| IndexerError::Json { path: path.to_path_buf(), source })
}

/// Reads and parses the `*.json` files of `dir` (or `dir/headers/`), sorted by file name.
pub fn read_dir(dir: &Path) -> Result<(PathBuf, Vec<(PathBuf, alloy_rpc_types_eth::Header)>)> {
    let (dir, paths) = json_files(dir, "headers")?;
    let mut out = Vec::with_capacity(paths.len());
    for path in paths {
        let rpc = read_json(&path)?;
        out.push((path, rpc));
    }
    Ok((dir, out))
}

/// Splits headers sorted by number into maximal runs of consecutive numbers.
fn split_runs(headers: &[StoredHeader]) -> Vec<&[StoredHeader]> {
    let mut runs = Vec::new();
    let mut start = 0;
    for i in 1..=headers.len() {
        if i == headers.len() || headers[i].number != headers[i - 1].number + 1 {
            if start < i {
                runs.push(&headers[start..i]);
            }
            start = i;
        }
    }
    runs
}
