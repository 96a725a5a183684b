//! A plonky2 proof under [`PoseidonBn254GoldilocksConfig`] as R1CS witnesses over BN254 `Fr`,
//! its whole Fiat–Shamir transcript, and the check that its openings at `zeta` are what the
//! committed polynomials evaluate to (the FRI half of the R1CS verifier, issue 6 step 3).
//!
//! The transcript follows plonky2 1.1's `get_challenges` (plonk/get_challenges.rs): FRI
//! parameters, circuit digest, public-inputs hash, wires cap → `betas`, `gammas`; `Z`s and
//! partial-products cap → `alphas`; quotient cap → `zeta`; the openings; then
//! [`fri_challenges_var`]. The openings are split into plonky2's two FRI batches (every
//! polynomial at `zeta`, the `Z`s at `g · zeta`) and checked by [`verify_fri_var`].
//!
//! Not here yet: the vanishing-polynomial check at `zeta` (the gate constraints, the
//! permutation argument and `Z_H(zeta) · quotient = vanishing`), which ties the openings to the
//! circuit. Lookup tables are not supported (the last layer has none).

use super::challenger_var::ChallengerVar;
use super::fri_var::{
    digests_var, ext_vars, fri_challenges_var, verify_fri_var, FriBatchVar, FriChallengesVar,
    FriProofVar,
};
use super::goldilocks::{GoldilocksExtVar, GoldilocksVar};
use super::{Bn254HashOut, PoseidonBn254GoldilocksConfig, PoseidonBn254Hash};
use ark_bn254::Fr;
use ark_r1cs_std::fields::fp::FpVar;
use ark_r1cs_std::fields::FieldVar;
use ark_relations::r1cs::{ConstraintSystemRef, SynthesisError};
use plonky2::field::goldilocks_field::GoldilocksField;
use plonky2::field::types::Field;
use plonky2::fri::structure::FriPolynomialInfo;
use plonky2::fri::FriParams;
use plonky2::hash::merkle_tree::MerkleCap;
use plonky2::plonk::circuit_data::CommonCircuitData;
use plonky2::plonk::proof::Proof;

type Result<T> = core::result::Result<T, SynthesisError>;
type F = GoldilocksField;

/// The claimed values at `zeta` (and the `Z`s at `g · zeta`), plonky2's `OpeningSet` without
/// lookups.
#[derive(Clone, Debug)]
pub struct OpeningSetVar {
    /// Constant polynomials (selectors and gate constants).
    pub constants: Vec<GoldilocksExtVar>,
    /// Permutation sigmas, one per routed wire.
    pub plonk_sigmas: Vec<GoldilocksExtVar>,
    /// Wires.
    pub wires: Vec<GoldilocksExtVar>,
    /// Permutation `Z`s, one per challenge.
    pub plonk_zs: Vec<GoldilocksExtVar>,
    /// The `Z`s at `g · zeta`.
    pub plonk_zs_next: Vec<GoldilocksExtVar>,
    /// Partial products of the permutation argument.
    pub partial_products: Vec<GoldilocksExtVar>,
    /// Quotient chunks (`quotient_degree_factor` per challenge).
    pub quotient_polys: Vec<GoldilocksExtVar>,
}

/// A proof's commitments, openings and FRI proof as witnesses.
#[derive(Clone, Debug)]
pub struct ProofVar {
    /// Merkle cap of the wires' LDE.
    pub wires_cap: Vec<FpVar<Fr>>,
    /// Merkle cap of the `Z`s and partial products.
    pub plonk_zs_partial_products_cap: Vec<FpVar<Fr>>,
    /// Merkle cap of the quotient chunks.
    pub quotient_polys_cap: Vec<FpVar<Fr>>,
    /// The claimed evaluations.
    pub openings: OpeningSetVar,
    /// The batch FRI proof of the openings.
    pub opening_proof: FriProofVar,
}

/// Every challenge of the transcript.
#[derive(Clone, Debug)]
pub struct ProofChallengesVar {
    /// Permutation-argument `beta`s, `num_challenges` of them.
    pub plonk_betas: Vec<GoldilocksVar>,
    /// Permutation-argument `gamma`s.
    pub plonk_gammas: Vec<GoldilocksVar>,
    /// Constraint-combination `alpha`s.
    pub plonk_alphas: Vec<GoldilocksVar>,
    /// The opening point.
    pub plonk_zeta: GoldilocksExtVar,
    /// The FRI challenges.
    pub fri: FriChallengesVar,
}

