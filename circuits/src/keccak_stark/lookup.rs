//! The table side of the keccak-f\[1600\] permutation lookup (issue 3; the argument and its
//! soundness count are in `circuits/docs/keccak-lookup.md`).
//!
//! A *lookup* is a pair (input state, output state) of one keccak-f\[1600\] that a plonky2
//! circuit uses without computing it. Its [`tuple()`] is the two states as 100 32-bit limbs.
//! The permutation table proves each distinct input once, with a multiplicity, and the claim
//! "every lookup is a row of the table" is the LogUp identity, for each challenge pair
//! `(β, γ)` of a [`GrandProductChallengeSet`]:
//!
//! ```text
//!   Σ_{lookups ℓ} 1 / (γ + Σ_i β^i · tuple(ℓ)_i)  =  Σ_{rows r, round 23} m_r / (γ + Σ_i β^i · tuple(r)_i)
//! ```
//!
//! The right side is a starky cross-table-lookup sum of the table with no looking table
//! ([`lookup_ctl`]): starky commits its running-sum column with the trace's other auxiliary
//! columns, constrains it row by row, and opens its value on the first row (`ctl_zs_first`).
//! The left side is computed by whoever holds the lookups (natively here, [`lookup_sums`]; in
//! the aggregation circuit later) and enters starky's check as the "extra looking sum".
//!
//! # Transcript
//! The challenges are drawn from a challenger that first absorbs `seed`, the commitment to
//! the list of lookups, then the trace's Merkle cap: nothing they constrain can change after
//! they are drawn. The STARK's own challenges follow from the same challenger.

use std::collections::HashMap;

use anyhow::{anyhow, ensure, Result};
use plonky2::field::polynomial::PolynomialValues;
use plonky2::field::types::Field;
use plonky2::fri::oracle::PolynomialBatch;
use plonky2::hash::merkle_tree::MerkleCap;
use plonky2::hash::poseidon::PoseidonHash;
use plonky2::iop::challenger::{Challenger, RecursiveChallenger};
use plonky2::iop::target::Target;
use plonky2::iop::witness::{PartialWitness, WitnessWrite};
use plonky2::plonk::circuit_builder::CircuitBuilder;
use plonky2::plonk::circuit_data::{CircuitConfig, CircuitData};
use plonky2::plonk::config::GenericConfig;
use plonky2::plonk::config::Hasher as _;
use plonky2::util::timing::TimingTree;
use starky::config::StarkConfig;
use starky::cross_table_lookup::{
    get_ctl_data, CrossTableLookup, CtlCheckVars, CtlCheckVarsTarget, TableWithColumns,
};
use starky::lookup::{
    get_grand_product_challenge_set, get_grand_product_challenge_set_target, Column, Filter,
    GrandProductChallengeSet,
};
use starky::proof::{StarkProofWithPublicInputs, StarkProofWithPublicInputsTarget};
use starky::prover::prove_with_commitment;
use starky::recursive_verifier::{
    add_virtual_stark_proof_with_pis, set_stark_proof_with_pis_target,
    verify_stark_proof_with_challenges_circuit,
};
use starky::verifier::verify_stark_proof_with_challenges;

use super::layout::{
    a_chi_lane0_bit, a_chi_limb, input_limb, round_flag, LANE_BITS, LIMB_BITS, MULTIPLICITY,
    NUM_LANES, NUM_ROUNDS,
};
use super::KeccakPermutationStark;
use crate::keccak::native::{keccak_f_native, ROUND_CONSTANTS};
use crate::mapreduce::{Cfg, Proof, D, F};

/// Limbs of a lookup tuple: the input state's 50 limbs, then the output state's.
pub const TUPLE_LEN: usize = 4 * NUM_LANES;

/// Challenge pairs `(β, γ)` of the lookup, each in Goldilocks. One pair fails to catch a false
/// claim with probability at most `N · TUPLE_LEN / p` for `N` lookup and table terms
/// (Schwartz–Zippel; `p ≈ 2^64`): `2^-33.4` for `N ≤ 2^24`, so three independent pairs give
/// `2^-100`.
pub const NUM_LOOKUP_CHALLENGES: usize = 3;

/// A keccak-f\[1600\] pair: (input state, output state), lanes `x + 5y`.
pub type PermutationPair = ([u64; NUM_LANES], [u64; NUM_LANES]);

