//! The plonky2 layers between a query's root proof and the Groth16 wrap (issue 6, steps 1–2).
//!
//! 1. **Statement layer** (standard recursion config, Goldilocks Poseidon): verifies the root
//!    proof (its verifier data is a constant) and exposes the keccak256 of the §1 statement as
//!    eight big-endian 32-bit words ([`statement_digest`]): the only public inputs from here
//!    on, so the contract passes two field elements and checks them against one `keccak256`
//!    of values it already has.
//! 2. **Shrink layers** (standard config): each verifies the previous layer, until the
//!    circuit has at most 2^[`SHRINK_DEGREE_BITS`] rows, so the last layer has a small fixed
//!    shape whatever the root's size.
//! 3. **Last layer** ([`last_layer_config`], proven under [`PoseidonBn254GoldilocksConfig`]):
//!    verifies the last shrink proof, re-exposes the eight words, and is what the R1CS
//!    verifier ([`super::groth16::WrapCircuit`]) checks. It has only gates the R1CS supports
//!    (checked at build).
//!
//! Every layer fixes its inner verifier data as a constant, so a proof of the last layer
//! exists only for a root proof of exactly this root circuit.

use alloy_primitives::{keccak256, B256};
use anyhow::{anyhow, bail, Result};
use plonky2::fri::reduction_strategies::FriReductionStrategy;
use plonky2::fri::FriConfig;
use plonky2::iop::target::Target;
use plonky2::iop::witness::{PartialWitness, WitnessWrite};
use plonky2::plonk::circuit_builder::CircuitBuilder;
use plonky2::plonk::circuit_data::{CircuitConfig, CircuitData, VerifierCircuitData};
use plonky2::plonk::config::GenericConfig;
use plonky2::plonk::proof::{ProofWithPublicInputs, ProofWithPublicInputsTarget};

use plonky2::recursion::dummy_circuit::{dummy_circuit, dummy_proof};

use super::gates_var::unsupported_gates;
use super::groth16::WrapCircuit;
use super::solidity::r1cs_digest;
use super::PoseidonBn254GoldilocksConfig;
use crate::keccak::CircuitBuilderKeccak;
use crate::mapreduce::header_map::bytes_to_words;
use crate::mapreduce::root::{RootStatement, ROOT_PUBLIC_INPUTS};
use crate::mapreduce::statement::b256_to_words;
use crate::mapreduce::{Cfg, Proof, D, F};

/// Bytes hashed by [`statement_digest`]: `query_hash (32) ‖ from_block (8) ‖ to_block (8) ‖
/// anchor_hash (32) ‖ result_hash (32)`.
pub const STATEMENT_PREIMAGE_BYTES: usize = 112;
/// Public inputs of the statement, shrink and last layers: the digest's eight big-endian
/// 32-bit words.
pub const DIGEST_WORDS: usize = 8;
/// The shrink layers stop at this many degree bits (2^12 rows).
pub const SHRINK_DEGREE_BITS: usize = 12;
/// At most this many shrink layers (each roughly halves a recursive verifier's size; more
/// means the root's shape is not what the chain was designed for).
pub const MAX_SHRINK_LAYERS: usize = 3;

/// The last layer's proof type.
pub type LastProof = ProofWithPublicInputs<F, PoseidonBn254GoldilocksConfig, D>;

/// `abi.encodePacked(query_hash, uint64(from_block), uint64(to_block), anchor_hash,
/// result_hash)`, the preimage of [`statement_digest`].
pub fn statement_preimage(s: &RootStatement) -> [u8; STATEMENT_PREIMAGE_BYTES] {
    let mut out = [0u8; STATEMENT_PREIMAGE_BYTES];
    out[..32].copy_from_slice(s.query_hash.as_slice());
    out[32..40].copy_from_slice(&s.from_block.to_be_bytes());
    out[40..48].copy_from_slice(&s.to_block.to_be_bytes());
    out[48..80].copy_from_slice(s.anchor_hash.as_slice());
    out[80..].copy_from_slice(s.result_hash.as_slice());
    out
}

