//! The Annals aggregator (DESIGN.md §5): builds (or loads from its on-disk cache) the circuit
//! set, proves the MapReduce tree over a query's block jobs in parallel, and writes and checks
//! proof files whose root public inputs are the statement of DESIGN.md §1.
//!
//! No feature flags. The EVM-verifiable wrap is a later stage; here the final proof is the
//! plonky2 root.

pub mod cache;
pub mod envelope;
pub mod error;
pub mod prover;

pub use envelope::{ProofEnvelope, VerifiedStatement};
pub use error::{AggregatorError, Result};
pub use prover::{verify_file, ProgressEvent, Prover};