/// The elements `FriParams::observe` feeds the challenger first (plonky2 1.1, fri/mod.rs):
/// rate bits, cap height, proof-of-work bits, the reduction strategy, query rounds, hiding,
/// degree bits and the reduction arity bits. Constants of the verifier.
pub fn fri_params_elements(p: &FriParams) -> Vec<F> {
    let c = &p.config;
    let mut v = vec![
        F::from_canonical_usize(c.rate_bits),
        F::from_canonical_usize(c.cap_height),
        F::from_canonical_u32(c.proof_of_work_bits),
    ];
    v.extend(c.reduction_strategy.serialize::<F>());
    v.push(F::from_canonical_usize(c.num_query_rounds));
    v.push(F::from_bool(p.hiding));
    v.push(F::from_canonical_usize(p.degree_bits));
    v.extend(p.reduction_arity_bits.iter().map(|&e| F::from_canonical_usize(e)));
    v
}

impl ProofVar {
    /// Allocates `proof` (of a circuit with common data `common`) as witnesses.
    ///
    /// # Panics
    /// If the circuit uses lookup tables or hiding, or the openings' lengths do not match
    /// `common` (the caller proves this circuit's proofs only).
    ///
    /// # Errors
    /// Only [`SynthesisError`]s of the constraint system.
    pub fn new_witness(
        cs: &ConstraintSystemRef<Fr>,
        proof: &Proof<F, PoseidonBn254GoldilocksConfig, 2>,
        common: &CommonCircuitData<F, 2>,
    ) -> Result<Self> {
        assert_eq!(common.num_lookup_polys, 0, "lookup tables are not supported");
        assert!(!common.fri_params.hiding, "hiding proofs are not supported");
        let o = &proof.openings;
        let n = common.config.num_challenges;
        assert_eq!(o.constants.len(), common.num_constants, "constants");
        assert_eq!(o.plonk_sigmas.len(), common.config.num_routed_wires, "sigmas");
        assert_eq!(o.wires.len(), common.config.num_wires, "wires");
        assert_eq!((o.plonk_zs.len(), o.plonk_zs_next.len()), (n, n), "Zs");
        assert_eq!(o.partial_products.len(), n * common.num_partial_products, "partial products");
        assert_eq!(o.quotient_polys.len(), n * common.quotient_degree_factor, "quotient");
        // The FRI proof's shape (plonky2's `validate_fri_proof_shape`): fixed by this
        // allocation, so a malformed proof must not define a weaker circuit.
        let params = &common.fri_params;
        let cap_len = 1 << params.config.cap_height;
        let path_len = params.lde_bits() - params.config.cap_height;
        let f = &proof.opening_proof;
        for cap in
            [&proof.wires_cap, &proof.plonk_zs_partial_products_cap, &proof.quotient_polys_cap]
                .into_iter()
                .chain(&f.commit_phase_merkle_caps)
        {
            assert_eq!(cap.0.len(), cap_len, "cap size");
        }
        assert_eq!(f.commit_phase_merkle_caps.len(), params.reduction_arity_bits.len(), "steps");
        assert_eq!(f.query_round_proofs.len(), params.config.num_query_rounds, "query rounds");
        assert_eq!(f.final_poly.coeffs.len(), params.final_poly_len(), "final polynomial");
        let oracle_sizes = [
            common.num_constants + common.config.num_routed_wires,
            common.config.num_wires,
            n * (1 + common.num_partial_products),
            n * common.quotient_degree_factor,
        ];
        for q in &f.query_round_proofs {
            let initial = &q.initial_trees_proof.evals_proofs;
            assert_eq!(initial.len(), oracle_sizes.len(), "initial oracles");
            for ((leaf, path), size) in initial.iter().zip(oracle_sizes) {
                assert_eq!((leaf.len(), path.siblings.len()), (size, path_len), "initial leaf");
            }
            assert_eq!(q.steps.len(), params.reduction_arity_bits.len(), "query steps");
            let mut step_path = path_len;
            for (s, &arity_bits) in q.steps.iter().zip(&params.reduction_arity_bits) {
                step_path -= arity_bits;
                assert_eq!(s.evals.len(), 1 << arity_bits, "coset size");
                assert_eq!(s.merkle_proof.siblings.len(), step_path, "step path");
            }
        }
        Ok(Self {
            wires_cap: digests_var(cs, &proof.wires_cap.0)?,
            plonk_zs_partial_products_cap: digests_var(cs, &proof.plonk_zs_partial_products_cap.0)?,
            quotient_polys_cap: digests_var(cs, &proof.quotient_polys_cap.0)?,
            openings: OpeningSetVar {
                constants: ext_vars(cs, &o.constants)?,
                plonk_sigmas: ext_vars(cs, &o.plonk_sigmas)?,
                wires: ext_vars(cs, &o.wires)?,
                plonk_zs: ext_vars(cs, &o.plonk_zs)?,
                plonk_zs_next: ext_vars(cs, &o.plonk_zs_next)?,
                partial_products: ext_vars(cs, &o.partial_products)?,
                quotient_polys: ext_vars(cs, &o.quotient_polys)?,
            },
            opening_proof: FriProofVar::new_witness(cs, &proof.opening_proof)?,
        })
    }

