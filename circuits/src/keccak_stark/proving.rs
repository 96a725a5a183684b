//! Proving and verifying the permutation table, natively and inside a plonky2 circuit (starky's
//! recursive verifier). Without the lookup argument (not built yet) a table proof says only
//! that *some* trace of honest permutations exists; these entry points are what the benchmark
//! measures and what the aggregation circuit will build on.

use anyhow::{anyhow, ensure, Result};
use plonky2::iop::witness::PartialWitness;
use plonky2::plonk::circuit_builder::CircuitBuilder;
use plonky2::plonk::circuit_data::{CircuitConfig, CircuitData};
use plonky2::util::timing::TimingTree;
use starky::config::StarkConfig;
use starky::proof::{StarkProofWithPublicInputs, StarkProofWithPublicInputsTarget};
use starky::recursive_verifier::{
    add_virtual_stark_proof_with_pis, set_stark_proof_with_pis_target, verify_stark_proof_circuit,
};

use super::layout::NUM_LANES;
use super::{trace_rows, KeccakPermutationStark};
use crate::mapreduce::{Cfg, Proof, D, F};

/// The table over Annals' field and extension degree.
pub type PermutationStark = KeccakPermutationStark<F, D>;

/// A proof of the permutation table.
pub type PermutationProof = StarkProofWithPublicInputs<F, Cfg, D>;

/// FRI parameters of table proofs: starky's `standard_fast_config` — blowup 2
/// (`rate_bits = 1`), 84 queries and 16 grinding bits, i.e. 84 · 1 + 16 = 100 conjectured bits
/// of security; 2 challenges for the combined constraint (Goldilocks, so 2 · 64 bits).
pub fn stark_config() -> StarkConfig {
    StarkConfig::standard_fast_config()
}

/// `log2` of the table's rows for `n` permutations ([`trace_rows`]).
pub fn degree_bits(n: usize) -> usize {
    trace_rows(n).trailing_zeros() as usize
}

/// Proves the permutations of `inputs` (states, lanes `x + 5y`) in one table proof of
/// `2^degree_bits(inputs.len())` rows.
///
/// # Errors
/// What starky's prover returns (it does not fail on an honestly generated trace).
pub fn prove_permutations(inputs: &[[u64; NUM_LANES]]) -> Result<PermutationProof> {
    let stark = PermutationStark::new();
    let trace = stark.generate_trace(inputs);
    starky::prover::prove::<F, Cfg, _, D>(
        stark,
        &stark_config(),
        trace,
        &[],
        None,
        &mut TimingTree::default(),
    )
}

/// Verifies a table proof natively.
///
/// # Errors
/// The proof does not verify.
pub fn verify_permutations(proof: PermutationProof) -> Result<()> {
    starky::verifier::verify_stark_proof(PermutationStark::new(), proof, &stark_config(), None)
}

/// A plonky2 circuit (standard recursion config) that verifies one table proof of exactly
/// `2^degree_bits` rows with starky's recursive verifier: challenges recomputed in circuit,
/// constraints evaluated at the out-of-domain point, FRI checked.
pub struct PermutationVerifierCircuit {
    /// The built circuit.
    pub data: CircuitData<F, Cfg, D>,
    /// Gates before padding to a power of two.
    pub rows: usize,
    proof: StarkProofWithPublicInputsTarget<D>,
    zero: plonky2::iop::target::Target,
    degree_bits: usize,
}

impl PermutationVerifierCircuit {
    /// Builds the verifier of `2^degree_bits`-row table proofs.
    pub fn build(degree_bits: usize) -> Self {
        let config = stark_config();
        let stark = PermutationStark::new();
        let mut b = CircuitBuilder::<F, D>::new(CircuitConfig::standard_recursion_config());
        let proof = add_virtual_stark_proof_with_pis(&mut b, &stark, &config, degree_bits, 0, 0);
        verify_stark_proof_circuit::<F, Cfg, _, D>(&mut b, stark, proof.clone(), &config, None);
        let zero = b.zero();
        let rows = b.num_gates();
        Self { data: b.build::<Cfg>(), rows, proof, zero, degree_bits }
    }

    /// Proves that `proof` verifies.
    ///
    /// # Errors
    /// `proof` is for another number of rows, or it does not verify: the circuit's witness is
    /// then unsatisfiable and plonky2's witness generation fails, by an error or by a panic
    /// of one of its generators (e.g. the grinding check's bit split), which is caught here and
    /// returned as an error.
    pub fn prove(&self, proof: &PermutationProof) -> Result<Proof> {
        let bits = proof.proof.recover_degree_bits(&stark_config());
        ensure!(
            bits == self.degree_bits,
            "table proof has 2^{bits} rows, this verifier takes 2^{}",
            self.degree_bits
        );
        let mut pw = PartialWitness::new();
        set_stark_proof_with_pis_target(&mut pw, &self.proof, proof, self.degree_bits, self.zero)?;
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.data.prove(pw)))
            .map_err(|_| anyhow!("the table proof does not verify: witness generation panicked"))?
    }
}