/// The table in its lookup role.
pub type LookupStark = KeccakPermutationStark<F, D>;

/// A proof of the table with its lookup sum.
pub type LookupTableProof = StarkProofWithPublicInputs<F, Cfg, D>;

/// The STARK parameters of the lookup table: starky's `standard_fast_config` (blowup 2, 84
/// queries, 16 grinding bits: 100 conjectured bits) with [`NUM_LOOKUP_CHALLENGES`] challenge
/// sets instead of 2, since the lookup's challenges are base-field elements.
pub fn lookup_config() -> StarkConfig {
    let mut config = StarkConfig::standard_fast_config();
    config.num_challenges = NUM_LOOKUP_CHALLENGES;
    config
}

/// The 100 limbs of a pair: lane `l`'s low then high 32 bits, input lanes first.
pub fn tuple((input, output): &PermutationPair) -> [u64; TUPLE_LEN] {
    let mut t = [0u64; TUPLE_LEN];
    for (l, lane) in input.iter().chain(output).enumerate() {
        t[2 * l] = lane & 0xffff_ffff;
        t[2 * l + 1] = lane >> 32;
    }
    t
}

/// The table's side as a starky cross-table lookup into table 0, with no looking table: the
/// columns are the input-state limbs and the output-state limbs of a round-23 row (lane 0 of
/// the output is `A''[0][0]` with round 23's ι, linear in its bits since the round constant
/// is fixed), the filter is `flag_23 · multiplicity`.
pub fn lookup_ctl() -> CrossTableLookup<F> {
    let mut columns: Vec<Column<F>> = Vec::with_capacity(TUPLE_LEN);
    for lane in 0..NUM_LANES {
        columns.extend((0..2).map(|j| Column::single(input_limb(lane, j))));
    }
    let rc = ROUND_CONSTANTS[NUM_ROUNDS - 1];
    for j in 0..2 {
        // Σ_k 2^k · (rc bit ? 1 − b : b).
        let mut constant = 0u64;
        let terms = (0..LIMB_BITS).map(|k| {
            let z = LIMB_BITS * j + k;
            if (rc >> z) & 1 == 1 {
                constant += 1 << k;
                (a_chi_lane0_bit(z), F::NEG_ONE * F::from_canonical_u64(1 << k))
            } else {
                (a_chi_lane0_bit(z), F::from_canonical_u64(1 << k))
            }
        });
        let terms: Vec<_> = terms.collect();
        columns
            .push(Column::linear_combination_with_constant(terms, F::from_canonical_u64(constant)));
    }
    for lane in 1..NUM_LANES {
        columns.extend((0..2).map(|j| Column::single(a_chi_limb(lane, j))));
    }
    debug_assert_eq!(columns.len(), TUPLE_LEN);
    const { assert!(LANE_BITS == 2 * LIMB_BITS) };
    let filter = Filter::new(
        vec![(Column::single(round_flag(NUM_ROUNDS - 1)), Column::single(MULTIPLICITY))],
        vec![],
    );
    CrossTableLookup::new(vec![], TableWithColumns::new(0, columns, filter))
}

/// The distinct inputs of `lookups` in first-seen order, with how often each occurs.
pub fn multiplicities(lookups: &[[u64; NUM_LANES]]) -> (Vec<[u64; NUM_LANES]>, Vec<u64>) {
    let mut index: HashMap<[u64; NUM_LANES], usize> = HashMap::new();
    let (mut inputs, mut counts) = (Vec::new(), Vec::new());
    for input in lookups {
        let i = *index.entry(*input).or_insert_with(|| {
            inputs.push(*input);
            counts.push(0);
            inputs.len() - 1
        });
        counts[i] += 1;
    }
    (inputs, counts)
}

/// The pairs of `inputs` (one keccak-f each, natively).
pub fn pairs_of(inputs: &[[u64; NUM_LANES]]) -> Vec<PermutationPair> {
    inputs
        .iter()
        .map(|input| {
            let mut output = *input;
            keccak_f_native(&mut output);
            (*input, output)
        })
        .collect()
}

type Hasher = <Cfg as GenericConfig<D>>::Hasher;

/// The transcript up to the lookup challenges: `seed`, then the trace's Merkle cap.
fn challenger_after(seed: &[F], trace_cap: &MerkleCap<F, Hasher>) -> Challenger<F, Hasher> {
    let mut challenger = Challenger::new();
    challenger.observe_elements(seed);
    challenger.observe_cap(trace_cap);
    challenger
}