/// The commitment to the §1 statement that the EVM proof's public inputs carry:
/// `keccak256(abi.encodePacked(query_hash, uint64(from_block), uint64(to_block), anchor_hash,
/// result_hash))`, what a contract recomputes from the values it is handed.
pub fn statement_digest(s: &RootStatement) -> B256 {
    keccak256(statement_preimage(s))
}

/// The last layer's public inputs for a statement: [`statement_digest`] as eight big-endian
/// 32-bit words.
pub fn digest_public_inputs(s: &RootStatement) -> [F; DIGEST_WORDS] {
    b256_to_words(&statement_digest(s))
}

/// The last layer's configuration: the standard recursion config (80 routed wires, gates of
/// degree ≤ 8) with FRI at rate 1/64, 14 queries, 16 proof-of-work bits and cap height 0.
///
/// Security: plonky2's conjectured FRI bound `rate_bits · queries + pow_bits` gives
/// `6 · 14 + 16 = 100` bits, the same conjecture and level as the standard config's
/// `3 · 28 + 16`. Fewer queries are what make the R1CS verifier cheap (each query climbs four
/// Merkle paths and combines ~250 opened values); the 8× larger LDE is paid in the small
/// last circuit only. Cap height 0 makes each cap one digest, one challenger absorption in
/// R1CS.
pub fn last_layer_config() -> CircuitConfig {
    CircuitConfig {
        fri_config: FriConfig {
            rate_bits: 6,
            cap_height: 0,
            proof_of_work_bits: 16,
            reduction_strategy: FriReductionStrategy::ConstantArityBits(4, 5),
            num_query_rounds: 14,
        },
        ..CircuitConfig::standard_recursion_config()
    }
}

/// One recursion layer: its circuit and the inner proof it takes as witness.
struct Layer<C: GenericConfig<D, F = F>> {
    data: CircuitData<F, C, D>,
    inner: ProofWithPublicInputsTarget<D>,
}

impl<C: GenericConfig<D, F = F>> Layer<C> {
    /// A layer that verifies proofs of `inner` and exposes their public inputs unchanged.
    fn passthrough(inner: &VerifierCircuitData<F, Cfg, D>, config: CircuitConfig) -> Self {
        let mut b = CircuitBuilder::<F, D>::new(config);
        let pt = b.add_virtual_proof_with_pis(&inner.common);
        let vd = b.constant_verifier_data(&inner.verifier_only);
        b.verify_proof::<Cfg>(&pt, &vd, &inner.common);
        b.register_public_inputs(&pt.public_inputs);
        Self { data: b.build::<C>(), inner: pt }
    }

    fn prove(&self, inner: &Proof) -> Result<ProofWithPublicInputs<F, C, D>> {
        let mut pw = PartialWitness::new();
        pw.set_proof_with_pis_target(&self.inner, inner)?;
        let proof = self.data.prove(pw)?;
        self.data.verify(proof.clone())?;
        Ok(proof)
    }
}

/// The statement, shrink and last layers for one root circuit.
pub struct EvmChain {
    statement: Layer<Cfg>,
    shrink: Vec<Layer<Cfg>>,
    last: Layer<PoseidonBn254GoldilocksConfig>,
}

