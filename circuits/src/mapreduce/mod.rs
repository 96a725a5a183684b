//! The MapReduce circuits (DESIGN.md §4, §5): map leaves (one block's rows → a partial
//! aggregate), wrap and reduce nodes sharing one shape, and the root whose public inputs are
//! exactly the statement of DESIGN.md §1.
//!
//! Proof flow for a range `a..=b`: `header_map(block)` → `wrap` for every block; `reduce`
//! over adjacent pairs up a balanced tree; `root` over the top proof.

pub mod merge;
pub mod recursion;
pub mod statement;

use plonky2::field::goldilocks_field::GoldilocksField;
use plonky2::plonk::config::PoseidonGoldilocksConfig;
use plonky2::plonk::proof::ProofWithPublicInputs;

/// The field of every Annals plonky2 circuit.
pub type F = GoldilocksField;
/// The plonky2 configuration (Poseidon over Goldilocks for Merkle trees and Fiat–Shamir).
pub type Cfg = PoseidonGoldilocksConfig;
/// Extension degree.
pub const D: usize = 2;
/// A proof with its public inputs.
pub type Proof = ProofWithPublicInputs<F, Cfg, D>;

pub mod header_map;
pub mod plan;
pub mod root;
pub mod state_map;

use anyhow::{anyhow, Result};
use plonky2::field::types::PrimeField64;
use plonky2::plonk::circuit_data::{CircuitData, VerifierCircuitData, VerifierOnlyCircuitData};
use plonky2::util::serialization::{Buffer, IoResult, Read, Write};

use crate::serialization::{AnnalsGateSerializer, AnnalsGeneratorSerializer};
use header_map::HeaderMapCircuit;
use recursion::ShapeCircuits;
use root::RootCircuit;

/// Every circuit a query proof needs: the `header_map` leaf, the wrap/reduce shape and the root.
pub struct CircuitSet {
    /// The map leaf for `headers`.
    pub leaf: HeaderMapCircuit,
    /// Wrap and reduce.
    pub shape: ShapeCircuits,
    /// The root.
    pub root: RootCircuit,
}

fn data_to_bytes(data: &CircuitData<F, Cfg, D>) -> Result<Vec<u8>> {
    data.to_bytes(&AnnalsGateSerializer, &AnnalsGeneratorSerializer::<Cfg, D>::default())
        .map_err(|e| anyhow!("serialize circuit data: {e:?}"))
}

fn data_from_bytes(bytes: &[u8]) -> Result<CircuitData<F, Cfg, D>> {
    CircuitData::from_bytes(
        bytes,
        &AnnalsGateSerializer,
        &AnnalsGeneratorSerializer::<Cfg, D>::default(),
    )
    .map_err(|e| anyhow!("deserialize circuit data: {e:?}"))
}

/// The verifying key of the root circuit alone (common data + constants/sigmas cap + circuit
/// digest, ~2 kB serialized): all `annals verify` needs.
pub type RootVerifier = VerifierCircuitData<F, Cfg, D>;

/// Serializes a [`RootVerifier`] (plonky2's `VerifierCircuitData::to_bytes` with Annals' gates).
///
/// # Errors
/// Serialization errors of plonky2.
pub fn root_verifier_to_bytes(v: &RootVerifier) -> Result<Vec<u8>> {
    v.to_bytes(&AnnalsGateSerializer).map_err(|e| anyhow!("serialize verifier data: {e:?}"))
}

/// Inverse of [`root_verifier_to_bytes`].
///
/// # Errors
/// Malformed bytes.
pub fn root_verifier_from_bytes(bytes: Vec<u8>) -> Result<RootVerifier> {
    RootVerifier::from_bytes(bytes, &AnnalsGateSerializer)
        .map_err(|e| anyhow!("deserialize verifier data: {e:?}"))
}

/// A circuit digest as 0x-hex of its 4 field elements (each a big-endian u64, 64 hex digits
/// in all): how proof files name the circuit that proved them.
pub fn circuit_digest_hex(vd: &VerifierOnlyCircuitData<Cfg, D>) -> String {
    let mut s = String::from("0x");
    for e in vd.circuit_digest.elements {
        s.push_str(&format!("{:016x}", e.to_canonical_u64()));
    }
    s
}

impl CircuitSet {
    /// Builds every circuit (tens of seconds; cache the result with [`CircuitSet::to_bytes`]).
    ///
    /// # Errors
    /// If the shape circuits do not reach a fixpoint (a bug).
    pub fn build() -> Result<Self> {
        let leaf = HeaderMapCircuit::build();
        let shape = ShapeCircuits::build(&leaf.data.common, &leaf.data.verifier_only)?;
        let root = RootCircuit::build(&shape);
        Ok(Self { leaf, shape, root })
    }

    /// Serializes the four circuits' data (proving and verifying keys), each length-prefixed.
    ///
    /// # Errors
    /// Serialization errors of plonky2.
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        let mut out = Vec::new();
        for d in [&self.leaf.data, &self.shape.wrap.data, &self.shape.reduce.data, &self.root.data]
        {
            let bytes = data_to_bytes(d)?;
            out.write_usize(bytes.len()).map_err(|e| anyhow!("{e:?}"))?;
            out.extend_from_slice(&bytes);
        }
        Ok(out)
    }

    /// Inverse of [`CircuitSet::to_bytes`]; the targets are wired afresh, which is sound only
    /// for bytes written by the same circuit sources (the cache keys entries by
    /// [`crate::CIRCUITS_SOURCE_HASH`]).
    ///
    /// # Errors
    /// Malformed bytes, or circuits whose shapes do not fit together.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let mut buf = Buffer::new(bytes);
        let mut next = || -> Result<CircuitData<F, Cfg, D>> {
            let n = buf.read_usize().map_err(|e| anyhow!("{e:?}"))?;
            let pos = buf.pos();
            let slice = bytes.get(pos..pos + n).ok_or_else(|| anyhow!("truncated"))?;
            let data = data_from_bytes(slice)?;
            let _: IoResult<()> = buf.read_exact(&mut vec![0u8; n]);
            Ok(data)
        };
        let leaf_data = next()?;
        let wrap_data = next()?;
        let reduce_data = next()?;
        let root_data = next()?;
        let leaf = HeaderMapCircuit::from_data(leaf_data);
        let shape = ShapeCircuits::from_data(&leaf.data, wrap_data, reduce_data)?;
        let root = RootCircuit::from_data(&shape, root_data);
        Ok(Self { leaf, shape, root })
    }
}