    /// The values of the batch at `zeta`, in plonky2's order (constants, sigmas, wires, `Z`s,
    /// partial products, quotient chunks), which is also the order they are observed in.
    fn zeta_batch_values(&self) -> Vec<GoldilocksExtVar> {
        let o = &self.openings;
        [
            &o.constants,
            &o.plonk_sigmas,
            &o.wires,
            &o.plonk_zs,
            &o.partial_products,
            &o.quotient_polys,
        ]
        .into_iter()
        .flatten()
        .cloned()
        .collect()
    }

    /// Replays the transcript (plonky2's `get_challenges`): `public_inputs_hash` is the
    /// Goldilocks Poseidon digest of the public inputs (four elements; the caller must bind
    /// them to the public inputs with
    /// [`goldilocks_hash_no_pad_var`](super::poseidon_goldilocks_var::goldilocks_hash_no_pad_var)),
    /// `circuit_digest` the verifier data's digest (a constant of the circuit).
    ///
    /// # Errors
    /// Only [`SynthesisError`]s; an insufficient proof of work makes the system unsatisfied.
    pub fn challenges(
        &self,
        public_inputs_hash: &[GoldilocksVar; 4],
        circuit_digest: &Bn254HashOut,
        common: &CommonCircuitData<F, 2>,
    ) -> Result<ProofChallengesVar> {
        let n = common.config.num_challenges;
        let mut c = ChallengerVar::new();
        for e in fri_params_elements(&common.fri_params) {
            c.observe_element(&GoldilocksVar::constant(e))?;
        }
        c.observe_bn254_hash(&FpVar::constant(circuit_digest.to_fr()))?;
        c.observe_elements(public_inputs_hash)?;
        c.observe_cap(&self.wires_cap)?;
        let plonk_betas = c.get_n_challenges(n)?;
        let plonk_gammas = c.get_n_challenges(n)?;
        c.observe_cap(&self.plonk_zs_partial_products_cap)?;
        let plonk_alphas = c.get_n_challenges(n)?;
        c.observe_cap(&self.quotient_polys_cap)?;
        let plonk_zeta = c.get_extension_challenge()?;
        for v in self.zeta_batch_values().iter().chain(&self.openings.plonk_zs_next) {
            c.observe_extension_element(v)?;
        }
        let fri = fri_challenges_var(&mut c, &self.opening_proof, &common.fri_params)?;
        Ok(ProofChallengesVar { plonk_betas, plonk_gammas, plonk_alphas, plonk_zeta, fri })
    }

