//! The MapReduce circuits (DESIGN.md §4, §5): map leaves (one block's rows → a partial
//! aggregate), wrap and reduce nodes sharing one shape, and the root whose public inputs are
//! exactly the statement of DESIGN.md §1.
//!
//! Proof flow for a range `a..=b`: a map leaf per block (`header_map`, or `state_map` for the
//! sampled blocks of an `accounts`/`storage` query) → its `wrap`; `reduce` over adjacent pairs
//! up a balanced tree; `root` over the top proof.

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
use alloy_primitives::U256;
use annals_query_lang::plan::Program;
use header_map::HeaderMapCircuit;
use recursion::{ChildKind, ShapeCircuits};
use root::RootCircuit;
use state_map::{StateMapCircuit, StateMapConfig};

/// Every circuit a query proof needs: the `header_map` and `state_map` leaves, the
/// wrap/reduce shape and the root.
pub struct CircuitSet {
    /// The map leaf for `headers` (and the skipped blocks of sampled point queries).
    pub leaf: HeaderMapCircuit,
    /// The map leaf for `accounts` and `storage` ([`StateMapConfig::MAINNET`]).
    pub state_leaf: StateLeaf,
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

/// The `state_map` leaf: its verifier data always (the shape circuits are built from it), its
/// proving key only once a query needs it. At 2^18 rows the proving key is gigabytes (the LDE
/// of its constants and sigmas), so the circuit cache stores the verifier data alone and the
/// circuit is rebuilt (about a minute) in the process that proves an `accounts`/`storage`
/// query; a rebuild whose digest differs from the cached verifier data is an error.
pub struct StateLeaf {
    /// Common and verifier-only data ([`StateMapConfig::MAINNET`]).
    pub verifier: VerifierCircuitData<F, Cfg, D>,
    circuit: std::sync::OnceLock<StateMapCircuit>,
}

impl StateLeaf {
    fn built(circuit: StateMapCircuit) -> Self {
        let verifier = circuit.data.verifier_data();
        Self { verifier, circuit: std::sync::OnceLock::from(circuit) }
    }

    /// The circuit with its proving key, built on first use.
    ///
    /// # Errors
    /// When the circuit built here is not the one the verifier data names (a cache written by
    /// other sources).
    pub fn circuit(&self) -> Result<&StateMapCircuit> {
        let c = self.circuit.get_or_init(|| StateMapCircuit::build(StateMapConfig::MAINNET));
        anyhow::ensure!(
            c.data.verifier_only.circuit_digest == self.verifier.verifier_only.circuit_digest,
            "the state_map circuit built here differs from the cached one"
        );
        Ok(c)
    }

    /// Its common and verifier-only data, as the shape circuits take them.
    pub fn leaf_data(&self) -> recursion::LeafData<'_> {
        (&self.verifier.common, &self.verifier.verifier_only)
    }
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
        let state_leaf = StateLeaf::built(StateMapCircuit::build(StateMapConfig::MAINNET));
        let shape = ShapeCircuits::build(
            (&leaf.data.common, &leaf.data.verifier_only),
            state_leaf.leaf_data(),
        )?;
        let root = RootCircuit::build(&shape);
        Ok(Self { leaf, state_leaf, shape, root })
    }

    /// The leaf (and wrap) that proves `block` for `program`: `state_map` for the blocks an
    /// `accounts`/`storage` program with a points prelude samples (every block when it is not
    /// sampled), `header_map` otherwise.
    pub fn leaf_kind(program: &Program, block: u64) -> ChildKind {
        let Some(prelude) = program.points_prelude() else { return ChildKind::HeaderWrap };
        let sampled = match prelude.sample_reg {
            None => true,
            Some(_) => {
                let (k, r) = (program.constants[0], program.constants[1]);
                !k.is_zero() && U256::from(block) % k == r
            }
        };
        if sampled {
            ChildKind::StateWrap
        } else {
            ChildKind::HeaderWrap
        }
    }

    /// Serializes the circuits' data (proving and verifying keys; for the `state_map` leaf its
    /// verifier data only, see [`StateLeaf`]), each length-prefixed.
    ///
    /// # Errors
    /// Serialization errors of plonky2.
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        let mut entries = vec![
            data_to_bytes(&self.leaf.data)?,
            root_verifier_to_bytes(&self.state_leaf.verifier)?,
        ];
        for d in [
            &self.shape.wrap.data,
            &self.shape.state_shrink.data,
            &self.shape.state_wrap.data,
            &self.shape.reduce.data,
            &self.root.data,
        ] {
            entries.push(data_to_bytes(d)?);
        }
        let mut out = Vec::new();
        for bytes in entries {
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
        let mut next_raw = || -> Result<Vec<u8>> {
            let n = buf.read_usize().map_err(|e| anyhow!("{e:?}"))?;
            let pos = buf.pos();
            let slice = bytes.get(pos..pos + n).ok_or_else(|| anyhow!("truncated"))?;
            let _: IoResult<()> = buf.read_exact(&mut vec![0u8; n]);
            Ok(slice.to_vec())
        };
        let leaf = HeaderMapCircuit::from_data(data_from_bytes(&next_raw()?)?);
        let state_leaf = StateLeaf {
            verifier: root_verifier_from_bytes(next_raw()?)?,
            circuit: std::sync::OnceLock::new(),
        };
        let mut next = || data_from_bytes(&next_raw()?);
        let (wrap, shrink, state_wrap, reduce) = (next()?, next()?, next()?, next()?);
        let shape = ShapeCircuits::from_data(
            (&leaf.data.common, &leaf.data.verifier_only),
            state_leaf.leaf_data(),
            wrap,
            shrink,
            state_wrap,
            reduce,
        )?;
        let root = RootCircuit::from_data(&shape, next()?);
        Ok(Self { leaf, state_leaf, shape, root })
    }
}