/// Proves the table for the lookups whose inputs are `lookups` (repeats allowed: each distinct
/// input is one permutation of the table, its count the multiplicity), its challenges seeded
/// with `seed`.
///
/// # Errors
/// What starky's prover returns.
pub fn prove_lookup_table(seed: &[F], lookups: &[[u64; NUM_LANES]]) -> Result<LookupTableProof> {
    let (inputs, counts) = multiplicities(lookups);
    prove_table_with_multiplicities(seed, &inputs, &counts)
}

/// [`prove_lookup_table`] for given distinct `inputs` and their `counts` (tests use it to
/// claim wrong multiplicities).
///
/// # Errors
/// What starky's prover returns.
pub fn prove_table_with_multiplicities(
    seed: &[F],
    inputs: &[[u64; NUM_LANES]],
    counts: &[u64],
) -> Result<LookupTableProof> {
    let stark = LookupStark::with_lookup();
    let trace = stark.generate_trace_with_multiplicities(inputs, counts);
    prove_trace(seed, trace)
}

/// Proves a given trace (tests use it for tampered traces).
pub(crate) fn prove_trace(seed: &[F], trace: Vec<PolynomialValues<F>>) -> Result<LookupTableProof> {
    let stark = LookupStark::with_lookup();
    let config = lookup_config();
    let mut timing = TimingTree::default();
    let commitment = PolynomialBatch::<F, Cfg, D>::from_values(
        trace.clone(),
        config.fri_config.rate_bits,
        false,
        config.fri_config.cap_height,
        &mut timing,
        None,
    );
    let mut challenger = challenger_after(seed, &commitment.merkle_tree.cap);
    let ctls = [lookup_ctl()];
    let (ctl_challenges, ctl_data) = get_ctl_data::<F, Cfg, D, 1>(
        &config,
        std::array::from_ref(&trace),
        &ctls,
        &mut challenger,
        3,
    );
    // starky's verifier absorbs the config before the proof's own challenges; so must we.
    config.observe(&mut challenger);
    prove_with_commitment(
        &stark,
        &config,
        &trace,
        &commitment,
        Some(&ctl_data[0]),
        Some(&ctl_challenges),
        &mut challenger,
        &[],
        None,
        None,
        &mut timing,
    )
}

/// What a verified table proof claims: its challenges and, per challenge pair, the table's
/// sum `Σ m_r / (γ + Σ β^i tuple(r)_i)`.
#[derive(Clone, Debug)]
pub struct TableClaim {
    /// The challenge pairs, drawn after `seed` and the trace cap.
    pub challenges: GrandProductChallengeSet<F>,
    /// The table's sum for each pair.
    pub sums: Vec<F>,
}

/// Verifies a table proof whose challenges are seeded with `seed`, and returns its claim.
///
/// # Errors
/// The proof does not verify for `seed` (including a proof made under another seed, whose
/// sum column then fails its constraints at the drawn challenges).
pub fn verify_lookup_table(seed: &[F], proof: &LookupTableProof) -> Result<TableClaim> {
    let stark = LookupStark::with_lookup();
    let config = lookup_config();
    let proof = &proof.proof;
    let mut challenger = challenger_after(seed, &proof.trace_cap);
    let ctls = [lookup_ctl()];
    let ctl_challenges = get_grand_product_challenge_set(&mut challenger, config.num_challenges);
    let (total_helpers, _, helpers_by_ctl) =
        CrossTableLookup::num_ctl_helpers_zs_all(&ctls, 0, config.num_challenges, 3);
    let ctl_vars = CtlCheckVars::from_proof(
        0,
        proof,
        &ctls,
        &ctl_challenges,
        0,
        total_helpers,
        &helpers_by_ctl,
    );
    let challenges = proof.get_challenges(
        &stark,
        &[],
        &mut challenger,
        Some(&ctl_challenges),
        Some(&ctl_vars),
        true,
        &config,
        None,
    );
    verify_stark_proof_with_challenges(&stark, proof, &challenges, Some(&ctl_vars), &[], &config)?;
    let sums = proof
        .openings
        .ctl_zs_first
        .clone()
        .ok_or_else(|| anyhow!("the table proof opens no lookup sum"))?;
    ensure!(sums.len() == config.num_challenges, "{} lookup sums", sums.len());
    Ok(TableClaim { challenges: ctl_challenges, sums })
}

