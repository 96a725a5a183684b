//! Errors of the aggregator.

use std::path::PathBuf;

/// Errors of proving, caching and verifying.
#[derive(Debug, thiserror::Error)]
pub enum AggregatorError {
    /// The query cannot be proven by the current circuits (e.g. a non-aggregate select).
    #[error("query cannot be proven: {0}")]
    Unsupported(String),
    /// The block data handed to the prover does not match the query's range.
    #[error("block {block}: {reason}")]
    BadBlock {
        /// Block number.
        block: u64,
        /// What is wrong.
        reason: String,
    },
    /// A proof failed to generate (the witness does not satisfy the circuit).
    #[error("proving {circuit} failed: {source}")]
    Proving {
        /// Which circuit.
        circuit: &'static str,
        /// plonky2's error.
        source: anyhow::Error,
    },
    /// A proof or proof file does not verify.
    #[error("verification failed: {0}")]
    Verification(String),
    /// The circuit-data cache could not be read or written.
    #[error("circuit cache {path}: {reason}")]
    Cache {
        /// Cache file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// Reading or writing a file failed.
    #[error("{path}: {source}")]
    Io {
        /// File.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A proof file is malformed.
    #[error("malformed proof file: {0}")]
    Malformed(String),
}

/// Result alias of the aggregator.
pub type Result<T, E = AggregatorError> = std::result::Result<T, E>;
