//! The Annals aggregator (DESIGN.md §5): builds (or loads from its on-disk cache) the circuit
//! set, proves the MapReduce tree over a query's block jobs in parallel, and writes and checks
//! proof files whose root public inputs are the statement of DESIGN.md §1.
//!
//! [`evm`] turns a proof file into an EVM-verifiable one (the plonky2 chain to the BN254 last
//! layer, then Groth16 with keys cached beside the circuits).
//!
//! Feature `p3-compare`: the bench-only Plonky3 reference (not built by the test suite).

pub mod cache;
pub mod envelope;
pub mod error;
pub mod evm;
pub mod prover;

pub use envelope::{ProofEnvelope, VerifiedStatement};
pub use error::{AggregatorError, Result};
pub use prover::{verify_file, ProgressEvent, Prover};