/// The lookups' side: `Σ_ℓ 1 / (γ + Σ_i β^i tuple(ℓ)_i)` for each challenge pair.
///
/// # Errors
/// A denominator is zero (probability about `N / 2^64` for honest data; the lookup cannot be
/// checked under these challenges).
pub fn lookup_sums(
    challenges: &GrandProductChallengeSet<F>,
    pairs: &[PermutationPair],
) -> Result<Vec<F>> {
    challenges
        .challenges
        .iter()
        .map(|ch| {
            pairs.iter().try_fold(F::ZERO, |acc, pair| {
                let t = tuple(pair);
                let combined = t
                    .iter()
                    .rev()
                    .fold(F::ZERO, |h, &limb| h * ch.beta + F::from_canonical_u64(limb))
                    + ch.gamma;
                let inv = combined.try_inverse().ok_or_else(|| anyhow!("a zero denominator"))?;
                Ok(acc + inv)
            })
        })
        .collect()
}

/// Checks that every pair of `pairs` is a row of the table `proof` proves under `seed`, with
/// the multiplicities balancing: the proof verifies and, for every challenge pair, the
/// lookups' sum equals the table's (what starky's `verify_cross_table_lookups` checks, the
/// lookups' sums being its "extra looking sums").
///
/// # Errors
/// The proof does not verify, or a sum does not balance.
pub fn check_lookups(
    seed: &[F],
    proof: &LookupTableProof,
    pairs: &[PermutationPair],
) -> Result<()> {
    let claim = verify_lookup_table(seed, proof)?;
    let looking = lookup_sums(&claim.challenges, pairs)?;
    for (k, (l, t)) in looking.iter().zip(&claim.sums).enumerate() {
        ensure!(l == t, "the lookup sums do not balance for challenge pair {k}");
    }
    Ok(())
}

/// The commitment to a list of lookups: Poseidon (`hash_no_pad`) over their tuples in order,
/// each limb one element. What seeds the challenges ([`prove_lookup_table`]'s `seed`); in the
/// aggregation, the leaves' `H_L`.
pub fn lookups_commitment(pairs: &[PermutationPair]) -> [F; 4] {
    let flat: Vec<F> = pairs.iter().flat_map(|p| tuple(p).map(F::from_canonical_u64)).collect();
    PoseidonHash::hash_no_pad(&flat).elements
}

/// A plonky2 circuit (standard recursion config) that checks `num_lookups` lookups against a
/// table proof of `2^degree_bits` rows, as the aggregation circuit will: it commits to the
/// lookups ([`lookups_commitment`], the circuit's 4 public inputs), verifies the table proof
/// with starky's recursive verifier under challenges drawn from a challenger that absorbs
/// that commitment and then the proof's trace cap, and connects the lookups' LogUp sum (each
/// inverse a witness constrained by `u · h = 1`) to the table's opened sum, for every
/// challenge pair.
pub struct LookupCheckCircuit {
    /// The built circuit.
    pub data: CircuitData<F, Cfg, D>,
    /// Gates before padding to a power of two.
    pub rows: usize,
    proof: StarkProofWithPublicInputsTarget<D>,
    tuples: Vec<Vec<Target>>,
    zero: Target,
    degree_bits: usize,
}