impl EvmChain {
    /// Builds the layers for proofs of `root` (a circuit with the [`ROOT_PUBLIC_INPUTS`]
    /// layout of `mapreduce::root`).
    ///
    /// # Errors
    /// A root with another number of public inputs, a chain that does not reach
    /// 2^[`SHRINK_DEGREE_BITS`] rows in [`MAX_SHRINK_LAYERS`] layers, or a last layer with a
    /// gate the R1CS verifier does not support.
    pub fn build(root: &VerifierCircuitData<F, Cfg, D>) -> Result<Self> {
        if root.common.num_public_inputs != ROOT_PUBLIC_INPUTS {
            bail!(
                "the root circuit has {} public inputs, the EVM chain takes {ROOT_PUBLIC_INPUTS}",
                root.common.num_public_inputs
            );
        }
        let statement = statement_layer(root);
        let mut shrink: Vec<Layer<Cfg>> = Vec::new();
        loop {
            let top = shrink.last().map_or(&statement.data, |l| &l.data);
            if top.common.degree_bits() <= SHRINK_DEGREE_BITS {
                break;
            }
            if shrink.len() == MAX_SHRINK_LAYERS {
                bail!(
                    "{MAX_SHRINK_LAYERS} shrink layers leave 2^{} rows (> 2^{SHRINK_DEGREE_BITS})",
                    top.common.degree_bits()
                );
            }
            let next = Layer::passthrough(
                &top.verifier_data(),
                CircuitConfig::standard_recursion_config(),
            );
            shrink.push(next);
        }
        let top = shrink.last().map_or(&statement.data, |l| &l.data);
        let last = Layer::passthrough(&top.verifier_data(), last_layer_config());
        let unsupported = unsupported_gates(&last.data.common);
        if !unsupported.is_empty() {
            bail!("the last layer uses gates the R1CS verifier lacks: {unsupported:?}");
        }
        Ok(Self { statement, shrink, last })
    }

    /// The last layer's circuit (what the Groth16 wrap verifies).
    pub fn last(&self) -> &CircuitData<F, PoseidonBn254GoldilocksConfig, D> {
        &self.last.data
    }

    /// A proof with the last layer's shape, from plonky2's `dummy_circuit` (same common data,
    /// other verifier data) and `dummy_proof`: what Groth16's setup and
    /// [`Self::wrap_r1cs_digest`] need, since they read only the proof's shape.
    ///
    /// # Errors
    /// plonky2's proving errors.
    pub fn shape_proof(&self) -> Result<LastProof> {
        let dummy = dummy_circuit::<F, PoseidonBn254GoldilocksConfig, D>(&self.last.data.common);
        dummy_proof(&dummy, Default::default())
    }

    /// keccak256 of the R1CS matrices of the Groth16 wrap of this chain's last layer
    /// ([`r1cs_digest`]): what ties a committed verifying key to this code.
    ///
    /// # Errors
    /// plonky2's proving errors (the shape proof) or synthesis errors.
    pub fn wrap_r1cs_digest(&self) -> Result<B256> {
        let proof = self.shape_proof()?;
        let last = &self.last.data;
        let circuit =
            WrapCircuit { proof: &proof, verifier: &last.verifier_only, common: &last.common };
        r1cs_digest(circuit).map_err(|e| anyhow!("wrap R1CS: {e}"))
    }

    /// Rows (degree bits) of each layer, statement layer first.
    pub fn degree_bits(&self) -> Vec<usize> {
        std::iter::once(&self.statement.data.common)
            .chain(self.shrink.iter().map(|l| &l.data.common))
            .chain(std::iter::once(&self.last.data.common))
            .map(|c| c.degree_bits())
            .collect()
    }

    /// Proves every layer over `root_proof` and returns the last layer's proof, each layer's
    /// proof verified before the next uses it.
    ///
    /// # Errors
    /// A root proof that is not of this chain's root circuit or whose block numbers do not fit
    /// 32 bits (the statement layer cannot be proven), or a plonky2 error.
    pub fn prove(&self, root_proof: &Proof) -> Result<LastProof> {
        let mut proof =
            self.statement.prove(root_proof).map_err(|e| anyhow!("statement layer: {e}"))?;
        for (i, layer) in self.shrink.iter().enumerate() {
            proof = layer.prove(&proof).map_err(|e| anyhow!("shrink layer {i}: {e}"))?;
        }
        self.last.prove(&proof).map_err(|e| anyhow!("last layer: {e}"))
    }
}

