//! plonky2 circuits of Annals (DESIGN.md §4): gadgets bottom-up (keccak, uint256, RLP, header
//! decoding, Merkle-Patricia-trie inclusion and exclusion, account and storage decoding, the
//! plan VM) and the circuits built from them (the `headers` and state block maps, wrap and
//! reduce nodes of the MapReduce tree, and the root).
//!
//! No feature flags.

pub mod bn254;
pub mod header;
pub mod keccak;
pub mod keccak_stark;
pub mod mapreduce;
pub mod mpt;
pub mod receipt;
pub mod rlp;
pub mod serialization;
pub mod state;
pub mod uint256;
pub mod vm;

/// Hash of the circuit sources (this crate's `src/`, the plan encoding and the plonky2
/// version), computed by `build.rs`; names the cached circuit keys.
pub const CIRCUITS_SOURCE_HASH: &str = env!("CIRCUITS_SOURCE_HASH");