impl LookupCheckCircuit {
    /// Builds the check of `num_lookups` lookups against `2^degree_bits`-row table proofs.
    pub fn build(degree_bits: usize, num_lookups: usize) -> Self {
        let config = lookup_config();
        let stark = LookupStark::with_lookup();
        let ctls = [lookup_ctl()];
        let (helpers, zs, helpers_by_ctl) =
            CrossTableLookup::num_ctl_helpers_zs_all(&ctls, 0, config.num_challenges, 3);
        let mut b = CircuitBuilder::<F, D>::new(CircuitConfig::standard_recursion_config());
        // The auxiliary oracle holds the CTL helper columns and the sum columns.
        let proof = add_virtual_stark_proof_with_pis(
            &mut b,
            &stark,
            &config,
            degree_bits,
            helpers + zs,
            zs,
        );
        let tuples: Vec<Vec<Target>> =
            (0..num_lookups).map(|_| b.add_virtual_targets(TUPLE_LEN)).collect();
        let flat: Vec<Target> = tuples.iter().flatten().copied().collect();
        let commitment = b.hash_n_to_hash_no_pad::<PoseidonHash>(flat);
        b.register_public_inputs(&commitment.elements);

        let mut challenger = RecursiveChallenger::<F, Hasher, D>::new(&mut b);
        challenger.observe_elements(&commitment.elements);
        challenger.observe_cap(&proof.proof.trace_cap);
        let ctl_challenges =
            get_grand_product_challenge_set_target(&mut b, &mut challenger, config.num_challenges);
        let ctl_vars = CtlCheckVarsTarget::from_proof(
            0,
            &proof.proof,
            &ctls,
            &ctl_challenges,
            0,
            helpers,
            &helpers_by_ctl,
        );
        let challenges = proof.proof.get_challenges::<F, Cfg, _>(
            &mut b,
            &stark,
            &[],
            &mut challenger,
            Some(&ctl_challenges),
            Some(&ctl_vars),
            degree_bits,
            true,
            &config,
        );
        verify_stark_proof_with_challenges_circuit::<F, Cfg, _, D>(
            &mut b,
            &stark,
            &proof.proof,
            &[],
            challenges,
            Some(&ctl_vars),
            &config,
            degree_bits,
            None,
        );
        let table_sums =
            proof.proof.openings.ctl_zs_first.clone().expect("a lookup table opens its sums");
        for (ch, &table_sum) in ctl_challenges.challenges.iter().zip(&table_sums) {
            let mut sum = b.zero();
            for t in &tuples {
                let h = ch.combine_base_circuit(&mut b, t);
                let inv = b.inverse(h);
                sum = b.add(sum, inv);
            }
            b.connect(sum, table_sum);
        }
        let zero = b.zero();
        let rows = b.num_gates();
        Self { data: b.build::<Cfg>(), rows, proof, tuples, zero, degree_bits }
    }