/// The statement layer: verifies a root proof and exposes [`statement_digest`] of its public
/// inputs as eight big-endian 32-bit words.
fn statement_layer(root: &VerifierCircuitData<F, Cfg, D>) -> Layer<Cfg> {
    let mut b = CircuitBuilder::<F, D>::new(CircuitConfig::standard_recursion_config());
    let pt = b.add_virtual_proof_with_pis(&root.common);
    let vd = b.constant_verifier_data(&root.verifier_only);
    b.verify_proof::<Cfg>(&pt, &vd, &root.common);
    let pis = &pt.public_inputs;
    let zero = b.zero();
    let mut bytes: Vec<Target> = Vec::with_capacity(STATEMENT_PREIMAGE_BYTES);
    let push_words = |b: &mut CircuitBuilder<F, D>, bytes: &mut Vec<Target>, words: &[Target]| {
        for &w in words {
            bytes.extend(be_bytes_of_u32(b, w));
        }
    };
    push_words(&mut b, &mut bytes, &pis[0..8]);
    for &n in &pis[8..10] {
        // uint64 big-endian, the high word zero: block numbers are below 2^32.
        bytes.extend([zero; 4]);
        bytes.extend(be_bytes_of_u32(&mut b, n));
    }
    push_words(&mut b, &mut bytes, &pis[10..18]);
    push_words(&mut b, &mut bytes, &pis[18..26]);
    debug_assert_eq!(bytes.len(), STATEMENT_PREIMAGE_BYTES);
    let digest: [Target; 32] = b.keccak256_fixed(&bytes);
    let words = bytes_to_words(&mut b, &digest);
    b.register_public_inputs(&words);
    Layer { data: b.build::<Cfg>(), inner: pt }
}