    /// Checks the openings against the four committed oracles by FRI (plonky2's
    /// `verify_fri_proof` with the instance of `CommonCircuitData::get_fri_instance`): every
    /// polynomial at `zeta`, the `Z`s also at `g · zeta` (`g` generating the trace domain).
    /// `constants_sigmas_cap` is the verifier data's cap (constants of the circuit);
    /// `challenges` must be this proof's, from [`ProofVar::challenges`].
    ///
    /// # Errors
    /// Only [`SynthesisError`]s; openings the commitments do not support make the system
    /// unsatisfied.
    pub fn verify_openings(
        &self,
        challenges: &ProofChallengesVar,
        constants_sigmas_cap: &MerkleCap<F, PoseidonBn254Hash>,
        common: &CommonCircuitData<F, 2>,
    ) -> Result<()> {
        let n = common.config.num_challenges;
        let oracle = |index, len| FriPolynomialInfo::from_range(index, 0..len);
        let all_polys = [
            oracle(0, common.num_constants + common.config.num_routed_wires),
            oracle(1, common.config.num_wires),
            oracle(2, n * (1 + common.num_partial_products)),
            oracle(3, n * common.quotient_degree_factor),
        ]
        .concat();
        let zeta = &challenges.plonk_zeta;
        let g = F::primitive_root_of_unity(common.degree_bits());
        let zeta_next = GoldilocksExtVar([
            zeta.0[0].mul(&GoldilocksVar::constant(g))?,
            zeta.0[1].mul(&GoldilocksVar::constant(g))?,
        ]);
        let batches = [
            FriBatchVar {
                point: zeta.clone(),
                polynomials: all_polys,
                values: self.zeta_batch_values(),
            },
            FriBatchVar {
                point: zeta_next,
                polynomials: oracle(2, n),
                values: self.openings.plonk_zs_next.clone(),
            },
        ];
        let initial_caps = [
            constants_sigmas_cap.0.iter().map(|h| FpVar::constant(h.to_fr())).collect(),
            self.wires_cap.clone(),
            self.plonk_zs_partial_products_cap.clone(),
            self.quotient_polys_cap.clone(),
        ];
        verify_fri_var(
            &batches,
            &challenges.fri,
            &initial_caps,
            &self.opening_proof,
            &common.fri_params,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ark_relations::r1cs::ConstraintSystem;
    use plonky2::field::types::Sample;
    use plonky2::fri::reduction_strategies::FriReductionStrategy;
    use plonky2::fri::FriConfig;
    use plonky2::gates::noop::NoopGate;
    use plonky2::iop::witness::{PartialWitness, WitnessWrite};
    use plonky2::plonk::circuit_builder::CircuitBuilder;
    use plonky2::plonk::circuit_data::{CircuitConfig, CircuitData};
    use plonky2::plonk::config::GenericHashOut;
    use plonky2::plonk::proof::ProofWithPublicInputs;

    type C = PoseidonBn254GoldilocksConfig;
    type E = plonky2::field::extension::quadratic::QuadraticExtension<F>;

    /// A circuit of `2^degree_bits` rows (an exponentiation and padding) under `config`, and
    /// one proof.
    fn prove(
        config: CircuitConfig,
        rows: usize,
    ) -> (CircuitData<F, C, 2>, ProofWithPublicInputs<F, C, 2>) {
        let mut b = CircuitBuilder::<F, 2>::new(config);
        let x = b.add_virtual_target();
        let y = b.exp_u64(x, 5);
        b.register_public_input(y);
        for _ in 0..rows {
            b.add_gate(NoopGate, vec![]);
        }
        let data = b.build::<C>();
        let mut pw = PartialWitness::new();
        pw.set_target(x, F::from_canonical_u64(3)).unwrap();
        let proof = data.prove(pw).unwrap();
        (data, proof)
    }

    /// Replays the transcript and checks the openings in a fresh constraint system: whether it
    /// is satisfied, its size, and the challenges' values.
    fn check(
        data: &CircuitData<F, C, 2>,
        proof: &ProofWithPublicInputs<F, C, 2>,
    ) -> (bool, usize, ChallengeValues) {
        let cs = ConstraintSystem::<Fr>::new_ref();
        let pis_hash = proof.get_public_inputs_hash();
        let pis: [GoldilocksVar; 4] = core::array::from_fn(|i| {
            GoldilocksVar::new_witness(&cs, Some(pis_hash.elements[i])).unwrap()
        });
        let p = ProofVar::new_witness(&cs, &proof.proof, &data.common).unwrap();
        let ch = p.challenges(&pis, &data.verifier_only.circuit_digest, &data.common).unwrap();
        p.verify_openings(&ch, &data.verifier_only.constants_sigmas_cap, &data.common).unwrap();
        let bits = |b: &Vec<ark_r1cs_std::boolean::Boolean<Fr>>| {
            b.iter().enumerate().map(|(i, b)| usize::from(b.value().unwrap()) << i).sum::<usize>()
        };
        let values = ChallengeValues {
            zeta: ch.plonk_zeta.value().unwrap(),
            alpha: ch.fri.alpha.value().unwrap(),
            betas: ch.fri.betas.iter().map(|b| b.value().unwrap()).collect(),
            indices: ch.fri.query_index_bits.iter().map(bits).collect(),
        };
        (cs.is_satisfied().unwrap(), cs.num_constraints(), values)
    }

    use ark_r1cs_std::R1CSVar;

    /// The honest proof's transcript, then `bad`'s openings and FRI proof checked against those
    /// challenges and `cap` as the constants-and-sigmas cap: tampering here reaches the
    /// combination, folding and final-polynomial constraints, which a changed transcript (and
    /// the proof of work and Merkle paths it moves) would otherwise shadow.
    fn check_fixed_transcript(
        data: &CircuitData<F, C, 2>,
        honest: &ProofWithPublicInputs<F, C, 2>,
        bad: &ProofWithPublicInputs<F, C, 2>,
        cap: &MerkleCap<F, PoseidonBn254Hash>,
    ) -> bool {
        let cs = ConstraintSystem::<Fr>::new_ref();
        let h = honest.get_public_inputs_hash();
        let pis: [GoldilocksVar; 4] =
            core::array::from_fn(|i| GoldilocksVar::new_witness(&cs, Some(h.elements[i])).unwrap());
        let honest_var = ProofVar::new_witness(&cs, &honest.proof, &data.common).unwrap();
        let ch =
            honest_var.challenges(&pis, &data.verifier_only.circuit_digest, &data.common).unwrap();
        let bad_var = ProofVar::new_witness(&cs, &bad.proof, &data.common).unwrap();
        bad_var.verify_openings(&ch, cap, &data.common).unwrap();
        cs.is_satisfied().unwrap()
    }

    #[derive(Debug, PartialEq)]
    struct ChallengeValues {
        zeta: E,
        alpha: E,
        betas: Vec<E>,
        indices: Vec<usize>,
    }

    fn native_challenges(
        data: &CircuitData<F, C, 2>,
        proof: &ProofWithPublicInputs<F, C, 2>,
    ) -> ChallengeValues {
        let ch = proof
            .get_challenges(
                proof.get_public_inputs_hash(),
                &data.verifier_only.circuit_digest,
                &data.common,
            )
            .unwrap();
        ChallengeValues {
            zeta: ch.plonk_zeta,
            alpha: ch.fri_challenges.fri_alpha,
            betas: ch.fri_challenges.fri_betas,
            indices: ch.fri_challenges.fri_query_indices,
        }
    }

    /// A small configuration for the tamper tests: two query rounds, arity-4 folding, cap
    /// height 1 (so the cap entry is selected by index bits), real 16-bit proof of work. Its
    /// conjectured security is `3 · 2 + 16 = 22` bits: a test shape, not a configuration.
    fn small_config() -> CircuitConfig {
        CircuitConfig {
            security_bits: 22,
            fri_config: FriConfig {
                rate_bits: 3,
                cap_height: 1,
                proof_of_work_bits: 16,
                reduction_strategy: FriReductionStrategy::ConstantArityBits(2, 2),
                num_query_rounds: 2,
            },
            ..CircuitConfig::standard_recursion_config()
        }
    }

    /// The standard recursion configuration (28 queries, cap height 4, arity-16 folding) on a
    /// 2^10-row circuit: two folding steps. The R1CS replays plonky2's challenges and is
    /// satisfied by the real proof.
    #[test]
    fn a_real_standard_config_proof_satisfies_the_fri_check() {
        let (data, proof) = prove(CircuitConfig::standard_recursion_config(), 900);
        assert_eq!(data.common.fri_params.reduction_arity_bits, vec![4, 4]);
        data.verify(proof.clone()).unwrap();
        let (ok, constraints, got) = check(&data, &proof);
        eprintln!("transcript + FRI check, standard config, 2^10 rows: {constraints} constraints");
        assert_eq!(got, native_challenges(&data, &proof));
        assert!(ok, "the R1CS rejects a proof plonky2 accepts");
    }

    /// The wrap's last-layer FRI shape (`chain::last_layer_config`: rate 1/64, 14 queries, 16 proof-of-work bits,
    /// cap height 0 so each cap is one digest) on a 2^7-row circuit: satisfied by a real proof,
    /// challenges equal plonky2's.
    #[test]
    fn the_last_layer_fri_shape_is_checked() {
        let config = super::super::chain::last_layer_config();
        let (data, proof) = prove(config, 100);
        assert_eq!(data.common.fri_params.reduction_arity_bits, vec![4]);
        let (ok, constraints, got) = check(&data, &proof);
        eprintln!("transcript + FRI check, last-layer shape, 2^7 rows: {constraints} constraints");
        assert_eq!(got, native_challenges(&data, &proof));
        assert!(ok);
    }

    /// Tampering with any part of a real proof that FRI reads: plonky2 rejects it, and so does
    /// the R1CS (unsatisfied). The untampered proof satisfies it.
    #[test]
    fn tampered_proofs_are_rejected_like_plonky2_does() {
        let (data, proof) = prove(small_config(), 40);
        assert_eq!(data.common.fri_params.reduction_arity_bits.len(), 2, "two folding steps");
        let (ok, constraints, got) = check(&data, &proof);
        eprintln!("transcript + FRI check, 2 queries: {constraints} constraints");
        assert_eq!(got, native_challenges(&data, &proof));
        assert!(ok);

        type Tamper = fn(&mut ProofWithPublicInputs<F, C, 2>);
        let tampers: [(&str, Tamper); 8] = [
            ("an initial Merkle sibling", |p| {
                p.proof.opening_proof.query_round_proofs[0].initial_trees_proof.evals_proofs[1]
                    .1
                    .siblings[0] = Bn254HashOut::from_bytes(&[7u8; 32]);
            }),
            ("an opened LDE value", |p| {
                p.proof.opening_proof.query_round_proofs[1].initial_trees_proof.evals_proofs[3]
                    .0[0] += F::ONE;
            }),
            ("a wire opening at zeta", |p| p.proof.openings.wires[0] += E::ONE),
            ("a Z opening at g·zeta", |p| p.proof.openings.plonk_zs_next[0] += E::ONE),
            ("a final-polynomial coefficient", |p| {
                p.proof.opening_proof.final_poly.coeffs[0] += E::ONE;
            }),
            ("a folding step's coset value", |p| {
                p.proof.opening_proof.query_round_proofs[0].steps[1].evals[0] += E::ONE;
            }),
            ("the proof-of-work witness", |p| p.proof.opening_proof.pow_witness += F::ONE),
            ("a commit-phase cap", |p| {
                p.proof.opening_proof.commit_phase_merkle_caps[0].0[0] =
                    Bn254HashOut::from_bytes(&[9u8; 32]);
            }),
        ];
        for (what, tamper) in tampers {
            let mut bad = proof.clone();
            tamper(&mut bad);
            assert!(data.verify(bad.clone()).is_err(), "plonky2 accepts {what}");
            assert!(!check(&data, &bad).0, "the R1CS accepts {what}");
        }
        // With the honest transcript fixed: the arithmetic of the check rejects a changed
        // opening or final polynomial (the Merkle paths and the proof of work still pass), a
        // commit-phase sibling, and another circuit's constants-and-sigmas cap.
        let cap = &data.verifier_only.constants_sigmas_cap;
        assert!(check_fixed_transcript(&data, &proof, &proof, cap), "the control");
        let fixed: [(&str, Tamper); 5] = [
            ("a wire opening at zeta", |p| p.proof.openings.wires[3] += E::ONE),
            ("a quotient opening at zeta", |p| p.proof.openings.quotient_polys[1] += E::ONE),
            ("a Z opening at g·zeta", |p| p.proof.openings.plonk_zs_next[1] += E::ONE),
            ("a final-polynomial coefficient", |p| {
                p.proof.opening_proof.final_poly.coeffs[1] += E::ONE;
            }),
            ("a commit-phase Merkle sibling", |p| {
                p.proof.opening_proof.query_round_proofs[1].steps[0].merkle_proof.siblings[0] =
                    Bn254HashOut::from_bytes(&[5u8; 32]);
            }),
        ];
        for (what, tamper) in fixed {
            let mut bad = proof.clone();
            tamper(&mut bad);
            assert!(!check_fixed_transcript(&data, &proof, &bad, cap), "fixed transcript: {what}");
        }
        // Every entry replaced: which entry a query reads depends on its (random) index.
        let mut other_cap = cap.clone();
        for h in other_cap.0.iter_mut() {
            *h = Bn254HashOut::from_bytes(&[3u8; 32]);
        }
        assert!(!check_fixed_transcript(&data, &proof, &proof, &other_cap), "another cap");

        // A random public-inputs hash changes every challenge: rejected too.
        let mut bad = proof.clone();
        bad.public_inputs[0] = F::rand();
        assert!(!check(&data, &bad).0, "the R1CS accepts other public inputs");
    }
}