    /// Proves that `pairs` are rows of the table `proof` proves, under challenges seeded with
    /// the pairs' commitment.
    ///
    /// # Errors
    /// Another number of lookups or rows, or a check that fails: plonky2's witness generation
    /// then fails, by an error or by a panic of one of its generators, which is caught here
    /// and returned as an error.
    pub fn prove(&self, proof: &LookupTableProof, pairs: &[PermutationPair]) -> Result<Proof> {
        ensure!(
            pairs.len() == self.tuples.len(),
            "{} lookups for {}",
            pairs.len(),
            self.tuples.len()
        );
        let bits = proof.proof.recover_degree_bits(&lookup_config());
        ensure!(
            bits == self.degree_bits,
            "table proof of 2^{bits} rows for 2^{}",
            self.degree_bits
        );
        let mut pw = PartialWitness::new();
        set_stark_proof_with_pis_target(&mut pw, &self.proof, proof, self.degree_bits, self.zero)?;
        for (targets, pair) in self.tuples.iter().zip(pairs) {
            for (&t, limb) in targets.iter().zip(tuple(pair)) {
                pw.set_target(t, F::from_canonical_u64(limb))?;
            }
        }
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.data.prove(pw)))
            .map_err(|_| anyhow!("the lookup check fails: witness generation panicked"))?
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keccak::native::keccak256_permutation_inputs;
    use crate::keccak_stark::layout::a_chi_limb;
    use plonky2::field::types::PrimeField64;

    fn seed(x: u64) -> Vec<F> {
        (0..4).map(|i| F::from_canonical_u64(x + i)).collect()
    }

    /// The permutation inputs of four messages, one of them twice (so one input has
    /// multiplicity 2), one of 137 bytes (two blocks).
    fn lookups() -> Vec<[u64; NUM_LANES]> {
        let mut out = Vec::new();
        for m in [&b"annals"[..], &[7u8; 137], &b"annals"[..], &[]] {
            out.extend(keccak256_permutation_inputs(m));
        }
        out
    }

    fn honest() -> (Vec<PermutationPair>, LookupTableProof) {
        let inputs = lookups();
        let proof = prove_lookup_table(&seed(1), &inputs).unwrap();
        (pairs_of(&inputs), proof)
    }

    /// `result` is an error; `unbalanced` says whether it must be the sums' (else the proof's).
    fn refused(result: Result<()>, what: &str, unbalanced: bool) {
        let err = result.err().unwrap_or_else(|| panic!("{what} was accepted")).to_string();
        assert_eq!(err.contains("do not balance"), unbalanced, "{what}: {err}");
    }

    #[test]
    fn honest_lookups_balance_with_multiplicities() {
        let inputs = lookups();
        let (distinct, counts) = multiplicities(&inputs);
        assert_eq!(distinct.len(), inputs.len() - 1);
        assert!(counts.contains(&2));
        let (pairs, proof) = honest();
        check_lookups(&seed(1), &proof, &pairs).unwrap();
        // Order does not matter: the lookups are a multiset.
        let reversed: Vec<_> = pairs.iter().rev().copied().collect();
        check_lookups(&seed(1), &proof, &reversed).unwrap();
    }

    #[test]
    fn a_lookup_with_a_wrong_output_does_not_balance() {
        let (mut pairs, proof) = honest();
        pairs[1].1[3] ^= 1 << 40;
        refused(check_lookups(&seed(1), &proof, &pairs), "a wrong output", true);
    }

    #[test]
    fn a_lookup_absent_from_the_table_does_not_balance() {
        let (mut pairs, proof) = honest();
        pairs.extend(pairs_of(&[[5u64; NUM_LANES]]));
        refused(check_lookups(&seed(1), &proof, &pairs), "an input the table lacks", true);
        let (mut pairs, _) = honest();
        pairs.pop();
        refused(check_lookups(&seed(1), &proof, &pairs), "one lookup fewer than counted", true);
    }

    #[test]
    fn a_multiplicity_off_by_one_does_not_balance() {
        let inputs = lookups();
        let (distinct, mut counts) = multiplicities(&inputs);
        counts[0] += 1;
        let proof = prove_table_with_multiplicities(&seed(1), &distinct, &counts).unwrap();
        refused(
            check_lookups(&seed(1), &proof, &pairs_of(&inputs)),
            "a multiplicity off by one",
            true,
        );
    }

    #[test]
    fn challenges_from_another_transcript_are_refused() {
        let (pairs, proof) = honest();
        refused(check_lookups(&seed(2), &proof, &pairs), "a proof made under another seed", false);
        refused(check_lookups(&[], &proof, &pairs), "a proof checked without the seed", false);
    }

    #[test]
    fn a_table_row_with_a_wrong_permutation_is_refused() {
        let inputs = lookups();
        let (distinct, counts) = multiplicities(&inputs);
        let mut trace =
            LookupStark::with_lookup().generate_trace_with_multiplicities(&distinct, &counts);
        // Permutation 0's output lane 3, as its round-23 row states it, changed; the lookups
        // claim that changed output, so only the permutation constraints can object.
        let row = NUM_ROUNDS - 1;
        let col = a_chi_limb(3, 0);
        assert!(trace[col].values[row].to_canonical_u64() < 0xffff_ffff, "no carry");
        trace[col].values[row] += F::ONE;
        let mut pairs = pairs_of(&inputs);
        for pair in pairs.iter_mut().filter(|p| p.0 == distinct[0]) {
            pair.1[3] += 1;
        }
        let result = prove_trace(&seed(1), trace).and_then(|p| check_lookups(&seed(1), &p, &pairs));
        refused(result, "a table row whose output is not keccak-f of its input", false);
    }

    /// The aggregation's check, in circuit: honest lookups prove and verify with the
    /// commitment as public input; a table whose multiplicity is off by one and a table
    /// proven under another seed are refused (the other cases are the native tests').
    #[test]
    fn the_lookup_check_circuit_accepts_exactly_the_balanced_lookups() {
        let inputs = lookups();
        let pairs = pairs_of(&inputs);
        let h = lookups_commitment(&pairs);
        let proof = prove_lookup_table(&h, &inputs).unwrap();
        let bits = proof.proof.recover_degree_bits(&lookup_config());
        let circuit = LookupCheckCircuit::build(bits, pairs.len());
        let p = circuit.prove(&proof, &pairs).unwrap();
        assert_eq!(p.public_inputs, h.to_vec());
        circuit.data.verify(p).unwrap();

        let (distinct, mut counts) = multiplicities(&inputs);
        counts[0] += 1;
        let off = prove_table_with_multiplicities(&h, &distinct, &counts).unwrap();
        assert!(circuit.prove(&off, &pairs).is_err(), "a multiplicity off by one");

        assert!(
            circuit.prove(&prove_lookup_table(&seed(9), &inputs).unwrap(), &pairs).is_err(),
            "a table proven under another seed"
        );
    }
}