/// The four big-endian bytes of `x`, from its 32-bit boolean decomposition (`split_le`, which
/// also constrains `x < 2^32`).
fn be_bytes_of_u32(b: &mut CircuitBuilder<F, D>, x: Target) -> [Target; 4] {
    let bits = b.split_le(x, 32);
    core::array::from_fn(|i| b.le_sum(bits[8 * (3 - i)..8 * (4 - i)].iter()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bn254::groth16::{self, WrapCircuit};
    use ark_bn254::Fr;
    use ark_relations::r1cs::{ConstraintSynthesizer, ConstraintSystem};
    use plonky2::field::types::Field;

    /// A stand-in for the root circuit with the root's public-input layout, set freely;
    /// `extra` adds a constraint, giving another circuit with the same layout.
    fn stand_in_root(extra: bool) -> (CircuitData<F, Cfg, D>, Vec<Target>) {
        let mut b = CircuitBuilder::<F, D>::new(CircuitConfig::standard_recursion_config());
        let t = b.add_virtual_targets(ROOT_PUBLIC_INPUTS);
        if extra {
            let product = b.mul(t[8], t[9]);
            let expected = b.mul(t[9], t[8]);
            b.connect(product, expected);
        }
        b.register_public_inputs(&t);
        (b.build::<Cfg>(), t)
    }

    fn root_inputs(s: &RootStatement) -> Vec<F> {
        let mut v = b256_to_words(&s.query_hash).to_vec();
        v.push(F::from_canonical_u64(s.from_block));
        v.push(F::from_canonical_u64(s.to_block));
        v.extend(b256_to_words(&s.anchor_hash));
        v.extend(b256_to_words(&s.result_hash));
        v
    }

    fn prove_root(data: &CircuitData<F, Cfg, D>, t: &[Target], values: &[F]) -> Proof {
        let mut pw = PartialWitness::new();
        for (t, v) in t.iter().zip(values) {
            pw.set_target(*t, *v).unwrap();
        }
        data.prove(pw).unwrap()
    }

    fn r1cs_satisfied(chain: &EvmChain, proof: &LastProof) -> (bool, usize) {
        let last = chain.last();
        let cs = ConstraintSystem::<Fr>::new_ref();
        WrapCircuit { proof, verifier: &last.verifier_only, common: &last.common }
            .generate_constraints(cs.clone())
            .unwrap();
        (cs.is_satisfied().unwrap(), cs.num_constraints())
    }

    fn test_statement() -> RootStatement {
        RootStatement {
            query_hash: B256::repeat_byte(0x11),
            from_block: 19_000_000,
            to_block: 19_001_023,
            anchor_hash: B256::repeat_byte(0xa5),
            result_hash: keccak256(b"rows"),
        }
    }

    /// The Groth16 inputs of a fixed statement; `contracts/test/AnnalsStatement.t.sol` asserts
    /// the same two numbers from `AnnalsStatement.publicInputs`.
    #[test]
    fn statement_public_inputs_vector() {
        let s = test_statement();
        let packed = groth16::packed_public_inputs(&digest_public_inputs(&s)).unwrap();
        let got: Vec<String> = packed.iter().map(|x| x.to_string()).collect();
        eprintln!("digest {} inputs {got:?}", statement_digest(&s));
        assert_eq!(
            got,
            ["191474627703323833227218120502677968131", "196099032034722794433051176423059328966"]
        );
    }

    /// The digest is `keccak256(abi.encodePacked(...))` of the five §1 values, computed in the
    /// statement layer from the root's public inputs and carried to the last layer, whose proof
    /// the R1CS verifier accepts. Another root circuit's proof, a block number of 32 bits or
    /// more, and a changed digest word are each refused (plonky2 may panic rather than return
    /// an error on a witness it cannot satisfy: either counts as refused).
    ///
    /// Full tier (about 5 minutes, mostly the chain build and proof): the default tier checks
    /// the chain's R1CS digest against the committed EVM fixture and verifies its real proofs
    /// (`annals-aggregator`'s `evm::committed_evm_fixture_matches_the_code`).
    #[test]
    #[ignore = "full tier (about 5 minutes): bash scripts/test.sh --full"]
    fn the_chain_carries_the_statement_digest_to_an_r1cs_checked_last_layer() {
        let statement = test_statement();
        let pre = statement_preimage(&statement);
        assert_eq!(&pre[32..40], &[0, 0, 0, 0, 0x01, 0x21, 0xea, 0xc0]);
        assert_eq!(&pre[40..48], &19_001_023u64.to_be_bytes());

        let (root, targets) = stand_in_root(false);
        let chain = EvmChain::build(&root.verifier_data()).unwrap();
        let bits = chain.degree_bits();
        eprintln!("EVM chain layers (degree bits, statement first): {bits:?}");
        assert!(bits[bits.len() - 2] <= SHRINK_DEGREE_BITS);
        assert_eq!(chain.last().common.config.fri_config, last_layer_config().fri_config);

        let root_proof = prove_root(&root, &targets, &root_inputs(&statement));
        let last = chain.prove(&root_proof).unwrap();
        assert_eq!(last.public_inputs, digest_public_inputs(&statement).to_vec());
        let (ok, constraints) = r1cs_satisfied(&chain, &last);
        eprintln!("R1CS verifier of the last layer: {constraints} constraints");
        assert!(ok, "the R1CS rejects the last layer's proof");

        let mut forged = last.clone();
        forged.public_inputs[3] += F::ONE;
        assert!(chain.last().verify(forged).is_err(), "plonky2 accepts another digest");

        let mut big = statement.clone();
        big.to_block = 1 << 32;
        let big_proof = prove_root(&root, &targets, &root_inputs(&big));
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| chain.prove(&big_proof)));
        assert!(!matches!(r, Ok(Ok(_))), "a 33-bit block number was proven");

        let (other, other_targets) = stand_in_root(true);
        assert_ne!(other.verifier_only.circuit_digest, root.verifier_only.circuit_digest);
        let other_proof = prove_root(&other, &other_targets, &root_inputs(&statement));
        let r =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| chain.prove(&other_proof)));
        assert!(!matches!(r, Ok(Ok(_))), "another circuit's proof went through the chain");
    }
}
